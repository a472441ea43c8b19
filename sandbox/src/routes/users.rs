//! Users.
//!
//! ```text
//! GET|POST          /users                 ($select, $filter, $search, $top, $count, $skiptoken)
//! GET               /users/$count          (text; needs ConsistencyLevel: eventual)
//! GET               /directory/deletedItems/microsoft.graph.user/$count
//! GET|PATCH|DELETE  /users/{id | userPrincipalName}
//! GET               /directory/deletedItems/microsoft.graph.user
//! GET               /directory/deletedItems/{id}
//! ```
//!
//! The document model, creation, update and soft delete are in [`crate::directory::users`]
//! (no restore endpoint yet). `list_paged` pages any document kind; the groups and apps
//! routes use it too.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{
    Ctx, collection_fragment, entity_fragment, expect_object, json_response, no_content,
    with_context,
};
use crate::AppState;
use crate::auth::Access;
use crate::directory::users;
use crate::error::{ApiError, GraphJson, GraphPath};
use crate::query::{
    PageToken, QueryParams, parse_filter, parse_orderby, parse_search, parse_top, project,
    sorting_not_supported,
};
use crate::store::docs::{self, kind};
use crate::store::filter::SqlFilter;
use crate::util::{now_ms, parse_guid};

/// Properties returned when no `$select` is given (the v1.0 default set).
pub use crate::directory::users::USER_DEFAULT;

/// Every property `$select` accepts.
pub const USER_PROPS: &[&str] = &[
    "id",
    "accountEnabled",
    "ageGroup",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "createdDateTime",
    "creationType",
    "deletedDateTime",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeType",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "faxNumber",
    "givenName",
    "identities",
    "imAddresses",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesImmutableId",
    "onPremisesSyncEnabled",
    "otherMails",
    "passwordPolicies",
    "postalCode",
    "preferredLanguage",
    "proxyAddresses",
    "showInAddressList",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// Properties a client may set with POST or PATCH (`passwordProfile` is accepted, not stored).
const USER_WRITABLE: &[&str] = &[
    "accountEnabled",
    "ageGroup",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeType",
    "faxNumber",
    "givenName",
    "identities",
    "imAddresses",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesImmutableId",
    "otherMails",
    "passwordPolicies",
    "passwordProfile",
    "postalCode",
    "preferredLanguage",
    "showInAddressList",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

const USER_READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "creationType",
    "deletedDateTime",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "proxyAddresses",
    "onPremisesSyncEnabled",
];

/// Properties usable in `$filter` on users.
pub const USER_FILTER: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "userType",
    "accountEnabled",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "mailNickname",
    "employeeId",
    "companyName",
    "country",
    "city",
    "creationType",
    "externalUserState",
    "identities/issuer",
    "identities/issuerAssignedId",
    "identities/signInType",
    "proxyAddresses/$it",
    "otherMails/$it",
    "imAddresses/$it",
    "businessPhones/$it",
];

/// Properties usable in `$search` on users.
pub const USER_SEARCH: &[&str] = &[
    "displayName",
    "mail",
    "userPrincipalName",
    "givenName",
    "surname",
    "mailNickname",
];

fn bad_value(prop: &str) -> ApiError {
    ApiError::request_bad_request(format!(
        "Invalid value specified for property '{prop}' of resource 'User'."
    ))
}

fn check_user_body(body: &Map<String, Value>) -> Result<(), ApiError> {
    for (k, v) in body {
        if k.starts_with("@odata.") {
            continue;
        }
        if USER_READ_ONLY.contains(&k.as_str()) {
            return Err(ApiError::request_bad_request(format!(
                "Property '{k}' is read-only and cannot be set."
            )));
        }
        if !USER_WRITABLE.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property."
            )));
        }
        let ok = match k.as_str() {
            "accountEnabled" | "showInAddressList" => v.is_boolean() || v.is_null(),
            "businessPhones" | "otherMails" | "imAddresses" => {
                v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
            }
            "identities" => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
            "passwordProfile" => v.is_object(),
            "userType" => matches!(v.as_str(), Some("Member" | "Guest")),
            "userPrincipalName" => v.as_str().is_some_and(|s| {
                s.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                    && !s.contains(' ')
            }),
            _ => v.is_string() || v.is_null(),
        };
        if !ok {
            return Err(bad_value(k));
        }
    }
    Ok(())
}

/// Everything needed to page through a document kind.
pub(crate) struct Listing {
    pub kind: &'static str,
    pub set: &'static str,
    pub type_name: &'static str,
    pub props: &'static [&'static str],
    pub default: &'static [&'static str],
    pub filter_props: &'static [&'static str],
    pub search_props: &'static [&'static str],
    /// Properties `$orderby` accepts (with `$filter` only as an advanced query).
    pub order_props: &'static [&'static str],
    /// `@odata.type` added to each item (for deletedItems).
    pub odata_type: Option<&'static str>,
}

struct Plan {
    filter: SqlFilter,
    order: Vec<(String, bool)>,
    offset: usize,
    select: Option<Vec<String>>,
    top: usize,
    after: Option<String>,
    count: bool,
    params: Vec<(String, String)>,
}

fn plan(ctx: &Ctx, l: &Listing, for_count: bool) -> Result<Plan, ApiError> {
    let (params, after, offset, continuation) = match ctx.query.get("$skiptoken") {
        Some(tok) => {
            let t = PageToken::decode(tok)?;
            (QueryParams(t.q), Some(t.after), t.offset.unwrap_or(0), true)
        }
        None => (
            QueryParams(
                ctx.query
                    .0
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("$count"))
                    .cloned()
                    .collect(),
            ),
            None,
            0,
            false,
        ),
    };
    let count = !continuation
        && ctx
            .query
            .get("$count")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if (count || for_count) && !ctx.eventual {
        // UNCONFIRMED wording; $count on directory objects is an advanced query (reference §9.5).
        return Err(ApiError::request_bad_request(
            "$count is not currently supported without the 'ConsistencyLevel: eventual' request header.",
        ));
    }
    let select = crate::query::parse_select(params.get("$select"), l.props, l.type_name)?;
    let top = parse_top(params.get("$top"), 100, 999)?;
    let order = parse_orderby(params.get("$orderby"), l.props, l.order_props, l.type_name)?;
    // Sorting a filtered list is an advanced query (Graph: "Sorting not supported for current
    // query." without `ConsistencyLevel: eventual` and `$count=true`).
    if !order.is_empty()
        && params.get("$filter").is_some()
        && !continuation
        && !(ctx.eventual && (count || for_count))
    {
        return Err(sorting_not_supported());
    }
    let mut filter = SqlFilter::default();
    if let Some(f) = params.get("$filter") {
        let f = parse_filter(f)?.canonicalize(l.filter_props, l.type_name)?;
        if f.is_advanced() && !continuation && !(ctx.eventual && (count || for_count)) {
            return Err(ApiError::unsupported_query(
                "Operator 'ne', 'not' or 'endsWith' is not supported because the required parameters might be missing. Try adding $count with a value of true and setting the ConsistencyLevel header to eventual.",
            ));
        }
        filter = filter.and(SqlFilter::compile(&f));
    }
    if let Some(s) = params.get("$search") {
        if !ctx.eventual && !continuation {
            return Err(ApiError::unsupported_query(
                "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
            ));
        }
        filter = filter.and(SqlFilter::compile(&parse_search(s, l.search_props)?));
    }
    Ok(Plan {
        filter,
        order,
        offset,
        select,
        top,
        after,
        count,
        params: params.0,
    })
}

/// List a document kind with Graph paging.
pub(crate) async fn list_paged(
    st: &AppState,
    ctx: &Ctx,
    l: &'static Listing,
) -> Result<Response, ApiError> {
    let p = plan(ctx, l, false)?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let (filter, after, top, count) = (p.filter.clone(), p.after.clone(), p.top, p.count);
    let (order, offset) = (p.order.clone(), p.offset);
    let (rows, total) = st
        .store
        .read(move |c| {
            let rows = if order.is_empty() {
                docs::list(c, &t, l.kind, &filter, after.as_deref(), top + 1, vb)?
            } else {
                docs::list_ordered(c, &t, l.kind, &filter, &order, offset, top + 1, vb)?
            };
            let total = if count {
                Some(docs::count(c, &t, l.kind, &filter, vb)?)
            } else {
                None
            };
            Ok((rows, total))
        })
        .await?;
    let more = rows.len() > top;
    let mut value = Vec::with_capacity(rows.len().min(top));
    let mut last = None;
    for d in rows.into_iter().take(top) {
        last = Some(d.key.clone());
        let mut m = project(&d.body, p.select.as_deref(), l.default);
        if let Some(ty) = l.odata_type {
            m.insert("@odata.type".into(), json!(ty));
        }
        value.push(Value::Object(m));
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(ctx.context(&collection_fragment(l.set, p.select.as_deref()))),
    );
    if let Some(n) = total {
        body.insert("@odata.count".into(), json!(n));
    }
    if more && let Some(last) = last {
        let token = PageToken {
            q: p.params,
            after: last,
            offset: (!p.order.is_empty()).then_some(p.offset + top),
        }
        .encode();
        body.insert(
            "@odata.nextLink".into(),
            json!(format!("{}?$skiptoken={token}", ctx.url(l.set))),
        );
    }
    body.insert("value".into(), Value::Array(value));
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

static USERS: Listing = Listing {
    kind: kind::USER,
    set: "users",
    type_name: "user",
    props: USER_PROPS,
    default: USER_DEFAULT,
    filter_props: USER_FILTER,
    search_props: USER_SEARCH,
    order_props: &["displayName", "userPrincipalName"],
    odata_type: None,
};

static DELETED_USERS: Listing = Listing {
    kind: kind::DELETED_USER,
    set: "directory/deletedItems/microsoft.graph.user",
    type_name: "user",
    props: USER_PROPS,
    default: &[
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
        "deletedDateTime",
    ],
    filter_props: USER_FILTER,
    search_props: USER_SEARCH,
    order_props: &["displayName", "userPrincipalName", "deletedDateTime"],
    odata_type: Some("#microsoft.graph.user"),
};

/// `GET /users`.
pub async fn list_users(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserRead)?;
    list_paged(&st, &ctx, &USERS).await
}

/// `GET /{collection}/$count` of a document kind — a plain-text count; needs
/// `ConsistencyLevel: eventual`.
pub(crate) async fn count_paged(
    st: &AppState,
    ctx: &Ctx,
    l: &'static Listing,
) -> Result<Response, ApiError> {
    let p = plan(ctx, l, true)?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let n = st
        .store
        .read(move |c| docs::count(c, &t, l.kind, &p.filter, vb))
        .await?;
    let mut r = n.to_string().into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(r)
}

/// `GET /users/$count`.
pub async fn count_users(State(st): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserRead)?;
    count_paged(&st, &ctx, &USERS).await
}

/// `GET /directory/deletedItems/microsoft.graph.user/$count`.
pub async fn count_deleted_users(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserRead)?;
    count_paged(&st, &ctx, &DELETED_USERS).await
}

/// `GET /users/{id | userPrincipalName}`.
pub async fn get_user(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserRead)?;
    let select = ctx.select(USER_PROPS, "user")?;
    let (t, vb) = (ctx.tenant().to_string(), ctx.visible_before);
    let key = id.clone();
    let doc = st
        .store
        .read(move |c| users::find_user(c, &t, &key, vb))
        .await?;
    let doc = doc.ok_or_else(|| ApiError::resource_not_found(&id))?;
    let body = with_context(
        ctx.context(&entity_fragment("users", select.as_deref())),
        project(&doc.body, select.as_deref(), USER_DEFAULT),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /users` — 201. Requires `accountEnabled`, `displayName`, `mailNickname`,
/// `userPrincipalName` and `passwordProfile`, like Graph.
pub async fn create_user(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserWrite)?;
    let body = expect_object(body)?;
    check_user_body(&body)?;
    for req in [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
    ] {
        let present = match body.get(req) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        };
        if !present {
            return Err(bad_value(req));
        }
    }
    let t = ctx.tenant().to_string();
    let doc = st
        .store
        .write_with(move |tx| users::create_user(tx, &t, &body, now_ms()))
        .await?;
    let body = with_context(
        ctx.context("users/$entity"),
        project(&doc, None, USER_DEFAULT),
    );
    Ok(json_response(StatusCode::CREATED, &body))
}

/// `PATCH /users/{id | userPrincipalName}` — 204.
pub async fn patch_user(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
    GraphJson(body): GraphJson<Value>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserWrite)?;
    let body = expect_object(body)?;
    check_user_body(&body)?;
    if let Some(Value::String(s)) = body.get("displayName")
        && s.trim().is_empty()
    {
        return Err(bad_value("displayName"));
    }
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| users::update_user(tx, &t, &id, &body))
        .await?;
    Ok(no_content())
}

/// `DELETE /users/{id | userPrincipalName}` — 204; the user moves to deleted items.
pub async fn delete_user(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserWrite)?;
    let t = ctx.tenant().to_string();
    st.store
        .write_with(move |tx| users::delete_user(tx, &t, &id, now_ms()))
        .await?;
    Ok(no_content())
}

/// `GET /directory/deletedItems/microsoft.graph.user`.
pub async fn list_deleted_users(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserRead)?;
    list_paged(&st, &ctx, &DELETED_USERS).await
}

/// `GET /directory/deletedItems/{id}` (users only).
pub async fn get_deleted_item(
    State(st): State<AppState>,
    ctx: Ctx,
    GraphPath(id): GraphPath<String>,
) -> Result<Response, ApiError> {
    ctx.caller.require(Access::UserRead)?;
    let select = ctx.select(USER_PROPS, "user")?;
    let key = parse_guid(&id).ok_or_else(|| ApiError::resource_not_found(&id))?;
    let t = ctx.tenant().to_string();
    let doc = st
        .store
        .read(move |c| docs::get(c, &t, kind::DELETED_USER, &key))
        .await?;
    let doc = doc.ok_or_else(|| ApiError::resource_not_found(&id))?;
    let mut m = project(&doc.body, select.as_deref(), DELETED_USERS.default);
    m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    let body = with_context(ctx.context("directory/deletedItems/$entity"), m);
    Ok(json_response(StatusCode::OK, &body))
}
