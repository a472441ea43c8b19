//! Users of a tenant and the tenant's verified domains.
//!
//! Graph: `GET /users` (with `$search` and `ConsistencyLevel: eventual` for
//! a query; the header must go with every page), `GET /users/{id}`,
//! `GET /organization` (verified domains).

use serde::Deserialize;

use super::client::{ReadMode, TenantApi, decode_items, odata_str, q, seg};
use super::error::Result;

const USER_FIELDS: &str =
    "id,displayName,userPrincipalName,mail,userType,showInAddressList,accountEnabled,creationType";

/// A user as People Search sees it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub id: String,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub mail: Option<String>,
    /// `Member` or `Guest`.
    pub user_type: Option<String>,
    /// Null means the default: shown.
    pub show_in_address_list: Option<bool>,
    pub account_enabled: Option<bool>,
    pub creation_type: Option<String>,
}

/// A group, with what decides whether it can be shared.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Group {
    pub id: String,
    pub display_name: Option<String>,
    pub security_enabled: Option<bool>,
    pub mail_enabled: Option<bool>,
    /// `Unified` for Microsoft 365 groups, `DynamicMembership` for dynamic ones.
    pub group_types: Vec<String>,
}

impl User {
    /// A guest, or a B2B user who came from another tenant (its UPN has
    /// `#EXT#`, or Graph says it was invited): cross-tenant synchronization
    /// never shares these, only the tenant's internal members.
    pub fn is_external(&self) -> bool {
        self.user_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("Guest"))
            || self
                .user_principal_name
                .as_deref()
                .is_some_and(|u| u.contains("#EXT#"))
            || self.creation_type.as_deref() == Some("Invitation")
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct OrganizationDomains {
    verified_domains: Vec<Domain>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Domain {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Page<T> {
    value: Vec<T>,
}

/// The directory of one tenant.
#[derive(Clone, Copy)]
pub struct Directory<'a> {
    api: &'a TenantApi<'a>,
}

impl<'a> TenantApi<'a> {
    pub fn directory(&'a self) -> Directory<'a> {
        Directory { api: self }
    }
}

impl Directory<'_> {
    /// Every user of the tenant.
    pub async fn users(self) -> Result<Vec<User>> {
        self.api
            .list(&format!("/users?$select={USER_FIELDS}&$top=999"))
            .await
    }

    /// Users whose name, mail or UPN matches `term` (Graph `$search`).
    pub async fn search_users(self, term: &str) -> Result<Vec<User>> {
        let term = term.replace('"', "");
        let search =
            format!("\"displayName:{term}\" OR \"mail:{term}\" OR \"userPrincipalName:{term}\"");
        let path = format!(
            "/users?$select={USER_FIELDS}&$top=999&$search={}",
            q(&search)
        );
        let items = self
            .api
            .get_all_with(&path, &[("ConsistencyLevel", "eventual")])
            .await?;
        decode_items(items, &path)
    }

    /// User `id`, or `None` when the tenant has no such user. Concurrent
    /// lookups share `$batch` round trips.
    pub async fn user(self, id: &str) -> Result<Option<User>> {
        let path = format!("/users/{}?$select={USER_FIELDS}", seg(id));
        self.api.find(path, ReadMode::Refresh).await
    }

    /// Group `id`, or `None` when the tenant has no such group.
    pub async fn group(self, id: &str) -> Result<Option<Group>> {
        let path = format!(
            "/groups/{}?$select=id,displayName,securityEnabled,mailEnabled,groupTypes",
            seg(id)
        );
        self.api.find(path, ReadMode::Refresh).await
    }

    /// The ids of the users among the direct members of group `id` (nested
    /// groups are not followed, as cross-tenant synchronization does not).
    pub async fn group_user_members(self, id: &str) -> Result<Vec<String>> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Member {
            id: String,
            #[serde(rename = "@odata.type")]
            kind: Option<String>,
        }
        let members: Vec<Member> = self
            .api
            .list(&format!("/groups/{}/members?$select=id", seg(id)))
            .await?;
        Ok(members
            .into_iter()
            .filter(|m| m.kind.as_deref().is_none_or(|k| k.ends_with(".user")))
            .map(|m| m.id)
            .collect())
    }

    /// The UPN of user `id`, or `None` when it has none.
    pub async fn user_principal_name(self, id: &str) -> Result<Option<String>> {
        let user: User = self
            .api
            .get(format!("/users/{}?$select=userPrincipalName", seg(id)))
            .json()
            .await?;
        Ok(user.user_principal_name.filter(|u| !u.is_empty()))
    }

    /// Whether a user whose UPN starts with `prefix` exists.
    pub async fn has_user_with_upn_prefix(self, prefix: &str) -> Result<bool> {
        let filter = format!("startswith(userPrincipalName,{})", odata_str(prefix));
        let page: Page<User> = self
            .api
            .get(format!("/users?$filter={}&$select=id", q(&filter)))
            .json()
            .await?;
        Ok(!page.value.is_empty())
    }

    /// The tenant's verified domain names.
    pub async fn verified_domains(self) -> Result<Vec<String>> {
        let orgs: Page<OrganizationDomains> = self
            .api
            .get("/organization?$select=id,verifiedDomains")
            .batched()
            .json()
            .await?;
        Ok(orgs
            .value
            .into_iter()
            .flat_map(|o| o.verified_domains)
            .map(|d| d.name)
            .filter(|n| !n.is_empty())
            .collect())
    }
}

/// The UPN a B2B user synchronized from `source_upn` has in the target,
/// up to the target's domain: `annie@a.example.com` becomes
/// `annie_a.example.com#EXT#@…`.
pub fn b2b_upn_prefix(source_upn: &str) -> String {
    format!("{}#EXT#", source_upn.replace('@', "_"))
}
