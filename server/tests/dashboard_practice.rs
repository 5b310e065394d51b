//! The dashboard backend against a real practice cluster over HTTP (kube-rs): the
//! snapshot shows the lab, and the buttons do what they say and nothing else.

use std::sync::Arc;
use std::time::Duration;

use app::backend::Backend;
use app::model::Snapshot;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::Api;
use kube::api::{DeleteParams, PropagationPolicy};
use practice_cluster::{Clock, Options};
use server::dashboard::{Dashboard, Handle, SavedToggle, for_recreation};
use server::mapping::Context;
use server::visits::{self, Counts, Reader};
use server::watch::{self, Health};

struct Lab {
    running: practice_cluster::Running,
    dashboard: Arc<Dashboard>,
    handle: Handle,
    state_dir: std::path::PathBuf,
}

/// A practice cluster whose manual clock runs fast in the background, and a dashboard on it.
async fn lab(read_only: bool) -> Lab {
    let running = practice_cluster::start(Options { clock: Clock::manual(Timestamp::now()), ..Options::default() }).await.expect("start");
    let cluster = running.cluster.clone();
    tokio::spawn(async move {
        loop {
            let c = cluster.clone();
            let _ = tokio::task::spawn_blocking(move || c.advance(SignedDuration::from_millis(250))).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let client = server::connect::practice_client(&running.url()).expect("client");
    let health = Health::new();
    let stores = watch::start_all(&client, "default", &health);
    stores.ready().await.expect("stores");
    let counts = Arc::new(Counts::default());
    let reader = Reader { client: client.clone(), namespace: "default".into(), via: server::config::VisitsVia::Exec, file: "visits".into() };
    visits::spawn(reader.clone(), stores.clone(), counts.clone(), health.clone(), Duration::from_millis(200));
    let state_dir = std::env::temp_dir().join(format!("stslab-test-{}", uuid_like()));
    let ctx = Context { namespace: "default".into(), domain: "cluster.local".into(), read_only, cluster: "practice".into(), practice: true };
    let dashboard = Arc::new(Dashboard::new(client, stores, counts, health, ctx, None, state_dir.clone()).reading_visits_with(reader));
    Lab { running, handle: Handle(dashboard.clone()), dashboard, state_dir }
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), Timestamp::now().as_nanosecond())
}

async fn until(lab: &Lab, what: &str, ok: impl Fn(&Snapshot) -> bool) -> Snapshot {
    for _ in 0..600 {
        let s = lab.handle.snapshot(None).expect("snapshot");
        if ok(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {:#?}", lab.handle.snapshot(None).expect("snapshot"));
}

fn all_running(s: &Snapshot, n: usize) -> bool {
    s.pods.len() == n && s.pods.iter().all(|p| p.status == "Running" && p.ready == "1/1")
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_shows_the_lab_pods_claims_and_dns() {
    let lab = lab(false).await;
    let s = until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let sts = s.statefulset.expect("statefulset");
    assert_eq!((sts.name.as_str(), sts.pod_management_policy.as_str(), sts.ready_replicas), ("web", "OrderedReady", 3));
    let claims: Vec<(&str, Option<&str>, &str)> = s.claims.iter().map(|c| (c.name.as_str(), c.pod.as_deref(), c.status.as_str())).collect();
    assert_eq!(claims, [("data-web-0", Some("web-0"), "Bound"), ("data-web-1", Some("web-1"), "Bound"), ("data-web-2", Some("web-2"), "Bound")]);
    assert!(s.claims.iter().all(|c| c.volume.starts_with("pvc-") && c.capacity == "1Gi"));
    let names: Vec<&str> = s.dns.records.iter().filter(|r| r.published && r.type_ == "A").map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"web-2.web.default.svc.cluster.local"), "{names:?}");
    assert!(s.pods[0].containers[0].probes.iter().any(|p| p.kind == "readiness" && p.passing));
    // No visit yet: the file does not exist, and that is said, not shown as zero.
    let s = until(&lab, "visits read", |s| s.pods.iter().all(|p| !matches!(p.visits, app::model::Visits::Unknown))).await;
    assert!(matches!(&s.pods[0].visits, app::model::Visits::Error { message } if message.contains("no visits file")), "{:?}", s.pods[0].visits);
    let _ = std::fs::remove_dir_all(&lab.state_dir);
    drop(lab.running);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_pod_is_limited_to_the_statefulset_and_the_pod_returns_with_its_claim() {
    let lab = lab(false).await;
    let before = until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let err = lab.dashboard.delete_pod("web", "kube-dns").await.expect_err("not ours");
    assert!(err.to_string().contains("is not a pod of StatefulSet web"), "{err}");
    let err = lab.dashboard.delete_pod("db", "web-0").await.expect_err("no such statefulset");
    assert!(err.to_string().contains("StatefulSet db does not exist"), "{err}");

    let report = lab.dashboard.delete_pod("web", "web-1").await.expect("delete");
    assert_eq!(report.kubectl, ["kubectl delete pod web-1 -n default"]);
    until(&lab, "web-1 terminating", |s| s.pods.iter().any(|p| p.name == "web-1" && p.status == "Terminating")).await;
    let old_uid = before.pods[1].uid.clone();
    let after = until(&lab, "web-1 back", |s| all_running(s, 3) && s.pods[1].uid != old_uid).await;
    assert_eq!(after.claims[1].uid, before.claims[1].uid, "same claim re-attached");
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_toggle_adopts_pods_without_restarting_them() {
    let lab = lab(false).await;
    let before = until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let report = lab.dashboard.set_policy("web", "Parallel").await.expect("toggle");
    assert!(report.kubectl.iter().any(|k| k.contains("--cascade=orphan")), "{report:?}");
    let after = until(&lab, "Parallel", |s| s.statefulset.as_ref().is_some_and(|x| x.pod_management_policy == "Parallel" && x.ready_replicas == 3)).await;
    let uids = |s: &Snapshot| s.pods.iter().map(|p| p.uid.clone()).collect::<Vec<_>>();
    assert_eq!(uids(&before), uids(&after), "same pods");
    assert!(after.pods.iter().all(|p| p.restarts == 0));
    assert_ne!(before.statefulset.map(|s| s.uid), after.statefulset.map(|s| s.uid), "a new StatefulSet object");
    assert!(std::fs::read_dir(&lab.state_dir).map(|d| d.count()).unwrap_or(0) == 0, "saved spec cleaned up");
    let err = lab.dashboard.set_policy("web", "Parallel").await.expect_err("already");
    assert!(err.to_string().contains("already uses Parallel"));
    let err = lab.dashboard.set_policy("web", "Sideways").await.expect_err("bad policy");
    assert!(err.to_string().contains("must be OrderedReady or Parallel"));
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_toggle_is_repaired_at_the_next_start() {
    let lab = lab(false).await;
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let api: Api<StatefulSet> = Api::namespaced(server::connect::practice_client(&lab.running.url()).expect("client"), "default");
    let current = api.get("web").await.expect("get");
    // What the toggle writes before deleting; then the "crash" after the delete.
    let saved = SavedToggle {
        cluster: "practice".into(),
        original_uid: current.metadata.uid.clone(),
        original: for_recreation(&current, None),
        target: for_recreation(&current, Some("Parallel")),
    };
    // A spec saved from another cluster is never applied here.
    let foreign = SavedToggle { cluster: "context prod".into(), ..serde_json::from_slice(&serde_json::to_vec(&saved).expect("json")).expect("copy") };
    std::fs::create_dir_all(&lab.state_dir).expect("dir");
    std::fs::write(lab.state_dir.join("default.web.json"), serde_json::to_vec(&saved).expect("json")).expect("write");
    std::fs::write(lab.state_dir.join("default.other.json"), serde_json::to_vec(&foreign).expect("json")).expect("write");
    api.delete("web", &DeleteParams { propagation_policy: Some(PropagationPolicy::Orphan), ..Default::default() }).await.expect("delete");
    until(&lab, "sts gone", |s| s.statefulset.is_none()).await;
    let repaired = lab.dashboard.repair().await;
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    until(&lab, "sts back as Parallel", |s| s.statefulset.as_ref().is_some_and(|x| x.pod_management_policy == "Parallel") && all_running(s, 3)).await;
    assert!(!lab.state_dir.join("default.web.json").exists(), "done with");
    assert!(lab.state_dir.join("default.other.json").exists(), "another cluster's spec is left alone");
    // A second start finds a newer StatefulSet than the saved one: nothing to do.
    std::fs::write(lab.state_dir.join("default.web.json"), serde_json::to_vec(&saved).expect("json")).expect("write");
    let uid = api.get("web").await.expect("get").metadata.uid;
    assert!(lab.dashboard.repair().await.is_empty());
    assert_eq!(api.get("web").await.expect("get").metadata.uid, uid, "the newer StatefulSet is untouched");
    assert!(!lab.state_dir.join("default.web.json").exists());
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_switch_finishes_when_the_browser_goes_away_and_blocks_a_concurrent_scale() {
    let lab = lab(false).await;
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let dashboard = lab.dashboard.clone();
    let request = tokio::spawn(async move { dashboard.set_policy("web", "Parallel").await });
    // The switch is under way once its spec is saved.
    let saved = lab.state_dir.join("default.web.json");
    for _ in 0..5_000 {
        if saved.exists() || request.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(saved.exists(), "the switch saved its spec and is still running");
    // While it runs, a scale is refused rather than racing it.
    let why = lab.dashboard.scale("web", "4").await.expect_err("refused during the switch").to_string();
    assert!(why.contains("still in progress"), "{why}");
    // The browser closes: the request's future is dropped mid-way.
    request.abort();
    until(&lab, "the switch finished without its request", |s| s.statefulset.as_ref().is_some_and(|x| x.pod_management_policy == "Parallel")).await;
    for _ in 0..100 {
        if std::fs::read_dir(&lab.state_dir).map(|d| d.count()).unwrap_or(0) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(std::fs::read_dir(&lab.state_dir).map(|d| d.count()).unwrap_or(0), 0, "saved spec removed once the new StatefulSet exists");
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_refuses_every_change() {
    let lab = lab(true).await;
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    for result in [
        lab.dashboard.delete_pod("web", "web-0").await.map(|_| ()),
        lab.dashboard.scale("web", "5").await.map(|_| ()),
        lab.dashboard.set_policy("web", "Parallel").await.map(|_| ()),
    ] {
        assert!(result.expect_err("read-only").to_string().contains("read-only"));
    }
    assert!(lab.handle.snapshot(None).expect("snapshot").read_only);
    let err = lab.dashboard.scale("web", "500").await.expect_err("read-only first");
    assert!(err.to_string().contains("read-only"));
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}
