//! Rivet's store: the schema, every query, and the transaction that writes a change together
//! with its audit row and outbox event.
//!
//! Reads start from the caller ([`Actor`]); a tenant query without the company filter cannot be
//! written through this API. Queries are built once with sea-query for SQLite and PostgreSQL;
//! where the engines really differ a function has one body per [`Backend`], side by side.

pub mod accounts;
pub mod activities;
pub mod api_keys;
pub mod assignment;
pub mod audit;
pub mod checklist;
pub mod companies;
pub mod contacts;
pub mod conversion;
pub mod custom_fields;
pub mod deals;
pub mod definitions;
pub mod documents;
pub mod duplicate_groups;
pub mod duplicates;
pub mod email;
pub mod events;
pub mod exports;
pub mod health;
pub mod imap;
pub mod imports;
pub mod intake;
pub mod jobs;
pub mod lead_forms;
pub mod leads;
pub mod logs;
pub mod maintenance;
pub mod merge;
pub mod migrations;
pub mod notifications;
pub mod page;
pub mod pipelines;
pub mod qualification;
pub mod query;
pub mod record;
pub mod risk;
pub mod roles;
mod row;
pub mod scoring;
pub mod scoring_model;
pub mod search;
pub mod search_typos;
pub mod sequences;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod tables;
pub mod tasks;
pub mod teams;
pub mod templates;
pub mod timeline;
pub mod tracking;
mod turns;
pub mod users;
pub mod views;
pub mod webhooks;
pub mod whatsapp;
pub mod workflows;

use rivet_domain::ids::{ApiKeyId, CompanyId, RoleId, UserId};
use rivet_domain::{Actor, FieldErrors};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, ExecResult, FromQueryResult,
    QueryResult, SqlErr, SqliteTransactionMode, StatementBuilder, TransactionOptions,
    TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use sea_query_sqlx::SqlxValues;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

pub use audit::Change;
pub use page::{Cursor, Page};
pub use sea_orm;

/// The two databases Rivet runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist for this caller (another company's row is not found either).
    #[error("not found")]
    NotFound,
    /// A unique value is taken; `field` names it for the client.
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// The change breaks a rule that needs the database to check (a role still in use, …).
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The caller's scope does not cover this action.
    #[error("forbidden")]
    Forbidden,
    /// A duplicate rule that blocks matched the new record: the matches (`crate::intake`).
    #[error("a record like this one exists")]
    Duplicate(Vec<crate::duplicates::Duplicate>),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The database cannot be reached or refused the connection, said for the operator.
    #[error("{0}")]
    Connect(String),
}

impl StoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::single(field, message))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Unique constraints as each engine names them, and the field a client should be told about.
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    (
        "whatsapp_settings_phone_number_id_key",
        "whatsapp_settings.phone_number_id",
        "phone_number_id",
    ),
    ("users_email_key", "users.email", "email"),
    (
        "roles_company_name_key",
        "roles.company_id, roles.name",
        "name",
    ),
    (
        "teams_company_name_key",
        "teams.company_id, teams.name",
        "name",
    ),
    (
        "memberships_pkey",
        "memberships.company_id, memberships.user_id",
        "email",
    ),
    (
        "pipelines_company_name_key",
        "pipelines.company_id, pipelines.name",
        "name",
    ),
    (
        "pipeline_stages_pipeline_name_key",
        "pipeline_stages.company_id, pipeline_stages.pipeline_id, pipeline_stages.name",
        "name",
    ),
    (
        "contacts_primary_key",
        "contacts.company_id, contacts.account_id",
        "is_primary",
    ),
    (
        "jobs_idempotency_key",
        "jobs.idempotency_key",
        "idempotency_key",
    ),
    (
        "definitions_name_idx",
        "definitions.company_id, definitions.kind, definitions.name",
        "name",
    ),
    // Before the default key: SQLite names columns, and these start with the default key's.
    (
        "saved_views_name_key",
        "saved_views.company_id, saved_views.user_id, saved_views.resource, saved_views.name",
        "name",
    ),
    (
        "saved_views_default_key",
        "saved_views.company_id, saved_views.user_id, saved_views.resource",
        "is_default",
    ),
];

/// Turn a unique violation into a field conflict, once for every query.
pub(crate) fn map_db_err(err: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        for (pg_name, sqlite_cols, field) in UNIQUE_FIELDS {
            if message.contains(pg_name) || message.contains(sqlite_cols) {
                return StoreError::Conflict {
                    field: (*field).to_owned(),
                    message: "is already taken".to_owned(),
                };
            }
        }
        return StoreError::Conflict {
            field: "id".to_owned(),
            message: "already exists".to_owned(),
        };
    }
    StoreError::Db(err)
}

#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite: the one connection that write transactions run on. SQLite writes one
    /// transaction at a time anyway; on one connection its page cache stays warm from one
    /// write to the next (a connection's cache is dropped whenever another connection wrote),
    /// and writers queue for it instead of polling the busy lock. (With the pool's connections
    /// taking turns, an import's batches also ran on connections whose planner statistics
    /// were stale: see [`TENANT_STATISTICS`].)
    writer: Option<DatabaseConnection>,
    /// SQLite: the line of writers waiting for [`Store::writer`], urgent ones first.
    turns: Option<std::sync::Arc<turns::Turns>>,
    backend: Backend,
    /// Role grants by (company, role), tagged with the role's `updated_at`: every request checks
    /// the tag in the query that loads the caller, so a changed role is never served stale, on
    /// any instance.
    grants: std::sync::Arc<std::sync::Mutex<GrantCache>>,
    auth_epoch: std::sync::Arc<AuthEpoch>,
    /// Woken when a transaction that wrote outbox events commits, so this process's event
    /// dispatcher need not wait for its next poll.
    events_written: std::sync::Arc<tokio::sync::Notify>,
    /// PostgreSQL: tenant transactions run as [`tables::TENANT_ROLE`], bound by the
    /// row-level security policies. Off only to measure what the policies cost.
    row_security: bool,
}

/// A counter that moves whenever something that decides who a caller is or what they may do
/// changes (a member, role, team, API key, session or company settings), or a company's custom
/// field definitions, which validate what a caller may write. Caches of callers are
/// valid only for the epoch they were read in. `notify` tells other instances (through Redis).
#[derive(Default)]
pub struct AuthEpoch {
    value: std::sync::atomic::AtomicU64,
    notify: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for AuthEpoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthEpoch")
            .field("value", &self.current())
            .finish()
    }
}

impl AuthEpoch {
    pub fn current(&self) -> u64 {
        self.value.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Move the epoch because of a change seen elsewhere (another instance).
    pub fn bump_remote(&self) {
        self.value.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Move the epoch because of a change committed here, and tell the other instances.
    fn bump_local(&self) {
        self.bump_remote();
        if let Some(notify) = self.notify.get() {
            notify();
        }
    }

    /// Install the function that tells other instances; only the first call counts.
    pub fn set_notify(&self, notify: Box<dyn Fn() + Send + Sync>) {
        let _ = self.notify.set(notify);
    }
}

type GrantCache = std::collections::HashMap<
    (CompanyId, RoleId),
    (
        chrono::DateTime<chrono::Utc>,
        std::sync::Arc<rivet_domain::PermissionSet>,
    ),
>;

/// SQLite: correct the sampled statistics of every index that starts with `company_id`. A
/// sampled `ANALYZE` (`analysis_limit`) reads about a thousand entries of an index and, when
/// they all share one company, takes a company for about a thousand rows whatever the table
/// holds: at 200,000 leads of one company the planner then preferred reading the company's
/// whole list (taken for 1,001 rows) over 1,000 look-ups of an import batch's duplicate keys —
/// 130–160 ms a batch instead of 1.5. The rows per company are counted, not sampled: the table's
/// row count (`sqlite_stat1`'s first number, exact) over the number of companies. Editing
/// `sqlite_stat1` is how SQLite documents steering its planner; `ANALYZE sqlite_schema` then
/// loads the numbers.
const TENANT_STATISTICS: &str = "\
    UPDATE sqlite_stat1 SET stat = \
      substr(stat, 1, instr(stat, ' ') - 1) || ' ' || \
      max(1, CAST(substr(stat, 1, instr(stat, ' ') - 1) AS INTEGER) \
             / max(1, (SELECT count(*) FROM companies))) || \
      CASE WHEN instr(substr(stat, instr(stat, ' ') + 1), ' ') = 0 THEN '' \
           ELSE substr(substr(stat, instr(stat, ' ') + 1), \
                       instr(substr(stat, instr(stat, ' ') + 1), ' ')) END \
    WHERE instr(stat, ' ') > 0 AND idx IN ( \
      SELECT i.name FROM sqlite_schema i, pragma_index_info(i.name) c \
      WHERE i.type = 'index' AND c.seqno = 0 AND c.name = 'company_id'); \
    ANALYZE sqlite_schema;";

impl Store {
    /// Open `url` (`sqlite://path/to/file.db` or `postgres://…`). SQLite gets WAL, foreign keys,
    /// `synchronous=NORMAL` and a busy timeout on every connection.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let to_db = |e: sqlx::Error| StoreError::Db(DbErr::Custom(e.to_string()));
        if url.starts_with("sqlite:") {
            use sqlx::sqlite::{
                SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
            };
            let options = SqliteConnectOptions::from_str(url)
                .map_err(to_db)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                // 4 MiB of page cache per connection: enough for the hot indexes, and it bounds
                // memory (SQLite keeps one cache per connection). A connection that writes a
                // batch of records widens its own ([`bulk_write_cache`]).
                .pragma("cache_size", "-4000");
            // Each SQLite connection is a thread; more than a few only adds context switches
            // (one writer at a time, and readers are CPU-bound on a small machine).
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.clamp(1, 8))
                .min_connections(1)
                .test_before_acquire(false)
                .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
                .connect_with(options.clone())
                .await
                .map_err(to_db)?;
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
                .connect_with(options)
                .await
                .map_err(to_db)?;
            Ok(Self {
                db: sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
                writer: Some(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(writer)),
                turns: Some(Default::default()),
                backend: Backend::Sqlite,
                grants: Default::default(),
                auth_epoch: Default::default(),
                events_written: Default::default(),
                row_security: false,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
            let options = PgConnectOptions::from_str(url).map_err(to_db)?;
            check_postgres(&options).await?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
                .connect_with(options)
                .await
                .map_err(to_db)?;
            Ok(Self {
                db: sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool),
                writer: None,
                turns: None,
                backend: Backend::Postgres,
                grants: Default::default(),
                auth_epoch: Default::default(),
                events_written: Default::default(),
                row_security: true,
            })
        } else {
            Err(StoreError::Db(DbErr::Custom(format!(
                "unsupported database URL (expected sqlite:// or postgres://): {}",
                redact_url(url)
            ))))
        }
    }

    /// Apply the migrations that come before the one named `name`, and no other: a database as
    /// an older version left it, for a test of what a later migration does to its rows.
    pub async fn migrate_before(&self, name: &str) -> Result<()> {
        let all = migrations::Migrator::migrations();
        let Some(before) = all.iter().position(|m| m.name() == name) else {
            return Err(StoreError::invalid(
                "migration",
                format!("no migration {name}"),
            ));
        };
        let applied = all.len()
            - migrations::Migrator::get_pending_migrations(&self.db)
                .await?
                .len();
        let steps = u32::try_from(before.saturating_sub(applied)).unwrap_or(u32::MAX);
        migrations::Migrator::up(&self.db, Some(steps)).await?;
        Ok(())
    }

    /// Apply every migration not yet applied, and restore SQLite's row-by-row search indexing
    /// should a bulk load have died before it finished ([`search::BulkLoad`]).
    ///
    /// Says at info level only what it changed: one line when migrations were applied (their
    /// names at debug), nothing above debug when the schema was already current. The migration
    /// library's own lines (one per migration, on every start) are held back by
    /// `rivet_server::logging`.
    pub async fn migrate(&self) -> Result<()> {
        let pending: Vec<String> = migrations::Migrator::get_pending_migrations(&self.db)
            .await?
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        if pending.is_empty() {
            tracing::debug!("database schema is current; no migration to apply");
        } else {
            tracing::debug!(migrations = ?pending, "applying database migrations");
        }
        migrations::Migrator::up(&self.db, None).await?;
        if let (Some(first), Some(last)) = (pending.first(), pending.last()) {
            tracing::info!(
                "applied {} database migrations ({first} … {last})",
                pending.len()
            );
        }
        search::ensure_index_sync(self).await?;
        self.refresh_statistics().await
    }

    /// Keep SQLite's planner statistics current. Without them SQLite guesses, and at a million
    /// rows it guesses wrong: a deal's timeline walked all activities in date order looking
    /// for the deal's few (seconds) instead of reading the deal's links and sorting them (a
    /// millisecond). Statistics are sampled (`analysis_limit`), so a first `ANALYZE` of a 5 GB
    /// database takes under a second; afterwards `PRAGMA optimize` refreshes the tables that
    /// grew. Run at start-up, by the daily maintenance job and after bulk loads. PostgreSQL's
    /// autovacuum does this by itself.
    pub async fn refresh_statistics(&self) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let sql = if self.sqlite_has("sqlite_stat1").await? {
            "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;"
        } else {
            "PRAGMA analysis_limit = 1000; ANALYZE;"
        };
        self.db.execute_unprepared(sql).await?;
        self.correct_tenant_statistics().await
    }

    /// Refresh the planner's statistics of `table` while a bulk load grows it (an import calls
    /// this as its rows double): on PostgreSQL `ANALYZE` of the table — autovacuum would, but
    /// it may be off or behind, and a table never analyzed is planned from defaults (a
    /// company taken for 0.5 % of the rows: the import's duplicate probe then read the
    /// company's whole list, 50 ms a batch at 90,000 leads and growing); on SQLite
    /// [`Store::refresh_statistics`].
    pub async fn refresh_statistics_of(&self, table: &str) -> Result<()> {
        match self.backend {
            Backend::Sqlite => self.refresh_statistics().await,
            // Only the tables a bulk load writes: the name goes into the statement as it is.
            Backend::Postgres if tables::IMPORTED_TABLES.contains(&table) => {
                self.db
                    .execute_unprepared(&format!("ANALYZE \"{table}\""))
                    .await?;
                Ok(())
            }
            Backend::Postgres => Ok(()),
        }
    }

    /// SQLite: [`TENANT_STATISTICS`], then every open connection loads the numbers (each
    /// reads them when it opens, or when told to; the writer has been open since start-up).
    pub async fn correct_tenant_statistics(&self) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        self.db.execute_unprepared(TENANT_STATISTICS).await?;
        if let Some(writer) = &self.writer {
            writer.execute_unprepared("ANALYZE sqlite_schema").await?;
        }
        Ok(())
    }

    /// Whether SQLite's schema has a table, index or trigger called `name`.
    pub(crate) async fn sqlite_has(&self, name: &str) -> Result<bool> {
        use sea_orm::sea_query::{Expr, ExprTrait, Query};
        let q = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from("sqlite_master")
            .and_where(Expr::col("name").eq(name))
            .to_owned();
        Ok(fetch_count(&self.db, &q).await? > 0)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Run tenant transactions as the connecting role, unbound by PostgreSQL's row-level
    /// security (`RIVET_PG_RLS=off`): only to measure what the policies cost. The store's own
    /// company filters still apply.
    pub fn without_row_security(mut self) -> Self {
        self.row_security = false;
        self
    }

    /// Whether tenant transactions are bound by PostgreSQL's row-level security.
    pub fn row_security(&self) -> bool {
        self.row_security
    }

    /// **The named bypass**: the pool as the role Rivet connects with, which row-level security
    /// does not bind. Only for work that spans companies or belongs to none — migrations,
    /// seeding, the CLI, sign-in's look-up by e-mail, sessions found by their token, the job
    /// queue's claim, maintenance — and for which the code names its reason. A read for a
    /// caller is [`Store::read`].
    pub fn system(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Start a read on behalf of `actor`. On PostgreSQL it is a transaction bound to the
    /// actor's company by row-level security (see `migrations::m0013_row_level_security` and [`PgTx`]); on
    /// SQLite it is the pool itself, at no cost. Queries still filter by company themselves.
    pub async fn read(&self, actor: &Actor) -> Result<Read<'_>> {
        if !self.row_security {
            return Ok(Read {
                exec: ReadConn::Pool(&self.db),
            });
        }
        Ok(Read {
            exec: ReadConn::Tenant(PgTx::begin(&self.db, Some(actor.company_id)).await?),
        })
    }

    /// A read of the tables whose rows without a company (system jobs, system log lines) a
    /// system administrator also sees: through the bypass for a system administrator (the
    /// query's own filter decides what they see), a tenant read for everyone else.
    pub async fn read_with_system_rows(&self, actor: &Actor) -> Result<Read<'_>> {
        if actor.is_system_admin {
            return Ok(Read {
                exec: ReadConn::Pool(&self.db),
            });
        }
        self.read(actor).await
    }

    /// The cached grants of a role if they are still those of `updated_at`.
    pub(crate) fn cached_grants(
        &self,
        company_id: CompanyId,
        role_id: RoleId,
        updated_at: chrono::DateTime<chrono::Utc>,
    ) -> Option<std::sync::Arc<rivet_domain::PermissionSet>> {
        let cache = self.grants.lock().ok()?;
        cache
            .get(&(company_id, role_id))
            .filter(|(tag, _)| *tag == updated_at)
            .map(|(_, set)| set.clone())
    }

    pub(crate) fn cache_grants(
        &self,
        company_id: CompanyId,
        role_id: RoleId,
        updated_at: chrono::DateTime<chrono::Utc>,
        set: &std::sync::Arc<rivet_domain::PermissionSet>,
    ) {
        if let Ok(mut cache) = self.grants.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert((company_id, role_id), (updated_at, set.clone()));
        }
    }

    pub fn auth_epoch(&self) -> &AuthEpoch {
        &self.auth_epoch
    }

    /// Notified after a commit that wrote outbox events in this process.
    pub fn events_written(&self) -> &tokio::sync::Notify {
        &self.events_written
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    /// Start a write on behalf of `actor`: rows, their audit rows and outbox events commit
    /// together or not at all.
    /// On PostgreSQL the transaction is bound to the actor's company by row-level security.
    pub async fn write(&self, actor: &Actor) -> Result<Tx> {
        let company = self.row_security.then_some(actor.company_id);
        let (inner, turn) = self.begin(company, false).await?;
        Ok(Tx::new(self, inner, Some(actor)).holding(turn))
    }

    /// [`Store::write`] for a small write that must land at once: on SQLite it goes before
    /// the ordinary writers still waiting (see `turns`). For the one row that says a message is
    /// being handed to an SMTP server that waits for it (`email::mark_handed`); anything
    /// longer would hold the others up.
    pub async fn write_urgent(&self, actor: &Actor) -> Result<Tx> {
        let company = self.row_security.then_some(actor.company_id);
        let (inner, turn) = self.begin(company, true).await?;
        Ok(Tx::new(self, inner, Some(actor)).holding(turn))
    }

    /// A write on behalf of `actor` that reaches beyond their company — their own sessions in
    /// every company (a new password, signing out elsewhere), or a system administrator's
    /// change to a system job. Audited as `actor`, not bound by row-level security: a named
    /// bypass like [`Store::write_system`].
    pub async fn write_across_companies(&self, actor: &Actor) -> Result<Tx> {
        let (inner, turn) = self.begin(None, false).await?;
        Ok(Tx::new(self, inner, Some(actor)).holding(turn))
    }

    /// [`Store::write`], or for a system administrator [`Store::write_across_companies`]: for
    /// the tables whose rows without a company a system administrator also manages (jobs).
    pub async fn write_with_system_rows(&self, actor: &Actor) -> Result<Tx> {
        if actor.is_system_admin {
            return self.write_across_companies(actor).await;
        }
        self.write(actor).await
    }

    /// A write by Rivet itself (start-up, CLI, maintenance jobs): audited as the system.
    pub async fn write_system(&self) -> Result<Tx> {
        let (inner, turn) = self.begin(None, false).await?;
        Ok(Tx::new(self, inner, None).holding(turn))
    }

    /// A write transaction; on PostgreSQL bound to `company` by row-level security when given
    /// (see [`PgTx`]); on SQLite with its turn on the writer connection (urgent: before the
    /// ordinary writers waiting).
    async fn begin(
        &self,
        company: Option<CompanyId>,
        urgent: bool,
    ) -> Result<(TxConn, Option<turns::Turn>)> {
        if self.backend == Backend::Postgres {
            return Ok((TxConn::Pg(PgTx::begin(&self.db, company).await?), None));
        }
        let turn = match &self.turns {
            Some(turns) => Some(turns.take(urgent).await.ok_or_else(|| {
                StoreError::Db(DbErr::Custom(
                    "the database is busy: no turn to write within 10 seconds".into(),
                ))
            })?),
            None => None,
        };
        // SQLite upgrades a deferred read transaction to a write lazily and fails with "database
        // is locked" if another writer got there first; taking the write lock up front makes
        // writers queue on the busy timeout instead.
        let options = TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        };
        let writer = self.writer.as_ref().unwrap_or(&self.db);
        Ok((TxConn::Sea(writer.begin_with_options(options).await?), turn))
    }
}

/// How long a pooled connection may have been idle and still be handed out without a ping.
const TRUST_IDLE: Duration = Duration::from_secs(1);

/// The pool's check of a connection it hands out. sqlx pings every connection it takes back
/// (which also sends a read's queued `ROLLBACK`, see [`PgTx`]) and, by default, pings it again
/// when it hands it out: a round trip per statement on the pool and per tenant transaction,
/// while the connection answered a moment ago. Only a connection idle for longer than
/// [`TRUST_IDLE`] is pinged now; a broken one is closed and the pool hands out another, as
/// before. What is given up: a connection that broke within that second (the server
/// restarted) fails its next statement instead of being replaced.
async fn ping_if_idle<C: sqlx::Connection>(
    conn: &mut C,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::result::Result<bool, sqlx::Error> {
    if meta.idle_for > TRUST_IDLE {
        conn.ping().await?;
    }
    Ok(true)
}

/// The statement that binds a transaction to `company`: switch to the tenant role and set the
/// company the policies compare with. Both end with the transaction. A UUID's text is safe to
/// write into the statement.
fn bind_company_sql(company: CompanyId) -> String {
    format!(
        "SET LOCAL ROLE {}; SELECT set_config('rivet.company_id', '{company}', true)",
        tables::TENANT_ROLE
    )
}

/// A read for one caller ([`Store::read`]). Dropping it ends it (on PostgreSQL the transaction
/// is rolled back: it changed nothing).
pub struct Read<'s> {
    exec: ReadConn<'s>,
}

impl<'s> Read<'s> {
    pub fn conn(&self) -> &ReadConn<'s> {
        &self.exec
    }
}

/// What a [`Read`] runs its statements on.
pub enum ReadConn<'s> {
    /// The pool (SQLite; PostgreSQL without row-level security; a system administrator's read
    /// of rows without a company).
    Pool(&'s DatabaseConnection),
    /// PostgreSQL: one connection in a transaction bound to the caller's company.
    Tenant(PgTx),
}

/// A PostgreSQL transaction on a pooled connection of its own, bound to one company for a
/// tenant read or write ([`Store::read`], [`Store::write`]).
///
/// A tenant transaction costs what it adds to the statements and no more: `BEGIN`, the role
/// switch and the company setting go to the server as **one** simple query (sea-orm's
/// transactions send `BEGIN` and wait for it before the binding can follow: one round trip
/// more). A transaction that is not committed — every read — is rolled back without a round
/// trip of its own: dropping it queues the `ROLLBACK` on the connection, and it goes out with
/// the check the pool makes of every connection it takes back (sqlx pings a returned
/// connection before anyone else gets it). So a connection never serves anyone else while
/// still in the transaction, i.e. still bound to the company or the role: `SET LOCAL` and
/// `set_config(…, true)` end with the transaction. A connection whose `BEGIN` failed is
/// closed instead of returned.
pub struct PgTx {
    conn: tokio::sync::Mutex<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl PgTx {
    async fn begin(db: &DatabaseConnection, company: Option<CompanyId>) -> Result<Self> {
        use sqlx_core::transaction::TransactionManager as _;
        let mut conn = db
            .get_postgres_connection_pool()
            .acquire()
            .await
            .map_err(conn_err)?;
        let sql = match company {
            Some(company) => format!("BEGIN; {}", bind_company_sql(company)),
            None => "BEGIN".to_owned(),
        };
        let begun = <sqlx::Postgres as sqlx::Database>::TransactionManager::begin(
            &mut conn,
            Some(sqlx_core::sql_str::SqlSafeStr::into_sql_str(
                sqlx::AssertSqlSafe(sql),
            )),
        )
        .await;
        if let Err(err) = begun {
            // The simple query may have opened the transaction before the binding failed, and
            // sqlx rolls back only a BEGIN that succeeded: never reuse this connection.
            conn.close_on_drop();
            return Err(StoreError::Db(query_err(err)));
        }
        Ok(Self {
            conn: tokio::sync::Mutex::new(conn),
        })
    }

    /// `COPY … FROM STDIN` with `data` in COPY's text format: the rows it wrote.
    async fn copy_in(&self, statement: &str, data: &[u8]) -> Result<u64> {
        let mut conn = self.conn.lock().await;
        let mut copy = conn
            .copy_in_raw(statement)
            .await
            .map_err(|e| StoreError::Db(exec_err(e)))?;
        if let Err(e) = copy.send(data).await {
            // The connection cannot serve the transaction any more: end the COPY if it can.
            let _ = copy.abort(e.to_string()).await;
            return Err(StoreError::Db(exec_err(e)));
        }
        copy.finish().await.map_err(|e| StoreError::Db(exec_err(e)))
    }

    async fn commit(self) -> Result<()> {
        use sqlx_core::transaction::TransactionManager as _;
        let mut conn = self.conn.lock().await;
        <sqlx::Postgres as sqlx::Database>::TransactionManager::commit(&mut conn)
            .await
            .map_err(|e| StoreError::Db(exec_err(e)))
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        use sqlx_core::transaction::TransactionManager as _;
        // Queued, not awaited (nothing after a commit): sent with the pool's check of the
        // returned connection.
        <sqlx::Postgres as sqlx::Database>::TransactionManager::start_rollback(self.conn.get_mut());
    }
}

// sqlx errors as sea-orm reports them, so that [`map_db_err`] reads them the same way.
fn conn_err(err: sqlx::Error) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into()))
}

fn query_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(sea_orm::RuntimeErr::SqlxError(err.into()))
}

fn exec_err(err: sqlx::Error) -> DbErr {
    DbErr::Exec(sea_orm::RuntimeErr::SqlxError(err.into()))
}

fn pg_query(stmt: &sea_orm::Statement) -> sqlx::query::Query<'_, sqlx::Postgres, SqlxValues> {
    let values = stmt
        .values
        .clone()
        .unwrap_or(sea_orm::sea_query::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

#[async_trait::async_trait]
impl ConnectionTrait for PgTx {
    fn get_database_backend(&self) -> sea_orm::DbBackend {
        sea_orm::DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: sea_orm::Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        pg_query(&stmt)
            .execute(&mut **conn)
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        sqlx::Executor::execute(&mut **conn, sqlx::AssertSqlSafe(sql.to_owned()))
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: sea_orm::Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.conn.lock().await;
        pg_query(&stmt)
            .fetch_optional(&mut **conn)
            .await
            .map(|row| row.map(Into::into))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: sea_orm::Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.conn.lock().await;
        pg_query(&stmt)
            .fetch_all(&mut **conn)
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }
}

/// `ConnectionTrait` for an enum of connections, each call handed to the variant's own.
macro_rules! delegate_connection {
    ($ty:ty, $($variant:ident),+) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $ty {
            fn get_database_backend(&self) -> sea_orm::DbBackend {
                match self {
                    $(Self::$variant(c) => c.get_database_backend(),)+
                }
            }

            async fn execute_raw(&self, stmt: sea_orm::Statement) -> Result<ExecResult, DbErr> {
                match self {
                    $(Self::$variant(c) => c.execute_raw(stmt).await,)+
                }
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
                match self {
                    $(Self::$variant(c) => c.execute_unprepared(sql).await,)+
                }
            }

            async fn query_one_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Option<QueryResult>, DbErr> {
                match self {
                    $(Self::$variant(c) => c.query_one_raw(stmt).await,)+
                }
            }

            async fn query_all_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Vec<QueryResult>, DbErr> {
                match self {
                    $(Self::$variant(c) => c.query_all_raw(stmt).await,)+
                }
            }
        }
    };
}

delegate_connection!(ReadConn<'_>, Pool, Tenant);
delegate_connection!(TxConn, Sea, Pg);

/// Who an audit row names.
#[derive(Debug, Clone)]
pub struct AuditActor {
    pub company_id: CompanyId,
    pub user_id: UserId,
    pub api_key_id: Option<ApiKeyId>,
    pub request_id: Option<String>,
    /// The automated process that acted for the user ([`Actor::via`]).
    pub via: Option<&'static str>,
}

impl From<&Actor> for AuditActor {
    fn from(actor: &Actor) -> Self {
        Self {
            company_id: actor.company_id,
            user_id: actor.user_id,
            api_key_id: actor.api_key_id,
            request_id: actor.request_id.clone(),
            via: actor.via,
        }
    }
}

/// One open write transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub struct Tx {
    inner: TxConn,
    actor: Option<AuditActor>,
    /// Set when the transaction changes who someone is or what they may do.
    auth_change: std::sync::atomic::AtomicBool,
    epoch: std::sync::Arc<AuthEpoch>,
    /// Set when the transaction wrote outbox events.
    events: std::sync::atomic::AtomicBool,
    events_written: std::sync::Arc<tokio::sync::Notify>,
    /// The company's duplicate settings once read in this transaction
    /// ([`duplicates::settings_tx`]): a batch of creates reads them once.
    pub(crate) duplicate_settings: std::sync::OnceLock<rivet_domain::duplicates::DuplicateSettings>,
    /// The company's scoring settings once read in this transaction ([`scoring::config_tx`]).
    pub(crate) scoring: std::sync::OnceLock<rivet_domain::scoring::ScoringConfig>,
    /// The company's qualification gates once read ([`qualification::config_tx`]).
    pub(crate) qualification: std::sync::OnceLock<rivet_domain::qualification::Qualification>,
    /// The import this transaction saves rows for ([`Tx::for_import`]): the records it creates
    /// in an imported table carry its id.
    import: std::sync::OnceLock<uuid::Uuid>,
    /// A field added to the payload of every event written while it is set
    /// ([`Tx::tag_events`]): the chain of workflow rules an action belongs to.
    event_tag: std::sync::Mutex<Option<(&'static str, serde_json::Value)>>,
    /// SQLite: the turn on the writer connection, handed on when the transaction is over (last
    /// field: dropped after the transaction).
    turn: Option<turns::Turn>,
}

/// What a [`Tx`] runs its statements on: sea-orm's transaction on SQLite, [`PgTx`] on
/// PostgreSQL.
pub enum TxConn {
    Sea(DatabaseTransaction),
    Pg(PgTx),
}

impl Tx {
    fn new(store: &Store, inner: TxConn, actor: Option<&Actor>) -> Self {
        Self {
            inner,
            actor: actor.map(AuditActor::from),
            auth_change: std::sync::atomic::AtomicBool::new(false),
            epoch: store.auth_epoch.clone(),
            events: std::sync::atomic::AtomicBool::new(false),
            events_written: store.events_written.clone(),
            duplicate_settings: std::sync::OnceLock::new(),
            scoring: std::sync::OnceLock::new(),
            qualification: std::sync::OnceLock::new(),
            import: std::sync::OnceLock::new(),
            event_tag: std::sync::Mutex::new(None),
            turn: None,
        }
    }

    fn holding(mut self, turn: Option<turns::Turn>) -> Self {
        self.turn = turn;
        self
    }

    /// Until called again with `None`, add `key: value` to the payload of every event this
    /// transaction writes (a workflow rule's actions mark their events with the rule's chain,
    /// so a rule that reacts to its own change can tell).
    pub fn tag_events(&self, tag: Option<(&'static str, serde_json::Value)>) {
        if let Ok(mut slot) = self.event_tag.lock() {
            *slot = tag;
        }
    }

    /// `data` with the tag of [`Tx::tag_events`], if one is set.
    pub(crate) fn tagged(&self, data: &serde_json::Value) -> serde_json::Value {
        let tag = self.event_tag.lock().ok().and_then(|t| t.clone());
        match (tag, data) {
            (Some((key, value)), serde_json::Value::Object(map)) => {
                let mut map = map.clone();
                map.insert(key.to_owned(), value);
                serde_json::Value::Object(map)
            }
            _ => data.clone(),
        }
    }

    /// Declare that this transaction saves rows of the import `import_id`: every record it
    /// creates in one of [`tables::IMPORTED_TABLES`] is written with that `import_id` (the
    /// `import_id=` filter and an undo find them), in the same insert as the rest of the row.
    pub fn for_import(&self, import_id: uuid::Uuid) {
        let _ = self.import.set(import_id);
    }

    /// The import this transaction saves rows for, if any ([`Tx::for_import`]).
    pub(crate) fn import(&self) -> Option<uuid::Uuid> {
        self.import.get().copied()
    }

    /// PostgreSQL: write many rows with one `COPY table (columns) FROM STDIN` (`statement`),
    /// `data` in COPY's text format ([`query::CopyText`]) — for a log of many rows a batch,
    /// where an `INSERT`'s thousands of bound values cost more than the rows. Only in a
    /// transaction not bound to a company ([`Store::write_system`]): PostgreSQL refuses `COPY
    /// FROM` under row-level security. SQLite has no `COPY` ([`Tx::copies`]): the caller
    /// inserts there.
    pub(crate) async fn copy_in(&self, statement: &str, data: &[u8]) -> Result<u64> {
        match &self.inner {
            TxConn::Pg(pg) => pg.copy_in(statement, data).await,
            TxConn::Sea(_) => Err(StoreError::Db(DbErr::Custom(
                "COPY is PostgreSQL's: insert on SQLite".into(),
            ))),
        }
    }

    /// Whether [`Tx::copy_in`] can write (PostgreSQL).
    pub(crate) fn copies(&self) -> bool {
        matches!(self.inner, TxConn::Pg(_))
    }

    pub fn conn(&self) -> &TxConn {
        &self.inner
    }

    pub fn actor(&self) -> Option<&AuditActor> {
        self.actor.as_ref()
    }

    /// Mark this transaction as changing authentication or authorization state; callers cached
    /// before it commits are read again afterwards. Audited changes to such resources mark it
    /// themselves.
    pub fn touches_auth(&self) {
        self.auth_change
            .store(true, std::sync::atomic::Ordering::Release);
    }

    pub(crate) fn wrote_events(&self) {
        self.events
            .store(true, std::sync::atomic::Ordering::Release);
    }

    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxConn::Sea(tx) => tx.commit().await?,
            TxConn::Pg(tx) => tx.commit().await?,
        }
        if self.auth_change.load(std::sync::atomic::Ordering::Acquire) {
            self.epoch.bump_local();
        }
        if self.events.load(std::sync::atomic::Ordering::Acquire) {
            self.events_written.notify_one();
        }
        Ok(())
    }
}

/// On SQLite, widen this connection's page cache to 64 MiB for a batch of inserts: each row
/// goes into a score of indexes at random places, and with 4 MiB a large table's index pages
/// are read again for every batch (and dirty ones spilled before the commit). And let its
/// write-ahead log grow to 64 MiB (16,384 pages, not 1,000) before a commit checkpoints it:
/// a batch's commit dirties a few thousand pages, so at 1,000 nearly every commit copied the
/// log into the database and synced it (20,000 imported rows: 8 % faster). The connection keeps
/// both (the cache only fills as far as it is used); on PostgreSQL nothing changes.
pub(crate) async fn bulk_write_cache<C: ConnectionTrait>(db: &C) -> Result<()> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384")
            .await?;
    }
    Ok(())
}

/// The most values one statement binds: under SQLite's limit (32,766) and PostgreSQL's (65,535).
pub(crate) const MAX_BOUND_VALUES: usize = 30_000;

pub(crate) async fn exec<C: ConnectionTrait, S: StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<u64> {
    conn.execute(stmt)
        .await
        .map(|r| r.rows_affected())
        .map_err(map_db_err)
}

/// Set `columns` of many rows of `table` (of `company`), each row's own values, in one
/// statement per 1,000 rows: an `UPDATE … FROM (VALUES …)`, which both databases take. Each
/// row of `rows` is its id and then one value per column. A recomputation of a million rows
/// (lead scores, deal risk) is a thousand statements, not a million round trips.
pub(crate) async fn update_from_values(
    tx: &Tx,
    table: &str,
    company: rivet_domain::ids::CompanyId,
    columns: &[&str],
    rows: &[Vec<sea_orm::Value>],
) -> Result<()> {
    let backend = tx.conn().get_database_backend();
    let width = columns.len() + 1;
    let set: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = v.column{}", i + 2))
        .collect();
    for chunk in rows.chunks(1_000) {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * width + 1);
        let mut tuples = Vec::with_capacity(chunk.len());
        let mut n = 0;
        let mut next = || {
            n += 1;
            match backend {
                sea_orm::DbBackend::Postgres => format!("${n}"),
                _ => "?".to_owned(),
            }
        };
        for row in chunk {
            let marks: Vec<String> = (0..width).map(|_| next()).collect();
            tuples.push(format!("({})", marks.join(", ")));
            values.extend(row.iter().cloned());
        }
        let company_at = next();
        values.push(company.uuid().into());
        let sql = format!(
            "UPDATE {table} SET {} FROM (VALUES {}) AS v \
             WHERE {table}.company_id = {company_at} AND {table}.id = v.column1",
            set.join(", "),
            tuples.join(", ")
        );
        tx.conn()
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                backend, sql, values,
            ))
            .await?;
    }
    Ok(())
}

/// The companies a recomputation over every company's rows runs over: `company`, or every
/// company there is.
pub(crate) async fn companies_to_run(
    store: &Store,
    company: Option<rivet_domain::ids::CompanyId>,
) -> Result<Vec<rivet_domain::ids::CompanyId>> {
    #[derive(FromQueryResult)]
    struct CompanyRow {
        id: rivet_domain::ids::CompanyId,
    }
    if let Some(c) = company {
        return Ok(vec![c]);
    }
    let rows: Vec<CompanyRow> = fetch_all(
        store.system(),
        sea_orm::sea_query::Query::select()
            .column(tables::Companies::Id)
            .from(tables::Companies::Table),
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// How many rows a recomputation has before it in `companies` (`count(c)`: the count statement
/// of one company's rows), for its progress.
pub(crate) async fn total_rows(
    store: &Store,
    companies: &[rivet_domain::ids::CompanyId],
    count: impl Fn(rivet_domain::ids::CompanyId) -> sea_orm::sea_query::SelectStatement,
) -> Result<i64> {
    let mut total = 0;
    for &c in companies {
        total += fetch_count(store.system(), &count(c)).await?;
    }
    Ok(total)
}

pub(crate) async fn fetch_all<T: FromQueryResult, C: ConnectionTrait, S: StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<Vec<T>> {
    let rows = conn.query_all(stmt).await?;
    rows.iter()
        .map(|row| T::from_query_result(row, "").map_err(StoreError::from))
        .collect()
}

pub(crate) async fn fetch_optional<T: FromQueryResult, C: ConnectionTrait, S: StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<Option<T>> {
    match conn.query_one(stmt).await? {
        Some(row) => Ok(Some(T::from_query_result(&row, "")?)),
        None => Ok(None),
    }
}

pub(crate) async fn fetch_one<T: FromQueryResult, C: ConnectionTrait, S: StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<T> {
    fetch_optional(conn, stmt)
        .await?
        .ok_or(StoreError::NotFound)
}

/// A count query's single value, whatever integer type the engine returns.
pub(crate) async fn fetch_count<C: ConnectionTrait, S: StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<i64> {
    match conn.query_one(stmt).await? {
        Some(row) => Ok(row.try_get_by_index::<i64>(0)?),
        None => Ok(0),
    }
}

/// A database URL with its password replaced, safe to log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Open one PostgreSQL connection before the pool, so a wrong address or credential is said at
/// once and plainly: the pool retries until its acquire timeout and then reports only "pool
/// timed out".
async fn check_postgres(options: &sqlx::postgres::PgConnectOptions) -> Result<()> {
    use sqlx::Connection;
    const WAIT: Duration = Duration::from_secs(10);
    let at = format!("{}:{}", options.get_host(), options.get_port());
    let attempt = tokio::time::timeout(WAIT, sqlx::PgConnection::connect_with(options)).await;
    let message = match attempt {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            return Ok(());
        }
        Err(_) => format!("no answer from {at} within {} s", WAIT.as_secs()),
        Ok(Err(sqlx::Error::Io(e))) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused at {at}: is PostgreSQL running and listening there?")
        }
        Ok(Err(sqlx::Error::Io(e))) => format!("cannot reach {at}: {e}"),
        Ok(Err(sqlx::Error::Database(e))) => match e.code().as_deref() {
            // invalid_password, invalid_authorization_specification
            Some("28P01" | "28000") => format!(
                "PostgreSQL at {at} refused user {:?}: {}",
                options.get_username(),
                e.message()
            ),
            // invalid_catalog_name
            Some("3D000") => format!("PostgreSQL at {at}: {}", e.message()),
            _ => format!("PostgreSQL at {at} refused the connection: {}", e.message()),
        },
        Ok(Err(e)) => format!("cannot connect to {at}: {e}"),
    };
    Err(StoreError::Connect(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://rivet:s3cret@db:5432/rivet"),
            "postgres://rivet:***@db:5432/rivet"
        );
        assert_eq!(
            redact_url("sqlite://data/rivet.db"),
            "sqlite://data/rivet.db"
        );
    }
}
