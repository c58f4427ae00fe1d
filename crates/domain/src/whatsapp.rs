//! WhatsApp Business (Cloud API), the pure part: a company's settings as a client writes them
//! and their checks, a message to send (an approved template with its parameters, or free text
//! inside the 24-hour service window) and the Graph API's JSON for it, the signature Meta puts
//! on a webhook (`X-Hub-Signature-256`), and what a webhook's payload says (messages received,
//! statuses of messages sent). Storage is `rivet_store::whatsapp`, the HTTP client and the use
//! cases `rivet_server::whatsapp`.

use crate::validate::FieldErrors;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The Graph API a company talks to unless it says otherwise.
pub const DEFAULT_API_BASE_URL: &str = "https://graph.facebook.com/v21.0";
/// How long after a person's last message free text may be sent to them.
pub const SERVICE_WINDOW_HOURS: i64 = 24;
/// The longest free text WhatsApp takes.
pub const MAX_TEXT: usize = 4096;
/// The most parameters a template's body is given here.
pub const MAX_PARAMETERS: usize = 20;
/// The longest template parameter.
pub const MAX_PARAMETER: usize = 1024;
/// The longest id (phone number id, business account id) Meta gives out, in digits.
pub const MAX_ID_DIGITS: usize = 32;
/// The verify token's length, at least and at most.
pub const VERIFY_TOKEN_LEN: (usize, usize) = (8, 200);
/// The longest access token or app secret taken.
pub const MAX_SECRET: usize = 1024;

/// A company's WhatsApp settings as a client writes them (`PUT /settings/whatsapp`). The access
/// token and the app secret are write-only: left out, the stored ones are kept.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// The WhatsApp phone number id (digits) the company sends from; it routes the webhook's
    /// messages to the company, so no two companies share one.
    pub phone_number_id: Option<String>,
    /// The WhatsApp Business account id (digits).
    pub business_account_id: Option<String>,
    /// A system user's access token; stored sealed, never returned. Left out: kept.
    pub access_token: Option<String>,
    /// The Meta app's secret, which signs the webhook; stored sealed, never returned. Left out:
    /// kept.
    pub app_secret: Option<String>,
    /// The token Meta's webhook verification sends back (8 to 200 characters).
    pub verify_token: Option<String>,
    /// The Graph API's base URL (default `https://graph.facebook.com/v21.0`).
    pub api_base_url: Option<String>,
    /// Send and receive (needs every other setting).
    pub enabled: Option<bool>,
}

/// Valid settings; the secrets in clear, only as they arrive (`None`: keep the stored one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub api_base_url: String,
    pub enabled: bool,
}

fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn digits(field: &str, value: Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let value = clean(value)?;
    if value.len() > MAX_ID_DIGITS || !value.bytes().all(|b| b.is_ascii_digit()) {
        errors.add(field, format!("must be 1 to {MAX_ID_DIGITS} digits"));
    }
    Some(value)
}

fn secret(field: &str, value: Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let value = clean(value)?;
    if value.len() > MAX_SECRET || value.chars().any(char::is_whitespace) {
        errors.add(
            field,
            format!("must be at most {MAX_SECRET} characters without spaces"),
        );
    }
    Some(value)
}

impl SettingsInput {
    /// Check every field, naming each invalid one. `token_stored` and `secret_stored`: whether
    /// an access token and an app secret are kept from before (enabling needs both).
    pub fn validate(
        self,
        token_stored: bool,
        secret_stored: bool,
    ) -> Result<Settings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let phone_number_id = digits("phone_number_id", self.phone_number_id, &mut errors);
        let business_account_id =
            digits("business_account_id", self.business_account_id, &mut errors);
        let access_token = secret("access_token", self.access_token, &mut errors);
        let app_secret = secret("app_secret", self.app_secret, &mut errors);
        let verify_token = clean(self.verify_token);
        if let Some(token) = &verify_token {
            let (min, max) = VERIFY_TOKEN_LEN;
            if !(min..=max).contains(&token.chars().count())
                || !token.chars().all(|c| c.is_ascii_graphic())
            {
                errors.add(
                    "verify_token",
                    format!("must be {min} to {max} printable characters without spaces"),
                );
            }
        }
        let api_base_url = match clean(self.api_base_url) {
            Some(url) => match url::Url::parse(&url) {
                Ok(parsed)
                    if matches!(parsed.scheme(), "http" | "https")
                        && parsed.host().is_some()
                        && parsed.query().is_none()
                        && url.len() <= 500 =>
                {
                    url.trim_end_matches('/').to_owned()
                }
                _ => {
                    errors.add("api_base_url", "must be an http or https URL");
                    url
                }
            },
            None => DEFAULT_API_BASE_URL.to_owned(),
        };
        let enabled = self.enabled.unwrap_or(false);
        if enabled {
            for (field, present) in [
                ("phone_number_id", phone_number_id.is_some()),
                ("access_token", access_token.is_some() || token_stored),
                ("app_secret", app_secret.is_some() || secret_stored),
                ("verify_token", verify_token.is_some()),
            ] {
                if !present {
                    errors.add(field, "is required to enable WhatsApp");
                }
            }
        }
        errors.into_result()?;
        Ok(Settings {
            phone_number_id,
            business_account_id,
            access_token,
            app_secret,
            verify_token,
            api_base_url,
            enabled,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Sending

/// An approved template as a client names it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The template's name as approved in WhatsApp Manager (lower case, digits, `_`).
    pub name: String,
    /// Its language code, e.g. `en` or `en_US`.
    pub language: String,
    /// The values of its body's `{{1}}`, `{{2}}`, … in order.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// A message to send: a template, or free text inside the service window.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    pub template: Option<TemplateInput>,
    /// Free text (only within 24 hours of the person's last message).
    pub text: Option<String>,
}

/// A valid message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Template {
        name: String,
        language: String,
        parameters: Vec<String>,
    },
    Text(String),
}

fn template_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn language_ok(code: &str) -> bool {
    let (lang, region) = match code.split_once('_') {
        Some((l, r)) => (l, Some(r)),
        None => (code, None),
    };
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

impl SendInput {
    /// Exactly one of `template` and `text`, each valid.
    pub fn validate(self) -> Result<Outgoing, FieldErrors> {
        let mut errors = FieldErrors::new();
        match (self.template, clean(self.text)) {
            (Some(_), Some(_)) => {
                errors.add("text", "give either a template or text, not both");
                Err(errors)
            }
            (None, None) => {
                errors.add(
                    "template",
                    "give a template, or text inside the service window",
                );
                Err(errors)
            }
            (None, Some(text)) => {
                if text.chars().count() > MAX_TEXT {
                    errors.add(
                        "text",
                        format!("is too long (at most {MAX_TEXT} characters)"),
                    );
                }
                errors.into_result()?;
                Ok(Outgoing::Text(text))
            }
            (Some(t), None) => {
                let fields = [
                    "template.name".to_owned(),
                    "template.language".to_owned(),
                    "template.parameters".to_owned(),
                ];
                let built = template(&t.name, &t.language, &t.parameters, &fields, &mut errors);
                errors.into_result()?;
                built.ok_or_else(|| FieldErrors::single("template", "is invalid"))
            }
        }
    }
}

/// An approved template message checked from its parts, each mistake named by `fields`
/// (name, language, parameters): what a send, a workflow rule's `send_whatsapp_template` and a
/// sequence's `whatsapp` step share.
pub fn template(
    name: &str,
    language: &str,
    parameters: &[String],
    fields: &[String; 3],
    errors: &mut FieldErrors,
) -> Option<Outgoing> {
    let before = errors.0.len();
    let name = name.trim().to_owned();
    if !template_name_ok(&name) {
        errors.add(
            &fields[0],
            "must be a template name (lower-case letters, digits and _)",
        );
    }
    let language = language.trim().to_owned();
    if !language_ok(&language) {
        errors.add(&fields[1], "must be a language code such as en or en_US");
    }
    if parameters.len() > MAX_PARAMETERS {
        errors.add(&fields[2], format!("at most {MAX_PARAMETERS} parameters"));
    }
    let parameters: Vec<String> = parameters.iter().map(|p| p.trim().to_owned()).collect();
    if parameters
        .iter()
        .any(|p| p.is_empty() || p.chars().count() > MAX_PARAMETER)
    {
        errors.add(
            &fields[2],
            format!("each parameter must be 1 to {MAX_PARAMETER} characters"),
        );
    }
    (errors.0.len() == before).then_some(Outgoing::Template {
        name,
        language,
        parameters,
    })
}

impl Outgoing {
    /// The Graph API's body for sending this to `to` (E.164, with or without `+`).
    pub fn graph_body(&self, to: &str) -> Value {
        let to = to.trim_start_matches('+');
        match self {
            Self::Text(text) => json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"preview_url": false, "body": text},
            }),
            Self::Template {
                name,
                language,
                parameters,
            } => {
                let mut template = json!({"name": name, "language": {"code": language}});
                if !parameters.is_empty() {
                    let values: Vec<Value> = parameters
                        .iter()
                        .map(|p| json!({"type": "text", "text": p}))
                        .collect();
                    template["components"] = json!([{"type": "body", "parameters": values}]);
                }
                json!({
                    "messaging_product": "whatsapp",
                    "recipient_type": "individual",
                    "to": to,
                    "type": "template",
                    "template": template,
                })
            }
        }
    }

    /// What the timeline says of it.
    pub fn summary(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Template {
                name, parameters, ..
            } if parameters.is_empty() => format!("Template {name}"),
            Self::Template {
                name, parameters, ..
            } => format!("Template {name}: {}", parameters.join(", ")),
        }
    }
}

/// Whether free text may be sent at `now` given the person's last message at `last_inbound`.
pub fn in_service_window(last_inbound: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_inbound.is_some_and(|at| now - at < Duration::hours(SERVICE_WINDOW_HOURS))
}

/// The plain words of a Graph API error body (`{"error": {"message", "error_user_msg", …}}`),
/// or of a body that is not one.
pub fn graph_error_message(status: u16, body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let text = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (text("message"), text("error_user_msg")) {
        (Some(m), Some(u)) if m != u => format!("{m} ({u})"),
        (Some(m), _) => m,
        (None, Some(u)) => u,
        (None, None) => format!("the WhatsApp API answered HTTP {status}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The webhook

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `app_secret`, compared in
/// constant time.
pub fn signature_valid(app_secret: &str, header: Option<&str>, body: &[u8]) -> bool {
    use hmac::{KeyInit, Mac};
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Some(given) = hex_decode(hex) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// `sha256=<hex>` for `body` under `app_secret` (what Meta sends; tests sign with it).
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// A message a person sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub wamid: String,
    /// E.164 with `+`.
    pub from: String,
    /// The name on their WhatsApp profile, if given.
    pub name: Option<String>,
    pub at: DateTime<Utc>,
    /// The text, or what kind of message it was (`[image]`).
    pub body: String,
}

/// A status a message sent has reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: Status,
    pub at: DateTime<Utc>,
    /// Why it failed, for `failed`.
    pub error: Option<String>,
}

/// Where a message sent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Claimed by automation (a workflow rule, a sequence step) and not yet taken by the Graph
    /// API; one that stays so was cut off mid-send and is never sent again.
    Sending,
    /// Accepted by Rivet (inbound messages are `received`).
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
    /// A message a person sent.
    Received,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Received => "received",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "sending" => Self::Sending,
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            "received" => Self::Received,
            _ => return None,
        })
    }

    /// The statuses an update to `self` may replace: a message only moves forward (a late
    /// `delivered` does not undo `read`), and a failure is final.
    pub fn replaces(self) -> &'static [&'static str] {
        match self {
            Self::Sent => &["queued"],
            Self::Delivered => &["queued", "sent"],
            Self::Read => &["queued", "sent", "delivered"],
            Self::Failed => &["queued", "sent", "delivered"],
            Self::Sending | Self::Queued | Self::Received => &[],
        }
    }
}

/// What one `change` of a webhook holds, for one phone number id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub phone_number_id: String,
    pub messages: Vec<Inbound>,
    pub statuses: Vec<StatusUpdate>,
}

fn time_of(value: &Value) -> DateTime<Utc> {
    let seconds = match value {
        Value::String(s) => s.parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    seconds
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or_else(Utc::now)
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The changes of a webhook payload (`{"object": "whatsapp_business_account", "entry":
/// [{"changes": [{"value": {"metadata": {"phone_number_id"}, "contacts", "messages",
/// "statuses"}}]}]}`); a change without a phone number id is left out, as are messages and
/// statuses without an id.
pub fn changes(payload: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    let entries = payload.get("entry").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let changes = entry.get("changes").and_then(Value::as_array);
        for change in changes.into_iter().flatten() {
            let Some(value) = change.get("value") else {
                continue;
            };
            let Some(phone_number_id) = str_at(value, "/metadata/phone_number_id") else {
                continue;
            };
            let name = str_at(value, "/contacts/0/profile/name").map(str::to_owned);
            let messages = value
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    let wamid = m.get("id").and_then(Value::as_str)?;
                    let from = m.get("from").and_then(Value::as_str)?;
                    let digits: String = from.chars().filter(char::is_ascii_digit).collect();
                    if digits.is_empty() || wamid.is_empty() || wamid.len() > 200 {
                        return None;
                    }
                    let kind = m.get("type").and_then(Value::as_str).unwrap_or("unknown");
                    let body = match kind {
                        "text" => str_at(m, "/text/body").map(str::to_owned),
                        "button" => str_at(m, "/button/text").map(str::to_owned),
                        "interactive" => str_at(m, "/interactive/button_reply/title")
                            .or_else(|| str_at(m, "/interactive/list_reply/title"))
                            .map(str::to_owned),
                        _ => None,
                    }
                    .unwrap_or_else(|| format!("[{kind}]"));
                    Some(Inbound {
                        wamid: wamid.to_owned(),
                        from: format!("+{digits}"),
                        name: name.clone(),
                        at: time_of(m.get("timestamp").unwrap_or(&Value::Null)),
                        body: body.chars().take(MAX_TEXT).collect(),
                    })
                })
                .collect();
            let statuses = value
                .get("statuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| {
                    let wamid = s.get("id").and_then(Value::as_str)?;
                    let status = s
                        .get("status")
                        .and_then(Value::as_str)
                        .and_then(Status::parse)?;
                    if !matches!(
                        status,
                        Status::Sent | Status::Delivered | Status::Read | Status::Failed
                    ) {
                        return None;
                    }
                    let error = (status == Status::Failed).then(|| {
                        let first = s.pointer("/errors/0");
                        first
                            .and_then(|e| {
                                str_at(e, "/error_data/details")
                                    .or_else(|| e.get("message").and_then(Value::as_str))
                                    .or_else(|| e.get("title").and_then(Value::as_str))
                            })
                            .unwrap_or("failed")
                            .to_owned()
                    });
                    Some(StatusUpdate {
                        wamid: wamid.to_owned(),
                        status,
                        at: time_of(s.get("timestamp").unwrap_or(&Value::Null)),
                        error,
                    })
                })
                .collect();
            out.push(Change {
                phone_number_id: phone_number_id.to_owned(),
                messages,
                statuses,
            });
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_everything_to_be_enabled_and_keep_stored_secrets() {
        let input = SettingsInput {
            phone_number_id: Some("1234".into()),
            verify_token: Some("verify-me-please".into()),
            enabled: Some(true),
            ..SettingsInput::default()
        };
        let errors = input.clone().validate(false, false).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["access_token", "app_secret"]);
        let ok = input.validate(true, true).unwrap();
        assert_eq!(ok.api_base_url, DEFAULT_API_BASE_URL);
        assert_eq!(ok.access_token, None);

        let bad = SettingsInput {
            phone_number_id: Some("12a".into()),
            api_base_url: Some("ftp://x".into()),
            verify_token: Some("short".into()),
            ..SettingsInput::default()
        }
        .validate(false, false)
        .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["phone_number_id", "verify_token", "api_base_url"]);
    }

    #[test]
    fn a_message_is_a_template_or_text_and_becomes_the_graph_json() {
        let t = SendInput {
            template: Some(TemplateInput {
                name: "order_update".into(),
                language: "en_US".into(),
                parameters: vec!["Ada".into(), "42".into()],
            }),
            text: None,
        }
        .validate()
        .unwrap();
        let body = t.graph_body("+447700900123");
        assert_eq!(body["to"], "447700900123");
        assert_eq!(body["template"]["language"]["code"], "en_US");
        assert_eq!(
            body["template"]["components"][0]["parameters"][1]["text"],
            "42"
        );
        let text = SendInput {
            template: None,
            text: Some(" hi ".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(text.graph_body("+1")["text"]["body"], "hi");
        assert!(SendInput::default().validate().is_err());
        let bad = SendInput {
            template: Some(TemplateInput {
                name: "Bad Name".into(),
                language: "english".into(),
                parameters: vec![String::new()],
            }),
            text: None,
        }
        .validate()
        .unwrap_err();
        assert_eq!(bad.0.len(), 3);
    }

    #[test]
    fn signatures_verify_only_with_the_secret_and_the_body() {
        let body = br#"{"entry":[]}"#;
        let header = signature("s3cret", body);
        assert!(signature_valid("s3cret", Some(&header), body));
        assert!(!signature_valid("other", Some(&header), body));
        assert!(!signature_valid("s3cret", Some(&header), b"{}"));
        assert!(!signature_valid("s3cret", None, body));
        assert!(!signature_valid("s3cret", Some("sha256=zz"), body));
    }

    #[test]
    fn a_payload_gives_its_messages_and_statuses() {
        let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "777"},
            "contacts": [{"profile": {"name": "Ada"}, "wa_id": "447700900123"}],
            "messages": [{"from": "447700900123", "id": "wamid.A", "timestamp": "1700000000", "type": "text", "text": {"body": "Hello"}},
                         {"from": "447700900123", "id": "wamid.B", "timestamp": "1700000001", "type": "image", "image": {}}],
            "statuses": [{"id": "wamid.C", "status": "failed", "timestamp": "1700000002", "errors": [{"code": 131026, "title": "Message undeliverable"}]}]
        }}]}]});
        let got = changes(&payload);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].phone_number_id, "777");
        assert_eq!(got[0].messages[0].from, "+447700900123");
        assert_eq!(got[0].messages[0].name.as_deref(), Some("Ada"));
        assert_eq!(got[0].messages[1].body, "[image]");
        assert_eq!(got[0].statuses[0].status, Status::Failed);
        assert_eq!(
            got[0].statuses[0].error.as_deref(),
            Some("Message undeliverable")
        );
        assert!(changes(&json!({"entry": "x"})).is_empty());
    }

    #[test]
    fn the_window_is_24_hours_and_graph_errors_read_plainly() {
        let now = Utc::now();
        assert!(in_service_window(Some(now - Duration::hours(23)), now));
        assert!(!in_service_window(Some(now - Duration::hours(25)), now));
        assert!(!in_service_window(None, now));
        assert_eq!(
            graph_error_message(
                400,
                r#"{"error":{"message":"Invalid parameter","code":100}}"#
            ),
            "Invalid parameter"
        );
        assert_eq!(
            graph_error_message(503, "oops"),
            "the WhatsApp API answered HTTP 503"
        );
    }
}
