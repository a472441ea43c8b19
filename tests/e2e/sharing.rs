//! mto_outbound_share and mto_sync_job against the sandbox's real
//! synchronization engine.

use mto_e2e::{Sandbox, TENANT_A, TENANT_B, Workspace, test_users};
use serde_json::json;

use crate::lifecycle::Lifecycle;

const PARTNERS: &str = "/policies/crossTenantAccessPolicy/partners";

fn user(i: usize) -> String {
    test_users(&TENANT_A)[i].0.clone()
}

/// B accepts A; A shares `users` with B; a job provisions them.
fn config(sb: &Sandbox, users: &[String], user_type: &str, enabled: bool) -> String {
    format!(
        r#"{}
data "mto_users" "b" {{
  tenant_id  = "{b}"
  depends_on = [mto_sync_job.a_to_b]
}}

output "people_in_b" {{
  value = {{ for u in data.mto_users.b.users : u.display_name => u.kind }}
}}
"#,
        resources(sb, users, user_type, enabled),
        b = TENANT_B.id,
    )
}

/// The resources of [`config`] alone: what People Search finds in B moves
/// with every background synchronization cycle, so a configuration whose
/// plans must stay empty while the engine runs does not read it.
fn resources(sb: &Sandbox, users: &[String], user_type: &str, enabled: bool) -> String {
    format!(
        r#"{provider}
resource "mto_inbound_acceptance" "b_from_a" {{
  tenant_id        = "{b}"
  source_tenant_id = "{a}"
}}

resource "mto_outbound_share" "a_to_b" {{
  tenant_id        = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id = mto_inbound_acceptance.b_from_a.tenant_id
  user_ids         = {users}
}}

resource "mto_sync_job" "a_to_b" {{
  tenant_id            = mto_outbound_share.a_to_b.tenant_id
  service_principal_id = mto_outbound_share.a_to_b.service_principal_id
  user_type            = "{user_type}"
  enabled              = {enabled}
  provision_on_demand  = mto_outbound_share.a_to_b.user_ids
}}
"#,
        provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
        users = serde_json::to_string(users).unwrap(),
    )
}

#[test]
fn share_provisions_the_users_as_members_people_search_finds() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&config(&sb, &[user(0)], "Member", true));
    ws.apply().assert_success();
    let people = &ws.outputs()["people_in_b"]["value"];
    assert_eq!(people["Alice A"], "b2b_member", "{people}");
    assert_eq!(
        people["Bruno A"],
        serde_json::Value::Null,
        "unshared users stay home: {people}"
    );
    assert_eq!(people["Alice B"], "internal");
    ws.assert_plan_empty();

    // A cycle changes nothing; the plan stays empty.
    let reports = sb.sync_now();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["state"], "Succeeded", "{reports:?}");
    assert_eq!(
        reports[0]["countExported"], 0,
        "nothing left to write: {reports:?}"
    );
    ws.assert_plan_empty();

    // The B2B member as Graph shows it in B.
    let b = sb.graph(&TENANT_B);
    let (_, found) = b.get("/users?$filter=startswith(displayName,'Alice A')&$select=userType,showInAddressList,userPrincipalName,creationType");
    let u = &found["value"][0];
    assert_eq!(u["userType"], "Member", "{found}");
    assert_eq!(u["showInAddressList"], true);
    assert!(
        u["userPrincipalName"]
            .as_str()
            .unwrap()
            .contains("#EXT#@tenantb.onmicrosoft.com"),
        "{u}"
    );
}

#[test]
fn outbound_share_lifecycle() {
    let sb = Sandbox::standard();
    let a = sb.graph(&TENANT_A);
    let name = format!("MTO_Sync_{}", TENANT_B.id);
    let find_sp = move |g: &mto_e2e::GraphApi| -> Option<serde_json::Value> {
        let (_, r) = g.get(&format!(
            "/servicePrincipals?$filter=displayName eq '{name}'"
        ));
        r["value"].as_array().and_then(|v| v.first().cloned())
    };
    let find = find_sp.clone();
    Lifecycle {
        address: "mto_outbound_share.a_to_b",
        // The drift below unassigns a user, which the engine may or may not
        // have deprovisioned by the time the repair is applied.
        config: resources(&sb, &[user(0)], "Member", true),
        updated: resources(&sb, &[user(0), user(1)], "Member", true),
        import_id: format!("{}/{}", TENANT_A.id, TENANT_B.id),
        standalone: false,
        check_created: Box::new(|v| {
            assert_eq!(v["configuration_name"], format!("MTO_Sync_{}", TENANT_B.id));
            assert!(
                v["service_principal_id"]
                    .as_str()
                    .is_some_and(|s| s.len() == 36)
            );
        }),
        check_updated: Box::new(|v| assert_eq!(v["user_ids"].as_array().unwrap().len(), 2)),
        drift: Some(Box::new(|| {
            let sp = find_sp(&a).expect("configuration");
            let sp_id = sp["id"].as_str().unwrap();
            let (_, list) = a.get(&format!("/servicePrincipals/{sp_id}/appRoleAssignedTo"));
            let first = list["value"][0]["id"].as_str().unwrap().to_owned();
            assert_eq!(
                a.delete(&format!(
                    "/servicePrincipals/{sp_id}/appRoleAssignedTo/{first}"
                )),
                204
            );
        })),
        delete: Box::new(|| {
            let sp = find(&a).expect("configuration");
            let (_, apps) = a.get(&format!(
                "/applications?$filter=appId eq '{}'",
                sp["appId"].as_str().unwrap()
            ));
            let app_id = apps["value"][0]["id"].as_str().unwrap().to_owned();
            assert_eq!(a.delete(&format!("/applications/{app_id}")), 204);
        }),
        assert_gone: Box::new(|| {
            let g = sb.graph(&TENANT_A);
            let (_, r) = g.get(&format!(
                "/servicePrincipals?$filter=displayName eq 'MTO_Sync_{}'",
                TENANT_B.id
            ));
            assert_eq!(r["value"].as_array().map(Vec::len), Some(0), "{r}");
            assert_eq!(
                g.get(&format!("{PARTNERS}/{}", TENANT_B.id)).0,
                404,
                "partner configuration left behind"
            );
        }),
    }
    .run();
}

#[test]
fn sync_job_lifecycle() {
    let sb = Sandbox::standard();
    let a = sb.graph(&TENANT_A);
    let sp_of = |g: &mto_e2e::GraphApi| -> String {
        let (_, r) = g.get(&format!(
            "/servicePrincipals?$filter=displayName eq 'MTO_Sync_{}'",
            TENANT_B.id
        ));
        r["value"][0]["id"].as_str().unwrap().to_owned()
    };
    let job_of = |g: &mto_e2e::GraphApi, sp: &str| -> String {
        let (_, r) = g.get(&format!("/servicePrincipals/{sp}/synchronization/jobs"));
        r["value"][0]["id"].as_str().unwrap().to_owned()
    };
    Lifecycle {
        address: "mto_sync_job.a_to_b",
        // The update converts users to guests on the engine's next cycle,
        // whenever that comes: a plan must not depend on it.
        config: resources(&sb, &[user(0)], "Member", true),
        updated: resources(&sb, &[user(0)], "Guest", true),
        import_id: String::new(),
        standalone: false,
        check_created: Box::new(|v| {
            assert_eq!(v["enabled"], true);
            assert_eq!(v["user_type"], "Member");
            assert_eq!(v["show_in_address_list"], true);
        }),
        check_updated: Box::new(|v| assert_eq!(v["user_type"], "Guest")),
        drift: Some(Box::new(|| {
            let sp = sp_of(&a);
            let job = job_of(&a, &sp);
            assert_eq!(
                a.post(
                    &format!("/servicePrincipals/{sp}/synchronization/jobs/{job}/pause"),
                    json!({})
                )
                .0,
                204
            );
        })),
        delete: Box::new(|| {
            let sp = sp_of(&a);
            let job = job_of(&a, &sp);
            assert_eq!(
                a.delete(&format!(
                    "/servicePrincipals/{sp}/synchronization/jobs/{job}"
                )),
                204
            );
        }),
        assert_gone: Box::new(|| {
            // The share is destroyed too, and its jobs with it.
            let (_, r) = sb.graph(&TENANT_A).get(&format!(
                "/servicePrincipals?$filter=displayName eq 'MTO_Sync_{}'",
                TENANT_B.id
            ));
            assert_eq!(r["value"].as_array().map(Vec::len), Some(0), "{r}");
        }),
    }
    .run();
}

#[test]
fn a_share_the_target_has_not_accepted_fails_with_the_fix() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&format!(
        r#"{provider}
resource "mto_outbound_share" "a_to_b" {{
  tenant_id        = "{a}"
  target_tenant_id = "{b}"
  user_ids         = ["{u}"]
  timeouts {{ create = "30s" }}
}}
"#,
        provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
        u = user(0),
    ));
    ws.apply().assert_failure_mentions(&[
        "does not accept synchronization",
        "AzureDirectoryB2BManagementPolicyCheckFailure",
        "mto_inbound_acceptance",
    ]);
}

#[test]
fn an_empty_user_set_is_refused_at_plan() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&config(&sb, &[], "Member", true));
    ws.run(&["plan"])
        .assert_failure_mentions(&["Nothing to share", "user_ids"]);
}

#[test]
fn an_unknown_user_type_is_refused_at_plan() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&config(&sb, &[user(0)], "Visitor", true));
    ws.run(&["plan"])
        .assert_failure_mentions(&["Invalid value", "user_type", "Member, Guest"]);
}

#[test]
fn a_quarantined_job_shows_in_plan_and_apply_repairs_it() {
    let sb = Sandbox::standard();
    let ws = Workspace::new();
    ws.write_config(&config(&sb, &[user(0)], "Member", true));
    ws.apply().assert_success();
    // B withdraws inbound sync behind Terraform's back; the next cycle quarantines the job.
    let b = sb.graph(&TENANT_B);
    let sync = format!("{PARTNERS}/{}/identitySynchronization", TENANT_A.id);
    assert_eq!(
        b.patch(&sync, json!({"userSyncInbound": {"isSyncAllowed": false}})),
        204
    );
    let reports = sb.sync_now();
    assert_eq!(reports[0]["statusCode"], "Quarantine", "{reports:?}");
    let r = ws.plan_exit_code();
    assert_eq!(r.code, 2, "{}", r.output());
    let out = mto_e2e::unwrap_lines(&r.output());
    assert!(out.contains("is quarantined"), "{}", r.output());
    assert!(
        out.contains("mto_sync_job.a_to_b will be updated in-place"),
        "{}",
        r.output()
    );
    // Apply restores B's acceptance (drift) and restarts the job.
    ws.apply().assert_success();
    let reports = sb.sync_now();
    assert_ne!(reports[0]["statusCode"], "Quarantine", "{reports:?}");
    ws.run(&["apply", "-refresh-only", "-auto-approve"])
        .assert_success();
    let job = ws.resource_values("mto_sync_job.a_to_b");
    assert_ne!(job["status"]["code"], "Quarantine", "{job}");
    ws.assert_plan_empty();
}

/// Object ids of the extra principals [`sandbox_with_strangers`] seeds in A.
const GUEST: &str = "aaaaaaaa-2222-4000-8000-000000000001";
const SALES: &str = "aaaaaaaa-3333-4000-8000-000000000001";
const TYPO: &str = "aaaaaaaa-1111-4000-8000-0000000000ff";

/// The standard sandbox, plus a B2B guest and a security group in A.
fn sandbox_with_strangers() -> Sandbox {
    let mut seed = mto_e2e::standard_seed();
    let a = &mut seed["tenants"][0];
    a["users"].as_array_mut().unwrap().push(json!({
        "id": GUEST,
        "displayName": "Gina Guest",
        "userPrincipalName": "gina_fabrikam.com#EXT#@tenanta.onmicrosoft.com",
        "mail": "gina@fabrikam.com",
        "userType": "Guest",
    }));
    a["groups"] = json!([{"id": SALES, "displayName": "Sales", "members": [user(0)]}]);
    Sandbox::start(mto_e2e::SandboxOptions {
        seed,
        ..Default::default()
    })
}

/// `terraform apply` of a share of `users` and `groups` that must fail at
/// plan, in seconds, naming `fragments`; afterwards nothing exists in A.
fn check_refused_at_plan(users: &[&str], groups: &[&str], fragments: &[&str]) {
    let sb = sandbox_with_strangers();
    let ws = Workspace::new();
    let share = format!(
        r#"{provider}
resource "mto_outbound_share" "a_to_b" {{
  tenant_id        = "{a}"
  target_tenant_id = "{b}"
  user_ids         = {users}
  group_ids        = {groups}
}}
"#,
        provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
        users = serde_json::to_string(users).unwrap(),
        groups = serde_json::to_string(groups).unwrap(),
    );
    ws.write_config(&share);
    let started = std::time::Instant::now();
    let plan = ws.run(&["plan", "-no-color"]);
    let took = started.elapsed();
    eprintln!("plan refused in {took:.1?}");
    plan.assert_failure_mentions(fragments);
    assert!(
        took < std::time::Duration::from_secs(5),
        "the plan took {took:?}"
    );
    ws.apply().assert_failure_mentions(fragments);
    let a = sb.graph(&TENANT_A);
    let (_, sps) = a.get(&format!(
        "/servicePrincipals?$filter=displayName eq 'MTO_Sync_{}'",
        TENANT_B.id
    ));
    assert_eq!(sps["value"], json!([]), "nothing may be created: {sps}");
    assert_eq!(a.get(&format!("{PARTNERS}/{}", TENANT_B.id)).0, 404);
}

#[test]
fn a_typo_in_user_ids_fails_the_plan_in_seconds_naming_the_element() {
    let alice = user(0);
    check_refused_at_plan(
        &[&alice, TYPO],
        &[],
        &[
            "No such user",
            "user_ids",
            TYPO,
            "has no user with this object id",
        ],
    );
}

#[test]
fn a_guest_in_user_ids_is_refused_at_plan_because_guests_are_never_synchronized() {
    check_refused_at_plan(
        &[GUEST],
        &[],
        &[
            "A guest or B2B user cannot be shared",
            GUEST,
            "never synchronized",
        ],
    );
}

#[test]
fn users_and_groups_in_each_others_lists_are_refused_at_plan() {
    let alice = user(0);
    check_refused_at_plan(
        &[SALES],
        &[&alice],
        &[
            "A group in user_ids",
            "list it in group_ids",
            "A user in group_ids",
            "list it in user_ids",
        ],
    );
}

#[test]
fn an_id_twice_in_different_case_is_refused_at_plan() {
    let alice = user(0);
    let upper = alice.to_uppercase();
    check_refused_at_plan(
        &[&alice, &upper],
        &[],
        &["The same object twice", "compared without regard to case"],
    );
}

#[test]
fn provisioning_on_demand_paces_itself_keeps_its_progress_and_resumes() {
    // 55 users are 11 provisionOnDemand requests: at Graph's 5 per 10 s,
    // over 20 s. A 30 s create leaves time for about two windows.
    let mut seed = mto_e2e::standard_seed();
    let ids: Vec<String> = (0..55)
        .map(|i| format!("aaaaaaaa-4444-4000-8000-0000000000{i:02}"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        seed["tenants"][0]["users"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "id": id,
                "displayName": format!("Many {i:02}"),
                "userPrincipalName": format!("many{i:02}@tenanta.onmicrosoft.com"),
                "mail": format!("many{i:02}@tenanta.onmicrosoft.com"),
            }));
    }
    let sb = Sandbox::start(mto_e2e::SandboxOptions {
        seed,
        ..Default::default()
    });
    let ws = Workspace::new();
    let config = resources(&sb, &ids, "Member", true).replace(
        "  provision_on_demand  = mto_outbound_share.a_to_b.user_ids\n",
        "  provision_on_demand  = mto_outbound_share.a_to_b.user_ids\n  timeouts { create = \"30s\" }\n",
    );
    ws.write_config(&config);
    let first = ws.apply();
    first.assert_success();
    let out = mto_e2e::unwrap_lines(&first.output());
    assert!(
        out.contains("Not every user was provisioned on demand"),
        "{}",
        first.output()
    );
    // The next plan carries on with the rest, and the apply finishes them.
    let plan = ws.plan_exit_code();
    assert_eq!(plan.code, 2, "{}", plan.output());
    assert!(
        mto_e2e::unwrap_lines(&plan.output()).contains("users of provision_on_demand to do"),
        "{}",
        plan.output()
    );
    let second = ws.apply();
    second.assert_success();
    assert!(
        !mto_e2e::unwrap_lines(&second.output()).contains("Not every user"),
        "{}",
        second.output()
    );
    ws.assert_plan_empty();
    let b = sb.graph(&TENANT_B);
    let (_, found) = b.get("/users?$filter=startswith(displayName,'Many')&$select=id&$top=999");
    assert_eq!(
        found["value"].as_array().map(Vec::len),
        Some(55),
        "every user is in B after the second apply: {found}"
    );
}
