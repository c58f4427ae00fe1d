//! `POST /ingest/leads`: leads from an integration (an API key's caller), up to
//! [`MAX_LEADS`] at a time, each through the same intake as `POST /leads` (custom fields,
//! validation, normalization, the company's duplicate rules, audit and `lead.created`), taken
//! in together in one transaction; a lead that is not valid, or that a rule blocks, is that
//! lead's result and never stops the others. An `Idempotency-Key`
//! header makes a retry safe: the same key with the same body answers the first result again
//! and creates nothing (`rivet_store::intake::claim_request`).

use crate::api::record::{ApiRecord, validate_new};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, post};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rivet_domain::leads::LeadInput;

use rivet_domain::{Action, Actor, FieldError, Resource};
use rivet_store::StoreError;
use rivet_store::duplicates::Duplicate;
use rivet_store::intake::{self, Claim, Taken};
use rivet_store::leads::Lead;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The most leads one request may carry.
pub const MAX_LEADS: usize = 1_000;
/// The largest body: a thousand leads of a few kilobytes each.
pub const MAX_BODY: usize = 8 << 20;
/// The longest idempotency key.
pub const MAX_KEY: usize = 200;

/// A batch of leads to take in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestLeads {
    /// 1 to 1,000 leads, each an object with the fields of `POST /leads` (`LeadInput`). A lead
    /// whose fields are not a valid lead is rejected on its own; an item that is not an object
    /// refuses the request (422).
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 1000)]
    pub leads: Vec<Value>,
}

/// What became of one lead.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Saved: `id` is the new lead (`duplicates` lists what the company's rules warn of).
    Created,
    /// Refused by a duplicate rule that blocks: `duplicate_of` is the surest match.
    Duplicate,
    /// Not a valid lead: `errors` says why.
    Rejected,
}

/// The result of the lead at `index` of the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestItem {
    pub index: usize,
    pub status: ItemStatus,
    #[schema(value_type = Option<uuid::Uuid>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
    #[schema(value_type = Option<uuid::Uuid>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<Duplicate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The answer: counts, then one result per lead in the request's order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestResult {
    pub created: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<IngestItem>,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new().add(
        post(
            "/ingest/leads",
            Access::Allow(Resource::Leads, Action::Create),
        )
        .doc(
            "leads",
            "Take in up to 1,000 leads from an integration (an API key's caller), each \
             through the same intake as POST /leads — custom fields, validation, \
             normalization, the company's duplicate rules, audit and a lead.created event — \
             and each on its own: a lead that is invalid or that a blocking duplicate rule \
             refuses is reported and the others are saved. Send an Idempotency-Key header \
             (up to 200 visible characters) to make retries safe: the same key with the same \
             body answers the first result again (header Idempotent-Replayed: true) and \
             creates nothing; the same key with another body is a 422; while the first \
             request runs, a retry gets 409",
        )
        .body::<IngestLeads>()
        .returns::<IngestResult>()
        .body_limit(MAX_BODY),
        ingest,
    )
}

/// The idempotency key of the request, checked.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map(str::trim)
        .map_err(|_| AppError::field("Idempotency-Key", "must be visible ASCII characters"))?;
    if key.is_empty() || key.len() > MAX_KEY || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::field(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY} visible ASCII characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

async fn ingest(
    State(app): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Json(body): Json<IngestLeads>,
) -> Result<Response, AppError> {
    if body.leads.is_empty() || body.leads.len() > MAX_LEADS {
        return Err(AppError::field(
            "leads",
            format!("must hold 1 to {MAX_LEADS} leads"),
        ));
    }
    if let Some(i) = body.leads.iter().position(|l| !l.is_object()) {
        return Err(AppError::field(
            &format!("leads[{i}]"),
            "must be an object with the fields of a lead",
        ));
    }
    let Some(key) = idempotency_key(&headers)? else {
        let text = take_in(&app, &actor, body.leads, None).await?;
        return Ok(json_response(text));
    };
    let hash = body_hash(&body.leads);
    match intake::claim_request(&app.store, &actor, &key, &hash).await? {
        Claim::New => {}
        Claim::Replay(stored) => {
            let mut response = (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                stored,
            )
                .into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(response);
        }
        Claim::Running => {
            return Err(AppError::Conflict {
                field: "Idempotency-Key".into(),
                message: "names a request that is still running; retry in a moment".into(),
            });
        }
        Claim::OtherBody => {
            return Err(AppError::field(
                "Idempotency-Key",
                "was used before with another body; use a new key for a new request",
            ));
        }
    }
    match take_in(&app, &actor, body.leads, Some(&key)).await {
        Ok(text) => Ok(json_response(text)),
        Err(err) => {
            // The batch stopped on a server error and saved nothing (its leads and its answer
            // go in one transaction): a retry with the key runs it again.
            if let Err(e) = intake::release_request(&app.store, &actor, &key).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            Err(err)
        }
    }
}

/// What an `Idempotency-Key` is claimed with: the SHA-256 of the request's leads as JSON.
pub fn body_hash(leads: &[Value]) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(leads).unwrap_or_default(),
    ))
}

fn json_response(text: String) -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

/// The request's leads through the intake together, in one transaction: each read and
/// validated as `POST /leads` validates (a lead that is not valid is rejected on its own), then
/// the valid ones taken in as one batch (`rivet_store::intake::take_in`: one duplicate probe,
/// the leads of the request screened against each other in order, one assignment plan, one
/// insert each of rows, audit rows and events). A server error saves nothing of the request;
/// anything a client sent wrong is that lead's result. The answer (an [`IngestResult`] as
/// JSON) is kept for the claimed `key`'s retries in the same transaction.
async fn take_in(
    app: &AppState,
    actor: &Actor,
    leads: Vec<Value>,
    key: Option<&str>,
) -> Result<String, AppError> {
    let mut items: Vec<IngestItem> = Vec::with_capacity(leads.len());
    // The valid leads, with the index of their item.
    let mut valid = Vec::new();
    let mut data = Vec::new();
    for (index, lead) in leads.into_iter().enumerate() {
        let mut item = IngestItem {
            index,
            status: ItemStatus::Rejected,
            id: None,
            duplicate_of: None,
            duplicates: Vec::new(),
            errors: Vec::new(),
        };
        let checked = match serde_json::from_value::<LeadInput>(lead) {
            Err(e) => Err(vec![FieldError {
                field: "lead".into(),
                message: e.to_string(),
            }]),
            Ok(input) => match validate_new::<Lead>(app, actor, input).await {
                Ok(d) => Ok(d),
                Err(AppError::Validation(errors)) => Err(errors.0),
                Err(other) => return Err(other),
            },
        };
        match checked {
            Ok(d) => {
                valid.push(items.len());
                data.push(d);
            }
            Err(errors) => item.errors = errors,
        }
        items.push(item);
    }
    let tx = app.store.write(actor).await?;
    if !data.is_empty() {
        let taken = Lead::take_in_tx(&tx, actor, data, |_| false).await?;
        for (i, taken) in valid.into_iter().zip(taken) {
            let item = &mut items[i];
            match taken {
                Taken::Created(intake) => {
                    item.status = ItemStatus::Created;
                    item.id = Some(intake.record.id.uuid());
                    item.duplicates = intake.duplicates;
                }
                Taken::Held(found) | Taken::Refused(StoreError::Duplicate(found)) => {
                    item.status = ItemStatus::Duplicate;
                    item.duplicate_of = found.first().map(|m| m.id);
                    item.duplicates = found;
                }
                Taken::Refused(StoreError::Invalid(errors)) => item.errors = errors.0,
                Taken::Refused(StoreError::Conflict { field, message }) => {
                    item.errors = vec![FieldError { field, message }];
                }
                Taken::Refused(other) => return Err(other.into()),
            }
        }
    }
    let mut result = IngestResult {
        created: 0,
        duplicates: 0,
        rejected: 0,
        results: items,
    };
    for item in &result.results {
        match item.status {
            ItemStatus::Created => result.created += 1,
            ItemStatus::Duplicate => result.duplicates += 1,
            ItemStatus::Rejected => result.rejected += 1,
        }
    }
    let text = serde_json::to_string(&result).map_err(anyhow::Error::new)?;
    if let Some(key) = key {
        intake::finish_request_in(&tx, actor, key, &text).await?;
    }
    tx.commit().await?;
    Ok(text)
}
