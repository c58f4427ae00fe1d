//! WhatsApp on the pages: the settings page (Administration › WhatsApp, `/admin/whatsapp`; the
//! secrets are write-only, a blank field keeps the stored one) and the conversation card on a
//! lead's and a contact's page (the thread with each message's status, and a send box: free
//! text inside the service window, an approved template otherwise). Both save through the use
//! cases the API calls (`crate::whatsapp`), so the same checks apply.

use super::view::{Ctx, FormErrors, Layout, OrPage, WebError, WebForm, datetime};
use crate::http::error::AppError;
use crate::whatsapp as use_case;
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::activities::{Direction, RecordType};
use rivet_domain::whatsapp::{SendInput, SettingsInput, TemplateInput, in_service_window};
use rivet_domain::{Action, Resource};
use std::collections::HashMap;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The settings page

#[derive(Template)]
#[template(path = "web/whatsapp_settings.html")]
struct SettingsPage {
    layout: Layout,
    errors: FormErrors,
    phone_number_id: String,
    business_account_id: String,
    verify_token: String,
    api_base_url: String,
    enabled: bool,
    access_token_hint: String,
    app_secret_hint: String,
    webhook_path: &'static str,
    can_update: bool,
}

/// What a secret's field says: whether one is stored (it is never shown).
fn secret_hint(set: bool) -> String {
    if set {
        "Stored (not shown); leave blank to keep it".into()
    } else {
        "Not set".into()
    }
}

fn settings_page(ctx: &Ctx, view: &use_case::SettingsView, errors: FormErrors) -> SettingsPage {
    SettingsPage {
        layout: ctx.layout("WhatsApp"),
        errors,
        phone_number_id: view.phone_number_id.clone().unwrap_or_default(),
        business_account_id: view.business_account_id.clone().unwrap_or_default(),
        verify_token: view.verify_token.clone().unwrap_or_default(),
        api_base_url: view.api_base_url.clone(),
        enabled: view.enabled,
        access_token_hint: secret_hint(view.access_token_set),
        app_secret_hint: secret_hint(view.app_secret_set),
        webhook_path: view.webhook_path,
        can_update: ctx.can(Resource::Settings, Action::Update),
    }
}

/// `GET /admin/whatsapp`.
pub async fn settings(ctx: Ctx) -> Result<Response, WebError> {
    let view = use_case::settings(&ctx.app, &ctx.actor)
        .await
        .or_page(&ctx)?;
    Ok(ctx.render(&settings_page(&ctx, &view, FormErrors::new())))
}

const SETTINGS_FIELDS: &[&str] = &[
    "phone_number_id",
    "business_account_id",
    "access_token",
    "app_secret",
    "verify_token",
    "api_base_url",
    "enabled",
];

/// `POST /admin/whatsapp`.
pub async fn save_settings(
    ctx: Ctx,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let text = |name: &str| form.get(name).cloned().filter(|v| !v.trim().is_empty());
    let input = SettingsInput {
        phone_number_id: text("phone_number_id"),
        business_account_id: text("business_account_id"),
        access_token: text("access_token"),
        app_secret: text("app_secret"),
        verify_token: text("verify_token"),
        api_base_url: text("api_base_url"),
        enabled: Some(form.get("enabled").is_some_and(|v| v == "true")),
    };
    match use_case::save_settings(&ctx.app, &ctx.actor, input).await {
        Ok(_) => Ok(ctx.done("/admin/whatsapp", "Saved the WhatsApp settings.")),
        Err(err) => {
            let mut errors = FormErrors::new();
            errors.absorb(err, SETTINGS_FIELDS).or_page(&ctx)?;
            // What was typed stays (never the secrets).
            let mut view = use_case::settings(&ctx.app, &ctx.actor)
                .await
                .or_page(&ctx)?;
            view.phone_number_id = text("phone_number_id");
            view.business_account_id = text("business_account_id");
            view.verify_token = text("verify_token");
            view.api_base_url = text("api_base_url").unwrap_or(view.api_base_url);
            view.enabled = form.get("enabled").is_some_and(|v| v == "true");
            Ok(ctx.render_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                &settings_page(&ctx, &view, errors),
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The conversation card

/// One message of the thread.
pub struct Line {
    pub inbound: bool,
    pub body: String,
    pub status: &'static str,
    pub at: String,
    pub error: String,
}

/// The card on a lead's or contact's page.
pub struct Card {
    /// Where the send box posts (`/leads/{id}/whatsapp`).
    pub action: String,
    pub lines: Vec<Line>,
    /// Why nothing can be sent (not set up, no consent, no number), if so.
    pub blocked: String,
    /// Inside the 24-hour service window: free text may be sent.
    pub in_window: bool,
    pub can_send: bool,
}

/// The card of the lead or contact `id` (at `path`), as the caller may see it.
pub async fn card(
    ctx: &Ctx,
    record_type: RecordType,
    id: Uuid,
    path: &str,
) -> Result<Card, WebError> {
    let app = &ctx.app;
    let messages = rivet_store::whatsapp::conversation(&app.store, &ctx.actor, record_type, id)
        .await
        .or_page(ctx)?;
    let to = rivet_store::whatsapp::recipient(&app.store, &ctx.actor, record_type, id)
        .await
        .or_page(ctx)?;
    let settings = use_case::settings(app, &ctx.actor).await.or_page(ctx)?;
    let last = match &to.phone {
        Some(phone) => rivet_store::whatsapp::last_inbound(&app.store, &ctx.actor, phone)
            .await
            .or_page(ctx)?,
        None => None,
    };
    let blocked = if !settings.enabled {
        "WhatsApp is not set up for your company (Administration › WhatsApp)."
    } else if !to.consent {
        "No WhatsApp consent recorded: edit the record to record it before sending."
    } else if to.phone.is_none() {
        "No valid phone number to message."
    } else {
        ""
    };
    Ok(Card {
        action: format!("{path}/whatsapp"),
        lines: messages
            .into_iter()
            .map(|m| Line {
                inbound: m.direction == Direction::Inbound,
                body: m.body.unwrap_or_else(|| {
                    let name = m.template_name.unwrap_or_default();
                    if m.template_parameters.is_empty() {
                        format!("Template {name}")
                    } else {
                        format!("Template {name}: {}", m.template_parameters.join(", "))
                    }
                }),
                status: m.status.as_str(),
                at: datetime(&m.created_at),
                error: m.error.unwrap_or_default(),
            })
            .collect(),
        blocked: blocked.to_owned(),
        in_window: in_service_window(last, chrono::Utc::now()),
        can_send: ctx.can(Resource::Activities, Action::Create),
    })
}

async fn send(
    ctx: Ctx,
    record_type: RecordType,
    base: &str,
    id: String,
    form: HashMap<String, String>,
) -> Result<Response, WebError> {
    let back = format!("{base}/{id}#whatsapp");
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(ctx.fail(AppError::NotFound));
    };
    let text = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let input = match (text("text"), text("template_name")) {
        (Some(body), _) => SendInput {
            template: None,
            text: Some(body),
        },
        (None, Some(name)) => SendInput {
            template: Some(TemplateInput {
                name,
                language: text("template_language").unwrap_or_else(|| "en".into()),
                parameters: text("template_parameters")
                    .map(|p| {
                        p.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            text: None,
        },
        (None, None) => SendInput::default(),
    };
    match use_case::send(&ctx.app, &ctx.actor, record_type, id, input).await {
        Ok(_) => Ok(ctx.done(&back, "Sent on WhatsApp.")),
        Err(AppError::Validation(errors)) => {
            let why: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
                .collect();
            Ok(ctx.refused(&back, format!("Not sent: {}.", why.join("; "))))
        }
        Err(AppError::Upstream(why)) => Ok(ctx.refused(&back, format!("Not sent: {why}."))),
        Err(other) => Err(ctx.fail(other)),
    }
}

/// `POST /leads/{id}/whatsapp`.
pub async fn send_to_lead(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    send(ctx, RecordType::Lead, "/leads", id, form).await
}

/// `POST /contacts/{id}/whatsapp`.
pub async fn send_to_contact(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    send(ctx, RecordType::Contact, "/contacts", id, form).await
}
