# One tenant admin's state: what this tenant does in the multi-tenant
# organization, applied with this tenant's credentials only.
#
# Every admin applies this same module with the organization's shared input
# (organization.tfvars.json: which tenants, who owns the organization, no
# secrets) and its own inputs (which tenant it is, who it shares):
#
#   terraform apply -var-file=../organization.tfvars.json -var-file=../admins/a.tfvars.json
#
# with the credentials in ARM_TENANT_ID / ARM_CLIENT_ID / ARM_CLIENT_SECRET
# (or any other ARM_* credential), or in var.client_id and var.client_secret.
#
# In this state:
# - the owner: the organization and a member row for every other tenant;
#   a member: its join request to the owner;
# - the MTO policy templates;
# - an acceptance from every other tenant (inbound);
# - a share to every other tenant (outbound) and its synchronization job.
#
# The other half of each pair lives in the other admin's state, so an admin
# who applies before the others sees errors that name what is missing; the
# next run, once the others applied, completes it (see ../README.md).

terraform {
  required_providers {
    mto = { source = "mto-provider/mto" }
  }
}

# ---------------------------------------------------------------------------
# The organization's shared input (the same file for every admin)

variable "organization" {
  description = "The multi-tenant organization: its display name, an optional description, and the key (in var.tenants) of the tenant that owns it."
  type = object({
    display_name = string
    description  = optional(string)
    owner        = string
  })
}

variable "tenants" {
  description = "Every tenant of the organization by a short key: its tenant id, display name, and `retiring = true` while it is being retired (every share to or from it is removed; acceptances and membership stay). No credentials: each admin brings only its own."
  type = map(object({
    id       = string
    name     = string
    retiring = optional(bool, false)
  }))
  validation {
    condition     = length(var.tenants) >= 2
    error_message = "An organization needs at least two tenants."
  }
  validation {
    condition     = length(distinct([for t in values(var.tenants) : lower(t.id)])) == length(var.tenants)
    error_message = "Two keys of tenants name the same tenant id."
  }
}

# ---------------------------------------------------------------------------
# This admin's own input

variable "tenant" {
  description = "The key (in var.tenants) of the tenant this state acts in."
  type        = string
}

variable "shared_users" {
  description = "Object ids of this tenant's users it shares with every other tenant of the organization (internal members)."
  type        = list(string)
}

variable "client_id" {
  description = "The client id of this tenant's app registration. Null: the provider reads the ARM_* environment (ARM_TENANT_ID, ARM_CLIENT_ID and one credential)."
  type        = string
  default     = null
}

variable "client_secret" {
  description = "A client secret of that app. Null with var.client_id set: use another credential through the environment instead (drop this variable and set ARM_*)."
  type        = string
  default     = null
  sensitive   = true
}

variable "graph_endpoint" {
  description = "Graph's base URL; null for Microsoft Graph. mto-sandbox's URL to try it offline."
  type        = string
  default     = null
}

variable "login_endpoint" {
  description = "The identity platform's base URL; null for Microsoft's. mto-sandbox's URL to try it offline."
  type        = string
  default     = null
}

variable "replication_grace_period" {
  description = "How long reads right after a create treat 404 as replication lag (the provider's default when null)."
  type        = string
  default     = null
}

locals {
  self     = var.tenants[var.tenant]
  owner    = var.tenants[var.organization.owner]
  is_owner = var.tenant == var.organization.owner
  # Every other tenant, by its key: the peers this tenant accepts from and
  # shares with, and (for the owner) the members it adds.
  peers = { for k, t in var.tenants : k => t if k != var.tenant }
  # The peers this tenant shares with: none while this tenant is retiring,
  # and no retiring one.
  share_with = local.self.retiring ? {} : { for k, t in local.peers : k => t if !t.retiring }
}

provider "mto" {
  graph_endpoint           = var.graph_endpoint
  login_endpoint           = var.login_endpoint
  replication_grace_period = var.replication_grace_period

  # One tenant: this one. Without var.client_id, none here, and the
  # provider reads the ARM_* environment.
  dynamic "tenant" {
    for_each = var.client_id == null ? [] : [local.self.id]
    content {
      tenant_id     = tenant.value
      client_id     = var.client_id
      client_secret = var.client_secret
    }
  }
}

# What the Microsoft 365 admin center sets when a tenant forms or joins an
# organization: user sync allowed inbound, invitations redeemed without
# prompts, for every tenant of the organization.
resource "mto_policy_templates" "this" {
  tenant_id                 = local.self.id
  user_sync_inbound_allowed = true
  inbound_auto_redeem       = true
  outbound_auto_redeem      = true
}

# ---------------------------------------------------------------------------
# Membership: the owner creates the organization and adds every other
# tenant; every other tenant joins.

resource "mto_organization" "this" {
  count        = local.is_owner ? 1 : 0
  tenant_id    = local.self.id
  display_name = var.organization.display_name
  description  = var.organization.description
  depends_on   = [mto_policy_templates.this]
}

resource "mto_member_tenant" "peer" {
  for_each         = local.is_owner ? local.peers : {}
  tenant_id        = mto_organization.this[0].tenant_id
  member_tenant_id = each.value.id
  display_name     = each.value.name
}

# Fails until the owner has added this tenant (the owner's state); the next
# run files the request again.
resource "mto_join_request" "this" {
  count           = local.is_owner ? 0 : 1
  tenant_id       = local.self.id
  owner_tenant_id = local.owner.id
  depends_on      = [mto_policy_templates.this]
}

# ---------------------------------------------------------------------------
# Sharing: accept every other tenant's users, share ours with every other
# tenant. Neither waits for the membership, so a join that fails in one run
# holds nothing else back.

resource "mto_inbound_acceptance" "peer" {
  for_each         = local.peers
  tenant_id        = local.self.id
  source_tenant_id = each.value.id
}

# Fails until the peer's admin has applied its acceptance of this tenant
# ("Tenant … does not accept synchronization from … yet"); the next run
# completes it.
resource "mto_outbound_share" "peer" {
  for_each         = local.share_with
  tenant_id        = local.self.id
  target_tenant_id = each.value.id
  user_ids         = var.shared_users
}

# Provisions the shared users in the peer as B2B members shown in the
# address list, now (on demand) and at every cycle.
resource "mto_sync_job" "peer" {
  for_each             = local.share_with
  tenant_id            = mto_outbound_share.peer[each.key].tenant_id
  service_principal_id = mto_outbound_share.peer[each.key].service_principal_id
  user_type            = "Member"
  show_in_address_list = true
  provision_on_demand  = mto_outbound_share.peer[each.key].user_ids
}

output "role" {
  description = "owner or member."
  value       = local.is_owner ? "owner" : "member"
}

output "shares" {
  description = "Per peer key: the service principal of this tenant's configuration that shares with it."
  value       = { for k, s in mto_outbound_share.peer : k => s.service_principal_id }
}
