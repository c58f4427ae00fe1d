//! The real binary: first run, the `company` and `user` commands, `--help`, and a graceful stop
//! on SIGTERM — on SQLite, and on PostgreSQL when `RIVET_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rivet_tests::{Db, drop_database, fresh_database};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RIVET: &str = env!("CARGO_BIN_EXE_rivet");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rivet(dir: &tempfile::TempDir, url: &str) -> Command {
    let mut cmd = Command::new(RIVET);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RIVET_DATA_DIR", dir.path())
        .env("DATABASE_URL", url)
        .env("RIVET_LOG", "warn");
    cmd
}

/// Start `rivet serve`, read the console until it listens, return the child and what it printed.
fn serve(dir: &tempfile::TempDir, url: &str, port: u16) -> (Child, String) {
    let mut child = rivet(dir, url)
        .arg("serve")
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
    while started.elapsed() < Duration::from_secs(60) {
        while let Ok(line) = rx.try_recv() {
            printed.push_str(&line);
            printed.push('\n');
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
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
    panic!("rivet serve did not listen within 60 s; printed:\n{printed}");
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
        err.contains("admin_email") && err.contains("admin_password"),
        "{err}"
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
    let out = Command::new(RIVET).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "worker",
        "migrate",
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
        assert!(sigterm(&mut child).success());
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

/// `rivet serve --demo` on an empty database seeds the small data set, then serves it; a
/// second start does not seed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_seeds_an_empty_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rivet.db").display());
    for round in 0..2 {
        let port = free_port();
        let mut child = rivet(&dir, &url)
            .args(["serve", "--demo"])
            .env("RIVET_ADDR", format!("127.0.0.1:{port}"))
            .env("RIVET_DEMO_PASSWORD", "demo-password-42")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "not listening"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            login(port, "admin@demo-company.test", "demo-password-42").await,
            200
        );
        assert!(sigterm(&mut child).success());
        let mut out = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
        if round == 0 {
            assert!(out.contains("demo password: demo-password-42"), "{out}");
        } else {
            assert!(!out.contains("Seeding"), "seeded twice:\n{out}");
        }
    }
}
