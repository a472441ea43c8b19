use mto_e2e::{Sandbox, TENANT_A, TENANT_B};
use serde_json::json;

use crate::lifecycle::Lifecycle;

const MTO: &str = "/tenantRelationships/multiTenantOrganization";

fn config(sb: &Sandbox, name: &str, description: &str) -> String {
    format!(
        "{}\nresource \"mto_organization\" \"this\" {{\n  tenant_id    = \"{}\"\n  display_name = \"{name}\"\n  description  = \"{description}\"\n}}\n",
        sb.provider_block(&[&TENANT_A]),
        TENANT_A.id
    )
}

#[test]
fn organization_lifecycle() {
    let sb = Sandbox::standard();
    let a = sb.graph(&TENANT_A);
    Lifecycle {
        address: "mto_organization.this",
        config: config(&sb, "Contoso group", "all tenants"),
        updated: config(&sb, "Contoso group", "renamed description"),
        import_id: TENANT_A.id.to_owned(),
        standalone: true,
        check_created: Box::new(|v| {
            assert_eq!(v["state"], "active");
            assert!(v["id"].as_str().is_some_and(|s| !s.is_empty()));
            assert_eq!(v["display_name"], "Contoso group");
        }),
        check_updated: Box::new(|v| assert_eq!(v["description"], "renamed description")),
        drift: Some(Box::new(|| {
            assert_eq!(a.patch(MTO, json!({"displayName": "changed by hand"})), 204)
        })),
        delete: Box::new(|| {
            assert_eq!(a.delete(&format!("{MTO}/tenants/{}", TENANT_A.id)), 204);
            a.eventually(10, "the organization to be deleted", |g| {
                g.get(MTO).1["state"] == "inactive"
            });
        }),
        assert_gone: Box::new(|| assert_eq!(a.get(MTO).1["state"], "inactive")),
    }
    .run();
}

#[test]
fn organization_destroy_explains_which_tenants_must_go_first() {
    let sb = Sandbox::standard();
    let ws = mto_e2e::Workspace::new();
    ws.write_config(&config(&sb, "Org", "d"));
    ws.apply().assert_success();
    // Another tenant joins behind Terraform's back.
    let (a, b) = (sb.graph(&TENANT_A), sb.graph(&TENANT_B));
    assert_eq!(
        a.post(
            &format!("{MTO}/tenants"),
            json!({"tenantId": TENANT_B.id, "displayName": "B"})
        )
        .0,
        201
    );
    assert_eq!(
        b.patch(
            &format!("{MTO}/joinRequest"),
            json!({"addedByTenantId": TENANT_A.id})
        ),
        204
    );
    b.eventually(10, "B to join", |g| {
        g.get(&format!("{MTO}/joinRequest")).1["memberState"] == "active"
    });
    ws.destroy()
        .assert_failure_mentions(&["still has other tenants", TENANT_B.id]);
}

#[test]
fn existing_organization_with_another_name_is_not_taken_over() {
    let sb = Sandbox::standard();
    let a = sb.graph(&TENANT_A);
    assert_eq!(a.put(MTO, json!({"displayName": "Someone else's"})), 201);
    let ws = mto_e2e::Workspace::new();
    ws.write_config(&config(&sb, "Ours", "d"));
    ws.apply()
        .assert_failure_mentions(&["already belongs to the organization", "terraform import"]);
}

#[test]
fn organization_interrupted_after_create_is_adopted() {
    let sb = Sandbox::standard();
    let a = sb.graph(&TENANT_A);
    // What an apply killed right after the PUT leaves behind.
    assert_eq!(
        a.put(
            MTO,
            json!({"displayName": "Contoso group", "description": "all tenants"})
        ),
        201
    );
    let ws = mto_e2e::Workspace::new();
    ws.write_config(&config(&sb, "Contoso group", "all tenants"));
    ws.apply().assert_success();
    ws.assert_plan_empty();
}
