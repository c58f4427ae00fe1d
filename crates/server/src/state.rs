//! The state every handler shares: the store, the configuration, the token keys, the rate
//! limiter, the metrics recorder and the caller caches — behind one `Arc`, because axum clones the
//! state for every middleware and handler of every request, and one reference count is far cheaper
//! than a dozen on a busy machine.

use crate::config::Config;
use crate::http::actor_cache::ActorCache;
use crate::http::ratelimit::RateLimiter;
use crate::http::tokens::TokenKeys;
use metrics_exporter_prometheus::PrometheusHandle;
use rivet_store::Store;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub config: Arc<Config>,
    pub keys: TokenKeys,
    /// Seals and opens secrets at rest (SMTP passwords, access tokens).
    pub secrets: rivet_domain::secrets::SecretKey,
    pub limiter: RateLimiter,
    pub metrics: Option<PrometheusHandle>,
    pub started_at: Instant,
    pub cache: ActorCache,
    /// SMTP connections kept open between a company's messages (`crate::mail`).
    pub smtp: crate::smtp::Connections,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The limit of a public door (a webhook, a tracking link, the inbound e-mail endpoint):
    /// per client address, the configured public limit a minute (at least 60, since a mail
    /// client or a provider's burst comes from one address).
    pub async fn public_door(&self, ip: &str) -> Result<(), crate::http::error::AppError> {
        self.limiter
            .check(
                &format!("public:{ip}"),
                self.config.public_rate_limit.max(60),
                std::time::Duration::from_secs(60),
            )
            .await
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
