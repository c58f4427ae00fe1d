//! Authentication: passwords, access and refresh tokens, lockout, API keys, deactivation, CSRF.

use reqwest::Method;
use rivet_tests::serde_json::json;
use rivet_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Db, assert_problem, both, json_of, spawn_app, spawn_app_with,
};

async fn login_status(
    app: &rivet_tests::TestApp,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.api(Method::POST, "/auth/login", None)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn wrong_password_and_unknown_account_answer_the_same_401(db: Db) {
    let app = spawn_app(db).await;
    let wrong = assert_problem(
        login_status(&app, ADMIN_EMAIL, "not-the-password").await,
        401,
    )
    .await;
    let unknown = assert_problem(
        login_status(&app, "nobody@acme.test", "not-the-password").await,
        401,
    )
    .await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    let body = json_of(login_status(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() > 30));
}

async fn requests_without_valid_tokens_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    assert_problem(app.api(Method::GET, "/me", None).send().await.unwrap(), 401).await;
    // Tampered: flip a character of the signature.
    let mut tampered = admin.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let response = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&tampered)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    // Expired: a correctly signed token whose time is over.
    let secret = rivet_store::settings::jwt_secret(&app.state.store)
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let me = json_of(app.get("/me", &admin).await).await;
    let claims = json!({
        "sub": me["user"]["id"], "cid": me["company"]["id"],
        "sid": uuid::Uuid::now_v7(), "iat": now - 1000, "exp": now - 100, "iss": "rivet"
    });
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let response = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    // Signed with another secret.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": me["user"]["id"], "cid": me["company"]["id"], "sid": uuid::Uuid::now_v7(), "iat": now, "exp": now + 600, "iss": "rivet"}),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    let response = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
}

async fn refresh_rotates_and_a_reused_token_revokes_the_family(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let first = json_of(
        app.api(Method::POST, "/auth/refresh", None)
            .json(&json!({"refresh_token": admin.refresh_token}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, admin.refresh_token);
    // The old token again: refused, and the whole session ends.
    let reuse = app
        .api(Method::POST, "/auth/refresh", None)
        .json(&json!({"refresh_token": admin.refresh_token}))
        .send()
        .await
        .unwrap();
    assert_problem(reuse, 401).await;
    let after = app
        .api(Method::POST, "/auth/refresh", None)
        .json(&json!({"refresh_token": rotated}))
        .send()
        .await
        .unwrap();
    assert_problem(after, 401).await;
    let new_access = first["access_token"].as_str().unwrap();
    let response = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(new_access)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    assert_problem(
        app.api(Method::POST, "/auth/refresh", None)
            .json(&json!({"refresh_token": "garbage"}))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

async fn logout_ends_the_session_at_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let response = app
        .api(Method::POST, "/auth/logout", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_problem(app.get("/me", &admin).await, 401).await;
}

async fn deactivating_a_user_revokes_their_sessions_at_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    assert_eq!(app.get("/me", &rep).await.status(), 200);
    let response = app
        .post(
            &format!("/users/{}/deactivate", rep.user_id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["active"], false);
    assert_problem(app.get("/me", &rep).await, 401).await;
    assert_problem(
        app.api(Method::POST, "/auth/refresh", None)
            .json(&json!({"refresh_token": rep.refresh_token}))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let me = json_of(app.get(&format!("/users/{}", rep.user_id), &admin).await).await;
    assert_eq!(me["active"], false);
    // An admin cannot lock themselves out.
    let own = app
        .post(
            &format!("/users/{}/deactivate", admin.user_id),
            &admin,
            json!({}),
        )
        .await;
    assert_problem(own, 422).await;
}

async fn five_failures_lock_an_account_for_fifteen_minutes(db: Db) {
    let app = spawn_app(db).await;
    for _ in 0..4 {
        assert_problem(login_status(&app, ADMIN_EMAIL, "wrong-password").await, 401).await;
    }
    let locked = login_status(&app, ADMIN_EMAIL, "wrong-password").await;
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&retry), "retry-after {retry}");
    assert_problem(locked, 429).await;
    // Even the right password is refused while locked.
    assert_problem(login_status(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await, 429).await;
    // An unknown address behaves the same, so lockout does not reveal which accounts exist.
    for _ in 0..4 {
        assert_problem(
            login_status(&app, "ghost@acme.test", "wrong-password").await,
            401,
        )
        .await;
    }
    let ghost = login_status(&app, "ghost@acme.test", "wrong-password").await;
    assert!(ghost.headers().contains_key("retry-after"));
    assert_problem(ghost, 429).await;
}

async fn login_is_rate_limited_per_ip(db: Db) {
    let app = spawn_app_with(db, |c| c.login_rate_limit = 3).await;
    for _ in 0..3 {
        assert_problem(login_status(&app, "someone@acme.test", "x").await, 401).await;
    }
    let limited = login_status(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_problem(limited, 429).await;
}

async fn api_keys_authenticate_until_revoked(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = app.role_id(&admin, "read_only").await;
    let created = app
        .post(
            "/api-keys",
            &admin,
            json!({"name": "Zapier", "role_id": role}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created = json_of(created).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("rvk_"));
    let listed = json_of(app.get("/api-keys", &admin).await).await;
    assert!(
        !listed.to_string().contains(&secret),
        "a listing never shows the secret"
    );
    let via_header = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(via_header.status(), 200);
    let me = json_of(via_header).await;
    assert_eq!(me["api_key_id"], created["id"]);
    // The key has the read_only role: no administration.
    let users = app
        .client
        .get(format!("{}/api/v1/users", app.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_problem(users, 403).await;
    let revoke = app
        .delete(
            &format!("/api-keys/{}", created["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(revoke.status(), 204);
    let after = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_problem(after, 401).await;
    let wrong = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("x-api-key", "rvk_nope")
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401).await;
}

async fn cookie_sessions_need_the_csrf_token_to_change_anything(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let cookie =
        rivet_server::api::auth::open_web_session(&app.state, admin.company_id, admin.user_id)
            .await
            .unwrap();
    let cookie_pair = cookie.split(';').next().unwrap().to_owned();
    // Reading is fine with the cookie alone.
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", &cookie_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // A form post without the token is refused, and nothing is written.
    let post = app
        .client
        .post(format!("{}/api/v1/teams", app.base))
        .header("cookie", &cookie_pair)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Sneaky")
        .send()
        .await
        .unwrap();
    assert_problem(post, 403).await;
    let json_post = app
        .client
        .post(format!("{}/api/v1/teams", app.base))
        .header("cookie", &cookie_pair)
        .json(&json!({"name": "Sneaky"}))
        .send()
        .await
        .unwrap();
    assert_problem(json_post, 403).await;
    let teams = json_of(app.get("/teams", &admin).await).await;
    assert_eq!(teams["data"].as_array().unwrap().len(), 0);
    // With the session's token it works.
    let token =
        rivet_store::sessions::find_web(&app.state.store, cookie_pair.split_once('=').unwrap().1)
            .await
            .unwrap()
            .unwrap()
            .3;
    let ok = app
        .client
        .post(format!("{}/api/v1/teams", app.base))
        .header("cookie", &cookie_pair)
        .header("x-csrf-token", token)
        .json(&json!({"name": "Legit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
}

async fn a_member_of_two_companies_switches_between_them(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let role = app.role_id(&globex, "sales").await;
    // The Acme admin joins Globex as a sales rep (keeps their password).
    let joined = app
        .post(
            "/users",
            &globex,
            json!({"email": ADMIN_EMAIL, "name": "Ann", "role_id": role}),
        )
        .await;
    assert_eq!(joined.status(), 201);
    assert!(
        json_of(joined).await["invitation_url"].is_null(),
        "an existing user needs no invitation"
    );
    let me = json_of(app.get("/me", &admin).await).await;
    assert_eq!(me["companies"].as_array().unwrap().len(), 2);
    let switched = app
        .post(
            "/auth/switch-company",
            &admin,
            json!({"company_id": globex.company_id}),
        )
        .await;
    assert_eq!(switched.status(), 200);
    let in_globex = app.session_from(switched).await;
    let me = json_of(app.get("/me", &in_globex).await).await;
    assert_eq!(me["company"]["name"], "Globex");
    assert_eq!(me["user"]["role_name"], "sales");
    assert_problem(app.get("/users", &in_globex).await, 403).await;
    // Signing in straight to a company works too.
    let direct = app
        .api(Method::POST, "/auth/login", None)
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "company": globex.company_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(direct).await["company_id"],
        globex.company_id.to_string()
    );
    // A company one does not belong to is not found.
    let stranger = app.other_company("Initech").await;
    let refused = app
        .post(
            "/auth/switch-company",
            &admin,
            json!({"company_id": stranger.company_id}),
        )
        .await;
    assert_problem(refused, 404).await;
}

async fn an_invited_user_sets_a_password_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let role = app.role_id(&admin, "support").await;
    let created = json_of(
        app.post(
            "/users",
            &admin,
            json!({"email": "new@acme.test", "name": "New", "role_id": role}),
        )
        .await,
    )
    .await;
    let url = created["invitation_url"].as_str().unwrap();
    let token = url.rsplit('/').next().unwrap();
    assert_eq!(created["has_password"], false);
    assert_problem(
        login_status(&app, "new@acme.test", "anything-at-all").await,
        401,
    )
    .await;
    let weak = app
        .api(Method::POST, "/auth/accept-invitation", None)
        .json(&json!({"token": token, "password": "short"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(weak, 422).await;
    assert_eq!(problem["errors"][0]["field"], "password");
    let ok = app
        .api(Method::POST, "/auth/accept-invitation", None)
        .json(&json!({"token": token, "password": "a-good-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    app.login("new@acme.test", "a-good-password").await;
    let again = app
        .api(Method::POST, "/auth/accept-invitation", None)
        .json(&json!({"token": token, "password": "another-password"}))
        .send()
        .await
        .unwrap();
    assert_problem(again, 422).await;
}

both!(
    wrong_password_and_unknown_account_answer_the_same_401,
    requests_without_valid_tokens_are_refused,
    refresh_rotates_and_a_reused_token_revokes_the_family,
    logout_ends_the_session_at_once,
    deactivating_a_user_revokes_their_sessions_at_once,
    five_failures_lock_an_account_for_fifteen_minutes,
    login_is_rate_limited_per_ip,
    api_keys_authenticate_until_revoked,
    cookie_sessions_need_the_csrf_token_to_change_anything,
    a_member_of_two_companies_switches_between_them,
    an_invited_user_sets_a_password_once,
);

async fn sign_up_creates_a_company_only_when_allowed_and_never_for_a_taken_email(db: Db) {
    let app = spawn_app(db).await;
    let body = json!({"company_name": "Newco", "email": "founder@newco.test", "password": "founder-password"});
    let refused = app
        .api(Method::POST, "/auth/signup", None)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403).await;
    let mut settings = rivet_store::settings::get_system(&app.state.store)
        .await
        .unwrap();
    settings.allow_signup = true;
    let admin = app.admin().await;
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
    rivet_store::settings::put_system(&app.state.store, &actor, &settings)
        .await
        .unwrap();
    let created = app
        .api(Method::POST, "/auth/signup", None)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let founder = app.session_from(created).await;
    let me = json_of(app.get("/me", &founder).await).await;
    assert_eq!(me["company"]["name"], "Newco");
    assert_eq!(me["user"]["role_name"], "admin");
    assert_eq!(me["is_system_admin"], false);
    // Someone else's e-mail cannot be used to sign up (it would hand over their account).
    let hijack =
        json!({"company_name": "Evil", "email": ADMIN_EMAIL, "password": "attacker-password"});
    let response = app
        .api(Method::POST, "/auth/signup", None)
        .json(&hijack)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 409).await;
    assert_eq!(problem["errors"][0]["field"], "email");
    let invalid = json!({"company_name": "", "email": "nope", "password": "x"});
    let response = app
        .api(Method::POST, "/auth/signup", None)
        .json(&invalid)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["company_name", "email", "password"]);
}

both!(sign_up_creates_a_company_only_when_allowed_and_never_for_a_taken_email);
