//! The rest of the login surface that Microsoft's libraries use before and beside the token
//! endpoint, so MSAL and azure-identity work against the sandbox unchanged:
//!
//! ```text
//! GET /{tenant}/v2.0/.well-known/openid-configuration   tenant discovery (OpenID Connect metadata)
//! GET /{tenant}/discovery/v2.0/keys                      the JWKS it names (empty: access tokens are
//!                                                        HMAC-signed and opaque to clients)
//! GET /common/discovery/instance?authorization_endpoint= instance discovery (MSAL's authority check)
//! GET /metadata/identity/oauth2/token?resource=          an IMDS-style managed identity endpoint
//! ```

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::token::{find_tenant, identity_json, plain_error, scope_is_graph, token_lifetime};
use crate::AppState;
use crate::error::{ApiError, GraphPath};
use crate::store::tenants::{self, ManagedIdentity};
use crate::util::{now_ms, seed_guid};

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`, shaped like Entra's.
pub async fn openid_configuration(
    State(state): State<AppState>,
    GraphPath(tenant): GraphPath<String>,
) -> Result<Response, ApiError> {
    let t = find_tenant(&state, &tenant).await?;
    let base = state.config.base_url.clone();
    let id = &t.id;
    Ok(identity_json(&json!({
        "token_endpoint": format!("{base}/{id}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{id}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{id}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{id}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{id}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{id}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid", "roles"],
        "kerberos_endpoint": format!("{base}/{id}/kerberos"),
        "tenant_region_scope": null,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })))
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub async fn signing_keys(
    State(state): State<AppState>,
    GraphPath(tenant): GraphPath<String>,
) -> Result<Response, ApiError> {
    find_tenant(&state, &tenant).await?;
    Ok(identity_json(&json!({"keys": []})))
}

/// `GET /common/discovery/instance`: known for this sandbox's own host only (AADSTS50049
/// otherwise, as Entra answers for an unknown authority). The port is not compared: MSAL names
/// the authority by host name alone here.
pub async fn instance_discovery(
    State(state): State<AppState>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let base = state.config.base_url.clone();
    let ours = base
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .to_ascii_lowercase();
    // MSAL names the authority by host name alone here (no port).
    let hostname = |h: &str| h.rsplit_once(':').map_or(h, |(n, _)| n).to_owned();
    let endpoint = param("authorization_endpoint").and_then(url_host_and_tenant);
    match endpoint {
        Some((host, tenant)) if hostname(&host) == hostname(&ours) => identity_json(&json!({
            "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
            "api-version": param("api-version").unwrap_or("1.1"),
            "metadata": [{"preferred_network": ours, "preferred_cache": ours, "aliases": [ours]}],
        })),
        _ => plain_error(
            StatusCode::BAD_REQUEST,
            "invalid_instance",
            "AADSTS50049: Unknown or invalid instance.",
        ),
    }
}

/// `host[:port]` (lower case) and the first path segment of an absolute URL.
fn url_host_and_tenant(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let tenant = path.split('/').next().filter(|t| !t.is_empty())?;
    Some((host.to_ascii_lowercase(), tenant.to_owned()))
}

/// `GET /metadata/identity/oauth2/token`: a token for a managed identity of the seed, with
/// IMDS's request rules (`Metadata: true`, `api-version`, `resource`, an optional `client_id` or
/// `object_id`) and its answer (times as strings).
pub async fn managed_identity_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let param = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return Ok(plain_error(
            StatusCode::BAD_REQUEST,
            "bad_request_102",
            "Required metadata header not specified",
        ));
    }
    for required in ["api-version", "resource"] {
        if param(required).is_none() {
            return Ok(plain_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("Required query variable '{required}' is missing"),
            ));
        }
    }
    let resource = param("resource").unwrap_or_default();
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    if !scope_is_graph(
        &format!("{}/.default", resource.trim_end_matches('/')),
        host,
    ) {
        return Ok(plain_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            &format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant. The sandbox issues managed identity tokens for Microsoft Graph only."
            ),
        ));
    }
    let identities = state.store.read(tenants::managed_identities).await?;
    let wanted_client = param("client_id").map(str::to_ascii_lowercase);
    let wanted_object = param("object_id").map(str::to_ascii_lowercase);
    let chosen: Vec<_> = identities
        .iter()
        .filter(|(tenant, app)| match (&wanted_client, &wanted_object) {
            (Some(c), _) => app.client_id == *c,
            (None, Some(o)) => seed_guid(tenant, "serviceprincipal", &app.client_id) == *o,
            (None, None) => true,
        })
        .collect();
    let pick = if wanted_client.is_some() || wanted_object.is_some() {
        chosen.first().copied()
    } else {
        let system: Vec<_> = chosen
            .iter()
            .filter(|(_, a)| {
                a.credentials.managed_identity == Some(ManagedIdentity::SystemAssigned)
            })
            .collect();
        match (system.as_slice(), chosen.as_slice()) {
            ([one], _) => Some(**one),
            ([], [only]) => Some(*only),
            ([], []) => None,
            _ => {
                return Ok(plain_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
                ));
            }
        }
    };
    let Some((tenant, app)) = pick else {
        return Ok(plain_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        ));
    };
    let lifetime = token_lifetime(&state);
    let now = now_ms() / 1000;
    let token = state
        .token_key
        .mint(tenant, &app.client_id, &app.roles, lifetime);
    Ok(identity_json(&json!({
        "access_token": token,
        "client_id": app.client_id,
        "expires_in": lifetime.to_string(),
        "expires_on": (now + lifetime).to_string(),
        "ext_expires_in": lifetime.to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_endpoints_give_host_and_tenant() {
        assert_eq!(
            url_host_and_tenant(
                "https://127.0.0.1:9/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
            ),
            Some(("127.0.0.1:9".into(), "contoso.onmicrosoft.com".into()))
        );
        assert_eq!(url_host_and_tenant("https://host"), None);
        assert_eq!(url_host_and_tenant("ftp://host/x"), None);
    }
}
