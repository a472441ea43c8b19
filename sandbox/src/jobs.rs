//! The background worker that completes asynchronous MTO work: joins, removals and role
//! changes of active tenants.
//!
//! Work lives in the `jobs` table with a due time, so a restart resumes whatever was pending.
//! The worker sleeps until the earliest due time or until a handler queues new work
//! ([`crate::AppState::jobs_wakeup`]); it stops when the [`WorkerGuard`] is dropped. Each job is
//! deleted and applied in one SQLite transaction, so it takes effect exactly once.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::AppState;
use crate::routes::mto::{MAX_ACTIVE_TENANTS, default_join_request};
use crate::routes::policy;
use crate::store::mto::{self, Job};
use crate::store::tenants;
use crate::store::{Conn, StoreError};
use crate::util::{new_guid, now_ms};

/// Stops the worker when dropped.
pub struct WorkerGuard {
    _stop: watch::Sender<()>,
}

/// Spawn the worker on the current runtime.
pub fn start(state: AppState) -> WorkerGuard {
    let (tx, rx) = watch::channel(());
    tokio::spawn(run(state, rx));
    WorkerGuard { _stop: tx }
}

async fn run(state: AppState, mut stop: watch::Receiver<()>) {
    loop {
        loop {
            let now = now_ms();
            let job = match state.store.read_with(move |c| mto::first_due(c, now)).await {
                Ok(Some(j)) => j,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!("job queue read failed: {e}");
                    break;
                }
            };
            let id = job.id;
            let applied = state
                .store
                .write_with(move |tx| {
                    if !mto::delete_job(tx, job.id)? {
                        return Ok(());
                    }
                    apply(tx, &job)
                })
                .await;
            if let Err(e) = applied {
                // Drop the job rather than retrying it in a hot loop.
                tracing::error!("job {id} failed and is dropped: {e}");
                let _ = state
                    .store
                    .write_with(move |tx| mto::delete_job(tx, id).map(|_| ()))
                    .await;
            }
        }
        let next = state.store.read_with(mto::next_due).await.ok().flatten();
        let wait = match next {
            Some(due) => Duration::from_millis((due - now_ms()).clamp(1, 60_000) as u64),
            None => Duration::from_secs(60),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.jobs_wakeup.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

fn apply(tx: &Conn, job: &Job) -> Result<(), StoreError> {
    match job.kind.as_str() {
        "join" => process_join(tx, &job.tenant_id),
        "remove" => process_remove(
            tx,
            job.org_id.as_deref().unwrap_or_default(),
            &job.tenant_id,
        ),
        "role" => process_role(
            tx,
            job.org_id.as_deref().unwrap_or_default(),
            &job.tenant_id,
            job.payload
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or("member"),
        ),
        other => {
            tracing::warn!("unknown job kind {other}");
            Ok(())
        }
    }
}

/// Complete (or fail) the join request of `joiner`.
fn process_join(tx: &Conn, joiner: &str) -> Result<(), StoreError> {
    let Some(mut jr) = mto::get_join_request(tx, joiner)? else {
        return Ok(());
    };
    if jr.member_state.as_deref() != Some("pending") {
        return Ok(());
    }
    let owner = jr.added_by.clone();
    let fail = |tx: &Conn, mut jr: mto::JoinRequest, details: String| {
        tracing::info!("join of {} failed: {details}", jr.tenant_id);
        jr.transition =
            Some(json!({"desiredMemberState": "active", "status": "failed", "details": details}));
        mto::put_join_request(tx, &jr)
    };
    let Some((org, owner_row)) = mto::org_of_tenant(tx, &owner)? else {
        return fail(
            tx,
            jr,
            format!("Tenant '{owner}' is not in a multi-tenant organization."),
        );
    };
    if owner_row.role != "owner" {
        return fail(
            tx,
            jr,
            format!("Tenant '{owner}' is not an owner of the multi-tenant organization."),
        );
    }
    let Some(mut row) = mto::get_member(tx, &org.org_id, joiner)? else {
        return fail(
            tx,
            jr,
            format!(
                "This tenant was not added to the multi-tenant organization of tenant '{owner}'."
            ),
        );
    };
    if row.removal_pending() {
        return fail(
            tx,
            jr,
            "This tenant is being removed from the multi-tenant organization.".into(),
        );
    }
    if !row.is_in() {
        if let Some((other, _)) = mto::org_of_tenant(tx, joiner)?
            && other.org_id != org.org_id
        {
            return fail(
                tx,
                jr,
                "This tenant already belongs to another multi-tenant organization.".into(),
            );
        }
        let rows = mto::members(tx, &org.org_id)?;
        if rows.iter().filter(|m| m.is_in()).count() >= MAX_ACTIVE_TENANTS {
            return fail(
                tx,
                jr,
                format!(
                    "The multi-tenant organization already has the maximum of {MAX_ACTIVE_TENANTS} active tenants."
                ),
            );
        }
        let now = now_ms();
        let desired_role = row
            .transition
            .as_ref()
            .and_then(|t| t.get("desiredRole"))
            .and_then(Value::as_str)
            .unwrap_or(&row.role)
            .to_string();
        row.role = desired_role;
        row.state = "active".into();
        row.joined_ms = Some(now);
        row.transition = None;
        row.local_id = Some(new_guid());
        mto::put_member(tx, &row)?;

        // Cross-tenant access settings for every new pair, both directions, then templates:
        // the joiner's templates to all its partners, each existing tenant's to the newcomer.
        let name_of = |tx: &Conn, id: &str, fallback: &str| -> Result<String, StoreError> {
            Ok(tenants::get_tenant(tx, id)?
                .map(|t| t.display_name)
                .unwrap_or_else(|| fallback.to_string()))
        };
        let joiner_name = name_of(tx, joiner, &row.display_name)?;
        for other in rows.iter().filter(|m| m.is_in() && m.tenant_id != joiner) {
            let other_name = name_of(tx, &other.tenant_id, &other.display_name)?;
            for (tenant, partner, partner_name) in [
                (joiner, other.tenant_id.as_str(), &other_name),
                (other.tenant_id.as_str(), joiner, &joiner_name),
            ] {
                let p_created = policy::ensure_partner(tx, tenant, partner, now)?;
                let s_created =
                    policy::ensure_identity_sync(tx, tenant, partner, partner_name, now)?;
                policy::apply_templates(tx, tenant, partner, p_created, s_created)?;
            }
        }
    }
    jr.member_state = Some("active".into());
    jr.role = Some(row.role.clone());
    jr.transition = None;
    mto::put_join_request(tx, &jr)
}

/// Remove `tenant` from the organization; the last tenant leaving deletes the organization.
fn process_remove(tx: &Conn, org_id: &str, tenant: &str) -> Result<(), StoreError> {
    let Some(row) = mto::get_member(tx, org_id, tenant)? else {
        return Ok(());
    };
    mto::delete_member(tx, org_id, tenant)?;
    if row.is_in() {
        // The tenant's own view of the MTO is gone; its join request reads as never sent.
        let fresh = default_join_request(tenant);
        let id = mto::get_join_request(tx, tenant)?
            .map(|j| j.id)
            .unwrap_or(fresh.id.clone());
        mto::put_join_request(tx, &mto::JoinRequest { id, ..fresh })?;
        let rest = mto::members(tx, org_id)?;
        for other in rest.iter().filter(|m| m.is_in()) {
            // UNCONFIRMED: leaving keeps the access settings (M365 join/leave page) but the
            // service-managed isInMultiTenantOrganization flag no longer holds.
            policy::set_in_mto(tx, tenant, &other.tenant_id, false)?;
            policy::set_in_mto(tx, &other.tenant_id, tenant, false)?;
        }
        if !rest.iter().any(|m| m.is_in()) {
            mto::delete_org(tx, org_id)?;
        }
    }
    Ok(())
}

/// Apply a role change of an active tenant.
fn process_role(tx: &Conn, org_id: &str, tenant: &str, role: &str) -> Result<(), StoreError> {
    let Some(mut row) = mto::get_member(tx, org_id, tenant)? else {
        return Ok(());
    };
    if !row.is_in() || row.removal_pending() {
        return Ok(());
    }
    if row.role == "owner" && role == "member" {
        let rows = mto::members(tx, org_id)?;
        let owners = rows
            .iter()
            .filter(|m| {
                m.is_in() && m.role == "owner" && m.tenant_id != tenant && !m.removal_pending()
            })
            .count();
        if owners == 0 {
            row.transition = Some(json!({
                "desiredState": "active",
                "desiredRole": role,
                "status": "failed",
                "details": "A multi-tenant organization must keep at least one active owner tenant.",
            }));
            return mto::put_member(tx, &row);
        }
    }
    row.role = role.to_string();
    row.transition = None;
    mto::put_member(tx, &row)?;
    if let Some(mut jr) = mto::get_join_request(tx, tenant)?
        && jr.member_state.as_deref() == Some("active")
    {
        jr.role = Some(role.to_string());
        mto::put_join_request(tx, &jr)?;
    }
    Ok(())
}
