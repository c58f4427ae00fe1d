//! WhatsApp Business over the API: the company's settings (`/settings/whatsapp`; the secrets
//! are write-only), a lead's or contact's conversation and sending to it
//! (`/{leads|contacts}/{id}/whatsapp`), and the public webhook Meta calls
//! (`/whatsapp/webhook`: `GET` answers the verification challenge, `POST` takes messages and
//! statuses, signed with the app secret). The use cases are `crate::whatsapp`.

use crate::http::auth::ClientIp;
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, SignedJson, parse_id};
use crate::http::router::{Access, ApiRouter, get, post, put};
use crate::state::AppState;
use crate::whatsapp::{self as use_case, SettingsView, WebhookResult};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rivet_domain::activities::RecordType;
use rivet_domain::whatsapp::{SendInput, SettingsInput};
use rivet_domain::{Action, Resource};
use rivet_store::whatsapp::Message;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const TAG: &str = "whatsapp";
const SEND: Access = Access::Allow(Resource::Activities, Action::Create);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get(
                "/settings/whatsapp",
                Access::Allow(Resource::Settings, Action::Read),
            )
            .doc(
                TAG,
                "The company's WhatsApp Business settings; the access token and app secret \
                     are never shown, only whether they are set",
            )
            .returns::<SettingsView>(),
            show_settings,
        )
        .add(
            put(
                "/settings/whatsapp",
                Access::Allow(Resource::Settings, Action::Update),
            )
            .doc(
                TAG,
                "Replace the WhatsApp settings (audited, secrets redacted); an access token \
                     or app secret left out keeps the stored one; enabling needs the phone \
                     number id, both secrets and the verify token; a phone number id another \
                     company uses is a 409",
            )
            .body::<SettingsInput>()
            .returns::<SettingsView>(),
            replace_settings,
        )
        .add(
            get(
                "/leads/{id}/whatsapp",
                Access::Allow(Resource::Leads, Action::Read),
            )
            .doc(
                TAG,
                "The lead's WhatsApp conversation, oldest first (the latest 200)",
            )
            .returns_all::<Message>(),
            lead_conversation,
        )
        .add(
            get(
                "/contacts/{id}/whatsapp",
                Access::Allow(Resource::Contacts, Action::Read),
            )
            .doc(
                TAG,
                "The contact's WhatsApp conversation, oldest first (the latest 200)",
            )
            .returns_all::<Message>(),
            contact_conversation,
        )
        .add(
            post("/leads/{id}/whatsapp", SEND)
                .doc(TAG, SEND_DOC)
                .body::<SendInput>()
                .returns::<Message>()
                .status(201)
                .upstream(),
            send_to_lead,
        )
        .add(
            post("/contacts/{id}/whatsapp", SEND)
                .doc(TAG, SEND_DOC)
                .body::<SendInput>()
                .returns::<Message>()
                .status(201)
                .upstream(),
            send_to_contact,
        )
        .add(
            get("/whatsapp/webhook", Access::Public)
                .doc(
                    TAG,
                    "Meta's webhook verification: answers hub.challenge as text when \
                     hub.verify_token is a company's verify token, else 403",
                )
                .query::<VerifyParams>(),
            verify,
        )
        .add(
            post("/whatsapp/webhook", Access::Public)
                .doc(
                    TAG,
                    "Meta's webhook: messages received become inbound WhatsApp activities on the \
                     lead or contact with that phone number (or a new lead), statuses update the \
                     messages sent; signed with the company's app secret in \
                     X-Hub-Signature-256 (a wrong or missing signature is a 401), an unknown \
                     phone number id is a 404, a replay changes nothing",
                )
                .body::<WebhookPayload>()
                .returns::<WebhookResult>()
                .finds(),
            webhook,
        )
}

const SEND_DOC: &str = "Send a WhatsApp message: an approved template with its parameters, or \
     free text within 24 hours of the person's last message; needs read access to the record, \
     its WhatsApp consent and a valid phone number (422 naming what is missing). Recorded with \
     an outgoing whatsapp activity on its timeline; a refusal by WhatsApp is a 502 in its words \
     and records nothing";

async fn show_settings(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<SettingsView>, AppError> {
    Ok(Json(use_case::settings(&app, &actor).await?))
}

async fn replace_settings(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<SettingsInput>,
) -> Result<Json<SettingsView>, AppError> {
    Ok(Json(use_case::save_settings(&app, &actor, input).await?))
}

async fn conversation(
    app: &AppState,
    actor: &rivet_domain::Actor,
    record_type: RecordType,
    id: &str,
) -> Result<Json<serde_json::Value>, AppError> {
    let id: Uuid = parse_id(id)?;
    let messages = rivet_store::whatsapp::conversation(&app.store, actor, record_type, id).await?;
    Ok(Json(
        serde_json::json!({"data": messages, "next_cursor": null}),
    ))
}

async fn lead_conversation(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    conversation(&app, &actor, RecordType::Lead, &id).await
}

async fn contact_conversation(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    conversation(&app, &actor, RecordType::Contact, &id).await
}

async fn send_to(
    app: &AppState,
    actor: &rivet_domain::Actor,
    record_type: RecordType,
    id: &str,
    input: SendInput,
) -> Result<(axum::http::StatusCode, Json<Message>), AppError> {
    let id: Uuid = parse_id(id)?;
    let message = use_case::send(app, actor, record_type, id, input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(message)))
}

async fn send_to_lead(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(input): Json<SendInput>,
) -> Result<(axum::http::StatusCode, Json<Message>), AppError> {
    send_to(&app, &actor, RecordType::Lead, &id, input).await
}

async fn send_to_contact(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(input): Json<SendInput>,
) -> Result<(axum::http::StatusCode, Json<Message>), AppError> {
    send_to(&app, &actor, RecordType::Contact, &id, input).await
}

/// Meta's verification request.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    /// The verify token set in the company's WhatsApp settings.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// What to answer.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// A webhook delivery as Meta sends it; only `entry[].changes[].value` is read (its
/// `metadata.phone_number_id`, `contacts`, `messages` and `statuses`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPayload {
    /// `whatsapp_business_account`.
    pub object: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub entry: Vec<serde_json::Value>,
}

async fn verify(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(params): Query<VerifyParams>,
) -> Result<Response, AppError> {
    app.public_door(&ip).await?;
    let challenge = use_case::verify(
        &app,
        params.mode.as_deref(),
        params.verify_token.as_deref(),
        params.challenge.as_deref(),
    )
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

async fn webhook(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    // Parsed so a body that is not a webhook is refused as any other (400 naming an unknown
    // field); the signature is over the bytes as received.
    SignedJson { raw, .. }: SignedJson<WebhookPayload>,
) -> Result<Json<WebhookResult>, AppError> {
    app.public_door(&ip).await?;
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    Ok(Json(use_case::take_webhook(&app, signature, &raw).await?))
}
