//! `/jobs`: the durable queue as an administrator sees it — list and filter, one job, counts,
//! and the two things a person does to a job: cancel it, or retry a dead or cancelled one.
//! The queue itself is `rivet_store::jobs`; running jobs is the worker's (`crate::worker`).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::jobs::JobState;
use rivet_domain::{Action, Resource};
use rivet_store::Page;
use rivet_store::jobs::{self, Job, JobFilter, JobStats};
use serde::Deserialize;

const READ: Access = Access::Allow(Resource::Jobs, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Jobs, Action::Update);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/jobs", READ)
                .doc("jobs", "List jobs, newest first (filter by state and kind)")
                .returns_page::<Job>(),
            list,
        )
        .add(
            get("/jobs/stats", READ)
                .doc("jobs", "Job counts by state and by kind")
                .returns::<JobStats>(),
            stats,
        )
        .add(
            get("/jobs/{id}", READ)
                .doc("jobs", "One job")
                .returns::<Job>(),
            show,
        )
        .add(
            post("/jobs/{id}/retry", UPDATE)
                .doc(
                    "jobs",
                    "Queue a dead or cancelled job again, with fresh attempts",
                )
                .returns::<Job>(),
            retry,
        )
        .add(
            post("/jobs/{id}/cancel", UPDATE)
                .doc(
                    "jobs",
                    "Cancel a queued or running job (a running one stops at its next heartbeat)",
                )
                .returns::<Job>(),
            cancel,
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The filter this query asks for; an unknown state is a 400 naming the allowed ones.
    pub fn filter(&self) -> Result<JobFilter, AppError> {
        let state = match self.state.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => Some(
                text.parse::<JobState>()
                    .map_err(|e| AppError::BadRequest(format!("state {e}")))?,
            ),
            None => None,
        };
        Ok(JobFilter {
            state,
            kind: self.kind.clone().filter(|k| !k.is_empty()),
        })
    }
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<Job>>, AppError> {
    let filter = query.filter()?;
    let page = page_request(query.limit, query.cursor.as_deref())?;
    Ok(Json(jobs::list(&app.store, &actor, &filter, page).await?))
}

async fn stats(State(app): State<AppState>, Auth(actor): Auth) -> Result<Json<JobStats>, AppError> {
    Ok(Json(jobs::stats(&app.store, &actor).await?))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Job>, AppError> {
    Ok(Json(jobs::get(&app.store, &actor, parse_id(&id)?).await?))
}

async fn retry(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Job>, AppError> {
    Ok(Json(jobs::retry(&app.store, &actor, parse_id(&id)?).await?))
}

async fn cancel(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Job>, AppError> {
    Ok(Json(
        jobs::cancel(&app.store, &actor, parse_id(&id)?).await?,
    ))
}
