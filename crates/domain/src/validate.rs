//! Parsing of user input into trusted values, and the per-field error list used for 422s.

use serde::Serialize;
use std::fmt;

/// One invalid field: `field` is the JSON path the client sent (`"email"`, `"permissions[2].scope"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every invalid field of one request. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Record the error of `result` under `field` and return its value, if any.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when no field failed, so a parser can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// A syntactically valid e-mail address, trimmed and lower-cased (the form used for uniqueness).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("must not be empty")]
    Empty,
    #[error("is too long (at most 254 characters)")]
    TooLong,
    #[error("is not a valid e-mail address")]
    Invalid,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let value = input.trim().to_lowercase();
        if value.is_empty() {
            return Err(EmailError::Empty);
        }
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(EmailError::Invalid);
        };
        let domain_ok = !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains(char::is_whitespace)
            && !local.contains('@');
        // `admin@localhost` is a real address on a fresh install, so a dot is not required.
        if domain_ok && local_ok {
            Ok(Self(value))
        } else {
            Err(EmailError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: at most `max` characters as sent (what the document's `maxLength` counts),
/// trimmed, not empty, no control characters.
pub fn parse_name(input: &str, max: usize) -> Result<String, String> {
    let value = input.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if input.chars().count() > max {
        return Err(format!("is too long (at most {max} characters)"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

/// What [`parse_name`] accepts, as JSON Schema: no control character, at least one character
/// that is not white space, at most `max` characters (counted before trimming).
pub fn name_schema(max: usize) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(NAME_PATTERN))
        .build()
}

/// [`name_schema`] where `null` (or leaving the field out) keeps the current name.
pub fn optional_name_schema(max: usize) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut schema = name_schema(max);
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

/// The characters `str::trim` removes (Unicode White_Space), as the inside of a regex class:
/// every pattern that allows white space around a value uses it, so the document and the
/// parsers trim the same characters.
pub const WS: &str = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// Text with at least one character that is not white space (what a required text field needs
/// once trimmed), as a JSON Schema pattern.
pub fn non_blank_pattern() -> String {
    format!("[^{WS}]")
}

/// Nothing but white space (what a choice left blank, meaning its default, may be).
pub fn blank_pattern() -> String {
    format!("^[{WS}]*$")
}

/// No control character anywhere, and one character that is neither control nor white space.
pub const NAME_PATTERN: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$";

/// Schemas for `#[schema(schema_with = …)]`, one per length a name may have.
pub mod names {
    use super::{name_schema, optional_name_schema};
    use utoipa::openapi::schema::Object;

    pub fn name_80() -> Object {
        name_schema(80)
    }
    pub fn name_100() -> Object {
        name_schema(100)
    }
    pub fn name_200() -> Object {
        name_schema(200)
    }
    pub fn optional_name_80() -> Object {
        optional_name_schema(80)
    }
    pub fn optional_name_100() -> Object {
        optional_name_schema(100)
    }
    pub fn optional_name_200() -> Object {
        optional_name_schema(200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").map(|e| e.to_string()),
            Ok("ann@example.com".to_owned())
        );
        assert!(Email::parse("admin@localhost").is_ok());
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a b@x.com",
            "a@x..com",
            "a@.x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Sales  ", 10), Ok("Sales".to_owned()));
        assert!(parse_name("   ", 10).is_err());
        assert!(parse_name("abcdefghijk", 10).is_err());
        assert!(parse_name("a\u{7}b", 10).is_err());
        // The length is counted as sent, as the document's maxLength counts it.
        assert!(parse_name("abcdefghij ", 10).is_err());
    }
}
