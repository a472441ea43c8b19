//! Cross-tenant access policy: the root, the default configuration, the MTO templates, partner
//! configurations and their identity synchronization.

use super::Ty::*;
use super::{BASE, Case};
use crate::harness::*;

const ACCESS: &[&str] = &["allowed", "blocked", "unknownFutureValue"];
const LEVEL: &[&str] = &[
    "none",
    "newPartners",
    "existingPartners",
    "unknownFutureValue",
];
const PARTNER: &[(&str, super::Ty)] = &[
    ("/tenantId", Guid),
    ("/isServiceProvider", BoolOrNull),
    ("/isInMultiTenantOrganization", Bool),
    ("/inboundTrust", ObjOrNull),
    ("/automaticUserConsentSettings", Obj),
    ("/b2bCollaborationInbound", ObjOrNull),
    ("/b2bCollaborationOutbound", ObjOrNull),
    ("/b2bDirectConnectInbound", ObjOrNull),
    ("/b2bDirectConnectOutbound", ObjOrNull),
    ("/tenantRestrictions", ObjOrNull),
];
const P: &str = "/v1.0/policies/crossTenantAccessPolicy";

pub const CASES: &[Case] = &[
    Case {
        page: "v1.0/api/crosstenantaccesspolicy-get.md",
        example: "get the cross-tenant access policy",
        url: P,
        shape: &[
            ("/@odata.context", Str),
            ("/displayName", StrOrNull),
            ("/allowedCloudEndpoints", Arr),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicy-update.md",
        example: "set the allowed cloud endpoints",
        method: "PATCH",
        url: P,
        body: r#"{"allowedCloudEndpoints": ["microsoftonline.us", "partner.microsoftonline.cn"]}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicy-get.md",
        example: "the allowed cloud endpoints read back",
        url: P,
        enums: &[(
            "/allowedCloudEndpoints/*",
            &["microsoftonline.us", "partner.microsoftonline.cn"],
        )],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationdefault-get.md",
        example: "get the default configuration",
        url: "/v1.0/policies/crossTenantAccessPolicy/default",
        shape: &[
            ("/@odata.context", Str),
            ("/isServiceDefault", Bool),
            ("/inboundTrust", Obj),
            ("/inboundTrust/isMfaAccepted", Bool),
            ("/inboundTrust/isCompliantDeviceAccepted", Bool),
            ("/inboundTrust/isHybridAzureADJoinedDeviceAccepted", Bool),
            ("/b2bCollaborationOutbound/usersAndGroups/accessType", Str),
            (
                "/b2bCollaborationOutbound/usersAndGroups/targets/*/target",
                Str,
            ),
            (
                "/b2bCollaborationOutbound/usersAndGroups/targets/*/targetType",
                Str,
            ),
            ("/b2bCollaborationOutbound/applications/accessType", Str),
            ("/b2bCollaborationInbound/usersAndGroups/accessType", Str),
            ("/b2bDirectConnectInbound/usersAndGroups/accessType", Str),
            ("/b2bDirectConnectOutbound/usersAndGroups/accessType", Str),
            ("/automaticUserConsentSettings/inboundAllowed", Bool),
            ("/automaticUserConsentSettings/outboundAllowed", Bool),
        ],
        enums: &[
            (
                "/b2bCollaborationOutbound/usersAndGroups/accessType",
                ACCESS,
            ),
            ("/b2bCollaborationInbound/applications/accessType", ACCESS),
            ("/b2bDirectConnectInbound/usersAndGroups/accessType", ACCESS),
            (
                "/b2bCollaborationOutbound/usersAndGroups/targets/*/targetType",
                &["user", "group", "application", "unknownFutureValue"],
            ),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationdefault-update.md",
        example: "block outbound B2B collaboration for a group",
        method: "PATCH",
        url: "/v1.0/policies/crossTenantAccessPolicy/default",
        body: r#"{"b2bCollaborationOutbound": {"usersAndGroups": {"accessType": "blocked", "targets": [{"target": "{groupA}", "targetType": "group"}]}}}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationdefault-get.md",
        example: "a changed default is no longer the service default",
        url: "/v1.0/policies/crossTenantAccessPolicy/default",
        shape: &[
            ("/isServiceDefault", Bool),
            (
                "/b2bCollaborationOutbound/usersAndGroups/targets/0/targetType",
                Str,
            ),
        ],
        enums: &[(
            "/b2bCollaborationOutbound/usersAndGroups/accessType",
            &["blocked"],
        )],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationdefault-resettosystemdefault.md",
        example: "reset to the system default",
        method: "POST",
        url: "/v1.0/policies/crossTenantAccessPolicy/default/resetToSystemDefault",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/resources/policytemplate.md",
        example: "the policy template container",
        url: "/v1.0/policies/crossTenantAccessPolicy/templates",
        shape: &[("/@odata.context", Str), ("/id", Str)],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationidentitysyncpolicytemplate-get.md",
        example: "get the identity synchronization template",
        url: "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization",
        shape: &[
            ("/@odata.context", Str),
            ("/id", Str),
            ("/templateApplicationLevel", Str),
            ("/userSyncInbound", ObjOrNull),
            ("/userSyncInbound/isSyncAllowed", BoolOrNull),
        ],
        enums: &[("/templateApplicationLevel", LEVEL)],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationidentitysyncpolicytemplate-update.md",
        example: "allow inbound user synchronization for new and existing partners",
        method: "PATCH",
        url: "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization",
        body: r#"{"templateApplicationLevel": "newPartners,existingPartners", "userSyncInbound": {"isSyncAllowed": true}}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationidentitysyncpolicytemplate-resettodefaultsettings.md",
        example: "reset the identity synchronization template",
        method: "POST",
        url: "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization/resetToDefaultSettings",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationpartnerconfigurationtemplate-get.md",
        example: "get the partner configuration template",
        url: "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration",
        shape: &[
            (
                "/@odata.context",
                Suffix(
                    "$metadata#policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration/$entity",
                ),
            ),
            ("/id", Guid),
            ("/templateApplicationLevel", Str),
            ("/inboundTrust", ObjOrNull),
            ("/b2bCollaborationInbound", ObjOrNull),
            ("/b2bCollaborationOutbound", ObjOrNull),
            ("/b2bDirectConnectInbound", ObjOrNull),
            ("/b2bDirectConnectOutbound", ObjOrNull),
            ("/automaticUserConsentSettings/inboundAllowed", BoolOrNull),
            ("/automaticUserConsentSettings/outboundAllowed", BoolOrNull),
        ],
        enums: &[("/templateApplicationLevel", LEVEL)],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationpartnerconfigurationtemplate-update.md",
        example: "trust MFA and devices, redeem automatically",
        method: "PATCH",
        url: "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration",
        body: r#"{"inboundTrust": {"isMfaAccepted": true, "isCompliantDeviceAccepted": true, "isHybridAzureADJoinedDeviceAccepted": true}, "automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": true}, "templateApplicationLevel": "newPartners,existingPartners"}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationpartnerconfigurationtemplate-resettodefaultsettings.md",
        example: "reset the partner configuration template",
        method: "POST",
        url: "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration/resetToDefaultSettings",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicy-post-partners.md",
        example: "create a partner configuration",
        method: "POST",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners",
        body: r#"{"tenantId": "{B}", "b2bDirectConnectOutbound": {"usersAndGroups": {"accessType": "blocked", "targets": [{"target": "{groupA}", "targetType": "group"}]}}, "b2bDirectConnectInbound": {"applications": {"accessType": "allowed", "targets": [{"target": "Office365", "targetType": "application"}]}}}"#,
        status: 201,
        shape: PARTNER,
        enums: &[
            (
                "/b2bDirectConnectOutbound/usersAndGroups/accessType",
                ACCESS,
            ),
            (
                "/b2bDirectConnectInbound/applications/accessType",
                &["allowed"],
            ),
            (
                "/b2bDirectConnectInbound/applications/targets/*/targetType",
                &["application"],
            ),
            (
                "/b2bDirectConnectInbound/applications/targets/*/target",
                &["Office365"],
            ),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicy-post-partners.md",
        example: "a second configuration for the same tenant: 409",
        method: "POST",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners",
        body: r#"{"tenantId": "{B}"}"#,
        status: 409,
        enums: &[("/error/code", &["Request_MultipleObjectsWithSameKeyValue"])],
        choice: Some(13),
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicy-list-partners.md",
        example: "list the partner configurations",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners",
        shape: &[
            ("/@odata.context", Str),
            ("/value", Arr),
            ("/value/*/tenantId", Guid),
            ("/value/*/isInMultiTenantOrganization", Bool),
            ("/value/*/automaticUserConsentSettings", Obj),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationpartner-get.md",
        example: "get a partner configuration",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}",
        shape: PARTNER,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationpartner-update.md",
        example: "trust the partner's MFA and devices",
        method: "PATCH",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}",
        body: r#"{"inboundTrust": {"isMfaAccepted": true, "isCompliantDeviceAccepted": true, "isHybridAzureADJoinedDeviceAccepted": true}}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationpartner-put-identitysynchronization.md",
        example: "create the identity synchronization policy",
        method: "PUT",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        body: r#"{"displayName": "Contoso B", "userSyncInbound": {"isSyncAllowed": true}}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationpartner-put-identitysynchronization.md",
        example: "a second PUT: 409 with ConflictingObjects details",
        method: "PUT",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        body: r#"{"displayName": "Contoso B", "userSyncInbound": {"isSyncAllowed": true}}"#,
        status: 409,
        shape: &[("/error/details", Arr), ("/error/details/0/code", Str)],
        enums: &[
            ("/error/code", &["Request_MultipleObjectsWithSameKeyValue"]),
            ("/error/details/0/code", &["ConflictingObjects"]),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantidentitysyncpolicypartner-get.md",
        example: "get the identity synchronization policy",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        shape: &[
            ("/@odata.context", Str),
            ("/tenantId", Guid),
            ("/displayName", StrOrNull),
            ("/userSyncInbound/isSyncAllowed", Bool),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicy-list-partners.md",
        example: "list with $expand=identitySynchronization",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners?$expand=identitySynchronization",
        shape: &[
            ("/value/0/tenantId", Guid),
            ("/value/0/identitySynchronization/tenantId", Guid),
            (
                "/value/0/identitySynchronization/userSyncInbound/isSyncAllowed",
                Bool,
            ),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantidentitysyncpolicypartner-update.md",
        example: "update the identity synchronization policy",
        method: "PATCH",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        body: r#"{"userSyncInbound": {"isSyncAllowed": true}}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "beta/api/crosstenantidentitysyncpolicypartner-update.md",
        example: "beta: allow inbound group synchronization",
        method: "PATCH",
        url: "/beta/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        body: r#"{"groupSyncInbound": {"isSyncAllowed": true}}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "beta/api/crosstenantidentitysyncpolicypartner-get.md",
        example: "beta: the policy with groupSyncInbound",
        url: "/beta/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        shape: &[
            ("/tenantId", Guid),
            ("/userSyncInbound/isSyncAllowed", Bool),
            ("/groupSyncInbound/isSyncAllowed", Bool),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/resources/crosstenantidentitysyncpolicypartner.md",
        example: "v1.0 has no groupSyncInbound: 400",
        method: "PATCH",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        body: r#"{"groupSyncInbound": {"isSyncAllowed": true}}"#,
        status: 400,
        shape: &[("/error/code", Str)],
        choice: Some(43),
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantidentitysyncpolicypartner-delete.md",
        example: "delete the identity synchronization policy",
        method: "DELETE",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}/identitySynchronization",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationpartner-delete.md",
        example: "delete a partner configuration",
        method: "DELETE",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/crosstenantaccesspolicyconfigurationpartner-get.md",
        example: "a deleted partner: 404",
        url: "/v1.0/policies/crossTenantAccessPolicy/partners/{B}",
        status: 404,
        shape: &[("/error/code", Str), ("/error/message", Str)],
        enums: &[("/error/code", &["Directory_ObjectNotFound"])],
        choice: Some(15),
        ..BASE
    },
];

#[tokio::test]
async fn cross_tenant_access_policy_answers_as_documented() {
    let sb = Sandbox::new();
    super::run(&sb, CASES).await;
}
