//! A real IMAP server for tests: Debian's Dovecot (`dovecot-imapd`, installed by `.ci/run`),
//! started as a process of its own on a free port of `127.0.0.1` with a configuration written
//! into a temporary directory — users in a passwd file (plain passwords), each with a Maildir
//! there, no TLS (`tls: none` with `allow_plaintext` in the settings), no systemd. A failed
//! sign-in makes Dovecot delay the next ones from the address (2 s, then 4 s, …). Messages
//! are delivered the way a mail server's would be seen by a client: by IMAP `APPEND`, through
//! the few lines of IMAP in [`Dovecot::command`] (not Rivet's client). Dropping it stops the
//! server.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A running Dovecot; it stops when dropped.
pub struct Dovecot {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // TERM lets the master take its login and mail processes down with it.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The user id this process runs as (from `/proc`).
fn own_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

impl Dovecot {
    /// Start Dovecot with `users` (name, password), each with an empty INBOX.
    pub async fn start(users: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        let uid = own_uid();
        // As root, mail is read and written as `nobody`, which must reach the directory.
        let (mail_uid, users_block) = if uid == 0 {
            (65534, String::new())
        } else {
            let name = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            (
                uid,
                format!("default_login_user = {name}\ndefault_internal_user = {name}\n"),
            )
        };
        {
            use std::os::unix::fs::PermissionsExt;
            for sub in ["", "mail", "run", "state"] {
                let path = root.join(sub);
                std::fs::create_dir_all(&path).expect("a directory");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
                    .expect("permissions");
            }
        }
        let mut passwd = std::fs::File::create(root.join("passwd")).expect("passwd file");
        for (user, password) in users {
            writeln!(passwd, "{user}:{{PLAIN}}{password}::::::").expect("a user");
        }
        let port = free_port();
        let dir_text = root.display();
        let config = format!(
            "protocols = imap\n\
             listen = 127.0.0.1\n\
             base_dir = {dir_text}/run\n\
             state_dir = {dir_text}/state\n\
             log_path = {dir_text}/dovecot.log\n\
             ssl = no\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             auth_failure_delay = 0\n\
             first_valid_uid = 1\n\
             {users_block}\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {dir_text}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_uid} gid={mail_uid} home={dir_text}/mail/%u\n}}\n\
             mail_location = maildir:{dir_text}/mail/%u/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n  chroot =\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
        std::fs::write(root.join("dovecot.conf"), config).expect("the configuration");
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot could not be started: install Debian's dovecot-imapd (.ci/run does)");
        let server = Self { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)).await {
                let mut reader = BufReader::new(stream);
                let mut greeting = String::new();
                if reader.read_line(&mut greeting).await.is_ok() && greeting.starts_with("* OK") {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "dovecot did not start on port {port}: {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server logged (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Sign in as `user` and run `commands` (each a line, or a line ending in `{n}` followed by
    /// its literal), each to its tagged answer: everything the server said.
    pub async fn command(&self, user: &str, password: &str, commands: &[&str]) -> String {
        let stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to dovecot");
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let mut transcript = String::new();
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("greeting");
        let login = format!("LOGIN \"{user}\" \"{password}\"");
        let mut all = vec![login.as_str()];
        all.extend_from_slice(commands);
        all.push("LOGOUT");
        for (n, command) in all.iter().enumerate() {
            let tag = format!("t{n}");
            match command.split_once("\r\n") {
                // APPEND with a literal: send the line, wait for "+", then the literal.
                Some((head, literal)) => {
                    write
                        .write_all(format!("{tag} {head}\r\n").as_bytes())
                        .await
                        .unwrap();
                    line.clear();
                    reader.read_line(&mut line).await.unwrap();
                    assert!(line.starts_with('+'), "no continuation: {line}");
                    write.write_all(literal.as_bytes()).await.unwrap();
                    write.write_all(b"\r\n").await.unwrap();
                }
                None => write
                    .write_all(format!("{tag} {command}\r\n").as_bytes())
                    .await
                    .unwrap(),
            }
            loop {
                line.clear();
                let read =
                    tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
                        .await
                        .expect("dovecot answers")
                        .unwrap();
                if read == 0 {
                    return transcript;
                }
                transcript.push_str(&line);
                if line.starts_with(&format!("{tag} ")) {
                    break;
                }
            }
        }
        transcript
    }

    /// Deliver `raw` (an RFC 5322 message) into `user`'s INBOX, unread.
    pub async fn deliver(&self, user: &str, password: &str, raw: &str) {
        let raw = raw.replace("\r\n", "\n").replace('\n', "\r\n");
        let append = format!("APPEND INBOX {{{}}}\r\n{raw}", raw.len());
        let said = self.command(user, password, &[&append]).await;
        assert!(said.contains("t1 OK"), "APPEND failed: {said}");
    }

    /// How many of `user`'s INBOX messages are not `\Seen`.
    pub async fn unseen(&self, user: &str, password: &str) -> usize {
        let said = self
            .command(user, password, &["SELECT INBOX", "UID SEARCH UNSEEN"])
            .await;
        said.lines()
            .find_map(|l| l.strip_prefix("* SEARCH"))
            .map_or(0, |uids| uids.split_whitespace().count())
    }
}
