//! `data.mto_users`: the people a tenant finds — its own users and the B2B
//! members synchronized from other tenants — as People Search sees them.
//!
//! Graph: the tenant's users (searched when a query is given) and, to name
//! the source tenant of B2B users, the verified domains of every tenant of
//! the provider block.
//! Permissions (application): `User.Read.All`; `Organization.Read.All` in the
//! other tenants for `source_tenant_id`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplugin::validate::{Guid, NotBlank, OneOf};
use tfplugin::{Attribute, Block, DataSourceReadResponse, ObjectNesting, Schema};

use super::TenantDataSource;
use crate::diag::OrDiag;
use crate::graph::TenantApi;
use crate::operation::{Op, Outcome};

const TIMEOUT: Duration = Duration::from_secs(300);
const KINDS: &[&str] = &["internal", "b2b_member", "b2b_guest"];

pub struct UsersData;

#[derive(Serialize, Deserialize)]
pub struct UsersModel {
    tenant_id: String,
    query: Option<String>,
    kind: Option<String>,
    users: Option<Vec<UserModel>>,
}

#[derive(Serialize, Deserialize)]
pub struct UserModel {
    id: String,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    mail: Option<String>,
    user_type: Option<String>,
    kind: String,
    source_domain: Option<String>,
    source_tenant_id: Option<String>,
    show_in_address_list: Option<bool>,
    visible_in_people_search: bool,
}

/// Internal, B2B member or B2B guest, from `userType` and the `#EXT#` UPN.
pub fn kind(user_type: Option<&str>, upn: &str) -> &'static str {
    match user_type {
        Some(t) if t.eq_ignore_ascii_case("Guest") => "b2b_guest",
        _ if upn.contains("#EXT#") => "b2b_member",
        _ => "internal",
    }
}

/// The home domain of a B2B user: `annie_a.example.com#EXT#@b.onmicrosoft.com`
/// comes from `a.example.com`. Domain names cannot contain `_`, so the home
/// domain is what follows the last one.
pub fn source_domain(upn: &str) -> Option<String> {
    let local = upn
        .split("#EXT#")
        .next()
        .filter(|_| upn.contains("#EXT#"))?;
    let (_, domain) = local.rsplit_once('_')?;
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// Verified domain → tenant id, for every tenant the provider can reach.
/// Tenants that cannot be read are skipped: the data source then leaves
/// `source_tenant_id` null for their users.
async fn domain_map(api: &TenantApi<'_>, tenants: &[String]) -> BTreeMap<String, String> {
    let reads = tenants.iter().map(|t| async move {
        let other = api.other_tenant(t).ok()?;
        let domains = other.directory().verified_domains().await.ok()?;
        Some((t.clone(), domains))
    });
    let mut map = BTreeMap::new();
    for (tenant, domains) in futures::future::join_all(reads).await.into_iter().flatten() {
        for name in domains {
            map.insert(name.to_ascii_lowercase(), tenant.clone());
        }
    }
    map
}

#[tfplugin::async_trait]
impl TenantDataSource for UsersData {
    const TYPE_NAME: &'static str = "mto_users";
    const TIMEOUT: Duration = TIMEOUT;
    type Model = UsersModel;

    fn schema(&self) -> Schema {
        let user = vec![
            Attribute::string("id").computed().description("Object id in this tenant."),
            Attribute::string("display_name").computed().description("Display name."),
            Attribute::string("user_principal_name").computed().description("UPN in this tenant (`…#EXT#@…` for B2B users)."),
            Attribute::string("mail").computed().description("Mail address."),
            Attribute::string("user_type").computed().description("`Member` or `Guest`."),
            Attribute::string("kind").computed().description("`internal`, `b2b_member` or `b2b_guest`."),
            Attribute::string("source_domain").computed().description("Home domain of a B2B user; null for internal users."),
            Attribute::string("source_tenant_id").computed().description("Home tenant of a B2B user, when it is one of the provider's tenants."),
            Attribute::bool("show_in_address_list").computed().description("`showInAddressList` (null means the default: shown)."),
            Attribute::bool("visible_in_people_search").computed().description("Whether People Search finds the user: an enabled member not hidden from the address list."),
        ];
        Schema::new(
            Block::new()
                .description("The users a tenant holds, as People Search sees them: internal users and B2B members (with the tenant they come from).")
                .attribute(Attribute::string("tenant_id").required().validator(Guid).description("The tenant to look in."))
                .attribute(Attribute::string("query").optional().validator(NotBlank).description("Only users whose name, mail or UPN matches (Graph `$search`)."))
                .attribute(Attribute::string("kind").optional().validator(OneOf(KINDS)).description("Only users of this kind: `internal`, `b2b_member` or `b2b_guest`."))
                .attribute(Attribute::nested("users", ObjectNesting::List, user).computed().description("The users, sorted by display name.")),
        )
    }

    async fn read(&self, op: Op<'_, Self::Model>, resp: &mut DataSourceReadResponse) -> Outcome {
        let config = op.state;
        let api = &op.api;
        let users = match &config.query {
            Some(query) => api
                .directory()
                .search_users(query)
                .await
                .or_diag("Cannot search the tenant's users")?,
            None => api
                .directory()
                .users()
                .await
                .or_diag("Cannot list the tenant's users")?,
        };
        let tenants: Vec<String> = op.ctx.client.config.tenants.keys().cloned().collect();
        let domains = domain_map(api, &tenants).await;
        let mut rows: Vec<UserModel> = users
            .into_iter()
            .filter_map(|u| {
                let upn = u.user_principal_name.clone().unwrap_or_default();
                let user_type = u.user_type.as_deref();
                let k = kind(user_type, &upn);
                if config.kind.as_deref().is_some_and(|w| w != k) {
                    return None;
                }
                let domain = source_domain(&upn);
                let source_tenant = domain.as_ref().and_then(|d| domains.get(d)).cloned();
                let shown = u.show_in_address_list != Some(false);
                let enabled = u.account_enabled != Some(false);
                let member = user_type.is_none_or(|t| t.eq_ignore_ascii_case("Member"));
                Some(UserModel {
                    kind: k.to_owned(),
                    source_domain: domain,
                    source_tenant_id: source_tenant,
                    visible_in_people_search: shown && enabled && member,
                    show_in_address_list: u.show_in_address_list,
                    id: u.id,
                    display_name: u.display_name,
                    user_principal_name: u.user_principal_name,
                    mail: u.mail,
                    user_type: u.user_type,
                })
            })
            .collect();
        rows.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        resp.set_state(&UsersModel {
            users: Some(rows),
            ..config
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_source_domains() {
        assert_eq!(kind(Some("Member"), "annie@a.example.com"), "internal");
        assert_eq!(
            kind(Some("Member"), "annie_a.example.com#EXT#@b.onmicrosoft.com"),
            "b2b_member"
        );
        assert_eq!(
            kind(Some("Guest"), "x_y.com#EXT#@b.onmicrosoft.com"),
            "b2b_guest"
        );
        assert_eq!(
            source_domain("first_last_a.example.com#EXT#@b.onmicrosoft.com").as_deref(),
            Some("a.example.com")
        );
        assert_eq!(source_domain("annie@a.example.com"), None);
    }
}
