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
    /// The client secret (compared in constant time; never logged); empty when the app has none.
    pub secret: String,
    /// Granted application permissions (the token's `roles`).
    pub roles: Vec<String>,
    /// Certificates, federated identity credentials and the managed-identity flag.
    pub credentials: AppCredentials,
}

/// The credentials of an app besides its secret, kept as one JSON document.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppCredentials {
    /// Registered certificates (`keyCredentials`), DER.
    #[serde(default, with = "der_list")]
    pub certificates: Vec<Vec<u8>>,
    /// Federated identity credentials.
    #[serde(default)]
    pub federated: Vec<FederatedCredential>,
    /// Set when the app is a managed identity the IMDS endpoint hands out.
    #[serde(default)]
    pub managed_identity: Option<ManagedIdentity>,
}

/// A federated identity credential (Graph's `federatedIdentityCredential`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FederatedCredential {
    /// Unique per app.
    pub name: String,
    /// The external issuer, compared exactly; a path (`/_sandbox/oidc/github`) means this
    /// sandbox's own test issuer.
    pub issuer: String,
    /// The subject, compared exactly (case-sensitive).
    pub subject: String,
    /// Accepted audiences (Entra allows one).
    pub audiences: Vec<String>,
}

/// Which kind of managed identity an app stands for.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ManagedIdentity {
    /// The host's system-assigned identity: IMDS returns it when no identity is named.
    SystemAssigned,
    /// A user-assigned identity: IMDS returns it only when asked for its client id.
    UserAssigned,
}

mod der_list {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| STANDARD.encode(d)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|b| STANDARD.decode(b).map_err(serde::de::Error::custom))
            .collect()
    }
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

const APP_SELECT: &str = "SELECT a.tenant_id, a.client_id, a.secret, a.roles, c.body FROM apps a
     LEFT JOIN app_credentials c ON c.tenant_id = a.tenant_id AND c.client_id = a.client_id";

type AppRow = (String, String, String, String, Option<String>);

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn app_from(row: AppRow) -> Result<(String, App), StoreError> {
    let (tenant_id, client_id, secret, roles, body) = row;
    let credentials = match body {
        Some(b) => serde_json::from_str(&b)?,
        None => AppCredentials::default(),
    };
    Ok((
        tenant_id,
        App {
            client_id,
            secret,
            roles: serde_json::from_str(&roles)?,
            credentials,
        },
    ))
}

/// Look up an app of a tenant.
pub fn get_app(conn: &Conn, tenant_id: &str, client_id: &str) -> Result<Option<App>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "{APP_SELECT} WHERE a.tenant_id = ?1 AND a.client_id = ?2"
        ))?
        .query_row(params![tenant_id, client_id.to_lowercase()], app_row)
        .optional()?;
    row.map(app_from).transpose().map(|a| a.map(|(_, app)| app))
}

/// The managed identities the IMDS endpoint can hand out, with their tenants.
pub fn managed_identities(conn: &Conn) -> Result<Vec<(String, App)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{APP_SELECT} WHERE json_extract(c.body, '$.managedIdentity') IS NOT NULL ORDER BY a.tenant_id, a.client_id"
    ))?;
    let rows = stmt
        .query_map([], app_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(app_from).collect()
}

/// Insert or update an app registration. Apps are not writable through Graph, so the seed is
/// their only source and a re-seed may change a secret, the granted roles or the credentials.
pub fn upsert_app(conn: &Conn, tenant_id: &str, app: &App) -> Result<(), StoreError> {
    let client_id = app.client_id.to_lowercase();
    conn.execute(
        "INSERT INTO apps (tenant_id, client_id, secret, roles) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id, client_id) DO UPDATE SET secret = excluded.secret, roles = excluded.roles",
        params![tenant_id, client_id, app.secret, serde_json::to_string(&app.roles)?],
    )?;
    conn.execute(
        "INSERT INTO app_credentials (tenant_id, client_id, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id, client_id) DO UPDATE SET body = excluded.body",
        params![
            tenant_id,
            client_id,
            serde_json::to_string(&app.credentials)?
        ],
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
