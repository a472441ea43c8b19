//! Per-object locks and short-lived read snapshots, shared by every
//! resource of one provider process.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::Result;

/// Per-object locks within one provider process: read-modify-write updates
/// of one Graph object (a partner configuration shared by an acceptance and
/// a share) must not interleave. Keys are compared case-insensitively, as
/// Graph compares the ids in them.
#[derive(Default)]
pub struct KeyedLocks {
    /// A std mutex: held only to find or insert an entry, never across an
    /// `.await`.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    pub async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key.to_ascii_lowercase()).or_default().clone()
        };
        m.lock_owned().await
    }
}

/// Whole-collection snapshots for refresh: when Terraform refreshes many
/// resources of one tenant, one list request can answer all their reads.
/// Entries live for a short time and are dropped by any write through the
/// same provider process (writes never read from here).
pub(super) struct ReadCache<T> {
    /// A std mutex: held only to look up or replace an entry.
    entries: Mutex<HashMap<String, Arc<CacheEntry<T>>>>,
}

impl<T> Default for ReadCache<T> {
    fn default() -> Self {
        ReadCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

/// One collection, keyed by the items' ids in lower case.
pub(super) type Snapshot<T> = Arc<HashMap<String, T>>;

pub(super) struct CacheEntry<T> {
    created: Instant,
    cell: tokio::sync::OnceCell<Snapshot<T>>,
}

impl<T> ReadCache<T> {
    /// The snapshot under `key`, fetched once (concurrent callers wait for
    /// the same fetch). Failed fetches are not kept.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Snapshot<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<HashMap<String, T>>>,
    {
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = entries
                .get(key)
                .filter(|e| e.created.elapsed() < ttl)
                .cloned();
            match fresh {
                Some(e) => e,
                None => {
                    let e = Arc::new(CacheEntry {
                        created: Instant::now(),
                        cell: tokio::sync::OnceCell::new(),
                    });
                    entries.insert(key.to_owned(), e.clone());
                    e
                }
            }
        };
        entry
            .cell
            .get_or_try_init(|| async { fetch().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Drops the snapshot under `key`.
    pub fn invalidate(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_snapshot_serves_until_invalidated() {
        let cache = ReadCache::<u32>::default();
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        let fetch = || async {
            fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(HashMap::from([("a".to_owned(), 1)]))
        };
        let ttl = Duration::from_secs(60);
        assert_eq!(cache.get_or_fetch("k", ttl, fetch).await.unwrap()["a"], 1);
        cache.get_or_fetch("k", ttl, fetch).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache.invalidate("k");
        cache.get_or_fetch("k", ttl, fetch).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn locks_ignore_the_case_of_ids() {
        let locks = KeyedLocks::default();
        let _held = locks.lock("Tenant/ABC").await;
        let again = tokio::time::timeout(Duration::from_millis(50), locks.lock("tenant/abc")).await;
        assert!(again.is_err(), "the same key in another case must wait");
    }
}
