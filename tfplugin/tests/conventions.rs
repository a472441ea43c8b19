//! The request/response convention, through the gRPC service: responses are
//! pre-filled with what Terraform keeps when a handler does nothing or
//! fails, and capabilities a resource does not opt in to are refused.

use std::sync::Arc;

use serde::Serialize;
use tfplugin::proto::tfplugin6::{self as pb, provider_server::Provider as _};
use tfplugin::server::{ProviderService, check_provider};
use tfplugin::value::{from_msgpack, to_msgpack};
use tfplugin::{
    Attribute, Block, ConfigureRequest, ConfigureResponse, CreateRequest, CreateResponse, Ctx,
    DataSource, DataSourceReadRequest, DataSourceReadResponse, DeleteRequest, DeleteResponse,
    ImportRequest, ImportResponse, ImportState, Private, Provider, ReadRequest, ReadResponse,
    Resource, Schema, Type, UpdateRequest, UpdateResponse, UpgradeState, UpgradeStateRequest,
    UpgradeStateResponse, Value,
};
use tokio_util::sync::CancellationToken;

/// What the test resources do is chosen by their `name`.
struct Thing;

/// A resource without an importer, at schema `version`, with a state
/// upgrader when `upgrades`.
struct Basic {
    name: &'static str,
    version: i64,
    upgrades: bool,
}

struct Echo;

fn schema() -> Schema {
    Schema::new(
        Block::new()
            .attribute(Attribute::string("id").computed())
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("note").computed()),
    )
}

fn ty() -> Type {
    schema().value_type()
}

#[derive(Serialize)]
struct Model<'a> {
    id: &'a str,
    name: &'a str,
    note: &'a str,
}

#[tfplugin::async_trait]
impl Resource<()> for Thing {
    fn type_name(&self) -> &'static str {
        "t_thing"
    }
    fn schema(&self) -> Schema {
        schema()
    }
    async fn create(&self, _: &Ctx<'_, ()>, r: CreateRequest<'_>, resp: &mut CreateResponse) {
        match r.planned.get("name").as_str() {
            Some("partial") => {
                // Created, then failed: "note" is still unknown.
                let mut state = r.planned.clone();
                state.set("id", "p1".into());
                resp.state = state;
                resp.diags
                    .error("Half done", "The object exists but is not ready.");
            }
            Some("nothing") => resp.diags.error("Refused", "Nothing was created."),
            name => {
                resp.private.set("created", true);
                resp.set_state(&Model {
                    id: "c1",
                    name: name.unwrap_or_default(),
                    note: "new",
                });
            }
        }
    }
    async fn read(&self, _: &Ctx<'_, ()>, r: ReadRequest<'_>, resp: &mut ReadResponse) {
        match r.state.get("name").as_str() {
            Some("gone") => resp.remove(),
            Some("idle") => {}
            _ => resp.state.set("note", "refreshed".into()),
        }
    }
    async fn update(&self, _: &Ctx<'_, ()>, r: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        if r.planned.get("name").as_str() == Some("fail") {
            resp.private.set("attempted", true);
            resp.diags.error("Update failed", "Nothing changed.");
            return;
        }
        let mut state = r.planned.clone();
        state.fill_unknowns_from(r.prior);
        resp.state = state;
    }
    async fn delete(&self, _: &Ctx<'_, ()>, r: DeleteRequest<'_>, resp: &mut DeleteResponse) {
        if r.prior.get("name").as_str() == Some("stuck") {
            resp.diags.error("Delete failed", "Still there.");
        }
    }
    fn importer(&self) -> Option<&dyn ImportState<()>> {
        Some(self)
    }
}

#[tfplugin::async_trait]
impl ImportState<()> for Thing {
    async fn import_state(&self, _: &Ctx<'_, ()>, r: ImportRequest<'_>, resp: &mut ImportResponse) {
        let mut state = resp.null_state();
        state.set("id", r.id.into());
        resp.state = state;
    }
}

#[tfplugin::async_trait]
impl Resource<()> for Basic {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn schema(&self) -> Schema {
        schema().version(self.version)
    }
    async fn create(&self, _: &Ctx<'_, ()>, r: CreateRequest<'_>, resp: &mut CreateResponse) {
        resp.state = r.planned.clone();
    }
    async fn read(&self, _: &Ctx<'_, ()>, _: ReadRequest<'_>, _: &mut ReadResponse) {}
    async fn update(&self, _: &Ctx<'_, ()>, r: UpdateRequest<'_>, resp: &mut UpdateResponse) {
        resp.state = r.planned.clone();
    }
    async fn delete(&self, _: &Ctx<'_, ()>, _: DeleteRequest<'_>, _: &mut DeleteResponse) {}
    fn state_upgrader(&self) -> Option<&dyn UpgradeState> {
        self.upgrades.then_some(self as &dyn UpgradeState)
    }
}

#[tfplugin::async_trait]
impl UpgradeState for Basic {
    async fn upgrade_state(&self, r: UpgradeStateRequest<'_>, resp: &mut UpgradeStateResponse) {
        // Version 0 called the name "title".
        let old: serde_json::Value = serde_json::from_slice(r.raw_json).unwrap();
        resp.set_state(&Model {
            id: old["id"].as_str().unwrap_or_default(),
            name: old["title"].as_str().unwrap_or_default(),
            note: "upgraded",
        });
    }
}

#[tfplugin::async_trait]
impl DataSource<()> for Echo {
    fn type_name(&self) -> &'static str {
        "t_echo"
    }
    fn schema(&self) -> Schema {
        schema()
    }
    async fn read(
        &self,
        _: &Ctx<'_, ()>,
        _: DataSourceReadRequest<'_>,
        resp: &mut DataSourceReadResponse,
    ) {
        resp.state.set("id", "e1".into());
        resp.state.set("note", "echo".into());
    }
}

struct Test {
    versioned: Option<bool>,
}

#[tfplugin::async_trait]
impl Provider for Test {
    type Client = ();
    fn type_name(&self) -> &'static str {
        "t"
    }
    fn schema(&self) -> Schema {
        Schema::default()
    }
    async fn configure(&self, _: ConfigureRequest<'_>, resp: &mut ConfigureResponse<()>) {
        resp.client = Some(());
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        let plain = Basic {
            name: "t_plain",
            version: 0,
            upgrades: false,
        };
        let mut r: Vec<Arc<dyn Resource<()>>> = vec![Arc::new(Thing), Arc::new(plain)];
        if let Some(upgrades) = self.versioned {
            r.push(Arc::new(Basic {
                name: "t_versioned",
                version: 1,
                upgrades,
            }));
        }
        r
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        vec![Arc::new(Echo)]
    }
}

fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: to_msgpack(v, ty).unwrap(),
        json: Vec::new(),
    })
}

fn value(d: Option<pb::DynamicValue>) -> Value {
    from_msgpack(&d.expect("a value").msgpack, &ty()).unwrap()
}

fn obj(id: Value, name: &str, note: Value) -> Value {
    Value::object([("id", id), ("name", name.into()), ("note", note)])
}

async fn service() -> ProviderService<Test> {
    let s = ProviderService::new(
        Test {
            versioned: Some(true),
        },
        CancellationToken::new(),
    )
    .unwrap();
    let empty = Value::object::<[(&str, Value); 0], &str>([]);
    s.configure_provider(tonic::Request::new(pb::configure_provider::Request {
        terraform_version: "1.11.4".into(),
        config: dv(&empty, &Schema::default().value_type()),
        client_capabilities: None,
    }))
    .await
    .unwrap();
    s
}

async fn read(
    s: &ProviderService<Test>,
    state: &Value,
    private: &Private,
) -> pb::read_resource::Response {
    s.read_resource(tonic::Request::new(pb::read_resource::Request {
        type_name: "t_thing".into(),
        current_state: dv(state, &ty()),
        private: private.to_bytes(),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn apply(
    s: &ProviderService<Test>,
    prior: &Value,
    planned: &Value,
    private: &Private,
) -> pb::apply_resource_change::Response {
    s.apply_resource_change(tonic::Request::new(pb::apply_resource_change::Request {
        type_name: "t_thing".into(),
        prior_state: dv(prior, &ty()),
        planned_state: dv(planned, &ty()),
        config: dv(&planned.clone(), &ty()),
        planned_private: private.to_bytes(),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

fn stored() -> Private {
    let mut p = Private::default();
    p.set("created", true);
    p
}

#[tokio::test]
async fn a_read_that_does_nothing_keeps_state_and_private_data() {
    let s = service().await;
    let state = obj("i".into(), "idle", "n".into());
    let out = read(&s, &state, &stored()).await;
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(value(out.new_state), state);
    assert_eq!(Private::from_bytes(&out.private), stored());
}

#[tokio::test]
async fn a_read_amends_the_prefilled_state() {
    let s = service().await;
    let out = read(&s, &obj("i".into(), "x", "n".into()), &stored()).await;
    assert_eq!(
        value(out.new_state),
        obj("i".into(), "x", "refreshed".into())
    );
}

#[tokio::test]
async fn remove_takes_the_object_and_its_private_data_out_of_state() {
    let s = service().await;
    let out = read(&s, &obj("i".into(), "gone", "n".into()), &stored()).await;
    assert!(out.diagnostics.is_empty());
    assert!(out.new_state.is_none());
    assert!(out.private.is_empty());
}

#[tokio::test]
async fn a_create_stores_a_typed_model_and_private_data() {
    let s = service().await;
    let planned = obj(Value::unknown(), "ok", Value::unknown());
    let out = apply(&s, &Value::Null, &planned, &Private::default()).await;
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(value(out.new_state), obj("c1".into(), "ok", "new".into()));
    assert_eq!(Private::from_bytes(&out.private), stored());
}

#[tokio::test]
async fn a_create_that_fails_after_setting_a_partial_state_keeps_it() {
    let s = service().await;
    let planned = obj(Value::unknown(), "partial", Value::unknown());
    let out = apply(&s, &Value::Null, &planned, &Private::default()).await;
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].summary, "Half done");
    // Kept for Terraform to taint, with the unknown cleared.
    assert_eq!(
        value(out.new_state),
        obj("p1".into(), "partial", Value::Null)
    );
}

#[tokio::test]
async fn a_create_that_fails_without_setting_state_leaves_nothing() {
    let s = service().await;
    let planned = obj(Value::unknown(), "nothing", Value::unknown());
    let out = apply(&s, &Value::Null, &planned, &Private::default()).await;
    assert_eq!(out.diagnostics[0].summary, "Refused");
    assert!(value(out.new_state).is_null());
}

#[tokio::test]
async fn an_update_that_fails_keeps_the_prior_state() {
    let s = service().await;
    let prior = obj("i".into(), "before", "n".into());
    let planned = obj("i".into(), "fail", Value::unknown());
    let out = apply(&s, &prior, &planned, &stored()).await;
    assert_eq!(out.diagnostics[0].summary, "Update failed");
    assert_eq!(value(out.new_state), prior);
    let private = Private::from_bytes(&out.private);
    assert_eq!(private.get::<bool>("created"), Some(true));
    assert_eq!(private.get::<bool>("attempted"), Some(true));
}

#[tokio::test]
async fn an_update_completes_the_plan_from_the_prior_state() {
    let s = service().await;
    let prior = obj("i".into(), "before", "n".into());
    let planned = obj("i".into(), "after", Value::unknown());
    let out = apply(&s, &prior, &planned, &stored()).await;
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(value(out.new_state), obj("i".into(), "after", "n".into()));
}

#[tokio::test]
async fn a_delete_that_fails_keeps_the_object_and_its_private_data() {
    let s = service().await;
    let prior = obj("i".into(), "stuck", "n".into());
    let out = apply(&s, &prior, &Value::Null, &stored()).await;
    assert_eq!(out.diagnostics[0].summary, "Delete failed");
    assert_eq!(value(out.new_state), prior);
    assert_eq!(Private::from_bytes(&out.private), stored());

    let out = apply(
        &s,
        &obj("i".into(), "x", "n".into()),
        &Value::Null,
        &stored(),
    )
    .await;
    assert!(out.diagnostics.is_empty());
    assert!(value(out.new_state).is_null());
}

async fn import(s: &ProviderService<Test>, type_name: &str) -> pb::import_resource_state::Response {
    s.import_resource_state(tonic::Request::new(pb::import_resource_state::Request {
        type_name: type_name.into(),
        id: "abc".into(),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test]
async fn a_resource_without_an_importer_cannot_be_imported() {
    let s = service().await;
    let out = import(&s, "t_plain").await;
    assert!(out.imported_resources.is_empty());
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].summary, "Import not supported");
    assert_eq!(out.diagnostics[0].detail, "t_plain cannot be imported.");

    let out = import(&s, "t_thing").await;
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(
        value(out.imported_resources[0].state.clone()),
        Value::object([
            ("id", Value::from("abc")),
            ("name", Value::Null),
            ("note", Value::Null)
        ])
    );
}

#[tokio::test]
async fn a_state_upgrader_turns_old_state_into_the_current_shape() {
    let s = service().await;
    let out = s
        .upgrade_resource_state(tonic::Request::new(pb::upgrade_resource_state::Request {
            type_name: "t_versioned".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: br#"{"id":"i","title":"old"}"#.to_vec(),
                flatmap: Default::default(),
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(
        value(out.upgraded_state),
        obj("i".into(), "old", "upgraded".into())
    );
}

#[test]
fn a_schema_version_without_an_upgrader_is_a_definition_error() {
    let errors = check_provider(&Test {
        versioned: Some(false),
    });
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("t_versioned: schema version 1 needs a state upgrader"));
    assert!(check_provider(&Test { versioned: None }).is_empty());
    assert!(
        check_provider(&Test {
            versioned: Some(true)
        })
        .is_empty()
    );
}

#[tokio::test]
async fn a_data_source_read_starts_from_its_configuration() {
    let s = service().await;
    let config = obj(Value::Null, "n", Value::Null);
    let out = s
        .read_data_source(tonic::Request::new(pb::read_data_source::Request {
            type_name: "t_echo".into(),
            config: dv(&config, &ty()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(value(out.state), obj("e1".into(), "n", "echo".into()));
}
