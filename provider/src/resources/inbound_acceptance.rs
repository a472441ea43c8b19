//! `mto_inbound_acceptance`: a receiving tenant accepts the users another
//! tenant shares with it.
//!
//! Graph (in the receiving tenant, with `{source}` the sharing tenant):
//! the partner configuration `/policies/crossTenantAccessPolicy/partners/{source}`
//! with `automaticUserConsentSettings.inboundAllowed` (automatic redemption),
//! and its `identitySynchronization` with `userSyncInbound.isSyncAllowed`.
//! Existing objects (auto-created by an MTO join, or by hand) are adopted;
//! private state remembers what this resource created, so destroy deletes
//! only that and otherwise just turns its settings off.
//!
//! Permissions (application): `Policy.ReadWrite.CrossTenantAccess`.
//! Import id: `<receiving tenant id>/<source tenant id>`.

use std::time::Duration;

use serde_json::json;
use tfplugin::{
    Attribute, Block, CreateRequest, CreateResponse, Ctx, DeleteRequest, DeleteResponse,
    ImportRequest, ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest, ModifyPlanResponse,
    ReadRequest, ReadResponse, Resource, Schema, UpdateRequest, UpdateResponse, ValidateConfig,
    ValidateConfigRequest, ValidateConfigResponse, Value, timeouts,
};

use super::common::{
    TIMEOUTS, check_distinct, check_tenants, id_attribute, join_id, mark_created,
    other_tenant_attribute, req_str, require_guids, settle, split_id, tenant_api,
    tenant_id_attribute,
};
use super::partner::{self, Direction};
use crate::Client;
use crate::diag;
use crate::graph::{ErrorKind, GraphError, TenantApi};

const CREATE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const CREATED_PARTNER: &str = "created_partner";
const CREATED_SYNC_POLICY: &str = "created_sync_policy";

pub struct InboundAcceptance;

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "In the receiving tenant, accepts the users a source tenant shares: allows inbound user \
                 synchronization from it and redeems their invitations automatically, so they arrive as B2B \
                 members without consent prompts. Apply it before the source's `mto_outbound_share`, whose \
                 credential check needs it.\n\n\
                 Existing objects are adopted, for example the partner configuration and sync policy Graph \
                 creates when tenants join an organization. Destroy deletes what this resource created and \
                 only turns its settings off in what it adopted; users already synchronized stay (Graph \
                 leaves them too).",
            )
            .attribute(tenant_id_attribute("that receives the users"))
            .attribute(other_tenant_attribute("source_tenant_id", "The tenant whose users are accepted."))
            .attribute(
                Attribute::bool("user_sync_allowed")
                    .default(true)
                    .description("Allow the source to synchronize users into this tenant (`userSyncInbound.isSyncAllowed`). Default `true`."),
            )
            .attribute(
                Attribute::bool("auto_redeem")
                    .default(true)
                    .description("Redeem the source's invitations automatically (`automaticUserConsentSettings.inboundAllowed`). Cross-tenant synchronization needs it. Default `true`."),
            )
            .attribute(id_attribute("`<tenant_id>/<source_tenant_id>`."))
            .attribute(
                Attribute::bool("is_in_multi_tenant_organization")
                    .computed()
                    .description("Whether the two tenants are in the same multi-tenant organization."),
            )
            .block(timeouts::block(TIMEOUTS, &[
                ("create", CREATE_TIMEOUT),
                ("update", UPDATE_TIMEOUT),
                ("delete", DELETE_TIMEOUT),
            ])),
    )
}

fn apply_docs(
    mut state: Value,
    partner_doc: &serde_json::Value,
    sync: &serde_json::Value,
) -> Value {
    let tenant = req_str(&state, "tenant_id").to_owned();
    let source = req_str(&state, "source_tenant_id").to_owned();
    state.set("id", Value::from(join_id(&[&tenant, &source])));
    state.set(
        "auto_redeem",
        Value::Bool(partner::auto_redeem(partner_doc, Direction::Inbound)),
    );
    state.set(
        "user_sync_allowed",
        Value::Bool(
            sync.pointer("/userSyncInbound/isSyncAllowed")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        ),
    );
    state.set(
        "is_in_multi_tenant_organization",
        Value::Bool(
            partner_doc
                .get("isInMultiTenantOrganization")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        ),
    );
    state
}

/// Puts the sync policy in place (creating it if missing); returns whether
/// it created it.
async fn ensure_sync_policy(
    api: &TenantApi<'_>,
    source: &str,
    allowed: bool,
) -> Result<bool, GraphError> {
    let body = json!({"userSyncInbound": {"isSyncAllowed": allowed}});
    // PUT is create-only in Graph (409 when one exists, e.g. from an MTO join).
    match api
        .put(partner::sync_path(source), body.clone())
        .retry_not_found()
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind == ErrorKind::Conflict => {
            api.patch(partner::sync_path(source), body)
                .retry_not_found()
                .send()
                .await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

async fn read_back(
    api: &TenantApi<'_>,
    source: &str,
    after_write: bool,
) -> Result<Option<(serde_json::Value, serde_json::Value)>, GraphError> {
    let (p, s) = tokio::join!(
        partner::get(api, source, after_write),
        partner::get_sync(api, source, after_write)
    );
    Ok(p?.zip(s?))
}

#[tfplugin::async_trait]
impl Resource<Client> for InboundAcceptance {
    fn type_name(&self) -> &'static str {
        "mto_inbound_acceptance"
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
        let (tenant, source) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "source_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "create", CREATE_TIMEOUT),
        )) else {
            return;
        };
        let auto_redeem = planned.get("auto_redeem").as_bool().unwrap_or(true);
        let allowed = planned.get("user_sync_allowed").as_bool().unwrap_or(true);
        let _guard = ctx
            .client
            .locks
            .lock(&partner::lock_key(tenant, source))
            .await;
        partner::invalidate(&ctx.client.read_cache, tenant);
        match partner::ensure(&api, source, Direction::Inbound, auto_redeem).await {
            Ok(created) => resp.private.set(CREATED_PARTNER, created),
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot configure the partner tenant", &e));
                return;
            }
        }
        // From here on the partner exists: a failure returns a partial state
        // so the next apply adopts it instead of starting over.
        let mut partial = planned.clone();
        partial.set("id", Value::from(join_id(&[tenant, source])));
        partial.set("is_in_multi_tenant_organization", Value::Null);
        match ensure_sync_policy(&api, source, allowed).await {
            Ok(created) => resp.private.set(CREATED_SYNC_POLICY, created),
            Err(e) => {
                resp.state = partial;
                resp.diags
                    .push(diag::graph("Cannot allow inbound synchronization", &e));
                return;
            }
        }
        match read_back(&api, source, true).await {
            Ok(Some((p, s))) => resp.state = apply_docs(planned.clone(), &p, &s),
            Ok(None) => {
                resp.state = partial;
                resp.diags.error("The acceptance disappeared", "The partner configuration or its sync policy was deleted while it was being created.");
            }
            Err(e) => {
                resp.state = partial;
                resp.diags
                    .push(diag::graph("Cannot read the acceptance back", &e));
            }
        }
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let (tenant, source) = (
            req_str(req.state, "tenant_id"),
            req_str(req.state, "source_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(ctx, tenant, UPDATE_TIMEOUT)) else {
            return;
        };
        let found = match partner::refresh_get(&api, &ctx.client.read_cache, source).await {
            Ok(Some((p, Some(s)))) => Ok(Some((p, s))),
            Ok(_) => settle(ctx, req.private, || read_back(&api, source, false)).await,
            Err(e) => Err(e),
        };
        match found {
            Ok(Some((p, s))) => resp.state = apply_docs(req.state.clone(), &p, &s),
            // Either half missing: the acceptance is not in place any more.
            Ok(None) => resp.remove(),
            Err(e) => resp
                .diags
                .push(diag::graph("Cannot read the acceptance", &e)),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        let planned = req.planned;
        let (tenant, source) = (
            req_str(planned, "tenant_id"),
            req_str(planned, "source_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(planned, "update", UPDATE_TIMEOUT),
        )) else {
            return;
        };
        let _guard = ctx
            .client
            .locks
            .lock(&partner::lock_key(tenant, source))
            .await;
        partner::invalidate(&ctx.client.read_cache, tenant);
        let auto_redeem = planned.get("auto_redeem").as_bool().unwrap_or(true);
        if let Err(e) = partner::ensure(&api, source, Direction::Inbound, auto_redeem).await {
            resp.diags
                .push(diag::graph("Cannot configure the partner tenant", &e));
            return;
        }
        let allowed = planned.get("user_sync_allowed").as_bool().unwrap_or(true);
        match ensure_sync_policy(&api, source, allowed).await {
            Ok(true) => resp.private.set(CREATED_SYNC_POLICY, true),
            Ok(false) => {}
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot update inbound synchronization", &e));
                return;
            }
        }
        match read_back(&api, source, true).await {
            Ok(Some((p, s))) => resp.state = apply_docs(planned.clone(), &p, &s),
            Ok(None) => {
                resp.diags.error(
                    "The acceptance disappeared",
                    "The partner configuration or its sync policy was deleted during the update.",
                );
            }
            Err(e) => resp
                .diags
                .push(diag::graph("Cannot read the acceptance back", &e)),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DeleteRequest<'_>,
        resp: &mut DeleteResponse,
    ) {
        let (tenant, source) = (
            req_str(req.prior, "tenant_id"),
            req_str(req.prior, "source_tenant_id"),
        );
        let Some(api) = resp.diags.take_err(tenant_api(
            ctx,
            tenant,
            timeouts::get(req.prior, "delete", DELETE_TIMEOUT),
        )) else {
            return;
        };
        let created_partner = req.private.get::<bool>(CREATED_PARTNER).unwrap_or(false);
        let created_sync = req
            .private
            .get::<bool>(CREATED_SYNC_POLICY)
            .unwrap_or(false);
        let _guard = ctx
            .client
            .locks
            .lock(&partner::lock_key(tenant, source))
            .await;
        partner::invalidate(&ctx.client.read_cache, tenant);
        // The sync policy goes first: Graph refuses to delete a partner
        // configuration that still has one.
        let sync = if created_sync {
            api.delete(partner::sync_path(source))
                .send()
                .await
                .map(|_| ())
        } else {
            api.patch(
                partner::sync_path(source),
                json!({"userSyncInbound": {"isSyncAllowed": false}}),
            )
            .send()
            .await
            .map(|_| ())
        };
        match sync {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                resp.diags
                    .push(diag::graph("Cannot withdraw inbound synchronization", &e));
                return;
            }
        }
        if let Err(e) = partner::release(&api, source, Direction::Inbound, created_partner).await {
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
impl ValidateConfig for InboundAcceptance {
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    ) {
        check_distinct(req.config, "tenant_id", "source_tenant_id", &mut resp.diags);
    }
}

#[tfplugin::async_trait]
impl ModifyPlan<Client> for InboundAcceptance {
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
impl ImportState<Client> for InboundAcceptance {
    async fn import_state(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let id = req.id;
        let parts =
            match split_id(id, "<receiving tenant id>/<source tenant id>", 2).and_then(|p| {
                require_guids(&[("receiving tenant id", &p[0]), ("source tenant id", &p[1])])
                    .map(|_| p)
            }) {
                Ok(p) => p,
                Err(diags) => {
                    resp.diags.extend(diags);
                    return;
                }
            };
        let mut state = Value::null_object(&schema().value_type());
        state.set("tenant_id", Value::from(parts[0].as_str()));
        state.set("source_tenant_id", Value::from(parts[1].as_str()));
        resp.state = state;
    }
}
