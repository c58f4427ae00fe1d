//! IMAP polling in the store (issue 15 §3; the settings are the `imap` part of the e-mail
//! settings document, `rivet_domain::imap`; the polling is the server's `imap` module): where
//! each company's mailbox was read up to, and how its last poll went (`imap_polls`).
//!
//! - [`claim`] leases the company's mailbox to one poll at a time (the scheduled job and a
//!   "poll now" may meet) and says where to start: the folder's UIDVALIDITY and the highest
//!   UID taken.
//! - [`advance`] stores a message's UID once the message has been taken, each in its own
//!   transaction, so a poll that dies reads again only the message it was on — and taking a
//!   message twice changes nothing (the inbound path knows a reply by its Message-ID and a
//!   bounce by the message it reports).
//! - [`finish`] records the poll's end (its time, what it took or why it failed) and frees the
//!   lease.
//! - [`due`] lists the companies whose enabled mailbox's interval has passed: the one read
//!   across companies, for the scheduled job.
//!
//! Every other call acts as the company's system actor, so row-level security binds it to
//! that company.

use crate::documents;
use crate::tables::ImapPolls as P;
use crate::{Result, Store, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Duration, Utc};
use rivet_domain::Actor;
use rivet_domain::email::EmailSettings;
use rivet_domain::ids::{CompanyId, UserId};
use rivet_domain::imap::ImapPoll;
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

fn actor(company: CompanyId) -> Actor {
    Actor::system(company, UserId::nil()).via("IMAP polling")
}

#[derive(Debug, FromQueryResult)]
struct Row {
    uid_validity: Option<i64>,
    last_uid: i64,
    polled_at: Option<DateTime<Utc>>,
    error: Option<String>,
    taken: i64,
}

async fn row<C: sea_orm::ConnectionTrait>(conn: &C, company: CompanyId) -> Result<Option<Row>> {
    fetch_optional(
        conn,
        Query::select()
            .columns([P::UidValidity, P::LastUid, P::PolledAt, P::Error, P::Taken])
            .from(P::Table)
            .and_where(Expr::col(P::CompanyId).eq(company)),
    )
    .await
}

/// How `company`'s last poll went (never polled: all empty).
pub async fn last_poll(store: &Store, company: CompanyId) -> Result<ImapPoll> {
    let r = store.read(&actor(company)).await?;
    Ok(row(r.conn(), company)
        .await?
        .map(|row| ImapPoll {
            polled_at: row.polled_at,
            error: row.error,
            taken: row.taken,
            last_uid: row.last_uid,
        })
        .unwrap_or_default())
}

/// Where a poll starts: the UIDVALIDITY of the folder when `last_uid` was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub uid_validity: Option<i64>,
    pub last_uid: i64,
}

/// Lease `company`'s mailbox to this poll until `lease` from now: where to start, or `None`
/// when another poll holds it.
pub async fn claim(store: &Store, company: CompanyId, lease: Duration) -> Result<Option<Position>> {
    let tx = store.write(&actor(company)).await?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(P::Table)
            .columns([P::CompanyId, P::LastUid, P::Taken])
            .values_panic([company.into(), 0_i64.into(), 0_i64.into()])
            .on_conflict(OnConflict::column(P::CompanyId).do_nothing().to_owned()),
    )
    .await?;
    let at = now();
    let taken = exec(
        tx.conn(),
        Query::update()
            .table(P::Table)
            .value(P::LockedUntil, at + lease)
            .and_where(Expr::col(P::CompanyId).eq(company))
            .and_where(
                Expr::col(P::LockedUntil)
                    .is_null()
                    .or(Expr::col(P::LockedUntil).lt(at)),
            ),
    )
    .await?;
    let position = match taken {
        1 => row(tx.conn(), company).await?.map(|r| Position {
            uid_validity: r.uid_validity,
            last_uid: r.last_uid,
        }),
        _ => None,
    };
    tx.commit().await?;
    Ok(position)
}

/// The message at `position` was taken: the next poll starts after it, and the poll holds the
/// mailbox for another `lease`.
pub async fn advance(
    store: &Store,
    company: CompanyId,
    position: Position,
    lease: Duration,
) -> Result<()> {
    let tx = store.write(&actor(company)).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(P::Table)
            .value(P::UidValidity, position.uid_validity)
            .value(P::LastUid, position.last_uid)
            .value(P::LockedUntil, now() + lease)
            .and_where(Expr::col(P::CompanyId).eq(company)),
    )
    .await?;
    tx.commit().await
}

/// The poll ended, having taken `taken` messages, or failed with `error`: recorded, and the
/// mailbox free for the next one.
pub async fn finish(
    store: &Store,
    company: CompanyId,
    taken: i64,
    error: Option<&str>,
) -> Result<()> {
    let tx = store.write(&actor(company)).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(P::Table)
            .value(P::PolledAt, now())
            .value(P::Taken, taken)
            .value(
                P::Error,
                error.map(|e| e.chars().take(1000).collect::<String>()),
            )
            .value(P::LockedUntil, Option::<DateTime<Utc>>::None)
            .and_where(Expr::col(P::CompanyId).eq(company)),
    )
    .await?;
    tx.commit().await
}

#[derive(FromQueryResult)]
struct PolledRow {
    company_id: CompanyId,
    polled_at: Option<DateTime<Utc>>,
}

/// The companies whose mailbox polling is enabled and whose interval has passed since their
/// last poll (or that were never polled). Read past the row security: it spans companies.
pub async fn due(store: &Store) -> Result<Vec<CompanyId>> {
    let polled: Vec<PolledRow> = fetch_all(
        store.system(),
        Query::select()
            .columns([P::CompanyId, P::PolledAt])
            .from(P::Table),
    )
    .await?;
    let at = now();
    // Half a minute of slack: a schedule that ticks every minute polls a one-minute mailbox on
    // each tick, not on every other one.
    let slack = Duration::seconds(30);
    Ok(documents::every::<EmailSettings>(store)
        .await?
        .into_iter()
        .filter(|(_, settings)| settings.imap.ready())
        .filter(|(company, settings)| {
            let last = polled
                .iter()
                .find(|p| p.company_id == *company)
                .and_then(|p| p.polled_at);
            let interval = Duration::minutes(settings.imap.poll_minutes);
            last.is_none_or(|t| t + interval <= at + slack)
        })
        .map(|(company, _)| company)
        .collect())
}
