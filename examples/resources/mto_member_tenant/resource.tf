resource "mto_organization" "contoso" {
  tenant_id    = "aaaaaaaa-0000-4000-8000-00000000000a"
  display_name = "Contoso group"
}

# The owner adds tenant B; B then joins with mto_join_request.
resource "mto_member_tenant" "b" {
  tenant_id        = mto_organization.contoso.tenant_id
  member_tenant_id = "bbbbbbbb-0000-4000-8000-00000000000b"
  display_name     = "Contoso B"
  role             = "member"
}
