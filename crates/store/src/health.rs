//! Account health and lifecycle in the store (issue 14 §5; the arithmetic and the rules are
//! `rivet_domain::health`).
//!
//! - **Settings**: one JSON document per company (`health_settings`); none means the defaults.
//!   A change is audited and queues the recompute of the company's accounts ([`RECOMPUTE_JOB`])
//!   in the same transaction.
//! - **Facts**: what the components read is gathered per batch of accounts ([`facts_of`]) from
//!   the activities, tasks and deals of each account and of its contacts and deals.
//! - **Score**: a new account starts with the health of an account nobody has worked with yet
//!   ([`start`], the record layer's hook); after that the score moves only here: through the
//!   event consumer [`HealthConsumer`] when an activity, task or deal of the account changes,
//!   and nightly (and after a settings change, and once after the migration that made health
//!   computed) for every account ([`recompute`]). A client cannot write it.
//! - **History**: a row of `account_health_history` each time the score changes, and once a
//!   day it is computed: the trend.
//! - **Lifecycle**: after each recompute the company's rules may move the account's stage; the
//!   move goes through the record layer (`record::update_rows`), so it is audited — by the
//!   system, the consumer's and the job's transactions having no user — with the rule's reason
//!   in `lifecycle_reason`, and raises `account.updated` and `account.lifecycle_changed`.

use crate::accounts::Account;
use crate::events::{Consumer, Event};
use crate::tables::{
    AccountHealthHistory as H, Accounts, Activities as A, ActivityLinks as L, Contacts, Deals,
    PipelineStages, Tasks,
};
use crate::{Result, Store, Tx, exec, fetch_all, new_id, now, record};
use chrono::{DateTime, Duration, Utc};
use rivet_domain::accounts::LifecycleStage;
use rivet_domain::health::{
    AccountFacts, ComponentScore, ENGAGEMENT_DAYS, HealthConfig, HealthInput, lifecycle_move,
};
use rivet_domain::ids::{AccountId, CompanyId, UserId};
use rivet_domain::{Action, Actor};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The job that recomputes every account's health: of one company (its `company_id`) or,
/// without one, of every company (nightly, and once after the migration).
pub const RECOMPUTE_JOB: &str = "accounts.health";
/// The event consumer's name (its position in `event_positions`).
pub const CONSUMER: &str = "health";
/// Accounts recomputed per transaction.
const BATCH: u64 = 1_000;
/// Points of the trend [`breakdown`] shows.
pub const TREND_POINTS: u64 = 30;

impl crate::documents::Document for HealthConfig {
    type Input = HealthInput;
    const TABLE: &'static str = "health_settings";
    const NAME: &'static str = "health";
    const RECOMPUTE_JOB: Option<&'static str> = Some(RECOMPUTE_JOB);
    fn validate(input: HealthInput) -> std::result::Result<Self, rivet_domain::FieldErrors> {
        input.validate()
    }
    fn to_input(&self) -> HealthInput {
        HealthConfig::to_input(self)
    }
}

async fn config_in<C: ConnectionTrait>(conn: &C, company: CompanyId) -> Result<HealthConfig> {
    crate::documents::read(conn, company).await
}

/// Who the store acts as for a company outside a request: the system, reading any account.
fn system_actor(company: CompanyId) -> Actor {
    Actor::system(company, UserId::nil()).granted(&[
        (rivet_domain::Resource::Accounts, Action::Read),
        (rivet_domain::Resource::Accounts, Action::Update),
    ])
}

/// Give new accounts the health of an account with nothing known yet (one statement for the
/// batch; the record layer's `after_create`).
pub(crate) async fn start(tx: &Tx, company: CompanyId, created: &mut [&mut Account]) -> Result<()> {
    if created.is_empty() {
        return Ok(());
    }
    let config = config_in(tx.conn(), company).await?;
    let score = config.health(&AccountFacts::none(now())).score;
    for chunk in created.chunks_mut(crate::MAX_BOUND_VALUES / 2) {
        exec(
            tx.conn(),
            Query::update()
                .table(Accounts::Table)
                .value(Accounts::HealthScore, score)
                .and_where(Expr::col(Accounts::CompanyId).eq(company))
                .and_where(Expr::col(Accounts::Id).is_in(chunk.iter().map(|a| a.id))),
        )
        .await?;
        for account in chunk.iter_mut() {
            account.health_score = Some(score);
        }
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct Owned {
    id: Uuid,
    account_id: AccountId,
}

#[derive(FromQueryResult)]
struct DealRow {
    id: Uuid,
    account_id: AccountId,
    outcome: Option<String>,
    closed_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct LastActivity {
    record_id: Uuid,
    last_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct RecentActivity {
    record_id: Uuid,
    id: Uuid,
    direction: Option<String>,
}

#[derive(FromQueryResult)]
struct OpenTask {
    related_id: Option<Uuid>,
    due_at: Option<DateTime<Utc>>,
}

/// Ids in chunks a statement can bind.
fn chunks(ids: &[Uuid]) -> impl Iterator<Item = &[Uuid]> {
    ids.chunks(crate::MAX_BOUND_VALUES / 2)
}

/// The facts of each of `accounts` as of `at`: activities and tasks on the account, its
/// contacts and its deals; its deals won, lost and open.
pub(crate) async fn facts_of<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    accounts: &[AccountId],
    at: DateTime<Utc>,
) -> Result<HashMap<AccountId, AccountFacts>> {
    let mut facts: HashMap<AccountId, AccountFacts> = accounts
        .iter()
        .map(|a| (*a, AccountFacts::none(at)))
        .collect();
    let account_ids: Vec<Uuid> = accounts.iter().map(|a| a.uuid()).collect();
    // Which account each record an activity or task can be on belongs to.
    let mut owner: HashMap<(&'static str, Uuid), AccountId> = accounts
        .iter()
        .map(|a| (("account", a.uuid()), *a))
        .collect();
    let mut contact_ids = Vec::new();
    let mut deal_ids = Vec::new();
    for chunk in chunks(&account_ids) {
        let contacts: Vec<Owned> = fetch_all(
            conn,
            Query::select()
                .columns([Contacts::Id, Contacts::AccountId])
                .from(Contacts::Table)
                .and_where(Expr::col(Contacts::CompanyId).eq(company))
                .and_where(Expr::col(Contacts::AccountId).is_in(chunk.iter().copied())),
        )
        .await?;
        for c in contacts {
            owner.insert(("contact", c.id), c.account_id);
            contact_ids.push(c.id);
        }
        let deals: Vec<DealRow> = fetch_all(
            conn,
            Query::select()
                .columns([
                    (Deals::Table, Deals::Id),
                    (Deals::Table, Deals::AccountId),
                    (Deals::Table, Deals::ClosedAt),
                ])
                .column((PipelineStages::Table, PipelineStages::Outcome))
                .from(Deals::Table)
                .left_join(
                    PipelineStages::Table,
                    Expr::col((PipelineStages::Table, PipelineStages::CompanyId))
                        .equals((Deals::Table, Deals::CompanyId))
                        .and(
                            Expr::col((PipelineStages::Table, PipelineStages::Id))
                                .equals((Deals::Table, Deals::StageId)),
                        ),
                )
                .and_where(Expr::col((Deals::Table, Deals::CompanyId)).eq(company))
                .and_where(
                    Expr::col((Deals::Table, Deals::AccountId)).is_in(chunk.iter().copied()),
                ),
        )
        .await?;
        for d in deals {
            owner.insert(("deal", d.id), d.account_id);
            deal_ids.push(d.id);
            let Some(f) = facts.get_mut(&d.account_id) else {
                continue;
            };
            match d.outcome.as_deref() {
                Some("won") => {
                    f.won_deals += 1;
                    let closed = d.closed_at.unwrap_or(at);
                    f.last_won_at = Some(f.last_won_at.map_or(closed, |t| Ord::max(t, closed)));
                }
                Some("lost") => f.lost_deals += 1,
                _ => f.open_deals += 1,
            }
        }
    }
    let since = at - Duration::days(ENGAGEMENT_DAYS);
    let mut seen: HashSet<(AccountId, Uuid)> = HashSet::new();
    let when = || {
        Expr::expr(Func::coalesce([
            Expr::col((A::Table, A::OccurredAt)),
            Expr::col((A::Table, A::CreatedAt)),
        ]))
    };
    for (kind, ids) in [
        ("account", &account_ids),
        ("contact", &contact_ids),
        ("deal", &deal_ids),
    ] {
        for chunk in chunks(ids) {
            let joined = || {
                Query::select()
                    .from(L::Table)
                    .inner_join(
                        A::Table,
                        Expr::col((A::Table, A::CompanyId))
                            .equals((L::Table, L::CompanyId))
                            .and(Expr::col((A::Table, A::Id)).equals((L::Table, L::ActivityId))),
                    )
                    .and_where(Expr::col((L::Table, L::CompanyId)).eq(company))
                    .and_where(Expr::col((L::Table, L::RecordType)).eq(kind))
                    .and_where(Expr::col((L::Table, L::RecordId)).is_in(chunk.iter().copied()))
                    .to_owned()
            };
            let last: Vec<LastActivity> = fetch_all(
                conn,
                joined()
                    .column((L::Table, L::RecordId))
                    .expr_as(when().max(), Alias::new("last_at"))
                    .group_by_col((L::Table, L::RecordId)),
            )
            .await?;
            for row in last {
                let (Some(account), Some(t)) = (owner.get(&(kind, row.record_id)), row.last_at)
                else {
                    continue;
                };
                if let Some(f) = facts.get_mut(account) {
                    f.last_activity_at = Some(f.last_activity_at.map_or(t, |l| Ord::max(l, t)));
                }
            }
            let recent: Vec<RecentActivity> = fetch_all(
                conn,
                joined()
                    .column((L::Table, L::RecordId))
                    .column((A::Table, A::Id))
                    .column((A::Table, A::Direction))
                    .and_where(when().gte(since)),
            )
            .await?;
            for row in recent {
                let Some(account) = owner.get(&(kind, row.record_id)).copied() else {
                    continue;
                };
                // An activity on the account and on its contact counts once.
                if !seen.insert((account, row.id)) {
                    continue;
                }
                if let Some(f) = facts.get_mut(&account) {
                    f.recent_activities += 1;
                    if row.direction.as_deref() == Some("inbound") {
                        f.recent_inbound += 1;
                    }
                }
            }
            let tasks: Vec<OpenTask> = fetch_all(
                conn,
                Query::select()
                    .columns([Tasks::RelatedId, Tasks::DueAt])
                    .from(Tasks::Table)
                    .and_where(Expr::col(Tasks::CompanyId).eq(company))
                    .and_where(Expr::col(Tasks::Status).is_in(["open", "in_progress"]))
                    .and_where(Expr::col(Tasks::RelatedType).eq(kind))
                    .and_where(Expr::col(Tasks::RelatedId).is_in(chunk.iter().copied())),
            )
            .await?;
            for task in tasks {
                let Some(account) = task.related_id.and_then(|r| owner.get(&(kind, r))) else {
                    continue;
                };
                if let Some(f) = facts.get_mut(account) {
                    f.open_tasks += 1;
                    if task.due_at.is_some_and(|d| d < at) {
                        f.overdue_tasks += 1;
                    }
                }
            }
        }
    }
    Ok(facts)
}

#[derive(FromQueryResult)]
struct LastComputed {
    account_id: AccountId,
    computed_at: Option<DateTime<Utc>>,
}

/// When each of `accounts` last had a history row.
async fn last_computed<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    accounts: &[AccountId],
) -> Result<HashMap<AccountId, DateTime<Utc>>> {
    let mut out = HashMap::new();
    for chunk in accounts.chunks(crate::MAX_BOUND_VALUES / 2) {
        let rows: Vec<LastComputed> = fetch_all(
            conn,
            Query::select()
                .column(H::AccountId)
                .expr_as(Expr::col(H::ComputedAt).max(), Alias::new("computed_at"))
                .from(H::Table)
                .and_where(Expr::col(H::CompanyId).eq(company))
                .and_where(Expr::col(H::AccountId).is_in(chunk.iter().copied()))
                .group_by_col(H::AccountId),
        )
        .await?;
        out.extend(
            rows.into_iter()
                .filter_map(|r| r.computed_at.map(|t| (r.account_id, t))),
        );
    }
    Ok(out)
}

async fn write_history(
    tx: &Tx,
    company: CompanyId,
    rows: &[(AccountId, i32, Value)],
    at: DateTime<Utc>,
) -> Result<()> {
    for chunk in rows.chunks(crate::MAX_BOUND_VALUES / 6) {
        if chunk.is_empty() {
            continue;
        }
        let mut insert = Query::insert();
        insert.into_table(H::Table).columns([
            H::CompanyId,
            H::Id,
            H::AccountId,
            H::Score,
            H::Components,
            H::ComputedAt,
        ]);
        for (account, score, components) in chunk {
            insert.values_panic([
                company.into(),
                new_id().into(),
                (*account).into(),
                (*score).into(),
                components.clone().into(),
                at.into(),
            ]);
        }
        exec(tx.conn(), &insert).await?;
    }
    Ok(())
}

/// Recompute the health of `accounts` (read in this transaction): store the scores that
/// changed, a history row where the score changed or none was written today, and make the
/// lifecycle moves the company's rules call for (audited, with their reason). Returns how many
/// scores changed.
async fn recompute_accounts(
    tx: &Tx,
    company: CompanyId,
    config: &HealthConfig,
    accounts: Vec<Account>,
) -> Result<u64> {
    let at = now();
    let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
    let facts = facts_of(tx.conn(), company, &ids, at).await?;
    let last = last_computed(tx.conn(), company, &ids).await?;
    let mut scores = Vec::new();
    let mut history = Vec::new();
    let mut moves = Vec::new();
    for mut account in accounts {
        let f = facts
            .get(&account.id)
            .cloned()
            .unwrap_or_else(|| AccountFacts::none(at));
        let health = config.health(&f);
        let changed = account.health_score != Some(health.score);
        if changed {
            scores.push(vec![account.id.uuid().into(), health.score.into()]);
        }
        let due = last
            .get(&account.id)
            .is_none_or(|t| t.date_naive() < at.date_naive());
        if changed || due {
            history.push((account.id, health.score, json!(health.components)));
        }
        account.health_score = Some(health.score);
        if let Some(m) = lifecycle_move(config, account.lifecycle_stage, health.score, f.won_deals)
        {
            moves.push((account, m));
        }
    }
    let changed = scores.len() as u64;
    crate::update_from_values(tx, "accounts", company, &["health_score"], &scores).await?;
    write_history(tx, company, &history, at).await?;
    let actor = system_actor(company);
    for (account, m) in moves {
        let (to, reason) = (m.to, m.reason);
        record::update_rows::<Account>(
            tx,
            &actor,
            std::slice::from_ref(&account),
            vec![
                (
                    crate::query::iden(Accounts::LifecycleStage),
                    to.as_str().into(),
                ),
                (
                    crate::query::iden(Accounts::LifecycleReason),
                    Some(reason.clone()).into(),
                ),
            ],
            |a, at| {
                a.lifecycle_stage = to;
                a.lifecycle_reason = Some(reason.clone());
                a.updated_at = at;
            },
        )
        .await?;
    }
    Ok(changed)
}

/// Recompute the health of the company's accounts among `ids` (those that still exist).
async fn recompute_ids(tx: &Tx, company: CompanyId, ids: &[AccountId]) -> Result<u64> {
    let mut changed = 0;
    let config = config_in(tx.conn(), company).await?;
    let actor = system_actor(company);
    for chunk in ids.chunks(BATCH as usize) {
        let accounts: Vec<Account> = record::all_where(
            tx.conn(),
            &actor,
            Cond::all()
                .add(Expr::col((Accounts::Table, Accounts::Id)).is_in(chunk.iter().copied())),
        )
        .await?;
        changed += recompute_accounts(tx, company, &config, accounts).await?;
    }
    Ok(changed)
}

/// Recompute every account's health — of `company`, or of every company — in batches of
/// [`BATCH`], one transaction each; `report(done, total)` after each batch. Returns how many
/// scores changed.
pub async fn recompute(
    store: &Store,
    company: Option<CompanyId>,
    report: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<u64> {
    let companies = crate::companies_to_run(store, company).await?;
    let total = crate::total_rows(store, &companies, |c| {
        Query::select()
            .expr(Expr::col(Accounts::Id).count())
            .from(Accounts::Table)
            .and_where(Expr::col(Accounts::CompanyId).eq(c))
            .to_owned()
    })
    .await?;
    let (mut done, mut changed) = (0_i64, 0_u64);
    report(done, total);
    for company in companies {
        let reader = system_actor(company);
        let mut after: Option<AccountId> = None;
        loop {
            let tx = store.write_system().await?;
            let config = config_in(tx.conn(), company).await?;
            // Locked on PostgreSQL: a stage set by hand meanwhile waits rather than being
            // overwritten by a rule that read the old one.
            let accounts: Vec<Account> =
                record::locked_batch(&tx, &reader, company, after, BATCH).await?;
            let Some(last) = accounts.last().map(|a| a.id) else {
                break;
            };
            let n = accounts.len() as i64;
            changed += recompute_accounts(&tx, company, &config, accounts).await?;
            tx.commit().await?;
            done += n;
            report(done, total);
            after = Some(last);
        }
    }
    Ok(changed)
}

/// Records an event touched, by kind, for one company.
#[derive(Default)]
struct Touched {
    accounts: Vec<Uuid>,
    contacts: Vec<Uuid>,
    deals: Vec<Uuid>,
}

impl Touched {
    fn add(&mut self, kind: Option<&str>, id: Option<&str>) {
        let Some(id) = id.and_then(|i| i.parse::<Uuid>().ok()) else {
            return;
        };
        match kind {
            Some("account") => self.accounts.push(id),
            Some("contact") => self.contacts.push(id),
            Some("deal") => self.deals.push(id),
            _ => {}
        }
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// What an event touches that an account's health reads: the activity's links, the task's
/// record, the deal's account (and the one it left).
fn touched_by(event: &Event, touched: &mut Touched) {
    let record = &event.data["record"];
    match event.record_type.as_deref() {
        Some("activity") => {
            for link in record["links"].as_array().into_iter().flatten() {
                touched.add(text(link, "record_type"), text(link, "record_id"));
            }
        }
        Some("task") => touched.add(text(record, "related_type"), text(record, "related_id")),
        Some("deal") => {
            touched.add(Some("account"), text(record, "account_id"));
            touched.add(
                Some("account"),
                event.data["changes"]["account_id"]["before"].as_str(),
            );
        }
        _ => {}
    }
}

#[derive(FromQueryResult)]
struct AccountOf {
    account_id: Option<AccountId>,
}

/// The accounts of the contacts and deals `touched` names, and the accounts it names.
async fn accounts_of(tx: &Tx, company: CompanyId, touched: Touched) -> Result<Vec<AccountId>> {
    let mut out: Vec<AccountId> = touched
        .accounts
        .iter()
        .map(|a| AccountId::from_uuid(*a))
        .collect();
    for chunk in chunks(&touched.contacts) {
        let rows: Vec<AccountOf> = fetch_all(
            tx.conn(),
            Query::select()
                .column(Contacts::AccountId)
                .from(Contacts::Table)
                .and_where(Expr::col(Contacts::CompanyId).eq(company))
                .and_where(Expr::col(Contacts::Id).is_in(chunk.iter().copied())),
        )
        .await?;
        out.extend(rows.into_iter().filter_map(|r| r.account_id));
    }
    for chunk in chunks(&touched.deals) {
        let rows: Vec<AccountOf> = fetch_all(
            tx.conn(),
            Query::select()
                .column(Deals::AccountId)
                .from(Deals::Table)
                .and_where(Expr::col(Deals::CompanyId).eq(company))
                .and_where(Expr::col(Deals::Id).is_in(chunk.iter().copied())),
        )
        .await?;
        out.extend(rows.into_iter().filter_map(|r| r.account_id));
    }
    Ok(crate::query::unique_ids(&out))
}

/// Recomputes the health of the accounts whose activities, tasks or deals changed, from the
/// outbox's events (activity.*, task.*, deal.* — a deal won, lost or moved among them).
pub struct HealthConsumer;

#[async_trait::async_trait]
impl Consumer for HealthConsumer {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    async fn apply(&self, tx: &Tx, events: &[Event]) -> Result<()> {
        let mut by_company: HashMap<CompanyId, Touched> = HashMap::new();
        for event in events {
            if matches!(
                event.record_type.as_deref(),
                Some("activity" | "task" | "deal")
            ) {
                touched_by(event, by_company.entry(event.company_id).or_default());
            }
        }
        for (company, touched) in by_company {
            let ids = accounts_of(tx, company, touched).await?;
            if !ids.is_empty() {
                recompute_ids(tx, company, &ids).await?;
            }
        }
        Ok(())
    }
}

/// One point of an account's health trend.
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct TrendPoint {
    pub score: i32,
    pub computed_at: DateTime<Utc>,
}

/// Why an account's health is what it is (`GET /api/v1/accounts/{id}/health`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountHealth {
    #[schema(value_type = uuid::Uuid)]
    pub account_id: AccountId,
    /// 0 to 100, computed as of now from the components…
    pub score: i32,
    /// …and as stored on the account (what lists filter and sort by; it follows within seconds
    /// of a change, and nightly).
    pub stored_score: Option<i32>,
    /// Each component with its weight, points and why.
    pub components: Vec<ComponentScore>,
    /// The stored score over time, oldest first (the last 30 points: each change, and at least
    /// one a day it was computed).
    pub trend: Vec<TrendPoint>,
    pub lifecycle_stage: LifecycleStage,
    /// Why a lifecycle rule set the stage; null when it was set by hand.
    pub lifecycle_reason: Option<String>,
    /// The company's thresholds: a customer below at_risk_below is at risk; an account at risk
    /// from recovered_at on is a customer again.
    pub at_risk_below: i32,
    pub recovered_at: i32,
}

/// The health of an account the caller may read.
pub async fn breakdown(store: &Store, actor: &Actor, id: AccountId) -> Result<AccountHealth> {
    let r = store.read(actor).await?;
    let account: Account = record::get_in(r.conn(), actor, Action::Read, id).await?;
    let config = config_in(r.conn(), actor.company_id).await?;
    let at = now();
    let facts = facts_of(r.conn(), actor.company_id, &[id], at)
        .await?
        .remove(&id)
        .unwrap_or_else(|| AccountFacts::none(at));
    let health = config.health(&facts);
    let mut trend: Vec<TrendPoint> = fetch_all(
        r.conn(),
        Query::select()
            .columns([H::Score, H::ComputedAt])
            .from(H::Table)
            .and_where(Expr::col(H::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(H::AccountId).eq(id))
            .order_by(H::ComputedAt, Order::Desc)
            .limit(TREND_POINTS),
    )
    .await?;
    trend.reverse();
    Ok(AccountHealth {
        account_id: id,
        score: health.score,
        stored_score: account.health_score,
        components: health.components,
        trend,
        lifecycle_stage: account.lifecycle_stage,
        lifecycle_reason: account.lifecycle_reason,
        at_risk_below: config.at_risk_below,
        recovered_at: config.recovered_at,
    })
}
