//! A real SMTP server for tests: a sink on `127.0.0.1:0` that speaks enough SMTP for lettre
//! (greeting, EHLO with AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, so a
//! client that asks for STARTTLS is refused) and records each message's envelope, the user it
//! signed in as and its raw data. Its [`Mode`] says how it behaves: accept, refuse the sign-in
//! (535), reject recipients (550), hang (never answer), or drop the connection at once.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the sink behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `535 5.7.8` to every sign-in.
    RefuseAuth,
    /// `550 5.1.1` to every recipient.
    RejectRecipient,
    /// Accept the connection and never say anything.
    Hang,
    /// Close the connection as soon as it opens.
    Drop,
}

/// One message as the sink took it.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// The user and password it signed in with, if it did.
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
}

impl Message {
    /// The body with quoted-printable soft line breaks joined (a long link is cut by them).
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        body.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }
}

#[derive(Default)]
struct Shared {
    mode: Option<Mode>,
    messages: Vec<Message>,
    connections: usize,
}

/// The running sink; it stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
    /// Bumped by [`SmtpSink::close_idle`]: every connection waiting for a command says `421`
    /// and closes.
    closing: tokio::sync::watch::Sender<u64>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            mode: Some(mode),
            ..Shared::default()
        }));
        let state = shared.clone();
        let (closing, watch) = tokio::sync::watch::channel(0);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = state.clone();
                let mut closing = watch.clone();
                closing.mark_unchanged();
                tokio::spawn(async move {
                    let _ = serve(socket, state, closing).await;
                });
            }
        });
        Self {
            port,
            shared,
            task,
            closing,
        }
    }

    /// Close every open connection that waits for a command, as a server does with idle ones
    /// (`421 4.4.2 … closing`).
    pub fn close_idle(&self) {
        self.closing.send_modify(|n| *n += 1);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.lock().unwrap().mode = Some(mode);
    }

    /// Every message taken so far.
    pub fn messages(&self) -> Vec<Message> {
        self.shared.lock().unwrap().messages.clone()
    }

    /// How many connections were opened to it.
    pub fn connections(&self) -> usize {
        self.shared.lock().unwrap().connections
    }

    /// The messages once there are at least `n` (within 10 seconds).
    pub async fn wait_for(&self, n: usize) -> Vec<Message> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "the sink got {} messages, not {n}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The next line into `line`: `false` at the end of the connection.
async fn next<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    line: &mut String,
) -> std::io::Result<bool> {
    line.clear();
    Ok(reader.read_line(line).await? > 0)
}

fn decode(text: &str) -> String {
    String::from_utf8_lossy(&STANDARD.decode(text.trim()).unwrap_or_default()).into_owned()
}

async fn serve(
    socket: TcpStream,
    state: Arc<Mutex<Shared>>,
    mut closing: tokio::sync::watch::Receiver<u64>,
) -> std::io::Result<()> {
    let mode = {
        let mut s = state.lock().unwrap();
        s.connections += 1;
        s.mode.unwrap_or(Mode::Accept)
    };
    match mode {
        Mode::Drop => return Ok(()),
        Mode::Hang => {
            // Hold the connection open and say nothing until the client gives up.
            let mut reader = BufReader::new(socket);
            let mut line = String::new();
            while reader.read_line(&mut line).await? > 0 {
                line.clear();
            }
            return Ok(());
        }
        _ => {}
    }
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut message = Message::default();
    let mut user: Option<(String, String)> = None;
    let mut line = String::new();
    loop {
        tokio::select! {
            more = next(&mut reader, &mut line) => if !more? { break },
            _ = closing.changed() => {
                write.write_all(b"421 4.4.2 sink.test closing idle connection\r\n").await?;
                return Ok(());
            }
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 10000000".into()
        } else if upper.starts_with("HELO") {
            "250 sink.test".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = command[10..].trim().to_owned();
            let encoded = if initial.is_empty() {
                write.write_all(b"334 \r\n").await?;
                next(&mut reader, &mut line).await?;
                line.trim().to_owned()
            } else {
                initial
            };
            let plain = decode(&encoded);
            let mut parts = plain.split('\0').skip(1);
            let (u, p) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            auth_reply(mode, &mut user, u, p)
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            next(&mut reader, &mut line).await?;
            let u = decode(&line);
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            next(&mut reader, &mut line).await?;
            let p = decode(&line);
            auth_reply(mode, &mut user, &u, &p)
        } else if upper.starts_with("MAIL FROM:") {
            message = Message {
                user: user.as_ref().map(|(u, _)| u.clone()),
                password: user.as_ref().map(|(_, p)| p.clone()),
                from: address(&command[10..]),
                ..Message::default()
            };
            "250 2.1.0 Ok".into()
        } else if upper.starts_with("RCPT TO:") {
            let to = address(&command[8..]);
            if mode == Mode::RejectRecipient {
                format!("550 5.1.1 <{to}>: Recipient address rejected: User unknown")
            } else {
                message.to.push(to);
                "250 2.1.5 Ok".into()
            }
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                if !next(&mut reader, &mut line).await? {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let text = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(text);
            }
            message.data = data;
            let n = {
                let mut s = state.lock().unwrap();
                s.messages.push(std::mem::take(&mut message));
                s.messages.len()
            };
            format!("250 2.0.0 Ok: queued as SINK{n}")
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 Ok".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 Error: command not recognized".into()
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
    }
    Ok(())
}

fn auth_reply(mode: Mode, user: &mut Option<(String, String)>, u: &str, p: &str) -> String {
    if mode == Mode::RefuseAuth {
        "535 5.7.8 Error: authentication failed: bad credentials".into()
    } else {
        *user = Some((u.to_owned(), p.to_owned()));
        "235 2.7.0 Authentication successful".into()
    }
}

/// `<a@b>` (and any parameters after it) → `a@b`.
fn address(text: &str) -> String {
    let text = text.trim();
    let inner = text
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(text, |(a, _)| a);
    inner.trim().to_owned()
}
