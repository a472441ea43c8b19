//! The release command's arguments, through the binary. (These tests also
//! make `cargo test --workspace` build the xtask binary, which the release
//! end-to-end tests in tests/e2e/release.rs run.)

use std::process::Command;

fn xtask(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run xtask");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn help_lists_the_release_options() {
    let (ok, text) = xtask(&["release", "--help"]);
    assert!(ok, "{text}");
    for option in ["--platform", "--out", "--gpg-key", "--prebuilt"] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
}

#[test]
fn an_unknown_platform_is_refused_before_anything_is_built() {
    let (ok, text) = xtask(&["release", "--platform", "plan9_amd64"]);
    assert!(!ok, "{text}");
    assert!(text.contains("unknown platform \"plan9_amd64\""), "{text}");
    assert!(
        text.contains("linux_amd64"),
        "the known platforms are listed:\n{text}"
    );
}

#[test]
fn a_prebuilt_binary_must_report_the_version_being_released() {
    // This test binary is a host executable, but not the provider.
    let me = std::env::current_exe().unwrap();
    let out = tempfile_dir();
    let (ok, text) = xtask(&[
        "release",
        "--platform",
        "linux_amd64",
        "--prebuilt",
        me.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&out);
    assert!(!ok, "{text}");
    assert!(text.contains("--version printed"), "{text}");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
