//! Cross-tenant access policy (reference §4–§5): the documents a tenant starts with, the PATCH
//! semantics shared by the root, the default, the MTO templates, partners and their
//! identity-synchronization policies, and the partner configuration an MTO join generates
//! ([`ensure_partner`], [`ensure_identity_sync`], [`apply_templates`], [`set_in_mto`]).
//!
//! PATCH semantics: each top-level property sent replaces the stored one (a nested object
//! replaces the whole property), `null` clears it, properties not sent are kept.

use serde_json::{Map, Value, json};

use super::check_properties;
use crate::error::{ApiError, ErrorDetail};
use crate::store::docs::{self, Doc, kind};
use crate::store::filter::SqlFilter;
use crate::store::{Conn, StoreError};
use crate::util::{now_ms, object, seed_guid};

/// Properties of the MTO partner configuration template (`templateApplicationLevel` first).
pub const PARTNER_TEMPLATE_WRITABLE: &[&str] = &[
    "templateApplicationLevel",
    "inboundTrust",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "automaticUserConsentSettings",
];

/// Properties a client may set on a partner configuration.
pub const PARTNER_WRITABLE: &[&str] = &[
    "inboundTrust",
    "automaticUserConsentSettings",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "isServiceProvider",
    "tenantRestrictions",
    "crossCloudMeetingConfiguration",
    "protectedContentSharing",
];

/// The Graph type of a partner configuration.
pub const PARTNER_TYPE: &str = "crossTenantAccessPolicyConfigurationPartner";
/// The Graph type of an identity-synchronization policy.
pub const SYNC_TYPE: &str = "crossTenantIdentitySyncPolicyPartner";

// ---------------------------------------------------------------------------------------------
// Default documents

fn all_targets(access: &str) -> Value {
    json!({
        "usersAndGroups": {"accessType": access, "targets": [{"target": "AllUsers", "targetType": "user"}]},
        "applications": {"accessType": access, "targets": [{"target": "AllApplications", "targetType": "application"}]},
    })
}

fn default_root(tenant: &str) -> Map<String, Value> {
    object(json!({
        "id": seed_guid(tenant, "policy", "crossTenantAccessPolicy"),
        "displayName": "CrossTenantAccessPolicy",
        "allowedCloudEndpoints": [],
    }))
}

/// System default of `/policies/crossTenantAccessPolicy/default` (reference §5.4).
pub fn system_default() -> Map<String, Value> {
    let mut tr = all_targets("blocked");
    tr["devices"] = Value::Null;
    object(json!({
        "isServiceDefault": true,
        "inboundTrust": {
            "isMfaAccepted": false,
            "isCompliantDeviceAccepted": false,
            "isHybridAzureADJoinedDeviceAccepted": false,
        },
        "automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": false},
        "b2bCollaborationInbound": all_targets("allowed"),
        "b2bCollaborationOutbound": all_targets("allowed"),
        "b2bDirectConnectInbound": all_targets("blocked"),
        "b2bDirectConnectOutbound": all_targets("blocked"),
        "invitationRedemptionIdentityProviderConfiguration": {
            "primaryIdentityProviderPrecedenceOrder": ["externalAzureActiveDirectory", "externalFederation", "socialIdentityProviders"],
            "fallbackIdentityProvider": "defaultConfiguredIdp",
        },
        "tenantRestrictions": tr,
    }))
}

/// A freshly created partner configuration (body only `tenantId`).
pub fn default_partner(partner_tenant: &str) -> Map<String, Value> {
    object(json!({
        "tenantId": partner_tenant,
        "isServiceProvider": null,
        "isInMultiTenantOrganization": false,
        "inboundTrust": null,
        "automaticUserConsentSettings": {"inboundAllowed": null, "outboundAllowed": null},
        "b2bCollaborationInbound": null,
        "b2bCollaborationOutbound": null,
        "b2bDirectConnectInbound": null,
        "b2bDirectConnectOutbound": null,
        "tenantRestrictions": null,
        "crossCloudMeetingConfiguration": null,
        "protectedContentSharing": null,
    }))
}

pub fn default_identity_sync(partner_tenant: &str) -> Map<String, Value> {
    object(json!({
        "tenantId": partner_tenant,
        "displayName": null,
        "userSyncInbound": null,
        "groupSyncInbound": null,
        "externalCloudAuthorizedApplicationId": null,
    }))
}

const DEFAULT_LEVEL: &str = "newPartners,existingPartners";

fn default_sync_template(tenant: &str) -> Map<String, Value> {
    object(json!({
        "id": seed_guid(tenant, "template", "multiTenantOrganizationIdentitySynchronization"),
        "templateApplicationLevel": DEFAULT_LEVEL,
        "userSyncInbound": {"isSyncAllowed": null},
    }))
}

fn default_partner_template(tenant: &str) -> Map<String, Value> {
    object(json!({
        "id": seed_guid(tenant, "template", "multiTenantOrganizationPartnerConfiguration"),
        "templateApplicationLevel": DEFAULT_LEVEL,
        "inboundTrust": null,
        "b2bCollaborationInbound": null,
        "b2bCollaborationOutbound": null,
        "b2bDirectConnectInbound": null,
        "b2bDirectConnectOutbound": null,
        "automaticUserConsentSettings": {"inboundAllowed": null, "outboundAllowed": null},
    }))
}

fn singleton_default(tenant: &str, k: &str) -> Map<String, Value> {
    match k {
        kind::CTAP_ROOT => default_root(tenant),
        kind::CTAP_DEFAULT => system_default(),
        kind::TEMPLATE_SYNC => default_sync_template(tenant),
        _ => default_partner_template(tenant),
    }
}

/// A per-tenant singleton document, or its default when never written.
pub fn load_singleton(c: &Conn, tenant: &str, k: &str) -> Result<Map<String, Value>, StoreError> {
    Ok(docs::get(c, tenant, k, "")?
        .map(|d| d.body)
        .unwrap_or_else(|| singleton_default(tenant, k)))
}

// ---------------------------------------------------------------------------------------------
// Validation

fn invalid(prop: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid value specified for property '{prop}'."))
}

fn check_bool_object(v: &Value, prop: &str, keys: &[&str]) -> Result<(), ApiError> {
    match v {
        Value::Null => Ok(()),
        Value::Object(m) => {
            for (k, x) in m {
                if k.starts_with("@odata.") {
                    continue;
                }
                if !keys.contains(&k.as_str()) || !(x.is_null() || x.is_boolean()) {
                    return Err(invalid(&format!("{prop}.{k}")));
                }
            }
            Ok(())
        }
        _ => Err(invalid(prop)),
    }
}

fn check_target_config(v: &Value, prop: &str) -> Result<(), ApiError> {
    match v {
        Value::Null => Ok(()),
        Value::Object(m) => {
            for (k, x) in m {
                match k.as_str() {
                    "accessType" => {
                        if !matches!(
                            x.as_str(),
                            Some("allowed" | "blocked" | "unknownFutureValue")
                        ) && !x.is_null()
                        {
                            return Err(invalid(&format!("{prop}.accessType")));
                        }
                    }
                    "targets" => {
                        let Some(arr) = x.as_array() else {
                            return Err(invalid(&format!("{prop}.targets")));
                        };
                        for t in arr {
                            let ok = t.get("target").is_some_and(Value::is_string)
                                && matches!(
                                    t.get("targetType").and_then(Value::as_str),
                                    Some("user" | "group" | "application" | "unknownFutureValue")
                                );
                            if !ok {
                                return Err(invalid(&format!("{prop}.targets")));
                            }
                        }
                    }
                    k if k.starts_with("@odata.") => {}
                    _ => return Err(invalid(&format!("{prop}.{k}"))),
                }
            }
            Ok(())
        }
        _ => Err(invalid(prop)),
    }
}

fn check_b2b_setting(v: &Value, prop: &str) -> Result<(), ApiError> {
    match v {
        Value::Null => Ok(()),
        Value::Object(m) => {
            for (k, x) in m {
                match k.as_str() {
                    "usersAndGroups" | "applications" => {
                        check_target_config(x, &format!("{prop}.{k}"))?
                    }
                    k if k.starts_with("@odata.") => {}
                    _ => return Err(invalid(&format!("{prop}.{k}"))),
                }
            }
            Ok(())
        }
        _ => Err(invalid(prop)),
    }
}

/// Type-check the settings properties shared by partners, the default and the templates.
fn check_setting(prop: &str, v: &Value) -> Result<(), ApiError> {
    match prop {
        "inboundTrust" => check_bool_object(
            v,
            prop,
            &[
                "isMfaAccepted",
                "isCompliantDeviceAccepted",
                "isHybridAzureADJoinedDeviceAccepted",
            ],
        ),
        "automaticUserConsentSettings"
        | "crossCloudMeetingConfiguration"
        | "protectedContentSharing" => {
            check_bool_object(v, prop, &["inboundAllowed", "outboundAllowed"])
        }
        "b2bCollaborationInbound"
        | "b2bCollaborationOutbound"
        | "b2bDirectConnectInbound"
        | "b2bDirectConnectOutbound" => check_b2b_setting(v, prop),
        "isServiceProvider" => {
            if v.is_null() || v.is_boolean() {
                Ok(())
            } else {
                Err(invalid(prop))
            }
        }
        "userSyncInbound" | "groupSyncInbound" => check_bool_object(v, prop, &["isSyncAllowed"]),
        "displayName" | "externalCloudAuthorizedApplicationId" => {
            if v.is_null() || v.is_string() {
                Ok(())
            } else {
                Err(invalid(prop))
            }
        }
        "tenantRestrictions" | "invitationRedemptionIdentityProviderConfiguration" => {
            if v.is_null() || v.is_object() {
                Ok(())
            } else {
                Err(invalid(prop))
            }
        }
        "templateApplicationLevel" => {
            let ok = v.as_str().is_some_and(|s| {
                !s.trim().is_empty()
                    && s.split(',').map(str::trim).all(|p| {
                        matches!(
                            p,
                            "none" | "newPartners" | "existingPartners" | "unknownFutureValue"
                        )
                    })
            });
            if ok { Ok(()) } else { Err(invalid(prop)) }
        }
        "allowedCloudEndpoints" => {
            let ok = v.as_array().is_some_and(|a| {
                a.iter().all(|e| {
                    matches!(
                        e.as_str(),
                        Some(
                            "microsoftonline.com"
                                | "microsoftonline.us"
                                | "partner.microsoftonline.cn"
                        )
                    )
                })
            });
            if ok { Ok(()) } else { Err(invalid(prop)) }
        }
        _ => Ok(()),
    }
}

/// Apply a PATCH body to a stored object: validate then replace each sent property.
/// `ignored` properties are accepted and dropped (read-only, service-managed).
fn merge_patch(
    stored: &mut Map<String, Value>,
    body: &Map<String, Value>,
    writable: &[&str],
    ignored: &[&str],
    type_name: &str,
) -> Result<(), ApiError> {
    let all: Vec<&str> = writable.iter().chain(ignored).copied().collect();
    check_properties(body, &all, type_name)?;
    for (k, v) in body {
        if k.starts_with("@odata.") || ignored.contains(&k.as_str()) {
            continue;
        }
        check_setting(k, v)?;
        let v = if k == "templateApplicationLevel" {
            Value::String(
                v.as_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(","),
            )
        } else {
            v.clone()
        };
        stored.insert(k.clone(), v);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Singletons: the root, the default and the MTO templates

/// PATCH a per-tenant singleton (kind `k`): `writable` properties replace the stored ones,
/// `ignored` ones are accepted and dropped; patching the default clears `isServiceDefault`.
#[allow(clippy::too_many_arguments)]
pub fn patch_singleton(
    tx: &Conn,
    tenant: &str,
    k: &str,
    body: &Map<String, Value>,
    writable: &[&str],
    ignored: &[&str],
    type_name: &str,
    clears_service_default: bool,
) -> Result<(), ApiError> {
    let mut doc = load_singleton(tx, tenant, k)?;
    merge_patch(&mut doc, body, writable, ignored, type_name)?;
    if clears_service_default {
        doc.insert("isServiceDefault".into(), Value::Bool(false));
    }
    docs::upsert(tx, tenant, k, "", &doc, now_ms())?;
    Ok(())
}

/// Reset a singleton to its default (the stored document is forgotten).
pub fn reset_singleton(tx: &Conn, tenant: &str, k: &str) -> Result<(), StoreError> {
    docs::delete(tx, tenant, k, "")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Partners and their identity-synchronization policies

/// A tenant's partner configurations visible at `visible_before`, each with its
/// identity-synchronization policy when `with_sync`.
pub fn partners(
    c: &Conn,
    tenant: &str,
    with_sync: bool,
    visible_before: i64,
) -> Result<Vec<(Doc, Option<Doc>)>, StoreError> {
    let partners = docs::list(
        c,
        tenant,
        kind::PARTNER,
        &SqlFilter::default(),
        None,
        10_000,
        visible_before,
    )?;
    let mut out = Vec::with_capacity(partners.len());
    for p in partners {
        let sync = if with_sync {
            docs::get_visible(c, tenant, kind::IDENTITY_SYNC, &p.key, visible_before)?
        } else {
            None
        };
        out.push((p, sync));
    }
    Ok(out)
}

/// One partner configuration (404 when not visible), with its identity-synchronization policy
/// when `with_sync`.
pub fn partner(
    c: &Conn,
    tenant: &str,
    key: &str,
    with_sync: bool,
    visible_before: i64,
) -> Result<(Doc, Option<Doc>), ApiError> {
    let p = docs::get_visible(c, tenant, kind::PARTNER, key, visible_before)?
        .ok_or_else(ApiError::directory_object_not_found)?;
    let sync = if with_sync {
        docs::get_visible(c, tenant, kind::IDENTITY_SYNC, key, visible_before)?
    } else {
        None
    };
    Ok((p, sync))
}

/// A new partner configuration for `partner_tenant` with the settings of a POST body (validated).
pub fn new_partner(
    partner_tenant: &str,
    settings: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut doc = default_partner(partner_tenant);
    merge_patch(
        &mut doc,
        settings,
        PARTNER_WRITABLE,
        &["isInMultiTenantOrganization"],
        PARTNER_TYPE,
    )?;
    Ok(doc)
}

/// Store a new partner configuration; a duplicate `tenantId` is 409.
pub fn insert_partner(
    tx: &Conn,
    tenant: &str,
    partner_tenant: &str,
    doc: &Map<String, Value>,
) -> Result<(), ApiError> {
    if !docs::insert(tx, tenant, kind::PARTNER, partner_tenant, doc, now_ms())? {
        // UNCONFIRMED status (reference §5.2): the code and message are documented.
        return Err(ApiError::same_key_conflict(
            "Another object with the same value for property tenantId already exists.",
        ));
    }
    Ok(())
}

/// PATCH a partner configuration (404 when there is none). `isInMultiTenantOrganization` is
/// service-managed and ignored (UNCONFIRMED).
pub fn patch_partner(
    tx: &Conn,
    tenant: &str,
    key: &str,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let mut p = docs::get(tx, tenant, kind::PARTNER, key)?
        .ok_or_else(ApiError::directory_object_not_found)?;
    merge_patch(
        &mut p.body,
        body,
        PARTNER_WRITABLE,
        &["isInMultiTenantOrganization"],
        PARTNER_TYPE,
    )?;
    docs::update(tx, tenant, kind::PARTNER, key, &p.body)?;
    Ok(())
}

/// Delete a partner configuration; refused with 400 while its identity-synchronization policy
/// exists (UNCONFIRMED status and message).
pub fn delete_partner(tx: &Conn, tenant: &str, key: &str) -> Result<(), ApiError> {
    if docs::get(tx, tenant, kind::PARTNER, key)?.is_none() {
        return Err(ApiError::directory_object_not_found());
    }
    if docs::get(tx, tenant, kind::IDENTITY_SYNC, key)?.is_some() {
        return Err(ApiError::request_bad_request(format!(
            "The partner configuration for tenant '{key}' cannot be deleted while it has an identitySynchronization policy. Delete the identitySynchronization policy first."
        )));
    }
    docs::delete(tx, tenant, kind::PARTNER, key)?;
    Ok(())
}

/// A new identity-synchronization policy for `partner_tenant` with the `writable` properties of
/// a PUT body (validated).
pub fn new_identity_sync(
    partner_tenant: &str,
    body: &Map<String, Value>,
    writable: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let mut doc = default_identity_sync(partner_tenant);
    merge_patch(&mut doc, body, writable, &[], SYNC_TYPE)?;
    Ok(doc)
}

/// Store a new identity-synchronization policy: 404 without its partner configuration, 409 if
/// one exists.
pub fn insert_identity_sync(
    tx: &Conn,
    tenant: &str,
    key: &str,
    doc: &Map<String, Value>,
) -> Result<(), ApiError> {
    if docs::get(tx, tenant, kind::PARTNER, key)?.is_none() {
        return Err(ApiError::directory_object_not_found());
    }
    if !docs::insert(tx, tenant, kind::IDENTITY_SYNC, key, doc, now_ms())? {
        return Err(ApiError::Conflict {
            code: "Request_MultipleObjectsWithSameKeyValue",
            message: "A conflicting object with one or more of the specified property values is present in the directory.".into(),
            details: vec![ErrorDetail {
                code: "ConflictingObjects".into(),
                message: "A conflicting object with one or more of the specified property values is present in the directory.".into(),
                target: Some(key.to_string()),
            }],
        });
    }
    Ok(())
}

/// A partner's identity-synchronization policy (404 when not visible).
pub fn identity_sync(
    c: &Conn,
    tenant: &str,
    key: &str,
    visible_before: i64,
) -> Result<Doc, ApiError> {
    docs::get_visible(c, tenant, kind::IDENTITY_SYNC, key, visible_before)?
        .ok_or_else(ApiError::directory_object_not_found)
}

/// PATCH an identity-synchronization policy with its `writable` properties (404 when none).
pub fn patch_identity_sync(
    tx: &Conn,
    tenant: &str,
    key: &str,
    body: &Map<String, Value>,
    writable: &[&str],
) -> Result<(), ApiError> {
    let mut d = docs::get(tx, tenant, kind::IDENTITY_SYNC, key)?
        .ok_or_else(ApiError::directory_object_not_found)?;
    merge_patch(&mut d.body, body, writable, &[], SYNC_TYPE)?;
    docs::update(tx, tenant, kind::IDENTITY_SYNC, key, &d.body)?;
    Ok(())
}

/// Delete an identity-synchronization policy (404 when none).
pub fn delete_identity_sync(tx: &Conn, tenant: &str, key: &str) -> Result<(), ApiError> {
    if docs::delete(tx, tenant, kind::IDENTITY_SYNC, key)? {
        Ok(())
    } else {
        Err(ApiError::directory_object_not_found())
    }
}

// ---------------------------------------------------------------------------------------------
// What an MTO join generates (directory::mto)

/// Whether a template with `level` applies to a configuration that was just auto-generated
/// (`created`, "newPartners") or existed before ("existingPartners").
pub fn template_applies(level: &str, created: bool) -> bool {
    let want = if created {
        "newPartners"
    } else {
        "existingPartners"
    };
    level.split(',').map(str::trim).any(|p| p == want)
}

/// Merge the non-null values of `src` into `target`, recursively (reference §4.3: only non-null
/// template properties overwrite the partner's values).
pub fn merge_non_null(target: &mut Value, src: &Value) {
    match src {
        Value::Null => {}
        Value::Object(s) => {
            if let Value::Object(t) = target {
                for (k, v) in s {
                    if !v.is_null() {
                        merge_non_null(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            } else {
                // Build the object from the non-null values only; an all-null template object
                // leaves the target (e.g. null) unchanged.
                let mut fresh = Value::Object(Map::new());
                merge_non_null(&mut fresh, src);
                if fresh.as_object().is_some_and(|m| !m.is_empty()) {
                    *target = fresh;
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Make sure `tenant` has a partner configuration for `partner`; returns whether it was created.
pub fn ensure_partner(c: &Conn, tenant: &str, partner: &str, now: i64) -> Result<bool, StoreError> {
    docs::insert(
        c,
        tenant,
        kind::PARTNER,
        partner,
        &default_partner(partner),
        now,
    )
}

/// Make sure `tenant` has an identity-sync policy for `partner`; returns whether it was created.
pub fn ensure_identity_sync(
    c: &Conn,
    tenant: &str,
    partner: &str,
    display_name: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let mut doc = default_identity_sync(partner);
    doc.insert(
        "displayName".into(),
        Value::String(display_name.to_string()),
    );
    docs::insert(c, tenant, kind::IDENTITY_SYNC, partner, &doc, now)
}

/// Apply `tenant`'s MTO templates to its configuration for `partner` and mark the partner as
/// being in the same MTO.
pub fn apply_templates(
    c: &Conn,
    tenant: &str,
    partner: &str,
    partner_created: bool,
    sync_created: bool,
) -> Result<(), StoreError> {
    let pt = load_singleton(c, tenant, kind::TEMPLATE_PARTNER)?;
    if let Some(mut p) = docs::get(c, tenant, kind::PARTNER, partner)? {
        let level = pt
            .get("templateApplicationLevel")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_LEVEL);
        if template_applies(level, partner_created) {
            for prop in &PARTNER_TEMPLATE_WRITABLE[1..] {
                if let Some(v) = pt.get(*prop) {
                    merge_non_null(p.body.entry(prop.to_string()).or_insert(Value::Null), v);
                }
            }
        }
        p.body
            .insert("isInMultiTenantOrganization".into(), Value::Bool(true));
        docs::update(c, tenant, kind::PARTNER, partner, &p.body)?;
    }
    let stpl = load_singleton(c, tenant, kind::TEMPLATE_SYNC)?;
    if let Some(mut s) = docs::get(c, tenant, kind::IDENTITY_SYNC, partner)? {
        let level = stpl
            .get("templateApplicationLevel")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_LEVEL);
        if template_applies(level, sync_created)
            && let Some(v) = stpl.get("userSyncInbound")
        {
            merge_non_null(
                s.body
                    .entry("userSyncInbound".to_string())
                    .or_insert(Value::Null),
                v,
            );
            docs::update(c, tenant, kind::IDENTITY_SYNC, partner, &s.body)?;
        }
    }
    Ok(())
}

/// Set `isInMultiTenantOrganization` on `tenant`'s partner configuration for `partner`.
pub fn set_in_mto(c: &Conn, tenant: &str, partner: &str, value: bool) -> Result<(), StoreError> {
    if let Some(mut p) = docs::get(c, tenant, kind::PARTNER, partner)? {
        p.body
            .insert("isInMultiTenantOrganization".into(), Value::Bool(value));
        docs::update(c, tenant, kind::PARTNER, partner, &p.body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_non_null_keeps_values_where_template_is_null() {
        let mut p = json!({"inboundAllowed": false, "outboundAllowed": true});
        merge_non_null(
            &mut p,
            &json!({"inboundAllowed": true, "outboundAllowed": null}),
        );
        assert_eq!(p, json!({"inboundAllowed": true, "outboundAllowed": true}));
        let mut n = Value::Null;
        merge_non_null(&mut n, &Value::Null);
        assert!(n.is_null());
        merge_non_null(&mut n, &json!({"isSyncAllowed": null}));
        assert!(
            n.is_null(),
            "an all-null template object must not create an object"
        );
        merge_non_null(&mut n, &json!({"isSyncAllowed": true, "x": null}));
        assert_eq!(n, json!({"isSyncAllowed": true}));
    }

    #[test]
    fn template_levels() {
        assert!(template_applies("newPartners,existingPartners", true));
        assert!(template_applies("newPartners,existingPartners", false));
        assert!(template_applies("newPartners", true));
        assert!(!template_applies("newPartners", false));
        assert!(!template_applies("none", true));
    }
}
