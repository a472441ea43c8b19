//! The quick start's configuration under faults, interruptions and a
//! restarted Graph: every run converges, nothing is lost and nothing is
//! duplicated (counted object by object through Graph).

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use mto_e2e::{GraphApi, Sandbox, SandboxOptions, Workspace, quickstart_dir, quickstart_seed};

fn sandbox(extra: &[&str], persistent: bool) -> Sandbox {
    let mut args: Vec<String> = vec!["--sync-interval".into(), "2s".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    Sandbox::start(SandboxOptions {
        seed: quickstart_seed(),
        extra_args: args,
        persistent,
        ..Default::default()
    })
}

fn workspace(sb: &Sandbox) -> Workspace {
    let mut ws = Workspace::new();
    ws.env("TF_VAR_sandbox_url", &sb.url);
    std::fs::copy(quickstart_dir().join("main.tf"), ws.path().join("main.tf"))
        .expect("copy main.tf");
    ws
}

/// Graph access as each quick start tenant's app.
fn graphs(sb: &Sandbox) -> Vec<(String, GraphApi)> {
    quickstart_seed()["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let id = t["id"].as_str().unwrap();
            let app = &t["apps"][0];
            let token = sb.token(
                id,
                app["clientId"].as_str().unwrap(),
                app["clientSecret"].as_str().unwrap(),
            );
            (
                t["displayName"].as_str().unwrap().to_owned(),
                sb.graph_with_token(token),
            )
        })
        .collect()
}

fn count(g: &GraphApi, path: &str) -> usize {
    let (status, body) = g.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    body["value"].as_array().map_or(0, Vec::len)
}

/// Every object the quick start creates, counted per tenant.
fn census(sb: &Sandbox) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (name, g) in graphs(sb) {
        out.insert(
            format!("{name} partners"),
            count(&g, "/policies/crossTenantAccessPolicy/partners"),
        );
        out.insert(format!("{name} applications"), count(&g, "/applications"));
        let (_, sps) = g.get("/servicePrincipals?$filter=startswith(displayName,'MTO_Sync_')");
        let sps: Vec<String> = sps["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        out.insert(format!("{name} sync configurations"), sps.len());
        let jobs: usize = sps
            .iter()
            .map(|sp| count(&g, &format!("/servicePrincipals/{sp}/synchronization/jobs")))
            .sum();
        out.insert(format!("{name} sync jobs"), jobs);
        let assignments: usize = sps
            .iter()
            .map(|sp| count(&g, &format!("/servicePrincipals/{sp}/appRoleAssignedTo")))
            .sum();
        out.insert(format!("{name} shared-user assignments"), assignments);
        out.insert(format!("{name} users"), count(&g, "/users?$top=999"));
        out.insert(
            format!("{name} organization tenants"),
            count(&g, "/tenantRelationships/multiTenantOrganization/tenants"),
        );
    }
    out
}

fn expected_census() -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    // (tenant, own users, users shared by the other two, assignments per share)
    for (name, own, incoming, shared) in [
        ("Contoso A", 2, 3, 1),
        ("Contoso B", 3, 2, 2),
        ("Contoso C", 2, 3, 1),
    ] {
        out.insert(format!("{name} partners"), 2);
        out.insert(format!("{name} applications"), 2);
        out.insert(format!("{name} sync configurations"), 2);
        out.insert(format!("{name} sync jobs"), 2);
        out.insert(format!("{name} shared-user assignments"), 2 * shared);
        out.insert(format!("{name} users"), own + incoming);
        out.insert(format!("{name} organization tenants"), 3);
    }
    out
}

fn converged(sb: &Sandbox, ws: &Workspace) {
    ws.assert_plan_empty();
    // The census itself must not be disturbed by injected faults.
    sb.set_faults(serde_json::json!({}));
    assert_eq!(
        census(sb),
        expected_census(),
        "objects missing or duplicated"
    );
    let problems = &ws.outputs()["problems"]["value"];
    assert_eq!(
        problems,
        &serde_json::json!([]),
        "People Search is not complete"
    );
}

#[test]
fn the_quick_start_converges_under_throttling_outages_and_replication_lag() {
    let sb = sandbox(
        &["--faults", "throttle=0.2,unavailable=0.05,lag=2s,seed=7"],
        false,
    );
    let ws = workspace(&sb);
    ws.apply().assert_success();
    converged(&sb, &ws);
}

#[test]
fn the_quick_start_converges_with_200ms_of_latency_on_every_call() {
    let sb = sandbox(&["--faults", "latency=200ms"], false);
    let ws = workspace(&sb);
    ws.apply().assert_success();
    converged(&sb, &ws);
}

/// Starts `terraform apply` in its own process group and SIGKILLs the
/// whole group (Terraform and its provider processes) after `after`.
fn apply_killed_after(ws: &Workspace, after: Duration) {
    let mut cmd = ws.command(&["apply", "-auto-approve", "-no-color"]);
    cmd.process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start terraform");
    std::thread::sleep(after);
    let pgid = child.id();
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    // `--` so the negative number is read as a process group, never as an
    // option: a bare `kill -KILL -<n>` can be misparsed, and `-1` means
    // every process we may signal.
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .status();
    let _ = child.wait();
}

#[test]
fn an_apply_killed_at_any_point_is_finished_by_the_next_one_without_duplicates() {
    for millis in [300u64, 900, 1600, 2600] {
        let sb = sandbox(&[], false);
        let ws = workspace(&sb);
        apply_killed_after(&ws, Duration::from_millis(millis));
        // The killed run may leave its lock file behind; the local
        // backend's lock is released with the process.
        let r = ws.apply();
        assert_eq!(
            r.code,
            0,
            "apply after a kill at {millis} ms failed:\n{}",
            r.output()
        );
        converged(&sb, &ws);
    }
}

#[test]
fn an_apply_carries_on_while_graph_is_killed_and_restarted() {
    let mut sb = sandbox(&[], true);
    let ws = workspace(&sb);
    let apply = ws
        .command(&["apply", "-auto-approve", "-no-color"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("terraform");
    std::thread::sleep(Duration::from_millis(1200));
    sb.kill_hard();
    std::thread::sleep(Duration::from_millis(1500));
    sb.restart();
    let out = apply.wait_with_output().expect("terraform output");
    assert!(
        out.status.success(),
        "apply did not survive the restart:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    converged(&sb, &ws);
}
