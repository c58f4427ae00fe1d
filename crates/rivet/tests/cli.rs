//! The real binary: first run, `serve --demo`, the `company`, `user` and `seed` commands, `--help`,
//! the messages of a misconfiguration, and a graceful stop on SIGTERM — on SQLite, and on
//! PostgreSQL when `RIVET_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rivet_tests::{Db, drop_database, fresh_database, postgres_admin_url};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test; `RIVET_TEST_BIN` runs these tests against another build (to see them
/// fail on the version before a fix).
fn rivet_bin() -> String {
    std::env::var("RIVET_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rivet").to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rivet(dir: &tempfile::TempDir, url: &str) -> Command {
    let mut cmd = Command::new(rivet_bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RIVET_DATA_DIR", dir.path())
        .env("DATABASE_URL", url)
        .env("RIVET_LOG", "warn");
    cmd
}

/// Whether `rivet` answers HTTP on `port` (it binds before it migrates, so a TCP connection
/// alone does not say it serves).
fn answers(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

/// Start `rivet serve`, read the console until it serves, return the child and what it printed.
fn serve(dir: &tempfile::TempDir, url: &str, port: u16) -> (Child, String) {
    serve_with(rivet(dir, url).arg("serve"), port)
}

fn serve_with(command: &mut Command, port: u16) -> (Child, String) {
    let mut child = command
        .env("RIVET_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut printed = String::new();
    while started.elapsed() < Duration::from_secs(120) {
        while let Ok(line) = rx.try_recv() {
            printed.push_str(&line);
            printed.push('\n');
        }
        if answers(port) {
            std::thread::sleep(Duration::from_millis(200));
            while let Ok(line) = rx.try_recv() {
                printed.push_str(&line);
                printed.push('\n');
            }
            return (child, printed);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("rivet serve did not answer within 120 s; printed:\n{printed}");
}

async fn login(port: u16, email: &str, password: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "rivet did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn first_run_commands_and_graceful_stop(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(db, &dir).await;
    let port = free_port();
    let (mut child, printed) = serve(&dir, &url, port);
    // No admin configured: admin@localhost with a random password printed once.
    let password = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().to_owned())
        .unwrap_or_else(|| panic!("no generated password in:\n{printed}"));
    assert!(password.len() >= 20);
    assert!(printed.contains("admin@localhost"));
    assert_eq!(login(port, "admin@localhost", &password).await, 200);
    let health = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let status = sigterm(&mut child);
    assert!(status.success(), "a SIGTERM stop is clean: {status:?}");

    // A second company and a user in it, from the command line.
    let out = rivet(&dir, &url)
        .args([
            "company",
            "create",
            "--name",
            "Globex",
            "--admin-email",
            "boss@globex.test",
            "--admin-password",
            "globex-password-1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let company = text
        .split('(')
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap()
        .to_owned();
    let out = rivet(&dir, &url)
        .args([
            "user",
            "create",
            "--company",
            &company,
            "--email",
            "rep@globex.test",
            "--name",
            "Rep",
            "--role",
            "sales",
            "--password",
            "rep-password-12",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Bad input on the command line names the field and fails.
    let out = rivet(&dir, &url)
        .args([
            "company",
            "create",
            "--name",
            "",
            "--admin-email",
            "nope",
            "--admin-password",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--admin-email") && err.contains("--admin-password"),
        "the options are named as they are typed: {err}"
    );

    // The company is named by its name too; an unknown one is said.
    let out = rivet(&dir, &url)
        .args([
            "user",
            "create",
            "--company",
            "No Such Co",
            "--email",
            "x@x.test",
            "--name",
            "X",
            "--password",
            "x-password-123",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--company") && err.contains("No Such Co"),
        "{err}"
    );
    // An e-mail registered in another company adds that user, whose password stays.
    let out = rivet(&dir, &url)
        .args([
            "user",
            "create",
            "--company",
            "globex",
            "--email",
            "admin@localhost",
            "--name",
            "Someone Else",
            "--password",
            "a-new-password-99",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("added the existing user admin@localhost")
            && text.contains("password were not changed")
            && text.contains(&company)
            && !text.contains("created"),
        "{text}"
    );

    // Restarting does not create another admin, and the new users can sign in.
    let port = free_port();
    let (mut child, printed) = serve(&dir, &url, port);
    assert!(
        !printed.contains("password:"),
        "no second first run:\n{printed}"
    );
    assert_eq!(
        login(port, "boss@globex.test", "globex-password-1").await,
        200
    );
    assert_eq!(login(port, "rep@globex.test", "rep-password-12").await, 200);
    assert_eq!(login(port, "admin@localhost", &password).await, 200);
    assert_eq!(
        login(port, "admin@localhost", "a-new-password-99").await,
        401
    );
    assert!(sigterm(&mut child).success());
    drop_database(pg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_commands_and_graceful_stop_sqlite() {
    first_run_commands_and_graceful_stop(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn first_run_commands_and_graceful_stop_postgres() {
    first_run_commands_and_graceful_stop(Db::Postgres).await;
}

#[test]
fn help_explains_every_command_and_variable() {
    let out = Command::new(rivet_bin()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "worker",
        "migrate",
        "rescore",
        "company",
        "user",
        "seed",
        "RIVET_ADDR",
        "DATABASE_URL",
        "REDIS_URL",
    ] {
        assert!(text.contains(word), "--help mentions {word}");
    }
}

/// `rivet seed --demo` twice on fresh databases: the same users and data each time, printed
/// with per-table rates; the demo users can sign in and list their leads.
async fn seed_demo_is_deterministic(db: Db) {
    let mut printed = Vec::new();
    let mut first_leads = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = fresh_database(db, &dir).await;
        let out = rivet(&dir, &url)
            .args(["seed", "--demo", "--size", "small", "--scale", "0.2"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for table in [
            "leads",
            "accounts",
            "contacts",
            "deals",
            "activities",
            "tasks",
        ] {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(table) && l.contains("rows/s")),
                "no progress line for {table} in:\n{text}"
            );
        }
        assert!(text.contains("admin@demo-company.test"), "{text}");
        let password = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("demo password:"))
            .map(|p| p.trim().to_owned())
            .unwrap_or_else(|| panic!("no demo password in:\n{text}"));

        // The seeded database serves: the demo admin lists the leads, newest first.
        let port = free_port();
        let (mut child, _) = serve(&dir, &url, port);
        let client = reqwest::Client::new();
        let login: serde_json::Value = client
            .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "admin@demo-company.test", "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["access_token"].as_str().unwrap().to_owned();
        let page: serde_json::Value = client
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/leads?sort=-created_at&limit=20"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let names: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                format!(
                    "{} {} {}",
                    l["first_name"], l["last_name"], l["company_name"]
                )
            })
            .collect();
        assert_eq!(names.len(), 20, "{page}");
        // Scores are computed by the seed (fit from the default rules), not written at random.
        let scored = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["fit_score"].as_i64().unwrap_or(0) > 0)
            .count();
        assert!(scored > 0, "{page}");
        // The reps were told of the leads that crossed MQL as they were scored, but the demo's
        // bells start empty: listed, already read.
        let rep = text
            .lines()
            .filter_map(|l| l.split_whitespace().find(|w| w.contains('@')))
            .find(|e| !e.starts_with("admin@"))
            .unwrap_or_else(|| panic!("no rep in:\n{text}"))
            .to_owned();
        let login: serde_json::Value = client
            .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": rep, "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rep_token = login["access_token"].as_str().unwrap().to_owned();
        let get = |path: &str| {
            client
                .get(format!("http://127.0.0.1:{port}/api/v1{path}"))
                .bearer_auth(&rep_token)
                .send()
        };
        let unread: serde_json::Value = get("/notifications/unread-count")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(unread["unread"], 0, "{unread}");
        let listed: serde_json::Value = get("/notifications").await.unwrap().json().await.unwrap();
        assert!(
            listed["data"].as_array().is_some_and(|d| !d.is_empty()),
            "{rep}: {listed}"
        );
        assert!(sigterm(&mut child).success());
        // `rivet rescore` recomputes them: done, and (moments later) nothing or little moved.
        let out = rivet(&dir, &url).arg("rescore").output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success() && said.starts_with("rescored every lead in"),
            "{said}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        first_leads.push(names);
        // Everything but the ids and timings is the same on both runs.
        printed.push(
            text.lines()
                .filter(|l| l.contains('@'))
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
        drop_database(pg).await;
    }
    assert_eq!(first_leads[0], first_leads[1]);
    assert_eq!(printed[0], printed[1]);
    assert_eq!(printed[0].len(), 10, "ten demo users: {:?}", printed[0]);

    // Without --demo there is nothing to seed.
    let dir = tempfile::tempdir().unwrap();
    let out = rivet(&dir, &format!("sqlite://{}/x.db", dir.path().display()))
        .args(["seed"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--demo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_demo_is_deterministic_sqlite() {
    seed_demo_is_deterministic(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn seed_demo_is_deterministic_postgres() {
    seed_demo_is_deterministic(Db::Postgres).await;
}

/// `rivet serve --demo` on an empty database does the first-run setup as `serve` does (the
/// configured admin of the configured company is the system administrator), then seeds the demo
/// company; the console shows both sign-ins and what each is for. A second start seeds nothing.
async fn serve_demo_sets_up_the_system_admin_then_seeds_once(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(db, &dir).await;
    for round in 0..2 {
        let port = free_port();
        let (mut child, printed) = serve_with(
            rivet(&dir, &url)
                .args(["serve", "--demo"])
                .env("RIVET_ADMIN_EMAIL", "owner@initech.test")
                .env("RIVET_ADMIN_PASSWORD", "owner-password-77")
                .env("RIVET_COMPANY_NAME", "Initech")
                .env("RIVET_DEMO_PASSWORD", "demo-password-42")
                .env("RIVET_WORKERS", "false"),
            port,
        );
        if round == 0 {
            for expected in [
                "created the company \"Initech\"",
                "system administrator",
                "owner@initech.test",
                "RIVET_ADMIN_PASSWORD",
                "Demo users of \"Demo Company\"",
                "admin@demo-company.test",
                "demo password: demo-password-42",
                "Sign in as the system administrator (owner@initech.test)",
            ] {
                assert!(printed.contains(expected), "{expected:?} in:\n{printed}");
            }
            assert!(
                !printed.contains("owner-password-77"),
                "a configured password is not printed:\n{printed}"
            );
        } else {
            assert!(!printed.contains("Seeding"), "seeded twice:\n{printed}");
            assert!(!printed.contains("first run"), "{printed}");
        }
        let client = reqwest::Client::new();
        let signed_in: serde_json::Value = client
            .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "owner@initech.test", "password": "owner-password-77"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = signed_in["access_token"].as_str().unwrap().to_owned();
        let system = client
            .get(format!("http://127.0.0.1:{port}/api/v1/system/settings"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(system.status(), 200, "the configured admin runs the system");
        assert_eq!(
            login(port, "admin@demo-company.test", "demo-password-42").await,
            200
        );
        assert!(sigterm(&mut child).success());
    }
    drop_database(pg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_sets_up_the_system_admin_then_seeds_once_sqlite() {
    serve_demo_sets_up_the_system_admin_then_seeds_once(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn serve_demo_sets_up_the_system_admin_then_seeds_once_postgres() {
    serve_demo_sets_up_the_system_admin_then_seeds_once(Db::Postgres).await;
}

/// Without a configured admin, `serve --demo` prints the generated one's password once, and that
/// admin is the system administrator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_without_configuration_prints_the_generated_system_admin() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rivet.db").display());
    let port = free_port();
    let (mut child, printed) = serve_with(
        rivet(&dir, &url)
            .args(["serve", "--demo"])
            .env("RIVET_WORKERS", "false"),
        port,
    );
    let password = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().to_owned())
        .unwrap_or_else(|| panic!("no generated password in:\n{printed}"));
    assert!(printed.contains("shown only now"), "{printed}");
    assert!(
        printed.contains("demo password: rivet-demo-2024"),
        "{printed}"
    );
    let client = reqwest::Client::new();
    let signed_in: serde_json::Value = client
        .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "admin@localhost", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed_in["access_token"].as_str().unwrap().to_owned();
    let stats = client
        .get(format!("http://127.0.0.1:{port}/api/v1/system/stats"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);
    assert!(sigterm(&mut child).success());
}

/// `rivet seed --demo` twice on one database: the second run says the name is taken and makes
/// "Demo Company 2" with its own users, instead of adding the first company's users to a twin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_twice_makes_a_second_company_with_its_own_users() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rivet.db").display());
    let seed = || {
        let out = rivet(&dir, &url)
            .args(["seed", "--demo", "--scale", "0.02"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let first = seed();
    assert!(first.contains("admin@demo-company.test"), "{first}");
    let second = seed();
    assert!(
        second.contains("\"Demo Company\" (or its demo users) exists already")
            && second.contains("\"Demo Company 2\""),
        "{second}"
    );
    assert!(second.contains("admin@demo-company-2.test"), "{second}");
    assert!(!second.contains("@demo-company.test"), "{second}");
}

/// What a new user meets first: the help of each command describes its options and says what
/// is true.
#[test]
fn command_help_describes_every_option() {
    let help = |args: &[&str]| {
        let out = Command::new(rivet_bin()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let text = help(&["company", "create", "--help"]);
    for option in ["--name", "--admin-email", "--admin-password"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(option))
            .unwrap_or_else(|| panic!("{option} in:\n{text}"));
        let described = line.trim_start().len() > option.len() + 10
            || text
                .split(line)
                .nth(1)
                .and_then(|rest| rest.lines().nth(1))
                .is_some_and(|next| next.trim().len() > 10);
        assert!(described, "{option} is described:\n{text}");
    }
    let text = help(&["user", "create", "--help"]);
    assert!(text.contains("its name, or its id"), "{text}");
    assert!(!text.contains("see the Settings page"), "{text}");
    let text = help(&["seed", "--help"]);
    assert!(text.contains("10 users") && !text.contains("~20"), "{text}");
    let text = help(&["--help"]);
    assert!(text.contains("RIVET_METRICS_TOKEN"), "{text}");
}

/// Run `rivet migrate` with `vars` (and no other environment) and return (success, stdout,
/// stderr, seconds).
fn migrate_with(vars: &[(&str, &str)]) -> (bool, String, String, f64) {
    let mut cmd = Command::new(rivet_bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("migrate");
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let started = Instant::now();
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        started.elapsed().as_secs_f64(),
    )
}

/// A `DATABASE_URL` naming a PostgreSQL database that does not exist says so.
#[test]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
fn a_missing_postgres_database_is_named() {
    let admin = postgres_admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
    let (ok, _, err, _) = migrate_with(&[("DATABASE_URL", &format!("{base}/no_such_rivet_db"))]);
    assert!(!ok);
    assert!(err.contains("\"no_such_rivet_db\" does not exist"), "{err}");
}

/// A misconfiguration is said with the setting to fix, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misconfigurations_name_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    for addr in ["8080", ":8080", "localhost"] {
        let (ok, _, err, _) = migrate_with(&[("RIVET_ADDR", addr), ("RIVET_DATA_DIR", &data)]);
        assert!(!ok);
        assert!(
            err.contains("RIVET_ADDR") && err.contains("IP address and port"),
            "{addr}: {err}"
        );
    }
    // A host name is resolved.
    let (ok, _, err, _) =
        migrate_with(&[("RIVET_ADDR", "localhost:8080"), ("RIVET_DATA_DIR", &data)]);
    assert!(ok, "{err}");

    let closed = free_port();
    let (ok, _, err, seconds) = migrate_with(&[(
        "DATABASE_URL",
        &format!("postgres://postgres@127.0.0.1:{closed}/rivet"),
    )]);
    assert!(!ok);
    assert!(
        err.contains("connection refused") && err.contains(&format!("127.0.0.1:{closed}")),
        "{err}"
    );
    assert!(
        seconds < 5.0,
        "said at once, not after a pool timeout: {seconds} s"
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let file = file.display().to_string();
    let (ok, _, err, _) = migrate_with(&[("RIVET_DATA_DIR", &file)]);
    assert!(!ok);
    assert!(
        err.contains("RIVET_DATA_DIR") && err.contains(&file) && err.contains("is a file"),
        "{err}"
    );
    let impossible = format!("{file}/below/a/file");
    let (ok, _, err, _) = migrate_with(&[("RIVET_DATA_DIR", &impossible)]);
    assert!(!ok);
    assert!(
        err.contains("RIVET_DATA_DIR") && err.contains(&impossible),
        "{err}"
    );

    let missing = dir.path().join("missing.toml").display().to_string();
    let (ok, _, err, _) = migrate_with(&[("RIVET_CONFIG", &missing)]);
    assert!(!ok);
    assert!(
        err.contains("RIVET_CONFIG") && err.contains(&missing),
        "{err}"
    );
    assert_eq!(
        err.matches("os error").count(),
        1,
        "the OS error once: {err}"
    );
}

/// A port in use stops `rivet serve` with a message naming RIVET_ADDR, before the database is
/// opened or a worker started.
#[test]
fn a_port_in_use_is_said_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = Command::new(rivet_bin())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RIVET_DATA_DIR", dir.path())
        .env("RIVET_ADDR", format!("127.0.0.1:{port}"))
        .env("RIVET_LOG", "info")
        .arg("serve")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success());
    assert!(
        stderr.contains("already in use") && stderr.contains("RIVET_ADDR"),
        "{stderr}"
    );
    assert!(!stdout.contains("worker"), "no worker started: {stdout}");
    assert!(
        !dir.path().join("rivet.db").exists(),
        "the database was not opened"
    );
    drop(taken);
}

/// Migrations are logged at info only when one is applied, in one line.
#[test]
fn migrations_are_one_info_line_when_applied_and_none_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let vars = [("RIVET_DATA_DIR", data.as_str()), ("RIVET_LOG", "info")];
    let (ok, first, err, _) = migrate_with(&vars);
    assert!(ok, "{err}");
    let info: Vec<&str> = first.lines().filter(|l| l.contains("INFO")).collect();
    assert_eq!(info.len(), 1, "{first}");
    assert!(
        info[0].contains("applied") && info[0].contains("migrations"),
        "{first}"
    );
    let (ok, second, err, _) = migrate_with(&vars);
    assert!(ok, "{err}");
    assert!(!second.contains("INFO"), "nothing to say:\n{second}");
}

/// `rivet export` writes a list to standard output for a member, in their scope, and says who
/// is not a member.
async fn export_writes_a_list_for_a_member(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(db, &dir).await;
    let out = rivet(&dir, &url)
        .args(["seed", "--demo", "--size", "small", "--scale", "0.2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = |member: &str, format: &str| {
        rivet(&dir, &url)
            .args([
                "export",
                "--entity",
                "leads",
                "--company",
                "Demo Company",
                "--as",
                member,
                "--format",
                format,
                "--query",
                "sort=last_name",
            ])
            .output()
            .unwrap()
    };
    let all = export("admin@demo-company.test", "csv");
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let text = String::from_utf8(all.stdout).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,first_name,last_name,")
    );
    assert_eq!(lines.count(), 100, "the demo's 100 leads at scale 0.2");

    let xlsx = export("admin@demo-company.test", "xlsx");
    assert!(xlsx.status.success());
    assert!(xlsx.stdout.starts_with(b"PK"), "an XLSX file is a zip");

    let stranger = export("nobody@demo-company.test", "csv");
    assert!(!stranger.status.success());
    let said = String::from_utf8_lossy(&stranger.stderr);
    assert!(
        said.contains("--as") && said.contains("no active member"),
        "{said}"
    );
    drop_database(pg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_a_list_for_a_member_sqlite() {
    export_writes_a_list_for_a_member(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn export_writes_a_list_for_a_member_postgres() {
    export_writes_a_list_for_a_member(Db::Postgres).await;
}

/// `rivet import` keeps the file as an import, maps it by `--mapping`, runs it for a member and
/// says what it did; the same rows again are duplicates, skipped.
async fn import_runs_a_file_for_a_member(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = fresh_database(db, &dir).await;
    let out = rivet(&dir, &url)
        .args(["seed", "--demo", "--size", "small", "--scale", "0.2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "Surname;Mail;Ignored\nImported-One;one@import.test;x\nImported-Two;two@import.test;y\n\
         ;not-an-email;z\n",
    )
    .unwrap();
    let mapping = dir.path().join("m.toml");
    std::fs::write(
        &mapping,
        "[mapping]\nSurname = \"last_name\"\nMail = \"email\"\n\n[options]\ntags = [\"cli\"]\n",
    )
    .unwrap();
    let import = |member: &str| {
        rivet(&dir, &url)
            .arg("import")
            .arg(&file)
            .args([
                "--entity",
                "leads",
                "--company",
                "Demo Company",
                "--as",
                member,
            ])
            .arg("--mapping")
            .arg(&mapping)
            .output()
            .unwrap()
    };
    let first = import("admin@demo-company.test");
    let said = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        said.contains("completed — 3 rows: 2 created, 0 updated, 0 skipped, 1 failed"),
        "{said}"
    );
    let again = import("admin@demo-company.test");
    let said = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(
        said.contains("0 created, 0 updated, 2 skipped, 1 failed"),
        "{said}"
    );
    let export = rivet(&dir, &url)
        .args([
            "export",
            "--entity",
            "leads",
            "--company",
            "Demo Company",
            "--as",
            "admin@demo-company.test",
            "--query",
            "q=imported-",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(export.stdout).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("cli"), "{text}");

    let stranger = import("nobody@demo-company.test");
    assert!(!stranger.status.success());
    drop_database(pg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_runs_a_file_for_a_member_sqlite() {
    import_runs_a_file_for_a_member(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn import_runs_a_file_for_a_member_postgres() {
    import_runs_a_file_for_a_member(Db::Postgres).await;
}
