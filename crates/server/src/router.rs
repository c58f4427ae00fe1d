//! The API route registry: every `/api/v1` route is added here together with its access rule and
//! its documentation, so a route cannot exist without a declared permission, and the OpenAPI
//! document is generated from the same list that builds the router.

use crate::error::AppError;
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use rivet_domain::{Action, Actor, Resource};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
    Required, ResponseBuilder, Schema, SecurityRequirement,
};
use utoipa::{PartialSchema, ToSchema};

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
}

impl Access {
    pub fn describe(self) -> String {
        match self {
            Self::Public => "public".into(),
            Self::Authenticated => "any signed-in caller".into(),
            Self::Allow(r, a) => format!("{r}.{a}"),
            Self::SystemAdmin(r, a) => format!("{r}.{a} and system administrator"),
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
            (Self::SystemAdmin(r, a), Some(actor))
                if actor.is_system_admin && permitted(actor, r, a) =>
            {
                Ok(())
            }
            (_, Some(_)) => Err(AppError::forbidden()),
        }
    }
}

/// One registered route, as documented.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    pub path: String,
    pub access: Access,
    pub summary: &'static str,
    pub tag: &'static str,
    request: Option<String>,
    response: Option<Body>,
    success: u16,
}

impl RouteInfo {
    /// Whether the route takes a JSON body.
    pub fn has_body(&self) -> bool {
        self.request.is_some()
    }
}

#[derive(Debug, Clone)]
enum Body {
    One(String),
    List(String),
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
            summary: "",
            tag: "",
            request: None,
            response: None,
            success: 200,
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
    pub fn doc(mut self, tag: &'static str, summary: &'static str) -> Self {
        self.info.tag = tag;
        self.info.summary = summary;
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

    /// The JSON the route answers with.
    pub fn returns<T: ToSchema>(mut self) -> Self {
        self.info.response = Some(Body::One(self.collect::<T>()));
        self
    }

    /// A page of `T`: `{"data": [T…], "next_cursor": …}`.
    pub fn returns_page<T: ToSchema>(mut self) -> Self {
        self.info.response = Some(Body::List(self.collect::<T>()));
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
    routes: Vec<RouteInfo>,
    schemas: Vec<(String, RefOr<Schema>)>,
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
        let method_router = on(filter, handler).route_layer(axum::middleware::from_fn(
            move |request: Request, next: Next| guard(access, request, next),
        ));
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

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>, OpenApi) {
        let openapi = openapi(&self.routes, self.schemas, "/api/v1");
        (self.router, self.routes, openapi)
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
            .summary(Some(route.summary))
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
                        "application/json",
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
            None => ResponseBuilder::new().description("Success"),
        };
        op = op.response(route.success.to_string(), success.build());
        let mut errors = vec!["400", "422", "429"];
        if route.access != Access::Public {
            errors.extend(["401", "403", "404"]);
            op = op
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .security(SecurityRequirement::new("api_key", Vec::<String>::new()));
        }
        for code in errors {
            op = op.response(
                code,
                ResponseBuilder::new()
                    .description("Problem (RFC 9457)")
                    .content(
                        "application/problem+json",
                        json_content(problem_ref.clone()),
                    )
                    .build(),
            );
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
    all_schemas.push(("Problem".into(), crate::error::Problem::schema()));
    crate::error::Problem::schemas(&mut all_schemas);
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
