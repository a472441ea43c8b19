data "mto_sync_job" "a_to_b" {
  tenant_id            = "aaaaaaaa-0000-4000-8000-00000000000a"
  service_principal_id = "5e3c0f1a-0000-4000-8000-000000000001"
}

output "sync_status" {
  value = data.mto_sync_job.a_to_b.status.code
}
