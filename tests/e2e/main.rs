//! End-to-end tests: the real terraform binary, this provider and (for
//! resources) a private sandbox. One binary, one module per area.

mod adoption;
mod auth;
mod bad_input;
mod dashboard;
mod examples;
mod hung_graph;
mod lifecycle;
mod membership;
mod msal;
mod organization;
mod ownership;
mod per_tenant;
mod policies;
mod provider_block;
mod provider_function;
mod quickstart;
mod release;
mod resilience;
mod retirement;
mod scopes;
mod sharing;
