//! `mto_join_request`: a tenant asks to join the organization that an owner
//! added it to.
//!
//! Graph (in the joining tenant): `PATCH .../multiTenantOrganization/joinRequest`
//! with `addedByTenantId` (204). The join completes asynchronously — up to
//! hours in Microsoft's cloud — so create waits (bounded by the create
//! timeout) until `memberState` is `active`, and reports Graph's
//! `transitionDetails` when it fails. Destroy leaves the organization
//! (`DELETE .../tenants/{own id}`), or resets a join that never completed.
//!
//! Permissions (application): `MultiTenantOrganization.ReadWrite.All`.
//! Import id: the joining tenant id.

use std::time::Duration;

use serde_json::json;
use tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, CreateResponse, Ctx, DeleteRequest,
    DeleteResponse, ImportRequest, ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest,
    ModifyPlanResponse, ObjectNesting, ReadRequest, ReadResponse, Resource, Schema, UpdateRequest,
    UpdateResponse, ValidateConfig, ValidateConfigRequest, ValidateConfigResponse, Value, timeouts,
};

use super::common::{
    TIMEOUTS, check_distinct, check_tenants, id_attribute, json_str, mark_created,
    other_tenant_attribute, req_str, require_guids, settle, tenant_api, tenant_id_attribute,
    wait_until,
};
use crate::Client;
use crate::diag;
use crate::graph::{GraphError, TenantApi, seg};

const CREATE_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
const DELETE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const MTO: &str = "/tenantRelationships/multiTenantOrganization";
const JOIN: &str = "/tenantRelationships/multiTenantOrganization/joinRequest";
const NO_TENANT: &str = "00000000-0000-0000-0000-000000000000";

pub struct JoinRequest;

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The join request of a tenant that an owner added with `mto_member_tenant`. Create waits until \
                 the tenant is an active member (Microsoft documents up to 2–4 hours; the `create` timeout \
                 bounds the wait) unless `wait_for_active` is false. Destroy leaves the organization.",
            )
            .attribute(tenant_id_attribute("that joins"))
            .attribute(other_tenant_attribute("owner_tenant_id", "The owner tenant that added this tenant (`addedByTenantId`)."))
            .attribute(
                Attribute::bool("wait_for_active")
                    .default(true)
                    .description("Wait for the join to complete (default). With `false`, apply returns as soon as the request is filed."),
            )
            .attribute(id_attribute("The joining tenant id."))
            .attribute(Attribute::string("member_state").computed().description("`pending` until the join completes, then `active`."))
            .attribute(Attribute::string("role").computed().description("The tenant's role once joined."))
            .attribute(Attribute::nested(
                "transition_details",
                ObjectNesting::Single,
                vec![
                    Attribute::string("desired_member_state").computed().description("State being moved to."),
                    Attribute::string("status").computed().description("`notStarted`, `running`, `succeeded` or `failed`."),
                    Attribute::string("details").computed().description("Why a join failed."),
                ],
            )
            .computed()
            .description("The join in progress (or failed), null once joined."))
            .block(timeouts::block(TIMEOUTS, &[
                ("create", CREATE_TIMEOUT),
                ("update", UPDATE_TIMEOUT),
                ("delete", DELETE_TIMEOUT),
            ])),
    )
}

async fn get(api: &TenantApi<'_>) -> Result<serde_json::Value, GraphError> {
    Ok(api.get(JOIN).batched().send().await?.unwrap_or_default())
}

/// Whether the record describes a live request by this owner.
fn is_request(doc: &serde_json::Value) -> bool {
    let by = doc
        .get("addedByTenantId")
        .and_then(|v| v.as_str())
        .unwrap_or(NO_TENANT);
    let state = doc.get("memberState").and_then(|v| v.as_str());
    by != NO_TENANT && matches!(state, Some("pending" | "active"))
}

fn failed(doc: &serde_json::Value) -> Option<String> {
    (doc.pointer("/transitionDetails/status")
        .and_then(|v| v.as_str())
        == Some("failed"))
    .then(|| {
        doc.pointer("/transitionDetails/details")
            .and_then(|v| v.as_str())
            .unwrap_or("no details")
            .to_owned()
    })
}

fn apply_doc(mut state: Value, doc: &serde_json::Value) -> Value {
    let tenant = req_str(&state, "tenant_id").to_owned();
    state.set("id", Value::from(tenant));
    if let Some(by) = doc.get("addedByTenantId").and_then(|v| v.as_str())
        && !by.eq_ignore_ascii_case(req_str(&state, "owner_tenant_id"))
    {
        state.set("owner_tenant_id", Value::from(by));
    }
    state.set("member_state", json_str(doc, "memberState"));
    state.set("role", json_str(doc, "role"));
    let t = doc.get("transitionDetails").filter(|t| t.is_object());
    state.set(
        "transition_details",
        t.map(|t| {
            Value::object([
                ("desired_member_state", json_str(t, "desiredMemberState")),
                ("status", json_str(t, "status")),
                ("details", json_str(t, "details")),
            ])
        })
        .unwrap_or(Value::Null),
    );
    state
}

/// Waits for the join to finish; an error carries Graph's reason.
async fn wait_active(
    api: &TenantApi<'_>,
) -> Result<serde_json::Value, (Option<serde_json::Value>, String)> {
    let _scope = api.scope().clone();
    let last = std::sync::Mutex::new(None);
    let outcome = wait_until(
        api.scope(),
        Duration::from_secs(30),
        "the join to complete",
        || {
            let last = &last;
            async move {
                let doc = get(api).await?;
                *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(doc.clone());
                if failed(&doc).is_some()
                    || doc.get("memberState").and_then(|v| v.as_str()) == Some("active")
                {
                    Ok(Some(doc))
                } else {
                    Ok(None)
                }
            }
        },
    )
    .await;
    match outcome {
        Ok(doc) => match failed(&doc) {
            Some(details) => Err((
                Some(doc),
                format!("Graph reports the join as failed: {details}"),
            )),
            None => Ok(doc),
        },
        Err(e) => Err((
            last.into_inner().unwrap_or_else(|e| e.into_inner()),
            e.to_string(),
        )),
    }
}

#[tfplugin::async_trait]
impl Resource<Client> for JoinRequest {
    fn type_name(&self) -> &'static str {
        "mto_join_request"
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
        let (tenant, owner) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "owner_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "create", CREATE_TIMEOUT),
        )) else {
            return;
        };
        // Already requested by this owner (an interrupted apply): no new request.
        let current = match get(&api).await {
            Ok(doc) => doc,
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot read the join request", &e));
                return;
            }
        };
        let same_owner = current
            .get("addedByTenantId")
            .and_then(|v| v.as_str())
            .is_some_and(|by| by.eq_ignore_ascii_case(owner));
        if !(same_owner && is_request(&current) && failed(&current).is_none())
            && let Err(e) = api
                .patch(JOIN, json!({"addedByTenantId": owner}))
                .send()
                .await
        {
            resp.diags
                .push(diag::graph("Cannot file the join request", &e));
            return;
        }
        let doc = if planned.get("wait_for_active").as_bool() != Some(false) {
            match wait_active(&api).await {
                Ok(doc) => doc,
                Err((last, why)) => {
                    let state = apply_doc(planned.clone(), &last.unwrap_or_default());
                    resp.state = state;
                    resp.diags.error(
                        format!("Tenant {tenant} did not join the organization of {owner}"),
                        format!(
                            "{why}. Check that the owner added this tenant (mto_member_tenant), that the tenant is in no other \
                             organization, and that the organization has room. The next apply files a new request."
                        ),
                    );
                    return;
                }
            }
        } else {
            match get(&api).await {
                Ok(doc) => doc,
                Err(e) => {
                    resp.state = planned.clone();
                    resp.diags
                        .push(diag::graph("Cannot read the join request", &e));
                    return;
                }
            }
        };
        resp.state = apply_doc(planned.clone(), &doc);
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let tenant = req_str(req.state, "tenant_id");
        let Some(api) = resp
            .diags
            .take_err(tenant_api(ctx, tenant, Duration::from_secs(300)))
        else {
            return;
        };
        let found = match get(&api).await {
            Ok(doc) if is_request(&doc) => Ok(doc),
            Ok(doc) => settle(ctx, req.private, || async {
                let doc = get(&api).await?;
                Ok(is_request(&doc).then_some(doc))
            })
            .await
            .map(|found| found.unwrap_or(doc)),
            Err(e) => Err(e),
        };
        match found {
            Ok(doc) if is_request(&doc) => {
                resp.state = apply_doc(req.state.clone(), &doc);
                if let Some(details) = failed(&doc) {
                    resp.diags.warning(
                        format!("The join of tenant {tenant} failed"),
                        format!(
                            "Graph reports: {details}. The next apply files a new join request."
                        ),
                    );
                }
            }
            Ok(_) => resp.remove(),
            Err(e) => resp
                .diags
                .push(diag::graph("Cannot read the join request", &e)),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        // Only wait_for_active and timeouts can change in place.
        let planned = req.planned;
        let mut state = planned.clone();
        for computed in ["id", "member_state", "role", "transition_details"] {
            if state.get(computed).is_unknown() {
                state.set(computed, req.prior.get(computed).clone());
            }
        }
        let pending = req.prior.get("member_state").as_str() != Some("active");
        if pending && planned.get("wait_for_active").as_bool() != Some(false) {
            let tenant = req_str(planned, "tenant_id");
            let Some(api) = resp.diags.take_err(tenant_api(
                ctx,
                tenant,
                timeouts::get(planned, "update", UPDATE_TIMEOUT),
            )) else {
                return;
            };
            match wait_active(&api).await {
                Ok(doc) => state = apply_doc(state, &doc),
                Err((_, why)) => {
                    resp.diags.error(
                        format!("Tenant {tenant} did not join the organization"),
                        why,
                    );
                    return;
                }
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
        let tenant = req_str(req.prior, "tenant_id");
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(req.prior, "delete", DELETE_TIMEOUT),
        )) else {
            return;
        };
        let doc = match get(&api).await {
            Ok(doc) => doc,
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot read the join request", &e));
                return;
            }
        };
        if doc.get("memberState").and_then(|v| v.as_str()) == Some("active") {
            // Leave: the tenant removes itself.
            match api
                .delete(format!("{MTO}/tenants/{}", seg(tenant)))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    resp.diags.push(diag::graph(
                        "Cannot leave the multi-tenant organization",
                        &e,
                    ));
                    return;
                }
            }
            let left = wait_until(
                api.scope(),
                Duration::from_secs(10),
                "the tenant to leave the organization",
                || async {
                    let mto = api.get(MTO).send().await?.unwrap_or_default();
                    Ok((mto.get("state").and_then(|v| v.as_str()) != Some("active")).then_some(()))
                },
            )
            .await;
            if let Err(e) = left {
                resp.diags
                    .push(diag::graph("The tenant did not leave the organization", &e));
                return;
            }
        } else if is_request(&doc) || failed(&doc).is_some() {
            // Never completed: withdraw the request.
            if let Err(e) = api
                .patch(JOIN, json!({"addedByTenantId": NO_TENANT}))
                .send()
                .await
            {
                resp.diags
                    .push(diag::graph("Cannot withdraw the join request", &e));
            }
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
impl ValidateConfig for JoinRequest {
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    ) {
        check_distinct(req.config, "tenant_id", "owner_tenant_id", &mut resp.diags);
    }
}

#[tfplugin::async_trait]
impl ModifyPlan<Client> for JoinRequest {
    async fn modify_plan(
        &self,
        ctx: &Ctx<'_, Client>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        check_tenants(ctx, req.config, &mut resp.diags, &["tenant_id"]);
        // A failed join does not retry by itself: plan a new request.
        let prior_failed =
            req.prior.get("transition_details").get("status").as_str() == Some("failed");
        if prior_failed {
            resp.planned.set("member_state", Value::unknown());
            resp.planned.set("role", Value::unknown());
            resp.planned.set("transition_details", Value::unknown());
            resp.requires_replace
                .push(AttributePath::root().attr("member_state"));
        }
    }
}

#[tfplugin::async_trait]
impl ImportState<Client> for JoinRequest {
    async fn import_state(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let id = req.id.trim();
        if let Err(diags) = require_guids(&[("the import id (the joining tenant id)", id)]) {
            resp.diags.extend(diags);
            return;
        }
        let mut state = Value::null_object(&schema().value_type());
        state.set("tenant_id", Value::from(id));
        state.set("owner_tenant_id", Value::from(NO_TENANT));
        state.set("wait_for_active", Value::Bool(true));
        resp.state = state;
    }
}
