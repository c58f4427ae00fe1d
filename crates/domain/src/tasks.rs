//! Tasks: priority and status, the list fields (what may be filtered and sorted), and the input a
//! client sends, validated once into [`TaskData`]. A task may be about one record
//! ([`RecordType`]) and may repeat ([`Recurrence`]: daily, weekly or monthly, every N, until a
//! day); storage and HTTP are elsewhere.

use crate::accounts::MAX_TEXT;
use crate::activities::{RecordType, choice, parse_time, text};
use crate::choices::{choice_enum, spec};
use crate::ids::UserId;
use crate::query::{FieldKind, FieldSpec, Op, SortKey};
use crate::validate::FieldErrors;
use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

choice_enum!(
    /// How urgent a task is.
    TaskPriority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

choice_enum!(
    /// Where a task stands.
    TaskStatus {
        Open => "open",
        InProgress => "in_progress",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

choice_enum!(
    /// How often a recurring task comes back.
    TaskRepeat {
        Daily => "daily",
        Weekly => "weekly",
        Monthly => "monthly",
    }
);

/// The largest `repeat_every`.
pub const MAX_REPEAT_EVERY: i64 = 99;

/// A task's recurrence: completing one occurrence creates the next, due `every` days, weeks
/// or months after it, as long as that is not after `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    pub repeat: TaskRepeat,
    /// 1 to [`MAX_REPEAT_EVERY`].
    pub every: u32,
    /// The last day (UTC) an occurrence may be due.
    pub until: Option<NaiveDate>,
}

impl Recurrence {
    /// When the occurrence after one due at `due` is due; `None` past `until` (the series
    /// ends). A month on from the 31st is the last day of a shorter month.
    pub fn next_due(&self, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let next = match self.repeat {
            TaskRepeat::Daily => due.checked_add_days(Days::new(u64::from(self.every))),
            TaskRepeat::Weekly => due.checked_add_days(Days::new(7 * u64::from(self.every))),
            TaskRepeat::Monthly => due.checked_add_months(Months::new(self.every)),
        }?;
        match self.until {
            Some(until) if next.date_naive() > until => None,
            _ => Some(next),
        }
    }
}

impl TaskPriority {
    /// Low is 0, urgent 3: what sorting by priority orders by.
    pub fn rank(self) -> i64 {
        match self {
            Self::Low => 0,
            Self::Normal => 1,
            Self::High => 2,
            Self::Urgent => 3,
        }
    }
}

impl TaskStatus {
    /// Open or in progress: still to be done (what "overdue" looks at).
    pub const PENDING: &'static [Self] = &[Self::Open, Self::InProgress];
}

/// The fields of a task a list can filter or sort on. `PriorityRank` is how `sort=priority`
/// orders (low < normal < high < urgent), while `Priority` is the filter on the stored text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskField {
    Subject,
    Status,
    Priority,
    PriorityRank,
    AssigneeId,
    RelatedType,
    RelatedId,
    DueAt,
    CreatedAt,
    UpdatedAt,
}

/// Every list field of tasks, in the order error messages list them.
pub const TASK_FIELDS: &[FieldSpec<TaskField>] = &[
    spec(
        "status",
        TaskField::Status,
        FieldKind::Choice(TaskStatus::NAMES),
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "priority",
        TaskField::Priority,
        FieldKind::Choice(TaskPriority::NAMES),
        &[Op::Eq, Op::In],
        false,
    ),
    // Sorting by priority uses its rank; no filter goes through this entry.
    spec(
        "priority",
        TaskField::PriorityRank,
        FieldKind::Int,
        &[],
        true,
    ),
    // Sorting by assignee or related record groups the tasks of each (the task list's columns).
    spec(
        "assignee_id",
        TaskField::AssigneeId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "related_type",
        TaskField::RelatedType,
        FieldKind::Choice(RecordType::NAMES),
        &[Op::Eq, Op::In, Op::Empty],
        true,
    ),
    spec(
        "related_id",
        TaskField::RelatedId,
        FieldKind::Id,
        &[Op::Eq, Op::In, Op::Empty],
        true,
    ),
    spec(
        "due_at",
        TaskField::DueAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte, Op::Empty],
        true,
    ),
    spec(
        "created_at",
        TaskField::CreatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "updated_at",
        TaskField::UpdatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    // Searched with `q`; listed for sorting only.
    spec("subject", TaskField::Subject, FieldKind::Text, &[], true),
];

/// Soonest due first (tasks without a due date last).
pub const TASK_DEFAULT_SORT: &[SortKey<TaskField>] = &[SortKey {
    field: TaskField::DueAt,
    descending: false,
}];

/// The longest task description.
pub const MAX_DESCRIPTION: usize = 100_000;

/// A task as a client writes it (create, or the merged result of a patch). `assignee_id` left
/// out means the caller.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub subject: Option<String>,
    pub description: Option<String>,
    /// RFC 3339.
    pub due_at: Option<String>,
    /// RFC 3339.
    pub reminder_at: Option<String>,
    /// low, normal (default), high or urgent.
    pub priority: Option<String>,
    /// open (default), in_progress, completed or cancelled.
    pub status: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub assignee_id: Option<UserId>,
    /// lead, contact, account or deal; needs `related_id`.
    pub related_type: Option<String>,
    pub related_id: Option<Uuid>,
    /// daily, weekly or monthly: completing the task creates its next occurrence (same
    /// subject, assignee and record, due `repeat_every` days, weeks or months later); null or
    /// blank: it does not repeat.
    pub repeat: Option<String>,
    /// Every how many days, weeks or months: 1 (default) to 99; ignored without `repeat`.
    #[schema(minimum = 1, maximum = 99)]
    pub repeat_every: Option<i64>,
    /// The last day (YYYY-MM-DD, UTC) an occurrence may be due; null: no end. Ignored without
    /// `repeat`.
    pub repeat_until: Option<String>,
}

/// A valid task: every value checked, blanks turned into `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskData {
    pub subject: String,
    pub description: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub reminder_at: Option<DateTime<Utc>>,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    pub assignee_id: Option<UserId>,
    /// Both or neither.
    pub related: Option<(RecordType, Uuid)>,
    pub recurrence: Option<Recurrence>,
    /// The series and number of an occurrence a completed one creates (the store sets it;
    /// `None` from a client: a new repeating task starts its own series).
    pub series: Option<(Uuid, i32)>,
}

impl TaskInput {
    /// Check every field, naming each invalid one.
    pub fn validate(self) -> Result<TaskData, FieldErrors> {
        let mut errors = FieldErrors::new();
        let subject = text("subject", self.subject, MAX_TEXT, &mut errors);
        if subject.is_none() && errors.is_empty() {
            errors.add("subject", "must not be empty");
        }
        let description = text(
            "description",
            self.description,
            MAX_DESCRIPTION,
            &mut errors,
        );
        let due_at = parse_time("due_at", self.due_at, &mut errors);
        let reminder_at = parse_time("reminder_at", self.reminder_at, &mut errors);
        let priority = choice("priority", self.priority.as_deref(), &mut errors);
        let status = choice("status", self.status.as_deref(), &mut errors);
        let related_type: Option<RecordType> =
            choice("related_type", self.related_type.as_deref(), &mut errors);
        let related = match (related_type, self.related_id) {
            (Some(t), Some(id)) => Some((t, id)),
            (None, None) => None,
            (Some(_), None) => {
                errors.add("related_id", "is required with related_type");
                None
            }
            (None, Some(_)) => {
                if self
                    .related_type
                    .as_deref()
                    .is_none_or(|t| t.trim().is_empty())
                {
                    errors.add("related_type", "is required with related_id");
                }
                None
            }
        };
        let recurrence = recurrence(
            self.repeat.as_deref(),
            self.repeat_every,
            self.repeat_until.as_deref(),
            &mut errors,
        );
        errors.into_result()?;
        Ok(TaskData {
            subject: subject.unwrap_or_default(),
            description,
            due_at,
            reminder_at,
            priority: priority.unwrap_or(TaskPriority::Normal),
            status: status.unwrap_or(TaskStatus::Open),
            assignee_id: self.assignee_id,
            related,
            recurrence,
            series: None,
        })
    }
}

/// A task's recurrence from its three fields, each bad one named.
fn recurrence(
    repeat: Option<&str>,
    every: Option<i64>,
    until: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<Recurrence> {
    let repeat: Option<TaskRepeat> = choice("repeat", repeat, errors);
    let every = match every {
        None => 1,
        Some(n) => match u32::try_from(n) {
            Ok(n) if (1..=MAX_REPEAT_EVERY).contains(&i64::from(n)) => n,
            _ => {
                errors.add(
                    "repeat_every",
                    format!("must be a whole number from 1 to {MAX_REPEAT_EVERY}"),
                );
                1
            }
        },
    };
    let until = match until.map(str::trim) {
        None | Some("") => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => {
                errors.add("repeat_until", "must be a date as YYYY-MM-DD");
                None
            }
        },
    };
    repeat.map(|repeat| Recurrence {
        repeat,
        every,
        until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let input = TaskInput {
            due_at: Some("tomorrow".into()),
            priority: Some("asap".into()),
            status: Some("done".into()),
            related_type: Some("invoice".into()),
            related_id: Some(Uuid::nil()),
            ..TaskInput::default()
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            ["subject", "due_at", "priority", "status", "related_type"]
        );
    }

    #[test]
    fn bad_recurrences_are_named() {
        let input = TaskInput {
            subject: Some("Call".into()),
            repeat: Some("yearly".into()),
            repeat_every: Some(0),
            repeat_until: Some("soon".into()),
            ..TaskInput::default()
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["repeat", "repeat_every", "repeat_until"]);
    }

    #[test]
    fn the_next_occurrence_is_due_one_period_on_until_the_end() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().ok();
        let due = at("2026-01-31T17:00:00Z").unwrap_or_default();
        let every = |repeat, every, until: Option<&str>| Recurrence {
            repeat,
            every,
            until: until.and_then(|d| d.parse().ok()),
        };
        assert_eq!(
            every(TaskRepeat::Daily, 3, None).next_due(due),
            at("2026-02-03T17:00:00Z")
        );
        assert_eq!(
            every(TaskRepeat::Weekly, 2, None).next_due(due),
            at("2026-02-14T17:00:00Z")
        );
        assert_eq!(
            every(TaskRepeat::Monthly, 1, None).next_due(due),
            at("2026-02-28T17:00:00Z")
        );
        assert_eq!(
            every(TaskRepeat::Weekly, 1, Some("2026-02-07")).next_due(due),
            at("2026-02-07T17:00:00Z")
        );
        assert_eq!(
            every(TaskRepeat::Weekly, 1, Some("2026-02-06")).next_due(due),
            None
        );
    }

    #[test]
    fn related_needs_both_halves() {
        let input = TaskInput {
            subject: Some("Call".into()),
            related_type: Some("lead".into()),
            ..TaskInput::default()
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["related_id"]);
    }
}
