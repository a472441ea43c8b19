//! End-to-end tests: the real terraform binary, this provider and (for
//! resources) a private sandbox. One binary, one module per area.

mod provider_block;
mod provider_function;
