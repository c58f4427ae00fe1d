//! The qualification workflow (issue 14 §2): a status change meets the company's gates on every
//! door — create, patch, the transition route, bulk update, ingestion — and a blocked one is a
//! 422 listing what the lead lacks; `converted` is set only by converting; the time in each
//! status is kept; the gates are the company's own.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};

/// Let every status be set freely (tests about something else set statuses directly).
pub async fn without_gates(app: &TestApp, who: &Session) {
    let response = app
        .put("/qualification/settings", who, json!({"gates": []}))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

async fn create_lead(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/leads", who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn a_status_change_meets_the_gates_on_every_door(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let defaults = json_of(app.get("/qualification/settings", &admin).await).await;
    assert_eq!(defaults["settings"]["gates"][0]["to"], "qualified");
    assert_eq!(defaults["settings"]["gates"][0]["min_total_score"], 60);

    // Create: qualified needs budget, authority and a total of 60; nothing is written.
    let problem = assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Early", "status": "qualified", "budget": "50k"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["authority", "total_score"]);
    let message = problem["errors"][1]["message"].as_str().unwrap();
    assert!(
        message.contains("at least 60") && message.contains("(it is 0)"),
        "{message}"
    );
    assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Fake", "status": "converted"}),
        )
        .await,
        422,
    )
    .await;
    let none = json_of(app.get("/leads", &admin).await).await;
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));

    // The transition route: a blocked move lists what is missing; nothing changes.
    let lead = create_lead(
        &app,
        &admin,
        json!({"last_name": "Ready", "budget": "50k", "title": "CFO"}),
    )
    .await;
    let path = format!("/leads/{}", id(&lead));
    let problem = assert_problem(
        app.post(
            &format!("{path}/transition"),
            &admin,
            json!({"to": "qualified"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["authority", "total_score"]);
    let workflow = json_of(app.get(&format!("{path}/transition"), &admin).await).await;
    let qualified = workflow["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["to"] == "qualified")
        .unwrap()
        .clone();
    assert_eq!(qualified["allowed"], false);
    assert_eq!(qualified["unmet"].as_array().map(Vec::len), Some(2));

    // A transition's body is closed: a lead's own field in it is a 400 naming it, and nothing
    // moves.
    let problem = assert_problem(
        app.post(
            &format!("{path}/transition"),
            &admin,
            json!({"to": "nurturing", "budget": "10k"}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("budget")),
        "{problem}"
    );
    let unchanged = json_of(app.get(&path, &admin).await).await;
    assert_ne!(unchanged["status"], "nurturing");

    // Unqualified needs a reason, by PATCH as by the route.
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"status": "unqualified"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["status_reason"]);
    let moved = json_of(
        app.post(
            &format!("{path}/transition"),
            &admin,
            json!({"to": "unqualified", "reason": "No budget this year"}),
        )
        .await,
    )
    .await;
    assert_eq!(moved["status"], "unqualified");
    assert_eq!(moved["status_reason"], "No budget this year");
    assert!(moved["status_changed_at"].is_string());
    // Back to nurturing: no gate; the old reason goes with the old status.
    let back = json_of(
        app.post(
            &format!("{path}/transition"),
            &admin,
            json!({"to": "nurturing"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (&back["status"], &back["status_reason"]),
        (&json!("nurturing"), &Value::Null)
    );

    // converted only by converting.
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"status": "converted"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["status"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("convert"),
        "{problem}"
    );

    // Bulk update: all or nothing.
    let other = create_lead(&app, &admin, json!({"last_name": "Other"})).await;
    let problem = assert_problem(
        app.post(
            "/leads/bulk-update",
            &admin,
            json!({"ids": [id(&lead), id(&other)], "set": {"status": "qualified"}}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        fields_of(&problem).contains(&"authority".to_owned()),
        "{problem}"
    );
    let still = json_of(app.get(&format!("/leads/{}", id(&other)), &admin).await).await;
    assert_eq!(still["status"], "new");

    // Ingestion: the lead is refused on its own.
    let ingested = json_of(
        app.post(
            "/ingest/leads",
            &admin,
            json!({"leads": [{"last_name": "Gate", "status": "qualified"}, {"last_name": "Fine"}]}),
        )
        .await,
    )
    .await;
    let outcomes: Vec<&str> = ingested["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["rejected", "created"], "{ingested}");

    // With what the gate asks for, the lead moves; its stays and time in each are kept.
    crate::scoring::put_scoring(
        &app,
        &admin,
        json!({"fit_rules": [{"name": "CFO", "points": 100,
            "conditions": [{"op": "equals", "field": "title", "value": "cfo"}]}], "fit_weight": 100}),
    )
    .await;
    app.patch(&path, &admin, json!({"authority": "Signs alone"}))
        .await;
    let moved = json_of(
        app.post(
            &format!("{path}/transition"),
            &admin,
            json!({"to": "qualified"}),
        )
        .await,
    )
    .await;
    assert_eq!(moved["status"], "qualified", "{moved}");
    let workflow = json_of(app.get(&format!("{path}/transition"), &admin).await).await;
    let stays: Vec<&str> = workflow["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(stays, ["qualified", "nurturing", "unqualified", "new"]);
    assert!(workflow["history"][0]["left_at"].is_null());
    assert!(workflow["history"][1]["left_at"].is_string());
    let statuses: Vec<&str> = workflow["time_in_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 4, "{workflow}");
}

async fn gates_are_the_companys_own(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let problem = assert_problem(
        app.put(
            "/qualification/settings",
            &admin,
            json!({"gates": [{"to": "converted"}, {"to": "contacted", "requires": ["nope"]}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["gates[0].to", "gates[1].requires[0]"]);
    let response = app
        .put(
            "/qualification/settings",
            &admin,
            json!({"gates": [{"to": "contacted", "requires": ["phone"]}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let problem = assert_problem(
        app.post(
            "/leads",
            &admin,
            json!({"last_name": "Quiet", "status": "contacted"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["phone"]);
    // Qualified has no gate any more.
    create_lead(
        &app,
        &admin,
        json!({"last_name": "Free", "status": "qualified"}),
    )
    .await;

    // Another company keeps the defaults; a rep cannot change gates; nobody else's lead moves.
    let other = app.other_company("Elsewhere").await;
    let theirs = json_of(app.get("/qualification/settings", &other).await).await;
    assert_eq!(theirs["settings"]["gates"][0]["to"], "qualified");
    let lead = create_lead(&app, &admin, json!({"last_name": "Mine"})).await;
    assert_problem(
        app.post(
            &format!("/leads/{}/transition", id(&lead)),
            &other,
            json!({"to": "nurturing"}),
        )
        .await,
        404,
    )
    .await;
    let rep = app.member(&admin, "sales").await;
    assert_problem(
        app.put("/qualification/settings", &rep, json!({"gates": []}))
            .await,
        403,
    )
    .await;
}

async fn a_lead_the_rule_matches_is_converted_by_itself_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let _workers = app.start_workers();
    let rep = app.member(&admin, "sales").await;
    let response = app
        .put(
            "/qualification/settings",
            &admin,
            json!({"gates": [], "auto_convert": [
                {"op": "equals", "field": "status", "value": "qualified"},
                {"op": "filled", "field": "company_name"}]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let settings = json_of(app.get("/qualification/settings", &admin).await).await;
    assert_eq!(settings["settings"]["auto_convert"][0]["op"], "equals");

    // Not matching: stays. Matching (on a patch by its owner, who may not create accounts):
    // converted by the job, owned as the lead was.
    let lead = create_lead(
        &app,
        &rep,
        json!({"last_name": "Auto", "company_name": "Autoco", "owner_id": rep.user_id}),
    )
    .await;
    let path = format!("/leads/{}", id(&lead));
    let response = app.patch(&path, &rep, json!({"status": "qualified"})).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let converted = loop {
        let now = json_of(app.get(&path, &admin).await).await;
        if now["status"] == "converted" {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never converted: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let account = converted["converted_account_id"].as_str().unwrap();
    let account = json_of(app.get(&format!("/accounts/{account}"), &admin).await).await;
    assert_eq!(account["name"], "Autoco");
    assert_eq!(account["owner_id"], json!(rep.user_id));
    // The trail says the system converted it, for the owner; the owner's own patch is theirs.
    let trail = json_of(
        app.get(
            &format!("/audit?resource=leads&resource_id={}", id(&lead)),
            &admin,
        )
        .await,
    )
    .await;
    let rows = trail["data"].as_array().unwrap();
    let conversion = rows
        .iter()
        .find(|r| r["changes"]["status"]["after"] == "converted")
        .unwrap_or_else(|| panic!("no conversion row: {trail}"));
    assert_eq!(conversion["actor_via"], "automatic conversion");
    assert_eq!(conversion["actor_user_id"], json!(rep.user_id));
    let patched = rows
        .iter()
        .find(|r| r["changes"]["status"]["after"] == "qualified")
        .unwrap_or_else(|| panic!("no patch row: {trail}"));
    assert_eq!(patched["actor_via"], Value::Null);
    let unmatched = create_lead(
        &app,
        &admin,
        json!({"last_name": "Plain", "status": "qualified"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let plain = json_of(app.get(&format!("/leads/{}", id(&unmatched)), &admin).await).await;
    assert_eq!(
        plain["status"], "qualified",
        "no company name: no conversion"
    );

    // Bad conditions are named.
    let problem = assert_problem(
        app.put(
            "/qualification/settings",
            &admin,
            json!({"auto_convert": [{"op": "equals", "field": "nope", "value": 1}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["auto_convert[0].field"]);
}

both!(
    a_status_change_meets_the_gates_on_every_door,
    gates_are_the_companys_own,
    a_lead_the_rule_matches_is_converted_by_itself_once,
);
