//! Lead conversion (issue 14 §3): `GET /leads/{id}/convert` suggests the accounts and
//! contacts a lead could be converted into, `POST /leads/{id}/convert` converts it
//! (`rivet_store::conversion`: one transaction). What a conversion makes is built here from the
//! lead and checked as a `POST` of that record type would check it (its custom fields, its
//! fields), so a conversion refuses exactly what the API would, the field named under
//! `account.`, `contact.` or `deal.`.

use crate::api::record::{ApiRecord, validate_new};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::ids::{AccountId, ContactId, LeadId, PipelineId, StageId, UserId};
use rivet_domain::leads::LeadStatus;
use rivet_domain::normalize;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::accounts::Account;
use rivet_store::contacts::Contact;
use rivet_store::conversion::{self, Moved, Plan, Target};
use rivet_store::deals::Deal;
use rivet_store::leads::Lead;
use rivet_store::record;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

const CONVERT: Access = Access::Allow(Resource::Leads, Action::Update);

/// How to convert a lead. Everything may be left out: a new account and contact are made from
/// the lead, and no deal.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertLead {
    /// An account of the company to convert into; left out, a new one is made from the lead
    /// (its company name, website's domain, industry, size, revenue and address).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub account_id: Option<AccountId>,
    /// The new account's name (the lead's company name, else its person's name). Only
    /// without `account_id`.
    pub account_name: Option<String>,
    /// A contact of the company to convert into (attached to the account if it has none; one
    /// of another account is refused); left out, a new one is made from the lead (its name,
    /// title, e-mail, phones and address), screened by the company's duplicate rules.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub contact_id: Option<ContactId>,
    /// Make a deal for the account and contact too.
    pub deal: Option<ConvertDeal>,
    /// Who owns what is made (the lead's owner when left out).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
}

/// The deal a conversion makes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertDeal {
    /// The account's name when left out.
    pub name: Option<String>,
    /// A decimal string, e.g. `"12500.10"`.
    pub amount: Option<String>,
    /// ISO 4217 code; the company's currency when left out.
    pub currency: Option<String>,
    /// Expected close date, `YYYY-MM-DD`.
    pub close_date: Option<String>,
    /// The company's default pipeline when left out.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub pipeline_id: Option<PipelineId>,
    /// The pipeline's first stage when left out.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub stage_id: Option<StageId>,
}

/// A converted lead and what it became.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conversion {
    /// The lead, now `converted`, with `converted_at` and the links.
    pub lead: Lead,
    pub account: Account,
    /// The account was made by this conversion (not chosen).
    pub account_created: bool,
    pub contact: Contact,
    pub contact_created: bool,
    pub deal: Option<Deal>,
    /// The lead's activities and tasks, now the contact's.
    pub moved: Moved,
}

/// Leads to convert in a batch, each into the first account that looks like its company (the
/// same website domain or normalized name) or a new one, and a new contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertLeads {
    /// 1 to 500 lead ids…
    #[schema(value_type = Option<Vec<uuid::Uuid>>, min_items = 1, max_items = 500)]
    pub ids: Option<Vec<uuid::Uuid>>,
    /// …or the leads a `GET /leads` query string selects (e.g. `status=qualified`).
    pub filter: Option<String>,
    /// Make a deal for each, from this (its name: the account's).
    pub deal: Option<ConvertDeal>,
}

/// The job that converts a batch of leads.
pub const BATCH_JOB: &str = "leads.convert";

/// What became of one lead of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    #[schema(value_type = uuid::Uuid)]
    pub lead_id: LeadId,
    /// `converted`, `skipped` (converted already) or `failed`.
    pub status: &'static str,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub account_id: Option<AccountId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub contact_id: Option<ContactId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub deal_id: Option<rivet_domain::ids::DealId>,
    /// Why it failed, in plain words.
    pub error: Option<String>,
}

/// What a lead could be converted into.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConvertOptions {
    /// The name a new account would get.
    pub account_name: String,
    /// Accounts like the lead's company (the same website domain or normalized name).
    pub accounts: Vec<Account>,
    /// Contacts like the lead's person (the same e-mail or phone).
    pub contacts: Vec<Contact>,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            post("/leads/convert", CONVERT)
                .doc(
                    "leads",
                    "Convert a batch of leads — their ids (500 at most), or those a GET /leads \
                     query string selects (5,000 at most) — as a background job (202 with the job; its \
                     progress and, once done, its result at GET /jobs/{id}): each lead is \
                     converted on its own, as POST /leads/{id}/convert would with only a deal \
                     given, into the first account that looks like its company or a new one \
                     and a new contact. The result lists each lead: converted (with what it \
                     became), skipped (converted already) or failed (why); one failing does \
                     not stop the others",
                )
                .body::<ConvertLeads>()
                .returns::<rivet_store::jobs::Job>()
                .status(202),
            convert_batch,
        )
        .add(
            get("/leads/{id}/convert", CONVERT)
                .doc(
                    "leads",
                    "What a lead could be converted into: the name a new account would get, \
                     and the accounts (same website domain or company name) and contacts (same \
                     e-mail or phone) of the company that look like it, five of each at most",
                )
                .returns::<ConvertOptions>(),
            options,
        )
        .add(
            post("/leads/{id}/convert", CONVERT)
                .doc(
                    "leads",
                    "Convert a lead, in one transaction: into a chosen account or a new one \
                     made from the lead (needs create on accounts), a chosen contact or a new \
                     one (create on contacts; screened by the duplicate rules: a blocking \
                     match is a 409 with the matches), and optionally a new deal (create on \
                     deals). The lead's activities and tasks move to the contact; the lead \
                     becomes converted with links to what it became, audited, with a \
                     lead.converted event. A lead converted already is a 409: nothing is made \
                     twice. A value the made record would refuse is a 422 naming it under \
                     account., contact. or deal.",
                )
                .body::<ConvertLead>()
                .returns::<Conversion>(),
            convert,
        )
}

/// What a new account takes of the lead: (the lead's field, the account's).
const ACCOUNT_FROM_LEAD: &[(&str, &str)] = &[
    ("industry", "industry"),
    ("employee_count", "employee_count"),
    ("annual_revenue", "annual_revenue"),
    ("annual_revenue_currency", "annual_revenue_currency"),
    ("street", "billing_street"),
    ("city", "billing_city"),
    ("region", "billing_region"),
    ("postal_code", "billing_postal_code"),
    ("country", "billing_country"),
];

/// What a new contact takes of the lead: the same fields, by the same names.
const CONTACT_FROM_LEAD: &[(&str, &str)] = &[
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("title", "title"),
    ("email", "email"),
    ("phone", "phone"),
    ("mobile", "mobile"),
    ("street", "street"),
    ("city", "city"),
    ("region", "region"),
    ("postal_code", "postal_code"),
    ("country", "country"),
];

/// The lead's values (`lead`, as the API shows it) under the names `fields` maps them to.
fn taken(lead: &Value, fields: &[(&str, &str)]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(from, to)| ((*to).to_owned(), lead[*from].clone()))
        .collect()
}

/// The name a new account gets: the lead's company, else its person.
pub fn account_name(lead: &Lead) -> String {
    let person = || {
        [lead.first_name.as_deref(), lead.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    };
    lead.company_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(person)
}

async fn options(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<ConvertOptions>, AppError> {
    let id: LeadId = parse_id(&id)?;
    let lead: Lead = record::get(&app.store, &actor, id).await?;
    let (accounts, contacts) = conversion::suggestions(&app.store, &actor, &lead).await?;
    Ok(Json(ConvertOptions {
        account_name: account_name(&lead),
        accounts,
        contacts,
    }))
}

async fn convert(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<ConvertLead>,
) -> Result<Json<Conversion>, AppError> {
    Ok(Json(
        convert_lead(&app, &actor, parse_id(&id)?, body).await?,
    ))
}

/// Convert lead `id` as `body` says (the API's and the web's conversion).
pub async fn convert_lead(
    app: &AppState,
    actor: &Actor,
    id: LeadId,
    body: ConvertLead,
) -> Result<Conversion, AppError> {
    let lead: Lead = record::get(&app.store, actor, id).await?;
    if lead.status == LeadStatus::Converted {
        // Said again, with the links, by the store's check in the transaction.
        return Err(rivet_store::StoreError::Conflict {
            field: "status".into(),
            message: "the lead is converted already".into(),
        }
        .into());
    }
    let owner = json!(body.owner_id.unwrap_or(lead.owner_id));
    let values = serde_json::to_value(&lead).unwrap_or_default();
    // A blank name is no name: the lead's is used.
    let named = body.account_name.filter(|n| !n.trim().is_empty());
    let account = match body.account_id {
        Some(id) => {
            if named.is_some() {
                return Err(AppError::Validation(FieldErrors::single(
                    "account_name",
                    "names a new account: leave it out with account_id",
                )));
            }
            Target::Existing(id)
        }
        None => {
            let name = named.clone().unwrap_or_else(|| account_name(&lead));
            let domain = lead
                .website
                .as_deref()
                .and_then(normalize::registrable_domain)
                .filter(|d| !normalize::is_free_mail(d));
            let mut input = taken(&values, ACCOUNT_FROM_LEAD);
            input.insert("name".into(), json!(name));
            input.insert("domain".into(), json!(domain));
            input.insert("owner_id".into(), owner.clone());
            Target::New(data_of::<Account>(app, actor, "account", Value::Object(input)).await?)
        }
    };
    let contact = match body.contact_id {
        Some(id) => Target::Existing(id),
        None => {
            let mut input = taken(&values, CONTACT_FROM_LEAD);
            input.insert("owner_id".into(), owner.clone());
            Target::New(data_of::<Contact>(app, actor, "contact", Value::Object(input)).await?)
        }
    };
    let deal = match body.deal {
        Some(deal) => {
            let given = deal.name.as_deref().filter(|n| !n.trim().is_empty());
            let name = match (given, &account) {
                (Some(name), _) => name.to_owned(),
                (None, Target::New(_)) => named.clone().unwrap_or_else(|| account_name(&lead)),
                (None, Target::Existing(id)) => {
                    // The account's own name; one the caller cannot see is refused in the
                    // transaction, as `account_id`.
                    match record::get::<Account>(&app.store, actor, *id).await {
                        Ok(account) => account.name,
                        Err(_) => account_name(&lead),
                    }
                }
            };
            Some(deal_data(app, actor, &deal, name, owner.clone()).await?)
        }
        None => None,
    };
    let plan = Plan {
        account,
        contact,
        deal,
    };
    let converted = conversion::convert(&app.store, actor, id, plan)
        .await
        .map_err(|e| deal_fields(e.into()))?;
    Ok(Conversion {
        lead: converted.lead,
        account: converted.account,
        account_created: converted.account_created,
        contact: converted.contact,
        contact_created: converted.contact_created,
        deal: converted.deal,
        moved: converted.moved,
    })
}

/// The deal a conversion makes, named `name`, owned by `owner`, checked as `POST /deals`
/// checks it.
async fn deal_data(
    app: &AppState,
    actor: &Actor,
    deal: &ConvertDeal,
    name: String,
    owner: Value,
) -> Result<rivet_domain::deals::DealData, AppError> {
    let input = json!({
        "name": name,
        "amount": deal.amount,
        "currency": deal.currency,
        "close_date": deal.close_date,
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "owner_id": owner,
    });
    data_of::<Deal>(app, actor, "deal", input).await
}

/// The data of a record a conversion makes, from `input` (its API body), checked as that
/// record's `POST` checks it; a refused value is named `<prefix>.<field>`.
async fn data_of<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    prefix: &str,
    input: Value,
) -> Result<R::Data, AppError> {
    let Value::Object(mut map) = input else {
        return Err(AppError::Internal(anyhow::anyhow!("a conversion's input")));
    };
    map.retain(|_, v| !v.is_null());
    let input: R::Input = serde_json::from_value(Value::Object(map))
        .map_err(|e| AppError::Validation(FieldErrors::single(prefix, e.to_string())))?;
    validate_new::<R>(app, actor, input)
        .await
        .map_err(|e| prefixed(e, prefix))
}

/// A validation error of a made record, each field named `<prefix>.<field>` where `rename`
/// says so.
fn renamed(err: AppError, prefix: &str, rename: impl Fn(&str) -> bool) -> AppError {
    match err {
        AppError::Validation(mut errors) => {
            for e in &mut errors.0 {
                if rename(&e.field) {
                    e.field = format!("{prefix}.{}", e.field);
                }
            }
            AppError::Validation(errors)
        }
        other => other,
    }
}

/// A validation error of a made record: every field is that record's.
fn prefixed(err: AppError, prefix: &str) -> AppError {
    renamed(err, prefix, |field| !field.contains('.'))
}

/// What the transaction refuses of the deal (its pipeline and stage are checked against the
/// company's there) is named under `deal.`; the body's own fields (`account_id`,
/// `contact_id`, `owner_id`) keep their names.
fn deal_fields(err: AppError) -> AppError {
    renamed(err, "deal", |field| {
        [
            "pipeline_id",
            "stage_id",
            "close_date",
            "amount",
            "currency",
            "name",
        ]
        .contains(&field)
    })
}

async fn convert_batch(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<ConvertLeads>,
) -> Result<(axum::http::StatusCode, Json<rivet_store::jobs::Job>), AppError> {
    let selection = crate::api::assignment::ApplyBody {
        ids: body.ids,
        filter: body.filter,
    };
    // The deal each lead will get is checked now, as far as it is the same for every lead
    // (its name is the account's when left out).
    if let Some(deal) = &body.deal {
        let name = deal.name.clone().filter(|n| !n.trim().is_empty());
        let name = name.unwrap_or_else(|| "Deal".to_owned());
        deal_data(&app, &actor, deal, name, json!(actor.user_id)).await?;
    }
    // A filter that selects no lead makes a job that converts none.
    let ids = crate::api::assignment::apply_ids(&app, &actor, selection).await?;
    let job = rivet_store::jobs::NewJob::new(
        BATCH_JOB,
        json!({ "user_id": actor.user_id, "ids": ids, "deal": body.deal }),
    )
    .for_company(actor.company_id)
    .max_attempts(1);
    let id = rivet_store::jobs::enqueue_now(&app.store, job).await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(rivet_store::jobs::get(&app.store, &actor, id).await?),
    ))
}

/// Run a batch conversion job as the member who asked for it, with their permissions now:
/// each lead in turn, `progress(done, total)` after each.
pub async fn run_batch(
    app: &AppState,
    job: &rivet_store::jobs::Job,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<Value, String> {
    let ids: Vec<LeadId> = serde_json::from_value(job.payload["ids"].clone())
        .map_err(|e| format!("the job's lead ids: {e}"))?;
    let deal: Option<ConvertDeal> = serde_json::from_value(job.payload["deal"].clone())
        .map_err(|e| format!("the job's deal: {e}"))?;
    let actor = rivet_store::jobs::member(&app.store, job)
        .await
        .map_err(|e| format!("reading the member who asked: {e}"))?
        .ok_or("the member who asked for the conversion is no longer active")?;
    let total = ids.len() as i64;
    let mut results = Vec::with_capacity(ids.len());
    for (n, id) in ids.into_iter().enumerate() {
        results.push(convert_one(app, &actor, id, deal.clone()).await);
        progress(n as i64 + 1, total);
    }
    let count = |status: &str| results.iter().filter(|r| r.status == status).count();
    Ok(json!({
        "converted": count("converted"),
        "skipped": count("skipped"),
        "failed": count("failed"),
        "results": results,
    }))
}

/// Run an automatic conversion (`rivet_store::qualification::AUTO_CONVERT_JOB`: the
/// company's rule matched the lead): as a batch converts one lead, on behalf of the lead's
/// owner with what a conversion needs granted — the rule is the company's, not the owner's
/// role. A lead converted meanwhile is skipped; one that is gone is reported.
pub async fn run_auto(app: &AppState, job: &rivet_store::jobs::Job) -> Result<Value, String> {
    let company = job
        .company_id
        .map(rivet_domain::ids::CompanyId::from_uuid)
        .ok_or("an automatic conversion needs a company")?;
    let id: LeadId = serde_json::from_value(job.payload["lead_id"].clone())
        .map_err(|e| format!("the job's lead id: {e}"))?;
    let Some(owner) = rivet_store::qualification::owner_of(&app.store, company, id)
        .await
        .map_err(|e| format!("reading the lead: {e}"))?
    else {
        return Ok(json!({"lead_id": id, "status": "skipped", "error": "the lead is gone"}));
    };
    let actor = rivet_store::sessions::load_actor(&app.store, company, owner, None, None)
        .await
        .map_err(|e| format!("reading the lead's owner: {e}"))?
        .ok_or("the lead's owner is no longer an active member")?
        .granted(&[
            (Resource::Leads, Action::Read),
            (Resource::Leads, Action::Update),
            (Resource::Accounts, Action::Read),
            (Resource::Accounts, Action::Create),
            (Resource::Contacts, Action::Read),
            (Resource::Contacts, Action::Create),
        ])
        .via("automatic conversion");
    let result = convert_one(app, &actor, id, None).await;
    serde_json::to_value(&result).map_err(|e| e.to_string())
}

/// One lead of a batch: into the first account like its company or a new one.
async fn convert_one(
    app: &AppState,
    actor: &Actor,
    id: LeadId,
    deal: Option<ConvertDeal>,
) -> BatchResult {
    let result = |status, error: Option<String>| BatchResult {
        lead_id: id,
        status,
        account_id: None,
        contact_id: None,
        deal_id: None,
        error,
    };
    let lead: Lead = match record::get(&app.store, actor, id).await {
        Ok(lead) => lead,
        Err(e) => return result("failed", Some(AppError::from(e).to_string())),
    };
    if lead.status == LeadStatus::Converted {
        return result("skipped", Some("converted already".into()));
    }
    let account_id = match conversion::suggestions(&app.store, actor, &lead).await {
        Ok((accounts, _)) => accounts.first().map(|a| a.id),
        Err(e) => return result("failed", Some(AppError::from(e).to_string())),
    };
    let body = ConvertLead {
        account_id,
        deal,
        ..ConvertLead::default()
    };
    match convert_lead(app, actor, id, body).await {
        Ok(done) => BatchResult {
            lead_id: id,
            status: "converted",
            account_id: Some(done.account.id),
            contact_id: Some(done.contact.id),
            deal_id: done.deal.map(|d| d.id),
            error: None,
        },
        Err(e) => result("failed", Some(plain(&e))),
    }
}

/// An error as one line: its message, and a validation error's fields.
fn plain(err: &AppError) -> String {
    match err {
        AppError::Validation(errors) => errors
            .0
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
