//! The one test harness: a seeded sandbox, token helper, request helper, polling helper.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use mto_sandbox::config::{Config, FaultSpec};
use mto_sandbox::jobs::{self, WorkerGuard};
use mto_sandbox::store::Store;
use mto_sandbox::{AppState, router, seed};
use serde_json::Value;
use tower::ServiceExt;

/// A seeded tenant and its administrative app.
pub struct Tenant {
    pub id: &'static str,
    pub domain: &'static str,
    pub client: &'static str,
    pub secret: &'static str,
}

pub const A: Tenant = Tenant {
    id: "aaaaaaaa-0000-4000-8000-00000000000a",
    domain: "contosoa.onmicrosoft.com",
    client: "aaaaaaaa-1111-4000-8000-00000000000a",
    secret: "secret-a",
};
pub const B: Tenant = Tenant {
    id: "bbbbbbbb-0000-4000-8000-00000000000b",
    domain: "contosob.onmicrosoft.com",
    client: "bbbbbbbb-1111-4000-8000-00000000000b",
    secret: "secret-b",
};
pub const C: Tenant = Tenant {
    id: "cccccccc-0000-4000-8000-00000000000c",
    domain: "contosoc.onmicrosoft.com",
    client: "cccccccc-1111-4000-8000-00000000000c",
    secret: "secret-c",
};
/// Tenant A's app that only has User.Read.All.
pub const READER_A: Tenant = Tenant {
    id: "aaaaaaaa-0000-4000-8000-00000000000a",
    domain: "contosoa.onmicrosoft.com",
    client: "aaaaaaaa-2222-4000-8000-00000000000a",
    secret: "reader-a",
};

/// Tenant C's app that only has MultiTenantOrganization.ReadBasic.All.
pub const BASIC_C: Tenant = Tenant {
    id: "cccccccc-0000-4000-8000-00000000000c",
    domain: "contosoc.onmicrosoft.com",
    client: "cccccccc-2222-4000-8000-00000000000c",
    secret: "basic-c",
};

pub const JOIN_DELAY: Duration = Duration::from_millis(150);

pub fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed.json")
}

pub struct Sandbox {
    pub state: AppState,
    pub app: Router,
    _worker: WorkerGuard,
}

/// A response, with the body parsed as JSON when it is JSON (else `Value::Null`).
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    /// `error.code` of a Graph error body.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Panic with the body unless the status matches.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

impl Sandbox {
    /// In-memory, seeded, short join delay, no faults.
    pub fn new() -> Sandbox {
        Sandbox::build(None, FaultSpec::default(), JOIN_DELAY)
    }

    pub fn with_faults(faults: FaultSpec) -> Sandbox {
        Sandbox::build(None, faults, JOIN_DELAY)
    }

    /// Open (or reopen) a sandbox; must be called inside a tokio runtime.
    pub fn build(data: Option<&Path>, faults: FaultSpec, join_delay: Duration) -> Sandbox {
        let store = Store::open(data).expect("open store");
        let seed = seed::load(&fixture()).expect("fixture seed");
        seed::apply(&store, &seed).expect("apply seed");
        let config = Config {
            join_delay,
            ..Config::default()
        };
        let state = AppState::new(store, config, faults).expect("state");
        let worker = jobs::start(state.clone());
        Sandbox {
            app: router(state.clone()),
            state,
            _worker: worker,
        }
    }

    /// Send a prepared request.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    /// `method uri` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "sandbox.test");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.call("GET", uri, Some(token), None).await
    }

    /// Raw token request with a form body.
    pub async fn token_request(&self, tenant: &str, form: &str) -> Resp {
        let req = Request::builder()
            .method("POST")
            .uri(format!("/{tenant}/oauth2/v2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "sandbox.test")
            .body(Body::from(form.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// An access token for a tenant's app.
    pub async fn token(&self, t: &Tenant) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
            t.client, t.secret
        );
        let r = self.token_request(t.id, &form).await;
        r.expect(200);
        r.json["access_token"].as_str().unwrap().to_string()
    }
}

/// Poll `check` until it returns true (or fail after 5 s).
pub async fn eventually(what: &str, check: impl AsyncFn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub const MTO: &str = "/v1.0/tenantRelationships/multiTenantOrganization";
pub const CTAP: &str = "/v1.0/policies/crossTenantAccessPolicy";

/// Create the MTO in A, add B (and C if `with_c`), have them request to join and wait until
/// they are active.
pub async fn form_mto(sb: &Sandbox, joiners: &[&Tenant]) {
    let ta = sb.token(&A).await;
    sb.call(
        "PUT",
        MTO,
        Some(&ta),
        Some(serde_json::json!({"displayName": "Contoso group"})),
    )
    .await
    .expect(201);
    for j in joiners {
        sb.call(
            "POST",
            &format!("{MTO}/tenants"),
            Some(&ta),
            Some(serde_json::json!({"tenantId": j.id, "displayName": j.domain})),
        )
        .await
        .expect(201);
        let tj = sb.token(j).await;
        sb.call(
            "PATCH",
            &format!("{MTO}/joinRequest"),
            Some(&tj),
            Some(serde_json::json!({"addedByTenantId": A.id})),
        )
        .await
        .expect(204);
        eventually("join to complete", async || {
            sb.get(&format!("{MTO}/joinRequest"), &tj).await.json["memberState"] == "active"
        })
        .await;
    }
}
