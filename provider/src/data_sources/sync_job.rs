//! `data.mto_sync_job`: the status of a synchronization job, for checks and
//! outputs (for example, wait in a pipeline until users are provisioned).
//!
//! Graph: the jobs of the configuration's service principal.
//! Permissions (application): `Synchronization.Read.All`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplugin::validate::Guid;
use tfplugin::{Attribute, AttributePath, Block, DataSourceReadResponse, Diagnostic, Schema};

use super::TenantDataSource;
use crate::diag::OrDiag;
use crate::graph::ReadMode;
use crate::graph::sync::AZURE2AZURE;
use crate::operation::{Op, Outcome};
use crate::resources::sync_job::{JobStatus, status_attribute};

const TIMEOUT: Duration = Duration::from_secs(120);

pub struct SyncJobData;

#[derive(Serialize, Deserialize)]
pub struct SyncJobModel {
    tenant_id: String,
    service_principal_id: String,
    job_id: Option<String>,
    enabled: Option<bool>,
    schedule_interval: Option<String>,
    status: Option<JobStatus>,
}

#[tfplugin::async_trait]
impl TenantDataSource for SyncJobData {
    const TYPE_NAME: &'static str = "mto_sync_job";
    const TIMEOUT: Duration = TIMEOUT;
    type Model = SyncJobModel;

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("A synchronization job's schedule and status.")
                .attribute(
                    Attribute::string("tenant_id")
                        .required()
                        .validator(Guid)
                        .description("The sharing tenant."),
                )
                .attribute(
                    Attribute::string("service_principal_id")
                        .required()
                        .validator(Guid)
                        .description("The configuration's service principal."),
                )
                .attribute(
                    Attribute::string("job_id")
                        .optional_computed()
                        .description("The job; default: the configuration's `Azure2Azure` job."),
                )
                .attribute(
                    Attribute::bool("enabled")
                        .computed()
                        .description("Whether the job's schedule is active."),
                )
                .attribute(
                    Attribute::string("schedule_interval")
                        .computed()
                        .description("How often cycles run (ISO 8601)."),
                )
                .attribute(status_attribute()),
        )
    }

    async fn read(&self, op: Op<'_, Self::Model>, resp: &mut DataSourceReadResponse) -> Outcome {
        let config = op.state;
        let api = &op.api;
        let sync = api.synchronization(&config.service_principal_id);
        let job = match &config.job_id {
            Some(id) => sync.job(id, ReadMode::Refresh).await,
            None => sync.azure2azure_job().await,
        }
        .or_diag("Cannot read the synchronization job")?
        .ok_or_else(|| {
            Diagnostic::error(
                "No synchronization job",
                format!(
                    "Service principal {} has no {AZURE2AZURE} job.",
                    config.service_principal_id
                ),
            )
            .at(AttributePath::root().attr("service_principal_id"))
        })?;
        resp.set_state(&SyncJobModel {
            job_id: Some(job.id.clone()),
            enabled: Some(job.is_enabled()),
            schedule_interval: job.schedule.as_ref().and_then(|s| s.interval.clone()),
            status: JobStatus::of(&job),
            ..config
        });
        Ok(())
    }
}
