//! The server-rendered web UI (filled in by the UI work).

use crate::state::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
