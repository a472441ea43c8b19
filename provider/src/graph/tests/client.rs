//! The HTTP machinery against a scripted in-process server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::graph::client::*;
use crate::graph::*;

/// One GET of `path` through a fresh client, within an operation of `secs`.
async fn get_once(
    m: &Mock,
    path: &str,
    secs: u64,
) -> Result<Option<serde_json::Value>, GraphError> {
    let c = client(m, SECRET);
    let s = scope(secs);
    c.tenant(TENANT, &s).unwrap().get(path).send().await
}

#[tokio::test]
async fn token_is_fetched_once_and_reused() {
    let m = mock(Arc::new(|_, _, _| {
        (200, vec![], serde_json::json!({"ok": true}))
    }))
    .await;
    let c = client(&m, SECRET);
    let s = scope(10);
    let t = c.tenant(TENANT, &s).unwrap();
    for _ in 0..3 {
        assert_eq!(
            t.get("/things/1").send().await.unwrap().unwrap()["ok"],
            true
        );
    }
    assert_eq!(m.tokens.load(Ordering::SeqCst), 1);
    assert!(
        m.log
            .lock()
            .unwrap()
            .iter()
            .all(|l| l.ends_with("Bearer tok0"))
    );
}

#[tokio::test]
async fn throttling_honours_retry_after_then_succeeds() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let m = mock(Arc::new(move |_, _, _| {
        if n2.fetch_add(1, Ordering::SeqCst) < 2 {
            (
                429,
                vec![("retry-after", "0.3".into())],
                graph_error("TooManyRequests"),
            )
        } else {
            (200, vec![], serde_json::json!({"id": "1"}))
        }
    }))
    .await;
    let started = Instant::now();
    let v = get_once(&m, "/things/1", 10).await.unwrap().unwrap();
    assert_eq!(v["id"], "1");
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(m.count("GET /v1.0/things/1"), 3);
}

#[tokio::test]
async fn unavailable_is_retried_only_until_the_deadline() {
    let m = mock(Arc::new(|_, _, _| {
        (503, vec![], graph_error("ServiceUnavailable"))
    }))
    .await;
    let started = Instant::now();
    let e = get_once(&m, "/things/1", 2).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(e.kind, ErrorKind::Server);
    assert!(e.to_string().contains("gave up after"), "{e}");
    assert!(m.count("GET") >= 3);
}

#[tokio::test]
async fn not_found_is_final_unless_the_caller_expects_replication_lag() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let m = mock(Arc::new(move |_, _, _| {
        if n2.fetch_add(1, Ordering::SeqCst) < 2 {
            (404, vec![], graph_error("Request_ResourceNotFound"))
        } else {
            (200, vec![], serde_json::json!({"id": "1"}))
        }
    }))
    .await;
    let c = client(&m, SECRET);
    let s = scope(10);
    let t = c.tenant(TENANT, &s).unwrap();
    let e = t.get("/things/1").send().await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.code, "Request_ResourceNotFound");
    assert_eq!(e.request_id.as_deref(), Some("rid-1"));
    assert!(e.to_string().contains("request-id rid-1"), "{e}");
    assert_eq!(
        t.get("/things/1")
            .retry_not_found()
            .send()
            .await
            .unwrap()
            .unwrap()["id"],
        "1"
    );
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let m = mock(Arc::new(move |_, _, _| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            (401, vec![], graph_error("InvalidAuthenticationToken"))
        } else {
            (200, vec![], serde_json::json!({}))
        }
    }))
    .await;
    let c = client(&m, SECRET);
    let s = scope(10);
    c.tenant(TENANT, &s)
        .unwrap()
        .get("/x")
        .send()
        .await
        .unwrap();
    assert_eq!(m.tokens.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bad_credentials_are_reported_without_the_secret() {
    let m = mock(Arc::new(|_, _, _| (200, vec![], serde_json::json!({})))).await;
    let c = client(&m, "wrong-secret-123");
    let s = scope(10);
    let e = c
        .tenant(TENANT, &s)
        .unwrap()
        .get("/x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authentication);
    let text = e.to_string();
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("wrong-secret-123"), "{text}");
    assert!(
        !text.contains("Trace ID"),
        "only the first line of the description: {text}"
    );
}

#[tokio::test]
async fn paging_follows_next_links_on_the_same_endpoint_only() {
    let base = Arc::new(Mutex::new(String::new()));
    let b2 = base.clone();
    let m = mock(Arc::new(move |_, path, _| {
        let base = b2.lock().unwrap().clone();
        match path {
            "/v1.0/users?$top=2" => (200, vec![], serde_json::json!({"value": [1, 2], "@odata.nextLink": format!("{base}/v1.0/users?$skiptoken=p2")})),
            "/v1.0/users?$skiptoken=p2" => (200, vec![], serde_json::json!({"value": [3]})),
            "/v1.0/evil" => (200, vec![], serde_json::json!({"value": [], "@odata.nextLink": "https://attacker.example/v1.0/users"})),
            _ => (404, vec![], graph_error("x")),
        }
    }))
    .await;
    *base.lock().unwrap() = m.url.clone();
    let c = client(&m, SECRET);
    let s = scope(10);
    let t = c.tenant(TENANT, &s).unwrap();
    assert_eq!(
        t.get_all("/users?$top=2").await.unwrap(),
        vec![serde_json::json!(1), 2.into(), 3.into()]
    );
    let e = t.get_all("/evil").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
}

#[tokio::test]
async fn concurrent_reads_share_one_batch_and_inner_throttling_is_retried() {
    let throttled_once = Arc::new(AtomicUsize::new(0));
    let t2 = throttled_once.clone();
    let m = mock(Arc::new(move |method, path, body| {
        if method == Method::POST && path == "/v1.0/$batch" {
            let responses: Vec<serde_json::Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let url = r["url"].as_str().unwrap();
                    if url == "/things/7" && t2.fetch_add(1, Ordering::SeqCst) == 0 {
                        serde_json::json!({"id": r["id"], "status": 429, "headers": {"Retry-After": "0"}, "body": graph_error("TooManyRequests")})
                    } else {
                        serde_json::json!({"id": r["id"], "status": 200, "headers": {}, "body": {"url": url}})
                    }
                })
                .collect();
            return (200, vec![], serde_json::json!({"responses": responses}));
        }
        (200, vec![], serde_json::json!({"url": path.trim_start_matches("/v1.0")}))
    }))
    .await;
    let c = Arc::new(client(&m, SECRET));
    let s = scope(10);
    // Warm the token so all reads start together.
    c.tenant(TENANT, &s)
        .unwrap()
        .get("/warm")
        .send()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let c = c.clone();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let t = c.tenant(TENANT, &s).unwrap();
            t.get(format!("/things/{i}"))
                .batched()
                .send()
                .await
                .unwrap()
                .unwrap()
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap()["url"], format!("/things/{i}"));
    }
    let batches = m.count("POST /v1.0/$batch");
    let singles = m.count("GET /v1.0/things");
    assert!(
        batches >= 1 && batches + singles <= 3,
        "batches {batches}, single GETs {singles}"
    );
}

/// Runs `f` and checks it failed with a transport error within `bound`.
async fn fails_within<
    F: std::future::Future<Output = Result<T, GraphError>>,
    T: std::fmt::Debug,
>(
    bound: Duration,
    f: F,
) -> GraphError {
    let started = Instant::now();
    let e = tokio::time::timeout(bound + Duration::from_secs(5), f)
        .await
        .expect("the call outlived its deadline by more than 5 s")
        .unwrap_err();
    assert!(
        started.elapsed() < bound + Duration::from_millis(500),
        "took {:?}, bound {bound:?}: {e:?}",
        started.elapsed()
    );
    e
}

#[tokio::test]
async fn a_hung_graph_fails_every_kind_of_call_by_the_operation_deadline() {
    let m = mock(Arc::new(|_, _, _| (200, vec![], serde_json::json!({})))).await;
    let (hung, accepted) = hung_server().await;
    let c = client_at(&hung, &m.url);
    // A write is bounded by the operation's remaining time (no per-request default).
    let s = scope(2);
    let t = c.tenant(TENANT, &s).unwrap();
    let e = fails_within(
        Duration::from_secs(2),
        t.post("/things", serde_json::json!({}))
            .not_idempotent()
            .send(),
    )
    .await;
    assert_eq!(e.kind, ErrorKind::Transport);
    assert!(
        e.message.contains("no answer from Graph within"),
        "{}",
        e.message
    );
    // A read, plain or shared through `$batch`, likewise; it is retried while time remains.
    let s = scope(2);
    let t = c.tenant(TENANT, &s).unwrap();
    let before = accepted.load(Ordering::SeqCst);
    let e = fails_within(Duration::from_secs(2), t.get("/things/1").send()).await;
    assert_eq!(e.kind, ErrorKind::Transport, "{e:?}");
    assert!(
        accepted.load(Ordering::SeqCst) - before >= 2,
        "a hung read was not sent again"
    );
    let s = scope(2);
    let t = c.tenant(TENANT, &s).unwrap();
    let (a, b) = tokio::join!(
        fails_within(Duration::from_secs(2), t.get("/things/1").batched().send()),
        fails_within(Duration::from_secs(2), t.get("/things/2").batched().send()),
    );
    assert_eq!(
        (a.kind, b.kind),
        (ErrorKind::Transport, ErrorKind::Transport)
    );
    // Paging too.
    let s = scope(1);
    let t = c.tenant(TENANT, &s).unwrap();
    fails_within(Duration::from_secs(1), t.get_all("/things")).await;
}

#[tokio::test]
async fn a_hung_login_endpoint_is_bounded_by_the_operation_deadline() {
    let (hung, _) = hung_server().await;
    let c = client_at(&hung, &hung);
    let s = scope(2);
    let t = c.tenant(TENANT, &s).unwrap();
    fails_within(
        Duration::from_secs(2),
        t.patch("/things/1", serde_json::json!({})).send(),
    )
    .await;
    let s = scope(1);
    let t = c.tenant(TENANT, &s).unwrap();
    fails_within(Duration::from_secs(1), t.get("/things/1").batched().send()).await;
}

#[tokio::test]
async fn a_hung_read_is_abandoned_and_answered_by_the_next_attempt() {
    // The first connection hangs; later ones are answered.
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let n = n2.clone();
        async move {
            if uri.path().ends_with("/oauth2/v2.0/token") {
                return axum::Json(
                    serde_json::json!({"token_type":"Bearer","expires_in":3599,"access_token":"t"}),
                );
            }
            if n.fetch_add(1, Ordering::SeqCst) == 0 {
                std::future::pending::<()>().await;
            }
            axum::Json(serde_json::json!({"id": "1"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let c = client_at(&url, &url);
    let s = scope(10);
    let started = Instant::now();
    let v = c
        .tenant(TENANT, &s)
        .unwrap()
        .get("/things/1")
        .batched()
        .send()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["id"], "1");
    assert_eq!(n.load(Ordering::SeqCst), 2);
    // Abandoned after the per-read budget, not the operation's 10 s.
    assert!(
        started.elapsed() < READ_REQUEST_TIMEOUT + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cancellation_stops_retries_and_abandons_a_hung_request_at_once() {
    let m = mock(Arc::new(|_, _, _| {
        (
            503,
            vec![("retry-after", "30".into())],
            graph_error("ServiceUnavailable"),
        )
    }))
    .await;
    let (hung, _) = hung_server().await;
    // Retrying a 503, then waiting on a write Graph never answers.
    for c in [client(&m, SECRET), client_at(&hung, &m.url)] {
        let cancel = CancellationToken::new();
        let s = Scope::new(&cancel, Duration::from_secs(120));
        let started = Instant::now();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            c2.cancel();
        });
        let e = c
            .tenant(TENANT, &s)
            .unwrap()
            .put("/x", serde_json::json!({}))
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[tokio::test]
async fn unknown_tenant_names_the_configured_ones() {
    let m = mock(Arc::new(|_, _, _| (200, vec![], serde_json::json!({})))).await;
    let c = client(&m, SECRET);
    let e = c
        .tenant("bbbbbbbb-0000-0000-0000-000000000002", &scope(1))
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::UnknownTenant);
    assert!(e.message.contains(TENANT), "{}", e.message);
}

#[test]
fn escaping() {
    assert_eq!(
        seg("amy_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
        "amy_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"
    );
    assert_eq!(
        q("startswith(displayName,'A&B')"),
        "startswith(displayName,'A%26B')"
    );
    assert_eq!(odata_str("O'Neil"), "'O''Neil'");
    assert_eq!(
        parse_retry_after("2.128"),
        Some(Duration::from_millis(2128))
    );
    assert_eq!(parse_retry_after("999"), Some(MAX_RETRY_AFTER));
    assert_eq!(parse_retry_after("soon"), None);
}
