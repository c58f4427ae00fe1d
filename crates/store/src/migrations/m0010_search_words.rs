//! Migration `m0010_search_words` (see [`M0010SearchWords`]).

use super::m0007_search::*;
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

/// Migration `m0010_search_words`: a word index beside the trigram one, for the exact step of a
/// search (every query word starts a word of the record), which is what nearly every search
/// answers with. A trigram phrase such as `" smith"` intersects the postings of four common
/// trigrams over every document; the word `smith*` reads one short posting list.
///
/// - SQLite: a second external-content FTS5 table, `search_words`, over the same
///   `search_docs.terms` with the `unicode61` tokenizer (diacritics kept, as the ranking keeps
///   them), kept in step by its own triggers on `search_docs`.
/// - PostgreSQL: a GIN index on `to_tsvector('simple', terms)` (no stemming, no stop words), so
///   `@@ to_tsquery('simple', 'smith:*')` is an index look-up.
pub(crate) struct M0010SearchWords;

impl MigrationName for M0010SearchWords {
    fn name(&self) -> &str {
        "m0010_search_words"
    }
}

const SQLITE_WORDS: &[&str] = &[
    "CREATE VIRTUAL TABLE search_words USING fts5(
        terms, content = 'search_docs', content_rowid = 'doc_id',
        tokenize = 'unicode61 remove_diacritics 0'
    )",
    "INSERT INTO search_words (search_words) VALUES ('rebuild')",
    WORDS_ON_INSERT,
    "CREATE TRIGGER search_docs_words_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_words (search_words, rowid, terms) VALUES ('delete', old.doc_id, old.terms);
    END",
    "CREATE TRIGGER search_docs_words_au AFTER UPDATE OF terms ON search_docs
    WHEN old.terms IS NOT new.terms BEGIN
        INSERT INTO search_words (search_words, rowid, terms) VALUES ('delete', old.doc_id, old.terms);
        INSERT INTO search_words (rowid, terms) VALUES (new.doc_id, new.terms);
    END",
];

const POSTGRES_WORDS: &str = "CREATE INDEX search_docs_words_idx ON search_docs \
     USING gin (to_tsvector('simple', terms))";

#[async_trait::async_trait]
impl MigrationTrait for M0010SearchWords {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Sqlite => {
                for sql in SQLITE_WORDS {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => {
                db.execute_unprepared(POSTGRES_WORDS).await?;
            }
        }
        Ok(())
    }
}
