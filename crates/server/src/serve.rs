//! `rivet serve`: bind the listen address, open the database, run the first-run setup, start the
//! workers and serve HTTP until Ctrl-C or SIGTERM, then stop accepting, finish in-flight
//! requests and stop the workers.
//!
//! [`Server::start`] and [`Server::run`] are separate so `rivet serve --demo` can seed between
//! the first-run setup and serving; [`serve`] is both with the first-run console block between.

use crate::bootstrap::CreatedCompany;
use crate::config::Config;
use crate::state::AppState;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A server that holds its address and its database but does not serve yet.
pub struct Server {
    pub state: AppState,
    listener: TcpListener,
    /// What the first-run setup created, when the database had no company.
    pub first_run: Option<CreatedCompany>,
}

impl Server {
    /// Bind the listen address first, so a port in use stops here before anything has run
    /// (migrations, the first-run setup, the workers); then open the database, migrate it and,
    /// when it has no company, create the first company and its system administrator.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let listener = bind(config.addr).await?;
        let state = crate::build_state(config, crate::ops::metrics_handle()).await?;
        crate::app::warn_unshared_key(&state);
        let first_run = crate::bootstrap::first_run(&state.store, &state.config)
            .await
            .map_err(|e| anyhow::anyhow!("first-run setup failed: {e}"))?;
        Ok(Self {
            state,
            listener,
            first_run,
        })
    }

    /// Start the workers and serve until a shutdown signal.
    pub async fn run(self) -> anyhow::Result<()> {
        let Self {
            state, listener, ..
        } = self;
        let addr = state.config.addr;
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = if state.config.workers {
            Some(crate::worker::spawn(state.clone(), stop_rx.clone()))
        } else {
            None
        };
        tracing::info!(%addr, database = %rivet_store::redact_url(&state.config.database_url()), "Rivet is listening on http://{addr}");
        let app = crate::router(state);
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        tracing::info!("HTTP server stopped; stopping workers");
        let _ = stop_tx.send(true);
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        Ok(())
    }
}

/// Run the server with `config` until a shutdown signal.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let server = Server::start(config).await?;
    if let Some(created) = &server.first_run {
        print!("{}", first_run_text(&server.state.config, created));
    }
    server.run().await
}

/// Listen on `addr`, or say what to change.
async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "the port {} is already in use (another Rivet?); stop that program or set \
                 RIVET_ADDR to another port",
                addr.port()
            ),
            std::io::ErrorKind::AddrNotAvailable => format!(
                "this machine has no address {}; set RIVET_ADDR to one of its addresses, or to \
                 0.0.0.0:{} for all of them",
                addr.ip(),
                addr.port()
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "not allowed ({e}); ports below 1024 need privileges, set RIVET_ADDR to a port \
                 such as 8080"
            ),
            _ => e.to_string(),
        };
        anyhow::anyhow!("cannot listen on {addr} (RIVET_ADDR): {hint}")
    })
}

/// The console block of a first run: the company, its system administrator and where to sign
/// in. A generated password is shown here once and never logged.
pub fn first_run_text(config: &Config, created: &CreatedCompany) -> String {
    let password = match &created.generated_password {
        Some(password) => format!(
            "    password: {password}\n  This password is shown only now. Change it after \
             signing in, on your profile page ({}/profile).\n",
            config.public_url()
        ),
        None => "    password: the one in RIVET_ADMIN_PASSWORD\n".to_owned(),
    };
    format!(
        "\n  Rivet first run: created the company \"{}\" and its admin, who is also the system \
         administrator (installation settings at /admin/system).\n  Sign in at {}/login\n    \
         e-mail:   {}\n{password}\n",
        config.company_name,
        config.public_url(),
        created.admin_email,
    )
}

/// `rivet worker`: only the workers, until a shutdown signal.
pub async fn run_worker(config: crate::Config) -> anyhow::Result<()> {
    let state = crate::build_state(config, None).await?;
    crate::app::warn_unshared_key(&state);
    let (stop_tx, stop_rx) = watch::channel(false);
    let handle = crate::worker::spawn(state, stop_rx);
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    let _ = handle.await;
    Ok(())
}

/// Resolve on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
