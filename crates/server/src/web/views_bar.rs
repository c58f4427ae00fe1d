//! The views bar of the list pages: the member's saved views of the list as links (the one
//! matching the page highlighted), "Save current view as …", and deleting the current view.
//! The rendering is `templates/web/views_macros.html`; saving and deleting (`web::views`) go through
//! `crate::api::views::{create_view, delete_view}`, as the API does.
//!
//! A list page calls [`bar`] first thing with its query string: when the page is opened with
//! no query at all, the member's default view (if any) becomes the query. `view=all` opens the
//! whole list without the default. Views hold the API's query string; the two date filters of
//! the list pages (`created_from`/`created_to`) are turned into the API's `created_at[gte|lte]`
//! on save and back on display, and so is the tasks page's tab (`tab=overdue` is the API's
//! `overdue=true&mine=true`, see `web::tasks::{list_pairs, page_pairs}`) and the activities
//! page's `occurred_from`/`occurred_to`, days in the company's time zone (see
//! `web::activities::{list_pairs, page_pairs}`).

use super::view::{Ctx, OrPage, WebError, with_query};
use crate::api::tasks::company_time_zone;
use chrono::NaiveDate;
use chrono_tz::Tz;
use rivet_domain::Resource;
use rivet_store::views::{self as store, SavedView};
use uuid::Uuid;

/// The query parameter that picks "no view" (the whole list, not the default).
pub(super) const VIEW_PARAM: &str = "view";
pub(super) const ALL: &str = "all";

/// A query string as name–value pairs.
type Pairs = Vec<(String, String)>;

/// A list page with a views bar, as the bar and saved views see it: its address, and how its
/// own parameters differ from the API's query string. Each page module declares its `PAGE`.
pub struct ListSpec {
    pub resource: Resource,
    pub path: &'static str,
    /// The page's parameters for a stored (API) query; `Tz` is the time zone of its days.
    pub page_pairs: fn(Pairs, Tz) -> Pairs,
    /// What the bar's "All" shows, as the page's parameters.
    pub whole_list: fn() -> Vec<(String, String)>,
    /// Names the tab a page opened without one shows (the tasks page's).
    pub name_tab: fn(&mut Vec<(String, String)>),
    /// The page's day filters are days in the company's time zone (else UTC days).
    pub company_days: bool,
}

impl ListSpec {
    /// A page whose parameters are the API's, with UTC days and no tabs.
    pub const fn plain(resource: Resource, path: &'static str) -> Self {
        Self {
            resource,
            path,
            page_pairs: |pairs, _| pairs,
            whole_list: Vec::new,
            name_tab: |_| {},
            company_days: false,
        }
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
pub(super) fn kept(raw: &[(String, String)]) -> Vec<(String, String)> {
    raw.iter()
        .filter(|(k, v)| k != "cursor" && k != VIEW_PARAM && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect()
}

/// The time zone whose days a resource's list page filters by: the company's for activities
/// (whose page has `occurred_from`/`occurred_to`), UTC for the others (their `created_from`/
/// `created_to` are UTC days).
pub(super) async fn days_zone(ctx: &Ctx, page: &ListSpec) -> Result<Tz, WebError> {
    if page.company_days {
        company_time_zone(&ctx.app, &ctx.actor).await.or_page(ctx)
    } else {
        Ok(Tz::UTC)
    }
}

/// A view's stored (API) query as `resource`'s list page's address reads it; `tz` is
/// [`days_zone`].
pub(super) fn page_pairs(page: &ListSpec, query: &str, tz: Tz) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    (page.page_pairs)(pairs, tz)
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

pub(super) fn href(path: &str, pairs: &[(String, String)]) -> String {
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
    page: &ListSpec,
    raw: &mut Vec<(String, String)>,
) -> Result<ViewsBar, WebError> {
    let (resource, path) = (page.resource, page.path);
    let views = store::list(&ctx.app.store, &ctx.actor, Some(resource))
        .await
        .or_page(ctx)?;
    let tz = days_zone(ctx, page).await?;
    let asked_all = raw.iter().any(|(k, v)| k == VIEW_PARAM && v == ALL);
    raw.retain(|(k, _)| k != VIEW_PARAM);
    if !asked_all
        && raw.is_empty()
        && let Some(default) = views.iter().find(|v| v.is_default)
    {
        *raw = page_pairs(page, &default.query, tz);
    }
    (page.name_tab)(raw);
    let shown = canonical(kept(raw));
    let links: Vec<ViewLink> = views
        .iter()
        .map(|view: &SavedView| {
            let pairs = page_pairs(page, &view.query, tz);
            ViewLink {
                id: view.id.uuid(),
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
        plain: shown == canonical((page.whole_list)()),
        current,
        return_to: href(path, &kept(raw)),
    })
}
