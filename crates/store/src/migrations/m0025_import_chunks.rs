//! Migration `m0025_import_chunks`: an import's file is kept in pieces of about a mebibyte
//! (`import_chunks`, as `export_chunks` keeps an export's) instead of one blob in
//! `import_files`. Written as one blob, a 146 MB file was held three or four times over while
//! it was stored (the caller's copy, the bound argument, the database's own) and read back the
//! same way: a million-row import peaked at 733 MB. Files already kept move as one piece each.

use super::uuid;
use crate::tables::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0025ImportChunks;

impl MigrationName for M0025ImportChunks {
    fn name(&self) -> &str {
        "m0025_import_chunks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0025ImportChunks {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ImportChunks::Table)
                .col(uuid(ImportChunks::CompanyId))
                .col(uuid(ImportChunks::ImportId))
                .col(ColumnDef::new(ImportChunks::Seq).integer().not_null())
                .col(ColumnDef::new(ImportChunks::Bytes).blob().not_null())
                .primary_key(
                    Index::create()
                        .col(ImportChunks::CompanyId)
                        .col(ImportChunks::ImportId)
                        .col(ImportChunks::Seq),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ImportChunks::Table,
                            (ImportChunks::CompanyId, ImportChunks::ImportId),
                        )
                        .to(Imports::Table, (Imports::CompanyId, Imports::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO import_chunks (company_id, import_id, seq, bytes) \
                 SELECT company_id, import_id, 0, content FROM import_files",
            )
            .await?;
        m.drop_table(Table::drop().table(Alias::new("import_files")).to_owned())
            .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "import_chunks").await?;
        Ok(())
    }
}
