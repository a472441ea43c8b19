//! Cross-tenant synchronization (§6–§7): jobs, credentials, secrets, schema, the engine that
//! provisions B2B members, quarantine, and provision on demand.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

fn set_constant(mapping: &mut Value, target: &str, value: &str) {
    for m in mapping["attributeMappings"].as_array_mut().unwrap() {
        if m["targetAttributeName"] == target {
            m["source"]["name"] = json!(value);
            m["source"]["expression"] = json!(format!("\"{value}\""));
        }
    }
}

async fn validate(sb: &Sandbox, s: &Share, body: Value) -> Resp {
    let ta = sb.token(&A).await;
    sb.call(
        "POST",
        &format!("{}/jobs/validateCredentials", s.sync_path()),
        Some(&ta),
        Some(body),
    )
    .await
}

fn creds(target: &str) -> Value {
    json!({"useSavedCredentials": false, "templateId": "Azure2Azure", "credentials": [
        {"key": "CompanyId", "value": target}, {"key": "AuthenticationType", "value": "SyncPolicy"}]})
}

async fn on_demand(sb: &Sandbox, s: &Share, users: &[&str]) -> Resp {
    let ta = sb.token(&A).await;
    let rule = schema_of(sb, s).await["synchronizationRules"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let subjects: Vec<Value> = users
        .iter()
        .map(|u| json!({"objectId": u, "objectTypeName": "User"}))
        .collect();
    sb.call(
        "POST",
        &format!("{}/provisionOnDemand", s.job_path()),
        Some(&ta),
        Some(json!({"parameters": [{"ruleId": rule, "subjects": subjects}]})),
    )
    .await
}

fn on_demand_steps(r: &Resp) -> Vec<Value> {
    on_demand_reports(r)
        .iter()
        .flat_map(|rep| rep["provisioningSteps"].as_array().unwrap().clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Jobs

#[tokio::test]
async fn job_is_created_paused_with_a_disabled_40_minute_schedule() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let j = job(&sb, &s).await;
    let id = j["id"].as_str().unwrap();
    let parts: Vec<&str> = id.split('.').collect();
    assert_eq!(parts.len(), 3, "{id}");
    assert_eq!(parts[0], "Azure2Azure");
    assert_eq!(parts[1].len(), 32);
    assert!(parts[1].chars().all(|c| c.is_ascii_hexdigit()));
    assert!(mto_sandbox::util::parse_guid(parts[2]).is_some());
    assert_eq!(j["templateId"], "Azure2Azure");
    assert_eq!(
        j["schedule"],
        json!({"expiration": null, "interval": "PT40M", "state": "Disabled"})
    );
    assert_eq!(j["status"]["code"], "Paused");
    assert!(j["status"]["lastExecution"].is_null());
    assert!(j["status"]["quarantine"].is_null());
    assert_eq!(
        j["status"]["steadyStateLastAchievedTime"],
        "0001-01-01T00:00:00Z"
    );
    assert_eq!(
        j["synchronizationJobSettings"][0]["name"],
        "AzureIngestionAttributeOptimization"
    );
    let ta = sb.token(&A).await;
    let list = sb.get(&format!("{}/jobs", s.sync_path()), &ta).await;
    assert_eq!(list.json["value"].as_array().unwrap().len(), 1);
    assert_eq!(list.json["value"][0]["id"], id);
    let t = sb.get(&format!("{}/templates", s.sync_path()), &ta).await;
    t.expect(200);
    assert_eq!(t.json["value"].as_array().unwrap().len(), 1);
    assert_eq!(t.json["value"][0]["id"], "Azure2Azure");
    assert_eq!(t.json["value"][0]["applicationId"], s.app_id.as_str());
    assert_eq!(
        t.json["value"][0]["schema"]["synchronizationRules"][0]["name"],
        "USER_INBOUND_USER"
    );
}

#[tokio::test]
async fn the_template_and_its_schema_are_readable_by_id_and_a_new_jobs_schema_starts_from_it() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let ta = sb.token(&A).await;
    let t = sb
        .get(&format!("{}/templates/Azure2Azure", s.sync_path()), &ta)
        .await;
    t.expect(200);
    assert_eq!(t.json["id"], "Azure2Azure");
    let schema = sb
        .get(
            &format!("{}/templates/azure2azure/schema", s.sync_path()),
            &ta,
        )
        .await;
    schema.expect(200);
    let template_users = &schema.json["synchronizationRules"][0]["objectMappings"][0];
    assert_eq!(template_users["sourceObjectName"], "User");
    let job = sb
        .call(
            "POST",
            &format!("{}/jobs", s.sync_path()),
            Some(&ta),
            Some(json!({"templateId": "Azure2Azure"})),
        )
        .await;
    job.expect(201);
    let id = job.json["id"].as_str().unwrap();
    let job_schema = sb
        .get(&format!("{}/jobs/{id}/schema", s.sync_path()), &ta)
        .await;
    assert_eq!(
        job_schema.json["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"],
        template_users["attributeMappings"],
        "a new job's mappings are the template's"
    );
    sb.get(&format!("{}/templates/scim/schema", s.sync_path()), &ta)
        .await
        .expect(404);
}

#[tokio::test]
async fn job_with_unknown_template_is_400_and_unknown_job_is_404() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "POST",
            &format!("{}/jobs", s.sync_path()),
            Some(&ta),
            Some(json!({"templateId": "scim"})),
        )
        .await;
    r.expect(400);
    sb.get(&format!("{}/jobs/Azure2Azure.nope", s.sync_path()), &ta)
        .await
        .expect(404);
    sb.get(
        "/v1.0/servicePrincipals/99999999-9999-4999-8999-999999999999/synchronization/jobs",
        &ta,
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn job_start_pause_and_delete_lifecycle() {
    let sb = Sandbox::new();
    allow_sync(&sb, &A, &B).await;
    let s = configure(&sb, &A, &B).await;
    assign(&sb, &A, &s, &annie_id()).await.expect(201);
    let ta = sb.token(&A).await;
    start(&sb, &A, &s).await;
    let j = job(&sb, &s).await;
    assert_eq!(j["schedule"]["state"], "Active");
    assert_eq!(
        j["status"]["code"], "NotRun",
        "until the first cycle completes"
    );
    run_sync(&sb).await;
    let j = job(&sb, &s).await;
    assert_eq!(j["status"]["code"], "Active");
    assert_eq!(j["status"]["lastExecution"]["state"], "Succeeded");

    sb.call("POST", &format!("{}/pause", s.job_path()), Some(&ta), None)
        .await
        .expect(204);
    let j = job(&sb, &s).await;
    assert_eq!(j["schedule"]["state"], "Paused");
    assert_eq!(j["status"]["code"], "Paused");
    let reports = run_sync(&sb).await;
    assert_eq!(
        report(&reports, &s)["state"],
        "Skipped",
        "paused jobs do not run"
    );

    start(&sb, &A, &s).await;
    assert_eq!(job(&sb, &s).await["status"]["code"], "Active");

    sb.call("DELETE", &s.job_path(), Some(&ta), None)
        .await
        .expect(204);
    sb.get(&s.job_path(), &ta).await.expect(404);
    sb.call("DELETE", &s.job_path(), Some(&ta), None)
        .await
        .expect(404);
    sb.call("POST", &format!("{}/start", s.job_path()), Some(&ta), None)
        .await
        .expect(404);
    // The users it created stay in the target.
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());
}

// ---------------------------------------------------------------------------------------------
// Credentials, secrets, schema

#[tokio::test]
async fn validate_credentials_fails_with_policy_check_failure_until_both_sides_allow() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let r = validate(&sb, &s, creds(B.id)).await;
    r.expect(400);
    assert_eq!(r.code(), "AzureDirectoryB2BManagementPolicyCheckFailure");
    assert!(r.message().contains("inboundAllowed"), "{}", r.message());
    assert!(r.message().contains("isSyncAllowed"), "{}", r.message());
    assert!(r.message().contains("outboundAllowed"), "{}", r.message());

    // The target accepts (partner with inbound auto-redeem + identity sync allowed)...
    let tb = sb.token(&B).await;
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&tb),
        Some(json!({"tenantId": A.id, "automaticUserConsentSettings": {"inboundAllowed": true}})),
    )
    .await
    .expect(201);
    let r = validate(&sb, &s, creds(B.id)).await;
    r.expect(400);
    assert!(r.message().contains("isSyncAllowed"));
    assert!(!r.message().contains("inboundAllowed"));
    sb.call(
        "PUT",
        &format!("{CTAP}/partners/{}/identitySynchronization", A.id),
        Some(&tb),
        Some(json!({"userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(204);
    // ... but the source still has no outbound auto-redeem.
    let r = validate(&sb, &s, creds(B.id)).await;
    r.expect(400);
    assert_eq!(r.code(), "AzureDirectoryB2BManagementPolicyCheckFailure");
    assert!(r.message().contains("outboundAllowed"));
    assert!(!r.message().contains("isSyncAllowed"));
    let ta = sb.token(&A).await;
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&ta),
        Some(json!({"tenantId": B.id, "automaticUserConsentSettings": {"outboundAllowed": true}})),
    )
    .await
    .expect(201);
    validate(&sb, &s, creds(B.id)).await.expect(204);
    // Job-level form and saved credentials (the secrets name B).
    sb.call(
        "POST",
        &format!("{}/validateCredentials", s.job_path()),
        Some(&ta),
        Some(json!({"useSavedCredentials": true, "credentials": []})),
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn validate_credentials_needs_an_existing_company_id() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let r = validate(&sb, &s, creds("12345678-1234-4234-8234-123456789012")).await;
    r.expect(400);
    assert!(r.message().contains("CompanyId"), "{}", r.text);
    let r = validate(
        &sb,
        &s,
        json!({"useSavedCredentials": false, "credentials": []}),
    )
    .await;
    r.expect(400);
    let r = validate(&sb, &s, creds(A.id)).await;
    r.expect(400);
}

#[tokio::test]
async fn secrets_are_saved_masked_and_removed_with_empty_values() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let ta = sb.token(&A).await;
    let path = format!("{}/secrets", s.sync_path());
    sb.call(
        "PUT",
        &path,
        Some(&ta),
        Some(json!({"value": [{"key": "SecretToken", "value": "hunter2"}]})),
    )
    .await
    .expect(204);
    let r = sb.get(&path, &ta).await;
    r.expect(200);
    let v: Vec<(String, String)> = r.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_string(),
                p["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(v.contains(&("SecretToken".into(), "*".into())), "{v:?}");
    assert!(v.contains(&("CompanyId".into(), B.id.into())), "{v:?}");
    assert!(v.contains(&("AuthenticationType".into(), "SyncPolicy".into())));
    assert!(!r.text.contains("hunter2"));
    sb.call(
        "PUT",
        &path,
        Some(&ta),
        Some(json!({"value": [{"key": "SecretToken", "value": ""}, {"key": "SyncAll", "value": ""}]})),
    )
    .await
    .expect(204);
    let keys: Vec<String> = sb.get(&path, &ta).await.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, vec!["AuthenticationType", "CompanyId"]);
    sb.call(
        "PUT",
        &path,
        Some(&ta),
        Some(json!({"value": [{"key": "NotASecretKey", "value": "x"}]})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn schema_has_the_default_cts_mappings_and_round_trips() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let schema = schema_of(&sb, &s).await;
    assert_eq!(schema["id"], s.job.as_str());
    let rule = &schema["synchronizationRules"][0];
    assert_eq!(rule["name"], "USER_INBOUND_USER");
    assert_eq!(rule["sourceDirectoryName"], "Azure Active Directory");
    assert_eq!(
        rule["targetDirectoryName"],
        "Azure Active Directory (target tenant)"
    );
    assert_eq!(rule["editable"], true);
    assert_eq!(rule["priority"], 1);
    let m = &rule["objectMappings"][0];
    assert_eq!(m["name"], "Provision Microsoft Entra ID Users");
    assert_eq!(m["flowTypes"], "Add, Update, Delete");
    assert_eq!(m["enabled"], true);
    assert!(m["scope"].is_null());
    let attrs = m["attributeMappings"].as_array().unwrap();
    let by_target = |t: &str| {
        attrs
            .iter()
            .find(|a| a["targetAttributeName"] == t)
            .cloned()
    };
    let alt = by_target("alternativeSecurityIds").unwrap();
    assert_eq!(alt["matchingPriority"], 1);
    assert_eq!(alt["source"]["expression"], "AltSecIdFromNetId([netId])");
    for t in [
        "displayName",
        "givenName",
        "surname",
        "mail",
        "jobTitle",
        "department",
        "accountEnabled",
        "userPrincipalName",
        "mailNickname",
    ] {
        let a = by_target(t).unwrap_or_else(|| panic!("mapping for {t}"));
        assert_eq!(a["source"]["type"], "Attribute");
    }
    let ut = by_target("userType").unwrap();
    assert_eq!(
        ut["source"],
        json!({"type": "Constant", "name": "Member", "expression": "\"Member\"", "parameters": []})
    );
    assert_eq!(
        by_target("showInAddressList").unwrap()["source"]["name"],
        "True"
    );
    assert_eq!(schema["directories"].as_array().unwrap().len(), 2);

    let mut changed = schema.clone();
    changed["synchronizationRules"][0]["objectMappings"][0]["flowTypes"] = json!("Add, Update");
    put_schema(&sb, &s, &changed).await.expect(204);
    let back = schema_of(&sb, &s).await;
    assert_eq!(
        back["synchronizationRules"][0]["objectMappings"][0]["flowTypes"],
        "Add, Update"
    );
    assert_eq!(
        back["synchronizationRules"],
        changed["synchronizationRules"]
    );
}

#[tokio::test]
async fn invalid_schemas_are_400_and_matching_attribute_changes_are_schema_invalid() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let schema = schema_of(&sb, &s).await;
    let r = put_schema(&sb, &s, &json!({"synchronizationRules": "nope"})).await;
    r.expect(400);
    assert_eq!(r.code(), "BadRequest");
    let mut bad = schema.clone();
    bad["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][1]["source"]["type"] =
        json!("Magic");
    put_schema(&sb, &s, &bad).await.expect(400);
    // Adding a second matching attribute.
    let mut extra = schema.clone();
    for m in extra["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"]
        .as_array_mut()
        .unwrap()
    {
        if m["targetAttributeName"] == "mail" {
            m["matchingPriority"] = json!(2);
        }
    }
    let r = put_schema(&sb, &s, &extra).await;
    r.expect(400);
    assert_eq!(r.code(), "schemaInvalid");
    // Removing the matching attribute.
    let mut none = schema.clone();
    none["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["targetAttributeName"] != "alternativeSecurityIds");
    let r = put_schema(&sb, &s, &none).await;
    r.expect(400);
    assert_eq!(r.code(), "schemaInvalid");
    // Nothing changed.
    assert_eq!(schema_of(&sb, &s).await, schema);
}

// ---------------------------------------------------------------------------------------------
// The engine

#[tokio::test]
async fn share_provisions_annie_in_b_as_a_b2b_member_shown_in_the_address_list() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["state"], "Succeeded", "{r}");
    assert_eq!(r["created"], 1);
    assert_eq!(r["countEntitled"], 1);
    assert_eq!(r["targetTenantId"], B.id);

    let u = user_in(&sb, &B, ANNIE_IN_B).await.expect("Annie in B");
    assert_eq!(u["userPrincipalName"], ANNIE_IN_B);
    assert_eq!(u["displayName"], "Annie Archer");
    assert_eq!(u["mail"], "annie@contosoa.com");
    assert_eq!(u["givenName"], "Annie");
    assert_eq!(u["surname"], "Archer");
    assert_eq!(u["jobTitle"], "Engineer");
    assert_eq!(u["department"], "R&D");
    assert_eq!(u["userType"], "Member");
    assert_eq!(u["showInAddressList"], true);
    assert_eq!(u["accountEnabled"], true);
    assert_eq!(u["creationType"], "Invitation");
    assert_eq!(u["externalUserState"], "Accepted");
    assert_eq!(
        u["identities"],
        json!([{"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": null}])
    );
    assert_ne!(u["id"], annie_id(), "a new object in the target");
    assert!(u.get("_source").is_none());

    // People search in B finds her.
    let tb = sb.token(&B).await;
    let found = sb
        .call(
            "GET",
            "/v1.0/users?$search=%22displayName:annie%22",
            Some(&tb),
            None,
        )
        .await;
    found.expect(400); // $search needs ConsistencyLevel: eventual
    let req = axum::http::Request::builder()
        .uri("/v1.0/users?$search=%22displayName:annie%22&$select=userPrincipalName,userType")
        .header("host", "sandbox.test")
        .header("authorization", format!("Bearer {tb}"))
        .header("consistencylevel", "eventual")
        .body(axum::body::Body::empty())
        .unwrap();
    let found = sb.send(req).await;
    found.expect(200);
    assert_eq!(
        found.json["value"],
        json!([{"userPrincipalName": ANNIE_IN_B, "userType": "Member"}])
    );

    let j = job(&sb, &s).await;
    let st = &j["status"];
    assert_eq!(st["code"], "Active");
    assert_eq!(st["lastExecution"]["countEntitled"], 1);
    assert_eq!(st["lastExecution"]["countExported"], 1);
    assert_eq!(st["lastExecution"]["countEscrowed"], 0);
    assert_eq!(st["countSuccessiveCompleteFailures"], 0);
    assert!(st["lastSuccessfulExecution"].is_object());
    assert!(st["lastSuccessfulExecutionWithExports"].is_object());
    assert_eq!(
        st["synchronizedEntryCountByType"],
        json!([{"key": "User", "value": 1}])
    );
    assert_eq!(st["steadyStateLastAchievedTime"], "0001-01-01T00:00:00Z");

    // The next cycle has nothing to do: steady state.
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["countExported"], 0);
    let st = job(&sb, &s).await["status"].clone();
    assert_ne!(st["steadyStateLastAchievedTime"], "0001-01-01T00:00:00Z");
    assert_eq!(
        st["steadyStateFirstAchievedTime"],
        st["steadyStateLastAchievedTime"]
    );
    assert_eq!(st["lastExecution"]["countExported"], 0);
}

#[tokio::test]
async fn an_attribute_change_in_a_reaches_b_at_the_next_cycle() {
    let sb = Sandbox::new();
    let _s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    let id_before = user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"].clone();
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{}", annie_id()),
        Some(&ta),
        Some(json!({"jobTitle": "Principal Engineer", "displayName": "Annie A. Archer"})),
    )
    .await
    .expect(204);
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"],
        "Engineer",
        "not before the next cycle"
    );
    let reports = run_sync(&sb).await;
    assert_eq!(reports[0]["updated"], 1);
    assert_eq!(reports[0]["created"], 0);
    let u = user_in(&sb, &B, ANNIE_IN_B).await.unwrap();
    assert_eq!(u["jobTitle"], "Principal Engineer");
    assert_eq!(u["displayName"], "Annie A. Archer");
    assert_eq!(u["id"], id_before, "updated in place");
    // Target-side edits of unmapped properties are left alone.
    let tb = sb.token(&B).await;
    let uid = u["id"].as_str().unwrap();
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{uid}"),
        Some(&tb),
        Some(json!({"officeLocation": "B building"})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    let r = sb
        .get(&format!("/v1.0/users/{uid}?$select=officeLocation"), &tb)
        .await;
    assert_eq!(r.json["officeLocation"], "B building");
}

#[tokio::test]
async fn removing_annie_from_scope_soft_deletes_her_in_b_and_bringing_her_back_restores_her() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    let uid = user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ta = sb.token(&A).await;
    let list = sb
        .get(&format!("{}/appRoleAssignedTo", s.sp_path()), &ta)
        .await;
    let aid = list.json["value"][0]["id"].as_str().unwrap().to_string();
    sb.call(
        "DELETE",
        &format!("{}/appRoleAssignedTo/{aid}", s.sp_path()),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["deleted"], 1);
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_none());
    assert!(
        deleted_in(&sb, &B, &uid).await,
        "soft-deleted: listed in deletedItems"
    );
    let st = job(&sb, &s).await["status"].clone();
    assert_eq!(
        st["synchronizedEntryCountByType"],
        json!([{"key": "User", "value": 0}])
    );

    assign(&sb, &A, &s, &annie_id()).await.expect(201);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["restored"], 1);
    let back = user_in(&sb, &B, ANNIE_IN_B).await.expect("restored");
    assert_eq!(back["id"], uid, "the same object is restored");
    assert!(!deleted_in(&sb, &B, &uid).await);
}

#[tokio::test]
async fn without_delete_in_flow_types_users_leaving_scope_stay() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    edit_user_mapping(&sb, &s, |m| m["flowTypes"] = json!("Add, Update")).await;
    run_sync(&sb).await;
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());
    let ta = sb.token(&A).await;
    let list = sb
        .get(&format!("{}/appRoleAssignedTo", s.sp_path()), &ta)
        .await;
    let aid = list.json["value"][0]["id"].as_str().unwrap();
    sb.call(
        "DELETE",
        &format!("{}/appRoleAssignedTo/{aid}", s.sp_path()),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["deleted"], 0);
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());
}

#[tokio::test]
async fn without_update_in_flow_types_changes_are_not_written() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    edit_user_mapping(&sb, &s, |m| m["flowTypes"] = json!("Add, Delete")).await;
    run_sync(&sb).await;
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{}", annie_id()),
        Some(&ta),
        Some(json!({"jobTitle": "Changed"})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"],
        "Engineer"
    );
}

#[tokio::test]
async fn user_type_guest_and_hidden_address_list_mappings_create_guests_hidden_from_the_list() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    edit_user_mapping(&sb, &s, |m| {
        set_constant(m, "userType", "Guest");
        set_constant(m, "showInAddressList", "false");
    })
    .await;
    run_sync(&sb).await;
    let u = user_in(&sb, &B, ANNIE_IN_B).await.unwrap();
    assert_eq!(u["userType"], "Guest");
    assert_eq!(u["showInAddressList"], false);
    assert_eq!(u["creationType"], "Invitation");
}

#[tokio::test]
async fn user_type_is_applied_on_creation_only_unless_the_mapping_applies_always() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    edit_user_mapping(&sb, &s, |m| set_constant(m, "userType", "Guest")).await;
    run_sync(&sb).await;
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["userType"],
        "Member",
        "the default userType mapping is ObjectAddOnly"
    );
    edit_user_mapping(&sb, &s, |m| {
        for a in m["attributeMappings"].as_array_mut().unwrap() {
            if a["targetAttributeName"] == "userType" {
                a["flowType"] = json!("Always");
            }
        }
    })
    .await;
    run_sync(&sb).await;
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["userType"],
        "Guest"
    );
}

#[tokio::test]
async fn disabled_users_are_in_scope_and_synced_disabled() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    let id = create_user(
        &sb,
        &A,
        "dora@contosoa.onmicrosoft.com",
        "Dora Disabled",
        json!({"accountEnabled": false}),
    )
    .await;
    assign(&sb, &A, &s, &id).await.expect(201);
    run_sync(&sb).await;
    let u = user_in(
        &sb,
        &B,
        "dora_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com",
    )
    .await
    .unwrap();
    assert_eq!(u["accountEnabled"], false);
    // Enabling her in A enables her in B.
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{id}"),
        Some(&ta),
        Some(json!({"accountEnabled": true})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    let u = user_in(
        &sb,
        &B,
        "dora_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com",
    )
    .await
    .unwrap();
    assert_eq!(u["accountEnabled"], true);
}

#[tokio::test]
async fn group_assignment_scopes_its_direct_members_only() {
    let sb = Sandbox::new();
    allow_sync(&sb, &A, &B).await;
    let s = configure(&sb, &A, &B).await;
    assign(&sb, &A, &s, &shared_group_id()).await.expect(201);
    start(&sb, &A, &s).await;
    let outsider = create_user(
        &sb,
        &A,
        "olly@contosoa.onmicrosoft.com",
        "Olly Outside",
        json!({}),
    )
    .await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["countEntitled"], 1);
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some(), "group member");
    assert!(
        user_in(
            &sb,
            &B,
            "olly_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com"
        )
        .await
        .is_none(),
        "not in the group, not assigned"
    );
    // SyncAll brings every internal member into scope.
    let ta = sb.token(&A).await;
    sb.call(
        "PUT",
        &format!("{}/secrets", s.sync_path()),
        Some(&ta),
        Some(json!({"value": [{"key": "SyncAll", "value": "true"}]})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    assert!(
        user_in(
            &sb,
            &B,
            "olly_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com"
        )
        .await
        .is_some()
    );
    let _ = outsider;
}

#[tokio::test]
async fn guests_and_external_users_of_the_source_are_never_synced() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    let guest = create_user(
        &sb,
        &A,
        "gina@contosoa.onmicrosoft.com",
        "Gina Guest",
        json!({"userType": "Guest"}),
    )
    .await;
    let ext = create_user(
        &sb,
        &A,
        "eve_fabrikam.com#EXT#@contosoa.onmicrosoft.com",
        "Eve External",
        json!({}),
    )
    .await;
    assign(&sb, &A, &s, &guest).await.expect(201);
    assign(&sb, &A, &s, &ext).await.expect(201);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["countEntitled"], 1, "only Annie");
    let tb = sb.token(&B).await;
    let all = sb.get("/v1.0/users?$select=userPrincipalName", &tb).await;
    let upns: Vec<&str> = all.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert_eq!(
        upns.iter().filter(|u| u.contains("#EXT#")).count(),
        1,
        "{upns:?}"
    );
}

#[tokio::test]
async fn an_internal_user_of_b_with_the_same_mail_is_not_merged_and_the_others_are_provisioned() {
    let sb = Sandbox::new();
    // B already has an internal user with Annie's mail address.
    let internal = create_user(
        &sb,
        &B,
        "annie.local@contosob.onmicrosoft.com",
        "Annie (B)",
        json!({"mail": "annie@contosoa.com"}),
    )
    .await;
    let s = share(&sb, &A, &B, &annie_id()).await;
    let other = create_user(
        &sb,
        &A,
        "otto@contosoa.onmicrosoft.com",
        "Otto Other",
        json!({"mail": "otto@contosoa.com"}),
    )
    .await;
    assign(&sb, &A, &s, &other).await.expect(201);
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["state"], "EntryLevelErrors", "{r}");
    assert_eq!(r["created"], 1);
    assert_eq!(r["countEscrowed"], 1);
    assert!(
        user_in(&sb, &B, ANNIE_IN_B).await.is_none(),
        "no B2B user for Annie"
    );
    assert!(
        user_in(
            &sb,
            &B,
            "otto_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com"
        )
        .await
        .is_some(),
        "the others are provisioned"
    );
    let u = user_in(&sb, &B, "annie.local@contosob.onmicrosoft.com")
        .await
        .unwrap();
    assert_eq!(u["id"], internal);
    assert!(
        u["creationType"].is_null(),
        "the internal user is untouched"
    );
    assert_eq!(u["displayName"], "Annie (B)");
    let st = job(&sb, &s).await["status"].clone();
    assert_eq!(st["lastExecution"]["state"], "EntryLevelErrors");
    assert_eq!(st["lastExecution"]["countEscrowed"], 1);
    assert!(
        st["lastSuccessfulExecution"].is_null(),
        "a cycle with errors is not successful"
    );
    assert_eq!(st["code"], "Active");

    // Provision on demand shows the failure.
    let r = on_demand(&sb, &s, &[&annie_id()]).await;
    r.expect(200);
    let steps = on_demand_steps(&r);
    let export = steps.last().unwrap();
    assert_eq!(export["status"], "Failure", "{steps:?}");
    assert_eq!(
        export["details"]["ErrorCode"],
        "AzureActiveDirectoryConflictingObjects"
    );
    assert!(
        export["description"]
            .as_str()
            .unwrap()
            .contains("internal user"),
        "{export}"
    );

    // Once the conflict is gone (the internal user's mail changes), Annie is provisioned.
    let tb = sb.token(&B).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{internal}"),
        Some(&tb),
        Some(json!({"mail": "annie.b@contosob.com"})),
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["created"], 1);
    assert_eq!(report(&reports, &s)["state"], "Succeeded");
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());
}

#[tokio::test]
async fn an_internal_user_of_b_with_the_b2b_upn_is_not_merged() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    let r = sb
        .call(
            "POST",
            "/v1.0/users",
            Some(&tb),
            Some(
                json!({"accountEnabled": true, "displayName": "Impostor", "mailNickname": "imp",
                        "userPrincipalName": ANNIE_IN_B, "passwordProfile": {"password": "x"}}),
            ),
        )
        .await;
    r.expect(201);
    let s = share(&sb, &A, &B, &annie_id()).await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["countEscrowed"], 1);
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["displayName"],
        "Impostor"
    );
}

#[tokio::test]
async fn withdrawing_inbound_sync_quarantines_the_job_until_restored_and_started() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    let tb = sb.token(&B).await;
    let sync_policy = format!("{CTAP}/partners/{}/identitySynchronization", A.id);
    sb.call(
        "PATCH",
        &sync_policy,
        Some(&tb),
        Some(json!({"userSyncInbound": {"isSyncAllowed": false}})),
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["state"], "Failed");
    let st = job(&sb, &s).await["status"].clone();
    assert_eq!(st["code"], "Quarantine");
    let q = &st["quarantine"];
    assert_eq!(q["reason"], "EncounteredQuarantineException");
    assert_eq!(
        q["error"]["code"],
        "AzureDirectoryB2BManagementPolicyCheckFailure"
    );
    assert_eq!(q["error"]["tenantActionable"], true);
    assert!(
        q["error"]["message"]
            .as_str()
            .unwrap()
            .contains("isSyncAllowed")
    );
    assert!(q["currentBegan"].as_str().unwrap().ends_with('Z'));
    assert!(q["nextAttempt"].as_str().unwrap() > q["currentBegan"].as_str().unwrap());
    assert_eq!(st["lastExecution"]["state"], "Failed");
    assert_eq!(
        st["lastExecution"]["error"]["code"],
        "AzureDirectoryB2BManagementPolicyCheckFailure"
    );
    assert_eq!(st["countSuccessiveCompleteFailures"], 1);
    // Already-synced users are left as they are.
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());

    // Changes are not provisioned while quarantined.
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{}", annie_id()),
        Some(&ta),
        Some(json!({"jobTitle": "Quarantined"})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    let st = job(&sb, &s).await["status"].clone();
    assert_eq!(st["code"], "Quarantine");
    assert_eq!(st["countSuccessiveCompleteFailures"], 2);
    assert_eq!(st["quarantine"]["seriesCount"], 2);

    // Restoring the policy alone keeps it quarantined; start lifts it.
    sb.call(
        "PATCH",
        &sync_policy,
        Some(&tb),
        Some(json!({"userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    assert_eq!(job(&sb, &s).await["status"]["code"], "Quarantine");
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"],
        "Engineer"
    );
    start(&sb, &A, &s).await;
    let st = job(&sb, &s).await["status"].clone();
    assert!(st["quarantine"].is_null());
    assert_eq!(st["code"], "Active");
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["state"], "Succeeded");
    let st = job(&sb, &s).await["status"].clone();
    assert_eq!(st["code"], "Active");
    assert_eq!(st["countSuccessiveCompleteFailures"], 0);
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"],
        "Quarantined"
    );
}

#[tokio::test]
async fn start_while_the_policy_is_still_missing_quarantines_again_at_the_next_cycle() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    assign(&sb, &A, &s, &annie_id()).await.expect(201);
    start(&sb, &A, &s).await;
    run_sync(&sb).await;
    assert_eq!(job(&sb, &s).await["status"]["code"], "Quarantine");
    start(&sb, &A, &s).await;
    assert_eq!(job(&sb, &s).await["status"]["code"], "NotRun");
    run_sync(&sb).await;
    let st = job(&sb, &s).await["status"].clone();
    assert_eq!(st["code"], "Quarantine");
    assert!(
        st["quarantine"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("outboundAllowed")
    );
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_none());
}

#[tokio::test]
async fn restart_full_rematches_the_existing_b2b_users_without_duplicates() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    let uid = user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"].clone();
    let ta = sb.token(&A).await;
    sb.call(
        "POST",
        &format!("{}/restart", s.job_path()),
        Some(&ta),
        Some(json!({"criteria": {"resetScope": "Full"}})),
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["created"], 0, "{r}");
    assert_eq!(r["countEscrowed"], 0);
    assert_eq!(user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"], uid);
    assert_eq!(
        job(&sb, &s).await["status"]["synchronizedEntryCountByType"],
        json!([{"key": "User", "value": 1}])
    );
    sb.call(
        "POST",
        &format!("{}/restart", s.job_path()),
        Some(&ta),
        Some(json!({"criteria": {"resetScope": "Bogus"}})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn a_new_job_matches_the_users_a_deleted_job_created() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    let uid = user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"].clone();
    let ta = sb.token(&A).await;
    sb.call("DELETE", &s.job_path(), Some(&ta), None)
        .await
        .expect(204);
    let j = sb
        .call(
            "POST",
            &format!("{}/jobs", s.sync_path()),
            Some(&ta),
            Some(json!({"templateId": "Azure2Azure"})),
        )
        .await;
    j.expect(201);
    let job_id = j.json["id"].as_str().unwrap();
    sb.call(
        "POST",
        &format!("{}/jobs/{job_id}/start", s.sync_path()),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    let r = reports.iter().find(|r| r["jobId"] == job_id).unwrap();
    assert_eq!(r["created"], 0);
    assert_eq!(r["countEscrowed"], 0, "{r}");
    assert_eq!(user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"], uid);
}

#[tokio::test]
async fn provision_on_demand_provisions_right_away_even_when_paused() {
    let sb = Sandbox::new();
    allow_sync(&sb, &A, &B).await;
    let s = configure(&sb, &A, &B).await;
    assign(&sb, &A, &s, &annie_id()).await.expect(201);
    // The job is still paused.
    let r = on_demand(&sb, &s, &[&annie_id()]).await;
    r.expect(200);
    let steps = on_demand_steps(&r);
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "EntryImport",
            "EntrySynchronizationScoping",
            "EntryImport",
            "EntryExportAdd"
        ]
    );
    assert!(steps.iter().all(|s| s["status"] != "Failure"), "{steps:?}");
    assert_eq!(steps[1]["details"]["Assigned to the application"], "True");
    let u = user_in(&sb, &B, ANNIE_IN_B)
        .await
        .expect("provisioned on demand");
    assert_eq!(steps[3]["details"]["objectId"], u["id"]);
    assert_eq!(
        job(&sb, &s).await["status"]["code"],
        "Paused",
        "status untouched"
    );
    // Again: nothing to do.
    let steps = on_demand_steps(&on_demand(&sb, &s, &[&annie_id()]).await);
    assert_eq!(
        steps.last().unwrap()["details"]["SkipReason"],
        "RedundantExport"
    );
    // An unassigned user is skipped.
    let other = create_user(
        &sb,
        &A,
        "una@contosoa.onmicrosoft.com",
        "Una Assigned",
        json!({}),
    )
    .await;
    let steps = on_demand_steps(&on_demand(&sb, &s, &[&other]).await);
    assert_eq!(steps[1]["status"], "Skipped");
    assert_eq!(steps[1]["details"]["Assigned to the application"], "False");
    assert!(
        user_in(
            &sb,
            &B,
            "una_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com"
        )
        .await
        .is_none()
    );
}

#[tokio::test]
async fn provision_on_demand_is_limited_to_5_requests_per_10_seconds() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    for i in 0..5 {
        on_demand(&sb, &s, &[&annie_id()]).await.expect(200);
        let _ = i;
    }
    let r = on_demand(&sb, &s, &[&annie_id()]).await;
    r.expect(429);
    assert_eq!(r.code(), "TooManyRequests");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    // Another job has its own budget.
    let s2 = configure(&sb, &A, &C).await;
    on_demand(&sb, &s2, &[&annie_id()]).await.expect(200);
}

#[tokio::test]
async fn provision_on_demand_validates_rule_and_subjects() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    let ta = sb.token(&A).await;
    let path = format!("{}/provisionOnDemand", s.job_path());
    let r = sb
        .call(
            "POST",
            &path,
            Some(&ta),
            Some(json!({"parameters": [{"ruleId": "nope", "subjects": [{"objectId": annie_id(), "objectTypeName": "User"}]}]})),
        )
        .await;
    r.expect(400);
    let rule = schema_of(&sb, &s).await["synchronizationRules"][0]["id"].clone();
    let r = sb
        .call(
            "POST",
            &path,
            Some(&ta),
            Some(json!({"parameters": [{"ruleId": rule, "subjects": [{"objectId": annie_id(), "objectTypeName": "Group"}]}]})),
        )
        .await;
    r.expect(400);
    let r = on_demand(&sb, &s, &["99999999-9999-4999-8999-999999999999"]).await;
    r.expect(200);
    let steps = on_demand_steps(&r);
    assert_eq!(steps[0]["status"], "Failure");
}

#[tokio::test]
async fn one_source_shares_with_two_targets_through_two_jobs() {
    let sb = Sandbox::new();
    let sb_job = share(&sb, &A, &B, &annie_id()).await;
    let sc_job = share(&sb, &A, &C, &shared_group_id()).await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &sb_job)["created"], 1);
    assert_eq!(report(&reports, &sc_job)["created"], 1);
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());
    assert!(
        user_in(
            &sb,
            &C,
            "annie_contosoa.onmicrosoft.com#EXT#@contosoc.onmicrosoft.com"
        )
        .await
        .is_some()
    );
    // Narrowing the run to one job.
    let r = sb
        .call(
            "POST",
            "/_sandbox/sync/run",
            None,
            Some(json!({"jobId": sc_job.job})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["jobs"][0]["jobId"], sc_job.job.as_str());
}

#[tokio::test]
async fn engine_activity_is_counted_apart_from_graph_requests() {
    let sb = Sandbox::new();
    let _s = share(&sb, &A, &B, &annie_id()).await;
    sb.call("POST", "/_sandbox/stats/reset", None, None)
        .await
        .expect(204);
    run_sync(&sb).await;
    let stats = sb.call("GET", "/_sandbox/stats", None, None).await;
    assert_eq!(stats.json["total"], 0, "no Graph requests: {}", stats.text);
    assert_eq!(stats.json["syncEngine"]["cycles"], 1);
    assert_eq!(stats.json["syncEngine"]["usersCreated"], 1);
}

#[tokio::test]
async fn a_started_job_runs_on_its_own_every_interval() {
    let sb = Sandbox::with_sync_worker(Duration::from_millis(200));
    let _s = share(&sb, &A, &B, &annie_id()).await;
    eventually("the worker provisions Annie", async || {
        user_in(&sb, &B, ANNIE_IN_B).await.is_some()
    })
    .await;
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{}", annie_id()),
        Some(&ta),
        Some(json!({"jobTitle": "Periodic"})),
    )
    .await
    .expect(204);
    eventually("the next cycle updates her", async || {
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"] == "Periodic"
    })
    .await;
}

#[tokio::test]
async fn a_user_deleted_in_the_source_is_soft_deleted_in_the_target() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    let id = create_user(
        &sb,
        &A,
        "leo@contosoa.onmicrosoft.com",
        "Leo Leaving",
        json!({}),
    )
    .await;
    assign(&sb, &A, &s, &id).await.expect(201);
    run_sync(&sb).await;
    let leo_b = "leo_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com";
    let uid = user_in(&sb, &B, leo_b).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ta = sb.token(&A).await;
    sb.call("DELETE", &format!("/v1.0/users/{id}"), Some(&ta), None)
        .await
        .expect(204);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["deleted"], 1);
    assert!(user_in(&sb, &B, leo_b).await.is_none());
    assert!(deleted_in(&sb, &B, &uid).await);
    assert!(
        user_in(&sb, &B, ANNIE_IN_B).await.is_some(),
        "Annie is untouched"
    );
}

#[tokio::test]
async fn a_b2b_user_deleted_by_the_target_admin_is_neither_restored_nor_recreated() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    let uid = user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tb = sb.token(&B).await;
    sb.call("DELETE", &format!("/v1.0/users/{uid}"), Some(&tb), None)
        .await
        .expect(204);
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{}", annie_id()),
        Some(&ta),
        Some(json!({"jobTitle": "Changed after the delete"})),
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["created"], 0, "{r}");
    assert_eq!(r["restored"], 0);
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_none());
    assert!(deleted_in(&sb, &B, &uid).await);
}

#[tokio::test]
async fn restart_re_evaluates_every_user_and_overwrites_target_edits_of_mapped_attributes() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    let uid = user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tb = sb.token(&B).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{uid}"),
        Some(&tb),
        Some(json!({"jobTitle": "Edited in B"})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"],
        "Edited in B",
        "target edits stay while the source does not change"
    );
    let ta = sb.token(&A).await;
    sb.call(
        "POST",
        &format!("{}/restart", s.job_path()),
        Some(&ta),
        Some(json!({"criteria": {"resetScope": ""}})),
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["updated"], 1);
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"],
        "Engineer"
    );
}

/// `countImportedDeltas` of the job's last execution: the users the cycle read.
async fn deltas(sb: &Sandbox, s: &Share) -> u64 {
    job(sb, s).await["status"]["lastExecution"]["countImportedDeltas"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn incremental_cycles_read_only_the_users_written_since_the_watermark() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let s = share(&sb, &A, &B, &shared_group_id()).await;
    let ta = sb.token(&A).await;
    // Three more members of the shared group besides Annie.
    let mut ids = vec![annie_id()];
    for n in 1..=3 {
        let id = create_user(
            &sb,
            &A,
            &format!("p{n}@contosoa.onmicrosoft.com"),
            &format!("P{n}"),
            json!({}),
        )
        .await;
        add_member(&sb, &shared_group_id(), &id).await.expect(204);
        ids.push(id);
    }
    let r = run_sync(&sb).await;
    assert_eq!(report(&r, &s)["created"], 4, "{r:?}");
    assert_eq!(deltas(&sb, &s).await, 4, "the first cycle reads everyone");

    let r = run_sync(&sb).await;
    assert_eq!(report(&r, &s)["updated"], 0);
    assert_eq!(deltas(&sb, &s).await, 0, "nothing was written since");

    sb.call(
        "PATCH",
        &format!("/v1.0/users/{}", ids[1]),
        Some(&ta),
        Some(json!({"jobTitle": "Lead"})),
    )
    .await
    .expect(204);
    let r = run_sync(&sb).await;
    assert_eq!(report(&r, &s)["updated"], 1, "{r:?}");
    assert_eq!(deltas(&sb, &s).await, 1, "only the changed user is read");
    assert_eq!(
        user_in(
            &sb,
            &B,
            "p1_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com"
        )
        .await
        .unwrap()["jobTitle"],
        "Lead"
    );

    // A user deleted in the source leaves the scope at the next incremental cycle.
    sb.call(
        "DELETE",
        &format!("/v1.0/users/{}", ids[2]),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    let r = run_sync(&sb).await;
    assert_eq!(report(&r, &s)["deleted"], 1, "{r:?}");
    assert!(
        user_in(
            &sb,
            &B,
            "p2_contosoa.onmicrosoft.com#EXT#@contosob.onmicrosoft.com"
        )
        .await
        .is_none()
    );

    // A mapping change makes the next cycle a full one: everyone is read and updated.
    edit_user_mapping(&sb, &s, |m| {
        for a in m["attributeMappings"].as_array_mut().unwrap() {
            if a["targetAttributeName"] == "jobTitle" {
                a["source"] = json!({"type": "Constant", "name": "Partner", "expression": "\"Partner\"", "parameters": []});
            }
        }
    })
    .await;
    let r = run_sync(&sb).await;
    assert_eq!(report(&r, &s)["updated"], 3, "{r:?}");
    assert_eq!(deltas(&sb, &s).await, 3);

    // So does a restart, even with nothing changed.
    sb.call(
        "POST",
        &format!("{}/restart", s.job_path()),
        Some(&ta),
        Some(json!({"criteria": {"resetScope": "Watermark"}})),
    )
    .await
    .expect(204);
    run_sync(&sb).await;
    assert_eq!(deltas(&sb, &s).await, 3, "a restart reads everyone again");
    // The watermark is the sandbox's own bookkeeping: Graph's job has no such property.
    assert!(job(&sb, &s).await.get("_watermark").is_none());
}
