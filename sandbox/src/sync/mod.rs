//! The cross-tenant synchronization engine: it provisions the users of a source tenant as B2B
//! members in a target tenant, as `Azure2Azure` jobs of CTS configurations do (reference §6–§7).
//!
//! - [`schema`]: the default schema, `PUT .../schema` validation, mapping compilation;
//! - [`expr`]: attribute-mapping expressions (bounded parser, evaluator);
//! - [`scope`]: scoping filters of object mappings;
//! - [`policy`]: the cross-tenant access policy check (validateCredentials and every cycle);
//! - [`status`]: the job document (schedule, status, quarantine);
//! - [`engine`]: one cycle of one job, and provision on demand (synchronous, blocking pool);
//! - [`groups`]: the group phase of a cycle (security groups and their members);
//! - [`worker`]: runs started jobs when they are due (due times live in SQLite, so a restart
//!   resumes), stopped by a drop guard.
//!
//! [`SyncHandle`] (in [`crate::AppState`]) serializes cycles per job, bounds how many run at
//! once, rate-limits provisionOnDemand and wakes the worker.
//!
//! Design decision: a cycle runs entirely inside `spawn_blocking`, holding a per-job std mutex
//! and SQLite connections only inside synchronous code, never across an `.await`; it talks to the
//! store in chunked transactions rather than through Graph routes, so 100k users cost a few
//! seconds, not 100k HTTP round trips.

pub mod engine;
pub mod expr;
pub mod groups;
pub mod policy;
pub mod schema;
pub mod scope;
pub mod status;
pub mod worker;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::AppState;
use crate::error::ApiError;
use engine::{CycleReport, EngineError, JobKey};

/// provisionOnDemand: requests per window per job (reference §9.3).
pub const ON_DEMAND_LIMIT: usize = 5;
/// provisionOnDemand: the window.
pub const ON_DEMAND_WINDOW: Duration = Duration::from_secs(10);

/// Engine coordination shared by handlers, the admin route and the worker (cheap clone).
#[derive(Clone)]
pub struct SyncHandle {
    inner: Arc<Inner>,
}

struct Inner {
    /// Wakes the worker when a job is started or rescheduled.
    wakeup: Notify,
    /// One mutex per job: cycles and on-demand runs of a job never overlap. std Mutexes, locked
    /// only inside blocking closures (never across an `.await`).
    job_locks: Mutex<HashMap<JobKey, Arc<Mutex<()>>>>,
    /// Recent provisionOnDemand calls per job. std Mutex, held for a few instructions.
    on_demand: Mutex<HashMap<JobKey, VecDeque<Instant>>>,
    /// How many cycles run at once (the writer is single; two overlap evaluation and writes).
    permits: Semaphore,
    /// Engine activity counters for `/_sandbox/stats` (not Graph requests).
    counters: Mutex<Counters>,
    /// Set when the server shuts down: running cycles stop at their next chunk (what they
    /// committed stays; the cycle is due again after a restart).
    stopping: AtomicBool,
}

/// Engine activity since start or the last stats reset.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Completed or failed cycles.
    pub cycles: u64,
    /// Cycles that ended in quarantine.
    pub failed_cycles: u64,
    /// provisionOnDemand requests served.
    pub on_demand_requests: u64,
    /// Users created in targets.
    pub users_created: u64,
    /// Users updated.
    pub users_updated: u64,
    /// Users soft-deleted.
    pub users_deleted: u64,
    /// Users restored.
    pub users_restored: u64,
}

impl Default for SyncHandle {
    fn default() -> Self {
        let parallel = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 4);
        SyncHandle {
            inner: Arc::new(Inner {
                wakeup: Notify::new(),
                job_locks: Mutex::new(HashMap::new()),
                on_demand: Mutex::new(HashMap::new()),
                permits: Semaphore::new(parallel),
                counters: Mutex::new(Counters::default()),
                stopping: AtomicBool::new(false),
            }),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SyncHandle {
    /// Ask running cycles to stop at their next chunk (server shutdown).
    pub fn shutdown(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }

    /// Wake the worker (a job was started or its due time changed).
    pub fn wake(&self) {
        self.inner.wakeup.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.inner.wakeup.notified().await;
    }

    fn job_lock(&self, key: &JobKey) -> Arc<Mutex<()>> {
        lock(&self.inner.job_locks)
            .entry(key.clone())
            .or_default()
            .clone()
    }

    /// Count a provisionOnDemand call; `Err(seconds)` when the job already had
    /// [`ON_DEMAND_LIMIT`] calls in the last [`ON_DEMAND_WINDOW`].
    pub fn admit_on_demand(&self, key: &JobKey) -> Result<(), u64> {
        let now = Instant::now();
        let mut g = lock(&self.inner.on_demand);
        let q = g.entry(key.clone()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= ON_DEMAND_WINDOW)
        {
            q.pop_front();
        }
        if q.len() >= ON_DEMAND_LIMIT {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = ON_DEMAND_WINDOW.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        q.push_back(now);
        Ok(())
    }

    /// Engine counters (for `/_sandbox/stats`).
    pub fn counters(&self) -> Counters {
        lock(&self.inner.counters).clone()
    }

    /// Zero the engine counters.
    pub fn reset_counters(&self) {
        *lock(&self.inner.counters) = Counters::default();
    }

    fn record(&self, r: &CycleReport) {
        let mut c = lock(&self.inner.counters);
        c.cycles += 1;
        if r.state == "Failed" {
            c.failed_cycles += 1;
        }
        c.users_created += r.created;
        c.users_updated += r.updated;
        c.users_deleted += r.deleted;
        c.users_restored += r.restored;
    }

    fn record_on_demand(&self, results: &[engine::OnDemandResult]) {
        let mut c = lock(&self.inner.counters);
        c.on_demand_requests += 1;
        for r in results {
            match &r.outcome {
                Ok(engine::Outcome::Created { .. }) => c.users_created += 1,
                Ok(engine::Outcome::Updated { .. }) => c.users_updated += 1,
                Ok(engine::Outcome::Deleted { .. }) => c.users_deleted += 1,
                Ok(engine::Outcome::Restored { .. }) => c.users_restored += 1,
                _ => {}
            }
        }
    }
}

/// Run one cycle of each job (at most [`SyncHandle`]'s permit count at once) and return the
/// per-job reports in the order given. A job that disappeared reports `Skipped`.
pub async fn run_jobs(state: &AppState, keys: Vec<JobKey>) -> Vec<CycleReport> {
    let interval = state.config.sync_interval;
    let tasks = keys.into_iter().map(|key| {
        let st = state.clone();
        async move {
            // A semaphore permit (not a data lock) bounds concurrent cycles; it is held while the
            // blocking task runs.
            let _permit = st.sync.inner.permits.acquire().await;
            let store = st.store.clone();
            let handle = st.sync.clone();
            let k = key.clone();
            let res = tokio::task::spawn_blocking(move || {
                let job_lock = handle.job_lock(&k);
                let _g = lock(&job_lock);
                engine::run_cycle(&store, &k, interval, &handle.inner.stopping)
            })
            .await
            .unwrap_or_else(|e| Err(EngineError::Task(e.to_string())));
            let report = match res {
                Ok(r) => r,
                Err(EngineError::Stopped) => {
                    tracing::info!(job = %key.job_id, "synchronization cycle interrupted by shutdown");
                    CycleReport {
                        tenant_id: key.tenant_id.clone(),
                        service_principal_id: key.service_principal_id.clone(),
                        job_id: key.job_id.clone(),
                        state: "Skipped".into(),
                        error: Some(json!({"code": "Interrupted", "message": "The server is shutting down."})),
                        ..Default::default()
                    }
                }
                Err(e) => {
                    let skipped = matches!(e, EngineError::JobGone(_));
                    // The report and the log give Graph's wording of the failure.
                    let e = ApiError::from(e);
                    if !skipped {
                        tracing::error!(job = %key.job_id, "synchronization cycle failed: {e}");
                        // Never retry a broken job in a hot loop.
                        let k = key.clone();
                        let due = crate::util::now_ms() + interval.as_millis() as i64;
                        let _ = st
                            .store
                            .write(move |tx| {
                                crate::store::sync::postpone_job(
                                    tx,
                                    &k.tenant_id,
                                    &k.service_principal_id,
                                    &k.job_id,
                                    due,
                                )
                            })
                            .await;
                    }
                    CycleReport {
                        tenant_id: key.tenant_id.clone(),
                        service_principal_id: key.service_principal_id.clone(),
                        job_id: key.job_id.clone(),
                        state: if skipped { "Skipped" } else { "Failed" }.into(),
                        error: Some(json!({"code": if skipped { "NotFound" } else { "InternalError" }, "message": e.to_string()})),
                        ..Default::default()
                    }
                }
            };
            if report.state != "Skipped" {
                st.sync.record(&report);
                tracing::info!(
                    target: "mto_sandbox::sync",
                    "sync cycle job={} state={} entitled={} exported={} escrowed={} {}ms",
                    report.job_id, report.state, report.count_entitled, report.count_exported,
                    report.count_escrowed, report.duration_ms
                );
            }
            report
        }
    });
    futures::future::join_all(tasks).await
}

/// Provision a few users of a job now (see [`engine::provision_on_demand`]).
pub async fn provision_on_demand(
    state: &AppState,
    key: JobKey,
    subjects: Vec<String>,
) -> Result<Vec<engine::OnDemandResult>, ApiError> {
    let store = state.store.clone();
    let handle = state.sync.clone();
    let results = tokio::task::spawn_blocking(move || {
        let job_lock = handle.job_lock(&key);
        let _g = lock(&job_lock);
        engine::provision_on_demand(&store, &key, &subjects)
    })
    .await
    .map_err(|e| EngineError::Task(e.to_string()))??;
    state.sync.record_on_demand(&results);
    Ok(results)
}

/// The jobs `POST /_sandbox/sync/run` runs: every started job (schedule `Active`), optionally
/// narrowed to one tenant / service principal / job. Jobs matching the filter that are not
/// started are returned apart, to be reported as skipped.
pub async fn select_jobs(
    state: &AppState,
    tenant: Option<String>,
    sp: Option<String>,
    job: Option<String>,
) -> Result<(Vec<JobKey>, Vec<JobKey>), ApiError> {
    let rows = state.store.read(crate::store::sync::all_jobs).await?;
    let mut run = Vec::new();
    let mut skipped = Vec::new();
    for r in rows {
        let matches = tenant
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(&r.tenant_id))
            && sp
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case(&r.sp_id))
            && job.as_deref().is_none_or(|j| j == r.job_id);
        if !matches {
            continue;
        }
        let key = JobKey::new(&r.tenant_id, &r.sp_id, &r.job_id);
        if r.body.pointer("/schedule/state").and_then(Value::as_str) == Some("Active") {
            run.push(key);
        } else {
            skipped.push(key);
        }
    }
    Ok((run, skipped))
}
