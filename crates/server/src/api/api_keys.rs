//! `/api-keys`: keys for integrations, bound to the caller's company and a role. The secret is
//! in the create answer only.

use crate::api::audit::{HistoryQuery, history};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::ids::RoleId;
use rivet_domain::validate::parse_name;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::api_keys::{self, ApiKey};
use rivet_store::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::ApiKeys, Action::Read);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/api-keys", READ)
                .doc("api-keys", "List API keys (never their secrets)")
                .returns_all::<ApiKey>(),
            list,
        )
        .add(
            post(
                "/api-keys",
                Access::Allow(Resource::ApiKeys, Action::Create),
            )
            .doc("api-keys", "Create an API key; the secret is shown once")
            .body::<CreateApiKey>()
            .returns::<CreatedApiKey>()
            .status(201),
            create,
        )
        .add(
            get("/api-keys/{id}", READ)
                .doc("api-keys", "One API key")
                .returns::<ApiKey>(),
            show,
        )
        .add(
            delete(
                "/api-keys/{id}",
                Access::Allow(Resource::ApiKeys, Action::Delete),
            )
            .doc("api-keys", "Revoke an API key")
            .status(204),
            revoke,
        )
        .add(
            get("/api-keys/{id}/history", READ)
                .doc("api-keys", "Audit history of an API key")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<ApiKey>>, AppError> {
    Ok(Json(Page {
        data: api_keys::list(&app.store, &actor).await?,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(schema_with = rivet_domain::validate::names::name_100)]
    pub name: String,
    #[schema(value_type = uuid::Uuid)]
    pub role_id: RoleId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The key itself. It is not stored and cannot be shown again.
    pub secret: String,
}

/// Create a key (API and web form).
pub async fn create_key(
    app: &AppState,
    actor: &Actor,
    body: CreateApiKey,
) -> Result<CreatedApiKey, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_name(&body.name, 100));
    if !rivet_store::roles::exists(&app.store, actor, body.role_id).await? {
        errors.add("role_id", "does not exist");
    }
    errors.into_result()?;
    let Some(name) = name else {
        return Err(AppError::BadRequest("invalid API key".into()));
    };
    let (key, secret) = api_keys::create(&app.store, actor, &name, body.role_id).await?;
    Ok(CreatedApiKey { key, secret })
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_key(&app, &actor, body).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, AppError> {
    Ok(Json(
        api_keys::get(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

async fn revoke(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    api_keys::revoke(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    api_keys::get(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::ApiKeys, id.uuid(), query).await
}
