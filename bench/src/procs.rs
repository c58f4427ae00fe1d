//! Server subprocesses (bare hello server, rivet) and /proc memory readings.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hyper::Method;
use tempfile::TempDir;

use crate::client;

/// A child server process; killed (and reaped) when dropped, including on
/// error paths. The optional data directory is removed after the kill.
pub struct ServerProc {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
    _data_dir: Option<TempDir>,
}

impl ServerProc {
    pub fn spawn(
        name: &'static str,
        addr: SocketAddr,
        mut cmd: Command,
        data_dir: Option<TempDir>,
    ) -> Result<Self> {
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        Ok(Self {
            name,
            addr,
            child,
            _data_dir: data_dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET path` until it answers 200, failing early if the process
    /// exits or `timeout` elapses.
    pub async fn wait_ready(&mut self, path: &str, timeout: Duration) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited during startup with {status}", self.name);
            }
            let last = match client::send(self.addr, Method::GET, path, None, None).await {
                Ok((status, _)) if status.is_success() => return Ok(started.elapsed()),
                Ok((status, body)) => format!("{status}: {}", String::from_utf8_lossy(&body)),
                Err(e) => format!("{e:#}"),
            };
            if started.elapsed() > timeout {
                bail!(
                    "{} did not answer GET {path} with 200 within {timeout:?} (last: {last})",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        // SIGKILL returns promptly, so the blocking wait is short.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reserves a free loopback port (bind to :0, then release it).
pub fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Reads a `kB` field (e.g. `VmRSS`, `VmHWM`) of /proc/<pid>/status.
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resolves the rivet binary: explicit path, `$CARGO_TARGET_DIR/release`,
/// `./target/release`, or next to this executable (same cargo target dir).
pub fn find_rivet(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        bail!("--rivet {} does not exist", path.display());
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("release").join("rivet"));
    }
    candidates.push(PathBuf::from("target/release/rivet"));
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        let sibling = dir.join("rivet");
        if !candidates.contains(&sibling) {
            candidates.push(sibling);
        }
    }
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "rivet release binary not found (looked in: {}).\n\
         Build it first with `cargo build --release -p rivet`, or pass --rivet PATH.",
        looked.join(", ")
    )
}
