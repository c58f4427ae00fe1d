//! Companies (tenants) and their settings. A company is created with its built-in roles, so it
//! is usable from its first second.

use crate::tables::CompanyDealSettings;
use crate::tables::{Companies, Roles};
use crate::{Result, Store, Tx, exec, fetch_all, fetch_count, fetch_one, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, Id, RoleId};
use rivet_domain::settings::CompanySettings;
use rivet_domain::{Action, Actor, BuiltinRole, Resource};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct Company {
    #[schema(value_type = uuid::Uuid)]
    pub id: CompanyId,
    pub name: String,
    pub timezone: String,
    pub currency: String,
    pub fiscal_year_start_month: i32,
    pub locale: String,
    pub require_close_reason: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Company {
    pub fn settings(&self) -> CompanySettings {
        CompanySettings {
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            currency: self.currency.clone(),
            fiscal_year_start_month: u8::try_from(self.fiscal_year_start_month).unwrap_or(1),
            locale: self.locale.clone(),
            require_close_reason: self.require_close_reason,
        }
    }
}

/// The ids of a new company's built-in roles.
#[derive(Debug, Clone)]
pub struct NewCompany {
    pub id: CompanyId,
    pub admin_role_id: RoleId,
    pub roles: Vec<(BuiltinRole, RoleId)>,
}

pub async fn count(store: &Store) -> Result<i64> {
    fetch_count(
        store.system(),
        Query::select()
            .expr(Expr::col(Companies::Id).count())
            .from(Companies::Table),
    )
    .await
}

/// `company`'s time zone read on `conn` (UTC when it has an unknown one): what a workflow
/// rule's enrollment counts business days in, and its tasks' business days and hours.
pub async fn timezone_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    company: CompanyId,
) -> Result<chrono_tz::Tz> {
    #[derive(FromQueryResult)]
    struct Zone {
        timezone: String,
    }
    let zone: Option<Zone> = crate::fetch_optional(
        conn,
        Query::select()
            .column(Companies::Timezone)
            .from(Companies::Table)
            .and_where(Expr::col(Companies::Id).eq(company)),
    )
    .await?;
    Ok(zone
        .and_then(|z| z.timezone.parse().ok())
        .unwrap_or(chrono_tz::UTC))
}

/// A company's id and name, for the command line.
#[derive(Debug, Clone, FromQueryResult)]
pub struct CompanyName {
    pub id: CompanyId,
    pub name: String,
}

/// The companies called `name`, ignoring case (names are not unique), oldest first. Across
/// companies: for the command line, which runs as the system.
pub async fn find_by_name(store: &Store, name: &str) -> Result<Vec<CompanyName>> {
    fetch_all(
        store.system(),
        Query::select()
            .columns([Companies::Id, Companies::Name])
            .from(Companies::Table)
            .and_where(
                Expr::expr(Func::lower(Expr::col(Companies::Name)))
                    .eq(Func::lower(Expr::val(name.trim()))),
            )
            .order_by(Companies::CreatedAt, sea_orm::sea_query::Order::Asc),
    )
    .await
}

/// Create a company with default settings and its built-in roles, inside `tx`.
pub async fn create(tx: &Tx, name: &str) -> Result<NewCompany> {
    let id = Id::new();
    let at = now();
    let settings = CompanySettings::defaults(name);
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Companies::Table)
            .columns([
                Companies::Id,
                Companies::Name,
                Companies::Timezone,
                Companies::Currency,
                Companies::FiscalYearStartMonth,
                Companies::Locale,
                Companies::CreatedAt,
                Companies::UpdatedAt,
            ])
            .values_panic([
                id.into(),
                settings.name.into(),
                settings.timezone.into(),
                settings.currency.into(),
                i32::from(settings.fiscal_year_start_month).into(),
                settings.locale.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    let mut roles = Vec::new();
    for role in BuiltinRole::ALL {
        let role_id = Id::new();
        insert_role(tx, id, role_id, role.as_str(), role.description(), true).await?;
        crate::roles::write_permissions(tx, id, role_id, &role.default_permissions()).await?;
        roles.push((*role, role_id));
    }
    let admin_role_id = roles
        .iter()
        .find(|(r, _)| *r == BuiltinRole::Admin)
        .map_or(RoleId::nil(), |(_, id)| *id);
    crate::pipelines::create_default(tx, id).await?;
    tx.audit_in(
        id,
        "companies",
        id,
        "create",
        None,
        Some(&serde_json::json!({"name": name})),
    )
    .await?;
    Ok(NewCompany {
        id,
        admin_role_id,
        roles,
    })
}

pub(crate) async fn insert_role(
    tx: &Tx,
    company_id: CompanyId,
    role_id: RoleId,
    name: &str,
    description: &str,
    builtin: bool,
) -> Result<()> {
    let at = now();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Roles::Table)
            .columns([
                Roles::CompanyId,
                Roles::Id,
                Roles::Name,
                Roles::Description,
                Roles::Builtin,
                Roles::CreatedAt,
                Roles::UpdatedAt,
            ])
            .values_panic([
                company_id.into(),
                role_id.into(),
                name.into(),
                description.into(),
                builtin.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// The caller's company.
pub async fn get(store: &Store, actor: &Actor) -> Result<Company> {
    get_by_id(store, actor.company_id).await
}

/// A company by id, for sign-in and company switching (the caller is not yet inside it).
pub async fn get_by_id(store: &Store, id: CompanyId) -> Result<Company> {
    fetch_one(
        store.system(),
        Query::select()
            .columns([
                Companies::Id,
                Companies::Name,
                Companies::Timezone,
                Companies::Currency,
                Companies::FiscalYearStartMonth,
                Companies::Locale,
                Companies::CreatedAt,
                Companies::UpdatedAt,
            ])
            .column(CompanyDealSettings::RequireCloseReason)
            .from(Companies::Table)
            .and_where(Expr::col(Companies::Id).eq(id)),
    )
    .await
}

/// Replace the caller's company settings (already validated), audited.
pub async fn update_settings(
    store: &Store,
    actor: &Actor,
    settings: &CompanySettings,
) -> Result<Company> {
    let before = get(store, actor).await?;
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(Companies::Table)
            .values([
                (Companies::Name, settings.name.clone().into()),
                (Companies::Timezone, settings.timezone.clone().into()),
                (Companies::Currency, settings.currency.clone().into()),
                (
                    Companies::FiscalYearStartMonth,
                    i32::from(settings.fiscal_year_start_month).into(),
                ),
                (Companies::Locale, settings.locale.clone().into()),
                (Companies::UpdatedAt, now().into()),
            ])
            .value(
                CompanyDealSettings::RequireCloseReason,
                settings.require_close_reason,
            )
            .and_where(Expr::col(Companies::Id).eq(actor.company_id)),
    )
    .await?;
    let before_json = serde_json::to_value(before.settings()).ok();
    let after_json = serde_json::to_value(settings).ok();
    tx.audit(
        Resource::Settings,
        actor.company_id,
        Action::Update,
        before_json.as_ref(),
        after_json.as_ref(),
    )
    .await?;
    tx.commit().await?;
    get(store, actor).await
}
