//! Tasks: priority and status, the list fields (what may be filtered and sorted), and the input a
//! client sends, validated once into [`TaskData`]. A task may be about one record
//! ([`RecordType`]); storage and HTTP are elsewhere.

use crate::accounts::MAX_TEXT;
use crate::activities::{RecordType, choice, parse_time, text};
use crate::choices::{choice_enum, spec};
use crate::ids::UserId;
use crate::query::{FieldKind, FieldSpec, Op, SortKey};
use crate::validate::FieldErrors;
use chrono::{DateTime, Utc};
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
        })
    }
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
