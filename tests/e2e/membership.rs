//! mto_member_tenant and mto_join_request, which only make sense together.

use mto_e2e::{Sandbox, TENANT_A, TENANT_B, Workspace};
use serde_json::json;

use crate::lifecycle::Lifecycle;

const MTO: &str = "/tenantRelationships/multiTenantOrganization";

fn config(sb: &Sandbox, role: &str) -> String {
    format!(
        r#"{provider}
resource "mto_organization" "this" {{
  tenant_id    = "{a}"
  display_name = "Contoso group"
}}

resource "mto_member_tenant" "b" {{
  tenant_id        = mto_organization.this.tenant_id
  member_tenant_id = "{b}"
  display_name     = "Tenant B"
  role             = "{role}"
}}

resource "mto_join_request" "b" {{
  tenant_id       = mto_member_tenant.b.member_tenant_id
  owner_tenant_id = mto_member_tenant.b.tenant_id
}}
"#,
        provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
    )
}

#[test]
fn member_tenant_lifecycle() {
    let sb = Sandbox::standard();
    let a = sb.graph(&TENANT_A);
    let member = format!("{MTO}/tenants/{}", TENANT_B.id);
    Lifecycle {
        address: "mto_member_tenant.b",
        config: config(&sb, "member"),
        updated: config(&sb, "owner"),
        import_id: format!("{}/{}", TENANT_A.id, TENANT_B.id),
        standalone: false,
        check_created: Box::new(|v| {
            assert_eq!(v["role"], "member");
            assert_eq!(v["added_by_tenant_id"], TENANT_A.id);
        }),
        check_updated: Box::new(|v| assert_eq!(v["role"], "owner")),
        drift: Some(Box::new(|| {
            assert_eq!(a.patch(&member, json!({"role": "member"})), 204);
            a.eventually(10, "the role change", |g| {
                g.get(&member).1["role"] == "member"
            });
        })),
        delete: Box::new(|| {
            assert_eq!(a.delete(&member), 204);
            a.eventually(10, "the removal", |g| g.get(&member).0 == 404);
        }),
        assert_gone: Box::new(|| assert_eq!(a.get(&member).0, 404)),
    }
    .run();
}

#[test]
fn join_request_lifecycle() {
    let sb = Sandbox::standard();
    let (a, b) = (sb.graph(&TENANT_A), sb.graph(&TENANT_B));
    Lifecycle {
        address: "mto_join_request.b",
        config: config(&sb, "member"),
        // wait_for_active changes in place, without touching Graph.
        updated: config(&sb, "member").replace(
            "owner_tenant_id = mto_member_tenant.b.tenant_id\n",
            "owner_tenant_id = mto_member_tenant.b.tenant_id\n  wait_for_active = false\n",
        ),
        import_id: TENANT_B.id.to_owned(),
        standalone: false,
        check_created: Box::new(|v| {
            assert_eq!(v["member_state"], "active", "{v}");
            assert_eq!(v["role"], "member", "{v}");
            assert_eq!(v["owner_tenant_id"], TENANT_A.id, "{v}");
        }),
        check_updated: Box::new(|v| assert_eq!(v["wait_for_active"], false, "{v}")),
        // A join has nothing Graph lets change in place: leaving is the
        // delete below.
        drift: None,
        // B leaves behind Terraform's back: the join is planned again.
        delete: Box::new(|| {
            assert_eq!(b.delete(&format!("{MTO}/tenants/{}", TENANT_B.id)), 204);
            b.eventually(10, "B to leave", |g| g.get(MTO).1["state"] == "inactive");
        }),
        // Destroy leaves, and the organization goes with its owner.
        assert_gone: Box::new(|| {
            assert_eq!(b.get(MTO).1["state"], "inactive");
            assert_eq!(a.get(MTO).1["state"], "inactive");
        }),
    }
    .run();
}

#[test]
fn a_completed_join_turns_the_member_row_active() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&config(&sb, "member"));
    ws.apply().assert_success();
    ws.assert_plan_empty();
    // The member row turned active when the join completed; a refresh shows it.
    ws.run(&["apply", "-refresh-only", "-auto-approve"])
        .assert_success();
    let member = ws.resource_values("mto_member_tenant.b");
    assert_eq!(member["state"], "active");
    assert!(member["joined_date_time"].is_string(), "{member}");
}

#[test]
fn a_join_the_owner_never_allowed_fails_with_graphs_reason() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&format!(
        r#"{provider}
resource "mto_organization" "this" {{
  tenant_id    = "{a}"
  display_name = "Contoso group"
}}
resource "mto_join_request" "b" {{
  tenant_id       = "{b}"
  owner_tenant_id = mto_organization.this.tenant_id
  timeouts {{ create = "20s" }}
}}
"#,
        provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
    ));
    let r = ws.apply();
    r.assert_failure_mentions(&["did not join the organization", "failed"]);
}
