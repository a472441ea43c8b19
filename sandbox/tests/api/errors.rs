//! Error shapes and cross-cutting headers (§9.2), admin endpoints.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::harness::*;

fn assert_graph_error(r: &Resp) {
    let inner = &r.json["error"]["innerError"];
    assert!(r.json["error"]["code"].is_string(), "{}", r.text);
    assert!(r.json["error"]["message"].is_string(), "{}", r.text);
    let date = inner["date"].as_str().unwrap();
    assert_eq!(date.len(), 19, "date like 2024-03-01T10:00:00: {date}");
    assert_eq!(inner["request-id"].as_str(), r.header("request-id"));
    assert!(inner["client-request-id"].is_string());
}

#[tokio::test]
async fn unknown_segment_is_400_resource_not_found_for_the_segment() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.get("/v1.0/notAThing", &ta).await;
    r.expect(400);
    assert_eq!(r.code(), "BadRequest");
    assert_eq!(
        r.message(),
        "Resource not found for the segment 'notAThing'."
    );
    assert_graph_error(&r);
    let r = sb
        .get(
            "/v1.0/tenantRelationships/multiTenantOrganization/nope",
            &ta,
        )
        .await;
    assert_eq!(r.message(), "Resource not found for the segment 'nope'.");
    let r = sb.get("/beta/users/x/nope", &ta).await;
    assert_eq!(r.message(), "Resource not found for the segment 'nope'.");
}

#[tokio::test]
async fn unknown_path_outside_graph_versions_is_404_graph_shaped() {
    let sb = Sandbox::new();
    let r = sb.call("GET", "/v2.0/users", None, None).await;
    r.expect(404);
    assert_graph_error(&r);
}

#[tokio::test]
async fn wrong_method_is_405_graph_shaped() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .call("PUT", "/v1.0/users", Some(&ta), Some(json!({})))
        .await;
    r.expect(405);
    assert_graph_error(&r);
    let r = sb
        .call("GET", &format!("/{}/oauth2/v2.0/token", A.id), None, None)
        .await;
    r.expect(405);
}

#[tokio::test]
async fn malformed_json_is_400_bad_request() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    for body in ["{not json", "", "[1,2]"] {
        let req = Request::builder()
            .method("PATCH")
            .uri("/v1.0/users/annie@contosoa.onmicrosoft.com")
            .header("authorization", format!("Bearer {ta}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let r = sb.send(req).await;
        r.expect(400);
        assert_eq!(r.code(), "BadRequest", "{body}: {}", r.text);
        assert_graph_error(&r);
    }
}

#[tokio::test]
async fn every_response_has_request_id_and_echoes_client_request_id() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let req = Request::builder()
        .uri("/v1.0/users/nobody@contosoa.onmicrosoft.com")
        .header("authorization", format!("Bearer {ta}"))
        .header("client-request-id", "my-correlation-42")
        .body(Body::empty())
        .unwrap();
    let r = sb.send(req).await;
    r.expect(404);
    assert_eq!(r.header("client-request-id"), Some("my-correlation-42"));
    assert_eq!(
        r.json["error"]["innerError"]["client-request-id"],
        "my-correlation-42"
    );
    assert!(r.header("request-id").is_some());
    let ok = sb.get("/v1.0/users", &ta).await;
    assert!(ok.header("request-id").is_some());
    assert_eq!(ok.header("request-id"), ok.header("client-request-id"));
}

#[tokio::test]
async fn admin_health_is_ok() {
    let sb = Sandbox::new();
    let r = sb.call("GET", "/_sandbox/health", None, None).await;
    r.expect(200);
    assert_eq!(r.json, json!({"status": "ok"}));
}

#[tokio::test]
async fn stats_count_by_route_template_and_reset() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("POST", "/_sandbox/stats/reset", None, None)
        .await
        .expect(204);
    sb.get("/v1.0/users/annie@contosoa.onmicrosoft.com", &ta)
        .await
        .expect(200);
    sb.get("/v1.0/users/nobody@contosoa.onmicrosoft.com", &ta)
        .await
        .expect(404);
    sb.get("/beta/users", &ta).await.expect(200);
    sb.get(&format!("{CTAP}/partners/{}", B.id), &ta)
        .await
        .expect(404);
    let s = sb.call("GET", "/_sandbox/stats", None, None).await.json;
    assert_eq!(s["total"], 4);
    assert_eq!(s["routes"]["GET /v1.0/users/{id}"], 2);
    assert_eq!(s["routes"]["GET /beta/users"], 1);
    assert_eq!(
        s["routes"]["GET /v1.0/policies/crossTenantAccessPolicy/partners/{tenantId}"],
        1
    );
    assert!(s["since"].as_str().unwrap().ends_with('Z'));
    assert!(
        s["routes"].get("GET /_sandbox/stats").is_none(),
        "admin calls are not counted"
    );
    sb.call("POST", "/_sandbox/stats/reset", None, None)
        .await
        .expect(204);
    let s = sb.call("GET", "/_sandbox/stats", None, None).await.json;
    assert_eq!(s["total"], 0);
    assert_eq!(s["routes"], json!({}));
}

#[test]
fn docs_permission_table_matches_code() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/sandbox.md"),
    )
    .expect("docs/sandbox.md");
    for (access, what, perms) in mto_sandbox::auth::PERMISSIONS {
        let expected = format!(
            "| {what} | {} |",
            perms
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(
            doc.contains(&expected),
            "docs/sandbox.md lacks the row for {access:?}: {expected}"
        );
    }
}

#[tokio::test]
async fn framework_rejections_are_graph_shaped_too() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    // Invalid UTF-8 after percent-decoding a path parameter.
    let r = sb.get("/v1.0/users/%E0%A4%A", &ta).await;
    r.expect(400);
    assert_graph_error(&r);
    // An oversized token request body (over Graph's 4 MB limit) is 413 with Graph's shape.
    let big = "a".repeat(5 * 1024 * 1024);
    let r = sb.token_request(A.id, &big).await;
    r.expect(413);
    assert_graph_error(&r);
    // The bare version root.
    sb.get("/v1.0", &ta).await.expect(404);
}
