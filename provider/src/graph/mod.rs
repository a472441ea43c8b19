//! A typed Microsoft Graph client for several tenants at once.
//!
//! Two layers:
//! - [`client`]: the HTTP machinery. A token per tenant (client
//!   credentials) cached until shortly before it expires; bounded retries
//!   (429 and 503/504 honour `Retry-After`, other transient failures back
//!   off with jitter, everything stops at the operation's deadline or when
//!   Terraform cancels); `@odata.nextLink` paging that refuses links leaving
//!   the Graph endpoint; concurrent GETs of a tenant coalesced into `$batch`
//!   requests of up to 20.
//! - The services, one module per Graph area, on the per-tenant
//!   [`TenantApi`]: [`mto`] (the organization, its tenants, the join
//!   request), [`templates`] (the organization's policy templates),
//!   [`partners`] (cross-tenant access
//!   partner configurations and their identity synchronization), [`apps`]
//!   (the synchronization configuration's application, service principal
//!   and app role assignments), [`sync`] (jobs, schema, secrets,
//!   provisioning on demand) and [`directory`] (users and the
//!   organization's domains). They own every path, body, paging and
//!   consistency retry, and take and return typed structs.
//!
//! Design decision: only this module builds Graph requests. The call
//! builder is `pub(super)`, so a resource that wants Graph must go through a
//! typed service method; that keeps each Graph concern in one place and
//! lets the compiler check the seam. The client never formats diagnostics:
//! it returns [`GraphError`], which the provider maps once (`crate::diag`).

mod auth;
mod batch;
mod cache;
mod client;
mod error;
mod poll;

pub mod apps;
pub mod directory;
pub mod mto;
pub mod partners;
pub mod refresh;
pub mod sync;
pub mod templates;

pub use auth::SignIn;
pub use cache::KeyedLocks;
pub use client::{GraphClient, ReadMode, Scope, TenantApi};
pub use error::{ErrorKind, GraphError, Result};
pub use poll::{Created, create_once, wait_until};

#[cfg(test)]
mod tests;
