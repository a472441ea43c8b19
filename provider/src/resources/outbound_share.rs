//! `mto_outbound_share`: a tenant shares a set of its users with another.
//!
//! Graph (in the sharing tenant, towards the receiving tenant):
//! 1. the partner configuration for the target with outbound automatic
//!    redemption;
//! 2. the cross-tenant synchronization configuration (an application and
//!    service principal from the synchronization template), named
//!    `MTO_Sync_<target>` by default (the name the Microsoft 365 admin
//!    center uses);
//! 3. the credential check against the target (fails until the target
//!    accepts inbound, see `mto_inbound_acceptance`);
//! 4. the synchronization secrets that aim the configuration at the target;
//! 5. the shared users and groups, as app role assignments.
//!
//! Ownership: every configuration this resource instantiates gets the tag
//! [`OWNERSHIP_TAG`] on its service principal. A create that finds a
//! configuration of the same name adopts it only when it carries the tag
//! (an apply of ours was interrupted) or holds nothing (no job, no
//! assignment: an apply interrupted before the tag; the apply warns).
//! Anything else is someone's work: the plan (and, if the plan could not
//! look, the create) fails with the import id, before anything is written.
//!
//! Permissions (application): `Policy.ReadWrite.CrossTenantAccess`,
//! `Application.ReadWrite.All`, `Synchronization.ReadWrite.All`,
//! `AppRoleAssignment.ReadWrite.All`.
//! Import id: `<sharing tenant id>/<target tenant id>` (finds the
//! configuration by its default name) or
//! `<sharing tenant id>/<target tenant id>/<service principal id>`.

use std::collections::BTreeSet;

use super::prelude::*;

use crate::graph::TenantApi;
use crate::graph::apps::{AppRoleAssignment, OWNERSHIP_TAG, SyncConfiguration};
use crate::graph::partners::Direction;
use crate::graph::sync::POLICY_CHECK_FAILED;
use crate::graph::{GraphError, ReadMode};

/// Private state: this resource created the partner configuration.
const CREATED_PARTNER: &str = "created_partner";

pub struct OutboundShare;

/// The configuration name the Microsoft 365 admin center gives a share to
/// `target`.
pub fn default_name(target: &str) -> String {
    format!("MTO_Sync_{target}")
}

// ---------------------------------------------------------------------------
// Model and schema

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ShareState {
    tenant_id: String,
    target_tenant_id: String,
    configuration_name: Option<String>,
    user_ids: Option<Vec<String>>,
    group_ids: Option<Vec<String>>,
    share_all_users: Option<bool>,
    auto_redeem: Option<bool>,
    id: Option<String>,
    service_principal_id: Option<String>,
    application_object_id: Option<String>,
    application_client_id: Option<String>,
    timeouts: Option<TimeoutsBlock>,
}

impl ShareState {
    fn shares_all(&self) -> bool {
        self.share_all_users == Some(true)
    }

    /// Everyone the share assigns: users and groups.
    fn principals(&self) -> BTreeSet<String> {
        self.user_ids
            .iter()
            .chain(&self.group_ids)
            .flatten()
            .cloned()
            .collect()
    }

    fn configuration(&self) -> SyncConfiguration {
        SyncConfiguration {
            service_principal_id: self.service_principal_id.clone().unwrap_or_default(),
            application_object_id: self.application_object_id.clone().unwrap_or_default(),
            application_client_id: self.application_client_id.clone().unwrap_or_default(),
            display_name: self.configuration_name.clone().unwrap_or_default(),
            marked: false,
        }
    }
}

/// How Terraform knows `mto_outbound_share`.
pub const DEFINITION: Definition = Definition {
    type_name: "mto_outbound_share",
    schema,
    // create, read, update, delete
    timeouts: Timeouts::minutes(15, 15, 15, 10),
    identity: Identity {
        object: "the cross-tenant synchronization configuration and outbound automatic redemption",
        attributes: &["tenant_id", "target_tenant_id", "configuration_name"],
    },
    unowned_destroy: "deletes the configuration's application with its service principal, job, secrets and assignments, and turns off outbound automatic redemption unless another configuration still synchronizes to the target; the partner configuration stays. Users already synchronized stay in the target tenant unless an mto_sync_job with deprovision_on_destroy removed them first.",
    adoption: "Every configuration this provider instantiates gets the tag `terraform-provider-mto` on its service principal. A create adopts a configuration of the same name only when it has the tag (an apply of ours was interrupted) or holds nothing (no job, no assigned users; the apply warns); any other configuration is refused at plan, with its import id.",
};

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "In the sharing tenant, shares a set of users (and members of groups) with a target tenant: \
                 allows automatic redemption towards it, creates the cross-tenant synchronization \
                 configuration, checks it against the target, and assigns the shared users and groups to it. \
                 The users arrive in the target once an `mto_sync_job` runs on this configuration.\n\n\
                 The target must accept first (`mto_inbound_acceptance` in the target, with this resource \
                 depending on it): Graph's credential check fails until it does.\n\n\
                 Who is shared: this resource decides who is assigned (`user_ids`/`group_ids`, or everyone with \
                 `share_all_users`); the `scoping_filter` blocks of the share's `mto_sync_job` narrow that down \
                 (Graph keeps filters in the job's schema), and its `provision_groups` provisions the shared \
                 security groups as groups.",
            )
            .attribute(tenant_id_attribute("that shares its users"))
            .attribute(other_tenant_attribute("target_tenant_id", "The tenant that receives the users."))
            .attribute(
                Attribute::string("configuration_name")
                    .optional_computed()
                    .validator(NotBlank)
                    .description("Name of the synchronization configuration (application). Default `MTO_Sync_<target_tenant_id>`, the name the Microsoft 365 admin center recognises."),
            )
            .attribute(
                Attribute::new("user_ids", Type::set(Type::String))
                    .optional()
                    .validator(Each(Guid))
                    .description("Object ids of the users to share: internal members of this tenant. Checked at plan: an id that is not a user of this tenant, a guest or a B2B user (neither is ever synchronized), or a group fails the plan on this attribute."),
            )
            .attribute(
                Attribute::new("group_ids", Type::set(Type::String))
                    .optional()
                    .validator(Each(Guid))
                    .description("Object ids of security groups whose direct members are shared (nested groups are not followed). Checked at plan like `user_ids`: an id that is not a security group of this tenant fails the plan."),
            )
            .attribute(
                Attribute::bool("share_all_users")
                    .default(false)
                    .description(
                        "Share every internal member of this tenant (the configuration's scope \"Sync all users and groups\",                          Graph's `SyncAll` secret) instead of the users and groups assigned through `user_ids`/`group_ids`;                          give exactly one of the two. Default `false`. Guests and B2B users of this tenant are never                          synchronized either way. To share only some of everyone (a department, a country), add                          `scoping_filter` blocks to the `mto_sync_job` of this share: this resource decides who is                          assigned, the job's filters narrow it. Switching back from `true` restarts the configuration's                          job, as Microsoft requires, so users no longer in scope are soft-deleted in the target on its next cycle.",
                    ),
            )
            .attribute(
                Attribute::bool("auto_redeem")
                    .default(true)
                    .description("Redeem invitations towards the target automatically (`automaticUserConsentSettings.outboundAllowed`); synchronization needs it. Default `true`."),
            )
            .attribute(id_attribute("`<tenant_id>/<target_tenant_id>`."))
            .attribute(Attribute::string("service_principal_id").computed().use_state_for_unknown().description("Object id of the configuration's service principal (what `mto_sync_job` needs)."))
            .attribute(Attribute::string("application_object_id").computed().use_state_for_unknown().description("Object id of the configuration's application."))
            .attribute(Attribute::string("application_client_id").computed().use_state_for_unknown().description("Application (client) id of the configuration."))
            .block(DEFINITION.timeouts.block()),
    )
}

#[tfplugin::async_trait]
impl MtoResource for OutboundShare {
    type State = ShareState;

    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome {
        let planned = op.state;
        let (tenant, target) = (
            planned.tenant_id.as_str(),
            planned.target_tenant_id.as_str(),
        );
        let name = planned
            .configuration_name
            .clone()
            .unwrap_or_else(|| default_name(target));
        let api = &op.api;
        // Refused before anything is written: an administrator's
        // configuration is imported, never taken over.
        let existing = api
            .apps()
            .find_configurations(&name)
            .await
            .or_diag("Cannot look for an existing configuration")?;
        if let Some(c) = foreign_configuration(api, &existing)
            .await
            .or_diag("Cannot look into the existing configuration")?
        {
            return Err(already_exists(tenant, target, &name, &c).into());
        }
        {
            let partners = api.partners();
            let lock = partners.lock(target).await;
            let created = lock
                .ensure_auto_redeem(Direction::Outbound, planned.auto_redeem != Some(false))
                .await
                .or_diag("Cannot configure the partner tenant")?;
            resp.private.set(CREATED_PARTNER, created.is_new());
        }
        let found = api
            .apps()
            .find_or_instantiate(&name)
            .await
            .or_diag("Cannot create the synchronization configuration")?;
        let found_existing = !found.is_new();
        let found = found.into_inner();
        let config = match found.as_slice() {
            [one] => one.clone(),
            many => {
                return Err(Diagnostic::error(
                "Several configurations have this name",
                format!(
                    "{} service principals are named {name:?} in tenant {tenant}; give this share another configuration_name or delete the extras.",
                    many.len()
                ),
            )
            .at(AttributePath::root().attr("configuration_name"))
            .into());
            }
        };
        if !config.marked {
            api.apps()
                .mark(&config)
                .await
                .or_diag("Cannot tag the configuration as this provider's")?;
            if found_existing {
                resp.diags.warning(
                    "Took over an empty configuration",
                    format!(
                        "Tenant {tenant} already had a configuration named {name:?} (service principal {}) without this \
                         provider's tag, holding no job and no assigned users: what an interrupted apply leaves. It is now \
                         tagged {OWNERSHIP_TAG:?} and managed by this resource.",
                        config.service_principal_id
                    ),
                );
            }
        }
        let config = api
            .apps()
            .complete(config)
            .await
            .or_diag("Cannot read the configuration's application")?;
        // The configuration exists from here on: failures keep it in state, so
        // the next apply (or destroy) knows about it.
        let state = with_configuration(planned.clone(), &config);
        resp.set_state(&state);
        let sync = api.synchronization(&config.service_principal_id);
        sync.validate_credentials(target)
            .await
            .map_err(|e| policy_failure(&e, tenant, target))?;
        sync.save_secrets(target, planned.shares_all())
            .await
            .or_diag("Cannot save the synchronization secrets")?;
        api.apps()
            .assign_exactly(&config.service_principal_id, &planned.principals())
            .await
            .or_diag("Cannot assign the shared users and groups")?;
        Ok(())
    }

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome {
        let state = op.state;
        let api = &op.api;
        let sp = state.service_principal_id.clone().unwrap_or_default();
        // Many shares of one tenant in a plan: from the tenant's snapshot.
        let (view, partner) = tokio::join!(
            api.refresh().configuration(&sp),
            api.partners().for_refresh(&state.target_tenant_id),
        );
        let (config, assigned, sync_all) = match view {
            Some(v) => (
                Ok(Some(v.configuration.clone())),
                Ok(v.assignments.clone()),
                Ok(v.sync_all()),
            ),
            None => {
                tokio::join!(
                    read_settled(op.ctx, op.private, |_| api
                        .apps()
                        .configuration(&sp, ReadMode::Refresh)),
                    api.apps().assignments(&sp),
                    api.synchronization(&sp).sync_all(),
                )
            }
        };
        let Some(mut config) = config.or_diag("Cannot read the synchronization configuration")?
        else {
            resp.remove();
            return Ok(());
        };
        let assigned = match assigned {
            Err(e) if e.is_not_found() => {
                // The service principal showed up only after the grace wait.
                api.apps().assignments(&sp).await
            }
            other => other,
        };
        let assigned = match assigned {
            Err(e) if e.is_not_found() => {
                resp.remove();
                return Ok(());
            }
            other => other.or_diag("Cannot read the shared users")?,
        };
        let partner = partner.or_diag("Cannot read the partner configuration")?;
        config.application_object_id = state.application_object_id.clone().unwrap_or_default();
        let mut next = with_configuration(state.clone(), &config);
        next.user_ids = assigned_ids(&assigned, "User", &state.user_ids);
        next.group_ids = assigned_ids(&assigned, "Group", &state.group_ids);
        next.auto_redeem = Some(
            partner
                .as_ref()
                .is_some_and(|(p, _)| p.auto_redeem(Direction::Outbound)),
        );
        match sync_all {
            Ok(Some(all)) => next.share_all_users = Some(all),
            // No value shown (none saved yet, or masked): keep what state says.
            Ok(None) => next.share_all_users = Some(state.shares_all()),
            Err(e) if e.is_not_found() => {
                resp.remove();
                return Ok(());
            }
            Err(e) => return Err(diag::graph("Cannot read the configuration's scope", &e).into()),
        }
        resp.set_state(&next);
        Ok(())
    }

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome {
        let change = op.state;
        let (planned, prior) = (&change.planned, &change.prior);
        let target = planned.target_tenant_id.as_str();
        let api = &op.api;
        let config = prior.configuration();
        if planned.auto_redeem != prior.auto_redeem {
            let partners = api.partners();
            let lock = partners.lock(target).await;
            lock.ensure_auto_redeem(Direction::Outbound, planned.auto_redeem != Some(false))
                .await
                .or_diag("Cannot configure the partner tenant")?;
        }
        if planned.configuration_name != prior.configuration_name
            && let Some(name) = &planned.configuration_name
        {
            api.apps()
                .rename(&config, name)
                .await
                .or_diag("Cannot rename the configuration")?;
        }
        if planned.principals() != prior.principals() {
            api.apps()
                .assign_exactly(&config.service_principal_id, &planned.principals())
                .await
                .or_diag("Cannot update the shared users and groups")?;
        }
        if planned.shares_all() != prior.shares_all() {
            let sync = api.synchronization(&config.service_principal_id);
            sync.set_sync_all(planned.shares_all())
                .await
                .or_diag("Cannot change the configuration's scope")?;
            // Reference §6.7: going from "all users" to "assigned users"
            // needs a restart, so the next cycle re-evaluates everyone.
            if !planned.shares_all()
                && let Some(job) = sync
                    .azure2azure_job()
                    .await
                    .or_diag("Cannot look for the configuration's job")?
            {
                sync.restart(&job.id)
                    .await
                    .or_diag("Cannot restart the job after the scope change")?;
            }
        }
        resp.state = change.planned_with_prior();
        Ok(())
    }

    async fn delete(&self, op: Op<'_, Self::State>, _resp: &mut DeleteResponse) -> Outcome {
        let prior = op.state;
        let api = &op.api;
        if let Some(app) = prior
            .application_object_id
            .as_deref()
            .filter(|a| !a.is_empty())
        {
            // Deleting the application deletes its service principal, jobs,
            // secrets and assignments with it.
            api.apps()
                .delete_application(app)
                .await
                .or_diag("Cannot delete the synchronization configuration")?;
        }
        // Another configuration to the same target (a Guest/Member split,
        // an administrator's) still needs outbound redemption.
        let sp = prior.service_principal_id.as_deref().unwrap_or_default();
        let others = api
            .apps()
            .others_to(&prior.target_tenant_id, sp)
            .await
            .or_diag("Cannot look for other configurations to the target")?;
        if !others.is_empty() {
            return Ok(());
        }
        let created = op.private.get::<bool>(CREATED_PARTNER).unwrap_or(false);
        let partners = api.partners();
        let lock = partners.lock(&prior.target_tenant_id).await;
        lock.release(Direction::Outbound, created)
            .await
            .or_diag("Cannot turn off automatic redemption")?;
        Ok(())
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_distinct(config, "tenant_id", "target_tenant_id", diags);
        let (users, groups) = (config.get("user_ids"), config.get("group_ids"));
        if users.is_unknown() || groups.is_unknown() {
            return;
        }
        check_case_duplicates(config, &["user_ids", "group_ids"], diags);
        let count = users.as_slice().map_or(0, <[Value]>::len)
            + groups.as_slice().map_or(0, <[Value]>::len);
        let all = config.get("share_all_users");
        if all.is_unknown() {
            return;
        }
        if all.as_bool() == Some(true) {
            if count > 0 {
                let at = if users.as_slice().map_or(0, <[Value]>::len) > 0 {
                    "user_ids"
                } else {
                    "group_ids"
                };
                diags.error_at(
                    AttributePath::root().attr(at),
                    "Assigned users with share_all_users",
                    "share_all_users = true shares every internal member of the tenant, so user_ids and group_ids would \
                     have no effect. Give exactly one scope: remove user_ids and group_ids, or set share_all_users = false. \
                     To narrow everyone down, add scoping_filter blocks to the share's mto_sync_job.",
                );
            }
            return;
        }
        if count == 0 {
            diags.error_at(
                AttributePath::root().attr("user_ids"),
                "Nothing to share",
                "Give at least one user in user_ids or one group in group_ids, or share_all_users = true: cross-tenant synchronization needs at least one assigned user.",
            );
        }
    }

    async fn plan(
        &self,
        ctx: &Ctx<'_, Client>,
        req: &ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        if req.config.get("configuration_name").is_null()
            && resp.planned.get("configuration_name").is_unknown()
            && let Some(target) = req.config.get("target_tenant_id").as_str()
        {
            resp.planned
                .set("configuration_name", Value::from(default_name(target)));
        }
        check_not_foreign(ctx, req, &resp.planned, &mut resp.diags).await;
        check_principals(ctx, req, &mut resp.diags).await;
    }

    async fn import(&self, ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome {
        let shape = "<sharing tenant id>/<target tenant id>[/<service principal id>]";
        let parts = parse_import_id(id, shape, &[2, 3], &[0, 1])?;
        let (tenant, target) = (parts[0].as_str(), parts[1].as_str());
        let api = ctx
            .client
            .tenant_api(ctx.cancel, tenant, DEFINITION.timeouts.read)?;
        let config = match parts.get(2) {
            Some(sp) => api
                .apps()
                .configuration(sp, ReadMode::Refresh)
                .await
                .or_diag("Cannot find the service principal")?
                .ok_or_else(|| {
                    Diagnostic::error(
                        "Cannot find the service principal",
                        format!("Tenant {tenant} has no service principal {sp}."),
                    )
                })?,
            None => {
                let name = default_name(target);
                let mut found = api
                    .apps()
                    .find_configurations(&name)
                    .await
                    .or_diag("Cannot look for the configuration")?;
                if found.len() != 1 {
                    return Err(Diagnostic::error(
                    "Cannot find the configuration",
                    format!(
                        "{} configurations are named {name:?} in tenant {tenant}; import with {shape}.",
                        found.len()
                    ),
                )
                .into());
                }
                found.remove(0)
            }
        };
        let config = api
            .apps()
            .complete(config)
            .await
            .or_diag("Cannot read the configuration's application")?;
        resp.set_state(&with_configuration(
            ShareState {
                tenant_id: tenant.to_owned(),
                target_tenant_id: target.to_owned(),
                auto_redeem: Some(true),
                ..Default::default()
            },
            &config,
        ));
        Ok(())
    }
}

/// The first of `existing` that this provider did not make: without
/// [`OWNERSHIP_TAG`], and holding a job or assigned users.
async fn foreign_configuration(
    api: &TenantApi<'_>,
    existing: &[SyncConfiguration],
) -> Result<Option<SyncConfiguration>, GraphError> {
    for c in existing.iter().filter(|c| !c.marked) {
        if !api.apps().is_bare(c).await? {
            return Ok(Some(c.clone()));
        }
    }
    Ok(None)
}

/// The import id of a configuration: the short form when it has the
/// default name, else the one naming its service principal.
pub fn import_id_of(tenant: &str, target: &str, name: &str, sp: &str) -> String {
    if name == default_name(target) {
        format!("{tenant}/{target}")
    } else {
        format!("{tenant}/{target}/{sp}")
    }
}

fn already_exists(tenant: &str, target: &str, name: &str, c: &SyncConfiguration) -> Diagnostic {
    let id = import_id_of(tenant, target, name, &c.service_principal_id);
    Diagnostic::error(
        "The configuration already exists",
        format!(
            "Tenant {tenant} already has a synchronization configuration named {name:?} (service principal {sp}) that this \
             provider did not create: it has no {OWNERSHIP_TAG:?} tag, and it holds a job or assigned users, for example \
             from the Microsoft 365 admin center. A create never takes it over. To manage it with this resource, import \
             it — an import block with id = \"{id}\", or terraform import <this resource's address> {id}. To make a \
             separate configuration instead, give configuration_name another name.",
            sp = c.service_principal_id,
        ),
    )
    .at(AttributePath::root().attr("configuration_name"))
}

/// At plan, for a new share: the create's ownership check, so that an
/// administrator's configuration is found before anything is applied.
/// Look-ups Graph refuses are left to the create, which checks again.
async fn check_not_foreign(
    ctx: &Ctx<'_, Client>,
    req: &ModifyPlanRequest<'_>,
    planned: &Value,
    diags: &mut Diagnostics,
) {
    let (Some(tenant), Some(target), Some(name)) = (
        req.config.get("tenant_id").as_str(),
        req.config.get("target_tenant_id").as_str(),
        planned.get("configuration_name").as_str(),
    ) else {
        return;
    };
    if !req.prior.is_null() {
        return;
    }
    let Ok(api) = ctx
        .client
        .tenant_api(ctx.cancel, tenant, PRINCIPAL_CHECK_TIMEOUT)
    else {
        return; // The tenant check reports it.
    };
    let Ok(existing) = api.apps().find_configurations(name).await else {
        return;
    };
    if let Ok(Some(c)) = foreign_configuration(&api, &existing).await {
        diags.push(already_exists(tenant, target, name, &c));
    }
}

/// How long the plan-time look-up of the shared principals may take.
const PRINCIPAL_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks, at plan time, every user and group this plan adds to the share:
/// each must exist in the sharing tenant, users must be internal members
/// and groups security groups, and neither may stand in the other's list.
/// A typo then fails `terraform plan` in seconds, on the attribute, instead
/// of an apply that retries a 404 until its timeout. Principals already
/// shared are not looked up again, so a refresh of an unchanged mesh costs
/// no requests. Look-ups that Graph refuses (a missing read permission, a
/// transient failure) only warn: the apply will still find out.
async fn check_principals(
    ctx: &Ctx<'_, Client>,
    req: &ModifyPlanRequest<'_>,
    diags: &mut Diagnostics,
) {
    let (Some(tenant), Some(users), Some(groups)) = (
        req.config.get("tenant_id").as_str(),
        known_ids(req.config.get("user_ids")),
        known_ids(req.config.get("group_ids")),
    ) else {
        return;
    };
    let before: Vec<String> = ["user_ids", "group_ids"]
        .iter()
        .flat_map(|a| req.prior.get(a).string_items())
        .collect();
    let is_new = |id: &&String| !before.iter().any(|b| b.eq_ignore_ascii_case(id));
    let new_users: Vec<&String> = users.iter().filter(is_new).collect();
    let new_groups: Vec<&String> = groups.iter().filter(is_new).collect();
    if new_users.is_empty() && new_groups.is_empty() {
        return;
    }
    let Ok(api) = ctx
        .client
        .tenant_api(ctx.cancel, tenant, PRINCIPAL_CHECK_TIMEOUT)
    else {
        return; // The tenant check reports it.
    };
    let directory = api.directory();
    let user_checks = new_users.iter().map(|id| async move {
        let found = directory.user(id).await;
        let other = match &found {
            Ok(None) => directory.group(id).await.ok().flatten().is_some(),
            _ => false,
        };
        (id, found, other)
    });
    let group_checks = new_groups.iter().map(|id| async move {
        let found = directory.group(id).await;
        let other = match &found {
            Ok(None) => directory.user(id).await.ok().flatten().is_some(),
            _ => false,
        };
        (id, found, other)
    });
    let (user_results, group_results) = tokio::join!(
        futures::future::join_all(user_checks),
        futures::future::join_all(group_checks)
    );
    let users_path = AttributePath::root().attr("user_ids");
    let groups_path = AttributePath::root().attr("group_ids");
    for (id, found, is_group) in user_results {
        match found {
            Ok(Some(u)) if u.is_external() => diags.error_at(
                users_path.clone(),
                "A guest or B2B user cannot be shared",
                format!(
                    "user_ids[{id:?}] ({}) is a guest or a B2B user in tenant {tenant}. Cross-tenant synchronization only \
                     shares a tenant's internal members; guests and B2B users are never synchronized. Share this person \
                     from their home tenant.",
                    u.user_principal_name.as_deref().unwrap_or(id)
                ),
            ),
            Ok(Some(_)) => {}
            Ok(None) if is_group => diags.error_at(
                users_path.clone(),
                "A group in user_ids",
                format!("user_ids[{id:?}] is a group in tenant {tenant}: list it in group_ids."),
            ),
            Ok(None) => diags.error_at(
                users_path.clone(),
                "No such user",
                format!("user_ids[{id:?}]: tenant {tenant} has no user with this object id."),
            ),
            Err(e) => diags.push(cannot_check(&users_path, id, &e)),
        }
    }
    for (id, found, is_user) in group_results {
        match found {
            Ok(Some(g)) if g.security_enabled != Some(true) => diags.error_at(
                groups_path.clone(),
                "Not a security group",
                format!(
                    "group_ids[{id:?}] ({}) is not a security group. Only security groups (assigned or dynamic) can be \
                     shared; Microsoft 365 groups and distribution lists cannot.",
                    g.display_name.as_deref().unwrap_or(id)
                ),
            ),
            Ok(Some(_)) => {}
            Ok(None) if is_user => diags.error_at(
                groups_path.clone(),
                "A user in group_ids",
                format!("group_ids[{id:?}] is a user in tenant {tenant}: list it in user_ids."),
            ),
            Ok(None) => diags.error_at(
                groups_path.clone(),
                "No such group",
                format!("group_ids[{id:?}]: tenant {tenant} has no group with this object id."),
            ),
            Err(e) => diags.push(cannot_check(&groups_path, id, &e)),
        }
    }
}

/// The ids of a set whose every element is known; `Some(empty)` for null.
fn known_ids(v: &Value) -> Option<Vec<String>> {
    if v.is_null() {
        return Some(Vec::new());
    }
    let items = v.as_slice()?;
    items
        .iter()
        .map(|i| i.as_str().map(str::to_owned))
        .collect()
}

fn cannot_check(path: &AttributePath, id: &str, e: &crate::graph::GraphError) -> Diagnostic {
    let mut d = diag::graph(format!("Cannot check {id} before apply"), e);
    d.severity = tfplugin::diag::Severity::Warning;
    d.at(path.clone())
}

// ---------------------------------------------------------------------------
// Graph ⇄ model

fn with_configuration(mut state: ShareState, c: &SyncConfiguration) -> ShareState {
    state.id = Some(join_id(&[&state.tenant_id, &state.target_tenant_id]));
    state.service_principal_id = Some(c.service_principal_id.clone());
    if !c.application_object_id.is_empty() {
        state.application_object_id = Some(c.application_object_id.clone());
    }
    state.application_client_id = Some(c.application_client_id.clone());
    if !c.display_name.is_empty() {
        state.configuration_name = Some(c.display_name.clone());
    }
    state
}

/// The assigned principals of one type, keeping the user's spelling of ids
/// that are still assigned. Null stays null when nothing is assigned.
fn assigned_ids(
    assigned: &[AppRoleAssignment],
    principal_type: &str,
    prior: &Option<Vec<String>>,
) -> Option<Vec<String>> {
    let spelled: Vec<String> = assigned
        .iter()
        .filter(|a| a.principal_type.eq_ignore_ascii_case(principal_type))
        .map(|a| {
            prior
                .iter()
                .flatten()
                .find(|p| p.eq_ignore_ascii_case(&a.principal_id))
                .cloned()
                .unwrap_or_else(|| a.principal_id.clone())
        })
        .collect();
    if spelled.is_empty() && prior.is_none() {
        None
    } else {
        Some(spelled)
    }
}

fn policy_failure(e: &GraphError, tenant: &str, target: &str) -> Diagnostics {
    let mut d = diag::graph(
        format!("Tenant {target} does not accept synchronization from {tenant} yet"),
        e,
    );
    if e.code == POLICY_CHECK_FAILED {
        d.detail.push_str(&format!(
            "\n\nThe target must allow inbound synchronization and automatic redemption from this tenant: declare \
             mto_inbound_acceptance {{ tenant_id = \"{target}\", source_tenant_id = \"{tenant}\" }} and make this share depend on it."
        ));
    }
    d.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_matches_the_admin_center() {
        assert_eq!(default_name("b"), "MTO_Sync_b");
    }

    #[test]
    fn assigned_ids_keep_the_users_spelling() {
        let a = |id: &str, t: &str| AppRoleAssignment {
            id: format!("x-{id}"),
            principal_id: id.into(),
            principal_type: t.into(),
        };
        let assigned = [a("abc", "User"), a("def", "Group"), a("0f0", "User")];
        let prior = Some(vec!["ABC".to_owned()]);
        assert_eq!(
            assigned_ids(&assigned, "User", &prior),
            Some(vec!["ABC".to_owned(), "0f0".to_owned()])
        );
        assert_eq!(assigned_ids(&[], "Group", &None), None);
        assert_eq!(assigned_ids(&[], "Group", &Some(vec![])), Some(vec![]));
    }
}
