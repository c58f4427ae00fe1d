//! Migration `m0018_intake`: what lead intake keeps (issue 13 §1–2) — a company's duplicate
//! rules and default country (`duplicate_settings`, one JSON row; no row means the defaults),
//! web-to-lead forms (`lead_forms`: the definition as JSON, found by their public `key`) and
//! their posts
//! (`lead_form_submissions`, with referrer and origin), and the stored answers of the ingestion
//! API by idempotency key (`ingest_requests`).

use super::m0013_row_level_security::enable_tenant_policies;
use super::{flag, text, text_null, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0018Intake;

impl MigrationName for M0018Intake {
    fn name(&self) -> &str {
        "m0018_intake"
    }
}

fn company_fk(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Companies::Table, Companies::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for M0018Intake {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DuplicateSettings::Table)
                .col(uuid(DuplicateSettings::CompanyId).primary_key())
                .col(text(DuplicateSettings::Settings))
                .col(time(DuplicateSettings::UpdatedAt))
                .foreign_key(&mut company_fk(
                    DuplicateSettings::Table,
                    DuplicateSettings::CompanyId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LeadForms::Table)
                .col(uuid(LeadForms::CompanyId))
                .col(uuid(LeadForms::Id))
                .col(text(LeadForms::Key))
                .col(text(LeadForms::Name))
                .col(text(LeadForms::Definition))
                .col(flag(LeadForms::Active))
                .col(uuid(LeadForms::OwnerId))
                .col(uuid(LeadForms::CreatedBy))
                .col(time(LeadForms::CreatedAt))
                .col(time(LeadForms::UpdatedAt))
                .primary_key(Index::create().col(LeadForms::CompanyId).col(LeadForms::Id))
                .foreign_key(&mut company_fk(LeadForms::Table, LeadForms::CompanyId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("lead_forms_key_key")
                .table(LeadForms::Table)
                .col(LeadForms::Key)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LeadFormSubmissions::Table)
                .col(uuid(LeadFormSubmissions::CompanyId))
                .col(uuid(LeadFormSubmissions::Id))
                .col(uuid(LeadFormSubmissions::FormId))
                .col(ColumnDef::new(LeadFormSubmissions::LeadId).uuid().null())
                .col(text(LeadFormSubmissions::Outcome))
                .col(flag(LeadFormSubmissions::Consent))
                .col(text_null(LeadFormSubmissions::Referrer))
                .col(text_null(LeadFormSubmissions::Origin))
                .col(time(LeadFormSubmissions::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(LeadFormSubmissions::CompanyId)
                        .col(LeadFormSubmissions::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            LeadFormSubmissions::Table,
                            (LeadFormSubmissions::CompanyId, LeadFormSubmissions::FormId),
                        )
                        .to(LeadForms::Table, (LeadForms::CompanyId, LeadForms::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("lead_form_submissions_form_idx")
                .table(LeadFormSubmissions::Table)
                .col(LeadFormSubmissions::CompanyId)
                .col(LeadFormSubmissions::FormId)
                .col(LeadFormSubmissions::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IngestRequests::Table)
                .col(uuid(IngestRequests::CompanyId))
                .col(text(IngestRequests::Key))
                .col(text(IngestRequests::BodyHash))
                .col(text_null(IngestRequests::Response))
                .col(time(IngestRequests::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IngestRequests::CompanyId)
                        .col(IngestRequests::Key),
                )
                .foreign_key(&mut company_fk(
                    IngestRequests::Table,
                    IngestRequests::CompanyId,
                ))
                .to_owned(),
        )
        .await?;

        for table in [
            "duplicate_settings",
            "lead_forms",
            "lead_form_submissions",
            "ingest_requests",
        ] {
            enable_tenant_policies(m, table).await?;
        }
        Ok(())
    }
}
