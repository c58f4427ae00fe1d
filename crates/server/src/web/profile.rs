//! The caller's own profile: their name, their password (the current one is asked, and every
//! other session ends), and signing out of their other sessions. Every signed-in person may
//! open it; each form calls the same function as its `/me` API route.

use super::view::{Ctx, FormErrors, Layout, OrPage, WebError, WebForm, password_hint};
use crate::api::auth;
use crate::http::error::AppError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "web/profile.html")]
struct ProfilePage {
    layout: Layout,
    name: String,
    email: String,
    role: String,
    password_hint: String,
    name_errors: FormErrors,
    password_errors: FormErrors,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm: String,
}

/// The page with what was typed in the name form (or the stored name) and each form's errors.
async fn page(
    ctx: &Ctx,
    status: StatusCode,
    name: Option<String>,
    name_errors: FormErrors,
    password_errors: FormErrors,
) -> Result<Response, WebError> {
    let me = rivet_store::users::me(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    let policy = rivet_store::settings::get_system(&ctx.app.store)
        .await
        .or_page(ctx)?;
    let page = ProfilePage {
        layout: ctx.layout("Your profile"),
        name: name.unwrap_or(me.name),
        email: me.email,
        role: me.role_name,
        password_hint: password_hint(&policy),
        name_errors,
        password_errors,
    };
    Ok(ctx.render_status(status, &page))
}

pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    page(
        &ctx,
        StatusCode::OK,
        None,
        FormErrors::new(),
        FormErrors::new(),
    )
    .await
}

pub async fn save_name(ctx: Ctx, WebForm(form): WebForm<NameForm>) -> Result<Response, WebError> {
    match auth::rename_me(&ctx.app, &ctx.actor, &form.name).await {
        Ok(member) => Ok(ctx.done("/profile", format!("Saved your name, {}.", member.name))),
        Err(err) => {
            let mut errors = FormErrors::new();
            errors.absorb(err, &["name"]).or_page(&ctx)?;
            page(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form.name),
                errors,
                FormErrors::new(),
            )
            .await
        }
    }
}

pub async fn change_password(
    ctx: Ctx,
    WebForm(form): WebForm<PasswordForm>,
) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let status = if form.new_password != form.confirm {
        errors.add("confirm", "does not match the new password");
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match auth::change_password(
            &ctx.app,
            &ctx.actor,
            &form.current_password,
            &form.new_password,
        )
        .await
        {
            Ok(ended) => {
                let others = match ended {
                    0 => String::new(),
                    1 => " Your other session is signed out.".into(),
                    n => format!(" Your {n} other sessions are signed out."),
                };
                return Ok(ctx.done("/profile", format!("Your password is changed.{others}")));
            }
            Err(AppError::TooManyRequests { retry_after_secs }) => {
                errors.add_general(format!(
                    "Too many attempts to change your password. Try again in {} second(s).",
                    retry_after_secs.max(1)
                ));
                StatusCode::TOO_MANY_REQUESTS
            }
            Err(err) => {
                errors
                    .absorb(err, &["current_password", "new_password"])
                    .or_page(&ctx)?;
                StatusCode::UNPROCESSABLE_ENTITY
            }
        }
    };
    page(&ctx, status, None, FormErrors::new(), errors).await
}

pub async fn sign_out_others(ctx: Ctx) -> Result<Response, WebError> {
    let ended = auth::sign_out_others(&ctx.app, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let message = match ended {
        0 => "You had no other sessions.".to_owned(),
        1 => "Signed out of 1 other session.".to_owned(),
        n => format!("Signed out of {n} other sessions."),
    };
    Ok(ctx.done("/profile", message))
}
