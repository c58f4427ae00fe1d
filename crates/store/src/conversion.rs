//! Lead conversion (issue 14 §3): a qualified lead becomes an account, a contact and, if asked,
//! a deal, in ONE transaction. The account and the contact are either chosen (records of the
//! company the caller may read; a chosen contact is attached to the account if it has none)
//! or made from the lead through the ordinary paths — the generic record layer for the account
//! and the deal, the intake for the contact (so the company's duplicate rules screen it, and a
//! blocking one refuses the conversion with its matches). The lead's activities and tasks move
//! to the contact, and the lead becomes `converted` with links to what it became
//! (`converted_at`, `converted_account_id`, `converted_contact_id`, `converted_deal_id`).
//!
//! Converting twice creates nothing twice: the lead's row is locked first (PostgreSQL; SQLite's
//! writer holds the write lock), and a lead already converted is a conflict naming what it
//! became. The trail: the created records' own audit rows and `*.created` events, the lead's
//! update row and `lead.updated`, the moved activities' and tasks' update rows, an audit row
//! `convert` on the lead with the links and what moved, and a `lead.converted` event.

use crate::accounts::Account;
use crate::contacts::Contact;
use crate::deals::Deal;
use crate::leads::Lead;
use crate::merge::{move_activities, move_tasks};
use crate::query::iden;
use crate::record::{self, Record};
use crate::tables::{Contacts, Leads};
use crate::{Result, Store, StoreError, Tx, intake};
use rivet_domain::accounts::AccountData;
use rivet_domain::activities::RecordType;
use rivet_domain::contacts::ContactData;
use rivet_domain::deals::DealData;
use rivet_domain::events::NewEvent;
use rivet_domain::ids::{AccountId, ContactId, LeadId};
use rivet_domain::leads::LeadStatus;
use rivet_domain::{Action, Actor};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, Query};
use serde::Serialize;
use serde_json::json;

/// A record the conversion uses: one of the company's, or a new one made from this data.
#[derive(Debug, Clone)]
pub enum Target<I, D> {
    Existing(I),
    New(D),
}

/// What a conversion makes or chooses (validated by the caller).
#[derive(Debug, Clone)]
pub struct Plan {
    pub account: Target<AccountId, AccountData>,
    /// A new contact's `account_id` is set to the account's.
    pub contact: Target<ContactId, ContactData>,
    /// A new deal's `account_id` and `contact_id` are set to the account's and the contact's.
    pub deal: Option<DealData>,
}

/// What moved from the lead to its contact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Moved {
    pub activities: u64,
    pub tasks: u64,
}

/// A lead as converted, and what it became.
#[derive(Debug, Clone)]
pub struct Converted {
    pub lead: Lead,
    pub account: Account,
    pub account_created: bool,
    pub contact: Contact,
    pub contact_created: bool,
    pub deal: Option<Deal>,
    pub moved: Moved,
}

/// Lock the lead's row for the rest of the transaction (PostgreSQL; SQLite's write lock is
/// already held), so that two conversions of one lead run one after the other.
async fn lock_lead(tx: &Tx, actor: &Actor, id: LeadId) -> Result<()> {
    let conn = tx.conn();
    if conn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    let mut q = Query::select();
    q.column(Leads::Id)
        .from(Leads::Table)
        .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Leads::Id).eq(id))
        .lock(LockType::Update);
    crate::exec(conn, &q).await?;
    Ok(())
}

/// Convert lead `id` as `plan` says (the caller may update the lead; what it creates needs
/// create on that type, what it chooses read, a chosen contact it attaches update).
pub async fn convert(store: &Store, actor: &Actor, id: LeadId, plan: Plan) -> Result<Converted> {
    let tx = store.write(actor).await?;
    lock_lead(&tx, actor, id).await?;
    let lead: Lead = record::get_in(tx.conn(), actor, Action::Update, id).await?;
    if lead.status == LeadStatus::Converted {
        return Err(already_converted(&lead));
    }

    let (account, account_created) = match plan.account {
        Target::Existing(account_id) => {
            let account = record::get_in::<Account, _>(tx.conn(), actor, Action::Read, account_id)
                .await
                .map_err(|e| not_found_as_invalid(e, "account_id", "an account"))?;
            (account, false)
        }
        Target::New(data) => (record::create_in::<Account>(&tx, actor, &data).await?, true),
    };

    let (contact, contact_created) = match plan.contact {
        Target::Existing(contact_id) => {
            let contact = record::get_in::<Contact, _>(tx.conn(), actor, Action::Read, contact_id)
                .await
                .map_err(|e| not_found_as_invalid(e, "contact_id", "a contact"))?;
            (attach(&tx, actor, contact, account.id).await?, false)
        }
        Target::New(mut data) => {
            data.account_id = Some(account.id);
            let contact = intake::create_in::<Contact>(&tx, actor, data).await?.record;
            (contact, true)
        }
    };

    let deal = match plan.deal {
        Some(mut data) => {
            data.account_id = Some(account.id);
            data.contact_id = Some(contact.id);
            // What the lead's qualification found carries over to the deal.
            use crate::checklist::Checked;
            data.checklist = lead.checklist();
            data.notes = rivet_domain::checklist::ELEMENTS
                .iter()
                .map(|e| (e.name, lead.note(e.name)))
                .collect();
            Some(record::create_in::<Deal>(&tx, actor, &data).await?)
        }
        None => None,
    };

    let from = (RecordType::Lead, &[id.uuid()][..]);
    let to = (RecordType::Contact, contact.id.uuid());
    let moved = Moved {
        activities: move_activities(&tx, actor, from, to).await?,
        tasks: move_tasks(&tx, actor, from, to).await?,
    };

    let at = crate::now();
    let deal_id = deal.as_ref().map(|d| d.id);
    record::update_rows(
        &tx,
        actor,
        std::slice::from_ref(&lead),
        vec![
            (iden(Leads::Status), LeadStatus::Converted.as_str().into()),
            (iden(Leads::ConvertedAt), Some(at).into()),
            (iden(Leads::ConvertedAccountId), Some(account.id).into()),
            (iden(Leads::ConvertedContactId), Some(contact.id).into()),
            (iden(Leads::ConvertedDealId), deal_id.into()),
            (iden(Leads::StatusChangedAt), Some(at).into()),
        ],
        |l: &mut Lead, _| l.status = LeadStatus::Converted,
    )
    .await?;
    let lead: Lead = record::get_in(tx.conn(), actor, Action::Read, id).await?;
    crate::qualification::entered(&tx, actor.company_id, &[&lead], at, false).await?;

    let trail = json!({
        "account_id": account.id,
        "account_created": account_created,
        "contact_id": contact.id,
        "contact_created": contact_created,
        "deal_id": deal_id,
        "moved": moved,
    });
    tx.audit_in(actor.company_id, "leads", id, "convert", None, Some(&trail))
        .await?;
    let event = NewEvent {
        event_type: "lead.converted".into(),
        record_type: "lead",
        data: json!({
            "account_id": account.id,
            "account_created": account_created,
            "contact_id": contact.id,
            "contact_created": contact_created,
            "deal_id": deal_id,
            "moved": moved,
            "record": lead.audit_json(),
        }),
    };
    tx.emit(actor.company_id, &event, &id.to_string(), None)
        .await?;
    tx.commit().await?;
    Ok(Converted {
        lead,
        account,
        account_created,
        contact,
        contact_created,
        deal,
        moved,
    })
}

/// The conflict of converting a lead again: what it became, if a conversion made it so.
fn already_converted(lead: &Lead) -> StoreError {
    let message = match (lead.converted_account_id, lead.converted_contact_id) {
        (Some(account), Some(contact)) => format!(
            "the lead was converted already (account {account}, contact {contact}{})",
            lead.converted_deal_id
                .map(|d| format!(", deal {d}"))
                .unwrap_or_default()
        ),
        _ => "the lead is converted already".to_owned(),
    };
    StoreError::Conflict {
        field: "status".into(),
        message,
    }
}

/// A record named in the body that the caller cannot see is a bad value of that field, not a
/// missing page.
fn not_found_as_invalid(e: StoreError, field: &str, what: &str) -> StoreError {
    match e {
        StoreError::NotFound => {
            StoreError::invalid(field, format!("is not {what} of this company you can see"))
        }
        other => other,
    }
}

/// A chosen contact belongs to the account: one without an account is attached to it
/// (audited; the caller must be allowed to update it), one of another account is refused.
async fn attach(tx: &Tx, actor: &Actor, contact: Contact, account: AccountId) -> Result<Contact> {
    match contact.account_id {
        Some(theirs) if theirs == account => Ok(contact),
        Some(_) => Err(StoreError::invalid(
            "contact_id",
            "is a contact of another account",
        )),
        None => {
            // One the caller may read but not change is theirs to see, not to attach.
            let contact: Contact = record::get_in(tx.conn(), actor, Action::Update, contact.id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => StoreError::Forbidden,
                    other => other,
                })?;
            record::update_rows(
                tx,
                actor,
                std::slice::from_ref(&contact),
                vec![(iden(Contacts::AccountId), Some(account).into())],
                |c: &mut Contact, at| {
                    c.account_id = Some(account);
                    c.updated_at = at;
                },
            )
            .await?;
            record::get_in(tx.conn(), actor, Action::Read, contact.id).await
        }
    }
}

/// The most suggestions of each kind [`suggestions`] gives.
const SUGGESTIONS: u64 = 5;

/// What a conversion of a lead could use: the company's accounts that look like the lead's
/// company (the same registrable domain as its website, or the same normalized name) and the
/// contacts that look like the lead's person (the same e-mail or phone key), each in the
/// caller's read scope, the closest first.
pub async fn suggestions(
    store: &Store,
    actor: &Actor,
    lead: &Lead,
) -> Result<(Vec<Account>, Vec<Contact>)> {
    use crate::tables::{AccountKeys, Accounts};
    let r = store.read(actor).await?;
    let (name_key, domain_key) = crate::duplicate_groups::account_keys(
        lead.company_name.as_deref(),
        lead.website.as_deref(),
    );
    let mut accounts: Vec<Account> = Vec::new();
    if name_key.is_some() || domain_key.is_some() {
        let mut like = sea_orm::sea_query::Cond::any();
        if let Some(domain) = domain_key {
            like = like.add(Expr::col((AccountKeys::Table, AccountKeys::DomainKey)).eq(domain));
        }
        if let Some(name) = name_key {
            like = like.add(Expr::col((AccountKeys::Table, AccountKeys::NameKey)).eq(name));
        }
        let mut q = record::select::<Account>(actor.company_id);
        q.cond_where(like)
            .cond_where(record::scope::<Account>(actor, Action::Read)?)
            .order_by((Accounts::Table, Accounts::Name), sea_orm::Order::Asc)
            .limit(SUGGESTIONS);
        accounts = record::rows(r.conn(), actor, &q).await?;
    }
    let key_of = |column: &'static str| {
        Query::select()
            .expr(Expr::col(sea_orm::sea_query::Alias::new(column)))
            .from(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Leads::Id).eq(lead.id))
            .to_owned()
    };
    let key = |column: &'static str| {
        Expr::col((Contacts::Table, sea_orm::sea_query::Alias::new(column)))
            .in_subquery(key_of(column))
    };
    let mut q = record::select::<Contact>(actor.company_id);
    q.cond_where(
        sea_orm::sea_query::Cond::any()
            .add(key("email_key"))
            .add(key("phone_key")),
    )
    .cond_where(record::scope::<Contact>(actor, Action::Read)?)
    .order_by((Contacts::Table, Contacts::LastName), sea_orm::Order::Asc)
    .limit(SUGGESTIONS);
    let contacts = record::rows(r.conn(), actor, &q).await?;
    Ok((accounts, contacts))
}
