//! E-mail over the API (issue 15 §1): the company's settings (`GET`/`PUT /settings/email`), a
//! test message (`POST /settings/email/test`), and one-off e-mails from a lead, contact or deal
//! (`POST`/`GET /{leads|contacts|deals}/{id}/emails`). The functions the pages call too are
//! here ([`save_settings`], [`send_test`], [`send_from_record`]); sending is `crate::mail`,
//! keeping the messages `rivet_store::email`.
//!
//! The settings are not served through `settings_doc::SettingsApi` like scoring's or risk's:
//! that shape answers with the stored document, and this one's stored document holds sealed
//! secrets that must never be shown, while a write merges the secrets it leaves out with the
//! stored ones and seals the new ones with the installation's key. The store side is still a
//! `documents::Document` (one row per company, audited with the secrets redacted).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get, post, put};
use crate::mail::{self, Delivered, MailError, Outgoing};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::activities::{Link, RecordType};
use rivet_domain::email::{self as domain, EmailSettings, EmailSettingsInput, EmailSettingsView};
use rivet_domain::ids::EmailTemplateId;
use rivet_domain::templates::RecordType as TemplateRecordType;
use rivet_domain::{Action, Actor, Email, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::documents;
use rivet_store::email::{self as store, EmailMessage, NewMessage};
use rivet_store::record;
use rivet_store::{StoreError, templates};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);
const SEND: Access = Access::Allow(Resource::Activities, Action::Create);

use rivet_domain::email::{MAX_BODY, MAX_CC, MAX_IDEMPOTENCY_KEY as MAX_KEY, MAX_SUBJECT};

/// The largest one-off e-mail body: a text and an HTML body of [`MAX_BODY`] characters each,
/// which JSON may spell as up to 12 bytes a character (`\uXXXX` surrogate pairs), so one that
/// is too long is a 422 naming the field, not a 413.
const SEND_BODY_LIMIT: usize = 4 << 20;

impl From<MailError> for AppError {
    fn from(err: MailError) -> Self {
        match err {
            MailError::NotConfigured => AppError::Conflict {
                field: "email_settings".into(),
                message: "are not set up or not enabled for this company (Settings → E-mail)"
                    .into(),
            },
            MailError::DailyLimit(_) => AppError::LimitReached(err.to_string()),
            // The server refused, hung or was not there, or the stored settings cannot reach
            // it: the other server's side of the exchange failed (502), in plain words.
            _ => AppError::Upstream(err.to_string()),
        }
    }
}

/// A test message's recipient.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEmail {
    /// Where to send the test message.
    pub to: String,
}

/// What the SMTP server answered to the test message.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSent {
    pub to: String,
    /// The `Message-ID` it carried.
    pub message_id: String,
    /// The server's reply, e.g. `250 2.0.0 Ok: queued as 4F1`.
    pub reply: String,
}

/// A one-off e-mail from a record.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmail {
    /// The recipient; left out: the record's e-mail (a deal's: its primary or first contact's).
    pub to: Option<String>,
    /// Copies (at most 20).
    pub cc: Option<Vec<String>>,
    /// An e-mail template of the record's type, rendered for the record: it gives the subject
    /// and bodies that are left out here.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub template_id: Option<EmailTemplateId>,
    /// Required unless a template gives it.
    pub subject: Option<String>,
    /// The plain-text body; required unless a template gives it.
    pub text: Option<String>,
    /// An HTML body besides the text one.
    pub html: Option<String>,
    /// Repeating a send with the same key answers with the first message instead of sending
    /// another (a key per company); left out: a new key.
    pub idempotency_key: Option<String>,
}

pub fn routes() -> ApiRouter {
    let mut router = ApiRouter::new()
        .add(
            get("/settings/email", READ)
                .doc(
                    "settings",
                    "The company's e-mail settings: SMTP host, port and TLS mode, user, sender, \
                     reply-to, daily limit, DKIM selector and domain, and whether e-mail is \
                     enabled. The password and the DKIM key are never shown: password_set and \
                     dkim_key_set say whether one is stored",
                )
                .returns::<EmailSettingsView>(),
            show,
        )
        .add(
            put("/settings/email", UPDATE)
                .doc(
                    "settings",
                    "Replace the company's e-mail settings (a part left out takes its default). \
                     The password and the DKIM key are stored sealed: left out, the stored one \
                     is kept; \"\" clears it. tls none needs allow_plaintext true; enabled \
                     needs a host and a from address; DKIM needs its selector, domain and key \
                     together. Audited with the secrets redacted",
                )
                .body::<EmailSettingsInput>()
                .returns::<EmailSettingsView>(),
            replace,
        )
        .add(
            post("/settings/email/test", UPDATE)
                .doc(
                    "settings",
                    "Send a test message with the stored settings (enabled or not) and answer \
                     with the SMTP server's reply; when the server refuses, hangs or cannot be \
                     reached, a 502 whose detail says why in plain words (authentication \
                     failed, the server does not offer STARTTLS, connection refused, timed out, \
                     the server refused the recipient: …). 409 when no server is set up, 429 \
                     when the daily limit is reached",
                )
                .body::<TestEmail>()
                .returns::<TestSent>()
                .upstream(),
            test,
        );
    for (path, record_type) in [
        ("leads", RecordType::Lead),
        ("contacts", RecordType::Contact),
        ("deals", RecordType::Deal),
    ] {
        router = router
            .add(
                post(&format!("/{path}/{{id}}/emails"), SEND)
                    .doc(
                        path,
                        "Send a one-off e-mail from the record (needs read on the record and \
                         activities create): to the record's e-mail unless `to` is given, from \
                         the company's sender. It is logged as an outgoing email activity on \
                         the record's timeline carrying its Message-ID. 422 when a recipient \
                         opted out of e-mail or there is no address; 409 when e-mail is not \
                         enabled; 429 at the daily limit; 502 when the SMTP server refuses",
                    )
                    .body::<SendEmail>()
                    .body_limit(SEND_BODY_LIMIT)
                    .returns::<EmailMessage>()
                    .status(201)
                    .upstream(),
                move |state: State<AppState>,
                      auth: Auth,
                      id: Path<String>,
                      body: Json<SendEmail>| {
                    send_handler(state, auth, id, body, record_type)
                },
            )
            .add(
                get(
                    &format!("/{path}/{{id}}/emails"),
                    Access::Allow(record_type.resource(), Action::Read),
                )
                .doc(
                    path,
                    "The e-mails sent from the record, newest first (at most 200), each with \
                     its status (sending, sent, failed), Message-ID and the server's reply or \
                     the reason it failed",
                )
                .returns_all::<EmailMessage>(),
                move |state: State<AppState>, auth: Auth, id: Path<String>| {
                    list_handler(state, auth, id, record_type)
                },
            );
    }
    router
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<EmailSettingsView>, AppError> {
    let settings: EmailSettings = documents::settings(&app.store, &actor).await?;
    Ok(Json(settings.view()))
}

/// Check and store new settings, the secrets sealed (kept or cleared as the input says); a
/// DKIM key that does not parse is a 422 naming it. The page and the API alike.
pub async fn save_settings(
    app: &AppState,
    actor: &Actor,
    input: EmailSettingsInput,
) -> Result<EmailSettings, AppError> {
    let stored: EmailSettings = documents::settings(&app.store, actor).await?;
    let key_error = domain::new_dkim_key(&input).and_then(|k| mail::dkim_key(k).err());
    let settings = match (input.apply(&stored, &app.secrets), key_error) {
        (Ok(settings), None) => settings,
        (result, key_error) => {
            let mut errors = result.err().unwrap_or_default();
            if let Some(message) = key_error {
                errors.add("dkim_private_key", message);
            }
            return Err(AppError::Validation(errors));
        }
    };
    documents::put(&app.store, actor, &settings).await?;
    Ok(settings)
}

async fn replace(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<EmailSettingsInput>,
) -> Result<Json<EmailSettingsView>, AppError> {
    Ok(Json(save_settings(&app, &actor, input).await?.view()))
}

fn address(errors: &mut FieldErrors, field: &str, text: &str) -> Option<String> {
    errors
        .check(field, Email::parse(text))
        .map(|e| e.as_str().to_owned())
}

/// Send a test message to `to` with the company's stored settings.
pub async fn send_test(app: &AppState, actor: &Actor, to: &str) -> Result<TestSent, AppError> {
    let mut errors = FieldErrors::new();
    let to = address(&mut errors, "to", to);
    errors.into_result()?;
    let to = to.unwrap_or_default();
    let settings: EmailSettings = documents::settings(&app.store, actor).await?;
    let message_id = mail::message_id(&settings);
    let outgoing = Outgoing {
        to: vec![to.clone()],
        cc: Vec::new(),
        subject: "Rivet test e-mail".into(),
        text: "This is a test e-mail from Rivet: your e-mail settings work.".into(),
        html: None,
        message_id: message_id.clone(),
        unsubscribe: None,
    };
    let sent = mail::send(app, actor.company_id, &settings, &outgoing).await?;
    Ok(TestSent {
        to,
        message_id,
        reply: sent.reply,
    })
}

async fn test(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<TestEmail>,
) -> Result<Json<TestSent>, AppError> {
    Ok(Json(send_test(&app, &actor, &body.to).await?))
}

/// Where a record's e-mail goes by default, and whether its person withdrew consent: the
/// record read in the caller's scope (another company's: 404).
async fn recipient_of(
    app: &AppState,
    actor: &Actor,
    record: Link,
) -> Result<(Option<String>, bool), AppError> {
    let contact = |c: rivet_store::contacts::Contact| {
        let opted_out = !c.email_consent && c.email_consent_at.is_some();
        (c.email, opted_out)
    };
    Ok(match record.record_type {
        RecordType::Lead => {
            let lead: rivet_store::leads::Lead = record::get(
                &app.store,
                actor,
                rivet_domain::Id::from_uuid(record.record_id),
            )
            .await?;
            (lead.email, false)
        }
        RecordType::Contact => contact(
            record::get(
                &app.store,
                actor,
                rivet_domain::Id::from_uuid(record.record_id),
            )
            .await?,
        ),
        RecordType::Deal => {
            let deal: rivet_store::deals::Deal = record::get(
                &app.store,
                actor,
                rivet_domain::Id::from_uuid(record.record_id),
            )
            .await?;
            let first = match deal.contact_id {
                Some(id) => Some(id),
                None => rivet_store::deals::contacts_of(&app.store, actor, deal.id)
                    .await?
                    .first()
                    .map(|c| c.contact_id),
            };
            match first {
                Some(id) => match record::get(&app.store, actor, id).await {
                    Ok(c) => contact(c),
                    Err(rivet_store::StoreError::NotFound | rivet_store::StoreError::Forbidden) => {
                        (None, false)
                    }
                    Err(e) => return Err(e.into()),
                },
                None => (None, false),
            }
        }
        RecordType::Account => return Err(AppError::NotFound),
    })
}

/// Send a one-off e-mail from `record` (see the routes' description): checked, claimed under
/// its key, sent, and recorded with its activity; a failure is recorded on the message and
/// answered as a problem.
/// `body` with what its template renders for the record in the places it leaves out.
async fn with_template(
    app: &AppState,
    actor: &Actor,
    record: Link,
    body: SendEmail,
) -> Result<SendEmail, AppError> {
    let Some(id) = body.template_id else {
        return Ok(body);
    };
    let Ok(record_type) = record.record_type.as_str().parse::<TemplateRecordType>() else {
        return Err(AppError::field(
            "template_id",
            "templates are for leads, contacts and deals",
        ));
    };
    let rendered =
        match templates::render_for(&app.store, actor, id, record_type, record.record_id).await {
            // The template is what the body names: its absence is the body's mistake, not a
            // missing page.
            Err(StoreError::NotFound) => {
                return Err(AppError::field("template_id", "no such e-mail template"));
            }
            Err(StoreError::Invalid(errors)) => {
                let message = errors.to_string();
                return Err(AppError::field("template_id", message));
            }
            other => other?,
        };
    Ok(SendEmail {
        subject: body.subject.or(Some(rendered.subject)),
        text: body.text.or(Some(rendered.text)),
        html: body
            .html
            .or((!rendered.html.trim().is_empty()).then_some(rendered.html)),
        ..body
    })
}

pub async fn send_from_record(
    app: &AppState,
    actor: &Actor,
    record: Link,
    body: SendEmail,
) -> Result<EmailMessage, AppError> {
    let (default_to, withdrawn) = recipient_of(app, actor, record).await?;
    let body = with_template(app, actor, record, body).await?;
    let mut errors = FieldErrors::new();
    let to = match body.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(to) => address(&mut errors, "to", to),
        None => match default_to
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(to) => {
                if withdrawn {
                    errors.add("to", "this person opted out of e-mail; nothing was sent");
                }
                address(&mut errors, "to", to)
            }
            None => {
                errors.add("to", "the record has no e-mail address: give one");
                None
            }
        },
    };
    let cc_list = body.cc.unwrap_or_default();
    if cc_list.len() > MAX_CC {
        errors.add("cc", format!("at most {MAX_CC} addresses"));
    }
    let cc: Vec<String> = cc_list
        .iter()
        .filter_map(|a| address(&mut errors, "cc", a))
        .collect();
    let subject = body
        .subject
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if subject.is_empty() {
        errors.add("subject", "must not be empty (or give a template_id)");
    } else if subject.chars().count() > MAX_SUBJECT {
        errors.add(
            "subject",
            format!("is too long (at most {MAX_SUBJECT} characters)"),
        );
    } else if subject.chars().any(char::is_control) {
        errors.add("subject", "must be one line");
    }
    let text = body.text.unwrap_or_default();
    if text.trim().is_empty() {
        errors.add("text", "must not be empty (or give a template_id)");
    } else if text.chars().count() > MAX_BODY {
        errors.add(
            "text",
            format!("is too long (at most {MAX_BODY} characters)"),
        );
    }
    let html = body.html.filter(|h| !h.trim().is_empty());
    if html.as_ref().is_some_and(|h| h.chars().count() > MAX_BODY) {
        errors.add(
            "html",
            format!("is too long (at most {MAX_BODY} characters)"),
        );
    }
    let key = body
        .idempotency_key
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty());
    if key.as_ref().is_some_and(|k| k.chars().count() > MAX_KEY) {
        errors.add(
            "idempotency_key",
            format!("is too long (at most {MAX_KEY} characters)"),
        );
    }
    errors.into_result()?;
    let to = to.unwrap_or_default();
    let mut everyone = vec![to.clone()];
    everyone.extend(cc.iter().cloned());
    let opted_out = store::opted_out(&app.store, actor, &everyone).await?;
    if !opted_out.is_empty() {
        let field = if opted_out.contains(&to) { "to" } else { "cc" };
        return Err(AppError::field(
            field,
            format!(
                "{} opted out of e-mail; nothing was sent",
                opted_out.join(", ")
            ),
        ));
    }
    let settings: EmailSettings = documents::settings(&app.store, actor).await?;
    if !settings.ready() {
        return Err(MailError::NotConfigured.into());
    }
    let new = NewMessage {
        record,
        to: vec![to],
        cc,
        subject,
        text,
        html,
        message_id: mail::message_id(&settings),
        idempotency_key: key.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
    };
    match mail::deliver(app, actor, &settings, &new, store::InFlight::Leave, None).await? {
        Delivered::Sent(message) | Delivered::Already(message) => Ok(message),
        Delivered::Failed(err) => Err(err.into()),
    }
}

async fn send_handler(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<SendEmail>,
    record_type: RecordType,
) -> Result<(StatusCode, Json<EmailMessage>), AppError> {
    let record = Link {
        record_type,
        record_id: parse_id(&id)?,
    };
    let message = send_from_record(&app, &actor, record, body).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

async fn list_handler(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    record_type: RecordType,
) -> Result<Json<Page<EmailMessage>>, AppError> {
    let id: uuid::Uuid = parse_id(&id)?;
    recipient_of(
        &app,
        &actor,
        Link {
            record_type,
            record_id: id,
        },
    )
    .await?;
    Ok(Json(Page {
        data: store::for_record(&app.store, &actor, id).await?,
        next_cursor: None,
    }))
}

/// E-mail an invitation link to a new member through the sending path, when the company has
/// e-mail enabled (`None` when it has not): `Err` says why it did not go, in plain words.
pub async fn email_invitation(
    app: &AppState,
    actor: &Actor,
    to: &str,
    url: &str,
) -> Option<Result<(), String>> {
    let settings: EmailSettings = match documents::settings(&app.store, actor).await {
        Ok(settings) => settings,
        Err(e) => return Some(Err(e.to_string())),
    };
    if !settings.ready() {
        return None;
    }
    let company = rivet_store::companies::get(&app.store, actor)
        .await
        .map(|c| c.name)
        .unwrap_or_else(|_| "Rivet".into());
    let outgoing = Outgoing {
        to: vec![to.to_owned()],
        cc: Vec::new(),
        subject: format!("You are invited to {company} on Rivet"),
        text: format!(
            "You have been invited to join {company} on Rivet.\n\n\
             Set your password and sign in here (the link works once):\n{url}\n"
        ),
        html: None,
        message_id: mail::message_id(&settings),
        unsubscribe: None,
    };
    Some(
        mail::send(app, actor.company_id, &settings, &outgoing)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    )
}
