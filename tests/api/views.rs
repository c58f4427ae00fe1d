//! Saved views: a member's named list queries, private to that member (another member's view is
//! a 404 like another company's), checked by the list's own parser, one default per member and
//! list, audited, on SQLite and PostgreSQL.

use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};

use crate::accounts::{fields_of, id};

async fn save(app: &TestApp, who: &Session, body: Value) -> Value {
    let response = app.post("/views", who, body.clone()).await;
    assert_eq!(
        response.status(),
        201,
        "save {body}: {:?}",
        response.text().await
    );
    json_of(response).await
}

async fn names(app: &TestApp, who: &Session, resource: &str) -> Vec<String> {
    let response = app.get(&format!("/views?resource={resource}"), who).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    json_of(response).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn defaults(app: &TestApp, who: &Session, resource: &str) -> Vec<String> {
    let page = json_of(app.get(&format!("/views?resource={resource}"), who).await).await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["is_default"] == true)
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_member_saves_lists_changes_and_deletes_views(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let view = save(
        &app,
        &admin,
        json!({"resource": "leads", "name": " New leads ", "query": "?status=new&sort=-created_at"}),
    )
    .await;
    assert_eq!(view["resource"], "leads");
    assert_eq!(view["name"], "New leads");
    assert_eq!(view["query"], "status=new&sort=-created_at");
    assert_eq!(view["is_default"], false);
    save(
        &app,
        &admin,
        json!({"resource": "leads", "name": "Everything"}),
    )
    .await;
    save(
        &app,
        &admin,
        json!({"resource": "contacts", "name": "Mine", "query": format!("owner_id={}", admin.user_id)}),
    )
    .await;
    assert_eq!(
        names(&app, &admin, "leads").await,
        ["Everything", "New leads"]
    );
    assert_eq!(names(&app, &admin, "contacts").await, ["Mine"]);
    let all = json_of(app.get("/views", &admin).await).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);

    let path = format!("/views/{}", id(&view));
    let shown = json_of(app.get(&path, &admin).await).await;
    assert_eq!(shown, view);

    let changed = app
        .patch(
            &path,
            &admin,
            json!({"name": "Qualified", "query": "status=qualified", "is_default": true}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed = json_of(changed).await;
    assert_eq!(changed["name"], "Qualified");
    assert_eq!(changed["query"], "status=qualified");
    assert_eq!(changed["is_default"], true);
    assert_eq!(changed["resource"], "leads");

    // The other list kinds check their queries with their own parsers too.
    save(
        &app,
        &admin,
        json!({"resource": "deals", "name": "Big", "query": "amount[gte]=1000.50&close_date[lte]=2026-12-31&sort=-amount"}),
    )
    .await;
    save(
        &app,
        &admin,
        json!({"resource": "tasks", "name": "Today", "query": "mine=true&due=today&sort=due_at"}),
    )
    .await;
    save(
        &app,
        &admin,
        json!({"resource": "accounts", "name": "Software", "query": "industry=Software&limit=20"}),
    )
    .await;

    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert_problem(app.delete(&path, &admin).await, 404).await;
    assert_eq!(names(&app, &admin, "leads").await, ["Everything"]);

    // Every change left an audit row, the delete with what the view was.
    let trail = json_of(
        app.get(
            &format!("/audit?resource=saved_views&resource_id={}", id(&view)),
            &admin,
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"]);
    let deleted = &trail["data"][0];
    assert_eq!(deleted["changes"]["name"]["before"], "Qualified");
    assert_eq!(deleted["changes"]["name"]["after"], Value::Null);
}

async fn views_are_private_to_the_member_who_saved_them(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let colleague = app.member(&admin, "sales").await;
    let stranger = app.other_company("Globex").await;
    let mine = save(
        &app,
        &admin,
        json!({"resource": "leads", "name": "Hot", "query": "status=qualified"}),
    )
    .await;
    let path = format!("/views/{}", id(&mine));

    // The colleague (same company) and the stranger (another company) get the same answer.
    for who in [&colleague, &stranger] {
        assert_problem(app.get(&path, who).await, 404).await;
        assert_problem(app.patch(&path, who, json!({"name": "Taken"})).await, 404).await;
        assert_problem(app.delete(&path, who).await, 404).await;
        assert!(names(&app, who, "leads").await.is_empty());
        let all = json_of(app.get("/views", who).await).await;
        assert_eq!(all["data"], json!([]));
    }
    // The colleague may use the same name for their own view.
    let theirs = save(
        &app,
        &colleague,
        json!({"resource": "leads", "name": "Hot", "query": "status=new", "is_default": true}),
    )
    .await;
    assert_problem(
        app.get(&format!("/views/{}", id(&theirs)), &admin).await,
        404,
    )
    .await;
    // Nothing of mine changed.
    let shown = json_of(app.get(&path, &admin).await).await;
    assert_eq!(shown, mine);
    assert_eq!(names(&app, &admin, "leads").await, ["Hot"]);
    assert!(defaults(&app, &admin, "leads").await.is_empty());
}

async fn bad_views_are_refused_with_the_field_named(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    save(
        &app,
        &admin,
        json!({"resource": "leads", "name": "Taken", "query": "status=new"}),
    )
    .await;
    let long = "x".repeat(81);
    // (body, status, field, a word the message must contain)
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"resource": "widgets", "name": "A"}),
            422,
            "resource",
            "leads",
        ),
        (
            json!({"resource": "users", "name": "A"}),
            422,
            "resource",
            "tasks",
        ),
        (
            json!({"resource": "leads", "name": "  "}),
            422,
            "name",
            "empty",
        ),
        (
            json!({"resource": "leads", "name": long}),
            422,
            "name",
            "long",
        ),
        (
            json!({"resource": "leads", "name": "A", "query": "colour=red"}),
            422,
            "query",
            "colour",
        ),
        (
            json!({"resource": "leads", "name": "A", "query": "sort=-colour"}),
            422,
            "query",
            "colour",
        ),
        (
            json!({"resource": "leads", "name": "A", "query": "status=nope"}),
            422,
            "query",
            "status",
        ),
        (
            json!({"resource": "accounts", "name": "A", "query": "status=new"}),
            422,
            "query",
            "status",
        ),
        (
            json!({"resource": "leads", "name": "A", "query": "cf.missing=1"}),
            422,
            "query",
            "cf.missing",
        ),
        (
            json!({"resource": "tasks", "name": "A", "query": "due=tomorrow"}),
            422,
            "query",
            "due",
        ),
        (
            json!({"resource": "deals", "name": "A", "query": "amount[gte]=lots"}),
            422,
            "query",
            "amount",
        ),
        (
            json!({"resource": "leads", "name": "A", "query": "limit=100000"}),
            422,
            "query",
            "limit",
        ),
        (
            json!({"resource": "leads", "name": "A", "query": "cursor=abc"}),
            422,
            "query",
            "cursor",
        ),
        (
            json!({"resource": "leads", "name": "A", "query": format!("q={}", "x".repeat(2100))}),
            422,
            "query",
            "long",
        ),
        (
            json!({"resource": "leads", "name": "Taken"}),
            409,
            "name",
            "taken",
        ),
    ];
    for (body, status, field, word) in cases {
        let problem = assert_problem(app.post("/views", &admin, body.clone()).await, status).await;
        assert_eq!(fields_of(&problem), [field], "{body}: {problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(word),
            "{body}: {problem}"
        );
    }
    // Unknown fields and malformed JSON are malformed requests.
    let unknown = app
        .post(
            "/views",
            &admin,
            json!({"resource": "leads", "name": "A", "colour": "red"}),
        )
        .await;
    assert_problem(unknown, 400).await;
    let malformed = app
        .api(reqwest::Method::POST, "/views", Some(&admin))
        .header("content-type", "application/json")
        .body("{\"resource\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400).await;
    // The list's parameters.
    assert_problem(app.get("/views?resource=widgets", &admin).await, 400).await;
    assert_problem(app.get("/views?colour=red", &admin).await, 400).await;

    // A change is checked the same way; the resource cannot be changed.
    let view = save(&app, &admin, json!({"resource": "leads", "name": "Other"})).await;
    let path = format!("/views/{}", id(&view));
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"query": "sort=colour"}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["query"]);
    let problem = assert_problem(
        app.patch(&path, &admin, json!({"name": "Taken"})).await,
        409,
    )
    .await;
    assert_eq!(fields_of(&problem), ["name"]);
    let problem = assert_problem(app.patch(&path, &admin, json!({"name": ""})).await, 422).await;
    assert_eq!(fields_of(&problem), ["name"]);
    assert_problem(
        app.patch(&path, &admin, json!({"resource": "contacts"}))
            .await,
        400,
    )
    .await;
    assert_problem(app.get("/views/not-an-id", &admin).await, 404).await;
    // Nothing changed and nothing half-saved.
    assert_eq!(json_of(app.get(&path, &admin).await).await, view);
    assert_eq!(names(&app, &admin, "leads").await, ["Other", "Taken"]);
    assert!(names(&app, &admin, "accounts").await.is_empty());
}

async fn a_query_may_use_the_lists_custom_fields(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let defined = app
        .post(
            "/custom-fields",
            &admin,
            json!({"record_type": "lead", "key": "tier", "label": "Tier", "kind": "select", "options": ["gold", "silver"]}),
        )
        .await;
    assert_eq!(defined.status(), 201);
    save(
        &app,
        &admin,
        json!({"resource": "leads", "name": "Gold", "query": "cf.tier=gold&sort=cf.tier"}),
    )
    .await;
    // A lead field is not an account field.
    let problem = assert_problem(
        app.post(
            "/views",
            &admin,
            json!({"resource": "accounts", "name": "Gold", "query": "cf.tier=gold"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields_of(&problem), ["query"]);
}

async fn a_member_who_cannot_read_a_list_cannot_keep_views_of_it(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = app
        .post(
            "/roles",
            &admin,
            json!({"name": "Lead desk", "permissions": [
                {"resource": "leads", "action": "read", "scope": "all"}
            ]}),
        )
        .await;
    assert_eq!(role.status(), 201);
    let role = json_of(role).await;
    let email = "lead-desk@acme.test";
    let created = app
        .post(
            "/users",
            &admin,
            json!({"email": email, "name": "Desk", "role_id": role["id"], "password": rivet_tests::PASSWORD}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let desk = app.login(email, rivet_tests::PASSWORD).await;

    assert_problem(
        app.post(
            "/views",
            &desk,
            json!({"resource": "contacts", "name": "Mine"}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(app.get("/views?resource=contacts", &desk).await, 403).await;
    let leads = save(&app, &desk, json!({"resource": "leads", "name": "All"})).await;
    assert_eq!(names(&app, &desk, "leads").await, ["All"]);

    // Losing the right to read the list hides its views and refuses them.
    let granted = app
        .put(
            &format!("/roles/{}/permissions", role["id"].as_str().unwrap()),
            &admin,
            json!({"permissions": [{"resource": "contacts", "action": "read", "scope": "all"}]}),
        )
        .await;
    assert_eq!(granted.status(), 200, "{:?}", granted.text().await);
    let path = format!("/views/{}", id(&leads));
    assert_problem(app.get(&path, &desk).await, 403).await;
    assert_problem(app.delete(&path, &desk).await, 403).await;
    let all = json_of(app.get("/views", &desk).await).await;
    assert_eq!(all["data"], json!([]));
    save(&app, &desk, json!({"resource": "contacts", "name": "Mine"})).await;
}

async fn a_member_has_at_most_one_default_view_per_list(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let colleague = app.member(&admin, "sales").await;
    let first = save(
        &app,
        &admin,
        json!({"resource": "leads", "name": "First", "query": "status=new", "is_default": true}),
    )
    .await;
    assert_eq!(first["is_default"], true);
    save(
        &app,
        &admin,
        json!({"resource": "contacts", "name": "Contacts", "is_default": true}),
    )
    .await;
    save(
        &app,
        &colleague,
        json!({"resource": "leads", "name": "Theirs", "is_default": true}),
    )
    .await;
    let second = save(
        &app,
        &admin,
        json!({"resource": "leads", "name": "Second", "query": "status=qualified", "is_default": true}),
    )
    .await;
    assert_eq!(second["is_default"], true);
    assert_eq!(defaults(&app, &admin, "leads").await, ["Second"]);
    // Other lists and other members keep theirs.
    assert_eq!(defaults(&app, &admin, "contacts").await, ["Contacts"]);
    assert_eq!(defaults(&app, &colleague, "leads").await, ["Theirs"]);

    let first_path = format!("/views/{}", id(&first));
    let made = app
        .patch(&first_path, &admin, json!({"is_default": true}))
        .await;
    assert_eq!(made.status(), 200);
    assert_eq!(defaults(&app, &admin, "leads").await, ["First"]);
    // The view that stopped being the default says so in the audit trail.
    let trail = json_of(
        app.get(
            &format!(
                "/audit?resource=saved_views&resource_id={}&action=update",
                id(&second)
            ),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(
        trail["data"][0]["changes"]["is_default"],
        json!({"before": true, "after": false})
    );
    let unset = app
        .patch(&first_path, &admin, json!({"is_default": false}))
        .await;
    assert_eq!(unset.status(), 200);
    assert!(defaults(&app, &admin, "leads").await.is_empty());
    assert_eq!(defaults(&app, &colleague, "leads").await, ["Theirs"]);
}

both!(
    a_member_saves_lists_changes_and_deletes_views,
    views_are_private_to_the_member_who_saved_them,
    bad_views_are_refused_with_the_field_named,
    a_query_may_use_the_lists_custom_fields,
    a_member_who_cannot_read_a_list_cannot_keep_views_of_it,
    a_member_has_at_most_one_default_view_per_list,
);
