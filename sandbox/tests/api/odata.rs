//! OData as Graph does it on the served collections: `$orderby`, `any()` lambdas, `in`,
//! `eq null`, unknown system query options, and `$batch` inner URLs written unencoded.

use serde_json::{Value, json};

use crate::harness::*;

fn names(r: &Resp) -> Vec<String> {
    r.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["displayName"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn users_of_a(sb: &Sandbox, tok: &str) {
    for (upn, name, extra) in [
        (
            "zed@contosoa.onmicrosoft.com",
            "Zed Zimmer",
            json!({"identities": [{"signInType": "emailAddress", "issuer": "contoso.com", "issuerAssignedId": "zed@contoso.com"}]}),
        ),
        (
            "mia@contosoa.onmicrosoft.com",
            "Mia Moss",
            json!({"otherMails": ["mia@home.example"]}),
        ),
    ] {
        let mut body = json!({"accountEnabled": true, "displayName": name, "mailNickname": upn.split('@').next().unwrap(), "userPrincipalName": upn, "passwordProfile": {"password": "x!Y12345"}});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sb.call("POST", "/v1.0/users", Some(tok), Some(body))
            .await
            .expect(201);
    }
}

#[tokio::test]
async fn orderby_display_name_sorts_both_ways_and_pages_in_order() {
    let sb = Sandbox::new();
    let tok = sb.token(&A).await;
    users_of_a(&sb, &tok).await;
    let r = sb
        .get(
            "/v1.0/users?$orderby=displayName%20desc&$select=displayName",
            &tok,
        )
        .await;
    r.expect(200);
    assert_eq!(names(&r), ["Zed Zimmer", "Mia Moss", "Annie Archer"]);
    let r = sb
        .get("/v1.0/users?$orderby=displayName&$select=displayName", &tok)
        .await;
    assert_eq!(names(&r), ["Annie Archer", "Mia Moss", "Zed Zimmer"]);
    // Paging keeps the order.
    let r = sb
        .get("/v1.0/users?$orderby=displayName%20desc&$top=2", &tok)
        .await;
    assert_eq!(names(&r), ["Zed Zimmer", "Mia Moss"]);
    let next = r.json["@odata.nextLink"]
        .as_str()
        .unwrap()
        .strip_prefix(BASE_URL)
        .unwrap()
        .to_string();
    let r = sb.get(&next, &tok).await;
    r.expect(200);
    assert_eq!(names(&r), ["Annie Archer"]);
    assert!(r.json.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn orderby_graph_refuses_is_a_graph_shaped_400() {
    let sb = Sandbox::new();
    let tok = sb.token(&A).await;
    // A property Graph does not sort users by.
    let r = sb.get("/v1.0/users?$orderby=jobTitle", &tok).await;
    r.expect(400);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    assert_eq!(r.message(), "Sorting not supported for current query.");
    // With $filter only as an advanced query.
    let q = "/v1.0/users?$filter=accountEnabled%20eq%20true&$orderby=displayName";
    let r = sb.get(q, &tok).await;
    r.expect(400);
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    let r = sb.get_eventual(&format!("{q}&$count=true"), &tok).await;
    r.expect(200);
    assert_eq!(r.json["@odata.count"], 1);
    // No such property; bad direction.
    let r = sb.get("/v1.0/users?$orderby=nope", &tok).await;
    r.expect(400);
    assert!(r.message().contains("'nope'"), "{}", r.text);
    sb.get("/v1.0/users?$orderby=displayName%20sideways", &tok)
        .await
        .expect(400);
}

#[tokio::test]
async fn identities_and_other_mails_any_lambdas_filter_users() {
    let sb = Sandbox::new();
    let tok = sb.token(&A).await;
    users_of_a(&sb, &tok).await;
    let q = "/v1.0/users?$filter=identities/any(c:c/issuerAssignedId eq 'zed@contoso.com' and c/issuer eq 'contoso.com')&$select=displayName";
    let r = sb.get(&q.replace(' ', "%20"), &tok).await;
    r.expect(200);
    assert_eq!(names(&r), ["Zed Zimmer"]);
    let q = "/v1.0/users?$filter=identities/any(c:c/issuer eq 'other.com')";
    assert!(names(sb.get(&q.replace(' ', "%20"), &tok).await.expect(200)).is_empty());
    let q = "/v1.0/users?$filter=otherMails/any(m:startswith(m,'MIA@'))&$select=displayName";
    assert_eq!(
        names(sb.get(&q.replace(' ', "%20"), &tok).await.expect(200)),
        ["Mia Moss"]
    );
    // `in`, `eq null`, lambdas combined.
    let q = "/v1.0/users?$filter=displayName in ('Mia Moss','Annie Archer') and jobTitle eq null&$select=displayName";
    assert_eq!(
        names(sb.get(&q.replace(' ', "%20"), &tok).await.expect(200)),
        ["Mia Moss"]
    );
    // Lambda bodies may only look at their variable; multi-valued properties only through any().
    for bad in [
        "identities/any(c:displayName eq 'x')",
        "identities/any(c c/issuer eq 'x')",
        "otherMails eq 'x'",
        "identities/all(c:c/issuer eq 'x')",
        "department/any(d:d eq 'x')",
    ] {
        let r = sb
            .get(
                &format!("/v1.0/users?$filter={}", bad.replace(' ', "%20")),
                &tok,
            )
            .await;
        r.expect(400);
        assert!(
            r.code() == "BadRequest" || r.code() == "Request_UnsupportedQuery",
            "{bad}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn group_types_and_service_principal_tags_lambdas() {
    let sb = Sandbox::new();
    let tok = sb.token(&A).await;
    let q = "/v1.0/groups?$filter=groupTypes/any(c:c eq 'Unified')";
    assert!(names(sb.get(&q.replace(' ', "%20"), &tok).await.expect(200)).is_empty());
    let q = "/v1.0/groups?$filter=NOT groupTypes/any(c:c eq 'Unified')&$count=true";
    let r = sb.get_eventual(q, &tok).await;
    r.expect(200);
    assert_eq!(names(&r), ["Shared with MTO"]);
    let s = configure(&sb, &A, &B).await;
    let q = "/v1.0/servicePrincipals?$filter=tags/any(t:t eq 'WindowsAzureActiveDirectoryIntegratedApp')&$select=id";
    let r = sb.get(&q.replace(' ', "%20"), &tok).await;
    r.expect(200);
    assert_eq!(r.json["value"][0]["id"], s.sp.as_str());
}

#[tokio::test]
async fn unknown_or_misspelt_system_query_options_are_refused() {
    let sb = Sandbox::new();
    let tok = sb.token(&A).await;
    for q in [
        "/v1.0/users?$filtr=displayName%20eq%20'x'",
        "/v1.0/users?$topp=1",
        "/beta/groups?$Selec=id",
    ] {
        let r = sb.get(q, &tok).await;
        r.expect(400);
        assert_eq!(r.code(), "Request_BadRequest", "{q}");
        assert!(
            r.message()
                .starts_with("Unrecognized query argument specified: '$"),
            "{}",
            r.text
        );
    }
    // Known options a route does not serve are refused too, not ignored.
    let r = sb
        .get(
            "/v1.0/policies/crossTenantAccessPolicy/partners?$top=1",
            &tok,
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "BadRequest");
    // Option names are case-insensitive; non-`$` parameters are not options.
    sb.get("/v1.0/users?$TOP=1&$Select=id&api-version=1", &tok)
        .await
        .expect(200);
}

#[tokio::test]
async fn batch_inner_urls_may_be_written_unencoded() {
    let sb = Sandbox::new();
    let tok = sb.token(&A).await;
    users_of_a(&sb, &tok).await;
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users?$filter=displayName eq 'Annie Archer'&$select=displayName"},
        {"id": "2", "method": "GET", "url": "/users?$orderby=displayName desc&$select=displayName"},
        {"id": "3", "method": "GET", "url": "users?$filter=identities/any(c:c/issuerAssignedId eq 'zed@contoso.com' and c/issuer eq 'contoso.com')&$select=displayName"},
        {"id": "4", "method": "GET", "url": "/users?$search=\"displayName:mia\"&$select=displayName", "headers": {"ConsistencyLevel": "eventual"}},
        {"id": "5", "method": "GET", "url": "/users?$filtr=x eq 1"},
    ]});
    let r = sb
        .call("POST", "/v1.0/$batch", Some(&tok), Some(body))
        .await;
    r.expect(200);
    let by_id = |id: &str| -> Value {
        r.json["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    let inner_names = |v: &Value| -> Vec<String> {
        v["body"]["value"]
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|u| u["displayName"].as_str().unwrap().to_string())
            .collect()
    };
    for id in ["1", "2", "3", "4"] {
        assert_eq!(by_id(id)["status"], 200, "{id}: {}", by_id(id));
    }
    assert_eq!(inner_names(&by_id("1")), ["Annie Archer"]);
    assert_eq!(
        inner_names(&by_id("2")),
        ["Zed Zimmer", "Mia Moss", "Annie Archer"]
    );
    assert_eq!(inner_names(&by_id("3")), ["Zed Zimmer"]);
    assert_eq!(inner_names(&by_id("4")), ["Mia Moss"]);
    assert_eq!(by_id("5")["status"], 400);
    assert_eq!(by_id("5")["body"]["error"]["code"], "Request_BadRequest");
}

#[tokio::test]
async fn hostile_lambdas_and_in_lists_are_400_not_a_crash() {
    let sb = Sandbox::new();
    let tok = sb.token(&A).await;
    for f in [
        format!(
            "{}c eq 'x'{}",
            "identities/any(c:".repeat(3000),
            ")".repeat(3000)
        ),
        format!("displayName in ({})", vec!["'x'"; 3000].join(",")),
        "identities/any(c:c/issuer eq 'x' and c/issuerAssignedId/any(d:d eq 'y'))".to_string(),
    ] {
        let url = format!("/v1.0/users?$filter={}", f.replace(' ', "%20"));
        let r = sb.get(&url, &tok).await;
        r.expect(400);
    }
    sb.get("/v1.0/users", &tok).await.expect(200);
}
