//! The activities pages: the list (the saved views bar, a filter bar, sortable columns, keyset
//! pages, each row with the records it is linked to, and bulk owner change / delete with a
//! confirmation step) and the edit form with its delete button. The list reads the same query
//! string as `GET /api/v1/activities` (the leads page's helpers turn the filter bar into it,
//! plus `occurred_from`/`occurred_to` as the company's days: [`list_pairs`], and back for a
//! saved view: [`page_pairs`]); every change goes through
//! `crate::api::activities::update_activity` or the store's functions. New activities are logged
//! from a record's timeline (`web::timeline`), which knows the record to link.
//!
//! Times are shown and typed in the company's time zone (its settings); the API stores UTC.

use super::detail::record_path;
use super::form::text;
use super::list::{
    BulkChange, Col, Owners, PAGE_SIZE, after, api_pairs, bulk_action, choice_options, delete_one,
    value_of,
};
use super::record_form::{Field, FormSection, RecordForm};
use super::record_list::{
    Badge, Cell, Filter, LinkView, ListDecl, RecordList, Row, take_select_all,
};
use super::view::{
    Ctx, FormErrors, FormKind, Opt, OrPage, WebError, WebForm, WebQuery, capitalise, safe_next,
};
use super::views_bar::ListSpec;
use crate::api::record::update_record;
use crate::api::tasks::company_time_zone;
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rivet_domain::activities::{
    ACTIVITY_DEFAULT_SORT, ACTIVITY_FIELDS, ActivityField, ActivityKind, Direction, Link,
    RecordType,
};
use rivet_domain::query::ListQuery;
use rivet_domain::{Action, Resource, Scope};
use rivet_store::activities::{self, Activity};
use rivet_store::record;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// The form fields a validation message can sit next to (the API's `occurred_at` is shown at
/// the date input, `duration_seconds` at the minutes).
const FORM_FIELDS: &[&str] = &[
    "kind",
    "direction",
    "subject",
    "body",
    "occurred_date",
    "occurred_time",
    "duration_minutes",
    "outcome",
];

/// When a date is typed without a time.
const DEFAULT_TIME: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(time) => time,
    None => NaiveTime::MIN,
};

/// The domain's longest duration (a week), in the form's minutes.
const MAX_MINUTES: i64 = 7 * 24 * 60;

fn kind_label(kind: ActivityKind) -> &'static str {
    match kind {
        ActivityKind::Call => "Call",
        ActivityKind::Email => "E-mail",
        ActivityKind::Meeting => "Meeting",
        ActivityKind::Note => "Note",
        ActivityKind::Whatsapp => "WhatsApp",
        ActivityKind::Sms => "SMS",
    }
}

fn direction_label(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "Inbound",
        Direction::Outbound => "Outbound",
    }
}

fn record_label(record: RecordType) -> &'static str {
    match record {
        RecordType::Lead => "Lead",
        RecordType::Contact => "Contact",
        RecordType::Account => "Account",
        RecordType::Deal => "Deal",
    }
}

fn kind_options(first: Option<&str>, selected: &str) -> Vec<Opt> {
    choice_options(
        first,
        ActivityKind::ALL,
        ActivityKind::as_str,
        kind_label,
        selected,
    )
}

fn direction_options(first: &str, selected: &str) -> Vec<Opt> {
    choice_options(
        Some(first),
        Direction::ALL,
        Direction::as_str,
        direction_label,
        selected,
    )
}

/// What a row or a heading calls an activity: its subject, else the start of its text.
fn title_of(activity: &Activity) -> String {
    if let Some(subject) = &activity.subject {
        return subject.clone();
    }
    match &activity.body {
        Some(body) => {
            let mut title: String = body.chars().take(60).collect();
            if body.chars().count() > 60 {
                title.push('…');
            }
            title
        }
        None => format!("{} without a subject", kind_label(activity.kind)),
    }
}

fn local(at: &DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// A local date and time in `tz` as UTC; a time the clocks skip is `None`, a repeated one is
/// the first.
fn to_utc(tz: Tz, at: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&at)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The names of the linked records of a page, looked up once for the whole page; a record the
/// caller may not read shows as its kind ("Lead").
struct RecordNames {
    names: HashMap<Uuid, String>,
}

impl RecordNames {
    /// The names of every record the page's activities link to, in one query.
    async fn load(ctx: &Ctx, activities: &[Activity]) -> Result<Self, WebError> {
        let records: Vec<(RecordType, Uuid)> = activities
            .iter()
            .flat_map(|a| a.links.iter())
            .map(|l| (l.record_type, l.record_id))
            .collect();
        let names = rivet_store::search::titles(&ctx.app.store, &ctx.actor, &records)
            .await
            .or_page(ctx)?;
        Ok(Self { names })
    }

    fn view(&self, link: &Link) -> LinkView {
        let label = self.names.get(&link.record_id).cloned();
        LinkView {
            label: label.unwrap_or_else(|| record_label(link.record_type).to_owned()),
            href: record_path(link.record_type, link.record_id),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The list

const LIST: ListDecl = ListDecl {
    page: &PAGE,
    key: "activities",
    title: "Activities",
    blurb: "",
    heading: "All activities",
    noun: "activity",
    nouns: "activities",
    new_label: None,
    empty: "Nothing logged yet. Add a note or log a call from a lead, contact, account or deal page.",
    add_first: "",
    columns: &[
        Col::sorts_down("Occurred", "occurred_at"),
        Col::plain("Kind"),
        Col::plain("Subject"),
        Col::plain("Linked to"),
        Col::plain("Owner"),
        Col::sorts_down("Logged", "created_at"),
        Col::sorts_down("Changed", "updated_at"),
    ],
};

/// The filter bar's keys.
const FILTERS: &[&str] = &[
    "q",
    "kind",
    "direction",
    "owner_id",
    "occurred_from",
    "occurred_to",
];

/// The first moment of `day` in `tz` (`from_start`), or the last millisecond before the next
/// day's first moment; `None` when the clocks skip that midnight.
fn day_bound(tz: Tz, day: NaiveDate, from_start: bool) -> Option<DateTime<Utc>> {
    if from_start {
        to_utc(tz, day.and_time(NaiveTime::MIN))
    } else {
        day.succ_opt()
            .and_then(|next| to_utc(tz, next.and_time(NaiveTime::MIN)))
            .map(|t| t - chrono::Duration::milliseconds(1))
    }
}

/// The page's query string as the API's: `occurred_from` / `occurred_to` (what a date input
/// sends) become `occurred_at[gte|lte]` over the whole of those days in the company's time
/// zone; the rest goes through the leads page's helper. What the list asks for, and what a
/// saved view stores.
pub(super) fn list_pairs(
    raw: &[(String, String)],
    tz: Tz,
    errors: &mut FormErrors,
) -> Vec<(String, String)> {
    let mut rest = Vec::new();
    let mut out = Vec::new();
    for (key, value) in raw {
        let (op, from_start) = match key.as_str() {
            "occurred_from" => ("gte", true),
            "occurred_to" => ("lte", false),
            _ => {
                rest.push((key.clone(), value.clone()));
                continue;
            }
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") else {
            errors.add(key, "must be a date such as 2026-01-31");
            continue;
        };
        match day_bound(tz, day, from_start) {
            Some(at) => out.push((
                format!("occurred_at[{op}]"),
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )),
            None => errors.add(key, "is not a day of the calendar"),
        }
    }
    out.extend(api_pairs(&rest, errors));
    out
}

/// A saved view's query (the API's) as the page's parameters: an `occurred_at[gte|lte]` that
/// is exactly where a day of `tz` starts or ends becomes that `occurred_from` / `occurred_to`
/// day, so the date is back in the filter bar; any other time stays as it is (the page hands
/// it on to the list).
pub(super) fn page_pairs(api: Vec<(String, String)>, tz: Tz) -> Vec<(String, String)> {
    api.into_iter()
        .map(|(key, value)| {
            let (page_key, from_start) = match key.as_str() {
                "occurred_at[gte]" => ("occurred_from", true),
                "occurred_at[lte]" => ("occurred_to", false),
                _ => return (key, value),
            };
            let day = DateTime::parse_from_rfc3339(value.trim())
                .ok()
                .map(|at| at.with_timezone(&Utc))
                .and_then(|at| {
                    let day = at.with_timezone(&tz).date_naive();
                    (day_bound(tz, day, from_start) == Some(at)).then_some(day)
                });
            match day {
                Some(day) => (page_key.to_owned(), day.format("%Y-%m-%d").to_string()),
                None => (key, value),
            }
        })
        .collect()
}

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec {
    page_pairs,
    company_days: true,
    ..ListSpec::plain(Resource::Activities, "/activities")
};

pub async fn index(
    ctx: Ctx,
    WebQuery(mut raw): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let select_all = take_select_all(&mut raw);
    // Opens the default view when there is no query.
    let views = super::views_bar::bar(&ctx, &PAGE, &mut raw).await?;
    let sees_others = ctx.actor.scope(Resource::Activities, Action::Read) != Scope::Own;
    let tz = company_time_zone(&ctx.app, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let mut errors = FormErrors::new();
    let pairs = list_pairs(&raw, tz, &mut errors);
    let owners = Owners::load(&ctx).await?;
    let parsed =
        match ListQuery::<ActivityField>::parse(&pairs, ACTIVITY_FIELDS, ACTIVITY_DEFAULT_SORT) {
            Ok(query) => Some(query),
            Err(e) => {
                errors.add_general(capitalise(&e.0));
                None
            }
        };
    let mut rows = Vec::new();
    let mut next_cursor = None;
    if let (Some(query), true) = (&parsed, errors.is_empty()) {
        let after = after(&ctx, &query.sort, &raw)?;
        let page = activities::list(
            &ctx.app.store,
            &ctx.actor,
            query,
            None,
            PAGE_SIZE,
            after.as_ref(),
        )
        .await
        .or_page(&ctx)?;
        let names = RecordNames::load(&ctx, &page.data).await?;
        let can_update = ctx.can(Resource::Activities, Action::Update);
        rows = page
            .data
            .iter()
            .map(|activity| Row {
                id: activity.id.uuid(),
                name: title_of(activity),
                class: "",
                cells: vec![
                    Cell::date(local(&activity.occurred_at, tz)),
                    Cell::badge(Badge::new(
                        format!("activity-kind-{}", activity.kind.as_str()),
                        kind_label(activity.kind),
                    ))
                    .class("nowrap")
                    .with_sub(activity.direction.map_or("", direction_label)),
                    Cell::title(
                        title_of(activity),
                        can_update.then(|| format!("/activities/{}/edit", activity.id)),
                        text(&activity.outcome),
                    ),
                    Cell::links(activity.links.iter().map(|l| names.view(l)).collect()),
                    Cell::text(owners.name(activity.owner_id)),
                    Cell::date(local(&activity.created_at, tz)).class("nowrap muted small"),
                    Cell::date(local(&activity.updated_at, tz)).class("nowrap muted small"),
                ],
            })
            .collect();
        next_cursor = page.next_cursor;
    }
    // The list is sorted by when activities happened, newest first, unless a column says
    // otherwise.
    let mut kept = raw.clone();
    if value_of(&raw, "sort").is_empty() {
        kept.push(("sort".into(), "-occurred_at".into()));
    }
    let mut list = RecordList::new(&ctx, &LIST, views, (&kept, next_cursor), errors, select_all);
    list.export_query(&pairs);
    list.blurb = format!(
        "Calls, e-mails, meetings, notes and messages logged on your records. Times are in the \
         company's time zone ({}); new ones are logged from a record's timeline.",
        tz.name()
    );
    list.filters = vec![
        Filter::search("Subject or text", &raw),
        Filter::select(
            "kind",
            "Kind",
            kind_options(Some("Any kind"), value_of(&raw, "kind")),
        ),
        Filter::select(
            "direction",
            "Direction",
            direction_options("Any direction", value_of(&raw, "direction")),
        ),
    ];
    // Only when the caller sees others' activities.
    if sees_others {
        list.filters
            .push(Filter::member(&owners, ("owner_id", "Owner"), &raw));
    }
    list.filters.extend([
        Filter::date("occurred_from", "From", &raw),
        Filter::date("occurred_to", "To", &raw),
    ]);
    list.filtered = FILTERS.iter().any(|k| !value_of(&raw, k).is_empty());
    list.bulk_owner(&owners);
    list.rows = rows;
    Ok(list.render(&ctx))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    delete_one::<Activity>(&ctx, &LIST, id, |a: &Activity| format!("“{}”", title_of(a))).await
}

/// One post for the bulk actions (which button was pressed is `action`); deleting first shows a
/// page that asks, and deletes only when that page's button sends `confirm=yes`.
/// The bulk bar's changes (its delete is the shared one).
const BULK: &[BulkChange] = &[BulkChange::OWNER];

pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    bulk_action::<Activity>(&ctx, &LIST, &form, title_of, BULK).await
}

// ---------------------------------------------------------------------------------------------
// The form

/// The form as typed: plain strings, so a bad value comes back next to its field. The date and
/// time are the company's local ones.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ActivityForm {
    kind: String,
    direction: String,
    subject: String,
    body: String,
    occurred_date: String,
    occurred_time: String,
    duration_minutes: String,
    outcome: String,
    /// Where to go after saving (the page the form was opened from, or the list).
    back: String,
}

/// `?back=` of the edit link.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct EditQuery {
    back: String,
}

/// A local path to return to after saving; the list unless another page of ours is named.
fn back_to(back: &str) -> String {
    match safe_next(back.trim()) {
        back if back == "/" => "/activities".to_owned(),
        back => back,
    }
}

impl ActivityForm {
    fn of(activity: &Activity, tz: Tz, back: String) -> Self {
        let at = activity.occurred_at.with_timezone(&tz);
        Self {
            kind: activity.kind.as_str().to_owned(),
            direction: activity
                .direction
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            subject: text(&activity.subject),
            body: text(&activity.body),
            occurred_date: at.format("%Y-%m-%d").to_string(),
            occurred_time: at.format("%H:%M").to_string(),
            duration_minutes: activity
                .duration_seconds
                .map(|s| (s / 60).to_string())
                .unwrap_or_default(),
            outcome: text(&activity.outcome),
            back,
        }
    }

    /// The local date and time as UTC RFC 3339; errors sit next to the date (missing,
    /// unreadable) or the time (unreadable, or skipped by the clocks).
    fn occurred_at(&self, tz: Tz, errors: &mut FormErrors) -> Option<String> {
        let (date, time) = (self.occurred_date.trim(), self.occurred_time.trim());
        if date.is_empty() {
            errors.add("occurred_date", "must not be empty");
            return None;
        }
        let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            errors.add("occurred_date", "must be a date such as 2026-01-31");
            return None;
        };
        let clock = if time.is_empty() {
            DEFAULT_TIME
        } else {
            let parsed = NaiveTime::parse_from_str(time, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"));
            let Ok(clock) = parsed else {
                errors.add("occurred_time", "must be a time such as 14:30");
                return None;
            };
            clock
        };
        match to_utc(tz, day.and_time(clock)) {
            Some(at) => Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            None => {
                errors.add(
                    "occurred_time",
                    format!(
                        "does not exist on that day in {} (the clocks change)",
                        tz.name()
                    ),
                );
                None
            }
        }
    }

    /// The minutes as the API's seconds, `null` when blank. The range is the API's to check.
    fn duration_seconds(&self, errors: &mut FormErrors) -> Value {
        let minutes = self.duration_minutes.trim();
        if minutes.is_empty() {
            return Value::Null;
        }
        match minutes.parse::<i64>().ok().and_then(|m| m.checked_mul(60)) {
            Some(seconds) => Value::from(seconds),
            None => {
                errors.add("duration_minutes", "must be a whole number of minutes");
                Value::Null
            }
        }
    }

    /// The form as the API's patch (every field of the form; the links and the owner are left
    /// as they are). What only the form knows (local date and time, minutes) is checked here,
    /// next to its field.
    fn as_patch(&self, tz: Tz, errors: &mut FormErrors) -> Map<String, Value> {
        let mut map = Map::new();
        for (field, value) in [
            ("kind", &self.kind),
            ("direction", &self.direction),
            ("subject", &self.subject),
            ("body", &self.body),
            ("outcome", &self.outcome),
        ] {
            map.insert(field.into(), Value::String(value.trim().to_owned()));
        }
        if let Some(at) = self.occurred_at(tz, errors) {
            map.insert("occurred_at".into(), Value::String(at));
        }
        map.insert("duration_seconds".into(), self.duration_seconds(errors));
        map
    }
}

/// The API names the time `occurred_at` and counts seconds; the form shows the date input and
/// minutes.
fn absorb(errors: &mut FormErrors, err: AppError) -> Result<(), AppError> {
    let err = match err {
        AppError::Validation(mut list) => {
            for e in &mut list.0 {
                match e.field.as_str() {
                    "occurred_at" => e.field = "occurred_date".into(),
                    "duration_seconds" => {
                        e.field = "duration_minutes".into();
                        e.message = format!("must be between 0 and {MAX_MINUTES} (a week)");
                    }
                    _ => {}
                }
            }
            AppError::Validation(list)
        }
        other => other,
    };
    errors.absorb(err, FORM_FIELDS)
}

async fn form_page(
    ctx: &Ctx,
    activity: &Activity,
    form: ActivityForm,
    tz: Tz,
    errors: FormErrors,
) -> Result<RecordForm, WebError> {
    let names = RecordNames::load(ctx, std::slice::from_ref(activity)).await?;
    let owners = Owners::load(ctx).await?;
    let f = &form;
    let mut page = RecordForm::new(
        ctx,
        ("activity", ("/activities", "Activities")),
        FormKind {
            heading: format!("Edit “{}”", title_of(activity)),
            action: format!("/activities/{}/edit", activity.id),
            cancel: f.back.clone(),
            submit: "Save changes",
        },
        format!(
            "Owner: {}. The date and time are in the company's time zone ({}).",
            owners.name(activity.owner_id),
            tz.name()
        ),
        errors,
    );
    page.hidden = vec![("back", f.back.clone())];
    page.sections = vec![
        FormSection::card(
            "activity",
            "Activity",
            vec![
                Field::select("kind", "Kind", kind_options(None, &f.kind)),
                Field::select(
                    "direction",
                    "Direction",
                    direction_options("Neither", &f.direction),
                ),
                Field::text("subject", "Subject", &f.subject),
                Field::text("outcome", "Outcome", &f.outcome)
                    .hint("For example: left a voicemail."),
            ],
        )
        .below(Field::textarea("body", "Text", &f.body)),
        FormSection::card(
            "when",
            "When",
            vec![
                Field::input("date", "occurred_date", "Date", &f.occurred_date).required(),
                Field::input("time", "occurred_time", "Time", &f.occurred_time)
                    .hint("Without a time: 09:00."),
                Field::input(
                    "number",
                    "duration_minutes",
                    "Duration in minutes",
                    &f.duration_minutes,
                ),
            ],
        ),
        FormSection::links(
            "links",
            "Linked to",
            activity.links.iter().map(|l| names.view(l)).collect(),
            "No record any more.",
        ),
    ];
    page.delete = ctx
        .can(Resource::Activities, Action::Delete)
        .then(|| (format!("/activities/{}/delete", activity.id), "activity"));
    Ok(page)
}

/// The activity the edit form is about (the router has checked that the caller may change
/// activities; this one must be readable to them), and the company's time zone.
async fn editable(ctx: &Ctx, id: &str) -> Result<(Activity, Tz), WebError> {
    let id = parse_id(id).or_page(ctx)?;
    let tz = company_time_zone(&ctx.app, &ctx.actor).await.or_page(ctx)?;
    let activity = record::get::<Activity>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)?;
    Ok((activity, tz))
}

pub async fn edit(
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(query): WebQuery<EditQuery>,
) -> Result<Response, WebError> {
    let (activity, tz) = editable(&ctx, &id).await?;
    let form = ActivityForm::of(&activity, tz, back_to(&query.back));
    let page = form_page(&ctx, &activity, form, tz, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<ActivityForm>,
) -> Result<Response, WebError> {
    let (activity, tz) = editable(&ctx, &id).await?;
    let mut errors = FormErrors::new();
    let mut patch = form.as_patch(tz, &mut errors);
    // The form shows minutes: an untouched date and time keep the seconds they had.
    let shown = ActivityForm::of(&activity, tz, String::new());
    if (form.occurred_date.trim(), form.occurred_time.trim())
        == (shown.occurred_date.as_str(), shown.occurred_time.as_str())
    {
        patch.remove("occurred_at");
    }
    if errors.is_empty() {
        match update_record::<Activity>(&ctx.app, &ctx.actor, activity.id, patch).await {
            Ok(saved) => {
                return Ok(ctx.done(
                    &back_to(&form.back),
                    format!("Saved the activity “{}”.", title_of(&saved)),
                ));
            }
            Err(err) => absorb(&mut errors, err).or_page(&ctx)?,
        }
    }
    let page = form_page(&ctx, &activity, form, tz, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn occurred_days_are_the_companys_whole_days() {
        let mut errors = FormErrors::new();
        let raw = pairs(&[
            ("occurred_from", "2026-03-05"),
            ("occurred_to", "2026-03-05"),
            ("kind", "call"),
            ("q", " "),
        ]);
        let out = list_pairs(&raw, Tz::Pacific__Auckland, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(
            out,
            pairs(&[
                ("occurred_at[gte]", "2026-03-04T11:00:00.000Z"),
                ("occurred_at[lte]", "2026-03-05T10:59:59.999Z"),
                ("kind", "call"),
            ])
        );
        list_pairs(
            &pairs(&[("occurred_to", "last week")]),
            Tz::UTC,
            &mut errors,
        );
        assert!(errors.has("occurred_to"));
    }

    #[test]
    fn a_saved_views_day_bounds_are_days_again_and_other_times_stay() {
        let raw = pairs(&[
            ("occurred_from", "2026-03-05"),
            ("occurred_to", "2026-03-08"),
            ("kind", "call"),
        ]);
        for tz in [Tz::Pacific__Auckland, Tz::America__Los_Angeles, Tz::UTC] {
            let mut errors = FormErrors::new();
            let api = list_pairs(&raw, tz, &mut errors);
            assert!(errors.is_empty());
            let mut back = page_pairs(api, tz);
            back.sort();
            assert_eq!(
                back,
                pairs(&[
                    ("kind", "call"),
                    ("occurred_from", "2026-03-05"),
                    ("occurred_to", "2026-03-08"),
                ]),
                "{tz}"
            );
        }
        // Not where a day of the company starts or ends: kept as the API's.
        let api = pairs(&[
            ("occurred_at[gte]", "2026-03-04T12:00:00.000Z"),
            ("occurred_at[lte]", "2026-03-05T23:59:59.999Z"),
            ("owner_id", "x"),
        ]);
        assert_eq!(page_pairs(api.clone(), Tz::Pacific__Auckland), api);
        assert_eq!(
            page_pairs(api, Tz::UTC),
            pairs(&[
                ("occurred_at[gte]", "2026-03-04T12:00:00.000Z"),
                ("occurred_to", "2026-03-05"),
                ("owner_id", "x"),
            ])
        );
        let odd = pairs(&[("occurred_at[gte]", "yesterday")]);
        assert_eq!(page_pairs(odd.clone(), Tz::UTC), odd);
    }

    #[test]
    fn the_form_types_local_times_and_minutes() {
        let form = ActivityForm {
            kind: "call".into(),
            occurred_date: "2026-03-05".into(),
            occurred_time: "09:30".into(),
            duration_minutes: "15".into(),
            ..ActivityForm::default()
        };
        let mut errors = FormErrors::new();
        let patch = form.as_patch(Tz::Pacific__Auckland, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(patch["occurred_at"], "2026-03-04T20:30:00Z");
        assert_eq!(patch["duration_seconds"], 900);
        assert_eq!(patch["direction"], "");
        assert!(!patch.contains_key("links") && !patch.contains_key("owner_id"));
        let bad = ActivityForm {
            occurred_date: "".into(),
            duration_minutes: "a while".into(),
            ..ActivityForm::default()
        };
        let mut errors = FormErrors::new();
        let patch = bad.as_patch(Tz::UTC, &mut errors);
        assert!(errors.has("occurred_date") && errors.has("duration_minutes"));
        assert!(!patch.contains_key("occurred_at"));
        // 02:30 does not exist in Los Angeles when the clocks go forward.
        let skipped = ActivityForm {
            occurred_date: "2026-03-08".into(),
            occurred_time: "02:30".into(),
            ..ActivityForm::default()
        };
        let mut errors = FormErrors::new();
        skipped.as_patch(Tz::America__Los_Angeles, &mut errors);
        assert!(errors.has("occurred_time"));
    }

    #[test]
    fn back_stays_on_this_site() {
        assert_eq!(back_to(""), "/activities");
        assert_eq!(back_to("https://evil.test/"), "/activities");
        assert_eq!(back_to("/leads/1"), "/leads/1");
    }
}
