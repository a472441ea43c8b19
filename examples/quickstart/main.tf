# Three tenants, four people: after apply, People Search in every tenant
# finds Annie (A), Bob and Barbara (B) and Charlie (C) — its own people as
# internal users, the others as B2B members. Ada, Boris and Cora are not
# shared and stay in their home tenant.
#
# Run it with ./run.sh (it starts mto-sandbox, the local Graph emulator,
# and sets sandbox_url). Against real tenants, drop the endpoints and put
# your app registrations in local.tenants.

terraform {
  required_providers {
    mto = { source = "mto-provider/mto" }
  }
}

variable "sandbox_url" {
  type        = string
  description = "Base URL of mto-sandbox (Graph and login endpoint)."
}

variable "members" {
  type        = list(string)
  default     = ["a", "b", "c"]
  description = <<-EOT
    The tenants of the organization (keys of local.tenants); the mesh is built from this list,
    and the first one owns the organization (retire it last).
    Retiring a tenant is removing it here: one apply removes its shares both ways (its people
    leave every other tenant, the others' leave it), its acceptances and its membership. Its
    credentials stay in local.tenants until then, and removing them is a second, safe change.
  EOT
}

locals {
  # Credentials: every tenant the provider can reach (the provider block).
  tenants = {
    a = { id = "a0a0a0a0-0000-4000-8000-00000000000a", name = "Contoso A", client_id = "a1a1a1a1-0000-4000-8000-00000000000a", secret = "quickstart-secret-a" }
    b = { id = "b0b0b0b0-0000-4000-8000-00000000000b", name = "Contoso B", client_id = "b1b1b1b1-0000-4000-8000-00000000000b", secret = "quickstart-secret-b" }
    c = { id = "c0c0c0c0-0000-4000-8000-00000000000c", name = "Contoso C", client_id = "c1c1c1c1-0000-4000-8000-00000000000c", secret = "quickstart-secret-c" }
  }
  # Membership: the tenants in the organization, which everything below is built from.
  in_mesh = { for k in var.members : k => local.tenants[k] }
  owner   = local.in_mesh[var.members[0]]
  members = { for k, t in local.in_mesh : k => t if t.id != local.owner.id }

  # Who each tenant shares with every other tenant (user object ids), by the
  # keys of local.tenants.
  shared_users = {
    a = ["a0a0a0a0-1111-4000-8000-000000000001"]                                         # Annie
    b = ["b0b0b0b0-1111-4000-8000-000000000001", "b0b0b0b0-1111-4000-8000-000000000002"] # Bob, Barbara
    c = ["c0c0c0c0-1111-4000-8000-000000000001"]                                         # Charlie
  }
  key_of = { for k, t in local.in_mesh : t.id => k }

  # Every ordered pair of tenants: one share and one acceptance per direction,
  # named by the keys of the two tenants ("a_to_b").
  mesh = {
    for p in provider::mto::pairs([for t in local.in_mesh : t.id]) :
    "${local.key_of[p.source]}_to_${local.key_of[p.target]}" => p
  }
}

provider "mto" {
  graph_endpoint = var.sandbox_url
  login_endpoint = var.sandbox_url

  dynamic "tenant" {
    for_each = local.tenants
    content {
      tenant_id     = tenant.value.id
      client_id     = tenant.value.client_id
      client_secret = tenant.value.secret
    }
  }
}

# What the Microsoft 365 admin center sets up: allow user sync between the
# organization's tenants and redeem invitations without prompts.
resource "mto_policy_templates" "all" {
  for_each                  = local.in_mesh
  tenant_id                 = each.value.id
  user_sync_inbound_allowed = true
  inbound_auto_redeem       = true
  outbound_auto_redeem      = true
}

resource "mto_organization" "contoso" {
  tenant_id    = local.owner.id
  display_name = "Contoso"
  description  = "The Contoso tenants"
  depends_on   = [mto_policy_templates.all]
}

resource "mto_member_tenant" "members" {
  for_each         = local.members
  tenant_id        = mto_organization.contoso.tenant_id
  member_tenant_id = each.value.id
  display_name     = each.value.name
}

resource "mto_join_request" "members" {
  for_each        = local.members
  tenant_id       = mto_member_tenant.members[each.key].member_tenant_id
  owner_tenant_id = mto_member_tenant.members[each.key].tenant_id
  depends_on      = [mto_policy_templates.all]
}

# The receiving side of every direction.
resource "mto_inbound_acceptance" "mesh" {
  for_each         = local.mesh
  tenant_id        = each.value.target
  source_tenant_id = each.value.source
  depends_on       = [mto_join_request.members]
}

# The sharing side, after the target accepted.
resource "mto_outbound_share" "mesh" {
  for_each         = local.mesh
  tenant_id        = mto_inbound_acceptance.mesh[each.key].source_tenant_id
  target_tenant_id = mto_inbound_acceptance.mesh[each.key].tenant_id
  user_ids         = local.shared_users[local.key_of[each.value.source]]
}

# Provision the shared users as B2B members shown in the address list, now
# (on demand) and at every cycle.
resource "mto_sync_job" "mesh" {
  for_each             = local.mesh
  tenant_id            = mto_outbound_share.mesh[each.key].tenant_id
  service_principal_id = mto_outbound_share.mesh[each.key].service_principal_id
  user_type            = "Member"
  show_in_address_list = true
  provision_on_demand  = mto_outbound_share.mesh[each.key].user_ids
}

# What People Search finds in each tenant.
data "mto_users" "people" {
  for_each   = local.in_mesh
  tenant_id  = each.value.id
  depends_on = [mto_sync_job.mesh]
}

locals {
  # Expected result: the four shared people everywhere, the unshared ones
  # only at home.
  everyone_shared = { "Annie Archer" = "Contoso A", "Bob Baker" = "Contoso B", "Barbara Brooks" = "Contoso B", "Charlie Chen" = "Contoso C" }
  tenant_names    = [for k in sort(keys(local.in_mesh)) : local.in_mesh[k].name]
  shared_people   = { for p, home in local.everyone_shared : p => home if contains(local.tenant_names, home) }
  unshared_people = { for p, home in { "Ada Alone" = "Contoso A", "Boris Behind" = "Contoso B", "Cora Closed" = "Contoso C" } : p => home if contains(local.tenant_names, home) }
  labels          = { internal = "internal", b2b_member = "B2B member", b2b_guest = "B2B guest" }

  people_search = {
    for k, d in data.mto_users.people : local.in_mesh[k].name => {
      for u in d.users : u.display_name => u.kind if u.visible_in_people_search
    }
  }
  cell = {
    for t in local.tenant_names : t => {
      for p, _ in local.shared_people : p => lookup(local.labels, lookup(local.people_search[t], p, "missing"), "missing")
    }
  }
}

output "people_search" {
  description = "Per tenant: every person People Search finds, and how (internal or B2B member)."
  value       = local.cell
}

output "matrix" {
  description = "The same as a table."
  value = join("\n", concat(
    [format("%-22s%s", "People Search finds:", join("", [for t in local.tenant_names : format("%-14s", t)]))],
    [for p, _ in local.shared_people : format("  %-20s%s", p, join("", [for t in local.tenant_names : format("%-14s", local.cell[t][p])]))],
    [format("  (not shared: %s)", join(", ", [for p, home in local.unshared_people : "${p} stays in ${home}"]))],
  ))
}

output "problems" {
  description = "Every way the result differs from the goal; empty when the quick start worked."
  value = concat(
    flatten([for t in local.tenant_names : [
      for p, home in local.shared_people : "${t}: ${p} is ${local.cell[t][p]}, expected ${home == t ? "internal" : "B2B member"}"
      if local.cell[t][p] != (home == t ? "internal" : "B2B member")
    ]]),
    flatten([for t in local.tenant_names : [
      for p, home in local.unshared_people : (home == t ? "${t}: its own ${p} is missing" : "${t}: finds ${p}, who is not shared")
      if(home == t) != contains(keys(local.people_search[t]), p)
    ]]),
  )
}
