//! `/search`: one box for every record type — leads, contacts, accounts and deals — typo
//! tolerant and ranked (see `rivet_store::search`). Any signed-in caller may search; what they
//! find is limited per record type by their read scope, and a type they may not read is simply
//! never found.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::State;
use rivet_store::search::{self, RecordType, SearchHit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Results per search unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 20;
/// At most this many results per search.
pub const MAX_LIMIT: usize = 50;
/// `q` is this many characters at most (and two at least).
pub const MAX_QUERY_CHARS: usize = 200;

pub fn routes() -> ApiRouter {
    ApiRouter::new().add(
        get("/search", Access::Authenticated)
            .doc(
                "search",
                "Search leads, contacts, accounts and deals by name, e-mail, phone, company or \
                 domain, tolerating typos: q (2–200 characters, required), limit (1–50, default \
                 20), types (comma-separated: lead, contact, account, deal; default all). Best \
                 match first; only records the caller's read scope covers",
            )
            .returns::<SearchResults>()
            .query::<SearchParams>(),
        find,
    )
}

/// The query string of `/search`. The patterns say what the server checks after trimming
/// (Unicode white space, as `str::trim` sees it): `q` has at least two characters left.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// What to look for: 2 to 200 characters once trimmed.
    #[param(
        required = true,
        min_length = 2,
        max_length = 200,
        pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\s\S]*[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    q: Option<String>,
    /// At most this many results: 1 to 50, 20 when left out.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 50)]
    limit: Option<String>,
    /// Comma-separated record types (lead, contact, account, deal); all when left out.
    #[param(pattern = r"^( *(lead|contact|account|deal) *(, *(lead|contact|account|deal) *)*)?$")]
    types: Option<String>,
}

/// The answer of `/search`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub data: Vec<SearchHit>,
}

/// A search request, checked.
#[derive(Debug, Clone, PartialEq)]
struct Checked {
    q: String,
    limit: usize,
    types: Vec<RecordType>,
}

fn check(params: SearchParams) -> Result<Checked, AppError> {
    let q = params.q.unwrap_or_default().trim().to_owned();
    let chars = q.chars().count();
    if !(2..=MAX_QUERY_CHARS).contains(&chars) {
        return Err(AppError::BadRequest(format!(
            "q must be between 2 and {MAX_QUERY_CHARS} characters"
        )));
    }
    let limit = match params.limit {
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}"))
            })?,
        None => DEFAULT_LIMIT,
    };
    let types = match params.types.as_deref() {
        None | Some("") => RecordType::ALL.to_vec(),
        Some(list) => {
            let mut types = Vec::new();
            for name in list.split(',').map(str::trim) {
                let t: RecordType = name
                    .parse()
                    .map_err(|e| AppError::BadRequest(format!("types: {name:?} {e}")))?;
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            types
        }
    };
    Ok(Checked { q, limit, types })
}

async fn find(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, AppError> {
    let checked = check(params)?;
    let data = search::search(
        &app.store,
        &actor,
        &checked.q,
        &checked.types,
        checked.limit,
    )
    .await?;
    Ok(Json(SearchResults { data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: Option<&str>, limit: Option<&str>, types: Option<&str>) -> SearchParams {
        SearchParams {
            q: q.map(str::to_owned),
            limit: limit.map(str::to_owned),
            types: types.map(str::to_owned),
        }
    }

    #[test]
    fn search_parameters_are_checked() {
        assert!(check(params(None, None, None)).is_err());
        assert!(check(params(Some(" a "), None, None)).is_err());
        assert!(check(params(Some(&"x".repeat(201)), None, None)).is_err());
        assert!(check(params(Some("jo"), Some("0"), None)).is_err());
        assert!(check(params(Some("jo"), Some("51"), None)).is_err());
        assert!(check(params(Some("jo"), Some("ten"), None)).is_err());
        assert!(check(params(Some("jo"), None, Some("lead,planet"))).is_err());
        let ok = check(params(Some(" jo "), Some("50"), Some("contact,lead,lead"))).ok();
        assert_eq!(
            ok,
            Some(Checked {
                q: "jo".into(),
                limit: 50,
                types: vec![RecordType::Contact, RecordType::Lead],
            })
        );
        let defaults = check(params(Some("jo"), None, None)).ok();
        assert_eq!(defaults.map(|c| (c.limit, c.types.len())), Some((20, 4)));
    }
}
