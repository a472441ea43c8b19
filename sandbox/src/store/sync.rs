//! Cross-tenant synchronization state: app role assignments, synchronization jobs (with their
//! schema and next due time), secrets, the per-job provisioning entries and the directory-level
//! B2B links.
//!
//! Applications and service principals are JSON documents in `docs` (kinds `application` and
//! `servicePrincipal`); everything here is relational because the engine joins it in bulk.
//!
//! Two kinds of link, on purpose:
//! - `b2b_links` (target tenant, source tenant, source user) → target user is the
//!   **alternativeSecurityId** of a B2B user: a property of the target directory, independent of
//!   any job. Matching uses it, so a new job (or a `Full` restart, or a second configuration)
//!   finds the B2B user an earlier job created instead of creating a duplicate. It survives the
//!   deletion of the job that created it (Graph leaves those users in the target).
//! - `sync_entries` (source tenant, job, source user) is the job's own state: which target user it
//!   manages, the hash of the attribute values it last exported, and whether the entry is synced,
//!   soft-deleted by the job, or escrowed (failed). A `Full` restart deletes a job's entries.
//!
//! Creating a target user, its `b2b_links` row and its `sync_entries` row always happens in one
//! transaction, so a crash can never leave a user without its link (which would make the next
//! cycle create a duplicate).
//!
//! Groups have the same pair apart: `group_links` (target tenant, source tenant, source group) →
//! target group, and `sync_group_entries`, the job's state per source group.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{Conn, StoreError};

/// Tables of this module (run at every open; `IF NOT EXISTS`).
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS app_role_assignments (
    tenant_id      TEXT NOT NULL,
    id             TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    app_role_id    TEXT NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS app_role_assignments_unique
    ON app_role_assignments (tenant_id, resource_id, principal_id, app_role_id);
CREATE TABLE IF NOT EXISTS sync_jobs (
    tenant_id  TEXT NOT NULL,
    sp_id      TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    body       TEXT NOT NULL,
    schema     TEXT NOT NULL,
    due_ms     INTEGER,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, sp_id, job_id)
);
CREATE INDEX IF NOT EXISTS sync_jobs_due ON sync_jobs (due_ms);
CREATE TABLE IF NOT EXISTS sync_secrets (
    tenant_id TEXT NOT NULL,
    sp_id     TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sp_id, key)
);
CREATE TABLE IF NOT EXISTS user_changes (
    tenant_id TEXT NOT NULL,
    key       TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_changes_seq ON user_changes (tenant_id, seq);
CREATE TABLE IF NOT EXISTS user_change_counter (n INTEGER NOT NULL);
INSERT INTO user_change_counter SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM user_change_counter);
CREATE TRIGGER IF NOT EXISTS user_change_on_insert AFTER INSERT ON docs
WHEN NEW.kind = 'user'
 AND coalesce(json_extract(NEW.body, '$.userPrincipalName'), '') NOT LIKE '%#EXT#%'
BEGIN
    UPDATE user_change_counter SET n = n + 1;
    INSERT INTO user_changes (tenant_id, key, seq)
        VALUES (NEW.tenant_id, NEW.key, (SELECT n FROM user_change_counter))
        ON CONFLICT (tenant_id, key) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER IF NOT EXISTS user_change_on_update AFTER UPDATE ON docs
WHEN (NEW.kind = 'user' OR OLD.kind = 'user')
 AND (coalesce(json_extract(NEW.body, '$.userPrincipalName'), '') NOT LIKE '%#EXT#%'
      OR coalesce(json_extract(OLD.body, '$.userPrincipalName'), '') NOT LIKE '%#EXT#%')
BEGIN
    UPDATE user_change_counter SET n = n + 1;
    INSERT INTO user_changes (tenant_id, key, seq)
        VALUES (NEW.tenant_id, NEW.key, (SELECT n FROM user_change_counter))
        ON CONFLICT (tenant_id, key) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER IF NOT EXISTS user_change_on_delete AFTER DELETE ON docs
WHEN OLD.kind = 'user'
 AND coalesce(json_extract(OLD.body, '$.userPrincipalName'), '') NOT LIKE '%#EXT#%'
BEGIN
    UPDATE user_change_counter SET n = n + 1;
    INSERT INTO user_changes (tenant_id, key, seq)
        VALUES (OLD.tenant_id, OLD.key, (SELECT n FROM user_change_counter))
        ON CONFLICT (tenant_id, key) DO UPDATE SET seq = excluded.seq;
END;
CREATE TABLE IF NOT EXISTS sync_entries (
    tenant_id     TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    target_tenant TEXT NOT NULL,
    target_id     TEXT,
    hash          INTEGER NOT NULL,
    state         TEXT NOT NULL,
    error         TEXT,
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, job_id, source_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS b2b_links (
    target_tenant TEXT NOT NULL,
    source_tenant TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    PRIMARY KEY (target_tenant, source_tenant, source_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_group_entries (
    tenant_id     TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    target_tenant TEXT NOT NULL,
    target_id     TEXT,
    hash          INTEGER NOT NULL,
    state         TEXT NOT NULL,
    error         TEXT,
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, job_id, source_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_links (
    target_tenant TEXT NOT NULL,
    source_tenant TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    PRIMARY KEY (target_tenant, source_tenant, source_id)
) WITHOUT ROWID;
"#;

// ---------------------------------------------------------------------------------------------
// App role assignments

/// One `appRoleAssignment` of a service principal.
#[derive(Clone, Debug)]
pub struct Assignment {
    /// Assignment id.
    pub id: String,
    /// The service principal (`resourceId`).
    pub resource_id: String,
    /// The assigned user or group.
    pub principal_id: String,
    /// `User` or `Group`.
    pub principal_type: String,
    /// The app role.
    pub app_role_id: String,
    /// The Graph JSON.
    pub body: Value,
}

fn row_assignment(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Assignment, String)> {
    Ok((
        Assignment {
            id: r.get(0)?,
            resource_id: r.get(1)?,
            principal_id: r.get(2)?,
            principal_type: r.get(3)?,
            app_role_id: r.get(4)?,
            body: Value::Null,
        },
        r.get(5)?,
    ))
}

fn with_body((mut a, body): (Assignment, String)) -> Result<Assignment, StoreError> {
    a.body = serde_json::from_str(&body)?;
    Ok(a)
}

/// Insert an assignment; false if the same (principal, role) is already assigned.
pub fn insert_assignment(c: &Conn, tenant: &str, a: &Assignment) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "INSERT OR IGNORE INTO app_role_assignments
             (tenant_id, id, resource_id, principal_id, principal_type, app_role_id, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            tenant,
            a.id,
            a.resource_id,
            a.principal_id,
            a.principal_type,
            a.app_role_id,
            a.body.to_string()
        ])?;
    Ok(n == 1)
}

/// A page of a service principal's assignments in id order, after `after`.
pub fn list_assignments(
    c: &Conn,
    tenant: &str,
    resource_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Assignment>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT id, resource_id, principal_id, principal_type, app_role_id, body
         FROM app_role_assignments
         WHERE tenant_id = ?1 AND resource_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![tenant, resource_id, after.unwrap_or(""), limit as i64],
        row_assignment,
    )?;
    rows.map(|r| with_body(r?)).collect()
}

/// One assignment of a service principal.
pub fn get_assignment(
    c: &Conn,
    tenant: &str,
    resource_id: &str,
    id: &str,
) -> Result<Option<Assignment>, StoreError> {
    c.prepare_cached(
        "SELECT id, resource_id, principal_id, principal_type, app_role_id, body
         FROM app_role_assignments WHERE tenant_id = ?1 AND resource_id = ?2 AND id = ?3",
    )?
    .query_row(params![tenant, resource_id, id], row_assignment)
    .optional()?
    .map(with_body)
    .transpose()
}

/// Delete one assignment; false if it did not exist.
pub fn delete_assignment(
    c: &Conn,
    tenant: &str,
    resource_id: &str,
    id: &str,
) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "DELETE FROM app_role_assignments WHERE tenant_id = ?1 AND resource_id = ?2 AND id = ?3",
    )?
    .execute(params![tenant, resource_id, id])?
        == 1)
}

/// Ids of the users in a service principal's scope: users assigned directly plus the direct
/// members of assigned groups (no nesting), distinct, in id order. Not filtered by user type.
pub fn assigned_user_ids(
    c: &Conn,
    tenant: &str,
    resource_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT principal_id FROM app_role_assignments
          WHERE tenant_id = ?1 AND resource_id = ?2 AND principal_type = 'User'
         UNION
         SELECT gm.member_id FROM app_role_assignments a
           JOIN group_members gm ON gm.tenant_id = a.tenant_id AND gm.group_id = a.principal_id
          WHERE a.tenant_id = ?1 AND a.resource_id = ?2 AND a.principal_type = 'Group'
         ORDER BY 1",
    )?;
    let rows = stmt.query_map(params![tenant, resource_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids of the groups assigned to a service principal, in id order.
pub fn assigned_group_ids(
    c: &Conn,
    tenant: &str,
    resource_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT DISTINCT principal_id FROM app_role_assignments
          WHERE tenant_id = ?1 AND resource_id = ?2 AND principal_type = 'Group' ORDER BY 1",
    )?;
    let rows = stmt.query_map(params![tenant, resource_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids of every group of a tenant (for `SyncAll`), in id order.
pub fn all_group_ids(c: &Conn, tenant: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT key FROM docs WHERE tenant_id = ?1 AND kind = 'group' ORDER BY key",
    )?;
    let rows = stmt.query_map(params![tenant], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Remove every app role assignment of a principal (its user or group was deleted).
pub fn delete_principal_assignments(
    c: &Conn,
    tenant: &str,
    principal_id: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "DELETE FROM app_role_assignments WHERE tenant_id = ?1 AND principal_id = ?2",
    )?
    .execute(params![tenant, principal_id])?;
    Ok(())
}

/// Ids of every user of a tenant (for `SyncAll`), in id order.
pub fn all_user_ids(c: &Conn, tenant: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT key FROM docs WHERE tenant_id = ?1 AND kind = 'user' ORDER BY key",
    )?;
    let rows = stmt.query_map(params![tenant], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stored bodies of a few users, by id, in the order given (None if there is no such user).
pub fn user_bodies(
    c: &Conn,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<(String, Option<String>)>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT body FROM docs WHERE tenant_id = ?1 AND kind = 'user' AND key = ?2",
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let body: Option<String> = stmt
            .query_row([tenant, id.as_str()], |r| r.get(0))
            .optional()?;
        out.push((id.clone(), body));
    }
    Ok(out)
}

/// Stored bodies of the users among a chunk of **sorted** ids, with one range scan over the
/// keys of the tenant's users, answered from the primary-key index alone, and one row read per
/// user in the chunk. Users between them that are not in the chunk are skipped without their
/// rows being read: in a mesh, a tenant's own users are interleaved with the B2B users every
/// other tenant's jobs created there, and reading those bodies made a cycle cost the size of
/// the whole directory instead of the size of the scope.
pub fn user_bodies_sorted(
    c: &Conn,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
        return Ok(Vec::new());
    };
    let mut keys = c.prepare_cached(
        "SELECT key, rowid FROM docs
         WHERE tenant_id = ?1 AND kind = 'user' AND key >= ?2 AND key <= ?3 ORDER BY key",
    )?;
    let mut rows = keys.query(params![tenant, first, last])?;
    let mut found: Vec<(String, i64)> = Vec::with_capacity(ids.len());
    let mut want = ids.iter().peekable();
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        while want.peek().is_some_and(|w| w.as_str() < key.as_str()) {
            want.next();
        }
        if want.peek().is_some_and(|w| w.as_str() == key.as_str()) {
            found.push((key, r.get(1)?));
            want.next();
        }
    }
    drop(rows);
    let mut body = c.prepare_cached("SELECT body FROM docs WHERE rowid = ?1")?;
    let mut out = Vec::with_capacity(found.len());
    for (key, rowid) in found {
        out.push((key, body.query_row([rowid], |r| r.get(0))?));
    }
    Ok(out)
}

/// The addresses of a target user that can collide with a new B2B user's.
#[derive(Clone, Debug)]
pub struct UserAddresses {
    /// The user's object id.
    pub id: String,
    /// `mail`.
    pub mail: Option<String>,
    /// `proxyAddresses` (with their `smtp:` prefixes); empty when unreadable.
    pub proxy_addresses: Vec<String>,
    /// `userPrincipalName`.
    pub upn: Option<String>,
    /// `creationType`.
    pub creation_type: Option<String>,
}

/// Every user of a tenant that has a mail or a proxy address.
pub fn user_addresses(c: &Conn, tenant: &str) -> Result<Vec<UserAddresses>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT key, json_extract(body, '$.mail'), json_extract(body, '$.proxyAddresses'),
                json_extract(body, '$.userPrincipalName'), json_extract(body, '$.creationType')
         FROM docs WHERE tenant_id = ?1 AND kind = 'user'
           AND (json_extract(body, '$.mail') IS NOT NULL
                OR json_array_length(json_extract(body, '$.proxyAddresses')) > 0)",
    )?;
    let rows = stmt.query_map([tenant], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, mail, proxies, upn, creation_type) = row?;
        let proxy_addresses = match proxies.map(|p| serde_json::from_str::<Value>(&p)) {
            Some(Ok(Value::Array(list))) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        out.push(UserAddresses {
            id,
            mail,
            proxy_addresses,
            upn,
            creation_type,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// A stored synchronization job.
#[derive(Clone, Debug)]
pub struct JobRow {
    /// Source tenant.
    pub tenant_id: String,
    /// Service principal of the configuration.
    pub sp_id: String,
    /// Job id.
    pub job_id: String,
    /// The `synchronizationJob` JSON (schedule, status, settings).
    pub body: Value,
    /// The `synchronizationSchema` JSON.
    pub schema: Value,
    /// Next cycle (ms), or None when the job is not scheduled.
    pub due_ms: Option<i64>,
}

fn row_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<(JobRow, String, String)> {
    Ok((
        JobRow {
            tenant_id: r.get(0)?,
            sp_id: r.get(1)?,
            job_id: r.get(2)?,
            body: Value::Null,
            schema: Value::Null,
            due_ms: r.get(5)?,
        },
        r.get(3)?,
        r.get(4)?,
    ))
}

fn job_with_json((mut j, body, schema): (JobRow, String, String)) -> Result<JobRow, StoreError> {
    j.body = serde_json::from_str(&body)?;
    j.schema = serde_json::from_str(&schema)?;
    Ok(j)
}

const JOB_COLUMNS: &str = "tenant_id, sp_id, job_id, body, schema, due_ms";

/// Insert a new job.
pub fn insert_job(c: &Conn, j: &JobRow, now: i64) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO sync_jobs (tenant_id, sp_id, job_id, body, schema, due_ms, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        j.tenant_id,
        j.sp_id,
        j.job_id,
        j.body.to_string(),
        j.schema.to_string(),
        j.due_ms,
        now
    ])?;
    Ok(())
}

/// One job of a service principal.
pub fn get_job(
    c: &Conn,
    tenant: &str,
    sp_id: &str,
    job_id: &str,
) -> Result<Option<JobRow>, StoreError> {
    c.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE tenant_id = ?1 AND sp_id = ?2 AND job_id = ?3"
    ))?
    .query_row(params![tenant, sp_id, job_id], row_job)
    .optional()?
    .map(job_with_json)
    .transpose()
}

/// Whether a job still exists (checked by the engine before each chunk it writes).
pub fn job_exists(c: &Conn, tenant: &str, sp_id: &str, job_id: &str) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM sync_jobs WHERE tenant_id = ?1 AND sp_id = ?2 AND job_id = ?3",
    )?
    .query_row(params![tenant, sp_id, job_id], |_| Ok(()))
    .optional()?
    .is_some())
}

/// Jobs of a service principal in creation order.
pub fn list_jobs(c: &Conn, tenant: &str, sp_id: &str) -> Result<Vec<JobRow>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE tenant_id = ?1 AND sp_id = ?2
         ORDER BY created_ms, job_id"
    ))?;
    let rows = stmt.query_map(params![tenant, sp_id], row_job)?;
    rows.map(|r| job_with_json(r?)).collect()
}

/// Every job (for the admin run endpoint), in a stable order.
pub fn all_jobs(c: &Conn) -> Result<Vec<JobRow>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM sync_jobs ORDER BY tenant_id, sp_id, created_ms, job_id"
    ))?;
    let rows = stmt.query_map([], row_job)?;
    rows.map(|r| job_with_json(r?)).collect()
}

/// Keys `(tenant, sp, job)` of the jobs due at or before `now`.
pub fn due_jobs(c: &Conn, now: i64) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT tenant_id, sp_id, job_id FROM sync_jobs
         WHERE due_ms IS NOT NULL AND due_ms <= ?1 ORDER BY due_ms",
    )?;
    let rows = stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The earliest due time of any scheduled job.
pub fn next_due(c: &Conn) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row(
        "SELECT min(due_ms) FROM sync_jobs WHERE due_ms IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Replace a job's JSON and due time.
pub fn update_job(
    c: &Conn,
    tenant: &str,
    sp_id: &str,
    job_id: &str,
    body: &Value,
    due_ms: Option<i64>,
) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "UPDATE sync_jobs SET body = ?4, due_ms = ?5
         WHERE tenant_id = ?1 AND sp_id = ?2 AND job_id = ?3",
    )?
    .execute(params![tenant, sp_id, job_id, body.to_string(), due_ms])?
        == 1)
}

/// Move the next cycle of a scheduled job to `due_ms` (a job that is not scheduled stays so).
pub fn postpone_job(
    c: &Conn,
    tenant: &str,
    sp_id: &str,
    job_id: &str,
    due_ms: i64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE sync_jobs SET due_ms = ?4 WHERE tenant_id = ?1 AND sp_id = ?2 AND job_id = ?3 AND due_ms IS NOT NULL",
        params![tenant, sp_id, job_id, due_ms],
    )?;
    Ok(())
}

/// Replace a job's schema.
pub fn update_schema(
    c: &Conn,
    tenant: &str,
    sp_id: &str,
    job_id: &str,
    schema: &Value,
) -> Result<bool, StoreError> {
    Ok(c.prepare_cached(
        "UPDATE sync_jobs SET schema = ?4 WHERE tenant_id = ?1 AND sp_id = ?2 AND job_id = ?3",
    )?
    .execute(params![tenant, sp_id, job_id, schema.to_string()])?
        == 1)
}

/// Delete a job and its entries (target users and their B2B links stay).
pub fn delete_job(c: &Conn, tenant: &str, sp_id: &str, job_id: &str) -> Result<bool, StoreError> {
    let n = c.execute(
        "DELETE FROM sync_jobs WHERE tenant_id = ?1 AND sp_id = ?2 AND job_id = ?3",
        params![tenant, sp_id, job_id],
    )?;
    for table in [USER_ENTRIES, GROUP_ENTRIES] {
        c.execute(
            &format!("DELETE FROM {table} WHERE tenant_id = ?1 AND job_id = ?2"),
            params![tenant, job_id],
        )?;
    }
    Ok(n == 1)
}

/// Delete everything a service principal owns for synchronization: jobs, their entries, secrets
/// and app role assignments.
pub fn delete_sp_state(c: &Conn, tenant: &str, sp_id: &str) -> Result<(), StoreError> {
    for table in [USER_ENTRIES, GROUP_ENTRIES] {
        c.execute(
            &format!(
                "DELETE FROM {table} WHERE tenant_id = ?1 AND job_id IN
                   (SELECT job_id FROM sync_jobs WHERE tenant_id = ?1 AND sp_id = ?2)"
            ),
            params![tenant, sp_id],
        )?;
    }
    c.execute(
        "DELETE FROM sync_jobs WHERE tenant_id = ?1 AND sp_id = ?2",
        params![tenant, sp_id],
    )?;
    c.execute(
        "DELETE FROM sync_secrets WHERE tenant_id = ?1 AND sp_id = ?2",
        params![tenant, sp_id],
    )?;
    c.execute(
        "DELETE FROM app_role_assignments WHERE tenant_id = ?1 AND resource_id = ?2",
        params![tenant, sp_id],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// A service principal's secrets `(key, value)` in key order.
pub fn secrets(c: &Conn, tenant: &str, sp_id: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT key, value FROM sync_secrets WHERE tenant_id = ?1 AND sp_id = ?2 ORDER BY key",
    )?;
    let rows = stmt.query_map(params![tenant, sp_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Set a secret; an empty value removes it.
pub fn put_secret(
    c: &Conn,
    tenant: &str,
    sp_id: &str,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    if value.is_empty() {
        c.prepare_cached(
            "DELETE FROM sync_secrets WHERE tenant_id = ?1 AND sp_id = ?2 AND key = ?3",
        )?
        .execute(params![tenant, sp_id, key])?;
    } else {
        c.prepare_cached(
            "INSERT INTO sync_secrets (tenant_id, sp_id, key, value) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant_id, sp_id, key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![tenant, sp_id, key, value])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Entries and links

/// The table of the jobs' user entries.
const USER_ENTRIES: &str = "sync_entries";
/// The table of the jobs' group entries.
const GROUP_ENTRIES: &str = "sync_group_entries";
/// The alternativeSecurityId links of B2B users.
const USER_LINKS: &str = "b2b_links";
/// The links of provisioned groups.
const GROUP_LINKS: &str = "group_links";

/// What a job knows about one source user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The tenant the target user lives in.
    pub target_tenant: String,
    /// The target user, if one was created or matched.
    pub target_id: Option<String>,
    /// Hash of the attribute values last exported (0 = re-evaluate).
    pub hash: i64,
    /// `synced`, `deleted` (soft-deleted by this job) or `escrow` (failed, retried each cycle).
    pub state: String,
    /// Escrow reason (`{"code","message"}` JSON).
    pub error: Option<String>,
}

/// Entry states.
pub mod state {
    /// The target user mirrors the source user.
    pub const SYNCED: &str = "synced";
    /// The job soft-deleted the target user (restored if the user comes back in scope).
    pub const DELETED: &str = "deleted";
    /// The last attempt failed; retried every cycle.
    pub const ESCROW: &str = "escrow";
}

/// All entries of a job, by source user id.
pub fn entries(
    c: &Conn,
    tenant: &str,
    job_id: &str,
) -> Result<std::collections::HashMap<String, Entry>, StoreError> {
    entries_in(c, USER_ENTRIES, tenant, job_id)
}

fn entries_in(
    c: &Conn,
    table: &str,
    tenant: &str,
    job_id: &str,
) -> Result<std::collections::HashMap<String, Entry>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT source_id, target_tenant, target_id, hash, state, error
         FROM {table} WHERE tenant_id = ?1 AND job_id = ?2"
    ))?;
    let rows = stmt.query_map(params![tenant, job_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Entry {
                target_tenant: r.get(1)?,
                target_id: r.get(2)?,
                hash: r.get(3)?,
                state: r.get(4)?,
                error: r.get(5)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One entry.
pub fn entry(
    c: &Conn,
    tenant: &str,
    job_id: &str,
    source_id: &str,
) -> Result<Option<Entry>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT target_tenant, target_id, hash, state, error
             FROM sync_entries WHERE tenant_id = ?1 AND job_id = ?2 AND source_id = ?3",
    )?
    .query_row(params![tenant, job_id, source_id], |r| {
        Ok(Entry {
            target_tenant: r.get(0)?,
            target_id: r.get(1)?,
            hash: r.get(2)?,
            state: r.get(3)?,
            error: r.get(4)?,
        })
    })
    .optional()?)
}

/// Insert or replace an entry.
pub fn put_entry(
    c: &Conn,
    tenant: &str,
    job_id: &str,
    source_id: &str,
    e: &Entry,
    now: i64,
) -> Result<(), StoreError> {
    put_entry_in(c, USER_ENTRIES, tenant, job_id, source_id, e, now)
}

fn put_entry_in(
    c: &Conn,
    table: &str,
    tenant: &str,
    job_id: &str,
    source_id: &str,
    e: &Entry,
    now: i64,
) -> Result<(), StoreError> {
    c.prepare_cached(&format!(
        "INSERT INTO {table}
           (tenant_id, job_id, source_id, target_tenant, target_id, hash, state, error, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (tenant_id, job_id, source_id) DO UPDATE SET
           target_tenant = excluded.target_tenant, target_id = excluded.target_id,
           hash = excluded.hash, state = excluded.state, error = excluded.error,
           updated_ms = excluded.updated_ms"
    ))?
    .execute(params![
        tenant,
        job_id,
        source_id,
        e.target_tenant,
        e.target_id,
        e.hash,
        e.state,
        e.error,
        now
    ])?;
    Ok(())
}

/// Remove an entry.
pub fn delete_entry(
    c: &Conn,
    tenant: &str,
    job_id: &str,
    source_id: &str,
) -> Result<(), StoreError> {
    delete_entry_in(c, USER_ENTRIES, tenant, job_id, source_id)
}

fn delete_entry_in(
    c: &Conn,
    table: &str,
    tenant: &str,
    job_id: &str,
    source_id: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(&format!(
        "DELETE FROM {table} WHERE tenant_id = ?1 AND job_id = ?2 AND source_id = ?3"
    ))?
    .execute(params![tenant, job_id, source_id])?;
    Ok(())
}

/// `restart` with `Full`: forget every entry (the links stay, so objects are re-matched).
pub fn clear_entries(c: &Conn, tenant: &str, job_id: &str) -> Result<(), StoreError> {
    for table in [USER_ENTRIES, GROUP_ENTRIES] {
        c.execute(
            &format!("DELETE FROM {table} WHERE tenant_id = ?1 AND job_id = ?2"),
            params![tenant, job_id],
        )?;
    }
    Ok(())
}

/// `restart` with `Escrows`: forget failed entries.
pub fn clear_escrows(c: &Conn, tenant: &str, job_id: &str) -> Result<(), StoreError> {
    for table in [USER_ENTRIES, GROUP_ENTRIES] {
        c.execute(
            &format!(
                "DELETE FROM {table} WHERE tenant_id = ?1 AND job_id = ?2 AND state = 'escrow'
                   AND target_id IS NULL"
            ),
            params![tenant, job_id],
        )?;
    }
    Ok(())
}

/// The change counter of internal users: every insert, update or delete of a user that is not a
/// B2B user (`#EXT#` in its UPN) advances it (triggers on `docs`, so every writer — Graph
/// routes, the seed, the engine — is covered). A cycle reads it before it reads the directory.
pub fn user_change_mark(c: &Conn) -> Result<i64, StoreError> {
    Ok(c.prepare_cached("SELECT n FROM user_change_counter")?
        .query_row([], |r| r.get(0))?)
}

/// The internal users of `tenant` written (created, changed or deleted) after the mark `since`:
/// what an incremental cycle reads (Graph's delta since the job's watermark).
pub fn users_changed_since(
    c: &Conn,
    tenant: &str,
    since: i64,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut stmt =
        c.prepare_cached("SELECT key FROM user_changes WHERE tenant_id = ?1 AND seq > ?2")?;
    let rows = stmt.query_map(params![tenant, since], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `restart` with `Watermark`: forget the exported hashes so every user is re-evaluated.
pub fn reset_watermark(c: &Conn, tenant: &str, job_id: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE sync_entries SET hash = 0 WHERE tenant_id = ?1 AND job_id = ?2",
        params![tenant, job_id],
    )?;
    Ok(())
}

/// Counts of a job's entries by state.
pub fn entry_counts(
    c: &Conn,
    tenant: &str,
    job_id: &str,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    entry_counts_in(c, USER_ENTRIES, tenant, job_id)
}

fn entry_counts_in(
    c: &Conn,
    table: &str,
    tenant: &str,
    job_id: &str,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT state, count(*) FROM {table} WHERE tenant_id = ?1 AND job_id = ?2 GROUP BY state"
    ))?;
    let rows = stmt.query_map(params![tenant, job_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The target user that carries the alternativeSecurityId of a source user.
pub fn find_link(
    c: &Conn,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
) -> Result<Option<String>, StoreError> {
    find_link_in(c, USER_LINKS, target_tenant, source_tenant, source_id)
}

fn find_link_in(
    c: &Conn,
    table: &str,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(c.prepare_cached(&format!(
        "SELECT target_id FROM {table}
             WHERE target_tenant = ?1 AND source_tenant = ?2 AND source_id = ?3"
    ))?
    .query_row(params![target_tenant, source_tenant, source_id], |r| {
        r.get(0)
    })
    .optional()?)
}

/// Record (or move) the alternativeSecurityId link of a source user.
pub fn put_link(
    c: &Conn,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
    target_id: &str,
) -> Result<(), StoreError> {
    put_link_in(
        c,
        USER_LINKS,
        target_tenant,
        source_tenant,
        source_id,
        target_id,
    )
}

fn put_link_in(
    c: &Conn,
    table: &str,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
    target_id: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(&format!(
        "INSERT INTO {table} (target_tenant, source_tenant, source_id, target_id)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (target_tenant, source_tenant, source_id) DO UPDATE SET target_id = excluded.target_id"
    ))?
    .execute(params![target_tenant, source_tenant, source_id, target_id])?;
    Ok(())
}

/// Forget the link of a source user (its target user no longer exists).
pub fn delete_link(
    c: &Conn,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
) -> Result<(), StoreError> {
    delete_link_in(c, USER_LINKS, target_tenant, source_tenant, source_id)
}

fn delete_link_in(
    c: &Conn,
    table: &str,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(&format!(
        "DELETE FROM {table} WHERE target_tenant = ?1 AND source_tenant = ?2 AND source_id = ?3"
    ))?
    .execute(params![target_tenant, source_tenant, source_id])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Group entries and links

/// All group entries of a job, by source group id.
pub fn group_entries(
    c: &Conn,
    tenant: &str,
    job_id: &str,
) -> Result<std::collections::HashMap<String, Entry>, StoreError> {
    entries_in(c, GROUP_ENTRIES, tenant, job_id)
}

/// Insert or replace a group entry.
pub fn put_group_entry(
    c: &Conn,
    tenant: &str,
    job_id: &str,
    source_id: &str,
    e: &Entry,
    now: i64,
) -> Result<(), StoreError> {
    put_entry_in(c, GROUP_ENTRIES, tenant, job_id, source_id, e, now)
}

/// Remove a group entry.
pub fn delete_group_entry(
    c: &Conn,
    tenant: &str,
    job_id: &str,
    source_id: &str,
) -> Result<(), StoreError> {
    delete_entry_in(c, GROUP_ENTRIES, tenant, job_id, source_id)
}

/// Counts of a job's group entries by state.
pub fn group_entry_counts(
    c: &Conn,
    tenant: &str,
    job_id: &str,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    entry_counts_in(c, GROUP_ENTRIES, tenant, job_id)
}

/// The target group a source group was provisioned as.
pub fn find_group_link(
    c: &Conn,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
) -> Result<Option<String>, StoreError> {
    find_link_in(c, GROUP_LINKS, target_tenant, source_tenant, source_id)
}

/// Record the link of a source group to its target group.
pub fn put_group_link(
    c: &Conn,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
    target_id: &str,
) -> Result<(), StoreError> {
    put_link_in(
        c,
        GROUP_LINKS,
        target_tenant,
        source_tenant,
        source_id,
        target_id,
    )
}

/// Forget the link of a source group.
pub fn delete_group_link(
    c: &Conn,
    target_tenant: &str,
    source_tenant: &str,
    source_id: &str,
) -> Result<(), StoreError> {
    delete_link_in(c, GROUP_LINKS, target_tenant, source_tenant, source_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, docs};

    #[test]
    fn sorted_bodies_skip_the_users_between_the_ones_asked_for() {
        let store = Store::open(None).unwrap();
        store
            .write_blocking(|tx| -> Result<(), StoreError> {
                for k in ["a1", "a2", "b1", "b2", "c1", "z9"] {
                    let mut body = serde_json::Map::new();
                    body.insert("id".into(), k.into());
                    docs::insert(tx, "t", "user", k, &body, 0)?;
                }
                // Another tenant's user inside the key range is never returned.
                docs::insert(tx, "other", "user", "b0", &serde_json::Map::new(), 0)?;
                Ok(())
            })
            .unwrap();
        let want: Vec<String> = ["a2", "b0", "c1", "missing"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut sorted = want.clone();
        sorted.sort();
        let got = store
            .read_blocking(|c| user_bodies_sorted(c, "t", &sorted))
            .unwrap();
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a2", "c1"]);
        assert!(
            got[0].1.contains("\"a2\"") && got[1].1.contains("\"c1\""),
            "{got:?}"
        );
        assert!(
            store
                .read_blocking(|c| user_bodies_sorted(c, "t", &[]))
                .unwrap()
                .is_empty()
        );
    }
}
