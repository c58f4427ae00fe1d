//! The pages that belong to one person: an invitation link that cannot be used (404 or 410, no
//! form, the way to sign in), the profile (name, password, other sessions), and the home page
//! with the caller's own tasks, deals and leads — not another rep's — and the administration
//! counts for administrators only; amounts on the pages grouped with their currency.

use super::{Page, get_page, hidden_value, post_form, sign_in_at, web_client, web_sign_in};
use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use rivet_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, Session, TestApp, json_of, spawn_app,
};
use serde_json::{Value, json};

async fn email_of(app: &TestApp, who: &Session) -> String {
    json_of(app.get("/me", who).await).await["user"]["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An invitation for a new support member; returns the link's path (`/invite/…`).
async fn invite(app: &TestApp, admin: &Session, email: &str) -> String {
    let role = app.role_id(admin, "support").await;
    let created = json_of(
        app.post(
            "/users",
            admin,
            json!({"email": email, "name": "Invited Person", "role_id": role}),
        )
        .await,
    )
    .await;
    let url = created["invitation_url"].as_str().unwrap();
    url[url.find("/invite/").unwrap()..].to_owned()
}

/// The answer for a link that cannot set a password: `status`, a page saying so with a link to
/// the sign-in page, and no form.
async fn assert_dead_link(response: reqwest::Response, status: u16, says: &str) {
    assert_eq!(response.status(), status);
    let page = response.text().await.unwrap();
    assert!(page.contains(says), "{page}");
    assert!(page.contains(r#"href="/login""#), "a sign-in link: {page}");
    assert!(
        !page.contains("<form") && !page.contains(r#"type="password""#),
        "no form: {page}"
    );
}

async fn invitation_links_over_http(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let visitor = web_client();

    // A token no invitation has: 404, for the page and for a post to it.
    assert_dead_link(
        get_page(&app, &visitor, "/invite/not-a-real-token").await,
        404,
        "This invitation link is invalid",
    )
    .await;
    let post = post_form(
        &app,
        &visitor,
        "/invite/not-a-real-token",
        &[
            ("password", "a long enough password"),
            ("confirm", "a long enough password"),
        ],
    )
    .await;
    assert_dead_link(post, 404, "This invitation link is invalid").await;

    // An open invitation shows the form.
    let open = invite(&app, &admin, "open@acme.test").await;
    let page = get_page(&app, &visitor, &open).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Set your password"));

    // Expired: 410, and posting the form does not set a password.
    let expired = invite(&app, &admin, "late@acme.test").await;
    use rivet_store::sea_orm::ConnectionTrait;
    app.state
        .store
        .system()
        .execute_unprepared(
            "UPDATE invitations SET expires_at = '2000-01-01T00:00:00+00:00' WHERE user_id IN \
             (SELECT id FROM users WHERE email = 'late@acme.test')",
        )
        .await
        .unwrap();
    assert_dead_link(
        get_page(&app, &visitor, &expired).await,
        410,
        "This invitation has expired",
    )
    .await;
    let post = post_form(
        &app,
        &visitor,
        &expired,
        &[
            ("password", "a long enough password"),
            ("confirm", "a long enough password"),
        ],
    )
    .await;
    assert_dead_link(post, 410, "This invitation has expired").await;
    let login = app
        .api(reqwest::Method::POST, "/auth/login", None)
        .json(&json!({"email": "late@acme.test", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401, "no password was set");

    // Used once: the link is gone.
    let response = post_form(
        &app,
        &visitor,
        &open,
        &[
            ("password", "a long enough password"),
            ("confirm", "a long enough password"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_dead_link(
        get_page(&app, &web_client(), &open).await,
        410,
        "This invitation has expired",
    )
    .await;
}

rivet_tests::both!(unknown_and_expired_invitation_links_say_so_and_offer_the_sign_in_page => invitation_links_over_http);

async fn profile_over_http(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let rep = app.member(&admin, "sales").await;
    let email = email_of(&app, &rep).await;
    let (browser, csrf) = web_sign_in(&app, &email, PASSWORD).await;
    let (laptop, _) = web_sign_in(&app, &email, PASSWORD).await;
    let phone = app.login(&email, PASSWORD).await;

    // Every page links to the profile from the caller's name.
    let home = get_page(&app, &browser, "/").await.text().await.unwrap();
    assert!(home.contains(r#"href="/profile""#), "{home}");
    let page = get_page(&app, &browser, "/profile").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&email) && page.contains(r#"id="profile-current_password""#));

    // The name: an empty one is refused next to the field, a good one saved.
    let refused = post_form(
        &app,
        &browser,
        "/profile",
        &[("csrf_token", &csrf), ("name", " ")],
    )
    .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains(r#"id="profile-name-error""#)
    );
    let saved = post_form(
        &app,
        &browser,
        "/profile",
        &[("csrf_token", &csrf), ("name", "Rita Rep")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let page = get_page(&app, &browser, "/profile")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Saved your name, Rita Rep.") && page.contains(r#"value="Rita Rep""#));

    // The password: each mistake next to its field, nothing changed.
    let new = "a-fresh-web-password-3";
    for (current, new_password, confirm, field) in [
        ("wrong-password", new, new, "current_password"),
        (PASSWORD, "short", "short", "new_password"),
        (PASSWORD, new, "something else", "confirm"),
    ] {
        let response = post_form(
            &app,
            &browser,
            "/profile/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", current),
                ("new_password", new_password),
                ("confirm", confirm),
            ],
        )
        .await;
        assert_eq!(response.status(), 422, "{field}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!(r#"id="profile-{field}-error""#)),
            "{field}: {page}"
        );
        assert!(
            !page.contains(&format!(r#"value="{current}""#))
                && !page.contains(&format!(r#"value="{new_password}""#)),
            "passwords are not sent back: {page}"
        );
    }
    assert_eq!(get_page(&app, &laptop, "/").await.status(), 200);

    let changed = post_form(
        &app,
        &browser,
        "/profile/password",
        &[
            ("csrf_token", &csrf),
            ("current_password", PASSWORD),
            ("new_password", new),
            ("confirm", new),
        ],
    )
    .await;
    assert_eq!(changed.status(), 303);
    let page = get_page(&app, &browser, "/profile").await;
    assert_eq!(page.status(), 200, "this session goes on");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Your password is changed.")
    );
    // The other browser and the API session are signed out.
    let other = get_page(&app, &laptop, "/").await;
    assert_eq!(other.status(), 303);
    assert_eq!(other.headers()["location"], "/login");
    assert_eq!(app.get("/me", &phone).await.status(), 401);
    let (_, _) = web_sign_in(&app, &email, new).await;

    // Signing out of the other sessions keeps this one.
    let (tablet, _) = web_sign_in(&app, &email, new).await;
    let ended = post_form(
        &app,
        &browser,
        "/profile/sessions",
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(ended.status(), 303);
    assert_eq!(get_page(&app, &tablet, "/").await.status(), 303);
    let page = get_page(&app, &browser, "/profile")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Signed out of"), "{page}");
}

rivet_tests::both!(a_person_changes_their_name_and_password_on_the_profile_page => profile_over_http);

/// Create through the API as `who`, returning the record.
async fn create(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let response = app.post(path, who, body).await;
    assert_eq!(response.status(), 201, "create {path}");
    json_of(response).await
}

async fn home_over_http(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let alice = app.member(&admin, "sales").await;
    let bob = app.member(&admin, "sales").await;
    let now = chrono::Utc::now();
    let yesterday = (now - chrono::Duration::days(1)).to_rfc3339();
    let next_week = (now + chrono::Duration::days(7)).to_rfc3339();
    for (who, name, amount) in [(&alice, "Alpha", "1234567.89"), (&bob, "Bravo", "5555")] {
        create(
            &app,
            who,
            "/tasks",
            json!({"subject": format!("Call {name} back"), "due_at": yesterday}),
        )
        .await;
        create(
            &app,
            who,
            "/leads",
            json!({"first_name": name, "last_name": "Lead"}),
        )
        .await;
        create(
            &app,
            who,
            "/deals",
            json!({"name": format!("{name} deal"), "amount": amount, "currency": "USD"}),
        )
        .await;
    }
    create(
        &app,
        &alice,
        "/tasks",
        json!({"subject": "Plan next week", "due_at": next_week}),
    )
    .await;
    let done = create(
        &app,
        &alice,
        "/tasks",
        json!({"subject": "Already done", "due_at": yesterday}),
    )
    .await;
    let id = done["id"].as_str().unwrap();
    let response = app
        .patch(
            &format!("/tasks/{id}"),
            &alice,
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(response.status(), 200);

    let (web, _) = web_sign_in(&app, &email_of(&app, &alice).await, PASSWORD).await;
    let home = get_page(&app, &web, "/").await.text().await.unwrap();
    for mine in [
        "Your tasks",
        "Call Alpha back",
        "Overdue",
        "Your open deals",
        "$1,234,567.89",
        "Alpha Lead",
        r#"href="/tasks?tab=overdue""#,
    ] {
        assert!(home.contains(mine), "{mine} on a rep's home page: {home}");
    }
    for not_mine in [
        "Call Bravo back",
        "Bravo Lead",
        "$5,555.00",
        "Plan next week",
        "Already done",
        "Active members",
        "Recent activity",
    ] {
        assert!(
            !home.contains(not_mine),
            "{not_mine} on a rep's home page: {home}"
        );
    }

    // An administrator has their own lists (empty here) and the company's counts below.
    let (web, _) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let home = get_page(&app, &web, "/").await.text().await.unwrap();
    assert!(
        home.contains("Active members") && home.contains("Recent activity"),
        "{home}"
    );
    assert!(
        home.contains("You have no open deals.") && !home.contains("Alpha Lead"),
        "{home}"
    );
    let (tasks, cards) = (
        home.find("Your tasks").unwrap(),
        home.find("Active members").unwrap(),
    );
    assert!(tasks < cards, "the caller's own lists come first");

    // Amounts are grouped with their currency: the board and an account's page.
    let board = get_page(&app, &web, "/deals/board")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        board.contains("$1,234,567.89") && board.contains("$5,555.00"),
        "{board}"
    );
    assert!(!board.contains("1234567.89 USD"), "{board}");
    let account = create(
        &app,
        &admin,
        "/accounts",
        json!({"name": "Big Co", "annual_revenue": "168970400", "annual_revenue_currency": "USD"}),
    )
    .await;
    let page = get_page(
        &app,
        &web,
        &format!("/accounts/{}", account["id"].as_str().unwrap()),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("$168,970,400.00"), "{page}");
    // The API keeps its decimal strings.
    assert_eq!(account["annual_revenue"], "168970400.00");
}

rivet_tests::both!(the_home_page_shows_a_reps_own_work_and_admin_counts_only_to_admins => home_over_http);

/// In the browser: the name in the sidebar opens the profile; a wrong current password is
/// shown next to its field; the new password works at the next sign-in and the old one not.
pub(super) async fn profile_steps(app: &TestApp, page: &Page<'_>) -> Result<()> {
    let admin = app.admin().await;
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    create(
        app,
        &admin,
        "/tasks",
        json!({"subject": "Renew the lease", "due_at": yesterday}),
    )
    .await;
    create(
        app,
        &admin,
        "/leads",
        json!({"first_name": "Grace", "last_name": "Hopper"}),
    )
    .await;
    create(
        app,
        &admin,
        "/deals",
        json!({"name": "Fleet", "amount": "7605090", "currency": "USD"}),
    )
    .await;
    sign_in_at(page, "/").await?;
    // The home page starts with the caller's own work.
    for text in [
        "Renew the lease",
        "Grace Hopper",
        "$7,605,090.00",
        "Active members",
    ] {
        page.expect_text(text).await?;
    }
    page.client
        .find(Locator::Css("a.who"))
        .await
        .context("the caller's name in the sidebar")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == "/profile",
        "on {}",
        page.path().await?
    );
    page.expect_text("Your profile").await?;

    let new = "a-browser-password-4";
    page.fill("profile-current_password", "not my password")
        .await?;
    page.fill("profile-new_password", new).await?;
    page.fill("profile-confirm", new).await?;
    page.click_button("Change password").await?;
    let error = page
        .client
        .find(Locator::Id("profile-current_password-error"))
        .await
        .context("an error next to the current password")?
        .text()
        .await?;
    ensure!(error.contains("Current password is not correct"), "{error}");
    page.shot("profile with a wrong current password").await?;

    page.fill("profile-current_password", ADMIN_PASSWORD)
        .await?;
    page.fill("profile-new_password", new).await?;
    page.fill("profile-confirm", new).await?;
    page.click_button("Change password").await?;
    page.expect_text("Your password is changed.").await?;

    page.click_button("Sign out").await?;
    page.goto("/login").await?;
    page.fill("login-email", ADMIN_EMAIL).await?;
    page.fill("login-password", ADMIN_PASSWORD).await?;
    page.click_button("Sign in").await?;
    page.expect_text("The e-mail address or password is incorrect.")
        .await?;
    page.fill("login-password", new).await?;
    page.click_button("Sign in").await?;
    ensure!(page.path().await? == "/", "signed in with the new password");
    // The hidden field is the page's CSRF token: the session is a real one.
    let html = page.client.source().await?;
    ensure!(!hidden_value(&html, "csrf_token").is_empty(), "a session");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn the_profile_page_changes_the_password_in_the_browser() {
    super::journey_on_both(super::Journey::Profile).await;
}
