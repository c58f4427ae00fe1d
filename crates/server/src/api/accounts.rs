//! `/accounts`: list (typed filters, multi-field sort, keyset cursor), create, read, patch,
//! delete (with an explicit choice for the account's contacts and child accounts), history, and
//! bulk update/delete. Bodies are parsed into `rivet_domain::accounts` types here; scope, the
//! hierarchy check and audit are the store's. `create_account`/`update_account` are what the
//! web UI will call.

use crate::api::bulk::{BulkResult, check_ids};
use crate::api::record::{self, ApiRecord, BulkFields, Input};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id};
use crate::http::router::{Access, ApiRouter, delete, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::accounts::AccountData;
use rivet_domain::accounts::{ACCOUNT_DEFAULT_SORT, ACCOUNT_FIELDS, AccountInput};
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::{AccountId, UserId};
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_domain::{Action, FieldErrors, Resource};
use rivet_store::accounts::{self, Account, DeleteOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

const DELETE: Access = Access::Allow(Resource::Accounts, Action::Delete);

impl Input for AccountInput {
    type Data = AccountData;
    fn take_custom_fields(&mut self) -> Option<Map<String, Value>> {
        self.custom_fields.take()
    }
    fn validate(self) -> Result<AccountData, FieldErrors> {
        AccountInput::validate(self)
    }
}

impl ApiRecord for Account {
    type Input = AccountInput;
    type Bulk = AccountBulkFields;
    const PATH: &'static str = "/accounts";
    const TAG: &'static str = "accounts";
    const NOUN: &'static str = "account";
    const CUSTOM: Option<RecordType> = Some(RecordType::Account);
    const FIELDS: &'static [FieldSpec<Self::Field>] = ACCOUNT_FIELDS;
    const DEFAULT_SORT: &'static [SortKey<Self::Field>] = ACCOUNT_DEFAULT_SORT;
    const REQUIRED_ON_PATCH: &'static [&'static str] = &["name", "lifecycle_stage", "owner_id"];
    const LIST_DOC: &'static str = "List accounts: filters name, domain, domain[empty], industry, \
                     industry[in|empty], lifecycle_stage, lifecycle_stage[in], owner_id, \
                     owner_id[in], parent_id, parent_id[in|empty], health_score[gte|lte|empty], \
                     employee_count[gte|lte], tags[contains], created_at[gte|lte], \
                     updated_at[gte|lte]; sort by any of \
                     these but tags, or name (-field for descending); q is a case-insensitive substring of \
                     name and domain; \
                     custom fields as cf.<key> filters (by kind: =, [in], [gte], [lte], [empty]) \
                     and sort fields (see /custom-fields)";
    const PATCH_DOC: &'static str = "Change an account: only the fields sent; null clears an optional field; \
         a parent_id that would make a cycle is rejected";

    fn set_custom_fields(data: &mut AccountData, values: Map<String, Value>) {
        data.custom_fields = values;
    }
}

pub fn routes() -> ApiRouter {
    record::collection::<Account>()
        .add(
            post("/accounts/bulk-delete", DELETE)
                .doc(
                    "accounts",
                    "Delete up to 500 accounts, all or nothing; cascade/reassign_to/\
                     detach_children as for one account",
                )
                .body::<BulkDelete>()
                .returns::<BulkResult>(),
            bulk_delete,
        )
        .add(
            delete("/accounts/{id}", DELETE)
                .doc(
                    "accounts",
                    "Delete an account. One with contacts needs ?cascade=contacts (delete them) \
                     or ?reassign_to=<account id> (move them); one with child accounts needs \
                     ?detach_children=true; otherwise 409",
                )
                .status(204),
            destroy,
        )
}

/// `?cascade=contacts`, `?reassign_to=<id>`, `?detach_children=true`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// `contacts`: delete the account's contacts too.
    pub cascade: Option<String>,
    /// Move the account's contacts to this account first.
    pub reassign_to: Option<String>,
    /// `true`: make the child accounts top-level.
    pub detach_children: Option<bool>,
}

impl DeleteParams {
    fn options(&self, errors: &mut FieldErrors) -> DeleteOptions {
        let cascade_contacts = match self.cascade.as_deref() {
            None => false,
            Some(rivet_domain::accounts::CASCADE_CONTACTS) => true,
            Some(_) => {
                errors.add("cascade", "must be contacts");
                false
            }
        };
        let reassign_to = match self.reassign_to.as_deref() {
            None => None,
            Some(text) => errors.check(
                "reassign_to",
                text.parse::<AccountId>()
                    .map_err(|_| "must be an account id".to_owned()),
            ),
        };
        DeleteOptions {
            cascade_contacts,
            reassign_to,
            detach_children: self.detach_children.unwrap_or(false),
        }
    }
}

async fn destroy(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> Result<StatusCode, AppError> {
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::new();
    let options = params.options(&mut errors);
    errors.into_result()?;
    accounts::delete(&app.store, &actor, id, options).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountBulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    pub lifecycle_stage: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl BulkFields for AccountBulkFields {
    const NAMES: &'static [&'static str] = &["owner_id", "lifecycle_stage", "tags"];
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountBulkDelete)]
pub struct BulkDelete {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub ids: Vec<AccountId>,
    /// `contacts`: delete the accounts' contacts too.
    pub cascade: Option<String>,
    /// Move the accounts' contacts to this account first.
    pub reassign_to: Option<String>,
    /// `true`: make child accounts top-level.
    pub detach_children: Option<bool>,
}

async fn bulk_delete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkDelete>,
) -> Result<Json<BulkResult>, AppError> {
    let mut errors = FieldErrors::new();
    check_ids(&body.ids, &mut errors);
    let options = DeleteParams {
        cascade: body.cascade,
        reassign_to: body.reassign_to,
        detach_children: body.detach_children,
    }
    .options(&mut errors);
    errors.into_result()?;
    let deleted = accounts::bulk_delete(&app.store, &actor, &body.ids, options).await?;
    Ok(Json(deleted.into()))
}
