use mto_e2e::{Sandbox, TENANT_A, Workspace};

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
    // Configure signs in to every tenant, so the endpoints must answer.
    let sb = Sandbox::standard();
    let port = sb.url.rsplit(':').next().unwrap();
    let ws = Workspace::new();
    ws.write_config(&config_with(&format!(
        r#"  graph_endpoint = "http://127.0.0.1:{port}"
  login_endpoint = "http://localhost:{port}"
  tenant {{
    tenant_id     = "{}"
    client_id     = "{}"
    client_secret = "{}"
  }}"#,
        TENANT_A.id, TENANT_A.client_id, TENANT_A.secret
    )));
    ws.apply().assert_success();
    assert_eq!(
        ws.outputs()["tenants"]["value"],
        serde_json::json!([TENANT_A.id])
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
    let sb = Sandbox::standard();
    let mut ws = Workspace::new();
    ws.env("ARM_TENANT_ID", TENANT_A.id)
        .env("ARM_CLIENT_ID", TENANT_A.client_id)
        .env("ARM_CLIENT_SECRET", TENANT_A.secret);
    ws.write_config(&config_with(&format!(
        "  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"",
        url = sb.url
    )));
    ws.apply().assert_success();
    assert_eq!(
        ws.outputs()["tenants"]["value"],
        serde_json::json!([TENANT_A.id])
    );
}

#[test]
fn conflicting_and_missing_credentials_are_reported_on_the_tenant_block_at_validate() {
    let ws = Workspace::new();
    ws.write_config(&config_with(&format!(
        r#"  tenant {{
    tenant_id               = "22222222-2222-2222-2222-222222222222"
    client_id               = "{CLIENT}"
    client_secret           = "s3cret"
    client_certificate_path = "/nowhere/tenant-b.pfx"
  }}
  tenant {{
    tenant_id = "33333333-3333-3333-3333-333333333333"
    client_id = "{CLIENT}"
  }}
  tenant {{
    tenant_id  = "44444444-4444-4444-4444-444444444444"
    client_id  = "{CLIENT}"
    oidc_token = "not-used"
  }}"#
    )));
    let r = ws.run(&["validate"]);
    r.assert_failure_mentions(&[
        "Conflicting credentials",
        "client_secret and client_certificate_path are both set for tenant block 0",
        &ws.provider_line("client_certificate_path"),
        "No credentials",
        "tenant block 1 (33333333-3333-3333-3333-333333333333) has no credential",
        &ws.provider_line("33333333-3333-3333-3333-333333333333"),
        "OIDC setting without use_oidc",
        &ws.provider_line("oidc_token"),
    ]);
    assert!(!r.output().contains("s3cret"));
}
