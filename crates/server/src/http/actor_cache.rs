//! A short-lived, in-process cache of who a credential belongs to (and of `/me`), so that a
//! signed-in request does not pay three database round trips before it starts.
//!
//! Correctness rests on the store's auth epoch: any committed change to members, roles, teams,
//! API keys, sessions, company settings or custom field definitions moves it, and an entry is only used in the epoch it
//! was read in. With `REDIS_URL` set every instance hears of every change within milliseconds;
//! without Redis, other instances may use an entry for at most [`TTL`].

use rivet_domain::Actor;
use rivet_domain::ids::{ApiKeyId, CompanyId, UserId};
use rivet_store::AuthEpoch;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 50_000;

struct Entry<V> {
    epoch: u64,
    at: Instant,
    value: V,
}

/// A map whose entries die with the epoch they were read in, or after [`TTL`].
pub struct EpochCache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash, V: Clone> Default for EpochCache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> EpochCache<K, V> {
    pub fn get(&self, key: &K, epoch: &AuthEpoch) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.epoch == epoch.current() && entry.at.elapsed() < TTL).then(|| entry.value.clone())
    }

    /// Keep `value`, read when the epoch was `read_in` (taken before the read started, so a
    /// change committed during the read makes the entry stale at once).
    pub fn put(&self, key: K, value: V, read_in: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    epoch: read_in,
                    at: Instant::now(),
                    value,
                },
            );
        }
    }
}

/// What a credential resolved to.
#[derive(Clone)]
pub struct Resolved {
    pub actor: Actor,
    /// The CSRF token, for a web session.
    pub csrf_token: Option<String>,
    /// When the credential stops being valid (an access token's `exp`, Unix seconds).
    pub expires_at: Option<i64>,
}

/// What identifies a credential in the cache: an access token by itself (entered only once its
/// signature is checked), an API key or a web session cookie by the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallerKey {
    Token(String),
    ApiKey(String),
    Cookie(String),
}

/// The caches of one process.
#[derive(Default)]
pub struct ActorCache {
    pub callers: EpochCache<CallerKey, Resolved>,
    /// `/me` answers, serialized, keyed by (company, user, API key).
    pub me: EpochCache<(CompanyId, UserId, Option<ApiKeyId>), bytes::Bytes>,
    /// A company's custom field definitions of one record type, which every create and some
    /// lists check against: a change to them moves the epoch (`rivet_store::custom_fields`).
    pub custom_fields: EpochCache<
        (CompanyId, rivet_domain::custom_fields::RecordType),
        Vec<rivet_domain::custom_fields::FieldDef>,
    >,
    /// When this process last recorded each API key's use.
    key_uses: Mutex<HashMap<ApiKeyId, Instant>>,
    /// The first rows of imports' files, by import: a file never changes once uploaded, and
    /// the import wizard asks for an import (with its preview) every second of a run, which
    /// for a workbook would mean reading the whole of it each time.
    import_previews: Mutex<HashMap<uuid::Uuid, Vec<Vec<String>>>>,
}

/// The most import previews a process keeps.
const MAX_PREVIEWS: usize = 256;

impl ActorCache {
    /// The kept preview of import `id`, if this process has read it.
    pub fn import_preview(&self, id: uuid::Uuid) -> Option<Vec<Vec<String>>> {
        self.import_previews.lock().ok()?.get(&id).cloned()
    }

    /// Keep the preview of import `id` (its file's first rows).
    pub fn keep_import_preview(&self, id: uuid::Uuid, rows: Vec<Vec<String>>) {
        if let Ok(mut previews) = self.import_previews.lock() {
            if previews.len() >= MAX_PREVIEWS {
                previews.clear();
            }
            previews.insert(id, rows);
        }
    }

    /// Whether to record an API key's use now: at most once a minute per key and process, so
    /// that an integration's traffic does not turn every read into a write.
    pub fn should_touch_key(&self, key: ApiKeyId) -> bool {
        let Ok(mut uses) = self.key_uses.lock() else {
            return false;
        };
        if uses.len() >= MAX_ENTRIES {
            uses.clear();
        }
        match uses.get(&key) {
            Some(at) if at.elapsed() < Duration::from_secs(60) => false,
            _ => {
                uses.insert(key, Instant::now());
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_dies_with_its_epoch() {
        let epoch = AuthEpoch::default();
        let cache: EpochCache<&str, u32> = EpochCache::default();
        cache.put("k", 1, epoch.current());
        assert_eq!(cache.get(&"k", &epoch), Some(1));
        epoch.bump_remote();
        assert_eq!(cache.get(&"k", &epoch), None);
    }

    #[test]
    fn an_entry_read_before_a_change_is_stale_at_once() {
        let epoch = AuthEpoch::default();
        let cache: EpochCache<&str, u32> = EpochCache::default();
        let read_in = epoch.current();
        epoch.bump_remote(); // a change commits while the read is in flight
        cache.put("k", 1, read_in);
        assert_eq!(cache.get(&"k", &epoch), None);
    }
}
