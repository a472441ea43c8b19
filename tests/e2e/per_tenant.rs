//! Decentralized mode (`examples/per-tenant/`): three admins, three states,
//! each applied with its own tenant's credentials only. In every one of the
//! six orders the admins take turns, each applying whenever its plan is not
//! empty, until every plan is empty; then every tenant holds the other
//! tenants' shared users as B2B members. The errors an admin sees for the
//! other half of a pair not being there yet are the actionable ones, and the
//! next run fixes them without manual cleanup.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use mto_e2e::{Run, Sandbox, SandboxOptions, Workspace, quickstart_seed, unwrap_lines};
use serde_json::Value;

/// The example, as the admins have it.
fn example_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/per-tenant")
}

/// Rounds (each admin in turn) before the test gives up.
const MAX_ROUNDS: usize = 4;

/// The bound the README promises: each admin applies at most twice.
const MAX_APPLIES_PER_ADMIN: usize = 2;

/// One tenant of the quick start's seed, with what its admin needs.
#[derive(Clone)]
struct Admin {
    key: &'static str,
    id: String,
    name: String,
    client_id: String,
    secret: String,
    /// Display names of the users this tenant shares (from its tfvars).
    shared: BTreeSet<String>,
}

fn admins() -> Vec<Admin> {
    let seed = quickstart_seed();
    let tenants = seed["tenants"].as_array().expect("tenants");
    ["a", "b", "c"]
        .iter()
        .zip(tenants)
        .map(|(key, t)| {
            let vars: Value = serde_json::from_slice(
                &std::fs::read(example_dir().join(format!("admins/{key}.tfvars.json")))
                    .expect("admin tfvars"),
            )
            .expect("admin tfvars JSON");
            let ids: Vec<&str> = vars["shared_users"]
                .as_array()
                .expect("shared_users")
                .iter()
                .map(|v| v.as_str().expect("id"))
                .collect();
            let shared = t["users"]
                .as_array()
                .expect("users")
                .iter()
                .filter(|u| ids.contains(&u["id"].as_str().unwrap_or_default()))
                .map(|u| u["displayName"].as_str().expect("name").to_owned())
                .collect::<BTreeSet<_>>();
            assert_eq!(
                shared.len(),
                ids.len(),
                "{key}'s shared users are in the seed"
            );
            let s = |v: &Value| v.as_str().expect("string").to_owned();
            Admin {
                key,
                id: s(&t["id"]),
                name: s(&t["displayName"]),
                client_id: s(&t["apps"][0]["clientId"]),
                secret: s(&t["apps"][0]["clientSecret"]),
                shared,
            }
        })
        .collect()
}

/// One admin's working directory: the module, the shared input, its own
/// input, and its own credentials in the `ARM_*` environment (the shared
/// input holds none).
fn workspace(sb: &Sandbox, admin: &Admin) -> Workspace {
    let mut ws = Workspace::new();
    let module = std::fs::read_to_string(example_dir().join("tenant/main.tf")).expect("module");
    ws.write_file("main.tf", &module);
    for (from, to) in [
        (
            "organization.tfvars.json".to_owned(),
            "organization.tfvars.json",
        ),
        (
            format!("admins/{}.tfvars.json", admin.key),
            "admin.tfvars.json",
        ),
    ] {
        let text = std::fs::read_to_string(example_dir().join(from)).expect("tfvars");
        ws.write_file(to, &text);
    }
    if admin.key == "b" {
        // Through the module's variables (one tenant block) ...
        ws.env("TF_VAR_client_id", &admin.client_id)
            .env("TF_VAR_client_secret", &admin.secret);
    } else {
        // ... or through the environment (no tenant block).
        ws.env("ARM_TENANT_ID", &admin.id)
            .env("ARM_CLIENT_ID", &admin.client_id)
            .env("ARM_CLIENT_SECRET", &admin.secret);
    }
    ws.env("TF_VAR_graph_endpoint", &sb.url)
        .env("TF_VAR_login_endpoint", &sb.url)
        .env("TF_VAR_replication_grace_period", "3s");
    ws
}

const VAR_FILES: [&str; 2] = [
    "-var-file=organization.tfvars.json",
    "-var-file=admin.tfvars.json",
];

/// What one order of admins went through.
#[derive(Debug, Default)]
struct Report {
    order: String,
    /// Rounds until a round where every plan was empty (that round not counted).
    rounds: usize,
    /// Applies per admin key.
    applies: BTreeMap<&'static str, usize>,
    /// Every apply, in order: (admin key, run, how long it took).
    log: Vec<(&'static str, Run, Duration)>,
    wall: Duration,
}

impl Report {
    fn transcript(&self) -> String {
        self.log
            .iter()
            .map(|(k, r, t)| {
                format!(
                    "--- apply by {k} (exit {}, {t:.0?}):\n{}",
                    r.code,
                    r.output()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A sandbox with the quick start's tenants, and a workspace per admin.
struct Organization {
    sb: Sandbox,
    all: Vec<Admin>,
    spaces: Vec<Workspace>,
}

impl Organization {
    fn start() -> Organization {
        let all = admins();
        let sb = Sandbox::start(SandboxOptions {
            seed: quickstart_seed(),
            extra_args: vec!["--sync-interval".into(), "2s".into()],
            ..Default::default()
        });
        let spaces = all.iter().map(|a| workspace(&sb, a)).collect();
        Organization { sb, all, spaces }
    }

    /// Rewrites the shared input of every admin.
    fn share(&self, organization: &Value) {
        let text = serde_json::to_string_pretty(organization).expect("JSON");
        for ws in &self.spaces {
            ws.write_file("organization.tfvars.json", &text);
        }
    }
}

/// The shared input of the example.
fn shared_input() -> Value {
    serde_json::from_slice(
        &std::fs::read(example_dir().join("organization.tfvars.json")).expect("shared input"),
    )
    .expect("shared input JSON")
}

/// The admins of `order` take turns until a whole round plans empty.
fn converge(org: &Organization, order: &[usize]) -> Report {
    let (all, spaces) = (&org.all, &org.spaces);
    let started = Instant::now();
    let mut report = Report {
        order: order
            .iter()
            .map(|&i| all[i].key)
            .collect::<Vec<_>>()
            .join(""),
        ..Default::default()
    };
    for round in 1..=MAX_ROUNDS {
        let mut changed = false;
        for &i in order {
            let ws = &spaces[i];
            let mut plan = vec!["plan", "-detailed-exitcode"];
            plan.extend(VAR_FILES);
            let p = ws.run(&plan);
            // A plan that fails is as good a reason to apply as one with
            // changes: the apply shows the error.
            if p.code == 0 {
                continue;
            }
            changed = true;
            let mut apply = vec!["apply", "-auto-approve"];
            apply.extend(VAR_FILES);
            let t = Instant::now();
            let r = ws.run(&apply);
            *report.applies.entry(all[i].key).or_default() += 1;
            report.log.push((all[i].key, r, t.elapsed()));
        }
        if !changed {
            report.rounds = round - 1;
            report.wall = started.elapsed();
            return report;
        }
    }
    panic!(
        "order {} did not converge in {MAX_ROUNDS} rounds:\n{}",
        report.order,
        report.transcript()
    );
}

/// The B2B members (display names) in one tenant's directory, read as that
/// tenant's app.
fn b2b_members(sb: &Sandbox, admin: &Admin) -> BTreeSet<String> {
    let g = sb.graph_with_token(sb.token(&admin.id, &admin.client_id, &admin.secret));
    let (status, body) = g.get("/users?$top=999&$select=displayName,userPrincipalName,userType");
    assert_eq!(status, 200, "{body}");
    body["value"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| {
            u["userPrincipalName"]
                .as_str()
                .is_some_and(|p| p.contains("#EXT#"))
                && u["userType"] == "Member"
        })
        .map(|u| u["displayName"].as_str().expect("name").to_owned())
        .collect()
}

/// What one tenant holds of the mesh: (synchronization configurations by
/// the tenant they target, with their job count).
fn configurations(sb: &Sandbox, admin: &Admin) -> BTreeMap<String, usize> {
    let g = sb.graph_with_token(sb.token(&admin.id, &admin.client_id, &admin.secret));
    let (status, body) = g.get("/servicePrincipals?$filter=startswith(displayName,'MTO_Sync_')");
    assert_eq!(status, 200, "{body}");
    let mut out = BTreeMap::new();
    for sp in body["value"].as_array().expect("service principals") {
        let id = sp["id"].as_str().expect("id");
        let (_, jobs) = g.get(&format!("/servicePrincipals/{id}/synchronization/jobs"));
        let name = sp["displayName"].as_str().expect("name");
        *out.entry(name.trim_start_matches("MTO_Sync_").to_owned())
            .or_default() += jobs["value"].as_array().map_or(0, Vec::len);
    }
    out
}

/// The tenants of the organization, as the owner sees them: id → state.
fn organization_tenants(sb: &Sandbox, owner: &Admin) -> BTreeMap<String, String> {
    let g = sb.graph_with_token(sb.token(&owner.id, &owner.client_id, &owner.secret));
    let (status, body) = g.get("/tenantRelationships/multiTenantOrganization/tenants");
    assert_eq!(status, 200, "{body}");
    body["value"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| {
            (
                t["tenantId"].as_str().expect("id").to_owned(),
                t["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Everything the test asserts about one order, as a list of problems.
fn check(order: &[usize]) -> (Report, Vec<String>) {
    let org = Organization::start();
    let report = converge(&org, order);
    let (sb, all) = (&org.sb, &org.all);
    let mut problems = Vec::new();
    let first = &all[order[0]];
    // The first admin shares before anyone accepted: the actionable message,
    // and its next apply succeeds (the convergence above shows it did).
    let (_, first_run, _) = &report.log[0];
    let text = unwrap_lines(&first_run.output());
    for peer in all.iter().filter(|a| a.key != first.key) {
        let want = format!(
            "Tenant {} does not accept synchronization from {} yet",
            peer.id, first.id
        );
        // The hint names the acceptance the peer's admin must declare.
        let hint = format!(
            "mto_inbound_acceptance {{ tenant_id = \"{}\", source_tenant_id = \"{}\" }}",
            peer.id, first.id
        );
        if !text.contains(&want) || !text.contains(&hint) {
            problems.push(format!(
                "{}: the first apply by {} does not say {want:?} with {hint:?}",
                report.order, first.key
            ));
        }
    }
    // A member that applies before the owner: its join fails, saying why.
    if first.key != "a"
        && !text.contains(&format!(
            "Tenant {} did not join the organization",
            first.id
        ))
    {
        problems.push(format!(
            "{}: the first apply by {} (before the owner) does not report the failed join",
            report.order, first.key
        ));
    }
    for (key, n) in &report.applies {
        if *n > MAX_APPLIES_PER_ADMIN {
            problems.push(format!(
                "{}: admin {key} applied {n} times (at most {MAX_APPLIES_PER_ADMIN})",
                report.order
            ));
        }
    }
    // Each admin's last apply (the one after the others') succeeded.
    for admin in all {
        if let Some((_, r, _)) = report.log.iter().rev().find(|(k, _, _)| *k == admin.key)
            && r.code != 0
        {
            problems.push(format!(
                "{}: the last apply by {} failed",
                report.order, admin.key
            ));
        }
    }
    // Nothing half-made is left over: one configuration per peer, one job each.
    for admin in all {
        let want: BTreeMap<String, usize> = all
            .iter()
            .filter(|a| a.key != admin.key)
            .map(|a| (a.id.clone(), 1))
            .collect();
        let got = configurations(sb, admin);
        if got != want {
            problems.push(format!(
                "{}: {} has configurations (target → jobs) {got:?}, expected {want:?}",
                report.order, admin.name
            ));
        }
    }
    let members = organization_tenants(sb, &all[0]);
    let want: BTreeMap<String, String> = all
        .iter()
        .map(|a| (a.id.clone(), "active".to_owned()))
        .collect();
    if members != want {
        problems.push(format!(
            "{}: the organization has {members:?}, expected {want:?}",
            report.order
        ));
    }
    // Every tenant holds the others' shared users as B2B members. Provisioning
    // on demand put them there at apply; a cycle must keep them.
    sb.sync_now();
    for admin in all {
        let want: BTreeSet<String> = all
            .iter()
            .filter(|a| a.key != admin.key)
            .flat_map(|a| a.shared.iter().cloned())
            .collect();
        let got = b2b_members(sb, admin);
        if got != want {
            problems.push(format!(
                "{}: {} holds B2B members {got:?}, expected {want:?}",
                report.order, admin.name
            ));
        }
    }
    if !problems.is_empty() {
        problems.push(report.transcript());
    }
    (report, problems)
}

#[test]
fn three_admins_converge_in_every_order_with_at_most_two_applies_each() {
    let orders: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let started = Instant::now();
    let handles: Vec<_> = orders
        .iter()
        .map(|o| {
            let o = *o;
            std::thread::spawn(move || check(&o))
        })
        .collect();
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for h in handles {
        match h.join() {
            Ok((report, p)) => {
                let runs: Vec<String> = report
                    .log
                    .iter()
                    .map(|(k, r, t)| format!("{k}{} {t:.0?}", if r.code == 0 { "" } else { "✗" }))
                    .collect();
                summary.push(format!(
                    "{}: {} round(s), applies {:?}, {:.0?} [{}]",
                    report.order,
                    report.rounds,
                    report.applies,
                    report.wall,
                    runs.join(", ")
                ));
                problems.extend(p);
            }
            Err(e) => problems.push(format!(
                "an order panicked: {}",
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        }
    }
    eprintln!(
        "per-tenant orders ({:.0?} in all):\n  {}",
        started.elapsed(),
        summary.join("\n  ")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Retiring C, as the README says: mark it retiring (every admin's next run
/// removes the shares to and from it, deprovisioning both ways while every
/// acceptance is still in place), then C's admin destroys its state, then C
/// leaves the shared input (the others' next runs remove its acceptances and
/// its member row). Nothing of C stays in A or B, nothing of them in C.
#[test]
fn retiring_a_tenant_removes_its_people_everywhere_in_two_steps() {
    let org = Organization::start();
    let order = [0, 1, 2];
    let report = converge(&org, &order);
    let (sb, all) = (&org.sb, &org.all);
    let (a, b, c) = (&all[0], &all[1], &all[2]);
    assert!(
        b2b_members(sb, a).contains("Charlie Chen"),
        "{}",
        report.transcript()
    );

    let mut shared = shared_input();
    shared["tenants"]["c"]["retiring"] = Value::Bool(true);
    org.share(&shared);
    let step1 = converge(&org, &order);
    let members = |t: &Admin| b2b_members(sb, t);
    let names = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        members(a),
        names(&["Bob Baker", "Barbara Brooks"]),
        "{}",
        step1.transcript()
    );
    assert_eq!(
        members(b),
        names(&["Annie Archer"]),
        "{}",
        step1.transcript()
    );
    assert_eq!(members(c), names(&[]), "{}", step1.transcript());
    assert_eq!(configurations(sb, c), BTreeMap::new());
    assert_eq!(configurations(sb, a), BTreeMap::from([(b.id.clone(), 1)]));
    assert_eq!(configurations(sb, b), BTreeMap::from([(a.id.clone(), 1)]));

    let mut destroy = vec!["destroy", "-auto-approve"];
    destroy.extend(VAR_FILES);
    org.spaces[2].run(&destroy).assert_success();
    shared["tenants"]
        .as_object_mut()
        .expect("tenants")
        .remove("c");
    org.share(&shared);
    let step2 = converge(&org, &order[..2]);
    for (key, n) in &step2.applies {
        assert!(*n <= 1, "{key} applied {n} times:\n{}", step2.transcript());
    }
    assert_eq!(
        organization_tenants(sb, a),
        BTreeMap::from([
            (a.id.clone(), "active".to_owned()),
            (b.id.clone(), "active".to_owned())
        ]),
        "{}",
        step2.transcript()
    );
    assert_eq!(members(a), names(&["Bob Baker", "Barbara Brooks"]));
    assert_eq!(members(b), names(&["Annie Archer"]));
}
