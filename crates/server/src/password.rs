//! Passwords (argon2id, hashed off the async threads, at most two at a time) and comparing
//! secrets in constant time.

use crate::http::error::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

fn argon2() -> Argon2<'static> {
    // One of OWASP's argon2id settings: 46 MiB, 1 pass, 1 lane (as strong as 19 MiB × 2 passes).
    // Above glibc's largest mmap threshold (32 MiB), so the memory of every hash is mapped for
    // it and handed back to the system at once instead of staying resident in an arena.
    let params = Params::new(46 * 1024, 1, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most two password hashes at a time: each needs 46 MiB and a core for tens of
/// milliseconds, so a burst of sign-ins must not take the machine from everything else.
static HASH_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Run a hash on a short-lived thread of its own, off the async workers. A thread start costs
/// microseconds next to the hash's milliseconds.
async fn on_hasher<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _slot = HASH_SLOTS
        .acquire()
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing is shut down")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("rivet-hash".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot start a hashing thread: {e}")))?;
    rx.await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing failed")))
}

/// Hash a password with argon2id (it takes tens of milliseconds, off the async threads).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    on_hasher(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await?
}

/// Check a password against a stored hash; a missing hash still costs one hash so that timing
/// does not reveal whether an account exists.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    on_hasher(move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2()
                .hash_password(b"not a real password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let stored = hash.as_deref().unwrap_or(dummy);
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && hash.is_some()
    })
    .await
    .unwrap_or(false)
}

/// Compare secrets in time that depends on their length only, not on where they differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
