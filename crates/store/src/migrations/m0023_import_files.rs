//! Migration `m0023_import_files`: an import's file moves out of its `imports` row into
//! `import_files`. A run writes the import's progress after every batch; with the file in the
//! same row, each of those updates rewrote the whole file (SQLite rewrites a row's overflow
//! pages, PostgreSQL writes a new row version): a 150 MB file meant 150 MB written per 500
//! rows. Files already kept are moved.

use super::uuid;
use crate::tables::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0023ImportFiles;

/// The table this migration made (`m0025_import_chunks` replaced it).
#[derive(DeriveIden)]
enum ImportFiles {
    Table,
    CompanyId,
    ImportId,
    Content,
}

impl MigrationName for M0023ImportFiles {
    fn name(&self) -> &str {
        "m0023_import_files"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0023ImportFiles {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ImportFiles::Table)
                .col(uuid(ImportFiles::CompanyId))
                .col(uuid(ImportFiles::ImportId))
                .col(ColumnDef::new(ImportFiles::Content).blob().not_null())
                .primary_key(
                    Index::create()
                        .col(ImportFiles::CompanyId)
                        .col(ImportFiles::ImportId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ImportFiles::Table,
                            (ImportFiles::CompanyId, ImportFiles::ImportId),
                        )
                        .to(Imports::Table, (Imports::CompanyId, Imports::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "INSERT INTO import_files (company_id, import_id, content) \
             SELECT company_id, id, content FROM imports",
        )
        .await?;
        db.execute_unprepared("ALTER TABLE imports DROP COLUMN content")
            .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "import_files").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE imports ADD COLUMN content BLOB")
            .await?;
        db.execute_unprepared(
            "UPDATE imports SET content = (SELECT f.content FROM import_files f \
             WHERE f.company_id = imports.company_id AND f.import_id = imports.id)",
        )
        .await?;
        m.drop_table(Table::drop().table(ImportFiles::Table).to_owned())
            .await
    }
}
