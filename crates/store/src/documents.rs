//! A company's settings document: one JSON row per company in a table of `company_id`,
//! `settings` and `updated_at` (scoring, health and risk settings, qualification gates). None
//! stored means the defaults; a stored document that a later version no longer accepts also
//! gives the defaults (logged), so what depends on it does not stop. Writing one is audited as
//! the resource `settings` with the document's name, and queues the job that brings what the
//! document governs up to date (a rescore) in the same transaction. A document is declared once
//! (`impl Document`); [`settings`] and [`put`] read and replace any of them.

use crate::jobs::NewJob;
use crate::{Result, Store, StoreError, Tx, exec, fetch_optional, now};
use rivet_domain::ids::CompanyId;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

/// A validated settings document and the input it is stored as.
pub trait Document: Sized + Default + Send + Sync {
    type Input: DeserializeOwned + Serialize;
    /// Its table.
    const TABLE: &'static str;
    /// Its name in the audit trail (resource `settings`).
    const NAME: &'static str;
    /// The job a change queues for the company in the change's transaction, its cause named
    /// after the document ("the scoring settings changed"); none by default.
    const RECOMPUTE_JOB: Option<&'static str> = None;
    fn validate(input: Self::Input) -> std::result::Result<Self, FieldErrors>;
    fn to_input(&self) -> Self::Input;
    /// What the audit trail keeps of the document: all of it, unless it holds secrets.
    fn audited(&self) -> Self::Input {
        self.to_input()
    }
}

/// The caller's company's document (the defaults when none is stored).
pub async fn settings<D: Document>(store: &Store, actor: &Actor) -> Result<D> {
    let r = store.read(actor).await?;
    read(r.conn(), actor.company_id).await
}

/// Replace the caller's company's document (validated by the caller), audited, and queue its
/// [`Document::RECOMPUTE_JOB`] in the same transaction. Returns the job's id, if it has one.
pub async fn put<D: Document>(store: &Store, actor: &Actor, doc: &D) -> Result<Option<Uuid>> {
    let tx = store.write(actor).await?;
    write(&tx, actor, doc).await?;
    let job = match D::RECOMPUTE_JOB {
        Some(kind) => {
            let cause = format!("the {} settings changed", D::NAME);
            let job = NewJob::new(kind, json!({ "cause": cause })).for_company(actor.company_id);
            Some(crate::jobs::enqueue(&tx, job).await?)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(job)
}

#[derive(FromQueryResult)]
struct Row {
    settings: Value,
}

/// `company`'s document (the defaults when none is stored).
pub(crate) async fn read<D: Document, C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
) -> Result<D> {
    let row: Option<Row> = fetch_optional(
        conn,
        Query::select()
            .column(Alias::new("settings"))
            .from(Alias::new(D::TABLE))
            .and_where(Expr::col(Alias::new("company_id")).eq(company)),
    )
    .await?;
    let Some(row) = row else {
        return Ok(D::default());
    };
    let input: D::Input = serde_json::from_value(crate::query::json_column(row.settings))
        .map_err(|e| StoreError::invalid(D::TABLE, e.to_string()))?;
    Ok(D::validate(input).unwrap_or_else(|errors| {
        tracing::warn!(company = %company, table = D::TABLE, ?errors, "a stored settings document no longer validates; using the defaults");
        D::default()
    }))
}

#[derive(FromQueryResult)]
struct CompanyRow {
    company_id: CompanyId,
    settings: Value,
}

/// Every company's stored document of this kind, read the way [`read`] reads one (a document
/// that no longer validates gives the defaults), for work across companies: read past the row
/// security, which the caller names as its reason.
pub async fn every<D: Document>(store: &Store) -> Result<Vec<(CompanyId, D)>> {
    let rows: Vec<CompanyRow> = crate::fetch_all(
        store.system(),
        Query::select()
            .columns([Alias::new("company_id"), Alias::new("settings")])
            .from(Alias::new(D::TABLE)),
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let input: D::Input =
                serde_json::from_value(crate::query::json_column(row.settings)).ok()?;
            Some((row.company_id, D::validate(input).unwrap_or_default()))
        })
        .collect())
}

/// Store `doc` as the caller's company's document, audited, in `tx`.
pub(crate) async fn write<D: Document>(tx: &Tx, actor: &Actor, doc: &D) -> Result<()> {
    let before = read::<D, _>(tx.conn(), actor.company_id).await?;
    let before = serde_json::to_value(before.audited()).unwrap_or(Value::Null);
    let stored = serde_json::to_value(doc.to_input())
        .map_err(|e| StoreError::invalid("settings", e.to_string()))?;
    let after = serde_json::to_value(doc.audited()).unwrap_or(Value::Null);
    let (company, settings, updated) = (
        Alias::new("company_id"),
        Alias::new("settings"),
        Alias::new("updated_at"),
    );
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Alias::new(D::TABLE))
            .columns([company.clone(), settings.clone(), updated.clone()])
            .values_panic([actor.company_id.into(), stored.clone().into(), now().into()])
            .on_conflict(
                OnConflict::column(company)
                    .update_columns([settings, updated])
                    .to_owned(),
            ),
    )
    .await?;
    tx.audit_in(
        actor.company_id,
        Resource::Settings.as_str(),
        D::NAME,
        Action::Update.as_str(),
        Some(&before),
        Some(&after),
    )
    .await
}
