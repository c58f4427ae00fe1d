//! Migration `m0031_deal_risk` (issue 14 §4): each open deal's risk (`risk_score`,
//! `risk_level`, `risk_computed_at`; empty for a closed deal and until first computed), what
//! the risk needs to know of a deal's past that no column kept (`close_date_pushes`, how often
//! the close date moved later, and `amount_high_micros`, the highest amount), indexes for the
//! list filter and for the stage medians, and the company's risk settings (`risk_settings`, one
//! JSON document; none means the defaults). Existing deals start with their amount as their
//! highest and no push counted (the audit trail's earlier changes are not replayed); the job
//! `deals.risk` computes every open deal's risk.

use super::{index, time, uuid};
use crate::tables::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0031DealRisk;

impl MigrationName for M0031DealRisk {
    fn name(&self) -> &str {
        "m0031_deal_risk"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0031DealRisk {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ColumnDef::new(Deals::RiskScore).integer().null().to_owned(),
            ColumnDef::new(Deals::RiskLevel).text().null().to_owned(),
            super::time_null(Deals::RiskComputedAt),
            ColumnDef::new(Deals::CloseDatePushes)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Deals::AmountHighMicros)
                .big_integer()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Deals::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared("UPDATE deals SET amount_high_micros = amount_micros")
            .await?;
        for (name, table, cols) in [
            (
                "deals_risk_idx",
                Deals::Table.into_iden(),
                cols![Deals::CompanyId, Deals::RiskScore, Deals::Id],
            ),
            (
                "deal_stage_history_to_idx",
                DealStageHistory::Table.into_iden(),
                cols![DealStageHistory::CompanyId, DealStageHistory::ToStageId],
            ),
            (
                "deal_stage_history_from_idx",
                DealStageHistory::Table.into_iden(),
                cols![DealStageHistory::CompanyId, DealStageHistory::FromStageId],
            ),
        ] {
            m.create_index(index(name, table, cols)).await?;
        }
        m.create_table(
            Table::create()
                .table(RiskSettings::Table)
                .col(uuid(RiskSettings::CompanyId).primary_key())
                .col(super::json(RiskSettings::Settings))
                .col(time(RiskSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RiskSettings::Table, RiskSettings::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "risk_settings").await?;
        super::queue_job_if_any(
            m,
            "deals.risk",
            serde_json::json!({"cause": "deal risk is computed from now on"}),
            Deals::Table,
        )
        .await?;
        Ok(())
    }
}
