//! Saved views: a member's named list queries (filters and sort) of leads, accounts, contacts,
//! deals, tasks or activities, private to that member.
//!
//! Every query is filtered by the caller's company **and** user: another member's view is not
//! found, exactly like another company's. The query string is checked by the server against the
//! resource's list parser before it reaches this module; here it is stored as given. Making a
//! view the default clears the member's previous default of the same resource in the same
//! transaction (`saved_views_default_key` guards it again). Every change is audited as resource
//! `"saved_views"`.

use crate::tables::SavedViews as Views;
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{Id, ViewId};
use rivet_domain::{Actor, Resource};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};

const RESOURCE: &str = "saved_views";

/// The record lists a view can be saved for.
pub const RESOURCES: &[Resource] = &[
    Resource::Leads,
    Resource::Accounts,
    Resource::Contacts,
    Resource::Deals,
    Resource::Tasks,
    Resource::Activities,
];

/// A saved view as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SavedView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ViewId,
    /// The list it filters: leads, accounts, contacts, deals, tasks or activities.
    pub resource: Resource,
    pub name: String,
    /// The list's query string, as `GET /api/v1/<resource>` reads it
    /// (e.g. `status=new&sort=-created_at`).
    pub query: String,
    /// Applied when the member opens the list without a query.
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SavedView {
    fn audit_json(&self) -> Value {
        json!({
            "resource": self.resource,
            "name": self.name,
            "query": self.query,
            "is_default": self.is_default,
        })
    }
}

#[derive(Debug, FromQueryResult)]
struct ViewRow {
    id: ViewId,
    resource: String,
    name: String,
    query: String,
    is_default: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ViewRow> for SavedView {
    type Error = StoreError;

    fn try_from(row: ViewRow) -> Result<Self> {
        let resource = row.resource.parse().map_err(|e: String| {
            StoreError::Db(DbErr::Custom(format!("saved view {}: {e}", row.id)))
        })?;
        Ok(Self {
            id: row.id,
            resource,
            name: row.name,
            query: row.query,
            is_default: row.is_default,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The caller's own views: their company and their user, nothing else.
fn select_own(actor: &Actor) -> SelectStatement {
    Query::select()
        .columns([
            Views::Id,
            Views::Resource,
            Views::Name,
            Views::Query,
            Views::IsDefault,
            Views::CreatedAt,
            Views::UpdatedAt,
        ])
        .from(Views::Table)
        .cond_where(owned_by(actor))
        .to_owned()
}

/// The rows of the caller: their company and their user.
fn owned_by(actor: &Actor) -> Cond {
    Cond::all()
        .add(Expr::col(Views::CompanyId).eq(actor.company_id))
        .add(Expr::col(Views::UserId).eq(actor.user_id))
}

async fn load<C: ConnectionTrait>(conn: &C, actor: &Actor, id: ViewId) -> Result<SavedView> {
    let row: Option<ViewRow> = fetch_optional(
        conn,
        select_own(actor).and_where(Expr::col(Views::Id).eq(id)),
    )
    .await?;
    row.ok_or(StoreError::NotFound)
        .and_then(SavedView::try_from)
}

/// The caller's views of one list (or of every list), by list and name.
pub async fn list(
    store: &Store,
    actor: &Actor,
    resource: Option<Resource>,
) -> Result<Vec<SavedView>> {
    let r = store.read(actor).await?;
    let mut q = select_own(actor);
    if let Some(resource) = resource {
        q.and_where(Expr::col(Views::Resource).eq(resource.as_str()));
    }
    q.order_by(Views::Resource, Order::Asc)
        .order_by(Views::Name, Order::Asc)
        .order_by(Views::Id, Order::Asc);
    let rows: Vec<ViewRow> = fetch_all(r.conn(), &q).await?;
    rows.into_iter().map(SavedView::try_from).collect()
}

/// One of the caller's views; anyone else's is not found.
pub async fn get(store: &Store, actor: &Actor, id: ViewId) -> Result<SavedView> {
    let r = store.read(actor).await?;
    load(r.conn(), actor, id).await
}

/// A new view, its name and query already checked.
#[derive(Debug, Clone)]
pub struct NewView {
    pub resource: Resource,
    pub name: String,
    pub query: String,
    pub is_default: bool,
}

/// Clear the caller's default of `resource` other than `keep`, auditing the view it was.
async fn clear_default(tx: &Tx, actor: &Actor, resource: Resource, keep: ViewId) -> Result<()> {
    let rows: Vec<ViewRow> = fetch_all(
        tx.conn(),
        select_own(actor)
            .and_where(Expr::col(Views::Resource).eq(resource.as_str()))
            .and_where(Expr::col(Views::IsDefault).eq(true))
            .and_where(Expr::col(Views::Id).ne(keep)),
    )
    .await?;
    for row in rows {
        let before = SavedView::try_from(row)?;
        exec(
            tx.conn(),
            Query::update()
                .table(Views::Table)
                .values([
                    (Views::IsDefault, Expr::val(false)),
                    (Views::UpdatedAt, Expr::val(now())),
                ])
                .cond_where(owned_by(actor))
                .and_where(Expr::col(Views::Id).eq(before.id)),
        )
        .await?;
        let after = load(tx.conn(), actor, before.id).await?;
        tx.audit_in(
            actor.company_id,
            RESOURCE,
            before.id,
            "update",
            Some(&before.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
    }
    Ok(())
}

/// Save a view for the caller; a name they already use for the list is a conflict (409 naming
/// `name`).
pub async fn create(store: &Store, actor: &Actor, new: &NewView) -> Result<SavedView> {
    let tx = store.write(actor).await?;
    let id = Id::new();
    if new.is_default {
        clear_default(&tx, actor, new.resource, id).await?;
    }
    let at = now();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Views::Table)
            .columns([
                Views::CompanyId,
                Views::Id,
                Views::UserId,
                Views::Resource,
                Views::Name,
                Views::Query,
                Views::IsDefault,
                Views::CreatedAt,
                Views::UpdatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                id.into(),
                actor.user_id.into(),
                new.resource.as_str().into(),
                new.name.clone().into(),
                new.query.clone().into(),
                new.is_default.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    let created = load(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "create",
        None,
        Some(&created.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// What a change sets; `None` keeps the current value. The resource never changes.
#[derive(Debug, Clone, Default)]
pub struct ViewChanges {
    pub name: Option<String>,
    pub query: Option<String>,
    pub is_default: Option<bool>,
}

/// Change one of the caller's views.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: ViewId,
    changes: &ViewChanges,
) -> Result<SavedView> {
    let tx = store.write(actor).await?;
    let before = load(tx.conn(), actor, id).await?;
    let is_default = changes.is_default.unwrap_or(before.is_default);
    if is_default {
        clear_default(&tx, actor, before.resource, id).await?;
    }
    exec(
        tx.conn(),
        Query::update()
            .table(Views::Table)
            .values([
                (
                    Views::Name,
                    Expr::val(changes.name.clone().unwrap_or(before.name.clone())),
                ),
                (
                    Views::Query,
                    Expr::val(changes.query.clone().unwrap_or(before.query.clone())),
                ),
                (Views::IsDefault, Expr::val(is_default)),
                (Views::UpdatedAt, Expr::val(now())),
            ])
            .cond_where(owned_by(actor))
            .and_where(Expr::col(Views::Id).eq(id)),
    )
    .await?;
    let after = load(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "update",
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete one of the caller's views.
pub async fn delete(store: &Store, actor: &Actor, id: ViewId) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = load(tx.conn(), actor, id).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Views::Table)
            .cond_where(owned_by(actor))
            .and_where(Expr::col(Views::Id).eq(id)),
    )
    .await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "delete",
        Some(&before.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
