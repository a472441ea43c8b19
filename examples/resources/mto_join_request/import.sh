terraform import mto_join_request.b bbbbbbbb-0000-4000-8000-00000000000b
