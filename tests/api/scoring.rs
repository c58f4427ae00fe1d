//! Lead scoring (issue 14 §1): scores are computed from the company's rules and the lead's
//! engagement, never written by a client; the settings are checked and audited, a change
//! rescores every lead in a job; engagement rises through the event consumer when a meeting is
//! logged or an integration reports a visit; a threshold fires once per crossing; the breakdown
//! explains every point; another company sees none of it.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};
use std::time::{Duration, Instant};

pub async fn put_scoring(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.put("/scoring/settings", who, body).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await
}

/// Settings under which a lead titled `s<n>` scores a total of n (0 to 100, steps of 5).
pub async fn score_by_title(app: &TestApp, who: &Session) {
    let rules: Vec<Value> = (1..=20)
        .map(|k| {
            let n = k * 5;
            json!({"name": format!("s{n}"), "points": n,
                   "conditions": [{"op": "equals", "field": "title", "value": format!("s{n}")}]})
        })
        .collect();
    put_scoring(
        app,
        who,
        json!({"fit_rules": rules, "fit_weight": 100, "thresholds": []}),
    )
    .await;
}

pub async fn create_lead(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/leads", who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

pub async fn wait_for_job(app: &TestApp, who: &Session, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = json_of(app.get(&format!("/jobs/{job}"), who).await).await;
        if job["state"] == "succeeded" {
            return job;
        }
        assert!(
            !["dead", "cancelled"].contains(&job["state"].as_str().unwrap_or("")),
            "{job}"
        );
        assert!(Instant::now() < deadline, "the job never finished: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The lead once `done` holds of it (the event consumer works within a second or so).
async fn lead_when(
    app: &TestApp,
    who: &Session,
    lead: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = json_of(app.get(&format!("/leads/{lead}"), who).await).await;
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "never came true: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scores_are_computed_from_the_companys_rules_and_read_only(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;

    // A client cannot write a score, on create or patch; nothing is written.
    for field in ["fit_score", "engagement_score", "total_score"] {
        let body = json!({"last_name": "x", field: 10});
        let problem = assert_problem(app.post("/leads", &admin, body).await, 422).await;
        assert_eq!(fields_of(&problem), [field]);
    }
    let none = json_of(app.get("/leads", &admin).await).await;
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));

    // The defaults: fit from what the lead says of its company, MQL at 50 and SQL at 75.
    let defaults = json_of(app.get("/scoring/settings", &admin).await).await;
    assert_eq!(
        defaults["settings"]["fit_rules"].as_array().map(Vec::len),
        Some(7)
    );
    assert_eq!(defaults["settings"]["thresholds"][0]["name"], "MQL");
    assert_eq!(
        defaults["settings"]["engagement_weights"]["meeting_held"],
        20
    );
    assert_eq!(defaults["signals"].as_array().map(Vec::len), Some(8));
    let rich = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@acme-corp.io",
               "title": "CTO", "company_name": "Acme", "industry": "Software",
               "employee_count": 500, "annual_revenue": "2000000", "annual_revenue_currency": "EUR"}),
    )
    .await;
    assert_eq!(
        (
            &rich["fit_score"],
            &rich["engagement_score"],
            &rich["total_score"]
        ),
        (&json!(100), &json!(0), &json!(50))
    );
    let thin = create_lead(
        &app,
        &admin,
        json!({"last_name": "Gee", "email": "gee@gmail.com"}),
    )
    .await;
    assert_eq!(thin["fit_score"], 0, "a free mail address takes points");

    // The breakdown explains each point.
    let score = json_of(
        app.get(&format!("/leads/{}/score", id(&rich)), &admin)
            .await,
    )
    .await;
    assert_eq!(score["total_score"], 50);
    assert_eq!(score["grade"], "B");
    let matched: Vec<&str> = score["fit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["matched"] == true)
        .map(|h| h["rule"].as_str().unwrap())
        .collect();
    assert!(matched.contains(&"Work e-mail") && !matched.contains(&"Free mail address"));
    assert_eq!(score["thresholds"][0]["reached"], true);
    assert_eq!(score["thresholds"][1]["reached"], false);
    assert_eq!(score["history"][0]["cause"], "created");
    assert_eq!(score["history"][0]["total"], 50);

    // New rules: saved, audited, and every lead rescored by a job.
    let _workers = app.start_workers();
    let saved = put_scoring(
        &app,
        &admin,
        json!({"fit_rules": [{"name": "Software", "points": 60,
                 "conditions": [{"op": "in", "field": "industry", "values": ["software", "saas"]}]}],
               "fit_weight": 100}),
    )
    .await;
    assert_eq!(saved["settings"]["fit_weight"], 100);
    let job = saved["rescore_job_id"].as_str().unwrap().to_owned();
    wait_for_job(&app, &admin, &job).await;
    let rescored = json_of(app.get(&format!("/leads/{}", id(&rich)), &admin).await).await;
    assert_eq!(
        (&rescored["fit_score"], &rescored["total_score"]),
        (&json!(60), &json!(60))
    );
    let audit = json_of(
        app.get("/audit?resource=settings&resource_id=scoring", &admin)
            .await,
    )
    .await;
    assert!(
        audit["data"]
            .as_array()
            .is_some_and(|rows| !rows.is_empty()),
        "{audit}"
    );

    // An edit rescores at once; a score in a patch is refused and changes nothing.
    let path = format!("/leads/{}", id(&rich));
    let edited = json_of(
        app.patch(&path, &admin, json!({"industry": "Retail"}))
            .await,
    )
    .await;
    assert_eq!(
        (&edited["fit_score"], &edited["total_score"]),
        (&json!(0), &json!(0))
    );
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"industry": "SaaS", "fit_score": 99}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["fit_score"]);
    let kept = json_of(app.get(&path, &admin).await).await;
    assert_eq!(kept["industry"], "Retail");
    let history = json_of(app.get(&format!("{path}/score"), &admin).await).await["history"].clone();
    let causes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes, ["updated", "rescored", "created"], "newest first");

    // Bad settings name each mistake; unknown fields are a 400; nothing changes.
    let problem = assert_problem(
        app.put(
            "/scoring/settings",
            &admin,
            json!({"fit_rules": [{"name": "x", "points": 500},
                                 {"name": "y", "points": 1, "conditions": [{"op": "range", "field": "total_score", "gte": 5}]}],
                   "engagement_weights": {"dancing": 5}, "half_life_days": 0,
                   "thresholds": [{"name": "Hot", "score": 80, "set_status": "converted"}]}),
        )
        .await,
        422,
    )
    .await;
    let fields = fields_of(&problem);
    for field in [
        "fit_rules[0].points",
        "fit_rules[1].conditions[0].field",
        "engagement_weights.dancing",
        "half_life_days",
        "thresholds[0].set_status",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field}: {fields:?}");
    }
    assert_problem(
        app.put("/scoring/settings", &admin, json!({"rules": []}))
            .await,
        400,
    )
    .await;
    let still = json_of(app.get("/scoring/settings", &admin).await).await;
    assert_eq!(still["settings"]["fit_weight"], 100);

    // Members without settings rights read scores but not the settings; another company
    // sees none of it.
    let rep = app.member(&admin, "sales").await;
    assert_problem(app.get("/scoring/settings", &rep).await, 403).await;
    assert_problem(app.put("/scoring/settings", &rep, json!({})).await, 403).await;
    assert_problem(app.post("/scoring/rescore", &rep, json!({})).await, 403).await;
    let other = app.other_company("Elsewhere").await;
    assert_problem(app.get(&format!("{path}/score"), &other).await, 404).await;
    let theirs = json_of(app.get("/scoring/settings", &other).await).await;
    assert_eq!(theirs["settings"]["fit_weight"], 50, "their own defaults");
}

async fn engagement_rises_through_events_and_a_threshold_fires_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();
    let rep = app.member(&admin, "sales").await;
    put_scoring(
        &app,
        &admin,
        json!({"fit_rules": [], "fit_weight": 0,
               "engagement_weights": {"meeting_held": 30, "website_visit": 4},
               "thresholds": [{"name": "MQL", "score": 50, "create_task": "Call them now",
                               "set_status": "contacted"}]}),
    )
    .await;
    let lead = create_lead(
        &app,
        &admin,
        json!({"last_name": "Keen", "email": "keen@acme-corp.io", "owner_id": rep.user_id}),
    )
    .await;
    let lead_id = id(&lead);
    let links = json!([{"record_type": "lead", "record_id": lead_id}]);
    let meeting =
        |subject: &str| json!({"kind": "meeting", "subject": subject, "links": links.clone()});

    // One meeting: 30 points, under the threshold.
    let response = app.post("/activities", &admin, meeting("Intro")).await;
    assert_eq!(response.status(), 201);
    let now = lead_when(&app, &admin, &lead_id, |l| l["engagement_score"] == 30).await;
    assert_eq!(
        (&now["total_score"], &now["status"]),
        (&json!(30), &json!("new"))
    );

    // A note is no engagement; a second meeting crosses 50: the owner's task, the status.
    app.post(
        "/activities",
        &admin,
        json!({"kind": "note", "subject": "n", "links": links.clone()}),
    )
    .await;
    app.post("/activities", &admin, meeting("Demo")).await;
    let now = lead_when(&app, &admin, &lead_id, |l| l["engagement_score"] == 60).await;
    assert_eq!(now["status"], "contacted");
    let tasks = json_of(
        app.get(&format!("/tasks?related_id={lead_id}&limit=50"), &admin)
            .await,
    )
    .await;
    let titled: Vec<&Value> = tasks["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["subject"] == "Call them now")
        .collect();
    assert_eq!(titled.len(), 1, "{tasks}");
    assert_eq!(titled[0]["assignee_id"], json!(rep.user_id));

    // Still above: a third meeting fires nothing more.
    app.post("/activities", &admin, meeting("Negotiation"))
        .await;
    lead_when(&app, &admin, &lead_id, |l| l["engagement_score"] == 90).await;

    // An integration reports a visit by e-mail; bad items are answered one by one.
    let response = app
        .post(
            "/ingest/engagement",
            &admin,
            json!({"signals": [
                {"email": "KEEN@acme-corp.io", "signal": "website_visit", "detail": "/pricing"},
                {"email": "nobody@acme-corp.io", "signal": "website_visit"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let report = json_of(response).await;
    let statuses: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "not_found"]);
    // A signal the document does not allow refuses the whole request.
    let problem = assert_problem(
        app.post(
            "/ingest/engagement",
            &admin,
            json!({"signals": [
                {"lead_id": lead_id, "signal": "website_visit"},
                {"lead_id": lead_id, "signal": "dancing"},
                {"lead_id": "nope", "email": "x@y.z", "signal": "website_visit"},
            ]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields_of(&problem),
        [
            "signals[1].signal",
            "signals[2].lead_id",
            "signals[2].lead_id"
        ]
    );
    lead_when(&app, &admin, &lead_id, |l| l["engagement_score"] == 94).await;
    let tasks = json_of(
        app.get(&format!("/tasks?related_id={lead_id}&limit=50"), &admin)
            .await,
    )
    .await;
    let count = tasks["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["subject"] == "Call them now")
        .count();
    assert_eq!(count, 1, "once per crossing");

    // The breakdown lists each signal with its points; the crossing is an event.
    let score = json_of(app.get(&format!("/leads/{lead_id}/score"), &admin).await).await;
    let signals: Vec<&str> = score["engagement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signal"].as_str().unwrap())
        .collect();
    assert_eq!(signals.iter().filter(|s| **s == "meeting_held").count(), 3);
    assert!(signals.contains(&"website_visit"));
    let events = json_of(
        app.get("/events?type=lead.score_threshold_crossed&limit=50", &admin)
            .await,
    )
    .await;
    assert_eq!(events["data"].as_array().map(Vec::len), Some(1), "{events}");
    assert_eq!(events["data"][0]["data"]["threshold"], "MQL");

    // Another company cannot report for this lead.
    let other = app.other_company("Elsewhere").await;
    let report = json_of(
        app.post(
            "/ingest/engagement",
            &other,
            json!({"signals": [{"lead_id": lead_id, "signal": "website_visit"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(report["results"][0]["status"], "not_found");
}

both!(
    scores_are_computed_from_the_companys_rules_and_read_only,
    engagement_rises_through_events_and_a_threshold_fires_once,
);
