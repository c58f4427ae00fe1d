//! Company and system settings: their shape, defaults and validation.

use crate::validate::{FieldErrors, parse_name};
use serde::{Deserialize, Serialize};

/// Settings a company's admin controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanySettings {
    pub name: String,
    pub timezone: String,
    pub currency: String,
    pub fiscal_year_start_month: u8,
    pub locale: String,
    /// Closing a deal won or lost needs a `close_reason`.
    #[serde(default)]
    pub require_close_reason: bool,
}

/// The longest password.
pub const PASSWORD_MAX: usize = 256;
/// The longest company name.
pub const COMPANY_NAME_MAX: usize = 200;
/// A BCP 47 tag as [`CompanySettings::validate`] takes it: a language of 2 or 3 lower-case
/// letters, then subtags of 2 to 8 letters or digits.
pub const LOCALE_PATTERN: &str = "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$";
/// The longest locale tag.
pub const LOCALE_MAX: usize = 35;

/// Every time zone name a company may choose (the IANA names the server knows).
pub fn timezones() -> Vec<String> {
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name().to_owned())
        .collect()
}

impl CompanySettings {
    pub fn defaults(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            timezone: "UTC".into(),
            currency: "USD".into(),
            fiscal_year_start_month: 1,
            locale: "en-US".into(),
            require_close_reason: false,
        }
    }

    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        errors.check("name", parse_name(&self.name, COMPANY_NAME_MAX));
        if !is_timezone(&self.timezone) {
            errors.add(
                "timezone",
                "must be an IANA time zone such as Europe/Paris or UTC",
            );
        }
        if !is_currency(&self.currency) {
            errors.add("currency", "must be an ISO 4217 code such as USD");
        }
        if !(1..=12).contains(&self.fiscal_year_start_month) {
            errors.add("fiscal_year_start_month", "must be between 1 and 12");
        }
        if !is_locale(&self.locale) {
            errors.add("locale", "must be a BCP 47 tag such as en-US");
        }
        errors.into_result()
    }
}

/// Settings of the whole installation (every company), changed by a system admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemSettings {
    pub password_min_length: u32,
    pub password_require_digit: bool,
    pub password_require_letter: bool,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub allow_signup: bool,
    pub log_retention_days: u32,
    /// Days domain events (`GET /api/v1/events`) and settled webhook deliveries are kept; an
    /// event a consumer has not applied yet is kept until it has.
    pub event_retention_days: u32,
}

impl Default for SystemSettings {
    fn default() -> Self {
        Self {
            password_min_length: 10,
            password_require_digit: false,
            password_require_letter: true,
            access_token_ttl_seconds: 15 * 60,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            allow_signup: false,
            log_retention_days: 30,
            event_retention_days: 30,
        }
    }
}

impl SystemSettings {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if !(8..=128).contains(&self.password_min_length) {
            errors.add("password_min_length", "must be between 8 and 128");
        }
        if !(60..=24 * 3600).contains(&self.access_token_ttl_seconds) {
            errors.add("access_token_ttl_seconds", "must be between 60 and 86400");
        }
        if !(3600..=365 * 24 * 3600).contains(&self.refresh_token_ttl_seconds) {
            errors.add(
                "refresh_token_ttl_seconds",
                "must be between 3600 and 31536000",
            );
        }
        if !(1..=3650).contains(&self.log_retention_days) {
            errors.add("log_retention_days", "must be between 1 and 3650");
        }
        if !(1..=3650).contains(&self.event_retention_days) {
            errors.add("event_retention_days", "must be between 1 and 3650");
        }
        errors.into_result()
    }

    /// Check a new password against the policy; the message names what is missing.
    pub fn check_password(&self, password: &str) -> Result<(), String> {
        let length = password.chars().count();
        if length < self.password_min_length as usize {
            return Err(format!(
                "must be at least {} characters",
                self.password_min_length
            ));
        }
        if length > PASSWORD_MAX {
            return Err(format!("must be at most {PASSWORD_MAX} characters"));
        }
        if self.password_require_digit && !password.chars().any(|c| c.is_ascii_digit()) {
            return Err("must contain a digit".into());
        }
        if self.password_require_letter && !password.chars().any(char::is_alphabetic) {
            return Err("must contain a letter".into());
        }
        Ok(())
    }
}

/// An ISO 4217 code as [`crate::values::parse_currency`] knows it, upper-case as stored.
fn is_currency(code: &str) -> bool {
    crate::values::currency_codes().contains(&code)
}

fn is_locale(tag: &str) -> bool {
    if tag.len() > LOCALE_MAX {
        return false;
    }
    let mut parts = tag.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()));
    lang_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// An IANA time zone name the server knows (`Europe/Berlin`, `UTC`), so every date the company
/// sees can be shown in it: a well-formed but unknown name (`Europe/Atlantis`) is refused.
fn is_timezone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_company_settings_are_valid() {
        assert_eq!(CompanySettings::defaults("Acme").validate(), Ok(()));
    }

    #[test]
    fn bad_company_settings_name_each_field() {
        let s = CompanySettings {
            name: " ".into(),
            timezone: "Mars".into(),
            currency: "usd".into(),
            fiscal_year_start_month: 13,
            locale: "english".into(),
            require_close_reason: false,
        };
        let fields: Vec<String> = s
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "name",
                "timezone",
                "currency",
                "fiscal_year_start_month",
                "locale"
            ]
        );
    }

    #[test]
    fn only_known_time_zones_are_taken() {
        for tz in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Asia/Kolkata",
        ] {
            assert!(is_timezone(tz), "{tz}");
        }
        for tz in ["Europe/Atlantis", "Mars", "", "europe/berlin", "UTC/Extra"] {
            assert!(!is_timezone(tz), "{tz}");
        }
    }

    #[test]
    fn password_policy_is_enforced() {
        let s = SystemSettings::default();
        assert!(s.check_password("short").is_err());
        assert!(s.check_password("1234567890").is_err());
        assert!(s.check_password("correct horse").is_ok());
    }
}
