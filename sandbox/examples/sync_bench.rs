//! Benchmark driver for the synchronization engine (see `sandbox/bench/sync.sh`).
//!
//! ```text
//! sync_bench seed  --users 10000 --targets 1                 > seed.json
//! sync_bench setup --url http://127.0.0.1:PORT --targets 1
//! sync_bench run   --url http://127.0.0.1:PORT [--label first]
//! sync_bench check --url http://127.0.0.1:PORT --targets 1 --users 10000
//!
//! sync_bench seed   --mesh --tenants 20 --users 1000         > seed.json
//! sync_bench setup  --mesh --tenants 20 --url U
//! sync_bench change --mesh --tenants 20 --users 1000 --percent 1 --url U
//! sync_bench check  --mesh --tenants 20 --users 1000 --url U
//! ```
//!
//! Star (default): tenant 1 is the source, `--users` internal members, all in the group "Shared";
//! tenants 2..=targets+1 are targets without users. Mesh (`--mesh`): each of `--tenants` tenants
//! has `--users` internal members in its group "Shared" and shares them with every other tenant
//! (one configuration and job per ordered pair). `change` edits the `jobTitle` of `--percent` of
//! every tenant's users through Graph, for an incremental cycle. `setup` does what the provider does, through Graph:
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
    let topology = if args.iter().any(|a| a == "--mesh") {
        let tenants: usize = arg(&args, "--tenants", "20").parse().unwrap();
        Topology::mesh(tenants)
    } else {
        Topology::star(targets)
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    match cmd {
        "seed" => seed(users, &topology),
        "setup" => rt.block_on(setup(&url, &topology)),
        "run" => rt.block_on(run(&url, &arg(&args, "--label", "cycle"))),
        "change" => {
            let percent: f64 = arg(&args, "--percent", "1").parse().unwrap();
            rt.block_on(change(&url, &topology, users, percent))
        }
        "check" => rt.block_on(check(&url, &topology, users)),
        _ => {
            eprintln!(
                "usage: sync_bench seed|setup|run|change|check [--mesh --tenants N] [--users N] [--targets N] [--percent P] [--url U] [--label L]"
            );
            std::process::exit(2);
        }
    }
}

/// Who shares with whom: tenants are numbered from 1, and each pair is (source, target).
struct Topology {
    tenants: usize,
    pairs: Vec<(usize, usize)>,
}

impl Topology {
    fn star(targets: usize) -> Topology {
        Topology {
            tenants: targets + 1,
            pairs: (2..=targets + 1).map(|t| (1, t)).collect(),
        }
    }

    fn mesh(tenants: usize) -> Topology {
        let pairs = (1..=tenants)
            .flat_map(|s| (1..=tenants).filter(move |&t| t != s).map(move |t| (s, t)))
            .collect();
        Topology { tenants, pairs }
    }

    fn is_source(&self, t: usize) -> bool {
        self.pairs.iter().any(|&(s, _)| s == t)
    }

    /// How many users each tenant should hold after a full cycle.
    fn expected_users(&self, t: usize, users: usize) -> usize {
        let own = if self.is_source(t) { users } else { 0 };
        own + users * self.pairs.iter().filter(|&&(_, tgt)| tgt == t).count()
    }
}

fn seed(users: usize, topology: &Topology) {
    let roles = json!([
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Synchronization.ReadWrite.All",
        "Policy.ReadWrite.CrossTenantAccess",
        "User.ReadWrite.All",
        "Group.Read.All"
    ]);
    let mut tenants = Vec::new();
    for t in 1..=topology.tenants {
        let domain = format!("t{t}.onmicrosoft.com");
        let mut tenant = json!({
            "id": tenant_id(t),
            "displayName": format!("Tenant {t}"),
            "initialDomain": domain,
            "apps": [{"clientId": client_id(t), "clientSecret": SECRET, "roles": roles}],
        });
        if topology.is_source(t) {
            let us: Vec<Value> = (0..users)
                .map(|i| {
                    json!({"displayName": format!("User {i}"), "userPrincipalName": format!("user{i}@{domain}"),
                           "mail": format!("user{i}@t{t}.example.com"), "givenName": "User", "surname": format!("{i}"),
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

    /// GET `path`; `None` on 404.
    async fn get_if_found(&self, path: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        Some(r.json().await.unwrap())
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

async fn setup(url: &str, topology: &Topology) {
    let mut apis = Vec::new();
    for t in 1..=topology.tenants {
        apis.push(Api::login(url, t).await);
    }
    let api = |t: usize| &apis[t - 1];
    let mut groups = std::collections::HashMap::new();
    for t in (1..=topology.tenants).filter(|&t| topology.is_source(t)) {
        let group = api(t)
            .call(
                reqwest::Method::GET,
                "/groups?$filter=displayName%20eq%20'Shared'",
                None,
            )
            .await["value"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        groups.insert(t, group);
    }
    let mut configs = Vec::new();
    for &(s, t) in &topology.pairs {
        configs.push(configure(api(s), s, api(t), t).await);
    }
    // Wait for the (empty) first cycles the worker runs after start.
    let deadline = Instant::now() + Duration::from_secs(300);
    for (s, sp, _, job) in &configs {
        loop {
            let j = api(*s)
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
    for (s, sp, role, job) in &configs {
        api(*s)
            .call(
                reqwest::Method::POST,
                &format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
                Some(json!({"principalId": groups[s], "resourceId": sp, "appRoleId": role})),
            )
            .await;
        println!("configured job {job}");
    }
}

/// What the provider does for one share from `s` to `t`, through Graph: the partner policies on
/// both sides, the configuration, its secrets and job, started. Returns (source, service
/// principal, app role, job).
async fn configure(src: &Api, s: usize, tgt: &Api, t: usize) -> (usize, String, String, String) {
    ensure_partner(tgt, s, "inboundAllowed").await;
    tgt.call(
        reqwest::Method::PUT,
        &format!("/policies/crossTenantAccessPolicy/partners/{}/identitySynchronization", tenant_id(s)),
        Some(json!({"displayName": format!("Tenant {s}"), "userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await;
    ensure_partner(src, t, "outboundAllowed").await;
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
    (s, sp, role, job)
}

/// Make `partner` a partner of `api`'s tenant with `direction` (`inboundAllowed` or
/// `outboundAllowed`) automatic redemption: in a mesh the partner configuration often exists
/// already, made for the other direction.
async fn ensure_partner(api: &Api, partner: usize, direction: &str) {
    let path = format!(
        "/policies/crossTenantAccessPolicy/partners/{}",
        tenant_id(partner)
    );
    match api.get_if_found(&path).await {
        Some(existing) => {
            let mut consent = existing["automaticUserConsentSettings"].clone();
            if !consent.is_object() {
                consent = json!({});
            }
            consent[direction] = json!(true);
            api.call(
                reqwest::Method::PATCH,
                &path,
                Some(json!({"automaticUserConsentSettings": consent})),
            )
            .await;
        }
        None => {
            let body = json!({"tenantId": tenant_id(partner), "automaticUserConsentSettings": {direction: true}});
            api.call(
                reqwest::Method::POST,
                "/policies/crossTenantAccessPolicy/partners",
                Some(body),
            )
            .await;
        }
    }
}

/// Change the `jobTitle` of `percent` % of every source tenant's users (users 0, k, 2k, …).
async fn change(url: &str, topology: &Topology, users: usize, percent: f64) {
    let step = ((100.0 / percent).round() as usize).max(1);
    let mut changed = 0;
    for t in (1..=topology.tenants).filter(|&t| topology.is_source(t)) {
        let api = Api::login(url, t).await;
        for i in (0..users).step_by(step) {
            api.call(
                reqwest::Method::PATCH,
                &format!("/users/user{i}@t{t}.onmicrosoft.com"),
                Some(json!({"jobTitle": "Benchmark (changed)"})),
            )
            .await;
            changed += 1;
        }
    }
    println!("changed {changed} users");
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

async fn check(url: &str, topology: &Topology, users: usize) {
    let mut total = 0;
    for t in 1..=topology.tenants {
        let expected = topology.expected_users(t, users);
        let api = Api::login(url, t).await;
        let n = api.call(reqwest::Method::GET, "/users/$count", None).await;
        let n: usize = n
            .as_str()
            .map(|s| s.parse().unwrap())
            .unwrap_or_else(|| n.as_u64().unwrap() as usize);
        assert_eq!(n, expected, "tenant {t} has {n} users, expected {expected}");
        total += n;
    }
    println!(
        "all {} tenants hold the users expected ({total} in all)",
        topology.tenants
    );
}
