//! The lead conversion model (issue 14 §1): where it stands (`GET /scoring/model`: status,
//! the current version's held-out figures, the versions) and a training on demand
//! (`POST /scoring/model/train`, a job). A lead's probability is part of its score breakdown
//! (`GET /leads/{id}/score`, `crate::api::scoring`). Training and reading are
//! `rivet_store::scoring_model`; the model is `rivet_model`.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use rivet_domain::{Action, Actor, Resource};
use rivet_store::jobs::{self, Job, NewJob};
use rivet_store::scoring_model::{self as store, ModelOverview};
use serde_json::json;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/scoring/model", READ)
                .doc(
                    "scoring",
                    "The company's lead conversion model: status (trained, not_trained, or \
                     not_enough_data — fewer labelled leads, converted or unqualified, than the \
                     scoring settings' model_min_labelled, when leads are ranked by the rule \
                     score alone) in plain words, the labelled leads against those needed, the \
                     current version's sample size, train and held-out sizes, ROC AUC on the \
                     held-out split, calibration and heaviest features, and every version, \
                     newest first",
                )
                .returns::<ModelOverview>(),
            show,
        )
        .add(
            post("/scoring/model/train", UPDATE)
                .doc(
                    "scoring",
                    "Train the conversion model now on the company's labelled leads, as a \
                     background job (it also runs weekly): 202 with the job. It stores the next \
                     version and scores every lead with it (progress: leads scored); with too \
                     few labelled leads it stores nothing and its result says not_enough_data",
                )
                .returns::<Job>()
                .status(202),
            train,
        )
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<ModelOverview>, AppError> {
    Ok(Json(store::overview(&app.store, &actor).await?))
}

/// Queue the training of the caller's company's model, as the caller; the page and the API
/// alike.
pub async fn queue_training(app: &AppState, actor: &Actor) -> Result<Uuid, AppError> {
    let job = NewJob::new(store::TRAIN_JOB, json!({ "user_id": actor.user_id }))
        .for_company(actor.company_id);
    Ok(jobs::enqueue_now(&app.store, job).await?)
}

async fn train(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<(StatusCode, Json<Job>), AppError> {
    let id = queue_training(&app, &actor).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(jobs::get(&app.store, &actor, id).await?),
    ))
}
