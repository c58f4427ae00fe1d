//! What every page shares: the signed-in context ([`Ctx`]) with the layout and its navigation,
//! flash messages, per-field form errors, HTML error pages, and the form and query extractors
//! that answer with an HTML page instead of problem+json.

use crate::http::auth::WebSession;
use crate::http::error::AppError;
use crate::http::router::Access;
use crate::state::AppState;
use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use rivet_domain::{Action, Actor, Resource};
use rivet_store::{StoreError, companies, notifications, tasks, users};
use serde::de::DeserializeOwned;
use uuid::Uuid;

const FLASH_COOKIE: &str = "rivet_flash";

// ---------------------------------------------------------------------------------------------
// Layout and navigation

#[derive(Debug, Clone)]
pub struct Flash {
    /// `success` or `error`; also the CSS modifier.
    pub kind: &'static str,
    pub message: String,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// A count shown next to the label (the caller's overdue tasks).
    pub badge: Option<i64>,
}

pub struct NavSection {
    pub title: &'static str,
    pub items: Vec<NavItem>,
}

/// What the base layout (`web/base.html`) shows around every signed-in page.
pub struct Layout {
    pub title: String,
    pub company_name: String,
    pub user_name: String,
    pub user_email: String,
    pub initials: String,
    pub csrf: String,
    pub nav: Vec<NavSection>,
    pub flash: Option<Flash>,
    /// The caller's unread notifications: the bell's number.
    pub unread_notifications: i64,
}

impl Layout {
    /// The bell's number as shown: `99+` from a hundred on.
    pub fn bell_count(&self) -> String {
        match self.unread_notifications {
            n if n > 99 => "99+".into(),
            n => n.to_string(),
        }
    }
}

/// The layout of pages shown before signing in (`web/bare.html`).
pub struct Bare {
    pub title: String,
    pub flash: Option<Flash>,
}

enum Need {
    Anyone,
    Read(Resource),
    System(Resource),
}

/// A link: where it goes, its label, and what the caller needs to see it.
type NavEntry = (&'static str, &'static str, Need);

/// The whole navigation; an entry shows only when the caller may open its page.
const NAV: &[(&str, &[NavEntry])] = &[
    ("", &[("/", "Home", Need::Anyone)]),
    (
        "Sales",
        &[
            ("/leads", "Leads", Need::Read(Resource::Leads)),
            ("/accounts", "Accounts", Need::Read(Resource::Accounts)),
            ("/contacts", "Contacts", Need::Read(Resource::Contacts)),
            ("/deals", "Deals", Need::Read(Resource::Deals)),
            ("/deals/board", "Pipeline", Need::Read(Resource::Deals)),
            ("/tasks", "Tasks", Need::Read(Resource::Tasks)),
            (
                "/activities",
                "Activities",
                Need::Read(Resource::Activities),
            ),
            ("/exports", "Exports", Need::Anyone),
        ],
    ),
    (
        "Administration",
        &[
            ("/admin/users", "Users", Need::Read(Resource::Users)),
            ("/admin/teams", "Teams", Need::Read(Resource::Teams)),
            ("/admin/roles", "Roles", Need::Read(Resource::Roles)),
            ("/admin/api-keys", "API keys", Need::Read(Resource::ApiKeys)),
            ("/admin/audit", "Audit log", Need::Read(Resource::Audit)),
            ("/admin/jobs", "Jobs", Need::Read(Resource::Jobs)),
            (
                "/admin/webhooks",
                "Webhooks",
                Need::Read(Resource::Webhooks),
            ),
            (
                "/workflows",
                "Workflow rules",
                Need::Read(Resource::Workflows),
            ),
            (
                "/settings",
                "Company settings",
                Need::Read(Resource::Settings),
            ),
            ("/settings/email", "E-mail", Need::Read(Resource::Settings)),
            (
                "/admin/custom-fields",
                "Custom fields",
                Need::Read(Resource::Settings),
            ),
            (
                "/admin/pipelines",
                "Pipelines",
                Need::Read(Resource::Settings),
            ),
            (
                "/admin/duplicate-rules",
                "Duplicate rules",
                Need::Read(Resource::Settings),
            ),
            (
                "/admin/lead-forms",
                "Web forms",
                Need::Read(Resource::Settings),
            ),
            (
                "/email-templates",
                "E-mail templates",
                Need::Read(Resource::Templates),
            ),
            ("/sequences", "Sequences", Need::Read(Resource::Sequences)),
            (
                "/admin/assignment-rules",
                "Assignment rules",
                Need::Read(Resource::Settings),
            ),
            (
                "/admin/scoring",
                "Lead scoring",
                Need::Read(Resource::Settings),
            ),
            ("/admin/risk", "Deal risk", Need::Read(Resource::Settings)),
            (
                "/admin/health",
                "Account health",
                Need::Read(Resource::Settings),
            ),
            (
                "/admin/whatsapp",
                "WhatsApp",
                Need::Read(Resource::Settings),
            ),
        ],
    ),
    (
        "System",
        // Logs follow their API route: a company's admin reads their own company's events; the
        // installation's settings and statistics are for system administrators only.
        &[
            (
                "/admin/logs",
                "System logs",
                Need::Read(Resource::SystemLogs),
            ),
            (
                "/admin/system",
                "System settings",
                Need::System(Resource::SystemSettings),
            ),
        ],
    ),
];

fn may_open(actor: &Actor, need: &Need) -> bool {
    match need {
        Need::Anyone => true,
        Need::Read(r) => actor.can(*r, Action::Read),
        Need::System(r) => actor.is_system_admin && actor.can(*r, Action::Read),
    }
}

fn navigation(actor: &Actor, path: &str, overdue: Option<i64>) -> Vec<NavSection> {
    let opens = |href: &str| path == href || (href != "/" && path.starts_with(&format!("{href}/")));
    // The most specific entry is the current one: on `/deals/board`, Pipeline and not Deals.
    let current = NAV
        .iter()
        .flat_map(|(_, entries)| entries.iter().map(|(href, _, _)| *href))
        .filter(|href| opens(href))
        .max_by_key(|href| href.len());
    NAV.iter()
        .map(|(title, entries)| NavSection {
            title,
            items: entries
                .iter()
                .filter(|(_, _, need)| may_open(actor, need))
                .map(|(href, label, _)| NavItem {
                    href,
                    label,
                    current: current == Some(*href),
                    badge: overdue.filter(|n| *href == "/tasks" && *n > 0),
                })
                .collect(),
        })
        .filter(|section| !section.items.is_empty())
        .collect()
}

fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    if letters.is_empty() {
        "?".into()
    } else {
        letters.to_uppercase()
    }
}

// ---------------------------------------------------------------------------------------------
// The signed-in context

/// A signed-in web request: the caller, their CSRF token, and what the layout shows. Extracting
/// it from an anonymous request redirects to the sign-in page, which returns here afterwards.
#[derive(Clone)]
pub struct Ctx {
    pub app: AppState,
    pub actor: Actor,
    pub csrf: String,
    pub user_name: String,
    pub user_email: String,
    pub company_name: String,
    /// The company's currency (ISO 4217): what sums over deals in any currency are shown in.
    pub currency: String,
    pub path: String,
    /// How many of the caller's tasks are overdue (`None` without tasks read).
    pub overdue_tasks: Option<i64>,
    /// How many of the caller's notifications are unread (the bell).
    pub unread_notifications: i64,
    flash: Option<Flash>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        // The router's guard ([`admit`]) may have read it already.
        if let Some(ctx) = parts.extensions.remove::<Ctx>() {
            return Ok(ctx);
        }
        let actor = parts.extensions.get::<Actor>().cloned();
        let session = parts.extensions.get::<WebSession>().cloned();
        // The UI is for cookie sessions only; a bearer token on a page is treated as anonymous.
        let (Some(actor), Some(session)) = (actor, session) else {
            return Err(login_redirect(&parts.uri));
        };
        let overdue = async {
            if actor.can(Resource::Tasks, Action::Read) {
                tasks::count_my_overdue(&app.store, &actor).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (me, company, overdue_tasks, unread_notifications) = tokio::try_join!(
            users::me(&app.store, &actor),
            companies::get(&app.store, &actor),
            overdue,
            notifications::unread_count(&app.store, &actor),
        )
        .map_err(|e| WebError::from(e).into_response())?;
        Ok(Self {
            app: app.clone(),
            actor,
            csrf: session.csrf_token,
            user_name: me.name,
            user_email: me.email,
            company_name: company.name,
            currency: company.currency,
            path: parts.uri.path().to_owned(),
            overdue_tasks,
            unread_notifications,
            flash: read_flash(&parts.headers),
        })
    }
}

/// The router's guard of a page: a request for a page that needs a permission goes on to its
/// handler (with its [`Ctx`], read once) only when the caller has it; otherwise the answer is
/// the friendly 403 page, or the sign-in page for an anonymous caller. Public pages and those
/// for any signed-in caller pass (the handler's `Ctx` sends an anonymous caller to sign in).
pub(super) async fn admit(
    app: &AppState,
    access: Access,
    req: Request,
) -> Result<Request, Response> {
    if matches!(access, Access::Public | Access::Authenticated) {
        return Ok(req);
    }
    let (mut parts, body) = req.into_parts();
    let ctx = Ctx::from_request_parts(&mut parts, app).await?;
    let checked = match access {
        Access::Public | Access::Authenticated => Ok(()),
        Access::Allow(resource, action) => ctx.require(resource, action),
        Access::SystemAdmin(resource, action) => ctx.require_system(resource, action),
        Access::AnyOf(pairs) => ctx.require_any(pairs),
    };
    checked.map_err(IntoResponse::into_response)?;
    parts.extensions.insert(ctx);
    Ok(Request::from_parts(parts, body))
}

impl Ctx {
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            company_name: self.company_name.clone(),
            user_name: self.user_name.clone(),
            user_email: self.user_email.clone(),
            initials: initials(&self.user_name),
            csrf: self.csrf.clone(),
            nav: navigation(&self.actor, &self.path, self.overdue_tasks),
            flash: self.flash.clone(),
            unread_notifications: self.unread_notifications,
        }
    }

    pub fn can(&self, resource: Resource, action: Action) -> bool {
        self.actor.can(resource, action)
    }

    /// The page needs this permission; without it the answer is a friendly 403 page.
    pub fn require(&self, resource: Resource, action: Action) -> Result<(), WebError> {
        if self.can(resource, action) {
            Ok(())
        } else {
            tracing::warn!(target: "rivet::security", event = "permission_denied", path = %self.path, resource = %resource, action = %action, "web page refused");
            Err(self.fail(AppError::forbidden()))
        }
    }

    /// As [`Ctx::require`], for a page about several record types: one of `pairs` is enough.
    pub fn require_any(&self, pairs: &[(Resource, Action)]) -> Result<(), WebError> {
        if pairs.iter().any(|&(r, a)| self.can(r, a)) {
            return Ok(());
        }
        tracing::warn!(target: "rivet::security", event = "permission_denied", path = %self.path, "web page refused: none of its permissions");
        Err(self.fail(AppError::forbidden()))
    }

    /// As [`Ctx::require`], for installation-wide pages that also need a system administrator.
    pub fn require_system(&self, resource: Resource, action: Action) -> Result<(), WebError> {
        if self.actor.is_system_admin {
            self.require(resource, action)
        } else {
            tracing::warn!(target: "rivet::security", event = "permission_denied", path = %self.path, "system page refused to a non-system administrator");
            Err(self.fail(AppError::Forbidden(
                "only system administrators may open this page".into(),
            )))
        }
    }

    /// An error shown inside the layout, so the navigation stays.
    pub fn fail(&self, err: impl Into<AppError>) -> WebError {
        let mut error = WebError::from(err.into());
        error.layout = Some(Box::new(self.layout("Error")));
        error
    }

    pub fn render<T: Template>(&self, page: &T) -> Response {
        self.render_status(StatusCode::OK, page)
    }

    /// Render a page; a flash message shown on it is removed from the browser.
    pub fn render_status<T: Template>(&self, status: StatusCode, page: &T) -> Response {
        let mut response = html(status, page);
        if self.flash.is_some() {
            clear_flash(&self.app, &mut response);
        }
        response
    }

    /// Redirect after a successful form (POST-redirect-GET) with a message for the next page.
    pub fn done(&self, to: &str, message: impl Into<String>) -> Response {
        redirect_with_flash(&self.app, to, "success", message.into())
    }

    /// Redirect back with an error message, for buttons that have no form to re-render.
    pub fn refused(&self, to: &str, message: impl Into<String>) -> Response {
        redirect_with_flash(&self.app, to, "error", message.into())
    }
}

/// `Result<T, AppError | StoreError>` → `Result<T, WebError>` shown inside the layout.
pub trait OrPage<T> {
    fn or_page(self, ctx: &Ctx) -> Result<T, WebError>;
}

impl<T, E: Into<AppError>> OrPage<T> for Result<T, E> {
    fn or_page(self, ctx: &Ctx) -> Result<T, WebError> {
        self.map_err(|e| ctx.fail(e))
    }
}

fn login_redirect(uri: &Uri) -> Response {
    let target = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    if target == "/" {
        return Redirect::to("/login").into_response();
    }
    let query = serde_urlencoded::to_string([("next", target)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// A local path to return to after signing in; anything else (another site, `//host`) is `/`.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(char::is_control);
    if ok { next.to_owned() } else { "/".into() }
}

// ---------------------------------------------------------------------------------------------
// Responses, cookies and flash messages

pub fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value in the same shape as the session cookie (`max_age` 0 removes it).
pub fn set_cookie(app: &AppState, name: &str, value: &str, max_age: i64) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if app.config.cookie_secure {
            "; Secure"
        } else {
            ""
        }
    )
}

pub fn add_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

pub fn redirect_with_flash(app: &AppState, to: &str, kind: &str, message: String) -> Response {
    let value =
        serde_urlencoded::to_string([("k", kind), ("m", message.as_str())]).unwrap_or_default();
    let mut response = Redirect::to(to).into_response();
    add_cookie(&mut response, &set_cookie(app, FLASH_COOKIE, &value, 60));
    response
}

pub fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&raw).ok()?;
    let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let kind = if value("k").as_deref() == Some("error") {
        "error"
    } else {
        "success"
    };
    let message = value("m").filter(|m| !m.is_empty())?;
    Some(Flash {
        kind,
        message: message.chars().take(300).collect(),
    })
}

pub fn clear_flash(app: &AppState, response: &mut Response) {
    add_cookie(response, &set_cookie(app, FLASH_COOKIE, "", 0));
}

// ---------------------------------------------------------------------------------------------
// Errors

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "web/error_bare.html")]
struct BareErrorPage {
    bare: Bare,
    status: u16,
    heading: &'static str,
    message: String,
}

/// An error as an HTML page: inside the layout when the caller is known, else on its own.
/// "Not signed in" is a redirect to the sign-in page rather than a page.
pub struct WebError {
    error: AppError,
    layout: Option<Box<Layout>>,
}

impl From<AppError> for WebError {
    fn from(error: AppError) -> Self {
        Self {
            error,
            layout: None,
        }
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        Self::from(AppError::from(error))
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let (heading, message) = match &self.error {
            AppError::Unauthorized => return Redirect::to("/login").into_response(),
            AppError::Forbidden(message) => (
                "You don't have access to this page",
                format!(
                    "{}. Ask an administrator of your company if you need it.",
                    capitalise(message)
                ),
            ),
            AppError::NotFound => (
                "Page not found",
                "The page or record does not exist, or it belongs to another company.".into(),
            ),
            AppError::TooManyRequests { retry_after_secs } => (
                "Slow down",
                format!("Too many requests. Try again in {retry_after_secs} seconds."),
            ),
            AppError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "web request failed");
                (
                    "Something went wrong",
                    "The server could not complete the request. It has been logged; please try again."
                        .into(),
                )
            }
            AppError::Validation(errors) => ("The request was not valid", errors.to_string()),
            other => ("The request was not valid", capitalise(&other.to_string())),
        };
        let mut response = match self.layout {
            Some(layout) => html(
                status,
                &ErrorPage {
                    layout: *layout,
                    status: status.as_u16(),
                    heading,
                    message,
                },
            ),
            None => html(
                status,
                &BareErrorPage {
                    bare: Bare {
                        title: heading.into(),
                        flash: None,
                    },
                    status: status.as_u16(),
                    heading,
                    message,
                },
            ),
        };
        if let AppError::TooManyRequests { retry_after_secs } = self.error
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The fallback for paths no route knows: an HTML page for people, problem+json for anything
/// under `/api/` (API clients expect the API's error format even on a mistyped version).
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        AppError::NotFound.into_response()
    } else {
        WebError::from(AppError::NotFound).into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// Forms

/// Messages for one form: next to the field they are about, or at the top.
#[derive(Debug, Default)]
pub struct FormErrors {
    fields: Vec<(String, String)>,
    pub general: Vec<String>,
}

/// The whole number a form's `field` holds; a mistake is added to `errors` next to the field.
pub fn form_number(
    form: &std::collections::HashMap<String, String>,
    field: &str,
    errors: &mut FormErrors,
) -> Option<i64> {
    let text = form.get(field).map(|v| v.trim()).unwrap_or_default();
    match text.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "must be a whole number");
            None
        }
    }
}

impl FormErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.has(field) {
            self.fields.push((field.to_owned(), message.into()));
        }
    }

    pub fn add_general(&mut self, message: impl Into<String>) {
        self.general.push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    pub fn has_fields(&self) -> bool {
        !self.fields.is_empty()
    }

    pub fn count(&self) -> usize {
        self.fields.len() + self.general.len()
    }

    /// Take in a validation or conflict error: messages about `fields` go next to them, the
    /// rest to the top. Any other error is handed back for the error page.
    pub fn absorb(&mut self, err: AppError, fields: &[&str]) -> Result<(), AppError> {
        let list = match err {
            AppError::Validation(errors) => {
                errors.0.into_iter().map(|e| (e.field, e.message)).collect()
            }
            AppError::Conflict { field, message } => vec![(field, message)],
            AppError::Duplicate(_) => vec![("duplicates".to_owned(), err.problem().detail)],
            other => return Err(other),
        };
        for (field, message) in list {
            if fields.contains(&field.as_str()) {
                self.add(&field, message);
            } else {
                self.add_general(capitalise(&message));
            }
        }
        Ok(())
    }
}

/// One `<option>` of a select.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub fn options<V: Into<String>, L: Into<String>>(
    items: impl IntoIterator<Item = (V, L)>,
    selected: &str,
) -> Vec<Opt> {
    items
        .into_iter()
        .map(|(value, label)| {
            let value = value.into();
            Opt {
                selected: value == selected,
                value,
                label: label.into(),
            }
        })
        .collect()
}

/// A URL-encoded form body. Fields are plain strings (`#[serde(default)]`), parsed by the
/// handler, so a bad value becomes a message next to its field rather than a rejection.
pub struct WebForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            WebError::from(AppError::BadRequest("the form could not be read".into()))
        })?;
        serde_urlencoded::from_bytes(&bytes)
            .map(WebForm)
            .map_err(|e| {
                WebError::from(AppError::BadRequest(format!("the form is not valid: {e}")))
            })
    }
}

/// A query string of filters, every field optional.
pub struct WebQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for WebQuery<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, WebError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(WebQuery)
            .map_err(|e| {
                WebError::from(AppError::BadRequest(format!(
                    "the address is not valid: {e}"
                )))
            })
    }
}

/// `path?key=value&…` without empty values.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    if pairs.is_empty() {
        return path.to_owned();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

// ---------------------------------------------------------------------------------------------
// Display helpers

pub fn datetime(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn date(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

pub fn iso(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// "3 minutes ago", for times that matter relative to now.
pub fn ago(at: &DateTime<Utc>) -> String {
    let secs = (Utc::now() - *at).num_seconds();
    let (n, unit) = match secs {
        i64::MIN..=44 => return "just now".into(),
        45..=5399 => ((secs + 30) / 60, "minute"),
        5400..=129_599 => ((secs + 1800) / 3600, "hour"),
        _ => ((secs + 43_200) / 86_400, "day"),
    };
    let n = n.max(1);
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// The password policy in words, shown under every new-password field.
pub fn password_hint(policy: &rivet_domain::settings::SystemSettings) -> String {
    let mut hint = format!("At least {} characters", policy.password_min_length);
    match (
        policy.password_require_letter,
        policy.password_require_digit,
    ) {
        (true, true) => hint.push_str(", with a letter and a digit"),
        (true, false) => hint.push_str(", with a letter"),
        (false, true) => hint.push_str(", with a digit"),
        (false, false) => {}
    }
    hint.push('.');
    hint
}

pub fn resource_label(resource: Resource) -> &'static str {
    match resource {
        Resource::Leads => "Leads",
        Resource::Accounts => "Accounts",
        Resource::Contacts => "Contacts",
        Resource::Deals => "Deals",
        Resource::Tasks => "Tasks",
        Resource::Activities => "Activities",
        Resource::Users => "Users",
        Resource::Teams => "Teams",
        Resource::Roles => "Roles",
        Resource::ApiKeys => "API keys",
        Resource::Audit => "Audit log",
        Resource::Settings => "Company settings",
        Resource::SystemLogs => "System logs",
        Resource::SystemSettings => "System settings",
        Resource::Jobs => "Jobs",
        Resource::Events => "Events",
        Resource::Webhooks => "Webhooks",
        Resource::Templates => "E-mail templates",
        Resource::Workflows => "Workflow rules",
        Resource::Sequences => "Sequences",
    }
}

/// What differs between a record's new and its edit form; `list` is the records' list page
/// (`/deals`).
pub struct FormKind {
    pub heading: String,
    pub action: String,
    pub cancel: String,
    pub submit: &'static str,
}

impl FormKind {
    /// The new form at `{list}/new`. Opened from an account's page (`from_account` holds its
    /// id), Cancel goes back there, else to the list.
    pub fn create(
        list: &str,
        (heading, submit): (&str, &'static str),
        from_account: Option<&str>,
    ) -> Self {
        let cancel = match from_account.map(Uuid::parse_str) {
            Some(Ok(id)) => format!("/accounts/{id}"),
            _ => list.to_owned(),
        };
        Self {
            heading: heading.to_owned(),
            action: format!("{list}/new"),
            cancel,
            submit,
        }
    }

    /// The edit form of the record `id` called `name`; Cancel goes back to its page.
    pub fn edit(list: &str, id: impl std::fmt::Display, name: &str) -> Self {
        Self {
            heading: format!("Edit {name}"),
            action: format!("{list}/{id}/edit"),
            cancel: format!("{list}/{id}"),
            submit: "Save changes",
        }
    }
}

#[cfg(test)]
impl Layout {
    /// The layout of a page titled `title`, for tests that render a page.
    pub fn for_test(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            company_name: "Acme".into(),
            user_name: "Ada".into(),
            user_email: "ada@acme.test".into(),
            initials: "A".into(),
            csrf: "token".into(),
            nav: Vec::new(),
            flash: None,
            unread_notifications: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bell_counts_up_to_99_then_says_more() {
        let mut layout = Layout::for_test("Home");
        for (unread, shown) in [
            (0, "0"),
            (7, "7"),
            (99, "99"),
            (100, "99+"),
            (12_345, "99+"),
        ] {
            layout.unread_notifications = unread;
            assert_eq!(layout.bell_count(), shown);
        }
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/admin/users?q=a"), "/admin/users?q=a");
        for bad in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "",
            "admin",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }

    #[test]
    fn initials_come_from_the_first_two_words() {
        assert_eq!(initials("ada lovelace byron"), "AL");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn form_errors_keep_known_fields_next_to_them() {
        let mut errors = FormErrors::new();
        let err = AppError::Validation(rivet_domain::FieldErrors(vec![
            rivet_domain::FieldError {
                field: "email".into(),
                message: "is not valid".into(),
            },
            rivet_domain::FieldError {
                field: "other".into(),
                message: "is wrong".into(),
            },
        ]));
        assert!(errors.absorb(err, &["email"]).is_ok());
        assert_eq!(errors.get("email"), Some("is not valid"));
        assert_eq!(errors.general, ["Is wrong"]);
        assert!(errors.absorb(AppError::NotFound, &[]).is_err());
    }
}
