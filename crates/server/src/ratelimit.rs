//! Fixed-window rate limits, kept in process by default or in Redis when `REDIS_URL` is set so
//! that every instance enforces one shared limit. A limiter error (Redis down) lets the request
//! through and logs it: a rate limiter must not take the CRM down with it.

use crate::error::AppError;
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
    Memory(Arc<Mutex<HashMap<String, (u64, u32)>>>),
    Redis(redis::aio::ConnectionManager),
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl RateLimiter {
    pub fn memory(disabled: bool) -> Self {
        Self {
            backend: Backend::Memory(Arc::new(Mutex::new(HashMap::new()))),
            disabled,
        }
    }

    pub async fn redis(url: &str, disabled: bool) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let manager = redis::aio::ConnectionManager::new(client).await?;
        Ok(Self {
            backend: Backend::Redis(manager),
            disabled,
        })
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// Count one hit on `key`; more than `limit` hits in the current `window` is a 429 whose
    /// `Retry-After` is the time left in the window.
    pub async fn check(&self, key: &str, limit: u32, window: Duration) -> Result<(), AppError> {
        if self.disabled || limit == 0 {
            return Ok(());
        }
        let window_secs = window.as_secs().max(1);
        let now = now_secs();
        let slot = now / window_secs;
        let retry_after = (slot + 1) * window_secs - now;
        let count = match &self.backend {
            Backend::Memory(map) => {
                let Ok(mut map) = map.lock() else {
                    return Ok(());
                };
                if map.len() > 100_000 {
                    map.retain(|_, (s, _)| *s == slot);
                }
                let entry = map.entry(key.to_owned()).or_insert((slot, 0));
                if entry.0 != slot {
                    *entry = (slot, 0);
                }
                entry.1 = entry.1.saturating_add(1);
                entry.1
            }
            Backend::Redis(manager) => {
                let mut conn = manager.clone();
                let redis_key = format!("rivet:rl:{key}:{slot}");
                let result: redis::RedisResult<(u32, ())> = redis::pipe()
                    .atomic()
                    .incr(&redis_key, 1u32)
                    .expire(
                        &redis_key,
                        i64::try_from(window_secs + 1).unwrap_or(i64::MAX),
                    )
                    .query_async(&mut conn)
                    .await;
                match result {
                    Ok((count, ())) => count,
                    Err(err) => {
                        tracing::error!(error = %err, "rate limiter unavailable; request allowed");
                        return Ok(());
                    }
                }
            }
        };
        if count > limit {
            Err(AppError::TooManyRequests {
                retry_after_secs: retry_after,
            })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
