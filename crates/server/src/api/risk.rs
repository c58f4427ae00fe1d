//! Deal risk (issue 14 §4): a deal's risk with its reasons and its buying committee's coverage,
//! and the company's risk settings (factor weights, on/off, the stale days, the pushes allowed,
//! the level bounds). The arithmetic is `rivet_domain::risk`; storing, the event consumer and
//! the nightly recomputation are `rivet_store::risk`. The list filter and sort (`risk_score`)
//! are the deal list's.

use crate::api::settings_doc::{self, Field, SettingsApi, SettingsDecl};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::risk::{RiskConfig, RiskFactor};
use rivet_domain::{Action, Resource};
use rivet_store::risk::{self as store, DealRisk};
use serde::Serialize;
use utoipa::ToSchema;

const DEAL: Access = Access::Allow(Resource::Deals, Action::Read);

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorInfo {
    pub name: RiskFactor,
    pub label: &'static str,
    pub default_weight: i32,
}

impl SettingsApi for RiskConfig {
    type Item = FactorInfo;
    const API: SettingsDecl = SettingsDecl {
        path: "/risk/settings",
        tag: "deals",
        show: "The company's deal risk settings: per factor whether it counts and its \
               weight (the most points it adds; the enabled weights add up to 100 at \
               most), the days without activity that make a deal stale, the close-date \
               pushes allowed, the days a stage is expected to take while too few deals \
               have left it, and the scores from which a risk is medium and high. A \
               company that never changed them has the defaults shown here",
        replace: "Replace the company's deal risk settings (a part left out takes its \
                  default), audited; every open deal's risk is then recomputed by a job \
                  (recompute_job_id). Each mistake is a 422 naming its place, e.g. \
                  factors.stale.weight",
        view: Field {
            name: "RiskSettings",
            doc: "The risk settings as they are, and the factors there are.",
        },
        catalogue: Some(Field {
            name: "factors",
            doc: "Every factor with its label and the weight a new company starts with.",
        }),
        job: Some(Field {
            name: "recompute_job_id",
            doc: "The recomputation a change queued (a `PUT` only).",
        }),
    };

    fn catalogue() -> Vec<FactorInfo> {
        RiskFactor::ALL
            .iter()
            .map(|&f| FactorInfo {
                name: f,
                label: f.label(),
                default_weight: f.default_weight(),
            })
            .collect()
    }
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
        .merge(settings_doc::routes::<RiskConfig>())
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
