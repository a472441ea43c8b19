use mto_e2e::Workspace;

const CLIENT: &str = "11111111-1111-1111-1111-111111111111";

fn config_with(provider_body: &str) -> String {
    format!(
        r#"
provider "mto" {{
{provider_body}
}}
data "mto_configured_tenants" "this" {{}}
output "tenants" {{ value = data.mto_configured_tenants.this.tenant_ids }}
"#
    )
}

#[test]
fn invalid_tenant_id_fails_plan_naming_the_attribute() {
    let ws = Workspace::new();
    ws.write_config(&config_with(&format!(
        r#"  tenant {{
    tenant_id     = "not-a-guid"
    client_id     = "{CLIENT}"
    client_secret = "s3cret"
  }}"#
    )));
    let r = ws.run(&["plan"]);
    r.assert_failure_mentions(&[
        "Invalid GUID",
        "tenant_id = \"not-a-guid\"",
        "tenant[0].tenant_id must be a GUID",
    ]);
    assert!(
        !r.output().contains("s3cret"),
        "secret leaked:\n{}",
        r.output()
    );
}

#[test]
fn http_graph_endpoint_to_a_remote_host_is_refused() {
    let ws = Workspace::new();
    ws.write_config(&config_with(
        r#"  graph_endpoint = "http://graph.example.com""#,
    ));
    ws.run(&["plan"]).assert_failure_mentions(&[
        "Endpoint refused",
        "graph_endpoint",
        "not loopback",
    ]);
}

#[test]
fn http_endpoints_on_loopback_are_accepted() {
    let ws = Workspace::new();
    ws.write_config(&config_with(&format!(
        r#"  graph_endpoint = "http://127.0.0.1:9"
  login_endpoint = "http://localhost:9"
  tenant {{
    tenant_id     = "22222222-2222-2222-2222-222222222222"
    client_id     = "{CLIENT}"
    client_secret = "s3cret"
  }}"#
    )));
    ws.apply().assert_success();
    assert_eq!(
        ws.outputs()["tenants"]["value"],
        serde_json::json!(["22222222-2222-2222-2222-222222222222"])
    );
}

#[test]
fn a_tenant_configured_twice_is_reported_on_the_second_block() {
    let ws = Workspace::new();
    let t = |id: &str| {
        format!(
            "  tenant {{\n    tenant_id = \"{id}\"\n    client_id = \"{CLIENT}\"\n    client_secret = \"x\"\n  }}\n"
        )
    };
    ws.write_config(&config_with(
        &(t("33333333-3333-3333-3333-333333333333") + &t("33333333-3333-3333-3333-333333333333")),
    ));
    ws.run(&["plan"])
        .assert_failure_mentions(&["Tenant configured twice", "tenant block 0"]);
}

#[test]
fn single_tenant_from_environment_variables() {
    let mut ws = Workspace::new();
    ws.env("ARM_TENANT_ID", "44444444-4444-4444-4444-444444444444")
        .env("ARM_CLIENT_ID", CLIENT)
        .env("ARM_CLIENT_SECRET", "from-env");
    ws.write_config(&config_with(""));
    ws.apply().assert_success();
    assert_eq!(
        ws.outputs()["tenants"]["value"],
        serde_json::json!(["44444444-4444-4444-4444-444444444444"])
    );
}
