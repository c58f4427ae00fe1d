//! Tasks as a record type (list, get, create, update, delete and bulk actions are the generic
//! record layer's, [`crate::record`]; the assignee is the owner), plus the list's "mine",
//! "overdue" and "due today" shortcuts in the company's time zone. A task may be about one lead, contact, account or deal of the company;
//! [`for_records`] is what a record's timeline reads. `completed_at` is kept by the store: set when a task becomes completed, cleared when
//! it is reopened.
//!
//! A task about a record that is deleted is detached from it by triggers (migrations_activities).
//!
//! A task may repeat (`repeat`, `repeat_every`, `repeat_until`): when an update — a patch, the
//! one-click complete, a bulk update — makes an occurrence completed, [`Write::after_write`]
//! creates the next one in the same transaction (same subject, description, priority,
//! assignee and record, open, due one period after this one's due time, or after now when it
//! had none), numbered in the series (`series_id`, `occurrence`); one whose number already
//! exists is not created again (a unique index holds it too), so completing twice, or
//! reopening and completing again, makes no duplicate.

use crate::activities::record_exists;
use crate::query::{self, ListField, Seek, iden};
use crate::record::{self, Record, Write};
use crate::row::table_row;
use crate::tables::Tasks;
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_count, now};
use chrono::{DateTime, Days, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use rivet_domain::activities::RecordType;
use rivet_domain::ids::{CompanyId, TaskId, UserId, kind};
use rivet_domain::query::{FieldSpec, FilterValue, ListQuery};
use rivet_domain::tasks::{
    Recurrence, TASK_FIELDS, TaskData, TaskField, TaskPriority, TaskRepeat, TaskStatus,
};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Cond, DynIden, Expr, ExprTrait, Func, Order, Query, Value};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

table_row! {
/// A task as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Task in Tasks::Table {
    #[schema(value_type = uuid::Uuid)]
    pub id: TaskId,
    pub subject: String,
    pub description: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub reminder_at: Option<DateTime<Utc>>,
    pub priority: TaskPriority => record::choice_or(TaskPriority::Normal),
    pub status: TaskStatus => record::choice_or(TaskStatus::Open),
    /// When the task became completed; `null` unless it is.
    pub completed_at: Option<DateTime<Utc>>,
    #[schema(value_type = uuid::Uuid)]
    pub assignee_id: UserId,
    pub related_type: Option<RecordType> => |t: Option<String>| t.and_then(|t| t.parse().ok()),
    pub related_id: Option<Uuid>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// daily, weekly or monthly; `null`: the task does not repeat.
    pub repeat: Option<TaskRepeat> => |t: Option<String>| t.and_then(|t| t.parse().ok()),
    /// Every how many days, weeks or months it repeats.
    pub repeat_every: Option<i32>,
    /// The last day (`YYYY-MM-DD`, UTC) an occurrence may be due.
    pub repeat_until: Option<String>,
    /// The series of a repeating task: its first occurrence's id.
    pub series_id: Option<Uuid>,
    /// Its number in the series, from 1.
    pub occurrence: Option<i32>,
}
}

/// Fields a client cannot write.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "completed_at",
    "created_by",
    "created_at",
    "updated_at",
    "series_id",
    "occurrence",
];

/// Where a task without a due date sorts: after every real one.
fn no_due_date() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_214_400, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl ListField for TaskField {
    fn specs() -> &'static [FieldSpec<Self>] {
        TASK_FIELDS
    }

    fn table() -> DynIden {
        iden(Tasks::Table)
    }

    fn id_column() -> DynIden {
        iden(Tasks::Id)
    }

    fn column(self) -> DynIden {
        iden(match self {
            Self::Subject => Tasks::Subject,
            Self::Status => Tasks::Status,
            Self::Priority | Self::PriorityRank => Tasks::Priority,
            Self::AssigneeId => Tasks::AssigneeId,
            Self::RelatedType => Tasks::RelatedType,
            Self::RelatedId => Tasks::RelatedId,
            Self::DueAt => Tasks::DueAt,
            Self::CreatedAt => Tasks::CreatedAt,
            Self::UpdatedAt => Tasks::UpdatedAt,
        })
    }

    fn sort_expr(self) -> Expr {
        let col = Expr::col((Tasks::Table, self.column()));
        match self {
            Self::DueAt => Func::coalesce([col, Expr::val(no_due_date())]).into(),
            // Tasks about no record sort first, as their cursor value ("") says.
            Self::RelatedType => query::text_or_empty(col),
            Self::RelatedId => query::id_or_nil(col),
            Self::PriorityRank => {
                let rank = |p: TaskPriority| {
                    (
                        Expr::col((Tasks::Table, Tasks::Priority)).eq(p.as_str()),
                        Expr::val(p.rank()),
                    )
                };
                let (low_when, low) = rank(TaskPriority::Low);
                let (normal_when, normal) = rank(TaskPriority::Normal);
                let (high_when, high) = rank(TaskPriority::High);
                Expr::case(low_when, low)
                    .case(normal_when, normal)
                    .case(high_when, high)
                    .finally(Expr::val(TaskPriority::Urgent.rank()))
                    .into()
            }
            _ => col,
        }
    }
}

/// A task's value of a sort field, as its cursor records it.
fn sort_value(task: &Task, field: TaskField) -> FilterValue {
    match field {
        TaskField::Subject => FilterValue::Text(task.subject.clone()),
        TaskField::Status => FilterValue::Text(task.status.as_str().to_owned()),
        TaskField::Priority => FilterValue::Text(task.priority.as_str().to_owned()),
        TaskField::PriorityRank => FilterValue::Int(task.priority.rank()),
        TaskField::AssigneeId => FilterValue::Id(task.assignee_id.uuid()),
        TaskField::RelatedType => FilterValue::Text(
            task.related_type
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        ),
        TaskField::RelatedId => FilterValue::Id(task.related_id.unwrap_or_default()),
        TaskField::DueAt => FilterValue::Time(task.due_at.unwrap_or_else(no_due_date)),
        TaskField::CreatedAt => FilterValue::Time(task.created_at),
        TaskField::UpdatedAt => FilterValue::Time(task.updated_at),
    }
}

impl Record for Task {
    type Kind = kind::Task;
    type Row = Self;
    type Field = TaskField;
    const RESOURCE: Resource = Resource::Tasks;
    const READ_ONLY: &'static [&'static str] = READ_ONLY_FIELDS;

    /// The assignee is the owner.
    fn owner_column() -> DynIden {
        iden(Tasks::AssigneeId)
    }
    fn id(&self) -> TaskId {
        self.id
    }
    fn owner(&self) -> UserId {
        self.assignee_id
    }
    /// Tasks have no custom fields.
    fn custom_fields(&self) -> &serde_json::Value {
        &serde_json::Value::Null
    }
    fn sort_value(&self, field: TaskField) -> FilterValue {
        sort_value(self, field)
    }

    /// What `q=` matches, case-insensitively, as a substring.
    fn text_columns() -> Vec<DynIden> {
        vec![iden(Tasks::Subject)]
    }

    fn audit_json(&self) -> serde_json::Value {
        let mut map = self.as_input();
        map.insert("id".into(), json!(self.id));
        map.insert("completed_at".into(), json!(self.completed_at));
        serde_json::Value::Object(map)
    }
}

impl Write for Task {
    type Data = TaskData;
    const OWNER_FIELD: &'static str = "assignee_id";

    fn data_owner(data: &TaskData) -> Option<UserId> {
        data.assignee_id
    }

    /// The related record must be one the caller can see; `completed_at` follows the status.
    async fn write_columns(
        tx: &Tx,
        actor: &Actor,
        id: TaskId,
        data: &TaskData,
        owner: UserId,
        before: Option<&Self>,
        at: DateTime<Utc>,
    ) -> Result<Vec<(DynIden, Value)>> {
        if let Some(related) = data.related
            && before.is_none_or(|b| b.related_type.zip(b.related_id) != Some(related))
        {
            check_related(tx, actor, related).await?;
        }
        let completed_at = match (data.status, before.map(|b| (b.status, b.completed_at))) {
            (TaskStatus::Completed, Some((TaskStatus::Completed, done))) => done.or(Some(at)),
            (TaskStatus::Completed, _) => Some(at),
            _ => None,
        };
        let mut columns = data_columns(data, owner, completed_at);
        columns.extend(series_columns(id, data, before));
        Ok(columns.into_iter().map(|(c, v)| (iden(c), v)).collect())
    }

    /// Completing an occurrence of a repeating task creates the next (see the module's
    /// comment).
    async fn after_write(
        tx: &Tx,
        actor: &Actor,
        data: &TaskData,
        before: Option<&Self>,
        after: &mut Self,
        at: DateTime<Utc>,
    ) -> Result<()> {
        if let (Some(before), Some(recurrence)) = (before, data.recurrence)
            && after.status == TaskStatus::Completed
            && before.status != TaskStatus::Completed
        {
            // Boxed: creating the next occurrence runs this hook again (as a create).
            next_occurrence(tx, actor, after, recurrence, at).await?;
        }
        Ok(())
    }
}

/// Where a task stands in its series: a continuation takes the number the store gave it; a new
/// repeating task, or one made to repeat, starts its own series; a task already in a series
/// stays there (its columns are not written again).
fn series_columns(id: TaskId, data: &TaskData, before: Option<&Task>) -> Vec<(Tasks, Value)> {
    let placed = |series: Uuid, n: i32| {
        vec![
            (Tasks::SeriesId, Some(series).into()),
            (Tasks::Occurrence, Some(n).into()),
        ]
    };
    match (data.series, before.and_then(|b| b.series_id)) {
        (Some((series, n)), _) => placed(series, n),
        (None, None) if data.recurrence.is_some() => placed(id.uuid(), 1),
        _ => Vec::new(),
    }
}

/// Create the occurrence after `done` (just completed), unless it exists or the series has
/// ended. It is created on the company's behalf (its assignee and record were checked when
/// the series was written), audited as the caller's, with its own `task.created` event.
fn next_occurrence<'a>(
    tx: &'a Tx,
    actor: &'a Actor,
    done: &'a Task,
    recurrence: Recurrence,
    at: DateTime<Utc>,
) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        let (Some(series), Some(n)) = (done.series_id, done.occurrence) else {
            return Ok(());
        };
        let next = n.saturating_add(1);
        let exists = fetch_count(
            tx.conn(),
            Query::select()
                .expr(Expr::col(Tasks::Id).count())
                .from(Tasks::Table)
                .and_where(Expr::col(Tasks::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(Tasks::SeriesId).eq(series))
                .and_where(Expr::col(Tasks::Occurrence).eq(next)),
        )
        .await?;
        let base = done.due_at.unwrap_or(at);
        let (true, Some(due_at)) = (exists == 0, recurrence.next_due(base)) else {
            return Ok(());
        };
        let data = TaskData {
            subject: done.subject.clone(),
            description: done.description.clone(),
            due_at: Some(due_at),
            reminder_at: done.reminder_at.map(|r| due_at - (base - r)),
            priority: done.priority,
            status: TaskStatus::Open,
            assignee_id: Some(done.assignee_id),
            related: done.related_type.zip(done.related_id),
            recurrence: Some(recurrence),
            series: Some((series, next)),
        };
        let on_behalf = actor
            .granted(&[
                (Resource::Tasks, Action::Create),
                (Resource::Leads, Action::Read),
                (Resource::Contacts, Action::Read),
                (Resource::Accounts, Action::Read),
                (Resource::Deals, Action::Read),
            ])
            .via("task recurrence");
        record::create_in::<Task>(tx, &on_behalf, &data).await?;
        Ok(())
    })
}

/// The list's shortcuts beyond the field filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskShortcuts {
    /// Assigned to the caller.
    pub mine: bool,
    /// Due before now and still open or in progress.
    pub overdue: bool,
    /// Due today in this time zone (the company's), whatever the status.
    pub due_today: Option<Tz>,
}

/// The first instant of a local date: midnight, or the end of a daylight-saving gap that
/// swallows midnight.
fn start_of(tz: Tz, day: chrono::NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = day.and_time(NaiveTime::MIN);
    (0..=2)
        .filter_map(|hours| {
            tz.from_local_datetime(&(midnight + TimeDelta::hours(hours)))
                .earliest()
        })
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// Start and end (exclusive) of the day of `at` in `tz`, in UTC: local midnight to the next
/// local midnight (23 or 25 hours on the days the clocks change).
pub fn local_day(tz: Tz, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = at.with_timezone(&tz).date_naive();
    let start = start_of(tz, day).unwrap_or(at);
    let end = day
        .checked_add_days(Days::new(1))
        .and_then(|next| start_of(tz, next))
        .unwrap_or(start);
    (start, end)
}

fn pending() -> impl Iterator<Item = &'static str> {
    TaskStatus::PENDING.iter().map(|s| s.as_str())
}

/// Due before `at` and still open or in progress.
fn overdue_at(at: DateTime<Utc>) -> Cond {
    Cond::all()
        .add(Expr::col((Tasks::Table, Tasks::DueAt)).lt(at))
        .add(Expr::col((Tasks::Table, Tasks::Status)).is_in(pending()))
}

/// How many tasks assigned to the caller are overdue (the navigation's badge; one range of
/// the assignee index).
pub async fn count_my_overdue(store: &Store, actor: &Actor) -> Result<i64> {
    let mut q = Query::select();
    q.expr(Expr::col((Tasks::Table, Tasks::Id)).count())
        .from(Tasks::Table)
        .and_where(Expr::col((Tasks::Table, Tasks::CompanyId)).eq(actor.company_id))
        .and_where(Expr::col((Tasks::Table, Tasks::AssigneeId)).eq(actor.user_id))
        .cond_where(record::scope::<Task>(actor, Action::Read)?)
        .cond_where(overdue_at(now()));
    fetch_count(store.read(actor).await?.conn(), &q).await
}

/// One page of the tasks the caller may read, narrowed by the list's shortcuts.
pub async fn list(
    store: &Store,
    actor: &Actor,
    list: &ListQuery<TaskField>,
    shortcuts: TaskShortcuts,
    limit: u64,
    after: Option<&Seek>,
) -> Result<Page<Task>> {
    let col = |c: Tasks| Expr::col((Tasks::Table, c));
    let at = now();
    let mut narrow = Cond::all();
    if shortcuts.mine {
        narrow = narrow.add(col(Tasks::AssigneeId).eq(actor.user_id));
    }
    if shortcuts.overdue {
        narrow = narrow.add(overdue_at(at));
    }
    if let Some(tz) = shortcuts.due_today {
        let (start, end) = local_day(tz, at);
        narrow = narrow
            .add(col(Tasks::DueAt).gte(start))
            .add(col(Tasks::DueAt).lt(end));
    }
    record::list_where(store, actor, list, limit, after, narrow).await
}

/// The tasks the caller may read about any of `records`, newest first (by `created_at`, then
/// id), starting below `before` — what a record's timeline shows.
pub async fn for_records(
    read: &crate::Read<'_>,
    actor: &Actor,
    records: &[(RecordType, Uuid)],
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Task>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = record::select::<Task>(actor.company_id);
    q.cond_where(record::scope::<Task>(actor, Action::Read)?);
    q.cond_where(crate::query::pointing_at(
        Expr::col((Tasks::Table, Tasks::RelatedType)),
        || Expr::col((Tasks::Table, Tasks::RelatedId)),
        records,
        RecordType::as_str,
        false,
    ));
    let at = || Expr::col((Tasks::Table, Tasks::CreatedAt));
    let id = || Expr::col((Tasks::Table, Tasks::Id));
    if let Some((time, last)) = before {
        q.cond_where(
            Cond::any()
                .add(at().lt(time))
                .add(Cond::all().add(at().eq(time)).add(id().lt(last))),
        );
    }
    q.order_by_expr(at(), Order::Desc)
        .order_by_expr(id(), Order::Desc)
        .limit(limit);
    fetch_all(read.conn(), &q).await
}

async fn check_related(tx: &Tx, actor: &Actor, related: (RecordType, Uuid)) -> Result<()> {
    let (record_type, record_id) = related;
    if record_exists(tx.conn(), actor, record_type, record_id).await? {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "related_id",
            format!("is not a {record_type} you can see"),
        ))
    }
}

fn data_columns(
    data: &TaskData,
    assignee_id: UserId,
    completed_at: Option<DateTime<Utc>>,
) -> Vec<(Tasks, Value)> {
    vec![
        (Tasks::Subject, data.subject.clone().into()),
        (Tasks::Description, data.description.clone().into()),
        (Tasks::DueAt, data.due_at.into()),
        (Tasks::ReminderAt, data.reminder_at.into()),
        (Tasks::Priority, data.priority.as_str().into()),
        (Tasks::Status, data.status.as_str().into()),
        (Tasks::CompletedAt, completed_at.into()),
        (Tasks::AssigneeId, assignee_id.into()),
        (
            Tasks::RelatedType,
            data.related.map(|(t, _)| t.as_str().to_owned()).into(),
        ),
        (Tasks::RelatedId, data.related.map(|(_, id)| id).into()),
        (
            Tasks::Repeat,
            data.recurrence.map(|r| r.repeat.as_str().to_owned()).into(),
        ),
        (
            Tasks::RepeatEvery,
            data.recurrence
                .map(|r| i32::try_from(r.every).unwrap_or(1))
                .into(),
        ),
        (
            Tasks::RepeatUntil,
            data.recurrence
                .and_then(|r| r.until)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .into(),
        ),
    ]
}

/// Detach every task from one record (the triggers of migration m0006 already do this when the
/// record is deleted; this is for callers that must do it explicitly, in their transaction).
pub async fn detach_record(
    tx: &Tx,
    company_id: CompanyId,
    record_type: RecordType,
    record_id: Uuid,
) -> Result<u64> {
    exec(
        tx.conn(),
        Query::update()
            .table(Tasks::Table)
            .value(Tasks::RelatedType, Option::<String>::None)
            .value(Tasks::RelatedId, Option::<Uuid>::None)
            .and_where(Expr::col(Tasks::CompanyId).eq(company_id))
            .and_where(Expr::col(Tasks::RelatedType).eq(record_type.as_str()))
            .and_where(Expr::col(Tasks::RelatedId).eq(record_id)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn day_of(tz: Tz, at: &str) -> (String, String) {
        let (start, end) = local_day(tz, utc(at));
        (start.to_rfc3339(), end.to_rfc3339())
    }

    #[test]
    fn a_day_runs_from_local_midnight_to_the_next() {
        let day = |start: &str, end: &str| (start.to_owned(), end.to_owned());
        assert_eq!(
            day_of(Tz::UTC, "2026-03-04T15:16:17Z"),
            day("2026-03-04T00:00:00+00:00", "2026-03-05T00:00:00+00:00")
        );
        // 15:16 UTC on the 4th is already the 5th in Auckland (UTC+13 in March).
        assert_eq!(
            day_of(Tz::Pacific__Auckland, "2026-03-04T15:16:17Z"),
            day("2026-03-04T11:00:00+00:00", "2026-03-05T11:00:00+00:00")
        );
        // 03:00 UTC on the 4th is still the 3rd in Los Angeles (UTC-8).
        assert_eq!(
            day_of(Tz::America__Los_Angeles, "2026-03-04T03:00:00Z"),
            day("2026-03-03T08:00:00+00:00", "2026-03-04T08:00:00+00:00")
        );
    }

    #[test]
    fn days_when_the_clocks_change_are_23_or_25_hours_long() {
        // Los Angeles springs forward on 2026-03-08 and falls back on 2026-11-01.
        let (start, end) = local_day(Tz::America__Los_Angeles, utc("2026-03-08T12:00:00Z"));
        assert_eq!((end - start).num_hours(), 23);
        let (start, end) = local_day(Tz::America__Los_Angeles, utc("2026-11-01T12:00:00Z"));
        assert_eq!((end - start).num_hours(), 25);
        // Santiago skips from 00:00 to 01:00 on 2026-09-06: that day starts at 01:00 local.
        let (start, _) = local_day(Tz::America__Santiago, utc("2026-09-06T12:00:00Z"));
        assert_eq!(start.to_rfc3339(), "2026-09-06T04:00:00+00:00");
    }
}
