//! The configuration app (instantiate), applications, service principals, app role assignments
//! and the synchronization API of a cross-tenant synchronization configuration.

use super::Ty::*;
use super::{BASE, Case};
use crate::harness::*;

const EVENTUAL: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];
const SIGN_IN: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];
const SP_TYPE: &[&str] = &["Application", "ManagedIdentity", "Legacy", "SocialIdp"];
const JOB_ENUMS: &[(&str, &[&str])] = &[
    ("/schedule/state", &["Active", "Disabled", "Paused"]),
    (
        "/status/code",
        &["NotConfigured", "NotRun", "Active", "Paused", "Quarantine"],
    ),
];
const JOB: &[(&str, super::Ty)] = &[
    ("/id", Str),
    ("/templateId", Str),
    ("/schedule/expiration", StrOrNull),
    ("/schedule/interval", Str),
    ("/schedule/state", Str),
    ("/status/code", Str),
    ("/status/countSuccessiveCompleteFailures", Int),
    ("/status/escrowsPruned", Bool),
    ("/status/lastExecution", ObjOrNull),
    ("/status/lastSuccessfulExecution", ObjOrNull),
    ("/status/lastSuccessfulExecutionWithExports", ObjOrNull),
    ("/status/progress", Arr),
    ("/status/quarantine", ObjOrNull),
    ("/status/steadyStateFirstAchievedTime", Time),
    ("/status/steadyStateLastAchievedTime", Time),
    ("/status/synchronizedEntryCountByType", Arr),
    ("/status/troubleshootingUrl", StrOrNull),
    ("/synchronizationJobSettings", Arr),
    ("/synchronizationJobSettings/*/name", Str),
    ("/synchronizationJobSettings/*/value", Str),
];
const ASSIGNMENT: &[(&str, super::Ty)] = &[
    ("/id", Str),
    ("/deletedDateTime", StrOrNull),
    ("/appRoleId", Guid),
    ("/createdDateTime", Time),
    ("/principalDisplayName", Str),
    ("/principalId", Guid),
    ("/principalType", Str),
    ("/resourceDisplayName", Str),
    ("/resourceId", Guid),
];

pub const CASES: &[Case] = &[
    Case {
        page: "v1.0/api/applicationtemplate-instantiate.md",
        example: "instantiate the cross-tenant synchronization configuration app",
        method: "POST",
        url: "/v1.0/applicationTemplates/{cts}/instantiate",
        body: r#"{"displayName": "MTO_Sync_B"}"#,
        status: 201,
        shape: &[
            ("/@odata.context", Str),
            ("/application/id", Guid),
            ("/application/appId", Guid),
            ("/application/applicationTemplateId", Guid),
            ("/application/addIns", Arr),
            ("/application/api/acceptMappedClaims", BoolOrNull),
            ("/application/api/knownClientApplications", Arr),
            ("/application/api/oauth2PermissionScopes", Arr),
            ("/application/api/preAuthorizedApplications", Arr),
            ("/application/api/requestedAccessTokenVersion", Int),
            ("/application/appRoles", Arr),
            ("/application/createdDateTime", Time),
            ("/application/displayName", Str),
            ("/application/groupMembershipClaims", StrOrNull),
            ("/application/identifierUris", Arr),
            ("/application/info/logoUrl", StrOrNull),
            ("/application/info/marketingUrl", StrOrNull),
            ("/application/info/privacyStatementUrl", StrOrNull),
            ("/application/info/supportUrl", StrOrNull),
            ("/application/info/termsOfServiceUrl", StrOrNull),
            ("/application/isDeviceOnlyAuthSupported", BoolOrNull),
            ("/application/isFallbackPublicClient", BoolOrNull),
            ("/application/keyCredentials", Arr),
            ("/application/optionalClaims", ObjOrNull),
            (
                "/application/parentalControlSettings/countriesBlockedForMinors",
                Arr,
            ),
            (
                "/application/parentalControlSettings/legalAgeGroupRule",
                Str,
            ),
            ("/application/passwordCredentials", Arr),
            ("/application/publicClient/redirectUris", Arr),
            ("/application/publisherDomain", Str),
            ("/application/requiredResourceAccess", Arr),
            ("/application/signInAudience", Str),
            ("/application/tags", Arr),
            ("/application/tokenEncryptionKeyId", StrOrNull),
            ("/application/web/redirectUris", Arr),
            ("/application/web/homePageUrl", StrOrNull),
            ("/application/web/logoutUrl", StrOrNull),
            (
                "/application/web/implicitGrantSettings/enableIdTokenIssuance",
                Bool,
            ),
            (
                "/application/web/implicitGrantSettings/enableAccessTokenIssuance",
                Bool,
            ),
            ("/servicePrincipal/id", Guid),
            ("/servicePrincipal/accountEnabled", Bool),
            ("/servicePrincipal/addIns", Arr),
            ("/servicePrincipal/alternativeNames", Arr),
            ("/servicePrincipal/appDisplayName", Str),
            ("/servicePrincipal/appId", Guid),
            ("/servicePrincipal/appOwnerOrganizationId", Guid),
            ("/servicePrincipal/appRoleAssignmentRequired", Bool),
            ("/servicePrincipal/appRoles", Arr),
            ("/servicePrincipal/appRoles/0/id", Guid),
            ("/servicePrincipal/appRoles/0/allowedMemberTypes", Arr),
            ("/servicePrincipal/appRoles/0/displayName", Str),
            ("/servicePrincipal/appRoles/0/isEnabled", Bool),
            ("/servicePrincipal/appRoles/0/origin", Str),
            ("/servicePrincipal/displayName", Str),
            ("/servicePrincipal/endpoints", Arr),
            ("/servicePrincipal/homepage", StrOrNull),
            ("/servicePrincipal/info", Obj),
            ("/servicePrincipal/keyCredentials", Arr),
            ("/servicePrincipal/logoutUrl", StrOrNull),
            ("/servicePrincipal/oauth2PermissionScopes", Arr),
            ("/servicePrincipal/passwordCredentials", Arr),
            ("/servicePrincipal/publisherName", StrOrNull),
            ("/servicePrincipal/replyUrls", Arr),
            ("/servicePrincipal/servicePrincipalNames", Arr),
            ("/servicePrincipal/servicePrincipalType", StrOrNull),
            ("/servicePrincipal/tags", Arr),
            ("/servicePrincipal/tokenEncryptionKeyId", StrOrNull),
        ],
        enums: &[
            ("/application/signInAudience", SIGN_IN),
            ("/servicePrincipal/servicePrincipalType", SP_TYPE),
            (
                "/application/parentalControlSettings/legalAgeGroupRule",
                &[
                    "Allow",
                    "RequireConsentForPrivacyServices",
                    "RequireConsentForMinors",
                    "RequireConsentForKids",
                    "BlockMinors",
                ],
            ),
            (
                "/servicePrincipal/appRoles/*/allowedMemberTypes/*",
                &["User", "Application"],
            ),
        ],
        save: &[
            ("sp", "/servicePrincipal/id"),
            ("app", "/application/id"),
            ("appId", "/application/appId"),
            ("role", "/servicePrincipal/appRoles/0/id"),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/application-list.md",
        example: "get the list of applications",
        url: "/v1.0/applications",
        shape: &[
            ("/@odata.context", Str),
            ("/value/*/id", Guid),
            ("/value/*/appId", Guid),
            ("/value/*/displayName", Str),
            ("/value/*/signInAudience", Str),
        ],
        enums: &[("/value/*/signInAudience", SIGN_IN)],
        ..BASE
    },
    Case {
        page: "v1.0/api/application-list.md",
        example: "use $filter and $top to get one application with a display name that starts with 'M', with a count",
        url: "/v1.0/applications?$filter=startswith(displayName, 'M')&$count=true&$top=1&$orderby=displayName",
        headers: EVENTUAL,
        shape: &[("/@odata.count", Int), ("/value/0/displayName", Str)],
        ..BASE
    },
    Case {
        page: "v1.0/api/application-list.md",
        example: "get only a count of applications",
        url: "/v1.0/applications/$count",
        headers: EVENTUAL,
        shape: &[("", Int)],
        ..BASE
    },
    Case {
        page: "v1.0/api/application-get.md",
        example: "get an application",
        url: "/v1.0/applications/{app}",
        shape: &[
            ("/@odata.context", Str),
            ("/id", Guid),
            ("/appId", Guid),
            ("/displayName", Str),
            ("/web", Obj),
            ("/api", Obj),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/application-get.md",
        example: "use $select",
        url: "/v1.0/applications/{app}?$select=appId,displayName",
        shape: &[("/appId", Guid), ("/displayName", Str), ("/web", Absent)],
        ..BASE
    },
    Case {
        page: "v1.0/api/application-update.md",
        example: "update the displayName of an application",
        method: "PATCH",
        url: "/v1.0/applications/{app}",
        body: r#"{"displayName": "New display name"}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-list.md",
        example: "get a list of service principals",
        url: "/v1.0/servicePrincipals",
        shape: &[
            ("/@odata.context", Str),
            ("/value/*/id", Guid),
            ("/value/*/appId", Guid),
            ("/value/*/displayName", Str),
            ("/value/*/servicePrincipalType", StrOrNull),
        ],
        enums: &[("/value/*/servicePrincipalType", SP_TYPE)],
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-list.md",
        example: "use $search to get service principals with display names that contain the letters 'Sync', with a count",
        url: "/v1.0/servicePrincipals?$search=\"displayName:Sync\"&$count=true&$select=appDisplayName,displayName",
        headers: EVENTUAL,
        shape: &[
            ("/@odata.count", Int),
            ("/value/0/displayName", Str),
            ("/value/0/appDisplayName", Str),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-list.md",
        example: "filter by appId",
        url: "/v1.0/servicePrincipals?$filter=appId eq '{appId}'&$select=id,appId",
        shape: &[("/value/0/id", Guid), ("/value/0/appId", Guid)],
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-list.md",
        example: "get only a count of service principals",
        url: "/v1.0/servicePrincipals/$count",
        headers: EVENTUAL,
        shape: &[("", Int)],
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-get.md",
        example: "get a service principal",
        url: "/v1.0/servicePrincipals/{sp}",
        shape: &[
            ("/@odata.context", Str),
            ("/id", Guid),
            ("/appId", Guid),
            ("/displayName", Str),
            ("/appRoles", Arr),
            ("/tags", Arr),
            ("/servicePrincipalType", Str),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-update.md",
        example: "update a service principal",
        method: "PATCH",
        url: "/v1.0/servicePrincipals/{sp}",
        body: r#"{"appRoleAssignmentRequired": true}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-post-approleassignedto.md",
        example: "grant an app role assignment for a resource service principal",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo",
        body: r#"{"principalId": "{annie}", "resourceId": "{sp}", "appRoleId": "{role}"}"#,
        status: 201,
        shape: ASSIGNMENT,
        enums: &[("/principalType", &["User", "Group", "ServicePrincipal"])],
        save: &[("assignment", "/id")],
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-list-approleassignedto.md",
        example: "list the app role assignments granted for a service principal",
        url: "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo",
        shape: &[
            ("/@odata.context", Str),
            ("/value/0/id", Str),
            ("/value/0/principalId", Guid),
            ("/value/0/principalType", Str),
            ("/value/0/resourceId", Guid),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-list-approleassignedto.md",
        example: "list with $select",
        url: "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo?$select=principalDisplayName,principalType",
        shape: &[
            ("/value/0/principalDisplayName", Str),
            ("/value/0/principalType", Str),
            ("/value/0/id", Absent),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/resources/approleassignment.md",
        example: "read one app role assignment",
        url: "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo/{assignment}",
        shape: ASSIGNMENT,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronization-list-templates.md",
        example: "list the synchronization templates",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/templates",
        shape: &[
            ("/@odata.context", Str),
            ("/value/0/id", Str),
            ("/value/0/applicationId", Guid),
            ("/value/0/default", Bool),
            ("/value/0/description", StrOrNull),
            ("/value/0/discoverable", Bool),
            ("/value/0/factoryTag", Str),
            ("/value/0/metadata", Arr),
            ("/value/0/schema", Obj),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-validatecredentials.md",
        example: "test the connection to the target tenant (collection form, as for CTS)",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/validateCredentials",
        body: r#"{"useSavedCredentials": false, "templateId": "Azure2Azure", "credentials": [{"key": "CompanyId", "value": "{B}"}, {"key": "AuthenticationType", "value": "SyncPolicy"}]}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-serviceprincipal-put-synchronization.md",
        example: "save the synchronization secrets",
        method: "PUT",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/secrets",
        body: r#"{"value": [{"key": "CompanyId", "value": "{B}"}, {"key": "AuthenticationType", "value": "SyncPolicy"}, {"key": "SyncAll", "value": "false"}]}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/resources/synchronization-synchronizationsecretkeystringvaluepair.md",
        example: "read the secrets back",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/secrets",
        shape: &[
            ("/value", Arr),
            ("/value/*/key", Str),
            ("/value/*/value", Str),
        ],
        choice: Some(32),
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronization-post-jobs.md",
        example: "create a synchronization job",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs",
        body: r#"{"templateId": "Azure2Azure"}"#,
        status: 201,
        shape: JOB,
        enums: JOB_ENUMS,
        save: &[("job", "/id")],
        choice: Some(25),
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronization-list-jobs.md",
        example: "list the synchronization jobs",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs",
        shape: &[
            ("/@odata.context", Str),
            ("/value/0/id", Str),
            ("/value/0/templateId", Str),
            ("/value/0/schedule", Obj),
            ("/value/0/status", Obj),
        ],
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-get.md",
        example: "get a synchronization job",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}",
        shape: JOB,
        enums: JOB_ENUMS,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-validatecredentials.md",
        example: "validate the saved credentials of a job",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/validateCredentials",
        body: r#"{"useSavedCredentials": true}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationschema-get.md",
        example: "get the synchronization schema",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema",
        shape: &[
            ("/@odata.context", Str),
            ("/id", Str),
            ("/version", Str),
            ("/synchronizationRules", Arr),
            ("/synchronizationRules/0/id", Str),
            ("/synchronizationRules/0/name", Str),
            ("/synchronizationRules/0/sourceDirectoryName", Str),
            ("/synchronizationRules/0/targetDirectoryName", Str),
            ("/synchronizationRules/0/objectMappings", Arr),
            (
                "/synchronizationRules/0/objectMappings/*/attributeMappings",
                Arr,
            ),
            ("/synchronizationRules/0/objectMappings/*/flowTypes", Str),
            ("/directories", Arr),
            ("/directories/*/name", Str),
            ("/directories/*/objects", Arr),
        ],
        enums: &[
            (
                "/synchronizationRules/0/objectMappings/*/flowTypes",
                &["Add", "Update", "Delete"],
            ),
            (
                "/synchronizationRules/0/objectMappings/*/attributeMappings/*/flowType",
                &[
                    "Always",
                    "ObjectAddOnly",
                    "MultiValueAddOnly",
                    "ValueAddOnly",
                    "AttributeAddOnly",
                ],
            ),
            (
                "/synchronizationRules/0/objectMappings/*/attributeMappings/*/flowBehavior",
                &["FlowWhenChanged", "FlowAlways"],
            ),
            (
                "/synchronizationRules/0/objectMappings/*/attributeMappings/*/source/type",
                &["Attribute", "Constant", "Function"],
            ),
        ],
        save: &[("rule", "/synchronizationRules/0/id"), ("schema", "")],
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationschema-update.md",
        example: "update the synchronization schema (written back as read)",
        method: "PUT",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/schema",
        body: "{schema}",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-start.md",
        example: "start a synchronization job",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/start",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-get.md",
        example: "a started job",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}",
        enums: &[
            ("/schedule/state", &["Active"]),
            ("/status/code", &["NotRun", "Active"]),
        ],
        choice: Some(26),
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-provisionondemand.md",
        example: "provision a user on demand",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/provisionOnDemand",
        body: r#"{"parameters": [{"subjects": [{"objectId": "{annie}", "objectTypeName": "User"}], "ruleId": "{rule}"}]}"#,
        shape: &[("/@odata.context", Str), ("/key", Str), ("/value", Str)],
        choice: Some(33),
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-pause.md",
        example: "pause a synchronization job",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/pause",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-restart.md",
        example: "restart with the documented criteria",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/restart",
        body: r#"{"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}"#,
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-restart.md",
        example: "an unknown resetScope value is a 400",
        method: "POST",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}/restart",
        body: r#"{"criteria": {"resetScope": "Everything"}}"#,
        status: 400,
        shape: &[("/error/code", Str)],
        ..BASE
    },
    Case {
        page: "v1.0/api/synchronization-synchronizationjob-delete.md",
        example: "delete a synchronization job",
        method: "DELETE",
        url: "/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-delete-approleassignedto.md",
        example: "delete an app role assignment",
        method: "DELETE",
        url: "/v1.0/servicePrincipals/{sp}/appRoleAssignedTo/{assignment}",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/serviceprincipal-delete.md",
        example: "delete a service principal",
        method: "DELETE",
        url: "/v1.0/servicePrincipals/{sp}",
        status: 204,
        ..BASE
    },
    Case {
        page: "v1.0/api/application-delete.md",
        example: "delete an application",
        method: "DELETE",
        url: "/v1.0/applications/{app}",
        status: 204,
        choice: Some(36),
        ..BASE
    },
    Case {
        page: "v1.0/api/application-get.md",
        example: "a deleted application: 404",
        url: "/v1.0/applications/{app}",
        status: 404,
        enums: &[("/error/code", &["Request_ResourceNotFound"])],
        ..BASE
    },
];

#[tokio::test]
async fn applications_and_synchronization_answer_as_documented() {
    let sb = Sandbox::new();
    allow_sync(&sb, &A, &B).await;
    super::run(&sb, CASES).await;
}
