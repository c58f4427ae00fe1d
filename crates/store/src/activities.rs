//! Activities: list (typed filters, sort, keyset cursor, and "linked to this record"), read,
//! create, update and delete (one at a time, or the owner and deletes in bulk, all or nothing),
//! filtered by the caller's company and their scope on activities (the owner), every change
//! audited in its transaction. An activity links to 1..=20 leads, contacts, accounts or deals
//! of the company; [`for_records`] is what a record's timeline reads.
//!
//! Links to a record that is deleted are removed by triggers (migrations_activities); nothing
//! here has to be called from the record deletes.

use crate::migrations_activities::{Activities, ActivityLinks};
use crate::migrations_records::{Accounts, Contacts};
use crate::query::{
    self, ListField, Seek, check_owner, escape_like, iden, scope_condition, unique_ids,
};
use crate::row::table_row;
use crate::schema::Leads;
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::activities::{
    ACTIVITY_FIELDS, ActivityData, ActivityField, ActivityKind, Direction, Link, RecordType,
};
use rivet_domain::query::{FieldSpec, FilterValue, ListQuery, SortKey};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{
    Alias, Cond, DynIden, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Map;
use std::collections::HashMap;
use uuid::Uuid;

/// An activity as the API shows it, with the records it links to.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: Uuid,
    pub kind: ActivityKind,
    pub direction: Option<Direction>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub duration_seconds: Option<i64>,
    pub outcome: Option<String>,
    pub owner_id: Uuid,
    pub links: Vec<Link>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields a client cannot write.
pub const READ_ONLY_FIELDS: &[&str] = &["id", "created_by", "created_at", "updated_at"];

impl Activity {
    /// The record as a client would write it (for merging a patch).
    pub fn as_input(&self) -> Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => Map::new(),
        };
        for field in READ_ONLY_FIELDS {
            map.remove(*field);
        }
        map
    }

    fn audit_json(&self) -> serde_json::Value {
        let mut map = self.as_input();
        map.insert("id".into(), serde_json::json!(self.id));
        serde_json::Value::Object(map)
    }
}

table_row! {
#[derive(Debug)]
struct ActivityRow in Activities::Table {
    id: Uuid,
    kind: String,
    direction: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    occurred_at: DateTime<Utc>,
    duration_seconds: Option<i64>,
    outcome: Option<String>,
    owner_id: Uuid,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
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
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct LinkRow {
    activity_id: Uuid,
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
        ActivityField::OwnerId => FilterValue::Id(activity.owner_id),
        ActivityField::OccurredAt => FilterValue::Time(activity.occurred_at),
        ActivityField::CreatedAt => FilterValue::Time(activity.created_at),
        ActivityField::UpdatedAt => FilterValue::Time(activity.updated_at),
    }
}

fn select_activities(company_id: Uuid) -> SelectStatement {
    Query::select()
        .columns(ActivityRow::columns())
        .from(Activities::Table)
        .and_where(Expr::col((Activities::Table, Activities::CompanyId)).eq(company_id))
        .to_owned()
}

fn scope(actor: &Actor, action: Action) -> Result<Cond> {
    scope_condition(actor, Resource::Activities, action, || {
        Expr::col((Activities::Table, Activities::OwnerId))
    })
}

/// The activities linked to one of `records` (a subquery on activity_links).
fn linked_to(company_id: Uuid, records: &[(RecordType, Uuid)]) -> Expr {
    let mut any = Cond::any();
    for (record_type, record_id) in records {
        any = any.add(
            Cond::all()
                .add(
                    Expr::col((ActivityLinks::Table, ActivityLinks::RecordType))
                        .eq(record_type.as_str()),
                )
                .add(Expr::col((ActivityLinks::Table, ActivityLinks::RecordId)).eq(*record_id)),
        );
    }
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
    company_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Link>>> {
    let mut out: HashMap<Uuid, Vec<Link>> = HashMap::new();
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

async fn with_links<C: ConnectionTrait>(
    conn: &C,
    company_id: Uuid,
    rows: Vec<ActivityRow>,
) -> Result<Vec<Activity>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut links = links_of(conn, company_id, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let l = links.remove(&r.id).unwrap_or_default();
            r.into_activity(l)
        })
        .collect())
}

/// Read a cursor made by [`list`] under the same sort.
pub fn decode_cursor(sort: &[SortKey<ActivityField>], text: &str) -> Option<Seek> {
    query::decode_cursor(sort, text)
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
    let r = store.read(actor).await?;
    let mut q = select_activities(actor.company_id);
    q.cond_where(scope(actor, Action::Read)?);
    q.cond_where(query::filter_condition(&list.filters, store.backend()));
    if let Some(record) = record {
        q.and_where(linked_to(actor.company_id, &[record]));
    }
    if let Some(text) = &list.q {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |col: Activities| {
            Expr::expr(Func::lower(Expr::col((Activities::Table, col))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        q.cond_where(
            Cond::any()
                .add(like(Activities::Subject))
                .add(like(Activities::Body)),
        );
    }
    query::order_and_seek(&mut q, &list.sort, after, limit);
    let rows: Vec<ActivityRow> = fetch_all(r.conn(), &q).await?;
    let activities = with_links(r.conn(), actor.company_id, rows).await?;
    Ok(query::page_of(activities, limit, &list.sort, |a| Seek {
        values: list.sort.iter().map(|k| sort_value(a, k.field)).collect(),
        id: a.id,
    }))
}

/// The activities the caller may read that link to any of `records`, newest first (by
/// `occurred_at`, then id), starting below `before` — what a record's timeline shows.
pub async fn for_records(
    store: &Store,
    actor: &Actor,
    records: &[(RecordType, Uuid)],
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Activity>> {
    let r = store.read(actor).await?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    // The page's activities …
    let mut page = Query::select();
    page.column((Activities::Table, Activities::Id))
        .from(Activities::Table)
        .and_where(Expr::col((Activities::Table, Activities::CompanyId)).eq(actor.company_id))
        .cond_where(scope(actor, Action::Read)?)
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
    let rows: Vec<LinkedRow> = fetch_all(r.conn(), &q).await?;
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

async fn get_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Activity> {
    let mut q = select_activities(actor.company_id);
    q.cond_where(scope(actor, action)?)
        .and_where(Expr::col((Activities::Table, Activities::Id)).eq(id));
    let row: Option<ActivityRow> = fetch_optional(conn, &q).await?;
    let row = row.ok_or(StoreError::NotFound)?;
    let mut activities = with_links(conn, actor.company_id, vec![row]).await?;
    activities.pop().ok_or(StoreError::NotFound)
}

/// One activity the caller may read; another company's, or one outside their scope, is not
/// found.
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Activity> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor, Action::Read, id).await
}

async fn fetch_unscoped<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<Activity> {
    let mut q = select_activities(actor.company_id);
    q.and_where(Expr::col((Activities::Table, Activities::Id)).eq(id));
    let row: Option<ActivityRow> = fetch_optional(conn, &q).await?;
    let row = row.ok_or(StoreError::NotFound)?;
    let mut activities = with_links(conn, actor.company_id, vec![row]).await?;
    activities.pop().ok_or(StoreError::NotFound)
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

async fn write_links(tx: &Tx, actor: &Actor, id: Uuid, links: &[Link]) -> Result<()> {
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
    owner_id: Uuid,
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

/// Create an activity with its links; without an owner the caller owns it, without a time it
/// happened now.
pub async fn create(store: &Store, actor: &Actor, data: &ActivityData) -> Result<Activity> {
    let tx = store.write(actor).await?;
    let owner_id = data.owner_id.unwrap_or(actor.user_id);
    check_owner(
        tx.conn(),
        actor,
        Resource::Activities,
        Action::Create,
        owner_id,
    )
    .await?;
    check_links(&tx, actor, &data.links).await?;
    let id = new_id();
    let at = now();
    let mut cols = vec![
        (Activities::CompanyId, actor.company_id.into()),
        (Activities::Id, id.into()),
        (Activities::CreatedBy, actor.user_id.into()),
        (Activities::CreatedAt, at.into()),
        (Activities::UpdatedAt, at.into()),
    ];
    cols.extend(data_columns(data, owner_id, data.occurred_at.unwrap_or(at)));
    let (names, values): (Vec<Activities>, Vec<sea_orm::sea_query::Value>) =
        cols.into_iter().unzip();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Activities::Table)
            .columns(names)
            .values(values.into_iter().map(Expr::val))
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?,
    )
    .await?;
    write_links(&tx, actor, id, &data.links).await?;
    let activity = fetch_unscoped(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Activities,
        id,
        Action::Create,
        None,
        Some(&activity.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(activity)
}

/// Change an activity: `apply` turns the current activity into its new data (a patch merged and
/// validated), inside the transaction. The links are replaced by the new data's.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    apply: impl FnOnce(&Activity) -> std::result::Result<ActivityData, FieldErrors>,
) -> Result<Activity> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Update, id).await?;
    let data = apply(&before).map_err(StoreError::Invalid)?;
    let Some(owner_id) = data.owner_id else {
        return Err(StoreError::invalid("owner_id", "must not be empty"));
    };
    if owner_id != before.owner_id {
        check_owner(
            tx.conn(),
            actor,
            Resource::Activities,
            Action::Update,
            owner_id,
        )
        .await?;
    }
    if data.links != before.links {
        check_links(&tx, actor, &data.links).await?;
        write_links(&tx, actor, id, &data.links).await?;
    }
    let after = update_in(&tx, actor, &before, &data, owner_id).await?;
    tx.commit().await?;
    Ok(after)
}

/// Write a checked change of one activity's row (its links are the caller's) and its audit row.
async fn update_in(
    tx: &Tx,
    actor: &Actor,
    before: &Activity,
    data: &ActivityData,
    owner_id: Uuid,
) -> Result<Activity> {
    let mut cols = data_columns(
        data,
        owner_id,
        data.occurred_at.unwrap_or(before.occurred_at),
    );
    cols.push((Activities::UpdatedAt, now().into()));
    exec(
        tx.conn(),
        Query::update()
            .table(Activities::Table)
            .values(cols.into_iter().map(|(c, v)| (c, Expr::val(v))))
            .and_where(Expr::col(Activities::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Activities::Id).eq(before.id)),
    )
    .await?;
    let after = fetch_unscoped(tx.conn(), actor, before.id).await?;
    tx.audit(
        Resource::Activities,
        before.id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    Ok(after)
}

/// Delete an activity; its links go with it.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Delete, id).await?;
    delete_in(&tx, actor, &before).await?;
    tx.commit().await?;
    Ok(())
}

/// Delete one activity (its links go with it through their foreign key) and write its audit
/// row.
async fn delete_in(tx: &Tx, actor: &Actor, before: &Activity) -> Result<()> {
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Activities::Table)
            .and_where(Expr::col(Activities::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Activities::Id).eq(before.id)),
    )
    .await?;
    tx.audit(
        Resource::Activities,
        before.id,
        Action::Delete,
        Some(&before.audit_json()),
        None,
    )
    .await
}

/// What a bulk update sets on every selected activity; at least one field is `Some`.
#[derive(Debug, Clone, Default)]
pub struct BulkSet {
    pub owner_id: Option<Uuid>,
}

/// Every activity of `ids` (distinct) within the caller's scope for `action`, with its links;
/// one missing (unknown, another company's or out of scope) and none is.
async fn all_in_scope(
    tx: &Tx,
    actor: &Actor,
    action: Action,
    ids: &[Uuid],
) -> Result<Vec<Activity>> {
    let mut q = select_activities(actor.company_id);
    q.cond_where(scope(actor, action)?)
        .and_where(Expr::col((Activities::Table, Activities::Id)).is_in(ids.iter().copied()));
    let rows: Vec<ActivityRow> = fetch_all(tx.conn(), &q).await?;
    if rows.len() != ids.len() {
        return Err(StoreError::NotFound);
    }
    with_links(tx.conn(), actor.company_id, rows).await
}

/// The data of an activity as it is, for a change that keeps everything else.
fn data_of(activity: &Activity) -> ActivityData {
    ActivityData {
        kind: activity.kind,
        direction: activity.direction,
        subject: activity.subject.clone(),
        body: activity.body.clone(),
        occurred_at: Some(activity.occurred_at),
        duration_seconds: activity.duration_seconds,
        outcome: activity.outcome.clone(),
        owner_id: Some(activity.owner_id),
        links: activity.links.clone(),
    }
}

/// Set the owner on every activity of `ids`, all or nothing; each is written as one update
/// would be (links kept), one audit row each. The new owner is checked as an update checks it,
/// named `set.owner_id`.
pub async fn bulk_update(
    store: &Store,
    actor: &Actor,
    ids: &[Uuid],
    set: &BulkSet,
) -> Result<Vec<Activity>> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Update, &ids).await?;
    if let Some(owner) = set.owner_id
        && before.iter().any(|a| a.owner_id != owner)
    {
        match check_owner(
            tx.conn(),
            actor,
            Resource::Activities,
            Action::Update,
            owner,
        )
        .await
        {
            Err(StoreError::Invalid(_)) => {
                return Err(StoreError::invalid(
                    "set.owner_id",
                    "is not an active member of this company",
                ));
            }
            other => other?,
        }
    }
    let mut after_all = Vec::with_capacity(before.len());
    for activity in &before {
        let data = data_of(activity);
        let owner_id = set.owner_id.unwrap_or(activity.owner_id);
        after_all.push(update_in(&tx, actor, activity, &data, owner_id).await?);
    }
    tx.commit().await?;
    Ok(after_all)
}

/// Delete every activity of `ids` with their links, all or nothing; one audit row each.
/// Returns how many.
pub async fn bulk_delete(store: &Store, actor: &Actor, ids: &[Uuid]) -> Result<u64> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Delete, &ids).await?;
    for activity in &before {
        delete_in(&tx, actor, activity).await?;
    }
    tx.commit().await?;
    Ok(before.len() as u64)
}

/// Remove every link to one record (the triggers of migration m0006 already do this when the
/// record is deleted; this is for callers that must do it explicitly, in their transaction).
pub async fn unlink_record(
    tx: &Tx,
    company_id: Uuid,
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
