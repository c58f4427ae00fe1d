//! Bad input, route by route: malformed JSON and unknown fields are 400, invalid values 422 with
//! the field named, oversized bodies 413, wrong content types 415 — never a 500, never half a
//! change.

use reqwest::Method;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, TestApp, assert_problem, both, json_of, spawn_app};

/// Replace `{id}` with a real row of the right kind, so the body is what gets judged.
async fn real_path(app: &TestApp, admin: &rivet_tests::Session, path: &str) -> String {
    if !path.contains("{id}") {
        return path.to_owned();
    }
    let id = if path.starts_with("/users/") {
        app.member(admin, "sales").await.user_id.to_string()
    } else if path.starts_with("/roles/") {
        json_of(
            app.post(
                "/roles",
                admin,
                json!({"name": format!("R{}", uuid::Uuid::new_v4().simple())}),
            )
            .await,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    } else if path.starts_with("/teams/") {
        json_of(
            app.post(
                "/teams",
                admin,
                json!({"name": format!("T{}", uuid::Uuid::new_v4().simple())}),
            )
            .await,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    } else {
        uuid::Uuid::now_v7().to_string()
    };
    path.replace("{id}", &id)
}

async fn every_route_with_a_body_rejects_malformed_unknown_oversized_and_mistyped_bodies(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for route in rivet_server::api::api_route_list()
        .iter()
        .filter(|r| r.takes_json())
    {
        // Over the route's limit: the API's 1 MiB, or a batch route's own.
        let big = format!(
            "{{\"name\": \"{}\"}}",
            "x".repeat(route.max_body() + 100_000)
        );
        let path = real_path(&app, &admin, &route.path).await;
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let send = |body: String, content_type: &str| {
            app.api(method.clone(), &path, Some(&admin))
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let what = format!("{} {}", route.method, route.path);
        let malformed = send("{\"name\": ".into(), "application/json")
            .await
            .unwrap();
        assert_eq!(malformed.status(), 400, "malformed JSON on {what}");
        assert_problem(malformed, 400).await;
        let unknown = send("{\"definitely_not_a_field\": 1}".into(), "application/json")
            .await
            .unwrap();
        assert_eq!(unknown.status(), 400, "unknown field on {what}");
        let problem = assert_problem(unknown, 400).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("definitely_not_a_field"),
            "{what}: {problem}"
        );
        let array = send("[1, 2]".into(), "application/json").await.unwrap();
        assert!(
            matches!(array.status().as_u16(), 400 | 422),
            "array body on {what}"
        );
        let too_big = send(big.clone(), "application/json").await.unwrap();
        assert_eq!(too_big.status(), 413, "oversized body on {what}");
        assert_problem(too_big, 413).await;
        let wrong_type = send("name=x".into(), "text/plain").await.unwrap();
        assert_eq!(wrong_type.status(), 415, "wrong content type on {what}");
        assert_problem(wrong_type, 415).await;
    }
}

/// (method, path, body, the fields the 422 must name)
fn invalid_values() -> Vec<(Method, &'static str, Value, Vec<&'static str>)> {
    vec![
        (
            Method::POST,
            "/auth/login",
            json!({"email": 7, "password": "x"}),
            vec!["email"],
        ),
        (
            Method::POST,
            "/auth/login",
            json!({"email": "a@b.c"}),
            vec!["password"],
        ),
        (
            Method::POST,
            "/auth/login",
            json!({"email": "a@b.c", "password": "x", "company": "not-an-id"}),
            vec!["company"],
        ),
        (
            Method::POST,
            "/users",
            json!({"email": "not-an-email", "name": " ", "role_id": "{role}", "password": "short"}),
            vec!["email", "name", "password"],
        ),
        (
            Method::POST,
            "/users",
            json!({"email": "a@b.c", "name": "A", "role_id": "nope"}),
            vec!["role_id"],
        ),
        (
            Method::POST,
            "/users",
            json!({"email": "a@b.c", "name": "A", "role_id": "{missing}"}),
            vec!["role_id"],
        ),
        (
            Method::POST,
            "/users",
            json!({"email": "a@b.c", "name": "A"}),
            vec!["role_id"],
        ),
        (
            Method::PATCH,
            "/users/{user}",
            json!({"name": ""}),
            vec!["name"],
        ),
        (
            Method::PATCH,
            "/users/{user}",
            json!({"active": "yes"}),
            vec!["active"],
        ),
        (
            Method::PATCH,
            "/users/{user}",
            json!({"team_id": "{missing}"}),
            vec!["team_id"],
        ),
        (Method::POST, "/roles", json!({"name": ""}), vec!["name"]),
        (
            Method::POST,
            "/roles",
            json!({"name": "admin"}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/roles",
            json!({"name": "X", "permissions": [{"resource": "leads", "action": "read", "scope": "most"}]}),
            vec!["permissions[0].scope"],
        ),
        (
            Method::POST,
            "/roles",
            json!({"name": "X", "permissions": [{"resource": "audit", "action": "delete", "scope": "all"}]}),
            vec!["permissions[0]"],
        ),
        (
            Method::POST,
            "/roles",
            json!({"name": "X", "permissions": [{"resource": "roles", "action": "read", "scope": "own"}]}),
            vec!["permissions[0]"],
        ),
        (
            Method::PUT,
            "/roles/{role}/permissions",
            json!({"permissions": [{"resource": "nope", "action": "read", "scope": "all"}]}),
            vec!["permissions[0].resource"],
        ),
        (
            Method::PUT,
            "/roles/{role}/permissions",
            json!({"permissions": [
            {"resource": "leads", "action": "read", "scope": "all"},
            {"resource": "leads", "action": "read", "scope": "own"}]}),
            vec!["permissions[1]"],
        ),
        (Method::POST, "/teams", json!({"name": ""}), vec!["name"]),
        (
            Method::POST,
            "/teams",
            json!({"name": "T", "manager_id": "{missing}"}),
            vec!["manager_id"],
        ),
        (
            Method::POST,
            "/api-keys",
            json!({"name": "", "role_id": "{missing}"}),
            vec!["name", "role_id"],
        ),
        (
            Method::PATCH,
            "/settings",
            json!({"currency": "usd", "fiscal_year_start_month": 13, "timezone": "Mars"}),
            vec!["timezone", "currency", "fiscal_year_start_month"],
        ),
        (
            Method::PATCH,
            "/settings",
            json!({"fiscal_year_start_month": -1}),
            vec!["fiscal_year_start_month"],
        ),
        (
            Method::POST,
            "/auth/switch-company",
            json!({"company_id": "zzz"}),
            vec!["company_id"],
        ),
    ]
}

async fn invalid_values_are_422_naming_each_field_and_write_nothing(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = json_of(app.post("/roles", &admin, json!({"name": "Custom"})).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = app.member(&admin, "sales").await.user_id.to_string();
    let missing = uuid::Uuid::now_v7().to_string();
    let audit_before = json_of(app.get("/audit?limit=500", &admin).await).await["data"]
        .as_array()
        .unwrap()
        .len();
    for (method, path, body, fields) in invalid_values() {
        let fill = |s: &str| {
            s.replace("{role}", &role)
                .replace("{user}", &user)
                .replace("{missing}", &missing)
        };
        let body: Value = rivet_tests::serde_json::from_str(&fill(&body.to_string())).unwrap();
        let response = app
            .api(method.clone(), &fill(path), Some(&admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422).await;
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(named, fields, "{method} {path} {body}");
    }
    let audit_after = json_of(app.get("/audit?limit=500", &admin).await).await["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        audit_before, audit_after,
        "a rejected change writes nothing"
    );
}

async fn bad_query_strings_are_400(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for path in [
        "/users?limit=0",
        "/users?limit=501",
        "/users?limit=ten",
        "/users?cursor=not-a-cursor",
        "/users?sort_by_magic=1",
        "/users?active=maybe",
        "/audit?from=yesterday",
        "/audit?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "/audit?actor_id=12",
    ] {
        let response = app.get(path, &admin).await;
        assert_problem(response, 400).await;
    }
    // A malformed id in a path cannot name a row.
    assert_problem(app.get("/users/not-a-uuid", &admin).await, 404).await;
    assert_problem(app.get("/no-such-route", &admin).await, 404).await;
}

async fn pagination_walks_every_row_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for _ in 0..5 {
        app.member(&admin, "support").await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/users?limit=2&cursor={c}"),
            None => "/users?limit=2".to_owned(),
        };
        let page = json_of(app.get(&path, &admin).await).await;
        let rows = page["data"].as_array().unwrap();
        assert!(rows.len() <= 2);
        seen.extend(rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 6);
    assert_eq!(unique.len(), 6);
}

both!(
    every_route_with_a_body_rejects_malformed_unknown_oversized_and_mistyped_bodies,
    invalid_values_are_422_naming_each_field_and_write_nothing,
    bad_query_strings_are_400,
    pagination_walks_every_row_once,
);

async fn member_search_treats_underscore_and_percent_as_text(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = app.role_id(&admin, "sales").await;
    let created = app
        .post(
            "/users",
            &admin,
            json!({"email": "snake_case@acme.test", "name": "Snake Case", "role_id": role}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let found = json_of(app.get("/users?q=snake_case", &admin).await).await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    let none = json_of(app.get("/users?q=snake%25case", &admin).await).await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
}

both!(member_search_treats_underscore_and_percent_as_text);
