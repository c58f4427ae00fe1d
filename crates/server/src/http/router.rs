//! The API route registry: every `/api/v1` route is added here together with its access rule and
//! its documentation, so a route cannot exist without a declared permission, and the OpenAPI
//! document is generated from the same list that builds the router.

use crate::http::error::AppError;
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use rivet_domain::{Action, Actor, Resource};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
    Required, ResponseBuilder, Schema, SecurityRequirement,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in itself, health checks).
    Public,
    /// Any signed-in caller, whatever their role (`/me`, logout).
    Authenticated,
    /// A caller whose role grants this pair with a scope other than `none`.
    Allow(Resource, Action),
    /// As `Allow`, and the caller must be an installation-wide administrator.
    SystemAdmin(Resource, Action),
    /// A caller whose role grants at least one of these pairs (as `Allow`): a route about
    /// several record types (imports, exports, duplicate groups), whose handler then checks
    /// the pair of the record type the request names.
    AnyOf(&'static [(Resource, Action)]),
}

impl Access {
    pub fn describe(self) -> String {
        match self {
            Self::Public => "public".into(),
            Self::Authenticated => "any signed-in caller".into(),
            Self::Allow(r, a) => format!("{r}.{a}"),
            Self::SystemAdmin(r, a) => format!("{r}.{a} and system administrator"),
            Self::AnyOf(pairs) => {
                let pairs: Vec<String> = pairs.iter().map(|(r, a)| format!("{r}.{a}")).collect();
                format!("one of {}", pairs.join(", "))
            }
        }
    }

    /// Decide a request: `Ok` to run the handler.
    pub fn check(self, actor: Option<&Actor>) -> Result<(), AppError> {
        let permitted = |actor: &Actor, r, a| actor.can(r, a);
        match (self, actor) {
            (Self::Public, _) => Ok(()),
            (_, None) => Err(AppError::Unauthorized),
            (Self::Authenticated, Some(_)) => Ok(()),
            (Self::Allow(r, a), Some(actor)) if permitted(actor, r, a) => Ok(()),
            (Self::AnyOf(pairs), Some(actor))
                if pairs.iter().any(|&(r, a)| permitted(actor, r, a)) =>
            {
                Ok(())
            }
            (Self::SystemAdmin(r, a), Some(actor))
                if actor.is_system_admin && permitted(actor, r, a) =>
            {
                Ok(())
            }
            (_, Some(_)) => Err(AppError::forbidden()),
        }
    }
}

/// JSON bodies larger than this are refused with 413 (uploads and batch routes have their own
/// limit, [`Route::body_limit`]).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// One registered route, as documented.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    pub path: String,
    pub access: Access,
    pub summary: std::borrow::Cow<'static, str>,
    pub tag: &'static str,
    request: Option<String>,
    /// The request body's media type (`application/json` unless the route takes an upload).
    request_media: &'static str,
    response: Option<Body>,
    success: u16,
    query: QueryParams,
    /// The largest body the route takes, when not the API's default ([`MAX_JSON_BODY`]).
    body_limit: Option<usize>,
    /// A read that can meet a row not ready for it (an export's file before it is written).
    conflicts: bool,
    /// Calls a service outside Rivet, whose failure is a 502.
    upstream: bool,
    /// A public route that finds its row from the request's content (a webhook), so it can
    /// answer 404.
    finds: bool,
}

/// The documented query parameters of a route (utoipa's `Parameter` has no `Debug` here).
#[derive(Clone, Default)]
struct QueryParams(Vec<Parameter>);

impl std::fmt::Debug for QueryParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|p| &p.name))
            .finish()
    }
}

impl RouteInfo {
    /// Whether the route takes a JSON body (not an upload).
    pub fn takes_json(&self) -> bool {
        self.request.is_some() && self.request_media == "application/json"
    }

    /// The largest body the route takes.
    pub fn max_body(&self) -> usize {
        self.body_limit.unwrap_or(MAX_JSON_BODY)
    }

    /// Whether the route takes a body (JSON or an upload).
    pub fn has_body(&self) -> bool {
        self.request.is_some()
    }

    /// Whether the path names a row (`/leads/{id}`), which may not exist.
    pub fn has_path_params(&self) -> bool {
        self.path.contains('{')
    }

    /// Every status the route can answer, derived from its declaration: its success; 400 for
    /// a malformed request; 401 for a credential that is not valid (on any route, sign-in
    /// included) and 403 for a missing permission or CSRF token; 404 for a row that does not
    /// exist; 409 for a write that meets a uniqueness rule or a row in use, and for a read
    /// declared [`Route::conflicts`]; 413, 415 and 422 for a JSON body too large, of another
    /// media type or with invalid values; 429 when a rate limit is hit. Problems come as `application/problem+json`.
    pub fn statuses(&self) -> Vec<u16> {
        let mut codes = vec![self.success, 400, 401, 403, 429];
        if self.has_path_params() || self.access != Access::Public || self.finds {
            codes.push(404);
        }
        if self.upstream {
            codes.push(502);
        }
        if self.method != Method::GET || self.conflicts {
            codes.push(409);
        }
        if self.has_body() {
            codes.extend([413, 415, 422]);
        } else if !self.query.0.is_empty() {
            codes.push(422);
        }
        codes.sort_unstable();
        codes.dedup();
        codes
    }
}

#[derive(Debug, Clone)]
enum Body {
    One(String),
    List(String),
    /// A file of one of these media types.
    File(&'static [&'static str]),
}

/// A route being declared: `get("/roles", Access::Allow(Roles, Read)).doc("List roles")`.
pub struct Route {
    info: RouteInfo,
    schemas: Vec<(String, RefOr<Schema>)>,
}

fn route(method: Method, path: &str, access: Access) -> Route {
    Route {
        info: RouteInfo {
            method,
            path: path.to_owned(),
            access,
            summary: std::borrow::Cow::Borrowed(""),
            tag: "",
            request: None,
            request_media: "application/json",
            response: None,
            success: 200,
            query: QueryParams::default(),
            body_limit: None,
            conflicts: false,
            upstream: false,
            finds: false,
        },
        schemas: Vec::new(),
    }
}

pub fn get(path: &str, access: Access) -> Route {
    route(Method::GET, path, access)
}
pub fn post(path: &str, access: Access) -> Route {
    route(Method::POST, path, access)
}
pub fn put(path: &str, access: Access) -> Route {
    route(Method::PUT, path, access)
}
pub fn patch(path: &str, access: Access) -> Route {
    route(Method::PATCH, path, access)
}
pub fn delete(path: &str, access: Access) -> Route {
    route(Method::DELETE, path, access)
}

impl Route {
    pub fn doc(
        mut self,
        tag: &'static str,
        summary: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        self.info.tag = tag;
        self.info.summary = summary.into();
        self
    }

    fn collect<T: ToSchema>(&mut self) -> String {
        let name = T::name().to_string();
        self.schemas.push((name.clone(), T::schema()));
        T::schemas(&mut self.schemas);
        name
    }

    /// The JSON body the route takes.
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.info.request = Some(self.collect::<T>());
        self
    }

    /// A `multipart/form-data` body with the parts `T` describes (a file upload).
    pub fn upload<T: ToSchema>(mut self) -> Self {
        self.info.request = Some(self.collect::<T>());
        self.info.request_media = "multipart/form-data";
        self
    }

    /// A body that is not JSON but of `media` (a raw e-mail), described by `T`; the handler
    /// reads its bytes.
    pub fn raw_body<T: ToSchema>(mut self, media: &'static str) -> Self {
        self.info.request = Some(self.collect::<T>());
        self.info.request_media = media;
        self
    }

    /// The JSON body of a `PATCH` that changes a record written as `T`: every field may be left
    /// out, and the fields in `required` may not be cleared with `null` (documented as
    /// `<T>Patch`).
    pub fn patch_body<T: ToSchema>(mut self, required: &[&str]) -> Self {
        self.collect::<T>();
        let name = format!("{}Patch", T::name());
        self.schemas
            .push((name.clone(), patch_schema(T::schema(), required)));
        self.info.request = Some(name);
        self
    }

    /// The JSON the route answers with.
    pub fn returns<T: ToSchema>(mut self) -> Self {
        self.info.response = Some(Body::One(self.collect::<T>()));
        self
    }

    /// A file (an export) of one of `media_types`.
    pub fn returns_file(mut self, media_types: &'static [&'static str]) -> Self {
        self.info.response = Some(Body::File(media_types));
        self
    }

    /// A page of `T`: `{"data": [T…], "next_cursor": …}`, read with `limit` and `cursor`.
    pub fn returns_page<T: ToSchema>(mut self) -> Self {
        self.info.response = Some(Body::List(self.collect::<T>()));
        self.query::<crate::http::extract::PageParams>()
    }

    /// Every `T` at once, in the shape of a page whose `next_cursor` is always null.
    pub fn returns_all<T: ToSchema>(mut self) -> Self {
        self.info.response = Some(Body::List(self.collect::<T>()));
        self
    }

    /// The query parameters the route reads, stated with the limits the server enforces.
    pub fn query<T: IntoParams>(mut self) -> Self {
        self.info
            .query
            .0
            .extend(T::into_params(|| Some(ParameterIn::Query)));
        self
    }

    /// A larger body than the API's default (a batch of records).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.info.body_limit = Some(bytes);
        self
    }

    /// A read that answers 409 while the row it reads is not ready (an export's file before the
    /// export has completed).
    pub fn conflicts(mut self) -> Self {
        self.info.conflicts = true;
        self
    }

    /// A route that calls a service outside Rivet and answers 502 when it fails.
    pub fn upstream(mut self) -> Self {
        self.info.upstream = true;
        self
    }

    /// A public route that answers 404 when what its request names is not found.
    pub fn finds(mut self) -> Self {
        self.info.finds = true;
        self
    }

    /// The success status when it is not 200 (201 for creates, 204 for deletes).
    pub fn status(mut self, status: u16) -> Self {
        self.info.success = status;
        self
    }
}

/// The `/api/v1` router under construction, with the list of what it holds.
#[derive(Default)]
pub struct ApiRouter {
    router: Router<AppState>,
    pub(crate) routes: Vec<RouteInfo>,
    pub(crate) schemas: Vec<(String, RefOr<Schema>)>,
}

async fn guard(access: Access, request: Request, next: Next) -> Response {
    let actor = request.extensions().get::<Actor>();
    match access.check(actor) {
        Ok(()) => next.run(request).await,
        Err(err) => {
            if let (AppError::Forbidden(_), Some(actor)) = (&err, actor) {
                tracing::warn!(
                    target: "rivet::security",
                    event = "permission_denied",
                    company_id = %actor.company_id,
                    user_id = %actor.user_id,
                    method = %request.method(),
                    path = %request.uri().path(),
                    needs = %access.describe(),
                    "permission denied"
                );
            }
            err.into_response()
        }
    }
}

impl ApiRouter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a route. Its access rule is checked before the handler runs.
    pub fn add<H, T>(mut self, route: Route, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let access = route.info.access;
        let filter = match route.info.method {
            Method::POST => MethodFilter::POST,
            Method::PUT => MethodFilter::PUT,
            Method::PATCH => MethodFilter::PATCH,
            Method::DELETE => MethodFilter::DELETE,
            _ => MethodFilter::GET,
        };
        let mut method_router = on(filter, handler).route_layer(axum::middleware::from_fn(
            move |request: Request, next: Next| guard(access, request, next),
        ));
        if let Some(bytes) = route.info.body_limit {
            method_router = method_router.layer(axum::extract::DefaultBodyLimit::max(bytes));
        }
        self.router = self.router.route(&route.info.path, method_router);
        self.routes.push(route.info);
        self.schemas.extend(route.schemas);
        self
    }

    /// Add every route of another area.
    pub fn merge(mut self, other: ApiRouter) -> Self {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self.schemas.extend(other.schemas);
        self
    }

    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    /// The router, what it holds, and its OpenAPI document as served: generated from the
    /// declarations, then with the rules of [`crate::http::contract`] applied (what the validators
    /// enforce beyond the Rust types; JSON, because utoipa's types cannot hold all of it).
    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>, serde_json::Value) {
        let (document, _) = document(&self.routes, self.schemas);
        (self.router, self.routes, document)
    }
}

/// The OpenAPI document of `routes` with the contract's rules applied, and the rules that found
/// nothing to apply to (`schema.property`).
pub(crate) fn document(
    routes: &[RouteInfo],
    schemas: Vec<(String, RefOr<Schema>)>,
) -> (serde_json::Value, Vec<String>) {
    let mut document =
        serde_json::to_value(openapi(routes, schemas, "/api/v1")).unwrap_or_default();
    let missing = match document
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    {
        Some(schemas) => crate::http::contract::apply(schemas),
        None => vec!["components.schemas".to_owned()],
    };
    (document, missing)
}

/// `schema` with nothing required and the `required` properties not nullable.
fn patch_schema(schema: RefOr<Schema>, required: &[&str]) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = schema else {
        return schema;
    };
    object.required.clear();
    for name in required {
        if let Some(property) = object.properties.get_mut(*name) {
            not_null(property);
        }
    }
    RefOr::T(Schema::Object(object))
}

/// Take `null` out of a property's schema (`type: [string, null]` or `oneOf: [null, …]`).
fn not_null(property: &mut RefOr<Schema>) {
    match property {
        RefOr::T(Schema::Object(object)) => {
            if let SchemaType::Array(types) = &object.schema_type {
                let kept: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                object.schema_type = match kept.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::Array(kept),
                };
            }
        }
        RefOr::T(Schema::OneOf(one_of)) => {
            one_of.items.retain(|item| {
                !matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
            });
            if let [only] = one_of.items.as_slice() {
                *property = only.clone();
            }
        }
        _ => {}
    }
}

fn json_content(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn openapi(routes: &[RouteInfo], schemas: Vec<(String, RefOr<Schema>)>, prefix: &str) -> OpenApi {
    let mut paths = Paths::new();
    let problem_ref = RefOr::Ref(Ref::from_schema_name("Problem"));
    for route in routes {
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary.clone()))
            .tag(route.tag)
            .operation_id(Some(format!(
                "{}{}",
                route.method.as_str().to_lowercase(),
                route.path.replace(['/', '{', '}', '-'], "_")
            )))
            .description(Some(format!("Requires: {}.", route.access.describe())));
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
        }
        if let Some(name) = &route.request {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        route.request_media,
                        json_content(RefOr::Ref(Ref::from_schema_name(name))),
                    )
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let success = match &route.response {
            Some(Body::One(name)) => ResponseBuilder::new().description("Success").content(
                "application/json",
                json_content(RefOr::Ref(Ref::from_schema_name(name))),
            ),
            Some(Body::List(name)) => {
                let page = ObjectBuilder::new()
                    .property(
                        "data",
                        ArrayBuilder::new().items(RefOr::Ref(Ref::from_schema_name(name))),
                    )
                    .required("data")
                    .property(
                        "next_cursor",
                        ObjectBuilder::new().schema_type(
                            utoipa::openapi::schema::SchemaType::from_iter([
                                Type::String,
                                Type::Null,
                            ]),
                        ),
                    );
                ResponseBuilder::new()
                    .description("A page of results")
                    .content(
                        "application/json",
                        json_content(RefOr::T(Schema::Object(page.build()))),
                    )
            }
            Some(Body::File(media_types)) => media_types.iter().fold(
                ResponseBuilder::new().description("The file"),
                |response, media_type| {
                    let file = ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)));
                    response.content(
                        *media_type,
                        json_content(RefOr::T(Schema::Object(file.build()))),
                    )
                },
            ),
            None => ResponseBuilder::new().description("Success"),
        }
        .build();
        for parameter in &route.query.0 {
            op = op.parameter(parameter.clone());
        }
        if route.access != Access::Public {
            op = op
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .security(SecurityRequirement::new("api_key", Vec::<String>::new()));
        }
        for code in route.statuses() {
            let response = if code == route.success {
                success.clone()
            } else {
                ResponseBuilder::new()
                    .description("Problem (RFC 9457)")
                    .content(
                        "application/problem+json",
                        json_content(problem_ref.clone()),
                    )
                    .build()
            };
            op = op.response(code.to_string(), response);
        }
        let method = match route.method {
            Method::POST => HttpMethod::Post,
            Method::PUT => HttpMethod::Put,
            Method::PATCH => HttpMethod::Patch,
            Method::DELETE => HttpMethod::Delete,
            _ => HttpMethod::Get,
        };
        paths.add_path_operation(format!("{prefix}{}", route.path), vec![method], op.build());
    }
    let mut all_schemas = schemas;
    all_schemas.push(("Problem".into(), crate::http::error::Problem::schema()));
    crate::http::error::Problem::schemas(&mut all_schemas);
    all_schemas.sort_by(|a, b| a.0.cmp(&b.0));
    all_schemas.dedup_by(|a, b| a.0 == b.0);
    let components = ComponentsBuilder::new()
        .schemas_from_iter(all_schemas)
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Rivet CRM API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Multi-tenant CRM. Authenticate with `Authorization: Bearer <access token>` \
                     (from /auth/login) or an API key (`X-Api-Key` or `Authorization: Bearer rvk_…`). \
                     Errors are RFC 9457 problem+json.",
                )),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}
