//! Who may do what: the presenter, signed in with a secret token, may change the lab;
//! everyone else (the audience) sees the same live page without controls.
//!
//! One middleware, [`guard`], sits in front of every route:
//! - a server bound to a loopback address answers only requests whose `Host` is a
//!   loopback name, so a web page cannot reach it through DNS rebinding;
//! - writes from another site are refused (`Origin`, `Sec-Fetch-Site`);
//! - `?presenter=TOKEN` on a page signs the browser in (an HttpOnly, SameSite=Strict
//!   cookie) and redirects to the same address without the token; `POST /signout`
//!   signs it out; scripts may send `Authorization: Bearer TOKEN`;
//! - every server function under `/api/fn/` except the read-only ones requires the
//!   presenter (and is refused to everyone under `--read-only`), is logged with role,
//!   remote address and outcome, and answers with the status of its typed error.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::actions::READ_ONLY_ENDPOINTS;
use app::backend::Viewer;
use app::error::ActionError;
use app::model::Role;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// The presenter cookie's name.
pub const COOKIE: &str = "stslab_presenter";
/// The query parameter of the presenter link.
pub const LINK_PARAM: &str = "presenter";
/// How long a presenter stays signed in: a school day.
const COOKIE_MAX_AGE: u32 = 12 * 3600;
/// The largest error body the status mapping reads.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A presenter token that cannot be used (too short, or characters a cookie cannot carry).
#[derive(Debug, thiserror::Error)]
#[error("the presenter token must be 16 to 256 characters of letters, digits, '-', '_' or '.'")]
pub struct BadToken;

/// The presenter's secret.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    /// A token given by the user (`--presenter-token`, `STSLAB_PRESENTER_TOKEN`).
    pub fn new(token: &str) -> Result<Self, BadToken> {
        let ok = (16..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok { Ok(Token(token.into())) } else { Err(BadToken) }
    }

    /// A fresh random token (244 bits from the OS's generator).
    pub fn generate() -> Self {
        Token(format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()).into())
    }

    /// The token itself, for the presenter link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is the token, in time that does not depend on where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// What the guard needs to know.
#[derive(Clone, Debug)]
pub struct Access {
    /// The presenter's token.
    pub token: Token,
    /// `--read-only`: nobody changes anything.
    pub read_only: bool,
    /// Whether the server listens on a loopback address only (then `Host` must be loopback).
    pub loopback_only: bool,
}

/// Whether `host` (a `Host` header, with or without port) names this machine's loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(n, _)| n),
        None => host.rsplit_once(':').map_or(host, |(n, port)| if port.bytes().all(|b| b.is_ascii_digit()) { n } else { host }),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why a write with these headers comes from another site, if it does.
pub fn cross_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && (site == "cross-site" || site == "same-site")
    {
        return Some(format!("refused: the request came from another site (Sec-Fetch-Site: {site}); changes can only be made from the dashboard's own page"));
    }
    let (Some(origin), Some(host)) = (header_str(headers, &header::ORIGIN), header_str(headers, &header::HOST)) else { return None };
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/');
    (authority != host).then(|| format!("refused: the request came from {origin}, not from this dashboard ({host})"))
}

/// The presenter token a request carries, if any: `Authorization: Bearer` or the cookie.
fn credentials(headers: &HeaderMap) -> Option<&str> {
    if let Some(bearer) = header_str(headers, &header::AUTHORIZATION).and_then(|a| a.strip_prefix("Bearer ")) {
        return Some(bearer.trim());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')))
}

/// The role of a request.
pub fn role(access: &Access, headers: &HeaderMap) -> Role {
    match credentials(headers) {
        Some(t) if access.token.matches(t) => Role::Presenter,
        _ => Role::Audience,
    }
}

fn refuse(e: ActionError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
    (status, axum::Json(e)).into_response()
}

fn cookie(value: &str, max_age: u32) -> HeaderValue {
    let text = format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("stslab_presenter=; Max-Age=0"))
}

fn redirect(to: &str, set_cookie: HeaderValue) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location), (header::SET_COOKIE, set_cookie)]).into_response()
}

/// `?presenter=TOKEN`: the token (if the query has it) and the query without it.
fn link_token(query: &str) -> Option<(String, String)> {
    let mut token = None;
    let rest: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| {
            if k == LINK_PARAM {
                token = Some(v.into_owned());
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    let rest = form_urlencoded::Serializer::new(String::new()).extend_pairs(rest).finish();
    token.map(|t| (t, rest))
}

/// The server function a request calls, if it is one: `POST /api/fn/NAME`.
fn server_fn(method: &Method, path: &str) -> Option<String> {
    (*method == Method::POST).then(|| path.strip_prefix("/api/fn/").map(str::to_owned)).flatten()
}

/// The middleware described in the module documentation.
pub async fn guard(State(access): State<Access>, mut req: Request, next: Next) -> Response {
    let remote = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let host = header_str(req.headers(), &header::HOST).map(str::to_owned).or_else(|| req.uri().authority().map(|a| a.to_string()));
    if access.loopback_only && !host.as_deref().is_some_and(is_loopback_host) {
        let shown = host.as_deref().unwrap_or("none");
        return refuse(ActionError::Forbidden(format!(
            "refused: this dashboard listens on a loopback address and answers only to localhost or 127.0.0.1, not to Host {shown}"
        )));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let writes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && let Some(why) = cross_origin(req.headers()) {
        tracing::warn!(%method, %path, remote = ?remote, "{why}");
        return refuse(ActionError::Forbidden(why));
    }
    if method == Method::GET
        && let Some((token, rest)) = req.uri().query().and_then(link_token)
    {
        if !access.token.matches(&token) {
            tracing::warn!(remote = ?remote, "presenter link with a wrong token");
            return refuse(ActionError::Unauthorized(
                "this presenter link is not valid: stslab prints a new one each time it starts (or use the token given with --presenter-token)".into(),
            ));
        }
        tracing::info!(remote = ?remote, "presenter signed in with the presenter link");
        let to = if rest.is_empty() { path } else { format!("{path}?{rest}") };
        return redirect(&to, cookie(access.token.expose(), COOKIE_MAX_AGE));
    }
    if method == Method::POST && path == "/signout" {
        return redirect("/", cookie("", 0));
    }
    let role = role(&access, req.headers());
    req.extensions_mut().insert(Viewer(role));
    let Some(endpoint) = server_fn(&method, &path) else { return next.run(req).await };
    let reads = READ_ONLY_ENDPOINTS.contains(&endpoint.as_str());
    let refused = if reads {
        None
    } else if access.read_only {
        Some(ActionError::Forbidden("the dashboard is read-only (--read-only): nobody can change the lab from it".into()))
    } else if role != Role::Presenter {
        let why = if credentials(req.headers()).is_some() { "the presenter token sent is not valid" } else { "no presenter credentials were sent" };
        Some(ActionError::Unauthorized(format!(
            "only the presenter can change the lab ({why}): open the presenter link stslab printed when it started, or send Authorization: Bearer TOKEN"
        )))
    } else {
        None
    };
    if let Some(e) = refused {
        tracing::warn!(action = %endpoint, role = ?role, remote = ?remote, status = e.status(), "action refused: {e}");
        return refuse(e);
    }
    let response = with_error_status(next.run(req).await).await;
    if !reads {
        tracing::info!(action = %endpoint, role = ?role, remote = ?remote, status = response.status().as_u16(), "action");
    }
    response
}

/// Server functions answer every error with 500; this gives a typed [`ActionError`]
/// its own status (400 for bad input, 401/403 refused, 502/503 for the cluster).
async fn with_error_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not read a server function's error");
            return refuse(ActionError::Internal("the dashboard failed; see its log".into()));
        }
    };
    match serde_json::from_slice::<ActionError>(&bytes) {
        Ok(e) => {
            if let ActionError::Internal(why) = &e {
                tracing::error!("action failed inside the dashboard: {why}");
            }
            parts.status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        }
        Err(_) => tracing::error!(body = %String::from_utf8_lossy(&bytes), "server function failed"),
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_names_of_this_machine_only() {
        for ok in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "127.0.0.2", "[::1]"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in ["evil.example:3000", "127.0.0.1.evil.example", "192.168.1.5:3000", "localhost.evil:80", "[::2]:3000", ""] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn tokens_compare_whole_and_refuse_weak_or_unsafe_values() {
        let t = Token::new("correct-horse-battery").expect("token");
        assert!(t.matches("correct-horse-battery"));
        assert!(!t.matches("correct-horse-batter"));
        assert!(!t.matches("correct-horse-battery!"));
        assert!(Token::new("short").is_err());
        assert!(Token::new("has;semicolon-and-more").is_err());
        assert!(Token::new("has space in it, long").is_err());
        assert_eq!(Token::generate().expose().len(), 64);
        assert_ne!(Token::generate().expose(), Token::generate().expose());
    }

    #[test]
    fn credentials_come_from_bearer_or_cookie() {
        let access = Access { token: Token::new("0123456789abcdef").expect("token"), read_only: false, loopback_only: true };
        let mut h = HeaderMap::new();
        assert_eq!(role(&access, &h), Role::Audience);
        h.insert(header::COOKIE, "theme=dark; stslab_presenter=0123456789abcdef".parse().expect("header"));
        assert_eq!(role(&access, &h), Role::Presenter);
        h.insert(header::COOKIE, "stslab_presenter=0123456789abcdeX".parse().expect("header"));
        assert_eq!(role(&access, &h), Role::Audience);
        h.insert(header::AUTHORIZATION, "Bearer 0123456789abcdef".parse().expect("header"));
        assert_eq!(role(&access, &h), Role::Presenter);
    }

    #[test]
    fn the_link_token_is_taken_out_of_the_query() {
        assert_eq!(link_token("presenter=abc&statefulset=web"), Some(("abc".into(), "statefulset=web".into())));
        assert_eq!(link_token("statefulset=web"), None);
    }

    #[test]
    fn origins_compare_by_authority() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:3000".parse().expect("header"));
        h.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().expect("header"));
        assert_eq!(cross_origin(&h), None);
        h.insert(header::ORIGIN, "http://evil.example".parse().expect("header"));
        assert!(cross_origin(&h).is_some());
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().expect("header"));
        assert!(cross_origin(&h).is_some());
    }
}
