//! Deal risk in the store (issue 14 §4; the arithmetic is `rivet_domain::risk`).
//!
//! - **Settings**: one JSON document per company (`risk_settings`); none means the defaults. A
//!   change is audited and queues the recomputation of the company's deals ([`RECOMPUTE_JOB`])
//!   in the same transaction.
//! - **Facts** a score needs are gathered for a batch of deals at once ([`facts_of`]): the
//!   stage's median time from the stage history (the last year's deals that left it), the
//!   newest activity linked to each deal, its contacts and their roles, and the two things no
//!   other column keeps — how often the close date was pushed later and the highest amount —
//!   which the deal write hook maintains ([`track_changes`]).
//! - **Stored**: each open deal's `risk_score`, `risk_level` and `risk_computed_at` (a closed
//!   deal has none), written a batch at a time by [`crate::update_from_values`], without an
//!   audit row or an event (a risk is computed, not changed by anyone, and an event would feed
//!   the consumer its own writes).
//! - **Recomputed** by the event consumer [`RiskConsumer`] for each deal an event touches (any
//!   `deal.*`, a contact role given or taken, an activity linked to the deal), in the consumer's
//!   transaction; by the nightly job (time alone makes a deal stale); and after a settings
//!   change. [`deal_risk`] computes it as of now for the API and the deal page.

use crate::deals::Deal;
use crate::events::{Consumer, Event};
use crate::tables::{
    Activities as A, ActivityLinks as L, DealContacts, DealStageHistory as H, Deals, PipelineStages,
};
use crate::{Result, Store, Tx, exec, fetch_all, now, record};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rivet_domain::Actor;
use rivet_domain::deals::ContactRole;
use rivet_domain::ids::{CompanyId, ContactId, DealId, StageId, UserId};
use rivet_domain::risk::{
    COMMITTEE, DealFacts, MIN_STAGE_SAMPLES, RiskConfig, RiskInput, RiskLevel, RiskReason,
    meddicc_missing, median, missing_roles,
};
use rivet_domain::values::Money;
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The job that recomputes every open deal's risk: of one company (its `company_id`) or,
/// without one, of every company (nightly).
pub const RECOMPUTE_JOB: &str = "deals.risk";
/// The event consumer's name (its position in `event_positions`).
pub const CONSUMER: &str = "risk";
/// Deals recomputed per transaction.
const BATCH: u64 = 1_000;
/// How far back the stage history counts for a stage's median.
const MEDIAN_WINDOW_DAYS: i64 = 365;

impl crate::documents::Document for RiskConfig {
    type Input = RiskInput;
    const TABLE: &'static str = "risk_settings";
    const NAME: &'static str = "risk";
    const RECOMPUTE_JOB: Option<&'static str> = Some(RECOMPUTE_JOB);
    fn validate(input: RiskInput) -> std::result::Result<Self, rivet_domain::FieldErrors> {
        input.validate()
    }
    fn to_input(&self) -> RiskInput {
        RiskConfig::to_input(self)
    }
}

/// A stored level's text as the level (`None` for none, or a text no level has).
pub fn level_of(text: Option<String>) -> Option<RiskLevel> {
    text.and_then(|t| t.parse().ok())
}

/// Keep what the risk needs of a deal's past as the deal changes (the deal write hook): a close
/// date moved later counts a push, and an amount above the highest becomes the highest.
pub(crate) async fn track_changes(
    tx: &Tx,
    company: CompanyId,
    before: &Deal,
    after: &Deal,
    amount_micros: Option<i64>,
) -> Result<()> {
    let this = || {
        Query::update()
            .table(Deals::Table)
            .and_where(Expr::col(Deals::CompanyId).eq(company))
            .and_where(Expr::col(Deals::Id).eq(after.id))
            .to_owned()
    };
    if let (Some(was), Some(is)) = (&before.close_date, &after.close_date)
        && is > was
    {
        exec(
            tx.conn(),
            this().value(
                Deals::CloseDatePushes,
                Expr::col(Deals::CloseDatePushes).add(1),
            ),
        )
        .await?;
    }
    if let Some(amount) = amount_micros
        && before.amount != after.amount
    {
        exec(
            tx.conn(),
            this().value(Deals::AmountHighMicros, amount).cond_where(
                Cond::any()
                    .add(Expr::col(Deals::AmountHighMicros).is_null())
                    .add(Expr::col(Deals::AmountHighMicros).lt(amount)),
            ),
        )
        .await?;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct Extra {
    id: DealId,
    close_date_pushes: i32,
    amount_high_micros: Option<i64>,
    risk_computed_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct StageName {
    id: StageId,
    name: String,
}

#[derive(FromQueryResult)]
struct Move {
    deal_id: DealId,
    stage_id: StageId,
    changed_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct LastActivity {
    deal_id: DealId,
    at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct Role {
    deal_id: DealId,
    contact_id: ContactId,
    role: String,
}

/// Per stage of `stages`: the median days deals spent in it (those that entered it within
/// [`MEDIAN_WINDOW_DAYS`] and have left it) and how many, when at least
/// [`MIN_STAGE_SAMPLES`].
async fn stage_medians<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    stages: &[StageId],
    at: DateTime<Utc>,
) -> Result<HashMap<StageId, (f64, usize)>> {
    if stages.is_empty() {
        return Ok(HashMap::new());
    }
    let moves = |stage_col: H| {
        Query::select()
            .column(H::DealId)
            .expr_as(Expr::col(stage_col), Alias::new("stage_id"))
            .column(H::ChangedAt)
            .from(H::Table)
            .and_where(Expr::col(H::CompanyId).eq(company))
            .and_where(Expr::col(stage_col).is_in(stages.iter().copied()))
            .and_where(Expr::col(H::ChangedAt).gte(at - Duration::days(MEDIAN_WINDOW_DAYS)))
            .to_owned()
    };
    let entries: Vec<Move> = fetch_all(conn, &moves(H::ToStageId)).await?;
    let exits: Vec<Move> = fetch_all(conn, &moves(H::FromStageId)).await?;
    let mut left: HashMap<(DealId, StageId), Vec<DateTime<Utc>>> = HashMap::new();
    for exit in exits {
        left.entry((exit.deal_id, exit.stage_id))
            .or_default()
            .push(exit.changed_at);
    }
    for times in left.values_mut() {
        times.sort_unstable();
    }
    let mut stays: HashMap<StageId, Vec<f64>> = HashMap::new();
    for entry in entries {
        let Some(times) = left.get(&(entry.deal_id, entry.stage_id)) else {
            continue;
        };
        let first = times.partition_point(|t| *t < entry.changed_at);
        if let Some(out) = times.get(first) {
            let days = (*out - entry.changed_at).num_seconds() as f64 / 86_400.0;
            stays.entry(entry.stage_id).or_default().push(days);
        }
    }
    Ok(stays
        .into_iter()
        .filter(|(_, d)| d.len() >= MIN_STAGE_SAMPLES)
        .filter_map(|(stage, mut days)| {
            let n = days.len();
            median(&mut days).map(|m| (stage, (m, n)))
        })
        .collect())
}

/// What the risk of each open deal of `deals` (all of `company`) is computed from, as of `at`,
/// with each deal's stored `risk_computed_at`.
async fn facts_of<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    deals: &[Deal],
    at: DateTime<Utc>,
) -> Result<Vec<(DealId, DealFacts)>> {
    let open: Vec<&Deal> = deals.iter().filter(|d| d.closed_at.is_none()).collect();
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<DealId> = open.iter().map(|d| d.id).collect();
    let extras: HashMap<DealId, Extra> = fetch_all::<Extra, _, _>(
        conn,
        Query::select()
            .columns([
                Deals::Id,
                Deals::CloseDatePushes,
                Deals::AmountHighMicros,
                Deals::RiskComputedAt,
            ])
            .from(Deals::Table)
            .and_where(Expr::col(Deals::CompanyId).eq(company))
            .and_where(Expr::col(Deals::Id).is_in(ids.iter().copied())),
    )
    .await?
    .into_iter()
    .map(|e| (e.id, e))
    .collect();
    let names: HashMap<StageId, String> = fetch_all::<StageName, _, _>(
        conn,
        Query::select()
            .columns([PipelineStages::Id, PipelineStages::Name])
            .from(PipelineStages::Table)
            .and_where(Expr::col(PipelineStages::CompanyId).eq(company)),
    )
    .await?
    .into_iter()
    .map(|s| (s.id, s.name))
    .collect();
    let stages: Vec<StageId> = open
        .iter()
        .map(|d| d.stage_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let medians = stage_medians(conn, company, &stages, at).await?;
    let last: HashMap<DealId, DateTime<Utc>> = fetch_all::<LastActivity, _, _>(
        conn,
        Query::select()
            .expr_as(Expr::col((L::Table, L::RecordId)), Alias::new("deal_id"))
            .expr_as(Expr::col((A::Table, A::OccurredAt)).max(), Alias::new("at"))
            .from(L::Table)
            .inner_join(
                A::Table,
                Expr::col((A::Table, A::CompanyId))
                    .equals((L::Table, L::CompanyId))
                    .and(Expr::col((A::Table, A::Id)).equals((L::Table, L::ActivityId))),
            )
            .and_where(Expr::col((L::Table, L::CompanyId)).eq(company))
            .and_where(Expr::col((L::Table, L::RecordType)).eq("deal"))
            .and_where(Expr::col((L::Table, L::RecordId)).is_in(ids.iter().copied()))
            .and_where(Expr::col((A::Table, A::OccurredAt)).lte(at))
            .group_by_col((L::Table, L::RecordId)),
    )
    .await?
    .into_iter()
    .filter_map(|r| r.at.map(|at| (r.deal_id, at)))
    .collect();
    let mut roles: HashMap<DealId, Vec<(ContactId, ContactRole)>> = HashMap::new();
    for r in fetch_all::<Role, _, _>(
        conn,
        Query::select()
            .columns([
                DealContacts::DealId,
                DealContacts::ContactId,
                DealContacts::Role,
            ])
            .from(DealContacts::Table)
            .and_where(Expr::col(DealContacts::CompanyId).eq(company))
            .and_where(Expr::col(DealContacts::DealId).is_in(ids.iter().copied())),
    )
    .await?
    {
        let role = r.role.parse().unwrap_or(ContactRole::Other);
        roles
            .entry(r.deal_id)
            .or_default()
            .push((r.contact_id, role));
    }
    let micros = |a: &Option<String>| {
        a.as_deref()
            .and_then(|a| Money::parse(a, String::new()).ok())
            .map(|m| m.micros)
    };
    Ok(open
        .into_iter()
        .map(|deal| {
            let extra = extras.get(&deal.id);
            let on_deal = roles.get(&deal.id).map(Vec::as_slice).unwrap_or_default();
            let contacts: HashSet<ContactId> = on_deal
                .iter()
                .map(|(c, _)| *c)
                .chain(deal.contact_id)
                .collect();
            let facts = DealFacts {
                now: at,
                created_at: deal.created_at,
                stage_name: names.get(&deal.stage_id).cloned().unwrap_or_default(),
                stage_entered_at: deal.stage_changed_at,
                stage_median_days: medians.get(&deal.stage_id).copied(),
                last_activity_at: last.get(&deal.id).copied(),
                close_date: deal
                    .close_date
                    .as_deref()
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
                close_date_pushes: extra.map_or(0, |e| e.close_date_pushes),
                amount_micros: micros(&deal.amount),
                highest_amount_micros: extra.and_then(|e| e.amount_high_micros),
                currency: deal.currency.clone(),
                meddicc_missing: meddicc_missing(&serde_json::to_value(deal).unwrap_or_default()),
                contacts: contacts.len(),
                roles: on_deal.iter().map(|(_, r)| *r).collect(),
            };
            (deal.id, facts)
        })
        .collect())
}

/// Recompute and store the risk of `deals` (read in `tx`, all of `company`): open deals get
/// theirs, closed ones none. Returns how many deals' scores changed.
async fn recompute_deals(
    tx: &Tx,
    company: CompanyId,
    config: &RiskConfig,
    deals: &[Deal],
) -> Result<u64> {
    let at = now();
    let facts: HashMap<DealId, DealFacts> = facts_of(tx.conn(), company, deals, at)
        .await?
        .into_iter()
        .collect();
    let mut changed = 0;
    let rows: Vec<Vec<sea_orm::Value>> = deals
        .iter()
        .map(|deal| {
            let risk = facts.get(&deal.id).map(|f| config.risk(f));
            let (score, level) = (
                risk.as_ref().map(|r| r.score),
                risk.as_ref().map(|r| r.level),
            );
            if (score, level) != (deal.risk_score, deal.risk_level) {
                changed += 1;
            }
            vec![
                deal.id.uuid().into(),
                score.into(),
                level.map(|l| l.as_str().to_owned()).into(),
                risk.map(|_| at).into(),
            ]
        })
        .collect();
    crate::update_from_values(
        tx,
        "deals",
        company,
        &["risk_score", "risk_level", "risk_computed_at"],
        &rows,
    )
    .await?;
    Ok(changed)
}

/// Who the store reads a company's deals as outside a request (the consumer, the job).
fn reader(company: CompanyId) -> Actor {
    Actor::system(company, UserId::nil())
}

/// Recompute the risk of the deals `ids` names (those that still exist) in `tx`.
async fn recompute_ids(tx: &Tx, company: CompanyId, ids: &[DealId]) -> Result<u64> {
    let ids = crate::query::unique_ids(ids);
    let config: RiskConfig = crate::documents::read(tx.conn(), company).await?;
    let mut changed = 0;
    for chunk in ids.chunks(BATCH as usize) {
        let deals: Vec<Deal> = record::all_where(
            tx.conn(),
            &reader(company),
            Cond::all().add(Expr::col((Deals::Table, Deals::Id)).is_in(chunk.iter().copied())),
        )
        .await?;
        changed += recompute_deals(tx, company, &config, &deals).await?;
    }
    Ok(changed)
}

/// Recompute every open deal's risk — of `company`, or of every company — in batches of
/// [`BATCH`], one transaction each, and clear the risk of closed deals; `report(done, total)`
/// after each batch. Returns how many deals' scores changed.
pub async fn recompute(
    store: &Store,
    company: Option<CompanyId>,
    report: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<u64> {
    let companies = crate::companies_to_run(store, company).await?;
    let open = |c: CompanyId| {
        Cond::all()
            .add(Expr::col((Deals::Table, Deals::CompanyId)).eq(c))
            .add(Expr::col((Deals::Table, Deals::ClosedAt)).is_null())
    };
    let total = crate::total_rows(store, &companies, |c| {
        Query::select()
            .expr(Expr::col(Deals::Id).count())
            .from(Deals::Table)
            .cond_where(open(c))
            .to_owned()
    })
    .await?;
    let (mut done, mut changed) = (0_i64, 0_u64);
    report(done, total);
    for company in companies {
        let tx = store.write_system().await?;
        changed += exec(
            tx.conn(),
            Query::update()
                .table(Deals::Table)
                .values([
                    (Deals::RiskScore, Option::<i32>::None.into()),
                    (Deals::RiskLevel, Option::<String>::None.into()),
                    (Deals::RiskComputedAt, Option::<DateTime<Utc>>::None.into()),
                ])
                .and_where(Expr::col(Deals::CompanyId).eq(company))
                .and_where(Expr::col(Deals::ClosedAt).is_not_null())
                .and_where(Expr::col(Deals::RiskComputedAt).is_not_null()),
        )
        .await?;
        tx.commit().await?;
        let mut after: Option<DealId> = None;
        loop {
            let tx = store.write_system().await?;
            let config: RiskConfig = crate::documents::read(tx.conn(), company).await?;
            let mut q = record::select::<Deal>(company);
            q.cond_where(open(company));
            if let Some(after) = after {
                q.and_where(Expr::col((Deals::Table, Deals::Id)).gt(after));
            }
            q.order_by((Deals::Table, Deals::Id), Order::Asc)
                .limit(BATCH);
            let deals: Vec<Deal> = record::rows::<Deal, _>(tx.conn(), &reader(company), &q).await?;
            let Some(last) = deals.last().map(|d| d.id) else {
                break;
            };
            let n = deals.len() as i64;
            changed += recompute_deals(&tx, company, &config, &deals).await?;
            tx.commit().await?;
            done += n;
            report(done, total);
            after = Some(last);
        }
    }
    Ok(changed)
}

fn uuid_in(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// The deals an event touches: the deal of a `deal.*` event (a contact role given or taken is
/// a `deal.updated`), and the deals an activity is (or was) linked to.
fn deals_in(event: &Event) -> Vec<DealId> {
    if event.record_type.as_deref() == Some("deal") {
        if event.event_type == "deal.deleted" {
            return Vec::new();
        }
        return event
            .record_id
            .as_deref()
            .and_then(|id| id.parse::<Uuid>().ok())
            .map(DealId::from_uuid)
            .into_iter()
            .collect();
    }
    if event.record_type.as_deref() != Some("activity") {
        return Vec::new();
    }
    let data = &event.data;
    [
        &data["record"]["links"],
        &data["changes"]["links"]["before"],
        &data["changes"]["links"]["after"],
    ]
    .into_iter()
    .filter_map(Value::as_array)
    .flatten()
    .filter(|l| l["record_type"] == "deal")
    .filter_map(|l| uuid_in(&l["record_id"]))
    .map(DealId::from_uuid)
    .collect()
}

/// Recomputes the risk of each deal an event touches.
pub struct RiskConsumer;

#[async_trait::async_trait]
impl Consumer for RiskConsumer {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    async fn apply(&self, tx: &Tx, events: &[Event]) -> Result<()> {
        let mut by_company: HashMap<CompanyId, Vec<DealId>> = HashMap::new();
        for event in events {
            let deals = deals_in(event);
            if !deals.is_empty() {
                by_company
                    .entry(event.company_id)
                    .or_default()
                    .extend(deals);
            }
        }
        for (company, ids) in by_company {
            recompute_ids(tx, company, &ids).await?;
        }
        Ok(())
    }
}

/// One contact of the buying committee.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommitteeMember {
    #[schema(value_type = uuid::Uuid)]
    pub contact_id: ContactId,
    pub name: String,
}

/// A role of the buying committee and who fills it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleCoverage {
    pub role: ContactRole,
    /// The contacts with this role (those the caller may read).
    pub contacts: Vec<CommitteeMember>,
}

/// The buying committee on a deal: which roles are filled, by whom, and which are missing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    /// Every committee role (decision_maker, economic_buyer, champion, influencer,
    /// technical_buyer, user) and `other` when someone has it, with its contacts.
    pub roles: Vec<RoleCoverage>,
    /// The committee roles nobody on the deal has.
    pub missing: Vec<ContactRole>,
    /// Distinct contacts on the deal (the primary contact and those with a role).
    pub contacts: usize,
}

/// What is stored on the deal (what lists filter and sort by).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredRisk {
    pub score: Option<i32>,
    pub level: Option<RiskLevel>,
    pub computed_at: Option<DateTime<Utc>>,
}

/// Why a deal is at risk (`GET /api/v1/deals/{id}/risk`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DealRisk {
    #[schema(value_type = uuid::Uuid)]
    pub deal_id: DealId,
    /// Whether the deal is open; a closed deal has no risk (score and level null).
    pub open: bool,
    /// The risk as of now (0 to 100)…
    pub score: Option<i32>,
    pub level: Option<RiskLevel>,
    /// …the factors that counted, most points first…
    pub reasons: Vec<RiskReason>,
    pub computed_at: DateTime<Utc>,
    /// …and as stored on the deal (recomputed on each change and nightly).
    pub stored: StoredRisk,
    pub coverage: Coverage,
}

/// The risk of a deal the caller may read, as of now, with its buying committee.
pub async fn deal_risk(store: &Store, actor: &Actor, id: DealId) -> Result<DealRisk> {
    let deal: Deal = record::get(store, actor, id).await?;
    let contacts = crate::deals::contacts_of(store, actor, id).await?;
    let r = store.read(actor).await?;
    let config: RiskConfig = crate::documents::read(r.conn(), actor.company_id).await?;
    let at = now();
    let facts = facts_of(r.conn(), actor.company_id, std::slice::from_ref(&deal), at).await?;
    let computed_at = fetch_all::<Extra, _, _>(
        r.conn(),
        Query::select()
            .columns([
                Deals::Id,
                Deals::CloseDatePushes,
                Deals::AmountHighMicros,
                Deals::RiskComputedAt,
            ])
            .from(Deals::Table)
            .and_where(Expr::col(Deals::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Deals::Id).eq(id)),
    )
    .await?
    .pop()
    .and_then(|e| e.risk_computed_at);
    let facts = facts.into_iter().next().map(|(_, f)| f);
    let risk = facts.as_ref().map(|f| config.risk(f));
    let present: Vec<ContactRole> = facts
        .as_ref()
        .map(|f| f.roles.clone())
        .unwrap_or_else(|| contacts.iter().map(|c| c.role).collect());
    let mut roles: Vec<RoleCoverage> = COMMITTEE
        .iter()
        .chain(&[ContactRole::Other])
        .map(|&role| RoleCoverage {
            role,
            contacts: contacts
                .iter()
                .filter(|c| c.role == role)
                .map(|c| CommitteeMember {
                    contact_id: c.contact_id,
                    name: c.name.clone(),
                })
                .collect(),
        })
        .collect();
    roles.retain(|r| r.role != ContactRole::Other || !r.contacts.is_empty());
    let count = facts.as_ref().map_or_else(
        || {
            contacts
                .iter()
                .map(|c| c.contact_id)
                .chain(deal.contact_id)
                .collect::<HashSet<_>>()
                .len()
        },
        |f| f.contacts,
    );
    Ok(DealRisk {
        deal_id: id,
        open: deal.closed_at.is_none(),
        score: risk.as_ref().map(|r| r.score),
        level: risk.as_ref().map(|r| r.level),
        reasons: risk.map(|r| r.reasons).unwrap_or_default(),
        computed_at: at,
        stored: StoredRisk {
            score: deal.risk_score,
            level: deal.risk_level,
            computed_at,
        },
        coverage: Coverage {
            roles,
            missing: missing_roles(&present),
            contacts: count,
        },
    })
}
