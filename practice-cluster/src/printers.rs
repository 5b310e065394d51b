//! How kubectl prints things: ages, pod STATUS, READY and RESTARTS cells.
//!
//! These follow kubectl's own rules (pkg/printers) so `kubectl get` against the practice
//! cluster reads like a real cluster, and so the dashboard can show the very same words.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;

/// A duration the way kubectl's AGE column prints it: `55s`, `3m20s`, `2h5m`, `9d`, `2y3d`.
pub fn human_age(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs < -1 {
        return "<invalid>".to_owned();
    }
    if secs < 0 {
        return "0s".to_owned();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let years = hours / 24 / 365;
        return match (hours / 24) % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Access modes as kubectl abbreviates them: `ReadWriteOnce` → `RWO`, joined by commas.
pub fn access_modes(modes: &[String]) -> String {
    modes
        .iter()
        .map(|m| match m.as_str() {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Time since `then`, as kubectl prints it.
pub fn age_since(then: Timestamp, now: Timestamp) -> String {
    human_age(now.duration_since(then))
}

/// The READY, STATUS and RESTARTS cells of `kubectl get pods`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSummary {
    /// Ready containers, e.g. 1 of `1/1`.
    pub ready: usize,
    /// Containers counted, e.g. the second 1 of `1/1`.
    pub total: usize,
    /// The STATUS cell: `Running`, `Terminating`, `CrashLoopBackOff`, `Init:0/1`, ...
    pub status: String,
    /// Restarts summed over the counted containers.
    pub restarts: i32,
    /// When the most recent restart's container ended, if known.
    pub last_restart: Option<Timestamp>,
}

impl PodSummary {
    /// The READY cell, e.g. `1/1`.
    pub fn ready_cell(&self) -> String {
        format!("{}/{}", self.ready, self.total)
    }

    /// The RESTARTS cell, e.g. `0` or `1 (8d ago)`.
    pub fn restarts_cell(&self, now: Timestamp) -> String {
        match self.last_restart {
            Some(at) if self.restarts != 0 => format!("{} ({} ago)", self.restarts, age_since(at, now)),
            _ => self.restarts.to_string(),
        }
    }
}

fn terminated_reason(prefix: &str, reason: Option<&str>, signal: Option<i32>, exit_code: i32) -> String {
    match (reason.filter(|r| !r.is_empty()), signal.filter(|s| *s != 0)) {
        (Some(r), _) => format!("{prefix}{r}"),
        (None, Some(s)) => format!("{prefix}Signal:{s}"),
        (None, None) => format!("{prefix}ExitCode:{exit_code}"),
    }
}

/// Computes READY, STATUS and RESTARTS exactly as `kubectl get pods` does.
pub fn pod_summary(pod: &Pod) -> PodSummary {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let init_specs = spec.map(|s| s.init_containers.as_deref().unwrap_or_default()).unwrap_or_default();
    let sidecar = |name: &str| init_specs.iter().any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"));
    let mut total = spec.map_or(0, |s| s.containers.len());
    total += init_specs.iter().filter(|c| c.restart_policy.as_deref() == Some("Always")).count();

    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();
    let mut reason = status.and_then(|s| s.reason.clone()).filter(|r| !r.is_empty()).unwrap_or_else(|| phase.clone());
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    if conditions.iter().any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated")) {
        reason = "SchedulingGated".to_owned();
    }

    let mut ready = 0;
    let mut restarts = 0;
    let mut last_restart: Option<Timestamp> = None;
    let mut sidecar_restarts = 0;
    let mut sidecar_last: Option<Timestamp> = None;
    let bump = |last: &mut Option<Timestamp>, at: Option<Timestamp>| {
        if let Some(at) = at
            && last.is_none_or(|l| l < at)
        {
            *last = Some(at);
        }
    };

    let mut initializing = false;
    let init_statuses = status.and_then(|s| s.init_container_statuses.as_deref()).unwrap_or_default();
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += c.restart_count;
        let finished = c.last_state.as_ref().and_then(|l| l.terminated.as_ref()).and_then(|t| t.finished_at.as_ref()).map(|t| t.0);
        bump(&mut last_restart, finished);
        let is_sidecar = sidecar(&c.name);
        if is_sidecar {
            sidecar_restarts += c.restart_count;
            bump(&mut sidecar_last, finished);
        }
        let state = c.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        if terminated.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if is_sidecar && c.started == Some(true) {
            if c.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = terminated_reason("Init:", t.reason.as_deref(), t.signal, t.exit_code);
        } else if let Some(r) = waiting.and_then(|w| w.reason.as_deref()).filter(|r| !r.is_empty() && *r != "PodInitializing") {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    let initialized = conditions.iter().any(|c| c.type_ == "Initialized" && c.status == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = sidecar_last;
        let mut has_running = false;
        for c in status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default().iter().rev() {
            restarts += c.restart_count;
            let finished = c.last_state.as_ref().and_then(|l| l.terminated.as_ref()).and_then(|t| t.finished_at.as_ref()).map(|t| t.0);
            bump(&mut last_restart, finished);
            let state = c.state.as_ref();
            let waiting = state.and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref()).filter(|r| !r.is_empty());
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if let Some(w) = waiting {
                reason = w.to_owned();
            } else if let Some(t) = terminated {
                reason = terminated_reason("", t.reason.as_deref(), t.signal, t.exit_code);
            } else if c.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let has_ready = conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
            reason = if has_ready { "Running" } else { "NotReady" }.to_owned();
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        if status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
            reason = "Unknown".to_owned();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_owned();
        }
    }

    PodSummary { ready, total, status: reason, restarts, last_restart }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, PodSpec, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (55, "55s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (47 * 3600, "47h"),
            (9 * 86400, "9d"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (800 * 86400, "2y70d"),
            (3000 * 86400, "8y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_age(SignedDuration::from_secs(secs)), want, "{secs}s");
        }
    }

    fn pod(containers: Vec<ContainerStatus>, phase: &str) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: containers.iter().map(|c| Container { name: c.name.clone(), ..Default::default() }).collect(),
                ..Default::default()
            }),
            status: Some(PodStatus { phase: Some(phase.into()), container_statuses: Some(containers), ..Default::default() }),
            ..Default::default()
        }
    }

    fn running(ready: bool) -> ContainerStatus {
        ContainerStatus {
            name: "app".into(),
            ready,
            state: Some(ContainerState { running: Some(ContainerStateRunning::default()), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn running_ready_pod() {
        let s = pod_summary(&pod(vec![running(true)], "Running"));
        assert_eq!((s.ready_cell(), s.status.as_str()), ("1/1".to_owned(), "Running"));
    }

    #[test]
    fn crash_loop_with_restart_age() {
        let mut c = running(false);
        c.state =
            Some(ContainerState { waiting: Some(ContainerStateWaiting { reason: Some("CrashLoopBackOff".into()), message: None }), ..Default::default() });
        c.restart_count = 1;
        c.last_state = Some(ContainerState {
            terminated: Some(ContainerStateTerminated { exit_code: 1, finished_at: Some(Time(ts("2026-01-01T00:00:00Z"))), ..Default::default() }),
            ..Default::default()
        });
        let s = pod_summary(&pod(vec![c], "Running"));
        assert_eq!(s.status, "CrashLoopBackOff");
        assert_eq!(s.ready_cell(), "0/1");
        assert_eq!(s.restarts_cell(ts("2026-01-09T00:00:00Z")), "1 (8d ago)");
    }

    #[test]
    fn terminated_without_reason_prints_exit_code() {
        let mut c = running(false);
        c.state = Some(ContainerState { terminated: Some(ContainerStateTerminated { exit_code: 3, ..Default::default() }), ..Default::default() });
        assert_eq!(pod_summary(&pod(vec![c], "Running")).status, "ExitCode:3");
    }

    #[test]
    fn deletion_timestamp_means_terminating_unless_finished() {
        let mut p = pod(vec![running(true)], "Running");
        p.metadata.deletion_timestamp = Some(Time(ts("2026-01-01T00:00:00Z")));
        assert_eq!(pod_summary(&p).status, "Terminating");
        p.status.as_mut().expect("status").phase = Some("Succeeded".into());
        p.status.as_mut().expect("status").container_statuses = None;
        assert_eq!(pod_summary(&p).status, "Succeeded");
    }

    #[test]
    fn waiting_init_container_shows_progress() {
        let mut p = pod(vec![], "Pending");
        p.spec.as_mut().expect("spec").init_containers = Some(vec![Container { name: "init".into(), ..Default::default() }]);
        p.spec.as_mut().expect("spec").containers = vec![Container { name: "app".into(), ..Default::default() }];
        p.status.as_mut().expect("status").init_container_statuses = Some(vec![ContainerStatus {
            name: "init".into(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting { reason: Some("PodInitializing".into()), message: None }),
                ..Default::default()
            }),
            ..Default::default()
        }]);
        let s = pod_summary(&p);
        assert_eq!((s.status.as_str(), s.ready_cell()), ("Init:0/1", "0/1".to_owned()));
    }

    #[test]
    fn container_creating_is_the_waiting_reason() {
        let mut c = running(false);
        c.state =
            Some(ContainerState { waiting: Some(ContainerStateWaiting { reason: Some("ContainerCreating".into()), message: None }), ..Default::default() });
        assert_eq!(pod_summary(&pod(vec![c], "Pending")).status, "ContainerCreating");
    }
}
