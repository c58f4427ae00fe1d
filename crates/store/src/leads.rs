//! Leads: list (typed filters, multi-field sort, keyset cursor), read, create, update, delete,
//! and bulk update/delete — every query filtered by the caller's company and their scope on
//! leads, every change audited in its transaction. The first record type; later ones copy it.

use crate::query::{self, ListField, Seek, escape_like, iden};
use crate::row::table_row;
use crate::schema::Leads;
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::leads::{LEAD_FIELDS, LeadData, LeadField, LeadStatus};
use rivet_domain::query::{Condition, FieldSpec, FilterValue, ListQuery, SortKey};
use rivet_domain::values::Money;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{
    Cond, DynIden, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, Value,
};
use serde::Serialize;
use serde_json::Map;
use uuid::Uuid;

/// A lead as the API shows it. Money is a decimal string; field names are those a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Lead {
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub company_name: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    /// Decimal string, e.g. `"12500.10"`.
    pub annual_revenue: Option<String>,
    pub annual_revenue_currency: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub source: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub status: LeadStatus,
    pub owner_id: Uuid,
    pub tags: Vec<String>,
    pub fit_score: i32,
    pub engagement_score: i32,
    pub total_score: i32,
    pub budget: Option<String>,
    pub authority: Option<String>,
    pub need: Option<String>,
    pub timeline: Option<String>,
    pub metrics: Option<String>,
    pub economic_buyer: Option<String>,
    pub decision_criteria: Option<String>,
    pub decision_process: Option<String>,
    pub identified_pain: Option<String>,
    pub champion: Option<String>,
    pub competition: Option<String>,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields a client cannot write; everything else of [`Lead`] is a [`rivet_domain::leads::LeadInput`]
/// field of the same name.
pub const READ_ONLY_FIELDS: &[&str] = &["id", "created_by", "created_at", "updated_at"];

impl Lead {
    /// One of the BANT or MEDDICC notes by its field name.
    fn qualification(&self, name: &str) -> Option<&String> {
        match name {
            "budget" => self.budget.as_ref(),
            "authority" => self.authority.as_ref(),
            "need" => self.need.as_ref(),
            "timeline" => self.timeline.as_ref(),
            "metrics" => self.metrics.as_ref(),
            "economic_buyer" => self.economic_buyer.as_ref(),
            "decision_criteria" => self.decision_criteria.as_ref(),
            "decision_process" => self.decision_process.as_ref(),
            "identified_pain" => self.identified_pain.as_ref(),
            "champion" => self.champion.as_ref(),
            "competition" => self.competition.as_ref(),
            _ => None,
        }
    }

    /// The record as a client would write it (for merging a patch).
    pub fn as_input(&self) -> Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => Map::new(),
        };
        for field in READ_ONLY_FIELDS {
            map.remove(*field);
        }
        map
    }

    fn audit_json(&self) -> serde_json::Value {
        let mut map = self.as_input();
        map.insert("id".into(), serde_json::json!(self.id));
        serde_json::Value::Object(map)
    }
}

table_row! {
#[derive(Debug)]
struct LeadRow in Leads::Table {
    id: Uuid,
    first_name: Option<String>,
    last_name: Option<String>,
    title: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    company_name: Option<String>,
    website: Option<String>,
    industry: Option<String>,
    employee_count: Option<i64>,
    annual_revenue_micros: Option<i64>,
    annual_revenue_currency: Option<String>,
    street: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    source: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
    status: String,
    owner_id: Uuid,
    tags: serde_json::Value,
    fit_score: i32,
    engagement_score: i32,
    total_score: i32,
    budget: Option<String>,
    authority: Option<String>,
    need: Option<String>,
    timeline: Option<String>,
    metrics: Option<String>,
    economic_buyer: Option<String>,
    decision_criteria: Option<String>,
    decision_process: Option<String>,
    identified_pain: Option<String>,
    champion: Option<String>,
    competition: Option<String>,
    custom_fields: serde_json::Value,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}
}

impl From<LeadRow> for Lead {
    fn from(r: LeadRow) -> Self {
        let annual_revenue = r.annual_revenue_micros.map(|micros| {
            Money {
                micros,
                currency: String::new(),
            }
            .amount()
        });
        let tags = serde_json::from_value(query::json_column(r.tags)).unwrap_or_default();
        let custom_fields = match query::json_column(r.custom_fields) {
            v @ serde_json::Value::Object(_) => v,
            _ => serde_json::Value::Object(Map::new()),
        };
        Self {
            id: r.id,
            first_name: r.first_name,
            last_name: r.last_name,
            title: r.title,
            email: r.email,
            phone: r.phone,
            mobile: r.mobile,
            company_name: r.company_name,
            website: r.website,
            industry: r.industry,
            employee_count: r.employee_count,
            annual_revenue,
            annual_revenue_currency: r.annual_revenue_currency,
            street: r.street,
            city: r.city,
            region: r.region,
            postal_code: r.postal_code,
            country: r.country,
            source: r.source,
            utm_source: r.utm_source,
            utm_medium: r.utm_medium,
            utm_campaign: r.utm_campaign,
            utm_term: r.utm_term,
            utm_content: r.utm_content,
            status: r.status.parse().unwrap_or(LeadStatus::New),
            owner_id: r.owner_id,
            tags,
            fit_score: r.fit_score,
            engagement_score: r.engagement_score,
            total_score: r.total_score,
            budget: r.budget,
            authority: r.authority,
            need: r.need,
            timeline: r.timeline,
            metrics: r.metrics,
            economic_buyer: r.economic_buyer,
            decision_criteria: r.decision_criteria,
            decision_process: r.decision_process,
            identified_pain: r.identified_pain,
            champion: r.champion,
            competition: r.competition,
            custom_fields,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl ListField for LeadField {
    fn specs() -> &'static [FieldSpec<Self>] {
        LEAD_FIELDS
    }

    fn table() -> DynIden {
        iden(Leads::Table)
    }

    fn id_column() -> DynIden {
        iden(Leads::Id)
    }

    fn column(self) -> DynIden {
        iden(match self {
            Self::Status => Leads::Status,
            Self::OwnerId => Leads::OwnerId,
            Self::CreatedAt => Leads::CreatedAt,
            Self::UpdatedAt => Leads::UpdatedAt,
            Self::Email => Leads::EmailNorm,
            Self::FirstName => Leads::FirstName,
            Self::LastName => Leads::LastName,
            Self::Title => Leads::Title,
            Self::CompanyName => Leads::CompanyName,
            Self::Industry => Leads::Industry,
            Self::EmployeeCount => Leads::EmployeeCount,
            Self::AnnualRevenue => Leads::AnnualRevenueMicros,
            Self::City => Leads::City,
            Self::Region => Leads::Region,
            Self::Country => Leads::Country,
            Self::Source => Leads::Source,
            Self::UtmSource => Leads::UtmSource,
            Self::UtmMedium => Leads::UtmMedium,
            Self::UtmCampaign => Leads::UtmCampaign,
            Self::UtmTerm => Leads::UtmTerm,
            Self::UtmContent => Leads::UtmContent,
            Self::Tags => Leads::Tags,
            Self::FitScore => Leads::FitScore,
            Self::EngagementScore => Leads::EngagementScore,
            Self::TotalScore => Leads::TotalScore,
            // Every qualification name is one of TEXT_FIELDS (a test checks it).
            Self::Qualification(name) => text_column(name).unwrap_or(Leads::Budget),
        })
    }

    /// NULLs sort as `''` (text) or -1 (numbers, which are never negative), the value the
    /// cursor records for them.
    fn sort_expr(self) -> Expr {
        let col = Expr::col((Leads::Table, self.column()));
        match self {
            Self::Status
            | Self::OwnerId
            | Self::CreatedAt
            | Self::UpdatedAt
            | Self::Tags
            | Self::FitScore
            | Self::EngagementScore
            | Self::TotalScore => col,
            Self::EmployeeCount | Self::AnnualRevenue => query::number_or_minus_one(col),
            _ => query::text_or_empty(col),
        }
    }
}

/// A lead's value of a sort field, as its cursor records it (matching `sort_expr`).
fn sort_value(lead: &Lead, field: LeadField) -> FilterValue {
    let text = |v: &Option<String>| FilterValue::Text(v.clone().unwrap_or_default());
    match field {
        LeadField::Status => FilterValue::Text(lead.status.as_str().to_owned()),
        LeadField::OwnerId => FilterValue::Id(lead.owner_id),
        LeadField::CreatedAt => FilterValue::Time(lead.created_at),
        LeadField::UpdatedAt => FilterValue::Time(lead.updated_at),
        LeadField::Email => text(&lead.email.as_ref().map(|e| e.to_lowercase())),
        LeadField::FirstName => text(&lead.first_name),
        LeadField::LastName => text(&lead.last_name),
        LeadField::Title => text(&lead.title),
        LeadField::CompanyName => text(&lead.company_name),
        LeadField::Industry => text(&lead.industry),
        LeadField::EmployeeCount => FilterValue::Int(lead.employee_count.unwrap_or(-1)),
        LeadField::AnnualRevenue => FilterValue::Int(
            lead.annual_revenue
                .as_deref()
                .and_then(|a| Money::parse(a, String::new()).ok())
                .map_or(-1, |m| m.micros),
        ),
        LeadField::City => text(&lead.city),
        LeadField::Region => text(&lead.region),
        LeadField::Country => text(&lead.country),
        LeadField::Source => text(&lead.source),
        LeadField::UtmSource => text(&lead.utm_source),
        LeadField::UtmMedium => text(&lead.utm_medium),
        LeadField::UtmCampaign => text(&lead.utm_campaign),
        LeadField::UtmTerm => text(&lead.utm_term),
        LeadField::UtmContent => text(&lead.utm_content),
        LeadField::Tags => FilterValue::Text(String::new()),
        LeadField::FitScore => FilterValue::Int(i64::from(lead.fit_score)),
        LeadField::EngagementScore => FilterValue::Int(i64::from(lead.engagement_score)),
        LeadField::TotalScore => FilterValue::Int(i64::from(lead.total_score)),
        LeadField::Qualification(name) => text(&lead.qualification(name).cloned()),
    }
}

fn text_column(field: &str) -> Option<Leads> {
    Some(match field {
        "first_name" => Leads::FirstName,
        "last_name" => Leads::LastName,
        "title" => Leads::Title,
        "phone" => Leads::Phone,
        "mobile" => Leads::Mobile,
        "company_name" => Leads::CompanyName,
        "website" => Leads::Website,
        "industry" => Leads::Industry,
        "street" => Leads::Street,
        "city" => Leads::City,
        "region" => Leads::Region,
        "postal_code" => Leads::PostalCode,
        "country" => Leads::Country,
        "source" => Leads::Source,
        "utm_source" => Leads::UtmSource,
        "utm_medium" => Leads::UtmMedium,
        "utm_campaign" => Leads::UtmCampaign,
        "utm_term" => Leads::UtmTerm,
        "utm_content" => Leads::UtmContent,
        "budget" => Leads::Budget,
        "authority" => Leads::Authority,
        "need" => Leads::Need,
        "timeline" => Leads::Timeline,
        "metrics" => Leads::Metrics,
        "economic_buyer" => Leads::EconomicBuyer,
        "decision_criteria" => Leads::DecisionCriteria,
        "decision_process" => Leads::DecisionProcess,
        "identified_pain" => Leads::IdentifiedPain,
        "champion" => Leads::Champion,
        "competition" => Leads::Competition,
        _ => return None,
    })
}

/// The columns a [`LeadData`] writes (everything but ids, creator and times).
fn data_columns(data: &LeadData, owner_id: Uuid) -> Vec<(Leads, Value)> {
    let mut cols: Vec<(Leads, Value)> = data
        .text
        .iter()
        .filter_map(|(field, value)| text_column(field).map(|c| (c, value.clone().into())))
        .collect();
    let email = data.email.as_ref().map(|e| e.as_str().to_owned());
    cols.extend([
        (Leads::Email, email.clone().into()),
        (Leads::EmailNorm, email.map(|e| e.to_lowercase()).into()),
        (Leads::EmployeeCount, data.employee_count.into()),
        (
            Leads::AnnualRevenueMicros,
            data.annual_revenue.as_ref().map(|m| m.micros).into(),
        ),
        (
            Leads::AnnualRevenueCurrency,
            data.annual_revenue
                .as_ref()
                .map(|m| m.currency.clone())
                .into(),
        ),
        (Leads::Status, data.status.as_str().into()),
        (Leads::OwnerId, owner_id.into()),
        (Leads::Tags, serde_json::json!(data.tags).into()),
        (Leads::FitScore, data.fit_score.into()),
        (Leads::EngagementScore, data.engagement_score.into()),
        (Leads::TotalScore, data.total_score.into()),
        (
            Leads::CustomFields,
            serde_json::Value::Object(data.custom_fields.clone()).into(),
        ),
    ]);
    cols
}

fn select_leads(company_id: Uuid) -> SelectStatement {
    Query::select()
        .columns(LeadRow::columns())
        .from(Leads::Table)
        .and_where(Expr::col((Leads::Table, Leads::CompanyId)).eq(company_id))
        .to_owned()
}

/// The caller's scope on leads as a `WHERE`.
fn scope_condition(actor: &Actor, action: Action) -> Result<Cond> {
    query::scope_condition(actor, Resource::Leads, action, || {
        Expr::col((Leads::Table, Leads::OwnerId))
    })
}

/// Read a cursor made by [`list`] under the same sort.
pub fn decode_cursor(sort: &[SortKey<LeadField>], text: &str) -> Option<Seek> {
    query::decode_cursor(sort, text)
}

/// One page of the leads the caller may read.
pub async fn list(
    store: &Store,
    actor: &Actor,
    list: &ListQuery<LeadField>,
    limit: u64,
    after: Option<&Seek>,
) -> Result<Page<Lead>> {
    let r = store.read(actor).await?;
    let mut q = select_leads(actor.company_id);
    q.cond_where(scope_condition(actor, Action::Read)?);
    let mut filters = list.filters.clone();
    for filter in &mut filters {
        // E-mails are compared in their normalised (lower-case) form.
        if filter.field == LeadField::Email
            && let Condition::Eq(FilterValue::Text(text)) = &mut filter.condition
        {
            *text = text.trim().to_lowercase();
        }
    }
    q.cond_where(query::filter_condition(&filters, store.backend()));
    q.cond_where(query::custom_condition(list, store.backend()));
    if let Some(text) = &list.q {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |col: Leads| {
            Expr::expr(Func::lower(Expr::col((Leads::Table, col))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        q.cond_where(
            Cond::any()
                .add(like(Leads::FirstName))
                .add(like(Leads::LastName))
                .add(like(Leads::EmailNorm))
                .add(like(Leads::CompanyName)),
        );
    }
    query::order_and_seek_list(&mut q, list, store.backend(), after, limit);
    let rows: Vec<LeadRow> = fetch_all(r.conn(), &q).await?;
    let leads: Vec<Lead> = rows.into_iter().map(Lead::from).collect();
    Ok(query::page_of_list(
        leads,
        limit,
        list,
        sort_value,
        |lead| &lead.custom_fields,
        |lead| lead.id,
    ))
}

async fn get_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Lead> {
    let mut q = select_leads(actor.company_id);
    q.cond_where(scope_condition(actor, action)?)
        .and_where(Expr::col((Leads::Table, Leads::Id)).eq(id));
    let row: Option<LeadRow> = fetch_optional(conn, &q).await?;
    row.map(Lead::from).ok_or(StoreError::NotFound)
}

/// One lead the caller may read; another company's, or one outside their scope, is not found.
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Lead> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor, Action::Read, id).await
}

/// Create a lead; without an owner the caller owns it.
pub async fn create(store: &Store, actor: &Actor, data: &LeadData) -> Result<Lead> {
    let tx = store.write(actor).await?;
    let owner_id = data.owner_id.unwrap_or(actor.user_id);
    query::check_owner(tx.conn(), actor, Resource::Leads, Action::Create, owner_id).await?;
    let id = new_id();
    let at = now();
    let mut cols = vec![
        (Leads::CompanyId, actor.company_id.into()),
        (Leads::Id, id.into()),
        (Leads::CreatedBy, actor.user_id.into()),
        (Leads::CreatedAt, at.into()),
        (Leads::UpdatedAt, at.into()),
    ];
    cols.extend(data_columns(data, owner_id));
    let (names, values): (Vec<Leads>, Vec<Value>) = cols.into_iter().unzip();
    let values: Vec<Expr> = values.into_iter().map(Expr::val).collect();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Leads::Table)
            .columns(names)
            .values(values)
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?,
    )
    .await?;
    let lead = get_in(tx.conn(), actor, Action::Create, id).await?;
    tx.audit(
        Resource::Leads,
        id,
        Action::Create,
        None,
        Some(&lead.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(lead)
}

/// Change a lead: `apply` turns the current lead into its new data (a patch merged and
/// validated), inside the transaction so concurrent patches do not lose each other's fields.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    apply: impl FnOnce(&Lead) -> std::result::Result<LeadData, FieldErrors>,
) -> Result<Lead> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Update, id).await?;
    let data = apply(&before).map_err(StoreError::Invalid)?;
    let Some(owner_id) = data.owner_id else {
        return Err(StoreError::invalid("owner_id", "must not be empty"));
    };
    if owner_id != before.owner_id {
        query::check_owner(tx.conn(), actor, Resource::Leads, Action::Update, owner_id).await?;
    }
    let mut cols = data_columns(&data, owner_id);
    cols.push((Leads::UpdatedAt, now().into()));
    exec(
        tx.conn(),
        Query::update()
            .table(Leads::Table)
            .values(cols.into_iter().map(|(c, v)| (c, Expr::val(v))))
            .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Leads::Id).eq(id)),
    )
    .await?;
    let after = fetch_unscoped(&tx, actor, id).await?;
    tx.audit(
        Resource::Leads,
        id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A lead of the caller's company regardless of scope: after a change that moved it out of
/// the caller's scope (a rep giving a lead away), the answer still shows what was written.
async fn fetch_unscoped(tx: &Tx, actor: &Actor, id: Uuid) -> Result<Lead> {
    let mut q = select_leads(actor.company_id);
    q.and_where(Expr::col((Leads::Table, Leads::Id)).eq(id));
    let row: Option<LeadRow> = fetch_optional(tx.conn(), &q).await?;
    row.map(Lead::from).ok_or(StoreError::NotFound)
}

pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Delete, id).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Leads::Id).eq(id)),
    )
    .await?;
    tx.audit(
        Resource::Leads,
        id,
        Action::Delete,
        Some(&before.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a bulk update sets on every selected lead.
#[derive(Debug, Clone, Default)]
pub struct BulkSet {
    pub owner_id: Option<Uuid>,
    pub status: Option<LeadStatus>,
    pub tags: Option<Vec<String>>,
}

/// The leads `ids` names, all in the caller's scope for `action`, or not found as a whole.
async fn all_in_scope(tx: &Tx, actor: &Actor, action: Action, ids: &[Uuid]) -> Result<Vec<Lead>> {
    let mut q = select_leads(actor.company_id);
    q.cond_where(scope_condition(actor, action)?)
        .and_where(Expr::col((Leads::Table, Leads::Id)).is_in(ids.iter().copied()));
    let rows: Vec<LeadRow> = fetch_all(tx.conn(), &q).await?;
    if rows.len() != ids.len() {
        return Err(StoreError::NotFound);
    }
    Ok(rows.into_iter().map(Lead::from).collect())
}

/// Set owner, status and/or tags on every lead of `ids`, all or nothing; one audit row each.
pub async fn bulk_update(
    store: &Store,
    actor: &Actor,
    ids: &[Uuid],
    set: &BulkSet,
) -> Result<Vec<Lead>> {
    let ids = query::unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Update, &ids).await?;
    if let Some(owner) = set.owner_id {
        query::check_owner(tx.conn(), actor, Resource::Leads, Action::Update, owner).await?;
    }
    let at = now();
    let mut update = Query::update();
    update
        .table(Leads::Table)
        .value(Leads::UpdatedAt, at)
        .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Leads::Id).is_in(ids.iter().copied()));
    if let Some(owner) = set.owner_id {
        update.value(Leads::OwnerId, owner);
    }
    if let Some(status) = set.status {
        update.value(Leads::Status, status.as_str());
    }
    if let Some(tags) = &set.tags {
        update.value(Leads::Tags, serde_json::json!(tags));
    }
    exec(tx.conn(), &update).await?;
    let mut after_all = Vec::with_capacity(before.len());
    for lead in &before {
        let mut after = lead.clone();
        if let Some(owner) = set.owner_id {
            after.owner_id = owner;
        }
        if let Some(status) = set.status {
            after.status = status;
        }
        if let Some(tags) = &set.tags {
            after.tags = tags.clone();
        }
        after.updated_at = at;
        tx.audit(
            Resource::Leads,
            lead.id,
            Action::Update,
            Some(&lead.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
        after_all.push(after);
    }
    tx.commit().await?;
    Ok(after_all)
}

/// Delete every lead of `ids`, all or nothing; one audit row each. Returns how many.
pub async fn bulk_delete(store: &Store, actor: &Actor, ids: &[Uuid]) -> Result<u64> {
    let ids = query::unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Delete, &ids).await?;
    let deleted = exec(
        tx.conn(),
        Query::delete()
            .from_table(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Leads::Id).is_in(ids.iter().copied())),
    )
    .await?;
    for lead in &before {
        tx.audit(
            Resource::Leads,
            lead.id,
            Action::Delete,
            Some(&lead.audit_json()),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_field_of_a_lead_has_a_column() {
        for field in rivet_domain::leads::TEXT_FIELDS {
            assert!(text_column(field).is_some(), "{field} has no column");
        }
    }

    #[test]
    fn every_writable_field_of_a_lead_is_an_input_field() {
        let lead = Lead {
            id: Uuid::nil(),
            first_name: None,
            last_name: Some("Doe".into()),
            title: None,
            email: None,
            phone: None,
            mobile: None,
            company_name: None,
            website: None,
            industry: None,
            employee_count: None,
            annual_revenue: None,
            annual_revenue_currency: None,
            street: None,
            city: None,
            region: None,
            postal_code: None,
            country: None,
            source: None,
            utm_source: None,
            utm_medium: None,
            utm_campaign: None,
            utm_term: None,
            utm_content: None,
            status: LeadStatus::New,
            owner_id: Uuid::nil(),
            tags: Vec::new(),
            fit_score: 0,
            engagement_score: 0,
            total_score: 0,
            budget: None,
            authority: None,
            need: None,
            timeline: None,
            metrics: None,
            economic_buyer: None,
            decision_criteria: None,
            decision_process: None,
            identified_pain: None,
            champion: None,
            competition: None,
            custom_fields: serde_json::json!({}),
            created_by: Uuid::nil(),
            created_at: now(),
            updated_at: now(),
        };
        let input: std::result::Result<rivet_domain::leads::LeadInput, _> =
            serde_json::from_value(serde_json::Value::Object(lead.as_input()));
        assert!(input.is_ok(), "{input:?}");
    }
}
