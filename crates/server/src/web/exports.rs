//! The Exports page (issue 13 §4): the caller's exports made by jobs (an admin's: everyone's),
//! each with its status, rows, size and expiry, a download link once written, a cancel while
//! it runs and a delete. While one is queued or running the page reloads itself every few
//! seconds (a `refresh` meta tag, so it is right without a script). Every list's header has an
//! "Export in the background" form that posts the list's query here (`POST /exports`). Every
//! action calls `crate::exports`, as the API does.

use super::view::{Ctx, Layout, OrPage, WebError, WebForm, ago};
use crate::exports::{self, ExportJob, ExportRequest};
use crate::http::error::AppError;
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::exports::ExportStatus;
use serde::Deserialize;
use uuid::Uuid;

/// Seconds between the page's reloads while an export is being written.
const REFRESH_SECS: u32 = 3;

pub struct ExportRow {
    pub id: Uuid,
    pub file_name: String,
    pub entity: &'static str,
    pub format: &'static str,
    pub status: &'static str,
    pub busy: bool,
    pub rows: i64,
    pub size: String,
    pub error: Option<String>,
    pub download: Option<String>,
    pub when: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "web/exports.html")]
struct IndexPage {
    layout: Layout,
    exports: Vec<ExportRow>,
    /// Reload the page after this many seconds (an export is being written).
    refresh: Option<u32>,
}

/// `1.2 MB`, `340 kB`, `12 B`.
fn size_text(bytes: i64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1_000_000.0),
        b if b >= 1_000 => format!("{} kB", b / 1_000),
        b => format!("{b} B"),
    }
}

fn row(job: ExportJob) -> ExportRow {
    let export = job.export;
    ExportRow {
        id: export.id,
        file_name: export.file_name,
        entity: export.entity.as_str(),
        format: export.format.as_str(),
        status: export.status.as_str(),
        busy: export.status.is_busy(),
        rows: export.rows,
        size: size_text(export.size),
        error: export.error,
        download: job.download_url,
        when: ago(&export.created_at),
        expires: if export.status == ExportStatus::Completed {
            export.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()
        } else {
            String::new()
        },
    }
}

/// `GET /exports`.
pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let list = exports::list(&ctx.app, &ctx.actor).await.or_page(&ctx)?;
    let exports: Vec<ExportRow> = list.into_iter().map(row).collect();
    let page = IndexPage {
        layout: ctx.layout("Exports"),
        refresh: exports.iter().any(|e| e.busy).then_some(REFRESH_SECS),
        exports,
    };
    Ok(ctx.render(&page))
}

/// What a list's "Export in the background" form posts.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NewExportForm {
    entity: String,
    format: String,
    /// The list's query string (its filters and sort, a saved view's `view`).
    query: String,
    /// The list page to go back to when the export is refused.
    back: String,
}

/// `POST /exports`: queue an export of a list, then follow it on the Exports page.
pub async fn create(ctx: Ctx, WebForm(form): WebForm<NewExportForm>) -> Result<Response, WebError> {
    let back = super::view::safe_next(&form.back);
    let (views, pairs): (Vec<_>, Vec<_>) = url::form_urlencoded::parse(form.query.as_bytes())
        .into_owned()
        .partition(|(k, _)| k == "view");
    let view = views.first().and_then(|(_, v)| v.parse().ok());
    // A parameter given more than once is a list of its values, as the API takes it.
    let query = rivet_store::exports::query_object(&pairs);
    let request = match (form.entity.parse(), form.format.parse()) {
        (Ok(entity), Ok(format)) => ExportRequest {
            entity,
            format: Some(format),
            view,
            query,
        },
        _ => return Err(ctx.fail(AppError::BadRequest("the export form is not valid".into()))),
    };
    match exports::create(&ctx.app, &ctx.actor, request).await {
        Ok(_) => Ok(ctx.done(
            "/exports",
            "The export is being written; it will be ready to download here.",
        )),
        Err(AppError::Forbidden(message)) => Err(ctx.fail(AppError::Forbidden(message))),
        Err(e) => Ok(ctx.refused(&back, e.to_string())),
    }
}

fn id_of(ctx: &Ctx, id: &str) -> Result<Uuid, WebError> {
    id.parse().map_err(|_| ctx.fail(AppError::NotFound))
}

/// `POST /exports/{id}/cancel`.
pub async fn cancel(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = id_of(&ctx, &id)?;
    match exports::cancel(&ctx.app, &ctx.actor, id).await {
        Ok(_) => Ok(ctx.done("/exports", "The export was cancelled.")),
        Err(AppError::NotFound) => Err(ctx.fail(AppError::NotFound)),
        Err(e) => Ok(ctx.refused("/exports", e.to_string())),
    }
}

/// `POST /exports/{id}/delete`.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = id_of(&ctx, &id)?;
    exports::delete(&ctx.app, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done("/exports", "The export was deleted."))
}

#[cfg(test)]
mod tests {
    use super::size_text;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(12), "12 B");
        assert_eq!(size_text(34_567), "34 kB");
        assert_eq!(size_text(1_250_000), "1.2 MB");
    }
}
