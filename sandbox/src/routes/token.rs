//! `POST /{tenantId-or-domain}/oauth2/v2.0/token`: the OAuth2 client-credentials grant
//! (reference §9.1). Errors use the real AADSTS codes; the client secret is never echoed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::json_response;
use crate::AppState;
use crate::auth::TOKEN_LIFETIME_SECS;
use crate::error::{ApiError, GraphPath, OAuthError};
use crate::store::tenants;

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
fn scope_is_graph(scope: &str, host: Option<&str>) -> bool {
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

    let t = tenant.clone();
    let found = state
        .store
        .read(move |c| tenants::find_tenant(c, &t))
        .await?;
    let Some(tenant_row) = found else {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        ));
    };

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
    let Some(secret) = secret else {
        return Err(oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    if !constant_time_eq(secret.as_bytes(), app.secret.as_bytes()) {
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

    let access_token = state
        .token_key
        .mint(&tenant_row.id, &app.client_id, &app.roles);
    let mut resp = json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECS,
            "ext_expires_in": TOKEN_LIFETIME_SECS,
            "access_token": access_token,
        }),
    );
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
    Ok(resp)
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
