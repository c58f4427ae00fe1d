//! Outbound webhooks: a company's subscriptions (CRUD, scoped to the caller's company), the
//! events consumer that turns each event into one delivery row per subscribed webhook, and the
//! delivery queue the worker sends from.
//!
//! The secret is generated here, returned once by [`create`], and kept in the table because
//! every delivery is signed with it (a hash would not do); no read returns it and the audit
//! trail never sees it.
//!
//! The queue's functions ([`claim_due`], [`settle_and_claim`], [`settle_delivered`],
//! [`settle_failed`]) and the consumer work across companies through the system connection.

use crate::events::{Consumer, Event};
use crate::page::PageRequest;
use crate::sessions::random_token;
use crate::tables::{WebhookDeliveries as D, Webhooks as W};
use crate::{
    Backend, Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now,
};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, DeliveryId, Id, UserId, WebhookId};
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// The visible prefix of every webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A webhook as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    #[schema(value_type = uuid::Uuid)]
    pub id: WebhookId,
    pub url: String,
    /// Event types delivered; `*` means all.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Failed attempts in a row; the webhook is turned off when this reaches 10.
    pub consecutive_failures: i32,
    /// Why Rivet turned the webhook off, if it did.
    pub disabled_reason: Option<String>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct WebhookRow {
    id: WebhookId,
    url: String,
    event_types: String,
    description: Option<String>,
    active: bool,
    consecutive_failures: i32,
    disabled_reason: Option<String>,
    created_by: UserId,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Self {
        Self {
            id: r.id,
            url: r.url,
            event_types: parse_types(&r.event_types),
            description: r.description,
            active: r.active,
            consecutive_failures: r.consecutive_failures,
            disabled_reason: r.disabled_reason,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn parse_types(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl Webhook {
    fn audit_json(&self) -> Value {
        json!({
            "url": self.url,
            "event_types": self.event_types,
            "description": self.description,
            "active": self.active,
        })
    }
}

/// What a client sets on a webhook, already validated by the caller.
#[derive(Debug, Clone)]
pub struct WebhookInput {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
}

fn select(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            W::Id,
            W::Url,
            W::EventTypes,
            W::Description,
            W::Active,
            W::ConsecutiveFailures,
            W::DisabledReason,
            W::CreatedBy,
            W::CreatedAt,
            W::UpdatedAt,
        ])
        .from(W::Table)
        .and_where(Expr::col(W::CompanyId).eq(company_id))
        .to_owned()
}

async fn get_in<C: ConnectionTrait>(conn: &C, actor: &Actor, id: WebhookId) -> Result<Webhook> {
    let row: Option<WebhookRow> = fetch_optional(
        conn,
        select(actor.company_id).and_where(Expr::col(W::Id).eq(id)),
    )
    .await?;
    row.map(Webhook::from).ok_or(StoreError::NotFound)
}

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Webhook>> {
    let rows: Vec<WebhookRow> = fetch_all(
        store.read(actor).await?.conn(),
        select(actor.company_id).order_by(W::Id, Order::Desc),
    )
    .await?;
    Ok(rows.into_iter().map(Webhook::from).collect())
}

pub async fn get(store: &Store, actor: &Actor, id: WebhookId) -> Result<Webhook> {
    get_in(store.read(actor).await?.conn(), actor, id).await
}

fn types_text(types: &[String]) -> String {
    serde_json::to_string(types).unwrap_or_else(|_| "[]".into())
}

/// Create a webhook; the returned secret is never shown again.
pub async fn create(
    store: &Store,
    actor: &Actor,
    input: &WebhookInput,
) -> Result<(Webhook, String)> {
    let secret = format!("{SECRET_PREFIX}{}", random_token());
    let id = Id::new();
    let at = now();
    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(W::Table)
            .columns([
                W::CompanyId,
                W::Id,
                W::Url,
                W::EventTypes,
                W::Description,
                W::Active,
                W::Secret,
                W::CreatedBy,
                W::CreatedAt,
                W::UpdatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                id.into(),
                input.url.as_str().into(),
                types_text(&input.event_types).into(),
                input.description.clone().into(),
                input.active.into(),
                secret.as_str().into(),
                actor.user_id.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    let hook = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Webhooks,
        id,
        Action::Create,
        None,
        Some(&hook.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok((hook, secret))
}

/// Replace a webhook's settings. Turning it on again clears its failure count.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: WebhookId,
    input: &WebhookInput,
) -> Result<Webhook> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    let mut q = Query::update();
    q.table(W::Table)
        .value(W::Url, input.url.as_str())
        .value(W::EventTypes, types_text(&input.event_types))
        .value(W::Description, input.description.clone())
        .value(W::Active, input.active)
        .value(W::UpdatedAt, now())
        .and_where(Expr::col(W::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(W::Id).eq(id));
    if input.active && !before.active {
        q.value(W::ConsecutiveFailures, 0)
            .value(W::DisabledReason, Option::<String>::None);
    }
    exec(tx.conn(), &q).await?;
    let after = get_in(tx.conn(), actor, id).await?;
    tx.audit(
        Resource::Webhooks,
        id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete a webhook and its delivery log.
pub async fn delete(store: &Store, actor: &Actor, id: WebhookId) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, id).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(D::Table)
            .and_where(Expr::col(D::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(D::WebhookId).eq(id)),
    )
    .await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(W::Table)
            .and_where(Expr::col(W::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(W::Id).eq(id)),
    )
    .await?;
    tx.audit(
        Resource::Webhooks,
        id,
        Action::Delete,
        Some(&before.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One delivery of one event to one webhook, as its log shows it.
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct Delivery {
    #[schema(value_type = uuid::Uuid)]
    pub id: DeliveryId,
    #[schema(value_type = uuid::Uuid)]
    pub webhook_id: WebhookId,
    pub event_id: Uuid,
    pub event_type: String,
    /// `pending` (waiting for its first or next attempt) or `delivered`.
    pub state: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// The receiver's last HTTP status, if it answered.
    pub response_status: Option<i32>,
    /// Why the last attempt failed (or why it was refused).
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";

/// Remove the settled deliveries (delivered, or failed for good) last changed before `before`,
/// whatever their company (maintenance). Pending ones stay, however old.
pub async fn prune_deliveries(store: &Store, before: DateTime<Utc>) -> Result<u64> {
    exec(
        store.system(),
        Query::delete()
            .from_table(D::Table)
            .and_where(Expr::col(D::State).ne(PENDING))
            .and_where(Expr::col(D::UpdatedAt).lt(before)),
    )
    .await
}

fn select_deliveries() -> SelectStatement {
    Query::select()
        .columns([
            D::Id,
            D::WebhookId,
            D::EventId,
            D::EventType,
            D::State,
            D::Attempts,
            D::ResponseStatus,
            D::LastError,
            D::NextAttemptAt,
            D::CreatedAt,
            D::UpdatedAt,
            D::DeliveredAt,
        ])
        .from(D::Table)
        .to_owned()
}

/// A webhook's deliveries, newest first.
pub async fn deliveries(
    store: &Store,
    actor: &Actor,
    webhook_id: WebhookId,
    page: PageRequest,
) -> Result<Page<Delivery>> {
    get(store, actor, webhook_id).await?;
    let mut q = select_deliveries();
    q.and_where(Expr::col(D::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(D::WebhookId).eq(webhook_id));
    if let Some(after) = page.after {
        q.and_where(Expr::col(D::Id).lt(after));
    }
    q.order_by(D::Id, Order::Desc).limit(page.limit + 1);
    let rows: Vec<Delivery> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    Ok(Page::from_rows(rows, page, |d| d.id))
}

/// The JSON body a webhook receives for `event`.
pub fn body_of(event: &Event) -> Value {
    json!({
        "id": event.id,
        "type": event.event_type,
        "created_at": event.created_at,
        "company_id": event.company_id,
        "record_type": event.record_type,
        "record_id": event.record_id,
        "actor": {"user_id": event.actor_user_id, "api_key_id": event.actor_api_key_id},
        "data": event.data,
    })
}

struct NewDelivery<'a> {
    company_id: CompanyId,
    webhook_id: WebhookId,
    event_id: Uuid,
    event_seq: Option<i64>,
    event_type: &'a str,
    record_key: String,
    body: String,
}

async fn insert_deliveries(tx: &Tx, rows: &[NewDelivery<'_>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let at = now();
    let mut insert = Query::insert();
    insert.into_table(D::Table).columns([
        D::CompanyId,
        D::Id,
        D::WebhookId,
        D::EventId,
        D::EventSeq,
        D::EventType,
        D::RecordKey,
        D::Body,
        D::State,
        D::NextAttemptAt,
        D::CreatedAt,
        D::UpdatedAt,
    ]);
    for r in rows {
        insert.values_panic([
            r.company_id.into(),
            new_id().into(),
            r.webhook_id.into(),
            r.event_id.into(),
            r.event_seq.into(),
            r.event_type.into(),
            r.record_key.as_str().into(),
            r.body.as_str().into(),
            PENDING.into(),
            at.into(),
            at.into(),
            at.into(),
        ]);
    }
    // Applying an event twice cannot happen (the position moves in the same transaction), but
    // the unique key makes sure of it.
    insert.on_conflict(
        OnConflict::columns([D::CompanyId, D::WebhookId, D::EventId])
            .do_nothing()
            .to_owned(),
    );
    exec(tx.conn(), &insert).await?;
    Ok(())
}

/// Queue a `webhook.test` delivery to one webhook (it need not be active).
pub async fn queue_test(store: &Store, actor: &Actor, webhook_id: WebhookId) -> Result<Delivery> {
    let tx = store.write(actor).await?;
    get_in(tx.conn(), actor, webhook_id).await?;
    let event_id = new_id();
    let body = json!({
        "id": event_id,
        "type": rivet_domain::events::TEST_EVENT,
        "created_at": now(),
        "company_id": actor.company_id,
        "record_type": null,
        "record_id": null,
        "actor": {"user_id": actor.user_id, "api_key_id": actor.api_key_id},
        "data": rivet_domain::events::test_event_data(),
    });
    insert_deliveries(
        &tx,
        &[NewDelivery {
            company_id: actor.company_id,
            webhook_id,
            event_id,
            event_seq: None,
            event_type: rivet_domain::events::TEST_EVENT,
            record_key: format!("test:{event_id}"),
            body: body.to_string(),
        }],
    )
    .await?;
    let delivery: Option<Delivery> = fetch_optional(
        tx.conn(),
        select_deliveries()
            .and_where(Expr::col(D::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(D::WebhookId).eq(webhook_id))
            .and_where(Expr::col(D::EventId).eq(event_id)),
    )
    .await?;
    tx.commit().await?;
    delivery.ok_or(StoreError::NotFound)
}

/// The events consumer that fans events out to the webhooks subscribed to them.
pub struct WebhookConsumer;

pub const CONSUMER: &str = "webhooks";

#[derive(Debug, FromQueryResult)]
struct ActiveHook {
    company_id: CompanyId,
    id: WebhookId,
    event_types: String,
    created_at: DateTime<Utc>,
}

#[async_trait::async_trait]
impl Consumer for WebhookConsumer {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    async fn apply(&self, tx: &Tx, events: &[Event]) -> Result<()> {
        let mut companies: Vec<CompanyId> = events.iter().map(|e| e.company_id).collect();
        companies.sort();
        companies.dedup();
        let hooks: Vec<ActiveHook> = fetch_all(
            tx.conn(),
            Query::select()
                .columns([W::CompanyId, W::Id, W::EventTypes, W::CreatedAt])
                .from(W::Table)
                .and_where(Expr::col(W::CompanyId).is_in(companies))
                .and_where(Expr::col(W::Active).eq(true)),
        )
        .await?;
        if hooks.is_empty() {
            return Ok(());
        }
        let hooks: Vec<(ActiveHook, Vec<String>)> = hooks
            .into_iter()
            .map(|h| {
                let types = parse_types(&h.event_types);
                (h, types)
            })
            .collect();
        let mut rows = Vec::new();
        for event in events {
            for (hook, types) in &hooks {
                // A webhook gets the events of its company from its creation on.
                if hook.company_id != event.company_id
                    || event.created_at < hook.created_at
                    || !rivet_domain::events::subscribed_to(types, &event.event_type)
                {
                    continue;
                }
                rows.push(NewDelivery {
                    company_id: event.company_id,
                    webhook_id: hook.id,
                    event_id: event.id,
                    event_seq: event.seq,
                    event_type: &event.event_type,
                    record_key: format!(
                        "{}:{}",
                        event.record_type.as_deref().unwrap_or_default(),
                        event.record_id.as_deref().unwrap_or_default()
                    ),
                    body: body_of(event).to_string(),
                });
            }
        }
        for chunk in rows.chunks(200) {
            insert_deliveries(tx, chunk).await?;
        }
        Ok(())
    }
}

/// A delivery claimed by a sender, with what it needs to send it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DueDelivery {
    pub company_id: CompanyId,
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: Uuid,
    pub event_type: String,
    pub body: String,
    /// This attempt's number (1 for the first).
    pub attempts: i32,
    pub lease_owner: String,
    pub created_at: DateTime<Utc>,
}

/// A webhook's address and secret, for its sender.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Target {
    pub company_id: CompanyId,
    pub id: WebhookId,
    pub url: String,
    pub secret: String,
}

/// Rewrite `?` placeholders as PostgreSQL's `$n`.
fn placeholders(backend: Backend, sql: &str) -> String {
    match backend {
        Backend::Sqlite => sql.to_owned(),
        Backend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

fn db_backend(store: &Store) -> sea_orm::DatabaseBackend {
    match store.backend() {
        Backend::Sqlite => sea_orm::DatabaseBackend::Sqlite,
        Backend::Postgres => sea_orm::DatabaseBackend::Postgres,
    }
}

/// Where due deliveries are found: pending, their time come, their webhook active, nobody's
/// lease running. The two `?` are the current time.
const DUE: &str = "FROM webhook_deliveries d \
     JOIN webhooks w ON w.company_id = d.company_id AND w.id = d.webhook_id \
     WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND w.active = TRUE \
       AND (d.lease_expires_at IS NULL OR d.lease_expires_at < ?)";

/// Whether any delivery is due: a plain read, so that an idle sender takes no write lock.
async fn any_due(store: &Store) -> Result<bool> {
    let at = now();
    let stmt = Statement::from_sql_and_values(
        db_backend(store),
        placeholders(store.backend(), &format!("SELECT 1 {DUE} LIMIT 1")),
        [at.into(), at.into()],
    );
    Ok(store.system().query_one_raw(stmt).await?.is_some())
}

/// Claim up to `limit` due deliveries of active webhooks for `owner` for `lease`, across
/// companies. A delivery waits while an earlier event about the same record is still pending
/// for the same webhook, so each receiver gets a record's events in order. On PostgreSQL rows
/// another sender is claiming are skipped (`SKIP LOCKED`); SQLite has one writer at a time.
pub async fn claim_due(
    store: &Store,
    owner: &str,
    lease: std::time::Duration,
    limit: u64,
) -> Result<Vec<DueDelivery>> {
    settle_and_claim(store, &[], owner, lease, limit).await
}

/// Record the deliveries in `done` (as [`settle_delivered`]) and claim the next ones (as
/// [`claim_due`]) in one transaction: a sender's one write per round. With nothing to record and
/// nothing due it writes nothing.
pub async fn settle_and_claim(
    store: &Store,
    done: &[(&DueDelivery, u16)],
    owner: &str,
    lease: std::time::Duration,
    limit: u64,
) -> Result<Vec<DueDelivery>> {
    if done.is_empty() && !any_due(store).await? {
        return Ok(Vec::new());
    }
    let tx = store.write_system().await?;
    record_delivered(&tx, done).await?;
    let claimed = claim_in(store, &tx, owner, lease, limit).await?;
    tx.commit().await?;
    Ok(claimed)
}

async fn claim_in(
    store: &Store,
    tx: &Tx,
    owner: &str,
    lease: std::time::Duration,
    limit: u64,
) -> Result<Vec<DueDelivery>> {
    let at = now();
    let until = at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
    let lock = match store.backend() {
        Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // Rows are matched on the whole primary key: `id` alone has no index, and a match on it
    // read the whole delivery log at every claim.
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_owner = ?, lease_expires_at = ?, \
             attempts = attempts + 1, updated_at = ? \
         WHERE (company_id, id) IN (SELECT d.company_id, d.id {DUE} \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                   WHERE e.webhook_id = d.webhook_id AND e.record_key = d.record_key \
                     AND e.state = 'pending' AND e.event_seq < d.event_seq) \
             ORDER BY d.next_attempt_at, d.event_seq LIMIT ? {lock}) \
         RETURNING company_id, id, webhook_id, event_id, event_type, body, attempts, \
             lease_owner, created_at"
    );
    let stmt = Statement::from_sql_and_values(
        db_backend(store),
        placeholders(store.backend(), &sql),
        [
            owner.into(),
            until.into(),
            at.into(),
            at.into(),
            at.into(),
            (limit as i64).into(),
        ],
    );
    tx.conn()
        .query_all_raw(stmt)
        .await?
        .iter()
        .map(|r| DueDelivery::from_query_result(r, "").map_err(StoreError::from))
        .collect()
}

/// The addresses and secrets of `webhooks` (system read, for the sender).
pub async fn targets(store: &Store, webhooks: &[WebhookId]) -> Result<Vec<Target>> {
    fetch_all(
        store.system(),
        Query::select()
            .columns([W::CompanyId, W::Id, W::Url, W::Secret])
            .from(W::Table)
            .and_where(Expr::col(W::Id).is_in(webhooks.iter().copied())),
    )
    .await
}

/// Record successful deliveries (one transaction for the batch) and reset their webhooks'
/// failure counts. A delivery whose lease passed to another sender is left alone.
pub async fn settle_delivered(store: &Store, done: &[(&DueDelivery, u16)]) -> Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    let tx = store.write_system().await?;
    record_delivered(&tx, done).await?;
    tx.commit().await
}

/// Deliveries recorded by one statement: their company, answer and lease holder, and their ids.
type DeliveredGroup<'a> = ((CompanyId, u16, &'a str), Vec<DeliveryId>);

async fn record_delivered(tx: &Tx, done: &[(&DueDelivery, u16)]) -> Result<()> {
    let at = now();
    // One statement per company, answer and lease holder: for a sender's batch, usually one.
    let mut groups: Vec<DeliveredGroup<'_>> = Vec::new();
    let mut hooks: Vec<(CompanyId, WebhookId)> = Vec::new();
    for (d, status) in done {
        let key = (d.company_id, *status, d.lease_owner.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ids)) => ids.push(d.id),
            None => groups.push((key, vec![d.id])),
        }
        if !hooks.contains(&(d.company_id, d.webhook_id)) {
            hooks.push((d.company_id, d.webhook_id));
        }
    }
    for ((company_id, status, owner), ids) in &groups {
        exec(
            tx.conn(),
            Query::update()
                .table(D::Table)
                .value(D::State, DELIVERED)
                .value(D::ResponseStatus, i32::from(*status))
                .value(D::LastError, Option::<String>::None)
                .value(D::DeliveredAt, at)
                .value(D::UpdatedAt, at)
                .value(D::LeaseOwner, Option::<String>::None)
                .value(D::LeaseExpiresAt, Option::<DateTime<Utc>>::None)
                .and_where(Expr::col(D::CompanyId).eq(*company_id))
                .and_where(Expr::col(D::Id).is_in(ids.iter().copied()))
                .and_where(Expr::col(D::LeaseOwner).eq(*owner)),
        )
        .await?;
    }
    for (company_id, id) in hooks {
        exec(
            tx.conn(),
            Query::update()
                .table(W::Table)
                .value(W::ConsecutiveFailures, 0)
                .and_where(Expr::col(W::CompanyId).eq(company_id))
                .and_where(Expr::col(W::Id).eq(id))
                .and_where(Expr::col(W::ConsecutiveFailures).ne(0)),
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct Failures {
    consecutive_failures: i32,
    active: bool,
}

/// Record a failed attempt: the delivery waits until `retry_at`, and its webhook's failure
/// count grows. Returns `true` when this failure turned the webhook off (the caller writes the
/// security event).
pub async fn settle_failed(
    store: &Store,
    d: &DueDelivery,
    status: Option<u16>,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<bool> {
    let at = now();
    let tx = store.write_system().await?;
    let changed = exec(
        tx.conn(),
        Query::update()
            .table(D::Table)
            .value(D::ResponseStatus, status.map(i32::from))
            .value(D::LastError, error)
            .value(D::NextAttemptAt, retry_at)
            .value(D::UpdatedAt, at)
            .value(D::LeaseOwner, Option::<String>::None)
            .value(D::LeaseExpiresAt, Option::<DateTime<Utc>>::None)
            .and_where(Expr::col(D::CompanyId).eq(d.company_id))
            .and_where(Expr::col(D::Id).eq(d.id))
            .and_where(Expr::col(D::LeaseOwner).eq(d.lease_owner.as_str())),
    )
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    let hook = |q: &mut sea_orm::sea_query::UpdateStatement| {
        q.and_where(Expr::col(W::CompanyId).eq(d.company_id))
            .and_where(Expr::col(W::Id).eq(d.webhook_id));
    };
    let mut bump = Query::update();
    bump.table(W::Table).value(
        W::ConsecutiveFailures,
        Expr::col(W::ConsecutiveFailures).add(1),
    );
    hook(&mut bump);
    exec(tx.conn(), &bump).await?;
    let now_failing: Option<Failures> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns([W::ConsecutiveFailures, W::Active])
            .from(W::Table)
            .and_where(Expr::col(W::CompanyId).eq(d.company_id))
            .and_where(Expr::col(W::Id).eq(d.webhook_id)),
    )
    .await?;
    let disable = now_failing.is_some_and(|f| {
        f.active && f.consecutive_failures >= rivet_domain::events::MAX_CONSECUTIVE_FAILURES
    });
    if disable {
        let mut off = Query::update();
        off.table(W::Table)
            .value(W::Active, false)
            .value(
                W::DisabledReason,
                format!(
                    "turned off after {} failed deliveries in a row; last error: {error}",
                    rivet_domain::events::MAX_CONSECUTIVE_FAILURES
                ),
            )
            .value(W::UpdatedAt, at);
        hook(&mut off);
        exec(tx.conn(), &off).await?;
        tx.audit_in(
            d.company_id,
            Resource::Webhooks.as_str(),
            d.webhook_id,
            "disable",
            Some(&json!({"active": true})),
            Some(&json!({"active": false})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(disable)
}
