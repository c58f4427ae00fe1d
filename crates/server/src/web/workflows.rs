//! Administration › Workflow rules (issue 15 §5): the company's rules (name, record, trigger,
//! on/off with a button, the last run), the rule builder (record type, trigger — an event or a
//! schedule —, condition rows drawn by the shared condition editor (`web::conditions`) on the
//! record's fields, action rows — with pickers of the company's e-mail templates and sequences
//! for the record, and a WhatsApp template's name, language and parameters; blank rows left
//! out, each message next to its input) and a rule's page with its execution log. Editing a
//! rule is the same builder filled with the rule (as many rows as it has; a task's assignee
//! is chosen from the owner, the members and round robin over a team, and one set through the
//! API that is none of those is kept; the rule's on/off and loop depth are kept). Saving goes through the definitions layer as the API's
//! `POST /workflows` and `PUT /workflows/{id}` do, so the page and the API check the same
//! rule; switching on and off is the API's `set_active`.

use super::conditions::{self, CondRow, Fields, get};
use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, ago, datetime, options,
};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::assignment::MAX_CONDITIONS;
use rivet_domain::ids::WorkflowRuleId;
use rivet_domain::workflows::{
    ActionKind, MAX_ACTIONS, WorkflowActionInput, WorkflowRecord, WorkflowRule, WorkflowRuleInput,
    WorkflowTriggerInput,
};
use rivet_domain::{Action, FieldError, FieldErrors, Resource};
use rivet_store::definitions;
use rivet_store::page::PageRequest;
use rivet_store::workflows::{self as store, WorkflowRun};
use serde::Deserialize;
use serde_json::Value;

const LIST: &str = "/workflows";
/// Condition and action rows the builder offers at least (more when the rule has more).
const ROWS: usize = 3;

pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub record_type: &'static str,
    pub trigger: String,
    pub active: bool,
    pub last_run: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "web/workflows.html")]
struct IndexPage {
    layout: Layout,
    rows: Vec<RuleRow>,
}

/// `GET /workflows`.
pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let rules = definitions::list::<WorkflowRule>(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let ids: Vec<WorkflowRuleId> = rules.iter().map(|r| r.id).collect();
    let last = store::last_runs(&ctx.app.store, &ctx.actor, &ids)
        .await
        .or_page(&ctx)?;
    let rows = rules
        .into_iter()
        .map(|r| RuleRow {
            id: r.id.to_string(),
            last_run: last
                .get(&r.id.uuid())
                .map(|run| (run.status.clone(), ago(&run.created_at))),
            name: r.definition.name,
            record_type: r.definition.record_type.as_str(),
            trigger: r.definition.trigger.describe(),
            active: r.definition.active,
        })
        .collect();
    Ok(ctx.render(&IndexPage {
        layout: ctx.layout("Workflow rules"),
        rows,
    }))
}

/// One action row of the builder: its inputs are named `a{i}_kind`, `a{i}_subject`, ….
pub struct ActionRow {
    /// 1-based, for labels.
    pub number: usize,
    pub fid: String,
    /// `Action 1`.
    pub kind_label: String,
    pub kind_name: String,
    pub kind_options: Vec<Opt>,
    pub subject_name: String,
    pub subject: String,
    pub days_name: String,
    pub days: String,
    pub hours_name: String,
    pub hours: String,
    pub escalate_name: String,
    pub escalate: bool,
    pub field_name: String,
    pub field: String,
    pub value_name: String,
    pub value: String,
    pub tag_name: String,
    pub tag: String,
    pub url_name: String,
    pub url: String,
    pub webhook_name: String,
    pub webhook_options: Vec<Opt>,
    pub template_id_name: String,
    pub template_id_options: Vec<Opt>,
    pub sequence_name: String,
    pub sequence_options: Vec<Opt>,
    pub wa_template_name: String,
    pub wa_template: String,
    pub language_name: String,
    pub language: String,
    pub parameters_name: String,
    pub parameters: String,
    /// A task's assignee: the record's owner (empty), a member or round robin over a team, each
    /// as the API's JSON; one set through the API that the list does not hold is offered too.
    pub assignee_name: String,
    pub assignee_options: Vec<Opt>,
    /// assign_owner: the new owner, one of the members (one that is not is offered too).
    pub owner_name: String,
    pub owner_options: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "web/workflow_edit.html")]
struct EditPage {
    layout: Layout,
    /// `New workflow rule` or `Edit workflow rule`.
    heading: &'static str,
    /// Where the form posts, and where Cancel goes.
    action: String,
    cancel: String,
    record_options: Vec<Opt>,
    name: String,
    description: String,
    trigger_options: Vec<Opt>,
    event_options: Vec<Opt>,
    changed: String,
    days: String,
    conditions: Vec<CondRow>,
    actions: Vec<ActionRow>,
    errors: FormErrors,
}

/// The parts of an action row.
const ACTION_PARTS: &[&str] = &[
    "kind",
    "subject",
    "days",
    "hours",
    "escalate",
    "field",
    "value",
    "tag",
    "url",
    "webhook",
    "template_id",
    "sequence",
    "template",
    "language",
    "parameters",
    "assignee",
    "owner",
];

/// How many rows with inputs named `{prefix}{i}_…` the form has: at least [`ROWS`], at most
/// `most` (what a rule may have of them, so a rule's every row is shown and no form makes more).
fn rows(form: &Fields, prefix: &str, most: usize) -> usize {
    let last = form
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .filter_map(|(key, _)| {
            key.strip_prefix(prefix)?
                .split_once('_')?
                .0
                .parse::<usize>()
                .ok()
        })
        .max();
    last.map_or(ROWS, |i| (i + 1).max(ROWS)).min(most)
}

fn action_row_count(form: &Fields) -> usize {
    rows(form, "a", MAX_ACTIONS)
}

fn condition_row_count(form: &Fields) -> usize {
    rows(form, "c", MAX_CONDITIONS)
}

/// The record type the form is for (`lead` when it names none or an unknown one).
fn record_of(form: &Fields) -> WorkflowRecord {
    get(form, "record_type")
        .parse()
        .unwrap_or(WorkflowRecord::Lead)
}

/// A task's assignees the builder offers: the record's owner, each active member, round robin
/// over each team; each one's value is the API's `assignee` JSON.
fn assignee_items(people: &super::assignment::People) -> Vec<(String, String)> {
    use rivet_domain::workflows::WorkflowAssigneeInput as A;
    let json = |a: A| serde_json::to_string(&a).unwrap_or_default();
    let mut items = vec![(String::new(), "The record's owner".to_owned())];
    items.extend(people.members.iter().map(|(id, name)| {
        let a = A {
            kind: "user".into(),
            user_id: Some(*id),
            ..A::default()
        };
        (json(a), name.clone())
    }));
    items.extend(people.teams.iter().map(|(id, name)| {
        let a = A {
            kind: "round_robin".into(),
            team_id: Some(*id),
            ..A::default()
        };
        (json(a), format!("Round robin over the team {name}"))
    }));
    items
}

/// The builder for `form` (empty: a new rule) posting to a new rule (`editing` none) or over
/// rule `editing`: condition rows on the record's fields, the record's events, the company's
/// webhooks for `call_webhook`, its e-mail templates for the record and the sequences enrolling
/// it.
async fn edit_page(
    ctx: &Ctx,
    form: &Fields,
    errors: FormErrors,
    editing: Option<WorkflowRuleId>,
) -> Result<EditPage, WebError> {
    use rivet_domain::sequences::Sequence;
    use rivet_domain::templates::EmailTemplate;
    let record = record_of(form);
    let webhooks = rivet_store::webhooks::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    let templates = definitions::list::<EmailTemplate>(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    let sequences = definitions::list::<Sequence>(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    let mut template_items = vec![(String::new(), "— choose a template —".to_owned())];
    template_items.extend(
        templates
            .iter()
            .filter(|t| t.definition.record_type.as_str() == record.as_str())
            .map(|t| (t.id.to_string(), t.definition.name.clone())),
    );
    let mut sequence_items = vec![(String::new(), "— choose a sequence —".to_owned())];
    sequence_items.extend(
        sequences
            .iter()
            .filter(|s| {
                rivet_store::sequences::record_type_of(s.definition.input.enrolls)
                    == record.as_str()
            })
            .map(|s| (s.id.to_string(), s.definition.input.name.clone())),
    );
    let fields: Vec<&str> = record
        .condition_fields()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let trigger = match get(form, "trigger_kind") {
        "" => "event",
        other => other,
    };
    let mut webhook_items = vec![(String::new(), "— the URL below —".to_owned())];
    webhook_items.extend(webhooks.iter().map(|w| (w.id.to_string(), w.url.clone())));
    let people = super::assignment::People::load(ctx).await?;
    let assignee_items = assignee_items(&people);
    let owner_items = people.member_items("— choose a member —");
    let mut kind_items = vec![(String::new(), "— no action —".to_owned())];
    kind_items.extend(
        ActionKind::NAMES
            .iter()
            .map(|k| ((*k).to_owned(), k.replace('_', " "))),
    );
    let actions = (0..action_row_count(form))
        .map(|i| {
            let fid = format!("a{i}");
            let name = |part: &str| format!("{fid}_{part}");
            let value = |part: &str| get(form, &name(part)).to_owned();
            ActionRow {
                number: i + 1,
                kind_label: format!("Action {}", i + 1),
                kind_options: options(kind_items.clone(), get(form, &name("kind"))),
                subject: value("subject"),
                days: value("days"),
                hours: value("hours"),
                escalate: get(form, &name("escalate")) == "true",
                field: value("field"),
                value: value("value"),
                tag: value("tag"),
                url: value("url"),
                webhook_options: options(webhook_items.clone(), get(form, &name("webhook"))),
                template_id_options: options(
                    template_items.clone(),
                    get(form, &name("template_id")),
                ),
                sequence_options: options(sequence_items.clone(), get(form, &name("sequence"))),
                wa_template: value("template"),
                language: value("language"),
                parameters: value("parameters"),
                assignee_options: {
                    let current = value("assignee");
                    let mut items = assignee_items.clone();
                    if !current.is_empty() && !items.iter().any(|(v, _)| *v == current) {
                        items.push((current.clone(), "As set through the API".to_owned()));
                    }
                    options(items, &current)
                },
                assignee_name: name("assignee"),
                owner_options: {
                    let current = value("owner");
                    let mut items = owner_items.clone();
                    if !current.is_empty() && !items.iter().any(|(v, _)| *v == current) {
                        items.push((current.clone(), current.clone()));
                    }
                    options(items, &current)
                },
                owner_name: name("owner"),
                template_id_name: name("template_id"),
                sequence_name: name("sequence"),
                wa_template_name: name("template"),
                language_name: name("language"),
                parameters_name: name("parameters"),
                kind_name: name("kind"),
                subject_name: name("subject"),
                days_name: name("days"),
                hours_name: name("hours"),
                escalate_name: name("escalate"),
                field_name: name("field"),
                value_name: name("value"),
                tag_name: name("tag"),
                url_name: name("url"),
                webhook_name: name("webhook"),
                fid,
            }
        })
        .collect();
    let (heading, action, cancel) = match editing {
        None => ("New workflow rule", format!("{LIST}/new"), LIST.to_owned()),
        Some(id) => (
            "Edit workflow rule",
            format!("{LIST}/{id}/edit"),
            format!("{LIST}/{id}"),
        ),
    };
    Ok(EditPage {
        layout: ctx.layout(heading),
        heading,
        action,
        cancel,
        record_options: options(
            WorkflowRecord::NAMES.iter().map(|n| (*n, *n)),
            record.as_str(),
        ),
        name: get(form, "name").to_owned(),
        description: get(form, "description").to_owned(),
        trigger_options: options(
            [
                ("event", "When an event happens"),
                ("no_activity", "No activity for some days (leads, deals)"),
                (
                    "before_close_date",
                    "Some days before the close date (deals)",
                ),
                ("task_overdue", "A task is overdue (tasks)"),
            ],
            trigger,
        ),
        event_options: options(
            record.event_types().into_iter().map(|e| (e.clone(), e)),
            get(form, "event"),
        ),
        changed: get(form, "changed").to_owned(),
        days: get(form, "days").to_owned(),
        conditions: (0..condition_row_count(form))
            .map(|i| conditions::row_on(form, &format!("c{i}"), i, &fields))
            .collect(),
        actions,
        errors,
    })
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    record_type: String,
}

/// `GET /workflows/new[?record_type=deal]`: the builder for a record type (choosing another
/// reloads the page with its fields and events).
pub async fn new(ctx: Ctx, WebQuery(query): WebQuery<NewQuery>) -> Result<Response, WebError> {
    let mut form = Fields::new();
    form.insert("record_type".into(), query.record_type);
    let page = edit_page(&ctx, &form, FormErrors::new(), None).await?;
    Ok(ctx.render(&page))
}

/// The builder's inputs filled with `rule` (what [`input_of`] reads back).
fn form_of(rule: &WorkflowRule) -> Fields {
    let input = rule.to_input();
    let mut form = Fields::new();
    let mut set = |key: String, value: String| {
        if !value.is_empty() {
            form.insert(key, value);
        }
    };
    set("name".into(), input.name);
    set("description".into(), input.description.unwrap_or_default());
    set("record_type".into(), input.record_type);
    set("trigger_kind".into(), input.trigger.kind);
    set("event".into(), input.trigger.event.unwrap_or_default());
    set(
        "changed".into(),
        input.trigger.changed.unwrap_or_default().join(", "),
    );
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    set("days".into(), number(input.trigger.days));
    for (i, a) in input.actions.into_iter().enumerate() {
        let mut part = |p: &str, value: String| set(format!("a{i}_{p}"), value);
        let id = |id: Option<String>| id.unwrap_or_default();
        part("kind", a.kind);
        part("subject", a.subject.unwrap_or_default());
        part("days", number(a.due_in_business_days));
        part("hours", number(a.due_in_business_hours));
        if a.escalate_to_manager == Some(true) {
            part("escalate", "true".into());
        }
        part("field", a.field.unwrap_or_default());
        if let Some(user) = a.user_id {
            part("owner", user.to_string());
        }
        let value = match a.value {
            Some(Value::String(text)) => text,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        part("value", value);
        part("tag", a.tag.unwrap_or_default());
        part("url", a.url.unwrap_or_default());
        part("webhook", id(a.webhook_id.map(|w| w.to_string())));
        part("template_id", id(a.template_id.map(|t| t.to_string())));
        part("sequence", id(a.sequence_id.map(|s| s.to_string())));
        part("template", a.template.unwrap_or_default());
        part("language", a.language.unwrap_or_default());
        part("parameters", a.parameters.unwrap_or_default().join(", "));
        if let Some(assignee) = a.assignee.filter(|a| a.kind != "owner") {
            part(
                "assignee",
                serde_json::to_string(&assignee).unwrap_or_default(),
            );
        }
    }
    for (i, c) in input.conditions.iter().enumerate() {
        conditions::write(&mut form, &format!("c{i}"), c);
    }
    form
}

/// `GET /workflows/{id}/edit[?record_type=deal]`: the builder filled with the rule (for another
/// record type, only its name and description: its conditions and actions were the other
/// record's).
pub async fn edit(
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(query): WebQuery<NewQuery>,
) -> Result<Response, WebError> {
    let id: WorkflowRuleId = parse_id(&id).or_page(&ctx)?;
    let stored = definitions::get::<WorkflowRule>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let mut form = form_of(&stored.definition);
    if !query.record_type.is_empty() && query.record_type != get(&form, "record_type") {
        form.retain(|key, _| matches!(key.as_str(), "name" | "description"));
        form.insert("record_type".into(), query.record_type);
    }
    let page = edit_page(&ctx, &form, FormErrors::new(), Some(id)).await?;
    Ok(ctx.render(&page))
}

/// A number typed into the form: blank is none; anything but a whole number is a number the
/// rule's validation refuses (so the message names the field).
fn number(form: &Fields, name: &str) -> Option<u32> {
    match get(form, name).trim() {
        "" => None,
        text => Some(text.parse().unwrap_or(u32::MAX)),
    }
}

/// A form value as JSON: a number when it reads as one, else text.
fn value_of(text: &str) -> Value {
    text.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The rule the form describes, and which form row each condition and action came from
/// (blank rows are left out).
fn input_of(form: &Fields) -> (WorkflowRuleInput, Vec<usize>, Vec<usize>) {
    let changed: Vec<String> = get(form, "changed")
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let mut cond_rows = Vec::new();
    let mut conditions = Vec::new();
    for i in 0..condition_row_count(form) {
        if let Some(c) = conditions::read(form, &format!("c{i}")) {
            cond_rows.push(i);
            conditions.push(c);
        }
    }
    let mut action_rows = Vec::new();
    let mut actions = Vec::new();
    for i in 0..action_row_count(form) {
        let part = |p: &str| get(form, &format!("a{i}_{p}")).trim().to_owned();
        let kind = part("kind");
        if kind.is_empty() {
            continue;
        }
        let mut a = WorkflowActionInput {
            kind: kind.clone(),
            ..WorkflowActionInput::default()
        };
        match kind.as_str() {
            "create_task" => {
                a.subject = Some(part("subject"));
                a.due_in_business_days = number(form, &format!("a{i}_days"));
                a.due_in_business_hours = number(form, &format!("a{i}_hours"));
                a.escalate_to_manager = (part("escalate") == "true").then_some(true);
                a.assignee = serde_json::from_str(&part("assignee")).ok();
            }
            "update_field" => {
                a.field = Some(part("field"));
                a.value = Some(value_of(&part("value")));
            }
            "assign_owner" => a.user_id = part("owner").parse().ok(),
            "add_tag" => a.tag = Some(part("tag")),
            "call_webhook" => match part("webhook") {
                webhook if webhook.is_empty() => a.url = Some(part("url")),
                webhook => a.webhook_id = webhook.parse().ok(),
            },
            "send_email_template" => a.template_id = part("template_id").parse().ok(),
            "enroll_in_sequence" | "remove_from_sequence" => {
                a.sequence_id = part("sequence").parse().ok();
            }
            "send_whatsapp_template" => {
                a.template = Some(part("template"));
                a.language = Some(part("language"));
                let parameters: Vec<String> = part("parameters")
                    .split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect();
                a.parameters = (!parameters.is_empty()).then_some(parameters);
            }
            _ => {}
        }
        action_rows.push(i);
        actions.push(a);
    }
    let trigger_kind = match get(form, "trigger_kind") {
        "" => "event".to_owned(),
        other => other.to_owned(),
    };
    let trigger = WorkflowTriggerInput {
        event: (trigger_kind == "event").then(|| get(form, "event").to_owned()),
        changed: (trigger_kind == "event" && !changed.is_empty()).then_some(changed),
        days: matches!(trigger_kind.as_str(), "no_activity" | "before_close_date")
            .then(|| number(form, "days"))
            .flatten(),
        kind: trigger_kind,
    };
    let input = WorkflowRuleInput {
        name: get(form, "name").trim().to_owned(),
        description: Some(get(form, "description").trim().to_owned()).filter(|d| !d.is_empty()),
        active: Some(true),
        record_type: get(form, "record_type").to_owned(),
        trigger,
        conditions,
        actions,
        max_depth: None,
    };
    (input, cond_rows, action_rows)
}

/// The rule's error fields in the form's names (`actions[1].subject` → `a2_subject` when the
/// second action came from the third row).
fn form_errors(err: AppError, cond_rows: &[usize], action_rows: &[usize]) -> AppError {
    let AppError::Validation(errors) = err else {
        return err;
    };
    let rename = |field: &str| -> Option<String> {
        if let Some(rest) = field.strip_prefix("conditions[") {
            let (index, part) = rest.split_once("].")?;
            let row = cond_rows.get(index.parse::<usize>().ok()?)?;
            return Some(conditions::field_name(&format!("c{row}"), part));
        }
        if let Some(rest) = field.strip_prefix("actions[") {
            let (index, part) = rest.split_once("].")?;
            let row = action_rows.get(index.parse::<usize>().ok()?)?;
            let part = match part.split('.').next().unwrap_or(part) {
                "due_in_business_days" => "days",
                "due_in_business_hours" => "hours",
                "escalate_to_manager" => "escalate",
                "user_id" => "owner",
                "webhook_id" => "webhook",
                "sequence_id" => "sequence",
                "kind" => "kind",
                other => other,
            };
            return Some(format!("a{row}_{part}"));
        }
        Some(
            match field {
                "trigger.kind" => "trigger_kind",
                "trigger.event" => "event",
                "trigger.days" => "days",
                "actions" => "a0_kind",
                f if f.starts_with("trigger.changed") => "changed",
                other => return Some(other.to_owned()),
            }
            .to_owned(),
        )
    };
    let renamed = errors
        .0
        .into_iter()
        .map(|e| FieldError {
            field: rename(&e.field).unwrap_or(e.field),
            message: e.message,
        })
        .collect();
    AppError::Validation(FieldErrors(renamed))
}

/// Every input of the builder for `form` (messages about them sit next to them).
fn known_fields(form: &Fields) -> Vec<String> {
    let mut names: Vec<String> = [
        "name",
        "description",
        "record_type",
        "trigger_kind",
        "event",
        "changed",
        "days",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for i in 0..condition_row_count(form) {
        names.extend(conditions::names(&format!("c{i}")));
    }
    for i in 0..action_row_count(form) {
        names.extend(ACTION_PARTS.iter().map(|p| format!("a{i}_{p}")));
    }
    names
}

/// `POST /workflows/new`: save the rule and open its page, or show the form again with each
/// message next to its field.
pub async fn create(ctx: Ctx, WebForm(form): WebForm<Fields>) -> Result<Response, WebError> {
    save(ctx, form, None).await
}

/// `POST /workflows/{id}/edit`: replace the rule with the form (keeping whether it is on and
/// its loop depth), as `create` does.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<Fields>,
) -> Result<Response, WebError> {
    let id: WorkflowRuleId = parse_id(&id).or_page(&ctx)?;
    save(ctx, form, Some(id)).await
}

/// Save the form as a new rule (`editing` none) or over rule `editing`, and open its page; or
/// show the form again with each message next to its field.
async fn save(
    ctx: Ctx,
    form: Fields,
    editing: Option<WorkflowRuleId>,
) -> Result<Response, WebError> {
    let (mut input, cond_rows, action_rows) = input_of(&form);
    let saved = match editing {
        None => match WorkflowRule::validate(input) {
            Ok(rule) => definitions::create(&ctx.app.store, &ctx.actor, &rule)
                .await
                .map_err(AppError::from),
            Err(errors) => Err(AppError::Validation(errors)),
        },
        Some(id) => {
            let stored = definitions::get::<WorkflowRule>(&ctx.app.store, &ctx.actor, id)
                .await
                .or_page(&ctx)?;
            input.active = Some(stored.definition.active);
            input.max_depth = Some(stored.definition.max_depth);
            match WorkflowRule::validate(input) {
                Ok(rule) => definitions::update(&ctx.app.store, &ctx.actor, id, &rule)
                    .await
                    .map_err(AppError::from),
                Err(errors) => Err(AppError::Validation(errors)),
            }
        }
    };
    match saved {
        Ok(stored) => Ok(ctx.done(
            &format!("{LIST}/{}", stored.id),
            format!("Saved the rule “{}”.", stored.definition.name),
        )),
        Err(err) => {
            let mut errors = FormErrors::new();
            let known = known_fields(&form);
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            errors
                .absorb(form_errors(err, &cond_rows, &action_rows), &known)
                .or_page(&ctx)?;
            let page = edit_page(&ctx, &form, errors, editing).await?;
            Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

pub struct RunRow {
    pub when: String,
    pub ago: String,
    pub trigger: String,
    pub record: String,
    pub status: String,
    pub depth: i32,
    pub error: String,
    pub actions: String,
}

#[derive(Template)]
#[template(path = "web/workflow_show.html")]
struct ShowPage {
    layout: Layout,
    id: String,
    name: String,
    description: String,
    record_type: &'static str,
    trigger: String,
    active: bool,
    can_update: bool,
    conditions: Vec<String>,
    actions: Vec<String>,
    runs: Vec<RunRow>,
}

fn run_row(run: WorkflowRun) -> RunRow {
    let actions = run
        .actions
        .as_array()
        .map(|all| {
            all.iter()
                .map(|a| {
                    format!(
                        "{}: {}",
                        a["kind"].as_str().unwrap_or_default(),
                        a["status"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    RunRow {
        when: datetime(&run.created_at),
        ago: ago(&run.created_at),
        trigger: run.trigger,
        record: run
            .record_id
            .map(|id| format!("{} {id}", run.record_type))
            .unwrap_or_default(),
        status: run.status,
        depth: run.depth,
        error: run.error.unwrap_or_default(),
        actions,
    }
}

/// `GET /workflows/{id}`: the rule and its execution log (newest 100 runs).
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id: WorkflowRuleId = parse_id(&id).or_page(&ctx)?;
    let stored = definitions::get::<WorkflowRule>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let runs = store::runs(
        &ctx.app.store,
        &ctx.actor,
        id,
        PageRequest {
            limit: 100,
            after: None,
        },
    )
    .await
    .or_page(&ctx)?;
    let rule = stored.definition;
    let page = ShowPage {
        layout: ctx.layout(rule.name.clone()),
        id: stored.id.to_string(),
        description: rule.description.clone().unwrap_or_default(),
        record_type: rule.record_type.as_str(),
        trigger: rule.trigger.describe(),
        active: rule.active,
        can_update: ctx.can(Resource::Workflows, Action::Update),
        conditions: rule
            .condition_inputs
            .iter()
            .map(|c| serde_json::to_string(c).unwrap_or_default())
            .collect(),
        actions: rule.actions.iter().map(|a| a.describe()).collect(),
        runs: runs.data.into_iter().map(run_row).collect(),
        name: rule.name,
    };
    Ok(ctx.render(&page))
}

/// `POST /workflows/{id}/toggle`: switch the rule on or off.
pub async fn toggle(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id: WorkflowRuleId = parse_id(&id).or_page(&ctx)?;
    let stored = definitions::get::<WorkflowRule>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let active = !stored.definition.active;
    crate::api::workflows::set_active(&ctx.app, &ctx.actor, id, active)
        .await
        .map_err(|e| ctx.fail(e))?;
    let word = if active { "on" } else { "off" };
    Ok(ctx.done(
        LIST,
        format!("The rule “{}” is {word}.", stored.definition.name),
    ))
}
