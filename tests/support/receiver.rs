//! A real webhook receiver for tests and benchmarks: an HTTP server on `127.0.0.1:0` that
//! records every request it gets and answers as its [`Behaviour`] says (succeed, fail the first
//! n, hang, redirect).

use rivet_server::axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// 200 every time, after `delay`.
    Ok { delay: Duration },
    /// 500 for the first `n` requests, then 200.
    FailFirst(usize),
    /// Hang for `hang` on the first `n` requests, then 200 at once.
    HangFirst { n: usize, hang: Duration },
    /// Always 500.
    AlwaysFail,
    /// 302 to `location`.
    Redirect(String),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

#[derive(Clone)]
struct Shared {
    behaviour: Behaviour,
    seen: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<Received>>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            behaviour,
            seen: Arc::new(AtomicUsize::new(0)),
            got: got.clone(),
        };
        let router = Router::new().fallback(answer).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let server = tokio::spawn(async move {
            let _ = rivet_server::axum::serve(listener, router).await;
        });
        Self { addr, got, server }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.got.lock().map(|g| g.len()).unwrap_or_default()
    }

    /// Wait until at least `n` requests arrived (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} of {n} requests in {within:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let n = shared.seen.fetch_add(1, Ordering::SeqCst);
    let received = Received {
        headers,
        body,
        at: Instant::now(),
    };
    let record = |r: Received| {
        if let Ok(mut got) = shared.got.lock() {
            got.push(r);
        }
    };
    match &shared.behaviour {
        Behaviour::Ok { delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(*delay).await;
            }
            record(received);
            StatusCode::OK.into_response()
        }
        Behaviour::FailFirst(fail) => {
            record(received);
            if n < *fail {
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            } else {
                StatusCode::OK.into_response()
            }
        }
        Behaviour::HangFirst { n: hang_n, hang } => {
            record(received);
            if n < *hang_n {
                tokio::time::sleep(*hang).await;
            }
            StatusCode::OK.into_response()
        }
        Behaviour::AlwaysFail => {
            record(received);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Behaviour::Redirect(location) => {
            record(received);
            (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
        }
    }
}
