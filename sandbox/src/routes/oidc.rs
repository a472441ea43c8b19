//! The test OpenID Connect issuers (`crate::oidc`), nested under `/_sandbox/oidc`:
//!
//! ```text
//! GET  /{name}/.well-known/openid-configuration  discovery (issuer, jwks_uri, ...)
//! GET  /{name}/.well-known/jwks                   the signing key
//! POST /{name}/token     {"subject", "audience"?, "lifetime"?, "issuedAgo"?, "claims"?}
//!                        → {"value": "<JWT>"}: a token, e.g. for a file (HCP Terraform style)
//! POST /{name}/runner    {"subject", "claims"?, "serviceConnectionId"?}
//!                        → {"requestUrl", "requestToken"}: a pipeline job's token source
//! GET  /{name}/idtoken?audience=A                 (Bearer requestToken) → {"count", "value"}
//!                                                 as GitHub Actions answers
//! POST /{name}/idtoken?serviceConnectionId=S&api-version=7.1
//!                                                 (Bearer requestToken) → {"oidcToken"}
//!                                                 as Azure DevOps answers
//! ```
//!
//! Durations (`lifetime`, default 10m; `issuedAgo`, default 0s) use the CLI's syntax, so an
//! expired token is `{"issuedAgo": "20m", "lifetime": "5m"}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::json_response;
use crate::AppState;
use crate::assertion::TOKEN_EXCHANGE_AUDIENCE;
use crate::config::parse_duration;
use crate::error::{ApiError, GraphPath, parse_json_body};
use crate::oidc::{Runner, issuer_url, token_claims, valid_name};
use crate::util::now_ms;

/// The issuer routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{name}/.well-known/openid-configuration", get(discovery))
        .route("/{name}/.well-known/jwks", get(jwks))
        .route("/{name}/token", post(mint))
        .route("/{name}/runner", post(runner))
        .route("/{name}/idtoken", get(github_idtoken).post(ado_idtoken))
}

fn issuer_name(name: String) -> Result<String, ApiError> {
    if valid_name(&name) {
        Ok(name)
    } else {
        Err(ApiError::bad_request(
            "An issuer name has 1 to 64 letters, digits, '-' or '_'.",
        ))
    }
}

async fn discovery(
    State(st): State<AppState>,
    GraphPath(name): GraphPath<String>,
) -> Result<Response, ApiError> {
    let name = issuer_name(name)?;
    let issuer = issuer_url(&st.config.base_url, &name);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks"),
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner", "run_id", "workflow", "actor", "environment"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }),
    ))
}

async fn jwks(
    State(st): State<AppState>,
    GraphPath(name): GraphPath<String>,
) -> Result<Response, ApiError> {
    let name = issuer_name(name)?;
    let key = st.oidc.key(&st.store, &name).await?;
    Ok(json_response(StatusCode::OK, &json!({"keys": [key.jwk()]})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MintRequest {
    subject: String,
    #[serde(default)]
    audience: Option<String>,
    #[serde(default)]
    lifetime: Option<String>,
    #[serde(default)]
    issued_ago: Option<String>,
    #[serde(default)]
    claims: Map<String, Value>,
}

fn seconds(d: Option<&str>, default: i64) -> Result<i64, ApiError> {
    match d {
        None => Ok(default),
        Some(text) => parse_duration(text)
            .map(|d| d.as_secs() as i64)
            .map_err(ApiError::bad_request),
    }
}

async fn sign(
    st: &AppState,
    name: &str,
    subject: &str,
    audience: &str,
    (issued_ago, lifetime): (i64, i64),
    extra: &Map<String, Value>,
) -> Result<String, ApiError> {
    let issuer = issuer_url(&st.config.base_url, name);
    let claims = token_claims(
        &issuer,
        subject,
        audience,
        now_ms() / 1000,
        issued_ago,
        lifetime,
        extra,
    );
    st.oidc.mint(&st.store, name, &claims).await
}

/// Default lifetime of a minted token (GitHub's last a few minutes; ten is generous).
const DEFAULT_LIFETIME_SECS: i64 = 600;

async fn mint(
    State(st): State<AppState>,
    GraphPath(name): GraphPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = issuer_name(name)?;
    let req: MintRequest = parse_json_body(&body)?;
    let times = (
        seconds(req.issued_ago.as_deref(), 0)?,
        seconds(req.lifetime.as_deref(), DEFAULT_LIFETIME_SECS)?,
    );
    let audience = req.audience.as_deref().unwrap_or(TOKEN_EXCHANGE_AUDIENCE);
    let token = sign(&st, &name, &req.subject, audience, times, &req.claims).await?;
    Ok(json_response(StatusCode::OK, &json!({"value": token})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RunnerRequest {
    subject: String,
    #[serde(default)]
    claims: Map<String, Value>,
    #[serde(default)]
    service_connection_id: Option<String>,
}

async fn runner(
    State(st): State<AppState>,
    GraphPath(name): GraphPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = issuer_name(name)?;
    let req: RunnerRequest = parse_json_body(&body)?;
    let token = st.oidc.add_runner(Runner {
        issuer: name.clone(),
        subject: req.subject,
        claims: req.claims,
        service_connection_id: req.service_connection_id,
    });
    let url = format!(
        "{}/idtoken?api-version=2.0",
        issuer_url(&st.config.base_url, &name)
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({"requestUrl": url, "requestToken": token}),
    ))
}

/// The runner behind the request's bearer token, for issuer `name`.
fn bearer_runner(st: &AppState, headers: &HeaderMap, name: &str) -> Option<Runner> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    st.oidc.runner(token.trim()).filter(|r| r.issuer == name)
}

fn param<'a>(query: &'a [(String, String)], k: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A pipeline's token request: the runner's token for `audience`, or why not (401 without a
/// valid request token, or what `refuse` says about the runner).
async fn runner_token(
    st: &AppState,
    name: String,
    headers: &HeaderMap,
    audience: &str,
    refuse: impl FnOnce(&Runner) -> Option<Response>,
) -> Result<Result<String, Response>, ApiError> {
    let name = issuer_name(name)?;
    let Some(runner) = bearer_runner(st, headers, &name) else {
        return Ok(Err(json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"message": "The request token is missing or not valid for this issuer."}),
        )));
    };
    if let Some(refused) = refuse(&runner) {
        return Ok(Err(refused));
    }
    let times = (0, DEFAULT_LIFETIME_SECS);
    let token = sign(st, &name, &runner.subject, audience, times, &runner.claims).await?;
    Ok(Ok(token))
}

async fn github_idtoken(
    State(st): State<AppState>,
    GraphPath(name): GraphPath<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let audience = param(&query, "audience").unwrap_or(TOKEN_EXCHANGE_AUDIENCE);
    Ok(
        match runner_token(&st, name, &headers, audience, |_| None).await? {
            Ok(token) => json_response(
                StatusCode::OK,
                &json!({"count": token.len(), "value": token}),
            ),
            Err(refused) => refused,
        },
    )
}

async fn ado_idtoken(
    State(st): State<AppState>,
    GraphPath(name): GraphPath<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let Some(connection) = param(&query, "serviceConnectionId") else {
        return Err(ApiError::bad_request(
            "The serviceConnectionId query parameter is required.",
        ));
    };
    let other_connection = |r: &Runner| {
        r.service_connection_id
            .as_deref()
            .filter(|c| !c.eq_ignore_ascii_case(connection))
            .map(|_| {
                json_response(
                    StatusCode::FORBIDDEN,
                    &json!({"message": format!("The job may not use service connection {connection}.")}),
                )
            })
    };
    let audience = TOKEN_EXCHANGE_AUDIENCE;
    Ok(
        match runner_token(&st, name, &headers, audience, other_connection).await? {
            Ok(token) => json_response(StatusCode::OK, &json!({"oidcToken": token})),
            Err(refused) => refused,
        },
    )
}
