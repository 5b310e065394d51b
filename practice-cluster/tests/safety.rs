//! Hostile and careless requests against a running lab: each is answered with the
//! right 4xx `Status`, and `kubectl get pods` keeps working afterwards.
//!
//! Requests a browser page could make are sent byte for byte over TCP, so the test
//! controls every header (`Host`, `Origin`, `Content-Type`) as a page would.

mod common;

use std::net::SocketAddr;

use common::{Lab, row, rows};
use practice_cluster::limits::Limits;
use practice_cluster::{Clock, Config, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READY_IN: f64 = 40.0;

/// An HTTP answer: status code and body.
struct Answer {
    code: u16,
    body: String,
}

/// Sends `head` (request line and headers, without the blank line) and `body`, and
/// reads the answer until the server closes the connection.
async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!("{head}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream.write_all(body).await.expect("send body");
    let mut bytes = Vec::new();
    // A 101 keeps the connection open: stop after its head.
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).await.expect("read answer");
        bytes.extend_from_slice(&buf[..n]);
        if n == 0 || bytes.starts_with(b"HTTP/1.1 101") && bytes.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Answer { code, body }
}

/// `kubectl get pods` still lists the three lab pods as Running.
fn pods_still_listed(lab: &Lab) {
    let out = lab.ok(&["get", "pods"]);
    let r = rows(&out);
    for n in 0..3 {
        assert_eq!(row(&r, &format!("web-{n}"))[2], "Running", "{out}");
    }
}

fn exec_upgrade(addr: SocketAddr, origin: Option<&str>) -> String {
    let origin = origin.map(|o| format!("\r\nOrigin: {o}")).unwrap_or_default();
    format!(
        "GET /api/v1/namespaces/default/pods/web-0/exec?command=hostname&stdout=true HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io{origin}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_a_web_page_could_make_are_refused() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let addr = lab.running.addr;

    let evil = raw(addr, &exec_upgrade(addr, Some("https://evil.example")), b"").await;
    assert_eq!(evil.code, 403, "cross-origin exec: {}", evil.body);
    assert!(evil.body.contains(r#""reason":"Forbidden""#) && evil.body.contains("evil.example"), "{}", evil.body);
    let local = raw(addr, &exec_upgrade(addr, Some("http://localhost:3000")), b"").await;
    assert_eq!(local.code, 101, "a loopback page (the dashboard) may exec: {}", local.body);
    let kubectl_like = raw(addr, &exec_upgrade(addr, None), b"").await;
    assert_eq!(kubectl_like.code, 101, "clients without Origin may exec: {}", kubectl_like.body);

    // A no-preflight fetch from a page, even one on loopback: text/plain, or a Blob body
    // with no Content-Type at all (the browser still says where it comes from).
    let service = br#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"evil"},"spec":{"ports":[{"port":80}]}}"#;
    for headers in [
        "\r\nContent-Type: text/plain;charset=UTF-8",
        "\r\nContent-Type: text/plain;charset=UTF-8\r\nOrigin: http://localhost:8080\r\nSec-Fetch-Site: same-site",
        "\r\nOrigin: http://localhost:8080\r\nSec-Fetch-Mode: cors",
        "\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors",
    ] {
        let head = format!("POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}{headers}", service.len());
        let answer = raw(addr, &head, service).await;
        assert_eq!(answer.code, 415, "{headers:?}: {}", answer.body);
        assert!(answer.body.contains(r#""reason":"UnsupportedMediaType""#), "{}", answer.body);
    }
    assert_eq!(lab.kubectl(&["get", "service", "evil"]).status.code(), Some(1), "nothing was created");
    // The Python client (kubernetes 37) sends its JSON with no Content-Type and no
    // browser headers: taken as JSON, as kube-apiserver takes it.
    let service = br#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"from-python"},"spec":{"ports":[{"port":80}]}}"#;
    let head = format!(
        "POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nUser-Agent: OpenAPI-Generator/37.0.2/python",
        service.len()
    );
    let answer = raw(addr, &head, service).await;
    assert_eq!(answer.code, 201, "{}", answer.body);
    lab.ok(&["get", "service", "from-python"]);

    // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1.
    let rebound = raw(addr, "GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: evil.example:6443", b"").await;
    assert_eq!(rebound.code, 403, "{}", rebound.body);
    let named = raw(addr, &format!("GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: localhost:{}", addr.port()), b"").await;
    assert_eq!(named.code, 200, "localhost is loopback: {}", named.body);
    pods_still_listed(&lab);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_that_cost_too_much_are_refused() {
    let limits = Limits { max_replicas: 50, objects_per_namespace: 3 };
    let lab = Lab::with(Options { clock: Clock::manual(jiff::Timestamp::now()), config: Config { limits, ..Config::default() }, ..Options::default() }).await;
    lab.advance(READY_IN);
    let addr = lab.running.addr;

    // A JSON patch that copies a list into itself 40 times would be 2^40 times larger.
    let mut bomb = vec![r#"{"op":"add","path":"/metadata/finalizers","value":["x"]}"#.to_owned()];
    for _ in 0..40 {
        bomb.push(r#"{"op":"copy","from":"/metadata/finalizers","path":"/metadata/finalizers/-"}"#.to_owned());
        bomb.push(r#"{"op":"copy","from":"/metadata/finalizers","path":"/metadata/labels"}"#.to_owned());
        bomb.push(r#"{"op":"move","from":"/metadata/labels","path":"/metadata/finalizers"}"#.to_owned());
    }
    let bomb = format!("[{}]", bomb.join(","));
    let out = lab.kubectl(&["patch", "service", "web", "--type=json", "-p", &bomb]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("accumulated size increase of copy"), "{err}");
    assert_eq!(lab.ok(&["get", "service", "web", "-o", "jsonpath={.metadata.finalizers}"]), "", "the service is unchanged");

    // Nesting deeper than any object, as JSON and as YAML.
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let head =
        format!("POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}", deep_json.len());
    let answer = raw(addr, &head, deep_json.as_bytes()).await;
    assert_eq!(answer.code, 400, "{}", answer.body);
    assert!(answer.body.contains("recursion limit exceeded"), "{}", answer.body);
    let deep_yaml = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let head =
        format!("POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/yaml\r\nContent-Length: {}", deep_yaml.len());
    let answer = raw(addr, &head, deep_yaml.as_bytes()).await;
    assert_eq!(answer.code, 400, "{}", answer.body);

    // Bodies over 3 MiB: announced, or sent in chunks.
    let head = format!("POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1073741824");
    let answer = raw(addr, &head, b"").await;
    assert_eq!(answer.code, 413, "{}", answer.body);
    assert!(answer.body.contains("Request entity too large: limit is 3145728"), "{}", answer.body);
    let chunk = vec![b' '; 64 * 1024];
    let mut chunked = Vec::new();
    for _ in 0..(3 * 16 + 1) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!("POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked");
    let answer = raw(addr, &head, &chunked).await;
    assert_eq!(answer.code, 413, "{}", answer.body);

    // An object over 1.5 MiB in a body under 3 MiB.
    let manifest = lab.dir.join("big.json");
    let big = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "big", "annotations": {"note": "x".repeat(2 << 20)}}, "spec": {"ports": [{"port": 80}]}});
    std::fs::write(&manifest, big.to_string()).expect("write manifest");
    let out = lab.kubectl(&["create", "--validate=false", "-f", manifest.to_str().expect("path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RequestEntityTooLarge") && err.contains("the limit is 1572864"), "{err}");

    // Shell loops, output floods and a pattern that backtracks: each stops at its
    // budget with a message, and the lab goes on.
    let pattern = format!("x=a; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17; do x=$x$x; done; echo ${{x##{}b}}", "*a".repeat(10));
    for script in ["while true; do :; done", "while true; do echo flood; done", pattern.as_str()] {
        let out = lab.kubectl(&["exec", "web-0", "--", "sh", "-c", script]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{script}: {err}");
        assert!(err.contains("budget"), "{script}: {err}");
    }
    pods_still_listed(&lab);

    // Replicas over the cap, through scale and through patch.
    let out = lab.kubectl(&["scale", "statefulset", "web", "--replicas=51"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spec.replicas: Invalid value: 51: must be less than or equal to 50"), "{err}");
    let out = lab.kubectl(&["patch", "statefulset", "web", "-p", r#"{"spec":{"replicas":100000}}"#]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spec.replicas: Invalid value: 100000: must be less than or equal to 50"), "{err}");
    assert_eq!(lab.ok(&["get", "statefulset", "web", "-o", "jsonpath={.spec.replicas}"]), "3");

    // The namespace's quota: `kubernetes`, `web` and one more service.
    let service = |name: &str| {
        let path = lab.dir.join(format!("{name}.json"));
        let svc = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}});
        std::fs::write(&path, svc.to_string()).expect("write manifest");
        lab.kubectl(&["create", "--validate=false", "-f", path.to_str().expect("path")])
    };
    assert!(service("extra").status.success());
    let out = service("one-too-many");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Forbidden") && err.contains("exceeded quota: practice-cluster"), "{err}");

    pods_still_listed(&lab);
}

#[tokio::test(flavor = "multi_thread")]
async fn listening_beyond_loopback_needs_the_flag_and_then_tls_and_a_token() {
    let anywhere: SocketAddr = "0.0.0.0:0".parse().expect("address");
    let refused = practice_cluster::start(Options { listen: anywhere, empty: true, ..Options::default() }).await;
    let err = refused.expect_err("a non-loopback address without allow_remote").to_string();
    assert!(err.contains("--allow-remote"), "{err}");

    let lab = Lab::with(Options { listen: anywhere, allow_remote: true, clock: Clock::manual(jiff::Timestamp::now()), ..Options::default() }).await;
    lab.advance(READY_IN);
    assert!(lab.running.url().starts_with("https://127.0.0.1:"), "{}", lab.running.url());
    pods_still_listed(&lab);

    let token = lab.running.token.clone().expect("a generated token");
    let kubeconfig = std::fs::read_to_string(&lab.kubeconfig).expect("read kubeconfig");
    std::fs::write(&lab.kubeconfig, kubeconfig.replace(&token, "not-the-token")).expect("kubeconfig");
    let out = lab.kubectl(&["get", "pods"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("You must be logged in to the server"), "{err}");
}
