//! Users: the user document, its creation and update through Graph, and the soft delete and
//! restore that `DELETE /users/{id}` and the synchronization engine share.
//!
//! A user is a JSON document (kind `user`), so the synchronization engine can store B2B members
//! with `userType`, `showInAddressList`, `creationType`, `externalUserState`, `identities` and a
//! private `_source` link without schema changes. Deleting a user moves it to kind
//! `deletedUser` (soft delete), which frees its UPN.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::store::docs::{self, Doc, kind};
use crate::store::tenants;
use crate::store::{Conn, StoreError};
use crate::util::{new_guid, parse_guid, rfc3339};

/// The v1.0 default property set: every new user has these keys (null when unset), and
/// `GET /users` returns them when no `$select` is given.
pub const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

const UPN_TAKEN: &str =
    "Another object with the same value for property userPrincipalName already exists.";

/// A new internal user document.
pub fn new_user_doc(id: &str, upn: &str, display_name: &str, now: i64) -> Map<String, Value> {
    let mut m = Map::new();
    for p in USER_DEFAULT {
        m.insert((*p).into(), Value::Null);
    }
    m.insert("id".into(), json!(id));
    m.insert("businessPhones".into(), json!([]));
    m.insert("displayName".into(), json!(display_name));
    m.insert("userPrincipalName".into(), json!(upn));
    m.insert("accountEnabled".into(), json!(true));
    m.insert("userType".into(), json!("Member"));
    m.insert("creationType".into(), Value::Null);
    m.insert("externalUserState".into(), Value::Null);
    m.insert("createdDateTime".into(), json!(rfc3339(now)));
    m.insert(
        "mailNickname".into(),
        json!(upn.split('@').next().unwrap_or(upn)),
    );
    m.insert("otherMails".into(), json!([]));
    m.insert("proxyAddresses".into(), json!([]));
    m.insert("imAddresses".into(), json!([]));
    m.insert(
        "identities".into(),
        json!([{"signInType": "userPrincipalName", "issuer": upn.split('@').nth(1).unwrap_or(""), "issuerAssignedId": upn}]),
    );
    m
}

/// Copy the properties of a validated POST or PATCH body onto a user (`passwordProfile` is
/// accepted, not stored; `@odata.` annotations are dropped).
fn apply_properties(doc: &mut Map<String, Value>, body: &Map<String, Value>) {
    for (k, v) in body {
        if k != "passwordProfile" && !k.starts_with("@odata.") {
            doc.insert(k.clone(), v.clone());
        }
    }
}

/// Find a user by object id or UPN.
pub fn find_user(
    c: &Conn,
    tenant: &str,
    id_or_upn: &str,
    visible_before: i64,
) -> Result<Option<Doc>, StoreError> {
    match parse_guid(id_or_upn) {
        Some(id) => docs::get_visible(c, tenant, kind::USER, &id, visible_before),
        None => docs::find_by_upn(c, tenant, kind::USER, id_or_upn, visible_before),
    }
}

/// `POST /users`: create a user of `tenant` from a validated body (with `userPrincipalName` and
/// `displayName`). Returns the stored document. The UPN must be free (400).
pub fn create_user(
    tx: &Conn,
    tenant: &str,
    body: &Map<String, Value>,
    now: i64,
) -> Result<Map<String, Value>, ApiError> {
    let text = |p: &str| body.get(p).and_then(Value::as_str).unwrap_or_default();
    let upn = text("userPrincipalName");
    let id = new_guid();
    let mut doc = new_user_doc(&id, upn, text("displayName"), now);
    apply_properties(&mut doc, body);
    if tenants::get_tenant(tx, tenant)?.is_none() {
        return Err(ApiError::directory_object_not_found());
    }
    if docs::find_by_upn(tx, tenant, kind::USER, upn, i64::MAX)?.is_some() {
        return Err(ApiError::request_bad_request(UPN_TAKEN));
    }
    docs::insert(tx, tenant, kind::USER, &id, &doc, now)?;
    Ok(doc)
}

/// `PATCH /users/{id | userPrincipalName}`: replace the properties of a validated body (404 if
/// there is no such user; 400 if a new UPN is taken).
pub fn update_user(
    tx: &Conn,
    tenant: &str,
    id_or_upn: &str,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let mut doc = find_user(tx, tenant, id_or_upn, i64::MAX)?
        .ok_or_else(|| ApiError::resource_not_found(id_or_upn))?;
    if let Some(upn) = body.get("userPrincipalName").and_then(Value::as_str)
        && let Some(other) = docs::find_by_upn(tx, tenant, kind::USER, upn, i64::MAX)?
        && other.key != doc.key
    {
        return Err(ApiError::request_bad_request(UPN_TAKEN));
    }
    apply_properties(&mut doc.body, body);
    docs::update(tx, tenant, kind::USER, &doc.key, &doc.body)?;
    Ok(())
}

/// `DELETE /users/{id | userPrincipalName}`: soft-delete the user (404 if there is none).
pub fn delete_user(tx: &Conn, tenant: &str, id_or_upn: &str, now: i64) -> Result<(), ApiError> {
    let doc = find_user(tx, tenant, id_or_upn, i64::MAX)?
        .ok_or_else(|| ApiError::resource_not_found(id_or_upn))?;
    Ok(soft_delete_user(tx, tenant, doc, now)?)
}

/// Soft-delete a user: move it to `/directory/deletedItems` with `deletedDateTime` (its UPN is
/// free again). Shared by `DELETE /users/{id}` and the synchronization engine.
pub fn soft_delete_user(tx: &Conn, tenant: &str, mut doc: Doc, now: i64) -> Result<(), StoreError> {
    docs::delete(tx, tenant, kind::USER, &doc.key)?;
    doc.body
        .insert("deletedDateTime".into(), json!(rfc3339(now)));
    docs::upsert(
        tx,
        tenant,
        kind::DELETED_USER,
        &doc.key,
        &doc.body,
        doc.created_ms,
    )
}

/// Restore a soft-deleted user (used by the synchronization engine; Graph's restore endpoint is
/// not emulated). The caller checks that the UPN is free.
pub fn restore_user(tx: &Conn, tenant: &str, mut doc: Doc) -> Result<Doc, StoreError> {
    docs::delete(tx, tenant, kind::DELETED_USER, &doc.key)?;
    doc.body.remove("deletedDateTime");
    docs::upsert(tx, tenant, kind::USER, &doc.key, &doc.body, doc.created_ms)?;
    Ok(doc)
}
