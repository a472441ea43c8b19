//! Client assertions at the token endpoint (`client_assertion_type` =
//! `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`), checked as Microsoft's identity
//! platform documents them:
//!
//! - a **certificate assertion** (`iss` = `sub` = the client id) is signed with the private key
//!   of a certificate registered on the app (`keyCredentials`), named by its `x5t#S256` (or
//!   legacy SHA-1 `x5t`) thumbprint, with `aud` = this tenant's token endpoint, and `nbf`/`exp`
//!   around now;
//! - a **federated token** (any other issuer) is matched against the app's federated identity
//!   credentials by issuer, subject and audience, and its signature is checked with the
//!   issuer's keys — the sandbox holds those only for its own test issuers (`crate::oidc`).
//!
//! Each failure is the `OAuthError` Entra returns for it (AADSTS codes in docs/sandbox.md, with
//! the ones Microsoft's documentation does not confirm marked there).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::error::OAuthError;
use crate::oidc::Issuers;
use crate::store::Store;
use crate::store::tenants::{App, Tenant};

/// The only `client_assertion_type` Entra accepts for client credentials.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew allowed on `nbf` and `exp` (Entra's exact allowance is not documented).
pub const CLOCK_SKEW_SECS: i64 = 300;

/// The audience Entra's federated identity credentials use by default.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

fn invalid_client(aadsts: u32, description: impl Into<String>) -> OAuthError {
    OAuthError {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        aadsts,
        description: description.into(),
    }
}

/// The `invalid_request` Entra answers for a malformed assertion.
pub fn malformed(detail: &str) -> OAuthError {
    OAuthError {
        status: StatusCode::BAD_REQUEST,
        error: "invalid_request",
        aadsts: 50027,
        description: format!("JWT token is invalid or malformed. {detail}"),
    }
}

/// A certificate given as PEM or base64 DER (Graph's `keyCredential.key`), checked to hold an
/// RSA public key (the only kind Entra accepts for client assertions).
pub fn certificate_der(key: &str) -> Result<Vec<u8>, String> {
    let key = key.trim();
    let der = if key.starts_with("-----BEGIN") {
        let p = pem::parse(key).map_err(|e| format!("not a PEM certificate: {e}"))?;
        if p.tag() != "CERTIFICATE" {
            return Err(format!("PEM block {:?} is not a CERTIFICATE", p.tag()));
        }
        p.into_contents()
    } else {
        let compact: String = key.split_whitespace().collect();
        STANDARD
            .decode(compact)
            .map_err(|e| format!("not base64 DER: {e}"))?
    };
    decoding_key(&der).map_err(|e| format!("not an X.509 certificate with an RSA key: {e}"))?;
    Ok(der)
}

fn decoding_key(cert_der: &[u8]) -> Result<DecodingKey, jsonwebtoken::errors::Error> {
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", cert_der.to_vec()));
    DecodingKey::from_rsa_pem(pem.as_bytes())
}

/// SHA-1 and SHA-256 thumbprints of a certificate, raw.
pub fn thumbprints(cert_der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
    (
        digest(&SHA1_FOR_LEGACY_USE_ONLY, cert_der)
            .as_ref()
            .to_vec(),
        digest(&SHA256, cert_der).as_ref().to_vec(),
    )
}

/// `jti`s of certificate assertions already presented, until they expire (only consulted with
/// `--reject-assertion-replay`).
#[derive(Default)]
pub struct ReplayCache(Mutex<HashMap<String, i64>>);

impl ReplayCache {
    /// Records `key` until `exp`; false when it was already recorded and has not expired.
    pub fn first_use(&self, key: String, exp: i64, now: i64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, until| *until > now);
        seen.insert(key, exp + CLOCK_SKEW_SECS).is_none()
    }
}

/// What the token request is checked against.
pub struct Check<'a> {
    /// The tenant of the token URL.
    pub tenant: &'a Tenant,
    /// The app named by `client_id`.
    pub app: &'a App,
    /// `http(s)://host[:port]` as the client addressed the sandbox.
    pub base: &'a str,
    /// The sandbox's test issuers, for federated tokens they minted.
    pub issuers: &'a Issuers,
    /// Their keys live in the store.
    pub store: &'a Store,
    /// Set with `--reject-assertion-replay`.
    pub replay: Option<&'a ReplayCache>,
    /// Seconds since the epoch.
    pub now: i64,
}

/// The claims the checks read; everything else is ignored.
struct Claims {
    iss: String,
    sub: String,
    aud: Vec<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

impl Claims {
    fn read(v: &Value) -> Claims {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let aud = match v.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Claims {
            iss: text("iss"),
            sub: text("sub"),
            aud,
            // NumericDate may have a fraction (MSAL for Python sends one).
            exp: v.get("exp").and_then(Value::as_f64).map(|t| t as i64),
            nbf: v.get("nbf").and_then(Value::as_f64).map(|t| t as i64),
            jti: v.get("jti").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// AADSTS700024 unless `nbf`..`exp` (with the skew) contains `now`.
    fn check_time(&self, now: i64) -> Result<(), OAuthError> {
        let Some(exp) = self.exp else {
            return Err(malformed("The assertion has no 'exp' claim."));
        };
        let nbf = self.nbf.unwrap_or(i64::MIN);
        if now >= exp + CLOCK_SKEW_SECS || now + CLOCK_SKEW_SECS < nbf {
            return Err(invalid_client(
                700024,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                    crate::util::rfc3339(now * 1000),
                    self.nbf
                        .map_or_else(|| "-".to_owned(), |n| crate::util::rfc3339(n * 1000)),
                    crate::util::rfc3339(exp * 1000),
                ),
            ));
        }
        Ok(())
    }
}

/// Verifies `signature` of `token` with `key`; the claims are checked by the caller.
fn signature_holds(token: &str, key: &DecodingKey, alg: Algorithm) -> bool {
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims = HashSet::new();
    jsonwebtoken::decode::<Value>(token, key, &v).is_ok()
}

/// Checks a client assertion for `check.app`.
pub async fn verify(assertion: &str, check: &Check<'_>) -> Result<(), OAuthError> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| malformed("The client_assertion is not a signed JWT."))?;
    let payload = assertion
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| malformed("The client_assertion payload is not JSON."))?;
    let claims = Claims::read(&payload);
    if claims.iss.eq_ignore_ascii_case(&check.app.client_id) {
        verify_certificate_assertion(assertion, &header, &claims, check)
    } else {
        verify_federated(assertion, &header, &claims, check).await
    }
}

/// The token endpoints a certificate assertion may name as its audience: v2.0 and v1 token
/// endpoints and the v2.0 issuer, by tenant id or initial domain.
fn accepted_audiences(check: &Check<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for t in [&check.tenant.id, &check.tenant.initial_domain] {
        for suffix in ["oauth2/v2.0/token", "oauth2/token", "v2.0"] {
            out.push(format!("{}/{t}/{suffix}", check.base).to_ascii_lowercase());
        }
    }
    out
}

fn verify_certificate_assertion(
    assertion: &str,
    header: &jsonwebtoken::Header,
    claims: &Claims,
    check: &Check<'_>,
) -> Result<(), OAuthError> {
    if claims.sub != claims.iss {
        return Err(invalid_client(
            50048,
            "Subject mismatches Issuer claim in the client assertion.",
        ));
    }
    let presented = header
        .x5t_s256
        .as_deref()
        .map(|t| (t, true))
        .or(header.x5t.as_deref().map(|t| (t, false)));
    // MSAL pads the thumbprint (`=`); Entra accepts it either way.
    let raw = presented.and_then(|(t, _)| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok());
    let hex = raw
        .as_ref()
        .map(|r| r.iter().map(|b| format!("{b:02X}")).collect::<String>())
        .unwrap_or_else(|| "null".to_owned());
    let cert = raw.as_ref().and_then(|raw| {
        check.app.credentials.certificates.iter().find(|der| {
            let (sha1, sha256) = thumbprints(der);
            if presented.is_some_and(|(_, s256)| s256) {
                &sha256 == raw
            } else {
                &sha1 == raw
            }
        })
    });
    let Some(cert) = cert else {
        return Err(invalid_client(
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{hex}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                check.app.client_id
            ),
        ));
    };
    if !matches!(header.alg, Algorithm::PS256 | Algorithm::RS256) {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - The signature algorithm {:?} is not supported; use PS256 or RS256.]",
                header.alg
            ),
        ));
    }
    let key =
        decoding_key(cert).map_err(|_| malformed("The registered certificate is unusable."))?;
    if !signature_holds(assertion, &key, header.alg) {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{hex}', Found key 'Start=..., End=...']"
            ),
        ));
    }
    let accepted = accepted_audiences(check);
    if !claims.aud.iter().any(|a| {
        accepted.contains(&a.trim_end_matches('/').to_ascii_lowercase())
            || accepted.contains(&a.to_ascii_lowercase())
    }) {
        return Err(invalid_client(
            50027,
            format!(
                "Invalid JWT token. AUD claim value '{}' does not match the token endpoint {}/{}/oauth2/v2.0/token.",
                claims.aud.join(","),
                check.base,
                check.tenant.id
            ),
        ));
    }
    claims.check_time(check.now)?;
    if let Some(replay) = check.replay {
        let Some(jti) = claims.jti.as_deref().filter(|j| !j.is_empty()) else {
            return Err(malformed("The client assertion has no 'jti' claim."));
        };
        let key = format!("{}|{}", check.app.client_id, jti);
        if !replay.first_use(key, claims.exp.unwrap_or(check.now), check.now) {
            return Err(invalid_client(
                50027,
                format!(
                    "Invalid JWT token. The client assertion with jti '{jti}' was already used; sign a new assertion for every token request."
                ),
            ));
        }
    }
    Ok(())
}

/// A federated identity credential's issuer: a path means this sandbox.
fn resolve_issuer(issuer: &str, base: &str) -> String {
    if issuer.starts_with('/') {
        format!("{base}{issuer}")
    } else {
        issuer.to_owned()
    }
}

const FIC_HELP: &str = "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

async fn verify_federated(
    assertion: &str,
    header: &jsonwebtoken::Header,
    claims: &Claims,
    check: &Check<'_>,
) -> Result<(), OAuthError> {
    let federated = &check.app.credentials.federated;
    if federated.is_empty() {
        return Err(invalid_client(
            70025,
            format!(
                "The client '{}'(sandbox app) has no configured federated identity credentials.",
                check.app.client_id
            ),
        ));
    }
    let by_issuer: Vec<_> = federated
        .iter()
        .filter(|f| resolve_issuer(&f.issuer, check.base) == claims.iss)
        .collect();
    if by_issuer.is_empty() {
        return Err(invalid_client(
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{}'. {FIC_HELP}",
                claims.iss
            ),
        ));
    }
    // Entra fetches the issuer's keys from its OpenID configuration; the sandbox knows the keys
    // of its own test issuers only.
    let verified = match check.issuers.name_of(&claims.iss, check.base) {
        Some(name) if header.alg == Algorithm::RS256 => {
            match check.issuers.decoding_key(check.store, name).await {
                Ok((kid, key)) => {
                    header.kid.as_deref() == Some(kid.as_str())
                        && signature_holds(assertion, &key, header.alg)
                }
                Err(_) => false,
            }
        }
        _ => false,
    };
    if !verified {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            aadsts: 50027,
            description: format!(
                "Invalid JWT token. External ID token from issuer '{}' failed signature verification.",
                claims.iss
            ),
        });
    }
    claims.check_time(check.now)?;
    let by_subject: Vec<_> = by_issuer
        .into_iter()
        .filter(|f| f.subject == claims.sub)
        .collect();
    if by_subject.is_empty() {
        return Err(invalid_client(
            700213,
            format!(
                "No matching federated identity record found for presented assertion subject '{}'. {FIC_HELP}",
                claims.sub
            ),
        ));
    }
    if !by_subject
        .iter()
        .any(|f| f.audiences.iter().any(|a| claims.aud.contains(a)))
    {
        return Err(invalid_client(
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{}'. {FIC_HELP}",
                claims.aud.join(",")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replayed_jtis_are_refused_until_they_expire() {
        let c = ReplayCache::default();
        assert!(c.first_use("a|1".into(), 100, 50));
        assert!(!c.first_use("a|1".into(), 100, 60));
        assert!(c.first_use("a|2".into(), 100, 60));
        // Long after expiry (and the skew) the entry is forgotten.
        assert!(c.first_use("a|1".into(), 1000, 100 + CLOCK_SKEW_SECS + 1));
    }

    #[test]
    fn relative_issuers_mean_this_sandbox() {
        assert_eq!(
            resolve_issuer("/_sandbox/oidc/github", "http://127.0.0.1:9"),
            "http://127.0.0.1:9/_sandbox/oidc/github"
        );
        assert_eq!(
            resolve_issuer("https://token.actions.githubusercontent.com", "http://x"),
            "https://token.actions.githubusercontent.com"
        );
    }

    #[test]
    fn certificates_must_be_pem_or_base64_der() {
        assert!(certificate_der("not base64 !").is_err());
        assert!(
            certificate_der("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
