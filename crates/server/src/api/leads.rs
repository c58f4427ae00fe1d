//! `/leads`: the generic record routes (`crate::api::record`: list with typed filters,
//! multi-field sort and keyset cursor, create, read, patch, delete, history, bulk update of
//! owner, status and tags, bulk delete). Bodies are parsed into `rivet_domain::leads` types; scope and
//! audit are the store's.

use crate::api::record::{self, ApiRecord, BulkFields, Created, Input};
use crate::http::error::AppError;
use crate::http::router::ApiRouter;
use crate::state::AppState;
use rivet_domain::Actor;
use rivet_domain::FieldErrors;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::UserId;
use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS, LeadData, LeadInput};
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_store::leads::Lead;
use serde::{Deserialize, Serialize};
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
    type Bulk = LeadBulkFields;
    const SCREENED: bool = true;
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

    fn create_new(
        app: &AppState,
        actor: &Actor,
        data: LeadData,
    ) -> impl Future<Output = Result<Created<Self>, AppError>> + Send {
        record::create_screened::<Self>(app, actor, data)
    }

    fn take_in_tx(
        tx: &rivet_store::Tx,
        actor: &Actor,
        data: Vec<LeadData>,
        hold: impl Fn(&[rivet_store::duplicates::Duplicate]) -> bool + Send,
    ) -> impl Future<Output = Result<Vec<rivet_store::intake::Taken<Self>>, rivet_store::StoreError>>
    + Send {
        rivet_store::intake::take_in::<Self>(tx, actor, data, hold)
    }

    fn set_custom_fields(data: &mut LeadData, values: Map<String, Value>) {
        data.custom_fields = values;
    }

    /// A new status without a reason drops the reason of the old one.
    fn before_merge(patch: &Map<String, Value>, merged: &mut Map<String, Value>) {
        if patch.contains_key("status") && !patch.contains_key("status_reason") {
            merged.remove("status_reason");
        }
    }
}

pub fn routes() -> ApiRouter {
    record::routes::<Lead>()
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadBulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl BulkFields for LeadBulkFields {
    const NAMES: &'static [&'static str] = &["owner_id", "status", "tags"];
}
