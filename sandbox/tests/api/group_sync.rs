//! Group provisioning of cross-tenant synchronization (§5.5): security groups of A shared with B
//! through the schema's Group object mapping, with their in-scope members.

use serde_json::json;

use crate::harness::*;

const TEAM: &str = "Platform Team";

/// Allow groups from A into B (the beta identity-sync property).
async fn allow_groups(sb: &Sandbox, allowed: bool) {
    let tb = sb.token(&B).await;
    sb.call(
        "PATCH",
        &format!(
            "/beta/policies/crossTenantAccessPolicy/partners/{}/identitySynchronization",
            A.id
        ),
        Some(&tb),
        Some(json!({"userSyncInbound": {"isSyncAllowed": true},
            "groupSyncInbound": {"isSyncAllowed": allowed}})),
    )
    .await
    .expect(204);
}

/// A→B share with the group mapping enabled and the group `TEAM` (members: Annie and Greta)
/// assigned. Returns the share and the source group id.
async fn share_team(sb: &Sandbox, allowed: bool) -> (Share, String) {
    grant_group_writer(sb);
    allow_sync(sb, &A, &B).await;
    allow_groups(sb, allowed).await;
    let s = configure(sb, &A, &B).await;
    edit_group_mapping(sb, &s, |m| m["enabled"] = json!(true)).await;
    let team = create_group(sb, TEAM).await;
    let greta = create_user(sb, &A, "greta@contosoa.onmicrosoft.com", "Greta", json!({})).await;
    add_member(sb, &team, &annie_id()).await.expect(204);
    add_member(sb, &team, &greta).await.expect(204);
    assign(sb, &A, &s, &team).await.expect(201);
    start(sb, &A, &s).await;
    (s, team)
}

async fn team_in_b(sb: &Sandbox) -> serde_json::Value {
    group_in(sb, &B, TEAM).await.expect("the group in B")
}

#[tokio::test]
async fn the_group_mapping_ships_disabled_with_display_name_description_nickname_and_members() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let schema = schema_of(&sb, &s).await;
    let m = &schema["synchronizationRules"][0]["objectMappings"][1];
    assert_eq!(m["name"], "Provision Microsoft Entra ID Groups");
    assert_eq!(m["sourceObjectName"], "Group");
    assert_eq!(m["enabled"], false);
    let targets: Vec<&str> = m["attributeMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["targetAttributeName"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        ["displayName", "description", "mailNickname", "members"]
    );
}

#[tokio::test]
async fn a_shared_security_group_appears_in_the_target_with_its_in_scope_members() {
    let sb = Sandbox::new();
    let (s, _) = share_team(&sb, true).await;
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["state"], "Succeeded", "{r}");
    assert_eq!(r["groupsCreated"], 1);
    let g = team_in_b(&sb).await;
    assert_eq!(g["securityEnabled"], true);
    assert_eq!(g["mailEnabled"], false);
    assert_eq!(g["mailNickname"], "PlatformTeam");
    assert_eq!(
        member_upns(&sb, &B, g["id"].as_str().unwrap()).await,
        vec![
            ANNIE_IN_B.to_string(),
            in_b("greta@contosoa.onmicrosoft.com")
        ]
    );
    let j = job(&sb, &s).await;
    assert_eq!(
        j["status"]["synchronizedEntryCountByType"],
        json!([{"key": "User", "value": 2}, {"key": "Group", "value": 1}])
    );
    // Steady state: nothing more to do.
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["countExported"], 0);
}

#[tokio::test]
async fn a_member_added_through_ref_appears_in_the_target_group_after_a_cycle() {
    let sb = Sandbox::new();
    let (_, team) = share_team(&sb, true).await;
    run_sync(&sb).await;
    let hugo = create_user(&sb, &A, "hugo@contosoa.onmicrosoft.com", "Hugo", json!({})).await;
    add_member(&sb, &team, &hugo).await.expect(204);
    let gid = team_in_b(&sb).await["id"].as_str().unwrap().to_string();
    assert_eq!(
        member_upns(&sb, &B, &gid).await.len(),
        2,
        "not before a cycle"
    );
    run_sync(&sb).await;
    assert!(
        member_upns(&sb, &B, &gid)
            .await
            .contains(&in_b("hugo@contosoa.onmicrosoft.com"))
    );
}

#[tokio::test]
async fn a_member_removed_in_the_source_leaves_the_target_group() {
    let sb = Sandbox::new();
    let (s, team) = share_team(&sb, true).await;
    run_sync(&sb).await;
    remove_member(&sb, &team, &annie_id()).await.expect(204);
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["groupsUpdated"], 1, "{r}");
    assert_eq!(r["deleted"], 1, "Annie left the scope (§6.8)");
    let gid = team_in_b(&sb).await["id"].as_str().unwrap().to_string();
    assert_eq!(
        member_upns(&sb, &B, &gid).await,
        vec![in_b("greta@contosoa.onmicrosoft.com")]
    );
}

#[tokio::test]
async fn nested_groups_are_not_followed() {
    let sb = Sandbox::new();
    let (_, team) = share_team(&sb, true).await;
    let inner = create_group(&sb, "Inner Circle").await;
    let ivy = create_user(&sb, &A, "ivy@contosoa.onmicrosoft.com", "Ivy", json!({})).await;
    add_member(&sb, &inner, &ivy).await.expect(204);
    add_member(&sb, &team, &inner).await.expect(204);
    run_sync(&sb).await;
    assert!(
        group_in(&sb, &B, "Inner Circle").await.is_none(),
        "not assigned"
    );
    assert!(
        user_in(&sb, &B, &in_b("ivy@contosoa.onmicrosoft.com"))
            .await
            .is_none(),
        "members of a nested group are not in scope"
    );
    let gid = team_in_b(&sb).await["id"].as_str().unwrap().to_string();
    assert_eq!(member_upns(&sb, &B, &gid).await.len(), 2);
}

#[tokio::test]
async fn a_group_leaving_the_scope_is_deleted_in_the_target() {
    let sb = Sandbox::new();
    let (s, _) = share_team(&sb, true).await;
    run_sync(&sb).await;
    let gid = team_in_b(&sb).await["id"].as_str().unwrap().to_string();
    edit_group_mapping(&sb, &s, |m| {
        m["scope"] = scope_filter(&[("displayName", "EQUALS", "Another name")]);
    })
    .await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["groupsDeleted"], 1);
    let tb = sb.token(&B).await;
    sb.get(&format!("/v1.0/groups/{gid}"), &tb)
        .await
        .expect(404);
}

#[tokio::test]
async fn microsoft_365_groups_are_not_provisioned() {
    let sb = Sandbox::new();
    let (s, _) = share_team(&sb, true).await;
    let r = post_group(
        &sb,
        &GROUPS_A,
        json!({"displayName": "Lunch", "mailEnabled": true, "mailNickname": "lunch",
                "securityEnabled": false, "groupTypes": ["Unified"]}),
    )
    .await;
    r.expect(201);
    assign(&sb, &A, &s, r.json["id"].as_str().unwrap())
        .await
        .expect(201);
    run_sync(&sb).await;
    assert!(group_in(&sb, &B, "Lunch").await.is_none());
}

#[tokio::test]
async fn group_sync_refused_by_the_target_is_reported_by_the_job() {
    let sb = Sandbox::new();
    let (s, _) = share_team(&sb, false).await;
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["state"], "EntryLevelErrors", "{r}");
    assert_eq!(
        r["error"]["code"],
        "AzureDirectoryB2BManagementPolicyCheckFailure"
    );
    assert!(group_in(&sb, &B, TEAM).await.is_none());
    assert!(
        user_in(&sb, &B, ANNIE_IN_B).await.is_some(),
        "users still sync"
    );
    let j = job(&sb, &s).await;
    let last = &j["status"]["lastExecution"];
    assert_eq!(last["state"], "EntryLevelErrors");
    assert_eq!(last["countEscrowed"], 1);
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("groupSyncInbound.isSyncAllowed"),
        "{last}"
    );
    assert_eq!(j["status"]["code"], "Active", "not a quarantine");
    // Once allowed, the next cycle provisions the group.
    allow_groups(&sb, true).await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["state"], "Succeeded");
    assert!(group_in(&sb, &B, TEAM).await.is_some());
}
