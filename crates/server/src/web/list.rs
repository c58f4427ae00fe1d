//! What every record list page shares: the owners filter, sortable column headers, the
//! page links (keyset cursor), the selection and confirmation of bulk actions, and the parsing
//! of the page's query string into the API's.

use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, options, safe_next, with_query};
use crate::api::bulk::MAX_BULK;
use crate::http::extract::parse_id;
use askama::Template;
use axum::response::Response;
use chrono::NaiveDate;
use rivet_domain::ids::{Id, UserId};
use rivet_domain::{Action, Resource};
use rivet_store::page::{MAX_LIMIT, PageRequest};
use rivet_store::users::MemberFilter;
use std::collections::HashMap;

pub(super) const PAGE_SIZE: u64 = 50;

/// A select of an enum's values (`value` and `label` of each), after an optional empty first
/// option.
pub(super) fn choice_options<T: Copy>(
    first: Option<&str>,
    all: &[T],
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    selected: &str,
) -> Vec<Opt> {
    let mut items: Vec<(String, String)> = first
        .map(|label| (String::new(), label.to_owned()))
        .into_iter()
        .collect();
    items.extend(
        all.iter()
            .map(|s| (value(*s).to_owned(), label(*s).to_owned())),
    );
    options(items, selected)
}

/// Names of the members the caller may see (all of them with users read, else only themselves):
/// owners are shown by name where the caller's role allows it.
pub(super) struct Owners {
    pub(super) me: UserId,
    pub(super) names: HashMap<UserId, String>,
    /// Active members, for the owner selects, sorted by name.
    pub(super) active: Vec<(UserId, String)>,
}

impl Owners {
    pub(super) async fn load(ctx: &Ctx) -> Result<Self, WebError> {
        let mut names = HashMap::new();
        let mut active = Vec::new();
        if ctx.can(Resource::Users, Action::Read) {
            let page = PageRequest {
                limit: MAX_LIMIT,
                after: None,
            };
            let members = rivet_store::users::list(
                &ctx.app.store,
                &ctx.actor,
                &MemberFilter::default(),
                page,
            )
            .await
            .or_page(ctx)?;
            for m in members.data {
                if m.active {
                    active.push((m.id, m.name.clone()));
                }
                names.insert(m.id, m.name);
            }
        }
        names.insert(ctx.actor.user_id, ctx.user_name.clone());
        if !active.iter().any(|(id, _)| *id == ctx.actor.user_id) {
            active.push((ctx.actor.user_id, ctx.user_name.clone()));
        }
        active.sort_by_key(|(_, name)| name.to_lowercase());
        Ok(Self {
            me: ctx.actor.user_id,
            names,
            active,
        })
    }

    pub(super) fn name(&self, id: UserId) -> String {
        match self.names.get(&id) {
            Some(name) if id == self.me => format!("{name} (you)"),
            Some(name) => name.clone(),
            None => "Another member".into(),
        }
    }

    /// The owner select; the current owner stays choosable even if the caller cannot list them.
    pub(super) fn options(&self, first: Option<&str>, selected: &str) -> Vec<Opt> {
        let mut items: Vec<(String, String)> = first
            .map(|label| (String::new(), label.to_owned()))
            .into_iter()
            .collect();
        items.extend(self.active.iter().map(|(id, name)| {
            let label = if *id == self.me {
                format!("{name} (you)")
            } else {
                name.clone()
            };
            (id.to_string(), label)
        }));
        if let Ok(id) = selected.parse::<UserId>()
            && !self.active.iter().any(|(a, _)| *a == id)
        {
            items.push((id.to_string(), self.name(id)));
        }
        options(items, selected)
    }
}

pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub aria: &'static str,
    pub arrow: &'static str,
}

/// The page's query string: the API's filters, plus `created_from`/`created_to` as dates (what a
/// date input sends), turned into `created_at[gte|lte]` before the shared parser sees them.
pub(super) fn api_pairs(
    raw: &[(String, String)],
    errors: &mut FormErrors,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in raw {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "created_from" | "created_to" => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                Ok(day) => {
                    let (op, time) = if key == "created_from" {
                        ("gte", "00:00:00")
                    } else {
                        ("lte", "23:59:59.999")
                    };
                    out.push((format!("created_at[{op}]"), format!("{day}T{time}Z")));
                }
                Err(_) => errors.add(key, "must be a date such as 2026-01-31"),
            },
            _ => out.push((key.clone(), value.to_owned())),
        }
    }
    out
}

pub(super) fn value_of<'a>(raw: &'a [(String, String)], key: &str) -> &'a str {
    raw.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// The links of a list page, from its query string: the sortable column headers, the first and
/// next page, and the address to come back to after a bulk action. Links keep the filters (and
/// the sort); the cursor belongs to one page only.
pub(super) struct ListLinks {
    pub headers: Vec<SortHeader>,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
    pub back: String,
    pub filtered: bool,
}

impl ListLinks {
    /// `columns`: label, API field, and whether a first click sorts descending.
    pub(super) fn new(
        path: &str,
        raw: &[(String, String)],
        columns: &'static [(&'static str, &'static str, bool)],
        next_cursor: Option<String>,
    ) -> Self {
        let cursor = value_of(raw, "cursor");
        let kept: Vec<(&str, &str)> = raw
            .iter()
            .filter(|(k, v)| k != "cursor" && !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let filters: Vec<(&str, &str)> =
            kept.iter().filter(|(k, _)| *k != "sort").copied().collect();
        let sort = value_of(raw, "sort");
        let headers = columns
            .iter()
            .map(|(label, field, first_descending)| {
                let current = sort
                    .split(',')
                    .next()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("-created_at");
                let (aria, arrow, next) = if current == *field {
                    ("ascending", " ▲", format!("-{field}"))
                } else if current.strip_prefix('-') == Some(field) {
                    ("descending", " ▼", (*field).to_owned())
                } else if *first_descending {
                    ("none", "", format!("-{field}"))
                } else {
                    ("none", "", (*field).to_owned())
                };
                let mut pairs = filters.clone();
                pairs.push(("sort", next.as_str()));
                SortHeader {
                    label,
                    href: with_query(path, &pairs),
                    aria,
                    arrow,
                }
            })
            .collect();
        let next_href = next_cursor.map(|c| {
            let mut pairs = kept.clone();
            pairs.push(("cursor", c.as_str()));
            with_query(path, &pairs)
        });
        let first_href = (!cursor.is_empty()).then(|| with_query(path, &kept));
        let mut back_pairs = kept.clone();
        if !cursor.is_empty() {
            back_pairs.push(("cursor", cursor));
        }
        Self {
            headers,
            first_href,
            next_href,
            back: with_query(path, &back_pairs),
            filtered: !filters.is_empty(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/leads_bulk_delete.html")]
pub(super) struct ConfirmDeletePage<K> {
    pub layout: Layout,
    /// The list: its address and heading, and what one and several of its records are called.
    pub path: &'static str,
    pub title: &'static str,
    pub noun: &'static str,
    pub nouns: &'static str,
    pub ids: Vec<Id<K>>,
    pub names: Vec<String>,
    pub back: String,
}

/// What a bulk form selected: the list page to go back to (one under `path`), the button
/// pressed (`action`) and the ids.
pub(super) struct Selection<K> {
    pub back: String,
    pub action: String,
    /// Typed by the records listed.
    pub ids: Vec<Id<K>>,
}

impl<K> Selection<K> {
    /// Read the form and check the caller may delete (`action=delete`) or update `resource`;
    /// an empty or too large selection is an answer already (`Err`), back to the list.
    pub(super) fn read(
        ctx: &Ctx,
        form: &[(String, String)],
        path: &str,
        resource: Resource,
        (noun, nouns): (&str, &str),
    ) -> Result<Result<Self, Response>, WebError> {
        let back = safe_next(value_of(form, "back"));
        let back = if back.starts_with(path) {
            back
        } else {
            path.to_owned()
        };
        let mut ids = Vec::new();
        for (key, value) in form {
            if key == "ids" {
                let id = parse_id(value).or_page(ctx)?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let action = value_of(form, "action").to_owned();
        ctx.require(
            resource,
            if action == "delete" {
                Action::Delete
            } else {
                Action::Update
            },
        )?;
        if ids.is_empty() {
            return Ok(Err(
                ctx.refused(&back, format!("Select at least one {noun} first."))
            ));
        }
        if ids.len() > MAX_BULK {
            return Ok(Err(ctx.refused(
                &back,
                format!("Select at most {MAX_BULK} {nouns} at once."),
            )));
        }
        Ok(Ok(Self { back, action, ids }))
    }
}

/// The answer to a bulk action: back to the list with its message, or with why it failed.
pub(super) fn bulk_done(
    ctx: &Ctx,
    back: &str,
    result: Result<String, rivet_store::StoreError>,
) -> Result<Response, WebError> {
    match result {
        Ok(message) => Ok(ctx.done(back, message)),
        Err(err) => {
            let mut errors = FormErrors::new();
            errors.absorb(err.into(), &[]).or_page(ctx)?;
            Ok(ctx.refused(back, errors.general.join(" ")))
        }
    }
}
