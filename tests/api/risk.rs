//! Deal risk (issue 14 §4, with the buying committee of §5): each factor moves a deal's score
//! with its reason, recomputed by the event consumer as the deal, its contact roles and its
//! activities change; the score is read-only, filters and sorts the deal list, and is empty for
//! a closed deal; the settings are checked, audited and need the settings permissions; another
//! company sees none of it.

use crate::accounts::{fields_of, id, ids_of};
use crate::scoring::wait_for_job;
use rivet_store::sea_orm::ConnectionTrait;
use rivet_store::sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};
use std::time::{Duration, Instant};

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn patch_deal(app: &TestApp, who: &Session, deal: &str, body: Value) {
    let response = app.patch(&format!("/deals/{deal}"), who, body).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// The deal once `done` holds of its stored risk (the event consumer works within a second).
async fn deal_when(
    app: &TestApp,
    who: &Session,
    deal: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = json_of(app.get(&format!("/deals/{deal}"), who).await).await;
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "never came true: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn risk_of(app: &TestApp, who: &Session, deal: &str) -> Value {
    let response = app.get(&format!("/deals/{deal}/risk"), who).await;
    assert_eq!(response.status(), 200);
    json_of(response).await
}

/// The factors of a risk's reasons, sorted.
fn factors(risk: &Value) -> Vec<String> {
    let mut out: Vec<String> = risk["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["factor"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

/// `body` with every MEDDICC element identified, so that only the factor a step is about
/// moves the score (the MEDDICC factor has its own step).
fn meddicc_known(mut body: Value) -> Value {
    for element in [
        "metrics",
        "economic_buyer",
        "decision_criteria",
        "decision_process",
        "identified_pain",
        "champion",
        "competition",
    ] {
        body[format!("{element}_status")] = json!("identified");
    }
    body
}

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

async fn each_factor_moves_the_score_with_its_reason(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();
    let john = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "John", "last_name": "Roe"}),
    )
    .await;
    let jane = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Jane", "last_name": "Doe"}),
    )
    .await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        meddicc_known(
            json!({"name": "Big one", "contact_id": id(&john), "amount": "1000", "close_date": day(30)}),
        ),
    )
    .await;
    let deal_id = id(&deal);

    // One contact and no champion.
    deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 20).await;
    let risk = risk_of(&app, &admin, &deal_id).await;
    assert_eq!(factors(&risk), ["no_champion", "single_threaded"], "{risk}");
    assert_eq!(
        (&risk["score"], &risk["level"]),
        (&json!(20), &json!("low"))
    );
    assert_eq!(risk["stored"]["score"], 20);
    assert!(risk["stored"]["computed_at"].is_string());
    assert_eq!(risk["coverage"]["contacts"], 1);
    assert!(
        risk["coverage"]["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("champion"))
    );

    // A second contact as champion: the committee grows, both reasons go.
    let role = app
        .put(
            &format!("/deals/{deal_id}/contacts/{}", id(&jane)),
            &admin,
            json!({"role": "champion"}),
        )
        .await;
    assert_eq!(role.status(), 200);
    deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 0).await;
    let risk = risk_of(&app, &admin, &deal_id).await;
    assert!(risk["reasons"].as_array().unwrap().is_empty(), "{risk}");
    let champion = risk["coverage"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "champion")
        .unwrap();
    assert_eq!(champion["contacts"][0]["name"], "Jane Doe");
    assert!(
        !risk["coverage"]["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("champion"))
    );
    assert_eq!(risk["coverage"]["contacts"], 2);

    // The amount lowered from its highest.
    patch_deal(&app, &admin, &deal_id, json!({"amount": "800"})).await;
    deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 10).await;
    let risk = risk_of(&app, &admin, &deal_id).await;
    assert_eq!(factors(&risk), ["amount_lowered"]);
    assert!(
        risk["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("from 1000.00"),
        "{risk}"
    );

    // The close date pushed back three times (two are allowed).
    for (n, offset) in [40, 50, 60].into_iter().enumerate() {
        patch_deal(&app, &admin, &deal_id, json!({"close_date": day(offset)})).await;
        if n < 2 {
            deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 10).await;
        }
    }
    deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 20).await;
    let risk = risk_of(&app, &admin, &deal_id).await;
    assert_eq!(factors(&risk), ["amount_lowered", "close_date_pushed"]);

    // The last activity 20 days ago: stale, and the level is medium.
    let links = json!([{"record_type": "deal", "record_id": deal_id}]);
    let ago = (chrono::Utc::now() - chrono::Duration::days(20)).to_rfc3339();
    create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "call", "subject": "Old call", "occurred_at": ago, "links": links}),
    )
    .await;
    let now = deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 40).await;
    assert_eq!(now["risk_level"], "medium");
    let risk = risk_of(&app, &admin, &deal_id).await;
    let stale = risk["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["factor"] == "stale")
        .unwrap();
    assert_eq!(stale["message"], "no activity for 20 days");
    assert_eq!(stale["points"], 20);

    // An activity logged now: the consumer takes the reason away.
    create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "meeting", "subject": "Demo", "links": links}),
    )
    .await;
    deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 20).await;

    // A close date in the past (moved earlier: no push).
    patch_deal(&app, &admin, &deal_id, json!({"close_date": day(-3)})).await;
    deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 35).await;
    let risk = risk_of(&app, &admin, &deal_id).await;
    assert_eq!(
        factors(&risk),
        ["amount_lowered", "close_date_passed", "close_date_pushed"]
    );

    // Long in its stage: a quiet deal that entered its stage 45 days ago (no pipeline median
    // yet: 30 days are expected; over them is half the weight, over twice them all of it).
    let quiet = create(
        &app,
        &admin,
        "/deals",
        meddicc_known(json!({"name": "Quiet", "contact_id": id(&john), "close_date": day(30)})),
    )
    .await;
    let quiet_id = id(&quiet);
    deal_when(&app, &admin, &quiet_id, |d| d["risk_score"] == 20).await;
    let back = chrono::Utc::now() - chrono::Duration::days(45);
    app.state
        .store
        .system()
        .execute(
            &Query::update()
                .table(Alias::new("deals"))
                .value(Alias::new("stage_changed_at"), back)
                .and_where(Expr::col(Alias::new("name")).eq("Quiet"))
                .to_owned(),
        )
        .await
        .unwrap();
    patch_deal(&app, &admin, &quiet_id, json!({"next_step": "Call back"})).await;
    deal_when(&app, &admin, &quiet_id, |d| d["risk_score"] == 28).await;
    let risk = risk_of(&app, &admin, &quiet_id).await;
    assert_eq!(
        factors(&risk),
        ["no_champion", "single_threaded", "stage_age"]
    );
    let stage = risk["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["factor"] == "stage_age")
        .unwrap();
    assert_eq!(stage["points"], 8);
    assert!(
        stage["message"]
            .as_str()
            .unwrap()
            .starts_with("45 days in "),
        "{stage}"
    );
    let healthy = create(
        &app,
        &admin,
        "/deals",
        meddicc_known(json!({"name": "Healthy", "close_date": day(30)})),
    )
    .await;
    let healthy_id = id(&healthy);
    app.put(
        &format!("/deals/{healthy_id}/contacts/{}", id(&jane)),
        &admin,
        json!({"role": "champion"}),
    )
    .await;
    app.put(
        &format!("/deals/{healthy_id}/contacts/{}", id(&john)),
        &admin,
        json!({"role": "decision_maker"}),
    )
    .await;
    deal_when(&app, &admin, &healthy_id, |d| d["risk_score"] == 0).await;

    // MEDDICC elements no longer known (two of seven) are a reason of their own.
    patch_deal(
        &app,
        &admin,
        &healthy_id,
        json!({"metrics_status": "unknown", "competition_status": "unknown"}),
    )
    .await;
    deal_when(&app, &admin, &healthy_id, |d| d["risk_score"] == 3).await;
    let risk = risk_of(&app, &admin, &healthy_id).await;
    assert_eq!(factors(&risk), ["meddicc_missing"], "{risk}");

    // The list filters and sorts by the stored score.
    let page = json_of(
        app.get("/deals?risk_score[gte]=25&sort=-risk_score", &admin)
            .await,
    )
    .await;
    assert_eq!(ids_of(&page), [deal_id.clone(), quiet_id.clone()]);
    let page = json_of(app.get("/deals?risk_score[lte]=10", &admin).await).await;
    assert_eq!(ids_of(&page), std::slice::from_ref(&healthy_id));
    let page = json_of(app.get("/deals?sort=risk_score", &admin).await).await;
    assert_eq!(ids_of(&page), [healthy_id, quiet_id, deal_id.clone()]);
    assert_problem(app.get("/deals?risk_score[gte]=high", &admin).await, 400).await;

    // A closed deal has no risk.
    let pipelines = json_of(app.get("/pipelines", &admin).await).await;
    let won = pipelines["data"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["outcome"] == "won")
        .unwrap()["id"]
        .clone();
    patch_deal(&app, &admin, &deal_id, json!({"stage_id": won})).await;
    let closed = deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == Value::Null).await;
    assert_eq!(closed["risk_level"], Value::Null);
    let risk = risk_of(&app, &admin, &deal_id).await;
    assert_eq!(
        (&risk["open"], &risk["score"]),
        (&json!(false), &Value::Null)
    );
    let page = json_of(app.get("/deals?risk_score[empty]=true", &admin).await).await;
    assert_eq!(ids_of(&page), [deal_id]);
}

async fn risk_is_read_only_and_its_settings_are_checked(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();

    // A client cannot write the score.
    let problem = assert_problem(
        app.post("/deals", &admin, json!({"name": "X", "risk_score": 5}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["risk_score"]);
    let deal = create(
        &app,
        &admin,
        "/deals",
        meddicc_known(json!({"name": "Mine"})),
    )
    .await;
    let deal_id = id(&deal);
    let problem = assert_problem(
        app.patch(
            &format!("/deals/{deal_id}"),
            &admin,
            json!({"risk_score": 0}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["risk_score"]);
    // No contact and no champion.
    deal_when(&app, &admin, &deal_id, |d| d["risk_score"] == 20).await;
    let risk = risk_of(&app, &admin, &deal_id).await;
    assert_eq!(risk["reasons"][0]["message"], "no contact on the deal");

    // The defaults, then bad settings named one by one; unknown fields are a 400.
    let defaults = json_of(app.get("/risk/settings", &admin).await).await;
    assert_eq!(defaults["settings"]["stale_days"], 14);
    assert_eq!(defaults["settings"]["max_close_date_pushes"], 2);
    assert_eq!(defaults["settings"]["factors"]["stale"]["weight"], 20);
    assert_eq!(defaults["factors"].as_array().unwrap().len(), 8);
    let problem = assert_problem(
        app.put(
            "/risk/settings",
            &admin,
            json!({"factors": {"stale": {"weight": 101}, "weather": {"weight": 5},
                               "stage_age": {"weight": 90}},
                   "stale_days": 0, "medium_from": 70, "high_from": 50}),
        )
        .await,
        422,
    )
    .await;
    let fields = fields_of(&problem);
    for field in [
        "factors.stale.weight",
        "factors.weather",
        "factors",
        "stale_days",
        "high_from",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field}: {fields:?}");
    }
    assert_problem(
        app.put("/risk/settings", &admin, json!({"weights": {}}))
            .await,
        400,
    )
    .await;
    assert_problem(
        app.put(
            "/risk/settings",
            &admin,
            json!({"factors": {"stale": {"weight": 5, "colour": "red"}}}),
        )
        .await,
        400,
    )
    .await;

    // A good change is audited and recomputes every open deal in a job.
    let response = app
        .put(
            "/risk/settings",
            &admin,
            json!({"factors": {"no_champion": {"enabled": false}, "single_threaded": {"weight": 15}}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let saved = json_of(response).await;
    assert_eq!(
        saved["settings"]["factors"]["no_champion"]["enabled"],
        false
    );
    let job = saved["recompute_job_id"].as_str().unwrap().to_owned();
    wait_for_job(&app, &admin, &job).await;
    let now = json_of(app.get(&format!("/deals/{deal_id}"), &admin).await).await;
    assert_eq!(now["risk_score"], 15);
    let audit = json_of(app.get("/audit?resource=settings&limit=50", &admin).await).await;
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["resource_id"] == "risk"),
        "{audit}"
    );

    // Members without settings rights do not see or change the settings; another company
    // cannot read the deal's risk and has its own defaults.
    let rep = app.member(&admin, "sales").await;
    assert_problem(app.get("/risk/settings", &rep).await, 403).await;
    assert_problem(app.put("/risk/settings", &rep, json!({})).await, 403).await;
    let other = app.other_company("Elsewhere").await;
    assert_problem(
        app.get(&format!("/deals/{deal_id}/risk"), &other).await,
        404,
    )
    .await;
    let theirs = json_of(app.get("/risk/settings", &other).await).await;
    assert_eq!(
        theirs["settings"]["factors"]["no_champion"]["enabled"],
        true
    );
}

both!(
    each_factor_moves_the_score_with_its_reason,
    risk_is_read_only_and_its_settings_are_checked,
);

/// The settings page under Administration shows the settings, names a mistake next to its
/// place with nothing saved, and saves what is right.
async fn the_risk_settings_page_saves_and_names_a_mistake(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let (cookie, csrf) = app.web_session(&admin).await;
    let page = app
        .client
        .get(format!("{}/admin/risk", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"id="risk-stale_days""#), "{html}");
    assert!(html.contains(r#"id="risk-factors.stale.weight""#), "{html}");

    // The form as the page fills it, with `weight` for every factor and `stale_days` changed.
    let form = |weight: &str, stale: &str| {
        let mut pairs: Vec<(String, String)> = vec![
            ("csrf_token".into(), csrf.clone()),
            ("stale_days".into(), stale.into()),
            ("max_close_date_pushes".into(), "2".into()),
            ("default_stage_days".into(), "30".into()),
            ("medium_from".into(), "30".into()),
            ("high_from".into(), "60".into()),
        ];
        for factor in [
            "stage_age",
            "stale",
            "close_date_passed",
            "close_date_pushed",
            "amount_lowered",
            "meddicc_missing",
            "single_threaded",
            "no_champion",
        ] {
            pairs.push((format!("factors.{factor}.enabled"), "true".into()));
            pairs.push((format!("factors.{factor}.weight"), weight.into()));
        }
        pairs
    };
    let post = |pairs: Vec<(String, String)>| {
        app.client
            .post(format!("{}/admin/risk", app.base))
            .header("cookie", &cookie)
            .form(&pairs)
            .send()
    };
    let refused = post(form("50", "7")).await.unwrap();
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("weights add up to 400; at most 100"),
        "{html}"
    );
    let kept = json_of(app.get("/risk/settings", &admin).await).await;
    assert_eq!(kept["settings"]["stale_days"], 14, "nothing saved");

    let saved = post(form("10", "7")).await.unwrap();
    assert!(
        saved.status().is_redirection() || saved.status().is_success(),
        "{}",
        saved.status()
    );
    let now = json_of(app.get("/risk/settings", &admin).await).await;
    assert_eq!(now["settings"]["stale_days"], 7);
    assert_eq!(now["settings"]["factors"]["stale"]["weight"], 10);
}

both!(the_risk_settings_page_saves_and_names_a_mistake);
