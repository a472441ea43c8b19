//! `mto_inbound_acceptance`: a receiving tenant accepts the users another
//! tenant shares with it.
//!
//! Graph (in the receiving tenant, for the sharing tenant): the partner
//! configuration with inbound automatic redemption, and its identity
//! synchronization policy with `userSyncInbound.isSyncAllowed`. Existing
//! objects (auto-created by an MTO join, or by hand) are adopted; private
//! state remembers what this resource created, so destroy deletes only that
//! and otherwise just turns its settings off.
//!
//! Permissions (application): `Policy.ReadWrite.CrossTenantAccess`.
//! Import id: `<receiving tenant id>/<source tenant id>`.

use super::prelude::*;

use crate::graph::partners::{Direction, IdentitySyncPolicy, PartnerConfiguration};
use crate::graph::{ReadMode, TenantApi};

/// Private state: this resource created the partner configuration.
const CREATED_PARTNER: &str = "created_partner";
/// Private state: this resource created the identity synchronization policy.
const CREATED_SYNC_POLICY: &str = "created_sync_policy";

pub struct InboundAcceptance;

// ---------------------------------------------------------------------------
// Model and schema

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AcceptanceState {
    tenant_id: String,
    source_tenant_id: String,
    user_sync_allowed: Option<bool>,
    group_sync_allowed: Option<bool>,
    auto_redeem: Option<bool>,
    id: Option<String>,
    is_in_multi_tenant_organization: Option<bool>,
    timeouts: Option<TimeoutsBlock>,
}

/// How Terraform knows `mto_inbound_acceptance`.
pub const DEFINITION: Definition = Definition {
    type_name: "mto_inbound_acceptance",
    schema,
    // create, read, update, delete
    timeouts: Timeouts::minutes(5, 5, 5, 5),
    identity: Identity {
        object: "the inbound side of the partner configuration (inbound automatic redemption and user synchronization)",
        attributes: &["tenant_id", "source_tenant_id"],
    },
    unowned_destroy: "turns off inbound user synchronization and inbound automatic redemption for the source tenant. The partner configuration and its synchronization policy stay (only objects this provider created are deleted), and so do users already synchronized.",
    adoption: "The partner configuration and its identity synchronization policy exist once per tenant pair and are often made by the organization's join: a create turns their settings on and records which of the two it created; a destroy deletes only those and turns the rest off.",
};

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
                Attribute::bool("group_sync_allowed")
                    .optional_computed()
                    .use_state_for_unknown()
                    .description(
                        "Allow the source to provision its security groups into this tenant as groups \
                         (`groupSyncInbound.isSyncAllowed`, a property Graph has only in its beta version, which this \
                         attribute reads and writes through `/beta`); the source's `mto_sync_job` needs it for \
                         `provision_groups`. Unset: left as it is, and shown as Graph has it. Group synchronization \
                         needs Entra ID Governance licences in Microsoft's service.",
                    ),
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
            .block(DEFINITION.timeouts.block()),
    )
}

/// What [`apply`] read back.
struct Applied {
    partner: PartnerConfiguration,
    sync: IdentitySyncPolicy,
    /// `groupSyncInbound.isSyncAllowed` when this call knows it without
    /// reading the beta version: it wrote it, or it created the policy
    /// (Graph leaves the property null, which reads as not allowed).
    group_sync_known: Option<bool>,
}

/// Puts both halves in place and reads them back, recording in `private`
/// what this call created as soon as it is known. `groupSyncInbound` is
/// written only when `group_sync` says so.
async fn apply(
    api: &TenantApi<'_>,
    planned: &AcceptanceState,
    creating: bool,
    group_sync: Option<bool>,
    private: &mut tfplugin::Private,
) -> Result<Applied, Diagnostics> {
    let partner = api.partners();
    let lock = partner.lock(&planned.source_tenant_id).await;
    let created = lock
        .ensure_auto_redeem(Direction::Inbound, planned.auto_redeem != Some(false))
        .await
        .or_diag("Cannot configure the partner tenant")?;
    if created.is_new() {
        private.set(CREATED_PARTNER, true);
    } else if private.get::<bool>(CREATED_PARTNER).is_none() {
        private.set(CREATED_PARTNER, false);
    }
    let created = lock
        .ensure_sync_policy(planned.user_sync_allowed != Some(false))
        .await
        .or_diag(if creating {
            "Cannot allow inbound synchronization"
        } else {
            "Cannot update inbound synchronization"
        })?;
    let created_policy = created.is_new();
    if created_policy {
        private.set(CREATED_SYNC_POLICY, true);
    } else if private.get::<bool>(CREATED_SYNC_POLICY).is_none() {
        private.set(CREATED_SYNC_POLICY, false);
    }
    if let Some(allowed) = group_sync {
        lock.set_group_sync(allowed)
            .await
            .or_diag("Cannot set inbound group synchronization")?;
    }
    let (partner, sync) = lock
        .read_back()
        .await
        .or_diag("Cannot read the acceptance back")?
        .ok_or_else(|| {
            Diagnostic::error(
                "The acceptance disappeared",
                "The partner configuration or its sync policy was deleted while it was being applied.",
            )
        })?;
    Ok(Applied {
        partner,
        sync,
        group_sync_known: group_sync_known(group_sync, created_policy),
    })
}

/// `groupSyncInbound.isSyncAllowed` after a write, when the write tells:
/// the value it wrote, or not allowed on a policy it created (created
/// without the property, which Graph leaves null).
fn group_sync_known(written: Option<bool>, created_policy: bool) -> Option<bool> {
    written.or(created_policy.then_some(false))
}

/// The acceptance's `group_sync_allowed` after a write: known from the
/// write when [`apply`] can tell, otherwise read from Graph's beta version
/// (a policy that existed before, for example from an organization join,
/// keeps whatever it had).
async fn group_sync_after(
    api: &TenantApi<'_>,
    planned: &AcceptanceState,
    applied: &Applied,
) -> Result<Option<bool>, Diagnostics> {
    match applied.group_sync_known {
        Some(known) => Ok(Some(known)),
        None => read_group_sync(api, planned, ReadMode::AfterWrite).await,
    }
}

#[tfplugin::async_trait]
impl MtoResource for InboundAcceptance {
    type State = AcceptanceState;

    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome {
        let planned = op.state;
        let group_sync = planned.group_sync_allowed;
        match apply(&op.api, &planned, true, group_sync, &mut resp.private).await {
            Ok(applied) => {
                let groups = group_sync_after(&op.api, &planned, &applied).await?;
                let mut state = from_graph(planned, &applied.partner, &applied.sync);
                state.group_sync_allowed = groups;
                resp.set_state(&state);
                Ok(())
            }
            Err(d) => {
                // Once the partner configuration exists, a failure keeps a
                // partial state so the next apply adopts it instead of
                // starting over.
                if resp.private.get::<bool>(CREATED_PARTNER).is_some() {
                    resp.set_state(&AcceptanceState {
                        id: Some(join_id(&[&planned.tenant_id, &planned.source_tenant_id])),
                        is_in_multi_tenant_organization: None,
                        ..planned
                    });
                }
                Err(d)
            }
        }
    }

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome {
        let state = op.state;
        let api = &op.api;
        let (api, source) = (&api, state.source_tenant_id.as_str());
        let settled = read_settled(op.ctx, op.private, |direct| async move {
            if direct {
                return api
                    .partners()
                    .with_sync_policy(source, ReadMode::Refresh)
                    .await;
            }
            // Either half missing: the acceptance is not in place any more.
            Ok(match api.partners().for_refresh(source).await? {
                Some((p, Some(s))) => Some((p, s)),
                _ => None,
            })
        });
        let (found, ()) = tokio::join!(settled, api.partners().warm_group_sync_snapshot());
        let found = found.or_diag("Cannot read the acceptance")?;
        match found {
            Some((p, s)) => {
                let groups = Some(
                    api.partners()
                        .group_sync_for_refresh(source)
                        .await
                        .or_diag("Cannot read inbound group synchronization")?
                        .unwrap_or(false),
                );
                let mut next = from_graph(state, &p, &s);
                next.group_sync_allowed = groups;
                resp.set_state(&next);
            }
            None => resp.remove(),
        }
        Ok(())
    }

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome {
        let change = op.state;
        let group_sync = change
            .planned
            .group_sync_allowed
            .filter(|g| Some(*g) != change.prior.group_sync_allowed);
        let applied = apply(
            &op.api,
            &change.planned,
            false,
            group_sync,
            &mut resp.private,
        )
        .await?;
        let groups = group_sync_after(&op.api, &change.planned, &applied).await?;
        let mut state = from_graph(change.planned, &applied.partner, &applied.sync);
        state.group_sync_allowed = groups;
        resp.set_state(&state);
        Ok(())
    }

    async fn delete(&self, op: Op<'_, Self::State>, _resp: &mut DeleteResponse) -> Outcome {
        let prior = op.state;
        let api = &op.api;
        let created_partner = op.private.get::<bool>(CREATED_PARTNER).unwrap_or(false);
        let created_sync = op.private.get::<bool>(CREATED_SYNC_POLICY).unwrap_or(false);
        let partners = api.partners();
        let lock = partners.lock(&prior.source_tenant_id).await;
        // The sync policy goes first: Graph refuses to delete a partner
        // configuration that still has one.
        lock.withdraw_sync_policy(created_sync)
            .await
            .or_diag("Cannot withdraw inbound synchronization")?;
        lock.release(Direction::Inbound, created_partner)
            .await
            .or_diag("Cannot turn off automatic redemption")?;
        Ok(())
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_distinct(config, "tenant_id", "source_tenant_id", diags);
    }

    async fn import(&self, _ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome {
        let parts = parse_import_id(
            id,
            "<receiving tenant id>/<source tenant id>",
            &[2],
            &[0, 1],
        )?;
        resp.set_state(&AcceptanceState {
            tenant_id: parts[0].clone(),
            source_tenant_id: parts[1].clone(),
            ..Default::default()
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Graph ⇄ model

/// `groupSyncInbound.isSyncAllowed` as Graph's beta version shows it
/// (false when the policy has none).
async fn read_group_sync(
    api: &TenantApi<'_>,
    state: &AcceptanceState,
    mode: ReadMode,
) -> Result<Option<bool>, Diagnostics> {
    Ok(Some(
        api.partners()
            .group_sync_allowed(&state.source_tenant_id, mode)
            .await
            .or_diag("Cannot read inbound group synchronization")?
            .unwrap_or(false),
    ))
}

fn from_graph(
    mut state: AcceptanceState,
    partner: &PartnerConfiguration,
    sync: &IdentitySyncPolicy,
) -> AcceptanceState {
    state.id = Some(join_id(&[&state.tenant_id, &state.source_tenant_id]));
    state.auto_redeem = Some(partner.auto_redeem(Direction::Inbound));
    state.user_sync_allowed = Some(sync.user_sync_allowed());
    state.is_in_multi_tenant_organization = Some(partner.in_multi_tenant_organization());
    state
}

#[cfg(test)]
mod tests {
    use super::group_sync_known;

    #[test]
    fn group_sync_is_read_back_only_from_a_policy_this_write_did_not_create_or_set() {
        assert_eq!(group_sync_known(Some(true), false), Some(true));
        assert_eq!(group_sync_known(Some(false), true), Some(false));
        assert_eq!(group_sync_known(None, true), Some(false));
        // A policy that was there before (an organization join, an admin)
        // keeps what it had: only Graph can say.
        assert_eq!(group_sync_known(None, false), None);
    }
}
