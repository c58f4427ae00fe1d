//! `/email-templates`: a company's e-mail templates (issue 15 §2). Listing, reading, creating,
//! replacing and deleting them are the definitions layer's routes (`super::definitions`,
//! declared by [`DefinitionApi`]); what is special here is rendering: a saved template's or an
//! unsaved one's preview for a chosen record, and the variables a template of a record type
//! may use (what the editor lists). Rendering itself is `rivet_store::templates`.

use super::definitions::{self, DefinitionApi, DefinitionDecl};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::templates::{EmailTemplate, EmailTemplateInput, RecordType, Rendered, Variable};
use rivet_domain::{Action, Resource};
use rivet_store::templates;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Templates, Action::Read);

impl DefinitionApi for EmailTemplate {
    const API: DefinitionDecl = DefinitionDecl {
        path: "/email-templates",
        tag: "email-templates",
        noun: "e-mail template",
        doc: "An e-mail template: name, description, record_type (lead, contact or deal), \
              subject, html and text bodies (one of them at least) and active. Bodies are \
              minijinja templates: {{ lead.first_name }}, {{ lead.custom.<key> }} for a custom \
              field, {{ owner.name }}, {{ owner.email }}, {{ company.name }}, {{ sender.name }}, \
              {{ sender.email }}, for a deal also {{ account.<field> }} and {{ contact.<field> }} \
              (GET /email-templates/variables lists them); {{ x | default(\"there\") }} for an \
              empty value; only if and for blocks. The HTML body escapes values. A part that \
              does not parse or uses an unknown variable is a 422 naming the field and line",
    };
}

/// Which record type's variables to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VariablesQuery {
    /// lead, contact or deal.
    #[param(inline)]
    pub record_type: RecordType,
}

/// The record a saved template is previewed for (of the template's record type).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRecord {
    pub record_id: Uuid,
}

/// An unsaved template (as the editor holds it) and the record to preview it for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    pub template: EmailTemplateInput,
    pub record_id: Uuid,
}

pub fn routes() -> ApiRouter {
    definitions::routes::<EmailTemplate>()
        .add(
            get("/email-templates/variables", READ)
                .doc(
                    "email-templates",
                    "The variables a template of a record type may use in the caller's \
                     company: the record's fields, its custom fields, owner, company and \
                     sender (and a deal's account and contact)",
                )
                .query::<VariablesQuery>()
                .returns::<Vec<Variable>>(),
            variables,
        )
        .add(
            post("/email-templates/preview", READ)
                .doc(
                    "email-templates",
                    "Render an unsaved template for one record of its record type, as the \
                     caller reads it: subject, html and text. A bad template is a 422 naming \
                     the field and line; a record the caller cannot read is a 404",
                )
                .body::<PreviewInput>()
                .returns::<Rendered>(),
            preview_unsaved,
        )
        .add(
            post("/email-templates/{id}/preview", READ)
                .doc(
                    "email-templates",
                    "Render a saved template for one record of its record type, as the caller \
                     reads it: subject, html and text (what sending it would send)",
                )
                .body::<PreviewRecord>()
                .returns::<Rendered>(),
            preview,
        )
}

async fn variables(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<VariablesQuery>,
) -> Result<Json<Vec<Variable>>, AppError> {
    Ok(Json(
        templates::variables(&app.store, &actor, query.record_type).await?,
    ))
}

async fn preview_unsaved(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<PreviewInput>,
) -> Result<Json<Rendered>, AppError> {
    let template = body.template.validate()?;
    Ok(Json(
        templates::preview(&app.store, &actor, &template, body.record_id).await?,
    ))
}

async fn preview(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<PreviewRecord>,
) -> Result<Json<Rendered>, AppError> {
    let template = templates::get(&app.store, &actor, parse_id(&id)?).await?;
    Ok(Json(
        templates::render(&app.store, &actor, &template.definition, body.record_id).await?,
    ))
}
