//! The simulated node as a user sees it: `kubectl get pods` cells, events, exec, the
//! app's answers, all on a manual clock so every probe and back-off happens on time.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use serde_json::{Value, json};

use crate::printers::pod_summary;
use crate::{Clock, Cluster, Config};

const START: &str = "2025-03-01T10:00:00Z";

fn start() -> Timestamp {
    START.parse().expect("start time")
}

fn cluster() -> Arc<Cluster> {
    Cluster::new(Config::default(), Clock::manual(start()))
}

fn secs(s: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(s)
}

/// Moves the clock to `start + at` seconds.
fn at(c: &Cluster, at: f64) {
    let target = start() + secs(at);
    let by = target.duration_since(c.clock.now());
    assert!(by >= SignedDuration::ZERO, "time only moves forward");
    c.advance(by);
}

fn container(extra: Value) -> Value {
    let mut c = json!({"name": "app", "image": "stslab/visits:1.0", "ports": [{"name": "http", "containerPort": 8000}]});
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    c
}

fn create_pod(c: &Cluster, name: &str, spec: Value) -> Arc<Pod> {
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).expect("pod json");
    let created = crate::ops::create(c, Some("default"), pod, false).expect("create pod");
    c.settle();
    created
}

/// A pod like the lab's, with its data on claim `claim` mounted at /data.
fn lab_pod(c: &Cluster, name: &str, claim: &str, probes: Value) -> Arc<Pod> {
    let mut extra = json!({
        "workingDir": "/data",
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    });
    if let (Some(e), Some(p)) = (extra.as_object_mut(), probes.as_object()) {
        e.extend(p.clone());
    }
    create_pod(
        c,
        name,
        json!({
            "hostname": name, "subdomain": "web",
            "containers": [container(extra)],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
        }),
    )
}

/// A PV and a claim bound to it, as the provisioner would leave them.
fn bound_claim(c: &Cluster, claim: &str, pv: &str) {
    let volume: PersistentVolume = serde_json::from_value(json!({
        "metadata": {"name": pv},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": format!("/pv/{pv}")},
                 "claimRef": {"namespace": "default", "name": claim}},
    }))
    .expect("pv json");
    crate::ops::create(c, None, volume, false).expect("create pv");
    let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": claim},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": pv},
    }))
    .expect("pvc json");
    crate::ops::create(c, Some("default"), pvc, false).expect("create pvc");
    bind(c, claim);
}

fn bind(c: &Cluster, claim: &str) {
    let r: Result<_, crate::store::StoreError> = c.store.pvcs.modify("default", claim, |p| {
        p.status.get_or_insert_with(Default::default).phase = Some("Bound".into());
        Ok(true)
    });
    r.expect("bind claim");
}

fn pod(c: &Cluster, name: &str) -> Arc<Pod> {
    c.store.pods.get("default", name).expect("pod exists")
}

/// `(READY, STATUS, RESTARTS)` as `kubectl get pods` prints them.
fn row(c: &Cluster, name: &str) -> (String, String, String) {
    let s = pod_summary(&pod(c, name));
    (s.ready_cell(), s.status.clone(), s.restarts_cell(c.clock.now()))
}

fn status(c: &Cluster, name: &str) -> String {
    row(c, name).1
}

fn annotate(c: &Cluster, name: &str, key: &str, value: Option<&str>) {
    let r: Result<_, crate::store::StoreError> = c.store.pods.modify("default", name, |p| {
        let a = p.metadata.annotations.get_or_insert_with(Default::default);
        match value {
            Some(v) => a.insert(key.to_owned(), v.to_owned()),
            None => a.remove(key),
        };
        Ok(true)
    });
    r.expect("annotate");
    c.settle();
}

fn events(c: &Cluster, reason: &str) -> Vec<Arc<Event>> {
    c.store.events.list(Some("default")).0.into_iter().filter(|e| e.reason.as_deref() == Some(reason)).collect()
}

/// How many times events with `reason` were recorded (counting aggregated repeats).
fn event_count(c: &Cluster, reason: &str) -> i32 {
    events(c, reason).iter().map(|e| e.count.unwrap_or(1)).sum()
}

fn messages(c: &Cluster, reason: &str) -> Vec<String> {
    events(c, reason).iter().filter_map(|e| e.message.clone()).collect()
}

fn condition(c: &Cluster, name: &str, type_: &str) -> (String, Timestamp) {
    let p = pod(c, name);
    let cond = p.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == type_).cloned()).expect("condition");
    (cond.status, cond.last_transition_time.expect("transition time").0)
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn a_pod_is_scheduled_created_and_running_after_container_start() {
    let c = cluster();
    create_pod(&c, "solo", json!({"containers": [container(json!({}))]}));
    assert_eq!(row(&c, "solo"), ("0/1".into(), "ContainerCreating".into(), "0".into()));
    let p = pod(&c, "solo");
    assert_eq!(p.spec.as_ref().and_then(|s| s.node_name.as_deref()), Some("practice-node"));
    assert_eq!(p.status.as_ref().and_then(|s| s.pod_ip.as_deref()), Some("10.244.0.2"));
    assert_eq!(messages(&c, "Scheduled"), ["Successfully assigned default/solo to practice-node"]);
    assert_eq!(condition(&c, "solo", "PodScheduled").0, "True");
    assert_eq!(condition(&c, "solo", "Ready").0, "False");

    at(&c, 1.4);
    assert_eq!(status(&c, "solo"), "ContainerCreating");
    at(&c, 1.5);
    assert_eq!(row(&c, "solo"), ("1/1".into(), "Running".into(), "0".into()));
    let (ready, since) = condition(&c, "solo", "Ready");
    assert_eq!((ready.as_str(), since), ("True", start() + secs(1.5)));
    assert_eq!(messages(&c, "Pulled"), ["Container image \"stslab/visits:1.0\" already present on machine"]);
    assert_eq!(messages(&c, "Created"), ["Created container: app"]);
    assert_eq!(messages(&c, "Started"), ["Started container app"]);
    assert_eq!(events(&c, "Started")[0].involved_object.field_path.as_deref(), Some("spec.containers{app}"));
    let cs = pod(&c, "solo").status.clone().and_then(|s| s.container_statuses).expect("statuses");
    assert!(cs[0].container_id.as_deref().is_some_and(|id| id.starts_with("practice://") && id.len() == 11 + 64));
    assert_eq!(cs[0].image, "docker.io/stslab/visits:1.0");

    // Nothing changes later: transition times stay put.
    at(&c, 100.0);
    assert_eq!(condition(&c, "solo", "Ready").1, start() + secs(1.5));
}

#[test]
fn readiness_follows_initial_delay_period_and_threshold_exactly() {
    let c = cluster();
    let probe = json!({"readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
        "initialDelaySeconds": 5, "periodSeconds": 3, "failureThreshold": 2}});
    create_pod(&c, "r", json!({"containers": [container(probe)]}));
    // Running at 1.5 s, first probe 5 s later.
    at(&c, 6.4);
    assert_eq!(row(&c, "r").0, "0/1");
    assert_eq!(status(&c, "r"), "Running");
    at(&c, 6.5);
    assert_eq!(row(&c, "r").0, "1/1");
    assert_eq!(condition(&c, "r", "Ready"), ("True".into(), start() + secs(6.5)));

    annotate(&c, "r", super::app::FAIL_READINESS, Some("true"));
    at(&c, 9.5);
    assert_eq!(row(&c, "r").0, "1/1", "one failure is below the threshold");
    assert_eq!(event_count(&c, "Unhealthy"), 1);
    at(&c, 12.4);
    assert_eq!(row(&c, "r").0, "1/1");
    at(&c, 12.5);
    assert_eq!(row(&c, "r").0, "0/1");
    assert_eq!(event_count(&c, "Unhealthy"), 2);
    assert_eq!(messages(&c, "Unhealthy"), ["Readiness probe failed: HTTP probe failed with statuscode: 500"]);
    let p = pod(&c, "r");
    let ready = p.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == "Ready").cloned());
    let ready = ready.expect("Ready condition");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(ready.message.as_deref(), Some("containers with unready status: [app]"));
    assert_eq!(condition(&c, "r", "ContainersReady").0, "False");

    at(&c, 15.5);
    assert_eq!(event_count(&c, "Unhealthy"), 3);
    annotate(&c, "r", super::app::FAIL_READINESS, None);
    at(&c, 18.4);
    assert_eq!(row(&c, "r").0, "0/1");
    at(&c, 18.5);
    assert_eq!(row(&c, "r").0, "1/1");
    assert_eq!(event_count(&c, "Unhealthy"), 3, "no event when readiness recovers");
    assert_eq!(row(&c, "r").2, "0");
}

#[test]
fn failing_liveness_kills_and_restarts_the_container() {
    let c = cluster();
    let probe = json!({"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8000}, "periodSeconds": 5, "failureThreshold": 3}});
    create_pod(&c, "l", json!({"containers": [container(probe)]}));
    at(&c, 2.0);
    annotate(&c, "l", super::app::FAIL_LIVENESS, Some("true"));
    // Probes at 1.5 (passed), 6.5, 11.5, 16.5: the third failure kills.
    at(&c, 16.4);
    assert_eq!(row(&c, "l"), ("1/1".into(), "Running".into(), "0".into()));
    assert_eq!(event_count(&c, "Unhealthy"), 2);
    at(&c, 16.5);
    assert_eq!(messages(&c, "Killing"), ["Container app failed liveness probe, will be restarted"]);
    assert_eq!(messages(&c, "Unhealthy"), ["Liveness probe failed: HTTP probe failed with statuscode: 500"]);
    // Terminated until the kubelet notices (1 s), then restarted without back-off.
    assert_eq!(row(&c, "l"), ("0/1".into(), "Error".into(), "0".into()));
    at(&c, 17.5);
    assert_eq!(row(&c, "l"), ("1/1".into(), "Running".into(), "1 (1s ago)".into()));
    let cs = pod(&c, "l").status.clone().and_then(|s| s.container_statuses).expect("statuses");
    let last = cs[0].last_state.as_ref().and_then(|l| l.terminated.clone()).expect("lastState.terminated");
    assert_eq!((last.exit_code, last.reason.as_deref()), (137, Some("Error")));
    assert_eq!(last.finished_at.map(|t| t.0), Some(start() + secs(16.5)));
    // Still failing: the new instance is probed at 17.5, 22.5 and 27.5, then killed
    // again, and this second restart waits out a 10 s back-off from its exit.
    at(&c, 27.4);
    assert_eq!(row(&c, "l"), ("1/1".into(), "Running".into(), "1 (10s ago)".into()));
    at(&c, 28.5);
    assert_eq!(row(&c, "l"), ("0/1".into(), "CrashLoopBackOff".into(), "1 (1s ago)".into()));
    at(&c, 37.5);
    assert_eq!(row(&c, "l"), ("1/1".into(), "Running".into(), "2 (10s ago)".into()));
    assert_eq!(event_count(&c, "Killing"), 2);
}

#[test]
fn a_crashing_app_backs_off_ten_twenty_forty_seconds() {
    let c = cluster();
    let p = create_pod(&c, "crash", json!({"containers": [container(json!({}))]}));
    annotate(&c, "crash", super::app::CRASH, Some("true"));
    let uid = p.metadata.uid.clone().expect("uid");
    // Starts at 1.5, exits at 2.5 (shown as Error for a second), restarts at 3.5 without
    // back-off, exits at 4.5: back-off 10 s from then, from 5.5 on.
    at(&c, 2.5);
    assert_eq!(row(&c, "crash"), ("0/1".into(), "Error".into(), "0".into()));
    at(&c, 3.5);
    assert_eq!(row(&c, "crash"), ("1/1".into(), "Running".into(), "1 (1s ago)".into()));
    at(&c, 5.5);
    assert_eq!(row(&c, "crash"), ("0/1".into(), "CrashLoopBackOff".into(), "1 (1s ago)".into()));
    let waiting = |c: &Cluster| {
        let cs = pod(c, "crash").status.clone().and_then(|s| s.container_statuses).expect("statuses");
        cs[0].state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.message.clone()).unwrap_or_default()
    };
    assert_eq!(waiting(&c), format!("back-off 10s restarting failed container=app pod=crash_default({uid})"));
    assert_eq!(messages(&c, "BackOff"), [format!("Back-off restarting failed container app in pod crash_default({uid})")]);
    let cs = pod(&c, "crash").status.clone().and_then(|s| s.container_statuses).expect("statuses");
    let last = cs[0].last_state.as_ref().and_then(|l| l.terminated.clone()).expect("terminated");
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));

    at(&c, 14.4);
    assert_eq!(status(&c, "crash"), "CrashLoopBackOff");
    at(&c, 14.5);
    assert_eq!(row(&c, "crash").2, "2 (10s ago)");
    assert_eq!(status(&c, "crash"), "Running");
    at(&c, 16.5);
    assert_eq!(waiting(&c), format!("back-off 20s restarting failed container=app pod=crash_default({uid})"));
    at(&c, 35.4);
    assert_eq!(status(&c, "crash"), "CrashLoopBackOff");
    at(&c, 35.5);
    assert_eq!(row(&c, "crash").2, "3 (20s ago)");
    at(&c, 37.5);
    assert!(waiting(&c).starts_with("back-off 40s "), "{}", waiting(&c));
    assert_eq!(event_count(&c, "BackOff"), 3);

    // Healing: the next restart stays up.
    annotate(&c, "crash", super::app::CRASH, None);
    at(&c, 76.5);
    assert_eq!(row(&c, "crash"), ("1/1".into(), "Running".into(), "4 (40s ago)".into()));
    let logs = c.logs("default", "crash", None, true).expect("previous logs");
    assert_eq!(logs.last().map(|l| l.text.as_str()), Some("stslab.dev/crash is set: exiting with code 1"));
}

#[test]
fn deletion_terminates_then_removes_the_pod_after_the_app_shuts_down() {
    let c = cluster();
    create_pod(&c, "gone", json!({"containers": [container(json!({}))]}));
    at(&c, 5.0);
    let opts = crate::ops::DeleteOptions::default();
    crate::ops::delete::<Pod>(&c, "default", "gone", &opts).expect("delete");
    c.settle();
    assert_eq!(status(&c, "gone"), "Terminating");
    assert_eq!(messages(&c, "Killing"), ["Stopping container app"]);
    at(&c, 6.9);
    assert_eq!(status(&c, "gone"), "Terminating");
    at(&c, 7.0);
    assert!(c.store.pods.get("default", "gone").is_none());
    assert!(c.runtime.lock().pods.is_empty());
    assert!(!c.runtime.lock().ips.in_use("10.244.0.2".parse().expect("ip")));
}

#[test]
fn a_short_grace_period_cuts_the_shutdown_short() {
    let c = cluster();
    create_pod(&c, "quick", json!({"terminationGracePeriodSeconds": 1, "containers": [container(json!({}))]}));
    at(&c, 5.0);
    crate::ops::delete::<Pod>(&c, "default", "quick", &crate::ops::DeleteOptions::default()).expect("delete");
    at(&c, 5.9);
    assert_eq!(status(&c, "quick"), "Terminating");
    at(&c, 6.0);
    assert!(c.store.pods.get("default", "quick").is_none());
}

#[test]
fn visits_are_counted_in_the_volume_and_outlive_the_pod() {
    let c = cluster();
    bound_claim(&c, "data-web-0", "pv-web-0");
    lab_pod(&c, "web-0", "data-web-0", json!({}));
    let early = c.http_get("default", "web-0", 8000, "/").expect_err("not running yet");
    assert_eq!(early.code, 503);
    at(&c, 1.5);
    for n in 1..=3 {
        let (code, body) = c.http_get("default", "web-0", 8000, "/").expect("GET /");
        assert_eq!((code, body), (200, format!("Hello from web-0! This is visit number {n}.\n")));
    }
    let out = c.exec("default", "web-0", None, &argv(&["cat", "visits"])).expect("exec");
    assert_eq!((out.stdout_text().trim(), out.exit_code), ("3", 0));
    let logs: Vec<String> = c.logs("default", "web-0", None, false).expect("logs").into_iter().map(|l| l.text).collect();
    assert_eq!(logs, ["Listening on :8000", "GET / 200 visit=1", "GET / 200 visit=2", "GET / 200 visit=3"]);
    let refused = c.http_get("default", "web-0", 9999, "/").expect_err("nothing on 9999");
    assert_eq!(refused.code, 503);
    assert_eq!(refused.message, "error trying to reach service: dial tcp 10.244.0.2:9999: connect: connection refused");

    crate::ops::delete::<Pod>(&c, "default", "web-0", &crate::ops::DeleteOptions::default()).expect("delete");
    at(&c, 10.0);
    assert!(c.store.pods.get("default", "web-0").is_none());
    lab_pod(&c, "web-0", "data-web-0", json!({}));
    at(&c, 12.0);
    assert_eq!(pod(&c, "web-0").status.clone().and_then(|s| s.pod_ip).as_deref(), Some("10.244.0.3"));
    assert_eq!(c.http_get("default", "web-0", 8000, "/visits").expect("visits"), (200, "3\n".to_owned()));
    let out = c.exec("default", "web-0", Some("app"), &argv(&["rm", "visits"])).expect("rm");
    assert_eq!(out.exit_code, 0);
    assert_eq!(c.http_get("default", "web-0", 8000, "/visits").expect("visits").1, "0\n");
}

#[test]
fn exec_reports_unknown_pods_containers_and_pods_not_running() {
    let c = cluster();
    assert_eq!(c.exec("default", "nope", None, &argv(&["true"])).expect_err("no pod").code, 404);
    create_pod(&c, "p", json!({"containers": [container(json!({}))]}));
    let e = c.exec("default", "p", None, &argv(&["true"])).expect_err("still creating");
    assert_eq!((e.code, e.message.as_str()), (400, "unable to upgrade connection: container not found (\"app\")"));
    at(&c, 2.0);
    let e = c.exec("default", "p", Some("xyz"), &argv(&["true"])).expect_err("bad container");
    assert_eq!((e.code, e.message.as_str()), (400, "container xyz is not valid for pod p"));
    let out = c.exec("default", "p", None, &argv(&["nosuch"])).expect("runs");
    assert_eq!(out.exit_code, 127);
    let out = c.exec("default", "p", None, &argv(&["cat", "/tmp/healthy"])).expect("runs");
    assert_eq!((out.exit_code, out.stderr_text().as_str()), (1, "cat: can't open '/tmp/healthy': No such file or directory\n"));
}

#[test]
fn unbound_claims_keep_the_pod_pending_until_bound() {
    let c = cluster();
    let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "data-web-0"},
        // A class nobody provisions, so the claim stays unbound until the test binds it.
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual", "resources": {"requests": {"storage": "1Gi"}}},
    }))
    .expect("pvc");
    crate::ops::create(&c, Some("default"), pvc, false).expect("create pvc");
    lab_pod(&c, "web-0", "data-web-0", json!({}));
    at(&c, 5.0);
    assert_eq!(row(&c, "web-0"), ("0/1".into(), "Pending".into(), "0".into()));
    let p = pod(&c, "web-0");
    let cond = p.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.first().cloned()).expect("condition");
    assert_eq!((cond.type_.as_str(), cond.status.as_str(), cond.reason.as_deref()), ("PodScheduled", "False", Some("Unschedulable")));
    assert_eq!(cond.message.as_deref(), Some(crate::controllers::kubelet::UNBOUND_CLAIMS));
    assert_eq!(event_count(&c, "FailedScheduling"), 1);
    assert_eq!(events(&c, "FailedScheduling")[0].type_.as_deref(), Some("Warning"));
    assert_eq!(events(&c, "FailedScheduling")[0].source.as_ref().and_then(|s| s.component.as_deref()), Some("default-scheduler"));

    let pv: PersistentVolume = serde_json::from_value(json!({"metadata": {"name": "pv-1"}, "spec": {"hostPath": {"path": "/x"}}})).expect("pv");
    crate::ops::create(&c, None, pv, false).expect("pv");
    let r: Result<_, crate::store::StoreError> = c.store.pvcs.modify("default", "data-web-0", |p| {
        p.spec.get_or_insert_with(Default::default).volume_name = Some("pv-1".into());
        p.status.get_or_insert_with(Default::default).phase = Some("Bound".into());
        Ok(true)
    });
    r.expect("bind");
    c.settle();
    assert_eq!(status(&c, "web-0"), "ContainerCreating");
    assert_eq!(condition(&c, "web-0", "PodScheduled").0, "True");
    at(&c, 6.5);
    assert_eq!(status(&c, "web-0"), "Running");
    c.http_get("default", "web-0", 8000, "/").expect("visit");
    assert_eq!(String::from_utf8_lossy(&c.runtime.volume("pv-1").read("/visits").expect("file")), "1\n");
    // Files are stamped on the cluster's clock (here a manual one, years from the system's).
    let stamped = c.runtime.volume("pv-1").stat("/visits").expect("stat").modified;
    assert_eq!(Timestamp::try_from(stamped).expect("a time"), c.clock.now());
    let listed = c.exec("default", "web-0", None, &argv(&["sh", "-c", "touch /tmp/new && ls -l /tmp"])).expect("runs");
    let day = c.clock.now().strftime("%b %e").to_string();
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&day), "{day}: {listed:?}");
}

#[test]
fn init_containers_run_first_and_in_order() {
    let c = cluster();
    create_pod(
        &c,
        "i",
        json!({
            "initContainers": [
                {"name": "one", "image": "busybox:1.36", "command": ["echo", "hello"]},
                {"name": "two", "image": "busybox:1.36"},
            ],
            "containers": [container(json!({}))],
        }),
    );
    assert_eq!(status(&c, "i"), "Init:0/2");
    assert_eq!(condition(&c, "i", "Initialized").0, "False");
    at(&c, 1.5);
    assert_eq!(status(&c, "i"), "Init:1/2");
    at(&c, 3.0);
    assert_eq!(status(&c, "i"), "PodInitializing");
    assert_eq!(condition(&c, "i", "Initialized").0, "True");
    at(&c, 4.5);
    assert_eq!(row(&c, "i"), ("1/1".into(), "Running".into(), "0".into()));
    let logs = c.logs("default", "i", Some("one"), false).expect("init logs");
    assert_eq!(logs.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["hello"]);
    let fields: Vec<String> = events(&c, "Started").iter().filter_map(|e| e.involved_object.field_path.clone()).collect();
    assert!(fields.contains(&"spec.initContainers{one}".to_owned()), "{fields:?}");
}

#[test]
fn a_failing_init_container_is_retried_with_back_off() {
    let c = cluster();
    create_pod(
        &c,
        "bad",
        json!({
            "initContainers": [{"name": "check", "image": "busybox:1.36", "command": ["cat", "/nope"]}],
            "containers": [container(json!({}))],
        }),
    );
    at(&c, 1.5);
    assert_eq!(status(&c, "bad"), "Init:Error", "shown until the kubelet notices");
    at(&c, 2.5);
    assert_eq!(status(&c, "bad"), "Init:0/1", "restarted without back-off");
    at(&c, 4.0);
    assert_eq!(status(&c, "bad"), "Init:Error");
    at(&c, 5.0);
    assert_eq!(status(&c, "bad"), "Init:CrashLoopBackOff");
    assert_eq!(row(&c, "bad").2, "1 (1s ago)");
}

#[test]
fn restart_policy_never_ends_in_failed() {
    let c = cluster();
    create_pod(&c, "once", json!({"restartPolicy": "Never", "containers": [container(json!({}))]}));
    annotate(&c, "once", super::app::CRASH, Some("true"));
    at(&c, 10.0);
    let p = pod(&c, "once");
    assert_eq!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed"));
    assert_eq!(row(&c, "once"), ("0/1".into(), "Error".into(), "0".into()));
    let (ready, _) = condition(&c, "once", "Ready");
    assert_eq!(ready, "False");
}

#[test]
fn exec_and_tcp_probes_report_what_the_real_kubelet_reports() {
    let c = cluster();
    let probes = json!({
        "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 5, "failureThreshold": 1},
        "readinessProbe": {"tcpSocket": {"port": 8001}, "periodSeconds": 5},
    });
    create_pod(&c, "x", json!({"containers": [container(probes)]}));
    at(&c, 1.5);
    let mut got = messages(&c, "Unhealthy");
    got.sort();
    assert_eq!(
        got,
        [
            "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory",
            "Readiness probe failed: dial tcp 10.244.0.2:8001: connect: connection refused",
        ]
    );
    assert_eq!(messages(&c, "Killing"), ["Container app failed liveness probe, will be restarted"]);
}

#[test]
fn a_startup_probe_holds_back_readiness_and_liveness() {
    let c = cluster();
    let probes = json!({
        "startupProbe": {"httpGet": {"path": "/healthz", "port": 8000}, "initialDelaySeconds": 4, "periodSeconds": 2},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8000}, "periodSeconds": 3},
    });
    create_pod(&c, "s", json!({"containers": [container(probes)]}));
    at(&c, 5.4);
    let started = |c: &Cluster| pod(c, "s").status.clone().and_then(|s| s.container_statuses).map(|cs| (cs[0].started, cs[0].ready));
    assert_eq!(started(&c), Some((Some(false), false)));
    // Startup passes at 1.5 + 4 = 5.5; readiness ticks (1.5 + 3k) resume at 7.5.
    at(&c, 5.5);
    assert_eq!(started(&c), Some((Some(true), false)));
    at(&c, 7.4);
    assert_eq!(row(&c, "s").0, "0/1");
    at(&c, 7.5);
    assert_eq!(row(&c, "s").0, "1/1");
}

#[test]
fn ten_minutes_of_running_ends_a_crash_streak() {
    let c = cluster();
    create_pod(&c, "p", json!({"containers": [container(json!({}))]}));
    annotate(&c, "p", super::app::CRASH, Some("true"));
    // Crashes at 2.5 (restart at 3.5) and 4.5 (back-off 10 s): restarts at 14.5 healed.
    at(&c, 4.5);
    annotate(&c, "p", super::app::CRASH, None);
    at(&c, 14.5);
    assert_eq!(row(&c, "p"), ("1/1".into(), "Running".into(), "2 (10s ago)".into()));
    // Eleven minutes later it crashes again: the streak is over, so no back-off.
    at(&c, 14.5 + 660.0);
    annotate(&c, "p", super::app::CRASH, Some("true"));
    assert_eq!(row(&c, "p"), ("0/1".into(), "Error".into(), "2 (11m ago)".into()));
    at(&c, 14.5 + 661.0);
    assert_eq!(row(&c, "p"), ("1/1".into(), "Running".into(), "3 (1s ago)".into()));
    // The next crash, a second later, starts a new streak at 10 s.
    at(&c, 14.5 + 663.0);
    assert_eq!(status(&c, "p"), "CrashLoopBackOff");
    let cs = pod(&c, "p").status.clone().and_then(|s| s.container_statuses).expect("statuses");
    let message = cs[0].state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.message.clone()).unwrap_or_default();
    assert!(message.starts_with("back-off 10s "), "{message}");
}

#[test]
fn pods_reach_each_other_by_their_stable_dns_names() {
    let c = cluster();
    let svc: k8s_openapi::api::core::v1::Service = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 8000}]},
    }))
    .expect("service");
    crate::ops::create(&c, Some("default"), svc, false).expect("create service");
    for name in ["web-0", "web-1"] {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"hostname": name, "subdomain": "web", "containers": [container(json!({}))]},
        }))
        .expect("pod");
        crate::ops::create(&c, Some("default"), pod, false).expect("create pod");
    }
    at(&c, 2.0);
    let sh = |pod: &str, script: &str| c.exec("default", pod, None, &argv(&["sh", "-c", script])).expect("exec");
    let out = sh("web-0", "curl -s web-1.web:8000/");
    assert_eq!(out.stdout_text(), "Hello from web-1! This is visit number 1.\n", "{}", out.stderr_text());
    let out = sh("web-1", "curl -s http://web-0.web.default.svc.cluster.local:8000/visits");
    assert_eq!(out.stdout_text(), "0\n");
    let out = sh("web-0", "curl -s localhost:8000/; hostname");
    assert_eq!(out.stdout_text(), "Hello from web-0! This is visit number 1.\nweb-0\n");
    let logs = |pod: &str| -> Vec<String> { c.logs("default", pod, None, false).expect("logs").into_iter().map(|l| l.text).collect() };
    assert_eq!(logs("web-1"), ["Listening on :8000", "GET / 200 visit=1"]);
    assert_eq!(logs("web-0"), ["Listening on :8000", "GET /visits 200", "GET / 200 visit=1"]);

    crate::ops::delete::<Pod>(&c, "default", "web-1", &crate::ops::DeleteOptions::default()).expect("delete");
    c.settle();
    let out = sh("web-0", "curl -sS web-1.web:8000/");
    assert_eq!((out.exit_code, out.stderr_text().as_str()), (6, "curl: (6) Could not resolve host: web-1.web\n"));
}

#[test]
fn an_exec_probe_runs_in_the_container_and_sees_its_files() {
    let c = cluster();
    let probe = json!({"livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 1}});
    create_pod(&c, "x", json!({"containers": [container(probe)]}));
    at(&c, 2.0);
    c.exec("default", "x", None, &argv(&["touch", "/tmp/healthy"])).expect("touch");
    at(&c, 11.5);
    assert_eq!(event_count(&c, "Unhealthy"), 0);
    c.exec("default", "x", None, &argv(&["rm", "/tmp/healthy"])).expect("rm");
    at(&c, 16.5);
    assert_eq!(messages(&c, "Unhealthy"), ["Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory"]);
    // The restarted container has a fresh root filesystem: still no /tmp/healthy.
    at(&c, 17.5);
    assert_eq!(row(&c, "x").2, "1 (1s ago)");
    let out = c.exec("default", "x", None, &argv(&["ls", "/tmp"])).expect("ls");
    assert_eq!(out.stdout_text(), "");
}

#[test]
fn an_endless_exec_or_probe_stops_and_the_cluster_goes_on() {
    let c = cluster();
    let probe = json!({"livenessProbe": {"exec": {"command": ["sh", "-c", "while true; do :; done"]}, "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 1}});
    create_pod(&c, "x", json!({"containers": [container(probe)]}));
    at(&c, 2.0);
    let out = c.exec("default", "x", None, &argv(&["sh", "-c", "while true; do :; done"])).expect("exec");
    assert_eq!((out.exit_code, out.stderr_text().as_str()), (1, "sh: stopped: this exec used its CPU budget (about 20000 commands)\n"));
    at(&c, 6.5);
    assert_eq!(messages(&c, "Unhealthy"), ["Liveness probe failed: sh: stopped: this exec used its CPU budget (about 20000 commands)"]);
    // Restarted after the kubelet's relist delay, as the other liveness tests.
    at(&c, 7.5);
    assert_eq!(row(&c, "x").2, "1 (1s ago)");
}

#[test]
fn a_failed_init_container_fails_a_pod_that_never_restarts() {
    let c = cluster();
    create_pod(
        &c,
        "job",
        json!({
            "restartPolicy": "Never",
            "initContainers": [{"name": "check", "image": "busybox:1.36", "command": ["sh", "-c", "echo no volume >&2; exit 2"]}],
            "containers": [container(json!({}))],
        }),
    );
    at(&c, 1.5);
    let p = pod(&c, "job");
    assert_eq!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed"));
    assert_eq!(row(&c, "job"), ("0/1".into(), "Init:Error".into(), "0".into()));
    let logs = c.logs("default", "job", Some("check"), false).expect("logs");
    assert_eq!(logs.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["no volume"]);
    at(&c, 60.0);
    assert_eq!(status(&c, "job"), "Init:Error");
    crate::ops::delete::<Pod>(&c, "default", "job", &crate::ops::DeleteOptions::default()).expect("delete");
    c.settle();
    assert!(c.store.pods.get("default", "job").is_none(), "a finished pod goes at once");
}
