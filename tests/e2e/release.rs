//! Installing the provider like any provider. `cargo xtask release` writes
//! the zips, SHA256SUMS (GPG-signed), a filesystem mirror and a network
//! mirror; Terraform installs from each with `terraform init`, a version
//! constraint and a lock file — no dev_overrides anywhere here.
//!
//! The release is made from the provider binary this `cargo test` already
//! built (`--prebuilt`): a release-mode build costs minutes on a clean
//! clone. `.ci/run` then runs the whole command, build included, and these
//! tests again on its binary (`MTO_RELEASE_BINARY`).
//!
//! The https servers (network mirror, private registry) listen on loopback
//! with a self-signed certificate that Terraform trusts through
//! `SSL_CERT_FILE`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use mto_e2e::{PROVIDER_ADDRESS, Sandbox, TENANT_A, TENANT_B, Workspace, bin_dir, provider_bin};
use sha2::{Digest, Sha256};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const PLATFORM: &str = "linux_amd64";

/// The binary the release packages: cargo test's build, or the one that
/// `MTO_RELEASE_BINARY` names (`.ci/run` sets it to the release build).
fn release_input() -> PathBuf {
    match std::env::var_os("MTO_RELEASE_BINARY") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "MTO_RELEASE_BINARY={} is not a file",
                p.display()
            );
            p
        }
        None => provider_bin(),
    }
}

fn zip_name() -> String {
    format!("terraform-provider-mto_{VERSION}_{PLATFORM}.zip")
}

fn sums_name() -> String {
    format!("terraform-provider-mto_{VERSION}_SHA256SUMS")
}

/// The output of one run of the release command, in its own directory.
struct Release {
    dir: tempfile::TempDir,
}

impl Release {
    /// `xtask release --platform linux_amd64 --prebuilt <the test build>`.
    fn make(gpg_key: Option<&str>, gnupg_home: Option<&Path>) -> Release {
        let xtask = bin_dir().join("xtask");
        assert!(
            xtask.exists(),
            "{} is missing: build the workspace first (`cargo test --workspace` does it)",
            xtask.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("mto-release-")
            .tempdir()
            .expect("temp dir");
        let mut cmd = Command::new(&xtask);
        cmd.args(["release", "--platform", PLATFORM, "--prebuilt"])
            .arg(release_input())
            .arg("--out")
            .arg(dir.path())
            // cargo metadata must read this workspace, wherever the test runs.
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if let Some(key) = gpg_key {
            cmd.args(["--gpg-key", key]);
        }
        if let Some(home) = gnupg_home {
            cmd.env("GNUPGHOME", home);
        }
        let out = cmd.output().expect("run xtask release");
        assert!(
            out.status.success(),
            "xtask release failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Release { dir }
    }

    fn release_dir(&self) -> PathBuf {
        self.dir.path().join(VERSION)
    }

    fn zip(&self) -> PathBuf {
        self.release_dir().join(zip_name())
    }

    fn fs_mirror(&self) -> PathBuf {
        self.dir.path().join("mirror")
    }

    fn net_mirror(&self) -> PathBuf {
        self.dir.path().join("network-mirror")
    }

    /// SHA256SUMS as file name -> hex.
    fn sums(&self) -> BTreeMap<String, String> {
        let text =
            std::fs::read_to_string(self.release_dir().join(sums_name())).expect("SHA256SUMS");
        text.lines()
            .map(|l| {
                let (sum, name) = l.split_once("  ").expect("'<sha256>  <name>' lines");
                (name.to_owned(), sum.to_owned())
            })
            .collect()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Terraform's `h1:` of an unpacked package directory, computed here
/// independently of the release command: SHA-256 over the sorted lines
/// `"<sha256 hex>  <relative path>\n"`, base64.
fn h1_of_dir(dir: &Path) -> String {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).expect("package dir") {
        let entry = entry.unwrap();
        assert!(
            entry.file_type().unwrap().is_file(),
            "{entry:?} is not a file"
        );
        let name = entry.file_name().to_string_lossy().into_owned();
        lines.push(format!(
            "{}  {name}\n",
            sha256_hex(&std::fs::read(entry.path()).unwrap())
        ));
    }
    lines.sort_by(|a, b| {
        a.split_once("  ")
            .unwrap()
            .1
            .cmp(b.split_once("  ").unwrap().1)
    });
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(lines.concat().as_bytes()))
    )
}

/// The hashes `.terraform.lock.hcl` records for one provider, with its
/// version and constraints.
struct Lock {
    version: String,
    constraints: String,
    hashes: Vec<String>,
}

fn read_lock(ws: &Workspace, address: &str) -> Lock {
    let text = std::fs::read_to_string(ws.path().join(".terraform.lock.hcl"))
        .expect("terraform init writes .terraform.lock.hcl");
    let block = text
        .split(&format!("provider \"{address}\" {{"))
        .nth(1)
        .unwrap_or_else(|| panic!("{address} not in the lock file:\n{text}"));
    let block = block.split("\n}").next().unwrap();
    let field = |name: &str| -> String {
        block
            .lines()
            .find_map(|l| {
                let l = l.trim();
                l.strip_prefix(name)
                    .and_then(|rest| rest.trim_start().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} in the lock file:\n{text}"))
    };
    let hashes = block
        .split("hashes = [")
        .nth(1)
        .expect("hashes in the lock file")
        .split(']')
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_owned())
        .filter(|h| !h.is_empty())
        .collect();
    Lock {
        version: field("version"),
        constraints: field("constraints"),
        hashes,
    }
}

/// A working directory whose CLI configuration is `cli` (no dev_overrides),
/// with a configuration that reads no Graph object: the tenants the provider
/// block names, and every ordered pair of them. The provider still signs in
/// to each tenant when it is configured, so the block points at a sandbox
/// (kept alive with the workspace).
fn workspace(cli: &str, source: &str) -> Workspace {
    let sb = Sandbox::standard();
    let mut ws = Workspace::new();
    ws.write_file("cli.tfrc", cli);
    ws.write_file(
        "main.tf",
        &format!(
            r#"terraform {{
  required_providers {{
    mto = {{
      source  = "{source}"
      version = "~> 0.2"
    }}
  }}
}}

{provider}

data "mto_configured_tenants" "all" {{}}

output "mesh" {{
  value = provider::mto::pairs(data.mto_configured_tenants.all.tenant_ids)
}}
"#,
            provider = sb.provider_block(&[&TENANT_A, &TENANT_B]),
        ),
    );
    ws.keep(sb);
    ws
}

/// `terraform plan` and `apply` run the installed provider.
fn assert_provider_runs(ws: &Workspace) {
    let plan = ws.run(&["plan"]);
    plan.assert_success();
    assert!(plan.stdout.contains("mesh"), "{}", plan.output());
    ws.apply().assert_success();
    let mesh = &ws.outputs()["mesh"]["value"];
    assert_eq!(mesh.as_array().map(Vec::len), Some(2), "{mesh:#}");
}

/// The package directory `terraform init` unpacked.
fn installed_package(ws: &Workspace, address: &str) -> PathBuf {
    ws.path()
        .join(".terraform/providers")
        .join(address)
        .join(VERSION)
        .join(PLATFORM)
}

#[test]
fn release_installs_through_a_filesystem_mirror_with_a_lock_file() {
    let release = Release::make(None, None);
    let sums = release.sums();
    let zip_sum = sha256_hex(&std::fs::read(release.zip()).unwrap());
    assert_eq!(
        sums.get(&zip_name()),
        Some(&zip_sum),
        "SHA256SUMS: {sums:?}"
    );
    let manifest = format!("terraform-provider-mto_{VERSION}_manifest.json");
    let manifest_text = std::fs::read(release.release_dir().join(&manifest)).unwrap();
    assert_eq!(sums.get(&manifest), Some(&sha256_hex(&manifest_text)));
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_text).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
    );
    let mirrored = release.fs_mirror().join(PROVIDER_ADDRESS).join(zip_name());
    assert_eq!(sha256_hex(&std::fs::read(&mirrored).unwrap()), zip_sum);

    let cli = format!(
        r#"provider_installation {{
  filesystem_mirror {{
    path    = "{}"
    include = ["{PROVIDER_ADDRESS}"]
  }}
  direct {{
    exclude = ["{PROVIDER_ADDRESS}"]
  }}
}}
"#,
        release.fs_mirror().display()
    );
    let ws = workspace(&cli, "mto-provider/mto");
    let init = ws.run(&["init"]);
    init.assert_success();
    assert!(
        init.stdout
            .contains(&format!("Installed mto-provider/mto v{VERSION}")),
        "{}",
        init.output()
    );

    // The zip unpacked to the binary, under the name Terraform expects.
    let package = installed_package(&ws, PROVIDER_ADDRESS);
    let binary = package.join(format!("terraform-provider-mto_v{VERSION}"));
    assert_eq!(
        sha256_hex(&std::fs::read(&binary).expect("the unpacked provider binary")),
        sha256_hex(&std::fs::read(release_input()).unwrap()),
        "the zip holds another binary"
    );
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("{PROVIDER_ADDRESS} {VERSION}")
    );

    // The lock file: the version, the constraint, and the h1: hash of the
    // package, which is what the release published for the mirrors. (From a
    // mirror Terraform records h1: only; zh: hashes come from a registry's
    // signed SHA256SUMS, tested below.)
    let lock = read_lock(&ws, PROVIDER_ADDRESS);
    assert_eq!(lock.version, VERSION);
    assert_eq!(lock.constraints, "~> 0.2");
    let h1 = h1_of_dir(&package);
    assert_eq!(
        lock.hashes,
        std::slice::from_ref(&h1),
        "the package's h1 is {h1}"
    );
    let published: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            release
                .net_mirror()
                .join(PROVIDER_ADDRESS)
                .join(format!("{VERSION}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        published["archives"][PLATFORM]["hashes"],
        serde_json::json!([h1]),
        "the network mirror publishes the package's h1"
    );

    assert_provider_runs(&ws);

    // `terraform providers lock` computes the same lock from the mirror.
    let other = workspace(&cli, "mto-provider/mto");
    let fs_mirror = format!("-fs-mirror={}", release.fs_mirror().display());
    other
        .run(&[
            "providers",
            "lock",
            &fs_mirror,
            &format!("-platform={PLATFORM}"),
        ])
        .assert_success();
    let locked = read_lock(&other, PROVIDER_ADDRESS);
    assert_eq!(locked.version, VERSION);
    assert_eq!(locked.hashes, lock.hashes);

    // A constraint the mirror cannot meet fails init, naming the versions.
    let newer = workspace(&cli, "mto-provider/mto");
    let tf = std::fs::read_to_string(newer.path().join("main.tf")).unwrap();
    newer.write_file("main.tf", &tf.replace("~> 0.2", ">= 9.0"));
    newer
        .run(&["init"])
        .assert_failure_mentions(&["no available releases match the given constraints"]);
}

#[test]
fn release_installs_through_a_network_mirror_over_https() {
    let release = Release::make(None, None);
    let root = release.net_mirror();
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(PROVIDER_ADDRESS).join("index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(index, serde_json::json!({"versions": {VERSION: {}}}));

    let files = root.clone();
    let server = HttpsServer::start(move |path| static_file(&files, path));
    let cli = format!(
        r#"provider_installation {{
  network_mirror {{
    url     = "{}/"
    include = ["{PROVIDER_ADDRESS}"]
  }}
  direct {{
    exclude = ["{PROVIDER_ADDRESS}"]
  }}
}}
"#,
        server.url
    );
    let mut ws = workspace(&cli, "mto-provider/mto");
    ws.env("SSL_CERT_FILE", server.cert_file.to_str().unwrap());
    let init = ws.run(&["init"]);
    init.assert_success();

    // An unsigned source: the lock records the package's h1:, which is the
    // hash the mirror published.
    let lock = read_lock(&ws, PROVIDER_ADDRESS);
    assert_eq!(lock.version, VERSION);
    assert_eq!(lock.constraints, "~> 0.2");
    let h1 = h1_of_dir(&installed_package(&ws, PROVIDER_ADDRESS));
    assert_eq!(lock.hashes, std::slice::from_ref(&h1));
    let published: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(PROVIDER_ADDRESS).join(format!("{VERSION}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        published,
        serde_json::json!({"archives": {PLATFORM: {"url": zip_name(), "hashes": [h1]}}})
    );
    assert_provider_runs(&ws);
    assert!(
        server.requests().iter().any(|p| p.ends_with(&zip_name())),
        "Terraform did not download from the mirror: {:?}",
        server.requests()
    );
}

#[test]
fn release_installs_from_a_private_registry_verifying_the_gpg_signature() {
    let gpg = Gpg::new();
    let release = Release::make(Some(&gpg.fingerprint), Some(gpg.home.path()));
    let rel = release.release_dir();
    let sig = std::fs::read(rel.join(format!("{}.sig", sums_name()))).expect("SHA256SUMS.sig");
    assert_ne!(
        sig.first(),
        Some(&b'-'),
        "the signature must be binary, not armored"
    );
    let armor = std::fs::read_to_string(
        rel.join(format!("terraform-provider-mto_{VERSION}_signing-key.asc")),
    )
    .expect("the exported public key");
    assert!(armor.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));

    // The provider registry protocol, as a private registry serves it.
    let sums = release.sums();
    let zip_sum = sums[&zip_name()].clone();
    let key_id = gpg.fingerprint[gpg.fingerprint.len() - 16..].to_owned();
    let served_key_id = key_id.clone();
    let server = HttpsServer::start_with_base(move |base, path| {
        let json = |v: serde_json::Value| Some(("application/json", v.to_string().into_bytes()));
        match path {
            "/.well-known/terraform.json" => {
                json(serde_json::json!({"providers.v1": "/v1/providers/"}))
            }
            "/v1/providers/mto-provider/mto/versions" => json(serde_json::json!({
                "versions": [{"version": VERSION, "protocols": ["6.0"],
                              "platforms": [{"os": "linux", "arch": "amd64"}]}]
            })),
            p if p == format!("/v1/providers/mto-provider/mto/{VERSION}/download/linux/amd64") => {
                json(serde_json::json!({
                    "protocols": ["6.0"],
                    "os": "linux",
                    "arch": "amd64",
                    "filename": zip_name(),
                    "download_url": format!("{base}/files/{}", zip_name()),
                    "shasums_url": format!("{base}/files/{}", sums_name()),
                    "shasums_signature_url": format!("{base}/files/{}.sig", sums_name()),
                    "shasum": zip_sum,
                    "signing_keys": {"gpg_public_keys": [{"key_id": served_key_id, "ascii_armor": armor}]}
                }))
            }
            p => p.strip_prefix("/files").and_then(|f| static_file(&rel, f)),
        }
    });
    let host = server.url.trim_start_matches("https://").to_owned();
    let address = format!("{host}/mto-provider/mto");
    let mut ws = workspace("", &address);
    ws.env("SSL_CERT_FILE", server.cert_file.to_str().unwrap());
    let init = ws.run(&["init"]);
    init.assert_success();
    assert!(
        init.stdout.contains("self-signed") && init.stdout.contains(&key_id),
        "Terraform did not report the signing key:\n{}",
        init.output()
    );

    // From a registry, the signature makes Terraform trust the whole
    // SHA256SUMS: the lock records a zh: for every line (the zips, and the
    // manifest too: Terraform does not pick) and the package's h1:.
    let lock = read_lock(&ws, &address);
    assert_eq!(lock.version, VERSION);
    assert_eq!(lock.constraints, "~> 0.2");
    let zip_sum = sha256_hex(&std::fs::read(release.zip()).unwrap());
    assert!(
        lock.hashes.contains(&format!("zh:{zip_sum}")),
        "{:?}",
        lock.hashes
    );
    let mut want: Vec<String> = sums.values().map(|sum| format!("zh:{sum}")).collect();
    want.push(h1_of_dir(&installed_package(&ws, &address)));
    want.sort();
    assert_eq!(lock.hashes, want);
    assert_provider_runs(&ws);

    // A SHA256SUMS that does not match its signature is refused.
    let rel = release.release_dir();
    let sums_path = rel.join(sums_name());
    let mut tampered = std::fs::read_to_string(&sums_path).unwrap();
    tampered.push_str(&format!("{}  extra.zip\n", "0".repeat(64)));
    std::fs::write(&sums_path, tampered).unwrap();
    let mut ws = workspace("", &address);
    ws.env("SSL_CERT_FILE", server.cert_file.to_str().unwrap());
    ws.run(&["init"]).assert_failure_mentions(&["signature"]);
}

/// A throwaway GnuPG home with one RSA signing key, removed when dropped.
struct Gpg {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl Gpg {
    fn new() -> Gpg {
        // gpg-agent's socket path must be short: /tmp, not a deep target dir.
        let home = tempfile::Builder::new()
            .prefix("mto-gpg-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let gpg = |args: &[&str]| {
            let out = Command::new("gpg")
                .arg("--batch")
                .args(args)
                .env("GNUPGHOME", home.path())
                .output()
                .expect("gpg must be installed (Debian: apt-get install gnupg)");
            assert!(
                out.status.success(),
                "gpg {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        gpg(&[
            "--passphrase",
            "",
            "--quick-generate-key",
            "mto release test <release-test@example.invalid>",
            "rsa2048",
            "sign",
            "never",
        ]);
        let listing = gpg(&["--with-colons", "--list-secret-keys"]);
        let fingerprint = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_owned())
            .expect("the new key's fingerprint");
        Gpg { home, fingerprint }
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .output();
    }
}

/// A file under `root` for a request path, refusing anything that leaves it.
fn static_file(root: &Path, path: &str) -> Option<(&'static str, Vec<u8>)> {
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|c| c == ".." || c.is_empty()) {
        return None;
    }
    let kind = if rel.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    std::fs::read(root.join(rel)).ok().map(|b| (kind, b))
}

type Handler = dyn Fn(&str, &str) -> Option<(&'static str, Vec<u8>)> + Send + Sync;

/// An HTTPS server on loopback for GET requests, one connection per request,
/// with a self-signed certificate for `localhost` written to `cert_file`.
/// It stops accepting when dropped.
struct HttpsServer {
    url: String,
    cert_file: PathBuf,
    log: Arc<std::sync::Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    _dir: tempfile::TempDir,
}

impl HttpsServer {
    fn start(
        handler: impl Fn(&str) -> Option<(&'static str, Vec<u8>)> + Send + Sync + 'static,
    ) -> HttpsServer {
        Self::start_with_base(move |_, path| handler(path))
    }

    fn start_with_base(
        handler: impl Fn(&str, &str) -> Option<(&'static str, Vec<u8>)> + Send + Sync + 'static,
    ) -> HttpsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("self-signed certificate");
        let cert_file = dir.path().join("cert.pem");
        std::fs::write(&cert_file, cert.cert.pem()).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server TLS config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let url = format!("https://localhost:{port}");
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (base, log2, stop2) = (url.clone(), log.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (config, handler, base, log) =
                    (config.clone(), handler.clone(), base.clone(), log2.clone());
                std::thread::spawn(move || {
                    let _ = serve_one(stream, config, &*handler, &base, &log);
                });
            }
        });
        HttpsServer {
            url,
            cert_file,
            log,
            stop,
            _dir: dir,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.url.replace("https://localhost", "127.0.0.1"));
    }
}

fn serve_one(
    stream: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    handler: &Handler,
    base: &str,
    log: &std::sync::Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut reader = BufReader::new(&mut tls);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    log.lock().unwrap().push(path.to_owned());
    let (status, kind, body) = match (method, handler(base, path)) {
        ("GET", Some((kind, body))) => ("200 OK", kind, body),
        ("GET", None) => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        _ => ("405 Method Not Allowed", "text/plain", Vec::new()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut buf = head.into_bytes();
    buf.extend_from_slice(&body);
    tls.write_all(&buf)?;
    tls.flush()?;
    tls.conn.send_close_notify();
    tls.flush()
}
