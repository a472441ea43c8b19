//! The bad-input catalogue: every mistake gets a clear diagnostic, naming
//! the attribute where there is one, and no secret ever appears in output.

use mto_e2e::{
    Sandbox, SandboxOptions, TENANT_A, TENANT_B, TENANT_C, Workspace, assert_no_secrets,
    contains_jwt, standard_seed,
};

fn ws_with(sb: &Sandbox, body: &str) -> Workspace {
    let ws = Workspace::new();
    ws.write_config(&format!(
        "{}\n{body}",
        sb.provider_block(&[&TENANT_A, &TENANT_B, &TENANT_C])
    ));
    ws
}

#[test]
fn an_invalid_guid_in_a_resource_names_the_attribute() {
    let sb = Sandbox::standard();
    let ws = ws_with(
        &sb,
        &format!(
            "resource \"mto_inbound_acceptance\" \"x\" {{\n  tenant_id        = \"{}\"\n  source_tenant_id = \"tenant-a\"\n}}\n",
            TENANT_B.id
        ),
    );
    ws.run(&["plan"]).assert_failure_mentions(&[
        "Invalid GUID",
        "source_tenant_id must be a GUID",
        "\"tenant-a\"",
    ]);
}

#[test]
fn an_unknown_role_lists_the_valid_ones() {
    let sb = Sandbox::standard();
    let ws = ws_with(
        &sb,
        &format!(
            "resource \"mto_member_tenant\" \"x\" {{\n  tenant_id        = \"{}\"\n  member_tenant_id = \"{}\"\n  display_name     = \"B\"\n  role             = \"boss\"\n}}\n",
            TENANT_A.id, TENANT_B.id
        ),
    );
    ws.run(&["plan"]).assert_failure_mentions(&[
        "Invalid value",
        "role must be one of owner, member",
        "\"boss\"",
    ]);
}

#[test]
fn a_computed_attribute_set_in_configuration_is_refused() {
    let sb = Sandbox::standard();
    let ws = ws_with(
        &sb,
        &format!(
            "resource \"mto_policy_templates\" \"x\" {{\n  tenant_id = \"{}\"\n  id        = \"mine\"\n}}\n",
            TENANT_A.id
        ),
    );
    ws.run(&["plan"])
        .assert_failure_mentions(&["Value for unconfigurable attribute", "\"id\""]);
}

#[test]
fn an_import_id_of_the_wrong_shape_shows_the_expected_shape() {
    let sb = Sandbox::standard();
    let ws = ws_with(
        &sb,
        &format!(
            "resource \"mto_member_tenant\" \"x\" {{\n  tenant_id        = \"{}\"\n  member_tenant_id = \"{}\"\n  display_name     = \"B\"\n}}\n",
            TENANT_A.id, TENANT_B.id
        ),
    );
    ws.run(&["import", "mto_member_tenant.x", TENANT_B.id])
        .assert_failure_mentions(&["Invalid import id", "<owner tenant id>/<member tenant id>"]);
    ws.run(&["import", "mto_member_tenant.x", "a/b"])
        .assert_failure_mentions(&["owner tenant id must be a GUID"]);
}

#[test]
fn rejected_credentials_show_the_aadsts_error_and_never_the_secret() {
    let sb = Sandbox::standard();
    let mut ws = Workspace::new();
    let wrong = "wrong-secret-Zq81";
    // As users write it: the secret in a sensitive variable (Terraform shows
    // the source line of the attribute at fault).
    ws.env("TF_VAR_secret_a", wrong);
    ws.write_config(&format!(
        "variable \"secret_a\" {{\n  type      = string\n  sensitive = true\n}}\nprovider \"mto\" {{\n  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"\n  tenant {{\n    tenant_id     = \"{a}\"\n    client_id     = \"{c}\"\n    client_secret = var.secret_a\n  }}\n}}\nresource \"mto_policy_templates\" \"a\" {{\n  tenant_id = \"{a}\"\n}}\n",
        url = sb.url,
        a = TENANT_A.id,
        c = TENANT_A.client_id,
    ));
    // Refused when the provider is configured, on the tenant block's
    // client_secret, before anything is planned.
    let r = ws.run(&["plan"]);
    r.assert_failure_mentions(&[
        &format!("Cannot sign in to tenant {}", TENANT_A.id),
        "refused the client secret",
        "AADSTS7000215",
        TENANT_A.client_id,
        &ws.provider_line("client_secret"),
    ]);
    assert!(
        !r.output().contains(wrong),
        "the secret leaked:\n{}",
        r.output()
    );
    assert!(sb.graph_writes().is_empty());
}

#[test]
fn a_missing_permission_names_the_permission_needed() {
    let mut seed = standard_seed();
    // Tenant C's app can only read users.
    seed["tenants"][2]["apps"][0]["roles"] = serde_json::json!(["User.Read.All"]);
    let sb = Sandbox::start(SandboxOptions {
        seed,
        extra_args: vec![],
        ..Default::default()
    });
    let ws = ws_with(
        &sb,
        &format!(
            "resource \"mto_policy_templates\" \"c\" {{\n  tenant_id = \"{}\"\n}}\n",
            TENANT_C.id
        ),
    );
    // Found by the plan, from the token's roles, before any Graph write.
    ws.apply().assert_failure_mentions(&[
        "Missing Graph permissions",
        "mto_policy_templates needs",
        "Policy.ReadWrite.CrossTenantAccess",
        "The token has: User.Read.All",
    ]);
    assert!(sb.graph_writes().is_empty(), "{:?}", sb.graph_writes());
}

#[test]
fn a_plan_with_trace_logging_never_shows_a_secret_or_a_token() {
    let sb = Sandbox::standard();
    let mut ws = Workspace::new();
    let log = ws.path().join("trace.log");
    ws.env("TF_LOG", "trace")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    ws.write_config(&format!(
        "{}\nresource \"mto_inbound_acceptance\" \"b_from_a\" {{\n  tenant_id        = \"{}\"\n  source_tenant_id = \"{}\"\n}}\n",
        sb.provider_block(&[&TENANT_A, &TENANT_B]),
        TENANT_B.id,
        TENANT_A.id
    ));
    ws.apply().assert_success();
    ws.assert_plan_empty();
    let text = std::fs::read_to_string(&log).expect("trace log");
    assert!(
        text.contains("graph request"),
        "the provider's own debug lines should be in the trace"
    );
    // Access tokens are JWTs: `eyJ<header>.eyJ<payload>.<signature>`.
    assert_no_secrets(&text, &[TENANT_A.secret, TENANT_B.secret]);
}

#[test]
fn the_jwt_detector_finds_tokens() {
    assert!(contains_jwt(
        "x Bearer eyJhbGciOiJIUzI1NiJ9.eyJ0aWQiOiJ4In0.sig y"
    ));
    assert!(!contains_jwt("eyJ alone, and eyJabc.notpayload"));
}
