//! The tracking links a sent e-mail carries (issue 15 §3; the use cases are `crate::tracking`):
//! `GET /t/o/{token}` answers the 1×1 image and records the open, `GET /t/c/{token}` records the
//! click and redirects (302) to the message's own link, `GET /t/u/{token}` is the unsubscribe
//! page with its button and `POST /t/u/{token}` unsubscribes — the button's post and the RFC 8058
//! one-click post a mail client makes (`List-Unsubscribe=One-Click`) alike.
//!
//! They are public: no session is read and no CSRF token asked for (see
//! `crate::http::auth::TRACKING_LINKS`), they are limited per address as the other public doors,
//! and a link that does not verify is a bare 404.

use crate::http::auth::ClientIp;
use crate::http::error::AppError;
use crate::state::AppState;
use crate::tracking;
use crate::web::view::{Bare, html};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rivet_domain::tracking::PIXEL_GIF;
use rivet_store::email::EmailMessage;

#[derive(Template)]
#[template(path = "web/unsubscribe.html")]
struct UnsubscribePage {
    bare: Bare,
    heading: String,
    message: String,
    /// Show the button (the page before the post).
    ask: bool,
}

fn page(heading: &str, message: String, ask: bool) -> Response {
    html(
        StatusCode::OK,
        &UnsubscribePage {
            bare: Bare {
                title: heading.to_owned(),
                flash: None,
            },
            heading: heading.to_owned(),
            message,
            ask,
        },
    )
}

/// A bad link is a 404 with nothing to say; a limit is the limit's answer.
fn refused(err: AppError) -> Response {
    match err {
        AppError::NotFound => (StatusCode::NOT_FOUND, "Not found").into_response(),
        other => other.into_response(),
    }
}

/// Run a link's use case within the public limit; its answer made by `answer`.
async fn guarded<T>(
    app: &AppState,
    ip: &str,
    run: impl Future<Output = Result<T, AppError>>,
    answer: impl FnOnce(T) -> Response,
) -> Response {
    if let Err(e) = app.public_door(ip).await {
        return refused(e);
    }
    run.await.map_or_else(refused, answer)
}

fn unsubscribed(message: &EmailMessage) -> Response {
    page(
        "You are unsubscribed",
        format!("{} gets no more e-mails from us.", message.to.join(", ")),
        false,
    )
}

pub async fn open(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Response {
    guarded(&app, &ip, tracking::open(&app, &token), |()| {
        (
            [
                (header::CONTENT_TYPE, "image/gif"),
                (header::CACHE_CONTROL, "no-store, max-age=0"),
            ],
            PIXEL_GIF,
        )
            .into_response()
    })
    .await
}

pub async fn click(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Response {
    guarded(&app, &ip, tracking::click(&app, &token), |url| {
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, url),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response()
    })
    .await
}

pub async fn unsubscribe_page(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Response {
    let target = tracking::unsubscribe_target(&app, &token);
    guarded(&app, &ip, target, |message| {
        if message.tracking.unsubscribed_at.is_some() {
            return unsubscribed(&message);
        }
        page(
            "Unsubscribe",
            format!(
                "Stop e-mails to {}? Press the button to unsubscribe.",
                message.to.join(", ")
            ),
            true,
        )
    })
    .await
}

pub async fn unsubscribe(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Response {
    let run = tracking::unsubscribe(&app, &token);
    guarded(&app, &ip, run, |message| unsubscribed(&message)).await
}
