//! Migration `m0021_imports` (issue 13 §4): the `imports` table — an uploaded file kept in the
//! database (so any instance can run it), what was detected in it, its mapping, options and
//! progress — with its per-row errors (`import_errors`), and on leads, contacts, accounts and
//! deals the `import_id` of the import that created the row (indexed per company, for the
//! `import_id=` filter and an undo).

use super::{json, text, text_null, time, uuid};
use crate::tables::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0021Imports;

impl MigrationName for M0021Imports {
    fn name(&self) -> &str {
        "m0021_imports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0021Imports {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Imports::Table)
                .col(uuid(Imports::CompanyId))
                .col(uuid(Imports::Id))
                .col(text(Imports::Entity))
                .col(text(Imports::FileName))
                .col(text(Imports::Format))
                .col(ColumnDef::new(Imports::Content).blob().not_null())
                .col(text_null(Imports::Encoding))
                .col(text_null(Imports::Delimiter))
                .col(json(Imports::Header))
                .col(json(Imports::Mapping))
                .col(json(Imports::Options))
                .col(text(Imports::Status))
                .col(ColumnDef::new(Imports::TotalRows).big_integer().not_null())
                .col(ColumnDef::new(Imports::RowsDone).big_integer().not_null())
                .col(ColumnDef::new(Imports::Created).big_integer().not_null())
                .col(ColumnDef::new(Imports::Updated).big_integer().not_null())
                .col(ColumnDef::new(Imports::Skipped).big_integer().not_null())
                .col(ColumnDef::new(Imports::Failed).big_integer().not_null())
                .col(ColumnDef::new(Imports::JobId).uuid().null())
                .col(text_null(Imports::Error))
                .col(uuid(Imports::CreatedBy))
                .col(time(Imports::CreatedAt))
                .col(time(Imports::UpdatedAt))
                .primary_key(Index::create().col(Imports::CompanyId).col(Imports::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Imports::Table, Imports::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ImportErrors::Table)
                .col(uuid(ImportErrors::CompanyId))
                .col(uuid(ImportErrors::Id))
                .col(uuid(ImportErrors::ImportId))
                .col(ColumnDef::new(ImportErrors::Line).big_integer().not_null())
                .col(text(ImportErrors::Field))
                .col(text(ImportErrors::Message))
                .primary_key(
                    Index::create()
                        .col(ImportErrors::CompanyId)
                        .col(ImportErrors::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ImportErrors::Table,
                            (ImportErrors::CompanyId, ImportErrors::ImportId),
                        )
                        .to(Imports::Table, (Imports::CompanyId, Imports::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("import_errors_import_idx")
                .table(ImportErrors::Table)
                .col(ImportErrors::CompanyId)
                .col(ImportErrors::ImportId)
                .col(ImportErrors::Line)
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for table in IMPORTED_TABLES {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(*table))
                    .add_column(ColumnDef::new(Imported::ImportId).uuid().null())
                    .to_owned(),
            )
            .await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX {table}_import_idx ON {table} (company_id, import_id) \
                 WHERE import_id IS NOT NULL"
            ))
            .await?;
        }
        super::m0013_row_level_security::enable_tenant_policies(m, "imports").await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "import_errors").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for table in IMPORTED_TABLES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {table}_import_idx"))
                .await?;
            m.alter_table(
                Table::alter()
                    .table(Alias::new(*table))
                    .drop_column(Imported::ImportId)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(ImportErrors::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Imports::Table).to_owned())
            .await?;
        Ok(())
    }
}
