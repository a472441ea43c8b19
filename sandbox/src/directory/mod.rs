//! The directory domain: the rules of the Graph objects that the HTTP routes, the MTO job worker
//! ([`crate::jobs`]), the synchronization engine ([`crate::sync`]) and the seed share.
//!
//! - [`users`]: the user document, creation and update, soft delete and restore;
//! - [`groups`]: the group document and its direct members;
//! - [`mto`]: the multi-tenant organization — limits, membership changes and the queued work the
//!   job worker applies when it comes due;
//! - [`policy`]: cross-tenant access policy documents, their PATCH semantics, and the partner
//!   configuration an MTO join generates;
//! - [`apps`]: the cross-tenant synchronization configuration app and its app role assignments.
//!
//! Design decision: functions are synchronous and take a lent [`crate::store::Conn`], so the
//! caller picks the transaction and one transaction can combine several of them (a join touches
//! every member tenant). A broken Graph rule is an [`ApiError`] (the emulated error); functions
//! that can only fail in the store return [`crate::store::StoreError`]. Routes parse the request,
//! check the caller's permission, run these in `Store::read_with` / `Store::write_with` and encode
//! the answer (`$select`, `@odata` annotations); nothing here knows HTTP. Dependencies point one
//! way: routes → directory → store.

pub mod apps;
pub mod groups;
pub mod mto;
pub mod policy;
pub mod users;

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Reject properties that are not in `allowed` (keys starting with `@odata.` are ignored).
pub fn check_properties(
    body: &Map<String, Value>,
    allowed: &[&str],
    type_name: &str,
) -> Result<(), ApiError> {
    for k in body.keys() {
        if k.starts_with("@odata.") {
            continue;
        }
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property on type 'microsoft.graph.{type_name}'."
            )));
        }
    }
    Ok(())
}
