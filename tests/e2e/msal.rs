//! Microsoft's own MSAL for Python gets tokens from the sandbox, unchanged:
//! instance discovery, tenant discovery (OpenID configuration) and the token
//! endpoint, with a client secret and with a certificate (PS256 with the
//! SHA-256 thumbprint, and RS256 with the legacy SHA-1 one), over https as
//! MSAL requires. The virtual environment with the pinned `msal` is built
//! once under `target/` and reused; if it cannot be built the test fails.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use mto_e2e::{Sandbox, SandboxOptions, TENANT_A, TestCertificate, standard_seed};
use serde_json::{Value, json};

/// The MSAL for Python release the sandbox is checked against.
const MSAL_VERSION: &str = "1.39.0";

/// Asks for a token exactly as a daemon app would, then reads Graph with it.
const SCRIPT: &str = r#"
import json, sys
import msal, requests

base, tenant, client, kind = sys.argv[1:5]
if kind == "secret":
    credential = sys.argv[5]
else:
    key, cert = open(sys.argv[5]).read(), open(sys.argv[6]).read()
    if kind == "certificate":
        credential = {"private_key": key, "public_certificate": cert}
    else:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        sha1 = x509.load_pem_x509_certificate(cert.encode()).fingerprint(hashes.SHA1()).hex()
        credential = {"private_key": key, "thumbprint": sha1}
app = msal.ConfidentialClientApplication(
    client,
    authority=base + "/" + tenant,
    client_credential=credential,
    instance_discovery=base + "/common/discovery/instance",
)
result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
if "access_token" not in result:
    print(json.dumps({"error": result.get("error"), "description": result.get("error_description")}))
    sys.exit(1)
org = requests.get(base + "/v1.0/organization", headers={"Authorization": "Bearer " + result["access_token"]})
print(json.dumps({"token_type": result.get("token_type"), "graph_status": org.status_code,
                  "tenant": org.json()["value"][0]["id"]}))
"#;

/// `target/tmp/msal-<version>`: a venv with `msal` installed, created on first use.
fn venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("msal-{MSAL_VERSION}"));
    let marker = dir.join(".installed");
    if marker.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .output()
        .expect("python3 is needed for the MSAL test (it does not skip)");
    assert!(
        out.status.success(),
        "python3 -m venv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(dir.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("msal=={MSAL_VERSION}"),
        ])
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "pip install msal=={MSAL_VERSION} failed (PyPI must be reachable on first run): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&marker, MSAL_VERSION).expect("write marker");
    dir
}

#[test]
fn msal_for_python_gets_tokens_with_a_secret_and_with_a_certificate() {
    let venv = venv();
    let cert = TestCertificate::generate("msal-test");
    let mut seed = standard_seed();
    seed["tenants"][0]["apps"][0]["keyCredentials"] = json!([cert.key_credential()]);
    let sb = Sandbox::start(SandboxOptions {
        seed,
        extra_args: vec!["--tls".into()],
        ..Default::default()
    });
    let ca = sb.ca_certificate.clone().expect("--tls prints the CA");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("msal_token.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let key = dir.path().join("key.pem");
    let pem = dir.path().join("cert.pem");
    std::fs::write(&key, &cert.key_pem).unwrap();
    std::fs::write(&pem, &cert.cert_pem).unwrap();
    let run = |kind: &str, extra: &[&OsStr]| -> Value {
        let out = Command::new(venv.join("bin/python"))
            .arg(&script)
            .args([&sb.url, TENANT_A.domain, TENANT_A.client_id, kind])
            .args(extra)
            .env("REQUESTS_CA_BUNDLE", &ca)
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "MSAL ({kind}) failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).expect("JSON from the script")
    };
    let files = [key.as_os_str(), pem.as_os_str()];
    for result in [
        run("secret", &[OsStr::new(TENANT_A.secret)]),
        run("certificate", &files),
        run("thumbprint", &files),
    ] {
        assert_eq!(result["token_type"], "Bearer", "{result}");
        assert_eq!(result["graph_status"], 200, "{result}");
        assert_eq!(result["tenant"], TENANT_A.id, "{result}");
    }
    // MSAL went through both discovery documents before the token endpoint.
    assert!(sb.count("GET /common/discovery/instance") >= 1);
    assert!(sb.count("GET /{tenant}/v2.0/.well-known/openid-configuration") >= 1);
}
