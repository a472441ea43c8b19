//! The generic document table: one JSON object per (tenant, kind, key).
//!
//! Keys are lower-case (GUIDs). Properties whose name starts with `_` are private to the
//! sandbox (e.g. a synced user's link to its source object) and are never returned by Graph
//! routes. `created_ms` drives the replication-lag fault: reads take a `visible_before`
//! cut-off and treat younger documents as absent.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params, params_from_iter};
use serde_json::{Map, Value};

use super::filter::SqlFilter;
use super::{Conn, StoreError};

/// Document kinds stored in `docs`.
pub mod kind {
    /// A user (key: object id).
    pub const USER: &str = "user";
    /// A soft-deleted user (key: object id), listed under `/directory/deletedItems`.
    pub const DELETED_USER: &str = "deletedUser";
    /// A group (key: object id).
    pub const GROUP: &str = "group";
    /// A cross-tenant access partner configuration (key: partner tenant id).
    pub const PARTNER: &str = "partner";
    /// A partner's identity-sync policy (key: partner tenant id).
    pub const IDENTITY_SYNC: &str = "identitySync";
    /// MTO identity-sync template (singleton, key `""`).
    pub const TEMPLATE_SYNC: &str = "template.identitySync";
    /// MTO partner configuration template (singleton, key `""`).
    pub const TEMPLATE_PARTNER: &str = "template.partner";
    /// Cross-tenant access policy root (singleton).
    pub const CTAP_ROOT: &str = "ctap.root";
    /// Cross-tenant access policy default configuration (singleton).
    pub const CTAP_DEFAULT: &str = "ctap.default";
    /// An application (key: object id).
    pub const APPLICATION: &str = "application";
    /// A service principal (key: object id).
    pub const SERVICE_PRINCIPAL: &str = "servicePrincipal";
}

/// A stored document.
#[derive(Clone, Debug)]
pub struct Doc {
    /// Its key.
    pub key: String,
    /// Its JSON object.
    pub body: Map<String, Value>,
    /// Creation time (ms since epoch); 0 for seeded objects so lag never hides them.
    pub created_ms: i64,
}

fn row_doc(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn to_doc((key, body, created_ms): (String, String, i64)) -> Result<Doc, StoreError> {
    let body = match serde_json::from_str(&body)? {
        Value::Object(m) => m,
        _ => {
            return Err(StoreError::Corrupt(format!(
                "document {key} is not an object"
            )));
        }
    };
    Ok(Doc {
        key,
        body,
        created_ms,
    })
}

/// Get a document regardless of age.
pub fn get(conn: &Conn, tenant: &str, kind: &str, key: &str) -> Result<Option<Doc>, StoreError> {
    get_visible(conn, tenant, kind, key, i64::MAX)
}

/// Get a document created at or before `visible_before` (ms).
pub fn get_visible(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    key: &str,
    visible_before: i64,
) -> Result<Option<Doc>, StoreError> {
    conn.prepare_cached(
        "SELECT key, body, created_ms FROM docs
         WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3 AND created_ms <= ?4",
    )?
    .query_row(params![tenant, kind, key, visible_before], row_doc)
    .optional()?
    .map(to_doc)
    .transpose()
}

/// Find a user-like document by `userPrincipalName` (case-insensitive, indexed).
pub fn find_by_upn(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    upn: &str,
    visible_before: i64,
) -> Result<Option<Doc>, StoreError> {
    conn.prepare_cached(
        "SELECT key, body, created_ms FROM docs
         WHERE tenant_id = ?1 AND kind = ?2
           AND lower(json_extract(body, '$.userPrincipalName')) = lower(?3)
           AND created_ms <= ?4",
    )?
    .query_row(params![tenant, kind, upn, visible_before], row_doc)
    .optional()?
    .map(to_doc)
    .transpose()
}

/// Insert a document unless the key exists. Returns whether it was inserted.
pub fn insert(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    key: &str,
    body: &Map<String, Value>,
    created_ms: i64,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO docs (tenant_id, kind, key, body, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            tenant,
            kind,
            key,
            serde_json::to_string(body)?,
            created_ms
        ])?;
    Ok(n == 1)
}

/// Insert a document whose body is already serialized (the synchronization engine builds bodies
/// outside the write transaction). Returns whether it was inserted.
pub fn insert_json(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    key: &str,
    body: &str,
    created_ms: i64,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO docs (tenant_id, kind, key, body, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![tenant, kind, key, body, created_ms])?;
    Ok(n == 1)
}

/// Insert or replace a document's body (keeps `created_ms` of an existing row).
pub fn upsert(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    key: &str,
    body: &Map<String, Value>,
    created_ms: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO docs (tenant_id, kind, key, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant_id, kind, key) DO UPDATE SET body = excluded.body",
    )?
    .execute(params![
        tenant,
        kind,
        key,
        serde_json::to_string(body)?,
        created_ms
    ])?;
    Ok(())
}

/// Replace the body of an existing document. Returns false if it does not exist.
pub fn update(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    key: &str,
    body: &Map<String, Value>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE docs SET body = ?4 WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3",
        )?
        .execute(params![tenant, kind, key, serde_json::to_string(body)?])?;
    Ok(n == 1)
}

/// Delete a document. Returns whether it existed.
pub fn delete(conn: &Conn, tenant: &str, kind: &str, key: &str) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM docs WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3")?
        .execute(params![tenant, kind, key])?;
    Ok(n == 1)
}

/// `SELECT {columns} FROM docs` of a tenant's visible documents of a kind matching `filter`,
/// with its parameters; callers append `AND …`, `ORDER BY …` and `LIMIT …`.
fn select_visible(
    columns: &str,
    tenant: &str,
    kind: &str,
    filter: &SqlFilter,
    visible_before: i64,
) -> (String, Vec<SqlValue>) {
    let mut sql =
        format!("SELECT {columns} FROM docs WHERE tenant_id = ? AND kind = ? AND created_ms <= ?");
    let mut p: Vec<SqlValue> = vec![
        tenant.to_string().into(),
        kind.to_string().into(),
        visible_before.into(),
    ];
    if !filter.sql.is_empty() {
        sql.push_str(" AND (");
        sql.push_str(&filter.sql);
        sql.push(')');
        p.extend(filter.params.iter().cloned());
    }
    (sql, p)
}

/// Run a query of `key, body, created_ms` rows.
fn fetch(conn: &Conn, sql: &str, p: Vec<SqlValue>) -> Result<Vec<Doc>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(p), row_doc)?;
    rows.map(|r| to_doc(r?)).collect()
}

/// The columns [`fetch`] reads.
const DOC_COLUMNS: &str = "key, body, created_ms";

/// Page through documents of a kind in key order.
pub fn list(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    filter: &SqlFilter,
    after: Option<&str>,
    limit: usize,
    visible_before: i64,
) -> Result<Vec<Doc>, StoreError> {
    let (mut sql, mut p) = select_visible(DOC_COLUMNS, tenant, kind, filter, visible_before);
    if let Some(a) = after {
        sql.push_str(" AND key > ?");
        p.push(a.to_string().into());
    }
    sql.push_str(" ORDER BY key LIMIT ?");
    p.push((limit as i64).into());
    fetch(conn, &sql, p)
}

/// Page through documents of a kind sorted by `order` (property names from a fixed allow-list,
/// `true` = descending; strings compare ignoring case, ties in key order): `limit` documents
/// after the first `offset`.
#[allow(clippy::too_many_arguments)]
pub fn list_ordered(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    filter: &SqlFilter,
    order: &[(String, bool)],
    offset: usize,
    limit: usize,
    visible_before: i64,
) -> Result<Vec<Doc>, StoreError> {
    let (mut sql, mut p) = select_visible(DOC_COLUMNS, tenant, kind, filter, visible_before);
    sql.push_str(" ORDER BY ");
    for (prop, desc) in order {
        let dir = if *desc { "DESC" } else { "ASC" };
        sql.push_str(&format!(
            "lower(json_extract(body, '$.{prop}')) {dir}, json_extract(body, '$.{prop}') {dir}, "
        ));
    }
    sql.push_str("key LIMIT ? OFFSET ?");
    p.push((limit as i64).into());
    p.push((offset as i64).into());
    fetch(conn, &sql, p)
}

/// Count documents of a kind matching a filter.
pub fn count(
    conn: &Conn,
    tenant: &str,
    kind: &str,
    filter: &SqlFilter,
    visible_before: i64,
) -> Result<i64, StoreError> {
    let (sql, p) = select_visible("count(*)", tenant, kind, filter, visible_before);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(p), |r| r.get(0))?)
}

/// Member ids of a group, in id order.
pub fn group_member_ids(
    conn: &Conn,
    tenant: &str,
    group_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT member_id FROM group_members WHERE tenant_id = ?1 AND group_id = ?2 ORDER BY member_id",
    )?;
    let rows = stmt.query_map(params![tenant, group_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Add a member to a group (no-op if present).
pub fn add_group_member(
    conn: &Conn,
    tenant: &str,
    group_id: &str,
    member_id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO group_members (tenant_id, group_id, member_id) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![tenant, group_id, member_id])?;
    Ok(())
}

/// Whether `member_id` is a direct member of a group.
pub fn is_group_member(
    conn: &Conn,
    tenant: &str,
    group_id: &str,
    member_id: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM group_members WHERE tenant_id = ?1 AND group_id = ?2 AND member_id = ?3",
        )?
        .query_row(params![tenant, group_id, member_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Remove a member from a group. Returns whether it was a member.
pub fn remove_group_member(
    conn: &Conn,
    tenant: &str,
    group_id: &str,
    member_id: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "DELETE FROM group_members WHERE tenant_id = ?1 AND group_id = ?2 AND member_id = ?3",
        )?
        .execute(params![tenant, group_id, member_id])?;
    Ok(n == 1)
}

/// Remove a group's memberships: its members and its own membership in other groups.
pub fn delete_group_memberships(
    conn: &Conn,
    tenant: &str,
    group_id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM group_members WHERE tenant_id = ?1 AND (group_id = ?2 OR member_id = ?2)",
    )?
    .execute(params![tenant, group_id])?;
    Ok(())
}

/// How many internal users a tenant has: users that are not B2B (no `#EXT#` UPN, not created by
/// invitation), members and guests alike.
pub fn internal_user_count(conn: &Conn, tenant: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM docs WHERE tenant_id = ?1 AND kind = 'user'
               AND instr(upper(coalesce(json_extract(body, '$.userPrincipalName'), '')), '#EXT#') = 0
               AND coalesce(json_extract(body, '$.creationType'), '') <> 'Invitation'",
        )?
        .query_row(params![tenant], |r| r.get(0))?)
}

/// Record that a seed object was applied once; returns false if it already was.
pub fn mark_seeded(conn: &Conn, tenant: &str, kind: &str, key: &str) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO seed_applied (tenant_id, kind, key) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![tenant, kind, key])?;
    Ok(n == 1)
}

/// Whether a seed object was already applied.
pub fn was_seeded(conn: &Conn, tenant: &str, kind: &str, key: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM seed_applied WHERE tenant_id = ?1 AND kind = ?2 AND key = ?3",
        )?
        .query_row(params![tenant, kind, key], |_| Ok(()))
        .optional()?
        .is_some())
}
