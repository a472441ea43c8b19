terraform import mto_outbound_share.a_to_b aaaaaaaa-0000-4000-8000-00000000000a/bbbbbbbb-0000-4000-8000-00000000000b
