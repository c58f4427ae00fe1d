//! `/accounts`: list (typed filters, multi-field sort, keyset cursor), create, read, patch,
//! delete (with an explicit choice for the account's contacts and child accounts), history, and
//! bulk update/delete. Bodies are parsed into `rivet_domain::accounts` types here; scope, the
//! hierarchy check and audit are the store's. `create_account`/`update_account` are what the
//! web UI will call.

use crate::audit::{HistoryQuery, history};
use crate::custom_fields;
use crate::error::AppError;
use crate::extract::{Auth, Json, Query, check_partial, list_window, parse_id, read_merged};
use crate::leads::{BulkResult, check_ids};
use crate::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::accounts::{ACCOUNT_DEFAULT_SORT, ACCOUNT_FIELDS, AccountInput, LifecycleStage};
use rivet_domain::custom_fields::RecordType;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::accounts::{self, Account, BulkSet, DeleteOptions};
use rivet_store::audit::AuditEntry;
use rivet_store::query::decode_list_cursor;
use rivet_store::record::{self, Record};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Accounts, Action::Read);
const CREATE: Access = Access::Allow(Resource::Accounts, Action::Create);
const UPDATE: Access = Access::Allow(Resource::Accounts, Action::Update);
const DELETE: Access = Access::Allow(Resource::Accounts, Action::Delete);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/accounts", READ)
                .doc(
                    "accounts",
                    "List accounts: filters name, domain, domain[empty], industry, \
                     industry[in|empty], lifecycle_stage, lifecycle_stage[in], owner_id, \
                     owner_id[in], parent_id, parent_id[in|empty], health_score[gte|lte|empty], \
                     employee_count[gte|lte], tags[contains], created_at[gte|lte], \
                     updated_at[gte|lte]; sort by any of \
                     these but tags, or name (-field for descending); q is a case-insensitive substring of \
                     name and domain; \
                     custom fields as cf.<key> filters (by kind: =, [in], [gte], [lte], [empty]) \
                     and sort fields (see /custom-fields)",
                )
                .returns_page::<Account>(),
            list,
        )
        .add(
            post("/accounts", CREATE)
                .doc(
                    "accounts",
                    "Create an account; without owner_id the caller owns it",
                )
                .body::<AccountInput>()
                .returns::<Account>()
                .status(201),
            create,
        )
        .add(
            post("/accounts/bulk-update", UPDATE)
                .doc(
                    "accounts",
                    "Set owner, lifecycle stage and/or tags on up to 500 accounts, all or nothing",
                )
                .body::<BulkUpdate>()
                .returns::<BulkResult>(),
            bulk_update,
        )
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
            get("/accounts/{id}", READ)
                .doc("accounts", "One account")
                .returns::<Account>(),
            show,
        )
        .add(
            patch("/accounts/{id}", UPDATE)
                .doc(
                    "accounts",
                    "Change an account: only the fields sent; null clears an optional field; \
                     a parent_id that would make a cycle is rejected",
                )
                .patch_body::<AccountInput>(REQUIRED_ON_PATCH)
                .returns::<Account>(),
            update,
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
        .add(
            get("/accounts/{id}/history", READ)
                .doc("accounts", "Audit history of an account")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Account>>, AppError> {
    let query = custom_fields::list_query(
        &app,
        &actor,
        RecordType::Account,
        &pairs,
        ACCOUNT_FIELDS,
        ACCOUNT_DEFAULT_SORT,
    )
    .await?;
    let (limit, after) = list_window(&pairs, |c| decode_list_cursor(&query, c))?;
    Ok(Json(
        record::list::<Account>(&app.store, &actor, &query, limit, after.as_ref()).await?,
    ))
}

/// Create an account (API and web form).
pub async fn create_account(
    app: &AppState,
    actor: &Actor,
    mut input: AccountInput,
) -> Result<Account, AppError> {
    let custom =
        custom_fields::check_new(app, actor, RecordType::Account, input.custom_fields.take())
            .await?;
    let mut data = input
        .validate()
        .map_err(|e| custom_fields::with_errors(e, &custom))?;
    data.custom_fields = custom?;
    Ok(record::create::<Account>(&app.store, actor, &data).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<AccountInput>,
) -> Result<(StatusCode, Json<Account>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(&app, &actor, input).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Account>, AppError> {
    Ok(Json(
        record::get::<Account>(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Fields a patch may not clear with `null`.
const REQUIRED_ON_PATCH: &[&str] = &["name", "lifecycle_stage", "owner_id"];

/// Change an account with a partial body (API and web form): the fields sent replace the
/// account's, `null` clears, and the result is validated as a whole.
pub async fn update_account(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    mut patch: Map<String, Value>,
) -> Result<Account, AppError> {
    check_partial::<AccountInput>(&patch, REQUIRED_ON_PATCH)?;
    let custom = custom_fields::check_patch(app, actor, RecordType::Account, &mut patch).await?;
    let account = record::update::<Account>(&app.store, actor, id, move |before| {
        let mut merged = before.as_input();
        merged.extend(patch);
        custom.apply(&mut merged);
        let input: AccountInput = read_merged(merged)?;
        input.validate()
    })
    .await?;
    Ok(account)
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<Account>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(update_account(&app, &actor, id, patch).await?))
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
                Uuid::parse_str(text).map_err(|_| "must be an account id".to_owned()),
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

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    record::get::<Account>(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Accounts, id, query).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountBulkUpdate)]
pub struct BulkUpdate {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
    pub set: BulkFields,
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountBulkFields)]
pub struct BulkFields {
    pub owner_id: Option<Uuid>,
    pub lifecycle_stage: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountBulkDelete)]
pub struct BulkDelete {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
    /// `contacts`: delete the accounts' contacts too.
    pub cascade: Option<String>,
    /// Move the accounts' contacts to this account first.
    pub reassign_to: Option<String>,
    /// `true`: make child accounts top-level.
    pub detach_children: Option<bool>,
}

/// Trimmed, de-duplicated tags for a bulk update, or an error under `set.tags`.
pub(crate) fn bulk_tags(
    tags: Option<Vec<String>>,
    errors: &mut FieldErrors,
) -> Option<Vec<String>> {
    let tags: Vec<String> = tags?.into_iter().map(|t| t.trim().to_owned()).collect();
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

async fn bulk_update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkUpdate>,
) -> Result<Json<BulkResult>, AppError> {
    let mut errors = FieldErrors::new();
    check_ids(&body.ids, &mut errors);
    let lifecycle_stage = match body.set.lifecycle_stage.as_deref() {
        Some(s) => errors.check("set.lifecycle_stage", s.parse::<LifecycleStage>()),
        None => None,
    };
    let tags = bulk_tags(body.set.tags, &mut errors);
    if body.set.owner_id.is_none() && body.set.lifecycle_stage.is_none() && tags.is_none() {
        errors.add("set", "must set owner_id, lifecycle_stage or tags");
    }
    errors.into_result()?;
    let set = BulkSet {
        owner_id: body.set.owner_id,
        lifecycle_stage,
        tags,
    };
    let updated = accounts::bulk_update(&app.store, &actor, &body.ids, &set).await?;
    Ok(Json(BulkResult {
        count: updated.len(),
    }))
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
