//! Signing in and out of the web UI, and accepting an invitation.
//!
//! The sign-in form is posted before any session exists, so the session's CSRF token cannot
//! protect it; a double-submit token (a `SameSite=Strict` cookie repeated in a hidden field)
//! does instead, so another site cannot sign a browser in to an account of its choosing.

use super::view::{
    Bare, Ctx, FormErrors, WebError, WebForm, WebQuery, add_cookie, clear_flash, cookie,
    password_hint, read_flash, redirect_with_flash, safe_next, set_cookie,
};
use crate::api::auth::{self, SignInError};
use crate::http::auth::{ClientIp, WebSession};
use crate::http::error::AppError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rivet_domain::Actor;
use rivet_store::users::InvitationState;
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

const LOGIN_COOKIE: &str = "rivet_login";

/// The CSRF token of the request's live web session, if it has one. A signed-in browser posting
/// a public form (an invitation opened by its own admin) must send it like any other form.
pub struct SignedIn(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let session = parts.extensions.get::<WebSession>();
        Ok(Self(
            session
                .filter(|_| parts.extensions.get::<Actor>().is_some())
                .map(|s| s.csrf_token.clone()),
        ))
    }
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    bare: Bare,
    email: String,
    next: String,
    login_token: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
    login_token: String,
}

/// Render the sign-in form with a fresh double-submit token.
fn login_form(
    app: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    next: String,
    errors: FormErrors,
) -> Response {
    let token = rivet_store::sessions::random_token();
    let flash = read_flash(headers);
    let had_flash = flash.is_some();
    let mut response = super::view::html(
        status,
        &LoginPage {
            bare: Bare {
                title: "Sign in".into(),
                flash,
            },
            email,
            next,
            login_token: token.clone(),
            errors,
        },
    );
    add_cookie(&mut response, &set_cookie(app, LOGIN_COOKIE, &token, 3600));
    if had_flash {
        clear_flash(app, &mut response);
    }
    response
}

pub async fn login_page(
    State(app): State<AppState>,
    SignedIn(signed_in): SignedIn,
    headers: HeaderMap,
    WebQuery(query): WebQuery<LoginQuery>,
) -> Response {
    let next = safe_next(&query.next);
    if signed_in.is_some() {
        return Redirect::to(&next).into_response();
    }
    login_form(
        &app,
        &headers,
        StatusCode::OK,
        String::new(),
        next,
        FormErrors::new(),
    )
}

pub async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    WebForm(form): WebForm<LoginForm>,
) -> Result<Response, WebError> {
    let next = safe_next(&form.next);
    let refuse = |status: StatusCode, message: &str| {
        let mut errors = FormErrors::new();
        errors.add_general(message);
        login_form(
            &app,
            &headers,
            status,
            form.email.clone(),
            next.clone(),
            errors,
        )
    };
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || expected != form.login_token {
        tracing::warn!(target: "rivet::security", event = "csrf_rejected", path = "/login", "sign-in form without a matching token");
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            "The sign-in form expired. Please try again.",
        ));
    }
    if app
        .limiter
        .check(
            &format!("login:{ip}"),
            app.config.login_rate_limit,
            Duration::from_secs(60),
        )
        .await
        .is_err()
    {
        tracing::warn!(target: "rivet::security", event = "rate_limited", scope = "login", ip = %ip, "sign-in rate limit hit");
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts from your network. Wait a minute and try again.",
        ));
    }
    match auth::sign_in(&app, &form.email, &form.password, None).await {
        Ok((company_id, user_id)) => {
            let session = auth::open_web_session(&app, company_id, user_id).await?;
            let mut response = Redirect::to(&next).into_response();
            add_cookie(&mut response, &session);
            add_cookie(&mut response, &set_cookie(&app, LOGIN_COOKIE, "", 0));
            Ok(response)
        }
        Err(SignInError::Invalid) => Ok(refuse(
            StatusCode::UNAUTHORIZED,
            "The e-mail address or password is incorrect.",
        )),
        Err(SignInError::Locked { retry_after_secs }) => Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "This account is locked after too many failed attempts. Try again in {} minute(s).",
                retry_after_secs.div_ceil(60)
            ),
        )),
        Err(SignInError::NoCompany) => Ok(refuse(
            StatusCode::FORBIDDEN,
            "Your account is not active in any company. Ask your administrator.",
        )),
        Err(SignInError::App(e)) => Err(e.into()),
    }
}

pub async fn logout(ctx: Ctx) -> Result<Response, WebError> {
    rivet_store::sessions::revoke(&ctx.app.store, &ctx.actor)
        .await
        .map_err(AppError::from)?;
    let mut response =
        redirect_with_flash(&ctx.app, "/login", "success", "You have signed out.".into());
    add_cookie(&mut response, &auth::session_cookie(&ctx.app, "", 0));
    Ok(response)
}

#[derive(Template)]
#[template(path = "web/invite.html")]
struct InvitePage {
    bare: Bare,
    action: String,
    csrf: Option<String>,
    password_hint: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    password: String,
    confirm: String,
}

async fn invite_form(
    app: &AppState,
    token: &str,
    csrf: Option<String>,
    status: StatusCode,
    errors: FormErrors,
) -> Result<Response, WebError> {
    let policy = rivet_store::settings::get_system(&app.store).await?;
    Ok(super::view::html(
        status,
        &InvitePage {
            bare: Bare {
                title: "Set your password".into(),
                flash: None,
            },
            action: format!("/invite/{token}"),
            csrf,
            password_hint: password_hint(&policy),
            errors,
        },
    ))
}

#[derive(Template)]
#[template(path = "web/invite_invalid.html")]
struct InviteInvalidPage {
    bare: Bare,
    status: u16,
    heading: &'static str,
    message: &'static str,
}

/// The page of a link that cannot set a password: 404 for a token no invitation has, 410 for
/// one that expired or was used. No form, and the way to the sign-in page.
fn invite_invalid(state: InvitationState) -> Response {
    let (status, heading, message) = match state {
        InvitationState::Gone => (
            StatusCode::GONE,
            "This invitation has expired",
            "The invitation link has expired or was already used.",
        ),
        InvitationState::Unknown | InvitationState::Open => (
            StatusCode::NOT_FOUND,
            "This invitation link is invalid",
            "No invitation has this link. Check that you copied all of it.",
        ),
    };
    super::view::html(
        status,
        &InviteInvalidPage {
            bare: Bare {
                title: heading.into(),
                flash: None,
            },
            status: status.as_u16(),
            heading,
            message,
        },
    )
}

pub async fn invite_page(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    SignedIn(csrf): SignedIn,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    // Each look-up tells whether a token exists: limited like the form, so links cannot be
    // guessed in bulk (they are 256-bit secrets anyway).
    app.limiter
        .check(
            &format!("public:{ip}"),
            app.config.public_rate_limit,
            Duration::from_secs(60),
        )
        .await?;
    match rivet_store::users::invitation_state(&app.store, &token).await? {
        InvitationState::Open => {
            invite_form(&app, &token, csrf, StatusCode::OK, FormErrors::new()).await
        }
        state => Ok(invite_invalid(state)),
    }
}

pub async fn accept_invite(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    SignedIn(csrf): SignedIn,
    Path(token): Path<String>,
    WebForm(form): WebForm<InviteForm>,
) -> Result<Response, WebError> {
    app.limiter
        .check(
            &format!("public:{ip}"),
            app.config.public_rate_limit,
            Duration::from_secs(60),
        )
        .await?;
    let state = rivet_store::users::invitation_state(&app.store, &token).await?;
    if state != InvitationState::Open {
        return Ok(invite_invalid(state));
    }
    let mut errors = FormErrors::new();
    if form.password != form.confirm {
        errors.add("confirm", "does not match the password");
        return invite_form(&app, &token, csrf, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    match auth::accept_invitation_with(&app, &token, &form.password).await {
        Ok((company_id, user_id)) => {
            let session = auth::open_web_session(&app, company_id, user_id).await?;
            let mut response = redirect_with_flash(
                &app,
                "/",
                "success",
                "Welcome to Rivet. Your password is set.".into(),
            );
            add_cookie(&mut response, &session);
            Ok(response)
        }
        Err(err) => {
            errors.absorb(err, &["password", "token"])?;
            if errors.has("token") {
                // Used or expired between the look-up above and now.
                return Ok(invite_invalid(InvitationState::Gone));
            }
            invite_form(&app, &token, csrf, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
    }
}
