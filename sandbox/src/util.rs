//! Small helpers shared by every module: clock, timestamp formats, GUIDs, JSON bodies.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

/// The all-zero GUID (`addedByTenantId` of a join request that was never sent or was reset).
pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 UTC with `Z` and whole seconds, the way Graph prints DateTimeOffset values.
pub fn rfc3339(ms: i64) -> String {
    datetime(ms)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

/// `innerError.date`: like `2024-03-01T10:00:00`, no zone (reference §9.2).
pub fn inner_error_date(ms: i64) -> String {
    datetime(ms)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// The `timestamp` of a token-endpoint error, e.g. `2024-03-01 10:00:00Z`.
pub fn oauth_timestamp(ms: i64) -> String {
    datetime(ms)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

/// Parse a GUID and return its canonical lower-case hyphenated form.
pub fn parse_guid(s: &str) -> Option<String> {
    // Only the hyphenated 36-character form is a GUID in Graph paths and bodies.
    if s.len() != 36 {
        return None;
    }
    Uuid::parse_str(s).ok().map(|u| u.hyphenated().to_string())
}

/// Serialize a JSON value into a response body.
pub fn json_body(v: &Value) -> Body {
    Body::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

/// Deterministic GUID for seeded objects that have no id: UUID v5 over a documented name.
///
/// `kind` is `user` or `group`, `name` the lower-cased UPN or the group's display name.
/// The name hashed is `mto-sandbox:{tenantId}:{kind}:{name}` in the URL namespace.
pub fn seed_guid(tenant_id: &str, kind: &str, name: &str) -> String {
    let input = format!(
        "mto-sandbox:{}:{kind}:{}",
        tenant_id.to_lowercase(),
        name.to_lowercase()
    );
    Uuid::new_v5(&Uuid::NAMESPACE_URL, input.as_bytes())
        .hyphenated()
        .to_string()
}

/// The map of a JSON object (empty for any other value; used on `json!({...})` literals).
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A new random GUID.
pub fn new_guid() -> String {
    Uuid::new_v4().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_has_z_and_whole_seconds() {
        assert_eq!(rfc3339(1_709_287_200_123), "2024-03-01T10:00:00Z");
        assert_eq!(inner_error_date(1_709_287_200_123), "2024-03-01T10:00:00");
    }

    #[test]
    fn parse_guid_normalizes_case_and_rejects_other_forms() {
        assert_eq!(
            parse_guid("2B0E6F0C-5D1A-4C2E-9A61-0C6F1D2E3A4B").as_deref(),
            Some("2b0e6f0c-5d1a-4c2e-9a61-0c6f1d2e3a4b")
        );
        assert_eq!(parse_guid("2b0e6f0c5d1a4c2e9a610c6f1d2e3a4b"), None);
        assert_eq!(parse_guid("amy@contoso.com"), None);
    }

    #[test]
    fn seed_guid_is_stable_and_case_insensitive() {
        let a = seed_guid(
            "11111111-1111-1111-1111-111111111111",
            "user",
            "Amy@Contoso.com",
        );
        let b = seed_guid(
            "11111111-1111-1111-1111-111111111111",
            "user",
            "amy@contoso.com",
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            seed_guid(
                "22222222-2222-2222-2222-222222222222",
                "user",
                "amy@contoso.com"
            )
        );
    }
}
