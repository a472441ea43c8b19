//! `mto_configured_tenants`: the tenants this provider block holds
//! credentials for, so a mesh can be driven from the provider block alone:
//! `provider::mto::pairs(data.mto_configured_tenants.this.tenant_ids)`.

use tfplugin::{
    Attribute, Block, Ctx, DataSource, DataSourceReadRequest, DataSourceReadResponse, Schema, Type,
    Value,
};

use crate::Client;

pub struct ConfiguredTenants;

#[tfplugin::async_trait]
impl DataSource<Client> for ConfiguredTenants {
    fn type_name(&self) -> &'static str {
        "mto_configured_tenants"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "The tenants the provider block has credentials for (no Graph call is made).",
                )
                .attribute(
                    Attribute::new("tenant_ids", Type::list(Type::String))
                        .computed()
                        .description("Tenant ids in lower case, sorted."),
                ),
        )
    }

    async fn read(
        &self,
        ctx: &Ctx<'_, Client>,
        _req: DataSourceReadRequest<'_>,
        resp: &mut DataSourceReadResponse,
    ) {
        let ids = ctx
            .client
            .config
            .tenants
            .keys()
            .map(|k| Value::from(k.as_str()))
            .collect();
        resp.state = Value::object([("tenant_ids", Value::List(ids))]);
    }
}
