//! Per-object locks and short-lived read snapshots, shared by every
//! resource of one provider process.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::Scope;
use super::error::{ErrorKind, GraphError, Result};

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

    /// Drops every snapshot.
    pub fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.clear();
    }
}

/// A client-side rate limit: at most `limit` requests per `per` for each
/// key, so that a long run of requests against a documented limit (5
/// provisionOnDemand requests per 10 seconds) paces itself instead of
/// running into 429s.
pub(super) struct RateWindow {
    limit: usize,
    per: Duration,
    /// When each key's recent requests go out. A std mutex: held only to
    /// reserve a slot, never across an `.await`.
    sent: Mutex<HashMap<String, std::collections::VecDeque<tokio::time::Instant>>>,
}

impl RateWindow {
    pub fn new(limit: usize, per: Duration) -> RateWindow {
        RateWindow {
            limit,
            per,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot for `key`. Fails with a timeout when the slot comes
    /// after the scope's deadline, and when Terraform cancels.
    pub async fn wait_turn(&self, key: &str, scope: &Scope) -> Result<()> {
        let at = {
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            let times = sent.entry(key.to_owned()).or_default();
            let now = tokio::time::Instant::now();
            while times.front().is_some_and(|t| *t + self.per <= now) {
                times.pop_front();
            }
            let at = if times.len() < self.limit {
                now
            } else {
                times[times.len() - self.limit] + self.per
            };
            if at >= tokio::time::Instant::from_std(scope.deadline) {
                return Err(GraphError::new(
                    ErrorKind::Timeout,
                    "the operation's time ends before Graph's rate limit allows another request",
                ));
            }
            times.push_back(at);
            at
        };
        tokio::select! {
            _ = tokio::time::sleep_until(at) => Ok(()),
            _ = scope.cancel.cancelled() => Err(GraphError::new(ErrorKind::Cancelled, "cancelled while waiting for Graph's rate limit")),
        }
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
    async fn a_rate_window_spaces_requests_to_its_limit() {
        let window = RateWindow::new(2, Duration::from_millis(300));
        let scope = |ms| {
            Scope::new(
                &tokio_util::sync::CancellationToken::new(),
                Duration::from_millis(ms),
            )
        };
        let long = scope(10_000);
        let started = Instant::now();
        for _ in 0..5 {
            window.wait_turn("job", &long).await.unwrap();
        }
        // Two at once, two after 300 ms, one after 600 ms.
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(600) && took < Duration::from_millis(900),
            "{took:?}"
        );
        let other = Instant::now();
        window.wait_turn("other job", &long).await.unwrap();
        assert!(
            other.elapsed() < Duration::from_millis(50),
            "keys are independent"
        );
        // The window holds the fifth request; a sixth fits beside it, and
        // the slot after that comes only when a 100 ms scope has ended.
        window.wait_turn("job", &scope(100)).await.unwrap();
        let e = window.wait_turn("job", &scope(100)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn locks_ignore_the_case_of_ids() {
        let locks = KeyedLocks::default();
        let _held = locks.lock("Tenant/ABC").await;
        let again = tokio::time::timeout(Duration::from_millis(50), locks.lock("tenant/abc")).await;
        assert!(again.is_err(), "the same key in another case must wait");
    }
}
