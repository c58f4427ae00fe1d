//! A record's timeline on its page, and the quick-add forms under it (a note, a logged call, a
//! task). Entries come from `crate::api::timeline::record_timeline`, the quick-adds go through
//! `create_activity` / `create_task`: the same rules, scopes and audit as the API.

use super::detail::record_path;
use super::list::Owners;
use super::view::{Ctx, WebError, WebForm, ago, capitalise, datetime, with_query};
use crate::api::record::create_record;
use crate::api::tasks::company_time_zone;
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::activities::{ActivityInput, LinkInput, RecordType};
use rivet_domain::ids::UserId;
use rivet_domain::tasks::TaskInput;
use rivet_domain::{Action, Resource};
use rivet_store::activities::Activity;
use rivet_store::tasks::Task;
use rivet_store::timeline::{Before, EntryKind};
use serde::Deserialize;
use uuid::Uuid;

/// Entries shown on a record's page; older ones follow the "Older" link.
const PAGE: u64 = 30;

/// One line of the timeline as a page shows it.
pub(super) struct Row {
    pub kind: &'static str,
    pub icon: &'static str,
    pub title: String,
    /// The entry's own page (an activity's or a task's edit form), for who may change it.
    pub href: Option<String>,
    pub detail: String,
    pub who: String,
    pub when: String,
    pub when_full: String,
}

/// A record's timeline, ready for `timeline_macros.html`.
pub(super) struct Timeline {
    pub rows: Vec<Row>,
    /// `?before=` of the next page, when there is one.
    pub older: Option<String>,
    /// Where the quick-add forms post (`/quick-add/{type}/{id}`).
    pub action: String,
    pub can_note: bool,
    pub can_task: bool,
    /// The full task form, about this record.
    pub new_task: String,
    /// Where the "Send e-mail" form posts (`web::email`), on a lead, contact or deal for who
    /// may log activities.
    pub email_action: Option<String>,
    /// The active e-mail templates of the record's type the form offers: (id, name).
    pub email_templates: Vec<(String, String)>,
    /// The e-mails sent from the record, newest first, with what became of them (the e-mail
    /// card: `rivet_store::email::for_record`, tracking by `crate::tracking`).
    pub emails: Vec<EmailLine>,
}

/// How many e-mails the card lists.
const EMAILS: usize = 10;

/// One e-mail sent from the record, as the card shows it.
pub(super) struct EmailLine {
    pub subject: String,
    pub to: String,
    pub status: &'static str,
    pub when: String,
    pub opens: i32,
    pub clicks: i32,
    pub replied: bool,
    pub bounced: bool,
    pub unsubscribed: bool,
}

fn email_line(m: rivet_store::email::EmailMessage) -> EmailLine {
    EmailLine {
        to: m.to.join(", "),
        status: m.status.as_str(),
        when: ago(&m.sent_at.unwrap_or(m.created_at)),
        opens: m.tracking.open_count,
        clicks: m.tracking.click_count,
        replied: m.tracking.replied_at.is_some(),
        bounced: m.tracking.bounced_at.is_some(),
        unsubscribed: m.tracking.unsubscribed_at.is_some(),
        subject: m.subject,
    }
}

fn detail_of(kind: EntryKind, data: &serde_json::Value) -> String {
    let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
    match kind {
        EntryKind::Activity => {
            let mut parts = vec![capitalise(&text("kind"))];
            if let Some(outcome) = data["outcome"].as_str() {
                parts.push(outcome.to_owned());
            }
            if let Some(message_id) = data["message_id"].as_str() {
                parts.push(format!("Message-ID {message_id}"));
            }
            if let Some(body) = data["body"].as_str().filter(|b| !b.is_empty()) {
                parts.push(body.chars().take(280).collect());
            }
            parts.join(" · ")
        }
        EntryKind::Task => {
            let mut parts = vec![capitalise(&text("status").replace('_', " "))];
            if let Some(due) = data["due_at"].as_str() {
                parts.push(format!("due {}", due.get(..10).unwrap_or(due)));
            }
            parts.join(" · ")
        }
        EntryKind::StageChange | EntryKind::Event => String::new(),
    }
}

/// The first page (or the page below `before`) of a record's timeline.
pub(super) async fn load(
    ctx: &Ctx,
    owners: &Owners,
    record: RecordType,
    id: impl Into<Uuid>,
    before: &str,
) -> Result<Timeline, WebError> {
    let id: Uuid = id.into();
    let before = match before {
        "" => None,
        text => Some(Before::decode(text).ok_or_else(|| {
            ctx.fail(AppError::BadRequest(
                "the timeline link is not valid".into(),
            ))
        })?),
    };
    let page =
        crate::api::timeline::record_timeline(&ctx.app, &ctx.actor, record, id, PAGE, before)
            .await
            .map_err(|e| ctx.fail(e))?;
    let edits_activities = ctx.can(Resource::Activities, Action::Update);
    let edits_tasks = ctx.can(Resource::Tasks, Action::Update);
    let rows = page
        .data
        .into_iter()
        .map(|entry| {
            let href = match entry.kind {
                EntryKind::Activity if edits_activities => Some(with_query(
                    &format!("/activities/{}/edit", entry.id),
                    &[("back", &record_path(record, id))],
                )),
                EntryKind::Task if edits_tasks => Some(format!("/tasks/{}/edit", entry.id)),
                _ => None,
            };
            let (kind, icon) = match entry.kind {
                EntryKind::Activity => ("activity", "●"),
                EntryKind::Task => ("task", "☐"),
                EntryKind::StageChange => ("stage", "→"),
                EntryKind::Event => ("event", "✎"),
            };
            Row {
                kind,
                icon,
                href,
                detail: detail_of(entry.kind, &entry.data),
                who: entry
                    .actor_id
                    .map(|id| owners.name(UserId::from_uuid(id)))
                    .unwrap_or_default(),
                when: ago(&entry.at),
                when_full: datetime(&entry.at),
                title: entry.title,
            }
        })
        .collect();
    let email_action = (record != RecordType::Account
        && ctx.can(Resource::Activities, Action::Create))
    .then(|| format!("{}/email", record_path(record, id)));
    let email_templates = if email_action.is_some() && ctx.can(Resource::Templates, Action::Read) {
        email_templates_for(ctx, record).await?
    } else {
        Vec::new()
    };
    let emails = if record == RecordType::Account {
        Vec::new()
    } else {
        rivet_store::email::for_record(&ctx.app.store, &ctx.actor, id)
            .await
            .map_err(|e| ctx.fail(e))?
            .into_iter()
            .take(EMAILS)
            .map(email_line)
            .collect()
    };
    Ok(Timeline {
        rows,
        older: page.next_cursor,
        action: format!("/quick-add/{}/{id}", record.as_str()),
        can_note: ctx.can(Resource::Activities, Action::Create),
        can_task: ctx.can(Resource::Tasks, Action::Create),
        new_task: format!(
            "/tasks/new?related_type={}&related_id={id}",
            record.as_str()
        ),
        email_action,
        email_templates,
        emails,
    })
}

/// The active templates for `record`'s type, by name.
async fn email_templates_for(
    ctx: &Ctx,
    record: RecordType,
) -> Result<Vec<(String, String)>, WebError> {
    let Ok(kind) = record
        .as_str()
        .parse::<rivet_domain::templates::RecordType>()
    else {
        return Ok(Vec::new());
    };
    let all = rivet_store::definitions::list::<rivet_domain::templates::EmailTemplate>(
        &ctx.app.store,
        &ctx.actor,
    )
    .await
    .map_err(|e| ctx.fail(e))?;
    Ok(all
        .into_iter()
        .filter(|t| t.definition.record_type == kind && t.definition.active)
        .map(|t| (t.id.to_string(), t.definition.name))
        .collect())
}

/// A record page's query: `?before=` pages the timeline.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TimelineQuery {
    pub before: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuickAdd {
    /// note, call or task.
    kind: String,
    subject: String,
    body: String,
    outcome: String,
    due_date: String,
}

/// A note, a call or a task added from a record's timeline; back to the record either way.
pub async fn quick_add(
    ctx: Ctx,
    Path((record, id)): Path<(String, String)>,
    WebForm(form): WebForm<QuickAdd>,
) -> Result<Response, WebError> {
    let record: RecordType = record.parse().map_err(|_| ctx.fail(AppError::NotFound))?;
    let id = parse_id(&id).map_err(|e| ctx.fail(e))?;
    let back = record_path(record, id);
    let blank = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let result = match form.kind.as_str() {
        "note" | "call" => {
            let input = ActivityInput {
                kind: Some(form.kind.clone()),
                direction: (form.kind == "call").then(|| "outbound".to_owned()),
                subject: blank(&form.subject),
                body: blank(&form.body),
                outcome: blank(&form.outcome),
                links: Some(vec![LinkInput {
                    record_type: record.as_str().to_owned(),
                    record_id: id,
                }]),
                ..Default::default()
            };
            create_record::<Activity>(&ctx.app, &ctx.actor, input)
                .await
                .map(|_| ())
        }
        "task" => {
            ctx.require(Resource::Tasks, Action::Create)?;
            // The date is the company's; an unreadable one goes to the API, which names it.
            let tz = company_time_zone(&ctx.app, &ctx.actor)
                .await
                .map_err(|e| ctx.fail(e))?;
            let due_at = blank(&form.due_date).map(|d| super::tasks::due_on(tz, &d).unwrap_or(d));
            let input = TaskInput {
                subject: blank(&form.subject),
                description: blank(&form.body),
                due_at,
                related_type: Some(record.as_str().to_owned()),
                related_id: Some(id),
                ..Default::default()
            };
            create_record::<Task>(&ctx.app, &ctx.actor, input)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::BadRequest(
            "choose a note, a call or a task".into(),
        )),
    };
    let what = match form.kind.as_str() {
        "call" => "call",
        "task" => "task",
        _ => "note",
    };
    match result {
        Ok(()) => Ok(ctx.done(&back, format!("Added the {what}."))),
        Err(AppError::Validation(errors)) => {
            let messages: Vec<String> = errors
                .0
                .into_iter()
                .map(|e| format!("{}: {}", e.field.replace('_', " "), e.message))
                .collect();
            Ok(ctx.refused(
                &back,
                format!("The {what} was not added — {}.", messages.join("; ")),
            ))
        }
        Err(err) => Err(ctx.fail(err)),
    }
}
