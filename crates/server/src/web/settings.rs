//! The company settings page (name, time zone, currency, fiscal year, locale), saved through
//! `crate::api::settings::update_settings`; read-only for callers who may not change it.

use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, options};
use crate::api::settings::{UpdateSettings, update_settings};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::{Action, Resource};
use rivet_store::companies;
use serde::Deserialize;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct SettingsForm {
    name: String,
    timezone: String,
    currency: String,
    fiscal_year_start_month: String,
    locale: String,
}

#[derive(Template)]
#[template(path = "web/settings.html")]
struct SettingsPage {
    layout: Layout,
    /// Shown so an operator can name the company on the command line.
    company_id: String,
    form: SettingsForm,
    month_options: Vec<Opt>,
    month_name: String,
    editable: bool,
    errors: FormErrors,
}

fn page(ctx: &Ctx, form: SettingsForm, errors: FormErrors) -> SettingsPage {
    let month_options = options(
        MONTHS
            .iter()
            .enumerate()
            .map(|(i, m)| ((i + 1).to_string(), (*m).to_owned())),
        &form.fiscal_year_start_month,
    );
    SettingsPage {
        layout: ctx.layout("Company settings"),
        company_id: ctx.actor.company_id.to_string(),
        month_name: month_options
            .iter()
            .find(|o| o.selected)
            .map(|o| o.label.clone())
            .unwrap_or_default(),
        month_options,
        form,
        editable: ctx.can(Resource::Settings, Action::Update),
        errors,
    }
}

pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    let company = companies::get(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let s = company.settings();
    let form = SettingsForm {
        name: s.name,
        timezone: s.timezone,
        currency: s.currency,
        fiscal_year_start_month: s.fiscal_year_start_month.to_string(),
        locale: s.locale,
    };
    Ok(ctx.render(&page(&ctx, form, FormErrors::new())))
}

pub async fn save(ctx: Ctx, WebForm(form): WebForm<SettingsForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let month = form.fiscal_year_start_month.parse::<u8>().ok();
    if month.is_none() {
        errors.add("fiscal_year_start_month", "must be a month");
    }
    if let (true, Some(month)) = (errors.is_empty(), month) {
        let body = UpdateSettings {
            name: Some(form.name.clone()),
            timezone: Some(form.timezone.clone()),
            currency: Some(form.currency.clone()),
            fiscal_year_start_month: Some(month),
            locale: Some(form.locale.clone()),
            require_close_reason: None,
        };
        match update_settings(&ctx.app, &ctx.actor, body).await {
            Ok(_) => return Ok(ctx.done("/settings", "Saved the company settings.")),
            Err(err) => errors
                .absorb(
                    err,
                    &[
                        "name",
                        "timezone",
                        "currency",
                        "fiscal_year_start_month",
                        "locale",
                    ],
                )
                .or_page(&ctx)?,
        }
    }
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&ctx, form, errors)))
}
