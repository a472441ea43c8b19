//! The CTS configuration app (§6.1): instantiate, applications, service principals, and the
//! service principal's app role assignments (§6.7).

use serde_json::{Value, json};

use crate::harness::*;

async fn instantiate(sb: &Sandbox, tok: &str, template: &str, name: &str) -> Resp {
    sb.call(
        "POST",
        &format!("/v1.0/applicationTemplates/{template}/instantiate"),
        Some(tok),
        Some(json!({"displayName": name})),
    )
    .await
}

#[tokio::test]
async fn instantiate_returns_the_cts_application_and_service_principal() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = instantiate(&sb, &ta, CTS_TEMPLATE, "MTO_Sync_b").await;
    r.expect(201);
    assert!(
        r.json["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#microsoft.graph.applicationServicePrincipal")
    );
    let app = &r.json["application"];
    let sp = &r.json["servicePrincipal"];
    for o in [app, sp] {
        assert_eq!(o["displayName"], "MTO_Sync_b");
        assert_eq!(o["applicationTemplateId"], CTS_TEMPLATE);
        assert_eq!(o["appId"], app["appId"]);
        let roles = o["appRoles"].as_array().unwrap();
        assert_eq!(roles.len(), 1);
        let role = &roles[0];
        assert_eq!(role["displayName"], "msiam_access");
        assert_eq!(role["allowedMemberTypes"], json!(["User"]));
        assert_eq!(role["origin"], "Application");
        assert_eq!(role["isEnabled"], true);
        assert!(role["value"].is_null());
        assert!(mto_sandbox::util::parse_guid(role["id"].as_str().unwrap()).is_some());
        assert!(
            o.get("_spId").is_none(),
            "private properties are never returned"
        );
    }
    assert_eq!(app["appRoles"][0]["id"], sp["appRoles"][0]["id"]);
    assert_eq!(app["signInAudience"], "AzureADMyOrg");
    assert!(
        app["web"]["homePageUrl"]
            .as_str()
            .unwrap()
            .contains("metadata=aad2aadsync|ISV9.1|primary|z")
    );
    assert_eq!(sp["appRoleAssignmentRequired"], true);
    assert_eq!(sp["servicePrincipalType"], "Application");
    assert_eq!(
        sp["tags"],
        json!(["WindowsAzureActiveDirectoryIntegratedApp"])
    );
    assert_ne!(sp["id"], app["id"]);

    // Readable by id and by the filters the provider uses.
    let sp_id = sp["id"].as_str().unwrap();
    sb.get(&format!("/v1.0/servicePrincipals/{sp_id}"), &ta)
        .await
        .expect(200);
    let by_name = sb
        .get(
            "/v1.0/servicePrincipals?$filter=displayName%20eq%20'MTO_Sync_b'",
            &ta,
        )
        .await;
    by_name.expect(200);
    assert_eq!(by_name.json["value"].as_array().unwrap().len(), 1);
    assert_eq!(by_name.json["value"][0]["id"], sp["id"]);
    let by_app_id = sb
        .get(
            &format!(
                "/v1.0/applications?$filter=appId%20eq%20'{}'&$select=id,displayName",
                app["appId"].as_str().unwrap()
            ),
            &ta,
        )
        .await;
    by_app_id.expect(200);
    assert_eq!(by_app_id.json["value"][0]["id"], app["id"]);
    assert_eq!(
        by_app_id.json["value"][0].as_object().unwrap().len(),
        2,
        "$select keeps only id and displayName"
    );
}

#[tokio::test]
async fn instantiate_with_another_template_is_404_and_needs_a_display_name() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = instantiate(&sb, &ta, "8adf8e6e-67b2-4cf2-a259-e3dc5476c621", "x").await;
    r.expect(404);
    assert_eq!(r.code(), "Request_ResourceNotFound");
    let r = sb
        .call(
            "POST",
            &format!("/v1.0/applicationTemplates/{CTS_TEMPLATE}/instantiate"),
            Some(&ta),
            Some(json!({})),
        )
        .await;
    r.expect(400);
    // Same behaviour on beta.
    instantiate(&sb, &ta, CTS_TEMPLATE, "beta")
        .await
        .expect(201);
    let r = sb
        .call(
            "POST",
            &format!("/beta/applicationTemplates/{CTS_TEMPLATE}/instantiate"),
            Some(&ta),
            Some(json!({"displayName": "beta2"})),
        )
        .await;
    r.expect(201);
}

#[tokio::test]
async fn application_and_service_principal_can_be_renamed_and_template_owned_properties_cannot() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let s = configure(&sb, &A, &B).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/applications/{}", s.app),
        Some(&ta),
        Some(json!({"displayName": "renamed"})),
    )
    .await
    .expect(204);
    sb.call(
        "PATCH",
        &s.sp_path(),
        Some(&ta),
        Some(json!({"displayName": "renamed"})),
    )
    .await
    .expect(204);
    assert_eq!(
        sb.get(&format!("/v1.0/applications/{}", s.app), &ta)
            .await
            .json["displayName"],
        "renamed"
    );
    assert_eq!(
        sb.get(&s.sp_path(), &ta).await.json["displayName"],
        "renamed"
    );
    sb.call(
        "PATCH",
        &s.sp_path(),
        Some(&ta),
        Some(json!({"appRoles": []})),
    )
    .await
    .expect(400);
    sb.call(
        "PATCH",
        &s.sp_path(),
        Some(&ta),
        Some(json!({"displayName": ""})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn assignment_is_201_with_principal_and_resource_names() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let r = assign(&sb, &A, &s, &annie_id()).await;
    r.expect(201);
    assert_eq!(r.json["principalId"], annie_id());
    assert_eq!(r.json["principalType"], "User");
    assert_eq!(r.json["principalDisplayName"], "Annie Archer");
    assert_eq!(r.json["resourceId"], s.sp);
    assert_eq!(r.json["resourceDisplayName"], format!("MTO_Sync_{}", B.id));
    assert_eq!(r.json["appRoleId"], s.role);
    assert!(r.json["createdDateTime"].as_str().unwrap().ends_with('Z'));
    let g = assign(&sb, &A, &s, &shared_group_id()).await;
    g.expect(201);
    assert_eq!(g.json["principalType"], "Group");
    assert_eq!(g.json["principalDisplayName"], "Shared with MTO");
}

#[tokio::test]
async fn duplicate_assignment_is_400_permission_already_exists() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    assign(&sb, &A, &s, &annie_id()).await.expect(201);
    let r = assign(&sb, &A, &s, &annie_id()).await;
    r.expect(400);
    assert_eq!(r.code(), "Request_BadRequest");
    assert_eq!(
        r.message(),
        "Permission being assigned already exists on the object."
    );
}

#[tokio::test]
async fn assignment_of_unknown_or_foreign_principal_is_404_and_bad_role_is_400() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let r = assign(&sb, &A, &s, "99999999-9999-4999-8999-999999999999").await;
    r.expect(404);
    assert_eq!(r.code(), "Request_ResourceNotFound");
    // Bob is a user of tenant B, not of A.
    let r = assign(&sb, &A, &s, "bbbbbbbb-3333-4000-8000-000000000001").await;
    r.expect(404);
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "POST",
            &format!("{}/appRoleAssignedTo", s.sp_path()),
            Some(&ta),
            Some(json!({"principalId": annie_id(), "resourceId": s.sp, "appRoleId": "11111111-2222-4333-8444-555555555555"})),
        )
        .await;
    r.expect(400);
    assert!(
        r.message().contains("not found on application"),
        "{}",
        r.text
    );
    let r = sb
        .call(
            "POST",
            &format!("{}/appRoleAssignedTo", s.sp_path()),
            Some(&ta),
            Some(json!({"principalId": "not-a-guid", "resourceId": s.sp, "appRoleId": s.role})),
        )
        .await;
    r.expect(400);
}

#[tokio::test]
async fn assignments_are_listed_with_paging_and_deleted_with_204() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let s = configure(&sb, &A, &B).await;
    let mut ids = vec![annie_id(), shared_group_id()];
    for i in 0..3 {
        ids.push(
            create_user(
                &sb,
                &A,
                &format!("page{i}@contosoa.onmicrosoft.com"),
                &format!("Page {i}"),
                json!({}),
            )
            .await,
        );
    }
    for id in &ids {
        assign(&sb, &A, &s, id).await.expect(201);
    }
    let mut seen: Vec<Value> = Vec::new();
    let mut url = format!("{}/appRoleAssignedTo?$top=2", s.sp_path());
    let mut pages = 0;
    loop {
        let r = sb.get(&url, &ta).await;
        r.expect(200);
        pages += 1;
        seen.extend(r.json["value"].as_array().unwrap().iter().cloned());
        match r.json["@odata.nextLink"].as_str() {
            Some(n) => url = n.trim_start_matches("http://sandbox.test").to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut principals: Vec<String> = seen
        .iter()
        .map(|a| a["principalId"].as_str().unwrap().to_string())
        .collect();
    principals.sort();
    ids.sort();
    assert_eq!(principals, ids);
    let first = seen[0]["id"].as_str().unwrap();
    sb.call(
        "DELETE",
        &format!("{}/appRoleAssignedTo/{first}", s.sp_path()),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    sb.call(
        "DELETE",
        &format!("{}/appRoleAssignedTo/{first}", s.sp_path()),
        Some(&ta),
        None,
    )
    .await
    .expect(404);
    let r = sb
        .get(&format!("{}/appRoleAssignedTo", s.sp_path()), &ta)
        .await;
    assert_eq!(r.json["value"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn deleting_the_application_deletes_its_service_principal_jobs_secrets_and_assignments() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let s = share(&sb, &A, &B, &annie_id()).await;
    run_sync(&sb).await;
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());
    sb.call(
        "DELETE",
        &format!("/v1.0/applications/{}", s.app),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    sb.get(&format!("/v1.0/applications/{}", s.app), &ta)
        .await
        .expect(404);
    sb.get(&s.sp_path(), &ta).await.expect(404);
    sb.get(&s.job_path(), &ta).await.expect(404);
    sb.get(&format!("{}/appRoleAssignedTo", s.sp_path()), &ta)
        .await
        .expect(404);
    let left: i64 = sb
        .state
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM sync_jobs) + (SELECT count(*) FROM sync_secrets)
                      + (SELECT count(*) FROM app_role_assignments) + (SELECT count(*) FROM sync_entries)",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(left, 0, "nothing of the configuration is left behind");
    // Graph leaves the users a deleted configuration created.
    assert!(user_in(&sb, &B, ANNIE_IN_B).await.is_some());
}

#[tokio::test]
async fn deleting_the_service_principal_keeps_the_application() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let s = configure(&sb, &A, &B).await;
    sb.call("DELETE", &s.sp_path(), Some(&ta), None)
        .await
        .expect(204);
    sb.get(&s.sp_path(), &ta).await.expect(404);
    sb.get(&s.job_path(), &ta).await.expect(404);
    sb.get(&format!("/v1.0/applications/{}", s.app), &ta)
        .await
        .expect(200);
}

#[tokio::test]
async fn configuration_calls_need_application_and_synchronization_permissions() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let reader = sb.token(&READER_A).await;
    let r = instantiate(&sb, &reader, CTS_TEMPLATE, "x").await;
    r.expect(403);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    sb.get(&s.sp_path(), &reader).await.expect(403);
    sb.get(&format!("{}/jobs", s.sync_path()), &reader)
        .await
        .expect(403);
    sb.call(
        "POST",
        &format!("{}/start", s.job_path()),
        Some(&reader),
        None,
    )
    .await
    .expect(403);
    assign(&sb, &READER_A, &s, &annie_id()).await.expect(403);
    // Tenant B's token cannot see A's configuration at all.
    let tb = sb.token(&B).await;
    sb.get(&s.sp_path(), &tb).await.expect(404);
}
