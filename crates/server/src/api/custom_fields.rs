//! `/custom-fields`: a company's custom field definitions for leads, accounts, contacts and
//! deals, and the helpers the record areas call to check `custom_fields` on create and update
//! ([`check_new`], [`check_patch`]) and to parse `cf.<key>` list filters and sorts
//! ([`list_query`]).
//!
//! Definitions are configuration, not records: any signed-in member reads them (a form needs
//! them to show the fields), changing them needs `settings.update`. Changing the kind of a field
//! that records hold values for is a 409 (`kind`), as is removing a select option in use
//! (`options`); deleting a definition removes its values from the records. A duplicate key is a
//! 409 (`key`).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::custom_fields::{
    self as rules, CustomFieldKind, FieldDef, RecordType, merge_custom_fields,
    validate_custom_fields,
};
use rivet_domain::query::{CUSTOM_PREFIX, FieldSpec, ListQuery, SortKey};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::custom_fields::{self as store, Definition, DefinitionChanges, NewDefinition};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

const READ: Access = Access::Authenticated;
const CONFIGURE: Access = Access::Allow(Resource::Settings, Action::Update);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/custom-fields", READ)
                .doc(
                    "custom-fields",
                    "List the company's custom field definitions, optionally of one record_type \
                     (lead, account, contact, deal), in display order (any signed-in member)",
                )
                .returns_all::<Definition>(),
            list,
        )
        .add(
            post("/custom-fields", CONFIGURE)
                .doc(
                    "custom-fields",
                    "Define a custom field: record_type, key (snake_case, unique per record \
                     type), label, kind (text, number, date, boolean, select, multi_select, url, \
                     email), options for select kinds, required (needs settings.update)",
                )
                .body::<CreateField>()
                .returns::<Definition>()
                .status(201),
            create,
        )
        .add(
            get("/custom-fields/{id}", READ)
                .doc(
                    "custom-fields",
                    "One custom field definition (any signed-in member)",
                )
                .returns::<Definition>(),
            show,
        )
        .add(
            patch("/custom-fields/{id}", CONFIGURE)
                .doc(
                    "custom-fields",
                    "Change a definition's label, options, required flag, position or kind; the \
                     kind only while no record holds a value, options only while no record uses \
                     a removed one (409 otherwise); key and record_type never change (needs \
                     settings.update)",
                )
                .body::<UpdateField>()
                .returns::<Definition>(),
            update,
        )
        .add(
            delete("/custom-fields/{id}", CONFIGURE)
                .doc(
                    "custom-fields",
                    "Delete a definition; its values are removed from every record (needs \
                     settings.update)",
                )
                .status(204),
            remove,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Definition>>, AppError> {
    let mut record_type = None;
    for (key, value) in &pairs {
        match key.as_str() {
            "record_type" => {
                record_type = Some(
                    value
                        .parse::<RecordType>()
                        .map_err(|e| AppError::BadRequest(format!("record_type {e}")))?,
                );
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "unknown parameter {other}; allowed: record_type"
                )));
            }
        }
    }
    Ok(Json(Page {
        data: store::list(&app.store, &actor, record_type).await?,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateField {
    /// lead, account, contact or deal.
    pub record_type: String,
    /// API name: a lower-case letter, then lower-case letters, digits or `_`; 1 to 40 characters.
    pub key: String,
    pub label: String,
    /// text, number, date, boolean, select, multi_select, url or email.
    pub kind: String,
    /// Required (1 to 100 distinct) for select and multi_select; not allowed for other kinds.
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub required: bool,
    /// Display order, 1 to 10000; omitted: after the last field of the record type.
    pub position: Option<i32>,
}

fn check_position(position: Option<i32>, errors: &mut FieldErrors) {
    if position.is_some_and(|p| !(1..=rules::MAX_POSITION).contains(&p)) {
        errors.add(
            "position",
            format!("must be between 1 and {}", rules::MAX_POSITION),
        );
    }
}

/// Define a custom field (API and the custom fields page).
pub async fn create_field(
    app: &AppState,
    actor: &Actor,
    body: CreateField,
) -> Result<Definition, AppError> {
    let mut errors = FieldErrors::new();
    let record_type = errors.check("record_type", body.record_type.parse::<RecordType>());
    let key = errors.check("key", rules::parse_key(&body.key));
    let label = errors.check("label", rules::parse_label(&body.label));
    let kind = errors.check("kind", body.kind.parse::<CustomFieldKind>());
    let options = match kind {
        Some(kind) => errors.check(
            "options",
            rules::parse_options(kind, body.options.as_deref()),
        ),
        None => None,
    };
    check_position(body.position, &mut errors);
    errors.into_result()?;
    let (Some(record_type), Some(key), Some(label), Some(kind), Some(options)) =
        (record_type, key, label, kind, options)
    else {
        return Err(AppError::BadRequest("invalid custom field".into()));
    };
    let new = NewDefinition {
        record_type,
        key,
        label,
        kind,
        options,
        required: body.required,
        position: body.position,
    };
    Ok(store::create(&app.store, actor, &new).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreateField>,
) -> Result<(StatusCode, Json<Definition>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_field(&app, &actor, body).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Definition>, AppError> {
    Ok(Json(store::get(&app.store, &actor, parse_id(&id)?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateField {
    /// Cannot change; accepted only when equal to the current key.
    pub key: Option<String>,
    /// Cannot change; accepted only when equal to the current record type.
    pub record_type: Option<String>,
    pub label: Option<String>,
    /// Only while no record holds a value of this field.
    pub kind: Option<String>,
    /// The whole new list; removing an option records use is a conflict.
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    pub position: Option<i32>,
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateField>,
) -> Result<Json<Definition>, AppError> {
    Ok(Json(
        update_field(&app, &actor, parse_id(&id)?, body).await?,
    ))
}

/// Change a definition (API and the custom fields page).
pub async fn update_field(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    body: UpdateField,
) -> Result<Definition, AppError> {
    let current = store::get(&app.store, actor, id).await?;
    let mut errors = FieldErrors::new();
    if body.key.as_deref().is_some_and(|k| k.trim() != current.key) {
        errors.add("key", "cannot be changed; define a new field instead");
    }
    if body
        .record_type
        .as_deref()
        .is_some_and(|t| t.trim() != current.record_type.as_str())
    {
        errors.add(
            "record_type",
            "cannot be changed; define a new field instead",
        );
    }
    let changes = DefinitionChanges {
        label: body
            .label
            .as_deref()
            .and_then(|l| errors.check("label", rules::parse_label(l))),
        kind: body
            .kind
            .as_deref()
            .and_then(|k| errors.check("kind", k.parse::<CustomFieldKind>())),
        options: body.options,
        required: body.required,
        position: body.position,
    };
    check_position(body.position, &mut errors);
    errors.into_result()?;
    Ok(store::update(&app.store, actor, id, &changes).await?)
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    store::delete(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- What the record areas call -------------------------------------------------------------

/// The caller's company's custom fields of `record_type`, from the process's cache while no
/// change to them (or to anything else of the auth epoch) has committed since they were read
/// (`crate::http::actor_cache`): on PostgreSQL a create then opens one bound transaction, not
/// two.
pub async fn definitions(
    app: &AppState,
    actor: &Actor,
    record_type: RecordType,
) -> Result<Vec<FieldDef>, AppError> {
    let key = (actor.company_id, record_type);
    let epoch = app.store.auth_epoch();
    if let Some(defs) = app.cache.custom_fields.get(&key, epoch) {
        return Ok(defs);
    }
    let read_in = epoch.current();
    let defs = store::defs_of(&app.store, actor, record_type).await?;
    app.cache.custom_fields.put(key, defs.clone(), read_in);
    Ok(defs)
}

/// Check a new record's `custom_fields` (every key defined, values of their kind, required
/// ones present), normalised. The outer error is a database failure; the inner one the field
/// errors, for the caller to report together with its own ([`with_errors`]).
pub async fn check_new(
    app: &AppState,
    actor: &Actor,
    record_type: RecordType,
    values: Option<Map<String, Value>>,
) -> Result<Result<Map<String, Value>, FieldErrors>, AppError> {
    let defs = definitions(app, actor, record_type).await?;
    Ok(validate_custom_fields(
        &defs,
        &values.unwrap_or_default(),
        false,
    ))
}

/// `errors` followed by the custom-field errors of `custom`, if any.
pub fn with_errors<T>(mut errors: FieldErrors, custom: &Result<T, FieldErrors>) -> FieldErrors {
    if let Err(more) = custom {
        errors.0.extend(more.0.iter().cloned());
    }
    errors
}

/// What a patch does to a record's `custom_fields`, checked before the record is touched.
#[derive(Debug, Clone, Default)]
pub enum CustomPatch {
    /// The patch did not send `custom_fields`.
    #[default]
    Keep,
    /// Set these keys (normalised); a `null` removes one.
    Merge(Map<String, Value>),
    /// `custom_fields: null`: remove every value.
    Clear,
}

impl CustomPatch {
    /// Write the record's new `custom_fields` into `merged` (the record as input, the rest of
    /// the patch applied).
    pub fn apply(self, merged: &mut Map<String, Value>) {
        let stored = match merged.get("custom_fields") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let next = match self {
            Self::Keep => return,
            Self::Merge(changes) => merge_custom_fields(&stored, &changes),
            Self::Clear => Map::new(),
        };
        merged.insert("custom_fields".into(), Value::Object(next));
    }
}

/// Take `custom_fields` out of a patch and check it: only the keys sent, each defined and of
/// its kind; a required field may not be cleared. The keys not sent stay as they are.
pub async fn check_patch(
    app: &AppState,
    actor: &Actor,
    record_type: RecordType,
    patch: &mut Map<String, Value>,
) -> Result<CustomPatch, AppError> {
    let Some(sent) = patch.remove("custom_fields") else {
        return Ok(CustomPatch::Keep);
    };
    let defs = definitions(app, actor, record_type).await?;
    match sent {
        Value::Object(changes) => Ok(CustomPatch::Merge(validate_custom_fields(
            &defs, &changes, true,
        )?)),
        Value::Null => {
            validate_custom_fields(&defs, &Map::new(), false)?;
            Ok(CustomPatch::Clear)
        }
        _ => Err(AppError::field("custom_fields", "must be an object")),
    }
}

/// Parse a list's query string with the company's custom fields of `record_type` as `cf.<key>`
/// filters and sort fields. The definitions are read only when the query names a `cf.` field
/// or is refused (so the message lists the custom fields too).
pub async fn list_query<F: Copy>(
    app: &AppState,
    actor: &Actor,
    record_type: RecordType,
    pairs: &[(String, String)],
    specs: &[FieldSpec<F>],
    default_sort: &[SortKey<F>],
) -> Result<ListQuery<F>, AppError> {
    let names_custom = pairs
        .iter()
        .any(|(k, v)| k.starts_with(CUSTOM_PREFIX) || (k == "sort" && v.contains(CUSTOM_PREFIX)));
    if !names_custom && let Ok(query) = ListQuery::parse(pairs, specs, default_sort) {
        return Ok(query);
    }
    let custom: Vec<_> = definitions(app, actor, record_type)
        .await?
        .iter()
        .map(FieldDef::spec)
        .collect();
    ListQuery::parse_with_custom(pairs, specs, default_sort, &custom)
        .map_err(|e| AppError::BadRequest(e.0))
}
