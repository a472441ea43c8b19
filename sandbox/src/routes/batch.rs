//! `POST /$batch` (reference §9.6): up to 20 requests with unique ids, relative URLs, optional
//! `dependsOn`. Each inner request goes through the same router — and therefore the same auth
//! (the outer bearer token), fault injection and counters — marked as a batch inner request.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::{ApiVersion, BatchInner, json_response};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, RequestCtx, parse_json_body};

/// Maximum number of requests in one batch.
pub const MAX_BATCH: usize = 20;

struct Inner {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(msg)
}

fn parse_requests(v: Value) -> Result<Vec<Inner>, ApiError> {
    let reqs = v.get("requests").and_then(Value::as_array).ok_or_else(|| {
        invalid("Invalid batch payload format: 'requests' is missing or not an array.")
    })?;
    if reqs.len() > MAX_BATCH {
        return Err(invalid(format!(
            "Number of batch requests {} exceeds the limit of {MAX_BATCH}.",
            reqs.len()
        )));
    }
    let mut out = Vec::with_capacity(reqs.len());
    for r in reqs {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(invalid("Every batch request needs a non-empty 'id'.")),
        };
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "Batch request '{id}' has a missing or invalid 'method'."
                ))
            })?;
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| invalid(format!("Batch request '{id}' has no 'url'.")))?
            .to_string();
        let mut headers = Vec::new();
        match r.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (k, v) in h {
                    let v = v.as_str().ok_or_else(|| {
                        invalid(format!(
                            "Header '{k}' of batch request '{id}' is not a string."
                        ))
                    })?;
                    headers.push((k.clone(), v.to_string()));
                }
            }
            Some(_) => {
                return Err(invalid(format!(
                    "'headers' of batch request '{id}' is not an object."
                )));
            }
        }
        let body = r.get("body").filter(|b| !b.is_null()).cloned();
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            return Err(invalid(format!(
                "Batch request '{id}' has a body but no Content-Type header."
            )));
        }
        let depends_on = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|d| match d {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(invalid(format!(
                        "'dependsOn' of batch request '{id}' must list ids."
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(invalid(format!(
                    "'dependsOn' of batch request '{id}' must be an array."
                )));
            }
        };
        out.push(Inner {
            id,
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for r in &out {
        if !seen.insert(r.id.to_lowercase()) {
            return Err(invalid(format!(
                "Batch request ids must be unique; '{}' is repeated.",
                r.id
            )));
        }
    }
    for r in &out {
        for d in &r.depends_on {
            if !seen.contains(&d.to_lowercase()) || d.eq_ignore_ascii_case(&r.id) {
                return Err(invalid(format!(
                    "Batch request '{}' depends on '{d}', which is not another request of the batch.",
                    r.id
                )));
            }
        }
    }
    Ok(out)
}

/// Execution order: input order, except that a request runs after the requests it depends on.
fn order(reqs: &[Inner]) -> Result<Vec<usize>, ApiError> {
    let index: HashMap<String, usize> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.to_lowercase(), i))
        .collect();
    let mut done = vec![false; reqs.len()];
    let mut out = Vec::with_capacity(reqs.len());
    while out.len() < reqs.len() {
        let next = (0..reqs.len()).find(|&i| {
            !done[i]
                && reqs[i]
                    .depends_on
                    .iter()
                    .all(|d| index.get(&d.to_lowercase()).is_some_and(|&j| done[j]))
        });
        let Some(i) = next else {
            return Err(invalid(
                "The dependsOn references of the batch form a cycle.",
            ));
        };
        done[i] = true;
        out.push(i);
    }
    Ok(out)
}

/// `POST /$batch`. The outer request must carry a valid token (401 otherwise); permissions are
/// checked per inner request.
pub async fn batch(
    State(st): State<AppState>,
    _caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let version = req
        .extensions()
        .get::<ApiVersion>()
        .copied()
        .unwrap_or(ApiVersion::V1);
    let outer_headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), 4 * 1024 * 1024)
        .await
        .map_err(|_| ApiError::bad_request(crate::error::BAD_JSON_MESSAGE))?;
    let reqs = parse_requests(parse_json_body(&bytes)?)?;
    let order = order(&reqs)?;
    let app = super::router(st);
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::with_capacity(reqs.len());
    for i in order {
        let r = &reqs[i];
        let failed_dep = r.depends_on.iter().any(|d| {
            statuses
                .get(&d.to_lowercase())
                .is_some_and(|s| !(200..300).contains(s))
        });
        let (status, headers, body) = if failed_dep {
            let ctx = RequestCtx::current();
            (
                424,
                json!({"Content-Type": "application/json"}),
                Some(ApiError::FailedDependency.body(&ctx)),
            )
        } else {
            run_inner(&app, version, &outer_headers, r).await
        };
        statuses.insert(r.id.to_lowercase(), status);
        let mut item = Map::new();
        item.insert("id".into(), json!(r.id));
        item.insert("status".into(), json!(status));
        item.insert("headers".into(), headers);
        if let Some(b) = body {
            item.insert("body".into(), b);
        }
        responses.push(Value::Object(item));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "responses": responses }),
    ))
}

/// Percent-encode what may not appear in a URI as is: Graph accepts inner URLs written the
/// way its documentation writes them, with spaces and quotes unencoded
/// (`/users?$filter=displayName eq 'Alice'`). Existing `%xx` escapes are kept.
fn encode_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn run_inner(
    app: &axum::Router,
    version: ApiVersion,
    outer: &HeaderMap,
    r: &Inner,
) -> (u16, Value, Option<Value>) {
    let fail = |e: ApiError| {
        let ctx = RequestCtx::current();
        (
            e.status().as_u16(),
            json!({"Content-Type": "application/json"}),
            Some(e.body(&ctx)),
        )
    };
    if r.url.contains("://") {
        return fail(invalid(
            "The URL of a batch request must be relative, like '/users'.",
        ));
    }
    let rel = if r.url.starts_with('/') {
        r.url.clone()
    } else {
        format!("/{}", r.url)
    };
    if rel
        .split('?')
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .eq_ignore_ascii_case("/$batch")
    {
        return fail(invalid("Nested batch requests are not supported."));
    }
    let uri = format!("/{}{}", version.segment(), encode_url(&rel));
    let mut builder = Request::builder().method(r.method.clone()).uri(&uri);
    for (k, v) in &r.headers {
        if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("host") {
            continue;
        }
        builder = builder.header(k.as_str(), v.as_str());
    }
    for name in [header::AUTHORIZATION, header::HOST] {
        if let Some(v) = outer.get(&name) {
            builder = builder.header(name, v.clone());
        }
    }
    let body = match &r.body {
        Some(b) => Body::from(serde_json::to_vec(b).unwrap_or_default()),
        None => Body::empty(),
    };
    let mut req = match builder.body(body) {
        Ok(req) => req,
        Err(_) => {
            return fail(invalid(format!(
                "Batch request '{}' has an invalid url or header.",
                r.id
            )));
        }
    };
    req.extensions_mut().insert(BatchInner);
    let resp = match app.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(e) => match e {},
    };
    let status = resp.status().as_u16();
    let mut headers = Map::new();
    for name in [header::CONTENT_TYPE, header::RETRY_AFTER, header::LOCATION] {
        if let Some(v) = resp
            .headers()
            .get(&name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
        {
            let key = match name.as_str() {
                "content-type" => "Content-Type",
                "retry-after" => "Retry-After",
                _ => "Location",
            };
            headers.insert(key.into(), json!(v));
        }
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes: Bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        None
    } else if is_json {
        serde_json::from_slice(&bytes).ok()
    } else {
        Some(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, Value::Object(headers), body)
}

#[cfg(test)]
mod tests {
    use super::encode_url;

    #[test]
    fn inner_urls_are_encoded_only_where_a_uri_needs_it() {
        assert_eq!(
            encode_url("/users?$filter=displayName eq 'Alice'"),
            "/users?$filter=displayName%20eq%20'Alice'"
        );
        assert_eq!(
            encode_url("/users?$search=\"displayName:a b\""),
            "/users?$search=%22displayName:a%20b%22"
        );
        assert_eq!(
            encode_url("/users?$filter=a%20eq%201"),
            "/users?$filter=a%20eq%201"
        );
        assert_eq!(encode_url("/users/é"), "/users/%C3%A9");
    }
}
