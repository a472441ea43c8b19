//! Cross-tenant access policy (§5) and MTO templates (§4).

use serde_json::json;

use crate::harness::*;

fn partner(id: &str) -> String {
    format!("{CTAP}/partners/{id}")
}

fn sync(id: &str) -> String {
    format!("{CTAP}/partners/{id}/identitySynchronization")
}

async fn create_partner(sb: &Sandbox, tok: &str, id: &str) -> Resp {
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(tok),
        Some(json!({"tenantId": id})),
    )
    .await
}

#[tokio::test]
async fn templates_have_default_values_patch_and_reset_to_default_settings() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let pt = format!("{CTAP}/templates/multiTenantOrganizationPartnerConfiguration");
    let st = format!("{CTAP}/templates/multiTenantOrganizationIdentitySynchronization");
    let p = sb.get(&pt, &ta).await;
    p.expect(200);
    assert_eq!(
        p.json["templateApplicationLevel"],
        "newPartners,existingPartners"
    );
    assert_eq!(
        p.json["automaticUserConsentSettings"],
        json!({"inboundAllowed": null, "outboundAllowed": null})
    );
    assert!(p.json["inboundTrust"].is_null());
    assert!(p.json["b2bCollaborationInbound"].is_null());
    let s = sb.get(&st, &ta).await;
    assert_eq!(s.json["userSyncInbound"], json!({"isSyncAllowed": null}));
    assert_eq!(
        s.json["templateApplicationLevel"],
        "newPartners,existingPartners"
    );

    sb.call("PATCH", &st, Some(&ta), Some(json!({"userSyncInbound": {"isSyncAllowed": true}, "templateApplicationLevel": "newPartners"})))
        .await
        .expect(204);
    let s = sb.get(&st, &ta).await;
    assert_eq!(s.json["userSyncInbound"]["isSyncAllowed"], true);
    assert_eq!(s.json["templateApplicationLevel"], "newPartners");
    sb.call(
        "POST",
        &format!("{st}/resetToDefaultSettings"),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    assert_eq!(
        sb.get(&st, &ta).await.json["userSyncInbound"],
        json!({"isSyncAllowed": null})
    );

    sb.call("PATCH", &pt, Some(&ta), Some(json!({"automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": true}})))
        .await
        .expect(204);
    assert_eq!(
        sb.get(&pt, &ta).await.json["automaticUserConsentSettings"]["outboundAllowed"],
        true
    );
    sb.call(
        "POST",
        &format!("{pt}/resetToDefaultSettings"),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    assert!(
        sb.get(&pt, &ta).await.json["automaticUserConsentSettings"]["outboundAllowed"].is_null()
    );
}

#[tokio::test]
async fn template_patch_rejects_unknown_application_level_and_property() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let st = format!("{CTAP}/templates/multiTenantOrganizationIdentitySynchronization");
    sb.call(
        "PATCH",
        &st,
        Some(&ta),
        Some(json!({"templateApplicationLevel": "everyone"})),
    )
    .await
    .expect(400);
    sb.call("PATCH", &st, Some(&ta), Some(json!({"bogus": 1})))
        .await
        .expect(400);
}

#[tokio::test]
async fn templates_need_policy_permissions() {
    let sb = Sandbox::new();
    let reader = sb.token(&READER_A).await;
    sb.get(
        &format!("{CTAP}/templates/multiTenantOrganizationIdentitySynchronization"),
        &reader,
    )
    .await
    .expect(403);
    // C has Policy.ReadWrite.CrossTenantAccess, which also reads.
    let tc = sb.token(&C).await;
    sb.get(
        &format!("{CTAP}/templates/multiTenantOrganizationIdentitySynchronization"),
        &tc,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn policy_root_get_and_patch() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.get(CTAP, &ta).await;
    r.expect(200);
    assert_eq!(r.json["allowedCloudEndpoints"], json!([]));
    sb.call(
        "PATCH",
        CTAP,
        Some(&ta),
        Some(json!({"allowedCloudEndpoints": ["microsoftonline.us"]})),
    )
    .await
    .expect(204);
    assert_eq!(
        sb.get(CTAP, &ta).await.json["allowedCloudEndpoints"],
        json!(["microsoftonline.us"])
    );
    sb.call(
        "PATCH",
        CTAP,
        Some(&ta),
        Some(json!({"allowedCloudEndpoints": ["example.com"]})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn default_configuration_is_system_default_patch_and_reset_to_system_default() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let d = format!("{CTAP}/default");
    let r = sb.get(&d, &ta).await;
    r.expect(200);
    assert_eq!(r.json["isServiceDefault"], true);
    assert_eq!(r.json["inboundTrust"]["isMfaAccepted"], false);
    assert_eq!(
        r.json["automaticUserConsentSettings"],
        json!({"inboundAllowed": false, "outboundAllowed": false})
    );
    assert_eq!(
        r.json["b2bCollaborationInbound"]["usersAndGroups"]["accessType"],
        "allowed"
    );
    assert_eq!(
        r.json["b2bCollaborationOutbound"]["applications"]["targets"][0]["target"],
        "AllApplications"
    );
    assert_eq!(
        r.json["b2bDirectConnectInbound"]["usersAndGroups"]["accessType"],
        "blocked"
    );
    assert_eq!(
        r.json["b2bDirectConnectOutbound"]["usersAndGroups"]["targets"][0]["target"],
        "AllUsers"
    );

    sb.call(
        "PATCH",
        &d,
        Some(&ta),
        Some(json!({"inboundTrust": {"isMfaAccepted": true}})),
    )
    .await
    .expect(204);
    let r = sb.get(&d, &ta).await;
    assert_eq!(r.json["isServiceDefault"], false);
    assert_eq!(r.json["inboundTrust"]["isMfaAccepted"], true);
    sb.call(
        "POST",
        &format!("{d}/resetToSystemDefault"),
        Some(&ta),
        None,
    )
    .await
    .expect(204);
    let r = sb.get(&d, &ta).await;
    assert_eq!(r.json["isServiceDefault"], true);
    assert_eq!(r.json["inboundTrust"]["isMfaAccepted"], false);
}

#[tokio::test]
async fn partner_create_is_201_with_null_settings_and_duplicate_is_409() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = create_partner(&sb, &ta, B.id).await;
    r.expect(201);
    assert_eq!(r.json["tenantId"], B.id);
    assert_eq!(
        r.json["automaticUserConsentSettings"],
        json!({"inboundAllowed": null, "outboundAllowed": null})
    );
    assert!(r.json["isServiceProvider"].is_null());
    assert!(r.json["inboundTrust"].is_null());
    assert!(r.json["b2bDirectConnectOutbound"].is_null());
    assert_eq!(r.json["isInMultiTenantOrganization"], false);
    let r = create_partner(&sb, &ta, B.id).await;
    r.expect(409);
    assert_eq!(r.code(), "Request_MultipleObjectsWithSameKeyValue");
    assert_eq!(
        r.message(),
        "Another object with the same value for property tenantId already exists."
    );
}

#[tokio::test]
async fn partner_create_requires_a_guid_tenant_id_and_validates_settings() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&ta),
        Some(json!({"tenantId": "nope"})),
    )
    .await
    .expect(400);
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&ta),
        Some(json!({"tenantId": B.id, "b2bCollaborationInbound": {"usersAndGroups": {"accessType": "maybe"}}})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn partner_patch_replaces_sent_properties_and_null_clears() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    create_partner(&sb, &ta, B.id).await.expect(201);
    sb.call(
        "PATCH",
        &partner(B.id),
        Some(&ta),
        Some(
            json!({"inboundTrust": {"isMfaAccepted": true, "isCompliantDeviceAccepted": true},
                    "automaticUserConsentSettings": {"inboundAllowed": true}}),
        ),
    )
    .await
    .expect(204);
    let p = sb.get(&partner(B.id), &ta).await.json;
    assert_eq!(
        p["automaticUserConsentSettings"],
        json!({"inboundAllowed": true, "outboundAllowed": null})
    );
    assert_eq!(p["inboundTrust"]["isCompliantDeviceAccepted"], true);
    // A nested object replaces the whole property; properties not sent are kept.
    sb.call(
        "PATCH",
        &partner(B.id),
        Some(&ta),
        Some(json!({"inboundTrust": {"isMfaAccepted": false}})),
    )
    .await
    .expect(204);
    let p = sb.get(&partner(B.id), &ta).await.json;
    assert_eq!(p["inboundTrust"]["isMfaAccepted"], false);
    assert!(p["inboundTrust"]["isCompliantDeviceAccepted"].is_null());
    assert_eq!(p["automaticUserConsentSettings"]["inboundAllowed"], true);
    // null clears.
    sb.call(
        "PATCH",
        &partner(B.id),
        Some(&ta),
        Some(json!({"inboundTrust": null})),
    )
    .await
    .expect(204);
    assert!(sb.get(&partner(B.id), &ta).await.json["inboundTrust"].is_null());
    // tenantId cannot change.
    sb.call(
        "PATCH",
        &partner(B.id),
        Some(&ta),
        Some(json!({"tenantId": C.id})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn partner_get_unknown_is_404_and_patch_unknown_is_404() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.get(&partner(B.id), &ta).await;
    r.expect(404);
    assert_eq!(r.code(), "Directory_ObjectNotFound");
    sb.call(
        "PATCH",
        &partner(B.id),
        Some(&ta),
        Some(json!({"isServiceProvider": true})),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn partner_list_supports_select_and_expand_identity_synchronization() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    create_partner(&sb, &ta, B.id).await.expect(201);
    create_partner(&sb, &ta, C.id).await.expect(201);
    sb.call(
        "PUT",
        &sync(B.id),
        Some(&ta),
        Some(json!({"displayName": "B", "userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(204);
    let r = sb
        .get(
            &format!("{CTAP}/partners?$select=tenantId&$expand=identitySynchronization"),
            &ta,
        )
        .await;
    r.expect(200);
    let rows = r.json["value"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let b = rows.iter().find(|p| p["tenantId"] == B.id).unwrap();
    let c = rows.iter().find(|p| p["tenantId"] == C.id).unwrap();
    assert_eq!(
        b["identitySynchronization"]["userSyncInbound"]["isSyncAllowed"],
        true
    );
    assert!(c["identitySynchronization"].is_null());
    assert!(
        b.get("inboundTrust").is_none(),
        "only selected properties: {b}"
    );
    sb.get(&format!("{CTAP}/partners?$expand=nope"), &ta)
        .await
        .expect(400);
}

#[tokio::test]
async fn partner_delete_is_refused_while_identity_sync_exists() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    create_partner(&sb, &ta, B.id).await.expect(201);
    sb.call(
        "PUT",
        &sync(B.id),
        Some(&ta),
        Some(json!({"userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(204);
    let r = sb.call("DELETE", &partner(B.id), Some(&ta), None).await;
    r.expect(400);
    assert!(
        r.message().contains("identitySynchronization"),
        "{}",
        r.text
    );
    sb.call("DELETE", &sync(B.id), Some(&ta), None)
        .await
        .expect(204);
    sb.call("DELETE", &partner(B.id), Some(&ta), None)
        .await
        .expect(204);
    sb.get(&partner(B.id), &ta).await.expect(404);
}

#[tokio::test]
async fn identity_sync_put_twice_is_409_conflict() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    create_partner(&sb, &ta, B.id).await.expect(201);
    let body = json!({"displayName": "B", "userSyncInbound": {"isSyncAllowed": true}});
    let r = sb
        .call("PUT", &sync(B.id), Some(&ta), Some(body.clone()))
        .await;
    r.expect(204);
    assert!(r.text.is_empty());
    let r = sb.call("PUT", &sync(B.id), Some(&ta), Some(body)).await;
    r.expect(409);
    assert_eq!(r.code(), "Request_MultipleObjectsWithSameKeyValue");
    assert_eq!(r.json["error"]["details"][0]["code"], "ConflictingObjects");
}

#[tokio::test]
async fn identity_sync_put_without_partner_is_404() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call(
        "PUT",
        &sync(B.id),
        Some(&ta),
        Some(json!({"userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn identity_sync_patch_without_policy_is_404_directory_object_not_found() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    create_partner(&sb, &ta, B.id).await.expect(201);
    let r = sb
        .call(
            "PATCH",
            &sync(B.id),
            Some(&ta),
            Some(json!({"userSyncInbound": {"isSyncAllowed": false}})),
        )
        .await;
    r.expect(404);
    assert_eq!(r.code(), "Directory_ObjectNotFound");
    assert_eq!(
        r.message(),
        "Unable to read the company information from the directory."
    );
}

#[tokio::test]
async fn identity_sync_get_patch_delete_round_trip() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    create_partner(&sb, &ta, B.id).await.expect(201);
    sb.call(
        "PUT",
        &sync(B.id),
        Some(&ta),
        Some(json!({"displayName": "B", "userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(204);
    let g = sb.get(&sync(B.id), &ta).await;
    g.expect(200);
    assert_eq!(g.json["tenantId"], B.id);
    assert_eq!(g.json["displayName"], "B");
    assert!(
        g.json.get("groupSyncInbound").is_none(),
        "beta-only property on v1.0: {}",
        g.text
    );
    sb.call(
        "PATCH",
        &sync(B.id),
        Some(&ta),
        Some(json!({"userSyncInbound": {"isSyncAllowed": false}})),
    )
    .await
    .expect(204);
    let g = sb.get(&sync(B.id), &ta).await;
    assert_eq!(g.json["userSyncInbound"]["isSyncAllowed"], false);
    assert_eq!(g.json["displayName"], "B");
    sb.call("DELETE", &sync(B.id), Some(&ta), None)
        .await
        .expect(204);
    sb.get(&sync(B.id), &ta).await.expect(404);
    sb.call("DELETE", &sync(B.id), Some(&ta), None)
        .await
        .expect(404);
}

#[tokio::test]
async fn group_sync_inbound_is_accepted_on_beta_only() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    create_partner(&sb, &ta, B.id).await.expect(201);
    let body = json!({"userSyncInbound": {"isSyncAllowed": true}, "groupSyncInbound": {"isSyncAllowed": true}});
    sb.call("PUT", &sync(B.id), Some(&ta), Some(body.clone()))
        .await
        .expect(400);
    let beta = sync(B.id).replace("/v1.0/", "/beta/");
    sb.call("PUT", &beta, Some(&ta), Some(body))
        .await
        .expect(204);
    assert_eq!(
        sb.get(&beta, &ta).await.json["groupSyncInbound"]["isSyncAllowed"],
        true
    );
}
