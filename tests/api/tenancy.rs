//! Tenant isolation: a company never sees, changes or learns of another company's rows.

use reqwest::Method;
use rivet_server::http::router::Access;
use rivet_tests::serde_json::json;
use rivet_tests::{Db, assert_problem, both, ids_of, json_of, spawn_app};

async fn every_route_with_an_id_answers_404_for_another_companys_rows(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    // Globex owns one of each kind of row.
    let user = json_of(app.post("/users", &globex, json!({"email": "g@globex.test", "name": "G", "role_id": app.role_id(&globex, "sales").await})).await).await;
    let role = json_of(
        app.post("/roles", &globex, json!({"name": "Globex role"}))
            .await,
    )
    .await;
    let team = json_of(
        app.post("/teams", &globex, json!({"name": "Globex team"}))
            .await,
    )
    .await;
    let key = json_of(
        app.post(
            "/api-keys",
            &globex,
            json!({"name": "Globex key", "role_id": role["id"]}),
        )
        .await,
    )
    .await;
    let ids: Vec<(&str, &str)> = vec![
        ("/users/", user["id"].as_str().unwrap()),
        ("/roles/", role["id"].as_str().unwrap()),
        ("/teams/", team["id"].as_str().unwrap()),
        ("/api-keys/", key["id"].as_str().unwrap()),
    ];
    let routes = rivet_server::api::api_route_list();
    let mut checked = 0;
    for route in routes
        .iter()
        .filter(|r| r.path.contains("{id}") && r.access != Access::Public)
    {
        let Some((prefix, id)) = ids.iter().find(|(p, _)| route.path.starts_with(p)) else {
            continue;
        };
        let path = route.path.replace("{id}", id);
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let body = match (prefix, route.path.ends_with("/permissions")) {
            (_, true) => json!({"permissions": []}),
            _ => json!({}),
        };
        let response = app
            .api(method, &path, Some(&acme))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 404).await;
        checked += 1;
    }
    assert!(checked >= 14, "checked {checked} routes");
    // Nothing of Globex changed.
    let still = json_of(
        app.get(&format!("/roles/{}", role["id"].as_str().unwrap()), &globex)
            .await,
    )
    .await;
    assert_eq!(still["name"], "Globex role");
    let key_now = json_of(
        app.get(
            &format!("/api-keys/{}", key["id"].as_str().unwrap()),
            &globex,
        )
        .await,
    )
    .await;
    assert!(key_now["revoked_at"].is_null());
}

async fn lists_search_and_audit_never_show_another_companys_rows(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let role = app.role_id(&globex, "sales").await;
    let theirs = json_of(
        app.post(
            "/users",
            &globex,
            json!({"email": "secret-agent@globex.test", "name": "Secret Agent", "role_id": role}),
        )
        .await,
    )
    .await;
    json_of(
        app.post("/teams", &globex, json!({"name": "Globex only"}))
            .await,
    )
    .await;
    let users = json_of(app.get("/users?limit=500", &acme).await).await;
    assert!(!ids_of(&users).contains(&theirs["id"].as_str().unwrap().to_owned()));
    let search = json_of(app.get("/users?q=secret", &acme).await).await;
    assert_eq!(search["data"].as_array().unwrap().len(), 0);
    let teams = json_of(app.get("/teams", &acme).await).await;
    assert_eq!(teams["data"].as_array().unwrap().len(), 0);
    let roles = json_of(app.get("/roles", &acme).await).await;
    assert_eq!(roles["data"].as_array().unwrap().len(), 5);
    let audit = json_of(app.get("/audit?limit=500", &acme).await).await;
    assert!(!audit.to_string().contains("secret-agent"));
    assert!(!audit.to_string().contains("Globex only"));
    let by_id = json_of(
        app.get(
            &format!("/audit?resource_id={}", theirs["id"].as_str().unwrap()),
            &acme,
        )
        .await,
    )
    .await;
    assert_eq!(by_id["data"].as_array().unwrap().len(), 0);
    // Their own view has it.
    let their_audit = json_of(app.get("/audit?resource=teams", &globex).await).await;
    assert_eq!(their_audit["data"].as_array().unwrap().len(), 1);
}

async fn references_to_another_companys_rows_are_rejected(db: Db) {
    let app = spawn_app(db).await;
    let acme = app.admin().await;
    let globex = app.other_company("Globex").await;
    let their_role = app.role_id(&globex, "admin").await;
    let their_team = json_of(app.post("/teams", &globex, json!({"name": "G"})).await).await;
    let response = app
        .post("/users", &acme, json!({"email": "x@acme.test", "name": "X", "role_id": their_role, "team_id": their_team["id"]}))
        .await;
    let problem = assert_problem(response, 422).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["role_id", "team_id"]);
    let key = app
        .post(
            "/api-keys",
            &acme,
            json!({"name": "k", "role_id": their_role}),
        )
        .await;
    assert_problem(key, 422).await;
    let manager = app
        .post(
            "/teams",
            &acme,
            json!({"name": "T", "manager_id": globex.user_id}),
        )
        .await;
    assert_problem(manager, 422).await;
}

both!(
    every_route_with_an_id_answers_404_for_another_companys_rows,
    lists_search_and_audit_never_show_another_companys_rows,
    references_to_another_companys_rows_are_rejected,
);
