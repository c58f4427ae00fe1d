//! The custom fields page (Administration › Custom fields): the company's definitions of each
//! record type in display order with a form for a new one and move up / move down buttons, and
//! one field's page (label, kind, options, required, position; delete). Every change goes
//! through the functions `/api/v1/custom-fields` calls (`crate::api::custom_fields::create_field`,
//! `update_field` and the store's `delete`), so the rules, messages and audit rows are the API's.
//! The values records hold, on the record forms and pages, are `web::custom_fields`.

use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, options, with_query};
use crate::api::custom_fields::{CreateField, UpdateField, create_field, update_field};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::custom_fields::{CustomFieldKind, RecordType};
use rivet_domain::{Action, Resource};
use rivet_store::custom_fields::{self as store, Definition};
use serde::Deserialize;
use uuid::Uuid;

const LIST: &str = "/admin/custom-fields";

/// The form fields the API's messages are about.
const FIELDS: &[&str] = &[
    "record_type",
    "key",
    "label",
    "kind",
    "options",
    "required",
    "position",
];

fn record_label(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::Lead => "Leads",
        RecordType::Account => "Accounts",
        RecordType::Contact => "Contacts",
        RecordType::Deal => "Deals",
    }
}

fn kind_label(kind: CustomFieldKind) -> &'static str {
    match kind {
        CustomFieldKind::Text => "Text",
        CustomFieldKind::Number => "Number",
        CustomFieldKind::Date => "Date",
        CustomFieldKind::Boolean => "Yes / no",
        CustomFieldKind::Select => "Select (one option)",
        CustomFieldKind::MultiSelect => "Multi-select (several options)",
        CustomFieldKind::Url => "Web address",
        CustomFieldKind::Email => "E-mail address",
    }
}

fn record_type_options(selected: &str) -> Vec<Opt> {
    options(
        RecordType::ALL
            .into_iter()
            .map(|t| (t.as_str(), record_label(t))),
        selected,
    )
}

fn kind_options(selected: &str) -> Vec<Opt> {
    options(
        CustomFieldKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), kind_label(k))),
        selected,
    )
}

/// The new and the edit form as posted: plain strings, parsed by the API's function.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct FieldForm {
    record_type: String,
    key: String,
    label: String,
    kind: String,
    /// One option per line.
    options: String,
    /// `true` when the checkbox is ticked.
    required: String,
    position: String,
}

impl FieldForm {
    fn of(def: &Definition) -> Self {
        Self {
            record_type: def.record_type.as_str().into(),
            key: def.key.clone(),
            label: def.label.clone(),
            kind: def.kind.as_str().into(),
            options: def.options.join("\n"),
            required: if def.required {
                "true".into()
            } else {
                String::new()
            },
            position: def.position.to_string(),
        }
    }

    fn options(&self) -> Vec<String> {
        self.options
            .lines()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn required(&self) -> bool {
        self.required == "true"
    }

    /// The position typed, if any; a non-number is a message next to the field.
    fn position(&self, errors: &mut FormErrors) -> Option<i32> {
        let text = self.position.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = text.parse::<i32>().ok();
        if parsed.is_none() {
            errors.add("position", "must be a whole number between 1 and 10000");
        }
        parsed
    }
}

pub struct FieldRow {
    pub id: Uuid,
    pub label: String,
    pub key: String,
    pub kind: &'static str,
    pub options: String,
    pub required: bool,
    pub position: i32,
    pub first: bool,
    pub last: bool,
}

pub struct Group {
    /// `lead`, …: the anchor of the section.
    pub record_type: &'static str,
    pub title: &'static str,
    pub fields: Vec<FieldRow>,
}

#[derive(Template)]
#[template(path = "web/custom_fields_admin.html")]
struct ListPage {
    layout: Layout,
    groups: Vec<Group>,
    can_update: bool,
    form: FieldForm,
    record_type_options: Vec<Opt>,
    kind_options: Vec<Opt>,
    errors: FormErrors,
}

async fn list_page(ctx: &Ctx, form: FieldForm, errors: FormErrors) -> Result<ListPage, WebError> {
    let all = store::list(&ctx.app.store, &ctx.actor, None)
        .await
        .or_page(ctx)?;
    let groups = RecordType::ALL
        .into_iter()
        .map(|record_type| {
            let defs: Vec<&Definition> = all
                .iter()
                .filter(|d| d.record_type == record_type)
                .collect();
            let count = defs.len();
            Group {
                record_type: record_type.as_str(),
                title: record_label(record_type),
                fields: defs
                    .into_iter()
                    .enumerate()
                    .map(|(i, d)| FieldRow {
                        id: d.id,
                        label: d.label.clone(),
                        key: d.key.clone(),
                        kind: kind_label(d.kind),
                        options: d.options.join(", "),
                        required: d.required,
                        position: d.position,
                        first: i == 0,
                        last: i + 1 == count,
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(ListPage {
        layout: ctx.layout("Custom fields"),
        groups,
        can_update: ctx.can(Resource::Settings, Action::Update),
        record_type_options: record_type_options(&form.record_type),
        kind_options: kind_options(&form.kind),
        form,
        errors,
    })
}

pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let page = list_page(&ctx, FieldForm::default(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<FieldForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let position = form.position(&mut errors);
    if errors.is_empty() {
        let options = form.options();
        let body = CreateField {
            record_type: form.record_type.clone(),
            key: form.key.clone(),
            label: form.label.clone(),
            kind: form.kind.clone(),
            options: (!options.is_empty()).then_some(options),
            required: form.required(),
            position,
        };
        match create_field(&ctx.app, &ctx.actor, body).await {
            Ok(def) => {
                return Ok(ctx.done(
                    LIST,
                    format!(
                        "Added the custom field {} to {}.",
                        def.label,
                        record_label(def.record_type).to_lowercase()
                    ),
                ));
            }
            Err(err) => errors.absorb(err, FIELDS).or_page(&ctx)?,
        }
    }
    let page = list_page(&ctx, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Template)]
#[template(path = "web/custom_field_edit.html")]
struct EditPage {
    layout: Layout,
    id: Uuid,
    label: String,
    key: String,
    record_type: &'static str,
    kind: &'static str,
    options: String,
    required: bool,
    position: i32,
    can_update: bool,
    form: FieldForm,
    kind_options: Vec<Opt>,
    history_href: Option<String>,
    errors: FormErrors,
}

fn edit_page(ctx: &Ctx, def: &Definition, form: FieldForm, errors: FormErrors) -> EditPage {
    EditPage {
        layout: ctx.layout(format!("Custom field {}", def.label)),
        id: def.id,
        label: def.label.clone(),
        key: def.key.clone(),
        record_type: record_label(def.record_type),
        kind: kind_label(def.kind),
        options: def.options.join(", "),
        required: def.required,
        position: def.position,
        can_update: ctx.can(Resource::Settings, Action::Update),
        kind_options: kind_options(&form.kind),
        form,
        history_href: ctx.can(Resource::Audit, Action::Read).then(|| {
            with_query(
                "/admin/audit",
                &[
                    ("resource", "custom_fields"),
                    ("resource_id", &def.id.to_string()),
                ],
            )
        }),
        errors,
    }
}

async fn load(ctx: &Ctx, id: &str) -> Result<Definition, WebError> {
    let id = parse_id(id).or_page(ctx)?;
    store::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let def = load(&ctx, &id).await?;
    let page = edit_page(&ctx, &def, FieldForm::of(&def), FormErrors::new());
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<FieldForm>,
) -> Result<Response, WebError> {
    let def = load(&ctx, &id).await?;
    let mut errors = FormErrors::new();
    let position = form.position(&mut errors);
    if errors.is_empty() {
        let body = UpdateField {
            key: None,
            record_type: None,
            label: Some(form.label.clone()),
            kind: Some(form.kind.clone()),
            options: Some(form.options()),
            required: Some(form.required()),
            position,
        };
        match update_field(&ctx.app, &ctx.actor, def.id, body).await {
            Ok(saved) => {
                return Ok(ctx.done(
                    &format!("{LIST}/{}", def.id),
                    format!("Saved the custom field {}.", saved.label),
                ));
            }
            Err(err) => errors.absorb(err, FIELDS).or_page(&ctx)?,
        }
    }
    let page = edit_page(&ctx, &def, form, errors);
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct MoveForm {
    /// `up` or `down`.
    direction: String,
}

/// Where `from` goes when it moves one place `direction` among `count` items, if it can.
pub(super) fn neighbour(from: usize, count: usize, direction: &str) -> Option<usize> {
    match direction {
        "up" => from.checked_sub(1),
        "down" => Some(from + 1).filter(|to| *to < count),
        _ => None,
    }
}

/// Move a field one place up or down among its record type's fields: the fields are numbered
/// 1, 2, … in the new order and each whose position changes is saved as `PATCH` would.
pub async fn move_field(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<MoveForm>,
) -> Result<Response, WebError> {
    let def = load(&ctx, &id).await?;
    let mut order = store::list(&ctx.app.store, &ctx.actor, Some(def.record_type))
        .await
        .or_page(&ctx)?;
    let from = order.iter().position(|d| d.id == def.id).unwrap_or(0);
    let Some(to) = neighbour(from, order.len(), &form.direction) else {
        return Ok(ctx.refused(
            LIST,
            format!(
                "{} cannot move {} from where it is.",
                def.label, form.direction
            ),
        ));
    };
    order.swap(from, to);
    for (n, field) in order.iter().enumerate() {
        let position = i32::try_from(n + 1).unwrap_or(i32::MAX);
        if field.position == position {
            continue;
        }
        let body = UpdateField {
            key: None,
            record_type: None,
            label: None,
            kind: None,
            options: None,
            required: None,
            position: Some(position),
        };
        if let Err(err) = update_field(&ctx.app, &ctx.actor, field.id, body).await {
            return match err {
                AppError::Validation(_) | AppError::Conflict { .. } => {
                    Ok(ctx.refused(LIST, format!("{} was not moved: {err}", def.label)))
                }
                other => Err(ctx.fail(other)),
            };
        }
    }
    Ok(ctx.done(LIST, format!("Moved {} {}.", def.label, form.direction)))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let def = load(&ctx, &id).await?;
    store::delete(&ctx.app.store, &ctx.actor, def.id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        LIST,
        format!(
            "Deleted the custom field {}; its values were removed from the {}.",
            def.label,
            record_label(def.record_type).to_lowercase()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_moves_one_place_and_not_past_either_end() {
        assert_eq!(neighbour(1, 3, "up"), Some(0));
        assert_eq!(neighbour(1, 3, "down"), Some(2));
        assert_eq!(neighbour(0, 3, "up"), None);
        assert_eq!(neighbour(2, 3, "down"), None);
        assert_eq!(neighbour(1, 3, "sideways"), None);
    }

    #[test]
    fn options_are_one_per_line_without_blank_lines() {
        let form = FieldForm {
            options: " Gold \r\n\nSilver\n".into(),
            ..FieldForm::default()
        };
        assert_eq!(form.options(), ["Gold", "Silver"]);
    }
}
