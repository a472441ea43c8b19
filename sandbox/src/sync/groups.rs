//! The group phase of a cycle: security groups of the source provisioned as security groups of
//! the target, with their in-scope members (reference §5.5; ED cross-tenant synchronization
//! overview, "Is synchronization of groups supported?").
//!
//! Runs after the user phase, when the schema's group mapping (`Provision Microsoft Entra ID
//! Groups`) is enabled:
//! 1. scope: the groups assigned to the configuration (every group with `SyncAll`), keeping
//!    **security groups** (`securityEnabled`, not Microsoft 365 `Unified` groups) that pass the
//!    mapping's scoping filter;
//! 2. the target must allow it (`groupSyncInbound.isSyncAllowed`, [`policy::group_sync_allowed`]);
//!    when it does not, every group in scope is an entry-level error (escrow) with that reason,
//!    nothing is created, changed or deleted (the users still synchronize);
//! 3. each group in scope is created in the target (linked through `group_links`, so a new job
//!    finds it), or its mapped attributes are updated; when `members` is mapped, its membership
//!    follows the source: the B2B users of the source group's **direct** user members that are in
//!    the job's user scope and provisioned are members, other B2B users of this source are
//!    removed, members the target added itself are left alone; nested groups are not followed;
//! 4. groups that left the scope are deleted in the target (when `Delete` is a flow type).
//!
//! Groups are few, so the phase runs in one write transaction after one read.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::engine::{EngineError, JobKey};
use super::expr::{self, Val};
use super::policy;
use super::schema::{self, GroupRule, Object, Source, SourceRef, Target};
use crate::directory::groups::new_group_doc;
use crate::store::docs::{self, kind};
use crate::store::sync::{self as ss, Entry, state};
use crate::store::{Conn, Store};

/// What the group phase did.
#[derive(Clone, Debug, Default)]
pub struct GroupCycle {
    /// Groups created in the target.
    pub created: u64,
    /// Groups whose attributes or members changed.
    pub updated: u64,
    /// Groups deleted in the target.
    pub deleted: u64,
    /// Why groups could not be provisioned (the target's policy), as a Graph error object.
    pub error: Option<Value>,
}

fn val(doc: &Map<String, Value>, name: &str) -> Val {
    match schema::source_ref(Object::Group, name) {
        SourceRef::Prop(p) => Val::from_json(doc.get(&p)),
        _ => Val::Null,
    }
}

/// A security group (not a Microsoft 365 group): the only kind cross-tenant synchronization
/// provisions.
pub fn is_security_group(doc: &Map<String, Value>) -> bool {
    let unified = doc
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|x| x.as_str() == Some("Unified")));
    doc.get("securityEnabled").and_then(Value::as_bool) == Some(true) && !unified
}

/// The target values the mappings produce for a source group (null values are skipped).
fn desired(rule: &GroupRule, doc: &Map<String, Value>) -> Vec<(String, Value, bool)> {
    let mut out: Vec<(String, Value, bool)> = Vec::new();
    for m in &rule.mappings {
        let v = match &m.source {
            Source::Const(v) => v.clone(),
            Source::Prop(p) => match doc.get(p) {
                None | Some(Value::Null) => continue,
                Some(v) => v.clone(),
            },
            Source::FirstPhone => continue,
            Source::Expr(e) => match expr::eval(e, &|a| val(doc, a)) {
                Val::Null => continue,
                v => v.to_json(),
            },
        };
        let Target::Prop(p) = &m.target else { continue };
        if let Some(slot) = out.iter_mut().find(|(k, _, _)| k == p) {
            *slot = (p.clone(), v, m.add_only);
        } else {
            out.push((p.clone(), v, m.add_only));
        }
    }
    out
}

struct SourceGroup {
    id: String,
    doc: Map<String, Value>,
    members: Vec<String>,
}

/// Run the group phase of a job. `user_scope` holds the source users in the job's user scope.
pub fn run(
    store: &Store,
    key: &JobKey,
    target: &str,
    now: i64,
    rule: &GroupRule,
    sync_all: bool,
    user_scope: &HashSet<String>,
) -> Result<GroupCycle, EngineError> {
    let mut out = GroupCycle::default();
    if !rule.enabled {
        return Ok(out);
    }
    let source = key.tenant_id.as_str();
    let (groups, entries, allowed) = store.read_blocking(|c| -> Result<_, EngineError> {
        let ids = if sync_all {
            ss::all_group_ids(c, source)?
        } else {
            ss::assigned_group_ids(c, source, &key.service_principal_id)?
        };
        let mut groups = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(d) = docs::get(c, source, kind::GROUP, &id)? {
                groups.push(SourceGroup {
                    members: docs::group_member_ids(c, source, &id)?,
                    id,
                    doc: d.body,
                });
            }
        }
        Ok((
            groups,
            ss::group_entries(c, source, &key.job_id)?,
            policy::group_sync_allowed(c, source, target)?,
        ))
    })?;
    let mut in_scope: HashSet<String> = HashSet::new();
    let mut work: Vec<&SourceGroup> = Vec::new();
    for g in &groups {
        if !is_security_group(&g.doc) {
            continue;
        }
        let get = |a: &str| val(&g.doc, a);
        if let Some(f) = &rule.scope.input
            && !f.matches(&get)
        {
            // Not processed at all: neither provisioned nor deprovisioned.
            if entries.contains_key(&g.id) {
                in_scope.insert(g.id.clone());
            }
            continue;
        }
        if let Some(f) = &rule.scope.groups
            && !f.matches(&get)
        {
            continue;
        }
        in_scope.insert(g.id.clone());
        work.push(g);
    }
    store.write_blocking(|tx| -> Result<(), EngineError> {
        if !ss::job_exists(tx, source, &key.service_principal_id, &key.job_id)? {
            return Err(EngineError::JobGone(key.job_id.clone()));
        }
        if !allowed {
            // UNCONFIRMED code: the documented policy failure of cross-tenant synchronization.
            let message = policy::group_sync_refused(source, target);
            let error = json!({"code": policy::POLICY_CHECK_FAILED, "message": message});
            for g in &work {
                let prior = entries.get(&g.id);
                let e = Entry {
                    target_tenant: target.to_string(),
                    target_id: prior.and_then(|p| p.target_id.clone()),
                    hash: 0,
                    state: state::ESCROW.into(),
                    error: Some(error.to_string()),
                };
                ss::put_group_entry(tx, source, &key.job_id, &g.id, &e, now)?;
            }
            if !work.is_empty() {
                out.error = Some(json!({
                    "code": policy::POLICY_CHECK_FAILED,
                    "message": message,
                    "tenantActionable": true,
                }));
            }
            return Ok(());
        }
        for g in &work {
            let prior = entries.get(&g.id);
            let Some(tid) = reconcile(tx, key, target, now, rule, g, prior, user_scope, &mut out)?
            else {
                ss::delete_group_entry(tx, source, &key.job_id, &g.id)?;
                continue;
            };
            let e = Entry {
                target_tenant: target.to_string(),
                target_id: Some(tid),
                hash: 1,
                state: state::SYNCED.into(),
                error: None,
            };
            ss::put_group_entry(tx, source, &key.job_id, &g.id, &e, now)?;
        }
        for (id, e) in &entries {
            if in_scope.contains(id) {
                continue;
            }
            match &e.target_id {
                Some(t) if rule.delete => {
                    if docs::delete(tx, target, kind::GROUP, t)? {
                        docs::delete_group_memberships(tx, target, t)?;
                        ss::delete_principal_assignments(tx, target, t)?;
                        out.deleted += 1;
                    }
                    ss::delete_group_link(tx, target, source, id)?;
                    ss::delete_group_entry(tx, source, &key.job_id, id)?;
                }
                // Delete is not a flow type: the group stays (and keeps its link).
                Some(_) => {}
                None => ss::delete_group_entry(tx, source, &key.job_id, id)?,
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Create or update one group in the target and keep its members in step. Returns the target
/// group id (None when it does not exist and `Add` is not a flow type).
#[allow(clippy::too_many_arguments)]
fn reconcile(
    tx: &Conn,
    key: &JobKey,
    target: &str,
    now: i64,
    rule: &GroupRule,
    g: &SourceGroup,
    prior: Option<&Entry>,
    user_scope: &HashSet<String>,
    out: &mut GroupCycle,
) -> Result<Option<String>, EngineError> {
    let source = key.tenant_id.as_str();
    let values = desired(rule, &g.doc);
    let linked = match prior.and_then(|p| p.target_id.clone()) {
        Some(t) => Some(t),
        None => ss::find_group_link(tx, target, source, &g.id)?,
    };
    let existing = match &linked {
        Some(t) => docs::get(tx, target, kind::GROUP, t)?,
        None => None,
    };
    let mut changed = false;
    let mut created = false;
    let tid = match existing {
        Some(mut doc) => {
            if rule.update {
                for (k, v, add_only) in &values {
                    if !*add_only && doc.body.get(k) != Some(v) {
                        doc.body.insert(k.clone(), v.clone());
                        changed = true;
                    }
                }
                if changed {
                    docs::update(tx, target, kind::GROUP, &doc.key, &doc.body)?;
                }
            }
            doc.key
        }
        None => {
            if !rule.add {
                return Ok(None);
            }
            let id = crate::util::new_guid();
            let name = values
                .iter()
                .find(|(k, _, _)| k == "displayName")
                .and_then(|(_, v, _)| v.as_str())
                .or_else(|| g.doc.get("displayName").and_then(Value::as_str))
                .unwrap_or("group")
                .to_string();
            let mut doc = new_group_doc(&id, &name, now);
            for (k, v, _) in &values {
                doc.insert(k.clone(), v.clone());
            }
            doc.insert(
                "_source".into(),
                json!({"tenantId": source, "objectId": g.id}),
            );
            docs::insert(tx, target, kind::GROUP, &id, &doc, now)?;
            ss::put_group_link(tx, target, source, &g.id, &id)?;
            out.created += 1;
            created = true;
            id
        }
    };
    if rule.members && (rule.update || created) {
        let mut wanted: HashSet<String> = HashSet::new();
        for m in &g.members {
            // Nested groups are not followed: only direct user members count.
            if !user_scope.contains(m) {
                continue;
            }
            if let Some(t) = ss::find_link(tx, target, source, m)?
                && docs::get(tx, target, kind::USER, &t)?.is_some()
            {
                wanted.insert(t);
            }
        }
        let mut current: HashMap<String, bool> = HashMap::new();
        for mid in docs::group_member_ids(tx, target, &tid)? {
            // A B2B user of this source, live or soft-deleted by the user phase.
            let doc = match docs::get(tx, target, kind::USER, &mid)? {
                Some(d) => Some(d),
                None => docs::get(tx, target, kind::DELETED_USER, &mid)?,
            };
            let managed = doc.is_some_and(|u| {
                u.body
                    .get("_source")
                    .and_then(|s| s.get("tenantId"))
                    .and_then(Value::as_str)
                    == Some(source)
            });
            current.insert(mid, managed);
        }
        let mut members_changed = false;
        for t in &wanted {
            if !current.contains_key(t) {
                docs::add_group_member(tx, target, &tid, t)?;
                members_changed = true;
            }
        }
        for (mid, managed) in &current {
            if *managed && !wanted.contains(mid) {
                docs::remove_group_member(tx, target, &tid, mid)?;
                members_changed = true;
            }
        }
        changed |= members_changed;
    }
    if changed && !created {
        out.updated += 1;
    }
    Ok(Some(tid))
}
