//! E-mail tracking in the store (issue 15 §3; the links and parsing are
//! `rivet_domain::tracking`): what happens to a sent message afterwards, each in one
//! transaction with its event on the record the message was sent from.
//!
//! - [`record_open`] / [`record_click`]: the count rises on every hit; the first open and the
//!   first click set their time and emit `email.opened` / `email.clicked` once per message (a
//!   mail client that fetches the pixel on every view, or a reader who clicks three links, is one
//!   engaged person, not three), and for a lead report lead scoring's `email_opened` /
//!   `link_clicked` signal (`crate::scoring::report_signal`) in the same transaction.
//! - [`unsubscribe`]: the recipients' addresses join the company's suppression list (every send
//!   checks it, `crate::email::opted_out`), a contact's e-mail consent goes off with the source
//!   "unsubscribe link" (through the record layer: audited, with its own events), and
//!   `email.unsubscribed` is emitted — once: a second POST changes nothing.
//! - [`thread`] finds the sent message an inbound one refers to; [`record_reply`] logs the reply
//!   as an inbound email activity on the same record (lead scoring's `email_replied` follows
//!   inbound email activities by itself), sets `replied_at` and emits `email.replied` with the
//!   activity's id; a replayed reply (same Message-ID) changes nothing. [`record_bounce`] sets
//!   `bounced_at` and emits `email.bounced`.
//!
//! The callers are public doors (a link in an e-mail, the inbound endpoint): they know the
//! company from a signed token or a signed request, and act as that company's system actor.

use crate::contacts::Contact;
use crate::email::{self, EmailMessage};
use crate::tables::{Activities, EmailMessages as M, EmailSuppressions as S};
use crate::{Result, Store, Tx, exec, fetch_optional, now, record};
use rivet_domain::activities::{ActivityData, ActivityKind, Direction, Link, RecordType};
use rivet_domain::contacts::ContactInput;
use rivet_domain::events::NewEvent;
use rivet_domain::ids::{ActivityId, CompanyId, EmailMessageId, UserId};
use rivet_domain::tracking::Inbound;
use rivet_domain::{Action, Actor, Id, Resource};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, IntoIden, OnConflict, Query};
use serde_json::{Value, json};

/// Where the consent change of an unsubscribe says it came from.
pub const UNSUBSCRIBE_SOURCE: &str = "unsubscribe link";

/// The company's system actor for a tracking write, acting for the message's sender.
fn tracking_actor(company: CompanyId, user: UserId) -> Actor {
    Actor::system(company, user)
        .granted(&[
            (Resource::Leads, Action::Read),
            (Resource::Contacts, Action::Read),
            (Resource::Contacts, Action::Update),
            (Resource::Deals, Action::Read),
            (Resource::Activities, Action::Read),
            (Resource::Activities, Action::Create),
        ])
        .via("E-mail tracking")
}

/// One message of `company`, for a signed link or a signed inbound request.
pub async fn message(
    store: &Store,
    company: CompanyId,
    id: EmailMessageId,
) -> Result<Option<EmailMessage>> {
    match email::get(store, &tracking_actor(company, UserId::nil()), id).await {
        Ok(message) => Ok(Some(message)),
        Err(crate::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn emit(
    tx: &Tx,
    company: CompanyId,
    message: &EmailMessage,
    kind: &str,
    extra: Value,
) -> Result<()> {
    let mut data = json!({
        "message_id": message.id,
        "message": message.message_id,
        "record_type": message.record_type.as_str(),
        "record_id": message.record_id,
        "to": message.to,
        "subject": message.subject,
    });
    if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
        data.extend(extra);
    }
    tx.emit(
        company,
        &NewEvent {
            event_type: format!("email.{kind}"),
            record_type: message.record_type.as_str(),
            data,
        },
        &message.record_id.to_string(),
        None,
    )
    .await?;
    Ok(())
}

/// Set `column` to now where it is still empty: whether this call was the first.
async fn first(tx: &Tx, company: CompanyId, id: EmailMessageId, column: M) -> Result<bool> {
    let column = column.into_iden();
    let set = exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(column.clone(), now())
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::Id).eq(id))
            .and_where(Expr::col(column).is_null()),
    )
    .await?;
    Ok(set == 1)
}

async fn count(tx: &Tx, company: CompanyId, id: EmailMessageId, column: M) -> Result<()> {
    let column = column.into_iden();
    exec(
        tx.conn(),
        Query::update()
            .table(M::Table)
            .value(column.clone(), Expr::col(column).add(1))
            .and_where(Expr::col(M::CompanyId).eq(company))
            .and_where(Expr::col(M::Id).eq(id)),
    )
    .await?;
    Ok(())
}

/// A hit on a message's pixel (`Open`) or one of its links (`Click`, with the link's address).
async fn record_hit(
    store: &Store,
    company: CompanyId,
    message: &EmailMessage,
    (time, counter, kind, signal): (M, M, &str, &str),
    detail: Option<&str>,
) -> Result<()> {
    let actor = tracking_actor(company, message.created_by);
    let tx = store.write(&actor).await?;
    count(&tx, company, message.id, counter).await?;
    if first(&tx, company, message.id, time).await? {
        emit(&tx, company, message, kind, json!({ "url": detail })).await?;
        if message.record_type == RecordType::Lead {
            crate::scoring::report_signal(
                &tx,
                company,
                Id::from_uuid(message.record_id),
                signal,
                None,
                detail.or(Some(message.subject.as_str())),
            )
            .await?;
        }
    }
    tx.commit().await
}

/// An open of `message` (its pixel fetched): see the module's comment.
pub async fn record_open(store: &Store, company: CompanyId, message: &EmailMessage) -> Result<()> {
    let what = (M::OpenedAt, M::OpenCount, "opened", "email_opened");
    record_hit(store, company, message, what, None).await
}

/// A click on `url`, one of `message`'s links: see the module's comment.
pub async fn record_click(
    store: &Store,
    company: CompanyId,
    message: &EmailMessage,
    url: &str,
) -> Result<()> {
    let what = (M::ClickedAt, M::ClickCount, "clicked", "link_clicked");
    record_hit(store, company, message, what, Some(url)).await
}

/// `message`'s recipients unsubscribe (its link's page, or the one-click POST): see the
/// module's comment. Whether this was the first time.
pub async fn unsubscribe(
    store: &Store,
    company: CompanyId,
    message: &EmailMessage,
) -> Result<bool> {
    let actor = tracking_actor(company, message.created_by);
    let tx = store.write(&actor).await?;
    if !first(&tx, company, message.id, M::UnsubscribedAt).await? {
        return Ok(false);
    }
    for address in &message.to {
        exec(
            tx.conn(),
            Query::insert()
                .into_table(S::Table)
                .columns([
                    S::CompanyId,
                    S::Email,
                    S::Source,
                    S::MessageId,
                    S::CreatedAt,
                ])
                .values_panic([
                    company.into(),
                    address.trim().to_lowercase().into(),
                    UNSUBSCRIBE_SOURCE.into(),
                    message.id.into(),
                    now().into(),
                ])
                .on_conflict(
                    OnConflict::columns([S::CompanyId, S::Email])
                        .do_nothing()
                        .to_owned(),
                ),
        )
        .await?;
    }
    tx.audit_in(
        company,
        "email_suppressions",
        message.id,
        "create",
        None,
        Some(&json!({ "addresses": message.to, "source": UNSUBSCRIBE_SOURCE })),
    )
    .await?;
    if message.record_type == RecordType::Contact {
        let before: Contact = record::get_in(
            tx.conn(),
            &actor,
            Action::Update,
            Id::from_uuid(message.record_id),
        )
        .await?;
        if before.email_consent || before.email_consent_at.is_none() {
            let data = record::merged(
                &before,
                |map| {
                    map.insert("email_consent".into(), json!(false));
                    map.insert("email_consent_source".into(), json!(UNSUBSCRIBE_SOURCE));
                },
                ContactInput::validate,
            )?;
            record::update_in(&tx, &actor, &before, &data).await?;
        }
    }
    emit(&tx, company, message, "unsubscribed", json!({})).await?;
    tx.commit().await?;
    Ok(true)
}

#[derive(FromQueryResult)]
struct IdRow {
    id: EmailMessageId,
}

/// The sent message of `company` that an inbound message refers to: the first of `references`
/// (nearest first) that is the `Message-ID` of one.
pub async fn thread(
    store: &Store,
    company: CompanyId,
    references: &[String],
) -> Result<Option<EmailMessage>> {
    let actor = tracking_actor(company, UserId::nil());
    for reference in references.iter().take(50) {
        let r = store.read(&actor).await?;
        let row: Option<IdRow> = fetch_optional(
            r.conn(),
            Query::select()
                .column(M::Id)
                .from(M::Table)
                .and_where(Expr::col(M::CompanyId).eq(company))
                .and_where(Expr::col(M::MessageId).eq(reference.as_str()))
                .limit(1),
        )
        .await?;
        drop(r);
        if let Some(row) = row {
            return message(store, company, row.id).await;
        }
    }
    Ok(None)
}

/// Log `inbound`, a reply to `message`, as an inbound email activity on the message's record
/// (see the module's comment): the activity, or `None` for a reply taken before.
pub async fn record_reply(
    store: &Store,
    company: CompanyId,
    message: &EmailMessage,
    inbound: &Inbound,
) -> Result<Option<ActivityId>> {
    let actor = tracking_actor(company, message.created_by);
    let tx = store.write(&actor).await?;
    if let Some(id) = &inbound.message_id {
        let known: Option<IdRow> = fetch_optional(
            tx.conn(),
            Query::select()
                .expr_as(Expr::col(Activities::Id), "id")
                .from(Activities::Table)
                .and_where(Expr::col(Activities::CompanyId).eq(company))
                .and_where(Expr::col(Activities::MessageId).eq(id.as_str()))
                .limit(1),
        )
        .await?;
        if known.is_some() {
            return Ok(None);
        }
    }
    let subject = inbound
        .subject
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("Re: {}", message.subject));
    let body: String = inbound
        .text
        .chars()
        .take(rivet_domain::email::MAX_BODY)
        .collect();
    let data = ActivityData {
        kind: ActivityKind::Email,
        direction: Some(Direction::Inbound),
        subject: Some(
            subject
                .chars()
                .take(rivet_domain::email::MAX_SUBJECT)
                .collect(),
        ),
        body: Some(body),
        occurred_at: None,
        duration_seconds: None,
        outcome: None,
        owner_id: None,
        links: vec![Link {
            record_type: message.record_type,
            record_id: message.record_id,
        }],
    };
    let activity = record::create_in::<crate::activities::Activity>(&tx, &actor, &data).await?;
    if let Some(id) = &inbound.message_id {
        email::stamp_message_id(&tx, company, activity.id, id).await?;
    }
    first(&tx, company, message.id, M::RepliedAt).await?;
    emit(
        &tx,
        company,
        message,
        "replied",
        json!({ "activity_id": activity.id, "from": inbound.from }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(activity.id))
}

/// `message` bounced (see the module's comment): whether this was the first report of it.
pub async fn record_bounce(
    store: &Store,
    company: CompanyId,
    message: &EmailMessage,
    inbound: &Inbound,
) -> Result<bool> {
    let actor = tracking_actor(company, message.created_by);
    let tx = store.write(&actor).await?;
    if !first(&tx, company, message.id, M::BouncedAt).await? {
        return Ok(false);
    }
    emit(
        &tx,
        company,
        message,
        "bounced",
        json!({ "report": inbound.message_id, "from": inbound.from }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
