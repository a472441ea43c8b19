//! Pieces every resource uses: the tenant attributes, waiting for Graph's
//! asynchronous operations, composite ids, per-object locks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tfplugin::validate::Guid;
use tfplugin::{Attribute, AttributePath, Ctx, Diagnostics, Value};

use crate::Client;
use crate::graph::{ErrorKind, GraphError, Scope, TenantApi};

/// The tenant a resource acts in: required, a GUID, and replacing the
/// resource when it changes (objects cannot move between tenants).
pub fn tenant_id_attribute(what: &str) -> Attribute {
    Attribute::string("tenant_id")
        .required()
        .validator(Guid)
        .requires_replace()
        .description(format!(
            "The tenant {what}. The provider block must hold credentials for it (a `tenant` block)."
        ))
}

/// A tenant-id attribute other than `tenant_id` (e.g. the partner tenant).
pub fn other_tenant_attribute(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .required()
        .validator(Guid)
        .requires_replace()
        .description(description.to_owned())
}

/// The description of every resource's `timeouts` block.
pub const TIMEOUTS: &str = "How long each operation may wait for Microsoft Graph before it fails.";

/// `id`: computed once at create and then stable.
pub fn id_attribute(description: &str) -> Attribute {
    Attribute::string("id")
        .computed()
        .use_state_for_unknown()
        .description(description.to_owned())
}

/// Refuses a plan that names a tenant the provider has no credentials for,
/// and a pair whose two tenants are the same. Call from `modify_plan`.
pub fn check_tenants(
    ctx: &Ctx<'_, Client>,
    config: &Value,
    diags: &mut Diagnostics,
    attrs: &[&str],
) {
    for a in attrs {
        if let Some(id) = config.get(a).as_str()
            && !ctx.client.graph.has_tenant(id)
        {
            diags.error_at(
                AttributePath::root().attr(*a),
                "Tenant not configured",
                format!(
                    "Tenant {id} has no credentials in the provider block. Add a `tenant {{ tenant_id = \"{id}\" ... }}` block to the mto provider."
                ),
            );
        }
    }
}

/// Refuses `a == b` for two tenant attributes (a share to itself).
pub fn check_distinct(config: &Value, a: &str, b: &str, diags: &mut Diagnostics) {
    if let (Some(x), Some(y)) = (config.get(a).as_str(), config.get(b).as_str())
        && x.eq_ignore_ascii_case(y)
    {
        diags.error_at(
            AttributePath::root().attr(b),
            "Same tenant on both sides",
            format!("{b} must differ from {a}: a tenant cannot share with or accept from itself."),
        );
    }
}

/// Composite ids, joined with `/` (tenant ids and Graph ids never contain it).
pub fn join_id(parts: &[&str]) -> String {
    parts.join("/")
}

/// Splits an import id into exactly `n` non-empty parts, with a message
/// that shows the expected shape.
pub fn split_id(id: &str, shape: &str, n: usize) -> Result<Vec<String>, Diagnostics> {
    let parts: Vec<String> = id.split('/').map(|p| p.trim().to_owned()).collect();
    if parts.len() != n || parts.iter().any(String::is_empty) {
        let mut d = Diagnostics::new();
        d.error(
            "Invalid import id",
            format!("Expected an id of the form {shape}, got {id:?}."),
        );
        return Err(d);
    }
    Ok(parts)
}

/// Checks that the given parts of an import id are GUIDs.
pub fn require_guids(parts: &[(&str, &str)]) -> Result<(), Diagnostics> {
    let mut d = Diagnostics::new();
    for (name, value) in parts {
        if !tfplugin::validate::is_guid(value) {
            d.error(
                "Invalid import id",
                format!("{name} must be a GUID, got {value:?}."),
            );
        }
    }
    if d.has_errors() { Err(d) } else { Ok(()) }
}

/// Polls `check` until it returns `Some`, with growing pauses (250 ms up to
/// `max_pause`), until the scope's deadline. For Graph's asynchronous
/// operations (MTO joins and removals) there is no event to wait on.
pub async fn wait_until<T, F, Fut>(
    scope: &Scope,
    max_pause: Duration,
    what: &str,
    mut check: F,
) -> Result<T, GraphError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, GraphError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() + pause >= scope.deadline {
            return Err(GraphError::new(
                ErrorKind::Timeout,
                format!(
                    "timed out after {:.0?} waiting for {what}; raise the timeout in the `timeouts` block",
                    started.elapsed()
                ),
            ));
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = scope.cancel.cancelled() => {
                return Err(GraphError::new(ErrorKind::Cancelled, format!("cancelled while waiting for {what}")));
            }
        }
        pause = (pause * 2).min(max_pause);
    }
}

/// Per-object locks within one provider process: read-modify-write updates
/// of one Graph object (a partner configuration shared by an acceptance and
/// a share) must not interleave.
#[derive(Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    pub async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key.to_ascii_lowercase()).or_default().clone()
        };
        m.lock_owned().await
    }
}

/// The Graph API of the tenant a resource or data source acts in, for one
/// operation of at most `timeout`; an error diagnostic on `tenant_id` when
/// the provider block has no credentials for it.
pub fn tenant_api<'a>(
    ctx: &'a Ctx<'_, Client>,
    tenant_id: &str,
    timeout: Duration,
) -> Result<TenantApi<'a>, Diagnostics> {
    let scope = Scope::new(ctx.cancel, timeout);
    ctx.client.graph.tenant(tenant_id, &scope).map_err(|e| {
        crate::diag::graph_at(
            AttributePath::root().attr("tenant_id"),
            "Tenant not configured",
            &e,
        )
        .into()
    })
}

/// Reads a string attribute that the schema makes required.
pub fn req_str<'v>(v: &'v Value, name: &str) -> &'v str {
    v.get(name).as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_are_checked_for_shape() {
        assert_eq!(split_id("a/b", "<x>/<y>", 2).unwrap(), ["a", "b"]);
        let e = split_id("a//b", "<x>/<y>", 2).unwrap_err();
        assert!(e.to_string().contains("<x>/<y>"));
        assert!(split_id("a", "<x>/<y>", 2).is_err());
        assert!(require_guids(&[("tenant", "nope")]).is_err());
    }

    #[tokio::test]
    async fn wait_until_times_out_with_a_clear_message() {
        let scope = Scope::new(
            &tokio_util::sync::CancellationToken::new(),
            Duration::from_millis(600),
        );
        let e = wait_until(&scope, Duration::from_millis(100), "the join", || async {
            Ok::<Option<()>, _>(None)
        })
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.contains("the join"));
    }
}

/// A string property of a Graph object as a value (null when absent).
pub fn json_str(doc: &serde_json::Value, key: &str) -> Value {
    match doc.get(key).and_then(|v| v.as_str()) {
        Some(s) => Value::from(s),
        None => Value::Null,
    }
}

/// A boolean property of a Graph object as a value (null when absent).
pub fn json_bool(doc: &serde_json::Value, key: &str) -> Value {
    match doc.get(key).and_then(|v| v.as_bool()) {
        Some(b) => Value::Bool(b),
        None => Value::Null,
    }
}

/// Graph often returns `""` where the user configured nothing (or the
/// reverse); both mean "no value", so keep whichever the state already has
/// instead of reporting a change.
pub fn keep_empty_equivalent(new: Value, prior: &Value) -> Value {
    let empty = |v: &Value| v.is_null() || v.as_str() == Some("");
    if empty(&new) && empty(prior) {
        prior.clone()
    } else {
        new
    }
}

/// Whole-collection snapshots for refresh: when Terraform refreshes many
/// resources of one tenant, one list request can answer all their reads.
/// Entries live for a short time and are dropped by any write through the
/// same provider process (writes never read from here).
#[derive(Default)]
pub struct ReadCache {
    entries: Mutex<HashMap<String, Arc<CacheEntry>>>,
}

type Snapshot = Arc<HashMap<String, serde_json::Value>>;

struct CacheEntry {
    created: Instant,
    cell: tokio::sync::OnceCell<Snapshot>,
}

impl ReadCache {
    /// The snapshot under `key`, fetched once (concurrent callers wait for
    /// the same fetch). Failed fetches are not kept.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Snapshot, GraphError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<HashMap<String, serde_json::Value>, GraphError>>,
    {
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = entries
                .get(key)
                .filter(|e| e.created.elapsed() < ttl)
                .cloned();
            match fresh {
                Some(e) => e,
                None => {
                    let e = Arc::new(CacheEntry {
                        created: Instant::now(),
                        cell: tokio::sync::OnceCell::new(),
                    });
                    entries.insert(key.to_owned(), e.clone());
                    e
                }
            }
        };
        entry
            .cell
            .get_or_try_init(|| async { fetch().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Drops every snapshot whose key starts with `prefix`.
    pub fn invalidate(&self, prefix: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|k, _| !k.starts_with(prefix));
    }
}

const CREATED_AT: &str = "created_at";

/// Records in private state when the resource created its object.
pub fn mark_created(private: &mut tfplugin::Private) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    private.set(CREATED_AT, now);
}

/// The rest of the grace period, if the object was created recently.
pub fn settle_remaining(private: &tfplugin::Private, grace: Duration) -> Option<Duration> {
    let created: u64 = private.get(CREATED_AT)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    grace
        .checked_sub(Duration::from_secs(now.saturating_sub(created)))
        .filter(|d| !d.is_zero())
}

/// A refresh found nothing. Graph replicates new objects with a delay, so
/// if this provider created the object less than the provider's
/// `replication_grace_period` ago, look again (directly, not through
/// snapshots) until it shows up or the period ends: a spurious "will be
/// created" right after an apply is worse than a short wait.
pub async fn settle<T, F, Fut>(
    ctx: &Ctx<'_, Client>,
    private: &tfplugin::Private,
    mut fetch: F,
) -> Result<Option<T>, GraphError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, GraphError>>,
{
    let Some(remaining) = settle_remaining(private, ctx.client.config.replication_grace) else {
        return Ok(None);
    };
    let scope = Scope::new(ctx.cancel, remaining);
    match wait_until(
        &scope,
        Duration::from_secs(2),
        "a new object to replicate",
        &mut fetch,
    )
    .await
    {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::Timeout => Ok(None),
        Err(e) => Err(e),
    }
}
