//! The background scheduler of synchronization cycles.
//!
//! Each started job has a due time in `sync_jobs.due_ms` (now after `start`/`restart`, then the
//! end of each cycle plus `--sync-interval`, or the quarantine's `nextAttempt`). The worker runs
//! every due job, then sleeps until the earliest due time, a wake-up from a handler, or at most a
//! minute. A cycle interrupted by a crash never advanced its due time, so it runs again right
//! after a restart. Stopped when the [`SyncWorkerGuard`] is dropped.

use std::time::Duration;

use tokio::sync::watch;

use super::engine::JobKey;
use crate::AppState;
use crate::store::sync as ss;
use crate::util::now_ms;

/// Stops the worker when dropped.
pub struct SyncWorkerGuard {
    _stop: watch::Sender<()>,
}

/// Spawn the worker on the current runtime.
pub fn start(state: AppState) -> SyncWorkerGuard {
    let (tx, rx) = watch::channel(());
    tokio::spawn(run(state, rx));
    SyncWorkerGuard { _stop: tx }
}

async fn run(state: AppState, mut stop: watch::Receiver<()>) {
    loop {
        let now = now_ms();
        match state.store.read(move |c| ss::due_jobs(c, now)).await {
            Ok(due) if !due.is_empty() => {
                let keys = due.iter().map(|(t, s, j)| JobKey::new(t, s, j)).collect();
                tokio::select! {
                    _ = super::run_jobs(&state, keys) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!("sync schedule read failed: {e}"),
        }
        let next = state.store.read(ss::next_due).await.ok().flatten();
        let wait = match next {
            Some(due) => Duration::from_millis((due - now_ms()).clamp(1, 60_000) as u64),
            None => Duration::from_secs(60),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.sync.woken() => {}
            _ = stop.changed() => return,
        }
    }
}
