//! The conversion model on the web (issue 14 §1): Administration › Lead scoring › Conversion
//! model — its status in plain words, the current version's held-out figures (sample size, ROC
//! AUC, positive rate), calibration and heaviest features, the versions, and a "train now"
//! button that queues the same job as the API (`crate::api::scoring_model::queue_training`).
//! A lead's probability shows in its score breakdown (`templates/web/score_macros.html`).

use super::view::{Ctx, Layout, OrPage, WebError, date, datetime};
use askama::Template;
use axum::response::Response;
use rivet_domain::{Action, Resource};
use rivet_store::scoring_model::{self as store, ModelOverview, ModelVersionSummary};

const PAGE: &str = "/admin/scoring/model";

/// A share as a whole percent.
fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

struct VersionRow {
    version: i32,
    trained_at: String,
    by: &'static str,
    sample_size: i32,
    split: String,
    roc_auc: String,
    positive_rate: String,
}

impl From<&ModelVersionSummary> for VersionRow {
    fn from(v: &ModelVersionSummary) -> Self {
        Self {
            version: v.version,
            trained_at: datetime(&v.trained_at),
            by: if v.trained_by.is_some() {
                "on request"
            } else {
                "weekly"
            },
            sample_size: v.sample_size,
            split: format!("{} / {}", v.train_size, v.test_size),
            roc_auc: format!("{:.3}", v.roc_auc),
            positive_rate: percent(v.positive_rate),
        }
    }
}

struct BinRow {
    group: usize,
    count: i64,
    predicted: String,
    observed: String,
}

struct FeatureRow {
    feature: String,
    weight: String,
    raises: bool,
}

struct Current {
    row: VersionRow,
    trained_on: String,
    calibration: Vec<BinRow>,
    features: Vec<FeatureRow>,
}

#[derive(Template)]
#[template(path = "web/scoring_model.html")]
struct ModelPage {
    layout: Layout,
    can_update: bool,
    status: &'static str,
    status_label: String,
    message: String,
    labelled: i64,
    positives: i64,
    negatives: i64,
    needed: i64,
    current: Option<Current>,
    history: Vec<VersionRow>,
}

fn page(ctx: &Ctx, overview: ModelOverview) -> ModelPage {
    let current = overview.current.map(|v| Current {
        row: VersionRow::from(&v.summary),
        trained_on: date(&v.summary.trained_at),
        calibration: v
            .calibration
            .iter()
            .enumerate()
            .map(|(i, b)| BinRow {
                group: i + 1,
                count: b.count,
                predicted: percent(b.predicted),
                observed: percent(b.observed),
            })
            .collect(),
        features: v
            .top_features
            .iter()
            .map(|f| FeatureRow {
                feature: f.feature.clone(),
                weight: format!("{:+.2}", f.weight),
                raises: f.weight > 0.0,
            })
            .collect(),
    });
    ModelPage {
        layout: ctx.layout("Conversion model"),
        can_update: ctx.can(Resource::Settings, Action::Update),
        status: overview.status,
        status_label: overview.status.replace('_', " "),
        message: overview.message,
        labelled: overview.labelled,
        positives: overview.positives,
        negatives: overview.negatives,
        needed: overview.needed,
        current,
        history: overview.history.iter().map(VersionRow::from).collect(),
    }
}

/// `GET /admin/scoring/model`.
pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    let overview = store::overview(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    Ok(ctx.render(&page(&ctx, overview)))
}

/// `POST /admin/scoring/model/train`.
pub async fn train(ctx: Ctx) -> Result<Response, WebError> {
    crate::api::scoring_model::queue_training(&ctx.app, &ctx.actor)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        PAGE,
        "The model is being trained in the background; this page shows the new version when it \
         is done (Administration › Jobs shows its progress).",
    ))
}
