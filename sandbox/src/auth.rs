//! Access tokens and application permissions.
//!
//! Tokens are JWT-shaped (`header.payload.signature`, base64url) and self-validating: the
//! signature is HMAC-SHA256 with a key kept in the database (`meta.token_key`), so a token stays
//! valid across a restart and no token table is needed. The tenant a Graph call acts in is the
//! token's `tid` — exactly like Graph, where the host is shared and the token picks the tenant.
//!
//! [`PERMISSIONS`] is the one table of which application permissions (`roles`) each kind of
//! operation accepts; docs/sandbox.md repeats it.

use aws_lc_rs::hmac;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::util::now_ms;

/// Default lifetime of an access token in seconds (`expires_in`); `--token-lifetime` changes it.
pub const TOKEN_LIFETIME_SECS: i64 = 3599;

/// Claims carried by a sandbox access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Audience: always `https://graph.microsoft.com`.
    pub aud: String,
    /// Issuer: `https://sts.windows.net/{tid}/`.
    pub iss: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Not before (seconds).
    pub nbf: i64,
    /// Expiry (seconds).
    pub exp: i64,
    /// Client id of the app.
    pub appid: String,
    /// `app` for client-credential tokens.
    pub idtyp: String,
    /// Object id of the app's service principal (deterministic per tenant + app).
    pub oid: String,
    /// Granted application permissions.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Subject (same as `oid` for app tokens).
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Unique token id.
    pub uti: String,
    /// Token version.
    pub ver: String,
}

/// The HMAC key that signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey(hmac::Key);

impl TokenKey {
    /// Build from raw key bytes.
    pub fn new(bytes: &[u8]) -> Self {
        TokenKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// Mint a token for an app of a tenant, valid for `lifetime_secs`.
    pub fn mint(
        &self,
        tenant_id: &str,
        client_id: &str,
        roles: &[String],
        lifetime_secs: i64,
    ) -> String {
        let now = now_ms() / 1000;
        let oid = crate::util::seed_guid(tenant_id, "serviceprincipal", client_id);
        let claims = Claims {
            aud: "https://graph.microsoft.com".into(),
            iss: format!("https://sts.windows.net/{tenant_id}/"),
            iat: now,
            nbf: now,
            exp: now + lifetime_secs,
            appid: client_id.to_string(),
            idtyp: "app".into(),
            oid: oid.clone(),
            roles: roles.to_vec(),
            sub: oid,
            tid: tenant_id.to_string(),
            uti: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>()),
            ver: "1.0".into(),
        };
        self.sign_claims(&claims)
    }

    /// Encode and sign arbitrary claims (tests use it to forge expired tokens).
    pub fn sign_claims(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let sig = hmac::sign(&self.0, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// Verify signature and lifetime; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ApiError::InvalidToken(
                "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format.".into(),
            ));
        };
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| {
            ApiError::InvalidToken(
                "Invalid JWT token. The token signature is not valid base64url.".into(),
            )
        })?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        hmac::verify(&self.0, signing_input.as_bytes(), &sig).map_err(|_| {
            ApiError::InvalidToken("Access token validation failure. Invalid signature.".into())
        })?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                ApiError::InvalidToken("Invalid JWT token. The payload is not valid.".into())
            })?;
        let now = now_ms() / 1000;
        if claims.exp <= now {
            return Err(ApiError::InvalidToken(
                "Lifetime validation failed, the token is expired.".into(),
            ));
        }
        if claims.nbf > now + 300 {
            return Err(ApiError::InvalidToken(
                "Lifetime validation failed, the token is not yet valid.".into(),
            ));
        }
        Ok(claims)
    }
}

/// Kinds of operations, each accepting a set of application permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// GET the MTO singleton or list its tenants (basic properties allowed).
    MtoReadBasic,
    /// GET a member tenant or the join request (full properties).
    MtoRead,
    /// Any MTO write (PUT/PATCH MTO, add/update/remove tenants, PATCH joinRequest).
    MtoWrite,
    /// GET cross-tenant access policy, default, partners, identitySynchronization, templates.
    PolicyRead,
    /// Writes on all of the above.
    PolicyWrite,
    /// GET users (and deleted users).
    UserRead,
    /// POST/PATCH/DELETE users.
    UserWrite,
    /// GET groups.
    GroupRead,
    /// GET group members.
    GroupMemberRead,
    /// POST groups.
    GroupCreate,
    /// PATCH/DELETE groups.
    GroupWrite,
    /// POST/DELETE group members ($ref).
    GroupMemberWrite,
    /// GET /organization.
    OrganizationRead,
    /// GET applications and service principals.
    ApplicationRead,
    /// Instantiate the CTS application template; PATCH/DELETE applications and service principals.
    ApplicationWrite,
    /// GET a service principal's app role assignments.
    AppRoleAssignmentRead,
    /// POST/DELETE app role assignments.
    AppRoleAssignmentWrite,
    /// GET synchronization templates, jobs, schema and secrets.
    SyncRead,
    /// Every synchronization write (jobs, schedule, schema, secrets, credentials, on demand).
    SyncWrite,
}

/// The permission table: operation kind, what it covers, accepted application permissions.
pub const PERMISSIONS: &[(Access, &str, &[&str])] = &[
    (
        Access::MtoReadBasic,
        "GET multiTenantOrganization, GET .../tenants (ReadBasic: displayName and tenantId only)",
        &[
            "MultiTenantOrganization.ReadBasic.All",
            "MultiTenantOrganization.Read.All",
            "MultiTenantOrganization.ReadWrite.All",
        ],
    ),
    (
        Access::MtoRead,
        "GET .../tenants/{tenantId}, GET .../joinRequest",
        &[
            "MultiTenantOrganization.Read.All",
            "MultiTenantOrganization.ReadWrite.All",
        ],
    ),
    (
        Access::MtoWrite,
        "PUT/PATCH multiTenantOrganization, POST/PATCH/DELETE tenants, PATCH joinRequest",
        &["MultiTenantOrganization.ReadWrite.All"],
    ),
    (
        Access::PolicyRead,
        "GET crossTenantAccessPolicy, default, partners, identitySynchronization, templates",
        &["Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess"],
    ),
    (
        Access::PolicyWrite,
        "PATCH/POST/PUT/DELETE on crossTenantAccessPolicy and everything under it",
        &["Policy.ReadWrite.CrossTenantAccess"],
    ),
    (
        Access::UserRead,
        "GET users, users/{id}, users/$count, directory/deletedItems",
        &[
            "User.Read.All",
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::UserWrite,
        "POST/PATCH/DELETE users",
        &["User.ReadWrite.All", "Directory.ReadWrite.All"],
    ),
    (
        Access::GroupRead,
        "GET groups, groups/{id}",
        &[
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::GroupMemberRead,
        "GET groups/{id}/members",
        &[
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::GroupCreate,
        "POST groups",
        &[
            "Group.Create",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::GroupWrite,
        "PATCH/DELETE groups/{id}",
        &["Group.ReadWrite.All", "Directory.ReadWrite.All"],
    ),
    (
        Access::GroupMemberWrite,
        "POST groups/{id}/members/$ref, DELETE groups/{id}/members/{id}/$ref",
        &[
            "GroupMember.ReadWrite.All",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::OrganizationRead,
        "GET organization",
        &[
            "Organization.Read.All",
            "Organization.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::ApplicationRead,
        "GET applications, applications/{id}, servicePrincipals, servicePrincipals/{id}",
        &[
            "Application.Read.All",
            "Application.ReadWrite.OwnedBy",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::ApplicationWrite,
        "POST applicationTemplates/{id}/instantiate, PATCH/DELETE applications/{id} and servicePrincipals/{id}",
        &[
            "Application.ReadWrite.OwnedBy",
            "Application.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::AppRoleAssignmentRead,
        "GET servicePrincipals/{id}/appRoleAssignedTo",
        &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::AppRoleAssignmentWrite,
        "POST/DELETE servicePrincipals/{id}/appRoleAssignedTo",
        &[
            "AppRoleAssignment.ReadWrite.All",
            "Application.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        Access::SyncRead,
        "GET servicePrincipals/{id}/synchronization/templates (and one, with its schema), jobs, jobs/{id}, jobs/{id}/schema, secrets",
        &[
            "Synchronization.Read.All",
            "Synchronization.ReadWrite.All",
            "Application.ReadWrite.OwnedBy",
            "Application.ReadWrite.All",
        ],
    ),
    (
        Access::SyncWrite,
        "POST/DELETE synchronization jobs, start, pause, restart, validateCredentials, provisionOnDemand, PUT jobs/{id}/schema, PUT secrets",
        &[
            "Synchronization.ReadWrite.All",
            "Application.ReadWrite.OwnedBy",
            "Application.ReadWrite.All",
        ],
    ),
];

impl Access {
    /// Application permissions that grant this access.
    pub fn accepted(self) -> &'static [&'static str] {
        PERMISSIONS
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, _, p)| *p)
            .unwrap_or(&[])
    }
}

/// Permission names the seed may grant (those in [`PERMISSIONS`] plus a few the provider's
/// documentation mentions).
pub fn known_permission(name: &str) -> bool {
    const EXTRA: &[&str] = &["AuditLog.Read.All", "User.ReadBasic.All"];
    EXTRA.contains(&name) || PERMISSIONS.iter().any(|(_, _, p)| p.contains(&name))
}

/// The authenticated caller of a Graph route.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The tenant every path is evaluated in.
    pub tenant_id: String,
    /// Client id of the calling app.
    pub app_id: String,
    /// Its application permissions.
    pub roles: Vec<String>,
}

impl Caller {
    /// Whether the caller holds any permission accepted for `access`.
    pub fn has(&self, access: Access) -> bool {
        let accepted = access.accepted();
        self.roles.iter().any(|r| accepted.contains(&r.as_str()))
    }

    /// 403 `Authorization_RequestDenied` unless [`Caller::has`].
    pub fn require(&self, access: Access) -> Result<(), ApiError> {
        if self.has(access) {
            Ok(())
        } else {
            Err(ApiError::insufficient_privileges())
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("");
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .unwrap_or("");
        if token.is_empty() {
            return Err(ApiError::InvalidToken("Access token is empty.".into()));
        }
        let claims = state.token_key.verify(token)?;
        Ok(Caller {
            tenant_id: claims.tid,
            app_id: claims.appid,
            roles: claims.roles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_token_verifies_and_tampering_is_rejected() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef");
        let t = key.mint(
            "11111111-1111-1111-1111-111111111111",
            "app",
            &["User.Read.All".into()],
            TOKEN_LIFETIME_SECS,
        );
        assert_eq!(t.split('.').count(), 3);
        let c = key.verify(&t).unwrap();
        assert_eq!(c.tid, "11111111-1111-1111-1111-111111111111");
        assert_eq!(c.roles, vec!["User.Read.All".to_string()]);
        let other = TokenKey::new(b"another key another key another k");
        assert!(other.verify(&t).is_err());
        assert!(key.verify("garbage").is_err());
    }

    #[test]
    fn every_access_kind_has_a_permission_row() {
        for a in [
            Access::MtoReadBasic,
            Access::MtoRead,
            Access::MtoWrite,
            Access::PolicyRead,
            Access::PolicyWrite,
            Access::UserRead,
            Access::UserWrite,
            Access::GroupRead,
            Access::GroupMemberRead,
            Access::GroupCreate,
            Access::GroupWrite,
            Access::GroupMemberWrite,
            Access::OrganizationRead,
            Access::ApplicationRead,
            Access::ApplicationWrite,
            Access::AppRoleAssignmentRead,
            Access::AppRoleAssignmentWrite,
            Access::SyncRead,
            Access::SyncWrite,
        ] {
            assert!(!a.accepted().is_empty(), "{a:?}");
        }
    }
}
