//! Groups: the group document, its creation, update and deletion through Graph, and its direct
//! members (users and groups), added and removed through `members/$ref`.
//!
//! Groups are hard-deleted (no deleted items), with their memberships and app role assignments
//! (UNCONFIRMED: Graph soft-deletes Microsoft 365 groups, and cloud security groups since a 2026
//! preview). Membership rules of dynamic groups are not emulated: `DynamicMembership` is refused.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::store::Conn;
use crate::store::docs::{self, Doc, kind};
use crate::store::sync as ss;
use crate::store::tenants;
use crate::util::{new_guid, parse_guid, rfc3339};

/// A new security group document.
pub fn new_group_doc(id: &str, display_name: &str, now: i64) -> Map<String, Value> {
    let nickname: String = display_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    match json!({
        "id": id,
        "createdDateTime": rfc3339(now),
        "description": null,
        "displayName": display_name,
        "groupTypes": [],
        "mail": null,
        "mailEnabled": false,
        "mailNickname": if nickname.is_empty() { "group".to_string() } else { nickname },
        "securityEnabled": true,
        "visibility": null,
        "isAssignableToRole": null,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The direct members of a group (users and groups, with their kind), in id order, as seen at
/// `visible_before` (404 if the group is not visible).
pub fn members(
    c: &Conn,
    tenant: &str,
    group_id: &str,
    visible_before: i64,
) -> Result<Vec<(Doc, &'static str)>, ApiError> {
    if docs::get_visible(c, tenant, kind::GROUP, group_id, visible_before)?.is_none() {
        return Err(ApiError::resource_not_found(group_id));
    }
    let mut out = Vec::new();
    for m in docs::group_member_ids(c, tenant, group_id)? {
        if let Some(u) = docs::get_visible(c, tenant, kind::USER, &m, visible_before)? {
            out.push((u, kind::USER));
        } else if let Some(g) = docs::get_visible(c, tenant, kind::GROUP, &m, visible_before)? {
            out.push((g, kind::GROUP));
        }
    }
    Ok(out)
}

fn bad_value(prop: &str) -> ApiError {
    ApiError::request_bad_request(format!(
        "Invalid value specified for property '{prop}' of resource 'Group'."
    ))
}

/// Graph's rule for `mailNickname`: 1–64 ASCII characters, none of `@ ( ) \ [ ] " ; : < > ,`
/// or space.
fn valid_nickname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control() && !"@()\\[]\";:<>, ".contains(c))
}

/// Properties `POST /groups` accepts (`owners@odata.bind` is accepted and not stored).
pub const GROUP_CREATE: &[&str] = &[
    "description",
    "displayName",
    "groupTypes",
    "isAssignableToRole",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "visibility",
    "members@odata.bind",
    "owners@odata.bind",
];

/// Properties `PATCH /groups/{id}` accepts.
pub const GROUP_UPDATE: &[&str] = &[
    "description",
    "displayName",
    "mailNickname",
    "securityEnabled",
    "visibility",
    "members@odata.bind",
];

const READ_ONLY: &[&str] = &["id", "createdDateTime", "deletedDateTime", "mail"];

/// Type-check a POST or PATCH body (`allowed` = the properties it may set).
pub fn check_body(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    for (k, v) in body {
        if k.starts_with("@odata.") {
            continue;
        }
        if READ_ONLY.contains(&k.as_str()) {
            return Err(ApiError::request_bad_request(format!(
                "Property '{k}' is read-only and cannot be set."
            )));
        }
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property."
            )));
        }
        let ok = match k.as_str() {
            "mailEnabled" | "securityEnabled" | "isAssignableToRole" => {
                v.is_boolean() || (v.is_null() && k == "isAssignableToRole")
            }
            "displayName" => v
                .as_str()
                .is_some_and(|s| !s.trim().is_empty() && s.len() <= 256),
            "mailNickname" => v.as_str().is_some_and(valid_nickname),
            "groupTypes" | "members@odata.bind" | "owners@odata.bind" => {
                v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
            }
            "visibility" => {
                v.is_null() || matches!(v.as_str(), Some("Public" | "Private" | "HiddenMembership"))
            }
            _ => v.is_string() || v.is_null(),
        };
        if !ok {
            return Err(bad_value(k));
        }
    }
    if let Some(b) = body.get("members@odata.bind").and_then(Value::as_array)
        && b.len() > 20
    {
        // Graph: "up to 20 members can be added in a single request".
        return Err(ApiError::request_bad_request(
            "A maximum of 20 members can be added in a single request.",
        ));
    }
    Ok(())
}

/// The object id in a reference URL (`https://graph.microsoft.com/v1.0/directoryObjects/{id}`,
/// also `.../users/{id}` or `.../groups/{id}`).
pub fn reference_id(url: &str) -> Result<String, ApiError> {
    let bad = || {
        // UNCONFIRMED wording.
        ApiError::bad_request(format!(
            "Invalid object identifier '{url}'. Use https://graph.microsoft.com/v1.0/directoryObjects/{{id}}."
        ))
    };
    let path = url.split(['?', '#']).next().unwrap_or("");
    let mut segs = path.trim_end_matches('/').rsplit('/');
    let id = segs.next().and_then(parse_guid).ok_or_else(bad)?;
    match segs.next() {
        Some(s)
            if ["directoryObjects", "users", "groups"]
                .iter()
                .any(|x| x.eq_ignore_ascii_case(s)) =>
        {
            Ok(id)
        }
        _ => Err(bad()),
    }
}

fn bound_members(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    body.get("members@odata.bind")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(reference_id)
        .collect()
}

/// `POST /groups`: create a group of `tenant` from a checked body. Required: `displayName`,
/// `mailEnabled`, `mailNickname`, `securityEnabled`. Security groups have `mailEnabled: false`;
/// `groupTypes: ["Unified"]` makes a Microsoft 365 group (`mailEnabled: true`).
pub fn create_group(
    tx: &Conn,
    tenant: &str,
    body: &Map<String, Value>,
    now: i64,
) -> Result<Map<String, Value>, ApiError> {
    for req in [
        "displayName",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
    ] {
        if body.get(req).is_none_or(Value::is_null) {
            return Err(bad_value(req));
        }
    }
    let types: Vec<&str> = body
        .get("groupTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if types.contains(&"DynamicMembership") {
        return Err(ApiError::request_bad_request(
            "Dynamic membership groups are not supported by mto-sandbox: create an assigned group and add members through members/$ref.",
        ));
    }
    if let Some(t) = types.iter().find(|t| **t != "Unified") {
        return Err(ApiError::request_bad_request(format!(
            "Invalid value '{t}' specified for property 'groupTypes' of resource 'Group'."
        )));
    }
    let unified = types.contains(&"Unified");
    let mail_enabled = body.get("mailEnabled").and_then(Value::as_bool) == Some(true);
    if unified != mail_enabled {
        // UNCONFIRMED wording; Graph creates mail-enabled groups only as Microsoft 365 groups.
        return Err(ApiError::request_bad_request(if unified {
            "A Microsoft 365 group (groupTypes Unified) must be mail-enabled."
        } else {
            "Mail-enabled security groups cannot be created through Microsoft Graph; set mailEnabled to false."
        }));
    }
    let members = bound_members(body)?;
    let text = |p: &str| body.get(p).and_then(Value::as_str).unwrap_or_default();
    let id = new_guid();
    let mut doc = new_group_doc(&id, text("displayName"), now);
    for (k, v) in body {
        if !k.contains('@') {
            doc.insert(k.clone(), v.clone());
        }
    }
    if unified {
        let domain = tenants::get_tenant(tx, tenant)?
            .map(|t| t.initial_domain)
            .unwrap_or_default();
        doc.insert(
            "mail".into(),
            json!(format!("{}@{domain}", text("mailNickname"))),
        );
        if doc.get("visibility").is_none_or(Value::is_null) {
            doc.insert("visibility".into(), json!("Public"));
        }
    }
    docs::insert(tx, tenant, kind::GROUP, &id, &doc, now)?;
    for m in members {
        add_member(tx, tenant, &id, &m)?;
    }
    Ok(doc)
}

fn group(tx: &Conn, tenant: &str, id: &str) -> Result<Doc, ApiError> {
    let key = parse_guid(id).ok_or_else(|| ApiError::resource_not_found(id))?;
    docs::get(tx, tenant, kind::GROUP, &key)?.ok_or_else(|| ApiError::resource_not_found(id))
}

/// `PATCH /groups/{id}`: replace the properties of a checked body; `members@odata.bind` adds
/// members (all or none).
pub fn update_group(
    tx: &Conn,
    tenant: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let mut doc = group(tx, tenant, id)?;
    let members = bound_members(body)?;
    for (k, v) in body {
        if !k.contains('@') {
            doc.body.insert(k.clone(), v.clone());
        }
    }
    docs::update(tx, tenant, kind::GROUP, &doc.key, &doc.body)?;
    for m in members {
        add_member(tx, tenant, &doc.key, &m)?;
    }
    Ok(())
}

/// `DELETE /groups/{id}`: delete the group, its memberships and its app role assignments.
pub fn delete_group(tx: &Conn, tenant: &str, id: &str) -> Result<(), ApiError> {
    let doc = group(tx, tenant, id)?;
    docs::delete(tx, tenant, kind::GROUP, &doc.key)?;
    docs::delete_group_memberships(tx, tenant, &doc.key)?;
    ss::delete_principal_assignments(tx, tenant, &doc.key)?;
    Ok(())
}

/// `POST /groups/{id}/members/$ref`: add a user or group of the tenant as a direct member.
pub fn add_member(tx: &Conn, tenant: &str, group_id: &str, member: &str) -> Result<(), ApiError> {
    let g = group(tx, tenant, group_id)?;
    let mid = parse_guid(member).ok_or_else(|| ApiError::resource_not_found(member))?;
    let is_user = docs::get(tx, tenant, kind::USER, &mid)?.is_some();
    let is_group = !is_user && docs::get(tx, tenant, kind::GROUP, &mid)?.is_some();
    if !is_user && !is_group {
        return Err(ApiError::resource_not_found(member));
    }
    if is_group && mid == g.key {
        // UNCONFIRMED wording.
        return Err(ApiError::request_bad_request(
            "A group cannot be added as a member of itself.",
        ));
    }
    if docs::is_group_member(tx, tenant, &g.key, &mid)? {
        return Err(ApiError::request_bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        ));
    }
    docs::add_group_member(tx, tenant, &g.key, &mid)?;
    Ok(())
}

/// `DELETE /groups/{id}/members/{memberId}/$ref`: remove a direct member (404 if it is none).
pub fn remove_member(
    tx: &Conn,
    tenant: &str,
    group_id: &str,
    member: &str,
) -> Result<(), ApiError> {
    let g = group(tx, tenant, group_id)?;
    let mid = parse_guid(member).ok_or_else(|| ApiError::resource_not_found(member))?;
    if !docs::remove_group_member(tx, tenant, &g.key, &mid)? {
        return Err(ApiError::resource_not_found(member));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_a_directory_object() {
        let id = "aaaaaaaa-3333-4000-8000-000000000001";
        assert_eq!(
            reference_id(&format!(
                "https://graph.microsoft.com/v1.0/directoryObjects/{id}"
            ))
            .unwrap(),
            id
        );
        assert!(reference_id(&format!("https://graph.microsoft.com/v1.0/users/{id}")).is_ok());
        assert!(reference_id("https://graph.microsoft.com/v1.0/directoryObjects/nope").is_err());
        assert!(reference_id(&format!("https://x/v1.0/applications/{id}")).is_err());
    }

    #[test]
    fn nicknames_follow_graph_rules() {
        assert!(valid_nickname("engineering-team"));
        assert!(!valid_nickname("has space"));
        assert!(!valid_nickname("a@b"));
        assert!(!valid_nickname(&"x".repeat(65)));
    }
}
