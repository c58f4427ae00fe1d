//! The conversion model in the store (issue 14 §1; the model itself is the pure crate
//! `rivet_model`).
//!
//! - **Training** ([`train`]): a company's labelled leads — `converted` against `unqualified` —
//!   become samples: a few fields (industry, country, source, UTM source and medium, the
//!   seniority a title tells, employee count, annual revenue) and how many of each engagement
//!   signal the lead showed (`lead_signals`). Below the company's `model_min_labelled` nothing
//!   is stored and the rule score stands alone. Otherwise the model is stored as the company's
//!   next version (`scoring_models`) and every lead of the company is scored with it
//!   (`lead_predictions`), a thousand per transaction.
//! - **Following the lead** ([`refresh`], [`refresh_ids`]): a lead whose fields the model
//!   reads change (the lead record's update hook, a bulk update's leads at once), or that gets
//!   new signals (the scoring consumer, a merge, the signals' backfill), is scored again with
//!   the newest version in that transaction — a few statements per batch, and only the read
//!   of the newest version when the company has none.
//! - **Reading**: [`overview`] (status, the current version's held-out figures, the versions),
//!   [`current`], [`history`], and a lead's probability ([`prediction`], and the breakdown's
//!   [`lead_score`]): the stored one when it comes from the newest version, else computed from
//!   it on the spot (a lead created since the training).
//!
//! The job ([`TRAIN_JOB`]) runs on demand and weekly (`crate::worker`'s schedule in the server).
//! What this module does not do: choose thresholds or act on a probability.

use crate::documents::settings;
use crate::leads::Lead;
use crate::tables::{LeadPredictions as P, LeadSignals as S, Leads, ScoringModels as M};
use crate::{
    Result, Store, StoreError, Tx, exec, fetch_all, fetch_count, fetch_optional, new_id, now,
};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, LeadId, UserId};
use rivet_domain::leads::LeadStatus;
use rivet_domain::scoring::{SIGNALS, ScoringConfig};
use rivet_domain::{Action, Actor};
use rivet_model::{FeatureFields, Model, ModelError, Sample, TrainOptions};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The job that trains the conversion model: of one company (its `company_id`; `user_id` in
/// the payload names who asked) or, without one, of every company with enough labelled leads.
pub const TRAIN_JOB: &str = "scoring.train";
/// Leads scored per transaction.
const PREDICT_BATCH: u64 = 1_000;
/// Versions a history shows at most.
const HISTORY: u64 = 100;

/// Text fields the model one-hot encodes; `seniority` is read from the title.
const CATEGORICAL: &[&str] = &[
    "industry",
    "country",
    "source",
    "utm_source",
    "utm_medium",
    "seniority",
];
/// Amounts the model takes the logarithm of.
const NUMERIC: &[&str] = &["employee_count", "annual_revenue"];

fn feature_fields() -> FeatureFields {
    let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
    FeatureFields {
        categorical: owned(CATEGORICAL),
        numeric: owned(NUMERIC),
        counts: SIGNALS.iter().map(|s| s.name.to_owned()).collect(),
    }
}

/// What a training did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// A new version, and how many leads it scored.
    Trained {
        model_id: Uuid,
        version: i32,
        sample_size: usize,
        roc_auc: f64,
        predicted: i64,
    },
    /// Too few labelled leads, overall or of one outcome: nothing stored.
    NotEnoughData {
        labelled: i64,
        positives: i64,
        negatives: i64,
        needed: i64,
        needed_each_class: i64,
    },
}

/// How many labelled leads a company needs: `model_min_labelled` in all, and a tenth of it (2
/// to 20) of each outcome, so both the training and the held-out split see both.
fn needed(config: &ScoringConfig) -> (i64, i64) {
    let all = i64::from(config.model_min_labelled);
    (all, (all / 10).clamp(2, 20))
}

/// A company's labelled leads, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Labelled {
    positives: i64,
    negatives: i64,
}

impl Labelled {
    fn total(self) -> i64 {
        self.positives + self.negatives
    }

    fn enough(self, config: &ScoringConfig) -> bool {
        let (all, each) = needed(config);
        self.total() >= all && self.positives >= each && self.negatives >= each
    }

    fn short(self, config: &ScoringConfig) -> Outcome {
        let (needed, needed_each_class) = needed(config);
        Outcome::NotEnoughData {
            labelled: self.total(),
            positives: self.positives,
            negatives: self.negatives,
            needed,
            needed_each_class,
        }
    }
}

const POSITIVE: LeadStatus = LeadStatus::Converted;
const NEGATIVE: LeadStatus = LeadStatus::Unqualified;

#[derive(FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
}

async fn labelled_in<C: ConnectionTrait>(conn: &C, company: CompanyId) -> Result<Labelled> {
    let rows: Vec<StatusCount> = fetch_all(
        conn,
        Query::select()
            .column(Leads::Status)
            .expr_as(Expr::col(Leads::Id).count(), "n")
            .from(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(company))
            .and_where(Expr::col(Leads::Status).is_in([POSITIVE.as_str(), NEGATIVE.as_str()]))
            .group_by_col(Leads::Status),
    )
    .await?;
    let count = |s: LeadStatus| {
        rows.iter()
            .find(|r| r.status == s.as_str())
            .map_or(0, |r| r.n)
    };
    Ok(Labelled {
        positives: count(POSITIVE),
        negatives: count(NEGATIVE),
    })
}

/// The columns of a lead the model reads.
#[derive(FromQueryResult)]
struct FeatureRow {
    id: LeadId,
    status: String,
    title: Option<String>,
    industry: Option<String>,
    country: Option<String>,
    source: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    employee_count: Option<i64>,
    annual_revenue_micros: Option<i64>,
}

fn feature_select(company: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            Leads::Id,
            Leads::Status,
            Leads::Title,
            Leads::Industry,
            Leads::Country,
            Leads::Source,
            Leads::UtmSource,
            Leads::UtmMedium,
            Leads::EmployeeCount,
            Leads::AnnualRevenueMicros,
        ])
        .from(Leads::Table)
        .and_where(Expr::col(Leads::CompanyId).eq(company))
        .to_owned()
}

impl From<&Lead> for FeatureRow {
    fn from(lead: &Lead) -> Self {
        Self {
            id: lead.id,
            status: lead.status.as_str().to_owned(),
            title: lead.title.clone(),
            industry: lead.industry.clone(),
            country: lead.country.clone(),
            source: lead.source.clone(),
            utm_source: lead.utm_source.clone(),
            utm_medium: lead.utm_medium.clone(),
            employee_count: lead.employee_count,
            annual_revenue_micros: lead
                .annual_revenue
                .as_deref()
                .and_then(|a| rivet_domain::values::Money::parse(a, String::new()).ok())
                .map(|m| m.micros),
        }
    }
}

impl FeatureRow {
    /// The lead's fields as the model reads them.
    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        let texts = [
            ("industry", &self.industry),
            ("country", &self.country),
            ("source", &self.source),
            ("utm_source", &self.utm_source),
            ("utm_medium", &self.utm_medium),
        ];
        for (name, value) in texts {
            if let Some(v) = value {
                fields.insert(name.to_owned(), Value::from(v.as_str()));
            }
        }
        if let Some(s) = self.title.as_deref().and_then(seniority) {
            fields.insert("seniority".into(), Value::from(s));
        }
        if let Some(n) = self.employee_count {
            fields.insert("employee_count".into(), Value::from(n));
        }
        if let Some(micros) = self.annual_revenue_micros {
            fields.insert(
                "annual_revenue".into(),
                Value::from(micros as f64 / 1_000_000.0),
            );
        }
        fields
    }
}

/// The seniority a job title tells, if it tells one: `c-level`, `vp`, `director`, `manager`
/// or `staff`.
fn seniority(title: &str) -> Option<&'static str> {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    let level = if has(&["vp", "svp", "evp"]) || lower.contains("vice president") {
        "vp"
    } else if has(&[
        "chief",
        "ceo",
        "cto",
        "cfo",
        "coo",
        "cmo",
        "cio",
        "ciso",
        "cro",
        "founder",
        "cofounder",
        "owner",
        "president",
        "partner",
    ]) {
        "c-level"
    } else if has(&["director", "head"]) {
        "director"
    } else if has(&["manager", "lead", "supervisor"]) {
        "manager"
    } else {
        "staff"
    };
    Some(level)
}

#[derive(FromQueryResult)]
struct SignalCount {
    lead_id: LeadId,
    signal: String,
    n: i64,
}

/// How many of each signal the leads `only` (or every lead of the company) showed, by lead.
async fn signal_counts<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    only: Option<&[LeadId]>,
) -> Result<HashMap<LeadId, BTreeMap<String, f64>>> {
    let mut q = Query::select();
    q.columns([S::LeadId, S::Signal])
        .expr_as(Expr::col(S::Id).count(), "n")
        .from(S::Table)
        .and_where(Expr::col(S::CompanyId).eq(company))
        .group_by_col(S::LeadId)
        .group_by_col(S::Signal);
    if let Some(ids) = only {
        q.and_where(Expr::col(S::LeadId).is_in(ids.iter().copied()));
    }
    let rows: Vec<SignalCount> = fetch_all(conn, &q).await?;
    let mut out: HashMap<LeadId, BTreeMap<String, f64>> = HashMap::new();
    for row in rows {
        out.entry(row.lead_id)
            .or_default()
            .insert(row.signal, row.n as f64);
    }
    Ok(out)
}

/// Who the store reads and writes as for a company's model outside a request: no grants, only
/// the company, so on PostgreSQL row-level security binds every statement to it.
fn company_actor(company: CompanyId) -> Actor {
    Actor::system(company, UserId::nil())
}

/// Train `company`'s model on its labelled leads, store it as the next version and score every
/// lead with it; `report(scored, Some(total))` after each batch. With too few labelled leads,
/// nothing is stored.
pub async fn train(
    store: &Store,
    company: CompanyId,
    trained_by: Option<UserId>,
    report: &(dyn Fn(i64, Option<i64>) + Send + Sync),
) -> Result<Outcome> {
    let actor = company_actor(company);
    let config: ScoringConfig = settings(store, &actor).await?;
    let (samples, labelled) = {
        let r = store.read(&actor).await?;
        let labelled = labelled_in(r.conn(), company).await?;
        if !labelled.enough(&config) {
            return Ok(labelled.short(&config));
        }
        let rows: Vec<FeatureRow> = fetch_all(
            r.conn(),
            feature_select(company)
                .and_where(Expr::col(Leads::Status).is_in([POSITIVE.as_str(), NEGATIVE.as_str()]))
                .order_by(Leads::Id, Order::Asc),
        )
        .await?;
        let mut counts = signal_counts(r.conn(), company, None).await?;
        let samples: Vec<Sample> = rows
            .iter()
            .map(|row| Sample {
                fields: row.fields(),
                counts: counts.remove(&row.id).unwrap_or_default(),
                converted: row.status == POSITIVE.as_str(),
            })
            .collect();
        (samples, labelled)
    };
    let (min_labelled, min_each_class) = needed(&config);
    let options = TrainOptions {
        min_labelled: usize::try_from(min_labelled).unwrap_or(usize::MAX),
        min_each_class: usize::try_from(min_each_class).unwrap_or(usize::MAX),
        ..TrainOptions::default()
    };
    // L-BFGS over thousands of rows is seconds of CPU: off the async threads.
    let fitted = tokio::task::spawn_blocking(move || {
        rivet_model::train(&feature_fields(), &samples, &options)
    })
    .await
    .map_err(|e| StoreError::invalid("model", format!("training stopped: {e}")))?;
    let model = match fitted {
        Ok(model) => model,
        // The leads changed between the count and the read.
        Err(ModelError::NotEnoughData { .. }) => return Ok(labelled.short(&config)),
        Err(e) => return Err(StoreError::invalid("model", e.to_string())),
    };
    let (model_id, version) = store_version(store, &actor, trained_by, &model).await?;
    let predicted = predict_all(store, &actor, model_id, &model, report).await?;
    tracing::info!(company = %company, version, roc_auc = model.metrics.roc_auc, predicted, "trained a conversion model");
    Ok(Outcome::Trained {
        model_id,
        version,
        sample_size: model.metrics.sample_size,
        roc_auc: model.metrics.roc_auc,
        predicted,
    })
}

#[derive(FromQueryResult)]
struct MaxVersion {
    version: Option<i32>,
}

/// Store `model` as the company's next version.
async fn store_version(
    store: &Store,
    actor: &Actor,
    trained_by: Option<UserId>,
    model: &Model,
) -> Result<(Uuid, i32)> {
    let json =
        serde_json::to_value(model).map_err(|e| StoreError::invalid("model", e.to_string()))?;
    let size = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let tx = store.write(actor).await?;
    let last: Option<MaxVersion> = fetch_optional(
        tx.conn(),
        Query::select()
            .expr_as(Expr::col(M::Version).max(), "version")
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(actor.company_id)),
    )
    .await?;
    let version = last.and_then(|l| l.version).unwrap_or(0) + 1;
    let id = new_id();
    let metrics = &model.metrics;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(M::Table)
            .columns([
                M::CompanyId,
                M::Id,
                M::Version,
                M::TrainedAt,
                M::TrainedBy,
                M::Model,
                M::SampleSize,
                M::TrainSize,
                M::TestSize,
                M::PositiveRate,
                M::RocAuc,
            ])
            .values_panic([
                actor.company_id.into(),
                id.into(),
                version.into(),
                now().into(),
                trained_by.map(|u| u.uuid()).into(),
                json.into(),
                size(metrics.sample_size).into(),
                size(metrics.train_size).into(),
                size(metrics.test_size).into(),
                metrics.positive_rate.into(),
                metrics.roc_auc.into(),
            ]),
    )
    .await?;
    tx.commit().await?;
    Ok((id, version))
}

/// Score every lead of the actor's company with `model`, [`PREDICT_BATCH`] per transaction.
/// On PostgreSQL a batch's leads stay locked until it commits, so an edit meanwhile (which
/// scores its lead again) waits rather than being overwritten with what its old fields gave.
async fn predict_all(
    store: &Store,
    actor: &Actor,
    model_id: Uuid,
    model: &Model,
    report: &(dyn Fn(i64, Option<i64>) + Send + Sync),
) -> Result<i64> {
    let company = actor.company_id;
    let total = fetch_count(
        store.read(actor).await?.conn(),
        Query::select()
            .expr(Expr::col(Leads::Id).count())
            .from(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(company)),
    )
    .await?;
    let mut done: i64 = 0;
    report(done, Some(total));
    let mut after: Option<LeadId> = None;
    loop {
        let tx = store.write(actor).await?;
        let mut q = feature_select(company);
        if let Some(after) = after {
            q.and_where(Expr::col(Leads::Id).gt(after));
        }
        q.order_by(Leads::Id, Order::Asc).limit(PREDICT_BATCH);
        if tx.conn().get_database_backend() == sea_orm::DbBackend::Postgres {
            q.lock(sea_orm::sea_query::LockType::Update);
        }
        let rows: Vec<FeatureRow> = fetch_all(tx.conn(), &q).await?;
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        store_predictions(&tx, company, (model_id, model), &rows).await?;
        tx.commit().await?;
        done += rows.len() as i64;
        report(done, Some(std::cmp::max(total, done)));
        after = Some(last);
    }
    Ok(done)
}

/// Score `rows` (distinct leads, at most [`PREDICT_BATCH`]) with `model` and store each
/// probability with what moved it: one read of their signal counts, one upsert.
async fn store_predictions(
    tx: &Tx,
    company: CompanyId,
    (model_id, model): (Uuid, &Model),
    rows: &[FeatureRow],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<LeadId> = rows.iter().map(|r| r.id).collect();
    let mut counts = signal_counts(tx.conn(), company, Some(&ids)).await?;
    let at = now();
    let mut insert = Query::insert();
    insert
        .into_table(P::Table)
        .columns([
            P::CompanyId,
            P::LeadId,
            P::ModelId,
            P::Probability,
            P::Contributions,
            P::ScoredAt,
        ])
        .on_conflict(
            OnConflict::columns([P::CompanyId, P::LeadId])
                .update_columns([P::ModelId, P::Probability, P::Contributions, P::ScoredAt])
                .to_owned(),
        );
    for row in rows {
        let counts = counts.remove(&row.id).unwrap_or_default();
        let prediction = model.predict(&row.fields(), &counts);
        let effects: Vec<FeatureEffect> = effects_of(&prediction);
        let effects = serde_json::to_value(effects).unwrap_or(Value::Array(Vec::new()));
        insert.values_panic([
            company.into(),
            row.id.into(),
            model_id.into(),
            prediction.probability.into(),
            effects.into(),
            at.into(),
        ]);
    }
    exec(tx.conn(), &insert).await?;
    Ok(())
}

/// Whether the model reads `after` differently from `before`: a field it reads changed.
pub(crate) fn features_changed(before: &Lead, after: &Lead) -> bool {
    FeatureRow::from(before).fields() != FeatureRow::from(after).fields()
}

/// Score `leads` (as written in `tx`) again with `company`'s newest model and store the
/// probabilities, in the transaction: leads whose fields the model reads changed. Nothing
/// but the read of the newest version when the company has none.
pub(crate) async fn refresh(tx: &Tx, company: CompanyId, leads: &[&Lead]) -> Result<()> {
    if leads.is_empty() {
        return Ok(());
    }
    let Some(newest) = newest_model(tx.conn(), company).await? else {
        return Ok(());
    };
    let rows = leads.iter().map(|l| FeatureRow::from(*l)).collect();
    predict_rows(tx, company, &newest, rows).await
}

/// [`refresh`] for the leads `ids` as `tx` reads them (ids of leads since deleted are passed
/// over): leads whose signals changed.
pub(crate) async fn refresh_ids(tx: &Tx, company: CompanyId, ids: &[LeadId]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let Some(newest) = newest_model(tx.conn(), company).await? else {
        return Ok(());
    };
    let mut rows: Vec<FeatureRow> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(PREDICT_BATCH as usize) {
        let read: Vec<FeatureRow> = fetch_all(
            tx.conn(),
            feature_select(company).and_where(Expr::col(Leads::Id).is_in(chunk.iter().copied())),
        )
        .await?;
        rows.extend(read);
    }
    predict_rows(tx, company, &newest, rows).await
}

/// Score `rows` with the version `(model_id, model)` and store them, [`PREDICT_BATCH`] per
/// statement.
async fn predict_rows(
    tx: &Tx,
    company: CompanyId,
    (model_id, model): &(Uuid, Model),
    mut rows: Vec<FeatureRow>,
) -> Result<()> {
    // One row per lead: an upsert may not meet the same key twice.
    rows.sort_by_key(|r| r.id);
    rows.dedup_by_key(|r| r.id);
    for chunk in rows.chunks(PREDICT_BATCH as usize) {
        store_predictions(tx, company, (*model_id, model), chunk).await?;
    }
    Ok(())
}

/// What the weekly training of every company did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrainedAll {
    /// Companies that got a new version.
    pub trained: usize,
    /// Companies with too few labelled leads.
    pub not_enough_data: usize,
    /// Companies whose training failed (logged; the others go on).
    pub failed: usize,
}

/// Train every company that has enough labelled leads (the weekly schedule); `report(scored,
/// None)` as leads are scored.
pub async fn train_all(
    store: &Store,
    report: &(dyn Fn(i64, Option<i64>) + Send + Sync),
) -> Result<TrainedAll> {
    #[derive(FromQueryResult)]
    struct CompanyRow {
        id: CompanyId,
    }
    // The named bypass: the list of companies belongs to none.
    let companies: Vec<CompanyRow> = fetch_all(
        store.system(),
        Query::select()
            .column(crate::tables::Companies::Id)
            .from(crate::tables::Companies::Table)
            .order_by(crate::tables::Companies::Id, Order::Asc),
    )
    .await?;
    let mut all = TrainedAll::default();
    let mut offset: i64 = 0;
    for company in companies {
        let scored = std::sync::atomic::AtomicI64::new(0);
        let outcome = train(store, company.id, None, &|done, _| {
            scored.store(done, std::sync::atomic::Ordering::Relaxed);
            report(offset + done, None);
        })
        .await;
        offset += scored.load(std::sync::atomic::Ordering::Relaxed);
        match outcome {
            Ok(Outcome::Trained { .. }) => all.trained += 1,
            Ok(Outcome::NotEnoughData { .. }) => all.not_enough_data += 1,
            Err(e) => {
                tracing::warn!(company = %company.id, error = %e, "training a conversion model failed");
                all.failed += 1;
            }
        }
    }
    Ok(all)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// One feature's push on a lead's probability, in log-odds (positive raises it).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FeatureEffect {
    /// E.g. `industry = Software`, `employee_count (log)`, `meeting_held`.
    pub feature: String,
    pub effect: f64,
}

/// Effects and weights smaller than this (log-odds) are not shown: they move a probability by
/// less than a tenth of a percent, and a column that never varied (a field no lead fills)
/// keeps a weight of about this size.
const NEGLIGIBLE: f64 = 0.005;

fn effects_of(prediction: &rivet_model::Prediction) -> Vec<FeatureEffect> {
    prediction
        .contributions
        .iter()
        .filter(|c| c.effect.abs() >= NEGLIGIBLE)
        .map(|c| FeatureEffect {
            feature: c.feature.clone(),
            effect: c.effect,
        })
        .collect()
}

/// A feature and its weight in the model, in log-odds per unit of the encoded value.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelFeatureWeight {
    pub feature: String,
    pub weight: f64,
}

/// A tenth of the held-out leads with similar probabilities: what the model predicted for them
/// on average, and the share that did convert.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelCalibrationBin {
    pub predicted: f64,
    pub observed: f64,
    pub count: i64,
}

/// One trained version, as a history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct ModelVersionSummary {
    pub id: Uuid,
    pub version: i32,
    pub trained_at: DateTime<Utc>,
    /// The member who asked for it; none for the weekly training.
    pub trained_by: Option<Uuid>,
    /// Labelled leads it learned from: the training split plus the held-out split.
    pub sample_size: i32,
    pub train_size: i32,
    pub test_size: i32,
    /// Share of the labelled leads that converted.
    pub positive_rate: f64,
    /// ROC AUC on the held-out split (0.5: no better than chance; 1: perfect ranking).
    pub roc_auc: f64,
}

/// The current version with its held-out calibration and heaviest features.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelVersion {
    #[serde(flatten)]
    pub summary: ModelVersionSummary,
    /// The held-out leads in ten groups by predicted probability, lowest first.
    pub calibration: Vec<ModelCalibrationBin>,
    /// The weights of largest magnitude, largest first (at most ten; negligible ones left out).
    pub top_features: Vec<ModelFeatureWeight>,
}

/// The model's state for a company (`GET /api/v1/scoring/model`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelOverview {
    /// `trained` (a version exists and scores the leads), `not_enough_data` (fewer labelled
    /// leads than needed: the rule score is used) or `not_trained` (enough, but no version yet).
    pub status: &'static str,
    /// The status in plain words.
    pub message: String,
    /// Labelled leads now: converted (positives) and unqualified (negatives).
    pub labelled: i64,
    pub positives: i64,
    pub negatives: i64,
    /// Labelled leads a training needs (the scoring settings' `model_min_labelled`), and of
    /// each outcome.
    pub needed: i64,
    pub needed_each_class: i64,
    /// The newest version.
    pub current: Option<ModelVersion>,
    /// Every version, newest first (at most 100).
    pub history: Vec<ModelVersionSummary>,
}

/// A lead's conversion probability and what moved it most.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadModelScore {
    /// 0 to 1.
    pub probability: f64,
    pub model_version: i32,
    pub model_id: Uuid,
    /// The largest effects, largest first (at most five; negligible ones left out).
    pub top_features: Vec<FeatureEffect>,
    /// When it was computed: at the training, or now for a lead created since.
    pub scored_at: DateTime<Utc>,
}

const SUMMARY_COLUMNS: [M; 9] = [
    M::Id,
    M::Version,
    M::TrainedAt,
    M::TrainedBy,
    M::SampleSize,
    M::TrainSize,
    M::TestSize,
    M::PositiveRate,
    M::RocAuc,
];

#[derive(FromQueryResult)]
struct StoredModel {
    model: Value,
}

fn parse_model(json: Value) -> Result<Model> {
    serde_json::from_value(crate::query::json_column(json))
        .map_err(|e| StoreError::invalid("model", format!("a stored model cannot be read: {e}")))
}

async fn newest_summary<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
) -> Result<Option<ModelVersionSummary>> {
    fetch_optional(
        conn,
        Query::select()
            .columns(SUMMARY_COLUMNS)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .order_by(M::Version, Order::Desc)
            .limit(1),
    )
    .await
}

#[derive(FromQueryResult)]
struct NewestModel {
    id: Uuid,
    model: Value,
}

/// The company's newest version and its model, if it has one.
async fn newest_model<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
) -> Result<Option<(Uuid, Model)>> {
    let newest: Option<NewestModel> = fetch_optional(
        conn,
        Query::select()
            .columns([M::Id, M::Model])
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .order_by(M::Version, Order::Desc)
            .limit(1),
    )
    .await?;
    newest
        .map(|n| Ok((n.id, parse_model(n.model)?)))
        .transpose()
}

/// The model of the version `id`.
async fn model_of<C: ConnectionTrait>(conn: &C, company: CompanyId, id: Uuid) -> Result<Model> {
    let row: StoredModel = crate::fetch_one(
        conn,
        Query::select()
            .column(M::Model)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::Id).eq(id)),
    )
    .await?;
    parse_model(row.model)
}

/// The caller's company's newest version, with its figures.
pub async fn current(store: &Store, actor: &Actor) -> Result<Option<ModelVersion>> {
    let r = store.read(actor).await?;
    let Some(summary) = newest_summary(r.conn(), actor.company_id).await? else {
        return Ok(None);
    };
    let metrics = model_of(r.conn(), actor.company_id, summary.id)
        .await?
        .metrics;
    Ok(Some(ModelVersion {
        summary,
        calibration: metrics
            .calibration
            .into_iter()
            .map(|b| ModelCalibrationBin {
                predicted: b.predicted,
                observed: b.observed,
                count: i64::try_from(b.count).unwrap_or(i64::MAX),
            })
            .collect(),
        top_features: metrics
            .top_features
            .into_iter()
            .filter(|f| f.weight.abs() >= NEGLIGIBLE)
            .map(|f| ModelFeatureWeight {
                feature: f.feature,
                weight: f.weight,
            })
            .collect(),
    }))
}

/// The caller's company's versions, newest first.
pub async fn history(store: &Store, actor: &Actor) -> Result<Vec<ModelVersionSummary>> {
    let r = store.read(actor).await?;
    fetch_all(
        r.conn(),
        Query::select()
            .columns(SUMMARY_COLUMNS)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(actor.company_id))
            .order_by(M::Version, Order::Desc)
            .limit(HISTORY),
    )
    .await
}

/// Where the caller's company's model stands: its status in plain words, the labelled leads
/// against those needed, the current version and the history.
pub async fn overview(store: &Store, actor: &Actor) -> Result<ModelOverview> {
    let config: ScoringConfig = settings(store, actor).await?;
    let labelled = labelled_in(store.read(actor).await?.conn(), actor.company_id).await?;
    let current = current(store, actor).await?;
    let history = history(store, actor).await?;
    let (needed, needed_each_class) = needed(&config);
    let (status, message) = match &current {
        Some(v) => (
            "trained",
            format!(
                "Version {} (trained {} on {} labelled leads) gives each lead its conversion \
                 probability. It is trained again every week, or when you ask.",
                v.summary.version,
                v.summary.trained_at.format("%Y-%m-%d"),
                v.summary.sample_size
            ),
        ),
        None if !labelled.enough(&config) => (
            "not_enough_data",
            format!(
                "Not enough data to train a model yet: {} labelled leads ({} converted, {} \
                 unqualified); {needed} are needed, at least {needed_each_class} of each. Until \
                 then leads are ranked by the rule score alone.",
                labelled.total(),
                labelled.positives,
                labelled.negatives
            ),
        ),
        None => (
            "not_trained",
            format!(
                "No model has been trained yet, though the {} labelled leads are enough: train \
                 one now, or wait for the weekly training. Until then leads are ranked by the \
                 rule score alone.",
                labelled.total()
            ),
        ),
    };
    Ok(ModelOverview {
        status,
        message,
        labelled: labelled.total(),
        positives: labelled.positives,
        negatives: labelled.negatives,
        needed,
        needed_each_class,
        current,
        history,
    })
}

#[derive(FromQueryResult)]
struct StoredPrediction {
    model_id: Uuid,
    probability: f64,
    contributions: Value,
    scored_at: DateTime<Utc>,
}

/// The conversion probability of a lead the caller may read (`None`: no model yet).
pub async fn prediction(
    store: &Store,
    actor: &Actor,
    lead: LeadId,
) -> Result<Option<LeadModelScore>> {
    let r = store.read(actor).await?;
    let _: crate::leads::Lead = crate::record::get_in(r.conn(), actor, Action::Read, lead).await?;
    lead_score(r.conn(), actor.company_id, lead).await
}

/// A lead's conversion probability from the company's newest model: as stored by its
/// training, or computed now for a lead it has not scored. `None` without a model. The caller
/// has checked that the lead may be read.
pub(crate) async fn lead_score<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    lead: LeadId,
) -> Result<Option<LeadModelScore>> {
    let Some(newest) = newest_summary(conn, company).await? else {
        return Ok(None);
    };
    let (model_id, version) = (newest.id, newest.version);
    let stored: Option<StoredPrediction> = fetch_optional(
        conn,
        Query::select()
            .columns([P::ModelId, P::Probability, P::Contributions, P::ScoredAt])
            .from(P::Table)
            .and_where(Expr::col(P::CompanyId).eq(company))
            .and_where(Expr::col(P::LeadId).eq(lead)),
    )
    .await?;
    if let Some(p) = stored.filter(|p| p.model_id == model_id) {
        let top_features =
            serde_json::from_value(crate::query::json_column(p.contributions)).unwrap_or_default();
        return Ok(Some(LeadModelScore {
            probability: p.probability,
            model_version: version,
            model_id,
            top_features,
            scored_at: p.scored_at,
        }));
    }
    let Some(row): Option<FeatureRow> = fetch_optional(
        conn,
        feature_select(company).and_where(Expr::col(Leads::Id).eq(lead)),
    )
    .await?
    else {
        return Ok(None);
    };
    let counts = signal_counts(conn, company, Some(&[lead]))
        .await?
        .remove(&lead)
        .unwrap_or_default();
    let model = model_of(conn, company, model_id).await?;
    let prediction = model.predict(&row.fields(), &counts);
    Ok(Some(LeadModelScore {
        probability: prediction.probability,
        model_version: version,
        model_id,
        top_features: effects_of(&prediction),
        scored_at: now(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_tells_the_seniority() {
        assert_eq!(seniority("CTO"), Some("c-level"));
        assert_eq!(seniority("Co-Founder & CEO"), Some("c-level"));
        assert_eq!(seniority("Senior Vice President, Sales"), Some("vp"));
        assert_eq!(seniority("VP Engineering"), Some("vp"));
        assert_eq!(seniority("Head of Marketing"), Some("director"));
        assert_eq!(seniority("Product Manager"), Some("manager"));
        assert_eq!(seniority("Accountant"), Some("staff"));
        assert_eq!(seniority("  "), None);
    }

    #[test]
    fn a_tenth_of_the_minimum_of_each_outcome_is_needed() {
        let mut config = ScoringConfig::default();
        assert_eq!(needed(&config), (200, 20));
        config.model_min_labelled = 20;
        assert_eq!(needed(&config), (20, 2));
        config.model_min_labelled = 5_000;
        assert_eq!(needed(&config), (5_000, 20));
    }
}
