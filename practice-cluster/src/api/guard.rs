//! Refuses requests that a web page (or anything but an API client) could make.
//!
//! The API has no authentication on loopback, and any page a teacher opens can send
//! requests to `127.0.0.1`. So, before a request reaches a handler:
//!
//! - when listening beyond loopback, every request but the public health and version
//!   endpoints must carry the cluster's bearer token (401);
//! - when listening on loopback, `Host` must be a loopback name, which defeats DNS
//!   rebinding (403);
//! - a request with an `Origin` must come from a loopback or the same origin (403):
//!   browsers send one with every cross-site `fetch` and WebSocket (exec, attach),
//!   while kubectl, kube-rs and client-go send none;
//! - a POST, PUT or PATCH body must be declared JSON, YAML, Kubernetes protobuf or a
//!   patch (415), which a page cannot do without a CORS preflight that this server never
//!   grants. A body with no `Content-Type` is read as JSON, as kube-apiserver does (the
//!   Python client sends none), but only from a client that is not a browser: no
//!   `Origin`, no `Sec-Fetch-*`;
//! - bodies are read up to [`MAX_REQUEST_BODY`] and no further (413).

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::error::ApiError;
use crate::limits::{LimitError, MAX_REQUEST_BODY};

/// Media types a write may carry: JSON, YAML and protobuf objects (kubectl's typed
/// clients write protobuf) and the four patch formats.
const WRITE_MEDIA_TYPES: [&str; 7] = [
    "application/json",
    "application/yaml",
    super::protobuf::MEDIA_TYPE,
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// Paths anyone may read without a token, as on a real cluster.
const PUBLIC_PATHS: [&str; 4] = ["/version", "/healthz", "/livez", "/readyz"];

/// What the guard enforces.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    /// The API listens on loopback only, so `Host` must name loopback.
    pub loopback: bool,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
}

/// The guard as an axum middleware (`axum::middleware::from_fn_with_state`).
pub async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match guard.admit(request).await {
        Ok(request) => next.run(request).await,
        Err(e) => {
            tracing::debug!(code = e.code, reason = e.reason, message = %e.message, "request refused");
            e.into_response()
        }
    }
}

impl Guard {
    /// Checks `request`, returning it with its body read (within the size limit).
    async fn admit(&self, request: Request) -> Result<Request, ApiError> {
        let (parts, body) = request.into_parts();
        let headers = &parts.headers;
        if let Some(token) = &self.token
            && !PUBLIC_PATHS.contains(&parts.uri.path())
            && !bearer_matches(headers, token)
        {
            return Err(ApiError { code: 401, reason: "Unauthorized", message: "Unauthorized".to_owned(), details: None });
        }
        let host = header_str(headers, header::HOST);
        if self.loopback
            && let Some(host) = host
            && !is_loopback_name(host_name(host))
        {
            return Err(forbidden(format!(
                "host {host:?} is not allowed: the practice cluster listens on loopback and answers only to localhost, 127.0.0.1 and [::1]"
            )));
        }
        if let Some(origin) = header_str(headers, header::ORIGIN)
            && !origin_allowed(origin, host)
        {
            return Err(forbidden(format!("origin {origin:?} is not allowed: the practice cluster refuses requests from web pages of other sites")));
        }
        if headers.contains_key(header::UPGRADE) {
            // A WebSocket or SPDY upgrade has no body; its stream is taken over later.
            return Ok(Request::from_parts(parts, body));
        }
        let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok());
        if declared.is_some_and(|l| l > MAX_REQUEST_BODY as u64) {
            return Err(LimitError::Body.into());
        }
        let mut stream = body.into_data_stream();
        let mut read = Vec::new();
        let mut total = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("the request body could not be read: {e}")))?;
            total = total.saturating_add(chunk.len());
            if total <= MAX_REQUEST_BODY {
                read.extend_from_slice(&chunk);
            } else if total > 2 * MAX_REQUEST_BODY {
                // Keep nothing past the limit, but read a little on so that a client that
                // went slightly over gets the answer rather than a reset connection.
                break;
            }
        }
        if total > MAX_REQUEST_BODY {
            return Err(LimitError::Body.into());
        }
        // An empty POST (kubectl's SPDY exec fallback) carries nothing to decode.
        if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) && !read.is_empty() {
            let content_type = header_str(&parts.headers, header::CONTENT_TYPE);
            let declared = match content_type {
                Some(content_type) => WRITE_MEDIA_TYPES.contains(&media_type(content_type).as_str()),
                None => !from_browser(&parts.headers),
            };
            if !declared {
                let content_type = content_type.unwrap_or_default();
                return Err(if parts.method == Method::PATCH {
                    ApiError::unsupported_patch_type(content_type)
                } else {
                    ApiError::unsupported_media_type(content_type)
                });
            }
        }
        Ok(Request::from_parts(parts, Body::from(read)))
    }
}

fn forbidden(message: String) -> ApiError {
    ApiError { code: 403, reason: "Forbidden", message, details: None }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a browser sent the request: browsers add `Origin` to every POST and
/// `Sec-Fetch-Site` to every request; API clients send neither.
fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site") || headers.contains_key("sec-fetch-mode")
}

/// `application/json; charset=utf-8` → `application/json`.
fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Compares the `Authorization: Bearer` token with `token` in time independent of
/// where they first differ.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = header_str(headers, header::AUTHORIZATION).and_then(|a| a.strip_prefix("Bearer ")) else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The host of a `Host` header value or an origin's authority, without the port:
/// `localhost:6443` → `localhost`, `[::1]:6443` → `::1`.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Whether `host` (no port) names this machine: `localhost`, `*.localhost` (which
/// resolvers keep on loopback), or a loopback address.
fn is_loopback_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a request from `origin` may be served: a loopback origin, or the origin of
/// the server itself (same `Host`).
fn origin_allowed(origin: &str, host: Option<&str>) -> bool {
    let Some((_, authority)) = origin.split_once("://") else {
        // `null` (a sandboxed frame, a file) or garbage.
        return false;
    };
    let authority = authority.trim_end_matches('/');
    is_loopback_name(host_name(authority)) || host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_origins() {
        for host in ["localhost:6443", "127.0.0.1:6443", "[::1]:6443", "LOCALHOST", "web.localhost:80", "127.1.2.3"] {
            assert!(is_loopback_name(host_name(host)), "{host}");
        }
        for host in ["evil.example:6443", "10.0.0.1:6443", "localhost.evil.example", "[::2]:1"] {
            assert!(!is_loopback_name(host_name(host)), "{host}");
        }
        assert!(origin_allowed("http://127.0.0.1:3000", Some("127.0.0.1:6443")));
        assert!(origin_allowed("https://teacher.example:6443", Some("teacher.example:6443")));
        assert!(!origin_allowed("https://evil.example", Some("127.0.0.1:6443")));
        assert!(!origin_allowed("null", Some("127.0.0.1:6443")));
    }

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert_eq!(media_type("Application/JSON; charset=utf-8"), "application/json");
        assert!(WRITE_MEDIA_TYPES.contains(&media_type("application/apply-patch+yaml").as_str()));
        assert!(WRITE_MEDIA_TYPES.contains(&media_type("application/vnd.kubernetes.protobuf").as_str()));
        assert!(!WRITE_MEDIA_TYPES.contains(&media_type("text/plain;charset=UTF-8").as_str()));
    }

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let mut h = HeaderMap::new();
        assert!(!bearer_matches(&h, "abc"));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().expect("header"));
        assert!(bearer_matches(&h, "abc"));
        assert!(!bearer_matches(&h, "abd"));
        assert!(!bearer_matches(&h, "abcd"));
    }
}
