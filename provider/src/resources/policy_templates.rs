//! `mto_policy_templates`: the two multi-tenant organization templates of a
//! tenant, which Graph applies to the partner configurations it creates
//! when tenants join. They always exist; destroy resets them.
//!
//! Permissions (application): `Policy.ReadWrite.CrossTenantAccess`.
//! Import id: the tenant id.

use std::collections::BTreeSet;

use super::prelude::*;

use crate::graph::TenantApi;
use crate::graph::templates::{LEVELS, TemplateSettings, Templates, parse_levels};

pub struct PolicyTemplates;

// ---------------------------------------------------------------------------
// Model and schema

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TemplatesState {
    tenant_id: String,
    user_sync_inbound_allowed: Option<bool>,
    inbound_auto_redeem: Option<bool>,
    outbound_auto_redeem: Option<bool>,
    application_level: Option<BTreeSet<String>>,
    id: Option<String>,
    timeouts: Option<TimeoutsBlock>,
}

fn default_levels() -> Value {
    Value::Set(vec![
        Value::from("newPartners"),
        Value::from("existingPartners"),
    ])
}

/// How Terraform knows `mto_policy_templates`.
pub const DEFINITION: Definition = Definition {
    type_name: "mto_policy_templates",
    schema,
    // create, read, update, delete
    timeouts: Timeouts::minutes(5, 5, 5, 5),
    identity: Identity {
        object: "the tenant's multi-tenant organization policy templates",
        attributes: &["tenant_id"],
    },
    unowned_destroy: "resets the templates to Graph's defaults; nothing is deleted, and partner configurations made from the templates keep their settings.",
    adoption: "The templates always exist in every tenant: a create manages them and adopts nothing.",
};

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
            .block(DEFINITION.timeouts.block()),
    )
}

/// Writes both templates and reports what was written: a read right after
/// a PATCH may still see the old values on another replica.
async fn write(
    api: &TenantApi<'_>,
    mut planned: TemplatesState,
) -> Result<TemplatesState, Diagnostics> {
    api.templates()
        .update(&TemplateSettings {
            levels: planned.application_level.clone().unwrap_or_default(),
            user_sync_inbound_allowed: planned.user_sync_inbound_allowed,
            inbound_auto_redeem: planned.inbound_auto_redeem,
            outbound_auto_redeem: planned.outbound_auto_redeem,
        })
        .await
        .or_diag("Cannot update the organization templates")?;
    planned.id = Some(planned.tenant_id.clone());
    Ok(planned)
}

#[tfplugin::async_trait]
impl MtoResource for PolicyTemplates {
    type State = TemplatesState;

    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome {
        let planned = op.state;
        resp.set_state(&write(&op.api, planned).await?);
        Ok(())
    }

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome {
        let change = op.state;
        resp.set_state(&write(&op.api, change.planned).await?);
        Ok(())
    }

    /// The templates always exist: destroy resets them.
    async fn delete(&self, op: Op<'_, Self::State>, _resp: &mut DeleteResponse) -> Outcome {
        let failures: Diagnostics = op
            .api
            .templates()
            .reset()
            .await
            .iter()
            .map(|e| diag::graph("Cannot reset the organization templates", e))
            .collect();
        if failures.has_errors() {
            Err(failures)
        } else {
            Ok(())
        }
    }

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome {
        let state = op.state;
        let templates = op
            .api
            .templates()
            .get()
            .await
            .or_diag("Cannot read the organization templates")?;
        resp.set_state(&from_graph(state, &templates));
        Ok(())
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
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

    async fn import(&self, _ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome {
        let parts = parse_import_id(id, "<the tenant id>", &[1], &[0])?;
        resp.set_state(&TemplatesState {
            tenant_id: parts[0].clone(),
            ..Default::default()
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Graph ⇄ model

fn from_graph(mut state: TemplatesState, t: &Templates) -> TemplatesState {
    state.id = Some(state.tenant_id.clone());
    state.user_sync_inbound_allowed = t
        .identity_sync
        .user_sync_inbound
        .as_ref()
        .and_then(|s| s.is_sync_allowed);
    let consent = t.partner.automatic_user_consent_settings.as_ref();
    state.inbound_auto_redeem = consent.and_then(|c| c.inbound_allowed);
    state.outbound_auto_redeem = consent.and_then(|c| c.outbound_allowed);
    // Both templates carry a level and the attribute sets both. When they
    // disagree, report the one that moved away from the state, so the
    // change shows as drift and apply writes both again.
    let sync_levels = parse_levels(t.identity_sync.template_application_level.as_deref());
    let partner_levels = parse_levels(t.partner.template_application_level.as_deref());
    let prior = state.application_level.take();
    state.application_level = Some(
        if sync_levels == partner_levels || Some(&sync_levels) != prior.as_ref() {
            sync_levels
        } else {
            partner_levels
        },
    );
    state
}
