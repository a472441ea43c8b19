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
