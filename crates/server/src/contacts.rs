//! `/contacts`: list (typed filters, multi-field sort, keyset cursor), create, read, patch,
//! delete, history, and bulk update/delete. Bodies are parsed into `rivet_domain::contacts`
//! types here; scope, the primary-contact rule, consent times and audit are the store's.
//! `create_contact`/`update_contact` are what the web UI will call.

use crate::accounts::bulk_tags;
use crate::audit::{HistoryQuery, history};
use crate::custom_fields;
use crate::error::AppError;
use crate::extract::{Auth, Json, Query, check_partial, list_window, parse_id, read_merged};
use crate::leads::check_ids;
use crate::leads::{BulkDelete, BulkResult};
use crate::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS, ContactInput};
use rivet_domain::custom_fields::RecordType;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::audit::AuditEntry;
use rivet_store::contacts::{self, BulkSet, Contact};
use rivet_store::query::decode_list_cursor;
use rivet_store::record::{self, Record};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Contacts, Action::Read);
const CREATE: Access = Access::Allow(Resource::Contacts, Action::Create);
const UPDATE: Access = Access::Allow(Resource::Contacts, Action::Update);
const DELETE: Access = Access::Allow(Resource::Contacts, Action::Delete);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/contacts", READ)
                .doc(
                    "contacts",
                    "List contacts: filters account_id, account_id[in|empty], owner_id, \
                     owner_id[in], email, email[empty], last_name, is_primary, email_consent, \
                     whatsapp_consent, tags[contains], created_at[gte|lte], updated_at[gte|lte]; \
                     sort by any of these but tags (-field for \
                     descending); q is a case-insensitive substring of name and e-mail; \
                     custom fields as cf.<key> filters (by kind: =, [in], [gte], [lte], [empty]) \
                     and sort fields (see /custom-fields)",
                )
                .returns_page::<Contact>(),
            list,
        )
        .add(
            post("/contacts", CREATE)
                .doc(
                    "contacts",
                    "Create a contact; without owner_id the caller owns it",
                )
                .body::<ContactInput>()
                .returns::<Contact>()
                .status(201),
            create,
        )
        .add(
            post("/contacts/bulk-update", UPDATE)
                .doc(
                    "contacts",
                    "Set owner and/or tags on up to 500 contacts, all or nothing",
                )
                .body::<BulkUpdate>()
                .returns::<BulkResult>(),
            bulk_update,
        )
        .add(
            post("/contacts/bulk-delete", DELETE)
                .doc("contacts", "Delete up to 500 contacts, all or nothing")
                .body::<BulkDelete>()
                .returns::<BulkResult>(),
            bulk_delete,
        )
        .add(
            get("/contacts/{id}", READ)
                .doc("contacts", "One contact")
                .returns::<Contact>(),
            show,
        )
        .add(
            patch("/contacts/{id}", UPDATE)
                .doc(
                    "contacts",
                    "Change a contact: only the fields sent; null clears an optional field; \
                     is_primary un-sets the account's previous primary contact",
                )
                .patch_body::<ContactInput>(REQUIRED_ON_PATCH)
                .returns::<Contact>(),
            update,
        )
        .add(
            delete("/contacts/{id}", DELETE)
                .doc("contacts", "Delete a contact")
                .status(204),
            destroy,
        )
        .add(
            get("/contacts/{id}/history", READ)
                .doc("contacts", "Audit history of a contact")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Contact>>, AppError> {
    let query = custom_fields::list_query(
        &app,
        &actor,
        RecordType::Contact,
        &pairs,
        CONTACT_FIELDS,
        CONTACT_DEFAULT_SORT,
    )
    .await?;
    let (limit, after) = list_window(&pairs, |c| decode_list_cursor(&query, c))?;
    Ok(Json(
        record::list::<Contact>(&app.store, &actor, &query, limit, after.as_ref()).await?,
    ))
}

/// Create a contact (API and web form).
pub async fn create_contact(
    app: &AppState,
    actor: &Actor,
    mut input: ContactInput,
) -> Result<Contact, AppError> {
    let custom =
        custom_fields::check_new(app, actor, RecordType::Contact, input.custom_fields.take())
            .await?;
    let mut data = input
        .validate()
        .map_err(|e| custom_fields::with_errors(e, &custom))?;
    data.custom_fields = custom?;
    Ok(record::create::<Contact>(&app.store, actor, &data).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<ContactInput>,
) -> Result<(StatusCode, Json<Contact>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_contact(&app, &actor, input).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Contact>, AppError> {
    Ok(Json(
        record::get::<Contact>(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Fields a patch may not clear with `null`.
const REQUIRED_ON_PATCH: &[&str] = &["owner_id"];

/// Change a contact with a partial body (API and web form).
pub async fn update_contact(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    mut patch: Map<String, Value>,
) -> Result<Contact, AppError> {
    check_partial::<ContactInput>(&patch, REQUIRED_ON_PATCH)?;
    let custom = custom_fields::check_patch(app, actor, RecordType::Contact, &mut patch).await?;
    let contact = record::update::<Contact>(&app.store, actor, id, move |before| {
        let mut merged = before.as_input();
        // Leaving an account also gives up being its primary contact.
        if patch.get("account_id").is_some_and(Value::is_null) && !patch.contains_key("is_primary")
        {
            merged.insert("is_primary".into(), Value::Bool(false));
        }
        merged.extend(patch);
        custom.apply(&mut merged);
        let input: ContactInput = read_merged(merged)?;
        input.validate()
    })
    .await?;
    Ok(contact)
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<Contact>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(update_contact(&app, &actor, id, patch).await?))
}

async fn destroy(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    record::delete::<Contact>(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    record::get::<Contact>(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Contacts, id, query).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContactBulkUpdate)]
pub struct BulkUpdate {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
    pub set: BulkFields,
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContactBulkFields)]
pub struct BulkFields {
    pub owner_id: Option<Uuid>,
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

async fn bulk_delete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkDelete>,
) -> Result<Json<BulkResult>, AppError> {
    let deleted = record::bulk_delete::<Contact>(&app.store, &actor, body.checked()?).await?;
    Ok(Json(deleted.into()))
}
