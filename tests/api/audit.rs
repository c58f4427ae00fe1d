//! The audit trail: exactly one row per successful change, none for a failed one, secrets
//! redacted, filterable, and no way to change it.

use reqwest::Method;
use rivet_domain::Email;
use rivet_store::users::NewMember;
use rivet_tests::serde_json::json;
use rivet_tests::{Db, assert_problem, both, json_of, spawn_app};

async fn audit_count(app: &rivet_tests::TestApp, who: &rivet_tests::Session, query: &str) -> usize {
    json_of(app.get(&format!("/audit?limit=500&{query}"), who).await).await["data"]
        .as_array()
        .unwrap()
        .len()
}

async fn every_successful_change_leaves_exactly_one_audit_row(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let team = json_of(app.post("/teams", &admin, json!({"name": "East"})).await).await;
    let id = team["id"].as_str().unwrap();
    assert_eq!(
        audit_count(&app, &admin, &format!("resource=teams&resource_id={id}")).await,
        1
    );
    app.patch(
        &format!("/teams/{id}"),
        &admin,
        json!({"name": "East Coast"}),
    )
    .await;
    let history = json_of(app.get(&format!("/teams/{id}/history"), &admin).await).await;
    let rows = history["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["action"], "update");
    assert_eq!(
        rows[0]["changes"]["name"],
        json!({"before": "East", "after": "East Coast"})
    );
    assert_eq!(rows[0]["actor_user_id"], admin.user_id.to_string());
    assert!(
        rows[0]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "the request id is recorded"
    );
    app.delete(&format!("/teams/{id}"), &admin).await;
    assert_eq!(
        audit_count(&app, &admin, &format!("resource=teams&resource_id={id}")).await,
        3
    );
    // Each kind of change, one row each.
    let before = audit_count(&app, &admin, "").await;
    let rep = app.member(&admin, "sales").await;
    app.patch(
        &format!("/users/{}", rep.user_id),
        &admin,
        json!({"name": "Renamed"}),
    )
    .await;
    let sales = app.role_id(&admin, "sales").await;
    app.put(
        &format!("/roles/{sales}/permissions"),
        &admin,
        json!({"permissions": [{"resource": "leads", "action": "read", "scope": "all"}]}),
    )
    .await;
    app.patch("/settings", &admin, json!({"currency": "EUR"}))
        .await;
    assert_eq!(audit_count(&app, &admin, "").await, before + 4);
    let settings = json_of(app.get("/audit?resource=settings", &admin).await).await;
    assert_eq!(
        settings["data"][0]["changes"]["currency"],
        json!({"before": "USD", "after": "EUR"})
    );
    let filtered = audit_count(
        &app,
        &admin,
        &format!("actor_id={}&action=update&resource=users", admin.user_id),
    )
    .await;
    assert_eq!(filtered, 1);
    let future = audit_count(&app, &admin, "from=2999-01-01T00:00:00Z").await;
    assert_eq!(future, 0);
}

async fn a_change_that_fails_halfway_leaves_neither_data_nor_audit(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let before = audit_count(&app, &admin, "").await;
    // The user row is inserted, then the membership refers to a role that does not exist:
    // the foreign key fails and the whole transaction must roll back.
    let actor = rivet_store::sessions::load_actor(
        &app.state.store,
        admin.company_id,
        admin.user_id,
        None,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    let result = rivet_store::users::create(
        &app.state.store,
        &actor,
        &NewMember {
            email: Email::parse("halfway@acme.test").unwrap(),
            name: "Halfway".into(),
            role_id: rivet_domain::ids::RoleId::new(),
            team_id: None,
            password_hash: None,
        },
    )
    .await;
    assert!(result.is_err());
    assert!(
        rivet_store::users::find_login(
            &app.state.store,
            &Email::parse("halfway@acme.test").unwrap()
        )
        .await
        .unwrap()
        .is_none()
    );
    assert_eq!(audit_count(&app, &admin, "").await, before);
    // A conflict through the API writes nothing either.
    let role = app.role_id(&admin, "sales").await;
    let dup = app
        .post(
            "/users",
            &admin,
            json!({"email": rivet_tests::ADMIN_EMAIL, "name": "Dup", "role_id": role}),
        )
        .await;
    let problem = assert_problem(dup, 409).await;
    assert_eq!(problem["errors"][0]["field"], "email");
    assert_eq!(audit_count(&app, &admin, "").await, before);
}

async fn secrets_never_reach_the_audit_trail(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = app.role_id(&admin, "sales").await;
    app.post("/users", &admin, json!({"email": "pw@acme.test", "name": "Pw", "role_id": role, "password": "super-secret-password-1"})).await;
    let key = json_of(
        app.post("/api-keys", &admin, json!({"name": "k", "role_id": role}))
            .await,
    )
    .await;
    let audit = json_of(app.get("/audit?limit=500", &admin).await)
        .await
        .to_string();
    assert!(!audit.contains("super-secret-password-1"));
    assert!(!audit.contains(key["secret"].as_str().unwrap()));
    assert!(!audit.contains("$argon2"));
}

async fn no_route_changes_or_deletes_audit_rows(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let entry = json_of(app.get("/audit", &admin).await).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for method in [Method::DELETE, Method::PATCH, Method::PUT, Method::POST] {
        let response = app
            .api(method.clone(), &format!("/audit/{entry}"), Some(&admin))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(response.status().as_u16(), 404 | 405),
            "{method} /audit/{{id}}"
        );
        let response = app
            .api(method, "/audit", Some(&admin))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(matches!(response.status().as_u16(), 404 | 405));
    }
    let routes = rivet_server::api::api_route_list();
    assert!(
        routes
            .iter()
            .filter(|r| r.path.starts_with("/audit"))
            .all(|r| r.method == "GET")
    );
}

both!(
    every_successful_change_leaves_exactly_one_audit_row,
    a_change_that_fails_halfway_leaves_neither_data_nor_audit,
    secrets_never_reach_the_audit_trail,
    no_route_changes_or_deletes_audit_rows,
);
