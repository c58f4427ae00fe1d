//! `/leads`: list (typed filters, multi-field sort, keyset cursor), create, read, patch, delete,
//! history, and bulk update/delete. Bodies are parsed into `rivet_domain::leads` types here;
//! scope and audit are the store's. `create_lead`/`update_lead` are what the web UI will call.

use crate::audit::{HistoryQuery, history};
use crate::custom_fields;
use crate::error::AppError;
use crate::extract::{Auth, Json, Query, check_partial, list_window, parse_id, read_merged};
use crate::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS, LeadInput, LeadStatus};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::audit::AuditEntry;
use rivet_store::leads::{self, BulkSet, Lead};
use rivet_store::query::decode_list_cursor;
use rivet_store::record::{self, Record};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Leads, Action::Read);
const CREATE: Access = Access::Allow(Resource::Leads, Action::Create);
const UPDATE: Access = Access::Allow(Resource::Leads, Action::Update);
const DELETE: Access = Access::Allow(Resource::Leads, Action::Delete);

/// At most this many ids in one bulk request.
pub const MAX_BULK: usize = 500;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/leads", READ)
                .doc(
                    "leads",
                    "List leads. Filters: status and owner_id (=, [in]); created_at, updated_at, \
                     fit_score, engagement_score, total_score ([gte], [lte]); employee_count and \
                     annual_revenue (decimal) ([gte], [lte], [empty]); email (=, [empty]); \
                     first_name, last_name, title, company_name, industry, city, region, \
                     country, source, utm_source, utm_medium, utm_campaign, utm_term, \
                     utm_content (=, [in], [empty]); the BANT and MEDDICC notes (budget, \
                     authority, need, timeline, metrics, economic_buyer, decision_criteria, \
                     decision_process, identified_pain, champion, competition) by presence \
                     ([empty]); tags[contains]. Sort by any of these but tags (-field for \
                     descending, several comma-separated). q is a case-insensitive substring \
                     of name, e-mail and company name; custom fields as cf.<key> filters (by \
                     kind: =, [in], [gte], [lte], [empty]) and sort fields (see /custom-fields)",
                )
                .returns_page::<Lead>(),
            list,
        )
        .add(
            post("/leads", CREATE)
                .doc(
                    "leads",
                    "Create a lead; without owner_id the caller owns it",
                )
                .body::<LeadInput>()
                .returns::<Lead>()
                .status(201),
            create,
        )
        .add(
            post("/leads/bulk-update", UPDATE)
                .doc(
                    "leads",
                    "Set owner, status and/or tags on up to 500 leads, all or nothing",
                )
                .body::<BulkUpdate>()
                .returns::<BulkResult>(),
            bulk_update,
        )
        .add(
            post("/leads/bulk-delete", DELETE)
                .doc("leads", "Delete up to 500 leads, all or nothing")
                .body::<BulkDelete>()
                .returns::<BulkResult>(),
            bulk_delete,
        )
        .add(
            get("/leads/{id}", READ)
                .doc("leads", "One lead")
                .returns::<Lead>(),
            show,
        )
        .add(
            patch("/leads/{id}", UPDATE)
                .doc(
                    "leads",
                    "Change a lead: only the fields sent; null clears an optional field",
                )
                .patch_body::<LeadInput>(REQUIRED_ON_PATCH)
                .returns::<Lead>(),
            update,
        )
        .add(
            delete("/leads/{id}", DELETE)
                .doc("leads", "Delete a lead")
                .status(204),
            destroy,
        )
        .add(
            get("/leads/{id}/history", READ)
                .doc("leads", "Audit history of a lead")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Lead>>, AppError> {
    let query = custom_fields::list_query(
        &app,
        &actor,
        RecordType::Lead,
        &pairs,
        LEAD_FIELDS,
        LEAD_DEFAULT_SORT,
    )
    .await?;
    let (limit, after) = list_window(&pairs, |c| decode_list_cursor(&query, c))?;
    Ok(Json(
        record::list::<Lead>(&app.store, &actor, &query, limit, after.as_ref()).await?,
    ))
}

/// Create a lead (API and web form).
pub async fn create_lead(
    app: &AppState,
    actor: &Actor,
    mut input: LeadInput,
) -> Result<Lead, AppError> {
    let custom =
        custom_fields::check_new(app, actor, RecordType::Lead, input.custom_fields.take()).await?;
    let mut data = input
        .validate()
        .map_err(|e| custom_fields::with_errors(e, &custom))?;
    data.custom_fields = custom?;
    Ok(record::create::<Lead>(&app.store, actor, &data).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<LeadInput>,
) -> Result<(StatusCode, Json<Lead>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_lead(&app, &actor, input).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Lead>, AppError> {
    Ok(Json(
        record::get::<Lead>(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Fields a patch may not clear with `null`.
const REQUIRED_ON_PATCH: &[&str] = &["status", "owner_id"];

/// Change a lead with a partial body (API and web form): the fields sent replace the lead's,
/// `null` clears, and the result is validated as a whole.
pub async fn update_lead(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    mut patch: Map<String, Value>,
) -> Result<Lead, AppError> {
    check_partial::<LeadInput>(&patch, REQUIRED_ON_PATCH)?;
    let custom = custom_fields::check_patch(app, actor, RecordType::Lead, &mut patch).await?;
    let lead = record::update::<Lead>(&app.store, actor, id, move |before| {
        let mut merged = before.as_input();
        if !patch.contains_key("total_score") {
            // The total follows the fit and engagement scores the patch may change.
            merged.remove("total_score");
        }
        merged.extend(patch);
        custom.apply(&mut merged);
        let input: LeadInput = read_merged(merged)?;
        input.validate()
    })
    .await?;
    Ok(lead)
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<Lead>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(update_lead(&app, &actor, id, patch).await?))
}

async fn destroy(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    record::delete::<Lead>(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    record::get::<Lead>(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Leads, id, query).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LeadBulkUpdate)]
pub struct BulkUpdate {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
    pub set: BulkFields,
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LeadBulkFields)]
pub struct BulkFields {
    pub owner_id: Option<Uuid>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
}

impl BulkDelete {
    /// The ids to delete: 1 to [`MAX_BULK`] of them, or the 422 naming `ids`.
    pub(crate) fn checked(&self) -> Result<&[Uuid], AppError> {
        let mut errors = FieldErrors::new();
        check_ids(&self.ids, &mut errors);
        errors.into_result()?;
        Ok(&self.ids)
    }
}

/// The answer of a bulk update or delete of any kind of record.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// How many records were changed or deleted.
    pub count: usize,
}

impl From<u64> for BulkResult {
    fn from(count: u64) -> Self {
        Self {
            count: usize::try_from(count).unwrap_or(usize::MAX),
        }
    }
}

/// A bulk request names 1 to [`MAX_BULK`] ids.
pub(crate) fn check_ids(ids: &[Uuid], errors: &mut FieldErrors) {
    if ids.is_empty() || ids.len() > MAX_BULK {
        errors.add("ids", format!("must list 1 to {MAX_BULK} ids"));
    }
}

async fn bulk_update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkUpdate>,
) -> Result<Json<BulkResult>, AppError> {
    let mut errors = FieldErrors::new();
    check_ids(&body.ids, &mut errors);
    let status = match body.set.status.as_deref() {
        Some(s) => errors.check("set.status", s.parse::<LeadStatus>()),
        None => None,
    };
    let tags = match body.set.tags {
        Some(tags) => {
            let tags: Vec<String> = tags.into_iter().map(|t| t.trim().to_owned()).collect();
            if tags.iter().any(|t| t.is_empty() || t.chars().count() > 100) || tags.len() > 50 {
                errors.add("set.tags", "at most 50 tags of 1 to 100 characters");
            }
            let mut unique: Vec<String> = Vec::new();
            for tag in tags {
                if !unique.contains(&tag) {
                    unique.push(tag);
                }
            }
            Some(unique)
        }
        None => None,
    };
    if body.set.owner_id.is_none() && body.set.status.is_none() && tags.is_none() {
        errors.add("set", "must set owner_id, status or tags");
    }
    errors.into_result()?;
    let set = BulkSet {
        owner_id: body.set.owner_id,
        status,
        tags,
    };
    let updated = leads::bulk_update(&app.store, &actor, &body.ids, &set).await?;
    Ok(Json(BulkResult {
        count: updated.len(),
    }))
}

async fn bulk_delete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkDelete>,
) -> Result<Json<BulkResult>, AppError> {
    let deleted = record::bulk_delete::<Lead>(&app.store, &actor, body.checked()?).await?;
    Ok(Json(deleted.into()))
}
