//! Activities (calls, emails, meetings, notes, messages): their kinds, the records they link to,
//! the list fields (what may be filtered and sorted), and the input a client sends, validated
//! once into [`ActivityData`]. Also [`RecordType`], the kinds of record an activity or a task
//! can point at; storage and HTTP are elsewhere.

use crate::accounts::{MAX_TEXT, clean};
use crate::choices::{choice_enum, spec};
use crate::ids::UserId;
use crate::query::{FieldKind, FieldSpec, Op, SortKey};
use crate::validate::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use uuid::Uuid;

choice_enum!(
    /// A record an activity links to or a task is about.
    RecordType {
        Lead => "lead",
        Contact => "contact",
        Account => "account",
        Deal => "deal",
    }
);

impl RecordType {
    /// The permission that decides who may read records of this type.
    pub fn resource(self) -> crate::Resource {
        match self {
            Self::Lead => crate::Resource::Leads,
            Self::Contact => crate::Resource::Contacts,
            Self::Account => crate::Resource::Accounts,
            Self::Deal => crate::Resource::Deals,
        }
    }
}

choice_enum!(
    /// What kind of interaction an activity records.
    ActivityKind {
        Call => "call",
        Email => "email",
        Meeting => "meeting",
        Note => "note",
        Whatsapp => "whatsapp",
        Sms => "sms",
    }
);

choice_enum!(
    /// Who started the interaction.
    Direction {
        Inbound => "inbound",
        Outbound => "outbound",
    }
);

/// The fields of an activity a list can filter or sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityField {
    Kind,
    Direction,
    OwnerId,
    OccurredAt,
    CreatedAt,
    UpdatedAt,
}

/// Every list field of activities, in the order error messages list them.
pub const ACTIVITY_FIELDS: &[FieldSpec<ActivityField>] = &[
    spec(
        "kind",
        ActivityField::Kind,
        FieldKind::Choice(ActivityKind::NAMES),
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "direction",
        ActivityField::Direction,
        FieldKind::Choice(Direction::NAMES),
        &[Op::Eq, Op::In, Op::Empty],
        true,
    ),
    spec(
        "owner_id",
        ActivityField::OwnerId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "occurred_at",
        ActivityField::OccurredAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "created_at",
        ActivityField::CreatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "updated_at",
        ActivityField::UpdatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
];

/// Most recent first.
pub const ACTIVITY_DEFAULT_SORT: &[SortKey<ActivityField>] = &[SortKey {
    field: ActivityField::OccurredAt,
    descending: true,
}];

/// At most this many records per activity.
pub const MAX_LINKS: usize = 20;
/// The longest activity body.
pub const MAX_BODY: usize = 100_000;
/// A week.
pub const MAX_DURATION: i64 = 7 * 24 * 3600;

/// A record an activity is about, as a client writes it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// lead, contact, account or deal.
    pub record_type: String,
    pub record_id: Uuid,
}

/// A valid link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct Link {
    pub record_type: RecordType,
    pub record_id: Uuid,
}

/// An activity as a client writes it (create, or the merged result of a patch). `owner_id` left
/// out means the caller; `occurred_at` left out means now.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    /// call, email, meeting, note, whatsapp or sms.
    pub kind: Option<String>,
    /// inbound or outbound.
    pub direction: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// RFC 3339; defaults to now.
    pub occurred_at: Option<String>,
    pub duration_seconds: Option<i64>,
    pub outcome: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    /// The records the activity is about: 1 to 20 leads, contacts, accounts or deals.
    pub links: Option<Vec<LinkInput>>,
}

/// A valid activity: every value checked, blanks turned into `None`, links without repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityData {
    pub kind: ActivityKind,
    pub direction: Option<Direction>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// `None`: now.
    pub occurred_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    pub outcome: Option<String>,
    pub owner_id: Option<UserId>,
    pub links: Vec<Link>,
}

/// An RFC 3339 time, or `None` when blank.
pub(crate) fn parse_time(
    field: &str,
    value: Option<String>,
    errors: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    let text = clean(value)?;
    errors.check(
        field,
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| "must be an RFC 3339 time (e.g. 2026-05-01T09:00:00Z)"),
    )
}

/// Trimmed text of at most `max` characters, or `None` when blank.
pub(crate) fn text(
    field: &str,
    value: Option<String>,
    max: usize,
    errors: &mut FieldErrors,
) -> Option<String> {
    let value = clean(value)?;
    if value.chars().count() > max {
        errors.add(field, format!("is too long (at most {max} characters)"));
        return None;
    }
    Some(value)
}

/// Parse a choice, or `None` when blank.
pub(crate) fn choice<T: FromStr<Err = String>>(
    field: &str,
    value: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<T> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(s) => errors.check(field, s.parse::<T>()),
    }
}

impl ActivityInput {
    /// Check every field, naming each invalid one (`links[2].record_type`).
    pub fn validate(self) -> Result<ActivityData, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("kind", "must not be empty");
                None
            }
            Some(s) => errors.check("kind", s.parse::<ActivityKind>()),
        };
        let direction = choice("direction", self.direction.as_deref(), &mut errors);
        let subject = text("subject", self.subject, MAX_TEXT, &mut errors);
        let body = text("body", self.body, MAX_BODY, &mut errors);
        let occurred_at = parse_time("occurred_at", self.occurred_at, &mut errors);
        if self
            .duration_seconds
            .is_some_and(|d| !(0..=MAX_DURATION).contains(&d))
        {
            errors.add(
                "duration_seconds",
                format!("must be between 0 and {MAX_DURATION}"),
            );
        }
        let outcome = text("outcome", self.outcome, MAX_TEXT, &mut errors);
        let mut links: Vec<Link> = Vec::new();
        let input_links = self.links.unwrap_or_default();
        if input_links.is_empty() || input_links.len() > MAX_LINKS {
            errors.add("links", format!("must list 1 to {MAX_LINKS} records"));
        }
        for (i, link) in input_links.into_iter().enumerate() {
            let field = format!("links[{i}].record_type");
            if let Some(record_type) = errors.check(&field, link.record_type.trim().parse()) {
                let link = Link {
                    record_type,
                    record_id: link.record_id,
                };
                if !links.contains(&link) {
                    links.push(link);
                }
            }
        }
        errors.into_result()?;
        Ok(ActivityData {
            kind: kind.unwrap_or(ActivityKind::Note),
            direction,
            subject,
            body,
            occurred_at,
            duration_seconds: self.duration_seconds,
            outcome,
            owner_id: self.owner_id,
            links,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let input = ActivityInput {
            kind: Some("fax".into()),
            direction: Some("sideways".into()),
            occurred_at: Some("yesterday".into()),
            duration_seconds: Some(-1),
            links: Some(vec![LinkInput {
                record_type: "invoice".into(),
                record_id: Uuid::nil(),
            }]),
            ..ActivityInput::default()
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "kind",
                "direction",
                "occurred_at",
                "duration_seconds",
                "links[0].record_type"
            ]
        );
    }

    #[test]
    fn links_are_required_and_deduplicated() {
        let missing = ActivityInput {
            kind: Some("note".into()),
            ..ActivityInput::default()
        };
        assert!(missing.validate().is_err());
        let link = LinkInput {
            record_type: "contact".into(),
            record_id: Uuid::nil(),
        };
        let twice = ActivityInput {
            kind: Some("note".into()),
            links: Some(vec![link.clone(), link]),
            ..ActivityInput::default()
        };
        assert_eq!(twice.validate().map(|d| d.links.len()), Ok(1));
    }
}
