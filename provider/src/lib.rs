//! terraform-provider-mto: Microsoft Entra multi-tenant organizations and
//! cross-tenant synchronization as Terraform resources.
//!
//! Main types: [`MtoProvider`] (the provider, built on the `tfplugin` SDK)
//! and [`Client`] (what a configured provider hands every resource).
//!
//! Design decision: one provider configuration holds every tenant's
//! credentials and each resource names its tenant, so a mesh of N tenants is
//! one `for_each` instead of N aliased provider blocks.

// GraphError carries Graph's code, message and request ids for the
// diagnostics; it is returned only on failures, never on a hot path, so its
// size does not matter.
#![allow(clippy::result_large_err)]

pub mod config;
pub mod data_sources;
pub mod diag;
pub mod docs;
pub mod functions;
pub mod graph;
pub mod resources;

use std::sync::Arc;

use tfplugin::{
    ConfigureRequest, ConfigureResponse, DataSource, Function, Provider, Resource, Schema,
    ValidateConfig, ValidateConfigRequest, ValidateConfigResponse,
};

/// The source address users write in `required_providers`.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/mto-provider/mto";

/// What a configured provider gives every resource and data source.
pub struct Client {
    pub config: config::ProviderConfig,
    pub graph: graph::GraphClient,
    /// Serializes read-modify-write updates of shared Graph objects.
    pub locks: resources::common::KeyedLocks,
    /// Collection snapshots that serve many refreshes with one request.
    pub read_cache: resources::common::ReadCache,
}

#[derive(Default)]
pub struct MtoProvider;

#[tfplugin::async_trait]
impl Provider for MtoProvider {
    type Client = Client;

    fn type_name(&self) -> &'static str {
        "mto"
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn config_validator(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }

    async fn configure(&self, req: ConfigureRequest<'_>, resp: &mut ConfigureResponse<Client>) {
        let diags = &mut resp.diags;
        let Some(config) = config::parse(req.config, diags) else {
            return;
        };
        let graph = match graph::GraphClient::new(&config) {
            Ok(g) => g,
            Err(e) => {
                diags.error("Cannot create the Graph client", e);
                return;
            }
        };
        resp.client = Some(Client {
            config,
            graph,
            locks: Default::default(),
            read_cache: Default::default(),
        });
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<Client>>> {
        vec![
            Arc::new(resources::organization::Organization),
            Arc::new(resources::member_tenant::MemberTenant),
            Arc::new(resources::join_request::JoinRequest),
            Arc::new(resources::policy_templates::PolicyTemplates),
            Arc::new(resources::inbound_acceptance::InboundAcceptance),
            Arc::new(resources::outbound_share::OutboundShare),
            Arc::new(resources::sync_job::SyncJob),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Client>>> {
        vec![
            Arc::new(data_sources::configured_tenants::ConfiguredTenants),
            Arc::new(data_sources::organization::OrganizationData),
            Arc::new(data_sources::users::UsersData),
            Arc::new(data_sources::sync_job::SyncJobData),
        ]
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        vec![Arc::new(functions::pairs::Pairs)]
    }
}

#[tfplugin::async_trait]
impl ValidateConfig for MtoProvider {
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    ) {
        config::validate(req.config, &mut resp.diags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_definition_is_valid() {
        let errors = tfplugin::server::check_provider(&MtoProvider);
        assert!(errors.is_empty(), "{errors:#?}");
        // The documentation promises an import id exactly where there is an
        // importer.
        for r in MtoProvider.resources() {
            let facts = docs::RESOURCES
                .iter()
                .find(|f| f.type_name == r.type_name())
                .expect("facts for every resource");
            assert_eq!(
                facts.import_id.is_some(),
                r.importer().is_some(),
                "{}: documented import id and importer() disagree",
                r.type_name()
            );
        }
    }
}
