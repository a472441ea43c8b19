resource "mto_outbound_share" "a_to_b" {
  tenant_id        = "aaaaaaaa-0000-4000-8000-00000000000a"
  target_tenant_id = "bbbbbbbb-0000-4000-8000-00000000000b"
  user_ids         = ["aaaaaaaa-1111-4000-8000-000000000001"]
}

# Provision the shared users into B as members shown in the address list.
resource "mto_sync_job" "a_to_b" {
  tenant_id            = mto_outbound_share.a_to_b.tenant_id
  service_principal_id = mto_outbound_share.a_to_b.service_principal_id
  user_type            = "Member"
  show_in_address_list = true
  provision_on_demand  = mto_outbound_share.a_to_b.user_ids
}
