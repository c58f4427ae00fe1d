//! What every record form shares: a field's text, and the JSON a form's number, owner and tags
//! fields become.

use super::view::FormErrors;
use serde_json::{Map, Value};
use uuid::Uuid;

pub(super) fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// A whole number typed into a form (thousands separators allowed) as JSON; empty is `null`.
pub(super) fn number_json(text: &str, field: &str, errors: &mut FormErrors) -> Value {
    let text = text.trim();
    if text.is_empty() {
        return Value::Null;
    }
    match text.replace([',', '_', ' '], "").parse::<i64>() {
        Ok(n) => Value::from(n),
        Err(_) => {
            errors.add(field, "must be a whole number");
            Value::Null
        }
    }
}

/// The owner select into the body; left empty, the body keeps the current (or default) owner.
pub(super) fn owner_json(map: &mut Map<String, Value>, owner_id: &str, errors: &mut FormErrors) {
    if let Ok(owner) = Uuid::parse_str(owner_id.trim()) {
        map.insert("owner_id".into(), Value::String(owner.to_string()));
    } else if !owner_id.trim().is_empty() {
        errors.add("owner_id", "is not a member of this company");
    }
}

/// Comma-separated tags as a JSON list.
pub(super) fn tags_json(text: &str) -> Value {
    Value::Array(
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_owned()))
            .collect(),
    )
}
