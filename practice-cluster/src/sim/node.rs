//! What the simulated node remembers about each pod it runs: its IP, each container's
//! state and instances, probe counters, restart back-off and logs.
//!
//! The kubelet ([`crate::controllers::kubelet`]) drives these state machines; the exec,
//! proxy and log handlers only read them.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use super::app::App;
use super::fs::{Fs, MountTable};

/// How many log lines one container instance keeps.
const LOG_CAPACITY: usize = 2000;

/// One line of a container's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// When it was written.
    pub at: Timestamp,
    /// The text, without its newline.
    pub text: String,
}

#[derive(Debug)]
struct LogInner {
    lines: Mutex<VecDeque<LogLine>>,
    /// Lines ever written, so a follower knows what it has not seen yet; also the bell
    /// followers wait on.
    written: watch::Sender<u64>,
    closed: AtomicBool,
}

impl Default for LogInner {
    fn default() -> Self {
        LogInner { lines: Mutex::default(), written: watch::Sender::new(0), closed: AtomicBool::new(false) }
    }
}

/// One container instance's output: shared by the instance, `kubectl logs` readers and
/// followers, and kept after the instance ends for `--previous`.
#[derive(Clone, Debug, Default)]
pub struct Logs(Arc<LogInner>);

impl Logs {
    /// Appends a line, dropping the oldest beyond the cap.
    pub fn push(&self, at: Timestamp, text: impl Into<String>) {
        let mut lines = self.0.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() >= LOG_CAPACITY {
            lines.pop_front();
        }
        lines.push_back(LogLine { at, text: text.into() });
        self.0.written.send_modify(|n| *n += 1);
    }

    /// Every line kept.
    pub fn lines(&self) -> Vec<LogLine> {
        self.0.lines.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// Lines written after the first `seen` ones, and the new total.
    pub fn since(&self, seen: u64) -> (Vec<LogLine>, u64) {
        let lines = self.0.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let total = *self.0.written.borrow();
        let new = usize::try_from(total.saturating_sub(seen)).unwrap_or(usize::MAX).min(lines.len());
        (lines.iter().skip(lines.len() - new).cloned().collect(), total)
    }

    /// Marks the instance as ended, waking followers.
    pub fn close(&self) {
        self.0.closed.store(true, Ordering::SeqCst);
        self.0.written.send_modify(|_| {});
    }

    /// Whether the instance has ended.
    pub fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::SeqCst)
    }

    /// A receiver that wakes at every new line and at the end.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.written.subscribe()
    }
}

/// How a container instance ended.
#[derive(Clone, Debug)]
pub struct Exit {
    /// The exit code (137 for a kill).
    pub exit_code: i32,
    /// `Completed` or `Error`.
    pub reason: String,
    /// When the instance started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// The instance's container ID.
    pub container_id: String,
    /// What the instance wrote.
    pub logs: Logs,
}

/// The three kinds of probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// `startupProbe`: gates the others.
    Startup,
    /// `readinessProbe`: decides `ready`.
    Readiness,
    /// `livenessProbe`: restarts the container.
    Liveness,
}

impl ProbeKind {
    /// `Readiness`, as event messages spell it.
    pub fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Liveness => "Liveness",
        }
    }

    /// `readiness`, as kill messages spell it.
    pub fn lower(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Liveness => "liveness",
        }
    }

    /// The annotation that makes probes of this kind fail.
    pub fn fault_annotation(self) -> &'static str {
        match self {
            ProbeKind::Startup => super::app::FAIL_STARTUP,
            ProbeKind::Readiness => super::app::FAIL_READINESS,
            ProbeKind::Liveness => super::app::FAIL_LIVENESS,
        }
    }
}

/// A probe worker's counters for one container instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeState {
    /// Which probe.
    pub kind: ProbeKind,
    /// When it next runs.
    pub next_at: Timestamp,
    /// `periodSeconds`.
    pub period: SignedDuration,
    /// `successThreshold`.
    pub success_threshold: i32,
    /// `failureThreshold`.
    pub failure_threshold: i32,
    /// Consecutive successes.
    pub successes: i32,
    /// Consecutive failures.
    pub failures: i32,
}

/// One run of a container: what `containerID` names.
#[derive(Debug)]
pub struct Instance {
    /// `practice://<hex>`.
    pub id: String,
    /// When it started running.
    pub started_at: Timestamp,
    /// Whether the startup probe has succeeded (true at once without one).
    pub started: bool,
    /// Whether the readiness probe says so (true once started without one).
    pub ready: bool,
    /// Probe workers, in the order they are checked.
    pub probes: Vec<ProbeState>,
    /// Output of this instance.
    pub logs: Logs,
    /// For an init container: when it finishes and with which exit code.
    pub finishes: Option<(Timestamp, i32)>,
    /// The container's filesystems: its own root (lost on restart, like a real
    /// container's) plus the pod's volumes.
    pub mounts: MountTable,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: String,
    /// The app, for app containers.
    pub app: Option<App>,
}

/// Where a container is in its life.
#[derive(Debug)]
pub enum ContainerState {
    /// Not started yet and not being created (init containers still running).
    Waiting,
    /// Being pulled and created; starts at `until`.
    Creating {
        /// When it starts.
        until: Timestamp,
    },
    /// Running: see the instance.
    Running(Box<Instance>),
    /// Exited and not (yet) restarted; see `last_exit`.
    Exited,
    /// Waiting out the restart back-off.
    BackOff {
        /// When it restarts.
        until: Timestamp,
        /// The back-off being waited out.
        delay: SignedDuration,
    },
}

/// One container of a pod on the node.
#[derive(Debug)]
pub struct ContainerRuntime {
    /// The container's name.
    pub name: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Its state.
    pub state: ContainerState,
    /// Restarts so far.
    pub restart_count: i32,
    /// How the most recent instance ended.
    pub last_exit: Option<Exit>,
    /// How the instance before that ended.
    pub previous_exit: Option<Exit>,
    /// Restarts in the current crash streak (decides the back-off).
    pub streak: u32,
    /// Whether this container has ever started (the first start has no restart).
    pub ever_started: bool,
}

impl ContainerRuntime {
    /// A container that has not started.
    pub fn new(name: String, init: bool) -> Self {
        ContainerRuntime { name, init, state: ContainerState::Waiting, restart_count: 0, last_exit: None, previous_exit: None, streak: 0, ever_started: false }
    }

    /// The running instance, if any.
    pub fn instance(&self) -> Option<&Instance> {
        match &self.state {
            ContainerState::Running(i) => Some(i.as_ref()),
            _ => None,
        }
    }

    /// The running instance, mutably.
    pub fn instance_mut(&mut self) -> Option<&mut Instance> {
        match &mut self.state {
            ContainerState::Running(i) => Some(i.as_mut()),
            _ => None,
        }
    }

    /// Whether an init container has finished successfully.
    pub fn completed(&self) -> bool {
        matches!(self.state, ContainerState::Exited) && self.last_exit.as_ref().is_some_and(|e| e.exit_code == 0)
    }
}

/// Termination of a pod being deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopping {
    /// When the kubelet sent SIGTERM.
    pub since: Timestamp,
    /// When the containers will have stopped.
    pub until: Timestamp,
}

/// A pod on the node.
#[derive(Debug)]
pub struct PodRuntime {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// Its IP.
    pub ip: Ipv4Addr,
    /// When the kubelet took it on (`status.startTime`).
    pub start_time: Timestamp,
    /// Init containers, in order.
    pub init: Vec<ContainerRuntime>,
    /// App containers, in order.
    pub containers: Vec<ContainerRuntime>,
    /// Set once the pod is being deleted.
    pub stopping: Option<Stopping>,
    /// All containers have stopped for good; nothing more to do.
    pub finished: bool,
    /// emptyDir (and other non-claim) volumes, by volume name.
    pub scratch: std::collections::BTreeMap<String, Fs>,
}

impl PodRuntime {
    /// A pod the kubelet has just taken on, with IP `ip`.
    pub fn new(pod: &k8s_openapi::api::core::v1::Pod, ip: Ipv4Addr, now: Timestamp) -> Self {
        let spec = pod.spec.as_ref();
        let names = |init: bool| -> Vec<ContainerRuntime> {
            let list = match spec {
                Some(s) if init => s.init_containers.as_deref().unwrap_or_default(),
                Some(s) => s.containers.as_slice(),
                None => &[],
            };
            list.iter().map(|c| ContainerRuntime::new(c.name.clone(), init)).collect()
        };
        PodRuntime {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            ip,
            start_time: now,
            init: names(true),
            containers: names(false),
            stopping: None,
            finished: false,
            scratch: Default::default(),
        }
    }

    /// Takes over the restart counts `pod`'s status shows: the pod ran before the node
    /// (the practice cluster) restarted, and its RESTARTS column carries on.
    pub fn carry_restart_counts(&mut self, pod: &k8s_openapi::api::core::v1::Pod) {
        let Some(status) = pod.status.as_ref() else { return };
        for (containers, statuses) in [(&mut self.containers, &status.container_statuses), (&mut self.init, &status.init_container_statuses)] {
            for c in containers.iter_mut() {
                if let Some(s) = statuses.iter().flatten().find(|s| s.name == c.name) {
                    c.restart_count = s.restart_count;
                }
            }
        }
    }

    /// The apps listening in this pod, with their logs.
    pub fn listeners(&self) -> Vec<(App, Logs)> {
        self.containers.iter().filter_map(ContainerRuntime::instance).filter_map(|i| i.app.clone().map(|a| (a, i.logs.clone()))).collect()
    }

    /// The container called `name`, init or app.
    pub fn container(&self, name: &str) -> Option<&ContainerRuntime> {
        self.containers.iter().chain(self.init.iter()).find(|c| c.name == name)
    }

    /// Whether every init container has completed.
    pub fn initialized(&self) -> bool {
        self.init.iter().all(ContainerRuntime::completed)
    }
}
