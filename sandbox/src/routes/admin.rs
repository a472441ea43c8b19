//! Admin routes under `/_sandbox/` (not Graph; no auth; loopback clients only; never faulted).
//!
//! ```text
//! GET  /_sandbox/health        {"status":"ok"}
//! GET  /_sandbox/stats         {"since","total","routes":{..},"batchInner":{..}}
//! POST /_sandbox/stats/reset   204
//! GET  /_sandbox/faults        the fault settings
//! PUT  /_sandbox/faults        replace them (same JSON fields; missing ones are 0) → 200
//! ```

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::{json_response, no_content};
use crate::AppState;
use crate::config::FaultSpec;
use crate::error::{ApiError, parse_json_body};
use crate::tls::PeerAddr;

/// The admin router (nested at `/_sandbox`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/faults", get(get_faults).put(put_faults))
        .layer(middleware::from_fn(loopback_only))
}

async fn loopback_only(req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(PeerAddr(addr))) = req.extensions().get::<ConnectInfo<PeerAddr>>()
        && !addr.ip().is_loopback()
    {
        return ApiError::Forbidden(
            "The sandbox admin endpoints only answer loopback clients.".into(),
        )
        .into_response();
    }
    next.run(req).await
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn stats(State(st): State<AppState>) -> Response {
    json_response(StatusCode::OK, &st.stats.snapshot())
}

async fn reset_stats(State(st): State<AppState>) -> Response {
    st.stats.reset();
    no_content()
}

async fn get_faults(State(st): State<AppState>) -> Response {
    json_response(StatusCode::OK, &json!(st.faults.spec()))
}

async fn put_faults(State(st): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let spec: FaultSpec = parse_json_body(&body)?;
    spec.validate().map_err(ApiError::bad_request)?;
    st.faults.set(spec);
    Ok(json_response(StatusCode::OK, &json!(st.faults.spec())))
}
