//! StopProvider cancels work in flight: a create that is still waiting
//! returns promptly, with its error, once Terraform asks to stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tfplugin::proto::tfplugin6::{self as pb, provider_server::Provider as _};
use tfplugin::server::ProviderService;
use tfplugin::value::to_msgpack;
use tfplugin::{
    Attribute, Block, ConfigureRequest, ConfigureResponse, CreateRequest, CreateResponse, Ctx,
    DeleteRequest, DeleteResponse, Provider, ReadRequest, ReadResponse, Resource, Schema,
    UpdateRequest, UpdateResponse, Value,
};
use tokio_util::sync::CancellationToken;

struct Slow;

#[tfplugin::async_trait]
impl Provider for Slow {
    type Client = ();
    fn type_name(&self) -> &'static str {
        "slow"
    }
    fn schema(&self) -> Schema {
        Schema::default()
    }
    async fn configure(&self, _: ConfigureRequest<'_>, resp: &mut ConfigureResponse<()>) {
        resp.client = Some(());
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        vec![Arc::new(Waiting)]
    }
}

struct Waiting;

fn schema() -> Schema {
    Schema::new(Block::new().attribute(Attribute::string("name").required()))
}

#[tfplugin::async_trait]
impl Resource<()> for Waiting {
    fn type_name(&self) -> &'static str {
        "slow_thing"
    }
    fn schema(&self) -> Schema {
        schema()
    }
    async fn create(&self, ctx: &Ctx<'_, ()>, r: CreateRequest<'_>, resp: &mut CreateResponse) {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => resp.state = r.planned.clone(),
            _ = ctx.cancel.cancelled() => {
                resp.diags.error("Stopped", "Terraform asked the provider to stop.");
            }
        }
    }
    async fn read(&self, _: &Ctx<'_, ()>, _: ReadRequest<'_>, _: &mut ReadResponse) {}
    async fn update(&self, _: &Ctx<'_, ()>, r: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        resp.state = r.planned.clone();
    }
    async fn delete(&self, _: &Ctx<'_, ()>, _: DeleteRequest<'_>, _: &mut DeleteResponse) {}
}

#[tokio::test]
async fn stop_provider_cancels_an_apply_in_flight() {
    let service = Arc::new(ProviderService::new(Slow, CancellationToken::new()).unwrap());
    let empty = to_msgpack(
        &Value::object::<[(&str, Value); 0], &str>([]),
        &Schema::default().value_type(),
    )
    .unwrap();
    service
        .configure_provider(tonic::Request::new(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(pb::DynamicValue {
                msgpack: empty,
                json: Vec::new(),
            }),
            client_capabilities: None,
        }))
        .await
        .unwrap();
    let planned = to_msgpack(
        &Value::object([("name", Value::from("x"))]),
        &schema().value_type(),
    )
    .unwrap();
    let null = to_msgpack(&Value::Null, &schema().value_type()).unwrap();
    let svc = service.clone();
    let started = Instant::now();
    let apply = tokio::spawn(async move {
        svc.apply_resource_change(tonic::Request::new(pb::apply_resource_change::Request {
            type_name: "slow_thing".into(),
            prior_state: Some(pb::DynamicValue {
                msgpack: null,
                json: Vec::new(),
            }),
            planned_state: Some(pb::DynamicValue {
                msgpack: planned.clone(),
                json: Vec::new(),
            }),
            config: Some(pb::DynamicValue {
                msgpack: planned,
                json: Vec::new(),
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stop = service
        .stop_provider(tonic::Request::new(pb::stop_provider::Request {}))
        .await
        .unwrap();
    assert_eq!(stop.into_inner().error, "");
    let out = tokio::time::timeout(Duration::from_secs(5), apply)
        .await
        .expect("apply returned")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].summary, "Stopped");
}
