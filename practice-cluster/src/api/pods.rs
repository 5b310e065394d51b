//! The pod subresources that reach into the simulated node: `exec` (WebSocket,
//! `v5.channel.k8s.io` / `v4.channel.k8s.io`), `log`, and the pod and service `proxy`.
//!
//! Commands run through [`crate::sim::shell`] on a blocking thread; the node's lock is
//! only taken inside the synchronous [`Cluster`] calls, never across an `.await`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::error::{ApiError, Result};
use super::off_runtime;
use super::query::Params;
use crate::Cluster;
use crate::sim::ExecOutput;
use crate::sim::fs::resolve;
use crate::sim::node::LogLine;

/// Stream channels of the Kubernetes remote-command protocol.
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
/// v5: "no more data on channel N".
const CLOSE: u8 = 255;
/// Largest data frame sent.
const FRAME: usize = 32 * 1024;
/// Longest line an interactive shell accepts.
const MAX_LINE: usize = 64 * 1024;
/// Most stdin a non-interactive command may be sent.
const MAX_STDIN: usize = 16 << 20;
/// How long to wait for the first byte of stdin before running without it.
const STDIN_FIRST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long stdin may pause once it has started.
const STDIN_IDLE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How long to wait for a client to answer the close of a finished command.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Subprotocols accepted, preferred first.
const PROTOCOLS: [&str; 3] = ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"];

fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("true" | "1" | "True"))
}

/// The query of an exec request.
#[derive(Debug, Clone)]
struct ExecQuery {
    command: Vec<String>,
    container: Option<String>,
    stdin: bool,
    tty: bool,
}

impl ExecQuery {
    fn parse(query: Option<&str>) -> Result<Self> {
        let p = Params::parse(query)?;
        let command: Vec<String> = p.all("command").into_iter().map(str::to_owned).collect();
        if command.is_empty() {
            return Err(ApiError::bad_request("you must specify at least one command for the container"));
        }
        Ok(ExecQuery {
            command,
            container: p.first("container").filter(|c| !c.is_empty()).map(str::to_owned),
            stdin: truthy(p.first("stdin")),
            tty: truthy(p.first("tty")),
        })
    }

    /// Whether this starts an interactive shell on a terminal (`sh`, `bash -l`, ...).
    fn interactive_shell(&self) -> bool {
        let prog = self.command[0].rsplit('/').next().unwrap_or_default();
        let flags_only = self.command[1..].iter().all(|a| a.starts_with('-') && a != "-c");
        self.stdin && self.tty && matches!(prog, "sh" | "bash" | "ash") && flags_only
    }
}

/// `GET .../pods/{name}/exec`: runs a command over a WebSocket.
pub async fn exec(
    State(cluster): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    ws: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let q = match ExecQuery::parse(query.as_deref()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = cluster.exec_check(&ns, &name, q.container.as_deref()) {
        return e.into_response();
    }
    let Ok(ws) = ws else {
        return ApiError::bad_request("exec needs a WebSocket upgrade (Upgrade: websocket)").into_response();
    };
    ws.protocols(PROTOCOLS).on_upgrade(move |socket| session(socket, cluster, ns, name, q))
}

/// `POST .../pods/{name}/exec`: the SPDY fallback kubectl tries after a failed
/// WebSocket upgrade. The practice cluster does not speak SPDY; this answers with the
/// reason the upgrade failed, or says what is needed.
pub async fn exec_spdy(State(cluster): State<Arc<Cluster>>, Path((ns, name)): Path<(String, String)>, RawQuery(query): RawQuery) -> Response {
    let q = match ExecQuery::parse(query.as_deref()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    match cluster.exec_check(&ns, &name, q.container.as_deref()) {
        Err(e) => e.into_response(),
        Ok(_) => {
            ApiError::bad_request("the practice cluster only supports exec over WebSockets (v5.channel.k8s.io); use kubectl 1.30 or newer").into_response()
        }
    }
}

/// How long a command takes to start (see [`session`]).
const PROCESS_START: std::time::Duration = std::time::Duration::from_millis(100);

/// A message on `channel`.
fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(Bytes::from(v))
}

/// Sends `data` on `channel` in frames; `tty` turns `\n` into `\r\n` as a terminal does.
async fn send_data(socket: &mut WebSocket, channel: u8, data: &[u8], tty: bool) -> bool {
    if data.is_empty() {
        return true;
    }
    let data = if tty { crlf(data) } else { data.to_vec() };
    for chunk in data.chunks(FRAME) {
        if socket.send(frame(channel, chunk)).await.is_err() {
            return false;
        }
    }
    true
}

fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// The channel-3 status Kubernetes sends when a command ends.
fn exit_status(command: &[String], code: i32) -> serde_json::Value {
    if code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
    }
}

/// Ends a session: the status on channel 3, then a normal close.
async fn finish(socket: &mut WebSocket, status: serde_json::Value) {
    let text = status.to_string();
    if socket.send(frame(ERROR, text.as_bytes())).await.is_ok() {
        let close = CloseFrame { code: close_code::NORMAL, reason: "".into() };
        if socket.send(Message::Close(Some(close))).await.is_ok() {
            // Wait for the client's own close: a connection closed with input still
            // unread is reset, and a client may then lose output it had not read yet.
            let drain = async { while let Some(Ok(_)) = socket.recv().await {} };
            let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
        }
    }
}

/// Runs a command on a blocking thread.
async fn run(
    cluster: Arc<Cluster>,
    ns: String,
    name: String,
    container: Option<String>,
    cwd: Option<String>,
    argv: Vec<String>,
    stdin: Vec<u8>,
) -> Result<ExecOutput> {
    tokio::task::spawn_blocking(move || cluster.exec_in(&ns, &name, container.as_deref(), cwd.as_deref(), &argv, &stdin))
        .await
        .map_err(|e| ApiError::internal(format!("the command could not be run: {e}")))?
}

async fn session(mut socket: WebSocket, cluster: Arc<Cluster>, ns: String, name: String, q: ExecQuery) {
    // A process on a node takes a moment to start. kubectl (client-go) starts reading
    // the socket before it has registered its streams, and discards a frame that
    // arrives in between ("Unknown stream id 1, discarding message", then "closed all
    // streams"): a command that answers at once must not answer before then.
    tokio::time::sleep(PROCESS_START).await;
    if q.interactive_shell() {
        return repl(socket, cluster, ns, name, q).await;
    }
    // A terminal session runs at once (its stdin never ends); piped stdin is read to its end.
    let stdin = if q.stdin && !q.tty { read_stdin(&mut socket).await } else { Vec::new() };
    match run(cluster, ns, name, q.container.clone(), None, q.command.clone(), stdin).await {
        Ok(out) => {
            let ok = send_data(&mut socket, STDOUT, &out.stdout, q.tty).await;
            // A terminal has one output stream.
            let channel = if q.tty { STDOUT } else { STDERR };
            if ok && send_data(&mut socket, channel, &out.stderr, q.tty).await {
                finish(&mut socket, exit_status(&q.command, out.exit_code)).await;
            }
        }
        Err(e) => finish(&mut socket, e.to_status()).await,
    }
}

/// Reads channel 0 until the client closes it (v5), closes the socket, or sends too
/// much. A client that sends nothing at all for a moment (a terminal's stdin that is
/// not being typed into) gets the command run with empty input, so commands that do
/// not read stdin finish as they would on a real node.
async fn read_stdin(socket: &mut WebSocket) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let wait = if data.is_empty() { STDIN_FIRST_WAIT } else { STDIN_IDLE_WAIT };
        let Ok(Some(Ok(msg))) = tokio::time::timeout(wait, socket.recv()).await else { break };
        match msg {
            Message::Binary(b) => match b.first() {
                Some(&STDIN) => {
                    data.extend_from_slice(&b[1..]);
                    if data.len() > MAX_STDIN {
                        break;
                    }
                }
                Some(&CLOSE) if b.get(1) == Some(&STDIN) => break,
                _ => {}
            },
            Message::Close(_) => break,
            _ => {}
        }
    }
    data
}

/// An interactive `sh` on a terminal: echoes keys, edits the line, runs each line.
async fn repl(mut socket: WebSocket, cluster: Arc<Cluster>, ns: String, name: String, q: ExecQuery) {
    let bash = q.command[0].ends_with("bash");
    let pwd = run(cluster.clone(), ns.clone(), name.clone(), q.container.clone(), None, vec!["pwd".into()], Vec::new()).await;
    let mut cwd = pwd.map(|o| o.stdout_text().trim().to_owned()).unwrap_or_default();
    if !cwd.starts_with('/') {
        cwd = "/".to_owned();
    }
    let prompt = |cwd: &str| if bash { format!("root@{name}:{cwd}# ") } else { format!("{cwd} # ") };
    let mut line: Vec<u8> = Vec::new();
    let mut escape = 0u8;
    if !send_data(&mut socket, STDOUT, prompt(&cwd).as_bytes(), false).await {
        return;
    }
    let mut last_code = 0;
    while let Some(Ok(msg)) = socket.recv().await {
        let bytes = match msg {
            Message::Binary(b) if b.first() == Some(&STDIN) => b.slice(1..),
            Message::Binary(b) if b.first() == Some(&CLOSE) => break,
            Message::Binary(b) if b.first() == Some(&RESIZE) => continue,
            Message::Close(_) => return,
            _ => continue,
        };
        let mut echo = Vec::new();
        for &b in bytes.iter() {
            // Swallow the rest of an escape sequence (arrow keys and the like).
            if escape > 0 {
                escape = match (escape, b) {
                    (1, b'[' | b'O') => 2,
                    (2, b) if !(0x40..=0x7e).contains(&b) => 2,
                    _ => 0,
                };
                continue;
            }
            match b {
                0x1b => escape = 1,
                b'\r' | b'\n' => {
                    echo.extend_from_slice(b"\r\n");
                    if !send_data(&mut socket, STDOUT, &echo, false).await {
                        return;
                    }
                    echo.clear();
                    let text = String::from_utf8_lossy(&line).trim().to_owned();
                    line.clear();
                    match shell_line(&cluster, &ns, &name, &q, &mut cwd, &text).await {
                        LineResult::Exit(code) => {
                            return finish(&mut socket, exit_status(&q.command, code)).await;
                        }
                        LineResult::Output(out) => {
                            last_code = out.exit_code;
                            if !send_data(&mut socket, STDOUT, &out.stdout, true).await || !send_data(&mut socket, STDOUT, &out.stderr, true).await {
                                return;
                            }
                        }
                    }
                    echo.extend_from_slice(prompt(&cwd).as_bytes());
                }
                0x7f | 0x08 if !line.is_empty() => {
                    // Drop a whole multi-byte character.
                    while line.pop().is_some_and(|c| (c & 0xc0) == 0x80) {}
                    echo.extend_from_slice(b"\x08 \x08");
                }
                0x03 => {
                    line.clear();
                    echo.extend_from_slice(b"^C\r\n");
                    echo.extend_from_slice(prompt(&cwd).as_bytes());
                }
                0x04 if line.is_empty() => {
                    let _ = send_data(&mut socket, STDOUT, &echo, false).await;
                    let _ = send_data(&mut socket, STDOUT, b"exit\r\n", false).await;
                    return finish(&mut socket, exit_status(&q.command, last_code)).await;
                }
                0x15 => {
                    for _ in 0..String::from_utf8_lossy(&line).chars().count() {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                    line.clear();
                }
                b if (b >= 0x20 || b == b'\t') && line.len() < MAX_LINE => {
                    line.push(b);
                    echo.push(b);
                }
                _ => {}
            }
        }
        if !send_data(&mut socket, STDOUT, &echo, false).await {
            return;
        }
    }
    finish(&mut socket, exit_status(&q.command, last_code)).await;
}

enum LineResult {
    Exit(i32),
    Output(ExecOutput),
}

/// Runs one line of an interactive shell, keeping `cd` between lines.
async fn shell_line(cluster: &Arc<Cluster>, ns: &str, name: &str, q: &ExecQuery, cwd: &mut String, text: &str) -> LineResult {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [] => return LineResult::Output(ExecOutput::default()),
        ["exit"] => return LineResult::Exit(0),
        ["exit", code] => return LineResult::Exit(code.parse().unwrap_or(2)),
        ["cd", rest @ ..] if rest.len() <= 1 => {
            let target = match rest.first() {
                None | Some(&"~") => "/root".to_owned(),
                Some(dir) => resolve(cwd, dir),
            };
            let probe = vec!["sh".to_owned(), "-c".to_owned(), format!("cd '{}' && pwd", target.replace('\'', "'\\''"))];
            let out = run(cluster.clone(), ns.to_owned(), name.to_owned(), q.container.clone(), Some(cwd.clone()), probe, Vec::new()).await;
            return match out {
                Ok(o) if o.exit_code == 0 => {
                    *cwd = o.stdout_text().trim().to_owned();
                    LineResult::Output(ExecOutput::default())
                }
                Ok(o) => LineResult::Output(o),
                Err(e) => LineResult::Output(ExecOutput { stderr: format!("{}\n", e.message).into_bytes(), exit_code: 1, ..Default::default() }),
            };
        }
        _ => {}
    }
    let argv = vec![q.command[0].clone(), "-c".to_owned(), text.to_owned()];
    match run(cluster.clone(), ns.to_owned(), name.to_owned(), q.container.clone(), Some(cwd.clone()), argv, Vec::new()).await {
        Ok(out) => LineResult::Output(out),
        // The container is gone (restarted or deleted): the session ends like a killed shell.
        Err(_) => LineResult::Exit(137),
    }
}

/// `GET .../pods/{name}/log`.
pub async fn log(State(cluster): State<Arc<Cluster>>, Path((ns, name)): Path<(String, String)>, RawQuery(query): RawQuery) -> Response {
    match log_response(cluster, &ns, &name, query.as_deref()) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn log_response(cluster: Arc<Cluster>, ns: &str, name: &str, query: Option<&str>) -> Result<Response> {
    let p = Params::parse(query)?;
    let number = |key: &str| -> Result<Option<i64>> {
        p.first(key).map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid {key} {v:?}: must be a whole number")))).transpose()
    };
    let tail = number("tailLines")?;
    let since = number("sinceSeconds")?;
    let limit = number("limitBytes")?;
    let timestamps = truthy(p.first("timestamps"));
    let follow = truthy(p.first("follow"));
    let previous = truthy(p.first("previous"));
    let logs = cluster.log_source(ns, name, p.first("container"), previous)?;
    let now = cluster.clock.now();
    let render = move |l: &LogLine| {
        if timestamps { format!("{} {}\n", l.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), l.text) } else { format!("{}\n", l.text) }
    };
    let mut lines = logs.lines();
    if let Some(s) = since {
        let from = now.checked_sub(jiff::SignedDuration::from_secs(s.max(0))).unwrap_or(now);
        lines.retain(|l| l.at >= from);
    }
    if let Some(t) = tail.filter(|t| *t >= 0) {
        let keep = usize::try_from(t).unwrap_or(usize::MAX);
        lines.drain(..lines.len().saturating_sub(keep));
    }
    let mut text: String = lines.iter().map(&render).collect();
    if let Some(l) = limit.filter(|l| *l > 0) {
        let mut cut = usize::try_from(l).unwrap_or(usize::MAX).min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let plain = [(header::CONTENT_TYPE, "text/plain")];
    if !follow || previous || logs.is_closed() {
        return Ok((plain, text).into_response());
    }
    let (_, seen) = logs.since(u64::MAX);
    let rx = logs.subscribe();
    let first = futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(text))]);
    let rest = futures::stream::unfold((logs, rx, seen), move |(logs, mut rx, seen)| async move {
        loop {
            let (new, total) = logs.since(seen);
            if !new.is_empty() {
                let chunk: String = new.iter().map(&render).collect();
                return Some((Ok(Bytes::from(chunk)), (logs, rx, total)));
            }
            if logs.is_closed() || rx.changed().await.is_err() {
                return None;
            }
        }
    });
    Ok((plain, Body::from_stream(first.chain(rest))).into_response())
}

/// `[scheme:]name[:port]` as the proxy subresource spells its target.
fn split_target(spec: &str) -> (Option<&str>, &str, Option<&str>) {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [name] => (None, name, None),
        [s @ ("http" | "https"), name] => (Some(s), name, None),
        [name, port] => (None, name, Some(port)),
        [s, name, port, ..] => (Some(s), name, Some(port)),
        [] => (None, spec, None),
    }
}

/// The pod port a proxy request names: a number, a container port's name, or (none
/// given) the first container port, else 80.
fn pod_port(pod: &Pod, port: Option<&str>) -> Result<u16> {
    let ports: Vec<_> = pod.spec.iter().flat_map(|s| s.containers.iter()).flat_map(|c| c.ports.iter().flatten()).collect();
    match port {
        None => Ok(ports.first().and_then(|p| u16::try_from(p.container_port).ok()).unwrap_or(80)),
        Some(p) => match p.parse::<u16>() {
            Ok(n) => Ok(n),
            Err(_) => ports
                .iter()
                .find(|cp| cp.name.as_deref() == Some(p))
                .and_then(|cp| u16::try_from(cp.container_port).ok())
                .ok_or_else(|| ApiError::unavailable(format!("no such port {p:?} in pod {}", pod.metadata.name.as_deref().unwrap_or_default()))),
        },
    }
}

fn target_path(path: Option<&str>, query: Option<&str>) -> String {
    let mut t = format!("/{}", path.unwrap_or_default().trim_start_matches('/'));
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        t.push('?');
        t.push_str(q);
    }
    t
}

fn proxy_to_pod(cluster: &Cluster, ns: &str, spec: &str, method: &Method, target: &str) -> Result<Response> {
    let (scheme, name, port) = split_target(spec);
    let pod = cluster.store.pods.get(ns, name).ok_or_else(|| ApiError::not_found("pods", "", name))?;
    let port = pod_port(&pod, port)?;
    if scheme == Some("https") {
        return Err(ApiError::unavailable("error trying to reach service: http: server gave HTTP response to HTTPS client"));
    }
    let response = cluster.http_request(ns, name, port, method.as_str(), target)?;
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = if method == Method::HEAD { String::new() } else { response.body };
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static(response.content_type))], body).into_response())
}

/// `.../pods/{name}/proxy`: forwards to the pod's app.
pub async fn proxy_root(State(cluster): State<Arc<Cluster>>, Path((ns, name)): Path<(String, String)>, method: Method, RawQuery(query): RawQuery) -> Response {
    let target = target_path(None, query.as_deref());
    off_runtime(move || proxy_to_pod(&cluster, &ns, &name, &method, &target).unwrap_or_else(IntoResponse::into_response)).await
}

/// `.../pods/{name}/proxy/{path}`: forwards to the pod's app.
pub async fn proxy(
    State(cluster): State<Arc<Cluster>>,
    Path((ns, name, path)): Path<(String, String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    let target = target_path(Some(&path), query.as_deref());
    off_runtime(move || proxy_to_pod(&cluster, &ns, &name, &method, &target).unwrap_or_else(IntoResponse::into_response)).await
}

/// Picks a ready pod behind a Service and the pod port its service port targets.
fn service_backend(cluster: &Cluster, ns: &str, spec: &str) -> Result<(String, String)> {
    let (_, name, port) = split_target(spec);
    let svc = cluster.store.services.get(ns, name).ok_or_else(|| ApiError::not_found("services", "", name))?;
    let s = svc.spec.clone().unwrap_or_default();
    let ports = s.ports.unwrap_or_default();
    let sp = match port {
        None => ports.first(),
        Some(p) => ports.iter().find(|sp| sp.name.as_deref() == Some(p) || sp.port.to_string() == p),
    }
    .ok_or_else(|| ApiError::unavailable(format!("no such port on service \"{name}\"")))?;
    let target = match &sp.target_port {
        Some(IntOrString::String(n)) => n.clone(),
        Some(IntOrString::Int(n)) => n.to_string(),
        None => sp.port.to_string(),
    };
    let selector = s.selector.unwrap_or_default();
    let (pods, _) = cluster.store.pods.list(Some(ns));
    let ready: Vec<String> = pods
        .iter()
        .filter(|p| !selector.is_empty() && p.metadata.deletion_timestamp.is_none())
        .filter(|p| selector.iter().all(|(k, v)| p.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v)))
        .filter(|p| p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True")))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    if ready.is_empty() {
        return Err(ApiError::unavailable(format!("no endpoints available for service \"{name}\"")));
    }
    // Like kube-proxy, any ready endpoint may answer.
    let pick = (uuid::Uuid::new_v4().as_u128() % ready.len() as u128) as usize;
    Ok((format!("{}:{target}", ready[pick]), name.to_owned()))
}

/// `.../services/{name}/proxy/{path}`: forwards to a ready pod behind the Service.
pub async fn service_proxy(
    State(cluster): State<Arc<Cluster>>,
    Path((ns, name, path)): Path<(String, String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    let target = target_path(Some(&path), query.as_deref());
    off_runtime(move || {
        service_backend(&cluster, &ns, &name)
            .and_then(|(pod, _)| proxy_to_pod(&cluster, &ns, &pod, &method, &target))
            .unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

/// `.../services/{name}/proxy`: forwards to a ready pod behind the Service.
pub async fn service_proxy_root(
    State(cluster): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    let target = target_path(None, query.as_deref());
    off_runtime(move || {
        service_backend(&cluster, &ns, &name)
            .and_then(|(pod, _)| proxy_to_pod(&cluster, &ns, &pod, &method, &target))
            .unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_targets_split_like_the_api_server() {
        assert_eq!(split_target("web-0"), (None, "web-0", None));
        assert_eq!(split_target("web-0:8000"), (None, "web-0", Some("8000")));
        assert_eq!(split_target("http:web-0:8000"), (Some("http"), "web-0", Some("8000")));
        assert_eq!(split_target("https:web-0"), (Some("https"), "web-0", None));
    }

    #[test]
    fn terminals_get_carriage_returns_once() {
        assert_eq!(crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
    }

    #[test]
    fn exit_status_matches_kubernetes() {
        let s = exit_status(&["sh".into(), "-c".into(), "exit 3".into()], 3);
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(s["details"]["causes"][0], json!({"reason": "ExitCode", "message": "3"}));
        assert_eq!(exit_status(&[], 0), json!({"metadata": {}, "status": "Success"}));
    }
}
