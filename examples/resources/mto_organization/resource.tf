resource "mto_organization" "contoso" {
  tenant_id    = "aaaaaaaa-0000-4000-8000-00000000000a"
  display_name = "Contoso group"
  description  = "All Contoso tenants"
}
