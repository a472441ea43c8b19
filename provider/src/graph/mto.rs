//! The multi-tenant organization of a tenant: the organization singleton,
//! its member tenants (as the owner sees them) and the tenant's own join
//! request.
//!
//! Graph: `/tenantRelationships/multiTenantOrganization` (`PUT` creates, 201,
//! asynchronously; `PATCH` 204; no `DELETE`: the organization goes when its
//! last tenant leaves), `.../tenants` (`POST` 201 `pending`, `PATCH` role
//! 204, `DELETE` 204 and asynchronous), `.../joinRequest` (`PATCH
//! addedByTenantId` 204; the all-zero GUID withdraws). A tenant in no
//! organization reads as `state: inactive` with 200, not 404.

use serde::{Deserialize, Serialize};

use super::client::{ReadMode, TenantApi, seg};
use super::error::{ErrorKind, Result};

const ORGANIZATION: &str = "/tenantRelationships/multiTenantOrganization";
const TENANTS: &str = "/tenantRelationships/multiTenantOrganization/tenants";
const JOIN_REQUEST: &str = "/tenantRelationships/multiTenantOrganization/joinRequest";
/// `addedByTenantId` of a tenant that has asked to join nothing.
pub const NO_TENANT: &str = "00000000-0000-0000-0000-000000000000";

/// The organization as one tenant sees it (its `id` differs per tenant).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Organization {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// `active`, or `inactive` when the tenant is in no organization.
    pub state: Option<String>,
    pub created_date_time: Option<String>,
}

impl Organization {
    pub fn is_active(&self) -> bool {
        self.state.as_deref() == Some("active")
    }
}

/// What create and update send.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationInput<'a> {
    pub display_name: &'a str,
    pub description: Option<&'a str>,
}

/// A tenant of the organization, as its owner lists it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct MemberTenant {
    pub tenant_id: String,
    pub display_name: Option<String>,
    pub added_date_time: Option<String>,
    pub joined_date_time: Option<String>,
    pub added_by_tenant_id: Option<String>,
    /// `owner` or `member`.
    pub role: Option<String>,
    /// `pending`, `active` or `removed`.
    pub state: Option<String>,
    pub transition_details: Option<MemberTransition>,
}

/// A change of a member tenant in progress.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct MemberTransition {
    pub desired_state: Option<String>,
    pub desired_role: Option<String>,
    pub status: Option<String>,
    pub details: Option<String>,
}

impl MemberTenant {
    pub fn is_active(&self) -> bool {
        self.state.as_deref() == Some("active")
    }

    /// Removed, or on its way out (Graph keeps the row while it removes it).
    pub fn is_leaving(&self) -> bool {
        self.state.as_deref() == Some("removed")
            || self
                .transition_details
                .as_ref()
                .and_then(|t| t.desired_state.as_deref())
                == Some("removed")
    }

    /// The role as applied: a role change is processed asynchronously, and
    /// until Graph catches up the desired role is the one that counts.
    pub fn effective_role(&self) -> Option<&str> {
        self.transition_details
            .as_ref()
            .and_then(|t| t.desired_role.as_deref())
            .or(self.role.as_deref())
    }
}

/// The tenant's own request to join an organization.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct JoinRequestRecord {
    pub id: Option<String>,
    pub added_by_tenant_id: Option<String>,
    /// `pending` until the join completes, then `active`.
    pub member_state: Option<String>,
    pub role: Option<String>,
    pub transition_details: Option<JoinTransition>,
}

/// A join in progress (or failed).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct JoinTransition {
    pub desired_member_state: Option<String>,
    pub status: Option<String>,
    pub details: Option<String>,
}

impl JoinRequestRecord {
    /// The owner that added this tenant, unless there is no request.
    pub fn owner(&self) -> Option<&str> {
        self.added_by_tenant_id
            .as_deref()
            .filter(|by| *by != NO_TENANT)
    }

    /// Whether the record describes a live request (pending or joined).
    pub fn is_request(&self) -> bool {
        self.owner().is_some() && matches!(self.member_state.as_deref(), Some("pending" | "active"))
    }

    pub fn is_active(&self) -> bool {
        self.member_state.as_deref() == Some("active")
    }

    /// Graph's reason, when the join failed.
    pub fn failure(&self) -> Option<String> {
        let t = self.transition_details.as_ref()?;
        (t.status.as_deref() == Some("failed"))
            .then(|| t.details.clone().unwrap_or_else(|| "no details".to_owned()))
    }
}

/// The multi-tenant organization service of one tenant.
#[derive(Clone, Copy)]
pub struct Mto<'a> {
    api: &'a TenantApi<'a>,
}

impl<'a> TenantApi<'a> {
    pub fn mto(&'a self) -> Mto<'a> {
        Mto { api: self }
    }
}

impl Mto<'_> {
    /// The organization singleton (`state: inactive` when there is none).
    pub async fn get(self) -> Result<Organization> {
        self.api.get(ORGANIZATION).batched().json().await
    }

    /// The organization, when the tenant is in an active one.
    pub async fn active(self) -> Result<Option<Organization>> {
        Ok(Some(self.get().await?).filter(Organization::is_active))
    }

    /// Creates the organization (asynchronously: poll [`Mto::active`]).
    /// Not resent after a lost answer: a second PUT may fail or make a
    /// second organization.
    pub async fn create(self, input: &OrganizationInput<'_>) -> Result<()> {
        self.api
            .put(ORGANIZATION, to_json(input))
            .not_idempotent()
            .done()
            .await
    }

    pub async fn update(self, input: &OrganizationInput<'_>) -> Result<()> {
        self.api.patch(ORGANIZATION, to_json(input)).done().await
    }

    /// Every tenant of the organization, pending ones included.
    pub async fn tenants(self) -> Result<Vec<MemberTenant>> {
        self.api.list(TENANTS).await
    }

    /// One member tenant, `None` when it is not in the organization.
    pub async fn tenant(self, tenant_id: &str, mode: ReadMode) -> Result<Option<MemberTenant>> {
        self.api.find(member_path(tenant_id), mode).await
    }

    /// Adds a tenant (it stays `pending` until its join request completes).
    /// Graph reports a tenant already added with a 400, returned here as a
    /// [`ErrorKind::Conflict`].
    pub async fn add_tenant(self, tenant_id: &str, display_name: &str, role: &str) -> Result<()> {
        let body =
            serde_json::json!({"tenantId": tenant_id, "displayName": display_name, "role": role});
        match self.api.post(TENANTS, body).done().await {
            Err(mut e) if e.kind == ErrorKind::BadRequest && e.message.contains("already") => {
                e.kind = ErrorKind::Conflict;
                Err(e)
            }
            other => other,
        }
    }

    pub async fn set_role(self, tenant_id: &str, role: &str) -> Result<()> {
        self.api
            .patch(member_path(tenant_id), serde_json::json!({"role": role}))
            .done()
            .await
    }

    /// Removes a tenant (or, for the tenant's own id, leaves). Removal is
    /// asynchronous. `false` when the tenant was not in the organization.
    pub async fn remove_tenant(self, tenant_id: &str) -> Result<bool> {
        found(self.api.delete(member_path(tenant_id)).done().await)
    }

    pub async fn join_request(self) -> Result<JoinRequestRecord> {
        self.api.get(JOIN_REQUEST).batched().json().await
    }

    /// Asks to join the organization of `owner`, which must have added
    /// this tenant.
    pub async fn file_join_request(self, owner: &str) -> Result<()> {
        self.api
            .patch(JOIN_REQUEST, serde_json::json!({"addedByTenantId": owner}))
            .done()
            .await
    }

    /// Withdraws a request that never completed (or resets a failed one).
    pub async fn withdraw_join_request(self) -> Result<()> {
        self.file_join_request(NO_TENANT).await
    }
}

fn member_path(tenant_id: &str) -> String {
    format!("{TENANTS}/{}", seg(tenant_id))
}

/// `Ok(false)` for a 404: the object to remove was not there.
pub(super) fn found(r: Result<()>) -> Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

pub(super) fn to_json<T: Serialize>(body: &T) -> serde_json::Value {
    serde_json::to_value(body).expect("request bodies are plain data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_rows_read_as_graph_reports_them() {
        let m: MemberTenant = serde_json::from_value(serde_json::json!({
            "tenantId": "t", "displayName": "B", "role": "member", "state": "pending",
            "transitionDetails": {"desiredState": "active", "desiredRole": "owner", "status": "notStarted", "details": null}
        }))
        .unwrap();
        assert_eq!(m.effective_role(), Some("owner"));
        assert!(!m.is_leaving());
        let leaving: MemberTenant = serde_json::from_value(serde_json::json!({
            "tenantId": "t", "state": "pending", "transitionDetails": {"desiredState": "removed"}
        }))
        .unwrap();
        assert!(leaving.is_leaving());
    }

    #[test]
    fn join_records_tell_requests_from_nothing() {
        let none: JoinRequestRecord =
            serde_json::from_value(serde_json::json!({"addedByTenantId": NO_TENANT})).unwrap();
        assert!(!none.is_request());
        assert_eq!(none.owner(), None);
        let failed: JoinRequestRecord = serde_json::from_value(serde_json::json!({
            "addedByTenantId": "o", "memberState": "pending",
            "transitionDetails": {"desiredMemberState": "active", "status": "failed", "details": "DirectoryService Exception"}
        }))
        .unwrap();
        assert!(failed.is_request());
        assert_eq!(
            failed.failure().as_deref(),
            Some("DirectoryService Exception")
        );
    }

    #[test]
    fn an_inactive_organization_has_null_fields() {
        let o: Organization = serde_json::from_value(serde_json::json!({
            "createdDateTime": null, "displayName": null, "description": null, "state": "inactive"
        }))
        .unwrap();
        assert!(!o.is_active());
        assert_eq!(o.id, None);
    }
}
