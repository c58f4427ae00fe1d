//! E-mail (issue 15 §1): a company's settings document, the messages sent to people from a
//! record, the daily count the sending limit reads, and password reset links. Sending itself
//! (SMTP) is the server's `mail` module; this module keeps what it needs to send exactly once:
//!
//! - [`claim`] writes the message as `sending` under its idempotency key (unique per company)
//!   and counts it against the company's day ([`Quota`]), in one transaction. A second claim
//!   under the same key gets the first message back, not a new one; a failed one is claimed
//!   again (its attempt counted). A message still `sending` is the first claimer's — unless
//!   the caller says ([`InFlight::TakeOver`]) that it holds the lease the first claimer lost (a
//!   sequence step, a job), so that process is gone. Then it depends on how far it got:
//!   - not handed over: it died before the server had the message's end; the message is sent
//!     again (same `Message-ID`);
//!   - handed over ([`mark_handed`], written between the server's `354` to `DATA` and the
//!     content): the server may have taken it; it is counted sent ([`Claim::Handed`],
//!     [`record_sent`]), never sent twice. The one case this loses a message is a kill in the
//!     instant between that write's commit and the content leaving the process.
//! - After the server's answer, [`record_sent`] writes the message `sent` and its outgoing
//!   email activity (linked to the record, carrying the `Message-ID`), linked from the message,
//!   in one transaction, so the timeline shows a send once. [`log_sent`] logs a message sent
//!   without its activity (kept that way by earlier versions): safe to run again.
//! - [`take_daily_slot`] counts a send that is not claimed (a test message, a password reset);
//!   [`give_back_slot`] undoes a count when the send failed.
//!
//! The secrets of the settings are sealed before they reach this module; the audit trail
//! keeps them redacted ([`Document::audited`]).

use crate::documents::{self, Document};
use crate::record;
use crate::sessions::{hash_token, random_token};
use crate::tables::{
    Activities, Contacts, EmailDailyCounts, EmailMessages as M, EmailSuppressions,
    PasswordResets as P,
};
use crate::{Result, Store, StoreError, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Duration, Utc};
use rivet_domain::activities::{ActivityData, ActivityKind, Direction, Link, RecordType};
use rivet_domain::email::{EmailSettings, EmailStatus};
use rivet_domain::ids::{ActivityId, CompanyId, EmailMessageId, UserId};
use rivet_domain::{Actor, FieldErrors};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;
use uuid::Uuid;

impl Document for EmailSettings {
    type Input = EmailSettings;
    const TABLE: &'static str = "email_settings";
    const NAME: &'static str = "email";

    fn validate(input: EmailSettings) -> std::result::Result<Self, FieldErrors> {
        input.check()
    }

    fn to_input(&self) -> EmailSettings {
        self.clone()
    }

    fn audited(&self) -> EmailSettings {
        self.redacted()
    }
}

/// `company`'s e-mail settings, for a sending no member asked for (a password reset): read
/// past the row security, for that one company.
pub async fn settings_of(store: &Store, company: CompanyId) -> Result<EmailSettings> {
    documents::read(store.system(), company).await
}

/// Count one send against `company`'s `day` (its time zone's date): `false`, and nothing
/// counted, when `limit` sends were already counted that day. Run past the row security
/// because a sending may have no member behind it (a password reset); filtered by `company`.
pub async fn take_daily_slot(
    store: &Store,
    company: CompanyId,
    day: &str,
    limit: i64,
) -> Result<bool> {
    let tx = store.write_system().await?;
    let taken = take_slot_in(&tx, company, day, limit).await?;
    tx.commit().await?;
    Ok(taken)
}

/// A company's daily sending limit for a [`claim`]: its time zone's `day`, the `limit`, and
/// what a message over it is recorded failed with.
#[derive(Debug, Clone, Copy)]
pub struct Quota<'a> {
    pub day: &'a str,
    pub limit: i64,
    pub refused: &'a str,
}

/// [`take_daily_slot`] inside `tx`.
async fn take_slot_in(tx: &crate::Tx, company: CompanyId, day: &str, limit: i64) -> Result<bool> {
    exec(
        tx.conn(),
        Query::insert()
            .into_table(EmailDailyCounts::Table)
            .columns([
                EmailDailyCounts::CompanyId,
                EmailDailyCounts::Day,
                EmailDailyCounts::Sent,
            ])
            .values_panic([company.into(), day.into(), 0.into()])
            .on_conflict(
                OnConflict::columns([EmailDailyCounts::CompanyId, EmailDailyCounts::Day])
                    .do_nothing()
                    .to_owned(),
            ),
    )
    .await?;
    let taken = exec(
        tx.conn(),
        Query::update()
            .table(EmailDailyCounts::Table)
            .value(
                EmailDailyCounts::Sent,
                Expr::col(EmailDailyCounts::Sent).add(1),
            )
            .and_where(Expr::col(EmailDailyCounts::CompanyId).eq(company))
            .and_where(Expr::col(EmailDailyCounts::Day).eq(day))
            .and_where(Expr::col(EmailDailyCounts::Sent).lt(limit)),
    )
    .await?;
    Ok(taken == 1)
}

/// Undo [`take_daily_slot`] for a send that did not go.
pub async fn give_back_slot(store: &Store, company: CompanyId, day: &str) -> Result<()> {
    let tx = store.write_system().await?;
    exec(
        tx.conn(),
        Query::update()
            .table(EmailDailyCounts::Table)
            .value(
                EmailDailyCounts::Sent,
                Expr::col(EmailDailyCounts::Sent).sub(1),
            )
            .and_where(Expr::col(EmailDailyCounts::CompanyId).eq(company))
            .and_where(Expr::col(EmailDailyCounts::Day).eq(day))
            .and_where(Expr::col(EmailDailyCounts::Sent).gt(0)),
    )
    .await?;
    tx.commit().await
}

/// A message as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EmailMessage {
    #[schema(value_type = uuid::Uuid)]
    pub id: EmailMessageId,
    /// The record it was sent from and its id.
    pub record_type: RecordType,
    pub record_id: Uuid,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The `Message-ID` header Rivet gave it.
    pub message_id: String,
    pub status: EmailStatus,
    /// Why it failed, in plain words.
    pub error: Option<String>,
    /// The SMTP server's reply to the send that went through.
    pub reply: Option<String>,
    pub attempts: i32,
    /// The outgoing email activity on the record's timeline.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub activity_id: Option<ActivityId>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// What happened after it left (`crate::tracking`): the first open and how many (opens are
    /// counted only when the company tracks them; a mail client that blocks images never
    /// opens), the first click on one of its links and how many, the first reply threaded onto
    /// it, its bounce, and when its recipient unsubscribed through it.
    #[serde(flatten)]
    pub tracking: Tracking,
}

/// A message's tracking: see [`EmailMessage::tracking`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct Tracking {
    pub opened_at: Option<DateTime<Utc>>,
    pub open_count: i32,
    pub clicked_at: Option<DateTime<Utc>>,
    pub click_count: i32,
    pub replied_at: Option<DateTime<Utc>>,
    pub bounced_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: EmailMessageId,
    record_type: String,
    record_id: Uuid,
    to_addrs: String,
    cc_addrs: String,
    subject: String,
    body_text: String,
    body_html: Option<String>,
    message_id: String,
    status: String,
    error: Option<String>,
    reply: Option<String>,
    attempts: i32,
    activity_id: Option<ActivityId>,
    created_by: UserId,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    #[sea_orm(nested)]
    tracking: Tracking,
}

fn addresses(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

impl From<Row> for EmailMessage {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            record_type: r.record_type.parse().unwrap_or(RecordType::Lead),
            record_id: r.record_id,
            to: addresses(&r.to_addrs),
            cc: addresses(&r.cc_addrs),
            subject: r.subject,
            text: r.body_text,
            html: r.body_html,
            message_id: r.message_id,
            status: r.status.parse().unwrap_or(EmailStatus::Failed),
            error: r.error,
            reply: r.reply,
            attempts: r.attempts,
            activity_id: r.activity_id,
            created_by: r.created_by,
            created_at: r.created_at,
            sent_at: r.sent_at,
            tracking: r.tracking,
        }
    }
}

fn select(company: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            M::Id,
            M::RecordType,
            M::RecordId,
            M::ToAddrs,
            M::CcAddrs,
            M::Subject,
            M::BodyText,
            M::BodyHtml,
            M::MessageId,
            M::Status,
            M::Error,
            M::Reply,
            M::Attempts,
            M::ActivityId,
            M::CreatedBy,
            M::CreatedAt,
            M::SentAt,
            M::OpenedAt,
            M::OpenCount,
            M::ClickedAt,
            M::ClickCount,
            M::RepliedAt,
            M::BouncedAt,
            M::UnsubscribedAt,
        ])
        .from(M::Table)
        .and_where(Expr::col(M::CompanyId).eq(company))
        .to_owned()
}

/// A message to claim: where from, to whom, what, and its key.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub record: Link,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The `Message-ID` it will carry.
    pub message_id: String,
    /// One send per key per company: a retry of the same send uses the same key.
    pub idempotency_key: String,
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// The message is the caller's to send now, counted against the day.
    Send(EmailMessage),
    /// A message under this key is already sent or being sent: that one, not a second.
    Done(EmailMessage),
    /// Still `sending`, handed to the server ([`mark_handed`]) by a process that lost its
    /// lease: the server may have taken it, so it is not sent again but counted sent
    /// ([`record_sent`]). Only for [`InFlight::TakeOver`].
    Handed(EmailMessage),
    /// The company's daily limit is reached: the message is recorded failed with
    /// [`Quota::refused`].
    OverLimit(EmailMessage),
}

async fn by_key<C: sea_orm::ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    key: &str,
) -> Result<Option<EmailMessage>> {
    let row: Option<Row> = fetch_optional(
        conn,
        select(company).and_where(Expr::col(M::IdempotencyKey).eq(key)),
    )
    .await?;
    Ok(row.map(Into::into))
}

/// What a [`claim`] does with a message under the key that is still `sending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    /// Leave it to its claimer: a request sending while the user waits (a second request
    /// with the key gets the first one's message).
    Leave,
    /// Take it over: the caller holds a lease (a sequence step's, a job's) that the process
    /// which claimed the message lost, so that process is gone.
    TakeOver,
}

/// Claim `new` for sending and count it against `quota`, in one transaction (see the
/// module's comment).
pub async fn claim(
    store: &Store,
    actor: &Actor,
    new: &NewMessage,
    in_flight: InFlight,
    quota: Quota<'_>,
) -> Result<Claim> {
    let tx = store.write(actor).await?;
    let company = actor.company_id;
    let id = EmailMessageId::new();
    let inserted = exec(
        tx.conn(),
        Query::insert()
            .into_table(M::Table)
            .columns([
                M::CompanyId,
                M::Id,
                M::RecordType,
                M::RecordId,
                M::ToAddrs,
                M::CcAddrs,
                M::Subject,
                M::BodyText,
                M::BodyHtml,
                M::MessageId,
                M::Status,
                M::Attempts,
                M::IdempotencyKey,
                M::CreatedBy,
                M::CreatedAt,
            ])
            .values_panic([
                company.into(),
                id.into(),
                new.record.record_type.as_str().into(),
                new.record.record_id.into(),
                new.to.join(", ").into(),
                new.cc.join(", ").into(),
                new.subject.clone().into(),
                new.text.clone().into(),
                new.html.clone().into(),
                new.message_id.clone().into(),
                EmailStatus::Sending.as_str().into(),
                1.into(),
                new.idempotency_key.clone().into(),
                actor.user_id.into(),
                now().into(),
            ])
            .on_conflict(
                OnConflict::columns([M::CompanyId, M::IdempotencyKey])
                    .do_nothing()
                    .to_owned(),
            ),
    )
    .await?;
    let again = inserted == 1 || {
        // Sent or being sent: that one. Failed (or left sending, not handed over, by a process
        // that lost its lease, when the caller holds it now): ours to try again, the attempt
        // counted.
        let mut retried = Expr::col(M::Status).eq(EmailStatus::Failed.as_str());
        if in_flight == InFlight::TakeOver {
            retried = retried.or(Expr::col(M::Status)
                .eq(EmailStatus::Sending.as_str())
                .and(Expr::col(M::HandedAt).is_null()));
        }
        exec(
            tx.conn(),
            Query::update()
                .table(M::Table)
                .value(M::Status, EmailStatus::Sending.as_str())
                .value(M::Attempts, Expr::col(M::Attempts).add(1))
                .value(M::Error, Option::<String>::None)
                .value(M::HandedAt, Option::<DateTime<Utc>>::None)
                .and_where(Expr::col(M::CompanyId).eq(company))
                .and_where(Expr::col(M::IdempotencyKey).eq(new.idempotency_key.as_str()))
                .and_where(retried),
        )
        .await?
            == 1
    };
    let found = by_key(tx.conn(), company, &new.idempotency_key)
        .await?
        .ok_or(StoreError::NotFound)?;
    let claim = if !again {
        if in_flight == InFlight::TakeOver && found.status == EmailStatus::Sending {
            Claim::Handed(found)
        } else {
            Claim::Done(found)
        }
    } else if take_slot_in(&tx, company, quota.day, quota.limit).await? {
        Claim::Send(found)
    } else {
        exec(
            tx.conn(),
            Query::update()
                .table(M::Table)
                .value(M::Status, EmailStatus::Failed.as_str())
                .value(M::Error, quota.refused)
                .and_where(Expr::col(M::CompanyId).eq(company))
                .and_where(Expr::col(M::Id).eq(found.id)),
        )
        .await?;
        Claim::OverLimit(one(&tx, company, found.id).await?)
    };
    tx.commit().await?;
    Ok(claim)
}

/// Keep on an email activity the `Message-ID` of the message it logs (threading and replays
/// find it by that).
pub(crate) async fn stamp_message_id(
    tx: &crate::Tx,
    company: CompanyId,
    activity: ActivityId,
    message_id: &str,
) -> Result<()> {
    exec(
        tx.conn(),
        Query::update()
            .table(Activities::Table)
            .value(Activities::MessageId, message_id)
            .and_where(Expr::col(Activities::CompanyId).eq(company))
            .and_where(Expr::col(Activities::Id).eq(activity)),
    )
    .await?;
    Ok(())
}

/// `message`'s row while it is still its claimer's: `sending`, under the claim's attempt (a
/// sender that took it over counted one more).
fn still_ours(company: CompanyId, message: &EmailMessage) -> sea_orm::sea_query::SimpleExpr {
    Expr::col(M::CompanyId)
        .eq(company)
        .and(Expr::col(M::Id).eq(message.id))
        .and(Expr::col(M::Status).eq(EmailStatus::Sending.as_str()))
        .and(Expr::col(M::Attempts).eq(message.attempts))
}

/// Record that `message`'s content is being handed to the server (`handed_at`), between the
/// server's `354` and the content: one row in a transaction of its own (on SQLite ahead of
/// the writers waiting, since the server waits for it). From now on a process that dies
/// leaves a message that may have gone: whoever takes it over counts it sent ([`Claim::Handed`]).
/// `false` when the message is no longer this sender's (taken over meanwhile): not to be sent.
pub async fn mark_handed(store: &Store, actor: &Actor, message: &EmailMessage) -> Result<bool> {
    let tx = store.write_urgent(actor).await?;
    let updated = exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(M::HandedAt, now())
            .and_where(still_ours(actor.company_id, message)),
    )
    .await?;
    tx.commit().await?;
    Ok(updated == 1)
}

/// More to write in the transaction that records a message sent, given the message's id: a
/// sequence step's move (`crate::sequences::advance_in`), so a step costs one write less.
pub type AlsoInTx<'a> = Box<
    dyn for<'t> FnOnce(
            &'t crate::Tx,
            EmailMessageId,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<()>> + Send + 't>,
        > + Send
        + 'a,
>;

/// Record `message` `sent` with the server's `reply` and log it on its record's timeline, in
/// one transaction ([`log_sent`]'s activity) with `also`: after the server's answer, or for a
/// message a dead process handed over ([`Claim::Handed`]). A message no longer `sending` is
/// left as it is (and logged if it is sent and not yet logged); `also` is written either way.
pub async fn record_sent(
    store: &Store,
    actor: &Actor,
    message: &EmailMessage,
    reply: &str,
    also: Option<AlsoInTx<'_>>,
) -> Result<EmailMessage> {
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(M::Status, EmailStatus::Sent.as_str())
            .value(M::SentAt, now())
            .value(M::Reply, reply)
            .and_where(Expr::col(M::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(M::Id).eq(message.id))
            .and_where(Expr::col(M::Status).eq(EmailStatus::Sending.as_str())),
    )
    .await?;
    let tx = if log_in(&tx, actor, message).await? {
        tx
    } else {
        // Logged meanwhile by another process: theirs stays (this transaction is dropped).
        drop(tx);
        store.write(actor).await?
    };
    if let Some(also) = also {
        also(&tx, message.id).await?;
    }
    let row = one(&tx, actor.company_id, message.id).await?;
    tx.commit().await?;
    Ok(row)
}

/// `id` of `company` read inside `tx`.
async fn one(tx: &crate::Tx, company: CompanyId, id: EmailMessageId) -> Result<EmailMessage> {
    let row: Option<Row> = fetch_optional(
        tx.conn(),
        select(company).and_where(Expr::col(M::Id).eq(id)),
    )
    .await?;
    row.map(Into::into).ok_or(StoreError::NotFound)
}

/// Log `message`, sent, on its record's timeline: an outgoing email activity carrying its
/// `Message-ID`, linked from the message, in one transaction; the message as it is now. A
/// message already logged is left as it is, so this is safe to run again (a message sent
/// before its activity was kept in the same transaction, by an earlier version, is logged
/// by whoever claims its key next).
pub async fn log_sent(
    store: &Store,
    actor: &Actor,
    message: &EmailMessage,
) -> Result<EmailMessage> {
    if message.activity_id.is_some() {
        return get(store, actor, message.id).await;
    }
    let tx = store.write(actor).await?;
    if !log_in(&tx, actor, message).await? {
        return get(store, actor, message.id).await;
    }
    let row = one(&tx, actor.company_id, message.id).await?;
    tx.commit().await?;
    Ok(row)
}

/// [`log_sent`] inside `tx`: the activity only when the message is `sent` and not yet logged
/// (otherwise nothing is written). `false` when another process logged it while this one
/// wrote its activity: then `tx` must be dropped, not committed.
async fn log_in(tx: &crate::Tx, actor: &Actor, message: &EmailMessage) -> Result<bool> {
    let company = actor.company_id;
    let current = one(tx, company, message.id).await?;
    if current.status != EmailStatus::Sent || current.activity_id.is_some() {
        return Ok(true);
    }
    let data = ActivityData {
        kind: ActivityKind::Email,
        direction: Some(Direction::Outbound),
        subject: Some(message.subject.clone()),
        body: Some(message.text.clone()),
        occurred_at: None,
        duration_seconds: None,
        outcome: None,
        owner_id: None,
        links: vec![Link {
            record_type: message.record_type,
            record_id: message.record_id,
        }],
    };
    let activity = record::create_in::<crate::activities::Activity>(tx, actor, &data).await?;
    stamp_message_id(tx, company, activity.id, &message.message_id).await?;
    let linked = exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(M::ActivityId, activity.id)
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::Id).eq(message.id))
            .and_where(Expr::col(M::ActivityId).is_null()),
    )
    .await?;
    Ok(linked == 1)
}

/// Record `message` as failed, with why in plain words (left alone once another sender took it
/// over: its claim counted another attempt).
pub async fn record_failed(
    store: &Store,
    actor: &Actor,
    message: &EmailMessage,
    error: &str,
) -> Result<EmailMessage> {
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(M::Status, EmailStatus::Failed.as_str())
            .value(M::Error, error)
            .and_where(still_ours(actor.company_id, message)),
    )
    .await?;
    tx.commit().await?;
    get(store, actor, message.id).await
}

/// One message of the caller's company.
pub async fn get(store: &Store, actor: &Actor, id: EmailMessageId) -> Result<EmailMessage> {
    let r = store.read(actor).await?;
    let row: Option<Row> = fetch_optional(
        r.conn(),
        select(actor.company_id).and_where(Expr::col(M::Id).eq(id)),
    )
    .await?;
    row.map(Into::into).ok_or(StoreError::NotFound)
}

/// The messages sent from one record, newest first (at most 200); the caller has checked that
/// the actor may read the record.
pub async fn for_record(store: &Store, actor: &Actor, record: Uuid) -> Result<Vec<EmailMessage>> {
    let r = store.read(actor).await?;
    let rows: Vec<Row> = fetch_all(
        r.conn(),
        select(actor.company_id)
            .and_where(Expr::col(M::RecordId).eq(record))
            .order_by(M::Id, Order::Desc)
            .limit(200),
    )
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

#[derive(Debug, FromQueryResult)]
struct AddressRow {
    email: String,
}

/// Which of `addresses` (lower-case) belong to a contact of the caller's company who withdrew
/// their e-mail consent (consent off, with the time it changed) or unsubscribed through a
/// message's link (`crate::tracking`, leads included): a person who opted out is not written
/// to from any record, whoever can see their contact.
pub async fn opted_out(store: &Store, actor: &Actor, addresses: &[String]) -> Result<Vec<String>> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let r = store.read(actor).await?;
    opted_out_in(r.conn(), actor.company_id, addresses).await
}

/// [`opted_out`] on `conn`, in `company`.
pub async fn opted_out_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    addresses: &[String],
) -> Result<Vec<String>> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<AddressRow> = fetch_all(
        conn,
        Query::select()
            .column(Contacts::Email)
            .from(Contacts::Table)
            .and_where(Expr::col(Contacts::CompanyId).eq(company))
            .and_where(Expr::col(Contacts::Email).is_in(addresses.iter().cloned()))
            .and_where(Expr::col(Contacts::EmailConsent).eq(false))
            .and_where(Expr::col(Contacts::EmailConsentAt).is_not_null()),
    )
    .await?;
    let suppressed: Vec<AddressRow> = fetch_all(
        conn,
        Query::select()
            .column(EmailSuppressions::Email)
            .from(EmailSuppressions::Table)
            .and_where(Expr::col(EmailSuppressions::CompanyId).eq(company))
            .and_where(Expr::col(EmailSuppressions::Email).is_in(addresses.iter().cloned())),
    )
    .await?;
    let mut out: Vec<String> = rows
        .into_iter()
        .chain(suppressed)
        .map(|r| r.email)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// How long a password reset link is good for.
pub const RESET_VALID: Duration = Duration::hours(1);

/// A new password reset link's token for `user`. Only the token's hash is stored; the token
/// is for the e-mail.
pub async fn new_password_reset(store: &Store, user: UserId) -> Result<String> {
    let token = random_token();
    let tx = store.write_system().await?;
    let at = now();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(P::Table)
            .columns([P::Id, P::UserId, P::TokenHash, P::ExpiresAt, P::CreatedAt])
            .values_panic([
                Uuid::now_v7().into(),
                user.into(),
                hash_token(&token).into(),
                (at + RESET_VALID).into(),
                at.into(),
            ]),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

#[derive(Debug, FromQueryResult)]
struct ResetRow {
    id: Uuid,
    user_id: UserId,
}

/// Whether `token` is a password reset link still good to use.
pub async fn password_reset_open(store: &Store, token: &str) -> Result<bool> {
    let row: Option<ResetRow> = fetch_optional(store.system(), &open_reset(token)).await?;
    Ok(row.is_some())
}

fn open_reset(token: &str) -> SelectStatement {
    Query::select()
        .columns([P::Id, P::UserId])
        .from(P::Table)
        .and_where(Expr::col(P::TokenHash).eq(hash_token(token)))
        .and_where(Expr::col(P::UsedAt).is_null())
        .and_where(Expr::col(P::ExpiresAt).gt(now()))
        .to_owned()
}

/// Use a password reset link: set the user's password (hashed by the caller), mark the link
/// used, and end every session of the user, in one transaction. `NotFound` when the link is
/// unknown, used or expired.
pub async fn reset_password(store: &Store, token: &str, password_hash: &str) -> Result<UserId> {
    let tx = store.write_system().await?;
    let row: Option<ResetRow> = fetch_optional(tx.conn(), &open_reset(token)).await?;
    let row = row.ok_or(StoreError::NotFound)?;
    let used = exec(
        tx.conn(),
        Query::update()
            .table(P::Table)
            .value(P::UsedAt, now())
            .and_where(Expr::col(P::Id).eq(row.id))
            .and_where(Expr::col(P::UsedAt).is_null()),
    )
    .await?;
    if used != 1 {
        return Err(StoreError::NotFound);
    }
    crate::users::set_password_and_end_sessions(&tx, row.user_id, password_hash).await?;
    tx.commit().await?;
    Ok(row.user_id)
}
