//! `rivet-bench records`: the issue-4 scenario against a server holding the demo data set
//! (`rivet seed --demo --size large`): a rep's new leads, one deal and its timeline, global
//! search, creating a lead — and the bare axum hello server as the ceiling.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use hyper::Method;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use crate::client;
use crate::load::{self, LoadConfig, LoadResult, Target};
use crate::procs::{self, ServerProc, status_kb};

#[derive(Args)]
pub struct RecordsArgs {
    /// The seeded database rivet serves (sqlite://… or postgres://…).
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: String,
    /// Path to the rivet binary [default: as for `foundation`].
    #[arg(long)]
    pub(crate) rivet: Option<PathBuf>,
    /// The demo admin to sign in as.
    #[arg(long, default_value = "admin@demo-company.test")]
    pub(crate) email: String,
    /// The demo password (what `rivet seed --demo` printed).
    #[arg(
        long,
        env = "RIVET_DEMO_PASSWORD",
        default_value = "rivet-demo-2024",
        hide_env_values = true
    )]
    pub(crate) password: String,
    /// Measured seconds per target (after the warm-up).
    #[arg(long, default_value_t = 10)]
    pub(crate) duration: u64,
    /// Unmeasured warm-up seconds per target.
    #[arg(long, default_value_t = 2)]
    pub(crate) warmup: u64,
    /// Concurrent closed-loop tasks, one keep-alive connection each.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Also write the markdown report to this file.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Load only the targets whose label contains this text (e.g. `search`); the hello server
    /// always runs.
    #[arg(long)]
    pub(crate) only: Option<String>,
    /// PostgreSQL: only the leads list and lead create, each with row-level security off and
    /// on (`RIVET_PG_RLS`), alternating, `--rounds` times (see `crate::ab`).
    #[arg(long, conflicts_with = "compare")]
    pub(crate) rls_compare: bool,
    /// Another rivet binary (e.g. the build from before a change) to measure against this one
    /// in alternating rounds: the leads list, lead create, a deal stage move and a deal's
    /// timeline (see `crate::ab`).
    #[arg(long, value_name = "OTHER_RIVET")]
    pub(crate) compare: Option<PathBuf>,
    /// The database the `--compare` binary serves [default: --database-url]. A copy of the
    /// same data when the two builds' migrations differ (each refuses a schema newer than
    /// its own).
    #[arg(long, requires = "compare")]
    pub(crate) compare_database_url: Option<String>,
    /// Rounds of `--rls-compare` or `--compare` (each runs every target on the first side,
    /// then on the second).
    #[arg(long, default_value_t = 2)]
    pub(crate) rounds: usize,
}

/// Last names the seed uses, for search queries.
const SEARCH_NAMES: &[&str] = &[
    "Smith",
    "Garcia",
    "Nguyen",
    "Patel",
    "Kowalski",
    "Lindqvist",
    "Okafor",
    "Rossi",
    "Chen",
    "Murphy",
    "Nakamura",
    "Haddad",
    "Dubois",
    "Schmidt",
    "Silva",
    "Larsen",
];

/// A last name with its second and third letters swapped ("Smith" → "Simth"): a typo that
/// leaves the name's start broken and its common end intact.
fn typo(name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() >= 3 {
        chars.swap(1, 2);
    }
    chars.into_iter().collect()
}

/// A step of the scenario that could not run, and why.
struct Skipped {
    label: &'static str,
    reason: String,
}

pub async fn run(args: RecordsArgs) -> Result<ExitCode> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.duration > 0, "--duration must be at least 1");
    let rivet_path = procs::find_rivet(args.rivet.as_deref())?;
    let cfg = LoadConfig {
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    if args.rls_compare {
        return crate::ab::rls(&args, &rivet_path, cfg).await;
    }
    if let Some(other) = &args.compare {
        return crate::ab::compare(&args, &rivet_path, other, cfg).await;
    }

    let hello_addr = procs::free_addr()?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("hello-server")
        .arg("--addr")
        .arg(hello_addr.to_string());
    let mut hello = ServerProc::spawn("hello server", hello_addr, cmd, None)?;
    hello.wait_ready("/", Duration::from_secs(10)).await?;

    let (rivet, rivet_addr) = start_rivet(&args.database_url, &rivet_path, &[]).await?;

    let plan = setup(rivet_addr, &args.email, &args.password, args.concurrency).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rivet_idle = status_kb(rivet.pid(), "VmRSS");

    let mut targets = vec![(
        Target::get("hello `GET /` (bare axum)", hello_addr, "/", None),
        hello.pid(),
    )];
    for target in plan.targets {
        if args
            .only
            .as_deref()
            .is_some_and(|only| !target.label.contains(only))
        {
            continue;
        }
        targets.push((target, rivet.pid()));
    }
    // Conversions change the data (each makes an account, a contact and a deal), so they run
    // only when asked for by name, after everything else.
    if args
        .only
        .as_deref()
        .is_some_and(|only| CONVERT.contains(only))
    {
        let target = conversions(rivet_addr, &plan.auth, CONVERSIONS).await?;
        targets.push((target, rivet.pid()));
    }
    let mut results = Vec::new();
    for (target, pid) in targets {
        eprintln!(
            "load: {} ({} s warm-up + {} s)...",
            target.label, args.warmup, args.duration
        );
        let r = load::run(target, cfg, Some(pid)).await?;
        eprintln!("  {}", r.summary());
        results.push(r);
    }
    let rivet_hwm = status_kb(rivet.pid(), "VmHWM");
    drop(rivet);
    drop(hello);

    let markdown = report(
        &args,
        &rivet_path,
        cfg,
        &results,
        &plan.skipped,
        rivet_idle,
        rivet_hwm,
    );
    println!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::write(out, &markdown).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("report written to {}", out.display());
    }
    if results.iter().any(|r| r.errors > 0) {
        eprintln!("error: the run had non-2xx responses or transport errors; results are invalid");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Start `rivet serve` on `database_url` with only the `RIVET_*` variables given here.
pub(crate) async fn start_rivet(
    database_url: &str,
    rivet_path: &std::path::Path,
    env: &[(&str, &str)],
) -> Result<(ServerProc, SocketAddr)> {
    let rivet_addr = procs::free_addr()?;
    let data_dir = tempfile::Builder::new().prefix("rivet-bench-").tempdir()?;
    let mut cmd = Command::new(rivet_path);
    cmd.arg("serve");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RIVET_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("DATABASE_URL", database_url)
        .env("RIVET_ADDR", rivet_addr.to_string())
        .env("RIVET_DATA_DIR", data_dir.path())
        .env("RIVET_LOG", "warn")
        .env("RIVET_RATE_LIMIT_DISABLED", "true");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut rivet = ServerProc::spawn("rivet", rivet_addr, cmd, Some(data_dir))?;
    let startup = rivet
        .wait_ready("/healthz", Duration::from_secs(120))
        .await?;
    eprintln!(
        "rivet ready on {rivet_addr} (pid {}) after {:.2} s",
        rivet.pid(),
        startup.as_secs_f64()
    );
    Ok((rivet, rivet_addr))
}

pub(crate) struct Plan {
    pub(crate) targets: Vec<Target>,
    skipped: Vec<Skipped>,
    /// The signed-in admin's bearer token.
    auth: HeaderValue,
}

fn data_array(v: &Value) -> Vec<Value> {
    v.get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Sign in, find a sales rep and some deals, and probe the endpoints that may not exist yet.
/// `concurrency` is the number of load workers (the stage moves need one deal each).
pub(crate) async fn setup(
    addr: SocketAddr,
    email: &str,
    password: &str,
    concurrency: usize,
) -> Result<Plan> {
    let creds = json!({ "email": email, "password": password });
    let login = client::send_json(addr, Method::POST, "/api/v1/auth/login", None, Some(&creds))
        .await
        .with_context(|| {
            format!("signing in as {email} (was the database seeded with `rivet seed --demo`?)")
        })?;
    let token = login
        .get("access_token")
        .and_then(Value::as_str)
        .with_context(|| format!("login response has no access_token: {login}"))?;
    let auth = HeaderValue::from_str(&format!("Bearer {token}"))?;
    let get = |path: String| {
        let auth = auth.clone();
        async move { client::send(addr, Method::GET, &path, Some(&auth), None).await }
    };

    let users = client::send_json(
        addr,
        Method::GET,
        "/api/v1/users?limit=100",
        Some(&auth),
        None,
    )
    .await?;
    let rep = data_array(&users)
        .into_iter()
        .find(|u| u.get("role_name").and_then(Value::as_str) == Some("sales"))
        .and_then(|u| u.get("id").and_then(Value::as_str).map(str::to_owned))
        .context(
            "no sales rep among the users: was the database seeded with `rivet seed --demo`?",
        )?;

    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    let list = format!("/api/v1/leads?owner_id={rep}&status=new&sort=-created_at&limit=50");
    let (status, body) = get(list.clone()).await?;
    anyhow::ensure!(
        status.is_success(),
        "GET {list} returned {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let page: Value = serde_json::from_slice(&body).unwrap_or_default();
    eprintln!(
        "a rep's new leads: {} on the first page",
        data_array(&page).len()
    );
    targets.push(Target::get(
        "`GET /api/v1/leads?owner_id=<rep>&status=new&sort=-created_at&limit=50`",
        addr,
        list,
        Some(auth.clone()),
    ));

    let (status, body) = get("/api/v1/deals?limit=100".into()).await?;
    if status.is_success() {
        let deals: Vec<String> = serde_json::from_slice::<Value>(&body)
            .map(|v| data_array(&v))
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if deals.is_empty() {
            skipped.push(Skipped {
                label: "deal + timeline",
                reason: "no deals in the database".into(),
            });
        } else {
            let mut target = Target::get(
                "`GET /api/v1/deals/{id}`",
                addr,
                String::new(),
                Some(auth.clone()),
            );
            target.paths = deals.iter().map(|d| format!("/api/v1/deals/{d}")).collect();
            targets.push(target);
            let (status, _) = get(format!("/api/v1/deals/{}/timeline", deals[0])).await?;
            if status.is_success() {
                let mut target = Target::get(
                    "`GET /api/v1/deals/{id}/timeline`",
                    addr,
                    String::new(),
                    Some(auth.clone()),
                );
                target.paths = deals
                    .iter()
                    .map(|d| format!("/api/v1/deals/{d}/timeline"))
                    .collect();
                targets.push(target);
            } else {
                skipped.push(Skipped {
                    label: "`GET /api/v1/deals/{id}/timeline`",
                    reason: format!("answered {status}"),
                });
            }
        }
    } else {
        skipped.push(Skipped {
            label: "deal + timeline",
            reason: format!("`GET /api/v1/deals` answered {status}"),
        });
    }

    match stage_moves(addr, &auth, concurrency).await? {
        Ok(target) => targets.push(target),
        Err(reason) => skipped.push(Skipped {
            label: STAGE_MOVE,
            reason,
        }),
    }

    let (status, _) = get(format!("/api/v1/search?q={}", SEARCH_NAMES[0])).await?;
    if status.is_success() {
        let mut target = Target::get(
            "`GET /api/v1/search?q=<last name>`",
            addr,
            String::new(),
            Some(auth.clone()),
        );
        target.paths = SEARCH_NAMES
            .iter()
            .map(|n| format!("/api/v1/search?q={n}"))
            .collect();
        targets.push(target);
        let mut target = Target::get(
            "`GET /api/v1/search?q=<last name typo>`",
            addr,
            String::new(),
            Some(auth.clone()),
        );
        target.paths = SEARCH_NAMES
            .iter()
            .map(|n| format!("/api/v1/search?q={}", typo(n)))
            .collect();
        targets.push(target);
    } else {
        skipped.push(Skipped {
            label: "`GET /api/v1/search?q=<last name>`",
            reason: format!("answered {status}"),
        });
    }

    // Duplicate check of a lead being typed (issue 13 §2): the e-mail and phone probes of both
    // tables; a seeded last name with addresses and numbers that mostly match nothing.
    let people: Vec<Value> = SEARCH_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({
                "first_name": "Ann",
                "last_name": name,
                "email": format!("ann.{}.{i}@example.com", name.to_lowercase()),
                "phone": format!("+1 415 555 01{:02}", i % 100),
            })
        })
        .collect();
    let (status, _) = client::send(
        addr,
        Method::POST,
        "/api/v1/duplicates/check",
        Some(&auth),
        people.first(),
    )
    .await?;
    let bodies = people
        .iter()
        .map(|p| serde_json::to_vec(p).map(Bytes::from))
        .collect::<Result<Vec<_>, _>>()?;
    if status.is_success() {
        let mut check = Target::get(
            DUPLICATE_CHECK,
            addr,
            "/api/v1/duplicates/check",
            Some(auth.clone()),
        );
        check.method = Method::POST;
        check.bodies = bodies;
        targets.push(check);
    } else {
        skipped.push(Skipped {
            label: DUPLICATE_CHECK,
            reason: format!("answered {status}"),
        });
    }

    let lead = json!({
        "first_name": "Bench",
        "last_name": "Lead",
        "company_name": "Benchmark Industries",
        "email": "bench.lead@benchmark.example",
        "status": "new",
        "owner_id": rep,
    });
    let mut create = Target::get(
        "`POST /api/v1/leads`",
        addr,
        "/api/v1/leads",
        Some(auth.clone()),
    );
    create.method = Method::POST;
    create.body = Some(Bytes::from(serde_json::to_vec(&lead)?));
    targets.push(create);
    for s in &skipped {
        eprintln!("skipping {}: {}", s.label, s.reason);
    }
    Ok(Plan {
        targets,
        skipped,
        auth,
    })
}

const STAGE_MOVE: &str = "`PATCH /api/v1/deals/{id}` (stage move)";

const CONVERT: &str = "`POST /api/v1/leads/{id}/convert` (new account, contact and deal)";

/// Leads made for the conversion target: more than a run converts (each is converted once).
const CONVERSIONS: usize = 6_000;

/// The conversion target (issue 14 §3): `n` new leads, each with a company and a person of its
/// own, made first through `POST /api/v1/leads` (eight at a time); then each request converts
/// one of them into a new account, contact and deal. Every worker takes its own leads
/// (`per_worker`), so no lead is converted twice (a second conversion would be a 409 and make
/// the run invalid).
async fn conversions(addr: SocketAddr, auth: &HeaderValue, n: usize) -> Result<Target> {
    eprintln!("making {n} leads to convert...");
    let mut made: Vec<String> = Vec::with_capacity(n);
    let run = format!("{:x}", std::process::id());
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let auth = auth.clone();
                let lead = json!({
                    "first_name": "Convert",
                    "last_name": format!("Lead {i}"),
                    "email": format!("convert.{run}.{i}@bench-convert.co.uk"),
                    "company_name": format!("Convert Co {run} {i}"),
                    "website": format!("https://convert-{run}-{i}.co.uk"),
                });
                tokio::spawn(async move {
                    client::send_json(
                        addr,
                        Method::POST,
                        "/api/v1/leads",
                        Some(&auth),
                        Some(&lead),
                    )
                    .await
                })
            })
            .collect();
        for task in tasks {
            let lead = task.await??;
            made.push(
                str_field(&lead, "id")
                    .context("a created lead has no id")?
                    .to_owned(),
            );
        }
    }
    let mut target = Target::get(CONVERT, addr, String::new(), Some(auth.clone()));
    target.method = Method::POST;
    target.per_worker = true;
    target.paths = made
        .iter()
        .map(|id| format!("/api/v1/leads/{id}/convert"))
        .collect();
    target.body = Some(Bytes::from(serde_json::to_vec(
        &json!({"deal": {"amount": "12500.00"}}),
    )?));
    Ok(target)
}

const DUPLICATE_CHECK: &str = "`POST /api/v1/duplicates/check` (e-mail and phone)";

fn str_field<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// Moving a deal to another stage of its pipeline (`PATCH /api/v1/deals/{id}` with a
/// `stage_id`): each load worker owns one open deal of the default pipeline and moves it to the
/// pipeline's next open stage, round and round, so every request is a real move (a stage
/// history row, an audit row and a `deal.stage_changed` event where the build writes events)
/// and no two workers move the same deal. `Err` says why the target cannot run.
async fn stage_moves(
    addr: SocketAddr,
    auth: &HeaderValue,
    concurrency: usize,
) -> Result<std::result::Result<Target, String>> {
    let pipelines =
        client::send_json(addr, Method::GET, "/api/v1/pipelines", Some(auth), None).await?;
    let Some(pipeline) = data_array(&pipelines)
        .into_iter()
        .find(|p| p.get("is_default").and_then(Value::as_bool) == Some(true))
    else {
        return Ok(Err("no default pipeline".into()));
    };
    let open: Vec<String> = pipeline
        .get("stages")
        .and_then(Value::as_array)
        .map(|stages| {
            stages
                .iter()
                .filter(|s| str_field(s, "outcome") == Some("open"))
                .filter_map(|s| str_field(s, "id").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if open.len() < 2 {
        return Ok(Err(format!(
            "the default pipeline has {} open stage(s); a move needs two",
            open.len()
        )));
    }
    let pipeline_id = str_field(&pipeline, "id").unwrap_or_default();
    let deals = client::send_json(
        addr,
        Method::GET,
        &format!("/api/v1/deals?pipeline_id={pipeline_id}&limit=100"),
        Some(auth),
        None,
    )
    .await?;
    // (deal id, index of its current stage among the open ones)
    let movable: Vec<(String, usize)> = data_array(&deals)
        .iter()
        .filter_map(|d| {
            let stage = str_field(d, "stage_id")?;
            let at = open.iter().position(|s| s == stage)?;
            Some((str_field(d, "id")?.to_owned(), at))
        })
        .take(concurrency)
        .collect();
    if movable.len() < concurrency {
        return Ok(Err(format!(
            "{} open deals in the first 100 of the default pipeline, {concurrency} needed \
             (one per connection)",
            movable.len()
        )));
    }
    // Request j: worker j % c, its (j / c)-th move; with `per_worker` worker w sends j = w,
    // w + c, w + 2c, …, i.e. its own deal through the next stage each time.
    let mut target = Target::get(STAGE_MOVE, addr, String::new(), Some(auth.clone()));
    target.method = Method::PATCH;
    target.per_worker = true;
    target.paths.clear();
    for k in 0..open.len() {
        for (deal, at) in &movable {
            let stage = &open[(at + 1 + k) % open.len()];
            target.paths.push(format!("/api/v1/deals/{deal}"));
            target.bodies.push(Bytes::from(serde_json::to_vec(
                &json!({ "stage_id": stage }),
            )?));
        }
    }
    Ok(Ok(target))
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
}

fn report(
    args: &RecordsArgs,
    rivet: &std::path::Path,
    cfg: LoadConfig,
    results: &[LoadResult],
    skipped: &[Skipped],
    idle_kb: Option<u64>,
    hwm_kb: Option<u64>,
) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let engine = if args.database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut out = String::new();
    let _ = writeln!(out, "## Rivet records benchmark ({engine})\n");
    let _ = writeln!(
        out,
        "Closed loop, {} keep-alive HTTP/1.1 connections, {} s measured after {} s warm-up, \
         {cpus} CPU(s) shared by the load generator, the hello server, rivet and the database. \
         rivet binary: `{}`.\n",
        cfg.concurrency,
        cfg.duration.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        rivet.display()
    );
    let _ = writeln!(
        out,
        "| target | requests/s | p50 ms | p99 ms | errors | peak RSS MB |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            r.label,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            mb(r.peak_rss_kb)
        );
    }
    let _ = writeln!(
        out,
        "\nrivet RSS: {} MB idle after setup, VmHWM {} MB.",
        mb(idle_kb),
        mb(hwm_kb)
    );
    for s in skipped {
        let _ = writeln!(out, "\nSkipped {}: {}.", s.label, s.reason);
    }
    for r in results.iter().filter(|r| r.errors > 0) {
        let first = r.first_error.as_deref().unwrap_or("?");
        let _ = writeln!(
            out,
            "\n**INVALID: {}: {} errors, first: {first}**",
            r.label, r.errors
        );
    }
    out
}
