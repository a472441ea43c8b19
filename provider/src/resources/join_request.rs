//! `mto_join_request`: a tenant asks to join the organization that an owner
//! added it to.
//!
//! Graph (in the joining tenant): the join request names the owner tenant
//! (`addedByTenantId`). The join completes asynchronously — up to hours in
//! Microsoft's cloud — so create waits (bounded by the create timeout)
//! until the tenant is an active member, and reports Graph's
//! `transitionDetails` when the join fails. Destroy leaves the
//! organization, or withdraws a join that never completed.
//!
//! Permissions (application): `MultiTenantOrganization.ReadWrite.All`.
//! Import id: the joining tenant id.

use std::sync::Mutex;

use super::prelude::*;

use crate::graph::mto::{JoinRequestRecord, NO_TENANT};
use crate::graph::{TenantApi, wait_until};

pub struct JoinRequest;

// ---------------------------------------------------------------------------
// Model and schema

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JoinRequestState {
    tenant_id: String,
    owner_tenant_id: Option<String>,
    wait_for_active: Option<bool>,
    id: Option<String>,
    member_state: Option<String>,
    role: Option<String>,
    transition_details: Option<TransitionState>,
    timeouts: Option<TimeoutsBlock>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TransitionState {
    desired_member_state: Option<String>,
    status: Option<String>,
    details: Option<String>,
}

/// How Terraform knows `mto_join_request`.
pub const DEFINITION: Definition = Definition {
    type_name: "mto_join_request",
    schema,
    // create, read, update, delete
    timeouts: Timeouts::minutes(240, 5, 240, 30),
    identity: Identity {
        object: "the tenant's membership in a multi-tenant organization (or its request to join)",
        attributes: &["tenant_id"],
    },
    unowned_destroy: "makes the tenant leave the organization, or withdraws a request still pending. Partner configurations, synchronization configurations and users already synchronized stay.",
    adoption: "Graph offers no marker on a join request: a create finds the tenant already joined or joining the same owner's organization and manages that (the apply warns); a request towards another organization is refused.",
};

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
            .block(DEFINITION.timeouts.block()),
    )
}

/// Waits for the join to finish. An error carries Graph's reason and the
/// last record seen.
async fn wait_active(
    api: &TenantApi<'_>,
) -> Result<JoinRequestRecord, (Option<JoinRequestRecord>, String)> {
    let last = Mutex::new(None);
    let outcome = wait_until(
        api.scope(),
        Duration::from_secs(30),
        "the join to complete",
        || async {
            let doc = api.mto().join_request().await?;
            *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(doc.clone());
            Ok((doc.failure().is_some() || doc.is_active()).then_some(doc))
        },
    )
    .await;
    match outcome {
        Ok(doc) => match doc.failure() {
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
impl MtoResource for JoinRequest {
    type State = JoinRequestState;

    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome {
        let planned = op.state;
        let tenant = planned.tenant_id.clone();
        let owner = planned.owner_tenant_id.clone().unwrap_or_default();
        let api = &op.api;
        // Already requested by this owner (an interrupted apply): no new request.
        let current = api
            .mto()
            .join_request()
            .await
            .or_diag("Cannot read the join request")?;
        let same_owner = current
            .owner()
            .is_some_and(|by| by.eq_ignore_ascii_case(&owner));
        if !(same_owner && current.is_request() && current.failure().is_none()) {
            api.mto()
                .file_join_request(&owner)
                .await
                .or_diag("Cannot file the join request")?;
        } else {
            mark_adopted(&mut resp.private);
        }
        let doc = if planned.wait_for_active != Some(false) {
            match wait_active(api).await {
                Ok(doc) => doc,
                Err((last, why)) => {
                    resp.set_state(&from_graph(planned.clone(), &last.unwrap_or_default()));
                    return Err(Diagnostic::error(
                    format!("Tenant {tenant} did not join the organization of {owner}"),
                    format!(
                        "{why}. Check that the owner added this tenant (mto_member_tenant), that the tenant is in no other \
                         organization, and that the organization has room. The next apply files a new request."
                    ),
                )
                .into());
                }
            }
        } else {
            match api.mto().join_request().await {
                Ok(doc) => doc,
                Err(e) => {
                    resp.set_state(&planned);
                    return Err(crate::diag::graph("Cannot read the join request", &e).into());
                }
            }
        };
        resp.set_state(&from_graph(planned, &doc));
        Ok(())
    }

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome {
        let state = op.state;
        let tenant = state.tenant_id.clone();
        let api = &op.api;
        let found = read_settled(op.ctx, op.private, |_| async {
            let doc = api.mto().join_request().await?;
            Ok(doc.is_request().then_some(doc))
        })
        .await
        .or_diag("Cannot read the join request")?;
        let Some(doc) = found else {
            resp.remove();
            return Ok(());
        };
        if let Some(details) = doc.failure() {
            resp.diags.warning(
                format!("The join of tenant {tenant} failed"),
                format!("Graph reports: {details}. The next apply files a new join request."),
            );
        }
        resp.set_state(&from_graph(state, &doc));
        Ok(())
    }

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome {
        let change = op.state;
        let (_planned, _prior) = (&change.planned, &change.prior);
        // Only wait_for_active and timeouts change in place.
        let next = change.planned_with_prior();
        let planned: JoinRequestState = model(&next)?;
        let pending = planned.member_state.as_deref() != Some("active");
        if pending && planned.wait_for_active != Some(false) {
            let tenant = planned.tenant_id.clone();
            let api = &op.api;
            let doc = wait_active(api).await.map_err(|(_, why)| {
                Diagnostic::error(
                    format!("Tenant {tenant} did not join the organization"),
                    why,
                )
            })?;
            resp.set_state(&from_graph(planned, &doc));
        } else {
            resp.state = next;
        }
        Ok(())
    }

    async fn delete(&self, op: Op<'_, Self::State>, _resp: &mut DeleteResponse) -> Outcome {
        let prior = op.state;
        let tenant = prior.tenant_id.as_str();
        let api = &op.api;
        let doc = api
            .mto()
            .join_request()
            .await
            .or_diag("Cannot read the join request")?;
        if doc.is_active() {
            // Leave: the tenant removes itself.
            api.mto()
                .remove_tenant(tenant)
                .await
                .or_diag("Cannot leave the multi-tenant organization")?;
            wait_until(
                api.scope(),
                Duration::from_secs(10),
                "the tenant to leave the organization",
                || async { Ok(api.mto().active().await?.is_none().then_some(())) },
            )
            .await
            .or_diag("The tenant did not leave the organization")?;
        } else if doc.is_request() || doc.failure().is_some() {
            // Never completed: withdraw the request.
            api.mto()
                .withdraw_join_request()
                .await
                .or_diag("Cannot withdraw the join request")?;
        }
        Ok(())
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_distinct(config, "tenant_id", "owner_tenant_id", diags);
    }

    async fn plan(
        &self,
        _ctx: &Ctx<'_, Client>,
        req: &ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
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

    async fn import(&self, _ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome {
        let parts = parse_import_id(id, "<the joining tenant id>", &[1], &[0])?;
        resp.set_state(&JoinRequestState {
            tenant_id: parts[0].clone(),
            owner_tenant_id: Some(NO_TENANT.to_owned()),
            wait_for_active: Some(true),
            ..Default::default()
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Graph ⇄ model

fn from_graph(mut state: JoinRequestState, doc: &JoinRequestRecord) -> JoinRequestState {
    state.id = Some(state.tenant_id.clone());
    if let Some(by) = &doc.added_by_tenant_id
        && !by.eq_ignore_ascii_case(state.owner_tenant_id.as_deref().unwrap_or_default())
    {
        state.owner_tenant_id = Some(by.clone());
    }
    state.member_state = doc.member_state.clone();
    state.role = doc.role.clone();
    state.transition_details = doc.transition_details.as_ref().map(|t| TransitionState {
        desired_member_state: t.desired_member_state.clone(),
        status: t.status.clone(),
        details: t.details.clone(),
    });
    state
}
