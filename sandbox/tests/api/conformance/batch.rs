//! JSON batching.

use super::Ty::*;
use super::{BASE, Case};
use crate::harness::*;

pub const CASES: &[Case] = &[
    Case {
        page: "../concepts/json-batching.md",
        example: "a batch of independent and dependent requests, URLs written unencoded",
        method: "POST",
        url: "/v1.0/$batch",
        body: r#"{"requests": [
            {"id": "1", "method": "GET", "url": "/users?$filter=displayName eq 'Annie Archer'&$select=id,displayName"},
            {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/groups/{groupA}/members?$select=id"},
            {"id": "3", "method": "PATCH", "url": "/users/{annie}", "body": {"jobTitle": "Lead"}, "headers": {"Content-Type": "application/json"}},
            {"id": "4", "method": "GET", "url": "/users?$orderby=displayName desc&$select=displayName"}
        ]}"#,
        shape: &[
            ("/responses", Arr),
            ("/responses/*/id", Str),
            ("/responses/*/status", Int),
            ("/responses/*/headers", Obj),
            ("/responses/0/body/value/0/displayName", Str),
            ("/responses/1/body/value/0/id", Guid),
            ("/responses/2/body", Absent),
            ("/responses/3/body/value/0/displayName", Str),
        ],
        ..BASE
    },
    Case {
        page: "../concepts/json-batching.md",
        example: "a dependent of a failed request gets 424",
        method: "POST",
        url: "/v1.0/$batch",
        body: r#"{"requests": [
            {"id": "1", "method": "GET", "url": "/users/00000000-0000-4000-8000-000000000000"},
            {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/users"}
        ]}"#,
        shape: &[
            ("/responses/0/status", Int),
            ("/responses/1/status", Int),
            ("/responses/1/body/error/code", Str),
        ],
        choice: Some(21),
        ..BASE
    },
    Case {
        page: "../concepts/json-batching.md",
        example: "more than 20 requests: the whole batch is a 400",
        method: "POST",
        url: "/beta/$batch",
        body: r#"{"requests": [
            {"id": "1", "method": "GET", "url": "/users"}, {"id": "2", "method": "GET", "url": "/users"},
            {"id": "3", "method": "GET", "url": "/users"}, {"id": "4", "method": "GET", "url": "/users"},
            {"id": "5", "method": "GET", "url": "/users"}, {"id": "6", "method": "GET", "url": "/users"},
            {"id": "7", "method": "GET", "url": "/users"}, {"id": "8", "method": "GET", "url": "/users"},
            {"id": "9", "method": "GET", "url": "/users"}, {"id": "10", "method": "GET", "url": "/users"},
            {"id": "11", "method": "GET", "url": "/users"}, {"id": "12", "method": "GET", "url": "/users"},
            {"id": "13", "method": "GET", "url": "/users"}, {"id": "14", "method": "GET", "url": "/users"},
            {"id": "15", "method": "GET", "url": "/users"}, {"id": "16", "method": "GET", "url": "/users"},
            {"id": "17", "method": "GET", "url": "/users"}, {"id": "18", "method": "GET", "url": "/users"},
            {"id": "19", "method": "GET", "url": "/users"}, {"id": "20", "method": "GET", "url": "/users"},
            {"id": "21", "method": "GET", "url": "/users"}
        ]}"#,
        status: 400,
        enums: &[("/error/code", &["BadRequest"])],
        ..BASE
    },
];

#[tokio::test]
async fn batch_answers_as_documented() {
    let sb = Sandbox::new();
    super::run(&sb, CASES).await;
}
