//! What every record list page shares besides its template (`web::record_list`): the owners
//! filter, the column declarations and their sort links, the page links (keyset cursor), the
//! reading of the page's query string into the API's and of one page of records, the selection
//! and confirmation of bulk actions, the bulk delete and the deletion of one record.

use super::custom_fields::list_query;
use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, options, safe_next, with_query};
use super::views_bar::ListSpec;
use crate::api::bulk::MAX_BULK;
use crate::api::record::{ApiRecord, bulk_patch, bulk_update_records, imported_filter};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::response::Response;
use chrono::NaiveDate;
use rivet_domain::FieldErrors;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::{Id, UserId};
use rivet_domain::query::{FieldSpec, ListQuery, SortKey};
use rivet_domain::{Action, Resource};
use rivet_store::page::Page;
use rivet_store::page::{MAX_LIMIT, PageRequest};
use rivet_store::query::{ListField, Seek};
use rivet_store::record::{self, Record};
use rivet_store::sea_orm::sea_query::Cond;
use rivet_store::users::MemberFilter;
use std::collections::HashMap;
use uuid::Uuid;

pub(super) const PAGE_SIZE: u64 = 50;

/// What a record list is called and shows, declared once per record type.
pub(super) struct ListDecl {
    /// The list's resource and address, as the views bar sees them.
    pub page: &'static ListSpec,
    /// The prefix of the page's element ids and its table's class (`leads`).
    pub key: &'static str,
    pub title: &'static str,
    /// The line under the title (a page may say more, such as its time zone).
    pub blurb: &'static str,
    /// The heading of the table's card.
    pub heading: &'static str,
    /// One and several of its records (`lead`, `leads`); rows carry `data-<noun>-id`.
    pub noun: &'static str,
    pub nouns: &'static str,
    /// The header's button to the new form (none: records are added elsewhere).
    pub new_label: Option<&'static str>,
    /// What an empty list says, and its link to the new form.
    pub empty: &'static str,
    pub add_first: &'static str,
    /// The table's columns.
    pub columns: &'static [Col],
}

impl ListDecl {
    /// `n` of its records: "1 lead", "3 leads".
    pub fn count(&self, n: usize) -> String {
        format!("{n} {}", if n == 1 { self.noun } else { self.nouns })
    }
}

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

/// A column of a record list, declared once per record type: its heading, and the API field a
/// click on the heading sorts by, if it sorts.
pub(super) struct Col {
    pub label: &'static str,
    pub sort: Option<&'static str>,
    /// A first click sorts descending (numbers and dates: the largest, the newest first).
    pub first_descending: bool,
    /// The heading's classes (`num`).
    pub class: &'static str,
    /// The heading is for screen readers only.
    pub hidden: bool,
}

impl Col {
    pub const fn plain(label: &'static str) -> Self {
        Self {
            label,
            sort: None,
            first_descending: false,
            class: "",
            hidden: false,
        }
    }

    /// Sorted by `field`, ascending on the first click.
    pub const fn sorts(label: &'static str, field: &'static str) -> Self {
        Self {
            sort: Some(field),
            ..Self::plain(label)
        }
    }

    /// Sorted by `field`, descending on the first click.
    pub const fn sorts_down(label: &'static str, field: &'static str) -> Self {
        Self {
            first_descending: true,
            ..Self::sorts(label, field)
        }
    }

    pub const fn class(self, class: &'static str) -> Self {
        Self { class, ..self }
    }

    pub const fn hidden(self) -> Self {
        Self {
            hidden: true,
            ..self
        }
    }
}

pub struct SortHeader {
    pub href: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub aria: &'static str,
    pub arrow: &'static str,
}

/// A column heading as shown: sortable ones link to their sort.
pub struct Column {
    pub label: &'static str,
    pub class: &'static str,
    pub hidden: bool,
    pub sort: Option<SortHeader>,
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

/// `import_id=<id>` taken out of the API's query as the condition for the rows that import
/// created, as the API's lists take it (`api::record::imported_filter`); a bad id is an error
/// of the page, which then shows no rows.
pub(super) fn imported(
    pairs: Vec<(String, String)>,
    errors: &mut FormErrors,
) -> (Vec<(String, String)>, Cond) {
    let rest: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "import_id")
        .cloned()
        .collect();
    match imported_filter(pairs) {
        Ok(taken) => taken,
        Err(e) => {
            errors.add_general(super::view::capitalise(&e.to_string()));
            (rest, Cond::all())
        }
    }
}

/// Where the page starts: after the record its `cursor` names (a cursor made for another sort
/// is a bad link).
pub(super) fn after<F: ListField>(
    ctx: &Ctx,
    sort: &[SortKey<F>],
    raw: &[(String, String)],
) -> Result<Option<Seek>, WebError> {
    match value_of(raw, "cursor") {
        "" => Ok(None),
        text => rivet_store::query::decode_cursor(sort, text)
            .map(Some)
            .ok_or_else(|| ctx.fail(AppError::BadRequest("the page link is not valid".into()))),
    }
}

/// The page of a record list that the page's query string (`raw`, for its cursor) asks for,
/// narrowed to `narrow` (the rows an import created, [`imported`]).
pub(super) async fn page_of<R: Record>(
    ctx: &Ctx,
    (query, narrow): (&ListQuery<R::Field>, Cond),
    raw: &[(String, String)],
) -> Result<Page<R>, WebError> {
    let after = after(ctx, &query.sort, raw)?;
    record::list_where::<R>(
        &ctx.app.store,
        &ctx.actor,
        query,
        PAGE_SIZE,
        after.as_ref(),
        narrow,
    )
    .await
    .or_page(ctx)
}

/// One page of a plain record list (leads, accounts, contacts): the page's query string read as
/// the API's, custom fields included. When it is not valid, `errors` say why and the page is
/// empty.
pub(super) async fn plain_page<R: Record>(
    ctx: &Ctx,
    record_type: RecordType,
    raw: &[(String, String)],
    fields: &[FieldSpec<R::Field>],
    default_sort: &[SortKey<R::Field>],
    errors: &mut FormErrors,
) -> Result<Page<R>, WebError> {
    let (pairs, narrow) = imported(api_pairs(raw, errors), errors);
    let parsed = list_query(ctx, record_type, &pairs, fields, default_sort, errors).await?;
    match parsed {
        Some(query) if errors.is_empty() => page_of::<R>(ctx, (&query, narrow), raw).await,
        _ => Ok(Page {
            data: Vec::new(),
            next_cursor: None,
        }),
    }
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
    pub columns: Vec<Column>,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
    pub back: String,
    pub filtered: bool,
}

impl ListLinks {
    pub(super) fn new(
        path: &str,
        raw: &[(String, String)],
        columns: &'static [Col],
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
        let current = value_of(raw, "sort")
            .split(',')
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("-created_at");
        let columns = columns
            .iter()
            .map(|col| Column {
                label: col.label,
                class: col.class,
                hidden: col.hidden,
                sort: col.sort.map(|field| {
                    let (aria, arrow, next) = if current == field {
                        ("ascending", " ▲", format!("-{field}"))
                    } else if current.strip_prefix('-') == Some(field) {
                        ("descending", " ▼", field.to_owned())
                    } else if col.first_descending {
                        ("none", "", format!("-{field}"))
                    } else {
                        ("none", "", field.to_owned())
                    };
                    let mut pairs = filters.clone();
                    pairs.push(("sort", next.as_str()));
                    SortHeader {
                        href: with_query(path, &pairs),
                        aria,
                        arrow,
                    }
                }),
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
            columns,
            first_href,
            next_href,
            back: with_query(path, &back_pairs),
            filtered: !filters.is_empty(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/bulk_delete.html")]
struct ConfirmDeletePage {
    layout: Layout,
    decl: &'static ListDecl,
    ids: Vec<Uuid>,
    names: Vec<String>,
    back: String,
}

/// The names of the first records of a selection (in its order), for the page that asks
/// before deleting: one read.
pub(super) async fn first_names<R: Record>(
    ctx: &Ctx,
    ids: &[Id<R::Kind>],
    name: fn(&R) -> String,
) -> Result<Vec<String>, WebError> {
    let first = &ids[..ids.len().min(20)];
    let read = ctx.app.store.read(&ctx.actor).await.or_page(ctx)?;
    let records = record::all_in_scope::<R, _>(read.conn(), &ctx.actor, Action::Read, first)
        .await
        .or_page(ctx)?;
    Ok(first
        .iter()
        .filter_map(|id| records.iter().find(|r| r.id() == *id))
        .map(name)
        .collect())
}

/// Deleting one record (the button on its page or form): back to its list, saying which.
pub(super) async fn delete_one<R: Record>(
    ctx: &Ctx,
    decl: &ListDecl,
    id: Id<R::Kind>,
    name: fn(&R) -> String,
) -> Result<Response, WebError> {
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let record = record::get::<R>(store, actor, id).await.or_page(ctx)?;
    record::delete::<R>(store, actor, id).await.or_page(ctx)?;
    let message = format!("Deleted the {} {}.", decl.noun, name(&record));
    Ok(ctx.done(decl.page.path, message))
}

/// The bulk "Delete…" of a record list: first the page that asks (naming the first selected
/// records by `name`), then, when that page's button sends `confirm=yes`, the deletion.
pub(super) async fn bulk_delete<R: Record>(
    ctx: &Ctx,
    decl: &'static ListDecl,
    form: &[(String, String)],
    Selection { back, ids, .. }: Selection<R::Kind>,
    name: fn(&R) -> String,
) -> Result<Response, WebError> {
    if value_of(form, "confirm") == "yes" {
        let count = ids.len();
        let result = record::bulk_delete::<R>(&ctx.app.store, &ctx.actor, &ids)
            .await
            .map(|n| {
                format!(
                    "Deleted {}.",
                    decl.count(usize::try_from(n).unwrap_or(count))
                )
            });
        return bulk_done(ctx, &back, result);
    }
    let page = ConfirmDeletePage {
        layout: ctx.layout(format!("Delete {}", decl.nouns)),
        decl,
        names: first_names(ctx, &ids, name).await?,
        ids: ids.iter().map(|id| id.uuid()).collect(),
        back,
    };
    Ok(ctx.render(&page))
}

/// The one post of a list's bulk bar: delete (first the page that asks, see [`bulk_delete`]) or
/// one of `changes`.
pub(super) async fn bulk_action<R: ApiRecord>(
    ctx: &Ctx,
    decl: &'static ListDecl,
    form: &[(String, String)],
    name: fn(&R) -> String,
    changes: &[BulkChange],
) -> Result<Response, WebError> {
    let selection = match Selection::<R::Kind>::read(ctx, form, decl)? {
        Ok(selection) => selection,
        Err(refused) => return Ok(refused),
    };
    if selection.action == "delete" {
        bulk_delete::<R>(ctx, decl, form, selection, name).await
    } else {
        bulk_change::<R>(ctx, decl, form, selection, changes).await
    }
}

/// A field a list's bulk bar changes (its select and button, `RecordList::bulk_select`).
pub(super) struct BulkChange {
    /// The button's `action`.
    pub action: &'static str,
    /// The form field, as the API's bulk update names it (`owner_id`, `status`).
    pub field: &'static str,
    /// What the field is called in "Choose the new … first.".
    pub what: &'static str,
    /// The message when done: `{count}` is the records ("2 leads"), `{value}` the value chosen
    /// as the list shows it, in lower case.
    pub done: &'static str,
}

impl BulkChange {
    /// The bulk "Change owner".
    pub const OWNER: Self = Self {
        action: "owner",
        field: "owner_id",
        what: "owner",
        done: "Changed the owner of {count}.",
    };
}

/// A bulk change of `decl`'s records: the value the form chose for the button's field, checked
/// and laid over every selected record as the API's bulk update does; back to the list saying
/// what was done, or asking for a value when none (or none valid) was chosen.
pub(super) async fn bulk_change<R: ApiRecord>(
    ctx: &Ctx,
    decl: &ListDecl,
    form: &[(String, String)],
    Selection { back, action, ids }: Selection<R::Kind>,
    changes: &[BulkChange],
) -> Result<Response, WebError> {
    let Some(change) = changes.iter().find(|c| c.action == action) else {
        return Err(ctx.fail(AppError::BadRequest("unknown bulk action".into())));
    };
    let value = value_of(form, change.field);
    let mut errors = FieldErrors::new();
    let mut chosen = serde_json::Map::new();
    chosen.insert(change.field.into(), value.into());
    let set = serde_json::from_value::<R::Bulk>(chosen.into())
        .ok()
        .filter(|_| !value.is_empty())
        .map(|set| bulk_patch::<R>(set, &mut errors));
    let Some(set) = set.filter(|_| errors.is_empty()) else {
        return Ok(ctx.refused(&back, format!("Choose the new {} first.", change.what)));
    };
    let result = bulk_update_records::<R>(&ctx.app, &ctx.actor, &ids, set)
        .await
        .map(|done| {
            change
                .done
                .replace("{count}", &decl.count(done.len()))
                .replace("{value}", &value.replace('_', " "))
        });
    bulk_done(ctx, &back, result)
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
    /// Read the form of `decl`'s list and check the caller may delete (`action=delete`) or
    /// update its records; an empty or too large selection is an answer already (`Err`), back
    /// to the list.
    pub(super) fn read(
        ctx: &Ctx,
        form: &[(String, String)],
        decl: &ListDecl,
    ) -> Result<Result<Self, Response>, WebError> {
        let (path, resource) = (decl.page.path, decl.page.resource);
        let (noun, nouns) = (decl.noun, decl.nouns);
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
    result: Result<String, impl Into<AppError>>,
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
