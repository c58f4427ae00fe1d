//! The public side of web-to-lead forms (issue 13 §1), under `/f/{key}`, reachable without
//! signing in: the form as a page of its own, the HTML snippet a company pastes into its site
//! (`/embed`), and the post (form-encoded from a browser, or JSON from a script, with its CORS
//! preflight). A post goes through the intake every lead takes (`rivet_store::intake`) as the
//! form's owner, in one transaction with the line of the form's log that records it; before
//! that, the form's allowed origins, the public rate limit and a honeypot field keep other
//! sites and bots out. A visitor is only ever sent to the form's own success URL, never to an
//! address the post names.

use crate::api::record::validate_new;
use crate::http::auth::ClientIp;
use crate::http::error::AppError;
use crate::state::AppState;
use crate::web::view::{Bare, html};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rivet_domain::lead_forms::{
    CONSENT, FormField, HONEYPOT, UTM_FIELDS, lead_body, origin_allowed, origin_of,
};
use rivet_domain::leads::LeadInput;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::StoreError;
use rivet_store::intake;
use rivet_store::lead_forms::{self, LeadForm, Outcome, Submission};
use rivet_store::leads::Lead;
use std::collections::BTreeMap;
use std::time::Duration;

/// One input of the snippet.
struct Input {
    name: String,
    label: String,
    kind: &'static str,
    required: bool,
}

impl From<&FormField> for Input {
    fn from(f: &FormField) -> Self {
        Self {
            name: f.field.clone(),
            label: f.label(),
            kind: f.input_type(),
            required: f.required,
        }
    }
}

#[derive(Template)]
#[template(path = "web/lead_form_snippet.html")]
struct Snippet {
    action: String,
    fields: Vec<Input>,
    utms: &'static [&'static str],
    honeypot: &'static str,
    consent_text: Option<String>,
    with_script: bool,
}

#[derive(Template)]
#[template(path = "web/lead_form_page.html")]
struct FormPage {
    bare: Bare,
    name: String,
    errors: Vec<String>,
    /// The rendered [`Snippet`].
    form: String,
}

#[derive(Template)]
#[template(path = "web/lead_form_done.html")]
struct DonePage {
    bare: Bare,
    heading: String,
    message: String,
    errors: Vec<String>,
    back: String,
}

/// Where Rivet is reached: the configured public URL, else the host the request named (behind
/// a trusted proxy, with the scheme it forwarded).
pub fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    if app.config.public_url.is_some() {
        return app.config.public_url();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match header("host") {
        Some(host) if !host.is_empty() && !host.contains(['/', ' ', '"', '<', '>']) => {
            let scheme = match header("x-forwarded-proto") {
                Some(proto @ ("http" | "https")) if app.config.trust_proxy => proto,
                _ => "http",
            };
            format!("{scheme}://{host}")
        }
        _ => app.config.public_url(),
    }
}

/// The address visitors post to.
fn action(base: &str, key: &str) -> String {
    format!("{base}/f/{key}")
}

/// An active form by its key; a missing or switched-off one is not found.
async fn active_form(
    app: &AppState,
    key: &str,
) -> Result<(rivet_domain::ids::CompanyId, LeadForm), AppError> {
    match lead_forms::by_key(&app.store, key).await? {
        Some((company, form)) if form.definition.active => Ok((company, form)),
        _ => Err(AppError::NotFound),
    }
}

fn snippet(base: &str, form: &LeadForm) -> Snippet {
    Snippet {
        action: action(base, &form.key),
        fields: form.definition.fields.iter().map(Input::from).collect(),
        utms: UTM_FIELDS,
        honeypot: HONEYPOT,
        consent_text: form.definition.consent_text.clone(),
        with_script: true,
    }
}

/// The HTML snippet of `form`, for the builder page to show.
pub fn snippet_markup(base: &str, form: &LeadForm) -> Result<String, AppError> {
    snippet(base, form)
        .render()
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))
}

/// `GET /f/{key}`: the form as a page of its own.
pub async fn page(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    match active_form(&app, &key).await {
        Ok((_, form)) => form_page(&base_url(&app, &headers), &form, Vec::new(), StatusCode::OK),
        Err(err) => not_found(err),
    }
}

fn form_page(base: &str, form: &LeadForm, errors: Vec<String>, status: StatusCode) -> Response {
    let markup = match snippet_markup(base, form) {
        Ok(markup) => markup,
        Err(err) => return err.into_response(),
    };
    html(
        status,
        &FormPage {
            bare: Bare {
                title: form.definition.name.clone(),
                flash: None,
            },
            name: form.definition.name.clone(),
            errors,
            form: markup,
        },
    )
}

fn not_found(err: AppError) -> Response {
    match err {
        AppError::NotFound => done_page(
            StatusCode::NOT_FOUND,
            "Form not found",
            "This form does not exist or no longer takes posts.",
            Vec::new(),
            "/",
        ),
        other => other.into_response(),
    }
}

fn done_page(
    status: StatusCode,
    heading: &str,
    message: &str,
    errors: Vec<String>,
    back: &str,
) -> Response {
    html(
        status,
        &DonePage {
            bare: Bare {
                title: heading.to_owned(),
                flash: None,
            },
            heading: heading.to_owned(),
            message: message.to_owned(),
            errors,
            back: back.to_owned(),
        },
    )
}

/// `GET /f/{key}/embed`: the HTML to paste into a page of the company's site.
pub async fn embed(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let markup = match active_form(&app, &key).await {
        Ok((_, form)) => snippet_markup(&base_url(&app, &headers), &form),
        Err(err) => Err(err),
    };
    match markup {
        Ok(markup) => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup).into_response()
        }
        Err(err) => err.into_response(),
    }
}

/// The origin a browser says a post comes from: `Origin`, else the `Referer`'s.
fn request_origin(headers: &HeaderMap) -> Option<String> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    header(header::ORIGIN)
        .map(str::to_owned)
        .or_else(|| header(header::REFERER).and_then(origin_of))
}

/// CORS headers that let a page of an allowed origin read the answer of its script's post.
fn allow_origin(response: &mut Response, form: &LeadForm, origin: Option<&str>) {
    let Some(origin) = origin.and_then(origin_of) else {
        return;
    };
    if !origin_allowed(&form.definition.allowed_origins, Some(&origin)) {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&origin) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// `OPTIONS /f/{key}`: the preflight of a script's JSON post.
pub async fn preflight(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok((_, form)) = active_form(&app, &key).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    allow_origin(&mut response, &form, request_origin(&headers).as_deref());
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// The post's fields as text, from a form-encoded or a JSON body.
fn posted_fields(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(BTreeMap<String, String>, bool), AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(AppError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        };
        let fields = map
            .into_iter()
            .filter_map(|(k, v)| match v {
                serde_json::Value::String(s) => Some((k, s)),
                serde_json::Value::Number(n) => Some((k, n.to_string())),
                serde_json::Value::Bool(b) => Some((k, b.to_string())),
                _ => None,
            })
            .collect();
        Ok((fields, true))
    } else if content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.is_empty()
    {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| AppError::BadRequest(format!("the form body is malformed: {e}")))?;
        Ok((pairs.into_iter().collect(), false))
    } else {
        Err(AppError::UnsupportedMediaType)
    }
}

/// `POST /f/{key}`: a visitor's post becomes a lead.
pub async fn submit(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = request_origin(&headers);
    let base = base_url(&app, &headers);
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (company, form) = match active_form(&app, &key).await {
        Ok(found) => found,
        Err(err) if json => return err.into_response(),
        Err(err) => return not_found(err),
    };
    let mut response = match take_post(
        &app,
        &ip,
        (company, &form),
        &headers,
        &body,
        origin.as_deref(),
    )
    .await
    {
        Ok(Taken::Done) if json => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({"ok": true})),
        )
            .into_response(),
        Ok(Taken::Done) => match &form.definition.success_url {
            Some(url) => Redirect::to(url).into_response(),
            None => done_page(
                StatusCode::OK,
                "Thank you",
                "We have your details and will be in touch.",
                Vec::new(),
                &action(&base, &form.key),
            ),
        },
        Err(err) if json => err.into_response(),
        Err(AppError::Validation(errors)) => {
            let list = errors
                .0
                .iter()
                .map(|e| format!("{}: {}", label_of(&form, &e.field), e.message))
                .collect();
            form_page(&base, &form, list, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => {
            let status = err.status();
            let problem = err.problem();
            done_page(
                status,
                &problem.title,
                &problem.detail,
                Vec::new(),
                &action(&base, &form.key),
            )
        }
    };
    allow_origin(&mut response, &form, origin.as_deref());
    response
}

/// What a visitor reads a field as.
fn label_of(form: &LeadForm, field: &str) -> String {
    match form.definition.fields.iter().find(|f| f.field == field) {
        Some(f) => f.label(),
        None if field == CONSENT => "Consent".into(),
        None => field.replace('_', " "),
    }
}

enum Taken {
    /// The post was taken (a lead made, or quietly dropped as spam or as a blocked duplicate).
    Done,
}

/// The checks and the intake of one post.
async fn take_post(
    app: &AppState,
    ip: &str,
    (company, form): (rivet_domain::ids::CompanyId, &LeadForm),
    headers: &HeaderMap,
    body: &Bytes,
    origin: Option<&str>,
) -> Result<Taken, AppError> {
    app.limiter
        .check(
            &format!("form:{ip}"),
            app.config.public_rate_limit,
            Duration::from_secs(60),
        )
        .await?;
    if !origin_allowed(&form.definition.allowed_origins, origin) {
        return Err(AppError::Forbidden(
            "this form does not take posts from this site".into(),
        ));
    }
    let (posted, _) = posted_fields(headers, body)?;
    let referrer = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let actor = form_actor(app, company, form).await?;
    let log = |lead, outcome| Submission {
        form: form.id,
        lead,
        outcome,
        consent: posted.get(CONSENT).is_some_and(|v| !v.is_empty()),
        referrer: referrer.as_deref(),
        origin,
    };
    if posted.get(HONEYPOT).is_some_and(|v| !v.trim().is_empty()) {
        // A bot: answered as a person would be, and nothing made.
        lead_forms::log(&app.store, &actor, &log(None, Outcome::Spam)).await?;
        return Ok(Taken::Done);
    }
    let lead = lead_body(&form.definition, &posted, referrer.as_deref())?;
    let input: LeadInput = serde_json::from_value(serde_json::Value::Object(lead))
        .map_err(|e| AppError::Validation(FieldErrors::single("form", e.to_string())))?;
    // The lead and the line of the form's log that names it are saved together: a process
    // that dies between the two leaves neither.
    let data = validate_new::<Lead>(app, &actor, input).await?;
    let tx = app.store.write(&actor).await?;
    let outcome = match intake::create_in::<Lead>(&tx, &actor, data).await {
        Ok(created) => log(Some(created.record.id), Outcome::Created),
        // A visitor is not told what the company already knows: the post is taken, and the
        // log names the lead it matched (a blocking match leaves the transaction as it was).
        Err(StoreError::Duplicate(matches)) => {
            let lead = matches
                .iter()
                .find(|m| m.record_type == "lead")
                .map(|m| rivet_domain::ids::LeadId::from_uuid(m.id));
            log(lead, Outcome::Duplicate)
        }
        Err(err) => return Err(err.into()),
    };
    lead_forms::log_in(&tx, &actor, &outcome).await?;
    tx.commit().await?;
    Ok(Taken::Done)
}

/// The form's owner as the caller: a form whose owner left the company takes no posts. The
/// form is the company's door, set up by an administrator, so its posts create leads whatever
/// the owner's own role allows (as leads the assignment rules give an owner are saved); the
/// owner is who the audit trail names and who owns a lead no rule assigns.
async fn form_actor(
    app: &AppState,
    company: rivet_domain::ids::CompanyId,
    form: &LeadForm,
) -> Result<Actor, AppError> {
    let owner = form.owner().ok_or(AppError::NotFound)?;
    let actor = rivet_store::sessions::load_actor(&app.store, company, owner, None, None)
        .await?
        .ok_or_else(|| {
            AppError::Forbidden("this form's owner is no longer a member; it takes no posts".into())
        })?;
    Ok(actor.granted(&[(Resource::Leads, Action::Create)]))
}
