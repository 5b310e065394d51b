//! The `practice-cluster` binary with a state directory, killed with `kill -9` and
//! started again: the lab resumes where it was, and nothing acknowledged is lost.
//!
//! These run on the real clock (a separate process cannot share a manual one), so they
//! wait for pods the way a person would: by polling `kubectl` until a state is reached.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a state may take to be reached before the test gives up (not a speed
/// check: a correct cluster gets there in seconds).
const PATIENCE: Duration = Duration::from_secs(120);

/// A temporary directory holding the state directory and the kubeconfig.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("stslab-restart-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    fn state(&self) -> PathBuf {
        self.0.join("state")
    }

    fn kubeconfig(&self) -> PathBuf {
        self.0.join("kubeconfig")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One run of the binary.
struct Server {
    child: Child,
    /// `host:port` of the API.
    addr: String,
    kubeconfig: PathBuf,
}

impl Server {
    fn start(scratch: &Scratch, extra: &[&str]) -> Server {
        Self::start_on(scratch, "127.0.0.1:0", extra)
    }

    /// Starts the cluster listening on `listen` (a fixed port keeps a client's
    /// kubeconfig valid across restarts).
    fn start_on(scratch: &Scratch, listen: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_practice-cluster"))
            .args(["--listen", listen, "--state-dir"])
            .arg(scratch.state())
            .arg("--kubeconfig")
            .arg(scratch.kubeconfig())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start practice-cluster");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("the cluster exited before serving").expect("read stdout");
            if let Some((_, url)) = line.split_once("Kubernetes API at http://") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr, kubeconfig: scratch.kubeconfig() }
    }

    /// `kill -9`: no chance to flush or clean up.
    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        kubectl(&self.kubeconfig, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls `kubectl get` until `done` holds for its output.
    fn wait_for(&self, args: &[&str], what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let out = self.kubectl(args);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() && done(&text) {
                return text;
            }
            assert!(start.elapsed() < PATIENCE, "never reached: {what}; last output:\n{text}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits until the StatefulSet shows `n/n` ready and every pod is `1/1 Running`.
    fn wait_ready(&self, n: usize) {
        self.wait_for(&["get", "sts,po", "--no-headers"], &format!("{n} ready pods"), |out| {
            let pods: Vec<&str> = out.lines().filter(|l| l.starts_with("pod/")).collect();
            let ready = format!("{n}/{n}");
            out.lines().any(|l| l.starts_with("statefulset.apps/web ") && l.split_whitespace().nth(1) == Some(ready.as_str()))
                && pods.len() == n
                && pods.iter().all(|l| l.split_whitespace().nth(1) == Some("1/1") && l.contains(" Running "))
        });
    }

    fn visit(&self, pod: &str) {
        self.ok(&["get", "--raw", &format!("/api/v1/namespaces/default/pods/{pod}:8000/proxy/")]);
    }

    /// The resourceVersion of a list of pods.
    fn list_version(&self) -> u64 {
        let list: serde_json::Value = serde_json::from_str(&self.ok(&["get", "--raw", "/api/v1/namespaces/default/pods"])).expect("a list");
        list["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse().ok()).expect("list resourceVersion")
    }

    /// `cat /data/visits` in a pod: its output, or `-` when the file does not exist.
    fn count(&self, pod: &str) -> String {
        let out = self.kubectl(&["exec", pod, "--", "cat", "/data/visits"]);
        if out.status.success() { String::from_utf8_lossy(&out.stdout).trim().to_owned() } else { "-".to_owned() }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new("kubectl").args(args).env("KUBECONFIG", kubeconfig).env_remove("KUBERNETES_SERVICE_HOST").output().expect("run kubectl")
}

/// `kubectl get` output without what changes with time alone: the AGE column and the
/// "(5s ago)" of a restart.
fn without_ages(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cells: Vec<String> = l.split_whitespace().map(str::to_owned).collect();
            cells.pop();
            cells.retain(|c| !c.starts_with('(') && c != "ago)");
            cells
        })
        .collect()
}

const PARALLEL_WEB: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  labels: {app: web}
spec:
  serviceName: web
  replicas: 4
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: app
        image: stslab/visits:1.0
        workingDir: /data
        env: [{name: VISITS_FILE, value: /data/visits}]
        ports: [{name: http, containerPort: 8000}]
        volumeMounts: [{name: data, mountPath: /data}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          initialDelaySeconds: 1
          periodSeconds: 2
          failureThreshold: 2
        livenessProbe:
          httpGet: {path: /healthz, port: http}
          initialDelaySeconds: 3
          periodSeconds: 5
          failureThreshold: 3
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: ["ReadWriteOnce"]
      resources: {requests: {storage: 1Gi}}
"#;

#[test]
fn the_lab_resumes_after_kill_9_with_the_same_claims_counts_and_tables() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch, &[]);
    server.wait_ready(3);
    for pod in ["web-0", "web-0", "web-0", "web-1", "web-1"] {
        server.visit(pod);
    }
    let deleted = server.kubectl(&["delete", "pod", "web-1"]);
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    server.wait_ready(3);
    server.ok(&["scale", "sts", "web", "--replicas=4"]);
    server.wait_ready(4);
    server.visit("web-3");
    server.ok(&["delete", "sts", "web", "--cascade=orphan"]);
    let manifest = scratch.0.join("parallel.yaml");
    std::fs::write(&manifest, PARALLEL_WEB).expect("manifest");
    server.ok(&["create", "-f", manifest.to_str().expect("utf-8 path")]);
    server.wait_ready(4);

    let uids = ["get", "po,sts,svc,pvc", "-o", "custom-columns=KIND:.kind,NAME:.metadata.name,UID:.metadata.uid,VOLUME:.spec.volumeName"];
    let uids_before = server.ok(&uids);
    let table_before = without_ages(&server.ok(&["get", "po,sts,svc,pvc"]));
    let counts_before: Vec<String> = (0..4).map(|n| server.count(&format!("web-{n}"))).collect();
    assert_eq!(counts_before, ["3", "2", "-", "1"], "the visits before the crash");
    let policy = ["get", "sts", "web", "-o", "jsonpath={.spec.podManagementPolicy}"];
    assert_eq!(server.ok(&policy), "Parallel");
    server.ok(&["exec", "web-2", "--", "sh", "-c", "mkdir -p /data/notes && echo hello > /data/notes/today"]);
    let rv_before = server.list_version();
    server.kill();

    let server = Server::start(&scratch, &[]);
    server.wait_ready(4);
    assert_eq!(server.ok(&uids), uids_before, "every object keeps its UID, every claim its volume");
    assert_eq!(without_ages(&server.ok(&["get", "po,sts,svc,pvc"])), table_before);
    let counts_after: Vec<String> = (0..4).map(|n| server.count(&format!("web-{n}"))).collect();
    assert_eq!(counts_after, counts_before, "every count as it was");
    assert_eq!(server.ok(&policy), "Parallel");
    assert_eq!(server.ok(&["exec", "web-2", "--", "cat", "/data/notes/today"]), "hello\n", "a file written with kubectl exec");

    let rv_after = server.list_version();
    assert!(rv_after > rv_before, "resourceVersions go on above {rv_before}, got {rv_after}");
    let old_watch = format!("/api/v1/namespaces/default/pods?watch=true&resourceVersion={}", rv_before - 1);
    let expired = server.ok(&["get", "--raw", &old_watch]);
    assert!(expired.contains("\"code\":410") && expired.contains("Expired"), "a watch from before the restart must re-list: {expired}");
}

/// One HTTP/1.1 request on a fresh connection; the status code and body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok());
    let code = code.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no status line"))?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((code, body))
}

/// What a writer was told succeeded before the cluster died.
#[derive(Default)]
struct Acknowledged {
    services: Vec<String>,
    visits: usize,
}

/// Services one round may create: five rounds stay under the practice cluster's
/// quota of 1,000 objects of a kind, however fast the machine writes.
const SERVICES_PER_ROUND: usize = 150;

/// Creates Services (up to [`SERVICES_PER_ROUND`]) and visits web-0 in turn until a
/// request fails (the cluster died) or `stop` is set.
fn write_until_killed(addr: String, round: usize, stop: Arc<AtomicBool>) -> Acknowledged {
    let mut acked = Acknowledged::default();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if i < SERVICES_PER_ROUND {
            let name = format!("w-{round}-{i}");
            let body = format!(r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}"}},"spec":{{"ports":[{{"port":80}}]}}}}"#);
            match http(&addr, "POST", "/api/v1/namespaces/default/services", &body) {
                Ok((201, _)) => acked.services.push(name),
                Ok((code, body)) => panic!("creating {name} answered {code}: {body}"),
                Err(_) => break,
            }
        }
        match http(&addr, "GET", "/api/v1/namespaces/default/pods/web-0:8000/proxy/", "") {
            Ok((200, _)) => acked.visits += 1,
            Ok((code, body)) => panic!("visit answered {code}: {body}"),
            Err(_) => break,
        }
    }
    acked
}

/// A pseudo-random delay between 50 and 800 ms.
fn random_moment() -> Duration {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    Duration::from_millis(50 + u64::from(u16::from_le_bytes([bytes[0], bytes[1]])) % 750)
}

#[test]
fn every_acknowledged_write_survives_kill_9_at_random_moments() {
    const ROUNDS: usize = 5;
    let scratch = Scratch::new();
    let mut services = Vec::new();
    let mut visits = 0;
    for round in 0..=ROUNDS {
        let server = Server::start(&scratch, &[]);
        server.wait_ready(3);
        let present = server.ok(&["get", "svc", "-o", "name"]);
        for s in &services {
            assert!(present.lines().any(|l| l == format!("service/{s}")), "acknowledged Service {s} is missing after restart {round}");
        }
        let count: usize = match server.count("web-0").as_str() {
            "-" => 0,
            n => n.parse().expect("a count"),
        };
        // At most one visit per crash was counted but never acknowledged.
        assert!(count >= visits && count <= visits + round, "web-0 counted {count} after {visits} acknowledged visits and {round} crashes");
        if round == ROUNDS {
            break;
        }

        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (addr, stop) = (server.addr.clone(), stop.clone());
            std::thread::spawn(move || write_until_killed(addr, round, stop))
        };
        std::thread::sleep(random_moment());
        server.kill();
        stop.store(true, Ordering::SeqCst);
        let acked = writer.join().expect("writer");
        services.extend(acked.services);
        visits += acked.visits;
    }
    assert!(services.len() > ROUNDS, "the writer got some writes in: {}", services.len());
}

#[test]
fn the_python_client_carries_a_lesson_through_kill_9_and_loses_nothing_acknowledged() {
    const KILLS: usize = 3;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("../.tools/venv/bin/python");
    assert!(python.exists(), "the Python kubernetes client is not installed in .tools/venv: run scripts/setup.sh");
    let scratch = Scratch::new();
    let listen = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("its address").to_string()
    };
    let mut server = Server::start_on(&scratch, &listen, &[]);
    server.wait_ready(3);

    let done = scratch.0.join("restarts-done");
    let mut lesson = Command::new(&python)
        .arg(root.join("tests/python/lesson.py"))
        .arg(scratch.kubeconfig())
        .arg("900")
        .arg(&done)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python lesson");
    let mut stdout = BufReader::new(lesson.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("the lesson's first line");
    assert_eq!(first.trim(), "started", "the lesson did not start");

    for _ in 0..KILLS {
        std::thread::sleep(random_moment());
        server.kill();
        server = Server::start_on(&scratch, &listen, &[]);
    }
    std::fs::write(&done, "").expect("tell the lesson the restarts are over");
    let mut report = String::new();
    stdout.read_to_string(&mut report).expect("the lesson's report");
    let finished = lesson.wait_with_output().expect("the lesson ends");
    assert!(finished.status.success(), "the lesson failed: {}", String::from_utf8_lossy(&finished.stderr));
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap_or_else(|e| panic!("{e}: {report}"));

    assert!(report["outages"].as_u64().unwrap_or(0) >= 1, "the lesson saw the cluster go down: {report}");
    let present = server.ok(&["get", "svc", "-o", "name"]);
    let acknowledged = report["services"].as_array().expect("services");
    assert!(acknowledged.len() > KILLS, "the lesson got writes in: {report}");
    for s in acknowledged {
        let s = s.as_str().expect("a name");
        assert!(present.lines().any(|l| l == format!("service/{s}")), "acknowledged Service {s} was lost");
    }
    // Every acknowledged visit is counted; at most one visit per crash was counted and
    // then tried again because its answer was lost. The files are read once the pods
    // run again after the last restart (exec needs a running container).
    server.wait_ready(3);
    let (mut acked, mut counted) = (0, 0);
    for pod in ["web-0", "web-1", "web-2"] {
        let visits = report["visits"][pod].as_u64().expect("visits");
        let count = report["counts"][pod].as_u64().expect("a count");
        assert!(count >= visits, "{pod} counts {count} after {visits} acknowledged visits: {report}");
        assert_eq!(server.count(pod), count.to_string(), "{pod}'s file holds the count it last answered");
        acked += visits;
        counted += count;
    }
    assert!(counted <= acked + KILLS as u64, "{counted} counted for {acked} acknowledged visits and {KILLS} crashes");
    let old_watch = report["old_watch"].as_str().unwrap_or_default();
    assert!(["resumed", "expired"].contains(&old_watch), "a watch from before the restarts: {old_watch}");
}
