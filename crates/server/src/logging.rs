//! Tracing: human-readable or JSON lines on stdout (`RIVET_LOG_FORMAT=json`), and the capture of
//! warnings, errors and security events into the `system_logs` table.
//!
//! # How capture works
//!
//! The subscriber is global and installed before the database is open, so the capture layer
//! ([`CaptureLayer`]) only turns each wanted event into a [`LogRecord`] and hands it to the
//! *sinks* attached so far, with `try_send` on a bounded channel: it never blocks, never awaits,
//! and a full channel drops the record and counts it ([`dropped_records`]). Each
//! [`attach_store`] call adds one sink: a channel and a writer task that batch-inserts into that
//! store every 500 ms or 100 records. Rows past the retention period are deleted by the daily
//! `maintenance.prune` job, not here.
//!
//! A record goes to **every** attached store. In production a process has exactly one (`rivet
//! serve` or `rivet worker` attach the store they opened), so this is simply "the database". The
//! API tests run many applications, each with its own database, in one process: broadcasting
//! lets each of them find its own events (the rows of other tests belong to other companies or
//! carry other request ids). A sink whose writer task has ended (its runtime shut down) is
//! removed on the next send. Attaching the same database twice is a no-op.
//!
//! Events from the writer itself (target `rivet::logging`) and from the database drivers
//! (`sqlx`, `sea_orm`) are never captured: a failing database would otherwise log about its own
//! failure forever.

use crate::config::{Config, LogFormat};
use chrono::Utc;
use rivet_store::Store;
use rivet_store::logs::{self, LogLevel, LogRecord};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};
use uuid::Uuid;

/// Events with this target are stored at any level.
pub const SECURITY_TARGET: &str = "rivet::security";
/// The writer's own diagnostics; never captured.
const SELF_TARGET: &str = "rivet::logging";
/// Targets whose events are never captured (see the module docs).
const EXCLUDED_TARGETS: &[&str] = &[SELF_TARGET, "sqlx", "sea_orm", "sea_orm_migration"];
/// Field names whose values are replaced by `"[redacted]"`.
const SECRET_MARKERS: &[&str] = &[
    "password",
    "secret",
    "token",
    "hash",
    "cookie",
    "authorization",
];

const CHANNEL_CAPACITY: usize = 10_000;
const BATCH: usize = 100;
const FLUSH_EVERY: Duration = Duration::from_millis(500);
const MAX_MESSAGE: usize = 4000;
const MAX_FIELD: usize = 1000;
/// Records captured before any store is attached wait here (start-up warnings).
const EARLY_CAPACITY: usize = 100;

static INSTALLED: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SINKS: RwLock<Vec<Sink>> = RwLock::new(Vec::new());
static EARLY: Mutex<Vec<Arc<LogRecord>>> = Mutex::new(Vec::new());

struct Sink {
    key: String,
    tx: mpsc::Sender<Arc<LogRecord>>,
}

/// Where the console log goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The server's and most commands' console.
    Stdout,
    /// For a command whose standard output is its result, such as `rivet export`.
    Stderr,
}

/// Install the global subscriber: the console (filtered by `RIVET_LOG`) and the capture layer
/// (its own filter, so `RIVET_LOG=error` still stores warnings and security events). Call once,
/// at start.
pub fn init(config: &Config, output: Output) {
    let filter = EnvFilter::try_new(stdout_directives(&config.log))
        .unwrap_or_else(|_| EnvFilter::new(stdout_directives("info")));
    let writer = move || -> Box<dyn std::io::Write> {
        match output {
            Output::Stdout => Box::new(std::io::stdout()),
            Output::Stderr => Box::new(std::io::stderr()),
        }
    };
    let terminal = match output {
        Output::Stdout => std::io::IsTerminal::is_terminal(&std::io::stdout()),
        Output::Stderr => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let stdout = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(terminal)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    };
    let result = tracing_subscriber::registry()
        .with(stdout)
        .with(CaptureLayer.with_filter(CaptureFilter))
        .try_init();
    match result {
        Ok(()) => INSTALLED.store(true, Ordering::SeqCst),
        Err(_) => eprintln!("a tracing subscriber was already installed"),
    }
}

/// `RIVET_LOG` plus a quieter migration library: it logs every known migration at info on every
/// start, burying the console's first lines. `Store::migrate` says what it applied instead.
/// Naming `sea_orm_migration` in `RIVET_LOG` brings its lines back.
fn stdout_directives(log: &str) -> String {
    if log.contains("sea_orm_migration") {
        log.to_owned()
    } else {
        format!("{log},sea_orm_migration=warn")
    }
}

/// Make sure captured events reach the database even when [`init`] was not called (tests, or an
/// embedding program): installs a subscriber with only the capture layer if none exists.
fn ensure_capture() {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = tracing_subscriber::registry()
        .with(CaptureLayer.with_filter(CaptureFilter))
        .try_init();
}

/// Start storing captured events in `store`, identified by `key` (its database URL): a second
/// call with the same key does nothing. Needs a Tokio runtime (it spawns the writer).
pub fn attach_store(key: &str, store: &Store) {
    ensure_capture();
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    {
        let mut sinks = SINKS.write().unwrap_or_else(|e| e.into_inner());
        sinks.retain(|s| !s.tx.is_closed());
        if sinks.iter().any(|s| s.key == key) {
            return;
        }
        let early = std::mem::take(&mut *EARLY.lock().unwrap_or_else(|e| e.into_inner()));
        for record in early {
            let _ = tx.try_send(record);
        }
        sinks.push(Sink {
            key: key.to_owned(),
            tx,
        });
    }
    tokio::spawn(write_loop(store.clone(), rx));
}

/// Records dropped because a writer could not keep up (for `/metrics`).
pub fn dropped_records() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn send(record: LogRecord) {
    let record = Arc::new(record);
    let mut closed = false;
    {
        let sinks = SINKS.read().unwrap_or_else(|e| e.into_inner());
        if sinks.is_empty() {
            let mut early = EARLY.lock().unwrap_or_else(|e| e.into_inner());
            if early.len() < EARLY_CAPACITY {
                early.push(record);
            } else {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        for sink in sinks.iter() {
            match sink.tx.try_send(record.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    DROPPED.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => closed = true,
            }
        }
    }
    if closed {
        // Only after the read lock is released; `try_write` so an event never waits here.
        if let Ok(mut sinks) = SINKS.try_write() {
            sinks.retain(|s| !s.tx.is_closed());
        }
    }
}

async fn write_loop(store: Store, mut rx: mpsc::Receiver<Arc<LogRecord>>) {
    let mut batch: Vec<Arc<LogRecord>> = Vec::with_capacity(BATCH);
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let room = BATCH.saturating_sub(batch.len()).max(1);
        tokio::select! {
            received = rx.recv_many(&mut batch, room) => {
                if received == 0 {
                    write(&store, &mut batch).await;
                    return;
                }
                if batch.len() >= BATCH {
                    write(&store, &mut batch).await;
                }
            }
            _ = flush.tick() => write(&store, &mut batch).await,
        }
    }
}

async fn write(store: &Store, batch: &mut Vec<Arc<LogRecord>>) {
    if batch.is_empty() {
        return;
    }
    let records: Vec<LogRecord> = batch.drain(..).map(|r| (*r).clone()).collect();
    if let Err(e) = logs::insert_batch(store, &records).await {
        // A failed batch is dropped rather than retried: logs must not pile up in memory while
        // the database is away. The line still reaches stdout.
        DROPPED.fetch_add(records.len() as u64, Ordering::Relaxed);
        tracing::error!(target: SELF_TARGET, error = %e, lost = records.len(), "could not store log records");
    }
}

fn excluded(target: &str) -> bool {
    EXCLUDED_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

fn is_security(target: &str) -> bool {
    target
        .strip_prefix(SECURITY_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// Whether an event with this level and target is stored.
fn wanted_event(level: &Level, target: &str) -> bool {
    !excluded(target) && (*level <= Level::WARN || is_security(target))
}

/// The capture layer's own filter: an unwanted call site is switched off once (a `debug!` then
/// costs an atomic load), a wanted one is asked again per event (see `callsite_enabled`).
struct CaptureFilter;

impl CaptureFilter {
    fn wanted(meta: &Metadata<'_>) -> bool {
        // Spans are not followed: the request id comes from the task-local set for the request,
        // so a request span costs nothing unless stdout logging wants it.
        !meta.is_span() && wanted_event(meta.level(), meta.target())
    }
}

impl<S> Filter<S> for CaptureFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        Self::wanted(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // Never `always`: a per-layer filter remembers its last answer per thread until an event
        // consumes it, and an `enabled` check that dispatches nothing (`log::log_enabled!`, the
        // `log` bridge) leaves a "no" behind; an `always` event would skip the fresh check and be
        // lost. `sometimes` re-asks for every wanted event. Events bridged from the `log` crate
        // share one call site per level, so their real target is only known per event anyway.
        if meta.target() == "log" || Self::wanted(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

tokio::task_local! {
    /// The id of the request being served, for the records written while serving it.
    static REQUEST_ID: Arc<str>;
}

/// Run `future` (a request's handling) with `request_id` as the id of the records it writes.
pub async fn with_request_id<F: std::future::Future>(request_id: Arc<str>, future: F) -> F::Output {
    REQUEST_ID.scope(request_id, future).await
}

/// Turns events into [`LogRecord`]s for the attached sinks (module docs).
pub struct CaptureLayer;

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut visitor = EventFields::default();
        event.record(&mut visitor);
        let target = visitor
            .log_target
            .take()
            .unwrap_or_else(|| meta.target().to_owned());
        if !wanted_event(meta.level(), &target) {
            return;
        }
        if visitor.request_id.is_none() {
            visitor.request_id = REQUEST_ID
                .try_with(|id| clip(id, 200))
                .ok()
                .filter(|id| !id.is_empty());
        }
        send(LogRecord {
            id: rivet_store::new_id(),
            company_id: visitor.company_id,
            level: level_of(meta.level()),
            target,
            message: visitor.message,
            fields: Value::Object(visitor.fields),
            request_id: visitor.request_id,
            created_at: Utc::now(),
        });
    }
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| name.contains(m))
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => {
            let mut out = text[..end].to_owned();
            out.push('…');
            out
        }
        None => text.to_owned(),
    }
}

/// One event's fields, sorted into the record's columns.
#[derive(Default)]
struct EventFields {
    message: String,
    company_id: Option<Uuid>,
    request_id: Option<String>,
    /// The original target of an event bridged from the `log` crate.
    log_target: Option<String>,
    fields: Map<String, Value>,
}

impl EventFields {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if let Some(rest) = name.strip_prefix("log.") {
            if rest == "target" {
                self.log_target = value.as_str().map(str::to_owned);
            }
            return;
        }
        let text = value.as_str();
        match name {
            "message" => {
                self.message = match text {
                    Some(t) => clip(t, MAX_MESSAGE),
                    None => clip(&value.to_string(), MAX_MESSAGE),
                };
                return;
            }
            "company_id" => {
                if let Some(id) = text.and_then(|t| Uuid::parse_str(t).ok()) {
                    self.company_id = Some(id);
                    return;
                }
            }
            "request_id" => {
                if let Some(t) = text.filter(|t| !t.is_empty()) {
                    self.request_id = Some(clip(t, 200));
                    return;
                }
            }
            _ => {}
        }
        let value = if is_secret(name) {
            Value::from("[redacted]")
        } else {
            match value {
                Value::String(s) => Value::String(clip(&s, MAX_FIELD)),
                other => other,
            }
        };
        self.fields.insert(name.to_owned(), value);
    }
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(inner) = source {
            let _ = write!(text, ": {inner}");
            source = inner.source();
        }
        self.put(field, Value::from(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_errors_and_security_events_are_wanted_but_not_driver_noise() {
        assert!(wanted_event(&Level::WARN, "rivet_server::app"));
        assert!(wanted_event(&Level::ERROR, "hyper"));
        assert!(!wanted_event(&Level::INFO, "rivet_server::app"));
        assert!(wanted_event(&Level::INFO, "rivet::security"));
        assert!(wanted_event(&Level::DEBUG, "rivet::security::login"));
        assert!(!wanted_event(&Level::INFO, "rivet::securityish"));
        assert!(!wanted_event(&Level::ERROR, "sqlx::query"));
        assert!(!wanted_event(&Level::ERROR, "sea_orm::driver"));
        assert!(!wanted_event(&Level::ERROR, SELF_TARGET));
        assert!(wanted_event(&Level::ERROR, "sqlxish"));
    }

    #[test]
    fn secret_fields_are_redacted_by_name() {
        assert!(is_secret("password"));
        assert!(is_secret("refresh_token"));
        assert!(is_secret("Authorization"));
        assert!(!is_secret("event"));
        assert!(!is_secret("user_id"));
    }

    #[test]
    fn long_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hi", 2), "hi");
    }
}
