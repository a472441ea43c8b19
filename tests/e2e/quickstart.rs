//! The README's first command, as CI runs it: the quick start must end with
//! every tenant finding the four people and an empty second plan.

use std::process::Command;

#[test]
fn quick_start_finds_everyone_everywhere_and_plans_empty() {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--json")
        .env("MTO_BIN_DIR", mto_e2e::bin_dir())
        .env("TERRAFORM", mto_e2e::terraform_bin())
        .env_remove("TF_LOG")
        .output()
        .expect("run the quick start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "quick start failed:\n{stdout}\n{stderr}"
    );
    let matrix: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    for (tenant, home_people) in [
        ("Contoso A", &["Annie Archer"][..]),
        ("Contoso B", &["Bob Baker", "Barbara Brooks"][..]),
        ("Contoso C", &["Charlie Chen"][..]),
    ] {
        for person in [
            "Annie Archer",
            "Bob Baker",
            "Barbara Brooks",
            "Charlie Chen",
        ] {
            let want = if home_people.contains(&person) {
                "internal"
            } else {
                "B2B member"
            };
            assert_eq!(
                matrix[tenant][person], want,
                "{tenant} / {person}:\n{matrix:#}"
            );
        }
    }
    assert!(stderr.contains("second plan is empty"), "{stderr}");
}
