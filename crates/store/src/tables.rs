//! The names of Rivet's tables and columns (sea-query identifiers) and of the other database
//! objects the store refers to — one module, for the store's queries and the migrations alike.
//! A migration that adds a table adds its identifiers here.

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
    ActorVia,
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

#[derive(DeriveIden)]
pub enum Pipelines {
    Table,
    CompanyId,
    Id,
    Name,
    IsDefault,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum PipelineStages {
    Table,
    CompanyId,
    Id,
    PipelineId,
    Name,
    Position,
    Probability,
    ForecastCategory,
    Outcome,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Accounts {
    Table,
    CompanyId,
    Id,
    Name,
    Domain,
    Industry,
    EmployeeCount,
    AnnualRevenueMicros,
    AnnualRevenueCurrency,
    BillingStreet,
    BillingCity,
    BillingRegion,
    BillingPostalCode,
    BillingCountry,
    ShippingStreet,
    ShippingCity,
    ShippingRegion,
    ShippingPostalCode,
    ShippingCountry,
    OwnerId,
    ParentId,
    LifecycleStage,
    HealthScore,
    Tags,
    CustomFields,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    /// Why a lifecycle rule set the stage (`m0032_account_health`); none when set by hand.
    LifecycleReason,
}

#[derive(DeriveIden)]
pub enum Contacts {
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
    AccountId,
    IsPrimary,
    OwnerId,
    EmailConsent,
    EmailConsentSource,
    EmailConsentAt,
    WhatsappConsent,
    WhatsappConsentSource,
    WhatsappConsentAt,
    Street,
    City,
    Region,
    PostalCode,
    Country,
    Tags,
    CustomFields,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Deals {
    Table,
    CompanyId,
    Id,
    Name,
    AccountId,
    ContactId,
    AmountMicros,
    Currency,
    CloseDate,
    OwnerId,
    PipelineId,
    StageId,
    Probability,
    ForecastCategory,
    NextStep,
    Description,
    CloseReason,
    ClosedAt,
    Tags,
    CustomFields,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    StageChangedAt,
    /// Deal risk (`m0031_deal_risk`; `crate::risk`): empty for a closed deal.
    RiskScore,
    RiskLevel,
    RiskComputedAt,
    /// How often the close date was moved later, and the highest amount the deal has had.
    CloseDatePushes,
    AmountHighMicros,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum DealStageHistory {
    Table,
    CompanyId,
    Id,
    DealId,
    FromStageId,
    ToStageId,
    FromPipelineId,
    ToPipelineId,
    ChangedBy,
    ChangedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum DealContacts {
    Table,
    CompanyId,
    DealId,
    ContactId,
    Role,
    CreatedAt,
}

/// The deal settings column of `companies`.
#[derive(DeriveIden, Clone, Copy)]
pub enum CompanyDealSettings {
    #[sea_orm(iden = "companies")]
    Table,
    Id,
    RequireCloseReason,
}

#[derive(DeriveIden)]
pub enum Tasks {
    Table,
    CompanyId,
    Id,
    Subject,
    Description,
    DueAt,
    ReminderAt,
    Priority,
    Status,
    CompletedAt,
    AssigneeId,
    RelatedType,
    RelatedId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    /// Recurrence (`m0042_task_recurrence`): `daily`, `weekly` or `monthly`; null: none.
    Repeat,
    RepeatEvery,
    /// The last day (`YYYY-MM-DD`) an occurrence may be due.
    RepeatUntil,
    /// The series a repeating task belongs to (its first occurrence's id) and its number in
    /// it: unique per company, so an occurrence is created once.
    SeriesId,
    Occurrence,
}

#[derive(DeriveIden)]
pub enum Activities {
    Table,
    CompanyId,
    Id,
    Kind,
    Direction,
    Subject,
    Body,
    OccurredAt,
    DurationSeconds,
    Outcome,
    OwnerId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    /// The id of the message it records, where it records one (an e-mail's `Message-ID`;
    /// `m0035_email`).
    MessageId,
}

#[derive(DeriveIden)]
pub enum ActivityLinks {
    Table,
    CompanyId,
    ActivityId,
    RecordType,
    RecordId,
}

#[derive(DeriveIden)]
pub enum CustomFieldDefinitions {
    Table,
    CompanyId,
    Id,
    RecordType,
    Key,
    Label,
    Kind,
    Options,
    Required,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum SavedViews {
    Table,
    CompanyId,
    Id,
    UserId,
    Resource,
    Name,
    Query,
    IsDefault,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum EventPositions {
    Table,
    Name,
    Position,
    Delivered,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Webhooks {
    Table,
    CompanyId,
    Id,
    Url,
    EventTypes,
    Description,
    Active,
    Secret,
    ConsecutiveFailures,
    DisabledReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum WebhookDeliveries {
    Table,
    CompanyId,
    Id,
    WebhookId,
    EventId,
    EventSeq,
    EventType,
    RecordKey,
    Body,
    State,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseExpiresAt,
    ResponseStatus,
    LastError,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
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
    ConvertedAt,
    ConvertedAccountId,
    ConvertedContactId,
    ConvertedDealId,
    StatusReason,
    StatusChangedAt,
    /// `m0036_whatsapp`.
    WhatsappConsent,
    WhatsappConsentSource,
    WhatsappConsentAt,
}

/// A company's duplicate rules and default country (`m0018_intake`), one JSON row.
#[derive(DeriveIden)]
pub enum DuplicateSettings {
    Table,
    CompanyId,
    Settings,
    UpdatedAt,
}

/// Web-to-lead forms (`m0018_intake`): what a public form asks and where it may be posted from.
#[derive(DeriveIden)]
pub enum LeadForms {
    Table,
    CompanyId,
    Id,
    Key,
    Name,
    Definition,
    Active,
    OwnerId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

/// One post of a web-to-lead form, with where it came from.
#[derive(DeriveIden)]
pub enum LeadFormSubmissions {
    Table,
    CompanyId,
    Id,
    FormId,
    LeadId,
    Outcome,
    Consent,
    Referrer,
    Origin,
    CreatedAt,
}

/// The answers of `POST /ingest/leads` by `Idempotency-Key` (`m0018_intake`).
#[derive(DeriveIden)]
pub enum IngestRequests {
    Table,
    CompanyId,
    Key,
    BodyHash,
    Response,
    CreatedAt,
}

/// The unprivileged role every tenant transaction runs as.
pub const TENANT_ROLE: &str = "rivet_tenant";
/// The name of the tenant policy on every table with a `company_id`.
pub const POLICY: &str = "tenant_isolation";
/// The view search reads through on PostgreSQL (see the module comment).
pub const SEARCH_VIEW: &str = "search_docs_tenant";

/// The company of the current transaction, NULL when none is set. `current_setting(…, true)`
/// is NULL in a session that never set it but `''` after a `SET LOCAL` of an earlier
/// transaction ended, hence the `NULLIF`.
pub const CURRENT_COMPANY: &str = "NULLIF(current_setting('rivet.company_id', true), '')::uuid";

/// The trigger on a record table that rewrites the record's `search_docs` row when a field
/// search shows or matches changed: SQLite's `<table>_search_au` (`m0007_search`, given its
/// `WHEN` by `m0016_search_changes_only`), PostgreSQL's `<table>_search_update` (m0016; the
/// table's `<table>_search` keeps insertions and deletions).
pub fn search_update_trigger(table: &str, sqlite: bool) -> String {
    if sqlite {
        format!("{table}_search_au")
    } else {
        format!("{table}_search_update")
    }
}

/// PostgreSQL: the trigger on `search_docs` that adds and removes a record's word postings
/// (`search_terms`) and vocabulary on insertion and deletion (`m0014_search_scale`)…
pub const SEARCH_TERMS_TRIGGER: &str = "search_docs_terms";
/// …and the one that updates them when the words or the owner changed, and its function
/// (`m0016_search_changes_only`).
pub const SEARCH_TERMS_UPDATE: &str = "search_docs_terms_update";

// Assignment rules (issue 13 §3, migration m0020_assignment_rules).

#[derive(DeriveIden)]
pub enum AssignmentRules {
    Table,
    CompanyId,
    Id,
    Entity,
    Position,
    Name,
    Active,
    Conditions,
    Action,
    TaskTitle,
    CreatedAt,
    UpdatedAt,
}

/// A round-robin rule's next turn, a row of its own so one atomic update takes turns.
#[derive(DeriveIden)]
pub enum AssignmentCursors {
    Table,
    CompanyId,
    RuleId,
    NextTurn,
}

#[derive(DeriveIden)]
pub enum AssignmentSettings {
    Table,
    CompanyId,
    Entity,
    FallbackOwnerId,
    UpdatedAt,
}

/// Duplicate groups a scan found (migration `m0019_duplicate_groups`; `crate::duplicate_groups`).
#[derive(DeriveIden, Clone, Copy)]
pub enum DuplicateGroups {
    Table,
    CompanyId,
    Id,
    Entity,
    Rule,
    Score,
    Status,
    MemberIds,
    MembersKey,
    Size,
    ScanJobId,
    DismissedBy,
    DismissedAt,
    CreatedAt,
    UpdatedAt,
}

/// The match keys of an account (migration `m0019_duplicate_groups`): its normalized name and
/// registrable domain.
#[derive(DeriveIden, Clone, Copy)]
pub enum AccountKeys {
    #[sea_orm(iden = "accounts")]
    Table,
    NameKey,
    DomainKey,
}

/// Uploaded files being imported (`m0021_imports`; `crate::imports`): the file itself, what was
/// detected in it, its column mapping and options, and how far its run has come.
#[derive(DeriveIden)]
pub enum Imports {
    Table,
    CompanyId,
    Id,
    Entity,
    FileName,
    Format,
    Content,
    Encoding,
    Delimiter,
    Header,
    Mapping,
    Options,
    Status,
    TotalRows,
    RowsDone,
    Created,
    Updated,
    Skipped,
    Failed,
    JobId,
    Error,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

/// The file an import keeps, in pieces of about a mebibyte (`m0025_import_chunks`; before,
/// one blob in `m0023_import_files`), apart from the import's row, so that the progress a run
/// writes after every batch does not rewrite the file with it.
#[derive(DeriveIden)]
pub enum ImportChunks {
    Table,
    CompanyId,
    ImportId,
    Seq,
    Bytes,
}

/// One import's per-row errors (`m0021_imports`).
#[derive(DeriveIden)]
pub enum ImportErrors {
    Table,
    CompanyId,
    Id,
    ImportId,
    Line,
    Field,
    Message,
}

/// The column every importable record table (leads, contacts, accounts, deals) has: the import
/// that created the row, if one did (`m0021_imports`).
#[derive(DeriveIden)]
pub enum Imported {
    ImportId,
}

/// The record tables an import writes, by name.
pub const IMPORTED_TABLES: &[&str] = &["leads", "contacts", "accounts", "deals"];

/// Record lists written to a file by a job (`m0022_exports`; `crate::exports`): what was asked
/// (the list, the format, the query), how far the job came, and when the file expires.
#[derive(DeriveIden)]
pub enum Exports {
    Table,
    CompanyId,
    Id,
    Entity,
    Format,
    Query,
    Status,
    RowsWritten,
    ByteSize,
    Error,
    FileName,
    CreatedBy,
    CreatedAt,
    FinishedAt,
    ExpiresAt,
    JobId,
}

/// An export's file, in pieces of about a mebibyte in the order of `seq` (`m0022_exports`).
#[derive(DeriveIden)]
pub enum ExportChunks {
    Table,
    CompanyId,
    ExportId,
    Seq,
    Bytes,
}

/// A company's lead scoring settings (`m0027_lead_scoring`; `crate::scoring`).
#[derive(DeriveIden)]
pub enum ScoringSettings {
    Table,
    CompanyId,
    Settings,
    UpdatedAt,
}

/// The engagement a lead showed, one row per signal (`m0027_lead_scoring`): what its
/// engagement score adds up.
#[derive(DeriveIden)]
pub enum LeadSignals {
    Table,
    CompanyId,
    Id,
    LeadId,
    Signal,
    OccurredAt,
    /// The activity or event the signal came from (one signal per source).
    SourceId,
    Detail,
}

/// A lead's scores each time they changed (`m0027_lead_scoring`).
#[derive(DeriveIden)]
pub enum LeadScoreHistory {
    Table,
    CompanyId,
    Id,
    LeadId,
    At,
    Fit,
    Engagement,
    Total,
    Cause,
}

/// A company's qualification gates (`m0029_qualification`; `crate::qualification`).
#[derive(DeriveIden)]
pub enum QualificationSettings {
    Table,
    CompanyId,
    Settings,
    UpdatedAt,
}

/// Each status a lead has been in and when (`m0029_qualification`): time in each status.
#[derive(DeriveIden)]
pub enum LeadStatusHistory {
    Table,
    CompanyId,
    Id,
    LeadId,
    Status,
    EnteredAt,
    LeftAt,
    Reason,
}

/// A company's trained conversion models, one row per version (`m0028_scoring_models`;
/// `crate::scoring_model`).
#[derive(DeriveIden)]
pub enum ScoringModels {
    Table,
    CompanyId,
    Id,
    /// 1, 2, … per company.
    Version,
    TrainedAt,
    /// The member who asked for it; none for the weekly schedule.
    TrainedBy,
    /// The `rivet_model::Model`, as JSON.
    Model,
    SampleSize,
    TrainSize,
    TestSize,
    PositiveRate,
    RocAuc,
}

/// Each lead's conversion probability from its company's newest model (`m0028_scoring_models`).
#[derive(DeriveIden)]
pub enum LeadPredictions {
    Table,
    CompanyId,
    LeadId,
    ModelId,
    Probability,
    /// The features that moved it most, `[{feature, effect}]`.
    Contributions,
    ScoredAt,
}

/// A company's deal risk settings (`m0031_deal_risk`; `crate::risk`).
#[derive(DeriveIden)]
pub enum RiskSettings {
    Table,
    CompanyId,
    Settings,
    UpdatedAt,
}

/// A company's account health settings (`m0032_account_health`; `crate::health`).
#[derive(DeriveIden)]
pub enum HealthSettings {
    Table,
    CompanyId,
    Settings,
    UpdatedAt,
}

/// An account's health each time it changed, and at least once a day it was computed
/// (`m0032_account_health`): the trend.
#[derive(DeriveIden)]
pub enum AccountHealthHistory {
    Table,
    CompanyId,
    Id,
    AccountId,
    Score,
    /// `[{name, label, weight, points, explanation}]`.
    Components,
    ComputedAt,
}

/// A member's in-app notifications (`m0034_notifications`; `crate::notifications`).
#[derive(DeriveIden)]
pub enum Notifications {
    Table,
    CompanyId,
    Id,
    /// The member it is for.
    UserId,
    /// What happened, e.g. `lead.score_threshold_crossed`.
    Kind,
    Title,
    Body,
    /// A path in the app (`/leads/{id}`).
    Link,
    RecordType,
    RecordId,
    CreatedAt,
    /// Null while unread.
    ReadAt,
}

/// What a company's admins define (e-mail templates, workflow rules, sequences): one row per
/// definition, its kind, name and the checked definition as JSON (`crate::definitions`).
#[derive(DeriveIden)]
pub enum Definitions {
    Table,
    CompanyId,
    Id,
    /// `email_template`, `workflow_rule`, …
    Kind,
    Name,
    Active,
    /// The definition as the API takes it.
    Body,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

/// A company's WhatsApp Business settings (`m0036_whatsapp`; `crate::whatsapp`): one row per
/// company, the access token and app secret sealed.
#[derive(DeriveIden)]
pub enum WhatsappSettings {
    Table,
    CompanyId,
    /// Unique across companies: it routes the webhook's messages.
    PhoneNumberId,
    BusinessAccountId,
    /// Sealed (`rivet_domain::secrets`).
    AccessToken,
    /// Sealed.
    AppSecret,
    VerifyToken,
    ApiBaseUrl,
    Enabled,
    UpdatedBy,
    UpdatedAt,
}

/// WhatsApp messages sent and received (`m0036_whatsapp`; `crate::whatsapp`).
#[derive(DeriveIden)]
pub enum WhatsappMessages {
    Table,
    CompanyId,
    Id,
    /// `inbound` or `outbound`.
    Direction,
    /// WhatsApp's message id; unique in the company (a replayed webhook finds it).
    Wamid,
    /// `lead` or `contact`.
    RecordType,
    RecordId,
    ActivityId,
    /// E.164.
    Phone,
    TemplateName,
    TemplateLanguage,
    TemplateParameters,
    Body,
    /// sending (claimed by automation, the Graph API not yet answered), queued, sent,
    /// delivered, read, failed (outbound) or received (inbound).
    Status,
    Error,
    SentAt,
    DeliveredAt,
    ReadAt,
    FailedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    /// What an automated send was claimed under (`m0041_whatsapp_claims`); unique in the
    /// company.
    IdempotencyKey,
}

/// A company's e-mail settings (`m0035_email`; `crate::email`): one JSON document, the
/// secrets in it sealed.
#[derive(DeriveIden)]
pub enum EmailSettings {
    Table,
    CompanyId,
    Settings,
    UpdatedAt,
}

/// Every e-mail a company sent or tried to send to a person (`m0035_email`; `crate::email`):
/// claimed (`sending`) under its idempotency key before it is sent, then `sent` with its
/// activity, or `failed` with the reason.
#[derive(DeriveIden)]
pub enum EmailMessages {
    Table,
    CompanyId,
    Id,
    /// The record it was sent from (`lead`, `contact`, `deal`).
    RecordType,
    RecordId,
    /// The recipients, comma-separated.
    ToAddrs,
    CcAddrs,
    Subject,
    BodyText,
    BodyHtml,
    /// The `Message-ID` header Rivet gave it, angle brackets included.
    MessageId,
    /// `sending`, `sent` or `failed`.
    Status,
    /// Why it failed, in plain words.
    Error,
    /// The SMTP server's reply to a send that went through.
    Reply,
    Attempts,
    /// Unique per company: a send with a key already used is that send, not a second one.
    IdempotencyKey,
    /// The outgoing email activity recorded with the send.
    ActivityId,
    CreatedBy,
    CreatedAt,
    SentAt,
    /// When the content was handed to the server, after its `354` (`m0045_email_handed`).
    HandedAt,
    /// Tracking (`m0040_email_tracking`; `crate::tracking`): the first open and how many.
    OpenedAt,
    OpenCount,
    /// The first click on one of its links and how many.
    ClickedAt,
    ClickCount,
    /// The first reply threaded onto it.
    RepliedAt,
    BouncedAt,
    /// When its recipient unsubscribed through its link.
    UnsubscribedAt,
}

/// The addresses of a company that unsubscribed (`m0040_email_tracking`; `crate::tracking`):
/// every send checks them.
#[derive(DeriveIden)]
pub enum EmailSuppressions {
    Table,
    CompanyId,
    /// Lower-case.
    Email,
    /// How it was added (`unsubscribe link`).
    Source,
    /// The message whose link it was.
    MessageId,
    CreatedAt,
}

/// How many e-mails a company sent on a day of its time zone (`m0035_email`), the daily limit's
/// count.
#[derive(DeriveIden)]
pub enum EmailDailyCounts {
    Table,
    CompanyId,
    /// `YYYY-MM-DD` in the company's time zone.
    Day,
    Sent,
}

/// Password reset links (`m0035_email`; `crate::email`): a user's, single use, valid an hour,
/// the token stored hashed. They belong to a user, not a company.
#[derive(DeriveIden)]
pub enum PasswordResets {
    Table,
    Id,
    UserId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

/// The execution log of workflow rules (`m0038_workflows`; `crate::workflows`).
#[derive(DeriveIden)]
pub enum WorkflowRuns {
    Table,
    CompanyId,
    Id,
    /// The rule (a `definitions` row of kind `workflow_rule`).
    RuleId,
    /// The event's id, or `<schedule>:<record>:<occurrence>`: unique per rule.
    TriggerKey,
    /// The event type, or the schedule's kind.
    Trigger,
    EventId,
    RecordType,
    RecordId,
    /// How many rules' turns came before this one in its chain (0: a person's change).
    Depth,
    /// Whether every condition held.
    Matched,
    /// `ok`, `failed` or `skipped`.
    Status,
    /// Each condition and whether it held.
    Conditions,
    /// Each action in order with its result.
    Actions,
    Error,
    CreatedAt,
}

/// A record's enrollment in a sequence (`m0039_sequences`; `crate::sequences`): where it is
/// (the step it runs next and when), and the lease a runner holds on it while running a step.
#[derive(DeriveIden)]
pub enum SequenceEnrollments {
    Table,
    CompanyId,
    Id,
    /// The sequence (a row of `definitions`).
    SequenceId,
    /// `lead` or `contact`.
    RecordType,
    RecordId,
    /// `active`, `paused`, `finished`, `stopped`.
    Status,
    StopReason,
    /// The index of the step it runs next.
    Step,
    NextStepAt,
    /// Why the last attempt at the step failed, in plain words.
    LastError,
    /// Failed attempts at the current step.
    Attempts,
    /// The runner holding it, and until when.
    LockedBy,
    LockedUntil,
    EnrolledBy,
    CreatedAt,
    UpdatedAt,
}

/// The SLA tasks workflow rules created (`m0038_workflows`): escalated to the assignee's team
/// manager once when overdue (`crate::workflows::escalate_overdue`).
#[derive(DeriveIden)]
pub enum WorkflowSlaTasks {
    Table,
    CompanyId,
    TaskId,
    /// The rule that created it.
    RuleId,
    /// When the manager was told; null while not yet.
    EscalatedAt,
    /// Whom it was escalated to (null: the assignee has no team manager).
    EscalatedTo,
    CreatedAt,
}

/// The e-mails the sequences sent (`m0039_sequences`): one row per enrollment and step, for
/// a sequence's daily limit and its per-step counts.
#[derive(DeriveIden)]
pub enum SequenceSends {
    Table,
    CompanyId,
    EnrollmentId,
    Step,
    SequenceId,
    /// The e-mail message (`email_messages`).
    MessageId,
    SentAt,
}

/// Where each company's IMAP mailbox was read up to (`m0043_imap`; `crate::imap`): one row per
/// company that polls, written by the poller only (its settings are the e-mail settings
/// document's `imap` part).
#[derive(DeriveIden)]
pub enum ImapPolls {
    Table,
    CompanyId,
    /// The folder's UIDVALIDITY when `last_uid` was taken; another one starts over at 0.
    UidValidity,
    /// The highest UID taken: the next poll fetches the UIDs above it.
    LastUid,
    /// When the last poll ended, and why it failed (null: it worked).
    PolledAt,
    Error,
    /// The messages the last poll took.
    Taken,
    /// A poll running now holds the mailbox until then, so two never read it at once.
    LockedUntil,
}
