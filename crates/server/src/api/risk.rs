//! Deal risk (issue 14 §4): a deal's risk with its reasons and its buying committee's coverage,
//! and the company's risk settings (factor weights, on/off, the stale days, the pushes allowed,
//! the level bounds). The arithmetic is `rivet_domain::risk`; storing, the event consumer and
//! the nightly recomputation are `rivet_store::risk`. The list filter and sort (`risk_score`)
//! are the deal list's.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::risk::{RiskConfig, RiskFactor, RiskInput};
use rivet_domain::{Action, Actor, Resource};
use rivet_store::risk::{self as store, DealRisk};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);
const DEAL: Access = Access::Allow(Resource::Deals, Action::Read);

/// The risk settings as they are, and the factors there are.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskSettings {
    pub settings: RiskInput,
    /// Every factor with its label and the weight a new company starts with.
    pub factors: Vec<FactorInfo>,
    /// The recomputation a change queued (a `PUT` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recompute_job_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorInfo {
    pub name: RiskFactor,
    pub label: &'static str,
    pub default_weight: i32,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/deals/{id}/risk", DEAL)
                .doc(
                    "deals",
                    "Why a deal is at risk: its risk score (0 to 100) and level as of now, each \
                     factor that counted with its points and a message (days in the stage \
                     against the pipeline's median, no activity, close date passed or pushed, \
                     amount lowered, MEDDICC elements missing, a single contact, no champion), \
                     the score stored on the deal (what lists filter and sort by: \
                     risk_score[gte|lte|empty]), and the buying committee: each role with its \
                     contacts and the roles nobody has. A closed deal has no risk",
                )
                .returns::<DealRisk>(),
            show_risk,
        )
        .add(
            get("/risk/settings", READ)
                .doc(
                    "deals",
                    "The company's deal risk settings: per factor whether it counts and its \
                     weight (the most points it adds; the enabled weights add up to 100 at \
                     most), the days without activity that make a deal stale, the close-date \
                     pushes allowed, the days a stage is expected to take while too few deals \
                     have left it, and the scores from which a risk is medium and high. A \
                     company that never changed them has the defaults shown here",
                )
                .returns::<RiskSettings>(),
            show,
        )
        .add(
            put("/risk/settings", UPDATE)
                .doc(
                    "deals",
                    "Replace the company's deal risk settings (a part left out takes its \
                     default), audited; every open deal's risk is then recomputed by a job \
                     (recompute_job_id). Each mistake is a 422 naming its place, e.g. \
                     factors.stale.weight",
                )
                .body::<RiskInput>()
                .returns::<RiskSettings>(),
            replace,
        )
}

fn settings_view(config: &RiskConfig, job: Option<Uuid>) -> RiskSettings {
    RiskSettings {
        settings: config.to_input(),
        factors: RiskFactor::ALL
            .iter()
            .map(|&f| FactorInfo {
                name: f,
                label: f.label(),
                default_weight: f.default_weight(),
            })
            .collect(),
        recompute_job_id: job,
    }
}

async fn show_risk(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<DealRisk>, AppError> {
    Ok(Json(
        store::deal_risk(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<RiskSettings>, AppError> {
    let config = store::settings(&app.store, &actor).await?;
    Ok(Json(settings_view(&config, None)))
}

/// Validate and store new settings; the page and the API alike.
pub async fn put_settings(
    app: &AppState,
    actor: &Actor,
    input: RiskInput,
) -> Result<RiskSettings, AppError> {
    let config = input.validate()?;
    let job = store::put_settings(&app.store, actor, &config).await?;
    Ok(settings_view(&config, Some(job)))
}

async fn replace(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<RiskInput>,
) -> Result<Json<RiskSettings>, AppError> {
    Ok(Json(put_settings(&app, &actor, input).await?))
}
