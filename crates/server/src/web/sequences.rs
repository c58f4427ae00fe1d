//! Sequences (issue 15 §3): the list, the sequence page — its editor (steps added, removed and
//! moved with plain form buttons the server answers, so it works without scripts), its
//! enrollments with their state and actions, and its figures (per step: e-mails sent, opened,
//! clicked, replied to and bounced; enrollments by status — `rivet_store::sequences::stats`,
//! what `GET /api/v1/sequences/{id}/stats` answers) — and the "Enroll in sequence" page the
//! lead and contact pages link to, for one record or for the records a list's filter or view
//! selects. Saving is the definitions layer, checked by `SequenceInput::validate` and
//! `Definition::check` as the API checks it; enrolling is `api::sequences`' own path.

use super::list::{ListDecl, Selection, bulk_done, value_of};
use super::record_list::{HeaderLink, RecordList};
use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, datetime, options,
    with_query,
};
use crate::api::sequences::{EnrollInput, EnrollOutcome, enroll_records, enroll_selection};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::SequenceId;
use rivet_domain::sequences::{
    EnrollmentStatus, Enrolls, SendWindow, Sequence, SequenceInput, StepInput, StopRules,
};
use rivet_domain::templates::EmailTemplate;
use rivet_domain::{Action, Resource};
use rivet_store::definitions::{self, Stored};
use rivet_store::page::PageRequest;
use rivet_store::sequences::{self as store, Change};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FIELDS: &[&str] = &["name", "description", "enrolls", "steps", "daily_limit"];

pub struct SequenceRow {
    pub id: String,
    pub name: String,
    pub enrolls: String,
    pub steps: usize,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "web/sequences.html")]
struct ListPage {
    layout: Layout,
    sequences: Vec<SequenceRow>,
    can_create: bool,
}

/// One step row of the editor.
#[derive(Default)]
pub struct StepRow {
    pub kind: String,
    pub template_id: String,
    pub days: String,
    pub subject: String,
    /// A WhatsApp step's template name, language and parameters (commas).
    pub template: String,
    pub language: String,
    pub parameters: String,
    /// E-mails it sent (saved sequences).
    pub sent: i64,
}

pub struct DayBox {
    pub name: &'static str,
    pub checked: bool,
}

pub struct EnrollmentRow {
    pub id: String,
    pub record: String,
    pub record_link: String,
    pub status: String,
    pub stop_reason: String,
    pub step: i32,
    pub next_step_at: String,
    pub last_error: String,
    pub attempts: i32,
    pub live: bool,
    pub paused: bool,
}

#[derive(Template)]
#[template(path = "web/sequence_editor.html")]
struct EditorPage {
    layout: Layout,
    id: Option<String>,
    action: String,
    form: Editor,
    enrolls: Vec<Opt>,
    templates: Vec<Opt>,
    days: Vec<DayBox>,
    enrollments: Vec<EnrollmentRow>,
    /// A saved sequence's figures: per step, and its enrollments by status.
    stats: Option<store::SequenceStats>,
    can_save: bool,
    can_delete: bool,
    can_manage: bool,
    errors: FormErrors,
}

/// The editor's state, from a posted form (its fields by name) or a saved sequence.
#[derive(Default)]
pub struct Editor {
    pub name: String,
    pub description: String,
    pub enrolls: String,
    pub active: bool,
    pub steps: Vec<StepRow>,
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
    pub daily_limit: String,
    pub stop_reply: bool,
    pub stop_bounce: bool,
    pub stop_meeting: bool,
    pub stop_status: String,
}

impl Editor {
    fn of(input: &SequenceInput) -> Self {
        Self {
            name: input.name.clone(),
            description: input.description.clone().unwrap_or_default(),
            enrolls: store::record_type_of(input.enrolls).to_owned(),
            active: input.active,
            steps: input
                .steps
                .iter()
                .map(|s| match s {
                    StepInput::Email { template_id } => StepRow {
                        kind: "email".into(),
                        template_id: template_id.to_string(),
                        ..StepRow::default()
                    },
                    StepInput::Wait { business_days } => StepRow {
                        kind: "wait".into(),
                        template_id: String::new(),
                        days: business_days.to_string(),
                        ..StepRow::default()
                    },
                    StepInput::Task {
                        subject,
                        due_in_business_days,
                    } => StepRow {
                        kind: "task".into(),
                        template_id: String::new(),
                        days: due_in_business_days.to_string(),
                        subject: subject.clone(),
                        ..StepRow::default()
                    },
                    StepInput::Whatsapp {
                        template,
                        language,
                        parameters,
                    } => StepRow {
                        kind: "whatsapp".into(),
                        template: template.clone(),
                        language: language.clone(),
                        parameters: parameters.join(", "),
                        ..StepRow::default()
                    },
                })
                .collect(),
            days: input.window.days.clone(),
            start: input.window.start.clone(),
            end: input.window.end.clone(),
            daily_limit: input.daily_limit.map(|l| l.to_string()).unwrap_or_default(),
            stop_reply: input.stop.on_reply,
            stop_bounce: input.stop.on_bounce,
            stop_meeting: input.stop.on_meeting,
            stop_status: input.stop.on_status.join(", "),
        }
    }

    fn blank() -> Self {
        let mut editor = Self::of(&SequenceInput {
            name: String::new(),
            description: None,
            active: true,
            enrolls: Enrolls::Lead,
            steps: Vec::new(),
            window: SendWindow::default(),
            daily_limit: None,
            stop: StopRules::default(),
        });
        editor.steps.push(blank_step("email"));
        editor
    }

    /// The editor as posted: `step_type_{i}`, `step_template_{i}`, `step_days_{i}`,
    /// `step_subject_{i}` (and for WhatsApp `step_wa_template_{i}`, `step_language_{i}`,
    /// `step_parameters_{i}`) for each step, `day_{mon..sun}` for the window.
    fn posted(form: &HashMap<String, String>) -> Self {
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        let count: usize = get("step_count").parse().unwrap_or(0).min(100);
        Self {
            name: get("name"),
            description: get("description"),
            enrolls: get("enrolls"),
            active: form.contains_key("active"),
            steps: (0..count)
                .map(|i| StepRow {
                    kind: get(&format!("step_type_{i}")),
                    template_id: get(&format!("step_template_{i}")),
                    days: get(&format!("step_days_{i}")),
                    subject: get(&format!("step_subject_{i}")),
                    template: get(&format!("step_wa_template_{i}")),
                    language: get(&format!("step_language_{i}")),
                    parameters: get(&format!("step_parameters_{i}")),
                    sent: 0,
                })
                .collect(),
            days: DAYS
                .iter()
                .filter(|d| form.contains_key(&format!("day_{d}")))
                .map(|d| (*d).to_owned())
                .collect(),
            start: get("start"),
            end: get("end"),
            daily_limit: get("daily_limit"),
            stop_reply: form.contains_key("stop_reply"),
            stop_bounce: form.contains_key("stop_bounce"),
            stop_meeting: form.contains_key("stop_meeting"),
            stop_status: get("stop_status"),
        }
    }

    /// The sequence the editor describes, checked as the API checks it.
    fn sequence(&self, errors: &mut FormErrors) -> Option<Sequence> {
        let enrolls = match self.enrolls.as_str() {
            "lead" => Enrolls::Lead,
            "contact" => Enrolls::Contact,
            _ => {
                errors.add("enrolls", "must be lead or contact");
                return None;
            }
        };
        let number = |text: &str, field: &str, errors: &mut FormErrors| -> u32 {
            match text.trim() {
                "" => 0,
                t => t.parse().unwrap_or_else(|_| {
                    errors.add(field, "must be a whole number");
                    0
                }),
            }
        };
        let mut steps = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let field = format!("step {}", i + 1);
            steps.push(match step.kind.as_str() {
                "email" => match step.template_id.parse() {
                    Ok(template_id) => StepInput::Email { template_id },
                    Err(_) => {
                        errors.add("steps", format!("{field}: choose a template"));
                        continue;
                    }
                },
                "wait" => StepInput::Wait {
                    business_days: number(&step.days, "steps", errors),
                },
                "whatsapp" => StepInput::Whatsapp {
                    template: step.template.trim().to_owned(),
                    language: step.language.trim().to_owned(),
                    parameters: step
                        .parameters
                        .split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect(),
                },
                _ => StepInput::Task {
                    subject: step.subject.clone(),
                    due_in_business_days: number(&step.days, "steps", errors),
                },
            });
        }
        let daily_limit = match self.daily_limit.trim() {
            "" => None,
            t => match t.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add("daily_limit", "must be a whole number, or left empty");
                    return None;
                }
            },
        };
        let input = SequenceInput {
            name: self.name.clone(),
            description: Some(self.description.clone()).filter(|d| !d.trim().is_empty()),
            active: self.active,
            enrolls,
            steps,
            window: SendWindow {
                days: self.days.clone(),
                start: self.start.trim().to_owned(),
                end: self.end.trim().to_owned(),
            },
            daily_limit,
            stop: StopRules {
                on_reply: self.stop_reply,
                on_bounce: self.stop_bounce,
                on_meeting: self.stop_meeting,
                on_status: self
                    .stop_status
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            },
        };
        if !errors.is_empty() {
            return None;
        }
        match input.validate() {
            Ok(s) => Some(s),
            Err(e) => {
                absorb(errors, e.into());
                None
            }
        }
    }

    /// Apply an editing button (`add_email`, `add_wait`, `add_task`, `add_whatsapp`,
    /// `remove_{i}`, `up_{i}`,
    /// `down_{i}`); `false` when `intent` is not one (a save).
    fn edit(&mut self, intent: &str) -> bool {
        let index = |prefix: &str| {
            intent
                .strip_prefix(prefix)
                .and_then(|i| i.parse::<usize>().ok())
        };
        if let Some(kind) = intent.strip_prefix("add_") {
            self.steps.push(blank_step(kind));
        } else if let Some(i) = index("remove_") {
            if i < self.steps.len() {
                self.steps.remove(i);
            }
        } else if let Some(i) = index("up_") {
            if i > 0 && i < self.steps.len() {
                self.steps.swap(i - 1, i);
            }
        } else if let Some(i) = index("down_") {
            if i + 1 < self.steps.len() {
                self.steps.swap(i, i + 1);
            }
        } else {
            return false;
        }
        true
    }
}

fn blank_step(kind: &str) -> StepRow {
    StepRow {
        kind: match kind {
            "wait" | "task" | "whatsapp" => kind.to_owned(),
            _ => "email".to_owned(),
        },
        template_id: String::new(),
        days: if matches!(kind, "email" | "whatsapp") {
            String::new()
        } else {
            "1".to_owned()
        },
        ..StepRow::default()
    }
}

fn absorb(errors: &mut FormErrors, err: AppError) {
    match err {
        AppError::Validation(fields) => {
            for e in fields.0 {
                if FIELDS.contains(&e.field.as_str()) {
                    errors.add(&e.field, e.message);
                } else {
                    errors.add_general(format!("{}: {}", e.field, e.message));
                }
            }
        }
        other => {
            if let Err(other) = errors.absorb(other, FIELDS) {
                errors.add_general(other.problem().detail);
            }
        }
    }
}

/// `GET /sequences`.
pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let list: Vec<Stored<Sequence>> = definitions::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let page = ListPage {
        layout: ctx.layout("Sequences"),
        sequences: list
            .iter()
            .map(|s| SequenceRow {
                id: s.id.to_string(),
                name: s.definition.input.name.clone(),
                enrolls: store::record_type_of(s.definition.input.enrolls).to_owned(),
                steps: s.definition.input.steps.len(),
                active: s.definition.input.active,
            })
            .collect(),
        can_create: ctx.can(Resource::Sequences, Action::Create),
    };
    Ok(ctx.render(&page))
}

async fn editor(
    ctx: &Ctx,
    saved: Option<&Stored<Sequence>>,
    mut form: Editor,
    errors: FormErrors,
) -> Result<EditorPage, WebError> {
    let templates: Vec<Stored<EmailTemplate>> = definitions::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    let mut enrollments = Vec::new();
    let mut stats = None;
    if let Some(s) = saved {
        let figures = store::stats(&ctx.app.store, &ctx.actor, s.id)
            .await
            .or_page(ctx)?;
        for (row, step) in form.steps.iter_mut().zip(&figures.steps) {
            row.sent = step.sent;
        }
        stats = Some(figures);
        let page = PageRequest {
            limit: 200,
            after: None,
        };
        let list = store::enrollments(&ctx.app.store, &ctx.actor, s.id, None, page)
            .await
            .or_page(ctx)?;
        enrollments = list
            .data
            .iter()
            .map(|e| EnrollmentRow {
                id: e.id.to_string(),
                record: e.record_id.to_string(),
                record_link: format!("/{}s/{}", e.record_type, e.record_id),
                status: e.status.as_str().to_owned(),
                stop_reason: e.stop_reason.clone().unwrap_or_default(),
                step: e.step + 1,
                next_step_at: datetime(&e.next_step_at),
                last_error: e.last_error.clone().unwrap_or_default(),
                attempts: e.attempts,
                live: matches!(
                    e.status,
                    EnrollmentStatus::Active | EnrollmentStatus::Paused
                ),
                paused: e.status == EnrollmentStatus::Paused,
            })
            .collect();
    }
    let days = DAYS
        .iter()
        .map(|d| DayBox {
            name: d,
            checked: form.days.iter().any(|x| x == d),
        })
        .collect();
    Ok(EditorPage {
        layout: ctx.layout(match saved {
            Some(s) => format!("Sequence {}", s.definition.input.name),
            None => "New sequence".to_owned(),
        }),
        id: saved.map(|s| s.id.to_string()),
        action: match saved {
            Some(s) => format!("/sequences/{}", s.id),
            None => "/sequences".to_owned(),
        },
        enrolls: options([("lead", "Leads"), ("contact", "Contacts")], &form.enrolls),
        templates: templates
            .iter()
            .map(|t| Opt {
                value: t.id.to_string(),
                label: format!("{} ({})", t.definition.name, t.definition.record_type),
                selected: false,
            })
            .collect(),
        days,
        enrollments,
        stats,
        can_save: match saved {
            Some(_) => ctx.can(Resource::Sequences, Action::Update),
            None => ctx.can(Resource::Sequences, Action::Create),
        },
        can_delete: saved.is_some() && ctx.can(Resource::Sequences, Action::Delete),
        can_manage: ctx.can(Resource::Activities, Action::Create)
            && ctx.can(Resource::Sequences, Action::Read),
        form,
        errors,
    })
}

/// `GET /sequences/new`.
pub async fn new(ctx: Ctx) -> Result<Response, WebError> {
    let page = editor(&ctx, None, Editor::blank(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

/// `POST /sequences`: an editing button, or create.
pub async fn create(
    ctx: Ctx,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let mut editor_state = Editor::posted(&form);
    let intent = form.get("intent").cloned().unwrap_or_default();
    let mut errors = FormErrors::new();
    if editor_state.edit(&intent) {
        let page = editor(&ctx, None, editor_state, errors).await?;
        return Ok(ctx.render(&page));
    }
    if let Some(sequence) = editor_state.sequence(&mut errors) {
        match definitions::create(&ctx.app.store, &ctx.actor, &sequence).await {
            Ok(saved) => {
                return Ok(ctx.done(
                    &format!("/sequences/{}", saved.id),
                    format!("Created the sequence {}.", saved.definition.input.name),
                ));
            }
            Err(e) => absorb(&mut errors, e.into()),
        }
    }
    let page = editor(&ctx, None, editor_state, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn load(ctx: &Ctx, id: &str) -> Result<Stored<Sequence>, WebError> {
    let id: SequenceId = parse_id(id).or_page(ctx)?;
    definitions::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

/// `GET /sequences/{id}`.
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let saved = load(&ctx, &id).await?;
    let form = Editor::of(&saved.definition.input);
    let page = editor(&ctx, Some(&saved), form, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

/// `POST /sequences/{id}`: an editing button, or save.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let saved = load(&ctx, &id).await?;
    let mut editor_state = Editor::posted(&form);
    let intent = form.get("intent").cloned().unwrap_or_default();
    let mut errors = FormErrors::new();
    if editor_state.edit(&intent) {
        let page = editor(&ctx, Some(&saved), editor_state, errors).await?;
        return Ok(ctx.render(&page));
    }
    if let Some(sequence) = editor_state.sequence(&mut errors) {
        match definitions::update(&ctx.app.store, &ctx.actor, saved.id, &sequence).await {
            Ok(updated) => {
                return Ok(ctx.done(&format!("/sequences/{}", updated.id), "Saved the sequence."));
            }
            Err(e) => absorb(&mut errors, e.into()),
        }
    }
    let page = editor(&ctx, Some(&saved), editor_state, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// `POST /sequences/{id}/delete`.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let saved = load(&ctx, &id).await?;
    definitions::delete::<Sequence>(&ctx.app.store, &ctx.actor, saved.id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/sequences",
        format!("Deleted the sequence {}.", saved.definition.input.name),
    ))
}

/// `POST /sequences/{id}/enrollments/{eid}/{pause|resume|stop}`.
pub async fn change(
    ctx: Ctx,
    Path((id, eid, verb)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    ctx.require(Resource::Sequences, Action::Read)?;
    let change = match verb.as_str() {
        "pause" => Change::Pause,
        "resume" => Change::Resume,
        "stop" => Change::Stop,
        _ => return Err(ctx.fail(AppError::NotFound)),
    };
    let sid: SequenceId = parse_id(&id).or_page(&ctx)?;
    let eid = parse_id(&eid).or_page(&ctx)?;
    let back = format!("/sequences/{id}");
    match store::change(&ctx.app.store, &ctx.actor, sid, eid, change).await {
        Ok(e) => Ok(ctx.done(&back, format!("The enrollment is {}.", e.status.as_str()))),
        Err(rivet_store::StoreError::Conflict { message, .. }) => Ok(ctx.refused(&back, message)),
        Err(e) => Err(ctx.fail(e)),
    }
}

/// Which records the enroll page is for: one record, or those a list filter selects.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EnrollQuery {
    record_type: String,
    record_id: String,
    /// The list's query string (the API's), when there is no `record_id`.
    filter: String,
}

#[derive(Template)]
#[template(path = "web/sequence_enroll.html")]
struct EnrollPage {
    layout: Layout,
    record_type: String,
    record_id: String,
    filter: String,
    /// Where "back" goes: the record, or the list as filtered.
    back: String,
    sequences: Vec<Opt>,
}

fn enrolls_of(record_type: &str) -> Enrolls {
    match record_type {
        "contact" => Enrolls::Contact,
        _ => Enrolls::Lead,
    }
}

/// The active sequences enrolling `enrolls`, as options.
async fn sequence_options(ctx: &Ctx, enrolls: Enrolls) -> Result<Vec<Opt>, WebError> {
    let list: Vec<Stored<Sequence>> = definitions::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(ctx)?;
    Ok(list
        .iter()
        .filter(|s| s.definition.input.active && s.definition.input.enrolls == enrolls)
        .map(|s| Opt {
            value: s.id.to_string(),
            label: s.definition.input.name.clone(),
            selected: false,
        })
        .collect())
}

/// Where the enroll page goes back to: the record, or its list as filtered.
fn back_of(record_type: &str, record_id: Option<Uuid>, filter: &str) -> String {
    let list = format!("/{}s", store::record_type_of(enrolls_of(record_type)));
    match record_id {
        Some(id) => format!("{list}/{id}"),
        None if filter.trim().is_empty() => list,
        None => format!("{list}?{}", filter.trim().trim_start_matches('?')),
    }
}

/// `GET /sequences/enroll?record_type=lead&record_id=…` (or `&filter=…`, the records a list
/// selects): the active sequences of the record type to enroll in.
pub async fn enroll_page(
    ctx: Ctx,
    WebQuery(query): WebQuery<EnrollQuery>,
) -> Result<Response, WebError> {
    ctx.require(Resource::Sequences, Action::Read)?;
    let enrolls = enrolls_of(&query.record_type);
    let record_id: Option<Uuid> = if query.record_id.is_empty() {
        None
    } else {
        Some(parse_id(&query.record_id).or_page(&ctx)?)
    };
    let page = EnrollPage {
        layout: ctx.layout("Enroll in sequence"),
        record_type: store::record_type_of(enrolls).to_owned(),
        record_id: record_id.map(|id| id.to_string()).unwrap_or_default(),
        back: back_of(&query.record_type, record_id, &query.filter),
        filter: query.filter,
        sequences: sequence_options(&ctx, enrolls).await?,
    };
    Ok(ctx.render(&page))
}

/// The enroll page's form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EnrollForm {
    record_type: String,
    record_id: String,
    filter: String,
    sequence_id: String,
}

/// What enrolling came to, in a sentence: how many were enrolled, and why the others were not.
fn outcome_message(outcome: &EnrollOutcome) -> String {
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for reason in outcome.results.iter().filter_map(|r| r.reason) {
        let why = serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        match reasons.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => reasons.push((why, 1)),
        }
    }
    let mut message = format!("Enrolled {} in the sequence.", outcome.enrolled);
    if !reasons.is_empty() {
        let list: Vec<String> = reasons.iter().map(|(w, n)| format!("{n} {w}")).collect();
        message.push_str(&format!(
            " Skipped {}: {}.",
            outcome.skipped,
            list.join(", ")
        ));
    }
    message
}

/// `POST /sequences/enroll`: enroll the record (or the records the filter selects), back to
/// its page (or the list) with what came of it.
pub async fn enroll(ctx: Ctx, WebForm(form): WebForm<EnrollForm>) -> Result<Response, WebError> {
    let sequence_id: SequenceId = parse_id(&form.sequence_id).or_page(&ctx)?;
    if form.record_id.is_empty() {
        let back = back_of(&form.record_type, None, &form.filter);
        let body = EnrollInput {
            filter: Some(form.filter),
            ..EnrollInput::default()
        };
        return match enroll_selection(&ctx.app, &ctx.actor, sequence_id, body).await {
            Ok(outcome) => Ok(ctx.done(&back, outcome_message(&outcome))),
            Err(AppError::Conflict { message, .. }) => Ok(ctx.refused(&back, message)),
            Err(AppError::Validation(errors)) => Ok(ctx.refused(
                &back,
                errors
                    .0
                    .iter()
                    .map(|e| format!("The list {}.", e.message))
                    .collect::<Vec<_>>()
                    .join(" "),
            )),
            Err(e) => Err(ctx.fail(e)),
        };
    }
    let record_id: Uuid = parse_id(&form.record_id).or_page(&ctx)?;
    let back = back_of(&form.record_type, Some(record_id), "");
    match enroll_records(&ctx.app, &ctx.actor, sequence_id, &[record_id]).await {
        Ok(outcome) => match outcome.results.first().and_then(|r| r.reason) {
            None => Ok(ctx.done(&back, "Enrolled in the sequence.")),
            Some(reason) => {
                let why = serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                    .unwrap_or_default();
                Ok(ctx.refused(&back, format!("Not enrolled: {why}.")))
            }
        },
        Err(AppError::Conflict { message, .. }) => Ok(ctx.refused(&back, message)),
        Err(e) => Err(ctx.fail(e)),
    }
}

/// What a lead or contact list page offers for enrolling, to who may enroll when an active
/// sequence enrolls the type: the bulk bar's "Enroll in sequence" for the selected rows, and a
/// header button enrolling every record the list as filtered (`api`, the API's query) selects.
pub async fn offer_enroll(
    ctx: &Ctx,
    list: &mut RecordList,
    enrolls: Enrolls,
    api: &[(String, String)],
) -> Result<(), WebError> {
    if !(ctx.can(Resource::Sequences, Action::Read)
        && ctx.can(Resource::Activities, Action::Create))
    {
        return Ok(());
    }
    let options = sequence_options(ctx, enrolls).await?;
    if options.is_empty() {
        return Ok(());
    }
    let filter: Vec<(&str, &str)> = api
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "cursor" | "limit" | "sort") && !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let filter = serde_urlencoded::to_string(&filter).unwrap_or_default();
    let record_type = store::record_type_of(enrolls);
    list.header_links.push(HeaderLink {
        href: with_query(
            "/sequences/enroll",
            &[("record_type", record_type), ("filter", filter.as_str())],
        ),
        label: "Enroll list in sequence",
        primary: false,
    });
    let mut choose = vec![Opt {
        value: String::new(),
        label: "Choose a sequence".into(),
        selected: true,
    }];
    choose.extend(options);
    list.bulk_select(
        ("sequence_id", "Sequence"),
        choose,
        ("enroll", "Enroll in sequence"),
    );
    Ok(())
}

/// The bulk bar's "Enroll in sequence" (`action=enroll`) of a lead or contact list: the
/// selected records enrolled in the chosen sequence, back to the list saying what came of it.
pub async fn bulk_enroll<K>(
    ctx: &Ctx,
    decl: &ListDecl,
    form: &[(String, String)],
) -> Result<Response, WebError> {
    let selection = match Selection::<K>::read(ctx, form, decl)? {
        Ok(selection) => selection,
        Err(refused) => return Ok(refused),
    };
    let back = selection.back;
    let Ok(sequence_id) = parse_id::<SequenceId>(value_of(form, "sequence_id")) else {
        return Ok(ctx.refused(&back, "Choose the sequence first."));
    };
    let ids: Vec<Uuid> = selection.ids.iter().map(|id| id.uuid()).collect();
    match enroll_records(&ctx.app, &ctx.actor, sequence_id, &ids).await {
        Ok(outcome) => Ok(ctx.done(&back, outcome_message(&outcome))),
        Err(e) => bulk_done(ctx, &back, Err::<String, _>(e)),
    }
}
