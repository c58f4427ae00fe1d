//! The lead conversion model (issue 14 §1): below the company's minimum of labelled leads
//! Rivet says so and stores nothing (the rule score stands alone); above it a training learns
//! which leads convert, stores a version with its held-out figures and gives every lead a
//! probability with the features that moved it; each training is a new version; a lead's
//! probability follows it as a field the model reads changes or a signal arrives; only members
//! who manage settings train or read it, and another company sees none of it.

use crate::scoring::{create_lead, put_scoring, wait_for_job};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Train through the API and wait for the job; its result.
async fn train(app: &TestApp, who: &Session) -> Value {
    let response = app.post("/scoring/model/train", who, json!({})).await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let job = json_of(response).await;
    assert_eq!(job["kind"], "scoring.train");
    wait_for_job(app, who, job["id"].as_str().unwrap()).await["result"].clone()
}

async fn model(app: &TestApp, who: &Session) -> Value {
    let response = app.get("/scoring/model", who).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

async fn breakdown(app: &TestApp, who: &Session, lead: &str) -> Value {
    json_of(app.get(&format!("/leads/{lead}/score"), who).await).await
}

/// `n` labelled leads, `i` from `from`: Software and Fintech leads convert, Retail and Mining
/// ones are disqualified, but for one in ten Fintech and Mining leads that go the other way;
/// country and size are noise.
async fn labelled_leads(app: &TestApp, who: &Session, from: usize, n: usize) {
    let leads = leads_to_label(app, who, from, n).await;
    convert(app, who, &leads).await;
}

/// The leads [`labelled_leads`] makes, the unqualified ones labelled already: each one's id
/// and whether it is to convert.
async fn leads_to_label(
    app: &TestApp,
    who: &Session,
    from: usize,
    n: usize,
) -> Vec<(String, bool)> {
    const INDUSTRIES: [&str; 4] = ["Software", "Fintech", "Retail", "Mining"];
    let mut leads = Vec::with_capacity(n);
    for i in from..from + n {
        let good = i % 4 < 2;
        let converted = good != (i % 10 == 3);
        let lead = create_lead(
            app,
            who,
            json!({
                "last_name": format!("Lead {i}"),
                "industry": INDUSTRIES[i % 4],
                "country": if i % 3 == 0 { "DE" } else { "US" },
                "employee_count": 10 + (i * 37) % 500,
                "status": if converted { "new" } else { "unqualified" },
                "status_reason": if converted { None } else { Some("no fit") },
            }),
        )
        .await;
        leads.push((id(&lead), converted));
    }
    leads
}

/// Convert the leads to convert: only a conversion makes a lead converted.
async fn convert(app: &TestApp, who: &Session, leads: &[(String, bool)]) {
    for (lead, _) in leads.iter().filter(|(_, converted)| *converted) {
        let path = format!("/leads/{lead}/convert");
        let response = app.post(&path, who, json!({})).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }
}

async fn below_the_minimum_rivet_says_so_and_keeps_the_rule_score(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();

    // Nothing labelled yet: not enough data, said in plain words.
    let none = model(&app, &admin).await;
    assert_eq!(none["status"], "not_enough_data", "{none}");
    assert_eq!(
        (&none["labelled"], &none["needed"]),
        (&json!(0), &json!(200))
    );
    assert!(
        none["message"].as_str().unwrap().contains("rule score"),
        "{none}"
    );
    assert_eq!(none["current"], Value::Null);

    // The minimum is a scoring setting, checked like the others.
    for bad in [19, 100_001] {
        let problem = assert_problem(
            app.put(
                "/scoring/settings",
                &admin,
                json!({ "model_min_labelled": bad }),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields_of(&problem), ["model_min_labelled"]);
    }
    let settings = json_of(app.get("/scoring/settings", &admin).await).await;
    assert_eq!(settings["settings"]["model_min_labelled"], 200);

    // 30 labelled leads of the 200 needed: a training stores nothing and says why.
    labelled_leads(&app, &admin, 0, 30).await;
    let lead = create_lead(
        &app,
        &admin,
        json!({"last_name": "Open", "industry": "Software"}),
    )
    .await;
    let result = train(&app, &admin).await;
    assert_eq!(result["status"], "not_enough_data", "{result}");
    assert_eq!(
        (&result["labelled"], &result["needed"]),
        (&json!(30), &json!(200))
    );
    let short = model(&app, &admin).await;
    assert_eq!(short["status"], "not_enough_data");
    assert_eq!(
        (&short["labelled"], &short["positives"], &short["negatives"]),
        (&json!(30), &json!(17), &json!(13))
    );
    assert_eq!(short["history"], json!([]));
    let score = breakdown(&app, &admin, &id(&lead)).await;
    assert_eq!(score["model"], Value::Null, "the rule score alone");
    assert!(score["total_score"].is_number());

    // A lower minimum: enough now, but nothing trained until asked.
    put_scoring(&app, &admin, json!({ "model_min_labelled": 20 })).await;
    let ready = model(&app, &admin).await;
    assert_eq!(ready["status"], "not_trained", "{ready}");
    assert_eq!(ready["needed"], 20);
    let result = train(&app, &admin).await;
    assert_eq!(result["status"], "trained", "{result}");
    assert_eq!(result["version"], 1);
    assert_eq!(model(&app, &admin).await["status"], "trained");

    // Members without settings rights neither train nor read the model.
    let rep = app.member(&admin, "sales").await;
    assert_problem(app.post("/scoring/model/train", &rep, json!({})).await, 403).await;
    assert_problem(app.get("/scoring/model", &rep).await, 403).await;
}

async fn a_model_learns_which_leads_convert_and_scores_every_lead(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();
    labelled_leads(&app, &admin, 0, 300).await;
    let software = create_lead(
        &app,
        &admin,
        json!({"last_name": "Keen", "industry": "Software", "country": "US", "employee_count": 120}),
    )
    .await;
    let mining = create_lead(
        &app,
        &admin,
        json!({"last_name": "Cool", "industry": "Mining", "country": "US", "employee_count": 120}),
    )
    .await;

    let result = train(&app, &admin).await;
    assert_eq!(result["status"], "trained", "{result}");
    assert_eq!(
        (&result["version"], &result["predicted"]),
        (&json!(1), &json!(302))
    );

    // Held-out figures: the model ranks well, and industry is what it learned.
    let trained = model(&app, &admin).await;
    assert_eq!(trained["status"], "trained", "{trained}");
    let current = &trained["current"];
    assert_eq!(current["version"], 1);
    assert_eq!(current["sample_size"], 300);
    assert_eq!(
        current["train_size"].as_i64().unwrap() + current["test_size"].as_i64().unwrap(),
        300
    );
    assert!(current["roc_auc"].as_f64().unwrap() > 0.8, "{current}");
    assert!(!current["calibration"].as_array().unwrap().is_empty());
    let top = current["top_features"][0]["feature"].as_str().unwrap();
    assert!(top.starts_with("industry"), "{current}");
    assert_eq!(trained["history"].as_array().map(Vec::len), Some(1));

    // Each lead's breakdown carries its probability and why.
    let likely = breakdown(&app, &admin, &id(&software)).await["model"].clone();
    let unlikely = breakdown(&app, &admin, &id(&mining)).await["model"].clone();
    assert_eq!(likely["model_version"], 1);
    assert!(
        likely["probability"].as_f64().unwrap() > unlikely["probability"].as_f64().unwrap() + 0.3,
        "{likely} {unlikely}"
    );
    assert!(
        likely["top_features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["feature"] == "industry = Software"),
        "{likely}"
    );
    // A lead created since the training is scored by the model on the spot.
    let late = create_lead(
        &app,
        &admin,
        json!({"last_name": "Late", "industry": "Fintech"}),
    )
    .await;
    let late = breakdown(&app, &admin, &id(&late)).await["model"].clone();
    assert!(late["probability"].as_f64().unwrap() > 0.5, "{late}");

    // Each training is a new version; the history lists them newest first.
    let again = train(&app, &admin).await;
    assert_eq!(again["version"], 2, "{again}");
    let versions: Vec<i64> = model(&app, &admin).await["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(
        breakdown(&app, &admin, &id(&software)).await["model"]["model_version"],
        2
    );

    // Another company has no model and cannot read this one's predictions.
    let other = app.other_company("Elsewhere").await;
    let theirs = model(&app, &other).await;
    assert_ne!(theirs["status"], "trained", "{theirs}");
    assert_eq!(
        (&theirs["labelled"], &theirs["current"]),
        (&json!(0), &Value::Null)
    );
    assert_eq!(theirs["history"], json!([]));
    assert_problem(
        app.get(&format!("/leads/{}/score", id(&software)), &other)
            .await,
        404,
    )
    .await;
}

/// The probability stored for `lead` (none: no row).
async fn stored(app: &TestApp, lead: &str) -> Option<f64> {
    let rows = app
        .sql(
            "SELECT probability FROM lead_predictions WHERE lead_id = ?",
            vec![lead.parse::<Uuid>().unwrap().into()],
        )
        .await;
    rows.first()
        .map(|row| row.try_get::<f64>("", "probability").unwrap())
}

/// How many engagement signals the company's leads have.
async fn signals(app: &TestApp) -> i64 {
    let rows = app
        .sql("SELECT COUNT(*) AS n FROM lead_signals", Vec::new())
        .await;
    rows[0].try_get::<i64>("", "n").unwrap()
}

fn probability(model: &Value) -> f64 {
    model["probability"].as_f64().unwrap()
}

async fn a_leads_probability_follows_its_fields_and_signals(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();
    put_scoring(&app, &admin, json!({ "model_min_labelled": 20 })).await;
    // Most leads that convert had a call connected; none of the others.
    let leads = leads_to_label(&app, &admin, 0, 40).await;
    let calls: Vec<Value> = leads
        .iter()
        .enumerate()
        .filter(|(i, (_, converted))| *converted && i % 3 != 0)
        .map(|(_, (lead, _))| json!({"lead_id": lead, "signal": "call_connected"}))
        .collect();
    let response = app
        .post("/ingest/engagement", &admin, json!({ "signals": calls }))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let deadline = Instant::now() + Duration::from_secs(20);
    while signals(&app).await < calls.len() as i64 {
        assert!(Instant::now() < deadline, "the signals were never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    convert(&app, &admin, &leads).await;
    let lead = id(&create_lead(
        &app,
        &admin,
        json!({"last_name": "Moving", "industry": "Mining", "country": "US",
               "employee_count": 120}),
    )
    .await);
    let path = format!("/leads/{lead}");
    assert_eq!(train(&app, &admin).await["status"], "trained");
    let trained = breakdown(&app, &admin, &lead).await["model"].clone();
    assert_eq!(stored(&app, &lead).await, Some(probability(&trained)));

    // A field the model does not read leaves the stored probability as the training left it.
    let response = app.patch(&path, &admin, json!({"first_name": "Mo"})).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(breakdown(&app, &admin, &lead).await["model"], trained);

    // One it reads: the lead is scored again as it is written, and that is what is stored.
    let response = app
        .patch(&path, &admin, json!({"industry": "Software"}))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let patched = breakdown(&app, &admin, &lead).await["model"].clone();
    assert!(
        probability(&patched) > probability(&trained) + 0.1,
        "{trained} {patched}"
    );
    assert_ne!(patched["scored_at"], trained["scored_at"]);
    assert_eq!(patched["model_version"], 1);
    assert_eq!(stored(&app, &lead).await, Some(probability(&patched)));
    assert_eq!(
        breakdown(&app, &admin, &lead).await["model"],
        patched,
        "read back as stored"
    );

    // A call connected: the scoring consumer records it and scores the lead again.
    let response = app
        .post(
            "/activities",
            &admin,
            json!({"kind": "call", "subject": "Intro", "outcome": "connected",
                   "links": [{"record_type": "lead", "record_id": lead}]}),
        )
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored(&app, &lead).await == Some(probability(&patched)) {
        assert!(
            Instant::now() < deadline,
            "the call never moved the probability"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let called = breakdown(&app, &admin, &lead).await["model"].clone();
    assert!(
        probability(&called) > probability(&patched),
        "{patched} {called}"
    );
    assert_eq!(stored(&app, &lead).await, Some(probability(&called)));
}

both!(
    below_the_minimum_rivet_says_so_and_keeps_the_rule_score,
    a_model_learns_which_leads_convert_and_scores_every_lead,
    a_leads_probability_follows_its_fields_and_signals,
);
