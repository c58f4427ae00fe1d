//! Duplicate scan and groups (issue 13 §2): `POST /duplicates/scan` queues a background job
//! (kind [`SCAN_JOB`], run by `crate::worker`) that walks one entity of the caller's company and
//! replaces its open groups; its progress is the job's (`GET /jobs/{id}`). `GET
//! /duplicates/groups` pages through the groups, `GET /duplicates/groups/{id}` shows one,
//! `POST /duplicates/groups/{id}/dismiss` sets one aside. What the routes may do depends on
//! the entity named: the router lets through a caller with the permission on any of the three
//! ([`READ`], [`UPDATE`]) and the store checks the entity's (scan and dismiss: update;
//! reading: read).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::duplicate_groups::{DuplicateEntity, GroupStatus};
use rivet_domain::{Action, Actor, Resource};
use rivet_store::Page;
use rivet_store::duplicate_groups::{self, DuplicateGroup};
use rivet_store::jobs::{self, Job, NewJob};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

/// The job kind of a scan.
pub const SCAN_JOB: &str = "duplicates.scan";

/// Who may read duplicate groups at all: a caller who may read leads, contacts or accounts.
pub const READ: Access = Access::AnyOf(&[
    (Resource::Leads, Action::Read),
    (Resource::Contacts, Action::Read),
    (Resource::Accounts, Action::Read),
]);

/// Who may scan for duplicates or dismiss a group at all: a caller who may update leads,
/// contacts or accounts.
pub const UPDATE: Access = Access::AnyOf(&[
    (Resource::Leads, Action::Update),
    (Resource::Contacts, Action::Update),
    (Resource::Accounts, Action::Update),
]);

/// What to scan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    pub entity: DuplicateEntity,
}

/// Which groups to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GroupsQuery {
    /// leads, contacts or accounts.
    #[param(inline)]
    pub entity: DuplicateEntity,
    /// open (the default) or dismissed.
    #[param(inline)]
    pub status: Option<GroupStatus>,
    /// 1 to 500, 50 when left out.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// Left out of the document like every list's: opaque, only ever copied from a page's
    /// `next_cursor`, and any other value is a 400.
    #[param(ignore)]
    pub cursor: Option<String>,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            post("/duplicates/scan", UPDATE)
                .doc(
                    "duplicates",
                    "Scan every lead, contact or account of the company for duplicates, as a \
                     background job (needs update on the entity): the same rules as the live \
                     check (for accounts: the same normalized name or registrable domain), \
                     the groups replacing the previous scan's open ones (dismissed groups stay \
                     dismissed). Answers the queued job; follow it at GET /jobs/{id} \
                     (progress, and the counts in its result)",
                )
                .body::<ScanBody>()
                .returns::<Job>()
                .status(202),
            scan,
        )
        .add(
            get("/duplicates/groups", READ)
                .doc(
                    "duplicates",
                    "The duplicate groups of the last scan of an entity (needs read on it), \
                     surest first, each with its rule, score and the members the caller may \
                     read (a group with fewer than two left is not listed)",
                )
                .query::<GroupsQuery>()
                .returns_all::<DuplicateGroup>(),
            list,
        )
        .add(
            get("/duplicates/groups/{id}", READ)
                .doc(
                    "duplicates",
                    "One duplicate group with the members the caller may read",
                )
                .returns::<DuplicateGroup>(),
            show,
        )
        .add(
            post("/duplicates/groups/{id}/dismiss", UPDATE)
                .doc(
                    "duplicates",
                    "Set a group aside as not duplicates (needs update on its entity): it \
                     leaves the open list, and later scans do not bring the same members back",
                )
                .returns::<DuplicateGroup>(),
            dismiss,
        )
}

/// Queue a scan of `entity` for the caller (API and web page alike).
pub async fn queue_scan(
    app: &AppState,
    actor: &Actor,
    entity: DuplicateEntity,
) -> Result<Job, AppError> {
    if !actor.can(entity.resource(), Action::Update) {
        return Err(AppError::forbidden());
    }
    let job = NewJob::new(
        SCAN_JOB,
        json!({ "entity": entity, "user_id": actor.user_id }),
    )
    .for_company(actor.company_id)
    .max_attempts(3);
    let id = jobs::enqueue_now(&app.store, job).await?;
    Ok(jobs::get(&app.store, actor, id).await?)
}

async fn scan(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<ScanBody>,
) -> Result<(StatusCode, Json<Job>), AppError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(queue_scan(&app, &actor, body.entity).await?),
    ))
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<GroupsQuery>,
) -> Result<Json<Page<DuplicateGroup>>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        duplicate_groups::list(
            &app.store,
            &actor,
            query.entity,
            query.status.unwrap_or(GroupStatus::Open),
            page,
        )
        .await?,
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<DuplicateGroup>, AppError> {
    Ok(Json(
        duplicate_groups::get(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

async fn dismiss(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<DuplicateGroup>, AppError> {
    Ok(Json(
        duplicate_groups::dismiss(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Run a scan job: as the member who asked for it, with their permissions now.
pub async fn run_scan(
    app: &AppState,
    job: &Job,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<Value, String> {
    let entity: DuplicateEntity = job.payload["entity"]
        .as_str()
        .and_then(|e| e.parse().ok())
        .ok_or("the job names no entity leads, contacts or accounts")?;
    let actor = rivet_store::jobs::member(&app.store, job)
        .await
        .map_err(|e| format!("reading the member who asked: {e}"))?
        .ok_or("the member who asked for the scan is no longer active")?;
    let report = duplicate_groups::scan(&app.store, &actor, entity, Some(job.id), progress)
        .await
        .map_err(|e| format!("scanning {entity}: {e}"))?;
    Ok(json!(report))
}
