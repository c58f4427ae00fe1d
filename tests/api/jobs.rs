//! The durable job queue: workers run jobs to an end (succeeded, retried with backoff, dead),
//! leases survive dead workers and shut out stale ones, schedules enqueue each slot once, and
//! `/jobs` lists, counts, cancels and retries within the caller's company.

use chrono::Utc;
use rivet_server::AppState;
use rivet_server::worker::{self, TEST_ECHO, WorkerOptions};
use rivet_store::jobs::{self, NewJob};
use rivet_store::sea_orm::{ConnectionTrait, Statement};
use rivet_tests::{Db, Session, TestApp, assert_problem, both, ids_of, json_of, spawn_app};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Short leases and backoffs so the tests run in seconds.
fn options(id: &str) -> WorkerOptions {
    WorkerOptions {
        id: id.into(),
        concurrency: 4,
        lease: Duration::from_secs(3),
        poll_interval: Duration::from_millis(50),
        backoff_base: chrono::Duration::milliseconds(50),
        shutdown_grace: Duration::from_secs(1),
    }
}

struct Worker {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Worker {
    fn start(state: &AppState, options: WorkerOptions) -> Self {
        let (stop, rx) = watch::channel(false);
        let handle = worker::spawn_with(state.clone(), options, rx);
        Self { stop, handle }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("worker stops in time")
            .expect("worker task ends cleanly");
    }
}

fn echo(app: &TestApp, payload: Value) -> NewJob {
    NewJob::new(TEST_ECHO, payload).for_company(app.company_id)
}

async fn enqueue(app: &TestApp, job: NewJob) -> Uuid {
    jobs::enqueue_now(&app.state.store, job)
        .await
        .expect("enqueue")
}

async fn job(app: &TestApp, who: &Session, id: Uuid) -> Value {
    let response = app.get(&format!("/jobs/{id}"), who).await;
    assert_eq!(response.status(), 200, "GET /jobs/{id}");
    json_of(response).await
}

async fn wait_for_state(app: &TestApp, who: &Session, id: Uuid, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let current = job(app, who, id).await;
        if current["state"] == state {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never reached {state}: {current}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = app.state.store.system();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("count query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

async fn enqueued_jobs_run_to_success_and_failures_do_not_stop_the_worker(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let ok = enqueue(&app, echo(&app, json!({"hello": "world", "sleep_ms": 50}))).await;
    let panics = enqueue(&app, echo(&app, json!({"panic": true})).max_attempts(1)).await;
    let unknown = enqueue(
        &app,
        NewJob::new("no.such.kind", json!({}))
            .for_company(app.company_id)
            .max_attempts(1),
    )
    .await;
    let worker = Worker::start(&app.state, options("w1"));

    let done = wait_for_state(&app, &admin, ok, "succeeded").await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["result"]["payload"]["hello"], "world");
    assert_eq!(done["progress"], json!({"done": 10, "total": 10}));
    assert!(done["finished_at"].is_string());
    assert!(
        done["result"]["worker"]
            .as_str()
            .is_some_and(|w| w.starts_with("w1/"))
    );
    assert!(done.get("lease_owner").is_none() && done.get("company_id").is_none());

    let dead = wait_for_state(&app, &admin, panics, "dead").await;
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("panicked")),
        "{dead}"
    );
    let dead = wait_for_state(&app, &admin, unknown, "dead").await;
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown job kind")),
        "{dead}"
    );

    // The worker survived the panic and keeps taking work.
    let after = enqueue(&app, echo(&app, json!({}))).await;
    wait_for_state(&app, &admin, after, "succeeded").await;
    worker.stop().await;
}

async fn failed_attempts_retry_after_a_growing_backoff_then_succeed(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;

    // The backoff itself: a failed attempt is queued again, not before its delay.
    let id = enqueue(&app, echo(&app, json!({}))).await;
    let claimed = jobs::claim(store, "manual", &[TEST_ECHO], Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a due job");
    assert_eq!((claimed.id, claimed.attempts), (id, 1));
    let state = jobs::fail(store, &claimed, "boom", chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(state, Some(rivet_domain::jobs::JobState::Queued));
    let queued = job(&app, &admin, id).await;
    assert_eq!(queued["state"], "queued");
    assert_eq!(queued["last_error"], "boom");
    let run_at: chrono::DateTime<Utc> = queued["run_at"].as_str().unwrap().parse().unwrap();
    assert!(
        run_at >= Utc::now() + chrono::Duration::minutes(59),
        "{run_at}"
    );
    assert!(
        jobs::claim(store, "manual", &[TEST_ECHO], Duration::from_secs(30))
            .await
            .unwrap()
            .is_none(),
        "a job waiting out its backoff is not claimed"
    );
    let cancelled = app
        .post(&format!("/jobs/{id}/cancel"), &admin, json!({}))
        .await;
    assert_eq!(cancelled.status(), 200);

    // End to end: two failures (50 ms, then 100 ms of backoff at least), then success.
    let started = Instant::now();
    let flaky = enqueue(&app, echo(&app, json!({"fail_times": 2}))).await;
    let worker = Worker::start(&app.state, options("w1"));
    let done = wait_for_state(&app, &admin, flaky, "succeeded").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(done["attempts"], 3);
    assert_eq!(done["result"]["attempt"], 3);
    assert!(
        done["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("attempt 2"))
    );
    worker.stop().await;
}

async fn a_job_is_dead_after_its_last_attempt(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let id = enqueue(&app, echo(&app, json!({"fail_times": 99})).max_attempts(3)).await;
    let worker = Worker::start(&app.state, options("w1"));
    let dead = wait_for_state(&app, &admin, id, "dead").await;
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["max_attempts"], 3);
    assert!(dead["finished_at"].is_string());
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("attempt 3"))
    );
    // Dead stays dead: no worker picks it up again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job(&app, &admin, id).await["attempts"], 3);
    worker.stop().await;
}

async fn an_idempotency_key_returns_the_existing_job(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    let first = enqueue(
        &app,
        echo(&app, json!({"n": 1})).idempotency_key("import:42"),
    )
    .await;
    let again = enqueue(
        &app,
        echo(&app, json!({"n": 2})).idempotency_key("import:42"),
    )
    .await;
    assert_eq!(first, again);

    // Inside one transaction too, and a different key is a different job.
    let tx = store.write_system().await.unwrap();
    let inner = jobs::enqueue(&tx, echo(&app, json!({})).idempotency_key("import:42"))
        .await
        .unwrap();
    let other = jobs::enqueue(&tx, echo(&app, json!({})).idempotency_key("import:43"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(inner, first);
    assert_ne!(other, first);

    // One company's key never hands out another company's job.
    let globex = app.other_company("Globex").await;
    let clash = jobs::enqueue_now(
        store,
        NewJob::new(TEST_ECHO, json!({}))
            .for_company(globex.company_id)
            .idempotency_key("import:42"),
    )
    .await;
    assert!(matches!(
        clash,
        Err(rivet_store::StoreError::Conflict { .. })
    ));

    let page = json_of(app.get("/jobs", &admin).await).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(job(&app, &admin, first).await["payload"], json!({"n": 1}));
}

async fn a_job_is_not_claimed_before_its_run_at_and_priority_goes_first(db: Db) {
    let app = spawn_app(db).await;
    let store = &app.state.store;
    let lease = Duration::from_secs(30);
    let later = enqueue(
        &app,
        echo(&app, json!({})).run_at(Utc::now() + chrono::Duration::hours(1)),
    )
    .await;
    let soon = enqueue(
        &app,
        echo(&app, json!({})).run_at(Utc::now() + chrono::Duration::milliseconds(400)),
    )
    .await;
    assert!(jobs::claim(store, "w", &[], lease).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let claimed = jobs::claim(store, "w", &[], lease).await.unwrap().unwrap();
    assert_eq!(claimed.id, soon);
    assert!(jobs::claim(store, "w", &[], lease).await.unwrap().is_none());
    assert_ne!(claimed.id, later);

    let low = enqueue(&app, echo(&app, json!({}))).await;
    let high = enqueue(&app, echo(&app, json!({})).priority(10)).await;
    let other_kind = enqueue(
        &app,
        NewJob::new("other.kind", json!({}))
            .for_company(app.company_id)
            .priority(100),
    )
    .await;
    let first = jobs::claim(store, "w", &[TEST_ECHO], lease)
        .await
        .unwrap()
        .unwrap();
    let second = jobs::claim(store, "w", &[TEST_ECHO], lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.id, second.id), (high, low));
    let any = jobs::claim(store, "w", &[], lease).await.unwrap().unwrap();
    assert_eq!(any.id, other_kind);
}

async fn an_expired_lease_is_reclaimed_and_the_stale_worker_cannot_settle(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    let id = enqueue(&app, echo(&app, json!({"v": 1}))).await;
    let last_try = enqueue(&app, echo(&app, json!({})).max_attempts(1)).await;

    // A worker claims both and dies: its leases run out.
    let short = Duration::from_millis(300);
    let stale = jobs::claim(store, "dead-worker", &[TEST_ECHO], short)
        .await
        .unwrap()
        .unwrap();
    let stale_last = jobs::claim(store, "dead-worker", &[TEST_ECHO], short)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stale.id, stale_last.id), (id, last_try));
    tokio::time::sleep(Duration::from_millis(350)).await;

    // The one on its last attempt is buried, not run forever.
    assert_eq!(jobs::reap_expired(store).await.unwrap().len(), 1);
    let buried = job(&app, &admin, last_try).await;
    assert_eq!(buried["state"], "dead");

    let worker = Worker::start(&app.state, options("rescuer"));
    let done = wait_for_state(&app, &admin, id, "succeeded").await;
    assert_eq!(done["attempts"], 2);
    assert!(
        done["result"]["worker"]
            .as_str()
            .is_some_and(|w| w.starts_with("rescuer/"))
    );
    assert!(
        done["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("lease"))
    );

    // The dead worker wakes up: nothing it says about the job counts any more.
    let progress = rivet_store::jobs::JobProgress {
        done: 1,
        total: None,
    };
    assert!(
        !jobs::heartbeat(store, &stale, progress, Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert!(
        !jobs::complete(store, &stale, progress, json!("stale"))
            .await
            .unwrap()
    );
    assert_eq!(
        jobs::fail(store, &stale, "stale", chrono::Duration::seconds(1))
            .await
            .unwrap(),
        None
    );
    assert!(!jobs::release(store, &stale).await.unwrap());
    let after = job(&app, &admin, id).await;
    assert_eq!(after["state"], "succeeded");
    assert_eq!(after["result"], done["result"]);
    worker.stop().await;
}

async fn cancel_stops_queued_and_running_jobs(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let queued = enqueue(
        &app,
        echo(&app, json!({})).run_at(Utc::now() + chrono::Duration::hours(1)),
    )
    .await;
    let response = app
        .post(&format!("/jobs/{queued}/cancel"), &admin, json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let cancelled = json_of(response).await;
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["finished_at"].is_string());
    let again = app
        .post(&format!("/jobs/{queued}/cancel"), &admin, json!({}))
        .await;
    let problem = assert_problem(again, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("cancelled"));

    let audit = json_of(
        app.get(
            &format!("/audit?resource=jobs&resource_id={queued}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"][0]["action"], "cancel");

    // A running job stops at its next heartbeat, and its slot is free again.
    let worker = Worker::start(
        &app.state,
        WorkerOptions {
            concurrency: 1,
            ..options("w1")
        },
    );
    let long = enqueue(&app, echo(&app, json!({"sleep_ms": 30_000}))).await;
    wait_for_state(&app, &admin, long, "running").await;
    let response = app
        .post(&format!("/jobs/{long}/cancel"), &admin, json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let next = enqueue(&app, echo(&app, json!({}))).await;
    wait_for_state(&app, &admin, next, "succeeded").await;
    let stopped = job(&app, &admin, long).await;
    assert_eq!(stopped["state"], "cancelled");
    assert!(stopped["result"].is_null());
    worker.stop().await;
}

async fn retry_requeues_only_dead_and_cancelled_jobs(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    let retry = |id: Uuid| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post(&format!("/jobs/{id}/retry"), admin, json!({}))
                .await
        }
    };

    let running = enqueue(&app, echo(&app, json!({}))).await;
    jobs::claim(store, "elsewhere", &[TEST_ECHO], Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap();
    let problem = assert_problem(retry(running).await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("running"));

    let later = enqueue(
        &app,
        echo(&app, json!({"later": true})).run_at(Utc::now() + chrono::Duration::hours(1)),
    )
    .await;
    assert_problem(retry(later).await, 409).await;
    app.post(&format!("/jobs/{later}/cancel"), &admin, json!({}))
        .await;
    let response = retry(later).await;
    assert_eq!(response.status(), 200);
    let requeued = json_of(response).await;
    assert_eq!(requeued["state"], "queued");
    assert_eq!(requeued["attempts"], 0);
    assert!(requeued["finished_at"].is_null());

    let doomed = enqueue(&app, echo(&app, json!({"fail_times": 1})).max_attempts(1)).await;
    let worker = Worker::start(&app.state, options("w1"));
    wait_for_state(&app, &admin, later, "succeeded").await;
    wait_for_state(&app, &admin, doomed, "dead").await;
    assert_problem(retry(later).await, 409).await;

    // A dead job runs again with a fresh set of attempts (and, failing again, dies again).
    let response = retry(doomed).await;
    assert_eq!(response.status(), 200);
    let requeued = json_of(response).await;
    assert_eq!(
        (&requeued["state"], &requeued["attempts"]),
        (&json!("queued"), &json!(0))
    );
    let again = wait_for_state(&app, &admin, doomed, "dead").await;
    assert_eq!(again["attempts"], 1);
    worker.stop().await;

    let audit = json_of(
        app.get(
            &format!("/audit?resource=jobs&resource_id={doomed}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(audit["data"][0]["action"], "retry");
    assert_problem(
        app.post(
            &format!("/jobs/{}/retry", Uuid::now_v7()),
            &admin,
            json!({}),
        )
        .await,
        404,
    )
    .await;
}

async fn the_jobs_api_lists_filters_counts_and_keeps_companies_apart(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let globex = app.other_company("Globex").await;
    let later = Utc::now() + chrono::Duration::hours(1);
    let a1 = enqueue(&app, echo(&app, json!({})).run_at(later)).await;
    let a2 = enqueue(
        &app,
        NewJob::new("report.build", json!({}))
            .for_company(app.company_id)
            .run_at(later),
    )
    .await;
    let system = enqueue(
        &app,
        NewJob::new("maintenance.prune", json!({})).run_at(later),
    )
    .await;
    let b1 = enqueue(
        &app,
        NewJob::new(TEST_ECHO, json!({}))
            .for_company(globex.company_id)
            .run_at(later),
    )
    .await;
    let [a1, a2, system, b1] = [a1, a2, system, b1].map(|id| id.to_string());

    let all = ids_of(&json_of(app.get("/jobs", &admin).await).await);
    assert_eq!(all, vec![system.clone(), a2.clone(), a1.clone()]);
    let echoes = ids_of(&json_of(app.get("/jobs?kind=test.echo", &admin).await).await);
    assert_eq!(echoes, vec![a1.clone()]);
    let queued = ids_of(&json_of(app.get("/jobs?state=queued", &admin).await).await);
    assert_eq!(queued.len(), 3);
    let none = ids_of(&json_of(app.get("/jobs?state=succeeded", &admin).await).await);
    assert!(none.is_empty());

    let first = json_of(app.get("/jobs?limit=2", &admin).await).await;
    assert_eq!(ids_of(&first), vec![system.clone(), a2.clone()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_of(
        app.get(&format!("/jobs?limit=2&cursor={cursor}"), &admin)
            .await,
    )
    .await;
    assert_eq!(ids_of(&second), vec![a1.clone()]);
    assert!(second["next_cursor"].is_null());

    let stats = json_of(app.get("/jobs/stats", &admin).await).await;
    assert_eq!(stats["total"], 3);
    assert_eq!(stats["by_state"]["queued"], 3);
    assert_eq!(stats["by_state"]["dead"], 0);
    assert_eq!(stats["by_kind"]["test.echo"]["queued"], 1);
    assert_eq!(stats["by_kind"]["report.build"]["queued"], 1);

    // Another company sees only its own job, and ours are simply not found.
    let theirs = ids_of(&json_of(app.get("/jobs", &globex).await).await);
    assert_eq!(theirs, vec![b1.clone()]);
    for id in [&a1, &system] {
        assert_problem(app.get(&format!("/jobs/{id}"), &globex).await, 404).await;
        assert_problem(
            app.post(&format!("/jobs/{id}/cancel"), &globex, json!({}))
                .await,
            404,
        )
        .await;
    }
    let their_stats = json_of(app.get("/jobs/stats", &globex).await).await;
    assert_eq!(their_stats["total"], 1);

    // System jobs are for system administrators only, even within the company.
    let second_admin = app.member(&admin, "admin").await;
    let seen = ids_of(&json_of(app.get("/jobs", &second_admin).await).await);
    assert_eq!(seen, vec![a2.clone(), a1.clone()]);
    assert_problem(
        app.get(&format!("/jobs/{system}"), &second_admin).await,
        404,
    )
    .await;
}

async fn the_jobs_api_rejects_bad_input_and_callers_without_permission(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let sales = app.member(&admin, "sales").await;
    let id = enqueue(&app, echo(&app, json!({}))).await;

    for path in ["/jobs", "/jobs/stats", &format!("/jobs/{id}")] {
        assert_problem(app.get(path, &sales).await, 403).await;
    }
    for action in ["retry", "cancel"] {
        assert_problem(
            app.post(&format!("/jobs/{id}/{action}"), &sales, json!({}))
                .await,
            403,
        )
        .await;
    }
    let anonymous = app
        .api(reqwest::Method::GET, "/jobs", None)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;

    let bogus = assert_problem(app.get("/jobs?state=bogus", &admin).await, 400).await;
    let detail = bogus["detail"].as_str().unwrap();
    assert!(
        detail.contains("queued") && detail.contains("dead"),
        "{detail}"
    );
    for (query, why) in [
        ("limit=0", "limit below 1"),
        ("limit=501", "limit above 500"),
        ("limit=ten", "limit not a number"),
        ("cursor=not-a-cursor!", "garbage cursor"),
        ("colour=blue", "unknown parameter"),
    ] {
        let response = app.get(&format!("/jobs?{query}"), &admin).await;
        assert_eq!(response.status(), 400, "{why}");
    }
    assert_problem(app.get("/jobs/not-a-uuid", &admin).await, 404).await;
    assert_problem(
        app.get(&format!("/jobs/{}", Uuid::now_v7()), &admin).await,
        404,
    )
    .await;
}

async fn due_schedules_enqueue_each_slot_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    let invalid = jobs::ensure_schedule(store, "bad", TEST_ECHO, "not cron", json!({})).await;
    assert!(matches!(invalid, Err(rivet_store::StoreError::Invalid(_))));

    jobs::ensure_schedule(
        store,
        "every-second",
        TEST_ECHO,
        "* * * * * *",
        json!({"s": 1}),
    )
    .await
    .unwrap();
    let before = jobs::get_schedule(store, "every-second")
        .await
        .unwrap()
        .unwrap();
    // Registering again (every instance does on start) leaves the next run alone.
    jobs::ensure_schedule(
        store,
        "every-second",
        TEST_ECHO,
        "* * * * * *",
        json!({"s": 1}),
    )
    .await
    .unwrap();
    let same = jobs::get_schedule(store, "every-second")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same.next_run_at, before.next_run_at);

    let wait = (before.next_run_at - Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(50)).await;

    // Two instances look at the same moment: one slot, one job.
    let second = rivet_server::build_state((*app.state.config).clone(), None)
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        jobs::enqueue_due_schedules(store),
        jobs::enqueue_due_schedules(&second.store)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let page = json_of(app.get("/jobs?kind=test.echo", &admin).await).await;
    let listed = page["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["payload"], json!({"s": 1}));
    assert_eq!(
        listed[0]["idempotency_key"],
        format!("schedule:every-second:{}", before.next_run_at.to_rfc3339())
    );
    let moved = jobs::get_schedule(store, "every-second")
        .await
        .unwrap()
        .unwrap();
    assert!(moved.next_run_at > before.next_run_at);
}

async fn maintenance_prunes_old_logs_sessions_and_finished_jobs(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let store = &app.state.store;
    let db = store.system();
    for (id, message, at) in [
        (Uuid::now_v7(), "old-entry", "2000-01-01T00:00:00+00:00"),
        (Uuid::now_v7(), "new-entry", "2999-01-01T00:00:00+00:00"),
    ] {
        db.execute_unprepared(&format!(
            "INSERT INTO system_logs (id, level, target, message, fields, created_at) \
             VALUES ('{id}', 'warn', 'test', '{message}', '{{}}', '{at}')"
        ))
        .await
        .unwrap();
    }
    // One long-finished job and one just finished.
    for kind in ["test.old", "test.recent"] {
        enqueue(
            &app,
            NewJob::new(kind, json!({})).for_company(app.company_id),
        )
        .await;
        let claimed = jobs::claim(store, "w", &[kind], Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert!(
            jobs::complete(store, &claimed, claimed.progress, json!({}))
                .await
                .unwrap()
        );
    }
    db.execute_unprepared(
        "UPDATE jobs SET finished_at = '2000-01-01T00:00:00+00:00' WHERE kind = 'test.old'",
    )
    .await
    .unwrap();

    let id = enqueue(&app, NewJob::new(worker::MAINTENANCE_PRUNE, json!({}))).await;
    let worker = Worker::start(&app.state, options("w1"));
    let done = wait_for_state(&app, &admin, id, "succeeded").await;
    worker.stop().await;
    assert_eq!(done["result"]["system_logs"], 1, "{done}");
    assert_eq!(done["result"]["jobs"], 1, "{done}");
    assert!(done["result"]["sessions_and_tokens"].is_u64());
    let logs = "SELECT COUNT(*) FROM system_logs WHERE message";
    assert_eq!(count(&app, &format!("{logs} = 'old-entry'")).await, 0);
    assert_eq!(count(&app, &format!("{logs} = 'new-entry'")).await, 1);
    let jobs_of = "SELECT COUNT(*) FROM jobs WHERE kind";
    assert_eq!(count(&app, &format!("{jobs_of} = 'test.old'")).await, 0);
    assert_eq!(count(&app, &format!("{jobs_of} = 'test.recent'")).await, 1);

    // Every worker registers the daily schedule that runs this.
    let schedule = jobs::get_schedule(store, "maintenance")
        .await
        .unwrap()
        .expect("maintenance schedule");
    assert_eq!(schedule.kind, worker::MAINTENANCE_PRUNE);
    assert!(schedule.enabled && schedule.next_run_at > Utc::now());
}

async fn a_stopping_worker_releases_its_unfinished_job(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let worker = Worker::start(
        &app.state,
        WorkerOptions {
            concurrency: 1,
            shutdown_grace: Duration::from_millis(200),
            ..options("w1")
        },
    );
    let long = enqueue(&app, echo(&app, json!({"sleep_ms": 30_000}))).await;
    wait_for_state(&app, &admin, long, "running").await;
    let started = Instant::now();
    worker.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let released = job(&app, &admin, long).await;
    assert_eq!(released["state"], "queued");
    assert_eq!(
        released["attempts"], 0,
        "a release does not use up an attempt"
    );
}

async fn two_workers_on_one_database_run_each_job_exactly_once(db: Db) {
    let app = spawn_app(db).await;
    let admin = app.admin().await;
    let total = 1000;
    let tx = app.state.store.write_system().await.unwrap();
    for n in 0..total {
        jobs::enqueue(&tx, echo(&app, json!({"n": n, "sleep_ms": 10})))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    // A second, independent process: its own pool on the same database.
    let other = rivet_server::build_state((*app.state.config).clone(), None)
        .await
        .unwrap();
    let started = Instant::now();
    let one = Worker::start(&app.state, options("one"));
    let two = Worker::start(&other, options("two"));
    let deadline = Instant::now() + Duration::from_secs(50);
    loop {
        let stats = json_of(app.get("/jobs/stats", &admin).await).await;
        if stats["by_state"]["succeeded"] == total {
            break;
        }
        assert!(Instant::now() < deadline, "not finished in time: {stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    one.stop().await;
    two.stop().await;

    let mut runs = std::collections::HashMap::<String, usize>::new();
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/jobs?limit=500&cursor={c}"),
            None => "/jobs?limit=500".to_owned(),
        };
        let page = json_of(app.get(&path, &admin).await).await;
        for job in page["data"].as_array().unwrap() {
            assert_eq!(job["state"], "succeeded", "{job}");
            assert_eq!(job["attempts"], 1, "claimed more than once: {job}");
            assert_eq!(job["result"]["attempt"], 1);
            assert!(seen.insert(job["payload"]["n"].as_i64().unwrap()));
            let worker = job["result"]["worker"].as_str().unwrap();
            let name = worker.split('/').next().unwrap().to_owned();
            *runs.entry(name).or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    assert_eq!(runs.values().sum::<usize>(), total);
    assert!(
        runs.get("one").copied().unwrap_or(0) > 0 && runs.get("two").copied().unwrap_or(0) > 0,
        "both workers took part: {runs:?}"
    );
    eprintln!("{db:?}: {total} jobs on two workers in {elapsed:?}: {runs:?}");
}

both!(
    enqueued_jobs_run_to_success_and_failures_do_not_stop_the_worker,
    failed_attempts_retry_after_a_growing_backoff_then_succeed,
    a_job_is_dead_after_its_last_attempt,
    an_idempotency_key_returns_the_existing_job,
    a_job_is_not_claimed_before_its_run_at_and_priority_goes_first,
    an_expired_lease_is_reclaimed_and_the_stale_worker_cannot_settle,
    cancel_stops_queued_and_running_jobs,
    retry_requeues_only_dead_and_cancelled_jobs,
    the_jobs_api_lists_filters_counts_and_keeps_companies_apart,
    the_jobs_api_rejects_bad_input_and_callers_without_permission,
    due_schedules_enqueue_each_slot_once,
    maintenance_prunes_old_logs_sessions_and_finished_jobs,
    a_stopping_worker_releases_its_unfinished_job,
    two_workers_on_one_database_run_each_job_exactly_once,
);
