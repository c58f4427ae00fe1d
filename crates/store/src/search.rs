//! Global search across leads, contacts, accounts and deals: typo-tolerant, ranked, and
//! filtered by the caller's company and their read scope on each record type.
//!
//! The index is `search_docs` (see `crate::migrations_search`): one row per record with its
//! owner, a title and subtitle, and `terms`, the searched text with every word after a space.
//! A search runs in two steps on both engines:
//!
//! 1. **Candidates**, newest first, at most [`CANDIDATES`]:
//!    - *exact*, from the word index: every query word must start a word of the record
//!      (`smith*` AND `john*`), read as whole words first (`smith` AND `john`, one posting
//!      list each) and as prefixes only when the whole words gave fewer than [`CANDIDATES`].
//!      SQLite answers it with the FTS5 table `search_words` (`unicode61` tokenizer),
//!      PostgreSQL with `to_tsquery('simple', 'smith & john')` / `'smith:* & john:*'` on a GIN
//!      index of `to_tsvector('simple', terms)`;
//!    - *fuzzy*, from the trigram index, only when the exact step found nothing: every query
//!      word must share its first or its last characters with a word of the record (`" jo"` OR
//!      `"nh "` for "jonh"; for words of three or four letters also their swapped spellings).
//!      One typo — a wrong, missing, extra or swapped letter — leaves one of the two ends
//!      intact, so "jonh smiht" still reaches "John Smith", while a word that shares neither
//!      end with anything finds nothing. SQLite answers it with FTS5 (`trigram` tokenizer)
//!      `MATCH`, PostgreSQL with `LIKE '% jo%'` on a `pg_trgm` GIN index. The candidates are
//!      read once per choice of one needle for every word (at most [`MAX_FUZZY_READS`]), so
//!      a common end ("…ht" of "smiht") cannot crowd out the other ("sm…").
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

use crate::migrations_search::SQLITE_FTS_INDEXES;
use crate::query;
use crate::{Backend, Result, Store, StoreError, fetch_all};
use rivet_domain::{Action, Actor};
use sea_orm::DeriveIden;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, LikeExpr, Order, Query, SelectStatement};
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

/// At most this many candidate reads for the fuzzy step.
pub const MAX_FUZZY_READS: usize = 8;

/// The fuzzy step's reads: one per choice of a single needle for every word, so that a common
/// needle cannot crowd out a rare one — "smiht" looks for the newest words starting with `sm`
/// and, separately, ending in `ht` (on a million records the newest 200 of either-or were all
/// "Bright …" deals and not one Smith). When the choices are more than [`MAX_FUZZY_READS`]
/// (several short words, each with its swapped spellings), one read takes any needle of each
/// word, as a single query.
fn needle_choices(needles: &[Vec<String>]) -> Vec<Vec<Vec<String>>> {
    let count = needles
        .iter()
        .try_fold(1usize, |n, group| n.checked_mul(group.len().max(1)));
    if count.is_none_or(|n| n > MAX_FUZZY_READS) {
        return vec![needles.to_vec()];
    }
    let mut choices: Vec<Vec<Vec<String>>> = vec![Vec::new()];
    for group in needles {
        choices = choices
            .into_iter()
            .flat_map(|chosen| {
                group.iter().map(move |needle| {
                    let mut next = chosen.clone();
                    next.push(vec![needle.clone()]);
                    next
                })
            })
            .collect();
    }
    choices
}

/// What the fuzzy step looks for: per word, its first or its last characters (with the space
/// before or after it), each at least three characters and not touching for words of five
/// characters or more, so one edit leaves one of them whole.
fn fuzzy_needles(words: &[String]) -> Vec<Vec<String>> {
    words
        .iter()
        .filter_map(|w| {
            let n = w.chars().count();
            if n < 2 {
                return None;
            }
            if n == 2 {
                return Some(vec![format!(" {w}")]);
            }
            let padded: Vec<char> = format!(" {w} ").chars().collect();
            let k = n.div_ceil(2).max(3);
            let head: String = padded[..k].iter().collect();
            let tail: String = padded[padded.len() - k..].iter().collect();
            let mut group = vec![head, tail];
            // In a word of three or four letters a swap can touch both ends: look for the
            // swapped spellings themselves.
            if n <= 4 {
                let chars: Vec<char> = w.chars().collect();
                for i in 0..n - 1 {
                    let mut swapped = chars.clone();
                    swapped.swap(i, i + 1);
                    group.push(format!(" {}", swapped.iter().collect::<String>()));
                }
            }
            let mut unique: Vec<String> = Vec::new();
            for needle in group {
                if !unique.contains(&needle) {
                    unique.push(needle);
                }
            }
            Some(unique)
        })
        .collect()
}

/// An FTS5 query: all groups, any needle of a group. Needles are letters, digits and spaces
/// only, so quoting them is enough.
fn fts_query(needles: &[Vec<String>]) -> String {
    needles
        .iter()
        .map(|group| {
            let any: Vec<String> = group.iter().map(|n| format!("\"{n}\"")).collect();
            format!("({})", any.join(" OR "))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// An FTS5 query for the word index: every word, whole (`"smith" AND "john"`) or as a prefix
/// (`"smith"* AND "john"*`).
fn fts_words_query(words: &[String], prefix: bool) -> String {
    let star = if prefix { "*" } else { "" };
    let terms: Vec<String> = words.iter().map(|w| format!("\"{w}\"{star}")).collect();
    terms.join(" AND ")
}

/// A PostgreSQL text-search query for the word index: every word, whole (`smith & john`) or as
/// a prefix (`smith:* & john:*`). Words are letters and digits only, so no operator can slip in.
fn tsquery(words: &[String], prefix: bool) -> String {
    let star = if prefix { ":*" } else { "" };
    let terms: Vec<String> = words.iter().map(|w| format!("{w}{star}")).collect();
    terms.join(" & ")
}

/// The caller's company and, per record type they may read, that type in their scope; `None`
/// when they may read none of `types`.
fn visibility(actor: &Actor, types: &[RecordType]) -> Result<Option<Cond>> {
    let mut any = Cond::any();
    let mut readable = 0;
    for t in types {
        let scope = match query::scope_condition(actor, t.resource(), Action::Read, || {
            Expr::col((SearchDocs::Table, SearchDocs::OwnerId))
        }) {
            Ok(cond) => cond,
            Err(StoreError::Forbidden) => continue,
            Err(e) => return Err(e),
        };
        readable += 1;
        any = any.add(
            Cond::all()
                .add(Expr::col((SearchDocs::Table, SearchDocs::RecordType)).eq(t.as_str()))
                .add(scope),
        );
    }
    if readable == 0 {
        return Ok(None);
    }
    Ok(Some(
        Cond::all()
            .add(Expr::col((SearchDocs::Table, SearchDocs::CompanyId)).eq(actor.company_id))
            .add(any),
    ))
}

/// What one step of a search looks for.
#[derive(Debug, Clone)]
enum Step {
    /// Every word is a word of the record (the word index, one posting list per word).
    Whole(Vec<String>),
    /// Every word starts a word of the record (the word index, merging the posting lists of
    /// every word with that prefix).
    Exact(Vec<String>),
    /// Every group has a needle inside the record's terms (the trigram index).
    Fuzzy(Vec<Vec<String>>),
}

fn candidates_query(backend: Backend, visible: Cond, step: &Step) -> SelectStatement {
    let mut q = Query::select();
    q.columns([
        (SearchDocs::Table, SearchDocs::RecordType),
        (SearchDocs::Table, SearchDocs::RecordId),
        (SearchDocs::Table, SearchDocs::Title),
        (SearchDocs::Table, SearchDocs::Subtitle),
        (SearchDocs::Table, SearchDocs::Terms),
    ]);
    match (backend, step) {
        (Backend::Sqlite, Step::Whole(words) | Step::Exact(words)) => {
            let prefix = matches!(step, Step::Exact(_));
            q.from(SearchWords::Table)
                .inner_join(
                    SearchDocs::Table,
                    Expr::col((SearchDocs::Table, SearchDocs::DocId))
                        .equals((SearchWords::Table, SearchWords::Rowid)),
                )
                .and_where(Expr::cust_with_values(
                    "\"search_words\" MATCH ?",
                    [fts_words_query(words, prefix)],
                ))
                .cond_where(visible)
                .order_by((SearchWords::Table, SearchWords::Rowid), Order::Desc);
        }
        (Backend::Sqlite, Step::Fuzzy(needles)) => {
            q.from(SearchFts::Table)
                .inner_join(
                    SearchDocs::Table,
                    Expr::col((SearchDocs::Table, SearchDocs::DocId))
                        .equals((SearchFts::Table, SearchFts::Rowid)),
                )
                .and_where(Expr::cust_with_values(
                    "\"search_fts\" MATCH ?",
                    [fts_query(needles)],
                ))
                .cond_where(visible)
                .order_by((SearchFts::Table, SearchFts::Rowid), Order::Desc);
        }
        (Backend::Postgres, Step::Whole(words) | Step::Exact(words)) => {
            let prefix = matches!(step, Step::Exact(_));
            // The expression is the index's (`search_docs_words_idx`), word for word; sea-query
            // numbers PostgreSQL's custom placeholders (`$1`), it does not rewrite `?`.
            q.from(SearchDocs::Table)
                .cond_where(visible)
                .and_where(Expr::cust_with_values(
                    "to_tsvector('simple', \"search_docs\".\"terms\") \
                     @@ to_tsquery('simple', $1)",
                    [tsquery(words, prefix)],
                ))
                .order_by((SearchDocs::Table, SearchDocs::RecordId), Order::Desc);
        }
        (Backend::Postgres, Step::Fuzzy(needles)) => {
            let mut all = Cond::all();
            for group in needles {
                let mut any = Cond::any();
                for needle in group {
                    let pattern = format!("%{}%", query::escape_like(needle));
                    any = any.add(
                        Expr::col((SearchDocs::Table, SearchDocs::Terms))
                            .like(LikeExpr::new(pattern).escape('\\')),
                    );
                }
                all = all.add(any);
            }
            q.from(SearchDocs::Table)
                .cond_where(visible)
                .cond_where(all)
                .order_by((SearchDocs::Table, SearchDocs::RecordId), Order::Desc);
        }
    }
    q.limit(CANDIDATES);
    q
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
    let r = store.read(actor).await?;
    let mut types: Vec<RecordType> = records.iter().map(|(t, _)| *t).collect();
    types.sort_by_key(|t| t.as_str());
    types.dedup();
    let Some(visible) = visibility(actor, &types)? else {
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
    let rows: Vec<TitleRow> = fetch_all(r.conn(), &q).await?;
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
    let Some(visible) = visibility(actor, types)? else {
        return Ok(Vec::new());
    };
    let r = store.read(actor).await?;
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut hits: Vec<SearchHit> = Vec::new();
    // Words of two letters have no typo step: their fuzzy needles are the words themselves.
    let exact_only = exact.iter().all(|w| w.chars().count() == 2);
    let mut steps = vec![Step::Whole(exact.clone()), Step::Exact(exact)];
    if !exact_only {
        steps.push(Step::Fuzzy(fuzzy_needles(&words)));
    }
    let mut enough_whole = false;
    for step in &steps {
        match step {
            // A full set of whole-word matches is what the answer shows (a record word that
            // the query word only starts scores lower, unless it is in the title where the
            // whole word is not): skip the costlier prefix read.
            Step::Exact(_) if enough_whole => continue,
            Step::Fuzzy(_) if !hits.is_empty() => break,
            _ => {}
        }
        let reads = match step {
            Step::Fuzzy(needles) => needle_choices(needles)
                .into_iter()
                .map(Step::Fuzzy)
                .collect(),
            _ => vec![step.clone()],
        };
        for read in &reads {
            let mut stmt = candidates_query(store.backend(), visible.clone(), read);
            if store.backend() == Backend::Postgres && store.row_security() {
                // The tenant view, not the policy: see `migrations_rls` (under the policy the
                // word and trigram indexes could not be used).
                stmt.from_clear().from_as(
                    sea_orm::sea_query::Alias::new(crate::migrations_rls::SEARCH_VIEW),
                    SearchDocs::Table,
                );
            }
            let rows: Vec<DocRow> = fetch_all(r.conn(), &stmt).await?;
            if matches!(step, Step::Whole(_)) {
                enough_whole = rows.len() as u64 >= CANDIDATES;
            }
            for row in rows {
                if !seen.insert(row.record_id) {
                    continue;
                }
                if let Some(score) = score(&words, &row.title, &row.terms) {
                    hits.push(SearchHit {
                        record_type: row.record_type,
                        id: row.record_id,
                        title: row.title,
                        subtitle: row.subtitle,
                        score,
                    });
                }
            }
        }
    }
    // Ids are UUIDv7: a larger id is a newer record.
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.id.cmp(&a.id)));
    hits.truncate(limit);
    Ok(hits)
}

/// How well a record with `title` and searched text `terms` answers the query `words`, or
/// `None` when some word matches nothing well enough. Rounded to two decimals.
pub fn score(words: &[String], title: &str, terms: &str) -> Option<f64> {
    if words.is_empty() {
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
    for word in words {
        let q: Vec<char> = word.chars().collect();
        let t = best_match(&q, &title);
        let b = if t >= 1.0 || has_whole_word(terms, word) {
            1.0
        } else {
            best_match(&q, doc.get_or_insert_with(|| chars_of(terms))).max(t)
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

/// How well the query word `q` matches the best of the record words `ws`, 0–1.
fn best_match(q: &[char], ws: &[Vec<char>]) -> f64 {
    if ws.iter().any(|d| d.as_slice() == q) {
        return 1.0;
    }
    ws.iter().map(|d| word_score(q, d)).fold(0.0, f64::max)
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
        let distance = osa_distance(q, d);
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

/// Edit distance counting a swap of neighbours as one edit (optimal string alignment).
pub fn osa_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
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
/// `search_docs` rows are not added to the two FTS indexes one by one — each small
/// transaction would flush and merge index segments — but in one pass at [`BulkLoad::finish`].
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
        #[derive(FromQueryResult)]
        struct Last {
            last: i64,
        }
        let last = Last::find_by_statement(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT coalesce(max(doc_id), 0) AS last FROM search_docs",
        ))
        .one(store.system())
        .await?
        .map_or(0, |l| l.last);
        for (_, trigger, _) in SQLITE_FTS_INDEXES {
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
        for (index, _, create_trigger) in SQLITE_FTS_INDEXES {
            tx.execute_unprepared(&format!(
                "INSERT INTO {index} (rowid, terms) \
                 SELECT doc_id, terms FROM search_docs WHERE doc_id > {last}"
            ))
            .await?;
            tx.execute_unprepared(create_trigger).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// On SQLite, restore an FTS index whose insert trigger is missing (a bulk load that died
/// before [`BulkLoad::finish`]): rebuild it from `search_docs` and recreate the trigger.
pub(crate) async fn ensure_index_sync(store: &Store) -> Result<()> {
    if store.backend() != Backend::Sqlite {
        return Ok(());
    }
    for (index, trigger, create_trigger) in SQLITE_FTS_INDEXES {
        if store.sqlite_has(trigger).await? {
            continue;
        }
        tracing::warn!(index, "search index was not kept in step; rebuilding it");
        let tx = store.system().begin().await?;
        tx.execute_unprepared(&format!("INSERT INTO {index} ({index}) VALUES ('rebuild')"))
            .await?;
        tx.execute_unprepared(create_trigger).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(osa_distance(&chars("jonh"), &chars("john")), 1);
        assert_eq!(osa_distance(&chars("smiht"), &chars("smith")), 1);
        assert_eq!(osa_distance(&chars("smth"), &chars("smith")), 1);
        assert_eq!(osa_distance(&chars("xqzv"), &chars("john")), 4);
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
    fn a_name_match_outranks_an_email_match() {
        let q = query_words("john smith");
        let named = score(&q, "John Smith", " john smith jsmith example com ");
        let mailed = score(&q, "Jo Smith", " jo smith john smith example com ");
        assert!(named > mailed, "{named:?} vs {mailed:?}");
    }

    #[test]
    fn the_word_step_binds_its_query_on_both_engines() {
        use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
        let step = Step::Exact(vec!["smith".into(), "jo".into()]);
        let (sql, values) =
            candidates_query(Backend::Postgres, Cond::all(), &step).build(PostgresQueryBuilder);
        assert!(sql.contains("@@ to_tsquery('simple', $1)"), "{sql}");
        assert_eq!(values.0.first(), Some(&"smith:* & jo:*".into()));
        let (sql, values) =
            candidates_query(Backend::Sqlite, Cond::all(), &step).build(SqliteQueryBuilder);
        assert!(sql.contains("\"search_words\" MATCH ?"), "{sql}");
        assert_eq!(values.0.first(), Some(&"\"smith\"* AND \"jo\"*".into()));
    }

    #[test]
    fn needles_keep_one_end_of_every_typo() {
        let fuzzy = fuzzy_needles(&query_words("hnak smiht ab"));
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            fuzzy,
            [
                strings(&[" hn", "ak ", " nhak", " hank", " hnka"]),
                strings(&[" sm", "ht "]),
                strings(&[" ab"]),
            ]
        );
        let words = exact_words(&query_words("john s smith"));
        assert_eq!(fts_words_query(&words, true), "\"john\"* AND \"smith\"*");
        assert_eq!(fts_words_query(&words, false), "\"john\" AND \"smith\"");
        assert_eq!(
            tsquery(&exact_words(&query_words("John S")), true),
            "john:*"
        );
        assert_eq!(tsquery(&words, false), "john & smith");
        assert_eq!(fts_query(&fuzzy_needles(&query_words("ab"))), "(\" ab\")");
    }

    #[test]
    fn each_fuzzy_read_takes_one_needle_per_word_unless_that_makes_too_many() {
        let one = |s: &str| vec![s.to_owned()];
        assert_eq!(
            needle_choices(&fuzzy_needles(&query_words("smiht"))),
            vec![vec![one(" sm")], vec![one("ht ")]]
        );
        let two = needle_choices(&fuzzy_needles(&query_words("johnsno smiht")));
        assert_eq!(two.len(), 4);
        assert!(two.contains(&vec![one("sno "), one(" sm")]));
        // Three short words have 5 × 5 × 5 choices: one read with any needle of each.
        let short = fuzzy_needles(&query_words("abc def ghi"));
        assert_eq!(needle_choices(&short), vec![short.clone()]);
    }
}
