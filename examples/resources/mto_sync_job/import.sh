terraform import mto_sync_job.a_to_b aaaaaaaa-0000-4000-8000-00000000000a/<service principal id>/<job id>
