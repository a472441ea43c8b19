//! One synchronization cycle of one job, and provision-on-demand of a few users.
//!
//! Everything here is synchronous and runs on tokio's blocking pool (callers use
//! `spawn_blocking`); it talks to SQLite through [`Store::read_blocking`] /
//! [`Store::write_blocking`], one short call at a time, so Graph requests interleave with a long
//! cycle. Work is done in chunks of [`CHUNK`] users: the source documents of a chunk are read and
//! evaluated, then every change of the chunk is applied in **one** write transaction that
//! re-checks the links inside it. A crash loses at most the chunk in flight, and because a target
//! user, its B2B link and the job's entry are written together, the next cycle neither duplicates
//! nor loses anyone (see [`crate::store::sync`]).
//!
//! A cycle:
//! 1. loads the job, its secrets (`CompanyId` = target tenant, `SyncAll`) and compiled schema;
//! 2. checks the policies ([`super::policy`]); a failure — or a job already in quarantine —
//!    quarantines the job and ends the cycle;
//! 3. computes the scope (assigned users and direct members of assigned groups, or every user
//!    with `SyncAll`), keeping internal members only (`userType` Member, no `#EXT#` UPN) that
//!    pass the user mapping's scoping filter ([`super::scope`]);
//! 4. for each user whose mapped values changed since the last export (a 64-bit hash per entry):
//!    matches its B2B user through the alternativeSecurityId link, then creates, updates or
//!    restores it; a conflict with another target user (UPN, mail, proxy address) is an escrow;
//! 5. soft-deletes the target users of entries that left the scope (when `Delete` is a flow type);
//! 6. runs the group phase when the group mapping is enabled ([`super::groups`]);
//! 7. writes the job status (counts, last execution, steady state) and the next due time.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::expr::{self, Val};
use super::groups;
use super::policy;
use super::schema::{self, GroupRule, Object, Source, SourceRef, Target, UserRule};
use super::status;
use crate::directory::users::{new_user_doc, restore_user, soft_delete_user};
use crate::error::ApiError;
use crate::store::docs::{self, Doc, kind};
use crate::store::sync::{self as ss, Entry, JobRow, state};
use crate::store::tenants;
use crate::store::{Conn, Store, StoreError};
use crate::util::{now_ms, rfc3339};

/// Users per transaction.
pub const CHUNK: usize = 2000;
/// How long a user soft-deleted by the engine can be restored (then it is purged and recreated).
pub const RESTORE_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// Identifies a job.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobKey {
    /// Source tenant.
    pub tenant_id: String,
    /// Service principal.
    pub service_principal_id: String,
    /// Job id.
    pub job_id: String,
}

impl JobKey {
    /// Build from parts.
    pub fn new(tenant: &str, sp: &str, job: &str) -> JobKey {
        JobKey {
            tenant_id: tenant.to_string(),
            service_principal_id: sp.to_string(),
            job_id: job.to_string(),
        }
    }
}

/// What a cycle did (the per-job summary of `POST /_sandbox/sync/run`).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleReport {
    /// Source tenant.
    pub tenant_id: String,
    /// Service principal.
    pub service_principal_id: String,
    /// Job.
    pub job_id: String,
    /// Target tenant (`CompanyId`), if known.
    pub target_tenant_id: Option<String>,
    /// `Succeeded`, `EntryLevelErrors`, `Failed`, or `Skipped` (job not started / deleted).
    pub state: String,
    /// The job's status code after the cycle.
    pub status_code: String,
    /// Internal members in scope.
    pub count_entitled: u64,
    /// Writes to the target (created + updated + deleted + restored).
    pub count_exported: u64,
    /// Users created in the target.
    pub created: u64,
    /// Users updated.
    pub updated: u64,
    /// Users soft-deleted.
    pub deleted: u64,
    /// Users restored from deleted items.
    pub restored: u64,
    /// Entries in escrow after the cycle.
    pub count_escrowed: u64,
    /// Groups created in the target.
    pub groups_created: u64,
    /// Groups updated (attributes or members).
    pub groups_updated: u64,
    /// Groups deleted in the target.
    pub groups_deleted: u64,
    /// Why the cycle failed or was skipped.
    pub error: Option<Value>,
    /// Wall time of the cycle.
    pub duration_ms: u64,
    /// Of which reading and evaluating source users (no lock held).
    pub read_ms: u64,
    /// Of which write transactions (including waiting for the writer).
    pub write_ms: u64,
}

/// The per-cycle context shared by the steps.
struct Cx {
    source: String,
    target: String,
    target_domain: String,
    rule: UserRule,
    now: i64,
}

/// Counters of one cycle.
#[derive(Default)]
struct Counts {
    created: u64,
    updated: u64,
    deleted: u64,
    restored: u64,
}

impl Counts {
    fn exported(&self) -> u64 {
        self.created + self.updated + self.deleted + self.restored
    }
}

/// A problem that stops the whole job (quarantine).
struct JobFailure {
    code: &'static str,
    message: String,
}

/// The result of reconciling one user.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A B2B user was created (with the evaluated values).
    Created { target_id: String },
    /// Changed attributes were written.
    Updated {
        target_id: String,
        changed: Vec<(String, Value)>,
    },
    /// A user the engine had soft-deleted was restored (and updated).
    Restored { target_id: String },
    /// Linked to the user; nothing to write.
    Unchanged { target_id: String },
    /// The target user was soft-deleted.
    Deleted { target_id: String },
    /// Nothing done, with the reason (`SkipReason`).
    Skipped {
        reason: &'static str,
        message: String,
    },
    /// Failed; retried every cycle.
    Escrowed { code: &'static str, message: String },
}

/// Why a cycle or an on-demand run did not complete. Converts into the Graph error a route
/// answers with (`From<EngineError> for ApiError`).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The server is shutting down: the cycle stopped at a chunk boundary. What it committed
    /// stays committed and its due time is unchanged, so it runs again after a restart.
    #[error("stopped: the server is shutting down")]
    Stopped,
    /// The job does not exist (it was deleted before or during the run).
    #[error("job {0} does not exist")]
    JobGone(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A target user document could not be serialized.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The blocking task running the cycle failed (panicked or was cancelled).
    #[error("sync task: {0}")]
    Task(String),
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            // A route never sees it today (provisionOnDemand does not stop); 503 if one does.
            EngineError::Stopped => ApiError::Unavailable { retry_after: 0 },
            EngineError::JobGone(job) => ApiError::resource_not_found(&job),
            EngineError::Store(e) => e.into(),
            EngineError::Json(e) => e.into(),
            EngineError::Task(m) => ApiError::Internal(format!("sync task: {m}")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Source evaluation

/// A source user's document parsed lazily: property name → its raw JSON text, borrowed from the
/// stored body. Steady-state cycles only hash raw texts; values are built only for users that
/// changed.
pub struct Raw<'a>(HashMap<&'a str, &'a RawValue>);

impl<'a> Raw<'a> {
    /// Parse a stored user body (None if it is not an object with plain property names).
    pub fn parse(body: &'a str) -> Option<Raw<'a>> {
        serde_json::from_str(body).ok().map(Raw)
    }

    fn raw(&self, k: &str) -> Option<&'a RawValue> {
        self.0.get(k).copied().filter(|r| r.get() != "null")
    }

    /// A string property.
    pub fn str(&self, k: &str) -> Option<String> {
        self.raw(k)
            .and_then(|r| serde_json::from_str::<String>(r.get()).ok())
    }

    fn value(&self, k: &str) -> Option<Value> {
        self.raw(k).and_then(|r| serde_json::from_str(r.get()).ok())
    }

    /// A source attribute's value by its directory (or Graph) name, for expressions and
    /// scoping filters.
    pub fn attr(&self, name: &str) -> Val {
        match schema::source_ref(Object::User, name) {
            SourceRef::Prop(p) => Val::from_json(self.value(&p).as_ref()),
            SourceRef::FirstPhone => match self.value("businessPhones") {
                Some(Value::Array(a)) => Val::from_json(a.first()),
                _ => Val::Null,
            },
            SourceRef::None => Val::Null,
        }
    }

    /// The raw texts an attribute reads (for the export hash).
    fn attr_raw(&self, name: &str) -> Option<&'a RawValue> {
        match schema::source_ref(Object::User, name) {
            SourceRef::Prop(p) => self.raw(&p),
            SourceRef::FirstPhone => self.raw("businessPhones"),
            SourceRef::None => None,
        }
    }
}

/// Whether a user passes the user mapping's scoping filter (`groups`; no filter passes).
pub fn passes_filter(rule: &UserRule, u: &Raw<'_>) -> bool {
    rule.scope
        .groups
        .as_ref()
        .is_none_or(|f| f.matches(&|a| u.attr(a)))
}

/// Whether a user passes `inputFilterGroups` (users that fail it are not processed at all).
fn passes_input(rule: &UserRule, u: &Raw<'_>) -> bool {
    rule.scope
        .input
        .as_ref()
        .is_none_or(|f| f.matches(&|a| u.attr(a)))
}

/// Whether a source user may be synchronized: an internal member (reference §6.7).
pub fn is_internal_member(u: &Raw<'_>) -> bool {
    let member = match u.str("userType") {
        None => true,
        Some(t) => t.eq_ignore_ascii_case("Member"),
    };
    let upn = u.str("userPrincipalName").unwrap_or_default();
    let external = upn.to_ascii_uppercase().contains("#EXT#")
        || u.str("creationType").as_deref() == Some("Invitation");
    member && !external
}

/// `annie@contosoa.com` → `annie_contosoa.com#EXT#@contosob.onmicrosoft.com` (reference §7).
pub fn b2b_upn(source_upn: &str, target_domain: &str) -> String {
    format!("{}#EXT#@{target_domain}", source_upn.replace('@', "_"))
}

/// The target values the mappings produce for a source user, in mapping order (a later mapping
/// of the same target wins), with the add-only flag. Null source values are skipped.
fn desired(rule: &UserRule, src: &Raw<'_>, target_domain: &str) -> Vec<(String, Value, bool)> {
    let mut out: Vec<(String, Value, bool)> = Vec::with_capacity(rule.mappings.len());
    for m in &rule.mappings {
        let v = match &m.source {
            Source::Const(v) => v.clone(),
            Source::Prop(p) => match src.value(p) {
                None => continue,
                Some(v) => v,
            },
            Source::FirstPhone => match src
                .value("businessPhones")
                .and_then(|v| v.as_array().and_then(|a| a.first().cloned()))
            {
                Some(v @ Value::String(_)) => v,
                _ => continue,
            },
            Source::Expr(e) => match expr::eval(e, &|a| src.attr(a)) {
                Val::Null => continue,
                Val::One(s) if m.boolean => match s.to_ascii_lowercase().as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => continue,
                },
                v => v.to_json(),
            },
        };
        let (prop, v) = match &m.target {
            Target::Prop(p) => (p.as_str(), v),
            Target::Phones => ("businessPhones", json!([v])),
            Target::Upn => match v.as_str() {
                Some(s) => (
                    "userPrincipalName",
                    Value::String(b2b_upn(s, target_domain)),
                ),
                None => continue,
            },
        };
        if let Some(slot) = out.iter_mut().find(|(p, _, _)| p == prop) {
            *slot = (prop.to_string(), v, m.add_only);
        } else {
            out.push((prop.to_string(), v, m.add_only));
        }
    }
    out
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The part of the hash every user of a cycle shares: the compiled mappings (targets, sources,
/// constants, add-only flags) and the target domain. Changing a mapping changes every hash.
fn rule_seed(rule: &UserRule, target_domain: &str) -> u64 {
    let h = fnv(
        0xcbf2_9ce4_8422_2325,
        format!("{:?}", rule.mappings).as_bytes(),
    );
    fnv(h, target_domain.as_bytes())
}

/// What the entry remembers of the last export: FNV-1a over the rule seed and the raw JSON texts
/// of the mapped source properties. Never 0 (0 means "re-evaluate").
fn hash_raw(seed: u64, rule: &UserRule, src: &Raw<'_>) -> i64 {
    let mut h = seed;
    for m in &rule.mappings {
        let raws: Vec<Option<&RawValue>> = match &m.source {
            Source::Const(_) => Vec::new(),
            Source::Prop(p) => vec![src.raw(p)],
            Source::FirstPhone => vec![src.raw("businessPhones")],
            Source::Expr(e) => e
                .attributes()
                .into_iter()
                .map(|a| src.attr_raw(a))
                .collect(),
        };
        for raw in raws {
            h = fnv(h, raw.map_or(b"\0".as_slice(), |r| r.get().as_bytes()));
            h = fnv(h, &[0xff]);
        }
    }
    (h as i64) | 1
}

/// A source user evaluated against the mappings.
struct Evaluated {
    source_id: String,
    upn: String,
    values: Vec<(String, Value, bool)>,
    hash: i64,
    /// The target user to insert if the user turns out to need one (built ahead of the lock).
    new_user: Option<NewUser>,
}

fn evaluate(cx: &Cx, seed: u64, id: &str, src: &Raw<'_>) -> Evaluated {
    Evaluated {
        source_id: id.to_string(),
        upn: src.str("userPrincipalName").unwrap_or_default(),
        hash: hash_raw(seed, &cx.rule, src),
        values: desired(&cx.rule, src, &cx.target_domain),
        new_user: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Target conflicts

/// Addresses of the target's users (mail and proxy addresses, lower-case) → (user id, internal),
/// taken when a cycle first needs to create a user. UPN conflicts are checked inside the write
/// transaction through the UPN index instead, so they are exact.
#[derive(Default)]
struct Addresses {
    loaded: bool,
    owners: HashMap<String, (String, bool)>,
}

impl Addresses {
    /// Load once per cycle, on the connection of the current transaction (never another store
    /// call: an in-memory store has a single connection).
    fn load(&mut self, c: &Conn, target: &str) -> Result<(), EngineError> {
        if self.loaded {
            return Ok(());
        }
        let mut out = HashMap::new();
        for u in ss::user_addresses(c, target)? {
            let internal = !u
                .upn
                .unwrap_or_default()
                .to_ascii_uppercase()
                .contains("#EXT#")
                && u.creation_type.as_deref() != Some("Invitation");
            if let Some(m) = u.mail {
                out.insert(m.to_lowercase(), (u.id.clone(), internal));
            }
            for a in &u.proxy_addresses {
                let a = a.split_once(':').map_or(a.as_str(), |(_, r)| r);
                out.insert(a.to_lowercase(), (u.id.clone(), internal));
            }
        }
        self.owners = out;
        self.loaded = true;
        Ok(())
    }
}

fn conflict(kind_: &str, value: &str, other: &str, internal: bool) -> Outcome {
    Outcome::Escrowed {
        // UNCONFIRMED: the exact CTS error code for a collision is not documented (reference §7).
        code: "AzureActiveDirectoryConflictingObjects",
        message: if internal {
            format!(
                "The target tenant already has an internal user ({other}) with {kind_} '{value}'; cross-tenant synchronization never matches or converts internal users."
            )
        } else {
            format!("Another user ({other}) in the target tenant already has {kind_} '{value}'.")
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Reconciliation of one user (inside a write transaction)

fn is_internal_doc(d: &Map<String, Value>) -> bool {
    let upn = d
        .get("userPrincipalName")
        .and_then(Value::as_str)
        .unwrap_or("");
    !upn.to_ascii_uppercase().contains("#EXT#")
        && d.get("creationType").and_then(Value::as_str) != Some("Invitation")
}

/// Apply the non-add-only values that differ from the target user; returns what changed, or a
/// conflict when a new UPN is taken.
fn apply_updates(
    tx: &Conn,
    cx: &Cx,
    doc: &mut Doc,
    ev: &Evaluated,
) -> Result<Result<Vec<(String, Value)>, Outcome>, EngineError> {
    let mut changed = Vec::new();
    for (k, v, add_only) in &ev.values {
        if *add_only || doc.body.get(k) == Some(v) {
            continue;
        }
        if k == "userPrincipalName"
            && let Some(upn) = v.as_str()
            && let Some(other) = docs::find_by_upn(tx, &cx.target, kind::USER, upn, i64::MAX)?
            && other.key != doc.key
        {
            return Ok(Err(conflict(
                "userPrincipalName",
                upn,
                &other.key,
                is_internal_doc(&other.body),
            )));
        }
        changed.push((k.clone(), v.clone()));
    }
    for (k, v) in &changed {
        doc.body.insert(k.clone(), v.clone());
    }
    Ok(Ok(changed))
}

/// Bring one in-scope user's B2B user in line. `entry` is the job's current entry, if any.
fn reconcile(
    tx: &Conn,
    cx: &Cx,
    ev: &Evaluated,
    entry: Option<&Entry>,
    addrs: &mut Addresses,
) -> Result<Outcome, EngineError> {
    let linked = match entry.and_then(|e| e.target_id.clone()) {
        Some(t) => Some(t),
        None => ss::find_link(tx, &cx.target, &cx.source, &ev.source_id)?,
    };
    if let Some(tid) = linked {
        if let Some(mut doc) = docs::get(tx, &cx.target, kind::USER, &tid)? {
            if !cx.rule.update {
                return Ok(Outcome::Unchanged { target_id: tid });
            }
            return Ok(match apply_updates(tx, cx, &mut doc, ev)? {
                Err(c) => c,
                Ok(changed) if changed.is_empty() => Outcome::Unchanged { target_id: tid },
                Ok(changed) => {
                    docs::update(tx, &cx.target, kind::USER, &tid, &doc.body)?;
                    Outcome::Updated {
                        target_id: tid,
                        changed,
                    }
                }
            });
        }
        if let Some(doc) = docs::get(tx, &cx.target, kind::DELETED_USER, &tid)? {
            let by_sync = doc.body.get("_syncDeleted").and_then(Value::as_bool) == Some(true);
            let deleted_ms = doc
                .body
                .get("_syncDeletedMs")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if !by_sync {
                // Reference §6.8: a user soft-deleted in the target by an administrator is not
                // restored by synchronization.
                return Ok(Outcome::Skipped {
                    reason: "TargetDeleted",
                    message: format!(
                        "The user {tid} was deleted in the target tenant; synchronization does not restore it."
                    ),
                });
            }
            if cx.now - deleted_ms <= RESTORE_WINDOW_MS {
                let upn = doc
                    .body
                    .get("userPrincipalName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if let Some(other) = docs::find_by_upn(tx, &cx.target, kind::USER, &upn, i64::MAX)?
                {
                    return Ok(conflict(
                        "userPrincipalName",
                        &upn,
                        &other.key,
                        is_internal_doc(&other.body),
                    ));
                }
                let mut doc = restore_user(tx, &cx.target, doc)?;
                doc.body.remove("_syncDeleted");
                doc.body.remove("_syncDeletedMs");
                if let Err(c) = apply_updates(tx, cx, &mut doc, ev)? {
                    // Put it back where it was (still restorable): the restore cannot complete.
                    doc.body.insert("_syncDeleted".into(), json!(true));
                    doc.body.insert("_syncDeletedMs".into(), json!(deleted_ms));
                    soft_delete_user(tx, &cx.target, doc, deleted_ms)?;
                    return Ok(c);
                }
                docs::update(tx, &cx.target, kind::USER, &tid, &doc.body)?;
                return Ok(Outcome::Restored { target_id: tid });
            }
            // Past the soft-delete window: the user would have been purged.
            docs::delete(tx, &cx.target, kind::DELETED_USER, &tid)?;
        }
        ss::delete_link(tx, &cx.target, &cx.source, &ev.source_id)?;
    }
    if !cx.rule.add {
        return Ok(Outcome::Skipped {
            reason: "AddNotAllowed",
            message: "The object mapping's flowTypes do not include Add.".into(),
        });
    }
    create(tx, cx, ev, addrs)
}

/// A B2B user document built before the write transaction, so the writer lock covers only the
/// inserts.
struct NewUser {
    id: String,
    upn: String,
    /// Lower-case mail, for the address conflict check.
    mail: Option<String>,
    body: String,
}

fn build_new_user(cx: &Cx, ev: &Evaluated) -> Result<NewUser, EngineError> {
    let upn = ev
        .values
        .iter()
        .find(|(k, _, _)| k == "userPrincipalName")
        .and_then(|(_, v, _)| v.as_str().map(str::to_string))
        .unwrap_or_else(|| b2b_upn(&ev.upn, &cx.target_domain));
    let mail = ev
        .values
        .iter()
        .find(|(k, _, _)| k == "mail")
        .and_then(|(_, v, _)| v.as_str())
        .map(str::to_lowercase);
    // Time-ordered (UUID v7) object ids: a cycle's inserts append to the document index instead
    // of touching random pages of it. They are ordinary GUIDs to clients.
    let id = uuid::Uuid::now_v7().hyphenated().to_string();
    let display = ev
        .values
        .iter()
        .find(|(k, _, _)| k == "displayName")
        .and_then(|(_, v, _)| v.as_str())
        .unwrap_or(&ev.upn)
        .to_string();
    let mut doc = new_user_doc(&id, &upn, &display, cx.now);
    doc.insert("userType".into(), json!("Member"));
    doc.insert("showInAddressList".into(), Value::Null);
    for (k, v, _) in &ev.values {
        doc.insert(k.clone(), v.clone());
    }
    doc.insert("userPrincipalName".into(), json!(upn));
    doc.insert("creationType".into(), json!("Invitation"));
    doc.insert("externalUserState".into(), json!("Accepted"));
    doc.insert(
        "externalUserStateChangeDateTime".into(),
        json!(rfc3339(cx.now)),
    );
    doc.insert(
        "identities".into(),
        json!([{"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": null}]),
    );
    doc.insert(
        "_source".into(),
        json!({"tenantId": cx.source, "objectId": ev.source_id}),
    );
    Ok(NewUser {
        id,
        upn,
        mail,
        body: serde_json::to_string(&doc)?,
    })
}

fn create(
    tx: &Conn,
    cx: &Cx,
    ev: &Evaluated,
    addrs: &mut Addresses,
) -> Result<Outcome, EngineError> {
    let built;
    let nu = match &ev.new_user {
        Some(n) => n,
        None => {
            built = build_new_user(cx, ev)?;
            &built
        }
    };
    if let Some(other) = docs::find_by_upn(tx, &cx.target, kind::USER, &nu.upn, i64::MAX)? {
        return Ok(conflict(
            "userPrincipalName",
            &nu.upn,
            &other.key,
            is_internal_doc(&other.body),
        ));
    }
    if let Some(m) = &nu.mail {
        addrs.load(tx, &cx.target)?;
        if let Some((other, internal)) = addrs.owners.get(m) {
            return Ok(conflict("mail or proxy address", m, other, *internal));
        }
    }
    docs::insert_json(tx, &cx.target, kind::USER, &nu.id, &nu.body, cx.now)?;
    ss::put_link(tx, &cx.target, &cx.source, &ev.source_id, &nu.id)?;
    if let Some(m) = &nu.mail {
        addrs.owners.insert(m.clone(), (nu.id.clone(), false));
    }
    Ok(Outcome::Created {
        target_id: nu.id.clone(),
    })
}

/// Soft-delete the target user of an entry that left the scope.
fn deprovision(tx: &Conn, cx: &Cx, target_id: &str) -> Result<Outcome, EngineError> {
    match docs::get(tx, &cx.target, kind::USER, target_id)? {
        Some(mut doc) => {
            doc.body.insert("_syncDeleted".into(), json!(true));
            doc.body.insert("_syncDeletedMs".into(), json!(cx.now));
            soft_delete_user(tx, &cx.target, doc, cx.now)?;
            Ok(Outcome::Deleted {
                target_id: target_id.to_string(),
            })
        }
        None => Ok(Outcome::Skipped {
            reason: "TargetMissing",
            message: format!("The user {target_id} no longer exists in the target tenant."),
        }),
    }
}

/// The entry to store after an outcome (None = remove the entry).
fn entry_after(cx: &Cx, ev_hash: i64, prior: Option<&Entry>, o: &Outcome) -> Option<Entry> {
    let mk = |target_id: Option<String>, hash: i64, st: &str, error: Option<String>| Entry {
        target_tenant: cx.target.clone(),
        target_id,
        hash,
        state: st.to_string(),
        error,
    };
    match o {
        Outcome::Created { target_id, .. }
        | Outcome::Updated { target_id, .. }
        | Outcome::Restored { target_id }
        | Outcome::Unchanged { target_id } => {
            Some(mk(Some(target_id.clone()), ev_hash, state::SYNCED, None))
        }
        Outcome::Deleted { target_id } => {
            Some(mk(Some(target_id.clone()), 0, state::DELETED, None))
        }
        Outcome::Skipped {
            reason: "TargetDeleted",
            ..
        } => prior
            .and_then(|p| p.target_id.clone())
            .map(|t| mk(Some(t), ev_hash, state::SYNCED, None)),
        Outcome::Skipped { .. } => None,
        Outcome::Escrowed { code, message } => Some(mk(
            prior.and_then(|p| p.target_id.clone()),
            0,
            state::ESCROW,
            Some(json!({"code": code, "message": message}).to_string()),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Preparation

struct Prepared {
    job: JobRow,
    cx: Option<Cx>,
    failure: Option<JobFailure>,
    /// The scope in effect: every user (and group) rather than the assigned ones.
    sync_all: bool,
    /// The `SyncAll` secret itself.
    sync_all_secret: bool,
    groups: GroupRule,
}

/// The private job property recording that `SyncAll` was in effect: reference §6.7 says switching
/// back to assigned-only scope requires a restart, so until `restart` the wider scope stays.
pub const SYNC_ALL_IN_EFFECT: &str = "_syncAllInEffect";

/// The private job property holding the job's watermark: the directory's change mark read at
/// the start of its last complete cycle, and the fingerprint of what decided the scope and the
/// mapped values then (schema, target, `SyncAll`). The next cycle is incremental — it reads only
/// the users written since the mark, as Microsoft's incremental cycles process only changes —
/// while the fingerprint is the same; otherwise (and after `restart`) it is a full cycle.
pub const WATERMARK: &str = "_watermark";

/// The private job property holding when the job was last started or restarted (ms). A cycle
/// that began before it was overtaken by the (re)start: its results stay, but it must not push
/// the next cycle back by an interval, nor bring back the watermark or the `SyncAll` scope the
/// restart dropped — the next cycle runs at once, from scratch.
pub const STARTED_AT: &str = "_startedAtMs";

/// What an incremental cycle must match to trust its watermark.
fn scope_fingerprint(rule: &UserRule, target: &str, target_domain: &str, sync_all: bool) -> String {
    let h = fnv(0xcbf2_9ce4_8422_2325, format!("{rule:?}").as_bytes());
    let h = fnv(h, target.as_bytes());
    let h = fnv(h, target_domain.as_bytes());
    format!("{:016x}", fnv(h, &[u8::from(sync_all)]))
}

/// The users changed since the job's watermark, or `None` when this cycle must read every user.
fn changed_since_watermark(
    store: &Store,
    key: &JobKey,
    job: &JobRow,
    fingerprint: &str,
) -> Result<Option<HashSet<String>>, StoreError> {
    let w = &job.body[WATERMARK];
    let (Some(seq), Some(fp)) = (w["seq"].as_i64(), w["scope"].as_str()) else {
        return Ok(None);
    };
    if fp != fingerprint {
        return Ok(None);
    }
    store
        .read_blocking(|c| ss::users_changed_since(c, &key.tenant_id, seq))
        .map(Some)
}

/// Load the job and decide whether it may run. `Ok(None)`: the job does not exist.
fn prepare(store: &Store, key: &JobKey, now: i64) -> Result<Option<Prepared>, EngineError> {
    store.read_blocking(|c| {
        let Some(job) = ss::get_job(c, &key.tenant_id, &key.service_principal_id, &key.job_id)?
        else {
            return Ok(None);
        };
        let secrets = ss::secrets(c, &key.tenant_id, &key.service_principal_id)?;
        let secret = |k: &str| {
            secrets
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let sync_all_secret = secret("SyncAll").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let sync_all = sync_all_secret
            || job.body.get(SYNC_ALL_IN_EFFECT).and_then(Value::as_bool) == Some(true);
        let rule = schema::compile(&job.schema);
        let groups = schema::compile_groups(&job.schema);
        let fail = |code: &'static str, message: String| {
            Ok(Some(Prepared {
                job: job.clone(),
                cx: None,
                failure: Some(JobFailure { code, message }),
                sync_all,
                sync_all_secret,
                groups: groups.clone(),
            }))
        };
        let Some(target) = secret("CompanyId").map(|t| t.trim().to_lowercase()) else {
            // UNCONFIRMED code: a job without credentials cannot reach any target.
            return fail(
                "CredentialsMissing",
                "The synchronization secrets do not contain CompanyId (the target tenant id)."
                    .into(),
            );
        };
        let Some(t) = tenants::get_tenant(c, &target)? else {
            return fail(
                "InvalidCredentials",
                format!("The target tenant '{target}' (CompanyId) does not exist."),
            );
        };
        let missing = policy::missing(c, &key.tenant_id, &t.id)?;
        if !missing.is_empty() {
            return fail(policy::POLICY_CHECK_FAILED, policy::message(&missing));
        }
        Ok(Some(Prepared {
            job: job.clone(),
            cx: Some(Cx {
                source: key.tenant_id.clone(),
                target: t.id,
                target_domain: t.initial_domain,
                rule,
                now,
            }),
            failure: None,
            sync_all,
            sync_all_secret,
            groups,
        }))
    })
}

fn scope_ids(store: &Store, key: &JobKey, sync_all: bool) -> Result<Vec<String>, StoreError> {
    store.read_blocking(|c| {
        if sync_all {
            ss::all_user_ids(c, &key.tenant_id)
        } else {
            ss::assigned_user_ids(c, &key.tenant_id, &key.service_principal_id)
        }
    })
}

/// A job that vanished while its cycle ran.
fn job_gone(key: &JobKey) -> EngineError {
    EngineError::JobGone(key.job_id.clone())
}

// ---------------------------------------------------------------------------------------------
// The cycle

/// Run one cycle of a job now. `interval` is the schedule interval (next due time). When `stop`
/// becomes true the cycle ends at its next chunk with [`EngineError::Stopped`], leaving the due
/// time as it was (what it committed stays committed).
pub fn run_cycle(
    store: &Store,
    key: &JobKey,
    interval: Duration,
    stop: &AtomicBool,
) -> Result<CycleReport, EngineError> {
    let stopped = || {
        if stop.load(Ordering::SeqCst) {
            Err(EngineError::Stopped)
        } else {
            Ok(())
        }
    };
    let began = now_ms();
    let started = std::time::Instant::now();
    let mut report = CycleReport {
        tenant_id: key.tenant_id.clone(),
        service_principal_id: key.service_principal_id.clone(),
        job_id: key.job_id.clone(),
        ..Default::default()
    };
    let Some(prep) = prepare(store, key, began)? else {
        return Err(job_gone(key));
    };
    let quarantined = prep
        .job
        .body
        .pointer("/status/code")
        .and_then(Value::as_str)
        == Some("Quarantine");
    let failure = match (&prep.failure, quarantined) {
        (Some(f), _) => Some(JobFailure {
            code: f.code,
            message: f.message.clone(),
        }),
        // The brief's rule: a quarantined job stays quarantined until start/restart.
        (None, true) => Some(JobFailure {
            code: prep
                .job
                .body
                .pointer("/status/quarantine/error/code")
                .and_then(Value::as_str)
                .map(|c| {
                    if c == policy::POLICY_CHECK_FAILED {
                        policy::POLICY_CHECK_FAILED
                    } else {
                        "Quarantined"
                    }
                })
                .unwrap_or("Quarantined"),
            message: "The job is in quarantine; start or restart it to resume synchronization."
                .into(),
        }),
        (None, false) => None,
    };
    if let Some(f) = failure {
        let body = store.write_blocking(|tx| {
            status::quarantine(tx, key, f.code, &f.message, began, interval)
        })?;
        report.target_tenant_id = prep.cx.as_ref().map(|c| c.target.clone());
        report.state = "Failed".into();
        report.status_code = body
            .as_ref()
            .and_then(|b| b.pointer("/status/code").and_then(Value::as_str))
            .unwrap_or("Quarantine")
            .to_string();
        report.error = Some(json!({"code": f.code, "message": f.message}));
        report.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    let cx = prep.cx.expect("prepared context without failure");
    report.target_tenant_id = Some(cx.target.clone());
    let mut counts = Counts::default();
    let mut entitled = 0u64;
    let (mut read_time, mut write_time) = (Duration::ZERO, Duration::ZERO);
    // Source users in the user scope (the group phase adds only them as members).
    let mut in_scope: HashSet<String> = HashSet::new();
    let mut watermark = None;
    let mut deltas = 0u64;
    if cx.rule.enabled {
        // The mark is read before anything else, so a user written while the cycle runs is read
        // again by the next one.
        let mark = store.read_blocking(ss::user_change_mark)?;
        let fingerprint = scope_fingerprint(&cx.rule, &cx.target, &cx.target_domain, prep.sync_all);
        let changed = changed_since_watermark(store, key, &prep.job, &fingerprint)?;
        watermark = Some(json!({"seq": mark, "scope": fingerprint}));
        let ids = scope_ids(store, key, prep.sync_all)?;
        let mut entries = store.read_blocking(|c| ss::entries(c, &key.tenant_id, &key.job_id))?;
        // Entries of another target (CompanyId changed): forget them, leave their users alone.
        let stale: Vec<String> = entries
            .iter()
            .filter(|(_, e)| e.target_tenant != cx.target)
            .map(|(k, _)| k.clone())
            .collect();
        if !stale.is_empty() {
            store.write_blocking(|tx| -> Result<(), StoreError> {
                for s in &stale {
                    ss::delete_entry(tx, &key.tenant_id, &key.job_id, s)?;
                }
                Ok(())
            })?;
            for s in &stale {
                entries.remove(s);
            }
        }
        in_scope.reserve(ids.len());
        let mut addrs = Addresses::default();
        let seed = rule_seed(&cx.rule, &cx.target_domain);
        for chunk in ids.chunks(CHUNK) {
            stopped()?;
            let read_started = std::time::Instant::now();
            // Incremental: a user exported as it is now and not written since the watermark is
            // still in scope and needs nothing; only the others are read.
            let to_read: Vec<String> = match &changed {
                None => chunk.to_vec(),
                Some(changed) => chunk
                    .iter()
                    .filter(|id| {
                        let settled = entries.get(id.as_str()).is_some_and(|e| {
                            e.state == state::SYNCED && e.hash != 0 && e.target_id.is_some()
                        });
                        if settled && !changed.contains(id.as_str()) {
                            in_scope.insert((*id).clone());
                            false
                        } else {
                            true
                        }
                    })
                    .cloned()
                    .collect(),
            };
            let sources =
                store.read_blocking(|c| ss::user_bodies_sorted(c, &key.tenant_id, &to_read))?;
            deltas += sources.len() as u64;
            let mut work: Vec<Evaluated> = Vec::new();
            for (id, body) in sources {
                let Some(doc) = Raw::parse(&body) else {
                    tracing::warn!(user = %id, "source user document cannot be read; skipped");
                    continue;
                };
                if !is_internal_member(&doc) {
                    continue;
                }
                if !passes_input(&cx.rule, &doc) {
                    // Not processed: neither provisioned nor deprovisioned (inputFilterGroups).
                    if entries.contains_key(&id) {
                        in_scope.insert(id);
                    }
                    continue;
                }
                if !passes_filter(&cx.rule, &doc) {
                    continue;
                }
                let hash = hash_raw(seed, &cx.rule, &doc);
                let unchanged = entries
                    .get(&id)
                    .is_some_and(|e| e.state == state::SYNCED && e.hash == hash);
                if !unchanged {
                    let mut ev = evaluate(&cx, seed, &id, &doc);
                    if entries.get(&id).is_none_or(|e| e.target_id.is_none()) && cx.rule.add {
                        ev.new_user = Some(build_new_user(&cx, &ev)?);
                    }
                    work.push(ev);
                }
                in_scope.insert(id);
            }
            entitled = in_scope.len() as u64;
            read_time += read_started.elapsed();
            if work.is_empty() {
                continue;
            }
            let write_started = std::time::Instant::now();
            store.write_blocking(|tx| {
                if !ss::job_exists(tx, &key.tenant_id, &key.service_principal_id, &key.job_id)? {
                    return Err(job_gone(key));
                }
                for ev in &work {
                    let prior = entries.get(&ev.source_id);
                    let o = reconcile(tx, &cx, ev, prior, &mut addrs)?;
                    tally(&mut counts, &o);
                    match entry_after(&cx, ev.hash, prior, &o) {
                        Some(e) => ss::put_entry(
                            tx,
                            &key.tenant_id,
                            &key.job_id,
                            &ev.source_id,
                            &e,
                            cx.now,
                        )?,
                        None => ss::delete_entry(tx, &key.tenant_id, &key.job_id, &ev.source_id)?,
                    }
                }
                Ok(())
            })?;
            write_time += write_started.elapsed();
        }
        // Entries that left the scope.
        let leaving: Vec<(String, Entry)> = entries
            .into_iter()
            .filter(|(id, e)| !in_scope.contains(id) && e.state != state::DELETED)
            .collect();
        for chunk in leaving.chunks(CHUNK) {
            stopped()?;
            let write_started = std::time::Instant::now();
            store.write_blocking(|tx| {
                if !ss::job_exists(tx, &key.tenant_id, &key.service_principal_id, &key.job_id)? {
                    return Err(job_gone(key));
                }
                for (id, e) in chunk {
                    match (&e.target_id, e.state.as_str()) {
                        // A provisioned user (synced, or escrowed on an update) left the scope.
                        (Some(t), state::SYNCED | state::ESCROW) if cx.rule.delete => {
                            let o = deprovision(tx, &cx, t)?;
                            tally(&mut counts, &o);
                            let mut after = e.clone();
                            after.state = state::DELETED.into();
                            after.hash = 0;
                            after.error = None;
                            ss::put_entry(tx, &key.tenant_id, &key.job_id, id, &after, cx.now)?;
                        }
                        // Delete is not a flow type: leave the user (and keep the link).
                        (Some(_), state::SYNCED) => {}
                        _ => ss::delete_entry(tx, &key.tenant_id, &key.job_id, id)?,
                    }
                }
                Ok(())
            })?;
            write_time += write_started.elapsed();
        }
    }
    stopped()?;
    let g = groups::run(
        store,
        key,
        &cx.target,
        cx.now,
        &prep.groups,
        prep.sync_all,
        &in_scope,
    )?;
    let ended = now_ms();
    let body = store.write_blocking(|tx| {
        status::complete(
            tx,
            key,
            status::Execution {
                began,
                ended,
                entitled,
                exported: counts.exported() + g.created + g.updated + g.deleted,
                groups: prep.groups.enabled,
                error: g.error.clone(),
                sync_all: prep.sync_all_secret,
                imported_deltas: deltas,
                watermark,
            },
            interval,
        )
    })?;
    report.state = body
        .as_ref()
        .and_then(|b| {
            b.pointer("/status/lastExecution/state")
                .and_then(Value::as_str)
        })
        .unwrap_or("Skipped")
        .to_string();
    report.status_code = body
        .as_ref()
        .and_then(|b| b.pointer("/status/code").and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    report.count_escrowed = body
        .as_ref()
        .and_then(|b| {
            b.pointer("/status/lastExecution/countEscrowed")
                .and_then(Value::as_u64)
        })
        .unwrap_or(0);
    report.count_entitled = entitled;
    report.count_exported = counts.exported();
    report.created = counts.created;
    report.updated = counts.updated;
    report.deleted = counts.deleted;
    report.restored = counts.restored;
    report.groups_created = g.created;
    report.groups_updated = g.updated;
    report.groups_deleted = g.deleted;
    report.error = g.error;
    report.count_exported += g.created + g.updated + g.deleted;
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.read_ms = read_time.as_millis() as u64;
    report.write_ms = write_time.as_millis() as u64;
    Ok(report)
}

fn tally(c: &mut Counts, o: &Outcome) {
    match o {
        Outcome::Created { .. } => c.created += 1,
        Outcome::Updated { .. } => c.updated += 1,
        Outcome::Restored { .. } => c.restored += 1,
        Outcome::Deleted { .. } => c.deleted += 1,
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Provision on demand

/// A user of a provisionOnDemand request and what happened to it.
pub struct OnDemandResult {
    /// The subject's object id.
    pub object_id: String,
    /// Its source UPN (if found).
    pub upn: Option<String>,
    /// Its display name (if found).
    pub display_name: Option<String>,
    /// Found in the source.
    pub found: bool,
    /// Assigned (directly, through a group, or SyncAll).
    pub assigned: bool,
    /// An internal member.
    pub internal: bool,
    /// Passes the user mapping's scoping filter.
    pub filter_passed: bool,
    /// The target user before the run, if linked.
    pub matched: Option<String>,
    /// The values the mappings produce (in scope only).
    pub values: Vec<(String, Value)>,
    /// The outcome, or the job failure that prevented it.
    pub outcome: Result<Outcome, (String, String)>,
    /// The target tenant.
    pub target: Option<String>,
}

/// Provision a few users of a job right now, whatever its schedule (reference §6.9). Does not
/// change the job's status.
pub fn provision_on_demand(
    store: &Store,
    key: &JobKey,
    subjects: &[String],
) -> Result<Vec<OnDemandResult>, EngineError> {
    let now = now_ms();
    let Some(prep) = prepare(store, key, now)? else {
        return Err(job_gone(key));
    };
    let scope: HashSet<String> = scope_ids(store, key, prep.sync_all)?.into_iter().collect();
    let sources = store.read_blocking(|c| ss::user_bodies(c, &key.tenant_id, subjects))?;
    let mut out = Vec::new();
    let mut addrs = Addresses::default();
    for (id, body) in sources {
        let doc = body.as_deref().and_then(Raw::parse);
        let mut r = OnDemandResult {
            object_id: id.clone(),
            upn: doc.as_ref().and_then(|d| d.str("userPrincipalName")),
            display_name: doc.as_ref().and_then(|d| d.str("displayName")),
            found: doc.is_some(),
            assigned: scope.contains(&id),
            internal: doc.as_ref().is_some_and(is_internal_member),
            filter_passed: true,
            matched: None,
            values: Vec::new(),
            outcome: Ok(Outcome::Skipped {
                reason: "NotEffectivelyEntitled",
                message: String::new(),
            }),
            target: prep.cx.as_ref().map(|c| c.target.clone()),
        };
        if let Some(f) = &prep.failure {
            r.outcome = Err((f.code.to_string(), f.message.clone()));
            out.push(r);
            continue;
        }
        let cx = prep.cx.as_ref().expect("context");
        let Some(doc) = doc else {
            r.outcome = Ok(Outcome::Skipped {
                reason: "SourceNotFound",
                message: format!("No user with id '{id}' exists in the source tenant."),
            });
            out.push(r);
            continue;
        };
        let entry = store.read_blocking(|c| ss::entry(c, &key.tenant_id, &key.job_id, &id))?;
        r.matched = match entry.as_ref().and_then(|e| e.target_id.clone()) {
            Some(t) => Some(t),
            None => store.read_blocking(|c| ss::find_link(c, &cx.target, &cx.source, &id))?,
        };
        r.filter_passed = passes_filter(&cx.rule, &doc) && passes_input(&cx.rule, &doc);
        let in_scope = r.assigned && r.internal && r.filter_passed && cx.rule.enabled;
        let mut values = Vec::new();
        let outcome = store.write_blocking(|tx| {
            if !ss::job_exists(tx, &key.tenant_id, &key.service_principal_id, &key.job_id)? {
                return Err(job_gone(key));
            }
            if in_scope {
                let ev = evaluate(cx, rule_seed(&cx.rule, &cx.target_domain), &id, &doc);
                values = ev.values.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
                if entry.as_ref().is_some_and(|e| e.state == state::SYNCED && e.hash == ev.hash)
                    && let Some(t) = entry.as_ref().and_then(|e| e.target_id.clone())
                    && docs::get(tx, &cx.target, kind::USER, &t)?.is_some()
                {
                    return Ok(Outcome::Skipped {
                        reason: "RedundantExport",
                        message: "The state of the user in both the source and target systems already match.".into(),
                    });
                }
                let o = reconcile(tx, cx, &ev, entry.as_ref(), &mut addrs)?;
                match entry_after(cx, ev.hash, entry.as_ref(), &o) {
                    Some(e) => ss::put_entry(tx, &key.tenant_id, &key.job_id, &id, &e, now)?,
                    None => ss::delete_entry(tx, &key.tenant_id, &key.job_id, &id)?,
                }
                return Ok(o);
            }
            match &entry {
                Some(e) if e.state == state::SYNCED && cx.rule.delete && e.target_id.is_some() => {
                    let t = e.target_id.clone().unwrap_or_default();
                    let o = deprovision(tx, cx, &t)?;
                    let mut after = e.clone();
                    after.state = state::DELETED.into();
                    after.hash = 0;
                    ss::put_entry(tx, &key.tenant_id, &key.job_id, &id, &after, now)?;
                    Ok(o)
                }
                _ => Ok(Outcome::Skipped {
                    reason: "NotEffectivelyEntitled",
                    message: if !r.internal {
                        "Only internal members of the source tenant are synchronized.".into()
                    } else if !r.filter_passed {
                        "The user does not pass the scoping filter of the user mapping.".into()
                    } else if !cx.rule.enabled {
                        "The user object mapping is disabled.".into()
                    } else {
                        "The user is not assigned to the configuration (directly or through a group).".into()
                    },
                }),
            }
        })?;
        r.outcome = Ok(outcome);
        r.values = values;
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b2b_upn_replaces_the_at_sign_and_appends_the_target_domain() {
        assert_eq!(
            b2b_upn("annie@contosoa.com", "contosob.onmicrosoft.com"),
            "annie_contosoa.com#EXT#@contosob.onmicrosoft.com"
        );
    }

    fn internal(v: Value) -> bool {
        let s = v.to_string();
        is_internal_member(&Raw::parse(&s).unwrap())
    }

    #[test]
    fn only_internal_members_are_in_scope() {
        assert!(internal(
            json!({"userPrincipalName": "a@x.com", "userType": "Member"})
        ));
        assert!(internal(
            json!({"userPrincipalName": "a@x.com", "userType": null})
        ));
        assert!(!internal(
            json!({"userPrincipalName": "a@x.com", "userType": "Guest"})
        ));
        assert!(!internal(
            json!({"userPrincipalName": "a_y.com#EXT#@x.com", "userType": "Member"})
        ));
        assert!(!internal(
            json!({"userPrincipalName": "a@x.com", "creationType": "Invitation"})
        ));
    }

    #[test]
    fn the_hash_follows_mapped_values_and_mappings_only() {
        let rule = schema::compile(&schema::default_schema("j"));
        let seed = rule_seed(&rule, "b.onmicrosoft.com");
        let h = |v: Value| {
            let s = v.to_string();
            hash_raw(seed, &rule, &Raw::parse(&s).unwrap())
        };
        let annie = h(json!({"displayName": "Annie", "userPrincipalName": "a@x.com"}));
        assert_eq!(
            annie,
            h(json!({"userPrincipalName": "a@x.com", "displayName": "Annie", "ageGroup": "x"}))
        );
        assert_ne!(
            annie,
            h(json!({"displayName": "Annie A", "userPrincipalName": "a@x.com"}))
        );
        assert_ne!(annie, 0);
        let other_seed = rule_seed(&rule, "c.onmicrosoft.com");
        let s = json!({"displayName": "Annie", "userPrincipalName": "a@x.com"}).to_string();
        assert_ne!(annie, hash_raw(other_seed, &rule, &Raw::parse(&s).unwrap()));
    }
}
