//! The cross-tenant synchronization configuration app: its application and service principal
//! (instantiated from the CTS application template, reference §6.1) and the service principal's
//! app role assignments (the shared users and groups, §6.7).
//!
//! ```text
//! POST              /applicationTemplates/518e5f48-1fc8-4c48-9387-9fdf28b0dfe7/instantiate  (201)
//! GET               /applications        ($filter on id, appId, displayName, applicationTemplateId; $select; paging)
//! GET|PATCH|DELETE  /applications/{id}
//! GET               /servicePrincipals   (same options)
//! GET|PATCH|DELETE  /servicePrincipals/{id}
//! GET|POST          /servicePrincipals/{id}/appRoleAssignedTo   (paged)
//! DELETE            /servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}
//! ```
//!
//! Applications and service principals are documents (kinds `application`, `servicePrincipal`);
//! the private `_spId` of an application names its service principal. Deleting an application
//! deletes its service principal; deleting a service principal deletes its synchronization jobs,
//! secrets and app role assignments (the users it provisioned stay in their target tenants).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::users::{Listing, list_paged};
use super::{
    Ctx, check_properties, entity_fragment, expect_object, json_response, no_content, with_context,
};
use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::query::{PageToken, QueryParams, parse_top, project};
use crate::store::docs::{self, Doc, kind};
use crate::store::filter::SqlFilter;
use crate::store::sync::{self as ss, Assignment};
use crate::store::tenants;
use crate::store::{Conn, StoreError};
use crate::util::{ZERO_GUID, new_guid, now_ms, parse_guid, rfc3339};

/// The cross-tenant synchronization configuration application template (reference §6.1).
pub const CTS_TEMPLATE_ID: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";

/// `web.homePageUrl` / `homepage` of a CTS configuration (its `metadata` marks it as CTS).
pub const CTS_HOME_PAGE: &str = "https://account.activedirectory.windowsazure.com:444/applications/default.aspx?metadata=aad2aadsync|ISV9.1|primary|z";

const APPLICATION_PROPS: &[&str] = &[
    "id",
    "appId",
    "applicationTemplateId",
    "appRoles",
    "api",
    "createdDateTime",
    "deletedDateTime",
    "description",
    "displayName",
    "identifierUris",
    "info",
    "keyCredentials",
    "notes",
    "passwordCredentials",
    "publisherDomain",
    "requiredResourceAccess",
    "signInAudience",
    "tags",
    "web",
];

const SP_PROPS: &[&str] = &[
    "id",
    "accountEnabled",
    "appDisplayName",
    "appId",
    "applicationTemplateId",
    "appOwnerOrganizationId",
    "appRoleAssignmentRequired",
    "appRoles",
    "deletedDateTime",
    "description",
    "displayName",
    "homepage",
    "info",
    "keyCredentials",
    "loginUrl",
    "logoutUrl",
    "notes",
    "notificationEmailAddresses",
    "oauth2PermissionScopes",
    "passwordCredentials",
    "preferredSingleSignOnMode",
    "replyUrls",
    "servicePrincipalNames",
    "servicePrincipalType",
    "signInAudience",
    "tags",
];

const FILTER_PROPS: &[&str] = &["id", "appId", "displayName", "applicationTemplateId"];

static APPLICATIONS: Listing = Listing {
    kind: kind::APPLICATION,
    set: "applications",
    type_name: "application",
    props: APPLICATION_PROPS,
    default: &[],
    filter_props: FILTER_PROPS,
    search_props: &["displayName"],
    odata_type: None,
};

static SERVICE_PRINCIPALS: Listing = Listing {
    kind: kind::SERVICE_PRINCIPAL,
    set: "servicePrincipals",
    type_name: "servicePrincipal",
    props: SP_PROPS,
    default: &[],
    filter_props: FILTER_PROPS,
    search_props: &["displayName"],
    odata_type: None,
};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

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
fn new_configuration(
    name: &str,
    tenant: &tenants::Tenant,
    now: i64,
) -> (Map<String, Value>, Map<String, Value>) {
    let (app_object_id, app_id, sp_id) = (new_guid(), new_guid(), new_guid());
    let role = msiam_access(&new_guid());
    let scope = user_impersonation(&new_guid(), name);
    let mut app = obj(json!({
        "id": app_object_id,
        "appId": app_id,
        "applicationTemplateId": CTS_TEMPLATE_ID,
        "appRoles": [role],
        "api": {"acceptMappedClaims": null, "knownClientApplications": [], "oauth2PermissionScopes": [scope], "preAuthorizedApplications": [], "requestedAccessTokenVersion": null},
        "createdDateTime": rfc3339(now),
        "deletedDateTime": null,
        "description": null,
        "displayName": name,
        "identifierUris": [],
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
        "keyCredentials": [],
        "notes": null,
        "passwordCredentials": [],
        "publisherDomain": tenant.initial_domain,
        "requiredResourceAccess": [],
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "web": {
            "homePageUrl": CTS_HOME_PAGE,
            "logoutUrl": null,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
        },
    }));
    app.insert("_spId".into(), json!(sp_id));
    let sp = obj(json!({
        "id": sp_id,
        "accountEnabled": true,
        "appDisplayName": name,
        "appId": app_id,
        "applicationTemplateId": CTS_TEMPLATE_ID,
        "appOwnerOrganizationId": tenant.id,
        "appRoleAssignmentRequired": true,
        "appRoles": [role],
        "deletedDateTime": null,
        "description": null,
        "displayName": name,
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
        "replyUrls": [],
        "servicePrincipalNames": [app_id],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
    }));
    (app, sp)
}

fn public(m: &Map<String, Value>) -> Map<String, Value> {
    project(m, None, &[])
}

/// `POST /applicationTemplates/{id}/instantiate` — 201 `{application, servicePrincipal}`. Only the
/// CTS template exists; any other id is 404.
pub async fn instantiate(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(template): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationWrite)?;
    if parse_guid(&template).as_deref() != Some(CTS_TEMPLATE_ID) {
        return Err(ApiError::resource_not_found(&template));
    }
    let body = expect_object(body)?;
    check_properties(&body, &["displayName"], "applicationTemplate")?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::request_bad_request("Invalid value specified for property 'displayName'.")
        })?
        .to_string();
    let t = ctx.tenant().to_string();
    let now = now_ms();
    let (app, sp) = st
        .store
        .write_with(move |tx| -> Result<_, ApiError> {
            let tenant =
                tenants::get_tenant(tx, &t)?.ok_or_else(ApiError::directory_object_not_found)?;
            let (app, sp) = new_configuration(&name, &tenant, now);
            let app_key = app["id"].as_str().unwrap_or_default().to_string();
            let sp_key = sp["id"].as_str().unwrap_or_default().to_string();
            docs::insert(tx, &t, kind::APPLICATION, &app_key, &app, now)?;
            docs::insert(tx, &t, kind::SERVICE_PRINCIPAL, &sp_key, &sp, now)?;
            Ok((app, sp))
        })
        .await?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(ctx.context("microsoft.graph.applicationServicePrincipal")),
    );
    out.insert("application".into(), Value::Object(public(&app)));
    out.insert("servicePrincipal".into(), Value::Object(public(&sp)));
    Ok(json_response(StatusCode::CREATED, &Value::Object(out)))
}

/// `GET /applications`.
pub async fn list_applications(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationRead)?;
    list_paged(&st, &ctx, &APPLICATIONS).await
}

/// `GET /servicePrincipals`.
pub async fn list_service_principals(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationRead)?;
    list_paged(&st, &ctx, &SERVICE_PRINCIPALS).await
}

async fn get_doc(st: &AppState, ctx: &Ctx, k: &'static str, id: &str) -> Result<Doc, ApiError> {
    let key = parse_guid(id).ok_or_else(|| ApiError::resource_not_found(id))?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    st.store
        .read_with(move |c| docs::get_visible(c, &t, k, &key, vb))
        .await?
        .ok_or_else(|| ApiError::resource_not_found(id))
}

async fn get_one(
    st: &AppState,
    ctx: &Ctx,
    l: &'static Listing,
    id: &str,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationRead)?;
    let select = ctx.select(l.props, l.type_name)?;
    let doc = get_doc(st, ctx, l.kind, id).await?;
    let body = with_context(
        ctx.context(&entity_fragment(l.set, select.as_deref())),
        project(&doc.body, select.as_deref(), &[]),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /applications/{id}`.
pub async fn get_application(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    get_one(&st, &ctx, &APPLICATIONS, &id).await
}

/// `GET /servicePrincipals/{id}`.
pub async fn get_service_principal(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    get_one(&st, &ctx, &SERVICE_PRINCIPALS, &id).await
}

/// PATCH accepts `displayName`, `description`, `notes` and `tags`; every other property belongs
/// to the template (400).
fn check_patch(body: &Map<String, Value>, known: &[&str], type_name: &str) -> Result<(), ApiError> {
    for (k, v) in body {
        if k.starts_with("@odata.") {
            continue;
        }
        if !known.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property on type 'microsoft.graph.{type_name}'."
            )));
        }
        let ok = match k.as_str() {
            "displayName" => v.as_str().is_some_and(|s| !s.trim().is_empty()),
            "description" | "notes" => v.is_string() || v.is_null(),
            "tags" => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            _ => {
                return Err(ApiError::request_bad_request(format!(
                    "Property '{k}' cannot be changed on a cross-tenant synchronization configuration."
                )));
            }
        };
        if !ok {
            return Err(ApiError::request_bad_request(format!(
                "Invalid value specified for property '{k}' of resource '{type_name}'."
            )));
        }
    }
    Ok(())
}

async fn patch_doc(
    st: &AppState,
    ctx: &Ctx,
    l: &'static Listing,
    id: &str,
    body: Value,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationWrite)?;
    let body = expect_object(body)?;
    check_patch(&body, l.props, l.type_name)?;
    let key = parse_guid(id).ok_or_else(|| ApiError::resource_not_found(id))?;
    let t = ctx.tenant().to_string();
    let id = id.to_string();
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            let mut doc = docs::get(tx, &t, l.kind, &key)?
                .ok_or_else(|| ApiError::resource_not_found(&id))?;
            for (k, v) in body {
                if !k.starts_with("@odata.") {
                    doc.body.insert(k, v);
                }
            }
            docs::update(tx, &t, l.kind, &key, &doc.body)?;
            Ok(())
        })
        .await?;
    Ok(no_content())
}

/// `PATCH /applications/{id}` — 204 (`displayName`, `description`, `notes`, `tags`).
pub async fn patch_application(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    patch_doc(&st, &ctx, &APPLICATIONS, &id, body).await
}

/// `PATCH /servicePrincipals/{id}` — 204 (`displayName`, `description`, `notes`, `tags`).
pub async fn patch_service_principal(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    patch_doc(&st, &ctx, &SERVICE_PRINCIPALS, &id, body).await
}

/// Delete a service principal and everything synchronization keeps for it.
fn delete_sp(tx: &Conn, tenant: &str, sp_id: &str) -> Result<bool, StoreError> {
    ss::delete_sp_state(tx, tenant, sp_id)?;
    docs::delete(tx, tenant, kind::SERVICE_PRINCIPAL, sp_id)
}

/// `DELETE /applications/{id}` — 204; deletes its service principal, jobs, secrets and
/// assignments too (hard delete: deleted applications are not listed under deletedItems).
pub async fn delete_application(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationWrite)?;
    let key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| -> Result<_, ApiError> {
            let app = docs::get(tx, &t, kind::APPLICATION, &key)?
                .ok_or_else(|| ApiError::resource_not_found(&id))?;
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
                    &t,
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
                delete_sp(tx, &t, &sp)?;
            }
            docs::delete(tx, &t, kind::APPLICATION, &key)?;
            Ok(())
        })
        .await?;
    Ok(no_content())
}

/// `DELETE /servicePrincipals/{id}` — 204; deletes its jobs, secrets and assignments (the
/// application stays).
pub async fn delete_service_principal(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationWrite)?;
    let key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| {
            if !delete_sp(tx, &t, &key)? {
                return Err(ApiError::resource_not_found(&id));
            }
            Ok(())
        })
        .await?;
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// App role assignments

/// A service principal of the caller's tenant, or 404 (used by the synchronization routes too).
pub async fn load_sp(st: &AppState, ctx: &Ctx, id: &str) -> Result<Doc, ApiError> {
    get_doc(st, ctx, kind::SERVICE_PRINCIPAL, id).await
}

/// `GET /servicePrincipals/{id}/appRoleAssignedTo` — paged (`$top`, `@odata.nextLink`).
pub async fn list_assignments(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::AppRoleAssignmentRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let (params, after) = match ctx.query.get("$skiptoken") {
        Some(tok) => {
            let t = PageToken::decode(tok)?;
            (QueryParams(t.q), Some(t.after))
        }
        None => (ctx.query.clone(), None),
    };
    let top = parse_top(params.get("$top"), 100, 999)?;
    let t = ctx.tenant().to_string();
    let sp_id = sp.key.clone();
    let rows = st
        .store
        .read_with(move |c| ss::list_assignments(c, &t, &sp_id, after.as_deref(), top + 1))
        .await?;
    let more = rows.len() > top;
    let rows: Vec<Assignment> = rows.into_iter().take(top).collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(ctx.context(&format!(
            "servicePrincipals('{}')/appRoleAssignedTo",
            sp.key
        ))),
    );
    if more && let Some(last) = rows.last() {
        let token = PageToken {
            q: params.0,
            after: last.id.clone(),
        }
        .encode();
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}?$skiptoken={token}",
                ctx.url(&format!("servicePrincipals/{}/appRoleAssignedTo", sp.key))
            )),
        );
    }
    body.insert(
        "value".into(),
        Value::Array(rows.into_iter().map(|a| a.body).collect()),
    );
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

fn guid_field(body: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    body.get(name)
        .and_then(Value::as_str)
        .and_then(parse_guid)
        .ok_or_else(|| {
            ApiError::request_bad_request(format!(
                "Invalid value specified for property '{name}' of resource 'AppRoleAssignment'."
            ))
        })
}

/// `POST /servicePrincipals/{id}/appRoleAssignedTo` — 201. The principal must be a user or group
/// of the same tenant (else 404); a duplicate is 400 "Permission being assigned already exists
/// on the object."
pub async fn create_assignment(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::AppRoleAssignmentWrite)?;
    let body = expect_object(body)?;
    check_properties(
        &body,
        &["principalId", "resourceId", "appRoleId", "principalType"],
        "appRoleAssignment",
    )?;
    let principal = guid_field(&body, "principalId")?;
    let resource = guid_field(&body, "resourceId")?;
    let role = guid_field(&body, "appRoleId")?;
    let sp_key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    if resource != sp_key {
        return Err(ApiError::request_bad_request(format!(
            "The resourceId '{resource}' does not match the service principal '{sp_key}' of the request URL."
        )));
    }
    let t = ctx.tenant().to_string();
    let now = now_ms();
    let assignment = st
        .store
        .write_with(move |tx| {
            let sp = docs::get(tx, &t, kind::SERVICE_PRINCIPAL, &sp_key)?
                .ok_or_else(|| ApiError::resource_not_found(&sp_key))?;
            let known_role = role == ZERO_GUID
                || sp
                    .body
                    .get("appRoles")
                    .and_then(Value::as_array)
                    .is_some_and(|r| {
                        r.iter()
                            .any(|x| x.get("id").and_then(Value::as_str) == Some(role.as_str()))
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
            let (ptype, pname) = if let Some(u) = docs::get(tx, &t, kind::USER, &principal)? {
                (
                    "User",
                    u.body.get("displayName").cloned().unwrap_or(Value::Null),
                )
            } else if let Some(g) = docs::get(tx, &t, kind::GROUP, &principal)? {
                (
                    "Group",
                    g.body.get("displayName").cloned().unwrap_or(Value::Null),
                )
            } else {
                return Err(ApiError::resource_not_found(&principal));
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
                resource_id: sp_key.clone(),
                principal_id: principal.clone(),
                principal_type: ptype.into(),
                app_role_id: role.clone(),
                body,
            };
            if !ss::insert_assignment(tx, &t, &a)? {
                return Err(ApiError::request_bad_request(
                    "Permission being assigned already exists on the object.",
                ));
            }
            Ok(a)
        })
        .await?;
    let body = with_context(
        ctx.context(&format!(
            "servicePrincipals('{}')/appRoleAssignedTo/$entity",
            assignment.resource_id
        )),
        obj(assignment.body),
    );
    Ok(json_response(StatusCode::CREATED, &body))
}

/// `DELETE /servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}` — 204.
pub async fn delete_assignment(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, aid)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::AppRoleAssignmentWrite)?;
    let sp_key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| {
            if docs::get(tx, &t, kind::SERVICE_PRINCIPAL, &sp_key)?.is_none() {
                return Err(ApiError::resource_not_found(&sp_key));
            }
            if !ss::delete_assignment(tx, &t, &sp_key, &aid)? {
                return Err(ApiError::resource_not_found(&aid));
            }
            Ok(())
        })
        .await?;
    Ok(no_content())
}

/// `GET /servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}`.
pub async fn get_assignment(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, aid)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::AppRoleAssignmentRead)?;
    let sp = load_sp(&st, &ctx, &id).await?;
    let t = ctx.tenant().to_string();
    let sp_id = sp.key.clone();
    let a = st
        .store
        .read(move |c| ss::get_assignment(c, &t, &sp_id, &aid))
        .await?
        .ok_or_else(|| ApiError::resource_not_found(&id))?;
    let body = with_context(
        ctx.context(&format!(
            "servicePrincipals('{}')/appRoleAssignedTo/$entity",
            sp.key
        )),
        obj(a.body),
    );
    Ok(json_response(StatusCode::OK, &body))
}
