//! Imports' store side (issue 13 §4): the `imports` table (the uploaded file, kept so any
//! instance can run it; what was detected; mapping, options, status and progress), their per-row
//! errors, and the `import_id` that marks the rows an import created on leads, contacts,
//! accounts and deals. Reading a file and saving its rows as records are the domain's
//! (`rivet_domain::imports`) and the server's; this module keeps the import's own state, always
//! in the caller's company.
//!
//! A run's progress is written in the same transaction as the rows it counts
//! ([`advance_in`]), so a run that stops (a crash, a cancel) resumes after the last row saved
//! and a row is never imported twice.

use crate::tables::{ImportChunks, ImportErrors, Imported, Imports};
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::Actor;
use rivet_domain::ids::{CompanyId, UserId};
use rivet_domain::imports::{FileFormat, ImportEntity, ImportOptions, ImportStatus};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// What an audit row and the API name an import by.
pub const RESOURCE: &str = "imports";

/// An import as the API shows it (the file itself is not part of it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Import {
    pub id: Uuid,
    pub entity: ImportEntity,
    pub file_name: String,
    pub format: FileFormat,
    /// The text encoding detected in a CSV file (`utf-8`, `windows-1252`, …).
    pub encoding: Option<String>,
    /// The delimiter detected in a CSV file.
    pub delimiter: Option<String>,
    /// The file's columns, in order.
    pub header: Vec<String>,
    /// The field each column is imported into (`null`: not imported), in the header's order;
    /// custom fields as `cf.<key>`.
    pub mapping: Vec<Option<String>>,
    pub options: ImportOptions,
    pub status: ImportStatus,
    /// Data rows in the file.
    pub total_rows: i64,
    /// Rows handled so far by runs (created, updated, skipped or failed).
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    /// The job of the current or last run or undo.
    pub job_id: Option<Uuid>,
    /// Why the last run or undo stopped, if it failed.
    pub error: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct ImportRow {
    id: Uuid,
    entity: String,
    file_name: String,
    format: String,
    encoding: Option<String>,
    delimiter: Option<String>,
    header: Value,
    mapping: Value,
    options: Value,
    status: String,
    total_rows: i64,
    rows_done: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    failed: i64,
    job_id: Option<Uuid>,
    error: Option<String>,
    created_by: UserId,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ImportRow {
    fn into_import(self) -> Result<Import> {
        let bad =
            |what: &str| StoreError::invalid("import", format!("stored {what} is unreadable"));
        Ok(Import {
            id: self.id,
            entity: self.entity.parse().map_err(|_| bad("entity"))?,
            file_name: self.file_name,
            format: self.format.parse().map_err(|_| bad("format"))?,
            encoding: self.encoding,
            delimiter: self.delimiter,
            header: serde_json::from_value(crate::query::json_column(self.header))
                .map_err(|_| bad("header"))?,
            mapping: serde_json::from_value(crate::query::json_column(self.mapping))
                .map_err(|_| bad("mapping"))?,
            options: serde_json::from_value(crate::query::json_column(self.options))
                .map_err(|_| bad("options"))?,
            status: self.status.parse().map_err(|_| bad("status"))?,
            total_rows: self.total_rows,
            rows_done: self.rows_done,
            created: self.created,
            updated: self.updated,
            skipped: self.skipped,
            failed: self.failed,
            job_id: self.job_id,
            error: self.error,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// An uploaded file, opened and checked, to keep as a new import.
#[derive(Debug, Clone)]
pub struct NewImport {
    pub entity: ImportEntity,
    pub file_name: String,
    pub format: FileFormat,
    pub content: Vec<u8>,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub header: Vec<String>,
    pub mapping: Vec<Option<String>>,
    pub total_rows: i64,
}

/// A row that could not be imported: its line in the file, the field (or `row`) and why.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct RowError {
    pub line: i64,
    pub field: String,
    pub message: String,
}

/// What a batch of rows did, added to the import's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
}

impl Counts {
    pub fn rows(&self) -> i64 {
        self.created + self.updated + self.skipped + self.failed
    }
}

fn columns() -> Vec<Imports> {
    vec![
        Imports::Id,
        Imports::Entity,
        Imports::FileName,
        Imports::Format,
        Imports::Encoding,
        Imports::Delimiter,
        Imports::Header,
        Imports::Mapping,
        Imports::Options,
        Imports::Status,
        Imports::TotalRows,
        Imports::RowsDone,
        Imports::Created,
        Imports::Updated,
        Imports::Skipped,
        Imports::Failed,
        Imports::JobId,
        Imports::Error,
        Imports::CreatedBy,
        Imports::CreatedAt,
        Imports::UpdatedAt,
    ]
}

fn select(company: CompanyId) -> SelectStatement {
    let mut q = Query::select();
    q.columns(columns())
        .from(Imports::Table)
        .and_where(Expr::col(Imports::CompanyId).eq(company));
    q
}

fn audit_json(import: &Import) -> Value {
    json!({
        "entity": import.entity,
        "file_name": import.file_name,
        "status": import.status,
        "mapping": import.mapping,
        "options": import.options,
        "rows_done": import.rows_done,
        "created": import.created,
        "updated": import.updated,
        "skipped": import.skipped,
        "failed": import.failed,
    })
}

/// Keep an uploaded file as a new import, audited.
pub async fn create(store: &Store, actor: &Actor, new: NewImport) -> Result<Import> {
    let id = new_id();
    let at = now();
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Imports::Table)
            .columns([Imports::CompanyId].into_iter().chain(columns()))
            .values_panic([
                actor.company_id.into(),
                id.into(),
                new.entity.as_str().into(),
                new.file_name.into(),
                new.format.as_str().into(),
                new.encoding.into(),
                new.delimiter.into(),
                json!(new.header).into(),
                json!(new.mapping).into(),
                json!(ImportOptions::default()).into(),
                ImportStatus::Uploaded.as_str().into(),
                new.total_rows.into(),
                0i64.into(),
                0i64.into(),
                0i64.into(),
                0i64.into(),
                0i64.into(),
                Option::<Uuid>::None.into(),
                Option::<String>::None.into(),
                actor.user_id.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    // A piece at a time: the file is never bound whole (a copy per layer of a 150 MB file).
    for (seq, piece) in new.content.chunks(CHUNK).enumerate() {
        exec(
            tx.conn(),
            Query::insert()
                .into_table(ImportChunks::Table)
                .columns([
                    ImportChunks::CompanyId,
                    ImportChunks::ImportId,
                    ImportChunks::Seq,
                    ImportChunks::Bytes,
                ])
                .values_panic([
                    actor.company_id.into(),
                    id.into(),
                    i32::try_from(seq).unwrap_or(i32::MAX).into(),
                    piece.to_vec().into(),
                ]),
        )
        .await?;
    }
    let import = get_in(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "create",
        None,
        Some(&audit_json(&import)),
    )
    .await?;
    tx.commit().await?;
    Ok(import)
}

/// One import of the caller's company.
pub async fn get_in<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<Import> {
    let mut q = select(actor.company_id);
    q.and_where(Expr::col(Imports::Id).eq(id));
    fetch_optional::<ImportRow, _, _>(conn, &q)
        .await?
        .ok_or(StoreError::NotFound)?
        .into_import()
}

pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Import> {
    get_in(store.read(actor).await?.conn(), actor, id).await
}

/// The newest imports of the caller's company into `entities` (at most `limit`).
pub async fn list(
    store: &Store,
    actor: &Actor,
    entities: &[ImportEntity],
    limit: u64,
) -> Result<Vec<Import>> {
    let mut q = select(actor.company_id);
    q.and_where(Expr::col(Imports::Entity).is_in(entities.iter().map(|e| e.as_str())))
        .order_by(Imports::CreatedAt, Order::Desc)
        .order_by(Imports::Id, Order::Desc)
        .limit(limit);
    let rows: Vec<ImportRow> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    rows.into_iter().map(ImportRow::into_import).collect()
}

/// The size of the pieces an import's file is kept in.
const CHUNK: usize = 1 << 20;

#[derive(FromQueryResult)]
struct Chunk {
    bytes: Vec<u8>,
}

/// The pieces of an import's file from the `from`-th on, a few at a time (empty past its end).
pub async fn pieces(store: &Store, actor: &Actor, id: Uuid, from: i32) -> Result<Vec<Vec<u8>>> {
    let q = Query::select()
        .column(ImportChunks::Bytes)
        .from(ImportChunks::Table)
        .and_where(Expr::col(ImportChunks::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(ImportChunks::ImportId).eq(id))
        .and_where(Expr::col(ImportChunks::Seq).gte(from))
        .order_by(ImportChunks::Seq, Order::Asc)
        .limit(8)
        .to_owned();
    let chunks: Vec<Chunk> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    Ok(chunks.into_iter().map(|c| c.bytes).collect())
}

/// The file an import keeps, whole, in a buffer sized up front (a run reads it in
/// [`pieces`]).
pub async fn content(store: &Store, actor: &Actor, id: Uuid) -> Result<Vec<u8>> {
    let count = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(ImportChunks::Table)
        .and_where(Expr::col(ImportChunks::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(ImportChunks::ImportId).eq(id))
        .to_owned();
    let count = crate::fetch_count(store.read(actor).await?.conn(), &count).await?;
    let mut content = Vec::with_capacity(usize::try_from(count).unwrap_or(0) * CHUNK);
    let mut next = 0;
    loop {
        let pieces = pieces(store, actor, id, next).await?;
        if pieces.is_empty() {
            break;
        }
        next += i32::try_from(pieces.len()).unwrap_or(i32::MAX);
        for piece in pieces {
            content.extend_from_slice(&piece);
        }
    }
    if next == 0 {
        // Every import keeps its file (an empty one is refused at upload).
        return Err(StoreError::NotFound);
    }
    Ok(content)
}

fn busy(import: &Import) -> StoreError {
    StoreError::Conflict {
        field: "status".into(),
        message: format!("is {}; wait until it has finished", import.status),
    }
}

/// Set an import's mapping and options (not while a job works on it), audited.
pub async fn configure(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    mapping: Vec<Option<String>>,
    options: ImportOptions,
) -> Result<Import> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    if before.status.is_busy() {
        return Err(busy(&before));
    }
    exec(
        tx.conn(),
        Query::update()
            .table(Imports::Table)
            .value(Imports::Mapping, json!(mapping))
            .value(Imports::Options, json!(options))
            .value(Imports::UpdatedAt, now())
            .and_where(Expr::col(Imports::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Imports::Id).eq(id)),
    )
    .await?;
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "update",
        Some(&audit_json(&before)),
        Some(&audit_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Move an import to `status` in an open transaction, audited as `action`; `from` are the
/// statuses it may move from (a conflict otherwise). `job_id` replaces the stored job when
/// given; the error is cleared unless `error` gives one.
pub async fn transition_in(
    tx: &Tx,
    actor: &Actor,
    id: Uuid,
    (from, status, action): (&[ImportStatus], ImportStatus, &str),
    job_id: Option<Uuid>,
    error: Option<&str>,
) -> Result<Import> {
    let before = get_in(tx.conn(), actor, id).await?;
    if !from.contains(&before.status) {
        return Err(StoreError::Conflict {
            field: "status".into(),
            message: format!("is {}; this import cannot be {action} now", before.status),
        });
    }
    let mut update = Query::update();
    update
        .table(Imports::Table)
        .value(Imports::Status, status.as_str())
        .value(Imports::Error, error.map(str::to_owned))
        .value(Imports::UpdatedAt, now())
        .and_where(Expr::col(Imports::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Imports::Id).eq(id));
    if let Some(job) = job_id {
        update.value(Imports::JobId, job);
    }
    exec(tx.conn(), &update).await?;
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        action,
        Some(&audit_json(&before)),
        Some(&audit_json(&after)),
    )
    .await?;
    Ok(after)
}

/// [`transition_in`] in a transaction of its own.
pub async fn transition(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    change: (&[ImportStatus], ImportStatus, &str),
    error: Option<&str>,
) -> Result<Import> {
    let tx = store.write(actor).await?;
    let import = transition_in(&tx, actor, id, change, None, error).await?;
    tx.commit().await?;
    Ok(import)
}

/// Fail an import whose job died (its worker stopped on the last attempt, or the job could not
/// start): queued, running or undoing → failed with `error`, audited as the system's. `false`
/// when there is no such import or it had already settled.
pub async fn abandon(store: &Store, company: CompanyId, id: Uuid, error: &str) -> Result<bool> {
    let tx = store.write_system().await?;
    let mut q = select(company);
    q.and_where(Expr::col(Imports::Id).eq(id));
    let Some(row) = fetch_optional::<ImportRow, _, _>(tx.conn(), &q).await? else {
        return Ok(false);
    };
    let before = row.into_import()?;
    if !before.status.is_busy() {
        return Ok(false);
    }
    exec(
        tx.conn(),
        Query::update()
            .table(Imports::Table)
            .value(Imports::Status, ImportStatus::Failed.as_str())
            .value(Imports::Error, error)
            .value(Imports::UpdatedAt, now())
            .and_where(Expr::col(Imports::CompanyId).eq(company))
            .and_where(Expr::col(Imports::Id).eq(id)),
    )
    .await?;
    let after = Import {
        status: ImportStatus::Failed,
        error: Some(error.to_owned()),
        ..before.clone()
    };
    tx.audit_in(
        company,
        RESOURCE,
        id,
        "fail",
        Some(&audit_json(&before)),
        Some(&audit_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Count a batch of rows as done (in the transaction that saved them) with its errors.
pub async fn advance_in(
    tx: &Tx,
    actor: &Actor,
    id: Uuid,
    counts: Counts,
    errors: &[RowError],
) -> Result<()> {
    let add = |col: fn() -> Imports, n: i64| (col(), Expr::col(col()).add(n));
    let mut update = Query::update();
    update
        .table(Imports::Table)
        .values([
            add(|| Imports::RowsDone, counts.rows()),
            add(|| Imports::Created, counts.created),
            add(|| Imports::Updated, counts.updated),
            add(|| Imports::Skipped, counts.skipped),
            add(|| Imports::Failed, counts.failed),
        ])
        .value(Imports::UpdatedAt, now())
        .and_where(Expr::col(Imports::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Imports::Id).eq(id));
    exec(tx.conn(), &update).await?;
    if errors.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table(ImportErrors::Table).columns([
        ImportErrors::CompanyId,
        ImportErrors::Id,
        ImportErrors::ImportId,
        ImportErrors::Line,
        ImportErrors::Field,
        ImportErrors::Message,
    ]);
    for e in errors {
        insert.values_panic([
            actor.company_id.into(),
            new_id().into(),
            id.into(),
            e.line.into(),
            e.field.clone().into(),
            e.message.clone().into(),
        ]);
    }
    exec(tx.conn(), &insert).await?;
    Ok(())
}

/// The current status of an import, read in the run's transaction (a cancel shows here).
pub async fn status_in(tx: &Tx, actor: &Actor, id: Uuid) -> Result<ImportStatus> {
    Ok(get_in(tx.conn(), actor, id).await?.status)
}

/// An import's row errors in the order of the file.
pub async fn errors(store: &Store, actor: &Actor, id: Uuid) -> Result<Vec<RowError>> {
    let q = Query::select()
        .columns([
            ImportErrors::Line,
            ImportErrors::Field,
            ImportErrors::Message,
        ])
        .from(ImportErrors::Table)
        .and_where(Expr::col(ImportErrors::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(ImportErrors::ImportId).eq(id))
        .order_by(ImportErrors::Line, Order::Asc)
        .order_by(ImportErrors::Field, Order::Asc)
        .to_owned();
    fetch_all(store.read(actor).await?.conn(), &q).await
}

/// The condition on a record table for the rows the import `import_id` created.
pub fn imported_by(import_id: Uuid) -> sea_orm::sea_query::Cond {
    sea_orm::sea_query::Cond::all().add(Expr::col(Imported::ImportId).eq(import_id))
}
