//! A condition on a lead's fields as a form row (operator, field, value, from, to, regions),
//! shared by the pages that edit conditions: assignment rules, scoring's fit rules, and
//! workflow rules (on any record's fields, [`row_on`]). A row's
//! inputs are named `{prefix}_op`, `{prefix}_field`, …; the macro `condition_row` in
//! `web/conditions_macros.html` draws one.

use super::view::{Opt, options};
use rivet_domain::assignment::{AssignmentEntity, ConditionInput, ConditionOp};
use serde_json::Value;
use std::collections::HashMap;

/// A posted form by input name.
pub type Fields = HashMap<String, String>;

pub fn get<'a>(form: &'a Fields, key: &str) -> &'a str {
    form.get(key).map(|s| s.as_str()).unwrap_or("")
}

/// The parts of a row.
const PARTS: &[&str] = &["op", "field", "value", "gte", "lte", "regions"];

/// One condition row as the page draws it.
pub struct CondRow {
    pub index: usize,
    pub fid: String,
    pub op_name: String,
    pub field_name: String,
    pub value_name: String,
    pub gte_name: String,
    pub lte_name: String,
    pub regions_name: String,
    pub op_options: Vec<Opt>,
    pub field_options: Vec<Opt>,
    pub value: String,
    pub gte: String,
    pub lte: String,
    pub regions: String,
}

/// Every input name of the row `prefix`.
pub fn names(prefix: &str) -> Vec<String> {
    PARTS.iter().map(|p| format!("{prefix}_{p}")).collect()
}

/// The input of row `prefix` that an API error on the condition's `part` (`values[2]`,
/// `countries`, `gte`) sits next to.
pub fn field_name(prefix: &str, part: &str) -> String {
    let part = part.split('[').next().unwrap_or(part);
    let part = match part {
        "values" | "countries" => "value",
        other => other,
    };
    format!("{prefix}_{part}")
}

fn join_values(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn value_text(value: Option<&Value>) -> String {
    value
        .map(|v| join_values(std::slice::from_ref(v)))
        .unwrap_or_default()
}

/// A condition in words: `country is one of DE, AT`.
pub fn describe(c: &ConditionInput) -> String {
    let field = c.field.clone().unwrap_or_default();
    match c.op.as_str() {
        "equals" => format!("{field} is {}", value_text(c.value.as_ref())),
        "in" => format!(
            "{field} is one of {}",
            join_values(c.values.as_deref().unwrap_or_default())
        ),
        "contains" => format!("{field} contains {}", value_text(c.value.as_ref())),
        "range" => match (&c.gte, &c.lte) {
            (Some(low), Some(high)) => format!(
                "{field} from {} to {}",
                value_text(Some(low)),
                value_text(Some(high))
            ),
            (Some(low), None) => format!("{field} at least {}", value_text(Some(low))),
            (None, Some(high)) => format!("{field} at most {}", value_text(Some(high))),
            (None, None) => field,
        },
        "territory" => {
            let mut parts = Vec::new();
            if let Some(countries) = &c.countries {
                parts.push(format!("country in {}", countries.join(", ")));
            }
            if let Some(regions) = &c.regions {
                parts.push(format!("region in {}", regions.join(", ")));
            }
            parts.join(" or ")
        }
        "source" => format!(
            "source is one of {}",
            join_values(c.values.as_deref().unwrap_or_default())
        ),
        "filled" => format!("{field} is filled in"),
        "free_email" => "e-mail at a free mail service".to_owned(),
        "work_email" => "work e-mail (not a free mail service)".to_owned(),
        other => other.to_owned(),
    }
}

/// Put condition `c` into the inputs of row `prefix`.
pub fn write(f: &mut Fields, prefix: &str, c: &ConditionInput) {
    f.insert(format!("{prefix}_op"), c.op.clone());
    f.insert(
        format!("{prefix}_field"),
        c.field.clone().unwrap_or_default(),
    );
    let value = match c.op.as_str() {
        "in" | "source" => join_values(c.values.as_deref().unwrap_or_default()),
        "territory" => c.countries.clone().unwrap_or_default().join(", "),
        _ => value_text(c.value.as_ref()),
    };
    f.insert(format!("{prefix}_value"), value);
    f.insert(format!("{prefix}_gte"), value_text(c.gte.as_ref()));
    f.insert(format!("{prefix}_lte"), value_text(c.lte.as_ref()));
    f.insert(
        format!("{prefix}_regions"),
        c.regions.clone().unwrap_or_default().join(", "),
    );
}

fn split(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn some_text(text: &str) -> Option<Value> {
    let text = text.trim();
    (!text.is_empty()).then(|| Value::String(text.to_owned()))
}

/// The condition row `prefix` describes; `None` when it names no operator (a spare row).
pub fn read(form: &Fields, prefix: &str) -> Option<ConditionInput> {
    let op = get(form, &format!("{prefix}_op")).trim();
    if op.is_empty() {
        return None;
    }
    let value = get(form, &format!("{prefix}_value"));
    let field = some_text(get(form, &format!("{prefix}_field")))
        .and_then(|v| v.as_str().map(str::to_owned));
    let list = || Some(split(value).into_iter().map(Value::String).collect());
    let mut c = ConditionInput {
        op: op.to_owned(),
        ..ConditionInput::default()
    };
    match op.parse::<ConditionOp>() {
        Ok(ConditionOp::Equals | ConditionOp::Contains) => {
            c.field = field;
            c.value = Some(Value::String(value.trim().to_owned()));
        }
        Ok(ConditionOp::In) => {
            c.field = field;
            c.values = list();
        }
        Ok(ConditionOp::Source) => c.values = list(),
        Ok(ConditionOp::Range) => {
            c.field = field;
            c.gte = some_text(get(form, &format!("{prefix}_gte")));
            c.lte = some_text(get(form, &format!("{prefix}_lte")));
        }
        Ok(ConditionOp::Territory) => {
            let countries = split(value);
            let regions = split(get(form, &format!("{prefix}_regions")));
            c.countries = (!countries.is_empty()).then_some(countries);
            c.regions = (!regions.is_empty()).then_some(regions);
        }
        Ok(ConditionOp::Filled) => c.field = field,
        Ok(ConditionOp::FreeEmail | ConditionOp::WorkEmail) | Err(_) => {}
    }
    Some(c)
}

/// Row `prefix` as the page draws it, from the form's values: a condition on a lead.
pub fn row(form: &Fields, prefix: &str, index: usize) -> CondRow {
    let fields: Vec<&str> = AssignmentEntity::Leads
        .fields()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    row_on(form, prefix, index, &fields)
}

/// Row `prefix` as the page draws it, on a record with these `fields` (workflow rules on any
/// record type).
pub fn row_on(form: &Fields, prefix: &str, index: usize, fields: &[&str]) -> CondRow {
    let mut op_items = vec![(String::new(), "— no condition —".to_owned())];
    op_items.extend(
        ConditionOp::NAMES
            .iter()
            .map(|n| ((*n).to_owned(), n.replace('_', " "))),
    );
    let mut field_items = vec![(String::new(), "—".to_owned())];
    field_items.extend(
        fields
            .iter()
            .map(|n| ((*n).to_owned(), n.replace('_', " "))),
    );
    let name = |part: &str| format!("{prefix}_{part}");
    CondRow {
        index,
        fid: prefix.to_owned(),
        op_name: name("op"),
        field_name: name("field"),
        value_name: name("value"),
        gte_name: name("gte"),
        lte_name: name("lte"),
        regions_name: name("regions"),
        op_options: options(op_items, get(form, &name("op"))),
        field_options: options(field_items, get(form, &name("field"))),
        value: get(form, &name("value")).to_owned(),
        gte: get(form, &name("gte")).to_owned(),
        lte: get(form, &name("lte")).to_owned(),
        regions: get(form, &name("regions")).to_owned(),
    }
}
