//! System administration: stored logs (security events, filters, hourly counts, who sees
//! what), system settings, statistics, `/metrics`, the OpenAPI document and its offline viewer.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, json_of, spawn_app};
use uuid::Uuid;

/// Log rows take up to ~500 ms to be written; poll until `done` holds or give up.
async fn logs_until(
    app: &TestApp,
    who: &Session,
    query: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let response = app
            .get(&format!("/system/logs?limit=500&{query}"), who)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "GET /system/logs?{query}"
        );
        let rows = json_of(response).await["data"].as_array().unwrap().clone();
        if done(&rows) || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Logs from the API as seen right now (after the writer has had time to flush).
async fn logs_now(app: &TestApp, who: &Session, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/system/logs?limit=500&{query}"), who)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "GET /system/logs?{query}"
    );
    json_of(response).await["data"].as_array().unwrap().clone()
}

fn time(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn marker() -> String {
    format!("m{}", Uuid::new_v4().simple())
}

async fn a_failed_login_is_stored_as_a_security_event_without_the_password(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rid = marker();
    let wrong = "wrong-password-zz9-secret";
    let response = app
        .api(Method::POST, "/auth/login", None)
        .header("x-request-id", &rid)
        .json(&json!({"email": rivet_tests::ADMIN_EMAIL, "password": wrong}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The answer carries the caller's request id; a request without one is given a UUID.
    assert_eq!(response.headers()["x-request-id"], rid.as_str());
    let response = app.api(Method::GET, "/me", None).send().await.unwrap();
    let given = response.headers()["x-request-id"].to_str().unwrap();
    assert!(Uuid::parse_str(given).is_ok(), "{given}");

    let rows = logs_until(&app, &admin, &format!("request_id={rid}"), |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(
        rows.len(),
        1,
        "one stored event for the failed login: {rows:?}"
    );
    let row = &rows[0];
    assert_eq!(row["target"], "rivet::security");
    assert_eq!(row["level"], "warn");
    assert_eq!(row["fields"]["event"], "login_failed");
    assert_eq!(row["request_id"], rid.as_str());
    assert!(row["id"].is_string() && row["created_at"].is_string() && row["message"].is_string());
    assert!(
        !row.to_string().contains(wrong),
        "the password is never stored: {row}"
    );
    // Security events can be listed by target prefix.
    let security = logs_now(&app, &admin, &format!("target=rivet::sec&request_id={rid}")).await;
    assert_eq!(security.len(), 1);
}

async fn logs_filter_by_level_target_text_and_time(db: Db) {
    let app = spawn_app(db).await;
    // Another company's admin sees only that company's rows: nothing from other tests.
    let globex = app.other_company("Globex").await;
    let company = globex.company_id.to_string();
    let m = marker();
    let t0 = Utc::now() - Duration::seconds(1);
    tracing::error!(target: "rivet_tests::system", company_id = %company, "alpha {m} failed");
    tracing::warn!(target: "rivet_tests::system", company_id = %company, attempt = 3, "beta {m} slow");
    tracing::info!(target: "rivet::security", company_id = %company, event = "test_event", "gamma {m} noted");
    tracing::info!(target: "rivet_tests::system", company_id = %company, "delta {m} is not stored");

    let all = logs_until(&app, &globex, &format!("q={m}"), |r| r.len() >= 3).await;
    let messages: Vec<&str> = all.iter().map(|r| r["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages.len(),
        3,
        "warnings, errors and security events only: {messages:?}"
    );
    assert!(messages.iter().all(|msg| !msg.starts_with("delta")));
    assert!(all.iter().all(|r| r["company_id"] == company.as_str()));
    let beta = all.iter().find(|r| r["level"] == "warn").unwrap();
    assert_eq!(beta["fields"]["attempt"], 3);
    assert_eq!(beta["target"], "rivet_tests::system");

    let count = |query: String| {
        let app = &app;
        let globex = &globex;
        async move { logs_now(app, globex, &query).await.len() }
    };
    assert_eq!(
        count(format!("q={m}&level=warn")).await,
        2,
        "warn and above"
    );
    assert_eq!(count(format!("q={m}&level=error")).await, 1);
    assert_eq!(count(format!("q={m}&level=info")).await, 3);
    assert_eq!(count(format!("q={m}&target=rivet::security")).await, 1);
    assert_eq!(count(format!("q={m}&target=rivet_tests")).await, 2);
    assert_eq!(
        count(format!("q=ALPHA%20{}", m.to_uppercase())).await,
        1,
        "text search ignores case"
    );
    assert_eq!(
        count(format!(
            "q={m}&from={}",
            time(Utc::now() + Duration::hours(1))
        ))
        .await,
        0
    );
    assert_eq!(
        count(format!("q={m}&to={}", time(t0 - Duration::hours(1)))).await,
        0
    );
    let window = format!(
        "q={m}&from={}&to={}",
        time(t0),
        time(Utc::now() + Duration::minutes(1))
    );
    assert_eq!(count(window).await, 3);
    // Paging: newest first, with a cursor.
    let first = json_of(
        app.get(&format!("/system/logs?q={m}&limit=2"), &globex)
            .await,
    )
    .await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = json_of(
        app.get(
            &format!("/system/logs?q={m}&limit=2&cursor={cursor}"),
            &globex,
        )
        .await,
    )
    .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);

    for bad in ["level=loud", "bogus=1", "limit=0"] {
        assert_problem(app.get(&format!("/system/logs?{bad}"), &globex).await, 400).await;
    }
    let backwards = format!("/system/logs?from={}&to={}", time(Utc::now()), time(t0));
    assert_problem(app.get(&backwards, &globex).await, 400).await;
}

async fn log_stats_count_events_per_hour_and_level(db: Db) {
    let app = spawn_app(db).await;
    let globex = app.other_company("Globex").await;
    let company = globex.company_id.to_string();
    for i in 0..2 {
        tracing::error!(target: "rivet_tests::system", company_id = %company, "stats error {i}");
    }
    for i in 0..3 {
        tracing::warn!(target: "rivet_tests::system", company_id = %company, "stats warning {i}");
    }
    logs_until(&app, &globex, "q=stats", |r| r.len() >= 5).await;

    let stats = json_of(app.get("/system/logs/stats", &globex).await).await;
    let buckets = stats["data"].as_array().unwrap();
    let total = |level: &str| -> i64 {
        buckets
            .iter()
            .filter(|b| b["level"] == level)
            .map(|b| b["count"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(total("error"), 2, "{stats}");
    assert_eq!(total("warn"), 3, "{stats}");
    assert_eq!(
        buckets.len(),
        buckets
            .iter()
            .filter(|b| b["level"] == "error" || b["level"] == "warn")
            .count()
    );
    for bucket in buckets {
        let hour: chrono::DateTime<Utc> = bucket["hour"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            hour.format("%M:%S").to_string(),
            "00:00",
            "buckets start on the hour"
        );
        assert!(Utc::now() - hour < Duration::hours(2));
    }
    let past = format!(
        "/system/logs/stats?from={}&to={}",
        time(Utc::now() - Duration::days(3)),
        time(Utc::now() - Duration::days(2))
    );
    assert_eq!(
        json_of(app.get(&past, &globex).await).await["data"],
        json!([])
    );
    let too_long = format!(
        "/system/logs/stats?from={}",
        time(Utc::now() - Duration::days(400))
    );
    assert_problem(app.get(&too_long, &globex).await, 400).await;
}

async fn members_without_the_log_permission_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    for role in ["sales", "read_only"] {
        let member = app.member(&admin, role).await;
        for path in [
            "/system/logs",
            "/system/logs/stats",
            "/system/settings",
            "/system/stats",
        ] {
            assert_problem(app.get(path, &member).await, 403).await;
        }
    }
    let anonymous = app
        .api(Method::GET, "/system/logs", None)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
}

async fn another_companys_admin_does_not_see_the_first_companys_events(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let sales = app.member(&admin, "sales").await;
    let globex = app.other_company("Globex").await;
    let rid = marker();
    let denied = app
        .api(Method::GET, "/system/settings", Some(&sales))
        .header("x-request-id", &rid)
        .send()
        .await
        .unwrap();
    assert_problem(denied, 403).await;

    let rows = logs_until(&app, &admin, &format!("request_id={rid}"), |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["fields"]["event"], "permission_denied");
    assert_eq!(rows[0]["company_id"], app.company_id.to_string());
    assert_eq!(rows[0]["target"], "rivet::security");

    assert!(
        logs_now(&app, &globex, &format!("request_id={rid}"))
            .await
            .is_empty()
    );

    // Events of no company (a failed sign-in) are for system administrators only.
    let rid = marker();
    app.api(Method::POST, "/auth/login", None)
        .header("x-request-id", &rid)
        .json(&json!({"email": "nobody@nowhere.test", "password": "whatever-it-is"}))
        .send()
        .await
        .unwrap();
    let rows = logs_until(&app, &admin, &format!("request_id={rid}"), |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["company_id"], Value::Null);
    assert!(
        logs_now(&app, &globex, &format!("request_id={rid}"))
            .await
            .is_empty()
    );
    let stats = json_of(app.get("/system/logs/stats", &globex).await).await;
    assert_eq!(stats["data"], json!([]), "Globex has no events of its own");
}

async fn system_settings_are_read_and_changed_by_system_admins_only(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let settings = json_of(app.get("/system/settings", &admin).await).await;
    assert_eq!(settings["password_min_length"], 10);
    assert_eq!(settings["allow_signup"], false);

    let changed = app
        .patch(
            "/system/settings",
            &admin,
            json!({"allow_signup": true, "log_retention_days": 60, "event_retention_days": 7}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed = json_of(changed).await;
    assert_eq!(changed["allow_signup"], true);
    assert_eq!(changed["log_retention_days"], 60);
    assert_eq!(changed["event_retention_days"], 7);
    assert_eq!(
        changed["password_min_length"], 10,
        "fields not sent keep their value"
    );
    assert_eq!(
        json_of(app.get("/system/settings", &admin).await).await,
        changed
    );
    let audit = json_of(app.get("/audit?resource=system_settings", &admin).await).await;
    assert_eq!(
        audit["data"][0]["changes"]["allow_signup"],
        json!({"before": false, "after": true})
    );

    let globex = app.other_company("Globex").await;
    assert_problem(app.get("/system/settings", &globex).await, 403).await;
    assert_problem(
        app.patch("/system/settings", &globex, json!({"allow_signup": false}))
            .await,
        403,
    )
    .await;
    assert_problem(app.get("/system/stats", &globex).await, 403).await;

    let bad_values = [
        (json!({"password_min_length": 3}), "password_min_length"),
        (json!({"password_min_length": 500}), "password_min_length"),
        (
            json!({"access_token_ttl_seconds": 5}),
            "access_token_ttl_seconds",
        ),
        (
            json!({"refresh_token_ttl_seconds": 10}),
            "refresh_token_ttl_seconds",
        ),
        (json!({"log_retention_days": 0}), "log_retention_days"),
        (json!({"log_retention_days": -1}), "log_retention_days"),
        (json!({"event_retention_days": 0}), "event_retention_days"),
        (
            json!({"event_retention_days": 3651}),
            "event_retention_days",
        ),
        (json!({"password_min_length": "ten"}), "password_min_length"),
        (json!({"allow_signup": "yes"}), "allow_signup"),
    ];
    for (body, field) in bad_values {
        let problem = assert_problem(
            app.patch("/system/settings", &admin, body.clone()).await,
            422,
        )
        .await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, [field], "{body}");
    }
    assert_problem(
        app.patch("/system/settings", &admin, json!({"colour": "red"}))
            .await,
        400,
    )
    .await;
    assert_eq!(
        json_of(app.get("/system/settings", &admin).await).await,
        changed,
        "nothing changed"
    );
}

async fn a_stricter_password_policy_applies_to_new_users(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let response = app
        .patch(
            "/system/settings",
            &admin,
            json!({"password_min_length": 20}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let role_id = app.role_id(&admin, "sales").await;
    let short = rivet_tests::PASSWORD;
    assert!(short.len() < 20);
    let problem = assert_problem(
        app.post(
            "/users",
            &admin,
            json!({"email": "short@acme.test", "name": "Short", "role_id": role_id, "password": short}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "password");
    let ok = app
        .post(
            "/users",
            &admin,
            json!({"email": "long@acme.test", "name": "Long", "role_id": role_id, "password": "a much longer passphrase"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
}

async fn system_stats_report_counts_size_jobs_and_version(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    app.other_company("Globex").await;
    let stats = json_of(app.get("/system/stats", &admin).await).await;
    assert_eq!(stats["version"], env!("CARGO_PKG_VERSION"));
    assert!(stats["uptime_seconds"].as_u64().is_some());
    let backend = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    assert_eq!(stats["database"]["backend"], backend);
    assert!(stats["database"]["size_bytes"].as_i64().unwrap() > 0);
    let records = &stats["records"];
    assert_eq!(records["companies"], 2);
    assert_eq!(records["users"], 2);
    assert_eq!(records["memberships"], 2);
    assert_eq!(records["roles"], 10, "five built-in roles per company");
    for table in ["teams", "api_keys", "audit_log", "system_logs", "jobs"] {
        assert!(records[table].as_i64().is_some(), "{table}: {records}");
    }
    for state in ["queued", "running", "succeeded", "dead", "cancelled"] {
        assert!(
            stats["jobs_by_state"][state].as_i64().is_some(),
            "{state}: {stats}"
        );
    }
    assert!(stats["logs_last_24h"]["warn"].as_i64().is_some());
    assert!(stats["logs_last_24h"]["error"].as_i64().is_some());
}

async fn metrics_report_requests_the_database_pool_and_jobs(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    app.get("/me", &admin).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    for name in [
        "http_requests_total",
        "http_request_duration_seconds",
        "rivet_db_pool_size",
        "rivet_db_pool_idle",
        "rivet_jobs{state=\"queued\"}",
        "rivet_uptime_seconds",
    ] {
        assert!(body.contains(name), "/metrics has {name}");
    }
}

/// Listening beyond loopback, `/metrics` answers only with `Authorization: Bearer
/// $RIVET_METRICS_TOKEN` (a user's access token is not it), and without a token not at all. The
/// rule follows the listen address (`config.addr`), although the test connects over loopback.
async fn metrics_beyond_loopback_need_the_metrics_token(db: Db) {
    let app = rivet_tests::spawn_app_with(db, |c| {
        c.addr = "0.0.0.0:8080".parse().unwrap();
        c.metrics_token = Some("metrics-secret-42".into());
    })
    .await;
    let admin = app.admin().await;
    let metrics = |token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };
    let refused = metrics(None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().contains_key("www-authenticate"));
    assert!(
        !refused
            .text()
            .await
            .unwrap()
            .contains("http_requests_total")
    );
    assert_eq!(
        metrics(Some("metrics-secret-41")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        metrics(Some(&admin.token)).await.status(),
        StatusCode::UNAUTHORIZED,
        "a user's access token is not the metrics token"
    );
    let allowed = metrics(Some("metrics-secret-42")).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert!(
        allowed
            .text()
            .await
            .unwrap()
            .contains("http_requests_total")
    );

    let app = rivet_tests::spawn_app_with(db, |c| {
        c.addr = "0.0.0.0:8080".parse().unwrap();
    })
    .await;
    let hidden = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    assert!(hidden.text().await.unwrap().contains("RIVET_METRICS_TOKEN"));
}

async fn api_docs_are_served_offline(db: Db) {
    let app = spawn_app(db).await;
    let page = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert!(header(&page, "content-type").starts_with("text/html"));
    assert!(header(&page, "content-security-policy").contains("script-src 'self'"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    assert!(!html.contains("https://"), "nothing from another origin");
    let mut assets: Vec<String> = html
        .split(['"', '?'])
        .filter(|part| part.starts_with("/api/docs/assets/"))
        .map(str::to_owned)
        .collect();
    assets.sort();
    assets.dedup();
    assert_eq!(assets.len(), 4, "{assets:?}");
    for (path, kind) in [
        ("/api/docs/assets/swagger-ui.css", "text/css"),
        ("/api/docs/assets/swagger-ui-bundle.js", "text/javascript"),
        ("/api/docs/assets/rivet-init.js", "text/javascript"),
        ("/api/docs/assets/favicon-32x32.png", "image/png"),
        ("/api/docs/assets/LICENSE", "text/plain"),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            header(&response, "content-type").starts_with(kind),
            "{path}"
        );
        assert!(
            header(&response, "cache-control").contains("max-age="),
            "{path}"
        );
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
    let bundle = app
        .client
        .get(app.url("/api/docs/assets/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert!(header(&bundle, "cache-control").contains("max-age=31536000"));
    let init = app
        .client
        .get(app.url("/api/docs/assets/rivet-init.js"))
        .send()
        .await
        .unwrap();
    assert!(init.text().await.unwrap().contains("/api/v1/openapi.json"));
    let missing = app
        .client
        .get(app.url("/api/docs/assets/secrets.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn the_openapi_document_describes_every_route(db: Db) {
    let app = spawn_app(db).await;
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = serde_json::from_str(&response.text().await.unwrap()).expect("valid JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = rivet_server::api::api_route_list();
    assert!(routes.iter().any(|r| r.path == "/system/logs"));
    for route in routes {
        let path = format!("/api/v1{}", route.path);
        let method = route.method.as_str().to_lowercase();
        assert!(
            doc["paths"][&path][&method].is_object(),
            "{method} {path} is documented"
        );
    }
}

both!(
    a_failed_login_is_stored_as_a_security_event_without_the_password,
    logs_filter_by_level_target_text_and_time,
    log_stats_count_events_per_hour_and_level,
    members_without_the_log_permission_are_refused,
    another_companys_admin_does_not_see_the_first_companys_events,
    system_settings_are_read_and_changed_by_system_admins_only,
    a_stricter_password_policy_applies_to_new_users,
    system_stats_report_counts_size_jobs_and_version,
    metrics_report_requests_the_database_pool_and_jobs,
    metrics_beyond_loopback_need_the_metrics_token,
    api_docs_are_served_offline,
    the_openapi_document_describes_every_route,
);
