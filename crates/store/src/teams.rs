//! Teams: a named group of members with an optional manager. "Team" scope covers the rows owned
//! by members of the caller's own team and of every team they manage.

use crate::tables::{Memberships, Teams};
use crate::{Result, Store, StoreError, exec, fetch_all, fetch_count, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, Id, TeamId, UserId};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct Team {
    #[schema(value_type = uuid::Uuid)]
    pub id: TeamId,
    pub name: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub manager_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Team {
    fn audit_json(&self) -> Value {
        json!({"name": self.name, "manager_id": self.manager_id})
    }
}

fn select(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            Teams::Id,
            Teams::Name,
            Teams::ManagerId,
            Teams::CreatedAt,
            Teams::UpdatedAt,
        ])
        .from(Teams::Table)
        .and_where(Expr::col(Teams::CompanyId).eq(company_id))
        .to_owned()
}

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Team>> {
    let r = store.read(actor).await?;
    fetch_all(
        r.conn(),
        select(actor.company_id).order_by(Teams::Name, Order::Asc),
    )
    .await
}

async fn get_in<C: ConnectionTrait>(conn: &C, actor: &Actor, id: TeamId) -> Result<Team> {
    fetch_optional(
        conn,
        select(actor.company_id).and_where(Expr::col(Teams::Id).eq(id)),
    )
    .await?
    .ok_or(StoreError::NotFound)
}

pub async fn get(store: &Store, actor: &Actor, id: TeamId) -> Result<Team> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor, id).await
}

/// A manager must be an active member of the company.
async fn check_manager<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    manager: Option<UserId>,
) -> Result<()> {
    let Some(manager) = manager else {
        return Ok(());
    };
    let found = fetch_count(
        conn,
        Query::select()
            .expr(Expr::col(Memberships::UserId).count())
            .from(Memberships::Table)
            .and_where(Expr::col(Memberships::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Memberships::UserId).eq(manager))
            .and_where(Expr::col(Memberships::Active).eq(true)),
    )
    .await?;
    if found == 0 {
        return Err(StoreError::invalid(
            "manager_id",
            "is not an active member of this company",
        ));
    }
    Ok(())
}

pub async fn create(
    store: &Store,
    actor: &Actor,
    name: &str,
    manager_id: Option<UserId>,
) -> Result<Team> {
    let tx = store.write(actor).await?;
    check_manager(tx.conn(), actor, manager_id).await?;
    let id = Id::new();
    let at = now();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Teams::Table)
            .columns([
                Teams::CompanyId,
                Teams::Id,
                Teams::Name,
                Teams::ManagerId,
                Teams::CreatedAt,
                Teams::UpdatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                id.into(),
                name.into(),
                manager_id.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    let team = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Teams,
        id,
        Action::Create,
        None,
        Some(&team.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(team)
}

/// Rename a team or change its manager (`Some(None)` removes the manager).
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: TeamId,
    name: Option<&str>,
    manager_id: Option<Option<UserId>>,
) -> Result<Team> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    if let Some(manager) = manager_id {
        check_manager(tx.conn(), actor, manager).await?;
    }
    let mut update = Query::update();
    update
        .table(Teams::Table)
        .value(Teams::UpdatedAt, now())
        .and_where(Expr::col(Teams::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Teams::Id).eq(id));
    if let Some(name) = name {
        update.value(Teams::Name, name);
    }
    if let Some(manager) = manager_id {
        update.value(Teams::ManagerId, manager);
    }
    exec(tx.conn(), &update).await?;
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Teams,
        id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete a team; its members stay, without a team.
pub async fn delete(store: &Store, actor: &Actor, id: TeamId) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(Memberships::Table)
            .value(Memberships::TeamId, Option::<Uuid>::None)
            .and_where(Expr::col(Memberships::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Memberships::TeamId).eq(id)),
    )
    .await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Teams::Table)
            .and_where(Expr::col(Teams::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Teams::Id).eq(id)),
    )
    .await?;
    tx.audit(
        Resource::Teams,
        id,
        Action::Delete,
        Some(&before.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
