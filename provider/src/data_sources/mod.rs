//! Data sources, one module each.

pub mod configured_tenants;
pub mod organization;
pub mod sync_job;
pub mod users;
