//! WhatsApp Business (Cloud API): the Graph API client and the use cases the API, the pages and
//! automation share — save the settings (secrets sealed with the installation's key, kept when
//! left out), send a message to a lead or contact ([`send`]; automation's durable, once-only
//! [`send_once`]), take a webhook. The pure rules are
//! `rivet_domain::whatsapp`, the rows `rivet_store::whatsapp`.
//!
//! A send checks everything it can before calling out (consent, a number, the service window),
//! calls the Graph API with a short timeout, and only then records the message and its activity
//! in one transaction: a refusal records nothing, and the Graph API's own words come back in a
//! 502. The webhook is checked before anything is read from its body beyond the phone number id
//! that says whose app secret signs it; a bad signature is a security event.

use crate::http::error::AppError;
use crate::state::AppState;
use rivet_domain::activities::RecordType;
use rivet_domain::whatsapp::{
    self as wa, Outgoing, SendInput, SettingsInput, graph_error_message, in_service_window,
};
use rivet_domain::{Actor, FieldErrors};
use rivet_store::whatsapp::{self as store, Message, StoredSettings, Taken};
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;
use uuid::Uuid;

/// How long the Graph API has to answer a send.
const GRAPH_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings as shown: never the secrets, only whether they are set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    pub phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    /// Whether an access token is stored (it is never shown).
    pub access_token_set: bool,
    /// Whether an app secret is stored (it is never shown).
    pub app_secret_set: bool,
    pub verify_token: Option<String>,
    pub api_base_url: String,
    pub enabled: bool,
    /// The URL to give Meta as the webhook's callback.
    pub webhook_path: &'static str,
}

pub const WEBHOOK_PATH: &str = "/api/v1/whatsapp/webhook";

impl SettingsView {
    fn of(stored: Option<&StoredSettings>) -> Self {
        match stored {
            Some(s) => Self {
                phone_number_id: s.phone_number_id.clone(),
                business_account_id: s.business_account_id.clone(),
                access_token_set: s.access_token.is_some(),
                app_secret_set: s.app_secret.is_some(),
                verify_token: s.verify_token.clone(),
                api_base_url: s.api_base_url.clone(),
                enabled: s.enabled,
                webhook_path: WEBHOOK_PATH,
            },
            None => Self {
                phone_number_id: None,
                business_account_id: None,
                access_token_set: false,
                app_secret_set: false,
                verify_token: None,
                api_base_url: wa::DEFAULT_API_BASE_URL.to_owned(),
                enabled: false,
                webhook_path: WEBHOOK_PATH,
            },
        }
    }
}

/// The caller's company's settings as shown.
pub async fn settings(app: &AppState, actor: &Actor) -> Result<SettingsView, AppError> {
    let stored = store::settings(&app.store, actor).await?;
    Ok(SettingsView::of(stored.as_ref()))
}

/// Validate and save settings: new secrets sealed, left-out ones kept.
pub async fn save_settings(
    app: &AppState,
    actor: &Actor,
    input: SettingsInput,
) -> Result<SettingsView, AppError> {
    let before = store::settings(&app.store, actor).await?;
    let kept_token = before.as_ref().and_then(|s| s.access_token.clone());
    let kept_secret = before.as_ref().and_then(|s| s.app_secret.clone());
    let valid = input.validate(kept_token.is_some(), kept_secret.is_some())?;
    let stored = StoredSettings {
        phone_number_id: valid.phone_number_id,
        business_account_id: valid.business_account_id,
        access_token: valid
            .access_token
            .map(|t| app.secrets.seal(&t))
            .or(kept_token),
        app_secret: valid
            .app_secret
            .map(|s| app.secrets.seal(&s))
            .or(kept_secret),
        verify_token: valid.verify_token,
        api_base_url: valid.api_base_url,
        enabled: valid.enabled,
        updated_by: Some(actor.user_id),
        updated_at: None,
    };
    store::put_settings(&app.store, actor, &stored).await?;
    Ok(SettingsView::of(Some(&stored)))
}

fn refused(field: &str, message: impl Into<String>) -> AppError {
    AppError::Validation(FieldErrors::single(field, message))
}

/// Send `input` to the lead or contact `id` as `actor`, who must be able to read it (404
/// otherwise). Refused with a 422 naming why when WhatsApp is not set up, the record has no
/// consent or no number, or free text falls outside the service window; a 502 with the Graph
/// API's words when it refuses.
pub async fn send(
    app: &AppState,
    actor: &Actor,
    record_type: RecordType,
    id: Uuid,
    input: SendInput,
) -> Result<Message, AppError> {
    let outgoing = input.validate()?;
    let to = store::recipient(&app.store, actor, record_type, id).await?;
    let (url, token) = graph_target(app, actor)
        .await
        .map_err(|why| refused("whatsapp", why))?;
    if !to.consent {
        return Err(refused(
            "whatsapp_consent",
            format!("this {record_type} has not agreed to WhatsApp messages"),
        ));
    }
    let Some(phone) = to.phone.clone() else {
        return Err(refused(
            "phone",
            format!("this {record_type} has no valid phone number to message"),
        ));
    };
    if let Outgoing::Text(_) = outgoing {
        let last = store::last_inbound(&app.store, actor, &phone).await?;
        if !in_service_window(last, chrono::Utc::now()) {
            return Err(refused(
                "text",
                "free text can only be sent within 24 hours of the person's last message; \
                 send an approved template instead",
            ));
        }
    }
    let wamid = graph_send(app, &url, &token, &outgoing.graph_body(&phone)).await?;
    Ok(store::record_sent(&app.store, actor, &to, &phone, &wamid, &outgoing).await?)
}

/// Where the caller's company's messages go: the Graph API's messages URL and the opened
/// access token, or why WhatsApp cannot be used (not set up, not enabled, a token this
/// installation cannot open).
async fn graph_target(app: &AppState, actor: &Actor) -> Result<(String, String), String> {
    let settings = store::settings(&app.store, actor)
        .await
        .map_err(|e| e.to_string())?
        .filter(|s| s.enabled);
    let Some(settings) = settings else {
        return Err(
            "WhatsApp is not set up and enabled for this company (Settings › WhatsApp)".into(),
        );
    };
    let (Some(phone_number_id), Some(token)) = (&settings.phone_number_id, &settings.access_token)
    else {
        return Err("WhatsApp is not completely set up".into());
    };
    let token = app.secrets.open(token).map_err(|_| {
        "the stored access token does not open with this installation's key; save it again"
            .to_owned()
    })?;
    Ok((
        format!("{}/{phone_number_id}/messages", settings.api_base_url),
        token,
    ))
}

/// What an automated send ([`send_once`]) came to.
#[derive(Debug)]
pub enum Once {
    /// Sent now, recorded with its activity on the record's timeline.
    Sent(Message),
    /// Claimed before under the key (sent, or cut off mid-send): not sent a second time.
    Already(Message),
    /// Never to be sent to the record as it is: `reason` is a code (`no_whatsapp_consent`,
    /// `no_phone`, `not_found`), `detail` the words.
    Refused {
        reason: &'static str,
        detail: String,
    },
    /// WhatsApp is not set up for the company, in words (a later try may send).
    NotConfigured(String),
    /// The Graph API refused or could not be reached, in words (recorded as failed; a later
    /// try under the key may send).
    Failed(String),
}

/// Send the approved template `outgoing` to the lead or contact `id` once under `key` (a
/// workflow rule's `send_whatsapp_template`, a sequence's `whatsapp` step): consent and a
/// number checked, the message claimed in `whatsapp_messages` before the Graph API is called
/// and recorded with its activity after, so a job or step run again never sends twice.
pub async fn send_once(
    app: &AppState,
    actor: &Actor,
    record_type: RecordType,
    id: Uuid,
    outgoing: &Outgoing,
    key: &str,
) -> Result<Once, rivet_store::StoreError> {
    let to = match store::recipient(&app.store, actor, record_type, id).await {
        Ok(to) => to,
        Err(rivet_store::StoreError::NotFound) => {
            return Ok(Once::Refused {
                reason: "not_found",
                detail: format!("the {record_type} is gone"),
            });
        }
        Err(e) => return Err(e),
    };
    if let Some(detail) = rivet_store::workflows::whatsapp_refusal(&to) {
        let reason = if to.consent {
            "no_phone"
        } else {
            "no_whatsapp_consent"
        };
        return Ok(Once::Refused { reason, detail });
    }
    let Some(phone) = to.phone.clone() else {
        return Ok(Once::Refused {
            reason: "no_phone",
            detail: format!("this {record_type} has no valid phone number"),
        });
    };
    let (url, token) = match graph_target(app, actor).await {
        Ok(target) => target,
        Err(why) => return Ok(Once::NotConfigured(why)),
    };
    let message = match store::claim(&app.store, actor, &to, &phone, outgoing, key).await? {
        store::Claim::Done(message) => return Ok(Once::Already(message)),
        store::Claim::Send(message) => message,
    };
    match graph_send(app, &url, &token, &outgoing.graph_body(&phone)).await {
        Ok(wamid) => Ok(Once::Sent(
            store::record_claimed(&app.store, actor, &message, &wamid, outgoing).await?,
        )),
        Err(err) => {
            let why = match err {
                AppError::Upstream(why) => why,
                other => other.to_string(),
            };
            store::record_claim_failed(&app.store, actor, &message, &why).await?;
            Ok(Once::Failed(why))
        }
    }
}

/// POST a message to the Graph API; its `messages[0].id`, or a 502 in its words.
async fn graph_send(
    app: &AppState,
    url: &str,
    token: &str,
    body: &serde_json::Value,
) -> Result<String, AppError> {
    let unreachable =
        |why: String| AppError::Upstream(format!("WhatsApp could not be reached: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| unreachable(e.to_string()))?;
    let allow_private = app.config.webhook_allow_private;
    if !allow_private && let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = parsed.host() {
        let ip: Option<std::net::IpAddr> = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(v4.into()),
            Some(url::Host::Ipv6(v6)) => Some(v6.into()),
            _ => None,
        };
        if let Some(ip) = ip {
            crate::dispatcher::check_resolved(
                parsed.host_str().unwrap_or_default(),
                &[SocketAddr::new(ip, 0)],
            )
            .map_err(|e| unreachable(e.to_string()))?;
        }
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(GRAPH_TIMEOUT)
        .connect_timeout(GRAPH_TIMEOUT)
        .dns_resolver(std::sync::Arc::new(crate::dispatcher::GuardedResolver {
            allow_private,
        }))
        .build()
        .map_err(|e| unreachable(e.to_string()))?;
    let response = client
        .post(parsed)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_timeout() {
                "it did not answer in time".to_owned()
            } else if e.is_connect() {
                "the connection was refused".to_owned()
            } else {
                e.without_url().to_string()
            };
            unreachable(why)
        })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(AppError::Upstream(format!(
            "WhatsApp refused the message: {}",
            graph_error_message(status.as_u16(), &text)
        )));
    }
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    answer
        .pointer("/messages/0/id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| AppError::Upstream("WhatsApp answered without a message id".into()))
}

/// What a webhook delivery did.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookResult {
    /// Messages written to a timeline.
    pub messages: u32,
    /// Of those, the ones that made a new lead.
    pub new_leads: u32,
    /// Messages already taken before (replays), left as they were.
    pub replayed: u32,
    /// Statuses that moved a message.
    pub statuses: u32,
}

/// Take a webhook delivery: its companies found by phone number id (unknown: 404, logged), its
/// signature checked with that company's app secret (wrong or missing: 401, logged as a
/// security event), then its messages and statuses.
pub async fn take_webhook(
    app: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> Result<WebhookResult, AppError> {
    let payload: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| AppError::BadRequest("the body is not JSON".into()))?;
    let changes = wa::changes(&payload);
    if changes.is_empty() {
        return Err(AppError::BadRequest(
            "no change with a metadata.phone_number_id".into(),
        ));
    }
    // Every change is checked before any is taken: one bad part refuses the delivery whole.
    let mut routed = Vec::with_capacity(changes.len());
    for change in &changes {
        let Some(route) = store::route(&app.store, &change.phone_number_id).await? else {
            tracing::warn!(target: "rivet::security", event = "whatsapp_unknown_number", phone_number_id = %change.phone_number_id, "WhatsApp webhook for a phone number id no company has");
            return Err(AppError::NotFound);
        };
        let secret = route
            .app_secret
            .as_deref()
            .and_then(|sealed| app.secrets.open(sealed).ok());
        let valid = secret
            .as_deref()
            .is_some_and(|s| wa::signature_valid(s, signature, body));
        if !valid {
            tracing::warn!(
                target: "rivet::security",
                event = "whatsapp_signature_rejected",
                company_id = %route.company_id,
                reason = if signature.is_none() { "missing" } else { "wrong" },
                "WhatsApp webhook refused: bad X-Hub-Signature-256"
            );
            return Err(AppError::Unauthorized);
        }
        if !route.enabled {
            tracing::info!(company_id = %route.company_id, "WhatsApp webhook for a company that has WhatsApp disabled; ignored");
            continue;
        }
        routed.push((route, change));
    }
    let mut result = WebhookResult::default();
    for (route, change) in routed {
        let owner = route.updated_by.unwrap_or(rivet_domain::ids::UserId::nil());
        for message in &change.messages {
            match store::take_inbound(&app.store, route.company_id, owner, message).await? {
                Taken::Replayed => result.replayed += 1,
                Taken::NewLead(_) => {
                    result.messages += 1;
                    result.new_leads += 1;
                }
                Taken::Logged { .. } => result.messages += 1,
            }
        }
        for status in &change.statuses {
            if store::apply_status(&app.store, route.company_id, status).await? {
                result.statuses += 1;
            }
        }
    }
    Ok(result)
}

/// Answer Meta's verification: the challenge when `token` is a company's verify token.
pub async fn verify(
    app: &AppState,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Result<String, AppError> {
    let (Some("subscribe"), Some(token), Some(challenge)) = (mode, token, challenge) else {
        return Err(AppError::BadRequest(
            "not a subscription request: hub.mode=subscribe, hub.verify_token and hub.challenge are required".into(),
        ));
    };
    if !store::verify_token_known(&app.store, token).await? {
        tracing::warn!(target: "rivet::security", event = "whatsapp_verify_rejected", "WhatsApp webhook verification with an unknown token");
        return Err(AppError::Forbidden("the verify token is not known".into()));
    }
    Ok(challenge.to_owned())
}
