//! `/activities`: list (typed filters, sort, keyset cursor, and `record_type` + `record_id` for
//! the activities linked to one record), create (with 1 to 20 links), read, patch (which may
//! replace the links), delete, history, and bulk owner change / delete (the ids checked as the
//! other records' bulk actions check them). Bodies are parsed into `rivet_domain::activities`
//! types here; scope (the owner), the link checks and audit are the store's. `create_activity`
//! and `update_activity` are what the web UI calls.

use crate::api::record::{self, ApiRecord, BulkFields, Input};
use crate::http::error::AppError;
use crate::http::extract::list_window;
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use rivet_domain::activities::ActivityData;
use rivet_domain::activities::{
    ACTIVITY_DEFAULT_SORT, ACTIVITY_FIELDS, ActivityField, ActivityInput, RecordType,
};
use rivet_domain::ids::UserId;
use rivet_domain::query::ListQuery;
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::activities::{self, Activity};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Activities, Action::Read);

impl Input for ActivityInput {
    type Data = ActivityData;
    fn validate(self) -> Result<ActivityData, FieldErrors> {
        ActivityInput::validate(self)
    }
}

impl ApiRecord for Activity {
    type Input = ActivityInput;
    type Bulk = ActivityBulkFields;
    const BULK_UPDATE_DOC: &'static str =
        "Set the owner of up to 500 activities, all or nothing; their links stay";
    const PATH: &'static str = "/activities";
    const TAG: &'static str = "activities";
    const NOUN: &'static str = "activity";
    const CUSTOM: Option<rivet_domain::custom_fields::RecordType> = None;
    const FIELDS: &'static [FieldSpec<Self::Field>] = ACTIVITY_FIELDS;
    const DEFAULT_SORT: &'static [SortKey<Self::Field>] = ACTIVITY_DEFAULT_SORT;
    const REQUIRED_ON_PATCH: &'static [&'static str] =
        &["kind", "occurred_at", "owner_id", "links"];
    const LIST_DOC: &'static str = "List activities: filters kind, kind[in], direction, direction[in|empty], \
                     owner_id, owner_id[in], occurred_at[gte|lte], created_at[gte|lte], \
                     updated_at[gte|lte]; record_type with record_id (lead, contact, account or \
                     deal) for the activities linked to that record; sort by kind, \
                     direction, owner_id, occurred_at, created_at or updated_at (-field for \
                     descending; default -occurred_at); q is \
                     a case-insensitive substring of subject and body";
    const CREATE_DOC: &'static str = "Log an activity linked to 1 to 20 records (links: [{record_type, \
         record_id}]); without owner_id the caller owns it, without occurred_at it \
         happened now";
    const SHOW_DOC: &'static str = "One activity with its links";
    const PATCH_DOC: &'static str = "Change an activity: only the fields sent; null clears an optional field; \
         links, when sent, replace the activity's links";
    const DELETE_DOC: &'static str = "Delete an activity and its links";
    const BULK_DELETE_DOC: &'static str =
        "Delete up to 500 activities and their links, all or nothing";

    const OWN_LIST: bool = true;

    fn list_page(
        app: &AppState,
        actor: &Actor,
        pairs: Vec<(String, String)>,
    ) -> impl Future<Output = Result<Page<Self>, AppError>> + Send {
        list_page(app, actor, pairs)
    }
}

pub fn routes() -> ApiRouter {
    record::routes::<Activity>().add(
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
        record::list::<Activity>,
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

/// A page of activities: the field filters, and the record they are linked to.
async fn list_page(
    app: &AppState,
    actor: &Actor,
    mut pairs: Vec<(String, String)>,
) -> Result<Page<Activity>, AppError> {
    let (query, record) = list_query(&mut pairs)?;
    let (limit, after) = list_window(&pairs, |c| {
        rivet_store::query::decode_cursor(&query.sort, c)
    })?;
    Ok(activities::list(&app.store, actor, &query, record, limit, after.as_ref()).await?)
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityBulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
}

impl BulkFields for ActivityBulkFields {
    const NAMES: &'static [&'static str] = &["owner_id"];
}
