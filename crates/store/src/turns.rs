//! Whose turn it is to write on SQLite ([`Turns`]): SQLite writes one transaction at a time, on
//! the store's one writer connection, and the writers wait for it in line. A write that must
//! land as soon as possible — the record that a message is being handed to an SMTP server,
//! written while the server waits for its content (`crate::email::mark_handed`) —
//! asks for an *urgent* turn and goes before every ordinary writer still waiting; it still waits
//! for the transaction under way. PostgreSQL has no such line (writers of different rows do not
//! wait for each other), so it has no turns.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a writer waits for its turn before giving up (as the writer pool's acquire did).
const WAIT: Duration = Duration::from_secs(10);

/// The line of writers waiting for the one writer connection.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    line: Mutex<Line>,
}

#[derive(Debug, Default)]
struct Line {
    /// A writer holds the turn.
    busy: bool,
    urgent: VecDeque<oneshot::Sender<Turn>>,
    ordinary: VecDeque<oneshot::Sender<Turn>>,
}

/// The turn to write, held for a transaction's life; dropping it hands it to the next writer
/// (the first urgent one, else the first ordinary one).
#[derive(Debug)]
pub(crate) struct Turn {
    /// `None` once handed on.
    turns: Option<Arc<Turns>>,
}

impl Turns {
    /// Wait for the turn (`None`: not within [`WAIT`]).
    pub(crate) async fn take(self: &Arc<Self>, urgent: bool) -> Option<Turn> {
        let waiting = {
            let Ok(mut line) = self.line.lock() else {
                return None;
            };
            if !line.busy {
                line.busy = true;
                return Some(Turn {
                    turns: Some(self.clone()),
                });
            }
            let (send, wait) = oneshot::channel();
            if urgent {
                line.urgent.push_back(send);
            } else {
                line.ordinary.push_back(send);
            }
            wait
        };
        // A turn handed to a writer that stopped waiting is dropped in the channel, which
        // hands it on.
        tokio::time::timeout(WAIT, waiting).await.ok()?.ok()
    }

    /// Hand the turn on, or free it when nobody waits.
    fn pass(self: &Arc<Self>) {
        loop {
            let next = {
                let Ok(mut line) = self.line.lock() else {
                    return;
                };
                match line
                    .urgent
                    .pop_front()
                    .or_else(|| line.ordinary.pop_front())
                {
                    Some(next) => next,
                    None => {
                        line.busy = false;
                        return;
                    }
                }
            };
            match next.send(Turn {
                turns: Some(self.clone()),
            }) {
                Ok(()) => return,
                // That writer stopped waiting: the turn comes back; empty it (so dropping it
                // does not pass it again from inside this loop) and try the next.
                Err(mut turn) => turn.turns = None,
            }
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(turns) = self.turns.take() {
            turns.pass();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_urgent_writer_goes_before_the_ordinary_ones_waiting() {
        let turns = Arc::new(Turns::default());
        let Some(first) = turns.take(false).await else {
            panic!("the turn is free");
        };
        let order = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for (name, urgent) in [("a", false), ("b", false), ("urgent", true)] {
            let (turns, order) = (turns.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let turn = turns.take(urgent).await;
                order.lock().await.push(name);
                drop(turn);
            }));
            tokio::task::yield_now().await;
        }
        drop(first);
        for w in waiting {
            assert!(w.await.is_ok());
        }
        assert_eq!(*order.lock().await, ["urgent", "a", "b"]);
    }

    #[tokio::test]
    async fn a_writer_that_stops_waiting_does_not_keep_the_turn() {
        let turns = Arc::new(Turns::default());
        let Some(first) = turns.take(false).await else {
            panic!("the turn is free");
        };
        let gone = {
            let turns = turns.clone();
            tokio::spawn(async move { turns.take(false).await })
        };
        tokio::task::yield_now().await;
        gone.abort();
        let _ = gone.await;
        drop(first);
        assert!(turns.take(true).await.is_some(), "the turn is free again");
    }
}
