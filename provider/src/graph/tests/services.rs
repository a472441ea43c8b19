//! The typed services: the requests they send and what they make of the
//! answers, against a scripted Graph.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::graph::partners::Direction;
use crate::graph::sync::UserMapping;
use crate::graph::{Created, ErrorKind, ReadMode, TenantApi};

const PARTNER: &str = "bbbbbbbb-0000-0000-0000-000000000002";
const SP: &str = "5e000000-0000-0000-0000-0000000000sp";

/// One request as the service sent it (`$batch` unpacked).
#[derive(Clone, Debug)]
struct Call {
    method: String,
    /// Relative to the version root, with the query.
    path: String,
    body: Value,
}

/// A `$batch` request as the service got it: its endpoint and the paths
/// inside it.
type Batch = (String, Vec<String>);

type Handler = dyn Fn(&str, &str, &Value) -> (u16, Value) + Send + Sync;

/// A scripted Graph: `handler(method, path, body)` answers every request,
/// including each request inside a `$batch`; every one is recorded.
struct Fake {
    mock: Mock,
    calls: Arc<Mutex<Vec<Call>>>,
    batches: Arc<Mutex<Vec<Batch>>>,
    client: GraphClient,
    /// One operation of 30 seconds for everything the test sends.
    scope: Scope,
}

impl Fake {
    async fn new(
        handler: impl Fn(&str, &str, &Value) -> (u16, Value) + Send + Sync + 'static,
    ) -> Fake {
        let handler: Arc<Handler> = Arc::new(handler);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        let batches = Arc::new(Mutex::new(Vec::new()));
        let recorded_batches = batches.clone();
        let answer = move |method: &str, path: &str, body: &Value| {
            recorded.lock().unwrap().push(Call {
                method: method.to_owned(),
                path: path.to_owned(),
                body: body.clone(),
            });
            handler(method, path, body)
        };
        let mock = mock(Arc::new(move |method, path, body| {
            // Beta paths keep their prefix; v1.0 paths are relative to it.
            let (version, path) = match path.strip_prefix("/beta") {
                Some(p) => ("/beta", p),
                None => ("", path.trim_start_matches("/v1.0")),
            };
            if method == Method::POST && path == "/$batch" {
                let requests = body["requests"].as_array().unwrap();
                recorded_batches.lock().unwrap().push((
                    format!(
                        "{}/$batch",
                        if version.is_empty() { "/v1.0" } else { version }
                    ),
                    requests
                        .iter()
                        .map(|r| r["url"].as_str().unwrap().to_owned())
                        .collect(),
                ));
                let responses: Vec<Value> = requests
                    .iter()
                    .map(|r| {
                        let (status, out) = answer(
                            r["method"].as_str().unwrap(),
                            &format!("{version}{}", r["url"].as_str().unwrap()),
                            &r["body"],
                        );
                        json!({"id": r["id"], "status": status, "headers": {}, "body": out})
                    })
                    .collect();
                return (200, vec![], json!({"responses": responses}));
            }
            let (status, out) = answer(method.as_str(), &format!("{version}{path}"), body);
            (status, vec![], out)
        }))
        .await;
        let client = client(&mock, SECRET);
        Fake {
            mock,
            calls,
            batches,
            client,
            scope: scope(30),
        }
    }

    fn api(&self) -> TenantApi<'_> {
        self.client.tenant(TENANT, &self.scope).unwrap()
    }

    /// Ensures automatic redemption in direction `d` under the partner's
    /// lock, as a share or an acceptance does.
    async fn ensure(&self, d: Direction) -> Created<()> {
        let api = self.api();
        let lock = api.partners().lock(PARTNER).await;
        lock.ensure_auto_redeem(d, true).await.unwrap()
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.lock().unwrap().clone()
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// `METHOD path` of every call, in order.
    fn lines(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| format!("{} {}", c.method, c.path))
            .collect()
    }

    fn bodies(&self, method: &str, path_prefix: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path.starts_with(path_prefix))
            .map(|c| c.body)
            .collect()
    }
}

fn not_found() -> (u16, Value) {
    (404, graph_error("Request_ResourceNotFound"))
}

fn partner_path() -> String {
    format!("/policies/crossTenantAccessPolicy/partners/{PARTNER}")
}

// ---------------------------------------------------------------------------
// partners

#[tokio::test]
async fn a_missing_partner_configuration_is_created_with_one_direction() {
    let fake = Fake::new(|method, path, _| match (method, path) {
        ("GET", p) if p.starts_with("/policies/crossTenantAccessPolicy/partners/") => not_found(),
        ("POST", "/policies/crossTenantAccessPolicy/partners") => {
            (201, json!({"tenantId": PARTNER}))
        }
        _ => (500, Value::Null),
    })
    .await;
    let created = fake.ensure(Direction::Inbound).await;
    assert_eq!(created, Created::New(()));
    assert_eq!(
        fake.bodies("POST", "/policies/crossTenantAccessPolicy/partners"),
        [
            json!({"tenantId": PARTNER, "automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": null}})
        ]
    );
}

#[tokio::test]
async fn an_existing_partner_configuration_keeps_the_other_direction() {
    let fake = Fake::new(|method, _, _| match method {
        "GET" => (200, json!({"tenantId": PARTNER, "automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": null}})),
        "PATCH" => (204, Value::Null),
        _ => (500, Value::Null),
    })
    .await;
    let created = fake.ensure(Direction::Outbound).await;
    assert_eq!(created, Created::Existing(()));
    assert_eq!(
        fake.bodies("PATCH", &partner_path()),
        [
            json!({"automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": true}})
        ]
    );
    // Already as wanted: nothing is written.
    fake.ensure(Direction::Inbound).await;
    assert_eq!(fake.bodies("PATCH", &partner_path()).len(), 1);
}

#[tokio::test]
async fn a_conflicting_create_adopts_the_configuration_made_meanwhile() {
    // An organization join created the configuration between our look and
    // our create: Graph answers 409, and the next look finds it.
    let posted = Arc::new(AtomicUsize::new(0));
    let p2 = posted.clone();
    let fake = Fake::new(move |method, _, _| match method {
        "GET" if p2.load(Ordering::SeqCst) == 0 => not_found(),
        "GET" => (
            200,
            json!({"tenantId": PARTNER, "isInMultiTenantOrganization": true}),
        ),
        "POST" => {
            p2.fetch_add(1, Ordering::SeqCst);
            (409, graph_error("Request_MultipleObjectsWithSameKeyValue"))
        }
        "PATCH" => (204, Value::Null),
        _ => (500, Value::Null),
    })
    .await;
    let created = fake.ensure(Direction::Inbound).await;
    assert_eq!(created, Created::Existing(()));
    assert_eq!(posted.load(Ordering::SeqCst), 1, "{:?}", fake.lines());
    assert_eq!(fake.bodies("PATCH", &partner_path()).len(), 1);
}

#[tokio::test]
async fn release_deletes_only_a_bare_configuration_outside_an_organization() {
    for (in_mto, created_by_us, has_sync_policy, expect_delete) in [
        (false, false, false, true),
        (true, false, false, false),
        (true, true, false, true),
        (false, true, true, false),
    ] {
        let fake = Fake::new(move |method, path, _| match method {
            "GET" if path.ends_with("/identitySynchronization") => {
                if has_sync_policy {
                    (200, json!({"userSyncInbound": {"isSyncAllowed": true}}))
                } else {
                    not_found()
                }
            }
            "GET" => (
                200,
                json!({"tenantId": PARTNER, "isInMultiTenantOrganization": in_mto,
                "automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": null}}),
            ),
            "PATCH" | "DELETE" => (204, Value::Null),
            _ => (500, Value::Null),
        })
        .await;
        let api = fake.api();
        let lock = api.partners().lock(PARTNER).await;
        lock.release(Direction::Inbound, created_by_us)
            .await
            .unwrap();
        assert_eq!(
            fake.bodies("PATCH", &partner_path()),
            [
                json!({"automaticUserConsentSettings": {"inboundAllowed": null, "outboundAllowed": null}})
            ]
        );
        let deleted = fake.lines().contains(&format!("DELETE {}", partner_path()));
        assert_eq!(
            deleted,
            expect_delete,
            "in MTO {in_mto}, ours {created_by_us}, sync policy {has_sync_policy}: {:?}",
            fake.lines()
        );
    }
}

#[tokio::test]
async fn refreshes_share_one_list_of_partners_until_a_write_takes_the_lock() {
    let fake = Fake::new(|method, path, _| match (method, path) {
        ("GET", "/policies/crossTenantAccessPolicy/partners?$expand=identitySynchronization") => (
            200,
            json!({"value": [
                {"tenantId": PARTNER.to_uppercase(), "automaticUserConsentSettings": {"outboundAllowed": true}, "identitySynchronization": null},
                {"tenantId": "cccccccc-0000-0000-0000-000000000003", "identitySynchronization": {"userSyncInbound": {"isSyncAllowed": true}}}
            ]}),
        ),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let (p, sync) = api.partners().for_refresh(PARTNER).await.unwrap().unwrap();
    assert!(p.auto_redeem(Direction::Outbound));
    assert_eq!(sync, None);
    let (_, sync) = api
        .partners()
        .for_refresh("cccccccc-0000-0000-0000-000000000003")
        .await
        .unwrap()
        .unwrap();
    assert!(sync.unwrap().user_sync_allowed());
    assert_eq!(
        api.partners()
            .for_refresh("dddddddd-0000-0000-0000-000000000004")
            .await
            .unwrap(),
        None
    );
    assert_eq!(fake.calls().len(), 1, "{:?}", fake.lines());
    drop(api.partners().lock(PARTNER).await);
    api.partners().for_refresh(PARTNER).await.unwrap();
    assert_eq!(fake.calls().len(), 2, "a write invalidates the snapshot");
}

#[tokio::test]
async fn an_existing_sync_policy_is_patched_not_created() {
    let fake = Fake::new(|method, _, _| match method {
        "PUT" => (409, graph_error("Request_MultipleObjectsWithSameKeyValue")),
        "PATCH" => (204, Value::Null),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let lock = api.partners().lock(PARTNER).await;
    assert_eq!(
        lock.ensure_sync_policy(true).await.unwrap(),
        Created::Existing(())
    );
    assert_eq!(
        fake.bodies(
            "PATCH",
            &format!("{}/identitySynchronization", partner_path())
        ),
        [json!({"userSyncInbound": {"isSyncAllowed": true}})]
    );
}

// ---------------------------------------------------------------------------
// apps

#[tokio::test]
async fn assignments_are_made_exactly_the_planned_set() {
    let fake = Fake::new(|method, path, _| match (method, path) {
        ("GET", p) if p.ends_with("/appRoleAssignedTo") => (200, json!({"value": [
            {"id": "as-1", "principalId": "u1", "principalType": "User"},
            {"id": "as-2", "principalId": "u2", "principalType": "User"}
        ]})),
        ("GET", p) if p.starts_with("/servicePrincipals/") => (200, json!({"id": SP, "appId": "app", "appRoles": [
            {"id": "role-other", "value": "other"}, {"id": "role-access", "value": null, "displayName": "msiam_access"}
        ]})),
        ("DELETE", _) => (204, Value::Null),
        ("POST", _) => (201, json!({"id": "as-3"})),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let want = BTreeSet::from(["U1".to_owned(), "u3".to_owned()]);
    api.apps().assign_exactly(SP, &want).await.unwrap();
    let lines = fake.lines();
    assert!(
        lines.contains(&format!(
            "DELETE /servicePrincipals/{SP}/appRoleAssignedTo/as-2"
        )),
        "{lines:?}"
    );
    assert_eq!(
        fake.bodies("POST", "/servicePrincipals/"),
        [json!({"principalId": "u3", "resourceId": SP, "appRoleId": "role-access"})],
        "only the missing principal is assigned, with the access role"
    );
}

#[tokio::test]
async fn configurations_are_found_by_name_and_template() {
    let fake = Fake::new(|_, path, _| {
        assert!(path.starts_with("/servicePrincipals?$filter="), "{path}");
        assert!(path.contains("MTO_Sync_x"), "{path}");
        (200, json!({"value": [
            {"id": "sp1", "appId": "a1", "displayName": "MTO_Sync_x", "applicationTemplateId": "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7"},
            {"id": "sp2", "appId": "a2", "displayName": "MTO_Sync_x", "applicationTemplateId": "00000000-1111-2222-3333-444444444444"}
        ]}))
    })
    .await;
    let api = fake.api();
    let found = api.apps().find_or_instantiate("MTO_Sync_x").await.unwrap();
    let Created::Existing(found) = found else {
        panic!("an existing configuration must not be instantiated again: {found:?}")
    };
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].service_principal_id, "sp1");
    assert_eq!(found[0].application_client_id, "a1");
}

#[tokio::test]
async fn a_configuration_deleted_during_the_search_for_others_is_skipped() {
    let fake = Fake::new(|_, path, _| {
        if path.starts_with("/servicePrincipals?$filter=") {
            return (200, json!({"value": [
                {"id": "gone", "appId": "a0", "displayName": "MTO_Sync_x", "applicationTemplateId": "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7"},
                {"id": "other", "appId": "a1", "displayName": "Second", "applicationTemplateId": "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7"},
                {"id": "mine", "appId": "a2", "displayName": "Mine", "applicationTemplateId": "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7"}
            ]}));
        }
        match path {
            "/servicePrincipals/gone/synchronization/secrets" => not_found(),
            "/servicePrincipals/other/synchronization/secrets" => {
                (200, json!({"value": [{"key": "CompanyId", "value": PARTNER}]}))
            }
            _ => (500, Value::Null),
        }
    })
    .await;
    let api = fake.api();
    let others = api.apps().others_to(PARTNER, "mine").await.unwrap();
    let ids: Vec<&str> = others
        .iter()
        .map(|c| c.service_principal_id.as_str())
        .collect();
    assert_eq!(ids, ["other"]);
}

#[tokio::test]
async fn an_instantiated_configuration_carries_both_objects() {
    let fake = Fake::new(|method, _, _| match method {
        "GET" => (200, json!({"value": []})),
        "POST" => (
            201,
            json!({
                "application": {"id": "app-object", "appId": "app-client"},
                "servicePrincipal": {"id": "sp-object", "appId": "app-client"}
            }),
        ),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let made = api.apps().find_or_instantiate("cfg").await.unwrap();
    assert!(made.is_new());
    let made = made.into_inner().remove(0);
    assert_eq!(
        (
            made.service_principal_id.as_str(),
            made.application_object_id.as_str(),
            made.application_client_id.as_str()
        ),
        ("sp-object", "app-object", "app-client")
    );
    assert_eq!(
        fake.bodies(
            "POST",
            "/applicationTemplates/518e5f48-1fc8-4c48-9387-9fdf28b0dfe7/instantiate"
        ),
        [json!({"displayName": "cfg"})]
    );
}

// ---------------------------------------------------------------------------
// sync

fn schema_doc(user_type: &str) -> Value {
    json!({
        "id": "job", "directories": [{"name": "Azure Active Directory"}],
        "synchronizationRules": [{"id": "rule-1", "objectMappings": [{
            "sourceObjectName": "User", "targetObjectName": "User", "flowTypes": "Add, Update, Delete",
            "attributeMappings": [
                {"targetAttributeName": "userType", "flowType": "Always",
                 "source": {"type": "Constant", "name": user_type, "expression": format!("\"{user_type}\""), "parameters": []}},
                {"targetAttributeName": "showInAddressList", "flowType": "Always",
                 "source": {"type": "Constant", "name": "True", "expression": "\"True\"", "parameters": []}}
            ]
        }]}]
    })
}

#[tokio::test]
async fn the_user_mapping_is_written_only_when_it_changes_and_keeps_the_rest() {
    let fake = Fake::new(|method, _, _| match method {
        "GET" => (200, schema_doc("Member")),
        "PUT" => (204, Value::Null),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let sync = api.synchronization(SP);
    let same = UserMapping {
        user_type: "Member".into(),
        show_in_address_list: true,
        delete_out_of_scope: true,
        ..UserMapping::default()
    };
    sync.set_user_mapping("job", &same).await.unwrap();
    assert!(
        fake.bodies("PUT", "/servicePrincipals/").is_empty(),
        "{:?}",
        fake.lines()
    );
    sync.set_user_mapping(
        "job",
        &UserMapping {
            user_type: "Guest".into(),
            ..same.clone()
        },
    )
    .await
    .unwrap();
    let put = fake.bodies(
        "PUT",
        &format!("/servicePrincipals/{SP}/synchronization/jobs/job/schema"),
    );
    assert_eq!(put.len(), 1);
    assert_eq!(
        put[0]["directories"],
        json!([{"name": "Azure Active Directory"}])
    );
    let mapping = &put[0]["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][0];
    assert_eq!(mapping["source"]["name"], "Guest");
}

#[tokio::test]
async fn provisioning_on_demand_names_the_rule_and_paces_itself_to_graphs_limit() {
    let fake = Fake::new(|method, _, _| match method {
        "GET" => (200, schema_doc("Member")),
        "POST" => (200, json!({"key": "k", "value": "v"})),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let sync = api.synchronization(SP);
    let rule = sync.provisioning_rule("job").await.unwrap();
    assert_eq!(rule, "rule-1");
    let started = std::time::Instant::now();
    for i in 0..6 {
        sync.provision_now("job", &rule, &[format!("user-{i}")])
            .await
            .unwrap();
    }
    // The sixth request waits for the first to leave the 10-second window.
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    let posts = fake.bodies(
        "POST",
        &format!("/servicePrincipals/{SP}/synchronization/jobs/job/provisionOnDemand"),
    );
    assert_eq!(posts.len(), 6);
    assert_eq!(
        posts[5]["parameters"][0],
        json!({"ruleId": "rule-1", "subjects": [{"objectId": "user-5", "objectTypeName": "User"}]})
    );
}

#[tokio::test]
async fn a_policy_failure_of_the_credential_check_is_retried_while_the_target_settles() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let fake = Fake::new(move |_, _, _| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            (
                400,
                graph_error("AzureDirectoryB2BManagementPolicyCheckFailure"),
            )
        } else {
            (204, Value::Null)
        }
    })
    .await;
    let api = fake.api();
    api.synchronization(SP)
        .validate_credentials(PARTNER)
        .await
        .unwrap();
    let bodies = fake.bodies(
        "POST",
        &format!("/servicePrincipals/{SP}/synchronization/jobs/validateCredentials"),
    );
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0]["credentials"][0],
        json!({"key": "CompanyId", "value": PARTNER})
    );
}

#[tokio::test]
async fn a_job_is_created_only_when_the_configuration_has_none() {
    let fake = Fake::new(|method, _, _| match method {
        "GET" => (
            200,
            json!({"value": [{"id": "Other.1", "templateId": "Other"}]}),
        ),
        "POST" => (
            201,
            json!({"id": "Azure2Azure.1", "templateId": "Azure2Azure"}),
        ),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let job = api.synchronization(SP).find_or_create_job().await.unwrap();
    assert!(job.is_new());
    assert_eq!(job.into_inner().id, "Azure2Azure.1");
    assert_eq!(
        fake.bodies(
            "POST",
            &format!("/servicePrincipals/{SP}/synchronization/jobs")
        ),
        [json!({"templateId": "Azure2Azure"})]
    );

    let fake = Fake::new(|method, _, _| match method {
        "GET" => (
            200,
            json!({"value": [{"id": "Azure2Azure.9", "templateId": "Azure2Azure"}]}),
        ),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let job = api.synchronization(SP).find_or_create_job().await.unwrap();
    assert_eq!(job, Created::Existing(job.clone().into_inner()));
    assert_eq!(job.into_inner().id, "Azure2Azure.9");
}

#[tokio::test]
async fn a_masked_target_is_not_trusted() {
    for (value, expected) in [("*", None), (PARTNER, Some(PARTNER.to_owned()))] {
        let fake = Fake::new(move |_, _, _| {
            (200, json!({"value": [{"key": "AuthenticationType", "value": "SyncPolicy"}, {"key": "CompanyId", "value": value}]}))
        })
        .await;
        let api = fake.api();
        assert_eq!(
            api.synchronization(SP).target_tenant().await.unwrap(),
            expected
        );
    }
}

// ---------------------------------------------------------------------------
// mto and directory

#[tokio::test]
async fn a_tenant_added_twice_is_a_conflict_and_a_missing_one_is_not_removed() {
    let fake = Fake::new(|method, _, _| match method {
        "POST" => (400, json!({"error": {"code": "Request_BadRequest", "message": "Tenant is already being added in Multi-Tenant Organization."}})),
        "DELETE" => not_found(),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let e = api
        .mto()
        .add_tenant(PARTNER, "B", "member")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(!api.mto().remove_tenant(PARTNER).await.unwrap());
}

#[tokio::test]
async fn an_inactive_organization_reads_as_none() {
    let fake = Fake::new(|_, _, _| {
        (200, json!({"createdDateTime": null, "displayName": null, "description": null, "state": "inactive"}))
    })
    .await;
    let api = fake.api();
    assert_eq!(api.mto().active().await.unwrap(), None);
    assert!(!api.mto().get().await.unwrap().is_active());
}

#[tokio::test]
async fn a_user_search_sends_its_consistency_level_with_every_page() {
    let base = Arc::new(Mutex::new(String::new()));
    let b2 = base.clone();
    let fake = Fake::new(move |_, path, _| {
        if path.contains("$skiptoken") {
            (200, json!({"value": [{"id": "u2", "displayName": "Bob"}]}))
        } else {
            let next = format!("{}/v1.0/users?$skiptoken=2", b2.lock().unwrap());
            (
                200,
                json!({"value": [{"id": "u1", "displayName": "Annie"}], "@odata.nextLink": next}),
            )
        }
    })
    .await;
    *base.lock().unwrap() = fake.mock.url.clone();
    let api = fake.api();
    let users = api.directory().search_users("a\"b").await.unwrap();
    assert_eq!(users.len(), 2);
    let seen = fake.mock.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|(_, _, c)| c.as_deref() == Some("eventual")),
        "{seen:?}"
    );
    assert!(
        !seen[0].1.contains("%22b"),
        "quotes are removed from the term: {}",
        seen[0].1
    );
}

// ---------------------------------------------------------------------------
// scope: SyncAll and group synchronization

#[tokio::test]
async fn group_sync_is_read_and_written_through_beta_only() {
    let fake = Fake::new(|method, path, _| {
        match (method, path.starts_with("/beta/policies/crossTenantAccessPolicy/partners/")) {
            ("GET", true) => (
                200,
                json!({"tenantId": PARTNER, "userSyncInbound": {"isSyncAllowed": true}, "groupSyncInbound": {"isSyncAllowed": true}}),
            ),
            ("PATCH", true) => (204, Value::Null),
            _ => (500, Value::Null),
        }
    })
    .await;
    let api = fake.api();
    assert_eq!(
        api.partners()
            .group_sync_allowed(PARTNER, ReadMode::Refresh)
            .await
            .unwrap(),
        Some(true)
    );
    let lock = api.partners().lock(PARTNER).await;
    lock.set_group_sync(false).await.unwrap();
    drop(lock);
    let path = format!(
        "/beta/policies/crossTenantAccessPolicy/partners/{PARTNER}/identitySynchronization"
    );
    assert_eq!(
        fake.lines(),
        [format!("GET {path}"), format!("PATCH {path}")],
        "no v1.0"
    );
    assert_eq!(
        fake.bodies("PATCH", &path)[0],
        json!({"groupSyncInbound": {"isSyncAllowed": false}})
    );
    // A write is never batched; a lone read may be, in a beta batch only.
    for (endpoint, inner) in fake.batches() {
        assert_eq!(endpoint, "/beta/$batch", "{inner:?}");
    }
}

#[tokio::test]
async fn concurrent_beta_reads_share_a_beta_batch_never_a_v1_one() {
    const OTHER: &str = "0ther000-0000-0000-0000-000000000000";
    let fake = Fake::new(
        |method, path, _| match (method, path.starts_with("/beta/")) {
            ("GET", true) => (200, json!({"groupSyncInbound": {"isSyncAllowed": true}})),
            ("GET", false) => (
                200,
                json!({"value": [{"key": "CompanyId", "value": PARTNER}]}),
            ),
            _ => (500, Value::Null),
        },
    )
    .await;
    let api = fake.api();
    let partners = api.partners();
    let (a, b, company) = tokio::join!(
        partners.group_sync_allowed(PARTNER, ReadMode::Refresh),
        partners.group_sync_allowed(OTHER, ReadMode::Refresh),
        api.synchronization(SP).target_tenant(),
    );
    assert_eq!((a.unwrap(), b.unwrap()), (Some(true), Some(true)));
    assert_eq!(company.unwrap().as_deref(), Some(PARTNER));
    let batches = fake.batches();
    let beta: Vec<&Vec<String>> = batches
        .iter()
        .filter(|(e, _)| e == "/beta/$batch")
        .map(|(_, inner)| inner)
        .collect();
    assert_eq!(beta.len(), 1, "one beta batch: {batches:?}");
    assert_eq!(beta[0].len(), 2, "{batches:?}");
    assert!(
        beta[0].iter().all(|p| p.starts_with("/policies/")),
        "{batches:?}"
    );
    for (endpoint, inner) in &batches {
        if endpoint == "/v1.0/$batch" {
            assert!(
                inner.iter().all(|p| p.contains("/synchronization/")),
                "a beta read in a v1.0 batch: {batches:?}"
            );
        }
    }
    assert!(
        fake.lines()
            .iter()
            .any(|l| l.contains("/synchronization/secrets")),
        "{:?}",
        fake.lines()
    );
}

#[tokio::test]
async fn group_sync_of_many_acceptances_is_refreshed_from_one_beta_list() {
    const OTHER: &str = "0ther000-0000-0000-0000-000000000000";
    let fake = Fake::new(|method, path, _| match (method, path) {
        ("GET", p) if p.starts_with("/beta/policies/crossTenantAccessPolicy/partners?") => (
            200,
            json!({"value": [
                {"tenantId": PARTNER, "identitySynchronization": {"groupSyncInbound": {"isSyncAllowed": true}}},
                {"tenantId": OTHER, "identitySynchronization": {"groupSyncInbound": null}},
                {"tenantId": "no-policy", "identitySynchronization": null},
            ]}),
        ),
        ("GET", p) if p.ends_with("/identitySynchronization") => (200, json!({"groupSyncInbound": null})),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let partners = api.partners();
    let upper = PARTNER.to_uppercase();
    let (a, b) = tokio::join!(
        partners.group_sync_for_refresh(&upper),
        partners.group_sync_for_refresh(OTHER),
    );
    assert_eq!((a.unwrap(), b.unwrap()), (Some(true), Some(false)));
    let lists = |f: &Fake| {
        f.lines()
            .iter()
            .filter(|l| l.starts_with("GET /beta/policies/crossTenantAccessPolicy/partners?"))
            .count()
    };
    assert_eq!(lists(&fake), 1, "{:?}", fake.lines());
    assert!(
        fake.lines()
            .iter()
            .all(|l| !l.ends_with("/identitySynchronization")),
        "{:?}",
        fake.lines()
    );
    // A partner the list shows without its policy is read directly.
    assert_eq!(
        partners.group_sync_for_refresh("no-policy").await.unwrap(),
        Some(false)
    );
    assert_eq!(lists(&fake), 1);
    // A write through this process makes the list stale.
    drop(api.partners().lock(PARTNER).await);
    partners.group_sync_for_refresh(PARTNER).await.unwrap();
    assert_eq!(lists(&fake), 2, "{:?}", fake.lines());
}

#[tokio::test]
async fn refreshes_of_many_configurations_are_answered_from_one_snapshot_until_a_write() {
    const JOB: &str = "Azure2Azure.job";
    let fake = Fake::new(|method, path, _| match (method, path) {
        ("GET", p) if p.starts_with("/servicePrincipals?$filter=applicationTemplateId") => (
            200,
            json!({"value": [{"id": SP, "appId": "app", "displayName": "MTO_Sync_x", "tags": []}]}),
        ),
        ("GET", p) if p.ends_with("/appRoleAssignedTo") => (
            200,
            json!({"value": [{"id": "a1", "principalId": "u1", "principalType": "User"}]}),
        ),
        ("GET", p) if p.ends_with("/synchronization/secrets") => {
            (200, json!({"value": [{"key": "SyncAll", "value": "true"}]}))
        }
        ("GET", p) if p.ends_with("/synchronization/jobs") => (
            200,
            json!({"value": [{"id": JOB, "templateId": "Azure2Azure"}]}),
        ),
        ("GET", p) if p.ends_with("/schema") => (200, json!({"synchronizationRules": []})),
        ("PUT", _) => (204, Value::Null),
        _ => (
            404,
            json!({"error": {"code": "Request_ResourceNotFound", "message": "none"}}),
        ),
    })
    .await;
    let api = fake.api();
    let lists = |f: &Fake| {
        f.lines()
            .iter()
            .filter(|l| l.contains("applicationTemplateId"))
            .count()
    };
    // The first refreshes of a tenant read directly: no snapshot yet.
    for _ in 0..crate::graph::refresh::PREFETCH_AFTER {
        assert!(api.refresh().configuration(SP).await.is_none());
    }
    assert!(fake.lines().is_empty(), "{:?}", fake.lines());
    let upper = SP.to_uppercase();
    let (a, b) = tokio::join!(
        api.refresh().configuration(SP),
        api.refresh().configuration(&upper)
    );
    let view = a.expect("from the snapshot");
    assert!(b.is_some());
    assert_eq!(view.assignments[0].principal_id, "u1");
    assert_eq!(view.sync_all(), Some(true));
    assert!(view.job(JOB).is_some() && view.job("other").is_none());
    assert_eq!(lists(&fake), 1, "{:?}", fake.lines());
    let reads = fake.lines().len();
    assert!(api.refresh().configuration("unknown").await.is_none());
    assert_eq!(fake.lines().len(), reads, "served from the snapshot");
    // A write drops it.
    api.synchronization(SP).set_sync_all(false).await.unwrap();
    assert!(api.refresh().configuration(SP).await.is_some());
    assert_eq!(lists(&fake), 2, "{:?}", fake.lines());
}

#[tokio::test]
async fn sync_all_is_saved_and_read_from_the_secrets() {
    let fake = Fake::new(|method, _, _| match method {
        "GET" => (
            200,
            json!({"value": [{"key": "CompanyId", "value": PARTNER}, {"key": "SyncAll", "value": "True"}]}),
        ),
        "PUT" => (204, Value::Null),
        _ => (500, Value::Null),
    })
    .await;
    let api = fake.api();
    let sync = api.synchronization(SP);
    assert_eq!(sync.sync_all().await.unwrap(), Some(true));
    sync.save_secrets(PARTNER, true).await.unwrap();
    sync.set_sync_all(false).await.unwrap();
    let puts = fake.bodies(
        "PUT",
        &format!("/servicePrincipals/{SP}/synchronization/secrets"),
    );
    assert_eq!(
        puts[0]["value"][2],
        json!({"key": "SyncAll", "value": "true"})
    );
    assert_eq!(
        puts[1],
        json!({"value": [{"key": "SyncAll", "value": "false"}]}),
        "only the scope changes"
    );
}
