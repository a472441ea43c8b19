//! Multi-tenant organization: the singleton (§1), member tenants (§2) and the join request (§3).
//!
//! ```text
//! GET|PUT|PATCH       /tenantRelationships/multiTenantOrganization
//! GET|POST            /tenantRelationships/multiTenantOrganization/tenants
//! GET|PATCH|DELETE    /tenantRelationships/multiTenantOrganization/tenants/{tenantId}
//! GET|PATCH           /tenantRelationships/multiTenantOrganization/joinRequest
//! ```
//!
//! Handlers only validate and queue: joins, removals and role changes of active tenants are
//! applied by [`crate::jobs`] after the configured join delay.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{Ctx, check_properties, expect_object, json_response, no_content, with_context};
use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::query::{parse_filter, project};
use crate::store::mto::{self, JoinRequest, Member, Org};
use crate::store::tenants;
use crate::util::{ZERO_GUID, new_guid, now_ms, parse_guid, rfc3339, seed_guid};

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

/// Maximum number of active tenants in one MTO (reference §2.3).
pub const MAX_ACTIVE_TENANTS: usize = 100;

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

fn require_owner(me: &Member) -> Result<(), ApiError> {
    if me.role == "owner" && me.is_in() {
        Ok(())
    } else {
        // UNCONFIRMED: the error for a non-owner writing the member list is not documented.
        Err(ApiError::Forbidden(
            "Only an owner tenant of the multi-tenant organization can perform this operation."
                .into(),
        ))
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
    let found = st
        .store
        .read_with(move |c| mto::org_of_tenant(c, &t))
        .await?;
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
        .write_with(move |tx| -> Result<_, ApiError> {
            if mto::org_of_tenant(tx, &t)?.is_some() {
                // UNCONFIRMED: Graph does not document a second PUT; we refuse it.
                return Err(ApiError::same_key_conflict(
                    "A multi-tenant organization already exists for this tenant.",
                ));
            }
            let tenant =
                tenants::get_tenant(tx, &t)?.ok_or_else(ApiError::directory_object_not_found)?;
            let now = now_ms();
            let org = Org {
                org_id: new_guid(),
                display_name,
                description,
                created_ms: now,
                creator_tenant: t.clone(),
            };
            mto::insert_org(tx, &org)?;
            let me = Member {
                org_id: org.org_id.clone(),
                tenant_id: t.clone(),
                display_name: tenant.display_name,
                role: "owner".into(),
                state: "active".into(),
                added_ms: now,
                joined_ms: None,
                added_by: t.clone(),
                transition: None,
                local_id: Some(new_guid()),
            };
            mto::put_member(tx, &me)?;
            Ok((org, me))
        })
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
        .write_with(move |tx| -> Result<_, ApiError> {
            let (mut org, me) =
                mto::org_of_tenant(tx, &t)?.ok_or_else(ApiError::directory_object_not_found)?;
            require_owner(&me)?;
            if let Some(d) = display_name {
                org.display_name = d;
            }
            if let Some(d) = description {
                org.description = d;
            }
            mto::update_org(tx, &org)?;
            Ok(())
        })
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
        .read_with(move |c| match mto::org_of_tenant(c, &t)? {
            None => Ok(Vec::new()),
            Some((org, _)) => mto::members(c, &org.org_id),
        })
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
        .write_with(move |tx| {
            let (org, me) =
                mto::org_of_tenant(tx, &t)?.ok_or_else(ApiError::directory_object_not_found)?;
            require_owner(&me)?;
            if mto::get_member(tx, &org.org_id, &tenant_id)?.is_some() {
                return Err(ApiError::request_bad_request(
                    "Tenant is already being added in Multi-Tenant Organization.",
                ));
            }
            if tenants::get_tenant(tx, &tenant_id)?.is_none() {
                // UNCONFIRMED: Graph's answer for a tenant id that does not exist.
                return Err(ApiError::request_bad_request(format!(
                    "Tenant '{tenant_id}' does not exist."
                )));
            }
            let m = Member {
                org_id: org.org_id,
                tenant_id,
                display_name,
                role: role.clone(),
                state: "pending".into(),
                added_ms: now_ms(),
                joined_ms: None,
                added_by: t,
                transition: Some(json!({
                    "desiredState": "active",
                    "desiredRole": role,
                    "status": "notStarted",
                    "details": null,
                })),
                local_id: None,
            };
            mto::put_member(tx, &m)?;
            Ok(m)
        })
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
        .read_with(move |c| {
            let (org, _) =
                mto::org_of_tenant(c, &t)?.ok_or_else(ApiError::directory_object_not_found)?;
            mto::get_member(c, &org.org_id, &id)?.ok_or_else(ApiError::directory_object_not_found)
        })
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

fn active_owners_except(rows: &[Member], except: &str) -> usize {
    rows.iter()
        .filter(|m| m.is_in() && m.role == "owner" && m.tenant_id != except && !m.removal_pending())
        .count()
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
    let role = body.get("role").map(role_value).transpose()?;
    let new_name = body.get("displayName").cloned();
    let id = parse_guid(&id).ok_or_else(ApiError::directory_object_not_found)?;
    let t = ctx.tenant().to_string();
    let delay = st.config.join_delay.as_millis() as i64;
    let queued = st
        .store
        .write_with(move |tx| {
            let (org, me) = mto::org_of_tenant(tx, &t)?.ok_or_else(ApiError::directory_object_not_found)?;
            require_owner(&me)?;
            let mut row = mto::get_member(tx, &org.org_id, &id)?.ok_or_else(ApiError::directory_object_not_found)?;
            if let Some(n) = new_name
                && n.as_str() != Some(row.display_name.as_str())
            {
                return Err(ApiError::request_bad_request(
                    "Property 'displayName' of a multi-tenant organization member cannot be changed once set.",
                ));
            }
            if let Some(tid) = body.get("tenantId")
                && tid.as_str().and_then(parse_guid).as_deref() != Some(id.as_str())
            {
                return Err(ApiError::request_bad_request("Property 'tenantId' is read-only."));
            }
            let Some(role) = role else { return Ok(false) };
            if row.removal_pending() {
                return Err(ApiError::request_bad_request(
                    "The tenant is being removed from the multi-tenant organization.",
                ));
            }
            if !row.is_in() {
                // Pending tenant: only the desired role changes.
                let mut tr = row.transition.clone().unwrap_or_else(|| {
                    json!({"desiredState": "active", "status": "notStarted", "details": null})
                });
                tr["desiredRole"] = json!(role);
                row.transition = Some(tr);
                mto::put_member(tx, &row)?;
                return Ok(false);
            }
            let rows = mto::members(tx, &org.org_id)?;
            if row.role == "owner" && role == "member" && active_owners_except(&rows, &id) == 0 {
                return Err(ApiError::request_bad_request(
                    "A multi-tenant organization must keep at least one active owner tenant.",
                ));
            }
            if row.role == role && row.transition.is_none() {
                return Ok(false);
            }
            row.transition = Some(json!({
                "desiredState": "active",
                "desiredRole": role,
                "status": "notStarted",
                "details": null,
            }));
            mto::put_member(tx, &row)?;
            mto::cancel_jobs(tx, "role", &id)?;
            mto::enqueue(tx, now_ms() + delay, "role", &id, Some(&org.org_id), &json!({"role": role}))?;
            Ok(true)
        })
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
        .write_with(move |tx| {
            let (org, me) = mto::org_of_tenant(tx, &t)?.ok_or_else(ApiError::directory_object_not_found)?;
            let mut row = mto::get_member(tx, &org.org_id, &id)?.ok_or_else(ApiError::directory_object_not_found)?;
            if row.removal_pending() {
                return Ok(false);
            }
            let rows = mto::members(tx, &org.org_id)?;
            if id == t {
                if me.role == "owner" {
                    let others_active = rows.iter().filter(|m| m.is_in() && m.tenant_id != t && !m.removal_pending()).count();
                    if others_active > 0 && active_owners_except(&rows, &t) == 0 {
                        return Err(ApiError::request_bad_request(
                            "The last active owner tenant cannot leave while other tenants are active. Make another tenant an owner first.",
                        ));
                    }
                }
            } else {
                require_owner(&me)?;
                if id == org.creator_tenant {
                    return Err(ApiError::request_bad_request(
                        "The tenant that created the multi-tenant organization cannot be removed by another tenant.",
                    ));
                }
            }
            // Observed by Microsoft (ED how-to): right after DELETE the row reads state
            // "pending" with transitionDetails.desiredState "removed".
            row.state = "pending".into();
            row.transition = Some(json!({
                "desiredState": "removed",
                "desiredRole": row.role,
                "status": "notStarted",
                "details": null,
            }));
            mto::put_member(tx, &row)?;
            mto::cancel_jobs(tx, "role", &id)?;
            mto::enqueue(tx, now_ms() + delay, "remove", &id, Some(&org.org_id), &json!({}))?;
            Ok(true)
        })
        .await?;
    if queued {
        st.jobs_wakeup.notify_one();
    }
    Ok(no_content())
}

/// The join request of a tenant that never sent one.
pub fn default_join_request(tenant: &str) -> JoinRequest {
    JoinRequest {
        tenant_id: tenant.to_string(),
        id: seed_guid(tenant, "joinrequest", "joinRequest"),
        added_by: ZERO_GUID.into(),
        member_state: None,
        role: None,
        transition: None,
    }
}

/// `GET .../joinRequest`.
pub async fn get_join_request(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::MtoRead)?;
    let select = ctx.select(JOIN_PROPS, "multiTenantOrganizationJoinRequestRecord")?;
    let t = ctx.tenant().to_string();
    let jr = st
        .store
        .read(
            move |c| Ok(mto::get_join_request(c, &t)?.unwrap_or_else(|| default_join_request(&t))),
        )
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
        .write(move |tx| {
            let current =
                mto::get_join_request(tx, &t)?.unwrap_or_else(|| default_join_request(&t));
            mto::cancel_jobs(tx, "join", &t)?;
            if added_by == ZERO_GUID {
                mto::put_join_request(
                    tx,
                    &JoinRequest {
                        id: current.id,
                        ..default_join_request(&t)
                    },
                )?;
                return Ok(false);
            }
            if current.member_state.as_deref() == Some("active") && current.added_by == added_by {
                // Already joined through this owner: nothing to do.
                return Ok(false);
            }
            let jr = JoinRequest {
                tenant_id: t.clone(),
                id: current.id,
                added_by,
                member_state: Some("pending".into()),
                role: None,
                transition: Some(json!({
                    "desiredMemberState": "active",
                    "status": "notStarted",
                    "details": "",
                })),
            };
            mto::put_join_request(tx, &jr)?;
            mto::enqueue(tx, now_ms() + delay, "join", &t, None, &json!({}))?;
            Ok(true)
        })
        .await?;
    if queued {
        st.jobs_wakeup.notify_one();
    }
    Ok(no_content())
}
