//! `/api/v1/imports` (issue 13 §4): upload a CSV or XLSX file of leads, contacts, accounts or
//! deals, see what was detected and the suggested mapping, set the mapping and options,
//! validate without saving, run it as a job (progress on the import), cancel, download the row
//! errors as CSV, and undo. The work is `crate::imports`'s; an import needs create on its
//! records (update too for the `update` duplicate policy, delete to undo), checked there, and
//! another member's import of records the caller may not create is not found.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{ApiRouter, get, patch, post};
use crate::imports::{self, Uploaded, Validation};
use crate::state::AppState;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rivet_domain::Action;
use rivet_domain::imports::{ImportEntity, ImportOptions};
use rivet_store::Page;
use rivet_store::imports::{self as store, Import};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The parts of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    /// leads, contacts, accounts or deals.
    entity: ImportEntity,
    /// The CSV (UTF-8, Windows-1252 or UTF-16; `,` `;` tab or `|` delimited, a header row first)
    /// or XLSX file (its first sheet).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// What `PATCH /imports/{id}` changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportPatch {
    /// Column header → field (`cf.<key>` for a custom field); a column left out or `null` is
    /// not imported. Replaces the whole mapping.
    pub mapping: Option<BTreeMap<String, Option<String>>>,
    pub options: Option<ImportOptions>,
}

pub fn routes() -> ApiRouter {
    let tag = "imports";
    ApiRouter::new()
        .add(
            post("/imports", crate::imports::ACCESS)
                .doc(
                    tag,
                    "Upload a CSV or XLSX file to import (multipart: `entity` and `file`, up to \
                     the configured size, 50 MB by default): answers the import with the \
                     encoding, delimiter and header detected, a suggested mapping and a preview \
                     of the first rows. Needs create on the entity. A file that cannot be read \
                     (empty, a header only, unbalanced quotes, ragged rows, not text, a cell \
                     over 65,536 characters, not a workbook) is a 422 on `file` saying why; a \
                     larger one a 413",
                )
                .upload::<ImportUpload>()
                .returns::<Uploaded>()
                .status(201),
            upload.layer(DefaultBodyLimit::disable()),
        )
        .add(
            get("/imports", crate::imports::ACCESS)
                .doc(
                    tag,
                    "The newest 100 imports of the company into the records the caller may \
                     create",
                )
                .returns_all::<Import>(),
            list,
        )
        .add(
            get("/imports/{id}", crate::imports::ACCESS)
                .doc(
                    tag,
                    "One import, with its progress and a preview of its rows",
                )
                .returns::<Uploaded>(),
            show,
        )
        .add(
            patch("/imports/{id}", crate::imports::ACCESS)
                .doc(
                    tag,
                    "Set an import's mapping (column header → field; a target that is no field \
                     of the record is a 422 naming the column) and options (duplicate_policy \
                     skip, update or create; assignment; default_owner; tags); not while it runs",
                )
                .body::<ImportPatch>()
                .returns::<Import>(),
            configure,
        )
        .add(
            post("/imports/{id}/validate", crate::imports::ACCESS)
                .doc(
                    tag,
                    "Dry run: check every row as a run would, saving nothing, and answer the \
                     rows' errors",
                )
                .returns::<Validation>(),
            validate,
        )
        .add(
            post("/imports/{id}/run", crate::imports::ACCESS)
                .doc(
                    tag,
                    "Run the import as a background job: the import shows its progress (rows \
                     done of total, created, updated, skipped, failed). A failing row does not \
                     stop the others; running it again imports only the rows not done yet",
                )
                .returns::<Import>()
                .status(202),
            run,
        )
        .add(
            post("/imports/{id}/cancel", crate::imports::ACCESS)
                .doc(
                    tag,
                    "Cancel a queued or running import: it stops before its next batch of \
                     rows; what was saved stays (undo removes it)",
                )
                .returns::<Import>(),
            cancel,
        )
        .add(
            post("/imports/{id}/undo", crate::imports::ACCESS)
                .doc(
                    tag,
                    "Delete, as a background job, every record the import created (needs \
                     delete on the entity); each deletion is audited",
                )
                .returns::<Import>()
                .status(202),
            undo,
        )
        .add(
            get("/imports/{id}/errors.csv", crate::imports::ACCESS)
                .doc(tag, "The rows that failed, as CSV: line, field, message")
                .returns_file(&["text/csv"]),
            errors_csv,
        )
}

fn id_of(id: &str) -> Result<uuid::Uuid, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// The upload's parts, the file counted against the configured limit as it arrives.
async fn upload(
    State(app): State<AppState>,
    Auth(actor): Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Uploaded>), AppError> {
    // Anything but a multipart body (JSON, a form) is the wrong media type for an upload.
    let mut multipart = multipart.map_err(|e| match e {
        MultipartRejection::InvalidBoundary(_) => AppError::UnsupportedMediaType,
        other => AppError::BadRequest(other.body_text()),
    })?;
    let limit = app.config.import_max_bytes;
    let mut entity = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    let bad = |e: axum::extract::multipart::MultipartError| AppError::BadRequest(e.body_text());
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("entity") => {
                let text = field.text().await.map_err(bad)?;
                entity = Some(
                    text.trim()
                        .parse::<ImportEntity>()
                        .map_err(|e| AppError::field("entity", e))?,
                );
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_owned();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if bytes.len() + chunk.len() > limit {
                        return Err(AppError::PayloadTooLarge);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, bytes));
            }
            Some(other) => {
                return Err(AppError::BadRequest(format!(
                    "unknown part {other:?}: an upload has the parts entity and file"
                )));
            }
            None => return Err(AppError::BadRequest("a part has no name".into())),
        }
    }
    let Some(entity) = entity else {
        return Err(AppError::field("entity", "is required"));
    };
    let Some((name, bytes)) = file else {
        return Err(AppError::field("file", "is required"));
    };
    let uploaded = imports::upload(&app, &actor, entity, &name, bytes).await?;
    Ok((StatusCode::CREATED, Json(uploaded)))
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<Import>>, AppError> {
    let entities: Vec<ImportEntity> = ImportEntity::ALL
        .iter()
        .copied()
        .filter(|e| imports::check(&actor, *e, Action::Create).is_ok())
        .collect();
    Ok(Json(Page {
        data: store::list(&app.store, &actor, &entities, 100).await?,
        next_cursor: None,
    }))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Uploaded>, AppError> {
    let import = imports::visible(&app, &actor, id_of(&id)?).await?;
    let preview = imports::preview_of(&app, &actor, &import).await?;
    Ok(Json(Uploaded { import, preview }))
}

async fn configure(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<ImportPatch>,
) -> Result<Json<Import>, AppError> {
    Ok(Json(
        imports::configure(&app, &actor, id_of(&id)?, body.mapping, body.options).await?,
    ))
}

async fn validate(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Validation>, AppError> {
    Ok(Json(imports::validate(&app, &actor, id_of(&id)?).await?))
}

async fn run(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Import>), AppError> {
    let import = imports::start_run(&app, &actor, id_of(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(import)))
}

async fn cancel(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Import>, AppError> {
    Ok(Json(imports::cancel(&app, &actor, id_of(&id)?).await?))
}

async fn undo(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Import>), AppError> {
    let import = imports::start_undo(&app, &actor, id_of(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(import)))
}

async fn errors_csv(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let import = imports::visible(&app, &actor, id_of(&id)?).await?;
    let errors = store::errors(&app.store, &actor, import.id).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Internal(e.into());
    out.write_record(["line", "field", "message"])
        .map_err(fail)?;
    for e in errors {
        out.write_record([e.line.to_string(), e.field, e.message])
            .map_err(fail)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"import-{}-errors.csv\"", import.id),
            ),
        ],
        body,
    )
        .into_response())
}
