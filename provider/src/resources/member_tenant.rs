//! `mto_member_tenant`: a tenant added to the organization by an owner.
//!
//! Graph (in the owner tenant): adding answers 201 with the tenant
//! `pending` until its join request completes; a role change is processed
//! asynchronously; removal is asynchronous too, so destroy waits until the
//! row is gone.
//!
//! Permissions (application): `MultiTenantOrganization.ReadWrite.All`.
//! Import id: `<owner tenant id>/<member tenant id>`.

use super::prelude::*;

use crate::graph::mto::MemberTenant as Member;
use crate::graph::{ErrorKind, ReadMode, TenantApi, wait_until};

const ROLES: &[&str] = &["owner", "member"];

pub struct MemberTenant;

// ---------------------------------------------------------------------------
// Model and schema

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MemberTenantState {
    tenant_id: String,
    member_tenant_id: String,
    display_name: Option<String>,
    role: Option<String>,
    id: Option<String>,
    state: Option<String>,
    added_date_time: Option<String>,
    joined_date_time: Option<String>,
    added_by_tenant_id: Option<String>,
    transition_details: Option<TransitionState>,
    timeouts: Option<TimeoutsBlock>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TransitionState {
    desired_state: Option<String>,
    desired_role: Option<String>,
    status: Option<String>,
    details: Option<String>,
}

/// How Terraform knows `mto_member_tenant`.
pub const DEFINITION: Definition = Definition {
    type_name: "mto_member_tenant",
    schema,
    // create, read, update, delete
    timeouts: Timeouts::minutes(10, 10, 10, 30),
    identity: Identity {
        object: "the tenant's membership in the multi-tenant organization",
        attributes: &["tenant_id", "member_tenant_id"],
    },
    unowned_destroy: "removes the member tenant from the organization. Partner configurations, synchronization configurations and users already synchronized between the tenants stay.",
    adoption: "Graph offers no marker on an organization's tenants, and a tenant is in an organization at most once: a create finds a tenant already added and manages it (the apply warns).",
};

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
            .block(DEFINITION.timeouts.block()),
    )
}

/// The member row; `None` when absent or on its way out.
async fn current(
    api: &TenantApi<'_>,
    member: &str,
    mode: ReadMode,
) -> Result<Option<Member>, crate::graph::GraphError> {
    Ok(api
        .mto()
        .tenant(member, mode)
        .await?
        .filter(|m| !m.is_leaving()))
}

#[tfplugin::async_trait]
impl MtoResource for MemberTenant {
    type State = MemberTenantState;

    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome {
        let planned = op.state;
        let (tenant, member) = (
            planned.tenant_id.as_str(),
            planned.member_tenant_id.as_str(),
        );
        let name = planned.display_name.as_deref().unwrap_or_default();
        let role = planned.role.as_deref().unwrap_or("member");
        let api = &op.api;
        if let Err(e) = api.mto().add_tenant(member, name, role).await {
            if e.kind != ErrorKind::Conflict {
                return Err(diag::graph("Cannot add the tenant to the organization", &e).into());
            }
            // Already added (by us in an interrupted apply, or by hand): adopt
            // it if it matches, changing the role if needed.
            mark_adopted(&mut resp.private);
            let Some(existing) = current(api, member, ReadMode::Refresh)
                .await
                .or_diag("Cannot add the tenant to the organization")?
            else {
                return Err(diag::graph("Cannot add the tenant to the organization", &e).into());
            };
            let existing_name = existing.display_name.as_deref().unwrap_or_default();
            if existing_name != name {
                return Err(diag::graph_at(
                    AttributePath::root().attr("display_name"),
                    format!("Tenant {member} is already in the organization as {existing_name:?}"),
                    &e,
                )
                .into());
            }
            if existing.role.as_deref() != Some(role) {
                api.mto()
                    .set_role(member, role)
                    .await
                    .or_diag("Cannot set the member's role")?;
            }
        }
        let read_back = api.mto().tenant(member, ReadMode::AfterWrite).await;
        match read_back {
            Ok(Some(doc)) => {
                resp.set_state(&from_graph(planned, &doc));
                Ok(())
            }
            Ok(None) => Err(Diagnostic::error(
                "The tenant was added but cannot be read back",
                format!("Tenant {member} is not in the organization's list of tenants."),
            )
            .into()),
            Err(e) => {
                resp.set_state(&MemberTenantState {
                    id: Some(join_id(&[tenant, member])),
                    ..planned
                });
                Err(diag::graph("The tenant was added but cannot be read back", &e).into())
            }
        }
    }

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome {
        let state = op.state;
        let api = &op.api;
        let member = state.member_tenant_id.clone();
        let found = read_settled(op.ctx, op.private, |_| {
            current(api, &member, ReadMode::Refresh)
        })
        .await
        .or_diag("Cannot read the member tenant")?;
        match found {
            Some(doc) => resp.set_state(&from_graph(state, &doc)),
            None => resp.remove(),
        }
        Ok(())
    }

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome {
        let change = op.state;
        let (planned, prior) = (&change.planned, &change.prior);
        let member = planned.member_tenant_id.as_str();
        let api = &op.api;
        if planned.role != prior.role {
            api.mto()
                .set_role(member, planned.role.as_deref().unwrap_or("member"))
                .await
                .or_diag("Cannot change the member's role")?;
        }
        match current(api, member, ReadMode::Refresh)
            .await
            .or_diag("Cannot read the member tenant")?
        {
            Some(doc) => {
                let role = planned.role.clone();
                let mut state = from_graph(planned.clone(), &doc);
                // The role was accepted; Graph may still be processing it.
                state.role = role;
                resp.set_state(&state);
                Ok(())
            }
            None => {
                resp.state = Value::Null;
                Err(Diagnostic::error(
                    "Member tenant disappeared",
                    format!("Tenant {member} left the organization during the update."),
                )
                .into())
            }
        }
    }

    async fn delete(&self, op: Op<'_, Self::State>, _resp: &mut DeleteResponse) -> Outcome {
        let prior = op.state;
        let member = prior.member_tenant_id.as_str();
        let api = &op.api;
        let removed = api
            .mto()
            .remove_tenant(member)
            .await
            .or_diag("Cannot remove the tenant from the organization")?;
        if !removed {
            return Ok(());
        }
        wait_until(
            api.scope(),
            Duration::from_secs(10),
            "the tenant's removal",
            || async {
                let row = api.mto().tenant(member, ReadMode::Refresh).await?;
                Ok(row
                    .is_none_or(|m| m.state.as_deref() == Some("removed"))
                    .then_some(()))
            },
        )
        .await
        .or_diag("The tenant was not removed from the organization")?;
        Ok(())
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_distinct(config, "tenant_id", "member_tenant_id", diags);
    }

    async fn import(&self, _ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome {
        let parts = parse_import_id(id, "<owner tenant id>/<member tenant id>", &[2], &[0, 1])?;
        resp.set_state(&MemberTenantState {
            tenant_id: parts[0].clone(),
            member_tenant_id: parts[1].clone(),
            role: Some("member".into()),
            ..Default::default()
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Graph ⇄ model

fn from_graph(mut state: MemberTenantState, doc: &Member) -> MemberTenantState {
    state.id = Some(join_id(&[&state.tenant_id, &state.member_tenant_id]));
    state.display_name = doc.display_name.clone();
    // A role change is processed asynchronously; the desired role is what
    // was applied, so report it to avoid a diff until Graph catches up.
    state.role = doc.effective_role().map(str::to_owned);
    state.state = doc.state.clone();
    state.added_date_time = doc.added_date_time.clone();
    state.joined_date_time = doc.joined_date_time.clone();
    state.added_by_tenant_id = doc.added_by_tenant_id.clone();
    state.transition_details = doc.transition_details.as_ref().map(|t| TransitionState {
        desired_state: t.desired_state.clone(),
        desired_role: t.desired_role.clone(),
        status: t.status.clone(),
        details: t.details.clone(),
    });
    state
}
