//! Table and column names, and the migrations that create them — one set of definitions for
//! SQLite and PostgreSQL, written with sea-query. Migrations are numbered and append-only: never
//! edit one that has shipped, add the next.
//!
//! Tenant tables follow DESIGN.md §3: `company_id` leads every primary key, unique index and
//! cross-table foreign key, so a row can only ever point at rows of its own company.

use sea_orm::DeriveIden;
use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub enum Companies {
    Table,
    Id,
    Name,
    Timezone,
    Currency,
    FiscalYearStartMonth,
    Locale,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    IsSystemAdmin,
    FailedLogins,
    FailedWindowStart,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Memberships {
    Table,
    CompanyId,
    UserId,
    RoleId,
    TeamId,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Roles {
    Table,
    CompanyId,
    Id,
    Name,
    Description,
    Builtin,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum RolePermissions {
    Table,
    CompanyId,
    RoleId,
    Resource,
    Action,
    Scope,
}

#[derive(DeriveIden)]
pub enum Teams {
    Table,
    CompanyId,
    Id,
    Name,
    ManagerId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Sessions {
    Table,
    CompanyId,
    Id,
    UserId,
    Kind,
    TokenHash,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
pub enum RefreshTokens {
    Table,
    CompanyId,
    Id,
    SessionId,
    TokenHash,
    UsedAt,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum ApiKeys {
    Table,
    CompanyId,
    Id,
    Name,
    Prefix,
    SecretHash,
    RoleId,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
pub enum Invitations {
    Table,
    CompanyId,
    Id,
    UserId,
    TokenHash,
    ExpiresAt,
    AcceptedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum AuditLog {
    Table,
    CompanyId,
    Id,
    ActorUserId,
    ActorApiKeyId,
    Resource,
    ResourceId,
    Action,
    Changes,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Outbox {
    Table,
    CompanyId,
    Id,
    Event,
    Payload,
    CreatedAt,
    ProcessedAt,
    // m0012_events
    Seq,
    RecordType,
    RecordId,
    ActorUserId,
    ActorApiKeyId,
}

#[derive(DeriveIden)]
pub enum SystemLogs {
    Table,
    Id,
    CompanyId,
    Level,
    Target,
    Message,
    Fields,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum SystemSettings {
    Table,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Jobs {
    Table,
    Id,
    CompanyId,
    Kind,
    Payload,
    State,
    Priority,
    RunAt,
    Attempts,
    MaxAttempts,
    LastError,
    ProgressDone,
    ProgressTotal,
    IdempotencyKey,
    LeaseOwner,
    LeaseExpiresAt,
    Result,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
pub enum JobSchedules {
    Table,
    Name,
    Kind,
    Payload,
    Cron,
    NextRunAt,
    Enabled,
}

pub struct Migrator;

/// Every migration has a unique, stable name (what `seaql_migrations` records).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_names_are_unique() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "{names:?}");
    }
}

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Foundation),
            Box::new(M0002Leads),
            Box::new(crate::migrations_pipelines::M0003Pipelines),
            Box::new(crate::migrations_records::M0004AccountsContacts),
            Box::new(crate::migrations_deals::M0005Deals),
            Box::new(crate::migrations_activities::M0006TasksActivities),
            Box::new(crate::migrations_search::M0007Search),
            Box::new(crate::migrations_custom_fields::M0008CustomFields),
            Box::new(crate::migrations_views::M0009SavedViews),
            Box::new(crate::migrations_search::M0010SearchWords),
            Box::new(crate::migrations_list_sorts::M0011ListSorts),
            Box::new(crate::migrations_events::M0012Events),
            Box::new(crate::migrations_search_scale::M0014SearchScale),
            Box::new(crate::migrations_search_serial::M0015SearchSerial),
            // Keep last: it covers every table with a `company_id` that exists when it runs.
            Box::new(crate::migrations_rls::M0013RowLevelSecurity),
        ]
    }
}

// Column helpers shared by every migration module.

pub(crate) fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

pub(crate) fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

pub(crate) fn flag(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

pub(crate) fn json(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).json_binary().not_null().to_owned()
}

pub(crate) fn time(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub(crate) fn time_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

pub(crate) fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

pub(crate) fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().to_owned()
}

pub(crate) fn index(
    name: &str,
    table: impl IntoTableRef,
    cols: Vec<DynIden>,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(c);
    }
    stmt.to_owned()
}

macro_rules! cols {
    ($($c:expr),+ $(,)?) => { vec![$($c.into_iden()),+] };
}

struct M0001Foundation;

// Names are spelled out: the derive takes the file name, which every migration here shares.
impl MigrationName for M0001Foundation {
    fn name(&self) -> &str {
        "m0001_foundation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Foundation {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Companies::Table)
                .col(uuid(Companies::Id).primary_key())
                .col(text(Companies::Name))
                .col(text(Companies::Timezone))
                .col(text(Companies::Currency))
                .col(
                    ColumnDef::new(Companies::FiscalYearStartMonth)
                        .integer()
                        .not_null(),
                )
                .col(text(Companies::Locale))
                .col(time(Companies::CreatedAt))
                .col(time(Companies::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(uuid(Users::Id).primary_key())
                .col(text(Users::Email).unique_key())
                .col(text(Users::Name))
                .col(text_null(Users::PasswordHash))
                .col(
                    ColumnDef::new(Users::IsSystemAdmin)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(Users::FailedLogins)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(time_null(Users::FailedWindowStart))
                .col(time_null(Users::LockedUntil))
                .col(time(Users::CreatedAt))
                .col(time(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Roles::Table)
                .col(uuid(Roles::CompanyId))
                .col(uuid(Roles::Id))
                .col(text(Roles::Name))
                .col(
                    ColumnDef::new(Roles::Description)
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(
                    ColumnDef::new(Roles::Builtin)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(time(Roles::CreatedAt))
                .col(time(Roles::UpdatedAt))
                .primary_key(Index::create().col(Roles::CompanyId).col(Roles::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Roles::Table, Roles::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "roles_company_name_key",
                Roles::Table,
                cols![Roles::CompanyId, Roles::Name],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RolePermissions::Table)
                .col(uuid(RolePermissions::CompanyId))
                .col(uuid(RolePermissions::RoleId))
                .col(text(RolePermissions::Resource))
                .col(text(RolePermissions::Action))
                .col(text(RolePermissions::Scope))
                .primary_key(
                    Index::create()
                        .col(RolePermissions::CompanyId)
                        .col(RolePermissions::RoleId)
                        .col(RolePermissions::Resource)
                        .col(RolePermissions::Action),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            RolePermissions::Table,
                            (RolePermissions::CompanyId, RolePermissions::RoleId),
                        )
                        .to(Roles::Table, (Roles::CompanyId, Roles::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Teams::Table)
                .col(uuid(Teams::CompanyId))
                .col(uuid(Teams::Id))
                .col(text(Teams::Name))
                .col(ColumnDef::new(Teams::ManagerId).uuid().null())
                .col(time(Teams::CreatedAt))
                .col(time(Teams::UpdatedAt))
                .primary_key(Index::create().col(Teams::CompanyId).col(Teams::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Teams::Table, Teams::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "teams_company_name_key",
                Teams::Table,
                cols![Teams::CompanyId, Teams::Name],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(uuid(Memberships::CompanyId))
                .col(uuid(Memberships::UserId))
                .col(uuid(Memberships::RoleId))
                .col(ColumnDef::new(Memberships::TeamId).uuid().null())
                .col(
                    ColumnDef::new(Memberships::Active)
                        .boolean()
                        .not_null()
                        .default(true),
                )
                .col(time(Memberships::CreatedAt))
                .col(time(Memberships::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(Memberships::CompanyId)
                        .col(Memberships::UserId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::UserId)
                        .to(Users::Table, Users::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::RoleId),
                        )
                        .to(Roles::Table, (Roles::CompanyId, Roles::Id)),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::TeamId),
                        )
                        .to(Teams::Table, (Teams::CompanyId, Teams::Id)),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "memberships_user_idx",
            Memberships::Table,
            cols![Memberships::UserId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(uuid(Sessions::CompanyId))
                .col(uuid(Sessions::Id))
                .col(uuid(Sessions::UserId))
                .col(text(Sessions::Kind))
                .col(text_null(Sessions::TokenHash))
                .col(text_null(Sessions::CsrfToken))
                .col(time(Sessions::CreatedAt))
                .col(time(Sessions::ExpiresAt))
                .col(time_null(Sessions::RevokedAt))
                .primary_key(Index::create().col(Sessions::CompanyId).col(Sessions::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Sessions::Table, (Sessions::CompanyId, Sessions::UserId))
                        .to(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::UserId),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "sessions_token_key",
                Sessions::Table,
                cols![Sessions::TokenHash],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "sessions_user_idx",
            Sessions::Table,
            cols![Sessions::CompanyId, Sessions::UserId],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(uuid(RefreshTokens::CompanyId))
                .col(uuid(RefreshTokens::Id))
                .col(uuid(RefreshTokens::SessionId))
                .col(text(RefreshTokens::TokenHash))
                .col(time_null(RefreshTokens::UsedAt))
                .col(time(RefreshTokens::ExpiresAt))
                .col(time(RefreshTokens::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(RefreshTokens::CompanyId)
                        .col(RefreshTokens::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            RefreshTokens::Table,
                            (RefreshTokens::CompanyId, RefreshTokens::SessionId),
                        )
                        .to(Sessions::Table, (Sessions::CompanyId, Sessions::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "refresh_tokens_hash_key",
                RefreshTokens::Table,
                cols![RefreshTokens::TokenHash],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(uuid(ApiKeys::CompanyId))
                .col(uuid(ApiKeys::Id))
                .col(text(ApiKeys::Name))
                .col(text(ApiKeys::Prefix))
                .col(text(ApiKeys::SecretHash))
                .col(uuid(ApiKeys::RoleId))
                .col(uuid(ApiKeys::CreatedBy))
                .col(time(ApiKeys::CreatedAt))
                .col(time_null(ApiKeys::LastUsedAt))
                .col(time_null(ApiKeys::RevokedAt))
                .primary_key(Index::create().col(ApiKeys::CompanyId).col(ApiKeys::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiKeys::Table, (ApiKeys::CompanyId, ApiKeys::RoleId))
                        .to(Roles::Table, (Roles::CompanyId, Roles::Id)),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiKeys::Table, (ApiKeys::CompanyId, ApiKeys::CreatedBy))
                        .to(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::UserId),
                        ),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "api_keys_hash_key",
                ApiKeys::Table,
                cols![ApiKeys::SecretHash],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(uuid(Invitations::CompanyId))
                .col(uuid(Invitations::Id))
                .col(uuid(Invitations::UserId))
                .col(text(Invitations::TokenHash))
                .col(time(Invitations::ExpiresAt))
                .col(time_null(Invitations::AcceptedAt))
                .col(time(Invitations::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(Invitations::CompanyId)
                        .col(Invitations::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            Invitations::Table,
                            (Invitations::CompanyId, Invitations::UserId),
                        )
                        .to(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::UserId),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "invitations_hash_key",
                Invitations::Table,
                cols![Invitations::TokenHash],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(uuid(AuditLog::CompanyId))
                .col(uuid(AuditLog::Id))
                .col(ColumnDef::new(AuditLog::ActorUserId).uuid().null())
                .col(ColumnDef::new(AuditLog::ActorApiKeyId).uuid().null())
                .col(text(AuditLog::Resource))
                .col(text(AuditLog::ResourceId))
                .col(text(AuditLog::Action))
                .col(ColumnDef::new(AuditLog::Changes).json_binary().not_null())
                .col(text_null(AuditLog::RequestId))
                .col(time(AuditLog::CreatedAt))
                .primary_key(Index::create().col(AuditLog::CompanyId).col(AuditLog::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(AuditLog::Table, AuditLog::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "audit_log_resource_idx",
            AuditLog::Table,
            cols![
                AuditLog::CompanyId,
                AuditLog::Resource,
                AuditLog::ResourceId
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(uuid(Outbox::CompanyId))
                .col(uuid(Outbox::Id))
                .col(text(Outbox::Event))
                .col(ColumnDef::new(Outbox::Payload).json_binary().not_null())
                .col(time(Outbox::CreatedAt))
                .col(time_null(Outbox::ProcessedAt))
                .primary_key(Index::create().col(Outbox::CompanyId).col(Outbox::Id))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SystemLogs::Table)
                .col(uuid(SystemLogs::Id).primary_key())
                .col(ColumnDef::new(SystemLogs::CompanyId).uuid().null())
                .col(text(SystemLogs::Level))
                .col(text(SystemLogs::Target))
                .col(text(SystemLogs::Message))
                .col(ColumnDef::new(SystemLogs::Fields).json_binary().not_null())
                .col(text_null(SystemLogs::RequestId))
                .col(time(SystemLogs::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "system_logs_time_idx",
            SystemLogs::Table,
            cols![SystemLogs::CreatedAt],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(SystemSettings::Table)
                .col(text(SystemSettings::Key).primary_key())
                .col(
                    ColumnDef::new(SystemSettings::Value)
                        .json_binary()
                        .not_null(),
                )
                .col(time(SystemSettings::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(uuid(Jobs::Id).primary_key())
                .col(ColumnDef::new(Jobs::CompanyId).uuid().null())
                .col(text(Jobs::Kind))
                .col(ColumnDef::new(Jobs::Payload).json_binary().not_null())
                .col(text(Jobs::State))
                .col(
                    ColumnDef::new(Jobs::Priority)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(time(Jobs::RunAt))
                .col(
                    ColumnDef::new(Jobs::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(Jobs::MaxAttempts).integer().not_null())
                .col(text_null(Jobs::LastError))
                .col(
                    ColumnDef::new(Jobs::ProgressDone)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(Jobs::ProgressTotal).big_integer().null())
                .col(text_null(Jobs::IdempotencyKey))
                .col(text_null(Jobs::LeaseOwner))
                .col(time_null(Jobs::LeaseExpiresAt))
                .col(ColumnDef::new(Jobs::Result).json_binary().null())
                .col(time(Jobs::CreatedAt))
                .col(time(Jobs::UpdatedAt))
                .col(time_null(Jobs::FinishedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "jobs_idempotency_key",
                Jobs::Table,
                cols![Jobs::IdempotencyKey],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "jobs_due_idx",
            Jobs::Table,
            cols![Jobs::State, Jobs::RunAt],
        ))
        .await?;
        m.create_index(index(
            "jobs_company_idx",
            Jobs::Table,
            cols![Jobs::CompanyId, Jobs::CreatedAt],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(JobSchedules::Table)
                .col(text(JobSchedules::Name).primary_key())
                .col(text(JobSchedules::Kind))
                .col(
                    ColumnDef::new(JobSchedules::Payload)
                        .json_binary()
                        .not_null(),
                )
                .col(text(JobSchedules::Cron))
                .col(time(JobSchedules::NextRunAt))
                .col(
                    ColumnDef::new(JobSchedules::Enabled)
                        .boolean()
                        .not_null()
                        .default(true),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Leads {
    Table,
    CompanyId,
    Id,
    FirstName,
    LastName,
    Title,
    Email,
    EmailNorm,
    Phone,
    Mobile,
    CompanyName,
    Website,
    Industry,
    EmployeeCount,
    AnnualRevenueMicros,
    AnnualRevenueCurrency,
    Street,
    City,
    Region,
    PostalCode,
    Country,
    Source,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Status,
    OwnerId,
    Tags,
    FitScore,
    EngagementScore,
    TotalScore,
    Budget,
    Authority,
    Need,
    Timeline,
    Metrics,
    EconomicBuyer,
    DecisionCriteria,
    DecisionProcess,
    IdentifiedPain,
    Champion,
    Competition,
    CustomFields,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

/// Leads, the first record table; its indexes serve the hot list (by owner and status, newest
/// first) and duplicate checks by e-mail.
struct M0002Leads;

impl MigrationName for M0002Leads {
    fn name(&self) -> &str {
        "m0002_leads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0002Leads {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let score = |col: Leads| {
            ColumnDef::new(col)
                .integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        let mut table = Table::create();
        table
            .table(Leads::Table)
            .col(uuid(Leads::CompanyId))
            .col(uuid(Leads::Id));
        for col in [
            Leads::FirstName,
            Leads::LastName,
            Leads::Title,
            Leads::Email,
            Leads::EmailNorm,
            Leads::Phone,
            Leads::Mobile,
            Leads::CompanyName,
            Leads::Website,
            Leads::Industry,
        ] {
            table.col(text_null(col));
        }
        table
            .col(ColumnDef::new(Leads::EmployeeCount).big_integer().null())
            .col(
                ColumnDef::new(Leads::AnnualRevenueMicros)
                    .big_integer()
                    .null(),
            )
            .col(text_null(Leads::AnnualRevenueCurrency));
        for col in [
            Leads::Street,
            Leads::City,
            Leads::Region,
            Leads::PostalCode,
            Leads::Country,
            Leads::Source,
            Leads::UtmSource,
            Leads::UtmMedium,
            Leads::UtmCampaign,
            Leads::UtmTerm,
            Leads::UtmContent,
        ] {
            table.col(text_null(col));
        }
        table
            .col(text(Leads::Status))
            .col(uuid(Leads::OwnerId))
            .col(ColumnDef::new(Leads::Tags).json_binary().not_null())
            .col(score(Leads::FitScore))
            .col(score(Leads::EngagementScore))
            .col(score(Leads::TotalScore));
        for col in [
            Leads::Budget,
            Leads::Authority,
            Leads::Need,
            Leads::Timeline,
            Leads::Metrics,
            Leads::EconomicBuyer,
            Leads::DecisionCriteria,
            Leads::DecisionProcess,
            Leads::IdentifiedPain,
            Leads::Champion,
            Leads::Competition,
        ] {
            table.col(text_null(col));
        }
        table
            .col(ColumnDef::new(Leads::CustomFields).json_binary().not_null())
            .col(uuid(Leads::CreatedBy))
            .col(time(Leads::CreatedAt))
            .col(time(Leads::UpdatedAt))
            .primary_key(Index::create().col(Leads::CompanyId).col(Leads::Id))
            .foreign_key(
                ForeignKey::create()
                    .from(Leads::Table, Leads::CompanyId)
                    .to(Companies::Table, Companies::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Leads::Table, (Leads::CompanyId, Leads::OwnerId))
                    .to(
                        Memberships::Table,
                        (Memberships::CompanyId, Memberships::UserId),
                    ),
            );
        m.create_table(table.to_owned()).await?;
        m.create_index(index(
            "leads_owner_status_idx",
            Leads::Table,
            cols![
                Leads::CompanyId,
                Leads::OwnerId,
                Leads::Status,
                Leads::CreatedAt,
                Leads::Id
            ],
        ))
        .await?;
        m.create_index(index(
            "leads_created_idx",
            Leads::Table,
            cols![Leads::CompanyId, Leads::CreatedAt, Leads::Id],
        ))
        .await?;
        m.create_index(index(
            "leads_email_idx",
            Leads::Table,
            cols![Leads::CompanyId, Leads::EmailNorm],
        ))
        .await?;
        Ok(())
    }
}
