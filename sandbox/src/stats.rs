//! Request counters by method and route template (`GET /v1.0/users/{id}`), for
//! `GET /_sandbox/stats`. Outer HTTP requests and inner `$batch` requests are counted apart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::util::{now_ms, rfc3339};

/// Shared counters (cheap clone).
#[derive(Clone)]
pub struct Stats {
    /// std Mutex: one map update per request, never held across an `.await`.
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    since_ms: i64,
    total: u64,
    routes: BTreeMap<String, u64>,
    batch_inner: BTreeMap<String, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            inner: Arc::new(Mutex::new(Inner {
                since_ms: now_ms(),
                total: 0,
                routes: BTreeMap::new(),
                batch_inner: BTreeMap::new(),
            })),
        }
    }
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count one request under `key` (`METHOD /template`).
    pub fn record(&self, key: String, batch_inner: bool) {
        let mut g = self.lock();
        if batch_inner {
            *g.batch_inner.entry(key).or_insert(0) += 1;
        } else {
            g.total += 1;
            *g.routes.entry(key).or_insert(0) += 1;
        }
    }

    /// JSON snapshot for the admin route.
    pub fn snapshot(&self) -> Value {
        let g = self.lock();
        json!({
            "since": rfc3339(g.since_ms),
            "total": g.total,
            "routes": g.routes,
            "batchInner": g.batch_inner,
        })
    }

    /// Zero all counters and restart `since`.
    pub fn reset(&self) {
        let mut g = self.lock();
        g.since_ms = now_ms();
        g.total = 0;
        g.routes.clear();
        g.batch_inner.clear();
    }
}
