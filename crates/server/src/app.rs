//! Assembling the application: the `/api/v1` router from every area, the web UI, operations
//! endpoints, and the middleware stack (request id, tracing, security headers, body limit,
//! authentication, rate limits, metrics). With `crate::api::api_routes` (every API route) and
//! `crate::web::routes` (every page), this file is the whole HTTP surface.

use crate::api::api_routes;
use crate::config::Config;
use crate::http::auth::{self, CsrfRefused};
use crate::http::error::AppError;
use crate::http::ratelimit::RateLimiter;
use crate::http::tokens::TokenKeys;
use crate::state::AppState;
use crate::{ops, web};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use rivet_domain::secrets::SecretKey;
use rivet_store::Store;
use std::sync::Arc;
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;

pub use crate::http::router::MAX_JSON_BODY;

/// Connect to the configured database (making the data directory for the embedded one) and
/// bring its schema up to date. All `rivet migrate` needs; [`build_state`] starts with it.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
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
    Ok(store)
}

/// Build the state: connect, migrate, load or create the token secret, pick the rate limiter.
pub async fn build_state(
    config: Config,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> anyhow::Result<AppState> {
    let url = config.database_url();
    let store = open_store(&config).await?;
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
    let secrets = secret_key(&config)?;
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
        crate::http::ratelimit::share_auth_epoch(&store, url, &config.redis_prefix).await?;
    }
    Ok(AppState::new(crate::state::Shared {
        store,
        config: Arc::new(config),
        keys: TokenKeys::new(secret.as_bytes()),
        secrets,
        limiter,
        metrics,
        started_at: Instant::now(),
        cache: Default::default(),
        smtp: Default::default(),
    }))
}

/// The key that seals stored secrets: `RIVET_SECRET_KEY`, or the key file in the data
/// directory, made on the first start. Instances that share a PostgreSQL database must share
/// the key, so there the file is a fallback that [`warn_unshared_key`] warns about.
fn secret_key(config: &Config) -> anyhow::Result<SecretKey> {
    if let Some(text) = &config.secret_key {
        return SecretKey::from_base64(text).map_err(|e| anyhow::anyhow!("RIVET_SECRET_KEY: {e}"));
    }
    let path = config.data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => SecretKey::from_base64(&text)
            .map_err(|e| anyhow::anyhow!("the key file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_data_dir(&config.data_dir)?;
            let key = SecretKey::generate();
            write_private(&path, &key.to_base64()).map_err(|e| {
                anyhow::anyhow!("cannot write the key file {}: {e}", path.display())
            })?;
            tracing::info!(path = %path.display(), "generated the key that seals stored secrets; back it up with the database");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!(
            "cannot read the key file {}: {e}",
            path.display()
        )),
    }
}

/// Say, when a server or worker starts on PostgreSQL without `RIVET_SECRET_KEY`, that its
/// sealing key is a file of this instance (one-off commands stay quiet: their output is read).
pub fn warn_unshared_key(state: &AppState) {
    if state.config.secret_key.is_none() && state.store.backend() == rivet_store::Backend::Postgres
    {
        tracing::warn!(
            path = %state.config.data_dir.join("secret.key").display(),
            "RIVET_SECRET_KEY is not set: stored secrets are sealed with a key file of this instance; set the same RIVET_SECRET_KEY on every instance"
        );
    }
}

/// Write `text` to a new file only its owner may read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
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
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        // After the authentication layer, so it does not take the metrics token for a user's.
        .merge(ops::metrics_route())
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(middleware::from_fn(ops::observe))
        .with_state(state)
}

/// The authentication middleware, with the refusal of a browser's form post whose CSRF token is
/// missing or stale answered as a page of the web UI rather than problem+json.
async fn authenticate(
    state: axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let response = auth::authenticate(state, request, next).await;
    match response.extensions().get::<CsrfRefused>() {
        Some(refused) if refused.wants_html => web::csrf_refused(),
        _ => response,
    }
}
