//! HTTP-level tests of the sandbox: the real router driven with `tower::ServiceExt::oneshot`,
//! over an in-memory store seeded with `tests/fixtures/seed.json` (tenants A, B, C).
//! One module per area; every test goes through the `harness` check helpers.

mod apps;
mod batch;
mod conformance;
mod errors;
mod faults;
mod group_sync;
mod groups;
mod harness;
mod identity;
mod limits;
mod mto;
mod odata;
mod policy;
mod scope;
mod sync;
mod token;
mod users;
