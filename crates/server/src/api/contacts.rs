//! `/contacts`: list (typed filters, multi-field sort, keyset cursor), create, read, patch,
//! delete, history, and bulk update/delete. Bodies are parsed into `rivet_domain::contacts`
//! types here; scope, the primary-contact rule, consent times and audit are the store's.
//! `create_contact`/`update_contact` are what the web UI will call.

use crate::api::record::{self, ApiRecord, BulkFields, Created, Input};
use crate::http::error::AppError;
use crate::http::router::ApiRouter;
use crate::state::AppState;
use rivet_domain::Actor;
use rivet_domain::FieldErrors;
use rivet_domain::contacts::ContactData;
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS, ContactInput};
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::UserId;
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_store::contacts::Contact;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

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
    type Bulk = ContactBulkFields;
    const SCREENED: bool = true;
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

    fn create_new(
        app: &AppState,
        actor: &Actor,
        data: ContactData,
    ) -> impl Future<Output = Result<Created<Self>, AppError>> + Send {
        record::create_screened::<Self>(app, actor, data)
    }

    fn take_in_tx(
        tx: &rivet_store::Tx,
        actor: &Actor,
        data: Vec<ContactData>,
        hold: impl Fn(&[rivet_store::duplicates::Duplicate]) -> bool + Send,
    ) -> impl Future<Output = Result<Vec<rivet_store::intake::Taken<Self>>, rivet_store::StoreError>>
    + Send {
        rivet_store::intake::take_in::<Self>(tx, actor, data, hold)
    }

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
    record::routes::<Contact>()
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    pub tags: Option<Vec<String>>,
}

impl BulkFields for ContactBulkFields {
    const NAMES: &'static [&'static str] = &["owner_id", "tags"];
}
