//! Test support: start the real application (router, middleware, database) on a random port with
//! a fresh database — a SQLite file in a temporary directory, or a new PostgreSQL database on
//! the server `RIVET_TEST_DATABASE_URL` names — and helpers that read like the specification.
//!
//! Every database test runs on both engines through [`both!`]: `name::sqlite` and
//! `name::postgres`. A test that needs a service outside the process (PostgreSQL, Redis,
//! Chromium) is `#[ignore]`d with the reason, so a plain `cargo test` counts it as ignored
//! instead of passing it unrun; `cargo test -- --include-ignored` runs them all, and there a
//! missing service fails the test with a message that says what to set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use rivet_domain::ids::{CompanyId, UserId};
use rivet_server::{AppState, Config};
use serde_json::{Value, json};
use std::net::SocketAddr;
use tempfile::TempDir;
use uuid::Uuid;

pub use serde_json;

pub mod graph;
pub mod imap;
pub mod receiver;
pub mod smtp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub const ADMIN_EMAIL: &str = "admin@acme.test";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "member-password-1";

/// Run a test body on SQLite and on PostgreSQL: `both!(name);` after `async fn name(db: Db)`,
/// or `both!(test_name => body)` to name the pair apart from the function they run. The
/// PostgreSQL half is ignored unless asked for (`--include-ignored`).
#[macro_export]
macro_rules! both {
    ($($name:ident),+ $(,)?) => {$(
        $crate::both!($name => $name);
    )+};
    ($($test:ident => $body:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::Db::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
            async fn postgres() {
                super::$body($crate::Db::Postgres).await;
            }
        }
    )+};
}

/// The PostgreSQL server for tests. A test that needs it is ignored by default; run, it fails
/// here when none is configured.
pub fn postgres_admin_url() -> String {
    match std::env::var("RIVET_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "this test needs PostgreSQL: set RIVET_TEST_DATABASE_URL to a server where the user \
             may create databases, e.g. postgres://postgres@127.0.0.1:5432/postgres"
        ),
    }
}

/// The Redis server for tests (as [`postgres_admin_url`]).
pub fn redis_url() -> String {
    match std::env::var("RIVET_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("this test needs Redis: set RIVET_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379"),
    }
}

/// A running application and a client for it.
pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: Client,
    pub db: Db,
    /// The first company, created on start with [`ADMIN_EMAIL`] as its admin.
    pub company_id: CompanyId,
    _dir: TempDir,
    pg: Option<(String, String)>,
    server: tokio::task::JoinHandle<()>,
}

/// A fresh database URL for `db`.
pub async fn fresh_database(db: Db, dir: &TempDir) -> (String, Option<(String, String)>) {
    match db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("rivet.db").display()),
            None,
        ),
        Db::Postgres => {
            let admin = postgres_admin_url();
            let name = format!("rivet_test_{}", Uuid::new_v4().simple());
            let store = rivet_store::Store::connect(&admin, 1)
                .await
                .expect("connect to PostgreSQL");
            use rivet_store::sea_orm::ConnectionTrait;
            store
                .system()
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin.clone());
            (format!("{base}/{name}"), Some((admin, name)))
        }
    }
}

/// Drop a database made by [`fresh_database`] (for tests that do not use [`TestApp`]).
pub async fn drop_database(pg: Option<(String, String)>) {
    if let Some((admin, name)) = pg
        && let Ok(store) = rivet_store::Store::connect(&admin, 1).await
    {
        use rivet_store::sea_orm::ConnectionTrait;
        let _ = store
            .system()
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

/// The configuration tests start from: generous rate limits, workers off, a known admin.
pub fn test_config(dir: &TempDir, database_url: String) -> Config {
    Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(database_url),
        db_max_connections: 8,
        admin_email: Some(ADMIN_EMAIL.into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        company_name: "Acme".into(),
        login_rate_limit: 10_000,
        ip_rate_limit: 100_000,
        user_rate_limit: 100_000,
        public_rate_limit: 10_000,
        workers: false,
        ..Config::default()
    }
}

pub async fn spawn_app(db: Db) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// Start the application with a changed configuration.
pub async fn spawn_app_with(db: Db, configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg) = fresh_database(db, &dir).await;
    let mut config = test_config(&dir, url);
    configure(&mut config);
    let state = rivet_server::build_state(config, rivet_server::ops::metrics_handle())
        .await
        .expect("build state");
    let created = rivet_server::bootstrap::first_run(&state.store, &state.config)
        .await
        .expect("first run")
        .expect("a company was created");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = rivet_server::router(state.clone());
    let server = tokio::spawn(async move {
        let _ = axum_serve(listener, router).await;
    });
    TestApp {
        base: format!("http://{addr}"),
        addr,
        state,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db,
        company_id: created.company_id,
        _dir: dir,
        pg,
        server,
    }
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    router: axum_router::Router,
) -> std::io::Result<()> {
    axum_router::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

mod axum_router {
    pub use rivet_server::axum::{Router, serve};
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if let Some((admin, name)) = self.pg.take() {
            // Drop the per-test database; FORCE ends this test's pooled connections.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(store) = rivet_store::Store::connect(&admin, 1).await {
                        use rivet_store::sea_orm::ConnectionTrait;
                        let _ = store
                            .system()
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub refresh_token: String,
    pub user_id: UserId,
    pub company_id: CompanyId,
}

impl TestApp {
    /// An absolute URL for a path of the application (`/login`, `/healthz`, …).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An API request (`path` below `/api/v1`), signed in as `who` when given.
    pub fn api(&self, method: Method, path: &str, who: Option<&Session>) -> RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}/api/v1{}", self.base, path));
        match who {
            Some(s) => builder.bearer_auth(&s.token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, who: &Session) -> Response {
        self.api(Method::GET, path, Some(who))
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, who: &Session, body: Value) -> Response {
        self.api(Method::POST, path, Some(who))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, who: &Session, body: Value) -> Response {
        self.api(Method::PATCH, path, Some(who))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, who: &Session, body: Value) -> Response {
        self.api(Method::PUT, path, Some(who))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str, who: &Session) -> Response {
        self.api(Method::DELETE, path, Some(who))
            .send()
            .await
            .expect("request")
    }

    /// Run `sql` on the system connection, for what the API neither shows nor lets one write
    /// (a stored row, a reference made by hand): its values are marked `?` (numbered for
    /// PostgreSQL here). The rows it returns.
    pub async fn sql(&self, sql: &str, values: Vec<sea_orm::Value>) -> Vec<sea_orm::QueryResult> {
        use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
        let (backend, text) = match self.db {
            Db::Sqlite => (DatabaseBackend::Sqlite, sql.to_owned()),
            Db::Postgres => {
                let mut text = String::with_capacity(sql.len() + 8);
                for (n, part) in sql.split('?').enumerate() {
                    if n > 0 {
                        text.push_str(&format!("${n}"));
                    }
                    text.push_str(part);
                }
                (DatabaseBackend::Postgres, text)
            }
        };
        self.state
            .store
            .system()
            .query_all_raw(Statement::from_sql_and_values(backend, text, values))
            .await
            .expect(sql)
    }

    /// Sign in through the API.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let response = self
            .api(Method::POST, "/auth/login", None)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login as {email}");
        self.session_from(response).await
    }

    pub async fn session_from(&self, response: Response) -> Session {
        let body: Value = response.json().await.expect("token JSON");
        let token = body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        let who = Session {
            token: token.clone(),
            refresh_token: body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            user_id: UserId::nil(),
            company_id: body["company_id"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or(CompanyId::nil()),
        };
        let me: Value = self.get("/me", &who).await.json().await.expect("me JSON");
        Session {
            user_id: me["user"]["id"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .unwrap_or(UserId::nil()),
            ..who
        }
    }

    /// The first company's admin.
    /// Run the job workers and the event dispatcher, as `rivet serve` does, until the returned
    /// sender is dropped or sends `true`.
    pub fn start_workers(&self) -> tokio::sync::watch::Sender<bool> {
        let (stop, rx) = tokio::sync::watch::channel(false);
        rivet_server::worker::spawn(self.state.clone(), rx);
        stop
    }

    pub async fn admin(&self) -> Session {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// A web session of `who`: its cookie (`name=value`) and its CSRF token, for requests to
    /// the pages.
    pub async fn web_session(&self, who: &Session) -> (String, String) {
        let cookie =
            rivet_server::api::auth::open_web_session(&self.state, who.company_id, who.user_id)
                .await
                .expect("a web session");
        let cookie = cookie.split(';').next().unwrap_or_default().to_owned();
        let token = cookie.split_once('=').map(|(_, v)| v).unwrap_or_default();
        let csrf = rivet_store::sessions::find_web(&self.state.store, token)
            .await
            .expect("read the session")
            .expect("the session")
            .3;
        (cookie, csrf)
    }

    /// The id of a role by name in the caller's company.
    pub async fn role_id(&self, who: &Session, name: &str) -> String {
        let roles: Value = self
            .get("/roles", who)
            .await
            .json()
            .await
            .expect("roles JSON");
        roles["data"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name))
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("role {name}"))
            .to_owned()
    }

    /// Add a member with a built-in role to `admin`'s company and sign them in.
    /// A member of a new role `name` with only `grants` (`[{resource, action, scope}]`).
    pub async fn member_with_grants(&self, admin: &Session, name: &str, grants: Value) -> Session {
        let role = self
            .post(
                "/roles",
                admin,
                json!({"name": name, "permissions": grants}),
            )
            .await;
        assert_eq!(role.status(), StatusCode::CREATED, "create role {name}");
        self.member(admin, name).await
    }

    pub async fn member(&self, admin: &Session, role: &str) -> Session {
        self.member_in_team(admin, role, None).await
    }

    pub async fn member_in_team(
        &self,
        admin: &Session,
        role: &str,
        team_id: Option<&str>,
    ) -> Session {
        let email = format!("{role}-{}@acme.test", Uuid::new_v4().simple());
        let role_id = self.role_id(admin, role).await;
        let response = self
            .post(
                "/users",
                admin,
                json!({"email": email, "name": format!("A {role}"), "role_id": role_id, "team_id": team_id, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "create {role}: {:?}",
            response.text().await
        );
        self.login(&email, PASSWORD).await
    }

    /// A second company with its own admin, signed in.
    pub async fn other_company(&self, name: &str) -> Session {
        let email = format!("admin-{}@other.test", Uuid::new_v4().simple());
        rivet_server::bootstrap::create_company(
            &self.state.store,
            name,
            &email,
            ADMIN_PASSWORD,
            false,
        )
        .await
        .expect("create company");
        self.login(&email, ADMIN_PASSWORD).await
    }
}

/// The ids of a list page's rows, in order.
pub fn ids_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("a list page has data")
        .iter()
        .map(|r| r["id"].as_str().expect("a row has an id").to_owned())
        .collect()
}

/// The fields a problem's `errors` name, in order.
pub fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Read a JSON body, failing with the text when it is not JSON.
pub async fn json_of(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Assert a problem+json answer with `status`, returning the body.
pub async fn assert_problem(response: Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(got, status, "status (body: {body})");
    assert_eq!(
        content_type, "application/problem+json",
        "content type for {status} (body: {body})"
    );
    let value: Value = serde_json::from_str(&body).expect("problem JSON");
    assert_eq!(value["status"], status);
    assert!(value["title"].is_string() && value["type"].is_string() && value["detail"].is_string());
    value
}
