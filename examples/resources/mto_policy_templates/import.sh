terraform import mto_policy_templates.a aaaaaaaa-0000-4000-8000-00000000000a
