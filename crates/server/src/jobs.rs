//! Job queue routes (filled in by the jobs work).

use crate::router::ApiRouter;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
}
