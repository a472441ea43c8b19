//! The one error type of the HTTP surface, [`ApiError`], and the JSON extractor wrapper
//! [`GraphJson`] that turns body rejections into the same Graph-shaped error.
//!
//! Graph errors look like (reference §9.2):
//!
//! ```json
//! {"error":{"code":"Request_ResourceNotFound","message":"...",
//!           "innerError":{"date":"2024-03-01T10:00:00","request-id":"…","client-request-id":"…"}}}
//! ```
//!
//! The request id lives in a task-local ([`REQUEST_CTX`]) that the request middleware sets, so an
//! error can be built anywhere (handlers, extractors, the store) without threading ids around.
//! The token endpoint speaks OAuth, not Graph, so its errors are the separate variant
//! [`ApiError::OAuth`] with the `AADSTS` body of reference §9.1 — still one `IntoResponse`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::store::StoreError;
use crate::util;

tokio::task_local! {
    /// Ids of the request being served; set by the request middleware for the whole handler.
    pub static REQUEST_CTX: RequestCtx;
}

/// Per-request identifiers echoed in headers and in every error's `innerError`.
#[derive(Clone, Debug)]
pub struct RequestCtx {
    /// Our id for the request (`request-id` header).
    pub request_id: String,
    /// The client's `client-request-id` header, or `request_id` when it sent none (as Graph does).
    pub client_request_id: String,
}

impl RequestCtx {
    /// The context of the current request, or a fresh one outside a request.
    pub fn current() -> RequestCtx {
        REQUEST_CTX.try_with(|c| c.clone()).unwrap_or_else(|_| {
            let id = uuid::Uuid::new_v4().to_string();
            RequestCtx {
                request_id: id.clone(),
                client_request_id: id,
            }
        })
    }
}

/// One entry of an error's optional `details` array.
#[derive(Clone, Debug)]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `ConflictingObjects`.
    pub code: String,
    /// Human-readable text.
    pub message: String,
    /// The property or object the detail is about.
    pub target: Option<String>,
}

/// An OAuth2 token-endpoint error (reference §9.1).
#[derive(Clone, Debug)]
pub struct OAuthError {
    /// 400 or 401.
    pub status: StatusCode,
    /// `invalid_request`, `unauthorized_client`, `invalid_client`, `unsupported_grant_type`, `invalid_scope`.
    pub error: &'static str,
    /// The AADSTS number, e.g. 90002.
    pub aadsts: u32,
    /// Text after `AADSTSnnnnn: `. Must never contain a client secret.
    pub description: String,
}

/// Every way a request can fail. The single [`IntoResponse`] impl below picks status and body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with a Graph code such as `BadRequest`, `Request_BadRequest`, `Request_UnsupportedQuery`.
    #[error("{code}: {message}")]
    BadRequest {
        /// Graph error code.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// 401 `InvalidAuthenticationToken`.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// 403 `Authorization_RequestDenied`.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404 with a Graph code (`Request_ResourceNotFound`, `Directory_ObjectNotFound`, ...).
    #[error("{code}: {message}")]
    NotFound {
        /// Graph error code.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// 405 for a known path with a method it does not support.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409 with a Graph code and optional details.
    #[error("{code}: {message}")]
    Conflict {
        /// Graph error code.
        code: &'static str,
        /// Message.
        message: String,
        /// Optional `details` array.
        details: Vec<ErrorDetail>,
    },
    /// 424 for a batch request whose dependency failed.
    #[error("failed dependency")]
    FailedDependency,
    /// 429 injected by the fault layer.
    #[error("throttled")]
    Throttled {
        /// Seconds for `Retry-After`.
        retry_after: u64,
    },
    /// 503 injected by the fault layer.
    #[error("service unavailable")]
    Unavailable {
        /// Seconds for `Retry-After`.
        retry_after: u64,
    },
    /// OAuth token endpoint error.
    #[error("oauth error AADSTS{}", .0.aadsts)]
    OAuth(OAuthError),
    /// Any other status (used by the request middleware to give framework rejections, such as
    /// a 413 for an oversized body, Graph's error shape).
    #[error("{status}: {message}")]
    Other {
        /// HTTP status.
        status: StatusCode,
        /// Graph error code.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// 500. The text is logged, never sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 400 `Request_BadRequest` (the directory flavour of bad request).
    pub fn request_bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "Request_BadRequest",
            message: message.into(),
        }
    }

    /// 400 `BadRequest` (the OData/Graph gateway flavour).
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "BadRequest",
            message: message.into(),
        }
    }

    /// 400 `Request_UnsupportedQuery`.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "Request_UnsupportedQuery",
            message: message.into(),
        }
    }

    /// 404 `Request_ResourceNotFound` for a directory object id or key.
    pub fn resource_not_found(key: &str) -> Self {
        ApiError::NotFound {
            code: "Request_ResourceNotFound",
            message: format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
        }
    }

    /// 404 `Directory_ObjectNotFound` with the message the MTO and policy APIs use.
    pub fn directory_object_not_found() -> Self {
        ApiError::NotFound {
            code: "Directory_ObjectNotFound",
            message: "Unable to read the company information from the directory.".into(),
        }
    }

    /// 403 `Authorization_RequestDenied` "Insufficient privileges to complete the operation."
    pub fn insufficient_privileges() -> Self {
        ApiError::Forbidden("Insufficient privileges to complete the operation.".into())
    }

    /// 413 for a request body over [`MAX_BODY_BYTES`]. Graph documents the status and its 4 MB
    /// limit ("request too large (413)"); the code is UNCONFIRMED (the pattern of its gateway
    /// codes, the status's reason phrase in PascalCase).
    pub fn payload_too_large() -> Self {
        ApiError::Other {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "RequestEntityTooLarge",
            message: format!(
                "The request is too large: the maximum request size is {} MB.",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        }
    }

    /// 408 for a request body that stalled longer than the idle timeout (UNCONFIRMED code).
    pub fn request_timeout() -> Self {
        ApiError::Other {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "RequestTimeout",
            message: "The request body was not received in time.".into(),
        }
    }

    /// 409 `Request_MultipleObjectsWithSameKeyValue`.
    pub fn same_key_conflict(message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code: "Request_MultipleObjectsWithSameKeyValue",
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::FailedDependency => StatusCode::FAILED_DEPENDENCY,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::OAuth(e) => e.status,
            ApiError::Other { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code_and_message(&self) -> (&str, String) {
        match self {
            ApiError::BadRequest { code, message } | ApiError::NotFound { code, message } => {
                (code, message.clone())
            }
            ApiError::Conflict { code, message, .. } | ApiError::Other { code, message, .. } => {
                (code, message.clone())
            }
            ApiError::InvalidToken(m) => ("InvalidAuthenticationToken", m.clone()),
            ApiError::Forbidden(m) => ("Authorization_RequestDenied", m.clone()),
            // UNCONFIRMED: Graph's code for 405 is not documented; this is the directory wording.
            ApiError::MethodNotAllowed => (
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request uri.".into(),
            ),
            ApiError::FailedDependency => (
                "FailedDependency",
                "The request was not executed because a request it depends on failed.".into(),
            ),
            ApiError::Throttled { .. } => ("TooManyRequests", "Please retry again later.".into()),
            ApiError::Unavailable { .. } => (
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry later.".into(),
            ),
            ApiError::OAuth(e) => (e.error, e.description.clone()),
            ApiError::Internal(_) => ("UnknownError", "An internal server error occurred.".into()),
        }
    }

    /// The Graph error body (not used for [`ApiError::OAuth`]).
    pub fn body(&self, ctx: &RequestCtx) -> Value {
        let (code, message) = self.code_and_message();
        let mut inner = json!({
            "date": util::inner_error_date(util::now_ms()),
            "request-id": ctx.request_id,
            "client-request-id": ctx.client_request_id,
        });
        if let ApiError::Throttled { .. } = self {
            // Reference §9.3 example carries these extra innerError fields.
            inner["code"] = json!("429");
            inner["status"] = json!("429");
            inner["message"] = json!("Please retry after");
        }
        let mut error = json!({ "code": code, "message": message, "innerError": inner });
        if let ApiError::Conflict { details, .. } = self
            && !details.is_empty()
        {
            error["details"] = details
                .iter()
                .map(|d| json!({"code": d.code, "message": d.message, "target": d.target}))
                .collect();
        }
        json!({ "error": error })
    }

    fn oauth_body(e: &OAuthError, ctx: &RequestCtx) -> Value {
        let now = util::now_ms();
        let timestamp = util::oauth_timestamp(now);
        json!({
            "error": e.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
                e.aadsts, e.description, ctx.request_id, ctx.client_request_id, timestamp
            ),
            "error_codes": [e.aadsts],
            "timestamp": timestamp,
            "trace_id": ctx.request_id,
            "correlation_id": ctx.client_request_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", e.aadsts),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ctx = RequestCtx::current();
        if let ApiError::Internal(detail) = &self {
            // Internal details go to the log only.
            tracing::error!(request_id = %ctx.request_id, "internal error: {detail}");
        }
        let body = match &self {
            ApiError::OAuth(e) => ApiError::oauth_body(e, &ctx),
            other => other.body(&ctx),
        };
        let mut resp = (self.status(), util::json_body(&body)).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match &self {
            ApiError::Throttled { retry_after } | ApiError::Unavailable { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                    ),
                );
            }
            _ => {}
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    /// Every store failure is Graph's 500 (the text goes to the log only).
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(format!("json: {e}"))
    }
}

/// Largest request body accepted: Graph's documented 4 MB request limit.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The message Graph returns for a body it cannot parse, or one sent without a `Content-Type`.
pub const BAD_JSON_MESSAGE: &str = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.";

/// The message Graph's directory returns for a body whose `Content-Type` is not JSON.
pub const NOT_JSON_MESSAGE: &str = "Entity only allows writes with a JSON Content-Type header.";

/// JSON body extractor whose rejections are Graph-shaped 400 `BadRequest` errors.
///
/// The content type is checked for every Graph write by `routes` (parameters such as
/// `; charset=utf-8` are accepted); an empty or unparsable body is a 400.
pub struct GraphJson<T>(pub T);

impl<S, T> FromRequest<S> for GraphJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large()
            } else {
                ApiError::bad_request(BAD_JSON_MESSAGE)
            }
        })?;
        parse_json_body(&bytes).map(GraphJson)
    }
}

/// Parse a JSON body with the Graph error on failure (shared with `$batch`).
pub fn parse_json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            // Well-formed JSON of the wrong shape (e.g. a string where an object is needed).
            ApiError::bad_request(format!("Invalid request body: {e}"))
        } else {
            ApiError::bad_request(BAD_JSON_MESSAGE)
        }
    })
}

/// Path-parameter extractor whose rejections (e.g. invalid UTF-8 after percent-decoding) are
/// Graph-shaped 400 `BadRequest` errors instead of axum's plain-text ones.
pub struct GraphPath<T>(pub T);

impl<S, T> FromRequestParts<S> for GraphPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| GraphPath(v))
            .map_err(|e| ApiError::bad_request(format!("Invalid request URL: {}", e.body_text())))
    }
}
