//! Adopting what administrators built: the quick start's mesh made through
//! Graph alone, as the admin center does it, then `examples/adopt/` imports
//! all of it in one apply that writes nothing, and the next plan is empty.

use mto_e2e::{
    Sandbox, SandboxOptions, Workspace, admin_center_mesh, quickstart_graphs, quickstart_seed,
};
use serde_json::json;

const ANNIE: &str = "a0a0a0a0-1111-4000-8000-000000000001";
const BOB: &str = "b0b0b0b0-1111-4000-8000-000000000001";
const BARBARA: &str = "b0b0b0b0-1111-4000-8000-000000000002";
const CHARLIE: &str = "c0c0c0c0-1111-4000-8000-000000000001";

fn adopt_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/adopt")
}

#[test]
fn an_admin_center_mesh_is_adopted_in_one_apply_that_writes_nothing() {
    let sb = Sandbox::start(SandboxOptions {
        seed: quickstart_seed(),
        ..Default::default()
    });
    admin_center_mesh(&sb, "Contoso", &[&[ANNIE], &[BOB, BARBARA], &[CHARLIE]]);
    let reports = sb.sync_now();
    assert_eq!(reports.len(), 6, "six jobs run: {reports:?}");

    let ws = Workspace::new();
    std::fs::copy(adopt_dir().join("main.tf"), ws.path().join("main.tf")).expect("copy main.tf");
    let seed = quickstart_seed();
    let mut tenants = serde_json::Map::new();
    for (key, t) in ["a", "b", "c"]
        .iter()
        .zip(seed["tenants"].as_array().unwrap())
    {
        let app = &t["apps"][0];
        tenants.insert(
            key.to_string(),
            json!({"id": t["id"], "client_id": app["clientId"], "client_secret": app["clientSecret"]}),
        );
    }
    ws.write_file(
        "terraform.tfvars.json",
        &json!({"tenants": tenants, "graph_endpoint": sb.url, "login_endpoint": sb.url})
            .to_string(),
    );

    sb.reset_stats();
    let plan = ws.run(&["plan"]);
    plan.assert_success();
    assert!(
        plan.stdout
            .contains("Plan: 23 to import, 0 to add, 0 to change, 0 to destroy."),
        "an organization, 2 members, 2 joins, 6 acceptances, 6 shares, 6 jobs, imported only:\n{}",
        plan.output()
    );
    for address in [
        "mto_organization.this[\"a\"]",
        "mto_member_tenant.member[\"b\"]",
        "mto_join_request.join[\"c\"]",
        "mto_inbound_acceptance.mesh[\"a_to_b\"]",
        "mto_outbound_share.mesh[\"c_to_a\"]",
        "mto_sync_job.mesh[\"b_to_c\"]",
    ] {
        assert!(
            plan.stdout
                .contains(&format!("{address}: Preparing import")),
            "{address} not imported:\n{}",
            plan.output()
        );
    }
    ws.apply().assert_success();
    assert_eq!(
        sb.graph_writes(),
        Vec::<String>::new(),
        "adoption writes nothing in Graph"
    );
    ws.assert_plan_empty();
    assert_eq!(
        ws.outputs()["adopted"]["value"],
        json!({"organizations": 1, "member_tenants": 2, "joins": 2, "acceptances": 6, "shares": 6, "jobs": 6})
    );
    // The admin's configurations stay untagged: an import marks nothing.
    for (name, _, g) in quickstart_graphs(&sb) {
        let (_, sps) = g.get("/servicePrincipals?$filter=startswith(displayName,'MTO_Sync_')");
        for sp in sps["value"].as_array().unwrap() {
            assert!(
                !sp["tags"].to_string().contains("terraform-provider-mto"),
                "{name}: {sp}"
            );
        }
    }

    // The written-out way: plain import blocks from the inventory, and the
    // configuration Terraform generates from them, which applies with no
    // change either.
    let blocks = ws.outputs()["import_blocks"]["value"]
        .as_str()
        .expect("import blocks")
        .to_owned();
    let fresh = Workspace::new();
    let provider = std::fs::read_to_string(adopt_dir().join("main.tf")).unwrap();
    let start = provider.find("terraform {").unwrap();
    let end = provider.find("locals {").unwrap();
    fresh.write_file("main.tf", &provider[start..end]);
    fresh.write_file(
        "terraform.tfvars.json",
        &std::fs::read_to_string(ws.path().join("terraform.tfvars.json")).unwrap(),
    );
    fresh.write_file("imports.tf", &blocks);
    sb.reset_stats();
    let generated = fresh.run(&["plan", "-generate-config-out=generated.tf"]);
    generated.assert_success();
    assert!(
        generated
            .stdout
            .contains("Plan: 23 to import, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        generated.output()
    );
    fresh.apply().assert_success();
    fresh.assert_plan_empty();
    assert_eq!(sb.graph_writes(), Vec::<String>::new(), "nothing written");
}
