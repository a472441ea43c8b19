//! Partner configurations (`/policies/crossTenantAccessPolicy/partners/{tenantId}`),
//! shared by `mto_inbound_acceptance` (inbound auto-redeem) and
//! `mto_outbound_share` (outbound auto-redeem): in one tenant, the acceptance
//! of A's users and the share to A touch the same object.
//!
//! Graph replaces a complex property as a whole on PATCH, so setting one
//! direction means reading the other first; callers hold the per-partner
//! lock around read-modify-write so two resources applied in parallel do not
//! undo each other.

use serde_json::json;

use super::common::ReadCache;
use crate::graph::{ErrorKind, GraphError, TenantApi, seg};

pub const PARTNERS: &str = "/policies/crossTenantAccessPolicy/partners";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    fn key(self) -> &'static str {
        match self {
            Direction::Inbound => "inboundAllowed",
            Direction::Outbound => "outboundAllowed",
        }
    }
}

pub fn lock_key(tenant: &str, partner: &str) -> String {
    format!("{tenant}/partners/{partner}")
}

pub fn partner_path(partner: &str) -> String {
    format!("{PARTNERS}/{}", seg(partner))
}

pub fn sync_path(partner: &str) -> String {
    format!("{PARTNERS}/{}/identitySynchronization", seg(partner))
}

/// The partner configuration, or `None`.
pub async fn get(
    api: &TenantApi<'_>,
    partner: &str,
    after_write: bool,
) -> Result<Option<serde_json::Value>, GraphError> {
    let call = api.get(partner_path(partner));
    let call = if after_write {
        call.retry_not_found()
    } else {
        call.batched()
    };
    match call.send().await {
        Ok(doc) => Ok(Some(doc.unwrap_or_default())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The identity synchronization policy for `partner`, or `None`.
pub async fn get_sync(
    api: &TenantApi<'_>,
    partner: &str,
    after_write: bool,
) -> Result<Option<serde_json::Value>, GraphError> {
    let call = api.get(sync_path(partner));
    let call = if after_write {
        call.retry_not_found()
    } else {
        call.batched()
    };
    match call.send().await {
        Ok(doc) => Ok(Some(doc.unwrap_or_default())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// `automaticUserConsentSettings.<direction>` as a plain bool (null means
/// "inherit the default", which is always false).
pub fn auto_redeem(doc: &serde_json::Value, d: Direction) -> bool {
    doc.pointer(&format!("/automaticUserConsentSettings/{}", d.key()))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Makes sure the partner exists with `direction` set to `value`; returns
/// whether this call created it. Hold the partner lock.
pub async fn ensure(
    api: &TenantApi<'_>,
    partner: &str,
    d: Direction,
    value: bool,
) -> Result<bool, GraphError> {
    if let Some(doc) = get(api, partner, false).await? {
        set_auto_redeem(api, partner, &doc, d, Some(value)).await?;
        return Ok(false);
    }
    let mut consent = json!({"inboundAllowed": null, "outboundAllowed": null});
    consent[d.key()] = json!(value);
    match api
        .post(
            PARTNERS,
            json!({"tenantId": partner, "automaticUserConsentSettings": consent}),
        )
        .send()
        .await
    {
        Ok(_) => Ok(true),
        // Created meanwhile (by an MTO join, or another process): use it.
        Err(e) if e.kind == ErrorKind::Conflict => {
            let doc = get(api, partner, true).await?.unwrap_or_default();
            set_auto_redeem(api, partner, &doc, d, Some(value)).await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// PATCHes one direction, keeping the other as it is.
pub async fn set_auto_redeem(
    api: &TenantApi<'_>,
    partner: &str,
    current: &serde_json::Value,
    d: Direction,
    value: Option<bool>,
) -> Result<(), GraphError> {
    let settings = current
        .get("automaticUserConsentSettings")
        .cloned()
        .unwrap_or(json!({}));
    let mut consent = json!({
        "inboundAllowed": settings.get("inboundAllowed").cloned().unwrap_or(serde_json::Value::Null),
        "outboundAllowed": settings.get("outboundAllowed").cloned().unwrap_or(serde_json::Value::Null),
    });
    if consent[d.key()] == json!(value) {
        return Ok(());
    }
    consent[d.key()] = json!(value);
    api.patch(
        partner_path(partner),
        json!({"automaticUserConsentSettings": consent}),
    )
    .retry_not_found()
    .send()
    .await?;
    Ok(())
}

/// Whether a partner configuration holds no setting at all, i.e. behaves
/// exactly like no configuration.
fn is_bare(doc: &serde_json::Value) -> bool {
    let null = |k: &str| doc.get(k).is_none_or(serde_json::Value::is_null);
    [
        "inboundTrust",
        "b2bCollaborationInbound",
        "b2bCollaborationOutbound",
        "b2bDirectConnectInbound",
        "b2bDirectConnectOutbound",
        "tenantRestrictions",
    ]
    .iter()
    .all(|k| null(k))
        && !auto_redeem(doc, Direction::Inbound)
        && !auto_redeem(doc, Direction::Outbound)
        && doc.get("isServiceProvider").and_then(|v| v.as_bool()) != Some(true)
}

/// Undoes this resource's part of a partner configuration: clears its
/// direction, and deletes the configuration when nothing is left in it and
/// it is not part of a multi-tenant organization (where Graph keeps one
/// per pair). Hold the partner lock.
pub async fn release(
    api: &TenantApi<'_>,
    partner: &str,
    d: Direction,
    created_by_us: bool,
) -> Result<(), GraphError> {
    let Some(doc) = get(api, partner, false).await? else {
        return Ok(());
    };
    set_auto_redeem(api, partner, &doc, d, None).await?;
    let in_mto = doc
        .get("isInMultiTenantOrganization")
        .and_then(|v| v.as_bool())
        == Some(true);
    if in_mto && !created_by_us {
        return Ok(());
    }
    let mut after = doc.clone();
    if let Some(s) = after
        .get_mut("automaticUserConsentSettings")
        .and_then(|s| s.as_object_mut())
    {
        s.insert(d.key().to_owned(), serde_json::Value::Null);
    }
    if !is_bare(&after) || get_sync(api, partner, false).await?.is_some() {
        return Ok(());
    }
    match api.delete(partner_path(partner)).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// How long one list of partners serves refreshes.
const SNAPSHOT_TTL: std::time::Duration = std::time::Duration::from_secs(20);

fn snapshot_key(tenant: &str) -> String {
    format!("{}/partners", tenant.to_ascii_lowercase())
}

/// Forgets the tenant's partner snapshot; call before any write.
pub fn invalidate(cache: &ReadCache, tenant: &str) {
    cache.invalidate(&snapshot_key(tenant));
}

/// For refresh: the partner configuration and its sync policy (`None` when
/// there is none), read from one `$expand`ed list of the tenant's partners
/// shared by every refresh in this provider process — a plan over a
/// thousand acceptances in a tenant costs one request instead of a
/// thousand. `None` when the partner does not exist.
pub async fn refresh_get(
    api: &TenantApi<'_>,
    cache: &ReadCache,
    partner: &str,
) -> Result<Option<(serde_json::Value, Option<serde_json::Value>)>, GraphError> {
    let snapshot = cache
        .get_or_fetch(&snapshot_key(api.tenant_id()), SNAPSHOT_TTL, || async {
            let items = api
                .get_all(&format!("{PARTNERS}?$expand=identitySynchronization"))
                .await?;
            Ok(items
                .into_iter()
                .filter_map(|p| Some((p.get("tenantId")?.as_str()?.to_ascii_lowercase(), p)))
                .collect())
        })
        .await?;
    let Some(doc) = snapshot.get(&partner.to_ascii_lowercase()) else {
        return Ok(None);
    };
    let sync = match doc.get("identitySynchronization") {
        Some(s) if s.is_null() => None,
        Some(s) => Some(s.clone()),
        // A server that ignored $expand: ask directly.
        None => get_sync(api, partner, false).await?,
    };
    Ok(Some((doc.clone(), sync)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_means_nothing_set() {
        assert!(is_bare(
            &json!({"tenantId": "x", "automaticUserConsentSettings": {"inboundAllowed": null, "outboundAllowed": false}})
        ));
        assert!(!is_bare(
            &json!({"automaticUserConsentSettings": {"inboundAllowed": true}})
        ));
        assert!(!is_bare(
            &json!({"b2bCollaborationInbound": {"usersAndGroups": {}}})
        ));
        assert!(!is_bare(&json!({"isServiceProvider": true})));
    }
}
