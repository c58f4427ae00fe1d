//! The SMTP conversation under `crate::mail`, on lettre's connection (Tokio):
//!
//! - [`Connections`] keeps a company's connections open between its messages (per server and
//!   sign-in, at most [`KEEP`], each idle at most [`IDLE`]), so a sequence of ten thousand
//!   e-mails does not greet, encrypt and sign in ten thousand times. A kept connection the
//!   server closed meanwhile is noticed at `MAIL FROM`, before anything was handed over, and
//!   replaced by a new one.
//! - [`send`] stops between the server's `354` to `DATA` and the message's content for its
//!   caller's `handover`: the one moment after which the server may have taken the message
//!   without Rivet hearing so (a process killed before the server's `250` reached it). Before
//!   it, a process that dies has sent nothing (a server drops a message whose final dot never
//!   came); after it, the message is as good as sent. Recording the moment is what lets the
//!   sender that takes over a dead one's message tell the two apart.
//!
//! Errors are lettre's, explained in plain words by the caller. Nothing here logs an address,
//! a password or a message.

use lettre::address::Envelope;
use lettre::transport::smtp::Error;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many idle connections are kept per server and sign-in.
pub const KEEP: usize = 16;
/// How long a connection may stay idle and still be used (servers close idle ones after a
/// minute or more; a shorter wait rarely meets a closed one).
pub const IDLE: Duration = Duration::from_secs(20);

/// Where and how to connect. `key` names the server and the sign-in: connections are only
/// reused for the same key, so changed settings never use an old connection.
pub struct Server {
    pub key: String,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub hello: ClientId,
    pub credentials: Option<Credentials>,
    /// The limit of the connect itself (the conversation's is the caller's).
    pub timeout: Duration,
}

/// Idle connections by [`Server::key`].
#[derive(Default)]
pub struct Connections {
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    by_key: HashMap<String, Vec<(Instant, AsyncSmtpConnection)>>,
    /// When the connections idle too long were last closed, for every key.
    swept: Option<Instant>,
}

impl Idle {
    /// Close every connection idle too long, at most once per [`IDLE`], so a company that
    /// stopped sending does not keep its sockets open.
    fn sweep(&mut self) {
        if self.swept.is_some_and(|at| at.elapsed() < IDLE) {
            return;
        }
        self.swept = Some(Instant::now());
        self.by_key.retain(|_, list| {
            list.retain(|(since, _)| since.elapsed() < IDLE);
            !list.is_empty()
        });
    }
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.sweep();
        idle
    }

    /// An idle connection for `key` that has not waited too long.
    fn take(&self, key: &str) -> Option<AsyncSmtpConnection> {
        let mut idle = self.lock();
        let list = idle.by_key.get_mut(key)?;
        while let Some((since, conn)) = list.pop() {
            if since.elapsed() < IDLE && !conn.has_broken() {
                return Some(conn);
            }
        }
        None
    }

    /// Keep `conn` for the next message to `key` (dropped, which closes it, when enough are
    /// kept).
    fn put(&self, key: &str, conn: AsyncSmtpConnection) {
        let mut idle = self.lock();
        let list = idle.by_key.entry(key.to_owned()).or_default();
        list.retain(|(since, _)| since.elapsed() < IDLE);
        if list.len() < KEEP {
            list.push((Instant::now(), conn));
        }
    }
}

/// Whether to use a kept connection: a test message always opens its own (it is there to
/// check the settings: the greeting, TLS and the sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    Kept,
    Fresh,
}

/// What a [`send`] came to when the server did not take the message.
#[derive(Debug)]
pub enum Failure {
    /// The server or the network said no (nothing was handed over, or the server answered
    /// the content with an error).
    Smtp(Error),
    /// The caller's `handover` failed: the content was not sent and the connection is closed
    /// (the server drops the message).
    Handover(String),
}

/// Open a connection to `server`: greeting, TLS (wrapped or by STARTTLS), sign-in.
async fn connect(server: &Server) -> Result<AsyncSmtpConnection, Error> {
    let wrapped = match &server.tls {
        Tls::Wrapper(params) => Some(params.clone()),
        _ => None,
    };
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (server.host.as_str(), server.port),
        Some(server.timeout),
        &server.hello,
        wrapped,
        None,
    )
    .await?;
    if let Tls::Required(params) = &server.tls {
        conn.starttls(params.clone(), &server.hello).await?;
    }
    if let Some(credentials) = &server.credentials {
        conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
            .await?;
    }
    Ok(conn)
}

/// `MAIL FROM` and every `RCPT TO` of `envelope` for a message of `bytes`.
async fn envelope_to(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<(), Error> {
    let mut options = Vec::new();
    let ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .all(|a| AsRef::<str>::as_ref(a).is_ascii());
    if !ascii && conn.server_info().supports_feature(Extension::SmtpUtfEight) {
        options.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new())).await?;
    }
    Ok(())
}

/// Whether `err` on a kept connection means only that the server closed it while it waited
/// (no reply, or `421`): then a new connection is tried, nothing having been handed over.
fn stale(err: &Error) -> bool {
    err.status().is_none_or(|code| code.to_string() == "421")
}

/// Send `bytes` to `envelope`'s recipients through `server`: the envelope, `DATA`, then
/// `handover` (see the module's comment), then the content; the server's answer to it. The
/// conversation's time limit is the caller's (a dropped future closes the connection).
pub async fn send<H, F>(
    connections: &Connections,
    server: &Server,
    reuse: Reuse,
    envelope: &Envelope,
    bytes: &[u8],
    handover: H,
) -> Result<Response, Failure>
where
    H: FnOnce() -> F,
    F: Future<Output = Result<(), String>>,
{
    let mut kept = match reuse {
        Reuse::Kept => connections.take(&server.key),
        Reuse::Fresh => None,
    };
    let mut conn = loop {
        let reused = kept.is_some();
        let mut conn = match kept.take() {
            Some(conn) => conn,
            None => connect(server).await.map_err(Failure::Smtp)?,
        };
        match envelope_to(&mut conn, envelope, bytes).await {
            Ok(()) => break conn,
            Err(err) if reused && stale(&err) => {
                // Closed while it waited: another connection (taken from the kept ones first).
                kept = connections.take(&server.key);
            }
            Err(err) => {
                conn.abort().await;
                return Err(Failure::Smtp(err));
            }
        }
    };
    if let Err(err) = conn.command(Data).await {
        conn.abort().await;
        return Err(Failure::Smtp(err));
    }
    // The server waits for the content; dropping the connection now makes it drop the message.
    handover().await.map_err(Failure::Handover)?;
    let response = conn.message(bytes).await.map_err(Failure::Smtp)?;
    if reuse == Reuse::Kept {
        connections.put(&server.key, conn);
    } else {
        conn.abort().await;
    }
    Ok(response)
}
