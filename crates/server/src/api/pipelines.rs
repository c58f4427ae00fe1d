//! `/pipelines`: a company's sales pipelines and their ordered stages.
//!
//! Pipelines are configuration, not records, and have no permission of their own so the catalog
//! stays stable: reading them needs `deals.read` (whoever works deals sees the board's columns),
//! changing them needs `settings.update` (administrators configure pipelines). The functions
//! the API handlers call are public so the pipelines page (`web::pipelines`) calls the same.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::ids::{PipelineId, StageId};
use rivet_domain::pipelines::{
    self as rules, ForecastCategory, NAME_MAX, Probability, StageInput, StageOutcome,
};
use rivet_domain::validate::parse_name;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::pipelines::{self, Pipeline, Stage, StageChanges};
use serde::Deserialize;
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Deals, Action::Read);
const CONFIGURE: Access = Access::Allow(Resource::Settings, Action::Update);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/pipelines", READ)
                .doc(
                    "pipelines",
                    "List pipelines with their ordered stages (needs deals.read)",
                )
                .returns_all::<Pipeline>(),
            list,
        )
        .add(
            post("/pipelines", CONFIGURE)
                .doc(
                    "pipelines",
                    "Create a pipeline, with the default stages unless given (needs settings.update)",
                )
                .body::<CreatePipeline>()
                .returns::<Pipeline>()
                .status(201),
            create,
        )
        .add(
            get("/pipelines/{id}", READ)
                .doc("pipelines", "One pipeline with its stages (needs deals.read)")
                .returns::<Pipeline>(),
            show,
        )
        .add(
            patch("/pipelines/{id}", CONFIGURE)
                .doc(
                    "pipelines",
                    "Rename a pipeline or make it the default (needs settings.update)",
                )
                .body::<UpdatePipeline>()
                .returns::<Pipeline>(),
            update,
        )
        .add(
            delete("/pipelines/{id}", CONFIGURE)
                .doc(
                    "pipelines",
                    "Delete a pipeline that is not the default and is unused (needs settings.update)",
                )
                .status(204),
            remove,
        )
        .add(
            post("/pipelines/{id}/stages", CONFIGURE)
                .doc(
                    "pipelines",
                    "Add a stage, last or at a position (needs settings.update)",
                )
                .body::<AddStage>()
                .returns::<Stage>()
                .status(201),
            add_stage,
        )
        .add(
            put("/pipelines/{id}/stages/order", CONFIGURE)
                .doc(
                    "pipelines",
                    "Reorder all stages of a pipeline (needs settings.update)",
                )
                .body::<StageOrder>()
                .returns::<Pipeline>(),
            reorder,
        )
        .add(
            patch("/pipelines/{id}/stages/{stage_id}", CONFIGURE)
                .doc(
                    "pipelines",
                    "Change or move a stage (needs settings.update)",
                )
                .body::<UpdateStage>()
                .returns::<Stage>(),
            update_stage,
        )
        .add(
            delete("/pipelines/{id}/stages/{stage_id}", CONFIGURE)
                .doc(
                    "pipelines",
                    "Delete an unused stage, keeping an open, a won and a lost one (needs settings.update)",
                )
                .status(204),
            remove_stage,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<Pipeline>>, AppError> {
    Ok(Json(Page {
        data: pipelines::list(&app.store, &actor).await?,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePipeline {
    #[schema(schema_with = rivet_domain::validate::names::name_100)]
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
    /// In order; at least one open, one won and one lost stage. Omitted: the default stages.
    pub stages: Option<Vec<StageInput>>,
}

/// Create a pipeline (API and the pipelines page).
pub async fn create_pipeline(
    app: &AppState,
    actor: &Actor,
    body: CreatePipeline,
) -> Result<Pipeline, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_name(&body.name, NAME_MAX));
    let stages = match &body.stages {
        Some(inputs) => match rules::parse_stages(inputs) {
            Ok(stages) => Some(stages),
            Err(stage_errors) => {
                errors.0.extend(stage_errors.0);
                None
            }
        },
        None => Some(rules::default_stages()),
    };
    errors.into_result()?;
    let (Some(name), Some(stages)) = (name, stages) else {
        return Err(AppError::BadRequest("invalid pipeline".into()));
    };
    Ok(pipelines::create(&app.store, actor, &name, body.is_default, &stages).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreatePipeline>,
) -> Result<(StatusCode, Json<Pipeline>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_pipeline(&app, &actor, body).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Pipeline>, AppError> {
    Ok(Json(
        pipelines::get(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePipeline {
    #[serde(default)]
    #[schema(schema_with = rivet_domain::validate::names::optional_name_100)]
    pub name: Option<String>,
    /// `true` makes this the default (the previous default stops being one).
    pub is_default: Option<bool>,
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdatePipeline>,
) -> Result<Json<Pipeline>, AppError> {
    Ok(Json(
        update_pipeline(&app, &actor, parse_id(&id)?, body).await?,
    ))
}

/// Rename a pipeline or make it the default (API and the pipelines page).
pub async fn update_pipeline(
    app: &AppState,
    actor: &Actor,
    id: PipelineId,
    body: UpdatePipeline,
) -> Result<Pipeline, AppError> {
    let mut errors = FieldErrors::new();
    let name = match &body.name {
        Some(name) => errors.check("name", parse_name(name, NAME_MAX)),
        None => None,
    };
    errors.into_result()?;
    Ok(pipelines::update(&app.store, actor, id, name.as_deref(), body.is_default).await?)
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    pipelines::delete(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStage {
    #[schema(schema_with = rivet_domain::validate::names::name_100)]
    pub name: String,
    /// Default win probability of deals in this stage, 0 to 100.
    pub probability: i64,
    /// One of pipeline, best_case, commit, closed, omitted.
    pub forecast_category: String,
    /// One of open (the default), won, lost.
    pub outcome: Option<String>,
    /// 1-based; omitted: after the last stage.
    pub position: Option<i64>,
}

async fn add_stage(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<AddStage>,
) -> Result<(StatusCode, Json<Stage>), AppError> {
    let stage = add_pipeline_stage(&app, &actor, parse_id(&id)?, body).await?;
    Ok((StatusCode::CREATED, Json(stage)))
}

/// Add a stage to a pipeline (API and the pipelines page).
pub async fn add_pipeline_stage(
    app: &AppState,
    actor: &Actor,
    id: PipelineId,
    body: AddStage,
) -> Result<Stage, AppError> {
    let input = StageInput {
        name: body.name,
        probability: body.probability,
        forecast_category: body.forecast_category,
        outcome: body.outcome,
    };
    let mut errors = FieldErrors::new();
    let spec = input.parse("", &mut errors);
    errors.into_result()?;
    let Some(spec) = spec else {
        return Err(AppError::BadRequest("invalid stage".into()));
    };
    Ok(pipelines::add_stage(&app.store, actor, id, &spec, body.position).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStage {
    #[serde(default)]
    #[schema(schema_with = rivet_domain::validate::names::optional_name_100)]
    pub name: Option<String>,
    pub probability: Option<i64>,
    pub forecast_category: Option<String>,
    pub outcome: Option<String>,
    /// 1-based; the stages in between shift by one.
    pub position: Option<i64>,
}

async fn update_stage(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((id, stage_id)): Path<(String, String)>,
    Json(body): Json<UpdateStage>,
) -> Result<Json<Stage>, AppError> {
    let (id, stage_id) = (parse_id(&id)?, parse_id(&stage_id)?);
    Ok(Json(
        update_pipeline_stage(&app, &actor, id, stage_id, body).await?,
    ))
}

/// Change or move a stage (API and the pipelines page).
pub async fn update_pipeline_stage(
    app: &AppState,
    actor: &Actor,
    id: PipelineId,
    stage_id: StageId,
    body: UpdateStage,
) -> Result<Stage, AppError> {
    let mut errors = FieldErrors::new();
    let changes = StageChanges {
        name: body
            .name
            .as_deref()
            .and_then(|n| errors.check("name", parse_name(n, NAME_MAX))),
        probability: body
            .probability
            .and_then(|p| errors.check("probability", Probability::parse(p))),
        forecast_category: body
            .forecast_category
            .as_deref()
            .and_then(|c| errors.check("forecast_category", c.parse::<ForecastCategory>())),
        outcome: body
            .outcome
            .as_deref()
            .and_then(|o| errors.check("outcome", o.parse::<StageOutcome>())),
        position: body.position,
    };
    errors.into_result()?;
    Ok(pipelines::update_stage(&app.store, actor, id, stage_id, &changes).await?)
}

async fn remove_stage(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((id, stage_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    pipelines::delete_stage(&app.store, &actor, parse_id(&id)?, parse_id(&stage_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageOrder {
    /// Every stage id of the pipeline, each once, in the new order.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub stage_ids: Vec<StageId>,
}

async fn reorder(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<StageOrder>,
) -> Result<Json<Pipeline>, AppError> {
    Ok(Json(
        pipelines::reorder_stages(&app.store, &actor, parse_id(&id)?, &body.stage_ids).await?,
    ))
}
