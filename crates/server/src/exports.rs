//! The export job use case (issue 13 §4): a record list too large to wait for is written to a
//! file by a job and kept for download. Asking checks the list's query at once (a bad filter is
//! the list's own 400, and nothing is queued) and queues the job in the same transaction as the
//! export; the job writes the file with the same writer that streams `GET /exports`
//! (`api::export::write`), in the scope of the member who asked, a page of rows at a time, and
//! keeps it as pieces of [`CHUNK`] bytes (`rivet_store::exports`), so neither the job nor a
//! download holds more than a piece in memory (an XLSX file, a zip written at the end, is
//! built whole first, as `GET /exports` does). Files expire after the configured days
//! (`RIVET_EXPORT_RETENTION_DAYS`) and the daily maintenance removes them. The API, the web
//! pages and the job call these same functions.

use crate::api::record::{ApiRecord, check_export, export_file};
use crate::http::error::AppError;
use crate::http::router::Access;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use rivet_domain::exports::{ExportEntity, ExportFormat, ExportStatus};
use rivet_domain::{Action, Actor, Resource};
use rivet_store::accounts::Account;
use rivet_store::activities::Activity;
use rivet_store::contacts::Contact;
use rivet_store::deals::Deal;
use rivet_store::exports::{self as store, Export, Finish, NewExport};
use rivet_store::leads::Lead;
use rivet_store::tasks::Task;
use rivet_store::{StoreError, jobs};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// The job that writes an export's file.
pub const RUN_JOB: &str = "export.run";

/// The size of the pieces a file is kept in.
pub const CHUNK: usize = 1 << 20;

/// Query parameters that are the export's own, not the list's.
const OWN_PARAMS: &[&str] = &["entity", "format", "view", "limit", "cursor"];

/// Work on the list an export names, for its record type.
pub trait ForList: Send {
    type Output: Send;
    fn run<R: ApiRecord>(self) -> impl Future<Output = Result<Self::Output, AppError>> + Send;
}

/// Who may reach the export routes and pages at all: a caller who may read one of the lists an
/// export writes. Each route then checks the export's own entity ([`for_list`]).
pub const ACCESS: Access = Access::AnyOf(&[
    (Resource::Leads, Action::Read),
    (Resource::Accounts, Action::Read),
    (Resource::Contacts, Action::Read),
    (Resource::Deals, Action::Read),
    (Resource::Tasks, Action::Read),
    (Resource::Activities, Action::Read),
]);

/// `work` on the list `entity` names, which `actor` must be allowed to read (403 otherwise).
pub async fn for_list<W: ForList>(
    actor: &Actor,
    entity: ExportEntity,
    work: W,
) -> Result<W::Output, AppError> {
    async fn of<R: ApiRecord, W: ForList>(actor: &Actor, work: W) -> Result<W::Output, AppError> {
        Access::Allow(R::RESOURCE, Action::Read).check(Some(actor))?;
        work.run::<R>().await
    }
    match entity {
        ExportEntity::Leads => of::<Lead, W>(actor, work).await,
        ExportEntity::Accounts => of::<Account, W>(actor, work).await,
        ExportEntity::Contacts => of::<Contact, W>(actor, work).await,
        ExportEntity::Deals => of::<Deal, W>(actor, work).await,
        ExportEntity::Tasks => of::<Task, W>(actor, work).await,
        ExportEntity::Activities => of::<Activity, W>(actor, work).await,
    }
}

/// The file of a list for its query string ([`export_file`]).
pub struct WriteFile<'a> {
    pub app: &'a AppState,
    pub actor: &'a Actor,
    pub pairs: Vec<(String, String)>,
}

impl ForList for WriteFile<'_> {
    type Output = crate::api::export::File;
    async fn run<R: ApiRecord>(self) -> Result<Self::Output, AppError> {
        export_file::<R>(self.app, self.actor, self.pairs).await
    }
}

/// The check of a list's query string for an export ([`check_export`]).
pub struct CheckQuery<'a> {
    pub app: &'a AppState,
    pub actor: &'a Actor,
    pub pairs: Vec<(String, String)>,
}

impl ForList for CheckQuery<'_> {
    type Output = ();
    async fn run<R: ApiRecord>(self) -> Result<(), AppError> {
        check_export::<R>(self.app, self.actor, self.pairs).await
    }
}

/// What `POST /exports` asks for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub entity: ExportEntity,
    /// `csv` (the default) or `xlsx`.
    #[serde(default)]
    pub format: Option<ExportFormat>,
    /// A saved view of the same list, whose query `query` refines.
    #[serde(default)]
    pub view: Option<Uuid>,
    /// The list's filters and sort as its query string has them (`{"status": "new",
    /// "sort": "-created_at"}`); a parameter given more than once is a list of texts.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub query: Map<String, Value>,
}

/// An export made by a job, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportJob {
    #[serde(flatten)]
    pub export: Export,
    /// Where the file is downloaded from, once the export has completed (until it expires).
    pub download_url: Option<String>,
}

impl ExportJob {
    fn of(export: Export) -> Self {
        let ready = export.is_ready(chrono::Utc::now());
        Self {
            download_url: ready.then(|| format!("/api/v1/exports/{}/file", export.id)),
            export,
        }
    }
}

/// The request's query object as pairs; a value that is not text (or a list of texts), or a
/// parameter that is the export's own, is a 422 naming it.
fn query_pairs(query: &Map<String, Value>) -> Result<Vec<(String, String)>, AppError> {
    let mut errors = rivet_domain::FieldErrors::new();
    let mut pairs = Vec::new();
    let text = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    for (key, value) in query {
        let field = format!("query.{key}");
        if OWN_PARAMS.contains(&key.as_str()) {
            errors.add(
                &field,
                "is the export's own: entity, format and view are fields of the body, and an \
                 export holds the whole list",
            );
            continue;
        }
        let values: Option<Vec<String>> = match value {
            Value::Array(items) => items.iter().map(text).collect(),
            one => text(one).map(|t| vec![t]),
        };
        match values {
            Some(values) => pairs.extend(values.into_iter().map(|v| (key.clone(), v))),
            None => errors.add(&field, "must be a text, a number, or a list of them"),
        }
    }
    errors.into_result()?;
    Ok(pairs)
}

/// Everything the file is written from: the list's query, the view and the format.
fn file_pairs(export: &Export) -> Vec<(String, String)> {
    let mut pairs = export.pairs();
    pairs.push(("format".into(), export.format.as_str().into()));
    pairs
}

/// Ask for an export: the list's query is checked now (the caller needs read on the list), then
/// the export is kept and its job queued, in one transaction.
pub async fn create(
    app: &AppState,
    actor: &Actor,
    request: ExportRequest,
) -> Result<ExportJob, AppError> {
    let query = query_pairs(&request.query)?;
    let format = request.format.unwrap_or(ExportFormat::Csv);
    let mut checked = query.clone();
    checked.extend(request.view.map(|v| ("view".to_owned(), v.to_string())));
    let work = CheckQuery {
        app,
        actor,
        pairs: checked,
    };
    for_list(actor, request.entity, work).await?;
    let at = chrono::Utc::now();
    let new = NewExport {
        entity: request.entity,
        format,
        view: request.view,
        query,
        file_name: format!(
            "{}-{}.{}",
            request.entity,
            at.format("%Y-%m-%d"),
            format.extension()
        ),
        expires_at: expiry(app, at),
    };
    let user = actor.user_id;
    let company = actor.company_id;
    let export = store::create(&app.store, actor, new, |id| {
        jobs::NewJob::new(RUN_JOB, json!({"export_id": id, "user_id": user}))
            .for_company(company)
            .max_attempts(3)
    })
    .await?;
    Ok(ExportJob::of(export))
}

/// When a file made at `at` expires.
fn expiry(app: &AppState, at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    at + chrono::Duration::days(i64::from(app.config.export_retention_days))
}

/// The caller's newest exports (an admin's: everyone's).
pub async fn list(app: &AppState, actor: &Actor) -> Result<Vec<ExportJob>, AppError> {
    Ok(store::list(&app.store, actor, 100)
        .await?
        .into_iter()
        .map(ExportJob::of)
        .collect())
}

/// One export the caller sees.
pub async fn get(app: &AppState, actor: &Actor, id: Uuid) -> Result<ExportJob, AppError> {
    Ok(ExportJob::of(store::get(&app.store, actor, id).await?))
}

/// The file of a completed export, streamed a piece at a time: 409 before it has completed,
/// 404 once it has expired.
pub async fn download(app: &AppState, actor: &Actor, id: Uuid) -> Result<Response, AppError> {
    let export = store::get(&app.store, actor, id).await?;
    if export.status != ExportStatus::Completed {
        return Err(AppError::Conflict {
            field: "status".into(),
            message: format!(
                "is {}; the file can be downloaded once the export has completed",
                export.status
            ),
        });
    }
    if !export.is_ready(chrono::Utc::now()) {
        return Err(AppError::NotFound);
    }
    let (app, actor) = (app.clone(), actor.clone());
    let pieces = futures_util::stream::try_unfold(0i64, move |seq| {
        let (app, actor) = (app.clone(), actor.clone());
        async move {
            let piece = store::chunk(&app.store, &actor, id, seq).await?;
            Ok::<_, AppError>(piece.map(|bytes| (Bytes::from(bytes), seq + 1)))
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, export.format.media_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                crate::api::export::attachment(&export.file_name),
            ),
            (header::CONTENT_LENGTH, export.size.to_string()),
        ],
        Body::from_stream(pieces),
    )
        .into_response())
}

/// Cancel a queued or running export (its job stops before its next piece).
pub async fn cancel(app: &AppState, actor: &Actor, id: Uuid) -> Result<ExportJob, AppError> {
    let export = store::cancel(&app.store, actor, id).await?;
    if let Some(job) = export.job_id {
        // The job may have finished meanwhile; the export's status is what counts.
        if let Err(e) = jobs::cancel(&app.store, actor, job).await {
            tracing::debug!(%job, error = %e, "export job not cancelled");
        }
    }
    Ok(ExportJob::of(export))
}

/// Delete an export and its file.
pub async fn delete(app: &AppState, actor: &Actor, id: Uuid) -> Result<(), AppError> {
    Ok(store::delete(&app.store, actor, id).await?)
}

/// Write an export's file (the job's work): `progress` hears the rows written after each
/// piece. Ends completed, failed (the error kept on the export), or as it was cancelled or
/// deleted meanwhile.
pub async fn run(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    progress: &(dyn Fn(i64) + Send + Sync),
) -> Result<Option<Export>, AppError> {
    let Some(export) = store::start(&app.store, actor, id).await? else {
        return Ok(None);
    };
    let how = match write_pieces(app, actor, &export, progress).await {
        Ok(Some(rows)) => Finish::Completed {
            rows,
            expires_at: expiry(app, chrono::Utc::now()),
        },
        Ok(None) => return Ok(None),
        Err(e) => {
            let message = e.to_string();
            return match store::finish(&app.store, actor, id, Finish::Failed(&message)).await {
                Ok(export) => Ok(Some(export)),
                Err(StoreError::Conflict { .. } | StoreError::NotFound) => Ok(None),
                Err(stored) => Err(stored.into()),
            };
        }
    };
    match store::finish(&app.store, actor, id, how).await {
        Ok(export) => Ok(Some(export)),
        // Cancelled or deleted in the meantime.
        Err(StoreError::Conflict { .. } | StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The file written as pieces; `Some(rows)` once whole, `None` when the export stopped running.
async fn write_pieces(
    app: &AppState,
    actor: &Actor,
    export: &Export,
    progress: &(dyn Fn(i64) + Send + Sync),
) -> Result<Option<i64>, AppError> {
    let work = WriteFile {
        app,
        actor,
        pairs: file_pairs(export),
    };
    let mut file = for_list(actor, export.entity, work).await?;
    let mut piece: Vec<u8> = Vec::with_capacity(CHUNK);
    let (mut seq, mut size) = (0i64, 0i64);
    let mut ended = false;
    while !ended {
        let next = file.body.next().await.transpose()?;
        match next {
            Some(bytes) => piece.extend_from_slice(&bytes),
            None => ended = true,
        }
        // Full pieces go as soon as they are; the last one (the header at least) at the end.
        while piece.len() >= CHUNK || (ended && (!piece.is_empty() || seq == 0)) {
            let rest = piece.split_off(piece.len().min(CHUNK));
            let full = std::mem::replace(&mut piece, rest);
            size += full.len() as i64;
            let rows = file.rows.load(Ordering::Relaxed);
            if !store::append(&app.store, actor, export.id, (seq, full), (rows, size)).await? {
                return Ok(None);
            }
            progress(rows);
            seq += 1;
        }
    }
    Ok(Some(file.rows.load(Ordering::Relaxed)))
}

/// An export job's export and the member it runs for (`None`: no longer an active member).
pub async fn job_actor(
    app: &AppState,
    job: &rivet_store::jobs::Job,
) -> Result<(Option<Actor>, Uuid), String> {
    let id = job.payload_id("export_id")?;
    let actor = rivet_store::jobs::member(&app.store, job)
        .await
        .map_err(|e| e.to_string())?;
    Ok((actor, id))
}

/// The export of `job` fails with `reason` rather than wait until it expires: its member is no
/// longer active (nothing can be read in their scope), or the job died.
pub async fn abandon(
    app: &AppState,
    job: &rivet_store::jobs::Job,
    id: Uuid,
    reason: &str,
) -> Result<(), String> {
    let company = job.company_id.ok_or("an export job belongs to a company")?;
    store::abandon(&app.store, company, id, reason)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
