//! Migration `m0040_email_tracking`: e-mail tracking (issue 15 §3). On `email_messages`, what
//! happened to each message after it left: the first open and how many, the first click and how
//! many, the first reply, the bounce and the unsubscribe, each a time (null: not yet). And
//! `email_suppressions`: the addresses of a company that unsubscribed, one row per address,
//! which every send checks — a lead has no e-mail consent field of its own, and an address that
//! opted out stays out whichever record (or a new one) it is written from.

use super::{text, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0040EmailTracking;

impl MigrationName for M0040EmailTracking {
    fn name(&self) -> &str {
        "m0040_email_tracking"
    }
}

fn count(col: EmailMessages) -> ColumnDef {
    ColumnDef::new(col)
        .integer()
        .not_null()
        .default(0)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for M0040EmailTracking {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use EmailMessages as M;
        // SQLite adds one column per statement.
        for column in [
            time_null(M::OpenedAt),
            count(M::OpenCount),
            time_null(M::ClickedAt),
            count(M::ClickCount),
            time_null(M::RepliedAt),
            time_null(M::BouncedAt),
            time_null(M::UnsubscribedAt),
        ] {
            m.alter_table(Table::alter().table(M::Table).add_column(column).to_owned())
                .await?;
        }
        // Threading an inbound message finds the sent one by its Message-ID.
        m.create_index(
            Index::create()
                .name("email_messages_message_id_idx")
                .table(M::Table)
                .col(M::CompanyId)
                .col(M::MessageId)
                .to_owned(),
        )
        .await?;

        use EmailSuppressions as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(uuid(S::CompanyId))
                .col(text(S::Email))
                .col(text(S::Source))
                .col(ColumnDef::new(S::MessageId).uuid().null())
                .col(time(S::CreatedAt))
                .primary_key(Index::create().col(S::CompanyId).col(S::Email))
                .foreign_key(
                    ForeignKey::create()
                        .from(S::Table, S::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "email_suppressions").await?;
        Ok(())
    }
}
