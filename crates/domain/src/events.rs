//! Domain events: which typed events a change to a record means, and the pure rules of their
//! outbound webhooks — the signature, which network addresses a delivery may reach, the URL a
//! webhook may name, and the retry backoff.
//!
//! The store calls [`events_for_change`] from the one place every audited change passes through,
//! so each create, update and delete of every record type writes its events in the same
//! transaction as the change. Sending, storing and dispatching live in the store and the worker.

use serde_json::{Map, Value, json};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// `(resource, record type)`: the audited resources that raise events, and the singular name
/// their events carry (`leads` → `lead.created`).
pub const RECORD_TYPES: &[(&str, &str)] = &[
    ("leads", "lead"),
    ("accounts", "account"),
    ("contacts", "contact"),
    ("deals", "deal"),
    ("tasks", "task"),
    ("activities", "activity"),
];

/// Events that are not one of the `<record>.created|updated|deleted` trio.
pub const SPECIAL_TYPES: &[&str] = &[
    "deal.stage_changed",
    "deal.won",
    "deal.lost",
    "task.completed",
    "activity.logged",
    "user.signed_in",
    "lead.merged",
    "contact.merged",
    "account.merged",
    "account.lifecycle_changed",
    "lead.converted",
    "lead.engaged",
    "lead.score_threshold_crossed",
    // Messaging (issue 15 §3–§4): e-mail tracking (`crate::tracking`) writes the `email.*`
    // events on the lead or contact the message was sent to, with the message's id (and a
    // reply's activity id); `whatsapp.received` is named for rules but not written yet (an
    // inbound WhatsApp message is an `activity.logged`).
    "email.opened",
    "email.clicked",
    "email.replied",
    "email.bounced",
    "email.unsubscribed",
    "whatsapp.received",
];

/// The messaging events: about the lead or contact a message went to or came from.
pub const MESSAGE_TYPES: &[&str] = &[
    "email.opened",
    "email.clicked",
    "email.replied",
    "email.bounced",
    "email.unsubscribed",
    "whatsapp.received",
];

/// The event a webhook's "send test event" delivers; not written to the outbox.
pub const TEST_EVENT: &str = "webhook.test";

/// The field a deal's before/after JSON carries, added by the store, naming the outcome of its
/// stage (`open`, `won`, `lost`), so won and lost can be told from a stage move.
pub const STAGE_OUTCOME: &str = "stage_outcome";

/// The singular record type of an audited resource, if it raises events.
pub fn record_type_of(resource: &str) -> Option<&'static str> {
    RECORD_TYPES
        .iter()
        .find(|(r, _)| *r == resource)
        .map(|(_, t)| *t)
}

/// Every event type there is, in display order.
pub fn known_types() -> Vec<String> {
    let mut types: Vec<String> = RECORD_TYPES
        .iter()
        .flat_map(|(_, t)| {
            ["created", "updated", "deleted"]
                .iter()
                .map(move |a| format!("{t}.{a}"))
        })
        .collect();
    types.extend(SPECIAL_TYPES.iter().map(|t| (*t).to_owned()));
    types
}

/// Whether `name` is an event type a webhook may subscribe to (`*` means every type).
pub fn is_subscribable(name: &str) -> bool {
    name == "*" || known_types().iter().any(|t| t == name)
}

/// Whether a webhook subscribed to `subscribed` receives an event of type `event_type`.
pub fn subscribed_to(subscribed: &[String], event_type: &str) -> bool {
    subscribed.iter().any(|s| s == "*" || s == event_type)
}

/// One event a change raises: its type and its payload (`data`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub record_type: &'static str,
    pub data: Value,
}

/// The events one audited change raises. `action` is the audit action (`create`, `update`,
/// `delete`); `changes` is the audit diff (`{field: {before, after}}`, secrets redacted).
/// Resources that are not records, and updates that changed nothing, raise none.
pub fn events_for_change(
    resource: &str,
    action: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    changes: &Value,
) -> Vec<NewEvent> {
    let Some(record_type) = record_type_of(resource) else {
        return Vec::new();
    };
    let event = |suffix: &str, data: Value| NewEvent {
        event_type: format!("{record_type}.{suffix}"),
        record_type,
        data,
    };
    let record = |v: Option<&Value>| strip_internal(v.cloned().unwrap_or(Value::Null));
    let mut out = Vec::new();
    match action {
        "create" => {
            out.push(event("created", json!({ "record": record(after) })));
            match record_type {
                "activity" => out.push(event("logged", json!({ "record": record(after) }))),
                "task" if field(after, "status") == Some("completed") => {
                    out.push(event("completed", json!({ "record": record(after) })));
                }
                _ => {}
            }
        }
        "update" => {
            let changed = strip_internal(changes.clone());
            if changed.as_object().is_some_and(|m| !m.is_empty()) {
                out.push(event(
                    "updated",
                    json!({ "changes": changed, "record": record(after) }),
                ));
            }
            match record_type {
                "deal" => out.extend(deal_events(before, after, &record(after))),
                "account"
                    if field(before, "lifecycle_stage") != field(after, "lifecycle_stage") =>
                {
                    // The reason is set by a lifecycle rule (`health::lifecycle_move`); a
                    // change by hand has none.
                    out.push(event(
                        "lifecycle_changed",
                        json!({
                            "from": field(before, "lifecycle_stage"),
                            "to": field(after, "lifecycle_stage"),
                            "reason": field(after, "lifecycle_reason"),
                            "record": record(after),
                        }),
                    ));
                }
                "task"
                    if field(after, "status") == Some("completed")
                        && field(before, "status") != Some("completed") =>
                {
                    out.push(event("completed", json!({ "record": record(after) })));
                }
                _ => {}
            }
        }
        "delete" => out.push(event("deleted", json!({ "record": record(before) }))),
        _ => {}
    }
    out
}

/// `user.signed_in`: a session was opened (`api` or `web`).
pub fn signed_in(session_kind: &str) -> NewEvent {
    NewEvent {
        event_type: "user.signed_in".into(),
        record_type: "user",
        data: json!({ "session_kind": session_kind }),
    }
}

/// `deal.stage_changed`, and `deal.won`/`deal.lost` when the move entered a won or lost stage.
fn deal_events(before: Option<&Value>, after: Option<&Value>, record: &Value) -> Vec<NewEvent> {
    let mut out = Vec::new();
    let (from, to) = (field(before, "stage_id"), field(after, "stage_id"));
    if from == to {
        return out;
    }
    let deal = |suffix: &str, data: Value| NewEvent {
        event_type: format!("deal.{suffix}"),
        record_type: "deal",
        data,
    };
    out.push(deal(
        "stage_changed",
        json!({ "from_stage_id": from, "to_stage_id": to, "record": record }),
    ));
    let (was, now) = (field(before, STAGE_OUTCOME), field(after, STAGE_OUTCOME));
    for outcome in ["won", "lost"] {
        if now == Some(outcome) && was != Some(outcome) {
            out.push(deal(outcome, json!({ "record": record })));
        }
    }
    out
}

fn field<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(name)).and_then(Value::as_str)
}

/// The record without fields the store added only to derive events.
fn strip_internal(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.remove(STAGE_OUTCOME);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Webhook signatures

/// The `X-Rivet-Signature` header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" keyed with the webhook's secret>`. A receiver recomputes it and compares in
/// constant time, and refuses old timestamps to stop replays.
pub fn signature_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex_encode(&sign(secret, timestamp, body))
    )
}

/// HMAC-SHA256(secret, "<timestamp>.<body>").
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this branch cannot be reached.
        return Vec::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `header` is a valid signature of `body` under `secret` (what a receiver does).
pub fn verify_signature(secret: &[u8], header: &str, body: &[u8]) -> bool {
    use hmac::{KeyInit, Mac};
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => given = hex_decode(v),
            _ => {}
        }
    }
    let (Some(timestamp), Some(given)) = (timestamp, given) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Where a webhook may deliver

/// Why a delivery may not go to `ip`, or `None` when it is a public address. Checked on every
/// address a host resolves to, at delivery time, so neither a literal nor DNS can point a
/// webhook at Rivet's own network (cloud metadata at 169.254.169.254 included).
pub fn blocked_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata lives there)")
    } else if a == 0 {
        Some("an unspecified address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if a >= 240 {
        Some("a reserved or broadcast address")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("an IETF protocol address")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("a benchmarking address")
    } else {
        None
    }
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return blocked_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("a unique-local (private) address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if segments[0] == 0xfec0 {
        Some("a site-local address")
    } else {
        None
    }
}

/// The longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// A webhook URL that passed [`parse_webhook_url`]: http(s), a host, at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    pub url: url::Url,
}

impl WebhookUrl {
    /// The host as an address when the URL names one literally (`http://10.0.0.1/`).
    pub fn literal_ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        }
    }

    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

/// Parse a webhook URL. With `allow_private` false a literal address must be public; names are
/// resolved and checked by the caller (this crate does no I/O).
pub fn parse_webhook_url(input: &str, allow_private: bool) -> Result<WebhookUrl, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("is required".into());
    }
    if input.chars().count() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let url = url::Url::parse(input).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials; use the signature to authenticate".into());
    }
    let parsed = WebhookUrl { url };
    if !allow_private && let Some(reason) = parsed.literal_ip().and_then(blocked_address) {
        return Err(format!(
            "points at {reason}; deliveries only go to public addresses unless the server runs with RIVET_WEBHOOK_ALLOW_PRIVATE=true"
        ));
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------
// Retries

/// The delay before retry number `attempt` (1 = after the first failure): `base` doubling each
/// time, capped at an hour. `jitter` in [0, 1) spreads retries of many webhooks apart by up to
/// a fifth of the delay.
pub fn retry_delay(attempt: u32, base: Duration, jitter: f64) -> Duration {
    let cap = Duration::from_secs(3600);
    let exp = attempt.saturating_sub(1).min(20);
    let delay = base.saturating_mul(1u32 << exp).min(cap);
    delay + delay.mul_f64(jitter.clamp(0.0, 1.0) / 5.0)
}

/// A webhook is turned off after this many failed attempts in a row.
pub const MAX_CONSECUTIVE_FAILURES: i32 = 10;

/// A payload's `data` when only its fields are known (for test events).
pub fn test_event_data() -> Value {
    let mut map = Map::new();
    map.insert(
        "message".into(),
        Value::from("This is a test event sent from Rivet."),
    );
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn types(events: &[NewEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event_type.as_str()).collect()
    }

    #[test]
    fn every_record_create_update_delete_raises_its_event() {
        let before = json!({"name": "A"});
        let after = json!({"name": "B"});
        let changes = json!({"name": {"before": "A", "after": "B"}});
        for (resource, record) in RECORD_TYPES {
            let created = events_for_change(resource, "create", None, Some(&after), &json!({}));
            assert_eq!(types(&created)[0], format!("{record}.created"));
            let updated =
                events_for_change(resource, "update", Some(&before), Some(&after), &changes);
            assert_eq!(types(&updated), [format!("{record}.updated")]);
            assert_eq!(updated[0].data["changes"], changes);
            let deleted = events_for_change(resource, "delete", Some(&before), None, &json!({}));
            assert_eq!(types(&deleted), [format!("{record}.deleted")]);
            assert_eq!(deleted[0].data["record"], before);
        }
    }

    #[test]
    fn non_records_and_empty_updates_raise_nothing() {
        let v = json!({"name": "x"});
        assert!(events_for_change("roles", "create", None, Some(&v), &json!({})).is_empty());
        assert!(events_for_change("leads", "update", Some(&v), Some(&v), &json!({})).is_empty());
        assert!(
            events_for_change("leads", "sign_out_others", None, Some(&v), &json!({})).is_empty()
        );
    }

    #[test]
    fn a_deal_moved_into_a_won_stage_is_stage_changed_and_won() {
        let before = json!({"stage_id": "s1", "stage_outcome": "open"});
        let after = json!({"stage_id": "s9", "stage_outcome": "won"});
        let changes = json!({"stage_id": {"before": "s1", "after": "s9"}});
        let events = events_for_change("deals", "update", Some(&before), Some(&after), &changes);
        assert_eq!(
            types(&events),
            ["deal.updated", "deal.stage_changed", "deal.won"]
        );
        assert_eq!(events[1].data["from_stage_id"], "s1");
        assert_eq!(events[1].data["to_stage_id"], "s9");
        // The helper field never reaches a payload.
        assert!(events[2].data["record"].get(STAGE_OUTCOME).is_none());
    }

    #[test]
    fn a_deal_lost_is_lost_and_a_move_between_open_stages_is_only_stage_changed() {
        let open = json!({"stage_id": "s1", "stage_outcome": "open"});
        let lost = json!({"stage_id": "s8", "stage_outcome": "lost"});
        let other = json!({"stage_id": "s2", "stage_outcome": "open"});
        let c = json!({"stage_id": {}});
        let e = events_for_change("deals", "update", Some(&open), Some(&lost), &c);
        assert_eq!(
            types(&e),
            ["deal.updated", "deal.stage_changed", "deal.lost"]
        );
        let e = events_for_change("deals", "update", Some(&open), Some(&other), &c);
        assert_eq!(types(&e), ["deal.updated", "deal.stage_changed"]);
        let amount = json!({"amount": {"before": "1", "after": "2"}});
        let e = events_for_change("deals", "update", Some(&open), Some(&open), &amount);
        assert_eq!(types(&e), ["deal.updated"]);
    }

    #[test]
    fn a_task_completed_once_and_an_activity_logged() {
        let open = json!({"status": "open"});
        let done = json!({"status": "completed"});
        let c = json!({"status": {"before": "open", "after": "completed"}});
        let e = events_for_change("tasks", "update", Some(&open), Some(&done), &c);
        assert_eq!(types(&e), ["task.updated", "task.completed"]);
        let again = json!({"subject": {"before": "a", "after": "b"}});
        let e = events_for_change("tasks", "update", Some(&done), Some(&done), &again);
        assert_eq!(types(&e), ["task.updated"]);
        let e = events_for_change("tasks", "create", None, Some(&done), &json!({}));
        assert_eq!(types(&e), ["task.created", "task.completed"]);
        let e = events_for_change("activities", "create", None, Some(&open), &json!({}));
        assert_eq!(types(&e), ["activity.created", "activity.logged"]);
    }

    #[test]
    fn known_types_cover_the_trio_and_the_specials() {
        let known = known_types();
        assert_eq!(known.len(), RECORD_TYPES.len() * 3 + SPECIAL_TYPES.len());
        assert!(is_subscribable("deal.won"));
        assert!(is_subscribable("*"));
        assert!(!is_subscribable("deal.exploded"));
        assert!(subscribed_to(&["*".into()], "lead.created"));
        assert!(!subscribed_to(&["lead.updated".into()], "lead.created"));
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex_encode(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signature_verifies_and_a_changed_body_or_secret_does_not() {
        let header = signature_header(b"whsec_1", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert!(verify_signature(b"whsec_1", &header, b"{\"a\":1}"));
        assert!(!verify_signature(b"whsec_1", &header, b"{\"a\":2}"));
        assert!(!verify_signature(b"whsec_2", &header, b"{\"a\":1}"));
        assert!(!verify_signature(b"whsec_1", "t=1,v1=zz", b""));
    }

    #[test]
    fn private_loopback_link_local_and_friends_are_blocked() {
        let blocked = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ];
        for ip in blocked {
            let parsed: IpAddr = ip.parse().unwrap();
            assert!(blocked_address(parsed).is_some(), "{ip} must be blocked");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(blocked_address(parsed), None, "{ip} is public");
        }
    }

    #[test]
    fn webhook_urls_are_http_public_and_short() {
        assert!(parse_webhook_url("https://example.com/hook", false).is_ok());
        let bad = [
            "",
            "ftp://example.com/",
            "javascript:alert(1)",
            "not a url",
            "http://127.0.0.1/",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "http://user:pw@example.com/",
        ];
        for url in bad {
            assert!(parse_webhook_url(url, false).is_err(), "{url} must fail");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_webhook_url(&long, true).is_err());
        assert!(parse_webhook_url("http://127.0.0.1:9000/x", true).is_ok());
    }

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let base = Duration::from_secs(1);
        assert_eq!(retry_delay(1, base, 0.0), Duration::from_secs(1));
        assert_eq!(retry_delay(2, base, 0.0), Duration::from_secs(2));
        assert_eq!(retry_delay(5, base, 0.0), Duration::from_secs(16));
        assert_eq!(retry_delay(40, base, 0.0), Duration::from_secs(3600));
        assert!(retry_delay(3, base, 0.99) > Duration::from_secs(4));
        assert!(retry_delay(3, base, 0.99) < Duration::from_secs(5));
    }
}
