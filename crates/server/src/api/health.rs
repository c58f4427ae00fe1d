//! Account health (issue 14 §5): the company's health settings (component weights, the at-risk
//! and recovery thresholds, which lifecycle rules run) and an account's health explained. The
//! arithmetic and the rules are `rivet_domain::health`; gathering, storing, the event consumer
//! and the nightly recompute are `rivet_store::health`.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::health::{COMPONENTS, HealthConfig, HealthInput};
use rivet_domain::{Action, Resource};
use rivet_store::health::{self as store, AccountHealth};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);
const ACCOUNT: Access = Access::Allow(Resource::Accounts, Action::Read);

/// The health settings as they are, and the components there are.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthSettings {
    pub settings: HealthInput,
    /// Every health component with its label and the weight a new company starts with.
    pub components: Vec<ComponentInfo>,
    /// The recompute of every account a change queued (a `PUT` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recompute_job_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentInfo {
    pub name: &'static str,
    pub label: &'static str,
    pub default_weight: i32,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/health/settings", READ)
                .doc(
                    "accounts",
                    "The company's account health settings: the weight of each component \
                     (recent_activity, tasks, deals, engagement; health is their weighted \
                     mean), at_risk_below (a customer whose health falls below it becomes \
                     at_risk), recovered_at (an account at_risk whose health reaches it is a \
                     customer again) and which lifecycle rules run (prospect_to_customer on \
                     the first won deal, customer_to_at_risk, at_risk_to_customer). A company \
                     that never changed them has the defaults shown here",
                )
                .returns::<HealthSettings>(),
            show,
        )
        .add(
            put("/health/settings", UPDATE)
                .doc(
                    "accounts",
                    "Replace the company's account health settings (a part left out takes its \
                     default), audited; every account's health is then recomputed by a job \
                     (recompute_job_id), and the lifecycle rules applied. Each mistake is a 422 \
                     naming its place, e.g. weights.tasks or recovered_at (which must be at \
                     least at_risk_below)",
                )
                .body::<HealthInput>()
                .returns::<HealthSettings>(),
            replace,
        )
        .add(
            get("/accounts/{id}/health", ACCOUNT)
                .doc(
                    "accounts",
                    "Why an account's health is what it is: the score as of now and as stored, \
                     each component with its weight, points and a one-line explanation, the \
                     trend (the last 30 stored scores, oldest first), the lifecycle stage with \
                     the reason the rule that set it gave (null when set by hand) and the \
                     company's thresholds. health_score on the account is read-only: it follows \
                     activities, tasks and deals within seconds, and is recomputed nightly",
                )
                .returns::<AccountHealth>(),
            account_health,
        )
}

fn settings_view(config: &HealthConfig, job: Option<Uuid>) -> HealthSettings {
    HealthSettings {
        settings: config.to_input(),
        components: COMPONENTS
            .iter()
            .map(|c| ComponentInfo {
                name: c.name(),
                label: c.label(),
                default_weight: c.default_weight(),
            })
            .collect(),
        recompute_job_id: job,
    }
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<HealthSettings>, AppError> {
    let config = store::settings(&app.store, &actor).await?;
    Ok(Json(settings_view(&config, None)))
}

/// Validate and store new settings; the page and the API alike.
pub async fn put_settings(
    app: &AppState,
    actor: &rivet_domain::Actor,
    input: HealthInput,
) -> Result<HealthSettings, AppError> {
    let config = input.validate()?;
    let job = store::put_settings(&app.store, actor, &config).await?;
    Ok(settings_view(&config, Some(job)))
}

async fn replace(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<HealthInput>,
) -> Result<Json<HealthSettings>, AppError> {
    Ok(Json(put_settings(&app, &actor, input).await?))
}

async fn account_health(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<AccountHealth>, AppError> {
    Ok(Json(
        store::breakdown(&app.store, &actor, parse_id(&id)?).await?,
    ))
}
