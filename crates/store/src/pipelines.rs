//! Pipelines and their ordered stages. Every company has exactly one default pipeline (created
//! with the company, see [`create_default`]); making another one the default un-defaults the
//! rest in the same statement, so concurrent changes cannot leave two.
//!
//! Every change is audited as resource `"pipelines"` with the pipeline's id, its stages included
//! in the before/after, so a pipeline's history shows its stage edits too. Changes to a
//! pipeline's stages first touch the pipeline row, which both proves the pipeline is the caller's
//! and, on PostgreSQL, serialises concurrent renumberings of the same pipeline.
//!
//! Deleting a pipeline or a stage is allowed only while no deal is in it
//! ([`pipeline_references`], [`stage_references`]); its deals need to be moved first. Who may
//! call what is decided by the routes (deals.read to read, settings.update to change), not here.

use crate::tables::{PipelineStages, Pipelines};
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::Actor;
use rivet_domain::ids::{CompanyId, Id, PipelineId, StageId};
use rivet_domain::pipelines::{
    self as rules, ForecastCategory, MAX_STAGES, Probability, StageOutcome, StageSpec,
};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};

const RESOURCE: &str = "pipelines";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pipeline {
    #[schema(value_type = uuid::Uuid)]
    pub id: PipelineId,
    pub name: String,
    pub is_default: bool,
    /// 1-based place among the company's pipelines.
    pub position: i32,
    /// In board order.
    pub stages: Vec<Stage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Stage {
    #[schema(value_type = uuid::Uuid)]
    pub id: StageId,
    #[schema(value_type = uuid::Uuid)]
    pub pipeline_id: PipelineId,
    pub name: String,
    /// 1-based place in the pipeline; positions are contiguous.
    pub position: i32,
    /// Default win probability (percent) of a deal entering this stage.
    pub probability: i32,
    pub forecast_category: ForecastCategory,
    pub outcome: StageOutcome,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct PipelineRow {
    id: PipelineId,
    name: String,
    is_default: bool,
    position: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct StageRow {
    id: StageId,
    pipeline_id: PipelineId,
    name: String,
    position: i32,
    probability: i32,
    forecast_category: String,
    outcome: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<StageRow> for Stage {
    type Error = StoreError;

    fn try_from(row: StageRow) -> Result<Self> {
        let corrupt = |e: String| StoreError::Db(DbErr::Custom(format!("stage {}: {e}", row.id)));
        Ok(Self {
            forecast_category: row.forecast_category.parse().map_err(corrupt)?,
            outcome: row.outcome.parse().map_err(corrupt)?,
            id: row.id,
            pipeline_id: row.pipeline_id,
            name: row.name,
            position: row.position,
            probability: row.probability,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl Pipeline {
    fn from_rows(row: PipelineRow, stages: Vec<Stage>) -> Self {
        Self {
            id: row.id,
            name: row.name,
            is_default: row.is_default,
            position: row.position,
            stages,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    fn audit_json(&self) -> Value {
        let stages: Vec<Value> = self
            .stages
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "name": s.name,
                    "position": s.position,
                    "probability": s.probability,
                    "forecast_category": s.forecast_category,
                    "outcome": s.outcome,
                })
            })
            .collect();
        json!({
            "name": self.name,
            "is_default": self.is_default,
            "position": self.position,
            "stages": stages,
        })
    }

    fn stage_ids(&self) -> Vec<StageId> {
        self.stages.iter().map(|s| s.id).collect()
    }

    fn stage(&self, id: StageId) -> Result<&Stage> {
        self.stages
            .iter()
            .find(|s| s.id == id)
            .ok_or(StoreError::NotFound)
    }
}

fn select_pipelines(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            Pipelines::Id,
            Pipelines::Name,
            Pipelines::IsDefault,
            Pipelines::Position,
            Pipelines::CreatedAt,
            Pipelines::UpdatedAt,
        ])
        .from(Pipelines::Table)
        .and_where(Expr::col(Pipelines::CompanyId).eq(company_id))
        .order_by(Pipelines::Position, Order::Asc)
        .order_by(Pipelines::Id, Order::Asc)
        .to_owned()
}

fn select_stages(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            PipelineStages::Id,
            PipelineStages::PipelineId,
            PipelineStages::Name,
            PipelineStages::Position,
            PipelineStages::Probability,
            PipelineStages::ForecastCategory,
            PipelineStages::Outcome,
            PipelineStages::CreatedAt,
            PipelineStages::UpdatedAt,
        ])
        .from(PipelineStages::Table)
        .and_where(Expr::col(PipelineStages::CompanyId).eq(company_id))
        .order_by(PipelineStages::PipelineId, Order::Asc)
        .order_by(PipelineStages::Position, Order::Asc)
        .to_owned()
}

async fn stages_of<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    pipeline_id: PipelineId,
) -> Result<Vec<Stage>> {
    let rows: Vec<StageRow> = fetch_all(
        conn,
        select_stages(company_id).and_where(Expr::col(PipelineStages::PipelineId).eq(pipeline_id)),
    )
    .await?;
    rows.into_iter().map(Stage::try_from).collect()
}

async fn load<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    id: PipelineId,
) -> Result<Pipeline> {
    let row: PipelineRow = fetch_optional(
        conn,
        select_pipelines(company_id).and_where(Expr::col(Pipelines::Id).eq(id)),
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    let stages = stages_of(conn, company_id, id).await?;
    Ok(Pipeline::from_rows(row, stages))
}

/// The caller's pipelines in order, each with its stages.
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Pipeline>> {
    let r = store.read(actor).await?;
    let rows: Vec<PipelineRow> = fetch_all(r.conn(), &select_pipelines(actor.company_id)).await?;
    let stages: Vec<StageRow> = fetch_all(r.conn(), &select_stages(actor.company_id)).await?;
    let mut by_pipeline: std::collections::HashMap<PipelineId, Vec<Stage>> = Default::default();
    for row in stages {
        let stage = Stage::try_from(row)?;
        by_pipeline
            .entry(stage.pipeline_id)
            .or_default()
            .push(stage);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let stages = by_pipeline.remove(&row.id).unwrap_or_default();
            Pipeline::from_rows(row, stages)
        })
        .collect())
}

pub async fn get(store: &Store, actor: &Actor, id: PipelineId) -> Result<Pipeline> {
    let r = store.read(actor).await?;
    load(r.conn(), actor.company_id, id).await
}

/// How many deals are in this pipeline (whoever owns them); a pipeline in use cannot be deleted
/// until its deals are moved to another one.
pub async fn pipeline_references<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    pipeline_id: PipelineId,
) -> Result<u64> {
    crate::deals::count_in_pipeline(conn, company_id, pipeline_id).await
}

/// How many deals sit in this stage (whoever owns them); a stage in use cannot be deleted until
/// its deals are moved to another stage.
pub async fn stage_references<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    stage_id: StageId,
) -> Result<u64> {
    crate::deals::count_in_stage(conn, company_id, stage_id).await
}

async fn insert_pipeline(
    tx: &Tx,
    company_id: CompanyId,
    name: &str,
    position: i32,
    stages: &[StageSpec],
) -> Result<PipelineId> {
    let id = Id::new();
    let at = now();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Pipelines::Table)
            .columns([
                Pipelines::CompanyId,
                Pipelines::Id,
                Pipelines::Name,
                Pipelines::IsDefault,
                Pipelines::Position,
                Pipelines::CreatedAt,
                Pipelines::UpdatedAt,
            ])
            .values_panic([
                company_id.into(),
                id.into(),
                name.into(),
                false.into(),
                position.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    for (i, spec) in stages.iter().enumerate() {
        let position = i32::try_from(i + 1).unwrap_or(i32::MAX);
        insert_stage(tx, company_id, id, Id::new(), spec, position).await?;
    }
    Ok(id)
}

async fn insert_stage(
    tx: &Tx,
    company_id: CompanyId,
    pipeline_id: PipelineId,
    id: StageId,
    spec: &StageSpec,
    position: i32,
) -> Result<()> {
    let at = now();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(PipelineStages::Table)
            .columns([
                PipelineStages::CompanyId,
                PipelineStages::Id,
                PipelineStages::PipelineId,
                PipelineStages::Name,
                PipelineStages::Position,
                PipelineStages::Probability,
                PipelineStages::ForecastCategory,
                PipelineStages::Outcome,
                PipelineStages::CreatedAt,
                PipelineStages::UpdatedAt,
            ])
            .values_panic([
                company_id.into(),
                id.into(),
                pipeline_id.into(),
                spec.name.clone().into(),
                position.into(),
                i32::from(spec.probability.value()).into(),
                spec.forecast_category.as_str().into(),
                spec.outcome.as_str().into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// Make `id` the company's only default pipeline, in one statement so that two concurrent
/// changes serialise on the rows instead of each leaving its own default.
async fn make_default(tx: &Tx, company_id: CompanyId, id: PipelineId) -> Result<()> {
    exec(
        tx.conn(),
        Query::update()
            .table(Pipelines::Table)
            .value(Pipelines::IsDefault, Expr::col(Pipelines::Id).eq(id))
            .and_where(Expr::col(Pipelines::CompanyId).eq(company_id)),
    )
    .await?;
    Ok(())
}

/// Bump the pipeline's `updated_at`: proves it is the company's and locks its row (PostgreSQL)
/// for the rest of the transaction.
async fn touch(tx: &Tx, company_id: CompanyId, id: PipelineId) -> Result<()> {
    let changed = exec(
        tx.conn(),
        Query::update()
            .table(Pipelines::Table)
            .value(Pipelines::UpdatedAt, now())
            .and_where(Expr::col(Pipelines::CompanyId).eq(company_id))
            .and_where(Expr::col(Pipelines::Id).eq(id)),
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Write positions 1..n in `order`, touching only the stages whose position changes.
async fn renumber(
    tx: &Tx,
    company_id: CompanyId,
    before: &Pipeline,
    order: &[StageId],
) -> Result<()> {
    let at = now();
    for (i, id) in order.iter().enumerate() {
        let position = i32::try_from(i + 1).unwrap_or(i32::MAX);
        if before
            .stages
            .iter()
            .any(|s| s.id == *id && s.position == position)
        {
            continue;
        }
        exec(
            tx.conn(),
            Query::update()
                .table(PipelineStages::Table)
                .value(PipelineStages::Position, position)
                .value(PipelineStages::UpdatedAt, at)
                .and_where(Expr::col(PipelineStages::CompanyId).eq(company_id))
                .and_where(Expr::col(PipelineStages::Id).eq(*id)),
        )
        .await?;
    }
    Ok(())
}

async fn audit_update(tx: &Tx, company_id: CompanyId, before: &Pipeline) -> Result<Pipeline> {
    let after = load(tx.conn(), company_id, before.id).await?;
    tx.audit_in(
        company_id,
        RESOURCE,
        before.id,
        "update",
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    Ok(after)
}

/// Give a new company its default "Sales" pipeline, inside the transaction that creates it.
pub async fn create_default(tx: &Tx, company_id: CompanyId) -> Result<PipelineId> {
    let id = insert_pipeline(
        tx,
        company_id,
        rules::DEFAULT_PIPELINE_NAME,
        1,
        &rules::default_stages(),
    )
    .await?;
    make_default(tx, company_id, id).await?;
    let created = load(tx.conn(), company_id, id).await?;
    tx.audit_in(
        company_id,
        RESOURCE,
        id,
        "create",
        None,
        Some(&created.audit_json()),
    )
    .await?;
    Ok(id)
}

/// Create a pipeline with already validated stages, last in order. It becomes the default when
/// asked to, or when the company has none.
pub async fn create(
    store: &Store,
    actor: &Actor,
    name: &str,
    is_default: bool,
    stages: &[StageSpec],
) -> Result<Pipeline> {
    let tx = store.write(actor).await?;
    let existing: Vec<PipelineRow> =
        fetch_all(tx.conn(), &select_pipelines(actor.company_id)).await?;
    let position = existing.iter().map(|p| p.position).max().unwrap_or(0) + 1;
    let id = insert_pipeline(&tx, actor.company_id, name, position, stages).await?;
    if is_default || !existing.iter().any(|p| p.is_default) {
        make_default(&tx, actor.company_id, id).await?;
    }
    let created = load(tx.conn(), actor.company_id, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "create",
        None,
        Some(&created.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Rename a pipeline or make it the default. A default cannot be un-set directly: a company
/// always has one, so another pipeline is made the default instead.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: PipelineId,
    name: Option<&str>,
    is_default: Option<bool>,
) -> Result<Pipeline> {
    let tx = store.write(actor).await?;
    touch(&tx, actor.company_id, id).await?;
    let before = load(tx.conn(), actor.company_id, id).await?;
    if is_default == Some(false) && before.is_default {
        return Err(StoreError::invalid(
            "is_default",
            "a company always has a default pipeline; make another pipeline the default instead",
        ));
    }
    if let Some(name) = name {
        exec(
            tx.conn(),
            Query::update()
                .table(Pipelines::Table)
                .value(Pipelines::Name, name)
                .and_where(Expr::col(Pipelines::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(Pipelines::Id).eq(id)),
        )
        .await?;
    }
    if is_default == Some(true) && !before.is_default {
        make_default(&tx, actor.company_id, id).await?;
    }
    let after = audit_update(&tx, actor.company_id, &before).await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete a pipeline and its stages: refused for the default pipeline and while anything uses it.
pub async fn delete(store: &Store, actor: &Actor, id: PipelineId) -> Result<()> {
    let tx = store.write(actor).await?;
    touch(&tx, actor.company_id, id).await?;
    let before = load(tx.conn(), actor.company_id, id).await?;
    if before.is_default {
        return Err(StoreError::Conflict {
            field: "is_default".into(),
            message: "is set: the default pipeline cannot be deleted; make another pipeline the default first".into(),
        });
    }
    let used = pipeline_references(tx.conn(), actor.company_id, id).await?;
    if used > 0 {
        return Err(StoreError::Conflict {
            field: "id".into(),
            message: format!("is used by {used} records; move them to another pipeline first"),
        });
    }
    exec(
        tx.conn(),
        Query::delete()
            .from_table(PipelineStages::Table)
            .and_where(Expr::col(PipelineStages::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(PipelineStages::PipelineId).eq(id)),
    )
    .await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Pipelines::Table)
            .and_where(Expr::col(Pipelines::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Pipelines::Id).eq(id)),
    )
    .await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "delete",
        Some(&before.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Add a stage at 1-based `position` (last when `None`); the stages after it move down.
pub async fn add_stage(
    store: &Store,
    actor: &Actor,
    pipeline_id: PipelineId,
    spec: &StageSpec,
    position: Option<i64>,
) -> Result<Stage> {
    let tx = store.write(actor).await?;
    touch(&tx, actor.company_id, pipeline_id).await?;
    let before = load(tx.conn(), actor.company_id, pipeline_id).await?;
    if before.stages.len() >= MAX_STAGES {
        return Err(StoreError::invalid(
            "stages",
            format!("a pipeline has at most {MAX_STAGES} stages"),
        ));
    }
    let id = Id::new();
    let mut order = before.stage_ids();
    rules::insert_at(&mut order, id, position).map_err(|m| StoreError::invalid("position", m))?;
    // Inserted after the others, then renumbered into its place.
    let last = i32::try_from(order.len()).unwrap_or(i32::MAX);
    insert_stage(&tx, actor.company_id, pipeline_id, id, spec, last).await?;
    renumber(&tx, actor.company_id, &before, &order).await?;
    let after = audit_update(&tx, actor.company_id, &before).await?;
    tx.commit().await?;
    after.stage(id).cloned()
}

/// What a stage update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct StageChanges {
    pub name: Option<String>,
    pub probability: Option<Probability>,
    pub forecast_category: Option<ForecastCategory>,
    pub outcome: Option<StageOutcome>,
    /// 1-based; the stages in between shift by one.
    pub position: Option<i64>,
}

pub async fn update_stage(
    store: &Store,
    actor: &Actor,
    pipeline_id: PipelineId,
    stage_id: StageId,
    changes: &StageChanges,
) -> Result<Stage> {
    let tx = store.write(actor).await?;
    touch(&tx, actor.company_id, pipeline_id).await?;
    let before = load(tx.conn(), actor.company_id, pipeline_id).await?;
    before.stage(stage_id)?;
    if let Some(outcome) = changes.outcome {
        let outcomes = before
            .stages
            .iter()
            .map(|s| if s.id == stage_id { outcome } else { s.outcome });
        rules::check_outcomes(outcomes).map_err(|m| StoreError::invalid("outcome", m))?;
    }
    let mut update = Query::update();
    update
        .table(PipelineStages::Table)
        .value(PipelineStages::UpdatedAt, now())
        .and_where(Expr::col(PipelineStages::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(PipelineStages::Id).eq(stage_id));
    if let Some(name) = &changes.name {
        update.value(PipelineStages::Name, name.as_str());
    }
    if let Some(p) = changes.probability {
        update.value(PipelineStages::Probability, i32::from(p.value()));
    }
    if let Some(c) = changes.forecast_category {
        update.value(PipelineStages::ForecastCategory, c.as_str());
    }
    if let Some(o) = changes.outcome {
        update.value(PipelineStages::Outcome, o.as_str());
    }
    exec(tx.conn(), &update).await?;
    if let Some(position) = changes.position {
        let mut order = before.stage_ids();
        rules::move_to(&mut order, stage_id, position)
            .map_err(|m| StoreError::invalid("position", m))?;
        renumber(&tx, actor.company_id, &before, &order).await?;
    }
    let after = audit_update(&tx, actor.company_id, &before).await?;
    tx.commit().await?;
    after.stage(stage_id).cloned()
}

/// Delete a stage: refused while records sit in it, or when the pipeline would lose its last
/// open, won or lost stage. The stages after it move up.
pub async fn delete_stage(
    store: &Store,
    actor: &Actor,
    pipeline_id: PipelineId,
    stage_id: StageId,
) -> Result<()> {
    let tx = store.write(actor).await?;
    touch(&tx, actor.company_id, pipeline_id).await?;
    let before = load(tx.conn(), actor.company_id, pipeline_id).await?;
    before.stage(stage_id)?;
    let remaining = before
        .stages
        .iter()
        .filter(|s| s.id != stage_id)
        .map(|s| s.outcome);
    rules::check_outcomes(remaining).map_err(|message| StoreError::Conflict {
        field: "id".into(),
        message: format!("cannot be deleted: {message}"),
    })?;
    let used = stage_references(tx.conn(), actor.company_id, stage_id).await?;
    if used > 0 {
        return Err(StoreError::Conflict {
            field: "id".into(),
            message: format!("is used by {used} records; move them to another stage first"),
        });
    }
    exec(
        tx.conn(),
        Query::delete()
            .from_table(PipelineStages::Table)
            .and_where(Expr::col(PipelineStages::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(PipelineStages::Id).eq(stage_id)),
    )
    .await?;
    let order: Vec<StageId> = before
        .stage_ids()
        .into_iter()
        .filter(|id| *id != stage_id)
        .collect();
    renumber(&tx, actor.company_id, &before, &order).await?;
    audit_update(&tx, actor.company_id, &before).await?;
    tx.commit().await?;
    Ok(())
}

/// Put the stages in the given order, which must name each of them exactly once.
pub async fn reorder_stages(
    store: &Store,
    actor: &Actor,
    pipeline_id: PipelineId,
    stage_ids: &[StageId],
) -> Result<Pipeline> {
    let tx = store.write(actor).await?;
    touch(&tx, actor.company_id, pipeline_id).await?;
    let before = load(tx.conn(), actor.company_id, pipeline_id).await?;
    rules::check_reorder(&before.stage_ids(), stage_ids)
        .map_err(|m| StoreError::invalid("stage_ids", m))?;
    renumber(&tx, actor.company_id, &before, stage_ids).await?;
    let after = audit_update(&tx, actor.company_id, &before).await?;
    tx.commit().await?;
    Ok(after)
}
