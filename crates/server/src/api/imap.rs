//! IMAP polling over the API (issue 15 §3 Tracking): the company's mailbox replies and bounces
//! are read from (`GET`/`PUT /settings/email/imap`, with how the last poll went), a test
//! sign-in (`POST /settings/email/imap/test`) and a poll now (`POST
//! /settings/email/imap/poll`). The settings are the `imap` part of the e-mail settings
//! document (`rivet_domain::imap`), its password sealed as the SMTP one is; reading the mailbox
//! is `crate::imap`. [`save_settings`] is the pages' too.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, get, post, put};
use crate::imap::{self as use_case, ImapPollReport, ImapTested};
use crate::state::AppState;
use axum::extract::State;
use rivet_domain::email::EmailSettings;
use rivet_domain::imap::{ImapSettings, ImapSettingsInput, ImapSettingsView};
use rivet_domain::{Action, Actor, Resource};
use rivet_store::documents;

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/settings/email/imap", READ)
                .doc(
                    "settings",
                    "The IMAP mailbox replies and bounces are polled from: host, port, TLS \
                     mode, user, folder, interval, whether polling is enabled, and how the \
                     last poll went (its time, what it took, its error in plain words). The \
                     password is never shown: password_set says whether one is stored",
                )
                .returns::<ImapSettingsView>(),
            show,
        )
        .add(
            put("/settings/email/imap", UPDATE)
                .doc(
                    "settings",
                    "Replace the IMAP settings (a part left out takes its default: port 993, \
                     tls, folder INBOX, every 5 minutes). The password is stored sealed: left \
                     out, the stored one is kept; \"\" clears it. tls none needs \
                     allow_plaintext true; enabled needs a host and a user. Audited with the \
                     password redacted. An enabled mailbox is polled by the workers every \
                     poll_minutes: each new message is taken as POST /inbound/email takes one",
                )
                .body::<ImapSettingsInput>()
                .returns::<ImapSettingsView>(),
            replace,
        )
        .add(
            post("/settings/email/imap/test", UPDATE)
                .doc(
                    "settings",
                    "Sign in to the mailbox with the stored settings (enabled or not) and open \
                     the folder: the server's greeting and what was found. When the server \
                     refuses, hangs or cannot be reached, a 502 whose detail says why in plain \
                     words (authentication failed, connection refused, timed out, the folder \
                     cannot be opened, …). 409 when no host and user are set",
                )
                .returns::<ImapTested>()
                .upstream(),
            test,
        )
        .add(
            post("/settings/email/imap/poll", UPDATE)
                .doc(
                    "settings",
                    "Poll the mailbox now, as the workers do: each message not taken before \
                     is threaded onto the e-mail it answers (a reply logged, a bounce marked, \
                     once each) and marked seen. Answers with what it took; 502 in plain words \
                     when the server fails; 409 when no host and user are set or a poll is \
                     running already",
                )
                .returns::<ImapPollReport>()
                .upstream(),
            poll,
        )
}

async fn view(
    app: &AppState,
    actor: &Actor,
    settings: &ImapSettings,
) -> Result<ImapSettingsView, AppError> {
    let last = rivet_store::imap::last_poll(&app.store, actor.company_id).await?;
    Ok(settings.view(last))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<ImapSettingsView>, AppError> {
    let settings: EmailSettings = documents::settings(&app.store, &actor).await?;
    Ok(Json(view(&app, &actor, &settings.imap).await?))
}

/// Check and store new IMAP settings in the e-mail settings document, the password sealed
/// (kept or cleared as the input says). The page and the API alike.
pub async fn save_settings(
    app: &AppState,
    actor: &Actor,
    input: ImapSettingsInput,
) -> Result<ImapSettings, AppError> {
    let stored: EmailSettings = documents::settings(&app.store, actor).await?;
    let imap = input
        .apply(&stored.imap, &app.secrets)
        .map_err(AppError::Validation)?;
    let settings = EmailSettings {
        imap: imap.clone(),
        ..stored
    };
    documents::put(&app.store, actor, &settings).await?;
    Ok(imap)
}

async fn replace(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<ImapSettingsInput>,
) -> Result<Json<ImapSettingsView>, AppError> {
    let settings = save_settings(&app, &actor, input).await?;
    Ok(Json(view(&app, &actor, &settings).await?))
}

async fn test(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<ImapTested>, AppError> {
    Ok(Json(use_case::test(&app, actor.company_id).await?))
}

async fn poll(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<ImapPollReport>, AppError> {
    Ok(Json(use_case::poll(&app, actor.company_id).await?))
}
