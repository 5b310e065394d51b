//! `pods/{name}/portforward`: `kubectl port-forward` as kubectl 1.30+ speaks it.
//!
//! kubectl opens one WebSocket with the subprotocol `SPDY/3.1+portforward.k8s.io` and
//! runs a SPDY/3.1 connection inside it ([`super::spdy`]). For every local TCP
//! connection it opens two streams with the headers `streamType` (`error` first, then
//! `data`), `port` and `requestID`. Bytes on the data stream go to the pod's port; what
//! the pod answers comes back on it; a failure to reach the port is written on the
//! error stream. Both streams are closed when the exchange is over.
//!
//! The simulated pod speaks HTTP only, so each connection carries one request: it is
//! read up to its blank line, answered by the app through [`Cluster::http_request`]
//! (so a visit counts exactly as through the pod proxy), and closed
//! (`Connection: close`), which browsers and curl handle as a normal end.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::spdy::{self, Decoder, Encoder, Frame};
use crate::Cluster;

/// The one subprotocol served: SPDY/3.1 port forwarding tunnelled through a WebSocket.
pub const PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
/// Largest DATA frame sent.
const FRAME: usize = 32 * 1024;
/// Longest request head (request line and headers) read from a connection.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// `GET .../pods/{name}/portforward` with `Upgrade: websocket`.
pub async fn portforward(
    State(cluster): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
    ws: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if cluster.store.pods.get(&ns, &name).is_none() {
        return ApiError::not_found("pods", "", &name).into_response();
    }
    let Ok(ws) = ws else {
        return ApiError::bad_request(format!("port forwarding needs a WebSocket upgrade (Upgrade: websocket) with the subprotocol {PROTOCOL}"))
            .into_response();
    };
    let ws = ws.protocols([PROTOCOL]);
    if ws.selected_protocol().is_none() {
        return ApiError::bad_request(format!(
            "unable to upgrade connection: the practice cluster forwards ports only with the WebSocket subprotocol {PROTOCOL} (kubectl 1.30 or newer)"
        ))
        .into_response();
    }
    ws.on_upgrade(move |socket| session(socket, cluster, ns, name))
}

/// `POST .../pods/{name}/portforward`: the plain SPDY upgrade of kubectl before 1.30
/// (and kubectl's fallback after a failed WebSocket upgrade). Not spoken here: the
/// answer says what is.
pub async fn portforward_spdy(State(cluster): State<Arc<Cluster>>, Path((ns, name)): Path<(String, String)>) -> Response {
    if cluster.store.pods.get(&ns, &name).is_none() {
        return ApiError::not_found("pods", "", &name).into_response();
    }
    ApiError::bad_request(format!("the practice cluster does not speak SPDY; it forwards ports over WebSockets ({PROTOCOL}): use kubectl 1.30 or newer"))
        .into_response()
}

/// The headers of a new stream that matter here.
#[derive(Debug, PartialEq, Eq)]
struct StreamHeaders {
    kind: StreamKind,
    port: u16,
    request: String,
}

#[derive(Debug, PartialEq, Eq)]
enum StreamKind {
    Error,
    Data,
}

impl StreamHeaders {
    fn parse(headers: &[(String, String)]) -> Option<Self> {
        let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let kind = match get("streamtype")? {
            "error" => StreamKind::Error,
            "data" => StreamKind::Data,
            _ => return None,
        };
        let port = get("port")?.parse().ok().filter(|p| *p > 0)?;
        Some(StreamHeaders { kind, port, request: get("requestid").unwrap_or_default().to_owned() })
    }
}

/// One tunnelled SPDY connection: reads frames, opens a task per forwarded connection.
async fn session(socket: WebSocket, cluster: Arc<Cluster>, ns: String, pod: String) {
    let (mut sink, mut source) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                return;
            }
        }
    });
    let mut decoder = Decoder::default();
    let mut encoder = Encoder::default();
    // Error streams by request id, waiting for their data stream.
    let mut error_streams: HashMap<String, u32> = HashMap::new();
    // Open data streams: where their incoming bytes go. Dropping the sender ends the input.
    let mut inputs: HashMap<u32, mpsc::UnboundedSender<Vec<u8>>> = HashMap::new();
    'connection: while let Some(Ok(msg)) = source.next().await {
        match msg {
            Message::Binary(bytes) => decoder.push(&bytes),
            Message::Close(_) => break,
            _ => continue,
        }
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, pod, "port-forward: bad SPDY frame; closing");
                    break 'connection;
                }
            };
            match frame {
                Frame::SynStream { stream, headers, fin } => {
                    let Some(h) = StreamHeaders::parse(&headers) else {
                        let _ = out.send(spdy::refuse(stream));
                        continue;
                    };
                    match encoder.syn_reply(stream) {
                        Ok(reply) => {
                            let _ = out.send(reply);
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "port-forward: cannot compress a reply");
                            break 'connection;
                        }
                    }
                    match h.kind {
                        StreamKind::Error => {
                            error_streams.insert(h.request, stream);
                        }
                        StreamKind::Data => {
                            let (tx, rx) = mpsc::unbounded_channel();
                            if !fin {
                                inputs.insert(stream, tx);
                            }
                            let error = error_streams.remove(&h.request);
                            let target = Target { cluster: cluster.clone(), ns: ns.clone(), pod: pod.clone(), port: h.port };
                            tokio::spawn(forward(target, stream, error, rx, out.clone()));
                        }
                    }
                }
                Frame::Data { stream, data, fin } => {
                    if let Some(input) = inputs.get(&stream)
                        && !data.is_empty()
                        && input.send(data).is_err()
                    {
                        inputs.remove(&stream);
                    }
                    if fin {
                        inputs.remove(&stream);
                    }
                }
                Frame::RstStream { stream } => {
                    inputs.remove(&stream);
                }
                Frame::Ping(id) => {
                    let _ = out.send(spdy::ping(id));
                }
                Frame::GoAway => break 'connection,
                Frame::Ignored => {}
            }
        }
    }
    drop(inputs);
    drop(out);
    writer.abort();
}

/// Where a forwarded connection goes.
struct Target {
    cluster: Arc<Cluster>,
    ns: String,
    pod: String,
    port: u16,
}

/// Serves one forwarded connection, then closes its streams.
async fn forward(target: Target, data: u32, error: Option<u32>, mut input: mpsc::UnboundedReceiver<Vec<u8>>, out: mpsc::UnboundedSender<Vec<u8>>) {
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        match input.recv().await {
            Some(bytes) => head.extend_from_slice(&bytes),
            None => break,
        }
    }
    if !head.is_empty() {
        match answer(&target, &head) {
            Ok(response) => {
                for chunk in response.chunks(FRAME) {
                    let _ = out.send(spdy::data(data, chunk, false));
                }
            }
            Err(message) => {
                if let Some(e) = error {
                    let _ = out.send(spdy::data(e, message.as_bytes(), false));
                }
            }
        }
    }
    let _ = out.send(spdy::data(data, &[], true));
    if let Some(e) = error {
        let _ = out.send(spdy::data(e, &[], true));
    }
}

/// The HTTP response to the request in `head`, or the error-stream message when the
/// port cannot be reached.
fn answer(target: &Target, head: &[u8]) -> Result<Vec<u8>, String> {
    let Some((method, path)) = request_line(head) else {
        return Ok(http_response(400, "text/plain; charset=utf-8", "400 Bad Request", false));
    };
    match target.cluster.http_request(&target.ns, &target.pod, target.port, &method, &path) {
        Ok(r) => Ok(http_response(r.status, r.content_type, &r.body, method == "HEAD")),
        Err(e) if e.code == 404 => Err(e.message),
        Err(_) => {
            let uid = target.cluster.store.pods.get(&target.ns, &target.pod).and_then(|p| p.metadata.uid.clone()).unwrap_or_default();
            let port = target.port;
            Err(format!(
                "error forwarding port {port} to pod {uid}, uid : failed to connect to localhost:{port} inside the pod's network namespace: dial tcp4 127.0.0.1:{port}: connect: connection refused"
            ))
        }
    }
}

/// `GET /visits HTTP/1.1` → (`GET`, `/visits`); an absolute-form target keeps its path.
fn request_line(head: &[u8]) -> Option<(String, String)> {
    let end = head.windows(2).position(|w| w == b"\r\n").unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..end]).ok()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") || method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let path = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None if target.starts_with('/') => target,
        None => return None,
    };
    Some((method.to_owned(), path.to_owned()))
}

fn http_response(status: u16, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let mut r =
        format!("HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    if !head_only {
        r.extend_from_slice(body.as_bytes());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_parse_like_a_server() {
        assert_eq!(request_line(b"GET / HTTP/1.1\r\nHost: localhost:8000\r\n\r\n"), Some(("GET".into(), "/".into())));
        assert_eq!(request_line(b"HEAD /visits?x=1 HTTP/1.0\r\n\r\n"), Some(("HEAD".into(), "/visits?x=1".into())));
        assert_eq!(request_line(b"GET http://localhost:8000/healthz HTTP/1.1\r\n\r\n"), Some(("GET".into(), "/healthz".into())));
        assert_eq!(request_line(b"\x16\x03\x01garbage"), None, "TLS to a plain HTTP port");
        assert_eq!(request_line(b"GET /\r\n\r\n"), None);
    }

    #[test]
    fn stream_headers_need_a_type_and_a_port() {
        let h = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(
            StreamHeaders::parse(&h(&[("streamtype", "data"), ("port", "8000"), ("requestid", "3")])),
            Some(StreamHeaders { kind: StreamKind::Data, port: 8000, request: "3".into() })
        );
        assert_eq!(StreamHeaders::parse(&h(&[("streamtype", "data"), ("port", "0")])), None);
        assert_eq!(StreamHeaders::parse(&h(&[("streamtype", "video"), ("port", "80")])), None);
    }

    #[test]
    fn responses_close_the_connection_and_head_has_no_body() {
        let r = String::from_utf8(http_response(200, "text/plain", "3\n", false)).expect("utf-8");
        assert_eq!(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n3\n");
        let r = http_response(200, "text/plain", "ok\n", true);
        assert!(r.ends_with(b"Content-Length: 3\r\nConnection: close\r\n\r\n"));
    }
}
