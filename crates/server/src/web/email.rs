//! E-mail pages (issue 15 §1): the company's e-mail settings at `/settings/email` (the form,
//! and a "Send a test e-mail" button that shows the server's reply or why it failed), and the
//! "Send e-mail" form of a lead's, contact's or deal's timeline. Both go through the API's
//! functions (`crate::api::email`), so the pages refuse and send what the API does. The page
//! never shows the password or the DKIM key: left blank they are kept, and a box clears each.
//! The same page's "Incoming mail (IMAP)" section holds the mailbox replies and bounces are
//! polled from (`crate::api::imap`), its test and "Poll now" buttons, and how the last poll
//! went.

use super::detail::record_path;
use super::scoring::number;
use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, options};
use crate::api::email::{SendEmail, save_settings, send_from_record, send_test};
use crate::api::imap::save_settings as save_imap_settings;
use crate::http::error::AppError;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::activities::{Link, RecordType};
use rivet_domain::email::{EmailSettings, EmailSettingsInput, TlsMode};
use rivet_domain::imap::{ImapPoll, ImapSettings, ImapSettingsInput};
use rivet_domain::{Action, Resource};
use rivet_store::documents;
use serde::Deserialize;

/// The settings form as the browser sends it.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    enabled: Option<String>,
    host: String,
    port: String,
    tls: String,
    allow_plaintext: Option<String>,
    username: String,
    password: String,
    clear_password: Option<String>,
    from_name: String,
    from_address: String,
    reply_to: String,
    daily_limit: String,
    dkim_selector: String,
    dkim_domain: String,
    dkim_private_key: String,
    clear_dkim_key: Option<String>,
    track_opens: Option<String>,
    track_clicks: Option<String>,
}

const FIELDS: &[&str] = &[
    "enabled",
    "host",
    "port",
    "tls",
    "allow_plaintext",
    "username",
    "password",
    "from_name",
    "from_address",
    "reply_to",
    "daily_limit",
    "dkim_selector",
    "dkim_domain",
    "dkim_private_key",
];

/// The IMAP form as the browser sends it.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ImapForm {
    enabled: Option<String>,
    host: String,
    port: String,
    tls: String,
    allow_plaintext: Option<String>,
    username: String,
    password: String,
    clear_password: Option<String>,
    folder: String,
    poll_minutes: String,
}

const IMAP_FIELDS: &[&str] = &[
    "enabled",
    "host",
    "port",
    "tls",
    "allow_plaintext",
    "username",
    "password",
    "folder",
    "poll_minutes",
];

#[derive(Template)]
#[template(path = "web/email_settings.html")]
struct EmailPage {
    layout: Layout,
    form: EmailForm,
    tls_options: Vec<Opt>,
    password_set: bool,
    dkim_key_set: bool,
    editable: bool,
    errors: FormErrors,
    imap: ImapForm,
    imap_tls_options: Vec<Opt>,
    imap_password_set: bool,
    imap_errors: FormErrors,
    /// How the last poll went, in words (`None`: never polled).
    last_poll: Option<String>,
    last_error: Option<String>,
}

fn form_of(s: &EmailSettings) -> EmailForm {
    let on = |b: bool| b.then(|| "true".to_owned());
    EmailForm {
        enabled: on(s.enabled),
        host: s.host.clone(),
        port: s.port.to_string(),
        tls: s.tls.as_str().to_owned(),
        allow_plaintext: on(s.allow_plaintext),
        username: s.username.clone(),
        from_name: s.from_name.clone(),
        from_address: s.from_address.clone(),
        reply_to: s.reply_to.clone(),
        daily_limit: s.daily_limit.to_string(),
        dkim_selector: s.dkim_selector.clone(),
        dkim_domain: s.dkim_domain.clone(),
        track_opens: on(s.track_opens),
        track_clicks: on(s.track_clicks),
        ..EmailForm::default()
    }
}

fn imap_form_of(s: &ImapSettings) -> ImapForm {
    let on = |b: bool| b.then(|| "true".to_owned());
    ImapForm {
        enabled: on(s.enabled),
        host: s.host.clone(),
        port: s.port.to_string(),
        tls: s.tls.as_str().to_owned(),
        allow_plaintext: on(s.allow_plaintext),
        username: s.username.clone(),
        folder: s.folder.clone(),
        poll_minutes: s.poll_minutes.to_string(),
        ..ImapForm::default()
    }
}

/// The page's two forms: each as the browser sent it (after a refusal) or as stored.
struct Forms {
    form: EmailForm,
    errors: FormErrors,
    imap: ImapForm,
    imap_errors: FormErrors,
}

impl Forms {
    fn stored(stored: &EmailSettings) -> Self {
        Self {
            form: form_of(stored),
            errors: FormErrors::new(),
            imap: imap_form_of(&stored.imap),
            imap_errors: FormErrors::new(),
        }
    }
}

fn tls_choices(selected: &str, plain: &str, wrapped: &str) -> Vec<Opt> {
    options(
        [
            ("starttls", plain),
            ("tls", wrapped),
            ("none", "None: password and mail in clear"),
        ]
        .map(|(v, l)| (v.to_owned(), l.to_owned())),
        selected,
    )
}

fn page(ctx: &Ctx, stored: &EmailSettings, poll: &ImapPoll, forms: Forms) -> EmailPage {
    let Forms {
        form,
        errors,
        imap,
        imap_errors,
    } = forms;
    let tls_options = tls_choices(
        &form.tls,
        "STARTTLS (usually port 587)",
        "TLS from the start (usually port 465)",
    );
    let imap_tls_options = tls_choices(
        &imap.tls,
        "STARTTLS (usually port 143)",
        "TLS from the start (usually port 993)",
    );
    let last_poll = poll.polled_at.map(|at| {
        format!(
            "{} — {} new message{}",
            at.format("%Y-%m-%d %H:%M UTC"),
            poll.taken,
            if poll.taken == 1 { "" } else { "s" }
        )
    });
    EmailPage {
        layout: ctx.layout("E-mail settings"),
        form,
        tls_options,
        password_set: stored.password_sealed.is_some(),
        dkim_key_set: stored.dkim_key_sealed.is_some(),
        editable: ctx.can(Resource::Settings, Action::Update),
        errors,
        imap,
        imap_tls_options,
        imap_password_set: stored.imap.password_sealed.is_some(),
        imap_errors,
        last_poll,
        last_error: poll.error.clone(),
    }
}

/// The page with `forms`, at `status`.
async fn render(
    ctx: &Ctx,
    status: StatusCode,
    forms: impl FnOnce(&EmailSettings) -> Forms,
) -> Result<Response, WebError> {
    let stored = stored(ctx).await?;
    let poll = rivet_store::imap::last_poll(&ctx.app.store, ctx.actor.company_id)
        .await
        .or_page(ctx)?;
    let forms = forms(&stored);
    Ok(ctx.render_status(status, &page(ctx, &stored, &poll, forms)))
}

async fn stored(ctx: &Ctx) -> Result<EmailSettings, WebError> {
    documents::settings(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)
}

pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    render(&ctx, StatusCode::OK, Forms::stored).await
}

/// A secret field: blank keeps the stored one, the box clears it.
fn secret(value: &str, clear: bool) -> Option<String> {
    if clear {
        Some(String::new())
    } else if value.is_empty() {
        None
    } else {
        Some(value.to_owned())
    }
}

/// The TLS mode chosen in a form (SMTP's or IMAP's), or the mistake on `tls`.
fn tls_choice(text: &str, errors: &mut FormErrors) -> Option<TlsMode> {
    let tls = text.parse::<TlsMode>().ok();
    if tls.is_none() {
        errors.add("tls", "must be one of the choices");
    }
    tls
}

pub async fn save(ctx: Ctx, WebForm(form): WebForm<EmailForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let port = number(&form.port, "port", &mut errors);
    let daily_limit = number(&form.daily_limit, "daily_limit", &mut errors);
    let tls = tls_choice(&form.tls, &mut errors);
    if errors.is_empty() {
        let input = EmailSettingsInput {
            enabled: Some(form.enabled.is_some()),
            host: Some(form.host.clone()),
            port,
            tls,
            allow_plaintext: Some(form.allow_plaintext.is_some()),
            username: Some(form.username.clone()),
            password: secret(&form.password, form.clear_password.is_some()),
            from_name: Some(form.from_name.clone()),
            from_address: Some(form.from_address.clone()),
            reply_to: Some(form.reply_to.clone()),
            daily_limit,
            dkim_selector: Some(form.dkim_selector.clone()),
            dkim_domain: Some(form.dkim_domain.clone()),
            dkim_private_key: secret(form.dkim_private_key.trim(), form.clear_dkim_key.is_some()),
            track_opens: Some(form.track_opens.is_some()),
            track_clicks: Some(form.track_clicks.is_some()),
        };
        match save_settings(&ctx.app, &ctx.actor, input).await {
            Ok(_) => return Ok(ctx.done("/settings/email", "Saved the e-mail settings.")),
            Err(err) => errors.absorb(err, FIELDS).or_page(&ctx)?,
        }
    }
    let form = EmailForm {
        password: String::new(),
        dkim_private_key: String::new(),
        ..form
    };
    render(&ctx, StatusCode::UNPROCESSABLE_ENTITY, |stored| Forms {
        form,
        errors,
        ..Forms::stored(stored)
    })
    .await
}

/// Save the IMAP section; its mistakes are shown next to its own fields.
pub async fn save_imap(ctx: Ctx, WebForm(form): WebForm<ImapForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let port = number(&form.port, "port", &mut errors);
    let poll_minutes = number(&form.poll_minutes, "poll_minutes", &mut errors);
    let tls = tls_choice(&form.tls, &mut errors);
    if errors.is_empty() {
        let input = ImapSettingsInput {
            enabled: Some(form.enabled.is_some()),
            host: Some(form.host.clone()),
            port,
            tls,
            allow_plaintext: Some(form.allow_plaintext.is_some()),
            username: Some(form.username.clone()),
            password: secret(&form.password, form.clear_password.is_some()),
            folder: Some(form.folder.clone()),
            poll_minutes,
        };
        match save_imap_settings(&ctx.app, &ctx.actor, input).await {
            Ok(_) => return Ok(ctx.done("/settings/email", "Saved the IMAP settings.")),
            Err(err) => errors.absorb(err, IMAP_FIELDS).or_page(&ctx)?,
        }
    }
    let imap = ImapForm {
        password: String::new(),
        ..form
    };
    render(&ctx, StatusCode::UNPROCESSABLE_ENTITY, |stored| Forms {
        imap,
        imap_errors: errors,
        ..Forms::stored(stored)
    })
    .await
}

/// "Test the mailbox": back to the page with the server's greeting, or why it failed.
pub async fn test_imap(ctx: Ctx) -> Result<Response, WebError> {
    Ok(
        match crate::imap::test(&ctx.app, ctx.actor.company_id).await {
            Ok(tested) => ctx.done(
                "/settings/email",
                format!("The mailbox works. {}", tested.reply),
            ),
            Err(err) => ctx.refused(
                "/settings/email",
                format!("The mailbox could not be read: {err}"),
            ),
        },
    )
}

/// "Poll now": back to the page with what the poll took, or why it failed.
pub async fn poll_imap(ctx: Ctx) -> Result<Response, WebError> {
    Ok(
        match crate::imap::poll(&ctx.app, ctx.actor.company_id).await {
            Ok(r) => ctx.done(
                "/settings/email",
                format!(
                    "Polled the mailbox: {} new message(s): {} replies, {} bounces, {} taken before, {} answering nothing sent from Rivet.",
                    r.taken, r.replied, r.bounced, r.replayed, r.ignored
                ),
            ),
            Err(err) => ctx.refused(
                "/settings/email",
                format!("The mailbox could not be polled: {err}"),
            ),
        },
    )
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct TestForm {
    to: String,
}

/// "Send a test e-mail": back to the page with the server's reply, or why it failed.
pub async fn test(ctx: Ctx, WebForm(form): WebForm<TestForm>) -> Result<Response, WebError> {
    Ok(match send_test(&ctx.app, &ctx.actor, &form.to).await {
        Ok(sent) => ctx.done(
            "/settings/email",
            format!(
                "Test e-mail sent to {}. The server replied: {}",
                sent.to, sent.reply
            ),
        ),
        Err(err) => ctx.refused(
            "/settings/email",
            format!("The test e-mail was not sent: {}", plain(&err)),
        ),
    })
}

/// An error as one sentence for a message at the top of a page.
fn plain(err: &AppError) -> String {
    match err {
        AppError::Validation(errors) => errors.to_string(),
        other => other.problem().detail,
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct SendForm {
    to: String,
    template_id: String,
    subject: String,
    text: String,
}

async fn send(ctx: Ctx, record: Link, form: SendForm) -> Result<Response, WebError> {
    let back = record_path(record.record_type, record.record_id);
    let filled = |text: String| Some(text).filter(|t| !t.trim().is_empty());
    let template_id = match filled(form.template_id) {
        Some(id) => Some(id.parse().map_err(|_| ctx.fail(AppError::NotFound))?),
        None => None,
    };
    let body = SendEmail {
        to: filled(form.to),
        template_id,
        subject: filled(form.subject),
        text: filled(form.text),
        ..SendEmail::default()
    };
    Ok(
        match send_from_record(&ctx.app, &ctx.actor, record, body).await {
            Ok(message) => ctx.done(&back, format!("E-mail sent to {}.", message.to.join(", "))),
            Err(AppError::NotFound) => return Err(ctx.fail(AppError::NotFound)),
            Err(err) => ctx.refused(&back, format!("The e-mail was not sent: {}", plain(&err))),
        },
    )
}

fn link(record_type: RecordType, id: &str, ctx: &Ctx) -> Result<Link, WebError> {
    Ok(Link {
        record_type,
        record_id: id.parse().map_err(|_| ctx.fail(AppError::NotFound))?,
    })
}

pub async fn send_lead(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<SendForm>,
) -> Result<Response, WebError> {
    let record = link(RecordType::Lead, &id, &ctx)?;
    send(ctx, record, form).await
}

pub async fn send_contact(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<SendForm>,
) -> Result<Response, WebError> {
    let record = link(RecordType::Contact, &id, &ctx)?;
    send(ctx, record, form).await
}

pub async fn send_deal(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<SendForm>,
) -> Result<Response, WebError> {
    let record = link(RecordType::Deal, &id, &ctx)?;
    send(ctx, record, form).await
}
