terraform import mto_inbound_acceptance.b_from_a bbbbbbbb-0000-4000-8000-00000000000b/aaaaaaaa-0000-4000-8000-00000000000a
