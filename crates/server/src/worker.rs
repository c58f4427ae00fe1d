//! Background workers: claim jobs from the durable queue (`rivet_store::jobs`), run each with a
//! heartbeat that renews its lease and reports progress, and settle it — succeeded, retried
//! after a backoff, or dead. The same loop enqueues due recurring schedules and buries jobs whose
//! worker died on their last attempt.
//!
//! Workers run inside `rivet serve` or alone as `rivet worker`; any number of processes may share
//! one database, because a job is leased to one worker at a time. Delivery is at least once: a
//! worker that dies mid-job (or cannot record the outcome) leaves a lease that expires, and the
//! job runs again — handlers must be idempotent.
//!
//! Job kinds are dispatched in [`run_job`]. A kind no handler knows fails with a clear error and
//! ends dead after its attempts, so a typo shows up on the jobs page instead of waiting forever.

use crate::state::AppState;
use rivet_store::jobs::{self, Job, JobProgress};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{JoinError, JoinHandle, JoinSet};

/// Daily housekeeping: old logs, ended sessions, long-finished jobs.
pub const MAINTENANCE_PRUNE: &str = "maintenance.prune";
/// Diagnostic kind: returns its payload. `{"fail_times": n}` fails the first n attempts,
/// `{"sleep_ms": n}` sleeps first (reporting progress), `{"panic": true}` panics.
pub const TEST_ECHO: &str = "test.echo";

const MAINTENANCE_SCHEDULE: &str = "maintenance";
/// 03:17 UTC every day: off the hour, when most installations are quiet.
const MAINTENANCE_CRON: &str = "0 17 3 * * *";
/// Every night, every company's lead scores are brought to the day (engagement decays).
const RESCORE_SCHEDULE: &str = "scoring";
const RESCORE_CRON: &str = "0 41 2 * * *";
/// Every night, every open deal's risk is brought to the day (time alone makes a deal stale).
const RISK_SCHEDULE: &str = "deal-risk";
const RISK_CRON: &str = "0 47 2 * * *";
/// Every night, every account's health is brought to the day (recent activity ages).
const HEALTH_SCHEDULE: &str = "account-health";
const HEALTH_CRON: &str = "0 53 2 * * *";
/// Every week, each company with enough labelled leads gets a new conversion model.
const MODEL_SCHEDULE: &str = "scoring-model";
/// Sunday 23:23 UTC: the week's outcomes are in and the night is quiet.
const MODEL_CRON: &str = "0 23 23 * * SUN";

/// Every quarter hour, the scheduled triggers of workflow rules (no activity, before a close
/// date, task overdue) are checked.
const WORKFLOW_SCHEDULE: &str = "workflows";
const WORKFLOW_CRON: &str = "0 */15 * * * *";

/// Every minute, the companies whose IMAP mailbox is due get a poll (`crate::imap`).
const IMAP_SCHEDULE: &str = "imap";
const IMAP_CRON: &str = "0 * * * * *";

/// Schedules and expired leases are looked at no more often than this.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(1);

/// How a worker process runs; [`WorkerOptions::from_config`] gives the production values.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Names this process in leases and logs: host, pid and a random suffix.
    pub id: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat; a worker renews it every third of this.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// The first retry's delay; each further retry doubles it (with jitter, capped at an hour).
    pub backoff_base: chrono::Duration,
    /// After a stop request, how long in-flight jobs may run on before they are released.
    pub shutdown_grace: Duration,
}

impl WorkerOptions {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            id: worker_id(),
            concurrency: config.worker_concurrency.max(1),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            backoff_base: chrono::Duration::seconds(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// `host:pid:random`, unique per process start.
pub fn worker_id() -> String {
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!(
        "{host}:{}:{:06x}",
        std::process::id(),
        rand::random::<u32>() & 0xff_ffff
    )
}

/// What a running job's handler reports, shared with the heartbeat that stores it.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<ProgressInner>);

#[derive(Debug, Default)]
struct ProgressInner {
    done: AtomicI64,
    /// -1 while unknown.
    total: AtomicI64,
    version: AtomicU64,
    cancelled: AtomicBool,
}

impl Progress {
    fn new() -> Self {
        let progress = Self::default();
        progress.0.total.store(-1, Ordering::Relaxed);
        progress
    }

    /// Report `done` of `total` units; stored with the next heartbeat (within about a second).
    pub fn set(&self, done: i64, total: Option<i64>) {
        self.0.done.store(done, Ordering::Relaxed);
        self.0.total.store(total.unwrap_or(-1), Ordering::Relaxed);
        self.0.version.fetch_add(1, Ordering::Release);
    }

    pub fn get(&self) -> JobProgress {
        let total = self.0.total.load(Ordering::Relaxed);
        JobProgress {
            done: self.0.done.load(Ordering::Relaxed),
            total: (total >= 0).then_some(total),
        }
    }

    /// Whether the job was cancelled or lost its lease. Async handlers are simply dropped at
    /// their next `.await`; work on a blocking thread should check this between steps.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Relaxed)
    }

    fn version(&self) -> u64 {
        self.0.version.load(Ordering::Acquire)
    }
}

/// Run one job: the result to store on success, or an error message for a failed attempt.
pub async fn run_job(state: &AppState, job: &Job, progress: &Progress) -> Result<Value, String> {
    // A recomputation over one company's records, or every company's (`$run(store, company,
    // report)`): progress as it goes, how many changed at the end.
    macro_rules! recompute {
        ($run:path, $what:literal) => {{
            let report = |done, total| progress.set(done, Some(total));
            let company = job.company_id.map(rivet_domain::ids::CompanyId::from_uuid);
            $run(&state.store, company, &report)
                .await
                .map(|changed| json!({ "changed": changed }))
                .map_err(|e| format!("recomputing {} failed: {e}", $what))
        }};
    }
    match job.kind.as_str() {
        MAINTENANCE_PRUNE => rivet_store::maintenance::prune(&state.store)
            .await
            .map(|report| json!(report))
            .map_err(|e| format!("pruning failed: {e}")),
        TEST_ECHO => echo(job, progress).await,
        rivet_store::duplicates::REKEY_JOB => rekey(state, job).await,
        rivet_store::scoring::RESCORE_JOB => {
            let report = |done, total| progress.set(done, Some(total));
            let company = job.company_id.map(rivet_domain::ids::CompanyId::from_uuid);
            let backfill = job.payload["backfill"].as_bool().unwrap_or(false);
            rivet_store::scoring::rescore(&state.store, company, backfill, &report)
                .await
                .map(|changed| json!({ "changed": changed }))
                .map_err(|e| format!("rescoring failed: {e}"))
        }
        rivet_store::scoring_model::TRAIN_JOB => train_model(state, job, progress).await,
        rivet_store::risk::RECOMPUTE_JOB => recompute!(rivet_store::risk::recompute, "deal risk"),
        rivet_store::health::RECOMPUTE_JOB => {
            recompute!(rivet_store::health::recompute, "account health")
        }
        crate::api::duplicate_groups::SCAN_JOB => {
            let report = |done, total| progress.set(done, Some(total));
            crate::api::duplicate_groups::run_scan(state, job, &report).await
        }
        crate::imports::RUN_JOB | crate::imports::UNDO_JOB => {
            import_job(state, job, progress).await
        }
        crate::exports::RUN_JOB => export_job(state, job, progress).await,
        rivet_store::qualification::AUTO_CONVERT_JOB => {
            crate::api::conversion::run_auto(state, job).await
        }
        rivet_store::workflows::WEBHOOK_JOB => {
            crate::api::workflows::call_webhook(state, job).await
        }
        rivet_store::workflows::EMAIL_JOB => crate::api::workflows::send_email(state, job).await,
        rivet_store::workflows::WHATSAPP_JOB => {
            crate::api::workflows::send_whatsapp(state, job).await
        }
        rivet_store::workflows::SCHEDULE_JOB => rivet_store::workflows::run_schedules(&state.store)
            .await
            .map(|runs| json!({ "runs": runs }))
            .map_err(|e| format!("checking the workflow schedules failed: {e}")),
        crate::imap::SCHEDULE_JOB => crate::imap::schedule(state).await,
        crate::imap::POLL_JOB => {
            let company = job.company_id.map(rivet_domain::ids::CompanyId::from_uuid);
            crate::imap::poll_job(state, company).await
        }
        crate::api::conversion::BATCH_JOB => {
            let report = |done, total| progress.set(done, Some(total));
            crate::api::conversion::run_batch(state, job, &report).await
        }
        other => Err(format!(
            "unknown job kind {other:?}: this version of Rivet has no handler for it"
        )),
    }
}

/// Recompute a company's match keys (its default country changed).
async fn rekey(state: &AppState, job: &Job) -> Result<Value, String> {
    let company = job
        .company_id
        .map(rivet_domain::ids::CompanyId::from_uuid)
        .ok_or("a re-key job needs a company")?;
    rivet_store::duplicates::rekey(&state.store, company)
        .await
        .map(|rows| json!({ "rows": rows }))
        .map_err(|e| format!("re-keying failed: {e}"))
}

/// Train the conversion model: of the job's company (for the member its payload names, if
/// any), or of every company with enough labelled leads. The progress is leads scored.
async fn train_model(state: &AppState, job: &Job, progress: &Progress) -> Result<Value, String> {
    use rivet_store::scoring_model as model;
    let report = |done, total| progress.set(done, total);
    let Some(company) = job.company_id.map(rivet_domain::ids::CompanyId::from_uuid) else {
        return model::train_all(&state.store, &report)
            .await
            .map(|all| json!(all))
            .map_err(|e| format!("training the conversion models failed: {e}"));
    };
    let trained_by = job
        .payload_id("user_id")
        .ok()
        .map(rivet_domain::Id::from_uuid);
    model::train(&state.store, company, trained_by, &report)
        .await
        .map(|outcome| json!(outcome))
        .map_err(|e| format!("training the conversion model failed: {e}"))
}

/// An import's run or undo (`crate::imports`), for the member who started it; the progress is
/// rows done of total.
async fn import_job(state: &AppState, job: &Job, progress: &Progress) -> Result<Value, String> {
    let (actor, id) = crate::imports::job_actor(state, job).await?;
    let report = |done: i64, total: i64| progress.set(done, Some(total));
    let done = if job.kind == crate::imports::RUN_JOB {
        crate::imports::run(state, &actor, id, &report).await
    } else {
        crate::imports::undo(state, &actor, id).await
    };
    let import = done.map_err(|e| format!("import {id}: {e}"))?;
    Ok(json!({
        "import_id": id,
        "status": import.status,
        "created": import.created,
        "updated": import.updated,
        "skipped": import.skipped,
        "failed": import.failed,
    }))
}

/// An export's file (`crate::exports`), written for the member who asked for it; the progress
/// is rows written.
async fn export_job(state: &AppState, job: &Job, progress: &Progress) -> Result<Value, String> {
    let (actor, id) = crate::exports::job_actor(state, job).await?;
    let Some(actor) = actor else {
        crate::exports::abandon(
            state,
            job,
            id,
            "the member who asked for this export is no longer active",
        )
        .await?;
        return Ok(json!({"export_id": id, "status": "failed"}));
    };
    let report = |rows: i64| progress.set(rows, None);
    let export = crate::exports::run(state, &actor, id, &report)
        .await
        .map_err(|e| format!("export {id}: {e}"))?;
    Ok(match export {
        Some(export) => json!({
            "export_id": id,
            "status": export.status,
            "rows": export.rows,
            "size": export.size,
        }),
        None => json!({"export_id": id, "status": "stopped"}),
    })
}

async fn echo(job: &Job, progress: &Progress) -> Result<Value, String> {
    let payload = &job.payload;
    if let Some(ms) = payload["sleep_ms"].as_u64() {
        let steps = 10;
        for step in 0..steps {
            progress.set(step, Some(steps));
            tokio::time::sleep(Duration::from_millis(ms / 10)).await;
        }
        progress.set(steps, Some(steps));
    }
    if payload["panic"].as_bool() == Some(true) {
        panic!("test.echo was asked to panic");
    }
    let fail_times = payload["fail_times"].as_i64().unwrap_or(0);
    if i64::from(job.attempts) <= fail_times {
        return Err(format!(
            "failing on purpose: attempt {} of the first {fail_times}",
            job.attempts
        ));
    }
    Ok(json!({
        "payload": payload,
        "attempt": job.attempts,
        "worker": job.lease_owner,
    }))
}

/// Start the workers with the configured options — the job workers, the event dispatcher
/// (`crate::dispatcher`) and the sequence runner (`crate::sequences`); they stop when `stop` turns true.
pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let options = WorkerOptions::from_config(&state.config);
    let events = crate::dispatcher::spawn(
        state.clone(),
        crate::dispatcher::DispatchOptions::from_config(&state.config, worker_id()),
        stop.clone(),
    );
    let runner = crate::sequences::spawn(state.clone(), worker_id(), stop.clone());
    let jobs = spawn_with(state, options, stop);
    tokio::spawn(async move {
        let _ = jobs.await;
        let _ = events.await;
        let _ = runner.await;
    })
}

/// Start the workers with explicit options (tests use short leases and backoffs).
///
/// On stop, no new job is claimed; in-flight jobs get `shutdown_grace` to finish, and those
/// still running then are released — queued again, due now, without counting the attempt — so
/// a restart neither loses them nor burns one of their attempts.
pub fn spawn_with(
    state: AppState,
    options: WorkerOptions,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(run(state, Arc::new(options), stop))
}

/// Resolves once a stop is requested (or nobody can request one any more).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn stop_requested(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

async fn run(state: AppState, options: Arc<WorkerOptions>, mut stop: watch::Receiver<bool>) {
    tracing::info!(worker = %options.id, concurrency = options.concurrency, "job worker started");
    for (name, kind, cron) in [
        (MAINTENANCE_SCHEDULE, MAINTENANCE_PRUNE, MAINTENANCE_CRON),
        (
            RESCORE_SCHEDULE,
            rivet_store::scoring::RESCORE_JOB,
            RESCORE_CRON,
        ),
        (
            HEALTH_SCHEDULE,
            rivet_store::health::RECOMPUTE_JOB,
            HEALTH_CRON,
        ),
        (
            MODEL_SCHEDULE,
            rivet_store::scoring_model::TRAIN_JOB,
            MODEL_CRON,
        ),
        (RISK_SCHEDULE, rivet_store::risk::RECOMPUTE_JOB, RISK_CRON),
        (
            WORKFLOW_SCHEDULE,
            rivet_store::workflows::SCHEDULE_JOB,
            WORKFLOW_CRON,
        ),
        (IMAP_SCHEDULE, crate::imap::SCHEDULE_JOB, IMAP_CRON),
    ] {
        if let Err(e) = jobs::ensure_schedule(&state.store, name, kind, cron, json!({})).await {
            tracing::warn!(error = %e, schedule = name, "could not register a schedule");
        }
    }
    let slots = Arc::new(Semaphore::new(options.concurrency));
    let wake = Arc::new(Notify::new());
    let mut running = JoinSet::new();
    let mut last_housekeeping: Option<Instant> = None;
    while !stop_requested(&stop) {
        if last_housekeeping.is_none_or(|t| t.elapsed() >= HOUSEKEEPING_INTERVAL) {
            housekeeping(&state).await;
            last_housekeeping = Some(Instant::now());
        }
        while running.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopping(&mut stop) => break,
        };
        match jobs::claim(&state.store, &options.id, &[], options.lease).await {
            Ok(Some(job)) => {
                tracing::debug!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, "claimed job");
                let (state, options, wake, stop) =
                    (state.clone(), options.clone(), wake.clone(), stop.clone());
                running.spawn(async move {
                    execute(&state, &options, job, stop).await;
                    drop(permit);
                    wake.notify_one();
                });
                // A job was due, so more may be: look again at once.
                continue;
            }
            Ok(None) => drop(permit),
            Err(e) => {
                drop(permit);
                tracing::warn!(error = %e, "claiming a job failed");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(options.poll_interval) => {},
            () = wake.notified() => {},
            () = stopping(&mut stop) => {},
        }
    }
    tracing::info!(worker = %options.id, in_flight = running.len(), "job worker stopping");
    while running.join_next().await.is_some() {}
    tracing::info!(worker = %options.id, "job worker stopped");
}

/// The loop's periodic chores; failures are logged and tried again next time.
async fn housekeeping(state: &AppState) {
    match jobs::enqueue_due_schedules(&state.store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "enqueued scheduled jobs"),
        Err(e) => tracing::warn!(error = %e, "enqueueing scheduled jobs failed"),
    }
    match jobs::reap_expired(&state.store).await {
        Ok(dead) => {
            for job in &dead {
                tracing::warn!(job_id = %job.id, kind = %job.kind, "job is dead: its worker died on its last attempt");
                settle_dead(state, job, jobs::REAPED).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "reaping expired leases failed"),
    }
}

/// What a dead job worked on stops waiting for it: an import it ran or undid, or an export it
/// wrote, fails with the job's last error (one that had settled stays as it is). A failure
/// here is logged; the record can still be cancelled by hand.
async fn settle_dead(state: &AppState, job: &Job, error: &str) {
    let Some(company) = job.company_id.map(rivet_domain::ids::CompanyId::from_uuid) else {
        return;
    };
    let error = format!("its job died: {error}");
    let settled = match job.kind.as_str() {
        crate::imports::RUN_JOB | crate::imports::UNDO_JOB => match job.payload_id("import_id") {
            Ok(id) => rivet_store::imports::abandon(&state.store, company, id, &error)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        },
        crate::exports::RUN_JOB => match job.payload_id("export_id") {
            Ok(id) => crate::exports::abandon(state, job, id, &error).await,
            Err(e) => Err(e),
        },
        _ => Ok(()),
    };
    if let Err(e) = settled {
        tracing::warn!(job_id = %job.id, kind = %job.kind, error = %e, "could not settle what a dead job worked on");
    }
}

enum Ended {
    Finished(Result<Result<Value, String>, JoinError>),
    /// Cancelled, or the lease went to another worker.
    Lost,
    /// Still running when the shutdown grace ran out.
    Interrupted,
}

/// Run one claimed job to its end and record the outcome.
async fn execute(
    state: &AppState,
    options: &WorkerOptions,
    job: Job,
    mut stop: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let progress = Progress::new();
    // Its own task: a panic becomes a JoinError here instead of taking the worker down.
    let mut handler = {
        let (state, job, progress) = (state.clone(), job.clone(), progress.clone());
        tokio::spawn(async move { run_job(&state, &job, &progress).await })
    };
    let renew_every = options.lease / 3;
    let check_every = renew_every.min(Duration::from_secs(1));
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + check_every, check_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_renewal = Instant::now();
    let mut stored_version = 0;
    let mut deadline: Option<Instant> = None;
    let ended = loop {
        tokio::select! {
            joined = &mut handler => break Ended::Finished(joined),
            _ = ticker.tick() => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    progress.0.cancelled.store(true, Ordering::Relaxed);
                    handler.abort();
                    break Ended::Interrupted;
                }
                let version = progress.version();
                if version == stored_version && last_renewal.elapsed() < renew_every {
                    continue;
                }
                match jobs::heartbeat(&state.store, &job, progress.get(), options.lease).await {
                    Ok(true) => {
                        stored_version = version;
                        last_renewal = Instant::now();
                    }
                    Ok(false) => {
                        progress.0.cancelled.store(true, Ordering::Relaxed);
                        handler.abort();
                        break Ended::Lost;
                    }
                    // The lease has slack for a few missed renewals; keep going.
                    Err(e) => tracing::warn!(job_id = %job.id, error = %e, "renewing a job's lease failed"),
                }
            }
            () = stopping(&mut stop), if deadline.is_none() => {
                deadline = Some(Instant::now() + options.shutdown_grace);
            }
        }
    };
    let outcome = settle(state, options, &job, &progress, ended).await;
    metrics::counter!("jobs_finished_total", "kind" => job.kind.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("job_duration_seconds", "kind" => job.kind.clone())
        .record(started.elapsed().as_secs_f64());
}

/// Store how the job ended; returns the outcome label for metrics.
async fn settle(
    state: &AppState,
    options: &WorkerOptions,
    job: &Job,
    progress: &Progress,
    ended: Ended,
) -> &'static str {
    let store = &state.store;
    let error = match ended {
        Ended::Finished(Ok(Ok(value))) => {
            return match jobs::complete(store, job, progress.get(), value).await {
                Ok(true) => {
                    tracing::info!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, "job succeeded");
                    "succeeded"
                }
                Ok(false) => {
                    tracing::warn!(job_id = %job.id, kind = %job.kind, "job finished after it was cancelled or its lease was lost; result discarded");
                    "lost"
                }
                Err(e) => {
                    tracing::error!(job_id = %job.id, kind = %job.kind, error = %e, "recording a job's success failed; it will run again when its lease expires");
                    "error"
                }
            };
        }
        Ended::Finished(Ok(Err(message))) => message,
        Ended::Finished(Err(join)) => match join.try_into_panic() {
            Ok(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                format!("the job panicked: {message}")
            }
            Err(_) => "the job was aborted".into(),
        },
        Ended::Lost => {
            tracing::info!(job_id = %job.id, kind = %job.kind, "job was cancelled or its lease passed to another worker; stopped it");
            return "lost";
        }
        Ended::Interrupted => {
            return match jobs::release(store, job).await {
                Ok(_) => {
                    tracing::info!(job_id = %job.id, kind = %job.kind, "worker stopping: job released to the queue");
                    "released"
                }
                Err(e) => {
                    tracing::warn!(job_id = %job.id, error = %e, "releasing a job failed; it will run again when its lease expires");
                    "error"
                }
            };
        }
    };
    match jobs::fail(store, job, &error, options.backoff_base).await {
        Ok(Some(rivet_domain::jobs::JobState::Dead)) => {
            tracing::warn!(job_id = %job.id, kind = %job.kind, attempts = job.attempts, error = %error, "job is dead after its last attempt");
            settle_dead(state, job, &error).await;
            "dead"
        }
        Ok(Some(_)) => {
            tracing::info!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job attempt failed; will retry");
            "retry"
        }
        Ok(None) => "lost",
        Err(e) => {
            tracing::error!(job_id = %job.id, error = %e, "recording a job's failure failed; it will run again when its lease expires");
            "error"
        }
    }
}
