//! Exports' store side (issue 13 §4): the `exports` table (a record list written to a file by a
//! job: what was asked, how far the job came, when the file expires) and `export_chunks`, the
//! file in pieces of about a mebibyte, so that every instance can serve it and neither the
//! job nor a download holds more than a piece in memory. Writing the file is the server's
//! (`api::export`); this module keeps it, always in the caller's company.
//!
//! Who sees an export: the member who made it, and a member who reads the whole company's audit
//! trail (an admin) — [`select`] is the one place that says so. Another member's export, like
//! another company's, is not found.

use crate::tables::{ExportChunks, Exports};
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::exports::{ExportEntity, ExportFormat, ExportStatus};
use rivet_domain::ids::UserId;
use rivet_domain::{Action, Actor, Resource, Scope};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// What an audit row and the API name an export by.
pub const RESOURCE: &str = "exports";

/// An export as the API shows it (the file itself is not part of it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Export {
    pub id: Uuid,
    pub entity: ExportEntity,
    pub format: ExportFormat,
    /// A saved view of the list whose query the export's refines.
    pub view: Option<Uuid>,
    /// The list's filters and sort, as asked for (a parameter given more than once is a list).
    #[schema(value_type = Object)]
    pub query: Map<String, Value>,
    pub status: ExportStatus,
    /// Rows written so far.
    pub rows: i64,
    /// The file's size so far, in bytes.
    pub size: i64,
    /// Why the job failed.
    pub error: Option<String>,
    /// The name the file is downloaded as.
    pub file_name: String,
    /// The job that writes the file.
    pub job_id: Option<Uuid>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the file is deleted.
    pub expires_at: DateTime<Utc>,
}

impl Export {
    /// The list query of the export as a query string's pairs (`view` included).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .view
            .map(|v| ("view".to_owned(), v.to_string()))
            .into_iter()
            .collect();
        for (key, value) in &self.query {
            match value {
                Value::Array(items) => pairs.extend(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|v| (key.clone(), v.to_owned())),
                ),
                Value::String(text) => pairs.push((key.clone(), text.clone())),
                _ => {}
            }
        }
        pairs
    }

    /// The file can be downloaded now.
    pub fn is_ready(&self, at: DateTime<Utc>) -> bool {
        self.status == ExportStatus::Completed && self.expires_at > at
    }
}

/// Query pairs as the object an export shows them as: a parameter given more than once is a
/// list of its values, in order.
pub fn query_object(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut object = Map::new();
    for (key, value) in pairs {
        match object.get_mut(key) {
            Some(Value::Array(items)) => items.push(Value::from(value.as_str())),
            Some(one) => {
                let first = one.take();
                *one = Value::Array(vec![first, Value::from(value.as_str())]);
            }
            None => {
                object.insert(key.clone(), Value::from(value.as_str()));
            }
        }
    }
    object
}

#[derive(Debug, FromQueryResult)]
struct ExportRow {
    id: Uuid,
    entity: String,
    format: String,
    query: Value,
    status: String,
    rows_written: i64,
    byte_size: i64,
    error: Option<String>,
    file_name: String,
    job_id: Option<Uuid>,
    created_by: UserId,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
}

impl ExportRow {
    fn into_export(self) -> Result<Export> {
        let bad =
            |what: &str| StoreError::invalid("export", format!("stored {what} is unreadable"));
        let stored: Value = crate::query::json_column(self.query);
        let view = stored["view"].as_str().and_then(|v| v.parse().ok());
        let query = match stored.get("query") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        Ok(Export {
            id: self.id,
            entity: self.entity.parse().map_err(|_| bad("entity"))?,
            format: self.format.parse().map_err(|_| bad("format"))?,
            view,
            query,
            status: self.status.parse().map_err(|_| bad("status"))?,
            rows: self.rows_written,
            size: self.byte_size,
            error: self.error,
            file_name: self.file_name,
            job_id: self.job_id,
            created_by: self.created_by,
            created_at: self.created_at,
            finished_at: self.finished_at,
            expires_at: self.expires_at,
        })
    }
}

/// An export to make.
#[derive(Debug, Clone)]
pub struct NewExport {
    pub entity: ExportEntity,
    pub format: ExportFormat,
    pub view: Option<Uuid>,
    /// The list's filters and sort.
    pub query: Vec<(String, String)>,
    pub file_name: String,
    pub expires_at: DateTime<Utc>,
}

fn columns() -> Vec<Exports> {
    vec![
        Exports::Id,
        Exports::Entity,
        Exports::Format,
        Exports::Query,
        Exports::Status,
        Exports::RowsWritten,
        Exports::ByteSize,
        Exports::Error,
        Exports::FileName,
        Exports::JobId,
        Exports::CreatedBy,
        Exports::CreatedAt,
        Exports::FinishedAt,
        Exports::ExpiresAt,
    ]
}

/// Whether `actor` sees every export of the company, not only their own: who reads the whole
/// company's audit trail already sees what everyone exported.
pub fn sees_all(actor: &Actor) -> bool {
    actor.scope(Resource::Audit, Action::Read) == Scope::All
}

/// The exports of the caller's company that the caller sees.
fn select(actor: &Actor) -> SelectStatement {
    let mut q = Query::select();
    q.columns(columns())
        .from(Exports::Table)
        .and_where(Expr::col(Exports::CompanyId).eq(actor.company_id));
    if !sees_all(actor) {
        q.and_where(Expr::col(Exports::CreatedBy).eq(actor.user_id));
    }
    q
}

fn audit_json(export: &Export) -> Value {
    json!({
        "entity": export.entity,
        "format": export.format,
        "view": export.view,
        "query": export.query,
        "status": export.status,
        "rows": export.rows,
        "size": export.size,
        "file_name": export.file_name,
    })
}

/// Keep a new, queued export and queue `job(export id)`, its job, in one transaction; audited.
pub async fn create(
    store: &Store,
    actor: &Actor,
    new: NewExport,
    job: impl FnOnce(Uuid) -> crate::jobs::NewJob,
) -> Result<Export> {
    let id = new_id();
    let tx = store.write(actor).await?;
    let job_id = crate::jobs::enqueue(&tx, job(id)).await?;
    let stored = json!({"view": new.view, "query": query_object(&new.query)});
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Exports::Table)
            .columns([Exports::CompanyId].into_iter().chain(columns()))
            .values_panic([
                actor.company_id.into(),
                id.into(),
                new.entity.as_str().into(),
                new.format.as_str().into(),
                stored.into(),
                ExportStatus::Queued.as_str().into(),
                0i64.into(),
                0i64.into(),
                Option::<String>::None.into(),
                new.file_name.into(),
                Some(job_id).into(),
                actor.user_id.into(),
                now().into(),
                Option::<DateTime<Utc>>::None.into(),
                new.expires_at.into(),
            ]),
    )
    .await?;
    let export = get_in(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "create",
        None,
        Some(&audit_json(&export)),
    )
    .await?;
    tx.commit().await?;
    Ok(export)
}

async fn get_in<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<Export> {
    let mut q = select(actor);
    q.and_where(Expr::col(Exports::Id).eq(id));
    fetch_optional::<ExportRow, _, _>(conn, &q)
        .await?
        .ok_or(StoreError::NotFound)?
        .into_export()
}

/// One export the caller sees.
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Export> {
    get_in(store.read(actor).await?.conn(), actor, id).await
}

/// The newest exports the caller sees (at most `limit`).
pub async fn list(store: &Store, actor: &Actor, limit: u64) -> Result<Vec<Export>> {
    let mut q = select(actor);
    q.order_by(Exports::CreatedAt, Order::Desc)
        .order_by(Exports::Id, Order::Desc)
        .limit(limit);
    let rows: Vec<ExportRow> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    rows.into_iter().map(ExportRow::into_export).collect()
}

fn only(actor: &Actor, id: Uuid) -> sea_orm::sea_query::Cond {
    sea_orm::sea_query::Cond::all()
        .add(Expr::col(Exports::CompanyId).eq(actor.company_id))
        .add(Expr::col(Exports::Id).eq(id))
}

async fn drop_chunks(tx: &Tx, actor: &Actor, id: Uuid) -> Result<u64> {
    exec(
        tx.conn(),
        Query::delete()
            .from_table(ExportChunks::Table)
            .and_where(Expr::col(ExportChunks::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(ExportChunks::ExportId).eq(id)),
    )
    .await
}

/// The job starts (or starts again) writing the file: a queued or running export is running,
/// from its first row. `None` when it is no longer to be written (cancelled, deleted).
pub async fn start(store: &Store, actor: &Actor, id: Uuid) -> Result<Option<Export>> {
    let tx = store.write(actor).await?;
    let busy = [
        ExportStatus::Queued.as_str(),
        ExportStatus::Running.as_str(),
    ];
    let moved = exec(
        tx.conn(),
        Query::update()
            .table(Exports::Table)
            .value(Exports::Status, ExportStatus::Running.as_str())
            .value(Exports::RowsWritten, 0i64)
            .value(Exports::ByteSize, 0i64)
            .value(Exports::Error, Option::<String>::None)
            .cond_where(only(actor, id).add(Expr::col(Exports::Status).is_in(busy))),
    )
    .await?;
    if moved == 0 {
        return Ok(None);
    }
    // A run that stopped half way left pieces of the file: they are written again.
    drop_chunks(&tx, actor, id).await?;
    let export = get_in(tx.conn(), actor, id).await?;
    tx.commit().await?;
    Ok(Some(export))
}

/// Add the next piece of a running export's file, with the rows and bytes written so far.
/// `false` when the export is no longer running (cancelled or deleted meanwhile): the job stops.
pub async fn append(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    (seq, bytes): (i64, Vec<u8>),
    (rows, size): (i64, i64),
) -> Result<bool> {
    let tx = store.write(actor).await?;
    let counted = exec(
        tx.conn(),
        Query::update()
            .table(Exports::Table)
            .value(Exports::RowsWritten, rows)
            .value(Exports::ByteSize, size)
            .cond_where(
                only(actor, id).add(Expr::col(Exports::Status).eq(ExportStatus::Running.as_str())),
            ),
    )
    .await?;
    if counted == 0 {
        return Ok(false);
    }
    exec(
        tx.conn(),
        Query::insert()
            .into_table(ExportChunks::Table)
            .columns([
                ExportChunks::CompanyId,
                ExportChunks::ExportId,
                ExportChunks::Seq,
                ExportChunks::Bytes,
            ])
            .values_panic([actor.company_id.into(), id.into(), seq.into(), bytes.into()]),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// How a running export ended.
pub enum Finish<'a> {
    /// The file is whole, with this many rows; it expires at the time given.
    Completed {
        rows: i64,
        expires_at: DateTime<Utc>,
    },
    /// The job stopped; what was written is removed.
    Failed(&'a str),
}

/// End a running export (a conflict when it is no longer running: cancelled or deleted).
pub async fn finish(store: &Store, actor: &Actor, id: Uuid, how: Finish<'_>) -> Result<Export> {
    let tx = store.write(actor).await?;
    let mut update = Query::update();
    update
        .table(Exports::Table)
        .value(Exports::FinishedAt, now())
        .cond_where(
            only(actor, id).add(Expr::col(Exports::Status).eq(ExportStatus::Running.as_str())),
        );
    match how {
        Finish::Completed { rows, expires_at } => {
            update
                .value(Exports::Status, ExportStatus::Completed.as_str())
                .value(Exports::RowsWritten, rows)
                .value(Exports::ExpiresAt, expires_at);
        }
        Finish::Failed(error) => {
            update
                .value(Exports::Status, ExportStatus::Failed.as_str())
                .value(Exports::Error, error.chars().take(2000).collect::<String>());
        }
    }
    if exec(tx.conn(), &update).await? == 0 {
        return Err(StoreError::Conflict {
            field: "status".into(),
            message: "is no longer running".into(),
        });
    }
    let export = get_in(tx.conn(), actor, id).await?;
    if export.status == ExportStatus::Failed {
        drop_chunks(&tx, actor, id).await?;
    }
    tx.commit().await?;
    Ok(export)
}

/// Cancel a queued or running export: its job stops before its next piece and what it wrote
/// is removed; audited.
pub async fn cancel(store: &Store, actor: &Actor, id: Uuid) -> Result<Export> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    if !before.status.is_busy() {
        return Err(StoreError::Conflict {
            field: "status".into(),
            message: format!(
                "is {}; only a queued or running export can be cancelled",
                before.status
            ),
        });
    }
    exec(
        tx.conn(),
        Query::update()
            .table(Exports::Table)
            .value(Exports::Status, ExportStatus::Cancelled.as_str())
            .value(Exports::FinishedAt, now())
            .cond_where(only(actor, id)),
    )
    .await?;
    drop_chunks(&tx, actor, id).await?;
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "cancel",
        Some(&audit_json(&before)),
        Some(&audit_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete an export and its file (a running job stops before its next piece); audited.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    drop_chunks(&tx, actor, id).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Exports::Table)
            .cond_where(only(actor, id)),
    )
    .await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "delete",
        Some(&audit_json(&before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Fail a queued or running export whose job cannot run any more (the member who asked is no
/// longer active, so nothing can be read in their scope): Rivet's own write, not a member's.
pub async fn abandon(store: &Store, company_id: Uuid, id: Uuid, error: &str) -> Result<u64> {
    let tx = store.write_system().await?;
    let busy = [
        ExportStatus::Queued.as_str(),
        ExportStatus::Running.as_str(),
    ];
    let failed = exec(
        tx.conn(),
        Query::update()
            .table(Exports::Table)
            .value(Exports::Status, ExportStatus::Failed.as_str())
            .value(Exports::Error, error)
            .value(Exports::FinishedAt, now())
            .and_where(Expr::col(Exports::CompanyId).eq(company_id))
            .and_where(Expr::col(Exports::Id).eq(id))
            .and_where(Expr::col(Exports::Status).is_in(busy)),
    )
    .await?;
    tx.commit().await?;
    Ok(failed)
}

#[derive(FromQueryResult)]
struct ChunkRow {
    bytes: Vec<u8>,
}

/// The piece `seq` of an export's file (`None` past the last). The caller has checked that it
/// may see the export ([`get`]).
pub async fn chunk(store: &Store, actor: &Actor, id: Uuid, seq: i64) -> Result<Option<Vec<u8>>> {
    let q = Query::select()
        .column(ExportChunks::Bytes)
        .from(ExportChunks::Table)
        .and_where(Expr::col(ExportChunks::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(ExportChunks::ExportId).eq(id))
        .and_where(Expr::col(ExportChunks::Seq).eq(seq))
        .to_owned();
    Ok(
        fetch_optional::<ChunkRow, _, _>(store.read(actor).await?.conn(), &q)
            .await?
            .map(|r| r.bytes),
    )
}

#[derive(FromQueryResult)]
struct ExpiredRow {
    company_id: Uuid,
    id: Uuid,
}

/// Delete the exports (and files) of every company that expired before `at` (maintenance, not
/// a user action). Returns how many.
pub async fn prune_expired(store: &Store, at: DateTime<Utc>) -> Result<u64> {
    let q = Query::select()
        .columns([Exports::CompanyId, Exports::Id])
        .from(Exports::Table)
        .and_where(Expr::col(Exports::ExpiresAt).lt(at))
        .to_owned();
    let expired: Vec<ExpiredRow> = fetch_all(store.system(), &q).await?;
    let mut pruned = 0;
    // One export at a time, so that a large file is not one huge transaction.
    for row in expired {
        let tx = store.write_system().await?;
        exec(
            tx.conn(),
            Query::delete()
                .from_table(ExportChunks::Table)
                .and_where(Expr::col(ExportChunks::CompanyId).eq(row.company_id))
                .and_where(Expr::col(ExportChunks::ExportId).eq(row.id)),
        )
        .await?;
        pruned += exec(
            tx.conn(),
            Query::delete()
                .from_table(Exports::Table)
                .and_where(Expr::col(Exports::CompanyId).eq(row.company_id))
                .and_where(Expr::col(Exports::Id).eq(row.id)),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(pruned)
}
