//! Stored system logs: the warnings, errors and security events that the server's tracing layer
//! captures (see `rivet_server::logging`), written in batches, searched by administrators,
//! counted per hour, and pruned after the retention period.
//!
//! Visibility: a caller sees the rows of their own company, and a system administrator also sees
//! the rows that belong to no company (start-up errors, failed sign-ins of unknown accounts, …).
//! Another company's rows are never visible.

use crate::page::PageRequest;
use crate::tables::SystemLogs;
use crate::{Backend, Page, Result, Store, exec, fetch_all};
use chrono::{DateTime, Utc};
use rivet_domain::Actor;
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Func, LikeExpr, Order, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A log level, most verbose first (the order `min` filters rely on).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub const ALL: &'static [LogLevel] = &[
        Self::Trace,
        Self::Debug,
        Self::Info,
        Self::Warn,
        Self::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }

    /// This level and every more severe one.
    pub fn and_above(self) -> impl Iterator<Item = LogLevel> {
        Self::ALL.iter().copied().filter(move |l| *l >= self)
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| "must be one of: trace, debug, info, warn, error".into())
    }
}

/// One captured event, ready to be written.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// UUIDv7 taken when the event happened, so ids sort like times.
    pub id: Uuid,
    pub company_id: Option<Uuid>,
    pub level: LogLevel,
    pub target: String,
    pub message: String,
    /// The event's other fields as a JSON object (secrets already redacted).
    pub fields: Value,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Write many records in one statement. Not audited: logs are the record of what happened.
pub async fn insert_batch(store: &Store, records: &[LogRecord]) -> Result<u64> {
    if records.is_empty() {
        return Ok(0);
    }
    let mut stmt = Query::insert();
    stmt.into_table(SystemLogs::Table).columns([
        SystemLogs::Id,
        SystemLogs::CompanyId,
        SystemLogs::Level,
        SystemLogs::Target,
        SystemLogs::Message,
        SystemLogs::Fields,
        SystemLogs::RequestId,
        SystemLogs::CreatedAt,
    ]);
    for r in records {
        stmt.values_panic([
            r.id.into(),
            r.company_id.into(),
            r.level.as_str().into(),
            r.target.as_str().into(),
            r.message.as_str().into(),
            r.fields.clone().into(),
            r.request_id.clone().into(),
            r.created_at.into(),
        ]);
    }
    exec(store.system(), &stmt).await
}

/// A stored log row as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    pub id: Uuid,
    pub level: LogLevel,
    pub target: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub fields: Value,
    pub request_id: Option<String>,
    pub company_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct LogRow {
    id: Uuid,
    company_id: Option<Uuid>,
    level: String,
    target: String,
    message: String,
    fields: Value,
    request_id: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<LogRow> for LogEntry {
    fn from(row: LogRow) -> Self {
        Self {
            id: row.id,
            // Rows are only written from `LogLevel`; an unknown text would be a hand edit.
            level: row.level.parse().unwrap_or(LogLevel::Error),
            target: row.target,
            message: row.message,
            fields: row.fields,
            request_id: row.request_id,
            company_id: row.company_id,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// This level and more severe ones (`warn` shows warnings and errors).
    pub level: Option<LogLevel>,
    /// Targets starting with this (`rivet::security`).
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the message.
    pub q: Option<String>,
    pub request_id: Option<String>,
}

/// Which rows `actor` may see (module docs).
fn visible_to(actor: &Actor) -> Cond {
    let mut cond = Cond::any().add(Expr::col(SystemLogs::CompanyId).eq(actor.company_id));
    if actor.is_system_admin {
        cond = cond.add(Expr::col(SystemLogs::CompanyId).is_null());
    }
    cond
}

/// The rows `actor` may see that match `filter`, newest first.
pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &LogFilter,
    page: PageRequest,
) -> Result<Page<LogEntry>> {
    let r = store.read_with_system_rows(actor).await?;
    let mut q = Query::select();
    q.columns([
        SystemLogs::Id,
        SystemLogs::CompanyId,
        SystemLogs::Level,
        SystemLogs::Target,
        SystemLogs::Message,
        SystemLogs::Fields,
        SystemLogs::RequestId,
        SystemLogs::CreatedAt,
    ])
    .from(SystemLogs::Table)
    .cond_where(visible_to(actor));
    if let Some(level) = filter.level {
        q.and_where(Expr::col(SystemLogs::Level).is_in(level.and_above().map(LogLevel::as_str)));
    }
    if let Some(target) = filter.target.as_deref().filter(|t| !t.is_empty()) {
        q.and_where(
            Expr::col(SystemLogs::Target).like(
                LikeExpr::new(format!("{}%", crate::query::escape_like(target))).escape('\\'),
            ),
        );
    }
    if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", crate::query::escape_like(&text.to_lowercase()));
        q.and_where(
            Expr::expr(Func::lower(Expr::col(SystemLogs::Message)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    if let Some(rid) = &filter.request_id {
        q.and_where(Expr::col(SystemLogs::RequestId).eq(rid.as_str()));
    }
    if let Some(from) = filter.from {
        q.and_where(Expr::col(SystemLogs::CreatedAt).gte(from));
    }
    if let Some(to) = filter.to {
        q.and_where(Expr::col(SystemLogs::CreatedAt).lt(to));
    }
    if let Some(after) = page.after {
        q.and_where(Expr::col(SystemLogs::Id).lt(after));
    }
    q.order_by(SystemLogs::Id, Order::Desc)
        .limit(page.limit + 1);
    let rows: Vec<LogRow> = fetch_all(r.conn(), &q).await?;
    let rows: Vec<LogEntry> = rows.into_iter().map(LogEntry::from).collect();
    Ok(Page::from_rows(rows, page, |e| e.id))
}

/// How many rows of one level fell in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HourCount {
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub level: LogLevel,
    pub count: i64,
}

#[derive(FromQueryResult)]
struct HourRow {
    hour: String,
    level: String,
    count: i64,
}

/// The hour a row falls in, as `YYYY-MM-DDTHH:00:00Z` text on both engines. SQLite keeps
/// times as RFC 3339 text, which `strftime` reads; PostgreSQL truncates a `timestamptz`.
fn hour_expr(backend: Backend) -> Expr {
    match backend {
        Backend::Sqlite => Expr::cust("strftime('%Y-%m-%dT%H:00:00Z', \"created_at\")"),
        Backend::Postgres => Expr::cust(
            "to_char(date_trunc('hour', \"created_at\" AT TIME ZONE 'UTC'), \
             'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')",
        ),
    }
}

/// Counts per hour and level of the rows `actor` may see, between `from` and `to`, oldest hour
/// first. Hours without rows are absent.
pub async fn stats(
    store: &Store,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<HourCount>> {
    let r = store.read_with_system_rows(actor).await?;
    let hour = hour_expr(store.backend());
    let mut q = Query::select();
    q.expr_as(hour.clone(), "hour")
        .column(SystemLogs::Level)
        .expr_as(Expr::col(SystemLogs::Id).count(), "count")
        .from(SystemLogs::Table)
        .cond_where(visible_to(actor))
        .and_where(Expr::col(SystemLogs::CreatedAt).gte(from))
        .and_where(Expr::col(SystemLogs::CreatedAt).lt(to))
        .add_group_by([hour.clone(), Expr::col(SystemLogs::Level)])
        .order_by_expr(hour, Order::Asc)
        .order_by(SystemLogs::Level, Order::Asc);
    let rows: Vec<HourRow> = fetch_all(r.conn(), &q).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(HourCount {
                hour: DateTime::parse_from_rfc3339(&row.hour)
                    .ok()?
                    .with_timezone(&Utc),
                level: row.level.parse().ok()?,
                count: row.count,
            })
        })
        .collect())
}

/// Delete every row older than `before`, whatever its company (maintenance, not a user action).
pub async fn prune(store: &Store, before: DateTime<Utc>) -> Result<u64> {
    exec(
        store.system(),
        Query::delete()
            .from_table(SystemLogs::Table)
            .and_where(Expr::col(SystemLogs::CreatedAt).lt(before)),
    )
    .await
}
