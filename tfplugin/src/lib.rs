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
//!   [`DataSource`], [`Function`].
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
    ApplyResult, ConfigureRequest, CreateRequest, Ctx, DataSource, DeleteRequest, Function,
    FunctionDef, FunctionError, ImportResult, ModifyPlan, Parameter, Private, Provider,
    ReadRequest, ReadResult, Resource, UpdateRequest,
};
pub use schema::{Attribute, Block, NestedBlock, ObjectNesting, Schema};
pub use types::Type;
pub use value::Value;

pub use async_trait::async_trait;
