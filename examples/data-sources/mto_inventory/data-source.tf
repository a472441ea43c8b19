# What tenant A already holds, with the import id of each object.
data "mto_inventory" "a" {
  tenant_id = "aaaaaaaa-0000-4000-8000-00000000000a"
  # Name tenants as the configuration does; the default is the
  # organization's display name for the tenant in snake case.
  tenant_keys = {
    "aaaaaaaa-0000-4000-8000-00000000000a" = "a"
    "bbbbbbbb-0000-4000-8000-00000000000b" = "b"
  }
}

# Import every configuration A shares through.
import {
  for_each = data.mto_inventory.a.outbound_shares
  to       = mto_outbound_share.mesh[each.key]
  id       = each.value.import_id
}

resource "mto_outbound_share" "mesh" {
  for_each           = data.mto_inventory.a.outbound_shares
  tenant_id          = "aaaaaaaa-0000-4000-8000-00000000000a"
  target_tenant_id   = each.value.target_tenant_id
  configuration_name = each.value.configuration_name
  user_ids           = each.value.user_ids
}
