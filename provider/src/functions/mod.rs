//! Provider functions, called as `provider::mto::<name>(...)`.

pub mod pairs;
