//! Migration `m0017_match_keys`: the normalized keys duplicate detection looks records up by
//! (issue 13 §2; `crate::duplicates`), on leads and contacts: `email_key`, `phone_key`,
//! `domain_key`, `name_key`, `company_key` and `name_block`, each nullable text, with the
//! indexes the look-ups probe (the company first, partial: only rows with the key). Existing
//! rows get their keys here, computed in Rust (`duplicates::backfill`): the normalization
//! (e-mail provider rules, E.164 phones, registrable domains, legal suffixes) is not SQL.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub struct M0017MatchKeys;

impl MigrationName for M0017MatchKeys {
    fn name(&self) -> &str {
        "m0017_match_keys"
    }
}

/// `(index name suffix, columns)` of the look-ups.
const INDEXES: &[(&str, &str)] = &[
    ("email_key", "email_key"),
    ("phone_key", "phone_key"),
    ("domain_key", "domain_key, name_block"),
    ("company_key", "company_key, name_block"),
];

#[async_trait::async_trait]
impl MigrationTrait for M0017MatchKeys {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["leads", "contacts"] {
            // One column per statement: SQLite alters one thing at a time.
            for column in crate::duplicates::KEY_COLUMNS {
                m.alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(ColumnDef::new(Alias::new(column)).text().null())
                        .to_owned(),
                )
                .await?;
            }
        }
        let db = m.get_connection();
        crate::duplicates::backfill_without_settings(db)
            .await
            .map_err(|e| DbErr::Migration(format!("filling the match keys: {e}")))?;
        for table in ["leads", "contacts"] {
            for (name, cols) in INDEXES {
                let first = cols.split(',').next().unwrap_or(cols);
                db.execute_unprepared(&format!(
                    "CREATE INDEX {table}_{name}_idx ON {table} (company_id, {cols}) \
                     WHERE {first} IS NOT NULL"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for table in ["leads", "contacts"] {
            for (name, _) in INDEXES {
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS {table}_{name}_idx"))
                    .await?;
            }
            for column in crate::duplicates::KEY_COLUMNS {
                m.alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
            }
        }
        Ok(())
    }
}
