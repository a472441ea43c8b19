//! The cross-tenant synchronization configuration app (reference §6.1, §6.7): the application
//! and service principal instantiated from the CTS application template, and the service
//! principal's app role assignments (the shared users and groups).
//!
//! Applications and service principals are documents (kinds `application`, `servicePrincipal`);
//! the private `_spId` of an application names its service principal. Deleting an application
//! deletes its service principal; deleting a service principal deletes its synchronization jobs,
//! secrets and app role assignments (the users it provisioned stay in their target tenants).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::store::docs::{self, kind};
use crate::store::filter::SqlFilter;
use crate::store::sync::{self as ss, Assignment};
use crate::store::tenants;
use crate::store::{Conn, StoreError};
use crate::util::{ZERO_GUID, new_guid, object, rfc3339};

/// The cross-tenant synchronization configuration application template (reference §6.1).
pub const CTS_TEMPLATE_ID: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";

/// `web.homePageUrl` / `homepage` of a CTS configuration (its `metadata` marks it as CTS).
pub const CTS_HOME_PAGE: &str = "https://account.activedirectory.windowsazure.com:444/applications/default.aspx?metadata=aad2aadsync|ISV9.1|primary|z";

/// The CTS configuration's `msiam_access` app role.
fn msiam_access(id: &str) -> Value {
    json!({
        "allowedMemberTypes": ["User"],
        "description": "msiam_access",
        "displayName": "msiam_access",
        "id": id,
        "isEnabled": true,
        "origin": "Application",
        "value": null,
    })
}

fn user_impersonation(id: &str, name: &str) -> Value {
    json!({
        "adminConsentDescription": format!("Allow the application to access {name} on behalf of the signed-in user."),
        "adminConsentDisplayName": format!("Access {name}"),
        "id": id,
        "isEnabled": true,
        "type": "User",
        "userConsentDescription": format!("Allow the application to access {name} on your behalf."),
        "userConsentDisplayName": format!("Access {name}"),
        "value": "user_impersonation",
    })
}

/// The application and service principal documents of a new CTS configuration.
pub fn new_configuration(
    name: &str,
    tenant: &tenants::Tenant,
    now: i64,
) -> (Map<String, Value>, Map<String, Value>) {
    let (app_object_id, app_id, sp_id) = (new_guid(), new_guid(), new_guid());
    let role = msiam_access(&new_guid());
    let scope = user_impersonation(&new_guid(), name);
    let mut app = object(json!({
        "id": app_object_id,
        "appId": app_id,
        "applicationTemplateId": CTS_TEMPLATE_ID,
        "appRoles": [role],
        "addIns": [],
        "api": {"acceptMappedClaims": null, "knownClientApplications": [], "oauth2PermissionScopes": [scope], "preAuthorizedApplications": [], "requestedAccessTokenVersion": 2},
        "createdDateTime": rfc3339(now),
        "deletedDateTime": null,
        "description": null,
        "displayName": name,
        "groupMembershipClaims": null,
        "identifierUris": [],
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
        "isDeviceOnlyAuthSupported": null,
        "isFallbackPublicClient": null,
        "keyCredentials": [],
        "notes": null,
        "optionalClaims": null,
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "publicClient": {"redirectUris": []},
        "publisherDomain": tenant.initial_domain,
        "requiredResourceAccess": [],
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "tokenEncryptionKeyId": null,
        "web": {
            "homePageUrl": CTS_HOME_PAGE,
            "logoutUrl": null,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
        },
    }));
    app.insert("_spId".into(), json!(sp_id));
    let sp = object(json!({
        "id": sp_id,
        "accountEnabled": true,
        "addIns": [],
        "alternativeNames": [],
        "appDisplayName": name,
        "appId": app_id,
        "applicationTemplateId": CTS_TEMPLATE_ID,
        "appOwnerOrganizationId": tenant.id,
        "appRoleAssignmentRequired": true,
        "appRoles": [role],
        "deletedDateTime": null,
        "description": null,
        "displayName": name,
        "endpoints": [],
        "homepage": CTS_HOME_PAGE,
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
        "keyCredentials": [],
        "loginUrl": null,
        "logoutUrl": null,
        "notes": null,
        "notificationEmailAddresses": [],
        "oauth2PermissionScopes": [scope],
        "passwordCredentials": [],
        "preferredSingleSignOnMode": null,
        "publisherName": tenant.display_name,
        "replyUrls": [],
        "servicePrincipalNames": [app_id],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "tokenEncryptionKeyId": null,
    }));
    (app, sp)
}

/// A CTS configuration as stored: its two documents.
pub struct Configuration {
    /// The application (with the private `_spId`).
    pub application: Map<String, Value>,
    /// Its service principal.
    pub service_principal: Map<String, Value>,
}

/// `POST /applicationTemplates/{CTS}/instantiate`: create a configuration named `name` in
/// `tenant`.
pub fn instantiate(
    tx: &Conn,
    tenant: &str,
    name: &str,
    now: i64,
) -> Result<Configuration, ApiError> {
    let row = tenants::get_tenant(tx, tenant)?.ok_or_else(ApiError::directory_object_not_found)?;
    let (app, sp) = new_configuration(name, &row, now);
    let app_key = app["id"].as_str().unwrap_or_default().to_string();
    let sp_key = sp["id"].as_str().unwrap_or_default().to_string();
    docs::insert(tx, tenant, kind::APPLICATION, &app_key, &app, now)?;
    docs::insert(tx, tenant, kind::SERVICE_PRINCIPAL, &sp_key, &sp, now)?;
    Ok(Configuration {
        application: app,
        service_principal: sp,
    })
}

/// PATCH an application or service principal (`doc_kind`) with a validated body (404 naming `id`
/// when there is none).
pub fn update(
    tx: &Conn,
    tenant: &str,
    doc_kind: &str,
    key: &str,
    id: &str,
    body: Map<String, Value>,
) -> Result<(), ApiError> {
    let mut doc =
        docs::get(tx, tenant, doc_kind, key)?.ok_or_else(|| ApiError::resource_not_found(id))?;
    for (k, v) in body {
        if !k.starts_with("@odata.") {
            doc.body.insert(k, v);
        }
    }
    docs::update(tx, tenant, doc_kind, key, &doc.body)?;
    Ok(())
}

/// Delete a service principal and everything synchronization keeps for it. Returns whether it
/// existed.
pub fn delete_service_principal(tx: &Conn, tenant: &str, sp_id: &str) -> Result<bool, StoreError> {
    ss::delete_sp_state(tx, tenant, sp_id)?;
    docs::delete(tx, tenant, kind::SERVICE_PRINCIPAL, sp_id)
}

/// Delete an application with its service principal, jobs, secrets and assignments (404 naming
/// `id` when there is none).
pub fn delete_application(tx: &Conn, tenant: &str, key: &str, id: &str) -> Result<(), ApiError> {
    let app = docs::get(tx, tenant, kind::APPLICATION, key)?
        .ok_or_else(|| ApiError::resource_not_found(id))?;
    // The service principal of this app: the one recorded at instantiation, or any with
    // the same appId.
    let mut sps: Vec<String> = app
        .body
        .get("_spId")
        .and_then(Value::as_str)
        .map(|s| vec![s.to_string()])
        .unwrap_or_default();
    if let Some(app_id) = app.body.get("appId").and_then(Value::as_str) {
        let filter = SqlFilter::prop_equals("appId", app_id);
        for d in docs::list(
            tx,
            tenant,
            kind::SERVICE_PRINCIPAL,
            &filter,
            None,
            1000,
            i64::MAX,
        )? {
            if !sps.contains(&d.key) {
                sps.push(d.key);
            }
        }
    }
    for sp in sps {
        delete_service_principal(tx, tenant, &sp)?;
    }
    docs::delete(tx, tenant, kind::APPLICATION, key)?;
    Ok(())
}

/// The app role assignment of a new `POST /servicePrincipals/{id}/appRoleAssignedTo`: the
/// principal must be a user or group of the same tenant (else 404) and the role one of the
/// service principal's (else 400); a duplicate is 400.
pub fn assign(
    tx: &Conn,
    tenant: &str,
    sp_key: &str,
    principal: &str,
    role: &str,
    now: i64,
) -> Result<Assignment, ApiError> {
    let sp = docs::get(tx, tenant, kind::SERVICE_PRINCIPAL, sp_key)?
        .ok_or_else(|| ApiError::resource_not_found(sp_key))?;
    let known_role = role == ZERO_GUID
        || sp
            .body
            .get("appRoles")
            .and_then(Value::as_array)
            .is_some_and(|r| {
                r.iter()
                    .any(|x| x.get("id").and_then(Value::as_str) == Some(role))
            });
    if !known_role {
        return Err(ApiError::request_bad_request(format!(
            "Permission being assigned was not found on application '{}'.",
            sp.body
                .get("appId")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )));
    }
    let (ptype, pname) = if let Some(u) = docs::get(tx, tenant, kind::USER, principal)? {
        (
            "User",
            u.body.get("displayName").cloned().unwrap_or(Value::Null),
        )
    } else if let Some(g) = docs::get(tx, tenant, kind::GROUP, principal)? {
        (
            "Group",
            g.body.get("displayName").cloned().unwrap_or(Value::Null),
        )
    } else {
        return Err(ApiError::resource_not_found(principal));
    };
    // Assignment ids are opaque base64url strings in Graph, not GUIDs.
    let aid = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let body = json!({
        "id": aid,
        "deletedDateTime": null,
        "appRoleId": role,
        "createdDateTime": rfc3339(now),
        "principalDisplayName": pname,
        "principalId": principal,
        "principalType": ptype,
        "resourceDisplayName": sp.body.get("displayName").cloned().unwrap_or(Value::Null),
        "resourceId": sp_key,
    });
    let a = Assignment {
        id: aid,
        resource_id: sp_key.to_string(),
        principal_id: principal.to_string(),
        principal_type: ptype.into(),
        app_role_id: role.to_string(),
        body,
    };
    if !ss::insert_assignment(tx, tenant, &a)? {
        return Err(ApiError::request_bad_request(
            "Permission being assigned already exists on the object.",
        ));
    }
    Ok(a)
}

/// Delete an app role assignment (404 naming the missing service principal or assignment).
pub fn unassign(tx: &Conn, tenant: &str, sp_key: &str, aid: &str) -> Result<(), ApiError> {
    if docs::get(tx, tenant, kind::SERVICE_PRINCIPAL, sp_key)?.is_none() {
        return Err(ApiError::resource_not_found(sp_key));
    }
    if !ss::delete_assignment(tx, tenant, sp_key, aid)? {
        return Err(ApiError::resource_not_found(aid));
    }
    Ok(())
}
