//! The kubectl tools a student reaches for beside the lab's transcript, with the real
//! `kubectl`: port-forward to a pod and to a service (and HTTP through it), cp both
//! ways, discovery, `kubectl create service` and `create namespace` (which send
//! protobuf), and each start-up scenario as `kubectl get pods` shows it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use common::{Lab, row, rows};
use jiff::Timestamp;
use practice_cluster::{Clock, Options, Scenario};

const READY_IN: f64 = 40.0;

/// A running `kubectl port-forward`, stopped on drop.
struct Forward {
    child: Child,
    port: u16,
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kubectl port-forward TARGET :REMOTE` and waits for its
/// `Forwarding from 127.0.0.1:PORT` line.
fn port_forward(lab: &Lab, target: &str, remote: u16) -> Forward {
    let mut child = lab.spawn(&["port-forward", target, &format!(":{remote}")]);
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // A guard against a hang, not a speed requirement.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        if let Some(rest) = line.strip_prefix("Forwarding from 127.0.0.1:") {
            let port = rest.split(' ').next().and_then(|p| p.parse().ok()).expect("local port");
            return Forward { child, port };
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("port-forward output");
    panic!("kubectl port-forward {target} did not start: {}", String::from_utf8_lossy(&out.stderr));
}

/// `GET path` on 127.0.0.1:`port` as curl sends it; returns the whole response.
fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the forwarded port");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n").expect("send request");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read response");
    response
}

#[tokio::test(flavor = "multi_thread")]
async fn port_forward_to_a_pod_counts_visits_on_that_pod() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let forward = port_forward(&lab, "pod/web-1", 8000);
    let first = http_get(forward.port, "/");
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(first.ends_with("Hello from web-1! This is visit number 1.\n"), "{first}");
    let second = http_get(forward.port, "/");
    assert!(second.ends_with("This is visit number 2.\n"), "{second}");
    assert!(http_get(forward.port, "/visits").ends_with("\r\n\r\n2\n"));
    assert!(http_get(forward.port, "/nope").starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert_eq!(lab.ok(&["exec", "web-1", "--", "cat", "/data/visits"]).trim(), "2", "counted on web-1's volume");
    let other = lab.kubectl(&["exec", "web-0", "--", "cat", "/data/visits"]);
    assert_eq!(other.status.code(), Some(1), "web-0 was not visited");
}

#[tokio::test(flavor = "multi_thread")]
async fn port_forward_to_a_service_reaches_one_of_its_pods() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let forward = port_forward(&lab, "svc/web", 8000);
    let response = http_get(forward.port, "/");
    let greeting = response.lines().last().unwrap_or_default();
    let pod = greeting.strip_prefix("Hello from ").and_then(|r| r.split('!').next()).unwrap_or_else(|| panic!("{response}"));
    assert!(["web-0", "web-1", "web-2"].contains(&pod), "{response}");
    assert_eq!(lab.ok(&["exec", pod, "--", "cat", "/data/visits"]).trim(), "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_old_spdy_upgrade_gets_a_clear_error() {
    let lab = Lab::start().await;
    let mut s = TcpStream::connect(lab.running.addr).expect("connect to the API");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(
        s,
        "POST /api/v1/namespaces/default/pods/web-0/portforward HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        response.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&response).contains("}") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("use kubectl 1.30 or newer"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cp_copies_files_out_of_and_into_a_pod() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    lab.visit("web-0");
    lab.visit("web-0");
    let local = lab.dir.join("visits");
    let local_s = local.to_str().expect("utf-8 path");
    lab.ok(&["cp", "web-0:/data/visits", local_s]);
    assert_eq!(std::fs::read_to_string(&local).expect("copied file"), "2\n");

    let notes = lab.dir.join("notes.txt");
    std::fs::write(&notes, "bring snacks\n").expect("write");
    lab.ok(&["cp", notes.to_str().expect("utf-8 path"), "web-0:/data/notes.txt"]);
    assert_eq!(lab.ok(&["exec", "web-0", "--", "cat", "/data/notes.txt"]), "bring snacks\n");
    // Into a directory: kubectl appends the file's name.
    lab.ok(&["cp", notes.to_str().expect("utf-8 path"), "web-1:/data"]);
    assert_eq!(lab.ok(&["exec", "web-1", "--", "cat", "/data/notes.txt"]), "bring snacks\n");

    let tree = lab.dir.join("tree");
    lab.ok(&["cp", "web-0:/data", tree.to_str().expect("utf-8 path")]);
    assert_eq!(std::fs::read_to_string(tree.join("visits")).expect("visits in the tree"), "2\n");
    assert_eq!(std::fs::read_to_string(tree.join("notes.txt")).expect("notes in the tree"), "bring snacks\n");

    // Nothing to copy, nothing copied. (Whether kubectl prints tar's complaint and fails
    // is a race in kubectl itself, as on a real cluster: kubernetes/kubectl#980.)
    lab.kubectl(&["cp", "web-0:/data/nope", lab.dir.join("nope").to_str().expect("utf-8 path")]);
    assert!(!lab.dir.join("nope").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_lists_only_what_is_served() {
    let lab = Lab::start().await;
    let resources = lab.ok(&["api-resources"]);
    let table = rows(&resources);
    let sts = row(&table, "statefulsets");
    assert_eq!(&sts[1..], ["sts", "apps/v1", "true", "StatefulSet"], "{resources}");
    let versions = lab.ok(&["api-versions"]);
    for gv in versions.lines() {
        let path = if gv == "v1" { "/api/v1".to_owned() } else { format!("/apis/{gv}") };
        let list: serde_json::Value = serde_json::from_str(&lab.ok(&["get", "--raw", &path])).expect("APIResourceList");
        let served = list["resources"].as_array().map(Vec::len).unwrap_or_default();
        assert!(served > 0, "{gv} is listed but serves nothing");
    }
    assert_eq!(lab.ok(&["scale", "sts", "web", "--replicas=4"]).trim(), "statefulset.apps/web scaled");
}

/// `kubectl get KIND NAME -o json`, parsed.
fn get_json(lab: &Lab, args: &[&str]) -> serde_json::Value {
    let out = lab.ok(&[args, &["-o", "json"]].concat());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl get {args:?}: {e}\n{out}"))
}

/// kubectl's typed `create` commands write protobuf, not JSON: each kind of service a
/// course creates, and a namespace, then read back and deleted as a student would.
#[tokio::test(flavor = "multi_thread")]
async fn create_service_and_namespace_send_protobuf_and_work() {
    let lab = Lab::start().await;
    assert_eq!(lab.ok(&["create", "service", "clusterip", "web-h", "--clusterip=None", "--tcp=80:8080"]).trim(), "service/web-h created");
    assert_eq!(lab.ok(&["create", "service", "clusterip", "web2", "--tcp=80:8080"]).trim(), "service/web2 created");
    assert_eq!(lab.ok(&["create", "service", "nodeport", "np", "--tcp=80:8080"]).trim(), "service/np created");
    assert_eq!(lab.ok(&["create", "service", "externalname", "ext", "--external-name", "example.com"]).trim(), "service/ext created");
    assert_eq!(lab.ok(&["create", "namespace", "class-a"]).trim(), "namespace/class-a created");

    let headless = get_json(&lab, &["get", "svc", "web-h"]);
    assert_eq!(headless["spec"]["clusterIP"], "None", "{headless}");
    assert_eq!(headless["spec"]["type"], "ClusterIP", "{headless}");
    assert_eq!(headless["spec"]["selector"], serde_json::json!({"app": "web-h"}), "{headless}");
    assert_eq!(headless["metadata"]["labels"], serde_json::json!({"app": "web-h"}), "{headless}");
    assert_eq!(headless["spec"]["ports"], serde_json::json!([{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}]), "{headless}");
    assert_eq!(headless["spec"]["sessionAffinity"], "None", "defaulted as for JSON: {headless}");

    let web2 = get_json(&lab, &["get", "svc", "web2"]);
    let ip = web2["spec"]["clusterIP"].as_str().unwrap_or_default();
    assert!(ip.starts_with("10.96."), "a cluster IP is allocated: {web2}");

    let np = get_json(&lab, &["get", "svc", "np"]);
    assert_eq!(np["spec"]["type"], "NodePort", "{np}");
    assert_eq!(np["spec"]["ports"][0]["port"], 80, "{np}");
    assert_eq!(np["spec"]["ports"][0]["targetPort"], 8080, "{np}");

    let ext = get_json(&lab, &["get", "svc", "ext"]);
    assert_eq!(ext["spec"]["type"], "ExternalName", "{ext}");
    assert_eq!(ext["spec"]["externalName"], "example.com", "{ext}");
    assert!(ext["spec"].get("clusterIP").is_none(), "an ExternalName service has no cluster IP: {ext}");

    let table = rows(&lab.ok(&["get", "svc"]));
    assert_eq!(&row(&table, "web-h")[1..5], ["ClusterIP", "None", "<none>", "80/TCP"], "{table:?}");
    assert_eq!(&row(&table, "ext")[1..4], ["ExternalName", "<none>", "example.com"], "{table:?}");

    let ns = get_json(&lab, &["get", "ns", "class-a"]);
    assert_eq!(ns["status"]["phase"], "Active", "{ns}");
    assert_eq!(row(&rows(&lab.ok(&["get", "ns"])), "class-a")[1], "Active");
    // The new namespace takes objects, again in protobuf.
    assert_eq!(lab.ok(&["create", "service", "clusterip", "db", "-n", "class-a", "--tcp=5432"]).trim(), "service/db created");
    assert_eq!(get_json(&lab, &["get", "svc", "db", "-n", "class-a"])["metadata"]["namespace"], "class-a");

    // Creating it again is the JSON path's 409, not a decoding error.
    let again = lab.kubectl(&["create", "service", "clusterip", "web-h", "--clusterip=None", "--tcp=80:8080"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains(r#"services "web-h" already exists"#), "{}", String::from_utf8_lossy(&again.stderr));

    assert_eq!(lab.ok(&["delete", "svc", "web-h"]).trim(), r#"service "web-h" deleted"#);
    assert_eq!(lab.kubectl(&["get", "svc", "web-h"]).status.code(), Some(1), "web-h is gone");
}

async fn scenario(which: Scenario) -> Lab {
    Lab::with(Options { scenario: which, clock: Clock::manual(Timestamp::now()), ..Options::default() }).await
}

/// `(READY, STATUS)` of every pod, as `kubectl get pods` prints them.
fn statuses(lab: &Lab) -> Vec<(String, String, String)> {
    rows(&lab.ok(&["get", "pods"])).into_iter().skip(1).map(|r| (r[0].clone(), r[1].clone(), r[2].clone())).collect()
}

fn s(name: &str, ready: &str, status: &str) -> (String, String, String) {
    (name.to_owned(), ready.to_owned(), status.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lab_scenario_runs_three_ready_pods() {
    let lab = scenario(Scenario::Lab).await;
    lab.advance(READY_IN);
    assert_eq!(statuses(&lab), [s("web-0", "1/1", "Running"), s("web-1", "1/1", "Running"), s("web-2", "1/1", "Running")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_parallel_scenario_starts_every_pod_at_once() {
    let lab = scenario(Scenario::Parallel).await;
    lab.advance(1.0);
    let early: Vec<String> = statuses(&lab).into_iter().map(|(_, _, st)| st).collect();
    assert_eq!(early, ["ContainerCreating"; 3], "under OrderedReady only web-0 would exist");
    lab.advance(READY_IN);
    assert_eq!(statuses(&lab), [s("web-0", "1/1", "Running"), s("web-1", "1/1", "Running"), s("web-2", "1/1", "Running")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quorum_scenario_waits_for_lower_ordinals() {
    let lab = scenario(Scenario::Quorum).await;
    lab.advance(READY_IN);
    assert_eq!(statuses(&lab), [s("web-0", "1/1", "Running"), s("web-1", "1/1", "Running"), s("web-2", "1/1", "Running")]);
    // Without web-0 in DNS, the others stop being Ready until it is back.
    lab.ok(&["delete", "pod", "web-0", "--wait=false"]);
    lab.advance(4.0);
    let now: Vec<(String, String)> = statuses(&lab).into_iter().skip(1).map(|(n, r, _)| (n, r)).collect();
    assert_eq!(now, [("web-1".to_owned(), "0/1".to_owned()), ("web-2".to_owned(), "0/1".to_owned())]);
    lab.advance(READY_IN);
    assert_eq!(statuses(&lab), [s("web-0", "1/1", "Running"), s("web-1", "1/1", "Running"), s("web-2", "1/1", "Running")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_broken_scenario_shows_each_failure_as_kubectl_prints_it() {
    let lab = scenario(Scenario::Broken).await;
    let cluster = &lab.running.cluster;
    let status_of = |name: &str| cluster.store.pods.get("default", name).map(|p| practice_cluster::printers::pod_summary(&p).status).unwrap_or_default();
    // Init:Error shows for a moment after each failed run, between the back-offs: step
    // the clock to a moment when web-1 has just failed again while web-0 backs off.
    let mut found = false;
    for _ in 0..600 {
        lab.advance(0.25);
        if status_of("web-1") == "Init:Error" && status_of("web-0") == "Init:CrashLoopBackOff" && status_of("web-2") == "CrashLoopBackOff" {
            found = true;
            break;
        }
    }
    assert!(found, "web-0 {}, web-1 {}, web-2 {}", status_of("web-0"), status_of("web-1"), status_of("web-2"));
    assert_eq!(
        statuses(&lab),
        [s("web-0", "0/1", "Init:CrashLoopBackOff"), s("web-1", "0/1", "Init:Error"), s("web-2", "0/1", "CrashLoopBackOff"), s("web-3", "0/1", "Running"),]
    );
    // web-3's readiness probe passes once /tmp/ready exists.
    lab.ok(&["exec", "web-3", "--", "touch", "/tmp/ready"]);
    lab.advance(3.0);
    assert_eq!(row(&rows(&lab.ok(&["get", "pod", "web-3"])), "web-3")[1], "1/1");
}
