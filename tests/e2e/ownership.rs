//! What the provider owns: a destroy of an object it did not create says
//! what it removes and what stays; two resources for one object (ids
//! spelled in different letter case) are refused at plan; a respelled id
//! is a state change only.

use mto_e2e::{Sandbox, TENANT_A, TENANT_B, Workspace};

const UNOWNED: &str = "Destroying an object this provider did not create";

/// B accepts A and A shares one user with B.
fn share_config(sb: &Sandbox) -> String {
    let alice = mto_e2e::test_users(&TENANT_A)[0].0.clone();
    format!(
        r#"{provider}
resource "mto_inbound_acceptance" "b_from_a" {{
  tenant_id        = "{b}"
  source_tenant_id = "{a}"
}}

resource "mto_outbound_share" "a_to_b" {{
  tenant_id        = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id = mto_inbound_acceptance.b_from_a.tenant_id
  user_ids         = ["{alice}"]
}}
"#,
        provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
    )
}

fn acceptance(sb: &Sandbox, names_and_sources: &[(&str, &str)]) -> String {
    let mut hcl = sb.provider_block(&[&TENANT_A, &TENANT_B]);
    for (name, source) in names_and_sources {
        hcl.push_str(&format!(
            r#"
resource "mto_inbound_acceptance" "{name}" {{
  tenant_id        = "{b}"
  source_tenant_id = "{source}"
}}
"#,
            b = TENANT_B.id
        ));
    }
    hcl
}

#[test]
fn destroying_an_imported_share_warns_what_it_removes_and_what_stays() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&share_config(&sb));
    ws.apply().assert_success();

    // What this state created destroys without a warning.
    let own = ws.run(&["plan", "-destroy"]);
    own.assert_success();
    assert!(!own.output().contains(UNOWNED), "{}", own.output());

    // The same objects imported into another state are someone else's work.
    let adopted = Workspace::new();
    adopted.write_config(&share_config(&sb));
    let (a, b) = (TENANT_A.id, TENANT_B.id);
    adopted
        .run(&[
            "import",
            "mto_inbound_acceptance.b_from_a",
            &format!("{b}/{a}"),
        ])
        .assert_success();
    adopted
        .run(&["import", "mto_outbound_share.a_to_b", &format!("{a}/{b}")])
        .assert_success();
    // Terraform folds warnings with one summary into one; its JSON view
    // keeps each.
    let plan = adopted.run(&["plan", "-destroy", "-json"]);
    plan.assert_success();
    let warnings: Vec<serde_json::Value> = plan
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["type"] == "diagnostic" && m["diagnostic"]["summary"] == UNOWNED)
        .map(|m| m["diagnostic"].clone())
        .collect();
    let about = |address: &str| -> String {
        let w: Vec<_> = warnings
            .iter()
            .filter(|w| w["address"] == address)
            .collect();
        assert_eq!(w.len(), 1, "one warning for {address}: {warnings:#?}");
        assert_eq!(w[0]["severity"], "warning");
        w[0]["detail"].as_str().unwrap().to_owned()
    };
    let share = about("mto_outbound_share.a_to_b");
    for fragment in [
        "deletes the configuration's application",
        "the partner configuration stays",
        "Users already synchronized stay",
    ] {
        assert!(share.contains(fragment), "missing {fragment:?}: {share}");
    }
    let accept = about("mto_inbound_acceptance.b_from_a");
    assert!(
        accept.contains("turns off inbound user synchronization"),
        "{accept}"
    );
    assert!(accept.contains(a), "names the object: {accept}");

    // The warning informs; it does not stop the destroy.
    adopted.destroy().assert_success();
}

#[test]
fn two_acceptances_that_differ_only_in_letter_case_are_refused_at_plan() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    let upper = TENANT_A.id.to_uppercase();
    ws.write_config(&acceptance(
        &sb,
        &[("lower", TENANT_A.id), ("upper", &upper)],
    ));
    let r = ws.run(&["plan"]);
    r.assert_failure_mentions(&[
        "Two resources manage the same object",
        "source_tenant_id",
        "ignoring letter case",
        "terraform state rm",
    ]);
    assert!(
        sb.graph_writes().is_empty(),
        "a refused plan writes nothing: {:?}",
        sb.graph_writes()
    );
}

#[test]
fn a_tenant_id_respelled_in_upper_case_is_an_in_place_change_that_writes_nothing() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&acceptance(&sb, &[("b_from_a", TENANT_A.id)]));
    ws.apply().assert_success();
    let before = ws.resource_values("mto_inbound_acceptance.b_from_a");

    let upper = TENANT_A.id.to_uppercase();
    ws.write_config(&acceptance(&sb, &[("b_from_a", &upper)]));
    let plan = ws.run(&["plan"]);
    plan.assert_success();
    assert!(
        plan.stdout
            .contains("mto_inbound_acceptance.b_from_a will be updated in-place")
            && plan.stdout.contains("0 to destroy"),
        "a respelling must not replace the acceptance:\n{}",
        plan.output()
    );

    sb.reset_stats();
    ws.apply().assert_success();
    assert_eq!(
        sb.graph_writes(),
        Vec::<String>::new(),
        "Graph sees no change"
    );
    let after = ws.resource_values("mto_inbound_acceptance.b_from_a");
    assert_eq!(after["source_tenant_id"], upper);
    assert_eq!(after["id"], before["id"], "same object");
    ws.assert_plan_empty();
}

const SYNC_TEMPLATE: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";

/// What an administrator makes in tenant A for a share with B: the
/// configuration `MTO_Sync_<B>` (its service principal id) and, with
/// `with_job`, its Azure2Azure job (its id).
fn admin_configuration(sb: &Sandbox, with_job: bool) -> (String, Option<String>) {
    let a = sb.graph(&TENANT_A);
    let (status, made) = a.post(
        &format!("/applicationTemplates/{SYNC_TEMPLATE}/instantiate"),
        serde_json::json!({"displayName": format!("MTO_Sync_{}", TENANT_B.id)}),
    );
    assert_eq!(status, 201, "{made}");
    let sp = made["servicePrincipal"]["id"].as_str().unwrap().to_owned();
    let job = with_job.then(|| {
        let (status, job) = a.post(
            &format!("/servicePrincipals/{sp}/synchronization/jobs"),
            serde_json::json!({"templateId": "Azure2Azure"}),
        );
        assert_eq!(status, 201, "{job}");
        job["id"].as_str().unwrap().to_owned()
    });
    (sp, job)
}

fn configurations_named_for_b(sb: &Sandbox) -> Vec<serde_json::Value> {
    let (_, r) = sb.graph(&TENANT_A).get(&format!(
        "/servicePrincipals?$filter=displayName eq 'MTO_Sync_{}'",
        TENANT_B.id
    ));
    r["value"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_new_share_over_an_administrators_configuration_fails_at_plan_with_its_import_id() {
    let sb = Sandbox::standard();
    let (sp, job) = admin_configuration(&sb, true);
    let ws = Workspace::new();
    ws.write_config(&share_config(&sb));
    let (a, b) = (TENANT_A.id, TENANT_B.id);
    sb.reset_stats();
    ws.run(&["plan"]).assert_failure_mentions(&[
        "The configuration already exists",
        &sp,
        "did not create",
        &format!("id = \"{a}/{b}\""),
        "configuration_name",
    ]);
    assert_eq!(
        sb.graph_writes(),
        Vec::<String>::new(),
        "the plan writes nothing"
    );

    // An apply refuses too, and creates nothing, not even the acceptance's
    // counterpart on the sharing side.
    ws.apply()
        .assert_failure_mentions(&["The configuration already exists"]);
    assert_eq!(
        configurations_named_for_b(&sb).len(),
        1,
        "no second configuration"
    );
    let (status, _) = sb
        .graph(&TENANT_A)
        .get(&format!("/policies/crossTenantAccessPolicy/partners/{b}"));
    assert_eq!(status, 404, "the share wrote nothing in A");

    // The way out the message gives: import it, and its job by the short id.
    let job = job.unwrap();
    ws.write_config(&format!(
        r#"{config}
import {{
  to = mto_outbound_share.a_to_b
  id = "{a}/{b}"
}}

import {{
  to = mto_sync_job.a_to_b
  id = "{a}/{b}"
}}

resource "mto_sync_job" "a_to_b" {{
  tenant_id            = mto_outbound_share.a_to_b.tenant_id
  service_principal_id = mto_outbound_share.a_to_b.service_principal_id
  enabled              = false
}}
"#,
        config = share_config(&sb)
    ));
    let plan = ws.run(&["plan"]);
    plan.assert_success();
    for fragment in [
        format!("mto_outbound_share.a_to_b: Preparing import... [id={a}/{b}]"),
        format!("mto_sync_job.a_to_b: Preparing import... [id={a}/{b}]"),
        "2 to import".to_owned(),
    ] {
        assert!(
            plan.stdout.contains(&fragment),
            "missing {fragment:?}:\n{}",
            plan.output()
        );
    }
    assert!(
        !plan
            .stdout
            .contains("mto_outbound_share.a_to_b will be created"),
        "{}",
        plan.output()
    );
    ws.apply().assert_success();
    let imported = ws.resource_values("mto_sync_job.a_to_b");
    assert_eq!(imported["job_id"], job.as_str());
    assert_eq!(imported["service_principal_id"], sp.as_str());
    let tags = &configurations_named_for_b(&sb)[0]["tags"];
    assert!(
        !tags.to_string().contains("terraform-provider-mto"),
        "an import marks nothing: {tags}"
    );
}

#[test]
fn a_share_takes_over_an_empty_untagged_configuration_with_a_warning_and_tags_it() {
    let sb = Sandbox::standard();
    let (sp, _) = admin_configuration(&sb, false);
    let ws = Workspace::new();
    ws.write_config(&share_config(&sb));
    let r = ws.apply();
    r.assert_success();
    let out = mto_e2e::unwrap_lines(&r.output());
    assert!(out.contains("Took over an empty configuration"), "{out}");
    let found = configurations_named_for_b(&sb);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], sp.as_str(), "the empty one, not a new one");
    assert!(
        found[0]["tags"]
            .to_string()
            .contains("terraform-provider-mto"),
        "{found:?}"
    );
    ws.assert_plan_empty();
    // Now it is this state's: its destroy does not warn.
    let destroy = ws.run(&["plan", "-destroy"]);
    assert!(!destroy.output().contains(UNOWNED), "{}", destroy.output());
}

#[test]
fn destroying_one_of_two_shares_to_a_target_keeps_redemption_for_the_other() {
    let sb = Sandbox::standard();
    let users = mto_e2e::test_users(&TENANT_A);
    let b = TENANT_B.id;
    let two = |both: bool| {
        let mut hcl = share_config(&sb);
        if both {
            hcl.push_str(&format!(
                r#"
resource "mto_outbound_share" "guests" {{
  tenant_id          = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id   = mto_inbound_acceptance.b_from_a.tenant_id
  configuration_name = "Guests to B"
  user_ids           = ["{second}"]
}}
"#,
                second = users[1].0,
            ));
        }
        hcl
    };
    let ws = Workspace::new();
    ws.write_config(&two(true));
    ws.apply().assert_success();
    ws.write_config(&two(false));
    ws.apply().assert_success();
    let (_, partner) = sb
        .graph(&TENANT_A)
        .get(&format!("/policies/crossTenantAccessPolicy/partners/{b}"));
    assert_eq!(
        partner["automaticUserConsentSettings"]["outboundAllowed"], true,
        "the remaining share still redeems: {partner}"
    );
    ws.assert_plan_empty();
    // The last one turns it off.
    ws.destroy().assert_success();
    let (_, partner) = sb
        .graph(&TENANT_A)
        .get(&format!("/policies/crossTenantAccessPolicy/partners/{b}"));
    assert_ne!(
        partner["automaticUserConsentSettings"]["outboundAllowed"], true,
        "{partner}"
    );
}

#[test]
fn what_an_interrupted_apply_of_ours_left_is_adopted_share_and_job_alike() {
    let sb = Sandbox::standard();
    // An apply that was killed after it tagged the configuration and made
    // the job: the next one must finish it, not refuse it.
    let (sp, job) = admin_configuration(&sb, true);
    let a = sb.graph(&TENANT_A);
    assert_eq!(
        a.patch(
            &format!("/servicePrincipals/{sp}"),
            serde_json::json!({"tags": ["WindowsAzureActiveDirectoryIntegratedApp", "terraform-provider-mto"]}),
        ),
        204
    );
    let ws = Workspace::new();
    ws.write_config(&format!(
        r#"{}
resource "mto_sync_job" "a_to_b" {{
  tenant_id            = mto_outbound_share.a_to_b.tenant_id
  service_principal_id = mto_outbound_share.a_to_b.service_principal_id
}}
"#,
        share_config(&sb)
    ));
    let r = ws.apply();
    r.assert_success();
    assert!(
        !r.output().contains("Took over"),
        "ours, silently finished:\n{}",
        r.output()
    );
    assert_eq!(configurations_named_for_b(&sb).len(), 1);
    assert_eq!(
        ws.resource_values("mto_outbound_share.a_to_b")["service_principal_id"],
        sp.as_str()
    );
    assert_eq!(
        ws.resource_values("mto_sync_job.a_to_b")["job_id"],
        job.unwrap().as_str()
    );
    let destroy = ws.run(&["plan", "-destroy"]);
    assert!(!destroy.output().contains(UNOWNED), "{}", destroy.output());
}
