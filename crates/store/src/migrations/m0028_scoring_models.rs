//! Migration `m0028_scoring_models` (issue 14 §1): a company's conversion models, one row per
//! trained version (`scoring_models`: the model as JSON, who trained it, and the held-out
//! figures a list shows without reading the JSON), and each lead's probability from the newest
//! (`lead_predictions`, one row per lead, going with it).

use super::{int, json, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0028ScoringModels;

impl MigrationName for M0028ScoringModels {
    fn name(&self) -> &str {
        "m0028_scoring_models"
    }
}

fn double(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).double().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for M0028ScoringModels {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ScoringModels::Table)
                .col(uuid(ScoringModels::CompanyId))
                .col(uuid(ScoringModels::Id))
                .col(int(ScoringModels::Version))
                .col(time(ScoringModels::TrainedAt))
                .col(ColumnDef::new(ScoringModels::TrainedBy).uuid().null())
                .col(json(ScoringModels::Model))
                .col(int(ScoringModels::SampleSize))
                .col(int(ScoringModels::TrainSize))
                .col(int(ScoringModels::TestSize))
                .col(double(ScoringModels::PositiveRate))
                .col(double(ScoringModels::RocAuc))
                .primary_key(
                    Index::create()
                        .col(ScoringModels::CompanyId)
                        .col(ScoringModels::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ScoringModels::Table, ScoringModels::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("scoring_models_version")
                .table(ScoringModels::Table)
                .col(ScoringModels::CompanyId)
                .col(ScoringModels::Version)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LeadPredictions::Table)
                .col(uuid(LeadPredictions::CompanyId))
                .col(uuid(LeadPredictions::LeadId))
                .col(uuid(LeadPredictions::ModelId))
                .col(double(LeadPredictions::Probability))
                .col(json(LeadPredictions::Contributions))
                .col(time(LeadPredictions::ScoredAt))
                .primary_key(
                    Index::create()
                        .col(LeadPredictions::CompanyId)
                        .col(LeadPredictions::LeadId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            LeadPredictions::Table,
                            (LeadPredictions::CompanyId, LeadPredictions::LeadId),
                        )
                        .to(Leads::Table, (Leads::CompanyId, Leads::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            LeadPredictions::Table,
                            (LeadPredictions::CompanyId, LeadPredictions::ModelId),
                        )
                        .to(
                            ScoringModels::Table,
                            (ScoringModels::CompanyId, ScoringModels::Id),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for table in ["scoring_models", "lead_predictions"] {
            super::m0013_row_level_security::enable_tenant_policies(m, table).await?;
        }
        Ok(())
    }
}
