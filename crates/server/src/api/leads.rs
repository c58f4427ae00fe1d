//! `/leads`: the generic record routes (`crate::api::record`: list with typed filters,
//! multi-field sort and keyset cursor, create, read, patch, delete, history, bulk delete) and
//! the leads' own bulk update. Bodies are parsed into `rivet_domain::leads` types; scope and
//! audit are the store's.

use crate::api::bulk::{BulkResult, bulk_tags, check_ids};
use crate::api::record::{self, ApiRecord, Input};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, post};
use crate::state::AppState;
use axum::extract::State;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::{LeadId, UserId};
use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS, LeadData, LeadInput, LeadStatus};
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_domain::{Action, FieldErrors, Resource};
use rivet_store::leads::{self, BulkSet, Lead};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

impl Input for LeadInput {
    type Data = LeadData;
    fn take_custom_fields(&mut self) -> Option<Map<String, Value>> {
        self.custom_fields.take()
    }
    fn validate(self) -> Result<LeadData, FieldErrors> {
        LeadInput::validate(self)
    }
}

impl ApiRecord for Lead {
    type Input = LeadInput;
    const PATH: &'static str = "/leads";
    const TAG: &'static str = "leads";
    const NOUN: &'static str = "lead";
    const CUSTOM: Option<RecordType> = Some(RecordType::Lead);
    const FIELDS: &'static [FieldSpec<Self::Field>] = LEAD_FIELDS;
    const DEFAULT_SORT: &'static [SortKey<Self::Field>] = LEAD_DEFAULT_SORT;
    const REQUIRED_ON_PATCH: &'static [&'static str] = &["status", "owner_id"];
    const LIST_DOC: &'static str = "List leads. Filters: status and owner_id (=, [in]); created_at, updated_at, \
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
                     kind: =, [in], [gte], [lte], [empty]) and sort fields (see /custom-fields)";

    fn set_custom_fields(data: &mut LeadData, values: Map<String, Value>) {
        data.custom_fields = values;
    }

    fn before_merge(patch: &Map<String, Value>, merged: &mut Map<String, Value>) {
        if !patch.contains_key("total_score") {
            // The total follows the fit and engagement scores the patch may change.
            merged.remove("total_score");
        }
    }
}

pub fn routes() -> ApiRouter {
    record::routes::<Lead>().add(
        post(
            "/leads/bulk-update",
            Access::Allow(Resource::Leads, Action::Update),
        )
        .doc(
            "leads",
            "Set owner, status and/or tags on up to 500 leads, all or nothing",
        )
        .body::<BulkUpdate>()
        .returns::<BulkResult>(),
        bulk_update,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LeadBulkUpdate)]
pub struct BulkUpdate {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub ids: Vec<LeadId>,
    pub set: BulkFields,
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LeadBulkFields)]
pub struct BulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
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
    let tags = bulk_tags(body.set.tags, &mut errors);
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
