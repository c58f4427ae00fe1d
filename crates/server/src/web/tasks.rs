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
    BulkChange, Col, Owners, PAGE_SIZE, after, api_pairs, bulk_action, choice_options, delete_one,
    value_of,
};
use super::record_form::{Field, FormSection, RecordForm};
use super::record_list::{
    Badge, Cell, Filter, LinkView, ListDecl, RecordList, Row, TabLink, Tabs, take_select_all,
};
use super::view::{
    Ctx, FormErrors, Opt, OrPage, WebError, WebForm, WebQuery, capitalise, safe_next, with_query,
};
use super::views_bar::ListSpec;
use crate::api::record::{create_record, update_record};
use crate::api::tasks::{company_time_zone, list_shortcuts};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rivet_domain::activities::RecordType;
use rivet_domain::query::ListQuery;
use rivet_domain::tasks::{
    TASK_DEFAULT_SORT, TASK_FIELDS, TaskField, TaskInput, TaskPriority, TaskRepeat, TaskStatus,
};
use rivet_domain::{Action, Resource, Scope};
use rivet_store::record;
use rivet_store::tasks::{self, Task};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

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
    "repeat",
    "repeat_every",
    "repeat_until",
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

fn repeat_label(repeat: TaskRepeat) -> &'static str {
    match repeat {
        TaskRepeat::Daily => "Daily",
        TaskRepeat::Weekly => "Weekly",
        TaskRepeat::Monthly => "Monthly",
    }
}

fn repeat_options(selected: &str) -> Vec<Opt> {
    choice_options(
        Some("Does not repeat"),
        TaskRepeat::ALL,
        TaskRepeat::as_str,
        repeat_label,
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

const LIST: ListDecl = ListDecl {
    page: &PAGE,
    key: "tasks",
    title: "Tasks",
    blurb: "",
    heading: "My tasks",
    noun: "task",
    nouns: "tasks",
    new_label: Some("New task"),
    empty: "Nothing here.",
    add_first: "Add a task",
    columns: &[
        Col::sorts("Due", "due_at"),
        Col::sorts("Subject", "subject"),
        Col::sorts_down("Priority", "priority"),
        Col::sorts("Related to", "related_type"),
        Col::sorts("Assignee", "assignee_id"),
        Col::plain("Status"),
        Col::plain("Actions").hidden(),
    ],
};

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
    let select_all = take_select_all(&mut raw);
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
    let export = pairs.clone();
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
    let mut rows = Vec::new();
    let mut next_cursor = None;
    if let (Some(query), Some(shortcuts), true) = (&parsed, shortcuts, errors.is_empty()) {
        let after = after(&ctx, &query.sort, &raw)?;
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
            .map(|task| {
                let overdue = is_pending(task) && task.due_at.is_some_and(|at| at < now);
                let related = task
                    .related_type
                    .zip(task.related_id)
                    .map(|(t, id)| LinkView {
                        label: record_label(t).to_owned(),
                        href: record_path(t, id),
                    });
                let complete = (can_update && is_pending(task))
                    .then(|| format!("/tasks/{}/complete", task.id));
                Row {
                    id: task.id.uuid(),
                    name: task.subject.clone(),
                    class: if overdue { "task-overdue" } else { "" },
                    cells: vec![
                        Cell::date(task.due_at.map(|at| local(&at, tz)).unwrap_or_default())
                            .with_badge(
                                overdue.then(|| Badge::new("task-overdue-badge", "Overdue")),
                            ),
                        Cell::title(
                            task.subject.clone(),
                            Some(format!("/tasks/{}/edit", task.id)),
                            "",
                        ),
                        Cell::badge(Badge::new(
                            format!("task-priority-{}", task.priority.as_str()),
                            priority_label(task.priority),
                        )),
                        Cell::link(related),
                        Cell::text(owners.name(task.assignee_id)),
                        Cell::badge(Badge::new(
                            format!("task-status-{}", task.status.as_str()),
                            status_label(task.status),
                        )),
                        Cell::button(complete, "Complete"),
                    ],
                }
            })
            .collect();
        next_cursor = page.next_cursor;
    }
    // Links keep the tab; the list is sorted by due date unless a column says otherwise.
    let mut kept = raw.clone();
    if value_of(&raw, "sort").is_empty() {
        kept.push(("sort".into(), "due_at".into()));
    }
    let mut list = RecordList::new(&ctx, &LIST, views, (&kept, next_cursor), errors, select_all);
    list.export_query(&export);
    list.blurb = format!(
        "Calls to make, e-mails to send, things to follow up. Dates and times are in the \
         company's time zone ({}).",
        tz.name()
    );
    list.tabs = Some(Tabs {
        label: "Task lists",
        links: Tab::TABS
            .iter()
            .filter(|(v, _, _)| *v != Tab::All || sees_others)
            .map(|(v, name, label)| TabLink {
                label,
                href: with_query("/tasks", &[(TAB_PARAM, name)]),
                current: *v == tab,
            })
            .collect(),
    });
    if let Some((_, _, label)) = Tab::TABS.iter().find(|(v, _, _)| *v == tab) {
        (*label).clone_into(&mut list.heading);
    }
    list.hidden = vec![(TAB_PARAM, tab.name().to_owned())];
    list.filters = vec![
        Filter::search("Subject", &raw),
        Filter::select(
            "status",
            "Status",
            status_options(Some("Any status"), value_of(&raw, "status")),
        ),
        Filter::select(
            "priority",
            "Priority",
            priority_options(Some("Any priority"), value_of(&raw, "priority")),
        ),
    ];
    // Only when the caller sees others' tasks, and not on "My tasks".
    if sees_others && tab != Tab::Mine {
        list.filters
            .push(Filter::member(&owners, ("assignee_id", "Assignee"), &raw));
    }
    list.filtered = ["status", "priority", "assignee_id", "q"]
        .iter()
        .any(|k| !value_of(&raw, k).is_empty());
    list.clear_href = with_query("/tasks", &[(TAB_PARAM, tab.name())]);
    list.bulk_select(
        ("assignee_id", "New assignee"),
        owners.options(Some("Choose an assignee"), ""),
        ("assignee", "Assign"),
    );
    list.bulk_select(
        ("status", "New status"),
        status_options(Some("Choose a status"), ""),
        ("status", "Set status"),
    );
    list.bulk_select(
        ("priority", "New priority"),
        priority_options(Some("Choose a priority"), ""),
        ("priority", "Set priority"),
    );
    list.rows = rows;
    Ok(list.render(&ctx))
}

/// One post for the bulk actions (which button was pressed is `action`); deleting first shows a
/// page that asks, and deletes only when that page's button sends `confirm=yes`.
/// The bulk bar's changes (its delete is the shared one).
const BULK: &[BulkChange] = &[
    BulkChange {
        action: "assignee",
        field: "assignee_id",
        what: "assignee",
        done: "Changed the assignee of {count}.",
    },
    BulkChange {
        action: "status",
        field: "status",
        what: "status",
        done: "Set {count} to {value}.",
    },
    BulkChange {
        action: "priority",
        field: "priority",
        what: "priority",
        done: "Set the priority of {count} to {value}.",
    },
];

pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    bulk_action::<Task>(&ctx, &LIST, &form, |t: &Task| t.subject.clone(), BULK).await
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
    delete_one::<Task>(&ctx, &LIST, id, |t: &Task| format!("“{}”", t.subject)).await
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
    repeat: String,
    repeat_every: String,
    repeat_until: String,
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
            repeat: task
                .repeat
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            repeat_every: task.repeat_every.map(|n| n.to_string()).unwrap_or_default(),
            repeat_until: task.repeat_until.clone().unwrap_or_default(),
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
            ("repeat", &self.repeat),
            ("repeat_until", &self.repeat_until),
        ] {
            map.insert(field.into(), Value::String(value.trim().to_owned()));
        }
        let every = match self.repeat_every.trim() {
            "" => Value::Null,
            text => match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.add("repeat_every", "must be a whole number");
                    Value::Null
                }
            },
        };
        map.insert("repeat_every".into(), every);
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
) -> Result<RecordForm, WebError> {
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
    let f = &form;
    let mut page = RecordForm::new(
        ctx,
        ("task", ("/tasks", "Tasks")),
        super::view::FormKind {
            heading: kind.heading,
            action: kind.action,
            cancel: kind.cancel,
            submit: kind.submit,
        },
        format!(
            "A task needs a subject; dates and times are in the company's time zone ({}).",
            tz.name()
        ),
        errors,
    );
    page.hidden = vec![("back", f.back.clone())];
    page.sections = vec![
        FormSection::card(
            "task",
            "Task",
            vec![
                Field::text("subject", "Subject", &f.subject).required(),
                Field::select(
                    "priority",
                    "Priority",
                    priority_options(None, &or(&f.priority, "normal")),
                ),
                Field::select(
                    "status",
                    "Status",
                    status_options(None, &or(&f.status, "open")),
                ),
                Field::select("assignee_id", "Assignee", owners.options(None, &assignee)),
            ],
        )
        .below(Field::textarea(
            "description",
            "Description",
            &f.description,
        )),
        FormSection::card(
            "when",
            "When",
            vec![
                Field::input("date", "due_date", "Due date", &f.due_date),
                Field::input("time", "due_time", "Due time", &f.due_time)
                    .hint("Without a time: 17:00."),
                Field::input("date", "reminder_date", "Reminder date", &f.reminder_date),
                Field::input("time", "reminder_time", "Reminder time", &f.reminder_time)
                    .hint("Without a time: 09:00."),
                Field::select("repeat", "Repeat", repeat_options(&f.repeat)).hint(
                    "Completing the task creates the next one, due one period after this one.",
                ),
                Field::input("number", "repeat_every", "Every", &f.repeat_every)
                    .hint("Days, weeks or months; 1 to 99 (empty: 1)."),
                Field::input("date", "repeat_until", "Repeat until", &f.repeat_until)
                    .hint("The last day an occurrence may be due; empty: no end."),
            ],
        ),
        FormSection::card(
            "related",
            "About",
            vec![
                Field::select(
                    "related_type",
                    "Related record",
                    record_options(&f.related_type),
                ),
                Field::text("related_id", "Record id", &f.related_id)
                    .hint("Filled in when the task is added from the record's page."),
            ],
        ),
    ];
    page.delete = kind.delete_action.map(|href| (href, "task"));
    Ok(page)
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
