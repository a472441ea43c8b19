//! The one place Graph errors become diagnostics.

use tfplugin::{AttributePath, Diagnostic};

use crate::config::TenantCredentials;
use crate::graph::{ErrorKind, GraphError};

/// The application permission a Graph path needs, for 403 messages.
pub fn permission_for(method: &str, path: &str) -> &'static str {
    let write = method != "GET";
    if path.starts_with("/tenantRelationships/multiTenantOrganization") {
        if write {
            "MultiTenantOrganization.ReadWrite.All"
        } else {
            "MultiTenantOrganization.Read.All"
        }
    } else if path.starts_with("/policies/crossTenantAccessPolicy") {
        if write {
            "Policy.ReadWrite.CrossTenantAccess"
        } else {
            "Policy.Read.All"
        }
    } else if path.contains("/synchronization") {
        if write {
            "Synchronization.ReadWrite.All"
        } else {
            "Synchronization.Read.All"
        }
    } else if path.contains("/appRoleAssignedTo") {
        "AppRoleAssignment.ReadWrite.All"
    } else if path.starts_with("/applicationTemplates")
        || path.starts_with("/applications")
        || path.starts_with("/servicePrincipals")
    {
        if write {
            "Application.ReadWrite.All"
        } else {
            "Application.Read.All"
        }
    } else if path.starts_with("/users") || path.starts_with("/groups") {
        if write {
            "User.ReadWrite.All"
        } else {
            "User.Read.All"
        }
    } else if path.starts_with("/organization") {
        "Organization.Read.All"
    } else {
        ""
    }
}

/// A Graph failure as an error diagnostic: `summary` says what we were
/// doing; the detail carries Graph's code, message and request ids, plus
/// what to do about the common causes.
pub fn graph(summary: impl Into<String>, e: &GraphError) -> Diagnostic {
    let mut detail = e.to_string();
    match e.kind {
        ErrorKind::Forbidden => {
            let perm = permission_for(&e.method, &e.path);
            if !perm.is_empty() {
                detail.push_str(&format!(
                    "\n\nThe application needs the Microsoft Graph application permission {perm} in this tenant, with admin consent."
                ));
            }
        }
        ErrorKind::Authentication => detail.push_str(
            "\n\nCheck the tenant's credentials in the provider block (a secret or certificate may have expired).",
        ),
        ErrorKind::Throttled => {
            detail.push_str("\n\nGraph kept throttling the requests; the operation ran out of time. Retry later, or raise the timeout.")
        }
        ErrorKind::Transport => detail.push_str("\n\nCheck graph_endpoint and login_endpoint and the network path to them."),
        _ => {}
    }
    Diagnostic::error(summary, detail)
}

/// The AADSTS number in an identity platform error, e.g. 7000215.
pub fn aadsts(e: &GraphError) -> Option<u32> {
    let at = e.message.find("AADSTS")? + "AADSTS".len();
    let digits: String = e.message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A refused sign-in, on the attribute of the tenant block at fault: the
/// tenant id for an unknown tenant, the client id for an unknown app, else
/// the credential.
pub fn sign_in(creds: &TenantCredentials, e: &GraphError) -> Diagnostic {
    let attr = match aadsts(e) {
        Some(90002) => "tenant_id",
        Some(700016) => creds.client_id_attribute,
        _ => creds.credential_attribute,
    };
    let mut detail = e.to_string();
    detail.push_str(match aadsts(e) {
        Some(90002) => "\n\nThe tenant id is not known to the login endpoint (check login_endpoint for a national cloud).",
        Some(700016) => "\n\nNo app with this client id is registered in the tenant.",
        Some(7000215) | Some(7000222) => "\n\nThe client secret is wrong or expired.",
        Some(700027) => "\n\nThe certificate is not registered on the app registration, or the key does not match it.",
        Some(700024) => "\n\nThe assertion (or the OIDC token) has expired or is not valid yet: pipeline tokens live minutes; check the clock.",
        Some(70021) | Some(700211) | Some(700212) | Some(700213) | Some(70025) => "\n\nNo federated identity credential of the app matches the token's issuer, subject and audience (api://AzureADTokenExchange).",
        _ => "\n\nCheck the tenant's credentials in the provider block.",
    });
    let summary = format!("Cannot sign in to tenant {}", creds.tenant_id);
    let d = Diagnostic::error(summary, detail);
    match creds.path(attr) {
        Some(p) => d.at(p),
        None => d,
    }
}

/// Turns a failed Graph call into an error diagnostic that says what the
/// provider was doing, so handlers can use `?`.
pub trait OrDiag<T> {
    fn or_diag(self, summary: &str) -> Result<T, Diagnostic>;
}

impl<T> OrDiag<T> for Result<T, GraphError> {
    fn or_diag(self, summary: &str) -> Result<T, Diagnostic> {
        self.map_err(|e| graph(summary, &e))
    }
}

/// As [`graph`], pinned to an attribute.
pub fn graph_at(path: AttributePath, summary: impl Into<String>, e: &GraphError) -> Diagnostic {
    graph(summary, e).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_the_permission() {
        let mut e = GraphError::new(
            ErrorKind::Forbidden,
            "Insufficient privileges to complete the operation.",
        );
        e.method = "PUT".into();
        e.path = "/policies/crossTenantAccessPolicy/partners/x/identitySynchronization".into();
        e.status = Some(403);
        e.code = "Authorization_RequestDenied".into();
        let d = graph("Cannot accept", &e);
        assert!(
            d.detail.contains("Policy.ReadWrite.CrossTenantAccess"),
            "{}",
            d.detail
        );
        assert!(d.detail.contains("Authorization_RequestDenied"));
    }
}
