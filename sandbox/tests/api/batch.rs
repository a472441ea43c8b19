//! JSON batching (§9.6).

use mto_sandbox::config::FaultSpec;
use serde_json::{Value, json};

use crate::harness::*;

fn find<'a>(r: &'a Resp, id: &str) -> &'a Value {
    r.json["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {}", r.text))
}

#[tokio::test]
async fn batch_runs_inner_requests_with_the_outer_token() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": [
                {"id": "1", "method": "GET", "url": "/users/annie@contosoa.onmicrosoft.com?$select=displayName"},
                {"id": "2", "method": "GET", "url": "users/nobody@contosoa.onmicrosoft.com"},
                {"id": "3", "method": "PATCH", "url": "/users/annie@contosoa.onmicrosoft.com",
                 "headers": {"Content-Type": "application/json"}, "body": {"jobTitle": "Batch"}}
            ]})),
        )
        .await;
    r.expect(200);
    assert_eq!(find(&r, "1")["status"], 200);
    assert_eq!(find(&r, "1")["body"]["displayName"], "Annie Archer");
    assert_eq!(
        find(&r, "1")["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .split(';')
            .next(),
        Some("application/json")
    );
    assert_eq!(find(&r, "2")["status"], 404);
    assert_eq!(
        find(&r, "2")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(find(&r, "3")["status"], 204);
    assert!(find(&r, "3").get("body").is_none());
    let u = sb
        .get(
            "/v1.0/users/annie@contosoa.onmicrosoft.com?$select=jobTitle",
            &ta,
        )
        .await;
    assert_eq!(u.json["jobTitle"], "Batch");
}

#[tokio::test]
async fn batch_inner_requests_are_authorized_with_the_outer_token_permissions() {
    let sb = Sandbox::new();
    let reader = sb.token(&READER_A).await;
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&reader),
            Some(json!({"requests": [{"id": "1", "method": "GET", "url": "/groups"}]})),
        )
        .await;
    r.expect(200);
    assert_eq!(find(&r, "1")["status"], 403);
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            None,
            Some(json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}]})),
        )
        .await;
    r.expect(401);
}

#[tokio::test]
async fn batch_with_more_than_20_requests_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let reqs: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": reqs})),
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "BadRequest");
    let reqs: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    sb.call(
        "POST",
        "/v1.0/$batch",
        Some(&ta),
        Some(json!({"requests": reqs})),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn batch_with_duplicate_ids_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": [{"id": "a", "method": "GET", "url": "/users"}, {"id": "A", "method": "GET", "url": "/users"}]})),
        )
        .await;
    r.expect(400);
}

#[tokio::test]
async fn batch_body_without_content_type_or_unknown_dependency_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call(
        "POST",
        "/v1.0/$batch",
        Some(&ta),
        Some(json!({"requests": [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {"a": 1}}]})),
    )
    .await
    .expect(400);
    sb.call(
        "POST",
        "/v1.0/$batch",
        Some(&ta),
        Some(json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]})),
    )
    .await
    .expect(400);
    sb.call("POST", "/v1.0/$batch", Some(&ta), Some(json!({"nope": []})))
        .await
        .expect(400);
}

#[tokio::test]
async fn batch_depends_on_orders_execution() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": [
                {"id": "read", "method": "GET", "url": "/users/dep@contosoa.onmicrosoft.com", "dependsOn": ["create"]},
                {"id": "create", "method": "POST", "url": "/users", "headers": {"content-type": "application/json"},
                 "body": {"accountEnabled": true, "displayName": "Dep", "mailNickname": "dep",
                          "userPrincipalName": "dep@contosoa.onmicrosoft.com", "passwordProfile": {"password": "x"}}}
            ]})),
        )
        .await;
    r.expect(200);
    let ids: Vec<&str> = r.json["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["create", "read"]);
    assert_eq!(find(&r, "create")["status"], 201);
    assert_eq!(find(&r, "read")["status"], 200);
}

#[tokio::test]
async fn batch_dependent_of_failed_request_gets_424() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": [
                {"id": "1", "method": "GET", "url": "/users/missing@contosoa.onmicrosoft.com"},
                {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]},
                {"id": "3", "method": "GET", "url": "/users", "dependsOn": ["2"]},
                {"id": "4", "method": "GET", "url": "/users"}
            ]})),
        )
        .await;
    r.expect(200);
    assert_eq!(find(&r, "1")["status"], 404);
    assert_eq!(find(&r, "2")["status"], 424);
    assert_eq!(
        find(&r, "3")["status"],
        424,
        "failure propagates down the chain"
    );
    assert_eq!(find(&r, "4")["status"], 200);
    assert!(find(&r, "2")["body"]["error"]["code"].is_string());
}

#[tokio::test]
async fn batch_counts_once_outside_and_each_inner_request_in_batch_inner() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("POST", "/_sandbox/stats/reset", None, None)
        .await
        .expect(204);
    sb.call(
        "POST",
        "/v1.0/$batch",
        Some(&ta),
        Some(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/users/annie@contosoa.onmicrosoft.com"},
            {"id": "2", "method": "GET", "url": "/users/annie@contosoa.onmicrosoft.com"},
            {"id": "3", "method": "GET", "url": "/users"}
        ]})),
    )
    .await
    .expect(200);
    let s = sb.call("GET", "/_sandbox/stats", None, None).await.json;
    assert_eq!(s["total"], 1);
    assert_eq!(s["routes"]["POST /v1.0/$batch"], 1);
    assert_eq!(s["batchInner"]["GET /v1.0/users/{id}"], 2);
    assert_eq!(s["batchInner"]["GET /v1.0/users"], 1);
}

#[tokio::test]
async fn batch_inner_429_carries_its_own_retry_after_header() {
    // Fault draws: the outer request draws first, then each inner one.
    let sb = Sandbox::with_faults(FaultSpec::default());
    let ta = sb.token(&A).await;
    let reqs: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    // Throttle inner requests only: find a seed whose first draw passes and later draws throttle.
    let mut found = false;
    for seed in 0..50u64 {
        sb.call(
            "PUT",
            "/_sandbox/faults",
            None,
            Some(json!({"throttle": 0.5, "seed": seed})),
        )
        .await
        .expect(200);
        let r = sb
            .call(
                "POST",
                "/v1.0/$batch",
                Some(&ta),
                Some(json!({"requests": reqs.clone()})),
            )
            .await;
        if r.status != 200 {
            assert_eq!(r.status, 429, "outer throttled: {}", r.text);
            continue;
        }
        let throttled: Vec<&Value> = r.json["responses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["status"] == 429)
            .collect();
        assert!(
            !throttled.is_empty(),
            "with p=0.5 some of 20 inner requests are throttled"
        );
        for t in throttled {
            assert_eq!(t["headers"]["Retry-After"], "1");
            assert_eq!(t["body"]["error"]["code"], "TooManyRequests");
        }
        found = true;
        break;
    }
    assert!(found);
}
