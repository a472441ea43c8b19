//! AutoMTLS against a Terraform-like client: the pinned certificate gets in,
//! any other certificate (or none) does not.

use std::sync::Arc;
use std::time::Duration;

use tfplugin::proto::tfplugin6::get_provider_schema;
use tfplugin::server::{ProviderService, serve_on, tls};
use tfplugin::testing::{ClientIdentity, ProviderClient, connect, terraform_like_identity};
use tfplugin::{
    ConfigureRequest, ConfigureResponse, CreateRequest, CreateResponse, Ctx, DeleteRequest,
    DeleteResponse, Provider, ReadRequest, ReadResponse, Resource, Schema, UpdateRequest,
    UpdateResponse,
};
use tokio_util::sync::CancellationToken;

struct Tiny;

#[tfplugin::async_trait]
impl Provider for Tiny {
    type Client = ();
    fn type_name(&self) -> &'static str {
        "tiny"
    }
    fn schema(&self) -> Schema {
        Schema::default()
    }
    async fn configure(&self, _: ConfigureRequest<'_>, resp: &mut ConfigureResponse<()>) {
        resp.client = Some(());
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        vec![Arc::new(Thing)]
    }
}

struct Thing;

#[tfplugin::async_trait]
impl Resource<()> for Thing {
    fn type_name(&self) -> &'static str {
        "tiny_thing"
    }
    fn schema(&self) -> Schema {
        Schema::default()
    }
    async fn create(&self, _: &Ctx<'_, ()>, r: CreateRequest<'_>, resp: &mut CreateResponse) {
        resp.state = r.planned.clone();
    }
    async fn read(&self, _: &Ctx<'_, ()>, _: ReadRequest<'_>, _: &mut ReadResponse) {}
    async fn update(&self, _: &Ctx<'_, ()>, r: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        resp.state = r.planned.clone();
    }
    async fn delete(&self, _: &Ctx<'_, ()>, _: DeleteRequest<'_>, _: &mut DeleteResponse) {}
}

/// Serves `Tiny` with TLS pinned to `pinned`; returns the address and our certificate.
async fn start(
    pinned: &ClientIdentity,
) -> (
    std::net::SocketAddr,
    rustls::pki_types::CertificateDer<'static>,
    CancellationToken,
) {
    let identity = tls::generate_identity().unwrap();
    let config =
        tls::server_config(&identity, tls::parse_client_cert(&pinned.cert_pem).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let service = ProviderService::new(Tiny, CancellationToken::new()).unwrap();
    tokio::spawn(serve_on(
        listener,
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        service,
        shutdown.clone(),
    ));
    (addr, identity.cert, shutdown)
}

async fn schema_call(
    addr: std::net::SocketAddr,
    server: rustls::pki_types::CertificateDer<'static>,
    client: Option<&ClientIdentity>,
) -> Result<usize, String> {
    let channel = tokio::time::timeout(Duration::from_secs(5), connect(addr, Some(server), client))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let mut c = ProviderClient::new(channel);
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        c.get_provider_schema(get_provider_schema::Request {}),
    )
    .await
    .map_err(|_| "call timed out".to_owned())?
    .map_err(|e| format!("call: {e}"))?;
    Ok(r.into_inner().resource_schemas.len())
}

#[tokio::test]
async fn the_pinned_terraform_certificate_is_accepted() {
    let terraform = terraform_like_identity();
    let (addr, server, _stop) = start(&terraform).await;
    assert_eq!(schema_call(addr, server, Some(&terraform)).await, Ok(1));
}

#[tokio::test]
async fn another_client_certificate_is_refused() {
    let terraform = terraform_like_identity();
    let intruder = terraform_like_identity();
    let (addr, server, _stop) = start(&terraform).await;
    let err = schema_call(addr, server, Some(&intruder))
        .await
        .unwrap_err();
    assert!(!err.is_empty());
}

#[tokio::test]
async fn a_client_without_certificate_is_refused() {
    let terraform = terraform_like_identity();
    let (addr, server, _stop) = start(&terraform).await;
    assert!(schema_call(addr, server, None).await.is_err());
}

#[tokio::test]
async fn a_plaintext_client_is_refused() {
    let terraform = terraform_like_identity();
    let (addr, _server, _stop) = start(&terraform).await;
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        let channel = connect(addr, None, None).await.map_err(|e| e.to_string())?;
        ProviderClient::new(channel)
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    assert!(!matches!(outcome, Ok(Ok(()))), "plaintext call succeeded");
}
