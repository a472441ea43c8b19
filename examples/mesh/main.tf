# A full mesh of N tenants in one state: every member tenant shares its users
# with every other one, and accepts theirs.
#
# Two inputs, kept apart on purpose:
# - var.tenants — credentials: every tenant the provider block can reach;
# - var.members — membership: the tenants the organization (and the mesh) is
#   built from. The first one owns the organization.
#
# Retiring a tenant is two changes. First remove it from var.members and
# apply: that destroys its shares in both directions (its people are
# deprovisioned from every other tenant, theirs from it), its acceptances,
# its join and its membership — with its own credentials, which are still in
# var.tenants. Then remove it from var.tenants: a plan with nothing to do.

terraform {
  required_providers {
    mto = { source = "mto-provider/mto" }
  }
}

variable "tenants" {
  description = "Credentials, by a short key: tenant id, client id, client secret, display name."
  type = map(object({
    id            = string
    name          = string
    client_id     = string
    client_secret = string
  }))
  sensitive = true
}

variable "members" {
  description = "Keys of var.tenants in the organization; the first owns it."
  type        = list(string)
}

variable "shared_users" {
  description = "Per member key: the object ids of the users it shares with every other member."
  type        = map(list(string))
}

locals {
  in_mesh    = { for k in var.members : k => nonsensitive(var.tenants[k]) }
  owner      = local.in_mesh[var.members[0]]
  others     = { for k, t in local.in_mesh : k => t if k != var.members[0] }
  keys_by_id = { for k, t in local.in_mesh : t.id => k }
  mesh = {
    for p in provider::mto::pairs([for t in local.in_mesh : t.id]) :
    "${local.keys_by_id[p.source]}_to_${local.keys_by_id[p.target]}" => p
  }
}

provider "mto" {
  dynamic "tenant" {
    for_each = var.tenants
    content {
      tenant_id     = tenant.value.id
      client_id     = tenant.value.client_id
      client_secret = tenant.value.client_secret
    }
  }
}

resource "mto_policy_templates" "member" {
  for_each                  = local.in_mesh
  tenant_id                 = each.value.id
  user_sync_inbound_allowed = true
  inbound_auto_redeem       = true
  outbound_auto_redeem      = true
}

resource "mto_organization" "this" {
  tenant_id    = local.owner.id
  display_name = "${local.owner.name} organization"
  depends_on   = [mto_policy_templates.member]
}

resource "mto_member_tenant" "other" {
  for_each         = local.others
  tenant_id        = mto_organization.this.tenant_id
  member_tenant_id = each.value.id
  display_name     = each.value.name
}

resource "mto_join_request" "other" {
  for_each        = local.others
  tenant_id       = mto_member_tenant.other[each.key].member_tenant_id
  owner_tenant_id = mto_member_tenant.other[each.key].tenant_id
  depends_on      = [mto_policy_templates.member]
}

resource "mto_inbound_acceptance" "mesh" {
  for_each         = local.mesh
  tenant_id        = each.value.target
  source_tenant_id = each.value.source
  depends_on       = [mto_join_request.other]
}

resource "mto_outbound_share" "mesh" {
  for_each         = local.mesh
  tenant_id        = mto_inbound_acceptance.mesh[each.key].source_tenant_id
  target_tenant_id = mto_inbound_acceptance.mesh[each.key].tenant_id
  user_ids         = var.shared_users[local.keys_by_id[each.value.source]]
}

resource "mto_sync_job" "mesh" {
  for_each             = local.mesh
  tenant_id            = mto_outbound_share.mesh[each.key].tenant_id
  service_principal_id = mto_outbound_share.mesh[each.key].service_principal_id
}
