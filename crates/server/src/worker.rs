//! Background workers (filled in by the jobs work).

use crate::state::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Start the workers; they stop when `stop` turns true.
pub fn spawn(_state: AppState, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = stop.wait_for(|s| *s).await;
    })
}

/// `rivet worker`: only the workers, until a shutdown signal.
pub async fn run_standalone(config: crate::Config) -> anyhow::Result<()> {
    let state = crate::build_state(config, None).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let handle = spawn(state, stop_rx);
    crate::serve::shutdown_signal().await;
    let _ = stop_tx.send(true);
    let _ = handle.await;
    Ok(())
}
