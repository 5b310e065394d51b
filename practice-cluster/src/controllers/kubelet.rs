//! The practice node's kubelet, and the scheduler in front of it.
//!
//! Scheduling: a pod without `spec.nodeName` whose claims are all Bound is assigned to
//! the one node (`PodScheduled` True, a `Scheduled` event); while a claim is not bound
//! it stays Pending with `PodScheduled` False, reason `Unschedulable`, and one
//! `FailedScheduling` event per distinct message.
//!
//! The kubelet then runs the pod on the simulated runtime ([`crate::sim`]) and writes
//! its status the way the real kubelet does: an IP, init containers run one after the
//! other, app containers `ContainerCreating` for [`crate::Timings::container_start`],
//! then running the lab app; startup, readiness and liveness probes on Kubernetes'
//! schedule; restarts with back-off (none for the first restart beyond [`RELIST`], then
//! 10 s doubling to 300 s, reset after 10 minutes of running); and on deletion, SIGTERM, the app's
//! shutdown, and removal of the pod object. Events (`Pulled`, `Created`, `Started`,
//! `Unhealthy`, `Killing`, `BackOff`) carry the real kubelet's wording.
//!
//! Probe timing, per container instance: a probe first runs `initialDelaySeconds` after
//! the container started, then every `periodSeconds`. Readiness and liveness probes
//! are skipped until the startup probe (if any) has succeeded. A result flips after
//! `successThreshold` consecutive successes or `failureThreshold` consecutive failures;
//! before its first flip, readiness counts as failed and liveness as passed.
//!
//! When an instance ends, the container shows as terminated (`Error`, `Completed`) for
//! [`RELIST`], the time a real kubelet takes to notice the exit, so `kubectl get pods`
//! can catch `Error` and `Init:Error` between runs as on a real node; then it is
//! restarted or put into back-off.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{
    Container, ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition,
    PodIP, PodStatus, Probe,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::pod_queue::{PodQueue, Work};
use super::{Ctx, Due};
use crate::events::{self, Severity, Source};
use crate::sim::app::{self, App};
use crate::sim::node::{ContainerRuntime, ContainerState, Exit, Instance, Logs, PodRuntime, ProbeKind, ProbeState, Stopping};
use crate::sim::{ExecTarget, Node, container_env, mount_table, probe, root_fs, run_in};
use crate::store::StoreError;

/// How long a crashing app runs before it exits.
const CRASH_AFTER: SignedDuration = SignedDuration::from_secs(1);
/// How long an exited container shows as terminated before the kubelet acts on it
/// (the real kubelet's pod lifecycle event relist period).
pub const RELIST: SignedDuration = SignedDuration::from_secs(1);
/// The first non-zero restart back-off.
const BACKOFF_INITIAL: SignedDuration = SignedDuration::from_secs(10);
/// The longest restart back-off.
const BACKOFF_MAX: SignedDuration = SignedDuration::from_secs(300);
/// Running this long ends a crash streak.
const BACKOFF_RESET: SignedDuration = SignedDuration::from_secs(600);
/// The node's address when the Node object does not say.
const DEFAULT_NODE_IP: &str = "172.18.0.2";
/// The scheduler's message while a claim is not bound.
pub const UNBOUND_CLAIMS: &str = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

/// Schedules pending pods and runs the node's pods: the pods whose object changed or
/// that fell due since the last pass (see [`PodQueue`]), or every pod on the first pass.
pub fn reconcile(ctx: &Ctx) -> Option<Timestamp> {
    let cluster = ctx.cluster;
    let mut queue = crate::controllers::queue::lock(&cluster.pod_queue);
    let node_ip = node_ip(ctx);
    let work = queue.take(ctx.now);
    let mut node = cluster.runtime.lock();
    match work {
        Work::All => {
            let (pods, _) = cluster.store.pods.list(None);
            queue.forget_all_uids();
            let mut present = HashSet::with_capacity(pods.len());
            for pod in pods {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                queue.seen(&key(&pod), Some(&uid));
                present.insert(uid);
                sync_one(ctx, &mut queue, &mut node, pod, &node_ip);
            }
            let gone: Vec<String> = node.pods.keys().filter(|u| !present.contains(*u)).cloned().collect();
            for uid in gone {
                node.free_pod(&uid);
            }
        }
        Work::Some(keys) => {
            for key in keys {
                let pod = cluster.store.pods.get(&key.0, &key.1);
                if let Some(replaced) = queue.seen(&key, pod.as_ref().and_then(|p| p.metadata.uid.as_deref())) {
                    node.free_pod(&replaced);
                }
                match pod {
                    Some(pod) => sync_one(ctx, &mut queue, &mut node, pod, &node_ip),
                    None => {
                        queue.due_at(&key, None);
                        queue.set_unscheduled(&key, false);
                    }
                }
            }
        }
    }
    queue.next_due()
}

/// Schedules and runs one pod, and notes when it next needs a pass.
fn sync_one(ctx: &Ctx, queue: &mut PodQueue, node: &mut Node, pod: Arc<Pod>, node_ip: &str) {
    let key = key(&pod);
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let due = match schedule(ctx, pod.clone()) {
        Some(pod) => {
            queue.set_unscheduled(&key, false);
            sync_pod(ctx, node, &pod, &uid, node_ip)
        }
        None => {
            let waiting = pod.spec.as_ref().is_some_and(|s| s.node_name.as_deref().is_none_or(str::is_empty));
            queue.set_unscheduled(&key, waiting);
            None
        }
    };
    queue.due_at(&key, due);
}

/// The node's InternalIP.
fn node_ip(ctx: &Ctx) -> String {
    let node = ctx.cluster.store.nodes.get("", &ctx.cluster.config.node_name);
    node.as_ref()
        .and_then(|n| n.status.as_ref())
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
        .unwrap_or_else(|| DEFAULT_NODE_IP.to_owned())
}

fn phase_of(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(phase_of(pod), Some("Succeeded" | "Failed"))
}

fn key(pod: &Pod) -> (String, String) {
    (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default())
}

/// Why the pod cannot be scheduled yet, if it cannot.
fn unschedulable(ctx: &Ctx, pod: &Pod) -> Option<String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
    let preemption = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    for claim in volumes.iter().filter_map(|v| v.persistent_volume_claim.as_ref()) {
        let name = &claim.claim_name;
        let Some(pvc) = ctx.cluster.store.pvcs.get(ns, name) else {
            return Some(format!("0/1 nodes are available: persistentvolumeclaim \"{name}\" not found. {preemption}"));
        };
        if pvc.metadata.deletion_timestamp.is_some() {
            return Some(format!("0/1 nodes are available: persistentvolumeclaim \"{name}\" is being deleted. {preemption}"));
        }
        let bound = pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()).is_some_and(|v| !v.is_empty())
            && pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        if !bound {
            return Some(UNBOUND_CLAIMS.to_owned());
        }
    }
    None
}

/// Returns the pod if it runs on this node, scheduling it here first if it can be.
fn schedule(ctx: &Ctx, pod: Arc<Pod>) -> Option<Arc<Pod>> {
    let spec = pod.spec.as_ref()?;
    match spec.node_name.as_deref() {
        Some(n) if n == ctx.cluster.config.node_name => return Some(pod),
        Some(n) if !n.is_empty() => return None,
        _ => {}
    }
    if pod.metadata.deletion_timestamp.is_some() || is_terminal(&pod) || spec.scheduler_name.as_deref().is_some_and(|s| s != "default-scheduler") {
        return None;
    }
    let (ns, name) = key(&pod);
    let store = &ctx.cluster.store;
    let now = ctx.now;
    if let Some(message) = unschedulable(ctx, &pod) {
        let written = store.pods.modify(&ns, &name, |p| {
            let st = p.status.get_or_insert_with(Default::default);
            let conditions = st.conditions.get_or_insert_with(Vec::new);
            let condition = PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("Unschedulable".into()),
                message: Some(message.clone()),
                last_transition_time: Some(Time(now)),
                ..Default::default()
            };
            match conditions.iter_mut().find(|c| c.type_ == "PodScheduled") {
                Some(c) if c.status == "False" && c.message == condition.message => return Ok::<_, StoreError>(false),
                Some(c) => *c = condition,
                None => conditions.push(condition),
            }
            Ok(true)
        });
        if let Ok(Some(p)) = written {
            events::record(ctx.cluster, Source::Scheduler, events::reference(p.as_ref(), None), Severity::Warning, "FailedScheduling", message);
        }
        return None;
    }
    let node_name = ctx.cluster.config.node_name.clone();
    let bound = store.pods.modify(&ns, &name, |p| {
        let Some(spec) = p.spec.as_mut() else { return Ok::<_, StoreError>(false) };
        if spec.node_name.as_deref().is_some_and(|n| !n.is_empty()) {
            return Ok(false);
        }
        spec.node_name = Some(node_name.clone());
        let st = p.status.get_or_insert_with(Default::default);
        let conditions = st.conditions.get_or_insert_with(Vec::new);
        conditions.retain(|c| c.type_ != "PodScheduled");
        conditions.push(PodCondition { type_: "PodScheduled".into(), status: "True".into(), last_transition_time: Some(Time(now)), ..Default::default() });
        Ok(true)
    });
    let bound = bound.ok().flatten()?;
    events::record(
        ctx.cluster,
        Source::Scheduler,
        events::reference(bound.as_ref(), None),
        Severity::Normal,
        "Scheduled",
        format!("Successfully assigned {ns}/{name} to {node_name}"),
    );
    Some(bound)
}

/// Runs one pod for this pass and writes its status; returns when it next needs a pass.
fn sync_pod(ctx: &Ctx, node: &mut Node, pod: &Arc<Pod>, uid: &str, node_ip: &str) -> Option<Timestamp> {
    let mut rt = match node.pods.remove(uid) {
        Some(rt) => rt,
        None => {
            if is_terminal(pod) {
                return None;
            }
            if pod.metadata.deletion_timestamp.is_some() {
                // Deleted before anything ran: nothing to stop.
                remove_if_done(ctx, pod);
                return None;
            }
            let Some(ip) = node.ips.allocate() else {
                tracing::warn!(pod = ?key(pod), "no pod IP left in 10.244.0.0/16");
                return None;
            };
            let mut rt = PodRuntime::new(pod, ip, ctx.now);
            rt.carry_restart_counts(pod);
            rt
        }
    };
    let mut sync = PodSync { ctx, pod, due: Due::default() };
    sync.step(node, &mut rt);
    let written = write_status(ctx, pod, &rt, node_ip);
    if rt.finished && pod.metadata.deletion_timestamp.is_some() {
        let latest = written.unwrap_or_else(|| pod.clone());
        if remove_if_done(ctx, &latest) {
            node.ips.release(rt.ip);
            return None;
        }
    }
    node.pods.insert(uid.to_owned(), rt);
    sync.due.0
}

/// Removes a deleted pod whose containers have stopped, unless finalizers hold it.
fn remove_if_done(ctx: &Ctx, pod: &Pod) -> bool {
    if pod.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty()) {
        return false;
    }
    crate::ops::finish_deletion(&ctx.cluster.store.pods, pod)
}

/// Which container of a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Init(usize),
    App(usize),
}

fn slot_mut(rt: &mut PodRuntime, slot: Slot) -> Option<&mut ContainerRuntime> {
    match slot {
        Slot::Init(i) => rt.init.get_mut(i),
        Slot::App(i) => rt.containers.get_mut(i),
    }
}

fn slot_ref(rt: &PodRuntime, slot: Slot) -> Option<&ContainerRuntime> {
    match slot {
        Slot::Init(i) => rt.init.get(i),
        Slot::App(i) => rt.containers.get(i),
    }
}

/// The back-off before the restart that follows `streak` earlier restarts.
fn backoff(streak: u32) -> SignedDuration {
    if streak == 0 {
        return SignedDuration::ZERO;
    }
    let factor = 1i64 << streak.saturating_sub(1).min(16);
    BACKOFF_INITIAL.checked_mul(factor as i32).unwrap_or(BACKOFF_MAX).min(BACKOFF_MAX)
}

/// A duration as Go prints it: `10s`, `1m20s`, `5m0s`, `1.5s`, `500ms`.
fn go_duration(d: SignedDuration) -> String {
    let ms = d.as_millis().max(0);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (m, s, frac) = (ms / 60_000, (ms / 1000) % 60, ms % 1000);
    let secs = if frac == 0 { s.to_string() } else { format!("{s}.{}", format!("{frac:03}").trim_end_matches('0')) };
    if m == 0 { format!("{secs}s") } else { format!("{m}m{secs}s") }
}

fn secs(n: Option<i32>, default: i64) -> SignedDuration {
    SignedDuration::from_secs(n.map_or(default, i64::from).max(0))
}

fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(t)
}

/// `practice://` and 64 hex digits.
fn new_container_id() -> String {
    format!("practice://{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// An image reference as the runtime reports it: `docker.io/stslab/visits:1.0`.
fn full_image(image: &str) -> String {
    let (first, _) = image.split_once('/').unwrap_or(("", image));
    let registry = first.contains('.') || first.contains(':') || first == "localhost";
    let path = if registry {
        image.to_owned()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains(':') || last.contains('@') { path } else { format!("{path}:latest") }
}

/// A stable digest-like ID for an image: `docker.io/stslab/visits@sha256:<64 hex>`.
fn image_id(image: &str) -> String {
    let full = full_image(image);
    let repo = full.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map_or(full.as_str(), |(r, _)| r);
    let mut digest = String::with_capacity(64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0..4u64 {
        for b in full.bytes().chain(round.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        digest.push_str(&format!("{h:016x}"));
    }
    format!("{repo}@sha256:{digest}")
}

/// One pod's pass.
struct PodSync<'a> {
    ctx: &'a Ctx<'a>,
    pod: &'a Arc<Pod>,
    due: Due,
}

impl PodSync<'_> {
    fn spec(&self, slot: Slot) -> Option<&Container> {
        let spec = self.pod.spec.as_ref()?;
        match slot {
            Slot::Init(i) => spec.init_containers.as_ref()?.get(i),
            Slot::App(i) => spec.containers.get(i),
        }
    }

    fn field_path(&self, slot: Slot) -> String {
        let name = self.spec(slot).map(|c| c.name.as_str()).unwrap_or_default();
        match slot {
            Slot::Init(_) => format!("spec.initContainers{{{name}}}"),
            Slot::App(_) => format!("spec.containers{{{name}}}"),
        }
    }

    fn event(&self, slot: Option<Slot>, severity: Severity, reason: &str, message: String) {
        let reference = events::reference(self.pod.as_ref(), slot.map(|s| self.field_path(s)));
        events::record(self.ctx.cluster, Source::Kubelet, reference, severity, reason, message);
    }

    fn restart_policy(&self) -> &str {
        self.pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always")
    }

    fn step(&mut self, node: &mut Node, rt: &mut PodRuntime) {
        if rt.finished {
            return;
        }
        if let Some(deadline) = self.pod.metadata.deletion_timestamp.as_ref().map(|t| t.0) {
            self.stop(node, rt, deadline);
            return;
        }
        // One init container at a time; whether it just finished or still runs, the
        // next one (or the app containers) waits for a later pass.
        match (0..rt.init.len()).find(|i| !rt.init[*i].completed()) {
            Some(i) => {
                self.step_container(node, rt, Slot::Init(i));
            }
            None => {
                for i in 0..rt.containers.len() {
                    self.step_container(node, rt, Slot::App(i));
                }
            }
        }
        if matches!(pod_phase(rt, self.restart_policy()), "Succeeded" | "Failed") {
            rt.finished = true;
        }
    }

    /// Termination: SIGTERM once, then the containers stop at the end of the app's
    /// shutdown or of the grace period, whichever comes first.
    fn stop(&mut self, node: &mut Node, rt: &mut PodRuntime, deadline: Timestamp) {
        let now = self.ctx.now;
        let stopping = match rt.stopping {
            Some(s) => s,
            None => {
                let running: Vec<Slot> = (0..rt.init.len())
                    .map(Slot::Init)
                    .chain((0..rt.containers.len()).map(Slot::App))
                    .filter(|s| slot_ref(rt, *s).and_then(ContainerRuntime::instance).is_some())
                    .collect();
                let until = if running.is_empty() { now } else { add(now, self.ctx.cluster.config.timings.app_shutdown).min(deadline).max(now) };
                for slot in running {
                    let name = slot_ref(rt, slot).map(|c| c.name.clone()).unwrap_or_default();
                    self.event(Some(slot), Severity::Normal, "Killing", format!("Stopping container {name}"));
                }
                let s = Stopping { since: now, until };
                rt.stopping = Some(s);
                s
            }
        };
        if now >= stopping.until {
            for slot in (0..rt.init.len()).map(Slot::Init).chain((0..rt.containers.len()).map(Slot::App)) {
                end_instance(rt, slot, 0, "Completed", stopping.until);
            }
            rt.finished = true;
            return;
        }
        self.due.at(stopping.until);
        // Readiness keeps being probed while the app shuts down; liveness does not.
        for i in 0..rt.containers.len() {
            self.run_probes(node, rt, Slot::App(i), true);
        }
    }

    /// Moves one container along; returns whether an instance ended.
    fn step_container(&mut self, node: &mut Node, rt: &mut PodRuntime, slot: Slot) -> bool {
        let now = self.ctx.now;
        let init = matches!(slot, Slot::Init(_));
        for _ in 0..8 {
            let Some(c) = slot_mut(rt, slot) else { return false };
            match &mut c.state {
                ContainerState::Waiting if init => self.start_instance(node, rt, slot, now),
                ContainerState::Waiting => {
                    c.state = ContainerState::Creating { until: add(now, self.ctx.cluster.config.timings.container_start) };
                }
                ContainerState::Creating { until } | ContainerState::BackOff { until, .. } => {
                    let at = *until;
                    if at > now {
                        self.due.at(at);
                        return false;
                    }
                    self.start_instance(node, rt, slot, at);
                }
                ContainerState::Running(inst) => {
                    if let Some((at, code)) = inst.finishes {
                        if at <= now {
                            end_instance(rt, slot, code, if code == 0 { "Completed" } else { "Error" }, at);
                            return true;
                        }
                        self.due.at(at);
                    }
                    if !init && app::fault(self.pod, app::CRASH) {
                        let crash_at = add(inst.started_at, CRASH_AFTER);
                        if crash_at <= now {
                            inst.logs.push(now, format!("{} is set: exiting with code 1", app::CRASH));
                            end_instance(rt, slot, 1, "Error", now);
                            return true;
                        }
                        self.due.at(crash_at);
                    }
                    return self.run_probes(node, rt, slot, false);
                }
                ContainerState::Exited => {
                    let Some(exit) = c.last_exit.as_ref() else { return false };
                    let (code, started, finished) = (exit.exit_code, exit.started_at, exit.finished_at);
                    let restart = match self.restart_policy() {
                        "Never" => false,
                        "OnFailure" => code != 0,
                        _ => !init || code != 0,
                    };
                    if !restart {
                        return false;
                    }
                    let noticed = add(finished, RELIST);
                    if noticed > now {
                        self.due.at(noticed);
                        return false;
                    }
                    if finished.duration_since(started) >= BACKOFF_RESET {
                        c.streak = 0;
                    }
                    let delay = backoff(c.streak);
                    c.streak += 1;
                    if delay.is_zero() {
                        self.start_instance(node, rt, slot, now);
                    } else {
                        let name = c.name.clone();
                        c.state = ContainerState::BackOff { until: add(finished, delay), delay };
                        let (ns, pod) = key(self.pod);
                        let uid = self.pod.metadata.uid.clone().unwrap_or_default();
                        self.event(Some(slot), Severity::Warning, "BackOff", format!("Back-off restarting failed container {name} in pod {pod}_{ns}({uid})"));
                    }
                }
            }
        }
        false
    }

    /// Starts a new instance of a container at `at`.
    fn start_instance(&mut self, node: &mut Node, rt: &mut PodRuntime, slot: Slot, at: Timestamp) {
        let Some(spec) = self.spec(slot).cloned() else { return };
        let cluster = self.ctx.cluster;
        let root = root_fs(self.pod, rt.ip, &cluster.config.cluster_domain, &cluster.clock);
        let mounts = mount_table(cluster, node, &mut rt.scratch, self.pod, &spec, root);
        let cwd = spec.working_dir.clone().filter(|d| d.starts_with('/')).unwrap_or_else(|| "/".to_owned());
        // Best effort, as a runtime creates the working directory; a read-only mount just keeps it absent.
        let _ = mounts.create_dir_all(&cwd);
        let env = container_env(self.pod, &spec, rt.ip, &cluster.config.node_name);
        let image = spec.image.clone().unwrap_or_default();
        if spec.image_pull_policy.as_deref() == Some("Always") {
            self.event(Some(slot), Severity::Normal, "Pulling", format!("Pulling image \"{image}\""));
            let took = go_duration(cluster.config.timings.container_start);
            self.event(Some(slot), Severity::Normal, "Pulled", format!("Successfully pulled image \"{image}\" in {took} ({took} including waiting)"));
        } else {
            self.event(Some(slot), Severity::Normal, "Pulled", format!("Container image \"{image}\" already present on machine"));
        }
        self.event(Some(slot), Severity::Normal, "Created", format!("Created container: {}", spec.name));
        self.event(Some(slot), Severity::Normal, "Started", format!("Started container {}", spec.name));

        let logs = Logs::default();
        let (app, finishes) = match slot {
            Slot::Init(_) => {
                let argv: Vec<String> = spec.command.iter().flatten().chain(spec.args.iter().flatten()).cloned().collect();
                let code = if argv.is_empty() {
                    0
                } else {
                    let target = ExecTarget { cluster, pod: self.pod, ip: rt.ip, mounts: &mounts, env: &env, cwd: &cwd, own: Vec::new() };
                    let out = run_in(target, &argv, &[], Some(&*node));
                    let text = format!("{}{}", out.stdout_text(), out.stderr_text());
                    for line in text.lines() {
                        logs.push(at, line);
                    }
                    out.exit_code
                };
                (None, Some((add(at, cluster.config.timings.container_start), code)))
            }
            Slot::App(_) => {
                let app = App::new(self.pod, &spec, mounts.clone());
                logs.push(at, app.banner());
                (Some(app), None)
            }
        };
        let mut probes = Vec::new();
        if matches!(slot, Slot::App(_)) {
            for (kind, p) in
                [(ProbeKind::Startup, &spec.startup_probe), (ProbeKind::Readiness, &spec.readiness_probe), (ProbeKind::Liveness, &spec.liveness_probe)]
            {
                if let Some(p) = p {
                    probes.push(probe_state(kind, p, at));
                }
            }
        }
        let started = !probes.iter().any(|p| p.kind == ProbeKind::Startup);
        let ready = started && !probes.iter().any(|p| p.kind == ProbeKind::Readiness);
        let Some(c) = slot_mut(rt, slot) else { return };
        if c.ever_started {
            c.restart_count += 1;
        }
        c.ever_started = true;
        c.state = ContainerState::Running(Box::new(Instance {
            id: new_container_id(),
            started_at: at,
            started,
            ready,
            probes,
            logs,
            finishes,
            mounts,
            env,
            cwd,
            app,
        }));
    }

    /// Runs the probes of one container that are due; returns whether one killed it.
    fn run_probes(&mut self, node: &Node, rt: &mut PodRuntime, slot: Slot, readiness_only: bool) -> bool {
        let now = self.ctx.now;
        let eligible = |inst: &Instance, p: &ProbeState| match p.kind {
            ProbeKind::Startup => !inst.started && !readiness_only,
            ProbeKind::Readiness => inst.started,
            ProbeKind::Liveness => inst.started && !readiness_only,
        };
        for _ in 0..64 {
            let own = rt.listeners();
            let ip = rt.ip;
            let Some(inst) = slot_ref(rt, slot).and_then(ContainerRuntime::instance) else { return false };
            let next =
                inst.probes.iter().enumerate().filter(|(_, p)| eligible(inst, p) && p.next_at <= now).min_by_key(|(_, p)| p.next_at).map(|(i, p)| (i, p.kind));
            let Some((index, kind)) = next else { break };
            let Some(container) = self.spec(slot) else { return false };
            let Some(spec) = probe_spec(container, kind) else { return false };
            let subject = probe::Subject {
                cluster: self.ctx.cluster,
                pod: self.pod,
                container,
                ip,
                mounts: &inst.mounts,
                env: &inst.env,
                cwd: &inst.cwd,
                own: &own,
                node,
            };
            let result = probe::attempt(kind, spec, &subject);
            let name = container.name.clone();
            let Some(inst) = slot_mut(rt, slot).and_then(ContainerRuntime::instance_mut) else { return false };
            let Some(p) = inst.probes.get_mut(index) else { return false };
            while p.next_at <= now {
                p.next_at = add(p.next_at, p.period);
            }
            match result {
                Ok(()) => {
                    p.successes = p.successes.saturating_add(1);
                    p.failures = 0;
                    if p.successes >= p.success_threshold {
                        match kind {
                            ProbeKind::Startup => {
                                inst.started = true;
                                inst.probes.retain(|p| p.kind != ProbeKind::Startup);
                                for p in &mut inst.probes {
                                    while p.next_at < now {
                                        p.next_at = add(p.next_at, p.period);
                                    }
                                }
                                if !inst.probes.iter().any(|p| p.kind == ProbeKind::Readiness) {
                                    inst.ready = true;
                                }
                            }
                            ProbeKind::Readiness => inst.ready = true,
                            ProbeKind::Liveness => {}
                        }
                    }
                }
                Err(message) => {
                    p.failures = p.failures.saturating_add(1);
                    p.successes = 0;
                    let at_threshold = p.failures >= p.failure_threshold;
                    self.event(Some(slot), Severity::Warning, "Unhealthy", format!("{} probe failed: {message}", kind.title()));
                    if at_threshold {
                        if kind == ProbeKind::Readiness {
                            inst.ready = false;
                        } else {
                            self.event(Some(slot), Severity::Normal, "Killing", format!("Container {name} failed {} probe, will be restarted", kind.lower()));
                            end_instance(rt, slot, 137, "Error", now);
                            return true;
                        }
                    }
                }
            }
        }
        if let Some(inst) = slot_ref(rt, slot).and_then(ContainerRuntime::instance) {
            for p in inst.probes.iter().filter(|p| eligible(inst, p)) {
                self.due.at(p.next_at);
            }
        }
        false
    }
}

fn probe_spec(container: &Container, kind: ProbeKind) -> Option<&Probe> {
    match kind {
        ProbeKind::Startup => container.startup_probe.as_ref(),
        ProbeKind::Readiness => container.readiness_probe.as_ref(),
        ProbeKind::Liveness => container.liveness_probe.as_ref(),
    }
}

fn probe_state(kind: ProbeKind, p: &Probe, started_at: Timestamp) -> ProbeState {
    ProbeState {
        kind,
        next_at: add(started_at, secs(p.initial_delay_seconds, 0)),
        period: secs(p.period_seconds, 10).max(SignedDuration::from_secs(1)),
        success_threshold: p.success_threshold.unwrap_or(1).max(1),
        failure_threshold: p.failure_threshold.unwrap_or(3).max(1),
        successes: 0,
        failures: 0,
    }
}

/// Ends the running instance of a container at `at`.
fn end_instance(rt: &mut PodRuntime, slot: Slot, exit_code: i32, reason: &str, at: Timestamp) {
    let Some(c) = slot_mut(rt, slot) else { return };
    let ContainerState::Running(inst) = std::mem::replace(&mut c.state, ContainerState::Exited) else {
        return;
    };
    inst.logs.close();
    let exit = Exit { exit_code, reason: reason.to_owned(), started_at: inst.started_at, finished_at: at, container_id: inst.id, logs: inst.logs };
    c.previous_exit = c.last_exit.replace(exit);
}

/// The pod phase, following the kubelet's rules.
fn pod_phase(rt: &PodRuntime, restart_policy: &str) -> &'static str {
    let succeeded_exit = |c: &ContainerRuntime| c.last_exit.as_ref().is_some_and(|e| e.exit_code == 0);
    if rt.finished && rt.stopping.is_some() {
        let all_ok = rt.containers.iter().all(|c| matches!(c.state, ContainerState::Exited) && succeeded_exit(c));
        return if all_ok { "Succeeded" } else { "Failed" };
    }
    if !rt.initialized() {
        let failed_init = rt.init.iter().any(|c| matches!(c.state, ContainerState::Exited) && !succeeded_exit(c));
        return if failed_init && restart_policy == "Never" { "Failed" } else { "Pending" };
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in &rt.containers {
        match &c.state {
            ContainerState::Running(_) => running += 1,
            ContainerState::Exited => {
                stopped += 1;
                if succeeded_exit(c) {
                    succeeded += 1;
                }
            }
            _ if c.last_exit.is_some() => stopped += 1,
            _ => waiting += 1,
        }
    }
    if waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        match restart_policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        }
    } else {
        "Pending"
    }
}

fn terminated(e: &Exit) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: e.exit_code,
        reason: Some(e.reason.clone()),
        started_at: Some(Time(e.started_at)),
        finished_at: Some(Time(e.finished_at)),
        container_id: Some(e.container_id.clone()),
        ..Default::default()
    }
}

fn waiting(reason: &str, message: Option<String>) -> ApiState {
    ApiState { waiting: Some(ContainerStateWaiting { reason: Some(reason.to_owned()), message }), ..Default::default() }
}

/// One container's status; `has_init` says whether the pod has init containers (its
/// app containers then wait as `PodInitializing`, as on a real node).
fn container_status(pod: &Pod, spec: &Container, c: &ContainerRuntime, has_init: bool) -> ContainerStatus {
    let image = spec.image.clone().unwrap_or_default();
    let last_terminated = |e: Option<&Exit>| ApiState { terminated: e.map(terminated), ..Default::default() };
    let (state, last_state) = match &c.state {
        ContainerState::Waiting | ContainerState::Creating { .. } if has_init || c.init => {
            (waiting("PodInitializing", None), last_terminated(c.last_exit.as_ref()))
        }
        ContainerState::Waiting | ContainerState::Creating { .. } => (waiting("ContainerCreating", None), last_terminated(c.last_exit.as_ref())),
        ContainerState::Running(i) => (
            ApiState { running: Some(ContainerStateRunning { started_at: Some(Time(i.started_at)) }), ..Default::default() },
            last_terminated(c.last_exit.as_ref()),
        ),
        ContainerState::Exited => (last_terminated(c.last_exit.as_ref()), last_terminated(c.previous_exit.as_ref())),
        ContainerState::BackOff { delay, .. } => {
            let (ns, name) = key(pod);
            let uid = pod.metadata.uid.as_deref().unwrap_or_default();
            let message = format!("back-off {} restarting failed container={} pod={name}_{ns}({uid})", go_duration(*delay), c.name);
            (waiting("CrashLoopBackOff", Some(message)), last_terminated(c.last_exit.as_ref()))
        }
    };
    let instance = c.instance();
    ContainerStatus {
        name: c.name.clone(),
        image: full_image(&image),
        image_id: if c.ever_started { image_id(&image) } else { String::new() },
        container_id: instance.map(|i| i.id.clone()).or_else(|| c.last_exit.as_ref().map(|e| e.container_id.clone())),
        ready: instance.is_some_and(|i| i.ready),
        started: Some(instance.is_some_and(|i| i.started)),
        restart_count: c.restart_count,
        state: Some(state),
        last_state: Some(last_state),
        ..Default::default()
    }
}

/// Sets a condition, keeping its lastTransitionTime unless its status changes.
fn condition(old: &[PodCondition], type_: &str, ok: bool, reason: Option<&str>, message: Option<String>, now: Timestamp) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let since = old.iter().find(|c| c.type_ == type_ && c.status == status).and_then(|c| c.last_transition_time.clone()).unwrap_or(Time(now));
    PodCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: if ok { None } else { reason.map(str::to_owned) },
        message: if ok { None } else { message },
        last_transition_time: Some(since),
        ..Default::default()
    }
}

/// The status the kubelet reports for `pod` given what runs.
fn build_status(pod: &Pod, rt: &PodRuntime, node_ip: &str, now: Timestamp) -> PodStatus {
    let mut st = pod.status.clone().unwrap_or_default();
    let restart_policy = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
    let phase = pod_phase(rt, restart_policy);
    let terminal = matches!(phase, "Succeeded" | "Failed");
    let initialized = rt.initialized();
    let spec = pod.spec.as_ref();
    let init_specs = spec.and_then(|s| s.init_containers.as_deref()).unwrap_or_default();
    let app_specs = spec.map(|s| s.containers.as_slice()).unwrap_or_default();

    let statuses = |specs: &[Container], rts: &[ContainerRuntime]| -> Vec<ContainerStatus> {
        specs.iter().filter_map(|s| rts.iter().find(|c| c.name == s.name).map(|c| container_status(pod, s, c, !init_specs.is_empty()))).collect()
    };
    st.init_container_statuses = (!init_specs.is_empty()).then(|| statuses(init_specs, &rt.init));
    let app_statuses = statuses(app_specs, &rt.containers);

    let unready: Vec<&str> = app_statuses.iter().filter(|c| !c.ready).map(|c| c.name.as_str()).collect();
    let incomplete: Vec<&str> = rt.init.iter().filter(|c| !c.completed()).map(|c| c.name.as_str()).collect();
    let old = st.conditions.take().unwrap_or_default();
    let all_ready = unready.is_empty() && initialized;
    let (ready_reason, ready_message) =
        if terminal { ("PodCompleted", None) } else { ("ContainersNotReady", Some(format!("containers with unready status: [{}]", unready.join(" ")))) };
    let mut conditions = vec![
        condition(&old, "PodReadyToStartContainers", !rt.finished, None, None, now),
        condition(
            &old,
            "Initialized",
            initialized,
            Some("ContainersNotInitialized"),
            Some(format!("containers with incomplete status: [{}]", incomplete.join(" "))),
            now,
        ),
        condition(&old, "Ready", all_ready && !terminal, Some(ready_reason), ready_message.clone(), now),
        condition(&old, "ContainersReady", all_ready && !terminal, Some(ready_reason), ready_message, now),
    ];
    match old.iter().find(|c| c.type_ == "PodScheduled") {
        Some(c) => conditions.push(c.clone()),
        None => conditions.push(condition(&old, "PodScheduled", true, None, None, rt.start_time)),
    }
    let known = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
    conditions.extend(old.iter().filter(|c| !known.contains(&c.type_.as_str())).cloned());

    st.phase = Some(phase.to_owned());
    st.conditions = Some(conditions);
    st.container_statuses = Some(app_statuses);
    st.host_ip = Some(node_ip.to_owned());
    st.host_ips = Some(vec![HostIP { ip: node_ip.to_owned() }]);
    st.pod_ip = Some(rt.ip.to_string());
    st.pod_ips = Some(vec![PodIP { ip: rt.ip.to_string() }]);
    st.start_time = Some(Time(rt.start_time));
    st
}

/// Writes the pod's status if it changed; returns the stored pod when written.
fn write_status(ctx: &Ctx, pod: &Pod, rt: &PodRuntime, node_ip: &str) -> Option<Arc<Pod>> {
    let (ns, name) = key(pod);
    let uid = pod.metadata.uid.clone();
    let now = ctx.now;
    let written = ctx.cluster.store.pods.modify(&ns, &name, |p| {
        if p.metadata.uid != uid {
            return Ok::<_, StoreError>(false);
        }
        let status = build_status(p, rt, node_ip, now);
        if p.status.as_ref() == Some(&status) {
            return Ok(false);
        }
        p.status = Some(status);
        Ok(true)
    });
    written.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_immediate_then_doubles_from_ten_seconds_to_five_minutes() {
        let delays: Vec<i64> = (0..8).map(|s| backoff(s).as_secs()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff(200).as_secs(), 300);
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(SignedDuration::from_secs(10)), "10s");
        assert_eq!(go_duration(SignedDuration::from_secs(300)), "5m0s");
        assert_eq!(go_duration(SignedDuration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(SignedDuration::from_millis(250)), "250ms");
    }

    #[test]
    fn images_are_reported_fully_qualified() {
        assert_eq!(full_image("stslab/visits:1.0"), "docker.io/stslab/visits:1.0");
        assert_eq!(full_image("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full_image("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
        let id = image_id("stslab/visits:1.0");
        assert!(id.starts_with("docker.io/stslab/visits@sha256:"), "{id}");
        assert_eq!(id.len(), "docker.io/stslab/visits@sha256:".len() + 64);
        assert_eq!(id, image_id("stslab/visits:1.0"));
    }
}
