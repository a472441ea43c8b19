//! The HTTP surface: [`router`] assembles the token endpoint, the Graph routes (mounted under
//! both `/v1.0` and `/beta`), the admin routes and the middleware.
//!
//! Middleware, outermost first:
//! 1. `request_layer` (whole app): request ids (`request-id`, `client-request-id` headers and the
//!    task-local read by [`ApiError`]), the whole body read up front (at most
//!    [`MAX_BODY_BYTES`], else 413; a body stalling longer than the idle timeout is a 408), so no
//!    handler ever waits on a slow client, panic → Graph-shaped 500, per-route counters, and one
//!    access log line per request.
//! 2. `faults::fault_layer` (Graph routes only): latency, 429, 503.
//! 3. `require_json_body` (Graph routes only): a write with a body needs a JSON `Content-Type`.
//!
//! Handlers take a [`Ctx`] (authenticated caller, API version, base URL, query options), parse
//! the request, check the caller's permission, apply the rules of [`crate::directory`] (or the
//! synchronization engine) in one store transaction, and encode the answer.

pub mod admin;
pub mod apps;
pub mod batch;
pub mod groups;
pub mod login;
pub mod mto;
pub mod oidc;
pub mod policy;
pub mod synchronization;
pub mod token;
pub mod users;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::extract::{
    DefaultBodyLimit, FromRequestParts, MatchedPath, OriginalUri, Query, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use futures::FutureExt;
use serde_json::{Map, Value};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{
    ApiError, BAD_JSON_MESSAGE, MAX_BODY_BYTES, NOT_JSON_MESSAGE, REQUEST_CTX, RequestCtx,
};
use crate::query::QueryParams;
use crate::util::{json_body, new_guid};

/// Shared with the domain layer, whose PATCH semantics check properties too.
pub use crate::directory::check_properties;

/// Which Graph version a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/v1.0`
    V1,
    /// `/beta`
    Beta,
}

impl ApiVersion {
    /// The path segment.
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

/// Marks an inner `$batch` request (counted apart in the stats).
#[derive(Clone, Copy, Debug)]
pub struct BatchInner;

/// Build the whole application.
pub fn router(state: AppState) -> Router {
    let faults = middleware::from_fn_with_state(state.clone(), crate::faults::fault_layer);
    let v1 = graph_routes()
        .layer(middleware::from_fn(require_json_body))
        .layer(Extension(ApiVersion::V1))
        .layer(faults.clone());
    let beta = graph_routes()
        .layer(middleware::from_fn(require_json_body))
        .layer(Extension(ApiVersion::Beta))
        .layer(faults);
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(login::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(login::signing_keys))
        .route("/common/discovery/instance", get(login::instance_discovery))
        .route(
            "/metadata/identity/oauth2/token",
            get(login::managed_identity_token),
        )
        .nest("/v1.0", v1)
        .nest("/beta", beta)
        .nest("/_sandbox", admin::routes())
        .merge(admin::dashboard_page())
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        // `request_layer` enforces the limit while buffering; this lets extractors take it all.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), request_layer))
        .with_state(state)
}

/// Read the whole request body, at most [`MAX_BODY_BYTES`], with at most `idle` between chunks.
async fn buffer_body(req: Request, idle: std::time::Duration) -> Result<Request, ApiError> {
    use futures::StreamExt;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(ApiError::payload_too_large());
    }
    let (parts, body) = req.into_parts();
    let mut chunks = body.into_data_stream();
    let mut buf = Vec::new();
    loop {
        match tokio::time::timeout(idle, chunks.next()).await {
            Err(_) => return Err(ApiError::request_timeout()),
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => {
                if buf.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ApiError::payload_too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(Some(Err(_))) => {
                return Err(ApiError::bad_request("The request body could not be read."));
            }
        }
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(buf)))
}

/// A Graph write with a body needs a JSON `Content-Type` (any parameters): none is Graph's 400
/// "Unable to read JSON request payload. Please ensure Content-Type header is set …", another
/// type its directory's 400 "Entity only allows writes with a JSON Content-Type header.".
async fn require_json_body(req: Request, next: Next) -> Response {
    use axum::body::HttpBody;
    let writes = matches!(
        *req.method(),
        axum::http::Method::POST | axum::http::Method::PUT | axum::http::Method::PATCH
    );
    let has_body = req.body().size_hint().exact() != Some(0);
    if writes && has_body {
        let essence = req.headers().get(header::CONTENT_TYPE).map(|v| {
            v.to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
        });
        match essence {
            None => return ApiError::bad_request(BAD_JSON_MESSAGE).into_response(),
            Some(t) if !t.eq_ignore_ascii_case("application/json") => {
                return ApiError::bad_request(NOT_JSON_MESSAGE).into_response();
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// Graph routes relative to the version prefix.
fn graph_routes() -> Router<AppState> {
    const MTO: &str = "/tenantRelationships/multiTenantOrganization";
    const CTAP: &str = "/policies/crossTenantAccessPolicy";
    const SYNC: &str = "/servicePrincipals/{id}/synchronization";
    Router::new()
        .route("/organization", get(groups::list_organization))
        .route("/organization/{id}", get(groups::get_organization))
        .route(MTO, get(mto::get_mto).put(mto::put_mto).patch(mto::patch_mto))
        .route(&format!("{MTO}/tenants"), get(mto::list_tenants).post(mto::add_tenant))
        .route(
            &format!("{MTO}/tenants/{{tenantId}}"),
            get(mto::get_tenant).patch(mto::patch_tenant).delete(mto::remove_tenant),
        )
        .route(&format!("{MTO}/joinRequest"), get(mto::get_join_request).patch(mto::patch_join_request))
        .route(CTAP, get(policy::get_root).patch(policy::patch_root))
        .route(&format!("{CTAP}/default"), get(policy::get_default).patch(policy::patch_default))
        .route(&format!("{CTAP}/default/resetToSystemDefault"), post(policy::reset_default))
        .route(&format!("{CTAP}/templates"), get(policy::get_templates))
        .route(
            &format!("{CTAP}/templates/multiTenantOrganizationIdentitySynchronization"),
            get(policy::get_sync_template).patch(policy::patch_sync_template),
        )
        .route(
            &format!("{CTAP}/templates/multiTenantOrganizationIdentitySynchronization/resetToDefaultSettings"),
            post(policy::reset_sync_template),
        )
        .route(
            &format!("{CTAP}/templates/multiTenantOrganizationPartnerConfiguration"),
            get(policy::get_partner_template).patch(policy::patch_partner_template),
        )
        .route(
            &format!("{CTAP}/templates/multiTenantOrganizationPartnerConfiguration/resetToDefaultSettings"),
            post(policy::reset_partner_template),
        )
        .route(&format!("{CTAP}/partners"), get(policy::list_partners).post(policy::create_partner))
        .route(
            &format!("{CTAP}/partners/{{tenantId}}"),
            get(policy::get_partner).patch(policy::patch_partner).delete(policy::delete_partner),
        )
        .route(
            &format!("{CTAP}/partners/{{tenantId}}/identitySynchronization"),
            get(policy::get_identity_sync)
                .put(policy::put_identity_sync)
                .patch(policy::patch_identity_sync)
                .delete(policy::delete_identity_sync),
        )
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/$count", get(users::count_users))
        .route("/users/{id}", get(users::get_user).patch(users::patch_user).delete(users::delete_user))
        .route("/directory/deletedItems/microsoft.graph.user", get(users::list_deleted_users))
        .route("/directory/deletedItems/microsoft.graph.user/$count", get(users::count_deleted_users))
        .route("/directory/deletedItems/{id}", get(users::get_deleted_item))
        .route("/groups", get(groups::list_groups).post(groups::create_group))
        .route("/groups/$count", get(groups::count_groups))
        .route(
            "/groups/{id}",
            get(groups::get_group).patch(groups::patch_group).delete(groups::delete_group),
        )
        .route("/groups/{id}/members", get(groups::list_members))
        .route("/groups/{id}/members/$ref", post(groups::add_member))
        .route("/groups/{id}/members/{memberId}/$ref", delete(groups::remove_member))
        .route("/applicationTemplates/{id}/instantiate", post(apps::instantiate))
        .route("/applications", get(apps::list_applications))
        .route("/applications/$count", get(apps::count_applications))
        .route(
            "/applications/{id}",
            get(apps::get_application).patch(apps::patch_application).delete(apps::delete_application),
        )
        .route("/servicePrincipals", get(apps::list_service_principals))
        .route("/servicePrincipals/$count", get(apps::count_service_principals))
        .route(
            "/servicePrincipals/{id}",
            get(apps::get_service_principal)
                .patch(apps::patch_service_principal)
                .delete(apps::delete_service_principal),
        )
        .route(
            "/servicePrincipals/{id}/appRoleAssignedTo",
            get(apps::list_assignments).post(apps::create_assignment),
        )
        .route(
            "/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}",
            get(apps::get_assignment).delete(apps::delete_assignment),
        )
        .route(&format!("{SYNC}/templates"), get(synchronization::list_templates))
        .route(&format!("{SYNC}/templates/{{templateId}}"), get(synchronization::get_template))
        .route(
            &format!("{SYNC}/templates/{{templateId}}/schema"),
            get(synchronization::get_template_schema),
        )
        .route(&format!("{SYNC}/jobs"), get(synchronization::list_jobs).post(synchronization::create_job))
        .route(
            &format!("{SYNC}/jobs/validateCredentials"),
            post(synchronization::validate_credentials_collection),
        )
        .route(
            &format!("{SYNC}/jobs/{{jobId}}"),
            get(synchronization::get_job).delete(synchronization::delete_job),
        )
        .route(&format!("{SYNC}/jobs/{{jobId}}/start"), post(synchronization::start_job))
        .route(&format!("{SYNC}/jobs/{{jobId}}/pause"), post(synchronization::pause_job))
        .route(&format!("{SYNC}/jobs/{{jobId}}/restart"), post(synchronization::restart_job))
        .route(
            &format!("{SYNC}/jobs/{{jobId}}/validateCredentials"),
            post(synchronization::validate_credentials_job),
        )
        .route(
            &format!("{SYNC}/jobs/{{jobId}}/provisionOnDemand"),
            post(synchronization::provision_on_demand),
        )
        .route(
            &format!("{SYNC}/jobs/{{jobId}}/schema"),
            get(synchronization::get_schema).put(synchronization::put_schema),
        )
        .route(
            &format!("{SYNC}/secrets"),
            get(synchronization::get_secrets).put(synchronization::put_secrets),
        )
        .route("/$batch", post(batch::batch))
        .fallback(unknown_graph_segment)
        .method_not_allowed_fallback(graph_method_not_allowed)
}

/// Route templates under a version prefix, used to name the first unknown segment of a path.
const GRAPH_TEMPLATES: &[&str] = &[
    "organization/{}",
    "tenantRelationships/multiTenantOrganization/tenants/{}",
    "tenantRelationships/multiTenantOrganization/joinRequest",
    "policies/crossTenantAccessPolicy/default/resetToSystemDefault",
    "policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization/resetToDefaultSettings",
    "policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration/resetToDefaultSettings",
    "policies/crossTenantAccessPolicy/partners/{}/identitySynchronization",
    "users/{}",
    "directory/deletedItems/{}",
    "groups/{}/members/{}/$ref",
    "groups/{}/members/$ref",
    "applicationTemplates/{}/instantiate",
    "applications/{}",
    "servicePrincipals/{}/appRoleAssignedTo/{}",
    "servicePrincipals/{}/synchronization/templates",
    "servicePrincipals/{}/synchronization/secrets",
    "servicePrincipals/{}/synchronization/jobs/validateCredentials",
    "servicePrincipals/{}/synchronization/jobs/{}/start",
    "servicePrincipals/{}/synchronization/jobs/{}/pause",
    "servicePrincipals/{}/synchronization/jobs/{}/restart",
    "servicePrincipals/{}/synchronization/jobs/{}/validateCredentials",
    "servicePrincipals/{}/synchronization/jobs/{}/provisionOnDemand",
    "servicePrincipals/{}/synchronization/jobs/{}/schema",
    "$batch",
];

/// The first segment of `path` (relative to the version) that no route template accounts for.
fn unknown_segment(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut best = 0;
    for t in GRAPH_TEMPLATES {
        let n = t
            .split('/')
            .zip(&segs)
            .take_while(|(t, s)| *t == "{}" || t.eq_ignore_ascii_case(s))
            .count();
        best = best.max(n);
    }
    segs.get(best)
        .or(segs.last())
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Under a Graph version the caller is authenticated first (401), as Graph does for every path,
/// before its path or method is judged.
async fn unknown_graph_segment(_caller: Caller, OriginalUri(uri): OriginalUri) -> ApiError {
    let path = uri.path();
    // Strip the version segment.
    let rel = path
        .trim_start_matches('/')
        .split_once('/')
        .map(|x| x.1)
        .unwrap_or("");
    if rel.is_empty() {
        return ApiError::NotFound {
            code: "NotFound",
            message: "Resource not found.".into(),
        };
    }
    let seg = unknown_segment(rel);
    let seg = percent_decode(&seg);
    ApiError::bad_request(format!("Resource not found for the segment '{seg}'."))
}

async fn unknown_path() -> ApiError {
    ApiError::NotFound {
        code: "NotFound",
        message: "Resource not found.".into(),
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn graph_method_not_allowed(_caller: Caller) -> ApiError {
    ApiError::MethodNotAllowed
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Outermost middleware: request ids, panic catching, stats and the access log.
async fn request_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let inner = req.extensions().get::<BatchInner>().is_some();
    let request_id = new_guid();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let ctx = RequestCtx {
        request_id: request_id.clone(),
        client_request_id: client_request_id.clone(),
    };

    let idle = state.config.idle_timeout;
    let result = REQUEST_CTX
        .scope(
            ctx.clone(),
            AssertUnwindSafe(async move {
                match buffer_body(req, idle).await {
                    Ok(req) => next.run(req).await,
                    Err(e) => e.into_response(),
                }
            })
            .catch_unwind(),
        )
        .await;
    let mut resp = match result {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            REQUEST_CTX.sync_scope(ctx.clone(), || {
                ApiError::Internal(format!("handler panicked: {msg}")).into_response()
            })
        }
    };
    if (resp.status().is_client_error() || resp.status().is_server_error()) && !is_json(&resp) {
        // Safety net: a framework rejection we did not map (plain text) still gets Graph's shape.
        resp = REQUEST_CTX
            .scope(ctx.clone(), async move {
                let status = resp.status();
                let bytes = axum::body::to_bytes(resp.into_body(), 4096)
                    .await
                    .unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes).trim().to_string();
                ApiError::Other {
                    status,
                    code: if status.is_client_error() {
                        "BadRequest"
                    } else {
                        "UnknownError"
                    },
                    message: if text.is_empty() {
                        status.canonical_reason().unwrap_or("Error").to_string()
                    } else {
                        text
                    },
                }
                .into_response()
            })
            .await;
    }
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&client_request_id) {
        h.insert("client-request-id", v);
    }
    if !path.starts_with("/_sandbox") {
        let key = format!("{method} {}", template.as_deref().unwrap_or("(unmatched)"));
        state.stats.record(key, inner);
    }
    let status = resp.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if !path.starts_with("/_sandbox") && path != "/" {
        state.stats.log(crate::stats::LoggedRequest {
            method: method.as_str(),
            path: &path,
            status,
            ms,
            batch_inner: inner,
            fault: resp
                .extensions()
                .get::<crate::faults::InjectedFault>()
                .map(|f| f.0),
        });
    }
    tracing::info!(
        target: "mto_sandbox::access",
        "{method} {path} {status} {ms:.1}ms request-id={request_id}{}",
        if inner { " (batch inner)" } else { "" }
    );
    resp
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Everything a Graph handler needs besides the body and path parameters.
pub struct Ctx {
    /// The authenticated caller (its tenant is the tenant of the request).
    pub caller: Caller,
    /// `/v1.0` or `/beta`.
    pub version: ApiVersion,
    /// `http(s)://host:port` of the sandbox ([`crate::config::Config::base_url`]; never the
    /// request's `Host` header, which a client controls).
    pub base: String,
    /// Whether `ConsistencyLevel: eventual` was sent (header or query parameter).
    pub eventual: bool,
    /// Query options.
    pub query: QueryParams,
    /// Replication-lag cut-off for reads (ms); see [`crate::faults::Faults::visible_before`].
    pub visible_before: i64,
}

impl Ctx {
    /// The caller's tenant.
    pub fn tenant(&self) -> &str {
        &self.caller.tenant_id
    }

    /// `@odata.context` value for a metadata fragment such as `users/$entity`.
    pub fn context(&self, fragment: &str) -> String {
        format!(
            "{}/{}/$metadata#{fragment}",
            self.base,
            self.version.segment()
        )
    }

    /// Absolute URL of a path under the version prefix.
    pub fn url(&self, rel: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base,
            self.version.segment(),
            rel.trim_start_matches('/')
        )
    }

    /// `$select`, validated against `known`.
    pub fn select(&self, known: &[&str], type_name: &str) -> Result<Option<Vec<String>>, ApiError> {
        crate::query::parse_select(self.query.get("$select"), known, type_name)
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let version = parts
            .extensions
            .get::<ApiVersion>()
            .copied()
            .unwrap_or(ApiVersion::V1);
        let eventual = parts
            .headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
        let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| QueryParams(q.0))
            .map_err(|_| ApiError::bad_request("The query specified in the URI is not valid."))?;
        let template = parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str())
            .unwrap_or("");
        query.check_options(query_options(&parts.method, template))?;
        // Graph also takes the advanced-query switch as a query parameter, as its user-list
        // examples write it (`?$count=true&ConsistencyLevel=eventual&$filter=…`).
        let eventual = eventual
            || query
                .get("ConsistencyLevel")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
        Ok(Ctx {
            caller,
            version,
            base: state.config.base_url.clone(),
            eventual,
            query,
            visible_before: state.faults.visible_before(),
        })
    }
}

/// The system query options a route serves; any other one is refused (400) rather than
/// ignored. `template` is the matched route (`/v1.0/users/{id}`); writes accept none, except
/// that their unknown options are reported first.
fn query_options(method: &axum::http::Method, template: &str) -> &'static [&'static str] {
    const LIST: &[&str] = &[
        "$filter",
        "$select",
        "$search",
        "$top",
        "$count",
        "$skiptoken",
        "$orderby",
    ];
    const SELECT: &[&str] = &["$select"];
    if method != axum::http::Method::GET {
        return &[];
    }
    let rel = template
        .strip_prefix("/v1.0")
        .or_else(|| template.strip_prefix("/beta"))
        .unwrap_or(template);
    match rel {
        "/users"
        | "/groups"
        | "/applications"
        | "/servicePrincipals"
        | "/directory/deletedItems/microsoft.graph.user" => LIST,
        "/users/$count"
        | "/groups/$count"
        | "/applications/$count"
        | "/servicePrincipals/$count"
        | "/directory/deletedItems/microsoft.graph.user/$count" => &["$filter", "$search"],
        "/tenantRelationships/multiTenantOrganization/tenants" => &["$filter", "$select"],
        "/policies/crossTenantAccessPolicy/partners"
        | "/policies/crossTenantAccessPolicy/partners/{tenantId}" => &["$select", "$expand"],
        "/servicePrincipals/{id}/appRoleAssignedTo" => &["$top", "$skiptoken", "$select"],
        "/servicePrincipals/{id}/synchronization/templates"
        | "/servicePrincipals/{id}/synchronization/jobs"
        | "/servicePrincipals/{id}/synchronization/jobs/{jobId}"
        | "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema"
        | "/servicePrincipals/{id}/synchronization/secrets" => &[],
        _ => SELECT,
    }
}

/// A JSON response with a status.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, json_body(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
    );
    r
}

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Put `@odata.context` first in an object.
pub fn with_context(context: String, obj: Map<String, Value>) -> Value {
    let mut out = Map::with_capacity(obj.len() + 1);
    out.insert("@odata.context".into(), Value::String(context));
    out.extend(obj);
    Value::Object(out)
}

/// `@odata.context` fragment for an entity, with the `$select` list Graph includes.
pub fn entity_fragment(set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) => format!("{set}({})/$entity", s.join(",")),
        None => format!("{set}/$entity"),
    }
}

/// `@odata.context` fragment for a collection.
pub fn collection_fragment(set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) => format!("{set}({})", s.join(",")),
        None => set.to_string(),
    }
}

/// A body as a JSON object, or 400.
pub fn expect_object(v: Value) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request(crate::error::BAD_JSON_MESSAGE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_segment_names_the_first_unmatched_segment() {
        assert_eq!(unknown_segment("foo"), "foo");
        assert_eq!(unknown_segment("users/abc/foo"), "foo");
        assert_eq!(unknown_segment("tenantRelationships/bar"), "bar");
        assert_eq!(
            unknown_segment("policies/crossTenantAccessPolicy/partners/x/nope"),
            "nope"
        );
    }

    #[tokio::test]
    async fn panicking_handler_becomes_graph_shaped_500() {
        use tower::ServiceExt;
        let store = crate::store::Store::open(None).unwrap();
        let state = AppState::new(store, Default::default(), Default::default()).unwrap();
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app: Router = Router::new()
            .route("/boom", get(boom))
            .layer(middleware::from_fn_with_state(state.clone(), request_layer))
            .with_state(state);
        let req = axum::http::Request::builder()
            .uri("/boom")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let rid = resp
            .headers()
            .get("request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "UnknownError");
        assert_eq!(v["error"]["innerError"]["request-id"], rid.as_str());
        assert!(
            !String::from_utf8_lossy(&body).contains("boom"),
            "panic text is not leaked"
        );
    }

    #[test]
    fn percent_decode_handles_escapes() {
        assert_eq!(percent_decode("a%23b"), "a#b");
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
