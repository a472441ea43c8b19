//! `mto_sync_job`: the `Azure2Azure` synchronization job that provisions a
//! share's users into the target tenant.
//!
//! Graph (in the sharing tenant, under `/servicePrincipals/{id}/synchronization`):
//! `POST jobs` with `templateId: Azure2Azure` (201; created paused), the
//! job's schema (`GET`/`PUT jobs/{id}/schema`) where the user mapping's
//! constant `userType` and `showInAddressList` live, `start`/`pause` for
//! `enabled`, `provisionOnDemand` for listed users, `DELETE jobs/{id}`.
//! Right after a configuration is created Graph may answer 403/409 for a
//! while; those are retried within the timeout, as is 404.
//!
//! A quarantined job shows in `terraform plan` as a warning and as an
//! update (apply restarts it), so drift checks in pipelines catch it.
//!
//! Permissions (application): `Synchronization.ReadWrite.All`.
//! Import id: `<tenant id>/<service principal id>/<job id>`.

use std::time::Duration;

use serde_json::json;
use tfplugin::validate::{Each, Guid, OneOf};
use tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, CreateResponse, Ctx, DeleteRequest,
    DeleteResponse, Diagnostics, ImportRequest, ImportResponse, ImportState, ModifyPlan,
    ModifyPlanRequest, ModifyPlanResponse, ObjectNesting, ReadRequest, ReadResponse, Resource,
    Schema, Type, UpdateRequest, UpdateResponse, Value, timeouts,
};

use super::common::{
    TIMEOUTS, check_tenants, id_attribute, join_id, json_str, mark_created, req_str, require_guids,
    settle, split_id, tenant_api, tenant_id_attribute, wait_until,
};
use crate::Client;
use crate::diag;
use crate::graph::{ErrorKind, GraphError, Scope, TenantApi, odata_str, q, seg};

const CREATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
pub const TEMPLATE: &str = "Azure2Azure";
const USER_TYPES: &[&str] = &["Member", "Guest"];

pub struct SyncJob;

pub fn status_attribute() -> Attribute {
    Attribute::nested(
        "status",
        ObjectNesting::Single,
        vec![
            Attribute::string("code")
                .computed()
                .description("`NotConfigured`, `NotRun`, `Active`, `Paused` or `Quarantine`."),
            Attribute::string("last_execution_state")
                .computed()
                .description("State of the last cycle (e.g. `Succeeded`, `Failed`)."),
            Attribute::string("last_execution_time")
                .computed()
                .description("When the last cycle ended."),
            Attribute::string("last_successful_execution_time")
                .computed()
                .description("When the last successful cycle ended."),
            Attribute::string("steady_state_last_achieved_time")
                .computed()
                .description("When the job last had nothing left to do."),
            Attribute::string("quarantine_reason")
                .computed()
                .description("Why the job is quarantined, or null."),
            Attribute::number("exported_count")
                .computed()
                .description("Objects written to the target in the last cycle."),
        ],
    )
    .computed()
    .description("The job's status, as Graph reports it when the state is refreshed.")
}

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The cross-tenant synchronization job of an `mto_outbound_share`: it creates and updates the \
                 shared users in the target tenant as B2B members (by default) shown in the address list, so \
                 People Search and Teams find them. Microsoft runs a cycle about every 40 minutes.",
            )
            .attribute(tenant_id_attribute("that shares (where the configuration lives)"))
            .attribute(
                Attribute::string("service_principal_id")
                    .required()
                    .validator(Guid)
                    .requires_replace()
                    .description("The configuration's service principal: `mto_outbound_share.<name>.service_principal_id`."),
            )
            .attribute(
                Attribute::string("user_type")
                    .default("Member")
                    .validator(OneOf(USER_TYPES))
                    .description("`userType` of the users in the target: `Member` (default; Teams and People Search need it) or `Guest`. Applied always, so a change also converts users the job created before (and B2B guests it matches)."),
            )
            .attribute(
                Attribute::bool("show_in_address_list")
                    .default(true)
                    .description("Show the users in the target's address list (`showInAddressList`). Default `true`."),
            )
            .attribute(
                Attribute::bool("delete_out_of_scope")
                    .default(true)
                    .description("Soft-delete users in the target when they leave the shared set (the `Delete` flow type). Default `true`."),
            )
            .attribute(Attribute::bool("enabled").default(true).description("Run the job (`start`) or keep it paused (`pause`). Default `true`."))
            .attribute(
                Attribute::new("provision_on_demand", Type::set(Type::String))
                    .optional()
                    .validator(Each(Guid))
                    .description("Users (object ids in this tenant) to provision right away on apply instead of at the next cycle; users added to the set later are provisioned when they are added. Graph allows 5 such requests per 10 seconds."),
            )
            .attribute(id_attribute("`<tenant_id>/<service_principal_id>/<job_id>`."))
            .attribute(Attribute::string("job_id").computed().use_state_for_unknown().description("Graph's job id."))
            .attribute(Attribute::string("schedule_interval").computed().description("How often cycles run (ISO 8601, e.g. `PT40M`)."))
            .attribute(status_attribute())
            .block(timeouts::block(TIMEOUTS, &[
                ("create", CREATE_TIMEOUT),
                ("update", UPDATE_TIMEOUT),
                ("delete", DELETE_TIMEOUT),
            ])),
    )
}

fn jobs_path(sp: &str) -> String {
    format!("/servicePrincipals/{}/synchronization/jobs", seg(sp))
}

fn job_path(sp: &str, job: &str) -> String {
    format!(
        "/servicePrincipals/{}/synchronization/jobs/{}",
        seg(sp),
        seg(job)
    )
}

/// Graph answers 403/409 for a while after the configuration is created.
fn fresh_configuration_error(e: &GraphError) -> bool {
    matches!(e.kind, ErrorKind::Forbidden | ErrorKind::Conflict)
}

pub fn status_value(job: &serde_json::Value) -> Value {
    let Some(status) = job.get("status").filter(|s| s.is_object()) else {
        return Value::Null;
    };
    let quarantine = status.get("quarantine").filter(|q| q.is_object());
    let reason = quarantine.map(|q| {
        let reason = q.get("reason").and_then(|v| v.as_str()).unwrap_or_default();
        let message = q
            .pointer("/error/message")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        match (reason.is_empty(), message.is_empty()) {
            (false, false) => format!("{reason}: {message}"),
            (false, true) => reason.to_owned(),
            (true, false) => message.to_owned(),
            (true, true) => "quarantined".to_owned(),
        }
    });
    let exported = status
        .pointer("/lastExecution/countExported")
        .and_then(|v| v.as_i64());
    Value::object([
        ("code", json_str(status, "code")),
        (
            "last_execution_state",
            status
                .pointer("/lastExecution/state")
                .and_then(|v| v.as_str())
                .map(Value::from)
                .unwrap_or(Value::Null),
        ),
        (
            "last_execution_time",
            status
                .pointer("/lastExecution/timeEnded")
                .and_then(|v| v.as_str())
                .map(Value::from)
                .unwrap_or(Value::Null),
        ),
        (
            "last_successful_execution_time",
            status
                .pointer("/lastSuccessfulExecution/timeEnded")
                .and_then(|v| v.as_str())
                .map(Value::from)
                .unwrap_or(Value::Null),
        ),
        (
            "steady_state_last_achieved_time",
            json_str(status, "steadyStateLastAchievedTime"),
        ),
        (
            "quarantine_reason",
            reason.map(Value::from).unwrap_or(Value::Null),
        ),
        (
            "exported_count",
            exported.map(Value::from).unwrap_or(Value::Null),
        ),
    ])
}

fn apply_job(mut state: Value, job: &serde_json::Value) -> Value {
    let tenant = req_str(&state, "tenant_id").to_owned();
    let sp = req_str(&state, "service_principal_id").to_owned();
    let job_id = job
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    state.set("id", Value::from(join_id(&[&tenant, &sp, &job_id])));
    state.set("job_id", Value::from(job_id));
    state.set(
        "schedule_interval",
        job.pointer("/schedule/interval")
            .and_then(|v| v.as_str())
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    state.set(
        "enabled",
        Value::Bool(job.pointer("/schedule/state").and_then(|v| v.as_str()) == Some("Active")),
    );
    state.set("status", status_value(job));
    state
}

/// The user object mapping of the job's schema (the first rule's mapping
/// from `User`), created if missing.
fn user_mapping(schema: &mut serde_json::Value) -> Option<&mut serde_json::Value> {
    let rules = schema.get_mut("synchronizationRules")?.as_array_mut()?;
    let rule = rules.first_mut()?;
    let mappings = rule.get_mut("objectMappings")?.as_array_mut()?;
    mappings.iter_mut().find(|m| {
        m.get("sourceObjectName")
            .and_then(|v| v.as_str())
            .is_some_and(|s| s.eq_ignore_ascii_case("User"))
    })
}

fn rule_id(schema: &serde_json::Value) -> Option<String> {
    schema
        .pointer("/synchronizationRules/0/id")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

fn constant_mapping(target: &str, value: &str) -> serde_json::Value {
    json!({
        "targetAttributeName": target,
        "source": {"type": "Constant", "name": value, "expression": format!("\"{value}\""), "parameters": []},
        "defaultValue": null,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "Always",
        "matchingPriority": 0,
        "exportMissingReferences": false
    })
}

fn constant_of(mapping: &serde_json::Value, target: &str) -> Option<String> {
    let m = mapping
        .get("attributeMappings")?
        .as_array()?
        .iter()
        .find(|m| {
            m.get("targetAttributeName")
                .and_then(|v| v.as_str())
                .is_some_and(|t| t.eq_ignore_ascii_case(target))
        })?;
    if m.pointer("/source/type").and_then(|v| v.as_str()) != Some("Constant") {
        return None;
    }
    m.pointer("/source/name")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// Writes the planned settings into a schema; returns whether it changed.
fn set_mappings(schema: &mut serde_json::Value, planned: &Value) -> bool {
    let user_type = planned
        .get("user_type")
        .as_str()
        .unwrap_or("Member")
        .to_owned();
    let show = if planned.get("show_in_address_list").as_bool() != Some(false) {
        "True"
    } else {
        "False"
    };
    let delete = planned.get("delete_out_of_scope").as_bool() != Some(false);
    let Some(mapping) = user_mapping(schema) else {
        return false;
    };
    let before = mapping.clone();
    let attrs = match mapping
        .get_mut("attributeMappings")
        .and_then(|v| v.as_array_mut())
    {
        Some(a) => a,
        None => {
            mapping["attributeMappings"] = json!([]);
            mapping["attributeMappings"]
                .as_array_mut()
                .expect("just set")
        }
    };
    for (target, value) in [
        ("userType", user_type.as_str()),
        ("showInAddressList", show),
    ] {
        let fresh = constant_mapping(target, value);
        match attrs.iter_mut().find(|m| {
            m.get("targetAttributeName")
                .and_then(|v| v.as_str())
                .is_some_and(|t| t.eq_ignore_ascii_case(target))
        }) {
            Some(m) => {
                m["source"] = fresh["source"].clone();
                // Graph's default applies userType to new users only
                // (ObjectAddOnly); a change here must reach the users the
                // job already created, and existing B2B guests, too.
                m["flowType"] = fresh["flowType"].clone();
            }
            None => attrs.push(fresh),
        }
    }
    let flow: Vec<&str> = if delete {
        vec!["Add", "Update", "Delete"]
    } else {
        vec!["Add", "Update"]
    };
    mapping["flowTypes"] = json!(flow.join(", "));
    *mapping != before
}

fn read_mappings(mut state: Value, schema: &mut serde_json::Value) -> Value {
    let Some(mapping) = user_mapping(schema) else {
        return state;
    };
    let mapping = mapping.clone();
    state.set(
        "user_type",
        constant_of(&mapping, "userType")
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    state.set(
        "show_in_address_list",
        constant_of(&mapping, "showInAddressList")
            .map(|v| Value::Bool(v.eq_ignore_ascii_case("true")))
            .unwrap_or(Value::Null),
    );
    let flows = mapping
        .get("flowTypes")
        .and_then(|v| v.as_str())
        .unwrap_or("Add, Update, Delete");
    state.set(
        "delete_out_of_scope",
        Value::Bool(
            flows
                .split(',')
                .any(|f| f.trim().eq_ignore_ascii_case("Delete")),
        ),
    );
    state
}

async fn get_schema(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
    batched: bool,
) -> Result<serde_json::Value, GraphError> {
    let call = api
        .get(format!("{}/schema", job_path(sp, job)))
        .retry_not_found();
    let call = if batched { call.batched() } else { call };
    Ok(call.send().await?.unwrap_or_default())
}

async fn write_schema(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
    planned: &Value,
) -> Result<(), GraphError> {
    let mut schema = get_schema(api, sp, job, false).await?;
    if set_mappings(&mut schema, planned) {
        api.put(format!("{}/schema", job_path(sp, job)), schema)
            .retry_if(fresh_configuration_error)
            .send()
            .await?;
    }
    Ok(())
}

async fn set_enabled(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
    enabled: bool,
) -> Result<(), GraphError> {
    let action = if enabled { "start" } else { "pause" };
    api.post(format!("{}/{action}", job_path(sp, job)), json!({}))
        .retry_if(fresh_configuration_error)
        .send()
        .await
        .map(|_| ())
}

async fn provision_now(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
    users: &[String],
) -> Result<(), GraphError> {
    if users.is_empty() {
        return Ok(());
    }
    let schema = get_schema(api, sp, job, false).await?;
    let rule = rule_id(&schema).unwrap_or_default();
    // Graph takes several subjects per request; 5 requests per 10 s is the
    // limit, and 429s are retried with their Retry-After.
    for chunk in users.chunks(5) {
        let subjects: Vec<serde_json::Value> = chunk
            .iter()
            .map(|u| json!({"objectId": u, "objectTypeName": "User"}))
            .collect();
        let body = json!({"parameters": [{"ruleId": rule, "subjects": subjects}]});
        api.post(format!("{}/provisionOnDemand", job_path(sp, job)), body)
            .send()
            .await?;
    }
    Ok(())
}

/// How long apply waits for users provisioned on demand to show up in the
/// target before it moves on with a warning.
const VISIBLE_WAIT: Duration = Duration::from_secs(120);

/// Waits until users provisioned on demand can be read in the target, so
/// that anything read right after the apply (a `mto_users` data source, a
/// pipeline's check) sees them. Only possible when the provider block has
/// the target's credentials; otherwise it returns at once. Returns the
/// users that did not appear.
async fn wait_visible(
    ctx: &Ctx<'_, Client>,
    api: &TenantApi<'_>,
    sp: &str,
    users: &[String],
) -> Vec<String> {
    if users.is_empty() {
        return Vec::new();
    }
    let secrets = match api
        .get(format!(
            "/servicePrincipals/{}/synchronization/secrets",
            seg(sp)
        ))
        .send()
        .await
    {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return Vec::new(),
    };
    let target = secrets
        .get("value")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .find(|kv| kv.get("key").and_then(|k| k.as_str()) == Some("CompanyId"))
        .and_then(|kv| kv.get("value").and_then(|v| v.as_str()))
        .unwrap_or_default()
        .to_owned();
    // A masked or missing CompanyId, or a target we have no credentials for.
    if !tfplugin::validate::is_guid(&target) || !ctx.client.graph.has_tenant(&target) {
        return Vec::new();
    }
    let scope = Scope {
        cancel: ctx.cancel.clone(),
        deadline: api
            .scope()
            .deadline
            .min(std::time::Instant::now() + VISIBLE_WAIT),
    };
    let Ok(target_api) = ctx.client.graph.tenant(&target, &scope) else {
        return Vec::new();
    };
    let mut missing = Vec::new();
    for user in users {
        let upn = match api
            .get(format!("/users/{}?$select=userPrincipalName", seg(user)))
            .send()
            .await
        {
            Ok(v) => v
                .unwrap_or_default()
                .get("userPrincipalName")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            Err(_) => continue,
        };
        if upn.is_empty() {
            continue;
        }
        // The B2B user's UPN is the source UPN with `@` as `_`, then `#EXT#@…`.
        let prefix = format!("{}#EXT#", upn.replace('@', "_"));
        let filter = format!("startswith(userPrincipalName,{})", odata_str(&prefix));
        let path = format!("/users?$filter={}&$select=id", q(&filter));
        let found = wait_until(
            api.scope(),
            Duration::from_secs(2),
            "the user to appear in the target",
            || async {
                let page = target_api
                    .get(path.clone())
                    .send()
                    .await?
                    .unwrap_or_default();
                let any = page
                    .get("value")
                    .and_then(|v| v.as_array())
                    .is_some_and(|v| !v.is_empty());
                Ok(any.then_some(()))
            },
        )
        .await;
        if found.is_err() {
            missing.push(upn);
        }
    }
    missing
}

fn warn_missing(diags: &mut Diagnostics, missing: &[String]) {
    if !missing.is_empty() {
        diags.warning_at(
            AttributePath::root().attr("provision_on_demand"),
            "Users not visible in the target yet",
            format!(
                "Provisioned on demand, but not readable in the target tenant after {} s: {}. Graph may still be replicating them, \
                 or provisioning failed (see the job's status).",
                VISIBLE_WAIT.as_secs(),
                missing.join(", ")
            ),
        );
    }
}

/// The configuration's Azure2Azure job, created if there is none. A create
/// whose answer was lost is followed by a new look, not a second create.
async fn find_or_create_job(
    api: &TenantApi<'_>,
    sp: &str,
) -> Result<serde_json::Value, GraphError> {
    let mut lost = 0;
    loop {
        let existing = match api.get_all(&jobs_path(sp)).await {
            Ok(jobs) => jobs
                .into_iter()
                .find(|j| j.get("templateId").and_then(|v| v.as_str()) == Some(TEMPLATE)),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        if let Some(j) = existing {
            return Ok(j);
        }
        let created = api
            .post(jobs_path(sp), json!({"templateId": TEMPLATE}))
            .retry_not_found()
            .retry_if(fresh_configuration_error)
            .not_idempotent()
            .send()
            .await;
        match created {
            Ok(j) => return Ok(j.unwrap_or_default()),
            Err(e) if e.kind == ErrorKind::Transport && lost < 8 => {
                lost += 1;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250 << lost.min(5))) => {}
                    _ = api.scope().cancel.cancelled() => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

async fn read_job(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
    after_write: bool,
) -> Result<Option<serde_json::Value>, GraphError> {
    let call = api.get(job_path(sp, job));
    let call = if after_write {
        call.retry_not_found()
    } else {
        call.batched()
    };
    match call.send().await {
        Ok(j) => Ok(Some(j.unwrap_or_default())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[tfplugin::async_trait]
impl Resource<Client> for SyncJob {
    fn type_name(&self) -> &'static str {
        "mto_sync_job"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(
        &self,
        ctx: &Ctx<'_, Client>,
        req: CreateRequest<'_>,
        resp: &mut CreateResponse,
    ) {
        mark_created(&mut resp.private);
        let planned = req.planned;
        let (tenant, sp) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "service_principal_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "create", CREATE_TIMEOUT),
        )) else {
            return;
        };
        // One Azure2Azure job per configuration: adopt one left by an
        // interrupted apply.
        let job = match find_or_create_job(&api, sp).await {
            Ok(j) => j,
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot create the synchronization job", &e));
                return;
            }
        };
        let job_id = job
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let mut partial = apply_job(planned.clone(), &job);
        partial.set("status", Value::Null);
        let steps = async {
            write_schema(&api, sp, &job_id, planned)
                .await
                .map_err(|e| diag::graph("Cannot set the attribute mappings", &e))?;
            if planned.get("enabled").as_bool() != Some(false) {
                set_enabled(&api, sp, &job_id, true)
                    .await
                    .map_err(|e| diag::graph("Cannot start the synchronization job", &e))?;
            }
            let users = planned.get("provision_on_demand").string_items();
            provision_now(&api, sp, &job_id, &users)
                .await
                .map_err(|e| diag::graph("Cannot provision the users on demand", &e))?;
            let missing = wait_visible(ctx, &api, sp, &users).await;
            read_job(&api, sp, &job_id, true)
                .await
                .map(|j| j.map(|j| (j, missing)))
                .map_err(|e| diag::graph("Cannot read the synchronization job", &e))
        };
        match steps.await {
            Ok(Some((j, missing))) => {
                let mut state = apply_job(planned.clone(), &j);
                // The schedule may take a moment to show the start.
                state.set("enabled", planned.get("enabled").clone());
                resp.state = state;
                warn_missing(&mut resp.diags, &missing);
            }
            Ok(None) => {
                resp.state = partial;
                resp.diags.error(
                    "The synchronization job disappeared",
                    format!("Job {job_id} was deleted while it was being set up."),
                );
            }
            Err(d) => {
                resp.state = partial;
                resp.diags.push(d);
            }
        }
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let state = req.state;
        let (tenant, sp, job) = (
            req_str(state, "tenant_id"),
            req_str(state, "service_principal_id"),
            req_str(state, "job_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(ctx, tenant, UPDATE_TIMEOUT)) else {
            return;
        };
        let (j, mut schema) = tokio::join!(read_job(&api, sp, job, false), async {
            match api
                .get(format!("{}/schema", job_path(sp, job)))
                .batched()
                .send()
                .await
            {
                Ok(s) => Ok(Some(s.unwrap_or_default())),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        });
        let j = match j {
            Ok(Some(j)) => j,
            Ok(None) => match settle(ctx, req.private, || read_job(&api, sp, job, false)).await {
                Ok(Some(j)) => {
                    schema = get_schema(&api, sp, job, false).await.map(Some);
                    j
                }
                Ok(None) => return resp.remove(),
                Err(e) => {
                    resp.diags
                        .push(diag::graph("Cannot read the synchronization job", &e));
                    return;
                }
            },
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot read the synchronization job", &e));
                return;
            }
        };
        let mut next = apply_job(state.clone(), &j);
        match schema {
            Ok(Some(mut s)) => next = read_mappings(next, &mut s),
            Ok(None) => return resp.remove(),
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot read the job's attribute mappings", &e));
                return;
            }
        }
        resp.state = next;
        if j.pointer("/status/code").and_then(|v| v.as_str()) == Some("Quarantine") {
            let reason = status_value(&j)
                .get("quarantine_reason")
                .as_str()
                .unwrap_or("unknown")
                .to_owned();
            resp.diags.warning(
                format!("Synchronization job {job} is quarantined"),
                format!("Graph reports: {reason}. Users are not being provisioned until the cause is fixed and the job restarted (apply does it)."),
            );
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        let (planned, prior) = (req.planned, req.prior);
        let (tenant, sp, job) = (
            req_str(prior, "tenant_id"),
            req_str(prior, "service_principal_id"),
            req_str(prior, "job_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "update", UPDATE_TIMEOUT),
        )) else {
            return;
        };
        let steps = async {
            let mappings_changed = ["user_type", "show_in_address_list", "delete_out_of_scope"]
                .iter()
                .any(|a| planned.get(a) != prior.get(a));
            if mappings_changed {
                write_schema(&api, sp, job, planned)
                    .await
                    .map_err(|e| diag::graph("Cannot update the attribute mappings", &e))?;
            }
            let enabled = planned.get("enabled").as_bool() != Some(false);
            let quarantined = prior.get("status").get("code").as_str() == Some("Quarantine");
            if enabled != (prior.get("enabled").as_bool() == Some(true)) || (enabled && quarantined)
            {
                // `start` also lifts a quarantine.
                set_enabled(&api, sp, job, enabled)
                    .await
                    .map_err(|e| diag::graph("Cannot start or pause the job", &e))?;
            }
            let before: Vec<String> = prior.get("provision_on_demand").string_items();
            let added: Vec<String> = planned
                .get("provision_on_demand")
                .string_items()
                .into_iter()
                .filter(|u| !before.iter().any(|b| b.eq_ignore_ascii_case(u)))
                .collect();
            provision_now(&api, sp, job, &added)
                .await
                .map_err(|e| diag::graph("Cannot provision the users on demand", &e))?;
            let missing = wait_visible(ctx, &api, sp, &added).await;
            read_job(&api, sp, job, true)
                .await
                .map(|j| j.map(|j| (j, missing)))
                .map_err(|e| diag::graph("Cannot read the synchronization job", &e))
        };
        match steps.await {
            Ok(Some((j, missing))) => {
                let mut state = apply_job(planned.clone(), &j);
                state.set("enabled", planned.get("enabled").clone());
                resp.state = state;
                warn_missing(&mut resp.diags, &missing);
            }
            Ok(None) => {
                resp.state = Value::Null;
                resp.diags.error(
                    "The synchronization job disappeared",
                    format!("Job {job} was deleted during the update."),
                );
            }
            Err(d) => resp.diags.push(d),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DeleteRequest<'_>,
        resp: &mut DeleteResponse,
    ) {
        let prior = req.prior;
        let (tenant, sp, job) = (
            req_str(prior, "tenant_id"),
            req_str(prior, "service_principal_id"),
            req_str(prior, "job_id"),
        );
        if job.is_empty() {
            return;
        }
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(prior, "delete", DELETE_TIMEOUT),
        )) else {
            return;
        };
        match api.delete(job_path(sp, job)).send().await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return,
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot delete the synchronization job", &e));
                return;
            }
        }
        if let Err(e) = wait_until(
            api.scope(),
            Duration::from_secs(5),
            "the job to be deleted",
            || async {
                Ok(read_job(&api, sp, job, false)
                    .await?
                    .is_none()
                    .then_some(()))
            },
        )
        .await
        {
            resp.diags
                .push(diag::graph("The synchronization job was not deleted", &e));
        }
    }

    fn plan_modifier(&self) -> Option<&dyn ModifyPlan<Client>> {
        Some(self)
    }

    fn importer(&self) -> Option<&dyn ImportState<Client>> {
        Some(self)
    }
}

#[tfplugin::async_trait]
impl ModifyPlan<Client> for SyncJob {
    async fn modify_plan(
        &self,
        ctx: &Ctx<'_, Client>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        check_tenants(ctx, req.config, &mut resp.diags, &["tenant_id"]);
        let quarantined = req.prior.get("status").get("code").as_str() == Some("Quarantine");
        if quarantined && resp.planned.get("enabled").as_bool() != Some(false) {
            let reason = req
                .prior
                .get("status")
                .get("quarantine_reason")
                .as_str()
                .unwrap_or("unknown")
                .to_owned();
            resp.planned.set("status", Value::unknown());
            resp.diags.warning_at(
                AttributePath::root().attr("status"),
                "Synchronization job is quarantined",
                format!("Graph quarantined the job ({reason}). Apply restarts it once the cause is fixed (for example, the target's inbound acceptance)."),
            );
        }
    }
}

#[tfplugin::async_trait]
impl ImportState<Client> for SyncJob {
    async fn import_state(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let id = req.id;
        let parts =
            match split_id(id, "<tenant id>/<service principal id>/<job id>", 3).and_then(|p| {
                require_guids(&[("tenant id", &p[0]), ("service principal id", &p[1])]).map(|_| p)
            }) {
                Ok(p) => p,
                Err(diags) => {
                    resp.diags.extend(diags);
                    return;
                }
            };
        let mut state = Value::null_object(&schema().value_type());
        state.set("tenant_id", Value::from(parts[0].as_str()));
        state.set("service_principal_id", Value::from(parts[1].as_str()));
        state.set("job_id", Value::from(parts[2].as_str()));
        resp.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_doc() -> serde_json::Value {
        json!({"synchronizationRules": [{"id": "r1", "objectMappings": [
            {"sourceObjectName": "Group", "attributeMappings": []},
            {"sourceObjectName": "User", "flowTypes": "Add, Update, Delete", "attributeMappings": [
                {"targetAttributeName": "displayName", "source": {"type": "Attribute", "name": "displayName"}},
                {"targetAttributeName": "userType", "source": {"type": "Constant", "name": "Member", "expression": "\"Member\""}}
            ]}
        ]}]})
    }

    #[test]
    fn mappings_are_written_and_read_back() {
        let mut doc = schema_doc();
        let planned = Value::object([
            ("user_type", Value::from("Guest")),
            ("show_in_address_list", Value::Bool(false)),
            ("delete_out_of_scope", Value::Bool(false)),
        ]);
        assert!(set_mappings(&mut doc, &planned));
        assert!(
            !set_mappings(&mut doc, &planned),
            "second write changes nothing"
        );
        let state = read_mappings(Value::object([("x", Value::Null)]), &mut doc);
        assert_eq!(state.get("user_type").as_str(), Some("Guest"));
        assert_eq!(state.get("show_in_address_list").as_bool(), Some(false));
        assert_eq!(state.get("delete_out_of_scope").as_bool(), Some(false));
        assert_eq!(rule_id(&doc).as_deref(), Some("r1"));
    }

    #[test]
    fn quarantine_reason_combines_reason_and_message() {
        let job = json!({"status": {"code": "Quarantine", "quarantine": {"reason": "EncounteredQuarantineException", "error": {"message": "inbound sync not allowed"}}}});
        let s = status_value(&job);
        assert_eq!(
            s.get("quarantine_reason").as_str(),
            Some("EncounteredQuarantineException: inbound sync not allowed")
        );
        assert_eq!(s.get("code").as_str(), Some("Quarantine"));
    }
}
