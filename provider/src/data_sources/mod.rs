//! Data sources, one module each.

pub mod configured_tenants;
