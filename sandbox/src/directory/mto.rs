//! The multi-tenant organization (reference §1–§3): its limits, membership changes as Graph
//! requests them, and what the job worker applies when they come due.
//!
//! Requests only validate and queue: joins, removals and role changes of active tenants are
//! jobs (`store::mto::enqueue`) due after the join delay, which [`crate::jobs`] hands to
//! [`apply_job`]. A join creates the cross-tenant access settings of every new pair of tenants
//! and applies their MTO templates ([`super::policy`]), all in the job's one transaction.

use serde_json::{Value, json};

use super::policy;
use crate::error::ApiError;
use crate::store::mto::{self, Job, JoinRequest, Member, Org};
use crate::store::tenants;
use crate::store::{Conn, StoreError};
use crate::util::{ZERO_GUID, new_guid, now_ms, parse_guid, seed_guid};

/// Maximum number of active tenants in one MTO (reference §2.3).
pub const MAX_ACTIVE_TENANTS: usize = 100;

/// Maximum number of internal users of the owner or the joiner for a join to succeed. Graph
/// documents that the limit exists ("The owner or joiner tenant exceeds the maximum number of
/// internal users per tenant"), not its value: UNCONFIRMED, 100,000.
pub const MAX_INTERNAL_USERS: i64 = 100_000;

/// The join request of a tenant that never sent one.
pub fn default_join_request(tenant: &str) -> JoinRequest {
    JoinRequest {
        tenant_id: tenant.to_string(),
        id: seed_guid(tenant, "joinrequest", "joinRequest"),
        added_by: ZERO_GUID.into(),
        member_state: None,
        role: None,
        transition: None,
    }
}

fn require_owner(me: &Member) -> Result<(), ApiError> {
    if me.role == "owner" && me.is_in() {
        Ok(())
    } else {
        // UNCONFIRMED: the error for a non-owner writing the member list is not documented.
        Err(ApiError::Forbidden(
            "Only an owner tenant of the multi-tenant organization can perform this operation."
                .into(),
        ))
    }
}

fn active_owners_except(rows: &[Member], except: &str) -> usize {
    rows.iter()
        .filter(|m| m.is_in() && m.role == "owner" && m.tenant_id != except && !m.removal_pending())
        .count()
}

/// The organization `tenant` is in, with its own member row (404 `Directory_ObjectNotFound`
/// when it is in none).
fn org_of(c: &Conn, tenant: &str) -> Result<(Org, Member), ApiError> {
    mto::org_of_tenant(c, tenant)?.ok_or_else(ApiError::directory_object_not_found)
}

/// `PUT /tenantRelationships/multiTenantOrganization`: `tenant` creates an organization and
/// becomes its active owner. A second one is 409 (UNCONFIRMED).
pub fn create(
    tx: &Conn,
    tenant: &str,
    display_name: String,
    description: Option<String>,
) -> Result<(Org, Member), ApiError> {
    if mto::org_of_tenant(tx, tenant)?.is_some() {
        // UNCONFIRMED: Graph does not document a second PUT; we refuse it.
        return Err(ApiError::same_key_conflict(
            "A multi-tenant organization already exists for this tenant.",
        ));
    }
    let row = tenants::get_tenant(tx, tenant)?.ok_or_else(ApiError::directory_object_not_found)?;
    let now = now_ms();
    let org = Org {
        org_id: new_guid(),
        display_name,
        description,
        created_ms: now,
        creator_tenant: tenant.to_string(),
    };
    mto::insert_org(tx, &org)?;
    let me = Member {
        org_id: org.org_id.clone(),
        tenant_id: tenant.to_string(),
        display_name: row.display_name,
        role: "owner".into(),
        state: "active".into(),
        added_ms: now,
        joined_ms: None,
        added_by: tenant.to_string(),
        transition: None,
        local_id: Some(new_guid()),
    };
    mto::put_member(tx, &me)?;
    Ok((org, me))
}

/// `PATCH /tenantRelationships/multiTenantOrganization`: owners rename or describe it
/// (`description: Some(None)` clears it).
pub fn update(
    tx: &Conn,
    tenant: &str,
    display_name: Option<String>,
    description: Option<Option<String>>,
) -> Result<(), ApiError> {
    let (mut org, me) = org_of(tx, tenant)?;
    require_owner(&me)?;
    if let Some(d) = display_name {
        org.display_name = d;
    }
    if let Some(d) = description {
        org.description = d;
    }
    mto::update_org(tx, &org)?;
    Ok(())
}

/// Every member row of the organization `tenant` is in (pending ones included); empty when it
/// is in none.
pub fn member_rows(c: &Conn, tenant: &str) -> Result<Vec<Member>, StoreError> {
    match mto::org_of_tenant(c, tenant)? {
        None => Ok(Vec::new()),
        Some((org, _)) => mto::members(c, &org.org_id),
    }
}

/// `POST .../tenants`: an owner adds `tenant_id` as a pending member.
pub fn add_member(
    tx: &Conn,
    caller: &str,
    tenant_id: String,
    display_name: String,
    role: String,
) -> Result<Member, ApiError> {
    let (org, me) = org_of(tx, caller)?;
    require_owner(&me)?;
    if mto::get_member(tx, &org.org_id, &tenant_id)?.is_some() {
        return Err(ApiError::request_bad_request(
            "Tenant is already being added in Multi-Tenant Organization.",
        ));
    }
    if tenants::get_tenant(tx, &tenant_id)?.is_none() {
        // UNCONFIRMED: Graph's answer for a tenant id that does not exist.
        return Err(ApiError::request_bad_request(format!(
            "Tenant '{tenant_id}' does not exist."
        )));
    }
    let m = Member {
        org_id: org.org_id,
        tenant_id,
        display_name,
        role: role.clone(),
        state: "pending".into(),
        added_ms: now_ms(),
        joined_ms: None,
        added_by: caller.to_string(),
        transition: Some(json!({
            "desiredState": "active",
            "desiredRole": role,
            "status": "notStarted",
            "details": null,
        })),
        local_id: None,
    };
    mto::put_member(tx, &m)?;
    Ok(m)
}

/// The member row of `id` in the caller's organization (404 when either is missing).
pub fn member(c: &Conn, caller: &str, id: &str) -> Result<Member, ApiError> {
    let (org, _) = org_of(c, caller)?;
    mto::get_member(c, &org.org_id, id)?.ok_or_else(ApiError::directory_object_not_found)
}

/// A `PATCH .../tenants/{tenantId}` body: the properties that were sent.
pub struct MemberPatch {
    /// The new role (already validated).
    pub role: Option<String>,
    /// `displayName` as sent (it cannot change).
    pub display_name: Option<Value>,
    /// `tenantId` as sent (read-only).
    pub tenant_id: Option<Value>,
}

/// `PATCH .../tenants/{tenantId}`: owners change a member's role. On a pending tenant the role
/// stays and `transitionDetails.desiredRole` shows the new one until it joins; on an active
/// tenant the change is queued to run after `delay_ms`. Returns whether work was queued.
pub fn change_member(
    tx: &Conn,
    caller: &str,
    id: &str,
    patch: MemberPatch,
    delay_ms: i64,
) -> Result<bool, ApiError> {
    let (org, me) = org_of(tx, caller)?;
    require_owner(&me)?;
    let mut row =
        mto::get_member(tx, &org.org_id, id)?.ok_or_else(ApiError::directory_object_not_found)?;
    if let Some(n) = patch.display_name
        && n.as_str() != Some(row.display_name.as_str())
    {
        return Err(ApiError::request_bad_request(
            "Property 'displayName' of a multi-tenant organization member cannot be changed once set.",
        ));
    }
    if let Some(tid) = &patch.tenant_id
        && tid.as_str().and_then(parse_guid).as_deref() != Some(id)
    {
        return Err(ApiError::request_bad_request(
            "Property 'tenantId' is read-only.",
        ));
    }
    let Some(role) = patch.role else {
        return Ok(false);
    };
    if row.removal_pending() {
        return Err(ApiError::request_bad_request(
            "The tenant is being removed from the multi-tenant organization.",
        ));
    }
    if !row.is_in() {
        // Pending tenant: only the desired role changes.
        let mut tr = row.transition.clone().unwrap_or_else(
            || json!({"desiredState": "active", "status": "notStarted", "details": null}),
        );
        tr["desiredRole"] = json!(role);
        row.transition = Some(tr);
        mto::put_member(tx, &row)?;
        return Ok(false);
    }
    let rows = mto::members(tx, &org.org_id)?;
    if row.role == "owner" && role == "member" && active_owners_except(&rows, id) == 0 {
        return Err(ApiError::request_bad_request(
            "A multi-tenant organization must keep at least one active owner tenant.",
        ));
    }
    if row.role == role && row.transition.is_none() {
        return Ok(false);
    }
    let payload = json!({"role": role});
    queue_change(tx, row, "active", &role, "role", &payload, delay_ms)?;
    Ok(true)
}

/// `DELETE .../tenants/{tenantId}`: queue the removal of `id` to run after `delay_ms`; right
/// away the row reads `pending` with `transitionDetails.desiredState` `removed`. Returns whether
/// work was queued.
///
/// Rules (reference §2.2): an active member may remove itself; an owner may remove any other
/// tenant except the creator; an owner may remove itself only if another active owner remains or
/// no other active tenant remains (then the MTO is deleted).
pub fn remove_member(tx: &Conn, caller: &str, id: &str, delay_ms: i64) -> Result<bool, ApiError> {
    let (org, me) = org_of(tx, caller)?;
    let mut row =
        mto::get_member(tx, &org.org_id, id)?.ok_or_else(ApiError::directory_object_not_found)?;
    if row.removal_pending() {
        return Ok(false);
    }
    let rows = mto::members(tx, &org.org_id)?;
    if id == caller {
        if me.role == "owner" {
            let others_active = rows
                .iter()
                .filter(|m| m.is_in() && m.tenant_id != caller && !m.removal_pending())
                .count();
            if others_active > 0 && active_owners_except(&rows, caller) == 0 {
                return Err(ApiError::request_bad_request(
                    "The last active owner tenant cannot leave while other tenants are active. Make another tenant an owner first.",
                ));
            }
        }
    } else {
        require_owner(&me)?;
        if id == org.creator_tenant {
            return Err(ApiError::request_bad_request(
                "The tenant that created the multi-tenant organization cannot be removed by another tenant.",
            ));
        }
    }
    // Observed by Microsoft (ED how-to): right after DELETE the row reads state
    // "pending" with transitionDetails.desiredState "removed".
    row.state = "pending".into();
    let role = row.role.clone();
    queue_change(tx, row, "removed", &role, "remove", &json!({}), delay_ms)?;
    Ok(true)
}

/// Show a pending change on a member row (`transitionDetails` with `desired_state` and
/// `desired_role`, `notStarted`) and queue the `kind` job that applies it after `delay_ms`,
/// replacing a queued role change.
fn queue_change(
    tx: &Conn,
    mut row: Member,
    desired_state: &str,
    desired_role: &str,
    kind: &str,
    payload: &Value,
    delay_ms: i64,
) -> Result<(), StoreError> {
    row.transition = Some(json!({
        "desiredState": desired_state,
        "desiredRole": desired_role,
        "status": "notStarted",
        "details": null,
    }));
    mto::put_member(tx, &row)?;
    mto::cancel_jobs(tx, "role", &row.tenant_id)?;
    mto::enqueue(
        tx,
        now_ms() + delay_ms,
        kind,
        &row.tenant_id,
        Some(&row.org_id),
        payload,
    )?;
    Ok(())
}

/// A tenant's join request (the default record when it never sent one).
pub fn join_request(c: &Conn, tenant: &str) -> Result<JoinRequest, StoreError> {
    Ok(mto::get_join_request(c, tenant)?.unwrap_or_else(|| default_join_request(tenant)))
}

/// `PATCH .../joinRequest`: ask to join the organization of `added_by`, processed after
/// `delay_ms`; the all-zero GUID resets the record. Returns whether work was queued.
pub fn request_join(
    tx: &Conn,
    tenant: &str,
    added_by: String,
    delay_ms: i64,
) -> Result<bool, StoreError> {
    let current = join_request(tx, tenant)?;
    mto::cancel_jobs(tx, "join", tenant)?;
    if added_by == ZERO_GUID {
        mto::put_join_request(
            tx,
            &JoinRequest {
                id: current.id,
                ..default_join_request(tenant)
            },
        )?;
        return Ok(false);
    }
    if current.member_state.as_deref() == Some("active") && current.added_by == added_by {
        // Already joined through this owner: nothing to do.
        return Ok(false);
    }
    let jr = JoinRequest {
        tenant_id: tenant.to_string(),
        id: current.id,
        added_by,
        member_state: Some("pending".into()),
        role: None,
        transition: Some(json!({
            "desiredMemberState": "active",
            "status": "notStarted",
            "details": "",
        })),
    };
    mto::put_join_request(tx, &jr)?;
    mto::enqueue(tx, now_ms() + delay_ms, "join", tenant, None, &json!({}))?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Due work (applied by the job worker)

/// Apply a queued job that came due (the worker deletes it in the same transaction).
pub fn apply_job(tx: &Conn, job: &Job) -> Result<(), StoreError> {
    match job.kind.as_str() {
        "join" => complete_join(tx, &job.tenant_id),
        "remove" => complete_removal(
            tx,
            job.org_id.as_deref().unwrap_or_default(),
            &job.tenant_id,
        ),
        "role" => complete_role_change(
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
fn complete_join(tx: &Conn, joiner: &str) -> Result<(), StoreError> {
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
        for (who, t) in [("joining", joiner), ("owner", owner.as_str())] {
            let n = crate::store::docs::internal_user_count(tx, t)?;
            if n > MAX_INTERNAL_USERS {
                return fail(
                    tx,
                    jr,
                    format!(
                        "The {who} tenant {t} has {n} internal users, more than the maximum of {MAX_INTERNAL_USERS} internal users per tenant of a multi-tenant organization."
                    ),
                );
            }
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
fn complete_removal(tx: &Conn, org_id: &str, tenant: &str) -> Result<(), StoreError> {
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
fn complete_role_change(
    tx: &Conn,
    org_id: &str,
    tenant: &str,
    role: &str,
) -> Result<(), StoreError> {
    let Some(mut row) = mto::get_member(tx, org_id, tenant)? else {
        return Ok(());
    };
    if !row.is_in() || row.removal_pending() {
        return Ok(());
    }
    if row.role == "owner" && role == "member" {
        let rows = mto::members(tx, org_id)?;
        if active_owners_except(&rows, tenant) == 0 {
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
