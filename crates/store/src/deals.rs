//! Deals as a record type (list, get, create, update, delete and bulk actions are the generic
//! record layer's, [`crate::record`]), with their own rules as its hooks: where a deal sits in a pipeline (the stage sets its
//! probability, forecast category and `closed_at`), the stage history every stage change writes
//! in the same transaction, the roles contacts play on a deal, and the per-stage summary of a
//! pipeline board.

use crate::accounts;
use crate::query::{self, ListField, iden};
use crate::record::{self, Record, Write};
use crate::tables::Companies;
use crate::tables::Contacts;
use crate::tables::{CompanyDealSettings, DealContacts, DealStageHistory, Deals};
use crate::tables::{PipelineStages, Pipelines};
use crate::{
    Result, Store, StoreError, Tx, exec, fetch_all, fetch_count, fetch_optional, new_id, now,
};
use chrono::{DateTime, Utc};
use rivet_domain::deals::{ContactRole, DEAL_FIELDS, DealData, DealField};
use rivet_domain::ids::{
    AccountId, CompanyId, ContactId, DealId, Id, PipelineId, StageId, UserId, kind,
};
use rivet_domain::pipelines::{ForecastCategory, StageOutcome};
use rivet_domain::query::{FieldSpec, Filter, FilterValue};
use rivet_domain::risk::RiskLevel;
use rivet_domain::values::Money;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{
    Cond, DynIden, Expr, ExprTrait, Func, Order, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

crate::checklist::checklist_row! {
/// A deal as the API shows it. Money is a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Deal in Deals::Table {
    #[schema(value_type = uuid::Uuid)]
    pub id: DealId,
    pub name: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub account_id: Option<AccountId>,
    /// The primary contact.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub contact_id: Option<ContactId>,
    /// Decimal string, e.g. `"12500.10"`.
    pub amount: Option<String> = amount_micros => record::amount_of,
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub close_date: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub owner_id: UserId,
    #[schema(value_type = uuid::Uuid)]
    pub pipeline_id: PipelineId,
    #[schema(value_type = uuid::Uuid)]
    pub stage_id: StageId,
    /// Win probability in percent.
    pub probability: i32,
    pub forecast_category: ForecastCategory => record::choice_or(ForecastCategory::Pipeline),
    pub next_step: Option<String>,
    pub description: Option<String>,
    pub close_reason: Option<String>,
    /// When the deal entered a won or lost stage; empty while it is open.
    pub closed_at: Option<DateTime<Utc>>,
    pub tags: Vec<String> => record::tags_of,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value => record::custom_fields_of,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the deal entered its current stage.
    pub stage_changed_at: DateTime<Utc>,
    /// Deal risk, 0 to 100 (computed: `GET /api/v1/deals/{id}/risk` explains it); empty for a
    /// closed deal and until first computed.
    #[schema(minimum = 0, maximum = 100)]
    pub risk_score: Option<i32>,
    #[schema(value_type = Option<RiskLevel>)]
    pub risk_level: Option<RiskLevel> => crate::risk::level_of,
}
}

/// Fields a client cannot write.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "closed_at",
    "created_by",
    "created_at",
    "updated_at",
    "stage_changed_at",
    "bant_score",
    "meddicc_completeness",
    "meddicc_strength",
    "risk_score",
    "risk_level",
];

impl ListField for DealField {
    fn specs() -> &'static [FieldSpec<Self>] {
        DEAL_FIELDS
    }

    fn table() -> DynIden {
        iden(Deals::Table)
    }

    fn id_column() -> DynIden {
        iden(Deals::Id)
    }

    fn column(self) -> DynIden {
        if let Self::Checklist(name) = self {
            return iden(sea_orm::sea_query::Alias::new(name));
        }
        iden(match self {
            Self::Name => Deals::Name,
            Self::OwnerId => Deals::OwnerId,
            Self::AccountId => Deals::AccountId,
            Self::ContactId => Deals::ContactId,
            Self::PipelineId => Deals::PipelineId,
            Self::StageId => Deals::StageId,
            Self::ForecastCategory => Deals::ForecastCategory,
            Self::Amount => Deals::AmountMicros,
            Self::CloseDate => Deals::CloseDate,
            Self::Probability => Deals::Probability,
            Self::Tags => Deals::Tags,
            Self::CreatedAt => Deals::CreatedAt,
            Self::UpdatedAt => Deals::UpdatedAt,
            Self::Checklist(_) => Deals::Probability,
            Self::RiskScore => Deals::RiskScore,
        })
    }

    fn sort_expr(self) -> Expr {
        let col = Expr::col((Deals::Table, self.column()));
        match self {
            // A deal without an amount sorts before every amount (amounts are not negative).
            Self::Amount | Self::RiskScore => query::number_or_minus_one(col),
            Self::CloseDate => query::text_or_empty(col),
            Self::AccountId | Self::ContactId => query::id_or_nil(col),
            _ => col,
        }
    }
}

/// A deal's value of a sort field, as its cursor records it (matching `sort_expr`).
fn sort_value(deal: &Deal, field: DealField) -> FilterValue {
    match field {
        DealField::Name => FilterValue::Text(deal.name.clone()),
        DealField::OwnerId => FilterValue::Id(deal.owner_id.uuid()),
        DealField::AccountId => FilterValue::Id(deal.account_id.map(Id::uuid).unwrap_or_default()),
        DealField::ContactId => FilterValue::Id(deal.contact_id.map(Id::uuid).unwrap_or_default()),
        DealField::PipelineId => FilterValue::Id(deal.pipeline_id.uuid()),
        DealField::StageId => FilterValue::Id(deal.stage_id.uuid()),
        DealField::ForecastCategory => {
            FilterValue::Text(deal.forecast_category.as_str().to_owned())
        }
        DealField::Amount => FilterValue::Int(
            deal.amount
                .as_deref()
                .and_then(|a| Money::parse(a, String::new()).ok())
                .map_or(-1, |m| m.micros),
        ),
        DealField::CloseDate => FilterValue::Text(deal.close_date.clone().unwrap_or_default()),
        DealField::Probability => FilterValue::Int(i64::from(deal.probability)),
        DealField::Tags => FilterValue::Text(String::new()),
        DealField::CreatedAt => FilterValue::Time(deal.created_at),
        DealField::UpdatedAt => FilterValue::Time(deal.updated_at),
        DealField::Checklist(name) => {
            FilterValue::Int(i64::from(crate::checklist::checklist_score(
                name,
                [
                    deal.bant_score,
                    deal.meddicc_completeness,
                    deal.meddicc_strength,
                ],
            )))
        }
        DealField::RiskScore => FilterValue::Int(deal.risk_score.map_or(-1, i64::from)),
    }
}

impl Record for Deal {
    type Kind = kind::Deal;
    type Row = Self;
    type Field = DealField;
    const RESOURCE: Resource = Resource::Deals;
    const READ_ONLY: &'static [&'static str] = READ_ONLY_FIELDS;

    fn id(&self) -> DealId {
        self.id
    }
    fn owner(&self) -> UserId {
        self.owner_id
    }
    fn custom_fields(&self) -> &serde_json::Value {
        &self.custom_fields
    }
    fn sort_value(&self, field: DealField) -> FilterValue {
        sort_value(self, field)
    }

    /// What `q=` matches, case-insensitively, as a substring.
    fn text_columns() -> Vec<DynIden> {
        vec![iden(Deals::Name)]
    }

    fn audit_json(&self) -> serde_json::Value {
        let mut map = self.as_input();
        map.insert("id".into(), json!(self.id));
        map.insert("closed_at".into(), json!(self.closed_at));
        serde_json::Value::Object(map)
    }
}

impl Write for Deal {
    type Data = DealData;

    fn data_owner(data: &DealData) -> Option<UserId> {
        data.owner_id
    }

    /// References must be the company's; the stage places the deal in its pipeline and sets
    /// probability, forecast category and `closed_at` unless the data says otherwise.
    async fn write_columns(
        tx: &Tx,
        actor: &Actor,
        _id: DealId,
        data: &DealData,
        owner: UserId,
        before: Option<&Self>,
        at: DateTime<Utc>,
    ) -> Result<Vec<(DynIden, Value)>> {
        let resolved = resolve(tx, actor, data, owner, before, at).await?;
        let mut cols: Vec<(DynIden, Value)> = data_columns(data, &resolved)
            .into_iter()
            .map(|(c, v)| (iden(c), v))
            .collect();
        if resolved.stage_changed {
            cols.push((iden(Deals::StageChangedAt), at.into()));
        }
        crate::checklist::check_contacts(
            tx,
            actor,
            &data.checklist,
            before.map(crate::checklist::Checked::checklist).as_ref(),
        )
        .await?;
        cols.extend(data.notes.iter().map(|(name, note)| {
            (
                iden(sea_orm::sea_query::Alias::new(*name)),
                note.clone().into(),
            )
        }));
        let has_note = |name: &str| rivet_domain::leads::has_text(&data.notes, name);
        let mut checklist = data.checklist.clone();
        if let Some(budget) = checklist.budget.as_mut()
            && budget.currency.is_empty()
        {
            budget.currency.clone_from(&resolved.currency);
        }
        cols.extend(crate::checklist::columns(&checklist, &has_note));
        if before.is_none() {
            cols.push((iden(Deals::AmountHighMicros), data.amount_micros.into()));
        }
        Ok(cols)
    }

    /// A new stage (or the first) is recorded in the stage history.
    async fn after_write(
        tx: &Tx,
        actor: &Actor,
        data: &DealData,
        before: Option<&Self>,
        after: &mut Self,
        at: DateTime<Utc>,
    ) -> Result<()> {
        if before.is_none_or(|b| b.stage_id != after.stage_id) {
            record_stage_change(tx, actor, before, after, at).await?;
        }
        if let Some(before) = before {
            crate::risk::track_changes(tx, actor.company_id, before, after, data.amount_micros)
                .await?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, FromQueryResult)]
struct StageRow {
    id: StageId,
    pipeline_id: PipelineId,
    name: String,
    position: i32,
    probability: i32,
    forecast_category: String,
    outcome: String,
}

impl StageRow {
    fn outcome(&self) -> StageOutcome {
        self.outcome.parse().unwrap_or(StageOutcome::Open)
    }

    fn category(&self) -> ForecastCategory {
        self.forecast_category
            .parse()
            .unwrap_or(ForecastCategory::Pipeline)
    }
}

fn select_stages(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            PipelineStages::Id,
            PipelineStages::PipelineId,
            PipelineStages::Name,
            PipelineStages::Position,
            PipelineStages::Probability,
            PipelineStages::ForecastCategory,
            PipelineStages::Outcome,
        ])
        .from(PipelineStages::Table)
        .and_where(Expr::col(PipelineStages::CompanyId).eq(company_id))
        .order_by(PipelineStages::Position, Order::Asc)
        .order_by(PipelineStages::Id, Order::Asc)
        .to_owned()
}

async fn find_stage<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    id: StageId,
) -> Result<Option<StageRow>> {
    fetch_optional(
        conn,
        select_stages(company_id).and_where(Expr::col(PipelineStages::Id).eq(id)),
    )
    .await
}

async fn stages_of<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    pipeline_id: PipelineId,
) -> Result<Vec<StageRow>> {
    fetch_all(
        conn,
        select_stages(company_id).and_where(Expr::col(PipelineStages::PipelineId).eq(pipeline_id)),
    )
    .await
}

#[derive(Debug, FromQueryResult)]
struct IdRow {
    id: PipelineId,
}

/// The company's default pipeline, or `pipeline_id` when it is one of the company's (else 422
/// naming `pipeline_id`).
async fn pipeline_or_default<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    pipeline_id: Option<PipelineId>,
) -> Result<PipelineId> {
    let mut q = Query::select()
        .column(Pipelines::Id)
        .from(Pipelines::Table)
        .and_where(Expr::col(Pipelines::CompanyId).eq(company_id))
        .to_owned();
    match pipeline_id {
        Some(id) => q.and_where(Expr::col(Pipelines::Id).eq(id)),
        None => q.and_where(Expr::col(Pipelines::IsDefault).eq(true)),
    };
    let row: Option<IdRow> = fetch_optional(conn, &q).await?;
    row.map(|r| r.id).ok_or_else(|| {
        StoreError::invalid(
            "pipeline_id",
            if pipeline_id.is_some() {
                "is not a pipeline of this company"
            } else {
                "is required: the company has no default pipeline"
            },
        )
    })
}

/// The pipeline and stage `data` puts the deal in: the stage given (in the pipeline given, or in
/// its own), or the first stage of the pipeline given or of the default one.
async fn place<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    data: &DealData,
) -> Result<(PipelineId, StageRow)> {
    let stage =
        match data.stage_id {
            Some(id) => Some(find_stage(conn, company_id, id).await?.ok_or_else(|| {
                StoreError::invalid("stage_id", "is not a stage of this company")
            })?),
            None => None,
        };
    let pipeline_id = match (data.pipeline_id, &stage) {
        (None, Some(stage)) => stage.pipeline_id,
        (given, _) => pipeline_or_default(conn, company_id, given).await?,
    };
    match stage {
        Some(stage) if stage.pipeline_id != pipeline_id => Err(StoreError::invalid(
            "stage_id",
            "is not a stage of the deal's pipeline",
        )),
        Some(stage) => Ok((pipeline_id, stage)),
        None => stages_of(conn, company_id, pipeline_id)
            .await?
            .into_iter()
            .next()
            .map(|s| (pipeline_id, s))
            .ok_or_else(|| StoreError::invalid("pipeline_id", "has no stages")),
    }
}

#[derive(Debug, FromQueryResult)]
struct ContactRef {
    id: ContactId,
    account_id: Option<AccountId>,
}

fn select_contact_refs(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            (Contacts::Table, Contacts::Id),
            (Contacts::Table, Contacts::FirstName),
            (Contacts::Table, Contacts::LastName),
            (Contacts::Table, Contacts::Email),
            (Contacts::Table, Contacts::AccountId),
        ])
        .from(Contacts::Table)
        .and_where(Expr::col((Contacts::Table, Contacts::CompanyId)).eq(company_id))
        .to_owned()
}

/// The account and primary contact exist in the company, and the contact belongs to the account
/// when both are given.
async fn check_references<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    data: &DealData,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    if let Some(account) = data.account_id
        && !accounts::exists(conn, actor, account).await?
    {
        errors.add("account_id", "is not an account of this company");
    }
    if let Some(contact) = data.contact_id {
        let row: Option<ContactRef> = fetch_optional(
            conn,
            select_contact_refs(actor.company_id)
                .and_where(Expr::col((Contacts::Table, Contacts::Id)).eq(contact)),
        )
        .await?;
        match row {
            None => errors.add("contact_id", "is not a contact of this company"),
            Some(c) => {
                if let Some(account) = data.account_id
                    && c.account_id != Some(account)
                {
                    errors.add("contact_id", "is not a contact of account_id");
                }
            }
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

#[derive(Debug, FromQueryResult)]
struct CompanyRow {
    currency: String,
    require_close_reason: bool,
}

async fn company_settings<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
) -> Result<CompanyRow> {
    fetch_optional(
        conn,
        Query::select()
            .column(Companies::Currency)
            .column(CompanyDealSettings::RequireCloseReason)
            .from(Companies::Table)
            .and_where(Expr::col(Companies::Id).eq(company_id)),
    )
    .await?
    .ok_or(StoreError::NotFound)
}

/// Everything a write stores beyond the validated data: the defaults filled in and what the
/// stage decides.
struct Resolved {
    owner_id: UserId,
    currency: String,
    pipeline_id: PipelineId,
    stage: StageRow,
    stage_changed: bool,
    probability: i32,
    forecast_category: ForecastCategory,
    closed_at: Option<DateTime<Utc>>,
}

/// Check `data` against the company (references, pipeline and stage, the close reason
/// rule) and work out the stored values; `before` is the deal being changed, if any.
async fn resolve(
    tx: &Tx,
    actor: &Actor,
    data: &DealData,
    owner_id: UserId,
    before: Option<&Deal>,
    at: DateTime<Utc>,
) -> Result<Resolved> {
    if before.is_none_or(|b| b.account_id != data.account_id || b.contact_id != data.contact_id) {
        check_references(tx.conn(), actor, data).await?;
    }
    let (pipeline_id, stage) = place(tx.conn(), actor.company_id, data).await?;
    let stage_changed = before.is_none_or(|b| b.stage_id != stage.id);
    let probability = data.probability.unwrap_or(match before {
        Some(b) if !stage_changed => b.probability,
        _ => stage.probability,
    });
    let forecast_category = data.forecast_category.unwrap_or(match before {
        Some(b) if !stage_changed => b.forecast_category,
        _ => stage.category(),
    });
    let settings = company_settings(tx.conn(), actor.company_id).await?;
    let closed_at = match (stage.outcome(), before) {
        (StageOutcome::Open, _) => None,
        (_, Some(b)) if !stage_changed => b.closed_at.or(Some(at)),
        _ => {
            if settings.require_close_reason && data.close_reason.is_none() {
                return Err(StoreError::invalid(
                    "close_reason",
                    "is required to close a deal won or lost",
                ));
            }
            Some(at)
        }
    };
    Ok(Resolved {
        owner_id,
        currency: data.currency.clone().unwrap_or(settings.currency),
        pipeline_id,
        stage,
        stage_changed,
        probability,
        forecast_category,
        closed_at,
    })
}

fn data_columns(data: &DealData, r: &Resolved) -> Vec<(Deals, Value)> {
    vec![
        (Deals::Name, data.name.clone().into()),
        (Deals::AccountId, data.account_id.into()),
        (Deals::ContactId, data.contact_id.into()),
        (Deals::AmountMicros, data.amount_micros.into()),
        (Deals::Currency, r.currency.clone().into()),
        (Deals::CloseDate, data.close_date.clone().into()),
        (Deals::OwnerId, r.owner_id.into()),
        (Deals::PipelineId, r.pipeline_id.into()),
        (Deals::StageId, r.stage.id.into()),
        (Deals::Probability, r.probability.into()),
        (Deals::ForecastCategory, r.forecast_category.as_str().into()),
        (Deals::NextStep, data.next_step.clone().into()),
        (Deals::Description, data.description.clone().into()),
        (Deals::CloseReason, data.close_reason.clone().into()),
        (Deals::ClosedAt, r.closed_at.into()),
        (Deals::Tags, json!(data.tags).into()),
        (
            Deals::CustomFields,
            serde_json::Value::Object(data.custom_fields.clone()).into(),
        ),
    ]
}

/// Record a stage change (or the first stage) of a deal, in the transaction that made it.
async fn record_stage_change(
    tx: &Tx,
    actor: &Actor,
    before: Option<&Deal>,
    after: &Deal,
    at: DateTime<Utc>,
) -> Result<()> {
    exec(
        tx.conn(),
        Query::insert()
            .into_table(DealStageHistory::Table)
            .columns([
                DealStageHistory::CompanyId,
                DealStageHistory::Id,
                DealStageHistory::DealId,
                DealStageHistory::FromStageId,
                DealStageHistory::ToStageId,
                DealStageHistory::FromPipelineId,
                DealStageHistory::ToPipelineId,
                DealStageHistory::ChangedBy,
                DealStageHistory::ChangedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                new_id().into(),
                after.id.into(),
                before.map(|b| b.stage_id).into(),
                after.stage_id.into(),
                before.map(|b| b.pipeline_id).into(),
                after.pipeline_id.into(),
                actor.user_id.into(),
                at.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// How many deals sit in a pipeline (whoever owns them).
pub(crate) async fn count_in_pipeline<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    pipeline_id: PipelineId,
) -> Result<u64> {
    let n = fetch_count(
        conn,
        Query::select()
            .expr(Expr::col(Deals::Id).count())
            .from(Deals::Table)
            .and_where(Expr::col(Deals::CompanyId).eq(company_id))
            .and_where(Expr::col(Deals::PipelineId).eq(pipeline_id)),
    )
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many deals sit in a stage (whoever owns them).
pub(crate) async fn count_in_stage<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    stage_id: StageId,
) -> Result<u64> {
    let n = fetch_count(
        conn,
        Query::select()
            .expr(Expr::col(Deals::Id).count())
            .from(Deals::Table)
            .and_where(Expr::col(Deals::CompanyId).eq(company_id))
            .and_where(Expr::col(Deals::StageId).eq(stage_id)),
    )
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// What a deal pointed at and is being deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detach {
    Account,
    Contact,
}

/// Empty the account (or primary contact) of every deal that names one of `ids`, whoever owns
/// the deal, inside the transaction deleting them: a deal outlives its account or contact, as
/// in Salesforce and HubSpot, and keeps an audit row saying what it lost. Contact roles need
/// nothing: they go with the contact.
pub(crate) async fn detach(tx: &Tx, actor: &Actor, what: Detach, ids: &[Uuid]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let column = match what {
        Detach::Account => Deals::AccountId,
        Detach::Contact => Deals::ContactId,
    };
    let deals: Vec<Deal> = record::all_where(
        tx.conn(),
        actor,
        Cond::all().add(Expr::col((Deals::Table, column)).is_in(ids.iter().copied())),
    )
    .await?;
    record::update_rows(
        tx,
        actor,
        &deals,
        vec![(iden(column), Option::<Uuid>::None.into())],
        |deal, at| {
            match what {
                Detach::Account => deal.account_id = None,
                Detach::Contact => deal.contact_id = None,
            }
            deal.updated_at = at;
        },
    )
    .await
}

/// One stage change of a deal, with how long the deal stayed in the stage it entered.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StageChange {
    pub id: Uuid,
    /// Empty for the stage the deal was created in.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub from_stage_id: Option<StageId>,
    /// The stage's current name; empty once the stage is deleted.
    pub from_stage_name: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub to_stage_id: StageId,
    pub to_stage_name: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub from_pipeline_id: Option<PipelineId>,
    #[schema(value_type = uuid::Uuid)]
    pub to_pipeline_id: PipelineId,
    #[schema(value_type = uuid::Uuid)]
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
    /// Seconds in `to_stage_id`: until the next change, or until now for the current stage.
    pub seconds_in_stage: i64,
}

#[derive(Debug, FromQueryResult)]
struct HistoryRow {
    id: Uuid,
    from_stage_id: Option<StageId>,
    to_stage_id: StageId,
    from_pipeline_id: Option<PipelineId>,
    to_pipeline_id: PipelineId,
    changed_by: UserId,
    changed_at: DateTime<Utc>,
}

/// The stage changes of a deal the caller may read, oldest first.
pub async fn stage_history(
    store: &Store,
    actor: &Actor,
    deal_id: DealId,
) -> Result<Vec<StageChange>> {
    record::get::<Deal>(store, actor, deal_id).await?;
    let rows: Vec<HistoryRow> = fetch_all(
        store.read(actor).await?.conn(),
        Query::select()
            .columns([
                DealStageHistory::Id,
                DealStageHistory::FromStageId,
                DealStageHistory::ToStageId,
                DealStageHistory::FromPipelineId,
                DealStageHistory::ToPipelineId,
                DealStageHistory::ChangedBy,
                DealStageHistory::ChangedAt,
            ])
            .from(DealStageHistory::Table)
            .and_where(Expr::col(DealStageHistory::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(DealStageHistory::DealId).eq(deal_id))
            .order_by(DealStageHistory::ChangedAt, Order::Asc)
            .order_by(DealStageHistory::Id, Order::Asc),
    )
    .await?;
    let stages: Vec<StageRow> = fetch_all(
        store.read(actor).await?.conn(),
        &select_stages(actor.company_id),
    )
    .await?;
    let names: HashMap<StageId, String> = stages.into_iter().map(|s| (s.id, s.name)).collect();
    let until = now();
    let ends: Vec<DateTime<Utc>> = rows
        .iter()
        .skip(1)
        .map(|r| r.changed_at)
        .chain(std::iter::once(until))
        .collect();
    Ok(rows
        .into_iter()
        .zip(ends)
        .map(|(r, end)| StageChange {
            id: r.id,
            from_stage_id: r.from_stage_id,
            from_stage_name: r.from_stage_id.and_then(|s| names.get(&s).cloned()),
            to_stage_id: r.to_stage_id,
            to_stage_name: names.get(&r.to_stage_id).cloned(),
            from_pipeline_id: r.from_pipeline_id,
            to_pipeline_id: r.to_pipeline_id,
            changed_by: r.changed_by,
            changed_at: r.changed_at,
            seconds_in_stage: std::cmp::max((end - r.changed_at).num_seconds(), 0),
        })
        .collect())
}

/// A contact's role on a deal.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DealContact {
    #[schema(value_type = uuid::Uuid)]
    pub contact_id: ContactId,
    /// First and last name.
    pub name: String,
    pub email: Option<String>,
    pub role: ContactRole,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct DealContactRow {
    id: ContactId,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    role: String,
    created_at: DateTime<Utc>,
}

fn full_name(first: Option<&str>, last: Option<&str>) -> String {
    [first, last]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl From<DealContactRow> for DealContact {
    fn from(r: DealContactRow) -> Self {
        Self {
            contact_id: r.id,
            name: full_name(r.first_name.as_deref(), r.last_name.as_deref()),
            email: r.email,
            role: r.role.parse().unwrap_or(ContactRole::Other),
            created_at: r.created_at,
        }
    }
}

/// The contacts of a deal with their roles, oldest link first; `visible` limits them to the
/// contacts the caller may read.
async fn roles_of<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    deal_id: DealId,
    visible: Option<Cond>,
) -> Result<Vec<DealContact>> {
    let mut q = select_contact_refs(actor.company_id);
    q.column((DealContacts::Table, DealContacts::Role))
        .column((DealContacts::Table, DealContacts::CreatedAt))
        .inner_join(
            DealContacts::Table,
            Expr::col((DealContacts::Table, DealContacts::CompanyId))
                .equals((Contacts::Table, Contacts::CompanyId))
                .and(
                    Expr::col((DealContacts::Table, DealContacts::ContactId))
                        .equals((Contacts::Table, Contacts::Id)),
                ),
        )
        .and_where(Expr::col((DealContacts::Table, DealContacts::DealId)).eq(deal_id))
        .order_by((DealContacts::Table, DealContacts::CreatedAt), Order::Asc)
        .order_by((Contacts::Table, Contacts::Id), Order::Asc);
    if let Some(cond) = visible {
        q.cond_where(cond);
    }
    let rows: Vec<DealContactRow> = fetch_all(conn, &q).await?;
    Ok(rows.into_iter().map(DealContact::from).collect())
}

fn contact_scope(actor: &Actor) -> Result<Option<Cond>> {
    match query::scope_condition(actor, Resource::Contacts, Action::Read, || {
        Expr::col((Contacts::Table, Contacts::OwnerId))
    }) {
        Ok(cond) => Ok(Some(cond)),
        Err(StoreError::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The contacts of a deal the caller may read, with their roles; contacts outside the caller's
/// scope on contacts are left out.
pub async fn contacts_of(
    store: &Store,
    actor: &Actor,
    deal_id: DealId,
) -> Result<Vec<DealContact>> {
    record::get::<Deal>(store, actor, deal_id).await?;
    match contact_scope(actor)? {
        Some(cond) => roles_of(store.read(actor).await?.conn(), actor, deal_id, Some(cond)).await,
        None => Ok(Vec::new()),
    }
}

fn roles_json(roles: &[DealContact]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = roles
        .iter()
        .map(|r| json!({"contact_id": r.contact_id, "role": r.role}))
        .collect();
    json!({ "contacts": list })
}

/// Give a contact (of the company, readable by the caller) a role on a deal the caller may
/// change, or change its role; audited on the deal.
pub async fn set_contact_role(
    store: &Store,
    actor: &Actor,
    deal_id: DealId,
    contact_id: ContactId,
    role: ContactRole,
) -> Result<DealContact> {
    let tx = store.write(actor).await?;
    record::get_in::<Deal, _>(tx.conn(), actor, Action::Update, deal_id).await?;
    let Some(visible) = contact_scope(actor)? else {
        return Err(StoreError::Forbidden);
    };
    let mut q = select_contact_refs(actor.company_id);
    q.cond_where(visible)
        .and_where(Expr::col((Contacts::Table, Contacts::Id)).eq(contact_id));
    let contact: Option<ContactRef> = fetch_optional(tx.conn(), &q).await?;
    let Some(contact) = contact else {
        return Err(StoreError::NotFound);
    };
    let before = roles_of(tx.conn(), actor, deal_id, None).await?;
    if before.iter().any(|r| r.contact_id == contact.id) {
        exec(
            tx.conn(),
            Query::update()
                .table(DealContacts::Table)
                .value(DealContacts::Role, role.as_str())
                .and_where(Expr::col(DealContacts::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(DealContacts::DealId).eq(deal_id))
                .and_where(Expr::col(DealContacts::ContactId).eq(contact.id)),
        )
        .await?;
    } else {
        exec(
            tx.conn(),
            Query::insert()
                .into_table(DealContacts::Table)
                .columns([
                    DealContacts::CompanyId,
                    DealContacts::DealId,
                    DealContacts::ContactId,
                    DealContacts::Role,
                    DealContacts::CreatedAt,
                ])
                .values_panic([
                    actor.company_id.into(),
                    deal_id.into(),
                    contact.id.into(),
                    role.as_str().into(),
                    now().into(),
                ]),
        )
        .await?;
    }
    let after = roles_of(tx.conn(), actor, deal_id, None).await?;
    tx.audit(
        Resource::Deals,
        deal_id,
        Action::Update,
        Some(&roles_json(&before)),
        Some(&roles_json(&after)),
    )
    .await?;
    tx.commit().await?;
    after
        .into_iter()
        .find(|r| r.contact_id == contact_id)
        .ok_or(StoreError::NotFound)
}

/// Take a contact off a deal the caller may change; not found when it has no role there.
pub async fn remove_contact(
    store: &Store,
    actor: &Actor,
    deal_id: DealId,
    contact_id: ContactId,
) -> Result<()> {
    let tx = store.write(actor).await?;
    record::get_in::<Deal, _>(tx.conn(), actor, Action::Update, deal_id).await?;
    let before = roles_of(tx.conn(), actor, deal_id, None).await?;
    let removed = exec(
        tx.conn(),
        Query::delete()
            .from_table(DealContacts::Table)
            .and_where(Expr::col(DealContacts::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(DealContacts::DealId).eq(deal_id))
            .and_where(Expr::col(DealContacts::ContactId).eq(contact_id)),
    )
    .await?;
    if removed == 0 {
        return Err(StoreError::NotFound);
    }
    let after: Vec<DealContact> = before
        .iter()
        .filter(|r| r.contact_id != contact_id)
        .cloned()
        .collect();
    tx.audit(
        Resource::Deals,
        deal_id,
        Action::Update,
        Some(&roles_json(&before)),
        Some(&roles_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One column of a pipeline board.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StageSummary {
    #[schema(value_type = uuid::Uuid)]
    pub stage_id: StageId,
    pub name: String,
    pub position: i32,
    pub outcome: StageOutcome,
    /// Deals in the stage.
    pub count: i64,
    /// Sum of the amounts (decimal string; amounts in any currency are added as they are).
    pub total_amount: String,
    /// Sum of amount × probability / 100.
    pub weighted_amount: String,
}

/// A pipeline board: every stage in order with its deals counted and summed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PipelineSummary {
    #[schema(value_type = uuid::Uuid)]
    pub pipeline_id: PipelineId,
    pub stages: Vec<StageSummary>,
    pub count: i64,
    pub total_amount: String,
    pub weighted_amount: String,
}

#[derive(Debug, FromQueryResult)]
struct SumRow {
    stage_id: StageId,
    n: i64,
    total: i64,
    weighted: i64,
}

/// `CAST(COALESCE(SUM(expr), 0) AS BIGINT)`: a sum both engines hand back as an i64.
fn sum_micros(expr: Expr) -> Expr {
    Func::cast_as(
        Func::coalesce([Func::sum(expr).into(), Expr::val(0_i64)]),
        "BIGINT",
    )
    .into()
}

/// Count and sum the deals the caller may read in each stage of `pipeline_id` (the default
/// pipeline when `None`), after `filters` and the name search `q`.
pub async fn summary(
    store: &Store,
    actor: &Actor,
    pipeline_id: Option<PipelineId>,
    filters: &[Filter<DealField>],
    q: Option<&str>,
) -> Result<PipelineSummary> {
    let pipeline_id = pipeline_or_default(
        store.read(actor).await?.conn(),
        actor.company_id,
        pipeline_id,
    )
    .await?;
    let stages = stages_of(
        store.read(actor).await?.conn(),
        actor.company_id,
        pipeline_id,
    )
    .await?;
    let amount = || Expr::col((Deals::Table, Deals::AmountMicros));
    let mut stmt = Query::select()
        .column((Deals::Table, Deals::StageId))
        .expr_as(Expr::col((Deals::Table, Deals::Id)).count(), "n")
        .expr_as(sum_micros(amount()), "total")
        .expr_as(
            sum_micros(
                amount()
                    .mul(Expr::col((Deals::Table, Deals::Probability)))
                    .div(100),
            ),
            "weighted",
        )
        .from(Deals::Table)
        .and_where(Expr::col((Deals::Table, Deals::CompanyId)).eq(actor.company_id))
        .and_where(Expr::col((Deals::Table, Deals::PipelineId)).eq(pipeline_id))
        .group_by_col((Deals::Table, Deals::StageId))
        .to_owned();
    stmt.cond_where(record::scope::<Deal>(actor, Action::Read)?);
    stmt.cond_where(query::filter_condition(filters, store.backend()));
    if let Some(text) = q {
        stmt.cond_where(record::text_match::<Deal>(text));
    }
    let sums: Vec<SumRow> = fetch_all(store.read(actor).await?.conn(), &stmt).await?;
    let by_stage: HashMap<StageId, &SumRow> = sums.iter().map(|s| (s.stage_id, s)).collect();
    let mut out = PipelineSummary {
        pipeline_id,
        stages: Vec::with_capacity(stages.len()),
        count: 0,
        total_amount: String::new(),
        weighted_amount: String::new(),
    };
    let (mut total, mut weighted) = (0_i64, 0_i64);
    for stage in stages {
        let (n, t, w) = by_stage
            .get(&stage.id)
            .map_or((0, 0, 0), |s| (s.n, s.total, s.weighted));
        out.count += n;
        total = total.saturating_add(t);
        weighted = weighted.saturating_add(w);
        out.stages.push(StageSummary {
            stage_id: stage.id,
            outcome: stage.outcome(),
            name: stage.name,
            position: stage.position,
            count: n,
            total_amount: record::amount_text(t),
            weighted_amount: record::amount_text(w),
        });
    }
    out.total_amount = record::amount_text(total);
    out.weighted_amount = record::amount_text(weighted);
    Ok(out)
}
