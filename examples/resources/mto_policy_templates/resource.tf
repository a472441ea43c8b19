# What the Microsoft 365 admin center sets when a tenant joins: allow user
# sync from the other tenants and redeem invitations both ways without prompts.
resource "mto_policy_templates" "a" {
  tenant_id                 = "aaaaaaaa-0000-4000-8000-00000000000a"
  user_sync_inbound_allowed = true
  inbound_auto_redeem       = true
  outbound_auto_redeem      = true
}
