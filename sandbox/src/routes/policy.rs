//! Cross-tenant access policy (§5) and the MTO policy templates (§4).
//!
//! ```text
//! GET|PATCH              /policies/crossTenantAccessPolicy
//! GET|PATCH              /policies/crossTenantAccessPolicy/default
//! POST                   /policies/crossTenantAccessPolicy/default/resetToSystemDefault
//! GET                    /policies/crossTenantAccessPolicy/templates
//! GET|PATCH              /policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization
//! POST                   .../multiTenantOrganizationIdentitySynchronization/resetToDefaultSettings
//! GET|PATCH              /policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration
//! POST                   .../multiTenantOrganizationPartnerConfiguration/resetToDefaultSettings
//! GET|POST               /policies/crossTenantAccessPolicy/partners
//! GET|PATCH|DELETE       /policies/crossTenantAccessPolicy/partners/{tenantId}
//! GET|PUT|PATCH|DELETE   /policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization
//! ```
//!
//! PATCH semantics: each top-level property sent replaces the stored one (a nested object
//! replaces the whole property), `null` clears it, properties not sent are kept.
//! The functions at the end (`ensure_partner`, `apply_templates`, ...) are used by the MTO join.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{
    ApiVersion, Ctx, check_properties, expect_object, json_response, no_content, with_context,
};
use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ErrorDetail, GraphJson, GraphPath};
use crate::query::project;
use crate::store::docs::{self, kind};
use crate::store::filter::SqlFilter;
use crate::store::{Conn, StoreError};
use crate::util::{now_ms, parse_guid, seed_guid};

const CTAP: &str = "policies/crossTenantAccessPolicy";

// ---------------------------------------------------------------------------------------------
// Default documents

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn all_targets(access: &str) -> Value {
    json!({
        "usersAndGroups": {"accessType": access, "targets": [{"target": "AllUsers", "targetType": "user"}]},
        "applications": {"accessType": access, "targets": [{"target": "AllApplications", "targetType": "application"}]},
    })
}

fn default_root(tenant: &str) -> Map<String, Value> {
    obj(json!({
        "id": seed_guid(tenant, "policy", "crossTenantAccessPolicy"),
        "displayName": "CrossTenantAccessPolicy",
        "allowedCloudEndpoints": [],
    }))
}

/// System default of `/policies/crossTenantAccessPolicy/default` (reference §5.4).
pub fn system_default() -> Map<String, Value> {
    let mut tr = all_targets("blocked");
    tr["devices"] = Value::Null;
    obj(json!({
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
    obj(json!({
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

fn default_identity_sync(partner_tenant: &str) -> Map<String, Value> {
    obj(json!({
        "tenantId": partner_tenant,
        "displayName": null,
        "userSyncInbound": null,
        "groupSyncInbound": null,
        "externalCloudAuthorizedApplicationId": null,
    }))
}

const DEFAULT_LEVEL: &str = "newPartners,existingPartners";

fn default_sync_template(tenant: &str) -> Map<String, Value> {
    obj(json!({
        "id": seed_guid(tenant, "template", "multiTenantOrganizationIdentitySynchronization"),
        "templateApplicationLevel": DEFAULT_LEVEL,
        "userSyncInbound": {"isSyncAllowed": null},
    }))
}

fn default_partner_template(tenant: &str) -> Map<String, Value> {
    obj(json!({
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

/// Fill the fixed keys of inbound/outbound objects with null so the shape is stable.
fn normalize(mut m: Map<String, Value>) -> Map<String, Value> {
    for (prop, keys) in [
        (
            "automaticUserConsentSettings",
            &["inboundAllowed", "outboundAllowed"][..],
        ),
        (
            "inboundTrust",
            &[
                "isMfaAccepted",
                "isCompliantDeviceAccepted",
                "isHybridAzureADJoinedDeviceAccepted",
            ][..],
        ),
        ("userSyncInbound", &["isSyncAllowed"][..]),
        ("groupSyncInbound", &["isSyncAllowed"][..]),
    ] {
        if let Some(Value::Object(o)) = m.get_mut(prop) {
            for k in keys {
                o.entry(k.to_string()).or_insert(Value::Null);
            }
        }
    }
    if m.get("automaticUserConsentSettings")
        .is_some_and(Value::is_null)
        && m.contains_key("tenantId")
    {
        m.insert(
            "automaticUserConsentSettings".into(),
            json!({"inboundAllowed": null, "outboundAllowed": null}),
        );
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Root and default

const ROOT_PROPS: &[&str] = &["id", "displayName", "allowedCloudEndpoints"];

/// `GET /policies/crossTenantAccessPolicy`.
pub async fn get_root(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    get_singleton(
        st,
        ctx,
        kind::CTAP_ROOT,
        ROOT_PROPS,
        "crossTenantAccessPolicy",
        "policies/crossTenantAccessPolicy/$entity",
    )
    .await
}

/// `PATCH /policies/crossTenantAccessPolicy` — `displayName`, `allowedCloudEndpoints`; 204.
pub async fn patch_root(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    patch_singleton(
        st,
        ctx,
        body,
        kind::CTAP_ROOT,
        &["displayName", "allowedCloudEndpoints"],
        &["id"],
        "crossTenantAccessPolicy",
        false,
    )
    .await
}

const DEFAULT_WRITABLE: &[&str] = &[
    "inboundTrust",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "invitationRedemptionIdentityProviderConfiguration",
    "tenantRestrictions",
];
const DEFAULT_PROPS: &[&str] = &[
    "isServiceDefault",
    "inboundTrust",
    "automaticUserConsentSettings",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "invitationRedemptionIdentityProviderConfiguration",
    "tenantRestrictions",
];

/// `GET /policies/crossTenantAccessPolicy/default`.
pub async fn get_default(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    get_singleton(
        st,
        ctx,
        kind::CTAP_DEFAULT,
        DEFAULT_PROPS,
        "crossTenantAccessPolicyConfigurationDefault",
        "policies/crossTenantAccessPolicy/default/$entity",
    )
    .await
}

/// `PATCH /policies/crossTenantAccessPolicy/default` — 204; `isServiceDefault` becomes false.
/// `automaticUserConsentSettings` and `isServiceDefault` are read-only and ignored (UNCONFIRMED).
pub async fn patch_default(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    patch_singleton(
        st,
        ctx,
        body,
        kind::CTAP_DEFAULT,
        DEFAULT_WRITABLE,
        &["automaticUserConsentSettings", "isServiceDefault"],
        "crossTenantAccessPolicyConfigurationDefault",
        true,
    )
    .await
}

/// `POST /policies/crossTenantAccessPolicy/default/resetToSystemDefault` — 204.
pub async fn reset_default(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    reset_singleton(st, ctx, kind::CTAP_DEFAULT).await
}

// ---------------------------------------------------------------------------------------------
// Templates

const SYNC_TEMPLATE_PROPS: &[&str] = &["id", "templateApplicationLevel", "userSyncInbound"];
const PARTNER_TEMPLATE_WRITABLE: &[&str] = &[
    "templateApplicationLevel",
    "inboundTrust",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "automaticUserConsentSettings",
];
const PARTNER_TEMPLATE_PROPS: &[&str] = &[
    "id",
    "templateApplicationLevel",
    "inboundTrust",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "automaticUserConsentSettings",
];

/// `GET /policies/crossTenantAccessPolicy/templates` (the `policyTemplate` container).
pub async fn get_templates(ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyRead)?;
    let body = with_context(
        ctx.context("policies/crossTenantAccessPolicy/templates/$entity"),
        obj(json!({"id": seed_guid(ctx.tenant(), "template", "policyTemplate")})),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET .../templates/multiTenantOrganizationIdentitySynchronization`.
pub async fn get_sync_template(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    get_singleton(
        st,
        ctx,
        kind::TEMPLATE_SYNC,
        SYNC_TEMPLATE_PROPS,
        "multiTenantOrganizationIdentitySyncPolicyTemplate",
        "policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization/$entity",
    )
    .await
}

/// `PATCH .../templates/multiTenantOrganizationIdentitySynchronization` — 204.
pub async fn patch_sync_template(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    patch_singleton(
        st,
        ctx,
        body,
        kind::TEMPLATE_SYNC,
        &["templateApplicationLevel", "userSyncInbound"],
        &["id"],
        "multiTenantOrganizationIdentitySyncPolicyTemplate",
        false,
    )
    .await
}

/// `POST .../multiTenantOrganizationIdentitySynchronization/resetToDefaultSettings` — 204.
pub async fn reset_sync_template(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    reset_singleton(st, ctx, kind::TEMPLATE_SYNC).await
}

/// `GET .../templates/multiTenantOrganizationPartnerConfiguration`.
pub async fn get_partner_template(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    get_singleton(
        st,
        ctx,
        kind::TEMPLATE_PARTNER,
        PARTNER_TEMPLATE_PROPS,
        "multiTenantOrganizationPartnerConfigurationTemplate",
        "policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration/$entity",
    )
    .await
}

/// `PATCH .../templates/multiTenantOrganizationPartnerConfiguration` — 204.
pub async fn patch_partner_template(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    patch_singleton(
        st,
        ctx,
        body,
        kind::TEMPLATE_PARTNER,
        PARTNER_TEMPLATE_WRITABLE,
        &["id"],
        "multiTenantOrganizationPartnerConfigurationTemplate",
        false,
    )
    .await
}

/// `POST .../multiTenantOrganizationPartnerConfiguration/resetToDefaultSettings` — 204.
pub async fn reset_partner_template(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    reset_singleton(st, ctx, kind::TEMPLATE_PARTNER).await
}

async fn get_singleton(
    st: AppState,
    ctx: Ctx,
    k: &'static str,
    props: &[&str],
    type_name: &str,
    fragment: &str,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyRead)?;
    let select = ctx.select(props, type_name)?;
    let t = ctx.tenant().to_string();
    let doc = st
        .store
        .read_with(move |c| load_singleton(c, &t, k))
        .await?;
    let body = with_context(
        ctx.context(fragment),
        project(&normalize(doc), select.as_deref(), props),
    );
    Ok(json_response(StatusCode::OK, &body))
}

#[allow(clippy::too_many_arguments)]
async fn patch_singleton(
    st: AppState,
    ctx: Ctx,
    body: Value,
    k: &'static str,
    writable: &'static [&'static str],
    ignored: &'static [&'static str],
    type_name: &'static str,
    clears_service_default: bool,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let body = expect_object(body)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            let mut doc = load_singleton(tx, &t, k)?;
            merge_patch(&mut doc, &body, writable, ignored, type_name)?;
            if clears_service_default {
                doc.insert("isServiceDefault".into(), Value::Bool(false));
            }
            docs::upsert(tx, &t, k, "", &doc, now_ms())?;
            Ok(())
        })
        .await?;
    Ok(no_content())
}

async fn reset_singleton(st: AppState, ctx: Ctx, k: &'static str) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| docs::delete(tx, &t, k, "").map(|_| ()))
        .await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Partners

const PARTNER_WRITABLE: &[&str] = &[
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
const PARTNER_PROPS: &[&str] = &[
    "tenantId",
    "isServiceProvider",
    "isInMultiTenantOrganization",
    "inboundTrust",
    "automaticUserConsentSettings",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "tenantRestrictions",
    "crossCloudMeetingConfiguration",
    "protectedContentSharing",
];
const PARTNER_TYPE: &str = "crossTenantAccessPolicyConfigurationPartner";

fn partner_key(raw: &str) -> Result<String, ApiError> {
    parse_guid(raw).ok_or_else(ApiError::directory_object_not_found)
}

fn wants_expand(ctx: &Ctx) -> Result<bool, ApiError> {
    match ctx.query.get("$expand") {
        None => Ok(false),
        Some(e) if e.trim().eq_ignore_ascii_case("identitySynchronization") => Ok(true),
        Some(e) => Err(ApiError::bad_request(format!(
            "Could not find a property named '{}' on type 'microsoft.graph.{PARTNER_TYPE}'.",
            e.trim()
        ))),
    }
}

fn sync_json(version: ApiVersion, doc: Map<String, Value>) -> Map<String, Value> {
    let mut m = normalize(doc);
    if version == ApiVersion::V1 {
        // groupSyncInbound and externalCloudAuthorizedApplicationId are beta-only (§5.5).
        m.remove("groupSyncInbound");
        m.remove("externalCloudAuthorizedApplicationId");
    }
    m
}

/// `GET .../partners` — `$select`, `$expand=identitySynchronization`.
pub async fn list_partners(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyRead)?;
    let select = ctx.select(PARTNER_PROPS, PARTNER_TYPE)?;
    let expand = wants_expand(&ctx)?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let rows = st
        .store
        .read_with(move |c| -> Result<_, ApiError> {
            let partners = docs::list(
                c,
                &t,
                kind::PARTNER,
                &SqlFilter::default(),
                None,
                10_000,
                vb,
            )?;
            let mut out = Vec::with_capacity(partners.len());
            for p in partners {
                let sync = if expand {
                    docs::get_visible(c, &t, kind::IDENTITY_SYNC, &p.key, vb)?
                } else {
                    None
                };
                out.push((p, sync));
            }
            Ok(out)
        })
        .await?;
    let value: Vec<Value> = rows
        .into_iter()
        .map(|(p, sync)| {
            let mut m = project(&normalize(p.body), select.as_deref(), PARTNER_PROPS);
            if expand {
                m.insert(
                    "identitySynchronization".into(),
                    sync.map(|s| Value::Object(sync_json(ctx.version, s.body)))
                        .unwrap_or(Value::Null),
                );
            }
            Value::Object(m)
        })
        .collect();
    let body = json!({
        "@odata.context": ctx.context(&super::collection_fragment(&format!("{CTAP}/partners"), select.as_deref())),
        "value": value,
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST .../partners` — 201; a duplicate `tenantId` is 409.
pub async fn create_partner(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let body = expect_object(body)?;
    let tenant_id = body
        .get("tenantId")
        .and_then(Value::as_str)
        .and_then(parse_guid)
        .ok_or_else(|| {
            ApiError::request_bad_request(format!(
                "Invalid value specified for property 'tenantId' of resource '{PARTNER_TYPE}'."
            ))
        })?;
    let mut doc = default_partner(&tenant_id);
    let mut settings = body.clone();
    settings.remove("tenantId");
    merge_patch(
        &mut doc,
        &settings,
        PARTNER_WRITABLE,
        &["isInMultiTenantOrganization"],
        PARTNER_TYPE,
    )?;
    let t = ctx.tenant().to_string();
    let stored = doc.clone();
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            if !docs::insert(tx, &t, kind::PARTNER, &tenant_id, &stored, now_ms())? {
                // UNCONFIRMED status (reference §5.2): the code and message are documented.
                return Err(ApiError::same_key_conflict(
                    "Another object with the same value for property tenantId already exists.",
                ));
            }
            Ok(())
        })
        .await?;
    let body = with_context(
        ctx.context(&format!("{CTAP}/partners/$entity")),
        normalize(doc),
    );
    Ok(json_response(StatusCode::CREATED, &body))
}

/// `GET .../partners/{tenantId}`.
pub async fn get_partner(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyRead)?;
    let select = ctx.select(PARTNER_PROPS, PARTNER_TYPE)?;
    let expand = wants_expand(&ctx)?;
    let key = partner_key(&id)?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let (p, sync) = st
        .store
        .read_with(move |c| -> Result<_, ApiError> {
            let p = docs::get_visible(c, &t, kind::PARTNER, &key, vb)?
                .ok_or_else(ApiError::directory_object_not_found)?;
            let sync = if expand {
                docs::get_visible(c, &t, kind::IDENTITY_SYNC, &key, vb)?
            } else {
                None
            };
            Ok((p, sync))
        })
        .await?;
    let mut m = project(&normalize(p.body), select.as_deref(), PARTNER_PROPS);
    if expand {
        m.insert(
            "identitySynchronization".into(),
            sync.map(|s| Value::Object(sync_json(ctx.version, s.body)))
                .unwrap_or(Value::Null),
        );
    }
    let body = with_context(ctx.context(&format!("{CTAP}/partners/$entity")), m);
    Ok(json_response(StatusCode::OK, &body))
}

/// `PATCH .../partners/{tenantId}` — 204. `isInMultiTenantOrganization` is service-managed and
/// ignored (UNCONFIRMED); changing `tenantId` is 400.
pub async fn patch_partner(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let key = partner_key(&id)?;
    let mut body = expect_object(body)?;
    if let Some(tid) = body.remove("tenantId")
        && tid.as_str().and_then(parse_guid).as_deref() != Some(key.as_str())
    {
        return Err(ApiError::request_bad_request(
            "Property 'tenantId' is read-only and cannot be changed.",
        ));
    }
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            let mut p = docs::get(tx, &t, kind::PARTNER, &key)?
                .ok_or_else(ApiError::directory_object_not_found)?;
            merge_patch(
                &mut p.body,
                &body,
                PARTNER_WRITABLE,
                &["isInMultiTenantOrganization"],
                PARTNER_TYPE,
            )?;
            docs::update(tx, &t, kind::PARTNER, &key, &p.body)?;
            Ok(())
        })
        .await?;
    Ok(no_content())
}

/// `DELETE .../partners/{tenantId}` — 204; refused with 400 while its identitySynchronization
/// policy exists (UNCONFIRMED status and message).
pub async fn delete_partner(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let key = partner_key(&id)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            if docs::get(tx, &t, kind::PARTNER, &key)?.is_none() {
                return Err(ApiError::directory_object_not_found());
            }
            if docs::get(tx, &t, kind::IDENTITY_SYNC, &key)?.is_some() {
                return Err(ApiError::request_bad_request(format!(
                    "The partner configuration for tenant '{key}' cannot be deleted while it has an identitySynchronization policy. Delete the identitySynchronization policy first."
                )));
            }
            docs::delete(tx, &t, kind::PARTNER, &key)?;
            Ok(())
        })
        .await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// identitySynchronization

fn sync_writable(version: ApiVersion) -> &'static [&'static str] {
    match version {
        ApiVersion::V1 => &["displayName", "userSyncInbound"],
        ApiVersion::Beta => &[
            "displayName",
            "userSyncInbound",
            "groupSyncInbound",
            "externalCloudAuthorizedApplicationId",
        ],
    }
}

const SYNC_TYPE: &str = "crossTenantIdentitySyncPolicyPartner";

fn strip_sync_tenant(body: &mut Map<String, Value>, key: &str) -> Result<(), ApiError> {
    if let Some(tid) = body.remove("tenantId")
        && tid.as_str().and_then(parse_guid).as_deref() != Some(key)
    {
        return Err(ApiError::request_bad_request(
            "Property 'tenantId' is read-only and cannot be changed.",
        ));
    }
    Ok(())
}

/// `PUT .../identitySynchronization` — create only: 204; 409 if it exists; 404 without partner.
pub async fn put_identity_sync(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let key = partner_key(&id)?;
    let mut body = expect_object(body)?;
    strip_sync_tenant(&mut body, &key)?;
    let mut doc = default_identity_sync(&key);
    merge_patch(&mut doc, &body, sync_writable(ctx.version), &[], SYNC_TYPE)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| {
            if docs::get(tx, &t, kind::PARTNER, &key)?.is_none() {
                return Err(ApiError::directory_object_not_found());
            }
            if !docs::insert(tx, &t, kind::IDENTITY_SYNC, &key, &doc, now_ms())? {
                return Err(ApiError::Conflict {
                    code: "Request_MultipleObjectsWithSameKeyValue",
                    message: "A conflicting object with one or more of the specified property values is present in the directory.".into(),
                    details: vec![ErrorDetail {
                        code: "ConflictingObjects".into(),
                        message: "A conflicting object with one or more of the specified property values is present in the directory.".into(),
                        target: Some(key.clone()),
                    }],
                });
            }
            Ok(())
        })
        .await?;
    Ok(no_content())
}

/// `GET .../identitySynchronization`.
pub async fn get_identity_sync(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyRead)?;
    let mut props = vec!["tenantId"];
    props.extend_from_slice(sync_writable(ctx.version));
    let select = ctx.select(&props, SYNC_TYPE)?;
    let key = partner_key(&id)?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let doc = st
        .store
        .read_with(move |c| -> Result<_, ApiError> {
            docs::get_visible(c, &t, kind::IDENTITY_SYNC, &key, vb)?
                .ok_or_else(ApiError::directory_object_not_found)
        })
        .await?;
    let body = with_context(
        ctx.context(&format!(
            "{CTAP}/partners('{}')/identitySynchronization/$entity",
            doc.key
        )),
        project(&sync_json(ctx.version, doc.body), select.as_deref(), &[]),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `PATCH .../identitySynchronization` — 204; 404 `Directory_ObjectNotFound` when none.
pub async fn patch_identity_sync(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let key = partner_key(&id)?;
    let mut body = expect_object(body)?;
    strip_sync_tenant(&mut body, &key)?;
    let writable = sync_writable(ctx.version);
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            let mut d = docs::get(tx, &t, kind::IDENTITY_SYNC, &key)?
                .ok_or_else(ApiError::directory_object_not_found)?;
            merge_patch(&mut d.body, &body, writable, &[], SYNC_TYPE)?;
            docs::update(tx, &t, kind::IDENTITY_SYNC, &key, &d.body)?;
            Ok(())
        })
        .await?;
    Ok(no_content())
}

/// `DELETE .../identitySynchronization` — 204.
pub async fn delete_identity_sync(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let key = partner_key(&id)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| {
            if docs::delete(tx, &t, kind::IDENTITY_SYNC, &key)? {
                Ok(())
            } else {
                Err(ApiError::directory_object_not_found())
            }
        })
        .await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Used by the MTO join (jobs.rs)

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
