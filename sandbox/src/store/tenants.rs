//! Tenants and their app registrations (from the seed; not writable through Graph).

use rusqlite::{OptionalExtension, params};

use super::{Conn, StoreError};

/// A tenant known to the sandbox.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Tenant id (lower-case GUID).
    pub id: String,
    /// Organization display name.
    pub display_name: String,
    /// `xxx.onmicrosoft.com`.
    pub initial_domain: String,
    /// When it was seeded.
    pub created_ms: i64,
}

/// An app registration that may request tokens in its tenant.
#[derive(Clone, Debug)]
pub struct App {
    /// Application (client) id.
    pub client_id: String,
    /// The client secret (compared in constant time; never logged).
    pub secret: String,
    /// Granted application permissions (the token's `roles`).
    pub roles: Vec<String>,
}

fn row_tenant(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        display_name: r.get(1)?,
        initial_domain: r.get(2)?,
        created_ms: r.get(3)?,
    })
}

/// Find a tenant by id (any case) or by its initial domain.
pub fn find_tenant(conn: &Conn, id_or_domain: &str) -> Result<Option<Tenant>, StoreError> {
    let key = id_or_domain.to_lowercase();
    Ok(conn
        .prepare_cached(
            "SELECT id, display_name, initial_domain, created_ms FROM tenants
             WHERE id = ?1 OR initial_domain = ?1 COLLATE NOCASE",
        )?
        .query_row([&key], row_tenant)
        .optional()?)
}

/// Get a tenant by id.
pub fn get_tenant(conn: &Conn, id: &str) -> Result<Option<Tenant>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, display_name, initial_domain, created_ms FROM tenants WHERE id = ?1",
        )?
        .query_row([id], row_tenant)
        .optional()?)
}

/// Insert a tenant unless one with this id exists. Returns whether it was inserted.
pub fn insert_tenant_if_missing(conn: &Conn, t: &Tenant) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO tenants (id, display_name, initial_domain, created_ms)
         VALUES (?1, ?2, ?3, ?4)",
        params![t.id, t.display_name, t.initial_domain, t.created_ms],
    )?;
    Ok(n == 1)
}

/// Look up an app of a tenant.
pub fn get_app(conn: &Conn, tenant_id: &str, client_id: &str) -> Result<Option<App>, StoreError> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached(
            "SELECT client_id, secret, roles FROM apps WHERE tenant_id = ?1 AND client_id = ?2",
        )?
        .query_row(params![tenant_id, client_id.to_lowercase()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((client_id, secret, roles)) => Ok(Some(App {
            client_id,
            secret,
            roles: serde_json::from_str(&roles)?,
        })),
    }
}

/// Insert or update an app registration. Apps are not writable through Graph, so the seed is
/// their only source and a re-seed may change a secret or the granted roles.
pub fn upsert_app(conn: &Conn, tenant_id: &str, app: &App) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO apps (tenant_id, client_id, secret, roles) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id, client_id) DO UPDATE SET secret = excluded.secret, roles = excluded.roles",
        params![tenant_id, app.client_id.to_lowercase(), app.secret, serde_json::to_string(&app.roles)?],
    )?;
    Ok(())
}

/// All tenants (for stats and tests).
pub fn list_tenants(conn: &Conn) -> Result<Vec<Tenant>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, display_name, initial_domain, created_ms FROM tenants ORDER BY id",
    )?;
    let rows = stmt.query_map([], row_tenant)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
