//! The directory: users, deleted items, organization, groups and their members.

use super::Ty::*;
use super::{BASE, Case, Who};
use crate::harness::*;

const EVENTUAL: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];
const USER: &[(&str, super::Ty)] = &[
    ("/@odata.context", Str),
    ("/id", Guid),
    ("/businessPhones", Arr),
    ("/displayName", Str),
    ("/givenName", StrOrNull),
    ("/jobTitle", StrOrNull),
    ("/mail", StrOrNull),
    ("/mobilePhone", StrOrNull),
    ("/officeLocation", StrOrNull),
    ("/preferredLanguage", StrOrNull),
    ("/surname", StrOrNull),
    ("/userPrincipalName", Str),
];
const USERS: &[(&str, super::Ty)] = &[
    ("/@odata.context", Str),
    ("/value", Arr),
    ("/value/*/id", Guid),
    ("/value/*/businessPhones", Arr),
    ("/value/*/displayName", Str),
    ("/value/*/givenName", StrOrNull),
    ("/value/*/jobTitle", StrOrNull),
    ("/value/*/mail", StrOrNull),
    ("/value/*/mobilePhone", StrOrNull),
    ("/value/*/officeLocation", StrOrNull),
    ("/value/*/preferredLanguage", StrOrNull),
    ("/value/*/surname", StrOrNull),
    ("/value/*/userPrincipalName", Str),
];
const GROUP: &[(&str, super::Ty)] = &[
    ("/id", Guid),
    ("/createdDateTime", Time),
    ("/description", StrOrNull),
    ("/displayName", Str),
    ("/groupTypes", Arr),
    ("/mail", StrOrNull),
    ("/mailEnabled", Bool),
    ("/mailNickname", Str),
    ("/securityEnabled", Bool),
    ("/visibility", StrOrNull),
];
const VISIBILITY: &[(&str, &[&str])] =
    &[("/visibility", &["Public", "Private", "HiddenMembership"])];
const NOT_FOUND: &[(&str, super::Ty)] = &[
    ("/error/code", Str),
    (
        "/error/message",
        Suffix("does not exist or one of its queried reference-property objects are not present."),
    ),
    ("/error/innerError/date", Str),
    ("/error/innerError/request-id", Guid),
    ("/error/innerError/client-request-id", Guid),
];

pub const CASES: &[Case] = &[
    Case {
        page: "v1.0/api/user-list.md",
        example: "example 1: get all users",
        url: "/v1.0/users",
        shape: USERS,
        ..BASE
    },
    Case {
        page: "v1.0/api/user-list.md",
        example: "get a user account using a sign-in name (identities/any)",
        url: "/v1.0/users?$select=displayName,id&$filter=identities/any(c:c/issuerAssignedId eq 'j.smith@yahoo.com' and c/issuer eq 'My B2C tenant')",
        shape: &[("/@odata.context", Str), ("/value", Arr)],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-list.md",
        example: "get users including their last sign-in time ($select, $filter eq)",
        url: "/v1.0/users?$filter=userType eq 'Member'&$select=displayName,userType",
        shape: &[
            ("/value/*/displayName", Str),
            ("/value/*/userType", Str),
            ("/value/*/id", Absent),
        ],
        enums: &[("/value/*/userType", &["Member", "Guest"])],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-list.md",
        example: "use $filter and $top to get one user with a display name that starts with 'a' including a count",
        url: "/v1.0/users?$filter=startswith(displayName,'a')&$orderby=displayName&$count=true&$top=1",
        headers: EVENTUAL,
        shape: &[("/@odata.count", Int), ("/value/0/displayName", Str)],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-list.md",
        example: "use $filter to get all users with a mail that ends with a given domain, including a count, sorted",
        url: "/v1.0/users?$filter=endswith(mail,'a.com')&$orderby=userPrincipalName&$count=true",
        headers: EVENTUAL,
        shape: &[("/@odata.count", Int), ("/value/0/mail", Str)],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-list.md",
        example: "use $search to get users with display names that contain the letters 'an', including a count",
        url: "/v1.0/users?$search=\"displayName:an\"&$orderby=displayName&$count=true",
        headers: EVENTUAL,
        shape: &[("/@odata.count", Int), ("/value/0/displayName", Str)],
        ..BASE
    },
    Case {
        page: "beta/api/user-list.md",
        example: "ConsistencyLevel=eventual as a query parameter, with $count and endsWith",
        url: "/beta/users?$count=true&ConsistencyLevel=eventual&$filter=endsWith(mail,'@contosoa.com')",
        shape: &[("/@odata.count", Int), ("/value/0/mail", Str)],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-list.md",
        example: "get only a count of users",
        url: "/v1.0/users/$count",
        headers: EVENTUAL,
        shape: &[("", Int)],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-list.md",
        example: "$count without ConsistencyLevel: eventual is refused",
        url: "/v1.0/users?$count=true",
        status: 400,
        shape: &[("/error/code", Str)],
        enums: &[("/error/code", &["Request_BadRequest"])],
        choice: Some(19),
        ..BASE
    },
    Case {
        page: "../concepts/query-parameters.md",
        example: "a misspelt system query option is refused, not ignored",
        url: "/v1.0/users?$filtr=displayName eq 'Annie Archer'",
        status: 400,
        enums: &[("/error/code", &["Request_BadRequest"])],
        choice: Some(50),
        ..BASE
    },
    Case {
        page: "../concepts/query-parameters.md",
        example: "sort with $orderby=displayName desc",
        url: "/v1.0/users?$orderby=displayName desc&$select=displayName",
        shape: &[
            ("/@odata.context", Suffix("$metadata#users(displayName)")),
            ("/value/0/displayName", Str),
        ],
        ..BASE
    },
    Case {
        page: "../concepts/aad-advanced-queries.md",
        example: "$orderby with $filter outside an advanced query: Sorting not supported",
        url: "/v1.0/users?$filter=accountEnabled eq true&$orderby=displayName",
        status: 400,
        enums: &[
            ("/error/code", &["Request_UnsupportedQuery"]),
            (
                "/error/message",
                &["Sorting not supported for current query."],
            ),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-post-users.md",
        example: "create a user",
        method: "POST",
        url: "/v1.0/users",
        body: r#"{"accountEnabled": true, "displayName": "Adele Vance", "mailNickname": "AdeleV", "userPrincipalName": "AdeleV@{domainA}", "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}}"#,
        status: 201,
        shape: USER,
        save: &[("adele", "/id")],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-post-users.md",
        example: "the same userPrincipalName again: 400",
        method: "POST",
        url: "/v1.0/users",
        body: r#"{"accountEnabled": true, "displayName": "Adele Vance", "mailNickname": "AdeleV", "userPrincipalName": "AdeleV@{domainA}", "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}}"#,
        status: 400,
        enums: &[("/error/code", &["Request_BadRequest"])],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-get.md",
        example: "get a user by id",
        url: "/v1.0/users/{adele}",
        shape: USER,
        ..BASE
    },
    Case {
        page: "v1.0/api/user-get.md",
        example: "get a user by userPrincipalName",
        url: "/v1.0/users/AdeleV@{domainA}",
        shape: USER,
        ..BASE
    },
    Case {
        page: "v1.0/api/user-get.md",
        example: "use $select to retrieve specific properties",
        url: "/v1.0/users/{annie}?$select=displayName,givenName,postalCode,identities",
        shape: &[
            ("/@odata.context", Str),
            ("/displayName", Str),
            ("/givenName", Str),
            ("/postalCode", StrOrNull),
            ("/identities", Any),
            ("/id", Absent),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/user-update.md",
        example: "update properties of a user",
        method: "PATCH",
        url: "/v1.0/users/{adele}",
        body: r#"{"businessPhones": ["+1 425 555 0109"], "officeLocation": "18/2111"}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/user-delete.md",
        example: "delete a user",
        method: "DELETE",
        url: "/v1.0/users/{adele}",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/user-get.md",
        example: "a deleted user: 404",
        url: "/v1.0/users/{adele}",
        status: 404,
        shape: NOT_FOUND,
        enums: &[("/error/code", &["Request_ResourceNotFound"])],
        ..BASE
    },
    Case {
        page: "v1.0/api/directory-deleteditems-list.md",
        example: "list deleted users",
        url: "/v1.0/directory/deletedItems/microsoft.graph.user",
        shape: &[
            ("/@odata.context", Str),
            ("/value/0/id", Guid),
            ("/value/0/displayName", Str),
            ("/value/0/deletedDateTime", Time),
            ("/value/0/userPrincipalName", Str),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/directory-deleteditems-list.md",
        example: "list deleted users sorted by deletedDateTime, with a count",
        url: "/v1.0/directory/deletedItems/microsoft.graph.user?$count=true&$orderby=deletedDateTime asc&$select=id,displayName,deletedDateTime",
        headers: EVENTUAL,
        shape: &[("/@odata.count", Int), ("/value/0/deletedDateTime", Time)],
        ..BASE
    },
    Case {
        page: "v1.0/api/directory-deleteditems-list.md",
        example: "count deleted users",
        url: "/v1.0/directory/deletedItems/microsoft.graph.user/$count",
        headers: EVENTUAL,
        shape: &[("", Int)],
        ..BASE
    },
    Case {
        page: "v1.0/api/directory-deleteditems-get.md",
        example: "get a deleted user",
        url: "/v1.0/directory/deletedItems/{adele}",
        shape: &[
            ("/@odata.context", Str),
            ("/@odata.type", Str),
            ("/id", Guid),
            ("/displayName", Str),
            ("/deletedDateTime", Time),
        ],
        enums: &[("/@odata.type", &["#microsoft.graph.user"])],
        ..BASE
    },
    Case {
        page: "v1.0/api/organization-list.md",
        example: "list the organization",
        url: "/v1.0/organization",
        shape: &[
            ("/@odata.context", Str),
            ("/value/0/id", Guid),
            ("/value/0/displayName", Str),
            ("/value/0/verifiedDomains", Arr),
            ("/value/0/verifiedDomains/0/name", Str),
            ("/value/0/verifiedDomains/0/isInitial", Bool),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/organization-get.md",
        example: "get the organization with $select",
        url: "/v1.0/organization/{A}?$select=id,displayName,verifiedDomains",
        shape: &[
            ("/id", Guid),
            ("/displayName", Str),
            ("/verifiedDomains", Arr),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-list.md",
        example: "list all groups",
        who: Who::B,
        url: "/v1.0/groups",
        shape: &[
            ("/@odata.context", Str),
            ("/value", Arr),
            ("/value/*/id", Guid),
            ("/value/*/displayName", Str),
            ("/value/*/groupTypes", Arr),
            ("/value/*/mailEnabled", Bool),
            ("/value/*/securityEnabled", Bool),
            ("/value/*/mailNickname", Str),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-list.md",
        example: "get only Microsoft 365 groups (groupTypes/any)",
        who: Who::B,
        url: "/v1.0/groups?$filter=groupTypes/any(c:c+eq+'Unified')&$select=id,displayName,groupTypes",
        shape: &[("/value", Arr)],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-list.md",
        example: "use $search and $orderby with a count",
        who: Who::B,
        url: "/v1.0/groups?$search=\"displayName:shared\"&$orderby=displayName&$count=true",
        headers: EVENTUAL,
        shape: &[("/@odata.count", Int), ("/value/0/displayName", Str)],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-list.md",
        example: "get only a count of groups",
        who: Who::B,
        url: "/v1.0/groups/$count",
        headers: EVENTUAL,
        shape: &[("", Int)],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-list.md",
        example: "a count without ConsistencyLevel: eventual is refused",
        who: Who::B,
        url: "/v1.0/groups/$count",
        status: 400,
        enums: &[("/error/code", &["Request_BadRequest"])],
        choice: Some(19),
        ..BASE
    },
    Case {
        page: "v1.0/api/group-post-groups.md",
        example: "create a Microsoft 365 group",
        who: Who::B,
        method: "POST",
        url: "/v1.0/groups",
        body: r#"{"description": "Self help community for library", "displayName": "Library Assist", "groupTypes": ["Unified"], "mailEnabled": true, "mailNickname": "library", "securityEnabled": false}"#,
        status: 201,
        shape: GROUP,
        enums: VISIBILITY,
        save: &[("library", "/id")],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-post-groups.md",
        example: "create a security group",
        who: Who::B,
        method: "POST",
        url: "/v1.0/groups",
        body: r#"{"description": "Operations team", "displayName": "Operations", "groupTypes": [], "mailEnabled": false, "mailNickname": "operations", "securityEnabled": true}"#,
        status: 201,
        shape: GROUP,
        save: &[("ops", "/id")],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-get.md",
        example: "get a group",
        who: Who::B,
        url: "/v1.0/groups/{ops}",
        shape: GROUP,
        ..BASE
    },
    Case {
        page: "v1.0/api/group-update.md",
        example: "update basic properties of a group",
        who: Who::B,
        method: "PATCH",
        url: "/v1.0/groups/{ops}",
        body: r#"{"description": "Self help community for golf", "displayName": "Golf Assist"}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/group-post-members.md",
        example: "add a member to a group",
        who: Who::B,
        method: "POST",
        url: "/v1.0/groups/{ops}/members/$ref",
        body: r#"{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{bob}"}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/group-post-members.md",
        example: "adding an existing member again is a 400",
        who: Who::B,
        method: "POST",
        url: "/v1.0/groups/{ops}/members/$ref",
        body: r#"{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{bob}"}"#,
        status: 400,
        enums: &[("/error/code", &["Request_BadRequest"])],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-list-members.md",
        example: "get the direct membership in a group",
        who: Who::B,
        url: "/v1.0/groups/{ops}/members",
        shape: &[
            ("/@odata.context", Str),
            ("/value/0/@odata.type", Str),
            ("/value/0/id", Guid),
            ("/value/0/displayName", Str),
        ],
        enums: &[(
            "/value/*/@odata.type",
            &["#microsoft.graph.user", "#microsoft.graph.group"],
        )],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-delete-members.md",
        example: "remove a member from a group",
        who: Who::B,
        method: "DELETE",
        url: "/v1.0/groups/{ops}/members/{bob}/$ref",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/group-delete.md",
        example: "delete a group",
        who: Who::B,
        method: "DELETE",
        url: "/v1.0/groups/{library}",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/group-get.md",
        example: "a deleted group: 404",
        who: Who::B,
        url: "/v1.0/groups/{library}",
        status: 404,
        shape: NOT_FOUND,
        enums: &[("/error/code", &["Request_ResourceNotFound"])],
        ..BASE
    },
    Case {
        page: "v1.0/api/group-post-groups.md",
        example: "without a write permission: 403",
        who: Who::ReaderA,
        method: "POST",
        url: "/v1.0/groups",
        body: r#"{"displayName": "x", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true}"#,
        status: 403,
        enums: &[
            ("/error/code", &["Authorization_RequestDenied"]),
            (
                "/error/message",
                &["Insufficient privileges to complete the operation."],
            ),
        ],
        ..BASE
    },
];

#[tokio::test]
async fn directory_answers_as_documented() {
    let sb = Sandbox::new();
    super::run(&sb, CASES).await;
}
