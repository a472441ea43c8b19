//! The one test harness: a seeded sandbox, token helper, request helper, polling helper.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use mto_sandbox::config::{Config, FaultSpec};
use mto_sandbox::jobs::{self, WorkerGuard};
use mto_sandbox::store::Store;
use mto_sandbox::sync::worker::SyncWorkerGuard;
use mto_sandbox::{AppState, router, seed};
use serde_json::Value;
use tower::ServiceExt;

/// A seeded tenant and its administrative app.
pub struct Tenant {
    pub id: &'static str,
    pub domain: &'static str,
    pub client: &'static str,
    pub secret: &'static str,
}

pub const A: Tenant = Tenant {
    id: "aaaaaaaa-0000-4000-8000-00000000000a",
    domain: "contosoa.onmicrosoft.com",
    client: "aaaaaaaa-1111-4000-8000-00000000000a",
    secret: "secret-a",
};
pub const B: Tenant = Tenant {
    id: "bbbbbbbb-0000-4000-8000-00000000000b",
    domain: "contosob.onmicrosoft.com",
    client: "bbbbbbbb-1111-4000-8000-00000000000b",
    secret: "secret-b",
};
pub const C: Tenant = Tenant {
    id: "cccccccc-0000-4000-8000-00000000000c",
    domain: "contosoc.onmicrosoft.com",
    client: "cccccccc-1111-4000-8000-00000000000c",
    secret: "secret-c",
};
/// Tenant A's app that only has User.Read.All.
pub const READER_A: Tenant = Tenant {
    id: "aaaaaaaa-0000-4000-8000-00000000000a",
    domain: "contosoa.onmicrosoft.com",
    client: "aaaaaaaa-2222-4000-8000-00000000000a",
    secret: "reader-a",
};

/// Tenant C's app that only has MultiTenantOrganization.ReadBasic.All.
pub const BASIC_C: Tenant = Tenant {
    id: "cccccccc-0000-4000-8000-00000000000c",
    domain: "contosoc.onmicrosoft.com",
    client: "cccccccc-2222-4000-8000-00000000000c",
    secret: "basic-c",
};

/// The configured base URL of the test sandbox.
pub const BASE_URL: &str = "http://sandbox.test";

pub const JOIN_DELAY: Duration = Duration::from_millis(150);

pub fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed.json")
}

pub struct Sandbox {
    pub state: AppState,
    pub app: Router,
    _worker: WorkerGuard,
    _sync_worker: Option<SyncWorkerGuard>,
}

/// A response, with the body parsed as JSON when it is JSON (else `Value::Null`).
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    /// `error.code` of a Graph error body.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Panic with the body unless the status matches.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

impl Sandbox {
    /// In-memory, seeded, short join delay, no faults.
    pub fn new() -> Sandbox {
        Sandbox::build(None, FaultSpec::default(), JOIN_DELAY)
    }

    pub fn with_faults(faults: FaultSpec) -> Sandbox {
        Sandbox::build(None, faults, JOIN_DELAY)
    }

    /// Open (or reopen) a sandbox; must be called inside a tokio runtime. The synchronization
    /// engine only runs through `POST /_sandbox/sync/run` (no background cycles).
    pub fn build(data: Option<&Path>, faults: FaultSpec, join_delay: Duration) -> Sandbox {
        Sandbox::with_config(
            data,
            faults,
            Config {
                join_delay,
                ..Config::default()
            },
            false,
        )
    }

    /// A sandbox whose synchronization worker runs started jobs every `interval`.
    pub fn with_sync_worker(interval: Duration) -> Sandbox {
        Sandbox::with_config(
            None,
            FaultSpec::default(),
            Config {
                join_delay: JOIN_DELAY,
                sync_interval: interval,
                ..Config::default()
            },
            true,
        )
    }

    /// In-memory, seeded, with these settings (no background synchronization).
    pub fn with_settings(config: Config) -> Sandbox {
        Sandbox::with_config(None, FaultSpec::default(), config, false)
    }

    fn with_config(
        data: Option<&Path>,
        faults: FaultSpec,
        config: Config,
        sync_worker: bool,
    ) -> Sandbox {
        // Requests carry `Host: sandbox.test`; answers must build their URLs from this.
        let config = Config {
            base_url: BASE_URL.into(),
            ..config
        };
        let store = Store::open(data).expect("open store");
        let seed = seed::load(&fixture()).expect("fixture seed");
        seed::apply(&store, &seed).expect("apply seed");
        let state = AppState::new(store, config, faults).expect("state");
        let worker = jobs::start(state.clone());
        let sync_worker = sync_worker.then(|| mto_sandbox::sync::worker::start(state.clone()));
        Sandbox {
            app: router(state.clone()),
            state,
            _worker: worker,
            _sync_worker: sync_worker,
        }
    }

    /// Send a prepared request.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    /// `method uri` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "sandbox.test");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.call("GET", uri, Some(token), None).await
    }

    /// `GET` with `ConsistencyLevel: eventual` (an advanced query); spaces in `uri` are encoded.
    pub async fn get_eventual(&self, uri: &str, token: &str) -> Resp {
        let req = Request::get(uri.replace(' ', "%20"))
            .header("host", "sandbox.test")
            .header("authorization", format!("Bearer {token}"))
            .header("consistencylevel", "eventual")
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// Raw token request with a form body.
    pub async fn token_request(&self, tenant: &str, form: &str) -> Resp {
        let req = Request::builder()
            .method("POST")
            .uri(format!("/{tenant}/oauth2/v2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "sandbox.test")
            .body(Body::from(form.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// An access token for a tenant's app.
    pub async fn token(&self, t: &Tenant) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
            t.client, t.secret
        );
        let r = self.token_request(t.id, &form).await;
        r.expect(200);
        r.json["access_token"].as_str().unwrap().to_string()
    }
}

/// Poll `check` until it returns true (or fail after 5 s).
pub async fn eventually(what: &str, check: impl AsyncFn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub const MTO: &str = "/v1.0/tenantRelationships/multiTenantOrganization";
pub const CTAP: &str = "/v1.0/policies/crossTenantAccessPolicy";

/// Create the MTO in A, add B (and C if `with_c`), have them request to join and wait until
/// they are active.
pub async fn form_mto(sb: &Sandbox, joiners: &[&Tenant]) {
    let ta = sb.token(&A).await;
    sb.call(
        "PUT",
        MTO,
        Some(&ta),
        Some(serde_json::json!({"displayName": "Contoso group"})),
    )
    .await
    .expect(201);
    for j in joiners {
        sb.call(
            "POST",
            &format!("{MTO}/tenants"),
            Some(&ta),
            Some(serde_json::json!({"tenantId": j.id, "displayName": j.domain})),
        )
        .await
        .expect(201);
        let tj = sb.token(j).await;
        sb.call(
            "PATCH",
            &format!("{MTO}/joinRequest"),
            Some(&tj),
            Some(serde_json::json!({"addedByTenantId": A.id})),
        )
        .await
        .expect(204);
        eventually("join to complete", async || {
            sb.get(&format!("{MTO}/joinRequest"), &tj).await.json["memberState"] == "active"
        })
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-tenant synchronization helpers

pub const CTS_TEMPLATE: &str = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";

/// Annie, tenant A's seeded user (`seed_guid` of her UPN).
pub fn annie_id() -> String {
    mto_sandbox::util::seed_guid(A.id, "user", "annie@contosoa.onmicrosoft.com")
}

/// Tenant A's seeded group "Shared with MTO" (Annie is its only member).
pub fn shared_group_id() -> String {
    mto_sandbox::util::seed_guid(A.id, "group", "shared with mto")
}

/// Annie's B2B user principal name in tenant B.
pub const ANNIE_IN_B: &str = "annie_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com";

/// A CTS configuration of `source` towards `target`, with its job.
pub struct Share {
    pub sp: String,
    pub app: String,
    pub app_id: String,
    pub role: String,
    pub job: String,
}

impl Share {
    pub fn sp_path(&self) -> String {
        format!("/v1.0/servicePrincipals/{}", self.sp)
    }
    pub fn sync_path(&self) -> String {
        format!("{}/synchronization", self.sp_path())
    }
    pub fn job_path(&self) -> String {
        format!("{}/jobs/{}", self.sync_path(), self.job)
    }
}

/// Configure `target` to accept synchronization from `source` and `source` to redeem
/// automatically towards `target` (reference §6.0 steps 1–5).
pub async fn allow_sync(sb: &Sandbox, source: &Tenant, target: &Tenant) {
    let ts = sb.token(source).await;
    let tt = sb.token(target).await;
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&tt),
        Some(serde_json::json!({"tenantId": source.id, "automaticUserConsentSettings": {"inboundAllowed": true}})),
    )
    .await
    .expect(201);
    sb.call(
        "PUT",
        &format!("{CTAP}/partners/{}/identitySynchronization", source.id),
        Some(&tt),
        Some(serde_json::json!({"displayName": "source", "userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(204);
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&ts),
        Some(serde_json::json!({"tenantId": target.id, "automaticUserConsentSettings": {"outboundAllowed": true}})),
    )
    .await
    .expect(201);
}

/// Instantiate a configuration in `source`, save its secrets for `target` and create its job
/// (paused). Policies are not touched.
pub async fn configure(sb: &Sandbox, source: &Tenant, target: &Tenant) -> Share {
    let ts = sb.token(source).await;
    let r = sb
        .call(
            "POST",
            &format!("/v1.0/applicationTemplates/{CTS_TEMPLATE}/instantiate"),
            Some(&ts),
            Some(serde_json::json!({"displayName": format!("MTO_Sync_{}", target.id)})),
        )
        .await;
    r.expect(201);
    let s = |p: &str| {
        r.json
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    };
    let mut share = Share {
        sp: s("/servicePrincipal/id"),
        app: s("/application/id"),
        app_id: s("/application/appId"),
        role: s("/servicePrincipal/appRoles/0/id"),
        job: String::new(),
    };
    sb.call(
        "PUT",
        &format!("{}/secrets", share.sync_path()),
        Some(&ts),
        Some(serde_json::json!({"value": [
            {"key": "AuthenticationType", "value": "SyncPolicy"},
            {"key": "CompanyId", "value": target.id},
            {"key": "SyncAll", "value": "false"},
        ]})),
    )
    .await
    .expect(204);
    let j = sb
        .call(
            "POST",
            &format!("{}/jobs", share.sync_path()),
            Some(&ts),
            Some(serde_json::json!({"templateId": "Azure2Azure"})),
        )
        .await;
    j.expect(201);
    share.job = j.json["id"].as_str().unwrap().to_string();
    share
}

/// Policies, configuration, job, `principal` assigned, job started: a working A→B style share.
pub async fn share(sb: &Sandbox, source: &Tenant, target: &Tenant, principal: &str) -> Share {
    allow_sync(sb, source, target).await;
    let s = configure(sb, source, target).await;
    assign(sb, source, &s, principal).await.expect(201);
    start(sb, source, &s).await;
    s
}

/// Assign a user or group to the configuration's msiam_access role.
pub async fn assign(sb: &Sandbox, source: &Tenant, s: &Share, principal: &str) -> Resp {
    let ts = sb.token(source).await;
    sb.call(
        "POST",
        &format!("{}/appRoleAssignedTo", s.sp_path()),
        Some(&ts),
        Some(
            serde_json::json!({"principalId": principal, "resourceId": s.sp, "appRoleId": s.role}),
        ),
    )
    .await
}

pub async fn start(sb: &Sandbox, source: &Tenant, s: &Share) {
    let ts = sb.token(source).await;
    sb.call("POST", &format!("{}/start", s.job_path()), Some(&ts), None)
        .await
        .expect(204);
}

/// `POST /_sandbox/sync/run` (all started jobs); returns the per-job summaries.
pub async fn run_sync(sb: &Sandbox) -> Vec<Value> {
    let r = sb.call("POST", "/_sandbox/sync/run", None, None).await;
    r.expect(200);
    r.json["jobs"].as_array().unwrap().clone()
}

/// A user of `t` by UPN (full property set), or None.
pub async fn user_in(sb: &Sandbox, t: &Tenant, upn: &str) -> Option<Value> {
    let tok = sb.token(t).await;
    let sel = "id,displayName,userPrincipalName,mail,userType,accountEnabled,creationType,externalUserState,showInAddressList,identities,jobTitle,department,givenName,surname,mailNickname";
    let r = sb
        .get(
            &format!("/v1.0/users/{}?$select={sel}", upn.replace('#', "%23")),
            &tok,
        )
        .await;
    match r.status {
        200 => Some(r.json),
        404 => None,
        other => panic!("GET user {upn}: {other} {}", r.text),
    }
}

/// Create an internal user in `t` through Graph; returns its id.
pub async fn create_user(sb: &Sandbox, t: &Tenant, upn: &str, name: &str, extra: Value) -> String {
    let tok = sb.token(t).await;
    let mut body = serde_json::json!({"accountEnabled": true, "displayName": name,
        "mailNickname": upn.split('@').next().unwrap(), "userPrincipalName": upn,
        "passwordProfile": {"password": "P@ssw0rd!"}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = sb.call("POST", "/v1.0/users", Some(&tok), Some(body)).await;
    r.expect(201);
    r.json["id"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// Jobs and schemas

pub async fn job(sb: &Sandbox, s: &Share) -> Value {
    let ta = sb.token(&A).await;
    let r = sb.get(&s.job_path(), &ta).await;
    r.expect(200);
    r.json
}

pub async fn schema_of(sb: &Sandbox, s: &Share) -> Value {
    let ta = sb.token(&A).await;
    let r = sb.get(&format!("{}/schema", s.job_path()), &ta).await;
    r.expect(200);
    r.json
}

pub async fn put_schema(sb: &Sandbox, s: &Share, schema: &Value) -> Resp {
    let ta = sb.token(&A).await;
    sb.call(
        "PUT",
        &format!("{}/schema", s.job_path()),
        Some(&ta),
        Some(schema.clone()),
    )
    .await
}

/// Change the object mapping of `object` (`User`, `Group`) in a job's schema.
pub async fn edit_mapping(sb: &Sandbox, s: &Share, object: &str, f: impl FnOnce(&mut Value)) {
    let mut schema = schema_of(sb, s).await;
    let mapping = schema["synchronizationRules"][0]["objectMappings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["sourceObjectName"] == object)
        .unwrap();
    f(mapping);
    put_schema(sb, s, &schema).await.expect(204);
}

/// Change the user object mapping of a job's schema.
pub async fn edit_user_mapping(sb: &Sandbox, s: &Share, f: impl FnOnce(&mut Value)) {
    edit_mapping(sb, s, "User", f).await;
}

pub fn report<'a>(reports: &'a [Value], s: &Share) -> &'a Value {
    reports
        .iter()
        .find(|r| r["jobId"] == s.job.as_str())
        .expect("a report for the job")
}

pub async fn deleted_in(sb: &Sandbox, t: &Tenant, id: &str) -> bool {
    let tok = sb.token(t).await;
    sb.get(&format!("/v1.0/directory/deletedItems/{id}"), &tok)
        .await
        .status
        == 200
}

/// Change the group object mapping of a job's schema.
pub async fn edit_group_mapping(sb: &Sandbox, s: &Share, f: impl FnOnce(&mut Value)) {
    edit_mapping(sb, s, "Group", f).await;
}

/// Set one synchronization secret of a configuration of tenant A.
pub async fn put_secret(sb: &Sandbox, s: &Share, key: &str, value: &str) {
    let ta = sb.token(&A).await;
    sb.call(
        "PUT",
        &format!("{}/secrets", s.sync_path()),
        Some(&ta),
        Some(serde_json::json!({"value": [{"key": key, "value": value}]})),
    )
    .await
    .expect(204);
}

/// A scope filter with one group of `(attribute, operator, value)` clauses.
pub fn scope_filter(clauses: &[(&str, &str, &str)]) -> Value {
    let clauses: Vec<Value> = clauses
        .iter()
        .map(|(a, op, v)| {
            let values: Vec<&str> = if v.is_empty() { vec![] } else { vec![*v] };
            serde_json::json!({"operatorName": op, "sourceOperandName": a,
                "targetOperand": {"values": values}})
        })
        .collect();
    serde_json::json!({"groups": [{"name": "filter", "clauses": clauses}],
        "inputFilterGroups": [], "categoryFilterGroups": []})
}

// ---------------------------------------------------------------------------------------------
// Extra seed: apps and bulk users

/// Tenant A's app for group writes (applied by [`grant_group_writer`]).
pub const GROUPS_A: Tenant = Tenant {
    id: "aaaaaaaa-0000-4000-8000-00000000000a",
    domain: "contosoa.onmicrosoft.com",
    client: "aaaaaaaa-4444-4000-8000-00000000000a",
    secret: "groups-a",
};

/// Tenant A's app with GroupMember.ReadWrite.All only.
pub const MEMBERS_A: Tenant = Tenant {
    id: "aaaaaaaa-0000-4000-8000-00000000000a",
    domain: "contosoa.onmicrosoft.com",
    client: "aaaaaaaa-5555-4000-8000-00000000000a",
    secret: "members-a",
};

fn apply_seed(sb: &Sandbox, seed: Value) {
    let mut seed: mto_sandbox::seed::SeedFile = serde_json::from_value(seed).unwrap();
    mto_sandbox::seed::validate(&mut seed).unwrap();
    mto_sandbox::seed::apply(&sb.state.store, &seed).unwrap();
}

/// Register [`GROUPS_A`] (Group.ReadWrite.All, User.ReadWrite.All) and [`MEMBERS_A`]
/// (GroupMember.ReadWrite.All) in tenant A, as a seed would.
pub fn grant_group_writer(sb: &Sandbox) {
    apply_seed(
        sb,
        serde_json::json!({"tenants": [{"id": A.id, "displayName": "Contoso A", "initialDomain": A.domain,
            "apps": [
                {"clientId": GROUPS_A.client, "clientSecret": GROUPS_A.secret,
                 "roles": ["Group.ReadWrite.All", "User.ReadWrite.All"]},
                {"clientId": MEMBERS_A.client, "clientSecret": MEMBERS_A.secret,
                 "roles": ["GroupMember.ReadWrite.All", "Group.Read.All"]}]}]}),
    );
}

/// Seed `n` more internal users into a tenant (`bulk-<i>@<domain>`).
pub fn bulk_users(sb: &Sandbox, t: &Tenant, name: &str, n: usize) {
    let users: Vec<Value> = (0..n)
        .map(|i| {
            serde_json::json!({"displayName": format!("Bulk {i}"),
                "userPrincipalName": format!("bulk-{i}@{}", t.domain)})
        })
        .collect();
    apply_seed(
        sb,
        serde_json::json!({"tenants": [{"id": t.id, "displayName": name, "initialDomain": t.domain,
            "users": users}]}),
    );
}

// ---------------------------------------------------------------------------------------------
// Groups

/// `POST /groups` in tenant A with the token of `app`.
pub async fn post_group(sb: &Sandbox, app: &Tenant, body: Value) -> Resp {
    let tok = sb.token(app).await;
    sb.call("POST", "/v1.0/groups", Some(&tok), Some(body))
        .await
}

/// The body of a new security group.
pub fn security_group(name: &str, nick: &str) -> Value {
    serde_json::json!({"displayName": name, "mailEnabled": false, "mailNickname": nick,
        "securityEnabled": true})
}

/// Create a security group in tenant A through Graph (with [`GROUPS_A`]); returns its id.
pub async fn create_group(sb: &Sandbox, name: &str) -> String {
    let nick: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let r = post_group(sb, &GROUPS_A, security_group(name, &nick)).await;
    r.expect(201);
    r.json["id"].as_str().unwrap().to_string()
}

/// `POST /groups/{group}/members/$ref` in tenant A with [`GROUPS_A`].
pub async fn add_member(sb: &Sandbox, group: &str, member: &str) -> Resp {
    let tok = sb.token(&GROUPS_A).await;
    sb.call(
        "POST",
        &format!("/v1.0/groups/{group}/members/$ref"),
        Some(&tok),
        Some(serde_json::json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")})),
    )
    .await
}

/// `DELETE /groups/{group}/members/{member}/$ref` in tenant A with [`GROUPS_A`].
pub async fn remove_member(sb: &Sandbox, group: &str, member: &str) -> Resp {
    let tok = sb.token(&GROUPS_A).await;
    sb.call(
        "DELETE",
        &format!("/v1.0/groups/{group}/members/{member}/$ref"),
        Some(&tok),
        None,
    )
    .await
}

/// A group of `t` by display name (full document), or None.
pub async fn group_in(sb: &Sandbox, t: &Tenant, name: &str) -> Option<Value> {
    let tok = sb.token(t).await;
    let r = sb
        .get(
            &format!(
                "/v1.0/groups?$filter=displayName%20eq%20'{}'",
                name.replace(' ', "%20")
            ),
            &tok,
        )
        .await;
    r.expect(200);
    r.json["value"].as_array().unwrap().first().cloned()
}

/// The user principal names of a group's members in `t` (sorted).
pub async fn member_upns(sb: &Sandbox, t: &Tenant, group: &str) -> Vec<String> {
    let tok = sb.token(t).await;
    let r = sb.get(&format!("/v1.0/groups/{group}/members"), &tok).await;
    r.expect(200);
    let mut out: Vec<String> = r.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["userPrincipalName"]
                .as_str()
                .or(m["displayName"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    out.sort();
    out
}

/// The B2B user principal name in tenant B of a user of tenant A.
pub fn in_b(upn: &str) -> String {
    format!("{}#EXT#@{}", upn.replace('@', "_"), B.domain)
}

/// The per-subject reports of a provisionOnDemand answer: `value` is a JSON string holding one
/// report (one subject) or an array of them; `key` a JSON string `{result, details}`.
pub fn on_demand_reports(r: &Resp) -> Vec<Value> {
    let key: Value = serde_json::from_str(r.json["key"].as_str().unwrap()).unwrap();
    assert!(
        matches!(
            key["result"].as_str(),
            Some("Success" | "Skipped" | "Failure")
        ),
        "{key}"
    );
    match serde_json::from_str::<Value>(r.json["value"].as_str().unwrap()).unwrap() {
        Value::Array(a) => a,
        one => vec![one],
    }
}
