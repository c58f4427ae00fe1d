//! Installation-wide statistics for system administrators and `/metrics`: record counts,
//! database size, jobs by state and recent log volume.
//!
//! These read across every company, so [`collect`] is for system administrators only; the small
//! operational counters used by `/metrics` ([`jobs_by_state`], [`database_size`]) reveal no
//! tenant data and take no caller.

use crate::tables::{
    ApiKeys, AuditLog, Companies, Jobs, Memberships, Roles, SystemLogs, Teams, Users,
};
use crate::{Backend, Result, Store, StoreError, fetch_all, fetch_count};
use chrono::{DateTime, Utc};
use rivet_domain::Actor;
use rivet_domain::jobs::JobState;
use sea_orm::sea_query::{Expr, ExprTrait, IntoIden, Query};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many rows each main table holds, across every company.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordCounts {
    pub companies: i64,
    pub users: i64,
    pub memberships: i64,
    pub roles: i64,
    pub teams: i64,
    pub api_keys: i64,
    pub audit_log: i64,
    pub system_logs: i64,
    pub jobs: i64,
}

/// What the statistics page shows about the data.
#[derive(Debug, Clone, Serialize)]
pub struct DataStats {
    pub records: RecordCounts,
    pub database_size_bytes: i64,
    /// Every job state, with zero for states no job is in.
    pub jobs_by_state: BTreeMap<String, i64>,
    /// Stored log rows per level since `logs_since`.
    pub logs_by_level: BTreeMap<String, i64>,
    pub logs_since: DateTime<Utc>,
}

async fn count(store: &Store, table: impl IntoIden) -> Result<i64> {
    fetch_count(
        store.system(),
        Query::select()
            .expr(Expr::col(sea_orm::sea_query::Asterisk).count())
            .from(table),
    )
    .await
}

/// Everything above, for a system administrator.
pub async fn collect(store: &Store, actor: &Actor, logs_since: DateTime<Utc>) -> Result<DataStats> {
    if !actor.is_system_admin {
        return Err(StoreError::Forbidden);
    }
    let records = RecordCounts {
        companies: count(store, Companies::Table).await?,
        users: count(store, Users::Table).await?,
        memberships: count(store, Memberships::Table).await?,
        roles: count(store, Roles::Table).await?,
        teams: count(store, Teams::Table).await?,
        api_keys: count(store, ApiKeys::Table).await?,
        audit_log: count(store, AuditLog::Table).await?,
        system_logs: count(store, SystemLogs::Table).await?,
        jobs: count(store, Jobs::Table).await?,
    };
    Ok(DataStats {
        records,
        database_size_bytes: database_size(store).await?,
        jobs_by_state: jobs_by_state(store).await?,
        logs_by_level: logs_by_level(store, logs_since).await?,
        logs_since,
    })
}

#[derive(FromQueryResult)]
struct GroupCount {
    key: String,
    count: i64,
}

/// Jobs per state, every state present (zero when empty).
pub async fn jobs_by_state(store: &Store) -> Result<BTreeMap<String, i64>> {
    let rows: Vec<GroupCount> = fetch_all(
        store.system(),
        Query::select()
            .expr_as(Expr::col(Jobs::State), "key")
            .expr_as(Expr::col(Jobs::Id).count(), "count")
            .from(Jobs::Table)
            .group_by_col(Jobs::State),
    )
    .await?;
    let mut out: BTreeMap<String, i64> = JobState::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    for row in rows {
        out.insert(row.key, row.count);
    }
    Ok(out)
}

/// Stored log rows per level since `since`, across every company.
async fn logs_by_level(store: &Store, since: DateTime<Utc>) -> Result<BTreeMap<String, i64>> {
    let rows: Vec<GroupCount> = fetch_all(
        store.system(),
        Query::select()
            .expr_as(Expr::col(SystemLogs::Level), "key")
            .expr_as(Expr::col(SystemLogs::Id).count(), "count")
            .from(SystemLogs::Table)
            .and_where(Expr::col(SystemLogs::CreatedAt).gte(since))
            .group_by_col(SystemLogs::Level),
    )
    .await?;
    let mut out: BTreeMap<String, i64> = ["warn", "error"]
        .iter()
        .map(|l| ((*l).to_owned(), 0))
        .collect();
    for row in rows {
        out.insert(row.key, row.count);
    }
    Ok(out)
}

/// The database's size on disk in bytes (SQLite: the main file's pages, without the WAL;
/// PostgreSQL: the current database).
pub async fn database_size(store: &Store) -> Result<i64> {
    let (backend, sql) = match store.backend() {
        Backend::Sqlite => (
            DbBackend::Sqlite,
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        ),
        Backend::Postgres => (
            DbBackend::Postgres,
            "SELECT pg_database_size(current_database())::bigint",
        ),
    };
    let row = store
        .system()
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    match row {
        Some(row) => Ok(row.try_get_by_index::<i64>(0)?),
        None => Ok(0),
    }
}
