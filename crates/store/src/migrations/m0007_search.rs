//! The global search index (migration `m0007_search`): one `search_docs` row per searchable
//! record, kept in step with the record tables by triggers, so every writer — the store, bulk
//! updates, cascades, the CLI — keeps it current without knowing it exists.
//!
//! A row holds what a search shows and what it matches: the record's company, type, id and
//! owner (the owner so the caller's scope filters the index without a join back), a `title`
//! and `subtitle` for the answer, and `terms` — the searched fields lower-cased, punctuation
//! turned into spaces (so `john@acme.com` is the words `john acme com`), phone numbers also
//! as digits only, every word preceded by a space so a query can anchor at a word start.
//!
//! - SQLite: an external-content FTS5 table `search_fts` over `search_docs.terms` with the
//!   `trigram` tokenizer (the bundled SQLite 3.46 has FTS5 and the trigram tokenizer), kept in
//!   step by triggers on `search_docs`. Any substring of three or more characters is then an
//!   index lookup. `search_docs.doc_id` is the FTS rowid, assigned in creation order, so the
//!   newest matches come first when the index is read backwards.
//! - PostgreSQL: `pg_trgm` (required; `CREATE EXTENSION` needs a role allowed to create it, as
//!   the PostgreSQL superuser or database owner on PostgreSQL 13+ is) and a GIN trigram index
//!   on `terms`, which serves the same `LIKE '% word%'` look-ups. Triggers are PL/pgSQL.
//!
//! Searched fields: leads (first and last name, e-mail, company name, phone), contacts (first
//! and last name, e-mail, phone), accounts (name, domain), deals (name). The update triggers fire only when
//! a searched field, the owner or the title's fields change, so status or score updates cost
//! nothing here. Existing rows are indexed by the migration.
//! How the index is queried and ranked is `crate::search`.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub(crate) struct M0007Search;

impl MigrationName for M0007Search {
    fn name(&self) -> &str {
        "m0007_search"
    }
}

/// Characters that separate words in `terms` (everything else is kept as the engine's
/// `lower()` leaves it; the search side normalises the same way and more).
const SEPARATORS: &[char] = &[
    '@', '.', '-', '_', ',', '/', '+', '(', ')', ':', ';', '&', '\'', '"', '#', '!', '?',
];

/// One record table the index follows.
pub(crate) struct Source {
    pub table: &'static str,
    /// `search_docs.record_type` of its rows (the API's `record_type`).
    pub record_type: &'static str,
    /// Columns whose words are searched.
    pub words: &'static [&'static str],
    /// Columns also searched as digits only (phone numbers).
    pub digits: &'static [&'static str],
    /// The title, from the row `r` (`new.` in a trigger, `t.` in the back-fill).
    pub title: fn(&str) -> String,
    /// The parts of the subtitle (SQL with `{r}` for the row), joined with " · " where present.
    pub subtitle: &'static [&'static str],
    /// Columns whose change must rewrite the row (words, digits, title, subtitle, owner).
    pub watched: &'static [&'static str],
}

fn person_title(r: &str) -> String {
    format!(
        "coalesce(nullif(trim(coalesce({r}first_name, '') || ' ' || coalesce({r}last_name, '')), ''), \
         {r}email, '')"
    )
}

fn lead_title(r: &str) -> String {
    format!(
        "coalesce(nullif(trim(coalesce({r}first_name, '') || ' ' || coalesce({r}last_name, '')), ''), \
         {r}company_name, {r}email, '')"
    )
}

fn name_title(r: &str) -> String {
    format!("coalesce({r}name, '')")
}

/// The record tables the index follows.
pub(crate) const SOURCES: &[Source] = &[
    Source {
        table: "leads",
        record_type: "lead",
        words: &["first_name", "last_name", "email", "company_name", "phone"],
        digits: &["phone"],
        title: lead_title,
        subtitle: &["{r}company_name", "{r}email"],
        watched: &[
            "first_name",
            "last_name",
            "email",
            "company_name",
            "phone",
            "owner_id",
        ],
    },
    Source {
        table: "contacts",
        record_type: "contact",
        words: &["first_name", "last_name", "email", "phone"],
        digits: &["phone"],
        title: person_title,
        subtitle: &["{r}email", "{r}phone"],
        watched: &["first_name", "last_name", "email", "phone", "owner_id"],
    },
    Source {
        table: "accounts",
        record_type: "account",
        words: &["name", "domain"],
        digits: &[],
        title: name_title,
        subtitle: &["{r}domain", "{r}industry"],
        watched: &["name", "domain", "industry", "owner_id"],
    },
    Source {
        table: "deals",
        record_type: "deal",
        words: &["name"],
        digits: &[],
        title: name_title,
        // "EUR 12500": whole units, enough to tell deals apart in a result list.
        subtitle: &["{r}currency || ' ' || CAST({r}amount_micros / 1000000 AS TEXT)"],
        watched: &["name", "currency", "amount_micros", "owner_id"],
    },
];

fn words_of(r: &str, col: &str) -> String {
    let mut expr = format!("coalesce({r}{col}, '')");
    for sep in SEPARATORS {
        let lit = if *sep == '\'' {
            "''''".to_owned()
        } else {
            format!("'{sep}'")
        };
        expr = format!("replace({expr}, {lit}, ' ')");
    }
    format!("lower({expr})")
}

fn digits_of(r: &str, col: &str) -> String {
    let mut expr = format!("coalesce({r}{col}, '')");
    for sep in [' ', '-', '(', ')', '+', '.', '/'] {
        expr = format!("replace({expr}, '{sep}', '')");
    }
    expr
}

/// `terms` of a row: ` w1 w2 … ` — a leading and trailing space, so every word follows a space.
fn terms(source: &Source, r: &str) -> String {
    let mut parts: Vec<String> = source.words.iter().map(|c| words_of(r, c)).collect();
    parts.extend(source.digits.iter().map(|c| digits_of(r, c)));
    format!("' ' || {} || ' '", parts.join(" || ' ' || "))
}

fn subtitle(source: &Source, r: &str) -> String {
    let parts: Vec<String> = source
        .subtitle
        .iter()
        .map(|c| format!("coalesce(' · ' || nullif({}, ''), '')", c.replace("{r}", r)))
        .collect();
    // Drop the leading " · " (three characters on both engines).
    format!("substr({}, 4)", parts.join(" || "))
}

fn insert_doc(source: &Source, r: &str) -> String {
    format!(
        "INSERT INTO search_docs (company_id, record_type, record_id, owner_id, title, subtitle, terms) \
         VALUES ({r}company_id, '{rt}', {r}id, {r}owner_id, {title}, {subtitle}, {terms})",
        rt = source.record_type,
        title = (source.title)(r),
        subtitle = subtitle(source, r),
        terms = terms(source, r),
    )
}

pub(super) fn update_doc(source: &Source, r: &str) -> String {
    format!(
        "UPDATE search_docs SET owner_id = {r}owner_id, title = {title}, subtitle = {subtitle}, \
         terms = {terms} WHERE company_id = {r}company_id AND record_type = '{rt}' AND record_id = {r}id",
        rt = source.record_type,
        title = (source.title)(r),
        subtitle = subtitle(source, r),
        terms = terms(source, r),
    )
}

fn delete_doc(source: &Source, r: &str) -> String {
    format!(
        "DELETE FROM search_docs WHERE company_id = {r}company_id AND record_type = '{rt}' \
         AND record_id = {r}id",
        rt = source.record_type,
    )
}

/// Index every existing row of `source`, oldest first (SQLite's `doc_id` then follows age).
fn backfill(source: &Source) -> String {
    let r = "t.";
    format!(
        "INSERT INTO search_docs (company_id, record_type, record_id, owner_id, title, subtitle, terms) \
         SELECT t.company_id, '{rt}', t.id, t.owner_id, {title}, {subtitle}, {terms} \
         FROM {table} t ORDER BY t.id",
        rt = source.record_type,
        table = source.table,
        title = (source.title)(r),
        subtitle = subtitle(source, r),
        terms = terms(source, r),
    )
}

/// The statements that make `source` searchable on SQLite (after the index tables exist).
pub(crate) fn sqlite_source(source: &Source) -> Vec<String> {
    let table = source.table;
    vec![
        backfill(source),
        format!(
            "CREATE TRIGGER {table}_search_ai AFTER INSERT ON {table} BEGIN {}; END",
            insert_doc(source, "new.")
        ),
        format!(
            "CREATE TRIGGER {table}_search_au AFTER UPDATE OF {} ON {table} BEGIN {}; END",
            source.watched.join(", "),
            update_doc(source, "new.")
        ),
        format!(
            "CREATE TRIGGER {table}_search_ad AFTER DELETE ON {table} BEGIN {}; END",
            delete_doc(source, "old.")
        ),
    ]
}

/// The statements that make `source` searchable on PostgreSQL.
pub(crate) fn postgres_source(source: &Source) -> Vec<String> {
    let table = source.table;
    vec![
        backfill(source),
        format!(
            "CREATE FUNCTION {table}_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF TG_OP = 'INSERT' THEN {insert}; \
               ELSIF TG_OP = 'UPDATE' THEN {update}; \
               ELSE {delete}; \
               END IF; \
               RETURN NULL; \
             END $$",
            insert = insert_doc(source, "NEW."),
            update = update_doc(source, "NEW."),
            delete = delete_doc(source, "OLD."),
        ),
        format!(
            "CREATE TRIGGER {table}_search AFTER INSERT OR DELETE OR UPDATE OF {} ON {table} \
             FOR EACH ROW EXECUTE FUNCTION {table}_search_sync()",
            source.watched.join(", "),
        ),
    ]
}

const SQLITE_TABLES: &[&str] = &[
    "CREATE TABLE search_docs (
        doc_id INTEGER PRIMARY KEY,
        company_id uuid_text NOT NULL,
        record_type text NOT NULL,
        record_id uuid_text NOT NULL,
        owner_id uuid_text NOT NULL,
        title text NOT NULL,
        subtitle text NOT NULL,
        terms text NOT NULL
    )",
    "CREATE UNIQUE INDEX search_docs_record_key ON search_docs (company_id, record_type, record_id)",
    "CREATE VIRTUAL TABLE search_fts USING fts5(
        terms, content = 'search_docs', content_rowid = 'doc_id', tokenize = 'trigram'
    )",
];

const FTS_ON_INSERT: &str = "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts (rowid, terms) VALUES (new.doc_id, new.terms);
    END";

pub(super) const WORDS_ON_INSERT: &str =
    "CREATE TRIGGER search_docs_words_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_words (rowid, terms) VALUES (new.doc_id, new.terms);
    END";

/// SQLite's two FTS indexes over `search_docs`: (index, the trigger that adds a new row to it;
/// its current `CREATE` statement is m0024's `sqlite_fts_on_insert`). A bulk load drops the
/// triggers and indexes its rows in one pass afterwards (`crate::search::BulkLoad`).
pub(crate) const SQLITE_FTS_INDEXES: &[(&str, &str)] = &[
    ("search_fts", "search_docs_ai"),
    ("search_words", "search_docs_words_ai"),
];

/// After the back-fill: build the FTS index once, then keep it in step row by row.
const SQLITE_FTS_SYNC: &[&str] = &[
    "INSERT INTO search_fts (search_fts) VALUES ('rebuild')",
    FTS_ON_INSERT,
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts (search_fts, rowid, terms) VALUES ('delete', old.doc_id, old.terms);
    END",
    "CREATE TRIGGER search_docs_au AFTER UPDATE OF terms ON search_docs
    WHEN old.terms IS NOT new.terms BEGIN
        INSERT INTO search_fts (search_fts, rowid, terms) VALUES ('delete', old.doc_id, old.terms);
        INSERT INTO search_fts (rowid, terms) VALUES (new.doc_id, new.terms);
    END",
];

const POSTGRES_TABLES: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE search_docs (
        company_id uuid NOT NULL,
        record_type text NOT NULL,
        record_id uuid NOT NULL,
        owner_id uuid NOT NULL,
        title text NOT NULL,
        subtitle text NOT NULL,
        terms text NOT NULL,
        PRIMARY KEY (company_id, record_type, record_id)
    )",
];

const POSTGRES_INDEX: &str =
    "CREATE INDEX search_docs_terms_idx ON search_docs USING gin (terms gin_trgm_ops)";

#[async_trait::async_trait]
impl MigrationTrait for M0007Search {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let mut statements: Vec<String> = Vec::new();
        match m.get_database_backend() {
            DbBackend::Sqlite => {
                statements.extend(SQLITE_TABLES.iter().map(|s| (*s).to_owned()));
                for source in SOURCES {
                    statements.extend(sqlite_source(source));
                }
                statements.extend(SQLITE_FTS_SYNC.iter().map(|s| (*s).to_owned()));
            }
            _ => {
                statements.extend(POSTGRES_TABLES.iter().map(|s| (*s).to_owned()));
                for source in SOURCES {
                    statements.extend(postgres_source(source));
                }
                // Built after the back-fill: one pass instead of row by row.
                statements.push(POSTGRES_INDEX.to_owned());
            }
        }
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
