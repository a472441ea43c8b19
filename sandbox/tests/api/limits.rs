//! Hostile input and slow clients: bounded query parsing, body size and type, URLs built from
//! the configured base URL, and the connection timeouts of `serve`.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use mto_sandbox::config::{Config, FaultSpec};
use mto_sandbox::store::Store;
use mto_sandbox::{AppState, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

/// Percent-encode a query value (spaces, quotes and the few reserved characters filters use).
fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace('\'', "%27")
        .replace('"', "%22")
        .replace('#', "%23")
        .replace('&', "%26")
}

/// The hostile `$filter` shapes of the report: deep parentheses, deep `not(`, and long
/// `and`/`or` chains (which nest as deeply as they are long).
fn hostile_filters(prop: &str) -> Vec<(&'static str, String)> {
    let cmp = format!("{prop} eq 'x'");
    vec![
        (
            "parentheses",
            format!("{}{cmp}{}", "(".repeat(5000), ")".repeat(5000)),
        ),
        (
            "not(",
            format!("{}{cmp}{}", "not(".repeat(5000), ")".repeat(5000)),
        ),
        ("or chain", vec![cmp.as_str(); 1500].join(" or ")),
        ("and chain", vec![cmp.as_str(); 1500].join(" and ")),
        ("unbalanced", "(".repeat(30_000)),
    ]
}

/// A filtered GET that must be a Graph-shaped 400, not a crash or a 500.
async fn assert_refused(sb: &Sandbox, path: &str, token: &str, what: &str, f: &str) {
    let r = sb.get(&format!("{path}?$filter={}", enc(f)), token).await;
    assert_eq!(r.status, 400, "{path} {what}: {}", r.text);
    assert_eq!(r.code(), "BadRequest", "{path} {what}: {}", r.text);
    assert!(r.json["error"]["innerError"]["request-id"].is_string());
}

#[tokio::test]
async fn deep_or_long_filters_are_400_on_every_filtered_collection() {
    let sb = Sandbox::new();
    // One read permission is all an attacker needs.
    let reader = sb.token(&READER_A).await;
    let basic = sb.token(&BASIC_C).await;
    let ta = sb.token(&A).await;
    let cases = [
        ("/v1.0/users", &reader, "displayName"),
        ("/beta/users", &reader, "displayName"),
        ("/v1.0/groups", &ta, "displayName"),
        ("/v1.0/servicePrincipals", &ta, "displayName"),
        ("/v1.0/applications", &ta, "displayName"),
        (
            "/v1.0/tenantRelationships/multiTenantOrganization/tenants",
            &basic,
            "tenantId",
        ),
    ];
    for (path, token, prop) in cases {
        for (what, f) in hostile_filters(prop) {
            assert_refused(&sb, path, token, what, &f).await;
        }
    }
    // The sandbox is still serving.
    sb.get("/v1.0/users?$top=1", &reader).await.expect(200);
}

#[tokio::test]
async fn filters_at_the_depth_bound_still_work() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let upn = "annie@contosoa.onmicrosoft.com";
    let cmp = format!("userPrincipalName eq '{upn}'");
    let chain = vec![cmp.as_str(); 100].join(" or ");
    let nested = format!("{}{cmp}{}", "(".repeat(99), ")".repeat(99));
    for f in [chain, nested] {
        let r = sb
            .get(&format!("/v1.0/users?$filter={}", enc(&f)), &ta)
            .await;
        r.expect(200);
        assert_eq!(r.json["value"].as_array().unwrap().len(), 1, "{}", r.text);
    }
    // `not` is an advanced query; 99 of them (an odd number) around a match find everyone else.
    let nots = format!("{}{cmp}{}", "not(".repeat(99), ")".repeat(99));
    let req = Request::get(format!("/v1.0/users?$count=true&$filter={}", enc(&nots)))
        .header("authorization", format!("Bearer {ta}"))
        .header("consistencylevel", "eventual")
        .body(Body::empty())
        .unwrap();
    let r = sb.send(req).await;
    r.expect(200);
    assert!(
        r.json["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["userPrincipalName"] != upn)
    );
}

#[tokio::test]
async fn deep_search_and_deep_filters_in_batch_are_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let search = vec![r#""displayName:a""#; 2000].join(" OR ");
    let req = Request::get(format!("/v1.0/users?$search={}", enc(&search)))
        .header("authorization", format!("Bearer {ta}"))
        .header("consistencylevel", "eventual")
        .body(Body::empty())
        .unwrap();
    let r = sb.send(req).await;
    r.expect(400);
    assert_eq!(r.code(), "BadRequest");
    let deep = format!("{}id eq 'x'{}", "not(".repeat(5000), ")".repeat(5000));
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": [
                {"id": "1", "method": "GET", "url": format!("/users?$filter={}", enc(&deep))},
                {"id": "2", "method": "GET", "url": format!("/groups?$filter={}", enc(&deep))},
            ]})),
        )
        .await;
    r.expect(200);
    for item in r.json["responses"].as_array().unwrap() {
        assert_eq!(item["status"], 400, "{item}");
        assert_eq!(item["body"]["error"]["code"], "BadRequest");
    }
}

/// A request with a raw body and content type.
fn raw(
    method: &str,
    uri: &str,
    token: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn deeply_nested_json_bodies_are_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let deep = |open: &str, close: &str| {
        format!(
            "{{\"displayName\":{}1{}}}",
            open.repeat(100_000),
            close.repeat(100_000)
        )
        .into_bytes()
    };
    for body in [deep("[", "]"), deep("{\"a\":", "}")] {
        for uri in [
            "/v1.0/users",
            "/v1.0/policies/crossTenantAccessPolicy/partners",
            "/v1.0/$batch",
        ] {
            let r = sb
                .send(raw(
                    "POST",
                    uri,
                    &ta,
                    Some("application/json"),
                    body.clone(),
                ))
                .await;
            assert_eq!(r.status, 400, "{uri}: {}", r.text);
            assert_eq!(r.code(), "BadRequest");
        }
    }
    // A deep body inside a batch request fails the whole batch the same way.
    let inner = format!(
        r#"{{"requests":[{{"id":"1","method":"PATCH","url":"/users/x","headers":{{"Content-Type":"application/json"}},"body":{}1{}}}]}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let r = sb
        .send(raw(
            "POST",
            "/v1.0/$batch",
            &ta,
            Some("application/json"),
            inner.into_bytes(),
        ))
        .await;
    r.expect(400);
}

#[tokio::test]
async fn bodies_over_4_mb_are_413_graph_shaped() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let big = format!("{{\"jobTitle\":\"{}\"}}", "a".repeat(5 * 1024 * 1024));
    for uri in ["/v1.0/users/annie@contosoa.onmicrosoft.com", "/v1.0/$batch"] {
        let method = if uri.ends_with("$batch") {
            "POST"
        } else {
            "PATCH"
        };
        let r = sb
            .send(raw(
                method,
                uri,
                &ta,
                Some("application/json"),
                big.clone().into_bytes(),
            ))
            .await;
        assert_eq!(r.status, 413, "{uri}: {}", r.text);
        assert_eq!(r.code(), "RequestEntityTooLarge");
        assert_eq!(
            r.json["error"]["innerError"]["request-id"].as_str(),
            r.header("request-id")
        );
    }
    // A declared length over the limit is refused without reading the body.
    let req = Request::post("/v1.0/users")
        .header("authorization", format!("Bearer {ta}"))
        .header("content-type", "application/json")
        .header("content-length", (64 * 1024 * 1024).to_string())
        .body(Body::empty())
        .unwrap();
    sb.send(req).await.expect(413);
    // Under Graph's 4 MB limit a body is read (here: a 3 MB title is simply accepted).
    let ok = format!("{{\"jobTitle\":\"{}\"}}", "b".repeat(3 * 1024 * 1024));
    let r = sb
        .send(raw(
            "PATCH",
            "/v1.0/users/annie@contosoa.onmicrosoft.com",
            &ta,
            Some("application/json"),
            ok.into_bytes(),
        ))
        .await;
    r.expect(204);
}

#[tokio::test]
async fn writes_need_a_json_content_type_as_in_graph() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let annie = "/v1.0/users/annie@contosoa.onmicrosoft.com";
    let body = br#"{"jobTitle":"Typed"}"#.to_vec();
    let r = sb.send(raw("PATCH", annie, &ta, None, body.clone())).await;
    r.expect(400);
    assert_eq!(r.code(), "BadRequest");
    assert!(
        r.message().contains("Content-Type header is set"),
        "{}",
        r.text
    );
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonp",
    ] {
        let r = sb
            .send(raw("PATCH", annie, &ta, Some(ct), body.clone()))
            .await;
        r.expect(400);
        assert_eq!(
            r.message(),
            "Entity only allows writes with a JSON Content-Type header.",
            "{ct}"
        );
    }
    // Inner batch requests are checked the same way.
    let r = sb
        .call(
            "POST",
            "/v1.0/$batch",
            Some(&ta),
            Some(json!({"requests": [{"id": "1", "method": "PATCH", "url": "/users/annie@contosoa.onmicrosoft.com",
                "headers": {"Content-Type": "text/plain"}, "body": {"jobTitle": "x"}}]})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["responses"][0]["status"], 400);
    // Parameters are fine, and so is an action without a body.
    let r = sb
        .send(raw(
            "PATCH",
            annie,
            &ta,
            Some("Application/JSON; odata.metadata=minimal; charset=utf-8"),
            body,
        ))
        .await;
    r.expect(204);
    sb.send(raw(
        "POST",
        "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration/resetToDefaultSettings",
        &ta,
        None,
        Vec::new(),
    ))
    .await
    .expect(204);
}

#[tokio::test]
async fn next_link_and_context_come_from_the_configured_base_url_not_the_host_header() {
    let sb = Sandbox::new();
    // Tenant B has two users, so one per page leaves a next page.
    let ta = sb.token(&B).await;
    let req = Request::get("/v1.0/users?$top=1")
        .header("authorization", format!("Bearer {ta}"))
        .header("host", "evil.example:666")
        .body(Body::empty())
        .unwrap();
    let r = sb.send(req).await;
    r.expect(200);
    let next = r.json["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{BASE_URL}/v1.0/users?$skiptoken=")),
        "{next}"
    );
    let context = r.json["@odata.context"].as_str().unwrap();
    assert!(
        context.starts_with(&format!("{BASE_URL}/v1.0/$metadata#")),
        "{context}"
    );
    assert!(!r.text.contains("evil.example"));
}

#[tokio::test]
async fn out_of_range_fault_settings_are_400_not_500() {
    let sb = Sandbox::new();
    for body in [
        json!({"lag": "100000000000000000000000s"}),
        json!({"latency": "99999999999999999999d"}),
        json!({"lag": 18446744073709551615u64}),
        json!({"latency": "PT99999999999999H"}),
    ] {
        let r = sb
            .call("PUT", "/_sandbox/faults", None, Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.code() == "BadRequest", "{}", r.text);
    }
    let r = sb.call("GET", "/_sandbox/faults", None, None).await;
    assert_eq!(r.json["lag"], "0ms");
}

/// A real server with a short idle timeout on a loopback port; returns its address.
async fn serve_with_idle_timeout(idle: Duration) -> std::net::SocketAddr {
    let store = Store::open(None).unwrap();
    let config = Config {
        idle_timeout: idle,
        ..Config::default()
    };
    let state = AppState::new(store, config, FaultSpec::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state, std::future::pending()));
    addr
}

/// Read until the server closes the connection (or `limit` passes); returns what was read and
/// whether it closed.
async fn read_until_closed(s: &mut tokio::net::TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end.into(), s.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed() {
    let addr = serve_with_idle_timeout(Duration::from_millis(300)).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed, "the half-sent request was not timed out");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A connection that sends nothing at all is closed too.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(read_until_closed(&mut s, Duration::from_secs(5)).await.1);
}

#[tokio::test]
async fn idle_keep_alive_connections_and_stalled_bodies_are_closed() {
    let addr = serve_with_idle_timeout(Duration::from_millis(300)).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (text, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed, "an idle keep-alive connection stayed open");
    // A body that stops arriving gets a 408 instead of holding a handler forever.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"PUT /_sandbox/faults HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"la")
        .await
        .unwrap();
    let (text, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    assert_eq!(v["error"]["code"], "RequestTimeout", "{text}");
    assert!(closed);
}
