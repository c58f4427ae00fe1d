//! E-mail settings (issue 15 §1): a company's SMTP server, sender and daily limit as a client
//! writes them ([`EmailSettingsInput`]), checked once into what is stored ([`EmailSettings`])
//! and what the API shows ([`EmailSettingsView`]).
//!
//! The password and the DKIM private key are write-only: the input carries them in clear (left
//! out: keep the stored one; `""`: clear it), the stored document only sealed under the
//! installation's key ([`SecretKey`]), and the view only whether one is set. The audit trail
//! sees the stored document with the sealed values replaced by [`REDACTED`]. Whether a DKIM key
//! parses is the sending side's to say (the server's `mail` module), since that is where the
//! key is used. Sending, its errors and the daily count live in the server and the store.
//! The IMAP mailbox replies are polled from is part of the same document (`imap`,
//! [`crate::imap`]), sealed and redacted the same way, and written only by its own route.

use crate::choices::choice_enum;
use crate::imap::ImapSettings;
use crate::secrets::{SecretError, SecretKey};
use crate::validate::{Email, FieldErrors};
use serde::{Deserialize, Serialize};

/// Longest host name (RFC 1035).
pub const MAX_HOST: usize = 253;
/// Longest user name, sender name, DKIM selector or domain.
pub const MAX_NAME: usize = 200;
/// Longest password.
pub const MAX_PASSWORD: usize = 1000;
/// Longest DKIM private key (PEM); an RSA 4096-bit key is about 3,300 characters.
pub const MAX_KEY: usize = 10_000;
/// The daily sending limit's bounds and default.
pub const DAILY_LIMIT: (i64, i64) = (1, 1_000_000);
pub const DEFAULT_DAILY_LIMIT: i64 = 500;
pub const DEFAULT_PORT: i64 = 587;
/// A one-off e-mail's longest subject (one header line), text and HTML bodies, most copies,
/// and longest idempotency key.
pub const MAX_SUBJECT: usize = 900;
pub const MAX_BODY: usize = 100_000;
pub const MAX_CC: usize = 20;
pub const MAX_IDEMPOTENCY_KEY: usize = 200;
/// What the audit trail shows for a stored secret.
pub const REDACTED: &str = "[redacted]";

choice_enum!(
    /// How the connection to the SMTP server is protected: upgraded with STARTTLS (port 587),
    /// TLS from the first byte (port 465), or nothing (only with `allow_plaintext`).
    TlsMode {
        Starttls => "starttls",
        Tls => "tls",
        None => "none",
    }
);

choice_enum!(
    /// Where an outgoing message is: claimed and being sent, sent (the server took it), or
    /// failed (with the reason; sending it again under its key tries again).
    EmailStatus {
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
);

/// A company's e-mail settings as a client writes them (`PUT /api/v1/settings/email`). A part
/// left out takes its default, except the two secrets, which keep what is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSettingsInput {
    /// Whether Rivet sends e-mail for the company (false by default). Enabled settings need a
    /// host and a from address.
    pub enabled: Option<bool>,
    /// The SMTP server's host name or address.
    pub host: Option<String>,
    /// Its port (1 to 65535; 587 by default).
    pub port: Option<i64>,
    /// `starttls` (default), `tls`, or `none`, which needs `allow_plaintext: true`.
    pub tls: Option<TlsMode>,
    /// Allows `tls: none`: the password and every message cross the network in clear.
    pub allow_plaintext: Option<bool>,
    /// The user to sign in as (none: no sign-in).
    pub username: Option<String>,
    /// The password: left out keeps the stored one, `""` clears it. Never shown again.
    pub password: Option<String>,
    /// The name messages come from.
    pub from_name: Option<String>,
    /// The address messages come from (needed when enabled).
    pub from_address: Option<String>,
    /// Where replies go, if not to the from address.
    pub reply_to: Option<String>,
    /// Messages the company may send a day, counted in its time zone (500 by default).
    pub daily_limit: Option<i64>,
    /// DKIM: the selector (`s1` in `s1._domainkey.example.com`)…
    pub dkim_selector: Option<String>,
    /// …the signing domain…
    pub dkim_domain: Option<String>,
    /// …and the private key (PEM, RSA or Ed25519): left out keeps the stored one, `""` clears
    /// it. Never shown again.
    pub dkim_private_key: Option<String>,
    /// Tracking (issue 15 §3): add the open pixel to HTML e-mails sent from records (true by
    /// default).
    pub track_opens: Option<bool>,
    /// Send the links of HTML e-mails sent from records through click links (true by default).
    pub track_clicks: Option<bool>,
}

/// A company's e-mail settings as stored: the secrets sealed (`v1:…`), never in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub allow_plaintext: bool,
    pub username: String,
    pub password_sealed: Option<String>,
    pub from_name: String,
    pub from_address: String,
    pub reply_to: String,
    pub daily_limit: i64,
    pub dkim_selector: String,
    pub dkim_domain: String,
    pub dkim_key_sealed: Option<String>,
    /// Tracking (`crate::tracking`); settings stored before it read as on.
    #[serde(default = "on")]
    pub track_opens: bool,
    #[serde(default = "on")]
    pub track_clicks: bool,
    /// The secret that signs inbound e-mail posts (`X-Rivet-Signature`), sealed; made and
    /// replaced only by its own rotation, never by a settings write.
    #[serde(default)]
    pub inbound_secret_sealed: Option<String>,
    /// The mailbox replies and bounces are polled from (`crate::imap`); written only by its own
    /// `PUT`, never by this document's.
    #[serde(default)]
    pub imap: ImapSettings,
}

const fn on() -> bool {
    true
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: String::new(),
            port: 587,
            tls: TlsMode::Starttls,
            allow_plaintext: false,
            username: String::new(),
            password_sealed: None,
            from_name: String::new(),
            from_address: String::new(),
            reply_to: String::new(),
            daily_limit: DEFAULT_DAILY_LIMIT,
            dkim_selector: String::new(),
            dkim_domain: String::new(),
            dkim_key_sealed: None,
            track_opens: true,
            track_clicks: true,
            inbound_secret_sealed: None,
            imap: ImapSettings::default(),
        }
    }
}

/// The settings as the API shows them: everything but the secrets, and whether each is set.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EmailSettingsView {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub allow_plaintext: bool,
    pub username: String,
    /// Whether a password is stored (it is never shown).
    pub password_set: bool,
    pub from_name: String,
    pub from_address: String,
    pub reply_to: String,
    pub daily_limit: i64,
    pub dkim_selector: String,
    pub dkim_domain: String,
    /// Whether a DKIM private key is stored (it is never shown).
    pub dkim_key_set: bool,
    pub track_opens: bool,
    pub track_clicks: bool,
    /// Whether an inbound e-mail secret is made (it is shown once, when it is rotated).
    pub inbound_secret_set: bool,
}

/// What a write does to a stored secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretChange {
    Keep,
    Clear,
    Set(String),
}

impl SecretChange {
    pub(crate) fn of(value: Option<String>) -> Self {
        match value {
            None => Self::Keep,
            Some(v) if v.is_empty() => Self::Clear,
            Some(v) => Self::Set(v),
        }
    }

    /// The sealed value to store, given the stored one.
    pub(crate) fn sealed(&self, stored: &Option<String>, key: &SecretKey) -> Option<String> {
        match self {
            Self::Keep => stored.clone(),
            Self::Clear => None,
            Self::Set(plain) => Some(key.seal(plain)),
        }
    }
}

/// The plain-text DKIM key a write brings, for the sending side to check before it is sealed.
pub fn new_dkim_key(input: &EmailSettingsInput) -> Option<&str> {
    input.dkim_private_key.as_deref().filter(|k| !k.is_empty())
}

pub(crate) fn trimmed(value: Option<String>) -> String {
    value.map(|v| v.trim().to_owned()).unwrap_or_default()
}

/// An optional address, lower-cased (blank: none).
fn address(errors: &mut FieldErrors, field: &str, value: Option<String>) -> String {
    let value = trimmed(value);
    if value.is_empty() {
        return value;
    }
    errors
        .check(field, Email::parse(&value))
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default()
}

/// Text without line breaks or control characters (they would end a header), at most `max`.
pub(crate) fn line(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.add(field, format!("is too long (at most {max} characters)"));
    } else if value.chars().any(char::is_control) {
        errors.add(field, "must be one line without control characters");
    }
}

/// A DNS label list: letters, digits, `-`, `_` and `.`.
pub(crate) fn dns_name(errors: &mut FieldErrors, field: &str, value: &str) {
    line(errors, field, value, MAX_NAME);
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        errors.add(field, "may hold only letters, digits, '-', '_' and '.'");
    }
}

/// The pattern of a host name, DKIM selector or domain (what [`EmailSettingsInput::apply`]
/// accepts), for the OpenAPI document.
pub fn dns_pattern() -> String {
    r"^[A-Za-z0-9._-]*$".to_owned()
}

impl EmailSettingsInput {
    /// The settings to store in place of `stored`: each mistake named by its field, the
    /// secrets sealed under `key` (or kept, or cleared).
    pub fn apply(
        self,
        stored: &EmailSettings,
        key: &SecretKey,
    ) -> Result<EmailSettings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let enabled = self.enabled.unwrap_or(false);
        let host = trimmed(self.host);
        if host.chars().count() > MAX_HOST {
            errors.add(
                "host",
                format!("is too long (at most {MAX_HOST} characters)"),
            );
        } else {
            dns_name(&mut errors, "host", &host);
        }
        if enabled && host.is_empty() {
            errors.add("host", "is needed to send e-mail");
        }
        let port = self.port.unwrap_or(DEFAULT_PORT);
        let port = errors.check(
            "port",
            u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or("must be from 1 to 65535"),
        );
        let tls = self.tls.unwrap_or(TlsMode::Starttls);
        let allow_plaintext = self.allow_plaintext.unwrap_or(false);
        if tls == TlsMode::None && !allow_plaintext {
            errors.add(
                "tls",
                "none sends the password and every message in clear: set allow_plaintext to true to allow it",
            );
        }
        let username = trimmed(self.username);
        line(&mut errors, "username", &username, MAX_NAME);
        let password = SecretChange::of(self.password);
        if let SecretChange::Set(p) = &password
            && p.chars().count() > MAX_PASSWORD
        {
            errors.add(
                "password",
                format!("is too long (at most {MAX_PASSWORD} characters)"),
            );
        }
        let from_name = trimmed(self.from_name);
        line(&mut errors, "from_name", &from_name, MAX_NAME);
        let from_address = address(&mut errors, "from_address", self.from_address);
        if enabled && from_address.is_empty() && !errors.0.iter().any(|e| e.field == "from_address")
        {
            errors.add("from_address", "is needed to send e-mail");
        }
        let reply_to = address(&mut errors, "reply_to", self.reply_to);
        let daily_limit = self.daily_limit.unwrap_or(DEFAULT_DAILY_LIMIT);
        if !(DAILY_LIMIT.0..=DAILY_LIMIT.1).contains(&daily_limit) {
            errors.add(
                "daily_limit",
                format!("must be from {} to {}", DAILY_LIMIT.0, DAILY_LIMIT.1),
            );
        }
        let dkim_selector = trimmed(self.dkim_selector);
        dns_name(&mut errors, "dkim_selector", &dkim_selector);
        let dkim_domain = trimmed(self.dkim_domain).to_lowercase();
        dns_name(&mut errors, "dkim_domain", &dkim_domain);
        let dkim_key = SecretChange::of(self.dkim_private_key);
        if let SecretChange::Set(k) = &dkim_key
            && k.chars().count() > MAX_KEY
        {
            errors.add(
                "dkim_private_key",
                format!("is too long (at most {MAX_KEY} characters)"),
            );
        }
        let key_set = match &dkim_key {
            SecretChange::Keep => stored.dkim_key_sealed.is_some(),
            SecretChange::Clear => false,
            SecretChange::Set(_) => true,
        };
        let dkim_parts = [
            ("dkim_selector", !dkim_selector.is_empty()),
            ("dkim_domain", !dkim_domain.is_empty()),
            ("dkim_private_key", key_set),
        ];
        if dkim_parts.iter().any(|(_, set)| *set) {
            for (field, set) in dkim_parts {
                if !set {
                    errors.add(
                        field,
                        "DKIM needs a selector, a domain and a private key together",
                    );
                }
            }
        }
        errors.into_result()?;
        Ok(EmailSettings {
            enabled,
            host,
            port: port.unwrap_or(587),
            tls,
            allow_plaintext,
            username,
            password_sealed: password.sealed(&stored.password_sealed, key),
            from_name,
            from_address,
            reply_to,
            daily_limit,
            dkim_selector,
            dkim_domain,
            dkim_key_sealed: dkim_key.sealed(&stored.dkim_key_sealed, key),
            track_opens: self.track_opens.unwrap_or(true),
            track_clicks: self.track_clicks.unwrap_or(true),
            inbound_secret_sealed: stored.inbound_secret_sealed.clone(),
            imap: stored.imap.clone(),
        })
    }
}

impl EmailSettings {
    /// Whether the stored settings still hold together (a document a later version refuses
    /// is read as the defaults).
    pub fn check(self) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.enabled && (self.host.is_empty() || self.from_address.is_empty()) {
            errors.add("enabled", "needs a host and a from address");
        }
        if self.tls == TlsMode::None && !self.allow_plaintext {
            errors.add("tls", "none needs allow_plaintext");
        }
        self.imap.check(&mut errors);
        errors.into_result()?;
        Ok(self)
    }

    /// Whether a server and a sender are set (enough for a test message).
    pub fn configured(&self) -> bool {
        !self.host.is_empty() && !self.from_address.is_empty()
    }

    /// Whether Rivet sends e-mail for the company: configured and enabled.
    pub fn ready(&self) -> bool {
        self.enabled && self.configured()
    }

    pub fn view(&self) -> EmailSettingsView {
        EmailSettingsView {
            enabled: self.enabled,
            host: self.host.clone(),
            port: self.port,
            tls: self.tls,
            allow_plaintext: self.allow_plaintext,
            username: self.username.clone(),
            password_set: self.password_sealed.is_some(),
            from_name: self.from_name.clone(),
            from_address: self.from_address.clone(),
            reply_to: self.reply_to.clone(),
            daily_limit: self.daily_limit,
            dkim_selector: self.dkim_selector.clone(),
            dkim_domain: self.dkim_domain.clone(),
            dkim_key_set: self.dkim_key_sealed.is_some(),
            track_opens: self.track_opens,
            track_clicks: self.track_clicks,
            inbound_secret_set: self.inbound_secret_sealed.is_some(),
        }
    }

    /// The document as the audit trail shows it: the sealed secrets replaced by [`REDACTED`].
    pub fn redacted(&self) -> Self {
        let hide = |s: &Option<String>| s.as_ref().map(|_| REDACTED.to_owned());
        Self {
            password_sealed: hide(&self.password_sealed),
            dkim_key_sealed: hide(&self.dkim_key_sealed),
            inbound_secret_sealed: hide(&self.inbound_secret_sealed),
            imap: ImapSettings {
                password_sealed: hide(&self.imap.password_sealed),
                ..self.imap.clone()
            },
            ..self.clone()
        }
    }

    /// The inbound e-mail secret in clear, to check a post's signature with (none made: none).
    pub fn inbound_secret(&self, key: &SecretKey) -> Result<Option<String>, SecretError> {
        self.inbound_secret_sealed
            .as_deref()
            .map(|s| key.open(s))
            .transpose()
    }

    /// The password in clear, to sign in with (none stored: none).
    pub fn password(&self, key: &SecretKey) -> Result<Option<String>, SecretError> {
        self.password_sealed
            .as_deref()
            .map(|s| key.open(s))
            .transpose()
    }

    /// The DKIM key in clear, with its selector and domain, when DKIM is set up.
    pub fn dkim(&self, key: &SecretKey) -> Result<Option<(String, String, String)>, SecretError> {
        match &self.dkim_key_sealed {
            Some(sealed) if !self.dkim_selector.is_empty() && !self.dkim_domain.is_empty() => {
                Ok(Some((
                    self.dkim_selector.clone(),
                    self.dkim_domain.clone(),
                    key.open(sealed)?,
                )))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input() -> EmailSettingsInput {
        EmailSettingsInput {
            enabled: Some(true),
            host: Some("smtp.example.com".into()),
            from_address: Some("Sales@Example.com".into()),
            password: Some("hunter2".into()),
            ..Default::default()
        }
    }

    #[test]
    fn secrets_are_sealed_kept_and_cleared() {
        let key = SecretKey::generate();
        let stored = input().apply(&EmailSettings::default(), &key).unwrap();
        let sealed = stored.password_sealed.clone().unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(stored.password(&key).unwrap().as_deref(), Some("hunter2"));
        assert_eq!(stored.from_address, "sales@example.com");
        assert!(stored.view().password_set);

        let kept = EmailSettingsInput {
            password: None,
            ..input()
        }
        .apply(&stored, &key)
        .unwrap();
        assert_eq!(kept.password_sealed.as_deref(), Some(sealed.as_str()));

        let cleared = EmailSettingsInput {
            password: Some(String::new()),
            ..input()
        }
        .apply(&stored, &key)
        .unwrap();
        assert_eq!(cleared.password_sealed, None);
        assert_eq!(stored.redacted().password_sealed.as_deref(), Some(REDACTED));
    }

    #[test]
    fn mistakes_are_named_by_their_field() {
        let key = SecretKey::generate();
        let bad = EmailSettingsInput {
            enabled: Some(true),
            host: Some("smtp example".into()),
            port: Some(70_000),
            tls: Some(TlsMode::None),
            from_address: Some("nope".into()),
            reply_to: Some("also nope".into()),
            daily_limit: Some(0),
            dkim_selector: Some("s1".into()),
            ..Default::default()
        };
        let errors = bad.apply(&EmailSettings::default(), &key).unwrap_err();
        let mut fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        fields.dedup();
        assert_eq!(
            fields,
            [
                "daily_limit",
                "dkim_domain",
                "dkim_private_key",
                "from_address",
                "host",
                "port",
                "reply_to",
                "tls"
            ]
        );
        let plain = EmailSettingsInput {
            tls: Some(TlsMode::None),
            allow_plaintext: Some(true),
            ..input()
        };
        assert!(plain.apply(&EmailSettings::default(), &key).is_ok());
        let missing = EmailSettingsInput {
            enabled: Some(true),
            ..Default::default()
        };
        let errors = missing.apply(&EmailSettings::default(), &key).unwrap_err();
        assert_eq!(errors.0.len(), 2, "{errors}");
    }
}
