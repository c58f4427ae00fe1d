//! Activities in bulk: a new owner for many activities and deleting many, all or nothing, with
//! an audit row per activity; links kept by an owner change and gone with a delete; scope (a
//! sales rep cannot touch another rep's activities), another company's ids and members, bad
//! values named by field, and the limits on the ids — on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

use crate::accounts::{create_account, fields_of, id, ids_of};
use crate::activities::create_activity;

/// A call linked to `account`.
async fn call(app: &TestApp, who: &Session, subject: &str, account: &Value) -> Value {
    create_activity(
        app,
        who,
        json!({"kind": "call", "subject": subject,
               "links": [{"record_type": "account", "record_id": id(account)}]}),
    )
    .await
}

async fn activity(app: &TestApp, who: &Session, activity_id: &str) -> Value {
    let response = app.get(&format!("/activities/{activity_id}"), who).await;
    assert_eq!(response.status(), 200, "GET /activities/{activity_id}");
    json_of(response).await
}

/// An activity's audit rows, newest first.
async fn history(app: &TestApp, who: &Session, activity_id: &str) -> Vec<Value> {
    let page = json_of(
        app.get(
            &format!("/audit?resource=activities&resource_id={activity_id}"),
            who,
        )
        .await,
    )
    .await;
    page["data"].as_array().unwrap().clone()
}

/// The activities linked to `account`.
async fn linked_to(app: &TestApp, who: &Session, account: &Value) -> Vec<String> {
    let page = json_of(
        app.get(
            &format!("/activities?record_type=account&record_id={}", id(account)),
            who,
        )
        .await,
    )
    .await;
    let mut ids = ids_of(&page);
    ids.sort();
    ids
}

async fn bulk_update(app: &TestApp, who: &Session, body: Value) -> reqwest::Response {
    app.post("/activities/bulk-update", who, body).await
}

async fn bulk_delete(app: &TestApp, who: &Session, body: Value) -> reqwest::Response {
    app.post("/activities/bulk-delete", who, body).await
}

async fn activities_change_owner_and_are_deleted_in_bulk_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let a = call(&app, &admin, "A", &account).await;
    let b = call(&app, &admin, "B", &account).await;
    let untouched = call(&app, &admin, "C", &account).await;

    let response = bulk_update(
        &app,
        &admin,
        json!({"ids": [id(&a), id(&b), id(&a)], "set": {"owner_id": rep.user_id}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["count"], 2, "duplicates count once");
    for before in [&a, &b] {
        let now = activity(&app, &admin, &id(before)).await;
        assert_eq!(now["owner_id"], rep.user_id.to_string());
        assert_eq!(now["subject"], before["subject"], "the rest stays");
        assert_eq!(now["occurred_at"], before["occurred_at"]);
        assert_eq!(now["links"], before["links"], "the links stay");
        let rows = history(&app, &admin, &id(before)).await;
        assert_eq!(rows.len(), 2, "create and one update: {rows:?}");
        assert_eq!(rows[0]["action"], "update");
        assert_eq!(
            rows[0]["changes"]["owner_id"]["before"],
            admin.user_id.to_string()
        );
        assert_eq!(
            rows[0]["changes"]["owner_id"]["after"],
            rep.user_id.to_string()
        );
    }
    let c = activity(&app, &admin, &id(&untouched)).await;
    assert_eq!(c["owner_id"], admin.user_id.to_string());
    assert_eq!(history(&app, &admin, &id(&untouched)).await.len(), 1);
    // The new owner now sees them.
    let theirs = json_of(app.get("/activities", &rep).await).await;
    let mut seen = ids_of(&theirs);
    seen.sort();
    let mut want = vec![id(&a), id(&b)];
    want.sort();
    assert_eq!(seen, want);

    // Delete: every one with its links, an audit row each.
    let deleted = bulk_delete(&app, &admin, json!({"ids": [id(&a), id(&b)]})).await;
    assert_eq!(deleted.status(), 200);
    assert_eq!(json_of(deleted).await["count"], 2);
    for gone in [&a, &b] {
        let path = format!("/activities/{}", id(gone));
        assert_eq!(app.get(&path, &admin).await.status(), 404);
    }
    assert_eq!(linked_to(&app, &admin, &account).await, [id(&untouched)]);
    let audit = json_of(
        app.get("/audit?resource=activities&action=delete", &admin)
            .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 2);
}

async fn a_sales_rep_cannot_touch_another_reps_activities_and_nothing_changes(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let other_rep = app.member(&admin, "sales").await;
    let my_account = create_account(&app, &rep, json!({"name": "Mine"})).await;
    let their_account = create_account(&app, &other_rep, json!({"name": "Theirs"})).await;
    let mine = call(&app, &rep, "Mine", &my_account).await;
    let theirs = call(&app, &other_rep, "Theirs", &their_account).await;

    let response = bulk_update(
        &app,
        &rep,
        json!({"ids": [id(&mine), id(&theirs)], "set": {"owner_id": rep.user_id}}),
    )
    .await;
    assert_problem(response, 404).await;
    assert_problem(
        bulk_delete(&app, &rep, json!({"ids": [id(&mine), id(&theirs)]})).await,
        404,
    )
    .await;
    for (a, owner) in [(&mine, &rep), (&theirs, &other_rep)] {
        let now = activity(&app, &admin, &id(a)).await;
        assert_eq!(
            now["owner_id"],
            owner.user_id.to_string(),
            "nothing changed"
        );
        assert_eq!(history(&app, &admin, &id(a)).await.len(), 1);
    }
    // Their own they may keep, but not hand to someone else.
    let response = bulk_update(
        &app,
        &rep,
        json!({"ids": [id(&mine)], "set": {"owner_id": rep.user_id}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = bulk_update(
        &app,
        &rep,
        json!({"ids": [id(&mine)], "set": {"owner_id": other_rep.user_id}}),
    )
    .await;
    assert_problem(response, 403).await;
    assert_eq!(
        activity(&app, &admin, &id(&mine)).await["owner_id"],
        rep.user_id.to_string()
    );
    // A read-only member may do neither.
    let reader = app.member(&admin, "read_only").await;
    assert_problem(
        bulk_update(
            &app,
            &reader,
            json!({"ids": [id(&mine)], "set": {"owner_id": reader.user_id}}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(
        bulk_delete(&app, &reader, json!({"ids": [id(&mine)]})).await,
        403,
    )
    .await;
    assert_eq!(linked_to(&app, &admin, &my_account).await, [id(&mine)]);
    assert_eq!(linked_to(&app, &admin, &their_account).await, [id(&theirs)]);
}

async fn another_companys_activity_is_not_found_and_nothing_changes(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let acme_account = create_account(&app, &acme, json!({"name": "Acme client"})).await;
    let globex_account = create_account(&app, &globex, json!({"name": "Globex client"})).await;
    let ours = call(&app, &acme, "Ours", &acme_account).await;
    let theirs = call(&app, &globex, "Theirs", &globex_account).await;
    let colleague = app.member(&acme, "sales").await;

    let response = bulk_update(
        &app,
        &acme,
        json!({"ids": [id(&ours), id(&theirs)], "set": {"owner_id": colleague.user_id}}),
    )
    .await;
    assert_problem(response, 404).await;
    assert_problem(
        bulk_delete(&app, &acme, json!({"ids": [id(&ours), id(&theirs)]})).await,
        404,
    )
    .await;
    assert_eq!(
        activity(&app, &acme, &id(&ours)).await["owner_id"],
        acme.user_id.to_string()
    );
    assert_eq!(
        activity(&app, &globex, &id(&theirs)).await["owner_id"],
        globex.user_id.to_string()
    );
    assert_eq!(history(&app, &acme, &id(&ours)).await.len(), 1);
    // Another company's member is not an owner here.
    let response = bulk_update(
        &app,
        &acme,
        json!({"ids": [id(&ours)], "set": {"owner_id": globex.user_id}}),
    )
    .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(fields_of(&problem), ["set.owner_id"]);
    assert_eq!(
        activity(&app, &acme, &id(&ours)).await["owner_id"],
        acme.user_id.to_string()
    );
}

async fn bad_input_is_refused_naming_the_field(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let a = call(&app, &admin, "Stays", &account).await;
    let unknown_user = "0190f000-0000-7000-8000-000000000000";
    let too_many: Vec<String> = (0..501).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let cases = [
        (
            json!({"ids": [id(&a)], "set": {"owner_id": unknown_user}}),
            vec!["set.owner_id"],
        ),
        (json!({"ids": [id(&a)], "set": {}}), vec!["set"]),
        (
            json!({"ids": [id(&a)], "set": {"owner_id": null}}),
            vec!["set"],
        ),
        (
            json!({"ids": [], "set": {"owner_id": admin.user_id}}),
            vec!["ids"],
        ),
        (
            json!({"ids": too_many, "set": {"owner_id": admin.user_id}}),
            vec!["ids"],
        ),
        (json!({"ids": [], "set": {}}), vec!["ids", "set"]),
        (
            json!({"ids": ["not-an-id"], "set": {"owner_id": admin.user_id}}),
            vec!["ids[0]"],
        ),
    ];
    for (body, fields) in cases {
        let problem = assert_problem(bulk_update(&app, &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    for body in [json!({"ids": []}), json!({"ids": too_many})] {
        let problem = assert_problem(bulk_delete(&app, &admin, body).await, 422).await;
        assert_eq!(fields_of(&problem), ["ids"]);
    }
    // Unknown fields are malformed requests.
    for (path, body) in [
        (
            "/activities/bulk-update",
            json!({"ids": [id(&a)], "set": {"subject": "Renamed"}}),
        ),
        (
            "/activities/bulk-update",
            json!({"ids": [id(&a)], "set": {"owner_id": admin.user_id}, "force": true}),
        ),
        (
            "/activities/bulk-delete",
            json!({"ids": [id(&a)], "cascade": true}),
        ),
    ] {
        assert_problem(app.post(path, &admin, body).await, 400).await;
    }
    let now = activity(&app, &admin, &id(&a)).await;
    assert_eq!(now["subject"], "Stays");
    assert_eq!(now["owner_id"], admin.user_id.to_string());
    assert_eq!(history(&app, &admin, &id(&a)).await.len(), 1);
}

both!(
    activities_change_owner_and_are_deleted_in_bulk_with_an_audit_row_each,
    a_sales_rep_cannot_touch_another_reps_activities_and_nothing_changes,
    another_companys_activity_is_not_found_and_nothing_changes,
    bad_input_is_refused_naming_the_field,
);
