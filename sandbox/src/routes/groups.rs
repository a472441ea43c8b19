//! Groups (seeded, read-only) and the organization.
//!
//! ```text
//! GET  /groups                ($select, $filter, $search, $top, $count)
//! GET  /groups/{id}
//! GET  /groups/{id}/members   (users, with @odata.type)
//! GET  /organization
//! GET  /organization/{id}
//! ```

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::users::{Listing, USER_DEFAULT, USER_PROPS, list_paged};
use super::{Ctx, collection_fragment, entity_fragment, json_response, with_context};
use crate::AppState;
use crate::auth::Access;
use crate::directory::groups;
use crate::error::{ApiError, GraphPath};
use crate::query::project;
use crate::store::docs::{self, kind};
use crate::store::tenants::{self, Tenant};
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
    ],
    search_props: &["displayName", "description", "mailNickname"],
    odata_type: None,
};

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

/// `GET /groups/{id}/members` — the users in the group (not paged: seeded groups are small).
pub async fn list_members(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::GroupMemberRead)?;
    let select = ctx.select(USER_PROPS, "user")?;
    let key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let users = st
        .store
        .read_with(move |c| groups::member_users(c, &t, &key, vb))
        .await?;
    let value: Vec<Value> = users
        .into_iter()
        .map(|u| {
            let mut m = Map::new();
            m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            m.extend(project(&u.body, select.as_deref(), USER_DEFAULT));
            Value::Object(m)
        })
        .collect();
    let body = json!({
        "@odata.context": ctx.context(&collection_fragment("directoryObjects", select.as_deref())),
        "value": value,
    });
    Ok(json_response(StatusCode::OK, &body))
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
