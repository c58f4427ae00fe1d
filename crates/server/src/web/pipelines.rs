//! The pipelines pages (Administration › Pipelines): the company's pipelines with a form for a
//! new one and its stages, and one pipeline's page (name, default flag; each stage's name,
//! probability, forecast category and outcome; add, move up / down and delete stages; delete
//! the pipeline). Every change goes through the functions `/api/v1/pipelines` calls
//! (`crate::api::pipelines::create_pipeline`, `update_pipeline`, `add_pipeline_stage`,
//! `update_pipeline_stage` and the store's deletes), so the rules, messages and audit rows are
//! the API's: a stage that deals sit in is not deleted, and the page says so.

use super::custom_field_admin::neighbour;
use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, options, with_query};
use crate::api::pipelines::{
    AddStage, CreatePipeline, UpdatePipeline, UpdateStage, add_pipeline_stage, create_pipeline,
    update_pipeline, update_pipeline_stage,
};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::StageId;
use rivet_domain::pipelines::{ForecastCategory, StageInput, StageOutcome};
use rivet_domain::{Action, Resource};
use rivet_store::pipelines::{self, Pipeline, Stage};
use serde::Deserialize;
use uuid::Uuid;

const LIST: &str = "/admin/pipelines";

/// The fields of a stage the API's messages are about.
const STAGE_FIELDS: &[&str] = &[
    "name",
    "probability",
    "forecast_category",
    "outcome",
    "position",
];

/// Empty rows the new-pipeline form offers after the default stages.
const SPARE_ROWS: usize = 2;

fn category_label(category: ForecastCategory) -> &'static str {
    match category {
        ForecastCategory::Pipeline => "Pipeline",
        ForecastCategory::BestCase => "Best case",
        ForecastCategory::Commit => "Commit",
        ForecastCategory::Closed => "Closed",
        ForecastCategory::Omitted => "Omitted",
    }
}

fn outcome_label(outcome: StageOutcome) -> &'static str {
    match outcome {
        StageOutcome::Open => "Open",
        StageOutcome::Won => "Won",
        StageOutcome::Lost => "Lost",
    }
}

fn category_options(selected: &str) -> Vec<Opt> {
    let all = [
        ForecastCategory::Pipeline,
        ForecastCategory::BestCase,
        ForecastCategory::Commit,
        ForecastCategory::Closed,
        ForecastCategory::Omitted,
    ];
    options(
        all.into_iter().map(|c| (c.as_str(), category_label(c))),
        selected,
    )
}

fn outcome_options(selected: &str) -> Vec<Opt> {
    let all = [StageOutcome::Open, StageOutcome::Won, StageOutcome::Lost];
    options(
        all.into_iter().map(|o| (o.as_str(), outcome_label(o))),
        selected,
    )
}

/// A probability as typed: a whole number, or a message next to the field.
fn probability(text: &str, errors: &mut FormErrors) -> Option<i64> {
    let parsed = text.trim().parse::<i64>().ok();
    if parsed.is_none() {
        errors.add("probability", "must be a whole number between 0 and 100");
    }
    parsed
}

/// One stage's inputs as typed (a row of the new-pipeline form, a stage's row, the add form).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct StageForm {
    name: String,
    probability: String,
    forecast_category: String,
    outcome: String,
    /// The add form only: 1-based, empty for last.
    position: String,
}

impl StageForm {
    fn of(stage: &Stage) -> Self {
        Self {
            name: stage.name.clone(),
            probability: stage.probability.to_string(),
            forecast_category: stage.forecast_category.as_str().into(),
            outcome: stage.outcome.as_str().into(),
            position: stage.position.to_string(),
        }
    }

    fn blank() -> Self {
        Self {
            forecast_category: ForecastCategory::Pipeline.as_str().into(),
            outcome: StageOutcome::Open.as_str().into(),
            ..Self::default()
        }
    }
}

/// A stage's inputs on a page, with their messages.
pub struct StageInputs {
    /// The prefix of the inputs' ids.
    pub fid: String,
    /// How labels and messages name the stage: "Stage 3".
    pub label: String,
    /// Before each input's name: `stage_` where several stages post together.
    pub prefix: &'static str,
    /// The form the inputs belong to when they are not inside it (a table row's); or empty.
    pub form_id: String,
    pub form: StageForm,
    pub category_options: Vec<Opt>,
    pub outcome_options: Vec<Opt>,
    pub errors: FormErrors,
}

impl StageInputs {
    fn new(fid: String, form: StageForm, errors: FormErrors) -> Self {
        Self {
            fid,
            label: String::new(),
            prefix: "",
            form_id: String::new(),
            category_options: category_options(&form.forecast_category),
            outcome_options: outcome_options(&form.outcome),
            form,
            errors,
        }
    }

    /// The inputs of the `n`th stage (1-based) of a table.
    fn row(mut self, n: usize, prefix: &'static str, form_id: String) -> Self {
        self.label = format!("Stage {n}");
        self.prefix = prefix;
        self.form_id = form_id;
        self
    }
}

// ---------------------------------------------------------------------------------------------
// The list and the new pipeline

pub struct PipelineRow {
    pub id: Uuid,
    pub name: String,
    pub is_default: bool,
    pub stages: String,
}

/// The new-pipeline form as typed: the stage rows are repeated `stage_*` fields, in order.
#[derive(Debug, Default)]
pub struct NewPipelineForm {
    name: String,
    is_default: bool,
    stages: Vec<StageForm>,
}

impl NewPipelineForm {
    fn blank() -> Self {
        let defaults = rivet_domain::pipelines::default_stages();
        let mut stages: Vec<StageForm> = defaults
            .iter()
            .map(|s| StageForm {
                name: s.name.clone(),
                probability: s.probability.value().to_string(),
                forecast_category: s.forecast_category.as_str().into(),
                outcome: s.outcome.as_str().into(),
                position: String::new(),
            })
            .collect();
        stages.extend(std::iter::repeat_with(StageForm::blank).take(SPARE_ROWS));
        Self {
            name: String::new(),
            is_default: false,
            stages,
        }
    }

    fn parse(pairs: &[(String, String)]) -> Self {
        let mut form = Self::default();
        let (mut names, mut probabilities, mut categories, mut outcomes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value.clone(),
                "is_default" => form.is_default = value == "true",
                "stage_name" => names.push(value.clone()),
                "stage_probability" => probabilities.push(value.clone()),
                "stage_forecast_category" => categories.push(value.clone()),
                "stage_outcome" => outcomes.push(value.clone()),
                _ => {}
            }
        }
        let at = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        form.stages = (0..names.len())
            .map(|i| StageForm {
                name: at(&names, i),
                probability: at(&probabilities, i),
                forecast_category: at(&categories, i),
                outcome: at(&outcomes, i),
                position: String::new(),
            })
            .collect();
        form
    }
}

#[derive(Template)]
#[template(path = "web/pipelines.html")]
struct ListPage {
    layout: Layout,
    pipelines: Vec<PipelineRow>,
    can_update: bool,
    name: String,
    is_default: bool,
    stages: Vec<StageInputs>,
    errors: FormErrors,
}

async fn list_page(
    ctx: &Ctx,
    form: NewPipelineForm,
    mut row_errors: Vec<FormErrors>,
    errors: FormErrors,
) -> Result<ListPage, WebError> {
    let list = pipelines::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    row_errors.resize_with(form.stages.len(), FormErrors::new);
    Ok(ListPage {
        layout: ctx.layout("Pipelines"),
        pipelines: list
            .iter()
            .map(|p| PipelineRow {
                id: p.id.uuid(),
                name: p.name.clone(),
                is_default: p.is_default,
                stages: p
                    .stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" → "),
            })
            .collect(),
        can_update: ctx.can(Resource::Settings, Action::Update),
        name: form.name,
        is_default: form.is_default,
        stages: form
            .stages
            .into_iter()
            .zip(row_errors)
            .enumerate()
            .map(|(i, (stage, errors))| {
                StageInputs::new(format!("new-stage-{i}"), stage, errors).row(
                    i + 1,
                    "stage_",
                    String::new(),
                )
            })
            .collect(),
        errors,
    })
}

pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let page = list_page(
        &ctx,
        NewPipelineForm::blank(),
        Vec::new(),
        FormErrors::new(),
    )
    .await?;
    Ok(ctx.render(&page))
}

/// Put the API's messages about `stages[i].field` next to row `rows[i]`'s field (the rows left
/// empty were not sent), `name` and the rest on the form.
fn place_stage_errors(
    err: AppError,
    rows: &[usize],
    row_errors: &mut [FormErrors],
    errors: &mut FormErrors,
) -> Result<(), AppError> {
    let list = match err {
        AppError::Validation(list) => list,
        other => return errors.absorb(other, &["name", "is_default", "stages"]),
    };
    let mut rest = rivet_domain::FieldErrors::new();
    for e in list.0 {
        let target = e
            .field
            .strip_prefix("stages[")
            .and_then(|f| f.split_once("]."))
            .and_then(|(i, field)| Some((*rows.get(i.parse::<usize>().ok()?)?, field.to_owned())));
        match target.and_then(|(row, field)| Some((row_errors.get_mut(row)?, field))) {
            Some((row, field)) => row.add(&field, e.message),
            None => rest.0.push(e),
        }
    }
    if rest.0.is_empty() {
        return Ok(());
    }
    errors.absorb(
        AppError::Validation(rest),
        &["name", "is_default", "stages"],
    )
}

pub async fn create(
    ctx: Ctx,
    WebForm(pairs): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = NewPipelineForm::parse(&pairs);
    let mut errors = FormErrors::new();
    let mut row_errors: Vec<FormErrors> = form.stages.iter().map(|_| FormErrors::new()).collect();
    // A row without a name is left out; `rows[i]` is the form row of the i-th stage sent.
    let mut rows = Vec::new();
    let mut inputs = Vec::new();
    for (i, stage) in form.stages.iter().enumerate() {
        if stage.name.trim().is_empty() {
            continue;
        }
        let Some(errs) = row_errors.get_mut(i) else {
            continue;
        };
        if let Some(probability) = probability(&stage.probability, errs) {
            rows.push(i);
            inputs.push(StageInput {
                name: stage.name.clone(),
                probability,
                forecast_category: stage.forecast_category.clone(),
                outcome: Some(stage.outcome.clone()),
            });
        }
    }
    if row_errors.iter().all(FormErrors::is_empty) {
        let body = CreatePipeline {
            name: form.name.clone(),
            is_default: form.is_default,
            stages: Some(inputs),
        };
        match create_pipeline(&ctx.app, &ctx.actor, body).await {
            Ok(created) => {
                return Ok(ctx.done(
                    &format!("{LIST}/{}", created.id),
                    format!("Created the pipeline {}.", created.name),
                ));
            }
            Err(err) => {
                place_stage_errors(err, &rows, &mut row_errors, &mut errors).or_page(&ctx)?
            }
        }
    }
    if row_errors.iter().any(|e| !e.is_empty()) && errors.is_empty() {
        errors.add_general("Check the stages marked below.");
    }
    let page = list_page(&ctx, form, row_errors, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// ---------------------------------------------------------------------------------------------
// One pipeline

pub struct StageRow {
    pub id: Uuid,
    pub position: i32,
    pub name: String,
    pub inputs: StageInputs,
    pub first: bool,
    pub last: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PipelineForm {
    name: String,
    /// `true` when the checkbox is ticked.
    is_default: String,
}

#[derive(Template)]
#[template(path = "web/pipeline_edit.html")]
struct PipelinePage {
    layout: Layout,
    id: Uuid,
    name: String,
    is_default: bool,
    can_update: bool,
    form: PipelineForm,
    errors: FormErrors,
    stages: Vec<StageRow>,
    new_stage: StageInputs,
    board_href: String,
    history_href: Option<String>,
}

/// What a re-shown pipeline page holds as typed: one of its forms with its messages.
enum Typed {
    Nothing,
    Settings(PipelineForm, FormErrors),
    Stage(StageId, StageForm, FormErrors),
    NewStage(StageForm, FormErrors),
}

fn pipeline_page(ctx: &Ctx, pipeline: &Pipeline, typed: Typed) -> PipelinePage {
    let (form, errors, mut stage, new_stage) = match typed {
        Typed::Settings(form, errors) => (form, errors, None, None),
        Typed::Stage(id, form, errors) => (
            PipelineForm::default(),
            FormErrors::new(),
            Some((id, form, errors)),
            None,
        ),
        Typed::NewStage(form, errors) => (
            PipelineForm::default(),
            FormErrors::new(),
            None,
            Some((form, errors)),
        ),
        Typed::Nothing => (PipelineForm::default(), FormErrors::new(), None, None),
    };
    let form = if form.name.is_empty() && errors.is_empty() {
        PipelineForm {
            name: pipeline.name.clone(),
            is_default: if pipeline.is_default {
                "true".into()
            } else {
                String::new()
            },
        }
    } else {
        form
    };
    let count = pipeline.stages.len();
    let stages = pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (typed, errors) = match stage.take() {
                Some((id, form, errors)) if id == s.id => (form, errors),
                other => {
                    stage = other;
                    (StageForm::of(s), FormErrors::new())
                }
            };
            StageRow {
                id: s.id.uuid(),
                position: s.position,
                name: s.name.clone(),
                inputs: StageInputs::new(format!("stage-{}", s.id), typed, errors).row(
                    i + 1,
                    "",
                    format!("stage-form-{}", s.id),
                ),
                first: i == 0,
                last: i + 1 == count,
            }
        })
        .collect();
    let (new_form, new_errors) =
        new_stage.unwrap_or_else(|| (StageForm::blank(), FormErrors::new()));
    PipelinePage {
        layout: ctx.layout(format!("Pipeline {}", pipeline.name)),
        id: pipeline.id.uuid(),
        name: pipeline.name.clone(),
        is_default: pipeline.is_default,
        can_update: ctx.can(Resource::Settings, Action::Update),
        form,
        errors,
        stages,
        new_stage: StageInputs::new("new-stage".into(), new_form, new_errors),
        board_href: with_query("/deals/board", &[("pipeline_id", &pipeline.id.to_string())]),
        history_href: ctx.can(Resource::Audit, Action::Read).then(|| {
            with_query(
                "/admin/audit",
                &[
                    ("resource", "pipelines"),
                    ("resource_id", &pipeline.id.to_string()),
                ],
            )
        }),
    }
}

async fn load(ctx: &Ctx, id: &str) -> Result<Pipeline, WebError> {
    let id = parse_id(id).or_page(ctx)?;
    pipelines::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

/// The pipeline `id` and its stage `stage_id` (404 when either is not the caller's).
async fn load_stage(ctx: &Ctx, id: &str, stage_id: &str) -> Result<(Pipeline, Stage), WebError> {
    let pipeline = load(ctx, id).await?;
    let stage_id: StageId = parse_id(stage_id).or_page(ctx)?;
    let stage = pipeline
        .stages
        .iter()
        .find(|s| s.id == stage_id)
        .cloned()
        .ok_or_else(|| ctx.fail(AppError::NotFound))?;
    Ok((pipeline, stage))
}

fn here(pipeline: &Pipeline) -> String {
    format!("{LIST}/{}", pipeline.id)
}

pub async fn show(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let pipeline = load(&ctx, &id).await?;
    Ok(ctx.render(&pipeline_page(&ctx, &pipeline, Typed::Nothing)))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<PipelineForm>,
) -> Result<Response, WebError> {
    let pipeline = load(&ctx, &id).await?;
    let body = UpdatePipeline {
        name: Some(form.name.clone()),
        is_default: Some(form.is_default == "true"),
    };
    let mut errors = FormErrors::new();
    match update_pipeline(&ctx.app, &ctx.actor, pipeline.id, body).await {
        Ok(saved) => {
            return Ok(ctx.done(&here(&saved), format!("Saved the pipeline {}.", saved.name)));
        }
        Err(err) => errors.absorb(err, &["name", "is_default"]).or_page(&ctx)?,
    }
    let page = pipeline_page(&ctx, &pipeline, Typed::Settings(form, errors));
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// A button's change the API refused: back to `to` with the API's reason about `subject` ("The
/// stage Proposal") at the top; any other error is the error page.
fn refusal(ctx: &Ctx, to: &str, subject: String, err: AppError) -> Result<Response, WebError> {
    match err {
        AppError::Conflict { message, .. } => Ok(ctx.refused(to, format!("{subject} {message}."))),
        AppError::Validation(list) => {
            Ok(ctx.refused(to, format!("{subject} was not changed: {list}.")))
        }
        other => Err(ctx.fail(other)),
    }
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let pipeline = load(&ctx, &id).await?;
    match pipelines::delete(&ctx.app.store, &ctx.actor, pipeline.id).await {
        Ok(()) => Ok(ctx.done(LIST, format!("Deleted the pipeline {}.", pipeline.name))),
        Err(err) => refusal(
            &ctx,
            &here(&pipeline),
            format!("The pipeline {}", pipeline.name),
            err.into(),
        ),
    }
}

pub async fn add_stage(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<StageForm>,
) -> Result<Response, WebError> {
    let pipeline = load(&ctx, &id).await?;
    let mut errors = FormErrors::new();
    let probability = probability(&form.probability, &mut errors);
    let position = match form.position.trim() {
        "" => None,
        text => {
            let parsed = text.parse::<i64>().ok();
            if parsed.is_none() {
                errors.add("position", "must be a whole number");
            }
            parsed
        }
    };
    if let (true, Some(probability)) = (errors.is_empty(), probability) {
        let body = AddStage {
            name: form.name.clone(),
            probability,
            forecast_category: form.forecast_category.clone(),
            outcome: Some(form.outcome.clone()),
            position,
        };
        match add_pipeline_stage(&ctx.app, &ctx.actor, pipeline.id, body).await {
            Ok(stage) => {
                return Ok(ctx.done(&here(&pipeline), format!("Added the stage {}.", stage.name)));
            }
            Err(err) => errors.absorb(err, STAGE_FIELDS).or_page(&ctx)?,
        }
    }
    let page = pipeline_page(&ctx, &pipeline, Typed::NewStage(form, errors));
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn update_stage(
    ctx: Ctx,
    Path((id, stage_id)): Path<(String, String)>,
    WebForm(form): WebForm<StageForm>,
) -> Result<Response, WebError> {
    let (pipeline, stage) = load_stage(&ctx, &id, &stage_id).await?;
    let mut errors = FormErrors::new();
    let probability = probability(&form.probability, &mut errors);
    if errors.is_empty() {
        let body = UpdateStage {
            name: Some(form.name.clone()),
            probability,
            forecast_category: Some(form.forecast_category.clone()),
            outcome: Some(form.outcome.clone()),
            position: None,
        };
        match update_pipeline_stage(&ctx.app, &ctx.actor, pipeline.id, stage.id, body).await {
            Ok(saved) => {
                return Ok(ctx.done(&here(&pipeline), format!("Saved the stage {}.", saved.name)));
            }
            Err(err) => errors.absorb(err, STAGE_FIELDS).or_page(&ctx)?,
        }
    }
    let page = pipeline_page(&ctx, &pipeline, Typed::Stage(stage.id, form, errors));
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct MoveForm {
    /// `up` or `down`.
    direction: String,
}

/// Move a stage one place up or down (a `PATCH` of its position).
pub async fn move_stage(
    ctx: Ctx,
    Path((id, stage_id)): Path<(String, String)>,
    WebForm(form): WebForm<MoveForm>,
) -> Result<Response, WebError> {
    let (pipeline, stage) = load_stage(&ctx, &id, &stage_id).await?;
    let back = here(&pipeline);
    let from = pipeline
        .stages
        .iter()
        .position(|s| s.id == stage.id)
        .unwrap_or(0);
    let Some(to) = neighbour(from, pipeline.stages.len(), &form.direction) else {
        return Ok(ctx.refused(
            &back,
            format!(
                "{} cannot move {} from where it is.",
                stage.name, form.direction
            ),
        ));
    };
    let body = UpdateStage {
        name: None,
        probability: None,
        forecast_category: None,
        outcome: None,
        position: i64::try_from(to + 1).ok(),
    };
    match update_pipeline_stage(&ctx.app, &ctx.actor, pipeline.id, stage.id, body).await {
        Ok(moved) => Ok(ctx.done(
            &back,
            format!("Moved the stage {} {}.", moved.name, form.direction),
        )),
        Err(err) => refusal(&ctx, &back, format!("The stage {}", stage.name), err),
    }
}

pub async fn delete_stage(
    ctx: Ctx,
    Path((id, stage_id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (pipeline, stage) = load_stage(&ctx, &id, &stage_id).await?;
    let back = here(&pipeline);
    match pipelines::delete_stage(&ctx.app.store, &ctx.actor, pipeline.id, stage.id).await {
        Ok(()) => Ok(ctx.done(&back, format!("Deleted the stage {}.", stage.name))),
        Err(err) => refusal(&ctx, &back, format!("The stage {}", stage.name), err.into()),
    }
}
