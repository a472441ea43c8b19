//! Managed resources, one module each.

pub mod common;
pub mod inbound_acceptance;
pub mod join_request;
pub mod member_tenant;
pub mod organization;
pub mod outbound_share;
pub mod partner;
pub mod policy_templates;
pub mod sync_job;
