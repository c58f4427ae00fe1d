//! `rivet-bench`: load benchmarks for the Rivet server.
//!
//! `rivet-bench foundation` compares a bare axum "hello" server (the framework
//! ceiling) with rivet's authenticated `GET /api/v1/me` and
//! `GET /api/v1/users?limit=50`, and reports throughput, latency and RSS.
//! `rivet-bench records` runs the record scenario against a seeded database; `events`,
//! `workflows` and `sequences` measure the workers (issues 12 and 15).
//! See `bench/README.md`.

mod ab;
mod client;
mod events;
mod load;
mod model;
mod procs;
mod records;
mod report;
mod sequences;
mod workflows;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use hyper::Method;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use crate::load::{LoadConfig, Target};
use crate::procs::{ServerProc, status_kb};
use crate::report::{ProcMem, Report};

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "bench-password-123";

#[derive(Parser)]
#[command(name = "rivet-bench", about = "Load benchmarks for the Rivet server")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Bare axum hello vs rivet `/api/v1/me` and `/api/v1/users`: rps, latency, RSS.
    Foundation(FoundationArgs),
    /// Against a seeded server (`rivet seed --demo --size large`): a rep's new leads, a deal
    /// and its timeline, global search, creating a lead, and the bare axum ceiling.
    Records(records::RecordsArgs),
    /// Domain events delivered to a local webhook receiver: events/s and commit-to-delivery.
    Events(events::EventsArgs),
    /// The lead conversion model on a synthetic lead set: train time and test ROC AUC.
    Model(model::ModelArgs),
    /// Workflow rules: evaluation per event with 100 active rules, and event to action at a
    /// steady rate of events.
    Workflows(workflows::WorkflowArgs),
    /// E-mail sequences: 10,000 enrollments through a one-step sequence into an SMTP sink,
    /// messages per second, duplicates and losses (optionally killing the worker mid-run).
    Sequences(sequences::SequenceArgs),
    /// Bare axum server answering `GET /` with "hello" (spawned by `foundation`).
    #[command(hide = true)]
    HelloServer {
        #[arg(long)]
        addr: SocketAddr,
    },
}

#[derive(Args)]
struct FoundationArgs {
    /// Path to the rivet release binary [default: $CARGO_TARGET_DIR/release/rivet,
    /// then target/release/rivet, then next to rivet-bench].
    #[arg(long)]
    rivet: Option<PathBuf>,
    /// Measured seconds per target (after the warm-up).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured warm-up seconds per target.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Concurrent closed-loop tasks, one keep-alive connection each.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Runtime threads of the load generator (1 = it uses at most one core).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Users created before the run so the list endpoint returns a full page.
    #[arg(long, default_value_t = 60)]
    users: usize,
    /// Also write the markdown report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> Result<ExitCode> {
    match Cli::parse().command {
        Cmd::HelloServer { addr } => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(hello_server(addr))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Records(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                tokio::select! {
                    result = records::run(args) => result,
                    signal = interrupted() => {
                        signal?;
                        anyhow::bail!("interrupted; servers stopped")
                    }
                }
            }),
        Cmd::Model(args) => model::run(args),
        Cmd::Workflows(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async {
                tokio::select! {
                    result = workflows::run(args) => result,
                    signal = interrupted() => {
                        signal?;
                        anyhow::bail!("interrupted; servers stopped")
                    }
                }
            }),
        Cmd::Sequences(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async {
                tokio::select! {
                    result = sequences::run(args) => result,
                    signal = interrupted() => {
                        signal?;
                        anyhow::bail!("interrupted; servers stopped")
                    }
                }
            }),
        Cmd::Events(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async {
                tokio::select! {
                    result = events::run(args) => result,
                    signal = interrupted() => {
                        signal?;
                        anyhow::bail!("interrupted; servers stopped")
                    }
                }
            }),
        Cmd::Foundation(args) => {
            let mut builder = if args.client_threads <= 1 {
                tokio::runtime::Builder::new_current_thread()
            } else {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(args.client_threads);
                b
            };
            builder.enable_all().build()?.block_on(async {
                // On Ctrl-C / SIGTERM the `foundation` future is dropped, which
                // kills both server subprocesses (see `ServerProc`).
                tokio::select! {
                    result = foundation(args) => result,
                    signal = interrupted() => {
                        signal?;
                        anyhow::bail!("interrupted; servers stopped")
                    }
                }
            })
        }
    }
}

async fn interrupted() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

async fn hello_server(addr: SocketAddr) -> Result<()> {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn foundation(args: FoundationArgs) -> Result<ExitCode> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.duration > 0, "--duration must be at least 1");
    let rivet_path = procs::find_rivet(args.rivet.as_deref())?;
    let cfg = LoadConfig {
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };

    // Both servers are child processes; `ServerProc` kills them on drop,
    // including when `?` returns early.
    let hello_addr = procs::free_addr()?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("hello-server")
        .arg("--addr")
        .arg(hello_addr.to_string());
    let mut hello = ServerProc::spawn("hello server", hello_addr, cmd, None)?;
    hello.wait_ready("/", Duration::from_secs(10)).await?;
    eprintln!("hello server ready on {hello_addr} (pid {})", hello.pid());

    let rivet_addr = procs::free_addr()?;
    let data_dir = tempfile::Builder::new().prefix("rivet-bench-").tempdir()?;
    let mut cmd = Command::new(&rivet_path);
    cmd.arg("serve");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RIVET_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RIVET_ADDR", rivet_addr.to_string())
        .env("RIVET_DATA_DIR", data_dir.path())
        .env("RIVET_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("RIVET_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RIVET_LOG", "warn")
        .env("RIVET_RATE_LIMIT_DISABLED", "true");
    let mut rivet = ServerProc::spawn("rivet", rivet_addr, cmd, Some(data_dir))?;
    let startup = rivet
        .wait_ready("/healthz", Duration::from_secs(60))
        .await?;
    eprintln!(
        "rivet ready on {rivet_addr} (pid {}) after {:.2} s",
        rivet.pid(),
        startup.as_secs_f64()
    );

    let (auth, users_page_len) = setup(rivet_addr, args.users).await?;
    // Idle means idle: give the server a few quiet seconds after the setup burst (60 password
    // hashes of 19 MiB each) so the allocator can hand freed memory back, as it would between
    // sign-ins on a real installation.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rivet_idle = status_kb(rivet.pid(), "VmRSS");
    let hello_idle = status_kb(hello.pid(), "VmRSS");

    let targets = [
        (
            "hello `GET /` (bare axum)",
            hello_addr,
            "/",
            None,
            hello.pid(),
        ),
        (
            "rivet `GET /api/v1/me`",
            rivet_addr,
            "/api/v1/me",
            Some(auth.clone()),
            rivet.pid(),
        ),
        (
            "rivet `GET /api/v1/users?limit=50`",
            rivet_addr,
            "/api/v1/users?limit=50",
            Some(auth),
            rivet.pid(),
        ),
    ];
    let mut results = Vec::new();
    for (label, addr, path, auth, pid) in targets {
        eprintln!(
            "load: {label} ({} s warm-up + {} s)...",
            args.warmup, args.duration
        );
        let target = Target::get(label, addr, path, auth);
        let r = load::run(target, cfg, Some(pid)).await?;
        eprintln!("  {}", r.summary());
        results.push(r);
    }

    let max_peak = |rs: &[load::LoadResult]| rs.iter().filter_map(|r| r.peak_rss_kb).max();
    let memory = [
        ProcMem {
            name: "rivet",
            idle_kb: rivet_idle,
            peak_kb: max_peak(&results[1..]),
            hwm_kb: status_kb(rivet.pid(), "VmHWM"),
        },
        ProcMem {
            name: "hello (bare axum)",
            idle_kb: hello_idle,
            peak_kb: max_peak(&results[..1]),
            hwm_kb: status_kb(hello.pid(), "VmHWM"),
        },
    ];
    drop(rivet);
    drop(hello);

    let me_ratio = (results[0].rps > 0.0).then(|| results[1].rps / results[0].rps);
    let report = Report {
        cfg,
        client_threads: args.client_threads.max(1),
        rivet_path: rivet_path.display().to_string(),
        users_page_len,
        results: &results,
        memory: &memory,
        me_ratio,
    };
    let markdown = report.to_markdown();
    println!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::write(out, &markdown).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("report written to {}", out.display());
    }
    if report.total_errors() > 0 {
        eprintln!("error: the run had non-2xx responses or transport errors; results are invalid");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// `{"data": [...]}` or a bare array.
fn data_array(v: &Value) -> Option<&Vec<Value>> {
    v.get("data")
        .and_then(Value::as_array)
        .or_else(|| v.as_array())
}

/// Logs in as the bench admin and creates `users` sales users. Returns the
/// bearer header and the length of the first users page (sanity check).
async fn setup(addr: SocketAddr, users: usize) -> Result<(HeaderValue, Option<usize>)> {
    let creds = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
    let login = client::send_json(addr, Method::POST, "/api/v1/auth/login", None, Some(&creds))
        .await
        .context("logging in as the bench admin")?;
    let token = login
        .get("access_token")
        .and_then(Value::as_str)
        .with_context(|| format!("login response has no access_token: {login}"))?;
    let auth = HeaderValue::from_str(&format!("Bearer {token}"))?;

    let roles = client::send_json(addr, Method::GET, "/api/v1/roles", Some(&auth), None).await;
    let sales_id = roles.and_then(|roles| {
        data_array(&roles)
            .into_iter()
            .flatten()
            .find(|r| r.get("name").and_then(Value::as_str) == Some("sales"))
            .and_then(|r| r.get("id").cloned())
            .with_context(|| format!("no role named \"sales\" in {roles}"))
    });
    match sales_id {
        Err(e) => eprintln!("warning: cannot find the sales role ({e:#}); not creating users"),
        Ok(role_id) => {
            let mut created = 0;
            for i in 1..=users {
                let body = json!({
                    "email": format!("user{i}@example.com"),
                    "name": format!("User {i}"),
                    "role_id": role_id,
                    "password": "user-password-123",
                });
                match client::send(
                    addr,
                    Method::POST,
                    "/api/v1/users",
                    Some(&auth),
                    Some(&body),
                )
                .await
                {
                    Ok((status, _)) if status.is_success() => created += 1,
                    Ok((status, resp)) => eprintln!(
                        "warning: creating user{i} returned {status}: {}",
                        String::from_utf8_lossy(&resp)
                    ),
                    Err(e) => eprintln!("warning: creating user{i} failed: {e:#}"),
                }
            }
            eprintln!("created {created}/{users} users");
        }
    }

    let page = client::send_json(
        addr,
        Method::GET,
        "/api/v1/users?limit=50",
        Some(&auth),
        None,
    )
    .await;
    let page_len = match page {
        Ok(v) => data_array(&v).map(Vec::len),
        Err(e) => {
            eprintln!("warning: listing users failed before the run: {e:#}");
            None
        }
    };
    Ok((auth, page_len))
}
