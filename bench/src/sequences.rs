//! `rivet-bench sequences`: e-mail sequences (issue 15 §3) into a real SMTP sink.
//!
//! The sink is an SMTP server started here, in its own task on 127.0.0.1 (greeting, EHLO, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT; no TLS, no sign-in): it takes every message and notes when it
//! came, its recipient (one address per enrolled lead: the enrollment's key) and its
//! `Message-ID`. A message counts when the server answered its final `.`, as a real server
//! takes responsibility for it.
//!
//! 1. **Baseline**: `--enrollments` messages pushed straight into the sink from a lettre client
//!    in this process, 16 at a time, once with a new connection per message and once through
//!    lettre's pooled transport (connections reused, as Rivet's sending path keeps them):
//!    the sink's own accept rate, the ceiling of what Rivet can reach here.
//! 2. **Rivet**: `rivet serve` with its workers off (the API) on a fresh database; e-mail set up
//!    for the company (host 127.0.0.1, the sink's port, no TLS with `allow_plaintext`, daily
//!    limit 1,000,000), a lead template, a one-step sequence whose send window is always open;
//!    `--enrollments` leads with distinct addresses (`POST /api/v1/leads`, 16 connections);
//!    then `rivet worker` alone until the outbox's backlog (the leads' events) is consumed, and
//!    stopped; every lead enrolled (`POST /api/v1/sequences/{id}/enrollments`, 1,000 at a
//!    time). Then `rivet worker` is started and runs the sequence: messages per second from its
//!    start to the last enrollment's message. With `--kill N` the worker is killed with SIGKILL
//!    N times (at 1/(N+1), 2/(N+1), … of the messages delivered) and started again at once.
//! 3. The end, when no enrollment is active any more and nothing arrived for two seconds:
//!    duplicates (an enrollment's address that received more than one message, and how many
//!    distinct `Message-ID`s those had), losses (an enrollment the sink never heard of),
//!    cross-checked with the database: enrollments finished, `sequence_sends` rows, and
//!    `email_messages` by status (a message left `sending` is one a killed runner claimed and
//!    nobody took over; one a killed runner handed to the sink is counted `sent` by the runner
//!    that takes it over).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use hyper::Method;
use hyper::header::HeaderValue;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::client;
use crate::events::{fresh_postgres, rivet_command, serve, sign_in};
use crate::procs;

#[derive(Args)]
pub struct SequenceArgs {
    /// An empty database to use (postgres://…; dropped and created afresh); default a SQLite
    /// file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Path to the rivet binary [default: as for `foundation`].
    #[arg(long)]
    rivet: Option<PathBuf>,
    /// Leads enrolled in the one-step sequence (= messages expected).
    #[arg(long, default_value_t = 10_000)]
    enrollments: usize,
    /// Kill the sequence worker with SIGKILL this many times mid-run (and start it again).
    #[arg(long, default_value_t = 0)]
    kill: usize,
    /// Skip the lettre-to-sink baseline.
    #[arg(long)]
    no_baseline: bool,
}

/// Concurrent clients creating leads, and concurrent senders of the baseline.
const CLIENTS: usize = 16;
/// The most records one enrollment request takes.
const ENROLL_CHUNK: usize = 1000;
/// How long the run may take before it is called off.
const DEADLINE: Duration = Duration::from_secs(900);

/// One message as the sink took it.
#[derive(Debug, Clone)]
struct Arrival {
    at: Instant,
    to: String,
    message_id: String,
}

type Arrivals = Arc<Mutex<Vec<Arrival>>>;

fn count(arrivals: &Arrivals) -> usize {
    arrivals.lock().map(|a| a.len()).unwrap_or(0)
}

/// Start the sink on 127.0.0.1: its address and what it takes.
async fn sink() -> Result<(SocketAddr, Arrivals)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let arrivals: Arrivals = Arc::default();
    let state = arrivals.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let _ = session(socket, state).await;
            });
        }
    });
    Ok((addr, arrivals))
}

/// The `Message-ID` header of a message's data (headers end at the first empty line).
fn message_id_of(data: &str) -> String {
    data.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .split("\r\n")
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case("message-id")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default()
}

/// `<a@b>` (and any parameters after it) → `a@b`.
fn address(text: &str) -> String {
    let text = text.trim();
    text.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(text, |(a, _)| a)
        .trim()
        .to_ascii_lowercase()
}

/// One SMTP connection: any number of messages until QUIT or the client goes away. A message
/// whose data did not end with `.` (the client died mid-message) is not taken.
async fn session(socket: tokio::net::TcpStream, arrivals: Arrivals) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 sink.bench ESMTP ready\r\n").await?;
    let mut line = String::new();
    let mut to: Vec<String> = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.bench\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 10000000\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.bench\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            to.clear();
            b"250 2.1.0 Ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line.trim_end()[8..]));
            b"250 2.1.5 Ok\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let message_id = message_id_of(&data);
            let at = Instant::now();
            if let Ok(mut list) = arrivals.lock() {
                for to in to.drain(..) {
                    list.push(Arrival {
                        at,
                        to,
                        message_id: message_id.clone(),
                    });
                }
            }
            b"250 2.0.0 Ok: queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            to.clear();
            b"250 2.0.0 Ok\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 Error: command not recognized\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// The address of bench lead `i` (the sink counts per address).
fn lead_address(i: usize) -> String {
    format!("lead{i}@example.com")
}

/// A message the size of the sequence's: subject, a few lines of text.
fn baseline_message(i: usize) -> Result<Message> {
    Ok(Message::builder()
        .from("Bench Sales <sales@bench.test>".parse()?)
        .to(lead_address(i).parse()?)
        .subject(format!("Hello Lead {i}"))
        .message_id(Some(format!("<baseline-{i}@bench.test>")))
        .body(format!(
            "Hi Lead {i},\n\nthis is the bench sequence's only step.\n\nBench Admin\n"
        ))?)
}

fn transport(sink: SocketAddr) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sink.ip().to_string())
        .port(sink.port())
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

/// Push `n` messages into the sink, `CLIENTS` at a time: pooled (one transport, connections
/// reused) or a new connection per message. Messages per second.
async fn baseline(sink: SocketAddr, arrivals: &Arrivals, n: usize, pooled: bool) -> Result<f64> {
    let before = count(arrivals);
    let shared = transport(sink);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (next, shared) = (next.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                let message = baseline_message(i)?;
                if pooled {
                    shared.send(message).await?;
                } else {
                    transport(sink).send(message).await?;
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let took = started.elapsed().as_secs_f64().max(1e-6);
    anyhow::ensure!(
        count(arrivals) - before == n,
        "the sink took {} of {n} baseline messages",
        count(arrivals) - before
    );
    Ok(n as f64 / took)
}

/// A query's single value from the database, through `sqlite3` or `psql`.
fn sql(db: &Db, query: &str) -> Result<String> {
    let output = match db {
        Db::Sqlite(file) => Command::new("sqlite3")
            .arg(file)
            .arg(query)
            .output()
            .context("running sqlite3")?,
        Db::Postgres(url) => Command::new("psql")
            .arg(url)
            .args(["-qAt", "-v", "ON_ERROR_STOP=1", "-c", query])
            .output()
            .context("running psql")?,
    };
    anyhow::ensure!(
        output.status.success(),
        "{query}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn sql_count(db: &Db, query: &str) -> Result<i64> {
    let text = sql(db, query)?;
    text.parse()
        .with_context(|| format!("{query}: not a number: {text:?}"))
}

enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Create `n` leads with the bench addresses from `CLIENTS` connections: their ids.
async fn create_leads(addr: SocketAddr, auth: &HeaderValue, n: usize) -> Result<Vec<String>> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (auth, next) = (auth.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut sender = client::connect(addr).await?;
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(ids);
                }
                let body = json!({
                    "first_name": "Lead",
                    "last_name": format!("{i}"),
                    "email": lead_address(i),
                });
                let req = client::request(
                    addr,
                    Method::POST,
                    "/api/v1/leads",
                    Some(&auth),
                    Some(&body),
                )?;
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                let status = resp.status();
                let bytes = http_body_util::BodyExt::collect(resp.into_body())
                    .await?
                    .to_bytes();
                anyhow::ensure!(
                    status.as_u16() == 201,
                    "create lead {i}: {status} {}",
                    String::from_utf8_lossy(&bytes)
                );
                let lead: Value = serde_json::from_slice(&bytes)?;
                ids.push(lead["id"].as_str().context("lead id")?.to_owned());
            }
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for task in tasks {
        ids.extend(task.await??);
    }
    Ok(ids)
}

/// E-mail through the sink, a lead template and a one-step sequence always open: its id.
async fn set_up_sequence(addr: SocketAddr, auth: &HeaderValue, sink: SocketAddr) -> Result<String> {
    let settings = json!({
        "enabled": true, "host": "127.0.0.1", "port": sink.port(), "tls": "none",
        "allow_plaintext": true, "from_name": "Bench Sales", "from_address": "sales@bench.test",
        "daily_limit": 1_000_000,
    });
    client::send_json(
        addr,
        Method::PUT,
        "/api/v1/settings/email",
        Some(auth),
        Some(&settings),
    )
    .await?;
    let template = client::send_json(
        addr,
        Method::POST,
        "/api/v1/email-templates",
        Some(auth),
        Some(&json!({
            "name": "Bench intro",
            "record_type": "lead",
            "subject": "Hello {{ lead.first_name }} {{ lead.last_name }}",
            "text": "Hi {{ lead.first_name }} {{ lead.last_name }},\n\nthis is the bench \
                     sequence's only step.\n\n{{ owner.name }}\n",
        })),
    )
    .await?;
    let template = template["id"].as_str().context("template id")?;
    let sequence = client::send_json(
        addr,
        Method::POST,
        "/api/v1/sequences",
        Some(auth),
        Some(&json!({
            "name": "Bench one step",
            "enrolls": "lead",
            "steps": [{"type": "email", "template_id": template}],
            "window": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                       "start": "00:00", "end": "23:59"},
        })),
    )
    .await?;
    Ok(sequence["id"].as_str().context("sequence id")?.to_owned())
}

/// Run `rivet worker` until every consumer's position reaches the outbox's end (the leads'
/// events handled), then stop it.
async fn drain_events(rivet: &Path, data_dir: &Path, url: Option<&str>, db: &Db) -> Result<()> {
    let mut worker = start_worker(rivet, data_dir, url)?;
    let started = Instant::now();
    let outcome = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let behind = sql_count(
            db,
            "SELECT count(*) FROM event_positions WHERE name <> 'sequencer' \
             AND position < (SELECT coalesce(max(seq), 0) FROM outbox)",
        );
        let consumers = sql_count(
            db,
            "SELECT count(*) FROM event_positions WHERE name <> 'sequencer'",
        );
        match (behind, consumers) {
            (Ok(0), Ok(n)) if n > 0 => break Ok(()),
            (Err(e), _) | (_, Err(e)) => break Err(e),
            _ if started.elapsed() > DEADLINE => {
                break Err(anyhow::anyhow!("the events were not consumed in time"));
            }
            _ => {}
        }
    };
    worker.kill();
    eprintln!(
        "events consumed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    outcome
}

/// A `rivet worker` process, killed with SIGKILL (and reaped) when dropped, also on errors.
struct Worker(Child);

impl Worker {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where the workers' log goes (every start appends), read back by [`worker_warnings`].
fn worker_log(data_dir: &Path) -> PathBuf {
    data_dir.join("worker.log")
}

fn start_worker(rivet: &Path, data_dir: &Path, url: Option<&str>) -> Result<Worker> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(worker_log(data_dir))
        .context("opening the worker's log")?;
    let mut cmd = rivet_command(rivet, "worker", data_dir, url);
    cmd.stdin(Stdio::null()).stdout(log);
    Ok(Worker(cmd.spawn().context("starting rivet worker")?))
}

/// Say how many warnings the workers logged, with the first few (a failed step, a stalled
/// pool: what a slow run's figures alone do not show).
fn worker_warnings(data_dir: &Path) {
    let log = std::fs::read_to_string(worker_log(data_dir)).unwrap_or_default();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    eprintln!("worker warnings: {}", warnings.len());
    for line in warnings.iter().take(5) {
        eprintln!("  {line}");
    }
}

/// What the sink and the database say at the end.
struct Outcome {
    /// Seconds from the worker's first start to the last enrollment's first message.
    all_secs: f64,
    /// Seconds from the worker's first start until `--enrollments` × 0.95 were delivered.
    p95_secs: f64,
    received: usize,
    distinct: usize,
    duplicated: usize,
    duplicate_ids: usize,
    lost: usize,
    kills: Vec<(usize, f64)>,
    db: String,
}

pub async fn run(args: SequenceArgs) -> Result<ExitCode> {
    let n = args.enrollments;
    anyhow::ensure!(n > 0, "--enrollments must be at least 1");
    let (sink_addr, arrivals) = sink().await?;
    eprintln!("SMTP sink on {sink_addr}");
    let mut baselines = Vec::new();
    if !args.no_baseline {
        for pooled in [false, true] {
            let rate = baseline(sink_addr, &arrivals, n, pooled).await?;
            let how = if pooled {
                "pooled transport (connections reused)"
            } else {
                "a new connection per message"
            };
            eprintln!("baseline, {how}: {rate:.0} messages/s");
            baselines.push((how, rate));
        }
        if let Ok(mut a) = arrivals.lock() {
            a.clear();
        }
    }

    let rivet = procs::find_rivet(args.rivet.as_deref())?;
    let url = args.database_url.as_deref();
    if let Some(url) = url {
        fresh_postgres(url)?;
    }
    let engine = if url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let data_dir = tempfile::Builder::new()
        .prefix("rivet-bench-sequences-")
        .tempdir()?;
    let db = match url {
        Some(url) => Db::Postgres(url.to_owned()),
        None => Db::Sqlite(data_dir.path().join("rivet.db")),
    };
    let server = serve(&rivet, data_dir.path(), url, false).await?;
    let auth = sign_in(server.addr).await?;
    let sequence = set_up_sequence(server.addr, &auth, sink_addr).await?;
    let started = Instant::now();
    let leads = create_leads(server.addr, &auth, n).await?;
    eprintln!(
        "{engine}: {n} leads created in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drain_events(&rivet, data_dir.path(), url, &db).await?;
    let started = Instant::now();
    for chunk in leads.chunks(ENROLL_CHUNK) {
        let outcome = client::send_json(
            server.addr,
            Method::POST,
            &format!("/api/v1/sequences/{sequence}/enrollments"),
            Some(&auth),
            Some(&json!({"record_ids": chunk})),
        )
        .await?;
        anyhow::ensure!(
            outcome["enrolled"].as_u64() == Some(chunk.len() as u64),
            "enrolled: {}",
            outcome["enrolled"]
        );
    }
    eprintln!(
        "{n} leads enrolled in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let outcome = deliver(&args, &rivet, data_dir.path(), url, &db, &arrivals).await?;
    drop(server);
    worker_warnings(data_dir.path());
    print_report(&args, engine, &baselines, &outcome);
    Ok(if outcome.duplicated == 0 && outcome.lost == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// Start the worker, kill it `--kill` times, wait for the end; what came of it.
async fn deliver(
    args: &SequenceArgs,
    rivet: &Path,
    data_dir: &Path,
    url: Option<&str>,
    db: &Db,
    arrivals: &Arrivals,
) -> Result<Outcome> {
    let n = args.enrollments;
    let marks: Vec<usize> = (1..=args.kill).map(|k| n * k / (args.kill + 1)).collect();
    let started = Instant::now();
    let mut worker = start_worker(rivet, data_dir, url)?;
    let mut kills = Vec::new();
    let mut quiet_since: Option<(usize, Instant)> = None;
    let result = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let got = count(arrivals);
        if kills.len() < marks.len() && got >= marks[kills.len()] {
            // SIGKILL: no shutdown, whatever it was doing stops there.
            worker.kill();
            kills.push((got, started.elapsed().as_secs_f64()));
            eprintln!(
                "killed the worker at {got} messages ({:.1} s); starting it again",
                started.elapsed().as_secs_f64()
            );
            worker = start_worker(rivet, data_dir, url)?;
            continue;
        }
        if started.elapsed() > DEADLINE {
            break Err(anyhow::anyhow!(
                "only {got} of {n} messages after {DEADLINE:?}"
            ));
        }
        // The end: nothing active in the database, nothing new at the sink for two seconds.
        match quiet_since {
            Some((seen, since)) if seen == got => {
                if since.elapsed() >= Duration::from_secs(2) {
                    match sql_count(
                        db,
                        "SELECT count(*) FROM sequence_enrollments WHERE status = 'active'",
                    ) {
                        Ok(0) => break Ok(()),
                        Ok(_) => quiet_since = Some((got, Instant::now())),
                        Err(e) => break Err(e),
                    }
                }
            }
            _ => quiet_since = Some((got, Instant::now())),
        }
    };
    worker.kill();
    result?;

    let list: Vec<Arrival> = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut by_to: HashMap<&str, Vec<&Arrival>> = HashMap::new();
    for a in &list {
        by_to.entry(a.to.as_str()).or_default().push(a);
    }
    let expected: Vec<String> = (0..n).map(lead_address).collect();
    let lost = expected
        .iter()
        .filter(|a| !by_to.contains_key(a.as_str()))
        .count();
    let firsts: Vec<Instant> = {
        let mut firsts: Vec<Instant> = by_to
            .values()
            .filter_map(|v| v.iter().map(|a| a.at).min())
            .collect();
        firsts.sort();
        firsts
    };
    // With losses the last enrollment that got its message stands for "all".
    let at_fraction = |f: f64| {
        let i = ((n as f64 * f).ceil() as usize).clamp(1, n);
        firsts
            .get(i - 1)
            .or(firsts.last())
            .map_or(f64::NAN, |t| (*t - started).as_secs_f64())
    };
    let duplicated: Vec<&Vec<&Arrival>> = by_to.values().filter(|v| v.len() > 1).collect();
    let duplicate_ids = duplicated
        .iter()
        .filter(|v| {
            let ids: std::collections::HashSet<&str> =
                v.iter().map(|a| a.message_id.as_str()).collect();
            ids.len() > 1
        })
        .count();
    let statuses = sql(
        db,
        "SELECT status, count(*) FROM sequence_enrollments GROUP BY status ORDER BY status",
    )?;
    let messages = sql(
        db,
        "SELECT status, count(*) FROM email_messages GROUP BY status ORDER BY status",
    )?;
    let sends = sql_count(db, "SELECT count(*) FROM sequence_sends")?;
    let db_text = format!(
        "enrollments by status: {}; email_messages by status: {}; sequence_sends rows: {sends}",
        one_line(&statuses),
        one_line(&messages)
    );
    Ok(Outcome {
        all_secs: at_fraction(1.0),
        p95_secs: at_fraction(0.95),
        received: list.len(),
        distinct: by_to.len(),
        duplicated: duplicated.len(),
        duplicate_ids,
        lost,
        kills,
        db: db_text,
    })
}

/// `a|1\nb|2` → `a 1, b 2`.
fn one_line(rows: &str) -> String {
    let pairs: BTreeMap<&str, &str> = rows
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_report(args: &SequenceArgs, engine: &str, baselines: &[(&str, f64)], o: &Outcome) {
    let n = args.enrollments;
    if !baselines.is_empty() {
        println!("| baseline: lettre → sink, {CLIENTS} at a time | messages/s | per minute |");
        println!("|---|---|---|");
        for (how, rate) in baselines {
            println!("| {how} | {rate:.0} | {:.0} |", rate * 60.0);
        }
        println!();
    }
    let rate = o.distinct as f64 / o.all_secs.max(1e-6);
    let rate95 = (n as f64 * 0.95) / o.p95_secs.max(1e-6);
    let kills = if o.kills.is_empty() {
        "none".to_owned()
    } else {
        o.kills
            .iter()
            .map(|(at, secs)| format!("at {at} delivered ({secs:.1} s)"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "| engine | enrollments | SIGKILLs | all delivered after | messages/s (per minute) | first 95 %: messages/s | received | duplicates (distinct Message-IDs) | losses |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {engine} | {n} | {kills} | {:.1} s | {rate:.0} ({:.0}) | {rate95:.0} | {} to {} addresses | {} ({}) | {} |",
        o.all_secs,
        rate * 60.0,
        o.received,
        o.distinct,
        o.duplicated,
        o.duplicate_ids,
        o.lost,
    );
    println!();
    println!("Database: {}", o.db);
}
