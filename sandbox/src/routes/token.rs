//! `POST /{tenantId-or-domain}/oauth2/v2.0/token`: the OAuth2 client-credentials grant
//! (reference §9.1), with a client secret or a client assertion (a certificate-signed JWT or a
//! federated token, checked by [`crate::assertion`]). Errors use the real AADSTS codes; no
//! secret or assertion is ever echoed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::json_response;
use crate::error::{ApiError, GraphPath, OAuthError};
use crate::store::tenants;
use crate::util::now_ms;
use crate::{AppState, assertion};

fn oauth(
    status: StatusCode,
    error: &'static str,
    aadsts: u32,
    description: impl Into<String>,
) -> ApiError {
    ApiError::OAuth(OAuthError {
        status,
        error,
        aadsts,
        description: description.into(),
    })
}

fn missing(param: &str) -> ApiError {
    oauth(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

/// Hosts whose `/.default` scope means Microsoft Graph.
const GRAPH_RESOURCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://canary.graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
    "00000003-0000-0000-c000-000000000000",
];

/// Whether `scope` is `<graph resource>/.default`. The sandbox's own origin (the request's
/// `Host`, or any loopback host) counts as Graph, so a client pointed at the sandbox may build
/// its scope from its Graph endpoint.
pub fn scope_is_graph(scope: &str, host: Option<&str>) -> bool {
    let mut parts = scope.split_whitespace();
    let (Some(one), None) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(resource) = one.strip_suffix("/.default") else {
        return false;
    };
    let resource = resource.trim_end_matches('/').to_ascii_lowercase();
    if GRAPH_RESOURCES.contains(&resource.as_str()) {
        return true;
    }
    let Some(authority) = resource
        .strip_prefix("http://")
        .or_else(|| resource.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = authority.split('/').next().unwrap_or("");
    let hostname = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority);
    matches!(hostname, "localhost" | "127.0.0.1" | "[::1]")
        || host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let enc = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let dec = String::from_utf8(STANDARD.decode(enc.trim()).ok()?).ok()?;
    let (id, secret) = dec.split_once(':')?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// `{"error","error_description"}` of the plain-JSON identity endpoints (IMDS, discovery).
pub fn plain_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = json_response(
        status,
        &json!({"error": error, "error_description": description}),
    );
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// A JSON answer of the identity platform: not cacheable.
pub fn identity_json(body: &serde_json::Value) -> Response {
    let mut resp = json_response(StatusCode::OK, body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// The tenant of a login URL (`{tenant}` is its id or initial domain), or AADSTS90002.
pub async fn find_tenant(state: &AppState, tenant: &str) -> Result<tenants::Tenant, ApiError> {
    let t = tenant.to_owned();
    let found = state
        .store
        .read(move |c| tenants::find_tenant(c, &t))
        .await?;
    found.ok_or_else(|| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    })
}

/// The token endpoint.
pub async fn token(
    State(state): State<AppState>,
    GraphPath(tenant): GraphPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };

    let tenant_row = find_tenant(&state, &tenant).await?;

    match field("grant_type").as_deref() {
        None => return Err(missing("grant_type")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    }

    let basic = basic_credentials(&headers);
    let client_id = field("client_id").or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let secret = field("client_secret").or_else(|| basic.as_ref().map(|b| b.1.clone()));
    let Some(client_id) = client_id else {
        return Err(missing("client_id"));
    };

    let (tid, cid) = (tenant_row.id.clone(), client_id.clone());
    let app = state
        .store
        .read(move |c| tenants::get_app(c, &tid, &cid))
        .await?;
    let Some(app) = app else {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                tenant_row.display_name
            ),
        ));
    };
    if let Some(assertion) = field("client_assertion") {
        match field("client_assertion_type").as_deref() {
            None => return Err(missing("client_assertion_type")),
            Some(assertion::JWT_BEARER) => {}
            Some(other) => {
                return Err(oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    90023,
                    format!(
                        "The client_assertion_type '{other}' is not supported; use '{}'.",
                        assertion::JWT_BEARER
                    ),
                ));
            }
        }
        let base = state.config.base_url.clone();
        let check = assertion::Check {
            tenant: &tenant_row,
            app: &app,
            base: &base,
            issuers: &state.oidc,
            store: &state.store,
            replay: state
                .config
                .reject_assertion_replay
                .then_some(&*state.assertions),
            now: now_ms() / 1000,
        };
        assertion::verify(&assertion, &check)
            .await
            .map_err(ApiError::OAuth)?;
    } else {
        let Some(secret) = secret else {
            return Err(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        };
        if app.secret.is_empty() || !constant_time_eq(secret.as_bytes(), app.secret.as_bytes()) {
            return Err(oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                    app.client_id
                ),
            ));
        }
    }

    let Some(scope) = field("scope") else {
        return Err(missing("scope"));
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !scope_is_graph(&scope, host) {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        ));
    }

    let lifetime = token_lifetime(&state);
    let access_token = state
        .token_key
        .mint(&tenant_row.id, &app.client_id, &app.roles, lifetime);
    Ok(identity_json(&json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    })))
}

/// `--token-lifetime` in whole seconds (at least one).
pub fn token_lifetime(state: &AppState) -> i64 {
    (state.config.token_lifetime.as_secs() as i64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_scopes_are_recognised() {
        assert!(scope_is_graph("https://graph.microsoft.com/.default", None));
        assert!(scope_is_graph(
            "https://graph.microsoft.com//.default",
            None
        ));
        assert!(scope_is_graph(
            "00000003-0000-0000-c000-000000000000/.default",
            None
        ));
        assert!(scope_is_graph("http://127.0.0.1:8080/.default", None));
        assert!(scope_is_graph(
            "https://sandbox.test:9/.default",
            Some("sandbox.test:9")
        ));
        assert!(!scope_is_graph(
            "https://management.azure.com/.default",
            None
        ));
        assert!(!scope_is_graph(
            "https://graph.microsoft.com/User.Read",
            None
        ));
        assert!(!scope_is_graph(
            "https://graph.microsoft.com/.default https://management.azure.com/.default",
            None
        ));
    }
}
