//! End-to-end harness: drives the real `terraform` binary against the
//! provider built from this workspace (and, for resource tests, against a
//! private `mto-sandbox`).
//!
//! Every [`Workspace`] is a fresh temporary directory with its own CLI
//! configuration (`dev_overrides` pointing at the built provider), so tests
//! never read or touch the user's Terraform configuration, and run in
//! parallel. `terraform init` is not needed (and would fail offline).
//!
//! Terraform is taken from `$TERRAFORM`, else `PATH`. Its absence is a test
//! failure with an explanation, never a silent skip: CI must not go green
//! without having run these tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The provider's source address, as in `provider/src/lib.rs`.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/mto-provider/mto";

/// `target/<profile>/`, where cargo put this workspace's binaries (or
/// `$MTO_BIN_DIR`, for prebuilt ones).
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("MTO_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/e2e-<hash> -> target/debug
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    build_binaries_once(&dir);
    dir
}

/// Builds the provider and the sandbox once per test process. Cargo builds
/// a package's binaries only for that package's own tests, so without this
/// `cargo test -p mto-e2e` would drive whatever binaries an earlier build
/// left behind. A no-op when they are up to date (and under
/// `cargo test --workspace`, which built them already).
fn build_binaries_once(dir: &Path) {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--bins",
            "-p",
            "terraform-provider-mto",
            "-p",
            "mto-sandbox",
        ]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let out = cmd.output().expect("run cargo build for the binaries");
        assert!(
            out.status.success(),
            "cargo build of the provider and sandbox failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

pub fn provider_bin() -> PathBuf {
    let p = bin_dir().join("terraform-provider-mto");
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo test --workspace` does it)",
        p.display()
    );
    p
}

pub fn sandbox_bin() -> PathBuf {
    let p = bin_dir().join("mto-sandbox");
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo test --workspace` does it)",
        p.display()
    );
    p
}

/// The terraform executable, checked once.
pub fn terraform_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = std::env::var_os("TERRAFORM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("terraform"));
        match Command::new(&bin).arg("version").output() {
            Ok(o) if o.status.success() => bin,
            _ => panic!(
                "terraform not found (looked for {:?}). The end-to-end tests need Terraform >= 1.8 on PATH or in $TERRAFORM; \
                 they do not skip themselves, so a missing binary fails the run.",
                bin
            ),
        }
    })
}

/// Environment variables the provider reads credentials from.
pub const AMBIENT_CREDENTIALS: &[&str] = &[
    "ARM_TENANT_ID",
    "ARM_CLIENT_ID",
    "ARM_CLIENT_ID_FILE_PATH",
    "ARM_CLIENT_SECRET",
    "ARM_CLIENT_SECRET_FILE_PATH",
    "ARM_CLIENT_CERTIFICATE",
    "ARM_CLIENT_CERTIFICATE_PATH",
    "ARM_CLIENT_CERTIFICATE_PASSWORD",
    "ARM_USE_OIDC",
    "ARM_OIDC_TOKEN",
    "ARM_OIDC_TOKEN_FILE_PATH",
    "ARM_OIDC_REQUEST_URL",
    "ARM_OIDC_REQUEST_TOKEN",
    "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID",
    "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID",
    "ARM_USE_MSI",
    "ARM_MSI_ENDPOINT",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_OIDCREQUESTURI",
    "SYSTEM_ACCESSTOKEN",
];

/// The result of one terraform command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// stdout and stderr together, for matching diagnostics.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Run {
        assert_eq!(self.code, 0, "terraform failed:\n{}", self.output());
        self
    }

    /// Asserts failure and that the output mentions every fragment.
    #[track_caller]
    pub fn assert_failure_mentions(&self, fragments: &[&str]) -> &Run {
        assert_ne!(
            self.code,
            0,
            "terraform unexpectedly succeeded:\n{}",
            self.output()
        );
        let out = unwrap_lines(&self.output());
        for f in fragments {
            assert!(
                out.contains(f),
                "expected {f:?} in terraform output:\n{}",
                self.output()
            );
        }
        self
    }
}

/// Terraform wraps diagnostic text at 78 columns; join it back for matching.
pub fn unwrap_lines(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Terraform working directory with a private CLI configuration.
pub struct Workspace {
    dir: tempfile::TempDir,
    extra_env: Vec<(String, String)>,
    /// Sandboxes that live as long as the workspace.
    kept: Vec<Sandbox>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("mto-e2e-")
            .tempdir()
            .expect("temp dir");
        let provider_dir = provider_bin().parent().expect("bin dir").to_path_buf();
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).expect("write CLI config");
        Workspace {
            dir,
            extra_env: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Keeps `sb` running as long as this workspace.
    pub fn keep(&mut self, sb: Sandbox) {
        self.kept.push(sb);
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds an environment variable to every terraform command.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Workspace {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes `main.tf`, prefixed with the `required_providers` block.
    pub fn write_config(&self, body: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    mto = {{ source = \"mto-provider/mto\" }}\n  }}\n}}\n\n{body}\n"
        );
        std::fs::write(self.path().join("main.tf"), text).expect("write main.tf");
    }

    /// How Terraform places a provider-block diagnostic on the first line of
    /// `main.tf` holding `needle` (the attribute at fault):
    /// `on main.tf line N, in provider "mto"`.
    pub fn provider_line(&self, needle: &str) -> String {
        let text = std::fs::read_to_string(self.path().join("main.tf")).expect("main.tf");
        let n = text
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in main.tf"));
        format!("on main.tf line {}, in provider \"mto\"", n + 1)
    }

    pub fn write_file(&self, name: &str, body: &str) {
        std::fs::write(self.path().join(name), body).expect("write file");
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(terraform_bin());
        cmd.args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_REATTACH_PROVIDERS")
            .stdin(Stdio::null());
        // Credentials of the machine running the tests (a CI job's OIDC request, say) must
        // not leak into a test.
        for var in AMBIENT_CREDENTIALS {
            cmd.env_remove(var);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `terraform <args> -no-color`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        if !matches!(
            args.first(),
            Some(&"output") | Some(&"show") | Some(&"version")
        ) || !args.contains(&"-json")
        {
            all.push("-no-color");
        }
        Run::from(self.command(&all).output().expect("run terraform"))
    }

    pub fn apply(&self) -> Run {
        self.run(&["apply", "-auto-approve"])
    }

    pub fn destroy(&self) -> Run {
        self.run(&["destroy", "-auto-approve"])
    }

    /// `terraform plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error.
    pub fn plan_exit_code(&self) -> Run {
        self.run(&["plan", "-detailed-exitcode"])
    }

    /// Asserts that a fresh plan (with refresh) has no changes.
    #[track_caller]
    pub fn assert_plan_empty(&self) {
        let r = self.plan_exit_code();
        assert_eq!(r.code, 0, "expected an empty plan:\n{}", r.output());
    }

    /// Outputs as JSON (`terraform output -json`).
    pub fn outputs(&self) -> serde_json::Value {
        let r = Run::from(
            self.command(&["output", "-json"])
                .output()
                .expect("run terraform"),
        );
        r.assert_success();
        serde_json::from_str(&r.stdout).expect("output -json is JSON")
    }

    /// The state as JSON (`terraform show -json`).
    pub fn state(&self) -> serde_json::Value {
        let r = Run::from(
            self.command(&["show", "-json"])
                .output()
                .expect("run terraform"),
        );
        r.assert_success();
        serde_json::from_str(&r.stdout).expect("show -json is JSON")
    }

    /// The `values` of one resource in state, by address.
    pub fn resource_values(&self, address: &str) -> serde_json::Value {
        let state = self.state();
        find_resource(&state["values"]["root_module"], address)
            .unwrap_or_else(|| panic!("{address} not in state:\n{state:#}"))
    }
}

fn find_resource(module: &serde_json::Value, address: &str) -> Option<serde_json::Value> {
    for r in module["resources"].as_array().into_iter().flatten() {
        if r["address"] == address {
            return Some(r["values"].clone());
        }
    }
    for child in module["child_modules"].as_array().into_iter().flatten() {
        if let Some(v) = find_resource(child, address) {
            return Some(v);
        }
    }
    None
}

/// A private `mto-sandbox` process, killed when dropped.
pub struct Sandbox {
    child: Child,
    pub url: String,
    /// With `--tls`: the CA certificate (PEM) to trust.
    pub ca_certificate: Option<PathBuf>,
    args: Vec<std::ffi::OsString>,
    dir: tempfile::TempDir,
}

#[derive(Default)]
pub struct SandboxOptions {
    pub seed: serde_json::Value,
    pub extra_args: Vec<String>,
    /// Keep data in a directory (so the sandbox can be killed and restarted)
    /// instead of in memory.
    pub persistent: bool,
    /// `--join-delay` (default `200ms`).
    pub join_delay: Option<&'static str>,
}

/// The sandbox's log: discarded, unless `MTO_E2E_SANDBOX_LOGS` names a
/// directory, where each sandbox writes `sandbox-<pid>-<n>.log` (to see what
/// its engine did in a failing or hanging test).
fn sandbox_log() -> Stdio {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Some(dir) = std::env::var_os("MTO_E2E_SANDBOX_LOGS") else {
        return Stdio::null();
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = PathBuf::from(dir).join(format!("sandbox-{}-{n}.log", std::process::id()));
    std::fs::File::create(&path)
        .map(Stdio::from)
        .unwrap_or_else(|e| panic!("cannot write the sandbox log {}: {e}", path.display()))
}

fn spawn_sandbox(args: &[std::ffi::OsString]) -> (Child, String, Option<PathBuf>) {
    let mut child = Command::new(sandbox_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(sandbox_log())
        .spawn()
        .expect("start mto-sandbox");
    let stdout = child.stdout.take().expect("sandbox stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let tls = args.iter().any(|a| a == "--tls");
    std::thread::spawn(move || {
        let mut url = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(u) = line.split("listening on ").nth(1) {
                url = Some(u.trim().to_owned());
                if !tls {
                    let _ = tx.send((url.clone().unwrap_or_default(), None));
                }
            }
            if let Some(ca) = line.split("ca-certificate ").nth(1) {
                let _ = tx.send((
                    url.clone().unwrap_or_default(),
                    Some(PathBuf::from(ca.trim())),
                ));
            }
        }
    });
    let (url, ca) = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("mto-sandbox did not print its address within 30 s")
        });
    (child, url, ca)
}

impl Sandbox {
    pub fn start(opts: SandboxOptions) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("mto-sandbox-")
            .tempdir()
            .expect("temp dir");
        let seed = dir.path().join("seed.json");
        std::fs::write(&seed, serde_json::to_vec_pretty(&opts.seed).unwrap()).expect("write seed");
        let join_delay = opts.join_delay.unwrap_or("200ms");
        let mut args: Vec<std::ffi::OsString> =
            ["serve", "--addr", "127.0.0.1:0", "--join-delay", join_delay]
                .iter()
                .map(Into::into)
                .collect();
        if opts.persistent {
            args.push("--data".into());
            args.push(dir.path().join("data").into());
        } else {
            args.push("--in-memory".into());
        }
        args.push("--seed".into());
        args.push(seed.into());
        args.extend(opts.extra_args.iter().map(Into::into));
        let (child, url, ca_certificate) = spawn_sandbox(&args);
        // A restart must come back on the same address.
        let port = url.rsplit(':').next().unwrap_or_default().to_owned();
        args[2] = format!("127.0.0.1:{port}").into();
        Sandbox {
            child,
            url,
            ca_certificate,
            args,
            dir,
        }
    }

    /// Kills the sandbox with SIGKILL (no chance to flush anything).
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same address and data (persistent sandboxes).
    pub fn restart(&mut self) {
        let (child, url, _) = spawn_sandbox(&self.args);
        assert_eq!(url, self.url, "the sandbox came back on another address");
        self.child = child;
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A Graph access token for one tenant's app, from the sandbox's login endpoint.
    pub fn token(&self, tenant_id: &str, client_id: &str, secret: &str) -> String {
        let started = Instant::now();
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/{tenant_id}/oauth2/v2.0/token", self.url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .expect("token request");
        assert!(
            resp.status().is_success(),
            "token request failed after {:?}: {}",
            started.elapsed(),
            resp.status()
        );
        let body: serde_json::Value = resp.json().expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `examples/quickstart/`.
pub fn quickstart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart")
}

/// The quick start's seed (tenants A, B, C of Contoso).
pub fn quickstart_seed() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(quickstart_dir().join("seed.json")).expect("seed"))
        .expect("seed JSON")
}

/// The quick start's `main.tf` with its `provider "mto"` block replaced by `provider_block`:
/// the same mesh, other credentials.
pub fn quickstart_variant(provider_block: &str) -> String {
    let main = std::fs::read_to_string(quickstart_dir().join("main.tf")).expect("main.tf");
    let start = main.find("provider \"mto\" {").expect("a provider block");
    let end = start + main[start..].find("\n}\n").expect("its end") + 3;
    format!("{}{provider_block}{}", &main[..start], &main[end..])
}

/// Fixed identities of the test tenants (see [`standard_seed`]).
pub struct TestTenant {
    pub id: &'static str,
    pub name: &'static str,
    pub domain: &'static str,
    pub client_id: &'static str,
    pub secret: &'static str,
}

pub const TENANT_A: TestTenant = TestTenant {
    id: "aaaaaaaa-0000-4000-8000-00000000000a",
    name: "Tenant A",
    domain: "tenanta.onmicrosoft.com",
    client_id: "a0000000-0000-4000-8000-0000000000a1",
    secret: "secret-a-7f3e",
};
pub const TENANT_B: TestTenant = TestTenant {
    id: "bbbbbbbb-0000-4000-8000-00000000000b",
    name: "Tenant B",
    domain: "tenantb.onmicrosoft.com",
    client_id: "b0000000-0000-4000-8000-0000000000b1",
    secret: "secret-b-91c2",
};
pub const TENANT_C: TestTenant = TestTenant {
    id: "cccccccc-0000-4000-8000-00000000000c",
    name: "Tenant C",
    domain: "tenantc.onmicrosoft.com",
    client_id: "c0000000-0000-4000-8000-0000000000c1",
    secret: "secret-c-55d0",
};
pub const TENANTS: [&TestTenant; 3] = [&TENANT_A, &TENANT_B, &TENANT_C];

/// Every permission the provider uses.
pub const ALL_ROLES: &[&str] = &[
    "MultiTenantOrganization.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.CrossTenantAccess",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Synchronization.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
];

/// Users of a test tenant: `(id, display name, alias)`.
pub fn test_users(t: &TestTenant) -> Vec<(String, String, String)> {
    let prefix = &t.id[..8];
    ["alice", "bruno", "chen"]
        .iter()
        .enumerate()
        .map(|(i, alias)| {
            (
                format!("{prefix}-1111-4000-8000-00000000000{}", i + 1),
                format!(
                    "{} {}",
                    alias[..1].to_uppercase() + &alias[1..],
                    &t.name[7..]
                ),
                alias.to_string(),
            )
        })
        .collect()
}

/// Three tenants with an app holding every permission the provider needs,
/// and three users each.
pub fn standard_seed() -> serde_json::Value {
    let tenants: Vec<serde_json::Value> = TENANTS
        .iter()
        .map(|t| {
            let users: Vec<serde_json::Value> = test_users(t)
                .into_iter()
                .map(|(id, name, alias)| {
                    serde_json::json!({
                        "id": id,
                        "displayName": name,
                        "userPrincipalName": format!("{alias}@{}", t.domain),
                        "mail": format!("{alias}@{}", t.domain),
                    })
                })
                .collect();
            serde_json::json!({
                "id": t.id,
                "displayName": t.name,
                "initialDomain": t.domain,
                "apps": [{"clientId": t.client_id, "clientSecret": t.secret, "roles": ALL_ROLES}],
                "users": users,
                "groups": [],
            })
        })
        .collect();
    serde_json::json!({ "tenants": tenants })
}

impl Sandbox {
    /// The standard three-tenant sandbox.
    pub fn standard() -> Sandbox {
        Sandbox::start(SandboxOptions {
            seed: standard_seed(),
            extra_args: vec!["--sync-interval".into(), "1s".into()],
            ..Default::default()
        })
    }

    /// A provider block for the given tenants of this sandbox.
    pub fn provider_block(&self, tenants: &[&TestTenant]) -> String {
        let mut out = format!(
            "provider \"mto\" {{\n  graph_endpoint = \"{url}\"\n  login_endpoint = \"{url}\"\n  replication_grace_period = \"3s\"\n",
            url = self.url
        );
        for t in tenants {
            out.push_str(&format!(
                "  tenant {{\n    tenant_id     = \"{}\"\n    client_id     = \"{}\"\n    client_secret = \"{}\"\n  }}\n",
                t.id, t.client_id, t.secret
            ));
        }
        out.push_str("}\n");
        out
    }

    /// Graph calls with a token obtained elsewhere.
    pub fn graph_with_token(&self, token: String) -> GraphApi {
        GraphApi {
            base: format!("{}/v1.0", self.url),
            token,
            http: reqwest::blocking::Client::new(),
        }
    }

    /// Graph calls as one tenant's app, for setting up and checking tests.
    pub fn graph(&self, t: &TestTenant) -> GraphApi {
        GraphApi {
            base: format!("{}/v1.0", self.url),
            token: self.token(t.id, t.client_id, t.secret),
            http: reqwest::blocking::Client::new(),
        }
    }

    /// The same as [`Sandbox::graph`], against Graph's beta version (for
    /// beta-only properties such as `groupSyncInbound`).
    pub fn graph_beta(&self, t: &TestTenant) -> GraphApi {
        GraphApi {
            base: format!("{}/beta", self.url),
            token: self.token(t.id, t.client_id, t.secret),
            http: reqwest::blocking::Client::new(),
        }
    }

    /// Request counts since start or the last reset (`/_sandbox/stats`).
    pub fn stats(&self) -> serde_json::Value {
        self.http()
            .get(format!("{}/_sandbox/stats", self.url))
            .send()
            .expect("stats")
            .json()
            .expect("stats JSON")
    }

    /// Replaces the fault settings (`{}` turns every fault off).
    pub fn set_faults(&self, faults: serde_json::Value) {
        let r = reqwest::blocking::Client::new()
            .put(format!("{}/_sandbox/faults", self.url))
            .json(&faults)
            .send()
            .expect("set faults");
        assert!(r.status().is_success(), "set faults: {}", r.status());
    }

    pub fn reset_stats(&self) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/_sandbox/stats/reset", self.url))
            .send()
            .expect("reset stats");
        assert!(r.status().is_success(), "reset stats: {}", r.status());
    }

    /// Runs one synchronization cycle of every started job now and returns
    /// what each job's cycle reported (`POST /_sandbox/sync/run`).
    pub fn sync_now(&self) -> Vec<serde_json::Value> {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/_sandbox/sync/run", self.url))
            .json(&serde_json::json!({}))
            .send()
            .expect("sync run");
        assert_eq!(r.status().as_u16(), 200, "sync run");
        let body: serde_json::Value = r.json().expect("sync run JSON");
        body["jobs"]
            .as_array()
            .unwrap_or_else(|| panic!("no per-job reports in {body}"))
            .clone()
    }
}

impl Sandbox {
    /// A token of the sandbox's test OIDC issuer `issuer` (`POST /_sandbox/oidc/{issuer}/token`;
    /// see docs/sandbox.md for `body`).
    pub fn oidc_token(&self, issuer: &str, body: serde_json::Value) -> String {
        let v = self.admin_post(&format!("/_sandbox/oidc/{issuer}/token"), body);
        v["value"].as_str().expect("a token").to_owned()
    }

    /// A pipeline job's token request for `issuer`: `(request URL, request token)`, as
    /// GitHub Actions puts them in `ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`.
    pub fn oidc_runner(&self, issuer: &str, body: serde_json::Value) -> (String, String) {
        let v = self.admin_post(&format!("/_sandbox/oidc/{issuer}/runner"), body);
        (
            v["requestUrl"].as_str().expect("requestUrl").to_owned(),
            v["requestToken"].as_str().expect("requestToken").to_owned(),
        )
    }

    /// An HTTP client for the sandbox (trusting its CA with `--tls`).
    pub fn http(&self) -> reqwest::blocking::Client {
        let mut b = reqwest::blocking::Client::builder();
        if let Some(ca) = &self.ca_certificate {
            let pem = std::fs::read(ca).expect("read the sandbox CA");
            b = b.tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("CA PEM")]);
        }
        b.build().expect("HTTP client")
    }

    fn admin_post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let r = self
            .http()
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .expect("sandbox admin request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().expect("JSON")
    }

    /// How many requests of `route` (e.g. `POST /{tenant}/oauth2/v2.0/token`) the sandbox
    /// served since start.
    pub fn count(&self, route: &str) -> u64 {
        self.stats()["routes"][route].as_u64().unwrap_or(0)
    }

    /// Every Graph write (non-GET under `/v1.0` or `/beta`, `$batch` aside) the sandbox served.
    pub fn graph_writes(&self) -> Vec<String> {
        let stats = self.stats();
        let mut out = Vec::new();
        for section in ["routes", "batchInner"] {
            if let Some(m) = stats[section].as_object() {
                for (route, n) in m {
                    let graph = route.contains(" /v1.0/") || route.contains(" /beta/");
                    if graph && !route.starts_with("GET ") && !route.ends_with("/$batch") {
                        out.push(format!("{route} ×{n}"));
                    }
                }
            }
        }
        out
    }
}

/// A self-signed RSA certificate with its private key, for client certificate tests.
pub struct TestCertificate {
    pub der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
    key_der: Vec<u8>,
}

impl TestCertificate {
    pub fn generate(name: &str) -> TestCertificate {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .expect("certificate parameters")
            .self_signed(&key)
            .expect("self-signed certificate");
        TestCertificate {
            der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }

    /// Base64 DER: the `key` of a seed `keyCredential` (as Graph shows it).
    pub fn key_credential(&self) -> serde_json::Value {
        use base64::Engine;
        serde_json::json!({
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": base64::engine::general_purpose::STANDARD.encode(&self.der),
        })
    }

    /// A PKCS#12 bundle (`.pfx`) of the certificate and key.
    pub fn pkcs12(&self, password: &str) -> Vec<u8> {
        let chain = p12_keystore::PrivateKeyChain::new(
            &b"mto-e2e"[..],
            p12_keystore::PrivateKey::from_der(&self.key_der).expect("PKCS#8 key"),
            [p12_keystore::Certificate::from_der(&self.der).expect("certificate")],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "mto-e2e",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        store.writer(password).write().expect("PKCS#12")
    }
}

/// Asserts that a log holds none of `secrets` and nothing shaped like a JWT (an access token, a
/// client assertion, an OIDC token), a private key or an Authorization header.
#[track_caller]
pub fn assert_no_secrets(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !text.contains(s),
            "a secret ({} chars) is in the log",
            s.len()
        );
    }
    assert!(
        !contains_jwt(text),
        "a JWT (token or assertion) is in the log"
    );
    assert!(!text.contains("PRIVATE KEY"), "a private key is in the log");
    assert!(
        !text.contains("Bearer ey"),
        "an Authorization header is in the log"
    );
}

/// Whether `text` holds something shaped like a JWT.
pub fn contains_jwt(text: &str) -> bool {
    let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let bytes = text.as_bytes();
    text.match_indices("eyJ").any(|(i, _)| {
        let mut j = i;
        while j < bytes.len() && b64(bytes[j]) {
            j += 1;
        }
        j - i > 10 && text[j..].starts_with(".eyJ")
    })
}

/// Direct Graph access for tests: `(status, body)` of each call.
pub struct GraphApi {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl GraphApi {
    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("graph request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::GET, path, None)
    }

    pub fn patch(&self, path: &str, body: serde_json::Value) -> u16 {
        self.send(reqwest::Method::PATCH, path, Some(body)).0
    }

    pub fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, Some(body))
    }

    pub fn put(&self, path: &str, body: serde_json::Value) -> u16 {
        self.send(reqwest::Method::PUT, path, Some(body)).0
    }

    pub fn delete(&self, path: &str) -> u16 {
        self.send(reqwest::Method::DELETE, path, None).0
    }

    /// Polls `check` for up to `secs` seconds (asynchronous Graph operations).
    pub fn eventually(&self, secs: u64, what: &str, mut check: impl FnMut(&GraphApi) -> bool) {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}");
    }
}

/// Flattens a JSON object into `path = value` pairs, for comparing states.
pub fn flatten(v: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    fn walk(
        prefix: &str,
        v: &serde_json::Value,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    walk(
                        &if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        },
                        v,
                        out,
                    );
                }
            }
            serde_json::Value::Array(items) => {
                let mut rendered: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                rendered.sort();
                out.insert(prefix.to_owned(), rendered.join(","));
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk("", v, &mut out);
    out
}

/// The quick start's tenants as the admin center sees them: display name,
/// tenant id, and Graph access as the tenant's app.
pub fn quickstart_graphs(sb: &Sandbox) -> Vec<(String, String, GraphApi)> {
    quickstart_seed()["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| {
            let s = |v: &serde_json::Value| v.as_str().expect("string").to_owned();
            let app = &t["apps"][0];
            let token = sb.token(&s(&t["id"]), &s(&app["clientId"]), &s(&app["clientSecret"]));
            (
                s(&t["displayName"]),
                s(&t["id"]),
                sb.graph_with_token(token),
            )
        })
        .collect()
}

/// Builds the quick start's mesh the way an administrator does it in the
/// Microsoft 365 admin center and the Entra admin center, through Graph
/// alone and without this provider: the first tenant creates the
/// organization and adds the others, they join; then for every ordered pair
/// the target allows user synchronization and automatic redemption inbound,
/// and the source allows redemption outbound, instantiates
/// `MTO_Sync_<target>`, aims it at the target, creates and starts its job
/// with users provisioned as members shown in the address list, and assigns
/// `shared[source]`. Returns once every tenant is active.
pub fn admin_center_mesh(sb: &Sandbox, organization: &str, shared: &[&[&str]]) {
    use serde_json::json;
    let tenants = quickstart_graphs(sb);
    let (_, owner_id, owner) = &tenants[0];
    let created = owner.put(
        "/tenantRelationships/multiTenantOrganization",
        json!({"displayName": organization}),
    );
    assert!(
        matches!(created, 200 | 201),
        "create the organization: {created}"
    );
    for (name, id, _) in &tenants[1..] {
        let (status, body) = owner.post(
            "/tenantRelationships/multiTenantOrganization/tenants",
            json!({"tenantId": id, "displayName": name}),
        );
        assert_eq!(status, 201, "add {name}: {body}");
    }
    for (name, _, g) in &tenants[1..] {
        assert_eq!(
            g.patch(
                "/tenantRelationships/multiTenantOrganization/joinRequest",
                json!({"addedByTenantId": owner_id}),
            ),
            204,
            "{name} joins"
        );
    }
    for (name, _, g) in &tenants[1..] {
        g.eventually(60, &format!("{name} active"), |g| {
            let (_, j) = g.get("/tenantRelationships/multiTenantOrganization/joinRequest");
            j["memberState"] == "active"
        });
    }
    const PARTNERS: &str = "/policies/crossTenantAccessPolicy/partners";
    for (target_name, target_id, target) in &tenants {
        for (_, source_id, _) in tenants.iter().filter(|t| &t.1 != target_id) {
            // The join made the partner configuration; the admin turns it on.
            let redeem = json!({"automaticUserConsentSettings": {"inboundAllowed": true}});
            target.eventually(30, &format!("{target_name} sees its partner"), |g| {
                g.patch(&format!("{PARTNERS}/{source_id}"), redeem.clone()) == 204
            });
            let allowed = json!({"userSyncInbound": {"isSyncAllowed": true}});
            let path = format!("{PARTNERS}/{source_id}/identitySynchronization");
            if target.patch(&path, allowed.clone()) != 204 {
                assert_eq!(target.put(&path, allowed), 204, "{target_name} allows sync");
            }
        }
    }
    for (i, (source_name, _, source)) in tenants.iter().enumerate() {
        for (_, target_id, _) in tenants.iter().filter(|t| &t.0 != source_name) {
            // A complex property is replaced as a whole: the inbound half
            // this tenant set as a target goes with it.
            let redeem = json!({"automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": true}});
            assert_eq!(
                source.patch(&format!("{PARTNERS}/{target_id}"), redeem),
                204
            );
            let (status, made) = source.post(
                "/applicationTemplates/518e5f48-1fc8-4c48-9387-9fdf28b0dfe7/instantiate",
                json!({"displayName": format!("MTO_Sync_{target_id}")}),
            );
            assert_eq!(status, 201, "{made}");
            let sp = made["servicePrincipal"]["id"]
                .as_str()
                .expect("sp id")
                .to_owned();
            let base = format!("/servicePrincipals/{sp}/synchronization");
            assert_eq!(
                source.put(
                    &format!("{base}/secrets"),
                    json!({"value": [
                        {"key": "CompanyId", "value": target_id},
                        {"key": "AuthenticationType", "value": "SyncPolicy"},
                        {"key": "SyncNotificationSettings", "value": "{\"Enabled\":false,\"DeleteThresholdEnabled\":false}"},
                        {"key": "SyncAll", "value": "false"}
                    ]}),
                ),
                204
            );
            let (status, job) = source.post(
                &format!("{base}/jobs"),
                json!({"templateId": "Azure2Azure"}),
            );
            assert_eq!(status, 201, "{job}");
            let job = job["id"].as_str().expect("job id").to_owned();
            // Users arrive as members shown in the address list.
            let schema_path = format!("{base}/jobs/{job}/schema");
            let (_, mut schema) = source.get(&schema_path);
            for rule in schema["synchronizationRules"]
                .as_array_mut()
                .expect("rules")
            {
                for mapping in rule["objectMappings"].as_array_mut().expect("mappings") {
                    if mapping["sourceObjectName"] != "User" {
                        continue;
                    }
                    let list = mapping["attributeMappings"]
                        .as_array_mut()
                        .expect("attributes");
                    list.retain(|m| {
                        let t = m["targetAttributeName"].as_str().unwrap_or_default();
                        !t.eq_ignore_ascii_case("userType")
                            && !t.eq_ignore_ascii_case("showInAddressList")
                    });
                    for (target_attr, value) in
                        [("userType", "Member"), ("showInAddressList", "True")]
                    {
                        list.push(json!({
                            "targetAttributeName": target_attr,
                            "source": {"type": "Constant", "name": value, "expression": format!("\"{value}\""), "parameters": []},
                            "flowType": "Always", "flowBehavior": "FlowWhenChanged", "matchingPriority": 0,
                            "defaultValue": null, "exportMissingReferences": false
                        }));
                    }
                }
            }
            assert_eq!(source.put(&schema_path, schema), 204, "set the mappings");
            let (_, sp_doc) = source.get(&format!("/servicePrincipals/{sp}"));
            let role = sp_doc["appRoles"]
                .as_array()
                .and_then(|r| {
                    r.iter()
                        .find(|r| {
                            r["value"] == "msiam_access" || r["displayName"] == "msiam_access"
                        })
                        .or_else(|| r.first())
                })
                .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
                .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_owned());
            for user in shared[i] {
                let (status, body) = source.post(
                    &format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
                    json!({"principalId": user, "resourceId": sp, "appRoleId": role}),
                );
                assert_eq!(status, 201, "assign {user}: {body}");
            }
            let (status, _) = source.post(&format!("{base}/jobs/{job}/start"), json!({}));
            assert_eq!(status, 204, "start the job");
        }
    }
}
