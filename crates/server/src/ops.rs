//! Operations endpoints: `/healthz` (alive), `/readyz` (database answers), `/metrics`
//! (Prometheus; open on loopback, else behind `RIVET_METRICS_TOKEN`), the OpenAPI document and
//! its offline viewer at `/api/docs`.

use crate::config::MetricsAccess;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Instant;
use tracing::Instrument;

/// `openapi` is the document as served (see `ApiRouter::into_parts`).
pub fn routes(openapi: Arc<serde_json::Value>) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { Json(openapi.as_ref().clone()) }
            }),
        )
        .merge(crate::api::docs::routes())
}

async fn readyz(State(app): State<AppState>) -> Response {
    if app.store.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// `/metrics`, routed outside the authentication layer: its bearer token is the metrics token,
/// not a user's access token.
pub fn metrics_route() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(app): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(handle) = &app.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are not enabled").into_response();
    };
    match app.config.metrics_access() {
        MetricsAccess::Open => {}
        MetricsAccess::Closed => {
            return (
                StatusCode::NOT_FOUND,
                "metrics are served on a loopback address only, unless RIVET_METRICS_TOKEN is set",
            )
                .into_response();
        }
        MetricsAccess::Token(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !crate::password::constant_time_eq(given.trim(), token) {
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
                    "send Authorization: Bearer <RIVET_METRICS_TOKEN>",
                )
                    .into_response();
            }
        }
    }
    crate::api::system::record_gauges(&app).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// The outer middleware of every request: names its request id (the caller's `x-request-id`, or
/// a new UUID) on the request and on the answer, runs it in a `request` span (when stdout logging
/// wants one) with that id as the id of the log records it writes, counts it by route and status,
/// times it, and sets the security headers on the answer. One layer instead of four.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let start = Instant::now();
    // A clone of the matched path shares the router's string.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let method: &'static str = match *request.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    let given = request
        .headers()
        .get(REQUEST_ID)
        .filter(|v| v.to_str().is_ok_and(|s| !s.is_empty()))
        .cloned();
    let id_header = match given {
        Some(value) => value,
        None => {
            let made = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            request.headers_mut().insert(REQUEST_ID, made.clone());
            made
        }
    };
    let request_id: Arc<str> = id_header.to_str().unwrap_or("").into();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id
    );
    let mut response = crate::logging::with_request_id(request_id, next.run(request))
        .instrument(span)
        .await;
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, id_header);
    crate::http::headers::set_security_headers(headers);
    let status = response.status();
    let status: &'static str = status
        .canonical_reason()
        .map_or("other", |_| status_label(status.as_u16()));
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let (requests, duration) = request_metrics(method, route, status);
    requests.increment(1);
    duration.record(start.elapsed().as_secs_f64());
    response
}

/// The header that carries a request's id, in and out.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request counter and duration histogram of one method, route and status.
type RequestMetrics = (metrics::Counter, metrics::Histogram);

/// The metrics of `method route` answered with `status`, registered on first use and kept: a
/// metric's key is a list of labels that `counter!` would build and look up in the recorder on
/// every request. Routes are the router's (a bounded set; every unknown path is "unmatched").
fn request_metrics(method: &'static str, route: &str, status: &'static str) -> RequestMetrics {
    type ByRoute = HashMap<Arc<str>, HashMap<(&'static str, &'static str), RequestMetrics>>;
    static KNOWN: LazyLock<RwLock<ByRoute>> = LazyLock::new(Default::default);
    if let Ok(known) = KNOWN.read()
        && let Some(found) = known.get(route).and_then(|m| m.get(&(method, status)))
    {
        return found.clone();
    }
    let label = route.to_owned();
    let made = (
        metrics::counter!("http_requests_total", "method" => method, "route" => label.clone(), "status" => status),
        metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => label),
    );
    if let Ok(mut known) = KNOWN.write() {
        known
            .entry(Arc::from(route))
            .or_default()
            .insert((method, status), made.clone());
    }
    made
}

/// The status code as a static label (the codes Rivet answers with; others are "other").
fn status_label(code: u16) -> &'static str {
    match code {
        200 => "200",
        201 => "201",
        204 => "204",
        301 => "301",
        302 => "302",
        303 => "303",
        304 => "304",
        307 => "307",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => "other",
    }
}

/// The process-wide Prometheus recorder, installed on first use (a process has one recorder).
pub fn metrics_handle() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}
