//! The audit trail: one row per create/update/delete, written inside the transaction of the
//! change, with the changed fields before and after. Secrets never reach it.
//!
//! There is no update or delete here on purpose: audit rows are append-only.
//!
//! Every audited change of a record also writes its domain events here (`Tx::emit_changes`),
//! so no mutation can skip them.

use crate::page::PageRequest;
use crate::tables::AuditLog;
use crate::{Page, Result, StoreError, Tx, exec, fetch_all, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::CompanyId;
use rivet_domain::{Action, Actor, Resource};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Field names whose values are replaced by `"[redacted]"`.
const SECRET_MARKERS: &[&str] = &["password", "secret", "token", "hash"];

/// Resources whose changes alter who a caller is or what they may do (see `Tx::touches_auth`).
const AUTH_RESOURCES: &[&str] = &[
    "users",
    "roles",
    "teams",
    "api_keys",
    "settings",
    "companies",
    "system_settings",
];

/// One field's change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub before: Value,
    pub after: Value,
}

fn is_secret(field: &str) -> bool {
    let field = field.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| field.contains(m))
}

/// The changed fields between two JSON objects (`None` for a create's before or a delete's
/// after), as `{field: {before, after}}`, secrets redacted.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut out = Map::new();
    for field in fields {
        let old = b.get(field).cloned().unwrap_or(Value::Null);
        let new = a.get(field).cloned().unwrap_or(Value::Null);
        if old == new {
            continue;
        }
        let change = if is_secret(field) {
            let mark = |v: &Value| {
                if v.is_null() {
                    Value::Null
                } else {
                    Value::from("[redacted]")
                }
            };
            Change {
                before: mark(&old),
                after: mark(&new),
            }
        } else {
            Change {
                before: old,
                after: new,
            }
        };
        out.insert(
            field.clone(),
            serde_json::to_value(change).unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

/// One record's change, for [`Tx::audit_all`]: the record's JSON form before and after (`None`
/// for create and delete respectively).
pub struct Audited<'a> {
    pub resource_id: &'a str,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

/// Audit rows written per statement (10 values each).
const AUDIT_ROWS_PER_INSERT: usize = 2_000;

impl Tx {
    /// Record a change made by this transaction's actor. `before`/`after` are the record's JSON
    /// form (`None` for create/delete respectively).
    pub async fn audit(
        &self,
        resource: Resource,
        resource_id: impl ToString,
        action: Action,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<()> {
        let resource_id = resource_id.to_string();
        self.audit_all(
            resource,
            action,
            &[Audited {
                resource_id: &resource_id,
                before,
                after,
            }],
        )
        .await
    }

    /// Record the same action on several records of one resource, made by this transaction's
    /// actor: one statement for their audit rows and one for their events.
    pub async fn audit_all(
        &self,
        resource: Resource,
        action: Action,
        changes: &[Audited<'_>],
    ) -> Result<()> {
        let company_id = self
            .actor()
            .map(|a| a.company_id)
            .ok_or_else(|| StoreError::invalid("actor", "an audited change needs an actor"))?;
        self.audit_all_in(company_id, resource.as_str(), action.as_str(), changes)
            .await
    }

    /// Record a change in `company_id`; the actor is this transaction's, or the system's.
    pub async fn audit_in(
        &self,
        company_id: CompanyId,
        resource: &str,
        resource_id: impl ToString,
        action: &str,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<()> {
        let resource_id = resource_id.to_string();
        let change = Audited {
            resource_id: &resource_id,
            before,
            after,
        };
        self.audit_all_in(company_id, resource, action, &[change])
            .await
    }

    /// [`Tx::audit_all`] in `company_id`; the actor is this transaction's, or the system's (a
    /// record written by the system's own transaction — an event consumer's — names no user).
    pub(crate) async fn audit_all_in(
        &self,
        company_id: CompanyId,
        resource: &str,
        action: &str,
        changes: &[Audited<'_>],
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        if AUTH_RESOURCES.contains(&resource) {
            self.touches_auth();
        }
        let actor = self.actor().cloned();
        let diffs: Vec<Value> = changes.iter().map(|c| diff(c.before, c.after)).collect();
        let evented: Vec<crate::events::AuditedChange<'_>> = changes
            .iter()
            .zip(&diffs)
            .map(|(c, changes)| crate::events::AuditedChange {
                company_id,
                resource,
                resource_id: c.resource_id,
                action,
                before: c.before,
                after: c.after,
                changes,
            })
            .collect();
        self.emit_changes(&evented).await?;
        let at = now();
        let rows: Vec<[sea_orm::sea_query::Expr; 11]> = changes
            .iter()
            .zip(diffs)
            .map(|(c, changes)| {
                [
                    company_id.into(),
                    new_id().into(),
                    actor.as_ref().map(|a| a.user_id).into(),
                    actor.as_ref().and_then(|a| a.api_key_id).into(),
                    resource.into(),
                    c.resource_id.into(),
                    action.into(),
                    changes.into(),
                    actor.as_ref().and_then(|a| a.request_id.clone()).into(),
                    actor.as_ref().and_then(|a| a.via).into(),
                    at.into(),
                ]
            })
            .collect();
        for chunk in rows.chunks(AUDIT_ROWS_PER_INSERT) {
            let mut stmt = Query::insert();
            stmt.into_table(AuditLog::Table).columns([
                AuditLog::CompanyId,
                AuditLog::Id,
                AuditLog::ActorUserId,
                AuditLog::ActorApiKeyId,
                AuditLog::Resource,
                AuditLog::ResourceId,
                AuditLog::Action,
                AuditLog::Changes,
                AuditLog::RequestId,
                AuditLog::ActorVia,
                AuditLog::CreatedAt,
            ]);
            for row in chunk {
                stmt.values_panic(row.clone());
            }
            exec(self.conn(), &stmt).await?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    pub resource: String,
    pub resource_id: String,
    pub action: String,
    pub changes: Value,
    pub request_id: Option<String>,
    /// The automated process that made the change for `actor_user_id` (e.g. `automatic
    /// conversion`); empty when the user made it.
    pub actor_via: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub resource: Option<String>,
    pub resource_id: Option<String>,
    pub actor_user_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The company's audit rows matching `filter`, newest first.
pub async fn list(
    store: &crate::Store,
    actor: &Actor,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>> {
    let r = store.read(actor).await?;
    let mut q = Query::select();
    q.columns([
        AuditLog::Id,
        AuditLog::ActorUserId,
        AuditLog::ActorApiKeyId,
        AuditLog::Resource,
        AuditLog::ResourceId,
        AuditLog::Action,
        AuditLog::Changes,
        AuditLog::RequestId,
        AuditLog::ActorVia,
        AuditLog::CreatedAt,
    ])
    .from(AuditLog::Table)
    .and_where(Expr::col(AuditLog::CompanyId).eq(actor.company_id));
    if let Some(r) = &filter.resource {
        q.and_where(Expr::col(AuditLog::Resource).eq(r.as_str()));
    }
    if let Some(id) = &filter.resource_id {
        q.and_where(Expr::col(AuditLog::ResourceId).eq(id.as_str()));
    }
    if let Some(user) = filter.actor_user_id {
        q.and_where(Expr::col(AuditLog::ActorUserId).eq(user));
    }
    if let Some(action) = &filter.action {
        q.and_where(Expr::col(AuditLog::Action).eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        q.and_where(Expr::col(AuditLog::CreatedAt).gte(from));
    }
    if let Some(to) = filter.to {
        q.and_where(Expr::col(AuditLog::CreatedAt).lt(to));
    }
    if let Some(after) = page.after {
        q.and_where(Expr::col(AuditLog::Id).lt(after));
    }
    q.order_by(AuditLog::Id, Order::Desc).limit(page.limit + 1);
    let rows: Vec<AuditEntry> = fetch_all(r.conn(), &q).await?;
    Ok(Page::from_rows(rows, page, |e| e.id))
}
