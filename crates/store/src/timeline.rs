//! One timeline per record: its activities, tasks, deal stage changes and notable audit events
//! (created, owner / status / lifecycle / amount changes, …), newest first, one keyset page at a
//! time. An account's timeline also gathers everything of its contacts and deals.
//!
//! Each source is read newest first below the cursor, `limit + 1` rows at most, and the sources
//! are merged in memory: a page costs `sources × limit` index reads, whatever the history's
//! length. Every source applies the caller's scope on its own kind (a rep who may read a lead
//! but not others' activities sees the lead's timeline without them); a kind the caller may not
//! read at all is left out rather than refused.

use crate::row::table_row;
use crate::tables::AuditLog;
use crate::tables::Contacts;
use crate::tables::PipelineStages;
use crate::tables::{DealStageHistory, Deals};
use crate::{Read, Result, fetch_all, query};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rivet_domain::activities::RecordType;
use rivet_domain::{Action, Actor, Resource, Scope};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// How many contacts and deals of an account its timeline follows.
const MAX_RELATED: u64 = 1_000;

/// Fields whose change is worth a line on a timeline (stage moves have their own entries).
const NOTABLE_FIELDS: &[&str] = &[
    "status",
    "owner_id",
    "lifecycle_stage",
    "amount",
    "currency",
    "close_date",
    "account_id",
    "parent_id",
    "forecast_category",
    "close_reason",
    "health_score",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Activity,
    Task,
    StageChange,
    Event,
}

/// One line of a timeline. `data` is the whole activity or task, the stage change, or the audit
/// row's field changes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub kind: EntryKind,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The record the entry belongs to (on an account's timeline: the account, one of its
    /// contacts or one of its deals).
    pub record_type: RecordType,
    pub record_id: Uuid,
    pub title: String,
    pub actor_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    pub data: Vec<Entry>,
    pub next_cursor: Option<String>,
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Before {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Before {
    pub fn encode(self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"at": self.at, "id": self.id}).to_string())
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        Some(Self {
            at: serde_json::from_value(value.get("at")?.clone()).ok()?,
            id: serde_json::from_value(value.get("id")?.clone()).ok()?,
        })
    }

    fn pair(self) -> (DateTime<Utc>, Uuid) {
        (self.at, self.id)
    }
}

fn can_read(actor: &Actor, resource: Resource) -> bool {
    actor.scope(resource, Action::Read) != Scope::None
}

/// `(at, id)` strictly below the cursor, newest first.
fn below(q: &mut SelectStatement, at: Expr, id: Expr, before: Option<Before>) {
    if let Some(b) = before {
        q.cond_where(
            Cond::any().add(at.clone().lt(b.at)).add(
                Cond::all()
                    .add(at.clone().eq(b.at))
                    .add(id.clone().lt(b.id)),
            ),
        );
    }
    q.order_by_expr(at, Order::Desc)
        .order_by_expr(id, Order::Desc);
}

/// The page of `record`'s timeline below `before`, every source read in `read` (on PostgreSQL
/// one bound transaction for the whole page, not one per source). The record itself must
/// already have been read by the caller (the route does that, in the same `read`, so a record
/// outside their scope is a 404).
pub async fn page(
    read: &Read<'_>,
    actor: &Actor,
    record: (RecordType, Uuid),
    before: Option<Before>,
    limit: u64,
) -> Result<TimelinePage> {
    let records = related_records(read, actor, record).await?;
    let fetch = limit + 1;
    let mut entries = Vec::new();
    if can_read(actor, Resource::Activities) {
        let activities =
            crate::activities::for_records(read, actor, &records, before.map(Before::pair), fetch)
                .await?;
        entries.extend(activities.into_iter().map(|a| activity_entry(a, &records)));
    }
    if can_read(actor, Resource::Tasks) {
        let tasks =
            crate::tasks::for_records(read, actor, &records, before.map(Before::pair), fetch)
                .await?;
        entries.extend(tasks.into_iter().map(task_entry));
    }
    let deals: Vec<Uuid> = records
        .iter()
        .filter(|(t, _)| *t == RecordType::Deal)
        .map(|(_, id)| *id)
        .collect();
    entries.extend(stage_changes(read, actor, &deals, before, fetch).await?);
    entries.extend(events(read, actor, &records, before, fetch).await?);
    entries.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if entries.len() > limit {
        entries.truncate(limit);
        entries
            .last()
            .map(|e| Before { at: e.at, id: e.id }.encode())
    } else {
        None
    };
    Ok(TimelinePage {
        data: entries,
        next_cursor,
    })
}

/// The record, and for an account the contacts and deals of it that the caller may read.
async fn related_records(
    r: &Read<'_>,
    actor: &Actor,
    record: (RecordType, Uuid),
) -> Result<Vec<(RecordType, Uuid)>> {
    let mut records = vec![record];
    let (RecordType::Account, account_id) = record else {
        return Ok(records);
    };
    #[derive(FromQueryResult)]
    struct IdRow {
        id: Uuid,
    }
    if can_read(actor, Resource::Contacts) {
        let mut q = Query::select();
        q.column((Contacts::Table, Contacts::Id))
            .from(Contacts::Table)
            .and_where(Expr::col((Contacts::Table, Contacts::CompanyId)).eq(actor.company_id))
            .and_where(Expr::col((Contacts::Table, Contacts::AccountId)).eq(account_id))
            .cond_where(query::scope_condition(
                actor,
                Resource::Contacts,
                Action::Read,
                || Expr::col((Contacts::Table, Contacts::OwnerId)),
            )?)
            .limit(MAX_RELATED);
        let rows: Vec<IdRow> = fetch_all(r.conn(), &q).await?;
        records.extend(rows.into_iter().map(|r| (RecordType::Contact, r.id)));
    }
    if can_read(actor, Resource::Deals) {
        let mut q = Query::select();
        q.column((Deals::Table, Deals::Id))
            .from(Deals::Table)
            .and_where(Expr::col((Deals::Table, Deals::CompanyId)).eq(actor.company_id))
            .and_where(Expr::col((Deals::Table, Deals::AccountId)).eq(account_id))
            .cond_where(query::scope_condition(
                actor,
                Resource::Deals,
                Action::Read,
                || Expr::col((Deals::Table, Deals::OwnerId)),
            )?)
            .limit(MAX_RELATED);
        let rows: Vec<IdRow> = fetch_all(r.conn(), &q).await?;
        records.extend(rows.into_iter().map(|r| (RecordType::Deal, r.id)));
    }
    Ok(records)
}

/// The record an activity is shown under: the first of its links that this timeline follows.
fn activity_entry(activity: crate::activities::Activity, records: &[(RecordType, Uuid)]) -> Entry {
    let (record_type, record_id) = activity
        .links
        .iter()
        .map(|l| (l.record_type, l.record_id))
        .find(|link| records.contains(link))
        .unwrap_or(records[0]);
    let title = activity
        .subject
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| capitalised(activity.kind.as_str()));
    Entry {
        kind: EntryKind::Activity,
        id: activity.id.uuid(),
        at: activity.occurred_at,
        record_type,
        record_id,
        title,
        actor_id: Some(activity.owner_id.uuid()),
        data: serde_json::to_value(&activity).unwrap_or(Value::Null),
    }
}

fn task_entry(task: crate::tasks::Task) -> Entry {
    Entry {
        kind: EntryKind::Task,
        id: task.id.uuid(),
        at: task.created_at,
        record_type: task.related_type.unwrap_or(RecordType::Lead),
        record_id: task.related_id.unwrap_or_default(),
        title: task.subject.clone(),
        actor_id: Some(task.created_by.uuid()),
        data: serde_json::to_value(&task).unwrap_or(Value::Null),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

table_row! {
/// A stage move with the names of its stages (a deleted stage has none), in the order
/// `stage_changes` selects them.
struct StageRow {
    id: Uuid,
    deal_id: Uuid,
    from_stage_id: Option<Uuid>,
    to_stage_id: Uuid,
    changed_by: Uuid,
    changed_at: DateTime<Utc>,
    from_stage: Option<String>,
    to_stage: Option<String>,
}
}

/// Stage moves of `deals` (already limited to the deals the caller may read), with their
/// stages' names in the same query.
async fn stage_changes(
    r: &Read<'_>,
    actor: &Actor,
    deals: &[Uuid],
    before: Option<Before>,
    fetch: u64,
) -> Result<Vec<Entry>> {
    if deals.is_empty() {
        return Ok(Vec::new());
    }
    use DealStageHistory as H;
    let (from, to) = ("from_stage", "to_stage");
    let joined = |alias: &'static str, stage: H| {
        Expr::col((alias, PipelineStages::Id))
            .equals((H::Table, stage))
            .and(Expr::col((alias, PipelineStages::CompanyId)).equals((H::Table, H::CompanyId)))
    };
    let mut q = Query::select();
    q.columns([
        (H::Table, H::Id),
        (H::Table, H::DealId),
        (H::Table, H::FromStageId),
        (H::Table, H::ToStageId),
        (H::Table, H::ChangedBy),
        (H::Table, H::ChangedAt),
    ])
    .column((from, PipelineStages::Name))
    .column((to, PipelineStages::Name))
    .from(H::Table)
    .join_as(
        JoinType::LeftJoin,
        PipelineStages::Table,
        from,
        joined(from, H::FromStageId),
    )
    .join_as(
        JoinType::LeftJoin,
        PipelineStages::Table,
        to,
        joined(to, H::ToStageId),
    )
    .and_where(Expr::col((H::Table, H::CompanyId)).eq(actor.company_id))
    .and_where(Expr::col((H::Table, H::DealId)).is_in(deals.iter().copied()))
    .limit(fetch);
    below(
        &mut q,
        Expr::col((H::Table, H::ChangedAt)),
        Expr::col((H::Table, H::Id)),
        before,
    );
    let rows: Vec<StageRow> = fetch_all(r.conn(), &q).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let from = row.from_stage;
            let to = row.to_stage.unwrap_or_else(|| "a deleted stage".into());
            let title = match &from {
                Some(from) => format!("Stage: {from} → {to}"),
                None => format!("Stage: {to}"),
            };
            Entry {
                kind: EntryKind::StageChange,
                id: row.id,
                at: row.changed_at,
                record_type: RecordType::Deal,
                record_id: row.deal_id,
                title,
                actor_id: Some(row.changed_by),
                data: json!({
                    "deal_id": row.deal_id,
                    "from_stage_id": row.from_stage_id,
                    "from_stage": from,
                    "to_stage_id": row.to_stage_id,
                    "to_stage": to,
                }),
            }
        })
        .collect())
}

table_row! {
struct EventRow in AuditLog::Table {
    id: Uuid,
    actor_user_id: Option<Uuid>,
    resource: String,
    resource_id: String,
    action: String,
    changes: Value,
    created_at: DateTime<Utc>,
}
}

/// A timeline line for an audit row, or `None` when the change is not notable (a typo fixed in
/// a phone number is in the record's history, not on its timeline).
fn event_entry(row: EventRow) -> Option<Entry> {
    let record_type = match row.resource.as_str() {
        "leads" => RecordType::Lead,
        "contacts" => RecordType::Contact,
        "accounts" => RecordType::Account,
        "deals" => RecordType::Deal,
        _ => return None,
    };
    let record_id = row.resource_id.parse().ok()?;
    let changes = query::json_column(row.changes);
    let noun = match record_type {
        RecordType::Lead => "Lead",
        RecordType::Contact => "Contact",
        RecordType::Account => "Account",
        RecordType::Deal => "Deal",
    };
    let title = match row.action.as_str() {
        "create" => format!("{noun} created"),
        "update" => {
            // A stage move has its own entry, which covers the category the stage brought.
            let moved = changes.get("stage_id").is_some();
            let fields: Vec<&str> = NOTABLE_FIELDS
                .iter()
                .copied()
                .filter(|f| changes.get(*f).is_some())
                .filter(|f| !(moved && *f == "forecast_category"))
                .collect();
            if fields.is_empty() {
                return None;
            }
            let described: Vec<String> = fields
                .iter()
                .map(|f| describe_change(f, &changes[*f]))
                .collect();
            described.join("; ")
        }
        _ => return None,
    };
    let notable: serde_json::Map<String, Value> = changes
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| row.action != "update" || NOTABLE_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Some(Entry {
        kind: EntryKind::Event,
        id: row.id,
        at: row.created_at,
        record_type,
        record_id,
        title,
        actor_id: row.actor_user_id,
        data: json!({"action": row.action, "changes": notable}),
    })
}

fn describe_change(field: &str, change: &Value) -> String {
    let label = capitalised(&field.replace('_', " ").replace(" id", ""));
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    };
    match field {
        "owner_id" | "account_id" | "parent_id" => format!("{label} changed"),
        _ => format!(
            "{label}: {} → {}",
            text(&change["before"]),
            text(&change["after"])
        ),
    }
}

/// Notable audit events of the records, newest first: audit rows are read in batches until
/// `fetch` notable ones are found or the history ends, so a page never skips one.
async fn events(
    r: &Read<'_>,
    actor: &Actor,
    records: &[(RecordType, Uuid)],
    before: Option<Before>,
    fetch: u64,
) -> Result<Vec<Entry>> {
    let any = crate::query::pointing_at(
        Expr::col((AuditLog::Table, AuditLog::Resource)),
        || Expr::col((AuditLog::Table, AuditLog::ResourceId)),
        records,
        |t| t.resource().as_str(),
        true,
    );
    let batch = (fetch * 4).clamp(50, 500);
    let mut found = Vec::new();
    let mut cursor = before;
    loop {
        let mut q = Query::select();
        q.columns(EventRow::columns())
            .from(AuditLog::Table)
            .and_where(Expr::col((AuditLog::Table, AuditLog::CompanyId)).eq(actor.company_id))
            .cond_where(any.clone())
            .limit(batch);
        below(
            &mut q,
            Expr::col((AuditLog::Table, AuditLog::CreatedAt)),
            Expr::col((AuditLog::Table, AuditLog::Id)),
            cursor,
        );
        let rows: Vec<EventRow> = fetch_all(r.conn(), &q).await?;
        let exhausted = (rows.len() as u64) < batch;
        cursor = rows.last().map(|r| Before {
            at: r.created_at,
            id: r.id,
        });
        found.extend(rows.into_iter().filter_map(event_entry));
        if exhausted || found.len() as u64 >= fetch || cursor.is_none() {
            break;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back() {
        let before = Before {
            at: Utc::now(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Before::decode(&before.encode()), Some(before));
        assert_eq!(Before::decode("not a cursor"), None);
    }

    #[test]
    fn a_phone_fix_is_not_notable_but_a_status_change_is() {
        let row = |changes: Value| EventRow {
            id: Uuid::now_v7(),
            actor_user_id: None,
            resource: "leads".into(),
            resource_id: Uuid::now_v7().to_string(),
            action: "update".into(),
            changes,
            created_at: Utc::now(),
        };
        assert!(event_entry(row(json!({"phone": {"before": "1", "after": "2"}}))).is_none());
        let entry = event_entry(row(
            json!({"status": {"before": "new", "after": "contacted"}}),
        ));
        assert_eq!(
            entry.map(|e| e.title),
            Some("Status: new → contacted".to_owned())
        );
    }
}
