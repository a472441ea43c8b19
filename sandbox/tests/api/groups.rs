//! Groups and organization.

use crate::harness::*;

#[tokio::test]
async fn groups_list_get_and_members() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    let list = sb.get("/v1.0/groups", &tb).await;
    list.expect(200);
    let g = &list.json["value"][0];
    assert_eq!(g["displayName"], "Shared with MTO");
    assert_eq!(g["securityEnabled"], true);
    let id = g["id"].as_str().unwrap();
    assert_eq!(
        id,
        mto_sandbox::util::seed_guid(B.id, "group", "Shared with MTO")
    );
    sb.get(&format!("/v1.0/groups/{id}"), &tb).await.expect(200);
    let sel = sb
        .get(&format!("/v1.0/groups/{id}?$select=displayName"), &tb)
        .await;
    assert_eq!(sel.json.as_object().unwrap().len(), 2);
    let m = sb.get(&format!("/v1.0/groups/{id}/members"), &tb).await;
    m.expect(200);
    let members = m.json["value"].as_array().unwrap();
    assert_eq!(
        members.len(),
        2,
        "duplicate member references are collapsed: {}",
        m.text
    );
    assert!(
        members
            .iter()
            .all(|u| u["@odata.type"] == "#microsoft.graph.user")
    );
    let f = sb
        .get(
            "/v1.0/groups?$filter=displayName%20eq%20'shared%20with%20mto'",
            &tb,
        )
        .await;
    assert_eq!(f.json["value"].as_array().unwrap().len(), 1);
    sb.get("/v1.0/groups/00000000-0000-4000-8000-000000000000", &tb)
        .await
        .expect(404);
}

#[tokio::test]
async fn organization_returns_the_callers_tenant_with_initial_domain() {
    let sb = Sandbox::new();
    let tc = sb.token(&C).await;
    let r = sb.get("/v1.0/organization", &tc).await;
    r.expect(200);
    let org = &r.json["value"][0];
    assert_eq!(org["id"], C.id);
    assert_eq!(org["displayName"], "Contoso C");
    assert_eq!(org["verifiedDomains"][0]["name"], C.domain);
    assert_eq!(org["verifiedDomains"][0]["isInitial"], true);
    sb.get(&format!("/v1.0/organization/{}", C.id), &tc)
        .await
        .expect(200);
    sb.get(&format!("/v1.0/organization/{}", A.id), &tc)
        .await
        .expect(404);
    let reader = sb.token(&READER_A).await;
    sb.get("/v1.0/organization", &reader).await.expect(403);
}

// ---------------------------------------------------------------------------------------------
// Group lifecycle and members through Graph

#[tokio::test]
async fn group_create_is_201_with_the_default_property_set() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let tok = sb.token(&GROUPS_A).await;
    let r = post_group(&sb, &GROUPS_A, security_group("Finance", "finance")).await;
    r.expect(201);
    assert_eq!(r.json["displayName"], "Finance");
    assert_eq!(r.json["securityEnabled"], true);
    assert_eq!(r.json["mailEnabled"], false);
    assert_eq!(r.json["groupTypes"], serde_json::json!([]));
    let id = r.json["id"].as_str().unwrap();
    assert!(mto_sandbox::util::parse_guid(id).is_some());
    let g = sb.get(&format!("/v1.0/groups/{id}"), &tok).await;
    g.expect(200);
    assert_eq!(g.json["mailNickname"], "finance");
}

#[tokio::test]
async fn group_create_without_a_required_property_is_400() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let tok = sb.token(&GROUPS_A).await;
    for missing in [
        "displayName",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
    ] {
        let mut body = security_group("Finance", "finance");
        body.as_object_mut().unwrap().remove(missing);
        let r = sb
            .call("POST", "/v1.0/groups", Some(&tok), Some(body))
            .await;
        r.expect(400);
        assert!(r.message().contains(missing), "{}", r.message());
    }
    let r = post_group(&sb, &GROUPS_A, security_group("Finance", "has space")).await;
    r.expect(400);
    let mut read_only = security_group("Finance", "finance");
    read_only["id"] = serde_json::json!("aaaaaaaa-9999-4000-8000-000000000001");
    sb.call("POST", "/v1.0/groups", Some(&tok), Some(read_only))
        .await
        .expect(400);
}

#[tokio::test]
async fn group_patch_is_204_and_delete_is_204_then_404() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let id = create_group(&sb, "Finance").await;
    let tok = sb.token(&GROUPS_A).await;
    sb.call(
        "PATCH",
        &format!("/v1.0/groups/{id}"),
        Some(&tok),
        Some(serde_json::json!({"description": "Money", "displayName": "Finance Team"})),
    )
    .await
    .expect(204);
    let g = sb.get(&format!("/v1.0/groups/{id}"), &tok).await;
    assert_eq!(g.json["description"], "Money");
    assert_eq!(g.json["displayName"], "Finance Team");
    sb.call(
        "PATCH",
        &format!("/v1.0/groups/{id}"),
        Some(&tok),
        Some(serde_json::json!({"mail": "x@y.com"})),
    )
    .await
    .expect(400);
    sb.call("DELETE", &format!("/v1.0/groups/{id}"), Some(&tok), None)
        .await
        .expect(204);
    sb.get(&format!("/v1.0/groups/{id}"), &tok)
        .await
        .expect(404);
    sb.call("DELETE", &format!("/v1.0/groups/{id}"), Some(&tok), None)
        .await
        .expect(404);
}

#[tokio::test]
async fn member_ref_add_is_204_and_a_duplicate_is_400() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let id = create_group(&sb, "Finance").await;
    add_member(&sb, &id, &annie_id()).await.expect(204);
    let dup = add_member(&sb, &id, &annie_id()).await;
    dup.expect(400);
    assert_eq!(dup.code(), "Request_BadRequest");
    assert_eq!(
        dup.message(),
        "One or more added object references already exist for the following modified properties: 'members'."
    );
    let tok = sb.token(&GROUPS_A).await;
    let m = sb.get(&format!("/v1.0/groups/{id}/members"), &tok).await;
    assert_eq!(
        m.json["value"][0]["userPrincipalName"],
        "annie@contosoa.onmicrosoft.com"
    );
}

#[tokio::test]
async fn member_ref_of_an_unknown_object_is_404_and_a_bad_reference_is_400() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let id = create_group(&sb, "Finance").await;
    let r = add_member(&sb, &id, "aaaaaaaa-9999-4000-8000-000000000009").await;
    r.expect(404);
    assert_eq!(r.code(), "Request_ResourceNotFound");
    let tok = sb.token(&GROUPS_A).await;
    sb.call(
        "POST",
        &format!("/v1.0/groups/{id}/members/$ref"),
        Some(&tok),
        Some(serde_json::json!({"@odata.id": "not a url"})),
    )
    .await
    .expect(400);
    sb.call(
        "POST",
        &format!("/v1.0/groups/{id}/members/$ref"),
        Some(&tok),
        Some(serde_json::json!({})),
    )
    .await
    .expect(400);
    add_member(&sb, "aaaaaaaa-9999-4000-8000-000000000008", &annie_id())
        .await
        .expect(404);
}

#[tokio::test]
async fn member_ref_delete_is_204_then_404() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let id = create_group(&sb, "Finance").await;
    add_member(&sb, &id, &annie_id()).await.expect(204);
    remove_member(&sb, &id, &annie_id()).await.expect(204);
    let again = remove_member(&sb, &id, &annie_id()).await;
    again.expect(404);
    assert_eq!(again.code(), "Request_ResourceNotFound");
}

#[tokio::test]
async fn groups_can_be_members_of_groups() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    let outer = create_group(&sb, "Outer").await;
    let inner = create_group(&sb, "Inner").await;
    add_member(&sb, &outer, &inner).await.expect(204);
    add_member(&sb, &outer, &outer).await.expect(400);
    let tok = sb.token(&GROUPS_A).await;
    let m = sb.get(&format!("/v1.0/groups/{outer}/members"), &tok).await;
    assert_eq!(m.json["value"][0]["@odata.type"], "#microsoft.graph.group");
    assert_eq!(m.json["value"][0]["displayName"], "Inner");
}

#[tokio::test]
async fn group_writes_need_group_permissions_and_members_need_group_member_permissions() {
    let sb = Sandbox::new();
    grant_group_writer(&sb);
    // Tenant A's main app has Group.Read.All only.
    let ta = sb.token(&A).await;
    let r = post_group(&sb, &A, security_group("Finance", "finance")).await;
    r.expect(403);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    let id = create_group(&sb, "Finance").await;
    let members_only = sb.token(&MEMBERS_A).await;
    let body = serde_json::json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", annie_id())});
    sb.call(
        "POST",
        &format!("/v1.0/groups/{id}/members/$ref"),
        Some(&ta),
        Some(body.clone()),
    )
    .await
    .expect(403);
    sb.call(
        "POST",
        &format!("/v1.0/groups/{id}/members/$ref"),
        Some(&members_only),
        Some(body),
    )
    .await
    .expect(204);
    sb.call(
        "PATCH",
        &format!("/v1.0/groups/{id}"),
        Some(&members_only),
        Some(serde_json::json!({"description": "x"})),
    )
    .await
    .expect(403);
    sb.call(
        "DELETE",
        &format!("/v1.0/groups/{id}/members/{}/$ref", annie_id()),
        Some(&members_only),
        None,
    )
    .await
    .expect(204);
    // Directory.ReadWrite.All (tenant B's app) covers everything.
    post_group(&sb, &B, security_group("Ops", "ops"))
        .await
        .expect(201);
}

#[tokio::test]
async fn user_create_patch_and_delete_need_user_write_permissions() {
    let sb = Sandbox::new();
    let reader = sb.token(&READER_A).await;
    let body = serde_json::json!({"accountEnabled": true, "displayName": "X", "mailNickname": "x",
        "userPrincipalName": "x@contosoa.onmicrosoft.com", "passwordProfile": {"password": "P@ss1!"}});
    sb.call("POST", "/v1.0/users", Some(&reader), Some(body))
        .await
        .expect(403);
    sb.call(
        "PATCH",
        &format!("/v1.0/users/{}", annie_id()),
        Some(&reader),
        Some(serde_json::json!({"department": "Sales"})),
    )
    .await
    .expect(403);
    sb.call(
        "DELETE",
        &format!("/v1.0/users/{}", annie_id()),
        Some(&reader),
        None,
    )
    .await
    .expect(403);
}
