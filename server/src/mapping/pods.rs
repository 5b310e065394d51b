//! Pod rows and their probes panel: kubectl's STATUS/READY/RESTARTS, containers with
//! their probes and results, and recent probe-related events.

use std::sync::Arc;

use app::model::{ContainerView, EventView, PodView, ProbeView, Visits};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use practice_cluster::printers::pod_summary;

use super::probes::{self, Kind, Reported};
pub use crate::watch::{FAULTS, PROBE_REASONS};

/// How many events a pod shows.
const MAX_EVENTS: usize = 5;

fn port_text(p: &IntOrString) -> String {
    match p {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// What a probe checks, as `kubectl describe pod` words it:
/// `http-get http://:http/healthz`, `exec [cat /tmp/healthy]`, `tcp-socket :8000`.
pub fn probe_action(p: &Probe) -> String {
    if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
        let host = h.host.as_deref().unwrap_or_default();
        return format!("http-get {scheme}://{host}:{}{}", port_text(&h.port), h.path.as_deref().unwrap_or("/"));
    }
    if let Some(e) = &p.exec {
        return format!("exec [{}]", e.command.as_deref().unwrap_or_default().join(" "));
    }
    if let Some(t) = &p.tcp_socket {
        return format!("tcp-socket {}:{}", t.host.as_deref().unwrap_or_default(), port_text(&t.port));
    }
    if let Some(g) = &p.grpc {
        return format!("grpc <pod>:{} {}", g.port, g.service.as_deref().unwrap_or_default());
    }
    "unknown".to_owned()
}

fn probe_view(kind: Kind, p: &Probe, reported: &Reported<'_>, not_running: Option<&str>) -> ProbeView {
    let state = probes::probe_state(kind, p, reported, not_running);
    ProbeView {
        kind: kind.name().to_owned(),
        action: probe_action(p),
        initial_delay_seconds: p.initial_delay_seconds.unwrap_or(0),
        period_seconds: p.period_seconds.unwrap_or(10),
        timeout_seconds: p.timeout_seconds.unwrap_or(1),
        success_threshold: p.success_threshold.unwrap_or(1),
        failure_threshold: p.failure_threshold.unwrap_or(3),
        state,
    }
}

/// Why `pod`'s app cannot answer now, in words a student understands (`None`: it can).
pub fn not_running(pod: &Pod) -> Option<String> {
    let first = pod.spec.as_ref().and_then(|s| s.containers.first())?;
    let reported = Reported::of(pod, &first.name, &[]);
    if pod.metadata.deletion_timestamp.is_some() {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(30);
        return Some(format!("the pod was deleted and is shutting down (Terminating, grace period {grace}s)"));
    }
    probes::not_running(pod, &reported)
}

/// A container state in words.
fn state_text(cs: Option<&ContainerStatus>) -> String {
    let Some(state) = cs.and_then(|c| c.state.as_ref()) else { return "Waiting".to_owned() };
    if state.running.is_some() {
        "Running".to_owned()
    } else if let Some(w) = &state.waiting {
        format!("Waiting: {}", w.reason.as_deref().unwrap_or("unknown"))
    } else if let Some(t) = &state.terminated {
        format!("Terminated: {} (exit {})", t.reason.as_deref().unwrap_or("unknown"), t.exit_code)
    } else {
        "Unknown".to_owned()
    }
}

/// Unix seconds of a Kubernetes time; 0 when there is none.
pub fn unix(t: Option<&Time>) -> i64 {
    t.map_or(0, |t| t.0.as_second())
}

/// The row for `pod` of StatefulSet `sts`; `events` are the pod's own (any order).
pub fn pod_view(pod: &Pod, sts: &str, events: &[Arc<Event>], visits: Visits) -> PodView {
    let summary = pod_summary(pod);
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref();
    let statuses = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    let containers = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| {
            let cs = statuses.iter().find(|s| s.name == c.name);
            let reported = Reported::of(pod, &c.name, events);
            let why = probes::not_running(pod, &reported);
            let mut probes = Vec::new();
            for (kind, probe) in [(Kind::Startup, &c.startup_probe), (Kind::Liveness, &c.liveness_probe), (Kind::Readiness, &c.readiness_probe)] {
                if let Some(p) = probe {
                    probes.push(probe_view(kind, p, &reported, why.as_deref()));
                }
            }
            let terminated = cs.and_then(|s| s.last_state.as_ref()).and_then(|l| l.terminated.as_ref());
            let last_termination = terminated.map(|t| format!("{} (exit {})", t.reason.as_deref().unwrap_or("unknown"), t.exit_code));
            ContainerView {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                ready: cs.is_some_and(|s| s.ready),
                started: cs.and_then(|s| s.started).unwrap_or(false),
                restart_count: cs.map_or(0, |s| s.restart_count),
                state: state_text(cs),
                last_termination,
                last_termination_at: unix(terminated.and_then(|t| t.finished_at.as_ref())),
                probes,
                crash: probes::crash(&reported),
            }
        })
        .collect();
    PodView {
        ordinal: crate::mapping::ordinal(sts, &name).unwrap_or(-1),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        status: summary.status.clone(),
        ready: summary.ready_cell(),
        is_ready: status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        restarts: summary.restarts,
        last_restart_at: summary.last_restart.map_or(0, Timestamp::as_second),
        created_at: unix(pod.metadata.creation_timestamp.as_ref()),
        ready_at: status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.status == "True"))
            .map_or(0, |c| unix(c.last_transition_time.as_ref())),
        grace_period_seconds: pod.metadata.deletion_timestamp.as_ref().map(|_| pod.metadata.deletion_grace_period_seconds.unwrap_or(30)),
        ip: status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default(),
        revision: pod.metadata.labels.as_ref().and_then(|l| l.get("controller-revision-hash").cloned()).unwrap_or_default(),
        containers,
        events: pod_events(events),
        visits,
        faults: faults(pod),
        name,
    }
}

/// The faults switched on for `pod` (an annotation with any value but `false`, as the
/// practice cluster reads them).
fn faults(pod: &Pod) -> Vec<String> {
    let annotations = pod.metadata.annotations.as_ref();
    FAULTS
        .iter()
        .filter(|(_, key)| annotations.and_then(|a| a.get(*key)).is_some_and(|v| !v.trim().eq_ignore_ascii_case("false")))
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// The pod's recent probe-related events, newest first, from the pod's own events.
pub fn pod_events(events: &[Arc<Event>]) -> Vec<EventView> {
    let mut mine: Vec<&Arc<Event>> = events.iter().filter(|e| e.reason.as_deref().is_some_and(|r| PROBE_REASONS.contains(&r))).collect();
    let last_seen = |e: &Event| e.last_timestamp.as_ref().or(e.first_timestamp.as_ref()).map(|t| t.0);
    mine.sort_by_key(|e| std::cmp::Reverse(last_seen(e)));
    mine.into_iter()
        .take(MAX_EVENTS)
        .map(|e| EventView {
            type_: e.type_.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
            last_seen_at: last_seen(e).map_or(0, Timestamp::as_second),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, TCPSocketAction};

    #[test]
    fn probe_actions_read_like_their_spec() {
        let http = Probe {
            http_get: Some(HTTPGetAction { path: Some("/healthz".into()), port: IntOrString::String("http".into()), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(probe_action(&http), "http-get http://:http/healthz");
        let exec = Probe { exec: Some(ExecAction { command: Some(vec!["cat".into(), "/tmp/healthy".into()]) }), ..Default::default() };
        assert_eq!(probe_action(&exec), "exec [cat /tmp/healthy]");
        let tcp = Probe { tcp_socket: Some(TCPSocketAction { port: IntOrString::Int(8000), host: None }), ..Default::default() };
        assert_eq!(probe_action(&tcp), "tcp-socket :8000");
    }

    #[test]
    fn probe_defaults_are_kubernetes_defaults() {
        let pod = Pod::default();
        let v = probe_view(Kind::Readiness, &Probe::default(), &Reported::of(&pod, "app", &[]), None);
        assert_eq!((v.initial_delay_seconds, v.period_seconds, v.timeout_seconds, v.success_threshold, v.failure_threshold), (0, 10, 1, 1, 3));
    }
}
