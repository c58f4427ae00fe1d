//! The audit trail, read-only: `GET /audit` and the per-record history used by every area's
//! `GET /{resource}/{id}/history`. No route changes or deletes an audit row.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::State;
use chrono::{DateTime, Utc};
use rivet_domain::{Action, Actor, Resource};
use rivet_store::Page;
use rivet_store::audit::{self, AuditEntry, AuditFilter};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub resource: Option<String>,
    pub resource_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new().add(
        get("/audit", Access::Allow(Resource::Audit, Action::Read))
            .doc(
                "audit",
                "Search the audit trail (resource, resource_id, actor_id, action, from, to)",
            )
            .returns_page::<AuditEntry>(),
        list,
    )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    crate::api::system::check_range(query.from, query.to)?;
    let filter = AuditFilter {
        resource: query.resource,
        resource_id: query.resource_id,
        actor_user_id: query.actor_id,
        action: query.action,
        from: query.from,
        to: query.to,
    };
    Ok(Json(audit::list(&app.store, &actor, &filter, page).await?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// The audit rows of one record. The caller has already been shown to be able to read it.
pub async fn history(
    app: &AppState,
    actor: &Actor,
    resource: Resource,
    id: Uuid,
    query: HistoryQuery,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    let filter = AuditFilter {
        resource: Some(resource.as_str().to_owned()),
        resource_id: Some(id.to_string()),
        ..AuditFilter::default()
    };
    Ok(Json(audit::list(&app.store, actor, &filter, page).await?))
}
