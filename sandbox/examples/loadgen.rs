//! A small load generator for the sandbox benchmark (see `sandbox/bench/get_user.sh`).
//!
//! ```text
//! loadgen seed --tenants 3 --users 10000            > seed.json
//! loadgen ids  --tenant 1 --users 10000             > ids.txt   (one user id per line)
//! loadgen run  --url http://127.0.0.1:PORT --tenant 1 --users 10000 --connections 50 --duration 10s
//! ```
//!
//! Tenant `n` has id `0000000n-0000-4000-8000-00000000000n`-style GUIDs (see `tenant_id`), an app
//! `bench-app` with `User.Read.All`, and users `user{i}@t{n}.onmicrosoft.com` whose ids are the
//! sandbox's deterministic seed GUIDs, so `run` can address them without listing them first.
//! `run` prints requests/s and latency percentiles; it is a closed-loop generator (each
//! connection sends its next request when the previous one is answered).

use std::time::{Duration, Instant};

use mto_sandbox::util::seed_guid;
use serde_json::{Value, json};

fn tenant_id(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

fn client_id(n: usize) -> String {
    format!("{n:08x}-1111-4000-8000-{n:012x}")
}

fn upn(tenant: usize, i: usize) -> String {
    format!("user{i}@t{tenant}.onmicrosoft.com")
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
    let tenants: usize = arg(&args, "--tenants", "3").parse().unwrap();
    let users: usize = arg(&args, "--users", "10000").parse().unwrap();
    let tenant: usize = arg(&args, "--tenant", "1").parse().unwrap();
    match cmd {
        "seed" => {
            let ts: Vec<Value> = (1..=tenants)
                .map(|t| {
                    let us: Vec<Value> = (0..users)
                        .map(|i| {
                            json!({"displayName": format!("User {i} of tenant {t}"), "userPrincipalName": upn(t, i),
                                   "mail": format!("user{i}@t{t}.example.com"), "jobTitle": "Benchmark",
                                   "givenName": "User", "surname": format!("{i}")})
                        })
                        .collect();
                    json!({"id": tenant_id(t), "displayName": format!("Tenant {t}"),
                           "initialDomain": format!("t{t}.onmicrosoft.com"),
                           "apps": [{"clientId": client_id(t), "clientSecret": "bench-secret", "roles": ["User.Read.All"]}],
                           "users": us})
                })
                .collect();
            println!("{}", json!({ "tenants": ts }));
        }
        "ids" => {
            for i in 0..users {
                println!("{}", seed_guid(&tenant_id(tenant), "user", &upn(tenant, i)));
            }
        }
        "token" => {
            let url = arg(&args, "--url", "http://127.0.0.1:8080");
            let rt = tokio::runtime::Runtime::new().unwrap();
            println!(
                "{}",
                rt.block_on(token(&reqwest::Client::new(), &url, tenant))
            );
        }
        "run" => {
            let url = arg(&args, "--url", "http://127.0.0.1:8080");
            let conns: usize = arg(&args, "--connections", "50").parse().unwrap();
            let secs: f64 = arg(&args, "--duration", "10s")
                .trim_end_matches('s')
                .parse()
                .unwrap();
            let threads: usize = arg(&args, "--threads", "1").parse().unwrap();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run(
                url,
                tenant,
                users,
                conns,
                Duration::from_secs_f64(secs),
            ));
        }
        _ => {
            eprintln!(
                "usage: loadgen seed|ids|token|run [--tenants N] [--users N] [--tenant N] [--url U] [--connections N] [--duration 10s]"
            );
            std::process::exit(2);
        }
    }
}

async fn token(c: &reqwest::Client, url: &str, tenant: usize) -> String {
    let r: Value = c
        .post(format!("{url}/{}/oauth2/v2.0/token", tenant_id(tenant)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id(tenant).as_str()),
            ("client_secret", "bench-secret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().expect("token").to_string()
}

async fn run(url: String, tenant: usize, users: usize, conns: usize, duration: Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .http1_only()
        .build()
        .unwrap();
    let tok = token(&client, &url, tenant).await;
    let ids: Vec<String> = (0..users)
        .map(|i| seed_guid(&tenant_id(tenant), "user", &upn(tenant, i)))
        .collect();
    let ids = std::sync::Arc::new(ids);
    // Warm up (connections, caches) for a second.
    let deadline_warm = Instant::now() + Duration::from_secs(1);
    let start_at = deadline_warm;
    let end_at = start_at + duration;
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (client, tok, ids, url) = (client.clone(), tok.clone(), ids.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut i = c * 7919;
            loop {
                let now = Instant::now();
                if now >= end_at {
                    break;
                }
                let id = &ids[i % ids.len()];
                i += 1;
                let r = client
                    .get(format!("{url}/v1.0/users/{id}"))
                    .bearer_auth(&tok)
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) => {
                        let ok = r.status() == 200;
                        let _ = r.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                if now >= start_at {
                    lat.push(now.elapsed().as_micros() as u64);
                    if !ok {
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let n = all.len();
    println!(
        "requests={n} errors={errors} duration={:.1}s rps={:.0} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        duration.as_secs_f64(),
        n as f64 / duration.as_secs_f64(),
        pct(0.50) as f64 / 1000.0,
        pct(0.90) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
}
