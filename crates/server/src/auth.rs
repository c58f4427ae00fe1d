//! Authentication: passwords (argon2id), access tokens (JWT, HS256), the middleware that turns
//! credentials into an [`Actor`], CSRF for cookie sessions, and the `/auth` routes.
//!
//! A request may carry `Authorization: Bearer <JWT>`, `Authorization: Bearer rvk_…` or
//! `X-Api-Key: rvk_…` (API key), or the web UI's session cookie. Header credentials that do not
//! check out are a 401 at once; a stale cookie is simply ignored (the UI sends it to /login).

use crate::error::AppError;
use crate::extract::{Auth, Json};
use crate::router::{Access, ApiRouter, get, patch, post};
use crate::state::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rivet_domain::{Actor, Email, FieldErrors};
use rivet_store::sessions::{self, Refreshed, SessionKind};
use rivet_store::{companies, users};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::OnceLock;
use utoipa::ToSchema;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "rivet_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";
const LOCKOUT_FAILURES: i32 = 5;
const LOCKOUT_MINUTES: i64 = 15;

// ---------------------------------------------------------------------------------------------
// Passwords

fn argon2() -> Argon2<'static> {
    // One of OWASP's argon2id settings: 46 MiB, 1 pass, 1 lane (as strong as 19 MiB × 2 passes).
    // Above glibc's largest mmap threshold (32 MiB), so the memory of every hash is mapped for
    // it and handed back to the system at once instead of staying resident in an arena.
    let params = Params::new(46 * 1024, 1, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most two password hashes at a time: each needs 46 MiB and a core for tens of
/// milliseconds, so a burst of sign-ins must not take the machine from everything else.
static HASH_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Run a hash on a short-lived thread of its own, off the async workers. A thread start costs
/// microseconds next to the hash's milliseconds.
async fn on_hasher<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _slot = HASH_SLOTS
        .acquire()
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing is shut down")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("rivet-hash".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot start a hashing thread: {e}")))?;
    rx.await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing failed")))
}

/// Hash a password with argon2id (it takes tens of milliseconds, off the async threads).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    on_hasher(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await?
}

/// Check a password against a stored hash; a missing hash still costs one hash so that timing
/// does not reveal whether an account exists.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    on_hasher(move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2()
                .hash_password(b"not a real password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let stored = hash.as_deref().unwrap_or(dummy);
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && hash.is_some()
    })
    .await
    .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// Access tokens

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user.
    sub: Uuid,
    /// The company the token acts in.
    cid: Uuid,
    /// The session (refresh-token family); revoking it ends the token too.
    sid: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
}

const ISSUER: &str = "rivet";

fn issue_access_token(
    keys: &TokenKeys,
    company_id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    ttl_secs: i64,
) -> Result<String, AppError> {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: user_id,
        cid: company_id,
        sid: session_id,
        iat: now,
        exp: now + ttl_secs,
        iss: ISSUER.into(),
    };
    jsonwebtoken::encode(&Header::default(), &claims, &keys.encoding)
        .map_err(|e| AppError::Internal(e.into()))
}

fn decode_access_token(keys: &TokenKeys, token: &str) -> Option<Claims> {
    // Built once: a `Validation` holds sets of claim names, a handful of allocations that every
    // authenticated request would otherwise make again.
    static VALIDATION: std::sync::LazyLock<Validation> = std::sync::LazyLock::new(|| {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        validation
    });
    jsonwebtoken::decode::<Claims>(token, &keys.decoding, &VALIDATION)
        .ok()
        .map(|data| data.claims)
}

// ---------------------------------------------------------------------------------------------
// Middleware

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
) -> Result<Option<crate::actor_cache::Resolved>, AppError> {
    use crate::actor_cache::{CallerKey, Resolved};
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

/// Resolve the caller of every request and enforce CSRF on cookie-authenticated writes.
pub async fn authenticate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let rid = request_id(&parts.headers);
    let credential = credential(&parts.headers);
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
            if wants_html {
                return crate::web::csrf_refused();
            }
            return AppError::Forbidden("missing or invalid CSRF token".into()).into_response();
        }
    }
    if let Err(refused) = crate::app::check_rate_limit(&app, &parts, actor.as_ref()).await {
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
        return (constant_time_eq(token, expected), body);
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
    let ok = token.is_some_and(|t| constant_time_eq(&t, expected));
    (ok, Body::from(bytes))
}

fn form_urlencoded_value(bytes: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Compare secrets in time that depends on their length only, not on where they differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

// ---------------------------------------------------------------------------------------------
// Sign-in, shared by the API and the web UI

/// Why a sign-in failed. Unknown e-mail and wrong password are deliberately the same.
#[derive(Debug)]
pub enum SignInError {
    Invalid,
    Locked { retry_after_secs: u64 },
    NoCompany,
    App(AppError),
}

impl From<SignInError> for AppError {
    fn from(err: SignInError) -> Self {
        match err {
            SignInError::Invalid | SignInError::NoCompany => AppError::Unauthorized,
            SignInError::Locked { retry_after_secs } => {
                AppError::TooManyRequests { retry_after_secs }
            }
            SignInError::App(e) => e,
        }
    }
}

impl From<rivet_store::StoreError> for SignInError {
    fn from(err: rivet_store::StoreError) -> Self {
        Self::App(err.into())
    }
}

/// Check an e-mail and password and pick the company: the one asked for, or the first active
/// membership. Counts failures and locks the account after five in fifteen minutes.
pub async fn sign_in(
    app: &AppState,
    email: &str,
    password: &str,
    company: Option<Uuid>,
) -> Result<(Uuid, Uuid), SignInError> {
    let login = match Email::parse(email) {
        Ok(email) => users::find_login(&app.store, &email).await?,
        Err(_) => None,
    };
    let Some(login) = login else {
        verify_password(password.to_owned(), None).await;
        tracing::warn!(target: "rivet::security", event = "login_failed", reason = "unknown_account", "sign-in failed");
        // Unknown addresses "lock" after the same number of failures as real accounts, so the
        // answers do not reveal which accounts exist.
        let key = format!("login-failures:{}", email.trim().to_lowercase());
        let window =
            std::time::Duration::from_secs(u64::try_from(LOCKOUT_MINUTES * 60).unwrap_or(900));
        let allowed = u32::try_from(LOCKOUT_FAILURES - 1).unwrap_or(4);
        if app.limiter.check(&key, allowed, window).await.is_err() {
            return Err(SignInError::Locked {
                retry_after_secs: window.as_secs(),
            });
        }
        return Err(SignInError::Invalid);
    };
    let now = chrono::Utc::now();
    if let Some(until) = login.locked_until.filter(|u| *u > now) {
        tracing::warn!(target: "rivet::security", event = "login_locked", user_id = %login.id, "sign-in refused: account locked");
        return Err(SignInError::Locked {
            retry_after_secs: u64::try_from((until - now).num_seconds())
                .unwrap_or(1)
                .max(1),
        });
    }
    if !verify_password(password.to_owned(), login.password_hash.clone()).await {
        let locked = users::record_failed_login(
            &app.store,
            &login,
            LOCKOUT_FAILURES,
            Duration::minutes(LOCKOUT_MINUTES),
            Duration::minutes(LOCKOUT_MINUTES),
        )
        .await?;
        tracing::warn!(target: "rivet::security", event = "login_failed", user_id = %login.id, reason = "wrong_password", "sign-in failed");
        if locked.is_some() {
            tracing::warn!(target: "rivet::security", event = "account_locked", user_id = %login.id, "account locked after repeated failures");
            return Err(SignInError::Locked {
                retry_after_secs: u64::try_from(LOCKOUT_MINUTES * 60).unwrap_or(900),
            });
        }
        return Err(SignInError::Invalid);
    }
    if login.failed_logins > 0 || login.locked_until.is_some() {
        users::reset_failed_logins(&app.store, login.id).await?;
    }
    let memberships = users::memberships_of(&app.store, login.id).await?;
    let chosen = match company {
        Some(id) => memberships.iter().find(|m| m.company_id == id && m.active),
        None => memberships.iter().find(|m| m.active),
    };
    match chosen {
        Some(m) => Ok((m.company_id, login.id)),
        None => Err(SignInError::NoCompany),
    }
}

// ---------------------------------------------------------------------------------------------
// Routes

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The company to sign in to (id); default: the first one the user belongs to.
    #[schema(value_type = Option<Uuid>)]
    pub company: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub company_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchCompanyRequest {
    pub company_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub company_name: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password the caller signs in with now.
    pub current_password: String,
    /// The new password; the installation's password policy applies.
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: users::Member,
    pub company: companies::Company,
    pub companies: Vec<users::CompanyMembership>,
    pub permissions: Vec<rivet_store::roles::Grant>,
    pub is_system_admin: bool,
    pub api_key_id: Option<Uuid>,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            post("/auth/login", Access::Public)
                .doc("auth", "Sign in with e-mail and password")
                .body::<LoginRequest>()
                .returns::<TokenResponse>(),
            login,
        )
        .add(
            post("/auth/refresh", Access::Public)
                .doc("auth", "Exchange a refresh token for new tokens (rotation)")
                .body::<RefreshRequest>()
                .returns::<TokenResponse>(),
            refresh,
        )
        .add(
            post("/auth/logout", Access::Authenticated)
                .doc("auth", "End the current session")
                .status(204),
            logout,
        )
        .add(
            post("/auth/switch-company", Access::Authenticated)
                .doc(
                    "auth",
                    "Get tokens for another company the caller belongs to",
                )
                .body::<SwitchCompanyRequest>()
                .returns::<TokenResponse>(),
            switch_company,
        )
        .add(
            post("/auth/accept-invitation", Access::Public)
                .doc("auth", "Set a password from an invitation link")
                .body::<AcceptInvitationRequest>()
                .status(204),
            accept_invitation,
        )
        .add(
            post("/auth/signup", Access::Public)
                .doc(
                    "auth",
                    "Create a new company and its admin (when the system settings allow sign-up)",
                )
                .body::<SignupRequest>()
                .returns::<TokenResponse>()
                .status(201),
            signup,
        )
        .add(
            get("/me", Access::Authenticated)
                .doc(
                    "auth",
                    "The caller, their company, companies and permissions",
                )
                .returns::<MeResponse>(),
            me,
        )
        .add(
            patch("/me", Access::Authenticated)
                .doc("auth", "Change the caller's own name")
                .body::<UpdateMeRequest>()
                .returns::<users::Member>(),
            update_me,
        )
        .add(
            post("/me/password", Access::Authenticated)
                .doc(
                    "auth",
                    "Change the caller's password (the current one is asked); every other session of theirs ends",
                )
                .body::<ChangePasswordRequest>()
                .status(204),
            change_password_route,
        )
        .add(
            post("/me/sign-out-others", Access::Authenticated)
                .doc("auth", "End every session of the caller but this one")
                .status(204),
            sign_out_others_route,
        )
}

async fn tokens(
    app: &AppState,
    company_id: Uuid,
    user_id: Uuid,
) -> Result<TokenResponse, AppError> {
    let settings = rivet_store::settings::get_system(&app.store).await?;
    let session = sessions::open(
        &app.store,
        company_id,
        user_id,
        SessionKind::Api,
        Duration::seconds(i64::from(settings.refresh_token_ttl_seconds)),
    )
    .await?;
    let ttl = i64::from(settings.access_token_ttl_seconds);
    Ok(TokenResponse {
        access_token: issue_access_token(&app.keys, company_id, user_id, session.id, ttl)?,
        refresh_token: session.token,
        token_type: "Bearer",
        expires_in: ttl,
        company_id,
    })
}

async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    if let Err(e) = app
        .limiter
        .check(
            &format!("login:{ip}"),
            app.config.login_rate_limit,
            std::time::Duration::from_secs(60),
        )
        .await
    {
        tracing::warn!(target: "rivet::security", event = "rate_limited", scope = "login", ip = %ip, "sign-in rate limit hit");
        return Err(e);
    }
    let company = match body.company.as_deref() {
        Some(text) => Some(
            Uuid::parse_str(text)
                .map_err(|_| AppError::field("company", "must be a company id"))?,
        ),
        None => None,
    };
    let (company_id, user_id) = sign_in(&app, &body.email, &body.password, company).await?;
    Ok(Json(tokens(&app, company_id, user_id).await?))
}

async fn refresh(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    app.limiter
        .check(
            &format!("public:{ip}"),
            app.config.public_rate_limit.max(60),
            std::time::Duration::from_secs(60),
        )
        .await?;
    match sessions::refresh(&app.store, &body.refresh_token).await? {
        Refreshed::Rotated {
            company_id,
            user_id,
            session_id,
            token,
        } => {
            // A deactivated member's session was revoked; this also catches a race with that.
            let Some(_) =
                sessions::load_actor(&app.store, company_id, user_id, Some(session_id), None)
                    .await?
            else {
                return Err(AppError::Unauthorized);
            };
            let settings = rivet_store::settings::get_system(&app.store).await?;
            let ttl = i64::from(settings.access_token_ttl_seconds);
            Ok(Json(TokenResponse {
                access_token: issue_access_token(&app.keys, company_id, user_id, session_id, ttl)?,
                refresh_token: token,
                token_type: "Bearer",
                expires_in: ttl,
                company_id,
            }))
        }
        Refreshed::Reused {
            company_id,
            user_id,
        } => {
            tracing::warn!(
                target: "rivet::security",
                event = "refresh_token_reused",
                company_id = %company_id,
                user_id = %user_id,
                "a used refresh token was presented again; its session is revoked"
            );
            Err(AppError::Unauthorized)
        }
        Refreshed::Invalid => Err(AppError::Unauthorized),
    }
}

async fn signup(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SignupRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), AppError> {
    app.limiter
        .check(
            &format!("public:{ip}"),
            app.config.public_rate_limit,
            std::time::Duration::from_secs(60),
        )
        .await?;
    let settings = rivet_store::settings::get_system(&app.store).await?;
    if !settings.allow_signup {
        return Err(AppError::Forbidden(
            "sign-up is disabled on this installation".into(),
        ));
    }
    let created = crate::bootstrap::create_company(
        &app.store,
        &body.company_name,
        &body.email,
        &body.password,
        false,
    )
    .await
    .map_err(|e| match e {
        AppError::Validation(mut errors) => {
            for error in &mut errors.0 {
                error.field = match error.field.as_str() {
                    "name" => "company_name".into(),
                    "admin_email" => "email".into(),
                    "admin_password" => "password".into(),
                    other => other.into(),
                };
            }
            AppError::Validation(errors)
        }
        AppError::Conflict { field, message } if field == "admin_email" => AppError::Conflict {
            field: "email".into(),
            message,
        },
        other => other,
    })?;
    tracing::info!(company_id = %created.company_id, "a new company signed up");
    Ok((
        StatusCode::CREATED,
        Json(tokens(&app, created.company_id, created.admin_user_id).await?),
    ))
}

async fn logout(State(app): State<AppState>, Auth(actor): Auth) -> Result<StatusCode, AppError> {
    sessions::revoke(&app.store, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn switch_company(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<SwitchCompanyRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    if actor.api_key_id.is_some() {
        return Err(AppError::Forbidden(
            "an API key belongs to one company".into(),
        ));
    }
    let target = Uuid::parse_str(&body.company_id)
        .map_err(|_| AppError::field("company_id", "must be a company id"))?;
    let memberships = users::memberships_of(&app.store, actor.user_id).await?;
    if !memberships
        .iter()
        .any(|m| m.company_id == target && m.active)
    {
        return Err(AppError::NotFound);
    }
    Ok(Json(tokens(&app, target, actor.user_id).await?))
}

async fn accept_invitation(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<AcceptInvitationRequest>,
) -> Result<StatusCode, AppError> {
    app.limiter
        .check(
            &format!("public:{ip}"),
            app.config.public_rate_limit,
            std::time::Duration::from_secs(60),
        )
        .await?;
    accept_invitation_with(&app, &body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set the password of an invited user (API and web form).
pub async fn accept_invitation_with(
    app: &AppState,
    token: &str,
    password: &str,
) -> Result<(Uuid, Uuid), AppError> {
    let settings = rivet_store::settings::get_system(&app.store).await?;
    let mut errors = FieldErrors::new();
    errors.check("password", settings.check_password(password));
    errors.into_result()?;
    let hash = hash_password(password.to_owned()).await?;
    rivet_store::users::accept_invitation(&app.store, token, &hash)
        .await
        .map_err(|e| match e {
            rivet_store::StoreError::NotFound => {
                AppError::field("token", "is invalid or has expired")
            }
            other => other.into(),
        })
}

async fn me(State(app): State<AppState>, Auth(actor): Auth) -> Result<Response, AppError> {
    let key = (actor.company_id, actor.user_id, actor.api_key_id);
    let epoch = app.store.auth_epoch();
    let body = match app.cache.me.get(&key, epoch) {
        Some(body) => body,
        None => {
            let read_in = epoch.current();
            let (user, company, companies) = tokio::try_join!(
                users::me(&app.store, &actor),
                companies::get(&app.store, &actor),
                users::memberships_of(&app.store, actor.user_id),
            )?;
            let me = MeResponse {
                user,
                company,
                companies,
                permissions: permissions_of(&actor),
                is_system_admin: actor.is_system_admin,
                api_key_id: actor.api_key_id,
            };
            let body = bytes::Bytes::from(
                serde_json::to_vec(&me).map_err(|e| AppError::Internal(e.into()))?,
            );
            app.cache.me.put(key, body.clone(), read_in);
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A person's own account is changed by the person, signed in: an API key acts for a company
/// and has no password or name of its own to change.
fn require_person(actor: &Actor) -> Result<(), AppError> {
    if actor.api_key_id.is_some() {
        return Err(AppError::Forbidden(
            "an API key cannot change a person's account".into(),
        ));
    }
    Ok(())
}

/// Change the caller's name (API and profile page).
pub async fn rename_me(
    app: &AppState,
    actor: &Actor,
    name: &str,
) -> Result<users::Member, AppError> {
    require_person(actor)?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", rivet_domain::validate::parse_name(name, 200));
    errors.into_result()?;
    let Some(name) = name else {
        return Err(AppError::field("name", "must not be empty"));
    };
    Ok(users::rename_me(&app.store, actor, &name).await?)
}

async fn update_me(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<UpdateMeRequest>,
) -> Result<Json<users::Member>, AppError> {
    match body.name {
        Some(name) => Ok(Json(rename_me(&app, &actor, &name).await?)),
        None => {
            require_person(&actor)?;
            Ok(Json(users::me(&app.store, &actor).await?))
        }
    }
}

/// Change the caller's password (API and profile page): the current password must be right
/// (checked under a per-person rate limit, like sign-in, so a stolen session cannot guess it)
/// and the new one must meet the policy. Every other session of the person ends, in every
/// company; the one making the change stays. Returns how many sessions ended.
pub async fn change_password(
    app: &AppState,
    actor: &Actor,
    current: &str,
    new: &str,
) -> Result<u64, AppError> {
    require_person(actor)?;
    if let Err(e) = app
        .limiter
        .check(
            &format!("password-change:{}", actor.user_id),
            app.config.login_rate_limit,
            std::time::Duration::from_secs(60),
        )
        .await
    {
        tracing::warn!(target: "rivet::security", event = "rate_limited", scope = "password_change", user_id = %actor.user_id, "password change rate limit hit");
        return Err(e);
    }
    let settings = rivet_store::settings::get_system(&app.store).await?;
    let hash = users::password_hash_of(&app.store, actor).await?;
    let mut errors = FieldErrors::new();
    if !verify_password(current.to_owned(), hash).await {
        tracing::warn!(target: "rivet::security", event = "password_change_failed", user_id = %actor.user_id, reason = "wrong_password", "password change refused");
        errors.add("current_password", "is not correct");
    }
    errors.check("new_password", settings.check_password(new));
    if !errors.0.iter().any(|e| e.field == "new_password") && new == current {
        errors.add("new_password", "must differ from the current password");
    }
    errors.into_result()?;
    let hash = hash_password(new.to_owned()).await?;
    let ended = users::change_password(&app.store, actor, &hash).await?;
    tracing::info!(target: "rivet::security", event = "password_changed", user_id = %actor.user_id, sessions_ended = ended, "password changed");
    Ok(ended)
}

async fn change_password_route(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<StatusCode, AppError> {
    change_password(&app, &actor, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End the caller's other sessions (API and profile page). Returns how many ended.
pub async fn sign_out_others(app: &AppState, actor: &Actor) -> Result<u64, AppError> {
    require_person(actor)?;
    Ok(sessions::revoke_others(&app.store, actor).await?)
}

async fn sign_out_others_route(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<StatusCode, AppError> {
    sign_out_others(&app, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn permissions_of(actor: &Actor) -> Vec<rivet_store::roles::Grant> {
    actor
        .permissions
        .grants()
        .map(|(resource, action, scope)| rivet_store::roles::Grant {
            resource,
            action,
            scope,
        })
        .collect()
}

/// Open a web session for the UI; returns the `Set-Cookie` value.
pub async fn open_web_session(
    app: &AppState,
    company_id: Uuid,
    user_id: Uuid,
) -> Result<String, AppError> {
    let session = sessions::open(
        &app.store,
        company_id,
        user_id,
        SessionKind::Web,
        Duration::hours(12),
    )
    .await?;
    Ok(session_cookie(app, &session.token, 12 * 3600))
}

/// The `Set-Cookie` value for a session token (`max_age` 0 clears it).
pub fn session_cookie(app: &AppState, token: &str, max_age: i64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if app.config.cookie_secure {
            "; Secure"
        } else {
            ""
        }
    )
}
