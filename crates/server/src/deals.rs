//! `/deals`: list (typed filters, multi-field sort, keyset cursor), create, read, patch, delete,
//! history, stage history, contact roles, the per-stage pipeline summary, and bulk
//! update/delete. Bodies are parsed into `rivet_domain::deals` types here; scope, the pipeline
//! and stage rules, stage history and audit are the store's. `create_deal`/`update_deal` are what
//! the web UI will call.

use crate::accounts::bulk_tags;
use crate::audit::{HistoryQuery, history};
use crate::custom_fields;
use crate::error::AppError;
use crate::extract::{Auth, Json, Query, check_partial, list_window, parse_id, read_merged};
use crate::leads::check_ids;
use crate::leads::{BulkDelete, BulkResult};
use crate::router::{Access, ApiRouter, delete, get, patch, post, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::deals::{
    ContactRole, DEAL_DEFAULT_SORT, DEAL_FIELDS, DealField, DealInput, normalize_list_pairs,
};
use rivet_domain::query::{Condition, FilterValue, ListQuery};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::audit::AuditEntry;
use rivet_store::deals::{self, BulkSet, Deal, DealContact, PipelineSummary, StageChange};
use rivet_store::query::decode_list_cursor;
use rivet_store::record::{self, Record};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Deals, Action::Read);
const CREATE: Access = Access::Allow(Resource::Deals, Action::Create);
const UPDATE: Access = Access::Allow(Resource::Deals, Action::Update);
const DELETE: Access = Access::Allow(Resource::Deals, Action::Delete);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/deals", READ)
                .doc(
                    "deals",
                    "List deals: filters name, owner_id, owner_id[in], account_id, \
                     account_id[in|empty], contact_id, contact_id[empty], pipeline_id, \
                     pipeline_id[in], stage_id, stage_id[in], forecast_category, \
                     forecast_category[in], amount[gte|lte|empty] (decimal), \
                     close_date[gte|lte|empty] (YYYY-MM-DD), probability[gte|lte], \
                     tags[contains], created_at[gte|lte], updated_at[gte|lte]; sort by any of \
                     these but tags, or name (-field for descending); q is a case-insensitive substring of name",
                )
                .returns_page::<Deal>(),
            list,
        )
        .add(
            post("/deals", CREATE)
                .doc(
                    "deals",
                    "Create a deal; without owner_id the caller owns it, without pipeline_id \
                     and stage_id it starts in the first stage of the default pipeline, and \
                     probability and forecast_category come from the stage unless sent",
                )
                .body::<DealInput>()
                .returns::<Deal>()
                .status(201),
            create,
        )
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
            post("/deals/bulk-update", UPDATE)
                .doc(
                    "deals",
                    "Set owner, stage and/or tags on up to 500 deals, all or nothing; a new \
                     stage sets probability and forecast category and is recorded in the stage \
                     history",
                )
                .body::<BulkUpdate>()
                .returns::<BulkResult>(),
            bulk_update,
        )
        .add(
            post("/deals/bulk-delete", DELETE)
                .doc("deals", "Delete up to 500 deals, all or nothing")
                .body::<BulkDelete>()
                .returns::<BulkResult>(),
            bulk_delete,
        )
        .add(
            get("/deals/{id}", READ)
                .doc("deals", "One deal")
                .returns::<Deal>(),
            show,
        )
        .add(
            patch("/deals/{id}", UPDATE)
                .doc(
                    "deals",
                    "Change a deal: only the fields sent; null clears an optional field. A new \
                     stage_id (or pipeline_id, which starts at its first stage without \
                     stage_id) sets probability and forecast_category from the stage unless \
                     sent too, and closed_at for a won or lost stage",
                )
                .patch_body::<DealInput>(REQUIRED_ON_PATCH)
                .returns::<Deal>(),
            update,
        )
        .add(
            delete("/deals/{id}", DELETE)
                .doc(
                    "deals",
                    "Delete a deal with its stage history and contact roles",
                )
                .status(204),
            destroy,
        )
        .add(
            get("/deals/{id}/history", READ)
                .doc("deals", "Audit history of a deal")
                .returns_page::<AuditEntry>(),
            show_history,
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

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Deal>>, AppError> {
    let normalized = normalize_list_pairs(pairs.clone()).map_err(|e| AppError::BadRequest(e.0))?;
    let query = custom_fields::list_query(
        &app,
        &actor,
        RecordType::Deal,
        &normalized,
        DEAL_FIELDS,
        DEAL_DEFAULT_SORT,
    )
    .await?;
    let (limit, after) = list_window(&pairs, |c| decode_list_cursor(&query, c))?;
    Ok(Json(
        record::list::<Deal>(&app.store, &actor, &query, limit, after.as_ref()).await?,
    ))
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
        } => Some(*id),
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

/// Create a deal (API and web form).
pub async fn create_deal(
    app: &AppState,
    actor: &Actor,
    mut input: DealInput,
) -> Result<Deal, AppError> {
    let custom =
        custom_fields::check_new(app, actor, RecordType::Deal, input.custom_fields.take()).await?;
    let mut data = input
        .validate()
        .map_err(|e| custom_fields::with_errors(e, &custom))?;
    data.custom_fields = custom?;
    Ok(record::create::<Deal>(&app.store, actor, &data).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<DealInput>,
) -> Result<(StatusCode, Json<Deal>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_deal(&app, &actor, input).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Deal>, AppError> {
    Ok(Json(
        record::get::<Deal>(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Fields a patch may not clear with `null`.
const REQUIRED_ON_PATCH: &[&str] = &[
    "name",
    "owner_id",
    "pipeline_id",
    "stage_id",
    "probability",
    "forecast_category",
    "currency",
];

/// Change a deal with a partial body (API and web form): the fields sent replace the deal's,
/// `null` clears, and the result is validated as a whole. A patch that moves the deal (sends
/// `stage_id` or `pipeline_id`) takes probability and forecast category from the new stage
/// unless it sends them too; `pipeline_id` without `stage_id` means the pipeline's first stage.
pub async fn update_deal(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    mut patch: Map<String, Value>,
) -> Result<Deal, AppError> {
    check_partial::<DealInput>(&patch, REQUIRED_ON_PATCH)?;
    let custom = custom_fields::check_patch(app, actor, RecordType::Deal, &mut patch).await?;
    let deal = record::update::<Deal>(&app.store, actor, id, move |before| {
        let mut merged = before.as_input();
        let moves = patch.contains_key("stage_id") || patch.contains_key("pipeline_id");
        if moves {
            merged.remove("probability");
            merged.remove("forecast_category");
            if !patch.contains_key("stage_id") {
                merged.remove("stage_id");
            }
        }
        merged.extend(patch);
        custom.apply(&mut merged);
        let input: DealInput = read_merged(merged)?;
        input.validate()
    })
    .await?;
    Ok(deal)
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<Deal>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(update_deal(&app, &actor, id, patch).await?))
}

async fn destroy(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    record::delete::<Deal>(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    record::get::<Deal>(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Deals, id, query).await
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DealBulkUpdate)]
pub struct BulkUpdate {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
    pub set: BulkFields,
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DealBulkFields)]
pub struct BulkFields {
    pub owner_id: Option<Uuid>,
    /// Moves each deal to this stage (and the stage's pipeline).
    pub stage_id: Option<Uuid>,
    pub tags: Option<Vec<String>>,
}

async fn bulk_update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkUpdate>,
) -> Result<Json<BulkResult>, AppError> {
    let mut errors = FieldErrors::new();
    check_ids(&body.ids, &mut errors);
    let tags = bulk_tags(body.set.tags, &mut errors);
    if body.set.owner_id.is_none() && body.set.stage_id.is_none() && tags.is_none() {
        errors.add("set", "must set owner_id, stage_id or tags");
    }
    errors.into_result()?;
    let set = BulkSet {
        owner_id: body.set.owner_id,
        stage_id: body.set.stage_id,
        tags,
    };
    let updated = deals::bulk_update(&app.store, &actor, &body.ids, &set).await?;
    Ok(Json(BulkResult {
        count: updated.len(),
    }))
}

async fn bulk_delete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkDelete>,
) -> Result<Json<BulkResult>, AppError> {
    let deleted = record::bulk_delete::<Deal>(&app.store, &actor, body.checked()?).await?;
    Ok(Json(deleted.into()))
}
