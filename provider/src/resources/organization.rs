//! `mto_organization`: the multi-tenant organization, created in its owner
//! tenant, which becomes its first (owner) member.
//!
//! Graph has no DELETE for the organization: it disappears when the last
//! tenant leaves, so destroy removes the owner tenant, which Graph allows
//! once the other tenants are gone. Creation is asynchronous, so create
//! waits until the organization reads `active`.
//!
//! Permissions (application): `MultiTenantOrganization.ReadWrite.All`.
//! Import id: the owner tenant id.

use super::prelude::*;

use crate::graph::mto::{Organization as Mto, OrganizationInput};
use crate::graph::{Created, create_once, wait_until};

pub struct Organization;

// ---------------------------------------------------------------------------
// Model and schema

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OrganizationState {
    tenant_id: String,
    display_name: Option<String>,
    description: Option<String>,
    id: Option<String>,
    state: Option<String>,
    created_date_time: Option<String>,
    timeouts: Option<TimeoutsBlock>,
}

/// How Terraform knows `mto_organization`.
pub const DEFINITION: Definition = Definition {
    type_name: "mto_organization",
    schema,
    // create, read, update, delete
    timeouts: Timeouts::minutes(30, 5, 5, 30),
    identity: Identity {
        object: "the tenant's multi-tenant organization",
        attributes: &["tenant_id"],
    },
    unowned_destroy: "removes the owner tenant from the organization, which deletes the organization (Graph allows it only when no other tenant is active in it). Partner configurations, synchronization configurations and users already synchronized stay.",
    adoption: "Graph offers no marker on a multi-tenant organization, and a tenant is in at most one: a create that finds the tenant already in an organization of the same display name manages it (an apply of ours was interrupted, or it is the one meant; the apply warns); one with another name is refused, with its import id.",
};

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
            .block(DEFINITION.timeouts.block()),
    )
}

#[tfplugin::async_trait]
impl MtoResource for Organization {
    type State = OrganizationState;

    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome {
        let planned = op.state;
        let name = planned.display_name.clone().unwrap_or_default();
        let api = &op.api;
        let input = OrganizationInput {
            display_name: &name,
            description: planned.description.as_deref(),
        };
        // A tenant holds at most one organization. One with our name is ours
        // (from an interrupted apply, or a create whose answer was lost):
        // adopt it. Another name is someone else's: refuse rather than take it
        // over.
        let outcome = create_once(
            api.scope(),
            || api.mto().active(),
            || async { api.mto().create(&input).await.map(|()| Mto::default()) },
        )
        .await
        .or_diag("Cannot create the multi-tenant organization")?;
        if let Created::Existing(existing) = outcome {
            mark_adopted(&mut resp.private);
            let existing_name = existing.display_name.clone().unwrap_or_default();
            if existing_name != name {
                return Err(Diagnostic::error(
                "Tenant already in a multi-tenant organization",
                format!(
                    "Tenant {} already belongs to the organization {existing_name:?}; a tenant can be in only one. \
                     To manage it with Terraform, import it: terraform import <address> {}",
                    planned.tenant_id, planned.tenant_id
                ),
            )
            .at(AttributePath::root().attr("tenant_id"))
            .into());
            }
            if existing.description.as_deref().unwrap_or_default()
                != planned.description.as_deref().unwrap_or_default()
            {
                api.mto()
                    .update(&input)
                    .await
                    .or_diag("Cannot update the existing multi-tenant organization")?;
            }
        }
        // Creation completes asynchronously.
        let active = wait_until(
            api.scope(),
            Duration::from_secs(10),
            "the organization to become active",
            || api.mto().active(),
        )
        .await;
        match active {
            Ok(doc) => {
                resp.set_state(&from_graph(planned, &doc));
                Ok(())
            }
            Err(e) => {
                // It exists (or will): record it so the next plan can see it.
                resp.set_state(&OrganizationState {
                    id: None,
                    state: None,
                    created_date_time: None,
                    ..planned
                });
                Err(
                    crate::diag::graph("The multi-tenant organization did not become active", &e)
                        .into(),
                )
            }
        }
    }

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome {
        let state = op.state;
        let api = &op.api;
        let found = read_settled(op.ctx, op.private, |_| api.mto().active())
            .await
            .or_diag("Cannot read the multi-tenant organization")?;
        match found {
            Some(doc) => resp.set_state(&from_graph(state, &doc)),
            None => resp.remove(),
        }
        Ok(())
    }

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome {
        let change = op.state;
        let (planned, prior) = (&change.planned, &change.prior);
        let api = &op.api;
        if planned.display_name != prior.display_name || planned.description != prior.description {
            let name = planned.display_name.clone().unwrap_or_default();
            api.mto()
                .update(&OrganizationInput {
                    display_name: &name,
                    description: planned.description.as_deref(),
                })
                .await
                .or_diag("Cannot update the multi-tenant organization")?;
        }
        resp.state = change.planned_with_prior();
        Ok(())
    }

    async fn delete(&self, op: Op<'_, Self::State>, _resp: &mut DeleteResponse) -> Outcome {
        let prior = op.state;
        let tenant = prior.tenant_id.as_str();
        let api = &op.api;
        if api
            .mto()
            .active()
            .await
            .or_diag("Cannot read the multi-tenant organization")?
            .is_none()
        {
            return Ok(());
        }
        let members = api
            .mto()
            .tenants()
            .await
            .or_diag("Cannot list the organization's tenants")?;
        let others: Vec<String> = members
            .iter()
            // Pending tenants do not hold the organization back (Graph counts
            // active tenants only).
            .filter(|m| {
                !m.tenant_id.eq_ignore_ascii_case(tenant) && m.is_active() && !m.is_leaving()
            })
            .map(|m| {
                format!(
                    "{} ({}, {})",
                    m.tenant_id,
                    m.display_name.as_deref().unwrap_or_default(),
                    m.state.as_deref().unwrap_or_default()
                )
            })
            .collect();
        if !others.is_empty() {
            return Err(Diagnostic::error(
            "The organization still has other tenants",
            format!(
                "Graph deletes a multi-tenant organization only when its owner is the last tenant. Remove these tenants first \
                 (destroy their mto_member_tenant and mto_join_request resources, or make this resource depend on them): {}",
                others.join(", ")
            ),
        )
        .into());
        }
        api.mto()
            .remove_tenant(tenant)
            .await
            .or_diag("Cannot remove the owner tenant from the organization")?;
        // Removal is asynchronous; the organization is gone when GET says so.
        wait_until(
            api.scope(),
            Duration::from_secs(10),
            "the organization to be deleted",
            || async { Ok(api.mto().active().await?.is_none().then_some(())) },
        )
        .await
        .or_diag("The multi-tenant organization was not deleted")?;
        Ok(())
    }

    async fn import(&self, _ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome {
        let parts = parse_import_id(id, "<the owner tenant id>", &[1], &[0])?;
        resp.set_state(&OrganizationState {
            tenant_id: parts[0].clone(),
            ..Default::default()
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Graph ⇄ model

fn from_graph(mut state: OrganizationState, doc: &Mto) -> OrganizationState {
    state.id = doc.id.clone();
    state.display_name = doc.display_name.clone();
    state.description = keep_empty_equivalent(doc.description.clone(), &state.description);
    state.state = doc.state.clone();
    state.created_date_time = doc.created_date_time.clone();
    state
}
