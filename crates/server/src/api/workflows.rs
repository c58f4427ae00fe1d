//! `/workflows`: workflow rules (issue 15 §5). The rules are definitions: list, create, read,
//! replace and delete come from the generic definitions API (`crate::api::definitions`); what is
//! a rule's own is here — its execution log (`GET /workflows/{id}/runs`), a dry run on one
//! record (`POST /workflows/{id}/test`) and switching it on and off
//! (`POST /workflows/{id}/enable|disable`, the same as a `PUT` with `active`).
//!
//! Reading rules and their logs needs `workflows.read`; changing them `workflows.update` (admins
//! only by default). What runs them is `rivet_store::workflows`; the jobs its message and
//! webhook actions queue are run here ([`call_webhook`], [`send_email`], [`send_whatsapp`]).

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
              owner, add a tag, call a webhook, send an e-mail template, enroll in or remove \
              from a sequence, send a WhatsApp template). Messages and webhook calls go out \
              from jobs, once each. Each run is logged at /workflows/{id}/runs.",
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

/// Who a rule's message job acts as: the system for the record's owner (its payload's
/// `owner_id`), with what rendering, sending and logging the message need.
fn message_actor(
    job: &rivet_store::jobs::Job,
) -> Result<
    (
        rivet_domain::Actor,
        rivet_domain::workflows::WorkflowRecord,
        uuid::Uuid,
    ),
    String,
> {
    use rivet_domain::ids::{CompanyId, UserId};
    let company = job
        .company_id
        .map(CompanyId::from_uuid)
        .ok_or("the job names no company")?;
    let owner = UserId::from_uuid(job.payload_id("owner_id")?);
    let kind: rivet_domain::workflows::WorkflowRecord = job.payload["record_type"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|_| "the job names no record type")?;
    let actor = rivet_domain::Actor::system(company, owner)
        .granted(crate::mail::SENDER_GRANTS)
        .via(rivet_store::workflows::VIA);
    Ok((actor, kind, job.payload_id("record_id")?))
}

fn job_key(job: &rivet_store::jobs::Job) -> Result<String, String> {
    job.payload["key"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the job names no key".to_owned())
}

/// The `workflow.email` job: a `send_email_template` action's e-mail, through the one sending
/// path (`crate::mail::send_template`, claimed under the job's key, so a job run again sends
/// nothing more). Not to be sent — no address, consent withdrawn, unsubscribed, the template
/// gone — ends the job with `sent: false` and the reason; e-mail not set up or an SMTP failure
/// fails the attempt (retried with backoff).
pub async fn send_email(
    state: &AppState,
    job: &rivet_store::jobs::Job,
) -> Result<serde_json::Value, String> {
    use crate::mail::{TemplateMail, TemplateSent};
    use rivet_store::workflows::{MailTo, mail_to_now};
    use serde_json::json;
    let (actor, kind, record_id) = message_actor(job)?;
    let template_id = parse_id(job.payload["template_id"].as_str().unwrap_or_default())
        .map_err(|_| "the job names no template")?;
    let key = job_key(job)?;
    let record_type: rivet_domain::templates::RecordType = kind
        .as_str()
        .parse()
        .map_err(|_| format!("a {kind} is not sent e-mail"))?;
    let to = match mail_to_now(&state.store, actor.company_id, kind, record_id).await {
        Ok(MailTo::To(address)) => address,
        Ok(MailTo::NotSent(reason)) => return Ok(json!({ "sent": false, "reason": reason })),
        Err(rivet_store::StoreError::NotFound) => {
            return Ok(json!({ "sent": false, "reason": format!("the {kind} is gone") }));
        }
        Err(e) => return Err(e.to_string()),
    };
    let settings = rivet_store::email::settings_of(&state.store, actor.company_id)
        .await
        .map_err(|e| e.to_string())?;
    if !settings.ready() {
        return Err(crate::mail::MailError::NotConfigured.to_string());
    }
    let mail = TemplateMail {
        actor: &actor,
        settings: &settings,
        template_id,
        record_type,
        record_id,
        to,
        key,
        also: None,
    };
    match crate::mail::send_template(state, mail)
        .await
        .map_err(|e| e.to_string())?
    {
        TemplateSent::Sent(m) => Ok(json!({ "sent": true, "email_message_id": m.id })),
        TemplateSent::Already(m) => Ok(json!({
            "sent": true,
            "email_message_id": m.id,
            "note": "already sent under this key: not sent again",
        })),
        TemplateSent::Unrenderable(reason) => Ok(json!({ "sent": false, "reason": reason })),
        TemplateSent::Failed(err) => Err(err.to_string()),
    }
}

/// The `workflow.whatsapp` job: a `send_whatsapp_template` action's message, through the
/// durable WhatsApp path (`crate::whatsapp::send_once`, claimed under the job's key). No
/// consent or no number ends the job with `sent: false` and the reason; WhatsApp not set up
/// or the Graph API refusing fails the attempt (retried with backoff).
pub async fn send_whatsapp(
    state: &AppState,
    job: &rivet_store::jobs::Job,
) -> Result<serde_json::Value, String> {
    use crate::whatsapp::{Once, send_once};
    use rivet_domain::activities::RecordType;
    use rivet_domain::workflows::WorkflowRecord;
    use serde_json::json;
    let (actor, kind, record_id) = message_actor(job)?;
    let record_type = match kind {
        WorkflowRecord::Lead => RecordType::Lead,
        WorkflowRecord::Contact => RecordType::Contact,
        other => return Err(format!("a {other} is not sent WhatsApp messages")),
    };
    let text = |key: &str| job.payload[key].as_str().unwrap_or_default().to_owned();
    let parameters: Vec<String> =
        serde_json::from_value(job.payload["parameters"].clone()).unwrap_or_default();
    let message = rivet_domain::whatsapp::Outgoing::Template {
        name: text("template"),
        language: text("language"),
        parameters,
    };
    let key = job_key(job)?;
    match send_once(state, &actor, record_type, record_id, &message, &key)
        .await
        .map_err(|e| e.to_string())?
    {
        Once::Sent(m) => Ok(json!({ "sent": true, "whatsapp_message_id": m.id })),
        Once::Already(m) => Ok(json!({
            "sent": true,
            "whatsapp_message_id": m.id,
            "note": "already sent under this key: not sent again",
        })),
        Once::Refused { detail, .. } => Ok(json!({ "sent": false, "reason": detail })),
        Once::NotConfigured(why) | Once::Failed(why) => Err(why),
    }
}
