//! `rivet-bench records --rls-compare`: what PostgreSQL's row-level security costs (issue 12.4).
//! The same seeded database is served by `rivet serve` with `RIVET_PG_RLS=on` (the default:
//! every tenant read and write is a transaction as `rivet_tenant`, bound by the policies) and
//! `RIVET_PG_RLS=off` (tenant queries run as the connecting role, as before the policies), in
//! alternating rounds so that a drift of the machine hits both sides alike. Measured: a rep's
//! new leads (the hot list) and creating a lead.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use hyper::Method;

use crate::load::{self, LoadConfig, LoadResult};
use crate::records::{RecordsArgs, setup, start_rivet};

const MODES: [&str; 2] = ["on", "off"];

pub async fn run(args: &RecordsArgs, rivet_path: &Path, cfg: LoadConfig) -> Result<ExitCode> {
    anyhow::ensure!(
        args.database_url.starts_with("postgres"),
        "--rls-compare needs a PostgreSQL database (row-level security is PostgreSQL's)"
    );
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    // (round, mode, result)
    let mut results: Vec<(usize, &str, LoadResult)> = Vec::new();
    for round in 1..=args.rounds {
        for mode in MODES {
            let (rivet, addr) =
                start_rivet(&args.database_url, rivet_path, &[("RIVET_PG_RLS", mode)]).await?;
            let plan = setup(addr, &args.email, &args.password).await?;
            let targets = plan.targets.into_iter().filter(|t| {
                t.method == Method::POST || t.paths.iter().any(|p| p.starts_with("/api/v1/leads?"))
            });
            for target in targets {
                eprintln!(
                    "round {round}, RIVET_PG_RLS={mode}: {} ({} s warm-up + {} s)...",
                    target.label, args.warmup, args.duration
                );
                let r = load::run(target, cfg, Some(rivet.pid())).await?;
                eprintln!(
                    "  {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                    r.rps, r.p50_ms, r.p99_ms, r.errors
                );
                results.push((round, mode, r));
            }
            drop(rivet);
        }
    }
    let markdown = report(args, cfg, &results);
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

fn report(args: &RecordsArgs, cfg: LoadConfig, results: &[(usize, &str, LoadResult)]) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## PostgreSQL row-level security: on vs off\n\n{} rounds, each target {} s measured \
         after {} s warm-up, {} keep-alive connections, {cpus} CPU(s) shared by the load \
         generator, rivet and PostgreSQL.\n",
        args.rounds,
        cfg.duration.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        cfg.concurrency
    );
    let _ = writeln!(
        out,
        "| round | RIVET_PG_RLS | target | requests/s | p50 ms | p99 ms | errors |"
    );
    let _ = writeln!(out, "|---:|---|---|---:|---:|---:|---:|");
    for (round, mode, r) in results {
        let _ = writeln!(
            out,
            "| {round} | {mode} | {} | {:.0} | {:.2} | {:.2} | {} |",
            r.label, r.rps, r.p50_ms, r.p99_ms, r.errors
        );
    }
    let mut labels: Vec<&str> = results.iter().map(|(_, _, r)| r.label.as_str()).collect();
    labels.dedup();
    labels.sort();
    labels.dedup();
    let _ = writeln!(
        out,
        "\n| target | req/s RLS on (mean) | req/s RLS off (mean) | cost of RLS |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for label in labels {
        let mean = |mode: &str| {
            let v: Vec<f64> = results
                .iter()
                .filter(|(_, m, r)| *m == mode && r.label == label)
                .map(|(_, _, r)| r.rps)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let (on, off) = (mean("on"), mean("off"));
        let cost = if off > 0.0 {
            (off - on) / off * 100.0
        } else {
            0.0
        };
        let _ = writeln!(out, "| {label} | {on:.0} | {off:.0} | {cost:.1} % |");
    }
    out
}
