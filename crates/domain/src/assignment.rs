//! Assignment rules (issue 13 §3): a company's ordered rules per entity (leads now, tickets
//! later), each with conditions on the record's fields (all must hold) and an action that names
//! the new owner — one user, a round-robin turn over a team or a list of users, or the
//! least-loaded of them — and optionally a follow-up task for that owner.
//!
//! Pure: a rule is validated here from its input ([`RuleInput::validate`], every mistake a
//! [`FieldErrors`] entry naming its place, e.g. `conditions[1].op`) and evaluated against a
//! record given as a JSON map of its fields ([`RuleSpec::matches`]). Choosing among a pool is
//! also here ([`round_robin_pick`], [`least_loaded`]); which users are in a pool, the cursor
//! and the open-lead counts are the store's (`rivet_store::assignment`).
//!
//! Text comparisons (equals, in, contains, territories, source) ignore case and surrounding
//! blanks; numbers (employee_count, annual_revenue, scores) compare exactly as decimals, whether
//! the record gives them as JSON numbers or decimal strings (`"12500.10"`).

use crate::choices::choice_enum;
use crate::ids::{TeamId, UserId};
use crate::leads::LEAD_FIELDS;
use crate::query::FieldKind;
use crate::validate::{FieldErrors, parse_name};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

choice_enum!(
    /// The kind of record a rule assigns.
    AssignmentEntity {
        Leads => "leads",
    }
);

choice_enum!(
    /// A condition's operator.
    ConditionOp {
        Equals => "equals",
        In => "in",
        Contains => "contains",
        Range => "range",
        Territory => "territory",
        Source => "source",
        Filled => "filled",
        FreeEmail => "free_email",
        WorkEmail => "work_email",
    }
);

choice_enum!(
    /// How a rule picks the owner.
    ActionKind {
        User => "user",
        RoundRobin => "round_robin",
        LeastLoaded => "least_loaded",
    }
);

/// Longest rule name and task title.
pub const MAX_NAME: usize = 200;
/// Most conditions per rule and values per list.
pub const MAX_CONDITIONS: usize = 50;
pub const MAX_VALUES: usize = 500;

impl AssignmentEntity {
    /// The fields a condition may test and their kinds: the entity's list fields (what its
    /// list filters by), times left out.
    pub fn fields(self) -> Vec<(&'static str, FieldKind)> {
        match self {
            Self::Leads => LEAD_FIELDS
                .iter()
                .filter(|s| !matches!(s.kind, FieldKind::Time))
                .map(|s| (s.name, s.kind))
                .collect(),
        }
    }
}

/// A condition as a client writes it (and as it is stored): `op` and the parts that operator
/// takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionInput {
    /// equals, in, contains, range, territory or source.
    pub op: String,
    /// The record field tested (not for territory and source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For equals and contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// For in and source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    /// For range: the least value that holds (a number or decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<Value>,
    /// For range: the greatest value that holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<Value>,
    /// For territory: the record's `country` is one of these…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<String>>,
    /// …or its `region` one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
}

/// A value a condition compares with: lower-cased text or an exact decimal (in micros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    Text(String),
    Number(i128),
}

/// A valid condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Equals {
        field: String,
        value: Scalar,
    },
    In {
        field: String,
        values: Vec<Scalar>,
    },
    /// A text field contains the text; a tags field has the tag.
    Contains {
        field: String,
        value: String,
    },
    Range {
        field: String,
        gte: Option<i128>,
        lte: Option<i128>,
    },
    Territory {
        countries: Vec<String>,
        regions: Vec<String>,
    },
    Source {
        values: Vec<String>,
    },
    /// The field has a value (text not blank, tags not empty).
    Filled {
        field: String,
    },
    /// The record's e-mail is at a free mail service (Gmail, Outlook, …).
    FreeEmail,
    /// The record has an e-mail and it is not at a free mail service.
    WorkEmail,
}

/// Who a round-robin or least-loaded rule chooses among.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pool {
    /// The team's active members, in the order of their ids.
    Team(TeamId),
    /// These users, in this order (inactive ones skipped).
    Users(Vec<UserId>),
}

/// A valid action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    User(UserId),
    RoundRobin(Pool),
    LeastLoaded(Pool),
}

impl RuleAction {
    /// Every user the action names.
    pub fn users(&self) -> &[UserId] {
        match self {
            Self::User(user) => std::slice::from_ref(user),
            Self::RoundRobin(Pool::Users(users)) | Self::LeastLoaded(Pool::Users(users)) => users,
            _ => &[],
        }
    }

    /// The team the action names.
    pub fn team(&self) -> Option<TeamId> {
        match self {
            Self::RoundRobin(Pool::Team(team)) | Self::LeastLoaded(Pool::Team(team)) => Some(*team),
            _ => None,
        }
    }
}

/// An action as a client writes it: `kind` and whom.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    /// user, round_robin or least_loaded.
    pub kind: String,
    /// For user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub user_id: Option<UserId>,
    /// For round_robin and least_loaded: these users in this order…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub user_ids: Option<Vec<UserId>>,
    /// …or this team's members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub team_id: Option<TeamId>,
}

/// The follow-up task a rule creates for the new owner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskInput {
    /// The task's subject.
    pub title: String,
}

/// A rule as a client writes it. On create `name` and `action` are required; on a change,
/// what is left out keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub name: Option<String>,
    /// Off: the rule is kept but never matches. Default on.
    pub active: Option<bool>,
    /// All must hold; none means every record matches.
    pub conditions: Option<Vec<ConditionInput>>,
    pub action: Option<ActionInput>,
    /// A follow-up task for the new owner; `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CreateTaskInput>)]
    pub create_task: Option<Option<CreateTaskInput>>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A valid rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub name: String,
    pub active: bool,
    pub conditions: Vec<Condition>,
    pub action: RuleAction,
    /// The title of the task to create for the new owner.
    pub task_title: Option<String>,
}

impl RuleInput {
    /// Check every part, naming each mistake (`conditions[0].field`, `action.user_ids`, …).
    pub fn validate(self, entity: AssignmentEntity) -> Result<RuleSpec, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = match self.name {
            Some(name) => errors.check("name", parse_name(&name, MAX_NAME)),
            None => {
                errors.add("name", "must not be empty");
                None
            }
        };
        let conditions = parse_conditions(entity, self.conditions, "conditions", &mut errors);
        let action = match self.action {
            Some(input) => action(input, &mut errors),
            None => {
                errors.add("action", "is required");
                None
            }
        };
        let task_title = match self.create_task.flatten() {
            Some(task) => errors
                .check("create_task.title", parse_name(&task.title, MAX_NAME))
                .map(Some),
            None => Some(None),
        };
        errors.into_result()?;
        match (name, action, task_title) {
            (Some(name), Some(action), Some(task_title)) => Ok(RuleSpec {
                name,
                active: self.active.unwrap_or(true),
                conditions,
                action,
                task_title,
            }),
            _ => Err(FieldErrors::single("action", "is invalid")),
        }
    }
}

impl RuleSpec {
    /// Whether the rule applies to `record`: active and every condition holds.
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        self.active && self.conditions.iter().all(|c| c.holds(record))
    }

    /// The rule as a client would write it (and as it is stored).
    pub fn to_input(&self) -> RuleInput {
        RuleInput {
            name: Some(self.name.clone()),
            active: Some(self.active),
            conditions: Some(self.conditions.iter().map(Condition::to_input).collect()),
            action: Some(self.action.to_input()),
            create_task: Some(
                self.task_title
                    .clone()
                    .map(|title| CreateTaskInput { title }),
            ),
        }
    }
}

/// Conditions as a client writes them (at most [`MAX_CONDITIONS`]), each mistake named by its
/// place (`{at}[1].op`); none given is none.
pub fn parse_conditions(
    entity: AssignmentEntity,
    inputs: Option<Vec<ConditionInput>>,
    at: &str,
    errors: &mut FieldErrors,
) -> Vec<Condition> {
    parse_conditions_on(&entity.fields(), inputs, at, errors)
}

/// [`parse_conditions`] over any record's fields (`(name, kind)`, what a condition may test):
/// the one condition language, for assignment rules and workflow rules alike.
pub fn parse_conditions_on(
    fields: &[(&'static str, FieldKind)],
    inputs: Option<Vec<ConditionInput>>,
    at: &str,
    errors: &mut FieldErrors,
) -> Vec<Condition> {
    let inputs = inputs.unwrap_or_default();
    if inputs.len() > MAX_CONDITIONS {
        errors.add(at, format!("at most {MAX_CONDITIONS} conditions"));
    }
    inputs
        .into_iter()
        .enumerate()
        .filter_map(|(i, c)| condition(fields, c, &format!("{at}[{i}]"), errors))
        .collect()
}

fn condition(
    fields: &[(&'static str, FieldKind)],
    input: ConditionInput,
    at: &str,
    errors: &mut FieldErrors,
) -> Option<Condition> {
    let before = errors.0.len();
    let op: Option<ConditionOp> = errors.check(&format!("{at}.op"), input.op.parse());
    let op = op?;
    let takes_field = !matches!(
        op,
        ConditionOp::Territory
            | ConditionOp::Source
            | ConditionOp::FreeEmail
            | ConditionOp::WorkEmail
    );
    // The parts an operator does not take are mistakes, not silently ignored.
    let parts = [
        ("field", input.field.is_some(), takes_field),
        (
            "value",
            input.value.is_some(),
            matches!(op, ConditionOp::Equals | ConditionOp::Contains),
        ),
        (
            "values",
            input.values.is_some(),
            matches!(op, ConditionOp::In | ConditionOp::Source),
        ),
        ("gte", input.gte.is_some(), op == ConditionOp::Range),
        ("lte", input.lte.is_some(), op == ConditionOp::Range),
        (
            "countries",
            input.countries.is_some(),
            op == ConditionOp::Territory,
        ),
        (
            "regions",
            input.regions.is_some(),
            op == ConditionOp::Territory,
        ),
    ];
    for (part, given, taken) in parts {
        if given && !taken {
            errors.add(&format!("{at}.{part}"), format!("is not used by {op}"));
        }
    }
    let field = if takes_field {
        match input.field.as_deref() {
            None => {
                errors.add(&format!("{at}.field"), "is required");
                None
            }
            Some(name) => match fields.iter().find(|(f, _)| *f == name).map(|(_, k)| *k) {
                None => {
                    errors.add(&format!("{at}.field"), format!("unknown field {name:?}"));
                    None
                }
                Some(kind) => {
                    if !op_fits(op, kind) {
                        errors.add(
                            &format!("{at}.op"),
                            format!("{op} does not apply to the field {name}"),
                        );
                    }
                    Some((name.to_owned(), kind))
                }
            },
        }
    } else {
        None
    };
    let built = match (op, field) {
        (ConditionOp::Equals, Some((field, kind))) => {
            scalar(kind, input.value, &format!("{at}.value"), errors)
                .map(|value| Condition::Equals { field, value })
        }
        (ConditionOp::In, Some((field, kind))) => {
            let values = list(input.values, &format!("{at}.values"), errors)
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| scalar(kind, Some(v), &format!("{at}.values[{i}]"), errors))
                .collect();
            Some(Condition::In { field, values })
        }
        (ConditionOp::Contains, Some((field, _))) => {
            text_value(input.value.as_ref(), &format!("{at}.value"), errors)
                .map(|value| Condition::Contains { field, value })
        }
        (ConditionOp::Range, Some((field, _))) => {
            let gte = bound(input.gte, &format!("{at}.gte"), errors);
            let lte = bound(input.lte, &format!("{at}.lte"), errors);
            if gte.is_none() && lte.is_none() {
                errors.add(&format!("{at}.gte"), "a range needs gte, lte or both");
            }
            if let (Some(low), Some(high)) = (gte, lte)
                && low > high
            {
                errors.add(&format!("{at}.lte"), "must not be less than gte");
            }
            Some(Condition::Range { field, gte, lte })
        }
        (ConditionOp::Territory, None) => {
            let countries = texts(input.countries, &format!("{at}.countries"), errors);
            let regions = texts(input.regions, &format!("{at}.regions"), errors);
            if countries.is_empty() && regions.is_empty() {
                errors.add(
                    &format!("{at}.countries"),
                    "a territory needs countries, regions or both",
                );
            }
            Some(Condition::Territory { countries, regions })
        }
        (ConditionOp::Source, None) => {
            let values = list(input.values, &format!("{at}.values"), errors)
                .iter()
                .enumerate()
                .filter_map(|(i, v)| text_value(Some(v), &format!("{at}.values[{i}]"), errors))
                .collect();
            Some(Condition::Source { values })
        }
        (ConditionOp::Filled, Some((field, _))) => Some(Condition::Filled { field }),
        (ConditionOp::FreeEmail, None) => Some(Condition::FreeEmail),
        (ConditionOp::WorkEmail, None) => Some(Condition::WorkEmail),
        _ => None,
    };
    if errors.0.len() > before {
        return None;
    }
    built
}

/// Whether `op` can test a field of `kind`.
fn op_fits(op: ConditionOp, kind: FieldKind) -> bool {
    use FieldKind as K;
    match op {
        ConditionOp::Equals | ConditionOp::In => {
            matches!(kind, K::Text | K::Id | K::Int | K::Money | K::Choice(_))
        }
        ConditionOp::Contains => matches!(kind, K::Text | K::Tags),
        ConditionOp::Range => matches!(kind, K::Int | K::Money),
        ConditionOp::Territory
        | ConditionOp::Source
        | ConditionOp::Filled
        | ConditionOp::FreeEmail
        | ConditionOp::WorkEmail => true,
    }
}

/// A non-empty list of at most [`MAX_VALUES`].
fn list(values: Option<Vec<Value>>, at: &str, errors: &mut FieldErrors) -> Vec<Value> {
    match values {
        Some(values) if values.is_empty() => {
            errors.add(at, "must not be empty");
            Vec::new()
        }
        Some(values) if values.len() > MAX_VALUES => {
            errors.add(at, format!("at most {MAX_VALUES} values"));
            Vec::new()
        }
        Some(values) => values,
        None => {
            errors.add(at, "is required");
            Vec::new()
        }
    }
}

/// Lower-cased, trimmed texts (a list that is given must not be empty).
fn texts(values: Option<Vec<String>>, at: &str, errors: &mut FieldErrors) -> Vec<String> {
    let Some(values) = values else {
        return Vec::new();
    };
    if values.is_empty() {
        errors.add(at, "must not be empty");
    }
    if values.len() > MAX_VALUES {
        errors.add(at, format!("at most {MAX_VALUES} values"));
    }
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let v = fold(v);
            if v.is_empty() {
                errors.add(&format!("{at}[{i}]"), "must not be empty");
                None
            } else {
                Some(v)
            }
        })
        .collect()
}

fn text_value(value: Option<&Value>, at: &str, errors: &mut FieldErrors) -> Option<String> {
    match value {
        Some(Value::String(s)) if !fold(s).is_empty() => Some(fold(s)),
        Some(Value::String(_)) => {
            errors.add(at, "must not be empty");
            None
        }
        Some(_) => {
            errors.add(at, "must be text");
            None
        }
        None => {
            errors.add(at, "is required");
            None
        }
    }
}

fn scalar(
    kind: FieldKind,
    value: Option<Value>,
    at: &str,
    errors: &mut FieldErrors,
) -> Option<Scalar> {
    match kind {
        FieldKind::Int | FieldKind::Money => match value.as_ref().and_then(number_of) {
            Some(n) => Some(Scalar::Number(n)),
            None => {
                errors.add(at, "must be a number");
                None
            }
        },
        FieldKind::Choice(names) => {
            let text = text_value(value.as_ref(), at, errors)?;
            if names.contains(&text.as_str()) {
                Some(Scalar::Text(text))
            } else {
                errors.add(at, format!("must be one of: {}", names.join(", ")));
                None
            }
        }
        _ => text_value(value.as_ref(), at, errors).map(Scalar::Text),
    }
}

fn bound(value: Option<Value>, at: &str, errors: &mut FieldErrors) -> Option<i128> {
    let value = value?;
    let n = number_of(&value);
    if n.is_none() {
        errors.add(at, "must be a number");
    }
    n
}

fn action(input: ActionInput, errors: &mut FieldErrors) -> Option<RuleAction> {
    let kind: ActionKind = errors.check("action.kind", input.kind.parse())?;
    let before = errors.0.len();
    if kind == ActionKind::User {
        for (part, given) in [
            ("user_ids", input.user_ids.is_some()),
            ("team_id", input.team_id.is_some()),
        ] {
            if given {
                errors.add(&format!("action.{part}"), format!("is not used by {kind}"));
            }
        }
        let Some(user) = input.user_id else {
            errors.add("action.user_id", "is required");
            return None;
        };
        return (errors.0.len() == before).then_some(RuleAction::User(user));
    }
    if input.user_id.is_some() {
        errors.add("action.user_id", format!("is not used by {kind}"));
    }
    let pool = match (input.user_ids, input.team_id) {
        (Some(_), Some(_)) => {
            errors.add("action.team_id", "give user_ids or team_id, not both");
            None
        }
        (Some(users), None) if users.is_empty() => {
            errors.add("action.user_ids", "must not be empty");
            None
        }
        (Some(users), None) if users.len() > MAX_VALUES => {
            errors.add("action.user_ids", format!("at most {MAX_VALUES} users"));
            None
        }
        (Some(users), None) => {
            let mut unique = users.clone();
            unique.sort();
            unique.dedup();
            if unique.len() != users.len() {
                errors.add("action.user_ids", "must not name a user twice");
            }
            Some(Pool::Users(users))
        }
        (None, Some(team)) => Some(Pool::Team(team)),
        (None, None) => {
            errors.add("action.user_ids", "give user_ids or team_id");
            None
        }
    };
    if errors.0.len() > before {
        return None;
    }
    pool.map(|pool| match kind {
        ActionKind::LeastLoaded => RuleAction::LeastLoaded(pool),
        _ => RuleAction::RoundRobin(pool),
    })
}

impl RuleAction {
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::User(_) => ActionKind::User,
            Self::RoundRobin(_) => ActionKind::RoundRobin,
            Self::LeastLoaded(_) => ActionKind::LeastLoaded,
        }
    }

    pub fn to_input(&self) -> ActionInput {
        let mut input = ActionInput {
            kind: self.kind().as_str().to_owned(),
            ..ActionInput::default()
        };
        match self {
            Self::User(user) => input.user_id = Some(*user),
            Self::RoundRobin(pool) | Self::LeastLoaded(pool) => match pool {
                Pool::Team(team) => input.team_id = Some(*team),
                Pool::Users(users) => input.user_ids = Some(users.clone()),
            },
        }
        input
    }
}

fn scalar_json(value: &Scalar) -> Value {
    match value {
        Scalar::Text(text) => Value::String(text.clone()),
        Scalar::Number(n) => Value::String(micros_text(*n)),
    }
}

impl Condition {
    pub fn to_input(&self) -> ConditionInput {
        let texts = |v: &[String]| Some(v.iter().map(|t| Value::String(t.clone())).collect());
        let nonempty = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
        match self {
            Self::Equals { field, value } => ConditionInput {
                op: "equals".into(),
                field: Some(field.clone()),
                value: Some(scalar_json(value)),
                ..ConditionInput::default()
            },
            Self::In { field, values } => ConditionInput {
                op: "in".into(),
                field: Some(field.clone()),
                values: Some(values.iter().map(scalar_json).collect()),
                ..ConditionInput::default()
            },
            Self::Contains { field, value } => ConditionInput {
                op: "contains".into(),
                field: Some(field.clone()),
                value: Some(Value::String(value.clone())),
                ..ConditionInput::default()
            },
            Self::Range { field, gte, lte } => ConditionInput {
                op: "range".into(),
                field: Some(field.clone()),
                gte: gte.map(|n| Value::String(micros_text(n))),
                lte: lte.map(|n| Value::String(micros_text(n))),
                ..ConditionInput::default()
            },
            Self::Territory { countries, regions } => ConditionInput {
                op: "territory".into(),
                countries: nonempty(countries),
                regions: nonempty(regions),
                ..ConditionInput::default()
            },
            Self::Source { values } => ConditionInput {
                op: "source".into(),
                values: texts(values),
                ..ConditionInput::default()
            },
            Self::Filled { field } => ConditionInput {
                op: "filled".into(),
                field: Some(field.clone()),
                ..ConditionInput::default()
            },
            Self::FreeEmail => ConditionInput {
                op: "free_email".into(),
                ..ConditionInput::default()
            },
            Self::WorkEmail => ConditionInput {
                op: "work_email".into(),
                ..ConditionInput::default()
            },
        }
    }

    /// Whether the condition holds for `record`. A field the record lacks (or has as `null`)
    /// holds no condition.
    pub fn holds(&self, record: &Map<String, Value>) -> bool {
        let text = |field: &str| record.get(field).and_then(text_of);
        match self {
            Self::Equals { field, value } => record.get(field).is_some_and(|v| scalar_is(v, value)),
            Self::In { field, values } => record
                .get(field)
                .is_some_and(|v| values.iter().any(|s| scalar_is(v, s))),
            Self::Contains { field, value } => match record.get(field) {
                Some(Value::Array(tags)) => {
                    tags.iter().filter_map(text_of).any(|tag| tag == *value)
                }
                Some(v) => text_of(v).is_some_and(|t| t.contains(value.as_str())),
                None => false,
            },
            Self::Range { field, gte, lte } => {
                record.get(field).and_then(number_of).is_some_and(|n| {
                    gte.is_none_or(|low| n >= low) && lte.is_none_or(|high| n <= high)
                })
            }
            Self::Territory { countries, regions } => {
                text("country").is_some_and(|c| countries.contains(&c))
                    || text("region").is_some_and(|r| regions.contains(&r))
            }
            Self::Source { values } => text("source").is_some_and(|s| values.contains(&s)),
            Self::Filled { field } => match record.get(field) {
                Some(Value::Array(items)) => !items.is_empty(),
                Some(Value::Object(map)) => !map.is_empty(),
                Some(v) => text_of(v).is_some(),
                None => false,
            },
            Self::FreeEmail => {
                email_domain(record).is_some_and(|d| crate::normalize::is_free_mail(&d))
            }
            Self::WorkEmail => {
                email_domain(record).is_some_and(|d| !crate::normalize::is_free_mail(&d))
            }
        }
    }
}

/// The domain of the record's `email`, folded.
fn email_domain(record: &Map<String, Value>) -> Option<String> {
    let email = record.get("email").and_then(text_of)?;
    let (_, domain) = email.rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.to_owned())
}

fn scalar_is(value: &Value, scalar: &Scalar) -> bool {
    match scalar {
        Scalar::Text(text) => text_of(value).is_some_and(|v| v == *text),
        Scalar::Number(n) => number_of(value) == Some(*n),
    }
}

/// Trimmed and lower-cased.
fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A record value as folded text (numbers and booleans as written); blank is no value.
fn text_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => fold(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// A JSON number or decimal string as micros (exact, six places at most).
pub fn number_of(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => decimal_micros(&n.to_string()),
        Value::String(s) => decimal_micros(s.trim()),
        _ => None,
    }
}

/// `-12.5` → -12_500_000; more than six decimals, exponents or anything else → `None`.
fn decimal_micros(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 24 || fraction.len() > 6 {
        return None;
    }
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = format!("{fraction:0<6}").parse().ok()?;
    let micros = whole.checked_mul(1_000_000)?.checked_add(fraction)?;
    Some(if negative { -micros } else { micros })
}

/// Micros as the shortest decimal text (`12500000` → `"12.5"`).
fn micros_text(micros: i128) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let whole = abs / 1_000_000;
    let fraction = abs % 1_000_000;
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = format!("{fraction:06}");
    format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
}

/// The indexes of `rules` that match `record`, in order.
pub fn matching<'a>(
    rules: &'a [RuleSpec],
    record: &'a Map<String, Value>,
) -> impl Iterator<Item = usize> + 'a {
    rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule.matches(record))
        .map(|(i, _)| i)
}

/// The user whose turn `turn` is (counted from 0 since the rule was made) among `pool`.
pub fn round_robin_pick(pool: &[UserId], turn: i64) -> Option<UserId> {
    let len = i64::try_from(pool.len()).ok().filter(|n| *n > 0)?;
    let at = usize::try_from(turn.rem_euclid(len)).ok()?;
    pool.get(at).copied()
}

/// The user of `pool` with the fewest open records in `load` (none counted is 0); on a tie, the
/// first in the pool's order.
pub fn least_loaded(pool: &[UserId], load: &HashMap<UserId, i64>) -> Option<UserId> {
    pool.iter()
        .copied()
        .enumerate()
        .min_by_key(|(i, user)| (load.get(user).copied().unwrap_or(0), *i))
        .map(|(_, user)| user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn rule(conditions: Value) -> Result<RuleSpec, FieldErrors> {
        let input: RuleInput = serde_json::from_value(json!({
            "name": "R",
            "conditions": conditions,
            "action": {"kind": "user", "user_id": UserId::new()},
        }))
        .map_err(|e| FieldErrors::single("json", e.to_string()))?;
        input.validate(AssignmentEntity::Leads)
    }

    fn fields_of(errors: FieldErrors) -> Vec<String> {
        errors.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn each_operator_holds_exactly_where_it_should() {
        let lead = record(json!({
            "country": " DE ", "region": "Bavaria", "source": "Web Form",
            "industry": "Software", "company_name": "Acme Robotics GmbH",
            "employee_count": 250, "annual_revenue": "12500000.50", "total_score": 71,
            "status": "new", "tags": ["VIP", "fair-2026"],
        }));
        let cases = [
            (
                json!([{"op": "equals", "field": "industry", "value": "SOFTWARE"}]),
                true,
            ),
            (
                json!([{"op": "equals", "field": "industry", "value": "Hardware"}]),
                false,
            ),
            (
                json!([{"op": "equals", "field": "employee_count", "value": 250}]),
                true,
            ),
            (
                json!([{"op": "equals", "field": "status", "value": "new"}]),
                true,
            ),
            (
                json!([{"op": "in", "field": "industry", "values": ["Retail", "software"]}]),
                true,
            ),
            (
                json!([{"op": "in", "field": "status", "values": ["contacted"]}]),
                false,
            ),
            (
                json!([{"op": "contains", "field": "company_name", "value": "robot"}]),
                true,
            ),
            (
                json!([{"op": "contains", "field": "company_name", "value": "ltd"}]),
                false,
            ),
            (
                json!([{"op": "contains", "field": "tags", "value": "vip"}]),
                true,
            ),
            (
                json!([{"op": "contains", "field": "tags", "value": "fair"}]),
                false,
            ),
            (
                json!([{"op": "range", "field": "employee_count", "gte": 100, "lte": 500}]),
                true,
            ),
            (
                json!([{"op": "range", "field": "employee_count", "gte": 251}]),
                false,
            ),
            (
                json!([{"op": "range", "field": "employee_count", "lte": 250}]),
                true,
            ),
            (
                json!([{"op": "range", "field": "annual_revenue", "gte": "12500000.5"}]),
                true,
            ),
            (
                json!([{"op": "range", "field": "annual_revenue", "gte": "12500000.51"}]),
                false,
            ),
            (
                json!([{"op": "range", "field": "total_score", "gte": 70, "lte": 100}]),
                true,
            ),
            (
                json!([{"op": "territory", "countries": ["de", "AT", "CH"]}]),
                true,
            ),
            (
                json!([{"op": "territory", "countries": ["FR"], "regions": ["bavaria"]}]),
                true,
            ),
            (
                json!([{"op": "territory", "countries": ["FR"], "regions": ["Texas"]}]),
                false,
            ),
            (
                json!([{"op": "source", "values": ["web form", "ads"]}]),
                true,
            ),
            (json!([{"op": "source", "values": ["import"]}]), false),
            // All must hold.
            (
                json!([
                    {"op": "territory", "countries": ["DE"]},
                    {"op": "source", "values": ["import"]},
                ]),
                false,
            ),
            // No condition: every record.
            (json!([]), true),
        ];
        for (conditions, expected) in cases {
            let spec = rule(conditions.clone()).unwrap_or_else(|e| panic!("{conditions}: {e:?}"));
            assert_eq!(spec.matches(&lead), expected, "{conditions}");
        }
    }

    #[test]
    fn a_missing_or_null_field_holds_no_condition() {
        let lead = record(json!({"country": null}));
        for conditions in [
            json!([{"op": "territory", "countries": ["DE"]}]),
            json!([{"op": "range", "field": "employee_count", "gte": 0}]),
            json!([{"op": "contains", "field": "company_name", "value": "a"}]),
            json!([{"op": "equals", "field": "industry", "value": "x"}]),
        ] {
            let spec = rule(conditions.clone()).unwrap_or_else(|e| panic!("{e:?}"));
            assert!(!spec.matches(&lead), "{conditions}");
        }
    }

    #[test]
    fn an_inactive_rule_never_matches() {
        let mut spec = rule(json!([])).unwrap_or_else(|e| panic!("{e:?}"));
        spec.active = false;
        assert!(!spec.matches(&Map::new()));
    }

    #[test]
    fn bad_conditions_are_named_by_their_place() {
        let cases = [
            (
                json!([{"op": "equals", "field": "shoe_size", "value": 1}]),
                "conditions[0].field",
            ),
            (
                json!([{"op": "like", "field": "industry", "value": "x"}]),
                "conditions[0].op",
            ),
            (
                json!([{"op": "range", "field": "industry", "gte": 1}]),
                "conditions[0].op",
            ),
            (
                json!([{"op": "contains", "field": "employee_count", "value": "1"}]),
                "conditions[0].op",
            ),
            (
                json!([{"op": "equals", "field": "employee_count", "value": "many"}]),
                "conditions[0].value",
            ),
            (
                json!([{"op": "equals", "field": "status", "value": "hot"}]),
                "conditions[0].value",
            ),
            (
                json!([{"op": "in", "field": "industry", "values": []}]),
                "conditions[0].values",
            ),
            (
                json!([{"op": "in", "field": "industry"}]),
                "conditions[0].values",
            ),
            (
                json!([{"op": "range", "field": "employee_count"}]),
                "conditions[0].gte",
            ),
            (
                json!([{"op": "range", "field": "employee_count", "gte": 9, "lte": 1}]),
                "conditions[0].lte",
            ),
            (
                json!([{"op": "range", "field": "annual_revenue", "gte": "1.0000001"}]),
                "conditions[0].gte",
            ),
            (json!([{"op": "territory"}]), "conditions[0].countries"),
            (
                json!([{"op": "territory", "countries": ["DE"], "field": "country"}]),
                "conditions[0].field",
            ),
            (
                json!([{"op": "source", "values": [""]}]),
                "conditions[0].values[0]",
            ),
            (
                json!([{"op": "equals", "value": "x"}]),
                "conditions[0].field",
            ),
            (
                json!([{"op": "equals", "field": "industry", "value": "x", "gte": 1}]),
                "conditions[0].gte",
            ),
            (
                json!([{"op": "equals", "field": "created_at", "value": "x"}]),
                "conditions[0].field",
            ),
            (
                json!([{"op": "source", "values": ["a"]}, {"op": "equals", "field": "x", "value": 1}]),
                "conditions[1].field",
            ),
        ];
        for (conditions, field) in cases {
            let errors = rule(conditions.clone()).err().unwrap_or_default();
            assert!(
                fields_of(errors.clone()).contains(&field.to_owned()),
                "{conditions}: {errors:?}"
            );
        }
    }

    #[test]
    fn bad_actions_are_named() {
        let user = UserId::new();
        let team = TeamId::new();
        let cases = [
            (json!({"kind": "random"}), "action.kind"),
            (json!({"kind": "user"}), "action.user_id"),
            (
                json!({"kind": "user", "user_id": user, "team_id": team}),
                "action.team_id",
            ),
            (
                json!({"kind": "round_robin", "user_ids": []}),
                "action.user_ids",
            ),
            (json!({"kind": "round_robin"}), "action.user_ids"),
            (
                json!({"kind": "round_robin", "user_ids": [user, user]}),
                "action.user_ids",
            ),
            (
                json!({"kind": "least_loaded", "user_ids": [user], "team_id": team}),
                "action.team_id",
            ),
            (
                json!({"kind": "least_loaded", "user_id": user, "team_id": team}),
                "action.user_id",
            ),
        ];
        for (action, field) in cases {
            let input: RuleInput =
                serde_json::from_value(json!({"name": "R", "action": action.clone()}))
                    .unwrap_or_else(|e| panic!("{e}"));
            let errors = input
                .validate(AssignmentEntity::Leads)
                .err()
                .unwrap_or_default();
            assert!(
                fields_of(errors.clone()).contains(&field.to_owned()),
                "{action}: {errors:?}"
            );
        }
        let none = RuleInput::default().validate(AssignmentEntity::Leads);
        let fields = fields_of(none.err().unwrap_or_default());
        assert!(fields.contains(&"name".to_owned()) && fields.contains(&"action".to_owned()));
    }

    #[test]
    fn unknown_json_fields_are_refused() {
        assert!(serde_json::from_value::<RuleInput>(json!({"nmae": "x"})).is_err());
        assert!(serde_json::from_value::<ConditionInput>(json!({"op": "in", "vals": []})).is_err());
        assert!(serde_json::from_value::<ActionInput>(json!({"kind": "user", "who": 1})).is_err());
    }

    #[test]
    fn a_rule_survives_its_own_input() {
        let spec = rule(json!([
            {"op": "equals", "field": "employee_count", "value": "10.50"},
            {"op": "in", "field": "industry", "values": ["A", "b"]},
            {"op": "contains", "field": "tags", "value": "VIP"},
            {"op": "range", "field": "annual_revenue", "gte": 1, "lte": "2.5"},
            {"op": "territory", "regions": ["Bavaria"]},
            {"op": "source", "values": ["Web"]},
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let again = spec.to_input().validate(AssignmentEntity::Leads);
        assert_eq!(again, Ok(spec));
    }

    #[test]
    fn round_robin_takes_turns_in_order() {
        let pool = [UserId::new(), UserId::new(), UserId::new()];
        let picks: Vec<_> = (0..7).filter_map(|t| round_robin_pick(&pool, t)).collect();
        assert_eq!(
            picks,
            [
                pool[0], pool[1], pool[2], pool[0], pool[1], pool[2], pool[0]
            ]
        );
        assert_eq!(round_robin_pick(&[], 3), None);
    }

    #[test]
    fn least_loaded_takes_the_fewest_and_the_first_on_a_tie() {
        let pool = [UserId::new(), UserId::new(), UserId::new()];
        let load = HashMap::from([(pool[0], 3), (pool[1], 1)]);
        assert_eq!(least_loaded(&pool, &load), Some(pool[2]));
        let load = HashMap::from([(pool[0], 1), (pool[1], 1), (pool[2], 1)]);
        assert_eq!(least_loaded(&pool, &load), Some(pool[0]));
        assert_eq!(least_loaded(&[], &load), None);
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal_micros("12.5"), Some(12_500_000));
        assert_eq!(decimal_micros("-0.000001"), Some(-1));
        assert_eq!(decimal_micros("1e3"), None);
        assert_eq!(decimal_micros("."), None);
        assert_eq!(decimal_micros("1.1234567"), None);
        assert_eq!(micros_text(12_500_000), "12.5");
        assert_eq!(micros_text(-1), "-0.000001");
        assert_eq!(micros_text(3_000_000), "3");
    }
}
