//! `data.mto_organization`: the multi-tenant organization a tenant belongs
//! to, with its tenants.
//!
//! Permissions (application): `MultiTenantOrganization.Read.All`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplugin::validate::Guid;
use tfplugin::{Attribute, Block, DataSourceReadResponse, ObjectNesting, Schema};

use super::TenantDataSource;
use crate::diag::OrDiag;
use crate::operation::{Op, Outcome};

const TIMEOUT: Duration = Duration::from_secs(120);

pub struct OrganizationData;

#[derive(Serialize, Deserialize)]
pub struct OrganizationModel {
    tenant_id: String,
    id: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    state: Option<String>,
    tenants: Option<Vec<MemberModel>>,
}

#[derive(Serialize, Deserialize)]
pub struct MemberModel {
    tenant_id: String,
    display_name: Option<String>,
    role: Option<String>,
    state: Option<String>,
    joined_date_time: Option<String>,
}

#[tfplugin::async_trait]
impl TenantDataSource for OrganizationData {
    const TYPE_NAME: &'static str = "mto_organization";
    const TIMEOUT: Duration = TIMEOUT;
    type Model = OrganizationModel;

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

    async fn read(&self, op: Op<'_, Self::Model>, resp: &mut DataSourceReadResponse) -> Outcome {
        let config = op.state;
        let api = &op.api;
        let org = api
            .mto()
            .get()
            .await
            .or_diag("Cannot read the multi-tenant organization")?;
        let tenants = if org.is_active() {
            api.mto()
                .tenants()
                .await
                .or_diag("Cannot list the organization's tenants")?
        } else {
            Vec::new()
        };
        resp.set_state(&OrganizationModel {
            tenant_id: config.tenant_id,
            id: org.id,
            display_name: org.display_name,
            description: org.description,
            state: Some(org.state.unwrap_or_else(|| "inactive".into())),
            tenants: Some(
                tenants
                    .into_iter()
                    .map(|m| MemberModel {
                        tenant_id: m.tenant_id,
                        display_name: m.display_name,
                        role: m.role,
                        state: m.state,
                        joined_date_time: m.joined_date_time,
                    })
                    .collect(),
            ),
        });
        Ok(())
    }
}
