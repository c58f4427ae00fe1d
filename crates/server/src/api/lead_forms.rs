//! `/lead-forms`: a company's web-to-lead forms (`rivet_store::lead_forms`), read with
//! `settings.read` and changed with `settings.update`. The public side — the form's page, its
//! embeddable snippet and the post — is `crate::web::lead_forms`, under `/f/{key}`.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, post, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::lead_forms::LeadFormInput;
use rivet_domain::{Action, Resource};
use rivet_store::Page;
use rivet_store::lead_forms::{self, LeadForm};

const READ: Access = Access::Allow(Resource::Settings, Action::Read);
const WRITE: Access = Access::Allow(Resource::Settings, Action::Update);

const DEFINITION_DOC: &str = "name; fields (in order, each {field, label, required}: \
    first_name, last_name, email, phone, mobile, title, company_name, website, industry, \
    employee_count, street, city, region, postal_code, country — at least one of email, phone \
    and last_name); hidden (values the form sets itself: source, utm_*, industry, country, \
    tags as a comma-separated list); consent_text (a checkbox the visitor must tick); \
    success_url (where the visitor goes after posting; else a thank-you page); \
    allowed_origins (the sites whose pages may post it, e.g. https://www.example.com; empty: \
    any); active; owner_id (the user its leads are created as and owned by unless an \
    assignment rule says otherwise; default the caller)";

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/lead-forms", READ)
                .doc(
                    "lead-forms",
                    "The company's web-to-lead forms, newest first (one page holding all)",
                )
                .returns_all::<LeadForm>(),
            list,
        )
        .add(
            post("/lead-forms", WRITE)
                .doc(
                    "lead-forms",
                    format!(
                        "Create a web-to-lead form: {DEFINITION_DOC}. It gets a public key: \
                         visitors post to /f/{{key}} (form-encoded or JSON), GET \
                         /f/{{key}}/embed is the HTML to paste into a page, /f/{{key}} the \
                         form as a page of its own"
                    ),
                )
                .body::<LeadFormInput>()
                .returns::<LeadForm>()
                .status(201),
            create,
        )
        .add(
            get("/lead-forms/{id}", READ)
                .doc(
                    "lead-forms",
                    "One web-to-lead form, with how many posts it took",
                )
                .returns::<LeadForm>(),
            show,
        )
        .add(
            put("/lead-forms/{id}", WRITE)
                .doc(
                    "lead-forms",
                    format!("Replace a form's definition ({DEFINITION_DOC}); its key stays"),
                )
                .body::<LeadFormInput>()
                .returns::<LeadForm>(),
            update,
        )
        .add(
            delete("/lead-forms/{id}", WRITE)
                .doc(
                    "lead-forms",
                    "Delete a form and its log of posts; the leads it made stay, and its \
                     address answers 404",
                )
                .status(204),
            remove,
        )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<LeadForm>>, AppError> {
    Ok(Json(Page {
        data: lead_forms::list(&app.store, &actor).await?,
        next_cursor: None,
    }))
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<LeadFormInput>,
) -> Result<(StatusCode, Json<LeadForm>), AppError> {
    let input = body.validate()?;
    Ok((
        StatusCode::CREATED,
        Json(lead_forms::create(&app.store, &actor, &input).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<LeadForm>, AppError> {
    Ok(Json(
        lead_forms::get(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<LeadFormInput>,
) -> Result<Json<LeadForm>, AppError> {
    let id = parse_id(&id)?;
    let input = body.validate()?;
    Ok(Json(
        lead_forms::update(&app.store, &actor, id, &input).await?,
    ))
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    lead_forms::delete(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
