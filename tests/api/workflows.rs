//! Workflow rules: a rule on an event runs its actions through the dispatcher within seconds
//! (a task for the owner), logs every run — matched or not — once per (rule, event) even when
//! the event is delivered again, stops a rule that feeds itself at its depth, tells a dry run
//! what it would do without writing, does nothing while off; bad rules are 422s naming the
//! place, another company's rules and records are not found and never run, and a rep without
//! the workflows grants is refused. Scheduled triggers (no activity, before a close date, task
//! overdue) fire once per occurrence; `call_webhook` reaches a real receiver, signed when it
//! names one of the company's webhooks; an overdue SLA task is escalated to the assignee's team
//! manager once, and is due in business hours of the company's time zone.

use chrono::{DateTime, Utc};
use rivet_domain::events::verify_signature;
use rivet_server::dispatcher::{EVENT_ID_HEADER, SIGNATURE_HEADER};
use rivet_tests::receiver::{Behaviour, Receiver};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app, spawn_app_with,
};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub(crate) async fn create_rule(app: &TestApp, admin: &Session, rule: Value) -> Value {
    let response = app.post("/workflows", admin, rule).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    json_of(response).await
}

pub(crate) async fn create_lead(app: &TestApp, who: &Session, body: Value) -> String {
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

pub(crate) async fn runs_of(app: &TestApp, who: &Session, rule: &str) -> Vec<Value> {
    let page = json_of(app.get(&format!("/workflows/{rule}/runs"), who).await).await;
    page["data"].as_array().cloned().unwrap_or_default()
}

/// Wait (up to 15 s) until `rule` has logged `n` runs; its runs, newest first.
pub(crate) async fn wait_for_runs(
    app: &TestApp,
    who: &Session,
    rule: &str,
    n: usize,
) -> Vec<Value> {
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

/// Move a record's time column into the past, as days going by would.
async fn set_time(app: &TestApp, table: &str, column: &str, id: &str, at: DateTime<Utc>) {
    app.sql(
        &format!("UPDATE {table} SET {column} = ? WHERE id = ?"),
        vec![at.into(), id.parse::<Uuid>().unwrap().into()],
    )
    .await;
}

async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> String {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "{path}: {:?}",
        response.text().await
    );
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

async fn scheduled_triggers_fire_once_per_occurrence(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    let stale = create_rule(
        &app,
        &admin,
        json!({
            "name": "Stale leads",
            "record_type": "lead",
            "trigger": {"kind": "no_activity", "days": 7},
            "actions": [{"kind": "add_tag", "tag": "stale"}],
        }),
    )
    .await;
    let stale_deals = create_rule(
        &app,
        &admin,
        json!({
            "name": "Quiet deals",
            "record_type": "deal",
            "trigger": {"kind": "no_activity", "days": 14},
            "actions": [{"kind": "add_tag", "tag": "quiet"}],
        }),
    )
    .await;
    let closing = create_rule(
        &app,
        &admin,
        json!({
            "name": "Closing soon",
            "record_type": "deal",
            "trigger": {"kind": "before_close_date", "days": 5},
            "actions": [{"kind": "create_task", "subject": "Push to close",
                         "due_in_business_days": 2}],
        }),
    )
    .await;
    let overdue = create_rule(
        &app,
        &admin,
        json!({
            "name": "Overdue is urgent",
            "record_type": "task",
            "trigger": {"kind": "task_overdue"},
            "actions": [{"kind": "update_field", "field": "priority", "value": "urgent"}],
        }),
    )
    .await;
    let now = Utc::now();
    let long_ago = now - chrono::Duration::days(10);

    // Leads: one quiet for ten days, one new, one old with an activity yesterday, one old but
    // unqualified (a closed lead is left alone).
    let quiet = create_lead(
        &app,
        &admin,
        json!({"first_name": "Qu", "last_name": "Iet"}),
    )
    .await;
    let fresh = create_lead(
        &app,
        &admin,
        json!({"first_name": "Fr", "last_name": "Esh"}),
    )
    .await;
    let busy = create_lead(&app, &admin, json!({"first_name": "Bu", "last_name": "Sy"})).await;
    let dropped = create_lead(
        &app,
        &admin,
        json!({"first_name": "Dr", "last_name": "Op", "status": "unqualified",
               "status_reason": "no budget"}),
    )
    .await;
    for lead in [&quiet, &busy, &dropped] {
        set_time(&app, "leads", "created_at", lead, long_ago).await;
    }
    create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "call", "subject": "Talked", "occurred_at": (now - chrono::Duration::days(1)).to_rfc3339(),
               "links": [{"record_type": "lead", "record_id": busy}]}),
    )
    .await;

    // Deals: one closing in three days, one in a month (and quiet for twenty days).
    let today = now.date_naive();
    let soon = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Soon", "close_date": (today + chrono::Duration::days(3)).to_string()}),
    )
    .await;
    let later = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Later", "close_date": (today + chrono::Duration::days(30)).to_string()}),
    )
    .await;
    set_time(
        &app,
        "deals",
        "created_at",
        &later,
        now - chrono::Duration::days(20),
    )
    .await;

    // Tasks: one due yesterday, one due tomorrow, one due yesterday but done.
    let late = create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Late", "due_at": (now - chrono::Duration::days(1)).to_rfc3339()}),
    )
    .await;
    let not_yet = create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Not yet", "due_at": (now + chrono::Duration::days(1)).to_rfc3339()}),
    )
    .await;
    let done = create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Done", "status": "completed",
               "due_at": (now - chrono::Duration::days(1)).to_rfc3339()}),
    )
    .await;

    let logged = rivet_store::workflows::run_schedules(store).await.unwrap();
    // The quiet lead, the quiet deal, the deal closing soon, the late task.
    assert_eq!(logged, 4);

    let lead = |id: String| {
        let app = &app;
        let admin = &admin;
        async move { json_of(app.get(&format!("/leads/{id}"), admin).await).await }
    };
    assert_eq!(lead(quiet.clone()).await["tags"], json!(["stale"]));
    for other in [&fresh, &busy, &dropped] {
        assert_eq!(lead(other.clone()).await["tags"], json!([]), "{other}");
    }
    let deal = json_of(app.get(&format!("/deals/{later}"), &admin).await).await;
    assert_eq!(deal["tags"], json!(["quiet"]));
    let deal = json_of(app.get(&format!("/deals/{soon}"), &admin).await).await;
    assert_eq!(deal["tags"], json!([]));
    let about_soon = tasks_about(&app, &admin, &soon).await;
    assert_eq!(about_soon.len(), 1, "{about_soon:?}");
    assert_eq!(about_soon[0]["subject"], "Push to close");
    assert!(tasks_about(&app, &admin, &later).await.is_empty());
    let task = |id: String| {
        let app = &app;
        let admin = &admin;
        async move { json_of(app.get(&format!("/tasks/{id}"), admin).await).await }
    };
    assert_eq!(task(late.clone()).await["priority"], "urgent");
    assert_eq!(task(not_yet).await["priority"], "normal");
    assert_eq!(task(done).await["priority"], "normal");

    // Each log names its schedule and record.
    for (rule, trigger, record) in [
        (&stale, "no_activity", &quiet),
        (&stale_deals, "no_activity", &later),
        (&closing, "before_close_date", &soon),
        (&overdue, "task_overdue", &late),
    ] {
        let runs = runs_of(&app, &admin, rule["id"].as_str().unwrap()).await;
        assert_eq!(runs.len(), 1, "{trigger}: {runs:?}");
        assert_eq!(runs[0]["trigger"], trigger);
        assert_eq!(runs[0]["record_id"], record.as_str());
        assert_eq!(runs[0]["status"], "ok", "{:?}", runs[0]);
        assert_eq!(runs[0]["event_id"], Value::Null);
    }

    // The next check finds the same occurrences: nothing runs twice.
    assert_eq!(
        rivet_store::workflows::run_schedules(store).await.unwrap(),
        0
    );
    assert_eq!(tasks_about(&app, &admin, &soon).await.len(), 1);
    // A new occurrence runs again: the task moved and fell due once more.
    set_time(
        &app,
        "tasks",
        "due_at",
        &late,
        now - chrono::Duration::hours(1),
    )
    .await;
    assert_eq!(
        rivet_store::workflows::run_schedules(store).await.unwrap(),
        1
    );
    let runs = runs_of(&app, &admin, overdue["id"].as_str().unwrap()).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
}

async fn call_webhook_posts_to_a_real_receiver_signed_for_a_webhook(db: Db) {
    let app = spawn_app_with(db, |c| c.webhook_allow_private = true).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let other = app.other_company("Other").await;
    let receiver = Receiver::start(Behaviour::Ok {
        delay: Duration::ZERO,
    })
    .await;
    // The webhook is subscribed to nothing this test raises: what it gets is the rule's post.
    let response = app
        .post(
            "/webhooks",
            &admin,
            json!({"url": receiver.url("/signed"), "event_types": ["deal.won"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let hook = json_of(response).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let rule = create_rule(
        &app,
        &admin,
        json!({
            "name": "Tell them",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.created"},
            "actions": [
                {"kind": "call_webhook", "url": receiver.url("/plain")},
                {"kind": "call_webhook", "webhook_id": hook_id},
            ],
        }),
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap();
    assert_eq!(rule["actions"][1]["webhook_id"], hook_id.as_str());
    assert!(rule["actions"][1].get("url").is_none(), "{rule}");

    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ann", "last_name": "Lee"}),
    )
    .await;
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let by_path = |signed: bool| {
        got.iter()
            .find(|r| r.header(SIGNATURE_HEADER).is_some() == signed)
            .unwrap()
    };
    let plain = by_path(false);
    let signed = by_path(true);
    for post in [plain, signed] {
        let body = post.json();
        assert_eq!(body["rule"]["id"], rule_id, "{body}");
        assert_eq!(body["trigger"], "lead.created");
        assert_eq!(body["record"]["id"], lead.as_str());
        assert_eq!(body["record_type"], "lead");
        assert!(post.header(EVENT_ID_HEADER).is_some());
    }
    let header = signed.header(SIGNATURE_HEADER).unwrap();
    assert!(verify_signature(secret.as_bytes(), &header, &signed.body));
    assert!(!verify_signature(b"whsec_wrong", &header, &signed.body));
    let runs = wait_for_runs(&app, &admin, rule_id, 1).await;
    assert_eq!(runs[0]["status"], "ok", "{:?}", runs[0]);
    assert!(runs[0]["actions"][1]["result"]["job_id"].is_string());

    // Another company's webhook, or both a URL and a webhook: 422 naming the place.
    let response = app
        .post(
            "/webhooks",
            &other,
            json!({"url": "https://example.com/theirs", "event_types": ["deal.won"]}),
        )
        .await;
    let theirs = json_of(response).await["id"].as_str().unwrap().to_owned();
    for (action, field) in [
        (
            json!({"kind": "call_webhook", "webhook_id": theirs}),
            "actions[0].webhook_id",
        ),
        (
            json!({"kind": "call_webhook", "webhook_id": hook_id, "url": "https://example.com/"}),
            "actions[0].webhook_id",
        ),
        (json!({"kind": "call_webhook"}), "actions[0].url"),
    ] {
        let mut rule = call_new_leads();
        rule["actions"] = json!([action]);
        let problem = assert_problem(app.post("/workflows", &admin, rule).await, 422).await;
        assert!(
            fields_of(&problem).contains(&field.to_owned()),
            "{field}: {problem}"
        );
    }
}

async fn an_overdue_sla_task_is_escalated_to_the_team_manager_once(db: Db) {
    let app = spawn_app(db).await;
    let workers = app.start_workers();
    let admin = app.admin().await;
    let store = &app.state.store;
    let manager = app.member(&admin, "manager").await;
    let team = json_of(
        app.post(
            "/teams",
            &admin,
            json!({"name": "West", "manager_id": manager.user_id}),
        )
        .await,
    )
    .await;
    let rep = app
        .member_in_team(&admin, "sales", team["id"].as_str())
        .await;
    let loner = app.member(&admin, "sales").await;
    let rule = create_rule(
        &app,
        &admin,
        json!({
            "name": "Answer within four hours",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.created"},
            "actions": [{"kind": "create_task", "subject": "Answer",
                         "due_in_business_hours": 4, "escalate_to_manager": true}],
        }),
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap();
    assert_eq!(rule["actions"][0]["due_in_business_hours"], 4);
    assert_eq!(rule["actions"][0]["escalate_to_manager"], true);
    let mut leads = Vec::new();
    for owner in [&rep, &loner, &rep] {
        leads.push(
            create_lead(
                &app,
                &admin,
                json!({"first_name": "Ann", "last_name": "Lee", "owner_id": owner.user_id}),
            )
            .await,
        );
    }
    let runs = wait_for_runs(&app, &admin, rule_id, 3).await;
    assert_eq!(runs.len(), 3, "{runs:?}");
    let _ = workers.send(true);
    let mut tasks = Vec::new();
    for lead in &leads {
        let about = tasks_about(&app, &admin, lead).await;
        assert_eq!(about.len(), 1, "{about:?}");
        let due: DateTime<Utc> = about[0]["due_at"].as_str().unwrap().parse().unwrap();
        assert!(due > Utc::now(), "{due}");
        tasks.push(about[0]["id"].as_str().unwrap().to_owned());
    }
    // Not overdue yet: nobody is told.
    assert_eq!(
        rivet_store::workflows::run_schedules(store).await.unwrap(),
        0
    );
    let bell = |who: Session| {
        let app = &app;
        async move {
            let page = json_of(app.get("/notifications?limit=500", &who).await).await;
            page["data"].as_array().cloned().unwrap_or_default()
        }
    };
    assert!(bell(manager.clone()).await.is_empty());

    // All three overdue; the third was done meanwhile.
    for task in &tasks {
        set_time(
            &app,
            "tasks",
            "due_at",
            task,
            Utc::now() - chrono::Duration::hours(1),
        )
        .await;
    }
    let done = app
        .patch(
            &format!("/tasks/{}", tasks[2]),
            &admin,
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(done.status(), 200);
    // The rep's task goes to their team's manager; the loner has no manager to tell.
    assert_eq!(
        rivet_store::workflows::run_schedules(store).await.unwrap(),
        2
    );
    let told = bell(manager.clone()).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["kind"], "task.escalated");
    assert_eq!(told[0]["link"], format!("/tasks/{}", tasks[0]));
    assert_eq!(told[0]["record_id"], tasks[0].as_str());
    assert!(bell(loner.clone()).await.is_empty());
    assert!(
        bell(admin.clone())
            .await
            .iter()
            .all(|n| n["kind"] != "task.escalated")
    );
    // Once only.
    assert_eq!(
        rivet_store::workflows::run_schedules(store).await.unwrap(),
        0
    );
    assert_eq!(bell(manager).await.len(), 1);
}

async fn an_sla_task_is_due_in_the_companys_business_hours(db: Db) {
    use chrono::{Datelike, Timelike, Weekday};
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let kolkata = chrono_tz::Tz::Asia__Kolkata;
    let zone = app
        .patch("/settings", &admin, json!({"timezone": kolkata.name()}))
        .await;
    assert_eq!(zone.status(), 200);
    let rule = create_rule(
        &app,
        &admin,
        json!({
            "name": "Answer within three hours",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.created"},
            "actions": [{"kind": "create_task", "subject": "Answer",
                         "due_in_business_hours": 3}],
        }),
    )
    .await;
    let before = Utc::now();
    let lead = create_lead(
        &app,
        &admin,
        json!({"first_name": "Ravi", "last_name": "Iyer"}),
    )
    .await;
    let runs = wait_for_runs(&app, &admin, rule["id"].as_str().unwrap(), 1).await;
    let after = Utc::now();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let about = tasks_about(&app, &admin, &lead).await;
    assert_eq!(about.len(), 1, "{about:?}");
    let due: DateTime<Utc> = about[0]["due_at"].as_str().unwrap().parse().unwrap();
    // Three hours of 09:00–17:00, Monday to Friday, in Kolkata (UTC+05:30) after the rule ran.
    let local = due.with_timezone(&kolkata);
    let minutes = local.hour() * 60 + local.minute();
    assert!(
        !matches!(local.weekday(), Weekday::Sat | Weekday::Sun)
            && (9 * 60..=17 * 60).contains(&minutes),
        "due {local}, outside Kolkata's business hours"
    );
    let hours = |at| rivet_domain::workflows::add_business_hours(at, 3, kolkata);
    assert!(
        hours(before) <= due && due <= hours(after),
        "due {due}, not three Kolkata business hours after the lead ({before}..{after})"
    );
}

/// The execution log has no foreign key to its rule (`m0046`): deleting a rule deletes its
/// runs in the delete's transaction, and leaves the other rules' runs. The log keeps what it
/// was given as written (on PostgreSQL it goes in by `COPY`, whose text format has its own
/// escapes).
async fn deleting_a_rule_deletes_its_runs(db: Db) {
    let app = spawn_app(db).await;
    let _workers = app.start_workers();
    let admin = app.admin().await;
    let tag = create_rule(
        &app,
        &admin,
        json!({
            "name": "Tag new leads",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.created"},
            "conditions": [{"op": "equals", "field": "status", "value": "new"}],
            "actions": [{"kind": "add_tag", "tag": "new \\ \"one\""}],
        }),
    )
    .await;
    let tag_id = tag["id"].as_str().unwrap();
    let odd = "Tab\there \\ \"quoted\"\nnext line";
    let never = create_rule(
        &app,
        &admin,
        json!({
            "name": "Never",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.created"},
            "conditions": [{"op": "equals", "field": "city", "value": odd}],
            "actions": [{"kind": "add_tag", "tag": "never"}],
        }),
    )
    .await;
    let never_id = never["id"].as_str().unwrap();
    create_lead(&app, &admin, json!({"first_name": "Di", "last_name": "Ro"})).await;
    let tagged = wait_for_runs(&app, &admin, tag_id, 1).await;
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_eq!(tagged[0]["status"], "ok", "{tagged:?}");
    assert_eq!(
        tagged[0]["actions"][0]["description"],
        "add the tag “new \\ \"one\"”"
    );
    let skipped = wait_for_runs(&app, &admin, never_id, 1).await;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["matched"], false);
    assert_eq!(skipped[0]["conditions"][0]["condition"]["value"], odd);

    let response = app.delete(&format!("/workflows/{tag_id}"), &admin).await;
    assert_eq!(response.status(), 204, "{:?}", response.text().await);
    let left = |rule: &str| {
        let rule: Uuid = rule.parse().unwrap();
        let app = &app;
        async move {
            app.sql(
                "SELECT COUNT(*) FROM workflow_runs WHERE rule_id = ?",
                vec![rule.into()],
            )
            .await[0]
                .try_get_by_index::<i64>(0)
                .unwrap()
        }
    };
    assert_eq!(left(tag_id).await, 0, "the deleted rule's runs are gone");
    assert_eq!(left(never_id).await, 1, "the other rule's run stays");
    assert_eq!(runs_of(&app, &admin, never_id).await.len(), 1);
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
    scheduled_triggers_fire_once_per_occurrence,
    call_webhook_posts_to_a_real_receiver_signed_for_a_webhook,
    an_overdue_sla_task_is_escalated_to_the_team_manager_once,
    an_sla_task_is_due_in_the_companys_business_hours,
    deleting_a_rule_deletes_its_runs,
);
