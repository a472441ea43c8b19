//! Relational part of the multi-tenant organization: the shared organization, its member rows,
//! each tenant's join request, and the queue of asynchronous work with due times.
//!
//! An MTO is one row in `mto_orgs` shared by all its tenants. A tenant "sees" the MTO (its
//! singleton is `active`) exactly when it has a member row with a `local_id` — the tenant-local
//! object id handed out when it created or joined the MTO. Pending tenants have no `local_id`.

use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

use super::{Conn, StoreError};
use crate::util::rfc3339;

/// The shared organization.
#[derive(Clone, Debug)]
pub struct Org {
    /// Internal id (never shown; each tenant sees its own `local_id`).
    pub org_id: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Creation time.
    pub created_ms: i64,
    /// The tenant that created it (cannot be removed by others).
    pub creator_tenant: String,
}

/// One tenant's row in an organization (`multiTenantOrganizationMember`).
#[derive(Clone, Debug)]
pub struct Member {
    /// Organization.
    pub org_id: String,
    /// The member tenant.
    pub tenant_id: String,
    /// Name given when it was added.
    pub display_name: String,
    /// `owner` or `member`.
    pub role: String,
    /// `pending`, `active` or `removed`.
    pub state: String,
    /// When it was added.
    pub added_ms: i64,
    /// When it joined (null for the creator and pending tenants).
    pub joined_ms: Option<i64>,
    /// Tenant that added it.
    pub added_by: String,
    /// `transitionDetails` JSON, if any.
    pub transition: Option<Value>,
    /// The tenant-local MTO id, set once the tenant is active in the organization.
    pub local_id: Option<String>,
}

impl Member {
    /// Whether the tenant is in the organization (active, possibly with a removal pending).
    pub fn is_in(&self) -> bool {
        self.local_id.is_some()
    }

    /// Whether a removal has been requested and not yet processed.
    pub fn removal_pending(&self) -> bool {
        self.transition
            .as_ref()
            .and_then(|t| t.get("desiredState"))
            .and_then(Value::as_str)
            == Some("removed")
    }

    /// Graph JSON (`microsoft.graph.multiTenantOrganizationMember`).
    pub fn to_json(&self) -> Value {
        json!({
            "tenantId": self.tenant_id,
            "displayName": self.display_name,
            "addedDateTime": rfc3339(self.added_ms),
            "joinedDateTime": self.joined_ms.map(rfc3339),
            "addedByTenantId": self.added_by,
            "role": self.role,
            "state": self.state,
            "transitionDetails": self.transition.clone().unwrap_or(Value::Null),
        })
    }
}

/// A tenant's join request record.
#[derive(Clone, Debug)]
pub struct JoinRequest {
    /// The joining tenant.
    pub tenant_id: String,
    /// Record id.
    pub id: String,
    /// Owner tenant named in the PATCH, or the zero GUID.
    pub added_by: String,
    /// `pending`, `active`, ... or null.
    pub member_state: Option<String>,
    /// Role once joined.
    pub role: Option<String>,
    /// `transitionDetails` JSON.
    pub transition: Option<Value>,
}

impl JoinRequest {
    /// Graph JSON (`microsoft.graph.multiTenantOrganizationJoinRequestRecord`).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "addedByTenantId": self.added_by,
            "memberState": self.member_state,
            "role": self.role,
            "transitionDetails": self.transition.clone().unwrap_or(Value::Null),
        })
    }
}

fn parse_opt_json(s: Option<String>) -> rusqlite::Result<Option<Value>> {
    Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
}

fn row_member(r: &rusqlite::Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        org_id: r.get(0)?,
        tenant_id: r.get(1)?,
        display_name: r.get(2)?,
        role: r.get(3)?,
        state: r.get(4)?,
        added_ms: r.get(5)?,
        joined_ms: r.get(6)?,
        added_by: r.get(7)?,
        transition: parse_opt_json(r.get(8)?)?,
        local_id: r.get(9)?,
    })
}

const MEMBER_COLS: &str = "org_id, tenant_id, display_name, role, state, added_ms, joined_ms, added_by, transition, local_id";

/// The organization a tenant is in (has a `local_id` in), with its own member row.
pub fn org_of_tenant(conn: &Conn, tenant: &str) -> Result<Option<(Org, Member)>, StoreError> {
    let m = conn
        .prepare_cached(&format!(
            "SELECT {MEMBER_COLS} FROM mto_members WHERE tenant_id = ?1 AND local_id IS NOT NULL"
        ))?
        .query_row([tenant], row_member)
        .optional()?;
    let Some(m) = m else { return Ok(None) };
    let org = get_org(conn, &m.org_id)?.ok_or_else(|| {
        StoreError::Corrupt(format!("member row without organization {}", m.org_id))
    })?;
    Ok(Some((org, m)))
}

/// Get an organization.
pub fn get_org(conn: &Conn, org_id: &str) -> Result<Option<Org>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT org_id, display_name, description, created_ms, creator_tenant FROM mto_orgs WHERE org_id = ?1",
        )?
        .query_row([org_id], |r| {
            Ok(Org {
                org_id: r.get(0)?,
                display_name: r.get(1)?,
                description: r.get(2)?,
                created_ms: r.get(3)?,
                creator_tenant: r.get(4)?,
            })
        })
        .optional()?)
}

/// Insert an organization.
pub fn insert_org(conn: &Conn, org: &Org) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO mto_orgs (org_id, display_name, description, created_ms, creator_tenant)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            org.org_id,
            org.display_name,
            org.description,
            org.created_ms,
            org.creator_tenant
        ],
    )?;
    Ok(())
}

/// Update an organization's name and description.
pub fn update_org(conn: &Conn, org: &Org) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE mto_orgs SET display_name = ?2, description = ?3 WHERE org_id = ?1",
        params![org.org_id, org.display_name, org.description],
    )?;
    Ok(())
}

/// Delete an organization with all its member rows and queued work.
pub fn delete_org(conn: &Conn, org_id: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM mto_members WHERE org_id = ?1", [org_id])?;
    conn.execute("DELETE FROM jobs WHERE org_id = ?1", [org_id])?;
    conn.execute("DELETE FROM mto_orgs WHERE org_id = ?1", [org_id])?;
    Ok(())
}

/// All member rows of an organization, oldest first.
pub fn members(conn: &Conn, org_id: &str) -> Result<Vec<Member>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MEMBER_COLS} FROM mto_members WHERE org_id = ?1 ORDER BY added_ms, tenant_id"
    ))?;
    let rows = stmt.query_map([org_id], row_member)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every member row of a tenant, in any organization.
pub fn rows_of_tenant(conn: &Conn, tenant: &str) -> Result<Vec<Member>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MEMBER_COLS} FROM mto_members WHERE tenant_id = ?1 ORDER BY added_ms"
    ))?;
    let rows = stmt.query_map([tenant], row_member)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One member row.
pub fn get_member(conn: &Conn, org_id: &str, tenant: &str) -> Result<Option<Member>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {MEMBER_COLS} FROM mto_members WHERE org_id = ?1 AND tenant_id = ?2"
        ))?
        .query_row([org_id, tenant], row_member)
        .optional()?)
}

/// Insert or replace a member row.
pub fn put_member(conn: &Conn, m: &Member) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO mto_members ({MEMBER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            m.org_id,
            m.tenant_id,
            m.display_name,
            m.role,
            m.state,
            m.added_ms,
            m.joined_ms,
            m.added_by,
            m.transition.as_ref().map(|t| t.to_string()),
            m.local_id
        ],
    )?;
    Ok(())
}

/// Delete a member row.
pub fn delete_member(conn: &Conn, org_id: &str, tenant: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM mto_members WHERE org_id = ?1 AND tenant_id = ?2",
        [org_id, tenant],
    )?;
    Ok(())
}

/// A tenant's join request, if it ever sent one.
pub fn get_join_request(conn: &Conn, tenant: &str) -> Result<Option<JoinRequest>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT tenant_id, id, added_by, member_state, role, transition FROM join_requests WHERE tenant_id = ?1",
        )?
        .query_row([tenant], |r| {
            Ok(JoinRequest {
                tenant_id: r.get(0)?,
                id: r.get(1)?,
                added_by: r.get(2)?,
                member_state: r.get(3)?,
                role: r.get(4)?,
                transition: parse_opt_json(r.get(5)?)?,
            })
        })
        .optional()?)
}

/// Insert or replace a join request.
pub fn put_join_request(conn: &Conn, j: &JoinRequest) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO join_requests (tenant_id, id, added_by, member_state, role, transition)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            j.tenant_id,
            j.id,
            j.added_by,
            j.member_state,
            j.role,
            j.transition.as_ref().map(|t| t.to_string())
        ],
    )?;
    Ok(())
}

/// Queued asynchronous work.
#[derive(Clone, Debug)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// When it becomes due (ms).
    pub due_ms: i64,
    /// `join`, `remove` or `role`.
    pub kind: String,
    /// Tenant the work is about.
    pub tenant_id: String,
    /// Organization (for `remove`/`role`).
    pub org_id: Option<String>,
    /// Extra data.
    pub payload: Value,
}

/// Queue work. Returns its id.
pub fn enqueue(
    conn: &Conn,
    due_ms: i64,
    kind: &str,
    tenant: &str,
    org_id: Option<&str>,
    payload: &Value,
) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO jobs (due_ms, kind, tenant_id, org_id, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![due_ms, kind, tenant, org_id, payload.to_string()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Drop queued work of a kind for a tenant (e.g. a join request that was reset).
pub fn cancel_jobs(conn: &Conn, kind: &str, tenant: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM jobs WHERE kind = ?1 AND tenant_id = ?2",
        [kind, tenant],
    )?;
    Ok(())
}

/// Due time of the earliest queued job.
pub fn next_due(conn: &Conn) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row("SELECT min(due_ms) FROM jobs", [], |r| r.get(0))?)
}

/// The earliest job due at or before `now`.
pub fn first_due(conn: &Conn, now: i64) -> Result<Option<Job>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, due_ms, kind, tenant_id, org_id, payload FROM jobs
             WHERE due_ms <= ?1 ORDER BY due_ms, id LIMIT 1",
        )?
        .query_row([now], |r| {
            let payload: String = r.get(5)?;
            Ok(Job {
                id: r.get(0)?,
                due_ms: r.get(1)?,
                kind: r.get(2)?,
                tenant_id: r.get(3)?,
                org_id: r.get(4)?,
                payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
            })
        })
        .optional()?)
}

/// Remove a job (in the same transaction that applies it, so it runs exactly once).
/// Returns false if it was already gone (cancelled meanwhile).
pub fn delete_job(conn: &Conn, id: i64) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM jobs WHERE id = ?1", [id])? == 1)
}
