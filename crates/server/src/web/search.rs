//! The global search page behind the search box of every page: the same ranked, typo-tolerant,
//! scope-filtered search as `GET /api/v1/search` (`rivet_store::search`).

use super::view::{Ctx, Layout, OrPage, WebError, WebQuery};
use askama::Template;
use axum::response::Response;
use rivet_store::search::{self, RecordType};
use serde::Deserialize;

/// Results shown on the page.
const LIMIT: usize = 30;

struct Hit {
    kind: &'static str,
    href: String,
    title: String,
    subtitle: String,
}

#[derive(Template)]
#[template(path = "web/search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    /// Why nothing was searched (too short), if so.
    hint: String,
    hits: Vec<Hit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
}

fn label_and_list(record_type: &str) -> (&'static str, &'static str) {
    match record_type {
        "lead" => ("Lead", "leads"),
        "contact" => ("Contact", "contacts"),
        "account" => ("Account", "accounts"),
        _ => ("Deal", "deals"),
    }
}

pub async fn show(ctx: Ctx, WebQuery(query): WebQuery<SearchQuery>) -> Result<Response, WebError> {
    let q = query.q.trim().to_owned();
    let length = q.chars().count();
    let (hint, hits) = if !(2..=200).contains(&length) {
        ("Type 2 to 200 characters to search.".to_owned(), Vec::new())
    } else {
        let found = search::search(&ctx.app.store, &ctx.actor, &q, RecordType::ALL, LIMIT)
            .await
            .or_page(&ctx)?;
        let hits = found
            .into_iter()
            .map(|hit| {
                let (kind, list) = label_and_list(&hit.record_type);
                Hit {
                    kind,
                    href: format!("/{list}/{}", hit.id),
                    title: hit.title,
                    subtitle: hit.subtitle,
                }
            })
            .collect();
        (String::new(), hits)
    };
    let page = SearchPage {
        layout: ctx.layout(if q.is_empty() {
            "Search".to_owned()
        } else {
            format!("Search: {q}")
        }),
        q,
        hint,
        hits,
    };
    Ok(ctx.render(&page))
}
