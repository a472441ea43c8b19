//! Benchmark driver for the synchronization engine (see `sandbox/bench/sync.sh`).
//!
//! ```text
//! sync_bench seed  --users 10000 --targets 1                 > seed.json
//! sync_bench setup --url http://127.0.0.1:PORT --targets 1
//! sync_bench run   --url http://127.0.0.1:PORT [--label first]
//! sync_bench check --url http://127.0.0.1:PORT --targets 1 --users 10000
//! ```
//!
//! Tenant 1 is the source: `--users` internal members, all in the group "Shared". Tenants
//! 2..=targets+1 are targets without users. `setup` does what the provider does, through Graph:
//! the policies on both sides, one CTS configuration (application template instantiate, secrets,
//! `Azure2Azure` job) per target, `start`, then — once the empty first cycle has completed, so
//! the background worker will not run again within `--sync-interval` — assigns the group to
//! every configuration. `run` then times `POST /_sandbox/sync/run` (all jobs, concurrently as
//! the engine schedules them) and prints the per-job summaries; `check` counts the users in
//! every target.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRET: &str = "bench-secret";
const CTS_TEMPLATE: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";

fn tenant_id(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

fn client_id(n: usize) -> String {
    format!("{n:08x}-1111-4000-8000-{n:012x}")
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].clone())
        .unwrap_or_else(|| default.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).map(String::as_str).unwrap_or("");
    let users: usize = arg(&args, "--users", "10000").parse().unwrap();
    let targets: usize = arg(&args, "--targets", "1").parse().unwrap();
    let url = arg(&args, "--url", "http://127.0.0.1:8080");
    let rt = tokio::runtime::Runtime::new().unwrap();
    match cmd {
        "seed" => seed(users, targets),
        "setup" => rt.block_on(setup(&url, targets)),
        "run" => rt.block_on(run(&url, &arg(&args, "--label", "cycle"))),
        "check" => rt.block_on(check(&url, targets, users)),
        _ => {
            eprintln!(
                "usage: sync_bench seed|setup|run|check [--users N] [--targets N] [--url U] [--label L]"
            );
            std::process::exit(2);
        }
    }
}

fn seed(users: usize, targets: usize) {
    let roles = json!([
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Synchronization.ReadWrite.All",
        "Policy.ReadWrite.CrossTenantAccess",
        "User.ReadWrite.All",
        "Group.Read.All"
    ]);
    let mut tenants = Vec::new();
    for t in 1..=targets + 1 {
        let domain = format!("t{t}.onmicrosoft.com");
        let mut tenant = json!({
            "id": tenant_id(t),
            "displayName": format!("Tenant {t}"),
            "initialDomain": domain,
            "apps": [{"clientId": client_id(t), "clientSecret": SECRET, "roles": roles}],
        });
        if t == 1 {
            let us: Vec<Value> = (0..users)
                .map(|i| {
                    json!({"displayName": format!("User {i}"), "userPrincipalName": format!("user{i}@{domain}"),
                           "mail": format!("user{i}@t1.example.com"), "givenName": "User", "surname": format!("{i}"),
                           "jobTitle": "Benchmark", "department": format!("D{}", i % 50)})
                })
                .collect();
            let members: Vec<String> = (0..users).map(|i| format!("user{i}@{domain}")).collect();
            tenant["users"] = json!(us);
            tenant["groups"] = json!([{"displayName": "Shared", "members": members}]);
        }
        tenants.push(tenant);
    }
    println!("{}", json!({ "tenants": tenants }));
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn login(url: &str, tenant: usize) -> Api {
        let http = reqwest::Client::new();
        let r: Value = http
            .post(format!("{url}/{}/oauth2/v2.0/token", tenant_id(tenant)))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id(tenant).as_str()),
                ("client_secret", SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            http,
            base: format!("{url}/v1.0"),
            token: r["access_token"].as_str().expect("token").to_string(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("ConsistencyLevel", "eventual");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

async fn setup(url: &str, targets: usize) {
    let src = Api::login(url, 1).await;
    let group = src
        .call(
            reqwest::Method::GET,
            "/groups?$filter=displayName%20eq%20'Shared'",
            None,
        )
        .await["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut configs = Vec::new();
    for t in 2..=targets + 1 {
        let tgt = Api::login(url, t).await;
        tgt.call(
            reqwest::Method::POST,
            "/policies/crossTenantAccessPolicy/partners",
            Some(json!({"tenantId": tenant_id(1), "automaticUserConsentSettings": {"inboundAllowed": true}})),
        )
        .await;
        tgt.call(
            reqwest::Method::PUT,
            &format!(
                "/policies/crossTenantAccessPolicy/partners/{}/identitySynchronization",
                tenant_id(1)
            ),
            Some(json!({"displayName": "Tenant 1", "userSyncInbound": {"isSyncAllowed": true}})),
        )
        .await;
        src.call(
            reqwest::Method::POST,
            "/policies/crossTenantAccessPolicy/partners",
            Some(json!({"tenantId": tenant_id(t), "automaticUserConsentSettings": {"outboundAllowed": true}})),
        )
        .await;
        let inst = src
            .call(
                reqwest::Method::POST,
                &format!("/applicationTemplates/{CTS_TEMPLATE}/instantiate"),
                Some(json!({"displayName": format!("MTO_Sync_{}", tenant_id(t))})),
            )
            .await;
        let sp = inst["servicePrincipal"]["id"].as_str().unwrap().to_string();
        let role = inst["servicePrincipal"]["appRoles"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        src.call(
            reqwest::Method::POST,
            &format!("/servicePrincipals/{sp}/synchronization/jobs/validateCredentials"),
            Some(json!({"useSavedCredentials": false, "templateId": "Azure2Azure",
                        "credentials": [{"key": "CompanyId", "value": tenant_id(t)}, {"key": "AuthenticationType", "value": "SyncPolicy"}]})),
        )
        .await;
        src.call(
            reqwest::Method::PUT,
            &format!("/servicePrincipals/{sp}/synchronization/secrets"),
            Some(
                json!({"value": [{"key": "AuthenticationType", "value": "SyncPolicy"},
                                   {"key": "CompanyId", "value": tenant_id(t)},
                                   {"key": "SyncAll", "value": "false"}]}),
            ),
        )
        .await;
        let job = src
            .call(
                reqwest::Method::POST,
                &format!("/servicePrincipals/{sp}/synchronization/jobs"),
                Some(json!({"templateId": "Azure2Azure"})),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        src.call(
            reqwest::Method::POST,
            &format!("/servicePrincipals/{sp}/synchronization/jobs/{job}/start"),
            None,
        )
        .await;
        configs.push((sp, role, job));
    }
    // Wait for the (empty) first cycles the worker runs after start.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (sp, _, job) in &configs {
        loop {
            let j = src
                .call(
                    reqwest::Method::GET,
                    &format!("/servicePrincipals/{sp}/synchronization/jobs/{job}"),
                    None,
                )
                .await;
            if j["status"]["code"] == "Active" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "first cycle did not complete: {j}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for (sp, role, job) in &configs {
        src.call(
            reqwest::Method::POST,
            &format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
            Some(json!({"principalId": group, "resourceId": sp, "appRoleId": role})),
        )
        .await;
        println!("configured job {job}");
    }
}

async fn run(url: &str, label: &str) {
    let started = Instant::now();
    let r: Value = reqwest::Client::new()
        .post(format!("{url}/_sandbox/sync/run"))
        .timeout(Duration::from_secs(1800))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wall = started.elapsed();
    let jobs = r["jobs"].as_array().unwrap();
    let sum = |k: &str| jobs.iter().map(|j| j[k].as_u64().unwrap_or(0)).sum::<u64>();
    println!(
        "{label}: jobs={} wall={:.2}s entitled={} created={} updated={} deleted={} escrowed={} states={:?}",
        jobs.len(),
        wall.as_secs_f64(),
        sum("countEntitled"),
        sum("created"),
        sum("updated"),
        sum("deleted"),
        sum("countEscrowed"),
        jobs.iter()
            .map(|j| j["state"].as_str().unwrap_or("?"))
            .collect::<Vec<_>>(),
    );
    for j in jobs {
        println!(
            "  job target={} created={} exported={} cycle={:.2}s (read+evaluate {:.2}s, write transactions {:.2}s)",
            j["targetTenantId"].as_str().unwrap_or("?"),
            j["created"],
            j["countExported"],
            j["durationMs"].as_u64().unwrap_or(0) as f64 / 1000.0,
            j["readMs"].as_u64().unwrap_or(0) as f64 / 1000.0,
            j["writeMs"].as_u64().unwrap_or(0) as f64 / 1000.0,
        );
    }
}

async fn check(url: &str, targets: usize, users: usize) {
    for t in 2..=targets + 1 {
        let api = Api::login(url, t).await;
        let n = api.call(reqwest::Method::GET, "/users/$count", None).await;
        let n: usize = n
            .as_str()
            .map(|s| s.parse().unwrap())
            .unwrap_or_else(|| n.as_u64().unwrap() as usize);
        println!("target {t}: {n} users (expected {users})");
        assert_eq!(n, users, "target {t} has {n} users");
    }
}
