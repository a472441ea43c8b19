//! Admin routes under `/_sandbox/` (not Graph; no auth; loopback clients only; never faulted).
//!
//! ```text
//! GET  /_sandbox/health        {"status":"ok"}
//! GET  /_sandbox/stats         {"since","total","routes":{..},"batchInner":{..}}
//! POST /_sandbox/stats/reset   204
//! GET  /_sandbox/faults        the fault settings
//! PUT  /_sandbox/faults        replace them (same JSON fields; missing ones are 0) → 200
//! GET  /_sandbox/dashboard     the dashboard's snapshot (organizations, shares, People Search,
//!                              recent requests); the page itself is `GET /`
//! POST /_sandbox/sync/run      run a synchronization cycle of every started job now (optional
//!                              {"tenantId","servicePrincipalId","jobId"} narrows it) and answer
//!                              when they finished: {"jobs":[per-job summary],"durationMs"}
//! /_sandbox/oidc/{name}/...    test OpenID Connect issuers (see `routes::oidc`)
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
        .route("/sync/run", post(run_sync))
        .route("/dashboard", get(dashboard))
        .nest("/oidc", super::oidc::routes())
        .layer(middleware::from_fn(loopback_only))
}

/// `GET /`: the dashboard page (see [`crate::dashboard`]), loopback only.
pub fn dashboard_page() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard_html))
        .layer(middleware::from_fn(loopback_only))
}

async fn dashboard_html() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        crate::dashboard::PAGE,
    )
        .into_response()
}

async fn dashboard(State(st): State<AppState>) -> Result<Response, ApiError> {
    let snap = crate::dashboard::snapshot(&st).await?;
    Ok(json_response(StatusCode::OK, &snap))
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
    let mut snap = st.stats.snapshot();
    // Engine activity is not Graph traffic: it is counted apart from the request counters.
    snap["syncEngine"] = json!(st.sync.counters());
    json_response(StatusCode::OK, &snap)
}

async fn reset_stats(State(st): State<AppState>) -> Response {
    st.stats.reset();
    st.sync.reset_counters();
    no_content()
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RunFilter {
    tenant_id: Option<String>,
    service_principal_id: Option<String>,
    job_id: Option<String>,
}

async fn run_sync(State(st): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let filter: RunFilter = if body.iter().all(u8::is_ascii_whitespace) {
        RunFilter::default()
    } else {
        parse_json_body(&body)?
    };
    let started = std::time::Instant::now();
    let (run, skipped) = crate::sync::select_jobs(
        &st,
        filter.tenant_id,
        filter.service_principal_id,
        filter.job_id,
    )
    .await?;
    let mut reports: Vec<serde_json::Value> = crate::sync::run_jobs(&st, run)
        .await
        .into_iter()
        .map(|r| json!(r))
        .collect();
    for k in skipped {
        reports.push(json!({
            "tenantId": k.tenant_id,
            "servicePrincipalId": k.service_principal_id,
            "jobId": k.job_id,
            "state": "Skipped",
            "error": {"code": "NotStarted", "message": "The job's schedule is not Active (start it first)."},
        }));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"jobs": reports, "durationMs": started.elapsed().as_millis() as u64}),
    ))
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
