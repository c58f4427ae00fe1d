//! Assembling the application: the `/api/v1` router from every area, the web UI, operations
//! endpoints, and the middleware stack (request id, tracing, security headers, body limit,
//! authentication, rate limits, metrics). Read top to bottom, this file is the whole HTTP surface.

use crate::auth::{self, TokenKeys};
use crate::config::Config;
use crate::error::AppError;
use crate::ratelimit::RateLimiter;
use crate::router::{ApiRouter, RouteInfo};
use crate::state::AppState;
use crate::{
    accounts, api_keys, audit, contacts, jobs, leads, ops, roles, settings, system, teams, users,
    web,
};
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use rivet_domain::Actor;
use rivet_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;

/// JSON bodies larger than this are refused with 413 (uploads have their own limit).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// Every `/api/v1` route, by area.
pub fn api_routes() -> ApiRouter {
    ApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(roles::routes())
        .merge(teams::routes())
        .merge(api_keys::routes())
        .merge(audit::routes())
        .merge(settings::routes())
        .merge(system::routes())
        .merge(jobs::routes())
        .merge(leads::routes())
        .merge(accounts::routes())
        .merge(contacts::routes())
        .merge(crate::pipelines::routes())
        .merge(crate::custom_fields::routes())
        .merge(crate::views::routes())
        .merge(crate::deals::routes())
        .merge(crate::tasks::routes())
        .merge(crate::activities::routes())
        .merge(crate::search::routes())
        .merge(crate::timeline::routes())
        .merge(crate::events::routes())
        .merge(crate::webhooks::routes())
}

/// Routes reachable without signing in. A test checks that this list and the registry agree,
/// so making a route public is a visible decision.
pub const PUBLIC_API_ROUTES: &[(&str, &str)] = &[
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/accept-invitation"),
    ("POST", "/auth/signup"),
];

/// The registry of API routes, for tests and documentation.
pub fn api_route_list() -> Vec<RouteInfo> {
    api_routes().routes().to_vec()
}

/// Build the state: connect, migrate, load or create the token secret, pick the rate limiter.
pub async fn build_state(
    config: Config,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> anyhow::Result<AppState> {
    let url = config.database_url();
    if config.database_url.is_none() {
        create_data_dir(&config.data_dir)?;
    }
    let store = Store::connect(&url, config.db_max_connections)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open the database {}: {e}",
                rivet_store::redact_url(&url)
            )
        })?;
    store.migrate().await?;
    let store = if config.pg_rls {
        store
    } else {
        tracing::warn!("RIVET_PG_RLS=off: row-level security does not bind tenant transactions");
        store.without_row_security()
    };
    crate::logging::attach_store(&url, &store);
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => rivet_store::settings::jwt_secret(&store).await?,
    };
    let limiter = match &config.redis_url {
        Some(url) => RateLimiter::redis(url, &config.redis_prefix, config.rate_limit_disabled)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot connect to Redis at {}: {e}",
                    rivet_store::redact_url(url)
                )
            })?,
        None => RateLimiter::memory(config.rate_limit_disabled),
    };
    if let Some(url) = &config.redis_url {
        crate::ratelimit::share_auth_epoch(&store, url, &config.redis_prefix).await?;
    }
    Ok(AppState::new(crate::state::Shared {
        store,
        config: Arc::new(config),
        keys: TokenKeys::new(secret.as_bytes()),
        limiter,
        metrics,
        started_at: Instant::now(),
        cache: Default::default(),
    }))
}

/// Make the data directory (it holds the SQLite file), saying which setting names it.
fn create_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let problem = if dir.exists() && !dir.is_dir() {
        "it is a file, not a directory".to_owned()
    } else {
        match std::fs::create_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) => format!("cannot create it: {e}"),
        }
    };
    anyhow::bail!(
        "the data directory {:?} (RIVET_DATA_DIR) is not usable: {problem}",
        dir.display().to_string()
    )
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let (api, _, openapi) = api_routes().into_parts();
    let openapi = Arc::new(openapi);
    let api = api
        .fallback(|| async { AppError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    Router::new()
        .nest("/api/v1", api)
        .merge(ops::routes(openapi))
        .merge(web::routes())
        // Fewer layers are faster layers: authentication also applies the rate limits, and the
        // outer layer names the request's id, times it, counts it and sets the security headers.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // After the authentication layer, so it does not take the metrics token for a user's.
        .merge(ops::metrics_route())
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(middleware::from_fn(ops::observe))
        .with_state(state)
}

/// CSP, frame-ancestors, nosniff and referrer policy on every response.
/// The headers every answer carries: a strict CSP (pages that need more set their own), no MIME
/// sniffing, no referrer to other sites, no framing.
pub(crate) fn set_security_headers(headers: &mut axum::http::HeaderMap) {
    const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                       script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
}

/// Per-IP and per-principal limits on every request (sign-in has its own, stricter one); called
/// by the authentication middleware once the caller is known. `Err` is the 429 to answer.
pub(crate) async fn check_rate_limit(
    app: &AppState,
    parts: &axum::http::request::Parts,
    actor: Option<&Actor>,
) -> Result<(), Response> {
    let path = parts.uri.path();
    if app.config.rate_limit_disabled || matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return Ok(());
    }
    let minute = Duration::from_secs(60);
    let ip = auth::client_ip(
        app,
        &parts.headers,
        parts.extensions.get::<ConnectInfo<SocketAddr>>(),
    );
    let principal = actor.map(|a| {
        a.api_key_id
            .map_or_else(|| format!("user:{}", a.user_id), |k| format!("key:{k}"))
    });
    let mut result = app
        .limiter
        .check(&format!("ip:{ip}"), app.config.ip_rate_limit, minute)
        .await;
    if result.is_ok()
        && let Some(principal) = &principal
    {
        result = app
            .limiter
            .check(principal, app.config.user_rate_limit, minute)
            .await;
    }
    result.map_err(|err| {
        tracing::warn!(target: "rivet::security", event = "rate_limited", ip = %ip, principal = principal.as_deref().unwrap_or("-"), "rate limit hit");
        err.into_response()
    })
}
