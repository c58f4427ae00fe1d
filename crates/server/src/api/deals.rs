//! `/deals`: list (typed filters, multi-field sort, keyset cursor), create, read, patch, delete,
//! history, stage history, contact roles, the per-stage pipeline summary, and bulk
//! update/delete. Bodies are parsed into `rivet_domain::deals` types here; scope, the pipeline
//! and stage rules, stage history and audit are the store's. `create_deal`/`update_deal` are what
//! the web UI will call.

use crate::api::record::{self, ApiRecord, BulkFields, Input};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::deals::DealData;
use rivet_domain::deals::{
    ContactRole, DEAL_DEFAULT_SORT, DEAL_FIELDS, DealField, DealInput, normalize_list_pairs,
};
use rivet_domain::ids::{PipelineId, StageId, UserId};
use rivet_domain::query::{Condition, FilterValue, ListQuery};
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_domain::{Action, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::deals::{self, Deal, DealContact, PipelineSummary, StageChange};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Deals, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Deals, Action::Update);

impl Input for DealInput {
    type Data = DealData;
    fn take_custom_fields(&mut self) -> Option<Map<String, Value>> {
        self.custom_fields.take()
    }
    fn validate(self) -> Result<DealData, FieldErrors> {
        DealInput::validate(self)
    }
}

impl ApiRecord for Deal {
    type Input = DealInput;
    type Bulk = DealBulkFields;
    const PATH: &'static str = "/deals";
    const TAG: &'static str = "deals";
    const NOUN: &'static str = "deal";
    const CUSTOM: Option<RecordType> = Some(RecordType::Deal);
    const FIELDS: &'static [FieldSpec<Self::Field>] = DEAL_FIELDS;
    const DEFAULT_SORT: &'static [SortKey<Self::Field>] = DEAL_DEFAULT_SORT;
    const REQUIRED_ON_PATCH: &'static [&'static str] = &[
        "name",
        "owner_id",
        "pipeline_id",
        "stage_id",
        "probability",
        "forecast_category",
        "currency",
    ];
    const LIST_DOC: &'static str = "List deals: filters name, owner_id, owner_id[in], account_id, \
                     account_id[in|empty], contact_id, contact_id[empty], pipeline_id, \
                     pipeline_id[in], stage_id, stage_id[in], forecast_category, \
                     forecast_category[in], amount[gte|lte|empty] (decimal), \
                     close_date[gte|lte|empty] (YYYY-MM-DD), probability[gte|lte], \
                     tags[contains], created_at[gte|lte], updated_at[gte|lte], \
                     risk_score[gte|lte|empty] (the stored deal risk, 0 to 100; empty for closed \
                     deals); sort by any of these but tags, or name (-field for descending; a deal \
                     without a risk sorts before every score); q is a case-insensitive substring \
                     of name";
    const CREATE_DOC: &'static str = "Create a deal; without owner_id the caller owns it, without pipeline_id \
         and stage_id it starts in the first stage of the default pipeline, and \
         probability and forecast_category come from the stage unless sent";
    const PATCH_DOC: &'static str = "Change a deal: only the fields sent; null clears an optional field. A new \
         stage_id (or pipeline_id, which starts at its first stage without \
         stage_id) sets probability and forecast_category from the stage unless \
         sent too, and closed_at for a won or lost stage";
    const DELETE_DOC: &'static str = "Delete a deal with its stage history and contact roles";
    const BULK_UPDATE_DOC: &'static str = "Set owner, stage and/or tags on up to 500 deals, all or nothing; a new \
         stage sets pipeline, probability and forecast category and is recorded in the stage \
         history";

    fn set_custom_fields(data: &mut DealData, values: Map<String, Value>) {
        data.custom_fields = values;
    }

    fn list_pairs(pairs: Vec<(String, String)>) -> Result<Vec<(String, String)>, AppError> {
        normalize_list_pairs(pairs).map_err(|e| AppError::BadRequest(e.0))
    }

    /// A patch that moves the deal (sends `stage_id` or `pipeline_id`) takes probability and
    /// forecast category from the new stage unless it sends them too; `pipeline_id` without
    /// `stage_id` means the pipeline's first stage.
    /// A bulk stage also moves each deal to the stage's pipeline.
    fn before_bulk_merge(set: &Map<String, Value>, merged: &mut Map<String, Value>) {
        Self::before_merge(set, merged);
        if set.contains_key("stage_id") {
            merged.remove("pipeline_id");
        }
    }

    fn before_merge(patch: &Map<String, Value>, merged: &mut Map<String, Value>) {
        if patch.contains_key("stage_id") || patch.contains_key("pipeline_id") {
            merged.remove("probability");
            merged.remove("forecast_category");
            if !patch.contains_key("stage_id") {
                merged.remove("stage_id");
            }
        }
    }
}

pub fn routes() -> ApiRouter {
    record::routes::<Deal>()
        .add(
            get("/deals/summary", READ)
                .doc(
                    "deals",
                    "Pipeline board columns: per stage of ?pipeline_id= (default pipeline \
                     without it) the count, total and weighted amount (amount × probability) \
                     of the deals the caller may read; the list filters and q apply",
                )
                .returns::<PipelineSummary>(),
            show_summary,
        )
        .add(
            get("/deals/{id}/stage-history", READ)
                .doc(
                    "deals",
                    "Stage changes of a deal, oldest first, with the time spent in each stage \
                     (one page holding all of them)",
                )
                .returns_all::<StageChange>(),
            show_stage_history,
        )
        .add(
            get("/deals/{id}/contacts", READ)
                .doc(
                    "deals",
                    "Contacts of a deal with their roles (those the caller may read)",
                )
                .returns_all::<DealContact>(),
            list_contacts,
        )
        .add(
            put("/deals/{id}/contacts/{contact_id}", UPDATE)
                .doc(
                    "deals",
                    "Give a contact a role on a deal, or change it: decision_maker, \
                     economic_buyer, champion, influencer, technical_buyer, user, other",
                )
                .body::<ContactRoleBody>()
                .returns::<DealContact>(),
            put_contact,
        )
        .add(
            delete("/deals/{id}/contacts/{contact_id}", UPDATE)
                .doc("deals", "Take a contact off a deal")
                .status(204),
            remove_contact,
        )
}

fn parse_list(pairs: Vec<(String, String)>) -> Result<ListQuery<DealField>, AppError> {
    let pairs = normalize_list_pairs(pairs).map_err(|e| AppError::BadRequest(e.0))?;
    ListQuery::parse(&pairs, DEAL_FIELDS, DEAL_DEFAULT_SORT).map_err(|e| AppError::BadRequest(e.0))
}

async fn show_summary(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<PipelineSummary>, AppError> {
    let query = parse_list(pairs)?;
    let pipeline_id = query.filters.iter().find_map(|f| match f {
        rivet_domain::query::Filter {
            field: DealField::PipelineId,
            condition: Condition::Eq(FilterValue::Id(id)),
        } => Some(PipelineId::from_uuid(*id)),
        _ => None,
    });
    Ok(Json(
        deals::summary(
            &app.store,
            &actor,
            pipeline_id,
            &query.filters,
            query.q.as_deref(),
        )
        .await?,
    ))
}

async fn show_stage_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Page<StageChange>>, AppError> {
    Ok(Json(Page {
        data: deals::stage_history(&app.store, &actor, parse_id(&id)?).await?,
        next_cursor: None,
    }))
}

async fn list_contacts(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Page<DealContact>>, AppError> {
    Ok(Json(Page {
        data: deals::contacts_of(&app.store, &actor, parse_id(&id)?).await?,
        next_cursor: None,
    }))
}

/// The role a contact plays on a deal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRoleBody {
    /// decision_maker, economic_buyer, champion, influencer, technical_buyer, user or other.
    pub role: Option<String>,
}

async fn put_contact(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((id, contact_id)): Path<(String, String)>,
    Json(body): Json<ContactRoleBody>,
) -> Result<Json<DealContact>, AppError> {
    let id = parse_id(&id)?;
    let contact_id = parse_id(&contact_id)?;
    let mut errors = FieldErrors::new();
    let role = match body.role.as_deref().map(str::trim) {
        None | Some("") => {
            errors.add("role", "must not be empty");
            None
        }
        Some(text) => errors.check("role", text.parse::<ContactRole>()),
    };
    errors.into_result()?;
    let role = role.ok_or_else(|| FieldErrors::single("role", "must not be empty"))?;
    Ok(Json(
        deals::set_contact_role(&app.store, &actor, id, contact_id, role).await?,
    ))
}

async fn remove_contact(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((id, contact_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let id = parse_id(&id)?;
    let contact_id = parse_id(&contact_id)?;
    deals::remove_contact(&app.store, &actor, id, contact_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealBulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    /// Moves each deal to this stage (and the stage's pipeline).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub stage_id: Option<StageId>,
    pub tags: Option<Vec<String>>,
}

impl BulkFields for DealBulkFields {
    const NAMES: &'static [&'static str] = &["owner_id", "stage_id", "tags"];
}
