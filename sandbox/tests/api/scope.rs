//! Who is shared (§6.6–§6.8): `SyncAll`, scoping filters on the user mapping, and the mapping
//! expressions the engine evaluates.

use serde_json::{Value, json};

use crate::harness::*;

/// A share from A to B of every internal member (`SyncAll`), started; Annie is assigned so the
/// configuration has an assignment, as Entra asks.
async fn share_all(sb: &Sandbox) -> Share {
    allow_sync(sb, &A, &B).await;
    let s = configure(sb, &A, &B).await;
    put_secret(sb, &s, "SyncAll", "true").await;
    assign(sb, &A, &s, &annie_id()).await.expect(201);
    start(sb, &A, &s).await;
    s
}

/// Engineers Erin and Eli, Sam in Sales (Annie is in R&D).
async fn staff(sb: &Sandbox) -> (String, String, String) {
    let mk = |upn: &'static str, name: &'static str, dept: &'static str| async move {
        create_user(sb, &A, upn, name, json!({"department": dept})).await
    };
    (
        mk("erin@contosoa.onmicrosoft.com", "Erin Eng", "Engineering").await,
        mk("eli@contosoa.onmicrosoft.com", "Eli Eng", "Engineering").await,
        mk("sam@contosoa.onmicrosoft.com", "Sam Sales", "Sales").await,
    )
}

async fn engineering_only(sb: &Sandbox, s: &Share) {
    edit_user_mapping(sb, s, |m| {
        m["scope"] = scope_filter(&[("department", "EQUALS", "Engineering")]);
    })
    .await;
}

/// The `#EXT#` users of B, sorted.
async fn b2b_in_b(sb: &Sandbox) -> Vec<String> {
    let tb = sb.token(&B).await;
    let r = sb
        .get("/v1.0/users?$select=userPrincipalName&$top=999", &tb)
        .await;
    let mut v: Vec<String> = r.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["userPrincipalName"].as_str())
        .filter(|u| u.contains("#EXT#"))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

async fn patch_user(sb: &Sandbox, id: &str, body: Value) {
    let ta = sb.token(&A).await;
    sb.call("PATCH", &format!("/v1.0/users/{id}"), Some(&ta), Some(body))
        .await
        .expect(204);
}

#[tokio::test]
async fn sync_all_with_department_equals_engineering_provisions_exactly_the_engineers() {
    let sb = Sandbox::new();
    staff(&sb).await;
    let s = share_all(&sb).await;
    engineering_only(&sb, &s).await;
    let reports = run_sync(&sb).await;
    let r = report(&reports, &s);
    assert_eq!(r["state"], "Succeeded", "{r}");
    assert_eq!(r["countEntitled"], 2, "{r}");
    assert_eq!(
        b2b_in_b(&sb).await,
        vec![
            in_b("eli@contosoa.onmicrosoft.com"),
            in_b("erin@contosoa.onmicrosoft.com")
        ],
        "Annie (assigned, R&D) and Sam (Sales) fail the filter"
    );
}

#[tokio::test]
async fn a_user_whose_department_changes_to_engineering_arrives_after_the_next_cycle() {
    let sb = Sandbox::new();
    let (_, _, sam) = staff(&sb).await;
    let s = share_all(&sb).await;
    engineering_only(&sb, &s).await;
    run_sync(&sb).await;
    let sam_in_b = in_b("sam@contosoa.onmicrosoft.com");
    assert!(user_in(&sb, &B, &sam_in_b).await.is_none());
    patch_user(&sb, &sam, json!({"department": "Engineering"})).await;
    assert!(
        user_in(&sb, &B, &sam_in_b).await.is_none(),
        "not before a cycle"
    );
    run_sync(&sb).await;
    let u = user_in(&sb, &B, &sam_in_b).await.expect("Sam in B");
    assert_eq!(u["department"], "Engineering");
}

#[tokio::test]
async fn a_user_who_leaves_the_filter_is_soft_deleted_and_restored_when_back() {
    let sb = Sandbox::new();
    let (erin, _, _) = staff(&sb).await;
    let s = share_all(&sb).await;
    engineering_only(&sb, &s).await;
    run_sync(&sb).await;
    let erin_in_b = in_b("erin@contosoa.onmicrosoft.com");
    let target = user_in(&sb, &B, &erin_in_b).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    patch_user(&sb, &erin, json!({"department": "Marketing"})).await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["deleted"], 1);
    assert!(user_in(&sb, &B, &erin_in_b).await.is_none());
    assert!(deleted_in(&sb, &B, &target).await, "soft-deleted (§6.8)");
    patch_user(&sb, &erin, json!({"department": "Engineering"})).await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["restored"], 1);
    let back = user_in(&sb, &B, &erin_in_b).await.expect("restored");
    assert_eq!(back["id"], target.as_str(), "the same object, restored");
}

#[tokio::test]
async fn the_filter_applies_to_assigned_users_too() {
    let sb = Sandbox::new();
    let (erin, _, sam) = staff(&sb).await;
    allow_sync(&sb, &A, &B).await;
    let s = configure(&sb, &A, &B).await;
    for u in [&erin, &sam] {
        assign(&sb, &A, &s, u).await.expect(201);
    }
    engineering_only(&sb, &s).await;
    start(&sb, &A, &s).await;
    run_sync(&sb).await;
    assert_eq!(
        b2b_in_b(&sb).await,
        vec![in_b("erin@contosoa.onmicrosoft.com")],
        "assigned-only scope, then the filter; Eli is not assigned"
    );
}

#[tokio::test]
async fn provision_on_demand_reports_a_failed_scoping_filter() {
    let sb = Sandbox::new();
    let (_, _, sam) = staff(&sb).await;
    let s = share_all(&sb).await;
    engineering_only(&sb, &s).await;
    let ta = sb.token(&A).await;
    let rule = schema_of(&sb, &s).await["synchronizationRules"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = sb
        .call(
            "POST",
            &format!("{}/provisionOnDemand", s.job_path()),
            Some(&ta),
            Some(json!({"parameters": [{"ruleId": rule,
                "subjects": [{"objectId": sam, "objectTypeName": "User"}]}]})),
        )
        .await;
    r.expect(200);
    let steps: Vec<Value> = on_demand_reports(&r)[0]["provisioningSteps"]
        .as_array()
        .unwrap()
        .clone();
    let scoping = steps
        .iter()
        .find(|s| s["name"] == "EntrySynchronizationScoping")
        .unwrap();
    assert_eq!(scoping["status"], "Skipped");
    assert_eq!(
        scoping["details"]["Scoping filter evaluation passed"],
        "False"
    );
}

#[tokio::test]
async fn switching_sync_all_back_to_assigned_takes_effect_at_restart() {
    let sb = Sandbox::new();
    staff(&sb).await;
    let s = share_all(&sb).await;
    run_sync(&sb).await;
    assert_eq!(b2b_in_b(&sb).await.len(), 4, "everyone, Annie included");
    put_secret(&sb, &s, "SyncAll", "false").await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["deleted"], 0, "§6.7: needs a restart");
    assert_eq!(b2b_in_b(&sb).await.len(), 4);
    let ta = sb.token(&A).await;
    sb.call(
        "POST",
        &format!("{}/restart", s.job_path()),
        Some(&ta),
        Some(json!({"criteria": {"resetScope": "Watermark"}})),
    )
    .await
    .expect(204);
    let reports = run_sync(&sb).await;
    assert_eq!(
        report(&reports, &s)["deleted"],
        3,
        "only assigned Annie stays"
    );
    assert_eq!(b2b_in_b(&sb).await, vec![ANNIE_IN_B.to_string()]);
    assert!(
        job(&sb, &s).await.get("_syncAllInEffect").is_none(),
        "private state is not returned"
    );
}

#[tokio::test]
async fn a_filter_on_user_type_is_refused_at_put_schema_naming_the_attribute() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let before = schema_of(&sb, &s).await;
    for attr in [
        "userType",
        "manager",
        "employeeHireDate",
        "appRoleAssignments",
    ] {
        let mut schema = before.clone();
        schema["synchronizationRules"][0]["objectMappings"][0]["scope"] =
            scope_filter(&[(attr, "EQUALS", "Member")]);
        let r = put_schema(&sb, &s, &schema).await;
        r.expect(400);
        assert_eq!(r.code(), "schemaInvalid", "{attr}");
        assert!(
            r.message().contains(&format!("'{attr}'")),
            "{}",
            r.message()
        );
    }
    assert_eq!(schema_of(&sb, &s).await, before, "nothing stored");
}

#[tokio::test]
async fn malformed_filters_unknown_operators_and_bad_regexes_are_400() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let before = schema_of(&sb, &s).await;
    let try_scope = |scope: Value| {
        let mut schema = before.clone();
        schema["synchronizationRules"][0]["objectMappings"][0]["scope"] = scope;
        schema
    };
    let r = put_schema(
        &sb,
        &s,
        &try_scope(scope_filter(&[("department", "LIKE", "x")])),
    )
    .await;
    r.expect(400);
    assert_eq!(r.code(), "schemaInvalid");
    assert!(r.message().contains("'LIKE'"), "{}", r.message());
    let r = put_schema(
        &sb,
        &s,
        &try_scope(scope_filter(&[("department", "REGEX MATCH", "(open")])),
    )
    .await;
    assert_eq!(r.code(), "schemaInvalid");
    let r = put_schema(&sb, &s, &try_scope(json!({"groups": [{"clauses": "x"}]}))).await;
    r.expect(400);
    assert_eq!(r.code(), "BadRequest");
    let r = put_schema(
        &sb,
        &s,
        &try_scope(scope_filter(&[("shoeSize", "EQUALS", "9")])),
    )
    .await;
    assert_eq!(r.code(), "schemaInvalid");
    assert!(r.message().contains("'shoeSize'"));
    // Every documented operator name is accepted, with spaces or underscores.
    for op in [
        "EQUALS",
        "NOT_EQUALS",
        "IS TRUE",
        "IS_NOT_NULL",
        "REGEX MATCH",
        "Greater_Than_OR_EQUALS",
        "Includes",
        "ENDS_WITH",
        "&",
        "!&",
    ] {
        let v = if op.starts_with("IS") { "" } else { "1" };
        put_schema(&sb, &s, &try_scope(scope_filter(&[("employeeId", op, v)])))
            .await
            .expect(204);
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions

/// Map `target` from a Function source with `expression`.
fn set_expression(mapping: &mut Value, target: &str, expression: &str) {
    let name = expression.split('(').next().unwrap_or("").to_string();
    let m = mapping["attributeMappings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["targetAttributeName"] == target)
        .unwrap();
    m["source"] =
        json!({"type": "Function", "name": name, "expression": expression, "parameters": []});
}

/// Annie's value of `target` in B after mapping it with `expression`.
async fn annie_with(expression: &str, target: &str) -> Value {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    edit_user_mapping(&sb, &s, |m| set_expression(m, target, expression)).await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["state"], "Succeeded");
    user_in(&sb, &B, ANNIE_IN_B).await.expect("Annie in B")[target].clone()
}

#[tokio::test]
async fn expression_join_concatenates_with_a_separator() {
    assert_eq!(
        annie_with(r#"Join(", ", [surname], [givenName])"#, "displayName").await,
        "Archer, Annie"
    );
}

#[tokio::test]
async fn expression_append_adds_a_suffix() {
    assert_eq!(
        annie_with(r#"Append([displayName], " (Contoso A)")"#, "displayName").await,
        "Annie Archer (Contoso A)"
    );
}

#[tokio::test]
async fn expression_switch_maps_values_with_a_default() {
    let sw = r#"Switch([department], "Other", "Sales", "S", "R&D", "Research")"#;
    assert_eq!(annie_with(sw, "department").await, "Research");
    let none = r#"Switch([department], "Other", "Sales", "S")"#;
    assert_eq!(annie_with(none, "department").await, "Other");
}

#[tokio::test]
async fn expression_iif_chooses_on_a_condition() {
    let iif = r#"IIF([jobTitle]="Engineer", "Engineering staff", [jobTitle])"#;
    assert_eq!(annie_with(iif, "jobTitle").await, "Engineering staff");
    let not = r#"IIF([jobTitle]<>"Engineer", "Other", "Still an engineer")"#;
    assert_eq!(annie_with(not, "jobTitle").await, "Still an engineer");
}

#[tokio::test]
async fn expression_constant_and_attribute_sources_still_map() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    edit_user_mapping(&sb, &s, |m| {
        for am in m["attributeMappings"].as_array_mut().unwrap() {
            if am["targetAttributeName"] == "jobTitle" {
                am["source"] = json!({"type": "Constant", "name": "Partner", "expression": "\"Partner\"", "parameters": []});
            }
            if am["targetAttributeName"] == "department" {
                am["source"] = json!({"type": "Attribute", "name": "givenName", "expression": "[givenName]", "parameters": []});
            }
        }
    })
    .await;
    run_sync(&sb).await;
    let u = user_in(&sb, &B, ANNIE_IN_B).await.unwrap();
    assert_eq!(u["jobTitle"], "Partner");
    assert_eq!(u["department"], "Annie");
}

#[tokio::test]
async fn an_expression_change_in_the_source_reaches_the_target_at_the_next_cycle() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    edit_user_mapping(&sb, &s, |m| {
        set_expression(m, "displayName", r#"Join(" ", [givenName], [surname])"#)
    })
    .await;
    run_sync(&sb).await;
    patch_user(&sb, &annie_id(), json!({"surname": "Andrews"})).await;
    let reports = run_sync(&sb).await;
    assert_eq!(report(&reports, &s)["updated"], 1);
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["displayName"],
        "Annie Andrews"
    );
}

#[tokio::test]
async fn known_but_unevaluated_functions_are_stored_and_skipped_and_unknown_ones_refused() {
    let sb = Sandbox::new();
    let s = share(&sb, &A, &B, &annie_id()).await;
    edit_user_mapping(&sb, &s, |m| {
        set_expression(
            m,
            "jobTitle",
            r#"FormatDateTime([jobTitle], , "yyyy", "yy")"#,
        )
    })
    .await;
    run_sync(&sb).await;
    assert_eq!(
        user_in(&sb, &B, ANNIE_IN_B).await.unwrap()["jobTitle"],
        Value::Null,
        "skipped, not written"
    );
    let mut schema = schema_of(&sb, &s).await;
    set_expression(
        &mut schema["synchronizationRules"][0]["objectMappings"][0],
        "jobTitle",
        "Frobnicate([jobTitle])",
    );
    let r = put_schema(&sb, &s, &schema).await;
    r.expect(400);
    assert_eq!(r.code(), "schemaInvalid");
    assert!(r.message().contains("Frobnicate"), "{}", r.message());
}

#[tokio::test]
async fn a_hostile_deeply_nested_expression_is_400_and_the_server_lives() {
    let sb = Sandbox::new();
    let s = configure(&sb, &A, &B).await;
    let before = schema_of(&sb, &s).await;
    for depth in [3_000usize, 200_000] {
        let mut schema = before.clone();
        let text = format!(
            "{}[givenName]{}",
            "ToLower(".repeat(depth),
            ")".repeat(depth)
        );
        set_expression(
            &mut schema["synchronizationRules"][0]["objectMappings"][0],
            "displayName",
            &text,
        );
        let r = put_schema(&sb, &s, &schema).await;
        assert!(r.status == 400 || r.status == 413, "{}", r.status);
        assert!(
            r.json["error"]["code"].is_string(),
            "Graph-shaped: {}",
            r.text
        );
    }
    // Deep nesting of the structured form (parameters) too.
    let mut src = json!({"type": "Attribute", "name": "givenName", "parameters": []});
    for _ in 0..100 {
        src = json!({"type": "Function", "name": "ToLower",
            "parameters": [{"key": "source", "value": src}]});
    }
    let mut schema = before.clone();
    schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][10]["source"] = src;
    let r = put_schema(&sb, &s, &schema).await;
    r.expect(400);
    assert_eq!(schema_of(&sb, &s).await, before);
    let ta = sb.token(&A).await;
    sb.get("/v1.0/users", &ta).await.expect(200);
}
