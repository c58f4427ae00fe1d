//! The qualification workflow (issue 14 §2): the company's gates on lead statuses, a lead's
//! workflow state (what each status needs, time in each status) and its transitions. A
//! transition is a patch of `status` (and `status_reason`) through the generic record layer,
//! where the gates are checked — the same check a `PATCH`, a bulk update or an import meets.

use crate::api::record::update_record;
use crate::api::settings_doc::{self, Field, SettingsApi, SettingsDecl};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::qualification::Qualification;
use rivet_domain::{Action, Actor, Resource};
use rivet_store::leads::Lead;
use rivet_store::qualification::{self as store, Workflow};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

impl SettingsApi for Qualification {
    type Item = ();
    const API: SettingsDecl = SettingsDecl {
        path: "/qualification/settings",
        tag: "qualification",
        show: "The company's gates on lead statuses: for each guarded status, the lead \
               fields that must be filled in, the least total score and whether a reason \
               is required. A company that never changed them has two: qualified needs \
               budget and authority and a total score of at least 60; unqualified needs \
               a reason",
        replace: "Replace the gates (gates left out: the defaults; [] none), audited. Each \
                  mistake is a 422 naming its place, e.g. gates[1].requires[0]",
        view: Field {
            name: "QualificationSettings",
            doc: "The company's gates.",
        },
        catalogue: None,
        job: None,
    };
}

/// A status change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// new, contacted, nurturing, qualified or unqualified (converted: convert the lead).
    pub to: String,
    /// Why (a gate may require it; up to 1,000 characters).
    pub reason: Option<String>,
}

pub fn routes() -> ApiRouter {
    settings_doc::routes::<Qualification>()
        .add(
            get(
                "/leads/{id}/transition",
                Access::Allow(Resource::Leads, Action::Read),
            )
            .doc(
                "leads",
                "A lead's qualification workflow: its status and since when, each status \
                     it could move to with what it still lacks for it, the time it spent in \
                     each status and its stays, newest first",
            )
            .returns::<Workflow>(),
            workflow,
        )
        .add(
            post(
                "/leads/{id}/transition",
                Access::Allow(Resource::Leads, Action::Update),
            )
            .doc(
                "leads",
                "Move a lead to another status, with a reason if wanted. A gate the lead \
                     does not pass is a 422 listing each unmet requirement (a field to fill \
                     in, the score it needs, a reason); nothing changes. converted is set only \
                     by POST /leads/{id}/convert",
            )
            .body::<Transition>()
            .returns::<Lead>(),
            transition,
        )
}

async fn workflow(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Workflow>, AppError> {
    Ok(Json(
        store::workflow(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Move the lead `id` to `to` (the page and the API alike).
pub async fn move_lead(
    app: &AppState,
    actor: &Actor,
    id: &str,
    to: &str,
    reason: Option<&str>,
) -> Result<Lead, AppError> {
    let mut patch = Map::new();
    patch.insert("status".into(), Value::from(to.trim()));
    if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        patch.insert("status_reason".into(), Value::from(reason));
    }
    update_record::<Lead>(app, actor, parse_id(id)?, patch).await
}

async fn transition(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<Transition>,
) -> Result<Json<Lead>, AppError> {
    Ok(Json(
        move_lead(&app, &actor, &id, &body.to, body.reason.as_deref()).await?,
    ))
}
