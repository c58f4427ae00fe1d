//! Workflow rules (issue 15 §5): a company's "when this happens to a record like that, do these
//! things" — a trigger (an outbox event, optionally only when certain fields changed, or a
//! schedule: no activity for N days, N days before a deal's close date, a task overdue),
//! conditions on the record's fields (all must hold; the condition language of assignment rules,
//! [`crate::assignment`], not a second one) and ordered actions (create a task, update a field,
//! assign the owner, add a tag, call a webhook, send an e-mail template, enroll in or remove
//! from a sequence, send a WhatsApp template).
//!
//! Pure: a rule is validated from its input ([`WorkflowRuleInput`] → [`WorkflowRule::validate`], every
//! mistake named by its place, `actions[1].field`), and evaluated against an event and the
//! record as it is now ([`WorkflowRule::evaluate`]), which also says what each condition came to
//! for the dry run. Running the actions, the execution log and the schedule's queries are the
//! store's (`rivet_store::workflows`).
//!
//! # Loops
//! The events a rule's actions write carry the chain that caused them ([`Chain`]: how deep and
//! which rules), so a rule that reacts to its own change stops after `max_depth` turns
//! ([`WorkflowRule::loop_stop`]) and the log says "stopped: loop".

use crate::assignment::{Condition, ConditionInput, Pool, parse_conditions_on};
use crate::choices::choice_enum;
use crate::ids::{EmailTemplateId, SequenceId, TeamId, UserId, WebhookId};
use crate::query::FieldKind;
use crate::sequences::{is_business_day, local_instant};
use crate::validate::{FieldErrors, parse_name};
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

choice_enum!(
    /// The kind of record a rule is about.
    WorkflowRecord {
        Lead => "lead",
        Account => "account",
        Contact => "contact",
        Deal => "deal",
        Task => "task",
    }
);

choice_enum!(
    /// What starts a rule: an event, or one of the schedules the hourly check runs.
    TriggerKind {
        Event => "event",
        NoActivity => "no_activity",
        BeforeCloseDate => "before_close_date",
        TaskOverdue => "task_overdue",
    }
);

choice_enum!(
    /// What an action does. The messages (`send_email_template`, `send_whatsapp_template`) and
    /// `call_webhook` go out from jobs, once each; the others change the database in the rule's
    /// transaction.
    ActionKind {
        CreateTask => "create_task",
        UpdateField => "update_field",
        AssignOwner => "assign_owner",
        AddTag => "add_tag",
        CallWebhook => "call_webhook",
        SendEmailTemplate => "send_email_template",
        EnrollInSequence => "enroll_in_sequence",
        RemoveFromSequence => "remove_from_sequence",
        SendWhatsappTemplate => "send_whatsapp_template",
    }
);

choice_enum!(
    /// Whom a created task goes to.
    AssigneeKind {
        Owner => "owner",
        User => "user",
        RoundRobin => "round_robin",
    }
);

/// Longest rule name, task subject and tag; longest description.
pub const MAX_NAME: usize = 200;
pub const MAX_DESCRIPTION: usize = 2_000;
pub const MAX_TAG: usize = 50;
/// Most actions per rule.
pub const MAX_ACTIONS: usize = 20;
/// A task is due at most this many business days out; a schedule looks at most this far.
pub const MAX_DAYS: u32 = 365;
/// The most business hours an SLA task may be due in (a year of eight-hour days).
pub const MAX_HOURS: u32 = 8 * MAX_DAYS;
/// Business hours, in the company's time zone: 09:00 to 17:00, Monday to Friday.
pub const BUSINESS_OPENS: u32 = 9;
pub const BUSINESS_CLOSES: u32 = 17;
/// The default and the largest `max_depth`.
pub const DEFAULT_MAX_DEPTH: u32 = 3;
pub const MAX_DEPTH: u32 = 10;
/// The key of the chain in the payload of an event a rule's action wrote.
pub const CHAIN_KEY: &str = "workflow";

impl WorkflowRecord {
    /// The permission and audit resource of the record (`leads`).
    pub fn resource(self) -> &'static str {
        match self {
            Self::Lead => "leads",
            Self::Account => "accounts",
            Self::Contact => "contacts",
            Self::Deal => "deals",
            Self::Task => "tasks",
        }
    }

    /// The fields a condition may test: the record's list fields, times left out.
    pub fn condition_fields(self) -> Vec<(&'static str, FieldKind)> {
        fn of<F>(specs: &[crate::query::FieldSpec<F>]) -> Vec<(&'static str, FieldKind)> {
            let mut out: Vec<(&'static str, FieldKind)> = Vec::new();
            for spec in specs {
                if !matches!(spec.kind, FieldKind::Time)
                    && !out.iter().any(|(n, _)| *n == spec.name)
                {
                    out.push((spec.name, spec.kind));
                }
            }
            out
        }
        match self {
            Self::Lead => of(crate::leads::LEAD_FIELDS),
            Self::Account => of(crate::accounts::ACCOUNT_FIELDS),
            Self::Contact => of(crate::contacts::CONTACT_FIELDS),
            Self::Deal => of(crate::deals::DEAL_FIELDS),
            Self::Task => of(crate::tasks::TASK_FIELDS),
        }
    }

    /// The fields `update_field` may set: what a client writes to the record (its input's
    /// properties), less the owner (`assign_owner`), tags (`add_tag`), custom fields and what
    /// Rivet computes.
    pub fn writable_fields(self) -> Vec<String> {
        use utoipa::PartialSchema;
        let schema = match self {
            Self::Lead => crate::leads::LeadInput::schema(),
            Self::Account => crate::accounts::AccountInput::schema(),
            Self::Contact => crate::contacts::ContactInput::schema(),
            Self::Deal => crate::deals::DealInput::schema(),
            Self::Task => crate::tasks::TaskInput::schema(),
        };
        let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(object)) = schema
        else {
            return Vec::new();
        };
        object
            .properties
            .keys()
            .filter(|name| {
                !matches!(
                    name.as_str(),
                    "owner_id" | "assignee_id" | "tags" | "custom_fields" | "checklist"
                ) && !name.ends_with("_score")
            })
            .cloned()
            .collect()
    }

    /// The event types a rule on this record may react to: its own, for every record but a
    /// task the activity logged on it, and for leads and contacts the messages they got or
    /// sent (`email.replied`, `whatsapp.received`, …).
    pub fn event_types(self) -> Vec<String> {
        let prefix = format!("{}.", self.as_str());
        let mut types: Vec<String> = crate::events::known_types()
            .into_iter()
            .filter(|t| t.starts_with(&prefix))
            .collect();
        if self != Self::Task {
            types.push("activity.logged".into());
        }
        if matches!(self, Self::Lead | Self::Contact) {
            types.extend(crate::events::MESSAGE_TYPES.iter().map(|t| (*t).to_owned()));
        }
        types
    }

    fn has_tags(self) -> bool {
        self != Self::Task
    }

    /// Whether the record is a person a message or a sequence can reach (a lead or contact).
    pub fn is_person(self) -> bool {
        matches!(self, Self::Lead | Self::Contact)
    }
}

/// A rule's trigger as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowTriggerInput {
    /// event, no_activity (leads and deals), before_close_date (deals) or task_overdue (tasks).
    pub kind: String,
    /// For event: the event type (`lead.created`, `deal.stage_changed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// For an `*.updated` event: only when one of these fields changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Vec<String>>,
    /// For no_activity and before_close_date: how many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 365)]
    pub days: Option<u32>,
}

/// Whom a created task goes to, as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowAssigneeInput {
    /// owner (the record's owner), user, or round_robin.
    pub kind: String,
    /// For user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub user_id: Option<UserId>,
    /// For round_robin: these users in turn…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub user_ids: Option<Vec<UserId>>,
    /// …or this team's active members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub team_id: Option<TeamId>,
}

/// An action as a client writes it: `kind` and the parts it takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowActionInput {
    /// create_task, update_field, assign_owner, add_tag, call_webhook, send_email_template,
    /// enroll_in_sequence, remove_from_sequence or send_whatsapp_template.
    pub kind: String,
    /// create_task: the task's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// create_task: due this many business days (Monday to Friday in the company's time
    /// zone) after the trigger; 0 is the same day. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 365)]
    pub due_in_business_days: Option<u32>,
    /// create_task, for an SLA: due this many business hours (Monday to Friday, 09:00–17:00
    /// in the company's time zone) after the trigger, instead of days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2920)]
    pub due_in_business_hours: Option<u32>,
    /// create_task: when the task is overdue and still open, the hourly check tells the
    /// assignee's team manager (a notification). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to_manager: Option<bool>,
    /// create_task: whom it goes to (default the record's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<WorkflowAssigneeInput>,
    /// update_field: the field set, through the record's own validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// update_field: its new value (`null` clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// assign_owner: the new owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub user_id: Option<UserId>,
    /// add_tag: the tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// call_webhook: the http(s) URL posted the event, the rule and the record (unsigned)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// …or one of the company's webhooks: posted to its URL and signed with its secret
    /// (`X-Rivet-Signature`, as its event deliveries are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub webhook_id: Option<WebhookId>,
    /// send_email_template: one of the company's e-mail templates for the rule's record type,
    /// sent to the lead's or contact's address (a deal's: its primary contact's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub template_id: Option<EmailTemplateId>,
    /// enroll_in_sequence, remove_from_sequence: one of the company's sequences enrolling the
    /// rule's record type (leads or contacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub sequence_id: Option<SequenceId>,
    /// send_whatsapp_template: the approved template's name (lower case, digits, `_`)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// …its language code (`en`, `en_US`)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// …and the values of its `{{1}}`, `{{2}}`, … in order (literal text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<String>>,
}

/// A rule as a client writes it (whole; a change replaces it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRuleInput {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Off: kept, never runs. Default on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// lead, account, contact, deal or task.
    pub record_type: String,
    pub trigger: WorkflowTriggerInput,
    /// All must hold on the record as it is when the rule runs; none: every record.
    #[serde(default)]
    pub conditions: Vec<ConditionInput>,
    /// Run in order; at least one.
    pub actions: Vec<WorkflowActionInput>,
    /// How many turns of a chain of rules this rule may take part in (default 3, at most 10):
    /// deeper, it stops and the log says "stopped: loop".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10)]
    pub max_depth: Option<u32>,
}

/// A valid trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Event {
        event: String,
        /// Empty: any change.
        changed: Vec<String>,
    },
    NoActivity {
        days: u32,
    },
    BeforeCloseDate {
        days: u32,
    },
    TaskOverdue,
}

/// When a created task is due, counted from the trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    BusinessDays(u32),
    BusinessHours(u32),
}

impl Due {
    /// The due time for a task created at `from`, counted in the company's time zone `tz`.
    pub fn after(self, from: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        match self {
            Self::BusinessDays(days) => add_business_days(from, days, tz),
            Self::BusinessHours(hours) => add_business_hours(from, hours, tz),
        }
    }
}

/// Whom a created task goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Owner,
    User(UserId),
    RoundRobin(Pool),
}

/// A valid action.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleAction {
    CreateTask {
        subject: String,
        due: Due,
        assignee: Assignee,
        /// Tell the assignee's team manager when it is overdue (an SLA task).
        escalate_to_manager: bool,
    },
    UpdateField {
        field: String,
        value: Value,
    },
    AssignOwner {
        user_id: UserId,
    },
    AddTag {
        tag: String,
    },
    CallWebhook {
        target: WebhookTarget,
    },
    SendEmailTemplate {
        template_id: EmailTemplateId,
    },
    EnrollInSequence {
        sequence_id: SequenceId,
    },
    RemoveFromSequence {
        sequence_id: SequenceId,
    },
    SendWhatsappTemplate {
        /// Always [`crate::whatsapp::Outgoing::Template`].
        message: crate::whatsapp::Outgoing,
    },
}

/// Where `call_webhook` posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookTarget {
    /// A URL of the rule's own: the post is not signed (a rule keeps no secret).
    Url(String),
    /// One of the company's webhooks: its URL, signed with its secret, which stays in the
    /// webhook (the rule and the job name only the webhook).
    Webhook(WebhookId),
}

/// A valid workflow rule.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowRule {
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub record_type: WorkflowRecord,
    pub trigger: Trigger,
    /// As written (what the rule shows back)…
    pub condition_inputs: Vec<ConditionInput>,
    /// …and as evaluated.
    pub conditions: Vec<Condition>,
    pub actions: Vec<RuleAction>,
    pub max_depth: u32,
}

impl WorkflowRule {
    /// Check every part of `input`, naming each mistake by its place.
    pub fn validate(input: WorkflowRuleInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", parse_name(&input.name, MAX_NAME));
        let description = input
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            errors.add(
                "description",
                format!("must be at most {MAX_DESCRIPTION} characters"),
            );
        }
        let record_type: Option<WorkflowRecord> =
            errors.check("record_type", input.record_type.parse());
        let max_depth = input.max_depth.unwrap_or(DEFAULT_MAX_DEPTH);
        if !(1..=MAX_DEPTH).contains(&max_depth) {
            errors.add("max_depth", format!("must be between 1 and {MAX_DEPTH}"));
        }
        let Some(record_type) = record_type else {
            errors.into_result()?;
            return Err(FieldErrors::single("record_type", "is invalid"));
        };
        let trigger = trigger(record_type, input.trigger, &mut errors);
        let conditions = parse_conditions_on(
            &record_type.condition_fields(),
            Some(input.conditions.clone()),
            "conditions",
            &mut errors,
        );
        if input.actions.is_empty() {
            errors.add("actions", "must have at least one action");
        }
        if input.actions.len() > MAX_ACTIONS {
            errors.add("actions", format!("at most {MAX_ACTIONS} actions"));
        }
        let actions: Vec<RuleAction> = input
            .actions
            .into_iter()
            .enumerate()
            .filter_map(|(i, a)| action(record_type, a, &format!("actions[{i}]"), &mut errors))
            .collect();
        errors.into_result()?;
        match (name, trigger) {
            (Some(name), Some(trigger)) => Ok(Self {
                name,
                description,
                active: input.active.unwrap_or(true),
                record_type,
                trigger,
                condition_inputs: input.conditions,
                conditions,
                actions,
                max_depth,
            }),
            _ => Err(FieldErrors::single("trigger", "is invalid")),
        }
    }

    /// The rule as a client would write it (and as it is stored).
    pub fn to_input(&self) -> WorkflowRuleInput {
        WorkflowRuleInput {
            name: self.name.clone(),
            description: self.description.clone(),
            active: Some(self.active),
            record_type: self.record_type.as_str().to_owned(),
            trigger: self.trigger.to_input(),
            conditions: self.condition_inputs.clone(),
            actions: self.actions.iter().map(RuleAction::to_input).collect(),
            max_depth: Some(self.max_depth),
        }
    }

    /// Every user the rule names (checked to be members of the company on save).
    pub fn users(&self) -> Vec<UserId> {
        let mut users = Vec::new();
        for action in &self.actions {
            match action {
                RuleAction::AssignOwner { user_id }
                | RuleAction::CreateTask {
                    assignee: Assignee::User(user_id),
                    ..
                } => users.push(*user_id),
                RuleAction::CreateTask {
                    assignee: Assignee::RoundRobin(Pool::Users(pool)),
                    ..
                } => users.extend(pool.iter().copied()),
                _ => {}
            }
        }
        users
    }

    /// Every team the rule names.
    pub fn teams(&self) -> Vec<TeamId> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                RuleAction::CreateTask {
                    assignee: Assignee::RoundRobin(Pool::Team(team)),
                    ..
                } => Some(*team),
                _ => None,
            })
            .collect()
    }

    /// The event type the rule listens to, if it is started by events.
    pub fn event_type(&self) -> Option<&str> {
        match &self.trigger {
            Trigger::Event { event, .. } => Some(event),
            _ => None,
        }
    }

    /// Whether an event of `event_type` whose payload is `data` starts the rule (its type, and
    /// for a `changed` filter one of the fields in the payload's `changes`).
    pub fn triggered_by(&self, event_type: &str, data: &Value) -> bool {
        let Trigger::Event { event, changed } = &self.trigger else {
            return false;
        };
        if event != event_type {
            return false;
        }
        changed.is_empty()
            || data
                .get("changes")
                .and_then(Value::as_object)
                .is_some_and(|changes| changed.iter().any(|f| changes.contains_key(f)))
    }

    /// Why the rule must not run on an event of `chain`, if so: it already ran `max_depth`
    /// times in this chain, or the chain is longer than any rule may go.
    pub fn loop_stop(&self, chain: &Chain, rule_id: Uuid) -> Option<String> {
        let own = chain.rules.iter().filter(|r| **r == rule_id).count();
        let own = u32::try_from(own).unwrap_or(u32::MAX);
        if own >= self.max_depth || chain.depth >= MAX_DEPTH {
            return Some(format!(
                "stopped: loop (this event is turn {} of a chain of rules; the rule allows {})",
                chain.depth, self.max_depth
            ));
        }
        None
    }

    /// What each condition comes to on `record`, in order.
    pub fn evaluate(&self, record: &Map<String, Value>) -> Evaluation {
        let conditions: Vec<WorkflowConditionResult> = self
            .conditions
            .iter()
            .zip(&self.condition_inputs)
            .map(|(c, input)| WorkflowConditionResult {
                condition: input.clone(),
                met: c.holds(record),
            })
            .collect();
        Evaluation {
            matched: conditions.iter().all(|c| c.met),
            conditions,
        }
    }
}

/// What a rule's conditions came to on one record.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// Every condition held.
    pub matched: bool,
    pub conditions: Vec<WorkflowConditionResult>,
}

/// One condition and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowConditionResult {
    pub condition: ConditionInput,
    pub met: bool,
}

/// The chain of rules an event came from: written into the payload of every event a rule's
/// actions cause (`"workflow": {"depth": 1, "rules": [...]}`); an event a person caused has
/// none (depth 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub depth: u32,
    /// The rules that ran, oldest first.
    pub rules: Vec<Uuid>,
}

impl Chain {
    /// The chain an event's payload carries (none: a person's change).
    pub fn of(data: &Value) -> Chain {
        data.get(CHAIN_KEY)
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default()
    }

    /// The chain of what `rule` does in reaction to an event of this chain.
    pub fn then(&self, rule: Uuid) -> Chain {
        let mut rules = self.rules.clone();
        rules.push(rule);
        Chain {
            depth: self.depth + 1,
            rules,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "depth": self.depth, "rules": self.rules })
    }
}

/// `days` business days (Monday to Friday in the company's time zone `tz`) after `from`, at
/// the same local time; a start on a weekend counts from the Monday after.
pub fn add_business_days(from: DateTime<Utc>, days: u32, tz: Tz) -> DateTime<Utc> {
    let local = from.with_timezone(&tz);
    let mut date = local.date_naive();
    while !is_business_day(date.weekday()) {
        date = date.succ_opt().unwrap_or(date);
    }
    let start = local_instant(tz, date.and_time(local.time())).unwrap_or(from);
    crate::sequences::add_business_days(start, days, tz)
}

/// `hours` business hours ([`BUSINESS_OPENS`]:00 to [`BUSINESS_CLOSES`]:00, Monday to Friday,
/// in the company's time zone `tz`) after `from`; a start outside them counts from the next
/// opening. What an SLA task is due by. The hours are real ones: a day the clocks change on
/// still has eight of them.
pub fn add_business_hours(from: DateTime<Utc>, hours: u32, tz: Tz) -> DateTime<Utc> {
    let hour = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
    let (opens, closes) = (hour(BUSINESS_OPENS), hour(BUSINESS_CLOSES));
    let mut left = Duration::hours(i64::from(hours));
    let mut date = from.with_timezone(&tz).date_naive();
    loop {
        let day = (
            local_instant(tz, date.and_time(opens)),
            local_instant(tz, date.and_time(closes)),
        );
        if let (true, Some(opening), Some(closing)) =
            (is_business_day(date.weekday()), day.0, day.1)
        {
            let start = from.max(opening);
            if start < closing {
                if left <= closing - start {
                    return start + left;
                }
                left -= closing - start;
            }
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => return from + left,
        }
    }
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Self::Event { .. } => TriggerKind::Event,
            Self::NoActivity { .. } => TriggerKind::NoActivity,
            Self::BeforeCloseDate { .. } => TriggerKind::BeforeCloseDate,
            Self::TaskOverdue => TriggerKind::TaskOverdue,
        }
    }

    pub fn to_input(&self) -> WorkflowTriggerInput {
        let mut input = WorkflowTriggerInput {
            kind: self.kind().as_str().to_owned(),
            ..WorkflowTriggerInput::default()
        };
        match self {
            Self::Event { event, changed } => {
                input.event = Some(event.clone());
                input.changed = (!changed.is_empty()).then(|| changed.clone());
            }
            Self::NoActivity { days } | Self::BeforeCloseDate { days } => input.days = Some(*days),
            Self::TaskOverdue => {}
        }
        input
    }

    /// The trigger in words, for lists (`lead.updated (status changed)`, `no activity for 14
    /// days`).
    pub fn describe(&self) -> String {
        match self {
            Self::Event { event, changed } if changed.is_empty() => event.clone(),
            Self::Event { event, changed } => format!("{event} ({} changed)", changed.join(", ")),
            Self::NoActivity { days } => format!("no activity for {days} days"),
            Self::BeforeCloseDate { days } => format!("{days} days before the close date"),
            Self::TaskOverdue => "task overdue".into(),
        }
    }
}

fn trigger(
    record: WorkflowRecord,
    input: WorkflowTriggerInput,
    errors: &mut FieldErrors,
) -> Option<Trigger> {
    let kind: TriggerKind = errors.check("trigger.kind", input.kind.parse())?;
    let before = errors.0.len();
    let takes = [
        ("event", input.event.is_some(), kind == TriggerKind::Event),
        (
            "changed",
            input.changed.is_some(),
            kind == TriggerKind::Event,
        ),
        (
            "days",
            input.days.is_some(),
            matches!(kind, TriggerKind::NoActivity | TriggerKind::BeforeCloseDate),
        ),
    ];
    for (part, given, taken) in takes {
        if given && !taken {
            errors.add(&format!("trigger.{part}"), format!("is not used by {kind}"));
        }
    }
    let days = |errors: &mut FieldErrors| match input.days {
        Some(days) if (1..=MAX_DAYS).contains(&days) => Some(days),
        Some(_) => {
            errors.add("trigger.days", format!("must be between 1 and {MAX_DAYS}"));
            None
        }
        None => {
            errors.add("trigger.days", "is required");
            None
        }
    };
    let built = match kind {
        TriggerKind::Event => {
            let event = match input.event.as_deref() {
                None => {
                    errors.add("trigger.event", "is required");
                    None
                }
                Some(event) if !record.event_types().iter().any(|t| t == event) => {
                    let known = crate::events::known_types().iter().any(|t| t == event);
                    let message = if known {
                        format!(
                            "is not an event of a {record}; one of: {}",
                            record.event_types().join(", ")
                        )
                    } else {
                        format!(
                            "unknown event type {event:?}; one of: {}",
                            record.event_types().join(", ")
                        )
                    };
                    errors.add("trigger.event", message);
                    None
                }
                Some(event) => Some(event.to_owned()),
            };
            let changed = input.changed.unwrap_or_default();
            if !changed.is_empty() && event.as_deref().is_some_and(|e| !e.ends_with(".updated")) {
                errors.add(
                    "trigger.changed",
                    "only an *.updated event says which fields changed",
                );
            }
            let fields = record.condition_fields();
            let writable = record.writable_fields();
            for (i, field) in changed.iter().enumerate() {
                let known = fields.iter().any(|(f, _)| f == field)
                    || writable.iter().any(|f| f == field)
                    || matches!(field.as_str(), "owner_id" | "assignee_id" | "tags");
                if !known {
                    errors.add(
                        &format!("trigger.changed[{i}]"),
                        format!("unknown field {field:?}"),
                    );
                }
            }
            event.map(|event| Trigger::Event { event, changed })
        }
        TriggerKind::NoActivity => {
            if !matches!(record, WorkflowRecord::Lead | WorkflowRecord::Deal) {
                errors.add("trigger.kind", "no_activity is for leads and deals");
            }
            days(errors).map(|days| Trigger::NoActivity { days })
        }
        TriggerKind::BeforeCloseDate => {
            if record != WorkflowRecord::Deal {
                errors.add("trigger.kind", "before_close_date is for deals");
            }
            days(errors).map(|days| Trigger::BeforeCloseDate { days })
        }
        TriggerKind::TaskOverdue => {
            if record != WorkflowRecord::Task {
                errors.add("trigger.kind", "task_overdue is for tasks");
            }
            Some(Trigger::TaskOverdue)
        }
    };
    (errors.0.len() == before).then_some(built).flatten()
}

fn action(
    record: WorkflowRecord,
    input: WorkflowActionInput,
    at: &str,
    errors: &mut FieldErrors,
) -> Option<RuleAction> {
    let kind: ActionKind = errors.check(&format!("{at}.kind"), input.kind.parse())?;
    let before = errors.0.len();
    let takes = [
        (
            "subject",
            input.subject.is_some(),
            kind == ActionKind::CreateTask,
        ),
        (
            "due_in_business_days",
            input.due_in_business_days.is_some(),
            kind == ActionKind::CreateTask,
        ),
        (
            "due_in_business_hours",
            input.due_in_business_hours.is_some(),
            kind == ActionKind::CreateTask,
        ),
        (
            "escalate_to_manager",
            input.escalate_to_manager.is_some(),
            kind == ActionKind::CreateTask,
        ),
        (
            "assignee",
            input.assignee.is_some(),
            kind == ActionKind::CreateTask,
        ),
        (
            "field",
            input.field.is_some(),
            kind == ActionKind::UpdateField,
        ),
        (
            "value",
            input.value.is_some(),
            kind == ActionKind::UpdateField,
        ),
        (
            "user_id",
            input.user_id.is_some(),
            kind == ActionKind::AssignOwner,
        ),
        ("tag", input.tag.is_some(), kind == ActionKind::AddTag),
        ("url", input.url.is_some(), kind == ActionKind::CallWebhook),
        (
            "webhook_id",
            input.webhook_id.is_some(),
            kind == ActionKind::CallWebhook,
        ),
        (
            "template_id",
            input.template_id.is_some(),
            kind == ActionKind::SendEmailTemplate,
        ),
        (
            "sequence_id",
            input.sequence_id.is_some(),
            matches!(
                kind,
                ActionKind::EnrollInSequence | ActionKind::RemoveFromSequence
            ),
        ),
        (
            "template",
            input.template.is_some(),
            kind == ActionKind::SendWhatsappTemplate,
        ),
        (
            "language",
            input.language.is_some(),
            kind == ActionKind::SendWhatsappTemplate,
        ),
        (
            "parameters",
            input.parameters.is_some(),
            kind == ActionKind::SendWhatsappTemplate,
        ),
    ];
    for (part, given, taken) in takes {
        if given && !taken {
            errors.add(&format!("{at}.{part}"), format!("is not used by {kind}"));
        }
    }
    let required = |errors: &mut FieldErrors, part: &str| {
        errors.add(&format!("{at}.{part}"), "is required");
    };
    let built = match kind {
        ActionKind::CreateTask => {
            let subject = match input.subject.as_deref() {
                Some(subject) => {
                    errors.check(&format!("{at}.subject"), parse_name(subject, MAX_NAME))
                }
                None => {
                    required(errors, "subject");
                    None
                }
            };
            let due = match (input.due_in_business_days, input.due_in_business_hours) {
                (Some(_), Some(_)) => {
                    errors.add(
                        &format!("{at}.due_in_business_hours"),
                        "give due_in_business_days or due_in_business_hours, not both",
                    );
                    None
                }
                (Some(days), None) if days > MAX_DAYS => {
                    errors.add(
                        &format!("{at}.due_in_business_days"),
                        format!("must be at most {MAX_DAYS}"),
                    );
                    None
                }
                (None, Some(hours)) if !(1..=MAX_HOURS).contains(&hours) => {
                    errors.add(
                        &format!("{at}.due_in_business_hours"),
                        format!("must be between 1 and {MAX_HOURS}"),
                    );
                    None
                }
                (None, Some(hours)) => Some(Due::BusinessHours(hours)),
                (days, None) => Some(Due::BusinessDays(days.unwrap_or(0))),
            };
            let assignee = match input.assignee {
                None => Some(Assignee::Owner),
                Some(a) => assignee(a, &format!("{at}.assignee"), errors),
            };
            match (subject, assignee, due) {
                (Some(subject), Some(assignee), Some(due)) => Some(RuleAction::CreateTask {
                    subject,
                    due,
                    assignee,
                    escalate_to_manager: input.escalate_to_manager.unwrap_or(false),
                }),
                _ => None,
            }
        }
        ActionKind::UpdateField => {
            let field = match input.field {
                Some(field) if record.writable_fields().contains(&field) => Some(field),
                Some(field) => {
                    errors.add(
                        &format!("{at}.field"),
                        format!(
                            "unknown field {field:?}; a {record} rule may set: {}",
                            record.writable_fields().join(", ")
                        ),
                    );
                    None
                }
                None => {
                    required(errors, "field");
                    None
                }
            };
            if let (Some(field), Some(Value::String(value))) = (&field, &input.value)
                && let Some((_, FieldKind::Choice(names))) = record
                    .condition_fields()
                    .into_iter()
                    .find(|(f, _)| f == field)
                && !names.contains(&value.as_str())
            {
                errors.add(
                    &format!("{at}.value"),
                    format!("must be one of: {}", names.join(", ")),
                );
            }
            if matches!(input.value, Some(Value::Object(_) | Value::Array(_))) {
                errors.add(
                    &format!("{at}.value"),
                    "must be text, a number, true/false or null",
                );
            }
            field.map(|field| RuleAction::UpdateField {
                field,
                value: input.value.unwrap_or(Value::Null),
            })
        }
        ActionKind::AssignOwner => match input.user_id {
            Some(user_id) => Some(RuleAction::AssignOwner { user_id }),
            None => {
                required(errors, "user_id");
                None
            }
        },
        ActionKind::AddTag => {
            if !record.has_tags() {
                errors.add(&format!("{at}.kind"), format!("a {record} has no tags"));
            }
            match input.tag.as_deref() {
                Some(tag) => errors
                    .check(&format!("{at}.tag"), parse_name(tag, MAX_TAG))
                    .map(|tag| RuleAction::AddTag { tag }),
                None => {
                    required(errors, "tag");
                    None
                }
            }
        }
        ActionKind::CallWebhook => match (input.url.as_deref(), input.webhook_id) {
            // Private addresses are checked when the call is made, with the server's setting.
            (Some(url), None) => errors
                .check(
                    &format!("{at}.url"),
                    crate::events::parse_webhook_url(url, true),
                )
                .map(|url| RuleAction::CallWebhook {
                    target: WebhookTarget::Url(url.as_str().to_owned()),
                }),
            (None, Some(webhook)) => Some(RuleAction::CallWebhook {
                target: WebhookTarget::Webhook(webhook),
            }),
            (Some(_), Some(_)) => {
                errors.add(
                    &format!("{at}.webhook_id"),
                    "give url or webhook_id, not both",
                );
                None
            }
            (None, None) => {
                errors.add(&format!("{at}.url"), "give url or webhook_id");
                None
            }
        },
        ActionKind::SendEmailTemplate => {
            if matches!(record, WorkflowRecord::Account | WorkflowRecord::Task) {
                errors.add(
                    &format!("{at}.kind"),
                    format!("a {record} has no e-mail address; send to a lead, contact or deal"),
                );
            }
            match input.template_id {
                Some(template_id) => Some(RuleAction::SendEmailTemplate { template_id }),
                None => {
                    required(errors, "template_id");
                    None
                }
            }
        }
        ActionKind::EnrollInSequence | ActionKind::RemoveFromSequence => {
            if !record.is_person() {
                errors.add(
                    &format!("{at}.kind"),
                    format!("a sequence enrolls leads or contacts, not a {record}"),
                );
            }
            match input.sequence_id {
                Some(sequence_id) if kind == ActionKind::EnrollInSequence => {
                    Some(RuleAction::EnrollInSequence { sequence_id })
                }
                Some(sequence_id) => Some(RuleAction::RemoveFromSequence { sequence_id }),
                None => {
                    required(errors, "sequence_id");
                    None
                }
            }
        }
        ActionKind::SendWhatsappTemplate => {
            if !record.is_person() {
                errors.add(
                    &format!("{at}.kind"),
                    format!("WhatsApp messages go to leads or contacts, not a {record}"),
                );
            }
            match (input.template.as_deref(), input.language.as_deref()) {
                (Some(name), Some(language)) => {
                    let parameters = input.parameters.unwrap_or_default();
                    let fields = [
                        format!("{at}.template"),
                        format!("{at}.language"),
                        format!("{at}.parameters"),
                    ];
                    crate::whatsapp::template(name, language, &parameters, &fields, errors)
                        .map(|message| RuleAction::SendWhatsappTemplate { message })
                }
                (name, _) => {
                    required(
                        errors,
                        if name.is_none() {
                            "template"
                        } else {
                            "language"
                        },
                    );
                    None
                }
            }
        }
    };
    (errors.0.len() == before).then_some(built).flatten()
}

fn assignee(input: WorkflowAssigneeInput, at: &str, errors: &mut FieldErrors) -> Option<Assignee> {
    let kind: AssigneeKind = errors.check(&format!("{at}.kind"), input.kind.parse())?;
    let before = errors.0.len();
    let takes = [
        (
            "user_id",
            input.user_id.is_some(),
            kind == AssigneeKind::User,
        ),
        (
            "user_ids",
            input.user_ids.is_some(),
            kind == AssigneeKind::RoundRobin,
        ),
        (
            "team_id",
            input.team_id.is_some(),
            kind == AssigneeKind::RoundRobin,
        ),
    ];
    for (part, given, taken) in takes {
        if given && !taken {
            errors.add(&format!("{at}.{part}"), format!("is not used by {kind}"));
        }
    }
    let built = match kind {
        AssigneeKind::Owner => Some(Assignee::Owner),
        AssigneeKind::User => match input.user_id {
            Some(user) => Some(Assignee::User(user)),
            None => {
                errors.add(&format!("{at}.user_id"), "is required");
                None
            }
        },
        AssigneeKind::RoundRobin => match (input.user_ids, input.team_id) {
            (Some(_), Some(_)) => {
                errors.add(
                    &format!("{at}.team_id"),
                    "give user_ids or team_id, not both",
                );
                None
            }
            (Some(users), None) if users.is_empty() => {
                errors.add(&format!("{at}.user_ids"), "must not be empty");
                None
            }
            (Some(users), None) => {
                let mut unique = users.clone();
                unique.sort();
                unique.dedup();
                if unique.len() != users.len() {
                    errors.add(&format!("{at}.user_ids"), "must not name a user twice");
                }
                if users.len() > crate::assignment::MAX_VALUES {
                    errors.add(&format!("{at}.user_ids"), "too many users");
                }
                Some(Assignee::RoundRobin(Pool::Users(users)))
            }
            (None, Some(team)) => Some(Assignee::RoundRobin(Pool::Team(team))),
            (None, None) => {
                errors.add(&format!("{at}.user_ids"), "give user_ids or team_id");
                None
            }
        },
    };
    (errors.0.len() == before).then_some(built).flatten()
}

impl RuleAction {
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::CreateTask { .. } => ActionKind::CreateTask,
            Self::UpdateField { .. } => ActionKind::UpdateField,
            Self::AssignOwner { .. } => ActionKind::AssignOwner,
            Self::AddTag { .. } => ActionKind::AddTag,
            Self::CallWebhook { .. } => ActionKind::CallWebhook,
            Self::SendEmailTemplate { .. } => ActionKind::SendEmailTemplate,
            Self::EnrollInSequence { .. } => ActionKind::EnrollInSequence,
            Self::RemoveFromSequence { .. } => ActionKind::RemoveFromSequence,
            Self::SendWhatsappTemplate { .. } => ActionKind::SendWhatsappTemplate,
        }
    }

    pub fn to_input(&self) -> WorkflowActionInput {
        let mut input = WorkflowActionInput {
            kind: self.kind().as_str().to_owned(),
            ..WorkflowActionInput::default()
        };
        match self {
            Self::CreateTask {
                subject,
                due,
                assignee,
                escalate_to_manager,
            } => {
                input.subject = Some(subject.clone());
                match due {
                    Due::BusinessDays(days) => input.due_in_business_days = Some(*days),
                    Due::BusinessHours(hours) => input.due_in_business_hours = Some(*hours),
                }
                input.assignee = Some(assignee.to_input());
                input.escalate_to_manager = escalate_to_manager.then_some(true);
            }
            Self::UpdateField { field, value } => {
                input.field = Some(field.clone());
                input.value = Some(value.clone());
            }
            Self::AssignOwner { user_id } => input.user_id = Some(*user_id),
            Self::AddTag { tag } => input.tag = Some(tag.clone()),
            Self::CallWebhook {
                target: WebhookTarget::Url(url),
            } => input.url = Some(url.clone()),
            Self::CallWebhook {
                target: WebhookTarget::Webhook(webhook),
            } => input.webhook_id = Some(*webhook),
            Self::SendEmailTemplate { template_id } => input.template_id = Some(*template_id),
            Self::EnrollInSequence { sequence_id } | Self::RemoveFromSequence { sequence_id } => {
                input.sequence_id = Some(*sequence_id);
            }
            Self::SendWhatsappTemplate { message } => {
                if let crate::whatsapp::Outgoing::Template {
                    name,
                    language,
                    parameters,
                } = message
                {
                    input.template = Some(name.clone());
                    input.language = Some(language.clone());
                    input.parameters = (!parameters.is_empty()).then(|| parameters.clone());
                }
            }
        }
        input
    }

    /// The action in words (`create task “Call them”`), for the log and the dry run.
    pub fn describe(&self) -> String {
        match self {
            Self::CreateTask {
                subject,
                due,
                escalate_to_manager,
                ..
            } => {
                let due = match due {
                    Due::BusinessDays(days) => format!("{days} business days"),
                    Due::BusinessHours(hours) => format!("{hours} business hours"),
                };
                let escalate = if *escalate_to_manager {
                    ", told to the manager when overdue"
                } else {
                    ""
                };
                format!("create the task “{subject}” due in {due}{escalate}")
            }
            Self::UpdateField { field, value } => format!("set {field} to {value}"),
            Self::AssignOwner { user_id } => format!("make {user_id} the owner"),
            Self::AddTag { tag } => format!("add the tag “{tag}”"),
            Self::CallWebhook {
                target: WebhookTarget::Url(url),
            } => format!("post to {url}"),
            Self::CallWebhook {
                target: WebhookTarget::Webhook(webhook),
            } => format!("post to the webhook {webhook}, signed"),
            Self::SendEmailTemplate { template_id } => {
                format!("send the e-mail template {template_id} to the record's address")
            }
            Self::EnrollInSequence { sequence_id } => {
                format!("enroll the record in the sequence {sequence_id}")
            }
            Self::RemoveFromSequence { sequence_id } => {
                format!("remove the record from the sequence {sequence_id}")
            }
            Self::SendWhatsappTemplate { message } => {
                format!(
                    "send the WhatsApp message “{}” to the record",
                    message.summary()
                )
            }
        }
    }
}

impl Assignee {
    pub fn to_input(&self) -> WorkflowAssigneeInput {
        match self {
            Self::Owner => WorkflowAssigneeInput {
                kind: "owner".into(),
                ..WorkflowAssigneeInput::default()
            },
            Self::User(user) => WorkflowAssigneeInput {
                kind: "user".into(),
                user_id: Some(*user),
                ..WorkflowAssigneeInput::default()
            },
            Self::RoundRobin(Pool::Users(users)) => WorkflowAssigneeInput {
                kind: "round_robin".into(),
                user_ids: Some(users.clone()),
                ..WorkflowAssigneeInput::default()
            },
            Self::RoundRobin(Pool::Team(team)) => WorkflowAssigneeInput {
                kind: "round_robin".into(),
                team_id: Some(*team),
                ..WorkflowAssigneeInput::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(value: Value) -> WorkflowRuleInput {
        serde_json::from_value(value).unwrap()
    }

    fn fields_of(errors: FieldErrors) -> Vec<String> {
        errors.0.into_iter().map(|e| e.field).collect()
    }

    fn lead_created() -> Value {
        json!({
            "name": "Call new leads",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.created"},
            "conditions": [{"op": "equals", "field": "status", "value": "new"}],
            "actions": [{"kind": "create_task", "subject": "Call them", "due_in_business_days": 1}],
        })
    }

    fn record(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_rule_validates_and_reads_back_as_written() {
        let rule = WorkflowRule::validate(input(lead_created())).unwrap();
        assert_eq!(rule.max_depth, DEFAULT_MAX_DEPTH);
        assert!(rule.active);
        assert_eq!(rule.event_type(), Some("lead.created"));
        let again = WorkflowRule::validate(rule.to_input()).unwrap();
        assert_eq!(again, rule);
    }

    #[test]
    fn mistakes_are_named_by_their_place() {
        let bad = json!({
            "name": " ",
            "record_type": "lead",
            "trigger": {"kind": "event", "event": "lead.exploded"},
            "conditions": [{"op": "equals", "field": "nope", "value": "x"}],
            "actions": [
                {"kind": "create_task", "subject": "ok"},
                {"kind": "update_field", "field": "nope", "value": 1},
                {"kind": "update_field", "field": "status", "value": "bogus"},
                {"kind": "add_tag"},
                {"kind": "call_webhook", "url": "ftp://x"},
                {"kind": "fly"},
                {"kind": "create_task", "subject": "x", "tag": "y",
                 "assignee": {"kind": "round_robin"}},
            ],
            "max_depth": 0,
        });
        let fields = fields_of(WorkflowRule::validate(input(bad)).unwrap_err());
        for expected in [
            "name",
            "max_depth",
            "trigger.event",
            "conditions[0].field",
            "actions[1].field",
            "actions[2].value",
            "actions[3].tag",
            "actions[4].url",
            "actions[5].kind",
            "actions[6].tag",
            "actions[6].assignee.user_ids",
        ] {
            assert!(
                fields.contains(&expected.to_owned()),
                "{expected} in {fields:?}"
            );
        }
    }

    #[test]
    fn a_trigger_fits_its_record() {
        let wrong = |trigger: Value, record: &str| {
            let mut v = lead_created();
            v["trigger"] = trigger;
            v["record_type"] = json!(record);
            v["conditions"] = json!([]);
            fields_of(WorkflowRule::validate(input(v)).unwrap_err())
        };
        assert_eq!(
            wrong(json!({"kind": "event", "event": "deal.won"}), "lead"),
            ["trigger.event"]
        );
        assert_eq!(
            wrong(json!({"kind": "before_close_date", "days": 3}), "lead"),
            ["trigger.kind"]
        );
        assert_eq!(
            wrong(json!({"kind": "no_activity"}), "deal"),
            ["trigger.days"]
        );
        assert_eq!(
            wrong(
                json!({"kind": "event", "event": "lead.created", "changed": ["status"]}),
                "lead"
            ),
            ["trigger.changed"]
        );
        assert_eq!(
            wrong(
                json!({"kind": "event", "event": "lead.updated", "changed": ["zzz"]}),
                "lead"
            ),
            ["trigger.changed[0]"]
        );
    }

    #[test]
    fn the_changed_filter_looks_at_the_payloads_changes() {
        let mut v = lead_created();
        v["trigger"] = json!({"kind": "event", "event": "lead.updated", "changed": ["status"]});
        let rule = WorkflowRule::validate(input(v)).unwrap();
        let status = json!({"changes": {"status": {"before": "new", "after": "contacted"}}});
        let city = json!({"changes": {"city": {"before": "a", "after": "b"}}});
        assert!(rule.triggered_by("lead.updated", &status));
        assert!(!rule.triggered_by("lead.updated", &city));
        assert!(!rule.triggered_by("lead.created", &status));
    }

    #[test]
    fn conditions_say_which_held() {
        let rule = WorkflowRule::validate(input(lead_created())).unwrap();
        let new = rule.evaluate(&record(json!({"status": "new"})));
        assert!(new.matched);
        assert!(new.conditions[0].met);
        let other = rule.evaluate(&record(json!({"status": "contacted"})));
        assert!(!other.matched);
    }

    #[test]
    fn a_rule_stops_on_its_own_chain_at_max_depth() {
        let mut v = lead_created();
        v["max_depth"] = json!(2);
        let rule = WorkflowRule::validate(input(v)).unwrap();
        let id = Uuid::now_v7();
        let person = Chain::default();
        assert_eq!(rule.loop_stop(&person, id), None);
        let once = person.then(id);
        assert_eq!(rule.loop_stop(&once, id), None);
        let twice = once.then(id);
        assert!(
            rule.loop_stop(&twice, id)
                .unwrap()
                .starts_with("stopped: loop")
        );
        // Another rule's chain of the same depth does not stop it.
        let other = Chain::default().then(Uuid::now_v7()).then(Uuid::now_v7());
        assert_eq!(rule.loop_stop(&other, id), None);
        let data = json!({ CHAIN_KEY: twice.to_json() });
        assert_eq!(Chain::of(&data), twice);
    }

    #[test]
    fn business_days_skip_weekends() {
        let utc = chrono_tz::UTC;
        let friday: DateTime<Utc> = "2026-12-04T10:00:00Z".parse().unwrap();
        assert_eq!(add_business_days(friday, 0, utc), friday);
        assert_eq!(
            add_business_days(friday, 1, utc),
            "2026-12-07T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let saturday: DateTime<Utc> = "2026-12-05T10:00:00Z".parse().unwrap();
        assert_eq!(
            add_business_days(saturday, 0, utc),
            "2026-12-07T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            add_business_days(friday, 5, utc),
            "2026-12-11T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn business_days_are_the_companys_weekdays() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        // Friday 20:00 UTC is Saturday 01:30 in Kolkata: the count starts on Monday 01:30.
        assert_eq!(
            add_business_days(at("2026-12-04T20:00:00Z"), 0, kolkata),
            at("2026-12-06T20:00:00Z")
        );
        // Sunday 20:00 UTC is already Monday there: a business day later is Tuesday.
        assert_eq!(
            add_business_days(at("2026-12-06T20:00:00Z"), 1, kolkata),
            at("2026-12-07T20:00:00Z")
        );
    }

    #[test]
    fn business_hours_run_nine_to_five_on_weekdays() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let utc = chrono_tz::UTC;
        // Friday 15:00 + 4 h: 2 h on Friday, 2 h on Monday.
        assert_eq!(
            add_business_hours(at("2026-12-04T15:00:00Z"), 4, utc),
            at("2026-12-07T11:00:00Z")
        );
        // Before opening counts from 09:00; a whole day is eight hours.
        assert_eq!(
            add_business_hours(at("2026-12-07T06:30:00Z"), 8, utc),
            at("2026-12-07T17:00:00Z")
        );
        assert_eq!(
            add_business_hours(at("2026-12-07T06:30:00Z"), 9, utc),
            at("2026-12-08T10:00:00Z")
        );
        // After closing and on a Sunday: the next opening.
        assert_eq!(
            add_business_hours(at("2026-12-07T18:00:00Z"), 1, utc),
            at("2026-12-08T10:00:00Z")
        );
        assert_eq!(
            add_business_hours(at("2026-12-06T12:00:00Z"), 2, utc),
            at("2026-12-07T11:00:00Z")
        );
        // The longest SLA ends: a year of business days later.
        let long = add_business_hours(at("2026-12-07T09:00:00Z"), MAX_HOURS, utc);
        assert!(long > at("2028-01-01T00:00:00Z"), "{long}");
    }

    #[test]
    fn business_hours_are_nine_to_five_in_the_companys_time_zone() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        // Kolkata is UTC+05:30: it opens at 03:30 UTC and closes at 11:30 UTC.
        // Monday 09:30 UTC (15:00 there) + 4 h: 2 h on Monday, 2 h from Tuesday's opening.
        assert_eq!(
            add_business_hours(at("2026-12-07T09:30:00Z"), 4, kolkata),
            at("2026-12-08T05:30:00Z")
        );
        // Monday 01:00 UTC (06:30 there) counts from 09:00 there.
        assert_eq!(
            add_business_hours(at("2026-12-07T01:00:00Z"), 1, kolkata),
            at("2026-12-07T04:30:00Z")
        );
        // Friday 12:00 UTC is after closing there: Monday's opening + 1 h.
        assert_eq!(
            add_business_hours(at("2026-12-04T12:00:00Z"), 1, kolkata),
            at("2026-12-07T04:30:00Z")
        );
        // Sunday 23:00 UTC is Monday 04:30 there, before opening: Monday counts.
        assert_eq!(
            add_business_hours(at("2026-12-06T23:00:00Z"), 8, kolkata),
            at("2026-12-07T11:30:00Z")
        );
    }

    #[test]
    fn business_hours_follow_the_clock_change() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let new_york: Tz = "America/New_York".parse().unwrap();
        // Friday 6 March 2026, 15:00 EST (20:00 UTC) + 4 h: 2 h on Friday; the clocks go
        // forward on Sunday, so Monday opens at 09:00 EDT (13:00 UTC), and 2 h later is 15:00 UTC.
        assert_eq!(
            add_business_hours(at("2026-03-06T20:00:00Z"), 4, new_york),
            at("2026-03-09T15:00:00Z")
        );
        // Back on Sunday 1 November 2026: Friday 16:00 EDT (20:00 UTC) + 2 h is Monday 10:00
        // EST (15:00 UTC).
        assert_eq!(
            add_business_hours(at("2026-10-30T20:00:00Z"), 2, new_york),
            at("2026-11-02T15:00:00Z")
        );
        // Berlin's spring change on Sunday 29 March 2026: a day count keeps the local time.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            add_business_days(at("2026-03-27T09:00:00Z"), 1, berlin),
            at("2026-03-30T08:00:00Z")
        );
    }

    #[test]
    fn an_sla_task_is_due_in_hours_and_may_escalate() {
        let mut v = lead_created();
        v["actions"] = json!([{"kind": "create_task", "subject": "Answer",
            "due_in_business_hours": 4, "escalate_to_manager": true}]);
        let rule = WorkflowRule::validate(input(v.clone())).unwrap();
        assert_eq!(
            rule.actions[0],
            RuleAction::CreateTask {
                subject: "Answer".into(),
                due: Due::BusinessHours(4),
                assignee: Assignee::Owner,
                escalate_to_manager: true,
            }
        );
        assert_eq!(WorkflowRule::validate(rule.to_input()).unwrap(), rule);
        v["actions"][0]["due_in_business_days"] = json!(1);
        assert_eq!(
            fields_of(WorkflowRule::validate(input(v.clone())).unwrap_err()),
            ["actions[0].due_in_business_hours"]
        );
        v["actions"] = json!([{"kind": "add_tag", "tag": "x", "escalate_to_manager": true}]);
        assert_eq!(
            fields_of(WorkflowRule::validate(input(v)).unwrap_err()),
            ["actions[0].escalate_to_manager"]
        );
    }

    #[test]
    fn every_record_has_writable_fields_and_events() {
        for record in WorkflowRecord::ALL {
            assert!(!record.writable_fields().is_empty(), "{record}");
            assert!(!record.event_types().is_empty(), "{record}");
        }
        assert!(
            WorkflowRecord::Lead
                .writable_fields()
                .contains(&"status".to_owned())
        );
        assert!(
            !WorkflowRecord::Lead
                .writable_fields()
                .contains(&"owner_id".to_owned())
        );
    }

    #[test]
    fn message_and_sequence_actions_read_back_and_fit_their_records() {
        let (template, sequence) = (Uuid::now_v7(), Uuid::now_v7());
        let mut v = lead_created();
        v["actions"] = json!([
            {"kind": "send_email_template", "template_id": template},
            {"kind": "enroll_in_sequence", "sequence_id": sequence},
            {"kind": "remove_from_sequence", "sequence_id": sequence},
            {"kind": "send_whatsapp_template", "template": " welcome ", "language": "en_US",
             "parameters": ["Ann"]},
        ]);
        let rule = WorkflowRule::validate(input(v.clone())).unwrap();
        assert_eq!(rule.actions[3].kind(), ActionKind::SendWhatsappTemplate);
        assert_eq!(
            rule.actions[3].to_input().template.as_deref(),
            Some("welcome")
        );
        assert_eq!(WorkflowRule::validate(rule.to_input()).unwrap(), rule);
        // A deal is e-mailed (its primary contact); sequences and WhatsApp are for people.
        v["record_type"] = json!("deal");
        v["trigger"] = json!({"kind": "event", "event": "deal.created"});
        v["conditions"] = json!([]);
        assert_eq!(
            fields_of(WorkflowRule::validate(input(v.clone())).unwrap_err()),
            ["actions[1].kind", "actions[2].kind", "actions[3].kind"]
        );
        v["record_type"] = json!("account");
        v["trigger"] = json!({"kind": "event", "event": "account.created"});
        v["actions"] = json!([
            {"kind": "send_email_template", "template_id": template},
            {"kind": "send_whatsapp_template", "template": "Bad Name", "language": "english"},
            {"kind": "enroll_in_sequence"},
        ]);
        let fields = fields_of(WorkflowRule::validate(input(v)).unwrap_err());
        for expected in [
            "actions[0].kind",
            "actions[1].kind",
            "actions[1].template",
            "actions[1].language",
            "actions[2].sequence_id",
        ] {
            assert!(
                fields.contains(&expected.to_owned()),
                "{expected} in {fields:?}"
            );
        }
    }

    #[test]
    fn leads_and_contacts_react_to_their_messages() {
        let mut v = lead_created();
        v["trigger"] = json!({"kind": "event", "event": "email.replied"});
        let rule = WorkflowRule::validate(input(v.clone())).unwrap();
        assert!(rule.triggered_by("email.replied", &json!({})));
        v["record_type"] = json!("contact");
        v["conditions"] = json!([]);
        assert!(WorkflowRule::validate(input(v.clone())).is_ok());
        v["record_type"] = json!("deal");
        assert_eq!(
            fields_of(WorkflowRule::validate(input(v)).unwrap_err()),
            ["trigger.event"]
        );
        for t in crate::events::MESSAGE_TYPES {
            assert!(crate::events::known_types().iter().any(|k| k == t), "{t}");
        }
    }
}
