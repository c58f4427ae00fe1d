//! System logs, statistics and settings routes (filled in by the system work).

use crate::router::ApiRouter;
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
}

/// Refresh gauges (database pool, jobs by state) before `/metrics` renders.
pub async fn record_gauges(_app: &AppState) {}
