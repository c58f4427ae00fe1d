//! The BANT and MEDDICC checklist on a lead's and a deal's page (issue 14 §2): the BANT score,
//! MEDDICC completeness and strength, each element's status, note, value, points and what it
//! still lacks, and a form that edits them all at once. Saving is a patch of the record's
//! fields through the API's function, so the same checks (and the same gates) apply.

use super::view::{Ctx, WebError, WebForm};
use crate::api::record::{ApiRecord, update_record};
use crate::http::error::AppError;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::checklist::{ELEMENTS, ElementStatus, Framework, ValueKind};
use rivet_domain::ids::Id;
use rivet_store::checklist::Checked;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One element's line.
pub struct Row {
    pub element: &'static str,
    pub status_field: &'static str,
    pub label: &'static str,
    pub question: &'static str,
    pub status: &'static str,
    pub note: String,
    /// The typed value as the page shows it (a contact by name).
    pub value: String,
    pub points: i32,
    pub max_points: i32,
    pub missing: String,
    /// `money`, `date`, `contact` or empty: which input the form shows beside the note.
    pub kind: &'static str,
    /// The typed value as the form's input holds it (a contact's id).
    pub input: String,
}

/// The card: the figures, BANT's rows and MEDDICC's, and the form's target.
pub struct Card {
    pub action: String,
    pub can_update: bool,
    pub bant_score: i32,
    pub meddicc_completeness: i32,
    pub meddicc_strength: i32,
    pub bant: Vec<Row>,
    pub meddicc: Vec<Row>,
    pub budget_currency: String,
    /// Contacts a contact element may name: (id, name).
    pub contacts: Vec<(String, String)>,
    pub statuses: &'static [&'static str],
}

/// The card of `record` at `path` (`/leads/{id}`), with `contacts` to choose from (the
/// record's account's; a lead has none, and keeps what it names).
pub fn card<R: Checked>(
    record: &R,
    path: &str,
    can_update: bool,
    mut contacts: Vec<(String, String)>,
) -> Card {
    let view = record.checklist_view();
    let checklist = record.checklist();
    let contact_name = |id: &str| {
        contacts
            .iter()
            .find(|(c, _)| c == id)
            .map_or_else(|| id.to_owned(), |(_, n)| n.clone())
    };
    let mut named = Vec::new();
    let rows: Vec<(Framework, Row)> = ELEMENTS
        .iter()
        .zip(view.items)
        .map(|(element, item)| {
            let input = match element.value {
                Some(ValueKind::Money) => checklist
                    .budget
                    .as_ref()
                    .map(|m| m.amount())
                    .unwrap_or_default(),
                _ => match (element.name, &checklist) {
                    ("economic_buyer", c) => c.economic_buyer.map(|i| i.to_string()),
                    ("champion", c) => c.champion.map(|i| i.to_string()),
                    ("timeline", c) => c.timeline_date.clone(),
                    _ => None,
                }
                .unwrap_or_default(),
            };
            let value = match element.value {
                Some(ValueKind::Contact) if !input.is_empty() => {
                    named.push(input.clone());
                    contact_name(&input)
                }
                _ => item.value.clone().unwrap_or_default(),
            };
            let row = Row {
                element: element.name,
                status_field: element.status_field,
                label: element.label,
                question: element.question,
                status: item.status.as_str(),
                note: item.note.unwrap_or_default(),
                value,
                points: item.points,
                max_points: item.max_points,
                missing: item.missing.unwrap_or_default(),
                kind: match element.value {
                    Some(ValueKind::Money) => "money",
                    Some(ValueKind::Date) => "date",
                    Some(ValueKind::Contact) => "contact",
                    None => "",
                },
                input,
            };
            (element.framework, row)
        })
        .collect();
    // A contact named but not among the choices stays choosable (shown by its id).
    for id in named {
        if !contacts.iter().any(|(c, _)| *c == id) {
            contacts.push((id.clone(), id));
        }
    }
    let (bant, meddicc): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|(f, _)| *f == Framework::Bant);
    Card {
        action: format!("{path}/checklist"),
        can_update,
        bant_score: view.scores.bant_score,
        meddicc_completeness: view.scores.meddicc_completeness,
        meddicc_strength: view.scores.meddicc_strength,
        bant: bant.into_iter().map(|(_, r)| r).collect(),
        meddicc: meddicc.into_iter().map(|(_, r)| r).collect(),
        budget_currency: checklist.budget.map(|m| m.currency).unwrap_or_default(),
        contacts,
        statuses: ElementStatus::NAMES,
    }
}

/// The patch a checklist form makes: each field the form holds, empty as none.
fn patch_of(form: &HashMap<String, String>) -> Map<String, Value> {
    let mut fields: Vec<&str> = Vec::new();
    for element in ELEMENTS {
        fields.extend([element.name, element.status_field]);
    }
    fields.extend(rivet_domain::checklist::VALUE_FIELDS);
    fields
        .into_iter()
        .filter_map(|field| {
            let value = form.get(field)?.trim();
            Some((
                field.to_owned(),
                if value.is_empty() {
                    Value::Null
                } else {
                    Value::from(value)
                },
            ))
        })
        .collect()
}

/// `POST /leads/{id}/checklist`, `POST /deals/{id}/checklist`.
pub async fn save<R: ApiRecord + Checked>(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let back = format!("{}/{id}", R::PATH);
    let id: Id<R::Kind> = match id.parse() {
        Ok(id) => id,
        Err(_) => return Err(ctx.fail(AppError::NotFound)),
    };
    match update_record::<R>(&ctx.app, &ctx.actor, id, patch_of(&form)).await {
        Ok(_) => Ok(ctx.done(&format!("{back}#checklist"), "Saved the checklist.")),
        Err(AppError::Validation(errors)) => {
            let what: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
                .collect();
            Ok(ctx.refused(
                &format!("{back}#checklist"),
                format!("The checklist was not saved: {}.", what.join("; ")),
            ))
        }
        Err(other) => Err(ctx.fail(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_a_patch_of_the_fields_it_holds() {
        let form: HashMap<String, String> = [
            ("budget_status", "confirmed"),
            ("budget", " 50k "),
            ("timeline_date", ""),
            ("csrf", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let patch = patch_of(&form);
        assert_eq!(patch.len(), 3);
        assert_eq!(patch["budget"], "50k");
        assert_eq!(patch["timeline_date"], Value::Null);
        assert!(!patch.contains_key("csrf"));
    }
}
