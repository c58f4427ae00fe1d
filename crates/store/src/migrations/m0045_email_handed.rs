//! Migration `m0045_email_handed`: `email_messages.handed_at`, when the message's content was
//! handed to the SMTP server — written after the server's `354` to `DATA` and before the
//! content and its final dot (`crate::email::mark_handed`). A message still `sending` with it
//! set belongs to a process that died after the server could have taken it: whoever takes the
//! message over counts it sent instead of sending it a second time.

use super::time_null;
use crate::tables::EmailMessages as M;
use sea_orm_migration::prelude::*;

pub(crate) struct M0045EmailHanded;

impl MigrationName for M0045EmailHanded {
    fn name(&self) -> &str {
        "m0045_email_handed"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0045EmailHanded {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(M::Table)
                .add_column(time_null(M::HandedAt))
                .to_owned(),
        )
        .await
    }
}
