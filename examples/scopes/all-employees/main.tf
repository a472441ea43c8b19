# Everyone in Engineering of tenant A, in tenant B: the share assigns all
# users ("Sync all users and groups"), the job's scoping filter narrows it.

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

resource "mto_inbound_acceptance" "b_from_a" {
  tenant_id        = var.tenant_b
  source_tenant_id = var.tenant_a
}

resource "mto_outbound_share" "a_to_b" {
  tenant_id        = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id = mto_inbound_acceptance.b_from_a.tenant_id
  share_all_users  = true
}

resource "mto_sync_job" "a_to_b" {
  tenant_id            = mto_outbound_share.a_to_b.tenant_id
  service_principal_id = mto_outbound_share.a_to_b.service_principal_id

  # Engineering, in Germany or France. Clauses of one block all hold;
  # another block would be an alternative (OR).
  scoping_filter {
    clause {
      attribute = "department"
      operator  = "EQUALS"
      values    = ["Engineering"]
    }
    clause {
      attribute = "country"
      operator  = "REGEX MATCH"
      values    = ["^(DE|FR)$"]
    }
  }
}
