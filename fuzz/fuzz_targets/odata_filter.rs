//! The sandbox's OData query options: any `$filter` / `$search` text gets a parse result or a
//! Graph-shaped 400 — never a stack overflow, a panic or a 500. Each input is parsed directly
//! (then canonicalized, evaluated and compiled to SQL like the routes do), and sent as the
//! `$filter` of a SQL-backed collection and of the in-memory MTO tenants list, and as `$search`.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use mto_sandbox::query::{parse_filter, parse_search};
use mto_sandbox::store::filter::SqlFilter;

#[path = "common/world.rs"]
mod world;
use world::World;

const SEED: &str = r#"{"tenants":[{"id":"aaaaaaaa-0000-4000-8000-00000000000a","displayName":"A","initialDomain":"a.onmicrosoft.com",
  "apps":[{"clientId":"aaaaaaaa-1111-4000-8000-00000000000a","clientSecret":"s","roles":[
    "MultiTenantOrganization.ReadWrite.All","User.ReadWrite.All","Group.Read.All","Application.ReadWrite.All"]}],
  "users":[{"displayName":"U","userPrincipalName":"u@a.onmicrosoft.com","mail":"u@a.com"}],
  "groups":[{"displayName":"G","members":["u@a.onmicrosoft.com"]}]}]}"#;

const PROPS: &[&str] = &[
    "id",
    "displayName",
    "mail",
    "userPrincipalName",
    "accountEnabled",
    "tenantId",
    "identities/issuer",
    "proxyAddresses/$it",
];

const PATHS: &[&str] = &[
    "/v1.0/users",
    "/v1.0/groups",
    "/v1.0/servicePrincipals",
    "/v1.0/tenantRelationships/multiTenantOrganization/tenants",
];

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| World::new("odata", SEED))
}

/// Percent-encode everything but unreserved characters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Directly, as every route does with a filter it accepted.
    if let Ok(f) = parse_filter(text) {
        let _ = f.is_advanced();
        let obj = serde_json::json!({"id": "1", "displayName": "U", "accountEnabled": true, "tenantId": "t"});
        let _ = f.eval(obj.as_object().unwrap());
        if let Ok(c) = f.canonicalize(PROPS, "User") {
            let _ = SqlFilter::compile(&c);
        }
    }
    if let Ok(f) = parse_search(text, &["displayName", "mail"]) {
        let _ = SqlFilter::compile(&f);
    }
    // Through the router, with SQL and in-memory evaluation behind it.
    let w = world();
    let q = enc(text);
    let mut uris: Vec<String> = PATHS
        .iter()
        .map(|p| format!("{p}?$count=true&$filter={q}"))
        .collect();
    uris.push(format!("/v1.0/users?$search={q}"));
    for uri in uris {
        let Ok(req) = Request::get(&uri)
            .header("authorization", format!("Bearer {}", w.token))
            .header("consistencylevel", "eventual")
            .body(Body::empty())
        else {
            continue; // not a valid URI (too long): the HTTP layer refuses it before us
        };
        assert_ne!(w.status(req), 500, "GET {uri} answered 500");
    }
});
