//! A refresh snapshot of a tenant's synchronization configurations: for a
//! plan over many shares and jobs of one tenant, every configuration with
//! its assignments, secrets, jobs and job schemas, read once.
//!
//! Why: Terraform refreshes at most `-parallelism` resources at once, and
//! each share or job needs a Graph round trip of its own (its secrets,
//! jobs and schema have no collection endpoint across configurations), so
//! a plan of a 20-tenant mesh waited for about 760 round trips ten at a
//! time. The snapshot reads the same objects, but all at once: its reads
//! are not bounded by Terraform's parallelism and share `$batch` round
//! trips twenty at a time, so the plan waits for a few round trips per
//! tenant instead.
//!
//! When: only after [`PREFETCH_AFTER`] refreshes of configurations or jobs
//! of the tenant in this provider process, so that a state managing one
//! share of a tenant with many configurations reads only its own. What the
//! snapshot does not show (a configuration created since, one whose reads
//! failed) is read directly, as before; so is everything a resource reads
//! right after writing. Snapshots live [`SNAPSHOT_TTL`] and are dropped by
//! any write through this provider process to the tenant.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::apps::{AppRoleAssignment, SyncConfiguration};
use super::client::{ReadMode, TenantApi};
use super::sync::schema::SyncSchema;
use super::sync::{SecretList, SyncJob};

/// Refreshes of configurations and jobs of one tenant read directly before
/// the snapshot is fetched.
pub(super) const PREFETCH_AFTER: usize = 4;
/// How long a snapshot answers refreshes.
const SNAPSHOT_TTL: Duration = Duration::from_secs(20);
const SNAPSHOT_KEY: &str = "configurations";

/// One configuration as the snapshot read it.
#[derive(Debug)]
pub struct ConfigurationView {
    pub configuration: SyncConfiguration,
    pub assignments: Vec<AppRoleAssignment>,
    secrets: SecretList,
    /// Its jobs, each with its schema.
    jobs: Vec<(SyncJob, SyncSchema)>,
}

impl ConfigurationView {
    /// The `SyncAll` setting, as [`super::sync::Synchronization::sync_all`].
    pub fn sync_all(&self) -> Option<bool> {
        self.secrets.sync_all()
    }

    /// Job `id` and its schema.
    pub fn job(&self, id: &str) -> Option<&(SyncJob, SyncSchema)> {
        self.jobs
            .iter()
            .find(|(j, _)| j.id.eq_ignore_ascii_case(id))
    }
}

/// Refresh reads of a tenant's configurations.
#[derive(Clone, Copy)]
pub struct Refresh<'a> {
    api: &'a TenantApi<'a>,
}

impl<'a> TenantApi<'a> {
    pub fn refresh(&'a self) -> Refresh<'a> {
        Refresh { api: self }
    }
}

impl Refresh<'_> {
    /// Configuration `sp` as the tenant's snapshot has it; `None` tells the
    /// caller to read it directly (too few refreshes yet, the snapshot
    /// could not be read, or it does not show `sp`).
    pub async fn configuration(self, sp: &str) -> Option<Arc<ConfigurationView>> {
        let session = self.api.session();
        if session.refreshes.fetch_add(1, Ordering::Relaxed) < PREFETCH_AFTER {
            return None;
        }
        let snapshot = session
            .configuration_snapshot
            .get_or_fetch(SNAPSHOT_KEY, SNAPSHOT_TTL, || self.fetch())
            .await;
        match snapshot {
            Ok(s) => s.get(&sp.to_ascii_lowercase()).cloned(),
            Err(e) => {
                tracing::debug!(
                    tenant = self.api.tenant_id(),
                    "refresh snapshot not read: {e}"
                );
                None
            }
        }
    }

    async fn fetch(self) -> super::error::Result<HashMap<String, Arc<ConfigurationView>>> {
        let api = self.api;
        let configurations = api.apps().all_configurations().await?;
        let views = futures::future::join_all(configurations.into_iter().map(|c| async move {
            let sp = c.service_principal_id.clone();
            let sync = api.synchronization(&sp);
            let (assignments, secrets, jobs) =
                tokio::join!(api.apps().assignments(&sp), sync.secrets(), sync.jobs());
            // A configuration any of whose reads failed (deleted meanwhile,
            // throttled) is left to its resource's direct read.
            let (Ok(assignments), Ok(secrets), Ok(jobs)) = (assignments, secrets, jobs) else {
                return None;
            };
            let schemas = futures::future::join_all(
                jobs.iter().map(|j| sync.schema(&j.id, ReadMode::Refresh)),
            )
            .await;
            let mut with_schemas = Vec::with_capacity(jobs.len());
            for (job, schema) in jobs.into_iter().zip(schemas) {
                with_schemas.push((job, schema.ok()??));
            }
            Some((
                sp.to_ascii_lowercase(),
                Arc::new(ConfigurationView {
                    configuration: c,
                    assignments,
                    secrets,
                    jobs: with_schemas,
                }),
            ))
        }))
        .await;
        Ok(views.into_iter().flatten().collect())
    }
}
