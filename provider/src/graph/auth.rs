//! Tokens, one per tenant, cached until shortly before they expire.
//! Concurrent callers share one token request.
//!
//! A token comes from the tenant's credential (`crate::credentials`): the
//! client-credentials grant with a client secret, a certificate-signed client
//! assertion or a federated OIDC token, or an IMDS-style managed identity
//! endpoint. [`TokenCache::sign_in`] is what configure calls for every tenant;
//! it also records the application permissions the token grants (its `roles`
//! claim), for the plan-time permission check.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::error::{ErrorKind, GraphError};
use crate::config::TenantCredentials;
use crate::credentials::{self, Credential, OidcSource, TOKEN_EXCHANGE_AUDIENCE};

/// Renew this long before expiry, so a token never dies mid-operation;
/// short-lived tokens are renewed at half their lifetime.
const RENEW_MARGIN: Duration = Duration::from_secs(300);

/// When to renew a token that lives `lifetime`.
fn renew_after(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(RENEW_MARGIN).max(lifetime / 2)
}

#[derive(Clone)]
pub(crate) struct Token {
    pub value: String,
    renew_at: Instant,
}

/// What a sign-in found out about the tenant's token.
#[derive(Clone, Debug)]
pub struct SignIn {
    /// The application permissions the token grants; `None` when it could not be read.
    pub roles: Option<Vec<String>>,
}

pub(crate) struct TokenCache {
    creds: TenantCredentials,
    current: Mutex<Option<Token>>,
    /// The `roles` of the latest token (std mutex: never held across an await).
    roles: std::sync::Mutex<Option<Vec<String>>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// A number from the token endpoint, a string from IMDS.
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct TokenErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    correlation_id: Option<String>,
    trace_id: Option<String>,
}

fn auth_error(message: String) -> GraphError {
    GraphError::new(ErrorKind::Authentication, message)
}

impl TokenCache {
    pub fn new(creds: TenantCredentials) -> TokenCache {
        TokenCache {
            creds,
            current: Mutex::new(None),
            roles: std::sync::Mutex::new(None),
        }
    }

    /// A valid token; `force_new` after Graph refused the current one.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        login: &url::Url,
        scope: &str,
        force_new: bool,
    ) -> Result<Token, GraphError> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref()
            && !force_new
            && Instant::now() < t.renew_at
        {
            return Ok(t.clone());
        }
        let token = self.fetch(http, login, scope).await?;
        *current = Some(token.clone());
        Ok(token)
    }

    /// Gets a first token (retrying transient failures a few times) and
    /// reports the permissions it grants.
    pub async fn sign_in(
        &self,
        http: &reqwest::Client,
        login: &url::Url,
        scope: &str,
    ) -> Result<SignIn, GraphError> {
        let mut attempt = 0u32;
        loop {
            match self.get(http, login, scope, true).await {
                Ok(_) => {
                    return Ok(SignIn {
                        roles: self.roles(),
                    });
                }
                Err(e)
                    if attempt < 2
                        && (e.kind == ErrorKind::Transport
                            || e.status.is_some_and(|s| s == 429 || s >= 500)) =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500) * attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The application permissions of the latest token.
    pub fn roles(&self) -> Option<Vec<String>> {
        self.roles.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn token_path(&self) -> String {
        format!("/{}/oauth2/v2.0/token", self.creds.tenant_id)
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        login: &url::Url,
        scope: &str,
    ) -> Result<Token, GraphError> {
        let tenant = &self.creds.tenant_id;
        let started = Instant::now();
        let (status, body, path) = match &self.creds.credential {
            Credential::ManagedIdentity { endpoint } => {
                let (status, body) = self.managed_identity(http, endpoint, scope).await?;
                (status, body, endpoint.path().to_owned())
            }
            credential => {
                let url = login
                    .join(self.token_path().trim_start_matches('/'))
                    .map_err(|e| auth_error(format!("bad login endpoint: {e}")))?;
                let client_id = self.creds.client_id.as_deref().unwrap_or_default();
                let mut form = vec![
                    ("grant_type", "client_credentials".to_owned()),
                    ("client_id", client_id.to_owned()),
                    ("scope", scope.to_owned()),
                ];
                let assertion = match credential {
                    Credential::Secret(s) => {
                        form.push(("client_secret", s.expose().to_owned()));
                        None
                    }
                    Credential::Certificate(c) => {
                        Some(c.assertion(client_id, url.as_str()).map_err(auth_error)?)
                    }
                    Credential::Oidc(source) => Some(self.oidc_token(http, source).await?),
                    Credential::ManagedIdentity { .. } => None,
                };
                if let Some(a) = assertion {
                    form.push((
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                    ));
                    form.push(("client_assertion", a));
                }
                let resp = http.post(url).form(&form).send().await.map_err(|e| {
                    self.transport_error("the login endpoint", &e, &self.token_path())
                })?;
                let status = resp.status().as_u16();
                (
                    status,
                    resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                    self.token_path(),
                )
            }
        };
        tracing::debug!(tenant = %tenant, status, ms = started.elapsed().as_millis() as u64, method = self.creds.credential.kind(), "token request");
        if (200..300).contains(&status) {
            return self.accept(&body);
        }
        Err(self.refused(status, &body, &path))
    }

    /// Turns a token answer into a [`Token`], recording its roles.
    fn accept(&self, body: &[u8]) -> Result<Token, GraphError> {
        let t: TokenResponse = serde_json::from_slice(body).map_err(|e| {
            GraphError::new(
                ErrorKind::InvalidResponse,
                format!("unreadable token response: {e}"),
            )
        })?;
        let secs = match &t.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .unwrap_or(3599);
        let claims = credentials::token_claims(&t.access_token);
        if let Some((_, Some(tid))) = &claims
            && !tid.eq_ignore_ascii_case(&self.creds.tenant_id)
        {
            // A managed identity belongs to one tenant, whatever the block says.
            return Err(auth_error(format!(
                "the {} got a token for tenant {tid}, not for tenant {}; use credentials of an identity in tenant {}.",
                self.creds.credential.kind(),
                self.creds.tenant_id,
                self.creds.tenant_id
            )));
        }
        *self.roles.lock().unwrap_or_else(|p| p.into_inner()) = claims.map(|(roles, _)| roles);
        Ok(Token {
            value: t.access_token,
            renew_at: Instant::now() + renew_after(Duration::from_secs(secs)),
        })
    }

    /// The identity platform's (or IMDS's) refusal: keep its AADSTS text (it
    /// never contains a secret) and its correlation ids.
    fn refused(&self, status: u16, body: &[u8], path: &str) -> GraphError {
        let e: TokenErrorBody = serde_json::from_slice(body).unwrap_or(TokenErrorBody {
            error: None,
            error_description: None,
            correlation_id: None,
            trace_id: None,
        });
        let description = e
            .error_description
            .as_deref()
            .map(|d| d.lines().next().unwrap_or_default().trim().to_owned())
            .unwrap_or_else(|| format!("HTTP {status}"));
        let who = match &self.creds.client_id {
            Some(c) => format!("client {c}"),
            None => "the managed identity".to_owned(),
        };
        let mut err = auth_error(format!(
            "the login endpoint refused the {} of {who} in tenant {}: {description}",
            self.creds.credential.kind(),
            self.creds.tenant_id
        ));
        err.status = Some(status);
        err.code = e.error.unwrap_or_default();
        err.method = if matches!(self.creds.credential, Credential::ManagedIdentity { .. }) {
            "GET".into()
        } else {
            "POST".into()
        };
        err.path = path.to_owned();
        err.request_id = e.trace_id;
        err.client_request_id = e.correlation_id;
        err
    }

    fn transport_error(&self, what: &str, e: &reqwest::Error, path: &str) -> GraphError {
        let mut err = GraphError::new(
            ErrorKind::Transport,
            format!(
                "cannot reach {what} for tenant {}: {}",
                self.creds.tenant_id,
                without_url(e)
            ),
        );
        err.method = "POST".into();
        err.path = path.to_owned();
        err
    }

    /// The federated token to present, fresh for every token request.
    async fn oidc_token(
        &self,
        http: &reqwest::Client,
        source: &OidcSource,
    ) -> Result<String, GraphError> {
        #[derive(Deserialize)]
        struct GitHubAnswer {
            value: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct AdoAnswer {
            oidc_token: Option<String>,
        }
        let request = match source {
            OidcSource::Token(t) => return Ok(t.expose().to_owned()),
            OidcSource::File(path) => {
                return std::fs::read_to_string(path)
                    .map(|t| t.trim().to_owned())
                    .map_err(|e| {
                        auth_error(format!(
                            "cannot read the OIDC token file {}: {e}",
                            path.display()
                        ))
                    });
            }
            OidcSource::GitHub { url, token } => {
                let mut url = url.clone();
                url.query_pairs_mut()
                    .append_pair("audience", TOKEN_EXCHANGE_AUDIENCE);
                http.get(url).bearer_auth(token.expose())
            }
            OidcSource::AzureDevOps {
                url,
                token,
                service_connection_id,
            } => {
                let mut url = url.clone();
                let has = |k: &str| url.query_pairs().any(|(n, _)| n == k);
                let (api, conn) = (has("api-version"), has("serviceConnectionId"));
                {
                    let mut q = url.query_pairs_mut();
                    if !api {
                        q.append_pair("api-version", "7.1");
                    }
                    if !conn {
                        q.append_pair("serviceConnectionId", service_connection_id);
                    }
                }
                http.post(url)
                    .bearer_auth(token.expose())
                    .header("content-type", "application/json")
                    .body("{}")
            }
        };
        let resp = request
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                self.transport_error("the OIDC token request URL", &e, "(oidc request)")
            })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(auth_error(format!(
                "the pipeline's OIDC token request URL answered HTTP {status}; check oidc_request_url and oidc_request_token (GitHub Actions needs `permissions: id-token: write`)."
            )));
        }
        let token = match source {
            OidcSource::AzureDevOps { .. } => serde_json::from_slice::<AdoAnswer>(&body)
                .ok()
                .and_then(|a| a.oidc_token),
            _ => serde_json::from_slice::<GitHubAnswer>(&body)
                .ok()
                .and_then(|a| a.value),
        };
        token.filter(|t| !t.is_empty()).ok_or_else(|| {
            auth_error("the pipeline's OIDC token request URL answered without a token.".into())
        })
    }

    /// `GET <endpoint>?api-version=2018-02-01&resource=…[&client_id=…]` with `Metadata: true`.
    async fn managed_identity(
        &self,
        http: &reqwest::Client,
        endpoint: &url::Url,
        scope: &str,
    ) -> Result<(u16, Vec<u8>), GraphError> {
        let mut url = endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", "2018-02-01");
            q.append_pair(
                "resource",
                &format!("{}/", scope.trim_end_matches("/.default")),
            );
            if let Some(c) = &self.creds.client_id {
                q.append_pair("client_id", c);
            }
        }
        let resp = http
            .get(url)
            .header("Metadata", "true")
            .send()
            .await
            .map_err(|e| {
                self.transport_error("the managed identity endpoint", &e, endpoint.path())
            })?;
        let status = resp.status().as_u16();
        Ok((
            status,
            resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
        ))
    }
}

/// reqwest's error text can include the URL; ours never holds secrets, but
/// keep messages short and stable.
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.without_url_ref().to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        if self.is_timeout() {
            "timed out".into()
        } else if self.is_connect() {
            "connection failed".into()
        } else if self.is_request() {
            "request failed".into()
        } else if self.is_body() || self.is_decode() {
            "unreadable response".into()
        } else {
            "HTTP error".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_renew_five_minutes_early_or_at_half_a_short_life() {
        assert_eq!(
            renew_after(Duration::from_secs(3599)),
            Duration::from_secs(3299)
        );
        assert_eq!(
            renew_after(Duration::from_secs(20)),
            Duration::from_secs(10)
        );
        assert_eq!(renew_after(Duration::from_secs(0)), Duration::ZERO);
    }
}
