//! The seeded in-memory sandbox and an access token that the sandbox fuzz targets drive
//! through the router (included with `#[path]`; not a target itself).

use axum::body::Body;
use axum::http::Request;
use mto_sandbox::config::{Config, FaultSpec};
use mto_sandbox::store::Store;
use mto_sandbox::{AppState, router, seed};
use tower::ServiceExt;

/// Every seed here has this tenant, with this app and secret `s`.
pub const TENANT: &str = "aaaaaaaa-0000-4000-8000-00000000000a";

pub struct World {
    pub rt: tokio::runtime::Runtime,
    pub app: axum::Router,
    pub token: String,
}

impl World {
    /// A sandbox seeded with `seed` (JSON) and a token of tenant A's app.
    pub fn new(name: &str, seed_json: &str) -> World {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (app, token) = rt.block_on(async {
            let store = Store::open(None).unwrap();
            let path = std::env::temp_dir().join(format!("mto-fuzz-{name}-{}.json", std::process::id()));
            std::fs::write(&path, seed_json).unwrap();
            seed::apply(&store, &seed::load(&path).unwrap()).unwrap();
            let state = AppState::new(store, Config::default(), FaultSpec::default()).unwrap();
            let app = router(state);
            let req = Request::post(format!("/{TENANT}/oauth2/v2.0/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(
                    "grant_type=client_credentials&client_id=aaaaaaaa-1111-4000-8000-00000000000a&client_secret=s&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
                ))
                .unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            let token = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            (app, token)
        });
        World { rt, app, token }
    }

    /// The status of one request through the router.
    pub fn status(&self, req: Request<Body>) -> u16 {
        self.rt.block_on(async { self.app.clone().oneshot(req).await.unwrap().status().as_u16() })
    }
}
