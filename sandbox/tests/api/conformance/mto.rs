//! Multi-tenant organization: the organization, its tenants and the join request.

use super::Ty::*;
use super::{BASE, Case, Who};
use crate::harness::*;

const STATUS: &[&str] = &[
    "notStarted",
    "running",
    "succeeded",
    "failed",
    "unknownFutureValue",
];
const STATE: &[&str] = &["pending", "active", "removed", "unknownFutureValue"];
const ROLE: &[&str] = &["owner", "member", "unknownFutureValue"];
const MTO: &[(&str, super::Ty)] = &[
    (
        "/@odata.context",
        Suffix("$metadata#tenantRelationships/multiTenantOrganization/$entity"),
    ),
    ("/id", Guid),
    ("/createdDateTime", Time),
    ("/displayName", Str),
    ("/description", StrOrNull),
    ("/state", Str),
];
const MTO_STATE: &[(&str, &[&str])] = &[("/state", &["active", "inactive", "unknownFutureValue"])];
const MEMBER: &[(&str, super::Ty)] = &[
    (
        "/@odata.context",
        Suffix("$metadata#tenantRelationships/multiTenantOrganization/tenants/$entity"),
    ),
    ("/tenantId", Guid),
    ("/displayName", Str),
    ("/role", Str),
    ("/state", Str),
    ("/addedByTenantId", Guid),
    ("/addedDateTime", Time),
    ("/joinedDateTime", StrOrNull),
    ("/transitionDetails", ObjOrNull),
];
const MEMBER_ENUMS: &[(&str, &[&str])] = &[
    ("/role", ROLE),
    ("/state", STATE),
    ("/transitionDetails/desiredState", STATE),
    ("/transitionDetails/desiredRole", ROLE),
    ("/transitionDetails/status", STATUS),
];

pub const CASES: &[Case] = &[
    Case {
        page: "v1.0/api/multitenantorganization-get.md",
        example: "no organization yet: the inactive singleton",
        url: "/v1.0/tenantRelationships/multiTenantOrganization",
        shape: &[
            ("/state", Str),
            ("/displayName", Null),
            ("/createdDateTime", Null),
            ("/id", Absent),
        ],
        enums: MTO_STATE,
        ..BASE
    },
    Case {
        page: "v1.0/api/tenantrelationship-put-multitenantorganization.md",
        example: "create a multitenant organization",
        method: "PUT",
        url: "/v1.0/tenantRelationships/multiTenantOrganization",
        body: r#"{"displayName": "Contoso organization", "description": "Multitenant organization between Contoso A, B and C"}"#,
        status: 201,
        shape: MTO,
        enums: MTO_STATE,
        choice: Some(2),
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganization-update.md",
        example: "update the name and description",
        method: "PATCH",
        url: "/v1.0/tenantRelationships/multiTenantOrganization",
        body: r#"{"displayName": "Contoso organization", "description": "Multitenant organization between Contoso A and B"}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganization-get.md",
        example: "get the multitenant organization",
        url: "/v1.0/tenantRelationships/multiTenantOrganization",
        shape: MTO,
        enums: MTO_STATE,
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganization-post-tenants.md",
        example: "add a tenant (the example shows transitionDetails null)",
        method: "POST",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants",
        body: r#"{"tenantId": "{B}", "displayName": "Contoso B"}"#,
        status: 201,
        shape: MEMBER,
        enums: MEMBER_ENUMS,
        choice: Some(6),
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganization-list-tenants.md",
        example: "list the tenants",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants",
        shape: &[
            ("/@odata.context", Str),
            ("/value", Arr),
            ("/value/*/tenantId", Guid),
            ("/value/*/displayName", Str),
            ("/value/*/role", Str),
            ("/value/*/state", Str),
            ("/value/*/addedByTenantId", Guid),
            ("/value/*/addedDateTime", Time),
            ("/value/*/transitionDetails", ObjOrNull),
        ],
        enums: &[("/value/*/role", ROLE), ("/value/*/state", STATE)],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganization-list-tenants.md",
        example: "list the tenants with $filter and $select",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants?$filter=tenantId eq '{B}'&$select=tenantId,displayName",
        shape: &[
            ("/value/0/tenantId", Guid),
            ("/value/0/displayName", Str),
            ("/value/0/role", Absent),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationmember-get.md",
        example: "get a tenant",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants/{B}",
        shape: MEMBER,
        enums: MEMBER_ENUMS,
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationmember-update.md",
        example: "make a tenant an owner",
        method: "PATCH",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants/{B}",
        body: r#"{"role": "owner"}"#,
        status: 204,
        choice: Some(7),
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationjoinrequestrecord-get.md",
        example: "get the join request (never sent)",
        who: Who::B,
        url: "/v1.0/tenantRelationships/multiTenantOrganization/joinRequest",
        shape: &[
            ("/@odata.context", Str),
            ("/id", Str),
            ("/addedByTenantId", Guid),
            ("/memberState", StrOrNull),
            ("/role", StrOrNull),
            ("/transitionDetails", ObjOrNull),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationjoinrequestrecord-update.md",
        example: "join a multitenant organization",
        who: Who::B,
        method: "PATCH",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/joinRequest",
        body: r#"{"addedByTenantId": "{A}"}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationjoinrequestrecord-get.md",
        example: "get the join request (pending)",
        who: Who::B,
        url: "/v1.0/tenantRelationships/multiTenantOrganization/joinRequest",
        shape: &[
            ("/addedByTenantId", Guid),
            ("/memberState", Str),
            ("/transitionDetails", Obj),
            ("/transitionDetails/desiredMemberState", Str),
            ("/transitionDetails/status", Str),
            ("/transitionDetails/details", StrOrNull),
        ],
        enums: &[
            ("/memberState", STATE),
            ("/role", ROLE),
            ("/transitionDetails/desiredMemberState", STATE),
            ("/transitionDetails/status", STATUS),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationmember-delete.md",
        example: "remove a tenant",
        method: "DELETE",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants/{B}",
        status: 204,
        choice: Some(8),
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganizationmember-get.md",
        example: "an unknown tenant: 404",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants/{C}",
        status: 404,
        shape: &[
            ("/error/code", Str),
            ("/error/message", Str),
            ("/error/innerError/request-id", Guid),
            ("/error/innerError/date", Str),
        ],
        enums: &[("/error/code", &["Directory_ObjectNotFound"])],
        ..BASE
    },
    Case {
        page: "v1.0/api/multitenantorganization-post-tenants.md",
        example: "a tenant already pending or active: 400 Request_BadRequest",
        method: "POST",
        url: "/v1.0/tenantRelationships/multiTenantOrganization/tenants",
        body: r#"{"tenantId": "{A}", "displayName": "Contoso A"}"#,
        status: 400,
        enums: &[
            ("/error/code", &["Request_BadRequest"]),
            (
                "/error/message",
                &["Tenant is already being added in Multi-Tenant Organization."],
            ),
        ],
        ..BASE
    },
    Case {
        page: "../concepts/errors.md",
        example: "no token: 401 before anything else, also for a method the path does not have",
        who: Who::Nobody,
        method: "DELETE",
        url: "/v1.0/tenantRelationships/multiTenantOrganization",
        status: 401,
        enums: &[("/error/code", &["InvalidAuthenticationToken"])],
        ..BASE
    },
    Case {
        page: "../concepts/errors.md",
        example: "a method the path does not have: 405",
        method: "DELETE",
        url: "/v1.0/tenantRelationships/multiTenantOrganization",
        status: 405,
        shape: &[("/error/code", Str), ("/error/message", Str)],
        choice: Some(18),
        ..BASE
    },
];

#[tokio::test]
async fn multi_tenant_organization_answers_as_documented() {
    let sb = Sandbox::new();
    super::run(&sb, CASES).await;
}
