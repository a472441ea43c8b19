//! How one tenant's app proves who it is to the Microsoft identity platform: a client secret,
//! a certificate (a signed client assertion), a federated OIDC token (workload identity
//! federation), or a managed identity.
//!
//! Files and certificates are read when the provider is configured, so a wrong path or password
//! is reported on its attribute before anything is planned. OIDC tokens are fetched (or their
//! file re-read) for every token request, because pipeline tokens live minutes and token files
//! are rotated. Nothing here is ever logged: [`Secret`] and [`ClientCertificate`] print as
//! `<redacted>`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

/// The audience GitHub Actions, Azure DevOps and HCP Terraform tokens carry for Entra ID.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Lifetime of a certificate assertion: Microsoft recommends 5–10 minutes after `nbf`.
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// A secret value: a client secret, a password, a token. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A tenant's credential, loaded.
#[derive(Clone, Debug)]
pub enum Credential {
    /// `client_secret` / `client_secret_file_path`.
    Secret(Secret),
    /// `client_certificate` / `client_certificate_path`.
    Certificate(Arc<ClientCertificate>),
    /// `use_oidc`.
    Oidc(OidcSource),
    /// `use_msi`: the token comes from an IMDS-style endpoint.
    ManagedIdentity { endpoint: url::Url },
}

impl Credential {
    /// How the credential is called in messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Secret(_) => "client secret",
            Credential::Certificate(_) => "client certificate",
            Credential::Oidc(_) => "federated OIDC token",
            Credential::ManagedIdentity { .. } => "managed identity",
        }
    }
}

/// Where a federated token comes from.
#[derive(Clone, Debug)]
pub enum OidcSource {
    /// `oidc_token`: used as is.
    Token(Secret),
    /// `oidc_token_file_path`: re-read for every token request (HCP Terraform, Kubernetes).
    File(PathBuf),
    /// GitHub Actions: `GET <url>&audience=api://AzureADTokenExchange` with the request token,
    /// answer `{"value": …}`.
    GitHub { url: url::Url, token: Secret },
    /// Azure DevOps: `POST <url>?api-version=7.1&serviceConnectionId=…` with the job's access
    /// token, answer `{"oidcToken": …}`.
    AzureDevOps {
        url: url::Url,
        token: Secret,
        service_connection_id: String,
    },
}

/// A client certificate and its RSA private key, ready to sign assertions.
pub struct ClientCertificate {
    key: EncodingKey,
    /// base64url SHA-256 thumbprint of the certificate (the `x5t#S256` header).
    x5t_s256: String,
    /// Upper-case hex SHA-1 thumbprint, as the Entra admin center shows it.
    pub thumbprint: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint)
            .field("key", &"<redacted>")
            .finish()
    }
}

const RSA_OID: &str = "1.2.840.113549.1.1.1";

fn pem_of(tag: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(tag, der.to_vec()))
}

impl ClientCertificate {
    /// A PKCS#12 bundle (`.pfx`/`.p12`) or PEM text holding the certificate and its unencrypted
    /// private key. The key must be RSA and belong to the (first) certificate.
    pub fn load(bytes: &[u8], password: Option<&str>) -> Result<ClientCertificate, String> {
        let text = std::str::from_utf8(bytes).ok().map(str::trim_start);
        if text.is_some_and(|t| t.starts_with("-----BEGIN")) {
            return Self::from_pem(text.unwrap_or_default());
        }
        Self::from_pkcs12(bytes, password.unwrap_or(""))
    }

    /// `client_certificate`: base64 PKCS#12 (as azuread takes it) or PEM text.
    pub fn load_inline(value: &str, password: Option<&str>) -> Result<ClientCertificate, String> {
        if value.trim_start().starts_with("-----BEGIN") {
            return Self::from_pem(value);
        }
        let compact: String = value.split_whitespace().collect();
        let der = STANDARD
            .decode(compact)
            .map_err(|_| "is neither base64 (a PKCS#12 bundle) nor PEM".to_owned())?;
        Self::from_pkcs12(&der, password.unwrap_or(""))
    }

    fn from_pkcs12(der: &[u8], password: &str) -> Result<ClientCertificate, String> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| {
            format!("is not a readable PKCS#12 bundle ({e}); check client_certificate_password")
        })?;
        let Some((_, chain)) = store.private_key_chain() else {
            return Err("holds no private key".into());
        };
        let Some(cert) = chain.certs().first() else {
            return Err("holds a private key but no certificate for it".into());
        };
        if chain.key().oid().to_string() != RSA_OID {
            return Err("holds a key that is not RSA; Entra ID client assertions are signed with RSA (PS256)".into());
        }
        Self::from_parts(&pem_of("PRIVATE KEY", chain.key().as_der()), cert.as_der())
    }

    fn from_pem(text: &str) -> Result<ClientCertificate, String> {
        let blocks = pem::parse_many(text).map_err(|e| format!("is not valid PEM ({e})"))?;
        let cert = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or("holds no CERTIFICATE block")?;
        let key = blocks
            .iter()
            .find(|b| b.tag().ends_with("PRIVATE KEY"))
            .ok_or("holds no PRIVATE KEY block")?;
        match key.tag() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" => {}
            "ENCRYPTED PRIVATE KEY" => return Err("holds an encrypted PEM key; use a PKCS#12 bundle with client_certificate_password, or an unencrypted key".into()),
            other => return Err(format!("holds a {other}, not an RSA key; Entra ID client assertions are signed with RSA (PS256)")),
        }
        Self::from_parts(&pem::encode(key), cert.contents())
    }

    fn from_parts(key_pem: &str, cert_der: &[u8]) -> Result<ClientCertificate, String> {
        let key = EncodingKey::from_rsa_pem(key_pem.as_bytes())
            .map_err(|_| "holds a private key that is not an RSA key".to_owned())?;
        let public = DecodingKey::from_rsa_pem(pem_of("CERTIFICATE", cert_der).as_bytes())
            .map_err(|_| "holds a certificate without an RSA public key".to_owned())?;
        // A key that does not belong to the certificate would only fail at Entra, as an
        // invalid signature: check now.
        let probe =
            jsonwebtoken::encode(&Header::new(Algorithm::PS256), &serde_json::json!({}), &key)
                .map_err(|e| format!("cannot sign with its key ({e})"))?;
        let mut validation = Validation::new(Algorithm::PS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&probe, &public, &validation).map_err(|_| {
            "holds a private key that does not belong to its certificate".to_owned()
        })?;
        use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
        Ok(ClientCertificate {
            key,
            x5t_s256: URL_SAFE_NO_PAD.encode(digest(&SHA256, cert_der)),
            thumbprint: digest(&SHA1_FOR_LEGACY_USE_ONLY, cert_der)
                .as_ref()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect(),
        })
    }

    /// A fresh client assertion for `client_id` at `token_endpoint`, as Microsoft's identity
    /// platform documents it: PS256, `x5t#S256`, `aud` = the token endpoint, `iss` = `sub` =
    /// the client id, a new `jti`, `nbf` = `iat` = now, `exp` 10 minutes later.
    pub fn assertion(&self, client_id: &str, token_endpoint: &str) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut header = Header::new(Algorithm::PS256);
        header.x5t_s256 = Some(self.x5t_s256.clone());
        let claims = serde_json::json!({
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the client assertion: {e}"))
    }
}

/// The claims of an access token the provider reads: the granted application permissions and
/// the tenant. `None` when the token is not a readable JWT (Microsoft does not promise access
/// tokens are; Graph's are).
pub fn token_claims(access_token: &str) -> Option<(Vec<String>, Option<String>)> {
    let payload = access_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let roles = match claims.get("roles") {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
        None => Vec::new(),
        Some(_) => return None,
    };
    let tid = claims
        .get("tid")
        .and_then(|t| t.as_str())
        .map(str::to_owned);
    Some((roles, tid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("s3cret");
        assert_eq!(format!("{s:?}"), "<redacted>");
        let c = Credential::Oidc(OidcSource::Token(Secret::new("eyJtoken")));
        assert!(!format!("{c:?}").contains("eyJtoken"));
    }

    #[test]
    fn token_claims_read_roles_and_tenant() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"tid":"t1","roles":["A","B"]}"#);
        assert_eq!(
            token_claims(&format!("x.{payload}.y")),
            Some((vec!["A".into(), "B".into()], Some("t1".into())))
        );
        let none = URL_SAFE_NO_PAD.encode(br#"{"tid":"t1"}"#);
        assert_eq!(
            token_claims(&format!("x.{none}.y")),
            Some((vec![], Some("t1".into())))
        );
        assert_eq!(token_claims("opaque"), None);
    }

    /// A self-signed RSA certificate: (PKCS#8 key DER, certificate DER, PEM of both).
    fn generated() -> (Vec<u8>, Vec<u8>, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["t".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let pem = format!("{}{}", cert.pem(), key.serialize_pem());
        (key.serialize_der(), cert.der().to_vec(), pem)
    }

    fn pkcs12(key: &[u8], cert: &[u8], password: &str) -> Vec<u8> {
        let chain = p12_keystore::PrivateKeyChain::new(
            &b"k1"[..],
            p12_keystore::PrivateKey::from_der(key).unwrap(),
            [p12_keystore::Certificate::from_der(cert).unwrap()],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry("k1", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
        store.writer(password).write().unwrap()
    }

    #[test]
    fn assertions_follow_microsofts_format_from_pkcs12_and_pem() {
        let (key, cert, pem) = generated();
        let from_p12 = ClientCertificate::load(&pkcs12(&key, &cert, "pw"), Some("pw")).unwrap();
        let inline =
            ClientCertificate::load_inline(&STANDARD.encode(pkcs12(&key, &cert, "pw")), Some("pw"))
                .unwrap();
        let from_pem = ClientCertificate::load(pem.as_bytes(), None).unwrap();
        assert_eq!(from_p12.thumbprint, from_pem.thumbprint);
        assert_eq!(inline.x5t_s256, from_pem.x5t_s256);
        let url = "https://login.example/t/oauth2/v2.0/token";
        let a = from_p12.assertion("client-1", url).unwrap();
        let header = jsonwebtoken::decode_header(&a).unwrap();
        assert_eq!(header.alg, Algorithm::PS256);
        use aws_lc_rs::digest::{SHA256, digest};
        assert_eq!(
            header.x5t_s256.unwrap(),
            URL_SAFE_NO_PAD.encode(digest(&SHA256, &cert))
        );
        let public = DecodingKey::from_rsa_pem(pem_of("CERTIFICATE", &cert).as_bytes()).unwrap();
        let mut v = Validation::new(Algorithm::PS256);
        v.set_audience(&[url]);
        v.set_issuer(&["client-1"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(&a, &public, &v)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "client-1");
        let lifetime = claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap();
        assert!(lifetime <= 600, "{lifetime}");
        // A new jti every time.
        let b = from_p12.assertion("client-1", url).unwrap();
        let jti = |t: &str| {
            jsonwebtoken::decode::<serde_json::Value>(t, &public, &v)
                .unwrap()
                .claims["jti"]
                .clone()
        };
        assert_ne!(jti(&a), jti(&b));
        assert!(!format!("{from_p12:?}").contains("PRIVATE"));
    }

    #[test]
    fn a_wrong_password_or_a_foreign_key_is_refused() {
        let (key, cert, _) = generated();
        let e = ClientCertificate::load(&pkcs12(&key, &cert, "pw"), Some("nope")).unwrap_err();
        assert!(e.contains("client_certificate_password"), "{e}");
        let (other_key, _, _) = generated();
        let e = ClientCertificate::load(&pkcs12(&other_key, &cert, "pw"), Some("pw")).unwrap_err();
        assert!(e.contains("does not belong"), "{e}");
    }

    #[test]
    fn unreadable_certificates_say_why() {
        let e = ClientCertificate::load_inline("%%%", None).unwrap_err();
        assert!(e.contains("neither base64"), "{e}");
        let e = ClientCertificate::load(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            None,
        )
        .unwrap_err();
        assert!(e.contains("PRIVATE KEY") || e.contains("PEM"), "{e}");
        let e = ClientCertificate::load(b"\x30\x03\x02\x01\x03", Some("x")).unwrap_err();
        assert!(e.contains("PKCS#12"), "{e}");
    }
}
