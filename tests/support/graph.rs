//! A local fake of the WhatsApp Cloud API (Meta's Graph API) for tests: an HTTP server on
//! `127.0.0.1:0` that takes `POST /{version}/{phone_number_id}/messages`, records each request (path,
//! bearer token, JSON body) and answers `{"messages": [{"id": "wamid.…"}]}`, or the Graph
//! error JSON it is told to answer with.

use rivet_server::axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One send as the fake saw it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub phone_number_id: String,
    /// The bearer token, without `Bearer `.
    pub token: Option<String>,
    pub body: Value,
    /// The id the fake answered with (none when it answered an error).
    pub wamid: Option<String>,
}

#[derive(Default)]
struct Inner {
    sent: Vec<Sent>,
    /// Answer this error (status, Graph error JSON) instead of a message id.
    error: Option<(u16, Value)>,
}

pub struct Graph {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

impl Graph {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/{version}/{phone_number_id}/messages", post(messages))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Graph API");
        let addr = listener.local_addr().expect("fake Graph API address");
        let server = tokio::spawn(async move {
            let _ = rivet_server::axum::serve(listener, router).await;
        });
        Self {
            addr,
            inner,
            server,
        }
    }

    /// The base URL to put in a company's settings (`api_base_url`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v21.0", self.addr)
    }

    /// Answer every send from now on with a Graph error (`status`, `{"error": {"message", …}}`).
    pub fn fail_with(&self, status: u16, message: &str) {
        let error = json!({"error": {"message": message, "type": "OAuthException", "code": 131030, "fbtrace_id": "Atest"}});
        if let Ok(mut inner) = self.inner.lock() {
            inner.error = Some((status, error));
        }
    }

    /// Answer sends with message ids again.
    pub fn succeed(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.error = None;
        }
    }

    /// Every send received so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.inner
            .lock()
            .map(|i| i.sent.clone())
            .unwrap_or_default()
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((_version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Ok(mut inner) = inner.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let error = inner.error.clone();
    let wamid = error
        .is_none()
        .then(|| format!("wamid.TEST{}", uuid::Uuid::now_v7().simple()));
    inner.sent.push(Sent {
        phone_number_id,
        token,
        body: body.clone(),
        wamid: wamid.clone(),
    });
    match (error, wamid) {
        (Some((status, error)), _) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            rivet_server::axum::Json(error),
        )
            .into_response(),
        (None, Some(id)) => rivet_server::axum::Json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": id}],
        }))
        .into_response(),
        (None, None) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
