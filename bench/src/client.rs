//! Minimal HTTP/1.1 client built directly on `hyper::client::conn`.
//!
//! One TCP connection per caller, no pooling, no TLS, no redirects: the load
//! generator should spend as little CPU per request as possible because it
//! shares the (small) machine with the servers under test.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub type Body = Full<Bytes>;
pub type Sender = SendRequest<Body>;

/// Opens a keep-alive HTTP/1.1 connection and spawns its driver task.
pub async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Connection errors surface through the sender; nothing to do here.
        let _ = conn.await;
    });
    Ok(sender)
}

/// Builds a request with the `Host` header (which the low-level hyper client
/// does not add on its own) and an optional bearer token / JSON body.
pub fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    auth: Option<&HeaderValue>,
    json: Option<&serde_json::Value>,
) -> Result<Request<Body>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, addr.to_string());
    if let Some(auth) = auth {
        builder = builder.header(AUTHORIZATION, auth.clone());
    }
    let body = match json {
        Some(value) => {
            builder = builder.header(CONTENT_TYPE, "application/json");
            Bytes::from(serde_json::to_vec(value)?)
        }
        None => Bytes::new(),
    };
    Ok(builder.body(Full::new(body))?)
}

/// One-shot request on a fresh connection (used for setup, not for load).
pub async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    auth: Option<&HeaderValue>,
    json: Option<&serde_json::Value>,
) -> Result<(StatusCode, Bytes)> {
    let req = request(addr, method.clone(), path, auth, json)?;
    let fut = async {
        let mut sender = connect(addr).await?;
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .with_context(|| format!("{method} {path}: timed out after 30 s"))?
        .with_context(|| format!("{method} {path}"))
}

/// Like [`send`] but requires a 2xx status and parses the body as JSON.
pub async fn send_json(
    addr: SocketAddr,
    method: Method,
    path: &str,
    auth: Option<&HeaderValue>,
    json: Option<&serde_json::Value>,
) -> Result<serde_json::Value> {
    let (status, body) = send(addr, method.clone(), path, auth, json).await?;
    if !status.is_success() {
        anyhow::bail!(
            "{method} {path} returned {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    serde_json::from_slice(&body).with_context(|| format!("{method} {path}: body is not JSON"))
}
