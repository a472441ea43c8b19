//! `mto_member_tenant`: a tenant added to the organization by an owner.
//!
//! Graph (in the owner tenant): `POST .../multiTenantOrganization/tenants`
//! adds (201, state `pending` until the tenant's join request completes),
//! `PATCH .../tenants/{id}` changes the role (204), `DELETE` removes it
//! (204, asynchronous; destroy waits until the row is gone).
//!
//! Permissions (application): `MultiTenantOrganization.ReadWrite.All`.
//! Import id: `<owner tenant id>/<member tenant id>`.

use std::time::Duration;

use serde_json::json;
use tfplugin::validate::{NotBlank, OneOf};
use tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, CreateResponse, Ctx, DeleteRequest,
    DeleteResponse, ImportRequest, ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest,
    ModifyPlanResponse, ObjectNesting, ReadRequest, ReadResponse, Resource, Schema, UpdateRequest,
    UpdateResponse, ValidateConfig, ValidateConfigRequest, ValidateConfigResponse, Value, timeouts,
};

use super::common::{
    TIMEOUTS, check_distinct, check_tenants, id_attribute, join_id, json_str, mark_created,
    other_tenant_attribute, req_str, require_guids, settle, split_id, tenant_api,
    tenant_id_attribute, wait_until,
};
use crate::Client;
use crate::diag;
use crate::graph::{ErrorKind, GraphError, TenantApi, seg};

const CREATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const TENANTS: &str = "/tenantRelationships/multiTenantOrganization/tenants";
const ROLES: &[&str] = &["owner", "member"];

pub struct MemberTenant;

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "A tenant added to the multi-tenant organization by an owner tenant. It stays `pending` until \
                 the tenant joins with `mto_join_request`.",
            )
            .attribute(tenant_id_attribute("that owns the organization and adds the member"))
            .attribute(other_tenant_attribute("member_tenant_id", "The tenant to add."))
            .attribute(
                Attribute::string("display_name")
                    .required()
                    .validator(NotBlank)
                    .requires_replace()
                    .description("Name of the member tenant in the organization. Graph does not allow changing it."),
            )
            .attribute(
                Attribute::string("role")
                    .default("member")
                    .validator(OneOf(ROLES))
                    .description("`member` (default) or `owner`. Owners can add and remove tenants. Changes in place; while a change is being processed this shows the desired role."),
            )
            .attribute(id_attribute("`<tenant_id>/<member_tenant_id>`."))
            .attribute(Attribute::string("state").computed().description("`pending`, `active` or `removed`."))
            .attribute(Attribute::string("added_date_time").computed().use_state_for_unknown().description("When the tenant was added."))
            .attribute(Attribute::string("joined_date_time").computed().description("When the tenant joined; null until it has."))
            .attribute(Attribute::string("added_by_tenant_id").computed().use_state_for_unknown().description("The owner tenant that added it."))
            .attribute(Attribute::nested(
                "transition_details",
                ObjectNesting::Single,
                vec![
                    Attribute::string("desired_state").computed().description("State being moved to."),
                    Attribute::string("desired_role").computed().description("Role being moved to."),
                    Attribute::string("status").computed().description("`notStarted`, `running`, `succeeded` or `failed`."),
                    Attribute::string("details").computed().description("Why a transition failed."),
                ],
            )
            .computed()
            .description("A change in progress, or null."))
            .block(timeouts::block(TIMEOUTS, &[
                ("create", CREATE_TIMEOUT),
                ("update", UPDATE_TIMEOUT),
                ("delete", DELETE_TIMEOUT),
            ])),
    )
}

fn transition(doc: &serde_json::Value) -> Value {
    match doc.get("transitionDetails") {
        Some(t) if t.is_object() => Value::object([
            ("desired_state", json_str(t, "desiredState")),
            ("desired_role", json_str(t, "desiredRole")),
            ("status", json_str(t, "status")),
            ("details", json_str(t, "details")),
        ]),
        _ => Value::Null,
    }
}

fn apply_doc(mut state: Value, doc: &serde_json::Value) -> Value {
    let tenant = req_str(&state, "tenant_id").to_owned();
    let member = req_str(&state, "member_tenant_id").to_owned();
    state.set("id", Value::from(join_id(&[&tenant, &member])));
    state.set("display_name", json_str(doc, "displayName"));
    // A role change is processed asynchronously; the desired role is what
    // was applied, so report it to avoid a diff until Graph catches up.
    let desired_role = doc
        .pointer("/transitionDetails/desiredRole")
        .and_then(|v| v.as_str());
    state.set(
        "role",
        desired_role
            .map(Value::from)
            .unwrap_or_else(|| json_str(doc, "role")),
    );
    state.set("state", json_str(doc, "state"));
    state.set("added_date_time", json_str(doc, "addedDateTime"));
    state.set("joined_date_time", json_str(doc, "joinedDateTime"));
    state.set("added_by_tenant_id", json_str(doc, "addedByTenantId"));
    state.set("transition_details", transition(doc));
    state
}

/// The member row; `None` when absent or on its way out.
async fn get(api: &TenantApi<'_>, member: &str) -> Result<Option<serde_json::Value>, GraphError> {
    match api
        .get(format!("{TENANTS}/{}", seg(member)))
        .batched()
        .send()
        .await
    {
        Ok(doc) => {
            let doc = doc.unwrap_or_default();
            let leaving = doc
                .pointer("/transitionDetails/desiredState")
                .and_then(|v| v.as_str())
                == Some("removed");
            let removed = doc.get("state").and_then(|v| v.as_str()) == Some("removed");
            Ok((!leaving && !removed).then_some(doc))
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[tfplugin::async_trait]
impl Resource<Client> for MemberTenant {
    fn type_name(&self) -> &'static str {
        "mto_member_tenant"
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
        let (tenant, member) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "member_tenant_id"),
        );
        let role = planned.get("role").as_str().unwrap_or("member");
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "create", CREATE_TIMEOUT),
        )) else {
            return;
        };
        let body = json!({"tenantId": member, "displayName": planned.get("display_name").as_str(), "role": role});
        match api.post(TENANTS, body).send().await {
            Ok(_) => {}
            // Already added (by us in an interrupted apply, or by hand):
            // adopt it if it matches, patching the role if needed.
            Err(e) if matches!(e.kind, ErrorKind::BadRequest | ErrorKind::Conflict) => {
                match get(&api, member).await {
                    Ok(Some(doc)) => {
                        let name = doc
                            .get("displayName")
                            .and_then(|v| v.as_str())
                            .unwrap_or_default();
                        if name != req_str(planned, "display_name") {
                            resp.diags.push(diag::graph_at(
                                AttributePath::root().attr("display_name"),
                                format!(
                                    "Tenant {member} is already in the organization as {name:?}"
                                ),
                                &e,
                            ));
                            return;
                        }
                        if doc.get("role").and_then(|v| v.as_str()) != Some(role)
                            && let Err(e) = api
                                .patch(format!("{TENANTS}/{}", seg(member)), json!({"role": role}))
                                .send()
                                .await
                        {
                            resp.diags
                                .push(diag::graph("Cannot set the member's role", &e));
                            return;
                        }
                    }
                    Ok(None) => {
                        resp.diags
                            .push(diag::graph("Cannot add the tenant to the organization", &e));
                        return;
                    }
                    Err(e2) => {
                        resp.diags.push(diag::graph(
                            "Cannot add the tenant to the organization",
                            &e2,
                        ));
                        return;
                    }
                }
            }
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot add the tenant to the organization", &e));
                return;
            }
        }
        let read = api
            .get(format!("{TENANTS}/{}", seg(member)))
            .retry_not_found()
            .send()
            .await;
        match read {
            Ok(doc) => resp.state = apply_doc(planned.clone(), &doc.unwrap_or_default()),
            Err(e) => {
                let mut partial = planned.clone();
                partial.set("id", Value::from(join_id(&[tenant, member])));
                resp.state = partial;
                resp.diags.push(diag::graph(
                    "The tenant was added but cannot be read back",
                    &e,
                ));
            }
        }
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let (tenant, member) = (
            req_str(req.state, "tenant_id"),
            req_str(req.state, "member_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(ctx, tenant, UPDATE_TIMEOUT)) else {
            return;
        };
        let found = match get(&api, member).await {
            Ok(None) => settle(ctx, req.private, || get(&api, member)).await,
            other => other,
        };
        match found {
            Ok(Some(doc)) => resp.state = apply_doc(req.state.clone(), &doc),
            Ok(None) => resp.remove(),
            Err(e) => resp
                .diags
                .push(diag::graph("Cannot read the member tenant", &e)),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        let planned = req.planned;
        let (tenant, member) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "member_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "update", UPDATE_TIMEOUT),
        )) else {
            return;
        };
        if planned.get("role") != req.prior.get("role") {
            let role = planned.get("role").as_str().unwrap_or("member");
            if let Err(e) = api
                .patch(format!("{TENANTS}/{}", seg(member)), json!({"role": role}))
                .send()
                .await
            {
                resp.diags
                    .push(diag::graph("Cannot change the member's role", &e));
                return;
            }
        }
        match get(&api, member).await {
            Ok(Some(doc)) => {
                let mut state = apply_doc(planned.clone(), &doc);
                // The role was accepted; Graph may still be processing it.
                state.set("role", planned.get("role").clone());
                resp.state = state;
            }
            Ok(None) => {
                resp.state = Value::Null;
                resp.diags.error(
                    "Member tenant disappeared",
                    format!("Tenant {member} left the organization during the update."),
                );
            }
            Err(e) => resp
                .diags
                .push(diag::graph("Cannot read the member tenant", &e)),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DeleteRequest<'_>,
        resp: &mut DeleteResponse,
    ) {
        let (tenant, member) = (
            req_str(req.prior, "tenant_id"),
            req_str(req.prior, "member_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(req.prior, "delete", DELETE_TIMEOUT),
        )) else {
            return;
        };
        match api
            .delete(format!("{TENANTS}/{}", seg(member)))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return,
            Err(e) => {
                resp.diags.push(diag::graph(
                    "Cannot remove the tenant from the organization",
                    &e,
                ));
                return;
            }
        }
        let gone = wait_until(
            api.scope(),
            Duration::from_secs(10),
            "the tenant's removal",
            || async {
                match api.get(format!("{TENANTS}/{}", seg(member))).send().await {
                    Err(e) if e.is_not_found() => Ok(Some(())),
                    Err(e) => Err(e),
                    Ok(doc) => Ok((doc
                        .unwrap_or_default()
                        .get("state")
                        .and_then(|v| v.as_str())
                        == Some("removed"))
                    .then_some(())),
                }
            },
        )
        .await;
        if let Err(e) = gone {
            resp.diags.push(diag::graph(
                "The tenant was not removed from the organization",
                &e,
            ));
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
impl ValidateConfig for MemberTenant {
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    ) {
        check_distinct(req.config, "tenant_id", "member_tenant_id", &mut resp.diags);
    }
}

#[tfplugin::async_trait]
impl ModifyPlan<Client> for MemberTenant {
    async fn modify_plan(
        &self,
        ctx: &Ctx<'_, Client>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        check_tenants(ctx, req.config, &mut resp.diags, &["tenant_id"]);
    }
}

#[tfplugin::async_trait]
impl ImportState<Client> for MemberTenant {
    async fn import_state(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let id = req.id;
        let parts = match split_id(id, "<owner tenant id>/<member tenant id>", 2).and_then(|p| {
            require_guids(&[("owner tenant id", &p[0]), ("member tenant id", &p[1])]).map(|_| p)
        }) {
            Ok(p) => p,
            Err(diags) => {
                resp.diags.extend(diags);
                return;
            }
        };
        let mut state = Value::null_object(&schema().value_type());
        state.set("tenant_id", Value::from(parts[0].as_str()));
        state.set("member_tenant_id", Value::from(parts[1].as_str()));
        state.set("role", Value::from("member"));
        resp.state = state;
    }
}
