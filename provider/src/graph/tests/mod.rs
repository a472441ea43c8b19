//! Tests of the Graph client and its services against a scripted
//! in-process server that stands in for Graph and the token endpoint.

mod client;
mod services;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use crate::config::{ProviderConfig, TenantCredentials};
use crate::graph::{GraphClient, Scope};

const TENANT: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const SECRET: &str = "very-secret-value";

type Script = dyn Fn(&Method, &str, &serde_json::Value) -> (u16, Vec<(&'static str, String)>, serde_json::Value)
    + Send
    + Sync;

/// A Graph request as the mock saw it: method, path and `ConsistencyLevel`.
type Seen = (String, String, Option<String>);

struct Mock {
    url: String,
    log: Arc<Mutex<Vec<String>>>,
    /// Every Graph request: method, path and `ConsistencyLevel` header.
    seen: Arc<Mutex<Vec<Seen>>>,
    tokens: Arc<AtomicUsize>,
}

impl Mock {
    fn count(&self, prefix: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

/// Serves the token endpoint itself and hands every Graph request to `script`.
async fn mock(script: Arc<Script>) -> Mock {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tokens = Arc::new(AtomicUsize::new(0));
    let (log2, seen2, tokens2) = (log.clone(), seen.clone(), tokens.clone());
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let script = script.clone();
        let log = log2.clone();
        let seen = seen2.clone();
        let tokens = tokens2.clone();
        async move {
            let path = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
            if path.ends_with("/oauth2/v2.0/token") {
                let n = tokens.fetch_add(1, Ordering::SeqCst);
                let form = String::from_utf8_lossy(&body).into_owned();
                if !form.contains(SECRET) {
                    return (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x",
                        "trace_id": "trace-1", "correlation_id": "corr-1"
                    }))).into_response();
                }
                return axum::Json(serde_json::json!({"token_type":"Bearer","expires_in":3599,"access_token":format!("tok{n}")})).into_response();
            }
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            log.lock().unwrap().push(format!("{method} {path} {auth}"));
            let consistency = headers.get("consistencylevel").and_then(|v| v.to_str().ok()).map(str::to_owned);
            seen.lock().unwrap().push((method.to_string(), path.clone(), consistency));
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let (status, hdrs, out) = script(&method, &path, &json);
            let mut resp: Response = if out.is_null() {
                StatusCode::from_u16(status).unwrap().into_response()
            } else {
                (StatusCode::from_u16(status).unwrap(), axum::Json(out)).into_response()
            };
            for (k, v) in hdrs {
                resp.headers_mut().insert(k, v.parse().unwrap());
            }
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Mock {
        url,
        log,
        seen,
        tokens,
    }
}

/// A server that accepts connections, reads whatever comes, and never answers: a hung Graph.
/// Counts the connections it accepted.
async fn hung_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while tokio::io::AsyncReadExt::read(&mut s, &mut buf)
                    .await
                    .is_ok_and(|n| n > 0)
                {}
                // Keep the socket open (the client gives up first).
                std::future::pending::<()>().await;
            });
        }
    });
    (url, accepted)
}

/// A client whose Graph and login endpoints are set apart.
fn client_at(graph: &str, login: &str) -> GraphClient {
    client_with(graph, login, SECRET)
}

fn client(m: &Mock, secret: &str) -> GraphClient {
    client_with(&m.url, &m.url, secret)
}

fn client_with(graph: &str, login: &str, secret: &str) -> GraphClient {
    let mut tenants = BTreeMap::new();
    tenants.insert(
        TENANT.to_owned(),
        TenantCredentials::secret(TENANT, "c", secret),
    );
    GraphClient::new(&ProviderConfig {
        tenants,
        graph_endpoint: graph.parse().unwrap(),
        login_endpoint: login.parse().unwrap(),
        replication_grace: Duration::from_secs(0),
        check_permissions: true,
    })
    .unwrap()
}

fn scope(secs: u64) -> Scope {
    Scope::new(&CancellationToken::new(), Duration::from_secs(secs))
}

fn graph_error(code: &str) -> serde_json::Value {
    serde_json::json!({"error": {"code": code, "message": format!("{code} happened"),
        "innerError": {"date": "2024-01-01T00:00:00", "request-id": "rid-1", "client-request-id": "x"}}})
}
