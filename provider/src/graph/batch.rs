//! Coalescing concurrent GETs into `$batch` requests.
//!
//! The first read that arrives schedules a flush a few milliseconds later;
//! reads that arrive meanwhile join it. A flush sends up to 20 reads per
//! `$batch` (Graph's limit); a lone read goes out as a plain GET. Inner
//! answers come back as ordinary responses, so the caller's retry policy
//! (429 with its own Retry-After, 404 after create, ...) applies unchanged.
//!
//! Flushes run in spawned tasks, so a caller that is cancelled never
//! strands the reads that joined its batch. A flush gives up when the last
//! of its reads' budgets runs out (each caller also stops waiting at its
//! own), so a hung Graph never holds a flush, or a token request in it, for
//! longer than the operations that wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::oneshot;

use super::auth::TokenCache;
use super::client::{RawResponse, hung, parse_retry_after, read_raw};
use super::error::{ErrorKind, GraphError};

/// How long the first read waits for company. Terraform starts its parallel
/// refreshes within a millisecond or two of each other.
const WINDOW: Duration = Duration::from_millis(3);
/// Graph's limit of requests per `$batch`.
const MAX_BATCH: usize = 20;

/// What a flush needs, independent of the client that created it.
#[derive(Clone)]
pub(crate) struct BatchContext {
    pub http: reqwest::Client,
    pub graph_base: url::Url,
    pub login_base: url::Url,
    pub scope: String,
    pub tokens: Arc<TokenCache>,
    pub tenant_id: String,
}

/// What a batched read gets back.
type Reply = Result<RawResponse, GraphError>;

struct Pending {
    path: String,
    force_new_token: bool,
    /// When the caller stops waiting.
    deadline: Instant,
    reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct Queue {
    items: Vec<Pending>,
    flush_scheduled: bool,
}

pub(crate) struct Batcher {
    ctx: BatchContext,
    /// By API version. A std mutex: held only to push or take items.
    queues: Arc<Mutex<HashMap<&'static str, Queue>>>,
}

impl Batcher {
    pub fn new(ctx: BatchContext) -> Batcher {
        Batcher {
            ctx,
            queues: Arc::default(),
        }
    }

    /// Sends a read with the next flush; waits for its answer at most `budget`.
    pub async fn submit(
        &self,
        version: &'static str,
        path: &str,
        force_new_token: bool,
        budget: Duration,
    ) -> Result<RawResponse, GraphError> {
        let (tx, rx) = oneshot::channel();
        let (schedule, full) = {
            let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            let q = queues.entry(version).or_default();
            q.items.push(Pending {
                path: path.to_owned(),
                force_new_token,
                deadline: Instant::now() + budget,
                reply: tx,
            });
            let schedule = !q.flush_scheduled;
            q.flush_scheduled = true;
            let full = if q.items.len() >= MAX_BATCH {
                Some(std::mem::take(&mut q.items))
            } else {
                None
            };
            (schedule, full)
        };
        if let Some(items) = full {
            tokio::spawn(send_all(self.ctx.clone(), version, items));
        }
        if schedule {
            let ctx = self.ctx.clone();
            let queues = self.queues.clone();
            tokio::spawn(async move {
                tokio::time::sleep(WINDOW).await;
                let items = {
                    let mut queues = queues.lock().unwrap_or_else(|e| e.into_inner());
                    let q = queues.entry(version).or_default();
                    q.flush_scheduled = false;
                    std::mem::take(&mut q.items)
                };
                send_all(ctx, version, items).await;
            });
        }
        match tokio::time::timeout(budget, rx).await {
            Ok(reply) => reply.unwrap_or_else(|_| {
                Err(GraphError::new(
                    ErrorKind::Transport,
                    "batched read was dropped",
                ))
            }),
            Err(_) => Err(hung("GET", path, budget)),
        }
    }
}

async fn send_all(ctx: BatchContext, version: &'static str, mut items: Vec<Pending>) {
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(MAX_BATCH));
        let chunk = std::mem::replace(&mut items, rest);
        tokio::spawn(send_chunk(ctx.clone(), version, chunk));
    }
}

#[derive(Deserialize)]
struct BatchResponse {
    responses: Vec<InnerResponse>,
}

#[derive(Deserialize)]
struct InnerResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: Option<serde_json::Value>,
}

async fn send_chunk(ctx: BatchContext, version: &'static str, items: Vec<Pending>) {
    let force = items.iter().any(|p| p.force_new_token);
    let Some(until) = items.iter().map(|p| p.deadline).max() else {
        return;
    };
    let budget = until.saturating_duration_since(Instant::now());
    if items.len() == 1 {
        let item = items.into_iter().next().expect("one item");
        let result =
            tokio::time::timeout_at(until.into(), single(&ctx, version, &item.path, force))
                .await
                .unwrap_or_else(|_| Err(hung("GET", &item.path, budget)));
        let _ = item.reply.send(result);
        return;
    }
    let answers = tokio::time::timeout_at(until.into(), batch(&ctx, version, &items, force))
        .await
        .unwrap_or_else(|_| Err(Outer::Error(hung("POST", "/$batch", budget))));
    match answers {
        Ok(mut answers) => {
            for (i, item) in items.into_iter().enumerate() {
                let answer = answers.remove(&i.to_string()).unwrap_or_else(|| {
                    Err(GraphError::new(
                        ErrorKind::InvalidResponse,
                        "$batch answer is missing a request",
                    ))
                });
                let _ = item.reply.send(answer);
            }
        }
        Err(outer) => {
            // The whole batch failed: every read sees the same answer and
            // decides for itself whether to retry.
            for item in items {
                let _ = item.reply.send(outer.clone_for_item());
            }
        }
    }
}

/// A whole-batch failure, shareable between its reads.
enum Outer {
    Raw {
        status: u16,
        retry_after: Option<Duration>,
        request_id: Option<String>,
        body: Vec<u8>,
    },
    Error(GraphError),
}

impl Outer {
    fn clone_for_item(&self) -> Result<RawResponse, GraphError> {
        match self {
            Outer::Raw {
                status,
                retry_after,
                request_id,
                body,
            } => Ok(RawResponse {
                status: *status,
                retry_after: *retry_after,
                request_id: request_id.clone(),
                body: body.clone(),
            }),
            Outer::Error(e) => Err(e.clone()),
        }
    }
}

async fn token(ctx: &BatchContext, force: bool) -> Result<String, GraphError> {
    ctx.tokens
        .get(&ctx.http, &ctx.login_base, &ctx.scope, force)
        .await
        .map(|t| t.value)
}

async fn single(
    ctx: &BatchContext,
    version: &str,
    path: &str,
    force: bool,
) -> Result<RawResponse, GraphError> {
    let token = token(ctx, force).await?;
    let started = Instant::now();
    let resp = ctx
        .http
        .get(format!("{}{version}{path}", ctx.graph_base))
        .bearer_auth(token)
        .header("client-request-id", uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .map_err(|e| transport_error("GET", path, &e))?;
    let raw = read_raw(resp).await;
    tracing::debug!(tenant = %ctx.tenant_id, method = "GET", path = %path.split('?').next().unwrap_or_default(),
        status = raw.status, ms = started.elapsed().as_millis() as u64, "graph request");
    Ok(raw)
}

fn transport_error(method: &str, path: &str, e: &reqwest::Error) -> GraphError {
    let mut err = GraphError::new(
        ErrorKind::Transport,
        format!("no answer from Graph: {}", super::auth::without_url(e)),
    );
    err.method = method.to_owned();
    err.path = path.split('?').next().unwrap_or_default().to_owned();
    err
}

async fn batch(
    ctx: &BatchContext,
    version: &str,
    items: &[Pending],
    force: bool,
) -> Result<HashMap<String, Reply>, Outer> {
    let requests: Vec<serde_json::Value> = items
        .iter()
        .enumerate()
        .map(|(i, p)| serde_json::json!({"id": i.to_string(), "method": "GET", "url": p.path}))
        .collect();
    let body = serde_json::json!({ "requests": requests });
    let url = format!("{}{version}/$batch", ctx.graph_base);
    let mut force = force;
    for _ in 0..2 {
        let token = token(ctx, force).await.map_err(Outer::Error)?;
        let started = Instant::now();
        let resp = ctx
            .http
            .post(&url)
            .bearer_auth(token)
            .header("client-request-id", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| Outer::Error(transport_error("POST", "/$batch", &e)))?;
        let raw = read_raw(resp).await;
        tracing::debug!(tenant = %ctx.tenant_id, method = "POST", path = "/$batch", requests = items.len(),
            status = raw.status, ms = started.elapsed().as_millis() as u64, "graph request");
        if raw.status == 401 && !force {
            force = true;
            continue;
        }
        if !(200..300).contains(&raw.status) {
            return Err(Outer::Raw {
                status: raw.status,
                retry_after: raw.retry_after,
                request_id: raw.request_id,
                body: raw.body,
            });
        }
        let parsed: BatchResponse = serde_json::from_slice(&raw.body).map_err(|e| {
            Outer::Error(GraphError::new(
                ErrorKind::InvalidResponse,
                format!("unreadable $batch answer: {e}"),
            ))
        })?;
        return Ok(parsed
            .responses
            .into_iter()
            .map(|r| {
                let header = |name: &str| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                };
                let answer = RawResponse {
                    status: r.status,
                    retry_after: header("retry-after").as_deref().and_then(parse_retry_after),
                    request_id: header("request-id").or_else(|| raw.request_id.clone()),
                    body: r
                        .body
                        .map(|b| serde_json::to_vec(&b).unwrap_or_default())
                        .unwrap_or_default(),
                };
                (r.id, Ok(answer))
            })
            .collect());
    }
    Err(Outer::Error(GraphError::new(
        ErrorKind::Unauthorized,
        "Graph refused a fresh token for $batch",
    )))
}
