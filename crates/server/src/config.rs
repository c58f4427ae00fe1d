//! Configuration: read once at start from `RIVET_*` variables (and `DATABASE_URL`, `REDIS_URL`),
//! optionally layered over a TOML file named by `RIVET_CONFIG`, then passed down as a value.
//! Every setting has a default that is safe for a first run on one machine.

use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where `rivet serve` listens.
    pub addr: SocketAddr,
    /// Holds the SQLite file and uploads.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; empty means SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub db_max_connections: u32,
    /// `redis://…` to share rate limits between instances.
    pub redis_url: Option<String>,
    /// Prefix of Rivet's Redis keys, so several installations can share one Redis.
    pub redis_prefix: String,
    /// First run: the admin to create (else `admin@localhost` with a printed password).
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub company_name: String,
    /// Signs access tokens. When unset, a random secret is generated once and kept in the
    /// database, so every instance sharing the database agrees on it.
    pub jwt_secret: Option<String>,
    /// Seals secrets at rest (SMTP passwords, access tokens): 32 bytes in base64. When unset,
    /// a key is generated once into `data_dir/secret.key`; several instances must share one.
    pub secret_key: Option<String>,
    pub log: String,
    pub log_format: LogFormat,
    /// Sign-in attempts per minute per client IP.
    pub login_rate_limit: u32,
    /// Requests per minute per client IP, and per signed-in principal.
    pub ip_rate_limit: u32,
    pub user_rate_limit: u32,
    /// Requests per minute per IP on unauthenticated endpoints (invitations, refresh).
    pub public_rate_limit: u32,
    pub rate_limit_disabled: bool,
    /// Run the job workers inside `rivet serve`.
    pub workers: bool,
    pub worker_concurrency: usize,
    /// Set the `Secure` flag on the session cookie (serve over HTTPS).
    pub cookie_secure: bool,
    /// The address users reach Rivet at, for links in invitations.
    pub public_url: Option<String>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// The bearer token `/metrics` asks for when Rivet listens beyond loopback (see
    /// [`Config::metrics_access`]).
    pub metrics_token: Option<String>,
    /// Let webhooks deliver to loopback, private and link-local addresses (on-premise receivers,
    /// tests). Off by default: a webhook URL must not reach Rivet's own network.
    pub webhook_allow_private: bool,
    /// Seconds a webhook receiver has to answer before the attempt counts as failed.
    pub webhook_timeout_secs: u64,
    /// Seconds an SMTP server has to accept the connection, and then to take a whole message
    /// (`RIVET_SMTP_TIMEOUT`, 10): a server that hangs never holds a request or worker longer.
    /// An IMAP server has as long for each exchange of a poll (`crate::imap`).
    pub smtp_timeout_secs: u64,
    /// The only SMTP hosts companies may send through (`RIVET_SMTP_ALLOW_HOSTS`, comma-separated;
    /// empty: any), and the only IMAP hosts they may poll. For sandboxes and fuzzing runs that
    /// must not reach outside.
    pub smtp_allow_hosts: Vec<String>,
    /// PostgreSQL: bind tenant transactions with row-level security (`RIVET_PG_RLS`, default
    /// on). Off only to measure what the policies cost; the store's company filters remain.
    pub pg_rls: bool,
    /// The largest file an import accepts, in bytes (`RIVET_IMPORT_MAX_BYTES`, 50 MB).
    pub import_max_bytes: usize,
    /// Days an export's file is kept after it is written (`RIVET_EXPORT_RETENTION_DAYS`, 7).
    pub export_retention_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            db_max_connections: 16,
            redis_url: None,
            redis_prefix: "rivet".into(),
            admin_email: None,
            admin_password: None,
            company_name: "My Company".into(),
            jwt_secret: None,
            secret_key: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            login_rate_limit: 10,
            ip_rate_limit: 1200,
            user_rate_limit: 1200,
            public_rate_limit: 30,
            rate_limit_disabled: false,
            workers: true,
            worker_concurrency: 4,
            cookie_secure: false,
            public_url: None,
            trust_proxy: false,
            metrics_token: None,
            webhook_allow_private: false,
            webhook_timeout_secs: 10,
            smtp_timeout_secs: 10,
            smtp_allow_hosts: Vec::new(),
            pg_rls: true,
            import_max_bytes: 50 * 1024 * 1024,
            export_retention_days: 7,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(rivet_store::redact_url),
            )
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(rivet_store::redact_url),
            )
            .field("admin_email", &self.admin_email)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// One variable's name, the config field it sets, and what it means (for `rivet --help`).
pub const VARIABLES: &[(&str, &str)] = &[
    ("RIVET_ADDR", "listen address (default 127.0.0.1:8080)"),
    (
        "RIVET_DATA_DIR",
        "data directory holding the SQLite file (default ./data)",
    ),
    (
        "DATABASE_URL",
        "postgres://… to use PostgreSQL instead of SQLite",
    ),
    (
        "RIVET_DB_MAX_CONNECTIONS",
        "database pool size (default 16; SQLite uses at most 8)",
    ),
    (
        "REDIS_URL",
        "redis://… to share rate limits between instances",
    ),
    ("RIVET_REDIS_PREFIX", "prefix of Redis keys (default rivet)"),
    ("RIVET_ADMIN_EMAIL", "first run: the admin's e-mail"),
    ("RIVET_ADMIN_PASSWORD", "first run: the admin's password"),
    (
        "RIVET_COMPANY_NAME",
        "first run: the company's name (default My Company)",
    ),
    (
        "RIVET_JWT_SECRET",
        "token signing secret (default: generated, kept in the database)",
    ),
    (
        "RIVET_SECRET_KEY",
        "key sealing stored secrets, 32 bytes base64 (default: generated into DATA_DIR/secret.key)",
    ),
    (
        "RIVET_LOG",
        "log filter, e.g. info or rivet=debug (default info)",
    ),
    ("RIVET_LOG_FORMAT", "text or json (default text)"),
    (
        "RIVET_LOGIN_RATE_LIMIT",
        "sign-in attempts per minute per IP (default 10)",
    ),
    (
        "RIVET_IP_RATE_LIMIT",
        "requests per minute per IP (default 1200)",
    ),
    (
        "RIVET_USER_RATE_LIMIT",
        "requests per minute per user or API key (default 1200)",
    ),
    (
        "RIVET_PUBLIC_RATE_LIMIT",
        "requests per minute per IP on public endpoints (default 30)",
    ),
    (
        "RIVET_RATE_LIMIT_DISABLED",
        "true to turn rate limiting off (benchmarks)",
    ),
    (
        "RIVET_WORKERS",
        "run job workers inside `serve` (default true)",
    ),
    (
        "RIVET_WORKER_CONCURRENCY",
        "jobs run at once per process (default 4)",
    ),
    (
        "RIVET_COOKIE_SECURE",
        "mark the session cookie Secure (default false)",
    ),
    (
        "RIVET_PUBLIC_URL",
        "external address for links in invitations",
    ),
    (
        "RIVET_TRUST_PROXY",
        "use X-Forwarded-For as the client address (default false)",
    ),
    (
        "RIVET_METRICS_TOKEN",
        "bearer token for /metrics (needed unless listening on loopback)",
    ),
    (
        "RIVET_WEBHOOK_ALLOW_PRIVATE",
        "true lets webhooks deliver to loopback/private/link-local addresses (default false)",
    ),
    (
        "RIVET_WEBHOOK_TIMEOUT",
        "seconds a webhook receiver has to answer (default 10)",
    ),
    (
        "RIVET_SMTP_TIMEOUT",
        "seconds an SMTP server has to connect, and to take a message (default 10)",
    ),
    (
        "RIVET_SMTP_ALLOW_HOSTS",
        "comma-separated SMTP hosts companies may use (default: any)",
    ),
    (
        "RIVET_PG_RLS",
        "PostgreSQL row-level security on tenant transactions (default on; off only to \
         measure its cost)",
    ),
    (
        "RIVET_EXPORT_RETENTION_DAYS",
        "days an export made by a job is kept for download (default 7)",
    ),
    (
        "RIVET_CONFIG",
        "a TOML file with the same settings (snake_case keys)",
    ),
];

/// Who may read `/metrics` ([`Config::metrics_access`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess<'a> {
    Open,
    /// Callers presenting `Authorization: Bearer <token>`.
    Token(&'a str),
    /// Nobody: Rivet listens beyond loopback and no token is set.
    Closed,
}

/// `RIVET_ADDR`: an `IP:port`, or a host name and port resolved once here (IPv4 first, as
/// `localhost` usually means 127.0.0.1 to whoever typed it).
fn listen_address(value: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    let expected = "expected an IP address and port, such as 127.0.0.1:8080 (this machine \
                    only) or 0.0.0.0:8080 (every interface)";
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(ConfigError::Invalid(format!(
            "RIVET_ADDR={value:?}: {expected}"
        )));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(ConfigError::Invalid(format!(
            "RIVET_ADDR={value:?}: {expected}"
        )));
    }
    let resolved: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(value)
        .map_err(|e| {
            ConfigError::Invalid(format!(
                "RIVET_ADDR={value:?}: cannot resolve the host name {host:?} ({e}); {expected}"
            ))
        })?
        .collect();
    resolved
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| resolved.first())
        .copied()
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "RIVET_ADDR={value:?}: the host name {host:?} has no address; {expected}"
            ))
        })
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `error` is not the `source`: the message already says it, and `{:#}` would repeat it.
    #[error("RIVET_CONFIG={path:?}: cannot read the configuration file: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Read the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Read the configuration from a set of variables (tests pass their own).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = match vars.get("RIVET_CONFIG").filter(|p| !p.is_empty()) {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                    path: path.clone(),
                    error,
                })?;
                toml::from_str(&text)
                    .map_err(|e| ConfigError::Invalid(format!("RIVET_CONFIG={path:?}: {e}")))?
            }
            None => Config::default(),
        };
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
            value
                .parse()
                .map_err(|_| ConfigError::Invalid(format!("{name}={value:?} cannot be parsed")))
        }
        fn flag(name: &str, value: &str) -> Result<bool, ConfigError> {
            match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Invalid(format!(
                    "{name}={value:?} is not true or false"
                ))),
            }
        }
        if let Some(v) = get("RIVET_ADDR") {
            config.addr = listen_address(&v)?;
        }
        if let Some(v) = get("RIVET_DATA_DIR") {
            config.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("DATABASE_URL") {
            config.database_url = Some(v);
        }
        if let Some(v) = get("RIVET_DB_MAX_CONNECTIONS") {
            config.db_max_connections = parse("RIVET_DB_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("REDIS_URL") {
            config.redis_url = Some(v);
        }
        if let Some(v) = get("RIVET_REDIS_PREFIX") {
            config.redis_prefix = v;
        }
        if let Some(v) = get("RIVET_ADMIN_EMAIL") {
            config.admin_email = Some(v);
        }
        if let Some(v) = vars.get("RIVET_ADMIN_PASSWORD").filter(|v| !v.is_empty()) {
            config.admin_password = Some(v.clone());
        }
        if let Some(v) = get("RIVET_COMPANY_NAME") {
            config.company_name = v;
        }
        if let Some(v) = get("RIVET_JWT_SECRET") {
            config.jwt_secret = Some(v);
        }
        if let Some(v) = get("RIVET_SECRET_KEY") {
            config.secret_key = Some(v);
        }
        if let Some(v) = get("RIVET_LOG") {
            config.log = v;
        }
        if let Some(v) = get("RIVET_LOG_FORMAT") {
            config.log_format = match v.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                _ => {
                    return Err(ConfigError::Invalid(
                        "RIVET_LOG_FORMAT must be text or json".into(),
                    ));
                }
            };
        }
        if let Some(v) = get("RIVET_LOGIN_RATE_LIMIT") {
            config.login_rate_limit = parse("RIVET_LOGIN_RATE_LIMIT", &v)?;
        }
        if let Some(v) = get("RIVET_IP_RATE_LIMIT") {
            config.ip_rate_limit = parse("RIVET_IP_RATE_LIMIT", &v)?;
        }
        if let Some(v) = get("RIVET_USER_RATE_LIMIT") {
            config.user_rate_limit = parse("RIVET_USER_RATE_LIMIT", &v)?;
        }
        if let Some(v) = get("RIVET_PUBLIC_RATE_LIMIT") {
            config.public_rate_limit = parse("RIVET_PUBLIC_RATE_LIMIT", &v)?;
        }
        if let Some(v) = get("RIVET_RATE_LIMIT_DISABLED") {
            config.rate_limit_disabled = flag("RIVET_RATE_LIMIT_DISABLED", &v)?;
        }
        if let Some(v) = get("RIVET_WORKERS") {
            config.workers = flag("RIVET_WORKERS", &v)?;
        }
        if let Some(v) = get("RIVET_WORKER_CONCURRENCY") {
            config.worker_concurrency = parse("RIVET_WORKER_CONCURRENCY", &v)?;
        }
        if let Some(v) = get("RIVET_COOKIE_SECURE") {
            config.cookie_secure = flag("RIVET_COOKIE_SECURE", &v)?;
        }
        if let Some(v) = get("RIVET_PUBLIC_URL") {
            config.public_url = Some(v);
        }
        if let Some(v) = get("RIVET_TRUST_PROXY") {
            config.trust_proxy = flag("RIVET_TRUST_PROXY", &v)?;
        }
        if let Some(v) = get("RIVET_METRICS_TOKEN") {
            config.metrics_token = Some(v);
        }
        if let Some(v) = get("RIVET_WEBHOOK_ALLOW_PRIVATE") {
            config.webhook_allow_private = flag("RIVET_WEBHOOK_ALLOW_PRIVATE", &v)?;
        }
        if let Some(v) = get("RIVET_WEBHOOK_TIMEOUT") {
            config.webhook_timeout_secs = parse("RIVET_WEBHOOK_TIMEOUT", &v)?;
        }
        if config.webhook_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "RIVET_WEBHOOK_TIMEOUT must be at least 1 second".into(),
            ));
        }
        if let Some(v) = get("RIVET_SMTP_TIMEOUT") {
            config.smtp_timeout_secs = parse("RIVET_SMTP_TIMEOUT", &v)?;
        }
        if config.smtp_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "RIVET_SMTP_TIMEOUT must be at least 1 second".into(),
            ));
        }
        if let Some(v) = get("RIVET_SMTP_ALLOW_HOSTS") {
            config.smtp_allow_hosts = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        if let Some(v) = get("RIVET_PG_RLS") {
            config.pg_rls = flag("RIVET_PG_RLS", &v)?;
        }
        if let Some(v) = get("RIVET_IMPORT_MAX_BYTES") {
            config.import_max_bytes = parse("RIVET_IMPORT_MAX_BYTES", &v)?;
        }
        if let Some(v) = get("RIVET_EXPORT_RETENTION_DAYS") {
            config.export_retention_days = parse("RIVET_EXPORT_RETENTION_DAYS", &v)?;
        }
        if config.worker_concurrency == 0 {
            return Err(ConfigError::Invalid(
                "RIVET_WORKER_CONCURRENCY must be at least 1".into(),
            ));
        }
        Ok(config)
    }

    /// The database to open: `DATABASE_URL`, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("rivet.db").display()),
        }
    }

    /// Who may read `/metrics`. The rule follows the address Rivet listens on, not the client's
    /// address (which `RIVET_TRUST_PROXY` lets a header choose): on loopback only this machine
    /// can connect, so it is open; elsewhere it needs `RIVET_METRICS_TOKEN` as a bearer token,
    /// and without one it is not served at all.
    pub fn metrics_access(&self) -> MetricsAccess<'_> {
        match &self.metrics_token {
            Some(token) => MetricsAccess::Token(token),
            None if self.addr.ip().is_loopback() => MetricsAccess::Open,
            None => MetricsAccess::Closed,
        }
    }

    /// The base of links sent to users.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_need_no_variables() {
        let config = Config::from_vars(&HashMap::new()).ok();
        assert_eq!(
            config.as_ref().map(|c| c.addr.to_string()),
            Some("127.0.0.1:8080".into())
        );
        assert_eq!(
            config.map(|c| c.database_url()),
            Some("sqlite://./data/rivet.db".into())
        );
    }

    #[test]
    fn variables_override_and_bad_values_are_named() {
        let config = Config::from_vars(&vars(&[
            ("RIVET_ADDR", "0.0.0.0:9000"),
            ("RIVET_LOGIN_RATE_LIMIT", "3"),
        ]))
        .ok();
        assert_eq!(
            config.map(|c| (c.addr.port(), c.login_rate_limit)),
            Some((9000, 3))
        );
        let err = Config::from_vars(&vars(&[("RIVET_WORKERS", "maybe")])).err();
        assert!(err.is_some_and(|e| e.to_string().contains("RIVET_WORKERS")));
    }

    #[test]
    fn listen_addresses_say_what_is_expected_or_resolve() {
        for bad in [
            "8080",
            ":8080",
            "localhost",
            "localhost:http",
            "no.such.host.invalid:80",
        ] {
            let err = Config::from_vars(&vars(&[("RIVET_ADDR", bad)]))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("RIVET_ADDR") && err.contains("127.0.0.1:8080"),
                "{bad}: {err}"
            );
        }
        let config = Config::from_vars(&vars(&[("RIVET_ADDR", "localhost:8081")])).ok();
        assert_eq!(
            config.map(|c| c.addr.to_string()),
            Some("127.0.0.1:8081".into())
        );
    }

    #[test]
    fn a_missing_config_file_is_named_once() {
        let err = Config::from_vars(&vars(&[("RIVET_CONFIG", "/no/such/rivet.toml")]))
            .err()
            .map(|e| format!("{:#}", anyhow::Error::new(e)))
            .unwrap_or_default();
        assert!(
            err.contains("RIVET_CONFIG=\"/no/such/rivet.toml\""),
            "{err}"
        );
        assert_eq!(err.matches("No such file").count(), 1, "{err}");
    }

    #[test]
    fn metrics_are_open_on_loopback_and_need_the_token_elsewhere() {
        let access = |pairs: &[(&str, &str)]| {
            Config::from_vars(&vars(pairs)).map(|c| match c.metrics_access() {
                MetricsAccess::Open => "open".to_owned(),
                MetricsAccess::Token(t) => format!("token {t}"),
                MetricsAccess::Closed => "closed".to_owned(),
            })
        };
        assert_eq!(access(&[]).ok(), Some("open".into()));
        assert_eq!(
            access(&[("RIVET_ADDR", "[::1]:8080")]).ok(),
            Some("open".into())
        );
        assert_eq!(
            access(&[("RIVET_ADDR", "0.0.0.0:8080")]).ok(),
            Some("closed".into())
        );
        assert_eq!(
            access(&[
                ("RIVET_ADDR", "0.0.0.0:8080"),
                ("RIVET_METRICS_TOKEN", "s3")
            ])
            .ok(),
            Some("token s3".into())
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("RIVET_ADMIN_PASSWORD", "hunter2"),
        ]))
        .ok();
        assert!(config.is_some_and(|c| !format!("{c:?}").contains("hunter2")));
    }
}
