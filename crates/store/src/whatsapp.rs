//! WhatsApp Business, the store side (migration `m0036_whatsapp`): a company's settings (one row,
//! its secrets sealed by the caller before they reach here, never opened here), the messages
//! sent and received, and what the webhook writes.
//!
//! The settings are their own table rather than a `crate::documents` document: the phone number
//! id must be unique across companies and found without knowing the company (the webhook), the
//! secrets are kept when a change leaves them out, and what is shown is not what is stored.
//!
//! A message sent is written with its timeline activity in one transaction, after the Graph API
//! took it. A message automation sends (a workflow rule, a sequence step) is first claimed under
//! its idempotency key ([`claim`], `m0041_whatsapp_claims`), then recorded with its activity by
//! [`record_claimed`] only while the claim is still open, so it is sent and logged once. A message received is taken once: its `wamid` is unique in the company, so a replayed
//! webhook finds it and writes nothing (and two deliveries racing meet the unique index, one
//! rolling back). The activities go through the record layer, so they are audited and raise
//! `activity.logged`, which lead scoring reads as `whatsapp_replied`. Status updates only move a
//! message forward.

use crate::intake;
use crate::leads::Lead;
use crate::record;
use crate::tables::{Contacts, Leads, WhatsappMessages as M, WhatsappSettings as S};
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::activities::{ActivityData, ActivityKind, Direction, Link, RecordType};
use rivet_domain::ids::{CompanyId, ContactId, LeadId, UserId};
use rivet_domain::leads::{LeadInput, LeadStatus};
use rivet_domain::whatsapp::{Inbound, Outgoing, Status, StatusUpdate};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// A company's settings as stored: the secrets sealed.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct StoredSettings {
    pub phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    /// Sealed.
    pub access_token: Option<String>,
    /// Sealed.
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub api_base_url: String,
    pub enabled: bool,
    pub updated_by: Option<UserId>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl StoredSettings {
    /// What the audit trail compares: every field, the secrets as stored (sealed), which the
    /// trail redacts by their names.
    fn audited(&self) -> Value {
        json!({
            "phone_number_id": self.phone_number_id,
            "business_account_id": self.business_account_id,
            "access_token": self.access_token,
            "app_secret": self.app_secret,
            "verify_token": self.verify_token,
            "api_base_url": self.api_base_url,
            "enabled": self.enabled,
        })
    }
}

const SETTINGS_COLUMNS: [S; 9] = [
    S::PhoneNumberId,
    S::BusinessAccountId,
    S::AccessToken,
    S::AppSecret,
    S::VerifyToken,
    S::ApiBaseUrl,
    S::Enabled,
    S::UpdatedBy,
    S::UpdatedAt,
];

async fn settings_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    company: CompanyId,
) -> Result<Option<StoredSettings>> {
    fetch_optional(
        conn,
        Query::select()
            .columns(SETTINGS_COLUMNS)
            .from(S::Table)
            .and_where(Expr::col(S::CompanyId).eq(company)),
    )
    .await
}

/// The caller's company's settings, if it saved any.
pub async fn settings(store: &Store, actor: &Actor) -> Result<Option<StoredSettings>> {
    let r = store.read(actor).await?;
    settings_in(r.conn(), actor.company_id).await
}

/// Replace the caller's company's settings (secrets already sealed and merged), audited with
/// the secrets redacted. A phone number id another company has is a 409 naming it.
pub async fn put_settings(store: &Store, actor: &Actor, new: &StoredSettings) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = settings_in(tx.conn(), actor.company_id).await?;
    let at = now();
    let values: Vec<sea_orm::Value> = vec![
        actor.company_id.into(),
        new.phone_number_id.clone().into(),
        new.business_account_id.clone().into(),
        new.access_token.clone().into(),
        new.app_secret.clone().into(),
        new.verify_token.clone().into(),
        new.api_base_url.clone().into(),
        new.enabled.into(),
        Some(actor.user_id).into(),
        at.into(),
    ];
    let mut columns = vec![S::CompanyId];
    columns.extend(SETTINGS_COLUMNS);
    exec(
        tx.conn(),
        Query::insert()
            .into_table(S::Table)
            .columns(columns)
            .values_panic(values.into_iter().map(Expr::val))
            .on_conflict(
                OnConflict::column(S::CompanyId)
                    .update_columns(SETTINGS_COLUMNS)
                    .to_owned(),
            ),
    )
    .await?;
    tx.audit_in(
        actor.company_id,
        Resource::Settings.as_str(),
        "whatsapp",
        Action::Update.as_str(),
        before.as_ref().map(StoredSettings::audited).as_ref(),
        Some(&new.audited()),
    )
    .await?;
    tx.commit().await
}

/// The company a webhook is for, found by its phone number id across companies (the named
/// bypass: the webhook has no caller yet).
#[derive(Debug, Clone, FromQueryResult)]
pub struct Route {
    pub company_id: CompanyId,
    /// Sealed.
    pub app_secret: Option<String>,
    pub enabled: bool,
    /// Who saved the settings: the new leads' owner when no assignment rule gives one.
    pub updated_by: Option<UserId>,
}

pub async fn route(store: &Store, phone_number_id: &str) -> Result<Option<Route>> {
    fetch_optional(
        store.system(),
        Query::select()
            .columns([S::CompanyId, S::AppSecret, S::Enabled, S::UpdatedBy])
            .from(S::Table)
            .and_where(Expr::col(S::PhoneNumberId).eq(phone_number_id)),
    )
    .await
}

#[derive(FromQueryResult)]
struct Token {
    verify_token: Option<String>,
}

/// Whether `token` is some company's webhook verify token (compared in constant time; the
/// challenge does not say which company).
pub async fn verify_token_known(store: &Store, token: &str) -> Result<bool> {
    let rows: Vec<Token> = fetch_all(
        store.system(),
        Query::select()
            .column(S::VerifyToken)
            .from(S::Table)
            .and_where(Expr::col(S::VerifyToken).is_not_null()),
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.verify_token.as_deref())
        .fold(false, |found, stored| found | same(stored, token)))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

// ---------------------------------------------------------------------------------------------
// Messages

/// A message as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: Uuid,
    /// inbound or outbound.
    pub direction: Direction,
    /// WhatsApp's message id.
    pub wamid: String,
    pub record_type: RecordType,
    pub record_id: Uuid,
    /// The timeline activity.
    pub activity_id: Option<Uuid>,
    /// E.164.
    pub phone: String,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
    pub template_parameters: Vec<String>,
    /// The text (free text, or an inbound message).
    pub body: Option<String>,
    pub status: Status,
    /// Why it failed.
    pub error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    /// Who sent it (empty for inbound messages).
    #[schema(value_type = Option<Uuid>)]
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct MessageRow {
    id: Uuid,
    direction: String,
    wamid: String,
    record_type: String,
    record_id: Uuid,
    activity_id: Option<Uuid>,
    phone: String,
    template_name: Option<String>,
    template_language: Option<String>,
    template_parameters: Option<Value>,
    body: Option<String>,
    status: String,
    error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    read_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
    created_by: Option<UserId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        let parameters = r
            .template_parameters
            .map(crate::query::json_column)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        Message {
            id: r.id,
            direction: r.direction.parse().unwrap_or(Direction::Outbound),
            wamid: r.wamid,
            record_type: r.record_type.parse().unwrap_or(RecordType::Lead),
            record_id: r.record_id,
            activity_id: r.activity_id,
            phone: r.phone,
            template_name: r.template_name,
            template_language: r.template_language,
            template_parameters: parameters,
            body: r.body,
            status: Status::parse(&r.status).unwrap_or(Status::Queued),
            error: r.error,
            sent_at: r.sent_at,
            delivered_at: r.delivered_at,
            read_at: r.read_at,
            failed_at: r.failed_at,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const MESSAGE_COLUMNS: [M; 20] = [
    M::Id,
    M::Direction,
    M::Wamid,
    M::RecordType,
    M::RecordId,
    M::ActivityId,
    M::Phone,
    M::TemplateName,
    M::TemplateLanguage,
    M::TemplateParameters,
    M::Body,
    M::Status,
    M::Error,
    M::SentAt,
    M::DeliveredAt,
    M::ReadAt,
    M::FailedAt,
    M::CreatedBy,
    M::CreatedAt,
    M::UpdatedAt,
];

/// The most messages a conversation shows (the latest).
pub const CONVERSATION_LIMIT: u64 = 200;

/// A lead or contact a message is for: who owns it, its WhatsApp number and consent.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub record_type: RecordType,
    pub record_id: Uuid,
    pub owner: UserId,
    /// Its phone, else its mobile, in E.164 (read in the company's default country); `None`
    /// when it has neither or neither is a valid number.
    pub phone: Option<String>,
    pub consent: bool,
}

/// The lead or contact `id` as the caller may read it (another company's, or one outside the
/// caller's scope, is not found).
pub async fn recipient(
    store: &Store,
    actor: &Actor,
    record_type: RecordType,
    id: Uuid,
) -> Result<Recipient> {
    let r = store.read(actor).await?;
    recipient_in(r.conn(), actor, record_type, id).await
}

/// [`recipient`] on a connection already open (a workflow rule's transaction).
pub async fn recipient_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    record_type: RecordType,
    id: Uuid,
) -> Result<Recipient> {
    let country = crate::duplicates::settings_in(conn, actor.company_id)
        .await?
        .country();
    let e164 = |phone: Option<&str>, mobile: Option<&str>| {
        phone
            .or(mobile)
            .and_then(|p| rivet_domain::normalize::phone(p, country))
    };
    match record_type {
        RecordType::Lead => {
            let lead: Lead =
                record::get_in(conn, actor, Action::Read, LeadId::from_uuid(id)).await?;
            Ok(Recipient {
                record_type,
                record_id: id,
                owner: lead.owner_id,
                phone: e164(lead.phone.as_deref(), lead.mobile.as_deref()),
                consent: lead.whatsapp_consent,
            })
        }
        RecordType::Contact => {
            let contact: crate::contacts::Contact =
                record::get_in(conn, actor, Action::Read, ContactId::from_uuid(id)).await?;
            Ok(Recipient {
                record_type,
                record_id: id,
                owner: contact.owner_id,
                phone: e164(contact.phone.as_deref(), contact.mobile.as_deref()),
                consent: contact.whatsapp_consent,
            })
        }
        RecordType::Account | RecordType::Deal => Err(StoreError::NotFound),
    }
}

#[derive(FromQueryResult)]
struct At {
    created_at: DateTime<Utc>,
}

/// When `phone` last wrote to the caller's company (the service window's start).
pub async fn last_inbound(
    store: &Store,
    actor: &Actor,
    phone: &str,
) -> Result<Option<DateTime<Utc>>> {
    let r = store.read(actor).await?;
    let row: Option<At> = fetch_optional(
        r.conn(),
        Query::select()
            .column(M::CreatedAt)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(M::Phone).eq(phone))
            .and_where(Expr::col(M::Direction).eq(Direction::Inbound.as_str()))
            .order_by(M::CreatedAt, Order::Desc)
            .limit(1),
    )
    .await?;
    Ok(row.map(|r| r.created_at))
}

/// The conversation with a lead or contact the caller may read: its latest messages, oldest
/// first.
pub async fn conversation(
    store: &Store,
    actor: &Actor,
    record_type: RecordType,
    id: Uuid,
) -> Result<Vec<Message>> {
    recipient(store, actor, record_type, id).await?;
    let r = store.read(actor).await?;
    let mut rows: Vec<MessageRow> = fetch_all(
        r.conn(),
        Query::select()
            .columns(MESSAGE_COLUMNS)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(M::RecordType).eq(record_type.as_str()))
            .and_where(Expr::col(M::RecordId).eq(id))
            .order_by(M::Id, Order::Desc)
            .limit(CONVERSATION_LIMIT),
    )
    .await?;
    rows.reverse();
    Ok(rows.into_iter().map(Message::from).collect())
}

async fn read_message(tx: &Tx, company: CompanyId, id: Uuid) -> Result<Message> {
    let row: Option<MessageRow> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns(MESSAGE_COLUMNS)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::Id).eq(id)),
    )
    .await?;
    row.map(Message::from).ok_or(StoreError::NotFound)
}

/// A message row to insert.
struct NewMessage<'a> {
    direction: Direction,
    wamid: &'a str,
    recipient: (RecordType, Uuid),
    /// `None` for a claim: its activity is written when the Graph API took it.
    activity: Option<Uuid>,
    phone: &'a str,
    outgoing: Option<&'a Outgoing>,
    body: Option<&'a str>,
    status: Status,
    created_by: Option<UserId>,
    at: DateTime<Utc>,
    /// An automated send's idempotency key.
    key: Option<&'a str>,
}

async fn insert_message(tx: &Tx, company: CompanyId, m: NewMessage<'_>) -> Result<Uuid> {
    let id = new_id();
    insert_message_as(tx, company, id, m, false).await?;
    Ok(id)
}

/// Insert `m` as message `id`; with `claim`, a message already under its key makes it insert
/// nothing (how many rows went in).
async fn insert_message_as(
    tx: &Tx,
    company: CompanyId,
    id: Uuid,
    m: NewMessage<'_>,
    claim: bool,
) -> Result<u64> {
    let (name, language, parameters, body) = match m.outgoing {
        Some(Outgoing::Template {
            name,
            language,
            parameters,
        }) => (
            Some(name.clone()),
            Some(language.clone()),
            Some(json!(parameters)),
            None,
        ),
        Some(Outgoing::Text(text)) => (None, None, None, Some(text.clone())),
        None => (None, None, None, m.body.map(str::to_owned)),
    };
    let mut columns = vec![M::CompanyId];
    columns.extend(MESSAGE_COLUMNS);
    columns.push(M::IdempotencyKey);
    let values: Vec<sea_orm::Value> = vec![
        company.into(),
        id.into(),
        m.direction.as_str().into(),
        m.wamid.into(),
        m.recipient.0.as_str().into(),
        m.recipient.1.into(),
        m.activity.into(),
        m.phone.into(),
        name.into(),
        language.into(),
        parameters.into(),
        body.into(),
        m.status.as_str().into(),
        Option::<String>::None.into(),
        Option::<DateTime<Utc>>::None.into(),
        Option::<DateTime<Utc>>::None.into(),
        Option::<DateTime<Utc>>::None.into(),
        Option::<DateTime<Utc>>::None.into(),
        m.created_by.into(),
        m.at.into(),
        m.at.into(),
        m.key.map(str::to_owned).into(),
    ];
    let mut insert = Query::insert();
    insert
        .into_table(M::Table)
        .columns(columns)
        .values_panic(values.into_iter().map(Expr::val));
    if claim {
        insert.on_conflict(
            OnConflict::columns([M::CompanyId, M::IdempotencyKey])
                .do_nothing()
                .to_owned(),
        );
    }
    exec(tx.conn(), &insert).await
}

/// A WhatsApp activity on the recipient's timeline, through the record layer (audited, with
/// its `activity.logged` event).
async fn log_activity(
    tx: &Tx,
    actor: &Actor,
    to: (RecordType, Uuid),
    direction: Direction,
    body: String,
    owner: Option<UserId>,
    at: DateTime<Utc>,
) -> Result<Uuid> {
    let subject = match direction {
        Direction::Inbound => "WhatsApp message received",
        Direction::Outbound => "WhatsApp message sent",
    };
    let data = ActivityData {
        kind: ActivityKind::Whatsapp,
        direction: Some(direction),
        subject: Some(subject.to_owned()),
        body: Some(body),
        occurred_at: Some(at),
        duration_seconds: None,
        outcome: None,
        owner_id: owner,
        links: vec![Link {
            record_type: to.0,
            record_id: to.1,
        }],
    };
    let activity: crate::activities::Activity = record::create_in(tx, actor, &data).await?;
    Ok(activity.id.uuid())
}

/// Record a message the Graph API took (`wamid`) for `to`, with its outgoing activity, in one
/// transaction.
pub async fn record_sent(
    store: &Store,
    actor: &Actor,
    to: &Recipient,
    phone: &str,
    wamid: &str,
    outgoing: &Outgoing,
) -> Result<Message> {
    let tx = store.write(actor).await?;
    let at = now();
    let target = (to.record_type, to.record_id);
    let activity = log_activity(
        &tx,
        actor,
        target,
        Direction::Outbound,
        outgoing.summary(),
        None,
        at,
    )
    .await?;
    let id = insert_message(
        &tx,
        actor.company_id,
        NewMessage {
            direction: Direction::Outbound,
            wamid,
            recipient: target,
            activity: Some(activity),
            phone,
            outgoing: Some(outgoing),
            body: None,
            status: Status::Queued,
            created_by: Some(actor.user_id),
            at,
            key: None,
        },
    )
    .await?;
    let message = read_message(&tx, actor.company_id, id).await?;
    tx.commit().await?;
    Ok(message)
}

/// What claiming an automated send came to.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The message is the caller's to send now (status `sending`).
    Send(Message),
    /// A message under this key was sent or is being sent: that one, never a second.
    Done(Message),
}

async fn by_key(tx: &Tx, company: CompanyId, key: &str) -> Result<Message> {
    let row: Option<MessageRow> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns(MESSAGE_COLUMNS)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::IdempotencyKey).eq(key)),
    )
    .await?;
    row.map(Message::from).ok_or(StoreError::NotFound)
}

/// Claim the send of `outgoing` to `to` under `key` before the Graph API is called (the
/// workflow rules' and sequences' durable path): a new message `sending`, or the one already
/// under the key — sent or being sent: [`Claim::Done`]; failed: the caller's to try again.
pub async fn claim(
    store: &Store,
    actor: &Actor,
    to: &Recipient,
    phone: &str,
    outgoing: &Outgoing,
    key: &str,
) -> Result<Claim> {
    let tx = store.write(actor).await?;
    let company = actor.company_id;
    let id = new_id();
    // A placeholder, unique like the id, until WhatsApp names the message.
    let pending = format!("pending:{id}");
    let inserted = insert_message_as(
        &tx,
        company,
        id,
        NewMessage {
            direction: Direction::Outbound,
            wamid: &pending,
            recipient: (to.record_type, to.record_id),
            activity: None,
            phone,
            outgoing: Some(outgoing),
            body: None,
            status: Status::Sending,
            created_by: Some(actor.user_id),
            at: now(),
            key: Some(key),
        },
        true,
    )
    .await?;
    let claim = if inserted == 1 {
        Claim::Send(by_key(&tx, company, key).await?)
    } else {
        let again = exec(
            tx.conn(),
            Query::update()
                .table(M::Table)
                .value(M::Status, Status::Sending.as_str())
                .value(M::Error, Option::<String>::None)
                .value(M::FailedAt, Option::<DateTime<Utc>>::None)
                .value(M::UpdatedAt, now())
                .and_where(Expr::col(M::CompanyId).eq(company))
                .and_where(Expr::col(M::IdempotencyKey).eq(key))
                .and_where(Expr::col(M::Status).eq(Status::Failed.as_str())),
        )
        .await?;
        let found = by_key(&tx, company, key).await?;
        if again == 1 {
            Claim::Send(found)
        } else {
            Claim::Done(found)
        }
    };
    tx.commit().await?;
    Ok(claim)
}

/// The Graph API took the claimed `message` (`wamid`): in one transaction, the claim is
/// checked to be still `sending` (else nothing is written: another attempt recorded it),
/// the message gets its id and status `queued`, and its outgoing activity goes on the
/// record's timeline.
pub async fn record_claimed(
    store: &Store,
    actor: &Actor,
    message: &Message,
    wamid: &str,
    outgoing: &Outgoing,
) -> Result<Message> {
    let tx = store.write(actor).await?;
    let company = actor.company_id;
    let at = now();
    let taken = exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(M::Status, Status::Queued.as_str())
            .value(M::Wamid, wamid)
            .value(M::UpdatedAt, at)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::Id).eq(message.id))
            .and_where(Expr::col(M::Status).eq(Status::Sending.as_str())),
    )
    .await?;
    if taken == 1 {
        let activity = log_activity(
            &tx,
            actor,
            (message.record_type, message.record_id),
            Direction::Outbound,
            outgoing.summary(),
            None,
            at,
        )
        .await?;
        exec(
            tx.conn(),
            Query::update()
                .table(M::Table)
                .value(M::ActivityId, activity)
                .and_where(Expr::col(M::CompanyId).eq(company))
                .and_where(Expr::col(M::Id).eq(message.id)),
        )
        .await?;
    }
    let message = read_message(&tx, company, message.id).await?;
    tx.commit().await?;
    Ok(message)
}

/// The Graph API refused or could not be reached: the claimed `message` failed with `error`
/// (a later attempt may claim it again).
pub async fn record_claim_failed(
    store: &Store,
    actor: &Actor,
    message: &Message,
    error: &str,
) -> Result<()> {
    let tx = store.write(actor).await?;
    let at = now();
    exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(M::Status, Status::Failed.as_str())
            .value(M::Error, error)
            .value(M::FailedAt, at)
            .value(M::UpdatedAt, at)
            .and_where(Expr::col(M::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(M::Id).eq(message.id))
            .and_where(Expr::col(M::Status).eq(Status::Sending.as_str())),
    )
    .await?;
    tx.commit().await
}

/// What became of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// On the timeline of this lead or contact.
    Logged {
        record_type: RecordType,
        record_id: Uuid,
    },
    /// On the timeline of a new lead made for the number.
    NewLead(LeadId),
    /// Already taken (a replayed webhook): nothing written.
    Replayed,
}

#[derive(FromQueryResult)]
struct Found {
    id: Uuid,
    owner_id: UserId,
}

async fn wamid_known(tx: &Tx, company: CompanyId, wamid: &str) -> Result<bool> {
    let row: Option<At> = fetch_optional(
        tx.conn(),
        Query::select()
            .column(M::CreatedAt)
            .from(M::Table)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::Wamid).eq(wamid)),
    )
    .await?;
    Ok(row.is_some())
}

/// The contact, else the unconverted lead, whose phone (else mobile) is `phone` in E.164 — the
/// match key duplicate detection keeps — the most recent first.
async fn by_phone(tx: &Tx, company: CompanyId, phone: &str) -> Result<Option<(RecordType, Found)>> {
    let contact: Option<Found> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns([Contacts::Id, Contacts::OwnerId])
            .from(Contacts::Table)
            .and_where(Expr::col(Contacts::CompanyId).eq(company))
            .and_where(Expr::col(sea_orm::sea_query::Alias::new("phone_key")).eq(phone))
            .order_by(Contacts::Id, Order::Desc)
            .limit(1),
    )
    .await?;
    if let Some(c) = contact {
        return Ok(Some((RecordType::Contact, c)));
    }
    let lead: Option<Found> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns([Leads::Id, Leads::OwnerId])
            .from(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(company))
            .and_where(Expr::col(sea_orm::sea_query::Alias::new("phone_key")).eq(phone))
            .and_where(Expr::col(Leads::Status).ne(LeadStatus::Converted.as_str()))
            .order_by(Leads::Id, Order::Desc)
            .limit(1),
    )
    .await?;
    Ok(lead.map(|l| (RecordType::Lead, l)))
}

/// The system acting in `company` for `user` through the WhatsApp webhook.
fn webhook_actor(company: CompanyId, user: UserId) -> Actor {
    Actor::system(company, user)
        .granted(&[
            (Resource::Leads, Action::Read),
            (Resource::Leads, Action::Create),
            (Resource::Contacts, Action::Read),
            (Resource::Activities, Action::Read),
            (Resource::Activities, Action::Create),
            (Resource::Tasks, Action::Create),
        ])
        .via("WhatsApp")
}

/// Take one message a person sent to `company`: an inbound `whatsapp` activity on the lead or
/// contact with their number, or on a new lead (source WhatsApp, owned as the company's
/// assignment rules say, else by `fallback_owner`), and the message; nothing when its `wamid`
/// was taken before.
pub async fn take_inbound(
    store: &Store,
    company: CompanyId,
    fallback_owner: UserId,
    message: &Inbound,
) -> Result<Taken> {
    let base = webhook_actor(company, fallback_owner);
    let tx = store.write(&base).await?;
    if wamid_known(&tx, company, &message.wamid).await? {
        return Ok(Taken::Replayed);
    }
    let (target, owner, taken) = match by_phone(&tx, company, &message.from).await? {
        Some((record_type, found)) => (
            (record_type, found.id),
            found.owner_id,
            Taken::Logged {
                record_type,
                record_id: found.id,
            },
        ),
        None => {
            let input = LeadInput {
                last_name: Some(message.name.clone().unwrap_or_else(|| message.from.clone())),
                phone: Some(message.from.clone()),
                source: Some("WhatsApp".into()),
                ..LeadInput::default()
            };
            let data = input.validate().map_err(StoreError::Invalid)?;
            let lead = intake::create_in::<Lead>(&tx, &base, data).await?.record;
            (
                (RecordType::Lead, lead.id.uuid()),
                lead.owner_id,
                Taken::NewLead(lead.id),
            )
        }
    };
    let actor = webhook_actor(company, owner);
    let activity = log_activity(
        &tx,
        &actor,
        target,
        Direction::Inbound,
        message.body.clone(),
        Some(owner),
        message.at,
    )
    .await?;
    let inserted = insert_message(
        &tx,
        company,
        NewMessage {
            direction: Direction::Inbound,
            wamid: &message.wamid,
            recipient: target,
            activity: Some(activity),
            phone: &message.from,
            outgoing: None,
            body: Some(&message.body),
            status: Status::Received,
            created_by: None,
            at: now(),
            key: None,
        },
    )
    .await;
    match inserted {
        Ok(_) => {
            tx.commit().await?;
            Ok(taken)
        }
        // The same message taken at the same moment by another delivery: its write wins.
        Err(StoreError::Conflict { .. }) => Ok(Taken::Replayed),
        Err(e) => Err(e),
    }
}

/// Move a message `company` sent to the status WhatsApp reports, only forward (a replayed or
/// late status changes nothing). Whether it changed.
pub async fn apply_status(
    store: &Store,
    company: CompanyId,
    update: &StatusUpdate,
) -> Result<bool> {
    let time_column = match update.status {
        Status::Sent => M::SentAt,
        Status::Delivered => M::DeliveredAt,
        Status::Read => M::ReadAt,
        Status::Failed => M::FailedAt,
        Status::Sending | Status::Queued | Status::Received => return Ok(false),
    };
    let actor = webhook_actor(company, UserId::nil());
    let tx = store.write(&actor).await?;
    let mut q = Query::update();
    q.table(M::Table)
        .value(M::Status, update.status.as_str())
        .value(time_column, update.at)
        .value(M::UpdatedAt, now())
        .and_where(Expr::col(M::CompanyId).eq(company))
        .and_where(Expr::col(M::Wamid).eq(update.wamid.as_str()))
        .and_where(Expr::col(M::Direction).eq(Direction::Outbound.as_str()))
        .and_where(Expr::col(M::Status).is_in(update.status.replaces().iter().copied()));
    if let Some(error) = &update.error {
        q.value(M::Error, error.as_str());
    }
    let changed = exec(tx.conn(), &q).await?;
    tx.commit().await?;
    Ok(changed > 0)
}
