//! The home page: first what is the caller's own to work on — their open tasks overdue and due
//! today, their open deals by stage with the weighted sums, their newest leads — then, for who
//! may see them, the company's counts, shortcuts and recent activity. Each part links to the
//! full list; each shows only with the permission to read its records.

use super::audit::{AuditRow, Names, row};
use super::money::MoneyStyle;
use super::view::{Ctx, Layout, OrPage, WebError, date, with_query};
use crate::http::error::AppError;
use askama::Template;
use axum::response::Response;
use chrono::Utc;
use chrono_tz::Tz;
use rivet_domain::deals::{DEAL_DEFAULT_SORT, DEAL_FIELDS, DealField};
use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS, LeadField};
use rivet_domain::pipelines::StageOutcome;
use rivet_domain::query::ListQuery;
use rivet_domain::tasks::{TASK_DEFAULT_SORT, TASK_FIELDS, TaskField, TaskStatus};
use rivet_domain::values::Money;
use rivet_domain::{Action, Resource};
use rivet_store::audit::AuditFilter;
use rivet_store::leads::Lead;
use rivet_store::page::{MAX_LIMIT, PageRequest};
use rivet_store::record;
use rivet_store::tasks::TaskShortcuts;
use rivet_store::users::MemberFilter;
use rivet_store::{api_keys, deals, pipelines, roles, tasks, teams, users};
use uuid::Uuid;

/// How many of each of the caller's own lists the home page shows.
const MY_TASKS: u64 = 10;
const MY_LEADS: u64 = 5;

pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub href: &'static str,
    pub hint: String,
}

pub struct Shortcut {
    pub label: &'static str,
    pub href: &'static str,
}

/// One of the caller's open tasks.
pub struct MyTask {
    pub id: Uuid,
    pub subject: String,
    /// Local to the company's time zone.
    pub due: String,
    pub overdue: bool,
    pub related_href: Option<String>,
}

/// The caller's open tasks that are overdue or due today (the company's today).
pub struct MyTasks {
    pub overdue: Vec<MyTask>,
    pub today: Vec<MyTask>,
    /// More than the page shows in either list.
    pub more: bool,
}

/// One open stage of a pipeline with the caller's deals in it.
pub struct MyStage {
    pub name: String,
    pub count: i64,
    pub total: String,
    pub weighted: String,
}

/// The caller's open deals in one pipeline, by stage.
pub struct MyPipeline {
    pub name: String,
    pub board_href: String,
    pub stages: Vec<MyStage>,
    pub count: i64,
    pub total: String,
    pub weighted: String,
}

pub struct MyLead {
    pub id: Uuid,
    pub name: String,
    pub company: String,
    pub status_label: &'static str,
    pub created: String,
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct HomePage {
    layout: Layout,
    first_name: String,
    my_tasks: Option<MyTasks>,
    my_deals: Option<Vec<MyPipeline>>,
    my_deals_href: String,
    my_leads: Option<Vec<MyLead>>,
    my_leads_href: String,
    cards: Vec<Card>,
    shortcuts: Vec<Shortcut>,
    can_audit: bool,
    recent: Vec<AuditRow>,
}

fn count(n: usize, more: bool) -> String {
    if more { format!("{n}+") } else { n.to_string() }
}

fn bad_query(e: rivet_domain::query::QueryError) -> AppError {
    AppError::BadRequest(e.0)
}

/// Open tasks assigned to the caller, due before now and due later today, soonest first — the
/// tasks page's "Overdue" and "Due today" tabs, open ones only.
async fn my_tasks(ctx: &Ctx) -> Result<MyTasks, WebError> {
    let tz: Tz = crate::api::tasks::company_time_zone(&ctx.app, &ctx.actor)
        .await
        .or_page(ctx)?;
    let pending: Vec<&str> = TaskStatus::PENDING.iter().map(|s| s.as_str()).collect();
    let pairs = [("status[in]".to_owned(), pending.join(","))];
    let query = ListQuery::<TaskField>::parse(&pairs, TASK_FIELDS, TASK_DEFAULT_SORT)
        .map_err(|e| ctx.fail(bad_query(e)))?;
    let mine = |overdue: bool, due_today: Option<Tz>| TaskShortcuts {
        mine: true,
        overdue,
        due_today,
    };
    let store = &ctx.app.store;
    let (overdue, today) = tokio::try_join!(
        tasks::list(store, &ctx.actor, &query, mine(true, None), MY_TASKS, None),
        tasks::list(
            store,
            &ctx.actor,
            &query,
            mine(false, Some(tz)),
            MY_TASKS,
            None
        ),
    )
    .or_page(ctx)?;
    let now = Utc::now();
    let item = |task: &rivet_store::tasks::Task| MyTask {
        id: task.id.uuid(),
        subject: task.subject.clone(),
        due: task
            .due_at
            .map(|at| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        overdue: task.due_at.is_some_and(|at| at < now),
        related_href: task
            .related_type
            .zip(task.related_id)
            .map(|(t, id)| super::detail::record_path(t, id)),
    };
    Ok(MyTasks {
        more: overdue.next_cursor.is_some() || today.next_cursor.is_some(),
        overdue: overdue.data.iter().map(item).collect(),
        // Due earlier today is overdue already, and listed there.
        today: today.data.iter().map(item).filter(|t| !t.overdue).collect(),
    })
}

/// The caller's open deals in each pipeline that has some, by open stage: count, sum and
/// weighted sum (the board's summary, owner = the caller). Sums are shown in the company's
/// currency, as on the board.
async fn my_deals(ctx: &Ctx) -> Result<Vec<MyPipeline>, WebError> {
    let store = &ctx.app.store;
    let pairs = [("owner_id".to_owned(), ctx.actor.user_id.to_string())];
    let query = ListQuery::<DealField>::parse(&pairs, DEAL_FIELDS, DEAL_DEFAULT_SORT)
        .map_err(|e| ctx.fail(bad_query(e)))?;
    let style = MoneyStyle::of(&ctx.currency);
    let micros = |text: &str| Money::parse(text, String::new()).map_or(0, |m| m.micros);
    let mut out = Vec::new();
    for pipeline in pipelines::list(store, &ctx.actor).await.or_page(ctx)? {
        let summary = deals::summary(store, &ctx.actor, Some(pipeline.id), &query.filters, None)
            .await
            .or_page(ctx)?;
        let (mut count, mut total, mut weighted) = (0_i64, 0_i64, 0_i64);
        let stages: Vec<MyStage> = summary
            .stages
            .iter()
            .filter(|s| s.outcome == StageOutcome::Open && s.count > 0)
            .map(|s| {
                count += s.count;
                total = total.saturating_add(micros(&s.total_amount));
                weighted = weighted.saturating_add(micros(&s.weighted_amount));
                MyStage {
                    name: s.name.clone(),
                    count: s.count,
                    total: style.format_micros(micros(&s.total_amount)),
                    weighted: style.format_micros(micros(&s.weighted_amount)),
                }
            })
            .collect();
        if stages.is_empty() {
            continue;
        }
        out.push(MyPipeline {
            name: pipeline.name.clone(),
            board_href: with_query("/deals/board", &[("pipeline_id", &pipeline.id.to_string())]),
            stages,
            count,
            total: style.format_micros(total),
            weighted: style.format_micros(weighted),
        });
    }
    Ok(out)
}

/// The caller's newest leads.
async fn my_leads(ctx: &Ctx) -> Result<Vec<MyLead>, WebError> {
    let pairs = [
        ("owner_id".to_owned(), ctx.actor.user_id.to_string()),
        ("sort".to_owned(), "-created_at".to_owned()),
    ];
    let query = ListQuery::<LeadField>::parse(&pairs, LEAD_FIELDS, LEAD_DEFAULT_SORT)
        .map_err(|e| ctx.fail(bad_query(e)))?;
    let page = record::list::<Lead>(&ctx.app.store, &ctx.actor, &query, MY_LEADS, None)
        .await
        .or_page(ctx)?;
    Ok(page
        .data
        .iter()
        .map(|lead| MyLead {
            id: lead.id.uuid(),
            name: super::leads::display_name(lead),
            company: lead.company_name.clone().unwrap_or_default(),
            status_label: super::leads::status_label(lead.status),
            created: date(&lead.created_at),
        })
        .collect())
}

pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    // The caller's own work first, each part with the permission to read its records.
    let my_tasks = if ctx.can(Resource::Tasks, Action::Read) {
        Some(my_tasks(&ctx).await?)
    } else {
        None
    };
    let my_deals = if ctx.can(Resource::Deals, Action::Read) {
        Some(my_deals(&ctx).await?)
    } else {
        None
    };
    let my_leads = if ctx.can(Resource::Leads, Action::Read) {
        Some(my_leads(&ctx).await?)
    } else {
        None
    };
    let me = actor.user_id.to_string();
    let mut cards = Vec::new();
    if ctx.can(Resource::Users, Action::Read) {
        let filter = MemberFilter {
            active: Some(true),
            ..MemberFilter::default()
        };
        let page = PageRequest {
            limit: MAX_LIMIT,
            after: None,
        };
        let members = users::list(store, actor, &filter, page)
            .await
            .or_page(&ctx)?;
        let invited = members.data.iter().filter(|m| !m.has_password).count();
        cards.push(Card {
            label: "Active members",
            value: count(members.data.len(), members.next_cursor.is_some()),
            href: "/admin/users",
            hint: if invited > 0 {
                format!("{invited} invited, not yet signed in")
            } else {
                "Everyone has signed in".into()
            },
        });
    }
    if ctx.can(Resource::Teams, Action::Read) {
        let list = teams::list(store, actor).await.or_page(&ctx)?;
        cards.push(Card {
            label: "Teams",
            value: list.len().to_string(),
            href: "/admin/teams",
            hint: "Groups for team-scoped access".into(),
        });
    }
    if ctx.can(Resource::Roles, Action::Read) {
        let list = roles::list(store, actor).await.or_page(&ctx)?;
        let custom = list.iter().filter(|r| !r.builtin).count();
        cards.push(Card {
            label: "Roles",
            value: list.len().to_string(),
            href: "/admin/roles",
            hint: format!("{custom} custom"),
        });
    }
    if ctx.can(Resource::ApiKeys, Action::Read) {
        let list = api_keys::list(store, actor).await.or_page(&ctx)?;
        let active = list.iter().filter(|k| k.revoked_at.is_none()).count();
        cards.push(Card {
            label: "Active API keys",
            value: active.to_string(),
            href: "/admin/api-keys",
            hint: format!("{} revoked", list.len() - active),
        });
    }
    let mut shortcuts = Vec::new();
    for (resource, action, label, href) in [
        (
            Resource::Users,
            Action::Create,
            "Invite a user",
            "/admin/users#invite",
        ),
        (
            Resource::Teams,
            Action::Create,
            "Create a team",
            "/admin/teams#new-team",
        ),
        (
            Resource::Roles,
            Action::Update,
            "Edit role permissions",
            "/admin/roles",
        ),
        (
            Resource::ApiKeys,
            Action::Create,
            "Create an API key",
            "/admin/api-keys#new-key",
        ),
        (
            Resource::Settings,
            Action::Update,
            "Company settings",
            "/settings",
        ),
    ] {
        if ctx.can(resource, action) {
            shortcuts.push(Shortcut { label, href });
        }
    }
    let can_audit = ctx.can(Resource::Audit, Action::Read);
    let recent = if can_audit {
        let names = Names::load(&ctx).await?;
        let page = rivet_store::audit::list(
            store,
            actor,
            &AuditFilter::default(),
            PageRequest {
                limit: 8,
                after: None,
            },
        )
        .await
        .or_page(&ctx)?;
        page.data.iter().map(|e| row(e, &names)).collect()
    } else {
        Vec::new()
    };
    let page = HomePage {
        layout: ctx.layout("Home"),
        first_name: ctx
            .user_name
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned(),
        my_tasks,
        my_deals,
        my_deals_href: with_query("/deals", &[("owner_id", &me), ("status", "open")]),
        my_leads,
        my_leads_href: with_query("/leads", &[("owner_id", &me)]),
        cards,
        shortcuts,
        can_audit,
        recent,
    };
    Ok(ctx.render(&page))
}
