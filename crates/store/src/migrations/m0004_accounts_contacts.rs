//! The accounts and contacts tables (migration `m0004_accounts_contacts`), kept beside
//! `schema.rs` so the record areas can land their migrations side by side.
//!
//! Both reference their own table through `(company_id, …)` foreign keys — an account's parent,
//! a contact's account — so a row can never point into another company. Deleting an account
//! with contacts or children is refused by those keys unless the store first moved or deleted
//! them, which is what the API asks the caller to choose. A partial unique index allows one
//! primary contact per account.

use super::{flag, index, json, text_null, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0004AccountsContacts;

impl MigrationName for M0004AccountsContacts {
    fn name(&self) -> &str {
        "m0004_accounts_contacts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0004AccountsContacts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Accounts::Table)
            .col(uuid(Accounts::CompanyId))
            .col(uuid(Accounts::Id))
            .col(ColumnDef::new(Accounts::Name).text().not_null());
        for col in [Accounts::Domain, Accounts::Industry] {
            table.col(text_null(col));
        }
        table
            .col(ColumnDef::new(Accounts::EmployeeCount).big_integer().null())
            .col(
                ColumnDef::new(Accounts::AnnualRevenueMicros)
                    .big_integer()
                    .null(),
            )
            .col(text_null(Accounts::AnnualRevenueCurrency));
        for col in [
            Accounts::BillingStreet,
            Accounts::BillingCity,
            Accounts::BillingRegion,
            Accounts::BillingPostalCode,
            Accounts::BillingCountry,
            Accounts::ShippingStreet,
            Accounts::ShippingCity,
            Accounts::ShippingRegion,
            Accounts::ShippingPostalCode,
            Accounts::ShippingCountry,
        ] {
            table.col(text_null(col));
        }
        table
            .col(uuid(Accounts::OwnerId))
            .col(ColumnDef::new(Accounts::ParentId).uuid().null())
            .col(ColumnDef::new(Accounts::LifecycleStage).text().not_null())
            .col(ColumnDef::new(Accounts::HealthScore).integer().null())
            .col(json(Accounts::Tags))
            .col(json(Accounts::CustomFields))
            .col(uuid(Accounts::CreatedBy))
            .col(time(Accounts::CreatedAt))
            .col(time(Accounts::UpdatedAt))
            .primary_key(Index::create().col(Accounts::CompanyId).col(Accounts::Id))
            .foreign_key(
                ForeignKey::create()
                    .from(Accounts::Table, Accounts::CompanyId)
                    .to(Companies::Table, Companies::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Accounts::Table, (Accounts::CompanyId, Accounts::OwnerId))
                    .to(
                        Memberships::Table,
                        (Memberships::CompanyId, Memberships::UserId),
                    ),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Accounts::Table, (Accounts::CompanyId, Accounts::ParentId))
                    .to(Accounts::Table, (Accounts::CompanyId, Accounts::Id)),
            );
        m.create_table(table.to_owned()).await?;
        m.create_index(index(
            "accounts_owner_idx",
            Accounts::Table,
            vec![
                Accounts::CompanyId.into_iden(),
                Accounts::OwnerId.into_iden(),
                Accounts::CreatedAt.into_iden(),
                Accounts::Id.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "accounts_created_idx",
            Accounts::Table,
            vec![
                Accounts::CompanyId.into_iden(),
                Accounts::CreatedAt.into_iden(),
                Accounts::Id.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "accounts_parent_idx",
            Accounts::Table,
            vec![
                Accounts::CompanyId.into_iden(),
                Accounts::ParentId.into_iden(),
            ],
        ))
        .await?;

        let mut table = Table::create();
        table
            .table(Contacts::Table)
            .col(uuid(Contacts::CompanyId))
            .col(uuid(Contacts::Id));
        for col in [
            Contacts::FirstName,
            Contacts::LastName,
            Contacts::Title,
            Contacts::Email,
            Contacts::EmailNorm,
            Contacts::Phone,
            Contacts::Mobile,
        ] {
            table.col(text_null(col));
        }
        table
            .col(ColumnDef::new(Contacts::AccountId).uuid().null())
            .col(flag(Contacts::IsPrimary))
            .col(uuid(Contacts::OwnerId))
            .col(flag(Contacts::EmailConsent))
            .col(text_null(Contacts::EmailConsentSource))
            .col(
                ColumnDef::new(Contacts::EmailConsentAt)
                    .timestamp_with_time_zone()
                    .null(),
            )
            .col(flag(Contacts::WhatsappConsent))
            .col(text_null(Contacts::WhatsappConsentSource))
            .col(
                ColumnDef::new(Contacts::WhatsappConsentAt)
                    .timestamp_with_time_zone()
                    .null(),
            );
        for col in [
            Contacts::Street,
            Contacts::City,
            Contacts::Region,
            Contacts::PostalCode,
            Contacts::Country,
        ] {
            table.col(text_null(col));
        }
        table
            .col(json(Contacts::Tags))
            .col(json(Contacts::CustomFields))
            .col(uuid(Contacts::CreatedBy))
            .col(time(Contacts::CreatedAt))
            .col(time(Contacts::UpdatedAt))
            .primary_key(Index::create().col(Contacts::CompanyId).col(Contacts::Id))
            .foreign_key(
                ForeignKey::create()
                    .from(Contacts::Table, Contacts::CompanyId)
                    .to(Companies::Table, Companies::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Contacts::Table, (Contacts::CompanyId, Contacts::OwnerId))
                    .to(
                        Memberships::Table,
                        (Memberships::CompanyId, Memberships::UserId),
                    ),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Contacts::Table, (Contacts::CompanyId, Contacts::AccountId))
                    .to(Accounts::Table, (Accounts::CompanyId, Accounts::Id)),
            );
        m.create_table(table.to_owned()).await?;
        m.create_index(index(
            "contacts_owner_idx",
            Contacts::Table,
            vec![
                Contacts::CompanyId.into_iden(),
                Contacts::OwnerId.into_iden(),
                Contacts::CreatedAt.into_iden(),
                Contacts::Id.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "contacts_created_idx",
            Contacts::Table,
            vec![
                Contacts::CompanyId.into_iden(),
                Contacts::CreatedAt.into_iden(),
                Contacts::Id.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "contacts_account_idx",
            Contacts::Table,
            vec![
                Contacts::CompanyId.into_iden(),
                Contacts::AccountId.into_iden(),
            ],
        ))
        .await?;
        // The database keeps the one-primary-per-account rule even if two writers race past
        // the store's un-setting of the previous primary.
        m.create_index(
            index(
                "contacts_primary_key",
                Contacts::Table,
                vec![
                    Contacts::CompanyId.into_iden(),
                    Contacts::AccountId.into_iden(),
                ],
            )
            .unique()
            .and_where(Expr::col(Contacts::IsPrimary).eq(true))
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "contacts_email_idx",
            Contacts::Table,
            vec![
                Contacts::CompanyId.into_iden(),
                Contacts::EmailNorm.into_iden(),
            ],
        ))
        .await?;
        Ok(())
    }
}
