//! The event dispatcher, part of the workers (`rivet serve`, `rivet worker`): numbers committed
//! outbox events (`rivet_store::events::sequence`), hands them to the registered consumers, each
//! from its stored position (`rivet_store::events::consume`), and sends the webhook deliveries
//! the webhooks consumer queued.
//!
//! Any number of processes may run it against one database: the sequencer and each consumer
//! are locked row by row, and deliveries are leased. A process killed mid-way leaves a consumer
//! either before or after a batch (its position moves in the transaction of what it applied)
//! and a delivery leased; the lease expires and another process sends it again, so a receiver
//! gets each event at least once and should de-duplicate by the `X-Rivet-Event-Id` header.
//!
//! # Cost
//! The dispatcher has a small connection pool of its own ([`own_pool`]), so that under HTTP load
//! its steps do not queue for a connection. A step with nothing to do only reads. The sender
//! writes once per round: what the last round delivered is recorded in the transaction that
//! claims the next one.
//!
//! # Where a delivery may go
//! The sender resolves a webhook's host itself and connects only to addresses it checked
//! (`rivet_domain::events::blocked_address`): the HTTP client's resolver is [`GuardedResolver`],
//! and a literal address in the URL is checked before the request. Redirects are never
//! followed; a 3xx answer is a failed attempt. `RIVET_WEBHOOK_ALLOW_PRIVATE=true` lifts the
//! address check for on-premise receivers and tests.

use crate::state::AppState;
use futures_util::future::join_all;
use rivet_domain::events::{blocked_address, parse_webhook_url, retry_delay, signature_header};
use rivet_store::Store;
use rivet_store::events::{self, Consumer};
use rivet_store::webhooks::{self, DueDelivery, Target, WebhookConsumer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// The header naming the delivered event's id (receivers de-duplicate by it).
pub const EVENT_ID_HEADER: &str = "X-Rivet-Event-Id";
pub const EVENT_TYPE_HEADER: &str = "X-Rivet-Event-Type";
pub const SIGNATURE_HEADER: &str = "X-Rivet-Signature";

/// How the dispatcher runs; [`DispatchOptions::from_config`] gives the production values.
#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// Names this process in delivery leases.
    pub id: String,
    /// How often an idle dispatcher looks for new events and due deliveries (a commit in this
    /// process wakes it at once).
    pub poll_interval: Duration,
    /// The shortest time between two rounds of numbering and consuming events, unless the last
    /// round left a full batch behind: under a stream of commits, one round serves every commit
    /// of this time instead of one round (two write transactions) per commit or two. A commit
    /// after a quiet spell is served at once.
    pub coalesce: Duration,
    /// Events numbered and applied per transaction.
    pub batch: u64,
    /// Deliveries claimed (and sent at once) per round.
    pub send_batch: u64,
    /// How long a claimed delivery is this process's; after that another process may send it.
    pub lease: Duration,
    /// A receiver's time to answer.
    pub timeout: Duration,
    /// The first retry's delay; each further retry doubles it (capped at an hour).
    pub retry_base: Duration,
    pub allow_private: bool,
}

impl DispatchOptions {
    pub fn from_config(config: &crate::Config, id: String) -> Self {
        let timeout = Duration::from_secs(config.webhook_timeout_secs.max(1));
        Self {
            id,
            poll_interval: Duration::from_millis(200),
            coalesce: Duration::from_millis(50),
            batch: 500,
            send_batch: 64,
            // Longer than any attempt can take, so a live sender never loses its lease.
            lease: timeout * 2 + Duration::from_secs(10),
            timeout,
            retry_base: Duration::from_secs(5),
            allow_private: config.webhook_allow_private,
        }
    }
}

/// Every consumer the dispatcher feeds, by name.
pub fn consumers() -> Vec<Arc<dyn Consumer>> {
    vec![
        Arc::new(WebhookConsumer),
        Arc::new(rivet_store::scoring::ScoringConsumer),
        Arc::new(rivet_store::risk::RiskConsumer),
        Arc::new(rivet_store::health::HealthConsumer),
        Arc::new(rivet_store::workflows::WorkflowConsumer),
        Arc::new(rivet_store::sequences::SequenceStopper),
    ]
}

/// Start the dispatcher; it stops when `stop` turns true.
pub fn spawn(
    state: AppState,
    options: DispatchOptions,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let options = Arc::new(options);
        let wake_sender = Arc::new(Notify::new());
        let client = match http_client(&options) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks will not be sent");
                return;
            }
        };
        let store = own_pool(&state).await;
        let events = tokio::spawn(run_events(
            state,
            store.clone(),
            options.clone(),
            wake_sender.clone(),
            stop.clone(),
        ));
        let sender = tokio::spawn(run_sender(store, options, client, wake_sender, stop));
        let _ = events.await;
        let _ = sender.await;
    })
}

/// Connections of the dispatcher's own pool: one for numbering and consuming events, one for
/// the sender.
const POOL_CONNECTIONS: u32 = 2;

/// A store on a small pool of the dispatcher's own, so that its steps never queue for a
/// connection behind the HTTP requests that share the process's pool. Falls back to the shared
/// pool if the database refuses more connections.
/// Commits in this process still wake the dispatcher through the shared store's notifier.
async fn own_pool(state: &AppState) -> Store {
    let url = state.config.database_url();
    match Store::connect(&url, POOL_CONNECTIONS).await {
        Ok(store) => store,
        Err(e) => {
            tracing::warn!(error = %e, "the event dispatcher shares the connection pool: it could not open its own");
            state.store.clone()
        }
    }
}

async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn stop_requested(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Number new events and feed every consumer, until stopped.
///
/// Rounds are at least [`DispatchOptions::coalesce`] apart unless the last one left a full batch
/// behind (a backlog is drained at full speed). Each round that finds work writes (the sequencer
/// on PostgreSQL, every consumer's position on both engines), and on SQLite every write waits
/// for the one write lock with the requests' writes: without the pause, a stream of requests
/// that emit events drove a round — two write transactions — per commit or two.
async fn run_events(
    state: AppState,
    store: Store,
    options: Arc<DispatchOptions>,
    wake_sender: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let consumers = consumers();
    let store = &store;
    let mut ready = false;
    let mut last_round: Option<Instant> = None;
    while !stop_requested(&stop) {
        if let Some(started) = last_round {
            let pause = options.coalesce.saturating_sub(started.elapsed());
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {},
                    () = stopping(&mut stop) => continue,
                }
            }
        }
        last_round = Some(Instant::now());
        if !ready {
            ready = ensure_positions(store, &consumers).await;
        }
        let mut busy = false;
        let mut backlog = false;
        if ready {
            match events::sequence(store, options.batch).await {
                Ok(n) => {
                    busy |= n > 0;
                    backlog |= n >= options.batch;
                }
                Err(e) => tracing::warn!(error = %e, "numbering outbox events failed"),
            }
            for consumer in &consumers {
                match events::consume(store, consumer.as_ref(), options.batch).await {
                    Ok(Some(n)) if n > 0 => {
                        busy = true;
                        backlog |= n >= options.batch;
                        metrics::counter!("rivet_events_applied_total", "consumer" => consumer.name())
                            .increment(n);
                        wake_sender.notify_one();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(consumer = consumer.name(), error = %e, "an events consumer failed; it retries from its stored position");
                    }
                }
            }
        }
        if backlog {
            last_round = None;
            continue;
        }
        if busy {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(options.poll_interval) => {},
            () = state.store.events_written().notified() => {},
            () = store.events_written().notified() => {},
            () = stopping(&mut stop) => {},
        }
    }
}

async fn ensure_positions(store: &Store, consumers: &[Arc<dyn Consumer>]) -> bool {
    let names =
        std::iter::once(events::SEQUENCER).chain(consumers.iter().map(|consumer| consumer.name()));
    for name in names {
        if let Err(e) = events::ensure_position(store, name).await {
            tracing::warn!(consumer = name, error = %e, "cannot register an events consumer");
            return false;
        }
    }
    true
}

/// Claim due deliveries and send them, until stopped. What a round delivered is recorded in the
/// transaction that claims the next round (one write per round), always before that round is
/// sent: a sender killed at any point leaves at most one round sent but unrecorded.
async fn run_sender(
    store: Store,
    options: Arc<DispatchOptions>,
    client: reqwest::Client,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut delivered: Vec<(DueDelivery, u16)> = Vec::new();
    while !stop_requested(&stop) {
        let claimed = {
            let done: Vec<(&DueDelivery, u16)> = delivered.iter().map(|(d, s)| (d, *s)).collect();
            webhooks::settle_and_claim(
                &store,
                &done,
                &options.id,
                options.lease,
                options.send_batch,
            )
            .await
        };
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "recording webhook deliveries or claiming more failed; the unrecorded ones are sent again when their lease ends");
                Vec::new()
            }
        };
        delivered.clear();
        if claimed.is_empty() {
            tokio::select! {
                () = tokio::time::sleep(options.poll_interval) => {},
                () = wake.notified() => {},
                () = stopping(&mut stop) => {},
            }
            continue;
        }
        delivered = send_batch(&store, &options, &client, claimed).await;
    }
    let done: Vec<(&DueDelivery, u16)> = delivered.iter().map(|(d, s)| (d, *s)).collect();
    if let Err(e) = webhooks::settle_delivered(&store, &done).await {
        tracing::warn!(error = %e, "recording webhook deliveries failed; they are sent again when their lease ends");
    }
}

/// What one attempt came to.
enum Outcome {
    Delivered(u16),
    Failed(Option<u16>, String),
}

/// Send a claimed round at once; record the failures, return the deliveries (recorded by the
/// next claim).
async fn send_batch(
    store: &Store,
    options: &DispatchOptions,
    client: &reqwest::Client,
    claimed: Vec<DueDelivery>,
) -> Vec<(DueDelivery, u16)> {
    let mut ids: Vec<_> = claimed.iter().map(|d| d.webhook_id).collect();
    ids.sort();
    ids.dedup();
    let targets = match webhooks::targets(store, &ids).await {
        Ok(targets) => targets,
        Err(e) => {
            tracing::warn!(error = %e, "loading webhook targets failed; the deliveries are retried when their lease ends");
            return Vec::new();
        }
    };
    let outcomes = join_all(claimed.iter().map(|d| {
        let target = targets
            .iter()
            .find(|t| t.id == d.webhook_id && t.company_id == d.company_id);
        async move {
            match target {
                Some(target) => send(client, options, target, d).await,
                None => Outcome::Failed(None, "the webhook no longer exists".into()),
            }
        }
    }))
    .await;
    let mut delivered = Vec::new();
    for (d, outcome) in claimed.into_iter().zip(outcomes) {
        match outcome {
            Outcome::Delivered(status) => {
                metrics::counter!("rivet_webhook_deliveries_total", "outcome" => "delivered")
                    .increment(1);
                let age = (chrono::Utc::now() - d.created_at)
                    .to_std()
                    .unwrap_or_default();
                metrics::histogram!("rivet_webhook_delivery_delay_seconds")
                    .record(age.as_secs_f64());
                delivered.push((d, status));
            }
            Outcome::Failed(status, error) => {
                metrics::counter!("rivet_webhook_deliveries_total", "outcome" => "failed")
                    .increment(1);
                let attempt = u32::try_from(d.attempts.max(1)).unwrap_or(1);
                let delay = retry_delay(attempt, options.retry_base, rand::random::<f64>());
                let retry_at = chrono::Utc::now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
                tracing::info!(company_id = %d.company_id, webhook_id = %d.webhook_id, event_id = %d.event_id, attempt, error = %error, "webhook delivery failed; will retry");
                match webhooks::settle_failed(store, &d, status, &error, retry_at).await {
                    Ok(true) => {
                        tracing::warn!(
                            target: "rivet::security",
                            event = "webhook_disabled",
                            company_id = %d.company_id,
                            webhook_id = %d.webhook_id,
                            error = %error,
                            "webhook turned off after {} failed deliveries in a row",
                            rivet_domain::events::MAX_CONSECUTIVE_FAILURES
                        );
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "recording a failed webhook delivery failed; it is retried when its lease ends");
                    }
                }
            }
        }
    }
    delivered
}

/// The HTTP client every delivery uses: no redirects, the configured timeout, and a resolver
/// that refuses internal addresses.
pub fn http_client(options: &DispatchOptions) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .user_agent(concat!("Rivet-Webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: options.allow_private,
        }))
        .build()
}

/// Send one delivery: sign the stored body and POST it.
async fn send(
    client: &reqwest::Client,
    options: &DispatchOptions,
    target: &Target,
    d: &DueDelivery,
) -> Outcome {
    // Checked again at delivery: the setting may have changed since the webhook was saved, and
    // a literal address never reaches the resolver.
    if let Err(e) = parse_webhook_url(&target.url, options.allow_private) {
        return Outcome::Failed(None, format!("refused: the URL {e}"));
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signature = signature_header(target.secret.as_bytes(), timestamp, d.body.as_bytes());
    let started = Instant::now();
    let response = client
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_ID_HEADER, d.event_id.to_string())
        .header(EVENT_TYPE_HEADER, d.event_type.as_str())
        .body(d.body.clone())
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(e) => return Outcome::Failed(None, describe(&e, options.timeout)),
    };
    let status = response.status();
    // Read a little of the answer so the connection can be reused; the rest is not wanted.
    let _ = tokio::time::timeout(
        options.timeout.saturating_sub(started.elapsed()),
        drain(response),
    )
    .await;
    if status.is_success() {
        Outcome::Delivered(status.as_u16())
    } else if status.is_redirection() {
        Outcome::Failed(
            Some(status.as_u16()),
            format!(
                "the receiver answered {status}; redirects are not followed (point the webhook at the final URL)"
            ),
        )
    } else {
        Outcome::Failed(
            Some(status.as_u16()),
            format!("the receiver answered {status}"),
        )
    }
}

async fn drain(mut response: reqwest::Response) {
    let mut read = 0usize;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > 64 * 1024 {
            break;
        }
    }
}

/// A delivery error in words for the delivery log, naming a refused address plainly.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(blocked) = e.downcast_ref::<Blocked>() {
            return format!("refused: {blocked}");
        }
        source = e.source();
    }
    if error.is_timeout() {
        return format!(
            "no answer within {} s (RIVET_WEBHOOK_TIMEOUT)",
            timeout.as_secs()
        );
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A host that resolves to an address deliveries may not reach.
#[derive(Debug)]
pub struct Blocked(String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

/// Why none of `addrs` (what `host` resolved to) may be delivered to, if so. Any blocked address
/// refuses the host: a name that also points inside could be rebound between checks.
pub fn check_resolved(host: &str, addrs: &[SocketAddr]) -> Result<(), Blocked> {
    for addr in addrs {
        if let Some(reason) = blocked_address(addr.ip()) {
            return Err(Blocked(format!(
                "{host} resolves to {} ({reason}); set RIVET_WEBHOOK_ALLOW_PRIVATE=true to allow it",
                addr.ip()
            )));
        }
    }
    Ok(())
}

/// The webhook client's resolver: resolves with the system's resolver and hands the connector
/// only checked addresses, so the address checked is the address connected to.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                check_resolved(&host, &addrs)?;
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Lag and delivery counts of every consumer, read from the database for `/metrics` (so they
/// are right whichever process did the work).
pub async fn record_gauges(app: &AppState) {
    match events::lag(&app.store).await {
        Ok(lags) => {
            for lag in lags {
                let consumer = lag.consumer.clone();
                metrics::gauge!("rivet_events_pending", "consumer" => consumer.clone())
                    .set(lag.pending as f64);
                metrics::gauge!("rivet_events_lag_seconds", "consumer" => consumer.clone())
                    .set(lag.oldest_pending_seconds);
                metrics::gauge!("rivet_events_position", "consumer" => consumer.clone())
                    .set(lag.position as f64);
                metrics::counter!("rivet_events_delivered_total", "consumer" => consumer)
                    .absolute(u64::try_from(lag.delivered).unwrap_or(0));
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the events lag for /metrics"),
    }
}
