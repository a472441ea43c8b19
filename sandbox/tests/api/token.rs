//! Token endpoint (reference §9.1) and Graph authentication/authorization.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mto_sandbox::auth::Claims;
use serde_json::{Value, json};

use crate::harness::*;

const SCOPE: &str = "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";

fn form(t: &Tenant, secret: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={}&client_secret={secret}&{SCOPE}",
        t.client
    )
}

fn check_aadsts(r: &Resp, status: u16, error: &str, code: u32) {
    r.expect(status);
    assert_eq!(r.json["error"], error, "{}", r.text);
    assert_eq!(r.json["error_codes"], json!([code]));
    let desc = r.json["error_description"].as_str().unwrap();
    assert!(desc.starts_with(&format!("AADSTS{code}: ")), "{desc}");
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(r.json[k].is_string(), "missing {k}: {}", r.text);
    }
}

#[tokio::test]
async fn token_client_credentials_returns_bearer_jwt() {
    let sb = Sandbox::new();
    let r = sb.token_request(A.id, &form(&A, A.secret)).await;
    r.expect(200);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 3599);
    assert_eq!(r.json["ext_expires_in"], 3599);
    let tok = r.json["access_token"].as_str().unwrap();
    let parts: Vec<&str> = tok.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["tid"], A.id);
    assert_eq!(claims["appid"], A.client);
    assert!(
        claims["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("User.ReadWrite.All"))
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn token_accepts_domain_in_path_and_http_basic_credentials() {
    let sb = Sandbox::new();
    let basic = STANDARD.encode(format!("{}:{}", A.client, A.secret));
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/{}/oauth2/v2.0/token", A.domain))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!(
            "grant_type=client_credentials&{SCOPE}"
        )))
        .unwrap();
    sb.send(req).await.expect(200);
}

#[tokio::test]
async fn token_unknown_tenant_is_400_aadsts90002() {
    let sb = Sandbox::new();
    let r = sb
        .token_request("dddddddd-0000-4000-8000-00000000000d", &form(&A, A.secret))
        .await;
    check_aadsts(&r, 400, "invalid_request", 90002);
}

#[tokio::test]
async fn token_unknown_app_is_400_aadsts700016() {
    let sb = Sandbox::new();
    let f = format!(
        "grant_type=client_credentials&client_id=dddddddd-1111-4000-8000-00000000000d&client_secret=x&{SCOPE}"
    );
    check_aadsts(
        &sb.token_request(A.id, &f).await,
        400,
        "unauthorized_client",
        700016,
    );
}

#[tokio::test]
async fn token_wrong_secret_is_401_aadsts7000215_without_echoing_the_secret() {
    let sb = Sandbox::new();
    let r = sb
        .token_request(A.id, &form(&A, "not-the-secret-123"))
        .await;
    check_aadsts(&r, 401, "invalid_client", 7000215);
    assert!(!r.text.contains("not-the-secret-123"));
    assert!(!r.text.contains(A.secret));
}

#[tokio::test]
async fn token_bad_grant_type_is_unsupported_grant_type_aadsts70003() {
    let sb = Sandbox::new();
    let f = format!(
        "grant_type=password&client_id={}&client_secret={}&{SCOPE}",
        A.client, A.secret
    );
    check_aadsts(
        &sb.token_request(A.id, &f).await,
        400,
        "unsupported_grant_type",
        70003,
    );
    let f = format!("client_id={}&client_secret={}&{SCOPE}", A.client, A.secret);
    check_aadsts(
        &sb.token_request(A.id, &f).await,
        400,
        "invalid_request",
        900144,
    );
}

#[tokio::test]
async fn token_non_graph_scope_is_invalid_scope_aadsts70011() {
    let sb = Sandbox::new();
    let f = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        A.client, A.secret
    );
    check_aadsts(
        &sb.token_request(A.id, &f).await,
        400,
        "invalid_scope",
        70011,
    );
    // The sandbox's own origin counts as Graph.
    let f = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=http%3A%2F%2Fsandbox.test%2F.default",
        A.client, A.secret
    );
    sb.token_request(A.id, &f).await.expect(200);
}

#[tokio::test]
async fn token_of_tenant_a_is_refused_in_tenant_b() {
    let sb = Sandbox::new();
    // A's app does not exist in B's directory.
    check_aadsts(
        &sb.token_request(B.id, &form(&A, A.secret)).await,
        400,
        "unauthorized_client",
        700016,
    );
    // A's token only ever sees A: B's user id is unknown there.
    let ta = sb.token(&A).await;
    let r = sb
        .get("/v1.0/users/bbbbbbbb-3333-4000-8000-000000000001", &ta)
        .await;
    r.expect(404);
    assert_eq!(r.code(), "Request_ResourceNotFound");
    let names: Vec<String> = sb.get("/v1.0/users", &ta).await.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["annie@contosoa.onmicrosoft.com".to_string()]);
    let org = sb.get("/v1.0/organization", &ta).await;
    assert_eq!(org.json["value"][0]["id"], A.id);
}

#[tokio::test]
async fn token_with_tenant_claim_rewritten_to_b_is_401() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let parts: Vec<&str> = ta.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["tid"] = json!(B.id);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let r = sb.get("/v1.0/users", &forged).await;
    r.expect(401);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
}

#[tokio::test]
async fn graph_call_without_token_is_401_invalid_authentication_token() {
    let sb = Sandbox::new();
    let r = sb.call("GET", "/v1.0/users", None, None).await;
    r.expect(401);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert!(r.header("www-authenticate").is_some());
}

#[tokio::test]
async fn garbled_token_is_401_invalid_authentication_token() {
    let sb = Sandbox::new();
    for bad in ["garbage", "a.b.c", "a.b"] {
        let r = sb.get("/v1.0/users", bad).await;
        r.expect(401);
        assert_eq!(r.code(), "InvalidAuthenticationToken");
    }
}

#[tokio::test]
async fn expired_token_is_401_invalid_authentication_token() {
    let sb = Sandbox::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = Claims {
        aud: "https://graph.microsoft.com".into(),
        iss: String::new(),
        iat: now - 7200,
        nbf: now - 7200,
        exp: now - 60,
        appid: A.client.into(),
        idtyp: "app".into(),
        oid: String::new(),
        roles: vec!["User.Read.All".into()],
        sub: String::new(),
        tid: A.id.into(),
        uti: String::new(),
        ver: "1.0".into(),
    };
    let expired = sb.state.token_key.sign_claims(&claims);
    let r = sb.get("/v1.0/users", &expired).await;
    r.expect(401);
    assert!(r.message().contains("expired"), "{}", r.text);
}

#[tokio::test]
async fn missing_permission_is_403_authorization_request_denied() {
    let sb = Sandbox::new();
    let reader = sb.token(&READER_A).await;
    sb.get("/v1.0/users", &reader).await.expect(200);
    for path in [
        MTO.to_string(),
        format!("{CTAP}/partners"),
        "/v1.0/groups".into(),
    ] {
        let r = sb.get(&path, &reader).await;
        r.expect(403);
        assert_eq!(r.code(), "Authorization_RequestDenied");
        assert_eq!(
            r.message(),
            "Insufficient privileges to complete the operation."
        );
    }
    let r = sb
        .call(
            "POST",
            "/v1.0/users",
            Some(&reader),
            Some(json!({"accountEnabled": true, "displayName": "x", "mailNickname": "x",
                        "userPrincipalName": "x@contosoa.onmicrosoft.com", "passwordProfile": {"password": "P@ss"}})),
        )
        .await;
    r.expect(403);
}

#[tokio::test]
async fn directory_readwrite_all_implies_user_read_and_write() {
    let sb = Sandbox::new();
    // B's app holds Directory.ReadWrite.All but no User.* permission.
    let tb = sb.token(&B).await;
    sb.get("/v1.0/users", &tb).await.expect(200);
    sb.get("/v1.0/groups", &tb).await.expect(200);
    sb.call(
        "POST",
        "/v1.0/users",
        Some(&tb),
        Some(json!({"accountEnabled": true, "displayName": "New", "mailNickname": "new",
                    "userPrincipalName": "new@contosob.onmicrosoft.com", "passwordProfile": {"password": "P@ssw0rd!"}})),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn tokens_survive_a_restart_with_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let sb = Sandbox::build(Some(dir.path()), Default::default(), JOIN_DELAY);
        sb.token(&A).await
    };
    let sb = Sandbox::build(Some(dir.path()), Default::default(), JOIN_DELAY);
    sb.get("/v1.0/users", &token).await.expect(200);
    // A fresh in-memory sandbox has another key.
    let other = Sandbox::new();
    other.get("/v1.0/users", &token).await.expect(401);
}
