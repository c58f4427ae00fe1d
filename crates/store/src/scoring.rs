//! Lead scoring in the store (issue 14 §1; the arithmetic is `rivet_domain::scoring`).
//!
//! - **Settings**: one JSON document per company (`scoring_settings`); none means the
//!   defaults. A change is audited and queues a rescore of the company's leads
//!   ([`RESCORE_JOB`]) in the same transaction.
//! - **Fit** is computed as a lead is written, in the generic record layer's hook
//!   (`Lead::write_columns`), so every door — API, form, ingestion, import, merge — scores alike
//!   and a client cannot write a score.
//! - **Engagement** rises through the event consumer [`ScoringConsumer`]: each
//!   `activity.logged` linked to a lead that is a signal (a meeting held, a call connected, an
//!   inbound e-mail or message) and each `lead.engaged` (reported by the ingestion API or a web
//!   form) becomes a row of `lead_signals` (one per source, so an event seen twice counts once)
//!   and the lead's scores are recomputed in the consumer's transaction — within a dispatcher
//!   round (a second or so) of the commit that logged it.
//! - **History**: each change of a lead's scores after its creation is a row of
//!   `lead_score_history` with its cause; creation is the first row.
//! - **Thresholds**: a total crossing one upwards emits `lead.score_threshold_crossed`, and
//!   creates the owner's task and moves the status where the threshold says so — in the
//!   transaction that moved the score.
//! - **Decay**: engagement halves every half-life, so a nightly rescore (and one after each
//!   settings change) brings the stored scores to the day; [`breakdown`] computes them as of now.

use crate::events::{Consumer, Event};
use crate::leads::Lead;
use crate::record::Record;
use crate::tables::{LeadScoreHistory as H, LeadSignals as S, Leads};
use crate::{Result, Store, Tx, exec, fetch_all, fetch_optional, new_id, now, record};
use chrono::{DateTime, Utc};
use rivet_domain::activities::RecordType;
use rivet_domain::events::NewEvent;
use rivet_domain::ids::{CompanyId, LeadId, UserId};
use rivet_domain::leads::LeadStatus;
use rivet_domain::scoring::{
    ENGAGED_EVENT, FitHit, ScoringConfig, ScoringInput, THRESHOLD_EVENT, grade, signal_named,
    signal_of_activity,
};
use rivet_domain::tasks::{TaskData, TaskPriority, TaskStatus};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The job that recomputes every lead's scores: of one company (its `company_id`) or, without
/// one, of every company (nightly, and once after the migration that made scores computed).
pub const RESCORE_JOB: &str = "scoring.rescore";
/// The event consumer's name (its position in `event_positions`).
pub const CONSUMER: &str = "scoring";
/// Leads rescored per transaction.
const RESCORE_BATCH: u64 = 1_000;

impl crate::documents::Document for ScoringConfig {
    type Input = ScoringInput;
    const TABLE: &'static str = "scoring_settings";
    const NAME: &'static str = "scoring";
    const RECOMPUTE_JOB: Option<&'static str> = Some(RESCORE_JOB);
    fn validate(input: ScoringInput) -> std::result::Result<Self, rivet_domain::FieldErrors> {
        input.validate()
    }
    fn to_input(&self) -> ScoringInput {
        ScoringConfig::to_input(self)
    }
}

async fn config_in<C: ConnectionTrait>(conn: &C, company: CompanyId) -> Result<ScoringConfig> {
    crate::documents::read(conn, company).await
}

/// The company's scoring settings, read once per transaction (a batch of creates reads them
/// once).
pub(crate) async fn config_tx(tx: &Tx, company: CompanyId) -> Result<ScoringConfig> {
    if let Some(config) = tx.scoring.get() {
        return Ok(config.clone());
    }
    let config = config_in(tx.conn(), company).await?;
    Ok(tx.scoring.get_or_init(|| config).clone())
}

/// The scores a lead's data gets as it is written: fit from the rules, engagement from the
/// signals of the lead `id` (none for a new lead) as of now, and their total.
pub(crate) async fn scores_of(
    tx: &Tx,
    company: CompanyId,
    fields: &serde_json::Map<String, Value>,
    id: Option<LeadId>,
) -> Result<Scores> {
    let config = config_tx(tx, company).await?;
    let fit = config.fit(fields);
    let engagement = match id {
        None => 0,
        Some(id) => {
            let at = now();
            let signals = signals_of(tx.conn(), company, &[id], config.horizon(at)).await?;
            config.engagement(
                signals
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .map(|(s, t)| (s.as_str(), *t)),
                at,
            )
        }
    };
    Ok((fit, engagement, config.total(fit, engagement)))
}

/// A lead's fit, engagement and total scores.
pub(crate) type Scores = (i32, i32, i32);

/// What goes with written leads' scores, in their transaction: a history row for each lead
/// whose scores changed (every new lead), and the thresholds each crossed. `before` is each
/// lead's total before (`None`: new).
pub(crate) async fn after_scored(
    tx: &Tx,
    actor: &Actor,
    written: &mut [(&mut Lead, Option<Scores>)],
    cause: &str,
) -> Result<()> {
    let config = config_tx(tx, actor.company_id).await?;
    let changed: Vec<&Lead> = written
        .iter()
        .filter(|(lead, before)| *before != Some(scores(lead)))
        .map(|(lead, _)| &**lead)
        .collect();
    write_history(tx, actor.company_id, &changed, cause).await?;
    let crossed = written
        .iter_mut()
        .map(|(lead, before)| (&mut **lead, before.map(|b| b.2)));
    fire_all(tx, actor.company_id, &config, crossed, |_| actor.clone()).await
}

/// [`fire_thresholds`] for each of `crossed` (a lead and its total before, `None`: new), as
/// `actor_of(lead)`; the events and notifications of them all written at once.
async fn fire_all<'a>(
    tx: &Tx,
    company: CompanyId,
    config: &ScoringConfig,
    crossed: impl Iterator<Item = (&'a mut Lead, Option<i32>)> + Send,
    actor_of: impl Fn(&Lead) -> Actor + Send,
) -> Result<()> {
    let (mut events, mut notes) = (Vec::new(), Vec::new());
    for (lead, before) in crossed {
        let actor = actor_of(lead);
        fire_thresholds(tx, &actor, config, lead, before, &mut events, &mut notes).await?;
    }
    crate::notifications::notify_all(tx, company, &notes).await?;
    tx.emit_all(company, &events).await
}

fn scores(lead: &Lead) -> Scores {
    (lead.fit_score, lead.engagement_score, lead.total_score)
}

async fn write_history(tx: &Tx, company: CompanyId, leads: &[&Lead], cause: &str) -> Result<()> {
    let at = now();
    for chunk in leads.chunks(crate::MAX_BOUND_VALUES / 8) {
        if chunk.is_empty() {
            continue;
        }
        let mut insert = Query::insert();
        insert.into_table(H::Table).columns([
            H::CompanyId,
            H::Id,
            H::LeadId,
            H::At,
            H::Fit,
            H::Engagement,
            H::Total,
            H::Cause,
        ]);
        for lead in chunk {
            insert.values_panic([
                company.into(),
                new_id().into(),
                lead.id.into(),
                at.into(),
                lead.fit_score.into(),
                lead.engagement_score.into(),
                lead.total_score.into(),
                cause.into(),
            ]);
        }
        exec(tx.conn(), &insert).await?;
    }
    Ok(())
}

/// Whether a threshold's status may replace `current`: only a lead still being worked (new,
/// contacted, nurturing) moves, and only forwards.
fn advances(current: LeadStatus, to: LeadStatus) -> bool {
    let rank = |s: LeadStatus| match s {
        LeadStatus::New => 0,
        LeadStatus::Contacted => 1,
        LeadStatus::Nurturing => 2,
        LeadStatus::Qualified | LeadStatus::Unqualified | LeadStatus::Converted => 3,
    };
    rank(current) < 3 && rank(to) > rank(current)
}

/// Act on each threshold `lead`'s total crossed coming from `before`: the event and the owner's
/// notification (added to `events` and `notes`, which the caller writes for its batch at once),
/// the owner's task and the status change (audited, as the transaction's actor or the system).
/// `lead` is updated to what was written.
async fn fire_thresholds(
    tx: &Tx,
    actor: &Actor,
    config: &ScoringConfig,
    lead: &mut Lead,
    before: Option<i32>,
    events: &mut Vec<(NewEvent, String)>,
    notes: &mut Vec<(UserId, crate::notifications::NewNotification)>,
) -> Result<()> {
    let crossed = config.crossed(before, lead.total_score);
    if crossed.is_empty() {
        return Ok(());
    }
    let rule_actor = actor.granted(&[
        (Resource::Tasks, Action::Create),
        (Resource::Leads, Action::Read),
        (Resource::Leads, Action::Update),
    ]);
    for threshold in crossed {
        events.push((
            NewEvent {
                event_type: THRESHOLD_EVENT.to_owned(),
                record_type: "lead",
                data: json!({
                    "threshold": threshold.name,
                    "score": threshold.score,
                    "total_score": lead.total_score,
                    "owner_id": lead.owner_id,
                }),
            },
            lead.id.to_string(),
        ));
        if threshold.notify_owner {
            notes.push((
                lead.owner_id,
                crate::notifications::lead_threshold(lead, threshold),
            ));
        }
        if let Some(title) = &threshold.create_task {
            let data = TaskData {
                subject: title.clone(),
                description: Some(format!(
                    "The lead's score reached {} ({} at {}).",
                    lead.total_score, threshold.name, threshold.score
                )),
                due_at: Some(now() + chrono::Duration::days(1)),
                reminder_at: None,
                priority: TaskPriority::Normal,
                status: TaskStatus::Open,
                assignee_id: Some(lead.owner_id),
                related: Some((RecordType::Lead, lead.id.uuid())),
                recurrence: None,
                series: None,
            };
            record::create_in::<crate::tasks::Task>(tx, &rule_actor, &data).await?;
        }
        // The company's gates hold here too: a lead that lacks what the status needs stays.
        let gated = match threshold.set_status {
            Some(status) if advances(lead.status, status) => {
                crate::qualification::unmet_for(tx, actor.company_id, lead, status)
                    .await?
                    .is_empty()
            }
            _ => false,
        };
        if let Some(status) = threshold.set_status
            && gated
        {
            record::update_rows::<Lead>(
                tx,
                &rule_actor,
                std::slice::from_ref(lead),
                vec![
                    (crate::query::iden(Leads::Status), status.as_str().into()),
                    (
                        crate::query::iden(Leads::StatusReason),
                        Option::<String>::None.into(),
                    ),
                    (
                        crate::query::iden(Leads::StatusChangedAt),
                        Some(now()).into(),
                    ),
                ],
                |l, at| {
                    l.status = status;
                    l.status_reason = None;
                    l.status_changed_at = Some(at);
                    l.updated_at = at;
                },
            )
            .await?;
            lead.status = status;
            lead.status_reason = None;
            crate::qualification::entered(tx, actor.company_id, &[&*lead], now(), false).await?;
        }
    }
    Ok(())
}

/// Who the system acts as for a lead's threshold actions outside a request (the consumer, a
/// rescore): the lead's owner, with just the grants the actions need. The audit names the
/// system (the transaction has no actor).
fn system_actor(company: CompanyId, owner: UserId) -> Actor {
    Actor::system(company, owner).granted(&[
        (Resource::Tasks, Action::Create),
        (Resource::Leads, Action::Read),
        (Resource::Leads, Action::Update),
    ])
}

#[derive(FromQueryResult)]
struct SignalRow {
    lead_id: LeadId,
    signal: String,
    occurred_at: DateTime<Utc>,
}

/// The signals of `leads` since `since`, by lead.
async fn signals_of<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    leads: &[LeadId],
    since: DateTime<Utc>,
) -> Result<HashMap<LeadId, Vec<(String, DateTime<Utc>)>>> {
    let mut out: HashMap<LeadId, Vec<(String, DateTime<Utc>)>> = HashMap::new();
    for chunk in leads.chunks(crate::MAX_BOUND_VALUES / 2) {
        let rows: Vec<SignalRow> = fetch_all(
            conn,
            Query::select()
                .columns([S::LeadId, S::Signal, S::OccurredAt])
                .from(S::Table)
                .and_where(Expr::col(S::CompanyId).eq(company))
                .and_where(Expr::col(S::LeadId).is_in(chunk.iter().copied()))
                .and_where(Expr::col(S::OccurredAt).gte(since)),
        )
        .await?;
        for row in rows {
            out.entry(row.lead_id)
                .or_default()
                .push((row.signal, row.occurred_at));
        }
    }
    Ok(out)
}

/// Recompute the scores of `leads` (read in this transaction) at `at`: engagement from their
/// signals and, with `refit`, fit from their fields. Writes those that changed, with history,
/// and fires the thresholds they crossed. Returns how many changed.
async fn rescore_leads(
    tx: &Tx,
    company: CompanyId,
    config: &ScoringConfig,
    leads: Vec<Lead>,
    refit: bool,
    cause: &str,
) -> Result<u64> {
    let at = now();
    let ids: Vec<LeadId> = leads.iter().map(|l| l.id).collect();
    let signals = signals_of(tx.conn(), company, &ids, config.horizon(at)).await?;
    let mut changed: Vec<(Lead, i32)> = Vec::new();
    for mut lead in leads {
        let fit = if refit {
            config.fit(&lead.as_input())
        } else {
            lead.fit_score
        };
        let engagement = config.engagement(
            signals
                .get(&lead.id)
                .into_iter()
                .flatten()
                .map(|(s, t)| (s.as_str(), *t)),
            at,
        );
        let total = config.total(fit, engagement);
        if (fit, engagement, total) == scores(&lead) {
            continue;
        }
        let before = lead.total_score;
        lead.fit_score = fit;
        lead.engagement_score = engagement;
        lead.total_score = total;
        changed.push((lead, before));
    }
    let written: Vec<&Lead> = changed.iter().map(|(l, _)| l).collect();
    write_scores(tx, company, &written).await?;
    write_history(tx, company, &written, cause).await?;
    let crossed = changed
        .iter_mut()
        .map(|(lead, before)| (lead, Some(*before)));
    fire_all(tx, company, config, crossed, |lead| {
        system_actor(company, lead.owner_id)
    })
    .await?;
    let rescored: Vec<&Lead> = changed.iter().map(|(l, _)| l).collect();
    crate::qualification::queue_auto_convert(tx, company, &rescored).await?;
    Ok(changed.len() as u64)
}

/// Store the scores of `leads`, a statement per 1,000 ([`crate::update_from_values`]).
async fn write_scores(tx: &Tx, company: CompanyId, leads: &[&Lead]) -> Result<()> {
    let rows: Vec<Vec<sea_orm::Value>> = leads
        .iter()
        .map(|lead| {
            vec![
                lead.id.uuid().into(),
                lead.fit_score.into(),
                lead.engagement_score.into(),
                lead.total_score.into(),
            ]
        })
        .collect();
    crate::update_from_values(
        tx,
        "leads",
        company,
        &["fit_score", "engagement_score", "total_score"],
        &rows,
    )
    .await
}

/// Recompute every lead's scores — of `company`, or of every company — in batches of
/// [`RESCORE_BATCH`], one transaction each; `report(done, total)` after each batch. Returns
/// how many leads' scores changed.
pub async fn rescore(
    store: &Store,
    company: Option<CompanyId>,
    backfill: bool,
    report: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<u64> {
    let companies = crate::companies_to_run(store, company).await?;
    let total = crate::total_rows(store, &companies, |c| {
        Query::select()
            .expr(Expr::col(Leads::Id).count())
            .from(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(c))
            .to_owned()
    })
    .await?;
    let mut done: i64 = 0;
    let mut changed: u64 = 0;
    report(done, total);
    for company in companies {
        if backfill {
            backfill_signals(store, company).await?;
        }
        let reader = system_actor(company, UserId::nil());
        let mut after: Option<LeadId> = None;
        loop {
            let tx = store.write_system().await?;
            let config = config_in(tx.conn(), company).await?;
            let leads: Vec<Lead> =
                record::locked_batch(&tx, &reader, company, after, RESCORE_BATCH).await?;
            let Some(last) = leads.last().map(|l| l.id) else {
                break;
            };
            let n = leads.len() as i64;
            changed += rescore_leads(&tx, company, &config, leads, true, "rescored").await?;
            tx.commit().await?;
            done += n;
            report(done, total);
            after = Some(last);
        }
    }
    Ok(changed)
}

#[derive(FromQueryResult)]
struct LoggedActivity {
    id: Uuid,
    lead_id: LeadId,
    kind: String,
    direction: Option<String>,
    outcome: Option<String>,
    occurred_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    subject: Option<String>,
}

/// The signals of every activity already logged on `company`'s leads (activities logged before
/// scoring, or before their events reached the consumer): one per activity and lead, as the
/// consumer would have recorded them, in batches of 1,000 activities.
async fn backfill_signals(store: &Store, company: CompanyId) -> Result<()> {
    use crate::tables::{Activities as A, ActivityLinks as L};
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = Query::select();
        q.columns([
            (A::Table, A::Id),
            (A::Table, A::Kind),
            (A::Table, A::Direction),
            (A::Table, A::Outcome),
            (A::Table, A::OccurredAt),
            (A::Table, A::CreatedAt),
            (A::Table, A::Subject),
        ])
        .expr_as(
            Expr::col((L::Table, L::RecordId)),
            sea_orm::sea_query::Alias::new("lead_id"),
        )
        .from(A::Table)
        .inner_join(
            L::Table,
            Expr::col((L::Table, L::CompanyId))
                .equals((A::Table, A::CompanyId))
                .and(Expr::col((L::Table, L::ActivityId)).equals((A::Table, A::Id))),
        )
        .and_where(Expr::col((A::Table, A::CompanyId)).eq(company))
        .and_where(Expr::col((L::Table, L::RecordType)).eq("lead"))
        .and_where(
            Expr::col((A::Table, A::Kind)).is_in(["meeting", "call", "email", "whatsapp", "sms"]),
        )
        .order_by((A::Table, A::Id), Order::Asc)
        .limit(1_000);
        if let Some(after) = after {
            q.and_where(Expr::col((A::Table, A::Id)).gt(after));
        }
        let rows: Vec<LoggedActivity> = fetch_all(store.system(), &q).await?;
        let Some(last) = rows.last().map(|r| r.id) else {
            return Ok(());
        };
        let signals: Vec<NewSignal> = rows
            .into_iter()
            .filter_map(|r| {
                let signal =
                    signal_of_activity(&r.kind, r.direction.as_deref(), r.outcome.as_deref())?;
                Some(NewSignal {
                    company,
                    lead: r.lead_id,
                    signal,
                    at: r.occurred_at.unwrap_or(r.created_at),
                    source: r.id,
                    detail: r.subject,
                })
            })
            .collect();
        let tx = store.write_system().await?;
        insert_signals(&tx, company, &signals).await?;
        let leads: Vec<LeadId> = signals.iter().map(|s| s.lead).collect();
        crate::scoring_model::refresh_ids(&tx, company, &leads).await?;
        tx.commit().await?;
        after = Some(last);
    }
}

/// One signal a consumed event means.
struct NewSignal {
    company: CompanyId,
    lead: LeadId,
    signal: &'static str,
    at: DateTime<Utc>,
    source: Uuid,
    detail: Option<String>,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The signals an event means for leads.
fn signals_in(event: &Event) -> Vec<NewSignal> {
    let record = &event.data["record"];
    let time = |v: Option<&str>| {
        v.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or(event.created_at, |t| t.with_timezone(&Utc))
    };
    match event.event_type.as_str() {
        "activity.logged" => {
            let Some(kind) = text(record, "kind") else {
                return Vec::new();
            };
            let Some(signal) =
                signal_of_activity(kind, text(record, "direction"), text(record, "outcome"))
            else {
                return Vec::new();
            };
            let Some(source) = text(record, "id").and_then(|i| i.parse::<Uuid>().ok()) else {
                return Vec::new();
            };
            let at = time(text(record, "occurred_at"));
            record["links"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|l| text(l, "record_type") == Some("lead"))
                .filter_map(|l| text(l, "record_id").and_then(|i| i.parse::<Uuid>().ok()))
                .map(|lead| NewSignal {
                    company: event.company_id,
                    lead: LeadId::from_uuid(lead),
                    signal,
                    at,
                    source,
                    detail: text(record, "subject").map(str::to_owned),
                })
                .collect()
        }
        ENGAGED_EVENT => {
            let Some(signal) = text(&event.data, "signal").and_then(signal_named) else {
                return Vec::new();
            };
            let Some(lead) = event
                .record_id
                .as_deref()
                .and_then(|i| i.parse::<Uuid>().ok())
            else {
                return Vec::new();
            };
            vec![NewSignal {
                company: event.company_id,
                lead: LeadId::from_uuid(lead),
                signal: signal.name,
                at: time(text(&event.data, "occurred_at")),
                source: event.id,
                detail: text(&event.data, "detail").map(str::to_owned),
            }]
        }
        _ => Vec::new(),
    }
}

/// Write `signals` (one per lead, source and signal: one already there is kept).
async fn insert_signals(tx: &Tx, company: CompanyId, signals: &[NewSignal]) -> Result<()> {
    for chunk in signals.chunks(crate::MAX_BOUND_VALUES / 7) {
        if chunk.is_empty() {
            continue;
        }
        let mut insert = Query::insert();
        insert
            .into_table(S::Table)
            .columns([
                S::CompanyId,
                S::Id,
                S::LeadId,
                S::Signal,
                S::OccurredAt,
                S::SourceId,
                S::Detail,
            ])
            .on_conflict(
                OnConflict::columns([S::CompanyId, S::LeadId, S::SourceId, S::Signal])
                    .do_nothing()
                    .to_owned(),
            );
        for s in chunk {
            insert.values_panic([
                company.into(),
                new_id().into(),
                s.lead.into(),
                s.signal.into(),
                s.at.into(),
                s.source.into(),
                s.detail
                    .as_deref()
                    .map(|d| d.chars().take(500).collect::<String>())
                    .into(),
            ]);
        }
        exec(tx.conn(), &insert).await?;
    }
    Ok(())
}

/// Raises engagement scores from the outbox's events.
pub struct ScoringConsumer;

#[async_trait::async_trait]
impl Consumer for ScoringConsumer {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    async fn apply(&self, tx: &Tx, events: &[Event]) -> Result<()> {
        let signals: Vec<NewSignal> = events.iter().flat_map(signals_in).collect();
        if signals.is_empty() {
            return Ok(());
        }
        let mut by_company: HashMap<CompanyId, Vec<NewSignal>> = HashMap::new();
        for s in signals {
            by_company.entry(s.company).or_default().push(s);
        }
        for (company, signals) in by_company {
            let ids: Vec<LeadId> =
                crate::query::unique_ids(&signals.iter().map(|s| s.lead).collect::<Vec<_>>());
            // Only leads that still exist (one deleted since keeps nothing).
            let reader = system_actor(company, UserId::nil());
            let leads: Vec<Lead> = record::all_where::<Lead, _>(
                tx.conn(),
                &reader,
                sea_orm::sea_query::Cond::all()
                    .add(Expr::col((Leads::Table, Leads::Id)).is_in(ids.iter().copied())),
            )
            .await?;
            let known: Vec<NewSignal> = signals
                .into_iter()
                .filter(|s| leads.iter().any(|l| l.id == s.lead))
                .collect();
            if known.is_empty() {
                continue;
            }
            insert_signals(tx, company, &known).await?;
            crate::scoring_model::refresh(tx, company, &leads.iter().collect::<Vec<_>>()).await?;
            let config = config_in(tx.conn(), company).await?;
            rescore_leads(tx, company, &config, leads, false, "engagement").await?;
        }
        Ok(())
    }
}

/// Report a signal for a lead (the ingestion API's website visits, a web form's submission):
/// an `lead.engaged` event in the caller's transaction, which the consumer turns into the
/// signal.
pub async fn report_signal(
    tx: &Tx,
    company: CompanyId,
    lead: LeadId,
    signal: &str,
    occurred_at: Option<DateTime<Utc>>,
    detail: Option<&str>,
) -> Result<()> {
    tx.emit(
        company,
        &NewEvent {
            event_type: ENGAGED_EVENT.to_owned(),
            record_type: "lead",
            data: json!({
                "signal": signal,
                "occurred_at": occurred_at.unwrap_or_else(now),
                "detail": detail,
            }),
        },
        &lead.to_string(),
        None,
    )
    .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct LeadIdRow {
    id: LeadId,
}

/// The newest lead with the e-mail `email` (compared lower-cased) that the caller may update.
pub async fn lead_by_email(store: &Store, actor: &Actor, email: &str) -> Result<Option<LeadId>> {
    let r = store.read(actor).await?;
    let row: Option<LeadIdRow> = fetch_optional(
        r.conn(),
        Query::select()
            .column((Leads::Table, Leads::Id))
            .from(Leads::Table)
            .and_where(Expr::col((Leads::Table, Leads::CompanyId)).eq(actor.company_id))
            .and_where(Expr::col((Leads::Table, Leads::EmailNorm)).eq(email.trim().to_lowercase()))
            .cond_where(record::scope::<Lead>(actor, Action::Update)?)
            .order_by((Leads::Table, Leads::CreatedAt), Order::Desc)
            .limit(1),
    )
    .await?;
    Ok(row.map(|r| r.id))
}

/// One signal in a lead's breakdown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignalPoints {
    pub signal: String,
    pub label: String,
    pub occurred_at: DateTime<Utc>,
    pub detail: Option<String>,
    /// The signal's weight at full strength.
    pub weight: i32,
    /// What it is worth now, after decay (two decimals).
    pub points: f64,
}

/// A threshold and whether the lead's total has reached it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThresholdState {
    pub name: String,
    pub score: i32,
    pub reached: bool,
}

/// One point of a lead's score history.
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct HistoryPoint {
    pub at: DateTime<Utc>,
    pub fit: i32,
    pub engagement: i32,
    pub total: i32,
    /// `created`, `updated`, `engagement`, `rescored`, `merged`.
    pub cause: String,
}

/// Why a lead scores what it does (`GET /api/v1/leads/{id}/score`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Breakdown {
    #[schema(value_type = uuid::Uuid)]
    pub lead_id: LeadId,
    /// The scores as of now (engagement decayed to this moment)…
    pub fit_score: i32,
    pub engagement_score: i32,
    pub total_score: i32,
    /// A (≥ 75), B (≥ 50), C (≥ 25) or D.
    pub grade: &'static str,
    /// …and as stored on the lead (what lists sort by; brought to the day nightly).
    pub stored: StoredScores,
    /// The share of fit in the total, in percent.
    pub fit_weight: i32,
    /// Every fit rule and whether the lead matches it.
    pub fit: Vec<FitHit>,
    pub half_life_days: i32,
    /// The signals that count, newest first.
    pub engagement: Vec<SignalPoints>,
    pub thresholds: Vec<ThresholdState>,
    /// Newest first, at most 50.
    pub history: Vec<HistoryPoint>,
    /// The conversion model's probability for the lead and what moved it most
    /// (`crate::scoring_model`); null while the company has no model.
    pub model: Option<crate::scoring_model::LeadModelScore>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredScores {
    pub fit_score: i32,
    pub engagement_score: i32,
    pub total_score: i32,
}

#[derive(FromQueryResult)]
struct DetailedSignal {
    signal: String,
    occurred_at: DateTime<Utc>,
    detail: Option<String>,
}

/// The breakdown of a lead the caller may read.
pub async fn breakdown(store: &Store, actor: &Actor, id: LeadId) -> Result<Breakdown> {
    let r = store.read(actor).await?;
    let lead: Lead = record::get_in(r.conn(), actor, Action::Read, id).await?;
    let config = config_in(r.conn(), actor.company_id).await?;
    let at = now();
    let rows: Vec<DetailedSignal> = fetch_all(
        r.conn(),
        Query::select()
            .columns([S::Signal, S::OccurredAt, S::Detail])
            .from(S::Table)
            .and_where(Expr::col(S::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(S::LeadId).eq(id))
            .and_where(Expr::col(S::OccurredAt).gte(config.horizon(at)))
            .order_by(S::OccurredAt, Order::Desc),
    )
    .await?;
    let history: Vec<HistoryPoint> = fetch_all(
        r.conn(),
        Query::select()
            .columns([H::At, H::Fit, H::Engagement, H::Total, H::Cause])
            .from(H::Table)
            .and_where(Expr::col(H::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(H::LeadId).eq(id))
            .order_by(H::At, Order::Desc)
            .limit(50),
    )
    .await?;
    let fields = lead.as_input();
    let fit = config.fit(&fields);
    let engagement = config.engagement(rows.iter().map(|s| (s.signal.as_str(), s.occurred_at)), at);
    let total = config.total(fit, engagement);
    let model = crate::scoring_model::lead_score(r.conn(), actor.company_id, id).await?;
    Ok(Breakdown {
        lead_id: id,
        fit_score: fit,
        engagement_score: engagement,
        total_score: total,
        grade: grade(total),
        stored: StoredScores {
            fit_score: lead.fit_score,
            engagement_score: lead.engagement_score,
            total_score: lead.total_score,
        },
        fit_weight: config.fit_weight,
        fit: config.fit_breakdown(&fields),
        half_life_days: config.half_life_days,
        engagement: rows
            .into_iter()
            .map(|s| {
                let points = config.signal_points(&s.signal, s.occurred_at, at);
                let known = signal_named(&s.signal);
                SignalPoints {
                    label: known.map_or_else(|| s.signal.clone(), |k| k.label.to_owned()),
                    weight: config.weights.get(s.signal.as_str()).copied().unwrap_or(0),
                    points: (points * 100.0).round() / 100.0,
                    signal: s.signal,
                    occurred_at: s.occurred_at,
                    detail: s.detail,
                }
            })
            .collect(),
        thresholds: config
            .thresholds
            .iter()
            .map(|t| ThresholdState {
                name: t.name.clone(),
                score: t.score,
                reached: total >= t.score,
            })
            .collect(),
        history,
        model,
    })
}

#[derive(FromQueryResult)]
struct MovedSignal {
    signal: String,
    occurred_at: DateTime<Utc>,
    source_id: Uuid,
    detail: Option<String>,
}

/// Copy the signals of merged leads (`losers`) to the survivor (a source it has already is
/// kept once); the losers' own go with them. The engagement a duplicate showed is the
/// survivor's: its scores are recomputed as the merge writes it.
pub(crate) async fn merge_signals(
    tx: &Tx,
    company: CompanyId,
    survivor: LeadId,
    losers: &[LeadId],
) -> Result<()> {
    let rows: Vec<MovedSignal> = fetch_all(
        tx.conn(),
        Query::select()
            .columns([S::Signal, S::OccurredAt, S::SourceId, S::Detail])
            .from(S::Table)
            .and_where(Expr::col(S::CompanyId).eq(company))
            .and_where(Expr::col(S::LeadId).is_in(losers.iter().copied())),
    )
    .await?;
    let signals: Vec<NewSignal> = rows
        .into_iter()
        .map(|r| NewSignal {
            company,
            lead: survivor,
            signal: signal_named(&r.signal).map_or("", |s| s.name),
            at: r.occurred_at,
            source: r.source_id,
            detail: r.detail,
        })
        .filter(|s| !s.signal.is_empty())
        .collect();
    insert_signals(tx, company, &signals).await
}
