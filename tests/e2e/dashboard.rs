//! The sandbox's dashboard as a person sees it: the page rendered by
//! headless Chromium after the quick start, checked through its DOM, with
//! a screenshot kept in `target/dashboard/`.

use std::path::PathBuf;
use std::process::Command;

use mto_e2e::{
    Sandbox, SandboxOptions, TENANT_A, Workspace, quickstart_dir, quickstart_seed, standard_seed,
};

/// Debian's Chromium; `scripts/test.sh` installs it where it is missing.
fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: the dashboard test needs Debian's chromium package (scripts/test.sh installs it; or set CHROMIUM)",
        path.display()
    );
    path
}

/// Runs headless Chromium on `url` with `extra` (`--dump-dom`,
/// `--screenshot=…`) after letting the page's script run; its stdout.
fn headless(url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,800",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn artifacts() -> PathBuf {
    let dir = mto_e2e::bin_dir().join("../dashboard");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// `data-state` of the element carrying exactly `attrs`.
fn state_of(dom: &str, attrs: &str) -> Option<String> {
    let at = dom.find(attrs)?;
    let tag_end = at + dom[at..].find('>')?;
    let tag = &dom[at..tag_end];
    let s = tag.find("data-state=\"")? + "data-state=\"".len();
    Some(tag[s..s + tag[s..].find('"')?].to_owned())
}

#[test]
fn the_dashboard_draws_the_quick_start_mesh_and_who_finds_whom() {
    let sb = Sandbox::start(SandboxOptions {
        seed: quickstart_seed(),
        ..Default::default()
    });
    let mut ws = Workspace::new();
    ws.env("TF_VAR_sandbox_url", &sb.url);
    std::fs::copy(quickstart_dir().join("main.tf"), ws.path().join("main.tf"))
        .expect("copy main.tf");
    ws.apply().assert_success();
    sb.sync_now();

    let page = format!("{}/", sb.url);
    let dom = headless(&page, &["--dump-dom"]);
    assert!(
        dom.contains("data-loaded=\"true\""),
        "the script did not render:\n{dom}"
    );
    let tenants: Vec<(String, String)> = quickstart_seed()["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["displayName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (id, name) in &tenants {
        assert!(
            dom.contains(&format!("data-tenant=\"{id}\"")),
            "{name} missing"
        );
        assert_eq!(
            state_of(&dom, &format!("<tr data-tenant=\"{id}\"")).as_deref(),
            None,
            "a tenant row carries no state itself"
        );
    }
    let people = [
        ("Annie Archer", 0, true),
        ("Bob Baker", 1, true),
        ("Barbara Brooks", 1, true),
        ("Charlie Chen", 2, true),
        ("Ada Alone", 0, false),
        ("Boris Behind", 1, false),
        ("Cora Closed", 2, false),
    ];
    for (person, home, shared) in people {
        for (i, (id, name)) in tenants.iter().enumerate() {
            let want = if i == home {
                "internal"
            } else if shared {
                "b2b_member"
            } else {
                "missing"
            };
            let cell = format!("data-person=\"{person}\" data-tenant=\"{id}\"");
            assert_eq!(
                state_of(&dom, &cell).as_deref(),
                Some(want),
                "{person} in {name}"
            );
        }
    }
    for (s, _) in &tenants {
        for (t, _) in tenants.iter().filter(|(t, _)| t != s) {
            let cell = format!("data-source=\"{s}\" data-target=\"{t}\"");
            assert_eq!(
                state_of(&dom, &cell).as_deref(),
                Some("synced"),
                "share {s} → {t}"
            );
        }
    }
    assert!(!dom.contains("quickstart-secret"), "no secret on the page");

    let shot = artifacts().join("quickstart.png");
    headless(&page, &[&format!("--screenshot={}", shot.display())]);
    let size = std::fs::metadata(&shot).expect("screenshot written").len();
    assert!(size > 10_000, "screenshot too small: {size} bytes");
}

#[test]
fn the_dashboards_request_log_shows_injected_throttling() {
    let sb = Sandbox::start(SandboxOptions {
        seed: standard_seed(),
        extra_args: vec!["--faults".into(), "throttle=0.2,seed=3".into()],
        ..Default::default()
    });
    let a = sb.graph(&TENANT_A);
    let mut throttled = 0;
    for _ in 0..40 {
        if a.get("/users?$top=1").0 == 429 {
            throttled += 1;
        }
    }
    assert!(throttled > 0, "the fault seed throttled nothing");
    let dom = headless(&format!("{}/", sb.url), &["--dump-dom"]);
    assert!(dom.contains("faults: throttle 0.2"), "{dom}");
    let rows = dom.matches(">429<").count();
    let marked = dom.matches(">throttle<").count();
    assert!(
        rows >= throttled.min(10) && marked == rows,
        "{rows} 429 rows, {marked} marked, {throttled} sent:\n{dom}"
    );
}
