locals {
  tenants = [
    "aaaaaaaa-0000-4000-8000-00000000000a",
    "bbbbbbbb-0000-4000-8000-00000000000b",
    "cccccccc-0000-4000-8000-00000000000c",
  ]
  # 6 ordered pairs, keyed "source>target".
  mesh = { for p in provider::mto::pairs(local.tenants) : "${p.source}_to_${p.target}" => p }
}

resource "mto_inbound_acceptance" "mesh" {
  for_each         = local.mesh
  tenant_id        = each.value.target
  source_tenant_id = each.value.source
}
