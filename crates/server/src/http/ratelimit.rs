//! Sliding-window rate limits (the current window's count plus the previous window's, weighted by
//! how much of it still overlaps), kept in process by default or in Redis when `REDIS_URL` is set
//! so that every instance enforces one shared limit. Unlike a fixed window, a burst cannot get
//! twice the limit through by straddling a window boundary. A limiter error (Redis down) lets the request
//! through and logs it: a rate limiter must not take the CRM down with it.

use crate::http::error::AppError;
use anyhow::Context as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone)]
pub struct RateLimiter {
    backend: Backend,
    disabled: bool,
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<Mutex<HashMap<String, Counter>>>),
    Redis {
        manager: Box<redis::aio::ConnectionManager>,
        prefix: String,
    },
}

/// Hits in the current window and in the one before it.
#[derive(Debug, Clone, Copy)]
struct Counter {
    slot: u64,
    current: u32,
    previous: u32,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl RateLimiter {
    pub fn memory(disabled: bool) -> Self {
        Self {
            backend: Backend::Memory(Arc::new(Mutex::new(HashMap::new()))),
            disabled,
        }
    }

    pub async fn redis(url: &str, prefix: &str, disabled: bool) -> anyhow::Result<Self> {
        let manager = redis_manager(url).await?;
        Ok(Self {
            backend: Backend::Redis {
                manager: Box::new(manager),
                prefix: prefix.to_owned(),
            },
            disabled,
        })
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis { .. })
    }

    /// Count one hit on `key`; more than `limit` hits in the current `window` is a 429 whose
    /// `Retry-After` is the time left in the window.
    pub async fn check(&self, key: &str, limit: u32, window: Duration) -> Result<(), AppError> {
        if self.disabled || limit == 0 {
            return Ok(());
        }
        let window_ms = u64::try_from(window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1000);
        let now = now_millis();
        let slot = now / window_ms;
        let into_window = (now % window_ms) as f64 / window_ms as f64;
        let retry_after = (window_ms - now % window_ms).div_ceil(1000);
        let (current, previous) = match &self.backend {
            Backend::Memory(map) => {
                let Ok(mut map) = map.lock() else {
                    return Ok(());
                };
                if map.len() > 100_000 {
                    map.retain(|_, c| c.slot + 1 >= slot);
                }
                let counter = map.entry(key.to_owned()).or_insert(Counter {
                    slot,
                    current: 0,
                    previous: 0,
                });
                if counter.slot != slot {
                    let previous = if counter.slot + 1 == slot {
                        counter.current
                    } else {
                        0
                    };
                    *counter = Counter {
                        slot,
                        current: 0,
                        previous,
                    };
                }
                counter.current = counter.current.saturating_add(1);
                (counter.current, counter.previous)
            }
            Backend::Redis { manager, prefix } => {
                let mut conn = manager.as_ref().clone();
                let current_key = format!("{prefix}:rl:{key}:{slot}");
                let previous_key = format!("{prefix}:rl:{key}:{}", slot.saturating_sub(1));
                let ttl = i64::try_from(2 * window_ms / 1000 + 1).unwrap_or(i64::MAX);
                let result: redis::RedisResult<(u32, (), Option<u32>)> = redis::pipe()
                    .atomic()
                    .incr(&current_key, 1u32)
                    .expire(&current_key, ttl)
                    .get(&previous_key)
                    .query_async(&mut conn)
                    .await;
                match result {
                    Ok((current, (), previous)) => (current, previous.unwrap_or(0)),
                    Err(err) => {
                        tracing::error!(error = %err, "rate limiter unavailable; request allowed");
                        return Ok(());
                    }
                }
            }
        };
        let count = f64::from(current) + f64::from(previous) * (1.0 - into_window);
        if count > f64::from(limit) {
            Err(AppError::TooManyRequests {
                retry_after_secs: retry_after.max(1),
            })
        } else {
            Ok(())
        }
    }
}

/// A shared connection to Redis that gives up instead of waiting: connecting (at start-up and
/// after a drop) and each command are bounded, so a Redis that is down or unreachable makes
/// start-up fail with its address and a request fall back (the limiter lets it through and logs
/// an error) within a few seconds rather than hang.
async fn redis_manager(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url)?;
    // redis 0.27 hands `factor` to backon as a multiplier of a one-second first delay (the
    // default 100 made the second retry wait a minute): keep each wait at one second.
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_factor(1)
        .set_max_delay(1_000)
        .set_number_of_retries(2)
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(2));
    redis::aio::ConnectionManager::new_with_config(client, config)
        .await
        .with_context(|| format!("cannot reach Redis at {}", rivet_store::redact_url(url)))
}

/// Share the store's auth epoch between instances through Redis pub/sub: a change committed on
/// one instance empties the caller caches of all of them.
pub async fn share_auth_epoch(
    store: &rivet_store::Store,
    url: &str,
    prefix: &str,
) -> anyhow::Result<()> {
    let channel = format!("{prefix}:auth-epoch");
    let client = redis::Client::open(url)?;
    let publisher = redis_manager(url).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(64);
    store.auth_epoch().set_notify(Box::new(move || {
        let _ = tx.try_send(());
    }));
    let publish_channel = channel.clone();
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            let mut conn = publisher.clone();
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&publish_channel)
                .arg(1)
                .query_async(&mut conn)
                .await;
            if let Err(err) = sent {
                tracing::error!(error = %err, "could not announce an auth change to other instances");
            }
        }
    });
    let store = store.clone();
    tokio::spawn(async move {
        loop {
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => {
                    if pubsub.subscribe(&channel).await.is_ok() {
                        let mut messages = pubsub.on_message();
                        while futures_util::StreamExt::next(&mut messages).await.is_some() {
                            store.auth_epoch().bump_remote();
                        }
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "auth change subscription lost; retrying")
                }
            }
            // Whatever was missed while disconnected: assume everything changed.
            store.auth_epoch().bump_remote();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_naming_it_not_a_hang() {
        // Nothing listens on port 1; the bound keeps a regression from hanging the suite.
        let attempt = tokio::time::timeout(
            Duration::from_secs(30),
            RateLimiter::redis("redis://:secret@127.0.0.1:1", "rivet-test", false),
        )
        .await;
        let Ok(Err(err)) = attempt else {
            panic!(
                "expected a quick error, got {:?}",
                attempt.map(|r| r.is_ok())
            );
        };
        let message = format!("{err:#}");
        assert!(
            message.contains("cannot reach Redis at redis://:***@127.0.0.1:1"),
            "{message}"
        );
        assert!(!message.contains("secret"), "{message}");
    }

    #[tokio::test]
    async fn the_hit_after_the_limit_is_refused_with_a_retry_time() {
        let limiter = RateLimiter::memory(false);
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.check("k", 3, window).await.is_ok());
        }
        match limiter.check("k", 3, window).await {
            Err(AppError::TooManyRequests { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs));
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(limiter.check("other", 3, window).await.is_ok());
    }

    #[tokio::test]
    async fn a_disabled_limiter_allows_everything() {
        let limiter = RateLimiter::memory(true);
        for _ in 0..10 {
            assert!(limiter.check("k", 1, Duration::from_secs(60)).await.is_ok());
        }
    }
}
