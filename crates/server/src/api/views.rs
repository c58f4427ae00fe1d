//! `/views`: a member's saved views, named list queries (filters and sort) of leads, accounts,
//! contacts, deals, tasks or activities, private to the member who saved them (the list pages
//! show them as a views bar, `web::views`).
//!
//! Any signed-in member manages their own views; the route needs only a sign-in, and each
//! handler also needs read on the view's list (403 otherwise). Another member's view is a 404,
//! exactly like another company's. A view's `query` is checked with the same parser its list
//! route uses (custom fields included), so a view never stores a query its list would refuse:
//! an unknown filter or sort field is a 422 on `query` that names the problem. A name already
//! used for the list is a 409 (`name`); making a view the default clears the previous one.

use crate::api::custom_fields;
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, list_window, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::accounts::{ACCOUNT_DEFAULT_SORT, ACCOUNT_FIELDS};
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS};
use rivet_domain::custom_fields::RecordType;
use rivet_domain::deals::{DEAL_DEFAULT_SORT, DEAL_FIELDS, normalize_list_pairs};
use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS};
use rivet_domain::query::ListQuery;
use rivet_domain::tasks::{TASK_DEFAULT_SORT, TASK_FIELDS};
use rivet_domain::validate::parse_name;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::views::{self as store, NewView, RESOURCES, SavedView, ViewChanges};
use serde::Deserialize;
use utoipa::ToSchema;

const OWN: Access = Access::Authenticated;

/// Longest name a view may have, in characters.
pub const MAX_NAME: usize = 80;
/// Longest query string a view may hold, in bytes.
pub const MAX_QUERY: usize = 2000;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/views", OWN)
                .doc(
                    "views",
                    "List the caller's own saved views, of one list (resource: leads, accounts, \
                     contacts, deals, tasks) or of every list they may read, by name (any \
                     signed-in member; read on the list)",
                )
                .returns_all::<SavedView>(),
            list,
        )
        .add(
            post("/views", OWN)
                .doc(
                    "views",
                    "Save a view of a list for the caller: resource, name (unique per list), \
                     query (the list's query string, checked by the list's parser), is_default \
                     (replaces the previous default); needs read on the list",
                )
                .body::<CreateView>()
                .returns::<SavedView>()
                .status(201),
            create,
        )
        .add(
            get("/views/{id}", OWN)
                .doc(
                    "views",
                    "One of the caller's saved views; another member's is not found",
                )
                .returns::<SavedView>(),
            show,
        )
        .add(
            patch("/views/{id}", OWN)
                .doc(
                    "views",
                    "Rename one of the caller's views, change its query or make it (or no \
                     longer) the default; the resource never changes",
                )
                .body::<UpdateView>()
                .returns::<SavedView>(),
            update,
        )
        .add(
            delete("/views/{id}", OWN)
                .doc("views", "Delete one of the caller's saved views")
                .status(204),
            remove,
        )
}

/// A list a view can be saved for, or what is wrong with the name.
pub fn parse_resource(text: &str) -> Result<Resource, String> {
    text.trim()
        .parse::<Resource>()
        .ok()
        .filter(|r| RESOURCES.contains(r))
        .ok_or_else(|| {
            let names: Vec<&str> = RESOURCES.iter().map(|r| r.as_str()).collect();
            format!("must be one of: {}", names.join(", "))
        })
}

/// The caller must be able to read the list a view belongs to.
fn require_read(actor: &Actor, resource: Resource) -> Result<(), AppError> {
    if actor.can(resource, Action::Read) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Check a view's query string with its list's own parser; the answer is the query as stored
/// (trimmed, without a leading `?`). Its errors are 422s on `query`.
pub async fn check_query(
    app: &AppState,
    actor: &Actor,
    resource: Resource,
    query: &str,
) -> Result<String, AppError> {
    let query = query.trim().trim_start_matches('?').to_owned();
    if query.len() > MAX_QUERY {
        return Err(AppError::field(
            "query",
            format!("is too long (at most {MAX_QUERY} characters)"),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)
        .map_err(|_| AppError::field("query", "is not a valid query string"))?;
    if pairs.iter().any(|(k, _)| k == "cursor") {
        return Err(AppError::field(
            "query",
            "cursor marks one page of a list; leave it out of a view",
        ));
    }
    parse_list(app, actor, resource, pairs)
        .await
        .map_err(|err| match err {
            AppError::BadRequest(message) => AppError::field("query", message),
            other => other,
        })?;
    Ok(query)
}

/// Parse `pairs` exactly as the resource's list route does (the shortcuts of tasks, the money
/// and date filters of deals, the custom fields of the others), and the page size.
async fn parse_list(
    app: &AppState,
    actor: &Actor,
    resource: Resource,
    mut pairs: Vec<(String, String)>,
) -> Result<(), AppError> {
    match resource {
        Resource::Leads => {
            let t = RecordType::Lead;
            custom_fields::list_query(app, actor, t, &pairs, LEAD_FIELDS, LEAD_DEFAULT_SORT)
                .await?;
        }
        Resource::Accounts => {
            let t = RecordType::Account;
            custom_fields::list_query(app, actor, t, &pairs, ACCOUNT_FIELDS, ACCOUNT_DEFAULT_SORT)
                .await?;
        }
        Resource::Contacts => {
            let t = RecordType::Contact;
            custom_fields::list_query(app, actor, t, &pairs, CONTACT_FIELDS, CONTACT_DEFAULT_SORT)
                .await?;
        }
        Resource::Deals => {
            let normalized =
                normalize_list_pairs(pairs.clone()).map_err(|e| AppError::BadRequest(e.0))?;
            custom_fields::list_query(
                app,
                actor,
                RecordType::Deal,
                &normalized,
                DEAL_FIELDS,
                DEAL_DEFAULT_SORT,
            )
            .await?;
        }
        Resource::Tasks => {
            crate::api::tasks::list_shortcuts(app, actor, &mut pairs).await?;
            ListQuery::parse(&pairs, TASK_FIELDS, TASK_DEFAULT_SORT)
                .map_err(|e| AppError::BadRequest(e.0))?;
        }
        Resource::Activities => {
            crate::api::activities::list_query(&mut pairs)?;
        }
        other => {
            return Err(AppError::field(
                "resource",
                format!("{other} has no saved views"),
            ));
        }
    }
    list_window(&pairs, |_| Some(()))?;
    Ok(())
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<SavedView>>, AppError> {
    let mut resource = None;
    for (key, value) in &pairs {
        match key.as_str() {
            "resource" => {
                resource = Some(
                    parse_resource(value)
                        .map_err(|e| AppError::BadRequest(format!("resource {e}")))?,
                );
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "unknown parameter {other}; allowed: resource"
                )));
            }
        }
    }
    let data = match resource {
        Some(resource) => {
            require_read(&actor, resource)?;
            store::list(&app.store, &actor, Some(resource)).await?
        }
        None => store::list(&app.store, &actor, None)
            .await?
            .into_iter()
            .filter(|v| actor.can(v.resource, Action::Read))
            .collect(),
    };
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateView {
    /// leads, accounts, contacts, deals, tasks or activities.
    pub resource: String,
    /// 1 to 80 characters, unique among the caller's views of the list.
    #[schema(schema_with = rivet_domain::validate::names::name_80)]
    pub name: String,
    /// The list's query string (filters, `q`, `sort`, `limit`; no `cursor`), e.g.
    /// `status=new&sort=-created_at`. Empty: the whole list.
    #[serde(default)]
    pub query: String,
    /// Open the list with this view when no query is given (replaces the previous default).
    #[serde(default)]
    pub is_default: bool,
}

/// Save a view for the caller (API and the views bar of the list pages).
pub async fn create_view(
    app: &AppState,
    actor: &Actor,
    body: CreateView,
) -> Result<SavedView, AppError> {
    let mut errors = FieldErrors::new();
    let resource = errors.check("resource", parse_resource(&body.resource));
    let name = errors.check("name", parse_name(&body.name, MAX_NAME));
    errors.into_result()?;
    let (Some(resource), Some(name)) = (resource, name) else {
        return Err(AppError::BadRequest("invalid saved view".into()));
    };
    require_read(actor, resource)?;
    let query = check_query(app, actor, resource, &body.query).await?;
    let new = NewView {
        resource,
        name,
        query,
        is_default: body.is_default,
    };
    Ok(store::create(&app.store, actor, &new).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreateView>,
) -> Result<(StatusCode, Json<SavedView>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_view(&app, &actor, body).await?),
    ))
}

/// One of the caller's views, if they may still read its list.
pub async fn get_view(app: &AppState, actor: &Actor, id: &str) -> Result<SavedView, AppError> {
    let view = store::get(&app.store, actor, parse_id(id)?).await?;
    require_read(actor, view.resource)?;
    Ok(view)
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<SavedView>, AppError> {
    Ok(Json(get_view(&app, &actor, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateView {
    #[serde(default)]
    #[schema(schema_with = rivet_domain::validate::names::optional_name_80)]
    pub name: Option<String>,
    /// Checked by the list's parser, as on create.
    pub query: Option<String>,
    /// `true` makes this the list's default (the previous one stops being it).
    pub is_default: Option<bool>,
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateView>,
) -> Result<Json<SavedView>, AppError> {
    let current = get_view(&app, &actor, &id).await?;
    let name = match body.name.as_deref() {
        Some(name) => Some(parse_name(name, MAX_NAME).map_err(|e| AppError::field("name", e))?),
        None => None,
    };
    let query = match body.query.as_deref() {
        Some(query) => Some(check_query(&app, &actor, current.resource, query).await?),
        None => None,
    };
    let changes = ViewChanges {
        name,
        query,
        is_default: body.is_default,
    };
    Ok(Json(
        store::update(&app.store, &actor, current.id, &changes).await?,
    ))
}

/// Delete one of the caller's views (API and the views bar); the answer is the deleted view.
pub async fn delete_view(app: &AppState, actor: &Actor, id: &str) -> Result<SavedView, AppError> {
    let view = get_view(app, actor, id).await?;
    store::delete(&app.store, actor, view.id).await?;
    Ok(view)
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    delete_view(&app, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
