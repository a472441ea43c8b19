terraform import mto_organization.contoso aaaaaaaa-0000-4000-8000-00000000000a
