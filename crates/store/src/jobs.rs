//! The durable job queue (DESIGN.md §3): enqueueing inside the caller's transaction, claiming
//! with a lease, heartbeats, settling (succeeded, retried with backoff, dead), an
//! administrator's cancel and retry, and recurring schedules.
//!
//! A lease is the right to run one job once: [`claim`] hands out a fresh lease owner per claim,
//! and every later transition by the worker ([`heartbeat`], [`complete`], [`fail`], [`release`])
//! is a compare-and-set on that owner and `state = running`, so a worker whose lease expired
//! and was re-claimed cannot overwrite the new owner's outcome. Running the job handlers is the
//! server's worker; nothing here knows what a kind means.
//!
//! Tenancy: a company's jobs carry its `company_id`; system jobs (maintenance) have none and are
//! visible only to system administrators.

use crate::tables::{JobSchedules, Jobs};
use crate::{
    Backend, Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now,
};
use chrono::{DateTime, Utc};
use rand::Rng;
use rivet_domain::ids::CompanyId;
use rivet_domain::jobs::{JobState, Schedule, backoff};
use rivet_domain::{Actor, Resource};
use sea_orm::sea_query::{
    Cond, Expr, ExprTrait, LockBehavior, LockType, OnConflict, Order, Query, SelectStatement,
    UpdateStatement,
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Attempts a job gets unless its creator says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// Errors longer than this are cut: a stack of nested causes should not bloat every list page.
const MAX_ERROR_CHARS: usize = 2000;

/// A job to put on the queue; build it with [`NewJob::new`] and the setters.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The company the job works for; `None` for installation-wide (system) jobs.
    pub company_id: Option<Uuid>,
    pub kind: String,
    pub payload: Value,
    /// Not before this time; `None` means now.
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: i32,
    /// Higher runs first among due jobs.
    pub priority: i32,
    /// A second enqueue with the same key returns the first job instead of adding another.
    pub idempotency_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        Self {
            company_id: None,
            kind: kind.into(),
            payload,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            priority: 0,
            idempotency_key: None,
        }
    }

    pub fn for_company(mut self, company_id: CompanyId) -> Self {
        self.company_id = Some(company_id.uuid());
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts;
        self
    }

    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// How far a job has come, as its handler reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    pub done: i64,
    /// `None` while the handler does not know how much there is.
    pub total: Option<i64>,
}

/// One job, as the API shows it (lease details and the company stay internal).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: Uuid,
    #[serde(skip)]
    pub company_id: Option<Uuid>,
    pub kind: String,
    /// queued, running, succeeded, dead or cancelled.
    #[schema(value_type = String, example = "queued")]
    pub state: JobState,
    pub payload: Value,
    pub priority: i32,
    /// Attempts started so far (a claim counts as one).
    pub attempts: i32,
    pub max_attempts: i32,
    /// When the job is due (for a queued job: its next attempt).
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub progress: JobProgress,
    pub result: Option<Value>,
    pub idempotency_key: Option<String>,
    /// The lease holder of a running job: worker id plus a per-claim suffix.
    #[serde(skip)]
    pub lease_owner: Option<String>,
    #[serde(skip)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct JobRow {
    id: Uuid,
    company_id: Option<Uuid>,
    kind: String,
    payload: Value,
    state: String,
    priority: i32,
    run_at: DateTime<Utc>,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    progress_done: i64,
    progress_total: Option<i64>,
    idempotency_key: Option<String>,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    result: Option<Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Self> {
        let state = row.state.parse::<JobState>().map_err(|e| {
            StoreError::Db(DbErr::Custom(format!(
                "job {} has an unknown state {:?}: {e}",
                row.id, row.state
            )))
        })?;
        Ok(Self {
            id: row.id,
            company_id: row.company_id,
            kind: row.kind,
            state,
            payload: row.payload,
            priority: row.priority,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            last_error: row.last_error,
            progress: JobProgress {
                done: row.progress_done,
                total: row.progress_total,
            },
            result: row.result,
            idempotency_key: row.idempotency_key,
            lease_owner: row.lease_owner,
            lease_expires_at: row.lease_expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            finished_at: row.finished_at,
        })
    }
}

const COLUMNS: [Jobs; 19] = [
    Jobs::Id,
    Jobs::CompanyId,
    Jobs::Kind,
    Jobs::Payload,
    Jobs::State,
    Jobs::Priority,
    Jobs::RunAt,
    Jobs::Attempts,
    Jobs::MaxAttempts,
    Jobs::LastError,
    Jobs::ProgressDone,
    Jobs::ProgressTotal,
    Jobs::IdempotencyKey,
    Jobs::LeaseOwner,
    Jobs::LeaseExpiresAt,
    Jobs::Result,
    Jobs::CreatedAt,
    Jobs::UpdatedAt,
    Jobs::FinishedAt,
];

async fn fetch_job<C: ConnectionTrait, S: sea_orm::StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<Option<Job>> {
    fetch_optional::<JobRow, _, _>(conn, stmt)
        .await?
        .map(Job::try_from)
        .transpose()
}

/// The jobs `actor` may see: their company's, and system jobs for a system administrator.
fn visible_to(actor: &Actor) -> Cond {
    let mut cond = Cond::any().add(Expr::col(Jobs::CompanyId).eq(actor.company_id));
    if actor.is_system_admin {
        cond = cond.add(Expr::col(Jobs::CompanyId).is_null());
    }
    cond
}

fn select_visible(actor: &Actor) -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(Jobs::Table)
        .cond_where(visible_to(actor))
        .to_owned()
}

fn truncate_error(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &error[..cut]),
        None => error.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Enqueueing

/// Put a job on the queue inside the caller's transaction, so the job exists exactly when the
/// change that asked for it commits. With an idempotency key already used, the existing job's
/// id is returned and nothing is added.
pub async fn enqueue(tx: &Tx, job: NewJob) -> Result<Uuid> {
    if job.kind.trim().is_empty() {
        return Err(StoreError::invalid("kind", "must not be empty"));
    }
    if job.max_attempts < 1 {
        return Err(StoreError::invalid("max_attempts", "must be at least 1"));
    }
    let id = new_id();
    let at = now();
    let mut insert = Query::insert();
    insert
        .into_table(Jobs::Table)
        .columns([
            Jobs::Id,
            Jobs::CompanyId,
            Jobs::Kind,
            Jobs::Payload,
            Jobs::State,
            Jobs::Priority,
            Jobs::RunAt,
            Jobs::Attempts,
            Jobs::MaxAttempts,
            Jobs::ProgressDone,
            Jobs::IdempotencyKey,
            Jobs::CreatedAt,
            Jobs::UpdatedAt,
        ])
        .values_panic([
            id.into(),
            job.company_id.into(),
            job.kind.clone().into(),
            job.payload.into(),
            JobState::Queued.as_str().into(),
            job.priority.into(),
            job.run_at.unwrap_or(at).into(),
            0.into(),
            job.max_attempts.into(),
            0_i64.into(),
            job.idempotency_key.clone().into(),
            at.into(),
            at.into(),
        ]);
    let Some(key) = job.idempotency_key else {
        exec(tx.conn(), &insert).await?;
        return Ok(id);
    };
    insert.on_conflict(
        OnConflict::column(Jobs::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    );
    if exec(tx.conn(), &insert).await? == 1 {
        return Ok(id);
    }
    #[derive(FromQueryResult)]
    struct Existing {
        id: Uuid,
        company_id: Option<Uuid>,
    }
    let existing: Option<Existing> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns([Jobs::Id, Jobs::CompanyId])
            .from(Jobs::Table)
            .and_where(Expr::col(Jobs::IdempotencyKey).eq(key.as_str())),
    )
    .await?;
    match existing {
        // Keys are unique across the installation; one company must not be handed another's job.
        Some(found) if found.company_id == job.company_id => Ok(found.id),
        _ => Err(StoreError::Conflict {
            field: "idempotency_key".into(),
            message: "is already used".into(),
        }),
    }
}

impl Job {
    /// The id its payload names under `key` (an import's `import_id`, an export's
    /// `export_id`), or why there is none.
    pub fn payload_id(&self, key: &str) -> std::result::Result<Uuid, String> {
        self.payload[key]
            .as_str()
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or_else(|| format!("the job's payload has no {key}"))
    }
}

/// The member a company's job runs for: the job's company and the `user_id` of its payload
/// (`None` when that member is no longer active; an error when the job names none).
pub async fn member(store: &Store, job: &Job) -> Result<Option<Actor>> {
    let user = job.payload["user_id"]
        .as_str()
        .and_then(|s| s.parse::<Uuid>().ok())
        .ok_or_else(|| StoreError::invalid("user_id", "the job's payload names no member"))?;
    let company = job
        .company_id
        .ok_or_else(|| StoreError::invalid("company_id", "the job belongs to no company"))?;
    crate::sessions::load_actor(
        store,
        rivet_domain::Id::from_uuid(company),
        rivet_domain::Id::from_uuid(user),
        None,
        None,
    )
    .await
}

/// [`enqueue`] in a transaction of its own, for callers with nothing else to commit.
pub async fn enqueue_now(store: &Store, job: NewJob) -> Result<Uuid> {
    let tx = store.write_system().await?;
    let id = enqueue(&tx, job).await?;
    tx.commit().await?;
    Ok(id)
}

// ---------------------------------------------------------------------------------------------
// The worker's side: claim, heartbeat, settle

fn lease_until(lease: std::time::Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5))
}

/// Take the next due job for `worker_id`: the highest priority, then the oldest run time, among
/// queued jobs whose time has come and running jobs whose lease expired (their worker died).
/// The job comes back running, leased until now + `lease`, with `attempts` counting this one.
/// `kinds` limits the kinds taken; empty takes any kind.
pub async fn claim(
    store: &Store,
    worker_id: &str,
    kinds: &[&str],
    lease: std::time::Duration,
) -> Result<Option<Job>> {
    let at = now();
    let owner = format!("{worker_id}/{:08x}", rand::thread_rng().r#gen::<u32>());
    let expired = Cond::all()
        .add(Expr::col(Jobs::State).eq(JobState::Running.as_str()))
        .add(Expr::col(Jobs::LeaseExpiresAt).lt(at))
        // Exhausted ones are buried by `reap_expired` instead of looping forever.
        .add(Expr::col(Jobs::Attempts).lt(Expr::col(Jobs::MaxAttempts)));
    let mut pick = Query::select();
    pick.column(Jobs::Id)
        .from(Jobs::Table)
        .cond_where(
            Cond::any()
                .add(
                    Cond::all()
                        .add(Expr::col(Jobs::State).eq(JobState::Queued.as_str()))
                        .add(Expr::col(Jobs::RunAt).lte(at)),
                )
                .add(expired),
        )
        .order_by(Jobs::Priority, Order::Desc)
        .order_by(Jobs::RunAt, Order::Asc)
        .order_by(Jobs::Id, Order::Asc)
        .limit(1);
    if !kinds.is_empty() {
        pick.and_where(Expr::col(Jobs::Kind).is_in(kinds.iter().copied()));
    }
    let build = |pick: SelectStatement| -> UpdateStatement {
        Query::update()
            .table(Jobs::Table)
            .value(
                Jobs::LastError,
                Expr::case(
                    Expr::col(Jobs::State).eq(JobState::Running.as_str()),
                    "the previous attempt's worker stopped renewing its lease",
                )
                .finally(Expr::col(Jobs::LastError)),
            )
            .value(Jobs::State, JobState::Running.as_str())
            .value(Jobs::LeaseOwner, owner.as_str())
            .value(Jobs::LeaseExpiresAt, lease_until(lease))
            .value(Jobs::Attempts, Expr::col(Jobs::Attempts).add(1))
            .value(Jobs::UpdatedAt, at)
            .and_where(Expr::col(Jobs::Id).eq(pick))
            .returning_all()
            .to_owned()
    };
    match store.backend() {
        Backend::Postgres => {
            // Rows another worker is claiming right now are skipped rather than waited for, and
            // a row changed under us is re-checked against the WHERE clause before it is taken:
            // two workers never get the same job.
            pick.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
            fetch_job(store.system(), &build(pick)).await
        }
        Backend::Sqlite => {
            // One writer at a time: the immediate transaction makes pick-and-update atomic.
            let tx = store.write_system().await?;
            let job = fetch_job(tx.conn(), &build(pick)).await?;
            tx.commit().await?;
            Ok(job)
        }
    }
}

/// Restrict an update to the lease `job` was claimed with.
fn held(update: &mut UpdateStatement, job: &Job) {
    update
        .and_where(Expr::col(Jobs::Id).eq(job.id))
        .and_where(Expr::col(Jobs::State).eq(JobState::Running.as_str()))
        .and_where(Expr::col(Jobs::LeaseOwner).eq(job.lease_owner.clone()));
}

/// Extend the lease and record progress. `false` means the job is no longer this worker's: it
/// was cancelled, or the lease expired and another worker took it. The worker must stop.
pub async fn heartbeat(
    store: &Store,
    job: &Job,
    progress: JobProgress,
    lease: std::time::Duration,
) -> Result<bool> {
    let mut update = Query::update();
    update
        .table(Jobs::Table)
        .value(Jobs::LeaseExpiresAt, lease_until(lease))
        .value(Jobs::ProgressDone, progress.done)
        .value(Jobs::ProgressTotal, progress.total)
        .value(Jobs::UpdatedAt, now());
    held(&mut update, job);
    Ok(exec(store.system(), &update).await? == 1)
}

/// Record success with the handler's final progress. `false` means the lease was lost and the
/// result was not stored.
pub async fn complete(
    store: &Store,
    job: &Job,
    progress: JobProgress,
    result: Value,
) -> Result<bool> {
    let at = now();
    let mut update = Query::update();
    update
        .table(Jobs::Table)
        .value(Jobs::State, JobState::Succeeded.as_str())
        .value(Jobs::Result, result)
        .value(Jobs::ProgressDone, progress.done)
        .value(Jobs::ProgressTotal, progress.total)
        .value(Jobs::LeaseOwner, Option::<String>::None)
        .value(Jobs::LeaseExpiresAt, Option::<DateTime<Utc>>::None)
        .value(Jobs::FinishedAt, at)
        .value(Jobs::UpdatedAt, at);
    held(&mut update, job);
    Ok(exec(store.system(), &update).await? == 1)
}

/// Record a failed attempt: back to the queue after an exponential, jittered delay from
/// `backoff_base` while attempts remain, else dead. Returns the new state, or `None` when the
/// lease was lost (nothing changed).
pub async fn fail(
    store: &Store,
    job: &Job,
    error: &str,
    backoff_base: chrono::Duration,
) -> Result<Option<JobState>> {
    let at = now();
    let mut update = Query::update();
    update
        .table(Jobs::Table)
        .value(Jobs::LastError, truncate_error(error))
        .value(Jobs::LeaseOwner, Option::<String>::None)
        .value(Jobs::LeaseExpiresAt, Option::<DateTime<Utc>>::None)
        .value(Jobs::UpdatedAt, at);
    let state = if job.attempts < job.max_attempts {
        let attempt = u32::try_from(job.attempts).unwrap_or(1);
        let jitter = rand::thread_rng().r#gen::<f64>();
        update
            .value(Jobs::State, JobState::Queued.as_str())
            .value(Jobs::RunAt, at + backoff(attempt, backoff_base, jitter));
        JobState::Queued
    } else {
        update
            .value(Jobs::State, JobState::Dead.as_str())
            .value(Jobs::FinishedAt, at);
        JobState::Dead
    };
    held(&mut update, job);
    Ok((exec(store.system(), &update).await? == 1).then_some(state))
}

/// Give a job back without counting the attempt (a worker shutting down mid-job): it is queued
/// again, due now. `false` means the lease was already lost.
pub async fn release(store: &Store, job: &Job) -> Result<bool> {
    let at = now();
    let mut update = Query::update();
    update
        .table(Jobs::Table)
        .value(Jobs::State, JobState::Queued.as_str())
        .value(Jobs::Attempts, Expr::col(Jobs::Attempts).sub(1))
        .value(Jobs::LeaseOwner, Option::<String>::None)
        .value(Jobs::LeaseExpiresAt, Option::<DateTime<Utc>>::None)
        .value(Jobs::RunAt, at)
        .value(Jobs::UpdatedAt, at);
    held(&mut update, job);
    Ok(exec(store.system(), &update).await? == 1)
}

/// What a job's last error says when [`reap_expired`] buried it.
pub const REAPED: &str = "the worker stopped renewing its lease on the last attempt";

/// Bury running jobs whose lease expired on their last attempt: their worker died (or the job
/// killed it) every time, so running them again would never end. Returns them, dead.
pub async fn reap_expired(store: &Store) -> Result<Vec<Job>> {
    let at = now();
    let rows: Vec<JobRow> = fetch_all(
        store.system(),
        &Query::update()
            .table(Jobs::Table)
            .value(Jobs::State, JobState::Dead.as_str())
            .value(Jobs::LastError, REAPED)
            .value(Jobs::LeaseOwner, Option::<String>::None)
            .value(Jobs::LeaseExpiresAt, Option::<DateTime<Utc>>::None)
            .value(Jobs::FinishedAt, at)
            .value(Jobs::UpdatedAt, at)
            .and_where(Expr::col(Jobs::State).eq(JobState::Running.as_str()))
            .and_where(Expr::col(Jobs::LeaseExpiresAt).lt(at))
            .and_where(Expr::col(Jobs::Attempts).gte(Expr::col(Jobs::MaxAttempts)))
            .returning_all()
            .to_owned(),
    )
    .await?;
    rows.into_iter().map(Job::try_from).collect()
}

/// Delete succeeded and cancelled jobs that finished before `before`; dead ones stay for
/// inspection until someone retries or they are handled. Returns how many.
pub async fn prune_finished(store: &Store, before: DateTime<Utc>) -> Result<u64> {
    exec(
        store.system(),
        Query::delete()
            .from_table(Jobs::Table)
            .and_where(
                Expr::col(Jobs::State)
                    .is_in([JobState::Succeeded.as_str(), JobState::Cancelled.as_str()]),
            )
            .and_where(Expr::col(Jobs::FinishedAt).lt(before)),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Reading and administering, on behalf of a caller

/// What a job list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<String>,
}

/// The jobs `actor` may see, newest first.
pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &JobFilter,
    page: crate::page::PageRequest,
) -> Result<Page<Job>> {
    let r = store.read_with_system_rows(actor).await?;
    let mut q = select_visible(actor);
    if let Some(state) = filter.state {
        q.and_where(Expr::col(Jobs::State).eq(state.as_str()));
    }
    if let Some(kind) = &filter.kind {
        q.and_where(Expr::col(Jobs::Kind).eq(kind.as_str()));
    }
    if let Some(after) = page.after {
        q.and_where(Expr::col(Jobs::Id).lt(after));
    }
    q.order_by(Jobs::Id, Order::Desc).limit(page.limit + 1);
    let rows: Vec<JobRow> = fetch_all(r.conn(), &q).await?;
    let jobs = rows
        .into_iter()
        .map(Job::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(jobs, page, |j| j.id))
}

async fn get_in<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<Job> {
    fetch_job(
        conn,
        select_visible(actor).and_where(Expr::col(Jobs::Id).eq(id)),
    )
    .await?
    .ok_or(StoreError::NotFound)
}

pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Job> {
    let r = store.read_with_system_rows(actor).await?;
    get_in(r.conn(), actor, id).await
}

fn audit_json(job: &Job) -> Value {
    json!({
        "state": job.state,
        "attempts": job.attempts,
        "run_at": job.run_at,
        "last_error": job.last_error,
    })
}

fn wrong_state(job: &Job, allowed: &str) -> StoreError {
    StoreError::Conflict {
        field: "state".into(),
        message: format!("is {}; only a {allowed} job can be", job.state),
    }
}

/// Change one job on behalf of `actor` if its state is one of `from`, audited as `action`.
async fn transition(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    from: &[JobState],
    action: &str,
    describe_from: &str,
    change: impl FnOnce(&mut UpdateStatement),
) -> Result<Job> {
    let tx = store.write_with_system_rows(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    if !from.contains(&before.state) {
        return Err(wrong_state(&before, describe_from));
    }
    let mut update = Query::update();
    update
        .table(Jobs::Table)
        .value(Jobs::UpdatedAt, now())
        .and_where(Expr::col(Jobs::Id).eq(id))
        // A worker may settle the job between the read and this write; then nothing changes.
        .and_where(Expr::col(Jobs::State).is_in(from.iter().map(|s| s.as_str())));
    change(&mut update);
    if exec(tx.conn(), &update).await? == 0 {
        let now_state = get_in(tx.conn(), actor, id).await?;
        return Err(wrong_state(&now_state, describe_from));
    }
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        Resource::Jobs.as_str(),
        id,
        action,
        Some(&audit_json(&before)),
        Some(&audit_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Cancel a queued or running job. A running job's worker notices on its next heartbeat and
/// stops; whatever it finishes afterwards is discarded.
pub async fn cancel(store: &Store, actor: &Actor, id: Uuid) -> Result<Job> {
    let at = now();
    transition(
        store,
        actor,
        id,
        &[JobState::Queued, JobState::Running],
        "cancel",
        "queued or running",
        |u| {
            u.value(Jobs::State, JobState::Cancelled.as_str())
                .value(Jobs::LeaseOwner, Option::<String>::None)
                .value(Jobs::LeaseExpiresAt, Option::<DateTime<Utc>>::None)
                .value(Jobs::FinishedAt, at);
        },
    )
    .await
}

/// Queue a dead or cancelled job again, due now, with a fresh set of attempts.
pub async fn retry(store: &Store, actor: &Actor, id: Uuid) -> Result<Job> {
    let at = now();
    transition(
        store,
        actor,
        id,
        &[JobState::Dead, JobState::Cancelled],
        "retry",
        "dead or cancelled",
        |u| {
            u.value(Jobs::State, JobState::Queued.as_str())
                .value(Jobs::Attempts, 0)
                .value(Jobs::RunAt, at)
                .value(Jobs::ProgressDone, 0_i64)
                .value(Jobs::ProgressTotal, Option::<i64>::None)
                .value(Jobs::Result, Option::<Value>::None)
                .value(Jobs::FinishedAt, Option::<DateTime<Utc>>::None);
        },
    )
    .await
}

/// Job counts for a dashboard: every state (zeros included) and each kind's states.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct JobStats {
    pub total: i64,
    pub by_state: BTreeMap<String, i64>,
    pub by_kind: BTreeMap<String, BTreeMap<String, i64>>,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    kind: String,
    state: String,
    count: i64,
}

/// Counts of the jobs `actor` may see.
pub async fn stats(store: &Store, actor: &Actor) -> Result<JobStats> {
    let r = store.read_with_system_rows(actor).await?;
    let rows: Vec<CountRow> = fetch_all(
        r.conn(),
        Query::select()
            .column(Jobs::Kind)
            .column(Jobs::State)
            .expr_as(Expr::col(Jobs::Id).count(), "count")
            .from(Jobs::Table)
            .cond_where(visible_to(actor))
            .group_by_col(Jobs::Kind)
            .group_by_col(Jobs::State),
    )
    .await?;
    let mut stats = JobStats {
        by_state: JobState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect(),
        ..JobStats::default()
    };
    for row in rows {
        stats.total += row.count;
        *stats.by_state.entry(row.state.clone()).or_default() += row.count;
        *stats
            .by_kind
            .entry(row.kind)
            .or_default()
            .entry(row.state)
            .or_default() += row.count;
    }
    Ok(stats)
}

#[derive(Debug, FromQueryResult)]
struct StateCount {
    state: String,
    count: i64,
}

/// Jobs per state across every company, zeros included (for operations gauges).
pub async fn state_counts(store: &Store) -> Result<Vec<(String, i64)>> {
    let rows: Vec<StateCount> = fetch_all(
        store.system(),
        Query::select()
            .column(Jobs::State)
            .expr_as(Expr::col(Jobs::Id).count(), "count")
            .from(Jobs::Table)
            .group_by_col(Jobs::State),
    )
    .await?;
    let mut counts: BTreeMap<String, i64> = JobState::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    for row in rows {
        *counts.entry(row.state).or_default() += row.count;
    }
    Ok(counts.into_iter().collect())
}

// ---------------------------------------------------------------------------------------------
// Recurring schedules

/// A recurring job: `kind` with `payload`, enqueued at every time its cron expression names.
#[derive(Debug, Clone, FromQueryResult)]
pub struct JobSchedule {
    pub name: String,
    pub kind: String,
    pub payload: Value,
    pub cron: String,
    pub next_run_at: DateTime<Utc>,
    pub enabled: bool,
}

async fn schedule_by_name<C: ConnectionTrait>(conn: &C, name: &str) -> Result<Option<JobSchedule>> {
    fetch_optional(
        conn,
        Query::select()
            .columns([
                JobSchedules::Name,
                JobSchedules::Kind,
                JobSchedules::Payload,
                JobSchedules::Cron,
                JobSchedules::NextRunAt,
                JobSchedules::Enabled,
            ])
            .from(JobSchedules::Table)
            .and_where(Expr::col(JobSchedules::Name).eq(name)),
    )
    .await
}

pub async fn get_schedule(store: &Store, name: &str) -> Result<Option<JobSchedule>> {
    schedule_by_name(store.system(), name).await
}

/// Create the schedule `name`, or bring its kind, cron and payload up to date (every instance
/// calls this on start). Whether it is enabled is left as an operator set it; its next run
/// moves only when the cron expression changed.
pub async fn ensure_schedule(
    store: &Store,
    name: &str,
    kind: &str,
    cron: &str,
    payload: Value,
) -> Result<()> {
    let schedule = Schedule::parse(cron).map_err(|e| StoreError::invalid("cron", e))?;
    let next = schedule
        .next_after(now())
        .ok_or_else(|| StoreError::invalid("cron", "never fires"))?;
    let tx = store.write_system().await?;
    match schedule_by_name(tx.conn(), name).await? {
        None => {
            exec(
                tx.conn(),
                Query::insert()
                    .into_table(JobSchedules::Table)
                    .columns([
                        JobSchedules::Name,
                        JobSchedules::Kind,
                        JobSchedules::Payload,
                        JobSchedules::Cron,
                        JobSchedules::NextRunAt,
                        JobSchedules::Enabled,
                    ])
                    .values_panic([
                        name.into(),
                        kind.into(),
                        payload.into(),
                        cron.into(),
                        next.into(),
                        true.into(),
                    ])
                    // Another instance starting at the same moment created it first: fine.
                    .on_conflict(
                        OnConflict::column(JobSchedules::Name)
                            .do_nothing()
                            .to_owned(),
                    ),
            )
            .await?;
        }
        Some(existing)
            if existing.kind != kind || existing.cron != cron || existing.payload != payload =>
        {
            let mut update = Query::update();
            update
                .table(JobSchedules::Table)
                .value(JobSchedules::Kind, kind)
                .value(JobSchedules::Payload, payload)
                .value(JobSchedules::Cron, cron)
                .and_where(Expr::col(JobSchedules::Name).eq(name));
            if existing.cron != cron {
                update.value(JobSchedules::NextRunAt, next);
            }
            exec(tx.conn(), &update).await?;
        }
        Some(_) => {}
    }
    tx.commit().await
}

/// Enqueue one job for every enabled schedule that is due, and move each schedule to its next
/// time after now (missed times are not caught up one by one: a schedule late by a day runs
/// once). Several instances may call this at once: the schedule's move is a compare-and-set on
/// the time it was due, and the job's idempotency key names that time, so one slot yields one
/// job. Returns how many jobs were enqueued.
pub async fn enqueue_due_schedules(store: &Store) -> Result<usize> {
    let at = now();
    let due: Vec<JobSchedule> = fetch_all(
        store.system(),
        Query::select()
            .columns([
                JobSchedules::Name,
                JobSchedules::Kind,
                JobSchedules::Payload,
                JobSchedules::Cron,
                JobSchedules::NextRunAt,
                JobSchedules::Enabled,
            ])
            .from(JobSchedules::Table)
            .and_where(Expr::col(JobSchedules::Enabled).eq(true))
            .and_where(Expr::col(JobSchedules::NextRunAt).lte(at)),
    )
    .await?;
    let mut enqueued = 0;
    for schedule in due {
        let next = Schedule::parse(&schedule.cron)
            .ok()
            .and_then(|s| s.next_after(Ord::max(at, schedule.next_run_at)));
        let Some(next) = next else {
            tracing::warn!(schedule = %schedule.name, cron = %schedule.cron, "schedule has no next run time; skipped");
            continue;
        };
        let tx = store.write_system().await?;
        let moved = exec(
            tx.conn(),
            Query::update()
                .table(JobSchedules::Table)
                .value(JobSchedules::NextRunAt, next)
                .and_where(Expr::col(JobSchedules::Name).eq(schedule.name.as_str()))
                .and_where(Expr::col(JobSchedules::NextRunAt).eq(schedule.next_run_at)),
        )
        .await?;
        if moved == 0 {
            continue; // another instance took this slot
        }
        let key = format!(
            "schedule:{}:{}",
            schedule.name,
            schedule.next_run_at.to_rfc3339()
        );
        enqueue(
            &tx,
            NewJob::new(schedule.kind, schedule.payload)
                .run_at(schedule.next_run_at)
                .idempotency_key(key),
        )
        .await?;
        tx.commit().await?;
        enqueued += 1;
    }
    Ok(enqueued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        let cut = truncate_error(&long);
        assert_eq!(cut.chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(truncate_error("short"), "short");
    }
}
