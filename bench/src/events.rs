//! `rivet-bench events`: domain events dispatched to a local webhook receiver (issue 12).
//!
//! Two runs against the release binary and a receiver started here (an axum server on
//! 127.0.0.1 that notes when each delivery arrives):
//! 1. **Drain**: `rivet serve` with its workers off takes `--events` lead creations (one
//!    `lead.created` each, all subscribed by one webhook) and is stopped; then `rivet worker`
//!    alone delivers the backlog. Events per second = events / (last arrival − first arrival).
//! 2. **Live**: `rivet serve` with its workers on takes the same number of lead creations from
//!    `--concurrency` clients; commit-to-delivery = arrival time − the event's `created_at`
//!    (stamped in the transaction just before it commits, same clock): p50, p99, max.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use clap::Args;
use hyper::Method;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use crate::client;
use crate::procs::{self, ServerProc};

#[derive(Args)]
pub struct EventsArgs {
    /// An empty database to use (postgres://…); default a SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Path to the rivet binary [default: as for `foundation`].
    #[arg(long)]
    rivet: Option<PathBuf>,
    /// Lead creations (= events) per run.
    #[arg(long, default_value_t = 5000)]
    events: usize,
    /// Concurrent clients creating leads.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// A second rivet binary measured in the same run: each round runs `--rivet`, then this one
    /// (A/B/A/B), each on a fresh database.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Rounds; each runs every binary once.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench-password-123";

/// Arrivals: (event created_at, arrival wall-clock time, arrival instant).
type Arrivals = Arc<Mutex<Vec<(SystemTime, SystemTime, Instant)>>>;

async fn receiver() -> Result<(SocketAddr, Arrivals)> {
    let arrivals: Arrivals = Arc::default();
    let state = arrivals.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let state = state.clone();
        async move {
            let now = (SystemTime::now(), Instant::now());
            let created = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["created_at"].as_str().map(str::to_owned))
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(SystemTime::from)
                .unwrap_or(now.0);
            if let Ok(mut list) = state.lock() {
                list.push((created, now.0, now.1));
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, arrivals))
}

pub(crate) fn rivet_command(
    path: &Path,
    sub: &str,
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> Command {
    let mut cmd = Command::new(path);
    cmd.arg(sub);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RIVET_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.env("RIVET_DATA_DIR", data_dir)
        .env("RIVET_ADMIN_EMAIL", EMAIL)
        .env("RIVET_ADMIN_PASSWORD", PASSWORD)
        .env("RIVET_LOG", "warn")
        .env("RIVET_RATE_LIMIT_DISABLED", "true")
        .env("RIVET_WEBHOOK_ALLOW_PRIVATE", "true");
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

pub(crate) async fn serve(
    path: &Path,
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    workers: bool,
) -> Result<ServerProc> {
    let addr = procs::free_addr()?;
    let mut cmd = rivet_command(path, "serve", data_dir, database_url);
    cmd.env("RIVET_ADDR", addr.to_string())
        .env("RIVET_WORKERS", if workers { "true" } else { "false" });
    let mut proc = ServerProc::spawn("rivet", addr, cmd, None)?;
    proc.wait_ready("/healthz", Duration::from_secs(120))
        .await?;
    Ok(proc)
}

pub(crate) async fn sign_in(addr: SocketAddr) -> Result<HeaderValue> {
    let login = client::send_json(
        addr,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": EMAIL, "password": PASSWORD})),
    )
    .await?;
    let token = login["access_token"]
        .as_str()
        .context("no access token")?
        .to_owned();
    Ok(HeaderValue::from_str(&format!("Bearer {token}"))?)
}

/// Create `n` leads from `concurrency` keep-alive connections; returns the elapsed time.
async fn create_leads(
    addr: SocketAddr,
    auth: &HeaderValue,
    n: usize,
    concurrency: usize,
    tag: &str,
) -> Result<Duration> {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (auth, next, tag) = (auth.clone(), next.clone(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut sender = client::connect(addr).await?;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                let body = json!({"last_name": format!("{tag} {i}")});
                let req = client::request(
                    addr,
                    Method::POST,
                    "/api/v1/leads",
                    Some(&auth),
                    Some(&body),
                )?;
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                anyhow::ensure!(
                    resp.status().as_u16() == 201,
                    "create lead: {}",
                    resp.status()
                );
                http_body_util::BodyExt::collect(resp.into_body()).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

async fn wait_for(arrivals: &Arrivals, n: usize, within: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let got = arrivals.lock().map(|a| a.len()).unwrap_or(0);
        if got >= n {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < within,
            "only {got} of {n} deliveries within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Empty the PostgreSQL database `url` names (drop and create it through `psql` connected to
/// the server's `postgres` database), so every run starts from nothing.
pub(crate) fn fresh_postgres(url: &str) -> Result<()> {
    let base = url.split('?').next().unwrap_or(url);
    let (server, name) = base
        .rsplit_once('/')
        .context("the database URL names no database")?;
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "use a plain database name (letters, digits, _) with --database-url: {name:?}"
    );
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        let status = Command::new("psql")
            .arg(format!("{server}/postgres"))
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", &sql])
            .status()
            .context("running psql")?;
        anyhow::ensure!(status.success(), "psql failed: {sql}");
    }
    Ok(())
}

pub async fn run(args: EventsArgs) -> Result<ExitCode> {
    let mut binaries = vec![procs::find_rivet(args.rivet.as_deref())?];
    binaries.extend(args.compare.clone());
    for (i, path) in binaries.iter().enumerate() {
        eprintln!("{}: {}", label(i), path.display());
    }
    println!(
        "| build | engine | events | drain events/s | live events/s (lead creation rate) | commit→delivery p50 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for _ in 0..args.rounds.max(1) {
        for (i, path) in binaries.iter().enumerate() {
            if let Some(url) = &args.database_url {
                fresh_postgres(url)?;
            }
            let row = run_once(&args, path).await?;
            println!("| {} | {row}", label(i));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn label(i: usize) -> &'static str {
    if i == 0 { "A" } else { "B" }
}

/// One drain and one live run of `rivet`; returns the table row (without the build column).
async fn run_once(args: &EventsArgs, rivet: &Path) -> Result<String> {
    let rivet = rivet.to_path_buf();
    let data_dir = tempfile::Builder::new()
        .prefix("rivet-bench-events-")
        .tempdir()?;
    let db = args.database_url.as_deref();
    let engine = if db.is_some() { "PostgreSQL" } else { "SQLite" };
    let (receiver_addr, arrivals) = receiver().await?;

    // 1. Drain a backlog with `rivet worker` alone.
    let server = serve(&rivet, data_dir.path(), db, false).await?;
    let auth = sign_in(server.addr).await?;
    client::send_json(
        server.addr,
        Method::POST,
        "/api/v1/webhooks",
        Some(&auth),
        Some(&json!({"url": format!("http://{receiver_addr}/hook"), "event_types": ["lead.created"]})),
    )
    .await?;
    let made = create_leads(server.addr, &auth, args.events, args.concurrency, "Drain").await?;
    eprintln!(
        "{engine}: {} leads created in {:.1} s with the workers off",
        args.events,
        made.as_secs_f64()
    );
    drop(server);
    let mut worker = rivet_command(&rivet, "worker", data_dir.path(), db);
    worker
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let mut worker = worker.spawn().context("starting rivet worker")?;
    let drained = wait_for(&arrivals, args.events, Duration::from_secs(600)).await;
    let _ = worker.kill();
    let _ = worker.wait();
    drained?;
    let drain: Vec<_> = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let first = drain.iter().map(|a| a.2).min().context("no arrivals")?;
    let last = drain.iter().map(|a| a.2).max().context("no arrivals")?;
    let drain_secs = (last - first).as_secs_f64().max(1e-6);
    let drain_rate = args.events as f64 / drain_secs;
    if let Ok(mut a) = arrivals.lock() {
        a.clear();
    }

    // 2. Live: deliveries while leads are being created.
    let server = serve(&rivet, data_dir.path(), db, true).await?;
    let auth = sign_in(server.addr).await?;
    let made = create_leads(server.addr, &auth, args.events, args.concurrency, "Live").await?;
    wait_for(&arrivals, args.events, Duration::from_secs(600)).await?;
    drop(server);
    let live: Vec<_> = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut delays: Vec<f64> = live
        .iter()
        .map(|(created, arrived, _)| {
            arrived
                .duration_since(*created)
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let first = live.iter().map(|a| a.2).min().context("no arrivals")?;
    let last = live.iter().map(|a| a.2).max().context("no arrivals")?;
    let live_rate = args.events as f64 / (last - first).as_secs_f64().max(1e-6);

    Ok(format!(
        "{engine} | {} | {:.0} | {:.0} ({:.0} leads/s created) | {:.0} | {:.0} | {:.0} |",
        args.events,
        drain_rate,
        live_rate,
        args.events as f64 / made.as_secs_f64().max(1e-6),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0.0),
    ))
}
