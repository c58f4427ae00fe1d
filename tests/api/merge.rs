//! Merging duplicates (issue 13 §2): `POST /{leads|contacts|accounts}/merge` — the survivor
//! takes the chosen values (custom fields included); activities, tasks, deals, contact roles,
//! an account's contacts and children move to it; the losers are removed; audit rows and
//! events trace it; bad input, another company's records and records outside the caller's
//! scope change nothing — on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, fields_of, json_of, spawn_app};

pub async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> String {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path}: {:?}",
        response.text().await
    );
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

async fn read(app: &TestApp, who: &Session, path: &str) -> Value {
    let response = app.get(path, who).await;
    assert_eq!(response.status(), 200, "GET {path}");
    json_of(response).await
}

async fn merge(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(
        response.status(),
        200,
        "POST {path}: {:?}",
        response.text().await
    );
    json_of(response).await
}

fn link(record_type: &str, id: &str) -> Value {
    json!({"record_type": record_type, "record_id": id})
}

/// `(record_type, record_id)` of an activity's links, sorted.
async fn links_of(app: &TestApp, who: &Session, activity: &str) -> Vec<(String, String)> {
    let activity = read(app, who, &format!("/activities/{activity}")).await;
    let mut links: Vec<(String, String)> = activity["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["record_type"].as_str().unwrap().to_owned(),
                l["record_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    links.sort();
    links
}

/// The event types written about one record, oldest first.
async fn event_types(app: &TestApp, who: &Session, record: &str) -> Vec<String> {
    let page = read(app, who, &format!("/events?limit=500&record_id={record}")).await;
    let mut types: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    types.reverse();
    types
}

async fn audit_of(app: &TestApp, who: &Session, resource: &str, id: &str) -> Vec<Value> {
    let page = read(
        app,
        who,
        &format!("/audit?resource={resource}&resource_id={id}"),
    )
    .await;
    page["data"].as_array().unwrap().clone()
}

async fn merging_leads_moves_activities_and_tasks_and_removes_the_losers(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    create(
        &app,
        &admin,
        "/custom-fields",
        json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "text"}),
    )
    .await;
    let ann = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.test",
               "custom_fields": {"tier": "silver"}}),
    )
    .await;
    let annie = create(
        &app,
        &admin,
        "/leads",
        json!({"first_name": "Annie", "last_name": "Lee", "phone": "+44 20 7946 0958",
               "title": "CTO", "custom_fields": {"tier": "gold"}}),
    )
    .await;
    let third = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "Lee", "email": "ann.lee@acme.test"}),
    )
    .await;
    let call = create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "call", "subject": "Intro", "links": [link("lead", &annie)]}),
    )
    .await;
    let both_linked = create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "note", "body": "x",
               "links": [link("lead", &ann), link("lead", &third)]}),
    )
    .await;
    let task = create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Call back", "related_type": "lead", "related_id": annie}),
    )
    .await;
    let other_task = create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Mail", "related_type": "lead", "related_id": third}),
    )
    .await;

    let merged = merge(
        &app,
        &admin,
        "/leads/merge",
        json!({"survivor_id": ann, "loser_ids": [annie, third],
               "fields": {"phone": annie, "title": annie, "first_name": ann,
                          "custom_fields.tier": annie}}),
    )
    .await;
    assert_eq!(merged["id"], ann.as_str());
    assert_eq!(merged["first_name"], "Ann");
    assert_eq!(merged["email"], "ann@acme.test");
    assert_eq!(merged["phone"], "+44 20 7946 0958");
    assert_eq!(merged["title"], "CTO");
    assert_eq!(merged["custom_fields"]["tier"], "gold");
    assert_eq!(read(&app, &admin, &format!("/leads/{ann}")).await, merged);

    for gone in [&annie, &third] {
        assert_problem(app.get(&format!("/leads/{gone}"), &admin).await, 404).await;
    }
    assert_eq!(
        links_of(&app, &admin, &call).await,
        [("lead".to_owned(), ann.clone())]
    );
    assert_eq!(
        links_of(&app, &admin, &both_linked).await,
        [("lead".to_owned(), ann.clone())],
        "an activity linked to the survivor and a loser keeps one link"
    );
    for task in [&task, &other_task] {
        let task = read(&app, &admin, &format!("/tasks/{task}")).await;
        assert_eq!(task["related_type"], "lead");
        assert_eq!(task["related_id"], ann.as_str());
    }
    let listed = read(
        &app,
        &admin,
        &format!("/activities?record_type=lead&record_id={ann}"),
    )
    .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    let timeline = read(&app, &admin, &format!("/leads/{ann}/timeline")).await;
    let kinds: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "activity").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "task").count(), 2);

    // The trail: each loser's delete names the survivor, the survivor's rows list the fields
    // and what moved, and the events say it all.
    for gone in [&annie, &third] {
        let rows = audit_of(&app, &admin, "leads", gone).await;
        let delete = rows.iter().find(|r| r["action"] == "delete").unwrap();
        assert_eq!(delete["changes"]["merged_into"]["after"], ann.as_str());
        assert_eq!(
            event_types(&app, &admin, gone).await.last().unwrap(),
            "lead.deleted"
        );
    }
    let rows = audit_of(&app, &admin, "leads", &ann).await;
    let update = rows.iter().find(|r| r["action"] == "update").unwrap();
    let changed: Vec<&String> = update["changes"].as_object().unwrap().keys().collect();
    assert!(changed.contains(&&"phone".to_owned()), "{changed:?}");
    assert!(changed.contains(&&"title".to_owned()), "{changed:?}");
    assert!(!changed.contains(&&"email".to_owned()), "{changed:?}");
    let trail = rows.iter().find(|r| r["action"] == "merge").unwrap();
    assert_eq!(trail["changes"]["merged"]["after"], json!([annie, third]));
    assert_eq!(trail["changes"]["moved"]["after"]["activities"], 2);
    assert_eq!(trail["changes"]["moved"]["after"]["tasks"], 2);
    let types = event_types(&app, &admin, &ann).await;
    assert_eq!(
        types[types.len() - 2..],
        ["lead.updated".to_owned(), "lead.merged".to_owned()]
    );
    let merged_event = read(&app, &admin, "/events?limit=500&type=lead.merged").await;
    let event = &merged_event["data"][0];
    assert_eq!(event["data"]["survivor"], ann.as_str());
    assert_eq!(event["data"]["losers"], json!([annie, third]));
}

async fn merging_contacts_moves_deals_and_roles(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let jane = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.test"}),
    )
    .await;
    let janet = create(
        &app,
        &admin,
        "/contacts",
        json!({"first_name": "Janet", "last_name": "Doe", "email": "janet@acme.test",
               "title": "VP"}),
    )
    .await;
    let primary = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Primary", "contact_id": janet}),
    )
    .await;
    let roles = create(&app, &admin, "/deals", json!({"name": "Roles"})).await;
    let shared = create(&app, &admin, "/deals", json!({"name": "Shared"})).await;
    let role = |deal: &str, contact: &str| format!("/deals/{deal}/contacts/{contact}");
    for (deal, contact, name) in [
        (&roles, &janet, "champion"),
        (&shared, &jane, "user"),
        (&shared, &janet, "economic_buyer"),
    ] {
        let put = app
            .put(&role(deal, contact), &admin, json!({"role": name}))
            .await;
        assert_eq!(put.status(), 200);
    }
    let task = create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "Call", "related_type": "contact", "related_id": janet}),
    )
    .await;

    let merged = merge(
        &app,
        &admin,
        "/contacts/merge",
        json!({"survivor_id": jane, "loser_ids": [janet],
               "fields": {"email": janet, "title": janet}}),
    )
    .await;
    assert_eq!(
        merged["email"], "janet@acme.test",
        "a loser's unique e-mail"
    );
    assert_eq!(merged["title"], "VP");
    assert_problem(app.get(&format!("/contacts/{janet}"), &admin).await, 404).await;
    let deal = read(&app, &admin, &format!("/deals/{primary}")).await;
    assert_eq!(deal["contact_id"], jane.as_str());
    let listed = read(&app, &admin, &format!("/deals/{roles}/contacts")).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["contact_id"], jane.as_str());
    assert_eq!(listed["data"][0]["role"], "champion");
    let listed = read(&app, &admin, &format!("/deals/{shared}/contacts")).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["data"][0]["role"], "user",
        "the survivor's role stays"
    );
    let task = read(&app, &admin, &format!("/tasks/{task}")).await;
    assert_eq!(task["related_id"], jane.as_str());
    let types = event_types(&app, &admin, &primary).await;
    assert_eq!(types.last().unwrap(), "deal.updated");
    assert_eq!(
        event_types(&app, &admin, &jane).await.last().unwrap(),
        "contact.merged"
    );
}

async fn merging_accounts_moves_deals_contacts_and_children(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let acme = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme", "domain": "acme.test"}),
    )
    .await;
    let acme_inc = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme Inc", "industry": "Software", "parent_id": null}),
    )
    .await;
    let child = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Acme Labs", "parent_id": acme_inc}),
    )
    .await;
    let ours = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Ours", "account_id": acme, "is_primary": true}),
    )
    .await;
    let theirs = create(
        &app,
        &admin,
        "/contacts",
        json!({"last_name": "Theirs", "account_id": acme_inc, "is_primary": true}),
    )
    .await;
    let deal = create(
        &app,
        &admin,
        "/deals",
        json!({"name": "Big", "account_id": acme_inc}),
    )
    .await;

    let merged = merge(
        &app,
        &admin,
        "/accounts/merge",
        json!({"survivor_id": acme, "loser_ids": [acme_inc],
               "fields": {"industry": acme_inc}}),
    )
    .await;
    assert_eq!(merged["name"], "Acme");
    assert_eq!(merged["industry"], "Software");
    assert_problem(app.get(&format!("/accounts/{acme_inc}"), &admin).await, 404).await;
    let deal = read(&app, &admin, &format!("/deals/{deal}")).await;
    assert_eq!(deal["account_id"], acme.as_str());
    let theirs = read(&app, &admin, &format!("/contacts/{theirs}")).await;
    assert_eq!(theirs["account_id"], acme.as_str());
    assert_eq!(
        theirs["is_primary"], false,
        "the survivor keeps its primary"
    );
    let ours = read(&app, &admin, &format!("/contacts/{ours}")).await;
    assert_eq!(ours["is_primary"], true);
    let child = read(&app, &admin, &format!("/accounts/{child}")).await;
    assert_eq!(child["parent_id"], acme.as_str());
}

/// A merge that is refused changes nothing: both leads, their activity and task stay.
async fn bad_merges_are_refused_and_change_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let a = create(&app, &admin, "/leads", json!({"last_name": "A"})).await;
    let b = create(
        &app,
        &admin,
        "/leads",
        json!({"last_name": "B", "email": "b@acme.test"}),
    )
    .await;
    let note = create(
        &app,
        &admin,
        "/activities",
        json!({"kind": "note", "body": "x", "links": [link("lead", &b)]}),
    )
    .await;
    let task = create(
        &app,
        &admin,
        "/tasks",
        json!({"subject": "x", "related_type": "lead", "related_id": b}),
    )
    .await;
    let foreign = create(&app, &globex, "/leads", json!({"last_name": "F"})).await;
    let unknown = "0190a0b0-0000-7000-8000-000000000000";
    let twenty_one: Vec<String> = (0..21)
        .map(|n| format!("0190a0b0-0000-7000-8000-0000000000{n:02}"))
        .collect();

    let cases: Vec<(Value, u16, Vec<&str>)> = vec![
        (
            json!({"survivor_id": a, "loser_ids": [a, b]}),
            422,
            vec!["loser_ids"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": []}),
            422,
            vec!["loser_ids"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": twenty_one}),
            422,
            vec!["loser_ids"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [b, b]}),
            422,
            vec!["loser_ids"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [b], "fields": {"nope": b}}),
            422,
            vec!["fields.nope"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [b], "fields": {"id": b}}),
            422,
            vec!["fields.id"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [b],
                   "fields": {"custom_fields.undefined": b}}),
            422,
            vec!["fields.custom_fields.undefined"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [b], "fields": {"email": unknown}}),
            422,
            vec!["fields.email"],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [unknown]}),
            404,
            vec![],
        ),
        (
            json!({"survivor_id": unknown, "loser_ids": [b]}),
            404,
            vec![],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [b, foreign]}),
            404,
            vec![],
        ),
        (
            json!({"survivor_id": foreign, "loser_ids": [b]}),
            404,
            vec![],
        ),
        (
            json!({"survivor_id": a, "loser_ids": [b], "surprise": 1}),
            400,
            vec![],
        ),
        (
            json!({"survivor_id": "not-an-id", "loser_ids": [b]}),
            422,
            vec!["survivor_id"],
        ),
        (json!({"loser_ids": [b]}), 422, vec!["survivor_id"]),
    ];
    for (body, status, fields) in cases {
        let response = app.post("/leads/merge", &admin, body.clone()).await;
        let problem = assert_problem(response, status).await;
        assert_eq!(fields_of(&problem), fields, "{body}");
    }
    // A loser of another type's path is not found either.
    let contact = create(&app, &admin, "/contacts", json!({"last_name": "C"})).await;
    let response = app
        .post(
            "/leads/merge",
            &admin,
            json!({"survivor_id": a, "loser_ids": [contact]}),
        )
        .await;
    assert_problem(response, 404).await;

    for lead in [&a, &b] {
        read(&app, &admin, &format!("/leads/{lead}")).await;
    }
    read(&app, &globex, &format!("/leads/{foreign}")).await;
    assert_eq!(
        links_of(&app, &admin, &note).await,
        [("lead".to_owned(), b.clone())]
    );
    let task = read(&app, &admin, &format!("/tasks/{task}")).await;
    assert_eq!(task["related_id"], b.as_str());
    let trail = read(&app, &admin, "/audit?action=merge").await;
    assert!(trail["data"].as_array().unwrap().is_empty());
    assert!(
        event_types(&app, &admin, &a).await.len() == 1,
        "only created"
    );
}

/// Update on the survivor and delete on the losers, each in the caller's scope.
async fn merging_needs_update_and_delete_in_scope(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let updater = app
        .member_with_grants(
            &admin,
            "lead_updaters",
            json!([{"resource": "leads", "action": "read", "scope": "all"},
                   {"resource": "leads", "action": "update", "scope": "all"}]),
        )
        .await;
    let reader = app
        .member_with_grants(
            &admin,
            "lead_readers",
            json!([{"resource": "leads", "action": "read", "scope": "all"}]),
        )
        .await;
    let own = app
        .member_with_grants(
            &admin,
            "own_leads",
            json!([{"resource": "leads", "action": "read", "scope": "own"},
                   {"resource": "leads", "action": "create", "scope": "own"},
                   {"resource": "leads", "action": "update", "scope": "own"},
                   {"resource": "leads", "action": "delete", "scope": "own"}]),
        )
        .await;
    let a = create(&app, &admin, "/leads", json!({"last_name": "A"})).await;
    let b = create(&app, &admin, "/leads", json!({"last_name": "B"})).await;
    let body = json!({"survivor_id": a, "loser_ids": [b]});
    assert_problem(app.post("/leads/merge", &reader, body.clone()).await, 403).await;
    assert_problem(app.post("/leads/merge", &updater, body.clone()).await, 403).await;
    // Their own lead, and one that is not theirs: not found, nothing changed.
    let mine = create(&app, &own, "/leads", json!({"last_name": "Mine"})).await;
    let response = app
        .post(
            "/leads/merge",
            &own,
            json!({"survivor_id": mine, "loser_ids": [b]}),
        )
        .await;
    assert_problem(response, 404).await;
    let response = app
        .post(
            "/leads/merge",
            &own,
            json!({"survivor_id": a, "loser_ids": [mine]}),
        )
        .await;
    assert_problem(response, 404).await;
    for lead in [&a, &b, &mine] {
        read(&app, &admin, &format!("/leads/{lead}")).await;
    }
    let mine_too = create(&app, &own, "/leads", json!({"last_name": "Mine too"})).await;
    merge(
        &app,
        &own,
        "/leads/merge",
        json!({"survivor_id": mine, "loser_ids": [mine_too]}),
    )
    .await;
    assert_problem(app.get(&format!("/leads/{mine_too}"), &admin).await, 404).await;
}

both!(
    merging_leads_moves_activities_and_tasks_and_removes_the_losers,
    merging_contacts_moves_deals_and_roles,
    merging_accounts_moves_deals_contacts_and_children,
    bad_merges_are_refused_and_change_nothing,
    merging_needs_update_and_delete_in_scope,
);
