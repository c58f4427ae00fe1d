//! Migration `m0024_search_batches` (SQLite): a transaction that creates many records at once
//! indexes them for search as one batch instead of row by row.
//!
//! Each new `search_docs` row used to fire three triggers: one insert into each FTS index, and
//! the vocabulary's, which walks every character of the row's terms in SQL to find its words
//! (about 40 % of an import's database time). While `search_batch` holds a row, those three
//! triggers stand aside; the batch (`crate::search::SearchBatch`) then adds every row it
//! created to both FTS indexes with one statement each and its words to the vocabulary with
//! one insert, split into words in Rust. The row lives only inside that transaction (SQLite
//! has one writer at a time, and readers never see it uncommitted), so every other write is
//! indexed by the triggers as before. PostgreSQL is unchanged.

use super::m0007_search::SQLITE_FTS_INDEXES;
use super::m0014_search_scale::{SQLITE_VOCAB_TRIGGER, sqlite_vocab_words};
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub(crate) struct M0024SearchBatches;

impl MigrationName for M0024SearchBatches {
    fn name(&self) -> &str {
        "m0024_search_batches"
    }
}

/// The table whose row marks a transaction that indexes its new search documents itself.
pub(crate) const SEARCH_BATCH: &str = "search_batch";

const OUTSIDE_A_BATCH: &str = "WHEN NOT EXISTS (SELECT 1 FROM search_batch)";

/// SQLite: the `CREATE` statement of the trigger that adds a new `search_docs` row to the FTS
/// index `index`, outside a batch.
pub(crate) fn sqlite_fts_on_insert(index: &str, trigger: &str) -> String {
    format!(
        "CREATE TRIGGER {trigger} AFTER INSERT ON search_docs {OUTSIDE_A_BATCH} BEGIN \
           INSERT INTO {index} (rowid, terms) VALUES (new.doc_id, new.terms); \
         END"
    )
}

/// SQLite: the `CREATE` statement of the trigger that adds a new `search_docs` row's words to
/// the vocabulary, outside a batch.
pub(crate) fn sqlite_vocab_on_insert() -> String {
    format!(
        "CREATE TRIGGER {SQLITE_VOCAB_TRIGGER} AFTER INSERT ON search_docs {OUTSIDE_A_BATCH} \
         BEGIN \
           INSERT OR IGNORE INTO search_vocab (company_id, term) SELECT new.company_id, w FROM ({}); \
         END",
        sqlite_vocab_words("new.")
    )
}

#[async_trait::async_trait]
impl MigrationTrait for M0024SearchBatches {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let mut statements = vec![format!(
            "CREATE TABLE {SEARCH_BATCH} (after_doc_id INTEGER NOT NULL)"
        )];
        for (index, trigger) in SQLITE_FTS_INDEXES {
            statements.push(format!("DROP TRIGGER IF EXISTS {trigger}"));
            statements.push(sqlite_fts_on_insert(index, trigger));
        }
        statements.push(format!("DROP TRIGGER IF EXISTS {SQLITE_VOCAB_TRIGGER}"));
        statements.push(sqlite_vocab_on_insert());
        // One string, so one connection runs them all: a pooled connection that has not seen
        // the `DROP` would refuse the `CREATE` of a trigger it still knows.
        m.get_connection()
            .execute_unprepared(&statements.join(";\n"))
            .await?;
        Ok(())
    }
}
