//! Every example under `examples/` is valid configuration for this
//! provider's schema (`terraform validate`), so the docs built from them
//! show working code.

use std::path::{Path, PathBuf};

use mto_e2e::Workspace;

fn example_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut dirs = vec![
        root.join("provider"),
        root.join("function"),
        root.join("mesh"),
        root.join("adopt"),
        root.join("per-tenant/tenant"),
    ];
    for group in ["resources", "data-sources", "functions", "scopes"] {
        for entry in std::fs::read_dir(root.join(group)).expect("examples directory") {
            dirs.push(entry.expect("entry").path());
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn every_example_validates() {
    let dirs = example_dirs();
    assert!(
        dirs.len() >= 13,
        "expected examples for every type, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in dirs {
        let ws = Workspace::new();
        let mut body = String::new();
        for entry in std::fs::read_dir(&dir).expect("example dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "tf") {
                let text = std::fs::read_to_string(&path).expect("read example");
                // A full example carries its own terraform block.
                body.push_str(&text.replace("terraform {\n  required_providers {\n    mto = { source = \"mto-provider/mto\" }\n  }\n}\n", ""));
                body.push('\n');
            }
        }
        ws.write_config(&body);
        let r = ws.run(&["validate"]);
        if r.code != 0 {
            failures.push(format!("{}:\n{}", dir.display(), r.output()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
