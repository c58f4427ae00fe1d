//! Saving and deleting the member's views from a list page's views bar (`web::views_bar`):
//! each page turns its own filters into the API's query string as its list does, and the view
//! is saved through `crate::api::views::{create_view, delete_view}`, as the API does.

use super::list::api_pairs;
use super::view::{Ctx, FormErrors, OrPage, WebError, WebForm, safe_next, with_query};
use super::views_bar::{ALL, ListSpec, VIEW_PARAM, days_zone, href, kept, page_pairs};
use crate::api::views::{CreateView, create_view, delete_view, parse_resource};
use crate::http::error::AppError;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::{Action, Resource};
use serde::Deserialize;

/// Where to go back to: a local address on the resource's list page, else the list itself.
fn back_to(page: &ListSpec, return_to: &str) -> String {
    let path = page.path;
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

/// The list page of a resource that has saved views.
fn page_of(resource: Resource) -> Result<&'static ListSpec, AppError> {
    Ok(match resource {
        Resource::Leads => &super::leads::PAGE,
        Resource::Accounts => &super::accounts::PAGE,
        Resource::Contacts => &super::contacts::PAGE,
        Resource::Deals => &super::deals::PAGE,
        Resource::Tasks => &super::tasks::PAGE,
        Resource::Activities => &super::activities::PAGE,
        _ => return Err(AppError::BadRequest("resource has no list page".into())),
    })
}

/// `POST /views`: save the page's filters and sort (from `return_to`) as a view.
pub async fn save(ctx: Ctx, WebForm(form): WebForm<SaveForm>) -> Result<Response, WebError> {
    let resource = parse_resource(&form.resource)
        .map_err(|e| ctx.fail(AppError::BadRequest(format!("resource {e}"))))?;
    ctx.require(resource, Action::Read)?;
    let page = page_of(resource).map_err(|e| ctx.fail(e))?;
    let back = back_to(page, &form.return_to);
    let raw: Vec<(String, String)> = back
        .split_once('?')
        .and_then(|(_, q)| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut errors = FormErrors::new();
    let tz = days_zone(&ctx, page).await?;
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
            let to = href(page.path, &page_pairs(page, &view.query, tz));
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
    let path = page_of(view.resource).map_or("/", |page| page.path);
    let to = with_query(path, &[(VIEW_PARAM, ALL)]);
    Ok(ctx.done(&to, format!("Deleted the view “{}”.", view.name)))
}
