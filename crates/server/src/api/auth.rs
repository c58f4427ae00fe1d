//! `/auth` and `/me`: sign-in (shared with the web UI), token refresh, sign-up, invitations,
//! switching company, the caller's own profile and password.

use crate::http::auth::{ClientIp, SESSION_COOKIE};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, get, patch, post};
use crate::http::tokens::issue_access_token;
use crate::password::{hash_password, verify_password};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use rivet_domain::ids::{ApiKeyId, CompanyId, UserId};
use rivet_domain::{Actor, Email, FieldErrors};
use rivet_store::sessions::{self, Refreshed, SessionKind};
use rivet_store::{companies, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const LOCKOUT_FAILURES: i32 = 5;
const LOCKOUT_MINUTES: i64 = 15;

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
    company: Option<CompanyId>,
) -> Result<(CompanyId, UserId), SignInError> {
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
    #[schema(value_type = uuid::Uuid)]
    pub company_id: CompanyId,
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
    #[schema(value_type = Option<uuid::Uuid>)]
    pub api_key_id: Option<ApiKeyId>,
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
    company_id: CompanyId,
    user_id: UserId,
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
            text.parse::<CompanyId>()
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
    let target = body
        .company_id
        .parse::<CompanyId>()
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
) -> Result<(CompanyId, UserId), AppError> {
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
    company_id: CompanyId,
    user_id: UserId,
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
