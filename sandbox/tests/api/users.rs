//! Users: get/list/create/update/delete and the OData query options of §9.5.

use serde_json::{Value, json};

use crate::harness::*;

fn new_user(upn: &str, name: &str) -> Value {
    json!({"accountEnabled": true, "displayName": name, "mailNickname": upn.split('@').next().unwrap(),
           "userPrincipalName": upn, "passwordProfile": {"password": "P@ssw0rd!"}})
}

async fn create(sb: &Sandbox, tok: &str, upn: &str, name: &str) -> Resp {
    sb.call("POST", "/v1.0/users", Some(tok), Some(new_user(upn, name)))
        .await
}

fn upns(r: &Resp) -> Vec<String> {
    r.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_string())
        .collect()
}

const DEFAULT_KEYS: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

#[tokio::test]
async fn user_get_by_id_and_by_upn_returns_default_property_set() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let by_upn = sb
        .get("/v1.0/users/annie@contosoa.onmicrosoft.com", &ta)
        .await;
    by_upn.expect(200);
    let id = by_upn.json["id"].as_str().unwrap().to_string();
    let mut keys: Vec<&str> = by_upn
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with('@'))
        .collect();
    keys.sort();
    assert_eq!(keys, DEFAULT_KEYS);
    assert!(
        by_upn.json["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#users/$entity")
    );
    let by_id = sb.get(&format!("/v1.0/users/{id}"), &ta).await;
    assert_eq!(by_id.json, by_upn.json);
    // Seeded ids are predictable: UUID v5 of tenant + UPN.
    assert_eq!(
        id,
        mto_sandbox::util::seed_guid(A.id, "user", "annie@contosoa.onmicrosoft.com")
    );
    assert_eq!(
        sb.get("/v1.0/users/ANNIE@contosoa.onmicrosoft.com", &ta)
            .await
            .json["id"],
        json!(id)
    );
}

#[tokio::test]
async fn user_select_returns_only_selected_properties() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.get("/v1.0/users/annie@contosoa.onmicrosoft.com?$select=displayName,accountEnabled,department", &ta).await;
    let obj = r.json.as_object().unwrap();
    assert_eq!(obj.len(), 4, "{}", r.text);
    assert_eq!(obj["department"], "R&D");
    assert_eq!(obj["accountEnabled"], true);
    assert!(
        r.json["@odata.context"]
            .as_str()
            .unwrap()
            .contains("users(displayName,accountEnabled,department)")
    );
}

#[tokio::test]
async fn user_select_unknown_property_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.get("/v1.0/users?$select=shoeSize", &ta).await;
    r.expect(400);
    assert!(r.message().contains("shoeSize"));
}

#[tokio::test]
async fn internal_users_are_members_with_null_creation_type_and_external_state() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    let r = sb.get("/v1.0/users/bob@contosob.onmicrosoft.com?$select=userType,creationType,externalUserState,accountEnabled", &tb).await;
    assert_eq!(r.json["userType"], "Member");
    assert!(r.json["creationType"].is_null());
    assert!(r.json["externalUserState"].is_null());
    let r = sb
        .get(
            "/v1.0/users/barbara@contosob.onmicrosoft.com?$select=accountEnabled",
            &tb,
        )
        .await;
    assert_eq!(r.json["accountEnabled"], false);
}

#[tokio::test]
async fn user_create_is_201_and_duplicate_upn_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = create(&sb, &ta, "zoe@contosoa.onmicrosoft.com", "Zoe").await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap();
    assert!(mto_sandbox::util::parse_guid(id).is_some());
    assert!(r.json.get("passwordProfile").is_none());
    sb.get(&format!("/v1.0/users/{id}"), &ta).await.expect(200);
    let r = create(&sb, &ta, "ZOE@contosoa.onmicrosoft.com", "Zoe again").await;
    r.expect(400);
    assert_eq!(
        r.message(),
        "Another object with the same value for property userPrincipalName already exists."
    );
}

#[tokio::test]
async fn user_create_without_required_property_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let mut body = new_user("x@contosoa.onmicrosoft.com", "X");
    body.as_object_mut().unwrap().remove("passwordProfile");
    let r = sb.call("POST", "/v1.0/users", Some(&ta), Some(body)).await;
    r.expect(400);
    assert!(r.message().contains("passwordProfile"));
    let mut body = new_user("x@contosoa.onmicrosoft.com", "X");
    body["userPrincipalName"] = json!("not a upn");
    sb.call("POST", "/v1.0/users", Some(&ta), Some(body))
        .await
        .expect(400);
}

#[tokio::test]
async fn user_patch_is_204_and_read_only_properties_are_rejected() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let u = "/v1.0/users/annie@contosoa.onmicrosoft.com";
    sb.call(
        "PATCH",
        u,
        Some(&ta),
        Some(json!({"jobTitle": "Lead", "officeLocation": "B1"})),
    )
    .await
    .expect(204);
    let r = sb
        .get(
            &format!("{u}?$select=jobTitle,officeLocation,givenName"),
            &ta,
        )
        .await;
    assert_eq!(r.json["jobTitle"], "Lead");
    assert_eq!(r.json["officeLocation"], "B1");
    assert_eq!(r.json["givenName"], "Annie");
    sb.call("PATCH", u, Some(&ta), Some(json!({"id": "x"})))
        .await
        .expect(400);
    sb.call("PATCH", u, Some(&ta), Some(json!({"nonsense": "x"})))
        .await
        .expect(400);
    sb.call(
        "PATCH",
        "/v1.0/users/nobody@contosoa.onmicrosoft.com",
        Some(&ta),
        Some(json!({"jobTitle": "x"})),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn user_delete_is_204_and_user_moves_to_deleted_items() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let id = create(&sb, &ta, "del@contosoa.onmicrosoft.com", "Del")
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    sb.call("DELETE", &format!("/v1.0/users/{id}"), Some(&ta), None)
        .await
        .expect(204);
    let r = sb.get(&format!("/v1.0/users/{id}"), &ta).await;
    r.expect(404);
    assert_eq!(r.code(), "Request_ResourceNotFound");
    let d = sb
        .get(&format!("/v1.0/directory/deletedItems/{id}"), &ta)
        .await;
    d.expect(200);
    assert!(d.json["deletedDateTime"].as_str().unwrap().ends_with('Z'));
    let list = sb
        .get("/v1.0/directory/deletedItems/microsoft.graph.user", &ta)
        .await;
    assert_eq!(list.json["value"][0]["id"], json!(id));
    assert_eq!(
        list.json["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    // The UPN is free again.
    create(&sb, &ta, "del@contosoa.onmicrosoft.com", "Del 2")
        .await
        .expect(201);
}

#[tokio::test]
async fn user_filter_supports_eq_startswith_and_or() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    let q = |f: &str| format!("/v1.0/users?$filter={}", f.replace(' ', "%20"));
    assert_eq!(
        upns(
            &sb.get(
                &q("userPrincipalName eq 'BOB@contosob.onmicrosoft.com'"),
                &tb
            )
            .await
        ),
        ["bob@contosob.onmicrosoft.com"]
    );
    assert_eq!(
        upns(&sb.get(&q("startswith(displayName,'bar')"), &tb).await),
        ["barbara@contosob.onmicrosoft.com"]
    );
    assert_eq!(
        upns(&sb.get(&q("accountEnabled eq false"), &tb).await),
        ["barbara@contosob.onmicrosoft.com"]
    );
    let mut both = upns(
        &sb.get(
            &q("mail eq 'bob@contosob.com' or startswith(userPrincipalName,'barb')"),
            &tb,
        )
        .await,
    );
    both.sort();
    assert_eq!(
        both,
        [
            "barbara@contosob.onmicrosoft.com",
            "bob@contosob.onmicrosoft.com"
        ]
    );
    assert!(
        upns(
            &sb.get(
                &q("userType eq 'Member' and accountEnabled eq true and displayName eq 'Nobody'"),
                &tb
            )
            .await
        )
        .is_empty()
    );
    assert_eq!(
        upns(
            &sb.get(&q("id eq 'bbbbbbbb-3333-4000-8000-000000000001'"), &tb)
                .await
        ),
        ["bob@contosob.onmicrosoft.com"]
    );
}

#[tokio::test]
async fn user_filter_on_unsupported_property_or_operator_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb.get("/v1.0/users?$filter=aboutMe%20eq%20'x'", &ta).await;
    r.expect(400);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    sb.get("/v1.0/users?$filter=displayName%20gt%20'x'", &ta)
        .await
        .expect(400);
    sb.get("/v1.0/users?$filter=displayName%20eq", &ta)
        .await
        .expect(400);
    // ne is an advanced query.
    sb.get("/v1.0/users?$filter=displayName%20ne%20'x'", &ta)
        .await
        .expect(400);
}

#[tokio::test]
async fn user_top_pages_with_full_next_link() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    for i in 0..5 {
        create(
            &sb,
            &ta,
            &format!("p{i}@contosoa.onmicrosoft.com"),
            &format!("Page {i}"),
        )
        .await
        .expect(201);
    }
    let mut seen = Vec::new();
    let mut url = "/v1.0/users?$top=2&$select=userPrincipalName".to_string();
    let mut pages = 0;
    loop {
        let r = sb.get(&url, &ta).await;
        r.expect(200);
        pages += 1;
        let page = upns(&r);
        assert!(page.len() <= 2);
        seen.extend(page);
        match r.json["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with("http://sandbox.test/v1.0/users?$skiptoken="),
                    "{next}"
                );
                url = next.trim_start_matches("http://sandbox.test").to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 6);
}

#[tokio::test]
async fn top_outside_1_to_999_is_400() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    sb.get("/v1.0/users?$top=1000", &ta).await.expect(400);
    sb.get("/v1.0/users?$top=0", &ta).await.expect(400);
    sb.get("/v1.0/users?$top=999", &ta).await.expect(200);
}

#[tokio::test]
async fn user_search_requires_consistency_level_eventual() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    let r = sb
        .get("/v1.0/users?$search=%22displayName:bob%22", &tb)
        .await;
    r.expect(400);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
}

async fn get_eventual(sb: &Sandbox, uri: &str, tok: &str) -> Resp {
    let req = axum::http::Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {tok}"))
        .header("ConsistencyLevel", "eventual")
        .header("host", "sandbox.test")
        .body(axum::body::Body::empty())
        .unwrap();
    sb.send(req).await
}

#[tokio::test]
async fn user_search_matches_words_of_display_name_mail_and_upn() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    let r = get_eventual(&sb, "/v1.0/users?$search=%22displayName:bell%22", &tb).await;
    assert_eq!(upns(&r), ["barbara@contosob.onmicrosoft.com"]);
    let r = get_eventual(&sb, "/v1.0/users?$search=%22displayName:ell%22", &tb).await;
    assert!(
        upns(&r).is_empty(),
        "search matches word prefixes, not substrings"
    );
    let mut both = upns(
        &get_eventual(
            &sb,
            "/v1.0/users?$search=%22mail:bob%22%20OR%20%22userPrincipalName:barbara%22",
            &tb,
        )
        .await,
    );
    both.sort();
    assert_eq!(
        both,
        [
            "barbara@contosob.onmicrosoft.com",
            "bob@contosob.onmicrosoft.com"
        ]
    );
}

#[tokio::test]
async fn user_count_true_adds_odata_count_on_first_page_only() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    sb.get("/v1.0/users?$count=true", &tb).await.expect(400);
    let r = get_eventual(&sb, "/v1.0/users?$count=true&$top=1", &tb).await;
    r.expect(200);
    assert_eq!(r.json["@odata.count"], 2);
    let next = r.json["@odata.nextLink"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://sandbox.test")
        .to_string();
    let r2 = get_eventual(&sb, &next, &tb).await;
    assert!(r2.json.get("@odata.count").is_none());
    assert_eq!(r2.json["value"].as_array().unwrap().len(), 1);
    // With ne (advanced query) allowed now.
    let r = get_eventual(
        &sb,
        "/v1.0/users?$count=true&$filter=accountEnabled%20ne%20false",
        &tb,
    )
    .await;
    assert_eq!(upns(&r), ["bob@contosob.onmicrosoft.com"]);
}

#[tokio::test]
async fn users_dollar_count_is_plain_text() {
    let sb = Sandbox::new();
    let tb = sb.token(&B).await;
    sb.get("/v1.0/users/$count", &tb).await.expect(400);
    let r = get_eventual(&sb, "/v1.0/users/$count", &tb).await;
    r.expect(200);
    assert_eq!(r.text, "2");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let r = get_eventual(
        &sb,
        "/v1.0/users/$count?$filter=accountEnabled%20eq%20true",
        &tb,
    )
    .await;
    assert_eq!(r.text, "1");
}

#[tokio::test]
async fn beta_serves_the_same_users() {
    let sb = Sandbox::new();
    let ta = sb.token(&A).await;
    let r = sb
        .get("/beta/users/annie@contosoa.onmicrosoft.com", &ta)
        .await;
    r.expect(200);
    assert!(
        r.json["@odata.context"]
            .as_str()
            .unwrap()
            .contains("/beta/$metadata#users")
    );
}
