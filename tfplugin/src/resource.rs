//! The contracts a provider implements: [`Provider`], [`Resource`],
//! [`DataSource`] and [`Function`].
//!
//! One convention for every RPC, as in terraform-plugin-framework: a handler
//! gets a request (borrowed inputs) and a response that the server has
//! already filled in with what Terraform should keep if the handler does
//! nothing or fails (the prior state, the private data), plus empty
//! [`Diagnostics`]. The handler amends the response and returns.
//!
//! ```text
//! async fn read(&self, ctx: &Ctx<'_, C>, req: ReadRequest<'_>, resp: &mut ReadResponse)
//! ```
//!
//! Values in requests are read with [`crate::value::from_value`] (into a
//! serde model) or directly; responses take a model with `set_state`.
//!
//! The core [`Resource`] trait has the six required methods. Everything else
//! is a separate one-method trait that a resource opts in to by returning
//! `Some(self)` from the matching accessor: [`ValidateConfig`],
//! [`ModifyPlan`], [`ImportState`], [`UpgradeState`]. A resource without an
//! importer is thus visible in its `impl` block.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::Schema;
use crate::types::Type;
use crate::value::{self, Value};

/// What every call of a configured provider gets.
pub struct Ctx<'a, C> {
    /// The value `Provider::configure` returned.
    pub client: &'a C,
    /// Cancelled when Terraform asks the provider to stop (Ctrl-C):
    /// long waits should select on it and return promptly.
    pub cancel: &'a CancellationToken,
}

/// Provider-private data kept in state beside a resource instance, invisible
/// to users (for example "we created this object, so we may delete it").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Private(serde_json::Map<String, serde_json::Value>);

impl Private {
    /// Unreadable bytes (written by some other provider version) read as empty.
    pub fn from_bytes(bytes: &[u8]) -> Private {
        if bytes.is_empty() {
            return Private::default();
        }
        serde_json::from_slice(bytes)
            .map(Private)
            .unwrap_or_default()
    }

    /// The wire form: a JSON object, or nothing at all when empty.
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.0.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(&self.0).expect("a JSON map always serializes")
        }
    }

    /// The value under `key`, if present and of type `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Stores `value` under `key` (values that do not serialize are skipped).
    pub fn set<T: Serialize>(&mut self, key: &str, value: T) {
        if let Ok(v) = serde_json::to_value(value) {
            self.0.insert(key.to_owned(), v);
        }
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }
}

/// `set_state` for the responses that carry a state (`state`, `diags` and
/// the value type `ty`).
macro_rules! typed_state {
    ($($response:ty),*) => {$(
        impl $response {
            /// Replaces the state with a serde model of the resource (or
            /// data source). A model that does not fit the schema is the
            /// provider's bug: an error diagnostic, and the state stays.
            pub fn set_state<T: Serialize>(&mut self, model: &T) {
                if let Some(v) = self.diags.take_err(value::to_value(model, &self.ty)) {
                    self.state = v;
                }
            }
        }
    )*};
}

typed_state!(
    ReadResponse,
    CreateResponse,
    UpdateResponse,
    ImportResponse,
    UpgradeStateResponse,
    DataSourceReadResponse
);

// ---------------------------------------------------------------------------
// Resources

/// ReadResource: refresh one object from the remote system.
pub struct ReadRequest<'a> {
    /// The state as last stored (never null).
    pub state: &'a Value,
    /// The private data stored with it.
    pub private: &'a Private,
}

/// What a read leaves in state.
pub struct ReadResponse {
    /// Pre-filled with the prior state: a read that fails or changes nothing
    /// keeps it. Must be wholly known.
    pub state: Value,
    /// Pre-filled with the stored private data.
    pub private: Private,
    /// Empty on entry; errors are shown to the user.
    pub diags: Diagnostics,
    ty: Arc<Type>,
}

impl ReadResponse {
    /// The response the server hands a read: the prior state and private
    /// data of a resource whose values have type `ty`.
    pub fn new(state: Value, private: Private, ty: Arc<Type>) -> ReadResponse {
        ReadResponse {
            state,
            private,
            diags: Diagnostics::new(),
            ty,
        }
    }

    /// The object no longer exists: it leaves state (with its private data)
    /// and Terraform plans to create it again.
    pub fn remove(&mut self) {
        self.state = Value::Null;
        self.private = Private::default();
    }

    /// Whether [`ReadResponse::remove`] was called (the state is null).
    pub fn is_removed(&self) -> bool {
        self.state.is_null()
    }
}

/// ApplyResourceChange for a new object.
pub struct CreateRequest<'a> {
    /// The plan (may hold unknowns for computed attributes).
    pub planned: &'a Value,
    /// The configuration (may hold nulls where the plan has defaults).
    pub config: &'a Value,
    /// The private data the plan produced.
    pub private: &'a Private,
}

/// What a create leaves in state.
pub struct CreateResponse {
    /// Pre-filled with null (nothing exists yet). On success it must be the
    /// whole object, wholly known. On failure, set what was created so far
    /// (at least its id): Terraform records it as tainted (unknowns cleared);
    /// leave it null when nothing was created.
    pub state: Value,
    /// Pre-filled with the planned private data.
    pub private: Private,
    /// Empty on entry; an error marks the create as failed.
    pub diags: Diagnostics,
    ty: Arc<Type>,
}

impl CreateResponse {
    /// The response the server hands a create: no state yet, the planned
    /// private data, values of type `ty`.
    pub fn new(private: Private, ty: Arc<Type>) -> CreateResponse {
        CreateResponse {
            state: Value::Null,
            private,
            diags: Diagnostics::new(),
            ty,
        }
    }
}

/// ApplyResourceChange for an existing object that stays.
pub struct UpdateRequest<'a> {
    /// The state before the update.
    pub prior: &'a Value,
    /// The plan (may hold unknowns for computed attributes).
    pub planned: &'a Value,
    /// The configuration.
    pub config: &'a Value,
    /// The private data the plan produced.
    pub private: &'a Private,
}

/// What an update leaves in state.
pub struct UpdateResponse {
    /// Pre-filled with the prior state, so a failure keeps it. On success it
    /// must be the updated object, wholly known
    /// ([`Value::fill_unknowns_from`] completes a plan from the prior state).
    pub state: Value,
    /// Pre-filled with the planned private data.
    pub private: Private,
    /// Empty on entry; an error marks the update as failed.
    pub diags: Diagnostics,
    ty: Arc<Type>,
}

impl UpdateResponse {
    /// The response the server hands an update: the prior state, the
    /// planned private data, values of type `ty`.
    pub fn new(prior: Value, private: Private, ty: Arc<Type>) -> UpdateResponse {
        UpdateResponse {
            state: prior,
            private,
            diags: Diagnostics::new(),
            ty,
        }
    }
}

/// ApplyResourceChange for an object to destroy.
pub struct DeleteRequest<'a> {
    /// The state of the object.
    pub prior: &'a Value,
    /// Its private data.
    pub private: &'a Private,
}

/// The outcome of a delete: no error means the object leaves state.
pub struct DeleteResponse {
    /// Pre-filled with the private data; kept, with the object, when the
    /// delete fails.
    pub private: Private,
    /// Empty on entry; an error keeps the object in state.
    pub diags: Diagnostics,
}

impl DeleteResponse {
    /// The response the server hands a delete.
    pub fn new(private: Private) -> DeleteResponse {
        DeleteResponse {
            private,
            diags: Diagnostics::new(),
        }
    }
}

/// The core of a managed resource type: schema and lifecycle. Optional
/// capabilities are separate traits returned by the accessors below.
#[async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync {
    /// The full type name, `<provider>_<name>`.
    fn type_name(&self) -> &'static str;
    /// The schema of the resource's configuration and state.
    fn schema(&self) -> Schema;

    /// Creates the object; see [`CreateResponse`] for what to leave.
    async fn create(&self, ctx: &Ctx<'_, C>, req: CreateRequest<'_>, resp: &mut CreateResponse);
    /// Refreshes the object; see [`ReadResponse`].
    async fn read(&self, ctx: &Ctx<'_, C>, req: ReadRequest<'_>, resp: &mut ReadResponse);
    /// Changes the object in place; see [`UpdateResponse`].
    async fn update(&self, ctx: &Ctx<'_, C>, req: UpdateRequest<'_>, resp: &mut UpdateResponse);
    /// Destroys the object; see [`DeleteResponse`].
    async fn delete(&self, ctx: &Ctx<'_, C>, req: DeleteRequest<'_>, resp: &mut DeleteResponse);

    /// Checks across attributes, beyond the schema's validators.
    fn config_validator(&self) -> Option<&dyn ValidateConfig> {
        None
    }
    /// Adjustments to plans, after the schema's rules.
    fn plan_modifier(&self) -> Option<&dyn ModifyPlan<C>> {
        None
    }
    /// `terraform import` support; `None` refuses imports.
    fn importer(&self) -> Option<&dyn ImportState<C>> {
        None
    }
    /// Upgrades of state stored by older schema versions; needed when
    /// `schema().version > 0`.
    fn state_upgrader(&self) -> Option<&dyn UpgradeState> {
        None
    }
}

/// ValidateResourceConfig / ValidateDataResourceConfig /
/// ValidateProviderConfig: the configuration to check.
pub struct ValidateConfigRequest<'a> {
    /// The configuration; any value in it may be unknown.
    pub config: &'a Value,
}

/// Problems found in a configuration.
#[derive(Default)]
pub struct ValidateConfigResponse {
    /// Empty on entry.
    pub diags: Diagnostics,
}

/// Checks that need several attributes at once (per-attribute checks belong
/// in the schema's validators). Runs without a configured provider.
#[async_trait]
pub trait ValidateConfig: Send + Sync {
    /// Adds a diagnostic for each problem in `req.config`.
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    );
}

/// PlanResourceChange: a create, an update or a destroy.
pub struct ModifyPlanRequest<'a> {
    /// The state before the change; null when creating.
    pub prior: &'a Value,
    /// The configuration (may hold unknowns); null when destroying.
    pub config: &'a Value,
    /// Terraform's proposed new state, before the schema's rules ran; null
    /// when destroying.
    pub proposed: &'a Value,
}

impl ModifyPlanRequest<'_> {
    /// Whether this plan destroys the object. The planned value must then
    /// stay null; a modifier may only add diagnostics (warnings about what the
    /// destroy removes) and private data.
    pub fn is_destroy(&self) -> bool {
        self.proposed.is_null()
    }
}

/// The plan being built.
pub struct ModifyPlanResponse {
    /// Pre-filled with the plan after the schema's rules (defaults, computed
    /// unknowns, attribute plan modifiers).
    pub planned: Value,
    /// Pre-filled with the attributes whose change replaces the resource.
    pub requires_replace: Vec<AttributePath>,
    /// Pre-filled with the prior private data; carried to apply.
    pub private: Private,
    /// Pre-filled with the attribute plan modifiers' diagnostics.
    pub diags: Diagnostics,
}

/// Refines a plan after the schema's rules: cross-attribute defaults,
/// checks that need the configured client.
#[async_trait]
pub trait ModifyPlan<C: Send + Sync + 'static>: Send + Sync {
    /// Amends `resp.planned` (and the other fields) for this change.
    async fn modify_plan(
        &self,
        ctx: &Ctx<'_, C>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    );
}

/// ImportResourceState: the user's import id.
pub struct ImportRequest<'a> {
    /// What the user gave to `terraform import` or an `import` block.
    pub id: &'a str,
}

/// The imported object, for a read to complete.
pub struct ImportResponse {
    /// Pre-filled with null; set enough state for `read` to find the object
    /// (attributes left null are filled by the read that follows).
    pub state: Value,
    /// Pre-filled empty; stored with the imported object.
    pub private: Private,
    /// Empty on entry; an error refuses the import.
    pub diags: Diagnostics,
    ty: Arc<Type>,
}

impl ImportResponse {
    /// The response the server hands an import, for values of type `ty`.
    pub fn new(ty: Arc<Type>) -> ImportResponse {
        ImportResponse {
            state: Value::Null,
            private: Private::default(),
            diags: Diagnostics::new(),
            ty,
        }
    }

    /// A null-filled object of the resource's type, to set attributes on.
    pub fn null_state(&self) -> Value {
        Value::null_object(&self.ty)
    }
}

/// Turns an import id into a state that `read` completes.
#[async_trait]
pub trait ImportState<C: Send + Sync + 'static>: Send + Sync {
    /// Sets `resp.state` from `req.id`, or reports why the id is wrong.
    async fn import_state(
        &self,
        ctx: &Ctx<'_, C>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    );
}

/// UpgradeResourceState from an older schema version.
pub struct UpgradeStateRequest<'a> {
    /// The schema version the state was written with (less than the
    /// current one).
    pub version: i64,
    /// The stored state, as JSON.
    pub raw_json: &'a [u8],
}

/// The state in the current schema's shape.
pub struct UpgradeStateResponse {
    /// Pre-filled with null; must be set unless an error is reported.
    pub state: Value,
    /// Empty on entry.
    pub diags: Diagnostics,
    ty: Arc<Type>,
}

impl UpgradeStateResponse {
    /// The response the server hands an upgrade, for values of type `ty`
    /// (the current schema's).
    pub fn new(ty: Arc<Type>) -> UpgradeStateResponse {
        UpgradeStateResponse {
            state: Value::Null,
            diags: Diagnostics::new(),
            ty,
        }
    }
}

/// Upgrades state stored by an older schema version. Runs without a
/// configured provider.
#[async_trait]
pub trait UpgradeState: Send + Sync {
    /// Sets `resp.state` from `req.raw_json` written at `req.version`.
    async fn upgrade_state(&self, req: UpgradeStateRequest<'_>, resp: &mut UpgradeStateResponse);
}

// ---------------------------------------------------------------------------
// Data sources

/// ReadDataSource: the data source's configuration.
pub struct DataSourceReadRequest<'a> {
    /// The configuration (wholly known).
    pub config: &'a Value,
}

/// The data source's result.
pub struct DataSourceReadResponse {
    /// Pre-filled with the configuration; set the computed attributes. Must
    /// be wholly known. Ignored when an error is reported.
    pub state: Value,
    /// Empty on entry.
    pub diags: Diagnostics,
    ty: Arc<Type>,
}

impl DataSourceReadResponse {
    /// The response the server hands a data source read: the configuration,
    /// for values of type `ty`.
    pub fn new(config: Value, ty: Arc<Type>) -> DataSourceReadResponse {
        DataSourceReadResponse {
            state: config,
            diags: Diagnostics::new(),
            ty,
        }
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource<C: Send + Sync + 'static>: Send + Sync {
    /// The full type name, `<provider>_<name>`.
    fn type_name(&self) -> &'static str;
    /// The schema of the data source's configuration and result.
    fn schema(&self) -> Schema;
    /// Reads the data; see [`DataSourceReadResponse`].
    async fn read(
        &self,
        ctx: &Ctx<'_, C>,
        req: DataSourceReadRequest<'_>,
        resp: &mut DataSourceReadResponse,
    );
    /// Checks across attributes, beyond the schema's validators.
    fn config_validator(&self) -> Option<&dyn ValidateConfig> {
        None
    }
}

// ---------------------------------------------------------------------------
// Functions

/// One parameter of a provider function.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Shown in documentation and error messages.
    pub name: String,
    /// The argument's type.
    pub ty: Type,
    /// Whether null may be passed.
    pub allow_null: bool,
    /// Whether an unknown may be passed (otherwise Terraform waits).
    pub allow_unknown: bool,
    /// Markdown.
    pub description: String,
}

impl Parameter {
    /// A required parameter: neither null nor unknown.
    pub fn new(name: impl Into<String>, ty: Type, description: impl Into<String>) -> Parameter {
        Parameter {
            name: name.into(),
            ty,
            allow_null: false,
            allow_unknown: false,
            description: description.into(),
        }
    }
}

/// A provider function's signature and documentation.
#[derive(Clone, Debug)]
pub struct FunctionDef {
    /// Positional parameters.
    pub parameters: Vec<Parameter>,
    /// Any further arguments, all of this kind.
    pub variadic: Option<Parameter>,
    /// The result's type.
    pub return_type: Type,
    /// One line.
    pub summary: String,
    /// Markdown.
    pub description: String,
    /// Non-empty when the function is deprecated.
    pub deprecation_message: String,
}

/// A function error, optionally blaming one argument (zero-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    /// What is wrong, shown to the user.
    pub text: String,
    /// The argument at fault, if one is.
    pub argument: Option<i64>,
}

impl FunctionError {
    /// An error blaming argument `index`.
    pub fn argument(index: i64, text: impl Into<String>) -> FunctionError {
        FunctionError {
            text: text.into(),
            argument: Some(index),
        }
    }
}

/// A provider function, called as `provider::<name>::<function>(...)`.
/// Runs on an unconfigured provider and must be deterministic.
pub trait Function: Send + Sync {
    /// The function's name (after `provider::<name>::`).
    fn name(&self) -> &'static str;
    /// Its signature.
    fn definition(&self) -> FunctionDef;
    /// Evaluates it on arguments that match the signature.
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}

// ---------------------------------------------------------------------------
// The provider

/// ConfigureProvider: the provider block.
pub struct ConfigureRequest<'a> {
    /// May contain unknowns when it depends on resources not yet created.
    pub config: &'a Value,
    /// The Terraform CLI version calling.
    pub terraform_version: &'a str,
}

/// The configured client, or why there is none.
pub struct ConfigureResponse<C> {
    /// Set on success; every later call receives it. Ignored when an error
    /// is reported.
    pub client: Option<C>,
    /// Empty on entry.
    pub diags: Diagnostics,
}

impl<C> Default for ConfigureResponse<C> {
    fn default() -> ConfigureResponse<C> {
        ConfigureResponse {
            client: None,
            diags: Diagnostics::new(),
        }
    }
}

/// A provider: its configuration and what it offers.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What `configure` builds and every resource call receives.
    type Client: Send + Sync + 'static;

    /// The provider's type name: resource types start with `<name>_`.
    fn type_name(&self) -> &'static str;
    /// The schema of the provider block.
    fn schema(&self) -> Schema;
    /// Checks of the provider block across attributes.
    fn config_validator(&self) -> Option<&dyn ValidateConfig> {
        None
    }
    /// Builds the client from the provider block.
    async fn configure(
        &self,
        req: ConfigureRequest<'_>,
        resp: &mut ConfigureResponse<Self::Client>,
    );
    /// The managed resource types.
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Client>>>;
    /// The data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Client>>> {
        Vec::new()
    }
    /// The provider functions.
    fn functions(&self) -> Vec<Arc<dyn Function>> {
        Vec::new()
    }
}
