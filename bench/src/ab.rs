//! A/B runs of `rivet-bench records`: two `rivet serve` configurations measured in alternating
//! rounds, so that a drift of a shared machine hits both sides alike.
//!
//! - `--rls-compare` (issue 12.4): the same binary and database with `RIVET_PG_RLS=on` (the
//!   default: every tenant read and write is bound by the policies as `rivet_tenant`) and
//!   `RIVET_PG_RLS=off` (tenant queries as the connecting role, as before the policies), on a
//!   rep's new leads (the hot list) and creating a lead.
//! - `--compare OTHER` (issue 12's no-regression benchmark): another rivet binary (the build
//!   from before a change) against this one, on a rep's new leads, creating a lead, a deal stage
//!   move and a deal's timeline. The other binary may need its own copy of the database (see
//!   `--compare-database-url`): a build refuses a database migrated past its own migrations.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use hyper::Method;

use crate::load::{self, LoadConfig, LoadResult, Target};
use crate::records::{RecordsArgs, setup, start_rivet};

/// One side of the comparison: which binary serves which database with which settings.
pub(crate) struct Side {
    name: String,
    rivet: PathBuf,
    database_url: String,
    env: Vec<(&'static str, &'static str)>,
}

/// What is compared: the sides (the first is the baseline) and the targets loaded.
struct Plan {
    title: &'static str,
    sides: [Side; 2],
    keep: fn(&Target) -> bool,
}

fn is_leads_list(t: &Target) -> bool {
    t.paths.iter().any(|p| p.starts_with("/api/v1/leads?"))
}

fn is_lead_create(t: &Target) -> bool {
    t.method == Method::POST && t.paths.iter().any(|p| p == "/api/v1/leads")
}

/// `--rls-compare`: RLS off is the baseline.
pub async fn rls(args: &RecordsArgs, rivet: &Path, cfg: LoadConfig) -> Result<ExitCode> {
    anyhow::ensure!(
        args.database_url.starts_with("postgres"),
        "--rls-compare needs a PostgreSQL database (row-level security is PostgreSQL's)"
    );
    let side = |mode: &'static str| Side {
        name: format!("RLS {mode}"),
        rivet: rivet.to_owned(),
        database_url: args.database_url.clone(),
        env: vec![("RIVET_PG_RLS", mode)],
    };
    let plan = Plan {
        title: "PostgreSQL row-level security: on vs off",
        sides: [side("off"), side("on")],
        keep: |t| is_leads_list(t) || is_lead_create(t),
    };
    run(args, &plan, cfg).await
}

/// `--compare OTHER`: the other binary is the baseline.
pub async fn compare(
    args: &RecordsArgs,
    rivet: &Path,
    other: &Path,
    cfg: LoadConfig,
) -> Result<ExitCode> {
    let plan = Plan {
        title: "Another rivet build against this one",
        sides: [
            Side {
                name: "base".into(),
                rivet: other.to_owned(),
                database_url: args
                    .compare_database_url
                    .clone()
                    .unwrap_or_else(|| args.database_url.clone()),
                env: Vec::new(),
            },
            Side {
                name: "this".into(),
                rivet: rivet.to_owned(),
                database_url: args.database_url.clone(),
                env: Vec::new(),
            },
        ],
        keep: |t| {
            is_leads_list(t)
                || is_lead_create(t)
                || t.method == Method::PATCH
                || t.paths.iter().any(|p| p.ends_with("/timeline"))
        },
    };
    run(args, &plan, cfg).await
}

async fn run(args: &RecordsArgs, plan: &Plan, cfg: LoadConfig) -> Result<ExitCode> {
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    // (round, side index, result)
    let mut results: Vec<(usize, usize, LoadResult)> = Vec::new();
    for round in 1..=args.rounds {
        for (i, side) in plan.sides.iter().enumerate() {
            let (rivet, addr) = start_rivet(&side.database_url, &side.rivet, &side.env).await?;
            let setup = setup(addr, &args.email, &args.password, args.concurrency).await?;
            for target in setup.targets.into_iter().filter(|t| (plan.keep)(t)) {
                eprintln!(
                    "round {round}, {}: {} ({} s warm-up + {} s)...",
                    side.name, target.label, args.warmup, args.duration
                );
                let r = load::run(target, cfg, Some(rivet.pid())).await?;
                eprintln!("  {}", r.summary());
                results.push((round, i, r));
            }
            drop(rivet);
        }
    }
    let markdown = report(args, plan, cfg, &results);
    println!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::write(out, &markdown).with_context(|| format!("writing {}", out.display()))?;
    }
    if results.iter().any(|(_, _, r)| r.errors > 0) {
        eprintln!("error: the run had non-2xx responses or transport errors; results are invalid");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn env_note(env: &[(&str, &str)]) -> String {
    env.iter().map(|(k, v)| format!(" with {k}={v}")).collect()
}

fn report(
    args: &RecordsArgs,
    plan: &Plan,
    cfg: LoadConfig,
    results: &[(usize, usize, LoadResult)],
) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let [a, b] = &plan.sides;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {}\n\n{} rounds (each: {} = `{}` on `{}`{}, then {} = `{}` on `{}`{}), each target {} s \
         measured after {} s warm-up, {} keep-alive connections, {cpus} CPU(s) shared by the load \
         generator, rivet and the database.\n",
        plan.title,
        args.rounds,
        a.name,
        a.rivet.display(),
        redact(&a.database_url),
        env_note(&a.env),
        b.name,
        b.rivet.display(),
        redact(&b.database_url),
        env_note(&b.env),
        cfg.duration.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        cfg.concurrency
    );
    let _ = writeln!(
        out,
        "| round | side | target | requests/s | p50 ms | p99 ms | errors |"
    );
    let _ = writeln!(out, "|---:|---|---|---:|---:|---:|---:|");
    for (round, side, r) in results {
        let _ = writeln!(
            out,
            "| {round} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            plan.sides[*side].name, r.label, r.rps, r.p50_ms, r.p99_ms, r.errors
        );
    }
    let mut labels: Vec<&str> = Vec::new();
    for (_, _, r) in results {
        if !labels.contains(&r.label.as_str()) {
            labels.push(&r.label);
        }
    }
    let _ = writeln!(
        out,
        "\n| target | {} req/s (mean) | {} req/s (mean) | {} against {} |",
        a.name, b.name, b.name, a.name
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for label in labels {
        let mean = |side: usize| {
            let v: Vec<f64> = results
                .iter()
                .filter(|(_, s, r)| *s == side && r.label == label)
                .map(|(_, _, r)| r.rps)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let (base, this) = (mean(0), mean(1));
        let change = if base > 0.0 {
            (this - base) / base * 100.0
        } else {
            0.0
        };
        let _ = writeln!(out, "| {label} | {base:.0} | {this:.0} | {change:+.1} % |");
    }
    out
}
