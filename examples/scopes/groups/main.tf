# A security group of tenant A arrives in tenant B as a group, with its
# members, kept in step every cycle.

terraform {
  required_providers {
    mto = { source = "mto-provider/mto" }
  }
}

variable "tenant_a" {
  description = "The sharing tenant's id."
  type        = string
  default     = "aaaaaaaa-0000-4000-8000-00000000000a"
}

variable "tenant_b" {
  description = "The receiving tenant's id."
  type        = string
  default     = "bbbbbbbb-0000-4000-8000-00000000000b"
}

variable "group_ids" {
  description = "Object ids of security groups in tenant A."
  type        = set(string)
  default     = ["aaaaaaaa-2222-4000-8000-000000000001"]
}

resource "mto_inbound_acceptance" "b_from_a" {
  tenant_id          = var.tenant_b
  source_tenant_id   = var.tenant_a
  group_sync_allowed = true # groupSyncInbound (Graph beta)
}

resource "mto_outbound_share" "a_to_b" {
  tenant_id        = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id = mto_inbound_acceptance.b_from_a.tenant_id
  group_ids        = var.group_ids
}

resource "mto_sync_job" "a_to_b" {
  tenant_id            = mto_outbound_share.a_to_b.tenant_id
  service_principal_id = mto_outbound_share.a_to_b.service_principal_id
  provision_groups     = true

  # Only groups whose name ends in "team" are provisioned as groups (their
  # members are shared either way).
  group_scoping_filter {
    clause {
      attribute = "displayName"
      operator  = "ENDS_WITH"
      values    = ["team"]
    }
  }
}
