//! `mto_organization`: the multi-tenant organization, created in its owner
//! tenant.
//!
//! Graph: `PUT /tenantRelationships/multiTenantOrganization` creates (201),
//! `PATCH` updates (204), and there is no DELETE — an MTO disappears when
//! its last tenant removes itself, which is what destroy does once the
//! other tenants are gone. Creation is asynchronous, so create waits until
//! GET reports the organization `active`.
//!
//! Permissions (application): `MultiTenantOrganization.ReadWrite.All`.
//! Import id: the owner tenant id.

use std::time::Duration;

use serde_json::json;
use tfplugin::validate::NotBlank;
use tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, CreateResponse, Ctx, DeleteRequest,
    DeleteResponse, Diagnostics, ImportRequest, ImportResponse, ImportState, ModifyPlan,
    ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResponse, Resource, Schema,
    UpdateRequest, UpdateResponse, Value, timeouts,
};

use super::common::{
    TIMEOUTS, check_tenants, id_attribute, json_str, keep_empty_equivalent, mark_created, req_str,
    require_guids, settle, tenant_api, tenant_id_attribute, wait_until,
};
use crate::Client;
use crate::diag;
use crate::graph::{ErrorKind, GraphError, Scope, TenantApi, seg};

const CREATE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const MTO: &str = "/tenantRelationships/multiTenantOrganization";

pub struct Organization;

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The multi-tenant organization (MTO), created in its owner tenant, which becomes its first \
                 (owner) member. Other tenants join with `mto_member_tenant` (in the owner) and \
                 `mto_join_request` (in the joining tenant).\n\n\
                 Destroying it removes the owner tenant from the organization, which deletes the \
                 organization; Graph allows that only when no other tenant remains, so destroy the member \
                 tenants first (Terraform does, when they reference this resource).",
            )
            .attribute(tenant_id_attribute("that owns the organization (and creates it)"))
            .attribute(
                Attribute::string("display_name")
                    .required()
                    .validator(NotBlank)
                    .description("Name of the organization, shown in every member tenant."),
            )
            .attribute(Attribute::string("description").optional().description("Free text."))
            .attribute(id_attribute("The organization's object id in the owner tenant (each tenant has its own)."))
            .attribute(
                Attribute::string("state")
                    .computed()
                    .use_state_for_unknown()
                    .description("`active` once the organization exists."),
            )
            .attribute(
                Attribute::string("created_date_time")
                    .computed()
                    .use_state_for_unknown()
                    .description("When the organization was created (RFC 3339)."),
            )
            .block(timeouts::block(TIMEOUTS, &[
                ("create", CREATE_TIMEOUT),
                ("update", UPDATE_TIMEOUT),
                ("delete", DELETE_TIMEOUT),
            ])),
    )
}

/// The organization as Graph returns it; `None` when the tenant is in none.
async fn get(api: &TenantApi<'_>) -> Result<Option<serde_json::Value>, GraphError> {
    let doc = api.get(MTO).batched().send().await?.unwrap_or_default();
    Ok((doc.get("state").and_then(|s| s.as_str()) == Some("active")).then_some(doc))
}

fn apply_doc(mut state: Value, doc: &serde_json::Value) -> Value {
    let prior_description = state.get("description").clone();
    state.set("id", json_str(doc, "id"));
    state.set("display_name", json_str(doc, "displayName"));
    state.set(
        "description",
        keep_empty_equivalent(json_str(doc, "description"), &prior_description),
    );
    state.set("state", json_str(doc, "state"));
    state.set("created_date_time", json_str(doc, "createdDateTime"));
    state
}

fn body(v: &Value) -> serde_json::Value {
    json!({
        "displayName": v.get("display_name").as_str(),
        "description": v.get("description").as_str(),
    })
}

#[tfplugin::async_trait]
impl Resource<Client> for Organization {
    fn type_name(&self) -> &'static str {
        "mto_organization"
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
        let tenant = req_str(planned, "tenant_id");
        let name = req_str(planned, "display_name");
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "create", CREATE_TIMEOUT),
        )) else {
            return;
        };
        let fail = |summary: &str, e: &GraphError| diag::graph(summary, e);

        // A tenant holds at most one organization. One with our name is most
        // likely ours from an interrupted apply: adopt it. Another name is
        // someone else's: refuse rather than take it over.
        match get(&api).await {
            Ok(Some(doc)) => {
                let existing = doc
                    .get("displayName")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                if existing != name {
                    let mut d = Diagnostics::new();
                    d.error_at(
                        AttributePath::root().attr("tenant_id"),
                        "Tenant already in a multi-tenant organization",
                        format!(
                            "Tenant {tenant} already belongs to the organization {existing:?}; a tenant can be in only one. \
                             To manage it with Terraform, import it: terraform import <address> {tenant}"
                        ),
                    );
                    resp.diags.extend(d);
                    return;
                }
                if doc
                    .get("description")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    != planned.get("description").as_str().unwrap_or_default()
                    && let Err(e) = api.patch(MTO, body(planned)).send().await
                {
                    resp.diags.push(fail(
                        "Cannot update the existing multi-tenant organization",
                        &e,
                    ));
                    return;
                }
            }
            Ok(None) => {
                let put = api.put(MTO, body(planned)).not_idempotent().send().await;
                if let Err(e) = put {
                    // A lost answer, or a create that raced us: if the
                    // organization now exists under our name, it is ours.
                    let ours = matches!(e.kind, ErrorKind::Transport | ErrorKind::Conflict)
                        && wait_until(
                            &Scope::new(ctx.cancel, Duration::from_secs(30)),
                            Duration::from_secs(5),
                            "the organization",
                            || async { Ok(get(&api).await.ok().flatten()) },
                        )
                        .await
                        .ok()
                        .and_then(|doc| {
                            doc.get("displayName")
                                .and_then(|v| v.as_str())
                                .map(|n| n == name)
                        })
                        .unwrap_or(false);
                    if !ours {
                        resp.diags
                            .push(fail("Cannot create the multi-tenant organization", &e));
                        return;
                    }
                }
            }
            Err(e) => {
                resp.diags.push(fail(
                    "Cannot read the tenant's multi-tenant organization",
                    &e,
                ));
                return;
            }
        }
        // Creation completes asynchronously.
        let doc = match wait_until(
            api.scope(),
            Duration::from_secs(10),
            "the organization to become active",
            || get(&api),
        )
        .await
        {
            Ok(doc) => doc,
            Err(e) => {
                // It exists (or will): record it so the next plan can see it.
                let mut partial = planned.clone();
                partial.set("id", Value::Null);
                partial.set("state", Value::Null);
                partial.set("created_date_time", Value::Null);
                resp.state = partial;
                resp.diags.push(diag::graph(
                    "The multi-tenant organization did not become active",
                    &e,
                ));
                return;
            }
        };
        resp.state = apply_doc(planned.clone(), &doc);
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let tenant = req_str(req.state, "tenant_id");
        let Some(api) = resp.diags.take_err(tenant_api(ctx, tenant, UPDATE_TIMEOUT)) else {
            return;
        };
        let found = match get(&api).await {
            Ok(None) => settle(ctx, req.private, || get(&api)).await,
            other => other,
        };
        match found {
            Ok(Some(doc)) => resp.state = apply_doc(req.state.clone(), &doc),
            Ok(None) => resp.remove(),
            Err(e) => resp
                .diags
                .push(diag::graph("Cannot read the multi-tenant organization", &e)),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        let planned = req.planned;
        let tenant = req_str(planned, "tenant_id");
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "update", UPDATE_TIMEOUT),
        )) else {
            return;
        };
        let changed = planned.get("display_name") != req.prior.get("display_name")
            || planned.get("description") != req.prior.get("description");
        if changed && let Err(e) = api.patch(MTO, body(planned)).send().await {
            resp.diags.push(diag::graph(
                "Cannot update the multi-tenant organization",
                &e,
            ));
            return;
        }
        let mut state = planned.clone();
        for computed in ["id", "state", "created_date_time"] {
            if state.get(computed).is_unknown() {
                state.set(computed, req.prior.get(computed).clone());
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
        let tenant = req_str(prior, "tenant_id");
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(prior, "delete", DELETE_TIMEOUT),
        )) else {
            return;
        };
        match get(&api).await {
            Ok(None) => return,
            Ok(Some(_)) => {}
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot read the multi-tenant organization", &e));
                return;
            }
        }
        let members = match api.get_all(&format!("{MTO}/tenants")).await {
            Ok(m) => m,
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot list the organization's tenants", &e));
                return;
            }
        };
        let others: Vec<String> = members
            .iter()
            .filter(|m| {
                let id = m
                    .get("tenantId")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let state = m.get("state").and_then(|v| v.as_str()).unwrap_or_default();
                let leaving = m
                    .pointer("/transitionDetails/desiredState")
                    .and_then(|v| v.as_str())
                    == Some("removed");
                // Pending tenants do not hold the organization back (Graph
                // counts active tenants only).
                !id.eq_ignore_ascii_case(tenant) && state == "active" && !leaving
            })
            .map(|m| {
                format!(
                    "{} ({}, {})",
                    m.get("tenantId")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default(),
                    m.get("displayName")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default(),
                    m.get("state").and_then(|v| v.as_str()).unwrap_or_default()
                )
            })
            .collect();
        if !others.is_empty() {
            resp.diags.error(
                "The organization still has other tenants",
                format!(
                    "Graph deletes a multi-tenant organization only when its owner is the last tenant. Remove these tenants first \
                     (destroy their mto_member_tenant and mto_join_request resources, or make this resource depend on them): {}",
                    others.join(", ")
                ),
            );
            return;
        }
        match api
            .delete(format!("{MTO}/tenants/{}", seg(tenant)))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                resp.diags.push(diag::graph(
                    "Cannot remove the owner tenant from the organization",
                    &e,
                ));
                return;
            }
        }
        // Removal is asynchronous; the organization is gone when GET says so.
        if let Err(e) = wait_until(
            api.scope(),
            Duration::from_secs(10),
            "the organization to be deleted",
            || async { Ok(get(&api).await?.is_none().then_some(())) },
        )
        .await
        {
            resp.diags.push(diag::graph(
                "The multi-tenant organization was not deleted",
                &e,
            ));
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
impl ModifyPlan<Client> for Organization {
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
impl ImportState<Client> for Organization {
    async fn import_state(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let id = req.id.trim();
        if let Err(diags) = require_guids(&[("the import id (the owner tenant id)", id)]) {
            resp.diags.extend(diags);
            return;
        }
        let mut state = Value::null_object(&schema().value_type());
        state.set("tenant_id", Value::from(id));
        resp.state = state;
    }
}
