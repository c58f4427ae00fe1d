//! Administration › Workflow rules (issue 15 §5): the company's rules (name, record, trigger,
//! on/off with a button, the last run), the rule builder (record type, trigger, condition rows,
//! action rows — plain form rows, blank rows left out) and a rule's page with its execution log.
//! Saving goes through the definitions layer as the API's `POST /workflows` does, so the page
//! and the API check the same rule; switching on and off is the API's `set_active`.

use super::view::{Ctx, Layout, OrPage, WebError, WebForm, ago, datetime};
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::assignment::ConditionInput;
use rivet_domain::ids::WorkflowRuleId;
use rivet_domain::workflows::{
    WorkflowActionInput, WorkflowRecord, WorkflowRule, WorkflowRuleInput, WorkflowTriggerInput,
};
use rivet_domain::{FieldError, FieldErrors};
use rivet_store::definitions;
use rivet_store::page::PageRequest;
use rivet_store::workflows::{self as store, WorkflowRun};
use serde_json::Value;

const LIST: &str = "/workflows";
/// Condition and action rows the builder offers.
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

/// One row of the builder's form.
#[derive(Default, Clone)]
pub struct FormRow {
    pub kind: String,
    pub field: String,
    pub value: String,
    pub subject: String,
    pub days: String,
    pub tag: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "web/workflow_edit.html")]
struct EditPage {
    layout: Layout,
    name: String,
    description: String,
    record_type: String,
    event: String,
    changed: String,
    conditions: Vec<FormRow>,
    actions: Vec<FormRow>,
    record_types: &'static [&'static str],
    events: Vec<String>,
    errors: Vec<FieldError>,
}

fn blank_page(ctx: &Ctx) -> EditPage {
    EditPage {
        layout: ctx.layout("New workflow rule"),
        name: String::new(),
        description: String::new(),
        record_type: "lead".into(),
        event: "lead.created".into(),
        changed: String::new(),
        conditions: vec![FormRow::default(); ROWS],
        actions: vec![FormRow::default(); ROWS],
        record_types: WorkflowRecord::NAMES,
        events: WorkflowRecord::ALL
            .iter()
            .flat_map(|r| r.event_types())
            .fold(Vec::new(), |mut all, e| {
                if !all.contains(&e) {
                    all.push(e);
                }
                all
            }),
        errors: Vec::new(),
    }
}

/// `GET /workflows/new`.
pub async fn new(ctx: Ctx) -> Result<Response, WebError> {
    Ok(ctx.render(&blank_page(&ctx)))
}

/// The form's fields in order (repeated names are the rows).
type Fields = Vec<(String, String)>;

fn one(fields: &Fields, name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

fn many(fields: &Fields, name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

fn rows(fields: &Fields, prefix: &str) -> Vec<FormRow> {
    let col = |name: &str| many(fields, &format!("{prefix}_{name}"));
    let (kind, field, value, subject, days, tag, url) = (
        col("kind"),
        col("field"),
        col("value"),
        col("subject"),
        col("days"),
        col("tag"),
        col("url"),
    );
    let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
    (0..kind.len())
        .map(|i| FormRow {
            kind: at(&kind, i),
            field: at(&field, i),
            value: at(&value, i),
            subject: at(&subject, i),
            days: at(&days, i),
            tag: at(&tag, i),
            url: at(&url, i),
        })
        .collect()
}

/// A form value as JSON: a number when it reads as one, else text.
fn value_of(text: &str) -> Value {
    text.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn input_of(fields: &Fields) -> WorkflowRuleInput {
    let changed: Vec<String> = one(fields, "changed")
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let conditions = rows(fields, "cond")
        .into_iter()
        .filter(|r| !r.kind.is_empty() && !r.field.is_empty())
        .map(|r| ConditionInput {
            value: (r.kind != "filled").then(|| Value::String(r.value.clone())),
            op: r.kind,
            field: Some(r.field),
            ..ConditionInput::default()
        })
        .collect();
    let actions = rows(fields, "action")
        .into_iter()
        .filter(|r| !r.kind.is_empty())
        .map(|r| {
            let mut a = WorkflowActionInput {
                kind: r.kind.clone(),
                ..WorkflowActionInput::default()
            };
            match r.kind.as_str() {
                "create_task" => {
                    a.subject = Some(r.subject);
                    a.due_in_business_days = r.days.parse().ok();
                }
                "update_field" => {
                    a.field = Some(r.field);
                    a.value = Some(value_of(&r.value));
                }
                "assign_owner" => a.user_id = r.value.parse().ok(),
                "add_tag" => a.tag = Some(r.tag),
                "call_webhook" => a.url = Some(r.url),
                _ => {}
            }
            a
        })
        .collect();
    WorkflowRuleInput {
        name: one(fields, "name"),
        description: Some(one(fields, "description")).filter(|d| !d.is_empty()),
        active: Some(true),
        record_type: one(fields, "record_type"),
        trigger: WorkflowTriggerInput {
            kind: "event".into(),
            event: Some(one(fields, "event")),
            changed: (!changed.is_empty()).then_some(changed),
            days: None,
        },
        conditions,
        actions,
        max_depth: None,
    }
}

/// `POST /workflows/new`: save the rule and open its page, or show the form again with what is
/// wrong.
pub async fn create(ctx: Ctx, WebForm(fields): WebForm<Fields>) -> Result<Response, WebError> {
    let input = input_of(&fields);
    let saved = match WorkflowRule::validate(input) {
        Ok(rule) => definitions::create(&ctx.app.store, &ctx.actor, &rule)
            .await
            .map_err(crate::http::error::AppError::from),
        Err(errors) => Err(crate::http::error::AppError::from(
            rivet_store::StoreError::Invalid(errors),
        )),
    };
    match saved {
        Ok(stored) => Ok(ctx.done(
            &format!("{LIST}/{}", stored.id),
            format!("Saved the rule “{}”.", stored.definition.name),
        )),
        Err(e) => {
            let errors = match e {
                crate::http::error::AppError::Validation(FieldErrors(errors)) => errors,
                other => return Err(ctx.fail(other)),
            };
            let mut page = blank_page(&ctx);
            let pad = |mut r: Vec<FormRow>| {
                r.resize(r.len().max(ROWS), FormRow::default());
                r
            };
            page.name = one(&fields, "name");
            page.description = one(&fields, "description");
            page.record_type = one(&fields, "record_type");
            page.event = one(&fields, "event");
            page.changed = one(&fields, "changed");
            page.conditions = pad(rows(&fields, "cond"));
            page.actions = pad(rows(&fields, "action"));
            page.errors = errors;
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
