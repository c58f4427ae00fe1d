//! A company's settings document over the API (lead scoring, account health, deal risk,
//! qualification gates): `GET` and `PUT /api/v1/<area>/settings`, declared once per document
//! ([`SettingsApi`]: its path, texts and catalogue) and served here. Both answer with the
//! document as it is, the catalogue of what it weighs (signals, components, factors) and, after
//! a `PUT`, the job that brings the company's records up to date. The store side is
//! `rivet_store::documents`; [`put_settings`] is what the settings pages save through too.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, get, put};
use crate::state::AppState;
use axum::extract::State;
use rivet_domain::{Action, Actor, Resource};
use rivet_store::documents::{self, Document};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE: Access = Access::Allow(Resource::Settings, Action::Update);

/// A field of the view: its name in the JSON and its description.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub doc: &'static str,
}

/// How a document is served: where, described how, and what its view holds besides it.
#[derive(Debug, Clone, Copy)]
pub struct SettingsDecl {
    /// `/scoring/settings`: `GET` reads, `PUT` replaces.
    pub path: &'static str,
    /// The OpenAPI tag of both routes.
    pub tag: &'static str,
    /// What `GET` answers.
    pub show: &'static str,
    /// What `PUT` does.
    pub replace: &'static str,
    /// The view's schema name (`ScoringSettings`) and description.
    pub view: Field,
    /// The catalogue's field (`signals`), if the view lists one.
    pub catalogue: Option<Field>,
    /// The field naming the job a `PUT` queued (`rescore_job_id`), if a change queues one.
    pub job: Option<Field>,
}

/// A settings document the API serves.
pub trait SettingsApi: Document<Input: ToSchema + Send + 'static> + 'static {
    /// One entry of the catalogue (`()` for a view without one).
    type Item: Serialize + ToSchema + Send;
    const API: SettingsDecl;
    /// Every entry of the catalogue.
    fn catalogue() -> Vec<Self::Item> {
        Vec::new()
    }
}

/// The settings as they are, the catalogue, and the job a `PUT` queued; its JSON names and
/// OpenAPI schema are the document's ([`SettingsDecl`]).
#[derive(Debug)]
pub struct SettingsView<D: SettingsApi> {
    pub settings: D::Input,
    pub catalogue: Vec<D::Item>,
    pub job: Option<Uuid>,
}

impl<D: SettingsApi> SettingsView<D> {
    fn of(doc: &D, job: Option<Uuid>) -> Self {
        Self {
            settings: doc.to_input(),
            catalogue: D::catalogue(),
            job,
        }
    }
}

impl<D: SettingsApi> Serialize for SettingsView<D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let api = D::API;
        let mut out = serializer.serialize_struct(api.view.name, 3)?;
        out.serialize_field("settings", &self.settings)?;
        if let Some(list) = api.catalogue {
            out.serialize_field(list.name, &self.catalogue)?;
        }
        if let (Some(field), Some(job)) = (api.job, self.job) {
            out.serialize_field(field.name, &job)?;
        }
        out.end()
    }
}

fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

impl<D: SettingsApi> PartialSchema for SettingsView<D> {
    fn schema() -> RefOr<Schema> {
        let api = D::API;
        let mut object = ObjectBuilder::new()
            .description(Some(api.view.doc))
            .property("settings", reference::<D::Input>())
            .required("settings");
        if let Some(list) = api.catalogue {
            let items = ArrayBuilder::new()
                .items(reference::<D::Item>())
                .description(Some(list.doc));
            object = object.property(list.name, items).required(list.name);
        }
        if let Some(field) = api.job {
            let id = ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .description(Some(field.doc));
            object = object.property(field.name, id);
        }
        object.into()
    }
}

impl<D: SettingsApi> ToSchema for SettingsView<D> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(D::API.view.name)
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((D::Input::name().into_owned(), D::Input::schema()));
        D::Input::schemas(schemas);
        if D::API.catalogue.is_some() {
            schemas.push((D::Item::name().into_owned(), D::Item::schema()));
            D::Item::schemas(schemas);
        }
    }
}

/// `GET` and `PUT` of `D` at its path; an area adds its other routes to it.
pub fn routes<D: SettingsApi>() -> ApiRouter {
    let api = D::API;
    ApiRouter::new()
        .add(
            get(api.path, READ)
                .doc(api.tag, api.show)
                .returns::<SettingsView<D>>(),
            show::<D>,
        )
        .add(
            put(api.path, UPDATE)
                .doc(api.tag, api.replace)
                .body::<D::Input>()
                .returns::<SettingsView<D>>(),
            replace::<D>,
        )
}

async fn show<D: SettingsApi>(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<SettingsView<D>>, AppError> {
    let doc: D = documents::settings(&app.store, &actor).await?;
    Ok(Json(SettingsView::of(&doc, None)))
}

/// Validate and store new settings (a mistake is a 422 naming its place), and queue the
/// document's job; the page and the API alike.
pub async fn put_settings<D: SettingsApi>(
    app: &AppState,
    actor: &Actor,
    input: D::Input,
) -> Result<SettingsView<D>, AppError> {
    let doc = D::validate(input)?;
    let job = documents::put(&app.store, actor, &doc).await?;
    Ok(SettingsView::of(&doc, job))
}

async fn replace<D: SettingsApi>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<D::Input>,
) -> Result<Json<SettingsView<D>>, AppError> {
    Ok(Json(put_settings(&app, &actor, input).await?))
}
