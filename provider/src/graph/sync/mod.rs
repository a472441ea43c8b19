//! Synchronization of one configuration's service principal
//! (`/servicePrincipals/{id}/synchronization`): its `Azure2Azure` job, the
//! job's schema, the secrets that name the target, the credential check
//! against the target, and provisioning on demand.
//!
//! Graph: `POST jobs` with `templateId` (201; created paused), `GET`/`PUT
//! jobs/{id}/schema`, `POST jobs/{id}/start|pause` (204),
//! `POST jobs/{id}/provisionOnDemand` (200; 5 requests per 10 seconds),
//! `POST jobs/validateCredentials` (204), `PUT secrets` (204),
//! `DELETE jobs/{id}` (204). Right after a configuration is created Graph
//! may answer 403 or 409 for a while; those are retried within the
//! operation's time, as is 404.

pub mod schema;

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::{ReadMode, TenantApi, seg};
use super::error::{ErrorKind, GraphError, Result};
use super::mto::found;
use super::poll::{Created, create_once};
pub use schema::{
    FoundUserMapping, ManagedAttribute, MappedValue, Scope, ScopeClause, SyncSchema, UserMapping,
};

/// The job template of cross-tenant synchronization.
pub const AZURE2AZURE: &str = "Azure2Azure";
/// The error code of validateCredentials when the tenants' policies do not
/// allow synchronization (yet).
pub const POLICY_CHECK_FAILED: &str = "AzureDirectoryB2BManagementPolicyCheckFailure";
/// How long a policy failure of the credential check is retried: right
/// after the target accepts, the check may still see the old policy.
const POLICY_SETTLE: Duration = Duration::from_secs(60);
/// Subjects per provisionOnDemand request.
pub const ON_DEMAND_CHUNK: usize = 5;

/// A synchronization job.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncJob {
    pub id: String,
    pub template_id: Option<String>,
    pub schedule: Option<Schedule>,
    pub status: Option<SyncStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Schedule {
    /// ISO 8601, e.g. `PT40M`.
    pub interval: Option<String>,
    /// `Active`, `Disabled` or `Paused`.
    pub state: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncStatus {
    /// `NotConfigured`, `NotRun`, `Active`, `Paused` or `Quarantine`.
    pub code: Option<String>,
    pub last_execution: Option<Execution>,
    pub last_successful_execution: Option<Execution>,
    pub steady_state_last_achieved_time: Option<String>,
    pub quarantine: Option<Quarantine>,
}

/// One synchronization cycle.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Execution {
    /// The run's identifier: what tells two cycles apart when they began
    /// in the same second (Graph's times may have whole seconds only).
    pub activity_identifier: Option<String>,
    pub state: Option<String>,
    pub time_began: Option<String>,
    pub time_ended: Option<String>,
    pub count_exported: Option<i64>,
    /// What went wrong in the cycle (for example groups the target refused).
    pub error: Option<ExecutionError>,
}

/// `synchronizationError` of a cycle.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionError {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl ExecutionError {
    /// `code: message`, or whichever of the two Graph gave.
    pub fn text(&self) -> Option<String> {
        match (self.code.as_deref(), self.message.as_deref()) {
            (Some(c), Some(m)) if !c.is_empty() && !m.is_empty() => Some(format!("{c}: {m}")),
            (Some(c), _) if !c.is_empty() => Some(c.to_owned()),
            (_, Some(m)) if !m.is_empty() => Some(m.to_owned()),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Quarantine {
    pub reason: Option<String>,
    pub error: Option<QuarantineError>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct QuarantineError {
    pub message: Option<String>,
}

/// A job's last cycle, to tell a new one from it: by the run's identifier
/// where Graph gives one, because two cycles can begin in the same second
/// (a job created and destroyed in one apply restarts within it), else by
/// when it began.
#[derive(Clone, Debug, PartialEq)]
pub struct CycleMark {
    run: Option<String>,
    began: Option<String>,
    /// Whether the cycle has ended.
    pub ended: bool,
}

impl SyncJob {
    /// The job's last cycle, if it has run.
    pub fn last_cycle(&self) -> Option<CycleMark> {
        let e = self.status.as_ref()?.last_execution.as_ref()?;
        Some(CycleMark {
            run: e.activity_identifier.clone().filter(|r| !r.is_empty()),
            began: e.time_began.clone(),
            ended: e.time_ended.is_some(),
        })
    }

    /// Whether its schedule runs (`start`ed, not paused).
    pub fn is_enabled(&self) -> bool {
        self.schedule.as_ref().and_then(|s| s.state.as_deref()) == Some("Active")
    }

    pub fn is_quarantined(&self) -> bool {
        self.status.as_ref().and_then(|s| s.code.as_deref()) == Some("Quarantine")
    }
}

impl SyncStatus {
    /// Why the job is quarantined: Graph's reason and its error message.
    pub fn quarantine_reason(&self) -> Option<String> {
        let q = self.quarantine.as_ref()?;
        let reason = q.reason.as_deref().unwrap_or_default();
        let message = q
            .error
            .as_ref()
            .and_then(|e| e.message.as_deref())
            .unwrap_or_default();
        Some(match (reason.is_empty(), message.is_empty()) {
            (false, false) => format!("{reason}: {message}"),
            (false, true) => reason.to_owned(),
            (true, false) => message.to_owned(),
            (true, true) => "quarantined".to_owned(),
        })
    }
}

/// `GET .../synchronization/secrets`.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct SecretList {
    value: Vec<Secret>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(default)]
struct Secret {
    key: String,
    value: Option<String>,
}

impl SecretList {
    /// The value saved under `key` (`None` when there is none, or Graph
    /// masks it).
    fn get(&self, key: &str) -> Option<String> {
        self.value
            .iter()
            .find(|s| s.key.eq_ignore_ascii_case(key))
            .and_then(|s| s.value.clone())
            .filter(|v| !v.is_empty() && v != "*")
    }

    /// The `SyncAll` setting (see [`Synchronization::sync_all`]).
    pub fn sync_all(&self) -> Option<bool> {
        self.get("SyncAll").map(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// The synchronization of one service principal.
#[derive(Clone, Copy)]
pub struct Synchronization<'a> {
    api: &'a TenantApi<'a>,
    sp: &'a str,
}

impl<'a> TenantApi<'a> {
    /// Synchronization of the configuration whose service principal is `sp`.
    pub fn synchronization(&'a self, sp: &'a str) -> Synchronization<'a> {
        Synchronization { api: self, sp }
    }
}

/// Graph answers 403/409 for a while after the configuration is created.
fn fresh_configuration_error(e: &GraphError) -> bool {
    matches!(e.kind, ErrorKind::Forbidden | ErrorKind::Conflict)
}

impl Synchronization<'_> {
    fn base(self) -> String {
        format!("/servicePrincipals/{}/synchronization", seg(self.sp))
    }

    fn jobs_path(self) -> String {
        format!("{}/jobs", self.base())
    }

    fn job_path(self, job: &str) -> String {
        format!("{}/jobs/{}", self.base(), seg(job))
    }

    /// The configuration's jobs (none when the service principal is gone).
    pub async fn jobs(self) -> Result<Vec<SyncJob>> {
        match self.api.list(&self.jobs_path()).await {
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            other => other,
        }
    }

    /// The configuration's `Azure2Azure` job, if it has one.
    pub async fn azure2azure_job(self) -> Result<Option<SyncJob>> {
        Ok(self
            .jobs()
            .await?
            .into_iter()
            .find(|j| j.template_id.as_deref() == Some(AZURE2AZURE)))
    }

    /// The schema a new job of `template` starts with: Microsoft's default
    /// mappings (`None` when the service principal has no such template).
    pub async fn template_schema(self, template: &str) -> Result<Option<SyncSchema>> {
        self.api
            .find(
                format!("{}/templates/{}/schema", self.base(), seg(template)),
                ReadMode::Refresh,
            )
            .await
    }

    /// One job, or `None`.
    pub async fn job(self, job: &str, mode: ReadMode) -> Result<Option<SyncJob>> {
        self.api.find(self.job_path(job), mode).await
    }

    /// The configuration's `Azure2Azure` job, created (paused) if there is
    /// none; one left by an interrupted apply is reused. A create whose
    /// answer was lost is followed by a new look, not a second create.
    pub async fn find_or_create_job(self) -> Result<Created<SyncJob>> {
        create_once(
            self.api.scope(),
            || self.azure2azure_job(),
            || async {
                self.api
                    .post(
                        self.jobs_path(),
                        serde_json::json!({"templateId": AZURE2AZURE}),
                    )
                    .retry_not_found()
                    .retry_if(fresh_configuration_error)
                    .not_idempotent()
                    .json()
                    .await
            },
        )
        .await
    }

    /// The job's schema, or `None` when the job is gone.
    pub async fn schema(self, job: &str, mode: ReadMode) -> Result<Option<SyncSchema>> {
        self.api
            .find(format!("{}/schema", self.job_path(job)), mode)
            .await
    }

    /// The schema of a job this provider just created or holds in state
    /// (a 404 is retried: the job may not be replicated yet).
    async fn current_schema(self, job: &str) -> Result<SyncSchema> {
        self.api
            .get(format!("{}/schema", self.job_path(job)))
            .retry_not_found()
            .json()
            .await
    }

    /// Writes the managed settings of the user mapping, keeping everything
    /// else in the schema; sends nothing when they are already in place.
    pub async fn set_user_mapping(self, job: &str, s: &UserMapping) -> Result<()> {
        let mut schema = self.current_schema(job).await?;
        if !schema.apply_user_settings(s) {
            return Ok(());
        }
        self.api
            .put(
                format!("{}/schema", self.job_path(job)),
                serde_json::to_value(&schema).expect("a schema serializes"),
            )
            .retry_if(fresh_configuration_error)
            .done()
            .await
    }

    /// Scopes the job to no one (see [`SyncSchema::scope_to_nobody`]).
    pub async fn scope_to_nobody(self, job: &str) -> Result<()> {
        let mut schema = self.current_schema(job).await?;
        schema.scope_to_nobody();
        self.api
            .put(
                format!("{}/schema", self.job_path(job)),
                serde_json::to_value(&schema).expect("a schema serializes"),
            )
            .retry_if(fresh_configuration_error)
            .done()
            .await
    }

    /// Restarts the job: the next cycle re-evaluates every object (the
    /// watermark, escrows and quarantine are reset; links to the target's
    /// objects are kept — what the portal's "Restart provisioning" does).
    pub async fn restart(self, job: &str) -> Result<()> {
        self.api
            .post(
                format!("{}/restart", self.job_path(job)),
                serde_json::json!({"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}),
            )
            .done()
            .await
    }

    /// Starts (which also lifts a quarantine) or pauses the job.
    pub async fn set_enabled(self, job: &str, enabled: bool) -> Result<()> {
        let action = if enabled { "start" } else { "pause" };
        self.api
            .post(
                format!("{}/{action}", self.job_path(job)),
                serde_json::json!({}),
            )
            .retry_if(fresh_configuration_error)
            .done()
            .await
    }

    /// The rule that provisioning on demand names (the schema's first).
    pub async fn provisioning_rule(self, job: &str) -> Result<String> {
        let schema = self.current_schema(job).await?;
        Ok(schema.rule_id().unwrap_or_default().to_owned())
    }

    /// Provisions up to [`ON_DEMAND_CHUNK`] users (object ids in this
    /// tenant) right away. Graph allows 5 such requests per 10 seconds per
    /// job; this waits its turn, so a long list paces itself instead of
    /// running into 429s (which are still retried with their Retry-After).
    pub async fn provision_now(self, job: &str, rule: &str, users: &[String]) -> Result<()> {
        let key = format!("{}/{job}", self.sp.to_ascii_lowercase());
        self.api
            .session()
            .on_demand
            .wait_turn(&key, self.api.scope())
            .await?;
        let subjects: Vec<serde_json::Value> = users
            .iter()
            .map(|u| serde_json::json!({"objectId": u, "objectTypeName": "User"}))
            .collect();
        let body = serde_json::json!({"parameters": [{"ruleId": rule, "subjects": subjects}]});
        self.api
            .post(format!("{}/provisionOnDemand", self.job_path(job)), body)
            .done()
            .await
    }

    /// Graph's check that both tenants' policies allow synchronization to
    /// `target`. A policy failure is retried for a short while before it is
    /// reported (the target's acceptance may still be replicating).
    pub async fn validate_credentials(self, target: &str) -> Result<()> {
        let body = serde_json::json!({
            "useSavedCredentials": false,
            "templateId": AZURE2AZURE,
            "credentials": [
                {"key": "CompanyId", "value": target},
                {"key": "AuthenticationType", "value": "SyncPolicy"},
            ],
        });
        self.api
            .post(format!("{}/validateCredentials", self.jobs_path()), body)
            .retry_not_found()
            .retry_if(|e| e.code == POLICY_CHECK_FAILED || e.kind == ErrorKind::Forbidden)
            .deadline(Instant::now() + POLICY_SETTLE)
            .done()
            .await
    }

    /// Saves the secrets that aim the configuration at `target` and scope it
    /// to the assigned users and groups (`sync_all = false`) or to every
    /// user and group of the tenant (`SyncAll`, "Sync all users and groups").
    pub async fn save_secrets(self, target: &str, sync_all: bool) -> Result<()> {
        let body = serde_json::json!({"value": [
            {"key": "AuthenticationType", "value": "SyncPolicy"},
            {"key": "CompanyId", "value": target},
            {"key": "SyncAll", "value": if sync_all { "true" } else { "false" }},
        ]});
        self.api
            .put(format!("{}/secrets", self.base()), body)
            .retry_not_found()
            .retry_if(fresh_configuration_error)
            .done()
            .await
    }

    /// The target tenant from the saved secrets (`CompanyId`), when Graph
    /// shows it (it may mask secrets as `*`).
    pub async fn target_tenant(self) -> Result<Option<String>> {
        self.secret("CompanyId").await
    }

    /// The scope setting from the saved secrets: `Some(true)` for "Sync all
    /// users and groups", `Some(false)` for assigned ones only, `None` when
    /// Graph shows no value (none saved, or masked).
    pub async fn sync_all(self) -> Result<Option<bool>> {
        Ok(self.secrets().await?.sync_all())
    }

    /// Sets only the `SyncAll` secret (the other secrets are kept: Graph
    /// merges the keys of a `PUT`).
    pub async fn set_sync_all(self, sync_all: bool) -> Result<()> {
        let body = serde_json::json!({"value": [
            {"key": "SyncAll", "value": if sync_all { "true" } else { "false" }},
        ]});
        self.api
            .put(format!("{}/secrets", self.base()), body)
            .retry_if(fresh_configuration_error)
            .done()
            .await
    }

    /// One saved secret's value, unless absent, empty or masked (`*`).
    async fn secret(self, key: &str) -> Result<Option<String>> {
        Ok(self.secrets().await?.get(key))
    }

    /// The saved secrets (masked where Graph masks them).
    pub(crate) async fn secrets(self) -> Result<SecretList> {
        // Concurrent refreshes share `$batch` round trips.
        self.api
            .get(format!("{}/secrets", self.base()))
            .batched()
            .json()
            .await
    }

    /// Deletes a job; `false` when it was already gone.
    pub async fn delete_job(self, job: &str) -> Result<bool> {
        found(self.api.delete(self.job_path(job)).done().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_with_last_cycle(run: &str, began: &str) -> SyncJob {
        serde_json::from_value(serde_json::json!({
            "id": "Azure2Azure.x",
            "status": {"lastExecution": {
                "activityIdentifier": run, "timeBegan": began, "timeEnded": began,
            }},
        }))
        .unwrap()
    }

    #[test]
    fn two_cycles_that_began_in_the_same_second_are_told_apart_by_their_run() {
        let before = job_with_last_cycle("run-1", "2026-12-02T19:20:29Z").last_cycle();
        let same = job_with_last_cycle("run-1", "2026-12-02T19:20:29Z").last_cycle();
        let next = job_with_last_cycle("run-2", "2026-12-02T19:20:29Z").last_cycle();
        assert_eq!(before, same);
        assert_ne!(before, next);
        // Without run identifiers, when the cycle began is the sign.
        let early = job_with_last_cycle("", "2026-12-02T19:20:29Z").last_cycle();
        let later = job_with_last_cycle("", "2026-12-02T19:20:30Z").last_cycle();
        assert_ne!(early, later);
    }

    #[test]
    fn quarantine_reason_combines_reason_and_message() {
        let job: SyncJob = serde_json::from_value(serde_json::json!({"id": "j", "status": {"code": "Quarantine", "quarantine": {"reason": "EncounteredQuarantineException", "error": {"message": "inbound sync not allowed"}}}})).unwrap();
        assert!(job.is_quarantined());
        assert_eq!(
            job.status.unwrap().quarantine_reason().as_deref(),
            Some("EncounteredQuarantineException: inbound sync not allowed")
        );
    }

    #[test]
    fn a_job_is_enabled_when_its_schedule_is_active() {
        let job: SyncJob = serde_json::from_value(serde_json::json!({
            "id": "j", "templateId": "Azure2Azure", "schedule": {"interval": "PT40M", "state": "Active"}
        }))
        .unwrap();
        assert!(job.is_enabled());
        assert!(!SyncJob::default().is_enabled());
    }
}
