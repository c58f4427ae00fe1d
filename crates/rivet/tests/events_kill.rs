//! A `rivet worker` killed with SIGKILL in the middle of dispatching events loses nothing and
//! applies nothing twice; a second worker picks up where it stopped (PostgreSQL, real processes,
//! a real HTTP receiver).
//!
//! What is promised, and checked: **at-least-once delivery to the receiver, exactly-once apply.**
//! Every event reaches the receiver (none lost). The webhooks consumer's stored position and the
//! one delivery row per (webhook, event) — written in the same transaction — prove no event was
//! applied twice. A delivery that was on the wire when the worker died is sent again after its
//! lease expires, so the receiver may see such an event id twice (it de-duplicates by
//! `X-Rivet-Event-Id`); the test bounds those repeats by what one worker can have in flight.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rivet_store::sea_orm::{ConnectionTrait, Statement};
use rivet_tests::receiver::{Behaviour, Receiver};
use rivet_tests::serde_json::json;
use rivet_tests::{Db, TestApp, json_of, spawn_app_with};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn rivet_bin() -> String {
    std::env::var("RIVET_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rivet").to_owned())
}

fn worker(app: &TestApp, dir: &tempfile::TempDir) -> Child {
    Command::new(rivet_bin())
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RIVET_DATA_DIR", dir.path())
        .env("DATABASE_URL", app.state.config.database_url())
        .env("RIVET_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("RIVET_WEBHOOK_TIMEOUT", "2")
        .env("RIVET_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rivet worker")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = app.state.store.system();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set RIVET_TEST_DATABASE_URL, run with --include-ignored"]
async fn a_worker_killed_mid_dispatch_loses_and_doubles_nothing_postgres() {
    const EVENTS: usize = 300;
    let app = spawn_app_with(Db::Postgres, |c| c.webhook_allow_private = true).await;
    let admin = app.admin().await;
    // Slow enough that the first worker is killed with deliveries on the wire.
    let receiver = Receiver::start(Behaviour::Ok {
        delay: Duration::from_millis(150),
    })
    .await;
    let hook = json_of(
        app.post(
            "/webhooks",
            &admin,
            json!({"url": receiver.url("/hook"), "event_types": ["lead.created"]}),
        )
        .await,
    )
    .await;
    assert!(hook["secret"].is_string(), "{hook}");
    for i in 0..EVENTS {
        let response = app
            .post("/leads", &admin, json!({"last_name": format!("Lead {i}")}))
            .await;
        assert_eq!(response.status(), 201);
    }
    let dir = tempfile::tempdir().unwrap();

    let mut first = worker(&app, &dir);
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.count() < 70 {
        assert!(
            Instant::now() < deadline,
            "the first worker delivered too little"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().expect("SIGKILL the worker");
    first.wait().unwrap();
    let at_kill = receiver.count();
    assert!(
        at_kill < EVENTS,
        "killed mid-dispatch ({at_kill} delivered)"
    );

    let mut second = worker(&app, &dir);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let delivered = count(
            &app,
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'delivered'",
        )
        .await;
        if delivered as usize == EVENTS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {delivered} of {EVENTS} delivered after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    second.kill().unwrap();
    second.wait().unwrap();

    // Nothing lost: every lead.created event reached the receiver.
    let events = json_of(app.get("/events?type=lead.created&limit=500", &admin).await).await;
    let expected: HashSet<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), EVENTS);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for request in receiver.received() {
        let id = request.header("x-rivet-event-id").expect("event id header");
        *seen.entry(id).or_default() += 1;
    }
    let got: HashSet<String> = seen.keys().cloned().collect();
    assert_eq!(got, expected, "every event arrived, and no other");

    // Nothing applied twice: one delivery row per event, and the consumer's position is the
    // last event's.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM webhook_deliveries").await as usize,
        EVENTS
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(DISTINCT event_id) FROM webhook_deliveries"
        )
        .await as usize,
        EVENTS
    );
    let position = count(
        &app,
        "SELECT position FROM event_positions WHERE name = 'webhooks'",
    )
    .await;
    let last = count(&app, "SELECT MAX(seq) FROM outbox").await;
    assert_eq!(position, last);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE seq IS NULL").await,
        0
    );
    // Repeats at the receiver: only what was on the wire when the worker died (one claim).
    let repeats: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        repeats <= 64,
        "{repeats} repeated deliveries; at most one claim's worth may repeat"
    );
}
