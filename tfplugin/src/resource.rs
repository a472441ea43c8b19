//! The contracts a provider implements: [`Provider`], [`Resource`],
//! [`DataSource`] and [`Function`].
//!
//! The core resource trait has the four lifecycle methods plus schema and
//! read; everything else (import, cross-attribute validation, plan
//! adjustments, state upgrades) has a default that does nothing or refuses,
//! so a resource opts in to what it supports.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::Schema;
use crate::types::Type;
use crate::value::Value;

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

    pub fn to_bytes(&self) -> Vec<u8> {
        if self.0.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(&self.0).expect("a JSON map always serializes")
        }
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    pub fn set<T: Serialize>(&mut self, key: &str, value: T) {
        if let Ok(v) = serde_json::to_value(value) {
            self.0.insert(key.to_owned(), v);
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }
}

pub struct ReadRequest<'a> {
    pub state: &'a Value,
    pub private: Private,
}

pub struct ReadResult {
    /// `None`: the object no longer exists (Terraform will plan to create it).
    pub state: Option<Value>,
    pub private: Private,
    pub diags: Diagnostics,
}

impl ReadResult {
    pub fn found(state: Value, private: Private) -> ReadResult {
        ReadResult {
            state: Some(state),
            private,
            diags: Diagnostics::new(),
        }
    }

    pub fn gone() -> ReadResult {
        ReadResult {
            state: None,
            private: Private::default(),
            diags: Diagnostics::new(),
        }
    }

    /// Keeps the current state and reports the problem.
    pub fn failed(state: &Value, private: Private, diags: Diagnostics) -> ReadResult {
        ReadResult {
            state: Some(state.clone()),
            private,
            diags,
        }
    }
}

/// A plan after the schema rules ran, for the resource to refine.
pub struct ModifyPlan<'a> {
    /// Null when creating.
    pub prior: &'a Value,
    pub config: &'a Value,
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub private: Private,
    pub diags: Diagnostics,
}

pub struct CreateRequest<'a> {
    pub planned: &'a Value,
    pub config: &'a Value,
    pub private: Private,
}

pub struct UpdateRequest<'a> {
    pub prior: &'a Value,
    pub planned: &'a Value,
    pub config: &'a Value,
    pub private: Private,
}

pub struct DeleteRequest<'a> {
    pub prior: &'a Value,
    pub private: Private,
}

pub struct ApplyResult {
    /// The object as it now exists. On a failed create, return what was
    /// created so far (at least its id) with the error, or null if nothing
    /// was: Terraform records a partial object as tainted.
    pub state: Value,
    pub private: Private,
    pub diags: Diagnostics,
}

impl ApplyResult {
    pub fn ok(state: Value, private: Private) -> ApplyResult {
        ApplyResult {
            state,
            private,
            diags: Diagnostics::new(),
        }
    }

    pub fn err(state: Value, private: Private, diags: Diagnostics) -> ApplyResult {
        ApplyResult {
            state,
            private,
            diags,
        }
    }
}

pub struct ImportResult {
    /// Enough state for `read` to find the object; attributes left out are null.
    pub state: Value,
    pub private: Private,
    pub diags: Diagnostics,
}

/// A managed resource type.
#[async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync {
    /// The full type name, e.g. `mto_organization`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks that need several attributes at once. Per-attribute checks
    /// belong in the schema's validators. Values may be unknown.
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Adjusts a create or update plan after defaults, computed unknowns and
    /// plan modifiers were applied.
    async fn modify_plan(&self, _ctx: &Ctx<'_, C>, _plan: &mut ModifyPlan<'_>) {}

    async fn create(&self, ctx: &Ctx<'_, C>, req: CreateRequest<'_>) -> ApplyResult;
    async fn read(&self, ctx: &Ctx<'_, C>, req: ReadRequest<'_>) -> ReadResult;
    async fn update(&self, ctx: &Ctx<'_, C>, req: UpdateRequest<'_>) -> ApplyResult;
    async fn delete(&self, ctx: &Ctx<'_, C>, req: DeleteRequest<'_>) -> Diagnostics;

    /// Turns an import id into a state that `read` completes.
    async fn import(&self, _ctx: &Ctx<'_, C>, _id: &str) -> ImportResult {
        let mut diags = Diagnostics::new();
        diags.error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        );
        ImportResult {
            state: Value::Null,
            private: Private::default(),
            diags,
        }
    }

    /// Upgrades state stored by an older schema version (`version` <
    /// `schema().version`), given as JSON.
    fn upgrade_state(&self, version: i64, _raw_json: &[u8]) -> Result<Value, Diagnostics> {
        let mut diags = Diagnostics::new();
        diags.error(
            "Unsupported state version",
            format!(
                "{} has no upgrade from state version {version}.",
                self.type_name()
            ),
        );
        Err(diags)
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource<C: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Returns the whole data source object (config attributes included).
    async fn read(&self, ctx: &Ctx<'_, C>, config: &Value, diags: &mut Diagnostics) -> Value;
}

#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub ty: Type,
    pub allow_null: bool,
    pub allow_unknown: bool,
    /// Markdown.
    pub description: String,
}

impl Parameter {
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

#[derive(Clone, Debug)]
pub struct FunctionDef {
    pub parameters: Vec<Parameter>,
    pub variadic: Option<Parameter>,
    pub return_type: Type,
    pub summary: String,
    /// Markdown.
    pub description: String,
    pub deprecation_message: String,
}

/// A function error, optionally blaming one argument (zero-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<i64>,
}

impl FunctionError {
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
    fn name(&self) -> &'static str;
    fn definition(&self) -> FunctionDef;
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}

pub struct ConfigureRequest<'a> {
    /// May contain unknowns when it depends on resources not yet created.
    pub config: &'a Value,
    pub terraform_version: &'a str,
}

/// A provider: its configuration and what it offers.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What `configure` builds and every resource call receives.
    type Client: Send + Sync + 'static;

    /// The provider's type name: resource types start with `<name>_`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn configure(
        &self,
        req: ConfigureRequest<'_>,
        diags: &mut Diagnostics,
    ) -> Option<Self::Client>;
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Client>>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Client>>> {
        Vec::new()
    }
    fn functions(&self) -> Vec<Arc<dyn Function>> {
        Vec::new()
    }
}
