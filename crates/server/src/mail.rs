//! The one path every e-mail Rivet sends goes through (a test message, a one-off e-mail from a
//! record, an invitation, a password reset; later sequence steps): [`send`] builds an SMTP
//! transport from the company's settings (lettre, Tokio), signs with DKIM when configured,
//! counts the send against the company's daily limit (its time zone's day), and answers with
//! the server's reply or a [`MailError`] in plain words.
//!
//! A server that hangs never holds the caller long: connecting and then the whole conversation
//! each have `RIVET_SMTP_TIMEOUT` seconds. Every message carries a `Message-ID` Rivet made
//! ([`message_id`]) so the send can be recorded before and after. Nothing here logs a password,
//! a key or a message's body.

use crate::smtp::{Failure, Reuse};
use crate::state::AppState;
use chrono::Utc;
use lettre::Message;
use lettre::message::dkim::{DkimConfig, DkimSigningAlgorithm, DkimSigningKey};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use rivet_domain::email::{EmailSettings, TlsMode};
use rivet_domain::ids::CompanyId;
use std::error::Error as _;
use std::time::Duration;

/// A message to send: the addresses are checked by [`send`].
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// From [`message_id`].
    pub message_id: String,
    /// The unsubscribe link of a message to a person from a record ([`decorate`]): sent as the
    /// `List-Unsubscribe` and `List-Unsubscribe-Post` headers (RFC 8058).
    pub unsubscribe: Option<String>,
}

/// Tracking for a message to a person from a record (issue 15 §3; `crate::tracking`): the one
/// step between a claimed message and [`send`]. When the company tracks them, the HTML body's
/// links become signed click links and it ends with the open pixel; every such message gets
/// the unsubscribe link, as a footer in each body and as the RFC 8058 headers. Test messages,
/// invitations and password resets are not decorated.
pub fn decorate(
    app: &AppState,
    settings: &EmailSettings,
    company: CompanyId,
    message: rivet_domain::ids::EmailMessageId,
    mail: &mut Outgoing,
) {
    use crate::tracking::link;
    use rivet_domain::tracking::{self as t, LinkKind};
    let unsubscribe = link(app, company, message, LinkKind::Unsubscribe, 0);
    if let Some(html) = &mail.html {
        let mut out = if settings.track_clicks {
            t::rewrite_links(html, |i| {
                let index = u16::try_from(i).unwrap_or(u16::MAX);
                link(app, company, message, LinkKind::Click, index)
            })
        } else {
            html.clone()
        };
        let mut tail = t::unsubscribe_html(&unsubscribe);
        if settings.track_opens {
            tail.push_str(&t::pixel(&link(app, company, message, LinkKind::Open, 0)));
        }
        out = t::append_to_body(&out, &tail);
        mail.html = Some(out);
    }
    mail.text.push_str(&t::unsubscribe_text(&unsubscribe));
    mail.unsubscribe = Some(unsubscribe);
}

/// Why a message did not go, in the words a person setting up e-mail needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("e-mail is not set up for this company (Settings → E-mail)")]
    NotConfigured,
    #[error("the daily sending limit of {0} e-mails is reached; sending resumes tomorrow")]
    DailyLimit(i64),
    #[error("the e-mail settings cannot be used: {0}")]
    Settings(String),
    #[error("not a valid address: {0}")]
    Address(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("the server does not offer STARTTLS")]
    NoStarttls,
    #[error("TLS refused: {0}")]
    Tls(String),
    #[error("connection refused by {0}")]
    Refused(String),
    #[error("timed out: the server did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the server closed the connection: {0}")]
    Dropped(String),
    #[error("the server refused the recipient: {0}")]
    Recipient(String),
    #[error("the server refused the message: {0}")]
    Rejected(String),
    #[error("sending failed: {0}")]
    Other(String),
}

/// What the server answered to a message it took (`250 2.0.0 queued as …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub reply: String,
}

/// A `Message-ID` for a message from `settings`' sender: a fresh UUID at its domain.
pub fn message_id(settings: &EmailSettings) -> String {
    let domain = settings
        .from_address
        .rsplit_once('@')
        .map_or("rivet.invalid", |(_, d)| d);
    format!("<{}@{domain}>", uuid::Uuid::now_v7())
}

/// Check a DKIM private key as [`send`] would use it: an RSA key in PKCS#1 PEM
/// (`-----BEGIN RSA PRIVATE KEY-----`), or an Ed25519 key as the base64 of its 32-byte seed.
pub fn dkim_key(text: &str) -> Result<DkimSigningKey, String> {
    let text = text.trim();
    let algorithm = if text.contains("BEGIN RSA PRIVATE KEY") {
        DkimSigningAlgorithm::Rsa
    } else {
        DkimSigningAlgorithm::Ed25519
    };
    DkimSigningKey::new(text, algorithm).map_err(|_| {
        "must be an RSA key in PKCS#1 PEM (BEGIN RSA PRIVATE KEY) or an Ed25519 key as the \
         base64 of its 32-byte seed"
            .to_owned()
    })
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|_| MailError::Address(address.to_owned()))
}

/// The message as it goes on the wire, DKIM-signed when the settings say so.
fn build(app: &AppState, settings: &EmailSettings, mail: &Outgoing) -> Result<Message, MailError> {
    let from = mailbox(&settings.from_address)?;
    let from = if settings.from_name.is_empty() {
        from
    } else {
        Mailbox::new(Some(settings.from_name.clone()), from.email)
    };
    let mut builder = Message::builder()
        .from(from)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .date_now();
    for to in &mail.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &mail.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    if !settings.reply_to.is_empty() {
        builder = builder.reply_to(mailbox(&settings.reply_to)?);
    }
    if let Some(url) = &mail.unsubscribe {
        use lettre::message::header::{HeaderName, HeaderValue};
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let built = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone()),
    };
    let mut message = built.map_err(|e| MailError::Other(e.to_string()))?;
    let dkim = settings
        .dkim(&app.secrets)
        .map_err(|e| MailError::Settings(e.to_string()))?;
    if let Some((selector, domain, key)) = dkim {
        let key = dkim_key(&key).map_err(|e| MailError::Settings(format!("the DKIM key {e}")))?;
        message.sign(&DkimConfig::default_config(selector, domain, key));
    }
    Ok(message)
}

/// The server `settings` name, and a key for its connections ([`crate::smtp::Connections`]):
/// the company, the server and the sign-in, so that changed settings never reuse a connection.
fn server(
    app: &AppState,
    company: CompanyId,
    settings: &EmailSettings,
    timeout: Duration,
) -> Result<crate::smtp::Server, MailError> {
    use std::hash::{Hash, Hasher};
    let host = settings.host.clone();
    let tls_params = || TlsParameters::new(host.clone()).map_err(|e| MailError::Tls(e.to_string()));
    let tls = match settings.tls {
        TlsMode::Starttls => Tls::Required(tls_params()?),
        TlsMode::Tls => Tls::Wrapper(tls_params()?),
        TlsMode::None => Tls::None,
    };
    let password = if settings.username.is_empty() {
        None
    } else {
        Some(
            settings
                .password(&app.secrets)
                .map_err(|e| MailError::Settings(e.to_string()))?
                .unwrap_or_default(),
        )
    };
    let hello = hello_name(settings);
    // In memory only, and hashed: the key never holds the password itself.
    let mut hasher = std::hash::DefaultHasher::new();
    (&host, settings.port, settings.tls.as_str(), &hello).hash(&mut hasher);
    (&settings.username, &password).hash(&mut hasher);
    Ok(crate::smtp::Server {
        key: format!("{company}:{:016x}", hasher.finish()),
        host,
        port: settings.port,
        tls,
        hello: ClientId::Domain(hello),
        credentials: password.map(|p| Credentials::new(settings.username.clone(), p)),
        timeout,
    })
}

/// The name Rivet greets the server with: the sender's domain.
fn hello_name(settings: &EmailSettings) -> String {
    settings
        .from_address
        .rsplit_once('@')
        .map_or_else(|| "localhost".to_owned(), |(_, d)| d.to_owned())
}

/// `company`'s date today in its time zone (`YYYY-MM-DD`), the day its limit counts.
async fn company_day(app: &AppState, company: CompanyId) -> String {
    let tz = rivet_store::companies::get_by_id(&app.store, company)
        .await
        .ok()
        .and_then(|c| c.timezone.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    Utc::now().with_timezone(&tz).date_naive().to_string()
}

/// A send counted against the company's daily limit ([`take_slot`]) and not yet made: given
/// back when the message does not go.
#[derive(Debug)]
#[must_use = "a slot not sent with is given back with give_back"]
struct Slot {
    day: String,
}

/// Whether `settings` may send at all on this installation.
fn usable(app: &AppState, settings: &EmailSettings) -> Result<(), MailError> {
    if !settings.configured() {
        return Err(MailError::NotConfigured);
    }
    let allowed = &app.config.smtp_allow_hosts;
    if !allowed.is_empty() && !allowed.contains(&settings.host.to_ascii_lowercase()) {
        return Err(MailError::Settings(format!(
            "the host {} is not one this installation allows (RIVET_SMTP_ALLOW_HOSTS)",
            settings.host
        )));
    }
    Ok(())
}

/// Count one send against `company`'s daily limit (its time zone's day), for a message that
/// is not claimed ([`send`]; a claimed one counts in its claim).
async fn take_slot(
    app: &AppState,
    company: CompanyId,
    settings: &EmailSettings,
) -> Result<Slot, MailError> {
    let day = company_day(app, company).await;
    let taken =
        rivet_store::email::take_daily_slot(&app.store, company, &day, settings.daily_limit)
            .await
            .map_err(|e| MailError::Other(e.to_string()))?;
    if !taken {
        return Err(MailError::DailyLimit(settings.daily_limit));
    }
    Ok(Slot { day })
}

/// Undo [`take_slot`] (or a claim's count) for a message that does not go.
async fn give_back(app: &AppState, company: CompanyId, day: &str) {
    if let Err(e) = rivet_store::email::give_back_slot(&app.store, company, day).await {
        tracing::warn!(company = %company, error = %e, "the daily e-mail count was not corrected");
    }
}

/// Send `mail` for `company` with its `settings` on a connection of its own (see the module's
/// comment: a test message, an invitation, a password reset); whether the company has e-mail
/// enabled is the caller's to check (a test message goes before).
pub async fn send(
    app: &AppState,
    company: CompanyId,
    settings: &EmailSettings,
    mail: &Outgoing,
) -> Result<Sent, MailError> {
    usable(app, settings)?;
    let slot = take_slot(app, company, settings).await?;
    let sent = converse(app, company, settings, mail, Reuse::Fresh, || async {
        Ok(())
    })
    .await;
    if sent.is_err() {
        give_back(app, company, &slot.day).await;
    }
    sent
}

/// The SMTP conversation for `mail` (`crate::smtp::send`) within the configured time limit,
/// `handover` run between the server's `354` and the content; logged without the message.
async fn converse<H, F>(
    app: &AppState,
    company: CompanyId,
    settings: &EmailSettings,
    mail: &Outgoing,
    reuse: Reuse,
    handover: H,
) -> Result<Sent, MailError>
where
    H: FnOnce() -> F,
    F: std::future::Future<Output = Result<(), String>>,
{
    let secs = app.config.smtp_timeout_secs.max(1);
    let timeout = Duration::from_secs(secs);
    let outcome = async {
        usable(app, settings)?;
        let message = build(app, settings, mail)?;
        let server = server(app, company, settings, timeout)?;
        let bytes = message.formatted();
        // Connecting has the timeout; the whole conversation has it once more.
        let talk = crate::smtp::send(
            &app.smtp,
            &server,
            reuse,
            message.envelope(),
            &bytes,
            handover,
        );
        match tokio::time::timeout(timeout * 2, talk).await {
            Err(_) => Err(MailError::Timeout(secs)),
            Ok(Err(Failure::Smtp(err))) => Err(explain(&err, settings, secs)),
            Ok(Err(Failure::Handover(why))) => Err(MailError::Other(why)),
            Ok(Ok(response)) => Ok(Sent {
                reply: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )
                .trim()
                .to_owned(),
            }),
        }
    }
    .await;
    match &outcome {
        Ok(_) => tracing::info!(company = %company, message_id = %mail.message_id, "e-mail sent"),
        Err(err) => {
            tracing::warn!(company = %company, message_id = %mail.message_id, error = %err, "e-mail not sent");
        }
    }
    outcome
}

/// A lettre error in plain words, with the server's reply where there is one.
fn explain(err: &lettre::transport::smtp::Error, settings: &EmailSettings, secs: u64) -> MailError {
    let reply = || match (err.status(), err.source()) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        (Some(code), None) => code.to_string(),
        (None, Some(text)) => text.to_string(),
        (None, None) => err.to_string(),
    };
    if err.is_timeout() {
        return MailError::Timeout(secs);
    }
    if let Some(code) = err.status() {
        let code = code.to_string();
        return match code.as_str() {
            "535" | "534" | "530" | "538" => MailError::Auth(reply()),
            "550" | "551" | "553" | "501" | "450" | "451" | "452" if !err.is_client() => {
                MailError::Recipient(reply())
            }
            _ => MailError::Rejected(reply()),
        };
    }
    let text = reply();
    if text.contains("STARTTLS") {
        return MailError::NoStarttls;
    }
    if err.is_tls() {
        return MailError::Tls(text);
    }
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return match io.kind() {
                K::ConnectionRefused => {
                    MailError::Refused(format!("{}:{}", settings.host, settings.port))
                }
                K::TimedOut => MailError::Timeout(secs),
                K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
                    MailError::Dropped(io.to_string())
                }
                _ => MailError::Other(io.to_string()),
            };
        }
        source = e.source();
    }
    if text.contains("incomplete") || text.contains("closed") {
        return MailError::Dropped(text);
    }
    MailError::Other(text)
}

/// What automation needs to render a message for a record, send it and log it on the
/// timeline (the sequence runner's and a workflow rule's message jobs' grants).
pub const SENDER_GRANTS: &[(rivet_domain::Resource, rivet_domain::Action)] = {
    use rivet_domain::{Action, Resource};
    &[
        (Resource::Leads, Action::Read),
        (Resource::Contacts, Action::Read),
        (Resource::Accounts, Action::Read),
        (Resource::Deals, Action::Read),
        (Resource::Users, Action::Read),
        (Resource::Activities, Action::Read),
        (Resource::Activities, Action::Create),
    ]
};

/// A template e-mail automation sends to one person about one record: a sequence's e-mail step,
/// a workflow rule's `send_email_template`. Whether the person may be written to (an address,
/// consent, not unsubscribed) and whether the company sends e-mail are the caller's to check.
pub struct TemplateMail<'a> {
    /// Who renders and records it (needs the record's read and activities' create).
    pub actor: &'a rivet_domain::Actor,
    pub settings: &'a EmailSettings,
    pub template_id: rivet_domain::ids::EmailTemplateId,
    /// The record it is rendered for and logged on (the template's type).
    pub record_type: rivet_domain::templates::RecordType,
    pub record_id: uuid::Uuid,
    pub to: String,
    /// Its claim in `email_messages`: one message per key, ever.
    pub key: String,
    /// Written with the record of the send (a sequence step's move).
    pub also: Option<rivet_store::email::AlsoInTx<'a>>,
}

/// What sending a [`TemplateMail`] came to.
#[derive(Debug)]
pub enum TemplateSent {
    /// Sent now (or handed to the server by a sender that died), recorded with its activity
    /// on the record's timeline and [`TemplateMail::also`].
    Sent(rivet_store::email::EmailMessage),
    /// Sent before under the key: not sent a second time ([`TemplateMail::also`] not written).
    Already(rivet_store::email::EmailMessage),
    /// The template is gone or does not render for the record, in words.
    Unrenderable(String),
    /// The server did not take it (recorded as failed; a later try under the key may send).
    Failed(MailError),
}

/// Render, claim, decorate, send and record a [`TemplateMail`] (the path the sequence runner
/// and the workflow jobs share).
pub async fn send_template(
    app: &AppState,
    mail: TemplateMail<'_>,
) -> Result<TemplateSent, rivet_store::StoreError> {
    use rivet_domain::activities::{Link, RecordType as On};
    use rivet_domain::templates::RecordType;
    use rivet_store::StoreError;
    use rivet_store::email::{InFlight, NewMessage};
    let s = &app.store;
    let actor = mail.actor;
    let rendered = match rivet_store::templates::render_for(
        s,
        actor,
        mail.template_id,
        mail.record_type,
        mail.record_id,
    )
    .await
    {
        Ok(r) => r,
        Err(StoreError::Invalid(errors)) => {
            return Ok(TemplateSent::Unrenderable(format!(
                "the template cannot be rendered: {errors}"
            )));
        }
        Err(StoreError::NotFound) => {
            return Ok(TemplateSent::Unrenderable(
                "the e-mail template no longer exists".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    let new = NewMessage {
        record: Link {
            record_type: match mail.record_type {
                RecordType::Lead => On::Lead,
                RecordType::Contact => On::Contact,
                RecordType::Deal => On::Deal,
            },
            record_id: mail.record_id,
        },
        to: vec![mail.to],
        cc: Vec::new(),
        subject: rendered.subject,
        text: rendered.text,
        html: Some(rendered.html).filter(|h| !h.trim().is_empty()),
        message_id: message_id(mail.settings),
        idempotency_key: mail.key,
    };
    // The sequence runner and the workflow jobs hold a lease on the step: a message left
    // `sending` under the key is one whose sender died, so it is sent again (same Message-ID).
    Ok(
        match deliver(
            app,
            actor,
            mail.settings,
            &new,
            InFlight::TakeOver,
            mail.also,
        )
        .await?
        {
            Delivered::Sent(message) => TemplateSent::Sent(message),
            Delivered::Already(message) => TemplateSent::Already(message),
            Delivered::Failed(err) => TemplateSent::Failed(err),
        },
    )
}

/// What [`deliver`] came to.
#[derive(Debug)]
pub enum Delivered {
    /// Sent now (or handed to the server by a sender that died: counted sent), recorded with
    /// its activity on the record's timeline and the caller's `also`.
    Sent(rivet_store::email::EmailMessage),
    /// A message under the key was sent (or is being sent) before: that one, not a second.
    Already(rivet_store::email::EmailMessage),
    /// The server did not take it: recorded as failed, and why.
    Failed(MailError),
}

/// The reply kept for a message a process that died handed to the server (see
/// `rivet_store::email::Claim::Handed`).
pub const HANDED_REPLY: &str =
    "handed to the server by a sender that stopped before its answer; counted as sent";

/// Claim `new` under its key (counted against the company's day), decorate it, send it and
/// record the outcome: the one path from a record to the SMTP server (a one-off e-mail, a
/// sequence step, a workflow rule's message), on the company's kept connections. The moment
/// the server has the envelope and waits for the content is recorded first
/// (`rivet_store::email::mark_handed`); the server's answer and the message's activity then go
/// in one write. A message a dead process handed over is counted sent, not sent again.
pub async fn deliver(
    app: &AppState,
    actor: &rivet_domain::Actor,
    settings: &EmailSettings,
    new: &rivet_store::email::NewMessage,
    in_flight: rivet_store::email::InFlight,
    also: Option<rivet_store::email::AlsoInTx<'_>>,
) -> Result<Delivered, rivet_store::StoreError> {
    use rivet_domain::email::EmailStatus;
    use rivet_store::email::{self as email_store, Claim, Quota};
    let s = &app.store;
    let company = actor.company_id;
    let day = company_day(app, company).await;
    let over = MailError::DailyLimit(settings.daily_limit);
    let refused = over.to_string();
    let quota = Quota {
        day: &day,
        limit: settings.daily_limit,
        refused: &refused,
    };
    let message = match email_store::claim(s, actor, new, in_flight, quota).await? {
        Claim::Done(message) if message.status == EmailStatus::Sent => {
            return Ok(Delivered::Already(
                email_store::log_sent(s, actor, &message).await?,
            ));
        }
        Claim::Done(message) => return Ok(Delivered::Already(message)),
        Claim::Handed(message) => {
            return Ok(Delivered::Sent(
                email_store::record_sent(s, actor, &message, HANDED_REPLY, also).await?,
            ));
        }
        Claim::OverLimit(_) => return Ok(Delivered::Failed(over)),
        Claim::Send(message) => message,
    };
    let mut outgoing = Outgoing {
        to: message.to.clone(),
        cc: message.cc.clone(),
        subject: message.subject.clone(),
        text: message.text.clone(),
        html: message.html.clone(),
        message_id: message.message_id.clone(),
        unsubscribe: None,
    };
    // Tracked links, the open pixel and the unsubscribe link, as every e-mail from a record.
    decorate(app, settings, company, message.id, &mut outgoing);
    let handover = || async {
        match email_store::mark_handed(s, actor, &message).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the message was taken over by another sender".to_owned()),
            Err(e) => {
                tracing::warn!(company = %company, error = %e, "the hand-over was not recorded");
                Err("the message could not be recorded before its content; not sent".to_owned())
            }
        }
    };
    match converse(app, company, settings, &outgoing, Reuse::Kept, handover).await {
        Ok(sent) => Ok(Delivered::Sent(
            email_store::record_sent(s, actor, &message, &sent.reply, also).await?,
        )),
        Err(err) => {
            give_back(app, company, &day).await;
            email_store::record_failed(s, actor, &message, &err.to_string()).await?;
            Ok(Delivered::Failed(err))
        }
    }
}
