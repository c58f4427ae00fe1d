//! Accounts: list (typed filters, multi-field sort, keyset cursor), read, create, update,
//! delete and bulk update/delete, filtered by the caller's company and their scope on accounts,
//! every change audited in its transaction. Also the parent hierarchy (no cycles) and what
//! happens to an account's contacts and child accounts when it is deleted.

use crate::contacts;
use crate::migrations_records::Accounts;
use crate::query::{
    self, ListField, Seek, check_owner, escape_like, iden, json_column, scope_condition, unique_ids,
};
use crate::row::table_row;
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::accounts::{ACCOUNT_FIELDS, AccountData, AccountField, LifecycleStage};
use rivet_domain::query::{FieldSpec, FilterValue, ListQuery, SortKey};
use rivet_domain::values::Money;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{
    Cond, DynIden, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Map;
use uuid::Uuid;

/// An account as the API shows it. Money is a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    /// Decimal string, e.g. `"12500.10"`.
    pub annual_revenue: Option<String>,
    pub annual_revenue_currency: Option<String>,
    pub billing_street: Option<String>,
    pub billing_city: Option<String>,
    pub billing_region: Option<String>,
    pub billing_postal_code: Option<String>,
    pub billing_country: Option<String>,
    pub shipping_street: Option<String>,
    pub shipping_city: Option<String>,
    pub shipping_region: Option<String>,
    pub shipping_postal_code: Option<String>,
    pub shipping_country: Option<String>,
    pub owner_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub lifecycle_stage: LifecycleStage,
    pub health_score: Option<i32>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields a client cannot write.
pub const READ_ONLY_FIELDS: &[&str] = &["id", "created_by", "created_at", "updated_at"];

impl Account {
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
        let mut map = self.as_input();
        map.insert("id".into(), serde_json::json!(self.id));
        serde_json::Value::Object(map)
    }
}

table_row! {
#[derive(Debug)]
struct AccountRow in Accounts::Table {
    id: Uuid,
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    employee_count: Option<i64>,
    annual_revenue_micros: Option<i64>,
    annual_revenue_currency: Option<String>,
    billing_street: Option<String>,
    billing_city: Option<String>,
    billing_region: Option<String>,
    billing_postal_code: Option<String>,
    billing_country: Option<String>,
    shipping_street: Option<String>,
    shipping_city: Option<String>,
    shipping_region: Option<String>,
    shipping_postal_code: Option<String>,
    shipping_country: Option<String>,
    owner_id: Uuid,
    parent_id: Option<Uuid>,
    lifecycle_stage: String,
    health_score: Option<i32>,
    tags: serde_json::Value,
    custom_fields: serde_json::Value,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        let annual_revenue = r.annual_revenue_micros.map(|micros| {
            Money {
                micros,
                currency: String::new(),
            }
            .amount()
        });
        let custom_fields = match json_column(r.custom_fields) {
            v @ serde_json::Value::Object(_) => v,
            _ => serde_json::Value::Object(Map::new()),
        };
        Self {
            id: r.id,
            name: r.name,
            domain: r.domain,
            industry: r.industry,
            employee_count: r.employee_count,
            annual_revenue,
            annual_revenue_currency: r.annual_revenue_currency,
            billing_street: r.billing_street,
            billing_city: r.billing_city,
            billing_region: r.billing_region,
            billing_postal_code: r.billing_postal_code,
            billing_country: r.billing_country,
            shipping_street: r.shipping_street,
            shipping_city: r.shipping_city,
            shipping_region: r.shipping_region,
            shipping_postal_code: r.shipping_postal_code,
            shipping_country: r.shipping_country,
            owner_id: r.owner_id,
            parent_id: r.parent_id,
            lifecycle_stage: r
                .lifecycle_stage
                .parse()
                .unwrap_or(LifecycleStage::Prospect),
            health_score: r.health_score,
            tags: serde_json::from_value(json_column(r.tags)).unwrap_or_default(),
            custom_fields,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl ListField for AccountField {
    fn specs() -> &'static [FieldSpec<Self>] {
        ACCOUNT_FIELDS
    }

    fn table() -> DynIden {
        iden(Accounts::Table)
    }

    fn id_column() -> DynIden {
        iden(Accounts::Id)
    }

    fn column(self) -> DynIden {
        iden(match self {
            Self::Name => Accounts::Name,
            Self::Domain => Accounts::Domain,
            Self::Industry => Accounts::Industry,
            Self::LifecycleStage => Accounts::LifecycleStage,
            Self::OwnerId => Accounts::OwnerId,
            Self::ParentId => Accounts::ParentId,
            Self::HealthScore => Accounts::HealthScore,
            Self::EmployeeCount => Accounts::EmployeeCount,
            Self::Tags => Accounts::Tags,
            Self::CreatedAt => Accounts::CreatedAt,
            Self::UpdatedAt => Accounts::UpdatedAt,
        })
    }

    fn sort_expr(self) -> Expr {
        let col = Expr::col((Accounts::Table, self.column()));
        match self {
            Self::Domain | Self::Industry => query::text_or_empty(col),
            Self::ParentId => query::id_or_nil(col),
            Self::HealthScore | Self::EmployeeCount => query::number_or_minus_one(col),
            _ => col,
        }
    }
}

/// An account's value of a sort field, as its cursor records it.
fn sort_value(account: &Account, field: AccountField) -> FilterValue {
    let text = |v: &Option<String>| FilterValue::Text(v.clone().unwrap_or_default());
    match field {
        AccountField::Name => FilterValue::Text(account.name.clone()),
        AccountField::Domain => text(&account.domain),
        AccountField::Industry => text(&account.industry),
        AccountField::LifecycleStage => {
            FilterValue::Text(account.lifecycle_stage.as_str().to_owned())
        }
        AccountField::OwnerId => FilterValue::Id(account.owner_id),
        AccountField::ParentId => FilterValue::Id(account.parent_id.unwrap_or_default()),
        AccountField::HealthScore => FilterValue::Int(account.health_score.map_or(-1, i64::from)),
        AccountField::EmployeeCount => FilterValue::Int(account.employee_count.unwrap_or(-1)),
        AccountField::Tags => FilterValue::Text(String::new()),
        AccountField::CreatedAt => FilterValue::Time(account.created_at),
        AccountField::UpdatedAt => FilterValue::Time(account.updated_at),
    }
}

fn text_column(field: &str) -> Option<Accounts> {
    Some(match field {
        "name" => Accounts::Name,
        "domain" => Accounts::Domain,
        "industry" => Accounts::Industry,
        "billing_street" => Accounts::BillingStreet,
        "billing_city" => Accounts::BillingCity,
        "billing_region" => Accounts::BillingRegion,
        "billing_postal_code" => Accounts::BillingPostalCode,
        "billing_country" => Accounts::BillingCountry,
        "shipping_street" => Accounts::ShippingStreet,
        "shipping_city" => Accounts::ShippingCity,
        "shipping_region" => Accounts::ShippingRegion,
        "shipping_postal_code" => Accounts::ShippingPostalCode,
        "shipping_country" => Accounts::ShippingCountry,
        _ => return None,
    })
}

fn data_columns(data: &AccountData, owner_id: Uuid) -> Vec<(Accounts, Value)> {
    let mut cols: Vec<(Accounts, Value)> = data
        .text
        .iter()
        .filter_map(|(field, value)| text_column(field).map(|c| (c, value.clone().into())))
        .collect();
    cols.extend([
        (Accounts::EmployeeCount, data.employee_count.into()),
        (
            Accounts::AnnualRevenueMicros,
            data.annual_revenue.as_ref().map(|m| m.micros).into(),
        ),
        (
            Accounts::AnnualRevenueCurrency,
            data.annual_revenue
                .as_ref()
                .map(|m| m.currency.clone())
                .into(),
        ),
        (Accounts::OwnerId, owner_id.into()),
        (Accounts::ParentId, data.parent_id.into()),
        (
            Accounts::LifecycleStage,
            data.lifecycle_stage.as_str().into(),
        ),
        (Accounts::HealthScore, data.health_score.into()),
        (Accounts::Tags, serde_json::json!(data.tags).into()),
        (
            Accounts::CustomFields,
            serde_json::Value::Object(data.custom_fields.clone()).into(),
        ),
    ]);
    cols
}

fn select_accounts(company_id: Uuid) -> SelectStatement {
    Query::select()
        .columns(AccountRow::columns())
        .from(Accounts::Table)
        .and_where(Expr::col((Accounts::Table, Accounts::CompanyId)).eq(company_id))
        .to_owned()
}

fn scope(actor: &Actor, action: Action) -> Result<Cond> {
    scope_condition(actor, Resource::Accounts, action, || {
        Expr::col((Accounts::Table, Accounts::OwnerId))
    })
}

/// Read a cursor made by [`list`] under the same sort.
pub fn decode_cursor(sort: &[SortKey<AccountField>], text: &str) -> Option<Seek> {
    query::decode_cursor(sort, text)
}

/// One page of the accounts the caller may read.
pub async fn list(
    store: &Store,
    actor: &Actor,
    list: &ListQuery<AccountField>,
    limit: u64,
    after: Option<&Seek>,
) -> Result<Page<Account>> {
    let r = store.read(actor).await?;
    let mut q = select_accounts(actor.company_id);
    q.cond_where(scope(actor, Action::Read)?);
    q.cond_where(query::filter_condition(&list.filters, store.backend()));
    q.cond_where(query::custom_condition(list, store.backend()));
    if let Some(text) = &list.q {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |col: Accounts| {
            Expr::expr(Func::lower(Expr::col((Accounts::Table, col))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        q.cond_where(
            Cond::any()
                .add(like(Accounts::Name))
                .add(like(Accounts::Domain)),
        );
    }
    query::order_and_seek_list(&mut q, list, store.backend(), after, limit);
    let rows: Vec<AccountRow> = fetch_all(r.conn(), &q).await?;
    let accounts: Vec<Account> = rows.into_iter().map(Account::from).collect();
    Ok(query::page_of_list(
        accounts,
        limit,
        list,
        sort_value,
        |a| &a.custom_fields,
        |a| a.id,
    ))
}

async fn get_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Account> {
    let mut q = select_accounts(actor.company_id);
    q.cond_where(scope(actor, action)?)
        .and_where(Expr::col((Accounts::Table, Accounts::Id)).eq(id));
    let row: Option<AccountRow> = fetch_optional(conn, &q).await?;
    row.map(Account::from).ok_or(StoreError::NotFound)
}

/// One account the caller may read; another company's, or one outside their scope, is not found.
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Account> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor, Action::Read, id).await
}

/// The names of the accounts among `ids` that the caller may read, in one query (for lists that
/// show the account of each row); the others are left out.
pub async fn names(
    store: &Store,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>> {
    let r = store.read(actor).await?;
    #[derive(FromQueryResult)]
    struct NameRow {
        id: Uuid,
        name: String,
    }
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let mut q = Query::select();
    q.columns([
        (Accounts::Table, Accounts::Id),
        (Accounts::Table, Accounts::Name),
    ])
    .from(Accounts::Table)
    .and_where(Expr::col((Accounts::Table, Accounts::CompanyId)).eq(actor.company_id))
    .and_where(Expr::col((Accounts::Table, Accounts::Id)).is_in(ids.iter().copied()))
    .cond_where(scope(actor, Action::Read)?);
    let rows: Vec<NameRow> = fetch_all(r.conn(), &q).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// An account of the caller's company regardless of scope.
async fn fetch_unscoped<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<Account> {
    let mut q = select_accounts(actor.company_id);
    q.and_where(Expr::col((Accounts::Table, Accounts::Id)).eq(id));
    let row: Option<AccountRow> = fetch_optional(conn, &q).await?;
    row.map(Account::from).ok_or(StoreError::NotFound)
}

/// Whether `id` is an account of the caller's company (any scope): what a reference from
/// another record (a contact's `account_id`) needs.
pub(crate) async fn exists<C: ConnectionTrait>(conn: &C, actor: &Actor, id: Uuid) -> Result<bool> {
    Ok(fetch_unscoped(conn, actor, id).await.is_ok())
}

#[derive(Debug, FromQueryResult)]
struct ParentRow {
    parent_id: Option<Uuid>,
}

/// The hierarchy allows this parent: it is an account of the company, and walking up from it
/// never reaches `id` (which would close a cycle; `id == parent` is the shortest one).
async fn check_parent<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: Uuid,
    parent_id: Uuid,
) -> Result<()> {
    let cycle = || StoreError::invalid("parent_id", "would make the account its own ancestor");
    let mut current = parent_id;
    // Bounded so a hierarchy corrupted by hand cannot spin forever.
    for step in 0..10_000 {
        if current == id {
            return Err(cycle());
        }
        let row: Option<ParentRow> = fetch_optional(
            conn,
            Query::select()
                .column(Accounts::ParentId)
                .from(Accounts::Table)
                .and_where(Expr::col(Accounts::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(Accounts::Id).eq(current)),
        )
        .await?;
        match row {
            None if step == 0 => {
                return Err(StoreError::invalid(
                    "parent_id",
                    "is not an account of this company",
                ));
            }
            None => return Ok(()),
            Some(ParentRow { parent_id: None }) => return Ok(()),
            Some(ParentRow {
                parent_id: Some(next),
            }) => current = next,
        }
    }
    Err(cycle())
}

async fn insert(tx: &Tx, cols: Vec<(Accounts, Value)>) -> Result<()> {
    let (names, values): (Vec<Accounts>, Vec<Value>) = cols.into_iter().unzip();
    let values: Vec<Expr> = values.into_iter().map(Expr::val).collect();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Accounts::Table)
            .columns(names)
            .values(values)
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?,
    )
    .await?;
    Ok(())
}

/// Create an account; without an owner the caller owns it.
pub async fn create(store: &Store, actor: &Actor, data: &AccountData) -> Result<Account> {
    let tx = store.write(actor).await?;
    let owner_id = data.owner_id.unwrap_or(actor.user_id);
    check_owner(
        tx.conn(),
        actor,
        Resource::Accounts,
        Action::Create,
        owner_id,
    )
    .await?;
    let id = new_id();
    if let Some(parent) = data.parent_id {
        check_parent(tx.conn(), actor, id, parent).await?;
    }
    let at = now();
    let mut cols = vec![
        (Accounts::CompanyId, actor.company_id.into()),
        (Accounts::Id, id.into()),
        (Accounts::CreatedBy, actor.user_id.into()),
        (Accounts::CreatedAt, at.into()),
        (Accounts::UpdatedAt, at.into()),
    ];
    cols.extend(data_columns(data, owner_id));
    insert(&tx, cols).await?;
    let account = fetch_unscoped(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Accounts,
        id,
        Action::Create,
        None,
        Some(&account.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(account)
}

/// Change an account: `apply` turns the current account into its new data (a patch merged and
/// validated), inside the transaction.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    apply: impl FnOnce(&Account) -> std::result::Result<AccountData, FieldErrors>,
) -> Result<Account> {
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
            Resource::Accounts,
            Action::Update,
            owner_id,
        )
        .await?;
    }
    if let Some(parent) = data.parent_id
        && data.parent_id != before.parent_id
    {
        check_parent(tx.conn(), actor, id, parent).await?;
    }
    let mut cols = data_columns(&data, owner_id);
    cols.push((Accounts::UpdatedAt, now().into()));
    exec(
        tx.conn(),
        Query::update()
            .table(Accounts::Table)
            .values(cols.into_iter().map(|(c, v)| (c, Expr::val(v))))
            .and_where(Expr::col(Accounts::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Accounts::Id).eq(id)),
    )
    .await?;
    let after = fetch_unscoped(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Accounts,
        id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// What to do with an account's contacts and child accounts when it is deleted. Without a
/// choice, an account that has either is not deleted (409).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Delete the account's contacts too.
    pub cascade_contacts: bool,
    /// Move the account's contacts to this account first.
    pub reassign_to: Option<Uuid>,
    /// Make the child accounts top-level accounts.
    pub detach_children: bool,
}

fn children(actor: &Actor, id: Uuid) -> SelectStatement {
    let mut q = select_accounts(actor.company_id);
    q.and_where(Expr::col((Accounts::Table, Accounts::ParentId)).eq(id));
    q
}

/// Delete an account, first dealing with its contacts and children as `options` say; every
/// moved or deleted row is audited in the same transaction.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid, options: DeleteOptions) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Delete, id).await?;
    delete_in(&tx, actor, &before, options).await?;
    tx.commit().await?;
    Ok(())
}

async fn delete_in(tx: &Tx, actor: &Actor, before: &Account, options: DeleteOptions) -> Result<()> {
    let id = before.id;
    let contact_count = contacts::count_of_account(tx.conn(), actor, id).await?;
    if contact_count > 0 {
        match (options.cascade_contacts, options.reassign_to) {
            (true, Some(_)) => {
                return Err(StoreError::invalid(
                    "cascade",
                    "choose either cascade=contacts or reassign_to, not both",
                ));
            }
            (true, None) => contacts::delete_of_account(tx, actor, id).await?,
            (false, Some(to)) => {
                if to == id || !exists(tx.conn(), actor, to).await? {
                    return Err(StoreError::invalid(
                        "reassign_to",
                        "is not another account of this company",
                    ));
                }
                contacts::move_to_account(tx, actor, id, to).await?;
            }
            (false, None) => {
                return Err(StoreError::Conflict {
                    field: "contacts".into(),
                    message: format!(
                        "the account has {contact_count} contact(s); delete them with \
                         ?cascade=contacts or move them with ?reassign_to=<account id>"
                    ),
                });
            }
        }
    }
    let kids: Vec<AccountRow> = fetch_all(tx.conn(), &children(actor, id)).await?;
    if !kids.is_empty() {
        if !options.detach_children {
            return Err(StoreError::Conflict {
                field: "children".into(),
                message: format!(
                    "the account is the parent of {} account(s); detach them with \
                     ?detach_children=true",
                    kids.len()
                ),
            });
        }
        let at = now();
        exec(
            tx.conn(),
            Query::update()
                .table(Accounts::Table)
                .value(Accounts::ParentId, Option::<Uuid>::None)
                .value(Accounts::UpdatedAt, at)
                .and_where(Expr::col(Accounts::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(Accounts::ParentId).eq(id)),
        )
        .await?;
        for kid in kids {
            let kid = Account::from(kid);
            let mut after = kid.clone();
            after.parent_id = None;
            after.updated_at = at;
            tx.audit(
                Resource::Accounts,
                kid.id,
                Action::Update,
                Some(&kid.audit_json()),
                Some(&after.audit_json()),
            )
            .await?;
        }
    }
    crate::deals::detach(tx, actor, crate::deals::Detach::Account, &[id]).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Accounts::Table)
            .and_where(Expr::col(Accounts::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Accounts::Id).eq(id)),
    )
    .await?;
    tx.audit(
        Resource::Accounts,
        id,
        Action::Delete,
        Some(&before.audit_json()),
        None,
    )
    .await?;
    Ok(())
}

/// What a bulk update sets on every selected account.
#[derive(Debug, Clone, Default)]
pub struct BulkSet {
    pub owner_id: Option<Uuid>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub tags: Option<Vec<String>>,
}

async fn all_in_scope(
    tx: &Tx,
    actor: &Actor,
    action: Action,
    ids: &[Uuid],
) -> Result<Vec<Account>> {
    let mut q = select_accounts(actor.company_id);
    q.cond_where(scope(actor, action)?)
        .and_where(Expr::col((Accounts::Table, Accounts::Id)).is_in(ids.iter().copied()));
    let rows: Vec<AccountRow> = fetch_all(tx.conn(), &q).await?;
    if rows.len() != ids.len() {
        return Err(StoreError::NotFound);
    }
    Ok(rows.into_iter().map(Account::from).collect())
}

/// Set owner, stage and/or tags on every account of `ids`, all or nothing; one audit row each.
pub async fn bulk_update(
    store: &Store,
    actor: &Actor,
    ids: &[Uuid],
    set: &BulkSet,
) -> Result<Vec<Account>> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Update, &ids).await?;
    if let Some(owner) = set.owner_id {
        check_owner(tx.conn(), actor, Resource::Accounts, Action::Update, owner).await?;
    }
    let at = now();
    let mut update = Query::update();
    update
        .table(Accounts::Table)
        .value(Accounts::UpdatedAt, at)
        .and_where(Expr::col(Accounts::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Accounts::Id).is_in(ids.iter().copied()));
    if let Some(owner) = set.owner_id {
        update.value(Accounts::OwnerId, owner);
    }
    if let Some(stage) = set.lifecycle_stage {
        update.value(Accounts::LifecycleStage, stage.as_str());
    }
    if let Some(tags) = &set.tags {
        update.value(Accounts::Tags, serde_json::json!(tags));
    }
    exec(tx.conn(), &update).await?;
    let mut after_all = Vec::with_capacity(before.len());
    for account in &before {
        let mut after = account.clone();
        if let Some(owner) = set.owner_id {
            after.owner_id = owner;
        }
        if let Some(stage) = set.lifecycle_stage {
            after.lifecycle_stage = stage;
        }
        if let Some(tags) = &set.tags {
            after.tags = tags.clone();
        }
        after.updated_at = at;
        tx.audit(
            Resource::Accounts,
            account.id,
            Action::Update,
            Some(&account.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
        after_all.push(after);
    }
    tx.commit().await?;
    Ok(after_all)
}

/// Delete every account of `ids`, all or nothing, each as [`delete`] would with `options`.
pub async fn bulk_delete(
    store: &Store,
    actor: &Actor,
    ids: &[Uuid],
    options: DeleteOptions,
) -> Result<u64> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before = all_in_scope(&tx, actor, Action::Delete, &ids).await?;
    for account in &before {
        // A child deleted in the same request may already be gone; re-read to see its state.
        if fetch_unscoped(tx.conn(), actor, account.id).await.is_err() {
            continue;
        }
        delete_in(&tx, actor, account, options).await?;
    }
    tx.commit().await?;
    Ok(before.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_field_of_an_account_has_a_column() {
        for field in rivet_domain::accounts::TEXT_FIELDS {
            assert!(text_column(field).is_some(), "{field} has no column");
        }
    }
}
