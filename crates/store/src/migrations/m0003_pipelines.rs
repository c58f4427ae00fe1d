//! The pipelines and pipeline_stages tables (migration `m0003_pipelines`), kept beside
//! `schema.rs` so the record areas can land their migrations side by side.
//!
//! Stage ids are stable for their whole life: deals will point at `(company_id, pipeline_id,
//! stage_id)`, which the unique index `pipeline_stages_pipeline_id_key` exists to be the target
//! of, so a deal can never sit in a stage of another pipeline. Positions are not unique in the
//! schema on purpose: a reorder rewrites them inside one transaction and would otherwise trip over
//! its own intermediate states.

use super::{int, text, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0003Pipelines;

impl MigrationName for M0003Pipelines {
    fn name(&self) -> &str {
        "m0003_pipelines"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Pipelines {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Pipelines::Table)
                .col(uuid(Pipelines::CompanyId))
                .col(uuid(Pipelines::Id))
                .col(text(Pipelines::Name))
                .col(
                    ColumnDef::new(Pipelines::IsDefault)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(int(Pipelines::Position))
                .col(time(Pipelines::CreatedAt))
                .col(time(Pipelines::UpdatedAt))
                .primary_key(Index::create().col(Pipelines::CompanyId).col(Pipelines::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Pipelines::Table, Pipelines::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("pipelines_company_name_key")
                .table(Pipelines::Table)
                .col(Pipelines::CompanyId)
                .col(Pipelines::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PipelineStages::Table)
                .col(uuid(PipelineStages::CompanyId))
                .col(uuid(PipelineStages::Id))
                .col(uuid(PipelineStages::PipelineId))
                .col(text(PipelineStages::Name))
                .col(int(PipelineStages::Position))
                .col(int(PipelineStages::Probability))
                .col(text(PipelineStages::ForecastCategory))
                .col(text(PipelineStages::Outcome))
                .col(time(PipelineStages::CreatedAt))
                .col(time(PipelineStages::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(PipelineStages::CompanyId)
                        .col(PipelineStages::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PipelineStages::Table, PipelineStages::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            PipelineStages::Table,
                            (PipelineStages::CompanyId, PipelineStages::PipelineId),
                        )
                        .to(Pipelines::Table, (Pipelines::CompanyId, Pipelines::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("pipeline_stages_pipeline_name_key")
                .table(PipelineStages::Table)
                .col(PipelineStages::CompanyId)
                .col(PipelineStages::PipelineId)
                .col(PipelineStages::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("pipeline_stages_pipeline_id_key")
                .table(PipelineStages::Table)
                .col(PipelineStages::CompanyId)
                .col(PipelineStages::PipelineId)
                .col(PipelineStages::Id)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("pipeline_stages_position_idx")
                .table(PipelineStages::Table)
                .col(PipelineStages::CompanyId)
                .col(PipelineStages::PipelineId)
                .col(PipelineStages::Position)
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
