//! The saved_views table (migration `m0009_saved_views`), kept beside `schema.rs` so the areas
//! can land their migrations side by side.
//!
//! A saved view is a named list query (filters and sort) of one record list, private to the
//! member who saved it: its name is unique per company, member and resource
//! (`saved_views_name_key`), and at most one view per member and resource is the default
//! (`saved_views_default_key`, a partial unique index both engines support).

use super::{flag, text, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0009SavedViews;

impl MigrationName for M0009SavedViews {
    fn name(&self) -> &str {
        "m0009_saved_views"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009SavedViews {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SavedViews::Table)
                .col(uuid(SavedViews::CompanyId))
                .col(uuid(SavedViews::Id))
                .col(uuid(SavedViews::UserId))
                .col(text(SavedViews::Resource))
                .col(text(SavedViews::Name))
                .col(text(SavedViews::Query))
                .col(flag(SavedViews::IsDefault))
                .col(time(SavedViews::CreatedAt))
                .col(time(SavedViews::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(SavedViews::CompanyId)
                        .col(SavedViews::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(SavedViews::Table, SavedViews::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            SavedViews::Table,
                            (SavedViews::CompanyId, SavedViews::UserId),
                        )
                        .to(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::UserId),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("saved_views_name_key")
                .table(SavedViews::Table)
                .col(SavedViews::CompanyId)
                .col(SavedViews::UserId)
                .col(SavedViews::Resource)
                .col(SavedViews::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("saved_views_default_key")
                .table(SavedViews::Table)
                .col(SavedViews::CompanyId)
                .col(SavedViews::UserId)
                .col(SavedViews::Resource)
                .unique()
                .and_where(Expr::col(SavedViews::IsDefault).eq(true))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SavedViews::Table).to_owned())
            .await
    }
}
