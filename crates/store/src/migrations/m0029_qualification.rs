//! Migration `m0029_qualification` (issue 14 §2): a lead's status reason and when its status
//! last changed, the company's qualification gates (`qualification_settings`, one JSON
//! document; none means the defaults) and each lead's statuses with when it entered and left
//! them (`lead_status_history`: time in each status). Existing leads start their history at
//! their creation, in their current status.

use super::{text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0029Qualification;

impl MigrationName for M0029Qualification {
    fn name(&self) -> &str {
        "m0029_qualification"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0029Qualification {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            text_null(Leads::StatusReason),
            time_null(Leads::StatusChangedAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(QualificationSettings::Table)
                .col(uuid(QualificationSettings::CompanyId).primary_key())
                .col(super::json(QualificationSettings::Settings))
                .col(time(QualificationSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            QualificationSettings::Table,
                            QualificationSettings::CompanyId,
                        )
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LeadStatusHistory::Table)
                .col(uuid(LeadStatusHistory::CompanyId))
                .col(uuid(LeadStatusHistory::Id))
                .col(uuid(LeadStatusHistory::LeadId))
                .col(text(LeadStatusHistory::Status))
                .col(time(LeadStatusHistory::EnteredAt))
                .col(time_null(LeadStatusHistory::LeftAt))
                .col(text_null(LeadStatusHistory::Reason))
                .primary_key(
                    Index::create()
                        .col(LeadStatusHistory::CompanyId)
                        .col(LeadStatusHistory::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            LeadStatusHistory::Table,
                            (LeadStatusHistory::CompanyId, LeadStatusHistory::LeadId),
                        )
                        .to(Leads::Table, (Leads::CompanyId, Leads::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("lead_status_history_lead")
                .table(LeadStatusHistory::Table)
                .col(LeadStatusHistory::CompanyId)
                .col(LeadStatusHistory::LeadId)
                .col(LeadStatusHistory::EnteredAt)
                .to_owned(),
        )
        .await?;
        // Each existing lead has been in its status since its creation (as far as is known);
        // its id serves as the row's, which no other row of this table will take.
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO lead_status_history (company_id, id, lead_id, status, entered_at) \
                 SELECT company_id, id, id, status, created_at FROM leads",
            )
            .await?;
        for table in ["qualification_settings", "lead_status_history"] {
            super::m0013_row_level_security::enable_tenant_policies(m, table).await?;
        }
        Ok(())
    }
}
