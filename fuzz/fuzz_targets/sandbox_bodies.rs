//! The sandbox's JSON bodies and `$batch`: any bytes, on any write route,
//! get a Graph-shaped answer — never a panic (which the sandbox would turn
//! into a 500 `UnknownError`, so every 500 is a finding).
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;

#[path = "common/world.rs"]
mod world;
use world::World;

const SEED: &str = r#"{"tenants":[{"id":"aaaaaaaa-0000-4000-8000-00000000000a","displayName":"A","initialDomain":"a.onmicrosoft.com",
  "apps":[{"clientId":"aaaaaaaa-1111-4000-8000-00000000000a","clientSecret":"s","roles":[
    "MultiTenantOrganization.ReadWrite.All","Policy.ReadWrite.CrossTenantAccess","User.ReadWrite.All",
    "Application.ReadWrite.All","AppRoleAssignment.ReadWrite.All","Synchronization.ReadWrite.All"]}],
  "users":[{"displayName":"U","userPrincipalName":"u@a.onmicrosoft.com"}],"groups":[]}]}"#;

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1.0/$batch"),
    ("PUT", "/v1.0/tenantRelationships/multiTenantOrganization"),
    ("PATCH", "/v1.0/tenantRelationships/multiTenantOrganization"),
    ("POST", "/v1.0/tenantRelationships/multiTenantOrganization/tenants"),
    ("PATCH", "/v1.0/tenantRelationships/multiTenantOrganization/joinRequest"),
    ("POST", "/v1.0/policies/crossTenantAccessPolicy/partners"),
    ("PATCH", "/v1.0/policies/crossTenantAccessPolicy/templates/multiTenantOrganizationPartnerConfiguration"),
    ("PATCH", "/v1.0/policies/crossTenantAccessPolicy/default"),
    ("POST", "/v1.0/users"),
    ("POST", "/v1.0/applicationTemplates/518e5f48-1fc8-4c48-9387-9fdf28b0dfe7/instantiate"),
    ("POST", "/aaaaaaaa-0000-4000-8000-00000000000a/oauth2/v2.0/token"),
];

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| World::new("bodies", SEED))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let (method, path) = ROUTES[selector as usize % ROUTES.len()];
    let w = world();
    let content_type = if path.contains("oauth2") { "application/x-www-form-urlencoded" } else { "application/json" };
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", w.token))
        .header("content-type", content_type)
        .body(Body::from(body.to_vec()))
        .unwrap();
    assert_ne!(w.status(req), 500, "{method} {path} answered 500");
});
