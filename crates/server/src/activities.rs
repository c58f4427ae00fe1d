//! `/activities`: list (typed filters, sort, keyset cursor, and `record_type` + `record_id` for
//! the activities linked to one record), create (with 1 to 20 links), read, patch (which may
//! replace the links), delete, history, and bulk owner change / delete (the ids checked as the
//! other records' bulk actions check them). Bodies are parsed into `rivet_domain::activities`
//! types here; scope (the owner), the link checks and audit are the store's. `create_activity`
//! and `update_activity` are what the web UI calls.

use crate::audit::{HistoryQuery, history};
use crate::error::AppError;
use crate::extract::{Auth, Json, Query, check_partial, list_window, parse_id, read_merged};
use crate::leads::check_ids;
use crate::leads::{BulkDelete, BulkResult};
use crate::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::activities::{
    ACTIVITY_DEFAULT_SORT, ACTIVITY_FIELDS, ActivityField, ActivityInput, RecordType,
};
use rivet_domain::query::ListQuery;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::activities::{self, Activity, BulkSet};
use rivet_store::audit::AuditEntry;
use rivet_store::record::{self, Record};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Activities, Action::Read);
const CREATE: Access = Access::Allow(Resource::Activities, Action::Create);
const UPDATE: Access = Access::Allow(Resource::Activities, Action::Update);
const DELETE: Access = Access::Allow(Resource::Activities, Action::Delete);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/activities", READ)
                .doc(
                    "activities",
                    "List activities: filters kind, kind[in], direction, direction[in|empty], \
                     owner_id, owner_id[in], occurred_at[gte|lte], created_at[gte|lte], \
                     updated_at[gte|lte]; record_type with record_id (lead, contact, account or \
                     deal) for the activities linked to that record; sort by kind, \
                     direction, owner_id, occurred_at, created_at or updated_at (-field for \
                     descending; default -occurred_at); q is \
                     a case-insensitive substring of subject and body",
                )
                .returns_page::<Activity>(),
            list,
        )
        .add(
            post("/activities", CREATE)
                .doc(
                    "activities",
                    "Log an activity linked to 1 to 20 records (links: [{record_type, \
                     record_id}]); without owner_id the caller owns it, without occurred_at it \
                     happened now",
                )
                .body::<ActivityInput>()
                .returns::<Activity>()
                .status(201),
            create,
        )
        .add(
            post("/activities/bulk-update", UPDATE)
                .doc(
                    "activities",
                    "Set the owner of up to 500 activities, all or nothing; their links stay",
                )
                .body::<BulkUpdate>()
                .returns::<BulkResult>(),
            bulk_update,
        )
        .add(
            post("/activities/bulk-delete", DELETE)
                .doc(
                    "activities",
                    "Delete up to 500 activities and their links, all or nothing",
                )
                .body::<BulkDelete>()
                .returns::<BulkResult>(),
            bulk_delete,
        )
        .add(
            get("/activities/{id}", READ)
                .doc("activities", "One activity with its links")
                .returns::<Activity>(),
            show,
        )
        .add(
            patch("/activities/{id}", UPDATE)
                .doc(
                    "activities",
                    "Change an activity: only the fields sent; null clears an optional field; \
                     links, when sent, replace the activity's links",
                )
                .patch_body::<ActivityInput>(REQUIRED_ON_PATCH)
                .returns::<Activity>(),
            update,
        )
        .add(
            delete("/activities/{id}", DELETE)
                .doc("activities", "Delete an activity and its links")
                .status(204),
            destroy,
        )
        .add(
            get("/activities/{id}/history", READ)
                .doc("activities", "Audit history of an activity")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

/// Take `record_type` and `record_id` out of the pairs: both or neither.
fn record_filter(pairs: &mut Vec<(String, String)>) -> Result<RecordFilter, AppError> {
    let mut record_type = None;
    let mut record_id = None;
    pairs.retain(|(k, v)| match k.as_str() {
        "record_type" => {
            record_type = Some(v.clone());
            false
        }
        "record_id" => {
            record_id = Some(v.clone());
            false
        }
        _ => true,
    });
    match (record_type, record_id) {
        (None, None) => Ok(None),
        (Some(t), Some(id)) => {
            let t = t
                .parse::<RecordType>()
                .map_err(|e| AppError::BadRequest(format!("record_type {e}")))?;
            let id = Uuid::parse_str(&id)
                .map_err(|_| AppError::BadRequest("record_id must be an id".into()))?;
            Ok(Some((t, id)))
        }
        _ => Err(AppError::BadRequest(
            "record_type and record_id go together".into(),
        )),
    }
}

/// The record whose activities a list asks for (`record_type` + `record_id`).
type RecordFilter = Option<(RecordType, Uuid)>;

/// The list's query: `record_type` + `record_id` taken out of the pairs, the rest parsed as
/// the list's filters and sort (the list route, and the check of a saved view's query).
pub fn list_query(
    pairs: &mut Vec<(String, String)>,
) -> Result<(ListQuery<ActivityField>, RecordFilter), AppError> {
    let record = record_filter(pairs)?;
    let query = ListQuery::parse(pairs, ACTIVITY_FIELDS, ACTIVITY_DEFAULT_SORT)
        .map_err(|e| AppError::BadRequest(e.0))?;
    Ok((query, record))
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(mut pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Activity>>, AppError> {
    let (query, record) = list_query(&mut pairs)?;
    let (limit, after) = list_window(&pairs, |c| {
        rivet_store::query::decode_cursor(&query.sort, c)
    })?;
    Ok(Json(
        activities::list(&app.store, &actor, &query, record, limit, after.as_ref()).await?,
    ))
}

/// Log an activity (API, web form and quick-add).
pub async fn create_activity(
    app: &AppState,
    actor: &Actor,
    input: ActivityInput,
) -> Result<Activity, AppError> {
    let data = input.validate()?;
    Ok(record::create::<Activity>(&app.store, actor, &data).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<ActivityInput>,
) -> Result<(StatusCode, Json<Activity>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_activity(&app, &actor, input).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Activity>, AppError> {
    Ok(Json(
        record::get::<Activity>(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Fields a patch may not clear with `null`.
const REQUIRED_ON_PATCH: &[&str] = &["kind", "occurred_at", "owner_id", "links"];

/// Change an activity with a partial body (API and web form): the fields sent replace the
/// activity's, `null` clears, and the result is validated as a whole.
pub async fn update_activity(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: Map<String, Value>,
) -> Result<Activity, AppError> {
    check_partial::<ActivityInput>(&patch, REQUIRED_ON_PATCH)?;
    let activity = record::update::<Activity>(&app.store, actor, id, move |before| {
        let mut merged = before.as_input();
        merged.extend(patch);
        let input: ActivityInput = read_merged(merged)?;
        input.validate()
    })
    .await?;
    Ok(activity)
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<Activity>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(update_activity(&app, &actor, id, patch).await?))
}

async fn destroy(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    record::delete::<Activity>(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    record::get::<Activity>(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Activities, id, query).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ActivityBulkUpdate)]
pub struct BulkUpdate {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
    pub set: BulkFields,
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ActivityBulkFields)]
pub struct BulkFields {
    pub owner_id: Option<Uuid>,
}

async fn bulk_update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkUpdate>,
) -> Result<Json<BulkResult>, AppError> {
    let mut errors = FieldErrors::new();
    check_ids(&body.ids, &mut errors);
    if body.set.owner_id.is_none() {
        errors.add("set", "must set owner_id");
    }
    errors.into_result()?;
    let set = BulkSet {
        owner_id: body.set.owner_id,
    };
    let updated = activities::bulk_update(&app.store, &actor, &body.ids, &set).await?;
    Ok(Json(BulkResult {
        count: updated.len(),
    }))
}

async fn bulk_delete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkDelete>,
) -> Result<Json<BulkResult>, AppError> {
    let deleted = record::bulk_delete::<Activity>(&app.store, &actor, body.checked()?).await?;
    Ok(Json(deleted.into()))
}
