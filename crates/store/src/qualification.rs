//! The qualification workflow in the store (issue 14 §2; the rules are
//! `rivet_domain::qualification`): a company's gates (`qualification_settings`, none means the
//! defaults), checked where every lead is written (`Lead::write_columns`, so a create, a patch,
//! a bulk update, an import and `POST /leads/{id}/transition` pass the same gates, and a
//! threshold's status change checks them too), and each lead's statuses with when it entered
//! and left them (`lead_status_history`), from which the time in each status follows.

use crate::leads::Lead;
use crate::tables::LeadStatusHistory as H;
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now, record};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, LeadId};
use rivet_domain::leads::LeadStatus;
use rivet_domain::qualification::{Qualification, QualificationInput, Unmet};
use rivet_domain::{Action, Actor, FieldError, FieldErrors};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Map, Value};

impl crate::documents::Document for Qualification {
    type Input = QualificationInput;
    const TABLE: &'static str = "qualification_settings";
    const NAME: &'static str = "qualification";
    fn validate(input: QualificationInput) -> std::result::Result<Self, FieldErrors> {
        input.validate()
    }
    fn to_input(&self) -> QualificationInput {
        Qualification::to_input(self)
    }
}

async fn config_in<C: ConnectionTrait>(conn: &C, company: CompanyId) -> Result<Qualification> {
    crate::documents::read(conn, company).await
}

/// The company's gates, read once per transaction.
pub(crate) async fn config_tx(tx: &Tx, company: CompanyId) -> Result<Qualification> {
    if let Some(q) = tx.qualification.get() {
        return Ok(q.clone());
    }
    let q = config_in(tx.conn(), company).await?;
    Ok(tx.qualification.get_or_init(|| q).clone())
}

fn refused(unmet: Vec<Unmet>) -> StoreError {
    StoreError::Invalid(FieldErrors(
        unmet
            .into_iter()
            .map(|u| FieldError {
                field: u.field,
                message: u.message,
            })
            .collect(),
    ))
}

/// Check a lead's entry into `to` (from `from`; `None`: a new lead) against the company's
/// gates: what it lacks is a 422 naming each requirement. Staying in a status passes.
pub(crate) async fn check(
    tx: &Tx,
    company: CompanyId,
    from: Option<LeadStatus>,
    to: LeadStatus,
    fields: &Map<String, Value>,
    total: i32,
) -> Result<()> {
    let entering = match from {
        Some(from) => from != to,
        None => to != LeadStatus::New,
    };
    if !entering {
        return Ok(());
    }
    let unmet = config_tx(tx, company).await?.unmet(to, fields, total);
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(refused(unmet))
    }
}

/// What `lead` lacks to enter `to` (none: it may).
pub(crate) async fn unmet_for(
    tx: &Tx,
    company: CompanyId,
    lead: &Lead,
    to: LeadStatus,
) -> Result<Vec<Unmet>> {
    let fields = record::Record::as_input(lead);
    Ok(config_tx(tx, company)
        .await?
        .unmet(to, &fields, lead.total_score))
}

/// Record that `leads` entered their current status at `at` (with their reason), closing the
/// status each was in. `new_leads`: they had none before (no row to close).
pub(crate) async fn entered(
    tx: &Tx,
    company: CompanyId,
    leads: &[&Lead],
    at: DateTime<Utc>,
    new_leads: bool,
) -> Result<()> {
    if leads.is_empty() {
        return Ok(());
    }
    if !new_leads {
        exec(
            tx.conn(),
            Query::update()
                .table(H::Table)
                .value(H::LeftAt, at)
                .and_where(Expr::col(H::CompanyId).eq(company))
                .and_where(Expr::col(H::LeadId).is_in(leads.iter().map(|l| l.id)))
                .and_where(Expr::col(H::LeftAt).is_null()),
        )
        .await?;
    }
    for chunk in leads.chunks(crate::MAX_BOUND_VALUES / 6) {
        let mut insert = Query::insert();
        insert.into_table(H::Table).columns([
            H::CompanyId,
            H::Id,
            H::LeadId,
            H::Status,
            H::EnteredAt,
            H::Reason,
        ]);
        for lead in chunk {
            insert.values_panic([
                company.into(),
                new_id().into(),
                lead.id.into(),
                lead.status.as_str().into(),
                at.into(),
                lead.status_reason.clone().into(),
            ]);
        }
        exec(tx.conn(), &insert).await?;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct StatusRow {
    status: String,
    entered_at: DateTime<Utc>,
    left_at: Option<DateTime<Utc>>,
    reason: Option<String>,
}

/// One stay of a lead in a status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusStay {
    pub status: String,
    pub entered_at: DateTime<Utc>,
    /// Empty while the lead is still in it.
    pub left_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// Total time in one status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimeInStatus {
    pub status: String,
    pub seconds: i64,
}

/// A status the lead could move to, and what it lacks for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusOption {
    pub to: String,
    pub allowed: bool,
    pub unmet: Vec<Unmet>,
}

/// A lead's qualification state (`GET /api/v1/leads/{id}/transition`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Workflow {
    #[schema(value_type = uuid::Uuid)]
    pub lead_id: LeadId,
    pub status: String,
    pub status_reason: Option<String>,
    /// Since when the lead is in its status.
    pub since: DateTime<Utc>,
    /// Every status it can be moved to and what it lacks for each (converted: by converting).
    pub options: Vec<StatusOption>,
    /// Time spent in each status, most first.
    pub time_in_status: Vec<TimeInStatus>,
    /// Each stay, newest first (at most 50).
    pub history: Vec<StatusStay>,
}

/// The workflow state of a lead the caller may read.
pub async fn workflow(store: &Store, actor: &Actor, id: LeadId) -> Result<Workflow> {
    let r = store.read(actor).await?;
    let lead: Lead = record::get_in(r.conn(), actor, Action::Read, id).await?;
    let q = config_in(r.conn(), actor.company_id).await?;
    let rows: Vec<StatusRow> = fetch_all(
        r.conn(),
        Query::select()
            .columns([H::Status, H::EnteredAt, H::LeftAt, H::Reason])
            .from(H::Table)
            .and_where(Expr::col(H::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(H::LeadId).eq(id))
            .order_by(H::EnteredAt, Order::Desc),
    )
    .await?;
    let at = now();
    let mut totals: Vec<TimeInStatus> = Vec::new();
    for row in &rows {
        let seconds = std::cmp::Ord::max(
            (row.left_at.unwrap_or(at) - row.entered_at).num_seconds(),
            0,
        );
        match totals.iter_mut().find(|t| t.status == row.status) {
            Some(t) => t.seconds += seconds,
            None => totals.push(TimeInStatus {
                status: row.status.clone(),
                seconds,
            }),
        }
    }
    totals.sort_by_key(|t| std::cmp::Reverse(t.seconds));
    let fields = record::Record::as_input(&lead);
    let options = LeadStatus::ALL
        .iter()
        .filter(|s| **s != lead.status && **s != LeadStatus::Converted)
        .map(|s| {
            let unmet = q.unmet(*s, &fields, lead.total_score);
            StatusOption {
                to: s.as_str().to_owned(),
                allowed: unmet.is_empty(),
                unmet,
            }
        })
        .collect();
    Ok(Workflow {
        lead_id: id,
        status: lead.status.as_str().to_owned(),
        status_reason: lead.status_reason.clone(),
        since: lead.status_changed_at.unwrap_or(lead.created_at),
        options,
        time_in_status: totals,
        history: rows
            .into_iter()
            .take(50)
            .map(|r| StatusStay {
                status: r.status,
                entered_at: r.entered_at,
                left_at: r.left_at,
                reason: r.reason,
            })
            .collect(),
    })
}

/// Start the status history of `company`'s leads that have none (written straight to the
/// table, as the demo loader does): each has been in its status since its creation. Returns
/// how many.
pub async fn backfill_history(store: &Store, company: CompanyId) -> Result<u64> {
    use crate::tables::Leads as L;
    let mut insert = Query::insert();
    insert
        .into_table(H::Table)
        .columns([H::CompanyId, H::Id, H::LeadId, H::Status, H::EnteredAt])
        .select_from(
            Query::select()
                .columns([L::CompanyId, L::Id, L::Id, L::Status, L::CreatedAt])
                .from(L::Table)
                .and_where(Expr::col((L::Table, L::CompanyId)).eq(company))
                .and_where(
                    Expr::exists(
                        Query::select()
                            .expr(Expr::val(1))
                            .from(H::Table)
                            .and_where(Expr::col((H::Table, H::CompanyId)).eq(company))
                            .and_where(Expr::col((H::Table, H::LeadId)).equals((L::Table, L::Id)))
                            .to_owned(),
                    )
                    .not(),
                )
                .to_owned(),
        )
        .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    exec(store.system(), &insert).await
}

/// The job that converts a lead the company's automatic conversion rule matched.
pub const AUTO_CONVERT_JOB: &str = "leads.auto_convert";

/// Queue the automatic conversion of each of `leads` (as written, scores included) that the
/// company's rule matches: one job per lead, ever (its idempotency key), in this transaction.
pub(crate) async fn queue_auto_convert(tx: &Tx, company: CompanyId, leads: &[&Lead]) -> Result<()> {
    let q = config_tx(tx, company).await?;
    if q.auto_convert.is_empty() {
        return Ok(());
    }
    for lead in leads {
        let fields = match record::Record::audit_json(*lead) {
            Value::Object(map) => map,
            _ => continue,
        };
        if q.converts(&fields) {
            crate::jobs::enqueue(
                tx,
                crate::jobs::NewJob::new(AUTO_CONVERT_JOB, serde_json::json!({"lead_id": lead.id}))
                    .for_company(company)
                    .idempotency_key(format!("auto-convert:{}", lead.id)),
            )
            .await?;
        }
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct OwnerRow {
    owner_id: rivet_domain::ids::UserId,
}

/// The owner of the lead `id` of `company`, if the lead exists (for the automatic
/// conversion, which acts on the owner's behalf).
pub async fn owner_of(
    store: &Store,
    company: CompanyId,
    id: LeadId,
) -> Result<Option<rivet_domain::ids::UserId>> {
    use crate::tables::Leads as L;
    let row: Option<OwnerRow> = fetch_optional(
        store.system(),
        Query::select()
            .column(L::OwnerId)
            .from(L::Table)
            .and_where(Expr::col(L::CompanyId).eq(company))
            .and_where(Expr::col(L::Id).eq(id)),
    )
    .await?;
    Ok(row.map(|r| r.owner_id))
}
