//! What can go wrong talking to Graph, typed so callers can decide (retry,
//! treat as gone, report) without parsing text.

use std::fmt;
use std::time::Duration;

/// What every Graph call returns.
pub type Result<T, E = GraphError> = std::result::Result<T, E>;

/// The broad class of a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404: the object does not exist (or is not replicated yet).
    NotFound,
    /// 429 after the retry budget ran out.
    Throttled,
    /// 409 (and Graph's "already exists" 400s).
    Conflict,
    /// 403: the application lacks a permission.
    Forbidden,
    /// 401 from Graph: the token was refused.
    Unauthorized,
    /// Any other 4xx.
    BadRequest,
    /// 5xx after the retry budget ran out.
    Server,
    /// The login endpoint refused the credentials.
    Authentication,
    /// No answer: connection refused, reset, timed out.
    Transport,
    /// The operation's time ran out while retrying.
    Timeout,
    /// Terraform asked the provider to stop.
    Cancelled,
    /// A tenant the provider block has no credentials for.
    UnknownTenant,
    /// Graph answered with something we could not read.
    InvalidResponse,
}

/// A failed Graph call, with everything a user needs to report it.
#[derive(Clone, Debug)]
pub struct GraphError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    /// Graph's `error.code`, e.g. `Request_ResourceNotFound`.
    pub code: String,
    pub message: String,
    pub method: String,
    /// The path called, without host or query.
    pub path: String,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    /// From `Retry-After`, when Graph sent one.
    pub retry_after: Option<Duration>,
}

impl GraphError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> GraphError {
        GraphError {
            kind,
            status: None,
            code: String::new(),
            message: message.into(),
            method: String::new(),
            path: String::new(),
            request_id: None,
            client_request_id: None,
            retry_after: None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// The permission Graph needs for the call, when the error is a 403.
    pub fn with_hint(mut self, hint: &str) -> GraphError {
        if !hint.is_empty() {
            self.message = format!("{} {hint}", self.message.trim_end());
        }
        self
    }

    pub(crate) fn classify(status: u16, code: &str) -> ErrorKind {
        match status {
            404 => ErrorKind::NotFound,
            429 => ErrorKind::Throttled,
            409 => ErrorKind::Conflict,
            400 if code == "Request_MultipleObjectsWithSameKeyValue" => ErrorKind::Conflict,
            403 => ErrorKind::Forbidden,
            401 => ErrorKind::Unauthorized,
            400..=499 => ErrorKind::BadRequest,
            _ => ErrorKind::Server,
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.method.is_empty() {
            write!(f, "{} {}: ", self.method, self.path)?;
        }
        match (self.status, self.code.is_empty()) {
            (Some(s), false) => write!(f, "{s} {}: ", self.code)?,
            (Some(s), true) => write!(f, "{s}: ")?,
            (None, false) => write!(f, "{}: ", self.code)?,
            (None, true) => {}
        }
        f.write_str(self.message.trim_end())?;
        if self.request_id.is_some() || self.client_request_id.is_some() {
            f.write_str(" (")?;
            if let Some(r) = &self.request_id {
                write!(f, "request-id {r}")?;
            }
            if let Some(c) = &self.client_request_id {
                if self.request_id.is_some() {
                    f.write_str(", ")?;
                }
                write!(f, "client-request-id {c}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {}
