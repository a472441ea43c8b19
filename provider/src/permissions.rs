//! Which Microsoft Graph application permissions each resource and data
//! source needs in the tenant it acts in, and the plan-time check against the
//! permissions a tenant's token grants.
//!
//! Design: ConfigureProvider does not say which resources a configuration
//! has, so configure only signs in to every tenant (failing fast on bad
//! credentials) and keeps the `roles` claim of each tenant's token. Each
//! resource's plan (and each data source's read, which happens at plan time)
//! then compares what its type needs in its tenant with those roles and
//! reports every missing permission at once, on `tenant_id`. One
//! `terraform plan` therefore names all missing permissions of all resources
//! before anything is applied. The lists are the pages' "Graph permissions"
//! (`docs.rs` renders them from here); a permission also counts as granted
//! when the token holds one Graph documents as a higher-privileged
//! alternative (`Directory.ReadWrite.All` for `User.Read.All`, ...), so the
//! check never refuses what Graph would allow.

use tfplugin::{AttributePath, Diagnostic};

use crate::Client;

/// Permissions each resource type needs in the tenant named by its `tenant_id`.
pub const RESOURCES: &[(&str, &[&str])] = &[
    (
        "mto_organization",
        &["MultiTenantOrganization.ReadWrite.All"],
    ),
    (
        "mto_member_tenant",
        &["MultiTenantOrganization.ReadWrite.All"],
    ),
    (
        "mto_join_request",
        &["MultiTenantOrganization.ReadWrite.All"],
    ),
    (
        "mto_policy_templates",
        &["Policy.ReadWrite.CrossTenantAccess"],
    ),
    (
        "mto_inbound_acceptance",
        &["Policy.ReadWrite.CrossTenantAccess"],
    ),
    (
        "mto_outbound_share",
        &[
            "Policy.ReadWrite.CrossTenantAccess",
            "Application.ReadWrite.All",
            "Synchronization.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
        ],
    ),
    ("mto_sync_job", &["Synchronization.ReadWrite.All"]),
];

/// Permissions each data source needs in the tenant named by its `tenant_id`.
pub const DATA_SOURCES: &[(&str, &[&str])] = &[
    ("mto_configured_tenants", &[]),
    ("mto_organization", &["MultiTenantOrganization.Read.All"]),
    ("mto_users", &["User.Read.All"]),
    ("mto_sync_job", &["Synchronization.Read.All"]),
    (
        "mto_inventory",
        &[
            "MultiTenantOrganization.Read.All",
            "Policy.Read.All",
            "Application.Read.All",
            "Synchronization.Read.All",
        ],
    ),
];

/// Permissions Graph documents as also granting another (higher-privileged
/// alternatives), as the sandbox's permission table does.
const ALSO_GRANTED_BY: &[(&str, &[&str])] = &[
    (
        "MultiTenantOrganization.Read.All",
        &["MultiTenantOrganization.ReadWrite.All"],
    ),
    ("Policy.Read.All", &["Policy.ReadWrite.CrossTenantAccess"]),
    (
        "Application.ReadWrite.All",
        &["Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All"],
    ),
    (
        "Application.Read.All",
        &[
            "Application.ReadWrite.All",
            "Application.ReadWrite.OwnedBy",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
    ),
    (
        "Synchronization.ReadWrite.All",
        &["Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"],
    ),
    (
        "Synchronization.Read.All",
        &[
            "Synchronization.ReadWrite.All",
            "Application.ReadWrite.OwnedBy",
            "Application.ReadWrite.All",
        ],
    ),
    (
        "User.Read.All",
        &[
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        "GroupMember.Read.All",
        &[
            "GroupMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        "Organization.Read.All",
        &[
            "Organization.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
];

fn lookup(
    table: &'static [(&str, &'static [&'static str])],
    type_name: &str,
) -> &'static [&'static str] {
    table
        .iter()
        .find(|(t, _)| *t == type_name)
        .map(|(_, p)| *p)
        .unwrap_or(&[])
}

/// What resource type `type_name` needs.
pub fn for_resource(type_name: &str) -> &'static [&'static str] {
    lookup(RESOURCES, type_name)
}

/// What data source `type_name` needs.
pub fn for_data_source(type_name: &str) -> &'static [&'static str] {
    lookup(DATA_SOURCES, type_name)
}

/// Whether `granted` includes `permission` (itself or an alternative).
pub fn is_granted(permission: &str, granted: &[String]) -> bool {
    let also = lookup(ALSO_GRANTED_BY, permission);
    granted
        .iter()
        .any(|g| g == permission || also.contains(&g.as_str()))
}

/// The permissions of `needed` that `granted` lacks, in order.
pub fn missing(needed: &[&'static str], granted: &[String]) -> Vec<&'static str> {
    needed
        .iter()
        .copied()
        .filter(|p| !is_granted(p, granted))
        .collect()
}

/// A resource or a data source, for [`check`].
#[derive(Clone, Copy)]
pub enum Kind {
    Resource,
    DataSource,
}

/// The error for a `type_name` in `tenant_id` whose token lacks permissions
/// its type needs, on its `tenant_id`; `None` when nothing is missing, the
/// check is off, the tenant is not known yet (unknown at plan), or its roles
/// are not known (unreadable token, or an unconfigured tenant, which is
/// reported on its own).
pub fn check(
    client: &Client,
    kind: Kind,
    type_name: &str,
    tenant_id: Option<&str>,
) -> Option<Diagnostic> {
    if !client.config.check_permissions {
        return None;
    }
    let tenant_id = tenant_id?;
    let (what, needed) = match kind {
        Kind::Resource => ("Resource", for_resource(type_name)),
        Kind::DataSource => ("Data source", for_data_source(type_name)),
    };
    let granted = client.graph.granted_roles(tenant_id)?;
    let lacking = missing(needed, &granted);
    if lacking.is_empty() {
        return None;
    }
    let have = if granted.is_empty() {
        "none".to_owned()
    } else {
        granted.join(", ")
    };
    Some(
        Diagnostic::error(
            "Missing Graph permissions",
            format!(
                "{what} {type_name} needs Microsoft Graph application permissions in tenant {tenant_id} that the tenant's app registration does not have: {}. \
                 Grant them to the app (API permissions → Microsoft Graph → Application permissions) with admin consent, then plan again. \
                 The token has: {have}. (Set check_permissions = false in the provider block to skip this check.)",
                lacking.join(", ")
            ),
        )
        .at(AttributePath::root().attr("tenant_id")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_missing_permission_is_named_and_alternatives_count() {
        let needed = for_resource("mto_outbound_share");
        assert_eq!(
            missing(needed, &roles(&["Policy.ReadWrite.CrossTenantAccess"])),
            [
                "Application.ReadWrite.All",
                "Synchronization.ReadWrite.All",
                "AppRoleAssignment.ReadWrite.All"
            ]
        );
        // Application.ReadWrite.All also grants sync and role assignments.
        assert!(
            missing(
                needed,
                &roles(&[
                    "Policy.ReadWrite.CrossTenantAccess",
                    "Application.ReadWrite.All"
                ])
            )
            .is_empty()
        );
        assert!(is_granted(
            "User.Read.All",
            &roles(&["Directory.ReadWrite.All"])
        ));
        assert!(!is_granted("User.Read.All", &roles(&["Group.Read.All"])));
    }

    #[test]
    fn every_type_has_a_row() {
        use tfplugin::Provider;
        for r in crate::MtoProvider.resources() {
            assert!(
                RESOURCES.iter().any(|(t, _)| *t == r.type_name()),
                "{}",
                r.type_name()
            );
        }
        for d in crate::MtoProvider.data_sources() {
            assert!(
                DATA_SOURCES.iter().any(|(t, _)| *t == d.type_name()),
                "{}",
                d.type_name()
            );
        }
    }
}
