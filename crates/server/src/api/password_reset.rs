//! Password reset (issue 15 §1): `POST /auth/password-reset {email}` answers 202 whatever the
//! address, so nobody learns which accounts exist, and — in the background, so the time it
//! takes says nothing either — e-mails a single-use link valid for an hour when the address is
//! a user's and one of their companies has e-mail enabled (the first such company sends it,
//! through `crate::mail`). `POST /auth/password-reset/confirm {token, password}` sets the
//! password under the installation's rules and ends every session of the user. Both are
//! rate limited per client address like sign-in. The tokens are stored hashed
//! (`rivet_store::email`); the pages are `web::session`'s.

use crate::http::auth::ClientIp;
use crate::http::error::AppError;
use crate::http::extract::Json;
use crate::http::router::{Access, ApiRouter, post};
use crate::mail::{self, Outgoing};
use crate::password::hash_password;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use rivet_domain::email::EmailSettings;
use rivet_domain::{Email, FieldErrors};
use rivet_store::email as store;
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The address the account signs in with.
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token of the link the e-mail carried.
    pub token: String,
    /// The new password (the installation's password rules apply).
    pub password: String,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            post("/auth/password-reset", Access::Public)
                .doc(
                    "auth",
                    "Ask for a password reset link: 202 whatever the address (an unknown one \
                     included). When it is a user's and one of their companies has e-mail \
                     enabled, a single-use link valid for an hour is e-mailed to it",
                )
                .body::<PasswordResetRequest>()
                .status(202),
            request,
        )
        .add(
            post("/auth/password-reset/confirm", Access::Public)
                .doc(
                    "auth",
                    "Set a new password with a reset link's token: every session of the user \
                     ends. 422 naming token when it is unknown, used or expired",
                )
                .body::<PasswordResetConfirm>()
                .status(204),
            confirm,
        )
}

/// The same limit as sign-in, per client address.
async fn limit(app: &AppState, ip: &str) -> Result<(), AppError> {
    app.limiter
        .check(
            &format!("login:{ip}"),
            app.config.login_rate_limit,
            Duration::from_secs(60),
        )
        .await
}

async fn request(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<PasswordResetRequest>,
) -> Result<StatusCode, AppError> {
    if let Err(e) = limit(&app, &ip.to_string()).await {
        tracing::warn!(target: "rivet::security", event = "rate_limited", scope = "password_reset", ip = %ip, "password reset rate limit hit");
        return Err(e);
    }
    if let Ok(email) = Email::parse(&body.email) {
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(e) = send_link(&app, &email).await {
                tracing::warn!(error = %e, "a password reset link was not sent");
            }
        });
    }
    Ok(StatusCode::ACCEPTED)
}

/// E-mail a reset link to `email` if it is a user's and one of their companies sends e-mail.
pub async fn send_link(app: &AppState, email: &Email) -> Result<bool, AppError> {
    let Some(login) = rivet_store::users::find_login(&app.store, email).await? else {
        return Ok(false);
    };
    let mut sender: Option<(rivet_domain::ids::CompanyId, EmailSettings)> = None;
    for membership in rivet_store::users::memberships_of(&app.store, login.id).await? {
        if !membership.active {
            continue;
        }
        let settings = store::settings_of(&app.store, membership.company_id).await?;
        if settings.ready() {
            sender = Some((membership.company_id, settings));
            break;
        }
    }
    let Some((company, settings)) = sender else {
        tracing::info!(user_id = %login.id, "password reset asked for, but none of the user's companies sends e-mail");
        return Ok(false);
    };
    let token = store::new_password_reset(&app.store, login.id).await?;
    let url = format!("{}/reset-password/{token}", app.config.public_url());
    let outgoing = Outgoing {
        to: vec![email.as_str().to_owned()],
        cc: Vec::new(),
        subject: "Reset your Rivet password".into(),
        text: format!(
            "Someone asked to reset the password of your Rivet account.\n\n\
             Choose a new password here (the link works once, for one hour):\n{url}\n\n\
             If it was not you, ignore this e-mail: your password stays as it is.\n"
        ),
        html: None,
        message_id: mail::message_id(&settings),
        unsubscribe: None,
    };
    mail::send(app, company, &settings, &outgoing)
        .await
        .map_err(AppError::from)?;
    tracing::info!(target: "rivet::security", event = "password_reset_sent", user_id = %login.id, "password reset link e-mailed");
    Ok(true)
}

async fn confirm(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<PasswordResetConfirm>,
) -> Result<StatusCode, AppError> {
    limit(&app, &ip.to_string()).await?;
    reset_with(&app, &body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a password through a reset link (API and web form).
pub async fn reset_with(app: &AppState, token: &str, password: &str) -> Result<(), AppError> {
    let settings = rivet_store::settings::get_system(&app.store).await?;
    let mut errors = FieldErrors::new();
    errors.check("password", settings.check_password(password));
    errors.into_result()?;
    let hash = hash_password(password.to_owned()).await?;
    let user = store::reset_password(&app.store, token, &hash)
        .await
        .map_err(|e| match e {
            rivet_store::StoreError::NotFound => {
                AppError::field("token", "is invalid, used or has expired")
            }
            other => other.into(),
        })?;
    tracing::info!(target: "rivet::security", event = "password_reset", user_id = %user, "password reset through a link; every session ended");
    Ok(())
}
