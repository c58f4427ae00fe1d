//! Web-to-lead forms (issue 13 §1): a company's form definitions (`lead_forms`, the checked
//! `LeadFormInput` kept as JSON next to the public key, the on/off switch and the user whose
//! leads the posts become), scoped to the caller's company and audited under the `settings`
//! resource; the look-up of a form by its public key (across companies: the visitor names no
//! company); and the log of posts (`lead_form_submissions`: outcome, consent, referrer and
//! origin), written in the transaction of the lead it made.

use crate::tables::{LeadFormSubmissions as S, LeadForms as F};
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, Id, LeadFormId, LeadId, UserId};
use rivet_domain::lead_forms::LeadFormInput;
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Value;

/// A form as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadForm {
    #[schema(value_type = uuid::Uuid)]
    pub id: LeadFormId,
    /// The public key of its address: `POST /f/{key}`, `GET /f/{key}/embed`.
    pub key: String,
    /// The definition, its `owner_id` always set.
    #[serde(flatten)]
    pub definition: LeadFormInput,
    /// Posts taken so far.
    pub submissions: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct FormRow {
    company_id: CompanyId,
    id: LeadFormId,
    key: String,
    definition: String,
    owner_id: UserId,
    submissions: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl FormRow {
    fn form(self) -> Result<LeadForm> {
        let mut definition: LeadFormInput = serde_json::from_str(&self.definition)
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(format!("lead form: {e}"))))?;
        definition.owner_id = Some(self.owner_id);
        Ok(LeadForm {
            id: self.id,
            key: self.key,
            definition,
            submissions: self.submissions,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A form's columns, without its count of posts.
fn columns() -> SelectStatement {
    Query::select()
        .columns([
            (F::Table, F::CompanyId),
            (F::Table, F::Id),
            (F::Table, F::Key),
            (F::Table, F::Definition),
            (F::Table, F::OwnerId),
            (F::Table, F::CreatedAt),
            (F::Table, F::UpdatedAt),
        ])
        .from(F::Table)
        .to_owned()
}

/// A form with how many posts it took (the admin's reads).
fn select() -> SelectStatement {
    let count = Query::select()
        .expr(Func::count(Expr::col((S::Table, S::Id))))
        .from(S::Table)
        .and_where(Expr::col((S::Table, S::CompanyId)).equals((F::Table, F::CompanyId)))
        .and_where(Expr::col((S::Table, S::FormId)).equals((F::Table, F::Id)))
        .to_owned();
    columns()
        .expr_as(Expr::SubQuery(None, Box::new(count.into())), "submissions")
        .to_owned()
}

fn of_company(company: CompanyId) -> SelectStatement {
    select()
        .and_where(Expr::col((F::Table, F::CompanyId)).eq(company))
        .to_owned()
}

async fn get_in<C: ConnectionTrait>(conn: &C, actor: &Actor, id: LeadFormId) -> Result<LeadForm> {
    let row: Option<FormRow> = fetch_optional(
        conn,
        of_company(actor.company_id).and_where(Expr::col((F::Table, F::Id)).eq(id)),
    )
    .await?;
    row.ok_or(StoreError::NotFound)?.form()
}

/// The company's forms, newest first.
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<LeadForm>> {
    let rows: Vec<FormRow> = fetch_all(
        store.read(actor).await?.conn(),
        of_company(actor.company_id).order_by((F::Table, F::Id), Order::Desc),
    )
    .await?;
    rows.into_iter().map(FormRow::form).collect()
}

pub async fn get(store: &Store, actor: &Actor, id: LeadFormId) -> Result<LeadForm> {
    get_in(store.read(actor).await?.conn(), actor, id).await
}

fn definition_text(input: &LeadFormInput) -> Result<String> {
    serde_json::to_string(input).map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))
}

fn audit_json(form: &LeadForm) -> Value {
    serde_json::json!({"key": form.key, "definition": form.definition})
}

impl LeadForm {
    /// The user the form's leads are created as.
    pub fn owner(&self) -> Option<UserId> {
        self.definition.owner_id
    }
}

/// The form's owner must be an active member who may create leads.
async fn check_owner(tx: &Tx, actor: &Actor, owner: UserId) -> Result<()> {
    crate::record::check_owner_of::<crate::leads::Lead>(
        tx,
        actor,
        Action::Create,
        owner,
        "owner_id",
    )
    .await
}

/// Create a form (validated by the caller) with a new public key.
pub async fn create(store: &Store, actor: &Actor, input: &LeadFormInput) -> Result<LeadForm> {
    let owner = input.owner_id.unwrap_or(actor.user_id);
    let id: LeadFormId = Id::new();
    let at = now();
    let tx = store.write(actor).await?;
    check_owner(&tx, actor, owner).await?;
    let key = crate::sessions::random_token()[..22].to_owned();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(F::Table)
            .columns([
                F::CompanyId,
                F::Id,
                F::Key,
                F::Name,
                F::Definition,
                F::Active,
                F::OwnerId,
                F::CreatedBy,
                F::CreatedAt,
                F::UpdatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                id.into(),
                key.into(),
                input.name.clone().into(),
                definition_text(input)?.into(),
                input.active.into(),
                owner.into(),
                actor.user_id.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    let form = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Settings,
        id,
        Action::Create,
        None,
        Some(&audit_json(&form)),
    )
    .await?;
    tx.commit().await?;
    Ok(form)
}

/// Replace a form's definition (its owner stays when the input names none); its key stays.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: LeadFormId,
    input: &LeadFormInput,
) -> Result<LeadForm> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    let owner = input.owner_id.or(before.owner()).unwrap_or(actor.user_id);
    if Some(owner) != before.owner() {
        check_owner(&tx, actor, owner).await?;
    }
    exec(
        tx.conn(),
        Query::update()
            .table(F::Table)
            .value(F::Name, input.name.clone())
            .value(F::Definition, definition_text(input)?)
            .value(F::Active, input.active)
            .value(F::OwnerId, owner)
            .value(F::UpdatedAt, now())
            .and_where(Expr::col(F::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(F::Id).eq(id)),
    )
    .await?;
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Settings,
        id,
        Action::Update,
        Some(&audit_json(&before)),
        Some(&audit_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete a form and its log of posts (the leads it made stay).
pub async fn delete(store: &Store, actor: &Actor, id: LeadFormId) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(S::Table)
            .and_where(Expr::col(S::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(S::FormId).eq(id)),
    )
    .await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(F::Table)
            .and_where(Expr::col(F::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(F::Id).eq(id)),
    )
    .await?;
    tx.audit(
        Resource::Settings,
        id,
        Action::Delete,
        Some(&audit_json(&before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A form found by its public key, with its company: for the public endpoint, which knows no
/// company until the key names one (read through the system connection, by the unique key).
pub async fn by_key(store: &Store, key: &str) -> Result<Option<(CompanyId, LeadForm)>> {
    let row: Option<FormRow> = fetch_optional(
        store.system(),
        // A visitor's post does not count the form's earlier posts.
        columns()
            .expr_as(Expr::val(0i64), "submissions")
            .and_where(Expr::col((F::Table, F::Key)).eq(key)),
    )
    .await?;
    row.map(|r| {
        let company = r.company_id;
        r.form().map(|f| (company, f))
    })
    .transpose()
}

/// What became of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A lead was created (`lead` is it).
    Created,
    /// A blocking duplicate rule matched (`lead` is the matched lead, if it is one).
    Duplicate,
    /// The honeypot was filled in: nothing was created.
    Spam,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Duplicate => "duplicate",
            Self::Spam => "spam",
        }
    }
}

/// One post of a form, as the log keeps it.
pub struct Submission<'a> {
    pub form: LeadFormId,
    pub lead: Option<LeadId>,
    pub outcome: Outcome,
    pub consent: bool,
    pub referrer: Option<&'a str>,
    pub origin: Option<&'a str>,
}

/// Log a post, in the transaction of what it made; a post for a lead is that lead's
/// `form_submitted` engagement signal.
pub async fn log_in(tx: &Tx, actor: &Actor, s: &Submission<'_>) -> Result<()> {
    if let Some(lead) = s.lead {
        crate::scoring::report_signal(tx, actor.company_id, lead, "form_submitted", None, None)
            .await?;
    }
    let cut = |v: Option<&str>| v.map(|v| v.chars().take(2_000).collect::<String>());
    exec(
        tx.conn(),
        Query::insert()
            .into_table(S::Table)
            .columns([
                S::CompanyId,
                S::Id,
                S::FormId,
                S::LeadId,
                S::Outcome,
                S::Consent,
                S::Referrer,
                S::Origin,
                S::CreatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                new_id().into(),
                s.form.into(),
                s.lead.map(|l| l.uuid()).into(),
                s.outcome.as_str().into(),
                s.consent.into(),
                cut(s.referrer).into(),
                cut(s.origin).into(),
                now().into(),
            ]),
    )
    .await?;
    Ok(())
}

/// Log a post that made nothing (spam, a refused duplicate) in its own transaction.
pub async fn log(store: &Store, actor: &Actor, s: &Submission<'_>) -> Result<()> {
    let tx = store.write(actor).await?;
    log_in(&tx, actor, s).await?;
    tx.commit().await?;
    Ok(())
}
