//! E-mail templates (issue 15 §2) as a definition of the generic definitions layer
//! ([`crate::definitions`]: list, get, create, update, delete, audited), and what rendering one
//! needs from the database: the variables of one record, read as the caller
//! ([`context`]), and [`render_for`], the one call the sending path makes.
//!
//! A template reaches only its context, and the context is built here from reads in the
//! caller's scope: a record the caller cannot read is not found, and a deal's account and
//! contact the caller cannot read are left empty. `sender` is the caller (the user the e-mail
//! goes out as); `owner` the record's owner as a member of the company.

use crate::custom_fields;
use crate::definitions::{self, Definition, Stored};
use crate::record::{self, Record};
use crate::tables::{Memberships, Users};
use crate::{Result, Store, StoreError, Tx, fetch_optional};
use rivet_domain::ids::{CompanyId, ContactId, DealId, EmailTemplateId, LeadId, UserId, kind};
use rivet_domain::templates::{
    CUSTOM, Context, EmailTemplate, EmailTemplateInput, PERSON_FIELDS, RecordType, Rendered,
};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

impl Definition for EmailTemplate {
    type Input = EmailTemplateInput;
    type Kind = kind::EmailTemplate;
    const KIND: &'static str = "email_template";
    const RESOURCE: Resource = Resource::Templates;
    const SCHEMA: &'static str = "EmailTemplate";

    fn validate(input: Self::Input) -> std::result::Result<Self, FieldErrors> {
        input.validate()
    }

    fn to_input(&self) -> Self::Input {
        EmailTemplate::to_input(self)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn active(&self) -> bool {
        self.active
    }

    /// Every custom-field variable names one of the company's fields of the record type.
    async fn check(&self, tx: &Tx, company: CompanyId) -> Result<()> {
        check_custom_keys(tx.conn(), company, self).await
    }

    /// A template a sequence still sends is not deleted (409 naming the sequences).
    async fn before_delete(tx: &Tx, company: CompanyId, id: EmailTemplateId) -> Result<()> {
        let users = crate::sequences::using_template(tx.conn(), company, id).await?;
        if users.is_empty() {
            return Ok(());
        }
        Err(StoreError::Conflict {
            field: "id".into(),
            message: format!("the template is used by the sequences {}", users.join(", ")),
        })
    }
}

/// The custom-field keys of `template` that the company has not defined, as a 422.
pub async fn check_custom_keys<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    template: &EmailTemplate,
) -> Result<()> {
    let used = template.custom_keys();
    if used.is_empty() {
        return Ok(());
    }
    let defined = custom_keys(conn, company, template.record_type).await?;
    let mut errors = FieldErrors::new();
    for key in used {
        if !defined.iter().any(|(k, _)| *k == key.key) {
            errors.add(key.field, key.unknown());
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

/// The company's custom fields of the record type: key and label, in display order.
async fn custom_keys<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    record_type: RecordType,
) -> Result<Vec<(String, String)>> {
    Ok(
        custom_fields::load_all(conn, company, Some(record_type.custom_fields()))
            .await?
            .into_iter()
            .map(|d| (d.key, d.label))
            .collect(),
    )
}

/// What a template of `record_type` may use in the caller's company (the editor's list).
pub async fn variables(
    store: &Store,
    actor: &Actor,
    record_type: RecordType,
) -> Result<Vec<rivet_domain::templates::Variable>> {
    let r = store.read(actor).await?;
    let custom = custom_keys(r.conn(), actor.company_id, record_type).await?;
    Ok(rivet_domain::templates::variables(record_type, &custom))
}

#[derive(FromQueryResult)]
struct Person {
    name: String,
    email: String,
}

/// A member of the company by id (name and e-mail), whatever the caller's scope on users: a
/// record's owner is shown on the record anyway.
async fn person<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    user: UserId,
) -> Result<Option<Person>> {
    let q = Query::select()
        .column((Users::Table, Users::Name))
        .column((Users::Table, Users::Email))
        .from(Memberships::Table)
        .join(
            JoinType::InnerJoin,
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Memberships::Table, Memberships::UserId)),
        )
        .and_where(Expr::col((Memberships::Table, Memberships::CompanyId)).eq(company))
        .and_where(Expr::col((Memberships::Table, Memberships::UserId)).eq(user))
        .to_owned();
    fetch_optional(conn, &q).await
}

fn set_person(context: &mut Context, object: &str, person: Option<Person>) {
    if let Some(p) = person {
        context.set(object, PERSON_FIELDS[0], Value::from(p.name));
        context.set(object, PERSON_FIELDS[1], Value::from(p.email));
    }
}

/// A record as a template sees it: its fields as the API shows them, its custom fields
/// (every defined key, `null` when it has no value) under `custom`.
fn record_object<R: Serialize>(
    record: &R,
    keys: &[(String, String)],
) -> Result<Map<String, Value>> {
    let mut object = match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        _ => return Err(StoreError::invalid("record_id", "cannot be shown")),
    };
    let stored = match object.remove("custom_fields") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let custom: Map<String, Value> = keys
        .iter()
        .map(|(k, _)| (k.clone(), stored.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    object.insert(CUSTOM.to_owned(), Value::Object(custom));
    Ok(object)
}

/// The variables of one record for a template of `record_type`, read as the caller: a record
/// the caller cannot read (another company's, outside their scope) is not found.
pub async fn context(
    store: &Store,
    actor: &Actor,
    record_type: RecordType,
    record_id: Uuid,
) -> Result<Context> {
    let r = store.read(actor).await?;
    let conn = r.conn();
    let keys = custom_keys(conn, actor.company_id, record_type).await?;
    let key_names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
    let mut context = Context::empty(record_type, &key_names);
    let (object, owner) = match record_type {
        RecordType::Lead => {
            let lead: crate::leads::Lead =
                record::get_in(conn, actor, Action::Read, LeadId::from_uuid(record_id)).await?;
            (record_object(&lead, &keys)?, lead.owner_id)
        }
        RecordType::Contact => {
            let contact: crate::contacts::Contact =
                record::get_in(conn, actor, Action::Read, ContactId::from_uuid(record_id)).await?;
            (record_object(&contact, &keys)?, contact.owner_id)
        }
        RecordType::Deal => {
            let deal: crate::deals::Deal =
                record::get_in(conn, actor, Action::Read, DealId::from_uuid(record_id)).await?;
            if let Some(id) = deal.account_id {
                let account = readable::<crate::accounts::Account, _>(conn, actor, id).await?;
                if let Some(a) = account {
                    context
                        .0
                        .insert("account".into(), record_object(&a, &[])?.into());
                }
            }
            if let Some(id) = deal.contact_id {
                let contact = readable::<crate::contacts::Contact, _>(conn, actor, id).await?;
                if let Some(c) = contact {
                    context
                        .0
                        .insert("contact".into(), record_object(&c, &[])?.into());
                }
            }
            (record_object(&deal, &keys)?, deal.owner_id)
        }
    };
    context
        .0
        .insert(record_type.to_string(), Value::Object(object));
    set_person(
        &mut context,
        "owner",
        person(conn, actor.company_id, owner).await?,
    );
    set_person(
        &mut context,
        "sender",
        person(conn, actor.company_id, actor.user_id).await?,
    );
    // The read's connection goes back before the company is read on another: holding one while
    // waiting for a second deadlocks a pool that many renders share (a sequence round's 16).
    drop(r);
    let company = crate::companies::get(store, actor).await?;
    context.set("company", "name", Value::from(company.name));
    Ok(context)
}

/// The newest records of `record_type` the caller may read, each with what a person calls it:
/// what the editor's preview offers to pick from.
pub async fn recent_records(
    store: &Store,
    actor: &Actor,
    record_type: RecordType,
    limit: u64,
) -> Result<Vec<(Uuid, String)>> {
    use rivet_domain::query::ListQuery;
    fn newest<F: Copy>(
        fields: &[rivet_domain::query::FieldSpec<F>],
        sort: &[rivet_domain::query::SortKey<F>],
    ) -> Result<ListQuery<F>> {
        ListQuery::parse(&[], fields, sort).map_err(|e| StoreError::invalid("record_type", e.0))
    }
    let person = |first: &Option<String>, last: &Option<String>, email: &Option<String>| {
        let name = [first.as_deref(), last.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        match (name.is_empty(), email) {
            (false, _) => name,
            (true, Some(email)) => email.clone(),
            (true, None) => "(no name)".to_owned(),
        }
    };
    Ok(match record_type {
        RecordType::Lead => {
            use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS};
            let q = newest(LEAD_FIELDS, LEAD_DEFAULT_SORT)?;
            record::list::<crate::leads::Lead>(store, actor, &q, limit, None)
                .await?
                .data
                .iter()
                .map(|l| (l.id.uuid(), l.display_name()))
                .collect()
        }
        RecordType::Contact => {
            use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS};
            let q = newest(CONTACT_FIELDS, CONTACT_DEFAULT_SORT)?;
            record::list::<crate::contacts::Contact>(store, actor, &q, limit, None)
                .await?
                .data
                .iter()
                .map(|c| (c.id.uuid(), person(&c.first_name, &c.last_name, &c.email)))
                .collect()
        }
        RecordType::Deal => {
            use rivet_domain::deals::{DEAL_DEFAULT_SORT, DEAL_FIELDS};
            let q = newest(DEAL_FIELDS, DEAL_DEFAULT_SORT)?;
            record::list::<crate::deals::Deal>(store, actor, &q, limit, None)
                .await?
                .data
                .iter()
                .map(|d| (d.id.uuid(), d.name.clone()))
                .collect()
        }
    })
}

/// A related record if the caller may read it, else none (its variables stay empty).
async fn readable<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: rivet_domain::Id<R::Kind>,
) -> Result<Option<R>> {
    match record::get_in::<R, C>(conn, actor, Action::Read, id).await {
        Ok(r) => Ok(Some(r)),
        Err(StoreError::NotFound | StoreError::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `template` rendered for one record (an unsaved template's preview): its custom-field keys
/// checked, the record read as the caller. A render error is a 422 naming the part and line.
pub async fn preview(
    store: &Store,
    actor: &Actor,
    template: &EmailTemplate,
    record_id: Uuid,
) -> Result<Rendered> {
    {
        let r = store.read(actor).await?;
        check_custom_keys(r.conn(), actor.company_id, template).await?;
    }
    render(store, actor, template, record_id).await
}

/// A stored `template` rendered for one record of its record type, read as the caller.
pub async fn render(
    store: &Store,
    actor: &Actor,
    template: &EmailTemplate,
    record_id: Uuid,
) -> Result<Rendered> {
    let context = context(store, actor, template.record_type, record_id).await?;
    template.render(&context).map_err(StoreError::Invalid)
}

/// A stored template rendered for one record of its type, as the caller: what the sending
/// path calls. Another company's template or record is not found; a record of another type
/// than the template's is a 422 on `record_type`.
pub async fn render_for(
    store: &Store,
    actor: &Actor,
    template_id: EmailTemplateId,
    record_type: RecordType,
    record_id: Uuid,
) -> Result<Rendered> {
    let stored: Stored<EmailTemplate> = definitions::get(store, actor, template_id).await?;
    let template = stored.definition;
    if template.record_type != record_type {
        return Err(StoreError::invalid(
            "record_type",
            format!("the template is for a {}", template.record_type),
        ));
    }
    render(store, actor, &template, record_id).await
}

/// A stored template, by id, of the caller's company.
pub async fn get(
    store: &Store,
    actor: &Actor,
    id: EmailTemplateId,
) -> Result<Stored<EmailTemplate>> {
    definitions::get(store, actor, id).await
}
