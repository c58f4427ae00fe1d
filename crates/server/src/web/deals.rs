//! The deals pages: the list (filter bar, sortable columns, keyset pages, bulk owner / delete
//! with a confirmation step), the create and edit form (`/deals/new?account_id=` starts at an
//! account, from its page), a deal's page, and the pipeline board: one column per stage of the
//! chosen pipeline with its deals as cards (amount, close date, owner, probability) and a header
//! with the count and weighted total of every deal the caller may read in that stage. Dragging a
//! card to another column moves the deal through the API (`rivet.js`); without the script, each
//! card's "Move to" form posts here. The list reads the same query string as
//! `GET /api/v1/deals`, and every change goes through `crate::api::deals::{create_deal, update_deal}`
//! or the store's functions, so the stage rules, stage history and audit are the API's.

use super::custom_fields::{self as cf, CustomFields, CustomInput, CustomValue, WithCustom};
use super::form::{number_json, owner_json, tags_json, text};
use super::list::{
    BulkChange, Col, Owners, PAGE_SIZE, api_pairs, bulk_action, choice_options, delete_one,
    imported, page_of, value_of,
};
use super::money::{MoneyStyle, money, money_opt};
use super::names::display_name as contact_name;
use super::record_form::{Field as FormField, FormSection, OptGroup, RecordForm};
use super::record_list::{
    Badge, Cell, Filter, HeaderLink, LinkView, ListDecl, RecordList, Row, take_select_all,
};
use super::timeline::{self, Timeline};
use super::view::{
    Ctx, FormErrors, FormKind, Layout, Opt, OrPage, WebError, WebForm, WebQuery, capitalise, date,
    datetime, iso, options, safe_next, with_query,
};
use super::views_bar::ListSpec;
use crate::api::custom_fields;
use crate::api::record::update_record;
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::accounts::{ACCOUNT_DEFAULT_SORT, ACCOUNT_FIELDS};
use rivet_domain::activities::RecordType;
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS, ContactField};
use rivet_domain::deals::{DEAL_DEFAULT_SORT, DEAL_FIELDS, DealInput, normalize_list_pairs};
use rivet_domain::ids::{AccountId, ContactId, PipelineId, StageId};
use rivet_domain::pipelines::{ForecastCategory, StageOutcome};
use rivet_domain::query::ListQuery;
use rivet_domain::{Action, Resource};
use rivet_store::deals::{self, Deal};
use rivet_store::page::MAX_LIMIT;
use rivet_store::pipelines::{self, Pipeline, Stage};
use rivet_store::record;
use rivet_store::{accounts::Account, contacts::Contact};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// A deal as a card.
struct Card {
    id: Uuid,
    name: String,
    amount: String,
    /// The amount as the script adds it up (no currency).
    amount_value: String,
    close_date: String,
    owner: String,
    probability: i32,
    moves: Vec<Opt>,
    risk: Option<super::risk::RiskBadge>,
}

struct Column {
    id: Uuid,
    name: String,
    probability: i32,
    outcome: &'static str,
    count: i64,
    /// The weighted sum as the script adds it up, and as people read it.
    weighted: String,
    weighted_text: String,
    total: String,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "web/deals_board.html")]
struct BoardPage {
    layout: Layout,
    pipelines: Vec<Opt>,
    pipeline_id: Uuid,
    pipeline_name: String,
    columns: Vec<Column>,
    total_count: i64,
    total_weighted: String,
    /// How the script prints a column's new sum after a move.
    money_style: MoneyStyle,
    can_update: bool,
    /// More deals than the board shows (the counts still cover all of them).
    truncated: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BoardQuery {
    pipeline_id: String,
}

fn card(deal: Deal, owners: &Owners, stages: &[Opt]) -> Card {
    let moves = stages
        .iter()
        .map(|s| Opt {
            selected: s.value == deal.stage_id.to_string(),
            ..s.clone()
        })
        .collect();
    Card {
        id: deal.id.uuid(),
        amount: money_opt(deal.amount.as_deref(), &deal.currency),
        amount_value: deal.amount.clone().unwrap_or_else(|| "0".into()),
        close_date: deal.close_date.clone().unwrap_or_default(),
        owner: owners.name(deal.owner_id),
        probability: deal.probability,
        risk: super::risk::badge(&deal),
        name: deal.name,
        moves,
    }
}

pub async fn board(ctx: Ctx, WebQuery(query): WebQuery<BoardQuery>) -> Result<Response, WebError> {
    let store = &ctx.app.store;
    let all = pipelines::list(store, &ctx.actor).await.or_page(&ctx)?;
    let chosen: Option<&Pipeline> = match query.pipeline_id.as_str() {
        "" => all.iter().find(|p| p.is_default).or(all.first()),
        text => {
            let id: PipelineId = parse_id(text).map_err(|e| ctx.fail(e))?;
            Some(
                all.iter()
                    .find(|p| p.id == id)
                    .ok_or_else(|| ctx.fail(rivet_store::StoreError::NotFound))?,
            )
        }
    };
    let Some(pipeline) = chosen else {
        return Err(ctx.fail(rivet_store::StoreError::NotFound));
    };
    let summary = deals::summary(store, &ctx.actor, Some(pipeline.id), &[], None)
        .await
        .or_page(&ctx)?;
    let pairs = vec![
        ("pipeline_id".to_owned(), pipeline.id.to_string()),
        ("sort".to_owned(), "close_date".to_owned()),
    ];
    let list = ListQuery::parse(&pairs, DEAL_FIELDS, DEAL_DEFAULT_SORT)
        .map_err(|e| ctx.fail(crate::http::error::AppError::BadRequest(e.0)))?;
    let page = record::list::<Deal>(store, &ctx.actor, &list, MAX_LIMIT, None)
        .await
        .or_page(&ctx)?;
    let truncated = page.next_cursor.is_some();
    let owners = Owners::load(&ctx).await?;
    let stage_options = options(
        pipeline
            .stages
            .iter()
            .map(|s| (s.id.to_string(), s.name.clone())),
        "",
    );
    let mut by_stage: HashMap<StageId, Vec<Card>> = HashMap::new();
    for deal in page.data {
        by_stage
            .entry(deal.stage_id)
            .or_default()
            .push(card(deal, &owners, &stage_options));
    }
    let counts: HashMap<StageId, _> = summary.stages.iter().map(|s| (s.stage_id, s)).collect();
    let columns = pipeline
        .stages
        .iter()
        .map(|stage| {
            let sums = counts.get(&stage.id);
            Column {
                id: stage.id.uuid(),
                name: stage.name.clone(),
                probability: stage.probability,
                outcome: stage.outcome.as_str(),
                count: sums.map_or(0, |s| s.count),
                weighted: sums.map_or_else(|| "0".into(), |s| s.weighted_amount.clone()),
                weighted_text: money(sums.map_or("0", |s| &s.weighted_amount), &ctx.currency),
                total: money(sums.map_or("0", |s| &s.total_amount), &ctx.currency),
                cards: by_stage.remove(&stage.id).unwrap_or_default(),
            }
        })
        .collect();
    let page = BoardPage {
        layout: ctx.layout(format!("{} board", pipeline.name)),
        pipelines: options(
            all.iter().map(|p| (p.id.to_string(), p.name.clone())),
            &pipeline.id.to_string(),
        ),
        pipeline_id: pipeline.id.uuid(),
        pipeline_name: pipeline.name.clone(),
        columns,
        total_count: summary.count,
        total_weighted: money(&summary.weighted_amount, &ctx.currency),
        money_style: MoneyStyle::of(&ctx.currency),
        can_update: ctx.can(Resource::Deals, Action::Update),
        truncated,
    };
    Ok(ctx.render(&page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MoveForm {
    stage_id: String,
    close_reason: String,
    /// Where to go afterwards (the deal's page); the board by default.
    next: String,
}

/// The board without its script: a card's "Move to" form.
pub async fn move_deal(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<MoveForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).map_err(|e| ctx.fail(e))?;
    let deal = record::get::<Deal>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let back = if form.next.is_empty() {
        with_query(
            "/deals/board",
            &[("pipeline_id", &deal.pipeline_id.to_string())],
        )
    } else {
        safe_next(&form.next)
    };
    let mut patch = Map::new();
    patch.insert("stage_id".into(), Value::String(form.stage_id));
    if !form.close_reason.trim().is_empty() {
        patch.insert("close_reason".into(), Value::String(form.close_reason));
    }
    match update_record::<Deal>(&ctx.app, &ctx.actor, id, patch).await {
        Ok(moved) => Ok(ctx.done(&back, format!("Moved {}.", moved.name))),
        Err(err) => Ok(ctx.refused(&back, format!("{} was not moved: {err}", deal.name))),
    }
}

struct Field {
    label: &'static str,
    value: String,
    href: Option<String>,
}

struct RoleRow {
    contact_id: Uuid,
    name: String,
    email: String,
    role: String,
}

/// One stay of the deal in a stage, on its page.
struct StageTime {
    stage: String,
    entered: String,
    entered_iso: String,
    /// Empty for the stage the deal is in.
    left: String,
    left_iso: String,
    duration: String,
    current: bool,
}

/// "3 d 4 h", "2 h 5 min", "12 min", "40 s": how long a deal stayed, to the largest two units.
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// The deal's stage history as stays: entered, left (when the next change came), how long.
fn stage_times(history: &[deals::StageChange]) -> Vec<StageTime> {
    history
        .iter()
        .enumerate()
        .map(|(i, change)| {
            let left = history.get(i + 1).map(|next| next.changed_at);
            StageTime {
                stage: change
                    .to_stage_name
                    .clone()
                    .unwrap_or_else(|| "(deleted stage)".into()),
                entered: datetime(&change.changed_at),
                entered_iso: iso(&change.changed_at),
                left: left.as_ref().map(datetime).unwrap_or_default(),
                left_iso: left.as_ref().map(iso).unwrap_or_default(),
                duration: duration(change.seconds_in_stage),
                current: left.is_none(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "web/deals_show.html")]
struct ShowPage {
    layout: Layout,
    id: Uuid,
    name: String,
    stage: String,
    outcome: &'static str,
    pipeline_name: String,
    pipeline_id: Uuid,
    amount: String,
    owner: String,
    fields: Vec<Field>,
    custom: Vec<CustomValue>,
    moves: Vec<Opt>,
    roles: Vec<RoleRow>,
    /// BANT and MEDDICC (`web::checklist`).
    checklist: super::checklist::Card,
    stage_times: Vec<StageTime>,
    risk: super::risk::RiskPanel,
    can_update: bool,
    can_delete: bool,
    timeline: Timeline,
    here: String,
}

/// A deal's page: its fields, stage (with a move form), contact roles and timeline.
pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(query): WebQuery<timeline::TimelineQuery>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).map_err(|e| ctx.fail(e))?;
    let store = &ctx.app.store;
    let deal = record::get::<Deal>(store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let pipeline = pipelines::get(store, &ctx.actor, deal.pipeline_id)
        .await
        .or_page(&ctx)?;
    let stage = pipeline.stages.iter().find(|s| s.id == deal.stage_id);
    let owners = Owners::load(&ctx).await?;
    let account = match deal.account_id {
        Some(account_id) if ctx.can(Resource::Accounts, Action::Read) => {
            record::get::<Account>(store, &ctx.actor, account_id)
                .await
                .ok()
                .map(|a| (a.name, format!("/accounts/{account_id}")))
        }
        _ => None,
    };
    let roles = if ctx.can(Resource::Contacts, Action::Read) {
        deals::contacts_of(store, &ctx.actor, id)
            .await
            .or_page(&ctx)?
            .into_iter()
            .map(|c| RoleRow {
                contact_id: c.contact_id.uuid(),
                name: c.name,
                email: c.email.unwrap_or_default(),
                role: capitalise(&c.role.as_str().replace('_', " ")),
            })
            .collect()
    } else {
        Vec::new()
    };
    // The economic buyer and the champion are chosen among the deal's buying committee.
    let committee = roles
        .iter()
        .map(|r: &RoleRow| (r.contact_id.to_string(), r.name.clone()))
        .collect();
    let checklist = super::checklist::card(
        &deal,
        &format!("/deals/{id}"),
        ctx.can(Resource::Deals, Action::Update),
        committee,
    );
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut fields = vec![
        Field {
            label: "Account",
            value: account.as_ref().map(|(n, _)| n.clone()).unwrap_or_default(),
            href: account.map(|(_, href)| href),
        },
        Field {
            label: "Close date",
            value: text(&deal.close_date),
            href: None,
        },
        Field {
            label: "Probability",
            value: format!("{} %", deal.probability),
            href: None,
        },
        Field {
            label: "Forecast category",
            value: capitalise(&deal.forecast_category.as_str().replace('_', " ")),
            href: None,
        },
        Field {
            label: "Next step",
            value: text(&deal.next_step),
            href: None,
        },
        Field {
            label: "Close reason",
            value: text(&deal.close_reason),
            href: None,
        },
        Field {
            label: "Description",
            value: text(&deal.description),
            href: None,
        },
        Field {
            label: "Tags",
            value: deal.tags.join(", "),
            href: None,
        },
    ];
    fields.retain(|f| !f.value.is_empty());
    let history = deals::stage_history(store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let timeline = timeline::load(&ctx, &owners, RecordType::Deal, id, &query.before).await?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Deal)
        .await?
        .values(&deal.custom_fields);
    let page = ShowPage {
        layout: ctx.layout(deal.name.clone()),
        custom,
        id: id.uuid(),
        stage: stage.map(|s| s.name.clone()).unwrap_or_default(),
        outcome: stage.map_or("open", |s| s.outcome.as_str()),
        pipeline_name: pipeline.name.clone(),
        pipeline_id: pipeline.id.uuid(),
        amount: money_opt(deal.amount.as_deref(), &deal.currency),
        owner: owners.name(deal.owner_id),
        fields,
        moves: options(
            pipeline
                .stages
                .iter()
                .map(|s| (s.id.to_string(), s.name.clone())),
            &deal.stage_id.to_string(),
        ),
        roles,
        checklist,
        stage_times: stage_times(&history),
        risk: super::risk::panel(&ctx, id).await?,
        can_update: ctx.can(Resource::Deals, Action::Update),
        can_delete: ctx.can(Resource::Deals, Action::Delete),
        timeline,
        here: format!("/deals/{id}"),
        name: deal.name,
    };
    Ok(ctx.render(&page))
}

// ---------------------------------------------------------------------------------------------
// The list

const CATEGORIES: &[ForecastCategory] = &[
    ForecastCategory::Pipeline,
    ForecastCategory::BestCase,
    ForecastCategory::Commit,
    ForecastCategory::Closed,
    ForecastCategory::Omitted,
];

fn category_label(category: ForecastCategory) -> &'static str {
    match category {
        ForecastCategory::Pipeline => "Pipeline",
        ForecastCategory::BestCase => "Best case",
        ForecastCategory::Commit => "Commit",
        ForecastCategory::Closed => "Closed",
        ForecastCategory::Omitted => "Omitted",
    }
}

fn category_options(first: Option<&str>, selected: &str) -> Vec<Opt> {
    choice_options(
        first,
        CATEGORIES,
        ForecastCategory::as_str,
        category_label,
        selected,
    )
}

const OUTCOMES: &[StageOutcome] = &[StageOutcome::Open, StageOutcome::Won, StageOutcome::Lost];

fn outcome_label(outcome: StageOutcome) -> &'static str {
    match outcome {
        StageOutcome::Open => "Open",
        StageOutcome::Won => "Won",
        StageOutcome::Lost => "Lost",
    }
}

/// The filter bar as the API's query string. The bar names its fields as the API does
/// (`close_date[gte]`, `amount[lte]`, …); only `status` (open, won, lost) is the page's own: it
/// becomes `stage_id[in]` with the stages of that outcome, unless a stage is chosen already.
pub(super) fn list_pairs(
    raw: &[(String, String)],
    pipelines: &[Pipeline],
    errors: &mut FormErrors,
) -> Vec<(String, String)> {
    let (status, rest): (Vec<_>, Vec<_>) = raw.iter().cloned().partition(|(k, _)| k == "status");
    let mut pairs = api_pairs(&rest, errors);
    let status = status.first().map_or("", |(_, v)| v.trim());
    if !status.is_empty() && value_of(raw, "stage_id").is_empty() {
        match status.parse::<StageOutcome>() {
            Ok(outcome) => {
                let stages: Vec<String> = pipelines
                    .iter()
                    .flat_map(|p| &p.stages)
                    .filter(|s| s.outcome == outcome)
                    .map(|s| s.id.to_string())
                    .collect();
                pairs.push(("stage_id[in]".into(), stages.join(",")));
            }
            Err(e) => errors.add_general(format!("Status {e}")),
        }
    }
    pairs
}

/// `"€12,500.10"`, or nothing.
fn amount_text(deal: &Deal) -> String {
    money_opt(deal.amount.as_deref(), &deal.currency)
}

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec::plain(Resource::Deals, "/deals");

const LIST: ListDecl = ListDecl {
    page: &PAGE,
    key: "deals",
    title: "Deals",
    blurb: "Opportunities in your pipelines, open and closed.",
    heading: "All deals you can see",
    noun: "deal",
    nouns: "deals",
    new_label: Some("New deal"),
    empty: "There are no deals yet.",
    add_first: "Add the first one",
    columns: &[
        Col::sorts("Name", "name"),
        Col::plain("Account"),
        Col::sorts_down("Amount", "amount").class("num"),
        Col::plain("Stage"),
        Col::sorts("Close date", "close_date"),
        Col::sorts_down("Risk", "risk_score"),
        Col::plain("Owner"),
        Col::sorts_down("Updated", "updated_at"),
    ],
};

pub async fn index(
    ctx: Ctx,
    WebQuery(mut raw): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let select_all = take_select_all(&mut raw);
    let views = super::views_bar::bar(&ctx, &PAGE, &mut raw).await?;
    let store = &ctx.app.store;
    let all = pipelines::list(store, &ctx.actor).await.or_page(&ctx)?;
    let mut errors = FormErrors::new();
    let (pairs, narrow) = imported(list_pairs(&raw, &all, &mut errors), &mut errors);
    let owners = Owners::load(&ctx).await?;
    let parsed = match normalize_list_pairs(pairs) {
        Ok(pairs) if errors.is_empty() => {
            let query = custom_fields::list_query(
                &ctx.app,
                &ctx.actor,
                rivet_domain::custom_fields::RecordType::Deal,
                &pairs,
                DEAL_FIELDS,
                DEAL_DEFAULT_SORT,
            )
            .await;
            match query {
                Ok(query) => Some(query),
                Err(AppError::BadRequest(message)) => {
                    errors.add_general(capitalise(&message));
                    None
                }
                Err(other) => return Err(ctx.fail(other)),
            }
        }
        Ok(_) => None,
        Err(e) => {
            errors.add_general(capitalise(&e.0));
            None
        }
    };
    let stages: HashMap<StageId, (&str, &Stage)> = all
        .iter()
        .flat_map(|p| p.stages.iter().map(move |s| (s.id, (p.name.as_str(), s))))
        .collect();
    let mut rows = Vec::new();
    let mut next_cursor = None;
    if let Some(query) = &parsed {
        let page = page_of::<Deal>(&ctx, (query, narrow), &raw).await?;
        let accounts =
            super::names::names_of(&ctx, page.data.iter().filter_map(|d| d.account_id)).await?;
        rows = page
            .data
            .iter()
            .map(|d| {
                let stage = stages.get(&d.stage_id);
                let account = d.account_id.and_then(|id| {
                    accounts.get(&id).map(|name| LinkView {
                        label: name.clone(),
                        href: format!("/accounts/{id}"),
                    })
                });
                Row {
                    id: d.id.uuid(),
                    name: d.name.clone(),
                    class: "",
                    cells: vec![
                        Cell::title(d.name.clone(), Some(format!("/deals/{}", d.id)), ""),
                        Cell::link(account),
                        Cell::text(amount_text(d)).class("num nowrap"),
                        Cell::badge(Badge::new(
                            format!(
                                "badge-{}",
                                stage.map_or("open", |(_, s)| s.outcome.as_str())
                            ),
                            stage.map(|(_, s)| s.name.clone()).unwrap_or_default(),
                        )),
                        Cell::date(text(&d.close_date)),
                        super::risk::cell(d),
                        Cell::text(owners.name(d.owner_id)),
                        Cell::date(date(&d.updated_at)),
                    ],
                }
            })
            .collect();
        next_cursor = page.next_cursor;
    }
    let mut stage_items = vec![(String::new(), "Any stage".to_owned())];
    stage_items.extend(all.iter().flat_map(|p| {
        p.stages
            .iter()
            .map(move |s| (s.id.to_string(), format!("{} › {}", p.name, s.name)))
    }));
    let mut pipeline_items = vec![(String::new(), "Any pipeline".to_owned())];
    pipeline_items.extend(all.iter().map(|p| (p.id.to_string(), p.name.clone())));
    let mut list = RecordList::new(&ctx, &LIST, views, (&raw, next_cursor), errors, select_all);
    list.header_links.insert(
        0,
        HeaderLink {
            href: "/deals/board".into(),
            label: "Pipeline board",
            primary: false,
        },
    );
    list.filters = vec![
        Filter::search("Deal name", &raw),
        Filter::select(
            "pipeline_id",
            "Pipeline",
            options(pipeline_items, value_of(&raw, "pipeline_id")),
        ),
        Filter::select(
            "stage_id",
            "Stage",
            options(stage_items, value_of(&raw, "stage_id")),
        ),
        Filter::select(
            "status",
            "Status",
            choice_options(
                Some("Open, won or lost"),
                OUTCOMES,
                StageOutcome::as_str,
                outcome_label,
                value_of(&raw, "status"),
            ),
        ),
        Filter::select(
            "forecast_category",
            "Forecast",
            category_options(Some("Any category"), value_of(&raw, "forecast_category")),
        ),
        Filter::member(&owners, ("owner_id", "Owner"), &raw),
        Filter::date("close_date[gte]", "Closing from", &raw),
        Filter::date("close_date[lte]", "Closing to", &raw),
        Filter::bound("amount[gte]", "Amount from", &raw),
        Filter::bound("amount[lte]", "Amount to", &raw),
        Filter::bound("risk_score[gte]", "Risk from", &raw),
    ];
    list.bulk_owner(&owners);
    list.rows = rows;
    Ok(list.render(&ctx))
}

/// One post for the bulk actions (which button was pressed is `action`); deleting first shows a
/// page that asks, and deletes only when that page's button sends `confirm=yes`.
/// The bulk bar's changes (its delete is the shared one).
const BULK: &[BulkChange] = &[BulkChange::OWNER];

pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    bulk_action::<Deal>(&ctx, &LIST, &form, |d: &Deal| d.name.clone(), BULK).await
}

// ---------------------------------------------------------------------------------------------
// The form

/// The form fields a validation message can sit next to.
const FORM_FIELDS: &[&str] = &[
    "name",
    "account_id",
    "contact_id",
    "amount",
    "currency",
    "close_date",
    "pipeline_id",
    "stage_id",
    "probability",
    "forecast_category",
    "next_step",
    "close_reason",
    "description",
    "owner_id",
    "tags",
];

/// How many accounts the account field suggests.
const SUGGESTIONS: u64 = 20;

/// The form as typed: plain strings, so a bad value comes back next to its field. The account
/// is typed by name (`account_name`, with suggestions); `account_id` is the account it named
/// before, so a deal started from an account's page keeps that account even if another has the
/// same name.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DealForm {
    name: String,
    account_id: String,
    account_name: String,
    contact_id: String,
    amount: String,
    currency: String,
    close_date: String,
    stage_id: String,
    probability: String,
    forecast_category: String,
    next_step: String,
    close_reason: String,
    description: String,
    owner_id: String,
    tags: String,
}

impl DealForm {
    fn of(deal: &Deal, account_name: String) -> Self {
        Self {
            name: deal.name.clone(),
            account_id: deal.account_id.map(|id| id.to_string()).unwrap_or_default(),
            account_name,
            contact_id: deal.contact_id.map(|id| id.to_string()).unwrap_or_default(),
            amount: text(&deal.amount),
            currency: deal.currency.clone(),
            close_date: text(&deal.close_date),
            stage_id: deal.stage_id.to_string(),
            probability: deal.probability.to_string(),
            forecast_category: deal.forecast_category.as_str().to_owned(),
            next_step: text(&deal.next_step),
            close_reason: text(&deal.close_reason),
            description: text(&deal.description),
            owner_id: deal.owner_id.to_string(),
            tags: deal.tags.join(", "),
        }
    }

    /// The form as the API's JSON body; what the form itself must parse (numbers, ids, the
    /// account's name) is checked here, next to its field. Left empty, the stage, probability
    /// and forecast category are the API's defaults (the default pipeline's first stage, and
    /// the stage's values).
    async fn as_json(
        &self,
        ctx: &Ctx,
        all: &[Pipeline],
        errors: &mut FormErrors,
    ) -> Result<Map<String, Value>, WebError> {
        let mut map = Map::new();
        for (field, value) in [
            ("name", &self.name),
            ("amount", &self.amount),
            ("currency", &self.currency),
            ("close_date", &self.close_date),
            ("forecast_category", &self.forecast_category),
            ("next_step", &self.next_step),
            ("close_reason", &self.close_reason),
            ("description", &self.description),
        ] {
            map.insert(field.into(), Value::String(value.trim().to_owned()));
        }
        match number_json(&self.probability, "probability", errors) {
            Value::Null => {}
            n => {
                map.insert("probability".into(), n);
            }
        }
        if let Ok(stage) = self.stage_id.trim().parse::<StageId>() {
            match all.iter().find(|p| p.stages.iter().any(|s| s.id == stage)) {
                Some(pipeline) => {
                    map.insert("pipeline_id".into(), Value::String(pipeline.id.to_string()));
                    map.insert("stage_id".into(), Value::String(stage.to_string()));
                }
                None => errors.add("stage_id", "is not a stage of this company's pipelines"),
            }
        } else if !self.stage_id.trim().is_empty() {
            errors.add("stage_id", "is not a stage of this company's pipelines");
        }
        let account = self.account(ctx, errors).await?;
        map.insert("account_id".into(), account);
        let contact = self.contact_id.trim();
        let contact = match Uuid::parse_str(contact) {
            Ok(id) => Value::String(id.to_string()),
            Err(_) if contact.is_empty() => Value::Null,
            Err(_) => {
                errors.add("contact_id", "must be a contact id");
                Value::Null
            }
        };
        map.insert("contact_id".into(), contact);
        owner_json(&mut map, &self.owner_id, errors);
        map.insert("tags".into(), tags_json(&self.tags));
        Ok(map)
    }

    /// The account the form names: the one it was started with while its name is unchanged,
    /// else the one account the caller may read with exactly that name (or that id).
    async fn account(&self, ctx: &Ctx, errors: &mut FormErrors) -> Result<Value, WebError> {
        let name = self.account_name.trim();
        let known = self.account_id.trim().parse::<AccountId>().ok();
        if !ctx.can(Resource::Accounts, Action::Read) {
            // The field is not shown; the deal keeps the account it has.
            return Ok(known.map_or(Value::Null, |id| Value::String(id.to_string())));
        }
        if name.is_empty() {
            return Ok(Value::Null);
        }
        // An account the caller cannot read shows as its id; left so, it stays.
        if let Some(id) = known
            && id.to_string() == name
        {
            return Ok(Value::String(id.to_string()));
        }
        let store = &ctx.app.store;
        for id in known.into_iter().chain(name.parse().ok()) {
            if let Ok(account) = record::get::<Account>(store, &ctx.actor, id).await
                && (account.name.trim() == name || account.id.to_string() == name)
            {
                return Ok(Value::String(id.to_string()));
            }
        }
        let pairs = [("name".to_owned(), name.to_owned())];
        let query = ListQuery::parse(&pairs, ACCOUNT_FIELDS, ACCOUNT_DEFAULT_SORT)
            .map_err(|e| ctx.fail(AppError::BadRequest(e.0)))?;
        let found = record::list::<Account>(store, &ctx.actor, &query, 2, None)
            .await
            .or_page(ctx)?;
        match found.data.as_slice() {
            [only] => return Ok(Value::String(only.id.to_string())),
            [] => errors.add(
                "account_id",
                "matches no account you can see; type its name as it is written",
            ),
            _ => errors.add(
                "account_id",
                "matches several accounts; start the deal from the account's page",
            ),
        }
        Ok(Value::Null)
    }
}

/// With the form's own errors, the API's checks of the other fields too, so that every message
/// shows at once (nothing is written).
fn check_rest(body: &Map<String, Value>, errors: &mut FormErrors) {
    if let Ok(input) = serde_json::from_value::<DealInput>(Value::Object(body.clone()))
        && let Err(found) = input.validate()
    {
        // A validation error is always taken in.
        let _ = errors.absorb(AppError::Validation(found), FORM_FIELDS);
    }
}

/// A few accounts for the account field: those matching what is typed, else the first by name.
async fn account_suggestions(ctx: &Ctx, typed: &str) -> Result<Vec<String>, WebError> {
    if !ctx.can(Resource::Accounts, Action::Read) {
        return Ok(Vec::new());
    }
    let mut pairs = vec![("sort".to_owned(), "name".to_owned())];
    if !typed.trim().is_empty() && Uuid::parse_str(typed.trim()).is_err() {
        pairs.push(("q".to_owned(), typed.trim().to_owned()));
    }
    let query = ListQuery::parse(&pairs, ACCOUNT_FIELDS, ACCOUNT_DEFAULT_SORT)
        .map_err(|e| ctx.fail(AppError::BadRequest(e.0)))?;
    let page = record::list::<Account>(&ctx.app.store, &ctx.actor, &query, SUGGESTIONS, None)
        .await
        .or_page(ctx)?;
    Ok(page.data.into_iter().map(|a| a.name).collect())
}

/// The primary contact select: the contacts of the deal's account, and the current one.
async fn contact_options(ctx: &Ctx, form: &DealForm) -> Result<Option<Vec<Opt>>, WebError> {
    if !ctx.can(Resource::Contacts, Action::Read) {
        return Ok(None);
    }
    let store = &ctx.app.store;
    let mut items = vec![(String::new(), "No primary contact".to_owned())];
    if let Ok(account) = Uuid::parse_str(form.account_id.trim()) {
        let pairs = [("account_id".to_owned(), account.to_string())];
        let query = ListQuery::<ContactField>::parse(&pairs, CONTACT_FIELDS, CONTACT_DEFAULT_SORT)
            .map_err(|e| ctx.fail(AppError::BadRequest(e.0)))?;
        let page = record::list::<Contact>(store, &ctx.actor, &query, PAGE_SIZE, None)
            .await
            .or_page(ctx)?;
        items.extend(
            page.data
                .iter()
                .map(|c| (c.id.to_string(), contact_name(c))),
        );
    }
    if let Ok(id) = form.contact_id.trim().parse::<ContactId>()
        && !items.iter().any(|(value, _)| *value == id.to_string())
    {
        let name = match record::get::<Contact>(store, &ctx.actor, id).await {
            Ok(contact) => contact_name(&contact),
            Err(_) => "Another contact".into(),
        };
        items.push((id.to_string(), name));
    }
    Ok(Some(options(items, form.contact_id.trim())))
}

async fn form_page(
    ctx: &Ctx,
    kind: FormKind,
    all: &[Pipeline],
    form: DealForm,
    custom: Vec<CustomInput>,
    errors: FormErrors,
) -> Result<RecordForm, WebError> {
    let owners = Owners::load(ctx).await?;
    let owner = if form.owner_id.is_empty() {
        ctx.actor.user_id.to_string()
    } else {
        form.owner_id.clone()
    };
    let stage_groups = all
        .iter()
        .map(|p| OptGroup {
            label: p.name.clone(),
            options: options(
                p.stages.iter().map(|s| (s.id.to_string(), s.name.clone())),
                form.stage_id.trim(),
            ),
        })
        .collect();
    let f = &form;
    let mut page = RecordForm::new(
        ctx,
        ("deal", ("/deals", "Deals")),
        kind,
        "A deal needs a name; it starts in the first stage of the default pipeline unless you \
         choose another.",
        errors,
    );
    page.hidden = vec![("account_id", f.account_id.clone())];
    let mut deal = vec![FormField::text("name", "Name", &f.name).required()];
    // The account is typed by name (a select cannot hold every account); the suggestions are a
    // few accounts matching what was typed.
    if ctx.can(Resource::Accounts, Action::Read) {
        deal.push(
            FormField::suggest(
                ("account_name", "Account"),
                &f.account_name,
                account_suggestions(ctx, &f.account_name).await?,
                "account_id",
            )
            .hint("The account's name as it is written."),
        );
    }
    match contact_options(ctx, f).await? {
        Some(contacts) => deal.push(
            FormField::select("contact_id", "Primary contact", contacts).hint(
                "One of the account's contacts; the list fills once the deal has an account.",
            ),
        ),
        None => page.hidden.push(("contact_id", f.contact_id.clone())),
    }
    deal.extend([
        FormField::money("amount", "Amount", &f.amount).hint("A decimal number, e.g. 12500.00."),
        FormField::text("currency", "Currency", &f.currency)
            .hint("ISO code, e.g. EUR; empty for the company's currency."),
        FormField::input("date", "close_date", "Expected close date", &f.close_date),
    ]);
    page.sections = vec![
        FormSection::card("deal", "Deal", deal),
        FormSection::card(
            "stage",
            "Pipeline and stage",
            vec![
                // One select for both: the stages grouped by pipeline, so the stage is always
                // one of the chosen pipeline's.
                FormField::groups(
                    ("stage_id", "Stage"),
                    stage_groups,
                    ("pipeline_id", "Pipeline"),
                ),
                FormField::input("number", "probability", "Probability (%)", &f.probability)
                    .hint("From 0 to 100; empty for the stage's."),
                FormField::select(
                    "forecast_category",
                    "Forecast category",
                    category_options(Some("The stage's"), f.forecast_category.trim()),
                ),
                FormField::text("next_step", "Next step", &f.next_step),
                FormField::text("close_reason", "Win or loss reason", &f.close_reason)
                    .hint("Why the deal was won or lost."),
            ],
        ),
        FormSection::card(
            "owner",
            "Ownership and notes",
            vec![
                FormField::select("owner_id", "Owner", owners.options(None, &owner)),
                FormField::text("tags", "Tags", &f.tags).hint("Separated by commas."),
                FormField::textarea("description", "Description", &f.description),
            ],
        ),
    ];
    page.custom = custom;
    Ok(page)
}

/// `/deals/new?account_id=…&pipeline_id=…`: the account and pipeline to start with.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewQuery {
    account_id: String,
    pipeline_id: String,
}

pub async fn new(ctx: Ctx, WebQuery(query): WebQuery<NewQuery>) -> Result<Response, WebError> {
    let all = pipelines::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let pipeline = all
        .iter()
        .find(|p| p.id.to_string() == query.pipeline_id.trim())
        .or_else(|| all.iter().find(|p| p.is_default))
        .or(all.first());
    let mut form = DealForm {
        stage_id: pipeline
            .and_then(|p| p.stages.first())
            .map(|s| s.id.to_string())
            .unwrap_or_default(),
        ..DealForm::default()
    };
    if let Ok(id) = query.account_id.trim().parse::<AccountId>()
        && ctx.can(Resource::Accounts, Action::Read)
    {
        let account = record::get::<Account>(&ctx.app.store, &ctx.actor, id)
            .await
            .or_page(&ctx)?;
        form.account_id = account.id.to_string();
        form.account_name = account.name;
    }
    let custom = CustomFields::load(&ctx, cf::RecordType::Deal).await?;
    let page = form_page(
        &ctx,
        FormKind::create(
            "/deals",
            ("New deal", "Create deal"),
            Some(&form.account_id),
        ),
        &all,
        form,
        custom.blank(),
        FormErrors::new(),
    )
    .await?;
    Ok(ctx.render(&page))
}

pub async fn create(
    ctx: Ctx,
    WithCustom(form, posted): WithCustom<DealForm>,
) -> Result<Response, WebError> {
    let all = pipelines::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Deal).await?;
    let mut errors = FormErrors::new();
    let mut body = form.as_json(&ctx, &all, &mut errors).await?;
    custom.add_new(&posted, &mut body);
    if !errors.is_empty() {
        check_rest(&body, &mut errors);
    } else if let Some(deal) = custom
        .create::<Deal>(&ctx, body, &mut errors, FORM_FIELDS)
        .await?
    {
        return Ok(ctx.done(
            &format!("/deals/{}", deal.id),
            format!("Created the deal {}.", deal.name),
        ));
    }
    let kind = FormKind::create(
        "/deals",
        ("New deal", "Create deal"),
        Some(&form.account_id),
    );
    let custom = custom.as_posted(&posted, &errors);
    let page = form_page(&ctx, kind, &all, form, custom, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let store = &ctx.app.store;
    let deal = record::get::<Deal>(store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let all = pipelines::list(store, &ctx.actor).await.or_page(&ctx)?;
    let account_name = match deal.account_id {
        Some(account) if ctx.can(Resource::Accounts, Action::Read) => {
            record::get::<Account>(store, &ctx.actor, account)
                .await
                .map(|a| a.name)
                .unwrap_or_else(|_| account.to_string())
        }
        _ => String::new(),
    };
    let form = DealForm::of(&deal, account_name);
    let custom = CustomFields::load(&ctx, cf::RecordType::Deal)
        .await?
        .of(&deal.custom_fields);
    let kind = FormKind::edit("/deals", deal.id, &deal.name);
    let page = form_page(&ctx, kind, &all, form, custom, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WithCustom(form, posted): WithCustom<DealForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let store = &ctx.app.store;
    let deal = record::get::<Deal>(store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let all = pipelines::list(store, &ctx.actor).await.or_page(&ctx)?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Deal).await?;
    let mut errors = FormErrors::new();
    let mut patch = form.as_json(&ctx, &all, &mut errors).await?;
    custom.add_patch(&posted, &mut patch);
    // Moved to another stage with the old probability and category left as they were: the new
    // stage's apply, as when the deal is moved on the board.
    if form.stage_id.trim() != deal.stage_id.to_string() {
        if form.probability.trim() == deal.probability.to_string() {
            patch.remove("probability");
        }
        if form.forecast_category.trim() == deal.forecast_category.as_str() {
            patch.remove("forecast_category");
        }
    }
    if !errors.is_empty() {
        check_rest(&patch, &mut errors);
    } else if let Some(deal) = custom
        .update::<Deal>(&ctx, id, patch, &mut errors, FORM_FIELDS)
        .await?
    {
        return Ok(ctx.done(&format!("/deals/{id}"), format!("Saved {}.", deal.name)));
    }
    let custom = custom.as_posted(&posted, &errors);
    let page = form_page(
        &ctx,
        FormKind::edit("/deals", deal.id, &deal.name),
        &all,
        form,
        custom,
        errors,
    )
    .await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    delete_one::<Deal>(&ctx, &LIST, id, |d: &Deal| d.name.clone()).await
}

#[cfg(test)]
mod stage_time_tests {
    use super::duration;

    #[test]
    fn time_in_a_stage_reads_in_its_two_largest_units() {
        assert_eq!(duration(-5), "0 s");
        assert_eq!(duration(40), "40 s");
        assert_eq!(duration(12 * 60 + 5), "12 min");
        assert_eq!(duration(2 * 3600), "2 h");
        assert_eq!(duration(2 * 3600 + 5 * 60), "2 h 5 min");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 59), "3 d 4 h");
        assert_eq!(duration(3 * 86_400 + 600), "3 d");
    }
}
