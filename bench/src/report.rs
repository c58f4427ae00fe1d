//! Markdown report.

use std::fmt::Write as _;

use crate::load::{LoadConfig, LoadResult};

pub struct ProcMem {
    pub name: &'static str,
    pub idle_kb: Option<u64>,
    pub peak_kb: Option<u64>,
    pub hwm_kb: Option<u64>,
}

pub struct Report<'a> {
    pub cfg: LoadConfig,
    pub client_threads: usize,
    pub rivet_path: String,
    pub users_page_len: Option<usize>,
    pub results: &'a [LoadResult],
    pub memory: &'a [ProcMem],
    /// `/me` rps divided by hello rps.
    pub me_ratio: Option<f64>,
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
}

impl Report<'_> {
    pub fn total_errors(&self) -> u64 {
        self.results.iter().map(|r| r.errors).sum()
    }

    pub fn to_markdown(&self) -> String {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "## Rivet foundation benchmark\n");
        let _ = writeln!(
            out,
            "Closed loop, {} keep-alive HTTP/1.1 connections, {} s measured after {} s warm-up. \
             {cpus} CPU(s) shared by the load generator ({} thread(s)), the bare axum server and rivet.",
            self.cfg.concurrency,
            self.cfg.duration.as_secs_f64(),
            self.cfg.warmup.as_secs_f64(),
            self.client_threads,
        );
        let page = self
            .users_page_len
            .map_or_else(|| "unknown".into(), |n| n.to_string());
        let _ = writeln!(
            out,
            "rivet binary: `{}`; `GET /api/v1/users?limit=50` returns {page} users per page.\n",
            self.rivet_path
        );

        let _ = writeln!(out, "| target | requests/s | p50 ms | p99 ms | errors |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for r in self.results {
            let _ = writeln!(
                out,
                "| {} | {:.0} | {:.2} | {:.2} | {} |",
                r.label, r.rps, r.p50_ms, r.p99_ms, r.errors
            );
        }
        let _ = writeln!(out);

        let _ = writeln!(
            out,
            "| process | idle RSS MB (5 s after setup) | peak RSS MB (sampled every 100 ms under load) | VmHWM MB |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for m in self.memory {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                m.name,
                mb(m.idle_kb),
                mb(m.peak_kb),
                mb(m.hwm_kb)
            );
        }
        let _ = writeln!(out);

        match self.me_ratio {
            Some(ratio) => {
                let _ = writeln!(
                    out,
                    "**`/api/v1/me` rps ÷ bare hello rps = {:.1} %**",
                    ratio * 100.0
                );
            }
            None => {
                let _ = writeln!(out, "**`/api/v1/me` rps ÷ bare hello rps = n/a**");
            }
        }

        let errors = self.total_errors();
        if errors > 0 {
            let _ = writeln!(out, "\n**INVALID RUN: {errors} error(s).**");
            for r in self.results.iter().filter(|r| r.errors > 0) {
                let first = r.first_error.as_deref().unwrap_or("?");
                let _ = writeln!(out, "- {}: {} errors, first: {first}", r.label, r.errors);
            }
        }
        out
    }
}
