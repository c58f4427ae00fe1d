//! `/tasks`: list (typed filters, sort, keyset cursor, and the shortcuts `mine=true`,
//! `overdue=true`, `due=today`), create, read, patch, complete, delete, history, and bulk
//! update/delete (the ids checked as the other records' bulk actions check them). Bodies are
//! parsed into `rivet_domain::tasks` types here; scope (the assignee is the owner), the checks of
//! assignee and related record, `completed_at` and audit are the store's. `create_task`,
//! `update_task`, `list_shortcuts` and `company_time_zone` are what the web UI calls too.
//!
//! "Today" is the company's day: from midnight to midnight in its time zone (settings), not UTC.

use crate::api::record::update_record;
use crate::api::record::{self, ApiRecord, BulkFields, Input};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, list_window, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use chrono_tz::Tz;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::UserId;
use rivet_domain::query::ListQuery;
use rivet_domain::query::{FieldSpec, SortKey};
use rivet_domain::tasks::TaskData;
use rivet_domain::tasks::{TASK_DEFAULT_SORT, TASK_FIELDS, TaskInput};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::companies;
use rivet_store::tasks::{self, Task, TaskShortcuts};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Tasks, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Tasks, Action::Update);

impl Input for TaskInput {
    type Data = TaskData;
    fn validate(self) -> Result<TaskData, FieldErrors> {
        TaskInput::validate(self)
    }
}

impl ApiRecord for Task {
    type Input = TaskInput;
    type Bulk = TaskBulkFields;
    const BULK_UPDATE_DOC: &'static str = "Set assignee, status and/or priority on up to 500 tasks, all or nothing; \
         completed_at follows the status as in an update";
    const PATH: &'static str = "/tasks";
    const TAG: &'static str = "tasks";
    const NOUN: &'static str = "task";
    const CUSTOM: Option<RecordType> = None;
    const FIELDS: &'static [FieldSpec<Self::Field>] = TASK_FIELDS;
    const DEFAULT_SORT: &'static [SortKey<Self::Field>] = TASK_DEFAULT_SORT;
    const REQUIRED_ON_PATCH: &'static [&'static str] =
        &["subject", "priority", "status", "assignee_id"];
    const LIST_DOC: &'static str = "List tasks: filters status, status[in], priority, priority[in], \
                     assignee_id, assignee_id[in], related_type, related_type[in|empty], \
                     related_id, related_id[in|empty], due_at[gte|lte|empty], \
                     created_at[gte|lte], updated_at[gte|lte]; mine=true (assigned to the \
                     caller), overdue=true (due before now, open or in progress), due=today \
                     (due today in the company's time zone, from its settings); sort by any \
                     of these, or subject (-field for descending; default due_at, undated last); q is a \
                     case-insensitive substring of the subject";
    const CREATE_DOC: &'static str = "Create a task; without assignee_id the caller is assigned. related_type \
         and related_id name a lead, contact, account or deal of the company";
    const PATCH_DOC: &'static str = "Change a task: only the fields sent; null clears an optional field; \
         completed_at follows the status";

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
    record::routes::<Task>()
        .add(
            get("/tasks", READ)
                .doc(
                    "tasks",
                    "List tasks: filters status, status[in], priority, priority[in], \
                     assignee_id, assignee_id[in], related_type, related_type[in|empty], \
                     related_id, related_id[in|empty], due_at[gte|lte|empty], \
                     created_at[gte|lte], updated_at[gte|lte]; mine=true (assigned to the \
                     caller), overdue=true (due before now, open or in progress), due=today \
                     (due today in the company's time zone, from its settings); sort by any \
                     of these, or subject (-field for descending; default due_at, undated last); q is a \
                     case-insensitive substring of the subject",
                )
                .returns_page::<Task>(),
            record::list::<Task>,
        )
        .add(
            post("/tasks/{id}/complete", UPDATE)
                .doc("tasks", "Mark a task completed (sets completed_at)")
                .returns::<Task>(),
            complete,
        )
}

/// Take a `true`/`false` parameter out of the pairs.
fn take_flag(pairs: &mut Vec<(String, String)>, name: &str) -> Result<bool, AppError> {
    let mut value = false;
    let mut error = None;
    pairs.retain(|(k, v)| {
        if k != name {
            return true;
        }
        match v.as_str() {
            "true" => value = true,
            "false" => value = false,
            _ => error = Some(format!("{name} must be true or false")),
        }
        false
    });
    match error {
        Some(message) => Err(AppError::BadRequest(message)),
        None => Ok(value),
    }
}

/// A time zone by its IANA name; a name the database does not know (settings only check the
/// shape of the name) counts as UTC.
pub fn time_zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// The caller's company's time zone: where its days start and end.
pub async fn company_time_zone(app: &AppState, actor: &Actor) -> Result<Tz, AppError> {
    Ok(time_zone(
        &companies::get(&app.store, actor).await?.timezone,
    ))
}

/// Take `mine`, `overdue` and `due` out of the pairs, leaving the field filters (API and web
/// list). `due=today` is the company's today.
pub async fn list_shortcuts(
    app: &AppState,
    actor: &Actor,
    pairs: &mut Vec<(String, String)>,
) -> Result<TaskShortcuts, AppError> {
    let mine = take_flag(pairs, "mine")?;
    let overdue = take_flag(pairs, "overdue")?;
    let mut due_today = false;
    let mut error = None;
    pairs.retain(|(k, v)| {
        if k != "due" {
            return true;
        }
        if v == "today" {
            due_today = true;
        } else {
            error = Some("due must be today".to_owned());
        }
        false
    });
    if let Some(message) = error {
        return Err(AppError::BadRequest(message));
    }
    let due_today = if due_today {
        Some(company_time_zone(app, actor).await?)
    } else {
        None
    };
    Ok(TaskShortcuts {
        mine,
        overdue,
        due_today,
    })
}

/// A page of tasks: the field filters, and the shortcuts over them.
async fn list_page(
    app: &AppState,
    actor: &Actor,
    mut pairs: Vec<(String, String)>,
) -> Result<Page<Task>, AppError> {
    let shortcuts = list_shortcuts(app, actor, &mut pairs).await?;
    let query = ListQuery::parse(&pairs, TASK_FIELDS, TASK_DEFAULT_SORT)
        .map_err(|e| AppError::BadRequest(e.0))?;
    let (limit, after) = list_window(&pairs, |c| {
        rivet_store::query::decode_cursor(&query.sort, c)
    })?;
    Ok(tasks::list(&app.store, actor, &query, shortcuts, limit, after.as_ref()).await?)
}

async fn complete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Task>, AppError> {
    let id = parse_id(&id)?;
    let mut patch = Map::new();
    patch.insert("status".into(), json!("completed"));
    Ok(Json(update_record::<Task>(&app, &actor, id, patch).await?))
}

/// What a bulk update sets; at least one field.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskBulkFields {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub assignee_id: Option<UserId>,
    /// open, in_progress, completed or cancelled.
    pub status: Option<String>,
    /// low, normal, high or urgent.
    pub priority: Option<String>,
}

impl BulkFields for TaskBulkFields {
    const NAMES: &'static [&'static str] = &["assignee_id", "status", "priority"];
}
