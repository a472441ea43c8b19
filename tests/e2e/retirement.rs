//! Retiring a tenant from the quick start's mesh: removing it from the
//! membership list is one apply that un-shares it both ways; removing its
//! credentials afterwards is an empty plan. The census is taken through
//! Graph, tenant by tenant.

use std::collections::{BTreeMap, BTreeSet};

use mto_e2e::{GraphApi, Sandbox, SandboxOptions, Workspace, quickstart_dir, quickstart_seed};
use serde_json::{Value, json};

const WITHOUT_C: &str = r#"members=["a","b"]"#;

/// What one tenant holds of the mesh.
#[derive(Debug, PartialEq, Eq)]
struct Holdings {
    /// B2B users (by display name) in the tenant's directory.
    b2b_users: BTreeSet<String>,
    /// Synchronization configurations, by the tenant they target.
    configurations_for: BTreeSet<String>,
    jobs: usize,
    /// Partner configurations with a setting still on, by partner tenant:
    /// the settings that are on.
    partners_with_settings: BTreeMap<String, Vec<&'static str>>,
}

fn quick_start_tenants() -> Vec<(String, String, String, String)> {
    quickstart_seed()["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let app = &t["apps"][0];
            let s = |v: &Value| v.as_str().unwrap().to_owned();
            (
                s(&t["displayName"]),
                s(&t["id"]),
                s(&app["clientId"]),
                s(&app["clientSecret"]),
            )
        })
        .collect()
}

fn holdings(sb: &Sandbox, tenant: &(String, String, String, String)) -> Holdings {
    let (_, id, client, secret) = tenant;
    let g: GraphApi = sb.graph_with_token(sb.token(id, client, secret));
    let list = |path: &str| -> Vec<Value> {
        let (status, body) = g.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        body["value"].as_array().cloned().unwrap_or_default()
    };
    let b2b_users = list("/users?$top=999&$select=displayName,userPrincipalName")
        .iter()
        .filter(|u| {
            u["userPrincipalName"]
                .as_str()
                .is_some_and(|p| p.contains("#EXT#"))
        })
        .map(|u| u["displayName"].as_str().unwrap().to_owned())
        .collect();
    let sps = list("/servicePrincipals?$filter=startswith(displayName,'MTO_Sync_')");
    let configurations_for = sps
        .iter()
        .map(|s| {
            s["displayName"]
                .as_str()
                .unwrap()
                .trim_start_matches("MTO_Sync_")
                .to_owned()
        })
        .collect();
    let jobs = sps
        .iter()
        .map(|s| {
            list(&format!(
                "/servicePrincipals/{}/synchronization/jobs",
                s["id"].as_str().unwrap()
            ))
            .len()
        })
        .sum();
    let mut partners_with_settings = BTreeMap::new();
    for p in list("/policies/crossTenantAccessPolicy/partners?$expand=identitySynchronization") {
        let on = |v: &Value| v == &json!(true);
        let mut settings = Vec::new();
        if on(&p["automaticUserConsentSettings"]["inboundAllowed"]) {
            settings.push("inbound auto-redeem");
        }
        if on(&p["automaticUserConsentSettings"]["outboundAllowed"]) {
            settings.push("outbound auto-redeem");
        }
        if on(&p["identitySynchronization"]["userSyncInbound"]["isSyncAllowed"]) {
            settings.push("inbound user sync");
        }
        if on(&p["isInMultiTenantOrganization"]) {
            settings.push("in the organization");
        }
        if !settings.is_empty() {
            partners_with_settings.insert(p["tenantId"].as_str().unwrap().to_owned(), settings);
        }
    }
    Holdings {
        b2b_users,
        configurations_for,
        jobs,
        partners_with_settings,
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The quick start applied with all three tenants, then tenant C retired,
/// with `faults` injected during the retirement.
fn retire_c(faults: Value) {
    let sb = Sandbox::start(SandboxOptions {
        seed: quickstart_seed(),
        extra_args: vec!["--sync-interval".into(), "2s".into()],
        ..Default::default()
    });
    let mut ws = Workspace::new();
    ws.env("TF_VAR_sandbox_url", &sb.url);
    let main = std::fs::read_to_string(quickstart_dir().join("main.tf")).expect("main.tf");
    ws.write_file("main.tf", &main);
    ws.apply().assert_success();
    let tenants = quick_start_tenants();
    let (a, b, c) = (&tenants[0], &tenants[1], &tenants[2]);
    assert_eq!(
        holdings(&sb, c).b2b_users,
        names(&["Annie Archer", "Bob Baker", "Barbara Brooks"]),
        "the mesh was built"
    );

    // Both changes at once cannot work: C's resources need C's credentials
    // to be destroyed. The plan says so, and how to do it instead.
    let c_line = main
        .lines()
        .find(|l| l.trim_start().starts_with("c = {"))
        .expect("C's credentials in local.tenants");
    let without_c_credentials = main.replace(&format!("{c_line}\n"), "");
    ws.write_file("main.tf", &without_c_credentials);
    ws.run(&["plan", "-var", WITHOUT_C])
        .assert_failure_mentions(&[
            "Tenant not configured",
            "no longer has credentials",
            "in two changes",
            "terraform state rm",
        ]);
    ws.write_file("main.tf", &main);

    // One line: C leaves the membership list.
    sb.set_faults(faults);
    let retire = ws.run(&["apply", "-auto-approve", "-var", WITHOUT_C]);
    retire.assert_success();
    assert!(
        retire.stdout.contains("0 to add, 0 to change"),
        "retiring touches only C's resources:\n{}",
        retire.output()
    );
    sb.set_faults(json!({}));

    let on = |list: &[&'static str]| list.to_vec();
    let (a_id, b_id) = (&a.1, &b.1);
    assert_eq!(
        holdings(&sb, a),
        Holdings {
            b2b_users: names(&["Bob Baker", "Barbara Brooks"]),
            configurations_for: names(&[b_id]),
            jobs: 1,
            partners_with_settings: BTreeMap::from([(
                b_id.clone(),
                on(&[
                    "inbound auto-redeem",
                    "outbound auto-redeem",
                    "inbound user sync",
                    "in the organization"
                ])
            )]),
        },
        "A keeps B and nothing of C"
    );
    assert_eq!(
        holdings(&sb, b),
        Holdings {
            b2b_users: names(&["Annie Archer"]),
            configurations_for: names(&[a_id]),
            jobs: 1,
            partners_with_settings: BTreeMap::from([(
                a_id.clone(),
                on(&[
                    "inbound auto-redeem",
                    "outbound auto-redeem",
                    "inbound user sync",
                    "in the organization"
                ])
            )]),
        },
        "B keeps A and nothing of C"
    );
    assert_eq!(
        holdings(&sb, c),
        Holdings {
            b2b_users: BTreeSet::new(),
            configurations_for: BTreeSet::new(),
            jobs: 0,
            partners_with_settings: BTreeMap::new(),
        },
        "C holds nothing of the mesh"
    );
    let problems = &ws.outputs()["problems"]["value"];
    assert_eq!(problems, &json!([]), "People Search in A and B is whole");
    let r = ws.run(&["plan", "-detailed-exitcode", "-var", WITHOUT_C]);
    assert_eq!(r.code, 0, "second plan not empty:\n{}", r.output());

    // The second, safe change: C's credentials go too.
    ws.write_file("main.tf", &without_c_credentials);
    let r = ws.run(&["plan", "-detailed-exitcode", "-var", WITHOUT_C]);
    assert_eq!(
        r.code,
        0,
        "plan without C's credentials not empty:\n{}",
        r.output()
    );
}

#[test]
fn retiring_a_tenant_is_one_line_one_apply_and_leaves_nothing_of_it_anywhere() {
    retire_c(json!({}));
}

#[test]
fn retiring_a_tenant_under_throttling_and_replication_lag_leaves_the_same_census() {
    retire_c(json!({"throttle": 0.2, "lag": "2s", "seed": 11}));
}
