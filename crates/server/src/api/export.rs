//! Exports: a record list as a CSV or XLSX file, `GET /api/v1/{records}/export` for every
//! record type (registered with its routes, behind read permission on it) and
//! `GET /api/v1/exports?entity=…` for the same by name. The list's own filter and sort syntax
//! applies (and a saved view's, `view=<id>`, with the query's pairs over it), in the caller's
//! scope; the columns are the record's fields in the API's order, tags joined by commas, then
//! the company's custom fields as `cf.<key>`.
//!
//! CSV is streamed a page of rows at a time, so its memory does not grow with the list; XLSX
//! is a zip written at the end, so it is built in memory (at most [`XLSX_MAX_ROWS`] rows).
//! A text cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return) is written with a leading `'`, as OWASP advises.

use super::record::ApiRecord;
use crate::http::error::AppError;
use crate::http::extract::{Auth, Query};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use rivet_domain::{Action, Actor};
use rivet_store::accounts::Account;
use rivet_store::activities::Activity;
use rivet_store::contacts::Contact;
use rivet_store::deals::Deal;
use rivet_store::leads::Lead;
use rivet_store::record::Record;
use rivet_store::tasks::Task;
use rivet_store::views;
use serde_json::Value;

/// Rows read per page while exporting.
const PAGE: u64 = 500;

/// The most rows an XLSX export holds (one sheet: Excel's limit, less the header).
pub const XLSX_MAX_ROWS: usize = 1_048_575;

/// The file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// What an export reads besides the list's filters and sort.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (the default) or `xlsx`.
    pub format: Option<ExportFormat>,
    /// A saved view of the same list, whose query the other parameters refine.
    pub view: Option<uuid::Uuid>,
}

/// The media types an export answers with.
pub const MEDIA_TYPES: &[&str] = &[
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

/// The list query of an export: the view's pairs, then the request's over them (`format`,
/// `view`, `limit` and `cursor` are the export's own).
async fn export_query<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    pairs: Vec<(String, String)>,
) -> Result<(ExportFormat, Vec<(String, String)>), AppError> {
    let one = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let format = match one("format").map(String::as_str) {
        None | Some("csv") => ExportFormat::Csv,
        Some("xlsx") => ExportFormat::Xlsx,
        Some(_) => return Err(AppError::BadRequest("format must be csv or xlsx".into())),
    };
    let mut merged = Vec::new();
    if let Some(view) = one("view") {
        let id = view
            .parse()
            .map_err(|_| AppError::BadRequest("view must be the id of a saved view".into()))?;
        let view = views::get(&app.store, actor, id).await?;
        if view.resource != R::RESOURCE {
            return Err(AppError::BadRequest(format!(
                "view is a view of {}, not of {}",
                view.resource.as_str(),
                R::RESOURCE.as_str()
            )));
        }
        let ours = |k: &str| pairs.iter().any(|(p, _)| p == k);
        merged.extend(
            url::form_urlencoded::parse(view.query.as_bytes())
                .into_owned()
                .filter(|(k, _)| !ours(k)),
        );
    }
    merged.extend(
        pairs
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "format" | "view" | "limit" | "cursor")),
    );
    merged.push(("limit".into(), PAGE.to_string()));
    Ok((format, merged))
}

/// The columns of `R`'s file: its fields in order, then its custom fields.
async fn columns<R: ApiRecord>(app: &AppState, actor: &Actor) -> Result<Vec<String>, AppError> {
    let mut columns: Vec<String> = R::field_names()
        .iter()
        .filter(|f| **f != "custom_fields")
        .map(|f| (*f).to_owned())
        .collect();
    if let Some(kind) = R::CUSTOM {
        let defs = super::custom_fields::definitions(app, actor, kind).await?;
        columns.extend(defs.iter().map(|d| format!("cf.{}", d.key)));
    }
    Ok(columns)
}

/// A cell: text, a number, or nothing.
enum Cell {
    Text(String),
    Number(f64, String),
    Empty,
}

/// Text a spreadsheet would read as a formula, made plain text.
pub fn neutralized(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn cell(value: Option<&Value>) -> Cell {
    match value {
        None | Some(Value::Null) => Cell::Empty,
        Some(Value::String(text)) => Cell::Text(neutralized(text)),
        Some(Value::Bool(flag)) => Cell::Text(flag.to_string()),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) => Cell::Number(f, n.to_string()),
            None => Cell::Text(n.to_string()),
        },
        Some(Value::Array(items)) => Cell::Text(neutralized(
            &items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
        )),
        Some(other) => Cell::Text(neutralized(&other.to_string())),
    }
}

/// The cells of one record, in the order of `columns`.
fn cells<R: Record>(record: &R, columns: &[String]) -> Vec<Cell> {
    let Ok(Value::Object(map)) = serde_json::to_value(record) else {
        return Vec::new();
    };
    let custom = map.get("custom_fields");
    columns
        .iter()
        .map(|c| match c.strip_prefix("cf.") {
            Some(key) => cell(custom.and_then(|m| m.get(key))),
            None => cell(map.get(c.as_str())),
        })
        .collect()
}

/// Where an export has got to: the next page's cursor, or done.
struct Reader<R: Record> {
    app: AppState,
    actor: Actor,
    /// The list's query string, less its cursor.
    query: Vec<(String, String)>,
    cursor: Option<String>,
    done: bool,
    /// A page read ahead (the first, read before the answer starts).
    pending: Vec<R>,
}

impl<R: ApiRecord> Reader<R> {
    /// The next page of records; empty once the list is read.
    async fn next(&mut self) -> Result<Vec<R>, AppError> {
        if !self.pending.is_empty() {
            return Ok(std::mem::take(&mut self.pending));
        }
        if self.done {
            return Ok(Vec::new());
        }
        let mut pairs = self.query.clone();
        pairs.extend(self.cursor.take().map(|c| ("cursor".to_owned(), c)));
        let page = R::list_page(&self.app, &self.actor, pairs).await?;
        self.cursor = page.next_cursor;
        self.done = self.cursor.is_none();
        Ok(page.data)
    }
}

fn csv_line(cells: impl IntoIterator<Item = String>) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(cells)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing a CSV row: {e}")))?;
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing a CSV row: {e}")))
}

fn csv_rows<R: Record>(records: &[R], columns: &[String]) -> Result<Bytes, AppError> {
    let mut out = Vec::new();
    for record in records {
        out.extend(csv_line(cells(record, columns).into_iter().map(
            |c| match c {
                Cell::Text(text) | Cell::Number(_, text) => text,
                Cell::Empty => String::new(),
            },
        ))?);
    }
    Ok(Bytes::from(out))
}

async fn xlsx<R: ApiRecord>(
    mut reader: Reader<R>,
    columns: &[String],
) -> Result<Vec<u8>, AppError> {
    let failed =
        |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("writing XLSX: {e}"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet
        .set_name(R::PATH.trim_start_matches('/'))
        .map_err(failed)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (col, name) in (0u16..).zip(columns) {
        sheet
            .write_string_with_format(0, col, name, &bold)
            .map_err(failed)?;
    }
    let mut row: u32 = 0;
    loop {
        let records = reader.next().await?;
        if records.is_empty() {
            break;
        }
        for record in &records {
            row += 1;
            if row as usize > XLSX_MAX_ROWS {
                return Err(AppError::BadRequest(format!(
                    "an XLSX export holds at most {XLSX_MAX_ROWS} rows; narrow the filters or \
                     export CSV"
                )));
            }
            for (col, value) in (0u16..).zip(cells(record, columns)) {
                match value {
                    Cell::Text(text) => sheet.write_string(row, col, text),
                    Cell::Number(n, _) => sheet.write_number(row, col, n),
                    Cell::Empty => continue,
                }
                .map_err(failed)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(failed)?;
    book.save_to_buffer().map_err(failed)
}

/// The file of `R`'s list as the query asks for it.
pub async fn export_records<R: ApiRecord>(
    app: AppState,
    actor: Actor,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let (format, query) = export_query::<R>(&app, &actor, pairs).await?;
    let columns = columns::<R>(&app, &actor).await?;
    let name = R::PATH.trim_start_matches('/');
    let day = chrono::Utc::now().format("%Y-%m-%d");
    let mut reader = Reader::<R> {
        app,
        actor,
        query,
        cursor: None,
        done: false,
        pending: Vec::new(),
    };
    // The first page is read before the answer starts, so that a failure is a problem, not a
    // cut-off file.
    reader.pending = reader.next().await?;
    let (media_type, body) = match format {
        ExportFormat::Csv => {
            let head = Bytes::from(csv_line(columns.iter().cloned())?);
            let rows = futures_util::stream::try_unfold(
                (reader, columns),
                |(mut reader, columns)| async move {
                    let records = reader.next().await?;
                    if records.is_empty() {
                        return Ok(None);
                    }
                    let chunk = csv_rows(&records, &columns)?;
                    Ok::<_, AppError>(Some((chunk, (reader, columns))))
                },
            );
            let head = futures_util::stream::once(async move { Ok::<_, AppError>(head) });
            (
                "text/csv; charset=utf-8",
                Body::from_stream(head.chain(rows)),
            )
        }
        ExportFormat::Xlsx => (MEDIA_TYPES[1], Body::from(xlsx(reader, &columns).await?)),
    };
    let extension = match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Xlsx => "xlsx",
    };
    Ok((
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}-{day}.{extension}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET {records}/export`: registered for every record type with its routes.
pub(super) async fn export<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    export_records::<R>(app, actor, pairs).await
}

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
    async fn of<R: ApiRecord>(
        app: AppState,
        actor: Actor,
        pairs: Vec<(String, String)>,
    ) -> Result<Response, AppError> {
        Access::Allow(R::RESOURCE, Action::Read).check(Some(&actor))?;
        export_records::<R>(app, actor, pairs).await
    }
    match entity {
        "leads" => of::<Lead>(app, actor, pairs).await,
        "accounts" => of::<Account>(app, actor, pairs).await,
        "contacts" => of::<Contact>(app, actor, pairs).await,
        "deals" => of::<Deal>(app, actor, pairs).await,
        "tasks" => of::<Task>(app, actor, pairs).await,
        "activities" => of::<Activity>(app, actor, pairs).await,
        _ => Err(AppError::BadRequest(
            "entity must be one of leads, accounts, contacts, deals, tasks, activities".into(),
        )),
    }
}

/// What `GET /exports` reads besides the list's filters and sort.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityParams {
    /// The list: leads, accounts, contacts, deals, tasks or activities.
    pub entity: String,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new().add(
        get("/exports", Access::Authenticated)
            .doc(
                "exports",
                "Export a record list as CSV or XLSX: `entity` names the list (the caller needs \
                 read on it), the other parameters are that list's filters and sort, `view` a \
                 saved view of it; the same as `GET /{entity}/export`",
            )
            .query::<EntityParams>()
            .query::<ExportParams>()
            .returns_file(MEDIA_TYPES),
        export_entity,
    )
}
