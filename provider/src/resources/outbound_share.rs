//! `mto_outbound_share`: a tenant shares a set of its users with another.
//!
//! Graph (in the sharing tenant, with `{target}` the receiving tenant):
//! 1. the partner configuration for the target with
//!    `automaticUserConsentSettings.outboundAllowed` (automatic redemption);
//! 2. the cross-tenant synchronization configuration: an application and
//!    service principal instantiated from template
//!    `518e5f48-1fc8-4c48-9387-9fdf28b0dfe7`, named `MTO_Sync_<target>` by
//!    default (the name the Microsoft 365 admin center uses);
//! 3. `validateCredentials` against the target (fails until the target
//!    accepts inbound, see `mto_inbound_acceptance`);
//! 4. the synchronization secrets `CompanyId` = target and
//!    `AuthenticationType` = `SyncPolicy`;
//! 5. the shared users and groups, as app role assignments of the
//!    configuration's `msiam_access` role.
//!
//! An existing configuration with the same name is adopted (an apply that
//! was interrupted after instantiating it finds it again).
//!
//! Permissions (application): `Policy.ReadWrite.CrossTenantAccess`,
//! `Application.ReadWrite.All`, `Synchronization.ReadWrite.All`,
//! `AppRoleAssignment.ReadWrite.All`.
//! Import id: `<sharing tenant id>/<target tenant id>` (finds the
//! configuration by its default name) or
//! `<sharing tenant id>/<target tenant id>/<service principal id>`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tfplugin::validate::{Each, Guid, NotBlank};
use tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, CreateResponse, Ctx, DeleteRequest,
    DeleteResponse, Diagnostics, ImportRequest, ImportResponse, ImportState, ModifyPlan,
    ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResponse, Resource, Schema, Type,
    UpdateRequest, UpdateResponse, ValidateConfig, ValidateConfigRequest, ValidateConfigResponse,
    Value, timeouts,
};

use super::common::{
    TIMEOUTS, check_distinct, check_tenants, id_attribute, join_id, mark_created,
    other_tenant_attribute, req_str, require_guids, settle, split_id, tenant_api,
    tenant_id_attribute,
};
use super::partner::{self, Direction};
use crate::Client;
use crate::diag;
use crate::graph::{ErrorKind, GraphError, TenantApi, odata_str, q, seg};

const CREATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// The cross-tenant synchronization configuration application template.
pub const CTS_TEMPLATE_ID: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";
/// The error code of validateCredentials when a tenant's policies do not
/// allow synchronization yet.
const POLICY_CHECK_FAILED: &str = "AzureDirectoryB2BManagementPolicyCheckFailure";
const CREATED_PARTNER: &str = "created_partner";

pub struct OutboundShare;

pub fn default_name(target: &str) -> String {
    format!("MTO_Sync_{target}")
}

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "In the sharing tenant, shares a set of users (and members of groups) with a target tenant: \
                 allows automatic redemption towards it, creates the cross-tenant synchronization \
                 configuration, checks it against the target, and assigns the shared users and groups to it. \
                 The users arrive in the target once an `mto_sync_job` runs on this configuration.\n\n\
                 The target must accept first (`mto_inbound_acceptance` in the target, with this resource \
                 depending on it): Graph's credential check fails until it does.",
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
                    .description("Object ids of the users to share (internal members of this tenant)."),
            )
            .attribute(
                Attribute::new("group_ids", Type::set(Type::String))
                    .optional()
                    .validator(Each(Guid))
                    .description("Object ids of groups whose direct members are shared."),
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
            .block(timeouts::block(TIMEOUTS, &[
                ("create", CREATE_TIMEOUT),
                ("update", UPDATE_TIMEOUT),
                ("delete", DELETE_TIMEOUT),
            ])),
    )
}

/// The configuration's objects.
#[derive(Clone, Debug, Default)]
struct Configuration {
    sp_id: String,
    app_object_id: String,
    app_client_id: String,
    name: String,
}

fn sp_to_configuration(sp: &serde_json::Value) -> Configuration {
    let s = |k: &str| {
        sp.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Configuration {
        sp_id: s("id"),
        app_object_id: String::new(),
        app_client_id: s("appId"),
        name: s("displayName"),
    }
}

async fn application_object_id(api: &TenantApi<'_>, client_id: &str) -> Result<String, GraphError> {
    let apps = api
        .get_all(&format!(
            "/applications?$filter={}",
            q(&format!("appId eq {}", odata_str(client_id)))
        ))
        .await?;
    Ok(apps
        .first()
        .and_then(|a| a.get("id"))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned())
}

/// Finds configurations by name (template-made ones only).
async fn find_by_name(api: &TenantApi<'_>, name: &str) -> Result<Vec<Configuration>, GraphError> {
    let sps = api
        .get_all(&format!(
            "/servicePrincipals?$filter={}",
            q(&format!("displayName eq {}", odata_str(name)))
        ))
        .await?;
    Ok(sps
        .iter()
        .filter(|sp| {
            sp.get("applicationTemplateId")
                .and_then(|v| v.as_str())
                .is_none_or(|t| t.eq_ignore_ascii_case(CTS_TEMPLATE_ID))
        })
        .map(sp_to_configuration)
        .collect())
}

/// The configurations named `name`, instantiating one if there is none.
/// When the answer to an instantiate request is lost, it looks again before
/// trying again, so a lost answer does not leave two configurations.
async fn find_or_instantiate(
    api: &TenantApi<'_>,
    name: &str,
) -> Result<Vec<Configuration>, GraphError> {
    let mut lost = 0;
    loop {
        let found = find_by_name(api, name).await?;
        if !found.is_empty() {
            return Ok(found);
        }
        match instantiate(api, name).await {
            Ok(c) => return Ok(vec![c]),
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

async fn instantiate(api: &TenantApi<'_>, name: &str) -> Result<Configuration, GraphError> {
    let out = api
        .post(
            format!("/applicationTemplates/{CTS_TEMPLATE_ID}/instantiate"),
            json!({"displayName": name}),
        )
        .not_idempotent()
        .send()
        .await?
        .unwrap_or_default();
    let s = |p: &str| {
        out.pointer(p)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Configuration {
        sp_id: s("/servicePrincipal/id"),
        app_object_id: s("/application/id"),
        app_client_id: s("/application/appId"),
        name: name.to_owned(),
    })
}

/// The id of the `msiam_access` app role that assignments use.
async fn app_role_id(api: &TenantApi<'_>, sp_id: &str) -> Result<String, GraphError> {
    let sp = api
        .get(format!("/servicePrincipals/{}", seg(sp_id)))
        .retry_not_found()
        .send()
        .await?
        .unwrap_or_default();
    let roles = sp
        .get("appRoles")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    let role = roles
        .iter()
        .find(|r| {
            r.get("value").and_then(|v| v.as_str()) == Some("msiam_access")
                || r.get("displayName").and_then(|v| v.as_str()) == Some("msiam_access")
        })
        .or_else(|| roles.first());
    Ok(role
        .and_then(|r| r.get("id"))
        .and_then(|v| v.as_str())
        .unwrap_or("00000000-0000-0000-0000-000000000000")
        .to_owned())
}

/// Current assignments: (principal id, principal type, assignment id).
async fn assignments(
    api: &TenantApi<'_>,
    sp_id: &str,
) -> Result<Vec<(String, String, String)>, GraphError> {
    let items = api
        .get_all(&format!(
            "/servicePrincipals/{}/appRoleAssignedTo",
            seg(sp_id)
        ))
        .await?;
    Ok(items
        .iter()
        .map(|a| {
            let s = |k: &str| {
                a.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            (s("principalId"), s("principalType"), s("id"))
        })
        .collect())
}

/// Makes the assignments match the planned users and groups.
async fn sync_assignments(
    api: &TenantApi<'_>,
    sp_id: &str,
    planned: &Value,
) -> Result<(), GraphError> {
    let want: BTreeSet<String> = planned
        .get("user_ids")
        .string_items()
        .into_iter()
        .chain(planned.get("group_ids").string_items())
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let have = assignments(api, sp_id).await?;
    let have_ids: BTreeSet<String> = have
        .iter()
        .map(|(p, _, _)| p.to_ascii_lowercase())
        .collect();
    for (principal, _, assignment) in &have {
        if !want.contains(&principal.to_ascii_lowercase()) {
            match api
                .delete(format!(
                    "/servicePrincipals/{}/appRoleAssignedTo/{}",
                    seg(sp_id),
                    seg(assignment)
                ))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
    }
    let role = app_role_id(api, sp_id).await?;
    for principal in want.difference(&have_ids) {
        let body = json!({"principalId": principal, "resourceId": sp_id, "appRoleId": role});
        match api
            .post(
                format!("/servicePrincipals/{}/appRoleAssignedTo", seg(sp_id)),
                body,
            )
            .retry_not_found()
            .send()
            .await
        {
            Ok(_) => {}
            // Already assigned (a concurrent or interrupted apply).
            Err(e) if e.kind == ErrorKind::Conflict => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn credentials(target: &str) -> serde_json::Value {
    json!([
        {"key": "CompanyId", "value": target},
        {"key": "AuthenticationType", "value": "SyncPolicy"},
    ])
}

/// Graph's check that both tenants' policies allow synchronization. Right
/// after the target accepted, the check may still see the old policy, so a
/// policy failure is retried for a short while before it is reported.
async fn validate_credentials(
    api: &TenantApi<'_>,
    sp_id: &str,
    target: &str,
) -> Result<(), GraphError> {
    let body = json!({"useSavedCredentials": false, "templateId": "Azure2Azure", "credentials": credentials(target)});
    api.post(
        format!(
            "/servicePrincipals/{}/synchronization/jobs/validateCredentials",
            seg(sp_id)
        ),
        body,
    )
    .retry_not_found()
    .retry_if(|e| e.code == POLICY_CHECK_FAILED || e.kind == ErrorKind::Forbidden)
    .deadline(std::time::Instant::now() + Duration::from_secs(60))
    .send()
    .await
    .map(|_| ())
}

async fn save_secrets(api: &TenantApi<'_>, sp_id: &str, target: &str) -> Result<(), GraphError> {
    let body = json!({"value": [
        {"key": "AuthenticationType", "value": "SyncPolicy"},
        {"key": "CompanyId", "value": target},
        {"key": "SyncAll", "value": "false"},
    ]});
    api.put(
        format!("/servicePrincipals/{}/synchronization/secrets", seg(sp_id)),
        body,
    )
    .retry_not_found()
    .retry_if(|e| matches!(e.kind, ErrorKind::Forbidden | ErrorKind::Conflict))
    .send()
    .await
    .map(|_| ())
}

fn apply_configuration(mut state: Value, c: &Configuration) -> Value {
    let tenant = req_str(&state, "tenant_id").to_owned();
    let target = req_str(&state, "target_tenant_id").to_owned();
    state.set("id", Value::from(join_id(&[&tenant, &target])));
    state.set("service_principal_id", Value::from(c.sp_id.as_str()));
    if !c.app_object_id.is_empty() {
        state.set(
            "application_object_id",
            Value::from(c.app_object_id.as_str()),
        );
    }
    state.set(
        "application_client_id",
        Value::from(c.app_client_id.as_str()),
    );
    if !c.name.is_empty() {
        state.set("configuration_name", Value::from(c.name.as_str()));
    }
    state
}

fn policy_failure_diag(e: &GraphError, tenant: &str, target: &str) -> Diagnostics {
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

#[tfplugin::async_trait]
impl Resource<Client> for OutboundShare {
    fn type_name(&self) -> &'static str {
        "mto_outbound_share"
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
        let (tenant, target) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "target_tenant_id"),
        );
        let name = planned
            .get("configuration_name")
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| default_name(target));
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "create", CREATE_TIMEOUT),
        )) else {
            return;
        };
        {
            let _guard = ctx
                .client
                .locks
                .lock(&partner::lock_key(tenant, target))
                .await;
            partner::invalidate(&ctx.client.read_cache, tenant);
            let auto_redeem = planned.get("auto_redeem").as_bool().unwrap_or(true);
            match partner::ensure(&api, target, Direction::Outbound, auto_redeem).await {
                Ok(created) => resp.private.set(CREATED_PARTNER, created),
                Err(e) => {
                    resp.diags
                        .push(diag::graph("Cannot configure the partner tenant", &e));
                    return;
                }
            }
        }
        let existing = match find_or_instantiate(&api, &name).await {
            Ok(found) => found,
            Err(e) => {
                resp.diags.push(diag::graph(
                    "Cannot create the synchronization configuration",
                    &e,
                ));
                return;
            }
        };
        let mut config = match existing.as_slice() {
            [one] => one.clone(),
            [] => unreachable!("find_or_instantiate returns at least one configuration"),
            many => {
                resp.diags.error_at(
                    AttributePath::root().attr("configuration_name"),
                    "Several configurations have this name",
                    format!(
                        "{} service principals are named {name:?} in tenant {tenant}; give this share another configuration_name or delete the extras.",
                        many.len()
                    ),
                );
                return;
            }
        };
        if config.app_object_id.is_empty() {
            match application_object_id(&api, &config.app_client_id).await {
                Ok(id) => config.app_object_id = id,
                Err(e) => {
                    resp.diags.push(diag::graph(
                        "Cannot read the configuration's application",
                        &e,
                    ));
                    return;
                }
            }
        }
        // The configuration exists from here on: failures return it, so the
        // next apply (or destroy) knows about it.
        let partial = apply_configuration(planned.clone(), &config);
        resp.state = partial;
        if let Err(e) = validate_credentials(&api, &config.sp_id, target).await {
            resp.diags.extend(policy_failure_diag(&e, tenant, target));
            return;
        }
        if let Err(e) = save_secrets(&api, &config.sp_id, target).await {
            resp.diags
                .push(diag::graph("Cannot save the synchronization secrets", &e));
            return;
        }
        if let Err(e) = sync_assignments(&api, &config.sp_id, planned).await {
            resp.diags
                .push(diag::graph("Cannot assign the shared users and groups", &e));
        }
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let state = req.state;
        let (tenant, target) = (
            req_str(state, "tenant_id"),
            req_str(state, "target_tenant_id"),
        );
        let sp_id = req_str(state, "service_principal_id");
        let Some(api) = resp.diags.take_err(tenant_api(ctx, tenant, UPDATE_TIMEOUT)) else {
            return;
        };
        let sp_call = api
            .get(format!("/servicePrincipals/{}", seg(sp_id)))
            .batched();
        let assignments_call = assignments(&api, sp_id);
        let partner_call = async {
            partner::refresh_get(&api, &ctx.client.read_cache, target)
                .await
                .map(|found| found.map(|(doc, _)| doc))
        };
        let (sp, mut assigned, partner_doc) =
            tokio::join!(sp_call.send(), assignments_call, partner_call);
        let sp = match sp {
            Ok(sp) => sp.unwrap_or_default(),
            Err(e) if e.is_not_found() => {
                let sp_path = format!("/servicePrincipals/{}", seg(sp_id));
                let again = settle(ctx, req.private, || async {
                    match api.get(sp_path.clone()).send().await {
                        Ok(v) => Ok(Some(v.unwrap_or_default())),
                        Err(e) if e.is_not_found() => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .await;
                match again {
                    Ok(Some(sp)) => {
                        assigned = assignments(&api, sp_id).await;
                        sp
                    }
                    Ok(None) => return resp.remove(),
                    Err(e) => {
                        resp.diags.push(diag::graph(
                            "Cannot read the synchronization configuration",
                            &e,
                        ));
                        return;
                    }
                }
            }
            Err(e) => {
                resp.diags.push(diag::graph(
                    "Cannot read the synchronization configuration",
                    &e,
                ));
                return;
            }
        };
        let assigned = match assigned {
            Ok(a) => a,
            Err(e) if e.is_not_found() => return resp.remove(),
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot read the shared users", &e));
                return;
            }
        };
        let partner_doc = match partner_doc {
            Ok(p) => p,
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot read the partner configuration", &e));
                return;
            }
        };
        let mut c = sp_to_configuration(&sp);
        c.app_object_id = req_str(state, "application_object_id").to_owned();
        let mut next = apply_configuration(state.clone(), &c);
        // Keep the user's spelling of ids that are still assigned.
        let keep = |attr: &str, kind: &str| {
            let prior: Vec<String> = state.get(attr).string_items();
            let mut items: Vec<Value> = Vec::new();
            for (principal, ptype, _) in &assigned {
                if !ptype.eq_ignore_ascii_case(kind) {
                    continue;
                }
                let spelled = prior
                    .iter()
                    .find(|p| p.eq_ignore_ascii_case(principal))
                    .cloned()
                    .unwrap_or_else(|| principal.clone());
                items.push(Value::from(spelled));
            }
            if items.is_empty() && state.get(attr).is_null() {
                Value::Null
            } else {
                Value::Set(items)
            }
        };
        next.set("user_ids", keep("user_ids", "User"));
        next.set("group_ids", keep("group_ids", "Group"));
        next.set(
            "auto_redeem",
            Value::Bool(
                partner_doc
                    .as_ref()
                    .is_some_and(|p| partner::auto_redeem(p, Direction::Outbound)),
            ),
        );
        resp.state = next;
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        let (planned, prior) = (req.planned, req.prior);
        let (tenant, target) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "target_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "update", UPDATE_TIMEOUT),
        )) else {
            return;
        };
        let sp_id = req_str(prior, "service_principal_id").to_owned();
        let app_id = req_str(prior, "application_object_id").to_owned();
        if planned.get("auto_redeem") != prior.get("auto_redeem") {
            let _guard = ctx
                .client
                .locks
                .lock(&partner::lock_key(tenant, target))
                .await;
            partner::invalidate(&ctx.client.read_cache, tenant);
            let value = planned.get("auto_redeem").as_bool().unwrap_or(true);
            if let Err(e) = partner::ensure(&api, target, Direction::Outbound, value).await {
                resp.diags
                    .push(diag::graph("Cannot configure the partner tenant", &e));
                return;
            }
        }
        if planned.get("configuration_name") != prior.get("configuration_name")
            && let Some(name) = planned.get("configuration_name").as_str()
        {
            let body = json!({"displayName": name});
            let renamed = async {
                api.patch(format!("/applications/{}", seg(&app_id)), body.clone())
                    .send()
                    .await?;
                api.patch(format!("/servicePrincipals/{}", seg(&sp_id)), body)
                    .send()
                    .await
            };
            if let Err(e) = renamed.await {
                resp.diags
                    .push(diag::graph("Cannot rename the configuration", &e));
                return;
            }
        }
        if (planned.get("user_ids") != prior.get("user_ids")
            || planned.get("group_ids") != prior.get("group_ids"))
            && let Err(e) = sync_assignments(&api, &sp_id, planned).await
        {
            resp.diags
                .push(diag::graph("Cannot update the shared users and groups", &e));
            return;
        }
        let mut state = planned.clone();
        for computed in [
            "id",
            "service_principal_id",
            "application_object_id",
            "application_client_id",
        ] {
            if state.get(computed).is_unknown() {
                state.set(computed, prior.get(computed).clone());
            }
        }
        resp.state = state;
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DeleteRequest<'_>,
        resp: &mut DeleteResponse,
    ) {
        let prior = req.prior;
        let (tenant, target) = (
            req_str(prior, "tenant_id"),
            req_str(prior, "target_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(prior, "delete", DELETE_TIMEOUT),
        )) else {
            return;
        };
        let app_id = req_str(prior, "application_object_id");
        if !app_id.is_empty() {
            // Deleting the application deletes its service principal, jobs,
            // secrets and assignments with it.
            match api
                .delete(format!("/applications/{}", seg(app_id)))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    resp.diags.push(diag::graph(
                        "Cannot delete the synchronization configuration",
                        &e,
                    ));
                    return;
                }
            }
        }
        let _guard = ctx
            .client
            .locks
            .lock(&partner::lock_key(tenant, target))
            .await;
        partner::invalidate(&ctx.client.read_cache, tenant);
        let created = req.private.get::<bool>(CREATED_PARTNER).unwrap_or(false);
        if let Err(e) = partner::release(&api, target, Direction::Outbound, created).await {
            resp.diags
                .push(diag::graph("Cannot turn off automatic redemption", &e));
        }
    }

    fn config_validator(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }

    fn plan_modifier(&self) -> Option<&dyn ModifyPlan<Client>> {
        Some(self)
    }

    fn importer(&self) -> Option<&dyn ImportState<Client>> {
        Some(self)
    }
}

#[tfplugin::async_trait]
impl ValidateConfig for OutboundShare {
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    ) {
        let (config, diags) = (req.config, &mut resp.diags);
        check_distinct(config, "tenant_id", "target_tenant_id", diags);
        let (users, groups) = (config.get("user_ids"), config.get("group_ids"));
        if users.is_unknown() || groups.is_unknown() {
            return;
        }
        let count = users.as_slice().map_or(0, <[Value]>::len)
            + groups.as_slice().map_or(0, <[Value]>::len);
        if count == 0 {
            diags.error_at(
                AttributePath::root().attr("user_ids"),
                "Nothing to share",
                "Give at least one user in user_ids or one group in group_ids: cross-tenant synchronization needs at least one assigned user.",
            );
        }
    }
}

#[tfplugin::async_trait]
impl ModifyPlan<Client> for OutboundShare {
    async fn modify_plan(
        &self,
        ctx: &Ctx<'_, Client>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        check_tenants(ctx, req.config, &mut resp.diags, &["tenant_id"]);
        if req.config.get("configuration_name").is_null()
            && resp.planned.get("configuration_name").is_unknown()
            && let Some(target) = req.config.get("target_tenant_id").as_str()
        {
            resp.planned
                .set("configuration_name", Value::from(default_name(target)));
        }
    }
}

#[tfplugin::async_trait]
impl ImportState<Client> for OutboundShare {
    async fn import_state(
        &self,
        ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let id = req.id;
        let mut fail = |diags: Diagnostics| resp.diags.extend(diags);
        let parts: Vec<String> = id.split('/').map(|s| s.trim().to_owned()).collect();
        let shape = "<sharing tenant id>/<target tenant id>[/<service principal id>]";
        let parts = match parts.len() {
            2 | 3 => parts,
            _ => return fail(split_id(id, shape, 2).err().unwrap_or_default()),
        };
        if let Err(d) = require_guids(&[
            ("sharing tenant id", &parts[0]),
            ("target tenant id", &parts[1]),
        ]) {
            return fail(d);
        }
        let (tenant, target) = (parts[0].as_str(), parts[1].as_str());
        let api = match tenant_api(ctx, tenant, UPDATE_TIMEOUT) {
            Ok(a) => a,
            Err(d) => return fail(d),
        };
        let config = if let Some(sp) = parts.get(2) {
            match api
                .get(format!("/servicePrincipals/{}", seg(sp)))
                .send()
                .await
            {
                Ok(doc) => sp_to_configuration(&doc.unwrap_or_default()),
                Err(e) => return fail(diag::graph("Cannot find the service principal", &e).into()),
            }
        } else {
            match find_by_name(&api, &default_name(target)).await {
                Ok(found) if found.len() == 1 => found[0].clone(),
                Ok(found) => {
                    let mut d = Diagnostics::new();
                    d.error(
                        "Cannot find the configuration",
                        format!(
                            "{} configurations are named {:?} in tenant {tenant}; import with {shape}.",
                            found.len(),
                            default_name(target)
                        ),
                    );
                    return fail(d);
                }
                Err(e) => return fail(diag::graph("Cannot look for the configuration", &e).into()),
            }
        };
        let mut config = config;
        match application_object_id(&api, &config.app_client_id).await {
            Ok(a) => config.app_object_id = a,
            Err(e) => {
                return fail(diag::graph("Cannot read the configuration's application", &e).into());
            }
        }
        let mut state = Value::null_object(&schema().value_type());
        state.set("tenant_id", Value::from(tenant));
        state.set("target_tenant_id", Value::from(target));
        state.set("auto_redeem", Value::Bool(true));
        let state = apply_configuration(state, &config);
        resp.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_matches_the_admin_center() {
        assert_eq!(default_name("b"), "MTO_Sync_b");
    }
}
