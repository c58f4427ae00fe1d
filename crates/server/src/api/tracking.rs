//! E-mail tracking over the API (issue 15 §3): the inbound endpoint replies and bounces arrive
//! by (`POST /inbound/email`, public, signed per company) and the rotation of the company's
//! inbound secret (`POST /settings/email/inbound-secret`, shown once). The use cases and the
//! tracking links are `crate::tracking`; the links' pages `web::tracking`.

use crate::http::auth::ClientIp;
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, post};
use crate::state::AppState;
use crate::tracking::{self as use_case, InboundResult};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rivet_domain::email::EmailSettings;
use rivet_domain::{Action, Resource};
use rivet_store::documents;
use serde::Serialize;
use utoipa::ToSchema;

/// Inbound bodies are whole messages with their attachments.
const MAX_INBOUND: usize = 10 * 1024 * 1024;

/// A raw e-mail message (RFC 5322, MIME), as a mail server hands it on.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct RawEmail(#[allow(dead_code)] Vec<u8>);

/// A new inbound secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundSecret {
    /// Sign each post's raw body with it: `X-Rivet-Signature: sha256=<hex HMAC-SHA256>`.
    pub secret: String,
    /// What to send as `X-Rivet-Company`.
    #[schema(value_type = uuid::Uuid)]
    pub company_id: rivet_domain::ids::CompanyId,
    /// Where to post.
    pub url: String,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            post("/inbound/email", Access::Public)
                .doc(
                    "email",
                    "Take a reply to, or a bounce of, an e-mail the company sent: the raw \
                     message (message/rfc822) as a mail server or an inbound-mail service hands \
                     it on, with X-Rivet-Company naming the company (missing: 400) and \
                     X-Rivet-Signature: \
                     sha256=<hex HMAC-SHA256 of the body under the company's inbound secret> \
                     (wrong or missing: 401, logged as a security event, nothing written). \
                     It is threaded by In-Reply-To and References onto the message sent: a \
                     reply becomes an inbound email activity on the same record and \
                     email.replied; a delivery status report or a message from MAILER-DAEMON \
                     marks the message bounced and emits email.bounced; a message that refers \
                     to none the company sent is ignored. Answers 202 with the outcome",
                )
                .raw_body::<RawEmail>("message/rfc822")
                .body_limit(MAX_INBOUND)
                .returns::<InboundResult>()
                .status(202),
            inbound,
        )
        .add(
            post(
                "/settings/email/inbound-secret",
                Access::Allow(Resource::Settings, Action::Update),
            )
            .doc(
                "settings",
                "Make a new inbound e-mail secret, replacing the one before (posts signed with \
                 it stop being taken at once). It is shown in this answer only and stored \
                 sealed; the settings say inbound_secret_set",
            )
            .returns::<InboundSecret>()
            .status(201),
            rotate,
        )
}

async fn inbound(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<InboundResult>), AppError> {
    app.public_door(&ip).await?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let result = use_case::inbound(
        &app,
        header("x-rivet-company"),
        header("x-rivet-signature"),
        &body,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(result)))
}

async fn rotate(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<(StatusCode, Json<InboundSecret>), AppError> {
    let stored: EmailSettings = documents::settings(&app.store, &actor).await?;
    let secret = rivet_store::sessions::random_token();
    let settings = EmailSettings {
        inbound_secret_sealed: Some(app.secrets.seal(&secret)),
        ..stored
    };
    documents::put(&app.store, &actor, &settings).await?;
    Ok((
        StatusCode::CREATED,
        Json(InboundSecret {
            secret,
            company_id: actor.company_id,
            url: format!("{}/api/v1/inbound/email", app.config.public_url()),
        }),
    ))
}
