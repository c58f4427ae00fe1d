//! Migration `m0014_search_scale`: search that stays fast at a million records on both
//! engines, typos included (how the tables are read is `crate::search`).
//!
//! - **Vocabulary** (both engines): `search_vocab` holds every distinct word of a company's
//!   search documents (letters only, 3 to [`VOCAB_MAX`] characters), and `search_variants`
//!   each of those words with one letter left out — and, for words of [`TWO_EDITS_MIN`] to
//!   [`TWO_EDITS_MAX`] letters, two — beside the word itself (SymSpell's deletion
//!   neighbourhood). A typo within one edit of a word (a wrong, missing, extra or swapped
//!   letter) shares such a variant with it, so "wlaker" finds "walker" through "waker" however
//!   common the intact end "…aker" is among the records; the search reads a few variant rows
//!   of a small table instead of matching trigrams over every record. The vocabulary only
//!   grows (a word whose last record is gone stays: a correction to it finds nothing).
//! - **Word postings** (PostgreSQL): `search_terms`, one row per (company, word, record) with
//!   the record's type and owner, keyed `(company_id, term, record_id, record_type)` and
//!   carrying `owner_id`, so "the newest 200 records with the word *smith* that the caller may
//!   read" is a backward index-only scan that stops after 200 rows. The GIN index of
//!   `m0010_search_words` cannot return its matches in order: it read and sorted every match's
//!   row (7,000 heap pages for a common last name). Words with digits (phone numbers, house
//!   numbers) are left to that GIN index: they are many and rarely shared.
//! - Words compare byte by byte (`COLLATE "C"` on PostgreSQL, SQLite's default), so the words
//!   starting with "smi" are the range `>= 'smi' AND < 'smj'` whatever the database's locale.
//! - Both tables are kept in step by triggers on `search_docs`, which triggers on the record
//!   tables keep in step (`crate::migrations_search`), so every writer still indexes without
//!   knowing it.
//! - The trigram indexes of `m0007_search` (FTS5 `search_fts`, the `pg_trgm` GIN index) stay,
//!   for what a vocabulary of words cannot answer: a number inside a longer one (a phone
//!   number typed without its country code).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct M0014SearchScale;

impl MigrationName for M0014SearchScale {
    fn name(&self) -> &str {
        "m0014_search_scale"
    }
}

/// Vocabulary words are at most this many characters (a longer word is found exactly only).
pub const VOCAB_MAX: usize = 32;
/// Words of this many letters or more also get their two-letter deletions…
pub const TWO_EDITS_MIN: usize = 8;
/// …up to this many (C(20, 2) = 190 variants; longer words get one-letter deletions only).
pub const TWO_EDITS_MAX: usize = 20;
/// `search_positions` counts 1 to this: SQLite splits `terms` into words and words into
/// variants by joining it (a trigger may not use a recursive query there). A word starting
/// after this many characters of a document's `terms` is not in the vocabulary.
const POSITIONS: usize = 4096;

/// The variants of the vocabulary word `{r}term` (`{r}` is `new.`): the word, its one-letter
/// deletions and, when it is long enough, its two-letter deletions, as `SELECT variant`.
fn variants_select(r: &str) -> String {
    format!(
        "SELECT {r}term AS variant \
         UNION SELECT substr({r}term, 1, a.i - 1) || substr({r}term, a.i + 1) \
           FROM search_positions a WHERE a.i <= length({r}term) \
         UNION SELECT substr({r}term, 1, a.i - 1) || substr({r}term, a.i + 1, b.i - a.i - 1) \
             || substr({r}term, b.i + 1) \
           FROM search_positions a JOIN search_positions b ON b.i > a.i \
           WHERE b.i <= length({r}term) AND length({r}term) BETWEEN {TWO_EDITS_MIN} AND {TWO_EDITS_MAX}"
    )
}

/// SQLite: the words of `{r}terms` (every word follows a space and is followed by one) that go
/// into the vocabulary, as `SELECT w` (`crate::search::vocab_words` is the same in Rust).
pub(crate) fn sqlite_vocab_words(r: &str) -> String {
    format!(
        "SELECT DISTINCT w FROM (SELECT substr({r}terms, p.i + 1, \
             instr(substr({r}terms, p.i + 1), ' ') - 1) AS w \
           FROM search_positions p \
           WHERE p.i < length({r}terms) AND substr({r}terms, p.i, 1) = ' ') \
         WHERE length(w) BETWEEN 3 AND {VOCAB_MAX} AND w NOT GLOB '*[0-9]*'"
    )
}

/// SQLite: the trigger that adds the words of a new `search_docs` row to the vocabulary (its
/// current `CREATE` statement is m0024's `sqlite_vocab_on_insert`). A bulk load drops it and
/// adds its rows' words in one pass ([`sqlite_vocab_backfill`]) at the end
/// (`crate::search::BulkLoad`).
pub(crate) const SQLITE_VOCAB_TRIGGER: &str = "search_docs_vocab_ai";

/// The trigger as this migration created it.
fn vocab_on_insert() -> String {
    format!(
        "CREATE TRIGGER {SQLITE_VOCAB_TRIGGER} AFTER INSERT ON search_docs BEGIN \
           INSERT OR IGNORE INTO search_vocab (company_id, term) SELECT new.company_id, w FROM ({}); \
         END",
        sqlite_vocab_words("new.")
    )
}

/// SQLite: add the words of the `search_docs` rows after `doc_id` to the vocabulary.
pub(crate) fn sqlite_vocab_backfill(after_doc_id: i64) -> String {
    format!(
        "INSERT OR IGNORE INTO search_vocab (company_id, term) \
         SELECT DISTINCT company_id, w FROM (SELECT d.company_id, substr(d.terms, p.i + 1, \
             instr(substr(d.terms, p.i + 1), ' ') - 1) AS w \
           FROM search_docs d JOIN search_positions p \
             ON p.i < length(d.terms) AND substr(d.terms, p.i, 1) = ' ' \
           WHERE d.doc_id > {after_doc_id}) \
         WHERE length(w) BETWEEN 3 AND {VOCAB_MAX} AND w NOT GLOB '*[0-9]*'"
    )
}

fn sqlite_statements() -> Vec<String> {
    let vocab_of_new = format!(
        "INSERT OR IGNORE INTO search_vocab (company_id, term) SELECT new.company_id, w FROM ({})",
        sqlite_vocab_words("new.")
    );
    vec![
        "CREATE TABLE search_positions (i INTEGER PRIMARY KEY)".into(),
        format!(
            "INSERT INTO search_positions (i) WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {POSITIONS}) SELECT i FROM n"
        ),
        "CREATE TABLE search_vocab (
            company_id uuid_text NOT NULL,
            term text NOT NULL,
            PRIMARY KEY (company_id, term)
        ) WITHOUT ROWID"
            .into(),
        "CREATE TABLE search_variants (
            company_id uuid_text NOT NULL,
            variant text NOT NULL,
            term text NOT NULL,
            PRIMARY KEY (company_id, variant, term)
        ) WITHOUT ROWID"
            .into(),
        format!(
            "CREATE TRIGGER search_vocab_variants AFTER INSERT ON search_vocab BEGIN \
               INSERT OR IGNORE INTO search_variants (company_id, variant, term) \
               SELECT new.company_id, variant, new.term FROM ({}); \
             END",
            variants_select("new.")
        ),
        sqlite_vocab_backfill(0),
        vocab_on_insert(),
        format!(
            "CREATE TRIGGER search_docs_vocab_au AFTER UPDATE OF terms ON search_docs \
             WHEN old.terms IS NOT new.terms BEGIN \
               {vocab_of_new}; \
             END"
        ),
    ]
}

/// PostgreSQL: the words of `{r}terms` as `regexp_split_to_table` sees them (split on white
/// space and punctuation, as the text-search parser of the GIN index does), letters only.
pub(super) fn postgres_words(r: &str) -> String {
    format!(
        "SELECT DISTINCT w FROM regexp_split_to_table({r}terms, '[[:space:][:punct:]]+') w \
         WHERE w <> '' AND w !~ '[0-9]'"
    )
}

fn postgres_statements() -> Vec<String> {
    vec![
        format!("CREATE TABLE search_positions AS SELECT i FROM generate_series(1, {POSITIONS}) i"),
        "ALTER TABLE search_positions ADD PRIMARY KEY (i)".into(),
        // Filled before its key exists: one sorted build instead of ten million insertions.
        "CREATE TABLE search_terms (
            company_id uuid NOT NULL,
            term text COLLATE \"C\" NOT NULL,
            record_id uuid NOT NULL,
            record_type text NOT NULL,
            owner_id uuid NOT NULL
        )"
        .into(),
        format!(
            "INSERT INTO search_terms (company_id, term, record_id, record_type, owner_id) \
             SELECT d.company_id, w.w, d.record_id, d.record_type, d.owner_id \
             FROM search_docs d CROSS JOIN LATERAL ({}) w",
            postgres_words("d.")
        ),
        "ALTER TABLE search_terms ADD PRIMARY KEY (company_id, term, record_id, record_type) \
         INCLUDE (owner_id)"
            .into(),
        "CREATE TABLE search_vocab (
            company_id uuid NOT NULL,
            term text COLLATE \"C\" NOT NULL,
            PRIMARY KEY (company_id, term)
        )"
        .into(),
        "CREATE TABLE search_variants (
            company_id uuid NOT NULL,
            variant text COLLATE \"C\" NOT NULL,
            term text COLLATE \"C\" NOT NULL,
            PRIMARY KEY (company_id, variant, term)
        )"
        .into(),
        format!(
            "INSERT INTO search_vocab (company_id, term) \
             SELECT DISTINCT company_id, term FROM search_terms \
             WHERE length(term) BETWEEN 3 AND {VOCAB_MAX}"
        ),
        format!(
            "INSERT INTO search_variants (company_id, variant, term) \
             SELECT v.company_id, s.variant, v.term FROM search_vocab v \
             CROSS JOIN LATERAL ({}) s",
            variants_select("v.")
        ),
        format!(
            "CREATE FUNCTION search_vocab_variants() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               INSERT INTO search_variants (company_id, variant, term) \
               SELECT NEW.company_id, s.variant, NEW.term FROM ({}) s \
               ON CONFLICT DO NOTHING; \
               RETURN NULL; \
             END $$",
            variants_select("NEW.")
        ),
        "CREATE TRIGGER search_vocab_variants AFTER INSERT ON search_vocab \
         FOR EACH ROW EXECUTE FUNCTION search_vocab_variants()"
            .into(),
        // Rows in a fixed order (by word), so two writers adding the same new words cannot
        // wait on each other in opposite orders.
        format!(
            "CREATE FUNCTION search_docs_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF TG_OP <> 'INSERT' THEN \
                 DELETE FROM search_terms WHERE company_id = OLD.company_id \
                   AND term IN ({old_words}) AND record_id = OLD.record_id \
                   AND record_type = OLD.record_type; \
               END IF; \
               IF TG_OP <> 'DELETE' THEN \
                 INSERT INTO search_terms (company_id, term, record_id, record_type, owner_id) \
                 SELECT NEW.company_id, w.w, NEW.record_id, NEW.record_type, NEW.owner_id \
                 FROM ({new_words}) w ORDER BY w.w; \
                 INSERT INTO search_vocab (company_id, term) \
                 SELECT NEW.company_id, w.w FROM ({new_words}) w \
                 WHERE length(w.w) BETWEEN 3 AND {VOCAB_MAX} ORDER BY w.w \
                 ON CONFLICT DO NOTHING; \
               END IF; \
               RETURN NULL; \
             END $$",
            old_words = postgres_words("OLD."),
            new_words = postgres_words("NEW."),
        ),
        "CREATE TRIGGER search_docs_terms AFTER INSERT OR DELETE OR UPDATE OF terms, owner_id \
         ON search_docs FOR EACH ROW EXECUTE FUNCTION search_docs_terms_sync()"
            .into(),
        "ANALYZE search_terms".into(),
        "ANALYZE search_vocab".into(),
        "ANALYZE search_variants".into(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for M0014SearchScale {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let statements = match m.get_database_backend() {
            DbBackend::Sqlite => sqlite_statements(),
            _ => postgres_statements(),
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
