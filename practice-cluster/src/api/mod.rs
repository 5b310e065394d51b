//! The Kubernetes HTTP API: routes, request decoding and response encoding.
//!
//! Discovery and OpenAPI have fixed routes; every resource path
//! (`/api/v1/...`, `/apis/GROUP/VERSION/...`) goes through [`dispatch`], which parses
//! the path the way the API server does and calls the kind's [`resource::DynResource`].

pub mod discovery;
pub mod error;
pub mod guard;
pub mod patch;
pub mod pods;
pub mod portforward;
pub mod protobuf;
pub mod query;
pub mod resource;
pub mod scale;
pub mod spdy;
pub mod watch;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::Value;
use tower_http::trace::TraceLayer;

use crate::Cluster;
use error::{ApiError, Result};
use patch::PatchKind;
use query::Params;
use resource::{Format, Include};

/// The API router for `cluster`, behind `guard`.
pub fn router(cluster: Arc<Cluster>, guard: guard::Guard) -> Router {
    Router::new()
        .route("/version", get(|State(c): State<Arc<Cluster>>| async move { axum::Json(discovery::version(&c)) }))
        .route(
            "/api",
            get(|headers: HeaderMap| async move {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_owned();
                axum::Json(discovery::core_versions(&host))
            }),
        )
        .route("/apis", get(|| async { axum::Json(discovery::groups()) }))
        .route("/openapi/v3", get(|| async { axum::Json(discovery::openapi_index()) }))
        .route(
            "/openapi/v3/{*key}",
            get(|Path(key): Path<String>| async move { discovery::openapi_group(&key).map(axum::Json).ok_or_else(|| ApiError::no_route(&key)) }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/api/v1/namespaces/{ns}/pods/{name}/exec", get(pods::exec).post(pods::exec_spdy))
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(pods::log))
        .route("/api/v1/namespaces/{ns}/pods/{name}/portforward", get(portforward::portforward).post(portforward::portforward_spdy))
        .route("/api/v1/namespaces/{ns}/pods/{name}/proxy", any(pods::proxy_root))
        .route("/api/v1/namespaces/{ns}/pods/{name}/proxy/", any(pods::proxy_root))
        .route("/api/v1/namespaces/{ns}/pods/{name}/proxy/{*path}", any(pods::proxy))
        .route("/api/v1/namespaces/{ns}/services/{name}/proxy", any(pods::service_proxy_root))
        .route("/api/v1/namespaces/{ns}/services/{name}/proxy/", any(pods::service_proxy_root))
        .route("/api/v1/namespaces/{ns}/services/{name}/proxy/{*path}", any(pods::service_proxy))
        .fallback(dispatch)
        // The guard bounds bodies with a Kubernetes-style Status instead.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
        .layer(TraceLayer::new_for_http())
        .with_state(cluster)
}

/// A parsed resource path.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    group: &'a str,
    version: &'a str,
    namespace: Option<&'a str>,
    plural: Option<&'a str>,
    name: Option<&'a str>,
    sub: Option<&'a str>,
}

/// Splits `/api/v1/namespaces/default/pods/web-0/status` into its parts.
fn parse_path(path: &str) -> Option<Target<'_>> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let mut t = Target { group, version, namespace: None, plural: None, name: None, sub: None };
    match rest {
        [] => {}
        ["namespaces", ns, plural, tail @ ..] if !group.is_empty() || !matches!(*plural, "status" | "finalize") => {
            t.namespace = Some(ns);
            t.plural = Some(plural);
            match tail {
                [] => {}
                [name] => t.name = Some(name),
                [name, sub, ..] => {
                    t.name = Some(name);
                    t.sub = Some(sub);
                }
            }
        }
        [plural] => t.plural = Some(plural),
        [plural, name] => {
            t.plural = Some(plural);
            t.name = Some(name);
        }
        [plural, name, sub, ..] => {
            t.plural = Some(plural);
            t.name = Some(name);
            t.sub = Some(sub);
        }
    }
    Some(t)
}

/// The response format the client asked for in `Accept`.
fn format(headers: &HeaderMap, params: &Params) -> Format {
    let accept = headers.get(header::ACCEPT).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if !accept.contains("as=Table") {
        return Format::Json;
    }
    Format::Table(match params.include_object.as_deref() {
        Some("None") => Include::None,
        Some("Object") => Include::Object,
        _ => Include::Metadata,
    })
}

/// Decodes a JSON, YAML or Kubernetes protobuf request body (the object of a create or
/// an update: patches have their own media types, read by [`patch_body`]).
pub fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|h| h.to_str().ok()).unwrap_or("application/json");
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    if ct.split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case(protobuf::MEDIA_TYPE)) {
        protobuf::decode(body)
    } else if ct.contains("yaml") {
        serde_yaml_ng::from_slice(body).map_err(|e| ApiError::bad_request(format!("the request body is not valid YAML: {e}")))
    } else if ct.contains("json") || ct.is_empty() {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
    } else {
        Err(ApiError::unsupported_media_type(ct))
    }
}

fn json_response(code: StatusCode, v: Value) -> Response {
    (code, axum::Json(v)).into_response()
}

/// Runs a synchronous handler on tokio's blocking pool, so a slow request (a large list,
/// a big patch, a visit waiting for a volume's lock) never holds up an async worker and
/// with it every other client.
pub(crate) async fn off_runtime(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "request handler failed");
        ApiError::internal("the request could not be handled").into_response()
    })
}

/// Answers every resource request.
async fn dispatch(State(cluster): State<Arc<Cluster>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    off_runtime(move || match handle(cluster, &method, &uri, &headers, &body) {
        Ok(r) => r,
        Err(e) => {
            if e.code >= 500 {
                tracing::error!(%method, %uri, error = %e.message, "request failed");
            }
            e.into_response()
        }
    })
    .await
}

fn handle(cluster: Arc<Cluster>, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Response> {
    let path = uri.path();
    let no_route = || ApiError::no_route(path);
    // `/apis/GROUP` alone is the group's description.
    if let ["apis", g] = path.trim_matches('/').split('/').collect::<Vec<_>>().as_slice() {
        return discovery::group(g).map(|g| json_response(StatusCode::OK, g)).ok_or_else(no_route);
    }
    let t = parse_path(path).ok_or_else(no_route)?;
    let Some(plural) = t.plural else {
        if method != Method::GET {
            return Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource"));
        }
        return discovery::resources(t.group, t.version).map(|r| json_response(StatusCode::OK, r)).ok_or_else(no_route);
    };
    let res = resource::find(t.group, t.version, plural).ok_or_else(no_route)?;
    let info = res.info();
    let params = Params::parse(uri.query())?;
    let fmt = format(headers, &params);
    if (t.namespace.is_some() && !info.namespaced) || (info.namespaced && t.namespace.is_none() && t.name.is_some()) {
        return Err(no_route());
    }
    let ns = t.namespace;
    let ns_or_empty = ns.unwrap_or_default();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, v));

    match (t.name, t.sub) {
        (None, _) => match *method {
            Method::GET if params.watch => {
                let body = res.watch(cluster, ns.map(str::to_owned), params, fmt)?;
                Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
            }
            Method::GET => Ok(([(header::CONTENT_TYPE, "application/json")], res.list(&cluster, ns, &params, fmt)?).into_response()),
            Method::POST => {
                let v = res.create(&cluster, ns, parse_body(headers, body)?, params.dry_run)?;
                Ok(json_response(StatusCode::CREATED, v))
            }
            Method::DELETE => {
                let b = parse_body(headers, body).ok();
                let opts = resource::delete_options(&params, b.as_ref())?;
                ok(res.delete_collection(&cluster, ns, &params, &opts)?)
            }
            _ => Err(ApiError::method_not_allowed(format!("{method} is not supported on a collection"))),
        },
        (Some(name), None) => match *method {
            Method::GET => ok(res.get(&cluster, ns_or_empty, name, fmt)?),
            Method::PUT => ok(res.update(&cluster, ns_or_empty, name, parse_body(headers, body)?, false, params.dry_run)?),
            Method::PATCH => {
                let (kind, patch) = patch_body(headers, body)?;
                ok(res.patch(&cluster, ns_or_empty, name, kind, &patch, false, params.dry_run)?)
            }
            Method::DELETE => {
                let b = parse_body(headers, body).ok();
                let opts = resource::delete_options(&params, b.as_ref())?;
                ok(res.delete(&cluster, ns_or_empty, name, &opts)?)
            }
            _ => Err(ApiError::method_not_allowed(format!("{method} is not supported on {plural}"))),
        },
        (Some(name), Some("status")) if info.subresources.contains(&"status") => match *method {
            Method::GET => ok(res.get(&cluster, ns_or_empty, name, Format::Json)?),
            Method::PUT => ok(res.update(&cluster, ns_or_empty, name, parse_body(headers, body)?, true, params.dry_run)?),
            Method::PATCH => {
                let (kind, patch) = patch_body(headers, body)?;
                ok(res.patch(&cluster, ns_or_empty, name, kind, &patch, true, params.dry_run)?)
            }
            _ => Err(ApiError::method_not_allowed(format!("{method} is not supported on {plural}/status"))),
        },
        (Some(name), Some("scale")) if info.subresources.contains(&"scale") => {
            scale::handle(&cluster, method, ns_or_empty, name, headers, body, params.dry_run).map(|v| json_response(StatusCode::OK, v))
        }
        _ => Err(no_route()),
    }
}

fn patch_body(headers: &HeaderMap, body: &[u8]) -> Result<(PatchKind, Value)> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let kind = PatchKind::from_content_type(ct).ok_or_else(|| ApiError::unsupported_patch_type(ct))?;
    let value = if kind == PatchKind::Apply {
        serde_yaml_ng::from_slice(body).map_err(|e| ApiError::bad_request(format!("the patch is not valid YAML: {e}")))?
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))?
    };
    Ok((kind, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_like_the_api_server() {
        let t = parse_path("/api/v1/namespaces/default/pods/web-0/exec").expect("pod exec");
        assert_eq!((t.namespace, t.plural, t.name, t.sub), (Some("default"), Some("pods"), Some("web-0"), Some("exec")));
        let t = parse_path("/api/v1/namespaces/default").expect("a namespace");
        assert_eq!((t.namespace, t.plural, t.name), (None, Some("namespaces"), Some("default")));
        let t = parse_path("/api/v1/namespaces/default/status").expect("namespace status");
        assert_eq!((t.plural, t.name, t.sub), (Some("namespaces"), Some("default"), Some("status")));
        let t = parse_path("/apis/apps/v1/statefulsets").expect("all statefulsets");
        assert_eq!((t.group, t.namespace, t.plural), ("apps", None, Some("statefulsets")));
        assert!(parse_path("/metrics").is_none());
    }

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().expect("header"));
        h
    }

    #[test]
    fn protobuf_bodies_are_read_for_creates_and_updates_but_never_as_patches() {
        // `k8s\0`, then typeMeta {v1, Namespace} and raw {metadata {name: "a"}}.
        let body = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x05\x0a\x03\x0a\x01a";
        let v = parse_body(&headers("application/vnd.kubernetes.protobuf"), body).expect("protobuf body");
        assert_eq!(v, serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}));
        assert_eq!(parse_body(&headers("application/vnd.kubernetes.protobuf"), b"{}").expect_err("not protobuf").code, 400);
        assert_eq!(parse_body(&headers("application/json"), body).expect_err("not JSON").code, 400);
        let patch = patch_body(&headers("application/vnd.kubernetes.protobuf"), body).expect_err("a patch is never protobuf");
        assert_eq!(patch.code, 415);
        assert!(!patch.message.contains("protobuf (") && patch.message.contains("application/merge-patch+json"), "{}", patch.message);
        let other = parse_body(&headers("text/plain"), b"x").expect_err("unknown type");
        assert!(other.message.contains("application/vnd.kubernetes.protobuf"), "{}", other.message);
    }
}
