//! mto_policy_templates and mto_inbound_acceptance.

use mto_e2e::{Sandbox, TENANT_A, TENANT_B, Workspace};
use serde_json::json;

use crate::lifecycle::Lifecycle;

const SYNC_TEMPLATE: &str =
    "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationIdentitySynchronization";
const PARTNER_TEMPLATE: &str =
    "/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration";
const PARTNERS: &str = "/policies/crossTenantAccessPolicy/partners";

fn templates(sb: &Sandbox, sync: bool) -> String {
    format!(
        "{}\nresource \"mto_policy_templates\" \"a\" {{\n  tenant_id                 = \"{}\"\n  user_sync_inbound_allowed = {sync}\n  inbound_auto_redeem       = true\n  outbound_auto_redeem      = true\n}}\n",
        sb.provider_block(&[&TENANT_A]),
        TENANT_A.id
    )
}

#[test]
fn policy_templates_lifecycle() {
    let sb = Sandbox::standard();
    let a = sb.graph(&TENANT_A);
    Lifecycle {
        address: "mto_policy_templates.a",
        config: templates(&sb, true),
        updated: templates(&sb, false),
        import_id: TENANT_A.id.to_owned(),
        standalone: true,
        check_created: Box::new(|v| {
            assert_eq!(v["user_sync_inbound_allowed"], true);
            assert_eq!(v["application_level"], json!(["existingPartners", "newPartners"]));
        }),
        check_updated: Box::new(|v| assert_eq!(v["user_sync_inbound_allowed"], false)),
        drift: Some(Box::new(|| {
            assert_eq!(a.patch(PARTNER_TEMPLATE, json!({"automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": true}})), 204)
        })),
        // Templates cannot be deleted; a reset is what "gone" means for them,
        // and it shows as drift rather than as a re-create.
        delete: Box::new(|| {
            assert_eq!(a.patch(SYNC_TEMPLATE, json!({"templateApplicationLevel": "none"})), 204);
        }),
        assert_gone: Box::new(|| {
            let (_, sync) = a.get(SYNC_TEMPLATE);
            assert!(sync["userSyncInbound"]["isSyncAllowed"].is_null(), "{sync}");
            let (_, partner) = a.get(PARTNER_TEMPLATE);
            assert!(partner["automaticUserConsentSettings"]["inboundAllowed"].is_null(), "{partner}");
        }),
    }
    .run_without_recreate();
}

#[test]
fn conflicting_template_levels_are_refused_at_plan() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&format!(
        "{}\nresource \"mto_policy_templates\" \"a\" {{\n  tenant_id         = \"{}\"\n  application_level = [\"none\", \"newPartners\"]\n}}\n",
        sb.provider_block(&[&TENANT_A]),
        TENANT_A.id
    ));
    ws.run(&["plan"])
        .assert_failure_mentions(&["Conflicting template levels", "application_level"]);
}

fn acceptance(sb: &Sandbox, auto_redeem: bool) -> String {
    format!(
        "{}\nresource \"mto_inbound_acceptance\" \"b_from_a\" {{\n  tenant_id        = \"{}\"\n  source_tenant_id = \"{}\"\n  auto_redeem      = {auto_redeem}\n}}\n",
        sb.provider_block(&[&TENANT_B]),
        TENANT_B.id,
        TENANT_A.id
    )
}

#[test]
fn inbound_acceptance_lifecycle() {
    let sb = Sandbox::standard();
    let b = sb.graph(&TENANT_B);
    let partner = format!("{PARTNERS}/{}", TENANT_A.id);
    let sync = format!("{partner}/identitySynchronization");
    Lifecycle {
        address: "mto_inbound_acceptance.b_from_a",
        config: acceptance(&sb, true),
        updated: acceptance(&sb, false),
        import_id: format!("{}/{}", TENANT_B.id, TENANT_A.id),
        standalone: true,
        check_created: Box::new(|v| {
            assert_eq!(v["user_sync_allowed"], true);
            assert_eq!(v["auto_redeem"], true);
        }),
        check_updated: Box::new(|v| assert_eq!(v["auto_redeem"], false)),
        drift: Some(Box::new(|| {
            assert_eq!(
                b.patch(&sync, json!({"userSyncInbound": {"isSyncAllowed": false}})),
                204
            )
        })),
        delete: Box::new(|| {
            assert_eq!(b.delete(&sync), 204);
            assert_eq!(b.delete(&partner), 204);
        }),
        assert_gone: Box::new(|| {
            assert_eq!(b.get(&sync).0, 404);
            assert_eq!(b.get(&partner).0, 404);
        }),
    }
    .run();
}

#[test]
fn acceptance_adopts_an_existing_partner_and_leaves_it_on_destroy() {
    let sb = Sandbox::standard();
    let b = sb.graph(&TENANT_B);
    let partner = format!("{PARTNERS}/{}", TENANT_A.id);
    // An admin-made partner configuration with a setting of its own.
    assert_eq!(
        b.post(
            PARTNERS,
            json!({"tenantId": TENANT_A.id, "inboundTrust": {"isMfaAccepted": true}})
        )
        .0,
        201
    );
    let ws = Workspace::new();
    ws.write_config(&acceptance(&sb, true));
    ws.apply().assert_success();
    ws.assert_plan_empty();
    ws.destroy().assert_success();
    let (status, doc) = b.get(&partner);
    assert_eq!(
        status, 200,
        "the admin's partner configuration must survive"
    );
    assert_eq!(doc["inboundTrust"]["isMfaAccepted"], true);
    assert_eq!(b.get(&format!("{partner}/identitySynchronization")).0, 404);
}

#[test]
fn acceptance_from_itself_is_refused_at_plan() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&format!(
        "{}\nresource \"mto_inbound_acceptance\" \"self\" {{\n  tenant_id        = \"{b}\"\n  source_tenant_id = \"{b}\"\n}}\n",
        sb.provider_block(&[&TENANT_B]),
        b = TENANT_B.id
    ));
    ws.run(&["plan"])
        .assert_failure_mentions(&["Same tenant on both sides", "source_tenant_id"]);
}

#[test]
fn a_tenant_missing_from_the_provider_block_is_refused_at_plan() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&format!(
        "{}\nresource \"mto_inbound_acceptance\" \"x\" {{\n  tenant_id        = \"{}\"\n  source_tenant_id = \"{}\"\n}}\n",
        sb.provider_block(&[&TENANT_A]),
        TENANT_B.id,
        TENANT_A.id
    ));
    ws.run(&["plan"])
        .assert_failure_mentions(&["Tenant not configured", TENANT_B.id, "tenant_id"]);
}

#[test]
fn under_replication_lag_apply_reads_back_and_the_next_plan_is_empty() {
    // Objects read as missing for 2 s after they are created.
    let sb = Sandbox::start(mto_e2e::SandboxOptions {
        seed: mto_e2e::standard_seed(),
        extra_args: vec!["--faults".into(), "lag=2s".into()],
        ..Default::default()
    });
    let ws = Workspace::new();
    ws.write_config(&acceptance(&sb, true));
    ws.apply().assert_success();
    ws.assert_plan_empty();
}
