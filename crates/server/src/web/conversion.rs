//! The convert page of a lead (issue 14 §3): into a new account or one of the accounts that
//! look like the lead's company, a new contact or one that looks like its person, and a deal if
//! wanted — the API's conversion (`crate::api::conversion::convert_lead`), so the page refuses
//! exactly what `POST /api/v1/leads/{id}/convert` refuses, the message next to its field.

use super::leads::display_name;
use super::view::{Ctx, FormErrors, Layout, OrPage, WebError, WebForm};
use crate::api::conversion::{ConvertDeal, ConvertLead, convert_lead};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::{AccountId, ContactId, LeadId};
use rivet_domain::leads::LeadStatus;
use rivet_store::conversion;
use rivet_store::leads::Lead;
use rivet_store::record;
use serde::Deserialize;

/// The form as typed: `account` and `contact` are `new` or the id of a suggested record.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ConvertForm {
    account: String,
    account_name: String,
    contact: String,
    create_deal: String,
    deal_name: String,
    deal_amount: String,
    deal_close_date: String,
}

/// One choice of a radio group: value, label, detail, checked.
struct Choice {
    value: String,
    label: String,
    detail: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "web/lead_convert.html")]
struct ConvertPage {
    layout: Layout,
    id: String,
    name: String,
    accounts: Vec<Choice>,
    contacts: Vec<Choice>,
    form: ConvertForm,
    errors: FormErrors,
}

/// The fields a message of the API can sit next to, as the form names them.
const FIELDS: &[&str] = &[
    "account",
    "account_name",
    "contact",
    "deal_name",
    "deal_amount",
    "deal_close_date",
];

/// The form's name of an API field (`deal.amount` is `deal_amount`, a new contact's or
/// account's own field sits next to its choice).
fn form_field(api: &str) -> String {
    match api {
        "account_id" => "account".into(),
        "contact_id" | "duplicates" => "contact".into(),
        "deal.name" => "deal_name".into(),
        "deal.amount" | "deal.currency" => "deal_amount".into(),
        "deal.close_date" => "deal_close_date".into(),
        other if other.starts_with("account.") => "account_name".into(),
        other if other.starts_with("contact.") => "contact".into(),
        other => other.into(),
    }
}

/// The lead to convert: one the caller may see, not converted yet (else its page, which says
/// what it became).
async fn convertible(ctx: &Ctx, id: &str) -> Result<Result<Lead, Response>, WebError> {
    let id: LeadId = parse_id(id).or_page(ctx)?;
    let lead = record::get::<Lead>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)?;
    if lead.status == LeadStatus::Converted {
        return Ok(Err(
            ctx.done(&format!("/leads/{id}"), "This lead is converted already.")
        ));
    }
    Ok(Ok(lead))
}

async fn page(
    ctx: &Ctx,
    lead: &Lead,
    form: Option<ConvertForm>,
    errors: FormErrors,
) -> Result<ConvertPage, WebError> {
    let (accounts, contacts) = conversion::suggestions(&ctx.app.store, &ctx.actor, lead)
        .await
        .or_page(ctx)?;
    let suggested_name = crate::api::conversion::account_name(lead);
    let form = form.unwrap_or_else(|| ConvertForm {
        account: accounts.first().map_or("new".into(), |a| a.id.to_string()),
        account_name: suggested_name.clone(),
        contact: contacts.first().map_or("new".into(), |c| c.id.to_string()),
        ..ConvertForm::default()
    });
    let mut account_choices = vec![Choice {
        value: "new".into(),
        label: "A new account".into(),
        detail: String::new(),
        checked: form.account == "new",
    }];
    account_choices.extend(accounts.iter().map(|a| Choice {
        value: a.id.to_string(),
        label: a.name.clone(),
        detail: a.domain.clone().unwrap_or_default(),
        checked: form.account == a.id.to_string(),
    }));
    let mut contact_choices = vec![Choice {
        value: "new".into(),
        label: format!("A new contact: {}", display_name(lead)),
        detail: lead.email.clone().unwrap_or_default(),
        checked: form.contact == "new",
    }];
    contact_choices.extend(contacts.iter().map(|c| {
        Choice {
            value: c.id.to_string(),
            label: [c.first_name.as_deref(), c.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            detail: c.email.clone().unwrap_or_default(),
            checked: form.contact == c.id.to_string(),
        }
    }));
    Ok(ConvertPage {
        layout: ctx.layout(format!("Convert {}", display_name(lead))),
        id: lead.id.to_string(),
        name: display_name(lead),
        accounts: account_choices,
        contacts: contact_choices,
        form,
        errors,
    })
}

/// `GET /leads/{id}/convert`.
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let lead = match convertible(&ctx, &id).await? {
        Ok(lead) => lead,
        Err(done) => return Ok(done),
    };
    let page = page(&ctx, &lead, None, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

/// The form as the API's body; what only the form knows (a choice that is no id) is checked
/// here.
fn body_of(form: &ConvertForm, errors: &mut FormErrors) -> ConvertLead {
    let choice = |value: &str, field: &str, errors: &mut FormErrors| match value.trim() {
        "" | "new" => None,
        id => match id.parse::<uuid::Uuid>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add(field, "is not one of the choices");
                None
            }
        },
    };
    let account = choice(&form.account, "account", errors).map(AccountId::from_uuid);
    let contact = choice(&form.contact, "contact", errors).map(ContactId::from_uuid);
    let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    ConvertLead {
        account_id: account,
        account_name: if account.is_none() {
            text(&form.account_name)
        } else {
            None
        },
        contact_id: contact,
        deal: (form.create_deal == "true").then(|| ConvertDeal {
            name: text(&form.deal_name),
            amount: text(&form.deal_amount),
            close_date: text(&form.deal_close_date),
            ..ConvertDeal::default()
        }),
        owner_id: None,
    }
}

/// `POST /leads/{id}/convert`: convert, then the contact's page; or the form again with the
/// messages (422).
pub async fn convert(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<ConvertForm>,
) -> Result<Response, WebError> {
    let lead = match convertible(&ctx, &id).await? {
        Ok(lead) => lead,
        Err(done) => return Ok(done),
    };
    let mut errors = FormErrors::new();
    let body = body_of(&form, &mut errors);
    if errors.is_empty() {
        match convert_lead(&ctx.app, &ctx.actor, lead.id, body).await {
            Ok(done) => {
                let deal = done
                    .deal
                    .as_ref()
                    .map(|d| format!(" and the deal {}", d.name))
                    .unwrap_or_default();
                return Ok(ctx.done(
                    &format!("/contacts/{}", done.contact.id),
                    format!(
                        "Converted {} into the account {}, this contact{deal}.",
                        display_name(&lead),
                        done.account.name
                    ),
                ));
            }
            Err(err) => absorb(&mut errors, err).or_page(&ctx)?,
        }
    }
    let page = page(&ctx, &lead, Some(form), errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The API's messages next to the form's fields.
fn absorb(errors: &mut FormErrors, err: AppError) -> Result<(), AppError> {
    let err = match err {
        AppError::Validation(mut list) => {
            for e in &mut list.0 {
                let field = form_field(&e.field);
                if field != e.field {
                    // "Last name must not be empty" says which of the new contact's fields.
                    if let Some((_, own)) = e.field.split_once('.') {
                        e.message = format!("({}) {}", own.replace('_', " "), e.message);
                    }
                    e.field = field;
                }
            }
            AppError::Validation(list)
        }
        AppError::Duplicate(matches) => {
            let names: Vec<String> = matches.iter().map(|m| m.name.clone()).collect();
            errors.add(
                "contact",
                format!(
                    "cannot be a new one: the duplicate rules refuse it, it is like {}",
                    names.join(", ")
                ),
            );
            return Ok(());
        }
        other => other,
    };
    errors.absorb(err, FIELDS)
}
