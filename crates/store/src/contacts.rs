//! Contacts: list (typed filters, multi-field sort, keyset cursor), read, create, update,
//! delete and bulk update/delete, filtered by the caller's company and their scope on contacts,
//! every change audited in its transaction. Also the one-primary-contact-per-account rule, the
//! consent times, and the moves and deletes an account's deletion asks for.

use crate::accounts;
use crate::migrations_records::Contacts;
use crate::query::{
    self, ListField, Seek, check_owner, escape_like, iden, json_column, scope_condition, unique_ids,
};
use crate::row::table_row;
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::contacts::{CONTACT_FIELDS, ContactData, ContactField};
use rivet_domain::query::{Condition, FieldSpec, Filter, FilterValue, ListQuery, SortKey};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{
    Cond, DynIden, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Map;
use uuid::Uuid;

/// A contact as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub account_id: Option<Uuid>,
    pub is_primary: bool,
    pub owner_id: Uuid,
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
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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

impl Contact {
    /// The record as a client would write it (for merging a patch).
    pub fn as_input(&self) -> Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => Map::new(),
        };
        for field in READ_ONLY_FIELDS {
            map.remove(*field);
        }
        map
    }

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
}

table_row! {
#[derive(Debug)]
struct ContactRow in Contacts::Table {
    id: Uuid,
    first_name: Option<String>,
    last_name: Option<String>,
    title: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    account_id: Option<Uuid>,
    is_primary: bool,
    owner_id: Uuid,
    email_consent: bool,
    email_consent_source: Option<String>,
    email_consent_at: Option<DateTime<Utc>>,
    whatsapp_consent: bool,
    whatsapp_consent_source: Option<String>,
    whatsapp_consent_at: Option<DateTime<Utc>>,
    street: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    tags: serde_json::Value,
    custom_fields: serde_json::Value,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Self {
        let custom_fields = match json_column(r.custom_fields) {
            v @ serde_json::Value::Object(_) => v,
            _ => serde_json::Value::Object(Map::new()),
        };
        Self {
            id: r.id,
            first_name: r.first_name,
            last_name: r.last_name,
            title: r.title,
            email: r.email,
            phone: r.phone,
            mobile: r.mobile,
            account_id: r.account_id,
            is_primary: r.is_primary,
            owner_id: r.owner_id,
            email_consent: r.email_consent,
            email_consent_source: r.email_consent_source,
            email_consent_at: r.email_consent_at,
            whatsapp_consent: r.whatsapp_consent,
            whatsapp_consent_source: r.whatsapp_consent_source,
            whatsapp_consent_at: r.whatsapp_consent_at,
            street: r.street,
            city: r.city,
            region: r.region,
            postal_code: r.postal_code,
            country: r.country,
            tags: serde_json::from_value(json_column(r.tags)).unwrap_or_default(),
            custom_fields,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

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
        ContactField::AccountId => FilterValue::Id(c.account_id.unwrap_or_default()),
        ContactField::OwnerId => FilterValue::Id(c.owner_id),
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
    owner_id: Uuid,
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

fn select_contacts(company_id: Uuid) -> SelectStatement {
    Query::select()
        .columns(ContactRow::columns())
        .from(Contacts::Table)
        .and_where(Expr::col((Contacts::Table, Contacts::CompanyId)).eq(company_id))
        .to_owned()
}

fn scope(actor: &Actor, action: Action) -> Result<Cond> {
    scope_condition(actor, Resource::Contacts, action, || {
        Expr::col((Contacts::Table, Contacts::OwnerId))
    })
}

/// Read a cursor made by [`list`] under the same sort.
pub fn decode_cursor(sort: &[SortKey<ContactField>], text: &str) -> Option<Seek> {
    query::decode_cursor(sort, text)
}

fn is_flag(field: ContactField) -> bool {
    matches!(
        field,
        ContactField::IsPrimary | ContactField::EmailConsent | ContactField::WhatsappConsent
    )
}

/// One page of the contacts the caller may read.
pub async fn list(
    store: &Store,
    actor: &Actor,
    list: &ListQuery<ContactField>,
    limit: u64,
    after: Option<&Seek>,
) -> Result<Page<Contact>> {
    let r = store.read(actor).await?;
    let mut q = select_contacts(actor.company_id);
    q.cond_where(scope(actor, Action::Read)?);
    // Flags are parsed as the choice "true"/"false" and compared as booleans here.
    let (flags, mut filters): (Vec<Filter<ContactField>>, Vec<Filter<ContactField>>) =
        list.filters.iter().cloned().partition(|f| is_flag(f.field));
    for flag in flags {
        if let Condition::Eq(FilterValue::Text(text)) = &flag.condition {
            q.and_where(Expr::col((Contacts::Table, flag.field.column())).eq(text == "true"));
        }
    }
    for filter in &mut filters {
        if filter.field == ContactField::Email
            && let Condition::Eq(FilterValue::Text(text)) = &mut filter.condition
        {
            *text = text.trim().to_lowercase();
        }
    }
    q.cond_where(query::filter_condition(&filters, store.backend()));
    q.cond_where(query::custom_condition(list, store.backend()));
    if let Some(text) = &list.q {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |col: Contacts| {
            Expr::expr(Func::lower(Expr::col((Contacts::Table, col))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        q.cond_where(
            Cond::any()
                .add(like(Contacts::FirstName))
                .add(like(Contacts::LastName))
                .add(like(Contacts::EmailNorm)),
        );
    }
    query::order_and_seek_list(&mut q, list, store.backend(), after, limit);
    let rows: Vec<ContactRow> = fetch_all(r.conn(), &q).await?;
    let contacts: Vec<Contact> = rows.into_iter().map(Contact::from).collect();
    Ok(query::page_of_list(
        contacts,
        limit,
        list,
        sort_value,
        |c| &c.custom_fields,
        |c| c.id,
    ))
}

async fn get_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Contact> {
    let mut q = select_contacts(actor.company_id);
    q.cond_where(scope(actor, action)?)
        .and_where(Expr::col((Contacts::Table, Contacts::Id)).eq(id));
    let row: Option<ContactRow> = fetch_optional(conn, &q).await?;
    row.map(Contact::from).ok_or(StoreError::NotFound)
}

/// One contact the caller may read.
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Contact> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor, Action::Read, id).await
}

async fn fetch_unscoped<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<Contact> {
    let mut q = select_contacts(actor.company_id);
    q.and_where(Expr::col((Contacts::Table, Contacts::Id)).eq(id));
    let row: Option<ContactRow> = fetch_optional(conn, &q).await?;
    row.map(Contact::from).ok_or(StoreError::NotFound)
}

async fn check_account<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<()> {
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
async fn unset_other_primaries(tx: &Tx, actor: &Actor, account_id: Uuid, id: Uuid) -> Result<()> {
    let mut q = select_contacts(actor.company_id);
    q.and_where(Expr::col((Contacts::Table, Contacts::AccountId)).eq(account_id))
        .and_where(Expr::col((Contacts::Table, Contacts::IsPrimary)).eq(true))
        .and_where(Expr::col((Contacts::Table, Contacts::Id)).ne(id));
    let others: Vec<ContactRow> = fetch_all(tx.conn(), &q).await?;
    let at = now();
    for other in others {
        let before = Contact::from(other);
        exec(
            tx.conn(),
            Query::update()
                .table(Contacts::Table)
                .value(Contacts::IsPrimary, false)
                .value(Contacts::UpdatedAt, at)
                .and_where(Expr::col(Contacts::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(Contacts::Id).eq(before.id)),
        )
        .await?;
        let mut after = before.clone();
        after.is_primary = false;
        after.updated_at = at;
        tx.audit(
            Resource::Contacts,
            before.id,
            Action::Update,
            Some(&before.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
    }
    Ok(())
}

/// Create a contact; without an owner the caller owns it.
pub async fn create(store: &Store, actor: &Actor, data: &ContactData) -> Result<Contact> {
    let tx = store.write(actor).await?;
    let owner_id = data.owner_id.unwrap_or(actor.user_id);
    check_owner(
        tx.conn(),
        actor,
        Resource::Contacts,
        Action::Create,
        owner_id,
    )
    .await?;
    if let Some(account) = data.account_id {
        check_account(tx.conn(), actor, account).await?;
    }
    let id = new_id();
    if let (true, Some(account)) = (data.is_primary, data.account_id) {
        unset_other_primaries(&tx, actor, account, id).await?;
    }
    let at = now();
    let mut cols = vec![
        (Contacts::CompanyId, actor.company_id.into()),
        (Contacts::Id, id.into()),
        (Contacts::CreatedBy, actor.user_id.into()),
        (Contacts::CreatedAt, at.into()),
        (Contacts::UpdatedAt, at.into()),
    ];
    cols.extend(data_columns(data, owner_id, None));
    let (names, values): (Vec<Contacts>, Vec<Value>) = cols.into_iter().unzip();
    let values: Vec<Expr> = values.into_iter().map(Expr::val).collect();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Contacts::Table)
            .columns(names)
            .values(values)
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?,
    )
    .await?;
    let contact = fetch_unscoped(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Contacts,
        id,
        Action::Create,
        None,
        Some(&contact.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(contact)
}

/// Change a contact: `apply` turns the current contact into its new data, inside the
/// transaction.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    apply: impl FnOnce(&Contact) -> std::result::Result<ContactData, FieldErrors>,
) -> Result<Contact> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Update, id).await?;
    let data = apply(&before).map_err(StoreError::Invalid)?;
    let Some(owner_id) = data.owner_id else {
        return Err(StoreError::invalid("owner_id", "must not be empty"));
    };
    if owner_id != before.owner_id {
        check_owner(
            tx.conn(),
            actor,
            Resource::Contacts,
            Action::Update,
            owner_id,
        )
        .await?;
    }
    if let Some(account) = data.account_id
        && data.account_id != before.account_id
    {
        check_account(tx.conn(), actor, account).await?;
    }
    if let (true, Some(account)) = (data.is_primary, data.account_id) {
        unset_other_primaries(&tx, actor, account, id).await?;
    }
    let mut cols = data_columns(&data, owner_id, Some(&before));
    cols.push((Contacts::UpdatedAt, now().into()));
    exec(
        tx.conn(),
        Query::update()
            .table(Contacts::Table)
            .values(cols.into_iter().map(|(c, v)| (c, Expr::val(v))))
            .and_where(Expr::col(Contacts::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Contacts::Id).eq(id)),
    )
    .await?;
    let after = fetch_unscoped(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Contacts,
        id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Delete, id).await?;
    delete_rows(&tx, actor, &[before]).await?;
    tx.commit().await?;
    Ok(())
}

async fn delete_rows(tx: &Tx, actor: &Actor, rows: &[Contact]) -> Result<u64> {
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    crate::deals::detach(tx, actor, crate::deals::Detach::Contact, &ids).await?;
    let deleted = exec(
        tx.conn(),
        Query::delete()
            .from_table(Contacts::Table)
            .and_where(Expr::col(Contacts::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Contacts::Id).is_in(rows.iter().map(|c| c.id))),
    )
    .await?;
    for contact in rows {
        tx.audit(
            Resource::Contacts,
            contact.id,
            Action::Delete,
            Some(&contact.audit_json()),
            None,
        )
        .await?;
    }
    Ok(deleted)
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    n: i64,
}

/// How many contacts `account_id` has (whoever owns them).
pub(crate) async fn count_of_account<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    account_id: Uuid,
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
    account_id: Uuid,
) -> Result<Vec<Contact>> {
    let mut q = select_contacts(actor.company_id);
    q.and_where(Expr::col((Contacts::Table, Contacts::AccountId)).eq(account_id));
    let all: Vec<ContactRow> = fetch_all(tx.conn(), &q).await?;
    let mut scoped = q.clone();
    scoped.cond_where(scope(actor, action)?);
    let visible: Vec<ContactRow> = fetch_all(tx.conn(), &scoped).await?;
    if visible.len() != all.len() {
        return Err(StoreError::Forbidden);
    }
    Ok(all.into_iter().map(Contact::from).collect())
}

/// Delete the contacts of an account (its own deletion cascading), each audited.
pub(crate) async fn delete_of_account(tx: &Tx, actor: &Actor, account_id: Uuid) -> Result<()> {
    let rows = of_account_in_scope(tx, actor, Action::Delete, account_id).await?;
    delete_rows(tx, actor, &rows).await?;
    Ok(())
}

/// Move the contacts of account `from` to account `to`, each audited. They arrive as
/// non-primary: `to` keeps its own primary contact.
pub(crate) async fn move_to_account(tx: &Tx, actor: &Actor, from: Uuid, to: Uuid) -> Result<()> {
    let rows = of_account_in_scope(tx, actor, Action::Update, from).await?;
    let at = now();
    exec(
        tx.conn(),
        Query::update()
            .table(Contacts::Table)
            .value(Contacts::AccountId, to)
            .value(Contacts::IsPrimary, false)
            .value(Contacts::UpdatedAt, at)
            .and_where(Expr::col(Contacts::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Contacts::AccountId).eq(from)),
    )
    .await?;
    for before in rows {
        let mut after = before.clone();
        after.account_id = Some(to);
        after.is_primary = false;
        after.updated_at = at;
        tx.audit(
            Resource::Contacts,
            before.id,
            Action::Update,
            Some(&before.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
    }
    Ok(())
}

/// What a bulk update sets on every selected contact.
#[derive(Debug, Clone, Default)]
pub struct BulkSet {
    pub owner_id: Option<Uuid>,
    pub tags: Option<Vec<String>>,
}

async fn all_in_scope(
    tx: &Tx,
    actor: &Actor,
    action: Action,
    ids: &[Uuid],
) -> Result<Vec<Contact>> {
    let mut q = select_contacts(actor.company_id);
    q.cond_where(scope(actor, action)?)
        .and_where(Expr::col((Contacts::Table, Contacts::Id)).is_in(ids.iter().copied()));
    let rows: Vec<ContactRow> = fetch_all(tx.conn(), &q).await?;
    if rows.len() != ids.len() {
        return Err(StoreError::NotFound);
    }
    Ok(rows.into_iter().map(Contact::from).collect())
}

/// Set owner and/or tags on every contact of `ids`, all or nothing; one audit row each.
pub async fn bulk_update(
    store: &Store,
    actor: &Actor,
    ids: &[Uuid],
    set: &BulkSet,
) -> Result<Vec<Contact>> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Update, &ids).await?;
    if let Some(owner) = set.owner_id {
        check_owner(tx.conn(), actor, Resource::Contacts, Action::Update, owner).await?;
    }
    let at = now();
    let mut update = Query::update();
    update
        .table(Contacts::Table)
        .value(Contacts::UpdatedAt, at)
        .and_where(Expr::col(Contacts::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Contacts::Id).is_in(ids.iter().copied()));
    if let Some(owner) = set.owner_id {
        update.value(Contacts::OwnerId, owner);
    }
    if let Some(tags) = &set.tags {
        update.value(Contacts::Tags, serde_json::json!(tags));
    }
    exec(tx.conn(), &update).await?;
    let mut after_all = Vec::with_capacity(before.len());
    for contact in &before {
        let mut after = contact.clone();
        if let Some(owner) = set.owner_id {
            after.owner_id = owner;
        }
        if let Some(tags) = &set.tags {
            after.tags = tags.clone();
        }
        after.updated_at = at;
        tx.audit(
            Resource::Contacts,
            contact.id,
            Action::Update,
            Some(&contact.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
        after_all.push(after);
    }
    tx.commit().await?;
    Ok(after_all)
}

/// Delete every contact of `ids`, all or nothing; one audit row each. Returns how many.
pub async fn bulk_delete(store: &Store, actor: &Actor, ids: &[Uuid]) -> Result<u64> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Delete, &ids).await?;
    let deleted = delete_rows(&tx, actor, &before).await?;
    tx.commit().await?;
    Ok(deleted)
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
