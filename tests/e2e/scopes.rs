//! Who is shared: all users narrowed by scoping filters, security groups
//! provisioned as groups, typed attribute mappings — through real
//! Terraform, checked in the target tenant through Graph.

use mto_e2e::{GraphApi, Sandbox, SandboxOptions, TENANT_A, TENANT_B, Workspace, standard_seed};
use serde_json::{Value, json};

use crate::lifecycle::Lifecycle;

/// The standard tenants, with departments on A's users and two security
/// groups in A: `Eng team` (Alice) and `Inner` (Chen), not nested yet.
fn sandbox() -> Sandbox {
    let mut seed = standard_seed();
    let a = seed["tenants"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["id"] == TENANT_A.id)
        .unwrap();
    for (user, department) in a["users"].as_array_mut().unwrap().iter_mut().zip([
        Some("Engineering"),
        Some("Sales"),
        None,
    ]) {
        if let Some(d) = department {
            user["department"] = json!(d);
        }
    }
    let domain = TENANT_A.domain;
    a["groups"] = json!([
        {"displayName": "Eng team", "description": "Engineers", "members": [format!("alice@{domain}")]},
        {"displayName": "Inner", "members": [format!("chen@{domain}")]},
    ]);
    Sandbox::start(SandboxOptions {
        seed,
        // Cycles run when a test asks (sync_now), so each step sees one.
        extra_args: vec!["--sync-interval".into(), "1h".into()],
        ..Default::default()
    })
}

fn user_id(g: &GraphApi, alias: &str) -> String {
    let (_, r) = g.get(&format!(
        "/users?$filter=userPrincipalName eq '{alias}@{}'",
        TENANT_A.domain
    ));
    r["value"][0]["id"].as_str().expect("user").to_owned()
}

fn group_id(g: &GraphApi, name: &str) -> String {
    let (_, r) = g.get(&format!("/groups?$filter=displayName eq '{name}'"));
    r["value"][0]["id"].as_str().expect("group").to_owned()
}

/// The display names of A's users present in B (B2B users from A).
fn shared_in_b(b: &GraphApi) -> Vec<String> {
    let (_, r) = b.get("/users?$select=displayName,userPrincipalName&$top=999");
    let mut names: Vec<String> = r["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            u["userPrincipalName"]
                .as_str()
                .is_some_and(|p| p.contains("#EXT#"))
        })
        .map(|u| u["displayName"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

fn deleted_in_b(b: &GraphApi) -> Vec<String> {
    let (_, r) = b.get("/directory/deletedItems/microsoft.graph.user?$select=displayName");
    r["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["displayName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn sync(sb: &Sandbox) -> Vec<Value> {
    let reports = sb.sync_now();
    assert_eq!(reports.len(), 1, "{reports:?}");
    reports
}

/// B accepts A (groups too when `groups`); A shares `scope`; a job with
/// `job_body` runs.
fn config(sb: &Sandbox, groups: bool, scope: &str, job_body: &str) -> String {
    format!(
        r#"{provider}
resource "mto_inbound_acceptance" "b_from_a" {{
  tenant_id          = "{b}"
  source_tenant_id   = "{a}"
  group_sync_allowed = {groups}
}}

resource "mto_outbound_share" "a_to_b" {{
  tenant_id        = mto_inbound_acceptance.b_from_a.source_tenant_id
  target_tenant_id = mto_inbound_acceptance.b_from_a.tenant_id
  {scope}
}}

resource "mto_sync_job" "a_to_b" {{
  tenant_id            = mto_outbound_share.a_to_b.tenant_id
  service_principal_id = mto_outbound_share.a_to_b.service_principal_id
{job_body}
}}
"#,
        provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        a = TENANT_A.id,
        b = TENANT_B.id,
    )
}

const ENGINEERING: &str = r#"
  scoping_filter {
    clause {
      attribute = "department"
      operator  = "EQUALS"
      values    = ["Engineering"]
    }
  }
"#;

#[test]
fn all_users_filtered_by_department_provisions_exactly_the_engineers_and_follows_changes() {
    let sb = sandbox();
    let (a, b) = (sb.graph(&TENANT_A), sb.graph(&TENANT_B));
    let ws = Workspace::new();
    ws.write_config(&config(&sb, false, "share_all_users = true", ENGINEERING));
    ws.apply().assert_success();
    sync(&sb);
    assert_eq!(shared_in_b(&b), ["Alice A"], "only the engineer");
    ws.assert_plan_empty();

    // Bruno moves to Engineering: he arrives with the next cycle.
    let bruno = user_id(&a, "bruno");
    assert_eq!(
        a.patch(
            &format!("/users/{bruno}"),
            json!({"department": "Engineering"})
        ),
        204
    );
    sync(&sb);
    assert_eq!(shared_in_b(&b), ["Alice A", "Bruno A"]);

    // Alice leaves it: soft-deleted in B, as Graph does.
    let alice = user_id(&a, "alice");
    assert_eq!(
        a.patch(&format!("/users/{alice}"), json!({"department": "Sales"})),
        204
    );
    sync(&sb);
    assert_eq!(shared_in_b(&b), ["Bruno A"]);
    assert!(
        deleted_in_b(&b).contains(&"Alice A".to_owned()),
        "{:?}",
        deleted_in_b(&b)
    );
    ws.assert_plan_empty();
}

#[test]
fn a_scope_changed_out_of_band_is_drift() {
    let sb = sandbox();
    let a = sb.graph(&TENANT_A);
    let ws = Workspace::new();
    ws.write_config(&config(&sb, false, "share_all_users = true", ENGINEERING));
    ws.apply().assert_success();
    let sp = ws.resource_values("mto_outbound_share.a_to_b")["service_principal_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = ws.resource_values("mto_sync_job.a_to_b")["job_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An administrator switches the configuration to "assigned users only".
    assert_eq!(
        a.put(
            &format!("/servicePrincipals/{sp}/synchronization/secrets"),
            json!({"value": [{"key": "SyncAll", "value": "false"}]})
        ),
        204
    );
    let r = ws.plan_exit_code();
    assert_eq!(r.code, 2, "{}", r.output());
    assert!(r.stdout.contains("share_all_users"), "{}", r.output());
    ws.apply().assert_success();
    ws.assert_plan_empty();

    // ... and edits the filter's value in the job's schema.
    let path = format!("/servicePrincipals/{sp}/synchronization/jobs/{job}/schema");
    let (_, mut schema) = a.get(&path);
    let user = schema["synchronizationRules"][0]["objectMappings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["sourceObjectName"] == "User")
        .unwrap();
    user["scope"]["groups"][0]["clauses"][0]["targetOperand"]["values"] = json!(["Sales"]);
    assert_eq!(a.put(&path, schema), 204);
    let r = ws.plan_exit_code();
    assert_eq!(r.code, 2, "{}", r.output());
    assert!(r.stdout.contains("\"Sales\""), "{}", r.output());
    ws.apply().assert_success();
    ws.assert_plan_empty();
}

#[test]
fn a_shared_group_arrives_as_a_group_with_its_members_and_follows_them() {
    let sb = sandbox();
    let (a, b) = (sb.graph(&TENANT_A), sb.graph(&TENANT_B));
    let eng = group_id(&a, "Eng team");
    let ws = Workspace::new();
    ws.write_config(&config(
        &sb,
        true,
        &format!("group_ids = [\"{eng}\"]"),
        "  provision_groups = true\n",
    ));
    ws.apply().assert_success();
    sync(&sb);
    let members_in_b = |b: &GraphApi| -> Vec<String> {
        let (_, g) = b.get("/groups?$filter=displayName eq 'Eng team'");
        let id = g["value"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no group in B: {g}"))
            .to_owned();
        let (_, m) = b.get(&format!("/groups/{id}/members?$select=displayName"));
        let mut names: Vec<String> = m["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["displayName"].as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(members_in_b(&b), ["Alice A"]);
    assert_eq!(shared_in_b(&b), ["Alice A"]);
    ws.assert_plan_empty();

    // Bruno joins the group in A (members/$ref): he and his membership
    // arrive with the next cycle.
    let bruno = user_id(&a, "bruno");
    let (code, _) = a.post(
        &format!("/groups/{eng}/members/$ref"),
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{bruno}")}),
    );
    assert_eq!(code, 204);
    sync(&sb);
    assert_eq!(members_in_b(&b), ["Alice A", "Bruno A"]);

    // A nested group is not followed: Chen (in Inner) stays home.
    let inner = group_id(&a, "Inner");
    let (code, _) = a.post(
        &format!("/groups/{eng}/members/$ref"),
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{inner}")}),
    );
    assert_eq!(code, 204);
    sync(&sb);
    assert_eq!(members_in_b(&b), ["Alice A", "Bruno A"]);
    assert_eq!(shared_in_b(&b), ["Alice A", "Bruno A"]);
    let (_, inner_in_b) = b.get("/groups?$filter=displayName eq 'Inner'");
    assert_eq!(inner_in_b["value"].as_array().map(Vec::len), Some(0));
}

#[test]
fn groups_the_target_refuses_show_in_the_jobs_status() {
    let sb = sandbox();
    let (a, b) = (sb.graph(&TENANT_A), sb.graph(&TENANT_B));
    let eng = group_id(&a, "Eng team");
    let ws = Workspace::new();
    ws.write_config(&config(
        &sb,
        false,
        &format!("group_ids = [\"{eng}\"]"),
        "  provision_groups = true\n",
    ));
    ws.apply().assert_success();
    sync(&sb);
    // Users still arrive; the group does not.
    assert_eq!(shared_in_b(&b), ["Alice A"]);
    let (_, g) = b.get("/groups?$filter=displayName eq 'Eng team'");
    assert_eq!(g["value"].as_array().map(Vec::len), Some(0), "{g}");
    ws.run(&["apply", "-refresh-only", "-auto-approve"])
        .assert_success();
    let status = &ws.resource_values("mto_sync_job.a_to_b")["status"];
    let error = status["last_execution_error"].as_str().unwrap_or_default();
    assert!(error.contains("groupSyncInbound"), "{status}");

    // The target allows it: the next cycle provisions the group.
    ws.write_config(&config(
        &sb,
        true,
        &format!("group_ids = [\"{eng}\"]"),
        "  provision_groups = true\n",
    ));
    ws.apply().assert_success();
    sync(&sb);
    let (_, g) = b.get("/groups?$filter=displayName eq 'Eng team'");
    assert_eq!(g["value"].as_array().map(Vec::len), Some(1), "{g}");
}

fn job_title_mapping(value: &str) -> String {
    format!(
        r#"
  attribute_mapping {{
    target_attribute = "jobTitle"
    constant         = "{value}"
  }}
  attribute_mapping {{
    target_attribute = "department"
    expression       = "Append([department], \" (A)\")"
  }}
"#
    )
}

#[test]
fn an_attribute_mapping_change_is_a_one_line_diff_and_reaches_existing_users() {
    let sb = sandbox();
    let (a, b) = (sb.graph(&TENANT_A), sb.graph(&TENANT_B));
    let alice = user_id(&a, "alice");
    let scope = format!("user_ids = [\"{alice}\"]");
    let ws = Workspace::new();
    ws.write_config(&config(&sb, false, &scope, &job_title_mapping("Engineer")));
    ws.apply().assert_success();
    sync(&sb);
    let title_in_b = |b: &GraphApi| {
        let (_, r) = b.get("/users?$filter=startswith(displayName,'Alice A')&$select=jobTitle");
        r["value"][0]["jobTitle"].clone()
    };
    assert_eq!(title_in_b(&b), "Engineer");
    let (_, r) = b.get("/users?$filter=startswith(displayName,'Alice A')&$select=department");
    assert_eq!(
        r["value"][0]["department"], "Engineering (A)",
        "an expression mapping is evaluated"
    );
    ws.assert_plan_empty();

    ws.write_config(&config(
        &sb,
        false,
        &scope,
        &job_title_mapping("Staff Engineer"),
    ));
    let plan = ws.run(&["plan", "-no-color"]);
    plan.assert_success();
    let changes: Vec<&str> = plan.stdout.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(
        changes.len(),
        1,
        "one changed line expected:\n{}",
        plan.output()
    );
    assert!(
        changes[0].contains(r#"constant         = "Engineer" -> "Staff Engineer""#)
            || changes[0].contains(r#""Engineer" -> "Staff Engineer""#),
        "{}",
        changes[0]
    );
    ws.apply().assert_success();
    sync(&sb);
    assert_eq!(
        title_in_b(&b),
        "Staff Engineer",
        "the existing user is updated"
    );
    ws.assert_plan_empty();

    // An out-of-band edit of the managed mapping is drift.
    let sp = ws.resource_values("mto_outbound_share.a_to_b")["service_principal_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = ws.resource_values("mto_sync_job.a_to_b")["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/servicePrincipals/{sp}/synchronization/jobs/{job}/schema");
    let (_, mut schema) = a.get(&path);
    let user = schema["synchronizationRules"][0]["objectMappings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["sourceObjectName"] == "User")
        .unwrap();
    let title = user["attributeMappings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["targetAttributeName"] == "jobTitle")
        .unwrap();
    title["source"] =
        json!({"type": "Constant", "name": "Intern", "expression": "\"Intern\"", "parameters": []});
    assert_eq!(a.put(&path, schema), 204);
    let r = ws.plan_exit_code();
    assert_eq!(r.code, 2, "drift not shown:\n{}", r.output());
    assert!(r.stdout.contains("\"Intern\""), "{}", r.output());
    ws.apply().assert_success();
    ws.assert_plan_empty();
}

#[test]
fn invalid_scopes_and_mappings_fail_the_plan_on_their_paths() {
    let sb = sandbox();
    let check = |scope: &str, job: &str, fragments: &[&str]| {
        let ws = Workspace::new();
        ws.write_config(&config(&sb, false, scope, job));
        let r = ws.run(&["plan", "-no-color"]);
        r.assert_failure_mentions(fragments);
    };
    let alice = "user_ids = [\"00000000-0000-4000-8000-000000000001\"]";
    check(
        &format!("share_all_users = true\n  {alice}"),
        "",
        &["Assigned users with share_all_users", "user_ids"],
    );
    check(
        "share_all_users = true",
        r#"
  scoping_filter {
    clause {
      attribute = "userType"
      operator  = "EQUALS"
      values    = ["Member"]
    }
  }
"#,
        &["Attribute not allowed in a scoping filter", "userType"],
    );
    check(
        "share_all_users = true",
        r#"
  scoping_filter {
    clause {
      attribute = "department"
      operator  = "LIKE"
      values    = ["x"]
    }
  }
"#,
        // Terraform points at the attribute's line: the diagnostic's path.
        &["Unknown scoping filter operator", "operator = \"LIKE\""],
    );
    check(
        "share_all_users = true",
        r#"
  scoping_filter {
    clause {
      attribute = "country"
      operator  = "REGEX MATCH"
      values    = ["(DE"]
    }
  }
"#,
        &["Invalid regular expression"],
    );
    check(
        "share_all_users = true",
        r#"
  user_type = "Guest"
  attribute_mapping {
    target_attribute = "userType"
    constant         = "Member"
  }
"#,
        &["userType is set twice", "target_attribute = \"userType\""],
    );
    check(
        "share_all_users = true",
        r#"
  attribute_mapping {
    target_attribute = "jobTitle"
    constant         = "a"
  }
  attribute_mapping {
    target_attribute = "JobTitle"
    source_attribute = "jobTitle"
    expression       = "Join(\",\", [jobTitle])"
  }
"#,
        &["Target attribute mapped twice", "Give exactly one source"],
    );
}

/// The new attributes through the shared lifecycle: create, import (each
/// read back from Graph), update, drift, re-create, destroy.
#[test]
fn all_users_share_with_a_filtered_group_provisioning_job_lifecycle() {
    let sb = sandbox();
    let a = sb.graph(&TENANT_A);
    let sp_of = |g: &GraphApi| -> String {
        let (_, r) = g.get(&format!(
            "/servicePrincipals?$filter=displayName eq 'MTO_Sync_{}'",
            TENANT_B.id
        ));
        r["value"][0]["id"].as_str().unwrap().to_owned()
    };
    let job_of = |g: &GraphApi, sp: &str| -> String {
        let (_, r) = g.get(&format!("/servicePrincipals/{sp}/synchronization/jobs"));
        r["value"][0]["id"].as_str().unwrap().to_owned()
    };
    let body = |department: &str| {
        format!(
            r#"  provision_groups = true
  scoping_filter {{
    clause {{
      attribute = "department"
      operator  = "EQUALS"
      values    = ["{department}"]
    }}
    clause {{
      attribute = "country"
      operator  = "IS NULL"
    }}
  }}
  group_scoping_filter {{
    clause {{
      attribute = "displayName"
      operator  = "ENDS_WITH"
      values    = ["team"]
    }}
  }}
  attribute_mapping {{
    target_attribute = "jobTitle"
    source_attribute = "department"
    flow_type        = "ObjectAddOnly"
  }}
"#
        )
    };
    Lifecycle {
        address: "mto_sync_job.a_to_b",
        config: config(&sb, true, "share_all_users = true", &body("Engineering")),
        updated: config(&sb, true, "share_all_users = true", &body("Sales")),
        import_id: String::new(),
        standalone: false,
        check_created: Box::new(|v| {
            assert_eq!(v["provision_groups"], true, "{v}");
            assert_eq!(
                v["scoping_filter"][0]["clause"][0]["values"][0], "Engineering",
                "{v}"
            );
            assert_eq!(
                v["group_scoping_filter"][0]["clause"][0]["operator"],
                "ENDS_WITH"
            );
            assert_eq!(v["attribute_mapping"][0]["flow_type"], "ObjectAddOnly");
        }),
        check_updated: Box::new(|v| {
            assert_eq!(
                v["scoping_filter"][0]["clause"][0]["values"][0], "Sales",
                "{v}"
            )
        }),
        // The group mapping is switched off behind Terraform's back.
        drift: Some(Box::new(|| {
            let sp = sp_of(&a);
            let job = job_of(&a, &sp);
            let path = format!("/servicePrincipals/{sp}/synchronization/jobs/{job}/schema");
            let (_, mut schema) = a.get(&path);
            for m in schema["synchronizationRules"][0]["objectMappings"]
                .as_array_mut()
                .unwrap()
            {
                if m["sourceObjectName"] == "Group" {
                    m["enabled"] = json!(false);
                }
            }
            assert_eq!(a.put(&path, schema), 204);
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
fn all_users_share_and_group_acceptance_lifecycle() {
    let sb = sandbox();
    let (a, b) = (sb.graph(&TENANT_A), sb.graph(&TENANT_B));
    let alice = user_id(&a, "alice");
    let name = format!("MTO_Sync_{}", TENANT_B.id);
    let sp_of = move |g: &GraphApi| -> String {
        let (_, r) = g.get(&format!(
            "/servicePrincipals?$filter=displayName eq '{name}'"
        ));
        r["value"][0]["id"].as_str().unwrap().to_owned()
    };
    let sp_for_delete = sp_of.clone();
    Lifecycle {
        address: "mto_outbound_share.a_to_b",
        config: config(&sb, true, "share_all_users = true", ""),
        updated: config(&sb, true, &format!("user_ids = [\"{alice}\"]"), ""),
        import_id: format!("{}/{}", TENANT_A.id, TENANT_B.id),
        standalone: false,
        check_created: Box::new(|v| assert_eq!(v["share_all_users"], true, "{v}")),
        check_updated: Box::new(|v| {
            assert_eq!(v["share_all_users"], false, "{v}");
            assert_eq!(v["user_ids"].as_array().map(Vec::len), Some(1), "{v}");
        }),
        drift: Some(Box::new(|| {
            let sp = sp_of(&a);
            assert_eq!(
                a.put(
                    &format!("/servicePrincipals/{sp}/synchronization/secrets"),
                    json!({"value": [{"key": "SyncAll", "value": "true"}]})
                ),
                204
            );
        })),
        delete: Box::new(|| {
            let sp = sp_for_delete(&a);
            let (_, s) = a.get(&format!("/servicePrincipals/{sp}"));
            let (_, apps) = a.get(&format!(
                "/applications?$filter=appId eq '{}'",
                s["appId"].as_str().unwrap()
            ));
            let app_id = apps["value"][0]["id"].as_str().unwrap().to_owned();
            assert_eq!(a.delete(&format!("/applications/{app_id}")), 204);
        }),
        assert_gone: Box::new(|| {
            let (_, r) = sb.graph(&TENANT_A).get(&format!(
                "/servicePrincipals?$filter=displayName eq 'MTO_Sync_{}'",
                TENANT_B.id
            ));
            assert_eq!(r["value"].as_array().map(Vec::len), Some(0), "{r}");
        }),
    }
    .run();

    // The acceptance's group_sync_allowed, through the same lifecycle.
    let sync_policy = format!(
        "/policies/crossTenantAccessPolicy/partners/{}/identitySynchronization",
        TENANT_A.id
    );
    let beta = sb.graph_beta(&TENANT_B);
    Lifecycle {
        address: "mto_inbound_acceptance.b_from_a",
        config: config(&sb, true, "share_all_users = true", ""),
        updated: config(&sb, false, "share_all_users = true", ""),
        import_id: format!("{}/{}", TENANT_B.id, TENANT_A.id),
        standalone: false,
        check_created: Box::new(|v| assert_eq!(v["group_sync_allowed"], true, "{v}")),
        check_updated: Box::new(|v| assert_eq!(v["group_sync_allowed"], false, "{v}")),
        drift: Some(Box::new(|| {
            assert_eq!(
                beta.patch(
                    &sync_policy,
                    json!({"groupSyncInbound": {"isSyncAllowed": true}})
                ),
                204
            );
        })),
        delete: Box::new(|| {
            assert_eq!(b.delete(&sync_policy), 204);
            assert_eq!(
                b.delete(&format!(
                    "/policies/crossTenantAccessPolicy/partners/{}",
                    TENANT_A.id
                )),
                204
            );
        }),
        assert_gone: Box::new(|| {
            let (code, _) = sb.graph(&TENANT_B).get(&format!(
                "/policies/crossTenantAccessPolicy/partners/{}",
                TENANT_A.id
            ));
            assert_eq!(code, 404);
        }),
    }
    .run();
}
