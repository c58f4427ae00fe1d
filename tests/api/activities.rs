//! Activities: CRUD with audit, links to several records at once (listed under each record),
//! link checks, scopes, tenant isolation, bad input, and what deleting a linked record does —
//! on SQLite and PostgreSQL.

use chrono::Utc;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

use crate::accounts::{create_account, fields_of, id, ids_of};

pub async fn create_activity(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/activities", who, body).await;
    assert_eq!(
        response.status(),
        201,
        "create activity: {:?}",
        response.text().await
    );
    json_of(response).await
}

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

async fn list(app: &TestApp, who: &Session, query: &str) -> Value {
    let response = app.get(&format!("/activities?{query}"), who).await;
    assert_eq!(
        response.status(),
        200,
        "GET /activities?{query}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn linked_to(app: &TestApp, who: &Session, record_type: &str, record: &Value) -> Vec<String> {
    ids_of(
        &list(
            app,
            who,
            &format!("record_type={record_type}&record_id={}", id(record)),
        )
        .await,
    )
}

fn link(record_type: &str, record: &Value) -> Value {
    json!({"record_type": record_type, "record_id": id(record)})
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn an_activity_is_logged_changed_and_deleted_with_an_audit_row_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let contact = create(&app, &admin, "/contacts", json!({"last_name": "Doe"})).await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Lead"})).await;
    let activity = create_activity(
        &app,
        &admin,
        json!({"kind": "call", "direction": "outbound", "subject": "Intro call",
               "body": "Talked pricing", "duration_seconds": 300, "outcome": "interested",
               "links": [link("contact", &contact)]}),
    )
    .await;
    assert_eq!(activity["kind"], "call");
    assert_eq!(activity["direction"], "outbound");
    assert_eq!(activity["owner_id"], admin.user_id.to_string());
    assert_eq!(activity["duration_seconds"], 300);
    assert_eq!(activity["links"], json!([link("contact", &contact)]));
    let occurred = activity["occurred_at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    assert!(
        (Utc::now() - occurred).num_seconds().abs() < 60,
        "defaults to now"
    );
    let path = format!("/activities/{}", id(&activity));
    assert_eq!(json_of(app.get(&path, &admin).await).await, activity);

    // A patch without links keeps them; with links replaces them.
    let changed = json_of(
        app.patch(
            &path,
            &admin,
            json!({"outcome": null, "occurred_at": "2026-01-02T10:00:00Z"}),
        )
        .await,
    )
    .await;
    assert!(changed["outcome"].is_null());
    assert_eq!(changed["links"], activity["links"]);
    assert_eq!(changed["subject"], "Intro call");
    let relinked = app
        .patch(
            &path,
            &admin,
            json!({"links": [link("lead", &lead), link("contact", &contact)]}),
        )
        .await;
    assert_eq!(relinked.status(), 200);
    let relinked = json_of(relinked).await;
    assert_eq!(relinked["links"].as_array().unwrap().len(), 2);
    assert_eq!(
        linked_to(&app, &admin, "lead", &lead).await,
        [id(&activity)]
    );

    let history = json_of(app.get(&format!("{path}/history"), &admin).await).await;
    let actions: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "update", "create"]);
    assert!(history["data"][0]["changes"].get("links").is_some());
    assert_eq!(
        history["data"][1]["changes"]["outcome"]["before"],
        "interested"
    );

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert!(linked_to(&app, &admin, "lead", &lead).await.is_empty());
    let audit = json_of(
        app.get(
            &format!("/audit?resource=activities&resource_id={}", id(&activity)),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 4);
    assert_eq!(audit["data"][0]["action"], "delete");
}

async fn an_activity_linked_to_a_contact_its_account_and_a_deal_is_listed_under_each(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let account = create_account(&app, &admin, json!({"name": "Acme"})).await;
    let contact = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Doe", "account_id": id(&account)}),
    )
    .await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Big deal", "account_id": id(&account)}),
    )
    .await;
    let meeting = create_activity(
        &app,
        &admin,
        json!({"kind": "meeting", "subject": "Kick-off", "occurred_at": "2026-03-01T10:00:00Z",
               "links": [link("contact", &contact), link("account", &account), link("deal", &deal)]}),
    )
    .await;
    let note = create_activity(
        &app,
        &admin,
        json!({"kind": "note", "body": "Prefers email", "occurred_at": "2026-03-02T10:00:00Z",
               "links": [link("contact", &contact)]}),
    )
    .await;
    let email = create_activity(
        &app,
        &admin,
        json!({"kind": "email", "direction": "inbound", "subject": "Re: proposal",
               "occurred_at": "2026-03-03T10:00:00Z", "links": [link("deal", &deal)]}),
    )
    .await;
    assert_eq!(meeting["links"].as_array().unwrap().len(), 3);
    // Newest first under each record.
    assert_eq!(
        linked_to(&app, &admin, "contact", &contact).await,
        [id(&note), id(&meeting)]
    );
    assert_eq!(
        linked_to(&app, &admin, "account", &account).await,
        [id(&meeting)]
    );
    assert_eq!(
        linked_to(&app, &admin, "deal", &deal).await,
        [id(&email), id(&meeting)]
    );
    // A record id under another type finds nothing.
    assert!(linked_to(&app, &admin, "lead", &contact).await.is_empty());
    for (query, expected) in [
        ("", vec![id(&email), id(&note), id(&meeting)]),
        ("kind[in]=meeting,email", vec![id(&email), id(&meeting)]),
        ("direction[empty]=true", vec![id(&note), id(&meeting)]),
        (
            "occurred_at[gte]=2026-03-02T00:00:00Z",
            vec![id(&email), id(&note)],
        ),
        ("q=PREFERS", vec![id(&note)]),
        (
            "sort=occurred_at",
            vec![id(&meeting), id(&note), id(&email)],
        ),
        (
            &format!("kind=meeting&record_type=deal&record_id={}", id(&deal)) as &str,
            vec![id(&meeting)],
        ),
        (
            &format!("owner_id={}", admin.user_id),
            vec![id(&email), id(&note), id(&meeting)],
        ),
    ] {
        assert_eq!(
            ids_of(&list(&app, &admin, query).await),
            expected,
            "{query}"
        );
    }
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let query = match &cursor {
            Some(c) => format!("limit=1&cursor={c}"),
            None => "limit=1".to_owned(),
        };
        let page = list(&app, &admin, &query).await;
        walked.extend(ids_of(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(walked, [id(&email), id(&note), id(&meeting)]);
}

async fn links_must_name_records_of_the_company(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let contact = create(&app, &admin, "/contacts", json!({"last_name": "Ours"})).await;
    let theirs = create(&app, &globex, "/contacts", json!({"last_name": "Theirs"})).await;
    let unknown = json!({"id": "0190f000-0000-7000-8000-000000000000"});
    for (links, fields) in [
        (json!([link("lead", &unknown)]), vec!["links[0].record_id"]),
        (
            json!([link("contact", &contact), link("contact", &theirs)]),
            vec!["links[1].record_id"],
        ),
        (
            json!([link("account", &contact)]),
            vec!["links[0].record_id"],
        ),
        (json!([link("deal", &unknown)]), vec!["links[0].record_id"]),
        (
            json!([link("invoice", &contact)]),
            vec!["links[0].record_type"],
        ),
        (json!([]), vec!["links"]),
    ] {
        let body = json!({"kind": "note", "links": links});
        let problem =
            assert_problem(app.post("/activities", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    let many: Vec<Value> = (0..21).map(|_| link("contact", &contact)).collect();
    let problem = assert_problem(
        app.post(
            "/activities",
            &admin,
            json!({"kind": "note", "links": many}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["links"]);
    let problem = assert_problem(
        app.post("/activities", &admin, json!({"kind": "note"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["links"]);
    // A patch that links to another company's record is refused, and changes nothing.
    let activity = create_activity(
        &app,
        &admin,
        json!({"kind": "note", "links": [link("contact", &contact)]}),
    )
    .await;
    let path = format!("/activities/{}", id(&activity));
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"links": [link("contact", &theirs)]}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["links[0].record_id"]);
    assert_eq!(json_of(app.get(&path, &admin).await).await, activity);
    // Their contact's activities are not ours to list.
    create_activity(
        &app,
        &globex,
        json!({"kind": "note", "links": [link("contact", &theirs)]}),
    )
    .await;
    assert!(linked_to(&app, &admin, "contact", &theirs).await.is_empty());
}

async fn scopes_and_tenancy_decide_which_activities_a_caller_sees(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep_a = app.member(&admin, "sales").await;
    let rep_b = app.member(&admin, "sales").await;
    // Rep A's contact; the admin logs a call on it for rep B (a rep links only what they see).
    let contact = create(&app, &rep_a, "/contacts", json!({"last_name": "Shared"})).await;
    let a = create_activity(
        &app,
        &rep_a,
        json!({"kind": "call", "links": [link("contact", &contact)]}),
    )
    .await;
    let b = create_activity(
        &app,
        &admin,
        json!({"kind": "call", "owner_id": rep_b.user_id, "links": [link("contact", &contact)]}),
    )
    .await;
    assert_eq!(a["owner_id"], rep_a.user_id.to_string());
    assert_eq!(ids_of(&list(&app, &rep_a, "").await), [id(&a)]);
    assert_eq!(linked_to(&app, &rep_a, "contact", &contact).await, [id(&a)]);
    assert_eq!(
        sorted(linked_to(&app, &admin, "contact", &contact).await),
        sorted(vec![id(&a), id(&b)])
    );
    let b_path = format!("/activities/{}", id(&b));
    assert_problem(app.get(&b_path, &rep_a).await, 404).await;
    assert_problem(
        app.patch(&b_path, &rep_a, json!({"subject": "x"})).await,
        404,
    )
    .await;
    assert_problem(app.delete(&b_path, &rep_a).await, 404).await;
    assert_problem(app.get(&format!("{b_path}/history"), &rep_a).await, 404).await;
    assert_problem(
        app.post(
            "/activities",
            &rep_a,
            json!({"kind": "note", "owner_id": rep_b.user_id,
                   "links": [link("contact", &contact)]}),
        )
        .await,
        403,
    )
    .await;

    let globex = app.other_company("Globex").await;
    let their_contact = create(&app, &globex, "/contacts", json!({"last_name": "T"})).await;
    let theirs = create_activity(
        &app,
        &globex,
        json!({"kind": "note", "subject": "Secret", "links": [link("contact", &their_contact)]}),
    )
    .await;
    let path = format!("/activities/{}", id(&theirs));
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert_problem(app.patch(&path, &admin, json!({"subject": "x"})).await, 404).await;
    assert_problem(app.delete(&path, &admin).await, 404).await;
    assert_problem(app.get(&format!("{path}/history"), &admin).await, 404).await;
    assert!(ids_of(&list(&app, &admin, "q=secret").await).is_empty());
    assert_eq!(
        json_of(app.get(&path, &globex).await).await["subject"],
        "Secret"
    );
}

async fn bad_input_is_refused_naming_the_problem(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let contact = create(&app, &admin, "/contacts", json!({"last_name": "Doe"})).await;
    let activity = create_activity(
        &app,
        &admin,
        json!({"kind": "sms", "links": [link("contact", &contact)]}),
    )
    .await;
    let path = format!("/activities/{}", id(&activity));
    for (query, needle) in [
        (
            "sort=colour",
            "allowed sort fields: kind, direction, owner_id, occurred_at",
        ),
        ("colour=red", "kind[in]"),
        ("kind=fax", "must be one of"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("cursor=garbage", "cursor"),
        ("record_type=contact", "together"),
        (
            &format!("record_type=invoice&record_id={}", id(&contact)) as &str,
            "record_type",
        ),
        ("record_type=contact&record_id=nope", "record_id"),
    ] {
        let problem =
            assert_problem(app.get(&format!("/activities?{query}"), &admin).await, 400).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
    let links = json!([link("contact", &contact)]);
    for (body, fields) in [
        (json!({"links": links}), vec!["kind"]),
        (json!({"kind": "fax", "links": links}), vec!["kind"]),
        (
            json!({"kind": "call", "direction": "sideways", "links": links}),
            vec!["direction"],
        ),
        (
            json!({"kind": "call", "occurred_at": "yesterday", "links": links}),
            vec!["occurred_at"],
        ),
        (
            json!({"kind": "call", "duration_seconds": -1, "links": links}),
            vec!["duration_seconds"],
        ),
        (
            json!({"kind": "call", "owner_id": "0190f000-0000-7000-8000-000000000000",
                   "links": links}),
            vec!["owner_id"],
        ),
    ] {
        let problem =
            assert_problem(app.post("/activities", &admin, body.clone()).await, 422).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    assert_problem(
        app.post(
            "/activities",
            &admin,
            json!({"kind": "call", "links": links, "colour": "red"}),
        )
        .await,
        400,
    )
    .await;
    for body in [
        json!({"kind": null}),
        json!({"links": null}),
        json!({"owner_id": null}),
        json!({"links": []}),
        json!({"kind": "telegram"}),
    ] {
        assert_problem(app.patch(&path, &admin, body).await, 422).await;
    }
    assert_problem(app.get("/activities/not-an-id", &admin).await, 404).await;
    assert_eq!(json_of(app.get(&path, &admin).await).await, activity);
}

async fn deleting_a_linked_record_removes_its_links(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = create(&app, &admin, "/leads", json!({"last_name": "Gone"})).await;
    let contact = create(&app, &admin, "/contacts", json!({"last_name": "Stays"})).await;
    let deal = create(&app, &admin, "/deals", json!({"name": "Also gone"})).await;
    let activity = create_activity(
        &app,
        &admin,
        json!({"kind": "call",
               "links": [link("lead", &lead), link("contact", &contact), link("deal", &deal)]}),
    )
    .await;
    assert_eq!(activity["links"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.delete(&format!("/leads/{}", id(&lead)), &admin)
            .await
            .status(),
        204
    );
    let path = format!("/activities/{}", id(&activity));
    let read = json_of(app.get(&path, &admin).await).await;
    assert_eq!(read["links"].as_array().unwrap().len(), 2, "{read}");
    assert!(linked_to(&app, &admin, "lead", &lead).await.is_empty());
    assert_eq!(
        linked_to(&app, &admin, "contact", &contact).await,
        [id(&activity)]
    );
    assert_eq!(
        app.delete(&format!("/deals/{}", id(&deal)), &admin)
            .await
            .status(),
        204
    );
    let read = json_of(app.get(&path, &admin).await).await;
    assert_eq!(read["links"], json!([link("contact", &contact)]));
    assert!(linked_to(&app, &admin, "deal", &deal).await.is_empty());
}

async fn a_rep_cannot_attach_notes_or_tasks_to_records_they_cannot_see(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let theirs = create(&app, &admin, "/leads", json!({"last_name": "Admin's"})).await;
    let mine = create(&app, &rep, "/leads", json!({"last_name": "Rep's"})).await;
    let response = app
        .post(
            "/activities",
            &rep,
            json!({"kind": "note", "body": "x", "links": [link("lead", &theirs)]}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(fields_of(&problem), ["links[0].record_id"]);
    let response = app
        .post(
            "/tasks",
            &rep,
            json!({"subject": "x", "related_type": "lead", "related_id": id(&theirs)}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(fields_of(&problem), ["related_id"]);
    // Their own lead is fine, and nothing was written for the refused ones.
    create_activity(
        &app,
        &rep,
        json!({"kind": "note", "body": "ok", "links": [link("lead", &mine)]}),
    )
    .await;
    let all = json_of(app.get("/activities", &admin).await).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
}

both!(
    an_activity_is_logged_changed_and_deleted_with_an_audit_row_each,
    an_activity_linked_to_a_contact_its_account_and_a_deal_is_listed_under_each,
    links_must_name_records_of_the_company,
    scopes_and_tenancy_decide_which_activities_a_caller_sees,
    bad_input_is_refused_naming_the_problem,
    deleting_a_linked_record_removes_its_links,
    a_rep_cannot_attach_notes_or_tasks_to_records_they_cannot_see,
);
