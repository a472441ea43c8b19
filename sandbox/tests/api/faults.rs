//! Fault injection (§9.3 throttling, §9.4 replication lag).

use std::time::{Duration, Instant};

use mto_sandbox::config::FaultSpec;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn faults_throttle_is_429_with_retry_after_and_graph_body() {
    let sb = Sandbox::with_faults(FaultSpec {
        throttle: 1.0,
        ..Default::default()
    });
    let ta = sb.token(&A).await; // the token endpoint is never faulted
    let r = sb.get("/v1.0/users", &ta).await;
    r.expect(429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.code(), "TooManyRequests");
    assert_eq!(r.message(), "Please retry again later.");
    assert_eq!(r.json["error"]["innerError"]["status"], "429");
    // Admin routes are not faulted.
    sb.call("GET", "/_sandbox/health", None, None)
        .await
        .expect(200);
}

#[tokio::test]
async fn faults_unavailable_is_503_with_retry_after() {
    let sb = Sandbox::with_faults(FaultSpec {
        unavailable: 1.0,
        ..Default::default()
    });
    let ta = sb.token(&A).await;
    let r = sb.get("/v1.0/users", &ta).await;
    r.expect(503);
    assert_eq!(r.code(), "ServiceUnavailable");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn faults_same_seed_gives_same_sequence() {
    let run = async |seed: u64| -> Vec<u16> {
        let sb = Sandbox::with_faults(FaultSpec {
            throttle: 0.3,
            unavailable: 0.2,
            seed,
            ..Default::default()
        });
        let ta = sb.token(&A).await;
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(sb.get("/v1.0/users", &ta).await.status);
        }
        out
    };
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert_ne!(a, run(43).await);
    assert!(
        a.contains(&429) && a.contains(&503) && a.contains(&200),
        "{a:?}"
    );
}

#[tokio::test]
async fn faults_latency_delays_graph_requests() {
    let sb = Sandbox::with_faults(FaultSpec {
        latency: Duration::from_millis(120),
        ..Default::default()
    });
    let ta = sb.token(&A).await;
    let start = Instant::now();
    sb.get("/v1.0/users", &ta).await.expect(200);
    assert!(start.elapsed() >= Duration::from_millis(120));
    // (Admin routes are not faulted: see faults_throttle_is_429_with_retry_after_and_graph_body.)
}

#[tokio::test]
async fn faults_latency_delays_a_batch_once_not_once_per_request_inside_it() {
    let latency = Duration::from_millis(150);
    let sb = Sandbox::with_faults(FaultSpec {
        latency,
        ..Default::default()
    });
    let ta = sb.token(&A).await;
    let requests: Vec<_> = (1..=8)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$top=1"}))
        .collect();
    let start = Instant::now();
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": requests})),
        )
        .await;
    let took = start.elapsed();
    r.expect(200);
    let statuses: Vec<_> = r.json["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64())
        .collect();
    assert_eq!(statuses, vec![Some(200); 8]);
    assert!(took >= latency, "{took:?}");
    assert!(
        took < latency * 3,
        "eight requests in one batch took {took:?}"
    );
}

#[tokio::test]
async fn faults_lag_hides_new_objects_from_reads_but_writes_still_work() {
    let sb = Sandbox::with_faults(FaultSpec {
        lag: Duration::from_millis(400),
        ..Default::default()
    });
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "POST",
            "/v1.0/users",
            Some(&ta),
            Some(json!({"accountEnabled": true, "displayName": "Lagging", "mailNickname": "lag",
                        "userPrincipalName": "lag@contosoa.onmicrosoft.com", "passwordProfile": {"password": "x"}})),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap().to_string();
    let g = sb.get(&format!("/v1.0/users/{id}"), &ta).await;
    g.expect(404);
    assert_eq!(g.code(), "Request_ResourceNotFound");
    let list = sb.get("/v1.0/users", &ta).await;
    assert!(!list.text.contains(&id), "absent from lists while lagging");
    // Seeded objects are never lagged.
    sb.get("/v1.0/users/annie@contosoa.onmicrosoft.com", &ta)
        .await
        .expect(200);
    // Writes work.
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{id}"),
        Some(&ta),
        Some(json!({"jobTitle": "x"})),
    )
    .await
    .expect(204);
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&ta),
        Some(json!({"tenantId": B.id})),
    )
    .await
    .expect(201);
    sb.get(&format!("{CTAP}/partners/{}", B.id), &ta)
        .await
        .expect(404);
    eventually("user visible", async || {
        sb.get(&format!("/v1.0/users/{id}"), &ta).await.status == 200
    })
    .await;
    assert_eq!(
        sb.get(&format!("/v1.0/users/{id}?$select=jobTitle"), &ta)
            .await
            .json["jobTitle"],
        "x"
    );
}

#[tokio::test]
async fn faults_are_readable_and_replaceable_at_run_time() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let g = sb.call("GET", "/_sandbox/faults", None, None).await;
    assert_eq!(g.json["throttle"], 0.0);
    let p = sb
        .call(
            "PUT",
            "/_sandbox/faults",
            None,
            Some(json!({"throttle": 1, "lag": "2s", "latency": 5, "seed": 7})),
        )
        .await;
    p.expect(200);
    assert_eq!(p.json["lag"], "2000ms");
    assert_eq!(p.json["latency"], "5ms");
    sb.get("/v1.0/users", &ta).await.expect(429);
    sb.call(
        "PUT",
        "/_sandbox/faults",
        None,
        Some(json!({"throttle": 2})),
    )
    .await
    .expect(400);
    sb.call("PUT", "/_sandbox/faults", None, Some(json!({"bogus": 1})))
        .await
        .expect(400);
    sb.call("PUT", "/_sandbox/faults", None, Some(json!({})))
        .await
        .expect(200);
    sb.get("/v1.0/users", &ta).await.expect(200);
}
