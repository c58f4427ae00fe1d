//! The custom_field_definitions table (migration `m0008_custom_fields`), kept beside `schema.rs`
//! so the record areas can land their migrations side by side.
//!
//! A definition belongs to a company and a record type (`lead`, `account`, `contact`, `deal`);
//! its `key` is unique per company and record type (`custom_field_definitions_key_key`). The
//! values themselves live in each record table's `custom_fields` JSON column.

use super::{flag, int, json, text, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0008CustomFields;

impl MigrationName for M0008CustomFields {
    fn name(&self) -> &str {
        "m0008_custom_fields"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0008CustomFields {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CustomFieldDefinitions::Table)
                .col(uuid(CustomFieldDefinitions::CompanyId))
                .col(uuid(CustomFieldDefinitions::Id))
                .col(text(CustomFieldDefinitions::RecordType))
                .col(text(CustomFieldDefinitions::Key))
                .col(text(CustomFieldDefinitions::Label))
                .col(text(CustomFieldDefinitions::Kind))
                .col(json(CustomFieldDefinitions::Options))
                .col(flag(CustomFieldDefinitions::Required))
                .col(int(CustomFieldDefinitions::Position))
                .col(time(CustomFieldDefinitions::CreatedAt))
                .col(time(CustomFieldDefinitions::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(CustomFieldDefinitions::CompanyId)
                        .col(CustomFieldDefinitions::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            CustomFieldDefinitions::Table,
                            CustomFieldDefinitions::CompanyId,
                        )
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("custom_field_definitions_key_key")
                .table(CustomFieldDefinitions::Table)
                .col(CustomFieldDefinitions::CompanyId)
                .col(CustomFieldDefinitions::RecordType)
                .col(CustomFieldDefinitions::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(CustomFieldDefinitions::Table)
                .to_owned(),
        )
        .await
    }
}
