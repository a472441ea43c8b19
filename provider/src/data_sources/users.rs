//! `data.mto_users`: the people a tenant finds — its own users and the B2B
//! members synchronized from other tenants — as People Search sees them.
//!
//! Graph: `GET /users` (with `$search` and `ConsistencyLevel: eventual` when
//! a query is given) and, to name the source tenant of B2B users,
//! `GET /organization` in every tenant of the provider block.
//! Permissions (application): `User.Read.All`; `Organization.Read.All` in the
//! other tenants for `source_tenant_id`.

use std::collections::BTreeMap;
use std::time::Duration;

use tfplugin::validate::{Guid, NotBlank, OneOf};
use tfplugin::{
    Attribute, Block, Ctx, DataSource, DataSourceReadRequest, DataSourceReadResponse,
    ObjectNesting, Schema, Value,
};

use crate::Client;
use crate::diag;
use crate::graph::{GraphClient, Scope, q};
use crate::resources::common::{json_bool, json_str, req_str, tenant_api};

pub struct UsersData;

const SELECT: &str =
    "id,displayName,userPrincipalName,mail,userType,showInAddressList,accountEnabled,creationType";
const KINDS: &[&str] = &["internal", "b2b_member", "b2b_guest"];

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
async fn domain_map(
    graph: &GraphClient,
    scope: &Scope,
    tenants: &[String],
) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let reads = tenants.iter().map(|t| async move {
        let api = graph.tenant(t, scope).ok()?;
        let orgs = api
            .get("/organization?$select=id,verifiedDomains")
            .batched()
            .send()
            .await
            .ok()??;
        Some((t.clone(), orgs))
    });
    for (tenant, orgs) in futures::future::join_all(reads).await.into_iter().flatten() {
        for org in orgs
            .get("value")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            for d in org
                .get("verifiedDomains")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(name) = d.get("name").and_then(|v| v.as_str()) {
                    map.insert(name.to_ascii_lowercase(), tenant.clone());
                }
            }
        }
    }
    map
}

#[tfplugin::async_trait]
impl DataSource<Client> for UsersData {
    fn type_name(&self) -> &'static str {
        "mto_users"
    }

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

    async fn read(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DataSourceReadRequest<'_>,
        resp: &mut DataSourceReadResponse,
    ) {
        let (config, diags) = (req.config, &mut resp.diags);
        let tenant = req_str(config, "tenant_id");
        let api = match tenant_api(ctx, tenant, Duration::from_secs(300)) {
            Ok(a) => a,
            Err(d) => {
                diags.extend(d);
                return;
            }
        };
        let users = match config.get("query").as_str() {
            Some(query) => {
                let term = query.replace('"', "");
                let search = format!(
                    "\"displayName:{term}\" OR \"mail:{term}\" OR \"userPrincipalName:{term}\""
                );
                let path = format!("/users?$select={SELECT}&$top=999&$search={}", q(&search));
                let mut all = Vec::new();
                let mut next = Some(path);
                // $search needs ConsistencyLevel on every page.
                while let Some(p) = next.take() {
                    match api
                        .get(p)
                        .header("ConsistencyLevel", "eventual")
                        .send()
                        .await
                    {
                        Ok(page) => {
                            let page = page.unwrap_or_default();
                            all.extend(
                                page.get("value")
                                    .and_then(|v| v.as_array())
                                    .cloned()
                                    .unwrap_or_default(),
                            );
                            next = page
                                .get("@odata.nextLink")
                                .and_then(|v| v.as_str())
                                .and_then(|l| {
                                    l.split_once("/v1.0").map(|(_, rest)| rest.to_owned())
                                });
                        }
                        Err(e) => {
                            diags.push(diag::graph("Cannot search the tenant's users", &e));
                            return;
                        }
                    }
                }
                all
            }
            None => match api
                .get_all(&format!("/users?$select={SELECT}&$top=999"))
                .await
            {
                Ok(u) => u,
                Err(e) => {
                    diags.push(diag::graph("Cannot list the tenant's users", &e));
                    return;
                }
            },
        };
        let tenants: Vec<String> = ctx.client.config.tenants.keys().cloned().collect();
        let domains = domain_map(&ctx.client.graph, api.scope(), &tenants).await;
        let wanted_kind = config.get("kind").as_str();
        let mut rows: Vec<(String, Value)> = users
            .iter()
            .filter_map(|u| {
                let upn = u
                    .get("userPrincipalName")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let user_type = u.get("userType").and_then(|v| v.as_str());
                let k = kind(user_type, upn);
                if wanted_kind.is_some_and(|w| w != k) {
                    return None;
                }
                let domain = source_domain(upn);
                let source_tenant = domain.as_ref().and_then(|d| domains.get(d)).cloned();
                let shown = u.get("showInAddressList").and_then(|v| v.as_bool()) != Some(false);
                let enabled = u.get("accountEnabled").and_then(|v| v.as_bool()) != Some(false);
                let member = user_type.is_none_or(|t| t.eq_ignore_ascii_case("Member"));
                let name = u
                    .get("displayName")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                Some((
                    name,
                    Value::object([
                        ("id", json_str(u, "id")),
                        ("display_name", json_str(u, "displayName")),
                        ("user_principal_name", json_str(u, "userPrincipalName")),
                        ("mail", json_str(u, "mail")),
                        ("user_type", json_str(u, "userType")),
                        ("kind", Value::from(k)),
                        (
                            "source_domain",
                            domain.map(Value::from).unwrap_or(Value::Null),
                        ),
                        (
                            "source_tenant_id",
                            source_tenant.map(Value::from).unwrap_or(Value::Null),
                        ),
                        ("show_in_address_list", json_bool(u, "showInAddressList")),
                        (
                            "visible_in_people_search",
                            Value::Bool(shown && enabled && member),
                        ),
                    ]),
                ))
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        resp.state = Value::object([
            ("tenant_id", Value::from(tenant)),
            ("query", config.get("query").clone()),
            ("kind", config.get("kind").clone()),
            (
                "users",
                Value::List(rows.into_iter().map(|(_, v)| v).collect()),
            ),
        ]);
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
