//! Exports: a record list as a CSV or XLSX file — what `GET /api/v1/{records}/export` (every
//! record type's, registered with its routes by `api::record`) and `GET /api/v1/exports` (by
//! name, `api::exports`) answer, and what an export job keeps (`crate::exports`); this module
//! writes the file from the list's pages ([`write`]) as a stream of pieces that either sink
//! takes. The list's own filter and sort syntax applies (and a saved view's, `view=<id>`, with
//! the query's pairs over it), in the caller's scope; the columns are the record's fields in
//! the API's order, tags joined by commas, then the company's custom fields as `cf.<key>`.
//!
//! Neither format's memory grows with the list. CSV is streamed a page of rows at a time. XLSX
//! is a zip that can only be written once every row is known: the sheet is written in the
//! spreadsheet writer's constant-memory mode (each finished row goes to a temporary file, not
//! to memory), then the zip is streamed out as it is compressed, a piece at a time (at most
//! [`XLSX_MAX_ROWS`] rows: one sheet).
//! A text cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return) is written with a leading `'`, as OWASP advises.

use crate::http::error::AppError;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rivet_domain::custom_fields::RecordType;
pub use rivet_domain::exports::ExportFormat;
use rivet_domain::{Actor, Resource};
use rivet_store::views;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Rows read per page while exporting.
const PAGE: u64 = 500;

/// The most rows an XLSX export holds (one sheet: Excel's limit, less the header).
pub const XLSX_MAX_ROWS: usize = 1_048_575;

/// What an export reads besides the list's filters and sort.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (the default) or `xlsx`.
    #[param(inline)]
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
async fn export_query(
    app: &AppState,
    actor: &Actor,
    list: &Exported,
    pairs: Vec<(String, String)>,
) -> Result<(ExportFormat, Vec<(String, String)>), AppError> {
    let one = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let format = match one("format") {
        None => ExportFormat::Csv,
        Some(text) => text
            .parse()
            .map_err(|_| AppError::BadRequest("format must be csv or xlsx".into()))?,
    };
    let mut merged = Vec::new();
    if let Some(view) = one("view") {
        let id = view
            .parse()
            .map_err(|_| AppError::BadRequest("view must be the id of a saved view".into()))?;
        let view = views::get(&app.store, actor, id).await?;
        if view.resource != list.resource {
            return Err(AppError::BadRequest(format!(
                "view is a view of {}, not of {}",
                view.resource.as_str(),
                list.resource.as_str()
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

/// The columns of a list's file: its fields in order, then its custom fields.
async fn columns(app: &AppState, actor: &Actor, list: &Exported) -> Result<Vec<String>, AppError> {
    let mut columns: Vec<String> = list
        .fields
        .iter()
        .filter(|f| **f != "custom_fields")
        .map(|f| (*f).to_owned())
        .collect();
    if let Some(kind) = list.custom {
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
fn cells<T: Serialize>(record: &T, columns: &[String]) -> Vec<Cell> {
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

/// The list an export reads, as the record type declares it.
pub struct Exported {
    pub resource: Resource,
    /// The list's path (`/leads`): the file and sheet are named after it.
    pub path: &'static str,
    /// The record's fields in the API's order.
    pub fields: &'static [&'static str],
    pub custom: Option<RecordType>,
}

/// The pages of a list, read one after the other.
pub trait Pages: Send + 'static {
    type Item: Serialize + Send + Sync + 'static;

    /// The next page for the list's query string (`limit` included); empty once it is read.
    fn next(&mut self) -> impl Future<Output = Result<Vec<Self::Item>, AppError>> + Send;
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

fn csv_rows<T: Serialize>(records: &[T], columns: &[String]) -> Result<Bytes, AppError> {
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

/// The size of the pieces an XLSX file is streamed in.
const XLSX_PIECE: usize = 256 * 1024;

/// Write the list's rows into a constant-memory sheet, then stream the workbook as it is
/// zipped: `(body, rows written)`. A failure before the first piece (a row past
/// [`XLSX_MAX_ROWS`], a page that cannot be read) is an error, not a cut-off file.
async fn xlsx<P: Pages>(
    mut pages: P,
    first: Vec<P::Item>,
    (sheet_name, columns): (&str, &[String]),
) -> Result<(BoxStream<'static, Result<Bytes, AppError>>, i64), AppError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_failed)?;
    sheet.set_name(sheet_name).map_err(xlsx_failed)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (col, name) in (0u16..).zip(columns) {
        sheet
            .write_string_with_format(0, col, name, &bold)
            .map_err(xlsx_failed)?;
    }
    let mut row: u32 = 0;
    let mut records = first;
    while !records.is_empty() {
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
                .map_err(xlsx_failed)?;
            }
        }
        records = pages.next().await?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_failed)?;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut out = Pieces {
            sender,
            piece: Vec::with_capacity(XLSX_PIECE),
        };
        let end = match book.save_to_writer(&mut out) {
            Ok(()) => Ok(std::mem::take(&mut out.piece)),
            Err(e) => Err(xlsx_failed(e)),
        };
        // A reader that went away has nothing left to be told.
        let _ = out.sender.blocking_send(end.map(Bytes::from));
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (piece, receiver))
    });
    Ok((body.boxed(), i64::from(row)))
}

fn xlsx_failed(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing XLSX: {e}"))
}

/// The zip of an XLSX file as the writer makes it, handed on in pieces of [`XLSX_PIECE`]; the
/// writer stops (a broken pipe) when the body's reader is gone.
struct Pieces {
    sender: tokio::sync::mpsc::Sender<Result<Bytes, AppError>>,
    piece: Vec<u8>,
}

impl std::io::Write for Pieces {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.piece.extend_from_slice(data);
        if self.piece.len() >= XLSX_PIECE {
            let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(XLSX_PIECE));
            self.sender
                .blocking_send(Ok(Bytes::from(piece)))
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A list's file as it is written: its format, the name it is downloaded as, and its bytes,
/// a piece at a time, for a sink to take — the answer to a request ([`respond`]) or the pieces
/// an export job keeps (`crate::exports`).
pub struct File {
    pub format: ExportFormat,
    pub name: String,
    pub body: BoxStream<'static, Result<Bytes, AppError>>,
    /// The rows written into `body` so far.
    pub rows: Arc<AtomicI64>,
}

/// The list's file as the query string asks for it (`format`, `view`, the list's filters and
/// sort), read through `open(query)`: the pages of the list for that query string.
pub async fn write<P: Pages>(
    (app, actor): (&AppState, &Actor),
    list: &Exported,
    pairs: Vec<(String, String)>,
    open: impl FnOnce(Vec<(String, String)>) -> P,
) -> Result<File, AppError> {
    let (format, query) = export_query(app, actor, list, pairs).await?;
    let columns = columns(app, actor, list).await?;
    let name = list.path.trim_start_matches('/');
    let day = chrono::Utc::now().format("%Y-%m-%d");
    let rows = Arc::new(AtomicI64::new(0));
    let mut pages = open(query);
    // The first page is read before the file starts, so that a failure is a problem, not a
    // cut-off file.
    let first = pages.next().await?;
    let body = match format {
        ExportFormat::Csv => {
            let mut head = csv_line(columns.iter().cloned())?;
            head.extend_from_slice(&csv_rows(&first, &columns)?);
            rows.fetch_add(first.len() as i64, Ordering::Relaxed);
            let counted = rows.clone();
            let rest = futures_util::stream::try_unfold(
                (pages, columns, counted),
                |(mut pages, columns, counted)| async move {
                    let records = pages.next().await?;
                    if records.is_empty() {
                        return Ok(None);
                    }
                    let chunk = csv_rows(&records, &columns)?;
                    counted.fetch_add(records.len() as i64, Ordering::Relaxed);
                    Ok::<_, AppError>(Some((chunk, (pages, columns, counted))))
                },
            );
            let head = futures_util::stream::once(async move { Ok(Bytes::from(head)) });
            head.chain(rest).boxed()
        }
        ExportFormat::Xlsx => {
            let (body, written) = xlsx(pages, first, (name, &columns)).await?;
            rows.store(written, Ordering::Relaxed);
            body
        }
    };
    Ok(File {
        format,
        name: format!("{name}-{day}.{}", format.extension()),
        body,
        rows,
    })
}

/// Check an export's query string as [`write`] reads it — format, view, filters and sort — by
/// reading one row, so that a bad one is refused when it is asked for, not when a job writes.
pub async fn check<P: Pages>(
    (app, actor): (&AppState, &Actor),
    list: &Exported,
    pairs: Vec<(String, String)>,
    open: impl FnOnce(Vec<(String, String)>) -> P,
) -> Result<(), AppError> {
    let (_, mut query) = export_query(app, actor, list, pairs).await?;
    query.retain(|(k, _)| k != "limit");
    query.push(("limit".into(), "1".into()));
    open(query).next().await?;
    Ok(())
}

/// The answer that streams `file` as an attachment.
pub fn respond(file: File) -> Response {
    (
        [
            (header::CONTENT_TYPE, file.format.media_type().to_owned()),
            (header::CONTENT_DISPOSITION, attachment(&file.name)),
        ],
        Body::from_stream(file.body),
    )
        .into_response()
}

/// `Content-Disposition` of a download named `name`.
pub fn attachment(name: &str) -> String {
    format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\'], "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_starts_like_a_formula_is_written_as_text() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralized(formula), format!("'{formula}"));
        }
        for plain in ["Acme", "1-2", "a=b", "", "'quoted"] {
            assert_eq!(neutralized(plain), plain);
        }
        // Numbers stay numbers; a negative one is no formula.
        assert!(matches!(cell(Some(&serde_json::json!(-5))), Cell::Number(n, _) if n == -5.0));
        assert!(
            matches!(cell(Some(&serde_json::json!(["=x", "y"]))), Cell::Text(t) if t == "'=x, y")
        );
        assert!(matches!(cell(None), Cell::Empty));
    }
}
