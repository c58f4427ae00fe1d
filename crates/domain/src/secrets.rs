//! Secrets at rest: a company's SMTP password, a WhatsApp access token. They are sealed with
//! AES-256-GCM under the installation's key (`RIVET_SECRET_KEY`, or a key file in the data
//! directory) before they are stored, and opened only where they are used. A sealed value is
//! `v1:` and the base64 of a random 96-bit nonce followed by the ciphertext and its tag, so a
//! value altered in the database, or sealed under another key, does not open.
//!
//! Nothing here is ever logged: [`SecretKey`]'s `Debug` shows no key material.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The installation's 256-bit key for secrets at rest.
#[derive(Clone)]
pub struct SecretKey(Key<Aes256Gcm>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes, written in base64 (`openssl rand -base64 32`)")]
    BadKey,
    #[error(
        "a stored secret does not open with this installation's key (altered, or sealed under another RIVET_SECRET_KEY)"
    )]
    DoesNotOpen,
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(Aes256Gcm::generate_key(OsRng))
    }

    /// A key written as base64 (32 bytes once decoded); surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        Ok(Self(*Key::<Aes256Gcm>::from_slice(&bytes)))
    }

    /// The key as base64, to write to the key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_slice())
    }

    /// A 256-bit key for one `purpose` (`"tracking links"`), derived from this key as
    /// HMAC-SHA256(key, `rivet/<purpose>`): whatever signs with it (tracking links) never uses
    /// the sealing key itself, and a tag made for one purpose is worthless for another. The
    /// same installation key always derives the same key, so links stay valid across restarts
    /// and instances.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{KeyInit, Mac};
        let mut out = [0u8; 32];
        if let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.0.as_slice()) {
            mac.update(b"rivet/");
            mac.update(purpose.as_bytes());
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    /// `plain` sealed: `v1:` and base64 of nonce, ciphertext and tag.
    pub fn seal(&self, plain: &str) -> String {
        let cipher = Aes256Gcm::new(&self.0);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encrypting into a Vec only fails when the plaintext exceeds GCM's 64 GiB limit.
        let sealed = cipher.encrypt(&nonce, plain.as_bytes()).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// The plain text of a value [`SecretKey::seal`] made under this key.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let body = sealed
            .strip_prefix(PREFIX)
            .ok_or(SecretError::DoesNotOpen)?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| SecretError::DoesNotOpen)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::DoesNotOpen);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = Aes256Gcm::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::DoesNotOpen)?;
        String::from_utf8(plain).map_err(|_| SecretError::DoesNotOpen)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_their_key_and_unaltered() {
        let key = SecretKey::generate();
        let sealed = key.seal("hunter2");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("hunter2"));
        assert_eq!(key.open(&sealed).as_deref(), Ok("hunter2"));
        // A fresh nonce each time: the same secret never seals to the same text.
        assert_ne!(key.seal("hunter2"), sealed);

        let other = SecretKey::generate();
        assert_eq!(other.open(&sealed), Err(SecretError::DoesNotOpen));

        let mut bytes = STANDARD.decode(&sealed[3..]).unwrap_or_default();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("v1:{}", STANDARD.encode(bytes));
        assert_eq!(key.open(&altered), Err(SecretError::DoesNotOpen));
        assert_eq!(key.open("hunter2"), Err(SecretError::DoesNotOpen));
        assert_eq!(key.open("v1:AAAA"), Err(SecretError::DoesNotOpen));
    }

    #[test]
    fn derived_keys_are_stable_per_purpose_and_differ_between_purposes() {
        let key = SecretKey::generate();
        assert_eq!(key.derive("tracking links"), key.derive("tracking links"));
        assert_ne!(key.derive("tracking links"), key.derive("other"));
        assert_ne!(
            key.derive("tracking links"),
            SecretKey::generate().derive("tracking links")
        );
        assert_ne!(&key.derive("tracking links")[..], key.0.as_slice());
    }

    #[test]
    fn keys_round_trip_through_base64_and_bad_ones_are_refused() {
        let key = SecretKey::generate();
        let again = SecretKey::from_base64(&format!("{}\n", key.to_base64()));
        assert_eq!(
            again.map(|k| k.open(&key.seal("x"))),
            Ok(Ok("x".to_owned()))
        );
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
        assert!(SecretKey::from_base64("not base64!").is_err());
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }
}
