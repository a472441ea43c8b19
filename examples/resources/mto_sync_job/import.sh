# The job of tenant A's share with tenant B (configuration MTO_Sync_<B>):
terraform import mto_sync_job.a_to_b aaaaaaaa-0000-4000-8000-00000000000a/bbbbbbbb-0000-4000-8000-00000000000b
# Any configuration, by its service principal and job ids:
terraform import mto_sync_job.a_to_b aaaaaaaa-0000-4000-8000-00000000000a/<service principal id>/<job id>
