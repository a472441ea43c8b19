//! Request counters by method and route template (`GET /v1.0/users/{id}`), for
//! `GET /_sandbox/stats`. Outer HTTP requests and inner `$batch` requests are counted apart.

use std::collections::{BTreeMap, VecDeque};
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
    recent: VecDeque<Value>,
}

/// How many requests [`Stats::recent`] can show.
const RECENT_KEPT: usize = 200;

/// One request as the dashboard lists it: no query string, no header, no
/// body (so no secret or token).
pub struct LoggedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub ms: f64,
    pub batch_inner: bool,
    /// The fault the sandbox injected (`throttle`, `unavailable`), if any.
    pub fault: Option<&'static str>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            inner: Arc::new(Mutex::new(Inner {
                since_ms: now_ms(),
                total: 0,
                routes: BTreeMap::new(),
                batch_inner: BTreeMap::new(),
                recent: VecDeque::new(),
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

    /// Keep `r` among the recent requests (the oldest beyond
    /// [`RECENT_KEPT`] go).
    pub fn log(&self, r: LoggedRequest<'_>) {
        let entry = json!({
            "time": rfc3339(now_ms()),
            "method": r.method,
            "path": r.path,
            "status": r.status,
            "ms": (r.ms * 10.0).round() / 10.0,
            "batchInner": r.batch_inner,
            "fault": r.fault,
        });
        let mut g = self.lock();
        if g.recent.len() == RECENT_KEPT {
            g.recent.pop_front();
        }
        g.recent.push_back(entry);
    }

    /// The last `n` requests, newest first.
    pub fn recent(&self, n: usize) -> Vec<Value> {
        self.lock().recent.iter().rev().take(n).cloned().collect()
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
        g.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(stats: &Stats, path: &str, fault: Option<&'static str>) {
        stats.log(LoggedRequest {
            method: "GET",
            path,
            status: if fault.is_some() { 429 } else { 200 },
            ms: 1.234,
            batch_inner: false,
            fault,
        });
    }

    #[test]
    fn the_request_log_keeps_the_newest_first_and_forgets_the_oldest() {
        let stats = Stats::default();
        for i in 0..RECENT_KEPT + 5 {
            get(&stats, &format!("/v1.0/users/{i}"), None);
        }
        get(&stats, "/v1.0/users", Some("throttle"));
        let recent = stats.recent(usize::MAX);
        assert_eq!(recent.len(), RECENT_KEPT);
        assert_eq!(recent[0]["path"], "/v1.0/users");
        assert_eq!(recent[0]["fault"], "throttle");
        assert_eq!(recent[0]["status"], 429);
        assert_eq!(recent[0]["ms"], 1.2);
        assert_eq!(
            recent[1]["path"],
            format!("/v1.0/users/{}", RECENT_KEPT + 4)
        );
        assert_eq!(recent.last().unwrap()["path"], "/v1.0/users/6");
        stats.reset();
        assert!(stats.recent(10).is_empty());
    }
}
