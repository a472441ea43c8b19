# provider::mto::pairs expands a list of tenants into every ordered pair, so a
# mesh of shares is one for_each. Runs without any tenant or sandbox.
terraform {
  required_providers {
    mto = { source = "mto-provider/mto" }
  }
}

locals {
  tenants = ["tenant-a", "tenant-b", "tenant-c"]
}

resource "terraform_data" "share" {
  for_each = { for p in provider::mto::pairs(local.tenants) : "${p.source}_to_${p.target}" => p }
  input    = each.value
}

output "shares" {
  value = sort(keys(terraform_data.share))
}
