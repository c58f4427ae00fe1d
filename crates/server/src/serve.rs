//! `rivet serve`: open the database, run the first-run setup, start the workers and serve HTTP
//! until Ctrl-C or SIGTERM, then stop accepting, finish in-flight requests and stop the workers.

use crate::config::Config;
use crate::state::AppState;
use std::net::SocketAddr;
use tokio::sync::watch;

/// Run the server with `config` until a shutdown signal.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.addr;
    let state = crate::build_state(config, crate::ops::metrics_handle()).await?;
    announce_first_run(&state).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = if state.config.workers {
        Some(crate::worker::spawn(state.clone(), stop_rx.clone()))
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
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

async fn announce_first_run(state: &AppState) -> anyhow::Result<()> {
    let created = crate::bootstrap::first_run(&state.store, &state.config)
        .await
        .map_err(|e| anyhow::anyhow!("first-run setup failed: {e}"))?;
    if let Some(created) = created {
        match &created.generated_password {
            Some(password) => {
                // Printed once on the console, never logged: the operator needs it to sign in.
                println!(
                    "\n  Rivet first run: created the company \"{}\" and its admin.",
                    state.config.company_name
                );
                println!("  Sign in at {}/login", state.config.public_url());
                println!("    e-mail:   {}", created.admin_email);
                println!("    password: {password}");
                println!("  This password is shown only now. Change it after signing in.\n");
            }
            None => {
                tracing::info!(email = %created.admin_email, "first run: created the company and its admin")
            }
        }
    }
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
