//! Housekeeping run by the daily `maintenance.prune` job: stored logs past the retention the
//! system settings name, domain events every consumer has applied and settled webhook
//! deliveries past the event retention they name, ended sessions and refresh tokens,
//! long-finished jobs and expired export files. Only deletions of data whose use is over; nothing here touches a company's
//! records.

use crate::{Result, Store, now};
use chrono::Duration;
use serde::Serialize;

/// Ended sessions are kept this long so that a replayed refresh token is still recognised as
/// reuse (and revokes its family) for a while, rather than simply unknown.
pub const SESSION_KEEP: Duration = Duration::days(7);

/// Succeeded and cancelled jobs are kept this long for the jobs page; dead ones stay.
pub const FINISHED_JOB_KEEP: Duration = Duration::days(30);

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PruneReport {
    pub system_logs: u64,
    pub events: u64,
    pub webhook_deliveries: u64,
    pub sessions_and_tokens: u64,
    pub jobs: u64,
    pub exports: u64,
}

/// One maintenance pass: logs older than `log_retention_days`, events and settled webhook
/// deliveries older than `event_retention_days` (an event only once every consumer has applied
/// it, `crate::events::prune`), sessions and refresh tokens
/// ended more than [`SESSION_KEEP`] ago, jobs finished more than [`FINISHED_JOB_KEEP`] ago,
/// exports past their expiry (`crate::exports`); then the planner statistics are refreshed ([`Store::refresh_statistics`]).
pub async fn prune(store: &Store) -> Result<PruneReport> {
    let settings = crate::settings::get_system(store).await?;
    let at = now();
    let system_logs = crate::logs::prune(
        store,
        at - Duration::days(i64::from(settings.log_retention_days)),
    )
    .await?;
    let kept_from = at - Duration::days(i64::from(settings.event_retention_days));
    let events = crate::events::prune(store, kept_from).await?;
    let webhook_deliveries = crate::webhooks::prune_deliveries(store, kept_from).await?;
    let sessions_and_tokens = crate::sessions::prune(store, SESSION_KEEP).await?;
    let jobs = crate::jobs::prune_finished(store, at - FINISHED_JOB_KEEP).await?;
    let exports = crate::exports::prune_expired(store, at).await?;
    store.refresh_statistics().await?;
    Ok(PruneReport {
        system_logs,
        events,
        webhook_deliveries,
        sessions_and_tokens,
        jobs,
        exports,
    })
}
