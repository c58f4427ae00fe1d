//! Roles and their grants. Built-in roles cannot be renamed or deleted; their grants can be
//! edited like any other role's.

use crate::tables::{ApiKeys, Memberships, RolePermissions, Roles};
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_count, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, Id, RoleId};
use rivet_domain::{Action, Actor, PermissionSet, Resource, Scope};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, FromQueryResult)]
struct RoleRow {
    id: RoleId,
    name: String,
    description: String,
    builtin: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub resource: Resource,
    pub action: Action,
    pub scope: Scope,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Role {
    #[schema(value_type = uuid::Uuid)]
    pub id: RoleId,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<Grant>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Role {
    fn audit_json(&self) -> Value {
        json!({"name": self.name, "description": self.description})
    }
}

fn grants_json(set: &PermissionSet) -> Value {
    let map: serde_json::Map<String, Value> = set
        .grants()
        .map(|(r, a, s)| (format!("{r}.{a}"), Value::from(s.as_str())))
        .collect();
    Value::Object(map)
}

#[derive(Debug, FromQueryResult)]
struct GrantRow {
    role_id: RoleId,
    resource: String,
    action: String,
    scope: String,
}

/// The grants of roles in one company, keyed by role. Unknown names (from a newer version) are
/// skipped rather than failing the request.
async fn load_grants<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    role_ids: &[RoleId],
) -> Result<Vec<(RoleId, PermissionSet)>> {
    let rows: Vec<GrantRow> = fetch_all(
        conn,
        Query::select()
            .columns([
                RolePermissions::RoleId,
                RolePermissions::Resource,
                RolePermissions::Action,
                RolePermissions::Scope,
            ])
            .from(RolePermissions::Table)
            .and_where(Expr::col(RolePermissions::CompanyId).eq(company_id))
            .and_where(Expr::col(RolePermissions::RoleId).is_in(role_ids.iter().copied())),
    )
    .await?;
    let mut out: Vec<(RoleId, PermissionSet)> = role_ids
        .iter()
        .map(|id| (*id, PermissionSet::new()))
        .collect();
    for row in rows {
        let parsed = (
            row.resource.parse::<Resource>(),
            row.action.parse::<Action>(),
            row.scope.parse::<Scope>(),
        );
        if let (Ok(r), Ok(a), Ok(s)) = parsed
            && let Some((_, set)) = out.iter_mut().find(|(id, _)| *id == row.role_id)
        {
            set.set(r, a, s);
        }
    }
    Ok(out)
}

/// The grants of one role (used on every request to build the `Actor`).
pub async fn permissions_of<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    role_id: RoleId,
) -> Result<PermissionSet> {
    Ok(load_grants(conn, company_id, &[role_id])
        .await?
        .pop()
        .map(|(_, set)| set)
        .unwrap_or_default())
}

/// Replace every grant of a role, inside `tx`.
pub async fn write_permissions(
    tx: &Tx,
    company_id: CompanyId,
    role_id: RoleId,
    set: &PermissionSet,
) -> Result<()> {
    exec(
        tx.conn(),
        Query::delete()
            .from_table(RolePermissions::Table)
            .and_where(Expr::col(RolePermissions::CompanyId).eq(company_id))
            .and_where(Expr::col(RolePermissions::RoleId).eq(role_id)),
    )
    .await?;
    let mut insert = Query::insert();
    insert.into_table(RolePermissions::Table).columns([
        RolePermissions::CompanyId,
        RolePermissions::RoleId,
        RolePermissions::Resource,
        RolePermissions::Action,
        RolePermissions::Scope,
    ]);
    let mut any = false;
    for (r, a, s) in set.grants() {
        any = true;
        insert.values_panic([
            company_id.into(),
            role_id.into(),
            r.as_str().into(),
            a.as_str().into(),
            s.as_str().into(),
        ]);
    }
    if any {
        exec(tx.conn(), &insert).await?;
    }
    Ok(())
}

fn select_roles(company_id: CompanyId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .columns([
            Roles::Id,
            Roles::Name,
            Roles::Description,
            Roles::Builtin,
            Roles::CreatedAt,
            Roles::UpdatedAt,
        ])
        .from(Roles::Table)
        .and_where(Expr::col(Roles::CompanyId).eq(company_id))
        .to_owned()
}

async fn with_grants<C: ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    rows: Vec<RoleRow>,
) -> Result<Vec<Role>> {
    let ids: Vec<RoleId> = rows.iter().map(|r| r.id).collect();
    let mut grants = load_grants(conn, company_id, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let set = grants
                .iter_mut()
                .find(|(id, _)| *id == row.id)
                .map(|(_, s)| std::mem::take(s))
                .unwrap_or_default();
            Role {
                id: row.id,
                name: row.name,
                description: row.description,
                builtin: row.builtin,
                permissions: set
                    .grants()
                    .map(|(resource, action, scope)| Grant {
                        resource,
                        action,
                        scope,
                    })
                    .collect(),
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

/// Every role of the caller's company, built-in first, then by name.
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Role>> {
    let r = store.read(actor).await?;
    let rows: Vec<RoleRow> = fetch_all(
        r.conn(),
        select_roles(actor.company_id)
            .order_by(Roles::Builtin, Order::Desc)
            .order_by(Roles::Name, Order::Asc),
    )
    .await?;
    with_grants(r.conn(), actor.company_id, rows).await
}

pub async fn get(store: &Store, actor: &Actor, id: RoleId) -> Result<Role> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor.company_id, id).await
}

async fn get_in<C: ConnectionTrait>(conn: &C, company_id: CompanyId, id: RoleId) -> Result<Role> {
    let row: Option<RoleRow> = fetch_optional(
        conn,
        select_roles(company_id).and_where(Expr::col(Roles::Id).eq(id)),
    )
    .await?;
    let row = row.ok_or(StoreError::NotFound)?;
    with_grants(conn, company_id, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Whether `id` names a role of the caller's company.
pub async fn exists(store: &Store, actor: &Actor, id: RoleId) -> Result<bool> {
    let r = store.read(actor).await?;
    let row: Option<RoleRow> = fetch_optional(
        r.conn(),
        select_roles(actor.company_id).and_where(Expr::col(Roles::Id).eq(id)),
    )
    .await?;
    Ok(row.is_some())
}

pub async fn create(
    store: &Store,
    actor: &Actor,
    name: &str,
    description: &str,
    set: &PermissionSet,
) -> Result<Role> {
    let id = Id::new();
    let tx = store.write(actor).await?;
    crate::companies::insert_role(&tx, actor.company_id, id, name, description, false).await?;
    write_permissions(&tx, actor.company_id, id, set).await?;
    let role = get_in(tx.conn(), actor.company_id, id).await?;
    let mut after = role.audit_json();
    after["permissions"] = grants_json(set);
    tx.audit(Resource::Roles, id, Action::Create, None, Some(&after))
        .await?;
    tx.commit().await?;
    Ok(role)
}

/// Rename or re-describe a custom role (built-in roles keep their name).
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: RoleId,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Role> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor.company_id, id).await?;
    if before.builtin && name.is_some_and(|n| n != before.name) {
        return Err(StoreError::invalid(
            "name",
            "built-in roles cannot be renamed",
        ));
    }
    let mut update = Query::update();
    update
        .table(Roles::Table)
        .value(Roles::UpdatedAt, now())
        .and_where(Expr::col(Roles::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Roles::Id).eq(id));
    if let Some(name) = name {
        update.value(Roles::Name, name);
    }
    if let Some(description) = description {
        update.value(Roles::Description, description);
    }
    exec(tx.conn(), &update).await?;
    let after = get_in(tx.conn(), actor.company_id, id).await?;
    tx.audit(
        Resource::Roles,
        id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Replace a role's grants in one step, audited as one change.
pub async fn set_permissions(
    store: &Store,
    actor: &Actor,
    id: RoleId,
    set: &PermissionSet,
) -> Result<Role> {
    let tx = store.write(actor).await?;
    let before = permissions_of(tx.conn(), actor.company_id, id).await?;
    get_in(tx.conn(), actor.company_id, id).await?;
    write_permissions(&tx, actor.company_id, id, set).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(Roles::Table)
            .value(Roles::UpdatedAt, now())
            .and_where(Expr::col(Roles::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Roles::Id).eq(id)),
    )
    .await?;
    tx.audit(
        Resource::Roles,
        id,
        Action::Update,
        Some(&json!({"permissions": grants_json(&before)})),
        Some(&json!({"permissions": grants_json(set)})),
    )
    .await?;
    let role = get_in(tx.conn(), actor.company_id, id).await?;
    tx.commit().await?;
    Ok(role)
}

/// Delete a custom role that no member or API key uses.
pub async fn delete(store: &Store, actor: &Actor, id: RoleId) -> Result<()> {
    let tx = store.write(actor).await?;
    let role = get_in(tx.conn(), actor.company_id, id).await?;
    if role.builtin {
        return Err(StoreError::invalid(
            "id",
            "built-in roles cannot be deleted",
        ));
    }
    let members = fetch_count(
        tx.conn(),
        Query::select()
            .expr(Expr::col(Memberships::UserId).count())
            .from(Memberships::Table)
            .and_where(Expr::col(Memberships::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Memberships::RoleId).eq(id)),
    )
    .await?;
    let keys = fetch_count(
        tx.conn(),
        Query::select()
            .expr(Expr::col(ApiKeys::Id).count())
            .from(ApiKeys::Table)
            .and_where(Expr::col(ApiKeys::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(ApiKeys::RoleId).eq(id)),
    )
    .await?;
    if members > 0 || keys > 0 {
        return Err(StoreError::Conflict {
            field: "id".into(),
            message: format!(
                "the role is still used by {members} member(s) and {keys} API key(s); reassign them first"
            ),
        });
    }
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Roles::Table)
            .and_where(Expr::col(Roles::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Roles::Id).eq(id)),
    )
    .await?;
    tx.audit(
        Resource::Roles,
        id,
        Action::Delete,
        Some(&role.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A role's id by name in a company (for the command line, which has no `Actor`).
pub async fn find_by_name(
    store: &Store,
    company_id: CompanyId,
    name: &str,
) -> Result<Option<RoleId>> {
    let row: Option<RoleRow> = fetch_optional(
        store.system(),
        select_roles(company_id).and_where(Expr::col(Roles::Name).eq(name)),
    )
    .await?;
    Ok(row.map(|r| r.id))
}
