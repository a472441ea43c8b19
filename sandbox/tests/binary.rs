//! End-to-end tests of the real `mto-sandbox` binary: the ready line, durability across
//! `kill -9`, seed idempotency across restarts, TLS, signals and start-up errors.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mto-sandbox");
const A_ID: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const A_CLIENT: &str = "aaaaaaaa-1111-4000-8000-00000000000a";
const B_ID: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const B_CLIENT: &str = "bbbbbbbb-1111-4000-8000-00000000000b";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed.json")
}

/// A running sandbox process and the lines it printed on stdout before serving.
struct Proc {
    child: Child,
    url: String,
    lines: Vec<String>,
}

impl Proc {
    /// Start `mto-sandbox serve ARGS` and wait for the "listening on" line.
    fn start(args: &[&str], log: &Path) -> Proc {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("spawn mto-sandbox");
        let stdout = child.stdout.take().unwrap();
        let tls = args.contains(&"--tls");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.push(line.clone());
                let done = if tls {
                    line.contains("ca-certificate")
                } else {
                    line.contains("listening on")
                };
                if done {
                    let _ = tx.send(lines.clone());
                }
            }
        });
        let lines = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "no ready line; log: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        let url = lines
            .iter()
            .find_map(|l| l.strip_prefix("mto-sandbox listening on "))
            .expect("listening line")
            .to_string();
        Proc { child, url, lines }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// SIGTERM and wait for a clean exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.pid()])
            .status()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn token(
    c: &reqwest::Client,
    url: &str,
    tenant: &str,
    client_id: &str,
    secret: &str,
) -> String {
    let r = c
        .post(format!("{url}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every userPrincipalName of a tenant, following nextLinks.
async fn all_upns(c: &reqwest::Client, url: &str, tok: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = Some(format!(
        "{url}/v1.0/users?$top=999&$select=userPrincipalName"
    ));
    while let Some(u) = next {
        let v: Value = c
            .get(&u)
            .bearer_auth(tok)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for x in v["value"].as_array().unwrap() {
            out.push(x["userPrincipalName"].as_str().unwrap().to_string());
        }
        next = v["@odata.nextLink"].as_str().map(str::to_string);
    }
    out
}

#[tokio::test]
async fn binary_prints_exactly_one_listening_line_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let p = Proc::start(
        &["--in-memory", "--seed", fixture().to_str().unwrap()],
        &log,
    );
    assert_eq!(p.lines.len(), 1, "{:?}", p.lines);
    let port = p
        .url
        .strip_prefix("http://127.0.0.1:")
        .expect("loopback http url");
    assert!(port.parse::<u16>().unwrap() > 0);
    let c = client();
    let health: Value = c
        .get(format!("{}/_sandbox/health", p.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    let tok = token(&c, &p.url, A_ID, A_CLIENT, "secret-a").await;
    let r = c
        .get(format!("{}/v1.0/users", p.url))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let status = p.terminate();
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    // One access-log line per request, with method, path, status and request id.
    assert!(
        log.lines()
            .any(|l| l.contains("GET /v1.0/users 200") && l.contains("request-id=")),
        "{log}"
    );
    assert!(
        !log.contains("secret-a"),
        "the client secret must never be logged"
    );
}

#[tokio::test]
async fn binary_acknowledged_writes_survive_kill_9_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_string();
    let seed = fixture();
    let args = ["--data", &data_s, "--seed", seed.to_str().unwrap()];
    let mut p = Proc::start(&args, &dir.path().join("log1"));
    let c = client();
    let tok = token(&c, &p.url, A_ID, A_CLIENT, "secret-a").await;

    let mut writers = Vec::new();
    for w in 0..4 {
        let (c, url, tok) = (c.clone(), p.url.clone(), tok.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                let upn = format!("w{w}-{i}@contosoa.onmicrosoft.com");
                let body = json!({"accountEnabled": true, "displayName": format!("W{w} {i}"), "mailNickname": format!("w{w}-{i}"),
                                  "userPrincipalName": upn, "passwordProfile": {"password": "P@ssw0rd!"}});
                match c.post(format!("{url}/v1.0/users")).bearer_auth(&tok).json(&body).send().await {
                    Ok(r) if r.status() == 201 => acked.push(upn),
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break, // the server died mid-stream
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    p.child.kill().unwrap(); // SIGKILL
    p.child.wait().unwrap();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() > 20,
        "only {} writes before the kill",
        acked.len()
    );
    eprintln!("{} acknowledged writes before kill -9", acked.len());
    drop(p);

    let p2 = Proc::start(&args, &dir.path().join("log2"));
    // The old token still works: the signing key is in the database.
    let have = all_upns(&c, &p2.url, &tok).await;
    let missing: Vec<&String> = acked.iter().filter(|u| !have.contains(u)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

#[tokio::test]
async fn binary_reseeding_is_idempotent_and_keeps_graph_changes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_string();
    let seed = fixture();
    let args = ["--data", &data_s, "--seed", seed.to_str().unwrap()];
    let c = client();

    let p = Proc::start(&args, &dir.path().join("log1"));
    let ta = token(&c, &p.url, A_ID, A_CLIENT, "secret-a").await;
    let tb = token(&c, &p.url, B_ID, B_CLIENT, "secret-b").await;
    let annie = format!("{}/v1.0/users/annie@contosoa.onmicrosoft.com", p.url);
    let r = c
        .patch(&annie)
        .bearer_auth(&ta)
        .json(&json!({"jobTitle": "Changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .delete(format!(
            "{}/v1.0/users/barbara@contosob.onmicrosoft.com",
            p.url
        ))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let before_a = all_upns(&c, &p.url, &ta).await;
    let before_b = all_upns(&c, &p.url, &tb).await;
    assert!(p.terminate().success());

    let log2 = dir.path().join("log2");
    let p = Proc::start(&args, &log2);
    assert_eq!(p.lines.len(), 1);
    let ta = token(&c, &p.url, A_ID, A_CLIENT, "secret-a").await;
    let tb = token(&c, &p.url, B_ID, B_CLIENT, "secret-b").await;
    assert_eq!(all_upns(&c, &p.url, &ta).await, before_a, "no duplicates");
    assert_eq!(
        all_upns(&c, &p.url, &tb).await,
        before_b,
        "deleted users are not re-created"
    );
    let annie = format!(
        "{}/v1.0/users/annie@contosoa.onmicrosoft.com?$select=jobTitle",
        p.url
    );
    let v: Value = c
        .get(&annie)
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["jobTitle"], "Changed",
        "re-seeding does not overwrite Graph changes"
    );
    let log = std::fs::read_to_string(&log2).unwrap();
    assert!(
        log.contains("seed applied: 0 tenants, 0 users, 0 groups added"),
        "{log}"
    );
}

#[tokio::test]
async fn binary_serves_https_with_a_generated_ca_that_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_string();
    let args = ["--data", &data_s, "--tls"];
    let p = Proc::start(&args, &dir.path().join("log1"));
    assert_eq!(p.lines.len(), 2, "{:?}", p.lines);
    assert!(p.url.starts_with("https://127.0.0.1:"), "{}", p.url);
    let ca_path = p.lines[1]
        .strip_prefix("mto-sandbox ca-certificate ")
        .expect("ca line")
        .to_string();
    let ca = std::fs::read(&ca_path).unwrap();
    let https = |ca: &[u8]| {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca).unwrap()])
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    let r = https(&ca)
        .get(format!("{}/_sandbox/health", p.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let localhost = p.url.replace("127.0.0.1", "localhost");
    assert_eq!(
        https(&ca)
            .get(format!("{localhost}/_sandbox/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(p.terminate().success());

    let p = Proc::start(&args, &dir.path().join("log2"));
    let ca_path2 = p.lines[1]
        .strip_prefix("mto-sandbox ca-certificate ")
        .unwrap()
        .to_string();
    assert_eq!(ca_path2, ca_path);
    assert_eq!(
        std::fs::read(&ca_path2).unwrap(),
        ca,
        "the CA is reused across restarts"
    );
    assert_eq!(
        https(&ca)
            .get(format!("{}/_sandbox/health", p.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn binary_invalid_seed_exits_1_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("bad.json");
    std::fs::write(
        &seed,
        r#"{"tenants":[{"id":"11111111-1111-1111-1111-111111111111","displayName":"A","initialDomain":"a.onmicrosoft.com",
            "groups":[{"displayName":"g","members":["ghost@a.onmicrosoft.com"]}]}]}"#,
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--in-memory", "--seed", seed.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("member 'ghost@a.onmicrosoft.com' not found"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn binary_refuses_a_non_loopback_address_without_allow_remote() {
    let out = Command::new(BIN)
        .args(["serve", "--in-memory", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn binary_requires_data_or_in_memory() {
    let out = Command::new(BIN).args(["serve"]).output().unwrap();
    assert!(!out.status.success());
    let out = Command::new(BIN)
        .args(["serve", "--in-memory", "--join-delay", "soon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// Run `mto-sandbox serve ARGS` to completion (it must not start serving).
fn serve_fails(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn binary_data_directory_and_database_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new/data");
    let p = Proc::start(
        &[
            "--data",
            data.to_str().unwrap(),
            "--seed",
            fixture().to_str().unwrap(),
            "--tls",
        ],
        &dir.path().join("log"),
    );
    // A write, so the WAL exists too.
    let c = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let _ = token(&c, &p.url, A_ID, A_CLIENT, "secret-a").await;
    assert_eq!(mode(&data), 0o700, "data directory");
    for f in [
        "sandbox.db",
        "sandbox.db-wal",
        "sandbox.db-shm",
        "sandbox.lock",
        "ca.key",
        "server.key",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    drop(p);
    // A database left world-readable by an older version is tightened at the next start.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("sandbox.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let p = Proc::start(
        &["--data", data.to_str().unwrap()],
        &dir.path().join("log2"),
    );
    assert_eq!(mode(&data.join("sandbox.db")), 0o600);
    drop(p);
}

#[test]
fn binary_second_serve_on_the_same_data_directory_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let first = Proc::start(
        &["--data", data_s, "--seed", fixture().to_str().unwrap()],
        &dir.path().join("log"),
    );
    let (code, err) = serve_fails(&["--data", data_s]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("mto-sandbox: error: "), "{err}");
    assert!(err.contains("in use by another mto-sandbox"), "{err}");
    assert!(err.contains(&format!("pid {}", first.pid())), "{err}");
    // The lock dies with its holder, even by kill -9.
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let again = Proc::start(&["--data", data_s], &dir.path().join("log2"));
    again.terminate();
}

#[test]
fn binary_out_of_range_durations_exit_1_with_a_clear_message() {
    for (args, expect) in [
        (["--sync-interval", "100000000000000000000000s"], "too long"),
        (["--sync-interval", "99999999999999999999d"], "too long"),
        (["--join-delay", "P99999999999999999999D"], "too long"),
        (["--join-delay", "soon"], "invalid duration"),
        (["--sync-interval", "0s"], "at least 100ms"),
        (["--sync-interval", "PT0S"], "at least 100ms"),
        (["--faults", "lag=100000000000000000000000000h"], "too long"),
    ] {
        let mut all = vec!["--in-memory"];
        all.extend(args);
        let (code, err) = serve_fails(&all);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.starts_with("mto-sandbox: error: "), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn binary_builds_next_links_from_its_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fixture();
    let p = Proc::start(
        &["--in-memory", "--seed", seed.to_str().unwrap()],
        &dir.path().join("log"),
    );
    let c = client();
    let tb = token(&c, &p.url, B_ID, B_CLIENT, "secret-b").await;
    let page = |url: String, host: &'static str| {
        let (c, tb) = (c.clone(), tb.clone());
        async move {
            let r = c
                .get(url)
                .bearer_auth(tb)
                .header("host", host)
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let v = page(format!("{}/v1.0/users?$top=1", p.url), "evil.example").await;
    let next = v["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1.0/users?", p.url)),
        "{next}"
    );
    drop(p);
    let p = Proc::start(
        &[
            "--in-memory",
            "--seed",
            seed.to_str().unwrap(),
            "--base-url",
            "https://graph.sandbox.example/",
        ],
        &dir.path().join("log2"),
    );
    let tb = token(&c, &p.url, B_ID, B_CLIENT, "secret-b").await;
    let r = c
        .get(format!("{}/v1.0/users?$top=1", p.url))
        .bearer_auth(tb)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let next = v["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with("https://graph.sandbox.example/v1.0/users?$skiptoken="),
        "{next}"
    );
}

/// A Graph call that must succeed; returns the JSON body (or the text as a JSON string).
async fn graph(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    tok: &str,
    body: Option<Value>,
) -> Value {
    let mut req = c
        .request(method.clone(), url)
        .bearer_auth(tok)
        .header("ConsistencyLevel", "eventual");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{method} {url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

#[tokio::test]
async fn binary_kill_9_during_a_large_cycle_neither_duplicates_nor_loses_users() {
    const USERS: usize = 40_000;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_string();
    let roles = json!([
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Synchronization.ReadWrite.All",
        "Policy.ReadWrite.CrossTenantAccess",
        "User.ReadWrite.All"
    ]);
    let users: Vec<Value> = (0..USERS)
        .map(|i| json!({"displayName": format!("User {i}"), "userPrincipalName": format!("u{i}@contosoa.onmicrosoft.com"),
                        "mail": format!("u{i}@contosoa.com")}))
        .collect();
    let seed = json!({"tenants": [
        {"id": A_ID, "displayName": "A", "initialDomain": "contosoa.onmicrosoft.com",
         "apps": [{"clientId": A_CLIENT, "clientSecret": "secret-a", "roles": roles}], "users": users},
        {"id": B_ID, "displayName": "B", "initialDomain": "contosob.onmicrosoft.com",
         "apps": [{"clientId": B_CLIENT, "clientSecret": "secret-b", "roles": roles}]},
    ]});
    let seed_path = dir.path().join("seed.json");
    std::fs::write(&seed_path, seed.to_string()).unwrap();
    let args = [
        "--data",
        &data_s,
        "--seed",
        seed_path.to_str().unwrap(),
        "--sync-interval",
        "1d",
    ];
    let mut p = Proc::start(&args, &dir.path().join("log1"));
    let c = client();
    let (url, ta, tb) = (
        p.url.clone(),
        token(&c, &p.url, A_ID, A_CLIENT, "secret-a").await,
        token(&c, &p.url, B_ID, B_CLIENT, "secret-b").await,
    );
    let g = format!("{url}/v1.0");
    let partners = format!("{g}/policies/crossTenantAccessPolicy/partners");
    use reqwest::Method as M;
    graph(
        &c,
        M::POST,
        &partners,
        &tb,
        Some(json!({"tenantId": A_ID, "automaticUserConsentSettings": {"inboundAllowed": true}})),
    )
    .await;
    graph(
        &c,
        M::PUT,
        &format!("{partners}/{A_ID}/identitySynchronization"),
        &tb,
        Some(json!({"userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await;
    graph(
        &c,
        M::POST,
        &partners,
        &ta,
        Some(json!({"tenantId": B_ID, "automaticUserConsentSettings": {"outboundAllowed": true}})),
    )
    .await;
    let inst = graph(
        &c,
        M::POST,
        &format!("{g}/applicationTemplates/518e5f48-1fc8-4c48-9387-9fdf28b0dfe7/instantiate"),
        &ta,
        Some(json!({"displayName": "MTO_Sync_B"})),
    )
    .await;
    let sp = inst["servicePrincipal"]["id"].as_str().unwrap().to_string();
    let sync = format!("{g}/servicePrincipals/{sp}/synchronization");
    graph(
        &c,
        M::PUT,
        &format!("{sync}/secrets"),
        &ta,
        Some(json!({"value": [
        {"key": "CompanyId", "value": B_ID}, {"key": "AuthenticationType", "value": "SyncPolicy"},
        {"key": "SyncAll", "value": "true"}]})),
    )
    .await;
    let job = graph(
        &c,
        M::POST,
        &format!("{sync}/jobs"),
        &ta,
        Some(json!({"templateId": "Azure2Azure"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // start: the worker begins the first cycle at once.
    graph(&c, M::POST, &format!("{sync}/jobs/{job}/start"), &ta, None).await;

    let count = |c: reqwest::Client, url: String, tb: String| async move {
        graph(&c, M::GET, &format!("{url}/v1.0/users/$count"), &tb, None)
            .await
            .as_u64()
            .unwrap_or(0) as usize
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let seen = loop {
        let n = count(c.clone(), url.clone(), tb.clone()).await;
        if n > 0 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the cycle never committed a chunk"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    p.child.kill().unwrap(); // SIGKILL in the middle of the cycle
    p.child.wait().unwrap();
    assert!(
        seen < USERS,
        "the cycle finished ({seen} users) before it could be interrupted; raise USERS"
    );
    eprintln!("killed with {seen} of {USERS} users provisioned");
    drop(p);

    // Restart: the interrupted cycle was never completed, so it is due again at once; run one
    // more on top and check the result.
    let p2 = Proc::start(&args, &dir.path().join("log2"));
    let resp = c
        .post(format!("{}/_sandbox/sync/run", p2.url))
        .timeout(Duration::from_secs(300))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "sync run after the restart");
    let r: Value = resp.json().await.unwrap();
    let rep = &r["jobs"][0];
    assert_eq!(rep["state"], "Succeeded", "{r}");
    assert_eq!(
        rep["countEscrowed"], 0,
        "a duplicate attempt would be an escrow: {r}"
    );
    assert_eq!(count(c.clone(), p2.url.clone(), tb.clone()).await, USERS);
    let j = graph(
        &c,
        M::GET,
        &format!(
            "{}/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}",
            p2.url
        ),
        &ta,
        None,
    )
    .await;
    assert_eq!(
        j["status"]["synchronizedEntryCountByType"],
        json!([{"key": "User", "value": USERS}])
    );
    assert_eq!(p2.terminate().code(), Some(0));

    // In the database: one B user per A user, each linked once.
    let db = rusqlite::Connection::open(data.join("sandbox.db")).unwrap();
    let (users, distinct_sources, links): (i64, i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT json_extract(body, '$._source.objectId')),
                    (SELECT count(*) FROM b2b_links WHERE target_tenant = ?1)
             FROM docs WHERE tenant_id = ?1 AND kind = 'user'",
            [B_ID],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (users, distinct_sources, links),
        (USERS as i64, USERS as i64, USERS as i64)
    );
}
