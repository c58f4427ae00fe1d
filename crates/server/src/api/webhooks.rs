//! `/webhooks`: a company's outbound webhooks (CRUD, the delivery log, a test event). The
//! secret is in the create answer only. The API handlers and the web page share
//! [`validate`], [`create_webhook`] and [`update_webhook`].
//!
//! A URL is checked when saved (http or https, at most 2,048 characters, and — unless
//! `RIVET_WEBHOOK_ALLOW_PRIVATE` — not a private, loopback or link-local address, literally or
//! by what its host resolves to now) and again at every delivery (`crate::dispatcher`).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::events::{is_subscribable, parse_webhook_url};
use rivet_domain::ids::WebhookId;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::webhooks::{self, Delivery, Webhook, WebhookInput};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Webhooks, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Webhooks, Action::Update);

/// The longest description accepted.
const MAX_DESCRIPTION: usize = 500;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/webhooks", READ)
                .doc("webhooks", "List webhooks (never their secrets)")
                .returns_all::<Webhook>(),
            list,
        )
        .add(
            post("/webhooks", Access::Allow(Resource::Webhooks, Action::Create))
                .doc(
                    "webhooks",
                    "Create a webhook; its signing secret is shown once",
                )
                .body::<CreateWebhook>()
                .returns::<CreatedWebhook>()
                .status(201),
            create,
        )
        .add(
            get("/webhooks/{id}", READ)
                .doc("webhooks", "One webhook")
                .returns::<Webhook>(),
            show,
        )
        .add(
            patch("/webhooks/{id}", UPDATE)
                .doc(
                    "webhooks",
                    "Change a webhook (url, event_types, description, active)",
                )
                .patch_body::<UpdateWebhook>(&["url", "event_types"])
                .returns::<Webhook>(),
            update,
        )
        .add(
            delete(
                "/webhooks/{id}",
                Access::Allow(Resource::Webhooks, Action::Delete),
            )
            .doc("webhooks", "Delete a webhook and its delivery log")
            .status(204),
            remove,
        )
        .add(
            get("/webhooks/{id}/deliveries", READ)
                .doc(
                    "webhooks",
                    "A webhook's deliveries, newest first: event, state, response code, attempts, error",
                )
                .returns_page::<Delivery>(),
            deliveries,
        )
        .add(
            post("/webhooks/{id}/test", UPDATE)
                .doc("webhooks", "Queue a `webhook.test` event to this webhook")
                .returns::<Delivery>()
                .status(202),
            send_test,
        )
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// http(s) URL of the receiver, at most 2,048 characters.
    pub url: String,
    /// Event types to deliver (`lead.created`, …); `*` means all.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::http::extract::present")]
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Signs every delivery (`X-Rivet-Signature`). Shown once; it cannot be read again.
    pub secret: String,
}

/// Check a webhook's settings; every problem is named by its field.
pub async fn validate(app: &AppState, body: CreateWebhook) -> Result<WebhookInput, AppError> {
    let allow_private = app.config.webhook_allow_private;
    let mut errors = FieldErrors::new();
    let url = errors.check("url", parse_webhook_url(&body.url, allow_private));
    if let Some(url) = &url
        && !allow_private
        && url.literal_ip().is_none()
        && let Err(blocked) = resolves_public(url.host(), url.port()).await
    {
        errors.add("url", blocked);
    }
    if body.event_types.is_empty() {
        errors.add("event_types", "must name at least one event type (or *)");
    }
    let mut types: Vec<String> = Vec::new();
    for (i, t) in body.event_types.iter().enumerate() {
        let t = t.trim();
        if !is_subscribable(t) {
            errors.add(
                &format!("event_types[{i}]"),
                format!("{t:?} is not an event type; see GET /events or the README for the list"),
            );
        } else if !types.iter().any(|x| x == t) {
            types.push(t.to_owned());
        }
    }
    let description = body
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        errors.add(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
    }
    errors.into_result()?;
    let Some(url) = url else {
        return Err(AppError::field("url", "is not valid"));
    };
    Ok(WebhookInput {
        url: url.as_str().to_owned(),
        event_types: types,
        description,
        active: body.active.unwrap_or(true),
    })
}

/// Whether `host` resolves only to public addresses now. A name that does not resolve is let
/// through (it may exist later); delivery checks again.
async fn resolves_public(host: &str, port: u16) -> Result<(), String> {
    let lookup = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host((host, port)),
    )
    .await;
    let Ok(Ok(addrs)) = lookup else {
        return Ok(());
    };
    let addrs: Vec<_> = addrs.collect();
    crate::dispatcher::check_resolved(host, &addrs).map_err(|blocked| blocked.to_string())
}

/// Create a webhook (API and web form).
pub async fn create_webhook(
    app: &AppState,
    actor: &Actor,
    body: CreateWebhook,
) -> Result<CreatedWebhook, AppError> {
    let input = validate(app, body).await?;
    let (webhook, secret) = webhooks::create(&app.store, actor, &input).await?;
    Ok(CreatedWebhook { webhook, secret })
}

/// Apply a partial change over the webhook's current settings (API and web form).
pub async fn update_webhook(
    app: &AppState,
    actor: &Actor,
    id: WebhookId,
    patch: UpdateWebhook,
) -> Result<Webhook, AppError> {
    let current = webhooks::get(&app.store, actor, id).await?;
    let merged = CreateWebhook {
        url: patch.url.unwrap_or(current.url),
        event_types: patch.event_types.unwrap_or(current.event_types),
        description: patch.description.unwrap_or(current.description),
        active: Some(patch.active.unwrap_or(current.active)),
    };
    let input = validate(app, merged).await?;
    Ok(webhooks::update(&app.store, actor, id, &input).await?)
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<Webhook>>, AppError> {
    Ok(Json(Page {
        data: webhooks::list(&app.store, &actor).await?,
        next_cursor: None,
    }))
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreateWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_webhook(&app, &actor, body).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, AppError> {
    Ok(Json(
        webhooks::get(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateWebhook>,
) -> Result<Json<Webhook>, AppError> {
    Ok(Json(
        update_webhook(&app, &actor, parse_id(&id)?, body).await?,
    ))
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    webhooks::delete(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

async fn deliveries(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<Page<Delivery>>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        webhooks::deliveries(&app.store, &actor, parse_id(&id)?, page).await?,
    ))
}

async fn send_test(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Delivery>), AppError> {
    let delivery = webhooks::queue_test(&app.store, &actor, parse_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
