//! Migration `m0002_leads`.

use super::{index, text, text_null, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

/// Leads, the first record table; its indexes serve the hot list (by owner and status, newest
/// first) and duplicate checks by e-mail.
pub(crate) struct M0002Leads;

impl MigrationName for M0002Leads {
    fn name(&self) -> &str {
        "m0002_leads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0002Leads {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let score = |col: Leads| {
            ColumnDef::new(col)
                .integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        let mut table = Table::create();
        table
            .table(Leads::Table)
            .col(uuid(Leads::CompanyId))
            .col(uuid(Leads::Id));
        for col in [
            Leads::FirstName,
            Leads::LastName,
            Leads::Title,
            Leads::Email,
            Leads::EmailNorm,
            Leads::Phone,
            Leads::Mobile,
            Leads::CompanyName,
            Leads::Website,
            Leads::Industry,
        ] {
            table.col(text_null(col));
        }
        table
            .col(ColumnDef::new(Leads::EmployeeCount).big_integer().null())
            .col(
                ColumnDef::new(Leads::AnnualRevenueMicros)
                    .big_integer()
                    .null(),
            )
            .col(text_null(Leads::AnnualRevenueCurrency));
        for col in [
            Leads::Street,
            Leads::City,
            Leads::Region,
            Leads::PostalCode,
            Leads::Country,
            Leads::Source,
            Leads::UtmSource,
            Leads::UtmMedium,
            Leads::UtmCampaign,
            Leads::UtmTerm,
            Leads::UtmContent,
        ] {
            table.col(text_null(col));
        }
        table
            .col(text(Leads::Status))
            .col(uuid(Leads::OwnerId))
            .col(ColumnDef::new(Leads::Tags).json_binary().not_null())
            .col(score(Leads::FitScore))
            .col(score(Leads::EngagementScore))
            .col(score(Leads::TotalScore));
        for col in [
            Leads::Budget,
            Leads::Authority,
            Leads::Need,
            Leads::Timeline,
            Leads::Metrics,
            Leads::EconomicBuyer,
            Leads::DecisionCriteria,
            Leads::DecisionProcess,
            Leads::IdentifiedPain,
            Leads::Champion,
            Leads::Competition,
        ] {
            table.col(text_null(col));
        }
        table
            .col(ColumnDef::new(Leads::CustomFields).json_binary().not_null())
            .col(uuid(Leads::CreatedBy))
            .col(time(Leads::CreatedAt))
            .col(time(Leads::UpdatedAt))
            .primary_key(Index::create().col(Leads::CompanyId).col(Leads::Id))
            .foreign_key(
                ForeignKey::create()
                    .from(Leads::Table, Leads::CompanyId)
                    .to(Companies::Table, Companies::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Leads::Table, (Leads::CompanyId, Leads::OwnerId))
                    .to(
                        Memberships::Table,
                        (Memberships::CompanyId, Memberships::UserId),
                    ),
            );
        m.create_table(table.to_owned()).await?;
        m.create_index(index(
            "leads_owner_status_idx",
            Leads::Table,
            cols![
                Leads::CompanyId,
                Leads::OwnerId,
                Leads::Status,
                Leads::CreatedAt,
                Leads::Id
            ],
        ))
        .await?;
        m.create_index(index(
            "leads_created_idx",
            Leads::Table,
            cols![Leads::CompanyId, Leads::CreatedAt, Leads::Id],
        ))
        .await?;
        m.create_index(index(
            "leads_email_idx",
            Leads::Table,
            cols![Leads::CompanyId, Leads::EmailNorm],
        ))
        .await?;
        Ok(())
    }
}
