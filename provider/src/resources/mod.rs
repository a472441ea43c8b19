//! Managed resources, one module each.

pub mod common;
pub mod join_request;
pub mod member_tenant;
pub mod organization;
