//! The views bar of the list pages: the member's saved views of the list as links (the one
//! matching the page highlighted), "Save current view as …", and deleting the current view.
//! The rendering is `templates/web/views_macros.html`; saving and deleting go through
//! `crate::views::{create_view, delete_view}`, as the API does.
//!
//! A list page calls [`bar`] first thing with its query string: when the page is opened with
//! no query at all, the member's default view (if any) becomes the query. `view=all` opens the
//! whole list without the default. Views hold the API's query string; the two date filters of
//! the list pages (`created_from`/`created_to`) are turned into the API's `created_at[gte|lte]`
//! on save and back on display, and so is the tasks page's tab (`tab=overdue` is the API's
//! `overdue=true&mine=true`, see `web::tasks::{list_pairs, page_pairs}`) and the activities
//! page's `occurred_from`/`occurred_to`, days in the company's time zone (see
//! `web::activities::{list_pairs, page_pairs}`).

use super::leads::api_pairs;
use super::view::{Ctx, FormErrors, OrPage, WebError, WebForm, safe_next, with_query};
use crate::error::AppError;
use crate::tasks::company_time_zone;
use crate::views::{CreateView, create_view, delete_view, parse_resource};
use axum::extract::Path;
use axum::response::Response;
use chrono::NaiveDate;
use chrono_tz::Tz;
use rivet_domain::{Action, Resource};
use rivet_store::views::{self as store, SavedView};
use serde::Deserialize;
use uuid::Uuid;

/// The query parameter that picks "no view" (the whole list, not the default).
const VIEW_PARAM: &str = "view";
const ALL: &str = "all";

/// The list page of a resource that has saved views.
fn list_path(resource: Resource) -> &'static str {
    match resource {
        Resource::Leads => "/leads",
        Resource::Accounts => "/accounts",
        Resource::Contacts => "/contacts",
        Resource::Deals => "/deals",
        Resource::Tasks => "/tasks",
        Resource::Activities => "/activities",
        _ => "/",
    }
}

pub struct ViewLink {
    pub id: Uuid,
    pub name: String,
    pub href: String,
    pub current: bool,
    pub is_default: bool,
}

/// What `views_macros::bar` shows.
pub struct ViewsBar {
    /// The resource, as the save form posts it.
    pub resource: &'static str,
    pub views: Vec<ViewLink>,
    /// The whole list, without the default view.
    pub all_href: String,
    /// The page shows the whole list (no filter, no sort).
    pub plain: bool,
    /// The view the page shows, if it is one of the member's.
    pub current: Option<(Uuid, String)>,
    /// Where saving or deleting comes back to: this page without its cursor.
    pub return_to: String,
}

/// The pairs a page address keeps for a view: not empty, not the cursor, not `view`.
fn kept(raw: &[(String, String)]) -> Vec<(String, String)> {
    raw.iter()
        .filter(|(k, v)| k != "cursor" && k != VIEW_PARAM && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect()
}

/// What the bar's "All" shows, as the page's parameters: nothing, but for tasks the "All" tab.
fn whole_list(resource: Resource) -> Vec<(String, String)> {
    match resource {
        Resource::Tasks => super::tasks::whole_list(),
        _ => Vec::new(),
    }
}

/// The time zone whose days a resource's list page filters by: the company's for activities
/// (whose page has `occurred_from`/`occurred_to`), UTC for the others (their `created_from`/
/// `created_to` are UTC days).
async fn days_zone(ctx: &Ctx, resource: Resource) -> Result<Tz, WebError> {
    match resource {
        Resource::Activities => company_time_zone(&ctx.app, &ctx.actor).await.or_page(ctx),
        _ => Ok(Tz::UTC),
    }
}

/// A view's stored (API) query as `resource`'s list page's address reads it; `tz` is
/// [`days_zone`].
fn page_pairs(resource: Resource, query: &str, tz: Tz) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let pairs = match resource {
        Resource::Tasks => super::tasks::page_pairs(pairs),
        Resource::Activities => super::activities::page_pairs(pairs, tz),
        _ => pairs,
    };
    pairs
        .into_iter()
        .map(|(key, value)| {
            let day = |suffix: &str| {
                value
                    .strip_suffix(suffix)
                    .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
                    .map(str::to_owned)
            };
            match key.as_str() {
                "created_at[gte]" => match day("T00:00:00Z") {
                    Some(d) => ("created_from".to_owned(), d),
                    None => (key, value),
                },
                "created_at[lte]" => match day("T23:59:59.999Z") {
                    Some(d) => ("created_to".to_owned(), d),
                    None => (key, value),
                },
                _ => (key, value),
            }
        })
        .collect()
}

/// Pairs in a canonical order, to tell whether a page shows a view.
fn canonical(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort();
    pairs
}

fn href(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return with_query(path, &[(VIEW_PARAM, ALL)]);
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    with_query(path, &refs)
}

/// The views bar of `resource`'s list page, whose query string is `raw`. Opened without a
/// query, the page shows the member's default view: `raw` becomes its query.
pub async fn bar(
    ctx: &Ctx,
    resource: Resource,
    raw: &mut Vec<(String, String)>,
) -> Result<ViewsBar, WebError> {
    let path = list_path(resource);
    let views = store::list(&ctx.app.store, &ctx.actor, Some(resource))
        .await
        .or_page(ctx)?;
    let tz = days_zone(ctx, resource).await?;
    let asked_all = raw.iter().any(|(k, v)| k == VIEW_PARAM && v == ALL);
    raw.retain(|(k, _)| k != VIEW_PARAM);
    if !asked_all
        && raw.is_empty()
        && let Some(default) = views.iter().find(|v| v.is_default)
    {
        *raw = page_pairs(resource, &default.query, tz);
    }
    if resource == Resource::Tasks {
        super::tasks::name_tab(raw);
    }
    let shown = canonical(kept(raw));
    let links: Vec<ViewLink> = views
        .iter()
        .map(|view: &SavedView| {
            let pairs = page_pairs(resource, &view.query, tz);
            ViewLink {
                id: view.id,
                name: view.name.clone(),
                href: href(path, &pairs),
                current: canonical(pairs) == shown,
                is_default: view.is_default,
            }
        })
        .collect();
    let current = links
        .iter()
        .find(|l| l.current)
        .map(|l| (l.id, l.name.clone()));
    Ok(ViewsBar {
        resource: resource.as_str(),
        views: links,
        all_href: with_query(path, &[(VIEW_PARAM, ALL)]),
        plain: shown == canonical(whole_list(resource)),
        current,
        return_to: href(path, &kept(raw)),
    })
}

/// Where to go back to: a local address on the resource's list page, else the list itself.
fn back_to(resource: Resource, return_to: &str) -> String {
    let path = list_path(resource);
    let to = safe_next(return_to);
    let on_list = to.split_once('?').map_or(to.as_str(), |(p, _)| p).eq(path);
    if on_list { to } else { path.to_owned() }
}

/// A refused save or delete as one sentence for the flash message.
fn refusal(err: AppError) -> Result<String, AppError> {
    let mut errors = FormErrors::new();
    errors.absorb(err, &["name", "query", "is_default"])?;
    let mut parts = Vec::new();
    if let Some(message) = errors.get("name") {
        parts.push(format!("The view's name {message}."));
    }
    if let Some(message) = errors.get("query") {
        parts.push(format!("These filters cannot be saved: {message}."));
    }
    if errors.has("is_default") {
        parts.push("Another view was just made the default; try again.".to_owned());
    }
    parts.extend(errors.general.iter().map(|m| format!("{m}.")));
    Ok(parts.join(" "))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SaveForm {
    pub resource: String,
    pub name: String,
    pub return_to: String,
    pub is_default: Option<String>,
}

/// `POST /views`: save the page's filters and sort (from `return_to`) as a view.
pub async fn save(ctx: Ctx, WebForm(form): WebForm<SaveForm>) -> Result<Response, WebError> {
    let resource = parse_resource(&form.resource)
        .map_err(|e| ctx.fail(AppError::BadRequest(format!("resource {e}"))))?;
    ctx.require(resource, Action::Read)?;
    let back = back_to(resource, &form.return_to);
    let raw: Vec<(String, String)> = back
        .split_once('?')
        .and_then(|(_, q)| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut errors = FormErrors::new();
    let tz = days_zone(&ctx, resource).await?;
    // Each page turns its own filters into the API's query as its list does (the deals page's
    // open/won/lost becomes the stages of that outcome, the tasks page's tab its shortcuts,
    // the activities page's days the company's days).
    let pairs = match resource {
        Resource::Deals => {
            let pipelines = rivet_store::pipelines::list(&ctx.app.store, &ctx.actor)
                .await
                .or_page(&ctx)?;
            super::deals::list_pairs(&kept(&raw), &pipelines, &mut errors)
        }
        Resource::Tasks => super::tasks::list_pairs(&kept(&raw), &mut errors),
        Resource::Activities => super::activities::list_pairs(&kept(&raw), tz, &mut errors),
        _ => api_pairs(&kept(&raw), &mut errors),
    };
    if !errors.is_empty() {
        return Ok(ctx.refused(&back, "Fix the filters before saving them as a view."));
    }
    let body = CreateView {
        resource: resource.as_str().to_owned(),
        name: form.name,
        query: serde_urlencoded::to_string(&pairs).unwrap_or_default(),
        is_default: form.is_default.is_some_and(|v| !v.is_empty()),
    };
    match create_view(&ctx.app, &ctx.actor, body).await {
        Ok(view) => {
            let to = href(list_path(resource), &page_pairs(resource, &view.query, tz));
            Ok(ctx.done(&to, format!("Saved the view “{}”.", view.name)))
        }
        Err(err) => {
            let message = refusal(err).or_page(&ctx)?;
            Ok(ctx.refused(&back, message))
        }
    }
}

/// `POST /views/{id}/delete`: delete one of the member's views, back to the whole list.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let view = delete_view(&ctx.app, &ctx.actor, &id).await.or_page(&ctx)?;
    let to = with_query(list_path(view.resource), &[(VIEW_PARAM, ALL)]);
    Ok(ctx.done(&to, format!("Deleted the view “{}”.", view.name)))
}
