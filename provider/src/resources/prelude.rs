//! What every resource module uses, in one import: the `tfplugin` types of
//! schemas and handlers, the resource contract, the shared helpers.

pub use std::time::Duration;

pub use serde::{Deserialize, Serialize};
pub use tfplugin::validate::{Each, Guid, NotBlank, OneOf};
pub use tfplugin::{
    Attribute, AttributePath, Block, CreateResponse, Ctx, DeleteResponse, Diagnostic, Diagnostics,
    ImportResponse, ModifyPlanRequest, ModifyPlanResponse, ObjectNesting, ReadResponse, Schema,
    Type, UpdateResponse, Value,
};

pub use super::common::*;
pub use super::{Change, Definition, Identity, MtoResource, Op, Outcome, Timeouts, Update};
pub use crate::Client;
pub use crate::diag::{self, OrDiag};
pub use crate::graph::{ReadMode, TenantApi, wait_until};
