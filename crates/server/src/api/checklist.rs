//! The BANT and MEDDICC checklist of a lead or a deal (issue 14 §2): each element's status,
//! note and typed value with its points and what it still lacks, the BANT score and the MEDDICC
//! completeness and strength. The checklist is written with the record's own fields
//! (`PATCH /leads/{id}` with `budget_status`, `budget_amount`, …); this reads it explained.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::{Action, Resource};
use rivet_store::checklist::{Checked, ChecklistView};
use rivet_store::deals::Deal;
use rivet_store::leads::Lead;
use rivet_store::record::{self, Record};

const ABOUT: &str = "The record's BANT and MEDDICC checklist: for each element its status \
                     (unknown, identified, confirmed), note and typed value (the budget's \
                     amount and currency, the timeline's date, the economic buyer and the \
                     champion as contacts), the points it earns and what it still lacks; the \
                     BANT score (each element 0–25: identified 10, confirmed 20, 5 more for a \
                     note or its value), the MEDDICC completeness (elements known, in percent) \
                     and strength (points earned: identified 1, confirmed 2, detail 1 each). \
                     Written with the record's fields (budget_status, budget_amount, …)";

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get(
                "/leads/{id}/checklist",
                Access::Allow(Resource::Leads, Action::Read),
            )
            .doc("leads", ABOUT)
            .returns::<ChecklistView>(),
            show::<Lead>,
        )
        .add(
            get(
                "/deals/{id}/checklist",
                Access::Allow(Resource::Deals, Action::Read),
            )
            .doc("deals", ABOUT)
            .returns::<ChecklistView>(),
            show::<Deal>,
        )
}

async fn show<R: Record + Checked>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<ChecklistView>, AppError> {
    let record: R = record::get(&app.store, &actor, parse_id(&id)?).await?;
    Ok(Json(record.checklist_view()))
}
