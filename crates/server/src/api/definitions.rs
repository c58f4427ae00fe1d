//! What a company's admins define (e-mail templates, workflow rules, sequences) over the API:
//! `GET` and `POST` of `/<kind>`, `GET`, `PUT` and `DELETE` of `/<kind>/{id}`, declared once
//! per kind ([`DefinitionApi`]: its path and texts) and served here from
//! `rivet_store::definitions`, each route needing the kind's own permission resource. A kind
//! adds its other routes (a template's preview, a rule's execution log) to what [`routes`]
//! gives. [`create`] and [`replace`] are what the kind's web pages save through too.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, post, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::ids::Id;
use rivet_domain::{Action, Actor};
use rivet_store::Page;
use rivet_store::definitions::{self, Definition, Stored};

/// How a kind is served.
#[derive(Debug, Clone, Copy)]
pub struct DefinitionDecl {
    /// `/email-templates`; one is `/email-templates/{id}`.
    pub path: &'static str,
    /// The OpenAPI tag of its routes.
    pub tag: &'static str,
    /// What one is called in the routes' summaries (`e-mail template`).
    pub noun: &'static str,
    /// What one is and what its body holds, for the create and replace summaries.
    pub doc: &'static str,
}

/// A kind of definition the API serves.
pub trait DefinitionApi: Definition {
    const API: DefinitionDecl;
}

fn access<D: Definition>(action: Action) -> Access {
    Access::Allow(D::RESOURCE, action)
}

/// The five routes of `D`.
pub fn routes<D: DefinitionApi>() -> ApiRouter {
    let api = D::API;
    let one = format!("{}/{{id}}", api.path);
    ApiRouter::new()
        .add(
            get(api.path, access::<D>(Action::Read))
                .doc(
                    api.tag,
                    format!(
                        "The company's {}s, by name (one page holding all)",
                        api.noun
                    ),
                )
                .returns_all::<Stored<D>>(),
            list::<D>,
        )
        .add(
            post(api.path, access::<D>(Action::Create))
                .doc(
                    api.tag,
                    format!("New {}: {}. Its name must be new (409)", api.noun, api.doc),
                )
                .body::<D::Input>()
                .returns::<Stored<D>>()
                .status(201),
            create_route::<D>,
        )
        .add(
            get(&one, access::<D>(Action::Read))
                .doc(api.tag, format!("One {}", api.noun))
                .returns::<Stored<D>>(),
            show::<D>,
        )
        .add(
            put(&one, access::<D>(Action::Update))
                .doc(api.tag, format!("Replace the {}: {}", api.noun, api.doc))
                .body::<D::Input>()
                .returns::<Stored<D>>(),
            replace_route::<D>,
        )
        .add(
            delete(&one, access::<D>(Action::Delete))
                .doc(api.tag, format!("Delete the {}", api.noun))
                .status(204),
            remove::<D>,
        )
}

/// Validate and store a new definition (a mistake is a 422 naming its place).
pub async fn create<D: Definition>(
    app: &AppState,
    actor: &Actor,
    input: D::Input,
) -> Result<Stored<D>, AppError> {
    let definition = D::validate(input)?;
    Ok(definitions::create(&app.store, actor, &definition).await?)
}

/// Validate and replace a definition.
pub async fn replace<D: Definition>(
    app: &AppState,
    actor: &Actor,
    id: Id<D::Kind>,
    input: D::Input,
) -> Result<Stored<D>, AppError> {
    let definition = D::validate(input)?;
    Ok(definitions::update(&app.store, actor, id, &definition).await?)
}

async fn list<D: DefinitionApi>(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<Stored<D>>>, AppError> {
    Ok(Json(Page {
        data: definitions::list(&app.store, &actor).await?,
        next_cursor: None,
    }))
}

async fn create_route<D: DefinitionApi>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<D::Input>,
) -> Result<(StatusCode, Json<Stored<D>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create(&app, &actor, input).await?),
    ))
}

async fn show<D: DefinitionApi>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Stored<D>>, AppError> {
    Ok(Json(
        definitions::get(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

async fn replace_route<D: DefinitionApi>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(input): Json<D::Input>,
) -> Result<Json<Stored<D>>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(replace(&app, &actor, id, input).await?))
}

async fn remove<D: DefinitionApi>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    definitions::delete::<D>(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
