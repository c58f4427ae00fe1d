//! Administration › Web forms: the list of a company's web-to-lead forms and the form builder
//! (which fields a visitor sees, their labels and which are required, the hidden values, the
//! consent line, the success page, the allowed sites, the owner), with a live preview that
//! follows the builder as it is filled in (`rivet.js`, `data-form-builder`) and, once saved,
//! the snippet to paste into a page. Saving is `rivet_store::lead_forms`, checked by
//! `LeadFormInput::validate` as the API checks it.

use super::lead_forms::base_url;
use super::list::Owners;
use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm};
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rivet_domain::lead_forms::{FormField, HIDDEN_FIELDS, LeadFormInput, VISITOR_FIELDS};
use rivet_domain::{Action, Resource};
use rivet_store::lead_forms::{self, LeadForm};
use std::collections::{BTreeMap, HashMap};

/// One row of the builder's field table (and of the preview).
pub struct FieldRow {
    pub name: &'static str,
    pub label: String,
    pub default_label: String,
    pub shown: bool,
    pub required: bool,
    pub kind: &'static str,
}

/// One hidden value of the builder.
pub struct HiddenRow {
    pub name: &'static str,
    pub value: String,
}

/// The builder's values, as posted (`show_email`, `required_email`, `label_email`,
/// `hidden_source`, …) or read from a saved form.
struct Builder {
    name: String,
    fields: Vec<FieldRow>,
    hidden: Vec<HiddenRow>,
    consent_text: String,
    success_url: String,
    allowed_origins: String,
    active: bool,
    owner: String,
}

fn default_label(field: &str) -> String {
    FormField {
        field: field.to_owned(),
        label: None,
        required: false,
    }
    .label()
}

impl Builder {
    fn of(input: &LeadFormInput) -> Self {
        let mut fields: Vec<FieldRow> = input
            .fields
            .iter()
            .filter_map(|f| {
                let name = VISITOR_FIELDS.iter().find(|n| **n == f.field)?;
                Some(FieldRow {
                    name,
                    label: f.label.clone().unwrap_or_default(),
                    default_label: default_label(name),
                    shown: true,
                    required: f.required,
                    kind: f.input_type(),
                })
            })
            .collect();
        for name in VISITOR_FIELDS {
            if !fields.iter().any(|f| f.name == *name) {
                fields.push(FieldRow {
                    name,
                    label: String::new(),
                    default_label: default_label(name),
                    shown: false,
                    required: false,
                    kind: FormField {
                        field: (*name).to_owned(),
                        label: None,
                        required: false,
                    }
                    .input_type(),
                });
            }
        }
        Self {
            name: input.name.clone(),
            fields,
            hidden: HIDDEN_FIELDS
                .iter()
                .chain(&["tags"])
                .map(|name| HiddenRow {
                    name,
                    value: input.hidden.get(*name).cloned().unwrap_or_default(),
                })
                .collect(),
            consent_text: input.consent_text.clone().unwrap_or_default(),
            success_url: input.success_url.clone().unwrap_or_default(),
            allowed_origins: input.allowed_origins.join("\n"),
            active: input.active,
            owner: input.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        }
    }

    /// A new form: the usual contact fields, the source `web form`.
    fn new_form() -> Self {
        let shown = ["first_name", "last_name", "email", "company_name"];
        let input = LeadFormInput {
            name: String::new(),
            fields: shown
                .iter()
                .map(|f| FormField {
                    field: (*f).to_owned(),
                    label: None,
                    required: matches!(*f, "last_name" | "email"),
                })
                .collect(),
            hidden: BTreeMap::from([("source".to_owned(), "web form".to_owned())]),
            consent_text: None,
            success_url: None,
            allowed_origins: Vec::new(),
            active: true,
            owner_id: None,
        };
        Self::of(&input)
    }

    /// The posted builder, in the order of its field table.
    fn posted(values: &HashMap<String, String>) -> Self {
        let text = |key: &str| values.get(key).cloned().unwrap_or_default();
        let on = |key: &str| values.get(key).is_some_and(|v| !v.is_empty());
        let mut order: Vec<&str> = values
            .get("order")
            .map(|o| o.split(',').map(str::trim).collect())
            .unwrap_or_default();
        order.retain(|n| VISITOR_FIELDS.contains(n));
        for name in VISITOR_FIELDS {
            if !order.contains(name) {
                order.push(name);
            }
        }
        Self {
            name: text("name"),
            fields: order
                .into_iter()
                .filter_map(|n| VISITOR_FIELDS.iter().find(|v| **v == n))
                .map(|name| FieldRow {
                    name,
                    label: text(&format!("label_{name}")),
                    default_label: default_label(name),
                    shown: on(&format!("show_{name}")),
                    required: on(&format!("required_{name}")),
                    kind: FormField {
                        field: (*name).to_owned(),
                        label: None,
                        required: false,
                    }
                    .input_type(),
                })
                .collect(),
            hidden: HIDDEN_FIELDS
                .iter()
                .chain(&["tags"])
                .map(|name| HiddenRow {
                    name,
                    value: text(&format!("hidden_{name}")),
                })
                .collect(),
            consent_text: text("consent_text"),
            success_url: text("success_url"),
            allowed_origins: text("allowed_origins"),
            active: on("active"),
            owner: text("owner_id"),
        }
    }

    /// The definition the builder describes (checked by the caller).
    fn input(&self) -> LeadFormInput {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        LeadFormInput {
            name: self.name.clone(),
            fields: self
                .fields
                .iter()
                .filter(|f| f.shown)
                .map(|f| FormField {
                    field: f.name.to_owned(),
                    label: some(&f.label),
                    required: f.required,
                })
                .collect(),
            hidden: self
                .hidden
                .iter()
                .filter(|h| !h.value.trim().is_empty())
                .map(|h| (h.name.to_owned(), h.value.trim().to_owned()))
                .collect(),
            consent_text: some(&self.consent_text),
            success_url: some(&self.success_url),
            allowed_origins: self
                .allowed_origins
                .split(|c: char| c == '\n' || c == ',' || c.is_whitespace())
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            active: self.active,
            owner_id: self.owner.parse().ok(),
        }
    }
}

pub struct FormRow {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub fields: String,
    pub submissions: i64,
    pub url: String,
}

#[derive(Template)]
#[template(path = "web/lead_forms.html")]
struct ListPage {
    layout: Layout,
    forms: Vec<FormRow>,
    can_update: bool,
}

#[derive(Template)]
#[template(path = "web/lead_form_builder.html")]
struct BuilderPage {
    layout: Layout,
    /// `None` for a new form.
    id: Option<String>,
    action: String,
    name: String,
    fields: Vec<FieldRow>,
    hidden: Vec<HiddenRow>,
    consent_text: String,
    success_url: String,
    allowed_origins: String,
    active: bool,
    owners: Vec<Opt>,
    can_update: bool,
    /// For a saved form: its public address and the snippet to paste.
    public_url: String,
    snippet: String,
    submissions: i64,
    errors: FormErrors,
}

fn public_url(base: &str, form: &LeadForm) -> String {
    format!("{base}/f/{}", form.key)
}

pub async fn index(ctx: Ctx, headers: HeaderMap) -> Result<Response, WebError> {
    let base = base_url(&ctx.app, &headers);
    let forms = lead_forms::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let page = ListPage {
        layout: ctx.layout("Web forms"),
        forms: forms
            .iter()
            .map(|f| FormRow {
                id: f.id.to_string(),
                name: f.definition.name.clone(),
                active: f.definition.active,
                fields: f
                    .definition
                    .fields
                    .iter()
                    .map(FormField::label)
                    .collect::<Vec<_>>()
                    .join(", "),
                submissions: f.submissions,
                url: public_url(&base, f),
            })
            .collect(),
        can_update: ctx.can(Resource::Settings, Action::Update),
    };
    Ok(ctx.render(&page))
}

async fn builder_page(
    (ctx, base): (&Ctx, &str),
    form: Option<&LeadForm>,
    builder: Builder,
    errors: FormErrors,
) -> Result<BuilderPage, WebError> {
    let owners = Owners::load(ctx).await?;
    let selected = if builder.owner.is_empty() {
        ctx.actor.user_id.to_string()
    } else {
        builder.owner.clone()
    };
    let snippet = match form {
        Some(form) => super::lead_forms::snippet_markup(base, form).map_err(WebError::from)?,
        None => String::new(),
    };
    Ok(BuilderPage {
        layout: ctx.layout(match form {
            Some(f) => format!("Web form {}", f.definition.name),
            None => "New web form".to_owned(),
        }),
        id: form.map(|f| f.id.to_string()),
        action: match form {
            Some(f) => format!("/admin/lead-forms/{}", f.id),
            None => "/admin/lead-forms".to_owned(),
        },
        name: builder.name,
        fields: builder.fields,
        hidden: builder.hidden,
        consent_text: builder.consent_text,
        success_url: builder.success_url,
        allowed_origins: builder.allowed_origins,
        active: builder.active,
        owners: owners.options(None, &selected),
        can_update: ctx.can(Resource::Settings, Action::Update),
        public_url: form.map(|f| public_url(base, f)).unwrap_or_default(),
        snippet,
        submissions: form.map(|f| f.submissions).unwrap_or_default(),
        errors,
    })
}

/// `GET /admin/lead-forms/new`.
pub async fn new(ctx: Ctx, headers: HeaderMap) -> Result<Response, WebError> {
    let base = base_url(&ctx.app, &headers);
    let page = builder_page((&ctx, &base), None, Builder::new_form(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

/// Field errors as the builder shows them: `fields[2].label` at the fields table.
fn absorb(errors: &mut FormErrors, err: crate::http::error::AppError) -> Result<(), WebError> {
    use crate::http::error::AppError;
    let err = match err {
        AppError::Validation(mut list) => {
            for e in &mut list.0 {
                if e.field.starts_with("fields") {
                    e.field = "fields".into();
                } else if e.field.starts_with("hidden.") {
                    e.field = "hidden".into();
                } else if e.field.starts_with("allowed_origins") {
                    e.field = "allowed_origins".into();
                }
            }
            AppError::Validation(list)
        }
        other => other,
    };
    errors
        .absorb(
            err,
            &[
                "name",
                "fields",
                "hidden",
                "consent_text",
                "success_url",
                "allowed_origins",
                "owner_id",
            ],
        )
        .map_err(WebError::from)
}

/// `POST /admin/lead-forms`.
pub async fn create(
    ctx: Ctx,
    headers: HeaderMap,
    WebForm(values): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let builder = Builder::posted(&values);
    let mut errors = FormErrors::new();
    let saved = match builder.input().validate() {
        Ok(input) => lead_forms::create(&ctx.app.store, &ctx.actor, &input)
            .await
            .map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(form) => Ok(ctx.done(
            &format!("/admin/lead-forms/{}", form.id),
            format!(
                "Created the form {}: paste the snippet below into your site.",
                form.definition.name
            ),
        )),
        Err(err) => {
            absorb(&mut errors, err)?;
            let base = base_url(&ctx.app, &headers);
            let page = builder_page((&ctx, &base), None, builder, errors).await?;
            Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn load(ctx: &Ctx, id: &str) -> Result<LeadForm, WebError> {
    let id = parse_id(id).or_page(ctx)?;
    lead_forms::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

/// `GET /admin/lead-forms/{id}`.
pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let form = load(&ctx, &id).await?;
    let builder = Builder::of(&form.definition);
    let base = base_url(&ctx.app, &headers);
    let page = builder_page((&ctx, &base), Some(&form), builder, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

/// `POST /admin/lead-forms/{id}`.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    WebForm(values): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let form = load(&ctx, &id).await?;
    let builder = Builder::posted(&values);
    let mut errors = FormErrors::new();
    let saved = match builder.input().validate() {
        Ok(input) => lead_forms::update(&ctx.app.store, &ctx.actor, form.id, &input)
            .await
            .map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(saved) => Ok(ctx.done(
            &format!("/admin/lead-forms/{}", saved.id),
            "Saved the form.",
        )),
        Err(err) => {
            absorb(&mut errors, err)?;
            let base = base_url(&ctx.app, &headers);
            let page = builder_page((&ctx, &base), Some(&form), builder, errors).await?;
            Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// `POST /admin/lead-forms/{id}/delete`.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let form = load(&ctx, &id).await?;
    lead_forms::delete(&ctx.app.store, &ctx.actor, form.id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/admin/lead-forms",
        format!("Deleted the form {}.", form.definition.name),
    ))
}
