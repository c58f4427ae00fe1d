//! The duplicate review pages (issue 13 UI): per entity, the groups of the last scan with a
//! "Scan now" button (`/duplicates/{leads|contacts|accounts}`), and the merge page — the
//! records side by side, a choice of survivor and one radio per field whose values differ,
//! defaulting to the survivor's value when it has one — for a stored group
//! (`/duplicates/groups/{id}`) or for any records (`/duplicates/{entity}/merge?ids=…`, what the
//! lead page's "Review and merge" opens). Scanning, dismissing and merging call the API's
//! functions (`crate::api::duplicate_groups`, `crate::api::merge::merge_records`).

use super::view::{Ctx, Layout, OrPage, WebError, WebForm, WebQuery};
use crate::api::duplicate_groups::queue_scan;
use crate::api::merge::{ApiMerge, CUSTOM_PREFIX, MergeBody, merge_records};
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::Action;
use rivet_domain::duplicate_groups::{DuplicateEntity, GroupStatus};
use rivet_store::accounts::Account;
use rivet_store::contacts::Contact;
use rivet_store::duplicate_groups::{self, DuplicateGroup};
use rivet_store::leads::Lead;
use rivet_store::record;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The most records the merge page compares.
const MAX_COMPARED: usize = 10;

/// A record type with duplicate pages: its entity, and the record it is.
pub trait Reviewed: ApiMerge {
    const ENTITY: DuplicateEntity;
}

impl Reviewed for Lead {
    const ENTITY: DuplicateEntity = DuplicateEntity::Leads;
}
impl Reviewed for Contact {
    const ENTITY: DuplicateEntity = DuplicateEntity::Contacts;
}
impl Reviewed for Account {
    const ENTITY: DuplicateEntity = DuplicateEntity::Accounts;
}

/// One group in the list.
pub struct GroupRow {
    pub href: String,
    pub names: String,
    pub size: usize,
    pub rule: String,
    pub score: String,
}

#[derive(Template)]
#[template(path = "web/duplicates.html")]
struct GroupsPage {
    layout: Layout,
    entity: &'static str,
    tabs: Vec<(String, &'static str, bool)>,
    groups: Vec<GroupRow>,
    next_href: Option<String>,
    can_scan: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupsQuery {
    cursor: String,
}

/// What a record is called on the page: a person's name, an account's name, else its e-mail.
fn title_of(record: &Value) -> String {
    let text = |f: &str| record.get(f).and_then(Value::as_str).unwrap_or_default();
    let person = [text("first_name"), text("last_name")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    [person.as_str(), text("name"), text("email")]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("(no name)")
        .to_owned()
}

/// `GET /duplicates/{entity}`: the open groups of the last scan.
pub async fn index<R: Reviewed>(
    ctx: Ctx,
    WebQuery(query): WebQuery<GroupsQuery>,
) -> Result<Response, WebError> {
    let entity = R::ENTITY;
    let page = crate::http::extract::page_request(
        Some(50),
        Some(query.cursor.as_str()).filter(|c| !c.is_empty()),
    )
    .or_page(&ctx)?;
    let list = duplicate_groups::list(&ctx.app.store, &ctx.actor, entity, GroupStatus::Open, page)
        .await
        .or_page(&ctx)?;
    let groups = list
        .data
        .iter()
        .map(|g| GroupRow {
            href: format!("/duplicates/groups/{}", g.id),
            names: g
                .members
                .iter()
                .map(title_of)
                .collect::<Vec<_>>()
                .join(", "),
            size: g.members.len(),
            rule: g.rule.replace('_', " "),
            score: format!("{:.0} %", g.score * 100.0),
        })
        .collect();
    let page = GroupsPage {
        layout: ctx.layout("Duplicates"),
        entity: entity.as_str(),
        tabs: DuplicateEntity::ALL
            .iter()
            .filter(|e| ctx.can(e.resource(), Action::Read))
            .map(|e| (format!("/duplicates/{e}"), e.as_str(), *e == entity))
            .collect(),
        groups,
        next_href: list
            .next_cursor
            .map(|c| format!("/duplicates/{entity}?cursor={c}")),
        can_scan: ctx.can(entity.resource(), Action::Update),
    };
    Ok(ctx.render(&page))
}

/// `POST /duplicates/{entity}/scan`: queue a scan.
pub async fn scan<R: Reviewed>(ctx: Ctx) -> Result<Response, WebError> {
    let entity = R::ENTITY;
    let job = queue_scan(&ctx.app, &ctx.actor, entity)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        &format!("/duplicates/{entity}"),
        format!(
            "The scan of the {entity} is queued (job {}); reload this page when it is done.",
            job.id
        ),
    ))
}

/// One field's row on the merge page.
pub struct FieldRow {
    pub name: String,
    pub label: String,
    /// Per record: its id, its value as text, and whether its radio starts checked.
    pub cells: Vec<(Uuid, String, bool)>,
    /// Whether the records differ here (only then is there a choice).
    pub differs: bool,
}

/// One record's column.
pub struct Column {
    pub id: Uuid,
    pub title: String,
    pub href: String,
    pub survivor: bool,
}

#[derive(Template)]
#[template(path = "web/duplicate_merge.html")]
struct MergePage {
    layout: Layout,
    entity: &'static str,
    action: String,
    columns: Vec<Column>,
    fields: Vec<FieldRow>,
    dismiss: Option<String>,
    back: String,
    can_merge: bool,
}

/// A JSON value as the page shows it.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| shown(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// The rows of the merge page for `records` (the first is the default survivor): every field
/// a client writes, then the custom fields any of them has.
fn field_rows<R: ApiMerge>(records: &[Value]) -> Vec<FieldRow> {
    let mut names: Vec<(String, String, Vec<Option<Value>>)> = R::field_names()
        .iter()
        .filter(|f| !R::READ_ONLY.contains(f) && **f != "custom_fields")
        .map(|f| {
            (
                (*f).to_owned(),
                f.replace('_', " "),
                records.iter().map(|r| r.get(*f).cloned()).collect(),
            )
        })
        .collect();
    let mut custom: Vec<String> = records
        .iter()
        .filter_map(|r| r.get("custom_fields").and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    custom.sort();
    custom.dedup();
    for key in custom {
        names.push((
            format!("{CUSTOM_PREFIX}{key}"),
            key.replace('_', " "),
            records
                .iter()
                .map(|r| r.get("custom_fields").and_then(|c| c.get(&key)).cloned())
                .collect(),
        ));
    }
    names
        .into_iter()
        .map(|(name, label, values)| {
            let texts: Vec<String> = values.iter().map(|v| shown(v.as_ref())).collect();
            let differs = texts.iter().any(|t| *t != texts[0]);
            // The survivor's value when it has one, else the first record's that does.
            let pick = texts.iter().position(|t| !t.is_empty()).unwrap_or(0);
            FieldRow {
                name,
                label,
                cells: records
                    .iter()
                    .zip(texts)
                    .enumerate()
                    .map(|(n, (r, text))| {
                        let id = r
                            .get("id")
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse().ok())
                            .unwrap_or_default();
                        (id, text, n == pick)
                    })
                    .collect(),
                differs,
            }
        })
        .collect()
}

fn merge_page<R: ApiMerge>(
    ctx: &Ctx,
    entity: DuplicateEntity,
    records: Vec<Value>,
    dismiss: Option<String>,
) -> MergePage {
    let columns = records
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or_default();
            Column {
                id,
                title: title_of(r),
                href: format!("{}/{id}", R::PATH),
                survivor: n == 0,
            }
        })
        .collect();
    MergePage {
        layout: ctx.layout(format!("Merge {}", entity)),
        entity: entity.as_str(),
        action: format!("/duplicates/{entity}/merge"),
        fields: field_rows::<R>(&records),
        columns,
        dismiss,
        back: format!("/duplicates/{entity}"),
        can_merge: ctx.can(entity.resource(), Action::Update)
            && ctx.can(entity.resource(), Action::Delete),
    }
}

/// The records of `ids` the caller may read, in the order given, as JSON.
async fn records_of<R: ApiMerge>(ctx: &Ctx, ids: &[Uuid]) -> Result<Vec<Value>, WebError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids.iter().take(MAX_COMPARED) {
        match record::get::<R>(
            &ctx.app.store,
            &ctx.actor,
            rivet_domain::ids::Id::from_uuid(*id),
        )
        .await
        {
            Ok(r) => out.push(serde_json::to_value(&r).unwrap_or(Value::Null)),
            Err(rivet_store::StoreError::NotFound) => {}
            Err(e) => return Err(ctx.fail(e)),
        }
    }
    Ok(out)
}

async fn render_merge(
    ctx: &Ctx,
    entity: DuplicateEntity,
    ids: &[Uuid],
    dismiss: Option<String>,
) -> Result<Response, WebError> {
    let page = match entity {
        DuplicateEntity::Leads => {
            merge_page::<Lead>(ctx, entity, records_of::<Lead>(ctx, ids).await?, dismiss)
        }
        DuplicateEntity::Contacts => {
            merge_page::<Contact>(ctx, entity, records_of::<Contact>(ctx, ids).await?, dismiss)
        }
        DuplicateEntity::Accounts => {
            merge_page::<Account>(ctx, entity, records_of::<Account>(ctx, ids).await?, dismiss)
        }
    };
    if page.columns.len() < 2 {
        return Ok(ctx.refused(
            &format!("/duplicates/{entity}"),
            "Fewer than two of these records are left to merge.",
        ));
    }
    Ok(ctx.render(&page))
}

/// `GET /duplicates/groups/{id}`: a stored group's merge page.
pub async fn group(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id: Uuid = parse_id(&id).or_page(&ctx)?;
    let group: DuplicateGroup = duplicate_groups::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let ids: Vec<Uuid> = group
        .members
        .iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .filter_map(|s| s.parse().ok())
        .collect();
    let dismiss = (group.status == GroupStatus::Open
        && ctx.can(group.entity.resource(), Action::Update))
    .then(|| format!("/duplicates/groups/{id}/dismiss"));
    render_merge(&ctx, group.entity, &ids, dismiss).await
}

/// `POST /duplicates/groups/{id}/dismiss`.
pub async fn dismiss(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id: Uuid = parse_id(&id).or_page(&ctx)?;
    let group = duplicate_groups::dismiss(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        &format!("/duplicates/{}", group.entity),
        "The group is dismissed: a scan will not bring it back.",
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CompareQuery {
    ids: String,
}

/// `GET /duplicates/{entity}/merge?ids=a,b,…`: the merge page for any records.
pub async fn compare<R: Reviewed>(
    ctx: Ctx,
    WebQuery(query): WebQuery<CompareQuery>,
) -> Result<Response, WebError> {
    let entity = R::ENTITY;
    let ids: Vec<Uuid> = query
        .ids
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    render_merge(&ctx, entity, &ids, None).await
}

/// `POST /duplicates/{entity}/merge`: `survivor_id`, `ids` (every record compared) and
/// `f.<field>` = the id whose value wins.
pub async fn merge<R: Reviewed>(
    ctx: Ctx,
    WebForm(pairs): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let entity = R::ENTITY;
    let survivor = pairs
        .iter()
        .find(|(k, _)| k == "survivor_id")
        .and_then(|(_, v)| v.parse::<Uuid>().ok());
    let ids: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let back = format!(
        "/duplicates/{entity}/merge?ids={}",
        ids.iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let Some(survivor) = survivor else {
        return Ok(ctx.refused(&back, "Choose the record that stays."));
    };
    let fields: BTreeMap<String, Uuid> = pairs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f.")?.to_owned(), v.parse().ok()?)))
        .collect();
    let body = MergeBody {
        survivor_id: survivor,
        loser_ids: ids.iter().copied().filter(|id| *id != survivor).collect(),
        fields,
    };
    let merged = merge_records::<R>(&ctx.app, &ctx.actor, &body)
        .await
        .map(|r| r.id().uuid());
    match merged {
        Ok(id) => Ok(ctx.done(
            &format!("{}/{id}", R::PATH),
            format!("Merged {} records into this one.", body.loser_ids.len()),
        )),
        Err(crate::http::error::AppError::Validation(errors)) => Ok(ctx.refused(
            &back,
            format!(
                "The merge was refused: {}",
                errors
                    .0
                    .iter()
                    .map(|e| format!("{} {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
        Err(e) => Err(ctx.fail(e)),
    }
}

/// The link of the lead page's "Possible duplicates" card: the lead and its lead duplicates.
pub fn review_href(lead: Uuid, duplicates: &[Uuid]) -> Option<String> {
    if duplicates.is_empty() {
        return None;
    }
    let ids: Vec<String> = std::iter::once(lead)
        .chain(duplicates.iter().copied())
        .take(MAX_COMPARED)
        .map(|id| id.to_string())
        .collect();
    Some(format!("/duplicates/leads/merge?ids={}", ids.join(",")))
}
