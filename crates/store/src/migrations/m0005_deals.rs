//! The deals, deal_stage_history and deal_contacts tables, and the company setting
//! `require_close_reason` (migration `m0005_deals`), kept beside `schema.rs` so the record areas
//! can land their migrations side by side.
//!
//! A deal references everything through `(company_id, …)` foreign keys, so it can never point
//! into another company; its stage through `(company_id, pipeline_id, stage_id)`, so it can never
//! sit in a stage of another pipeline. Stage history keeps stage ids without a foreign key: a
//! stage a deal once passed through may be deleted later. History and contact roles go with
//! their deal (ON DELETE CASCADE), contact roles with their contact too. `close_date` is a
//! `YYYY-MM-DD` text, which compares like the date on both databases.

use super::{index, int, json, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0005Deals;

impl MigrationName for M0005Deals {
    fn name(&self) -> &str {
        "m0005_deals"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005Deals {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(CompanyDealSettings::Table)
                .add_column(
                    ColumnDef::new(CompanyDealSettings::RequireCloseReason)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .to_owned(),
        )
        .await?;

        let mut table = Table::create();
        table
            .table(Deals::Table)
            .col(uuid(Deals::CompanyId))
            .col(uuid(Deals::Id))
            .col(text(Deals::Name))
            .col(ColumnDef::new(Deals::AccountId).uuid().null())
            .col(ColumnDef::new(Deals::ContactId).uuid().null())
            .col(ColumnDef::new(Deals::AmountMicros).big_integer().null())
            .col(text(Deals::Currency))
            .col(text_null(Deals::CloseDate))
            .col(uuid(Deals::OwnerId))
            .col(uuid(Deals::PipelineId))
            .col(uuid(Deals::StageId))
            .col(int(Deals::Probability))
            .col(text(Deals::ForecastCategory))
            .col(text_null(Deals::NextStep))
            .col(text_null(Deals::Description))
            .col(text_null(Deals::CloseReason))
            .col(time_null(Deals::ClosedAt))
            .col(json(Deals::Tags))
            .col(json(Deals::CustomFields))
            .col(uuid(Deals::CreatedBy))
            .col(time(Deals::CreatedAt))
            .col(time(Deals::UpdatedAt))
            .col(time(Deals::StageChangedAt))
            .primary_key(Index::create().col(Deals::CompanyId).col(Deals::Id))
            .foreign_key(
                ForeignKey::create()
                    .from(Deals::Table, Deals::CompanyId)
                    .to(Companies::Table, Companies::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Deals::Table, (Deals::CompanyId, Deals::OwnerId))
                    .to(
                        Memberships::Table,
                        (Memberships::CompanyId, Memberships::UserId),
                    ),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Deals::Table, (Deals::CompanyId, Deals::AccountId))
                    .to(Accounts::Table, (Accounts::CompanyId, Accounts::Id)),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Deals::Table, (Deals::CompanyId, Deals::ContactId))
                    .to(Contacts::Table, (Contacts::CompanyId, Contacts::Id)),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Deals::Table, (Deals::CompanyId, Deals::PipelineId))
                    .to(Pipelines::Table, (Pipelines::CompanyId, Pipelines::Id)),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(
                        Deals::Table,
                        (Deals::CompanyId, Deals::PipelineId, Deals::StageId),
                    )
                    .to(
                        PipelineStages::Table,
                        (
                            PipelineStages::CompanyId,
                            PipelineStages::PipelineId,
                            PipelineStages::Id,
                        ),
                    ),
            );
        m.create_table(table.to_owned()).await?;
        for (name, cols) in [
            (
                "deals_owner_idx",
                vec![
                    Deals::CompanyId.into_iden(),
                    Deals::OwnerId.into_iden(),
                    Deals::CreatedAt.into_iden(),
                    Deals::Id.into_iden(),
                ],
            ),
            (
                "deals_created_idx",
                vec![
                    Deals::CompanyId.into_iden(),
                    Deals::CreatedAt.into_iden(),
                    Deals::Id.into_iden(),
                ],
            ),
            (
                "deals_stage_idx",
                vec![
                    Deals::CompanyId.into_iden(),
                    Deals::PipelineId.into_iden(),
                    Deals::StageId.into_iden(),
                ],
            ),
            (
                "deals_account_idx",
                vec![Deals::CompanyId.into_iden(), Deals::AccountId.into_iden()],
            ),
            (
                "deals_contact_idx",
                vec![Deals::CompanyId.into_iden(), Deals::ContactId.into_iden()],
            ),
            (
                "deals_close_date_idx",
                vec![Deals::CompanyId.into_iden(), Deals::CloseDate.into_iden()],
            ),
        ] {
            m.create_index(index(name, Deals::Table, cols)).await?;
        }

        m.create_table(
            Table::create()
                .table(DealStageHistory::Table)
                .col(uuid(DealStageHistory::CompanyId))
                .col(uuid(DealStageHistory::Id))
                .col(uuid(DealStageHistory::DealId))
                .col(ColumnDef::new(DealStageHistory::FromStageId).uuid().null())
                .col(uuid(DealStageHistory::ToStageId))
                .col(
                    ColumnDef::new(DealStageHistory::FromPipelineId)
                        .uuid()
                        .null(),
                )
                .col(uuid(DealStageHistory::ToPipelineId))
                .col(uuid(DealStageHistory::ChangedBy))
                .col(time(DealStageHistory::ChangedAt))
                .primary_key(
                    Index::create()
                        .col(DealStageHistory::CompanyId)
                        .col(DealStageHistory::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            DealStageHistory::Table,
                            (DealStageHistory::CompanyId, DealStageHistory::DealId),
                        )
                        .to(Deals::Table, (Deals::CompanyId, Deals::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "deal_stage_history_deal_idx",
            DealStageHistory::Table,
            vec![
                DealStageHistory::CompanyId.into_iden(),
                DealStageHistory::DealId.into_iden(),
                DealStageHistory::ChangedAt.into_iden(),
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DealContacts::Table)
                .col(uuid(DealContacts::CompanyId))
                .col(uuid(DealContacts::DealId))
                .col(uuid(DealContacts::ContactId))
                .col(text(DealContacts::Role))
                .col(time(DealContacts::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(DealContacts::CompanyId)
                        .col(DealContacts::DealId)
                        .col(DealContacts::ContactId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            DealContacts::Table,
                            (DealContacts::CompanyId, DealContacts::DealId),
                        )
                        .to(Deals::Table, (Deals::CompanyId, Deals::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            DealContacts::Table,
                            (DealContacts::CompanyId, DealContacts::ContactId),
                        )
                        .to(Contacts::Table, (Contacts::CompanyId, Contacts::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "deal_contacts_contact_idx",
            DealContacts::Table,
            vec![
                DealContacts::CompanyId.into_iden(),
                DealContacts::ContactId.into_iden(),
            ],
        ))
        .await?;
        Ok(())
    }
}
