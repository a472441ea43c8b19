//! Test OpenID Connect issuers, for workload identity federation without the internet.
//!
//! Every name under `/_sandbox/oidc/{name}` is an issuer whose URL is
//! `<sandbox base>/_sandbox/oidc/{name}`, with the discovery document and JWKS a relying party
//! fetches, and an RS256 key created on first use and kept in the store (so tokens survive a
//! restart with `--data`). It mints GitHub-shaped tokens two ways: directly (for a test that
//! writes a token to a file, as HCP Terraform does), and through a *runner*: a request URL and
//! request token like the ones GitHub Actions (`ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`) and
//! Azure DevOps (`SYSTEM_OIDCREQUESTURI` + `SYSTEM_ACCESSTOKEN`) hand a pipeline. The token
//! endpoint verifies what these issuers signed locally (`crate::assertion`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::store::{self, Store};

/// The path under which the issuers live.
pub const PREFIX: &str = "/_sandbox/oidc/";

/// An issuer's signing key.
pub struct IssuerKey {
    /// Key id (`kid`), derived from the public key.
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n: String,
    e: String,
}

impl IssuerKey {
    fn from_pkcs8(der: &[u8]) -> Result<IssuerKey, String> {
        let kp = KeyPair::from_pkcs8(der).map_err(|e| e.to_string())?;
        let public = kp.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &[&n[..], &e[..]].concat());
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()));
        Ok(IssuerKey {
            kid: URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]),
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?,
            decoding: DecodingKey::from_rsa_raw_components(&n, &e),
            n: URL_SAFE_NO_PAD.encode(&n),
            e: URL_SAFE_NO_PAD.encode(&e),
        })
    }

    /// The key as a JWKS entry.
    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }
}

/// A pipeline job's right to ask for tokens: what GitHub Actions or Azure DevOps would put in
/// the job's environment.
#[derive(Clone, Debug)]
pub struct Runner {
    /// The issuer it asks.
    pub issuer: String,
    /// The `sub` of its tokens.
    pub subject: String,
    /// Extra claims of its tokens.
    pub claims: Map<String, Value>,
    /// For Azure DevOps: the only service connection it may ask for.
    pub service_connection_id: Option<String>,
}

/// The issuers' keys (loaded lazily) and the runners handed out.
#[derive(Default)]
pub struct Issuers {
    keys: Mutex<HashMap<String, Arc<IssuerKey>>>,
    runners: Mutex<HashMap<String, Runner>>,
}

/// Whether `name` may name an issuer (`[A-Za-z0-9_-]`, at most 64).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The issuer URL of `name` for a client that reached the sandbox at `base`.
pub fn issuer_url(base: &str, name: &str) -> String {
    format!("{base}{PREFIX}{name}")
}

impl Issuers {
    /// The issuer name when `iss` is one of this sandbox's issuers as seen from `base`.
    pub fn name_of<'a>(&self, iss: &'a str, base: &str) -> Option<&'a str> {
        let name = iss.strip_prefix(base)?.strip_prefix(PREFIX)?;
        valid_name(name).then_some(name)
    }

    /// The key of issuer `name`, created (and stored) on first use.
    pub async fn key(&self, store: &Store, name: &str) -> Result<Arc<IssuerKey>, ApiError> {
        if let Some(k) = self.lock_keys().get(name) {
            return Ok(k.clone());
        }
        let meta = format!("oidc_issuer_key/{name}");
        let der = store
            .write(move |c| {
                store::meta_or_insert(c, &meta, || {
                    KeyPair::generate(KeySize::Rsa2048)
                        .and_then(|k| k.as_der())
                        .map(|d| d.as_ref().to_vec())
                        .unwrap_or_default()
                })
            })
            .await?;
        let key = Arc::new(
            IssuerKey::from_pkcs8(&der)
                .map_err(|e| ApiError::Internal(format!("issuer key: {e}")))?,
        );
        self.lock_keys()
            .entry(name.to_owned())
            .or_insert(key.clone());
        Ok(key)
    }

    /// `kid` and verification key of issuer `name`.
    pub async fn decoding_key(
        &self,
        store: &Store,
        name: &str,
    ) -> Result<(String, DecodingKey), ApiError> {
        let k = self.key(store, name).await?;
        Ok((k.kid.clone(), k.decoding.clone()))
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<IssuerKey>>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_runners(&self) -> std::sync::MutexGuard<'_, HashMap<String, Runner>> {
        self.runners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signs `claims` (which must hold `iss`, `sub`, `aud`, `iat`, `nbf`, `exp`) as issuer `name`.
    pub async fn mint(
        &self,
        store: &Store,
        name: &str,
        claims: &Map<String, Value>,
    ) -> Result<String, ApiError> {
        let key = self.key(store, name).await?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| ApiError::Internal(format!("cannot sign a test OIDC token: {e}")))
    }

    /// Hands out a runner; returns its request token.
    pub fn add_runner(&self, runner: Runner) -> String {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        self.lock_runners().insert(token.clone(), runner);
        token
    }

    /// The runner a request token belongs to.
    pub fn runner(&self, request_token: &str) -> Option<Runner> {
        self.lock_runners().get(request_token).cloned()
    }
}

/// The claims of a GitHub-shaped token: standard ones plus `extra`, issued `issued_ago` seconds
/// ago and valid for `lifetime` seconds from then.
pub fn token_claims(
    issuer: &str,
    subject: &str,
    audience: &str,
    now: i64,
    issued_ago: i64,
    lifetime: i64,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let iat = now - issued_ago;
    let mut claims = Map::new();
    for (k, v) in extra {
        claims.insert(k.clone(), v.clone());
    }
    for (k, v) in [
        ("iss", json!(issuer)),
        ("sub", json!(subject)),
        ("aud", json!(audience)),
        ("iat", json!(iat)),
        ("nbf", json!(iat)),
        ("exp", json!(iat + lifetime)),
        ("jti", json!(uuid::Uuid::new_v4().to_string())),
    ] {
        claims.insert(k.to_owned(), v);
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_names_are_recognised_only_under_our_base() {
        let i = Issuers::default();
        let base = "http://127.0.0.1:4000";
        assert_eq!(
            i.name_of("http://127.0.0.1:4000/_sandbox/oidc/github", base),
            Some("github")
        );
        assert_eq!(
            i.name_of("http://127.0.0.1:4001/_sandbox/oidc/github", base),
            None
        );
        assert_eq!(
            i.name_of("http://127.0.0.1:4000/_sandbox/oidc/a/b", base),
            None
        );
        assert!(!valid_name(""));
        assert!(valid_name("ado_1-x"));
    }
}
