//! `data.mto_organization`: the multi-tenant organization a tenant belongs
//! to, with its tenants.
//!
//! Graph: `GET /tenantRelationships/multiTenantOrganization` and `.../tenants`.
//! Permissions (application): `MultiTenantOrganization.Read.All`.

use std::time::Duration;

use tfplugin::validate::Guid;
use tfplugin::{
    Attribute, Block, Ctx, DataSource, DataSourceReadRequest, DataSourceReadResponse,
    ObjectNesting, Schema, Value,
};

use crate::Client;
use crate::diag;
use crate::resources::common::{json_str, req_str, tenant_api};

pub struct OrganizationData;

#[tfplugin::async_trait]
impl DataSource<Client> for OrganizationData {
    fn type_name(&self) -> &'static str {
        "mto_organization"
    }

    fn schema(&self) -> Schema {
        let member = vec![
            Attribute::string("tenant_id")
                .computed()
                .description("The member tenant."),
            Attribute::string("display_name")
                .computed()
                .description("Its name in the organization."),
            Attribute::string("role")
                .computed()
                .description("`owner` or `member`."),
            Attribute::string("state")
                .computed()
                .description("`pending`, `active` or `removed`."),
            Attribute::string("joined_date_time")
                .computed()
                .description("When it joined."),
        ];
        Schema::new(
            Block::new()
                .description("The multi-tenant organization a tenant belongs to (as that tenant sees it), with its tenants.")
                .attribute(Attribute::string("tenant_id").required().validator(Guid).description("The tenant to ask."))
                .attribute(Attribute::string("id").computed().description("The organization's object id in this tenant; null when the tenant is in none."))
                .attribute(Attribute::string("display_name").computed().description("Name of the organization."))
                .attribute(Attribute::string("description").computed().description("Description."))
                .attribute(Attribute::string("state").computed().description("`active`, or `inactive` when the tenant is in no organization."))
                .attribute(Attribute::nested("tenants", ObjectNesting::List, member).computed().description("The tenants, in Graph's order.")),
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
        let api = match tenant_api(ctx, tenant, Duration::from_secs(120)) {
            Ok(a) => a,
            Err(d) => {
                diags.extend(d);
                return;
            }
        };
        let mto = match api
            .get("/tenantRelationships/multiTenantOrganization")
            .send()
            .await
        {
            Ok(doc) => doc.unwrap_or_default(),
            Err(e) => {
                diags.push(diag::graph("Cannot read the multi-tenant organization", &e));
                return;
            }
        };
        let active = mto.get("state").and_then(|v| v.as_str()) == Some("active");
        let tenants = if active {
            match api
                .get_all("/tenantRelationships/multiTenantOrganization/tenants")
                .await
            {
                Ok(items) => items
                    .iter()
                    .map(|m| {
                        Value::object([
                            ("tenant_id", json_str(m, "tenantId")),
                            ("display_name", json_str(m, "displayName")),
                            ("role", json_str(m, "role")),
                            ("state", json_str(m, "state")),
                            ("joined_date_time", json_str(m, "joinedDateTime")),
                        ])
                    })
                    .collect(),
                Err(e) => {
                    diags.push(diag::graph("Cannot list the organization's tenants", &e));
                    return;
                }
            }
        } else {
            Vec::new()
        };
        resp.state = Value::object([
            ("tenant_id", Value::from(tenant)),
            ("id", json_str(&mto, "id")),
            ("display_name", json_str(&mto, "displayName")),
            ("description", json_str(&mto, "description")),
            (
                "state",
                Value::from(
                    mto.get("state")
                        .and_then(|v| v.as_str())
                        .unwrap_or("inactive"),
                ),
            ),
            ("tenants", Value::List(tenants)),
        ]);
    }
}
