//! `mto_sync_job`: the `Azure2Azure` synchronization job that provisions a
//! share's users into the target tenant.
//!
//! Graph (in the sharing tenant, on the configuration's service principal):
//! the job (created paused), its schema, where the user mapping's constant
//! `userType` and `showInAddressList` live, `start`/`pause` for `enabled`,
//! provisioning on demand for listed users. Right after a configuration is
//! created Graph may answer 403/409 for a while; those are retried within
//! the timeout, as is 404.
//!
//! A quarantined job shows in `terraform plan` as a warning and as an
//! update (apply restarts it), so drift checks in pipelines catch it.
//!
//! Permissions (application): `Synchronization.ReadWrite.All`.
//! Import id: `<sharing tenant id>/<target tenant id>` (the job of the
//! configuration named `MTO_Sync_<target tenant id>`, as the share's) or
//! `<tenant id>/<service principal id>/<job id>`.
//!
//! Ownership: a create adopts an existing job only on a configuration that
//! carries this provider's tag (an apply of ours was interrupted); a job on
//! anyone else's configuration is imported, never taken over.

use std::time::{Duration, Instant};

use super::prelude::*;
use super::scoping::{self, FilterBlock, MappingBlock};

use crate::graph::ErrorKind;
use crate::graph::apps::OWNERSHIP_TAG;
use crate::graph::directory::b2b_upn_prefix;
use crate::graph::sync::{ON_DEMAND_CHUNK, SyncJob as Job, SyncSchema, UserMapping};
use crate::graph::{ReadMode, TenantApi, wait_until};

const USER_TYPES: &[&str] = &["Member", "Guest"];
/// How long apply waits for users provisioned on demand to show up in the
/// target before it moves on with a warning.
const VISIBLE_WAIT: Duration = Duration::from_secs(120);

pub struct SyncJob;

// ---------------------------------------------------------------------------
// Model and schema

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SyncJobState {
    tenant_id: String,
    service_principal_id: String,
    user_type: Option<String>,
    show_in_address_list: Option<bool>,
    delete_out_of_scope: Option<bool>,
    provision_groups: Option<bool>,
    enabled: Option<bool>,
    deprovision_on_destroy: Option<bool>,
    provision_on_demand: Option<Vec<String>>,
    id: Option<String>,
    job_id: Option<String>,
    schedule_interval: Option<String>,
    status: Option<JobStatus>,
    #[serde(default)]
    scoping_filter: Vec<FilterBlock>,
    #[serde(default)]
    group_scoping_filter: Vec<FilterBlock>,
    #[serde(default)]
    attribute_mapping: Vec<MappingBlock>,
    timeouts: Option<TimeoutsBlock>,
}

impl SyncJobState {
    fn user_mapping(&self) -> UserMapping {
        let provision_groups = self.provision_groups == Some(true);
        UserMapping {
            user_type: self.user_type.clone().unwrap_or_else(|| "Member".into()),
            show_in_address_list: self.show_in_address_list != Some(false),
            delete_out_of_scope: self.delete_out_of_scope != Some(false),
            scope: scoping::to_scope(&self.scoping_filter),
            provision_groups,
            group_scope: if provision_groups {
                scoping::to_scope(&self.group_scoping_filter)
            } else {
                Vec::new()
            },
            attributes: self
                .attribute_mapping
                .iter()
                .map(MappingBlock::managed)
                .collect(),
        }
    }

    /// Whether an `attribute_mapping` sets `target` (then its shorthand is
    /// not written or read).
    fn maps(&self, target: &str) -> bool {
        self.attribute_mapping.iter().any(|m| m.targets(target))
    }

    fn job(&self) -> &str {
        self.job_id.as_deref().unwrap_or_default()
    }
}

/// The `status` attribute, shared with the `mto_sync_job` data source.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JobStatus {
    code: Option<String>,
    last_execution_state: Option<String>,
    last_execution_time: Option<String>,
    last_successful_execution_time: Option<String>,
    steady_state_last_achieved_time: Option<String>,
    quarantine_reason: Option<String>,
    last_execution_error: Option<String>,
    exported_count: Option<i64>,
}

impl JobStatus {
    /// The job's status as Graph reports it; `None` when it reports none.
    pub fn of(job: &Job) -> Option<JobStatus> {
        let s = job.status.as_ref()?;
        Some(JobStatus {
            code: s.code.clone(),
            last_execution_state: s.last_execution.as_ref().and_then(|e| e.state.clone()),
            last_execution_time: s.last_execution.as_ref().and_then(|e| e.time_ended.clone()),
            last_successful_execution_time: s
                .last_successful_execution
                .as_ref()
                .and_then(|e| e.time_ended.clone()),
            steady_state_last_achieved_time: s.steady_state_last_achieved_time.clone(),
            quarantine_reason: s.quarantine_reason(),
            last_execution_error: s
                .last_execution
                .as_ref()
                .and_then(|e| e.error.as_ref())
                .and_then(|e| e.text()),
            exported_count: s.last_execution.as_ref().and_then(|e| e.count_exported),
        })
    }
}

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
            Attribute::string("last_execution_error")
                .computed()
                .description("What went wrong in the last cycle, as Graph reports it (`code: message`), e.g. groups the target does not accept; null when nothing did."),
            Attribute::number("exported_count")
                .computed()
                .description("Objects written to the target in the last cycle."),
        ],
    )
    .computed()
    .description("The job's status, as Graph reports it when the state is refreshed.")
}

/// How Terraform knows `mto_sync_job`.
pub const DEFINITION: Definition = Definition {
    type_name: "mto_sync_job",
    schema,
    // create, read, update, delete
    // Deprovisioning waits for a full cycle of the job.
    timeouts: Timeouts::minutes(15, 15, 15, 30),
    identity: Identity {
        object: "the synchronization job",
        attributes: &["tenant_id", "service_principal_id"],
    },
    unowned_destroy: "removes the users it provisioned from the target tenant first (unless deprovision_on_destroy = false), then deletes the job; the configuration and its assignments stay.",
    adoption: "A create adopts an existing job only on a configuration that carries this provider's tag `terraform-provider-mto` (an apply of ours was interrupted); a job on any other configuration is refused, with its import id.",
};

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
                guid_identity_attribute(
                    "service_principal_id",
                    "The configuration's service principal: `mto_outbound_share.<name>.service_principal_id`."
                        .to_owned(),
                ),
            )
            .attribute(
                Attribute::string("user_type")
                    .default("Member")
                    .validator(OneOf(USER_TYPES))
                    .description("`userType` of the users in the target: `Member` (default; Teams and People Search need it) or `Guest`. Applied always, so a change also converts users the job created before (and B2B guests it matches). A shorthand for an `attribute_mapping` of `userType`: give at most one of the two (with such a mapping, this attribute is ignored and keeps its default)."),
            )
            .attribute(
                Attribute::bool("show_in_address_list")
                    .default(true)
                    .description("Show the users in the target's address list (`showInAddressList`). Default `true`. A shorthand like `user_type`: an `attribute_mapping` of `showInAddressList` replaces it, and setting both fails the plan."),
            )
            .attribute(
                Attribute::bool("provision_groups")
                    .default(false)
                    .description(
                        "Provision the share's security groups as groups (the `Provision Microsoft Entra ID Groups` mapping, with \
                         `members`): each assigned security group (every one, with `share_all_users`) is created in the target \
                         with its in-scope direct members, kept in step each cycle, and deleted when it leaves the scope. Nested \
                         groups are not followed; Microsoft 365 groups are not provisioned. The target must allow it: \
                         `group_sync_allowed = true` on its `mto_inbound_acceptance`; until then the job's status reports the \
                         refusal and users still synchronize. Default `false`.",
                    ),
            )
            .attribute(
                Attribute::bool("delete_out_of_scope")
                    .default(true)
                    .description("Soft-delete users in the target when they leave the shared set (the `Delete` flow type). Default `true`."),
            )
            .attribute(Attribute::bool("enabled").default(true).description("Run the job (`start`) or keep it paused (`pause`). Default `true`."))
            .attribute(
                Attribute::bool("deprovision_on_destroy")
                    .default(true)
                    .description(
                        "Un-share on destroy (default `true`): before deleting the job, scope it to no one and restart it, and wait \
                         (bounded by the `delete` timeout) until a full cycle has run and, where the provider block can read the \
                         target, the target holds none of the shared users any more (Graph soft-deletes them; they stay in its \
                         deleted items for 30 days). The target must still accept the source meanwhile, so destroy the target's \
                         `mto_inbound_acceptance` after this job (Terraform does when the share depends on it). With `false`, \
                         destroy deletes the job only and the users already provisioned stay in the target, as Graph leaves them.",
                    ),
            )
            .attribute(
                Attribute::new("provision_on_demand", Type::set(Type::String))
                    .optional()
                    .validator(Each(Guid))
                    .description("Users (object ids in this tenant) to provision right away on apply instead of at the next cycle; users added to the set later are provisioned when they are added. Requests are paced to Graph's limit (5 per 10 seconds, five users each); when the apply's time runs out first, the users left are recorded, a warning says how many, and the next plan shows an update that provisions them (the job's own cycles provision them too)."),
            )
            .attribute(id_attribute("`<tenant_id>/<service_principal_id>/<job_id>`."))
            .attribute(Attribute::string("job_id").computed().use_state_for_unknown().description("Graph's job id."))
            .attribute(Attribute::string("schedule_interval").computed().description("How often cycles run (ISO 8601, e.g. `PT40M`)."))
            .attribute(status_attribute())
            .block(scoping::filter_block(
                "scoping_filter",
                "A scoping filter group of the user mapping (Graph: `objectMappings[].scope`). A user is provisioned when it \
                 is in the share's scope (`user_ids`/`group_ids`, or everyone with `share_all_users`) **and** passes \
                 the filter: all clauses of one block hold, and any block lets it in. Users who stop passing it are \
                 soft-deleted in the target on the next cycle (with `delete_out_of_scope`). No block: no filter. The \
                 share decides who is assigned; these blocks narrow it.",
            ))
            .block(scoping::filter_block(
                "group_scoping_filter",
                "A scoping filter group of the group mapping, the same shape as `scoping_filter` (on group attributes such \
                 as `displayName`); needs `provision_groups = true`.",
            ))
            .block(scoping::mapping_block())
            .block(DEFINITION.timeouts.block()),
    )
}

/// Private state: users of `provision_on_demand` not provisioned yet (an
/// apply ran out of time, or Terraform stopped it); the next plan and apply
/// carry on with them.
const ON_DEMAND_PENDING: &str = "on_demand_pending";
/// Provisioning on demand sends no new request when less time than this is
/// left, which keeps time to read the job back.
const ON_DEMAND_MARGIN: Duration = Duration::from_secs(15);

/// What provisioning on demand got through.
#[derive(Default)]
struct OnDemand {
    done: Vec<String>,
    /// Not sent: the operation's time ran out, Graph kept throttling, or
    /// Terraform cancelled.
    pending: Vec<String>,
}

/// Provisions `users` on demand, a few per request at Graph's pace, until
/// done or until the operation's time is nearly up. It never fails for
/// lack of time: what is left is returned, to be recorded and resumed, and
/// the job's next cycle provisions those users anyway.
async fn provision_on_demand(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
    users: &[String],
) -> Result<OnDemand, Diagnostics> {
    let mut out = OnDemand::default();
    if users.is_empty() {
        return Ok(out);
    }
    let rule = api
        .synchronization(sp)
        .provisioning_rule(job)
        .await
        .or_diag("Cannot read the job's provisioning rule")?;
    let paced = api.with_deadline(
        api.scope()
            .deadline
            .checked_sub(ON_DEMAND_MARGIN)
            .unwrap_or_else(Instant::now),
    );
    let mut chunks = users.chunks(ON_DEMAND_CHUNK);
    for chunk in chunks.by_ref() {
        match paced
            .synchronization(sp)
            .provision_now(job, &rule, chunk)
            .await
        {
            Ok(()) => out.done.extend_from_slice(chunk),
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::Timeout | ErrorKind::Throttled | ErrorKind::Cancelled
                ) =>
            {
                out.pending.extend_from_slice(chunk);
                break;
            }
            Err(e) => return Err(diag::graph("Cannot provision the users on demand", &e).into()),
        }
    }
    for chunk in chunks {
        out.pending.extend_from_slice(chunk);
    }
    Ok(out)
}

/// Records what provisioning on demand left to do, and says so.
fn record_pending(private: &mut tfplugin::Private, diags: &mut Diagnostics, od: &OnDemand) {
    if od.pending.is_empty() {
        private.remove(ON_DEMAND_PENDING);
        return;
    }
    private.set(ON_DEMAND_PENDING, &od.pending);
    diags.warning_at(
        AttributePath::root().attr("provision_on_demand"),
        "Not every user was provisioned on demand",
        format!(
            "{} of {} users were provisioned on demand; {} remain ({}), because the apply ran out of time, Graph kept \
             throttling, or Terraform stopped it. The job's next cycle provisions them anyway, and the next plan shows \
             an update of this job that provisions them now (a longer `timeouts` value lets one apply finish).",
            od.done.len(),
            od.done.len() + od.pending.len(),
            od.pending.len(),
            od.pending.join(", ")
        ),
    );
}

/// What create and update end with: provisions `users` on demand, waits
/// until those provisioned can be read in the target, records what is
/// left, and reads the job back (`None` when it disappeared). Also returns
/// the users that did not appear in the target.
async fn provision_and_read_back(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
    users: &[String],
    private: &mut tfplugin::Private,
    diags: &mut Diagnostics,
) -> Result<(Option<Job>, Vec<String>), Diagnostics> {
    let od = provision_on_demand(api, sp, job, users).await?;
    let missing = wait_visible(api, sp, &od.done).await;
    record_pending(private, diags, &od);
    let current = api
        .synchronization(sp)
        .job(job, ReadMode::AfterWrite)
        .await
        .or_diag("Cannot read the synchronization job")?;
    Ok((current, missing))
}

/// Un-shares before the job goes: scopes it to no one (the assignments
/// belong to the share, so they are left alone), restarts it so the next
/// cycle re-evaluates everyone, and waits until a cycle that began after
/// the restart has ended and, where the provider block can read the target,
/// none of the shared users is left there.
async fn deprovision(api: &TenantApi<'_>, sp: &str, job: &Job) -> Outcome {
    let sync = api.synchronization(sp);
    let before = job.last_cycle();
    // Who is in the target because of this job, looked up while the
    // configuration still says (`None`: the target or the scope cannot be
    // read, and the completed cycle is the only sign).
    let watch = shared_in_target(api, sp).await;
    sync.scope_to_nobody(&job.id)
        .await
        .or_diag("Cannot scope the job to no one")?;
    sync.restart(&job.id)
        .await
        .or_diag("Cannot restart the job to deprovision")?;
    sync.set_enabled(&job.id, true)
        .await
        .or_diag("Cannot start the job to deprovision")?;
    let remaining = std::sync::Mutex::new(None::<Vec<String>>);
    let last = std::sync::Mutex::new(None::<Job>);
    let done = wait_until(
        api.scope(),
        Duration::from_secs(30),
        "the shared users to leave the target",
        || async {
            let Some(now) = sync.job(&job.id, ReadMode::Refresh).await? else {
                return Ok(Some(()));
            };
            let cycled = now
                .last_cycle()
                .is_some_and(|c| Some(c.clone()) != before && c.ended);
            *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
            if !cycled {
                return Ok(None);
            }
            let Some((target_api, upns)) = &watch else {
                return Ok(Some(()));
            };
            let present: Vec<String> = target_api
                .directory()
                .users()
                .await?
                .into_iter()
                .filter_map(|u| u.user_principal_name)
                .filter(|u| upns.iter().any(|p| u.starts_with(p.as_str())))
                .collect();
            let empty = present.is_empty();
            *remaining.lock().unwrap_or_else(|e| e.into_inner()) = Some(present);
            Ok(empty.then_some(()))
        },
    )
    .await;
    let Err(e) = done else {
        return Ok(());
    };
    let left = remaining.into_inner().unwrap_or_else(|e| e.into_inner());
    let last = last.into_inner().unwrap_or_else(|e| e.into_inner());
    let why = match (&left, last.as_ref().filter(|j| j.is_quarantined())) {
        (_, Some(q)) => format!(
            "The job is quarantined ({}): the target no longer accepts synchronization from this tenant. Keep the target's \
             mto_inbound_acceptance until the users are gone.",
            q.status
                .as_ref()
                .and_then(|s| s.quarantine_reason())
                .unwrap_or_default()
        ),
        (Some(left), _) => format!(
            "{} shared users are still in the target: {}.",
            left.len(),
            left.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
        ),
        (None, _) => "No cycle of the job has completed since it was restarted.".to_owned(),
    };
    Err(Diagnostic::error(
        "The shared users were not deprovisioned in time",
        format!(
            "{why} ({e})\n\nThe job is kept, scoped to no one, and keeps deprovisioning at its next cycles. To finish, run \
             the destroy (or apply) again, perhaps with a longer `delete` timeout; to delete the job and leave the users \
             where they are, set deprovision_on_destroy = false and apply before destroying."
        ),
    )
    .at(AttributePath::root().attr("deprovision_on_destroy"))
    .into())
}

/// The Graph API of the target and how the UPNs of this job's users start
/// there, when the provider block can read both: the configuration's
/// assigned users and the direct members of its assigned groups.
async fn shared_in_target<'a>(
    api: &TenantApi<'a>,
    sp: &str,
) -> Option<(TenantApi<'a>, Vec<String>)> {
    let target = api.synchronization(sp).target_tenant().await.ok()??;
    let target_api = api.other_tenant(&target).ok()?;
    let assigned = api.apps().assignments(sp).await.ok()?;
    let directory = api.directory();
    let (groups, users): (Vec<_>, Vec<_>) = assigned
        .into_iter()
        .partition(|a| a.principal_type.eq_ignore_ascii_case("Group"));
    let members = futures::future::join_all(
        groups
            .iter()
            .map(|g| directory.group_user_members(&g.principal_id)),
    )
    .await;
    let mut ids: Vec<String> = users.into_iter().map(|a| a.principal_id).collect();
    for m in members {
        ids.extend(m.ok()?);
    }
    // Concurrent reads share `$batch` round trips.
    let users = futures::future::join_all(ids.iter().map(|id| directory.user(id))).await;
    let prefixes = users
        .into_iter()
        .filter_map(|u| u.ok().flatten()?.user_principal_name)
        .map(|upn| b2b_upn_prefix(&upn))
        .collect();
    Some((target_api, prefixes))
}

fn disappeared(job: &str, when: &str) -> Diagnostic {
    Diagnostic::error(
        "The synchronization job disappeared",
        format!("Job {job} was deleted {when}."),
    )
}

/// Waits until users provisioned on demand can be read in the target, so
/// that anything read right after the apply (a `mto_users` data source, a
/// pipeline's check) sees them. Only possible when the provider block has
/// the target's credentials; otherwise it returns at once. Returns the
/// users that did not appear within [`VISIBLE_WAIT`].
async fn wait_visible(api: &TenantApi<'_>, sp: &str, users: &[String]) -> Vec<String> {
    if users.is_empty() {
        return Vec::new();
    }
    // A masked or missing CompanyId, or a target we have no credentials for.
    let Ok(Some(target)) = api.synchronization(sp).target_tenant().await else {
        return Vec::new();
    };
    if !tfplugin::validate::is_guid(&target) {
        return Vec::new();
    }
    let Ok(target_api) = api.other_tenant(&target) else {
        return Vec::new();
    };
    let target_api = target_api.with_deadline(Instant::now() + VISIBLE_WAIT);
    let mut missing = Vec::new();
    for user in users {
        let Ok(Some(upn)) = api.directory().user_principal_name(user).await else {
            continue;
        };
        let prefix = b2b_upn_prefix(&upn);
        let found = wait_until(
            target_api.scope(),
            Duration::from_secs(2),
            "the user to appear in the target",
            || async {
                Ok(target_api
                    .directory()
                    .has_user_with_upn_prefix(&prefix)
                    .await?
                    .then_some(()))
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

#[tfplugin::async_trait]
impl MtoResource for SyncJob {
    type State = SyncJobState;

    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome {
        let planned = op.state;
        let api = &op.api;
        let sync = api.synchronization(&planned.service_principal_id);
        // One Azure2Azure job per configuration: one left by an interrupted
        // apply of ours is adopted, anyone else's is refused.
        let job = sync
            .find_or_create_job()
            .await
            .or_diag("Cannot create the synchronization job")?;
        let adopted = !job.is_new();
        let job = job.into_inner();
        if adopted {
            let sp = &planned.service_principal_id;
            let ours = api
                .apps()
                .configuration(sp, ReadMode::AfterWrite)
                .await
                .or_diag("Cannot read the synchronization configuration")?
                .is_some_and(|c| c.marked);
            if !ours {
                let id = join_id(&[&planned.tenant_id, sp, &job.id]);
                return Err(Diagnostic::error(
                    "The synchronization job already exists",
                    format!(
                        "The configuration {sp} in tenant {} already has a synchronization job ({}), and this provider did \
                         not create the configuration (it has no {OWNERSHIP_TAG:?} tag). A create never takes a job over. To \
                         manage it with this resource, import it — an import block with id = \"{id}\", or terraform import \
                         <this resource's address> {id}.",
                        planned.tenant_id,
                        job.id,
                    ),
                )
                .at(AttributePath::root().attr("service_principal_id"))
                .into());
            }
        }
        // The job exists from here on: failures keep it in state.
        let mut partial = with_job(planned.clone(), &job);
        partial.status = None;
        resp.set_state(&partial);
        sync.set_user_mapping(&job.id, &planned.user_mapping())
            .await
            .or_diag("Cannot set the attribute mappings")?;
        if planned.enabled != Some(false) {
            sync.set_enabled(&job.id, true)
                .await
                .or_diag("Cannot start the synchronization job")?;
        }
        let users = planned.provision_on_demand.clone().unwrap_or_default();
        let (current, missing) = provision_and_read_back(
            api,
            &planned.service_principal_id,
            &job.id,
            &users,
            &mut resp.private,
            &mut resp.diags,
        )
        .await?;
        let current = current.ok_or_else(|| disappeared(&job.id, "while it was being set up"))?;
        resp.set_state(&applied(&planned, &current));
        warn_missing(&mut resp.diags, &missing);
        Ok(())
    }

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome {
        let state = op.state;
        let api = &op.api;
        let sync = api.synchronization(&state.service_principal_id);
        let job_id = state.job().to_owned();
        // Many jobs of one tenant in a plan: from the tenant's snapshot.
        let view = api
            .refresh()
            .configuration(&state.service_principal_id)
            .await;
        let (job, schema) = match view.as_ref().and_then(|v| v.job(&job_id)) {
            Some((job, schema)) => (Ok(Some(job.clone())), Ok(Some(schema.clone()))),
            None => {
                tokio::join!(
                    read_settled(op.ctx, op.private, |_| sync.job(&job_id, ReadMode::Refresh)),
                    sync.schema(&job_id, ReadMode::Refresh)
                )
            }
        };
        let Some(job) = job.or_diag("Cannot read the synchronization job")? else {
            resp.remove();
            return Ok(());
        };
        let schema = match schema {
            // The job showed up only after the grace wait.
            Ok(None) => sync.schema(&job_id, ReadMode::AfterWrite).await,
            other => other,
        };
        let Some(schema) = schema.or_diag("Cannot read the job's attribute mappings")? else {
            resp.remove();
            return Ok(());
        };
        let next = with_mappings(with_job(state, &job), &schema);
        if job.is_quarantined() {
            let reason = job
                .status
                .as_ref()
                .and_then(|s| s.quarantine_reason())
                .unwrap_or_else(|| "unknown".into());
            resp.diags.warning(
            format!("Synchronization job {job_id} is quarantined"),
            format!("Graph reports: {reason}. Users are not being provisioned until the cause is fixed and the job restarted (apply does it)."),
        );
        }
        resp.set_state(&next);
        Ok(())
    }

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome {
        let change = op.state;
        let (planned, prior) = (&change.planned, &change.prior);
        let api = &op.api;
        let sync = api.synchronization(&prior.service_principal_id);
        let job = prior.job();
        if planned.user_mapping() != prior.user_mapping() {
            sync.set_user_mapping(job, &planned.user_mapping())
                .await
                .or_diag("Cannot update the attribute mappings")?;
        }
        let enabled = planned.enabled != Some(false);
        let quarantined =
            prior.status.as_ref().and_then(|s| s.code.as_deref()) == Some("Quarantine");
        // `start` also lifts a quarantine.
        if enabled != (prior.enabled == Some(true)) || (enabled && quarantined) {
            sync.set_enabled(job, enabled)
                .await
                .or_diag("Cannot start or pause the job")?;
        }
        // Users new to the set, and those an earlier apply left to do.
        let before = prior.provision_on_demand.clone().unwrap_or_default();
        let pending: Vec<String> = op.private.get(ON_DEMAND_PENDING).unwrap_or_default();
        let to_do: Vec<String> = planned
            .provision_on_demand
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|u| {
                !before.iter().any(|b| b.eq_ignore_ascii_case(u))
                    || pending.iter().any(|p| p.eq_ignore_ascii_case(u))
            })
            .collect();
        let (current, missing) = provision_and_read_back(
            api,
            &prior.service_principal_id,
            job,
            &to_do,
            &mut resp.private,
            &mut resp.diags,
        )
        .await?;
        let Some(current) = current else {
            resp.state = Value::Null;
            return Err(disappeared(job, "during the update").into());
        };
        let mut next = applied(planned, &current);
        // A plan that changed only mappings kept the status as it was (see
        // `plan`); the next refresh shows what the job reports then.
        if planned.status.is_some() {
            next.status = planned.status.clone();
            next.schedule_interval = planned.schedule_interval.clone();
        }
        resp.set_state(&next);
        warn_missing(&mut resp.diags, &missing);
        Ok(())
    }

    async fn delete(&self, op: Op<'_, Self::State>, _resp: &mut DeleteResponse) -> Outcome {
        let prior = op.state;
        let job = prior.job();
        if job.is_empty() {
            return Ok(());
        }
        let api = &op.api;
        let sync = api.synchronization(&prior.service_principal_id);
        let Some(current) = sync
            .job(job, ReadMode::Refresh)
            .await
            .or_diag("Cannot read the synchronization job")?
        else {
            return Ok(());
        };
        if prior.deprovision_on_destroy != Some(false) {
            deprovision(api, &prior.service_principal_id, &current).await?;
        }
        if !sync
            .delete_job(job)
            .await
            .or_diag("Cannot delete the synchronization job")?
        {
            return Ok(());
        }
        wait_until(
            api.scope(),
            Duration::from_secs(5),
            "the job to be deleted",
            || async {
                Ok(sync
                    .job(job, ReadMode::Refresh)
                    .await?
                    .is_none()
                    .then_some(()))
            },
        )
        .await
        .or_diag("The synchronization job was not deleted")?;
        Ok(())
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_case_duplicates(config, &["provision_on_demand"], diags);
        scoping::check_filters(config, "scoping_filter", diags);
        scoping::check_filters(config, "group_scoping_filter", diags);
        scoping::check_mappings(config, diags);
        let groups = config.get("provision_groups");
        if !groups.is_unknown()
            && groups.as_bool() != Some(true)
            && config
                .get("group_scoping_filter")
                .as_slice()
                .is_some_and(|b| !b.is_empty())
        {
            diags.error_at(
                AttributePath::root().attr("group_scoping_filter"),
                "Group filter without group provisioning",
                "group_scoping_filter narrows the groups provisioned as groups; set provision_groups = true, or remove it.",
            );
        }
    }

    async fn plan(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: &ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        // A change of mappings, filters or groups alone does not start,
        // pause or provision anything: the status stays as it is, so the
        // plan shows only the change itself.
        if !req.prior.is_null()
            && !resp.planned.is_null()
            && ["enabled", "provision_on_demand"]
                .iter()
                .all(|a| resp.planned.get(a) == req.prior.get(a))
        {
            for a in ["status", "schedule_interval"] {
                if resp.planned.get(a).is_unknown() {
                    resp.planned.set(a, req.prior.get(a).clone());
                }
            }
        }
        // Users an earlier apply did not get to provision on demand: plan an
        // update that carries on with them.
        let pending: Vec<String> = resp.private.get(ON_DEMAND_PENDING).unwrap_or_default();
        let wanted = req.config.get("provision_on_demand").string_items();
        let still = pending
            .iter()
            .filter(|p| wanted.iter().any(|w| w.eq_ignore_ascii_case(p)))
            .count();
        if !req.prior.is_null() && still > 0 {
            resp.planned.set("status", Value::unknown());
            resp.diags.warning_at(
                AttributePath::root().attr("provision_on_demand"),
                "Users still to provision on demand",
                format!("An earlier apply left {still} users of provision_on_demand to do; this apply provisions them."),
            );
        }
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

    fn plan_destroy(&self, prior: &Value, diags: &mut Diagnostics) {
        if prior.get("deprovision_on_destroy").as_bool() == Some(false) {
            diags.warning(
                "Synchronized users stay",
                "deprovision_on_destroy = false: destroying this job leaves every user it provisioned in the target tenant, \
                 as a B2B member visible in its directory and People Search, until someone removes them. To remove them, \
                 set deprovision_on_destroy = true and apply before destroying.",
            );
        }
    }

    async fn import(&self, ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome {
        let shape =
            "<sharing tenant id>/<target tenant id> or <tenant id>/<service principal id>/<job id>";
        let parts = parse_import_id(id, shape, &[2, 3], &[0, 1])?;
        let tenant = parts[0].as_str();
        let api = ctx
            .client
            .tenant_api(ctx.cancel, tenant, DEFINITION.timeouts.read)?;
        let (sp, job) = match parts.as_slice() {
            [_, sp, job] => (sp.clone(), job.clone()),
            [_, target] => {
                let name = super::outbound_share::default_name(target);
                let found = api
                    .apps()
                    .find_configurations(&name)
                    .await
                    .or_diag("Cannot look for the configuration")?;
                let [config] = found.as_slice() else {
                    return Err(Diagnostic::error(
                        "Cannot find the configuration",
                        format!(
                            "{} configurations are named {name:?} in tenant {tenant}; import with \
                             <tenant id>/<service principal id>/<job id>.",
                            found.len()
                        ),
                    )
                    .into());
                };
                let sp = config.service_principal_id.clone();
                let job = api
                    .synchronization(&sp)
                    .azure2azure_job()
                    .await
                    .or_diag("Cannot look for the synchronization job")?
                    .ok_or_else(|| {
                        Diagnostic::error(
                            "Cannot find the synchronization job",
                            format!("The configuration {name:?} ({sp}) in tenant {tenant} has no synchronization job yet."),
                        )
                    })?;
                (sp, job.id)
            }
            _ => unreachable!("parse_import_id checked the number of parts"),
        };
        let attribute_mapping = imported_mappings(&api, &sp, &job).await?;
        resp.set_state(&SyncJobState {
            tenant_id: tenant.to_owned(),
            service_principal_id: sp,
            job_id: Some(job),
            // Configuration only: the default, as a new resource would have.
            deprovision_on_destroy: Some(true),
            attribute_mapping,
            ..Default::default()
        });
        Ok(())
    }
}

/// The attribute mappings an import manages: those of the job's user
/// mapping that differ from its template's schema (Microsoft's defaults),
/// apart from the targets of the `user_type` and `show_in_address_list`
/// shorthands. A job that is gone, or a template Graph does not show,
/// imports none (the read that follows reports a job that is gone).
async fn imported_mappings(
    api: &TenantApi<'_>,
    sp: &str,
    job: &str,
) -> Result<Vec<MappingBlock>, Diagnostics> {
    let sync = api.synchronization(sp);
    let Some(found) = sync
        .job(job, ReadMode::Refresh)
        .await
        .or_diag("Cannot read the synchronization job")?
    else {
        return Ok(Vec::new());
    };
    let template = found
        .template_id
        .clone()
        .unwrap_or_else(|| crate::graph::sync::AZURE2AZURE.to_owned());
    let (schema, defaults) = futures::join!(
        sync.schema(job, ReadMode::Refresh),
        sync.template_schema(&template)
    );
    let Some(schema) = schema.or_diag("Cannot read the job's schema")? else {
        return Ok(Vec::new());
    };
    let Some(defaults) = defaults.or_diag("Cannot read the job template's schema")? else {
        return Ok(Vec::new());
    };
    let mut blocks: Vec<MappingBlock> = schema
        .user_attributes_changed_from(&defaults)
        .iter()
        .map(|m| MappingBlock::from_managed(m, &m.target))
        .collect();
    blocks.sort_by(|a, b| a.target_attribute.cmp(&b.target_attribute));
    Ok(blocks)
}

// ---------------------------------------------------------------------------
// Graph ⇄ model

fn with_job(mut state: SyncJobState, job: &Job) -> SyncJobState {
    state.id = Some(join_id(&[
        &state.tenant_id,
        &state.service_principal_id,
        &job.id,
    ]));
    state.job_id = Some(job.id.clone());
    state.schedule_interval = job.schedule.as_ref().and_then(|s| s.interval.clone());
    state.enabled = Some(job.is_enabled());
    state.status = JobStatus::of(job);
    state
}

/// The state after an apply: the job as Graph has it, with the `enabled`
/// the plan asked for (the schedule may take a moment to show a start).
fn applied(planned: &SyncJobState, job: &Job) -> SyncJobState {
    let mut state = with_job(planned.clone(), job);
    state.enabled = planned.enabled;
    state
}

/// The managed settings as the schema has them (a schema without a user
/// mapping leaves the state as it is).
fn with_mappings(mut state: SyncJobState, schema: &SyncSchema) -> SyncJobState {
    if let Some(found) = schema.user_settings() {
        if !state.maps("userType") {
            state.user_type = found.user_type;
        }
        if !state.maps("showInAddressList") {
            state.show_in_address_list = found.show_in_address_list;
        }
        state.delete_out_of_scope = Some(found.delete_out_of_scope);
        state.scoping_filter = scoping::from_scope(&found.scope, &state.scoping_filter);
        state.provision_groups = Some(found.provision_groups);
        state.group_scoping_filter =
            scoping::from_scope(&found.group_scope, &state.group_scoping_filter);
        // Only the mappings this resource manages; one deleted out of band
        // drops out (the plan adds it back).
        state.attribute_mapping = state
            .attribute_mapping
            .iter()
            .filter_map(|m| {
                schema
                    .user_attribute(&m.target_attribute)
                    .map(|found| MappingBlock::from_managed(&found, &m.target_attribute))
            })
            .collect();
    }
    state
}
