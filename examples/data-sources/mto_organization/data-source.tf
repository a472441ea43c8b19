data "mto_organization" "seen_from_b" {
  tenant_id = "bbbbbbbb-0000-4000-8000-00000000000b"
}

output "active_tenants" {
  value = [for t in data.mto_organization.seen_from_b.tenants : t.display_name if t.state == "active"]
}
