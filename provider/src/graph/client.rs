//! The HTTP machinery under the typed services: one session per tenant
//! (token cache and `$batch` coalescer), calls with bounded retries, and
//! paging. Only the service modules of `graph` build calls; everything else
//! in the provider sees typed methods.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::cache::{KeyedLocks, RateWindow, ReadCache};
use super::error::{ErrorKind, GraphError};
use super::partners::PartnerConfiguration;
use super::{auth, batch};
use crate::config::ProviderConfig;

/// The Graph API version every call uses unless it says otherwise.
pub const V1: &str = "v1.0";
/// Graph's beta version, for the few properties only it carries (a call
/// opts in with `Call::beta`).
pub const BETA: &str = "beta";
/// Longest wait honoured from a `Retry-After` header.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Safety net against hot loops; the deadline is the real bound.
const MAX_ATTEMPTS: u32 = 60;
/// The longest one read (GET) waits for its answer, within the operation's remaining time:
/// Graph answers reads in well under a second, so a read silent this long is hung, and is
/// abandoned and sent again while the operation has time left. Writes wait as long as the
/// operation's remaining time allows (sending a create twice is not harmless).
pub(super) const READ_REQUEST_TIMEOUT: Duration = if cfg!(test) {
    // The unit tests' hung servers would otherwise hold every test for 30 s.
    Duration::from_millis(700)
} else {
    Duration::from_secs(30)
};

/// Characters escaped in a path segment (RFC 3986 pchar, and `#`/`?`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Characters escaped in a query parameter value.
const QUERY_VALUE: &AsciiSet = &SEGMENT.add(b'&').add(b'+').add(b'=').add(b';');

/// Escapes one path segment (a UPN like `a_b.com#EXT#@x` must not end the path).
pub(super) fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Escapes a query parameter value (`$filter`, `$search`).
pub(super) fn q(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// Quotes a string literal for an OData `$filter` (`'` doubles).
pub(super) fn odata_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) struct TenantSession {
    tenant_id: String,
    tokens: Arc<auth::TokenCache>,
    batcher: batch::Batcher,
    /// The tenant's partner configurations, for refreshes.
    pub(super) partner_snapshot: ReadCache<PartnerConfiguration>,
    /// Per partner, `groupSyncInbound.isSyncAllowed` from one beta list of
    /// the tenant's partners (`None`: the list did not expand the policy).
    pub(super) group_sync_snapshot: ReadCache<Option<bool>>,
    /// The tenant's synchronization configurations, for refreshes (see
    /// [`super::refresh`]); any write through this process drops it.
    pub(super) configuration_snapshot: ReadCache<Arc<super::refresh::ConfigurationView>>,
    /// Refreshes of configurations and jobs asked of this tenant so far.
    pub(super) refreshes: std::sync::atomic::AtomicUsize,
    /// Graph's limit on provisionOnDemand, per job.
    pub(super) on_demand: RateWindow,
}

/// Graph for every tenant of the provider block.
pub struct GraphClient {
    http: reqwest::Client,
    /// e.g. `https://graph.microsoft.com/` (always with a trailing slash).
    graph_base: url::Url,
    login_base: url::Url,
    scope: String,
    tenants: BTreeMap<String, Arc<TenantSession>>,
    /// Serializes read-modify-write updates of shared Graph objects.
    pub(super) locks: KeyedLocks,
    /// How long a new object may take to become visible everywhere.
    replication_grace: Duration,
}

/// How long an operation may take, and who can cancel it.
#[derive(Clone)]
pub struct Scope {
    pub cancel: CancellationToken,
    pub deadline: Instant,
}

impl Scope {
    pub fn new(cancel: &CancellationToken, timeout: Duration) -> Scope {
        Scope {
            cancel: cancel.clone(),
            deadline: Instant::now() + timeout,
        }
    }

    /// How long one exchange may take from now: what is left of the operation, and for a read
    /// at most [`READ_REQUEST_TIMEOUT`]. `None` once the deadline has passed.
    pub(super) fn request_budget(&self, method: &Method) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        Some(if *method == Method::GET {
            left.min(READ_REQUEST_TIMEOUT)
        } else {
            left
        })
    }
}

/// A request that got no (complete) answer within its budget: abandoned, like a lost answer.
pub(super) fn hung(method: &str, path: &str, budget: Duration) -> GraphError {
    let mut err = GraphError::new(
        ErrorKind::Transport,
        format!("no answer from Graph within {budget:.0?}; the request was abandoned"),
    );
    err.method = method.to_owned();
    err.path = strip_query(path);
    err
}

/// How a read is sent, which decides what a 404 means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// A refresh: the read may share a `$batch` round trip with concurrent
    /// ones, and a 404 means the object is gone.
    Refresh,
    /// Right after this provider's own write: a 404 is retried until the
    /// deadline, because Graph's replicas may not have seen the write yet.
    AfterWrite,
}

/// A raw answer, before it is judged a success or an error.
pub(crate) struct RawResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

fn with_trailing_slash(mut u: url::Url) -> url::Url {
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

impl GraphClient {
    pub fn new(config: &ProviderConfig) -> Result<GraphClient, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "terraform-provider-mto/",
                env!("CARGO_PKG_VERSION")
            ))
            .connect_timeout(Duration::from_secs(10))
            // No overall timeout here: every exchange (token, request, body, `$batch` flush) is
            // bounded by what is left of its operation's `timeouts` (`Scope::request_budget`).
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let graph_base = with_trailing_slash(config.graph_endpoint.clone());
        let login_base = with_trailing_slash(config.login_endpoint.clone());
        // The token audience is Graph's origin: `https://graph.microsoft.com/.default`
        // in the public cloud, the national cloud's host elsewhere.
        let scope = format!("{}/.default", graph_base.origin().ascii_serialization());
        let mut client = GraphClient {
            http,
            graph_base,
            login_base,
            scope,
            tenants: BTreeMap::new(),
            locks: KeyedLocks::default(),
            replication_grace: config.replication_grace,
        };
        for (id, creds) in &config.tenants {
            let tokens = Arc::new(auth::TokenCache::new(creds.clone()));
            let batcher = batch::Batcher::new(batch::BatchContext {
                http: client.http.clone(),
                graph_base: client.graph_base.clone(),
                login_base: client.login_base.clone(),
                scope: client.scope.clone(),
                tokens: tokens.clone(),
                tenant_id: id.clone(),
            });
            let session = Arc::new(TenantSession {
                tenant_id: id.clone(),
                tokens,
                batcher,
                partner_snapshot: ReadCache::default(),
                group_sync_snapshot: ReadCache::default(),
                configuration_snapshot: ReadCache::default(),
                refreshes: Default::default(),
                on_demand: RateWindow::new(5, Duration::from_secs(10)),
            });
            client.tenants.insert(id.clone(), session);
        }
        Ok(client)
    }

    /// Calls into one tenant. Fails for a tenant without credentials.
    pub fn tenant(&self, tenant_id: &str, scope: &Scope) -> Result<TenantApi<'_>, GraphError> {
        let session = self.tenants.get(&tenant_id.to_ascii_lowercase()).ok_or_else(|| {
            GraphError::new(
                ErrorKind::UnknownTenant,
                format!(
                    "tenant {tenant_id} is not configured in the provider block; add a `tenant` block with its credentials (configured: {}).",
                    if self.tenants.is_empty() {
                        "none".to_owned()
                    } else {
                        self.tenants.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ),
            )
        })?;
        Ok(TenantApi {
            client: self,
            session: session.clone(),
            scope: scope.clone(),
        })
    }

    pub fn has_tenant(&self, tenant_id: &str) -> bool {
        self.tenants.contains_key(&tenant_id.to_ascii_lowercase())
    }

    /// Gets a first token for every tenant, concurrently: each tenant's
    /// outcome, by lower-case tenant id.
    pub async fn sign_in_all(&self) -> Vec<(String, Result<auth::SignIn, GraphError>)> {
        let all = self.tenants.iter().map(|(id, session)| async move {
            let out = session
                .tokens
                .sign_in(&self.http, &self.login_base, &self.scope)
                .await;
            (id.clone(), out)
        });
        futures::future::join_all(all).await
    }

    /// The application permissions in the tenant's latest token; `None`
    /// before a sign-in or when the token cannot be read.
    pub fn granted_roles(&self, tenant_id: &str) -> Option<Vec<String>> {
        self.tenants
            .get(&tenant_id.to_ascii_lowercase())?
            .tokens
            .roles()
    }

    fn url(&self, version: &str, path: &str) -> String {
        format!("{}{version}{path}", self.graph_base)
    }

    async fn token(&self, session: &TenantSession, force_new: bool) -> Result<String, GraphError> {
        session
            .tokens
            .get(&self.http, &self.login_base, &self.scope, force_new)
            .await
            .map(|t| t.value)
    }

    /// One HTTP exchange, no retries.
    #[allow(clippy::too_many_arguments)] // one call site, each argument a distinct part of the request
    async fn exchange(
        &self,
        session: &TenantSession,
        method: &Method,
        version: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&'static str, String)],
        client_request_id: &str,
        force_new_token: bool,
    ) -> Result<RawResponse, GraphError> {
        let token = self.token(session, force_new_token).await?;
        let mut req = self
            .http
            .request(method.clone(), self.url(version, path))
            .bearer_auth(token)
            .header("client-request-id", client_request_id);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let started = Instant::now();
        let resp = req.send().await.map_err(|e| {
            let mut err = GraphError::new(
                ErrorKind::Transport,
                format!("no answer from Graph: {}", auth::without_url(&e)),
            );
            err.method = method.to_string();
            err.path = strip_query(path);
            err.client_request_id = Some(client_request_id.to_owned());
            err
        })?;
        let raw = read_raw(resp).await;
        tracing::debug!(
            tenant = %session.tenant_id,
            method = %method,
            path = %strip_query(path),
            status = raw.status,
            ms = started.elapsed().as_millis() as u64,
            request_id = raw.request_id.as_deref().unwrap_or(""),
            "graph request"
        );
        Ok(raw)
    }
}

pub(crate) async fn read_raw(resp: reqwest::Response) -> RawResponse {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let request_id = resp
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    RawResponse {
        status,
        retry_after,
        request_id,
        body,
    }
}

/// `Retry-After` in seconds (Graph may send fractions such as `2.128`).
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

fn strip_query(path: &str) -> String {
    path.split('?').next().unwrap_or_default().to_owned()
}

/// Turns a non-2xx answer into a typed error.
fn error_from(
    raw: &RawResponse,
    method: &Method,
    path: &str,
    client_request_id: &str,
) -> GraphError {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Option<Inner>,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        code: Option<String>,
        message: Option<String>,
        #[serde(rename = "innerError", alias = "innererror")]
        inner: Option<serde_json::Value>,
    }
    let parsed: Option<Inner> = serde_json::from_slice::<Body>(&raw.body)
        .ok()
        .and_then(|b| b.error);
    let code = parsed
        .as_ref()
        .and_then(|p| p.code.clone())
        .unwrap_or_default();
    let message = parsed
        .as_ref()
        .and_then(|p| p.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("HTTP {}", raw.status));
    let request_id = raw.request_id.clone().or_else(|| {
        parsed
            .as_ref()
            .and_then(|p| p.inner.as_ref())
            .and_then(|i| i.get("request-id"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    });
    GraphError {
        // Graph reports some duplicates as a 400 ("… already exists …").
        kind: if raw.status == 400 && message.contains("already exists") {
            ErrorKind::Conflict
        } else {
            GraphError::classify(raw.status, &code)
        },
        status: Some(raw.status),
        code,
        message,
        method: method.to_string(),
        path: strip_query(path),
        request_id,
        client_request_id: Some(client_request_id.to_owned()),
        retry_after: raw.retry_after,
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(200).saturating_mul(1u32 << attempt.min(6));
    let capped = base.min(Duration::from_secs(10));
    // Full jitter in [50%, 100%] keeps parallel retries from marching in step.
    capped.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

/// Calls into one tenant, within one operation's scope.
pub struct TenantApi<'a> {
    client: &'a GraphClient,
    session: Arc<TenantSession>,
    scope: Scope,
}

type RetryPredicate = Box<dyn Fn(&GraphError) -> bool + Send + Sync>;

/// One Graph call, configured then sent. Built only by the service
/// modules of `graph`.
pub(super) struct Call<'a> {
    api: &'a TenantApi<'a>,
    method: Method,
    version: &'static str,
    path: String,
    body: Option<serde_json::Value>,
    headers: Vec<(&'static str, String)>,
    retry_not_found: bool,
    /// Whether sending twice is harmless (false for creates that would
    /// make a second object).
    idempotent: bool,
    retry_if: Option<RetryPredicate>,
    batched: bool,
    deadline: Option<Instant>,
}

impl<'a> TenantApi<'a> {
    pub fn tenant_id(&self) -> &str {
        &self.session.tenant_id
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Graph for another tenant of the provider block, within the same
    /// operation's scope.
    pub fn other_tenant(&self, tenant_id: &str) -> Result<TenantApi<'a>, GraphError> {
        self.client.tenant(tenant_id, &self.scope)
    }

    /// The same tenant with a shorter deadline (never a longer one).
    pub fn with_deadline(&self, deadline: Instant) -> TenantApi<'a> {
        TenantApi {
            client: self.client,
            session: self.session.clone(),
            scope: Scope {
                cancel: self.scope.cancel.clone(),
                deadline: self.scope.deadline.min(deadline),
            },
        }
    }

    pub(super) fn session(&self) -> &TenantSession {
        &self.session
    }

    pub(super) fn locks(&self) -> &KeyedLocks {
        &self.client.locks
    }

    fn call(&'a self, method: Method, path: impl Into<String>) -> Call<'a> {
        Call {
            api: self,
            method,
            version: V1,
            path: path.into(),
            body: None,
            headers: Vec::new(),
            retry_not_found: false,
            idempotent: true,
            retry_if: None,
            batched: false,
            deadline: None,
        }
    }

    /// `path` starts with `/` and is relative to the version root
    /// (`/users/{id}`); escape user input with [`seg`] and [`q`].
    pub(super) fn get(&'a self, path: impl Into<String>) -> Call<'a> {
        self.call(Method::GET, path)
    }

    pub(super) fn post(&'a self, path: impl Into<String>, body: serde_json::Value) -> Call<'a> {
        self.call(Method::POST, path).body(body)
    }

    pub(super) fn patch(&'a self, path: impl Into<String>, body: serde_json::Value) -> Call<'a> {
        self.call(Method::PATCH, path).body(body)
    }

    pub(super) fn put(&'a self, path: impl Into<String>, body: serde_json::Value) -> Call<'a> {
        self.call(Method::PUT, path).body(body)
    }

    pub(super) fn delete(&'a self, path: impl Into<String>) -> Call<'a> {
        self.call(Method::DELETE, path)
    }

    /// One object, sent as `mode` says; `None` when Graph answers 404.
    pub(super) async fn find<T: DeserializeOwned>(
        &'a self,
        path: String,
        mode: ReadMode,
    ) -> Result<Option<T>, GraphError> {
        self.get(path).read_mode(mode).optional().await
    }

    /// Every item of a collection, following `@odata.nextLink`.
    pub(super) async fn get_all(
        &'a self,
        path: &str,
    ) -> Result<Vec<serde_json::Value>, GraphError> {
        self.get_all_with(path, &[]).await
    }

    /// Every item of a collection, decoded.
    pub(super) async fn list<T: DeserializeOwned>(
        &'a self,
        path: &str,
    ) -> Result<Vec<T>, GraphError> {
        let items = self.get_all(path).await?;
        decode_items(items, path)
    }

    /// Every item of a collection of Graph's beta version, decoded (for
    /// the few properties only beta carries).
    pub(super) async fn list_beta<T: DeserializeOwned>(
        &'a self,
        path: &str,
    ) -> Result<Vec<T>, GraphError> {
        let items = self.get_all_in(BETA, path, &[]).await?;
        decode_items(items, path)
    }

    /// As [`TenantApi::get_all`], sending `headers` with every page (Graph
    /// does not carry `ConsistencyLevel` over to the next page by itself).
    pub(super) async fn get_all_with(
        &'a self,
        path: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Vec<serde_json::Value>, GraphError> {
        self.get_all_in(V1, path, headers).await
    }

    async fn get_all_in(
        &'a self,
        version: &'static str,
        path: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Vec<serde_json::Value>, GraphError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        let prefix = format!("{}{version}", self.client.graph_base);
        let mut first = true;
        while let Some(p) = next.take() {
            let mut call = self.get(p);
            if version == BETA {
                call = call.beta();
            }
            for (k, v) in headers {
                call = call.header(k, *v);
            }
            // The first page may share a round trip with concurrent reads.
            if first {
                call = call.batched();
            }
            first = false;
            let page = call.send().await?.unwrap_or_default();
            if let Some(values) = page.get("value").and_then(|v| v.as_array()) {
                items.extend(values.iter().cloned());
            }
            if let Some(link) = page.get("@odata.nextLink").and_then(|v| v.as_str()) {
                // A token must never follow a link to another host.
                let Some(rest) = link.strip_prefix(&prefix) else {
                    return Err(GraphError::new(
                        ErrorKind::InvalidResponse,
                        format!(
                            "Graph returned a next page outside its endpoint ({link}); refusing to follow it."
                        ),
                    ));
                };
                next = Some(rest.to_owned());
            }
        }
        Ok(items)
    }
}

/// Decodes the items of a collection, naming the path when one is unreadable.
pub(super) fn decode_items<T: DeserializeOwned>(
    items: Vec<serde_json::Value>,
    path: &str,
) -> Result<Vec<T>, GraphError> {
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value(item).map_err(|e| {
                let mut err = GraphError::new(
                    ErrorKind::InvalidResponse,
                    format!("unexpected item from Graph: {e}"),
                );
                err.method = "GET".into();
                err.path = strip_query(path);
                err
            })
        })
        .collect()
}

impl<'a> Call<'a> {
    pub(super) fn body(mut self, body: serde_json::Value) -> Call<'a> {
        self.body = Some(body);
        self
    }

    pub(super) fn header(mut self, name: &'static str, value: impl Into<String>) -> Call<'a> {
        self.headers.push((name, value.into()));
        self
    }

    /// Retries 404 until the deadline: for reads right after our own write,
    /// which Graph's replicas may not have seen yet.
    pub(super) fn retry_not_found(mut self) -> Call<'a> {
        self.retry_not_found = true;
        self
    }

    /// Retries 404 only for the provider block's replication grace period:
    /// for a request that names an object this provider did not just
    /// write (a user to assign may be missing for good — a typo — and must
    /// not hold the apply until its timeout).
    pub(super) fn retry_not_found_briefly(mut self) -> Call<'a> {
        self.retry_not_found = true;
        let until = Instant::now() + self.api.client.replication_grace;
        self.deadline = Some(self.deadline.map_or(until, |d| d.min(until)));
        self
    }

    /// Sends the call to Graph's beta version (a batched read shares a
    /// beta `$batch`: a batch belongs to one version, and the batcher keeps
    /// a queue per version).
    pub(super) fn beta(mut self) -> Call<'a> {
        self.version = BETA;
        self
    }

    /// Retries errors the caller knows to be transient here.
    pub(super) fn retry_if(
        mut self,
        f: impl Fn(&GraphError) -> bool + Send + Sync + 'static,
    ) -> Call<'a> {
        self.retry_if = Some(Box::new(f));
        self
    }

    /// Marks a create that must not be sent twice: after a transport
    /// failure the caller looks for the object before trying again.
    pub(super) fn not_idempotent(mut self) -> Call<'a> {
        self.idempotent = false;
        self
    }

    /// Stops retrying earlier than the operation's deadline.
    pub(super) fn deadline(mut self, at: Instant) -> Call<'a> {
        self.deadline = Some(at);
        self
    }

    /// Sends a read as `mode` says.
    pub(super) fn read_mode(self, mode: ReadMode) -> Call<'a> {
        match mode {
            ReadMode::Refresh => self.batched(),
            ReadMode::AfterWrite => self.retry_not_found(),
        }
    }

    /// Lets a GET share a `$batch` round trip with concurrent reads.
    pub(super) fn batched(mut self) -> Call<'a> {
        self.batched = self.method == Method::GET && self.headers.is_empty();
        self
    }

    /// Sends with retries. `Ok(None)` for an empty (204) answer.
    pub(super) async fn send(self) -> Result<Option<serde_json::Value>, GraphError> {
        let api = self.api;
        if self.method != Method::GET {
            // What a write changes must not be answered from a snapshot.
            api.session().configuration_snapshot.clear();
        }
        let client = api.client;
        let scope = &api.scope;
        let deadline = self
            .deadline
            .map_or(scope.deadline, |d| d.min(scope.deadline));
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let mut attempt = 0u32;
        let mut force_new_token = false;
        let started = Instant::now();
        let mut last_err: Option<GraphError> = None;
        loop {
            if scope.cancel.is_cancelled() {
                let mut e = GraphError::new(
                    ErrorKind::Cancelled,
                    "cancelled: Terraform asked the provider to stop",
                );
                e.method = self.method.to_string();
                e.path = strip_query(&self.path);
                return Err(e);
            }
            let Some(budget) = scope.request_budget(&self.method) else {
                let mut e = last_err.unwrap_or_else(|| {
                    let mut e = GraphError::new(ErrorKind::Transport, "not sent");
                    e.method = self.method.to_string();
                    e.path = strip_query(&self.path);
                    e
                });
                e.message = format!(
                    "{}: the operation's timeout ran out; raise it in the `timeouts` block",
                    e.message.trim_end()
                );
                return Err(e);
            };
            let exchange = async {
                if self.batched {
                    api.session
                        .batcher
                        .submit(self.version, &self.path, force_new_token, budget)
                        .await
                } else {
                    client
                        .exchange(
                            &api.session,
                            &self.method,
                            self.version,
                            &self.path,
                            self.body.as_ref(),
                            &self.headers,
                            &client_request_id,
                            force_new_token,
                        )
                        .await
                }
            };
            // Dropping the exchange abandons its connection (and a token request in flight).
            let outcome = tokio::select! {
                r = tokio::time::timeout(budget, exchange) => r.unwrap_or_else(|_| {
                    let mut e = hung(self.method.as_str(), &self.path, budget);
                    e.client_request_id = Some(client_request_id.clone());
                    Err(e)
                }),
                _ = scope.cancel.cancelled() => continue,
            };
            let err = match outcome {
                Ok(raw) if (200..300).contains(&raw.status) => {
                    if raw.body.iter().all(u8::is_ascii_whitespace) {
                        return Ok(None);
                    }
                    return serde_json::from_slice(&raw.body).map(Some).map_err(|e| {
                        let mut err = GraphError::new(
                            ErrorKind::InvalidResponse,
                            format!("unreadable JSON from Graph: {e}"),
                        );
                        err.method = self.method.to_string();
                        err.path = strip_query(&self.path);
                        err.request_id = raw.request_id.clone();
                        err
                    });
                }
                Ok(raw) => error_from(&raw, &self.method, &self.path, &client_request_id),
                Err(e) => e,
            };
            let delay = match err.kind {
                ErrorKind::Unauthorized if !force_new_token => {
                    force_new_token = true;
                    Some(Duration::ZERO)
                }
                ErrorKind::Throttled => Some(err.retry_after.unwrap_or_else(|| backoff(attempt))),
                // No answer: the request may or may not have been carried
                // out. Sending it again is safe only if it is idempotent.
                ErrorKind::Transport if self.idempotent => Some(backoff(attempt)),
                ErrorKind::Server if matches!(err.status, Some(500 | 502 | 503 | 504)) => {
                    Some(err.retry_after.unwrap_or_else(|| backoff(attempt)))
                }
                ErrorKind::NotFound if self.retry_not_found => Some(backoff(attempt)),
                _ if self.retry_if.as_ref().is_some_and(|f| f(&err)) => Some(backoff(attempt)),
                _ => None,
            };
            let Some(delay) = delay else { return Err(err) };
            attempt += 1;
            if attempt >= MAX_ATTEMPTS || Instant::now() + delay >= deadline {
                let mut err = err;
                if attempt > 1 {
                    err.message = format!(
                        "{} (gave up after {attempt} attempts over {:.0?})",
                        err.message.trim_end(),
                        started.elapsed()
                    );
                }
                return Err(err);
            }
            last_err = Some(err);
            if !delay.is_zero() {
                tracing::debug!(path = %strip_query(&self.path), attempt, delay_ms = delay.as_millis() as u64, "retrying graph call");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = scope.cancel.cancelled() => {}
                }
            }
        }
    }

    /// Sends, ignoring the answer's body.
    pub(super) async fn done(self) -> Result<(), GraphError> {
        self.send().await.map(|_| ())
    }

    /// Sends and decodes the answer; `None` when Graph answers 404.
    pub(super) async fn optional<T: DeserializeOwned>(self) -> Result<Option<T>, GraphError> {
        match self.json().await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends and decodes the answer (an empty answer decodes as JSON null).
    pub(super) async fn json<T: DeserializeOwned>(self) -> Result<T, GraphError> {
        let method = self.method.to_string();
        let path = strip_query(&self.path);
        let v = self.send().await?.unwrap_or(serde_json::Value::Null);
        serde_json::from_value(v).map_err(|e| {
            let mut err = GraphError::new(
                ErrorKind::InvalidResponse,
                format!("unexpected answer from Graph: {e}"),
            );
            err.method = method;
            err.path = path;
            err
        })
    }
}
