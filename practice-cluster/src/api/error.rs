//! API errors, each answered as a JSON `Status` like a real API server's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::StoreError;

/// The patch formats, as a 415 lists them.
const PATCH_TYPES: &str = "application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json, application/apply-patch+yaml";

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason: `NotFound`, `AlreadyExists`, `Invalid`, ...
    pub reason: &'static str,
    /// Human-readable message, as kubectl prints it after `Error from server (...)`.
    pub message: String,
    /// `details` of the Status, when there are any.
    pub details: Option<Value>,
}

/// `pub type Result` for API handlers.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// `pods` → `pods`, `statefulsets.apps` style resource naming used in messages.
fn qualified(plural: &str, group: &str) -> String {
    if group.is_empty() { plural.to_owned() } else { format!("{plural}.{group}") }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 404 for an object: `pods "web-9" not found`.
    pub fn not_found(plural: &str, group: &str, name: &str) -> Self {
        let mut e = Self::new(404, "NotFound", format!("{} \"{name}\" not found", qualified(plural, group)));
        e.details = Some(json!({"name": name, "group": group, "kind": plural}));
        e
    }

    /// 404 for a path the server does not serve.
    pub fn no_route(path: &str) -> Self {
        let mut e = Self::new(404, "NotFound", "the server could not find the requested resource");
        e.details = Some(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": format!("404 page not found: {path}")}]}));
        e
    }

    /// 409 AlreadyExists: `pods "web-0" already exists`.
    pub fn already_exists(plural: &str, group: &str, name: &str) -> Self {
        let mut e = Self::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", qualified(plural, group)));
        e.details = Some(json!({"name": name, "group": group, "kind": plural}));
        e
    }

    /// 409 Conflict on a stale resourceVersion.
    pub fn conflict(plural: &str, group: &str, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                qualified(plural, group)
            ),
        );
        e.details = Some(json!({"name": name, "group": group, "kind": plural}));
        e
    }

    /// 422 Invalid: `<Kind>.<group> "<name>" is invalid: <field>: <detail>`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<(&str, &str, String)>) -> Self {
        let kind_q = if group.is_empty() { kind.to_owned() } else { format!("{kind}.{group}") };
        let text: Vec<String> = causes.iter().map(|(_, field, msg)| format!("{field}: {msg}")).collect();
        let text = if text.len() == 1 { text.concat() } else { format!("[{}]", text.join(", ")) };
        let mut e = Self::new(422, "Invalid", format!("{kind_q} \"{name}\" is invalid: {text}"));
        let causes: Vec<Value> = causes.into_iter().map(|(reason, field, msg)| json!({"reason": reason, "message": msg, "field": field})).collect();
        e.details = Some(json!({"name": name, "group": group, "kind": kind, "causes": causes}));
        e
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 415 for a body type the server cannot read.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::unknown_format(
            &format!("application/json, application/yaml, application/vnd.kubernetes.protobuf (Services and Namespaces), {PATCH_TYPES}"),
            content_type,
        )
    }

    /// 415 for a PATCH whose body is not one of the patch formats.
    pub fn unsupported_patch_type(content_type: &str) -> Self {
        Self::unknown_format(PATCH_TYPES, content_type)
    }

    fn unknown_format(accepted: &str, content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: {accepted} (got {content_type:?})"),
        )
    }

    /// 503 for a pod or port that cannot be reached.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// 500 for a failure of the server itself.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// Maps a store error for `plural`/`name`.
    pub fn from_store(e: StoreError, plural: &str, group: &str, name: &str) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(plural, group, name),
            StoreError::AlreadyExists => Self::already_exists(plural, group, name),
            StoreError::Conflict => Self::conflict(plural, group, name),
            StoreError::TooOld { requested, oldest } => Self::new(410, "Expired", format!("too old resource version: {requested} ({oldest})")),
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::from_store(e, "objects", "", "")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.to_status())).into_response()
    }
}
