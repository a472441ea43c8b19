resource "mto_inbound_acceptance" "b_from_a" {
  tenant_id        = "bbbbbbbb-0000-4000-8000-00000000000b"
  source_tenant_id = "aaaaaaaa-0000-4000-8000-00000000000a"
}

# Tenant A shares two users and a group with tenant B. The credential check
# needs B's acceptance, hence the reference.
resource "mto_outbound_share" "a_to_b" {
  tenant_id        = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id = mto_inbound_acceptance.b_from_a.tenant_id
  user_ids = [
    "aaaaaaaa-1111-4000-8000-000000000001",
    "aaaaaaaa-1111-4000-8000-000000000002",
  ]
  group_ids = ["aaaaaaaa-2222-4000-8000-000000000001"]
}
