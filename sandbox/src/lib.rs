//! mto-sandbox
