//! A settings document's page under Administration (lead scoring, deal risk, account health):
//! `GET` shows the company's settings in the page's form, `POST` reads the form back into the
//! document's input and saves it through the API's function
//! (`crate::api::settings_doc::put_settings`), so the page refuses what the API does. Mistakes
//! come back as the form again (422) with each message next to its field, or at the top; a
//! save redirects to the page with a message. Each page declares its form and template
//! ([`SettingsForm`]); the flow is here.

use super::conditions::Fields;
use super::view::{Ctx, FormErrors, OrPage, WebError, WebForm};
use crate::api::settings_doc::{SettingsApi, put_settings};
use crate::http::error::AppError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::{FieldError, FieldErrors};
use rivet_store::documents;

/// A settings document's page: its form, in both directions, and its template.
pub trait SettingsForm: SettingsApi {
    /// Where the page is (`/admin/risk`); a save returns there.
    const PAGE: &'static str;
    /// The message a save leaves.
    const SAVED: &'static str;
    /// Where the form put what the input holds, as [`SettingsForm::input_of`] read it, for
    /// [`SettingsForm::to_form`] (`()` where the form's fields are the API's places).
    type Places: Send;

    /// The settings as the form's fields.
    fn form_of(input: &Self::Input) -> Fields;

    /// The input the form describes; what cannot be read goes to `errors` next to its field.
    fn input_of(form: &Fields, errors: &mut FormErrors) -> (Self::Input, Self::Places);

    /// The page with `form` filled in and `errors` shown.
    fn page(ctx: &Ctx, form: &Fields, errors: FormErrors) -> impl Template;

    /// The fields a message can stand next to; a message about any other goes to the top.
    fn fields(form: &Fields) -> Vec<String>;

    /// A message of the API in the form's names (as the API names it by default).
    fn to_form(error: FieldError, _places: &Self::Places) -> FieldError {
        error
    }
}

/// `GET` of the page.
pub async fn show<D: SettingsForm>(ctx: Ctx) -> Result<Response, WebError> {
    let doc: D = documents::settings(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let form = D::form_of(&doc.to_input());
    Ok(ctx.render(&D::page(&ctx, &form, FormErrors::new())))
}

/// `POST` of the page: save, then the page again with a message; or the form with the
/// messages next to their inputs (422).
pub async fn save<D: SettingsForm>(
    ctx: Ctx,
    WebForm(form): WebForm<Fields>,
) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let (input, places) = D::input_of(&form, &mut errors);
    if errors.is_empty() {
        match put_settings::<D>(&ctx.app, &ctx.actor, input).await {
            Ok(_) => return Ok(ctx.done(D::PAGE, D::SAVED)),
            Err(err) => {
                let err = match err {
                    AppError::Validation(found) => AppError::Validation(FieldErrors(
                        found
                            .0
                            .into_iter()
                            .map(|e| D::to_form(e, &places))
                            .collect(),
                    )),
                    other => other,
                };
                let fields = D::fields(&form);
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                errors.absorb(err, &fields).or_page(&ctx)?;
            }
        }
    }
    let page = D::page(&ctx, &form, errors);
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
