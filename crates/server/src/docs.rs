//! `/api/docs`: the OpenAPI viewer, served from assets embedded in the binary (filled in by the
//! system work).

use crate::state::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
