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
pub mod credentials;
pub mod data_sources;
pub mod diag;
pub mod docs;
pub mod functions;
pub mod graph;
pub mod operation;
pub mod permissions;
pub mod resources;

use std::sync::Arc;
use std::time::Duration;

use tfplugin::{
    ConfigureRequest, ConfigureResponse, DataSource, Diagnostic, Function, Provider, Resource,
    Schema, ValidateConfig, ValidateConfigRequest, ValidateConfigResponse, Value,
};
use tokio_util::sync::CancellationToken;

use crate::resources::{
    Adapter, inbound_acceptance, join_request, member_tenant, organization, outbound_share,
    policy_templates, sync_job,
};

/// How long configure waits for the tokens of all tenants.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(60);

/// The source address users write in `required_providers`.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/mto-provider/mto";

/// What a configured provider gives every resource and data source.
pub struct Client {
    pub config: config::ProviderConfig,
    pub graph: graph::GraphClient,
    /// The objects the resources planned so far in this run say they manage.
    pub claims: resources::common::Claims,
}

impl Client {
    /// Graph in `tenant_id` for one operation of at most `timeout`, or an
    /// error diagnostic on `tenant_id` when the provider block has no
    /// credentials for it.
    pub fn tenant_api(
        &self,
        cancel: &CancellationToken,
        tenant_id: &str,
        timeout: Duration,
    ) -> Result<graph::TenantApi<'_>, Diagnostic> {
        let scope = graph::Scope::new(cancel, timeout);
        self.graph.tenant(tenant_id, &scope).map_err(|e| {
            diag::graph_at(
                tfplugin::AttributePath::root().attr("tenant_id"),
                "Tenant not configured",
                &e,
            )
        })
    }
}

/// Reads a request value into a resource or data source model. A failure
/// is a bug in the provider (the model does not match the schema).
pub fn model<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, Diagnostic> {
    tfplugin::value::from_value(v).map_err(|e| {
        Diagnostic::error(
            "Provider bug: unreadable value",
            format!("The model does not match the schema: {e}"),
        )
    })
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

    /// Checks the configuration, reads its credential files, and signs in
    /// to every tenant at once: a refused credential fails here, on its
    /// tenant block, before any resource is planned or applied.
    async fn configure(&self, req: ConfigureRequest<'_>, resp: &mut ConfigureResponse<Client>) {
        let Some(config) = config::parse(req.config, &mut resp.diags) else {
            return;
        };
        let graph = match graph::GraphClient::new(&config) {
            Ok(graph) => graph,
            Err(e) => return resp.diags.error("Cannot create the Graph client", e),
        };
        let started = std::time::Instant::now();
        let outcomes = match tokio::time::timeout(SIGN_IN_TIMEOUT, graph.sign_in_all()).await {
            Ok(o) => o,
            Err(_) => {
                return resp.diags.error(
                    "Sign-in timed out",
                    format!(
                        "Getting a token for every tenant took longer than {} s; check login_endpoint and the network path to it.",
                        SIGN_IN_TIMEOUT.as_secs()
                    ),
                );
            }
        };
        for (tenant, outcome) in &outcomes {
            if let (Err(e), Some(creds)) = (outcome, config.tenant(tenant)) {
                resp.diags.push(diag::sign_in(creds, e));
            }
        }
        tracing::info!(
            tenants = outcomes.len(),
            ms = started.elapsed().as_millis() as u64,
            "signed in"
        );
        if !resp.diags.has_errors() {
            resp.client = Some(Client {
                config,
                graph,
                claims: Default::default(),
            });
        }
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<Client>>> {
        vec![
            Arc::new(Adapter::new(
                organization::DEFINITION,
                organization::Organization,
            )),
            Arc::new(Adapter::new(
                member_tenant::DEFINITION,
                member_tenant::MemberTenant,
            )),
            Arc::new(Adapter::new(
                join_request::DEFINITION,
                join_request::JoinRequest,
            )),
            Arc::new(Adapter::new(
                policy_templates::DEFINITION,
                policy_templates::PolicyTemplates,
            )),
            Arc::new(Adapter::new(
                inbound_acceptance::DEFINITION,
                inbound_acceptance::InboundAcceptance,
            )),
            Arc::new(Adapter::new(
                outbound_share::DEFINITION,
                outbound_share::OutboundShare,
            )),
            Arc::new(Adapter::new(sync_job::DEFINITION, sync_job::SyncJob)),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Client>>> {
        vec![
            Arc::new(data_sources::configured_tenants::ConfiguredTenants),
            Arc::new(data_sources::Adapter(
                data_sources::organization::OrganizationData,
            )),
            Arc::new(data_sources::Adapter(data_sources::users::UsersData)),
            Arc::new(data_sources::Adapter(data_sources::sync_job::SyncJobData)),
            Arc::new(data_sources::Adapter(
                data_sources::inventory::InventoryData,
            )),
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
