//! Data sources, one module each, and the contract the Graph-backed ones
//! share.
//!
//! Every data source but `mto_configured_tenants` (which reads the provider
//! block alone) asks one tenant, named by its `tenant_id`.
//! [`TenantDataSource`] states that with a handler that gets its
//! configuration decoded and the Graph API of that tenant, and returns
//! `Result`; [`Adapter`] makes it a `tfplugin::DataSource`.

pub mod configured_tenants;
pub mod inventory;
pub mod organization;
pub mod sync_job;
pub mod users;

use std::time::Duration;

use serde::de::DeserializeOwned;
use tfplugin::{Ctx, DataSource, DataSourceReadRequest, DataSourceReadResponse, Private, Schema};

use crate::Client;
use crate::operation::{Op, Outcome};

/// A data source that reads one tenant.
#[tfplugin::async_trait]
pub trait TenantDataSource: Send + Sync + 'static {
    /// The full type name, e.g. `mto_users`.
    const TYPE_NAME: &'static str;
    /// How long a read may take.
    const TIMEOUT: Duration;
    /// The configuration (and result) as a serde model.
    type Model: DeserializeOwned + Send;

    fn schema(&self) -> Schema;

    /// Reads; `resp.state` comes pre-filled with the configuration.
    async fn read(&self, op: Op<'_, Self::Model>, resp: &mut DataSourceReadResponse) -> Outcome;
}

/// A [`TenantDataSource`] as Terraform sees it, through `tfplugin`.
pub struct Adapter<D>(pub D);

#[tfplugin::async_trait]
impl<D: TenantDataSource> DataSource<Client> for Adapter<D> {
    fn type_name(&self) -> &'static str {
        D::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn read(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DataSourceReadRequest<'_>,
        resp: &mut DataSourceReadResponse,
    ) {
        let tenant = req.config.get("tenant_id").as_str();
        let kind = crate::permissions::Kind::DataSource;
        if let Some(d) = crate::permissions::check(ctx.client, kind, D::TYPE_NAME, tenant) {
            resp.diags.push(d);
            return;
        }
        // Data sources keep no private data.
        let private = Private::default();
        let outcome = match Op::begin(ctx, req.config, &private, D::TIMEOUT) {
            Ok(op) => self.0.read(op, resp).await,
            Err(d) => Err(d),
        };
        resp.diags.take_err(outcome);
    }
}
