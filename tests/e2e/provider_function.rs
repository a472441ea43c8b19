use mto_e2e::Workspace;

#[test]
fn schema_lists_the_provider_and_the_pairs_function() {
    let ws = Workspace::new();
    ws.write_config("");
    let r = ws.run(&["providers", "schema", "-json"]);
    r.assert_success();
    let schema: serde_json::Value = serde_json::from_str(&r.stdout).expect("schema JSON");
    let provider = &schema["provider_schemas"][mto_e2e::PROVIDER_ADDRESS];
    assert!(provider.is_object(), "provider mto missing:\n{schema:#}");
    let pairs = &provider["functions"]["pairs"];
    assert_eq!(
        pairs["return_type"],
        serde_json::json!(["list", ["object", {"source": "string", "target": "string"}]])
    );
    assert_eq!(pairs["parameters"][0]["name"], "tenants");
    let tenant = &provider["provider"]["block"]["block_types"]["tenant"]["block"]["attributes"];
    assert_eq!(tenant["client_secret"]["sensitive"], true);
}

#[test]
fn pairs_yields_every_ordered_pair_of_three_tenants() {
    let ws = Workspace::new();
    ws.write_config(r#"output "pairs" { value = provider::mto::pairs(["a", "b", "c"]) }"#);
    ws.apply().assert_success();
    let pairs = &ws.outputs()["pairs"]["value"];
    let got: Vec<String> = pairs
        .as_array()
        .expect("list")
        .iter()
        .map(|p| {
            format!(
                "{}>{}",
                p["source"].as_str().unwrap(),
                p["target"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, ["a>b", "a>c", "b>a", "b>c", "c>a", "c>b"]);
    ws.assert_plan_empty();
}

#[test]
fn pairs_drives_for_each_over_a_mesh() {
    let ws = Workspace::new();
    ws.write_config(
        r#"
locals { tenants = ["a", "b", "c", "d"] }
resource "terraform_data" "share" {
  for_each = { for p in provider::mto::pairs(local.tenants) : "${p.source}>${p.target}" => p }
  input    = each.value
}
output "count" { value = length(terraform_data.share) }
"#,
    );
    ws.apply().assert_success();
    assert_eq!(ws.outputs()["count"]["value"], 12);
    ws.assert_plan_empty();
}

#[test]
fn pairs_rejects_a_duplicate_tenant_naming_the_argument() {
    let ws = Workspace::new();
    ws.write_config(r#"output "pairs" { value = provider::mto::pairs(["a", "b", "a"]) }"#);
    ws.run(&["plan"])
        .assert_failure_mentions(&["tenants[2]", "more than once"]);
}

#[test]
fn pairs_rejects_an_empty_string() {
    let ws = Workspace::new();
    ws.write_config(r#"output "pairs" { value = provider::mto::pairs(["a", ""]) }"#);
    ws.run(&["plan"])
        .assert_failure_mentions(&["tenants[1] is empty"]);
}
