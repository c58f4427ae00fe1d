//! Migration `m0033_audit_via`: an audit row names the automated process that made a change for
//! a user (`actor_via`: `automatic conversion`, `lead scoring`, …), so a change no person made
//! is not taken for theirs. Older rows have none.

use crate::tables::AuditLog;
use sea_orm_migration::prelude::*;

pub(crate) struct M0033AuditVia;

impl MigrationName for M0033AuditVia {
    fn name(&self) -> &str {
        "m0033_audit_via"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0033AuditVia {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(AuditLog::Table)
                .add_column(super::text_null(AuditLog::ActorVia))
                .to_owned(),
        )
        .await
    }
}
