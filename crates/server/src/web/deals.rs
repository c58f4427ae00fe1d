//! The pipeline board: one column per stage of the chosen pipeline with its deals as cards
//! (amount, close date, owner, probability) and a header with the count and weighted total of
//! every deal the caller may read in that stage. Dragging a card to another column moves the deal
//! through the API (`rivet.js`); without the script, each card's "Move to" form posts here. Both
//! go through `crate::deals::update_deal`, so the stage rules, stage history and audit are the
//! API's.

use super::leads::Owners;
use super::timeline::{self, Timeline};
use super::view::{
    Ctx, Layout, Opt, OrPage, WebError, WebForm, WebQuery, capitalise, options, safe_next,
    with_query,
};
use crate::deals::update_deal;
use crate::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::activities::RecordType;
use rivet_domain::deals::{DEAL_DEFAULT_SORT, DEAL_FIELDS};
use rivet_domain::query::ListQuery;
use rivet_domain::{Action, Resource};
use rivet_store::deals::{self, Deal};
use rivet_store::page::MAX_LIMIT;
use rivet_store::pipelines::{self, Pipeline};
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
}

struct Column {
    id: Uuid,
    name: String,
    probability: i32,
    outcome: &'static str,
    count: i64,
    weighted: String,
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
    can_update: bool,
    /// More deals than the board shows (the counts still cover all of them).
    truncated: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BoardQuery {
    pipeline_id: String,
}

/// Whole units with thousands separators, for column headers (`"12500.51"` → `"12,501"`).
fn rounded(amount: &str) -> String {
    let value: f64 = amount.parse().unwrap_or(0.0);
    let whole = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 && whole != "0" {
        out.insert(0, '-');
    }
    out
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
        id: deal.id,
        amount: deal
            .amount
            .as_ref()
            .map(|a| format!("{} {}", rounded(a), deal.currency))
            .unwrap_or_default(),
        amount_value: deal.amount.clone().unwrap_or_else(|| "0".into()),
        close_date: deal.close_date.clone().unwrap_or_default(),
        owner: owners.name(deal.owner_id),
        probability: deal.probability,
        name: deal.name,
        moves,
    }
}

pub async fn board(ctx: Ctx, WebQuery(query): WebQuery<BoardQuery>) -> Result<Response, WebError> {
    ctx.require(Resource::Deals, Action::Read)?;
    let store = &ctx.app.store;
    let all = pipelines::list(store, &ctx.actor).await.or_page(&ctx)?;
    let chosen: Option<&Pipeline> = match query.pipeline_id.as_str() {
        "" => all.iter().find(|p| p.is_default).or(all.first()),
        text => {
            let id = parse_id(text).map_err(|e| ctx.fail(e))?;
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
        .map_err(|e| ctx.fail(crate::error::AppError::BadRequest(e.0)))?;
    let page = deals::list(store, &ctx.actor, &list, MAX_LIMIT, None)
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
    let mut by_stage: HashMap<Uuid, Vec<Card>> = HashMap::new();
    for deal in page.data {
        by_stage
            .entry(deal.stage_id)
            .or_default()
            .push(card(deal, &owners, &stage_options));
    }
    let counts: HashMap<Uuid, _> = summary.stages.iter().map(|s| (s.stage_id, s)).collect();
    let columns = pipeline
        .stages
        .iter()
        .map(|stage| {
            let sums = counts.get(&stage.id);
            Column {
                id: stage.id,
                name: stage.name.clone(),
                probability: stage.probability,
                outcome: stage.outcome.as_str(),
                count: sums.map_or(0, |s| s.count),
                weighted: sums.map_or_else(|| "0".into(), |s| s.weighted_amount.clone()),
                total: sums.map_or_else(|| "0".into(), |s| s.total_amount.clone()),
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
        pipeline_id: pipeline.id,
        pipeline_name: pipeline.name.clone(),
        columns,
        total_count: summary.count,
        total_weighted: summary.weighted_amount.clone(),
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
    ctx.require(Resource::Deals, Action::Update)?;
    let id = parse_id(&id).map_err(|e| ctx.fail(e))?;
    let deal = deals::get(&ctx.app.store, &ctx.actor, id)
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
    match update_deal(&ctx.app, &ctx.actor, id, patch).await {
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
    moves: Vec<Opt>,
    roles: Vec<RoleRow>,
    can_update: bool,
    timeline: Timeline,
    here: String,
}

/// A deal's page: its fields, stage (with a move form), contact roles and timeline.
pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(query): WebQuery<timeline::TimelineQuery>,
) -> Result<Response, WebError> {
    ctx.require(Resource::Deals, Action::Read)?;
    let id = parse_id(&id).map_err(|e| ctx.fail(e))?;
    let store = &ctx.app.store;
    let deal = deals::get(store, &ctx.actor, id).await.or_page(&ctx)?;
    let pipeline = pipelines::get(store, &ctx.actor, deal.pipeline_id)
        .await
        .or_page(&ctx)?;
    let stage = pipeline.stages.iter().find(|s| s.id == deal.stage_id);
    let owners = Owners::load(&ctx).await?;
    let account = match deal.account_id {
        Some(account_id) if ctx.can(Resource::Accounts, Action::Read) => {
            rivet_store::accounts::get(store, &ctx.actor, account_id)
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
                contact_id: c.contact_id,
                name: c.name,
                email: c.email.unwrap_or_default(),
                role: capitalise(&c.role.as_str().replace('_', " ")),
            })
            .collect()
    } else {
        Vec::new()
    };
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
    let timeline = timeline::load(&ctx, &owners, RecordType::Deal, id, &query.before).await?;
    let page = ShowPage {
        layout: ctx.layout(deal.name.clone()),
        id,
        stage: stage.map(|s| s.name.clone()).unwrap_or_default(),
        outcome: stage.map_or("open", |s| s.outcome.as_str()),
        pipeline_name: pipeline.name.clone(),
        pipeline_id: pipeline.id,
        amount: deal
            .amount
            .as_ref()
            .map(|a| format!("{a} {}", deal.currency))
            .unwrap_or_default(),
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
        can_update: ctx.can(Resource::Deals, Action::Update),
        timeline,
        here: format!("/deals/{id}"),
        name: deal.name,
    };
    Ok(ctx.render(&page))
}

#[cfg(test)]
mod tests {
    use super::rounded;

    #[test]
    fn header_amounts_are_whole_units_with_separators() {
        assert_eq!(rounded("0"), "0");
        assert_eq!(rounded("999.49"), "999");
        assert_eq!(rounded("12500.51"), "12,501");
        assert_eq!(rounded("1234567"), "1,234,567");
        assert_eq!(rounded("-1500"), "-1,500");
        assert_eq!(rounded("garbage"), "0");
    }
}
