//! `mto_policy_templates`: the two multi-tenant organization templates of a
//! tenant, which Graph applies to the partner configurations it creates
//! when tenants join.
//!
//! Graph: `/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization`
//! and `.../multiTenantOrganizationPartnerConfiguration` (GET, PATCH 204,
//! `resetToDefaultSettings` 204). They always exist; destroy resets them.
//!
//! Permissions (application): `Policy.ReadWrite.CrossTenantAccess`.
//! Import id: the tenant id.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tfplugin::validate::{Each, OneOf};
use tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, CreateResponse, Ctx, DeleteRequest,
    DeleteResponse, Diagnostics, ImportRequest, ImportResponse, ImportState, ModifyPlan,
    ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResponse, Resource, Schema, Type,
    UpdateRequest, UpdateResponse, ValidateConfig, ValidateConfigRequest, ValidateConfigResponse,
    Value, timeouts,
};

use super::common::{
    TIMEOUTS, check_tenants, id_attribute, req_str, require_guids, tenant_api, tenant_id_attribute,
};
use crate::Client;
use crate::diag;
use crate::graph::{GraphError, TenantApi};

const TIMEOUT: Duration = Duration::from_secs(5 * 60);
const SYNC_TEMPLATE: &str =
    "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization";
const PARTNER_TEMPLATE: &str =
    "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration";
const LEVELS: &[&str] = &["none", "newPartners", "existingPartners"];

pub struct PolicyTemplates;

fn default_levels() -> Value {
    Value::Set(vec![
        Value::from("newPartners"),
        Value::from("existingPartners"),
    ])
}

fn schema() -> Schema {
    let optional_bool =
        |name: &str, d: &str| Attribute::bool(name).optional().description(d.to_owned());
    Schema::new(
        Block::new()
            .description(
                "The multi-tenant organization templates of one tenant. When tenants join an organization, \
                 Graph creates partner configurations and sync policies for every new pair and applies these \
                 templates to them. An unset (null) setting leaves the partner's own value alone. Destroy \
                 resets both templates to their defaults.\n\nMicrosoft recommends configuring them before \
                 creating or joining the organization.",
            )
            .attribute(tenant_id_attribute("whose templates these are"))
            .attribute(optional_bool(
                "user_sync_inbound_allowed",
                "Allow users of the other tenants to be synchronized into this one (`userSyncInbound.isSyncAllowed` of the identity synchronization template).",
            ))
            .attribute(optional_bool(
                "inbound_auto_redeem",
                "Redeem invitations from the other tenants automatically (`automaticUserConsentSettings.inboundAllowed` of the partner template).",
            ))
            .attribute(optional_bool(
                "outbound_auto_redeem",
                "Redeem this tenant's invitations in the other tenants automatically (`automaticUserConsentSettings.outboundAllowed`).",
            ))
            .attribute(
                Attribute::new("application_level", Type::set(Type::String))
                    .default(default_levels())
                    .validator(Each(OneOf(LEVELS)))
                    .description(
                        "When the templates apply, for both templates: `newPartners` (pairs created by a join), \
                         `existingPartners` (pairs configured before), or `none` alone to turn them off. Default both.",
                    ),
            )
            .attribute(id_attribute("The tenant id."))
            .block(timeouts::block(TIMEOUTS, &[("create", TIMEOUT), ("update", TIMEOUT), ("delete", TIMEOUT)])),
    )
}

fn levels_of(doc: &serde_json::Value) -> Value {
    let raw = doc
        .get("templateApplicationLevel")
        .and_then(|v| v.as_str())
        .unwrap_or("none");
    let set: BTreeSet<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    Value::Set(set.into_iter().map(Value::from).collect())
}

fn levels_string(v: &Value) -> String {
    let mut items = v.string_items();
    // Graph's own order, for readable requests.
    items.sort_by_key(|s| LEVELS.iter().position(|l| l == s).unwrap_or(LEVELS.len()));
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(",")
    }
}

fn opt_bool(doc: &serde_json::Value, pointer: &str) -> Value {
    doc.pointer(pointer)
        .and_then(|v| v.as_bool())
        .map(Value::Bool)
        .unwrap_or(Value::Null)
}

async fn read_templates(
    api: &TenantApi<'_>,
) -> Result<(serde_json::Value, serde_json::Value), GraphError> {
    let (s, p) = tokio::join!(
        api.get(SYNC_TEMPLATE).batched().send(),
        api.get(PARTNER_TEMPLATE).batched().send()
    );
    Ok((s?.unwrap_or_default(), p?.unwrap_or_default()))
}

fn apply_docs(mut state: Value, sync: &serde_json::Value, partner: &serde_json::Value) -> Value {
    let tenant = req_str(&state, "tenant_id").to_owned();
    state.set("id", Value::from(tenant));
    state.set(
        "user_sync_inbound_allowed",
        opt_bool(sync, "/userSyncInbound/isSyncAllowed"),
    );
    state.set(
        "inbound_auto_redeem",
        opt_bool(partner, "/automaticUserConsentSettings/inboundAllowed"),
    );
    state.set(
        "outbound_auto_redeem",
        opt_bool(partner, "/automaticUserConsentSettings/outboundAllowed"),
    );
    // Both templates carry a level and the attribute sets both. When they
    // disagree, report the one that moved away from the state, so the
    // change shows as drift and apply writes both again.
    let prior = state.get("application_level").clone();
    let sync_levels = levels_of(sync);
    let partner_levels = levels_of(partner);
    let reported = if sync_levels == partner_levels || sync_levels != prior {
        sync_levels
    } else {
        partner_levels
    };
    state.set("application_level", reported);
    state
}

async fn write(api: &TenantApi<'_>, v: &Value) -> Result<(), GraphError> {
    let level = levels_string(v.get("application_level"));
    let sync = json!({
        "templateApplicationLevel": level,
        "userSyncInbound": {"isSyncAllowed": v.get("user_sync_inbound_allowed").as_bool()},
    });
    let partner = json!({
        "templateApplicationLevel": level,
        "automaticUserConsentSettings": {
            "inboundAllowed": v.get("inbound_auto_redeem").as_bool(),
            "outboundAllowed": v.get("outbound_auto_redeem").as_bool(),
        },
    });
    let (a, b) = tokio::join!(
        api.patch(SYNC_TEMPLATE, sync).send(),
        api.patch(PARTNER_TEMPLATE, partner).send()
    );
    a?;
    b?;
    Ok(())
}

impl PolicyTemplates {
    /// Writes the plan; on success `state` becomes the new state, on failure
    /// it keeps what it holds (null for a create, the prior for an update).
    async fn write_and_read(
        &self,
        ctx: &Ctx<'_, Client>,
        planned: &Value,
        op: &str,
        state: &mut Value,
        diags: &mut Diagnostics,
    ) {
        let tenant = req_str(planned, "tenant_id");
        let Some(api) =
            diags.take_err(tenant_api(ctx, tenant, timeouts::get(planned, op, TIMEOUT)))
        else {
            return;
        };
        if let Err(e) = write(&api, planned).await {
            diags.push(diag::graph("Cannot update the organization templates", &e));
            return;
        }
        // Report what was written: a read right after a PATCH may still see
        // the old values on another replica.
        let mut written = planned.clone();
        written.set("id", Value::from(tenant));
        *state = written;
    }
}

#[tfplugin::async_trait]
impl Resource<Client> for PolicyTemplates {
    fn type_name(&self) -> &'static str {
        "mto_policy_templates"
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
        self.write_and_read(ctx, req.planned, "create", &mut resp.state, &mut resp.diags)
            .await
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let tenant = req_str(req.state, "tenant_id");
        let Some(api) = resp.diags.take_err(tenant_api(ctx, tenant, TIMEOUT)) else {
            return;
        };
        match read_templates(&api).await {
            Ok((s, p)) => resp.state = apply_docs(req.state.clone(), &s, &p),
            Err(e) => resp
                .diags
                .push(diag::graph("Cannot read the organization templates", &e)),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        self.write_and_read(ctx, req.planned, "update", &mut resp.state, &mut resp.diags)
            .await
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
            timeouts::get(req.prior, "delete", TIMEOUT),
        )) else {
            return;
        };
        let (a, b) = tokio::join!(
            api.post(format!("{SYNC_TEMPLATE}/resetToDefaultSettings"), json!({}))
                .send(),
            api.post(
                format!("{PARTNER_TEMPLATE}/resetToDefaultSettings"),
                json!({})
            )
            .send()
        );
        for r in [a, b] {
            if let Err(e) = r {
                resp.diags
                    .push(diag::graph("Cannot reset the organization templates", &e));
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
impl ValidateConfig for PolicyTemplates {
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    ) {
        let (config, diags) = (req.config, &mut resp.diags);
        let levels = config.get("application_level");
        if levels.is_unknown() || levels.is_null() {
            return;
        }
        let items = levels.string_items();
        let path = AttributePath::root().attr("application_level");
        if items.is_empty() {
            diags.error_at(
                path,
                "No application level",
                "Give at least one level, or [\"none\"] to turn the templates off.",
            );
        } else if items.iter().any(|l| l == "none") && items.len() > 1 {
            diags.error_at(
                path,
                "Conflicting template levels",
                format!("\"none\" turns the templates off and cannot be combined with other levels, got {items:?}."),
            );
        }
    }
}

#[tfplugin::async_trait]
impl ModifyPlan<Client> for PolicyTemplates {
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
impl ImportState<Client> for PolicyTemplates {
    async fn import_state(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let id = req.id.trim();
        if let Err(diags) = require_guids(&[("the import id (the tenant id)", id)]) {
            resp.diags.extend(diags);
            return;
        }
        let mut state = Value::null_object(&schema().value_type());
        state.set("tenant_id", Value::from(id));
        resp.state = state;
    }
}
