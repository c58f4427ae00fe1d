//! Account health (issue 14 §5): the company's health settings (component weights, the at-risk
//! and recovery thresholds, which lifecycle rules run) and an account's health explained. The
//! arithmetic and the rules are `rivet_domain::health`; gathering, storing, the event consumer
//! and the nightly recompute are `rivet_store::health`.

use crate::api::settings_doc::{self, Field, SettingsApi, SettingsDecl};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::health::{COMPONENTS, HealthConfig};
use rivet_domain::{Action, Resource};
use rivet_store::health::{self as store, AccountHealth};
use serde::Serialize;
use utoipa::ToSchema;

const ACCOUNT: Access = Access::Allow(Resource::Accounts, Action::Read);

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentInfo {
    pub name: &'static str,
    pub label: &'static str,
    pub default_weight: i32,
}

impl SettingsApi for HealthConfig {
    type Item = ComponentInfo;
    const API: SettingsDecl = SettingsDecl {
        path: "/health/settings",
        tag: "accounts",
        show: "The company's account health settings: the weight of each component \
               (recent_activity, tasks, deals, engagement; health is their weighted mean), \
               at_risk_below (a customer whose health falls below it becomes at_risk), \
               recovered_at (an account at_risk whose health reaches it is a customer again) \
               and which lifecycle rules run (prospect_to_customer on the first won deal, \
               customer_to_at_risk, at_risk_to_customer). A company that never changed them \
               has the defaults shown here",
        replace: "Replace the company's account health settings (a part left out takes its \
                  default), audited; every account's health is then recomputed by a job \
                  (recompute_job_id), and the lifecycle rules applied. Each mistake is a 422 \
                  naming its place, e.g. weights.tasks or recovered_at (which must be at least \
                  at_risk_below)",
        view: Field {
            name: "HealthSettings",
            doc: "The health settings as they are, and the components there are.",
        },
        catalogue: Some(Field {
            name: "components",
            doc: "Every health component with its label and the weight a new company starts \
                  with.",
        }),
        job: Some(Field {
            name: "recompute_job_id",
            doc: "The recompute of every account a change queued (a `PUT` only).",
        }),
    };

    fn catalogue() -> Vec<ComponentInfo> {
        COMPONENTS
            .iter()
            .map(|c| ComponentInfo {
                name: c.name(),
                label: c.label(),
                default_weight: c.default_weight(),
            })
            .collect()
    }
}

pub fn routes() -> ApiRouter {
    settings_doc::routes::<HealthConfig>().add(
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

async fn account_health(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<AccountHealth>, AppError> {
    Ok(Json(
        store::breakdown(&app.store, &actor, parse_id(&id)?).await?,
    ))
}
