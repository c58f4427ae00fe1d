//! Tasks in bulk: setting assignee, status and priority on many tasks and deleting many, all or
//! nothing, with an audit row per task; `completed_at` follows the status as in an update; scope
//! (a sales rep cannot touch another rep's tasks), another company's ids, bad values named by
//! field, and the limits on the ids — on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

use crate::accounts::{fields_of, id, ids_of};
use crate::tasks::create_task;

async fn task(app: &TestApp, who: &Session, path_id: &str) -> Value {
    let response = app.get(&format!("/tasks/{path_id}"), who).await;
    assert_eq!(response.status(), 200, "GET /tasks/{path_id}");
    json_of(response).await
}

/// The actions of a task's audit rows, newest first.
async fn history(app: &TestApp, who: &Session, task_id: &str) -> Vec<Value> {
    let page = json_of(
        app.get(&format!("/audit?resource=tasks&resource_id={task_id}"), who)
            .await,
    )
    .await;
    page["data"].as_array().unwrap().clone()
}

async fn bulk_update(app: &TestApp, who: &Session, body: Value) -> reqwest::Response {
    app.post("/tasks/bulk-update", who, body).await
}

async fn tasks_are_changed_in_bulk_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let a = create_task(&app, &admin, json!({"subject": "A"})).await;
    let b = create_task(&app, &admin, json!({"subject": "B", "priority": "low"})).await;
    let untouched = create_task(&app, &admin, json!({"subject": "C"})).await;

    let response = bulk_update(
        &app,
        &admin,
        json!({"ids": [id(&a), id(&b), id(&a)],
               "set": {"assignee_id": rep.user_id, "status": "completed", "priority": "urgent"}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["count"], 2, "duplicates count once");
    for t in [&a, &b] {
        let now = task(&app, &admin, &id(t)).await;
        assert_eq!(now["assignee_id"], rep.user_id.to_string());
        assert_eq!(now["status"], "completed");
        assert_eq!(now["priority"], "urgent");
        assert!(now["completed_at"].is_string(), "{now}");
        assert_eq!(now["subject"], t["subject"], "the rest stays");
        let rows = history(&app, &admin, &id(t)).await;
        assert_eq!(rows.len(), 2, "create and one update: {rows:?}");
        assert_eq!(rows[0]["action"], "update");
        assert_eq!(rows[0]["changes"]["status"]["before"], "open");
        assert_eq!(rows[0]["changes"]["status"]["after"], "completed");
    }
    let c = task(&app, &admin, &id(&untouched)).await;
    assert_eq!(c["status"], "open");
    assert_eq!(history(&app, &admin, &id(&untouched)).await.len(), 1);

    // Completing again keeps when it was completed; reopening clears it.
    let first = task(&app, &admin, &id(&a)).await["completed_at"].clone();
    let again = bulk_update(
        &app,
        &admin,
        json!({"ids": [id(&a)], "set": {"status": "completed"}}),
    )
    .await;
    assert_eq!(again.status(), 200);
    assert_eq!(task(&app, &admin, &id(&a)).await["completed_at"], first);
    let reopened = bulk_update(
        &app,
        &admin,
        json!({"ids": [id(&a), id(&b)], "set": {"status": "open"}}),
    )
    .await;
    assert_eq!(reopened.status(), 200);
    for t in [&a, &b] {
        let now = task(&app, &admin, &id(t)).await;
        assert_eq!(now["status"], "open");
        assert!(now["completed_at"].is_null(), "{now}");
        assert_eq!(now["priority"], "urgent");
    }

    // Delete: every one, with an audit row each.
    let deleted = app
        .post(
            "/tasks/bulk-delete",
            &admin,
            json!({"ids": [id(&a), id(&b)]}),
        )
        .await;
    assert_eq!(deleted.status(), 200);
    assert_eq!(json_of(deleted).await["count"], 2);
    let left = json_of(app.get("/tasks", &admin).await).await;
    assert_eq!(ids_of(&left), [id(&untouched)]);
    let audit = json_of(app.get("/audit?resource=tasks&action=delete", &admin).await).await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 2);
}

async fn a_sales_rep_cannot_touch_another_reps_tasks_and_nothing_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let other_rep = app.member(&admin, "sales").await;
    let mine = create_task(&app, &rep, json!({"subject": "Mine"})).await;
    let theirs = create_task(&app, &other_rep, json!({"subject": "Theirs"})).await;

    let response = bulk_update(
        &app,
        &rep,
        json!({"ids": [id(&mine), id(&theirs)], "set": {"priority": "high"}}),
    )
    .await;
    assert_problem(response, 404).await;
    assert_problem(
        app.post(
            "/tasks/bulk-delete",
            &rep,
            json!({"ids": [id(&mine), id(&theirs)]}),
        )
        .await,
        404,
    )
    .await;
    for t in [&mine, &theirs] {
        let now = task(&app, &admin, &id(t)).await;
        assert_eq!(now["priority"], "normal", "nothing changed");
        assert_eq!(history(&app, &admin, &id(t)).await.len(), 1);
    }
    // Their own tasks they may change, but not hand to someone else.
    let response = bulk_update(
        &app,
        &rep,
        json!({"ids": [id(&mine)], "set": {"status": "in_progress"}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = bulk_update(
        &app,
        &rep,
        json!({"ids": [id(&mine)], "set": {"assignee_id": other_rep.user_id}}),
    )
    .await;
    assert_problem(response, 403).await;
    assert_eq!(
        task(&app, &admin, &id(&mine)).await["assignee_id"],
        rep.user_id.to_string()
    );
    // A read-only member may do neither.
    let reader = app.member(&admin, "read_only").await;
    assert_problem(
        bulk_update(
            &app,
            &reader,
            json!({"ids": [id(&mine)], "set": {"priority": "low"}}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(
        app.post("/tasks/bulk-delete", &reader, json!({"ids": [id(&mine)]}))
            .await,
        403,
    )
    .await;
    assert_eq!(task(&app, &admin, &id(&mine)).await["priority"], "normal");
}

async fn another_companys_task_is_not_found_and_nothing_changes(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let ours = create_task(&app, &acme, json!({"subject": "Ours"})).await;
    let theirs = create_task(&app, &globex, json!({"subject": "Theirs"})).await;
    let response = bulk_update(
        &app,
        &acme,
        json!({"ids": [id(&ours), id(&theirs)], "set": {"status": "cancelled"}}),
    )
    .await;
    assert_problem(response, 404).await;
    assert_problem(
        app.post("/tasks/bulk-delete", &acme, json!({"ids": [id(&theirs)]}))
            .await,
        404,
    )
    .await;
    assert_eq!(task(&app, &acme, &id(&ours)).await["status"], "open");
    assert_eq!(task(&app, &globex, &id(&theirs)).await["status"], "open");
    // Another company's member is not an assignee here.
    let response = bulk_update(
        &app,
        &acme,
        json!({"ids": [id(&ours)], "set": {"assignee_id": globex.user_id}}),
    )
    .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(fields_of(&problem), ["set.assignee_id"]);
    assert_eq!(
        task(&app, &acme, &id(&ours)).await["assignee_id"],
        acme.user_id.to_string()
    );
}

async fn bad_input_is_refused_naming_the_field(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let t = create_task(&app, &admin, json!({"subject": "Stays"})).await;
    let unknown_user = "0190f000-0000-7000-8000-000000000000";
    let too_many: Vec<String> = (0..501).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let cases = [
        (
            json!({"ids": [id(&t)], "set": {"status": "done"}}),
            vec!["set.status"],
        ),
        (
            json!({"ids": [id(&t)], "set": {"priority": "asap"}}),
            vec!["set.priority"],
        ),
        (
            json!({"ids": [id(&t)], "set": {"assignee_id": unknown_user}}),
            vec!["set.assignee_id"],
        ),
        (json!({"ids": [id(&t)], "set": {}}), vec!["set"]),
        (json!({"ids": [], "set": {"status": "open"}}), vec!["ids"]),
        (
            json!({"ids": too_many, "set": {"status": "open"}}),
            vec!["ids"],
        ),
        (
            json!({"ids": [], "set": {"status": "done", "priority": "asap"}}),
            vec!["ids", "set.status", "set.priority"],
        ),
    ];
    for (body, fields) in cases {
        let problem = assert_problem(bulk_update(&app, &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    for (path, body) in [
        ("/tasks/bulk-delete", json!({"ids": []})),
        ("/tasks/bulk-delete", json!({"ids": too_many})),
    ] {
        let problem = assert_problem(app.post(path, &admin, body).await, 422).await;
        assert_eq!(fields_of(&problem), ["ids"]);
    }
    // Unknown fields are malformed requests.
    for (path, body) in [
        (
            "/tasks/bulk-update",
            json!({"ids": [id(&t)], "set": {"subject": "Renamed"}}),
        ),
        (
            "/tasks/bulk-update",
            json!({"ids": [id(&t)], "set": {"status": "open"}, "force": true}),
        ),
        (
            "/tasks/bulk-delete",
            json!({"ids": [id(&t)], "cascade": true}),
        ),
    ] {
        assert_problem(app.post(path, &admin, body).await, 400).await;
    }
    let now = task(&app, &admin, &id(&t)).await;
    assert_eq!(now["subject"], "Stays");
    assert_eq!(now["status"], "open");
    assert_eq!(history(&app, &admin, &id(&t)).await.len(), 1);
}

both!(
    tasks_are_changed_in_bulk_with_an_audit_row_each,
    a_sales_rep_cannot_touch_another_reps_tasks_and_nothing_changes,
    another_companys_task_is_not_found_and_nothing_changes,
    bad_input_is_refused_naming_the_field,
);
