//! Typo correction for search: which words of the caller's company a mistyped query word may
//! have meant, read from the company's vocabulary (`search_vocab`, `search_variants`: see
//! `crate::migrations_search_scale`) on both engines with the same two queries.
//!
//! A query word of three to seven letters may be one edit away from the word meant, of eight
//! or more two (a swap of neighbours is one edit). Such a pair shares a *deletion variant*:
//! "wlaker" and "walker" both become "waker" with one letter left out, "smth" is "smith" less
//! its "i". The query word's variants (itself and its one- or two-letter deletions, at most
//! 1 + 8 + 28 for eight letters) are looked up in `search_variants`; the words found are kept
//! when the ranking accepts them (`search::word_score`), best first. A word also stands for
//! the vocabulary's words it starts ("quent" for "quentin"), as typed so far.
//!
//! What is *not* corrected: words with digits (phone numbers: a wrong digit is another number),
//! words of one or two letters, and words longer than the vocabulary keeps.

use crate::migrations::m0014_search_scale::{TWO_EDITS_MAX, VOCAB_MAX};
use crate::search::{MIN_WORD_SCORE, WordMatch, word_score};
use crate::{Result, fetch_all};
use rivet_domain::Actor;
use sea_orm::DeriveIden;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use std::collections::BTreeSet;

#[derive(DeriveIden)]
enum SearchVocab {
    Table,
    CompanyId,
    Term,
}

#[derive(DeriveIden)]
enum SearchVariants {
    Table,
    CompanyId,
    Variant,
    Term,
}

/// A corrected word stands for at most this many words of the vocabulary, the best first.
pub const MAX_ALTERNATIVES: usize = 32;

/// At most this many words a query word starts are read from the vocabulary.
pub const MAX_COMPLETIONS: u64 = 64;

/// How many edits a query word of `n` characters may be away from the word meant.
pub fn allowed_edits(n: usize) -> usize {
    match n {
        0..=2 => 0,
        3..=7 => 1,
        _ => 2,
    }
}

/// Whether `word` is one the vocabulary keeps: letters only, 3 to [`VOCAB_MAX`] characters.
pub fn in_vocabulary(word: &str) -> bool {
    let n = word.chars().count();
    (3..=VOCAB_MAX).contains(&n)
        && word
            .chars()
            .all(|c| c.is_alphanumeric() && !c.is_ascii_digit())
}

/// `word` and every string made from it by leaving out up to `edits` characters.
pub fn variants(word: &str, edits: usize) -> BTreeSet<String> {
    let mut all: BTreeSet<String> = BTreeSet::from([word.to_owned()]);
    let mut last = all.clone();
    for _ in 0..edits {
        let mut next = BTreeSet::new();
        for v in &last {
            let chars: Vec<char> = v.chars().collect();
            for i in 0..chars.len() {
                let shorter: String = chars[..i].iter().chain(&chars[i + 1..]).collect();
                if !shorter.is_empty() {
                    next.insert(shorter);
                }
            }
        }
        all.extend(next.iter().cloned());
        last = next;
    }
    all
}

/// The variants the vocabulary holds for a word of `n` letters are one-letter deletions, and
/// two-letter ones for [`TWO_EDITS_MIN`]`..=`[`TWO_EDITS_MAX`] letters: a query word is looked
/// up with as many as its own length allows (a longer word's two edits are partly missed).
fn query_variants(word: &str) -> BTreeSet<String> {
    let n = word.chars().count();
    let edits = allowed_edits(n);
    if edits == 2 && n > TWO_EDITS_MAX + 2 {
        return variants(word, 1);
    }
    variants(word, edits)
}

/// The smallest string greater than every string starting with `prefix` (byte order), or
/// `None` when there is none to give (a last character of U+10FFFF).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    let last = chars.pop()?;
    let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32)?;
    chars.push(next);
    Some(chars.into_iter().collect())
}

#[derive(Debug, FromQueryResult)]
struct VariantRow {
    variant: String,
    term: String,
}

#[derive(Debug, FromQueryResult)]
struct TermRow {
    term: String,
}

/// What each of `words` (the query's, each of two characters or more) may mean in the caller's
/// company: the vocabulary's words within its edits or that it starts, as [`WordMatch::AnyOf`],
/// best first; or the word itself as a prefix when it is not corrected (digits, two letters).
/// `None` when some word has no meaning at all: no record can match the query then.
///
/// It reads on `conn`, the search's own read: on PostgreSQL a second read would take a second
/// pooled connection while the first is held, and under load every request could hold one and
/// wait for another.
pub async fn corrections<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    words: &[String],
) -> Result<Option<Vec<WordMatch>>> {
    let corrected: Vec<&String> = words.iter().filter(|w| in_vocabulary(w)).collect();
    let mut found: Vec<BTreeSet<String>> = vec![BTreeSet::new(); corrected.len()];
    if !corrected.is_empty() {
        let wanted: Vec<BTreeSet<String>> = corrected.iter().map(|w| query_variants(w)).collect();
        let all: BTreeSet<&String> = wanted.iter().flatten().collect();
        let q = Query::select()
            .columns([SearchVariants::Variant, SearchVariants::Term])
            .from(SearchVariants::Table)
            .and_where(Expr::col(SearchVariants::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(SearchVariants::Variant).is_in(all.into_iter().cloned()))
            .to_owned();
        let rows: Vec<VariantRow> = fetch_all(conn, &q).await?;
        for row in rows {
            for (i, variants) in wanted.iter().enumerate() {
                if variants.contains(&row.variant) {
                    found[i].insert(row.term.clone());
                }
            }
        }
        // The words each query word starts, as typed so far.
        let mut any = Cond::any();
        for w in &corrected {
            let mut range = Cond::all().add(Expr::col(SearchVocab::Term).gte(w.as_str()));
            if let Some(end) = prefix_end(w) {
                range = range.add(Expr::col(SearchVocab::Term).lt(end));
            }
            any = any.add(range);
        }
        let q = Query::select()
            .column(SearchVocab::Term)
            .from(SearchVocab::Table)
            .and_where(Expr::col(SearchVocab::CompanyId).eq(actor.company_id))
            .cond_where(any)
            .order_by(SearchVocab::Term, Order::Asc)
            .limit(MAX_COMPLETIONS * corrected.len() as u64)
            .to_owned();
        let rows: Vec<TermRow> = fetch_all(conn, &q).await?;
        for row in rows {
            for (i, w) in corrected.iter().enumerate() {
                if row.term.starts_with(w.as_str()) {
                    found[i].insert(row.term.clone());
                }
            }
        }
    }
    let mut matches = Vec::with_capacity(words.len());
    let mut corrected_found = found.into_iter();
    for w in words {
        if !in_vocabulary(w) {
            // A number is looked for inside the record's numbers (a phone number without its
            // country code); anything else that is not corrected, as typed so far.
            let digits = w.chars().any(|c| c.is_ascii_digit());
            matches.push(if digits && w.chars().count() >= 3 {
                WordMatch::Contains(w.clone())
            } else {
                WordMatch::Prefix(w.clone())
            });
            continue;
        }
        let terms = corrected_found.next().unwrap_or_default();
        let alternatives = best_alternatives(w, terms);
        if alternatives.is_empty() {
            return Ok(None);
        }
        matches.push(WordMatch::AnyOf(alternatives));
    }
    Ok(Some(matches))
}

/// The words among `terms` the ranking accepts for the query word `w`, best first, at most
/// [`MAX_ALTERNATIVES`]. Only letters and digits: they go into index queries unquoted.
fn best_alternatives(w: &str, terms: BTreeSet<String>) -> Vec<String> {
    let q: Vec<char> = w.chars().collect();
    let mut scored: Vec<(f64, String)> = terms
        .into_iter()
        .filter(|t| t.chars().all(char::is_alphanumeric))
        .filter_map(|t| {
            let d: Vec<char> = t.chars().collect();
            let s = word_score(&q, &d);
            (s >= MIN_WORD_SCORE).then_some((s, t))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.truncate(MAX_ALTERNATIVES);
    scored.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_word_and_its_typo_share_a_variant() {
        for (typo, word) in [
            ("wlaker", "walker"), // swap at the start
            ("smiht", "smith"),   // swap at the end
            ("smth", "smith"),    // a letter missing
            ("smitth", "smith"),  // a letter too many
            ("smoth", "smith"),   // a wrong letter
            ("zde", "zed"),       // three letters
            ("kowalksi", "kowalski"),
            ("lindqivstt", "lindqvist"), // two edits in a long word
        ] {
            let ours = query_variants(typo);
            let theirs = variants(
                word,
                if word.chars().count() >= crate::migrations::m0014_search_scale::TWO_EDITS_MIN {
                    2
                } else {
                    1
                },
            );
            assert!(
                ours.intersection(&theirs).next().is_some(),
                "{typo} / {word}"
            );
        }
        assert_eq!(variants("abc", 1), set(&["abc", "bc", "ac", "ab"]));
        assert_eq!(variants("ab", 2), set(&["ab", "a", "b"]));
        assert_eq!(query_variants("ab"), set(&["ab"]));
    }

    #[test]
    fn the_vocabulary_keeps_letters_of_three_to_thirty_two() {
        assert!(in_vocabulary("smith") && in_vocabulary("élodie") && in_vocabulary("zed"));
        assert!(!in_vocabulary("jo") && !in_vocabulary("smith42") && !in_vocabulary("a*b"));
        assert!(!in_vocabulary(&"x".repeat(33)));
    }

    #[test]
    fn a_prefix_range_ends_at_the_next_character() {
        assert_eq!(prefix_end("smi").as_deref(), Some("smj"));
        assert_eq!(prefix_end("z").as_deref(), Some("{"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end("\u{10ffff}"), None);
        assert_eq!(prefix_end(""), None);
    }

    #[test]
    fn alternatives_are_what_the_ranking_accepts_best_first() {
        let found = set(&["walker", "wallace", "walkers", "w*lker"]);
        let best = best_alternatives("wlaker", found);
        assert_eq!(best, ["walker"]);
        assert!(!best.contains(&"w*lker".to_owned()));
        assert!(best_alternatives("xqzvwk", set(&["walker"])).is_empty());
    }
}
