//! The simulated node: containers, their filesystems, and the lab app inside them.
//!
//! [`Runtime`] is what the node remembers: each pod's containers and probe counters
//! (driven by [`crate::controllers::kubelet`]), each PersistentVolume's filesystem
//! (kept by PV name, so files outlive the pods that wrote them and follow the volume),
//! and the pod IP allocator. On top of it, [`Cluster::exec`], [`Cluster::http_get`],
//! [`Cluster::http_request`] and [`Cluster::logs`] are what `kubectl exec`, the pod
//! proxy and `kubectl logs` use, and what tests and the dashboard can call directly.

pub mod app;
pub mod fs;
pub mod ip;
pub mod node;
pub mod probe;
pub mod shell;
pub mod tar;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::Cluster;
use crate::api::error::ApiError;
use crate::clock::Clock;
use crate::durable::{Journal, Restored, VolumeJournal};
use app::App;
use fs::{Fs, MountTable};
use ip::IpAllocator;
use node::{ContainerState, LogLine, Logs, PodRuntime};
pub use shell::ExecOutput;

/// The address of the `kubernetes` Service, as containers see it in their environment.
const API_SERVICE_IP: &str = "10.96.0.1";
/// The cluster DNS server.
const DNS_SERVER: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
/// `PATH` in every container.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What runs on the practice node.
#[derive(Debug, Default)]
pub struct Runtime {
    node: Mutex<Node>,
}

/// The node's state, behind [`Runtime`]'s lock.
#[derive(Debug, Default)]
pub struct Node {
    /// Pods on the node, by pod UID.
    pub pods: HashMap<String, PodRuntime>,
    /// PersistentVolume filesystems, by PV name.
    pub volumes: HashMap<String, Fs>,
    /// Pod IPs.
    pub ips: IpAllocator,
    /// Where volume files are made durable, with a state directory.
    pub journal: Option<Arc<Journal>>,
    /// The cluster's clock: files are stamped with its time.
    pub clock: Clock,
}

impl Runtime {
    /// A node whose files are stamped with `clock`'s time.
    pub fn new(clock: Clock) -> Self {
        Runtime { node: Mutex::new(Node { clock, ..Node::default() }) }
    }

    /// Locks the node's state. Never hold it across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Node> {
        self.node.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The filesystem of PersistentVolume `pv`, created empty on first use.
    pub fn volume(&self, pv: &str) -> Fs {
        self.lock().volume(pv)
    }
}

/// Why a pod's port could not be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// The address belongs to a pod but nothing listens on the port.
    Refused,
    /// No pod has that address.
    NoRoute,
}

impl Node {
    /// The filesystem of PersistentVolume `pv`, created empty on first use.
    pub fn volume(&mut self, pv: &str) -> Fs {
        let (journal, clock) = (&self.journal, &self.clock);
        self.volumes
            .entry(pv.to_owned())
            .or_insert_with(|| match journal {
                Some(j) => Fs::journaled(VolumeJournal::new(j.clone(), pv), clock),
                None => Fs::on_clock(clock),
            })
            .clone()
    }

    /// Frees the files of every volume for which `exists` is false (its
    /// PersistentVolume was deleted), in memory and in the state directory.
    pub fn free_volumes(&mut self, exists: impl Fn(&str) -> bool) {
        self.volumes.retain(|name, fs| {
            if exists(name) {
                return true;
            }
            if let Some(journal) = fs.forget_journal() {
                journal.gone();
            }
            false
        });
    }

    /// Puts back the volumes a state directory held, and journals every later change.
    pub fn restore(&mut self, restored: &Restored, journal: Arc<Journal>) {
        for (name, entries) in &restored.volumes {
            self.volumes.insert(name.clone(), Fs::restored(entries, VolumeJournal::new(journal.clone(), name), &self.clock));
        }
        self.journal = Some(journal);
    }

    /// Forgets the pod with `uid` and frees its IP (its PersistentVolumes keep their files).
    pub fn free_pod(&mut self, uid: &str) {
        if let Some(p) = self.pods.remove(uid) {
            self.ips.release(p.ip);
            for c in p.containers.iter().chain(p.init.iter()) {
                if let Some(i) = c.instance() {
                    i.logs.close();
                }
            }
        }
    }

    /// The app listening on `ip:port`, with its log.
    pub fn listener(&self, ip: Ipv4Addr, port: u16) -> Result<(App, Logs), Unreachable> {
        let pod = self.pods.values().find(|p| p.ip == ip && !p.finished).ok_or(Unreachable::NoRoute)?;
        pod.containers
            .iter()
            .filter_map(|c| c.instance())
            .find_map(|i| i.app.as_ref().filter(|a| a.port == port).map(|a| (a.clone(), i.logs.clone())))
            .ok_or(Unreachable::Refused)
    }
}

/// The container of `pod` called `name`, or its first container; a 400 like Kubernetes'
/// for an unknown name.
pub fn pick_container<'a>(pod: &'a Pod, name: Option<&str>) -> Result<&'a Container, ApiError> {
    let spec = pod.spec.as_ref();
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    let mut all = spec.into_iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()));
    match name.filter(|n| !n.is_empty()) {
        Some(n) => all.find(|c| c.name == n).ok_or_else(|| ApiError::bad_request(format!("container {n} is not valid for pod {pod_name}"))),
        None => spec.and_then(|s| s.containers.first()).ok_or_else(|| ApiError::bad_request(format!("pod {pod_name} has no containers"))),
    }
}

/// The mounts `container` of `pod` sees: `root`, then each volume mount (claims from
/// their bound PersistentVolume's filesystem, anything else from a per-pod one).
pub(crate) fn mount_table(cluster: &Cluster, node: &mut Node, scratch: &mut BTreeMap<String, Fs>, pod: &Pod, container: &Container, root: Fs) -> MountTable {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
    let mut table = MountTable::new(root);
    for m in container.volume_mounts.iter().flatten() {
        let Some(v) = volumes.iter().find(|v| v.name == m.name) else { continue };
        let bound = v.persistent_volume_claim.as_ref().and_then(|c| {
            let claim = cluster.store.pvcs.get(ns, &c.claim_name)?;
            claim.spec.as_ref()?.volume_name.clone().filter(|n| !n.is_empty())
        });
        let fs = match bound {
            Some(pv) => node.volume(&pv),
            None => scratch.entry(v.name.clone()).or_default().clone(),
        };
        let read_only = m.read_only.unwrap_or(false) || v.persistent_volume_claim.as_ref().and_then(|c| c.read_only).unwrap_or(false);
        table.mount(&m.mount_path, fs, read_only);
    }
    table
}

/// The environment of `container` in `pod` (with IP `ip`), in the order `env` prints it.
pub(crate) fn container_env(pod: &Pod, container: &Container, ip: Ipv4Addr, node_name: &str) -> Vec<(String, String)> {
    let hostname = hostname(pod);
    let mut env = vec![("PATH".to_owned(), PATH.to_owned()), ("HOSTNAME".to_owned(), hostname)];
    let meta = &pod.metadata;
    for e in container.env.iter().flatten() {
        let value = match (&e.value, e.value_from.as_ref().and_then(|f| f.field_ref.as_ref())) {
            (Some(v), _) => v.clone(),
            (None, Some(f)) => match f.field_path.as_str() {
                "metadata.name" => meta.name.clone().unwrap_or_default(),
                "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
                "metadata.uid" => meta.uid.clone().unwrap_or_default(),
                "status.podIP" => ip.to_string(),
                "spec.nodeName" => node_name.to_owned(),
                "spec.serviceAccountName" => pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
                path => {
                    let label = |prefix: &str, map: Option<&BTreeMap<String, String>>| {
                        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
                        map?.get(key).cloned()
                    };
                    label("metadata.labels['", meta.labels.as_ref()).or_else(|| label("metadata.annotations['", meta.annotations.as_ref())).unwrap_or_default()
                }
            },
            (None, None) => String::new(),
        };
        env.push((e.name.clone(), value));
    }
    for (k, v) in [
        ("KUBERNETES_SERVICE_HOST", API_SERVICE_IP.to_owned()),
        ("KUBERNETES_SERVICE_PORT", "443".to_owned()),
        ("KUBERNETES_SERVICE_PORT_HTTPS", "443".to_owned()),
        ("KUBERNETES_PORT", format!("tcp://{API_SERVICE_IP}:443")),
        ("KUBERNETES_PORT_443_TCP", format!("tcp://{API_SERVICE_IP}:443")),
        ("KUBERNETES_PORT_443_TCP_PROTO", "tcp".to_owned()),
        ("KUBERNETES_PORT_443_TCP_PORT", "443".to_owned()),
        ("KUBERNETES_PORT_443_TCP_ADDR", API_SERVICE_IP.to_owned()),
        ("HOME", "/root".to_owned()),
    ] {
        if !env.iter().any(|(n, _)| n == k) {
            env.push((k.to_owned(), v));
        }
    }
    env
}

/// The pod's hostname: `spec.hostname`, else its name.
pub fn hostname(pod: &Pod) -> String {
    pod.spec.as_ref().and_then(|s| s.hostname.clone()).filter(|h| !h.is_empty()).or_else(|| pod.metadata.name.clone()).unwrap_or_default()
}

/// `<hostname>.<subdomain>.<ns>.svc.<zone>`, for a pod with a subdomain.
fn pod_fqdn(pod: &Pod, zone: &str) -> Option<String> {
    let sub = pod.spec.as_ref()?.subdomain.as_deref().filter(|s| !s.is_empty())?;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    Some(format!("{}.{sub}.{ns}.svc.{zone}", hostname(pod)))
}

/// A fresh container root filesystem: the usual top-level directories and the files
/// the kubelet writes into every container (`/etc/hosts`, `/etc/hostname`,
/// `/etc/resolv.conf`).
pub(crate) fn root_fs(pod: &Pod, ip: Ipv4Addr, zone: &str, clock: &Clock) -> Fs {
    let root = Fs::on_clock(clock);
    for dir in ["/bin", "/dev", "/etc", "/home", "/proc", "/root", "/sys", "/tmp", "/usr/bin", "/var"] {
        // A fresh in-memory filesystem has room for a few directories and files.
        let _ = root.create_dir_all(dir);
    }
    let host = hostname(pod);
    let names = match pod_fqdn(pod, zone) {
        Some(fqdn) => format!("{fqdn}\t{host}"),
        None => host.clone(),
    };
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let files = [
        ("/etc/hostname", format!("{host}\n")),
        (
            "/etc/hosts",
            format!(
                "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{ip}\t{names}\n"
            ),
        ),
        ("/etc/resolv.conf", format!("search {}\nnameserver {DNS_SERVER}\noptions ndots:5\n", search_domains(ns, zone).join(" "))),
    ];
    for (path, text) in files {
        let _ = root.write(path, text);
    }
    root
}

/// The DNS search domains of a pod in `ns`, as in its `/etc/resolv.conf`.
pub fn search_domains(ns: &str, zone: &str) -> Vec<String> {
    crate::dns::search_domains(ns, zone)
}

/// Resolves `name` as a pod in `ns` would, through the cluster DNS (search domains
/// first, `ndots:5`). Returns the name that answered and its addresses.
pub fn resolve_name(cluster: &Cluster, ns: &str, name: &str) -> Option<(String, Vec<Ipv4Addr>)> {
    let zone = cluster.config.cluster_domain.as_str();
    crate::dns::lookup(&cluster.store, zone, name, &search_domains(ns, zone)).filter(|(_, ips)| !ips.is_empty())
}

fn pod_ip(pod: &Pod) -> Option<Ipv4Addr> {
    pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()
}

/// DNS as a container of one pod sees it.
struct PodResolver<'a> {
    cluster: &'a Cluster,
    namespace: String,
    hostname: String,
    /// `<hostname>.<subdomain>.<ns>.svc.<zone>` when the pod has a subdomain.
    fqdn: Option<String>,
    ip: Ipv4Addr,
}

impl PodResolver<'_> {
    fn answer(&self, name: &str) -> Option<(String, Vec<Ipv4Addr>)> {
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.eq_ignore_ascii_case(&self.hostname) || self.fqdn.as_deref().is_some_and(|f| name.eq_ignore_ascii_case(f)) {
            return Some((self.fqdn.clone().unwrap_or_else(|| self.hostname.clone()), vec![self.ip]));
        }
        if name.eq_ignore_ascii_case("localhost") {
            return Some(("localhost".to_owned(), vec![Ipv4Addr::LOCALHOST]));
        }
        resolve_name(self.cluster, &self.namespace, name)
    }
}

impl shell::Resolver for PodResolver<'_> {
    fn lookup(&self, name: &str, _search: &[String]) -> Vec<Ipv4Addr> {
        self.answer(name).map(|(_, ips)| ips).unwrap_or_default()
    }

    fn fqdn(&self, name: &str, _search: &[String]) -> Option<String> {
        self.answer(name).map(|(n, _)| n)
    }

    fn nameserver(&self) -> Ipv4Addr {
        DNS_SERVER
    }
}

/// Where a container's HTTP requests find listeners.
enum Network<'a> {
    /// Lock the node for each request (nobody holds it).
    Live(&'a Cluster),
    /// The kubelet holds the node: look in it directly.
    Held(&'a Node),
}

/// HTTP from inside a pod to pods' apps.
struct PodHttp<'a> {
    network: Network<'a>,
    resolver: &'a PodResolver<'a>,
    /// The pod's own listeners, for `localhost` and while the kubelet holds this pod.
    own: Vec<(App, Logs)>,
}

impl shell::HttpClient for PodHttp<'_> {
    fn get(&self, host: &str, port: u16, path: &str) -> Result<(u16, Vec<u8>), String> {
        let ip: Ipv4Addr = match host.parse() {
            Ok(ip) => ip,
            Err(_) => *shell::Resolver::lookup(self.resolver, host, &[]).first().ok_or_else(|| "Could not resolve host".to_owned())?,
        };
        let own = ip.is_loopback() || ip == self.resolver.ip;
        let found = if own {
            self.own.iter().find(|(a, _)| a.port == port).cloned().ok_or(Unreachable::Refused)
        } else {
            match &self.network {
                Network::Live(cluster) => cluster.runtime.lock().listener(ip, port),
                Network::Held(node) => node.listener(ip, port),
            }
        };
        match found {
            Ok((app, logs)) => {
                let response = app.serve("GET", path);
                logs.push(self.resolver.cluster.clock.now(), response.log.clone());
                Ok((response.status, response.body.into_bytes()))
            }
            Err(Unreachable::Refused) => Err("Connection refused".to_owned()),
            Err(Unreachable::NoRoute) => Err("Connection timed out".to_owned()),
        }
    }
}

/// What a command needs to run in one container instance.
pub(crate) struct ExecTarget<'a> {
    pub cluster: &'a Cluster,
    pub pod: &'a Pod,
    pub ip: Ipv4Addr,
    pub mounts: &'a MountTable,
    pub env: &'a [(String, String)],
    pub cwd: &'a str,
    /// The pod's own listening apps.
    pub own: Vec<(App, Logs)>,
}

/// Runs `argv` in a container; `held` is the node when the caller holds its lock.
pub(crate) fn run_in(target: ExecTarget<'_>, argv: &[String], stdin: &[u8], held: Option<&Node>) -> ExecOutput {
    let ns = target.pod.metadata.namespace.clone().unwrap_or_default();
    let search = search_domains(&ns, &target.cluster.config.cluster_domain);
    let resolver = PodResolver {
        cluster: target.cluster,
        fqdn: pod_fqdn(target.pod, &target.cluster.config.cluster_domain),
        namespace: ns,
        hostname: hostname(target.pod),
        ip: target.ip,
    };
    let http = PodHttp {
        network: match held {
            Some(node) => Network::Held(node),
            None => Network::Live(target.cluster),
        },
        resolver: &resolver,
        own: target.own,
    };
    let ctx = shell::ShellContext {
        fs: target.mounts,
        cwd: target.cwd,
        hostname: &resolver.hostname,
        env: target.env,
        resolver: &resolver,
        http: &http,
        search: &search,
        now: target.cluster.clock.now(),
    };
    shell::run_with_stdin(argv, stdin, &ctx)
}

/// A snapshot of one running container instance, taken under the node lock.
struct Running {
    ip: Ipv4Addr,
    mounts: MountTable,
    env: Vec<(String, String)>,
    cwd: String,
    own: Vec<(App, Logs)>,
}

impl Cluster {
    fn pod_or_404(&self, ns: &str, name: &str) -> Result<std::sync::Arc<Pod>, ApiError> {
        self.store.pods.get(ns, name).ok_or_else(|| ApiError::not_found("pods", "", name))
    }

    /// Runs `argv` in a container of pod `ns/pod` (its first container by default), as
    /// `kubectl exec` does, and returns what it printed and its exit code.
    pub fn exec(&self, ns: &str, pod: &str, container: Option<&str>, argv: &[String]) -> Result<ExecOutput, ApiError> {
        self.exec_with_stdin(ns, pod, container, argv, &[])
    }

    /// [`Cluster::exec`] with standard input.
    pub fn exec_with_stdin(&self, ns: &str, pod: &str, container: Option<&str>, argv: &[String], stdin: &[u8]) -> Result<ExecOutput, ApiError> {
        self.exec_in(ns, pod, container, None, argv, stdin)
    }

    /// [`Cluster::exec_with_stdin`] in working directory `cwd` (the container's own by
    /// default), for interactive shells that remember `cd`.
    pub fn exec_in(&self, ns: &str, pod: &str, container: Option<&str>, cwd: Option<&str>, argv: &[String], stdin: &[u8]) -> Result<ExecOutput, ApiError> {
        if argv.is_empty() {
            return Err(ApiError::bad_request("you must specify at least one command for the container"));
        }
        let (p, running) = self.exec_target(ns, pod, container)?;
        let target = ExecTarget {
            cluster: self,
            pod: &p,
            ip: running.ip,
            mounts: &running.mounts,
            env: &running.env,
            cwd: cwd.unwrap_or(&running.cwd),
            own: running.own,
        };
        let out = run_in(target, argv, stdin, None);
        // What the command wrote to a volume is on disk before its output is shown.
        self.persist()?;
        Ok(out)
    }

    /// Checks that a command could run in a container of pod `ns/pod` now, with the
    /// errors Kubernetes gives; returns the container's name.
    pub fn exec_check(&self, ns: &str, pod: &str, container: Option<&str>) -> Result<String, ApiError> {
        let (p, _) = self.exec_target(ns, pod, container)?;
        Ok(pick_container(&p, container)?.name.clone())
    }

    fn exec_target(&self, ns: &str, pod: &str, container: Option<&str>) -> Result<(std::sync::Arc<Pod>, Running), ApiError> {
        let p = self.pod_or_404(ns, pod)?;
        let c = pick_container(&p, container)?;
        if let Some(phase @ ("Succeeded" | "Failed")) = p.status.as_ref().and_then(|s| s.phase.as_deref()) {
            return Err(ApiError::bad_request(format!("cannot exec into a container in a completed pod; current phase is {phase}")));
        }
        let running =
            self.running(&p, &c.name).ok_or_else(|| ApiError::bad_request(format!("unable to upgrade connection: container not found (\"{}\")", c.name)))?;
        Ok((p, running))
    }

    /// Snapshots the running instance of `container` in `pod`.
    fn running(&self, pod: &Pod, container: &str) -> Option<Running> {
        let uid = pod.metadata.uid.as_deref()?;
        let node = self.runtime.lock();
        let p = node.pods.get(uid)?;
        let c = p.container(container)?;
        let i = c.instance()?;
        let own = p.containers.iter().filter_map(|c| c.instance()).filter_map(|i| i.app.clone().map(|a| (a, i.logs.clone()))).collect();
        Some(Running { ip: p.ip, mounts: i.mounts.clone(), env: i.env.clone(), cwd: i.cwd.clone(), own })
    }

    /// Sends `method target` to the app listening on `port` of pod `ns/pod`, as the pod
    /// proxy does. A pod without an IP, or a port nobody listens on, is a 503.
    pub fn http_request(&self, ns: &str, pod: &str, port: u16, method: &str, target: &str) -> Result<app::Response, ApiError> {
        let p = self.pod_or_404(ns, pod)?;
        let ip = pod_ip(&p).ok_or_else(|| ApiError::unavailable(format!("error trying to reach service: pod {pod} has no IP address yet")))?;
        let found = self.runtime.lock().listener(ip, port);
        let (app, logs) =
            found.map_err(|_| ApiError::unavailable(format!("error trying to reach service: dial tcp {ip}:{port}: connect: connection refused")))?;
        let response = app.serve(method, target);
        logs.push(self.clock.now(), response.log.clone());
        Ok(response)
    }

    /// `GET path` on `port` of pod `ns/pod`: the status code and body.
    pub fn http_get(&self, ns: &str, pod: &str, port: u16, path: &str) -> Result<(u16, String), ApiError> {
        self.http_request(ns, pod, port, "GET", path).map(|r| (r.status, r.body))
    }

    /// The log of a container of pod `ns/pod` as `kubectl logs` shows it: the running
    /// (or last ended) instance's, or with `previous` the one before.
    pub fn logs(&self, ns: &str, pod: &str, container: Option<&str>, previous: bool) -> Result<Vec<LogLine>, ApiError> {
        self.log_source(ns, pod, container, previous).map(|l| l.lines())
    }

    /// The log buffer `kubectl logs` reads (and `--follow` waits on).
    pub fn log_source(&self, ns: &str, pod: &str, container: Option<&str>, previous: bool) -> Result<Logs, ApiError> {
        let p = self.pod_or_404(ns, pod)?;
        let c = pick_container(&p, container)?;
        let uid = p.metadata.uid.clone().unwrap_or_default();
        let node = self.runtime.lock();
        let rt = node.pods.get(&uid).and_then(|r| r.container(&c.name));
        let (name, cname) = (pod, c.name.as_str());
        if previous {
            let last = rt.and_then(|c| match c.state {
                ContainerState::Exited => c.previous_exit.as_ref(),
                _ => c.last_exit.as_ref(),
            });
            return last
                .map(|e| e.logs.clone())
                .ok_or_else(|| ApiError::bad_request(format!("previous terminated container \"{cname}\" in pod \"{name}\" not found")));
        }
        match rt {
            Some(c) => match (&c.state, &c.last_exit) {
                (ContainerState::Running(i), _) => Ok(i.logs.clone()),
                (_, Some(exit)) => Ok(exit.logs.clone()),
                (ContainerState::Creating { .. } | ContainerState::Waiting, None) => Err(ApiError::bad_request(format!(
                    "container \"{cname}\" in pod \"{name}\" is waiting to start: {}",
                    if c.init { "PodInitializing" } else { "ContainerCreating" }
                ))),
                (_, None) => Err(ApiError::bad_request(format!("container \"{cname}\" in pod \"{name}\" is terminated"))),
            },
            None => Err(ApiError::bad_request(format!("container \"{cname}\" in pod \"{name}\" is waiting to start: ContainerCreating"))),
        }
    }
}
