//! E-mail tracking (issue 15 §3), the use cases behind the public doors: the links a sent
//! message carries (`/t/o/…` the open pixel, `/t/c/…` a click, `/t/u/…` the unsubscribe page
//! and its RFC 8058 one-click POST; pages in `web::tracking`) and the inbound endpoint for
//! replies and bounces (`POST /api/v1/inbound/email`, `api::tracking`).
//!
//! A link's token is signed with a key derived from the installation's secret key
//! (`rivet_domain::tracking`); one that does not verify, or names a message that is not there,
//! is a 404 without a word more. A click goes to the link stored with the message, found by its
//! index in the message's HTML — never to an address from the request. An inbound post names its
//! company (`X-Rivet-Company`) and is signed with that company's inbound secret
//! (`X-Rivet-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, the scheme WhatsApp's webhook
//! uses); a bad or missing signature is a 401, logged as a security event, and writes nothing.
//!
//! Replies and bounces arrive through the inbound endpoint (a mail server's pipe or a
//! provider's inbound webhook posts the raw message) or from the company's IMAP mailbox
//! (`crate::imap`); both hand the raw message to [`take`], which threads it and records it.

use crate::http::error::AppError;
use crate::state::AppState;
use rivet_domain::ids::{CompanyId, EmailMessageId};
use rivet_domain::tracking::{self as domain, LinkKind, Token};
use rivet_store::email::EmailMessage;
use rivet_store::tracking as store;
use serde::Serialize;

/// The key tracking links are signed with.
fn key(app: &AppState) -> [u8; 32] {
    app.secrets.derive(domain::PURPOSE)
}

/// The address of a tracking link of `message` (`link`: a click link's index, else 0).
pub fn link(
    app: &AppState,
    company: CompanyId,
    message: EmailMessageId,
    kind: LinkKind,
    link: u16,
) -> String {
    let token = Token {
        company,
        message,
        kind,
        link,
    };
    token.url(&app.config.public_url(), &key(app))
}

/// The message a link names: `kind`'s token verified, the message found (else 404).
async fn resolve(
    app: &AppState,
    kind: LinkKind,
    text: &str,
) -> Result<(Token, EmailMessage), AppError> {
    let token = Token::verify(&key(app), kind, text).ok_or(AppError::NotFound)?;
    let message = store::message(&app.store, token.company, token.message)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((token, message))
}

/// The open pixel was fetched.
pub async fn open(app: &AppState, text: &str) -> Result<(), AppError> {
    let (token, message) = resolve(app, LinkKind::Open, text).await?;
    store::record_open(&app.store, token.company, &message).await?;
    Ok(())
}

/// A click: recorded, and the address to send the reader to — the message's own link.
pub async fn click(app: &AppState, text: &str) -> Result<String, AppError> {
    let (token, message) = resolve(app, LinkKind::Click, text).await?;
    let url = message
        .html
        .as_deref()
        .map(domain::links)
        .and_then(|links| links.into_iter().nth(usize::from(token.link)))
        .ok_or(AppError::NotFound)?;
    store::record_click(&app.store, token.company, &message, &url).await?;
    Ok(url)
}

/// Whom an unsubscribe link is for (the page asks before it acts), if it is valid.
pub async fn unsubscribe_target(app: &AppState, text: &str) -> Result<EmailMessage, AppError> {
    Ok(resolve(app, LinkKind::Unsubscribe, text).await?.1)
}

/// Unsubscribe the recipients of the link's message (a second time changes nothing).
pub async fn unsubscribe(app: &AppState, text: &str) -> Result<EmailMessage, AppError> {
    let (token, message) = resolve(app, LinkKind::Unsubscribe, text).await?;
    store::unsubscribe(&app.store, token.company, &message).await?;
    Ok(message)
}

/// What the inbound endpoint did with a message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboundResult {
    /// `replied` (logged on the record), `bounced`, `replayed` (taken before: nothing changed)
    /// or `ignored` (it refers to no message the company sent).
    pub outcome: String,
    /// The sent message it was threaded onto.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub email_id: Option<EmailMessageId>,
    /// A reply's inbound email activity.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub activity_id: Option<rivet_domain::ids::ActivityId>,
}

impl InboundResult {
    fn of(outcome: &str, email: Option<&EmailMessage>) -> Self {
        Self {
            outcome: outcome.to_owned(),
            email_id: email.map(|m| m.id),
            activity_id: None,
        }
    }
}

/// Take an inbound message posted for `company` (see the module's comment).
pub async fn inbound(
    app: &AppState,
    company: Option<&str>,
    signature: Option<&str>,
    raw: &[u8],
) -> Result<InboundResult, AppError> {
    let refuse = |company: Option<CompanyId>, reason: &str| {
        tracing::warn!(
            target: "rivet::security",
            event = "email_inbound_signature_rejected",
            company_id = ?company,
            reason,
            "inbound e-mail refused: bad X-Rivet-Signature"
        );
        AppError::Unauthorized
    };
    let Some(company) = company.and_then(|c| c.trim().parse::<CompanyId>().ok()) else {
        return Err(AppError::BadRequest(
            "X-Rivet-Company must name the company (its id)".into(),
        ));
    };
    let settings = rivet_store::email::settings_of(&app.store, company).await?;
    let secret = settings.inbound_secret(&app.secrets).ok().flatten();
    let Some(secret) = secret else {
        return Err(refuse(Some(company), "no inbound secret"));
    };
    if !rivet_domain::whatsapp::signature_valid(&secret, signature, raw) {
        let reason = if signature.is_none() {
            "missing"
        } else {
            "wrong"
        };
        return Err(refuse(Some(company), reason));
    }
    take(app, company, raw).await
}

/// Take a raw message that reached `company` (a signed post, or its mailbox): threaded by
/// In-Reply-To and References onto the message it answers, then recorded as a reply or a
/// bounce — once: the same message again is `replayed` and changes nothing. A message that is
/// not an e-mail at all is a 400.
pub async fn take(
    app: &AppState,
    company: CompanyId,
    raw: &[u8],
) -> Result<InboundResult, AppError> {
    let Some(inbound) = domain::parse_inbound(raw) else {
        return Err(AppError::BadRequest(
            "the body is not an e-mail message".into(),
        ));
    };
    let Some(message) = store::thread(&app.store, company, &inbound.references).await? else {
        return Ok(InboundResult::of("ignored", None));
    };
    if inbound.bounce {
        let first = store::record_bounce(&app.store, company, &message, &inbound).await?;
        let outcome = if first { "bounced" } else { "replayed" };
        return Ok(InboundResult::of(outcome, Some(&message)));
    }
    Ok(
        match store::record_reply(&app.store, company, &message, &inbound).await? {
            Some(activity) => InboundResult {
                activity_id: Some(activity),
                ..InboundResult::of("replied", Some(&message))
            },
            None => InboundResult::of("replayed", Some(&message)),
        },
    )
}
