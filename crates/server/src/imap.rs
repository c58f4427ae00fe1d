//! Replies and bounces read from a company's IMAP mailbox (issue 15 §3 Tracking), the other
//! door beside the inbound endpoint: each new message of the folder is handed, raw, to the
//! same [`crate::tracking::take`] a signed post reaches, which threads it onto the message it
//! answers and records the reply or the bounce once.
//!
//! A poll ([`poll`]) leases the company's mailbox (`rivet_store::imap::claim`), signs in
//! (async-imap on Tokio; TLS from the first byte, STARTTLS, or none as the settings say — TLS
//! by rustls with the web's roots, as lettre has them), selects the folder and fetches, by
//! UID, the messages above the highest UID taken before (`BODY.PEEK[]`); each one taken is
//! marked `\Seen` and its UID stored before the next, so a poll that dies half-way reads again
//! only the message it was on, which changes nothing the second time. A new UIDVALIDITY (the
//! folder was rebuilt) starts from the first message again, for the same reason. At most
//! [`MAX_PER_POLL`] messages a poll; the next one goes on. Every exchange with the server has
//! `RIVET_SMTP_TIMEOUT` seconds, like sending; failures are said in plain words
//! ([`ImapError`]) and kept as the poll's last error, shown on the settings page.
//!
//! The worker runs [`SCHEDULE_JOB`] every minute, which queues a [`POLL_JOB`] for each company
//! whose enabled mailbox's interval has passed (`rivet_store::imap::due`); the settings page and
//! `POST /api/v1/settings/email/imap/poll` poll at once through the same [`poll`], and
//! [`test`] only signs in and opens the folder. Nothing here logs a password or a message.

use crate::http::error::AppError;
use crate::state::AppState;
use async_imap::error::Error as ImapProtoError;
use async_imap::imap_proto::Response;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use rivet_domain::email::TlsMode;
use rivet_domain::ids::CompanyId;
use rivet_domain::imap::ImapSettings;
use rivet_store::imap::{self as store, Position};
use rivet_store::jobs::{self, NewJob};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Every minute: queue a poll for each company whose mailbox is due.
pub const SCHEDULE_JOB: &str = "email.imap_schedule";
/// One company's poll (the job's company).
pub const POLL_JOB: &str = "email.imap_poll";
/// Messages one poll takes at most.
pub const MAX_PER_POLL: usize = 200;
/// How long a poll holds the mailbox without taking a message (a poll that died frees it then).
const LEASE_MINUTES: i64 = 5;

/// Why the mailbox could not be read, in the words a person setting it up needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImapError {
    #[error("IMAP polling is not set up for this company (Settings → E-mail: a host and a user)")]
    NotConfigured,
    #[error("a poll of this mailbox is running already")]
    Busy,
    #[error("the IMAP settings cannot be used: {0}")]
    Settings(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("the server does not offer STARTTLS: {0}")]
    NoStarttls(String),
    #[error("TLS refused: {0}")]
    Tls(String),
    #[error("connection refused by {0}")]
    Refused(String),
    #[error("timed out: the server did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the server closed the connection: {0}")]
    Dropped(String),
    #[error("the folder {0} cannot be opened: {1}")]
    Folder(String, String),
    #[error("the server refused: {0}")]
    Refusal(String),
    #[error("reading the mailbox failed: {0}")]
    Other(String),
    #[error("recording a message failed: {0}")]
    Store(String),
}

impl From<ImapError> for AppError {
    fn from(err: ImapError) -> Self {
        match err {
            ImapError::NotConfigured | ImapError::Busy => AppError::Conflict {
                field: "imap".into(),
                message: err.to_string(),
            },
            ImapError::Store(e) => AppError::Internal(anyhow::anyhow!(e)),
            // The mailbox's server refused, hung or was not there (502), in plain words.
            other => AppError::Upstream(other.to_string()),
        }
    }
}

/// What the server said to a test sign-in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImapTested {
    /// The server's greeting and what Rivet found, e.g. `Dovecot ready. Signed in as
    /// replies@acme.test; INBOX holds 3 messages.`
    pub reply: String,
    pub folder: String,
    /// Messages in the folder.
    pub messages: u32,
}

/// What a poll took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImapPollReport {
    /// New messages read from the folder.
    pub taken: i64,
    /// Replies logged on their records.
    pub replied: i64,
    /// Bounces marked.
    pub bounced: i64,
    /// Taken before (the same reply or bounce once more): nothing changed.
    pub replayed: i64,
    /// Messages that answer nothing the company sent, or are not e-mails.
    pub ignored: i64,
}

impl ImapPollReport {
    fn count(&mut self, outcome: &str) {
        match outcome {
            "replied" => self.replied += 1,
            "bounced" => self.bounced += 1,
            "replayed" => self.replayed += 1,
            _ => self.ignored += 1,
        }
    }
}

/// The connection under the IMAP client: plain TCP, or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}
type Conn = Box<dyn Stream>;

/// `fut`, given `secs` seconds.
async fn within<T>(secs: u64, fut: impl Future<Output = T>) -> Result<T, ImapError> {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .map_err(|_| ImapError::Timeout(secs))
}

fn io_error(err: &std::io::Error, settings: &ImapSettings, secs: u64) -> ImapError {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused => ImapError::Refused(format!("{}:{}", settings.host, settings.port)),
        K::TimedOut => ImapError::Timeout(secs),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            ImapError::Dropped(err.to_string())
        }
        _ => ImapError::Other(err.to_string()),
    }
}

/// An IMAP client error in plain words, with the server's own where it gave some.
fn explain(err: ImapProtoError, settings: &ImapSettings, secs: u64) -> ImapError {
    match err {
        ImapProtoError::Io(io) => io_error(&io, settings, secs),
        ImapProtoError::No(text) | ImapProtoError::Bad(text) => ImapError::Refusal(text),
        ImapProtoError::ConnectionLost => ImapError::Dropped("the connection was lost".into()),
        other => ImapError::Other(other.to_string()),
    }
}

/// rustls with the web's roots and the ring provider named (two are built in this workspace).
fn tls_config() -> Result<Arc<rustls::ClientConfig>, ImapError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn tls<IO: AsyncRead + AsyncWrite + Unpin>(
    io: IO,
    host: &str,
    secs: u64,
) -> Result<tokio_rustls::client::TlsStream<IO>, ImapError> {
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| ImapError::Tls(e.to_string()))?;
    within(
        secs,
        tokio_rustls::TlsConnector::from(tls_config()?).connect(name, io),
    )
    .await?
    .map_err(|e| ImapError::Tls(e.to_string()))
}

/// The text of a greeting (`* OK [CAPABILITY …] Dovecot ready.`).
fn words(response: &Response<'_>) -> String {
    match response {
        Response::Data { outcome, .. } => outcome
            .information
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        _ => String::new(),
    }
}

/// Connect and sign in with `settings`: the session and the server's greeting.
async fn sign_in(
    app: &AppState,
    settings: &ImapSettings,
) -> Result<(Session<Conn>, String), ImapError> {
    if !settings.configured() {
        return Err(ImapError::NotConfigured);
    }
    let allowed = &app.config.smtp_allow_hosts;
    if !allowed.is_empty() && !allowed.contains(&settings.host.to_ascii_lowercase()) {
        return Err(ImapError::Settings(format!(
            "the host {} is not one this installation allows (RIVET_SMTP_ALLOW_HOSTS)",
            settings.host
        )));
    }
    let password = settings
        .password(&app.secrets)
        .map_err(|e| ImapError::Settings(e.to_string()))?
        .unwrap_or_default();
    let secs = app.config.smtp_timeout_secs.max(1);
    let host = settings.host.as_str();
    let tcp = within(secs, TcpStream::connect((host, settings.port)))
        .await?
        .map_err(|e| io_error(&e, settings, secs))?;
    let stream: Conn = match settings.tls {
        TlsMode::Tls => Box::new(tls(tcp, host, secs).await?),
        TlsMode::Starttls | TlsMode::None => Box::new(tcp),
    };
    let mut client = Client::new(stream);
    let greeting = within(secs, client.read_response())
        .await?
        .map_err(|e| io_error(&e, settings, secs))?
        .ok_or_else(|| ImapError::Dropped("before it greeted".into()))?;
    let greeting = words(greeting.parsed());
    if settings.tls == TlsMode::Starttls {
        within(secs, client.run_command_and_check_ok("STARTTLS", None))
            .await?
            .map_err(|e| match e {
                ImapProtoError::No(text) | ImapProtoError::Bad(text) => ImapError::NoStarttls(text),
                other => explain(other, settings, secs),
            })?;
        let upgraded: Conn = Box::new(tls(client.into_inner(), host, secs).await?);
        client = Client::new(upgraded);
    }
    match within(secs, client.login(&settings.username, &password)).await? {
        Ok(session) => Ok((session, greeting)),
        Err((ImapProtoError::No(text) | ImapProtoError::Bad(text), _)) => {
            Err(ImapError::Auth(text))
        }
        Err((other, _)) => Err(explain(other, settings, secs)),
    }
}

/// Sign in and open the folder with `company`'s stored settings (enabled or not).
pub async fn test(app: &AppState, company: CompanyId) -> Result<ImapTested, ImapError> {
    let settings = settings(app, company).await?;
    let secs = app.config.smtp_timeout_secs.max(1);
    let (mut session, greeting) = sign_in(app, &settings).await?;
    let folder = settings.folder.clone();
    let mailbox = within(secs, session.select(&folder))
        .await?
        .map_err(|e| folder_error(e, &settings, secs))?;
    // The answer is known; a server slow to say goodbye does not change it.
    let _ = within(secs, session.logout()).await;
    let reply = format!(
        "{greeting} Signed in as {}; {folder} holds {} messages.",
        settings.username, mailbox.exists
    );
    Ok(ImapTested {
        reply: reply.trim().to_owned(),
        folder,
        messages: mailbox.exists,
    })
}

fn folder_error(err: ImapProtoError, settings: &ImapSettings, secs: u64) -> ImapError {
    match err {
        ImapProtoError::No(text) | ImapProtoError::Bad(text) => {
            ImapError::Folder(settings.folder.clone(), text)
        }
        other => explain(other, settings, secs),
    }
}

async fn settings(app: &AppState, company: CompanyId) -> Result<ImapSettings, ImapError> {
    rivet_store::email::settings_of(&app.store, company)
        .await
        .map(|s| s.imap)
        .map_err(|e| ImapError::Store(e.to_string()))
}

/// Poll `company`'s mailbox now (see the module's comment), whether polling is enabled or
/// not: what it took, or why it could not. How it went is kept for the settings page.
pub async fn poll(app: &AppState, company: CompanyId) -> Result<ImapPollReport, ImapError> {
    let settings = settings(app, company).await?;
    if !settings.configured() {
        return Err(ImapError::NotConfigured);
    }
    let lease = chrono::Duration::minutes(LEASE_MINUTES);
    let position = store::claim(&app.store, company, lease)
        .await
        .map_err(|e| ImapError::Store(e.to_string()))?
        .ok_or(ImapError::Busy)?;
    let mut report = ImapPollReport::default();
    let outcome = poll_claimed(app, company, &settings, position, &mut report).await;
    let error = outcome.as_ref().err().map(ToString::to_string);
    match &outcome {
        Ok(()) => tracing::info!(company = %company, taken = report.taken, "IMAP mailbox polled"),
        Err(e) => tracing::warn!(company = %company, error = %e, "IMAP poll failed"),
    }
    store::finish(&app.store, company, report.taken, error.as_deref())
        .await
        .map_err(|e| ImapError::Store(e.to_string()))?;
    outcome.map(|()| report)
}

async fn poll_claimed(
    app: &AppState,
    company: CompanyId,
    settings: &ImapSettings,
    position: Position,
    report: &mut ImapPollReport,
) -> Result<(), ImapError> {
    let secs = app.config.smtp_timeout_secs.max(1);
    let (mut session, _) = sign_in(app, settings).await?;
    let mailbox = within(secs, session.select(&settings.folder))
        .await?
        .map_err(|e| folder_error(e, settings, secs))?;
    let uid_validity = mailbox.uid_validity.map(i64::from);
    let after = if uid_validity == position.uid_validity {
        position.last_uid
    } else {
        0
    };
    // `UID n:*` also answers the highest UID when none is above n: keep those above only.
    let found = within(secs, session.uid_search(format!("UID {}:*", after + 1)))
        .await?
        .map_err(|e| explain(e, settings, secs))?;
    let mut uids: Vec<u32> = found
        .into_iter()
        .filter(|uid| i64::from(*uid) > after)
        .collect();
    uids.sort_unstable();
    uids.truncate(MAX_PER_POLL);
    for uid in uids {
        let raw = within(secs, fetch(&mut session, uid))
            .await?
            .map_err(|e| explain(e, settings, secs))?;
        // A message expunged since the search is simply gone.
        if let Some(raw) = raw {
            match crate::tracking::take(app, company, &raw).await {
                Ok(result) => report.count(&result.outcome),
                // Not an e-mail at all: nothing to take from it.
                Err(AppError::BadRequest(_)) => report.ignored += 1,
                Err(e) => return Err(ImapError::Store(e.to_string())),
            }
        }
        within(secs, mark_seen(&mut session, uid))
            .await?
            .map_err(|e| explain(e, settings, secs))?;
        let at = Position {
            uid_validity,
            last_uid: i64::from(uid),
        };
        store::advance(
            &app.store,
            company,
            at,
            chrono::Duration::minutes(LEASE_MINUTES),
        )
        .await
        .map_err(|e| ImapError::Store(e.to_string()))?;
        report.taken += 1;
    }
    let _ = within(secs, session.logout()).await;
    Ok(())
}

/// The raw message `uid`, without setting `\Seen` (that comes once it is taken).
async fn fetch(session: &mut Session<Conn>, uid: u32) -> Result<Option<Vec<u8>>, ImapProtoError> {
    let fetched: Vec<_> = session
        .uid_fetch(uid.to_string(), "BODY.PEEK[]")
        .await?
        .try_collect()
        .await?;
    Ok(fetched
        .iter()
        .find(|f| f.uid == Some(uid))
        .and_then(|f| f.body())
        .map(<[u8]>::to_vec))
}

async fn mark_seen(session: &mut Session<Conn>, uid: u32) -> Result<(), ImapProtoError> {
    let _: Vec<_> = session
        .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
        .await?
        .try_collect()
        .await?;
    Ok(())
}

/// [`SCHEDULE_JOB`]: queue a [`POLL_JOB`] for each company whose mailbox is due, once per
/// minute and company (a later tick while one waits adds none).
pub async fn schedule(app: &AppState) -> Result<Value, String> {
    let due = store::due(&app.store)
        .await
        .map_err(|e| format!("finding the mailboxes to poll failed: {e}"))?;
    let minute = chrono::Utc::now().format("%Y%m%d%H%M");
    for company in &due {
        // One attempt: the next tick is the retry, and the poll's error is on the settings page.
        let job = NewJob::new(POLL_JOB, json!({}))
            .for_company(*company)
            .max_attempts(1)
            .idempotency_key(format!("imap-poll:{company}:{minute}"));
        jobs::enqueue_now(&app.store, job)
            .await
            .map_err(|e| format!("queueing a poll failed: {e}"))?;
    }
    Ok(json!({ "queued": due.len() }))
}

/// [`POLL_JOB`]: poll the job's company's mailbox if polling is still enabled.
pub async fn poll_job(app: &AppState, company: Option<CompanyId>) -> Result<Value, String> {
    let company = company.ok_or("an IMAP poll needs a company")?;
    let settings = settings(app, company).await.map_err(|e| e.to_string())?;
    if !settings.ready() {
        return Ok(json!({ "skipped": "IMAP polling is not enabled" }));
    }
    match poll(app, company).await {
        Ok(report) => Ok(json!(report)),
        Err(ImapError::Busy) => Ok(json!({ "skipped": ImapError::Busy.to_string() })),
        Err(e) => Err(e.to_string()),
    }
}
