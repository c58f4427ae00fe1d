//! A person's own account: `PATCH /me` (their name), `POST /me/password` (the current password
//! asked, the policy applied, every other session ended, audited without secrets, rate limited)
//! and `POST /me/sign-out-others`.

use reqwest::Method;
use rivet_tests::serde_json::{Value, json};
use rivet_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, Session, TestApp, assert_problem, both, json_of,
    spawn_app, spawn_app_with,
};

const NEW_PASSWORD: &str = "a-brand-new-password-2";

async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.api(Method::POST, "/auth/login", None)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn refresh_status(app: &TestApp, who: &Session) -> u16 {
    app.api(Method::POST, "/auth/refresh", None)
        .json(&json!({"refresh_token": who.refresh_token}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn change(app: &TestApp, who: &Session, current: &str, new: &str) -> reqwest::Response {
    app.post(
        "/me/password",
        who,
        json!({"current_password": current, "new_password": new}),
    )
    .await
}

async fn email_of(app: &TestApp, who: &Session) -> String {
    json_of(app.get("/me", who).await).await["user"]["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

async fn changing_the_password_needs_the_current_one_and_ends_every_other_session(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let here = app.member(&admin, "sales").await;
    let email = email_of(&app, &here).await;
    let elsewhere = app.login(&email, PASSWORD).await;

    // Bad input changes nothing: a wrong current password, a new one the policy refuses, the
    // same password again, a body with a stray field.
    let problem = assert_problem(
        change(&app, &here, "not-my-password", NEW_PASSWORD).await,
        422,
    )
    .await;
    assert_eq!(fields(&problem), ["current_password"]);
    let problem = assert_problem(change(&app, &here, PASSWORD, "short").await, 422).await;
    assert_eq!(fields(&problem), ["new_password"]);
    let problem = assert_problem(change(&app, &here, PASSWORD, PASSWORD).await, 422).await;
    assert_eq!(fields(&problem), ["new_password"]);
    let stray = app
        .post(
            "/me/password",
            &here,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "user_id": admin.user_id}),
        )
        .await;
    assert!(
        stray.status() == 400 || stray.status() == 422,
        "{}",
        stray.status()
    );
    let anonymous = app
        .api(Method::POST, "/me/password", None)
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
    assert_eq!(app.get("/me", &elsewhere).await.status(), 200);

    let done = change(&app, &here, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 204);

    // The old password no longer signs in; the new one does.
    assert_eq!(login_status(&app, &email, PASSWORD).await, 401);
    assert_eq!(login_status(&app, &email, NEW_PASSWORD).await, 200);
    // The other session is over: its access token and its refresh token are refused.
    assert_problem(app.get("/me", &elsewhere).await, 401).await;
    assert_eq!(refresh_status(&app, &elsewhere).await, 401);
    // The session that made the change goes on, and so does its refresh token.
    assert_eq!(app.get("/me", &here).await.status(), 200);
    assert_eq!(refresh_status(&app, &here).await, 200);
    // Someone else's sessions are untouched.
    assert_eq!(app.get("/me", &admin).await.status(), 200);

    // The change is audited in the company, without the password or its hash.
    let audit = json_of(
        app.get(
            &format!(
                "/audit?resource=users&resource_id={}&action=change_password",
                here.user_id
            ),
            &admin,
        )
        .await,
    )
    .await;
    let rows = audit["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{audit}");
    assert_eq!(rows[0]["actor_user_id"], here.user_id.to_string());
    assert_eq!(rows[0]["changes"]["password_hash"]["after"], "[redacted]");
    // `elsewhere`, and the sign-in that checked the password still worked.
    assert_eq!(rows[0]["changes"]["sessions_ended"]["after"], 2);
    let text = audit.to_string();
    assert!(
        !text.contains(NEW_PASSWORD) && !text.contains(PASSWORD) && !text.contains("$argon2"),
        "no secret in the audit row: {text}"
    );
}

async fn an_api_key_cannot_change_a_password_or_a_name(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = app.role_id(&admin, "admin").await;
    let created = json_of(
        app.post(
            "/api-keys",
            &admin,
            json!({"name": "Robot", "role_id": role}),
        )
        .await,
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    for (method, path, body) in [
        (
            Method::POST,
            "/me/password",
            json!({"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD}),
        ),
        (Method::PATCH, "/me", json!({"name": "Robot"})),
        (Method::POST, "/me/sign-out-others", json!({})),
    ] {
        let response = app
            .api(method, path, None)
            .bearer_auth(secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403).await;
    }
    assert_eq!(login_status(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await, 200);
}

async fn wrong_current_passwords_are_rate_limited(db: Db) {
    let app = spawn_app_with(db, |c| c.login_rate_limit = 5).await;
    let admin = app.admin().await;
    for _ in 0..5 {
        let response = change(&app, &admin, "guess", NEW_PASSWORD).await;
        assert_problem(response, 422).await;
    }
    let limited = change(&app, &admin, "guess", NEW_PASSWORD).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_problem(limited, 429).await;
    // Even the right password waits for the window to pass.
    assert_problem(
        change(&app, &admin, ADMIN_PASSWORD, NEW_PASSWORD).await,
        429,
    )
    .await;
    assert_eq!(login_status(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await, 200);
}

async fn a_person_renames_themselves_and_signs_out_elsewhere(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let email = email_of(&app, &rep).await;
    let other = app.login(&email, PASSWORD).await;

    let problem = assert_problem(app.patch("/me", &rep, json!({"name": "  "})).await, 422).await;
    assert_eq!(fields(&problem), ["name"]);
    let renamed = json_of(app.patch("/me", &rep, json!({"name": "Rita Rep"})).await).await;
    assert_eq!(renamed["name"], "Rita Rep");
    let me = json_of(app.get("/me", &other).await).await;
    assert_eq!(me["user"]["name"], "Rita Rep");
    let member = json_of(app.get(&format!("/users/{}", rep.user_id), &admin).await).await;
    assert_eq!(member["name"], "Rita Rep");

    let ended = app.post("/me/sign-out-others", &rep, json!({})).await;
    assert_eq!(ended.status(), 204);
    assert_problem(app.get("/me", &other).await, 401).await;
    assert_eq!(refresh_status(&app, &other).await, 401);
    assert_eq!(app.get("/me", &rep).await.status(), 200);
    let audit = json_of(
        app.get(
            &format!("/audit?resource=users&resource_id={}", rep.user_id),
            &admin,
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"sign_out_others") && actions.contains(&"update"),
        "{actions:?}"
    );
}

both!(
    changing_the_password_needs_the_current_one_and_ends_every_other_session,
    an_api_key_cannot_change_a_password_or_a_name,
    wrong_current_passwords_are_rate_limited,
    a_person_renames_themselves_and_signs_out_elsewhere,
);
