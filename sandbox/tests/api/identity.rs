//! Client assertions (certificates and federated tokens), the test OIDC issuers, discovery
//! documents, the managed identity endpoint and the token lifetime.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mto_sandbox::config::Config;
use mto_sandbox::seed;
use serde_json::{Value, json};

use crate::harness::*;

const CERT_APP: &str = "aaaaaaaa-5555-4000-8000-00000000000a";
const FED_APP: &str = "aaaaaaaa-6666-4000-8000-00000000000a";
const MSI_APP: &str = "aaaaaaaa-7777-4000-8000-00000000000a";
const TOKEN_URL: &str =
    "http://sandbox.test/aaaaaaaa-0000-4000-8000-00000000000a/oauth2/v2.0/token";
const SUBJECT: &str = "repo:contoso/mesh:ref:refs/heads/main";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A self-signed RSA certificate and its key.
struct Cert {
    der: Vec<u8>,
    key_pem: String,
}

fn certificate() -> Cert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["mto-test".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    Cert {
        der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
    }
}

fn digest(alg: &'static aws_lc_rs::digest::Algorithm, der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(alg, der).as_ref())
}

/// Tenant A plus an app with `cert` registered, one federated with the test issuer `github`,
/// and a system-assigned managed identity.
async fn sandbox_with(cert: &Cert, config: Config) -> Sandbox {
    let sb = Sandbox::with_settings(Config {
        join_delay: JOIN_DELAY,
        ..config
    });
    let extra = json!({"tenants": [{
        "id": A.id, "displayName": "Contoso A", "initialDomain": A.domain,
        "apps": [
            {"clientId": CERT_APP, "roles": ["User.Read.All"],
             "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(&cert.der)}]},
            {"clientId": FED_APP, "roles": ["Policy.Read.All"],
             "federatedIdentityCredentials": [{"name": "main", "issuer": "/_sandbox/oidc/github",
                                               "subject": SUBJECT, "audiences": ["api://AzureADTokenExchange"]}]},
            {"clientId": MSI_APP, "roles": ["Organization.Read.All"], "managedIdentity": "systemAssigned"}
        ]
    }]});
    let mut parsed: seed::SeedFile = serde_json::from_value(extra).unwrap();
    seed::validate(&mut parsed).unwrap();
    seed::apply(&sb.state.store, &parsed).unwrap();
    sb
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A certificate assertion signed with `key_pem`, naming `cert` by its SHA-256 thumbprint.
fn cert_assertion(cert: &Cert, key_pem: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::PS256);
    header.x5t_s256 = Some(digest(&aws_lc_rs::digest::SHA256, &cert.der));
    let mut body = json!({
        "aud": TOKEN_URL, "iss": CERT_APP, "sub": CERT_APP,
        "jti": uuid::Uuid::new_v4().to_string(), "nbf": now(), "iat": now(), "exp": now() + 600,
    });
    for (k, v) in claims.as_object().unwrap() {
        body[k] = v.clone();
    }
    signed(&header, &body, key_pem)
}

/// `body` signed with the RSA key in `key_pem`.
fn signed(header: &Header, body: &Value, key_pem: &str) -> String {
    jsonwebtoken::encode(
        header,
        body,
        &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn assertion_form(client: &str, assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={client}&client_assertion_type={}&client_assertion={assertion}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        urlencode(JWT_BEARER)
    )
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A GET without a token.
async fn anonymous(sb: &Sandbox, path: &str) -> Resp {
    sb.call("GET", path, None, None).await
}

fn check_aadsts(r: &Resp, code: u32) {
    assert_eq!(r.json["error_codes"], json!([code]), "{}", r.text);
    let desc = r.json["error_description"].as_str().unwrap();
    assert!(desc.starts_with(&format!("AADSTS{code}: ")), "{desc}");
}

#[tokio::test]
async fn a_certificate_assertion_gets_a_token_with_the_apps_roles() {
    let cert = certificate();
    let sb = sandbox_with(&cert, Config::default()).await;
    let r = sb
        .token_request(
            A.id,
            &assertion_form(CERT_APP, &cert_assertion(&cert, &cert.key_pem, json!({}))),
        )
        .await;
    r.expect(200);
    let tok = r.json["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(tok.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["appid"], CERT_APP);
    assert_eq!(claims["roles"], json!(["User.Read.All"]));
    // The legacy SHA-1 `x5t` with RS256 (what older MSAL versions send) works too, and so does
    // the tenant's domain in the audience.
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = Some(digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &cert.der,
    ));
    let body = json!({"aud": format!("http://sandbox.test/{}/oauth2/v2.0/token", A.domain),
        "iss": CERT_APP, "sub": CERT_APP, "jti": "1", "nbf": now(), "exp": now() + 300});
    let legacy = signed(&header, &body, &cert.key_pem);
    sb.token_request(A.id, &assertion_form(CERT_APP, &legacy))
        .await
        .expect(200);
    // As MSAL for Python sends it: a padded thumbprint and fractional times.
    let mut header = Header::new(Algorithm::PS256);
    header.x5t_s256 = Some(
        base64::engine::general_purpose::URL_SAFE
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cert.der).as_ref()),
    );
    let t = now() as f64 + 0.25;
    let body = json!({"aud": TOKEN_URL, "iss": CERT_APP, "sub": CERT_APP, "jti": "2",
        "nbf": t, "iat": t, "exp": t + 600.0});
    let msal_like = signed(&header, &body, &cert.key_pem);
    sb.token_request(A.id, &assertion_form(CERT_APP, &msal_like))
        .await
        .expect(200);
}

#[tokio::test]
async fn certificate_assertion_failures_have_entras_codes() {
    let cert = certificate();
    let other = certificate();
    let sb = sandbox_with(&cert, Config::default()).await;
    let send = async |assertion: String| {
        sb.token_request(A.id, &assertion_form(CERT_APP, &assertion))
            .await
    };
    // An unregistered certificate.
    let r = send(cert_assertion(&other, &other.key_pem, json!({}))).await;
    r.expect(401);
    check_aadsts(&r, 700027);
    assert!(
        r.text.contains("not registered on application"),
        "{}",
        r.text
    );
    // The registered thumbprint but another key.
    check_aadsts(
        &send(cert_assertion(&cert, &other.key_pem, json!({}))).await,
        700027,
    );
    // Another audience.
    let r = send(cert_assertion(
        &cert,
        &cert.key_pem,
        json!({"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token"}),
    ))
    .await;
    check_aadsts(&r, 50027);
    // Expired (beyond the clock skew) and not yet valid.
    let r = send(cert_assertion(
        &cert,
        &cert.key_pem,
        json!({"nbf": now() - 3600, "exp": now() - 1200}),
    ))
    .await;
    check_aadsts(&r, 700024);
    check_aadsts(
        &send(cert_assertion(
            &cert,
            &cert.key_pem,
            json!({"nbf": now() + 3600, "exp": now() + 4000}),
        ))
        .await,
        700024,
    );
    // sub is not iss.
    check_aadsts(
        &send(cert_assertion(
            &cert,
            &cert.key_pem,
            json!({"sub": "someone"}),
        ))
        .await,
        50048,
    );
    // Not a JWT at all.
    let r = send("garbage".into()).await;
    r.expect(400);
    check_aadsts(&r, 50027);
    assert!(!r.text.contains("garbage"));
    // A wrong assertion type.
    let form = assertion_form(CERT_APP, "x").replace(&urlencode(JWT_BEARER), "saml");
    check_aadsts(&sb.token_request(A.id, &form).await, 90023);
}

#[tokio::test]
async fn a_replayed_jti_is_accepted_like_entra_unless_replay_is_rejected() {
    let cert = certificate();
    let assertion = cert_assertion(&cert, &cert.key_pem, json!({"jti": "same"}));
    let lenient = sandbox_with(&cert, Config::default()).await;
    for _ in 0..2 {
        lenient
            .token_request(A.id, &assertion_form(CERT_APP, &assertion))
            .await
            .expect(200);
    }
    let strict = sandbox_with(
        &cert,
        Config {
            reject_assertion_replay: true,
            ..Config::default()
        },
    )
    .await;
    strict
        .token_request(A.id, &assertion_form(CERT_APP, &assertion))
        .await
        .expect(200);
    let r = strict
        .token_request(A.id, &assertion_form(CERT_APP, &assertion))
        .await;
    r.expect(401);
    check_aadsts(&r, 50027);
    assert!(r.text.contains("already used"), "{}", r.text);
}

/// A token of the test issuer `issuer`.
async fn oidc_token(sb: &Sandbox, issuer: &str, body: Value) -> String {
    let r = sb
        .call(
            "POST",
            &format!("/_sandbox/oidc/{issuer}/token"),
            None,
            Some(body),
        )
        .await;
    r.expect(200);
    r.json["value"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_federated_token_of_the_test_issuer_gets_a_token() {
    let cert = certificate();
    let sb = sandbox_with(&cert, Config::default()).await;
    let token = oidc_token(&sb, "github", json!({"subject": SUBJECT})).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    // Its issuer publishes discovery and keys as a relying party expects.
    let d = anonymous(
        &sb,
        "/_sandbox/oidc/github/.well-known/openid-configuration",
    )
    .await;
    d.expect(200);
    assert_eq!(d.json["issuer"], "http://sandbox.test/_sandbox/oidc/github");
    let jwks = sb
        .call("GET", "/_sandbox/oidc/github/.well-known/jwks", None, None)
        .await;
    assert_eq!(jwks.json["keys"][0]["kid"].as_str(), header.kid.as_deref());
    sb.token_request(A.id, &assertion_form(FED_APP, &token))
        .await
        .expect(200);
}

#[tokio::test]
async fn federated_token_failures_have_entras_codes() {
    let cert = certificate();
    let sb = sandbox_with(&cert, Config::default()).await;
    let send = async |client: &str, token: String| {
        sb.token_request(A.id, &assertion_form(client, &token))
            .await
    };
    let subject = json!({"subject": SUBJECT});
    // An issuer the app does not trust.
    let r = send(FED_APP, oidc_token(&sb, "evil", subject.clone()).await).await;
    check_aadsts(&r, 700211);
    assert!(r.text.contains("/_sandbox/oidc/evil"), "{}", r.text);
    // Another subject, another audience.
    check_aadsts(
        &send(
            FED_APP,
            oidc_token(
                &sb,
                "github",
                json!({"subject": "repo:contoso/other:ref:refs/heads/main"}),
            )
            .await,
        )
        .await,
        700213,
    );
    check_aadsts(
        &send(
            FED_APP,
            oidc_token(
                &sb,
                "github",
                json!({"subject": SUBJECT, "audience": "api://Other"}),
            )
            .await,
        )
        .await,
        700212,
    );
    // Expired.
    check_aadsts(
        &send(
            FED_APP,
            oidc_token(
                &sb,
                "github",
                json!({"subject": SUBJECT, "issuedAgo": "30m", "lifetime": "5m"}),
            )
            .await,
        )
        .await,
        700024,
    );
    // Signed by another issuer's key but claiming the trusted one.
    let evil = oidc_token(&sb, "evil", subject.clone()).await;
    let parts: Vec<&str> = evil.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["iss"] = json!("http://sandbox.test/_sandbox/oidc/github");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    check_aadsts(&send(FED_APP, forged).await, 50027);
    // An app without federated credentials.
    check_aadsts(
        &send(CERT_APP, oidc_token(&sb, "github", subject).await).await,
        70025,
    );
}

#[tokio::test]
async fn runners_hand_out_tokens_as_github_and_azure_devops_do() {
    let cert = certificate();
    let sb = sandbox_with(&cert, Config::default()).await;
    let r = sb
        .call(
            "POST",
            "/_sandbox/oidc/github/runner",
            None,
            Some(json!({"subject": SUBJECT, "serviceConnectionId": "sc-1"})),
        )
        .await;
    r.expect(200);
    let url = r.json["requestUrl"].as_str().unwrap().to_owned();
    let request_token = r.json["requestToken"].as_str().unwrap().to_owned();
    let path = url.strip_prefix("http://sandbox.test").unwrap();
    // GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...
    let gh = sb
        .call(
            "GET",
            &format!("{path}&audience=api%3A%2F%2FAzureADTokenExchange"),
            Some(&request_token),
            None,
        )
        .await;
    gh.expect(200);
    let token = gh.json["value"].as_str().unwrap();
    sb.token_request(A.id, &assertion_form(FED_APP, token))
        .await
        .expect(200);
    // Azure DevOps: POST $SYSTEM_OIDCREQUESTURI?api-version=7.1&serviceConnectionId=...
    let ado = sb
        .call(
            "POST",
            "/_sandbox/oidc/github/idtoken?api-version=7.1&serviceConnectionId=sc-1",
            Some(&request_token),
            None,
        )
        .await;
    ado.expect(200);
    sb.token_request(
        A.id,
        &assertion_form(FED_APP, ado.json["oidcToken"].as_str().unwrap()),
    )
    .await
    .expect(200);
    sb.call(
        "POST",
        "/_sandbox/oidc/github/idtoken?serviceConnectionId=sc-2",
        Some(&request_token),
        None,
    )
    .await
    .expect(403);
    sb.call("GET", path, Some("wrong"), None).await.expect(401);
}

#[tokio::test]
async fn discovery_documents_point_at_the_sandbox() {
    let sb = Sandbox::new();
    let r = anonymous(
        &sb,
        &format!("/{}/v2.0/.well-known/openid-configuration", A.domain),
    )
    .await;
    r.expect(200);
    assert_eq!(
        r.json["token_endpoint"],
        format!("http://sandbox.test/{}/oauth2/v2.0/token", A.id)
    );
    assert_eq!(
        r.json["issuer"],
        format!("http://sandbox.test/{}/v2.0", A.id)
    );
    let r = anonymous(
        &sb,
        "/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration",
    )
    .await;
    r.expect(400);
    assert_eq!(r.json["error_codes"], json!([90002]));
    let r = anonymous(&sb, &format!("/common/discovery/instance?api-version=1.1&authorization_endpoint=https%3A%2F%2Fsandbox.test%2F{}%2Foauth2%2Fv2.0%2Fauthorize", A.id)).await;
    r.expect(200);
    assert_eq!(
        r.json["tenant_discovery_endpoint"],
        format!(
            "http://sandbox.test/{}/v2.0/.well-known/openid-configuration",
            A.id
        )
    );
    let r = sb
        .call("GET", "/common/discovery/instance?authorization_endpoint=https%3A%2F%2Fevil.example%2Fx%2Foauth2%2Fv2.0%2Fauthorize", None, None)
        .await;
    r.expect(400);
    assert_eq!(r.json["error"], "invalid_instance");
}

async fn imds(sb: &Sandbox, query: &str, metadata: bool) -> Resp {
    let mut b = Request::builder()
        .uri(format!("/metadata/identity/oauth2/token?{query}"))
        .header("host", "sandbox.test");
    if metadata {
        b = b.header("metadata", "true");
    }
    sb.send(b.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_managed_identity_endpoint_follows_imds() {
    let cert = certificate();
    let sb = sandbox_with(&cert, Config::default()).await;
    let q = "api-version=2018-02-01&resource=https%3A%2F%2Fgraph.microsoft.com%2F";
    let r = imds(&sb, q, true).await;
    r.expect(200);
    assert_eq!(r.json["client_id"], MSI_APP);
    assert_eq!(r.json["expires_in"], "3599");
    assert_eq!(r.json["resource"], "https://graph.microsoft.com/");
    let token = r.json["access_token"].as_str().unwrap();
    sb.get("/v1.0/organization", token).await.expect(200);
    imds(&sb, &format!("{q}&client_id={MSI_APP}"), true)
        .await
        .expect(200);
    let r = imds(&sb, q, false).await;
    r.expect(400);
    assert_eq!(r.json["error"], "bad_request_102");
    let r = imds(&sb, &format!("{q}&client_id={CERT_APP}"), true).await;
    r.expect(400);
    assert_eq!(r.json["error_description"], "Identity not found");
    let r = imds(
        &sb,
        "api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F",
        true,
    )
    .await;
    assert_eq!(r.json["error"], "invalid_resource");
}

#[tokio::test]
async fn token_lifetime_is_configurable_and_expired_tokens_are_refused() {
    let sb = Sandbox::with_settings(Config {
        token_lifetime: Duration::from_secs(1),
        ..Config::default()
    });
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        A.client, A.secret
    );
    let r = sb.token_request(A.id, &form).await;
    assert_eq!(r.json["expires_in"], 1);
    let token = r.json["access_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = sb.get("/v1.0/users", &token).await;
    r.expect(401);
    assert!(r.text.contains("expired"), "{}", r.text);
}

#[test]
fn the_seed_refuses_apps_without_credentials_and_bad_federated_credentials() {
    let parse = |app: Value| {
        let mut s: seed::SeedFile = serde_json::from_value(json!({"tenants": [{
            "id": A.id, "displayName": "A", "initialDomain": A.domain, "apps": [app]}]}))
        .unwrap();
        seed::validate(&mut s).err().map(|e| e.to_string())
    };
    let e = parse(json!({"clientId": CERT_APP})).unwrap();
    assert!(e.contains("no credential"), "{e}");
    let e = parse(
        json!({"clientId": CERT_APP, "federatedIdentityCredentials": [
        {"name": "x", "issuer": "https://i", "subject": "s", "audiences": ["a", "b"]}]}),
    )
    .unwrap();
    assert!(e.contains("exactly one audience"), "{e}");
    let e = parse(json!({"clientId": CERT_APP, "keyCredentials": [{"key": "bm90IGEgY2VydA=="}]}))
        .unwrap();
    assert!(e.contains("keyCredentials[0].key"), "{e}");
}
