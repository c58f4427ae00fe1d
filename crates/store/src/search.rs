//! Global search across leads, contacts, accounts and deals: typo-tolerant, ranked, and
//! filtered by the caller's company and their read scope on each record type.
//!
//! The index is `search_docs` (see `crate::migrations_search`): one row per record with its
//! owner, a title and subtitle, and `terms`, the searched text with every word after a space.
//! A search runs in two steps on both engines:
//!
//! 1. **Candidates**, newest first, at most [`CANDIDATES`] per read ([`candidates_query`]):
//!    - *exact*: every query word is a word of the record (`smith` AND `john`); when that
//!      gives fewer than [`CANDIDATES`], every query word starts one (`smith*` AND `john*`).
//!      SQLite reads the FTS5 table `search_words` (`unicode61` tokenizer) backwards;
//!      PostgreSQL reads its word postings `search_terms` newest first through their key, and
//!      the GIN index of `to_tsvector('simple', terms)` for words with digits;
//!    - *typos*, only when the exact step found nothing: each query word stands for the words
//!      of the company's vocabulary it may have meant — within one edit (two from eight
//!      letters; a swap of neighbours is one), or that it starts — found by their shared
//!      deletion variants (`crate::search_typos`); then the same read as the exact step with
//!      any of those words ("smiht" → `smith`, "wlaker smiht" → `walker` AND `smith`). How
//!      many records share an intact end of the typo does not matter: the correction is a
//!      word, not a set of records.
//!
//!    Candidates are read newest first with a limit rather than ordered by bm25/`similarity`:
//!    ranking every match of a common name (thousands of rows at a million leads) would cost
//!    more than the whole search may.
//! 2. **Ranking** here, the same on both engines: each query word is matched against the
//!    record's words — exact 1.0, prefix 0.75–0.95, inside a word 0.55–0.75, within one edit
//!    (two for long words; optimal string alignment, so a swap is one edit) or by trigram
//!    similarity like `pg_trgm` up to 0.85 — and a record qualifies only if every word matches
//!    at least [`MIN_WORD_SCORE`]. Its score is 80 % how well the words match anywhere and
//!    20 % how well they match the title, so the record *named* "John Smith" outranks one that
//!    merely has john.smith@ as its e-mail. Equal scores (to two decimals) list the newest first.
//!
//! Scope: every candidate query carries `company_id = caller's company` and, per record type,
//! `record_type = … AND <the caller's read scope on it>` (`query::scope_condition` on the
//! index's `owner_id`); a type the caller may not read is left out entirely.

use crate::migrations::m0007_search::SQLITE_FTS_INDEXES;
use crate::migrations::m0014_search_scale::{
    SQLITE_VOCAB_TRIGGER, VOCAB_MAX, sqlite_vocab_backfill,
};
use crate::migrations::m0024_search_batches::{
    SEARCH_BATCH, sqlite_fts_on_insert, sqlite_vocab_on_insert,
};
use crate::{Backend, Result, Store, StoreError, fetch_all};
use crate::{query, search_typos};
use rivet_domain::{Action, Actor};
use sea_orm::DeriveIden;
use sea_orm::sea_query::{
    Alias, Asterisk, Cond, DynIden, Expr, ExprTrait, IntoIden, Order, Query, SelectStatement,
    UnionType,
};
use sea_orm::{ConnectionTrait, FromQueryResult, TransactionTrait};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(DeriveIden)]
pub enum SearchDocs {
    Table,
    DocId,
    CompanyId,
    RecordType,
    RecordId,
    OwnerId,
    Title,
    Subtitle,
    Terms,
}

#[derive(DeriveIden)]
enum SearchFts {
    Table,
    Rowid,
}

/// PostgreSQL's word postings (`crate::migrations_search_scale`); its other columns are named
/// as [`SearchDocs`]'s.
#[derive(DeriveIden)]
enum SearchTerms {
    Table,
    Term,
}

#[derive(DeriveIden)]
enum SearchWords {
    Table,
    Rowid,
}

/// At most this many candidates per step are ranked.
pub const CANDIDATES: u64 = 200;

/// A query word must match some word of a record at least this well.
pub const MIN_WORD_SCORE: f64 = 0.4;

/// At most this many query words are used (the rest of a long query adds nothing but cost).
pub const MAX_WORDS: usize = 8;

/// The kinds of record search finds (the kinds an activity links to).
pub use rivet_domain::activities::RecordType;

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// `lead`, `contact`, `account` or `deal`.
    pub record_type: String,
    pub id: Uuid,
    pub title: String,
    pub subtitle: String,
    /// How well the record matches, 0–1 (1 is an exact match of its name).
    pub score: f64,
}

#[derive(Debug, FromQueryResult)]
struct DocRow {
    record_type: String,
    record_id: Uuid,
    title: String,
    subtitle: String,
    terms: String,
}

/// Lower-cased words of `text`: anything not a letter or digit separates words.
pub fn words(text: &str) -> Vec<String> {
    let lowered: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    lowered.split_whitespace().map(str::to_owned).collect()
}

/// The query's distinct words, at most [`MAX_WORDS`].
pub fn query_words(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in words(q) {
        if !out.contains(&word) && out.len() < MAX_WORDS {
            out.push(word);
        }
    }
    out
}

/// What the exact step looks for: each word of two characters or more, as a word prefix.
fn exact_words(words: &[String]) -> Vec<String> {
    words
        .iter()
        .filter(|w| w.chars().count() >= 2)
        .cloned()
        .collect()
}

/// How one query word must appear among a record's words.
#[derive(Debug, Clone, PartialEq)]
pub enum WordMatch {
    /// As one of these whole words (letters and digits only).
    AnyOf(Vec<String>),
    /// As the start of a word (letters and digits only).
    Prefix(String),
    /// Anywhere inside the record's words (digits: "5550107788" inside "15550107788"), read
    /// through the trigram index.
    Contains(String),
}

impl WordMatch {
    /// Whether every word this looks for is one `search_terms` holds (no digits).
    fn in_terms_table(&self) -> bool {
        let letters = |w: &String| !w.chars().any(|c| c.is_ascii_digit());
        match self {
            Self::AnyOf(words) => words.iter().all(letters),
            Self::Prefix(w) => letters(w),
            Self::Contains(_) => false,
        }
    }
}

/// An FTS5 query for the word index: every match, a whole word (`"smith"`, any of several:
/// `("smith" OR "smyth")`) or a prefix (`"jo"*`). Words are letters and digits only, so
/// quoting them is enough.
fn fts_match(matches: &[WordMatch]) -> String {
    let parts: Vec<String> = matches
        .iter()
        .map(|m| match m {
            WordMatch::AnyOf(words) if words.len() == 1 => format!("\"{}\"", words[0]),
            WordMatch::AnyOf(words) => {
                let any: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                format!("({})", any.join(" OR "))
            }
            WordMatch::Prefix(w) | WordMatch::Contains(w) => format!("\"{w}\"*"),
        })
        .collect();
    parts.join(" AND ")
}

/// An FTS5 query for the trigram index (`search_fts`): every match as a substring of `terms`,
/// where every word has a space before and after it — a whole word `" smith "`, a prefix
/// `" jo"`, anything `"555010"`.
fn fts_trigram_match(matches: &[WordMatch]) -> String {
    let parts: Vec<String> = matches
        .iter()
        .map(|m| match m {
            WordMatch::AnyOf(words) => {
                let any: Vec<String> = words.iter().map(|w| format!("\" {w} \"")).collect();
                format!("({})", any.join(" OR "))
            }
            WordMatch::Prefix(w) => format!("\" {w}\""),
            WordMatch::Contains(w) => format!("\"{w}\""),
        })
        .collect();
    parts.join(" AND ")
}

/// The same as [`fts_trigram_match`] as `LIKE` patterns on `terms`, which PostgreSQL's `pg_trgm`
/// index answers: per match, any of its patterns.
fn like_patterns(matches: &[WordMatch]) -> Vec<Vec<String>> {
    matches
        .iter()
        .map(|m| match m {
            WordMatch::AnyOf(words) => words.iter().map(|w| format!("% {w} %")).collect(),
            WordMatch::Prefix(w) => vec![format!("% {w}%")],
            WordMatch::Contains(w) => vec![format!("%{w}%")],
        })
        .collect()
}

/// A PostgreSQL text-search query for the word index: every match, a whole word (`smith`, any
/// of several: `(smith | smyth)`) or a prefix (`jo:*`). Words are letters and digits only, so
/// no operator can slip in.
fn tsquery(matches: &[WordMatch]) -> String {
    let parts: Vec<String> = matches
        .iter()
        .map(|m| match m {
            WordMatch::AnyOf(words) if words.len() == 1 => words[0].clone(),
            WordMatch::AnyOf(words) => format!("({})", words.join(" | ")),
            WordMatch::Prefix(w) | WordMatch::Contains(w) => format!("{w}:*"),
        })
        .collect();
    parts.join(" & ")
}

/// The caller's company and, per record type they may read, that type in their scope, on the
/// columns of `table` (the index, or the alias of a table with the same columns); `None` when
/// they may read none of `types`.
fn visibility(actor: &Actor, types: &[RecordType], table: &DynIden) -> Result<Option<Cond>> {
    let mut any = Cond::any();
    let mut readable = 0;
    for t in types {
        let scope = match query::scope_condition(actor, t.resource(), Action::Read, || {
            Expr::col((table.clone(), SearchDocs::OwnerId))
        }) {
            Ok(cond) => cond,
            Err(StoreError::Forbidden) => continue,
            Err(e) => return Err(e),
        };
        readable += 1;
        any = any.add(
            Cond::all()
                .add(Expr::col((table.clone(), SearchDocs::RecordType)).eq(t.as_str()))
                .add(scope),
        );
    }
    if readable == 0 {
        return Ok(None);
    }
    Ok(Some(
        Cond::all()
            .add(Expr::col((table.clone(), SearchDocs::CompanyId)).eq(actor.company_id))
            .add(any),
    ))
}

/// The alias of the `search_terms` row a PostgreSQL candidate query is driven by.
const DRIVER: &str = "t";

/// Which word a `search_terms` read is driven by: the one with the fewest words to look for,
/// of those the longest (a longer word is usually a rarer one).
fn driving_match(matches: &[WordMatch]) -> usize {
    let key = |m: &WordMatch| match m {
        WordMatch::AnyOf(words) => (
            words.len(),
            usize::MAX - words.iter().map(String::len).min().unwrap_or(0),
        ),
        WordMatch::Prefix(w) | WordMatch::Contains(w) => (usize::MAX, usize::MAX - w.len()),
    };
    (0..matches.len())
        .min_by_key(|&i| key(&matches[i]))
        .unwrap_or(0)
}

/// Whether PostgreSQL reads the candidates for `matches` from `search_terms`: when every word
/// is one it holds (letters only) and at most one is a prefix, which then drives the read (a
/// prefix cannot be checked against a given record through the table's key).
fn reads_terms_table(matches: &[WordMatch]) -> bool {
    let prefixes = matches
        .iter()
        .filter(|m| matches!(m, WordMatch::Prefix(_)))
        .count();
    !matches.is_empty()
        && matches.iter().all(WordMatch::in_terms_table)
        && (prefixes == 0 || (prefixes == 1 && matches.len() == 1))
}

/// The condition that the `search_terms` row `table` is one of the words `m` looks for.
fn term_condition(table: &DynIden, m: &WordMatch) -> Cond {
    let term = || Expr::col((table.clone(), SearchTerms::Term));
    match m {
        WordMatch::AnyOf(words) if words.len() == 1 => {
            Cond::all().add(term().eq(words[0].as_str()))
        }
        WordMatch::AnyOf(words) => Cond::all().add(term().is_in(words.iter().map(String::as_str))),
        WordMatch::Prefix(w) | WordMatch::Contains(w) => {
            let mut range = Cond::all().add(term().gte(w.as_str()));
            if let Some(end) = search_typos::prefix_end(w) {
                range = range.add(term().lt(end));
            }
            range
        }
    }
}

/// `search_docs` as a PostgreSQL candidate read's table: through the tenant view when
/// row-level security binds the read (under the policy PostgreSQL would not use the trigram and
/// word indexes, LIKE and @@ not being leakproof; see `migrations_rls`), else the table.
fn docs_from(q: &mut SelectStatement, tenant_view: bool) -> &mut SelectStatement {
    if tenant_view {
        q.from_as(Alias::new(crate::tables::SEARCH_VIEW), SearchDocs::Table)
    } else {
        q.from(SearchDocs::Table)
    }
}

/// The newest [`CANDIDATES`] records matching every word, with what ranking needs.
///
/// - SQLite: the FTS5 word index `search_words`, read backwards by rowid (creation order).
/// - PostgreSQL, words of letters only: `search_terms`, driven by one word's rows read newest
///   first through the key (an index-only scan that stops at the limit; a prefix reads all of
///   its rows and keeps the newest; a word with several spellings is read spelling by
///   spelling, [`spelling_by_spelling`]), each other word checked on the same record through
///   the key.
/// - PostgreSQL otherwise (words with digits, several prefixes): the GIN index of
///   `to_tsvector('simple', terms)`, whose matches are all read and sorted.
fn candidates_query(
    backend: Backend,
    tenant_view: bool,
    actor: &Actor,
    types: &[RecordType],
    matches: &[WordMatch],
) -> Result<Option<SelectStatement>> {
    let docs: DynIden = SearchDocs::Table.into_iden();
    let driver: DynIden = Alias::new(DRIVER).into_iden();
    let trigrams = matches.iter().any(|m| matches!(m, WordMatch::Contains(_)));
    let terms_table = backend == Backend::Postgres && reads_terms_table(matches);
    let filtered = if terms_table { &driver } else { &docs };
    let Some(visible) = visibility(actor, types, filtered)? else {
        return Ok(None);
    };
    let mut q = Query::select();
    q.columns([
        (SearchDocs::Table, SearchDocs::RecordType),
        (SearchDocs::Table, SearchDocs::RecordId),
        (SearchDocs::Table, SearchDocs::Title),
        (SearchDocs::Table, SearchDocs::Subtitle),
        (SearchDocs::Table, SearchDocs::Terms),
    ]);
    match backend {
        Backend::Sqlite if trigrams => {
            q.from(SearchFts::Table)
                .inner_join(
                    SearchDocs::Table,
                    Expr::col((SearchDocs::Table, SearchDocs::DocId))
                        .equals((SearchFts::Table, SearchFts::Rowid)),
                )
                .and_where(Expr::cust_with_values(
                    "\"search_fts\" MATCH ?",
                    [fts_trigram_match(matches)],
                ))
                .cond_where(visible)
                .order_by((SearchFts::Table, SearchFts::Rowid), Order::Desc);
        }
        Backend::Postgres if trigrams => {
            let mut all = Cond::all();
            for patterns in like_patterns(matches) {
                let mut any = Cond::any();
                for pattern in patterns {
                    // Words are letters and digits: nothing for LIKE to read as a wildcard.
                    any = any.add(Expr::col((SearchDocs::Table, SearchDocs::Terms)).like(pattern));
                }
                all = all.add(any);
            }
            docs_from(&mut q, tenant_view)
                .cond_where(visible)
                .cond_where(all)
                .order_by((SearchDocs::Table, SearchDocs::RecordId), Order::Desc);
        }
        Backend::Sqlite => {
            q.from(SearchWords::Table)
                .inner_join(
                    SearchDocs::Table,
                    Expr::col((SearchDocs::Table, SearchDocs::DocId))
                        .equals((SearchWords::Table, SearchWords::Rowid)),
                )
                .and_where(Expr::cust_with_values(
                    "\"search_words\" MATCH ?",
                    [fts_match(matches)],
                ))
                .cond_where(visible)
                .order_by((SearchWords::Table, SearchWords::Rowid), Order::Desc);
        }
        Backend::Postgres if terms_table => {
            let same_record = |other: &DynIden| {
                Cond::all()
                    .add(
                        Expr::col((other.clone(), SearchDocs::CompanyId))
                            .equals((driver.clone(), SearchDocs::CompanyId)),
                    )
                    .add(
                        Expr::col((other.clone(), SearchDocs::RecordId))
                            .equals((driver.clone(), SearchDocs::RecordId)),
                    )
                    .add(
                        Expr::col((other.clone(), SearchDocs::RecordType))
                            .equals((driver.clone(), SearchDocs::RecordType)),
                    )
            };
            let first = driving_match(matches);
            if let WordMatch::AnyOf(words) = &matches[first]
                && words.len() > 1
            {
                return spelling_by_spelling(tenant_view, actor, types, matches, first, words);
            }
            q.from_as(SearchTerms::Table, driver.clone())
                .inner_join(SearchDocs::Table, same_record(&docs))
                .cond_where(visible)
                .cond_where(term_condition(&driver, &matches[first]));
            for (i, m) in matches.iter().enumerate().filter(|(i, _)| *i != first) {
                let other: DynIden = Alias::new(format!("u{i}")).into_iden();
                q.and_where(Expr::exists(
                    Query::select()
                        .expr(Expr::cust("1"))
                        .from_as(SearchTerms::Table, other.clone())
                        .cond_where(same_record(&other))
                        .cond_where(term_condition(&other, m))
                        .to_owned(),
                ));
            }
            q.order_by((driver.clone(), SearchDocs::RecordId), Order::Desc);
        }
        Backend::Postgres => {
            // The expression is the index's (`search_docs_words_idx`), word for word; sea-query
            // numbers PostgreSQL's custom placeholders (`$1`), it does not rewrite `?`.
            docs_from(&mut q, tenant_view)
                .cond_where(visible)
                .and_where(Expr::cust_with_values(
                    "to_tsvector('simple', \"search_docs\".\"terms\") \
                     @@ to_tsquery('simple', $1)",
                    [tsquery(matches)],
                ))
                .order_by((SearchDocs::Table, SearchDocs::RecordId), Order::Desc);
        }
    }
    q.limit(CANDIDATES);
    Ok(Some(q))
}

/// PostgreSQL: the candidates when the driving word has several spellings (a corrected word:
/// "simth" → smith, sith): the read of each spelling alone — an index-only scan newest first
/// that stops at the limit — and the newest [`CANDIDATES`] of them together. `term IN (…)`
/// read every posting of every spelling instead (thousands for a common last name), joined
/// each to its document and sorted them: 362 ms against 5.6 ms for two last names
/// (`bench/explain.sh`). The planner would not merge a `UNION ALL` of ordered reads by itself.
fn spelling_by_spelling(
    tenant_view: bool,
    actor: &Actor,
    types: &[RecordType],
    matches: &[WordMatch],
    driving: usize,
    spellings: &[String],
) -> Result<Option<SelectStatement>> {
    let mut all: Option<SelectStatement> = None;
    for (i, spelling) in spellings.iter().enumerate() {
        let mut one = matches.to_vec();
        one[driving] = WordMatch::AnyOf(vec![spelling.clone()]);
        let Some(read) = candidates_query(Backend::Postgres, tenant_view, actor, types, &one)?
        else {
            return Ok(None);
        };
        let read = Query::select()
            .column(Asterisk)
            .from_subquery(read, Alias::new(format!("s{i}")))
            .to_owned();
        match all.as_mut() {
            None => all = Some(read),
            Some(all) => {
                all.union(UnionType::Distinct, read);
            }
        }
    }
    let Some(all) = all else {
        return Ok(None);
    };
    let spelled: DynIden = Alias::new("spelled").into_iden();
    let mut q = Query::select();
    q.columns([
        (spelled.clone(), SearchDocs::RecordType),
        (spelled.clone(), SearchDocs::RecordId),
        (spelled.clone(), SearchDocs::Title),
        (spelled.clone(), SearchDocs::Subtitle),
        (spelled.clone(), SearchDocs::Terms),
    ])
    .from_subquery(all, spelled.clone())
    .order_by((spelled, SearchDocs::RecordId), Order::Desc)
    .limit(CANDIDATES);
    Ok(Some(q))
}

#[derive(Debug, FromQueryResult)]
struct TitleRow {
    record_id: Uuid,
    title: String,
}

/// The names (search titles) of `records` that the caller may read, by id, in one query: what
/// a list shows for the records its rows point at. A record of another company, outside the
/// caller's scope or deleted is left out.
pub async fn titles(
    store: &Store,
    actor: &Actor,
    records: &[(RecordType, Uuid)],
) -> Result<HashMap<Uuid, String>> {
    let mut types: Vec<RecordType> = records.iter().map(|(t, _)| *t).collect();
    types.sort_by_key(|t| t.as_str());
    types.dedup();
    let Some(visible) = visibility(actor, &types, &SearchDocs::Table.into_iden())? else {
        return Ok(HashMap::new());
    };
    let mut any = Cond::any();
    for t in &types {
        let ids: HashSet<Uuid> = records
            .iter()
            .filter(|(rt, _)| rt == t)
            .map(|(_, id)| *id)
            .collect();
        any = any.add(
            Cond::all()
                .add(Expr::col((SearchDocs::Table, SearchDocs::RecordType)).eq(t.as_str()))
                .add(Expr::col((SearchDocs::Table, SearchDocs::RecordId)).is_in(ids)),
        );
    }
    let mut q = Query::select();
    q.columns([
        (SearchDocs::Table, SearchDocs::RecordId),
        (SearchDocs::Table, SearchDocs::Title),
    ])
    .from(SearchDocs::Table)
    .cond_where(visible)
    .cond_where(any);
    let rows: Vec<TitleRow> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    Ok(rows.into_iter().map(|r| (r.record_id, r.title)).collect())
}

/// Search the records the caller may read for `q`, best first, at most `limit`.
pub async fn search(
    store: &Store,
    actor: &Actor,
    q: &str,
    types: &[RecordType],
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let words = query_words(q);
    let exact = exact_words(&words);
    if exact.is_empty() {
        return Ok(Vec::new());
    }
    let tenant = store.read(actor).await?;
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut ranking = Ranking::new(&words);
    let mut hits: Vec<SearchHit> = Vec::new();
    let mut read = async |matches: &[WordMatch], hits: &mut Vec<SearchHit>| -> Result<u64> {
        let Some(stmt) =
            candidates_query(store.backend(), store.row_security(), actor, types, matches)?
        else {
            return Ok(0);
        };
        let rows: Vec<DocRow> = fetch_all(tenant.conn(), &stmt).await?;
        let read = rows.len() as u64;
        for row in rows {
            if !seen.insert(row.record_id) {
                continue;
            }
            if let Some(score) = ranking.score(&row.title, &row.terms) {
                hits.push(SearchHit {
                    record_type: row.record_type,
                    id: row.record_id,
                    title: row.title,
                    subtitle: row.subtitle,
                    score,
                });
            }
        }
        Ok(read)
    };
    // Whole words first. A full set of them is what the answer shows (a record word that the
    // query word only starts scores lower, unless it is in the title where the whole word is
    // not): the costlier prefix read is skipped then.
    let whole: Vec<WordMatch> = exact
        .iter()
        .map(|w| WordMatch::AnyOf(vec![w.clone()]))
        .collect();
    if read(&whole, &mut hits).await? < CANDIDATES {
        let prefixes: Vec<WordMatch> = exact.iter().cloned().map(WordMatch::Prefix).collect();
        read(&prefixes, &mut hits).await?;
    }
    // Typos, when nothing matched as typed. Words of two letters have none.
    if hits.is_empty()
        && exact.iter().any(|w| w.chars().count() > 2)
        && let Some(corrected) = search_typos::corrections(tenant.conn(), actor, &exact).await?
    {
        read(&corrected, &mut hits).await?;
    }
    // Ids are UUIDv7: a larger id is a newer record.
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.id.cmp(&a.id)));
    hits.truncate(limit);
    Ok(hits)
}

/// How well a record with `title` and searched text `terms` answers the query `words`, or
/// `None` when some word matches nothing well enough. Rounded to two decimals.
pub fn score(words: &[String], title: &str, terms: &str) -> Option<f64> {
    Ranking::new(words).score(title, terms)
}

/// The ranking of one search's candidates: [`score`], remembering how well each query word
/// matches each record word it has met. A search's candidates share most of their words
/// (names, cities, mail domains), and for a typo every record word is compared by edit
/// distance and trigram similarity: that was the largest part of a typo search's time on
/// SQLite (`perf`: `generic_damerau_levenshtein` 19 %, trigram similarity 5 %).
#[derive(Debug)]
pub struct Ranking<'w> {
    words: &'w [String],
    met: HashMap<(usize, Vec<char>), f64>,
}

impl<'w> Ranking<'w> {
    pub fn new(words: &'w [String]) -> Self {
        Self {
            words,
            met: HashMap::new(),
        }
    }

    /// [`score`] of one record.
    pub fn score(&mut self, title: &str, terms: &str) -> Option<f64> {
        if self.words.is_empty() {
            return None;
        }
        let chars_of = |text: &str| -> Vec<Vec<char>> {
            self::words(text)
                .into_iter()
                .map(|w| w.chars().collect())
                .collect()
        };
        let title = chars_of(title);
        // The record's words, split only when some query word is not one of them verbatim.
        let mut doc: Option<Vec<Vec<char>>> = None;
        let mut anywhere = 0.0;
        let mut in_title = 0.0;
        let words = self.words;
        for (i, word) in words.iter().enumerate() {
            let q: Vec<char> = word.chars().collect();
            let t = best_match(&q, &title, |d| self.word_score(i, &q, d));
            let b = if t >= 1.0 || has_whole_word(terms, word) {
                1.0
            } else {
                let doc = doc.get_or_insert_with(|| chars_of(terms));
                best_match(&q, doc, |d| self.word_score(i, &q, d)).max(t)
            };
            if b < MIN_WORD_SCORE {
                return None;
            }
            anywhere += b;
            in_title += t;
        }
        let n = words.len() as f64;
        let raw = 0.8 * anywhere / n + 0.2 * in_title / n;
        Some((raw * 100.0).round() / 100.0)
    }

    /// [`word_score`] of the `i`th query word `q` and the record word `d`, once per pair.
    fn word_score(&mut self, i: usize, q: &[char], d: &[char]) -> f64 {
        if let Some(s) = self.met.get(&(i, d.to_vec())) {
            return *s;
        }
        let s = word_score(q, d);
        self.met.insert((i, d.to_vec()), s);
        s
    }
}

/// How well the query word `q` matches the best of the record words `ws`, 0–1, each compared
/// by `score_of`.
fn best_match(q: &[char], ws: &[Vec<char>], mut score_of: impl FnMut(&[char]) -> f64) -> f64 {
    if ws.iter().any(|d| d.as_slice() == q) {
        return 1.0;
    }
    ws.iter().map(|d| score_of(d)).fold(0.0, f64::max)
}

/// Whether `terms` (every word between spaces) holds `word` (letters and digits) as a whole
/// word: what the exact step matched for nearly every candidate, found without splitting.
fn has_whole_word(terms: &str, word: &str) -> bool {
    terms
        .match_indices(word)
        .any(|(i, _)| terms[..i].ends_with(' ') && terms[i + word.len()..].starts_with(' '))
}

/// How well the query word `q` matches the record word `d`, 0–1.
pub fn word_score(q: &[char], d: &[char]) -> f64 {
    let (qn, dn) = (q.len(), d.len());
    if qn == 0 || dn == 0 {
        return 0.0;
    }
    if q == d {
        return 1.0;
    }
    let ratio = qn as f64 / dn as f64;
    if d.starts_with(q) {
        return 0.75 + 0.2 * ratio;
    }
    if qn >= 3 && d.windows(qn).any(|w| w == q) {
        return 0.55 + 0.2 * ratio;
    }
    // One edit in four letters or more, two in eight or more; in three letters only a swap.
    // An edit distance is at least the difference in length: skip what cannot be close.
    let allowed = match qn {
        0..=2 => 0,
        3 => usize::from(is_swap(q, d)),
        4..=7 => 1,
        _ => 2,
    };
    if allowed > 0 && qn.abs_diff(dn) <= allowed {
        // Damerau–Levenshtein: a swap of neighbours is one edit.
        let distance = strsim::generic_damerau_levenshtein(q, d);
        if distance <= allowed {
            return 0.85 * (1.0 - distance as f64 / qn.max(dn) as f64);
        }
    }
    // Trigram similarity reaches the word minimum only for words of similar length.
    if qn >= 3 && 2 * qn.min(dn) >= qn.max(dn) {
        return 0.8 * trigram_similarity(q, d);
    }
    0.0
}

/// Whether `d` is `q` with two neighbouring letters swapped.
fn is_swap(q: &[char], d: &[char]) -> bool {
    q.len() == d.len()
        && (0..q.len().saturating_sub(1)).any(|i| {
            let mut s = q.to_vec();
            s.swap(i, i + 1);
            s == d
        })
}

/// `pg_trgm`'s similarity of two words: shared trigrams of `"  word "` over all trigrams.
pub fn trigram_similarity(a: &[char], b: &[char]) -> f64 {
    let grams = |w: &[char]| -> Vec<[char; 3]> {
        let padded: Vec<char> = [' ', ' ']
            .into_iter()
            .chain(w.iter().copied())
            .chain([' '])
            .collect();
        let mut grams: Vec<[char; 3]> = padded.windows(3).map(|g| [g[0], g[1], g[2]]).collect();
        grams.sort_unstable();
        grams.dedup();
        grams
    };
    let (ga, gb) = (grams(a), grams(b));
    let shared = ga.iter().filter(|g| gb.binary_search(g).is_ok()).count();
    let all = ga.len() + gb.len() - shared;
    if all == 0 {
        0.0
    } else {
        shared as f64 / all as f64
    }
}

/// A bulk load of records on SQLite (the demo seeder's millions of rows): while it lasts, new
/// `search_docs` rows are not added to the two FTS indexes and the typo vocabulary one by one —
/// each small transaction would flush and merge index segments — but in one pass at
/// [`BulkLoad::finish`]. (With the vocabulary's trigger in place, a second load into a seeded
/// file failed now and then with "no such table: accounts" on bundled SQLite 3.46; without it
/// the failure did not show in 12 tries: cause not found.)
/// Only insertions are deferred; updates and deletions stay row by row. On PostgreSQL it does
/// nothing. Should a load die before `finish`, the next [`Store::migrate`] rebuilds the indexes
/// and restores the triggers ([`ensure_index_sync`]).
#[derive(Debug)]
pub struct BulkLoad {
    /// The last `doc_id` before the load; later rows are the load's.
    indexed_up_to: Option<i64>,
}

impl BulkLoad {
    pub async fn start(store: &Store) -> Result<Self> {
        if store.backend() != Backend::Sqlite {
            return Ok(Self {
                indexed_up_to: None,
            });
        }
        let last = last_doc_id(store.system()).await?;
        let triggers = SQLITE_FTS_INDEXES.iter().map(|(_, trigger)| *trigger);
        for trigger in triggers.chain([SQLITE_VOCAB_TRIGGER]) {
            store
                .system()
                .execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                .await?;
        }
        Ok(Self {
            indexed_up_to: Some(last),
        })
    }

    /// Index the rows added since [`BulkLoad::start`] and restore row-by-row indexing, in one
    /// transaction.
    pub async fn finish(self, store: &Store) -> Result<()> {
        let Some(last) = self.indexed_up_to else {
            return Ok(());
        };
        let tx = store.system().begin().await?;
        for (index, trigger) in SQLITE_FTS_INDEXES {
            tx.execute_unprepared(&format!(
                "INSERT INTO {index} (rowid, terms) \
                 SELECT doc_id, terms FROM search_docs WHERE doc_id > {last}"
            ))
            .await?;
            tx.execute_unprepared(&sqlite_fts_on_insert(index, trigger))
                .await?;
        }
        tx.execute_unprepared(&sqlite_vocab_backfill(last)).await?;
        tx.execute_unprepared(&sqlite_vocab_on_insert()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// SQLite: the newest `search_docs` row's id (0 without any); rows added later are a bulk
/// load's or a batch's.
async fn last_doc_id<C: ConnectionTrait>(db: &C) -> Result<i64> {
    #[derive(FromQueryResult)]
    struct Last {
        last: i64,
    }
    Ok(Last::find_by_statement(sea_orm::Statement::from_string(
        sea_orm::DatabaseBackend::Sqlite,
        "SELECT coalesce(max(doc_id), 0) AS last FROM search_docs",
    ))
    .one(db)
    .await?
    .map_or(0, |l| l.last))
}

/// Search indexing for a batch of creates in one transaction (an import's rows, an ingestion's
/// leads), on SQLite: between [`SearchBatch::start`] and [`SearchBatch::finish`] the new
/// `search_docs` rows (written by the record tables' triggers as always) skip the FTS and
/// vocabulary triggers (m0024); `finish` adds them to both FTS indexes with one statement each
/// and their words to the typo vocabulary with one insert. A transaction that fails before
/// `finish` rolls the marker back with everything else. On PostgreSQL it does nothing (its
/// postings are kept by row triggers).
pub(crate) struct SearchBatch {
    after_doc_id: Option<i64>,
}

impl SearchBatch {
    pub(crate) async fn start<C: ConnectionTrait>(db: &C) -> Result<Self> {
        if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(Self { after_doc_id: None });
        }
        let last = last_doc_id(db).await?;
        db.execute_unprepared(&format!(
            "INSERT INTO {SEARCH_BATCH} (after_doc_id) VALUES ({last})"
        ))
        .await?;
        Ok(Self {
            after_doc_id: Some(last),
        })
    }

    pub(crate) async fn finish<C: ConnectionTrait>(self, db: &C) -> Result<()> {
        let Some(last) = self.after_doc_id else {
            return Ok(());
        };
        for (index, _) in SQLITE_FTS_INDEXES {
            db.execute_unprepared(&format!(
                "INSERT INTO {index} (rowid, terms) \
                 SELECT doc_id, terms FROM search_docs WHERE doc_id > {last}"
            ))
            .await?;
        }
        #[derive(FromQueryResult)]
        struct Doc {
            company_id: uuid::Uuid,
            terms: String,
        }
        let docs = Doc::find_by_statement(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            format!("SELECT company_id, terms FROM search_docs WHERE doc_id > {last}"),
        ))
        .all(db)
        .await?;
        let mut vocab: std::collections::BTreeSet<(uuid::Uuid, &str)> = Default::default();
        for doc in &docs {
            vocab.extend(vocab_words(&doc.terms).map(|w| (doc.company_id, w)));
        }
        let vocab: Vec<_> = vocab.into_iter().collect();
        for chunk in vocab.chunks(crate::MAX_BOUND_VALUES / 2) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("search_vocab"))
                .columns([Alias::new("company_id"), Alias::new("term")])
                .on_conflict(
                    sea_orm::sea_query::OnConflict::columns([
                        Alias::new("company_id"),
                        Alias::new("term"),
                    ])
                    .do_nothing()
                    .to_owned(),
                );
            for (company, word) in chunk {
                insert
                    .values([(*company).into(), (*word).into()])
                    .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
            }
            crate::exec(db, &insert).await?;
        }
        db.execute_unprepared(&format!("DELETE FROM {SEARCH_BATCH}"))
            .await?;
        Ok(())
    }
}

/// The words of a `search_docs` row's `terms` that go into the typo vocabulary, as
/// `sqlite_vocab_words` finds them in SQL: the space-separated words of 3 to [`VOCAB_MAX`]
/// characters without a digit.
fn vocab_words(terms: &str) -> impl Iterator<Item = &str> {
    terms.split(' ').filter(|w| {
        (3..=VOCAB_MAX).contains(&w.chars().count()) && !w.bytes().any(|b| b.is_ascii_digit())
    })
}

/// On SQLite, restore an FTS index whose insert trigger is missing (a bulk load that died
/// before [`BulkLoad::finish`]): rebuild it from `search_docs` and recreate the trigger.
pub(crate) async fn ensure_index_sync(store: &Store) -> Result<()> {
    if store.backend() != Backend::Sqlite {
        return Ok(());
    }
    for (index, trigger) in SQLITE_FTS_INDEXES {
        if store.sqlite_has(trigger).await? {
            continue;
        }
        tracing::warn!(index, "search index was not kept in step; rebuilding it");
        let tx = store.system().begin().await?;
        tx.execute_unprepared(&format!("INSERT INTO {index} ({index}) VALUES ('rebuild')"))
            .await?;
        tx.execute_unprepared(&sqlite_fts_on_insert(index, trigger))
            .await?;
        tx.commit().await?;
    }
    if !store.sqlite_has(SQLITE_VOCAB_TRIGGER).await? && store.sqlite_has("search_vocab").await? {
        tracing::warn!("search vocabulary was not kept in step; completing it");
        let tx = store.system().begin().await?;
        tx.execute_unprepared(&sqlite_vocab_backfill(0)).await?;
        tx.execute_unprepared(&sqlite_vocab_on_insert()).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivet_domain::Id;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn words_are_lower_case_and_split_on_punctuation() {
        assert_eq!(
            words("John.Smith@Acme.com"),
            ["john", "smith", "acme", "com"]
        );
        assert_eq!(query_words("  Ana  ana ÉLODIE "), ["ana", "élodie"]);
    }

    #[test]
    fn a_swap_is_one_edit() {
        let one = |a: &str, b: &str| word_score(&chars(a), &chars(b));
        assert_eq!(one("jonh", "john"), one("jonn", "john"));
        assert_eq!(one("smiht", "smith"), one("smoth", "smith"));
        assert_eq!(one("xqzv", "john"), 0.0);
    }

    #[test]
    fn typos_score_below_exact_and_noise_not_at_all() {
        let john = |q: &str| score(&query_words(q), "John Smith", " john smith acme com ");
        assert_eq!(john("john smith"), Some(1.0));
        let typo = john("jonh smiht").unwrap_or(0.0);
        assert!(typo > 0.5 && typo < 1.0, "{typo}");
        let prefix = john("jo smi").unwrap_or(0.0);
        assert!(prefix > typo, "{prefix} vs {typo}");
        assert_eq!(john("xqzv"), None);
        assert_eq!(john("john xqzv"), None);
        assert_eq!(john("jane"), None);
        assert!(john("jhon").is_some() && john("johm").is_some() && john("smiht").is_some());
        assert!(score(&query_words("zde"), "Zed", " zed ").is_some());
        assert_eq!(score(&query_words("zxd"), "Zed", " zed "), None);
    }

    #[test]
    fn a_whole_word_is_found_between_spaces_only() {
        assert!(has_whole_word(" john smith acme ", "smith"));
        assert!(!has_whole_word(" john smithson acme ", "smith"));
        assert!(!has_whole_word(" john blacksmith ", "smith"));
        assert!(has_whole_word(" smith ", "smith"));
        assert_eq!(
            score(
                &query_words("smith"),
                "Jo Smithson",
                " jo smithson smith com "
            ),
            Some(0.98)
        );
    }

    #[test]
    fn one_ranking_scores_every_record_as_alone() {
        let records = [
            ("John Smith", " john smith acme com "),
            ("Jo Smithson", " jo smithson smith com "),
            ("Amy Simth", " amy simth example com "),
            ("Tom Walker", " tom walker kowalski freight "),
            ("Smith Smyth", " smith smyth "),
        ];
        for q in ["simth", "jonh smiht", "wlaker", "smi", "john smith"] {
            let words = query_words(q);
            let mut ranking = Ranking::new(&words);
            for _ in 0..2 {
                for (title, terms) in records {
                    assert_eq!(
                        ranking.score(title, terms),
                        score(&words, title, terms),
                        "{q} / {title}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_name_match_outranks_an_email_match() {
        let q = query_words("john smith");
        let named = score(&q, "John Smith", " john smith jsmith example com ");
        let mailed = score(&q, "Jo Smith", " jo smith john smith example com ");
        assert!(named > mailed, "{named:?} vs {mailed:?}");
    }

    fn admin() -> Actor {
        Actor {
            company_id: Id::nil(),
            user_id: Id::nil(),
            api_key_id: None,
            session_id: None,
            role_id: Id::nil(),
            permissions: std::sync::Arc::new(
                rivet_domain::permissions::BuiltinRole::Admin.default_permissions(),
            ),
            team_ids: Vec::new(),
            is_system_admin: false,
            request_id: None,
            via: None,
        }
    }

    #[test]
    fn the_word_step_binds_its_query_on_both_engines() {
        use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
        let prefixes = [
            WordMatch::Prefix("smith".into()),
            WordMatch::Prefix("jo".into()),
        ];
        let types = RecordType::ALL;
        let stmt = |backend, matches: &[WordMatch]| {
            candidates_query(backend, false, &admin(), types, matches)
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("an admin reads every type"))
        };
        // Two prefixes on PostgreSQL: the GIN index.
        let (sql, values) = stmt(Backend::Postgres, &prefixes).build(PostgresQueryBuilder);
        assert!(sql.contains("@@ to_tsquery('simple', $"), "{sql}");
        assert!(values.0.contains(&"smith:* & jo:*".into()), "{values:?}");
        let (sql, values) = stmt(Backend::Sqlite, &prefixes).build(SqliteQueryBuilder);
        assert!(sql.contains("\"search_words\" MATCH ?"), "{sql}");
        assert!(
            values.0.contains(&"\"smith\"* AND \"jo\"*".into()),
            "{values:?}"
        );
        // Whole words of letters on PostgreSQL: the postings, newest first, one word checked
        // on the same record.
        let whole = [
            WordMatch::AnyOf(vec!["smith".into()]),
            WordMatch::AnyOf(vec!["john".into(), "jon".into()]),
        ];
        let (sql, _) = stmt(Backend::Postgres, &whole).build(PostgresQueryBuilder);
        assert!(sql.contains("FROM \"search_terms\" AS \"t\""), "{sql}");
        assert!(
            sql.contains("EXISTS(SELECT 1 FROM \"search_terms\" AS \"u1\""),
            "{sql}"
        );
        assert!(sql.contains("ORDER BY \"t\".\"record_id\" DESC"), "{sql}");
        let (_, values) = stmt(Backend::Sqlite, &whole).build(SqliteQueryBuilder);
        assert!(
            values
                .0
                .contains(&"\"smith\" AND (\"john\" OR \"jon\")".into()),
            "{values:?}"
        );
        // Digits on PostgreSQL: the GIN index.
        let digits = [WordMatch::AnyOf(vec!["5550107788".into()])];
        let (sql, _) = stmt(Backend::Postgres, &digits).build(PostgresQueryBuilder);
        assert!(sql.contains("to_tsquery"), "{sql}");
    }

    #[test]
    fn a_corrected_word_reads_each_spelling_in_order_and_merges_them() {
        use sea_orm::sea_query::PostgresQueryBuilder;
        let corrected = [WordMatch::AnyOf(vec!["smith".into(), "sith".into()])];
        let stmt = candidates_query(
            Backend::Postgres,
            true,
            &admin(),
            RecordType::ALL,
            &corrected,
        )
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("an admin reads every type"));
        let (sql, values) = stmt.build(PostgresQueryBuilder);
        // One read per spelling, each newest first with its own limit, then the newest of
        // them; not `term IN (…)`, which read, joined and sorted every posting.
        assert!(sql.contains(" UNION (SELECT * FROM (SELECT"), "{sql}");
        assert!(!sql.contains("\"term\" IN"), "{sql}");
        assert_eq!(
            sql.matches("ORDER BY \"t\".\"record_id\" DESC LIMIT")
                .count(),
            2,
            "{sql}"
        );
        assert!(
            sql.contains("ORDER BY \"spelled\".\"record_id\" DESC LIMIT"),
            "{sql}"
        );
        assert!(values.0.contains(&"sith".into()), "{values:?}");
    }

    #[test]
    fn the_postings_are_driven_by_the_rarest_looking_word() {
        let any = |w: &[&str]| WordMatch::AnyOf(w.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(driving_match(&[any(&["jo"]), any(&["smith"])]), 1);
        assert_eq!(driving_match(&[any(&["smith", "smyth"]), any(&["jon"])]), 1);
        assert!(reads_terms_table(&[WordMatch::Prefix("smi".into())]));
        assert!(!reads_terms_table(&[
            WordMatch::Prefix("smi".into()),
            any(&["john"])
        ]));
        assert!(!reads_terms_table(&[any(&["smith42"])]));
        assert_eq!(
            tsquery(&[any(&["smith", "smyth"]), WordMatch::Prefix("12".into())]),
            "(smith | smyth) & 12:*"
        );
        assert_eq!(
            fts_match(&[any(&["smith", "smyth"]), WordMatch::Prefix("12".into())]),
            "(\"smith\" OR \"smyth\") AND \"12\"*"
        );
    }
}
