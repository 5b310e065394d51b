//! The lab app: what every simulated container runs.
//!
//! It is a small HTTP server listening on the port in env `PORT`, else the container's
//! first `containerPort`, else 8000:
//!
//! - `GET /` adds one to the count in the visits file and answers
//!   `Hello from <hostname>! This is visit number <n>.`
//! - `GET /visits` answers the count (`0` while the file does not exist).
//! - `GET /healthz`, `/readyz`, `/livez`, `/health`, `/ready` answer `ok`.
//! - Anything else is `404`.
//!
//! The visits file is env `VISITS_FILE` if set, else `visits` in the first volume mount
//! backed by a PersistentVolumeClaim, else `visits` in the working directory. The file
//! is the only state: it is read on every request, so `kubectl exec web-0 -- cat visits`
//! shows the count, `rm visits` resets it, and it survives the pod because the
//! PersistentVolume's filesystem does. A file that does not hold a number makes `/`
//! and `/visits` answer 500 saying so.
//!
//! Faults for teaching, switched on by pod annotations (any value but `false`):
//!
//! - `stslab.dev/fail-readiness`: readiness probes fail, so the pod drops out of
//!   `READY` (and out of its Service) until the annotation is removed.
//! - `stslab.dev/fail-liveness`: liveness probes fail, so the kubelet restarts the
//!   container again and again, with growing back-off.
//! - `stslab.dev/fail-startup`: startup probes fail (containers that have one).
//! - `stslab.dev/crash`: the app exits with code 1 a second after it starts (or at once
//!   if it is running when the annotation is set), so the pod goes into
//!   `CrashLoopBackOff`.
//!
//! A probe failing through an annotation reports what its kind would report for a
//! broken app: HTTP probes a status code of 500, TCP probes a refused connection, exec
//! probes exit code 1. Requests made by probes are not written to the app's log.

use k8s_openapi::api::core::v1::{Container, Pod};

use super::fs::{FsError, MountTable, resolve};

/// Annotation making readiness probes fail.
pub const FAIL_READINESS: &str = "stslab.dev/fail-readiness";
/// Annotation making liveness probes fail.
pub const FAIL_LIVENESS: &str = "stslab.dev/fail-liveness";
/// Annotation making startup probes fail.
pub const FAIL_STARTUP: &str = "stslab.dev/fail-startup";
/// Annotation making the app exit with code 1 shortly after it starts.
pub const CRASH: &str = "stslab.dev/crash";

/// The port the app listens on when neither `PORT` nor a `containerPort` says otherwise.
pub const DEFAULT_PORT: u16 = 8000;

/// Paths answering `ok`.
const HEALTH_PATHS: [&str; 5] = ["/healthz", "/readyz", "/livez", "/health", "/ready"];

/// Whether the fault annotation `key` is switched on for `pod`.
pub fn fault(pod: &Pod, key: &str) -> bool {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(key)).is_some_and(|v| !v.trim().eq_ignore_ascii_case("false"))
}

/// The value of env `name` as the container spec sets it literally.
fn env_value<'a>(container: &'a Container, name: &str) -> Option<&'a str> {
    container.env.iter().flatten().find(|e| e.name == name).and_then(|e| e.value.as_deref())
}

/// The port the app in `container` listens on.
pub fn port(container: &Container) -> u16 {
    env_value(container, "PORT")
        .and_then(|p| p.trim().parse().ok())
        .or_else(|| container.ports.iter().flatten().next().and_then(|p| u16::try_from(p.container_port).ok()))
        .unwrap_or(DEFAULT_PORT)
}

/// The absolute path of the visits file for `container` of `pod`.
pub fn visits_file(pod: &Pod, container: &Container) -> String {
    let cwd = container.working_dir.as_deref().filter(|d| d.starts_with('/')).unwrap_or("/");
    if let Some(f) = env_value(container, "VISITS_FILE").filter(|f| !f.is_empty()) {
        return resolve(cwd, f);
    }
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
    let claim_mount = container.volume_mounts.iter().flatten().find(|m| volumes.iter().any(|v| v.name == m.name && v.persistent_volume_claim.is_some()));
    match claim_mount {
        Some(m) => resolve(&m.mount_path, "visits"),
        None => resolve(cwd, "visits"),
    }
}

/// One container's app: who it is, where it listens and what it can see.
#[derive(Clone, Debug)]
pub struct App {
    /// The pod's hostname, for the greeting.
    pub hostname: String,
    /// The port it listens on.
    pub port: u16,
    /// Absolute path of the visits file.
    pub visits_file: String,
    /// The container's filesystems.
    pub mounts: MountTable,
}

/// What the app answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// The line the app writes to its log for this request.
    pub log: String,
}

impl Response {
    fn text(status: u16, body: impl Into<String>, log: String) -> Self {
        Response { status, content_type: "text/plain; charset=utf-8", body: body.into(), log }
    }
}

/// The count a visits file holds: 0 when it is missing or blank, an error when it holds
/// something other than a number.
fn parse_count(path: &str, contents: Option<&[u8]>) -> Result<u64, String> {
    let text = String::from_utf8_lossy(contents.unwrap_or_default());
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(0);
    }
    trimmed.parse().map_err(|_| {
        let shown: String = trimmed.chars().take(40).collect();
        format!("visits file {path} is corrupt: expected a number, found {shown:?}\n")
    })
}

/// Why the visits file could not be used.
fn file_error(path: &str, e: FsError) -> String {
    format!("cannot use visits file {path}: {e}\n")
}

impl App {
    /// The app for `container` of `pod`, seeing `mounts`.
    pub fn new(pod: &Pod, container: &Container, mounts: MountTable) -> Self {
        let hostname = pod.spec.as_ref().and_then(|s| s.hostname.clone()).or_else(|| pod.metadata.name.clone()).unwrap_or_default();
        App { hostname, port: port(container), visits_file: visits_file(pod, container), mounts }
    }

    /// The line the app logs when it starts.
    pub fn banner(&self) -> String {
        format!("Listening on :{}", self.port)
    }

    /// Reads the count; `Ok(0)` when the file does not exist.
    fn count(&self) -> Result<u64, String> {
        match self.mounts.read(&self.visits_file) {
            Ok(bytes) => parse_count(&self.visits_file, Some(&bytes)),
            Err(FsError::NotFound) => Ok(0),
            Err(e) => Err(file_error(&self.visits_file, e)),
        }
    }

    /// Adds one to the count and returns the new count. The read and the write happen
    /// under the volume's lock in one step, so concurrent visits never overwrite each
    /// other's increments.
    fn visit(&self) -> Result<u64, String> {
        let counted = self.mounts.update(&self.visits_file, |current| match parse_count(&self.visits_file, current) {
            Ok(n) => {
                let n = n.saturating_add(1);
                (Some(format!("{n}\n").into_bytes()), Ok(n))
            }
            Err(msg) => (None, Err(msg)),
        });
        counted.map_err(|e| file_error(&self.visits_file, e))?
    }

    /// Answers one request. `target` may carry a query string.
    pub fn serve(&self, method: &str, target: &str) -> Response {
        let path = target.split(['?', '#']).next().unwrap_or("/");
        let path = if path.is_empty() { "/" } else { path };
        let line = |status: u16| format!("{method} {path} {status}");
        if !matches!(method, "GET" | "HEAD") {
            return Response::text(405, "method not allowed\n", line(405));
        }
        if HEALTH_PATHS.contains(&path) {
            return Response::text(200, "ok\n", line(200));
        }
        match path {
            "/" if method == "HEAD" => Response::text(200, "", line(200)),
            "/" => match self.visit() {
                Ok(n) => Response::text(200, format!("Hello from {}! This is visit number {n}.\n", self.hostname), format!("{} visit={n}", line(200))),
                Err(msg) => Response::text(500, msg, line(500)),
            },
            "/visits" => match self.count() {
                Ok(n) => Response::text(200, format!("{n}\n"), line(200)),
                Err(msg) => Response::text(500, msg, line(500)),
            },
            _ => Response::text(404, "404 page not found\n", line(404)),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EnvVar, PersistentVolumeClaimVolumeSource, PodSpec, Volume, VolumeMount};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::sim::fs::Fs;

    fn pod_with(container: Container, claim: bool) -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some("web-0".into()), ..Default::default() },
            spec: Some(PodSpec {
                containers: vec![container],
                volumes: claim.then(|| {
                    vec![Volume {
                        name: "data".into(),
                        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource { claim_name: "data-web-0".into(), read_only: None }),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn app_container() -> Container {
        Container {
            name: "app".into(),
            volume_mounts: Some(vec![VolumeMount { name: "data".into(), mount_path: "/data".into(), ..Default::default() }]),
            ..Default::default()
        }
    }

    #[test]
    fn visits_file_prefers_env_then_claim_mount_then_working_dir() {
        let c = app_container();
        assert_eq!(visits_file(&pod_with(c.clone(), true), &c), "/data/visits");
        let mut plain = c.clone();
        plain.working_dir = Some("/srv".into());
        assert_eq!(visits_file(&pod_with(plain.clone(), false), &plain), "/srv/visits");
        let mut env = c;
        env.working_dir = Some("/data".into());
        env.env = Some(vec![EnvVar { name: "VISITS_FILE".into(), value: Some("count.txt".into()), ..Default::default() }]);
        assert_eq!(visits_file(&pod_with(env.clone(), true), &env), "/data/count.txt");
    }

    #[test]
    fn root_counts_visits_in_the_file_and_corruption_is_a_clear_500() {
        let data = Fs::new();
        let c = app_container();
        let pod = pod_with(c.clone(), true);
        let app = App::new(&pod, &c, MountTable::new(Fs::new()).with_mount("/data", data.clone(), false));
        assert_eq!(app.serve("GET", "/visits").body, "0\n");
        let first = app.serve("GET", "/");
        assert_eq!(first.body, "Hello from web-0! This is visit number 1.\n");
        assert_eq!(first.log, "GET / 200 visit=1");
        app.serve("GET", "/?x=1");
        assert_eq!(String::from_utf8_lossy(&data.read("/visits").expect("file")), "2\n");
        assert_eq!(app.serve("GET", "/healthz").body, "ok\n");
        assert_eq!(app.serve("GET", "/nope").status, 404);
        data.write("/visits", "lots").expect("write");
        let bad = app.serve("GET", "/");
        assert_eq!(bad.status, 500);
        assert!(bad.body.contains("corrupt"), "{}", bad.body);
    }

    #[test]
    fn visits_from_many_threads_at_once_are_all_counted() {
        let data = Fs::new();
        let c = app_container();
        let pod = pod_with(c.clone(), true);
        let app = App::new(&pod, &c, MountTable::new(Fs::new()).with_mount("/data", data.clone(), false));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..250 {
                        assert_eq!(app.serve("GET", "/").status, 200);
                    }
                });
            }
        });
        assert_eq!(app.serve("GET", "/visits").body, "2000\n");
    }

    #[test]
    fn port_comes_from_env_then_container_port() {
        let mut c = app_container();
        assert_eq!(port(&c), 8000);
        c.ports = Some(vec![k8s_openapi::api::core::v1::ContainerPort { container_port: 9000, ..Default::default() }]);
        assert_eq!(port(&c), 9000);
        c.env = Some(vec![EnvVar { name: "PORT".into(), value: Some("7000".into()), ..Default::default() }]);
        assert_eq!(port(&c), 7000);
    }
}
