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
//! The documents, their PATCH semantics and what an MTO join generates are in
//! [`crate::directory::policy`]; these handlers parse, check permissions and encode.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{ApiVersion, Ctx, expect_object, json_response, no_content, with_context};
use crate::AppState;
use crate::auth::Access;
use crate::directory::policy::{self, PARTNER_TEMPLATE_WRITABLE, PARTNER_TYPE, SYNC_TYPE};
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::query::project;
use crate::store::docs::kind;
use crate::util::{object, parse_guid, seed_guid};

const CTAP: &str = "policies/crossTenantAccessPolicy";

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
        object(json!({"id": seed_guid(ctx.tenant(), "template", "policyTemplate")})),
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
        .read(move |c| policy::load_singleton(c, &t, k))
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
        .write_with(move |tx| {
            policy::patch_singleton(
                tx,
                &t,
                k,
                &body,
                writable,
                ignored,
                type_name,
                clears_service_default,
            )
        })
        .await?;
    Ok(no_content())
}

async fn reset_singleton(st: AppState, ctx: Ctx, k: &'static str) -> Result<Response, ApiError> {
    ctx.caller.require(Access::PolicyWrite)?;
    let t = ctx.tenant().to_string();
    st.store
        .write(move |tx| policy::reset_singleton(tx, &t, k))
        .await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Partners

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
        .read(move |c| policy::partners(c, &t, expand, vb))
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
    let mut settings = body;
    settings.remove("tenantId");
    let doc = policy::new_partner(&tenant_id, &settings)?;
    let t = ctx.tenant().to_string();
    let stored = doc.clone();
    st.store
        .write_with(move |tx| policy::insert_partner(tx, &t, &tenant_id, &stored))
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
        .read_with(move |c| policy::partner(c, &t, &key, expand, vb))
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
        .write_with(move |tx| policy::patch_partner(tx, &t, &key, &body))
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
        .write_with(move |tx| policy::delete_partner(tx, &t, &key))
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
    let doc = policy::new_identity_sync(&key, &body, sync_writable(ctx.version))?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| policy::insert_identity_sync(tx, &t, &key, &doc))
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
        .read_with(move |c| policy::identity_sync(c, &t, &key, vb))
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
        .write_with(move |tx| policy::patch_identity_sync(tx, &t, &key, &body, writable))
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
        .write_with(move |tx| policy::delete_identity_sync(tx, &t, &key))
        .await?;
    Ok(no_content())
}
