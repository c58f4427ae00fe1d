//! Migration `m0016_search_changes_only`: the search triggers do their work only when what
//! they index changed.
//!
//! `UPDATE OF a, b` fires a trigger when the statement *names* one of the columns, changed or
//! not, and the record layer writes every writable column of a record on each update. So a
//! deal's stage move rewrote the deal's `search_docs` row (`m0007_search`), and on PostgreSQL
//! that rewrite deleted and inserted again every word posting of the deal and looked its words
//! up in the vocabulary (`m0014_search_scale`'s `search_docs_terms`) — a third of a stage
//! move's work (BENCHMARKS.md, "No regression against the build before issue 12").
//!
//! - Record tables (both engines): the update trigger gets a `WHEN` that compares the watched
//!   columns (`OLD.x IS DISTINCT FROM NEW.x` on PostgreSQL, `old.x IS NOT new.x` on SQLite).
//!   On PostgreSQL a `WHEN` may not name `OLD` in an insert trigger, so the one trigger of
//!   m0007 becomes two ([`search_update_trigger`]); both call m0007's function.
//! - `search_docs` (PostgreSQL): the postings trigger fires on an update only when the words
//!   or the owner changed ([`SEARCH_TERMS_UPDATE`]), and then touches only what changed: the
//!   postings of words that are gone are deleted, those of new words inserted, the others get
//!   the new owner if there is one. Only new words are looked up in the vocabulary. SQLite's
//!   FTS and vocabulary update triggers already had their `WHEN` (m0007, m0010, m0014).
//!
//! The functions of m0007 and m0014 stay as they are (their update branches are no longer
//! reached through these triggers, and remain correct).

use super::m0007_search::{SOURCES, Source, update_doc};
use super::m0014_search_scale::{VOCAB_MAX, postgres_words};
use crate::tables::*;
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct M0016SearchChangesOnly;

impl MigrationName for M0016SearchChangesOnly {
    fn name(&self) -> &str {
        "m0016_search_changes_only"
    }
}

/// The condition "one of `cols` changed" for a trigger's `WHEN`.
fn changed(cols: &[&str], sqlite: bool) -> String {
    let (old, new, differs) = if sqlite {
        ("old", "new", "IS NOT")
    } else {
        ("OLD", "NEW", "IS DISTINCT FROM")
    };
    cols.iter()
        .map(|c| format!("{old}.{c} {differs} {new}.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// SQLite: one statement text, so the trigger is dropped and created again on one connection.
/// (Run apart, the `CREATE` may go to another pooled connection that has not yet read the
/// changed schema and still sees the old trigger: "trigger … already exists".)
fn sqlite_source(source: &Source) -> String {
    let table = source.table;
    let trigger = search_update_trigger(table, true);
    format!(
        "DROP TRIGGER IF EXISTS {trigger}; \
         CREATE TRIGGER {trigger} AFTER UPDATE OF {watched} ON {table} WHEN {when} \
         BEGIN {update}; END",
        watched = source.watched.join(", "),
        when = changed(source.watched, true),
        update = update_doc(source, "new."),
    )
}

fn postgres_source(source: &Source) -> Vec<String> {
    let table = source.table;
    vec![
        format!("DROP TRIGGER IF EXISTS {table}_search ON {table}"),
        format!(
            "CREATE TRIGGER {table}_search AFTER INSERT OR DELETE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION {table}_search_sync()"
        ),
        format!(
            "CREATE TRIGGER {trigger} AFTER UPDATE OF {watched} ON {table} \
             FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {table}_search_sync()",
            trigger = search_update_trigger(table, false),
            watched = source.watched.join(", "),
            when = changed(source.watched, false),
        ),
    ]
}

/// PostgreSQL: the postings and vocabulary of an updated `search_docs` row, by difference.
/// A row keeps its company, type and record id (its key) for life.
fn postgres_terms_update() -> Vec<String> {
    let gone = format!(
        "{} EXCEPT {}",
        postgres_words("OLD."),
        postgres_words("NEW.")
    );
    let added = format!(
        "{} EXCEPT {}",
        postgres_words("NEW."),
        postgres_words("OLD.")
    );
    let kept = postgres_words("NEW.");
    let this_record = "record_id = NEW.record_id AND record_type = NEW.record_type";
    vec![
        format!(
            "CREATE FUNCTION {SEARCH_TERMS_UPDATE}() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               DELETE FROM search_terms WHERE company_id = NEW.company_id \
                 AND term IN ({gone}) AND {this_record}; \
               IF OLD.owner_id IS DISTINCT FROM NEW.owner_id THEN \
                 UPDATE search_terms SET owner_id = NEW.owner_id \
                 WHERE company_id = NEW.company_id AND term IN ({kept}) AND {this_record}; \
               END IF; \
               INSERT INTO search_terms (company_id, term, record_id, record_type, owner_id) \
               SELECT NEW.company_id, w.w, NEW.record_id, NEW.record_type, NEW.owner_id \
               FROM ({added}) w ORDER BY w.w; \
               INSERT INTO search_vocab (company_id, term) \
               SELECT NEW.company_id, w.w FROM ({added}) w \
               WHERE length(w.w) BETWEEN 3 AND {VOCAB_MAX} ORDER BY w.w \
               ON CONFLICT DO NOTHING; \
               RETURN NULL; \
             END $$"
        ),
        format!("DROP TRIGGER IF EXISTS {SEARCH_TERMS_TRIGGER} ON search_docs"),
        format!(
            "CREATE TRIGGER {SEARCH_TERMS_TRIGGER} AFTER INSERT OR DELETE ON search_docs \
             FOR EACH ROW EXECUTE FUNCTION search_docs_terms_sync()"
        ),
        format!(
            "CREATE TRIGGER {SEARCH_TERMS_UPDATE} AFTER UPDATE OF terms, owner_id ON search_docs \
             FOR EACH ROW WHEN ({}) EXECUTE FUNCTION {SEARCH_TERMS_UPDATE}()",
            changed(&["terms", "owner_id"], false)
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for M0016SearchChangesOnly {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let sqlite = m.get_database_backend() == DbBackend::Sqlite;
        let mut statements: Vec<String> = Vec::new();
        for source in SOURCES {
            if sqlite {
                statements.push(sqlite_source(source));
            } else {
                statements.extend(postgres_source(source));
            }
        }
        if !sqlite {
            statements.extend(postgres_terms_update());
        }
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_when_compares_every_watched_column() {
        assert_eq!(
            changed(&["name", "owner_id"], true),
            "old.name IS NOT new.name OR old.owner_id IS NOT new.owner_id"
        );
        assert_eq!(
            changed(&["terms"], false),
            "OLD.terms IS DISTINCT FROM NEW.terms"
        );
    }
}
