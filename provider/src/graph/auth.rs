//! Client-credentials tokens, one per tenant, cached until shortly before
//! they expire. Concurrent callers share one token request.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::error::{ErrorKind, GraphError};
use crate::config::TenantCredentials;

/// Renew this long before expiry, so a token never dies mid-operation.
const RENEW_MARGIN: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub(crate) struct Token {
    pub value: String,
    renew_at: Instant,
}

pub(crate) struct TokenCache {
    creds: TenantCredentials,
    current: Mutex<Option<Token>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    correlation_id: Option<String>,
    trace_id: Option<String>,
}

impl TokenCache {
    pub fn new(creds: TenantCredentials) -> TokenCache {
        TokenCache {
            creds,
            current: Mutex::new(None),
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

    async fn fetch(
        &self,
        http: &reqwest::Client,
        login: &url::Url,
        scope: &str,
    ) -> Result<Token, GraphError> {
        let tenant = &self.creds.tenant_id;
        let url = login
            .join(&format!("{tenant}/oauth2/v2.0/token"))
            .map_err(|e| {
                GraphError::new(
                    ErrorKind::Authentication,
                    format!("bad login endpoint: {e}"),
                )
            })?;
        let Some(secret) = self.creds.client_secret.as_deref() else {
            return Err(GraphError::new(
                ErrorKind::Authentication,
                format!(
                    "tenant {tenant} has no client_secret in the provider block (or ARM_CLIENT_SECRET)."
                ),
            ));
        };
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", secret),
            ("scope", scope),
        ];
        let started = Instant::now();
        let resp = http.post(url).form(&form).send().await.map_err(|e| {
            let mut err = GraphError::new(
                ErrorKind::Transport,
                format!(
                    "cannot reach the login endpoint for tenant {tenant}: {}",
                    without_url(&e)
                ),
            );
            err.method = "POST".into();
            err.path = format!("/{tenant}/oauth2/v2.0/token");
            err
        })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        tracing::debug!(tenant = %tenant, status, ms = started.elapsed().as_millis() as u64, "token request");
        if (200..300).contains(&status) {
            let t: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
                GraphError::new(
                    ErrorKind::InvalidResponse,
                    format!("unreadable token response: {e}"),
                )
            })?;
            let lifetime = Duration::from_secs(t.expires_in.unwrap_or(3599));
            let renew_in = lifetime.saturating_sub(RENEW_MARGIN).max(lifetime / 2);
            return Ok(Token {
                value: t.access_token,
                renew_at: Instant::now() + renew_in,
            });
        }
        // The identity platform's error: keep its AADSTS text (it never
        // contains the secret) and its correlation ids.
        let e: TokenErrorBody = serde_json::from_slice(&body).unwrap_or(TokenErrorBody {
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
        let mut err = GraphError::new(
            ErrorKind::Authentication,
            format!(
                "the login endpoint refused the credentials of client {} in tenant {tenant}: {description}",
                self.creds.client_id
            ),
        );
        err.status = Some(status);
        err.code = e.error.unwrap_or_default();
        err.method = "POST".into();
        err.path = format!("/{tenant}/oauth2/v2.0/token");
        err.request_id = e.trace_id;
        err.client_request_id = e.correlation_id;
        Err(err)
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
