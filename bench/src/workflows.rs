//! `rivet-bench workflows`: workflow rules (issue 15 §5), two figures.
//!
//! 1. **Evaluation** (in this process, no I/O): `--rules` active rules on `lead.created` (one
//!    whose condition holds, the others each with a condition that does not: equals, in,
//!    contains, range, filled on different lead fields), and `--samples` lead records; per
//!    event, every rule's trigger check and conditions. p50 / p99 / max per event.
//! 2. **Event to action** (against the release binary): `rivet serve` with its workers on, the
//!    same rules created through the API (the matching one adds a tag; the others log a
//!    "not matched" run each, so every event writes `--rules` run rows), leads created open-loop
//!    at `--rate` per second for `--seconds`. Latency = the matching rule's run `created_at`
//!    (stamped when the consumer logs its batch's runs, just before its commit) − the lead's
//!    `created_at` (stamped in the creating transaction), same clock: p50 / p99 / max.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use hyper::Method;
use hyper::header::HeaderValue;
use rivet_domain::workflows::{WorkflowRule, WorkflowRuleInput};
use serde_json::{Map, Value, json};

use crate::client;
use crate::events::{fresh_postgres, percentile, serve, sign_in};
use crate::procs;

#[derive(Args)]
pub struct WorkflowArgs {
    /// An empty database to use (postgres://…); default a SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Path to the rivet binary [default: as for `foundation`].
    #[arg(long)]
    rivet: Option<PathBuf>,
    /// Active rules on `lead.created`.
    #[arg(long, default_value_t = 100)]
    rules: usize,
    /// Lead records evaluated in process.
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
    /// Leads (= events) created per second in the live run.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds of the live run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Only the in-process evaluation.
    #[arg(long)]
    evaluation_only: bool,
}

/// Rule `i` of `n`: rule 0 holds for every bench lead and adds a tag; the others test a field
/// each in a way no bench lead meets.
fn rule(i: usize) -> Value {
    let (conditions, actions) = if i == 0 {
        (
            json!([{"op": "equals", "field": "status", "value": "new"}]),
            json!([{"kind": "add_tag", "tag": "bench"}]),
        )
    } else {
        let condition = match i % 5 {
            0 => json!({"op": "equals", "field": "city", "value": format!("Nowhere {i}")}),
            1 => json!({"op": "in", "field": "country", "values": [format!("x{}", i % 26)]}),
            2 => json!({"op": "contains", "field": "company_name", "value": format!("zz{i}")}),
            3 => json!({"op": "range", "field": "employee_count", "gte": 100_000 + i}),
            _ => json!({"op": "filled", "field": "industry"}),
        };
        (
            json!([{"op": "equals", "field": "status", "value": "new"}, condition]),
            json!([{"kind": "add_tag", "tag": format!("never {i}")}]),
        )
    };
    json!({
        "name": format!("Bench rule {i}"),
        "record_type": "lead",
        "trigger": {"kind": "event", "event": "lead.created"},
        "conditions": conditions,
        "actions": actions,
    })
}

fn lead_record(i: usize) -> Map<String, Value> {
    let value = json!({
        "id": format!("0190a000-0000-7000-8000-{i:012}"),
        "first_name": "Bench",
        "last_name": format!("Lead {i}"),
        "status": "new",
        "source": "web",
        "city": format!("City {}", i % 97),
        "country": "de",
        "company_name": format!("Company {i}"),
        "employee_count": i % 5_000,
        "industry": null,
        "tags": [],
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Figure 1: every rule's trigger and conditions per event, in process.
fn evaluation(args: &WorkflowArgs) -> Result<String> {
    let rules: Vec<WorkflowRule> = (0..args.rules)
        .map(|i| {
            let input: WorkflowRuleInput = serde_json::from_value(rule(i))?;
            WorkflowRule::validate(input).map_err(|e| anyhow::anyhow!("rule {i}: {e:?}"))
        })
        .collect::<Result<_>>()?;
    let data = json!({"record": {}});
    let records: Vec<Map<String, Value>> = (0..args.samples).map(lead_record).collect();
    let mut per_event = Vec::with_capacity(records.len());
    let mut matched = 0usize;
    for record in &records {
        let started = Instant::now();
        for rule in &rules {
            if rule.triggered_by("lead.created", &data) && rule.evaluate(record).matched {
                matched += 1;
            }
        }
        per_event.push(started.elapsed().as_secs_f64() * 1e6);
    }
    anyhow::ensure!(
        matched == records.len(),
        "one rule matches each lead: {matched}"
    );
    per_event.sort_by(f64::total_cmp);
    Ok(format!(
        "| in process | {} | {} | {:.1} µs | {:.1} µs | {:.1} µs |",
        args.rules,
        args.samples,
        percentile(&per_event, 0.5),
        percentile(&per_event, 0.99),
        per_event.last().copied().unwrap_or(0.0),
    ))
}

/// Create leads open-loop at `rate` per second for `seconds`: each lead's id and `created_at`.
async fn create_leads_at(
    addr: SocketAddr,
    auth: &HeaderValue,
    rate: u64,
    seconds: u64,
) -> Result<(HashMap<String, chrono::DateTime<chrono::Utc>>, Duration)> {
    let total = rate * seconds;
    // Enough connections that a slow answer does not hold the schedule back.
    let lanes = 32u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = client::connect(addr).await?;
            let mut made = Vec::new();
            let mut i = lane;
            while i < total {
                let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                tokio::time::sleep_until(due.into()).await;
                let body = json!({"last_name": format!("Flow {i}")});
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
                let bytes = http_body_util::BodyExt::collect(resp.into_body())
                    .await?
                    .to_bytes();
                let lead: Value = serde_json::from_slice(&bytes)?;
                let id = lead["id"].as_str().context("lead id")?.to_owned();
                let at: chrono::DateTime<chrono::Utc> =
                    lead["created_at"].as_str().context("created_at")?.parse()?;
                made.push((id, at));
                i += lanes;
            }
            anyhow::Ok(made)
        }));
    }
    let mut leads = HashMap::new();
    for task in tasks {
        leads.extend(task.await??);
    }
    Ok((leads, started.elapsed()))
}

/// Every run of `rule` (all pages).
async fn runs_of(addr: SocketAddr, auth: &HeaderValue, rule: &str) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/workflows/{rule}/runs?limit=500&cursor={c}"),
            None => format!("/api/v1/workflows/{rule}/runs?limit=500"),
        };
        let page = client::send_json(addr, Method::GET, &path, Some(auth), None).await?;
        all.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
}

/// Figure 2: event to action against the server.
async fn live(args: &WorkflowArgs) -> Result<String> {
    let rivet = procs::find_rivet(args.rivet.as_deref())?;
    let db = args.database_url.as_deref();
    if let Some(url) = db {
        fresh_postgres(url)?;
    }
    let engine = if db.is_some() { "PostgreSQL" } else { "SQLite" };
    let data_dir = tempfile::Builder::new()
        .prefix("rivet-bench-workflows-")
        .tempdir()?;
    let server = serve(&rivet, data_dir.path(), db, true).await?;
    let auth = sign_in(server.addr).await?;
    let mut first = String::new();
    for i in 0..args.rules {
        let made = client::send_json(
            server.addr,
            Method::POST,
            "/api/v1/workflows",
            Some(&auth),
            Some(&rule(i)),
        )
        .await?;
        let id = made["id"]
            .as_str()
            .with_context(|| format!("rule {i}: {made}"))?;
        if i == 0 {
            first = id.to_owned();
        }
    }
    let (leads, took) = create_leads_at(server.addr, &auth, args.rate, args.seconds).await?;
    let achieved = leads.len() as f64 / took.as_secs_f64().max(1e-6);
    let waited = Instant::now();
    let runs = loop {
        let runs = runs_of(server.addr, &auth, &first).await?;
        if runs.len() >= leads.len() {
            break runs;
        }
        anyhow::ensure!(
            waited.elapsed() < Duration::from_secs(600),
            "only {} of {} runs after ten minutes",
            runs.len(),
            leads.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let caught_up = took + waited.elapsed();
    let mut delays = Vec::new();
    for run in &runs {
        anyhow::ensure!(run["status"] == "ok", "run: {run}");
        let lead = run["record_id"].as_str().context("record_id")?;
        let made = leads.get(lead).context("a run for a lead not made here")?;
        let at: chrono::DateTime<chrono::Utc> =
            run["created_at"].as_str().context("created_at")?.parse()?;
        delays.push((at - *made).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    delays.sort_by(f64::total_cmp);
    drop(server);
    Ok(format!(
        "| {engine} | {} | {} leads, {}/s asked, {:.0}/s made | {:.0} ms | {:.0} ms | {:.0} ms | all runs logged {:.1} s after the first lead |",
        args.rules,
        leads.len(),
        args.rate,
        achieved,
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0.0),
        caught_up.as_secs_f64(),
    ))
}

pub async fn run(args: WorkflowArgs) -> Result<ExitCode> {
    println!("| where | active rules | events | p50 per event | p99 | max |");
    println!("|---|---|---|---|---|---|");
    println!("{}", evaluation(&args)?);
    if args.evaluation_only {
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    println!("| engine | active rules | load | event→action p50 | p99 | max | |");
    println!("|---|---|---|---|---|---|---|");
    println!("{}", live(&args).await?);
    Ok(ExitCode::SUCCESS)
}
