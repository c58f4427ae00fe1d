//! The webhooks pages: the list with a form for a new webhook (its secret is shown once on the
//! answer page), and one webhook's page (edit, turn on or off, send a test event, delete, the
//! delivery log). Saving goes through `crate::api::webhooks::{create_webhook, update_webhook}`, the
//! same checks as the API.

use super::view::{Ctx, FormErrors, Layout, OrPage, WebError, WebForm, ago, datetime};
use crate::api::webhooks::{CreateWebhook, UpdateWebhook, create_webhook, update_webhook};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::{Action, FieldErrors, Resource};
use rivet_store::page::PageRequest;
use rivet_store::webhooks::{self, Webhook};
use serde::Deserialize;

const FIELDS: &[&str] = &["url", "event_types", "description"];

pub struct HookRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub description: String,
    pub active: bool,
    pub failures: i32,
}

impl From<&Webhook> for HookRow {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url.clone(),
            events: w.event_types.join(", "),
            description: w.description.clone().unwrap_or_default(),
            active: w.active,
            failures: w.consecutive_failures,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct HookForm {
    url: String,
    /// Event types separated by commas or spaces (`*` for all).
    event_types: String,
    description: String,
    active: Option<String>,
}

impl HookForm {
    fn types(&self) -> Vec<String> {
        self.event_types
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn of(w: &Webhook) -> Self {
        Self {
            url: w.url.clone(),
            event_types: w.event_types.join(", "),
            description: w.description.clone().unwrap_or_default(),
            active: w.active.then(|| "true".to_owned()),
        }
    }
}

/// The known event types, for the form's hint.
fn known_types() -> String {
    format!(
        "Separated by commas; * means every event. The events: {}.",
        rivet_domain::events::known_types().join(", ")
    )
}

/// Take in a save's error: `event_types[2]` is shown at the event types field.
fn absorb(errors: &mut FormErrors, err: AppError) -> Result<(), AppError> {
    let err = match err {
        AppError::Validation(list) => AppError::Validation(FieldErrors(
            list.0
                .into_iter()
                .map(|mut e| {
                    if e.field.starts_with("event_types[") {
                        e.field = "event_types".into();
                    }
                    e
                })
                .collect(),
        )),
        other => other,
    };
    errors.absorb(err, FIELDS)
}

#[derive(Template)]
#[template(path = "web/webhooks.html")]
struct ListPage {
    layout: Layout,
    hooks: Vec<HookRow>,
    can_create: bool,
    form: HookForm,
    known_hint: String,
    errors: FormErrors,
}

async fn list_page(ctx: &Ctx, form: HookForm, errors: FormErrors) -> Result<ListPage, WebError> {
    let hooks = webhooks::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    Ok(ListPage {
        layout: ctx.layout("Webhooks"),
        hooks: hooks.iter().map(HookRow::from).collect(),
        can_create: ctx.can(Resource::Webhooks, Action::Create),
        form,
        known_hint: known_types(),
        errors,
    })
}

pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    ctx.require(Resource::Webhooks, Action::Read)?;
    let form = HookForm {
        event_types: "*".into(),
        active: Some("true".into()),
        ..HookForm::default()
    };
    let page = list_page(&ctx, form, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

#[derive(Template)]
#[template(path = "web/webhook_created.html")]
struct CreatedPage {
    layout: Layout,
    id: String,
    url: String,
    secret: String,
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<HookForm>) -> Result<Response, WebError> {
    ctx.require(Resource::Webhooks, Action::Create)?;
    let body = CreateWebhook {
        url: form.url.clone(),
        event_types: form.types(),
        description: Some(form.description.clone()),
        active: Some(form.active.is_some()),
    };
    let mut errors = FormErrors::new();
    match create_webhook(&ctx.app, &ctx.actor, body).await {
        Ok(created) => {
            return Ok(ctx.render(&CreatedPage {
                layout: ctx.layout("Webhook created"),
                id: created.webhook.id.to_string(),
                url: created.webhook.url,
                secret: created.secret,
            }));
        }
        Err(err) => absorb(&mut errors, err).or_page(&ctx)?,
    }
    let page = list_page(&ctx, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub struct DeliveryRow {
    pub event_type: String,
    pub event_id: String,
    pub state: String,
    pub delivered: bool,
    pub attempts: i32,
    pub status: String,
    pub error: String,
    pub when: String,
    pub when_ago: String,
}

#[derive(Template)]
#[template(path = "web/webhook_edit.html")]
struct EditPage {
    layout: Layout,
    hook: HookRow,
    disabled_reason: String,
    can_update: bool,
    can_delete: bool,
    form: HookForm,
    known_hint: String,
    errors: FormErrors,
    deliveries: Vec<DeliveryRow>,
}

async fn edit_page(
    ctx: &Ctx,
    hook: &Webhook,
    form: HookForm,
    errors: FormErrors,
) -> Result<EditPage, WebError> {
    let log = webhooks::deliveries(
        &ctx.app.store,
        &ctx.actor,
        hook.id,
        PageRequest {
            limit: 50,
            after: None,
        },
    )
    .await
    .or_page(ctx)?;
    Ok(EditPage {
        layout: ctx.layout(format!("Webhook {}", hook.url)),
        hook: HookRow::from(hook),
        disabled_reason: hook.disabled_reason.clone().unwrap_or_default(),
        can_update: ctx.can(Resource::Webhooks, Action::Update),
        can_delete: ctx.can(Resource::Webhooks, Action::Delete),
        form,
        known_hint: known_types(),
        errors,
        deliveries: log
            .data
            .iter()
            .map(|d| DeliveryRow {
                event_type: d.event_type.clone(),
                event_id: d.event_id.to_string(),
                delivered: d.state == webhooks::DELIVERED,
                state: d.state.clone(),
                attempts: d.attempts,
                status: d
                    .response_status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "—".into()),
                error: d.last_error.clone().unwrap_or_default(),
                when: datetime(&d.updated_at),
                when_ago: ago(&d.updated_at),
            })
            .collect(),
    })
}

async fn load(ctx: &Ctx, id: &str) -> Result<Webhook, WebError> {
    let id = parse_id(id).or_page(ctx)?;
    webhooks::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

pub async fn show(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.require(Resource::Webhooks, Action::Read)?;
    let hook = load(&ctx, &id).await?;
    let page = edit_page(&ctx, &hook, HookForm::of(&hook), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<HookForm>,
) -> Result<Response, WebError> {
    ctx.require(Resource::Webhooks, Action::Update)?;
    let hook = load(&ctx, &id).await?;
    let patch = UpdateWebhook {
        url: Some(form.url.clone()),
        event_types: Some(form.types()),
        description: Some(Some(form.description.clone())),
        active: Some(form.active.is_some()),
    };
    let mut errors = FormErrors::new();
    match update_webhook(&ctx.app, &ctx.actor, hook.id, patch).await {
        Ok(saved) => {
            return Ok(ctx.done(
                &format!("/admin/webhooks/{}", saved.id),
                "Saved the webhook.",
            ));
        }
        Err(err) => absorb(&mut errors, err).or_page(&ctx)?,
    }
    let page = edit_page(&ctx, &hook, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// Turn a webhook on or off.
pub async fn toggle(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.require(Resource::Webhooks, Action::Update)?;
    let hook = load(&ctx, &id).await?;
    let patch = UpdateWebhook {
        active: Some(!hook.active),
        ..UpdateWebhook::default()
    };
    let saved = update_webhook(&ctx.app, &ctx.actor, hook.id, patch)
        .await
        .or_page(&ctx)?;
    let message = if saved.active {
        "The webhook is on: new events are delivered again."
    } else {
        "The webhook is off: no events are delivered until it is turned on."
    };
    Ok(ctx.done(&format!("/admin/webhooks/{}", saved.id), message))
}

pub async fn send_test(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.require(Resource::Webhooks, Action::Update)?;
    let hook = load(&ctx, &id).await?;
    webhooks::queue_test(&ctx.app.store, &ctx.actor, hook.id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        &format!("/admin/webhooks/{}", hook.id),
        "A test event is on its way; its delivery shows in the log below.",
    ))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.require(Resource::Webhooks, Action::Delete)?;
    let hook = load(&ctx, &id).await?;
    webhooks::delete(&ctx.app.store, &ctx.actor, hook.id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/admin/webhooks",
        format!("Deleted the webhook to {}.", hook.url),
    ))
}
