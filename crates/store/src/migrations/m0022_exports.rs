//! Migration `m0022_exports` (issue 13 §4): the `exports` table — a record list written to a
//! file by a job, in the caller's scope (the list, format and query asked for, status, rows and
//! bytes written, when the file expires) — and `export_chunks`, the file itself in pieces of
//! about a mebibyte, kept in the database so that every instance can serve it.

use super::{json, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0022Exports;

impl MigrationName for M0022Exports {
    fn name(&self) -> &str {
        "m0022_exports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0022Exports {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Exports::Table)
                .col(uuid(Exports::CompanyId))
                .col(uuid(Exports::Id))
                .col(text(Exports::Entity))
                .col(text(Exports::Format))
                .col(json(Exports::Query))
                .col(text(Exports::Status))
                .col(
                    ColumnDef::new(Exports::RowsWritten)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Exports::ByteSize).big_integer().not_null())
                .col(text_null(Exports::Error))
                .col(text(Exports::FileName))
                .col(uuid(Exports::CreatedBy))
                .col(time(Exports::CreatedAt))
                .col(time_null(Exports::FinishedAt))
                .col(time(Exports::ExpiresAt))
                .col(ColumnDef::new(Exports::JobId).uuid().null())
                .primary_key(Index::create().col(Exports::CompanyId).col(Exports::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Exports::Table, Exports::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A member's exports, newest first.
        m.create_index(
            Index::create()
                .name("exports_creator_idx")
                .table(Exports::Table)
                .col(Exports::CompanyId)
                .col(Exports::CreatedBy)
                .col(Exports::CreatedAt)
                .to_owned(),
        )
        .await?;
        // The daily clean-up's look-up, across companies.
        m.create_index(
            Index::create()
                .name("exports_expires_idx")
                .table(Exports::Table)
                .col(Exports::ExpiresAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ExportChunks::Table)
                .col(uuid(ExportChunks::CompanyId))
                .col(uuid(ExportChunks::ExportId))
                .col(ColumnDef::new(ExportChunks::Seq).big_integer().not_null())
                .col(ColumnDef::new(ExportChunks::Bytes).blob().not_null())
                .primary_key(
                    Index::create()
                        .col(ExportChunks::CompanyId)
                        .col(ExportChunks::ExportId)
                        .col(ExportChunks::Seq),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ExportChunks::Table,
                            (ExportChunks::CompanyId, ExportChunks::ExportId),
                        )
                        .to(Exports::Table, (Exports::CompanyId, Exports::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "exports").await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "export_chunks").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ExportChunks::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Exports::Table).to_owned())
            .await?;
        Ok(())
    }
}
