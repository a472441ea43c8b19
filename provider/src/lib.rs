//! terraform-provider-mto
