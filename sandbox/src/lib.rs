//! mto-sandbox: a persistent, multi-tenant emulator of the Microsoft Graph endpoints used to
//! build Microsoft Entra multi-tenant organizations (MTO) and cross-tenant access settings.
//!
//! It serves, for every seeded tenant, the OAuth2 client-credentials token endpoint and the
//! Graph paths of `shared/reference/graph-mto-api.md` §1–§9 under `/v1.0` and `/beta`
//! (MTO singleton, member tenants, join request, templates, cross-tenant access policy,
//! partners and identity synchronization, users, groups, organization, `$batch`, the
//! cross-tenant synchronization configuration app, its app role assignments and
//! synchronization jobs), with fault injection and request counters under `/_sandbox/`.
//!
//! Main types and modules:
//! - [`AppState`]: the cheap-clone state every handler gets (store, config, token key, faults,
//!   stats, job wake-up).
//! - [`router`] builds the axum app from [`routes`] (one module per collection: parse, check
//!   permission, call the domain, encode); [`serve`] runs it on a listener until a shutdown
//!   future completes, with the background [`jobs`] worker that completes joins and removals and
//!   the [`sync`] engine's worker that runs synchronization cycles.
//! - [`directory`]: the domain rules the routes, the job worker, the engine and the [`seed`]
//!   share (users, groups, the MTO, cross-tenant access policy, the configuration app).
//! - [`store::Store`]: SQLite behind a cheap-clone handle, and the only module with SQL; it fails
//!   with [`store::StoreError`].
//! - [`error::ApiError`]: the single Graph-shaped error type (store and engine errors convert
//!   into it once); [`auth`]: tokens and the permission table; [`assertion`]: client
//!   assertions (certificates, federated tokens); [`oidc`]: test OpenID Connect issuers;
//!   [`query`]: OData query options;
//!   [`faults`], [`stats`], [`config`], [`cli`], [`tls`], [`util`].
//!
//! Design decision: **every Graph path is evaluated in the tenant of the bearer token**, as in
//! Graph itself, where all tenants share `graph.microsoft.com`. The token is a self-validating
//! HMAC-signed JWT whose key lives in the database, so authentication needs no lookup and
//! tokens survive a restart; cross-tenant effects (an MTO join touching every member tenant)
//! happen only inside the background job worker, in one SQLite transaction per job.

pub mod assertion;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod faults;
pub mod jobs;
pub mod oidc;
pub mod query;
pub mod routes;
pub mod seed;
pub mod stats;
pub mod store;
pub mod sync;
pub mod tls;
pub mod util;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use routes::router;

use crate::auth::TokenKey;
use crate::config::{Config, FaultSpec};
use crate::faults::Faults;
use crate::stats::Stats;
use crate::store::Store;
use crate::tls::{PeerAddr, SandboxListener};

/// How long a graceful shutdown waits for open requests before giving up.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Shared state of the server (cheap clone).
#[derive(Clone)]
pub struct AppState {
    /// Database handle.
    pub store: Store,
    /// Behaviour settings.
    pub config: Arc<Config>,
    /// Signs and verifies access tokens.
    pub token_key: TokenKey,
    /// Fault injection settings.
    pub faults: Faults,
    /// Request counters.
    pub stats: Stats,
    /// Wakes the job worker when new work is queued.
    pub jobs_wakeup: Arc<Notify>,
    /// Synchronization engine coordination (per-job locks, on-demand rate limit, worker wake-up).
    pub sync: sync::SyncHandle,
    /// The test OpenID Connect issuers (keys, runners).
    pub oidc: Arc<oidc::Issuers>,
    /// `jti`s of certificate assertions seen (with `--reject-assertion-replay`).
    pub assertions: Arc<assertion::ReplayCache>,
}

impl AppState {
    /// Build the state over an opened store (loads or creates the token key).
    pub fn new(
        store: Store,
        config: Config,
        faults: FaultSpec,
    ) -> Result<AppState, error::ApiError> {
        let key = store.token_key()?;
        Ok(AppState {
            store,
            config: Arc::new(config),
            token_key: TokenKey::new(&key),
            faults: Faults::new(faults),
            stats: Stats::default(),
            jobs_wakeup: Arc::new(Notify::new()),
            sync: sync::SyncHandle::default(),
            oidc: Arc::default(),
            assertions: Arc::default(),
        })
    }
}

/// Serve the app on `listener` until `shutdown` completes, then drain open requests for at most
/// [`SHUTDOWN_GRACE`]. Also runs the background job worker for as long as the server runs.
///
/// Connections speak HTTP/1.1 (hyper) with the client timeouts of [`Config::idle_timeout`]: the
/// request headers must arrive within it — which also closes keep-alive connections left idle
/// that long — and a request body may stall at most that long (see `routes`).
pub async fn serve(
    listener: impl Into<SandboxListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::Listener;

    let _worker = jobs::start(state.clone());
    let _sync_worker = sync::worker::start(state.clone());
    let idle = state.config.idle_timeout;
    // Whichever way serving ends, running synchronization cycles stop at their next chunk, so
    // the process can exit promptly.
    struct StopSync(sync::SyncHandle);
    impl Drop for StopSync {
        fn drop(&mut self) {
            self.0.shutdown();
        }
    }
    let stop_sync = StopSync(state.sync.clone());
    let app = router(state);
    let mut listener: SandboxListener = listener.into();
    // Every connection task holds a receiver of `open`; `stop` tells them to finish.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            conn = listener.accept() => conn,
            _ = &mut shutdown => break,
        };
        let svc = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(PeerAddr(addr)));
                req.map(axum::body::Body::new)
            },
        );
        let (mut stop, open) = (stop_rx.clone(), open_rx.clone());
        tokio::spawn(async move {
            let _open = open;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(idle)
                .keep_alive(true);
            let conn = http.serve_connection(
                hyper_util::rt::TokioIo::new(io),
                hyper_util::service::TowerToHyperService::new(svc),
            );
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.changed() => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    drop(stop_sync);
    drop(listener);
    drop(stop_tx);
    drop(open_rx);
    if tokio::time::timeout(SHUTDOWN_GRACE, open_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            "graceful shutdown timed out after {:?}; closing",
            SHUTDOWN_GRACE
        );
    }
    Ok(())
}
