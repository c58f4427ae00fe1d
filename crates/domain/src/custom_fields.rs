//! Custom fields: extra fields a company defines for its leads, accounts, contacts and deals.
//! A definition names the field (`key`, its API name under `custom_fields`), says what kind of
//! value it holds and whether it is required; the record's `custom_fields` object is checked
//! against the definitions on every write ([`validate_custom_fields`]) and lists filter and sort
//! on it as `cf.<key>` (see [`crate::query`]).
//!
//! Values are stored normalised: numbers as JSON numbers, dates as `YYYY-MM-DD`, booleans as
//! JSON booleans, select values as one of the options, multi-select values as an array of
//! options. An empty value (`null`, `""`, `[]`) is no value: it is not stored.
//!
//! A company that has defined no custom field for a record type keeps a free-form
//! `custom_fields` object there, stored as given (what Rivet did before definitions existed).

use crate::Resource;
use crate::validate::{Email, FieldErrors};
use crate::values::parse_url;
use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use std::fmt;
use std::str::FromStr;

/// The record types that have custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CustomFieldRecordType)]
pub enum RecordType {
    Lead,
    Account,
    Contact,
    Deal,
}

impl RecordType {
    pub const ALL: [Self; 4] = [Self::Lead, Self::Account, Self::Contact, Self::Deal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Account => "account",
            Self::Contact => "contact",
            Self::Deal => "deal",
        }
    }

    /// The permission resource of the records themselves.
    pub fn resource(self) -> Resource {
        match self {
            Self::Lead => Resource::Leads,
            Self::Account => Resource::Accounts,
            Self::Contact => Resource::Contacts,
            Self::Deal => Resource::Deals,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| "must be one of: lead, account, contact, deal".to_owned())
    }
}

/// What a custom field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomFieldKind {
    Text,
    Number,
    Date,
    Boolean,
    Select,
    MultiSelect,
    Url,
    Email,
}

impl CustomFieldKind {
    pub const ALL: [Self; 8] = [
        Self::Text,
        Self::Number,
        Self::Date,
        Self::Boolean,
        Self::Select,
        Self::MultiSelect,
        Self::Url,
        Self::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Boolean => "boolean",
            Self::Select => "select",
            Self::MultiSelect => "multi_select",
            Self::Url => "url",
            Self::Email => "email",
        }
    }

    /// Select and multi-select fields pick from a list of options; no other kind has one.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Select | Self::MultiSelect)
    }
}

impl fmt::Display for CustomFieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CustomFieldKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                "must be one of: text, number, date, boolean, select, multi_select, url, email"
                    .to_owned()
            })
    }
}

/// Longest key (API name).
pub const KEY_MAX: usize = 40;
/// Longest label.
pub const LABEL_MAX: usize = 100;
/// Longest option of a select field.
pub const OPTION_MAX: usize = 100;
/// Most options of a select field.
pub const MAX_OPTIONS: usize = 100;
/// Most custom fields of one record type in one company.
pub const MAX_DEFINITIONS: usize = 100;
/// Longest text value.
pub const TEXT_MAX: usize = 2000;
/// A definition's position in forms and lists: 1 to this.
pub const MAX_POSITION: i32 = 10_000;

/// What [`parse_key`] accepts, as a JSON Schema pattern.
pub fn key_pattern() -> String {
    let ws = crate::validate::WS;
    format!("^[{ws}]*[a-z][a-z0-9_]{{0,{}}}[{ws}]*$", KEY_MAX - 1)
}

/// A key is snake case: a lower-case letter, then lower-case letters, digits and underscores,
/// 1 to [`KEY_MAX`] characters.
pub fn parse_key(input: &str) -> Result<String, String> {
    let key = input.trim();
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    // The length is counted as sent, as the document's maxLength counts it.
    if first_ok && rest_ok && input.chars().count() <= KEY_MAX {
        Ok(key.to_owned())
    } else {
        Err(format!(
            "must be 1 to {KEY_MAX} characters: a lower-case letter, then lower-case letters, \
             digits or _"
        ))
    }
}

/// A label: trimmed, 1 to [`LABEL_MAX`] characters.
pub fn parse_label(input: &str) -> Result<String, String> {
    let label = input.trim();
    if label.is_empty() || label.chars().count() > LABEL_MAX {
        Err(format!("must be 1 to {LABEL_MAX} characters"))
    } else {
        Ok(label.to_owned())
    }
}

/// The options of a field of `kind`: required (1 to [`MAX_OPTIONS`] distinct, each 1 to
/// [`OPTION_MAX`] characters) for select kinds, absent or empty for the others.
pub fn parse_options(
    kind: CustomFieldKind,
    options: Option<&[String]>,
) -> Result<Vec<String>, String> {
    let given = options.unwrap_or_default();
    if !kind.has_options() {
        return if given.is_empty() {
            Ok(Vec::new())
        } else {
            Err("only select and multi_select fields have options".into())
        };
    }
    if given.is_empty() || given.len() > MAX_OPTIONS {
        return Err(format!("a {kind} field needs 1 to {MAX_OPTIONS} options"));
    }
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for option in given {
        let option = option.trim();
        if option.is_empty() || option.chars().count() > OPTION_MAX {
            return Err(format!("each option has 1 to {OPTION_MAX} characters"));
        }
        if out.iter().any(|o| o == option) {
            return Err(format!("lists {option} twice"));
        }
        out.push(option.to_owned());
    }
    Ok(out)
}

/// A definition as validation and lists see it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub key: String,
    pub label: String,
    pub kind: CustomFieldKind,
    pub options: Vec<String>,
    pub required: bool,
}

impl FieldDef {
    /// The field as list queries see it.
    pub fn spec(&self) -> crate::query::CustomSpec {
        crate::query::CustomSpec {
            key: self.key.clone(),
            kind: self.kind,
            options: self.options.clone(),
        }
    }

    /// The value normalised, `None` when it is empty; the error says what was expected.
    pub fn normalise(&self, value: &Value) -> Result<Option<Value>, String> {
        normalise_value(self.kind, &self.options, value)
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn parse_number(value: &Value) -> Option<Value> {
    let n = match value {
        Value::Number(n) => return n.as_f64().filter(|f| f.is_finite()).map(|_| value.clone()),
        Value::String(s) => s.trim(),
        _ => return None,
    };
    if let Ok(i) = n.parse::<i64>() {
        return Some(json!(i));
    }
    n.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| json!(f))
}

/// A date as `YYYY-MM-DD`; an RFC 3339 time is taken as its date.
pub fn parse_date(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(d.format("%Y-%m-%d").to_string());
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.date_naive().format("%Y-%m-%d").to_string())
}

/// Normalise one value of a field of `kind` (with `options` for select kinds); `None` when it is
/// empty.
pub fn normalise_value(
    kind: CustomFieldKind,
    options: &[String],
    value: &Value,
) -> Result<Option<Value>, String> {
    if is_empty(value) {
        return Ok(None);
    }
    let text = value.as_str().map(str::trim);
    let one_of = || format!("must be one of: {}", options.join(", "));
    let normalised = match kind {
        CustomFieldKind::Text => match text {
            Some(t) if t.chars().count() <= TEXT_MAX => json!(t),
            Some(_) => return Err(format!("must be at most {TEXT_MAX} characters")),
            None => return Err("must be text".into()),
        },
        CustomFieldKind::Number => {
            parse_number(value).ok_or_else(|| "must be a number".to_owned())?
        }
        CustomFieldKind::Date => text
            .and_then(parse_date)
            .map(Value::String)
            .ok_or_else(|| "must be a date (YYYY-MM-DD)".to_owned())?,
        CustomFieldKind::Boolean => match (value, text) {
            (Value::Bool(b), _) => json!(b),
            (_, Some("true")) => json!(true),
            (_, Some("false")) => json!(false),
            _ => return Err("must be true or false".into()),
        },
        CustomFieldKind::Select => match text {
            Some(t) if options.iter().any(|o| o == t) => json!(t),
            _ => return Err(one_of()),
        },
        CustomFieldKind::MultiSelect => {
            let Value::Array(items) = value else {
                return Err(format!(
                    "must be a list of options ({})",
                    options.join(", ")
                ));
            };
            let mut picked: Vec<String> = Vec::new();
            for item in items {
                match item.as_str().map(str::trim) {
                    Some(t) if options.iter().any(|o| o == t) => {
                        if !picked.iter().any(|p| p == t) {
                            picked.push(t.to_owned());
                        }
                    }
                    _ => return Err(format!("each value {}", one_of())),
                }
            }
            json!(picked)
        }
        CustomFieldKind::Url => match text {
            Some(t) => json!(parse_url(t)?),
            None => return Err("must be a web address (http or https)".into()),
        },
        CustomFieldKind::Email => match text.map(Email::parse) {
            Some(Ok(email)) => json!(email.as_str()),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("is not a valid e-mail address".into()),
        },
    };
    Ok(Some(normalised))
}

/// The error field of a custom field's value.
pub fn error_field(key: &str) -> String {
    format!("custom_fields.{key}")
}

/// Check a record's `custom_fields` against the company's definitions for its record type.
///
/// Every key must be defined and every value of its kind (errors name `custom_fields.<key>`).
/// With `partial` false (a new record) every required field must have a value, and empty values
/// are left out of the result. With `partial` true (the keys a patch sends) only the keys given
/// are checked, an empty value comes back as `null` (for [`merge_custom_fields`] to remove), and
/// a required field may not be emptied. With no definitions the object is free-form and comes
/// back as given.
pub fn validate_custom_fields(
    defs: &[FieldDef],
    values: &Map<String, Value>,
    partial: bool,
) -> Result<Map<String, Value>, FieldErrors> {
    if defs.is_empty() {
        return Ok(values.clone());
    }
    let mut errors = FieldErrors::new();
    let mut out = Map::new();
    for (key, value) in values {
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            let known: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
            errors.add(
                &error_field(key),
                format!("is not a custom field; defined: {}", known.join(", ")),
            );
            continue;
        };
        match def.normalise(value) {
            Ok(Some(v)) => {
                out.insert(key.clone(), v);
            }
            Ok(None) if def.required => errors.add(&error_field(key), "is required"),
            Ok(None) => {
                if partial {
                    out.insert(key.clone(), Value::Null);
                }
            }
            Err(message) => errors.add(&error_field(key), message),
        }
    }
    if !partial {
        for def in defs.iter().filter(|d| d.required) {
            if !values.contains_key(&def.key) {
                errors.add(&error_field(&def.key), "is required");
            }
        }
    }
    errors.into_result()?;
    Ok(out)
}

/// `stored` with `changes` applied: a `null` change removes the key.
pub fn merge_custom_fields(
    stored: &Map<String, Value>,
    changes: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = stored.clone();
    for (key, value) in changes {
        if value.is_null() {
            out.remove(key);
        } else {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(key: &str, kind: CustomFieldKind, required: bool) -> FieldDef {
        FieldDef {
            key: key.into(),
            label: key.into(),
            kind,
            options: if kind.has_options() {
                vec!["a".into(), "b".into()]
            } else {
                Vec::new()
            },
            required,
        }
    }

    fn defs() -> Vec<FieldDef> {
        vec![
            def("note", CustomFieldKind::Text, false),
            def("size", CustomFieldKind::Number, true),
            def("due", CustomFieldKind::Date, false),
            def("vip", CustomFieldKind::Boolean, false),
            def("tier", CustomFieldKind::Select, false),
            def("areas", CustomFieldKind::MultiSelect, false),
            def("site", CustomFieldKind::Url, false),
            def("mail", CustomFieldKind::Email, false),
        ]
    }

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn fields(result: Result<Map<String, Value>, FieldErrors>) -> Vec<String> {
        result
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn keys_labels_and_options_are_checked() {
        assert_eq!(parse_key(" deal_size2 "), Ok("deal_size2".into()));
        for bad in ["", "2x", "Size", "a-b", "a b", &"x".repeat(41)] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
        assert!(parse_label("  ").is_err());
        assert!(parse_options(CustomFieldKind::Select, None).is_err());
        assert!(parse_options(CustomFieldKind::Select, Some(&["a".into(), "a".into()])).is_err());
        assert!(parse_options(CustomFieldKind::Text, Some(&["a".into()])).is_err());
        assert_eq!(
            parse_options(CustomFieldKind::MultiSelect, Some(&[" a ".into()])),
            Ok(vec!["a".to_owned()])
        );
    }

    #[test]
    fn values_are_normalised() {
        let got = validate_custom_fields(
            &defs(),
            &map(json!({
                "note": " hi ", "size": "12.5", "due": "2026-03-01T10:00:00Z", "vip": "true",
                "tier": "a", "areas": ["b", "a", "b"], "site": "example.com",
                "mail": "Ann@Example.COM", "vip2": null,
            })),
            false,
        );
        assert_eq!(fields(got.clone()), ["custom_fields.vip2"]);
        let got = validate_custom_fields(
            &defs(),
            &map(json!({
                "note": " hi ", "size": "12.5", "due": "2026-03-01T10:00:00Z", "vip": "true",
                "tier": "a", "areas": ["b", "a", "b"], "site": "example.com",
                "mail": "Ann@Example.COM",
            })),
            false,
        );
        assert_eq!(
            got.map(Value::Object),
            Ok(json!({
                "note": "hi", "size": 12.5, "due": "2026-03-01", "vip": true, "tier": "a",
                "areas": ["b", "a"], "site": "https://example.com", "mail": "ann@example.com",
            }))
        );
        let got = validate_custom_fields(&defs(), &map(json!({"size": 3, "note": ""})), false);
        assert_eq!(got.map(Value::Object), Ok(json!({"size": 3})));
    }

    #[test]
    fn wrong_values_unknown_keys_and_missing_required_fields_are_named() {
        let got = validate_custom_fields(
            &defs(),
            &map(json!({
                "note": 5, "due": "01/02/2026", "vip": "yes", "tier": "c",
                "areas": "a", "site": "not a site", "mail": "nope", "other": 1,
            })),
            false,
        );
        let mut got = fields(got);
        got.sort();
        assert_eq!(
            got,
            [
                "custom_fields.areas",
                "custom_fields.due",
                "custom_fields.mail",
                "custom_fields.note",
                "custom_fields.other",
                "custom_fields.site",
                "custom_fields.size",
                "custom_fields.tier",
                "custom_fields.vip",
            ]
        );
        assert_eq!(
            fields(validate_custom_fields(
                &defs(),
                &map(json!({"size": "many"})),
                false
            )),
            ["custom_fields.size"]
        );
    }

    #[test]
    fn a_patch_checks_only_what_it_sends_and_may_clear_optional_fields() {
        let got = validate_custom_fields(&defs(), &map(json!({"note": null})), true);
        assert_eq!(got.clone().map(Value::Object), Ok(json!({"note": null})));
        let stored = map(json!({"note": "x", "size": 1}));
        let merged = merge_custom_fields(&stored, &got.unwrap_or_default());
        assert_eq!(Value::Object(merged), json!({"size": 1}));
        assert_eq!(
            fields(validate_custom_fields(
                &defs(),
                &map(json!({"size": null})),
                true
            )),
            ["custom_fields.size"]
        );
    }

    #[test]
    fn without_definitions_custom_fields_are_free_form() {
        let given = map(json!({"anything": [1, {"x": null}]}));
        assert_eq!(validate_custom_fields(&[], &given, false), Ok(given));
    }
}
