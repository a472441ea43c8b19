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
//! The documents and the delete cascade (application → service principal → jobs, secrets,
//! assignments) are in [`crate::directory::apps`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::users::{Listing, count_paged, list_paged};
use super::{
    Ctx, check_properties, entity_fragment, expect_object, json_response, no_content, with_context,
};
use crate::AppState;
use crate::auth::Access;
use crate::directory::apps::{self, CTS_TEMPLATE_ID};
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::query::{PageToken, QueryParams, parse_top, project};
use crate::store::docs::{self, Doc, kind};
use crate::store::sync::{self as ss, Assignment};
use crate::util::{now_ms, object, parse_guid};

const APPLICATION_PROPS: &[&str] = &[
    "id",
    "addIns",
    "groupMembershipClaims",
    "isDeviceOnlyAuthSupported",
    "isFallbackPublicClient",
    "optionalClaims",
    "parentalControlSettings",
    "publicClient",
    "tokenEncryptionKeyId",
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
    "addIns",
    "alternativeNames",
    "endpoints",
    "publisherName",
    "tokenEncryptionKeyId",
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

/// Every property of an app role assignment (`$select`).
const ASSIGNMENT_PROPS: &[&str] = &[
    "id",
    "appRoleId",
    "createdDateTime",
    "deletedDateTime",
    "principalDisplayName",
    "principalId",
    "principalType",
    "resourceDisplayName",
    "resourceId",
];

const APPLICATION_FILTER: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "applicationTemplateId",
    "signInAudience",
    "tags/$it",
    "identifierUris/$it",
];

const SP_FILTER: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "applicationTemplateId",
    "accountEnabled",
    "servicePrincipalType",
    "tags/$it",
    "servicePrincipalNames/$it",
];

static APPLICATIONS: Listing = Listing {
    kind: kind::APPLICATION,
    set: "applications",
    type_name: "application",
    props: APPLICATION_PROPS,
    default: &[],
    filter_props: APPLICATION_FILTER,
    search_props: &["displayName"],
    order_props: &["displayName"],
    odata_type: None,
};

static SERVICE_PRINCIPALS: Listing = Listing {
    kind: kind::SERVICE_PRINCIPAL,
    set: "servicePrincipals",
    type_name: "servicePrincipal",
    props: SP_PROPS,
    default: &[],
    filter_props: SP_FILTER,
    search_props: &["displayName"],
    order_props: &["displayName"],
    odata_type: None,
};

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
    let created = st
        .store
        .write_with(move |tx| apps::instantiate(tx, &t, &name, now))
        .await?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(ctx.context("microsoft.graph.applicationServicePrincipal")),
    );
    out.insert(
        "application".into(),
        Value::Object(public(&created.application)),
    );
    out.insert(
        "servicePrincipal".into(),
        Value::Object(public(&created.service_principal)),
    );
    Ok(json_response(StatusCode::CREATED, &Value::Object(out)))
}

/// `GET /applications`.
pub async fn list_applications(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationRead)?;
    list_paged(&st, &ctx, &APPLICATIONS).await
}

/// `GET /applications/$count` (text; needs `ConsistencyLevel: eventual`).
pub async fn count_applications(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationRead)?;
    count_paged(&st, &ctx, &APPLICATIONS).await
}

/// `GET /servicePrincipals/$count` (text; needs `ConsistencyLevel: eventual`).
pub async fn count_service_principals(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::ApplicationRead)?;
    count_paged(&st, &ctx, &SERVICE_PRINCIPALS).await
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
        .read(move |c| docs::get_visible(c, &t, k, &key, vb))
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

/// PATCH accepts `displayName`, `description`, `notes` and `tags` (and a service principal's
/// `appRoleAssignmentRequired`, as the update page's example sets it; the engine's scope is the
/// assignments either way); every other property belongs to the template (400).
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
            "appRoleAssignmentRequired" if type_name == "servicePrincipal" => v.is_boolean(),
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
        .write_with(move |tx| apps::update(tx, &t, l.kind, &key, &id, body))
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
        .write_with(move |tx| apps::delete_application(tx, &t, &key, &id))
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
            // An error rolls back: nothing is deleted for a service principal that is not there.
            if !apps::delete_service_principal(tx, &t, &key)? {
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
    let select =
        crate::query::parse_select(params.get("$select"), ASSIGNMENT_PROPS, "appRoleAssignment")?;
    let t = ctx.tenant().to_string();
    let sp_id = sp.key.clone();
    let rows = st
        .store
        .read(move |c| ss::list_assignments(c, &t, &sp_id, after.as_deref(), top + 1))
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
            offset: None,
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
    let value = rows
        .into_iter()
        .map(|a| Value::Object(project(&object(a.body), select.as_deref(), &[])))
        .collect();
    body.insert("value".into(), Value::Array(value));
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
        .write_with(move |tx| apps::assign(tx, &t, &sp_key, &principal, &role, now))
        .await?;
    let body = with_context(
        ctx.context(&format!(
            "servicePrincipals('{}')/appRoleAssignedTo/$entity",
            assignment.resource_id
        )),
        object(assignment.body),
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
        .write_with(move |tx| apps::unassign(tx, &t, &sp_key, &aid))
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
    let select = ctx.select(ASSIGNMENT_PROPS, "appRoleAssignment")?;
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
        project(&object(a.body), select.as_deref(), &[]),
    );
    Ok(json_response(StatusCode::OK, &body))
}
