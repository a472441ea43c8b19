//! Groups and the organization.
//!
//! ```text
//! GET|POST          /groups                             ($select, $filter, $search, $top, $count)
//! GET|PATCH|DELETE  /groups/{id}
//! GET               /groups/{id}/members                (users and groups, with @odata.type)
//! POST              /groups/{id}/members/$ref           (204; {"@odata.id": ".../directoryObjects/{id}"})
//! DELETE            /groups/{id}/members/{memberId}/$ref (204)
//! GET               /organization
//! GET               /organization/{id}
//! ```
//!
//! The rules (required properties, member references, errors) are in [`crate::directory::groups`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::users::{Listing, USER_DEFAULT, USER_PROPS, count_paged, list_paged};
use super::{
    Ctx, collection_fragment, entity_fragment, expect_object, json_response, no_content,
    with_context,
};
use crate::AppState;
use crate::auth::Access;
use crate::directory::groups;
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::query::project;
use crate::store::docs::kind::USER;
use crate::store::docs::{self, kind};
use crate::store::tenants::{self, Tenant};
use crate::util::now_ms;
use crate::util::{parse_guid, rfc3339};

/// Default properties of a group.
pub const GROUP_DEFAULT: &[&str] = &[
    "id",
    "createdDateTime",
    "description",
    "displayName",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "visibility",
];

const GROUP_PROPS: &[&str] = &[
    "id",
    "createdDateTime",
    "deletedDateTime",
    "description",
    "displayName",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "visibility",
    "isAssignableToRole",
];

static GROUPS: Listing = Listing {
    kind: kind::GROUP,
    set: "groups",
    type_name: "group",
    props: GROUP_PROPS,
    default: GROUP_DEFAULT,
    filter_props: &[
        "id",
        "displayName",
        "mailNickname",
        "mail",
        "securityEnabled",
        "mailEnabled",
        "groupTypes/$it",
        "proxyAddresses/$it",
    ],
    search_props: &["displayName", "description", "mailNickname"],
    order_props: &["displayName"],
    odata_type: None,
};

/// `GET /groups/$count` (text; needs `ConsistencyLevel: eventual`).
pub async fn count_groups(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupRead)?;
    count_paged(&st, &ctx, &GROUPS).await
}

/// `GET /groups`.
pub async fn list_groups(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupRead)?;
    list_paged(&st, &ctx, &GROUPS).await
}

/// `GET /groups/{id}`.
pub async fn get_group(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupRead)?;
    let select = ctx.select(GROUP_PROPS, "group")?;
    let key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let doc = st
        .store
        .read(move |c| docs::get_visible(c, &t, kind::GROUP, &key, vb))
        .await?;
    let doc = doc.ok_or_else(|| ApiError::resource_not_found(&id))?;
    let body = with_context(
        ctx.context(&entity_fragment("groups", select.as_deref())),
        project(&doc.body, select.as_deref(), GROUP_DEFAULT),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /groups/{id}/members` — the direct members, users and groups (not paged).
pub async fn list_members(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupMemberRead)?;
    let select = ctx.select(USER_PROPS, "user")?;
    let key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let members = st
        .store
        .read_with(move |c| groups::members(c, &t, &key, vb))
        .await?;
    let value: Vec<Value> = members
        .into_iter()
        .map(|(d, k)| {
            let mut m = Map::new();
            if k == USER {
                m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
                m.extend(project(&d.body, select.as_deref(), USER_DEFAULT));
            } else {
                m.insert("@odata.type".into(), json!("#microsoft.graph.group"));
                m.extend(project(&d.body, select.as_deref(), GROUP_DEFAULT));
            }
            Value::Object(m)
        })
        .collect();
    let body = json!({
        "@odata.context": ctx.context(&collection_fragment("directoryObjects", select.as_deref())),
        "value": value,
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /groups` — 201 with the group. Requires `displayName`, `mailEnabled`, `mailNickname`
/// and `securityEnabled`, like Graph; `members@odata.bind` adds members.
pub async fn create_group(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupCreate)?;
    let body = expect_object(body)?;
    groups::check_body(&body, groups::GROUP_CREATE)?;
    let t = ctx.tenant().to_string();
    let doc = st
        .store
        .write_with(move |tx| groups::create_group(tx, &t, &body, now_ms()))
        .await?;
    let body = with_context(
        ctx.context("groups/$entity"),
        project(&doc, None, GROUP_DEFAULT),
    );
    Ok(json_response(StatusCode::CREATED, &body))
}

/// `PATCH /groups/{id}` — 204.
pub async fn patch_group(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupWrite)?;
    let body = expect_object(body)?;
    groups::check_body(&body, groups::GROUP_UPDATE)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| groups::update_group(tx, &t, &id, &body))
        .await?;
    Ok(no_content())
}

/// `DELETE /groups/{id}` — 204.
pub async fn delete_group(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupWrite)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| groups::delete_group(tx, &t, &id))
        .await?;
    Ok(no_content())
}

/// `POST /groups/{id}/members/$ref` `{"@odata.id": ".../directoryObjects/{id}"}` — 204; 400 if
/// it is already a member, 404 if the object does not exist.
pub async fn add_member(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupMemberWrite)?;
    let body = expect_object(body)?;
    let url = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad_request(
                "The request body must be {\"@odata.id\": \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\"}.",
            )
        })?;
    let member = groups::reference_id(url)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| groups::add_member(tx, &t, &id, &member))
        .await?;
    Ok(no_content())
}

/// `DELETE /groups/{id}/members/{memberId}/$ref` — 204; 404 if it is not a member.
pub async fn remove_member(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath((id, member)): GraphPath<(String, String)>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupMemberWrite)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| groups::remove_member(tx, &t, &id, &member))
        .await?;
    Ok(no_content())
}

const ORG_PROPS: &[&str] = &[
    "id",
    "displayName",
    "verifiedDomains",
    "tenantType",
    "createdDateTime",
    "businessPhones",
    "technicalNotificationMails",
    "countryLetterCode",
];

fn organization_json(t: &Tenant) -> Map<String, Value> {
    match json!({
        "id": t.id,
        "displayName": t.display_name,
        "tenantType": "AAD",
        "createdDateTime": rfc3339(t.created_ms),
        "businessPhones": [],
        "technicalNotificationMails": [],
        "countryLetterCode": null,
        "verifiedDomains": [{
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": true,
            "isInitial": true,
            "name": t.initial_domain,
            "type": "Managed",
        }],
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

async fn load_org(st: &AppState, ctx: &Ctx) -> Result<Tenant, ApiError> {
    let t = ctx.tenant().to_string();
    st.store
        .read(move |c| tenants::get_tenant(c, &t))
        .await?
        .ok_or_else(|| ApiError::resource_not_found(ctx.tenant()))
}

/// `GET /organization` — the caller's tenant.
pub async fn list_organization(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::OrganizationRead)?;
    let select = ctx.select(ORG_PROPS, "organization")?;
    let t = load_org(&st, &ctx).await?;
    let body = json!({
        "@odata.context": ctx.context(&collection_fragment("organization", select.as_deref())),
        "value": [project(&organization_json(&t), select.as_deref(), &[])],
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /organization/{id}` — only the caller's own tenant id resolves.
pub async fn get_organization(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::OrganizationRead)?;
    let select = ctx.select(ORG_PROPS, "organization")?;
    if parse_guid(&id).as_deref() != Some(ctx.tenant()) {
        return Err(ApiError::resource_not_found(&id));
    }
    let t = load_org(&st, &ctx).await?;
    let body = with_context(
        ctx.context(&entity_fragment("organization", select.as_deref())),
        project(&organization_json(&t), select.as_deref(), &[]),
    );
    Ok(json_response(StatusCode::OK, &body))
}
