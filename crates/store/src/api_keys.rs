//! API keys for integrations: bound to a company and a role, shown once, stored as a hash.
//! A key acts as the member who created it (its "own" rows), with the key's role; it stops
//! working when revoked or when that member is deactivated.

use crate::sessions::{hash_token, random_token};
use crate::tables::{ApiKeys, Roles};
use crate::{Result, Store, StoreError, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{ApiKeyId, CompanyId, Id, RoleId, UserId};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};

/// The visible prefix of every key, so secret scanners and people recognise one.
pub const KEY_PREFIX: &str = "rvk_";

#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct ApiKey {
    #[schema(value_type = uuid::Uuid)]
    pub id: ApiKeyId,
    pub name: String,
    /// The first characters of the key, to tell keys apart; not enough to use it.
    pub prefix: String,
    #[schema(value_type = uuid::Uuid)]
    pub role_id: RoleId,
    pub role_name: String,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    fn audit_json(&self) -> Value {
        json!({"name": self.name, "prefix": self.prefix, "role_id": self.role_id, "revoked_at": self.revoked_at})
    }
}

fn select(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .column((ApiKeys::Table, ApiKeys::Id))
        .column((ApiKeys::Table, ApiKeys::Name))
        .column((ApiKeys::Table, ApiKeys::Prefix))
        .column((ApiKeys::Table, ApiKeys::RoleId))
        .expr_as(Expr::col((Roles::Table, Roles::Name)), "role_name")
        .column((ApiKeys::Table, ApiKeys::CreatedBy))
        .column((ApiKeys::Table, ApiKeys::CreatedAt))
        .column((ApiKeys::Table, ApiKeys::LastUsedAt))
        .column((ApiKeys::Table, ApiKeys::RevokedAt))
        .from(ApiKeys::Table)
        .join(
            JoinType::InnerJoin,
            Roles::Table,
            Expr::col((Roles::Table, Roles::CompanyId))
                .equals((ApiKeys::Table, ApiKeys::CompanyId))
                .and(
                    Expr::col((Roles::Table, Roles::Id)).equals((ApiKeys::Table, ApiKeys::RoleId)),
                ),
        )
        .and_where(Expr::col((ApiKeys::Table, ApiKeys::CompanyId)).eq(company_id))
        .to_owned()
}

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<ApiKey>> {
    let r = store.read(actor).await?;
    fetch_all(
        r.conn(),
        select(actor.company_id).order_by((ApiKeys::Table, ApiKeys::Id), Order::Desc),
    )
    .await
}

async fn get_in<C: ConnectionTrait>(conn: &C, actor: &Actor, id: ApiKeyId) -> Result<ApiKey> {
    fetch_optional(
        conn,
        select(actor.company_id).and_where(Expr::col((ApiKeys::Table, ApiKeys::Id)).eq(id)),
    )
    .await?
    .ok_or(StoreError::NotFound)
}

pub async fn get(store: &Store, actor: &Actor, id: ApiKeyId) -> Result<ApiKey> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor, id).await
}

/// Create a key; the returned secret is never shown again.
pub async fn create(
    store: &Store,
    actor: &Actor,
    name: &str,
    role_id: RoleId,
) -> Result<(ApiKey, String)> {
    let secret = format!("{KEY_PREFIX}{}", random_token());
    let prefix: String = secret.chars().take(KEY_PREFIX.len() + 6).collect();
    let id = Id::new();
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(ApiKeys::Table)
            .columns([
                ApiKeys::CompanyId,
                ApiKeys::Id,
                ApiKeys::Name,
                ApiKeys::Prefix,
                ApiKeys::SecretHash,
                ApiKeys::RoleId,
                ApiKeys::CreatedBy,
                ApiKeys::CreatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                id.into(),
                name.into(),
                prefix.into(),
                hash_token(&secret).into(),
                role_id.into(),
                actor.user_id.into(),
                now().into(),
            ]),
    )
    .await?;
    let key = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::ApiKeys,
        id,
        Action::Create,
        None,
        Some(&key.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok((key, secret))
}

/// Revoke a key (it stays listed, marked revoked, for the audit trail).
pub async fn revoke(store: &Store, actor: &Actor, id: ApiKeyId) -> Result<ApiKey> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    if before.revoked_at.is_none() {
        exec(
            tx.conn(),
            Query::update()
                .table(ApiKeys::Table)
                .value(ApiKeys::RevokedAt, now())
                .and_where(Expr::col(ApiKeys::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(ApiKeys::Id).eq(id)),
        )
        .await?;
    }
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::ApiKeys,
        id,
        Action::Delete,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[derive(Debug, FromQueryResult)]
struct KeyAuthRow {
    company_id: CompanyId,
    id: ApiKeyId,
    role_id: RoleId,
    created_by: UserId,
}

/// The caller behind a presented key, if the key is live and its creator still an active member.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<Actor>> {
    let row: Option<KeyAuthRow> = fetch_optional(
        store.system(),
        Query::select()
            .columns([
                ApiKeys::CompanyId,
                ApiKeys::Id,
                ApiKeys::RoleId,
                ApiKeys::CreatedBy,
            ])
            .from(ApiKeys::Table)
            .and_where(Expr::col(ApiKeys::SecretHash).eq(hash_token(secret)))
            .and_where(Expr::col(ApiKeys::RevokedAt).is_null()),
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let actor = crate::sessions::load_actor(
        store,
        row.company_id,
        row.created_by,
        None,
        Some(row.role_id),
    )
    .await?;
    Ok(actor.map(|mut a| {
        a.api_key_id = Some(row.id);
        // A key administers nothing installation-wide, whoever created it.
        a.is_system_admin = false;
        a
    }))
}

/// Note a key's use, at most about once a minute per key to keep reads cheap.
pub async fn touch(store: &Store, company_id: CompanyId, id: ApiKeyId) -> Result<()> {
    let tx = store.write_system().await?;
    exec(
        tx.conn(),
        Query::update()
            .table(ApiKeys::Table)
            .value(ApiKeys::LastUsedAt, now())
            .and_where(Expr::col(ApiKeys::CompanyId).eq(company_id))
            .and_where(Expr::col(ApiKeys::Id).eq(id))
            .cond_where(
                sea_orm::sea_query::Cond::any()
                    .add(Expr::col(ApiKeys::LastUsedAt).is_null())
                    .add(Expr::col(ApiKeys::LastUsedAt).lt(now() - chrono::Duration::minutes(1))),
            ),
    )
    .await?;
    tx.commit().await
}
