//! Seed files: tenants with their app registrations, users and groups (format in
//! docs/sandbox.md).
//!
//! Seeding is idempotent and additive: every seeded object is recorded in `seed_applied`, so a
//! re-seed adds only objects it never added before — it does not duplicate, does not overwrite
//! changes made through Graph, and does not resurrect objects deleted through Graph. App
//! registrations are the exception: Graph cannot change them, so the seed is their source of
//! truth and a re-seed updates secrets and roles. Users and groups without an `id` get a
//! deterministic one (see [`crate::util::seed_guid`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::auth::known_permission;
use crate::directory::groups::new_group_doc;
use crate::directory::users::new_user_doc;
use crate::error::ApiError;
use crate::store::Store;
use crate::store::docs::{self, kind};
use crate::store::tenants::{
    self, App, AppCredentials, FederatedCredential, ManagedIdentity, Tenant,
};
use crate::util::{now_ms, parse_guid, seed_guid};

/// A seed file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// Tenants to create.
    pub tenants: Vec<SeedTenant>,
}

/// One tenant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedTenant {
    /// Tenant id (GUID).
    pub id: String,
    /// Organization name.
    pub display_name: String,
    /// `name.onmicrosoft.com`; also accepted in place of the id at the token endpoint.
    pub initial_domain: String,
    /// App registrations that may get tokens.
    #[serde(default)]
    pub apps: Vec<SeedApp>,
    /// Users (internal members, or guests with `userType: Guest`).
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Security groups.
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
}

/// An app registration. It needs at least one credential: a secret, a certificate, a federated
/// identity credential, or being a managed identity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedApp {
    /// Client id (GUID).
    pub client_id: String,
    /// Client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Granted application permissions, e.g. `User.Read.All`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Certificates whose private keys may sign client assertions (Graph's `keyCredentials`).
    #[serde(default)]
    pub key_credentials: Vec<SeedKeyCredential>,
    /// External identity providers whose tokens the app accepts (workload identity federation).
    #[serde(default)]
    pub federated_identity_credentials: Vec<FederatedCredential>,
    /// Makes the app a managed identity of the sandbox's IMDS endpoint.
    #[serde(default)]
    pub managed_identity: Option<ManagedIdentity>,
    /// Parsed certificates (DER), filled by [`validate`].
    #[serde(skip)]
    pub certificates: Vec<Vec<u8>>,
}

/// A certificate credential, as in Graph's `keyCredential`: `key` is the certificate, base64 DER
/// (as Graph returns it) or PEM.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedKeyCredential {
    /// `AsymmetricX509Cert` (the default).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// `Verify` (the default).
    #[serde(default)]
    pub usage: Option<String>,
    /// The certificate.
    pub key: String,
    /// Free text.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A user. Besides the named fields, any other writable user property (e.g. `mobilePhone`,
/// `officeLocation`, `usageLocation`) may be given as a string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedUser {
    /// Object id (GUID); derived from tenant + UPN when absent.
    pub id: Option<String>,
    /// Display name.
    pub display_name: String,
    /// User principal name.
    pub user_principal_name: String,
    /// Other properties (`mail`, `jobTitle`, `givenName`, `surname`, `department`,
    /// `accountEnabled`, ...).
    #[serde(flatten)]
    pub properties: Map<String, Value>,
}

/// A security group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedGroup {
    /// Object id (GUID); derived from tenant + display name when absent.
    pub id: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Members: user principal names or user ids of this tenant's seeded users.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A seed file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("cannot read seed file {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not JSON of the seed format.
    #[error("seed file {path} is not valid: {message}")]
    Parse {
        /// File.
        path: String,
        /// Parser message with line and column.
        message: String,
    },
    /// Well-formed but wrong.
    #[error("seed file: {0}")]
    Invalid(String),
}

/// Optional user properties the seed may set and their JSON type (`true` = boolean).
const USER_SEED_PROPS: &[(&str, bool)] = &[
    ("mail", false),
    ("jobTitle", false),
    ("givenName", false),
    ("surname", false),
    ("department", false),
    ("accountEnabled", true),
    ("mobilePhone", false),
    ("officeLocation", false),
    ("preferredLanguage", false),
    ("usageLocation", false),
    ("companyName", false),
    ("employeeId", false),
    ("city", false),
    ("country", false),
    ("mailNickname", false),
    // `Guest` seeds a guest (with a `…#EXT#@…` UPN, a B2B user from elsewhere).
    ("userType", false),
];

/// Read, parse and validate a seed file.
pub fn load(path: &Path) -> Result<SeedFile, SeedError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut seed: SeedFile = serde_json::from_str(&text).map_err(|e| SeedError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    validate(&mut seed)?;
    Ok(seed)
}

fn guid(value: &str, at: &str) -> Result<String, SeedError> {
    parse_guid(value).ok_or_else(|| SeedError::Invalid(format!("{at}: '{value}' is not a GUID")))
}

/// Check a parsed seed and normalize it (lower-case GUIDs, derived ids filled in).
pub fn validate(seed: &mut SeedFile) -> Result<(), SeedError> {
    let mut tenant_ids = HashSet::new();
    let mut domains = HashSet::new();
    for (ti, t) in seed.tenants.iter_mut().enumerate() {
        let at = format!("tenants[{ti}]");
        t.id = guid(&t.id, &format!("{at}.id"))?;
        if !tenant_ids.insert(t.id.clone()) {
            return Err(SeedError::Invalid(format!(
                "{at}.id: duplicate tenant id '{}'",
                t.id
            )));
        }
        if t.display_name.trim().is_empty() {
            return Err(SeedError::Invalid(format!(
                "{at}.displayName: must not be empty"
            )));
        }
        let d = t.initial_domain.trim().to_lowercase();
        if d.is_empty() || !d.contains('.') || d.contains(char::is_whitespace) || d.contains('@') {
            return Err(SeedError::Invalid(format!(
                "{at}.initialDomain: '{}' is not a domain name",
                t.initial_domain
            )));
        }
        if !domains.insert(d.clone()) {
            return Err(SeedError::Invalid(format!(
                "{at}.initialDomain: duplicate domain '{d}'"
            )));
        }
        t.initial_domain = d;

        let mut app_ids = HashSet::new();
        for (ai, a) in t.apps.iter_mut().enumerate() {
            let at = format!("{at}.apps[{ai}]");
            a.client_id = guid(&a.client_id, &format!("{at}.clientId"))?;
            if !app_ids.insert(a.client_id.clone()) {
                return Err(SeedError::Invalid(format!(
                    "{at}.clientId: duplicate app '{}'",
                    a.client_id
                )));
            }
            if a.client_secret.as_deref().is_some_and(str::is_empty) {
                return Err(SeedError::Invalid(format!(
                    "{at}.clientSecret: must not be empty"
                )));
            }
            validate_credentials(a, &at)?;
            for r in &a.roles {
                if !known_permission(r) {
                    return Err(SeedError::Invalid(format!(
                        "{at}.roles: unknown permission '{r}' (see the permissions table in docs/sandbox.md)"
                    )));
                }
            }
        }

        let mut upns: HashMap<String, String> = HashMap::new();
        let mut user_ids = HashSet::new();
        for (ui, u) in t.users.iter_mut().enumerate() {
            let at = format!("{at}.users[{ui}]");
            let upn = u.user_principal_name.trim().to_string();
            let valid_upn = upn
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                && !upn.contains(char::is_whitespace);
            if !valid_upn {
                return Err(SeedError::Invalid(format!(
                    "{at}.userPrincipalName: '{upn}' is not a user principal name"
                )));
            }
            u.user_principal_name = upn.clone();
            if u.display_name.trim().is_empty() {
                return Err(SeedError::Invalid(format!(
                    "{at}.displayName: must not be empty"
                )));
            }
            let id = match &u.id {
                Some(id) => guid(id, &format!("{at}.id"))?,
                None => seed_guid(&t.id, "user", &upn),
            };
            if upns.insert(upn.to_lowercase(), id.clone()).is_some() {
                return Err(SeedError::Invalid(format!(
                    "{at}.userPrincipalName: duplicate UPN '{upn}'"
                )));
            }
            if !user_ids.insert(id.clone()) {
                return Err(SeedError::Invalid(format!(
                    "{at}.id: duplicate user id '{id}'"
                )));
            }
            u.id = Some(id);
            for (k, v) in &u.properties {
                let Some((_, is_bool)) = USER_SEED_PROPS.iter().find(|(p, _)| p == k) else {
                    return Err(SeedError::Invalid(format!(
                        "{at}: unknown user property '{k}'"
                    )));
                };
                let ok = if *is_bool {
                    v.is_boolean()
                } else {
                    v.is_string() || v.is_null()
                };
                if !ok {
                    return Err(SeedError::Invalid(format!("{at}.{k}: wrong type")));
                }
            }
        }

        let mut group_ids = HashSet::new();
        for (gi, g) in t.groups.iter_mut().enumerate() {
            let at = format!("{at}.groups[{gi}]");
            if g.display_name.trim().is_empty() {
                return Err(SeedError::Invalid(format!(
                    "{at}.displayName: must not be empty"
                )));
            }
            let id = match &g.id {
                Some(id) => guid(id, &format!("{at}.id"))?,
                None => seed_guid(&t.id, "group", &g.display_name),
            };
            if !group_ids.insert(id.clone()) {
                return Err(SeedError::Invalid(format!(
                    "{at}.id: duplicate group id '{id}'"
                )));
            }
            g.id = Some(id);
            let mut resolved = Vec::new();
            // A set beside the list: large groups (benchmarks seed 100k members) stay linear.
            let mut seen = HashSet::new();
            for m in &g.members {
                let hit = match parse_guid(m) {
                    Some(mid) if user_ids.contains(&mid) => Some(mid),
                    _ => upns.get(&m.to_lowercase()).cloned(),
                };
                let Some(mid) = hit else {
                    return Err(SeedError::Invalid(format!(
                        "{at}.members: member '{m}' not found among the users of tenant {}",
                        t.id
                    )));
                };
                if seen.insert(mid.clone()) {
                    resolved.push(mid);
                }
            }
            g.members = resolved;
        }
    }
    Ok(())
}

/// Checks an app's certificates and federated identity credentials and that it has a credential.
fn validate_credentials(a: &mut SeedApp, at: &str) -> Result<(), SeedError> {
    for (ki, k) in a.key_credentials.iter().enumerate() {
        let at = format!("{at}.keyCredentials[{ki}]");
        if k.kind.as_deref().is_some_and(|t| t != "AsymmetricX509Cert") {
            return Err(SeedError::Invalid(format!(
                "{at}.type: only AsymmetricX509Cert is supported"
            )));
        }
        if k.usage.as_deref().is_some_and(|u| u != "Verify") {
            return Err(SeedError::Invalid(format!(
                "{at}.usage: a client credential certificate has usage Verify"
            )));
        }
        let der = crate::assertion::certificate_der(&k.key)
            .map_err(|e| SeedError::Invalid(format!("{at}.key: {e}")))?;
        a.certificates.push(der);
    }
    let mut seen = HashSet::new();
    for (fi, f) in a.federated_identity_credentials.iter().enumerate() {
        let at = format!("{at}.federatedIdentityCredentials[{fi}]");
        for (field, value) in [
            ("name", &f.name),
            ("issuer", &f.issuer),
            ("subject", &f.subject),
        ] {
            if value.trim().is_empty() {
                return Err(SeedError::Invalid(format!(
                    "{at}.{field}: must not be empty"
                )));
            }
        }
        // Entra: "Federated identity credentials must have exactly one audience."
        if f.audiences.len() != 1 || f.audiences[0].trim().is_empty() {
            return Err(SeedError::Invalid(format!(
                "{at}.audiences: exactly one audience (usually api://AzureADTokenExchange)"
            )));
        }
        if !seen.insert((f.issuer.clone(), f.subject.clone())) {
            return Err(SeedError::Invalid(format!(
                "{at}: issuer and subject combination already exists for this app"
            )));
        }
    }
    if a.client_secret.is_none()
        && a.certificates.is_empty()
        && a.federated_identity_credentials.is_empty()
        && a.managed_identity.is_none()
    {
        return Err(SeedError::Invalid(format!(
            "{at}: the app has no credential (clientSecret, keyCredentials, federatedIdentityCredentials or managedIdentity)"
        )));
    }
    Ok(())
}

/// What a seeding run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Tenants added.
    pub tenants: usize,
    /// Users added.
    pub users: usize,
    /// Groups added.
    pub groups: usize,
}

/// Apply a validated seed in one transaction (blocking; call before serving).
pub fn apply(store: &Store, seed: &SeedFile) -> Result<SeedReport, ApiError> {
    store.write_blocking(|tx| {
        let mut report = SeedReport::default();
        let now = now_ms();
        for t in &seed.tenants {
            if tenants::get_tenant(tx, &t.id)?.is_none()
                && tenants::find_tenant(tx, &t.initial_domain)?.is_some()
            {
                return Err(ApiError::Internal(format!(
                    "initialDomain '{}' already belongs to another tenant in the database",
                    t.initial_domain
                )));
            }
            let tenant = Tenant {
                id: t.id.clone(),
                display_name: t.display_name.clone(),
                initial_domain: t.initial_domain.clone(),
                created_ms: now,
            };
            if tenants::insert_tenant_if_missing(tx, &tenant)? {
                report.tenants += 1;
            }
            for a in &t.apps {
                tenants::upsert_app(
                    tx,
                    &t.id,
                    &App {
                        client_id: a.client_id.clone(),
                        secret: a.client_secret.clone().unwrap_or_default(),
                        roles: a.roles.clone(),
                        credentials: AppCredentials {
                            certificates: a.certificates.clone(),
                            federated: a.federated_identity_credentials.clone(),
                            managed_identity: a.managed_identity,
                        },
                    },
                )?;
            }
            for u in &t.users {
                let id = u.id.clone().unwrap_or_default();
                if docs::was_seeded(tx, &t.id, kind::USER, &id)? {
                    continue;
                }
                docs::mark_seeded(tx, &t.id, kind::USER, &id)?;
                if docs::get(tx, &t.id, kind::USER, &id)?.is_some()
                    || docs::find_by_upn(tx, &t.id, kind::USER, &u.user_principal_name, i64::MAX)?.is_some()
                {
                    tracing::warn!(tenant = %t.id, upn = %u.user_principal_name, "seed user already exists; skipped");
                    continue;
                }
                let mut doc = new_user_doc(&id, &u.user_principal_name, &u.display_name, now);
                for (k, v) in &u.properties {
                    doc.insert(k.clone(), v.clone());
                }
                // created_ms 0: seeded objects are never hidden by the replication-lag fault.
                docs::insert(tx, &t.id, kind::USER, &id, &doc, 0)?;
                report.users += 1;
            }
            for g in &t.groups {
                let id = g.id.clone().unwrap_or_default();
                if docs::was_seeded(tx, &t.id, kind::GROUP, &id)? {
                    continue;
                }
                docs::mark_seeded(tx, &t.id, kind::GROUP, &id)?;
                let mut doc = new_group_doc(&id, &g.display_name, now);
                if let Some(d) = &g.description {
                    doc.insert("description".into(), Value::String(d.clone()));
                }
                if !docs::insert(tx, &t.id, kind::GROUP, &id, &doc, 0)? {
                    continue;
                }
                for m in &g.members {
                    docs::add_group_member(tx, &t.id, &id, m)?;
                }
                report.groups += 1;
            }
        }
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SeedFile, SeedError> {
        let mut seed: SeedFile = serde_json::from_str(s).map_err(|e| SeedError::Parse {
            path: "t".into(),
            message: e.to_string(),
        })?;
        validate(&mut seed)?;
        Ok(seed)
    }

    const T: &str = r#"{"id":"11111111-1111-1111-1111-111111111111","displayName":"A","initialDomain":"a.onmicrosoft.com""#;

    #[test]
    fn seed_rejects_bad_guid() {
        let e = parse(
            r#"{"tenants":[{"id":"nope","displayName":"A","initialDomain":"a.onmicrosoft.com"}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("tenants[0].id: 'nope' is not a GUID"),
            "{e}"
        );
    }

    #[test]
    fn seed_rejects_duplicate_upn_case_insensitively() {
        let s = format!(
            r#"{{"tenants":[{T},"users":[{{"displayName":"x","userPrincipalName":"amy@a.com"}},{{"displayName":"y","userPrincipalName":"AMY@a.com"}}]}}]}}"#
        );
        let e = parse(&s).unwrap_err();
        assert!(e.to_string().contains("duplicate UPN"), "{e}");
    }

    #[test]
    fn seed_rejects_unknown_group_member() {
        let s = format!(
            r#"{{"tenants":[{T},"groups":[{{"displayName":"g","members":["bob@a.com"]}}]}}]}}"#
        );
        let e = parse(&s).unwrap_err();
        assert!(
            e.to_string().contains("member 'bob@a.com' not found"),
            "{e}"
        );
    }

    #[test]
    fn seed_rejects_unknown_permission_and_property() {
        let s = format!(
            r#"{{"tenants":[{T},"apps":[{{"clientId":"22222222-2222-2222-2222-222222222222","clientSecret":"s","roles":["User.Reed.All"]}}]}}]}}"#
        );
        assert!(
            parse(&s)
                .unwrap_err()
                .to_string()
                .contains("unknown permission 'User.Reed.All'")
        );
        let s = format!(
            r#"{{"tenants":[{T},"users":[{{"displayName":"x","userPrincipalName":"a@a.com","shoeSize":"9"}}]}}]}}"#
        );
        assert!(
            parse(&s)
                .unwrap_err()
                .to_string()
                .contains("unknown user property 'shoeSize'")
        );
    }

    #[test]
    fn seed_derives_predictable_ids_and_resolves_members() {
        let s = format!(
            r#"{{"tenants":[{T},"users":[{{"displayName":"x","userPrincipalName":"Amy@a.com"}}],"groups":[{{"displayName":"g","members":["amy@A.com"]}}]}}]}}"#
        );
        let seed = parse(&s).unwrap();
        let expected = seed_guid("11111111-1111-1111-1111-111111111111", "user", "amy@a.com");
        assert_eq!(
            seed.tenants[0].users[0].id.as_deref(),
            Some(expected.as_str())
        );
        assert_eq!(seed.tenants[0].groups[0].members, vec![expected]);
    }
}
