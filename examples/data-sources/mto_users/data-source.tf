# Who People Search in tenant B finds: B's own users and the B2B members
# synchronized from the other tenants.
data "mto_users" "b" {
  tenant_id = "bbbbbbbb-0000-4000-8000-00000000000b"
}

output "people_in_b" {
  value = {
    for u in data.mto_users.b.users : u.display_name => (u.kind == "internal" ? "internal" : "from ${u.source_tenant_id}")
    if u.visible_in_people_search
  }
}
