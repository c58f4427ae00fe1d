//! `/assignment-rules` (issue 13 §3): a company's ordered assignment rules — CRUD, reorder,
//! the fallback owner (`/settings`), a dry run (`/test`: which rule matches a record and who
//! would get it, taking no round-robin turn and saving nothing) and `/apply`, which reassigns
//! chosen or filtered leads now. Managing rules is company configuration (Settings read /
//! update); applying them changes leads (Leads update, in the caller's update scope).
//!
//! Every route takes `?entity=` (only `leads` today, the default). Rules are validated by
//! `rivet_domain::assignment`; pools, cursors and the writes are `rivet_store::assignment`.

use crate::api::bulk::{check_ids, typed};
use crate::api::record::ApiRecord;
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id, read_merged};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::assignment::{AssignmentEntity, RuleInput};
use rivet_domain::ids::{AssignmentRuleId, LeadId, UserId};
use rivet_domain::leads::LeadInput;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::assignment::{
    self as store, Applied, Assignment, AssignmentRule, AssignmentSettings,
};
use rivet_store::leads::Lead;
use rivet_store::record::Record;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);
const APPLY: Access = Access::Allow(Resource::Leads, Action::Update);

/// At most this many leads one `apply` by filter reassigns.
pub const MAX_APPLY: usize = 5_000;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/assignment-rules", READ)
                .doc(
                    "assignment-rules",
                    "The company's assignment rules for an entity (?entity=leads, the \
                     default), in order: the first active rule whose conditions all hold \
                     assigns the record",
                )
                .returns_all::<AssignmentRule>(),
            list,
        )
        .add(
            post("/assignment-rules", UPDATE)
                .doc(
                    "assignment-rules",
                    "Add a rule at the end of the order: name, active (default true), \
                     conditions (op equals / in / contains on a field, range with gte and/or \
                     lte on a number field, territory with countries and/or regions, source \
                     with values), action (kind user with user_id; round_robin or \
                     least_loaded with user_ids or team_id) and create_task ({title}: a \
                     follow-up task for the new owner)",
                )
                .body::<RuleInput>()
                .returns::<AssignmentRule>()
                .status(201),
            create,
        )
        .add(
            get("/assignment-rules/settings", READ)
                .doc(
                    "assignment-rules",
                    "The fallback owner of a record no rule matches (null: its creator keeps it)",
                )
                .returns::<AssignmentSettings>(),
            show_settings,
        )
        .add(
            put("/assignment-rules/settings", UPDATE)
                .doc(
                    "assignment-rules",
                    "Set the fallback owner (an active member of the company) or clear it with null",
                )
                .body::<SettingsBody>()
                .returns::<AssignmentSettings>(),
            put_settings,
        )
        .add(
            post("/assignment-rules/reorder", UPDATE)
                .doc(
                    "assignment-rules",
                    "Put the entity's rules in the order of ids, which names each rule exactly once",
                )
                .body::<ReorderBody>()
                .returns_all::<AssignmentRule>(),
            reorder,
        )
        .add(
            post("/assignment-rules/test", READ)
                .doc(
                    "assignment-rules",
                    "Which rule would assign a record (its fields as the entity's API names \
                     them) and to whom, without saving anything or taking a round-robin turn; \
                     assignment is null when no rule matches and there is no fallback owner",
                )
                .body::<TestBody>()
                .returns::<TestResult>(),
            test,
        )
        .add(
            post("/assignment-rules/apply", APPLY)
                .doc(
                    "assignment-rules",
                    "Apply the rules now to leads the caller may update: ids (1 to 500) or \
                     filter (a GET /leads query string, at most 5,000 leads). Each lead the \
                     rules give another owner is reassigned through the lead update (audited, \
                     evented), with the rule's task; the answer says per lead what happened",
                )
                .body::<ApplyBody>()
                .returns_all::<Applied>(),
            apply,
        )
        .add(
            get("/assignment-rules/{id}", READ)
                .doc("assignment-rules", "One assignment rule")
                .returns::<AssignmentRule>(),
            show,
        )
        .add(
            patch("/assignment-rules/{id}", UPDATE)
                .doc(
                    "assignment-rules",
                    "Change a rule: the fields given replace the current ones (conditions and \
                     action as a whole; create_task null removes the task)",
                )
                .body::<RuleInput>()
                .returns::<AssignmentRule>(),
            update,
        )
        .add(
            delete("/assignment-rules/{id}", UPDATE)
                .doc("assignment-rules", "Delete a rule; the ones after it move up")
                .status(204),
            remove,
        )
}

/// The `entity` query parameter (default leads); any other parameter is a 400.
pub fn entity_of(pairs: &[(String, String)]) -> Result<AssignmentEntity, AppError> {
    let mut entity = AssignmentEntity::Leads;
    for (key, value) in pairs {
        match key.as_str() {
            "entity" => {
                entity = value
                    .parse()
                    .map_err(|e: String| AppError::BadRequest(format!("entity {e}")))?;
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "unknown parameter {other}; allowed: entity"
                )));
            }
        }
    }
    Ok(entity)
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<AssignmentRule>>, AppError> {
    let data = store::list(&app.store, &actor, entity_of(&pairs)?).await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

/// Add a rule (API and the editor).
pub async fn create_rule(
    app: &AppState,
    actor: &Actor,
    entity: AssignmentEntity,
    input: RuleInput,
) -> Result<AssignmentRule, AppError> {
    let spec = input.validate(entity)?;
    Ok(store::create(&app.store, actor, entity, &spec).await?)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
    Json(input): Json<RuleInput>,
) -> Result<(StatusCode, Json<AssignmentRule>), AppError> {
    let rule = create_rule(&app, &actor, entity_of(&pairs)?, input).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<AssignmentRule>, AppError> {
    Ok(Json(store::get(&app.store, &actor, parse_id(&id)?).await?))
}

/// Change a rule: what `patch` gives replaces the rule's own (API and the editor).
pub async fn update_rule(
    app: &AppState,
    actor: &Actor,
    id: AssignmentRuleId,
    patch: RuleInput,
) -> Result<AssignmentRule, AppError> {
    Ok(store::update(&app.store, actor, id, |current| {
        let mut merged = current.as_input();
        let RuleInput {
            name,
            active,
            conditions,
            action,
            create_task,
        } = patch;
        merged.name = name.or(merged.name);
        merged.active = active.or(merged.active);
        merged.conditions = conditions.or(merged.conditions);
        merged.action = action.or(merged.action);
        merged.create_task = create_task.or(merged.create_task);
        merged.validate(current.entity)
    })
    .await?)
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(patch): Json<RuleInput>,
) -> Result<Json<AssignmentRule>, AppError> {
    Ok(Json(
        update_rule(&app, &actor, parse_id(&id)?, patch).await?,
    ))
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    store::delete(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderBody {
    /// Every rule of the entity, each once, in the new order.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub ids: Vec<AssignmentRuleId>,
}

async fn reorder(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
    Json(body): Json<ReorderBody>,
) -> Result<Json<Page<AssignmentRule>>, AppError> {
    let data = store::reorder(&app.store, &actor, entity_of(&pairs)?, &body.ids).await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// An active member of the company, or null for none.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub fallback_owner_id: Option<UserId>,
}

async fn show_settings(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<AssignmentSettings>, AppError> {
    Ok(Json(
        store::settings(&app.store, &actor, entity_of(&pairs)?).await?,
    ))
}

async fn put_settings(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
    Json(body): Json<SettingsBody>,
) -> Result<Json<AssignmentSettings>, AppError> {
    let entity = entity_of(&pairs)?;
    Ok(Json(
        store::put_settings(&app.store, &actor, entity, body.fallback_owner_id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// The record's fields as the entity's API names them, e.g.
    /// `{"country": "DE", "employee_count": 250, "source": "web"}`.
    #[schema(value_type = Object)]
    pub record: Map<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// Who would get the record, by which rule (rule_id null: the fallback owner); null when
    /// the creator would keep it.
    pub assignment: Option<Assignment>,
}

/// Which rule would assign `record` and to whom (API and the editor's test box). A field the
/// entity does not have is a 422 naming it.
pub async fn test_record(
    app: &AppState,
    actor: &Actor,
    entity: AssignmentEntity,
    record: &Map<String, Value>,
) -> Result<Option<Assignment>, AppError> {
    let fields = entity.fields();
    let mut errors = FieldErrors::new();
    for key in record.keys() {
        if !fields.iter().any(|(name, _)| name == key) {
            errors.add(&format!("record.{key}"), "is not a field rules can test");
        }
    }
    errors.into_result()?;
    Ok(store::preview(&app.store, actor, entity, record).await?)
}

async fn test(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
    Json(body): Json<TestBody>,
) -> Result<Json<TestResult>, AppError> {
    let entity = entity_of(&pairs)?;
    let assignment = test_record(&app, &actor, entity, &body.record).await?;
    Ok(Json(TestResult { assignment }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    /// 1 to 500 lead ids…
    #[schema(value_type = Option<Vec<uuid::Uuid>>, min_items = 1, max_items = 500)]
    pub ids: Option<Vec<uuid::Uuid>>,
    /// …or the leads a `GET /leads` query string selects (e.g. `status=new&country=DE`).
    pub filter: Option<String>,
}

/// The leads `body` names: its ids, or those its filter lists (at most [`MAX_APPLY`]).
pub(crate) async fn apply_ids(
    app: &AppState,
    actor: &Actor,
    body: ApplyBody,
) -> Result<Vec<LeadId>, AppError> {
    match (body.ids, body.filter) {
        (Some(ids), None) => {
            let mut errors = FieldErrors::new();
            check_ids(&ids, &mut errors);
            errors.into_result()?;
            Ok(typed(&ids))
        }
        (None, Some(filter)) => {
            crate::api::record::selected_ids::<Lead>(app, actor, &filter, "filter", MAX_APPLY).await
        }
        _ => Err(AppError::field("ids", "give ids or filter, one of them")),
    }
}

async fn apply(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<ApplyBody>,
) -> Result<Json<Page<Applied>>, AppError> {
    let ids = apply_ids(&app, &actor, body).await?;
    let data = store::apply_to_leads(&app.store, &actor, &ids, |lead, owner| {
        let mut merged = lead.as_input();
        <Lead as ApiRecord>::before_bulk_merge(&Map::new(), &mut merged);
        merged.insert("owner_id".into(), serde_json::json!(owner));
        let input: LeadInput = read_merged(merged).map_err(rivet_store::StoreError::Invalid)?;
        input.validate().map_err(rivet_store::StoreError::Invalid)
    })
    .await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}
