data "mto_configured_tenants" "all" {}

# Every ordered pair of the tenants the provider block has credentials for.
output "mesh" {
  value = provider::mto::pairs(data.mto_configured_tenants.all.tenant_ids)
}
