//! What each probe and container is doing, from what the kubelet reported: `Unhealthy`
//! and `Killing` events per container, the `ready`/`started` flags, and the container's
//! state and last termination. A probe is never said to fail because the container is
//! down, and an app that exited is shown as a crash with its exit code, not as a probe.

use app::model::{Crash, ProbeState};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Event, Pod, Probe};

use super::pods::unix;

/// The three probe kinds, as the page names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `startupProbe`.
    Startup,
    /// `livenessProbe`.
    Liveness,
    /// `readinessProbe`.
    Readiness,
}

impl Kind {
    /// `startup`, `liveness`, `readiness`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Startup => "startup",
            Kind::Liveness => "liveness",
            Kind::Readiness => "readiness",
        }
    }

    /// The start of the kubelet's `Unhealthy` message, e.g. `Readiness probe`.
    fn event_prefix(self) -> &'static str {
        match self {
            Kind::Startup => "Startup probe",
            Kind::Liveness => "Liveness probe",
            Kind::Readiness => "Readiness probe",
        }
    }
}

/// What the kubelet reported about one container.
pub struct Reported<'a> {
    /// Its status, if the kubelet has written one.
    pub status: Option<&'a ContainerStatus>,
    /// The pod's events about this container (`fieldPath: spec.containers{name}`).
    pub events: Vec<&'a Event>,
    /// When the pod's Ready condition last became true, if it is true now.
    pub ready_since: Option<i64>,
}

impl<'a> Reported<'a> {
    /// The facts about container `name` of `pod`, from the pod's own `events`.
    pub fn of(pod: &'a Pod, name: &str, events: &'a [std::sync::Arc<Event>]) -> Self {
        let status = pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).and_then(|s| s.iter().find(|c| c.name == name));
        let field_path = format!("spec.containers{{{name}}}");
        let events = events.iter().map(AsRef::as_ref).filter(|e| e.involved_object.field_path.as_deref() == Some(field_path.as_str())).collect();
        let ready_since = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_deref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.status == "True"))
            .map(|c| unix(c.last_transition_time.as_ref()));
        Reported { status, events, ready_since }
    }

    fn running_since(&self) -> Option<i64> {
        self.status.and_then(|s| s.state.as_ref()).and_then(|s| s.running.as_ref()).map(|r| unix(r.started_at.as_ref()))
    }

    /// The newest `Unhealthy` event of probe `kind` seen at or after `since`.
    fn unhealthy(&self, kind: Kind, since: i64) -> Option<&'a Event> {
        self.events
            .iter()
            .copied()
            .filter(|e| e.reason.as_deref() == Some("Unhealthy"))
            .filter(|e| e.message.as_deref().is_some_and(|m| m.starts_with(kind.event_prefix())))
            .filter(|e| last_seen(e) >= since)
            .max_by_key(|e| last_seen(e))
    }

    /// Whether `t` ended because the kubelet killed the container for a failed
    /// liveness or startup probe (a `Killing` event during that instance).
    fn killed_by_probe(&self, t: &ContainerStateTerminated) -> Option<Kind> {
        let (started, finished) = (unix(t.started_at.as_ref()), unix(t.finished_at.as_ref()));
        self.events.iter().filter(|e| e.reason.as_deref() == Some("Killing")).filter(|e| (started..=finished + KILL_SLACK).contains(&last_seen(e))).find_map(
            |e| {
                let m = e.message.as_deref().unwrap_or_default();
                if m.contains("failed liveness probe") {
                    Some(Kind::Liveness)
                } else if m.contains("failed startup probe") {
                    Some(Kind::Startup)
                } else {
                    None
                }
            },
        )
    }
}

/// Seconds between a `Killing` event and the end of the container it stopped (the
/// kubelet records the event, then stops the container).
const KILL_SLACK: i64 = 2;

/// When an event was last seen (Unix seconds).
pub fn last_seen(e: &Event) -> i64 {
    match e.last_timestamp.as_ref().or(e.first_timestamp.as_ref()) {
        Some(t) => t.0.as_second(),
        None => e.event_time.as_ref().map_or(0, |t| t.0.as_second()),
    }
}

fn first_seen(e: &Event) -> i64 {
    match e.first_timestamp.as_ref() {
        Some(t) => t.0.as_second(),
        None => last_seen(e),
    }
}

fn failing(e: &Event, failures: i32, threshold: i32, kind: Kind) -> ProbeState {
    let message = e.message.as_deref().unwrap_or_default();
    // `Readiness probe failed: HTTP probe failed with statuscode: 500` → the part after the colon.
    let message = message
        .strip_prefix(kind.event_prefix())
        .map(str::trim_start)
        .and_then(|m| m.strip_prefix("failed:").or_else(|| m.strip_prefix("errored:")))
        .map_or(message, str::trim_start);
    ProbeState::Failing { failures: failures.clamp(1, threshold.max(1)), threshold, message: message.to_owned() }
}

/// Failures in a row shown by event `e` since `since`: its count if it started then,
/// else at least one (an aggregated event may also count an earlier episode).
fn consecutive(e: &Event, since: i64) -> i32 {
    if first_seen(e) >= since { e.count.unwrap_or(1) } else { 1 }
}

/// What the kubelet last reported for probe `kind` (configured as `probe`).
pub fn probe_state(kind: Kind, probe: &Probe, c: &Reported<'_>, not_running: Option<&str>) -> ProbeState {
    let threshold = probe.failure_threshold.unwrap_or(3);
    let Some(since) = c.running_since() else {
        return ProbeState::NotRunning { reason: not_running.unwrap_or("the container is not running").to_owned() };
    };
    let status = c.status;
    let started = status.and_then(|s| s.started).unwrap_or(false);
    let ready = status.is_some_and(|s| s.ready);
    match kind {
        Kind::Startup if started => ProbeState::Passing,
        Kind::Startup => match c.unhealthy(kind, since) {
            Some(e) => failing(e, consecutive(e, since), threshold, kind),
            None => ProbeState::NotYetRun,
        },
        // Liveness and readiness probes wait for the startup probe.
        _ if !started => ProbeState::NotYetRun,
        Kind::Liveness => match c.unhealthy(kind, since) {
            // At the threshold the kubelet restarts the container, so a running one is below it.
            Some(e) => failing(e, consecutive(e, since).min(threshold - 1), threshold, kind),
            None => {
                let due = since + i64::from(probe.initial_delay_seconds.unwrap_or(0));
                // Ready after the first check was due: it ran and did not fail.
                if due <= c.ready_since.unwrap_or(since) { ProbeState::Passing } else { ProbeState::FirstDue { at: due } }
            }
        },
        Kind::Readiness if ready => {
            let ready_since = c.ready_since.unwrap_or(since);
            match c.unhealthy(kind, ready_since.max(since)) {
                Some(e) if last_seen(e) > ready_since => failing(e, consecutive(e, ready_since + 1).min(threshold - 1), threshold, kind),
                _ => ProbeState::Passing,
            }
        }
        Kind::Readiness => match c.unhealthy(kind, since) {
            Some(e) if first_seen(e) >= since => failing(e, e.count.unwrap_or(1).min(threshold), threshold, kind),
            // Failing since before an earlier aggregation: at least at the threshold, as it is not Ready.
            Some(e) => failing(e, threshold, threshold, kind),
            None => ProbeState::NotYetRun,
        },
    }
}

/// The app's exit, if it exited by itself: now, or as the instance before the one
/// running. A container the kubelet killed for a failed probe did not crash.
pub fn crash(c: &Reported<'_>) -> Option<Crash> {
    let status = c.status?;
    let state = status.state.as_ref()?;
    let last = status.last_state.as_ref().and_then(|l| l.terminated.as_ref());
    let (t, back_off, previous) = if let Some(t) = &state.terminated {
        (t, false, false)
    } else if state.waiting.as_ref().is_some_and(|w| w.reason.as_deref() == Some("CrashLoopBackOff")) {
        (last?, true, false)
    } else if state.running.is_some() {
        (last?, false, true)
    } else {
        return None;
    };
    if c.killed_by_probe(t).is_some() {
        return None;
    }
    Some(Crash {
        reason: t.reason.clone().unwrap_or_else(|| "Error".to_owned()),
        exit_code: t.exit_code,
        finished_at: unix(t.finished_at.as_ref()),
        back_off,
        previous,
    })
}

/// Why the container is not running, in words a student understands; `None` when it runs.
pub fn not_running(pod: &Pod, c: &Reported<'_>) -> Option<String> {
    if pod.metadata.deletion_timestamp.is_some() {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(30);
        if c.running_since().is_some() {
            return None;
        }
        return Some(format!("the pod was deleted and is shutting down (Terminating, grace period {grace}s)"));
    }
    let Some(status) = c.status else {
        let scheduled = pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
        return Some(if scheduled { "the container has not been created yet" } else { "the pod is waiting for a node (Pending)" }.to_owned());
    };
    let state = status.state.as_ref()?;
    if state.running.is_some() {
        return None;
    }
    if let Some(t) = &state.terminated {
        return Some(exited(t));
    }
    let w = state.waiting.as_ref()?;
    let reason = w.reason.as_deref().unwrap_or("Waiting");
    Some(match reason {
        "CrashLoopBackOff" => {
            let last = status.last_state.as_ref().and_then(|l| l.terminated.as_ref());
            let why = match last {
                Some(t) => match c.killed_by_probe(t) {
                    Some(kind) => format!("the kubelet restarted it because its {} probe failed", kind.name()),
                    None => exited(t),
                },
                None => "it keeps stopping".to_owned(),
            };
            format!("{why}; the kubelet waits longer after each restart before starting it again (CrashLoopBackOff)")
        }
        "ContainerCreating" => "the container is being created (ContainerCreating)".to_owned(),
        "PodInitializing" => init_failure(pod).unwrap_or_else(|| "waiting for the init containers to finish (PodInitializing)".to_owned()),
        "ErrImagePull" | "ImagePullBackOff" => format!("its image cannot be pulled ({reason})"),
        other => match w.message.as_deref() {
            Some(m) if !m.is_empty() => format!("the container is waiting: {m} ({other})"),
            _ => format!("the container is waiting ({other})"),
        },
    })
}

/// `the app exited with code 1 (Error)`.
fn exited(t: &ContainerStateTerminated) -> String {
    let reason = t.reason.as_deref().unwrap_or("Error");
    if t.exit_code == 0 { format!("the app finished with exit code 0 ({reason})") } else { format!("the app exited with code {} ({reason})", t.exit_code) }
}

/// An init container that failed, in words, if one did.
fn init_failure(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.init_container_statuses.as_deref()?;
    statuses.iter().find_map(|s| {
        let state = s.state.as_ref()?;
        let t = state.terminated.as_ref().filter(|t| t.exit_code != 0).or_else(|| {
            let backing_off = state.waiting.as_ref().is_some_and(|w| w.reason.as_deref() == Some("CrashLoopBackOff"));
            s.last_state.as_ref().and_then(|l| l.terminated.as_ref()).filter(|_| backing_off)
        })?;
        Some(format!("init container {} exited with code {}; the app starts only after every init container succeeds", s.name, t.exit_code))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use app::model::ProbeState;
    use serde_json::json;

    use super::*;
    use crate::mapping::pods::{not_running as pod_not_running, pod_view};

    /// `2026-01-01T00:00:<s>Z`.
    fn at(s: u32) -> String {
        format!("2026-01-01T00:{:02}:{:02}Z", s / 60, s % 60)
    }

    fn t0() -> i64 {
        "2026-01-01T00:00:00Z".parse::<jiff::Timestamp>().map_or(0, |t| t.as_second())
    }

    /// Pod `web-0` with one container `app` (liveness and readiness probes on /healthz),
    /// its container status `status`, and the Ready condition since `ready_since`.
    fn pod(status: serde_json::Value, ready_since: Option<u32>) -> Pod {
        let probe = json!({"httpGet": {"path": "/healthz", "port": 8000}, "failureThreshold": 3});
        let conditions = match ready_since {
            Some(s) => json!([{"type": "Ready", "status": "True", "lastTransitionTime": at(s)}]),
            None => json!([{"type": "Ready", "status": "False", "lastTransitionTime": at(0)}]),
        };
        serde_json::from_value(json!({
            "metadata": {"name": "web-0", "uid": "pod-uid", "creationTimestamp": at(0)},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "lab", "livenessProbe": probe, "readinessProbe": probe}]},
            "status": {"phase": "Running", "podIP": "10.244.0.5", "conditions": conditions, "containerStatuses": [status]}
        }))
        .expect("pod")
    }

    fn running(since: u32, ready: bool, restarts: i32) -> serde_json::Value {
        json!({"name": "app", "image": "lab", "imageID": "", "ready": ready, "started": true, "restartCount": restarts,
               "state": {"running": {"startedAt": at(since)}}})
    }

    fn event(reason: &str, message: &str, count: i32, first: u32, last: u32) -> Arc<Event> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": format!("web-0.{reason}{first}")},
                "involvedObject": {"kind": "Pod", "name": "web-0", "uid": "pod-uid", "fieldPath": "spec.containers{app}"},
                "reason": reason, "message": message, "count": count, "type": "Warning",
                "firstTimestamp": at(first), "lastTimestamp": at(last)
            }))
            .expect("event"),
        )
    }

    fn states(p: &Pod, events: &[Arc<Event>]) -> (ProbeState, ProbeState) {
        let v = pod_view(p, "web", events, Default::default());
        let find = |kind: &str| v.containers[0].probes.iter().find(|p| p.kind == kind).map(|p| p.state.clone()).expect("probe");
        (find("liveness"), find("readiness"))
    }

    #[test]
    fn a_crashing_app_is_a_crash_with_its_exit_code_and_its_probes_say_they_do_not_run() {
        let p = pod(
            json!({"name": "app", "image": "lab", "imageID": "", "ready": false, "started": false, "restartCount": 3,
                   "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
                   "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": at(10), "finishedAt": at(11)}}}),
            None,
        );
        let why = "the app exited with code 1 (Error); the kubelet waits longer after each restart before starting it again (CrashLoopBackOff)";
        let not_running = ProbeState::NotRunning { reason: why.to_owned() };
        assert_eq!(states(&p, &[]), (not_running.clone(), not_running));
        let v = pod_view(&p, "web", &[], Default::default());
        let crash = v.containers[0].crash.clone().expect("a crash");
        assert_eq!((crash.reason.as_str(), crash.exit_code, crash.back_off, crash.previous), ("Error", 1, true, false));
        assert_eq!(crash.finished_at, t0() + 11);
        // The visits cell says the same, not "pod is not running (Running)".
        assert_eq!(pod_not_running(&p).as_deref(), Some(why));
    }

    #[test]
    fn a_readiness_probe_failing_on_a_ready_pod_counts_up_to_the_threshold() {
        let p = pod(running(0, true, 0), Some(5));
        let failing = event("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", 2, 20, 30);
        let message = "HTTP probe failed with statuscode: 500".to_owned();
        assert_eq!(states(&p, &[failing]), (ProbeState::Passing, ProbeState::Failing { failures: 2, threshold: 3, message: message.clone() }));
        // Not Ready any more: the kubelet reached the threshold.
        let p = pod(running(0, false, 0), None);
        let failing = event("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", 7, 20, 90);
        assert_eq!(states(&p, &[failing]).1, ProbeState::Failing { failures: 3, threshold: 3, message });
        // Failures from before it became Ready again are history.
        let p = pod(running(0, true, 0), Some(100));
        let old = event("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", 7, 20, 90);
        assert_eq!(states(&p, &[old]).1, ProbeState::Passing);
    }

    #[test]
    fn a_container_restarted_for_liveness_is_not_a_crash_and_its_new_instance_starts_clean() {
        let mut status = running(40, true, 1);
        status["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "Error", "startedAt": at(0), "finishedAt": at(30)}});
        let p = pod(status, Some(41));
        let events = [
            event("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", 3, 10, 30),
            event("Killing", "Container app failed liveness probe, will be restarted", 1, 30, 30),
        ];
        assert_eq!(states(&p, &events), (ProbeState::Passing, ProbeState::Passing));
        assert_eq!(pod_view(&p, "web", &events, Default::default()).containers[0].crash, None);
        // While it is failing, before the restart: n of the threshold.
        let p = pod(running(0, true, 0), Some(1));
        let failing = event("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", 2, 10, 20);
        assert!(matches!(states(&p, &[failing]).0, ProbeState::Failing { failures: 2, threshold: 3, .. }));
    }

    #[test]
    fn probes_that_have_not_run_say_so() {
        let mut status = running(0, false, 0);
        status["started"] = json!(false);
        let p = pod(status, None);
        assert_eq!(states(&p, &[]), (ProbeState::NotYetRun, ProbeState::NotYetRun));
        let p = pod(running(0, false, 0), None);
        assert_eq!(states(&p, &[]).1, ProbeState::NotYetRun, "running and started, readiness not passed yet, no failure reported");
    }

    #[test]
    fn a_liveness_probe_with_an_initial_delay_is_due_then_and_passes_without_a_failure() {
        let mut p = pod(running(10, true, 0), Some(11));
        let liveness = p.spec.as_mut().and_then(|s| s.containers[0].liveness_probe.as_mut()).expect("liveness probe");
        liveness.initial_delay_seconds = Some(3);
        // Ready a second after it started, two before the first liveness check.
        assert_eq!(states(&p, &[]).0, ProbeState::FirstDue { at: t0() + 13 });
        assert_eq!(states(&p, &[]).0.as_of(t0() + 12), ProbeState::NotYetRun);
        assert_eq!(states(&p, &[]).0.as_of(t0() + 13), ProbeState::Passing);
        // Ready only after the check was due: it has run and passed.
        let p = pod(running(10, true, 0), Some(20));
        assert_eq!(states(&p, &[]).0, ProbeState::Passing);
    }

    #[test]
    fn a_failed_init_container_is_named_in_words() {
        let mut p = pod(
            json!({"name": "app", "image": "lab", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}),
            None,
        );
        if let Some(s) = p.status.as_mut() {
            s.init_container_statuses = Some(vec![
                serde_json::from_value(json!({"name": "setup", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}))
                .expect("init status"),
            ]);
        }
        assert_eq!(pod_not_running(&p).as_deref(), Some("init container setup exited with code 2; the app starts only after every init container succeeds"));
    }
}
