//! Duplicate detection (issue 13 §2): a lead's possible duplicates, and those of a person being
//! typed into a form, among the leads and contacts the caller may read
//! (`rivet_store::duplicates`; the rules and keys are `rivet_domain::duplicates`).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get, post, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::duplicates::{DuplicateSettings, Person};
use rivet_domain::{Action, Resource};
use rivet_store::Page;
use rivet_store::duplicates::{self, Duplicate};
use serde::Deserialize;
use utoipa::ToSchema;

const READ_LEADS: Access = Access::Allow(Resource::Leads, Action::Read);
const READ_SETTINGS: Access = Access::Allow(Resource::Settings, Action::Read);
const UPDATE_SETTINGS: Access = Access::Allow(Resource::Settings, Action::Update);

/// A person as a form holds it, to check before saving.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateCheck {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub company_name: Option<String>,
    pub website: Option<String>,
    /// The lead being edited, left out of its own duplicates.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub lead_id: Option<uuid::Uuid>,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/duplicates/settings", READ_SETTINGS)
                .doc(
                    "duplicates",
                    "The company's duplicate rules, in order (the first rule that matches a \
                     pair decides), and the country a phone number written without + is read \
                     in. A new company has exact_email and exact_phone, each warn, against \
                     leads and contacts, and no default country",
                )
                .returns::<DuplicateSettings>(),
            show_settings,
        )
        .add(
            put("/duplicates/settings", UPDATE_SETTINGS)
                .doc(
                    "duplicates",
                    "Replace the company's duplicate rules and default country. Each rule: \
                     kind (exact_email, exact_phone, domain_and_name, fuzzy_name_and_company), \
                     action (allow: the create goes on quietly; warn: it goes on and its answer \
                     lists the matches; block: 409 with the matches), threshold (0 to 1, the \
                     least Jaro-Winkler similarity of a similarity rule; 0.9 when left out) \
                     and against (leads and/or contacts). Every lead and contact create — the \
                     API, the web form, web-to-lead forms, ingestion — applies them. A new \
                     default country re-keys the company's phones in a background job",
                )
                .body::<DuplicateSettings>()
                .returns::<DuplicateSettings>(),
            put_settings,
        )
        .add(
            get("/leads/{id}/duplicates", READ_LEADS)
                .doc(
                    "duplicates",
                    "Possible duplicates of a lead among the leads and contacts the caller may \
                     read, surest first, each with the rule that matched (exact_email: the same \
                     address once normalized — case, Gmail dots and +tags; exact_phone: the \
                     same number in E.164), its action (warn) and a confidence from 0 to 1 \
                     (one page holding all of them)",
                )
                .returns_all::<Duplicate>(),
            show_for_lead,
        )
        .add(
            post("/duplicates/check", READ_LEADS)
                .doc(
                    "duplicates",
                    "Possible duplicates of a person not saved yet (or of lead_id as it would \
                     be after a change), as GET /leads/{id}/duplicates finds them: what the \
                     lead form shows as its e-mail and phone are typed",
                )
                .body::<DuplicateCheck>()
                .returns_all::<Duplicate>(),
            check,
        )
}

async fn show_for_lead(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Page<Duplicate>>, AppError> {
    Ok(Json(Page {
        data: duplicates::of_lead(&app.store, &actor, parse_id(&id)?).await?,
        next_cursor: None,
    }))
}

async fn check(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<DuplicateCheck>,
) -> Result<Json<Page<Duplicate>>, AppError> {
    let person = Person {
        first_name: body.first_name.as_deref(),
        last_name: body.last_name.as_deref(),
        email: body.email.as_deref(),
        phone: body.phone.as_deref(),
        company: body.company_name.as_deref(),
        website: body.website.as_deref(),
    };
    let data = duplicates::of_person(
        &app.store,
        &actor,
        (person, body.mobile.as_deref()),
        body.lead_id,
    )
    .await?;
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

async fn show_settings(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<DuplicateSettings>, AppError> {
    Ok(Json(duplicates::settings(&app.store, &actor).await?))
}

async fn put_settings(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<DuplicateSettings>,
) -> Result<Json<DuplicateSettings>, AppError> {
    let settings = body.validate()?;
    Ok(Json(
        duplicates::put_settings(&app.store, &actor, &settings).await?,
    ))
}
