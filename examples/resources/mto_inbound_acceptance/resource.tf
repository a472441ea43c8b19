# Tenant B accepts the users tenant A shares with it.
resource "mto_inbound_acceptance" "b_from_a" {
  tenant_id        = "bbbbbbbb-0000-4000-8000-00000000000b"
  source_tenant_id = "aaaaaaaa-0000-4000-8000-00000000000a"
}
