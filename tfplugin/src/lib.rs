//! A small, domain-free SDK for Terraform providers that speak plugin
//! protocol 6 (Terraform 1.0+, OpenTofu).
//!
//! What it provides:
//! - [`server::main`]: the whole provider process — go-plugin handshake,
//!   AutoMTLS that pins Terraform's client certificate, the tfplugin6 and
//!   go-plugin gRPC services, Shutdown/StopProvider, `--debug` reattach mode.
//! - [`Value`] and [`Type`]: the cty value model (null, unknown with
//!   refinements, known; lossless numbers) with schema-driven msgpack and
//!   JSON codecs.
//! - [`Schema`], validators and plan modifiers as values, [`Diagnostics`]
//!   with attribute paths.
//! - The traits a provider implements: [`Provider`], [`Resource`],
//!   [`DataSource`], [`Function`], and the opt-in capabilities
//!   [`ValidateConfig`], [`ModifyPlan`], [`ImportState`], [`UpgradeState`].
//!   Every handler takes a request and a response that the server pre-fills
//!   with what Terraform keeps if the handler does nothing (see [`resource`]).
//!
//! Design decision: values are untyped trees and the schema's type drives
//! every encode and decode, as in Terraform's own cty library. msgpack cannot
//! tell a set from a list or an object from a map, and Terraform rejects an
//! object that lacks an attribute, so a serde-derived encoding cannot be
//! correct on its own; resources use serde only for their models, through
//! [`value::from_value`] / [`value::to_value`], which take the type.
//!
//! This crate knows nothing about any particular API: the generated protocol
//! types stay inside it.

#![deny(missing_docs)]

pub mod diag;
pub mod logging;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod server;
#[cfg(feature = "test-client")]
#[doc(hidden)]
pub mod testing;
pub mod timeouts;
pub mod types;
pub mod validate;
pub mod value;

/// Generated protocol code. Not part of the SDK's API; public only so the
/// SDK's own integration tests can act as Terraform.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod proto {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

pub use diag::{AttributePath, Diagnostic, Diagnostics};
pub use resource::{
    ConfigureRequest, ConfigureResponse, CreateRequest, CreateResponse, Ctx, DataSource,
    DataSourceReadRequest, DataSourceReadResponse, DeleteRequest, DeleteResponse, Function,
    FunctionDef, FunctionError, ImportRequest, ImportResponse, ImportState, ModifyPlan,
    ModifyPlanRequest, ModifyPlanResponse, Parameter, Private, Provider, ReadRequest, ReadResponse,
    Resource, UpdateRequest, UpdateResponse, UpgradeState, UpgradeStateRequest,
    UpgradeStateResponse, ValidateConfig, ValidateConfigRequest, ValidateConfigResponse,
};
pub use schema::{Attribute, Block, NestedBlock, ObjectNesting, Schema};
pub use types::Type;
pub use value::Value;

pub use async_trait::async_trait;
