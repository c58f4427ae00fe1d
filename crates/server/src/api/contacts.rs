//! `/contacts`: list (typed filters, multi-field sort, keyset cursor), create, read, patch,
//! delete, history, and bulk update/delete. Bodies are parsed into `rivet_domain::contacts`
//! types here; scope, the primary-contact rule, consent times and audit are the store's.
//! `create_contact`/`update_contact` are what the web UI will call.

use crate::api::bulk::BulkResult;
use crate::api::bulk::bulk_tags;
use crate::api::bulk::check_ids;
use crate::api::record::{self, ApiRecord, Input};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, post};
use crate::state::AppState;
use axum::extract::State;
use rivet_domain::contacts::ContactData;
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS, ContactInput};
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::{ContactId, UserId};
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_domain::{Action, FieldErrors, Resource};
use rivet_store::contacts::{self, BulkSet, Contact};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

const UPDATE: Access = Access::Allow(Resource::Contacts, Action::Update);

impl Input for ContactInput {
    type Data = ContactData;
    fn take_custom_fields(&mut self) -> Option<Map<String, Value>> {
        self.custom_fields.take()
    }
    fn validate(self) -> Result<ContactData, FieldErrors> {
        ContactInput::validate(self)
    }
}

impl ApiRecord for Contact {
    type Input = ContactInput;
    const PATH: &'static str = "/contacts";
    const TAG: &'static str = "contacts";
    const NOUN: &'static str = "contact";
    const CUSTOM: Option<RecordType> = Some(RecordType::Contact);
    const FIELDS: &'static [FieldSpec<Self::Field>] = CONTACT_FIELDS;
    const DEFAULT_SORT: &'static [SortKey<Self::Field>] = CONTACT_DEFAULT_SORT;
    const REQUIRED_ON_PATCH: &'static [&'static str] = &["owner_id"];
    const LIST_DOC: &'static str = "List contacts: filters account_id, account_id[in|empty], owner_id, \
                     owner_id[in], email, email[empty], last_name, is_primary, email_consent, \
                     whatsapp_consent, tags[contains], created_at[gte|lte], updated_at[gte|lte]; \
                     sort by any of these but tags (-field for \
                     descending); q is a case-insensitive substring of name and e-mail; \
                     custom fields as cf.<key> filters (by kind: =, [in], [gte], [lte], [empty]) \
                     and sort fields (see /custom-fields)";
    const PATCH_DOC: &'static str = "Change a contact: only the fields sent; null clears an optional field; \
         is_primary un-sets the account's previous primary contact";

    fn set_custom_fields(data: &mut ContactData, values: Map<String, Value>) {
        data.custom_fields = values;
    }

    fn before_merge(patch: &Map<String, Value>, merged: &mut Map<String, Value>) {
        // Leaving an account also gives up being its primary contact.
        if patch.get("account_id").is_some_and(Value::is_null) && !patch.contains_key("is_primary")
        {
            merged.insert("is_primary".into(), Value::Bool(false));
        }
    }
}

pub fn routes() -> ApiRouter {
    record::routes::<Contact>().add(
        post("/contacts/bulk-update", UPDATE)
            .doc(
                "contacts",
                "Set owner and/or tags on up to 500 contacts, all or nothing",
            )
            .body::<BulkUpdate>()
            .returns::<BulkResult>(),
        bulk_update,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContactBulkUpdate)]
pub struct BulkUpdate {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub ids: Vec<ContactId>,
    pub set: BulkFields,
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContactBulkFields)]
pub struct BulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
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
    if body.set.owner_id.is_none() && tags.is_none() {
        errors.add("set", "must set owner_id or tags");
    }
    errors.into_result()?;
    let set = BulkSet {
        owner_id: body.set.owner_id,
        tags,
    };
    let updated = contacts::bulk_update(&app.store, &actor, &body.ids, &set).await?;
    Ok(Json(BulkResult {
        count: updated.len(),
    }))
}
