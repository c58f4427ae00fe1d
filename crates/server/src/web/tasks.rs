//! The tasks pages: the list (tabs "My tasks", "Overdue", "Due today" and "All", the saved views
//! bar, a filter bar, sortable columns, keyset pages, a one-click "Complete" per open task, and
//! bulk assignee / status / priority / delete with a confirmation step) and the create and edit
//! form. The list reads the same query string as `GET /api/v1/tasks` (the leads page's helpers
//! turn the filter bar into it, `crate::api::tasks::list_shortcuts` reads the shortcuts); every
//! change goes through `crate::api::tasks::{create_task, update_task}` or the store's functions.
//!
//! The tab is the page's own parameter `tab=mine|overdue|today|all` (`view` is the views bar's;
//! old `?view=overdue` links still open their tab): [`list_pairs`] turns it into the API's
//! shortcuts, and [`page_pairs`] turns a saved view's shortcuts back into the tab.
//!
//! Dates and times are shown and typed in the company's time zone (its settings), and "Due
//! today" is the company's today; the API stores UTC.

use super::detail::record_path;
use super::form::text;
use super::list::{
    ConfirmDeletePage, ListLinks, Owners, Selection, SortHeader, api_pairs, bulk_done,
    choice_options, value_of,
};
use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, capitalise, safe_next,
    with_query,
};
use super::views_bar::ListSpec;
use crate::api::record::{create_record, update_record};
use crate::api::tasks::{company_time_zone, list_shortcuts};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rivet_domain::activities::RecordType;
use rivet_domain::ids::UserId;
use rivet_domain::query::ListQuery;
use rivet_domain::tasks::{
    TASK_DEFAULT_SORT, TASK_FIELDS, TaskField, TaskInput, TaskPriority, TaskStatus,
};
use rivet_domain::{Action, Resource, Scope};
use rivet_store::record;
use rivet_store::tasks::{self, Task};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

const PAGE_SIZE: u64 = 50;

/// The form fields a validation message can sit next to (the API's `due_at` and `reminder_at`
/// are shown at their date inputs).
const FORM_FIELDS: &[&str] = &[
    "subject",
    "description",
    "due_date",
    "due_time",
    "reminder_date",
    "reminder_time",
    "priority",
    "status",
    "assignee_id",
    "related_type",
    "related_id",
];

/// When a date is typed without a time: a task is due at the end of the working day, a reminder
/// comes at its start.
const DEFAULT_DUE_TIME: NaiveTime = match NaiveTime::from_hms_opt(17, 0, 0) {
    Some(time) => time,
    None => NaiveTime::MIN,
};
const DEFAULT_REMINDER_TIME: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(time) => time,
    None => NaiveTime::MIN,
};

fn status_label(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Open => "Open",
        TaskStatus::InProgress => "In progress",
        TaskStatus::Completed => "Completed",
        TaskStatus::Cancelled => "Cancelled",
    }
}

fn priority_label(priority: TaskPriority) -> &'static str {
    match priority {
        TaskPriority::Low => "Low",
        TaskPriority::Normal => "Normal",
        TaskPriority::High => "High",
        TaskPriority::Urgent => "Urgent",
    }
}

fn record_label(record: RecordType) -> &'static str {
    match record {
        RecordType::Lead => "Lead",
        RecordType::Contact => "Contact",
        RecordType::Account => "Account",
        RecordType::Deal => "Deal",
    }
}

const STATUSES: &[TaskStatus] = &[
    TaskStatus::Open,
    TaskStatus::InProgress,
    TaskStatus::Completed,
    TaskStatus::Cancelled,
];

const PRIORITIES: &[TaskPriority] = &[
    TaskPriority::Low,
    TaskPriority::Normal,
    TaskPriority::High,
    TaskPriority::Urgent,
];

const RECORDS: &[RecordType] = &[
    RecordType::Lead,
    RecordType::Contact,
    RecordType::Account,
    RecordType::Deal,
];

fn status_options(first: Option<&str>, selected: &str) -> Vec<Opt> {
    choice_options(first, STATUSES, TaskStatus::as_str, status_label, selected)
}

fn priority_options(first: Option<&str>, selected: &str) -> Vec<Opt> {
    choice_options(
        first,
        PRIORITIES,
        TaskPriority::as_str,
        priority_label,
        selected,
    )
}

fn record_options(selected: &str) -> Vec<Opt> {
    choice_options(
        Some("Nothing"),
        RECORDS,
        RecordType::as_str,
        record_label,
        selected,
    )
}

/// Open or in progress.
fn is_pending(task: &Task) -> bool {
    TaskStatus::PENDING.contains(&task.status)
}

fn local(at: &DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

// ---------------------------------------------------------------------------------------------
// The list

/// The page's parameter naming the tab.
pub(super) const TAB_PARAM: &str = "tab";
/// The tab's old name, now the views bar's parameter (`view=all`: the whole list, no default).
const OLD_TAB_PARAM: &str = "view";
/// `select=all` ticks every row of the page: a link, so it works without a script.
const SELECT_PARAM: &str = "select";

/// The tabs of the list: which shortcuts of the API each one adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    /// Assigned to the caller and still to do (unless a status is chosen).
    Mine,
    Overdue,
    DueToday,
    All,
}

impl Tab {
    const TABS: &'static [(Tab, &'static str, &'static str)] = &[
        (Tab::Mine, "mine", "My tasks"),
        (Tab::Overdue, "overdue", "Overdue"),
        (Tab::DueToday, "today", "Due today"),
        (Tab::All, "all", "All"),
    ];

    fn parse(text: &str) -> Option<Self> {
        match text {
            "" => Some(Self::Mine),
            _ => Self::TABS
                .iter()
                .find(|(_, name, _)| *name == text)
                .map(|(tab, _, _)| *tab),
        }
    }

    fn name(self) -> &'static str {
        Self::TABS
            .iter()
            .find(|(tab, _, _)| *tab == self)
            .map_or("mine", |(_, name, _)| name)
    }

    /// The API's parameters for this tab. Overdue and due today are the caller's own tasks
    /// unless the filter bar names an assignee (or there is no one else to see).
    fn pairs(self, raw: &[(String, String)]) -> Vec<(String, String)> {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let assignee = !value_of(raw, "assignee_id").is_empty();
        let mut out = Vec::new();
        match self {
            Self::Mine => {
                out.push(pair("mine", "true"));
                if value_of(raw, "status").is_empty() {
                    let pending: Vec<&str> =
                        TaskStatus::PENDING.iter().map(|s| s.as_str()).collect();
                    out.push(pair("status[in]", &pending.join(",")));
                }
            }
            Self::Overdue => out.push(pair("overdue", "true")),
            Self::DueToday => out.push(pair("due", "today")),
            Self::All => {}
        }
        if matches!(self, Self::Overdue | Self::DueToday) && !assignee {
            out.push(pair("mine", "true"));
        }
        out
    }
}

pub struct TabLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct TaskRow {
    pub id: Uuid,
    pub subject: String,
    pub due: String,
    pub overdue: bool,
    pub priority: &'static str,
    pub priority_label: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub related_label: &'static str,
    pub related_href: Option<String>,
    pub assignee: String,
    pub can_complete: bool,
}

/// The sortable columns: label, API field, and whether a first click sorts descending.
const SORT_COLUMNS: &[(&str, &str, bool)] = &[
    ("Due", "due_at", false),
    ("Subject", "subject", false),
    ("Priority", "priority", true),
    ("Related to", "related_type", false),
    ("Assignee", "assignee_id", false),
];

#[derive(Template)]
#[template(path = "web/tasks.html")]
struct ListPage {
    layout: Layout,
    views: super::views_bar::ViewsBar,
    tabs: Vec<TabLink>,
    tab: &'static str,
    heading: &'static str,
    rows: Vec<TaskRow>,
    headers: Vec<SortHeader>,
    q: String,
    status_filter: Vec<Opt>,
    priority_filter: Vec<Opt>,
    /// Only when the caller sees others' tasks, and not on "My tasks".
    assignee_filter: Option<Vec<Opt>>,
    filtered: bool,
    clear_href: String,
    errors: FormErrors,
    first_href: Option<String>,
    next_href: Option<String>,
    back: String,
    can_create: bool,
    can_update: bool,
    can_delete: bool,
    bulk_assignee: Vec<Opt>,
    bulk_status: Vec<Opt>,
    bulk_priority: Vec<Opt>,
    /// Every row ticked (`select=all`), and the link that ticks them.
    select_all: bool,
    select_href: String,
    time_zone: String,
}

/// Old links named the tab `view`: read `view=mine|overdue|today` as the tab, and `view=all` as
/// the "All" tab too (it stays for the views bar, where it means "not the default view").
fn read_old_tab_param(raw: &mut Vec<(String, String)>) {
    for (key, value) in raw.iter_mut() {
        if key == OLD_TAB_PARAM && value != "all" {
            *key = TAB_PARAM.to_owned();
        }
    }
    let all = raw.iter().any(|(k, v)| k == OLD_TAB_PARAM && v == "all");
    if all && value_of(raw, TAB_PARAM).is_empty() {
        raw.push((TAB_PARAM.to_owned(), "all".to_owned()));
    }
}

/// The page's parameters with the tab spelled out ("My tasks" when none is named), so that a
/// page and a saved view compare equal whichever way the tab was reached.
pub(super) fn name_tab(raw: &mut Vec<(String, String)>) {
    if value_of(raw, TAB_PARAM).is_empty() {
        raw.retain(|(k, _)| k != TAB_PARAM);
        raw.push((TAB_PARAM.to_owned(), Tab::Mine.name().to_owned()));
    }
}

/// What the views bar's "All" shows: the "All" tab without filters.
pub(super) fn whole_list() -> Vec<(String, String)> {
    vec![(TAB_PARAM.to_owned(), Tab::All.name().to_owned())]
}

/// The page's query string as the API's: the filter bar's fields, and the tab as the API's
/// shortcuts (what the list asks for, and what a saved view stores).
pub(super) fn list_pairs(
    raw: &[(String, String)],
    errors: &mut FormErrors,
) -> Vec<(String, String)> {
    match Tab::parse(value_of(raw, TAB_PARAM)) {
        Some(tab) => tab_list_pairs(tab, raw, errors),
        None => {
            errors.add_general("Tab must be mine, overdue, today or all");
            Vec::new()
        }
    }
}

fn tab_list_pairs(
    tab: Tab,
    raw: &[(String, String)],
    errors: &mut FormErrors,
) -> Vec<(String, String)> {
    let filters: Vec<(String, String)> = raw
        .iter()
        .filter(|(k, _)| k != TAB_PARAM)
        .cloned()
        .collect();
    let mut pairs = api_pairs(&filters, errors);
    pairs.extend(tab.pairs(raw));
    pairs
}

/// A saved view's query (the API's) as the page's parameters: the first tab whose shortcuts
/// the query holds (the narrowest first, "All", which adds none, last), and the rest as it is
/// — the page hands what it has no field for on to the list — so the view opens on its tab
/// with the same rows.
pub(super) fn page_pairs(api: Vec<(String, String)>) -> Vec<(String, String)> {
    for tab in [Tab::Overdue, Tab::DueToday, Tab::Mine, Tab::All] {
        let shortcuts = tab.pairs(&api);
        if !shortcuts.iter().all(|p| api.contains(p)) {
            continue;
        }
        let mut rest = api.clone();
        for pair in &shortcuts {
            if let Some(at) = rest.iter().position(|p| p == pair) {
                rest.remove(at);
            }
        }
        let mut out = vec![(TAB_PARAM.to_owned(), tab.name().to_owned())];
        out.extend(rest);
        return out;
    }
    api
}

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec {
    page_pairs: |pairs, _| page_pairs(pairs),
    whole_list,
    name_tab,
    ..ListSpec::plain(Resource::Tasks, "/tasks")
};

pub async fn index(
    ctx: Ctx,
    WebQuery(mut raw): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let sees_others = ctx.actor.scope(Resource::Tasks, Action::Read) != Scope::Own;
    read_old_tab_param(&mut raw);
    let select_all = value_of(&raw, SELECT_PARAM) == "all";
    raw.retain(|(k, _)| k != SELECT_PARAM);
    // Names the tab in `raw` (and opens the default view when there is no query).
    let views = super::views_bar::bar(&ctx, &PAGE, &mut raw).await?;
    // "All" is offered only to who sees others' tasks; for anyone else it is their own anyway.
    let tab = Tab::parse(value_of(&raw, TAB_PARAM)).ok_or_else(|| {
        ctx.fail(AppError::BadRequest(
            "tab must be mine, overdue, today or all".into(),
        ))
    })?;
    let tz = company_time_zone(&ctx.app, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let mut errors = FormErrors::new();
    let mut pairs = tab_list_pairs(tab, &raw, &mut errors);
    let owners = Owners::load(&ctx).await?;
    let shortcuts = match list_shortcuts(&ctx.app, &ctx.actor, &mut pairs).await {
        Ok(shortcuts) => Some(shortcuts),
        Err(AppError::BadRequest(message)) => {
            errors.add_general(capitalise(&message));
            None
        }
        Err(err) => return Err(ctx.fail(err)),
    };
    let parsed = match ListQuery::<TaskField>::parse(&pairs, TASK_FIELDS, TASK_DEFAULT_SORT) {
        Ok(query) => Some(query),
        Err(e) => {
            errors.add_general(capitalise(&e.0));
            None
        }
    };
    let cursor = value_of(&raw, "cursor");
    let mut rows = Vec::new();
    let mut next_cursor = None;
    if let (Some(query), Some(shortcuts), true) = (&parsed, shortcuts, errors.is_empty()) {
        let after = match cursor {
            "" => None,
            text => Some(
                rivet_store::query::decode_cursor(&query.sort, text).ok_or_else(|| {
                    ctx.fail(AppError::BadRequest("the page link is not valid".into()))
                })?,
            ),
        };
        let page = tasks::list(
            &ctx.app.store,
            &ctx.actor,
            query,
            shortcuts,
            PAGE_SIZE,
            after.as_ref(),
        )
        .await
        .or_page(&ctx)?;
        let now = Utc::now();
        let can_update = ctx.can(Resource::Tasks, Action::Update);
        rows = page
            .data
            .iter()
            .map(|task| TaskRow {
                id: task.id.uuid(),
                subject: task.subject.clone(),
                due: task.due_at.map(|at| local(&at, tz)).unwrap_or_default(),
                overdue: is_pending(task) && task.due_at.is_some_and(|at| at < now),
                priority: task.priority.as_str(),
                priority_label: priority_label(task.priority),
                status: task.status.as_str(),
                status_label: status_label(task.status),
                related_label: task.related_type.map_or("", record_label),
                related_href: task
                    .related_type
                    .zip(task.related_id)
                    .map(|(t, id)| record_path(t, id)),
                assignee: owners.name(task.assignee_id),
                can_complete: can_update && is_pending(task),
            })
            .collect();
        next_cursor = page.next_cursor;
    }
    // Links keep the tab; the list is sorted by due date unless a column says otherwise.
    let mut kept = raw.clone();
    if value_of(&raw, "sort").is_empty() {
        kept.push(("sort".into(), "due_at".into()));
    }
    let links = ListLinks::new("/tasks", &kept, SORT_COLUMNS, next_cursor);
    let here = with_query("/tasks", &[(TAB_PARAM, tab.name())]);
    let select_href = format!(
        "{}{}{SELECT_PARAM}=all",
        links.back,
        if links.back.contains('?') { '&' } else { '?' }
    );
    let filtered = ["status", "priority", "assignee_id", "q"]
        .iter()
        .any(|k| !value_of(&raw, k).is_empty());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let tabs = Tab::TABS
        .iter()
        .filter(|(v, _, _)| *v != Tab::All || sees_others)
        .map(|(v, name, label)| TabLink {
            label,
            href: with_query("/tasks", &[(TAB_PARAM, name)]),
            current: *v == tab,
        })
        .collect();
    let heading = Tab::TABS
        .iter()
        .find(|(v, _, _)| *v == tab)
        .map_or("My tasks", |(_, _, label)| label);
    let page = ListPage {
        layout: ctx.layout("Tasks"),
        views,
        tabs,
        tab: tab.name(),
        heading,
        rows,
        headers: links.headers,
        q: value_of(&raw, "q").to_owned(),
        status_filter: status_options(Some("Any status"), value_of(&raw, "status")),
        priority_filter: priority_options(Some("Any priority"), value_of(&raw, "priority")),
        assignee_filter: (sees_others && tab != Tab::Mine)
            .then(|| owners.options(Some("Anyone"), value_of(&raw, "assignee_id"))),
        filtered,
        clear_href: here,
        errors,
        first_href: links.first_href,
        next_href: links.next_href,
        back: links.back,
        can_create: ctx.can(Resource::Tasks, Action::Create),
        can_update: ctx.can(Resource::Tasks, Action::Update),
        can_delete: ctx.can(Resource::Tasks, Action::Delete),
        bulk_assignee: owners.options(Some("Choose an assignee"), ""),
        bulk_status: status_options(Some("Choose a status"), ""),
        bulk_priority: priority_options(Some("Choose a priority"), ""),
        select_all,
        select_href,
        time_zone: tz.name().to_owned(),
    };
    Ok(ctx.render_status(status, &page))
}

/// One post for the bulk actions (which button was pressed is `action`); deleting first shows a
/// page that asks, and deletes only when that page's button sends `confirm=yes`.
pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let Selection { back, action, ids } =
        match Selection::read(&ctx, &form, "/tasks", Resource::Tasks, ("task", "tasks"))? {
            Ok(selection) => selection,
            Err(refused) => return Ok(refused),
        };
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let count = ids.len();
    let plural = |n: usize| format!("{n} task{}", if n == 1 { "" } else { "s" });
    let field = |name: &str| value_of(&form, name);
    let result = match action.as_str() {
        "delete" if field("confirm") == "yes" => record::bulk_delete::<Task>(store, actor, &ids)
            .await
            .map(|n| format!("Deleted {}.", plural(usize::try_from(n).unwrap_or(count)))),
        "delete" => {
            let mut names = Vec::new();
            for id in ids.iter().take(20) {
                names.push(
                    record::get::<Task>(store, actor, *id)
                        .await
                        .or_page(&ctx)?
                        .subject,
                );
            }
            let page = ConfirmDeletePage {
                layout: ctx.layout("Delete tasks"),
                path: "/tasks",
                title: "Tasks",
                noun: "task",
                nouns: "tasks",
                ids,
                names,
                back,
            };
            return Ok(ctx.render(&page));
        }
        "assignee" => {
            let Ok(assignee) = field("assignee_id").parse::<UserId>() else {
                return Ok(ctx.refused(&back, "Choose the new assignee first."));
            };
            let set = tasks::BulkSet {
                assignee_id: Some(assignee),
                ..tasks::BulkSet::default()
            };
            tasks::bulk_update(store, actor, &ids, &set)
                .await
                .map(|done| format!("Changed the assignee of {}.", plural(done.len())))
        }
        "status" => {
            let Ok(status) = field("status").parse::<TaskStatus>() else {
                return Ok(ctx.refused(&back, "Choose the new status first."));
            };
            let set = tasks::BulkSet {
                status: Some(status),
                ..tasks::BulkSet::default()
            };
            tasks::bulk_update(store, actor, &ids, &set)
                .await
                .map(|done| {
                    format!(
                        "Set {} to {}.",
                        plural(done.len()),
                        status_label(status).to_lowercase()
                    )
                })
        }
        "priority" => {
            let Ok(priority) = field("priority").parse::<TaskPriority>() else {
                return Ok(ctx.refused(&back, "Choose the new priority first."));
            };
            let set = tasks::BulkSet {
                priority: Some(priority),
                ..tasks::BulkSet::default()
            };
            tasks::bulk_update(store, actor, &ids, &set)
                .await
                .map(|done| {
                    format!(
                        "Set the priority of {} to {}.",
                        plural(done.len()),
                        priority_label(priority).to_lowercase()
                    )
                })
        }
        _ => return Err(ctx.fail(AppError::BadRequest("unknown bulk action".into()))),
    };
    bulk_done(&ctx, &back, result)
}

/// Where a button on the list returns to: the list page it was pressed on.
fn back_to_list(form: &[(String, String)]) -> String {
    let back = safe_next(value_of(form, "back"));
    if back == "/tasks" || back.starts_with("/tasks?") {
        back
    } else {
        "/tasks".into()
    }
}

/// The "Complete" button of a row.
pub async fn complete(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let back = back_to_list(&form);
    let mut patch = Map::new();
    patch.insert("status".into(), Value::from(TaskStatus::Completed.as_str()));
    match update_record::<Task>(&ctx.app, &ctx.actor, id, patch).await {
        Ok(task) => Ok(ctx.done(&back, format!("Completed “{}”.", task.subject))),
        Err(err) => {
            let mut errors = FormErrors::new();
            errors.absorb(err, &[]).or_page(&ctx)?;
            Ok(ctx.refused(&back, errors.general.join(" ")))
        }
    }
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let task = record::get::<Task>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    record::delete::<Task>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done("/tasks", format!("Deleted the task “{}”.", task.subject)))
}

// ---------------------------------------------------------------------------------------------
// The form

/// The form as typed: plain strings, so a bad value comes back next to its field. Dates and
/// times are the company's local ones.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct TaskForm {
    subject: String,
    description: String,
    due_date: String,
    due_time: String,
    reminder_date: String,
    reminder_time: String,
    priority: String,
    status: String,
    assignee_id: String,
    related_type: String,
    related_id: String,
    /// Where to go after saving (the record page the form was opened from, or the list).
    back: String,
}

/// `?related_type=&related_id=` of the new-task link on a record's page.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    related_type: String,
    related_id: String,
}

/// A local date and time typed into the form as UTC RFC 3339, `null` when the date is empty.
/// Errors sit next to the date (unreadable date, or a time the clocks skip) or the time.
fn local_time_json(
    tz: Tz,
    (date_field, date): (&str, &str),
    (time_field, time): (&str, &str),
    default_time: NaiveTime,
    errors: &mut FormErrors,
) -> Value {
    let (date, time) = (date.trim(), time.trim());
    if date.is_empty() {
        if !time.is_empty() {
            errors.add(date_field, "is needed with a time");
        }
        return Value::Null;
    }
    let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
        errors.add(date_field, "must be a date such as 2026-01-31");
        return Value::Null;
    };
    let clock = if time.is_empty() {
        default_time
    } else {
        match NaiveTime::parse_from_str(time, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"))
        {
            Ok(clock) => clock,
            Err(_) => {
                errors.add(time_field, "must be a time such as 14:30");
                return Value::Null;
            }
        }
    };
    match tz.from_local_datetime(&day.and_time(clock)).earliest() {
        Some(at) => Value::String(
            at.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        None => {
            errors.add(
                time_field,
                format!(
                    "does not exist on that day in {} (the clocks change)",
                    tz.name()
                ),
            );
            Value::Null
        }
    }
}

/// A local date (`YYYY-MM-DD`) at the default due time, as UTC RFC 3339: the quick-add's date.
pub(super) fn due_on(tz: Tz, date: &str) -> Option<String> {
    let mut errors = FormErrors::new();
    let at = local_time_json(
        tz,
        ("due_date", date),
        ("due_time", ""),
        DEFAULT_DUE_TIME,
        &mut errors,
    );
    at.as_str().map(str::to_owned)
}

/// A UTC time as the form's local date and time.
fn local_parts(at: Option<DateTime<Utc>>, tz: Tz) -> (String, String) {
    at.map(|at| {
        let at = at.with_timezone(&tz);
        (
            at.format("%Y-%m-%d").to_string(),
            at.format("%H:%M").to_string(),
        )
    })
    .unwrap_or_default()
}

/// An id typed into the form; blank is `null`.
fn id_json(text: &str, field: &str, message: &str, errors: &mut FormErrors) -> Value {
    let text = text.trim();
    if text.is_empty() {
        return Value::Null;
    }
    match Uuid::parse_str(text) {
        Ok(id) => Value::String(id.to_string()),
        Err(_) => {
            errors.add(field, message);
            Value::Null
        }
    }
}

impl TaskForm {
    fn of(task: &Task, tz: Tz) -> Self {
        let (due_date, due_time) = local_parts(task.due_at, tz);
        let (reminder_date, reminder_time) = local_parts(task.reminder_at, tz);
        Self {
            subject: task.subject.clone(),
            description: text(&task.description),
            due_date,
            due_time,
            reminder_date,
            reminder_time,
            priority: task.priority.as_str().to_owned(),
            status: task.status.as_str().to_owned(),
            assignee_id: task.assignee_id.to_string(),
            related_type: task
                .related_type
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            related_id: task.related_id.map(|id| id.to_string()).unwrap_or_default(),
            back: String::new(),
        }
    }

    /// The form as the API's JSON body (a full set of the form's fields): what the shared
    /// create and update functions take. What only the form knows (local dates and times, ids
    /// typed as text) is checked here, next to its field.
    fn as_json(&self, tz: Tz, errors: &mut FormErrors) -> Map<String, Value> {
        let mut map = Map::new();
        for (field, value) in [
            ("subject", &self.subject),
            ("description", &self.description),
            ("priority", &self.priority),
            ("status", &self.status),
            ("related_type", &self.related_type),
        ] {
            map.insert(field.into(), Value::String(value.trim().to_owned()));
        }
        for (field, date, time, default) in [
            (
                "due_at",
                ("due_date", &self.due_date),
                ("due_time", &self.due_time),
                DEFAULT_DUE_TIME,
            ),
            (
                "reminder_at",
                ("reminder_date", &self.reminder_date),
                ("reminder_time", &self.reminder_time),
                DEFAULT_REMINDER_TIME,
            ),
        ] {
            let at = local_time_json(tz, (date.0, date.1), (time.0, time.1), default, errors);
            map.insert(field.into(), at);
        }
        // Left empty, the assignee stays (or is the caller on a new task).
        let assignee = id_json(
            &self.assignee_id,
            "assignee_id",
            "is not a member of this company",
            errors,
        );
        if !assignee.is_null() {
            map.insert("assignee_id".into(), assignee);
        }
        let related = id_json(
            &self.related_id,
            "related_id",
            "must be the id of a record",
            errors,
        );
        map.insert("related_id".into(), related);
        map
    }
}

/// The API names the times `due_at` and `reminder_at`; the form shows them at the date inputs.
fn absorb(errors: &mut FormErrors, err: AppError) -> Result<(), AppError> {
    let err = match err {
        AppError::Validation(mut list) => {
            for e in &mut list.0 {
                if let Some(field) = match e.field.as_str() {
                    "due_at" => Some("due_date"),
                    "reminder_at" => Some("reminder_date"),
                    _ => None,
                } {
                    e.field = field.into();
                }
            }
            AppError::Validation(list)
        }
        other => other,
    };
    errors.absorb(err, FORM_FIELDS)
}

#[derive(Template)]
#[template(path = "web/tasks_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    cancel: String,
    submit: &'static str,
    form: TaskForm,
    priority_options: Vec<Opt>,
    status_options: Vec<Opt>,
    assignee_options: Vec<Opt>,
    related_options: Vec<Opt>,
    time_zone: String,
    /// The edit page's delete button.
    delete_action: Option<String>,
    errors: FormErrors,
}

/// What the form page differs in: new or edit.
struct FormKind {
    heading: String,
    action: String,
    cancel: String,
    submit: &'static str,
    delete_action: Option<String>,
}

impl FormKind {
    fn new(cancel: String) -> Self {
        Self {
            heading: "New task".into(),
            action: "/tasks/new".into(),
            cancel,
            submit: "Create task",
            delete_action: None,
        }
    }

    fn edit(ctx: &Ctx, task: &Task) -> Self {
        Self {
            heading: format!("Edit “{}”", task.subject),
            action: format!("/tasks/{}/edit", task.id),
            cancel: "/tasks".into(),
            submit: "Save changes",
            delete_action: ctx
                .can(Resource::Tasks, Action::Delete)
                .then(|| format!("/tasks/{}/delete", task.id)),
        }
    }
}

async fn form_page(
    ctx: &Ctx,
    kind: FormKind,
    form: TaskForm,
    tz: Tz,
    errors: FormErrors,
) -> Result<FormPage, WebError> {
    let owners = Owners::load(ctx).await?;
    let assignee = if form.assignee_id.is_empty() {
        ctx.actor.user_id.to_string()
    } else {
        form.assignee_id.clone()
    };
    let or = |value: &str, default: &'static str| {
        if value.is_empty() {
            default.to_owned()
        } else {
            value.to_owned()
        }
    };
    Ok(FormPage {
        layout: ctx.layout(kind.heading.clone()),
        heading: kind.heading,
        action: kind.action,
        cancel: kind.cancel,
        submit: kind.submit,
        priority_options: priority_options(None, &or(&form.priority, "normal")),
        status_options: status_options(None, &or(&form.status, "open")),
        assignee_options: owners.options(None, &assignee),
        related_options: record_options(&form.related_type),
        time_zone: tz.name().to_owned(),
        delete_action: kind.delete_action,
        form,
        errors,
    })
}

/// The record a new task is about, from the link on its page; the form returns there.
fn prefill(query: NewQuery) -> (TaskForm, String) {
    let record = query
        .related_type
        .parse::<RecordType>()
        .ok()
        .zip(Uuid::parse_str(query.related_id.trim()).ok());
    let back = record.map_or_else(|| "/tasks".to_owned(), |(t, id)| record_path(t, id));
    let form = TaskForm {
        related_type: record
            .map(|(t, _)| t.as_str().to_owned())
            .unwrap_or_default(),
        related_id: record.map(|(_, id)| id.to_string()).unwrap_or_default(),
        back: back.clone(),
        ..TaskForm::default()
    };
    (form, back)
}

pub async fn new(ctx: Ctx, WebQuery(query): WebQuery<NewQuery>) -> Result<Response, WebError> {
    let tz = company_time_zone(&ctx.app, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let (form, back) = prefill(query);
    let page = form_page(&ctx, FormKind::new(back), form, tz, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<TaskForm>) -> Result<Response, WebError> {
    let tz = company_time_zone(&ctx.app, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let back = match safe_next(&form.back) {
        back if back == "/" => "/tasks".to_owned(),
        back => back,
    };
    let mut errors = FormErrors::new();
    let body = form.as_json(tz, &mut errors);
    if errors.is_empty() {
        let input: Result<TaskInput, AppError> = serde_json::from_value(Value::Object(body))
            .map_err(|e| AppError::BadRequest(e.to_string()));
        let result = match input {
            Ok(input) => create_record::<Task>(&ctx.app, &ctx.actor, input).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(task) => {
                return Ok(ctx.done(&back, format!("Created the task “{}”.", task.subject)));
            }
            Err(err) => absorb(&mut errors, err).or_page(&ctx)?,
        }
    }
    let page = form_page(&ctx, FormKind::new(back), form, tz, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The task the edit form is about (the router has checked that the caller may change tasks;
/// this one must be readable to them), and the company's time zone.
async fn editable(ctx: &Ctx, id: &str) -> Result<(Task, Tz), WebError> {
    let id = parse_id(id).or_page(ctx)?;
    let tz = company_time_zone(&ctx.app, &ctx.actor).await.or_page(ctx)?;
    let task = record::get::<Task>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)?;
    Ok((task, tz))
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let (task, tz) = editable(&ctx, &id).await?;
    let kind = FormKind::edit(&ctx, &task);
    let page = form_page(&ctx, kind, TaskForm::of(&task, tz), tz, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<TaskForm>,
) -> Result<Response, WebError> {
    let (task, tz) = editable(&ctx, &id).await?;
    let mut errors = FormErrors::new();
    let patch = form.as_json(tz, &mut errors);
    if errors.is_empty() {
        match update_record::<Task>(&ctx.app, &ctx.actor, task.id, patch).await {
            Ok(task) => {
                return Ok(ctx.done("/tasks", format!("Saved the task “{}”.", task.subject)));
            }
            Err(err) => absorb(&mut errors, err).or_page(&ctx)?,
        }
    }
    let kind = FormKind::edit(&ctx, &task);
    let page = form_page(&ctx, kind, form, tz, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dates_become_utc_in_the_companys_time_zone() {
        let mut errors = FormErrors::new();
        let auckland = Tz::Pacific__Auckland;
        let at = local_time_json(
            auckland,
            ("due_date", "2026-03-05"),
            ("due_time", "09:30"),
            DEFAULT_DUE_TIME,
            &mut errors,
        );
        assert_eq!(at, Value::from("2026-03-04T20:30:00Z"));
        let at = local_time_json(
            Tz::UTC,
            ("due_date", "2026-03-05"),
            ("due_time", ""),
            DEFAULT_DUE_TIME,
            &mut errors,
        );
        assert_eq!(at, Value::from("2026-03-05T17:00:00Z"));
        assert!(errors.is_empty());
        // 02:30 does not exist in Los Angeles when the clocks go forward.
        let at = local_time_json(
            Tz::America__Los_Angeles,
            ("due_date", "2026-03-08"),
            ("due_time", "02:30"),
            DEFAULT_DUE_TIME,
            &mut errors,
        );
        assert!(at.is_null() && errors.has("due_time"));
        local_time_json(
            Tz::UTC,
            ("due_date", "tomorrow"),
            ("due_time", ""),
            DEFAULT_DUE_TIME,
            &mut errors,
        );
        assert!(errors.has("due_date"));
        let parts = local_parts(
            DateTime::parse_from_rfc3339("2026-03-04T20:30:00Z")
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            auckland,
        );
        assert_eq!(parts, ("2026-03-05".to_owned(), "09:30".to_owned()));
    }

    #[test]
    fn each_tab_asks_the_api_for_its_shortcut() {
        let none: Vec<(String, String)> = Vec::new();
        let pairs = |v: Tab, raw: &[(String, String)]| v.pairs(raw);
        assert_eq!(
            pairs(Tab::Mine, &none),
            [
                ("mine".to_owned(), "true".to_owned()),
                ("status[in]".to_owned(), "open,in_progress".to_owned())
            ]
        );
        let someone = vec![("assignee_id".to_owned(), Uuid::nil().to_string())];
        assert_eq!(
            pairs(Tab::Overdue, &someone),
            [("overdue".to_owned(), "true".to_owned())]
        );
        assert_eq!(
            pairs(Tab::DueToday, &none),
            [
                ("due".to_owned(), "today".to_owned()),
                ("mine".to_owned(), "true".to_owned())
            ]
        );
        assert!(pairs(Tab::All, &none).is_empty());
        assert_eq!(Tab::parse(""), Some(Tab::Mine));
        assert_eq!(Tab::parse("nope"), None);
    }

    fn query(text: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(text).unwrap_or_default()
    }

    #[test]
    fn a_saved_query_opens_on_the_tab_it_was_saved_on() {
        for page in [
            "tab=mine",
            "tab=mine&status=completed&sort=-priority",
            "tab=overdue&priority=high",
            "tab=overdue&assignee_id=00000000-0000-0000-0000-000000000000",
            "tab=today&q=call",
            "tab=all&priority=low",
        ] {
            let mut errors = FormErrors::new();
            let api = list_pairs(&query(page), &mut errors);
            assert!(errors.is_empty(), "{page}");
            let mut back = page_pairs(api);
            let mut want = query(page);
            back.sort();
            want.sort();
            assert_eq!(back, want, "{page}");
        }
        // What no tab says exactly opens on "All" with the shortcut as it is.
        assert_eq!(
            page_pairs(query("overdue=true")),
            query("tab=all&overdue=true")
        );
        assert_eq!(page_pairs(query("mine=true")), query("tab=all&mine=true"));
        let mut errors = FormErrors::new();
        list_pairs(&query("tab=someday"), &mut errors);
        assert!(!errors.is_empty());
    }

    #[test]
    fn old_links_name_the_tab_view() {
        let mut raw = query("view=overdue&priority=high");
        read_old_tab_param(&mut raw);
        assert_eq!(raw, query("tab=overdue&priority=high"));
        let mut raw = query("view=all");
        read_old_tab_param(&mut raw);
        assert_eq!(raw, query("view=all&tab=all"));
        let mut raw = query("q=x");
        name_tab(&mut raw);
        assert_eq!(raw, query("q=x&tab=mine"));
    }
}
