//! The background worker that completes asynchronous MTO work: joins, removals and role
//! changes of active tenants (what each does is [`crate::directory::mto::apply_job`]).
//!
//! Work lives in the `jobs` table with a due time, so a restart resumes whatever was pending.
//! The worker sleeps until the earliest due time or until a handler queues new work
//! ([`crate::AppState::jobs_wakeup`]); it stops when the [`WorkerGuard`] is dropped. Each job is
//! deleted and applied in one SQLite transaction, so it takes effect exactly once.

use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;
use crate::directory;
use crate::store::mto;
use crate::util::now_ms;

/// Stops the worker when dropped.
pub struct WorkerGuard {
    _stop: watch::Sender<()>,
}

/// Spawn the worker on the current runtime.
pub fn start(state: AppState) -> WorkerGuard {
    let (tx, rx) = watch::channel(());
    tokio::spawn(run(state, rx));
    WorkerGuard { _stop: tx }
}

async fn run(state: AppState, mut stop: watch::Receiver<()>) {
    loop {
        loop {
            let now = now_ms();
            let job = match state.store.read(move |c| mto::first_due(c, now)).await {
                Ok(Some(j)) => j,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!("job queue read failed: {e}");
                    break;
                }
            };
            let id = job.id;
            let applied = state
                .store
                .write(move |tx| {
                    if !mto::delete_job(tx, job.id)? {
                        return Ok(());
                    }
                    directory::mto::apply_job(tx, &job)
                })
                .await;
            if let Err(e) = applied {
                // Drop the job rather than retrying it in a hot loop.
                tracing::error!("job {id} failed and is dropped: {e}");
                let _ = state
                    .store
                    .write(move |tx| mto::delete_job(tx, id).map(|_| ()))
                    .await;
            }
        }
        let next = state.store.read_with(mto::next_due).await.ok().flatten();
        let wait = match next {
            Some(due) => Duration::from_millis((due - now_ms()).clamp(1, 60_000) as u64),
            None => Duration::from_secs(60),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.jobs_wakeup.notified() => {}
            _ = stop.changed() => return,
        }
    }
}
