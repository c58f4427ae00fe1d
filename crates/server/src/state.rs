//! The state every handler shares: the store, the configuration, the token keys, the rate
//! limiter and the metrics recorder. Cheap to clone (everything is behind an `Arc` or a pool).

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::ratelimit::RateLimiter;
use metrics_exporter_prometheus::PrometheusHandle;
use rivet_store::Store;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub keys: Arc<TokenKeys>,
    pub limiter: RateLimiter,
    pub metrics: Option<PrometheusHandle>,
    pub started_at: Instant,
    pub cache: Arc<crate::actor_cache::ActorCache>,
}
