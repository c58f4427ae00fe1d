//! Migration `m0034_notifications`: a member's in-app notifications (`notifications`: what
//! happened, a title and body, a path in the app and the record it is about, when it was made
//! and read), which go with the membership. Two indexes serve the member's reads: all of them
//! newest first, and — partial, so it holds only the unread — the unread ones newest first and
//! their count (the bell on every page).

use super::{text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0034Notifications;

impl MigrationName for M0034Notifications {
    fn name(&self) -> &str {
        "m0034_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0034Notifications {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Notifications as N;
        m.create_table(
            Table::create()
                .table(N::Table)
                .col(uuid(N::CompanyId))
                .col(uuid(N::Id))
                .col(uuid(N::UserId))
                .col(text(N::Kind))
                .col(text(N::Title))
                .col(text_null(N::Body))
                .col(text_null(N::Link))
                .col(text_null(N::RecordType))
                .col(ColumnDef::new(N::RecordId).uuid().null())
                .col(time(N::CreatedAt))
                .col(time_null(N::ReadAt))
                .primary_key(Index::create().col(N::CompanyId).col(N::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(N::Table, N::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(N::Table, (N::CompanyId, N::UserId))
                        .to(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::UserId),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A member's notifications, newest first (ids are time-ordered).
        m.create_index(
            Index::create()
                .name("notifications_user_idx")
                .table(N::Table)
                .col(N::CompanyId)
                .col(N::UserId)
                .col(N::Id)
                .to_owned(),
        )
        .await?;
        // Their unread ones, newest first, and how many.
        m.create_index(
            Index::create()
                .name("notifications_unread_idx")
                .table(N::Table)
                .col(N::CompanyId)
                .col(N::UserId)
                .col(N::Id)
                .and_where(Expr::col(N::ReadAt).is_null())
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "notifications").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await?;
        Ok(())
    }
}
