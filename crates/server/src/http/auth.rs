//! Authentication middleware: turns a request's credentials into an [`Actor`], enforces CSRF on
//! cookie-authenticated writes and applies the rate limits once the caller is known.
//!
//! A request may carry `Authorization: Bearer <JWT>`, `Authorization: Bearer rvk_…` or
//! `X-Api-Key: rvk_…` (API key), or the web UI's session cookie. Header credentials that do not
//! check out are a 401 at once; a stale cookie is simply ignored (the UI sends it to /login).

use crate::http::error::AppError;
use crate::http::tokens::decode_access_token;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rivet_domain::Actor;
use rivet_store::sessions::{self};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "rivet_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";

/// Set on requests authenticated by the web session cookie; the UI reads the CSRF token here.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub csrf_token: String,
}

/// The client's address as an extractor.
pub struct ClientIp(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &AppState,
    ) -> Result<Self, AppError> {
        Ok(Self(client_ip(
            app,
            &parts.headers,
            parts.extensions.get::<ConnectInfo<SocketAddr>>(),
        )))
    }
}

/// The client's address, for rate limits and logs.
pub fn client_ip(
    app: &AppState,
    headers: &HeaderMap,
    connect: Option<&ConnectInfo<SocketAddr>>,
) -> String {
    if app.config.trust_proxy
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return forwarded.trim().to_owned();
    }
    connect
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

enum Credential {
    Jwt(String),
    ApiKey(String),
    Cookie(String),
    None,
}

fn credential(headers: &HeaderMap) -> Credential {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or("")
            .trim()
            .to_owned();
        return if token.starts_with(rivet_store::api_keys::KEY_PREFIX) {
            Credential::ApiKey(token)
        } else {
            Credential::Jwt(token)
        };
    }
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Credential::ApiKey(key.trim().to_owned());
    }
    match cookie_value(headers, SESSION_COOKIE) {
        Some(cookie) => Credential::Cookie(cookie),
        None => Credential::None,
    }
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn unauthorized() -> Response {
    let mut response = AppError::Unauthorized.into_response();
    if let Ok(value) = header::HeaderValue::from_str("Bearer realm=\"rivet\"") {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Resolve a credential to its caller, through the cache. `Ok(None)`: the credential is not
/// (or no longer) valid.
async fn resolve(
    app: &AppState,
    credential: &Credential,
) -> Result<Option<crate::http::actor_cache::Resolved>, AppError> {
    use crate::http::actor_cache::{CallerKey, Resolved};
    let key = match credential {
        Credential::None => return Ok(None),
        // An access token is cached under itself, and only once its signature has been checked:
        // the same string carries the same signature. Its expiry is checked on every use.
        Credential::Jwt(token) => CallerKey::Token(token.clone()),
        Credential::ApiKey(key) => CallerKey::ApiKey(sessions::hash_token(key)),
        Credential::Cookie(cookie) => CallerKey::Cookie(sessions::hash_token(cookie)),
    };
    let epoch = app.store.auth_epoch();
    if let Some(hit) = app.cache.callers.get(&key, epoch) {
        let now = chrono::Utc::now().timestamp();
        if hit.expires_at.is_none_or(|exp| exp >= now) {
            return Ok(Some(hit));
        }
        return Ok(None);
    }
    let read_in = epoch.current();
    let resolved = match credential {
        Credential::None => None,
        Credential::Jwt(token) => match decode_access_token(&app.keys, token) {
            Some(claims) => {
                sessions::load_actor(&app.store, claims.cid, claims.sub, Some(claims.sid), None)
                    .await?
                    .map(|actor| Resolved {
                        actor,
                        csrf_token: None,
                        expires_at: Some(claims.exp),
                    })
            }
            None => None,
        },
        Credential::ApiKey(secret) => rivet_store::api_keys::authenticate(&app.store, secret)
            .await?
            .map(|actor| Resolved {
                actor,
                csrf_token: None,
                expires_at: None,
            }),
        Credential::Cookie(cookie) => match sessions::find_web(&app.store, cookie).await? {
            Some((company, session, user, csrf)) => {
                sessions::load_actor(&app.store, company, user, Some(session), None)
                    .await?
                    .map(|actor| Resolved {
                        actor,
                        csrf_token: Some(csrf),
                        expires_at: None,
                    })
            }
            None => None,
        },
    };
    if let Some(resolved) = &resolved {
        app.cache.callers.put(key, resolved.clone(), read_in);
    }
    Ok(resolved)
}

/// Marks the 403 of a write whose CSRF token is missing or stale, so the application can answer
/// a browser's form post with a page instead (`crate::app`, which knows the web UI).
#[derive(Debug, Clone, Copy)]
pub struct CsrfRefused {
    /// The request accepted `text/html`.
    pub wants_html: bool,
}

/// Web-to-lead forms (`crate::web::lead_forms`): posted by visitors of other sites, never as a
/// signed-in user, so their requests' cookies and tokens are not read (nor CSRF asked for).
pub const PUBLIC_FORMS: &str = "/f/";

/// E-mail tracking links (`crate::web::tracking`): opened from mail clients and posted by them
/// (RFC 8058 one-click unsubscribe), never as a signed-in user: no cookie or CSRF token is read.
pub const TRACKING_LINKS: &str = "/t/";

/// Resolve the caller of every request and enforce CSRF on cookie-authenticated writes.
pub async fn authenticate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let rid = request_id(&parts.headers);
    let path = parts.uri.path();
    let credential = if path.starts_with(PUBLIC_FORMS) || path.starts_with(TRACKING_LINKS) {
        Credential::None
    } else {
        credential(&parts.headers)
    };
    let resolved = match resolve(&app, &credential).await {
        Ok(resolved) => resolved,
        Err(err) => return err.into_response(),
    };
    let mut web_session = None;
    let actor = match (&credential, resolved) {
        (Credential::None, _) => None,
        // A stale cookie is not an error: the UI sends its owner to the sign-in page.
        (Credential::Cookie(_), None) => None,
        (_, None) => return unauthorized(),
        (_, Some(resolved)) => {
            if let Some(csrf_token) = resolved.csrf_token {
                web_session = Some(WebSession { csrf_token });
            }
            if let (Some(id), Credential::ApiKey(_)) = (resolved.actor.api_key_id, &credential)
                && app.cache.should_touch_key(id)
            {
                let store = app.store.clone();
                let company = resolved.actor.company_id;
                tokio::spawn(async move {
                    if let Err(e) = rivet_store::api_keys::touch(&store, company, id).await {
                        tracing::debug!(error = %e, "could not record API key use");
                    }
                });
            }
            Some(resolved.actor)
        }
    };
    let mut body = body;
    if let Some(session) = &web_session
        && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
    {
        let (ok, restored) = csrf_ok(&parts.headers, body, &session.csrf_token).await;
        body = restored;
        if !ok {
            tracing::warn!(
                target: "rivet::security",
                event = "csrf_rejected",
                path = %parts.uri.path(),
                "state-changing request without a valid CSRF token"
            );
            let wants_html = parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
            let mut refused =
                AppError::Forbidden("missing or invalid CSRF token".into()).into_response();
            refused.extensions_mut().insert(CsrfRefused { wants_html });
            return refused;
        }
    }
    if let Err(refused) = check_rate_limit(&app, &parts, actor.as_ref()).await {
        return refused;
    }
    if let Some(mut actor) = actor {
        actor.request_id = rid;
        parts.extensions.insert(actor);
    }
    if let Some(session) = web_session {
        parts.extensions.insert(session);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The CSRF token must come back in the `X-CSRF-Token` header or, for a form post, in the
/// `csrf_token` field. The body is read (up to 1 MiB) and handed back for the handler.
async fn csrf_ok(headers: &HeaderMap, body: Body, expected: &str) -> (bool, Body) {
    if let Some(token) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return (crate::password::constant_time_eq(token, expected), body);
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (false, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (false, Body::empty());
    };
    let token = form_urlencoded_value(&bytes, CSRF_FIELD);
    let ok = token.is_some_and(|t| crate::password::constant_time_eq(&t, expected));
    (ok, Body::from(bytes))
}

fn form_urlencoded_value(bytes: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Per-IP and per-principal limits on every request (sign-in has its own, stricter one); called
/// by the authentication middleware once the caller is known. `Err` is the 429 to answer.
async fn check_rate_limit(
    app: &AppState,
    parts: &axum::http::request::Parts,
    actor: Option<&Actor>,
) -> Result<(), Response> {
    let path = parts.uri.path();
    if app.config.rate_limit_disabled || matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return Ok(());
    }
    let minute = std::time::Duration::from_secs(60);
    let ip = client_ip(
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
