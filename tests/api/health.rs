//! Account health and lifecycle (issue 14 §5): health is computed from its components (recent
//! activity, open and overdue tasks, won and lost deals, engagement) and read-only; it follows
//! activities, tasks and deals through the event consumer; the lifecycle rules move an account
//! (prospect → customer on the first won deal, customer ↔ at_risk on health), audited by the
//! system with their reason; the settings are checked, audited and recompute every account;
//! another company sees none of it.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};
use std::time::{Duration, Instant};

/// Store `score` as an account's health, as a recompute would (tests of lists that filter and
/// sort by it; a client cannot write it).
pub async fn set_stored_health(app: &TestApp, account: &str, score: Option<i32>) {
    use rivet_store::sea_orm::ConnectionTrait;
    use rivet_store::sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let db = app.state.store.system();
    let id: uuid::Uuid = account.parse().unwrap();
    let update = Query::update()
        .table(Alias::new("accounts"))
        .value(Alias::new("health_score"), score)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    let statement = db.get_database_backend().build(&update);
    db.execute_raw(statement).await.unwrap();
}

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "{path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The account once `done` holds of it (the event consumer works within a second or so).
async fn account_when(
    app: &TestApp,
    who: &Session,
    account: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = json_of(app.get(&format!("/accounts/{account}"), who).await).await;
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "never came true: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn won_stage(app: &TestApp, who: &Session) -> String {
    let page = json_of(app.get("/pipelines", who).await).await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == true)
        .and_then(|p| p["stages"].as_array())
        .and_then(|stages| stages.iter().find(|s| s["outcome"] == "won"))
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_owned()
}

fn yesterday() -> String {
    (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339()
}

async fn health_is_computed_from_its_components_and_read_only(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;

    // A client cannot write health, on create or patch; nothing is written.
    let problem = assert_problem(
        app.post(
            "/accounts",
            &admin,
            json!({"name": "X", "health_score": 80}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["health_score"]);
    let none = json_of(app.get("/accounts", &admin).await).await;
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));

    // A new account has the health of one nobody has worked with: tasks 100 × 20 and deals
    // 50 × 25 of 100 weight → 33.
    let quiet = create(&app, &admin, "/accounts", json!({"name": "Quiet"})).await;
    let busy = create(&app, &admin, "/accounts", json!({"name": "Busy"})).await;
    assert_eq!(quiet["health_score"], 33);
    let path = format!("/accounts/{}", id(&busy));
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"health_score": 99, "industry": "x"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["health_score"]);
    assert!(json_of(app.get(&path, &admin).await).await["industry"].is_null());

    // An activity today raises it within seconds (recent activity 100, engagement 7).
    let _workers = app.start_workers();
    let links = json!([{"record_type": "account", "record_id": id(&busy)}]);
    create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "meeting", "subject": "Kick-off", "links": links}),
    )
    .await;
    let now = account_when(&app, &admin, &id(&busy), |a| a["health_score"] != 33).await;
    assert_eq!(now["health_score"], 64);

    // An inbound call with a contact of the account counts for it too.
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Lee", "account_id": id(&quiet)}),
    )
    .await;
    create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "call", "direction": "inbound", "subject": "They called",
               "links": [{"record_type": "contact", "record_id": id(&contact)}]}),
    )
    .await;
    let now = account_when(&app, &admin, &id(&quiet), |a| a["health_score"] != 33).await;
    assert_eq!(
        now["health_score"], 72,
        "engagement 37 with all of it inbound"
    );

    // An overdue task lowers it.
    create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Send the contract", "due_at": yesterday(),
               "related_type": "account", "related_id": id(&busy)}),
    )
    .await;
    account_when(&app, &admin, &id(&busy), |a| a["health_score"] == 59).await;

    // A won deal raises it, and the first one makes the prospect a customer: audited by the
    // system, with the reason.
    let won = won_stage(&app, &admin).await;
    create(
        &app,
        &admin,
        "/deals",
        json!({"name": "First order", "account_id": id(&busy), "stage_id": won}),
    )
    .await;
    let now = account_when(&app, &admin, &id(&busy), |a| {
        a["lifecycle_stage"] == "customer"
    })
    .await;
    assert_eq!(now["health_score"], 72);
    assert_eq!(now["lifecycle_reason"], "moved to customer: first won deal");

    let health = json_of(app.get(&format!("{path}/health"), &admin).await).await;
    assert_eq!(health["score"], 72);
    assert_eq!(health["stored_score"], 72);
    let points: Vec<(&str, i64)> = health["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        points,
        [
            ("recent_activity", 100),
            ("tasks", 75),
            ("deals", 100),
            ("engagement", 7)
        ]
    );
    assert_eq!(
        health["components"][1]["explanation"],
        "1 of 1 open task(s) overdue"
    );
    let trend: Vec<i64> = health["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["score"].as_i64().unwrap())
        .collect();
    assert_eq!(trend, [64, 59, 72], "each change, oldest first");
    assert_eq!(health["lifecycle_stage"], "customer");
    assert_eq!(
        health["lifecycle_reason"],
        "moved to customer: first won deal"
    );

    let audit = json_of(
        app.get(
            &format!("/audit?resource=accounts&resource_id={}", id(&busy)),
            &admin,
        )
        .await,
    )
    .await;
    let moved = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["changes"]["lifecycle_stage"].is_object())
        .cloned()
        .unwrap_or_else(|| panic!("no lifecycle change audited: {audit}"));
    assert_eq!(
        moved["changes"]["lifecycle_stage"],
        json!({"before": "prospect", "after": "customer"})
    );
    assert_eq!(
        moved["changes"]["lifecycle_reason"]["after"],
        "moved to customer: first won deal"
    );
    assert!(moved["actor_user_id"].is_null(), "the system moved it");
    let events = json_of(
        app.get("/events?type=account.lifecycle_changed&limit=50", &admin)
            .await,
    )
    .await;
    assert_eq!(events["data"].as_array().map(Vec::len), Some(1), "{events}");
    assert_eq!(
        events["data"][0]["data"]["reason"],
        "moved to customer: first won deal"
    );

    // The account page shows the gauge, the components, the trend and the reason.
    let cookie =
        rivet_server::api::auth::open_web_session(&app.state, admin.company_id, admin.user_id)
            .await
            .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let response = app
        .client
        .get(format!("{}/accounts/{}", app.base, id(&busy)))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    for needle in [
        r#"id="account-health""#,
        "Health 72 of 100",
        "health-trend-line",
        "1 of 1 open task(s) overdue",
        "moved to customer: first won deal",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }

    // Another company sees none of it.
    let other = app.other_company("Elsewhere").await;
    assert_problem(app.get(&format!("{path}/health"), &other).await, 404).await;
}

async fn falling_health_puts_a_customer_at_risk_and_recovery_brings_it_back(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();
    let account = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Wobbly", "lifecycle_stage": "customer"}),
    )
    .await;
    let account_id = id(&account);
    assert!(account["lifecycle_reason"].is_null());

    // An overdue task and nothing else: 28 < 40.
    create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Renewal call", "due_at": yesterday(),
               "related_type": "account", "related_id": account_id}),
    )
    .await;
    let now = account_when(&app, &admin, &account_id, |a| {
        a["lifecycle_stage"] == "at_risk"
    })
    .await;
    assert_eq!(now["health_score"], 28);
    assert_eq!(now["lifecycle_reason"], "moved to at_risk: health 28 < 40");

    // A meeting brings it to 59, past the recovery mark of 55.
    create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "meeting", "subject": "Rescue",
               "links": [{"record_type": "account", "record_id": account_id}]}),
    )
    .await;
    let now = account_when(&app, &admin, &account_id, |a| {
        a["lifecycle_stage"] == "customer"
    })
    .await;
    assert_eq!(now["health_score"], 59);
    assert_eq!(now["lifecycle_reason"], "moved to customer: health 59 ≥ 55");
    let events = json_of(
        app.get("/events?type=account.lifecycle_changed&limit=50", &admin)
            .await,
    )
    .await;
    let moves: Vec<(&str, &str)> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["data"]["to"].as_str().unwrap(),
                e["data"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(moves.len(), 2, "{events}");
    assert!(moves.contains(&("at_risk", "moved to at_risk: health 28 < 40")));

    // A stage set by hand has no rule's reason.
    let path = format!("/accounts/{account_id}");
    let set = json_of(
        app.patch(&path, &admin, json!({"lifecycle_stage": "churned"}))
            .await,
    )
    .await;
    assert_eq!(set["lifecycle_stage"], "churned");
    assert!(set["lifecycle_reason"].is_null());
}

async fn settings_are_checked_audited_and_recompute_every_account(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create(&app, &admin, "/accounts", json!({"name": "Steady"})).await;

    let defaults = json_of(app.get("/health/settings", &admin).await).await;
    assert_eq!(defaults["settings"]["at_risk_below"], 40);
    assert_eq!(defaults["settings"]["recovered_at"], 55);
    assert_eq!(defaults["settings"]["weights"]["recent_activity"], 30);
    assert_eq!(
        defaults["settings"]["lifecycle_rules"]["prospect_to_customer"],
        true
    );
    assert_eq!(defaults["components"].as_array().map(Vec::len), Some(4));

    // Each mistake is named; unknown fields are a 400; nothing changes.
    let problem = assert_problem(
        app.put(
            "/health/settings",
            &admin,
            json!({"weights": {"tickets": 5, "tasks": 101}, "at_risk_below": 0,
                   "recovered_at": 20}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields_of(&problem),
        [
            "weights.tasks",
            "weights.tickets",
            "at_risk_below",
            "recovered_at"
        ]
    );
    let problem = assert_problem(
        app.put(
            "/health/settings",
            &admin,
            json!({"weights": {"recent_activity": 0, "tasks": 0, "deals": 0, "engagement": 0}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["weights"]);
    assert_problem(
        app.put("/health/settings", &admin, json!({"threshold": 3}))
            .await,
        400,
    )
    .await;
    assert_problem(
        app.put(
            "/health/settings",
            &admin,
            json!({"lifecycle_rules": {"churn": true}}),
        )
        .await,
        400,
    )
    .await;

    // Only tasks count: a job recomputes every account (no open task: 100).
    let _workers = app.start_workers();
    let response = app
        .put(
            "/health/settings",
            &admin,
            json!({"weights": {"recent_activity": 0, "deals": 0, "engagement": 0, "tasks": 100},
                   "lifecycle_rules": {"prospect_to_customer": false}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let saved = json_of(response).await;
    assert_eq!(saved["settings"]["weights"]["tasks"], 100);
    assert_eq!(
        saved["settings"]["lifecycle_rules"]["prospect_to_customer"],
        false
    );
    let job = saved["recompute_job_id"].as_str().unwrap().to_owned();
    crate::scoring::wait_for_job(&app, &admin, &job).await;
    let now = json_of(
        app.get(&format!("/accounts/{}", id(&account)), &admin)
            .await,
    )
    .await;
    assert_eq!(now["health_score"], 100);
    let audit = json_of(
        app.get("/audit?resource=settings&resource_id=health", &admin)
            .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().map(Vec::len), Some(1), "{audit}");

    // The settings page shows the same settings and names a mistake next to its field.
    let (cookie, csrf) = app.web_session(&admin).await;
    let response = app
        .client
        .get(format!("{}/admin/health", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"id="health-weights.tasks""#), "{html}");
    assert!(html.contains(r#"value="100""#));
    let response = app
        .client
        .post(format!("{}/admin/health", app.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("weights.recent_activity", "30"),
            ("weights.tasks", "20"),
            ("weights.deals", "25"),
            ("weights.engagement", "25"),
            ("at_risk_below", "60"),
            ("recovered_at", "50"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"id="health-recovered_at-error""#), "{html}");
    let kept = json_of(app.get("/health/settings", &admin).await).await;
    assert_eq!(kept["settings"]["weights"]["tasks"], 100, "nothing saved");

    // Members without settings rights read health but not the settings; another company has
    // its own defaults and cannot see the account.
    let rep = app.member(&admin, "sales").await;
    assert_problem(app.get("/health/settings", &rep).await, 403).await;
    assert_problem(app.put("/health/settings", &rep, json!({})).await, 403).await;
    let other = app.other_company("Elsewhere").await;
    let theirs = json_of(app.get("/health/settings", &other).await).await;
    assert_eq!(theirs["settings"]["weights"]["tasks"], 20);
    assert_problem(
        app.get(&format!("/accounts/{}/health", id(&account)), &other)
            .await,
        404,
    )
    .await;
}

both!(
    health_is_computed_from_its_components_and_read_only,
    falling_health_puts_a_customer_at_risk_and_recovery_brings_it_back,
    settings_are_checked_audited_and_recompute_every_account,
);
