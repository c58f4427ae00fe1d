//! Lead scoring (issue 14 §1): the company's scoring settings (fit rules, engagement weights
//! and half-life, the blend, thresholds), a lead's score breakdown, a rescore on demand, and
//! engagement reported by integrations (website visits and the like). The arithmetic is
//! `rivet_domain::scoring`; storing, the event consumer and the rescore are
//! `rivet_store::scoring`.

use crate::api::settings_doc::{self, Field, SettingsApi, SettingsDecl};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rivet_domain::ids::LeadId;
use rivet_domain::scoring::{MAX_DETAIL, SIGNALS, ScoringConfig, signal_named};
use rivet_domain::{Action, FieldErrors, Resource};
use rivet_store::jobs::{self, Job, NewJob};
use rivet_store::leads::Lead;
use rivet_store::scoring::{self as store, Breakdown};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);
const LEAD: Access = Access::Allow(Resource::Leads, Action::Read);
const ENGAGE: Access = Access::Allow(Resource::Leads, Action::Update);

/// Most signals one `POST /ingest/engagement` reports.
pub const MAX_SIGNALS: usize = 1_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct SignalInfo {
    pub name: &'static str,
    pub label: &'static str,
    pub default_weight: i32,
}

/// Engagement an integration reports.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSignals {
    /// 1 to 1,000 signals.
    #[schema(min_items = 1, max_items = 1000)]
    pub signals: Vec<ReportedSignal>,
}

/// One signal: for a lead by id, or by e-mail (the newest lead with that address).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedSignal {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub lead_id: Option<String>,
    pub email: Option<String>,
    /// website_visit, email_opened, link_clicked, form_submitted, meeting_held,
    /// call_connected, email_replied or whatsapp_replied.
    pub signal: String,
    /// When it happened (RFC 3339; now when left out).
    pub occurred_at: Option<DateTime<Utc>>,
    /// E.g. the page visited (up to 500 characters).
    pub detail: Option<String>,
}

/// What became of one reported signal, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalResult {
    /// `accepted` (the lead's engagement score follows within seconds) or `not_found` (no
    /// lead the caller may update with that id or e-mail).
    pub status: &'static str,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub lead_id: Option<LeadId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportResult {
    pub accepted: usize,
    pub results: Vec<SignalResult>,
}

impl SettingsApi for ScoringConfig {
    type Item = SignalInfo;
    const API: SettingsDecl = SettingsDecl {
        path: "/scoring/settings",
        tag: "scoring",
        show: "The company's lead scoring: fit rules (conditions as assignment rules write \
               them, and points), engagement weights per signal, the half-life in days after \
               which a signal counts half, the share of fit in the total (fit_weight, \
               percent) and the thresholds (a name, a total score and what crossing it \
               upwards does: create_task for the owner, set_status, notify_owner in the \
               app). A company that never changed them has the defaults shown here (MQL at \
               50 and SQL at 75, both notifying the owner)",
        replace: "Replace the company's scoring settings (a part left out takes its \
                  default), audited; every lead's scores are then recomputed by a job \
                  (rescore_job_id). Each mistake is a 422 naming its place, e.g. \
                  fit_rules[2].points",
        view: Field {
            name: "ScoringSettings",
            doc: "The scoring settings as they are, and the signals there are.",
        },
        catalogue: Some(Field {
            name: "signals",
            doc: "Every engagement signal with its label and the weight a new company starts \
                  with.",
        }),
        job: Some(Field {
            name: "rescore_job_id",
            doc: "The rescore a change queued (a `PUT` only).",
        }),
    };

    fn catalogue() -> Vec<SignalInfo> {
        SIGNALS
            .iter()
            .map(|s| SignalInfo {
                name: s.name,
                label: s.label,
                default_weight: s.weight,
            })
            .collect()
    }
}

pub fn routes() -> ApiRouter {
    settings_doc::routes::<ScoringConfig>()
        .add(
            post("/scoring/rescore", UPDATE)
                .doc(
                    "scoring",
                    "Recompute every lead's scores now (engagement decays daily; a nightly job \
                     does this too), as a background job with progress: 202 with the job",
                )
                .returns::<Job>()
                .status(202),
            rescore,
        )
        .add(
            get("/leads/{id}/score", LEAD)
                .doc(
                    "leads",
                    "Why a lead scores what it does: its fit, engagement and total scores as of \
                     now and its grade, each fit rule and whether it matched, each engagement \
                     signal with its weight and what it is worth after decay, the thresholds \
                     and whether they are reached, and the history of its stored scores",
                )
                .returns::<Breakdown>(),
            score,
        )
        .add(
            post("/ingest/engagement", ENGAGE)
                .doc(
                    "leads",
                    "Report engagement from an integration (an API key's caller): up to 1,000 \
                     signals, each for a lead by id or e-mail (the newest lead with it) in the \
                     caller's update scope. Each accepted signal is a lead.engaged event; the \
                     lead's engagement score rises within seconds (a signal reported twice for \
                     one event counts twice: send it once). Results are per signal, in order: \
                     accepted or not_found; a signal the document does not allow (an unknown \
                     signal, a lead_id that is no UUID, both or neither of lead_id and email) \
                     is a 422 naming it (signals[i].…) and nothing is reported",
                )
                .body::<ReportSignals>()
                .returns::<ReportResult>(),
            report,
        )
}

async fn rescore(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<(StatusCode, Json<Job>), AppError> {
    let job = NewJob::new(store::RESCORE_JOB, json!({"cause": "asked for"}))
        .for_company(actor.company_id);
    let id = jobs::enqueue_now(&app.store, job).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(jobs::get(&app.store, &actor, id).await?),
    ))
}

async fn score(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Breakdown>, AppError> {
    Ok(Json(
        store::breakdown(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// The lead a reported signal is for, if the caller may update it.
async fn lead_of(
    app: &AppState,
    actor: &rivet_domain::Actor,
    signal: &ReportedSignal,
) -> Result<Option<LeadId>, AppError> {
    if let Some(id) = &signal.lead_id {
        let id: LeadId = parse_id(id)?;
        return match rivet_store::record::get_in::<Lead, _>(
            app.store.read(actor).await?.conn(),
            actor,
            Action::Update,
            id,
        )
        .await
        {
            Ok(lead) => Ok(Some(lead.id)),
            Err(rivet_store::StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    let Some(email) = signal
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    else {
        return Ok(None);
    };
    Ok(store::lead_by_email(&app.store, actor, email).await?)
}

async fn report(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<ReportSignals>,
) -> Result<Json<ReportResult>, AppError> {
    if body.signals.is_empty() || body.signals.len() > MAX_SIGNALS {
        return Err(AppError::field(
            "signals",
            format!("must list 1 to {MAX_SIGNALS} signals"),
        ));
    }
    // What the document states is checked for the whole request (a 422 naming
    // `signals[i].…`); which lead a signal finds is answered per signal.
    let mut errors = FieldErrors::new();
    for (i, signal) in body.signals.iter().enumerate() {
        let at = |field: &str| format!("signals[{i}].{field}");
        if signal_named(&signal.signal).is_none() {
            errors.add(
                &at("signal"),
                format!(
                    "must be one of: {}",
                    SIGNALS
                        .iter()
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        if signal.lead_id.is_some() == signal.email.is_some() {
            errors.add(&at("lead_id"), "give lead_id or email (one of them)");
        }
        if signal
            .detail
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DETAIL)
        {
            errors.add(&at("detail"), format!("at most {MAX_DETAIL} characters"));
        }
        if let Some(id) = &signal.lead_id
            && parse_id::<LeadId>(id).is_err()
        {
            errors.add(&at("lead_id"), "must be a UUID");
        }
    }
    errors.into_result()?;
    let mut results = Vec::with_capacity(body.signals.len());
    let mut accepted: Vec<(LeadId, &ReportedSignal)> = Vec::new();
    for signal in &body.signals {
        match lead_of(&app, &actor, signal).await? {
            Some(lead) => {
                accepted.push((lead, signal));
                results.push(SignalResult {
                    status: "accepted",
                    lead_id: Some(lead),
                });
            }
            None => results.push(SignalResult {
                status: "not_found",
                lead_id: None,
            }),
        }
    }
    if !accepted.is_empty() {
        let tx = app.store.write(&actor).await?;
        for (lead, signal) in &accepted {
            store::report_signal(
                &tx,
                actor.company_id,
                *lead,
                &signal.signal,
                signal.occurred_at,
                signal.detail.as_deref(),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(Json(ReportResult {
        accepted: accepted.len(),
        results,
    }))
}
