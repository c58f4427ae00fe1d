//! `/system/…`: the installation's stored logs, statistics and settings, and the gauges that
//! `/metrics` reports (database pool, jobs by state, uptime).
//!
//! Logs are readable by any role granted `system_logs.read` — the store shows a company admin
//! their own company's events and only a system administrator the events of no company.
//! Settings and statistics are for system administrators only.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request};
use crate::http::router::{Access, ApiRouter, get, patch};
use crate::state::AppState;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use rivet_domain::settings::SystemSettings;
use rivet_domain::{Action, Actor, Resource};
use rivet_store::logs::{self, HourCount, LogEntry, LogFilter, LogLevel};
use rivet_store::stats::{self, RecordCounts};
use rivet_store::{Backend, Page};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The longest window `/system/logs/stats` counts over (hourly buckets).
const MAX_STATS_DAYS: i64 = 92;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get(
                "/system/logs",
                Access::Allow(Resource::SystemLogs, Action::Read),
            )
            .doc(
                "system",
                "Search stored warnings, errors and security events \
                 (level = minimum level, target = prefix, from, to, q, request_id)",
            )
            .returns_page::<LogEntry>(),
            list_logs,
        )
        .add(
            get(
                "/system/logs/stats",
                Access::Allow(Resource::SystemLogs, Action::Read),
            )
            .doc(
                "system",
                "Stored log events per hour and level (from, to; default the last 24 hours)",
            )
            .returns::<LogStats>(),
            log_stats,
        )
        .add(
            get(
                "/system/settings",
                Access::SystemAdmin(Resource::SystemSettings, Action::Read),
            )
            .doc("system", "Installation-wide settings")
            .returns::<SystemSettings>(),
            show_settings,
        )
        .add(
            patch(
                "/system/settings",
                Access::SystemAdmin(Resource::SystemSettings, Action::Update),
            )
            .doc(
                "system",
                "Change installation-wide settings (only the fields sent)",
            )
            .body::<UpdateSystemSettings>()
            .returns::<SystemSettings>(),
            update_settings,
        )
        .add(
            get(
                "/system/stats",
                Access::SystemAdmin(Resource::SystemSettings, Action::Read),
            )
            .doc(
                "system",
                "Version, uptime, database size, record counts, jobs by state, recent log volume",
            )
            .returns::<SystemStats>(),
            show_stats,
        )
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    pub level: Option<LogLevel>,
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub q: Option<String>,
    pub request_id: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// A `from`/`to` filter pair must not be reversed (every time-filtered list).
pub(crate) fn check_range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => {
            Err(AppError::BadRequest("from must not be after to".into()))
        }
        _ => Ok(()),
    }
}

/// Stored log rows the caller may see (API and web UI).
pub async fn list_system_logs(
    app: &AppState,
    actor: &Actor,
    query: LogsQuery,
) -> Result<Page<LogEntry>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    check_range(query.from, query.to)?;
    let filter = LogFilter {
        level: query.level,
        target: query.target,
        from: query.from,
        to: query.to,
        q: query.q,
        request_id: query.request_id,
    };
    Ok(logs::list(&app.store, actor, &filter, page).await?)
}

async fn list_logs(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<LogsQuery>,
) -> Result<Json<Page<LogEntry>>, AppError> {
    Ok(Json(list_system_logs(&app, &actor, query).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogStatsQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogStats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// One entry per hour and level that has events, oldest first.
    pub data: Vec<HourCount>,
}

/// Counts per hour and level (API and web UI).
pub async fn system_log_stats(
    app: &AppState,
    actor: &Actor,
    query: LogStatsQuery,
) -> Result<LogStats, AppError> {
    let to = query.to.unwrap_or_else(Utc::now);
    let from = query.from.unwrap_or(to - Duration::hours(24));
    check_range(Some(from), Some(to))?;
    if to - from > Duration::days(MAX_STATS_DAYS) {
        return Err(AppError::BadRequest(format!(
            "from and to may be at most {MAX_STATS_DAYS} days apart"
        )));
    }
    let data = logs::stats(&app.store, actor, from, to).await?;
    Ok(LogStats { from, to, data })
}

async fn log_stats(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<LogStatsQuery>,
) -> Result<Json<LogStats>, AppError> {
    Ok(Json(system_log_stats(&app, &actor, query).await?))
}

async fn show_settings(State(app): State<AppState>) -> Result<Json<SystemSettings>, AppError> {
    Ok(Json(rivet_store::settings::get_system(&app.store).await?))
}

/// A partial change to the system settings: absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateSystemSettings {
    pub password_min_length: Option<u32>,
    pub password_require_digit: Option<bool>,
    pub password_require_letter: Option<bool>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    pub allow_signup: Option<bool>,
    pub log_retention_days: Option<u32>,
    pub event_retention_days: Option<u32>,
}

/// Apply a partial change to the system settings (API and web form). Only a system
/// administrator may; the check is repeated here because the web UI calls this directly.
pub async fn update_system_settings(
    app: &AppState,
    actor: &Actor,
    body: UpdateSystemSettings,
) -> Result<SystemSettings, AppError> {
    if !actor.is_system_admin {
        return Err(AppError::forbidden());
    }
    let mut settings = rivet_store::settings::get_system(&app.store).await?;
    let UpdateSystemSettings {
        password_min_length,
        password_require_digit,
        password_require_letter,
        access_token_ttl_seconds,
        refresh_token_ttl_seconds,
        allow_signup,
        log_retention_days,
        event_retention_days,
    } = body;
    if let Some(v) = password_min_length {
        settings.password_min_length = v;
    }
    if let Some(v) = password_require_digit {
        settings.password_require_digit = v;
    }
    if let Some(v) = password_require_letter {
        settings.password_require_letter = v;
    }
    if let Some(v) = access_token_ttl_seconds {
        settings.access_token_ttl_seconds = v;
    }
    if let Some(v) = refresh_token_ttl_seconds {
        settings.refresh_token_ttl_seconds = v;
    }
    if let Some(v) = allow_signup {
        settings.allow_signup = v;
    }
    if let Some(v) = log_retention_days {
        settings.log_retention_days = v;
    }
    if let Some(v) = event_retention_days {
        settings.event_retention_days = v;
    }
    settings.validate()?;
    Ok(rivet_store::settings::put_system(&app.store, actor, &settings).await?)
}

async fn update_settings(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<UpdateSystemSettings>,
) -> Result<Json<SystemSettings>, AppError> {
    Ok(Json(update_system_settings(&app, &actor, body).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseInfo {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub size_bytes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SystemStats {
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub database: DatabaseInfo,
    pub records: RecordCounts,
    /// Jobs per state (queued, running, succeeded, dead, cancelled).
    pub jobs_by_state: BTreeMap<String, i64>,
    /// Stored log rows per level over the last 24 hours.
    pub logs_last_24h: BTreeMap<String, i64>,
    /// Log records this process could not store (writer overloaded or database away).
    pub logs_dropped: u64,
}

/// The installation's statistics, for a system administrator (API and web UI).
pub async fn system_stats(app: &AppState, actor: &Actor) -> Result<SystemStats, AppError> {
    let data = stats::collect(&app.store, actor, Utc::now() - Duration::hours(24)).await?;
    Ok(SystemStats {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: app.started_at.elapsed().as_secs(),
        database: DatabaseInfo {
            backend: match app.store.backend() {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            },
            size_bytes: data.database_size_bytes,
        },
        records: data.records,
        jobs_by_state: data.jobs_by_state,
        logs_last_24h: data.logs_by_level,
        logs_dropped: crate::logging::dropped_records(),
    })
}

async fn show_stats(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<SystemStats>, AppError> {
    Ok(Json(system_stats(&app, &actor).await?))
}

/// Refresh gauges (database pool, jobs by state, uptime, dropped log records) before `/metrics`
/// renders. A failing query leaves the previous value: metrics must still render.
pub async fn record_gauges(app: &AppState) {
    let db = app.store.system();
    let (size, idle) = match app.store.backend() {
        Backend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        Backend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    metrics::gauge!("rivet_db_pool_size").set(f64::from(size));
    metrics::gauge!("rivet_db_pool_idle").set(idle as f64);
    metrics::gauge!("rivet_db_pool_max").set(f64::from(app.config.db_max_connections));
    match stats::jobs_by_state(&app.store).await {
        Ok(jobs) => {
            for (state, count) in jobs {
                metrics::gauge!("rivet_jobs", "state" => state).set(count as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count jobs for /metrics"),
    }
    crate::dispatcher::record_gauges(app).await;
    metrics::gauge!("rivet_uptime_seconds").set(app.started_at.elapsed().as_secs_f64());
    metrics::counter!("rivet_system_logs_dropped_total")
        .absolute(crate::logging::dropped_records());
}
