//! `data.mto_sync_job`: the status of a synchronization job, for checks and
//! outputs (for example, wait in a pipeline until users are provisioned).
//!
//! Graph: `GET /servicePrincipals/{id}/synchronization/jobs[/{jobId}]`.
//! Permissions (application): `Synchronization.Read.All`.

use std::time::Duration;

use tfplugin::validate::Guid;
use tfplugin::{
    Attribute, AttributePath, Block, Ctx, DataSource, DataSourceReadRequest,
    DataSourceReadResponse, Schema, Value,
};

use crate::Client;
use crate::diag;
use crate::graph::seg;
use crate::resources::common::{json_str, req_str, tenant_api};
use crate::resources::sync_job::{TEMPLATE, status_attribute, status_value};

pub struct SyncJobData;

#[tfplugin::async_trait]
impl DataSource<Client> for SyncJobData {
    fn type_name(&self) -> &'static str {
        "mto_sync_job"
    }

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

    async fn read(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DataSourceReadRequest<'_>,
        resp: &mut DataSourceReadResponse,
    ) {
        let (config, diags) = (req.config, &mut resp.diags);
        let (tenant, sp) = (
            req_str(config, "tenant_id"),
            req_str(config, "service_principal_id"),
        );
        let api = match tenant_api(ctx, tenant, Duration::from_secs(120)) {
            Ok(a) => a,
            Err(d) => {
                diags.extend(d);
                return;
            }
        };
        let jobs_path = format!("/servicePrincipals/{}/synchronization/jobs", seg(sp));
        let job = match config.get("job_id").as_str() {
            Some(id) => api
                .get(format!("{jobs_path}/{}", seg(id)))
                .send()
                .await
                .map(Option::unwrap_or_default),
            None => api.get_all(&jobs_path).await.map(|jobs| {
                jobs.into_iter()
                    .find(|j| j.get("templateId").and_then(|v| v.as_str()) == Some(TEMPLATE))
                    .unwrap_or_default()
            }),
        };
        let job = match job {
            Ok(j) if j.get("id").is_some() => j,
            Ok(_) => {
                diags.error_at(
                    AttributePath::root().attr("service_principal_id"),
                    "No synchronization job",
                    format!("Service principal {sp} has no {TEMPLATE} job."),
                );
                return;
            }
            Err(e) => {
                diags.push(diag::graph("Cannot read the synchronization job", &e));
                return;
            }
        };
        resp.state = Value::object([
            ("tenant_id", Value::from(tenant)),
            ("service_principal_id", Value::from(sp)),
            ("job_id", json_str(&job, "id")),
            (
                "enabled",
                Value::Bool(
                    job.pointer("/schedule/state").and_then(|v| v.as_str()) == Some("Active"),
                ),
            ),
            (
                "schedule_interval",
                job.pointer("/schedule/interval")
                    .and_then(|v| v.as_str())
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            ),
            ("status", status_value(&job)),
        ]);
    }
}
