//! Every JSON body is an object. serde's derived `Deserialize` for a struct also reads a
//! sequence of its fields by position, so `[first_name, last_name, …]` once created a lead; the
//! extractor now refuses anything but an object, at the top (400) and inside a body (422 naming
//! the field). Walked from the OpenAPI document, so a new route is covered without a new test.

use reqwest::Method;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, TestApp, assert_problem, both, json_of, spawn_app};

/// How many rows the audit trail holds: every write adds one, so an unchanged count means
/// nothing was written.
async fn audit_rows(app: &TestApp, admin: &rivet_tests::Session) -> usize {
    let page = json_of(app.get("/audit?limit=500", admin).await).await;
    page["data"].as_array().map_or(0, Vec::len)
}

/// The properties of a request body's schema, in the document's order.
fn properties(doc: &Value, operation: &Value) -> Vec<String> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    assert_eq!(schema["type"], "object", "a request body is an object");
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Bodies that are JSON but not an object: an array as long as the schema has properties (a
/// text first, then nulls: read by position, that was a lead with a first name), the empty
/// array, and each scalar.
fn not_objects(fields: usize) -> Vec<String> {
    let mut by_position = vec![json!("Ann")];
    by_position.resize(fields.max(1), Value::Null);
    vec![
        Value::Array(by_position).to_string(),
        "[]".into(),
        "\"Ann\"".into(),
        "41".into(),
        "true".into(),
        "null".into(),
        " \n [\"Ann\"]".into(),
    ]
}

/// `path` with each `{param}` replaced by `id`: the body is refused before any row is looked up.
fn with_ids(path: &str, id: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                id
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn every_route_with_a_body_refuses_json_that_is_not_an_object(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = json_of(
        app.post("/leads", &admin, json!({"last_name": "Kept"}))
            .await,
    )
    .await;
    let lead_id = lead["id"].as_str().unwrap().to_owned();
    let doc = json_of(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let before = audit_rows(&app, &admin).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // JSON bodies only (an upload is multipart: tests/api/imports.rs).
            if operation["requestBody"]["content"]["application/json"].is_null() {
                continue;
            }
            let fields = properties(&doc, operation).len();
            let path = with_ids(path.trim_start_matches("/api/v1"), &lead_id);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for body in not_objects(fields) {
                let response = app
                    .api(method.clone(), &path, Some(&admin))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let problem = assert_problem(response, 400).await;
                assert_eq!(
                    problem["detail"], "expected a JSON object",
                    "{method} {path} with {body}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "only {checked} requests were sent");
    assert_eq!(
        audit_rows(&app, &admin).await,
        before,
        "nothing was written"
    );
    let leads = json_of(app.get("/leads", &admin).await).await;
    assert_eq!(leads["data"].as_array().unwrap().len(), 1);
    let kept = json_of(app.get(&format!("/leads/{lead_id}"), &admin).await).await;
    assert_eq!(kept, lead, "the lead is unchanged");
}

async fn a_struct_inside_a_body_is_an_object_too(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let lead = json_of(
        app.post("/leads", &admin, json!({"last_name": "Kept"}))
            .await,
    )
    .await;
    let id = lead["id"].as_str().unwrap();
    // `set` by position: owner, status, tags.
    let response = app
        .post(
            "/leads/bulk-update",
            &admin,
            json!({"ids": [id], "set": [null, "qualified", null]}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(problem["errors"][0]["field"], "set", "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expected a JSON object"),
        "{problem}"
    );
    let response = app
        .post(
            "/roles",
            &admin,
            json!({"name": "Positional", "permissions": [["leads", "read", "all"]]}),
        )
        .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(problem["errors"][0]["field"], "permissions[0]", "{problem}");
    let kept = json_of(app.get(&format!("/leads/{id}"), &admin).await).await;
    assert_eq!(kept["status"], "new");
}

both!(
    every_route_with_a_body_refuses_json_that_is_not_an_object,
    a_struct_inside_a_body_is_an_object_too,
);
