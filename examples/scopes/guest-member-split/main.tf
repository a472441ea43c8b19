# Two configurations from tenant A to tenant B: the staff arrive as members
# (People Search, Teams), the contractors as guests. Each configuration
# shares everyone and filters on the employee type; each job maps userType.

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

locals {
  split = {
    staff       = { user_type = "Member", employee_type = "Employee" }
    contractors = { user_type = "Guest", employee_type = "Contractor" }
  }
}

resource "mto_inbound_acceptance" "b_from_a" {
  tenant_id        = var.tenant_b
  source_tenant_id = var.tenant_a
}

resource "mto_outbound_share" "a_to_b" {
  for_each           = local.split
  tenant_id          = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id   = mto_inbound_acceptance.b_from_a.tenant_id
  configuration_name = "MTO_Sync_${var.tenant_b}_${each.key}"
  share_all_users    = true
}

resource "mto_sync_job" "a_to_b" {
  for_each             = local.split
  tenant_id            = mto_outbound_share.a_to_b[each.key].tenant_id
  service_principal_id = mto_outbound_share.a_to_b[each.key].service_principal_id

  scoping_filter {
    clause {
      attribute = "employeeType"
      operator  = "EQUALS"
      values    = [each.value.employee_type]
    }
  }

  # The userType mapping itself (instead of the user_type shorthand), applied
  # to existing users too.
  attribute_mapping {
    target_attribute = "userType"
    constant         = each.value.user_type
    flow_type        = "Always"
  }
}
