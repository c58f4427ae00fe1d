//! `/teams`: groups of members with a manager; the unit of "team" scope.

use crate::api::audit::{HistoryQuery, history};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::ids::UserId;
use rivet_domain::validate::parse_name;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::audit::AuditEntry;
use rivet_store::teams::{self, Team};
use serde::Deserialize;
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Teams, Action::Read);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/teams", READ)
                .doc("teams", "List teams")
                .returns_all::<Team>(),
            list,
        )
        .add(
            post("/teams", Access::Allow(Resource::Teams, Action::Create))
                .doc("teams", "Create a team")
                .body::<CreateTeam>()
                .returns::<Team>()
                .status(201),
            create,
        )
        .add(
            get("/teams/{id}", READ)
                .doc("teams", "One team")
                .returns::<Team>(),
            show,
        )
        .add(
            patch(
                "/teams/{id}",
                Access::Allow(Resource::Teams, Action::Update),
            )
            .doc("teams", "Rename a team or change its manager")
            .body::<UpdateTeam>()
            .returns::<Team>(),
            update,
        )
        .add(
            delete(
                "/teams/{id}",
                Access::Allow(Resource::Teams, Action::Delete),
            )
            .doc("teams", "Delete a team (members stay, without a team)")
            .status(204),
            remove,
        )
        .add(
            get("/teams/{id}/history", READ)
                .doc("teams", "Audit history of a team")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<Team>>, AppError> {
    Ok(Json(Page {
        data: teams::list(&app.store, &actor).await?,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    #[schema(schema_with = rivet_domain::validate::names::name_100)]
    pub name: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub manager_id: Option<UserId>,
}

/// Create a team (API and web form).
pub async fn create_team(
    app: &AppState,
    actor: &Actor,
    body: CreateTeam,
) -> Result<Team, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_name(&body.name, 100));
    errors.into_result()?;
    let Some(name) = name else {
        return Err(AppError::BadRequest("invalid team".into()));
    };
    Ok(teams::create(&app.store, actor, &name, body.manager_id).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreateTeam>,
) -> Result<(StatusCode, Json<Team>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_team(&app, &actor, body).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Team>, AppError> {
    Ok(Json(teams::get(&app.store, &actor, parse_id(&id)?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    #[serde(default)]
    #[schema(schema_with = rivet_domain::validate::names::optional_name_100)]
    pub name: Option<String>,
    /// `null` removes the manager.
    #[serde(default, deserialize_with = "crate::http::extract::present")]
    #[schema(value_type = Option<Uuid>)]
    pub manager_id: Option<Option<UserId>>,
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateTeam>,
) -> Result<Json<Team>, AppError> {
    let mut errors = FieldErrors::new();
    let name = match &body.name {
        Some(name) => errors.check("name", parse_name(name, 100)),
        None => None,
    };
    errors.into_result()?;
    Ok(Json(
        teams::update(
            &app.store,
            &actor,
            parse_id(&id)?,
            name.as_deref(),
            body.manager_id,
        )
        .await?,
    ))
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    teams::delete(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    teams::get(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Teams, id.uuid(), query).await
}
