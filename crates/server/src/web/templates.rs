//! Administration › E-mail templates: the list of a company's templates and the editor (name,
//! record type, subject, HTML and text bodies, active), with the variables a template of its
//! record type may use and a preview rendered on the server for a chosen record. Saving and
//! rendering are `rivet_store::templates` and the definitions layer, checked by
//! `EmailTemplateInput::validate` as the API checks it. The rendered HTML is shown in a
//! sandboxed frame: it is the template author's markup, and it must not run in Rivet's pages.

use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, date, options,
};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::templates::{EmailTemplate, EmailTemplateInput, RecordType, Rendered, Variable};
use rivet_domain::{Action, Resource};
use rivet_store::definitions::{self, Stored};
use rivet_store::templates;
use serde::Deserialize;
use uuid::Uuid;

/// How many records the preview offers to pick from.
const RECENT: u64 = 25;

const FIELDS: &[&str] = &[
    "name",
    "description",
    "record_type",
    "subject",
    "html",
    "text",
    "record_id",
];

/// The editor's values, as posted or read from a saved template.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditorForm {
    name: String,
    description: String,
    record_type: String,
    subject: String,
    html: String,
    text: String,
    active: Option<String>,
    /// The record to preview for.
    record_id: String,
    /// `preview` to render instead of saving.
    intent: String,
}

impl EditorForm {
    fn of(t: &EmailTemplate) -> Self {
        Self {
            name: t.name.clone(),
            description: t.description.clone().unwrap_or_default(),
            record_type: t.record_type.to_string(),
            subject: t.subject.clone(),
            html: t.html.clone(),
            text: t.text.clone(),
            active: t.active.then(|| "true".to_owned()),
            ..Self::default()
        }
    }

    fn blank() -> Self {
        Self {
            record_type: RecordType::Lead.to_string(),
            subject: "Hello {{ lead.first_name | default(\"there\") }}".into(),
            text: "Hi {{ lead.first_name | default(\"there\") }},\n\n{{ sender.name }}\n{{ company.name }}"
                .into(),
            active: Some("true".into()),
            ..Self::default()
        }
    }

    fn record_type(&self) -> RecordType {
        self.record_type.parse().unwrap_or(RecordType::Lead)
    }

    /// The template the form describes, checked.
    fn template(&self, errors: &mut FormErrors) -> Option<EmailTemplate> {
        let Ok(record_type) = self.record_type.parse::<RecordType>() else {
            errors.add("record_type", RecordType::NAMES.join(", "));
            return None;
        };
        let input = EmailTemplateInput {
            name: self.name.clone(),
            description: Some(self.description.clone()),
            record_type,
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: self.text.clone(),
            active: self.active.is_some(),
        };
        match input.validate() {
            Ok(t) => Some(t),
            Err(e) => {
                absorb(errors, e.into());
                None
            }
        }
    }
}

fn absorb(errors: &mut FormErrors, err: AppError) {
    if let Err(other) = errors.absorb(err, FIELDS) {
        errors.add_general(other.problem().detail);
    }
}

pub struct TemplateRow {
    pub id: String,
    pub name: String,
    pub record_type: String,
    pub active: bool,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "web/email_templates.html")]
struct ListPage {
    layout: Layout,
    templates: Vec<TemplateRow>,
    can_create: bool,
}

#[derive(Template)]
#[template(path = "web/email_template_editor.html")]
struct EditorPage {
    layout: Layout,
    /// `None` for a new template.
    id: Option<String>,
    action: String,
    form: EditorForm,
    record_types: Vec<Opt>,
    variables: Vec<Variable>,
    /// The newest records of the template's type the caller may read, to preview for.
    records: Vec<Opt>,
    can_save: bool,
    can_delete: bool,
    preview: Option<Rendered>,
    errors: FormErrors,
}

/// `GET /email-templates`.
pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let list: Vec<Stored<EmailTemplate>> = definitions::list(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let page = ListPage {
        layout: ctx.layout("E-mail templates"),
        templates: list
            .iter()
            .map(|t| TemplateRow {
                id: t.id.to_string(),
                name: t.definition.name.clone(),
                record_type: t.definition.record_type.to_string(),
                active: t.definition.active,
                updated: date(&t.updated_at),
            })
            .collect(),
        can_create: ctx.can(Resource::Templates, Action::Create),
    };
    Ok(ctx.render(&page))
}

async fn editor(
    ctx: &Ctx,
    saved: Option<&Stored<EmailTemplate>>,
    form: EditorForm,
    preview: Option<Rendered>,
    errors: FormErrors,
) -> Result<EditorPage, WebError> {
    let record_type = form.record_type();
    let variables = templates::variables(&ctx.app.store, &ctx.actor, record_type)
        .await
        .or_page(ctx)?;
    // A member who cannot read this record type gets no suggestions, not an error page.
    let records = templates::recent_records(&ctx.app.store, &ctx.actor, record_type, RECENT)
        .await
        .unwrap_or_default();
    Ok(EditorPage {
        layout: ctx.layout(match saved {
            Some(t) => format!("E-mail template {}", t.definition.name),
            None => "New e-mail template".to_owned(),
        }),
        id: saved.map(|t| t.id.to_string()),
        action: match saved {
            Some(t) => format!("/email-templates/{}", t.id),
            None => "/email-templates".to_owned(),
        },
        record_types: options(
            RecordType::ALL.iter().map(|t| (t.as_str(), t.as_str())),
            record_type.as_str(),
        ),
        variables,
        records: options(
            records.into_iter().map(|(id, name)| (id.to_string(), name)),
            &form.record_id,
        ),
        can_save: match saved {
            Some(_) => ctx.can(Resource::Templates, Action::Update),
            None => ctx.can(Resource::Templates, Action::Create),
        },
        can_delete: saved.is_some() && ctx.can(Resource::Templates, Action::Delete),
        form,
        preview,
        errors,
    })
}

/// Renders the form's template for its record, the errors next to the fields.
async fn preview_of(ctx: &Ctx, form: &EditorForm, errors: &mut FormErrors) -> Option<Rendered> {
    let template = form.template(errors)?;
    let Ok(record_id) = form.record_id.trim().parse::<Uuid>() else {
        errors.add(
            "record_id",
            format!(
                "must be the id of a {} (from its page's address)",
                template.record_type
            ),
        );
        return None;
    };
    match templates::preview(&ctx.app.store, &ctx.actor, &template, record_id).await {
        Ok(rendered) => Some(rendered),
        Err(rivet_store::StoreError::NotFound) => {
            errors.add(
                "record_id",
                format!("names no {} you can read", template.record_type),
            );
            None
        }
        Err(e) => {
            absorb(errors, e.into());
            None
        }
    }
}

/// `GET /email-templates/new`.
pub async fn new(ctx: Ctx) -> Result<Response, WebError> {
    let page = editor(&ctx, None, EditorForm::blank(), None, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

/// `POST /email-templates`: create, or preview the unsaved template.
pub async fn create(ctx: Ctx, WebForm(form): WebForm<EditorForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    if form.intent == "preview" {
        let preview = preview_of(&ctx, &form, &mut errors).await;
        let status = status_of(&errors);
        let page = editor(&ctx, None, form, preview, errors).await?;
        return Ok(ctx.render_status(status, &page));
    }
    if let Some(template) = form.template(&mut errors) {
        match definitions::create(&ctx.app.store, &ctx.actor, &template).await {
            Ok(saved) => {
                return Ok(ctx.done(
                    &format!("/email-templates/{}", saved.id),
                    format!("Created the template {}.", saved.definition.name),
                ));
            }
            Err(e) => absorb(&mut errors, e.into()),
        }
    }
    let page = editor(&ctx, None, form, None, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

fn status_of(errors: &FormErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

async fn load(ctx: &Ctx, id: &str) -> Result<Stored<EmailTemplate>, WebError> {
    let id = parse_id(id).or_page(ctx)?;
    templates::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

/// Which record a saved template's page previews.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShowQuery {
    record_id: String,
}

/// `GET /email-templates/{id}` (`?record_id=` previews it for that record).
pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(query): WebQuery<ShowQuery>,
) -> Result<Response, WebError> {
    let saved = load(&ctx, &id).await?;
    let mut form = EditorForm::of(&saved.definition);
    let mut errors = FormErrors::new();
    let mut preview = None;
    if !query.record_id.is_empty() {
        form.record_id = query.record_id;
        preview = preview_of(&ctx, &form, &mut errors).await;
    }
    let status = status_of(&errors);
    let page = editor(&ctx, Some(&saved), form, preview, errors).await?;
    Ok(ctx.render_status(status, &page))
}

/// `POST /email-templates/{id}`: save, or preview the edited template.
pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<EditorForm>,
) -> Result<Response, WebError> {
    let saved = load(&ctx, &id).await?;
    let mut errors = FormErrors::new();
    if form.intent == "preview" {
        let preview = preview_of(&ctx, &form, &mut errors).await;
        let status = status_of(&errors);
        let page = editor(&ctx, Some(&saved), form, preview, errors).await?;
        return Ok(ctx.render_status(status, &page));
    }
    if let Some(template) = form.template(&mut errors) {
        match definitions::update(&ctx.app.store, &ctx.actor, saved.id, &template).await {
            Ok(updated) => {
                return Ok(ctx.done(
                    &format!("/email-templates/{}", updated.id),
                    "Saved the template.",
                ));
            }
            Err(e) => absorb(&mut errors, e.into()),
        }
    }
    let page = editor(&ctx, Some(&saved), form, None, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// `POST /email-templates/{id}/delete`.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let saved = load(&ctx, &id).await?;
    definitions::delete::<EmailTemplate>(&ctx.app.store, &ctx.actor, saved.id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/email-templates",
        format!("Deleted the template {}.", saved.definition.name),
    ))
}
