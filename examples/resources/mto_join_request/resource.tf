resource "mto_member_tenant" "b" {
  tenant_id        = "aaaaaaaa-0000-4000-8000-00000000000a"
  member_tenant_id = "bbbbbbbb-0000-4000-8000-00000000000b"
  display_name     = "Contoso B"
}

# Tenant B asks to join the organization of tenant A, and the apply waits
# until it is an active member.
resource "mto_join_request" "b" {
  tenant_id       = mto_member_tenant.b.member_tenant_id
  owner_tenant_id = mto_member_tenant.b.tenant_id

  timeouts {
    create = "2h"
  }
}
