//! The cross-tenant access policy check of `validateCredentials` and of every cycle (reference
//! §6.2, §11): the target must allow inbound synchronization and inbound automatic redemption
//! from the source, and the source must allow outbound automatic redemption to the target.

use serde_json::Value;

use crate::error::ApiError;
use crate::store::docs::{self, kind};
use crate::store::sync as ss;
use crate::store::tenants;
use crate::store::{Conn, StoreError};
use crate::util::parse_guid;

/// The error code Graph uses when a tenant's policies do not allow synchronization.
pub const POLICY_CHECK_FAILED: &str = "AzureDirectoryB2BManagementPolicyCheckFailure";

fn flag(doc: Option<&serde_json::Map<String, Value>>, block: &str, prop: &str) -> bool {
    doc.and_then(|d| d.get(block))
        .and_then(|b| b.get(prop))
        .and_then(Value::as_bool)
        == Some(true)
}

/// What is missing for `source` to synchronize users into `target` (empty = allowed). Reads the
/// policies regardless of the replication-lag fault.
pub fn missing(c: &Conn, source: &str, target: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let target_partner = docs::get(c, target, kind::PARTNER, source)?;
    if !flag(
        target_partner.as_ref().map(|d| &d.body),
        "automaticUserConsentSettings",
        "inboundAllowed",
    ) {
        out.push(format!(
            "the target tenant {target} does not redeem invitations from {source} automatically (its partner configuration for {source} needs automaticUserConsentSettings.inboundAllowed = true)"
        ));
    }
    let sync = docs::get(c, target, kind::IDENTITY_SYNC, source)?;
    if !flag(
        sync.as_ref().map(|d| &d.body),
        "userSyncInbound",
        "isSyncAllowed",
    ) {
        out.push(format!(
            "the target tenant {target} does not allow user synchronization from {source} (its identitySynchronization policy for {source} needs userSyncInbound.isSyncAllowed = true)"
        ));
    }
    let source_partner = docs::get(c, source, kind::PARTNER, target)?;
    if !flag(
        source_partner.as_ref().map(|d| &d.body),
        "automaticUserConsentSettings",
        "outboundAllowed",
    ) {
        out.push(format!(
            "the source tenant {source} does not redeem invitations to {target} automatically (its partner configuration for {target} needs automaticUserConsentSettings.outboundAllowed = true)"
        ));
    }
    Ok(out)
}

/// Whether the target allows `source` to synchronize security groups into it: its
/// identitySynchronization policy for `source` has `groupSyncInbound.isSyncAllowed = true` (a beta
/// property, reference §5.5). Checked by every cycle whose group mapping is enabled.
pub fn group_sync_allowed(c: &Conn, source: &str, target: &str) -> Result<bool, StoreError> {
    let sync = docs::get(c, target, kind::IDENTITY_SYNC, source)?;
    Ok(flag(
        sync.as_ref().map(|d| &d.body),
        "groupSyncInbound",
        "isSyncAllowed",
    ))
}

/// Why groups are not provisioned when [`group_sync_allowed`] is false.
pub fn group_sync_refused(source: &str, target: &str) -> String {
    format!(
        "Group synchronization is not allowed: the target tenant {target} does not allow groups to be synchronized from {source} (its identitySynchronization policy for {source} needs groupSyncInbound.isSyncAllowed = true, a beta property)."
    )
}

/// `validateCredentials`: the `CompanyId` of the credentials (`given`, or the saved secrets of
/// the service principal `sp_id` when None) must name another existing tenant, and the policies
/// must allow `source` to synchronize users into it (400 naming what is missing).
pub fn validate_credentials(
    c: &Conn,
    source: &str,
    sp_id: &str,
    given: Option<Vec<(String, String)>>,
) -> Result<(), ApiError> {
    let creds = match given {
        Some(g) => g,
        None => ss::secrets(c, source, sp_id)?,
    };
    let company = creds
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("CompanyId"))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            // UNCONFIRMED code and wording for incomplete credentials.
            ApiError::bad_request(
                "The credentials do not contain CompanyId (the target tenant id).",
            )
        })?;
    let target = parse_guid(&company)
        .and_then(|g| tenants::get_tenant(c, &g).transpose())
        .transpose()?
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "CompanyId '{company}' is not the id of an existing tenant."
            ))
        })?;
    if target.id == source {
        return Err(ApiError::bad_request(
            "CompanyId must name another tenant than the source tenant.",
        ));
    }
    let missing = missing(c, source, &target.id)?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(error(&missing))
    }
}

/// The message of a failed check, naming everything that is missing.
pub fn message(missing: &[String]) -> String {
    let redemption = missing.iter().any(|m| m.contains("automatically"));
    format!(
        "{}Cross-tenant synchronization is not allowed: {}.",
        if redemption {
            "Policy permitting auto-redemption of invitations not configured. "
        } else {
            ""
        },
        missing.join("; ")
    )
}

/// 400 with code `AzureDirectoryB2BManagementPolicyCheckFailure` (UNCONFIRMED status: the portal
/// shows the code and "Policy permitting auto-redemption of invitations not configured.").
pub fn error(missing: &[String]) -> ApiError {
    ApiError::BadRequest {
        code: POLICY_CHECK_FAILED,
        message: message(missing),
    }
}
