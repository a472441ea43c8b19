//! Multi-tenant organization: singleton (§1), member tenants (§2), join request (§3) and the
//! side effects of a join on cross-tenant access settings (§3, §4.3).

use serde_json::{Value, json};

use crate::harness::*;

fn tenants_url(id: &str) -> String {
    format!("{MTO}/tenants/{id}")
}

async fn add(sb: &Sandbox, tok: &str, t: &Tenant) -> Resp {
    sb.call(
        "POST",
        &format!("{MTO}/tenants"),
        Some(tok),
        Some(json!({"tenantId": t.id, "displayName": t.domain})),
    )
    .await
}

async fn request_join(sb: &Sandbox, t: &Tenant, owner: &str) {
    let tok = sb.token(t).await;
    sb.call(
        "PATCH",
        &format!("{MTO}/joinRequest"),
        Some(&tok),
        Some(json!({"addedByTenantId": owner})),
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn mto_get_without_organization_is_200_inactive_shape() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.get(MTO, &ta).await;
    r.expect(200);
    assert_eq!(r.json["state"], "inactive");
    assert!(
        r.json.get("id").is_none(),
        "inactive MTO has no id: {}",
        r.text
    );
    for k in ["createdDateTime", "displayName", "description"] {
        assert!(r.json[k].is_null());
    }
}

#[tokio::test]
async fn mto_put_is_201_and_creator_becomes_active_owner() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .call(
            "PUT",
            MTO,
            Some(&ta),
            Some(json!({"displayName": "Contoso group", "description": "All"})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["state"], "active");
    assert_eq!(r.json["displayName"], "Contoso group");
    assert!(r.json["id"].is_string());
    assert!(r.json["createdDateTime"].as_str().unwrap().ends_with('Z'));
    let list = sb.get(&format!("{MTO}/tenants"), &ta).await;
    let rows = list.json["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["tenantId"], A.id);
    assert_eq!(rows[0]["role"], "owner");
    assert_eq!(rows[0]["state"], "active");
    assert_eq!(rows[0]["addedByTenantId"], A.id);
    assert!(rows[0]["joinedDateTime"].is_null());
}

#[tokio::test]
async fn mto_put_requires_display_name() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .call("PUT", MTO, Some(&ta), Some(json!({"description": "x"})))
        .await;
    r.expect(400);
}

#[tokio::test]
async fn mto_second_put_is_409_conflict() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "one"})))
        .await
        .expect(201);
    let r = sb
        .call("PUT", MTO, Some(&ta), Some(json!({"displayName": "two"})))
        .await;
    r.expect(409);
    assert_eq!(r.code(), "Request_MultipleObjectsWithSameKeyValue");
    assert_eq!(sb.get(MTO, &ta).await.json["displayName"], "one");
}

#[tokio::test]
async fn mto_patch_is_204_and_updates_name_and_description() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "one"})))
        .await
        .expect(201);
    sb.call(
        "PATCH",
        MTO,
        Some(&ta),
        Some(json!({"displayName": "renamed", "description": "d"})),
    )
    .await
    .expect(204);
    let r = sb.get(MTO, &ta).await;
    assert_eq!(r.json["displayName"], "renamed");
    assert_eq!(r.json["description"], "d");
}

#[tokio::test]
async fn mto_delete_is_405_graph_shaped() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.call("DELETE", MTO, Some(&ta), None).await;
    r.expect(405);
    assert!(
        r.json["error"]["innerError"]["request-id"].is_string(),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn mto_get_with_select_returns_only_selected() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "one"})))
        .await
        .expect(201);
    let r = sb
        .get(&format!("{MTO}?$select=displayName,state"), &ta)
        .await;
    let keys: Vec<&String> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with('@'))
        .collect();
    assert_eq!(keys.len(), 2, "{}", r.text);
}

#[tokio::test]
async fn member_add_is_201_pending_with_transition_details() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    let r = add(&sb, &ta, &B).await;
    r.expect(201);
    assert_eq!(r.json["state"], "pending");
    assert_eq!(r.json["role"], "member");
    assert_eq!(r.json["addedByTenantId"], A.id);
    assert_eq!(r.json["transitionDetails"]["desiredState"], "active");
    assert_eq!(r.json["transitionDetails"]["status"], "notStarted");
    // B sees no MTO until it joins.
    let tb = sb.token(&B).await;
    assert_eq!(sb.get(MTO, &tb).await.json["state"], "inactive");
}

#[tokio::test]
async fn member_add_duplicate_is_400_already_being_added() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    let r = add(&sb, &ta, &B).await;
    r.expect(400);
    assert_eq!(r.code(), "Request_BadRequest");
    assert_eq!(
        r.message(),
        "Tenant is already being added in Multi-Tenant Organization."
    );
}

#[tokio::test]
async fn member_add_by_non_owner_is_403() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let tb = sb.token(&B).await;
    let r = add(&sb, &tb, &C).await;
    r.expect(403);
    assert_eq!(r.code(), "Authorization_RequestDenied");
}

#[tokio::test]
async fn member_add_without_mto_is_404() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    add(&sb, &ta, &B).await.expect(404);
}

#[tokio::test]
async fn member_list_supports_filter_on_tenant_id_and_select() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    add(&sb, &ta, &C).await.expect(201);
    let r = sb
        .get(
            &format!(
                "{MTO}/tenants?$filter=tenantId%20eq%20'{}'&$select=tenantId,state",
                B.id
            ),
            &ta,
        )
        .await;
    r.expect(200);
    let rows = r.json["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0], json!({"tenantId": B.id, "state": "pending"}));
}

#[tokio::test]
async fn member_get_is_200_and_unknown_is_404_directory_object_not_found() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    sb.get(&tenants_url(B.id), &ta).await.expect(200);
    let r = sb.get(&tenants_url(C.id), &ta).await;
    r.expect(404);
    assert_eq!(r.code(), "Directory_ObjectNotFound");
    assert_eq!(
        r.message(),
        "Unable to read the company information from the directory."
    );
}

#[tokio::test]
async fn member_patch_role_on_pending_tenant_only_changes_desired_role() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    sb.call(
        "PATCH",
        &tenants_url(B.id),
        Some(&ta),
        Some(json!({"role": "owner"})),
    )
    .await
    .expect(204);
    let r = sb.get(&tenants_url(B.id), &ta).await;
    assert_eq!(r.json["role"], "member");
    assert_eq!(r.json["transitionDetails"]["desiredRole"], "owner");
    // When B joins, the desired role is applied.
    request_join(&sb, &B, A.id).await;
    eventually("B active as owner", async || {
        let r = sb.get(&tenants_url(B.id), &ta).await;
        r.json["state"] == "active" && r.json["role"] == "owner"
    })
    .await;
}

#[tokio::test]
async fn member_patch_role_on_active_tenant_applies_after_delay() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &tenants_url(B.id),
        Some(&ta),
        Some(json!({"role": "owner"})),
    )
    .await
    .expect(204);
    let r = sb.get(&tenants_url(B.id), &ta).await;
    assert_eq!(r.json["role"], "member");
    assert_eq!(r.json["transitionDetails"]["desiredRole"], "owner");
    eventually("role change", async || {
        sb.get(&tenants_url(B.id), &ta).await.json["role"] == "owner"
    })
    .await;
    assert!(sb.get(&tenants_url(B.id), &ta).await.json["transitionDetails"].is_null());
}

#[tokio::test]
async fn member_patch_display_name_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    sb.call(
        "PATCH",
        &tenants_url(B.id),
        Some(&ta),
        Some(json!({"displayName": "other"})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn join_request_default_has_zero_guid_and_null_state() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    let r = sb.get(&format!("{MTO}/joinRequest"), &tb).await;
    r.expect(200);
    assert_eq!(
        r.json["addedByTenantId"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert!(r.json["memberState"].is_null());
    assert!(r.json["role"].is_null());
    assert!(r.json["transitionDetails"].is_null());
    assert!(r.json["id"].is_string());
}

#[tokio::test]
async fn join_request_patch_is_204_pending_not_started() {
    let sb = Sandbox::build(None, Default::default(), std::time::Duration::from_secs(60));
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    request_join(&sb, &B, A.id).await;
    let tb = sb.token(&B).await;
    let r = sb.get(&format!("{MTO}/joinRequest"), &tb).await;
    assert_eq!(r.json["addedByTenantId"], A.id);
    assert_eq!(r.json["memberState"], "pending");
    assert!(r.json["role"].is_null());
    assert_eq!(r.json["transitionDetails"]["desiredMemberState"], "active");
    assert_eq!(r.json["transitionDetails"]["status"], "notStarted");
}

#[tokio::test]
async fn join_completes_after_delay_and_creates_partner_configs_in_both_tenants() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let (ta, tb) = (sb.token(&A).await, sb.token(&B).await);

    let jr = sb.get(&format!("{MTO}/joinRequest"), &tb).await;
    assert_eq!(jr.json["memberState"], "active");
    assert_eq!(jr.json["role"], "member");
    assert!(jr.json["transitionDetails"].is_null());

    // Both tenants see the same active tenants; B's singleton is active with its own id.
    let la = sb.get(&format!("{MTO}/tenants"), &ta).await.json["value"].clone();
    let lb = sb.get(&format!("{MTO}/tenants"), &tb).await.json["value"].clone();
    assert_eq!(la, lb);
    let b_row = la
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenantId"] == B.id)
        .unwrap();
    assert_eq!(b_row["state"], "active");
    assert!(b_row["joinedDateTime"].is_string());
    let (ma, mb) = (sb.get(MTO, &ta).await.json, sb.get(MTO, &tb).await.json);
    assert_eq!(mb["state"], "active");
    assert_eq!(mb["displayName"], ma["displayName"]);
    assert_ne!(mb["id"], ma["id"], "the MTO id is tenant-local");

    // Partner configuration + identity sync, both directions, flagged as in the MTO.
    for (tok, partner) in [(&ta, B.id), (&tb, A.id)] {
        let p = sb.get(&format!("{CTAP}/partners/{partner}"), tok).await;
        p.expect(200);
        assert_eq!(p.json["isInMultiTenantOrganization"], true);
        sb.get(
            &format!("{CTAP}/partners/{partner}/identitySynchronization"),
            tok,
        )
        .await
        .expect(200);
    }
}

#[tokio::test]
async fn join_of_third_tenant_creates_configs_for_every_new_pair() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B, &C]).await;
    let tc = sb.token(&C).await;
    let tb = sb.token(&B).await;
    let partners_of = async |tok: &str| -> Vec<String> {
        let mut v: Vec<String> = sb.get(&format!("{CTAP}/partners"), tok).await.json["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["tenantId"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        partners_of(&tc).await,
        vec![A.id.to_string(), B.id.to_string()]
    );
    assert_eq!(
        partners_of(&tb).await,
        vec![A.id.to_string(), C.id.to_string()]
    );
    assert_eq!(
        sb.get(&format!("{MTO}/tenants"), &tc).await.json["value"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn join_applies_templates_only_non_null_values_and_respects_levels() {
    let sb = Sandbox::new();
    let (ta, tb) = (sb.token(&A).await, sb.token(&B).await);
    let tpl = |kind: &str| format!("{CTAP}/templates/{kind}");
    // A (existing tenant) allows inbound sync + inbound consent for newcomers.
    sb.call(
        "PATCH",
        &tpl("multiTenantOrganizationPartnerConfiguration"),
        Some(&ta),
        Some(json!({"automaticUserConsentSettings": {"inboundAllowed": true, "outboundAllowed": null}})),
    )
    .await
    .expect(204);
    sb.call(
        "PATCH",
        &tpl("multiTenantOrganizationIdentitySynchronization"),
        Some(&ta),
        Some(json!({"userSyncInbound": {"isSyncAllowed": true}})),
    )
    .await
    .expect(204);
    // B (joiner) has a pre-existing partner config for A with outbound allowed, and a template
    // that only applies to new partners: it must leave the existing config alone.
    sb.call(
        "POST",
        &format!("{CTAP}/partners"),
        Some(&tb),
        Some(json!({"tenantId": A.id, "automaticUserConsentSettings": {"outboundAllowed": true}})),
    )
    .await
    .expect(201);
    sb.call(
        "PATCH",
        &tpl("multiTenantOrganizationPartnerConfiguration"),
        Some(&tb),
        Some(json!({"templateApplicationLevel": "newPartners",
                    "automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": false}})),
    )
    .await
    .expect(204);

    form_mto(&sb, &[&B]).await;

    let pa = sb.get(&format!("{CTAP}/partners/{}", B.id), &ta).await.json;
    assert_eq!(
        pa["automaticUserConsentSettings"],
        json!({"inboundAllowed": true, "outboundAllowed": null})
    );
    let sa = sb
        .get(
            &format!("{CTAP}/partners/{}/identitySynchronization", B.id),
            &ta,
        )
        .await
        .json;
    assert_eq!(sa["userSyncInbound"]["isSyncAllowed"], true);

    let pb = sb.get(&format!("{CTAP}/partners/{}", A.id), &tb).await.json;
    assert_eq!(
        pb["automaticUserConsentSettings"],
        json!({"inboundAllowed": null, "outboundAllowed": true})
    );
    assert_eq!(pb["isInMultiTenantOrganization"], true);
    // B's identity-sync template is the default (all null): no effect.
    let sbp = sb
        .get(
            &format!("{CTAP}/partners/{}/identitySynchronization", A.id),
            &tb,
        )
        .await
        .json;
    assert!(sbp["userSyncInbound"]["isSyncAllowed"].is_null(), "{sbp}");
}

#[tokio::test]
async fn join_without_being_added_fails_with_details() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    request_join(&sb, &B, A.id).await;
    let tb = sb.token(&B).await;
    eventually("join to fail", async || {
        sb.get(&format!("{MTO}/joinRequest"), &tb).await.json["transitionDetails"]["status"]
            == "failed"
    })
    .await;
    let r = sb.get(&format!("{MTO}/joinRequest"), &tb).await;
    assert_eq!(r.json["memberState"], "pending");
    assert!(
        r.json["transitionDetails"]["details"]
            .as_str()
            .unwrap()
            .contains("not added"),
        "{}",
        r.text
    );
    assert_eq!(sb.get(MTO, &tb).await.json["state"], "inactive");
}

#[tokio::test]
async fn join_while_in_another_mto_fails() {
    let sb = Sandbox::new();
    let (ta, tb) = (sb.token(&A).await, sb.token(&B).await);
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "A's"})))
        .await
        .expect(201);
    sb.call("PUT", MTO, Some(&tb), Some(json!({"displayName": "B's"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    request_join(&sb, &B, A.id).await;
    eventually("join to fail", async || {
        sb.get(&format!("{MTO}/joinRequest"), &tb).await.json["transitionDetails"]["status"]
            == "failed"
    })
    .await;
    let r = sb.get(&format!("{MTO}/joinRequest"), &tb).await;
    assert!(
        r.json["transitionDetails"]["details"]
            .as_str()
            .unwrap()
            .contains("another"),
        "{}",
        r.text
    );
    assert_eq!(sb.get(MTO, &tb).await.json["displayName"], "B's");
}

#[tokio::test]
async fn join_exceeding_100_active_tenants_fails() {
    use mto_sandbox::store::mto as smto;
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "big"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201);
    // Fill the organization with 99 more active (fake) tenants directly in the store.
    let a = A.id.to_string();
    sb.state
        .store
        .write(move |tx| {
            let (org, _) = smto::org_of_tenant(tx, &a)?.unwrap();
            for i in 0..99 {
                smto::put_member(
                    tx,
                    &smto::Member {
                        org_id: org.org_id.clone(),
                        tenant_id: format!("f0000000-0000-4000-8000-{i:012}"),
                        display_name: format!("fake {i}"),
                        role: "member".into(),
                        state: "active".into(),
                        added_ms: 0,
                        joined_ms: Some(0),
                        added_by: a.clone(),
                        transition: None,
                        local_id: Some(format!("l{i}")),
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    request_join(&sb, &B, A.id).await;
    let tb = sb.token(&B).await;
    eventually("join to fail", async || {
        sb.get(&format!("{MTO}/joinRequest"), &tb).await.json["transitionDetails"]["status"]
            == "failed"
    })
    .await;
    let r = sb.get(&format!("{MTO}/joinRequest"), &tb).await;
    assert!(
        r.json["transitionDetails"]["details"]
            .as_str()
            .unwrap()
            .contains("100"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn join_request_zero_guid_resets_a_failed_request() {
    let sb = Sandbox::new();
    request_join(&sb, &B, A.id).await; // A has no MTO: fails
    let tb = sb.token(&B).await;
    eventually("join to fail", async || {
        sb.get(&format!("{MTO}/joinRequest"), &tb).await.json["transitionDetails"]["status"]
            == "failed"
    })
    .await;
    request_join(&sb, &B, "00000000-0000-0000-0000-000000000000").await;
    let r = sb.get(&format!("{MTO}/joinRequest"), &tb).await;
    assert_eq!(
        r.json["addedByTenantId"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert!(r.json["memberState"].is_null());
    assert!(r.json["transitionDetails"].is_null());
}

#[tokio::test]
async fn member_remove_is_async_then_404_directory_object_not_found() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let (ta, tb) = (sb.token(&A).await, sb.token(&B).await);
    sb.call("DELETE", &tenants_url(B.id), Some(&ta), None)
        .await
        .expect(204);
    let r = sb.get(&tenants_url(B.id), &ta).await;
    r.expect(200);
    assert_eq!(r.json["transitionDetails"]["desiredState"], "removed");
    eventually("removal", async || {
        sb.get(&tenants_url(B.id), &ta).await.status == 404
    })
    .await;
    let r = sb.get(&tenants_url(B.id), &ta).await;
    assert_eq!(r.code(), "Directory_ObjectNotFound");
    assert_eq!(
        r.message(),
        "Unable to read the company information from the directory."
    );
    assert_eq!(sb.get(MTO, &tb).await.json["state"], "inactive");
    // Access settings stay; the MTO flag does not.
    let p = sb.get(&format!("{CTAP}/partners/{}", B.id), &ta).await;
    p.expect(200);
    assert_eq!(p.json["isInMultiTenantOrganization"], false);
}

#[tokio::test]
async fn member_can_leave_by_removing_itself() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let (ta, tb) = (sb.token(&A).await, sb.token(&B).await);
    sb.call("DELETE", &tenants_url(B.id), Some(&tb), None)
        .await
        .expect(204);
    eventually("B left", async || {
        sb.get(MTO, &tb).await.json["state"] == "inactive"
    })
    .await;
    assert_eq!(
        sb.get(&format!("{MTO}/tenants"), &ta).await.json["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn member_cannot_remove_another_tenant() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B, &C]).await;
    let tb = sb.token(&B).await;
    let r = sb.call("DELETE", &tenants_url(C.id), Some(&tb), None).await;
    r.expect(403);
}

#[tokio::test]
async fn sole_owner_cannot_leave_while_others_are_active() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let ta = sb.token(&A).await;
    let r = sb.call("DELETE", &tenants_url(A.id), Some(&ta), None).await;
    r.expect(400);
    // With a second owner it may leave.
    sb.call(
        "PATCH",
        &tenants_url(B.id),
        Some(&ta),
        Some(json!({"role": "owner"})),
    )
    .await
    .expect(204);
    eventually("B owner", async || {
        sb.get(&tenants_url(B.id), &ta).await.json["role"] == "owner"
    })
    .await;
    sb.call("DELETE", &tenants_url(A.id), Some(&ta), None)
        .await
        .expect(204);
    eventually("A left", async || {
        sb.get(MTO, &ta).await.json["state"] == "inactive"
    })
    .await;
    let tb = sb.token(&B).await;
    assert_eq!(sb.get(MTO, &tb).await.json["state"], "active");
}

#[tokio::test]
async fn creator_cannot_be_removed_by_another_owner() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &tenants_url(B.id),
        Some(&ta),
        Some(json!({"role": "owner"})),
    )
    .await
    .expect(204);
    eventually("B owner", async || {
        sb.get(&tenants_url(B.id), &ta).await.json["role"] == "owner"
    })
    .await;
    let tb = sb.token(&B).await;
    sb.call("DELETE", &tenants_url(A.id), Some(&tb), None)
        .await
        .expect(400);
}

#[tokio::test]
async fn demoting_the_last_owner_is_400() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&B]).await;
    let ta = sb.token(&A).await;
    sb.call(
        "PATCH",
        &tenants_url(A.id),
        Some(&ta),
        Some(json!({"role": "member"})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn last_tenant_leaving_deletes_the_mto() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
        .await
        .expect(201);
    add(&sb, &ta, &B).await.expect(201); // pending only
    sb.call("DELETE", &tenants_url(A.id), Some(&ta), None)
        .await
        .expect(204);
    assert_eq!(
        sb.get(MTO, &ta).await.json["state"],
        "active",
        "removal is asynchronous"
    );
    eventually("MTO gone", async || {
        sb.get(MTO, &ta).await.json["state"] == "inactive"
    })
    .await;
    assert_eq!(
        sb.get(&format!("{MTO}/tenants"), &ta).await.json["value"],
        json!([])
    );
    // A can create a new one afterwards.
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "again"})))
        .await
        .expect(201);
}

#[tokio::test]
async fn pending_join_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let sb = Sandbox::build(
            Some(dir.path()),
            Default::default(),
            std::time::Duration::from_millis(400),
        );
        let ta = sb.token(&A).await;
        sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "g"})))
            .await
            .expect(201);
        add(&sb, &ta, &B).await.expect(201);
        request_join(&sb, &B, A.id).await;
        // Dropped before the join is due: the worker stops with it.
    }
    let sb = Sandbox::build(Some(dir.path()), Default::default(), JOIN_DELAY);
    let tb = sb.token(&B).await;
    assert_eq!(
        sb.get(&format!("{MTO}/joinRequest"), &tb).await.json["memberState"],
        "pending"
    );
    eventually("join after restart", async || {
        sb.get(&format!("{MTO}/joinRequest"), &tb).await.json["memberState"] == "active"
    })
    .await;
    assert_eq!(sb.get(MTO, &tb).await.json["state"], Value::from("active"));
}

#[tokio::test]
async fn read_basic_permission_sees_only_display_name_and_tenant_id() {
    let sb = Sandbox::new();
    form_mto(&sb, &[&C]).await;
    let basic = sb.token(&BASIC_C).await;
    let m = sb.get(MTO, &basic).await;
    m.expect(200);
    let keys: Vec<&String> = m
        .json
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with('@'))
        .collect();
    assert_eq!(keys, ["displayName"]);
    let l = sb.get(&format!("{MTO}/tenants"), &basic).await;
    for row in l.json["value"].as_array().unwrap() {
        let mut k: Vec<&String> = row.as_object().unwrap().keys().collect();
        k.sort();
        assert_eq!(k, ["displayName", "tenantId"]);
    }
    sb.get(&format!("{MTO}/tenants/{}", A.id), &basic)
        .await
        .expect(403);
    sb.call(
        "PATCH",
        MTO,
        Some(&basic),
        Some(json!({"displayName": "x"})),
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn join_of_a_tenant_over_100000_internal_users_fails() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.call("PUT", MTO, Some(&ta), Some(json!({"displayName": "big"})))
        .await
        .expect(201);
    add(&sb, &ta, &C).await.expect(201);
    // C already has its seeded users: 100,000 more puts it over the limit.
    bulk_users(&sb, &C, "Contoso C", 100_000);
    request_join(&sb, &C, A.id).await;
    let tc = sb.token(&C).await;
    eventually("join to fail", async || {
        sb.get(&format!("{MTO}/joinRequest"), &tc).await.json["transitionDetails"]["status"]
            == "failed"
    })
    .await;
    let jr = sb.get(&format!("{MTO}/joinRequest"), &tc).await;
    assert_eq!(jr.json["memberState"], "pending");
    let details = jr.json["transitionDetails"]["details"].as_str().unwrap();
    assert!(details.contains("100000 internal users"), "{details}");
    assert_eq!(
        sb.get(&format!("{MTO}/tenants/{}", C.id), &ta).await.json["state"],
        "pending"
    );
}
