//! Domain events: written to the outbox in the transaction of the change (`Tx::emit`, called
//! from `Tx::audit_in` for every record change), put in dispatch order by the sequencer, and
//! handed to named consumers, each with its stored position.
//!
//! # Why a sequencer, and not the insert order
//! Neither ids nor a database sequence follow commit order: a transaction that took id 7 may
//! commit after one that took id 8. A consumer whose cursor passed 8 while 7 was still
//! uncommitted would never see 7. So events are inserted without a position (`seq` NULL) and
//! [`sequence`] numbers them afterwards: one sequencer at a time (PostgreSQL: a row lock on its
//! `event_positions` row; SQLite: the single writer) gives consecutive numbers to the events that
//! are committed *now*. An event that commits later can only get a higher number, so a consumer
//! reading `seq > position` in order never skips one. No grace window is needed, and a long
//! transaction delays only itself. Within one record, a later change waits for the earlier one's
//! row lock, so it is created (and numbered) after it: order per record holds.
//!
//! SQLite needs no sequencer round: its one writer holds the write lock from a transaction's
//! first statement to its commit, so transactions insert in commit order and an event takes the
//! next number as it is inserted (`Tx::numbered_after`). There the sequencer only numbers what
//! an older version left unnumbered; every dispatcher step that takes the write lock is one the
//! lead creations wait behind.
//!
//! Each step first looks with a plain read (no transaction) and takes a write transaction only
//! when there is work: an idle dispatcher holds no lock on either engine.
//!
//! # Consumers
//! [`consume`] gives a consumer the events after its position and stores the new position in the
//! same transaction as whatever the consumer wrote, so a process killed mid-batch leaves either
//! both or neither: nothing is lost and nothing applied twice. On PostgreSQL the consumer's
//! position row is locked with `FOR UPDATE SKIP LOCKED`; another process finding it locked skips
//! that consumer for this round, so two processes never apply the same events at once.
//!
//! Everything here except [`list`] works across companies through the system connection (the
//! named bypass of tenant isolation): `sequence`, `consume`, `lag`.

use crate::page::PageRequest;
use crate::tables::EventPositions;
use crate::tables::Outbox;
use crate::{Backend, Page, Result, Store, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Utc};
use rivet_domain::Actor;
use rivet_domain::events::NewEvent;
use rivet_domain::ids::{ApiKeyId, CompanyId, UserId};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, IntoIden, LockBehavior, LockType, OnConflict, Order, Query,
    SelectStatement, TableRef,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// The sequencer's row in `event_positions`: its position is the highest `seq` it gave out (on
/// SQLite, events numbered at insert go past it).
pub const SEQUENCER: &str = "sequencer";

/// One event as consumers and the API see it.
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct Event {
    pub id: Uuid,
    #[serde(skip)]
    #[schema(value_type = uuid::Uuid)]
    pub company_id: CompanyId,
    /// Dispatch order; empty until the sequencer has numbered the event (within a second).
    pub seq: Option<i64>,
    /// `lead.created`, `deal.won`, … (see the README for the list).
    #[serde(rename = "type")]
    pub event_type: String,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub actor_user_id: Option<UserId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub actor_api_key_id: Option<ApiKeyId>,
    /// The payload: `record`, and for updates `changes` (`{field: {before, after}}`).
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

fn select() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .columns([
            Outbox::Id,
            Outbox::CompanyId,
            Outbox::Seq,
            Outbox::RecordType,
            Outbox::RecordId,
            Outbox::ActorUserId,
            Outbox::ActorApiKeyId,
            Outbox::CreatedAt,
        ])
        .expr_as(Expr::col(Outbox::Event), Alias::new("event_type"))
        .expr_as(Expr::col(Outbox::Payload), Alias::new("data"))
        .from(Outbox::Table)
        .to_owned()
}

/// An insert into the outbox of the columns [`Tx::outbox_row`] gives values for.
fn outbox_insert() -> sea_orm::sea_query::InsertStatement {
    Query::insert()
        .into_table(Outbox::Table)
        .columns([
            Outbox::CompanyId,
            Outbox::Id,
            Outbox::Event,
            Outbox::Payload,
            Outbox::CreatedAt,
            Outbox::RecordType,
            Outbox::RecordId,
            Outbox::ActorUserId,
            Outbox::ActorApiKeyId,
            Outbox::Seq,
        ])
        .to_owned()
}

/// Outbox rows written per statement (10 values each).
const EVENTS_PER_INSERT: usize = 2_000;

/// One audited change, as `Tx::audit_all` saw it.
pub(crate) struct AuditedChange<'a> {
    pub company_id: CompanyId,
    pub resource: &'a str,
    pub resource_id: &'a str,
    pub action: &'a str,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
    /// The audit diff (`{field: {before, after}}`).
    pub changes: &'a Value,
}

impl Tx {
    /// Write `event` about `record_id` in `company_id` to the outbox, as part of this
    /// transaction. The actor is the transaction's, or `actor_user_id` when given (sign-in runs
    /// as the system but is about a user).
    pub async fn emit(
        &self,
        company_id: CompanyId,
        event: &NewEvent,
        record_id: &str,
        actor_user_id: Option<UserId>,
    ) -> Result<Uuid> {
        let id = new_id();
        let seq = self.numbered_after().await?.map(|last| last + 1);
        let mut insert = outbox_insert();
        insert.values_panic(self.outbox_row(company_id, id, event, record_id, actor_user_id, seq));
        exec(self.conn(), &insert).await?;
        self.wrote_events();
        Ok(id)
    }

    /// One outbox row's values, in [`outbox_insert`]'s column order, numbered `seq` (see
    /// [`Tx::numbered_after`]).
    fn outbox_row(
        &self,
        company_id: CompanyId,
        id: Uuid,
        event: &NewEvent,
        record_id: &str,
        actor_user_id: Option<UserId>,
        seq: Option<i64>,
    ) -> [Expr; 10] {
        let actor = self.actor();
        [
            company_id.into(),
            id.into(),
            event.event_type.as_str().into(),
            self.tagged(&event.data).into(),
            now().into(),
            event.record_type.into(),
            record_id.into(),
            actor_user_id.or(actor.map(|a| a.user_id)).into(),
            actor.and_then(|a| a.api_key_id).into(),
            seq.into(),
        ]
    }

    /// The number the events this transaction inserts next follow, or `None` when they are
    /// inserted unnumbered. On SQLite the writer holds the one write lock from its `BEGIN
    /// IMMEDIATE` to its commit, so transactions insert in the order they commit and an event
    /// can take the next number at once — no sequencer round, no write lock of its own — unless
    /// events are still waiting for the sequencer (written by an older version): then it waits
    /// with them, so the numbers keep commit order. PostgreSQL numbers after commit (see the
    /// module comment).
    ///
    /// The next number follows the highest given out: the outbox's highest `seq`, or a stored
    /// position if that is higher (events removed with their company): a consumer never sees
    /// a number it has already passed. It is read once per statement, and the statement's
    /// `n`th row takes the `n`th number after it: a subquery in each row would open its own
    /// cursors, all held to the statement's end, and SQLite walks every open cursor on each
    /// row it writes (a 2,000-row statement spent most of its time there).
    async fn numbered_after(&self) -> Result<Option<i64>> {
        #[derive(FromQueryResult)]
        struct Last {
            last: Option<i64>,
        }
        if self.conn().get_database_backend() != sea_orm::DbBackend::Sqlite {
            return Ok(None);
        }
        let row: Option<Last> = fetch_optional(
            self.conn(),
            Query::select().expr_as(
                Expr::cust(
                    "CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE seq IS NULL) THEN NULL \
                     ELSE MAX(COALESCE((SELECT MAX(seq) FROM outbox), 0), \
                              COALESCE((SELECT MAX(position) FROM event_positions), 0)) END",
                ),
                Alias::new("last"),
            ),
        )
        .await?;
        Ok(row.and_then(|r| r.last))
    }

    /// The events audited changes raise, written with them (see `Tx::audit_all`): one
    /// statement for a batch's.
    pub(crate) async fn emit_changes(&self, changes: &[AuditedChange<'_>]) -> Result<()> {
        let Some(first) = changes.first() else {
            return Ok(());
        };
        if rivet_domain::events::record_type_of(first.resource).is_none() {
            return Ok(());
        }
        // A deal's JSON gets its stages' outcomes (the stages of the whole batch read at once);
        // other records' JSON is read as it is, not copied.
        let outcomes = match first.resource {
            "deals" => self.stage_outcomes(first.company_id, changes).await?,
            _ => Vec::new(),
        };
        let mut rows = Vec::new();
        for change in changes {
            let (mut before, mut after) = (
                change.before.map(std::borrow::Cow::Borrowed),
                change.after.map(std::borrow::Cow::Borrowed),
            );
            if change.resource == "deals" {
                add_stage_outcomes(&outcomes, &mut before, &mut after);
            }
            let events = rivet_domain::events::events_for_change(
                change.resource,
                change.action,
                before.as_deref(),
                after.as_deref(),
                change.changes,
            );
            rows.extend(
                events
                    .into_iter()
                    .map(|e| (change.company_id, e, change.resource_id)),
            );
        }
        self.emit_rows(&rows).await
    }

    /// Write `events` (each about the record id beside it, in `company_id`) to the outbox in
    /// this transaction, a statement per [`EVENTS_PER_INSERT`].
    pub async fn emit_all(
        &self,
        company_id: CompanyId,
        events: &[(NewEvent, String)],
    ) -> Result<()> {
        let rows: Vec<(CompanyId, NewEvent, &str)> = events
            .iter()
            .map(|(e, id)| (company_id, e.clone(), id.as_str()))
            .collect();
        self.emit_rows(&rows).await
    }

    async fn emit_rows(&self, rows: &[(CompanyId, NewEvent, &str)]) -> Result<()> {
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            let last = self.numbered_after().await?;
            let mut insert = outbox_insert();
            for (n, (company_id, event, record_id)) in (1..).zip(chunk) {
                insert.values_panic(self.outbox_row(
                    *company_id,
                    new_id(),
                    event,
                    record_id,
                    None,
                    last.map(|last| last + n),
                ));
            }
            exec(self.conn(), &insert).await?;
            self.wrote_events();
        }
        Ok(())
    }

    /// The outcome (open, won, lost) of every stage the deals of `changes` move between.
    async fn stage_outcomes(
        &self,
        company_id: CompanyId,
        changes: &[AuditedChange<'_>],
    ) -> Result<Vec<StageOutcome>> {
        use crate::tables::PipelineStages;
        let mut ids: Vec<Uuid> = Vec::new();
        for change in changes {
            let (from, to) = (stage_of(change.before), stage_of(change.after));
            if from != to {
                ids.extend(from.into_iter().chain(to));
            }
        }
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        fetch_all(
            self.conn(),
            Query::select()
                .columns([PipelineStages::Id, PipelineStages::Outcome])
                .from(PipelineStages::Table)
                .and_where(Expr::col(PipelineStages::CompanyId).eq(company_id))
                .and_where(Expr::col(PipelineStages::Id).is_in(ids)),
        )
        .await
    }
}

#[derive(FromQueryResult)]
struct StageOutcome {
    id: Uuid,
    outcome: String,
}

/// A deal's stage in its JSON form.
fn stage_of(deal: Option<&Value>) -> Option<Uuid> {
    deal.and_then(|v| v.get("stage_id"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok())
}

/// Add each side's stage outcome (open, won, lost) to a deal's JSON when its stage moved, so
/// the domain can tell a move into a won or lost stage.
fn add_stage_outcomes<'a>(
    outcomes: &[StageOutcome],
    before: &mut Option<std::borrow::Cow<'a, Value>>,
    after: &mut Option<std::borrow::Cow<'a, Value>>,
) {
    let (from, to) = (stage_of(before.as_deref()), stage_of(after.as_deref()));
    if from == to {
        return;
    }
    let outcome_of = |id: Option<Uuid>| {
        outcomes
            .iter()
            .find(|o| Some(o.id) == id)
            .map(|o| Value::from(o.outcome.clone()))
    };
    for (side, id) in [(before, from), (after, to)] {
        if let (Some(side), Some(outcome)) = (side, outcome_of(id))
            && let Value::Object(map) = side.to_mut()
        {
            map.insert(rivet_domain::events::STAGE_OUTCOME.into(), outcome);
        }
    }
}

/// Make sure consumer `name` has a position row (new consumers start at the beginning).
pub async fn ensure_position(store: &Store, name: &str) -> Result<()> {
    exec(
        store.system(),
        Query::insert()
            .into_table(EventPositions::Table)
            .columns([EventPositions::Name, EventPositions::UpdatedAt])
            .values_panic([name.into(), now().into()])
            .on_conflict(
                OnConflict::column(EventPositions::Name)
                    .do_nothing()
                    .to_owned(),
            ),
    )
    .await?;
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct PositionRow {
    position: i64,
}

/// Lock and read a position row inside `tx`. `None` on PostgreSQL when another process holds
/// it (that process is doing this work right now).
async fn lock_position(store: &Store, tx: &Tx, name: &str) -> Result<Option<i64>> {
    let mut q = Query::select();
    q.column(EventPositions::Position)
        .from(EventPositions::Table)
        .and_where(Expr::col(EventPositions::Name).eq(name));
    if store.backend() == Backend::Postgres {
        q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let row: Option<PositionRow> = fetch_optional(tx.conn(), &q).await?;
    Ok(row.map(|r| r.position))
}

async fn store_position(tx: &Tx, name: &str, position: i64, delivered: i64) -> Result<()> {
    exec(
        tx.conn(),
        Query::update()
            .table(EventPositions::Table)
            .value(EventPositions::Position, position)
            .value(
                EventPositions::Delivered,
                Expr::col(EventPositions::Delivered).add(delivered),
            )
            .value(EventPositions::UpdatedAt, now())
            .and_where(Expr::col(EventPositions::Name).eq(name)),
    )
    .await?;
    Ok(())
}

/// Number up to `limit` committed events that have no `seq` yet, oldest first; returns how many.
/// See the module comment for why this, and not the insert, decides the order.
///
/// Looking is a plain read: with nothing to number, no write transaction (SQLite's one write
/// lock) and no row lock (PostgreSQL) is taken.
pub async fn sequence(store: &Store, limit: u64) -> Result<u64> {
    // In the partial index's order, so that it is what the lookup reads: unordered, a planner
    // whose statistics were taken while many events waited (after a bulk import, with no
    // analyze since) reads the whole outbox in a sequential scan, every poll (PostgreSQL, an
    // outbox of 39,806 events all numbered: 36 ms a poll, four polls a second, and the one-lead
    // duplicate check's p99 on the same two cores doubled; ordered: 0.45 ms).
    let waiting = Query::select()
        .column(Outbox::Id)
        .from(Outbox::Table)
        .and_where(Expr::col(Outbox::Seq).is_null())
        .order_by(Outbox::CreatedAt, Order::Asc)
        .order_by(Outbox::Id, Order::Asc)
        .to_owned();
    if !finds_any(store.system(), waiting).await? {
        return Ok(0);
    }
    let tx = store.write_system().await?;
    if lock_position(store, &tx, SEQUENCER).await?.is_none() {
        return Ok(0);
    }
    // The highest number given out: on SQLite most events took theirs at insert
    // (`Tx::numbered_after`), past the sequencer's own position; a consumer's position may be
    // past the outbox's highest `seq` once events were removed with their company.
    let mut high = 0;
    for q in [
        Query::select()
            .expr_as(Func::max(Expr::col(Outbox::Seq)), Alias::new("seq"))
            .from(Outbox::Table)
            .to_owned(),
        Query::select()
            .expr_as(
                Func::max(Expr::col(EventPositions::Position)),
                Alias::new("seq"),
            )
            .from(EventPositions::Table)
            .to_owned(),
    ] {
        let highest: Option<MaxSeq> = fetch_optional(tx.conn(), &q).await?;
        high = std::cmp::Ord::max(high, highest.and_then(|h| h.seq).unwrap_or(0));
    }
    let numbered = exec(tx.conn(), &number_waiting(high, limit)).await?;
    if numbered == 0 {
        return Ok(0);
    }
    store_position(&tx, SEQUENCER, high + numbered as i64, 0).await?;
    tx.commit().await?;
    Ok(numbered)
}

#[derive(Debug, FromQueryResult)]
struct MaxSeq {
    seq: Option<i64>,
}

/// One statement that gives the oldest `limit` unnumbered events the numbers after `high`, in
/// `(created_at, id)` order. Rows are matched on the whole primary key (`company_id`, `id`): a
/// match on `id` alone has no index and would read the whole outbox.
fn number_waiting(high: i64, limit: u64) -> sea_orm::sea_query::UpdateStatement {
    let w = Alias::new("w");
    let n = Alias::new("n");
    let waiting = Query::select()
        .columns([Outbox::CompanyId, Outbox::Id, Outbox::CreatedAt])
        .from(Outbox::Table)
        .and_where(Expr::col(Outbox::Seq).is_null())
        .order_by(Outbox::CreatedAt, Order::Asc)
        .order_by(Outbox::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    let numbered = Query::select()
        .columns([Outbox::CompanyId, Outbox::Id])
        .expr_as(
            Expr::cust("ROW_NUMBER() OVER (ORDER BY created_at, id)").add(high),
            Alias::new("seq"),
        )
        .from_subquery(waiting, w)
        .to_owned();
    Query::update()
        .table(Outbox::Table)
        .value(Outbox::Seq, Expr::col((n.clone(), Outbox::Seq)))
        .from(TableRef::SubQuery(
            Box::new(numbered),
            n.clone().into_iden(),
        ))
        .and_where(
            Expr::col((Outbox::Table, Outbox::CompanyId)).equals((n.clone(), Outbox::CompanyId)),
        )
        .and_where(Expr::col((Outbox::Table, Outbox::Id)).equals((n, Outbox::Id)))
        .to_owned()
}

/// Whether `q` finds a row: a read outside any transaction, for the checks that keep an idle
/// dispatcher from taking write locks.
pub(crate) async fn finds_any<C: ConnectionTrait>(
    conn: &C,
    mut q: SelectStatement,
) -> Result<bool> {
    q.limit(1);
    Ok(conn.query_one(&q).await?.is_some())
}

/// A named consumer of events. `apply` runs inside the transaction that also moves the
/// consumer's position past `events`, so it must write only through `tx` to be exactly-once;
/// it must also tolerate seeing an event again (idempotent by event id) should it have effects
/// outside the database.
#[async_trait::async_trait]
pub trait Consumer: Send + Sync {
    fn name(&self) -> &'static str;
    async fn apply(&self, tx: &Tx, events: &[Event]) -> Result<()>;
}

/// Give `consumer` up to `limit` events after its position, in `seq` order, and store its new
/// position with what it wrote. Returns how many it applied; `None` when another process holds
/// the consumer (PostgreSQL).
pub async fn consume(store: &Store, consumer: &dyn Consumer, limit: u64) -> Result<Option<u64>> {
    // As in `sequence`: nothing new after the stored position, no write transaction.
    let position = Query::select()
        .column(EventPositions::Position)
        .from(EventPositions::Table)
        .and_where(Expr::col(EventPositions::Name).eq(consumer.name()))
        .to_owned();
    // In `seq` order, so PostgreSQL reads the `seq` index: unordered, it planned a sequential
    // scan (expecting a third of the outbox to match), which for a consumer that is caught up —
    // the usual case — read the whole outbox on every wake-up of the dispatcher.
    let after = Query::select()
        .column(Outbox::Seq)
        .from(Outbox::Table)
        .and_where(Expr::col(Outbox::Seq).gt(position))
        .order_by(Outbox::Seq, Order::Asc)
        .to_owned();
    if !finds_any(store.system(), after).await? {
        return Ok(Some(0));
    }
    let tx = store.write_system().await?;
    let Some(position) = lock_position(store, &tx, consumer.name()).await? else {
        return Ok(None);
    };
    let events: Vec<Event> = fetch_all(
        tx.conn(),
        select()
            .and_where(Expr::col(Outbox::Seq).gt(position))
            .order_by(Outbox::Seq, Order::Asc)
            .limit(limit),
    )
    .await?;
    let Some(last) = events.last().and_then(|e| e.seq) else {
        return Ok(Some(0));
    };
    consumer.apply(&tx, &events).await?;
    store_position(&tx, consumer.name(), last, events.len() as i64).await?;
    tx.commit().await?;
    Ok(Some(events.len() as u64))
}

/// How far a consumer is behind: events waiting (numbered or not) and the age of the oldest.
#[derive(Debug, Clone, Serialize)]
pub struct Lag {
    pub consumer: String,
    pub position: i64,
    pub delivered: i64,
    pub pending: i64,
    pub oldest_pending_seconds: f64,
}

#[derive(Debug, FromQueryResult)]
struct PositionInfo {
    name: String,
    position: i64,
    delivered: i64,
}

#[derive(Debug, FromQueryResult)]
struct PendingInfo {
    pending: i64,
    oldest: Option<DateTime<Utc>>,
}

/// The lag of every consumer (for `/metrics`).
pub async fn lag(store: &Store) -> Result<Vec<Lag>> {
    let positions: Vec<PositionInfo> = fetch_all(
        store.system(),
        Query::select()
            .columns([
                EventPositions::Name,
                EventPositions::Position,
                EventPositions::Delivered,
            ])
            .from(EventPositions::Table)
            .and_where(Expr::col(EventPositions::Name).ne(SEQUENCER)),
    )
    .await?;
    let mut out = Vec::with_capacity(positions.len());
    for p in positions {
        let pending: Option<PendingInfo> = fetch_optional(
            store.system(),
            Query::select()
                .expr_as(Func::count(Expr::col(Outbox::Id)), Alias::new("pending"))
                .expr_as(
                    Func::min(Expr::col(Outbox::CreatedAt)),
                    Alias::new("oldest"),
                )
                .from(Outbox::Table)
                .cond_where(
                    sea_orm::sea_query::Cond::any()
                        .add(Expr::col(Outbox::Seq).gt(p.position))
                        .add(Expr::col(Outbox::Seq).is_null()),
                ),
        )
        .await?;
        let (pending, oldest) = pending.map_or((0, None), |r| (r.pending, r.oldest));
        out.push(Lag {
            consumer: p.name,
            position: p.position,
            delivered: p.delivered,
            pending,
            oldest_pending_seconds: oldest
                .map(|t| std::cmp::Ord::max((now() - t).num_milliseconds(), 0) as f64 / 1000.0)
                .unwrap_or(0.0),
        });
    }
    Ok(out)
}

/// Events removed per statement by [`prune`]: each delete is short, so writers wait little.
const PRUNE_BATCH: u64 = 5_000;

/// Remove the events created before `before` that every consumer has applied (maintenance,
/// across companies: the system connection). An event a consumer has not reached yet stays
/// whatever its age; an unnumbered one too. Numbering is not disturbed: the next number follows
/// the highest stored position when that is past the outbox's highest `seq` (see
/// [`sequence`] and `Tx::numbered_after`). Returns how many were removed.
pub async fn prune(store: &Store, before: DateTime<Utc>) -> Result<u64> {
    let consumed: Option<MaxSeq> = fetch_optional(
        store.system(),
        Query::select()
            .expr_as(
                Func::min(Expr::col(EventPositions::Position)),
                Alias::new("seq"),
            )
            .from(EventPositions::Table)
            .and_where(Expr::col(EventPositions::Name).ne(SEQUENCER)),
    )
    .await?;
    // No consumer: whatever is numbered has been handed on to nobody who waits for it.
    let bound = match consumed.and_then(|c| c.seq) {
        Some(seq) => seq,
        None => {
            let highest: Option<MaxSeq> = fetch_optional(
                store.system(),
                Query::select()
                    .expr_as(Func::max(Expr::col(Outbox::Seq)), Alias::new("seq"))
                    .from(Outbox::Table),
            )
            .await?;
            highest.and_then(|h| h.seq).unwrap_or(0)
        }
    };
    let mut removed = 0;
    loop {
        let old = Query::select()
            .column(Outbox::Seq)
            .from(Outbox::Table)
            .and_where(Expr::col(Outbox::Seq).lte(bound))
            .and_where(Expr::col(Outbox::CreatedAt).lt(before))
            .order_by(Outbox::Seq, Order::Asc)
            .limit(PRUNE_BATCH)
            .to_owned();
        let n = exec(
            store.system(),
            Query::delete()
                .from_table(Outbox::Table)
                .and_where(Expr::col(Outbox::Seq).in_subquery(old)),
        )
        .await?;
        removed += n;
        if n < PRUNE_BATCH {
            return Ok(removed);
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The caller's company's events matching `filter`, newest first.
pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &EventFilter,
    page: PageRequest,
) -> Result<Page<Event>> {
    let mut q = select();
    q.and_where(Expr::col(Outbox::CompanyId).eq(actor.company_id));
    if let Some(t) = &filter.event_type {
        q.and_where(Expr::col(Outbox::Event).eq(t.as_str()));
    }
    if let Some(t) = &filter.record_type {
        q.and_where(Expr::col(Outbox::RecordType).eq(t.as_str()));
    }
    if let Some(id) = &filter.record_id {
        q.and_where(Expr::col(Outbox::RecordId).eq(id.as_str()));
    }
    if let Some(from) = filter.from {
        q.and_where(Expr::col(Outbox::CreatedAt).gte(from));
    }
    if let Some(to) = filter.to {
        q.and_where(Expr::col(Outbox::CreatedAt).lt(to));
    }
    if let Some(after) = page.after {
        q.and_where(Expr::col(Outbox::Id).lt(after));
    }
    q.order_by(Outbox::Id, Order::Desc).limit(page.limit + 1);
    let rows: Vec<Event> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    Ok(Page::from_rows(rows, page, |e| e.id))
}
