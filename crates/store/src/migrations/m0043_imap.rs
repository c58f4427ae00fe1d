//! Migration `m0043_imap`: IMAP polling (issue 15 §3). `imap_polls` keeps, per company, where
//! its mailbox was read up to (the folder's UIDVALIDITY and the highest UID taken, advanced
//! after each message, so a crash reads a message again rather than loses it), how the last
//! poll went, and the lease of a poll running now. The settings themselves live in the e-mail
//! settings document.

use super::{time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0043Imap;

impl MigrationName for M0043Imap {
    fn name(&self) -> &str {
        "m0043_imap"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0043Imap {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ImapPolls as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(uuid(P::CompanyId).primary_key())
                .col(ColumnDef::new(P::UidValidity).big_integer().null())
                .col(
                    ColumnDef::new(P::LastUid)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(time_null(P::PolledAt))
                .col(ColumnDef::new(P::Error).text().null())
                .col(ColumnDef::new(P::Taken).big_integer().not_null().default(0))
                .col(time_null(P::LockedUntil))
                .foreign_key(
                    ForeignKey::create()
                        .from(P::Table, P::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "imap_polls").await?;
        Ok(())
    }
}
