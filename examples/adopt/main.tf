# Adopting a mesh that administrators built (for example in the Microsoft
# 365 admin center): one plan imports every object the tenants hold, and
# the apply changes nothing in Graph.
#
# data.mto_inventory lists, per tenant, what exists with the import id of
# the resource that would manage it; the import blocks below (Terraform
# >= 1.7) adopt all of it, and the resources take their settings from the
# same inventory, so the first plan shows imports only. To move to a
# written-out configuration afterwards, see README.md
# (terraform plan -generate-config-out).

terraform {
  required_providers {
    mto = { source = "mto-provider/mto" }
  }
}

# import blocks with for_each
terraform {
  required_version = ">= 1.7"
}

variable "tenants" {
  description = "Credentials, by the key the configuration names the tenant with: tenant id, client id, client secret."
  type = map(object({
    id            = string
    client_id     = string
    client_secret = string
  }))
  sensitive = true
}

variable "graph_endpoint" {
  description = "Microsoft Graph, or mto-sandbox; null for Microsoft's public cloud."
  type        = string
  default     = null
}

variable "login_endpoint" {
  description = "The sign-in endpoint, or mto-sandbox; null for Microsoft's public cloud."
  type        = string
  default     = null
}

provider "mto" {
  graph_endpoint = var.graph_endpoint
  login_endpoint = var.login_endpoint

  dynamic "tenant" {
    for_each = var.tenants
    content {
      tenant_id     = tenant.value.id
      client_id     = tenant.value.client_id
      client_secret = tenant.value.client_secret
    }
  }
}

locals {
  tenants = nonsensitive({ for k, t in var.tenants : k => t.id })
  keys    = { for k, id in local.tenants : id => k }
}

data "mto_inventory" "tenant" {
  for_each    = local.tenants
  tenant_id   = each.value
  tenant_keys = local.keys
}

locals {
  inventory = data.mto_inventory.tenant
  # Each listed object with the tenant it is in, keyed like the inventory
  # ("a_to_b" for pairs, the tenant's key for the rest).
  organizations = { for k, i in local.inventory : k => merge(i.organization, { tenant_id = local.tenants[k] }) if i.organization != null }
  joins         = { for k, i in local.inventory : k => merge(i.join_request, { tenant_id = local.tenants[k] }) if i.join_request != null }
  members       = merge([for k, i in local.inventory : { for m, v in coalesce(i.member_tenants, {}) : m => merge(v, { tenant_id = local.tenants[k] }) }]...)
  acceptances   = merge([for k, i in local.inventory : { for p, v in i.inbound_acceptances : p => merge(v, { tenant_id = local.tenants[k] }) }]...)
  shares        = merge([for k, i in local.inventory : { for p, v in i.outbound_shares : p => merge(v, { tenant_id = local.tenants[k] }) }]...)
  jobs          = merge([for k, i in local.inventory : { for p, v in i.sync_jobs : p => merge(v, { tenant_id = local.tenants[k] }) }]...)
}

import {
  for_each = local.organizations
  to       = mto_organization.this[each.key]
  id       = each.value.import_id
}

resource "mto_organization" "this" {
  for_each     = local.organizations
  tenant_id    = each.value.tenant_id
  display_name = each.value.display_name
  description  = each.value.description
}

import {
  for_each = local.members
  to       = mto_member_tenant.member[each.key]
  id       = each.value.import_id
}

resource "mto_member_tenant" "member" {
  for_each         = local.members
  tenant_id        = each.value.tenant_id
  member_tenant_id = each.value.member_tenant_id
  display_name     = each.value.display_name
  role             = each.value.role
}

import {
  for_each = local.joins
  to       = mto_join_request.join[each.key]
  id       = each.value.import_id
}

resource "mto_join_request" "join" {
  for_each        = local.joins
  tenant_id       = each.value.tenant_id
  owner_tenant_id = each.value.owner_tenant_id
}

import {
  for_each = local.acceptances
  to       = mto_inbound_acceptance.mesh[each.key]
  id       = each.value.import_id
}

resource "mto_inbound_acceptance" "mesh" {
  for_each          = local.acceptances
  tenant_id         = each.value.tenant_id
  source_tenant_id  = each.value.source_tenant_id
  user_sync_allowed = each.value.user_sync_allowed
  auto_redeem       = each.value.auto_redeem
}

import {
  for_each = local.shares
  to       = mto_outbound_share.mesh[each.key]
  id       = each.value.import_id
}

resource "mto_outbound_share" "mesh" {
  for_each           = local.shares
  tenant_id          = each.value.tenant_id
  target_tenant_id   = each.value.target_tenant_id
  configuration_name = each.value.configuration_name
  user_ids           = length(each.value.user_ids) > 0 ? each.value.user_ids : null
  group_ids          = length(each.value.group_ids) > 0 ? each.value.group_ids : null
  auto_redeem        = each.value.auto_redeem
}

import {
  for_each = local.jobs
  to       = mto_sync_job.mesh[each.key]
  id       = each.value.import_id
}

resource "mto_sync_job" "mesh" {
  for_each             = local.jobs
  tenant_id            = each.value.tenant_id
  service_principal_id = each.value.service_principal_id
  enabled              = each.value.enabled
  user_type            = each.value.user_type
  show_in_address_list = each.value.show_in_address_list
  delete_out_of_scope  = each.value.delete_out_of_scope
}

output "adopted" {
  description = "How many objects of each kind the inventory found."
  value = {
    organizations  = length(local.organizations)
    member_tenants = length(local.members)
    joins          = length(local.joins)
    acceptances    = length(local.acceptances)
    shares         = length(local.shares)
    jobs           = length(local.jobs)
  }
}

# The same adoption as plain import blocks, one per object, for
# `terraform plan -generate-config-out` (which needs import blocks without
# for_each): terraform output -raw import_blocks > imports.tf
output "import_blocks" {
  description = "One import block per listed object, with the address the inventory suggests."
  value = join("\n", [
    for v in concat(
      values(local.organizations), values(local.members), values(local.joins),
      values(local.acceptances), values(local.shares), values(local.jobs),
    ) : "import {\n  to = ${v.address}\n  id = \"${v.import_id}\"\n}\n"
  ])
}
