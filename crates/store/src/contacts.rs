//! Contacts as a record type (list, get, create, update, delete and bulk actions are the
//! generic record layer's, [`crate::record`]), with their own rules as its hooks: the
//! one-primary-contact-per-account rule, the consent times, the moves and deletes an account's
//! deletion asks for, and emptying what named a deleted contact (deals, checklists).

use crate::accounts;
use crate::query::{self, ListField, iden};
use crate::record::{self, Record, Write};
use crate::row::table_row;
use crate::tables::Contacts;
use crate::{Result, StoreError, Tx, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::contacts::{CONTACT_FIELDS, ContactData, ContactField};
use rivet_domain::ids::{AccountId, ContactId, Id, UserId, kind};
use rivet_domain::query::{Condition, FieldSpec, Filter, FilterValue};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Cond, DynIden, Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

table_row! {
/// A contact as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Contact in Contacts::Table {
    #[schema(value_type = uuid::Uuid)]
    pub id: ContactId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub account_id: Option<AccountId>,
    pub is_primary: bool,
    #[schema(value_type = uuid::Uuid)]
    pub owner_id: UserId,
    pub email_consent: bool,
    pub email_consent_source: Option<String>,
    /// When `email_consent` last changed.
    pub email_consent_at: Option<DateTime<Utc>>,
    pub whatsapp_consent: bool,
    pub whatsapp_consent_source: Option<String>,
    /// When `whatsapp_consent` last changed.
    pub whatsapp_consent_at: Option<DateTime<Utc>>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub tags: Vec<String> => record::tags_of,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value => record::custom_fields_of,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
}

/// Fields a client cannot write.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "email_consent_at",
    "whatsapp_consent_at",
    "created_by",
    "created_at",
    "updated_at",
];

impl ListField for ContactField {
    fn specs() -> &'static [FieldSpec<Self>] {
        CONTACT_FIELDS
    }

    fn table() -> DynIden {
        iden(Contacts::Table)
    }

    fn id_column() -> DynIden {
        iden(Contacts::Id)
    }

    fn column(self) -> DynIden {
        iden(match self {
            Self::AccountId => Contacts::AccountId,
            Self::OwnerId => Contacts::OwnerId,
            Self::Email => Contacts::EmailNorm,
            Self::LastName => Contacts::LastName,
            Self::FirstName => Contacts::FirstName,
            Self::IsPrimary => Contacts::IsPrimary,
            Self::EmailConsent => Contacts::EmailConsent,
            Self::WhatsappConsent => Contacts::WhatsappConsent,
            Self::Tags => Contacts::Tags,
            Self::CreatedAt => Contacts::CreatedAt,
            Self::UpdatedAt => Contacts::UpdatedAt,
        })
    }

    fn sort_expr(self) -> Expr {
        let col = Expr::col((Contacts::Table, self.column()));
        match self {
            Self::LastName | Self::FirstName | Self::Email => query::text_or_empty(col),
            Self::AccountId => query::id_or_nil(col),
            Self::IsPrimary | Self::EmailConsent | Self::WhatsappConsent => query::flag_text(col),
            _ => col,
        }
    }
}

fn sort_value(c: &Contact, field: ContactField) -> FilterValue {
    let text = |v: &Option<String>| FilterValue::Text(v.clone().unwrap_or_default());
    match field {
        ContactField::AccountId => FilterValue::Id(c.account_id.map(Id::uuid).unwrap_or_default()),
        ContactField::OwnerId => FilterValue::Id(c.owner_id.uuid()),
        ContactField::Email => text(&c.email.as_ref().map(|e| e.to_lowercase())),
        ContactField::LastName => text(&c.last_name),
        ContactField::FirstName => text(&c.first_name),
        ContactField::IsPrimary => FilterValue::Text(c.is_primary.to_string()),
        ContactField::EmailConsent => FilterValue::Text(c.email_consent.to_string()),
        ContactField::WhatsappConsent => FilterValue::Text(c.whatsapp_consent.to_string()),
        ContactField::Tags => FilterValue::Text(String::new()),
        ContactField::CreatedAt => FilterValue::Time(c.created_at),
        ContactField::UpdatedAt => FilterValue::Time(c.updated_at),
    }
}

fn text_column(field: &str) -> Option<Contacts> {
    Some(match field {
        "first_name" => Contacts::FirstName,
        "last_name" => Contacts::LastName,
        "title" => Contacts::Title,
        "phone" => Contacts::Phone,
        "mobile" => Contacts::Mobile,
        "email_consent_source" => Contacts::EmailConsentSource,
        "whatsapp_consent_source" => Contacts::WhatsappConsentSource,
        "street" => Contacts::Street,
        "city" => Contacts::City,
        "region" => Contacts::Region,
        "postal_code" => Contacts::PostalCode,
        "country" => Contacts::Country,
        _ => return None,
    })
}

/// The columns a [`ContactData`] writes; consent times only when the flag changed from
/// `before` (`None` on create: a consent given is a change).
fn data_columns(
    data: &ContactData,
    owner_id: UserId,
    before: Option<&Contact>,
) -> Vec<(Contacts, Value)> {
    let mut cols: Vec<(Contacts, Value)> = data
        .text
        .iter()
        .filter_map(|(field, value)| text_column(field).map(|c| (c, value.clone().into())))
        .collect();
    let email = data.email.as_ref().map(|e| e.as_str().to_owned());
    cols.extend([
        (Contacts::Email, email.clone().into()),
        (Contacts::EmailNorm, email.map(|e| e.to_lowercase()).into()),
        (Contacts::AccountId, data.account_id.into()),
        (Contacts::IsPrimary, data.is_primary.into()),
        (Contacts::OwnerId, owner_id.into()),
        (Contacts::EmailConsent, data.email_consent.into()),
        (Contacts::WhatsappConsent, data.whatsapp_consent.into()),
        (Contacts::Tags, serde_json::json!(data.tags).into()),
        (
            Contacts::CustomFields,
            serde_json::Value::Object(data.custom_fields.clone()).into(),
        ),
    ]);
    let at = now();
    let email_changed = before.map_or(data.email_consent, |b| {
        b.email_consent != data.email_consent
    });
    if email_changed {
        cols.push((Contacts::EmailConsentAt, Some(at).into()));
    }
    let whatsapp_changed = before.map_or(data.whatsapp_consent, |b| {
        b.whatsapp_consent != data.whatsapp_consent
    });
    if whatsapp_changed {
        cols.push((Contacts::WhatsappConsentAt, Some(at).into()));
    }
    cols
}

impl Record for Contact {
    type Kind = kind::Contact;
    type Row = Self;
    type Field = ContactField;
    const RESOURCE: Resource = Resource::Contacts;
    const READ_ONLY: &'static [&'static str] = READ_ONLY_FIELDS;

    fn id(&self) -> ContactId {
        self.id
    }
    fn owner(&self) -> UserId {
        self.owner_id
    }
    fn custom_fields(&self) -> &serde_json::Value {
        &self.custom_fields
    }
    fn sort_value(&self, field: ContactField) -> FilterValue {
        sort_value(self, field)
    }

    /// What `q=` matches, case-insensitively, as a substring.
    fn text_columns() -> Vec<DynIden> {
        vec![
            iden(Contacts::FirstName),
            iden(Contacts::LastName),
            iden(Contacts::EmailNorm),
        ]
    }

    /// Flags are parsed as the choice "true"/"false" and compared as booleans; e-mails in
    /// their normalised (lower-case) form.
    fn own_filter(filter: &mut Filter<ContactField>) -> Option<Cond> {
        match filter.field {
            ContactField::IsPrimary
            | ContactField::EmailConsent
            | ContactField::WhatsappConsent => {
                let Condition::Eq(FilterValue::Text(text)) = &filter.condition else {
                    return Some(Cond::all());
                };
                Some(
                    Cond::all().add(
                        Expr::col((Contacts::Table, filter.field.column())).eq(text == "true"),
                    ),
                )
            }
            ContactField::Email => {
                query::lowercase_text(filter);
                None
            }
            _ => None,
        }
    }

    /// The audit keeps consent times, not the row's own times.
    fn audit_json(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => {
                for field in ["created_by", "created_at", "updated_at"] {
                    map.remove(field);
                }
                serde_json::Value::Object(map)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// Deals keep no reference to a deleted contact, nor leads' and deals' checklists (its
    /// element keeps its status and note).
    async fn before_delete(tx: &Tx, actor: &Actor, records: &[Self]) -> Result<()> {
        let ids: Vec<Uuid> = records.iter().map(|c| c.id.uuid()).collect();
        crate::deals::detach(tx, actor, crate::deals::Detach::Contact, &ids).await?;
        let ids: Vec<ContactId> = records.iter().map(|c| c.id).collect();
        crate::checklist::replace_contacts(tx, actor, &ids, None).await?;
        Ok(())
    }
}

impl Write for Contact {
    type Data = ContactData;

    fn data_owner(data: &ContactData) -> Option<UserId> {
        data.owner_id
    }

    /// The account must be one of the company's; a primary contact makes the account's other
    /// contacts non-primary.
    async fn write_columns(
        tx: &Tx,
        actor: &Actor,
        id: ContactId,
        data: &ContactData,
        owner: UserId,
        before: Option<&Self>,
        _at: DateTime<Utc>,
    ) -> Result<Vec<(DynIden, Value)>> {
        if let Some(account) = data.account_id
            && before.is_none_or(|b| b.account_id != data.account_id)
        {
            check_account(tx.conn(), actor, account).await?;
        }
        if let (true, Some(account)) = (data.is_primary, data.account_id) {
            unset_other_primaries(tx, actor, account, id).await?;
        }
        let settings = crate::duplicates::settings_tx(tx, actor.company_id).await?;
        let keys =
            <Self as crate::intake::Screened>::match_keys(tx, actor, data, settings.country())
                .await?;
        let mut columns: Vec<(DynIden, Value)> = data_columns(data, owner, before)
            .into_iter()
            .map(|(c, v)| (iden(c), v))
            .collect();
        columns.extend(crate::duplicates::key_columns(keys));
        Ok(columns)
    }
}

/// A contact's match keys: its company, for duplicate detection, is its account's name and
/// domain.
impl crate::intake::Screened for Contact {
    async fn match_keys(
        tx: &Tx,
        actor: &Actor,
        data: &ContactData,
        country: Option<rivet_domain::normalize::Country>,
    ) -> Result<rivet_domain::duplicates::MatchKeys> {
        let account = match data.account_id {
            Some(account) => accounts::name_and_domain(tx.conn(), actor, account).await?,
            None => None,
        };
        Ok(crate::duplicates::person_keys(
            &data.text,
            data.email.as_ref().map(|e| e.as_str()),
            (
                account.as_ref().map(|(name, _)| name.as_str()),
                account.as_ref().and_then(|(_, domain)| domain.as_deref()),
            ),
            country,
        ))
    }
}

async fn check_account<C: ConnectionTrait>(conn: &C, actor: &Actor, id: AccountId) -> Result<()> {
    if accounts::exists(conn, actor, id).await? {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "account_id",
            "is not an account of this company",
        ))
    }
}

/// Make `id` the only primary contact of `account_id`: the others lose the flag, audited.
async fn unset_other_primaries(
    tx: &Tx,
    actor: &Actor,
    account_id: AccountId,
    id: ContactId,
) -> Result<()> {
    let others: Vec<Contact> = record::all_where(
        tx.conn(),
        actor,
        Cond::all()
            .add(Expr::col((Contacts::Table, Contacts::AccountId)).eq(account_id))
            .add(Expr::col((Contacts::Table, Contacts::IsPrimary)).eq(true))
            .add(Expr::col((Contacts::Table, Contacts::Id)).ne(id)),
    )
    .await?;
    record::update_rows(
        tx,
        actor,
        &others,
        vec![(iden(Contacts::IsPrimary), false.into())],
        |c, at| {
            c.is_primary = false;
            c.updated_at = at;
        },
    )
    .await
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    n: i64,
}

/// How many contacts `account_id` has (whoever owns them).
pub(crate) async fn count_of_account<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    account_id: AccountId,
) -> Result<i64> {
    let row: Option<CountRow> = fetch_optional(
        conn,
        Query::select()
            .expr_as(Expr::col(Contacts::Id).count(), "n")
            .from(Contacts::Table)
            .and_where(Expr::col(Contacts::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Contacts::AccountId).eq(account_id)),
    )
    .await?;
    Ok(row.map_or(0, |r| r.n))
}

/// Every contact of an account, all of which the caller's scope for `action` on contacts must
/// cover: an account deletion may not touch contacts the caller could not touch one by one.
async fn of_account_in_scope(
    tx: &Tx,
    actor: &Actor,
    action: Action,
    account_id: AccountId,
) -> Result<Vec<Contact>> {
    let of_account =
        || Cond::all().add(Expr::col((Contacts::Table, Contacts::AccountId)).eq(account_id));
    let all: Vec<Contact> = record::all_where(tx.conn(), actor, of_account()).await?;
    let visible: Vec<Contact> = record::all_where(
        tx.conn(),
        actor,
        of_account().add(record::scope::<Contact>(actor, action)?),
    )
    .await?;
    if visible.len() != all.len() {
        return Err(StoreError::Forbidden);
    }
    Ok(all)
}

/// Delete the contacts of an account (its own deletion cascading), each audited.
pub(crate) async fn delete_of_account(tx: &Tx, actor: &Actor, account_id: AccountId) -> Result<()> {
    let rows = of_account_in_scope(tx, actor, Action::Delete, account_id).await?;
    record::delete_in(tx, actor, &rows).await?;
    Ok(())
}

/// Move the contacts of account `from` to account `to`, each audited. They arrive as
/// non-primary: `to` keeps its own primary contact.
pub(crate) async fn move_to_account(
    tx: &Tx,
    actor: &Actor,
    from: AccountId,
    to: AccountId,
) -> Result<()> {
    let rows = of_account_in_scope(tx, actor, Action::Update, from).await?;
    record::update_rows(
        tx,
        actor,
        &rows,
        vec![
            (iden(Contacts::AccountId), to.into()),
            (iden(Contacts::IsPrimary), false.into()),
        ],
        |c, at| {
            c.account_id = Some(to);
            c.is_primary = false;
            c.updated_at = at;
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_field_of_a_contact_has_a_column() {
        for field in rivet_domain::contacts::TEXT_FIELDS {
            assert!(text_column(field).is_some(), "{field} has no column");
        }
    }
}
