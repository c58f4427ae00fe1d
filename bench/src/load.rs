//! Closed-loop load generator: N tasks, one keep-alive connection each,
//! request → response → next request, for a fixed measured window after an
//! unmeasured warm-up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use http_body_util::BodyExt;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use tokio::time::Instant;

use crate::client::{self, Sender};
use crate::procs;

pub struct Target {
    pub label: String,
    pub addr: SocketAddr,
    /// Requested in turn by each worker (one path: the same request every time).
    pub paths: Vec<String>,
    pub auth: Option<HeaderValue>,
    pub method: Method,
    /// A JSON body sent with every request.
    pub body: Option<Bytes>,
    /// JSON bodies taken in turn like `paths` (request `i` sends `bodies[i % len]`); when
    /// non-empty they replace `body`.
    pub bodies: Vec<Bytes>,
    /// Each worker takes every `concurrency`-th request (worker `w`: `w`, `w + c`, `w + 2c`, …)
    /// instead of the next one, so that workers never share a request: with `c` paths, worker
    /// `w` always requests path `w` (e.g. always moves its own deal).
    pub per_worker: bool,
}

impl Target {
    /// `GET path`.
    pub fn get(
        label: impl Into<String>,
        addr: SocketAddr,
        path: impl Into<String>,
        auth: Option<HeaderValue>,
    ) -> Self {
        Self {
            label: label.into(),
            addr,
            paths: vec![path.into()],
            auth,
            method: Method::GET,
            body: None,
            bodies: Vec::new(),
            per_worker: false,
        }
    }
}

#[derive(Clone, Copy)]
pub struct LoadConfig {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

pub struct LoadResult {
    pub label: String,
    /// 2xx responses completed in the measured window.
    pub ok: u64,
    /// Non-2xx responses plus transport failures in the measured window.
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub first_error: Option<String>,
    /// Max VmRSS (kB) of the sampled process, polled every 100 ms.
    pub peak_rss_kb: Option<u64>,
}

impl LoadResult {
    /// One line for the progress log: responses, rate, latency and errors.
    pub fn summary(&self) -> String {
        format!(
            "{} ok, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors{}",
            self.ok,
            self.rps,
            self.p50_ms,
            self.p99_ms,
            self.errors,
            self.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        )
    }
}

#[derive(Default)]
struct WorkerStats {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl WorkerStats {
    fn error(&mut self, what: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what());
        }
    }
}

/// Per-request data parsed once up front to keep the client's hot loop lean.
struct Prepared {
    target: Target,
    uris: Vec<Uri>,
    host: HeaderValue,
}

/// Runs the load against `target`, sampling the RSS of `sample_pid` meanwhile.
pub async fn run(target: Target, cfg: LoadConfig, sample_pid: Option<u32>) -> Result<LoadResult> {
    anyhow::ensure!(
        !target.paths.is_empty(),
        "{}: no path to request",
        target.label
    );
    let uris = target
        .paths
        .iter()
        .map(|p| p.parse::<Uri>())
        .collect::<Result<Vec<_>, _>>()?;
    let target = Arc::new(Prepared {
        uris,
        host: HeaderValue::from_str(&target.addr.to_string())?,
        target,
    });
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_pid.map(|pid| tokio::spawn(sample_rss(pid, stop.clone())));

    let warm_end = Instant::now() + cfg.warmup;
    let end = warm_end + cfg.duration;
    let workers: Vec<_> = (0..cfg.concurrency)
        .map(|i| {
            let step = if target.target.per_worker {
                cfg.concurrency
            } else {
                1
            };
            tokio::spawn(worker(target.clone(), i, step, warm_end, end))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for handle in workers {
        let stats = handle.await?;
        latencies.extend(stats.latencies_us);
        errors += stats.errors;
        first_error = first_error.or(stats.first_error);
    }
    stop.store(true, Ordering::Relaxed);
    let peak_rss_kb = match sampler {
        Some(handle) => Some(handle.await?),
        None => None,
    };

    latencies.sort_unstable();
    let ok = latencies.len() as u64;
    Ok(LoadResult {
        label: target.target.label.clone(),
        ok,
        errors,
        rps: ok as f64 / cfg.duration.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        first_error,
        peak_rss_kb,
    })
}

/// Nearest-rank percentile of sorted microsecond latencies, in milliseconds.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted_us.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[idx]) / 1000.0
}

async fn worker(
    target: Arc<Prepared>,
    first: usize,
    step: usize,
    warm_end: Instant,
    end: Instant,
) -> WorkerStats {
    // Hard stop for a hung server: in-flight requests may overrun `end` by this much.
    let hard_deadline = end + Duration::from_secs(10);
    let mut stats = WorkerStats::default();
    let mut sender: Option<Sender> = None;
    // Each worker starts at a different path so concurrent requests differ.
    let mut next = first;
    loop {
        let start = Instant::now();
        if start >= end {
            break;
        }
        let measured = start >= warm_end;
        let outcome =
            tokio::time::timeout_at(hard_deadline, one_request(&target, next, &mut sender)).await;
        next = next.wrapping_add(step);
        let elapsed = start.elapsed();
        match outcome {
            Ok(Ok(status)) if status.is_success() => {
                if measured {
                    let us = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
                    stats.latencies_us.push(us);
                }
            }
            Ok(Ok(status)) => {
                if measured {
                    stats.error(|| format!("HTTP {status}"));
                }
            }
            Ok(Err(e)) => {
                sender = None;
                if measured {
                    stats.error(|| format!("transport: {e:#}"));
                }
                // Avoid a hot reconnect loop against a dead server.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => {
                stats.error(|| "request still pending 10 s after the end of the run".into());
                break;
            }
        }
    }
    stats
}

async fn one_request(
    prepared: &Prepared,
    index: usize,
    sender: &mut Option<Sender>,
) -> Result<StatusCode> {
    let target = &prepared.target;
    let reused = match sender {
        Some(s) if !s.is_closed() => true,
        _ => {
            *sender = Some(client::connect(target.addr).await?);
            false
        }
    };
    let Some(conn) = sender.as_mut() else {
        anyhow::bail!("no connection");
    };
    if let Err(e) = conn.ready().await {
        if !reused {
            return Err(e.into());
        }
        // The server closed an idle keep-alive connection; reconnect once.
        *conn = client::connect(target.addr).await?;
        conn.ready().await?;
    }
    let mut req = Request::builder()
        .method(target.method.clone())
        .uri(prepared.uris[index % prepared.uris.len()].clone())
        .header(HOST, prepared.host.clone());
    if let Some(auth) = &target.auth {
        req = req.header(AUTHORIZATION, auth.clone());
    }
    let body = match (target.bodies.is_empty(), &target.body) {
        (false, _) => Some(target.bodies[index % target.bodies.len()].clone()),
        (true, body) => body.clone(),
    };
    let body = match body {
        Some(body) => {
            req = req.header(CONTENT_TYPE, "application/json");
            body
        }
        None => Bytes::new(),
    };
    let req = req.body(Full::new(body))?;
    let resp = conn.send_request(req).await?;
    let status = resp.status();
    // Drain the body frame by frame without buffering it.
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        frame?;
    }
    Ok(status)
}

async fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> u64 {
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    let mut max = 0;
    loop {
        interval.tick().await;
        if let Some(kb) = procs::status_kb(pid, "VmRSS") {
            max = max.max(kb);
        }
        if stop.load(Ordering::Relaxed) {
            return max;
        }
    }
}
