//! Accounts as a record type (list, get, create, update and bulk update are the generic
//! record layer's, [`crate::record`]), with their own rules as its hooks: the parent hierarchy
//! (no cycles), and what happens to an account's contacts and child accounts when it is
//! deleted.

use crate::contacts;
use crate::query::{self, ListField, iden, unique_ids};
use crate::record::{self, Record, Write};
use crate::row::table_row;
use crate::tables::Accounts;
use crate::{Result, Store, StoreError, Tx, fetch_all, fetch_optional};
use chrono::{DateTime, Utc};
use rivet_domain::accounts::{ACCOUNT_FIELDS, AccountData, AccountField, LifecycleStage};
use rivet_domain::ids::{AccountId, Id, UserId, kind};
use rivet_domain::query::{FieldSpec, FilterValue};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Cond, DynIden, Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

table_row! {
/// An account as the API shows it. Money is a decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Account in Accounts::Table {
    #[schema(value_type = uuid::Uuid)]
    pub id: AccountId,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    /// Decimal string, e.g. `"12500.10"`.
    pub annual_revenue: Option<String> = annual_revenue_micros => record::amount_of,
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
    #[schema(value_type = uuid::Uuid)]
    pub owner_id: UserId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub parent_id: Option<AccountId>,
    pub lifecycle_stage: LifecycleStage => record::choice_or(LifecycleStage::Prospect),
    /// Why a lifecycle rule set the stage (e.g. "moved to at_risk: health 32 < 40"); null
    /// when it was set by hand. Read-only.
    pub lifecycle_reason: Option<String>,
    /// 0 to 100, computed by account health (`GET /api/v1/accounts/{id}/health` explains
    /// it). Read-only.
    pub health_score: Option<i32>,
    pub tags: Vec<String> => record::tags_of,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Value => record::custom_fields_of,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
        AccountField::OwnerId => FilterValue::Id(account.owner_id.uuid()),
        AccountField::ParentId => {
            FilterValue::Id(account.parent_id.map(Id::uuid).unwrap_or_default())
        }
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

fn data_columns(data: &AccountData, owner_id: UserId) -> Vec<(Accounts, Value)> {
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
        (Accounts::Tags, serde_json::json!(data.tags).into()),
        (
            Accounts::CustomFields,
            serde_json::Value::Object(data.custom_fields.clone()).into(),
        ),
    ]);
    cols
}

impl Record for Account {
    type Kind = kind::Account;
    type Row = Self;
    type Field = AccountField;
    const RESOURCE: Resource = Resource::Accounts;
    /// Health and the reason a rule gave for the stage are computed (`crate::health`).
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "created_by",
        "created_at",
        "updated_at",
        "health_score",
        "lifecycle_reason",
    ];

    fn id(&self) -> AccountId {
        self.id
    }

    /// With health and the lifecycle reason, which a client cannot write but the trail shows
    /// changing (a rule's move names its reason here).
    fn audit_json(&self) -> serde_json::Value {
        let mut map = self.as_input();
        map.insert("id".into(), serde_json::json!(self.id));
        map.insert("health_score".into(), self.health_score.into());
        map.insert(
            "lifecycle_reason".into(),
            self.lifecycle_reason.clone().into(),
        );
        serde_json::Value::Object(map)
    }
    fn owner(&self) -> UserId {
        self.owner_id
    }
    fn custom_fields(&self) -> &serde_json::Value {
        &self.custom_fields
    }
    fn sort_value(&self, field: AccountField) -> FilterValue {
        sort_value(self, field)
    }

    /// What `q=` matches, case-insensitively, as a substring.
    fn text_columns() -> Vec<DynIden> {
        vec![iden(Accounts::Name), iden(Accounts::Domain)]
    }

    /// Deals keep no reference to a deleted account.
    async fn before_delete(tx: &Tx, actor: &Actor, records: &[Self]) -> Result<()> {
        let ids: Vec<Uuid> = records.iter().map(|a| a.id.uuid()).collect();
        crate::deals::detach(tx, actor, crate::deals::Detach::Account, &ids).await
    }
}

impl Write for Account {
    type Data = AccountData;

    fn data_owner(data: &AccountData) -> Option<UserId> {
        data.owner_id
    }

    /// A new parent must keep the hierarchy free of cycles.
    async fn write_columns(
        tx: &Tx,
        actor: &Actor,
        id: AccountId,
        data: &AccountData,
        owner: UserId,
        before: Option<&Self>,
        _at: DateTime<Utc>,
    ) -> Result<Vec<(DynIden, Value)>> {
        if let Some(parent) = data.parent_id
            && before.is_none_or(|b| b.parent_id != data.parent_id)
        {
            check_parent(tx.conn(), actor, id, parent).await?;
        }
        let mut columns: Vec<(DynIden, Value)> = data_columns(data, owner)
            .into_iter()
            .map(|(c, v)| (iden(c), v))
            .collect();
        columns.extend(crate::duplicate_groups::account_key_columns(&data.text));
        // A stage set by hand has no rule's reason.
        if before.is_some_and(|b| b.lifecycle_stage != data.lifecycle_stage) {
            columns.push((
                iden(Accounts::LifecycleReason),
                Option::<String>::None.into(),
            ));
        }
        Ok(columns)
    }

    /// New accounts start with the health of an account nobody has worked with yet.
    async fn after_create(tx: &Tx, actor: &Actor, created: &mut [&mut Self]) -> Result<()> {
        crate::health::start(tx, actor.company_id, created).await
    }
}

/// The names of the accounts among `ids` that the caller may read, in one query (for lists that
/// show the account of each row); the others are left out.
pub async fn names(
    store: &Store,
    actor: &Actor,
    ids: &[AccountId],
) -> Result<std::collections::HashMap<AccountId, String>> {
    #[derive(FromQueryResult)]
    struct NameRow {
        id: AccountId,
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
    .cond_where(record::scope::<Account>(actor, Action::Read)?);
    let rows: Vec<NameRow> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// Whether `id` is an account of the caller's company (any scope): what a reference from
/// another record (a contact's `account_id`) needs.
pub(crate) async fn exists<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: AccountId,
) -> Result<bool> {
    Ok(record::get_unscoped::<Account, _>(conn, actor, id)
        .await
        .is_ok())
}

/// The name and domain of the company's account `id`, if it exists (whoever owns it).
pub(crate) async fn name_and_domain<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: AccountId,
) -> Result<Option<(String, Option<String>)>> {
    Ok(record::get_unscoped::<Account, _>(conn, actor, id)
        .await
        .ok()
        .map(|a| (a.name, a.domain)))
}

#[derive(Debug, FromQueryResult)]
struct ParentRow {
    parent_id: Option<AccountId>,
}

/// The hierarchy allows this parent: it is an account of the company, and walking up from it
/// never reaches `id` (which would close a cycle; `id == parent` is the shortest one).
async fn check_parent<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: AccountId,
    parent_id: AccountId,
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

/// What to do with an account's contacts and child accounts when it is deleted. Without a
/// choice, an account that has either is not deleted (409).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Delete the account's contacts too.
    pub cascade_contacts: bool,
    /// Move the account's contacts to this account first.
    pub reassign_to: Option<AccountId>,
    /// Make the child accounts top-level accounts.
    pub detach_children: bool,
}

/// Delete an account, first dealing with its contacts and children as `options` say; every
/// moved or deleted row is audited in the same transaction.
pub async fn delete(
    store: &Store,
    actor: &Actor,
    id: AccountId,
    options: DeleteOptions,
) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = record::get_in(tx.conn(), actor, Action::Delete, id).await?;
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
    let kids: Vec<Account> = record::all_where(
        tx.conn(),
        actor,
        Cond::all().add(Expr::col((Accounts::Table, Accounts::ParentId)).eq(id)),
    )
    .await?;
    if !kids.is_empty() && !options.detach_children {
        return Err(StoreError::Conflict {
            field: "children".into(),
            message: format!(
                "the account is the parent of {} account(s); detach them with \
                 ?detach_children=true",
                kids.len()
            ),
        });
    }
    record::update_rows(
        tx,
        actor,
        &kids,
        vec![(iden(Accounts::ParentId), Option::<Uuid>::None.into())],
        |kid, at| {
            kid.parent_id = None;
            kid.updated_at = at;
        },
    )
    .await?;
    record::delete_in(tx, actor, std::slice::from_ref(before)).await?;
    Ok(())
}

/// Delete every account of `ids`, all or nothing, each as [`delete`] would with `options`.
pub async fn bulk_delete(
    store: &Store,
    actor: &Actor,
    ids: &[AccountId],
    options: DeleteOptions,
) -> Result<u64> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before: Vec<Account> = record::all_in_scope(tx.conn(), actor, Action::Delete, &ids).await?;
    for account in &before {
        // A child deleted in the same request may already be gone; re-read to see its state.
        let Ok(account) = record::get_unscoped::<Account, _>(tx.conn(), actor, account.id).await
        else {
            continue;
        };
        delete_in(&tx, actor, &account, options).await?;
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
