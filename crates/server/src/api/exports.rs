//! Exports by the list's name. `GET /api/v1/exports?entity=…` streams a record list's file
//! at once, for clients that pick the list at run time and for `rivet export`; `POST
//! /api/v1/exports` has a job write it instead (a large list), kept for download:
//! `GET /exports/{id}` (status, rows, size), `GET /exports/{id}/file`, `POST
//! /exports/{id}/cancel`, `DELETE /exports/{id}`, and `GET /export-jobs`, the caller's exports
//! (`GET /exports` being the stream). The file is `api::export`'s, read through the record
//! type's own export (`crate::exports::for_list`); the job is `crate::exports`'s too.

use crate::exports::{self, ExportJob, ExportRequest, WriteFile, for_list};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query};
use crate::http::router::{ApiRouter, delete, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::Actor;
use rivet_domain::exports::ExportEntity;
use rivet_store::Page;

/// `GET /exports?entity=leads&…`: the export of the list `entity` names, which the caller must
/// be allowed to read.
async fn export_entity(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(mut pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let entity = pairs
        .iter()
        .position(|(k, _)| k == "entity")
        .map(|i| pairs.remove(i).1)
        .unwrap_or_default();
    export_named(app, actor, &entity, pairs).await
}

/// The export of the list `entity` (`leads`, …) for `actor`, who must be allowed to read it.
pub async fn export_named(
    app: AppState,
    actor: Actor,
    entity: &str,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let entity: ExportEntity = entity.parse().map_err(|_| {
        AppError::BadRequest(
            "entity must be one of leads, accounts, contacts, deals, tasks, activities".into(),
        )
    })?;
    let work = WriteFile {
        app: &app,
        actor: &actor,
        pairs,
    };
    Ok(super::export::respond(
        for_list(&actor, entity, work).await?,
    ))
}

/// What `GET /exports` reads besides the list's filters and sort.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityParams {
    /// The list to export.
    #[param(inline)]
    pub entity: ExportEntity,
}

fn id_of(id: &str) -> Result<uuid::Uuid, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<ExportRequest>,
) -> Result<(StatusCode, Json<ExportJob>), AppError> {
    let export = exports::create(&app, &actor, body).await?;
    Ok((StatusCode::ACCEPTED, Json(export)))
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<ExportJob>>, AppError> {
    Ok(Json(Page {
        data: exports::list(&app, &actor).await?,
        next_cursor: None,
    }))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<ExportJob>, AppError> {
    Ok(Json(exports::get(&app, &actor, id_of(&id)?).await?))
}

async fn file(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    exports::download(&app, &actor, id_of(&id)?).await
}

async fn cancel(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<ExportJob>, AppError> {
    Ok(Json(exports::cancel(&app, &actor, id_of(&id)?).await?))
}

async fn destroy(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    exports::delete(&app, &actor, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> ApiRouter {
    let tag = "exports";
    ApiRouter::new()
        .add(
            get("/exports", crate::exports::ACCESS)
                .doc(
                    tag,
                    "Export a record list as CSV or XLSX: `entity` names the list (the caller needs \
                     read on it), the other parameters are that list's filters and sort, `view` a \
                     saved view of it; the same as `GET /{entity}/export`",
                )
                .query::<EntityParams>()
                .query::<super::export::ExportParams>()
                .returns_file(super::export::MEDIA_TYPES),
            export_entity,
        )
        .add(
            post("/exports", crate::exports::ACCESS)
                .doc(
                    tag,
                    "Export a record list as a background job, for lists too large to wait for: \
                     `entity` names the list (the caller needs read on it), `query` its filters \
                     and sort as the list's query string has them, `view` a saved view of it. \
                     The query is checked now (a bad one is the list's 400 and nothing is \
                     queued); the job writes the file in the caller's scope. Answers the export \
                     (`queued`); once `completed`, `download_url` gives the file until it \
                     expires (7 days by default)",
                )
                .body::<ExportRequest>()
                .returns::<ExportJob>()
                .status(202),
            create,
        )
        .add(
            get("/export-jobs", crate::exports::ACCESS)
                .doc(
                    tag,
                    "The caller's newest 100 exports made by jobs (an admin, who reads the \
                     company's audit trail, sees every member's)",
                )
                .returns_all::<ExportJob>(),
            list,
        )
        .add(
            get("/exports/{id}", crate::exports::ACCESS)
                .doc(tag, "One export made by a job: status, rows and size written")
                .returns::<ExportJob>(),
            show,
        )
        .add(
            get("/exports/{id}/file", crate::exports::ACCESS)
                .doc(
                    tag,
                    "The file of a completed export (409 until it has completed; 404 once it \
                     has expired)",
                )
                .returns_file(super::export::MEDIA_TYPES)
                .conflicts(),
            file,
        )
        .add(
            post("/exports/{id}/cancel", crate::exports::ACCESS)
                .doc(
                    tag,
                    "Cancel a queued or running export: its job stops and what it wrote is \
                     removed",
                )
                .returns::<ExportJob>(),
            cancel,
        )
        .add(
            delete("/exports/{id}", crate::exports::ACCESS)
                .doc(
                    tag,
                    "Delete an export and its file (a running job stops)",
                )
                .status(204),
            destroy,
        )
}
