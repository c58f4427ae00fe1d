//! `/settings`: the caller's company settings (name, time zone, currency, fiscal year, locale).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json};
use crate::http::router::{Access, ApiRouter, get, patch};
use crate::state::AppState;
use axum::extract::State;
use rivet_domain::settings::CompanySettings;
use rivet_domain::{Action, Actor, Resource};
use rivet_store::companies;
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/settings", Access::Allow(Resource::Settings, Action::Read))
                .doc("settings", "Company settings")
                .returns::<CompanySettings>(),
            show,
        )
        .add(
            patch(
                "/settings",
                Access::Allow(Resource::Settings, Action::Update),
            )
            .doc("settings", "Change company settings (only the fields sent)")
            .body::<UpdateSettings>()
            .returns::<CompanySettings>(),
            update,
        )
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<CompanySettings>, AppError> {
    Ok(Json(companies::get(&app.store, &actor).await?.settings()))
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
    #[schema(minimum = 1, maximum = 12)]
    pub fiscal_year_start_month: Option<u8>,
    pub locale: Option<String>,
    /// Closing a deal won or lost needs a close_reason.
    pub require_close_reason: Option<bool>,
}

/// Apply a partial change to the company settings (API and web form).
pub async fn update_settings(
    app: &AppState,
    actor: &Actor,
    body: UpdateSettings,
) -> Result<CompanySettings, AppError> {
    let mut settings = companies::get(&app.store, actor).await?.settings();
    // Checked as sent (its length is counted before trimming, as the document's maxLength
    // counts it), then trimmed.
    if let Some(v) = body.name {
        settings.name = v;
    }
    if let Some(v) = body.timezone {
        settings.timezone = v.trim().to_owned();
    }
    if let Some(v) = body.currency {
        settings.currency = v.trim().to_owned();
    }
    if let Some(v) = body.fiscal_year_start_month {
        settings.fiscal_year_start_month = v;
    }
    if let Some(v) = body.locale {
        settings.locale = v.trim().to_owned();
    }
    if let Some(v) = body.require_close_reason {
        settings.require_close_reason = v;
    }
    settings.validate()?;
    settings.name = settings.name.trim().to_owned();
    Ok(companies::update_settings(&app.store, actor, &settings)
        .await?
        .settings())
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<UpdateSettings>,
) -> Result<Json<CompanySettings>, AppError> {
    Ok(Json(update_settings(&app, &actor, body).await?))
}
