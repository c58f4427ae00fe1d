//! `/workflows`: workflow rules (issue 15 §5). The rules are definitions: list, create, read,
//! replace and delete come from the generic definitions API (`crate::api::definitions`); what is
//! a rule's own is here — its execution log (`GET /workflows/{id}/runs`), a dry run on one
//! record (`POST /workflows/{id}/test`) and switching it on and off
//! (`POST /workflows/{id}/enable|disable`, the same as a `PUT` with `active`).
//!
//! Reading rules and their logs needs `workflows.read`; changing them `workflows.update` (admins
//! only by default). What runs them is `rivet_store::workflows`.

use crate::api::definitions::{DefinitionApi, DefinitionDecl};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::workflows::WorkflowRule;
use rivet_domain::{Action, Resource};
use rivet_store::Page;
use rivet_store::definitions::{self, Stored};
use rivet_store::workflows::{self as store, WorkflowDryRun, WorkflowRun};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

impl DefinitionApi for WorkflowRule {
    const API: DefinitionDecl = DefinitionDecl {
        path: "/workflows",
        tag: "workflows",
        noun: "workflow rule",
        doc: "A workflow rule: when its trigger fires (an event such as lead.created, optionally \
              only when given fields changed; or a schedule: no activity for N days, N days \
              before a deal's close date, a task overdue) and every condition holds on the \
              record, its actions run in order (create a task, update a field, assign the \
              owner, add a tag, call a webhook). Each run is logged at /workflows/{id}/runs.",
    };
}

const READ: Access = Access::Allow(Resource::Workflows, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Workflows, Action::Update);

pub fn routes() -> ApiRouter {
    crate::api::definitions::routes::<WorkflowRule>()
        .add(
            get("/workflows/{id}/runs", READ)
                .doc(
                    "workflows",
                    "The rule's execution log, newest first: what started each run (an event or \
                     a schedule), the record, whether each condition held, and each action with \
                     its result or error; status ok, failed or skipped (not matched, stopped: \
                     loop, the record gone)",
                )
                .query::<WorkflowRunsParams>()
                .returns_page::<WorkflowRun>(),
            runs,
        )
        .add(
            post("/workflows/{id}/test", READ)
                .doc(
                    "workflows",
                    "A dry run of the rule on one record of its type that the caller may read: \
                     which conditions hold and what each action would do. Writes nothing",
                )
                .body::<WorkflowTestBody>()
                .returns::<WorkflowDryRun>(),
            test,
        )
        .add(
            post("/workflows/{id}/enable", UPDATE)
                .doc(
                    "workflows",
                    "Switch the rule on (as a PUT with active true)",
                )
                .returns::<serde_json::Value>(),
            enable,
        )
        .add(
            post("/workflows/{id}/disable", UPDATE)
                .doc(
                    "workflows",
                    "Switch the rule off: it is kept, with its log, and runs no more",
                )
                .returns::<serde_json::Value>(),
            disable,
        )
}

/// Paging of the log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRunsParams {
    #[param(ignore)]
    pub limit: Option<u64>,
    #[param(ignore)]
    pub cursor: Option<String>,
}

/// The record a dry run looks at.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowTestBody {
    /// A record of the rule's type (a lead for a lead rule, …).
    pub record_id: uuid::Uuid,
}

async fn runs(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<WorkflowRunsParams>,
) -> Result<Json<Page<WorkflowRun>>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        store::runs(&app.store, &actor, parse_id(&id)?, page).await?,
    ))
}

async fn test(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<WorkflowTestBody>,
) -> Result<Json<WorkflowDryRun>, AppError> {
    Ok(Json(
        store::dry_run(&app.store, &actor, parse_id(&id)?, body.record_id).await?,
    ))
}

/// Switch a rule on or off through the definitions layer's audited replace.
pub async fn set_active(
    app: &AppState,
    actor: &rivet_domain::Actor,
    id: rivet_domain::ids::WorkflowRuleId,
    active: bool,
) -> Result<Stored<WorkflowRule>, AppError> {
    let stored = definitions::get::<WorkflowRule>(&app.store, actor, id).await?;
    let mut rule = stored.definition;
    rule.active = active;
    Ok(definitions::update::<WorkflowRule>(&app.store, actor, id, &rule).await?)
}

async fn enable(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let stored = set_active(&app, &actor, parse_id(&id)?, true).await?;
    Ok(Json(serde_json::json!({ "id": stored.id, "active": true })))
}

async fn disable(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let stored = set_active(&app, &actor, parse_id(&id)?, false).await?;
    Ok(Json(
        serde_json::json!({ "id": stored.id, "active": false }),
    ))
}

/// The `workflow.webhook` job: post a `call_webhook` action's payload with the webhook
/// deliveries' client (no redirects, the configured timeout, internal addresses refused unless
/// `RIVET_WEBHOOK_ALLOW_PRIVATE`). To a rule's own URL the post is unsigned; to one of the
/// company's webhooks it goes to the webhook's URL, signed with its secret like its event
/// deliveries (`X-Rivet-Signature`; `X-Rivet-Event-Id` is the job's id, the same on a retry).
/// A failed attempt is retried by the job queue's backoff; the job id names it in the rule's log.
pub async fn call_webhook(
    state: &AppState,
    job: &rivet_store::jobs::Job,
) -> Result<serde_json::Value, String> {
    use crate::dispatcher::{
        DispatchOptions, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, http_client,
    };
    // The id names a process in delivery leases, which this one call does not take.
    let options = DispatchOptions::from_config(&state.config, "workflow rule".to_owned());
    let (url, secret) = match job.payload["webhook_id"].as_str() {
        Some(webhook) => {
            let webhook = parse_id(webhook).map_err(|_| "the job names no webhook")?;
            let target = rivet_store::webhooks::targets(&state.store, &[webhook])
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|t| Some(t.company_id.uuid()) == job.company_id)
                .ok_or("the webhook is gone")?;
            (target.url, Some(target.secret))
        }
        None => (
            job.payload["url"]
                .as_str()
                .ok_or("the job names no URL")?
                .to_owned(),
            None,
        ),
    };
    let url = rivet_domain::events::parse_webhook_url(&url, options.allow_private)
        .map_err(|e| format!("refused: the URL {e}"))?;
    let client = http_client(&options).map_err(|e| e.to_string())?;
    let body = job.payload["body"].to_string();
    let mut request = client
        .post(url.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_TYPE_HEADER, "workflow.action")
        .header(EVENT_ID_HEADER, job.id.to_string());
    if let Some(secret) = secret {
        let timestamp = chrono::Utc::now().timestamp();
        request = request.header(
            SIGNATURE_HEADER,
            rivet_domain::events::signature_header(secret.as_bytes(), timestamp, body.as_bytes()),
        );
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| format!("posting to {} failed: {e}", url.as_str()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the receiver answered {status}"));
    }
    Ok(serde_json::json!({ "status": status.as_u16() }))
}
