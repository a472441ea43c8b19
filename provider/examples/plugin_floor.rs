//! The benchmarks' floor for a plugin provider: the same provider block,
//! resource, data source and function schemas as terraform-provider-mto,
//! served by the same `tfplugin` server, but with no Graph behind them.
//! Configure signs in nowhere, a refresh returns the stored state, and
//! nothing can be applied.
//!
//! `terraform_data` is built into Terraform: a plan over it starts no
//! plugin process and makes no RPC. A plan over this floor pays what every
//! plugin provider with these schemas pays (three process starts per plan,
//! three RPCs per resource instance, the schemas' encoding), so
//! `bench/bench.py` can tell that cost apart from what the provider's own
//! work (signing in, reading Graph, planning rules) adds.
//!
//! Built by `bench/run.sh` (`cargo build --release --example plugin_floor`);
//! not shipped.

use std::sync::Arc;

use mto_provider::MtoProvider;
use tfplugin::{
    ConfigureRequest, ConfigureResponse, DataSource, Diagnostic, Function, Provider, Resource,
    Schema,
};
use tfplugin::{
    CreateRequest, CreateResponse, Ctx, DataSourceReadRequest, DataSourceReadResponse,
    DeleteRequest, DeleteResponse, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse,
};

/// The real provider's client type: the floor never builds one, it only
/// borrows the real resources' schemas.
type RealClient = mto_provider::Client;

struct Floor;

/// One of the real provider's resource types, schema only.
struct FloorResource(Arc<dyn Resource<RealClient>>);

/// One of the real provider's data source types, schema only.
struct FloorDataSource(Arc<dyn DataSource<RealClient>>);

fn refused() -> Diagnostic {
    Diagnostic::error(
        "The benchmark floor applies nothing",
        "This provider only measures what Terraform's plugin protocol costs; apply with terraform-provider-mto.",
    )
}

#[tfplugin::async_trait]
impl Resource<()> for FloorResource {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn create(&self, _: &Ctx<'_, ()>, _: CreateRequest<'_>, resp: &mut CreateResponse) {
        resp.diags.push(refused());
    }

    /// The response is pre-filled with the stored state: leaving it is a
    /// refresh that finds nothing changed.
    async fn read(&self, _: &Ctx<'_, ()>, _: ReadRequest<'_>, _: &mut ReadResponse) {}

    async fn update(&self, _: &Ctx<'_, ()>, _: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        resp.diags.push(refused());
    }

    async fn delete(&self, _: &Ctx<'_, ()>, _: DeleteRequest<'_>, resp: &mut DeleteResponse) {
        resp.diags.push(refused());
    }
}

#[tfplugin::async_trait]
impl DataSource<()> for FloorDataSource {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn read(
        &self,
        _: &Ctx<'_, ()>,
        _: DataSourceReadRequest<'_>,
        resp: &mut DataSourceReadResponse,
    ) {
        resp.diags.push(refused());
    }
}

#[tfplugin::async_trait]
impl Provider for Floor {
    type Client = ();

    fn type_name(&self) -> &'static str {
        MtoProvider.type_name()
    }

    fn schema(&self) -> Schema {
        MtoProvider.schema()
    }

    async fn configure(&self, _: ConfigureRequest<'_>, resp: &mut ConfigureResponse<()>) {
        resp.client = Some(());
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        MtoProvider
            .resources()
            .into_iter()
            .map(|r| Arc::new(FloorResource(r)) as Arc<dyn Resource<()>>)
            .collect()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        MtoProvider
            .data_sources()
            .into_iter()
            .map(|d| Arc::new(FloorDataSource(d)) as Arc<dyn DataSource<()>>)
            .collect()
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        MtoProvider.functions()
    }
}

fn main() -> std::process::ExitCode {
    tfplugin::server::main(
        Floor,
        tfplugin::server::ServeOptions {
            address: mto_provider::PROVIDER_ADDRESS,
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}
