//! The browser test: the real application in headless Chromium, driven through WebDriver
//! (`chromedriver`), on SQLite and PostgreSQL.
//!
//! An administrator signs in through `/login`, adds a user (after a rejected attempt whose error
//! sits next to its field), changes one permission of a role in the matrix, and finds both
//! changes on the audit log page; a form post without the CSRF token is refused; the other pages
//! open and the job buttons work; an invited member sets a password through the invitation
//! link; a manager sees neither the roles link nor the page.
//!
//! The tests that drive Chromium are `#[ignore]`d (a plain `cargo test` lists them as ignored);
//! `cargo test -- --include-ignored` runs them, and there a missing browser, or a missing
//! `RIVET_TEST_DATABASE_URL`, fails them. The tests over plain HTTP run on SQLite always and on
//! PostgreSQL with the other ignored halves. `RIVET_CHROMIUM` and `RIVET_CHROMEDRIVER`
//! override the binaries (default `/usr/bin/chromium`, `/usr/bin/chromedriver`), and
//! `RIVET_BROWSER_SCREENSHOTS=<dir>` saves a PNG of each page visited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use rivet_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, PASSWORD, TestApp, spawn_app};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

mod activities;
mod admin_pages;
mod assignment;
mod board;
mod conversion;
mod custom_fields;
mod deals;
mod duplicates;
mod email;
mod exports;
mod imports;
mod lead_forms;
mod merge;
mod notifications;
mod personal;
mod scoring;
mod sequences;
mod tasks;
mod templates;
mod views;
mod web_routes;
mod webhooks;
mod whatsapp;
mod workflows;

fn binary(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var(var)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| default.to_owned());
    let path = PathBuf::from(path);
    path.is_file().then_some(path)
}

/// A running chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
    dir: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Start chromedriver on a free port. A browser test is `#[ignore]`d unless asked for, so a
    /// missing browser fails it here. (The `Option` stays for the callers' `let … else`; it is
    /// never `None`.)
    async fn start() -> Option<Driver> {
        let found = (
            binary("RIVET_CHROMIUM", "/usr/bin/chromium"),
            binary("RIVET_CHROMEDRIVER", "/usr/bin/chromedriver"),
        );
        let (Some(chromium), Some(chromedriver)) = found else {
            panic!(
                "this browser test needs Chromium and chromedriver \
                 (apt-get install -y chromium chromium-driver, or set RIVET_CHROMIUM and \
                 RIVET_CHROMEDRIVER)"
            );
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::File::create(dir.path().join("chromedriver.log")).expect("log file");
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
            dir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "chromedriver did not start; see {}",
            driver.dir.path().join("chromedriver.log").display()
        );
    }

    /// A new browser with a fresh profile (no cookies from an earlier session).
    async fn browser(&self) -> Client {
        let profile = tempfile::tempdir_in(self.dir.path()).expect("profile dir");
        let profile = profile.keep();
        let caps = json!({
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        ClientBuilder::rustls()
            .expect("TLS connector")
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("open a browser session")
    }
}

/// The browser plus what a step needs to report a failure well.
struct Page<'a> {
    client: &'a Client,
    base: &'a str,
    shots: Option<PathBuf>,
    label: String,
    step: std::sync::atomic::AtomicUsize,
}

impl Page<'_> {
    async fn goto(&self, path: &str) -> Result<()> {
        self.client
            .goto(&format!("{}{}", self.base, path))
            .await
            .with_context(|| format!("open {path}"))?;
        self.shot(path).await
    }

    async fn path(&self) -> Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        })
    }

    async fn main_text(&self) -> Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    async fn expect_text(&self, needle: &str) -> Result<()> {
        let text = self.main_text().await?;
        ensure!(
            text.contains(needle),
            "[{}] expected {needle:?} on {} but the page says:\n{text}",
            self.label,
            self.path().await?
        );
        Ok(())
    }

    async fn fill(&self, id: &str, value: &str) -> Result<()> {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .with_context(|| format!("field #{id}"))?;
        field.clear().await?;
        field.send_keys(value).await?;
        Ok(())
    }

    async fn choose(&self, css: &str, label: &str) -> Result<()> {
        self.client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("select {css}"))?
            .select_by_label(label)
            .await
            .with_context(|| format!("option {label:?} of {css}"))?;
        Ok(())
    }

    /// Click a submit button and wait for the page it leads to: the old document is marked,
    /// and the step is over when a document without the mark has loaded.
    async fn click_button(&self, text: &str) -> Result<()> {
        // Buttons in table rows end with hidden text naming their row.
        let xpath = format!("//button[starts-with(normalize-space(.), {text:?})]");
        let here = self.path().await?;
        let button = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .with_context(|| format!("button {text:?} on {here}"))?;
        self.client
            .execute("window.rivetOldPage = true; return null;", vec![])
            .await?;
        button.click().await?;
        self.wait_for_new_page()
            .await
            .with_context(|| format!("no new page after clicking {text:?} on {here}"))?;
        let path = self.path().await?;
        self.shot(&format!("after {text} {path}")).await
    }

    async fn wait_for_new_page(&self) -> Result<()> {
        let probe = "return window.rivetOldPage !== true && document.readyState === 'complete';";
        for _ in 0..200 {
            if let Ok(Value::Bool(true)) = self.client.execute(probe, vec![]).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("timed out")
    }

    async fn shot(&self, name: &str) -> Result<()> {
        let Some(dir) = &self.shots else {
            return Ok(());
        };
        let png = self.client.screenshot().await?;
        let step = self.step.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file: String = format!("{}-{step:02}-{name}", self.label)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(format!("{file}.png")), png)?;
        Ok(())
    }
}

/// The scenario; errors carry the page text so a failure explains itself.
async fn admin_journey(app: &TestApp, driver: &Driver, shots: Option<&Path>) -> Result<()> {
    let label = format!("{:?}", app.db).to_lowercase();
    let client = driver.browser().await;
    let page = Page {
        client: &client,
        base: &app.base,
        shots: shots.map(Path::to_path_buf),
        label: label.clone(),
        step: Default::default(),
    };
    let result = admin_steps(app, &page).await;
    client.close().await.ok();
    let (manager_email, invitation) = result?;

    // A second browser: the invited member accepts, then the manager signs in and meets the
    // limits of their role.
    let client = driver.browser().await;
    let page = Page {
        client: &client,
        base: &app.base,
        shots: shots.map(Path::to_path_buf),
        label: format!("{label}-members"),
        step: Default::default(),
    };
    let result = member_steps(&page, &manager_email, &invitation).await;
    client.close().await.ok();
    result
}

async fn admin_steps(app: &TestApp, page: &Page<'_>) -> Result<(String, String)> {
    // An anonymous visit goes to the sign-in page and comes back afterwards.
    page.goto("/admin/users").await?;
    ensure!(
        page.path()
            .await?
            .starts_with("/login?next=%2Fadmin%2Fusers"),
        "anonymous users are sent to sign in, got {}",
        page.path().await?
    );
    let skip = page.client.find(Locator::Css("a.skip-link")).await?;
    ensure!(
        skip.attr("href").await?.as_deref() == Some("#main"),
        "skip link"
    );

    page.fill("login-email", ADMIN_EMAIL).await?;
    page.fill("login-password", "wrong password").await?;
    page.click_button("Sign in").await?;
    page.expect_text("The e-mail address or password is incorrect.")
        .await?;
    page.fill("login-password", ADMIN_PASSWORD).await?;
    page.click_button("Sign in").await?;
    ensure!(
        page.path().await? == "/admin/users",
        "signed in and back on the users page, got {}",
        page.path().await?
    );
    page.expect_text("Invite a user").await?;

    // A bad e-mail address is refused next to its field, and what was typed stays.
    let email = format!("grace-{}@acme.test", uuid::Uuid::new_v4().simple());
    page.fill("invite-name", "Grace Hopper").await?;
    page.fill("invite-email", "grace at acme").await?;
    page.choose("#invite-role_id", "manager").await?;
    page.fill("invite-password", PASSWORD).await?;
    page.click_button("Add user").await?;
    let error = page
        .client
        .find(Locator::Id("invite-email-error"))
        .await
        .context("an error next to the e-mail field")?;
    let message = error.text().await?;
    ensure!(
        message.contains("E-mail address is not a valid e-mail address"),
        "error message: {message}"
    );
    let described = page
        .client
        .find(Locator::Id("invite-email"))
        .await?
        .attr("aria-describedby")
        .await?
        .unwrap_or_default();
    ensure!(
        described.contains("invite-email-error"),
        "the field points at its error: {described}"
    );
    let kept = page
        .client
        .find(Locator::Id("invite-name"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        kept.as_deref() == Some("Grace Hopper"),
        "the name is kept: {kept:?}"
    );

    page.fill("invite-email", &email).await?;
    page.choose("#invite-role_id", "manager").await?;
    page.fill("invite-password", PASSWORD).await?;
    page.click_button("Add user").await?;
    page.expect_text(&format!("Added Grace Hopper ({email})."))
        .await?;
    page.expect_text(&email).await?;

    // Without a password the answer is a one-time invitation link.
    page.fill("invite-name", "Alan Turing").await?;
    page.fill("invite-email", "alan@acme.test").await?;
    page.choose("#invite-role_id", "read_only").await?;
    page.click_button("Add user").await?;
    page.expect_text("Alan Turing is invited").await?;
    let url = page
        .client
        .find(Locator::Id("invitation-url"))
        .await?
        .text()
        .await?;
    let invitation = url
        .find("/invite/")
        .map(|i| url[i..].to_owned())
        .with_context(|| format!("an invitation link: {url}"))?;

    // One permission of a built-in role changes in the matrix.
    page.goto("/admin/roles").await?;
    page.client
        .find(Locator::LinkText("sales"))
        .await
        .context("the sales role in the list")?
        .click()
        .await?;
    let cell = page
        .client
        .find(Locator::Css("select[name='leads.delete']"))
        .await
        .context("the leads/delete cell")?;
    let before = cell.prop("value").await?;
    ensure!(
        before.as_deref() == Some("own"),
        "sales may delete their own leads at first: {before:?}"
    );
    cell.select_by_value("none").await?;
    page.click_button("Save permissions").await?;
    page.expect_text("Saved the permissions of sales.").await?;
    let after = page
        .client
        .find(Locator::Css("select[name='leads.delete']"))
        .await?
        .prop("value")
        .await?;
    ensure!(after.as_deref() == Some("none"), "saved scope: {after:?}");

    // Both changes are in the audit log, with what changed.
    page.goto("/admin/audit").await?;
    page.expect_text(&email).await?;
    page.expect_text("permissions › leads.delete").await?;
    let row = page
        .client
        .find(Locator::XPath("//tr[.//dt[contains(., 'leads.delete')]]"))
        .await
        .context("the audit row of the role change")?
        .text()
        .await?;
    ensure!(
        row.contains("Roles") && row.contains("sales") && row.contains("own → —"),
        "role change row: {row}"
    );
    page.choose("#audit-resource", "Users").await?;
    page.click_button("Filter").await?;
    page.expect_text(&email).await?;
    let filtered = page.main_text().await?;
    ensure!(
        !filtered.contains("leads.delete"),
        "the users filter hides the role change"
    );

    // A state-changing post without the CSRF token is refused; with it, it works.
    let csrf_status = |with_token: bool| {
        let script = format!(
            r#"const done = arguments[arguments.length - 1];
               const token = document.querySelector("input[name=csrf_token]").value;
               const body = "name=Browser%20team" + ({with_token} ? "&csrf_token=" + encodeURIComponent(token) : "");
               fetch("/admin/teams", {{method: "POST", headers: {{"Content-Type": "application/x-www-form-urlencoded"}}, body, redirect: "manual"}})
                 .then(r => done(r.status), e => done(String(e)));"#
        );
        async move { page.client.execute_async(&script, vec![]).await }
    };
    let refused = csrf_status(false).await?;
    ensure!(refused == json!(403), "a post without the token: {refused}");
    let accepted = csrf_status(true).await?;
    // A manual redirect is an opaque response with status 0: the 303 after success.
    ensure!(accepted == json!(0), "a post with the token: {accepted}");
    let admin = app.admin().await;
    let teams: Value = app.get("/teams", &admin).await.json().await?;
    let names: Vec<&str> = teams["data"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        names == ["Browser team"],
        "only the post with the token made a team: {names:?}"
    );

    // Every other page opens, and the operations pages act through their buttons.
    for (path, heading) in [
        ("/", "Recent activity"),
        ("/admin/teams", "New team"),
        ("/admin/api-keys", "New API key"),
        ("/settings", "Company settings"),
        ("/admin/logs", "Events per hour"),
        ("/admin/system", "Save system settings"),
    ] {
        page.goto(path).await?;
        page.expect_text(heading).await?;
    }
    page.goto("/admin/api-keys").await?;
    page.fill("key-name", "Website forms").await?;
    page.click_button("Create key").await?;
    page.expect_text("This is the only time the key is shown.")
        .await?;
    let secret = page
        .client
        .find(Locator::Id("api-key-secret"))
        .await?
        .text()
        .await?;
    ensure!(secret.starts_with("rvk_"), "the new key's secret: {secret}");

    rivet_store::jobs::enqueue_now(
        &app.state.store,
        rivet_store::jobs::NewJob::new("demo.export", json!({"rows": 10}))
            .for_company(app.company_id),
    )
    .await?;
    page.goto("/admin/jobs").await?;
    page.expect_text("demo.export").await?;
    let cancel = page
        .client
        .find(Locator::XPath(
            "//button[starts-with(normalize-space(.), 'Cancel')]",
        ))
        .await
        .context("the cancel button of the queued job")?;
    page.client
        .execute("window.rivetOldPage = true; return null;", vec![])
        .await?;
    cancel.click().await?;
    // The button asks first (rivet.js); accepting the dialog submits the form.
    page.client.accept_alert().await?;
    page.wait_for_new_page().await?;
    page.expect_text("Cancelled the demo.export job.").await?;
    page.click_button("Retry").await?;
    page.expect_text("Queued the demo.export job again.")
        .await?;
    page.shot("jobs after retry").await?;

    // Signing out ends the session.
    page.click_button("Sign out").await?;
    page.expect_text("You have signed out.").await?;
    page.goto("/").await?;
    ensure!(
        page.path().await? == "/login",
        "signed out: {}",
        page.path().await?
    );
    Ok((email, invitation))
}

async fn member_steps(page: &Page<'_>, email: &str, invitation: &str) -> Result<()> {
    // The invited member sets a password and is signed in.
    page.goto(invitation).await?;
    page.fill("invite-password", "short").await?;
    page.fill("invite-confirm", "short").await?;
    page.click_button("Set password and sign in").await?;
    let error = page
        .client
        .find(Locator::Id("invite-password-error"))
        .await
        .context("the password policy next to the field")?
        .text()
        .await?;
    ensure!(
        error.contains("Password must be at least"),
        "policy message: {error}"
    );
    page.fill("invite-password", "a long enough password")
        .await?;
    page.fill("invite-confirm", "a long enough password")
        .await?;
    page.click_button("Set password and sign in").await?;
    page.expect_text("Welcome to Rivet. Your password is set.")
        .await?;
    page.expect_text("Welcome, Alan").await?;
    page.click_button("Sign out").await?;

    // A manager signs in with the password the administrator gave.
    page.goto("/login").await?;
    page.fill("login-email", email).await?;
    page.fill("login-password", PASSWORD).await?;
    page.click_button("Sign in").await?;
    ensure!(
        page.path().await? == "/",
        "home after sign-in: {}",
        page.path().await?
    );
    page.expect_text("Welcome, Grace").await?;
    let nav = page
        .client
        .find(Locator::Css("nav.nav"))
        .await?
        .text()
        .await?;
    ensure!(
        nav.contains("Users") && !nav.contains("Roles") && !nav.contains("Audit log"),
        "a manager's navigation: {nav}"
    );
    page.goto("/admin/roles").await?;
    page.expect_text("You don't have access to this page")
        .await?;
    Ok(())
}

async fn run(db: Db, driver: &Driver) {
    let app = spawn_app(db).await;
    let shots = std::env::var("RIVET_BROWSER_SCREENSHOTS")
        .ok()
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    if let Err(err) = admin_journey(&app, driver, shots.as_deref()).await {
        panic!(
            "{db:?}: {err:#}\n(chromedriver log: {})",
            driver.dir.path().join("chromedriver.log").display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn admin_signs_in_adds_a_user_changes_a_role_and_finds_both_in_the_audit_log() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    run(Db::Sqlite, &driver).await;
    run(Db::Postgres, &driver).await;
}

// ---------------------------------------------------------------------------------------------
// The same pages over plain HTTP: what a browser is not needed to see (headers, status codes,
// cookies), so these run even where Chromium is not installed.

fn web_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of `name="…" value="…"` in a page.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect(name) + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `GET path` of the application as `client` (its cookies; redirects are not followed).
async fn get_page(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

/// Post `fields` as a form to `path` of the application as `client`.
async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{}{path}", app.base))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Sign in through the form with a fresh cookie jar; returns the client and a CSRF token.
async fn web_sign_in(app: &TestApp, email: &str, password: &str) -> (reqwest::Client, String) {
    let client = web_client();
    let page = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let response = client
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/"),
            ("login_token", &hidden_value(&html, "login_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "sign in as {email}");
    let home = client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let csrf = hidden_value(&home.text().await.unwrap(), "csrf_token");
    (client, csrf)
}

async fn pages_over_http(db: Db) {
    let app = spawn_app(db).await;
    let anonymous = web_client();

    // Anonymous visitors are sent to sign in; the sign-in page sets its double-submit cookie.
    let response = get_page(&app, &anonymous, "/admin/users?q=a").await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        header(&response, "location"),
        "/login?next=%2Fadmin%2Fusers%3Fq%3Da"
    );
    let response = get_page(&app, &anonymous, "/login").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/html"));
    assert!(header(&response, "content-security-policy").contains("script-src 'self'"));
    let cookies = header(&response, "set-cookie");
    assert!(
        cookies.contains("rivet_login=")
            && cookies.contains("HttpOnly")
            && cookies.contains("SameSite=Strict"),
        "{cookies}"
    );

    // A sign-in form posted from elsewhere (no matching token) is refused.
    let response = web_client()
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("login_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The sign-in form expired")
    );

    // The session cookie is HttpOnly and SameSite; a form without the CSRF token is refused.
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let response = admin
        .post(format!("{}/admin/teams", app.base))
        .form(&[("name", "No token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = admin
        .post(format!("{}/admin/teams", app.base))
        .form(&[("name", "With token"), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/admin/teams");
    let page = get_page(&app, &admin, "/admin/teams")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Created the team With token.") && !page.contains("No token"));

    // The settings page shows the company's id, which `rivet user create --company` takes.
    let page = get_page(&app, &admin, "/settings")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<code>{}</code>", app.company_id)),
        "{page}"
    );

    // A bad form answers 422 with the message next to its field and the value kept.
    let response = admin
        .post(format!("{}/settings", app.base))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Acme"),
            ("timezone", "Mars/Olympus"),
            ("currency", "usd"),
            ("fiscal_year_start_month", "1"),
            ("locale", "en-US"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="settings-currency-error""#), "{page}");
    assert!(page.contains(r#"aria-describedby="settings-currency-error"#));
    assert!(page.contains(r#"value="usd""#));

    // Static files, unknown pages and API paths.
    let response = get_page(&app, &anonymous, "/assets/web/rivet.css").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/css"));
    assert_eq!(
        get_page(&app, &anonymous, "/assets/web/missing.js")
            .await
            .status(),
        404
    );
    let response = get_page(&app, &admin, "/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(header(&response, "content-type").starts_with("text/html"));
    let response = get_page(&app, &anonymous, "/api/v2/leads").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );

    // Pages a role may not open answer 403 with a page, and their links are not shown.
    let api_admin = app.admin().await;
    let sales = app.member(&api_admin, "sales").await;
    let me: Value = app.get("/me", &sales).await.json().await.unwrap();
    let (rep, _) = web_sign_in(&app, me["user"]["email"].as_str().unwrap(), PASSWORD).await;
    let home = get_page(&app, &rep, "/").await.text().await.unwrap();
    assert!(
        !home.contains(r#"href="/admin/users""#),
        "a sales rep sees no users link"
    );
    for path in [
        "/admin/users",
        "/admin/roles",
        "/admin/audit",
        "/admin/jobs",
        "/admin/system",
    ] {
        let response = get_page(&app, &rep, path).await;
        assert_eq!(response.status(), 403, "{path}");
        assert!(header(&response, "content-type").starts_with("text/html"));
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("have access to this page")
        );
    }

    // A company's admin who is not a system administrator sees the company pages only.
    rivet_server::bootstrap::create_company(
        &app.state.store,
        "Globex",
        "admin@globex.test",
        ADMIN_PASSWORD,
        false,
    )
    .await
    .unwrap();
    let (globex, _) = web_sign_in(&app, "admin@globex.test", ADMIN_PASSWORD).await;
    let home = get_page(&app, &globex, "/").await.text().await.unwrap();
    assert!(home.contains(r#"href="/admin/roles""#) && !home.contains(r#"href="/admin/system""#));
    assert_eq!(get_page(&app, &globex, "/admin/system").await.status(), 403);
    let audit = get_page(&app, &globex, "/admin/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !audit.contains("With token"),
        "another company's audit rows stay hidden"
    );
}

rivet_tests::both!(pages_answer_with_the_right_status_headers_and_cookies => pages_over_http);

// ---------------------------------------------------------------------------------------------
// Leads: the form, the list's filters, the lead's page and its history.

/// The lead's id from `/leads/{id}`.
fn lead_id_of(path: &str) -> Option<String> {
    path.strip_prefix("/leads/")
        .map(|rest| rest.split(['/', '?']).next().unwrap_or_default().to_owned())
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
}

async fn lead_steps(page: &Page<'_>) -> Result<()> {
    page.goto("/leads").await?;
    page.fill("login-email", ADMIN_EMAIL).await?;
    page.fill("login-password", ADMIN_PASSWORD).await?;
    page.click_button("Sign in").await?;
    ensure!(
        page.path().await? == "/leads",
        "back on the leads page after signing in: {}",
        page.path().await?
    );
    page.expect_text("There are no leads yet.").await?;
    let nav = page
        .client
        .find(Locator::Css("nav.nav"))
        .await?
        .text()
        .await?;
    ensure!(
        nav.to_lowercase().contains("sales\nleads"),
        "a Leads link under Sales: {nav}"
    );

    // A bad e-mail address comes back next to its field with everything typed kept.
    page.client
        .find(Locator::LinkText("New lead"))
        .await
        .context("the new lead button")?
        .click()
        .await?;
    page.fill("lead-first_name", "Ada").await?;
    page.fill("lead-last_name", "Lovelace").await?;
    page.fill("lead-email", "ada at engines").await?;
    page.fill("lead-company_name", "Analytical Engines").await?;
    page.choose("#lead-status", "Contacted").await?;
    page.fill("lead-tags", "vip, london").await?;
    page.client
        .find(Locator::XPath(
            "//summary[contains(., 'BANT qualification')]",
        ))
        .await?
        .click()
        .await?;
    page.fill("lead-budget", "50k for a pilot").await?;
    page.click_button("Create lead").await?;
    let error = page
        .client
        .find(Locator::Id("lead-email-error"))
        .await
        .context("an error next to the e-mail field")?
        .text()
        .await?;
    ensure!(
        error.contains("E-mail is not a valid e-mail address"),
        "e-mail error: {error}"
    );
    for (id, value) in [
        ("lead-first_name", "Ada"),
        ("lead-email", "ada at engines"),
        ("lead-budget", "50k for a pilot"),
        ("lead-tags", "vip, london"),
    ] {
        let kept = page
            .client
            .find(Locator::Id(id))
            .await?
            .prop("value")
            .await?;
        ensure!(kept.as_deref() == Some(value), "{id} kept: {kept:?}");
    }
    let status = page
        .client
        .find(Locator::Id("lead-status"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        status.as_deref() == Some("contacted"),
        "status kept: {status:?}"
    );
    page.shot("lead form with an error").await?;

    page.fill("lead-email", "ada@engines.test").await?;
    page.click_button("Create lead").await?;
    page.expect_text("Created the lead Ada Lovelace.").await?;
    let path = page.path().await?;
    let id = lead_id_of(&path).with_context(|| format!("on the lead's page: {path}"))?;

    // A second lead, so the status filter has something to leave out.
    page.goto("/leads/new").await?;
    page.fill("lead-company_name", "Babbage & Co").await?;
    page.click_button("Create lead").await?;
    page.expect_text("Created the lead Babbage & Co.").await?;

    page.goto("/leads").await?;
    page.expect_text("Babbage & Co").await?;
    page.choose("#leads-status", "Contacted").await?;
    page.click_button("Filter").await?;
    ensure!(
        page.path().await?.contains("status=contacted"),
        "the filter is in the address: {}",
        page.path().await?
    );
    page.expect_text("Ada Lovelace").await?;
    let listed = page.main_text().await?;
    ensure!(
        !listed.contains("Babbage & Co"),
        "the status filter leaves out the new lead"
    );
    page.shot("leads filtered by status").await?;

    // Open it, edit it, and find the change in its history.
    page.client
        .find(Locator::LinkText("Ada Lovelace"))
        .await?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == format!("/leads/{id}"),
        "the lead's page: {}",
        page.path().await?
    );
    page.expect_text("Analytical Engines").await?;
    page.expect_text("50k for a pilot").await?;
    page.client
        .find(Locator::LinkText("Edit"))
        .await?
        .click()
        .await?;
    // Qualified is gated (budget, authority, a total of 60): the form says what is missing.
    page.choose("#lead-status", "Qualified").await?;
    page.click_button("Save changes").await?;
    page.expect_text("Authority must be filled in to move to qualified")
        .await?;
    page.choose("#lead-status", "Nurturing").await?;
    page.fill("lead-title", "Countess").await?;
    page.click_button("Save changes").await?;
    page.expect_text("Saved Ada Lovelace.").await?;
    ensure!(
        page.path().await? == format!("/leads/{id}"),
        "back on the lead's page: {}",
        page.path().await?
    );
    page.expect_text("Nurturing").await?;
    let change = page
        .client
        .find(Locator::XPath(
            "//section[.//h2[.='History']]//tr[.//dt[normalize-space(.)='status']]",
        ))
        .await
        .context("the status change in the history")?
        .text()
        .await?;
    ensure!(
        change.contains("contacted → nurturing") && change.contains("title"),
        "history row: {change}"
    );
    let created = page
        .client
        .find(Locator::XPath(
            "//section[.//h2[.='History']]//span[contains(@class, 'action-create')]",
        ))
        .await;
    ensure!(created.is_ok(), "the history shows the creation");
    page.client
        .execute(
            "document.getElementById('history-title').scrollIntoView(); return null;",
            vec![],
        )
        .await?;
    page.shot("lead page with history").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_lead_is_created_through_the_form_found_by_status_edited_and_its_history_shown() {
    journey_on_both(Journey::Leads).await;
}

async fn leads_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let created: Value = app
        .post(
            "/leads",
            &api_admin,
            json!({"first_name": "Admin", "last_name": "Prospect", "status": "new"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let admins_lead = created["id"].as_str().unwrap().to_owned();
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // The page takes the API's filters and says what is allowed when one is wrong.
    let response = get_page(&app, &admin, "/leads?sort=colour").await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("allowed sort fields")
    );
    let page = get_page(
        &app,
        &admin,
        "/leads?status%5Bin%5D=new,contacted&sort=-last_name",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("Admin Prospect"), "{page}");

    // A sales rep sees only their own leads: another's is a 404 page.
    let sales = app.member(&api_admin, "sales").await;
    let me: Value = app.get("/me", &sales).await.json().await.unwrap();
    let (rep, rep_csrf) = web_sign_in(&app, me["user"]["email"].as_str().unwrap(), PASSWORD).await;
    let list = get_page(&app, &rep, "/leads").await.text().await.unwrap();
    assert!(list.contains(r#"href="/leads/new""#) && !list.contains("Prospect"));
    let response = get_page(&app, &rep, &format!("/leads/{admins_lead}")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        get_page(&app, &rep, &format!("/leads/{admins_lead}/edit"))
            .await
            .status(),
        404
    );
    let response = rep
        .post(format!("{}/leads/new", app.base))
        .form(&[
            ("csrf_token", rep_csrf.as_str()),
            ("last_name", "Rep Owned"),
            ("status", "new"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);

    // Read-only members get no create button and no bulk actions; the form is refused.
    let reader = app.member(&api_admin, "read_only").await;
    let me: Value = app.get("/me", &reader).await.json().await.unwrap();
    let (reader, _) = web_sign_in(&app, me["user"]["email"].as_str().unwrap(), PASSWORD).await;
    let list = get_page(&app, &reader, "/leads")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Admin Prospect") && list.contains("Rep Owned"));
    assert!(!list.contains(r#"href="/leads/new""#) && !list.contains(r#"name="ids""#));
    assert_eq!(get_page(&app, &reader, "/leads/new").await.status(), 403);

    // Bulk: a status change, then a delete that asks first.
    let response = admin
        .post(format!("{}/leads/bulk", app.base))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("ids", admins_lead.as_str()),
            ("action", "status"),
            ("status", "nurturing"),
            ("back", "/leads?q=prospect"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/leads?q=prospect");
    let lead: Value = app
        .get(&format!("/leads/{admins_lead}"), &api_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lead["status"], "nurturing");
    let ask = |confirm: &'static str| {
        admin
            .post(format!("{}/leads/bulk", app.base))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("ids", admins_lead.as_str()),
                ("action", "delete"),
                ("confirm", confirm),
            ])
            .send()
    };
    let response = ask("").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Delete 1 lead?"));
    assert_eq!(
        app.get(&format!("/leads/{admins_lead}"), &api_admin)
            .await
            .status(),
        200
    );
    let response = ask("yes").await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.get(&format!("/leads/{admins_lead}"), &api_admin)
            .await
            .status(),
        404
    );
}

rivet_tests::both!(leads_pages_follow_the_callers_permissions_and_bulk_delete_asks_first => leads_over_http);

// ---------------------------------------------------------------------------------------------
// Accounts and contacts: the account form (with an error next to its field), an account's page,
// and a contact added from it.

/// The record's id from `/{list}/{id}`.
fn record_id_of(list: &str, path: &str) -> Option<String> {
    path.strip_prefix(&format!("/{list}/"))
        .map(|rest| rest.split(['/', '?']).next().unwrap_or_default().to_owned())
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
}

/// Sign in on the page the browser was sent to, and land back on `path`.
async fn sign_in_at(page: &Page<'_>, path: &str) -> Result<()> {
    page.goto(path).await?;
    page.fill("login-email", ADMIN_EMAIL).await?;
    page.fill("login-password", ADMIN_PASSWORD).await?;
    page.click_button("Sign in").await?;
    ensure!(
        page.path().await? == path,
        "back on {path} after signing in: {}",
        page.path().await?
    );
    Ok(())
}

/// Create an account through the form; returns its id.
async fn create_account_in_form(page: &Page<'_>, name: &str) -> Result<String> {
    page.goto("/accounts").await?;
    page.client
        .find(Locator::LinkText("New account"))
        .await
        .context("the new account button")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    page.fill("account-name", name).await?;
    page.fill("account-domain", "engines.test").await?;
    page.fill("account-industry", "Computing").await?;
    page.click_button("Create account").await?;
    page.expect_text(&format!("Created the account {name}."))
        .await?;
    let path = page.path().await?;
    record_id_of("accounts", &path).with_context(|| format!("on the account's page: {path}"))
}

async fn account_steps(page: &Page<'_>) -> Result<()> {
    sign_in_at(page, "/accounts").await?;
    page.expect_text("There are no accounts yet.").await?;
    let nav = page
        .client
        .find(Locator::Css("nav.nav"))
        .await?
        .text()
        .await?;
    ensure!(
        nav.contains("Leads\nAccounts\nContacts"),
        "Accounts and Contacts links next to Leads: {nav}"
    );

    let id = create_account_in_form(page, "Analytical Engines").await?;
    page.goto("/accounts").await?;
    page.expect_text("Computing").await?;
    page.client
        .find(Locator::LinkText("Analytical Engines"))
        .await
        .context("the account in the list")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == format!("/accounts/{id}"),
        "the account's page: {}",
        page.path().await?
    );
    page.expect_text("Prospect").await?;

    // An empty name comes back next to its field, the other values kept.
    page.client
        .find(Locator::LinkText("Edit"))
        .await?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    page.client
        .find(Locator::Id("account-name"))
        .await?
        .clear()
        .await?;
    page.choose("#account-lifecycle_stage", "Customer").await?;
    page.click_button("Save changes").await?;
    let error = page
        .client
        .find(Locator::Id("account-name-error"))
        .await
        .context("an error next to the name field")?
        .text()
        .await?;
    ensure!(
        error.contains("Name must not be empty"),
        "name error: {error}"
    );
    let stage = page
        .client
        .find(Locator::Id("account-lifecycle_stage"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        stage.as_deref() == Some("customer"),
        "stage kept: {stage:?}"
    );
    page.shot("account form with an error").await?;

    page.fill("account-name", "Difference Engines").await?;
    page.click_button("Save changes").await?;
    page.expect_text("Saved Difference Engines.").await?;
    ensure!(
        page.path().await? == format!("/accounts/{id}"),
        "back on the account's page: {}",
        page.path().await?
    );
    let heading = page.client.find(Locator::Css("h1")).await?.text().await?;
    ensure!(
        heading.contains("Difference Engines") && heading.contains("Customer"),
        "the new name and stage: {heading}"
    );
    page.expect_text("engines.test").await?;
    Ok(())
}

async fn contact_on_account_steps(page: &Page<'_>) -> Result<()> {
    sign_in_at(page, "/accounts").await?;
    let account = create_account_in_form(page, "Babbage & Co").await?;
    page.expect_text("No contacts at this account yet.").await?;
    page.client
        .find(Locator::LinkText("Add contact"))
        .await
        .context("the add contact link")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == format!("/contacts/new?account_id={account}"),
        "the new contact form for the account: {}",
        page.path().await?
    );
    let chosen = page
        .client
        .find(Locator::Id("contact-account_id"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        chosen.as_deref() == Some(account.as_str()),
        "the account is chosen: {chosen:?}"
    );
    page.fill("contact-first_name", "Charles").await?;
    page.fill("contact-last_name", "Babbage").await?;
    page.fill("contact-email", "charles@babbage.test").await?;
    page.client
        .find(Locator::Id("contact-is_primary"))
        .await?
        .click()
        .await?;
    page.client
        .find(Locator::Id("contact-email_consent"))
        .await?
        .click()
        .await?;
    page.click_button("Create contact").await?;
    page.expect_text("Created the contact Charles Babbage.")
        .await?;
    let path = page.path().await?;
    let contact = record_id_of("contacts", &path)
        .with_context(|| format!("on the contact's page: {path}"))?;
    page.expect_text("Primary contact").await?;
    page.client
        .find(Locator::LinkText("Babbage & Co"))
        .await
        .context("the account link")?
        .click()
        .await?;
    page.wait_for_new_page().await.ok();
    ensure!(
        page.path().await? == format!("/accounts/{account}"),
        "the account's page: {}",
        page.path().await?
    );
    let listed = page
        .client
        .find(Locator::Id("account-contacts"))
        .await
        .context("the account's contacts")?
        .text()
        .await?;
    ensure!(
        listed.contains("Charles Babbage") && listed.contains("Primary"),
        "the contact under the account, marked primary: {listed}"
    );
    let link = page
        .client
        .find(Locator::LinkText("Charles Babbage"))
        .await?
        .attr("href")
        .await?;
    ensure!(
        link.as_deref() == Some(format!("/contacts/{contact}").as_str()),
        "links to the contact: {link:?}"
    );
    page.shot("account page with its contact").await?;

    page.goto("/contacts").await?;
    page.expect_text("Charles Babbage").await?;
    page.expect_text("Babbage & Co").await?;
    Ok(())
}

/// The scenarios that run in one browser on a fresh application.
#[derive(Debug, Clone, Copy)]
enum Journey {
    Leads,
    Account,
    ContactOnAccount,
    Board,
    Deal,
    Views,
    Tasks,
    TaskRepeat,
    CustomFields,
    AdminCustomFields,
    AdminPipelines,
    Profile,
    Duplicates,
    LeadForms,
    Assignment,
    Merge,
    Imports,
    BackgroundExport,
    Conversion,
    Scoring,
    Notifications,
    Templates,
    Whatsapp,
    Email,
    Workflows,
    WorkflowEdit,
    Sequences,
    EnrollList,
}

impl Journey {
    async fn steps(self, app: &TestApp, page: &Page<'_>) -> Result<()> {
        match self {
            Self::Leads => lead_steps(page).await,
            Self::Account => account_steps(page).await,
            Self::ContactOnAccount => contact_on_account_steps(page).await,
            Self::Board => board::board_steps(app, page).await,
            Self::Deal => deals::deal_steps(page).await,
            Self::Views => views::views_steps(app, page).await,
            Self::Tasks => tasks::task_steps(app, page).await,
            Self::TaskRepeat => tasks::task_repeat_steps(app, page).await,
            Self::CustomFields => custom_fields::browser_steps(app, page).await,
            Self::AdminCustomFields => admin_pages::custom_field_steps(app, page).await,
            Self::AdminPipelines => admin_pages::pipeline_steps(app, page).await,
            Self::Profile => personal::profile_steps(app, page).await,
            Self::Duplicates => duplicates::duplicate_steps(app, page).await,
            Self::LeadForms => lead_forms::lead_form_steps(app, page).await,
            Self::Assignment => assignment::assignment_steps(app, page).await,
            Self::Merge => merge::merge_steps(app, page).await,
            Self::Imports => imports::import_steps(app, page).await,
            Self::BackgroundExport => exports::background_export_steps(app, page).await,
            Self::Conversion => conversion::conversion_steps(app, page).await,
            Self::Scoring => scoring::scoring_steps(app, page).await,
            Self::Notifications => notifications::notification_steps(app, page).await,
            Self::Templates => templates::template_steps(app, page).await,
            Self::Whatsapp => whatsapp::whatsapp_steps(app, page).await,
            Self::Email => email::email_steps(app, page).await,
            Self::Workflows => workflows::workflow_steps(app, page).await,
            Self::WorkflowEdit => workflows::workflow_edit_steps(app, page).await,
            Self::Sequences => sequences::sequence_steps(app, page).await,
            Self::EnrollList => sequences::enroll_list_steps(app, page).await,
        }
    }
}

/// Run `journey` on SQLite and, when a PostgreSQL server is configured, on PostgreSQL, in one
/// browser (a test passes with a notice when there is no Chromium, unless CI requires it).
async fn journey_on_both(journey: Journey) {
    let Some(driver) = Driver::start().await else {
        return;
    };
    run_journey(Db::Sqlite, &driver, journey).await;
    run_journey(Db::Postgres, &driver, journey).await;
}

async fn run_journey(db: Db, driver: &Driver, journey: Journey) {
    // The WhatsApp journey talks to a fake Graph API on loopback.
    let app = match journey {
        Journey::Whatsapp => {
            rivet_tests::spawn_app_with(db, |c| c.webhook_allow_private = true).await
        }
        _ => spawn_app(db).await,
    };
    let shots = std::env::var("RIVET_BROWSER_SCREENSHOTS")
        .ok()
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let client = driver.browser().await;
    let page = Page {
        client: &client,
        base: &app.base,
        shots,
        label: format!("{db:?}-{journey:?}").to_lowercase(),
        step: Default::default(),
    };
    let result = journey.steps(&app, &page).await;
    client.close().await.ok();
    if let Err(err) = result {
        panic!(
            "{db:?}: {err:#}\n(chromedriver log: {})",
            driver.dir.path().join("chromedriver.log").display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn editing_an_account_shows_the_new_values_and_an_empty_name_next_to_its_field() {
    journey_on_both(Journey::Account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "browser: needs chromium, chromedriver and PostgreSQL; run with --include-ignored"]
async fn a_contact_added_from_an_account_page_appears_under_the_accounts_contacts() {
    journey_on_both(Journey::ContactOnAccount).await;
}

async fn accounts_and_contacts_over_http(db: Db) {
    let app = spawn_app(db).await;
    let api_admin = app.admin().await;
    let post = |path: &'static str, body: Value| {
        let request = app.post(path, &api_admin, body);
        async move { request.await.json::<Value>().await.unwrap() }
    };
    let account = post("/accounts", json!({"name": "Admin Holdings"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = post(
        "/accounts",
        json!({"name": "Admin Subsidiary", "parent_id": account}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contact = post(
        "/contacts",
        json!({"first_name": "Grace", "last_name": "Hopper", "account_id": account, "is_primary": true}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        "/deals",
        json!({"name": "Anvil renewal", "account_id": child, "amount": "1200"}),
    )
    .await;
    let (admin, csrf) = web_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (app_ref, admin_ref) = (&app, &api_admin);
    let status_of = move |path: String| async move { app_ref.get(&path, admin_ref).await.status() };

    // The account's page: its child, its primary contact and the link to add one.
    let page = get_page(&app, &admin, &format!("/accounts/{account}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Admin Subsidiary") && page.contains("Grace Hopper"),
        "{page}"
    );
    assert!(page.contains(&format!("/contacts/new?account_id={account}")));
    let page = get_page(&app, &admin, &format!("/accounts/{child}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(r#"href="/accounts/{account}""#)),
        "parent link"
    );
    assert!(
        page.contains("Anvil renewal") && page.contains(r#"href="/deals/"#),
        "the account's deal, linked: {page}"
    );
    // The list takes the API's filters and sort, and refuses a wrong one.
    let response = get_page(&app, &admin, "/accounts?sort=colour").await;
    assert_eq!(response.status(), 400);
    let list = get_page(
        &app,
        &admin,
        "/accounts?lifecycle_stage=prospect&sort=-name",
    )
    .await
    .text()
    .await
    .unwrap();
    let (first, second) = (list.find("Admin Subsidiary"), list.find("Admin Holdings"));
    assert!(
        first.is_some() && second.is_some() && first < second,
        "{list}"
    );
    let list = get_page(&app, &admin, &format!("/contacts?account_id={child}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("No contacts match these filters."), "{list}");

    // A sales rep sees neither the admin's account nor its contact; a read-only member gets no
    // create button, no bulk actions, and a refused form.
    let sales = app.member(&api_admin, "sales").await;
    let me: Value = app.get("/me", &sales).await.json().await.unwrap();
    let (rep, _) = web_sign_in(&app, me["user"]["email"].as_str().unwrap(), PASSWORD).await;
    let list = get_page(&app, &rep, "/accounts")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(r#"href="/accounts/new""#) && !list.contains("Admin Holdings"));
    assert_eq!(
        get_page(&app, &rep, &format!("/accounts/{account}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        get_page(&app, &rep, &format!("/contacts/{contact}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        get_page(&app, &rep, &format!("/accounts/{account}/edit"))
            .await
            .status(),
        404
    );
    let reader = app.member(&api_admin, "read_only").await;
    let me: Value = app.get("/me", &reader).await.json().await.unwrap();
    let (reader, reader_csrf) =
        web_sign_in(&app, me["user"]["email"].as_str().unwrap(), PASSWORD).await;
    let list = get_page(&app, &reader, "/contacts")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Grace Hopper"));
    assert!(!list.contains(r#"href="/contacts/new""#) && !list.contains(r#"name="ids""#));
    assert_eq!(get_page(&app, &reader, "/accounts/new").await.status(), 403);
    assert_eq!(
        get_page(&app, &reader, &format!("/accounts/{account}/delete"))
            .await
            .status(),
        403
    );
    let response = post_form(
        &app,
        &reader,
        "/contacts/new",
        &[("csrf_token", reader_csrf.as_str()), ("last_name", "Nope")],
    )
    .await;
    assert_eq!(response.status(), 403);

    // Another company's account is not found.
    let other = app.other_company("Other Ltd").await;
    let me: Value = app.get("/me", &other).await.json().await.unwrap();
    let (outsider, _) =
        web_sign_in(&app, me["user"]["email"].as_str().unwrap(), ADMIN_PASSWORD).await;
    assert_eq!(
        get_page(&app, &outsider, &format!("/accounts/{account}"))
            .await
            .status(),
        404
    );
    assert!(
        !get_page(&app, &outsider, "/contacts")
            .await
            .text()
            .await
            .unwrap()
            .contains("Grace Hopper")
    );

    // The form: a bad domain and employee count come back next to their fields.
    let response = post_form(
        &app,
        &admin,
        &format!("/accounts/{account}/edit"),
        &[
            ("csrf_token", csrf.as_str()),
            ("name", "Admin Holdings"),
            ("domain", "not a domain"),
            ("employee_count", "-5"),
            ("lifecycle_stage", "customer"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"id="account-domain-error""#), "{page}");
    assert!(
        page.contains(r#"id="account-employee_count-error""#),
        "{page}"
    );
    // The account cannot be its own parent's child.
    let response = post_form(
        &app,
        &admin,
        &format!("/accounts/{account}/edit"),
        &[
            ("csrf_token", csrf.as_str()),
            ("name", "Admin Holdings"),
            ("parent_id", child.as_str()),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"id="account-parent_id-error""#)
    );

    // Bulk: a stage change; then a contact bulk delete that asks first.
    let response = post_form(
        &app,
        &admin,
        "/accounts/bulk",
        &[
            ("csrf_token", csrf.as_str()),
            ("ids", child.as_str()),
            ("action", "stage"),
            ("lifecycle_stage", "at_risk"),
            ("back", "/accounts?q=admin"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/accounts?q=admin");
    let saved: Value = app
        .get(&format!("/accounts/{child}"), &api_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(saved["lifecycle_stage"], "at_risk");
    let response = post_form(
        &app,
        &admin,
        "/contacts/bulk",
        &[
            ("csrf_token", csrf.as_str()),
            ("ids", contact.as_str()),
            ("action", "delete"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Delete 1 contact?"));
    assert_eq!(status_of(format!("/contacts/{contact}")).await, 200);

    // Deleting the account asks about its contact and child; without an answer nothing goes.
    let page = get_page(&app, &admin, &format!("/accounts/{account}/delete"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("The account has 1 contact.") && page.contains("child account"));
    let response = post_form(
        &app,
        &admin,
        &format!("/accounts/{account}/delete"),
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"id="delete-contacts-error""#)
    );
    assert_eq!(status_of(format!("/accounts/{account}")).await, 200);
    let response = post_form(
        &app,
        &admin,
        &format!("/accounts/{account}/delete"),
        &[
            ("csrf_token", csrf.as_str()),
            ("contacts", "reassign"),
            ("reassign_to", child.as_str()),
            ("detach_children", "true"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/accounts");
    assert_eq!(status_of(format!("/accounts/{account}")).await, 404);
    let moved: Value = app
        .get(&format!("/contacts/{contact}"), &api_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["account_id"], child.as_str());

    // A contact's delete button.
    let response = post_form(
        &app,
        &admin,
        &format!("/contacts/{contact}/delete"),
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(status_of(format!("/contacts/{contact}")).await, 404);
}

rivet_tests::both!(account_and_contact_pages_follow_the_callers_permissions_and_deleting_asks_first => accounts_and_contacts_over_http);

/// The ids of the rows of a list page, in order: rows carry `data-{kind}-id` (`activity`, `task`).
fn row_ids(kind: &str, html: &str) -> Vec<String> {
    html.split(&format!(r#"data-{kind}-id=""#))
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The address of the saved view `name`'s link in the views bar of a page.
fn view_href(html: &str, name: &str) -> String {
    let end = html
        .find(&format!("{name}</a>"))
        .unwrap_or_else(|| panic!("no link to {name}"));
    let start = html[..end].rfind(r#"href=""#).unwrap() + r#"href=""#.len();
    let href = &html[start..];
    href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// The e-mail address of the signed-in API session `who`.
async fn email_of(app: &TestApp, who: &rivet_tests::Session) -> String {
    let me = rivet_tests::json_of(app.get("/me", who).await).await;
    me["user"]["email"].as_str().unwrap().to_owned()
}
