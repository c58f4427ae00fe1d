//! The "Forgot password?" pages (issue 15 §1): `/forgot-password` asks for the address and
//! always says the same thing afterwards (no account is revealed), and
//! `/reset-password/{token}` sets the new password from the e-mailed link. Both go through the
//! API's functions (`crate::api::password_reset`) with the same rate limits; like the
//! invitation pages, they are public, and a signed-in browser sends its CSRF token.

use super::session::SignedIn;
use super::view::{Bare, FormErrors, WebError, WebForm, html, password_hint, redirect_with_flash};
use crate::api::password_reset::{reset_with, send_link};
use crate::http::auth::ClientIp;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::Email;
use serde::Deserialize;
use std::time::Duration;

#[derive(Template)]
#[template(path = "web/forgot_password.html")]
struct ForgotPage {
    bare: Bare,
    csrf: Option<String>,
    sent: bool,
    email: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

fn bare(title: &str) -> Bare {
    Bare {
        title: title.into(),
        flash: None,
    }
}

async fn limit(app: &AppState, ip: &str) -> Result<(), WebError> {
    app.limiter
        .check(
            &format!("login:{ip}"),
            app.config.login_rate_limit,
            Duration::from_secs(60),
        )
        .await?;
    Ok(())
}

pub async fn forgot_page(SignedIn(csrf): SignedIn) -> Response {
    html(
        StatusCode::OK,
        &ForgotPage {
            bare: bare("Forgot your password?"),
            csrf,
            sent: false,
            email: String::new(),
            errors: FormErrors::new(),
        },
    )
}

pub async fn forgot(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    SignedIn(csrf): SignedIn,
    WebForm(form): WebForm<ForgotForm>,
) -> Result<Response, WebError> {
    limit(&app, &ip.to_string()).await?;
    let Ok(email) = Email::parse(&form.email) else {
        let mut errors = FormErrors::new();
        errors.add("email", "is not a valid e-mail address");
        return Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                bare: bare("Forgot your password?"),
                csrf,
                sent: false,
                email: form.email,
                errors,
            },
        ));
    };
    let background = app.clone();
    let address = email.clone();
    tokio::spawn(async move {
        if let Err(e) = send_link(&background, &address).await {
            tracing::warn!(error = %e, "a password reset link was not sent");
        }
    });
    Ok(html(
        StatusCode::OK,
        &ForgotPage {
            bare: bare("Check your e-mail"),
            csrf,
            sent: true,
            email: email.to_string(),
            errors: FormErrors::new(),
        },
    ))
}

#[derive(Template)]
#[template(path = "web/reset_password.html")]
struct ResetPage {
    bare: Bare,
    action: String,
    csrf: Option<String>,
    valid: bool,
    password_hint: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    password: String,
    confirm: String,
}

async fn reset_form(
    app: &AppState,
    token: &str,
    csrf: Option<String>,
    status: StatusCode,
    errors: FormErrors,
) -> Result<Response, WebError> {
    let valid = rivet_store::email::password_reset_open(&app.store, token).await?;
    let policy = rivet_store::settings::get_system(&app.store).await?;
    let status = if valid { status } else { StatusCode::NOT_FOUND };
    Ok(html(
        status,
        &ResetPage {
            bare: bare("Choose a new password"),
            action: format!("/reset-password/{token}"),
            csrf,
            valid,
            password_hint: password_hint(&policy),
            errors,
        },
    ))
}

pub async fn reset_page(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    SignedIn(csrf): SignedIn,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    limit(&app, &ip.to_string()).await?;
    reset_form(&app, &token, csrf, StatusCode::OK, FormErrors::new()).await
}

pub async fn reset(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    SignedIn(csrf): SignedIn,
    Path(token): Path<String>,
    WebForm(form): WebForm<ResetForm>,
) -> Result<Response, WebError> {
    limit(&app, &ip.to_string()).await?;
    let mut errors = FormErrors::new();
    if form.password != form.confirm {
        errors.add("confirm", "does not match the password");
        return reset_form(&app, &token, csrf, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    match reset_with(&app, &token, &form.password).await {
        Ok(()) => Ok(redirect_with_flash(
            &app,
            "/login",
            "success",
            "Your password is changed. Sign in with it.".into(),
        )),
        Err(err) => {
            errors.absorb(err, &["password", "token"])?;
            reset_form(&app, &token, csrf, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
    }
}
