//! Operations pages: the job queue (counts, filters, retry and cancel), the stored system logs
//! with a per-hour chart drawn on the server, and the system settings with the installation's
//! statistics. Each calls what its API route calls (`crate::api::system`, `rivet_store::jobs`), with
//! the same access rules: jobs and logs need their permission (the store narrows logs to the
//! caller's company unless they are a system administrator), settings and statistics need a
//! system administrator.

use super::chart::{Bar, Series, stacked_bars};
use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, ago, capitalise, datetime,
    iso, options, with_query,
};
use crate::api::system::{
    LogStatsQuery, LogsQuery, UpdateSystemSettings, list_system_logs, system_log_stats,
    system_stats, update_system_settings,
};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use rivet_domain::jobs::JobState;
use rivet_domain::settings::SystemSettings;
use rivet_domain::{Action, Resource};
use rivet_store::jobs::{self, Job, JobFilter};
use rivet_store::logs::{HourCount, LogEntry, LogLevel};
use rivet_store::page::PageRequest;
use rivet_store::{Cursor, StoreError};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

const PAGE_SIZE: u64 = 50;

fn cursor(text: &str, ctx: &Ctx) -> Result<Option<Uuid>, WebError> {
    match text {
        "" => Ok(None),
        text => Cursor::decode(text)
            .map(|c| Some(c.0))
            .ok_or_else(|| ctx.fail(AppError::BadRequest("the page link is not valid".into()))),
    }
}

fn parse_day(text: &str, field: &str, errors: &mut FormErrors) -> Option<DateTime<Utc>> {
    if text.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        Err(_) => {
            errors.add(field, "must be a date such as 2025-01-31");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs

pub struct StateCard {
    pub state: &'static str,
    pub count: i64,
    pub href: String,
    pub current: bool,
}

pub struct JobRow {
    pub id: Uuid,
    pub kind: String,
    pub state: &'static str,
    pub attempts: String,
    pub progress_done: i64,
    pub progress_total: Option<i64>,
    pub when_label: &'static str,
    pub when: String,
    pub when_iso: String,
    pub error: String,
    pub can_retry: bool,
    pub can_cancel: bool,
}

fn job_row(job: &Job) -> JobRow {
    let (when_label, at) = match (job.state, job.finished_at) {
        (JobState::Queued, _) => ("due", job.run_at),
        (JobState::Running, _) => ("started", job.updated_at),
        (_, Some(finished)) => ("finished", finished),
        (_, None) => ("updated", job.updated_at),
    };
    JobRow {
        id: job.id,
        kind: job.kind.clone(),
        state: job.state.as_str(),
        attempts: format!("{} / {}", job.attempts, job.max_attempts),
        progress_done: job.progress.done,
        progress_total: job.progress.total.filter(|t| *t > 0),
        when_label,
        when: ago(&at),
        when_iso: iso(&at),
        error: job.last_error.clone().unwrap_or_default(),
        can_retry: matches!(job.state, JobState::Dead | JobState::Cancelled),
        can_cancel: matches!(job.state, JobState::Queued | JobState::Running),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct JobsQuery {
    state: String,
    kind: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "web/jobs.html")]
struct JobsPage {
    layout: Layout,
    total: i64,
    cards: Vec<StateCard>,
    rows: Vec<JobRow>,
    filtered: bool,
    state_options: Vec<Opt>,
    kind_options: Vec<Opt>,
    can_update: bool,
    back: String,
    first_href: Option<String>,
    next_href: Option<String>,
}

pub async fn jobs(ctx: Ctx, WebQuery(query): WebQuery<JobsQuery>) -> Result<Response, WebError> {
    let state = match query.state.as_str() {
        "" => None,
        text => Some(
            text.parse::<JobState>()
                .map_err(|e| ctx.fail(AppError::BadRequest(format!("state {e}"))))?,
        ),
    };
    let filter = JobFilter {
        state,
        kind: Some(query.kind.clone()).filter(|k| !k.is_empty()),
    };
    let after = cursor(&query.cursor, &ctx)?;
    let (stats, page) = tokio::try_join!(
        jobs::stats(&ctx.app.store, &ctx.actor),
        jobs::list(
            &ctx.app.store,
            &ctx.actor,
            &filter,
            PageRequest {
                limit: PAGE_SIZE,
                after,
            },
        )
    )
    .or_page(&ctx)?;
    let filters = [
        ("state", query.state.as_str()),
        ("kind", query.kind.as_str()),
    ];
    let next_href = page.next_cursor.map(|c| {
        let mut pairs = filters.to_vec();
        pairs.push(("cursor", c.as_str()));
        with_query("/admin/jobs", &pairs)
    });
    let first_href = after.map(|_| with_query("/admin/jobs", &filters));
    let back = with_query("/admin/jobs", &filters);
    let cards = JobState::ALL
        .iter()
        .map(|s| StateCard {
            state: s.as_str(),
            count: stats.by_state.get(s.as_str()).copied().unwrap_or(0),
            href: with_query("/admin/jobs", &[("state", s.as_str())]),
            current: query.state == s.as_str(),
        })
        .collect();
    let mut states = vec![(String::new(), "Any state".to_owned())];
    states.extend(
        JobState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), capitalise(s.as_str()))),
    );
    let mut kinds = vec![(String::new(), "Any kind".to_owned())];
    kinds.extend(stats.by_kind.keys().map(|k| (k.clone(), k.clone())));
    let page = JobsPage {
        layout: ctx.layout("Jobs"),
        total: stats.total,
        cards,
        rows: page.data.iter().map(job_row).collect(),
        filtered: filters.iter().any(|(_, v)| !v.is_empty()),
        state_options: options(states, &query.state),
        kind_options: options(kinds, &query.kind),
        can_update: ctx.can(Resource::Jobs, Action::Update),
        back,
        first_href,
        next_href,
    };
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct JobActionForm {
    back: String,
}

/// Return to the filtered list the button was on, and nowhere else.
fn jobs_back(form: &JobActionForm) -> String {
    if form.back.starts_with("/admin/jobs") && !form.back.starts_with("/admin/jobs/") {
        form.back.clone()
    } else {
        "/admin/jobs".into()
    }
}

async fn job_action(
    ctx: Ctx,
    id: String,
    form: JobActionForm,
    retry: bool,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let back = jobs_back(&form);
    let result = if retry {
        jobs::retry(&ctx.app.store, &ctx.actor, id).await
    } else {
        jobs::cancel(&ctx.app.store, &ctx.actor, id).await
    };
    match result {
        Ok(job) if retry => Ok(ctx.done(&back, format!("Queued the {} job again.", job.kind))),
        Ok(job) => Ok(ctx.done(&back, format!("Cancelled the {} job.", job.kind))),
        Err(StoreError::Conflict { field, message }) => {
            Ok(ctx.refused(&back, format!("The job's {field} {message}.")))
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

pub async fn retry_job(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<JobActionForm>,
) -> Result<Response, WebError> {
    job_action(ctx, id, form, true).await
}

pub async fn cancel_job(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<JobActionForm>,
) -> Result<Response, WebError> {
    job_action(ctx, id, form, false).await
}

// ---------------------------------------------------------------------------------------------
// System logs

pub struct LogRow {
    pub when: String,
    pub iso: String,
    pub level: &'static str,
    pub target: String,
    pub message: String,
    pub fields: Vec<(String, String)>,
    pub request_id: String,
    pub request_href: String,
}

fn field_text(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 160 {
        let mut cut: String = text.chars().take(159).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

fn log_row(entry: &LogEntry) -> LogRow {
    let request_id = entry.request_id.clone().unwrap_or_default();
    LogRow {
        when: datetime(&entry.created_at),
        iso: iso(&entry.created_at),
        level: entry.level.as_str(),
        target: entry.target.clone(),
        message: entry.message.clone(),
        fields: entry
            .fields
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), field_text(v)))
                    .collect()
            })
            .unwrap_or_default(),
        request_href: with_query("/admin/logs", &[("request_id", &request_id)]),
        request_id,
    }
}

pub struct LegendItem {
    pub name: &'static str,
    pub class: String,
    pub total: i64,
}

/// One bar per hour from `from` to `to`, empty hours included, stacked by level.
fn chart(
    counts: &[HourCount],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (String, Vec<LegendItem>) {
    // Most severe first, so errors sit at the bottom of each bar where they are seen first.
    let levels = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];
    let mut by_hour: BTreeMap<DateTime<Utc>, [u64; 5]> = BTreeMap::new();
    let start = from.duration_trunc(Duration::hours(1)).unwrap_or(from);
    let mut hour = start;
    while hour < to {
        by_hour.insert(hour, [0; 5]);
        hour += Duration::hours(1);
    }
    let mut totals = [0_i64; 5];
    for c in counts {
        if let Some(i) = levels.iter().position(|l| *l == c.level) {
            let slot = by_hour.entry(c.hour).or_insert([0; 5]);
            slot[i] += u64::try_from(c.count).unwrap_or(0);
            totals[i] += c.count;
        }
    }
    let series: Vec<Series> = levels
        .iter()
        .map(|l| Series {
            name: l.as_str(),
            class: match l {
                LogLevel::Error => "s-error",
                LogLevel::Warn => "s-warn",
                LogLevel::Info => "s-info",
                LogLevel::Debug => "s-debug",
                LogLevel::Trace => "s-trace",
            },
        })
        .collect();
    let bars: Vec<Bar> = by_hour
        .iter()
        .map(|(hour, values)| Bar {
            label: hour.format("%H:00").to_string(),
            values: values.to_vec(),
        })
        .collect();
    let total: i64 = totals.iter().sum();
    let svg = stacked_bars(
        "Stored log events per hour",
        &format!(
            "{total} events between {} and {}, stacked by level.",
            datetime(&from),
            datetime(&to)
        ),
        &series,
        &bars,
    );
    let legend = levels
        .iter()
        .zip(totals)
        .filter(|(l, total)| *total > 0 || matches!(l, LogLevel::Error | LogLevel::Warn))
        .map(|(l, total)| LegendItem {
            name: l.as_str(),
            class: format!("s-{}", l.as_str()),
            total,
        })
        .collect();
    (svg, legend)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LogsForm {
    level: String,
    target: String,
    q: String,
    request_id: String,
    from: String,
    to: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "web/logs.html")]
struct LogsPage {
    layout: Layout,
    chart_svg: String,
    chart_window: String,
    legend: Vec<LegendItem>,
    rows: Vec<LogRow>,
    query: LogsForm,
    filtered: bool,
    level_options: Vec<Opt>,
    all_companies: bool,
    errors: FormErrors,
    first_href: Option<String>,
    next_href: Option<String>,
}

/// The chart covers the chosen days when they are a week or less, else the last 24 hours.
fn chart_window(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let now = Utc::now();
    let end = to.map_or(now, |t| t.min(now));
    match from {
        Some(start) if start < end && end - start <= Duration::days(7) => (start, end),
        _ => (end - Duration::hours(24), end),
    }
}

pub async fn logs(ctx: Ctx, WebQuery(query): WebQuery<LogsForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let level = match query.level.as_str() {
        "" => None,
        text => match text.parse::<LogLevel>() {
            Ok(l) => Some(l),
            Err(e) => {
                errors.add("level", e);
                None
            }
        },
    };
    let from = parse_day(&query.from, "from", &mut errors);
    let to = parse_day(&query.to, "to", &mut errors).map(|t| t + Duration::days(1));
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        errors.add("to", "must not be before the start date");
    }
    let after = cursor(&query.cursor, &ctx)?;
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let (window_from, window_to) = chart_window(from, to);
    let (rows, next_cursor, counts) = if errors.is_empty() {
        let list = list_system_logs(
            &ctx.app,
            &ctx.actor,
            LogsQuery {
                level,
                target: text(&query.target),
                from,
                to,
                q: text(&query.q),
                request_id: text(&query.request_id),
                limit: Some(PAGE_SIZE),
                cursor: text(&query.cursor),
            },
        );
        let stats = system_log_stats(
            &ctx.app,
            &ctx.actor,
            LogStatsQuery {
                from: Some(window_from),
                to: Some(window_to),
            },
        );
        let (page, stats) = tokio::try_join!(list, stats).or_page(&ctx)?;
        (
            page.data.iter().map(log_row).collect(),
            page.next_cursor,
            stats.data,
        )
    } else {
        (Vec::new(), None, Vec::new())
    };
    let filters = [
        ("level", query.level.as_str()),
        ("target", query.target.as_str()),
        ("q", query.q.as_str()),
        ("request_id", query.request_id.as_str()),
        ("from", query.from.as_str()),
        ("to", query.to.as_str()),
    ];
    let next_href = next_cursor.map(|c| {
        let mut pairs = filters.to_vec();
        pairs.push(("cursor", c.as_str()));
        with_query("/admin/logs", &pairs)
    });
    let first_href = after.map(|_| with_query("/admin/logs", &filters));
    let (chart_svg, legend) = chart(&counts, window_from, window_to);
    let mut levels = vec![(String::new(), "Any level".to_owned())];
    levels.extend(LogLevel::ALL.iter().rev().map(|l| {
        (
            l.as_str().to_owned(),
            format!("{} and above", capitalise(l.as_str())),
        )
    }));
    let page = LogsPage {
        layout: ctx.layout("System logs"),
        chart_svg,
        chart_window: format!("{} – {}", datetime(&window_from), datetime(&window_to)),
        legend,
        rows,
        filtered: filters.iter().any(|(_, v)| !v.is_empty()),
        level_options: options(levels, &query.level),
        query,
        all_companies: ctx.actor.is_system_admin,
        errors,
        first_href,
        next_href,
    };
    Ok(ctx.render(&page))
}

// ---------------------------------------------------------------------------------------------
// System settings and statistics

pub struct Stat {
    pub label: &'static str,
    pub value: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct SystemForm {
    password_min_length: String,
    password_require_digit: String,
    password_require_letter: String,
    access_token_ttl_seconds: String,
    refresh_token_ttl_seconds: String,
    allow_signup: String,
    log_retention_days: String,
    event_retention_days: String,
}

impl SystemForm {
    fn from_settings(s: &SystemSettings) -> Self {
        let flag = |b: bool| if b { "true".to_owned() } else { String::new() };
        Self {
            password_min_length: s.password_min_length.to_string(),
            password_require_digit: flag(s.password_require_digit),
            password_require_letter: flag(s.password_require_letter),
            access_token_ttl_seconds: s.access_token_ttl_seconds.to_string(),
            refresh_token_ttl_seconds: s.refresh_token_ttl_seconds.to_string(),
            allow_signup: flag(s.allow_signup),
            log_retention_days: s.log_retention_days.to_string(),
            event_retention_days: s.event_retention_days.to_string(),
        }
    }

    fn flag(&self, value: &str) -> bool {
        value == "true"
    }
}

#[derive(Template)]
#[template(path = "web/system.html")]
struct SystemPage {
    layout: Layout,
    overview: Vec<Stat>,
    records: Vec<Stat>,
    jobs: Vec<Stat>,
    logs: Vec<Stat>,
    form: SystemForm,
    errors: FormErrors,
}

fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1024.0 * 1024.0 * 1024.0 => format!("{:.1} GiB", n / 1024.0 / 1024.0 / 1024.0),
        n if n >= 1024.0 * 1024.0 => format!("{:.1} MiB", n / 1024.0 / 1024.0),
        n if n >= 1024.0 => format!("{:.1} KiB", n / 1024.0),
        n => format!("{n} bytes"),
    }
}

fn uptime(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

async fn system_page(
    ctx: &Ctx,
    form: SystemForm,
    errors: FormErrors,
) -> Result<SystemPage, WebError> {
    let stats = system_stats(&ctx.app, &ctx.actor).await.or_page(ctx)?;
    let r = &stats.records;
    let counts = |map: &BTreeMap<String, i64>| {
        map.iter()
            .map(|(k, v)| Stat {
                label: match k.as_str() {
                    "queued" => "Queued",
                    "running" => "Running",
                    "succeeded" => "Succeeded",
                    "dead" => "Dead",
                    "cancelled" => "Cancelled",
                    "error" => "Errors",
                    "warn" => "Warnings",
                    "info" => "Info",
                    "debug" => "Debug",
                    "trace" => "Trace",
                    _ => "Other",
                },
                value: v.to_string(),
            })
            .collect::<Vec<_>>()
    };
    let mut logs = counts(&stats.logs_last_24h);
    logs.push(Stat {
        label: "Dropped (not stored)",
        value: stats.logs_dropped.to_string(),
    });
    Ok(SystemPage {
        layout: ctx.layout("System settings"),
        overview: vec![
            Stat {
                label: "Version",
                value: stats.version.to_owned(),
            },
            Stat {
                label: "Uptime",
                value: uptime(stats.uptime_seconds),
            },
            Stat {
                label: "Database",
                value: stats.database.backend.to_owned(),
            },
            Stat {
                label: "Database size",
                value: bytes(stats.database.size_bytes),
            },
        ],
        records: vec![
            Stat {
                label: "Companies",
                value: r.companies.to_string(),
            },
            Stat {
                label: "Users",
                value: r.users.to_string(),
            },
            Stat {
                label: "Memberships",
                value: r.memberships.to_string(),
            },
            Stat {
                label: "Roles",
                value: r.roles.to_string(),
            },
            Stat {
                label: "Teams",
                value: r.teams.to_string(),
            },
            Stat {
                label: "API keys",
                value: r.api_keys.to_string(),
            },
            Stat {
                label: "Audit entries",
                value: r.audit_log.to_string(),
            },
            Stat {
                label: "Log entries",
                value: r.system_logs.to_string(),
            },
            Stat {
                label: "Jobs",
                value: r.jobs.to_string(),
            },
        ],
        jobs: counts(&stats.jobs_by_state),
        logs,
        form,
        errors,
    })
}

pub async fn settings(ctx: Ctx) -> Result<Response, WebError> {
    let current = rivet_store::settings::get_system(&ctx.app.store)
        .await
        .or_page(&ctx)?;
    let page = system_page(&ctx, SystemForm::from_settings(&current), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn save_settings(
    ctx: Ctx,
    WebForm(form): WebForm<SystemForm>,
) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let mut number = |field: &str, text: &str| match text.trim().parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "must be a whole number");
            None
        }
    };
    let body = UpdateSystemSettings {
        password_min_length: number("password_min_length", &form.password_min_length),
        access_token_ttl_seconds: number(
            "access_token_ttl_seconds",
            &form.access_token_ttl_seconds,
        ),
        refresh_token_ttl_seconds: number(
            "refresh_token_ttl_seconds",
            &form.refresh_token_ttl_seconds,
        ),
        log_retention_days: number("log_retention_days", &form.log_retention_days),
        event_retention_days: number("event_retention_days", &form.event_retention_days),
        password_require_digit: Some(form.flag(&form.password_require_digit)),
        password_require_letter: Some(form.flag(&form.password_require_letter)),
        allow_signup: Some(form.flag(&form.allow_signup)),
    };
    if errors.is_empty() {
        match update_system_settings(&ctx.app, &ctx.actor, body).await {
            Ok(_) => return Ok(ctx.done("/admin/system", "Saved the system settings.")),
            Err(err) => errors
                .absorb(
                    err,
                    &[
                        "password_min_length",
                        "access_token_ttl_seconds",
                        "refresh_token_ttl_seconds",
                        "log_retention_days",
                        "event_retention_days",
                    ],
                )
                .or_page(&ctx)?,
        }
    }
    let page = system_page(&ctx, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hour_of_the_window_gets_a_bar() {
        let to = Utc::now()
            .duration_trunc(Duration::hours(1))
            .unwrap_or_else(|_| Utc::now());
        let from = to - Duration::hours(24);
        let counts = [HourCount {
            hour: from + Duration::hours(3),
            level: LogLevel::Error,
            count: 4,
        }];
        let (svg, legend) = chart(&counts, from, to);
        assert_eq!(svg.matches("<rect").count(), 1);
        assert!(svg.contains(": 4 error"));
        assert_eq!(legend.iter().map(|l| l.total).sum::<i64>(), 4);
    }

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(uptime(59), "0 min");
        assert_eq!(uptime(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(uptime(2 * 86_400 + 3600), "2 d 1 h");
    }
}
