//! Workflow rules: a rule on an event runs its actions through the dispatcher within seconds
//! (a task for the owner), logs every run — matched or not — once per (rule, event) even when
//! the event is delivered again, stops a rule that feeds itself at its depth, tells a dry run
//! what it would do without writing, does nothing while off; bad rules are 422s naming the
//! place, another company's rules and records are not found and never run, and a rep without
//! the workflows grants is refused.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};
use std::time::{Duration, Instant};

async fn create_rule(app: &TestApp, admin: &Session, rule: Value) -> Value {
    let response = app.post("/workflows", admin, rule).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

async fn create_lead(app: &TestApp, who: &Session, body: Value) -> String {
    let response = app.post("/leads", who, body).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

fn call_new_leads() -> Value {
    json!({
        "name": "Call new leads",
        "record_type": "lead",
        "trigger": {"kind": "event", "event": "lead.created"},
        "conditions": [{"op": "equals", "field": "status", "value": "new"}],
        "actions": [{"kind": "create_task", "subject": "Call them", "due_in_business_days": 1}],
    })
}

async fn tasks_about(app: &TestApp, who: &Session, lead: &str) -> Vec<Value> {
    let page = json_of(
        app.get(&format!("/tasks?related_id={lead}&limit=500"), who)
            .await,
    )
    .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

async fn runs_of(app: &TestApp, who: &Session, rule: &str) -> Vec<Value> {
    let page = json_of(app.get(&format!("/workflows/{rule}/runs"), who).await).await;
    page["data"].as_array().cloned().unwrap_or_default()
}

/// Wait (up to 15 s) until `rule` has logged `n` runs; its runs, newest first.
async fn wait_for_runs(app: &TestApp, who: &Session, rule: &str, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let runs = runs_of(app, who, rule).await;
        if runs.len() >= n || started.elapsed() > Duration::from_secs(15) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_lead_created_rule_gives_the_owner_a_task_within_seconds(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let rule = create_rule(&app, &admin, call_new_leads()).await;
    let rule_id = rule["id"].as_str().unwrap();
    assert_eq!(rule["active"], true);
    assert_eq!(rule["max_depth"], 3);

    let started = Instant::now();
    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee", "owner_id": rep.user_id}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, rule_id, 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["matched"], true);
    assert_eq!(run["trigger"], "lead.created");
    assert_eq!(run["record_id"], lead.as_str());
    assert_eq!(run["conditions"][0]["met"], true);
    assert_eq!(run["actions"][0]["status"], "ok");

    let tasks = tasks_about(&app, &rep, &lead).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["subject"], "Call them");
    assert_eq!(tasks[0]["assignee_id"], json!(rep.user_id));
    assert_eq!(run["actions"][0]["result"]["task_id"], tasks[0]["id"]);

    // Unmet conditions: a run row "not matched", no task.
    let contacted = create_lead(
        &app,
        &admin,
        json!({"first_name": "Bo", "last_name": "Ng", "status": "contacted"}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, rule_id, 2).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0]["record_id"], contacted.as_str());
    assert_eq!(runs[0]["matched"], false);
    assert_eq!(runs[0]["status"], "skipped");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("not matched")
    );
    assert_eq!(runs[0]["conditions"][0]["met"], false);
    assert!(tasks_about(&app, &admin, &contacted).await.is_empty());

    // The event delivered again (the consumer's position moved back): nothing runs twice.
    app.sql(
        "UPDATE event_positions SET position = 0 WHERE name = 'workflows'",
        vec![],
    )
    .await;
    create_lead(&app, &admin, json!({"first_name": "Cy", "last_name": "Oh"})).await;
    wait_for_runs(&app, &admin, rule_id, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs_of(&app, &admin, rule_id).await.len(), 3);
    assert_eq!(tasks_about(&app, &rep, &lead).await.len(), 1);
}

async fn the_changed_filter_and_a_disabled_rule(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let rule = create_rule(
        &app,
        &admin,
        json!({
            "name": "Qualified: hand over",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.updated", "changed": ["status"]},
            "actions": [{"kind": "add_tag", "tag": "handover"}],
        }),
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap();
    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee"}),
    )
    .await;
    // A change of another field does not start it…
    app.patch(&format!("/leads/{lead}"), &admin, json!({"city": "Oslo"}))
        .await;
    // …a change of the status does.
    app.patch(
        &format!("/leads/{lead}"),
        &admin,
        json!({"status": "contacted"}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, rule_id, 1).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "ok", "{:?}", runs[0]);
    let got = json_of(app.get(&format!("/leads/{lead}"), &admin).await).await;
    assert_eq!(got["tags"], json!(["handover"]));

    // Off: no run for the next change.
    let off = app
        .post(&format!("/workflows/{rule_id}/disable"), &admin, json!({}))
        .await;
    assert_eq!(off.status(), 200);
    let shown = json_of(app.get(&format!("/workflows/{rule_id}"), &admin).await).await;
    assert_eq!(shown["active"], false);
    app.patch(
        &format!("/leads/{lead}"),
        &admin,
        json!({"status": "nurturing"}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(runs_of(&app, &admin, rule_id).await.len(), 1);
}

async fn a_rule_that_feeds_itself_stops_at_its_depth(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    // Each new task makes a new task: without the depth it would never end.
    let rule = create_rule(
        &app,
        &admin,
        json!({
            "name": "Loop",
            "record_type": "task",
            "trigger": {"kind": "event", "event": "task.created"},
            "actions": [{"kind": "create_task", "subject": "Again"}],
            "max_depth": 2,
        }),
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap();
    let response = app
        .post("/tasks", &admin, json!({"subject": "First"}))
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    // Turn 0 (the person's task) and turn 1 run; turn 2 is stopped.
    wait_for_runs(&app, &admin, rule_id, 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let runs = runs_of(&app, &admin, rule_id).await;
    let depths: Vec<(i64, &str)> = runs
        .iter()
        .map(|r| (r["depth"].as_i64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(depths, [(2, "skipped"), (1, "ok"), (0, "ok")], "{runs:?}");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("stopped: loop")
    );
    let tasks = json_of(app.get("/tasks?limit=500", &admin).await).await;
    assert_eq!(tasks["data"].as_array().unwrap().len(), 3, "{tasks}");
}

async fn a_bad_value_is_an_error_in_the_log_not_bad_data(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let rule = create_rule(
        &app,
        &admin,
        json!({
            "name": "Bad e-mail",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.created"},
            "actions": [
                {"kind": "update_field", "field": "email", "value": "not an e-mail"},
                {"kind": "add_tag", "tag": "never"},
            ],
        }),
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap();
    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, rule_id, 1).await;
    let run = &runs[0];
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["actions"][0]["status"], "failed");
    assert!(
        run["actions"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("email"),
        "{run}"
    );
    assert_eq!(run["actions"][1]["status"], "not_run");
    let got = json_of(app.get(&format!("/leads/{lead}"), &admin).await).await;
    assert_eq!(got["email"], "ann@example.com");
    assert_eq!(got["tags"], json!([]));
}

async fn a_dry_run_says_what_would_happen_and_writes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rule = create_rule(&app, &admin, call_new_leads()).await;
    let rule_id = rule["id"].as_str().unwrap();
    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee"}),
    )
    .await;
    let response = app
        .post(
            &format!("/workflows/{rule_id}/test"),
            &admin,
            json!({"record_id": lead}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let dry = json_of(response).await;
    assert_eq!(dry["matched"], true, "{dry}");
    assert_eq!(dry["conditions"][0]["met"], true);
    assert_eq!(dry["actions"][0]["status"], "would_run");
    assert!(
        dry["actions"][0]["description"]
            .as_str()
            .unwrap()
            .contains("Call them")
    );
    assert!(tasks_about(&app, &admin, &lead).await.is_empty());
    assert!(runs_of(&app, &admin, rule_id).await.is_empty());
    // A record that is not there (or not the rule's type) is not found.
    let unknown = "0190a000-0000-7000-8000-000000000001";
    assert_problem(
        app.post(
            &format!("/workflows/{rule_id}/test"),
            &admin,
            json!({"record_id": unknown}),
        )
        .await,
        404,
    )
    .await;
}

async fn bad_rules_are_422s_naming_the_place(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let other = app.other_company("Other").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"trigger": {"kind": "event", "event": "lead.exploded"}}),
            "trigger.event",
        ),
        (
            json!({"actions": [{"kind": "update_field", "field": "shoe_size", "value": 1}]}),
            "actions[0].field",
        ),
        (
            json!({"conditions": [{"op": "equals", "field": "nope", "value": "x"}]}),
            "conditions[0].field",
        ),
        (
            json!({"actions": [{"kind": "assign_owner", "user_id": other.user_id}]}),
            "actions[0].user_id",
        ),
        (
            json!({"actions": [{"kind": "create_task", "subject": "x",
                                "assignee": {"kind": "user", "user_id": other.user_id}}]}),
            "actions[0].assignee.user_id",
        ),
        (json!({"record_type": "planet"}), "record_type"),
        (json!({"actions": []}), "actions"),
        (json!({"max_depth": 99}), "max_depth"),
    ];
    for (change, field) in cases {
        let mut rule = call_new_leads();
        for (k, v) in change.as_object().unwrap() {
            rule[k] = v.clone();
        }
        let problem = assert_problem(app.post("/workflows", &admin, rule).await, 422).await;
        assert!(
            fields_of(&problem).contains(&field.to_owned()),
            "{field}: {problem}"
        );
    }
    // Unknown fields are a 400; nothing was stored.
    let mut rule = call_new_leads();
    rule["colour"] = json!("red");
    assert_problem(app.post("/workflows", &admin, rule).await, 400).await;
    let all = json_of(app.get("/workflows", &admin).await).await;
    assert_eq!(all["data"].as_array().map_or(0, Vec::len), 0, "{all}");
}

async fn companies_see_and_run_only_their_own_rules(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let other = app.other_company("Other").await;
    let rule = create_rule(&app, &admin, call_new_leads()).await;
    let rule_id = rule["id"].as_str().unwrap();
    for path in [
        format!("/workflows/{rule_id}"),
        format!("/workflows/{rule_id}/runs"),
    ] {
        assert_problem(app.get(&path, &other).await, 404).await;
    }
    assert_problem(
        app.post(&format!("/workflows/{rule_id}/disable"), &other, json!({}))
            .await,
        404,
    )
    .await;
    // The other company's lead never runs our rule, and our dry run cannot read it.
    let theirs = create_lead(&app, &other, json!({"first_name": "Zed", "last_name": "Q"})).await;
    assert_problem(
        app.post(
            &format!("/workflows/{rule_id}/test"),
            &admin,
            json!({"record_id": theirs}),
        )
        .await,
        404,
    )
    .await;
    let ours = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee"}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, rule_id, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs_now = runs_of(&app, &admin, rule_id).await;
    assert_eq!(runs_now.len(), 1, "{runs:?}");
    assert_eq!(runs_now[0]["record_id"], ours.as_str());
    assert!(tasks_about(&app, &other, &theirs).await.is_empty());
}

async fn a_rep_without_workflow_grants_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let rule = create_rule(&app, &admin, call_new_leads()).await;
    let rule_id = rule["id"].as_str().unwrap();
    assert_problem(app.get("/workflows", &rep).await, 403).await;
    assert_problem(app.post("/workflows", &rep, call_new_leads()).await, 403).await;
    assert_problem(
        app.get(&format!("/workflows/{rule_id}/runs"), &rep).await,
        403,
    )
    .await;
    assert_problem(
        app.post(&format!("/workflows/{rule_id}/disable"), &rep, json!({}))
            .await,
        403,
    )
    .await;
    assert_problem(
        app.delete(&format!("/workflows/{rule_id}"), &rep).await,
        403,
    )
    .await;
}

both!(
    a_lead_created_rule_gives_the_owner_a_task_within_seconds,
    the_changed_filter_and_a_disabled_rule,
    a_rule_that_feeds_itself_stops_at_its_depth,
    a_bad_value_is_an_error_in_the_log_not_bad_data,
    a_dry_run_says_what_would_happen_and_writes_nothing,
    bad_rules_are_422s_naming_the_place,
    companies_see_and_run_only_their_own_rules,
    a_rep_without_workflow_grants_is_refused,
);
