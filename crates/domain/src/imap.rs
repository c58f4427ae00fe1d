//! IMAP polling settings (issue 15 §3 Tracking): the mailbox a company's replies and bounces
//! land in, which Rivet reads as the inbound endpoint would be posted to. As a client writes
//! them ([`ImapSettingsInput`]), as they are stored inside the company's e-mail settings
//! document ([`ImapSettings`], the `imap` part of [`crate::email::EmailSettings`]) and as the
//! API shows them with the last poll ([`ImapSettingsView`], [`ImapPoll`]).
//!
//! The password is sealed the one way the SMTP password is ([`SecretChange`]: left out keeps
//! it, `""` clears it), never shown (`password_set`), and redacted in the audit trail with the
//! rest of the document. The TLS rule is SMTP's: `none` only with `allow_plaintext`. Talking to
//! the server is the server crate's `imap` module; where each company's mailbox was read up to
//! is the store's.

use crate::email::{MAX_HOST, MAX_NAME, MAX_PASSWORD, SecretChange, TlsMode, dns_name, line};
use crate::secrets::{SecretError, SecretKey};
use crate::validate::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// IMAP over TLS from the first byte.
pub const DEFAULT_PORT: i64 = 993;
pub const DEFAULT_FOLDER: &str = "INBOX";
/// Minutes between two polls: the bounds and the default.
pub const POLL_MINUTES: (i64, i64) = (1, 1440);
pub const DEFAULT_POLL_MINUTES: i64 = 5;

/// A company's IMAP settings as a client writes them (`PUT /api/v1/settings/email/imap`). A
/// part left out takes its default, except the password, which keeps what is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImapSettingsInput {
    /// Whether Rivet polls the mailbox (false by default). Enabled settings need a host and a
    /// user.
    pub enabled: Option<bool>,
    /// The IMAP server's host name or address.
    pub host: Option<String>,
    /// Its port (1 to 65535; 993 by default).
    pub port: Option<i64>,
    /// `tls` (default, port 993), `starttls` (port 143), or `none`, which needs
    /// `allow_plaintext: true`.
    pub tls: Option<TlsMode>,
    /// Allows `tls: none`: the password and every message cross the network in clear.
    pub allow_plaintext: Option<bool>,
    /// The user to sign in as.
    pub username: Option<String>,
    /// The password: left out keeps the stored one, `""` clears it. Never shown again.
    pub password: Option<String>,
    /// The folder replies and bounces arrive in (`INBOX` by default).
    pub folder: Option<String>,
    /// Minutes between two polls (1 to 1440; 5 by default).
    pub poll_minutes: Option<i64>,
}

/// A company's IMAP settings as stored: the password sealed (`v1:…`), never in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImapSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub allow_plaintext: bool,
    pub username: String,
    pub password_sealed: Option<String>,
    pub folder: String,
    pub poll_minutes: i64,
}

impl Default for ImapSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: String::new(),
            port: 993,
            tls: TlsMode::Tls,
            allow_plaintext: false,
            username: String::new(),
            password_sealed: None,
            folder: DEFAULT_FOLDER.to_owned(),
            poll_minutes: DEFAULT_POLL_MINUTES,
        }
    }
}

/// How the last poll of the mailbox went (none yet: all empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImapPoll {
    /// When it was last polled, successfully or not.
    pub polled_at: Option<DateTime<Utc>>,
    /// Why the last poll failed, in plain words (null: it worked).
    pub error: Option<String>,
    /// The messages the last poll took.
    pub taken: i64,
    /// The highest UID of the folder taken so far (the next poll starts after it).
    pub last_uid: i64,
}

/// The settings as the API shows them: everything but the password, whether one is set, and
/// the last poll.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImapSettingsView {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub allow_plaintext: bool,
    pub username: String,
    /// Whether a password is stored (it is never shown).
    pub password_set: bool,
    pub folder: String,
    pub poll_minutes: i64,
    pub last_poll: ImapPoll,
}

impl ImapSettingsInput {
    /// The settings to store in place of `stored`: each mistake named by its field, the
    /// password sealed under `key` (or kept, or cleared).
    pub fn apply(
        self,
        stored: &ImapSettings,
        key: &SecretKey,
    ) -> Result<ImapSettings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let enabled = self.enabled.unwrap_or(false);
        let host = self.host.map(|h| h.trim().to_owned()).unwrap_or_default();
        if host.chars().count() > MAX_HOST {
            errors.add(
                "host",
                format!("is too long (at most {MAX_HOST} characters)"),
            );
        } else {
            dns_name(&mut errors, "host", &host);
        }
        if enabled && host.is_empty() {
            errors.add("host", "is needed to poll a mailbox");
        }
        let port = errors.check(
            "port",
            u16::try_from(self.port.unwrap_or(DEFAULT_PORT))
                .ok()
                .filter(|p| *p > 0)
                .ok_or("must be from 1 to 65535"),
        );
        let tls = self.tls.unwrap_or(TlsMode::Tls);
        let allow_plaintext = self.allow_plaintext.unwrap_or(false);
        if tls == TlsMode::None && !allow_plaintext {
            errors.add(
                "tls",
                "none sends the password and every message in clear: set allow_plaintext to true to allow it",
            );
        }
        let username = self
            .username
            .map(|u| u.trim().to_owned())
            .unwrap_or_default();
        line(&mut errors, "username", &username, MAX_NAME);
        if enabled && username.is_empty() {
            errors.add("username", "is needed to sign in to the mailbox");
        }
        let password = SecretChange::of(self.password);
        if let SecretChange::Set(p) = &password
            && p.chars().count() > MAX_PASSWORD
        {
            errors.add(
                "password",
                format!("is too long (at most {MAX_PASSWORD} characters)"),
            );
        }
        let folder = self
            .folder
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| DEFAULT_FOLDER.to_owned());
        line(&mut errors, "folder", &folder, MAX_NAME);
        let poll_minutes = self.poll_minutes.unwrap_or(DEFAULT_POLL_MINUTES);
        if !(POLL_MINUTES.0..=POLL_MINUTES.1).contains(&poll_minutes) {
            errors.add(
                "poll_minutes",
                format!("must be from {} to {}", POLL_MINUTES.0, POLL_MINUTES.1),
            );
        }
        errors.into_result()?;
        Ok(ImapSettings {
            enabled,
            host,
            port: port.unwrap_or(993),
            tls,
            allow_plaintext,
            username,
            password_sealed: password.sealed(&stored.password_sealed, key),
            folder,
            poll_minutes,
        })
    }
}

impl ImapSettings {
    /// Whether the stored settings still hold together.
    pub fn check(&self, errors: &mut FieldErrors) {
        if self.enabled && !self.configured() {
            errors.add("imap.enabled", "needs a host and a user");
        }
        if self.tls == TlsMode::None && !self.allow_plaintext {
            errors.add("imap.tls", "none needs allow_plaintext");
        }
    }

    /// Whether a server and a user are set (enough to test the sign-in).
    pub fn configured(&self) -> bool {
        !self.host.is_empty() && !self.username.is_empty()
    }

    /// Whether Rivet polls the mailbox: configured and enabled.
    pub fn ready(&self) -> bool {
        self.enabled && self.configured()
    }

    /// The password in clear, to sign in with (none stored: none).
    pub fn password(&self, key: &SecretKey) -> Result<Option<String>, SecretError> {
        self.password_sealed
            .as_deref()
            .map(|s| key.open(s))
            .transpose()
    }

    pub fn view(&self, last_poll: ImapPoll) -> ImapSettingsView {
        ImapSettingsView {
            enabled: self.enabled,
            host: self.host.clone(),
            port: self.port,
            tls: self.tls,
            allow_plaintext: self.allow_plaintext,
            username: self.username.clone(),
            password_set: self.password_sealed.is_some(),
            folder: self.folder.clone(),
            poll_minutes: self.poll_minutes,
            last_poll,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input() -> ImapSettingsInput {
        ImapSettingsInput {
            enabled: Some(true),
            host: Some("imap.example.com".into()),
            username: Some("replies@example.com".into()),
            password: Some("hunter2".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_password_is_sealed_kept_and_cleared() {
        let key = SecretKey::generate();
        let stored = input().apply(&ImapSettings::default(), &key).unwrap();
        assert!(!stored.password_sealed.clone().unwrap().contains("hunter2"));
        assert_eq!(stored.password(&key).unwrap().as_deref(), Some("hunter2"));
        assert_eq!((stored.port, stored.tls), (993, TlsMode::Tls));
        assert_eq!(stored.folder, "INBOX");
        let kept = ImapSettingsInput {
            password: None,
            ..input()
        }
        .apply(&stored, &key)
        .unwrap();
        assert_eq!(kept.password_sealed, stored.password_sealed);
        let cleared = ImapSettingsInput {
            password: Some(String::new()),
            ..input()
        }
        .apply(&stored, &key)
        .unwrap();
        assert_eq!(cleared.password_sealed, None);
        assert!(!stored.view(ImapPoll::default()).folder.is_empty());
    }

    #[test]
    fn mistakes_are_named_by_their_field() {
        let key = SecretKey::generate();
        let bad = ImapSettingsInput {
            enabled: Some(true),
            host: Some("imap example".into()),
            port: Some(0),
            tls: Some(TlsMode::None),
            username: Some(String::new()),
            folder: Some("In\nbox".into()),
            poll_minutes: Some(0),
            ..Default::default()
        };
        let errors = bad.apply(&ImapSettings::default(), &key).unwrap_err();
        let mut fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        fields.dedup();
        assert_eq!(
            fields,
            ["host", "port", "tls", "username", "folder", "poll_minutes"]
        );
        let plain = ImapSettingsInput {
            tls: Some(TlsMode::None),
            allow_plaintext: Some(true),
            ..input()
        };
        assert!(plain.apply(&ImapSettings::default(), &key).is_ok());
    }
}
