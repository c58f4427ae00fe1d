//! Migration `m0032_account_health` (issue 14 §5): why a lifecycle rule set an account's stage
//! (`accounts.lifecycle_reason`), the company's health settings (`health_settings`, one JSON
//! document; none means the defaults) and each account's health over time
//! (`account_health_history`, the trend), which goes with its account. The health scores
//! already stored were written by clients; the migration queues the job that recomputes every
//! company's (`accounts.health`).

use super::{int, json, text_null, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0032AccountHealth;

impl MigrationName for M0032AccountHealth {
    fn name(&self) -> &str {
        "m0032_account_health"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0032AccountHealth {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Accounts::Table)
                .add_column(text_null(Accounts::LifecycleReason))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(HealthSettings::Table)
                .col(uuid(HealthSettings::CompanyId).primary_key())
                .col(json(HealthSettings::Settings))
                .col(time(HealthSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(HealthSettings::Table, HealthSettings::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AccountHealthHistory::Table)
                .col(uuid(AccountHealthHistory::CompanyId))
                .col(uuid(AccountHealthHistory::Id))
                .col(uuid(AccountHealthHistory::AccountId))
                .col(int(AccountHealthHistory::Score))
                .col(json(AccountHealthHistory::Components))
                .col(time(AccountHealthHistory::ComputedAt))
                .primary_key(
                    Index::create()
                        .col(AccountHealthHistory::CompanyId)
                        .col(AccountHealthHistory::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            AccountHealthHistory::Table,
                            (
                                AccountHealthHistory::CompanyId,
                                AccountHealthHistory::AccountId,
                            ),
                        )
                        .to(Accounts::Table, (Accounts::CompanyId, Accounts::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("account_health_history_account_time")
                .table(AccountHealthHistory::Table)
                .col(AccountHealthHistory::CompanyId)
                .col(AccountHealthHistory::AccountId)
                .col(AccountHealthHistory::ComputedAt)
                .to_owned(),
        )
        .await?;
        for table in ["health_settings", "account_health_history"] {
            super::m0013_row_level_security::enable_tenant_policies(m, table).await?;
        }
        // Recompute the health scores clients wrote until now, for every company (a database
        // with no account has none to recompute: a new installation gets no job).
        super::queue_job_if_any(
            m,
            "accounts.health",
            serde_json::json!({"cause": "health is computed from now on"}),
            Accounts::Table,
        )
        .await?;
        Ok(())
    }
}
