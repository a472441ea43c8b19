//! Multi-tenant organization: the singleton (§1), member tenants (§2) and the join request (§3).
//!
//! ```text
//! GET|PUT|PATCH       /tenantRelationships/multiTenantOrganization
//! GET|POST            /tenantRelationships/multiTenantOrganization/tenants
//! GET|PATCH|DELETE    /tenantRelationships/multiTenantOrganization/tenants/{tenantId}
//! GET|PATCH           /tenantRelationships/multiTenantOrganization/joinRequest
//! ```
//!
//! Handlers parse, check permissions and encode; the rules (who may add, remove or promote whom,
//! and the queue of joins, removals and role changes that [`crate::jobs`] applies after the
//! configured join delay) are in [`crate::directory::mto`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{Ctx, check_properties, expect_object, json_response, no_content, with_context};
use crate::AppState;
use crate::auth::Access;
use crate::directory;
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::query::{parse_filter, project};
use crate::store::mto::{self, Member, Org};
use crate::util::{parse_guid, rfc3339};

const MTO_PROPS: &[&str] = &[
    "id",
    "createdDateTime",
    "displayName",
    "description",
    "state",
];
const MEMBER_PROPS: &[&str] = &[
    "tenantId",
    "displayName",
    "addedDateTime",
    "joinedDateTime",
    "addedByTenantId",
    "role",
    "state",
    "transitionDetails",
];
const MEMBER_FILTER_PROPS: &[&str] = &[
    "tenantId",
    "displayName",
    "role",
    "state",
    "addedByTenantId",
];
const JOIN_PROPS: &[&str] = &[
    "id",
    "addedByTenantId",
    "memberState",
    "role",
    "transitionDetails",
];

fn mto_json(found: Option<&(Org, Member)>) -> Map<String, Value> {
    let v = match found {
        None => {
            json!({"createdDateTime": null, "displayName": null, "description": null, "state": "inactive"})
        }
        Some((org, me)) => json!({
            "id": me.local_id,
            "createdDateTime": rfc3339(org.created_ms),
            "displayName": org.display_name,
            "description": org.description,
            "state": "active",
        }),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn role_value(v: &Value) -> Result<String, ApiError> {
    match v.as_str() {
        Some(r @ ("owner" | "member")) => Ok(r.to_string()),
        _ => Err(ApiError::request_bad_request(format!(
            "Invalid value specified for property 'role' of resource 'MultiTenantOrganizationMember': {v}."
        ))),
    }
}

fn required_string(
    body: &Map<String, Value>,
    prop: &str,
    resource: &str,
) -> Result<String, ApiError> {
    match body.get(prop).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(ApiError::request_bad_request(format!(
            "Invalid value specified for property '{prop}' of resource '{resource}'."
        ))),
    }
}

fn optional_string(
    body: &Map<String, Value>,
    prop: &str,
    resource: &str,
) -> Result<Option<Option<String>>, ApiError> {
    match body.get(prop) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::request_bad_request(format!(
            "Invalid value specified for property '{prop}' of resource '{resource}'."
        ))),
    }
}

/// `GET /tenantRelationships/multiTenantOrganization` — 200 with `state: inactive` when none.
pub async fn get_mto(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoReadBasic)?;
    let select = ctx.select(MTO_PROPS, "multiTenantOrganization")?;
    let t = ctx.tenant().to_string();
    let found = st.store.read(move |c| mto::org_of_tenant(c, &t)).await?;
    let mut out = project(&mto_json(found.as_ref()), select.as_deref(), &[]);
    if !ctx.caller.has(Access::MtoRead) {
        // MultiTenantOrganization.ReadBasic.All exposes only displayName.
        out.retain(|k, _| k == "displayName");
    }
    let body = with_context(
        ctx.context("tenantRelationships/multiTenantOrganization/$entity"),
        out,
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `PUT /tenantRelationships/multiTenantOrganization` — create; 201. The creator becomes an
/// active owner. A second PUT is 409 (UNCONFIRMED).
pub async fn put_mto(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoWrite)?;
    let body = expect_object(body)?;
    check_properties(
        &body,
        &["displayName", "description"],
        "multiTenantOrganization",
    )?;
    let display_name = required_string(&body, "displayName", "MultiTenantOrganization")?;
    let description = optional_string(&body, "description", "MultiTenantOrganization")?.flatten();
    let t = ctx.tenant().to_string();
    let created = st
        .store
        .write_with(move |tx| directory::mto::create(tx, &t, display_name, description))
        .await?;
    let body = with_context(
        ctx.context("tenantRelationships/multiTenantOrganization/$entity"),
        mto_json(Some(&created)),
    );
    Ok(json_response(StatusCode::CREATED, &body))
}

/// `PATCH /tenantRelationships/multiTenantOrganization` — owners only; 204.
pub async fn patch_mto(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoWrite)?;
    let body = expect_object(body)?;
    check_properties(
        &body,
        &["displayName", "description"],
        "multiTenantOrganization",
    )?;
    let display_name = match body.get("displayName") {
        None => None,
        Some(_) => Some(required_string(
            &body,
            "displayName",
            "MultiTenantOrganization",
        )?),
    };
    let description = optional_string(&body, "description", "MultiTenantOrganization")?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| directory::mto::update(tx, &t, display_name, description))
        .await?;
    Ok(no_content())
}

/// `GET .../tenants` — every row of the caller's MTO (pending ones included); empty when the
/// caller is in no MTO (UNCONFIRMED).
pub async fn list_tenants(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoReadBasic)?;
    let select = ctx.select(MEMBER_PROPS, "multiTenantOrganizationMember")?;
    let filter = match ctx.query.get("$filter") {
        Some(f) => Some(
            parse_filter(f)?.canonicalize(MEMBER_FILTER_PROPS, "MultiTenantOrganizationMember")?,
        ),
        None => None,
    };
    let t = ctx.tenant().to_string();
    let rows = st
        .store
        .read(move |c| directory::mto::member_rows(c, &t))
        .await?;
    let basic_only = !ctx.caller.has(Access::MtoRead);
    let value: Vec<Value> = rows
        .iter()
        .filter_map(|m| match m.to_json() {
            Value::Object(o) => Some(o),
            _ => None,
        })
        .filter(|o| filter.as_ref().is_none_or(|f| f.eval(o)))
        .map(|o| {
            let mut p = project(&o, select.as_deref(), &[]);
            if basic_only {
                p.retain(|k, _| k == "tenantId" || k == "displayName");
            }
            Value::Object(p)
        })
        .collect();
    let body = json!({
        "@odata.context": ctx.context(&super::collection_fragment(
            "tenantRelationships/multiTenantOrganization/tenants",
            select.as_deref()
        )),
        "value": value,
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST .../tenants` — owners add a tenant: 201, `state: pending`.
pub async fn add_tenant(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoWrite)?;
    let body = expect_object(body)?;
    check_properties(
        &body,
        &["tenantId", "displayName", "role"],
        "multiTenantOrganizationMember",
    )?;
    let tenant_id = body
        .get("tenantId")
        .and_then(Value::as_str)
        .and_then(parse_guid)
        .ok_or_else(|| {
            ApiError::request_bad_request(
                "Invalid value specified for property 'tenantId' of resource 'MultiTenantOrganizationMember'.",
            )
        })?;
    let display_name = required_string(&body, "displayName", "MultiTenantOrganizationMember")?;
    let role = match body.get("role") {
        None | Some(Value::Null) => "member".to_string(),
        Some(v) => role_value(v)?,
    };
    let t = ctx.tenant().to_string();
    let row = st
        .store
        .write_with(move |tx| directory::mto::add_member(tx, &t, tenant_id, display_name, role))
        .await?;
    let obj = match row.to_json() {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let body = with_context(
        ctx.context("tenantRelationships/multiTenantOrganization/tenants/$entity"),
        obj,
    );
    Ok(json_response(StatusCode::CREATED, &body))
}

/// `GET .../tenants/{tenantId}`.
pub async fn get_tenant(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoRead)?;
    let select = ctx.select(MEMBER_PROPS, "multiTenantOrganizationMember")?;
    let id = parse_guid(&id).ok_or_else(ApiError::directory_object_not_found)?;
    let t = ctx.tenant().to_string();
    let row = st
        .store
        .read_with(move |c| directory::mto::member(c, &t, &id))
        .await?;
    let obj = match row.to_json() {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let body = with_context(
        ctx.context("tenantRelationships/multiTenantOrganization/tenants/$entity"),
        project(&obj, select.as_deref(), &[]),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `PATCH .../tenants/{tenantId}` — change the role; owners only; 204. On a pending tenant the
/// role stays and `transitionDetails.desiredRole` shows the new one until it joins; on an active
/// tenant the change is applied after the join delay (UNCONFIRMED: treated as asynchronous like
/// every other membership change, reference §9.4).
pub async fn patch_tenant(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoWrite)?;
    let body = expect_object(body)?;
    check_properties(
        &body,
        &["role", "displayName", "tenantId"],
        "multiTenantOrganizationMember",
    )?;
    let patch = directory::mto::MemberPatch {
        role: body.get("role").map(role_value).transpose()?,
        display_name: body.get("displayName").cloned(),
        tenant_id: body.get("tenantId").cloned(),
    };
    let id = parse_guid(&id).ok_or_else(ApiError::directory_object_not_found)?;
    let t = ctx.tenant().to_string();
    let delay = st.config.join_delay.as_millis() as i64;
    let queued = st
        .store
        .write_with(move |tx| directory::mto::change_member(tx, &t, &id, patch, delay))
        .await?;
    if queued {
        st.jobs_wakeup.notify_one();
    }
    Ok(no_content())
}

/// `DELETE .../tenants/{tenantId}` — 204; the removal is processed after the join delay.
///
/// Rules (reference §2.2): an active member may remove itself; an owner may remove any other
/// tenant except the creator; an owner may remove itself only if another active owner remains or
/// no other active tenant remains (then the MTO is deleted).
pub async fn remove_tenant(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoWrite)?;
    let id = parse_guid(&id).ok_or_else(ApiError::directory_object_not_found)?;
    let t = ctx.tenant().to_string();
    let delay = st.config.join_delay.as_millis() as i64;
    let queued = st
        .store
        .write_with(move |tx| directory::mto::remove_member(tx, &t, &id, delay))
        .await?;
    if queued {
        st.jobs_wakeup.notify_one();
    }
    Ok(no_content())
}

/// `GET .../joinRequest`.
pub async fn get_join_request(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoRead)?;
    let select = ctx.select(JOIN_PROPS, "multiTenantOrganizationJoinRequestRecord")?;
    let t = ctx.tenant().to_string();
    let jr = st
        .store
        .read(move |c| directory::mto::join_request(c, &t))
        .await?;
    let obj = match jr.to_json() {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let body = with_context(
        ctx.context("tenantRelationships/multiTenantOrganization/joinRequest/$entity"),
        project(&obj, select.as_deref(), &[]),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `PATCH .../joinRequest` with `addedByTenantId` — 204, processed after the join delay; the
/// all-zero GUID resets the record.
pub async fn patch_join_request(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoWrite)?;
    let body = expect_object(body)?;
    check_properties(
        &body,
        &["addedByTenantId"],
        "multiTenantOrganizationJoinRequestRecord",
    )?;
    let added_by = body.get("addedByTenantId").and_then(Value::as_str).and_then(parse_guid).ok_or_else(|| {
        ApiError::request_bad_request(
            "Invalid value specified for property 'addedByTenantId' of resource 'MultiTenantOrganizationJoinRequestRecord'.",
        )
    })?;
    let t = ctx.tenant().to_string();
    let delay = st.config.join_delay.as_millis() as i64;
    let queued = st
        .store
        .write(move |tx| directory::mto::request_join(tx, &t, added_by, delay))
        .await?;
    if queued {
        st.jobs_wakeup.notify_one();
    }
    Ok(no_content())
}
