//! Activities as a record type (list, get, create, update, delete and bulk actions are the
//! generic record layer's, [`crate::record`]), plus "linked to this record" lists and the
//! links themselves, written and read as its hooks. An activity links to 1..=20 leads, contacts, accounts or deals
//! of the company; [`for_records`] is what a record's timeline reads.
//!
//! Links to a record that is deleted are removed by triggers (migrations_activities); nothing
//! here has to be called from the record deletes.

use crate::query::{self, ListField, Seek, iden};
use crate::record::{self, Record, Write};
use crate::row::table_row;
use crate::tables::Leads;
use crate::tables::{Accounts, Contacts};
use crate::tables::{Activities, ActivityLinks};
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional};
use chrono::{DateTime, Utc};
use rivet_domain::activities::{
    ACTIVITY_FIELDS, ActivityData, ActivityField, ActivityKind, Direction, Link, RecordType,
};
use rivet_domain::ids::{ActivityId, CompanyId, UserId, kind};
use rivet_domain::query::{FieldSpec, FilterValue, ListQuery};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{Alias, Cond, DynIden, Expr, ExprTrait, Order, Query, Value};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// An activity as the API shows it, with the records it links to.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Activity {
    #[schema(value_type = uuid::Uuid)]
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub direction: Option<Direction>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub duration_seconds: Option<i64>,
    pub outcome: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub owner_id: UserId,
    pub links: Vec<Link>,
    /// The id of the message it records (an e-mail's `Message-ID`), set by the sending that
    /// recorded it; read-only.
    pub message_id: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields a client cannot write.
pub const READ_ONLY_FIELDS: &[&str] =
    &["id", "created_by", "created_at", "updated_at", "message_id"];

table_row! {
#[derive(Debug)]
/// The row as the table holds it (read by [`crate::record`]).
pub struct ActivityRow in Activities::Table {
    id: ActivityId,
    kind: String,
    direction: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    occurred_at: DateTime<Utc>,
    duration_seconds: Option<i64>,
    outcome: Option<String>,
    owner_id: UserId,
    created_by: UserId,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    message_id: Option<String>,
}
}

/// Without its links: [`Record::complete`] reads them.
impl From<ActivityRow> for Activity {
    fn from(row: ActivityRow) -> Self {
        row.into_activity(Vec::new())
    }
}

impl ActivityRow {
    fn into_activity(self, links: Vec<Link>) -> Activity {
        Activity {
            id: self.id,
            kind: self.kind.parse().unwrap_or(ActivityKind::Note),
            direction: self.direction.and_then(|d| d.parse().ok()),
            subject: self.subject,
            body: self.body,
            occurred_at: self.occurred_at,
            duration_seconds: self.duration_seconds,
            outcome: self.outcome,
            owner_id: self.owner_id,
            links,
            message_id: self.message_id,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct LinkRow {
    activity_id: ActivityId,
    record_type: String,
    record_id: Uuid,
}

impl ListField for ActivityField {
    fn specs() -> &'static [FieldSpec<Self>] {
        ACTIVITY_FIELDS
    }

    fn table() -> DynIden {
        iden(Activities::Table)
    }

    fn id_column() -> DynIden {
        iden(Activities::Id)
    }

    fn column(self) -> DynIden {
        iden(match self {
            Self::Kind => Activities::Kind,
            Self::Direction => Activities::Direction,
            Self::OwnerId => Activities::OwnerId,
            Self::OccurredAt => Activities::OccurredAt,
            Self::CreatedAt => Activities::CreatedAt,
            Self::UpdatedAt => Activities::UpdatedAt,
        })
    }

    fn sort_expr(self) -> Expr {
        let col = Expr::col((Activities::Table, self.column()));
        match self {
            Self::Direction => query::text_or_empty(col),
            _ => col,
        }
    }
}

/// An activity's value of a sort field, as its cursor records it.
fn sort_value(activity: &Activity, field: ActivityField) -> FilterValue {
    match field {
        ActivityField::Kind => FilterValue::Text(activity.kind.as_str().to_owned()),
        ActivityField::Direction => FilterValue::Text(
            activity
                .direction
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
        ),
        ActivityField::OwnerId => FilterValue::Id(activity.owner_id.uuid()),
        ActivityField::OccurredAt => FilterValue::Time(activity.occurred_at),
        ActivityField::CreatedAt => FilterValue::Time(activity.created_at),
        ActivityField::UpdatedAt => FilterValue::Time(activity.updated_at),
    }
}

impl Record for Activity {
    type Kind = kind::Activity;
    type Row = ActivityRow;
    type Field = ActivityField;
    const RESOURCE: Resource = Resource::Activities;
    const READ_ONLY: &'static [&'static str] = READ_ONLY_FIELDS;

    fn id(&self) -> ActivityId {
        self.id
    }
    fn owner(&self) -> UserId {
        self.owner_id
    }
    /// Activities have no custom fields.
    fn custom_fields(&self) -> &serde_json::Value {
        &serde_json::Value::Null
    }
    fn sort_value(&self, field: ActivityField) -> FilterValue {
        sort_value(self, field)
    }

    /// What `q=` matches, case-insensitively, as a substring.
    fn text_columns() -> Vec<DynIden> {
        vec![iden(Activities::Subject), iden(Activities::Body)]
    }

    /// Each activity with its links, in one query for the lot.
    async fn complete<C: ConnectionTrait>(
        conn: &C,
        actor: &Actor,
        mut records: Vec<Self>,
    ) -> Result<Vec<Self>> {
        let ids: Vec<ActivityId> = records.iter().map(|a| a.id).collect();
        let mut links = links_of(conn, actor.company_id, &ids).await?;
        for activity in &mut records {
            activity.links = links.remove(&activity.id).unwrap_or_default();
        }
        Ok(records)
    }
}

impl Write for Activity {
    type Data = ActivityData;

    fn data_owner(data: &ActivityData) -> Option<UserId> {
        data.owner_id
    }

    /// Every link must point at a record the caller can see; without a time it happened now.
    async fn write_columns(
        tx: &Tx,
        actor: &Actor,
        _id: ActivityId,
        data: &ActivityData,
        owner: UserId,
        before: Option<&Self>,
        at: DateTime<Utc>,
    ) -> Result<Vec<(DynIden, Value)>> {
        if before.is_none_or(|b| b.links != data.links) {
            check_links(tx, actor, &data.links).await?;
        }
        let occurred_at = data
            .occurred_at
            .unwrap_or(before.map_or(at, |b| b.occurred_at));
        Ok(data_columns(data, owner, occurred_at)
            .into_iter()
            .map(|(c, v)| (iden(c), v))
            .collect())
    }

    /// The links are replaced by the data's.
    async fn after_write(
        tx: &Tx,
        actor: &Actor,
        data: &ActivityData,
        before: Option<&Self>,
        after: &mut Self,
        _at: DateTime<Utc>,
    ) -> Result<()> {
        if before.is_none_or(|b| b.links != data.links) {
            write_links(tx, actor, after.id, &data.links).await?;
            let mut links = links_of(tx.conn(), actor.company_id, &[after.id]).await?;
            after.links = links.remove(&after.id).unwrap_or_default();
        }
        Ok(())
    }
}

/// The activities linked to one of `records` (a subquery on activity_links).
fn linked_to(company_id: CompanyId, records: &[(RecordType, Uuid)]) -> Expr {
    let any = crate::query::pointing_at(
        Expr::col((ActivityLinks::Table, ActivityLinks::RecordType)),
        || Expr::col((ActivityLinks::Table, ActivityLinks::RecordId)),
        records,
        RecordType::as_str,
        false,
    );
    Expr::col((Activities::Table, Activities::Id)).in_subquery(
        Query::select()
            .column((ActivityLinks::Table, ActivityLinks::ActivityId))
            .from(ActivityLinks::Table)
            .and_where(Expr::col((ActivityLinks::Table, ActivityLinks::CompanyId)).eq(company_id))
            .cond_where(any)
            .to_owned(),
    )
}

/// The links of each of `ids`, ordered by record type and id.
async fn links_of<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    ids: &[ActivityId],
) -> Result<HashMap<ActivityId, Vec<Link>>> {
    let mut out: HashMap<ActivityId, Vec<Link>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<LinkRow> = fetch_all(
        conn,
        Query::select()
            .columns([
                ActivityLinks::ActivityId,
                ActivityLinks::RecordType,
                ActivityLinks::RecordId,
            ])
            .from(ActivityLinks::Table)
            .and_where(Expr::col(ActivityLinks::CompanyId).eq(company_id))
            .and_where(Expr::col(ActivityLinks::ActivityId).is_in(ids.iter().copied()))
            .order_by(ActivityLinks::RecordType, Order::Asc)
            .order_by(ActivityLinks::RecordId, Order::Asc),
    )
    .await?;
    for row in rows {
        if let Ok(record_type) = row.record_type.parse::<RecordType>() {
            out.entry(row.activity_id).or_default().push(Link {
                record_type,
                record_id: row.record_id,
            });
        }
    }
    Ok(out)
}

/// One page of the activities the caller may read; with `record`, only those linked to it.
pub async fn list(
    store: &Store,
    actor: &Actor,
    list: &ListQuery<ActivityField>,
    record: Option<(RecordType, Uuid)>,
    limit: u64,
    after: Option<&Seek>,
) -> Result<Page<Activity>> {
    let narrow = match record {
        Some(record) => Cond::all().add(linked_to(actor.company_id, &[record])),
        None => Cond::all(),
    };
    record::list_where(store, actor, list, limit, after, narrow).await
}

/// The activities the caller may read that link to any of `records`, newest first (by
/// `occurred_at`, then id), starting below `before` — what a record's timeline shows.
pub async fn for_records(
    read: &crate::Read<'_>,
    actor: &Actor,
    records: &[(RecordType, Uuid)],
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Activity>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    // The page's activities …
    let mut page = Query::select();
    page.column((Activities::Table, Activities::Id))
        .from(Activities::Table)
        .and_where(Expr::col((Activities::Table, Activities::CompanyId)).eq(actor.company_id))
        .cond_where(record::scope::<Activity>(actor, Action::Read)?)
        .and_where(linked_to(actor.company_id, records));
    let at = || Expr::col((Activities::Table, Activities::OccurredAt));
    let id = || Expr::col((Activities::Table, Activities::Id));
    if let Some((time, last)) = before {
        page.cond_where(
            Cond::any()
                .add(at().lt(time))
                .add(Cond::all().add(at().eq(time)).add(id().lt(last))),
        );
    }
    page.order_by_expr(at(), Order::Desc)
        .order_by_expr(id(), Order::Desc)
        .limit(limit);
    // … read with all their links in the same query: one row per link, an activity's rows
    // together.
    let link = |column: ActivityLinks| Expr::col((ActivityLinks::Table, column));
    let mut q = Query::select();
    q.columns(ActivityRow::columns())
        .column((ActivityLinks::Table, ActivityLinks::RecordType))
        .column((ActivityLinks::Table, ActivityLinks::RecordId))
        .from(Activities::Table)
        .inner_join(
            ActivityLinks::Table,
            link(ActivityLinks::CompanyId)
                .equals((Activities::Table, Activities::CompanyId))
                .and(link(ActivityLinks::ActivityId).equals((Activities::Table, Activities::Id))),
        )
        .and_where(Expr::col((Activities::Table, Activities::CompanyId)).eq(actor.company_id))
        .and_where(id().in_subquery(page))
        .order_by_expr(at(), Order::Desc)
        .order_by_expr(id(), Order::Desc)
        .order_by_expr(link(ActivityLinks::RecordType), Order::Asc)
        .order_by_expr(link(ActivityLinks::RecordId), Order::Asc);
    let rows: Vec<LinkedRow> = fetch_all(read.conn(), &q).await?;
    let mut out: Vec<(ActivityRow, Vec<Link>)> = Vec::new();
    for row in rows {
        let link = row
            .record_type
            .parse::<RecordType>()
            .ok()
            .map(|record_type| Link {
                record_type,
                record_id: row.record_id,
            });
        match out.last_mut() {
            Some((last, links)) if last.id == row.activity.id => links.extend(link),
            _ => out.push((row.activity, link.into_iter().collect())),
        }
    }
    Ok(out
        .into_iter()
        .map(|(row, links)| row.into_activity(links))
        .collect())
}

table_row! {
/// An activity and one of its links.
struct LinkedRow {
    activity: ActivityRow,
    record_type: String,
    record_id: Uuid,
}
}

/// The table of a record type. Deals are named, not imported: their table belongs to the deals
/// area (migration m0005).
fn record_table(record_type: RecordType) -> DynIden {
    match record_type {
        RecordType::Lead => iden(Leads::Table),
        RecordType::Contact => iden(Contacts::Table),
        RecordType::Account => iden(Accounts::Table),
        RecordType::Deal => iden(Alias::new("deals")),
    }
}

#[derive(Debug, FromQueryResult)]
struct Found {
    #[allow(dead_code)]
    id: Uuid,
}

/// Whether `record_id` is a record of `record_type` in `company_id` (any owner): what a link or
/// a task's `related_id` needs.
pub(crate) async fn record_exists<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    record_type: RecordType,
    record_id: Uuid,
) -> Result<bool> {
    let table = record_table(record_type);
    let resource = record_type.resource();
    // Only a record the caller may read: linking to another rep's lead would reveal it exists.
    let scope = match crate::query::scope_condition(actor, resource, Action::Read, || {
        Expr::col((table.clone(), Alias::new("owner_id")))
    }) {
        Ok(scope) => scope,
        Err(StoreError::Forbidden) => return Ok(false),
        Err(e) => return Err(e),
    };
    let found: Option<Found> = fetch_optional(
        conn,
        Query::select()
            .expr_as(
                Expr::col((table.clone(), Alias::new("id"))),
                Alias::new("id"),
            )
            .from(table.clone())
            .and_where(Expr::col((table.clone(), Alias::new("company_id"))).eq(actor.company_id))
            .and_where(Expr::col((table, Alias::new("id"))).eq(record_id))
            .cond_where(scope)
            .limit(1),
    )
    .await?;
    Ok(found.is_some())
}

/// Every link points at a record of the company the caller may read; the first that does not is a 422 naming
/// `links[n].record_id`.
async fn check_links(tx: &Tx, actor: &Actor, links: &[Link]) -> Result<()> {
    let mut errors = FieldErrors::new();
    for (i, link) in links.iter().enumerate() {
        if !record_exists(tx.conn(), actor, link.record_type, link.record_id).await? {
            errors.add(
                &format!("links[{i}].record_id"),
                format!("is not a {} you can see", link.record_type),
            );
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

async fn write_links(tx: &Tx, actor: &Actor, id: ActivityId, links: &[Link]) -> Result<()> {
    exec(
        tx.conn(),
        Query::delete()
            .from_table(ActivityLinks::Table)
            .and_where(Expr::col(ActivityLinks::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(ActivityLinks::ActivityId).eq(id)),
    )
    .await?;
    if links.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table(ActivityLinks::Table).columns([
        ActivityLinks::CompanyId,
        ActivityLinks::ActivityId,
        ActivityLinks::RecordType,
        ActivityLinks::RecordId,
    ]);
    for link in links {
        insert
            .values([
                Expr::val(actor.company_id),
                Expr::val(id),
                Expr::val(link.record_type.as_str()),
                Expr::val(link.record_id),
            ])
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    }
    exec(tx.conn(), &insert).await?;
    Ok(())
}

fn data_columns(
    data: &ActivityData,
    owner_id: UserId,
    occurred_at: DateTime<Utc>,
) -> Vec<(Activities, sea_orm::sea_query::Value)> {
    vec![
        (Activities::Kind, data.kind.as_str().into()),
        (
            Activities::Direction,
            data.direction.map(|d| d.as_str().to_owned()).into(),
        ),
        (Activities::Subject, data.subject.clone().into()),
        (Activities::Body, data.body.clone().into()),
        (Activities::OccurredAt, occurred_at.into()),
        (Activities::DurationSeconds, data.duration_seconds.into()),
        (Activities::Outcome, data.outcome.clone().into()),
        (Activities::OwnerId, owner_id.into()),
    ]
}

/// Remove every link to one record (the triggers of migration m0006 already do this when the
/// record is deleted; this is for callers that must do it explicitly, in their transaction).
pub async fn unlink_record(
    tx: &Tx,
    company_id: CompanyId,
    record_type: RecordType,
    record_id: Uuid,
) -> Result<u64> {
    exec(
        tx.conn(),
        Query::delete()
            .from_table(ActivityLinks::Table)
            .and_where(Expr::col(ActivityLinks::CompanyId).eq(company_id))
            .and_where(Expr::col(ActivityLinks::RecordType).eq(record_type.as_str()))
            .and_where(Expr::col(ActivityLinks::RecordId).eq(record_id)),
    )
    .await
}
