//! Groups: the security group document (groups come from the seed and are read-only through
//! Graph) and their direct members.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::store::Conn;
use crate::store::docs::{self, Doc, kind};
use crate::util::rfc3339;

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

/// The users that are direct members of a group, in id order, as seen at `visible_before`
/// (404 if the group is not visible).
pub fn member_users(
    c: &Conn,
    tenant: &str,
    group_id: &str,
    visible_before: i64,
) -> Result<Vec<Doc>, ApiError> {
    if docs::get_visible(c, tenant, kind::GROUP, group_id, visible_before)?.is_none() {
        return Err(ApiError::resource_not_found(group_id));
    }
    let mut out = Vec::new();
    for m in docs::group_member_ids(c, tenant, group_id)? {
        if let Some(u) = docs::get_visible(c, tenant, kind::USER, &m, visible_before)? {
            out.push(u);
        }
    }
    Ok(out)
}
