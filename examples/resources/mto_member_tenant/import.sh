terraform import mto_member_tenant.b aaaaaaaa-0000-4000-8000-00000000000a/bbbbbbbb-0000-4000-8000-00000000000b
