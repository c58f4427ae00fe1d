//! In-app notifications: what Rivet tells one member (a lead of theirs reached MQL; later an
//! assignment, a sequence step, a ticket), shown by the bell on every page and at
//! `/notifications`.
//!
//! - **Written by the system**, inside the transaction of the change they tell of: [`notify`]
//!   and [`notify_all`] (a statement per batch, as `Tx::emit_all` writes events) take any open
//!   transaction — a member's, a consumer's or a job's. What each kind says is written once,
//!   below ([`lead_threshold`]), so every door that fires it says the same. An import's
//!   transaction writes none (thousands of rows at once are not news one by one).
//! - **Read and marked by their member only**: every query here is filtered by the caller's
//!   company **and** user, so another member's notification, like another company's, is not
//!   found; whatever their role, even an administrator sees only their own.
//!
//! Not a record of the generic record layer (`crate::record`): that layer's reads are filtered
//! by a role's scope on a resource (an administrator's `all` would show everyone's inbox),
//! and its writes are audited and evented with a creator and an owner a member checked. A
//! notification has none of that: it belongs to one member whatever their role, is made by
//! the system as a side effect of a change already audited, and being read is its member's
//! own business — neither a notification nor its reading is audited. Saved views
//! (`crate::views`) are per member in the same way.

use crate::leads::Lead;
use crate::page::{Page, PageRequest};
use crate::tables::Notifications as N;
use crate::{MAX_BOUND_VALUES, Result, Store, StoreError, Tx, exec, fetch_all, fetch_count, now};
use chrono::{DateTime, Utc};
use rivet_domain::Actor;
use rivet_domain::ids::{CompanyId, NotificationId, UserId};
use rivet_domain::scoring::{THRESHOLD_EVENT, Threshold};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;
use uuid::Uuid;

/// A notification as its member reads it.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct Notification {
    #[schema(value_type = uuid::Uuid)]
    pub id: NotificationId,
    /// What happened, e.g. `lead.score_threshold_crossed`.
    pub kind: String,
    /// One line, e.g. "Lead Ann Lee reached MQL (score 52)".
    pub title: String,
    pub body: Option<String>,
    /// Where it leads in the app: a path such as `/leads/{id}`.
    pub link: Option<String>,
    /// The record it is about (`lead`, …) and its id.
    pub record_type: Option<String>,
    pub record_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// When its member read it; null while unread.
    pub read_at: Option<DateTime<Utc>>,
}

/// A notification to make (for the member it is given with).
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub kind: &'static str,
    pub title: String,
    pub body: Option<String>,
    pub link: Option<String>,
    /// The record it is about: its type and id.
    pub record: Option<(&'static str, Uuid)>,
}

/// Write one notification for `user` (a member of `company`) in `tx`.
pub async fn notify(
    tx: &Tx,
    company: CompanyId,
    user: UserId,
    notification: NewNotification,
) -> Result<()> {
    notify_all(tx, company, &[(user, notification)]).await
}

const COLUMNS: usize = 11;

/// Write `notifications` (each for the member beside it, of `company`) in `tx`, a statement
/// per batch (of up to a few thousand). An import's transaction (`Tx::for_import`) writes
/// none: thousands of rows coming in at once are not news one by one, and the bell would
/// drown in them.
pub async fn notify_all(
    tx: &Tx,
    company: CompanyId,
    notifications: &[(UserId, NewNotification)],
) -> Result<()> {
    if tx.import().is_some() {
        return Ok(());
    }
    let at = now();
    for chunk in notifications.chunks(MAX_BOUND_VALUES / COLUMNS) {
        let mut insert = Query::insert();
        insert.into_table(N::Table).columns([
            N::CompanyId,
            N::Id,
            N::UserId,
            N::Kind,
            N::Title,
            N::Body,
            N::Link,
            N::RecordType,
            N::RecordId,
            N::CreatedAt,
            N::ReadAt,
        ]);
        for (user, n) in chunk {
            insert.values_panic([
                company.into(),
                NotificationId::new().into(),
                (*user).into(),
                n.kind.into(),
                n.title.clone().into(),
                n.body.clone().into(),
                n.link.clone().into(),
                n.record.map(|(t, _)| t.to_owned()).into(),
                n.record.map(|(_, id)| id).into(),
                at.into(),
                Option::<DateTime<Utc>>::None.into(),
            ]);
        }
        exec(tx.conn(), &insert).await?;
    }
    Ok(())
}

/// The caller's own rows: their company and their user, nothing else.
fn own(actor: &Actor) -> Cond {
    Cond::all()
        .add(Expr::col(N::CompanyId).eq(actor.company_id))
        .add(Expr::col(N::UserId).eq(actor.user_id))
}

fn select_own(actor: &Actor) -> SelectStatement {
    Query::select()
        .columns([
            N::Id,
            N::Kind,
            N::Title,
            N::Body,
            N::Link,
            N::RecordType,
            N::RecordId,
            N::CreatedAt,
            N::ReadAt,
        ])
        .from(N::Table)
        .cond_where(own(actor))
        .to_owned()
}

/// The caller's notifications (only the unread with `unread`), newest first.
pub async fn list(
    store: &Store,
    actor: &Actor,
    unread: bool,
    page: PageRequest,
) -> Result<Page<Notification>> {
    let mut q = select_own(actor);
    if unread {
        q.and_where(Expr::col(N::ReadAt).is_null());
    }
    if let Some(after) = page.after {
        q.and_where(Expr::col(N::Id).lt(after));
    }
    q.order_by(N::Id, Order::Desc).limit(page.limit + 1);
    let rows: Vec<Notification> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    Ok(Page::from_rows(rows, page, |n| n.id))
}

/// How many of the caller's notifications are unread.
pub async fn unread_count(store: &Store, actor: &Actor) -> Result<i64> {
    let q = Query::select()
        .expr(Expr::col(N::Id).count())
        .from(N::Table)
        .cond_where(own(actor))
        .and_where(Expr::col(N::ReadAt).is_null())
        .to_owned();
    fetch_count(store.read(actor).await?.conn(), &q).await
}

/// Mark one of the caller's notifications read (one already read keeps its time) and return
/// it; anyone else's is not found.
pub async fn mark_read(store: &Store, actor: &Actor, id: NotificationId) -> Result<Notification> {
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::update()
            .table(N::Table)
            .value(N::ReadAt, now())
            .cond_where(own(actor))
            .and_where(Expr::col(N::Id).eq(id))
            .and_where(Expr::col(N::ReadAt).is_null()),
    )
    .await?;
    let read: Option<Notification> = fetch_all(
        tx.conn(),
        select_own(actor).and_where(Expr::col(N::Id).eq(id)),
    )
    .await?
    .pop();
    let read = read.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(read)
}

/// Mark every unread notification of the caller read. Returns how many.
pub async fn mark_all_read(store: &Store, actor: &Actor) -> Result<u64> {
    let tx = store.write(actor).await?;
    let marked = exec(
        tx.conn(),
        Query::update()
            .table(N::Table)
            .value(N::ReadAt, now())
            .cond_where(own(actor))
            .and_where(Expr::col(N::ReadAt).is_null()),
    )
    .await?;
    tx.commit().await?;
    Ok(marked)
}

/// Mark every notification of `company` read, as the system (the named bypass): what a demo
/// seed's scoring told its reps happened as the data was made, and is no news to anyone.
pub async fn mark_company_read(store: &Store, company: CompanyId) -> Result<u64> {
    let tx = store.write_system().await?;
    let marked = exec(
        tx.conn(),
        Query::update()
            .table(N::Table)
            .value(N::ReadAt, now())
            .and_where(Expr::col(N::CompanyId).eq(company))
            .and_where(Expr::col(N::ReadAt).is_null()),
    )
    .await?;
    tx.commit().await?;
    Ok(marked)
}

// ---------------------------------------------------------------------------------------------
// What each kind says

/// A lead's total reached a threshold that notifies its owner: "Lead Ann Lee reached MQL
/// (score 52)", linking to the lead.
pub(crate) fn lead_threshold(lead: &Lead, threshold: &Threshold) -> NewNotification {
    NewNotification {
        kind: THRESHOLD_EVENT,
        title: format!(
            "Lead {} reached {} (score {})",
            lead.display_name(),
            threshold.name,
            lead.total_score
        ),
        body: Some(format!(
            "Its total score rose to {}, crossing {} at {}.",
            lead.total_score, threshold.name, threshold.score
        )),
        link: Some(format!("/leads/{}", lead.id)),
        record: Some(("lead", lead.id.uuid())),
    }
}
