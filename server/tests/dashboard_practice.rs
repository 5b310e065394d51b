//! The dashboard backend against a real practice cluster over HTTP (kube-rs): the
//! snapshot shows the lab, and the buttons do what they say and nothing else.

use std::sync::Arc;
use std::time::Duration;

use app::backend::{Backend, SharedBackend};
use app::model::{Delta, Snapshot, Visits};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::AttachParams;
use kube::api::ListParams;
use kube::api::{DeleteParams, PropagationPolicy};
use practice_cluster::{Clock, Options};
use server::dashboard::{Dashboard, Handle, SavedToggle, for_recreation};
use server::mapping::Context;
use server::publish::{Publisher, Subscription};
use server::visits::{self, Counts, Reader};
use server::watch::{self, Health};
use tokio::io::AsyncReadExt;
use tokio::sync::{broadcast, watch as channel};

struct Lab {
    running: practice_cluster::Running,
    dashboard: Arc<Dashboard>,
    handle: Handle,
    state_dir: std::path::PathBuf,
    client: kube::Client,
}

/// A practice cluster whose manual clock runs fast in the background, and a dashboard on it.
async fn lab(read_only: bool) -> Lab {
    lab_on(read_only, true).await
}

/// The same, with the dashboard believing it is (`practice`) or is not on the practice cluster.
async fn lab_on(read_only: bool, practice: bool) -> Lab {
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
    let client_copy = client.clone();
    let health = Health::new();
    let stores = watch::start_all(&client, "default", &health);
    stores.ready().await.expect("stores");
    let counts = Arc::new(Counts::default());
    let reader = Reader { client: client.clone(), namespace: "default".into(), via: server::config::VisitsVia::Exec, file: "visits".into() };
    visits::spawn(reader.clone(), stores.clone(), counts.clone(), health.clone(), Duration::from_millis(200));
    let state_dir = std::env::temp_dir().join(format!("stslab-test-{}", uuid_like()));
    let ctx = Context { namespace: "default".into(), domain: "cluster.local".into(), read_only, cluster: "practice".into(), practice };
    let dashboard = Arc::new(Dashboard::new(client, stores, counts, health, ctx, None, state_dir.clone()).reading_visits_with(reader));
    Lab { running, handle: Handle(dashboard.clone()), dashboard, state_dir, client: client_copy }
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
    // The StatefulSet's status follows its pods a controller pass later, as in a real cluster.
    let ready = |s: &Snapshot| s.statefulset.as_ref().is_some_and(|x| x.ready_replicas == 3);
    let s = until(&lab, "3 running pods, counted ready", |s| all_running(s, 3) && ready(s)).await;
    let sts = s.statefulset.expect("statefulset");
    assert_eq!((sts.name.as_str(), sts.pod_management_policy.as_str(), sts.ready_replicas), ("web", "OrderedReady", 3));
    let claims: Vec<(&str, Option<&str>, &str)> = s.claims.iter().map(|c| (c.name.as_str(), c.pod.as_deref(), c.status.as_str())).collect();
    assert_eq!(claims, [("data-web-0", Some("web-0"), "Bound"), ("data-web-1", Some("web-1"), "Bound"), ("data-web-2", Some("web-2"), "Bound")]);
    assert!(s.claims.iter().all(|c| c.volume.starts_with("pvc-") && c.capacity == "1Gi"));
    let names: Vec<&str> = s.dns.records.iter().filter(|r| r.published && r.type_ == "A").map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"web-2.web.default.svc.cluster.local"), "{names:?}");
    assert!(s.pods[0].containers[0].probes.iter().any(|p| p.kind == "readiness" && p.state == app::model::ProbeState::Passing));
    // No visit yet: the file does not exist, and that is said, not shown as zero.
    let s = until(&lab, "visits read", |s| s.pods.iter().all(|p| !matches!(p.visits, app::model::Visits::Unknown))).await;
    assert!(matches!(&s.pods[0].visits, app::model::Visits::Error { message } if message.contains("no visits file")), "{:?}", s.pods[0].visits);
    // The events watch's selector leaves the routine start-up events on the cluster.
    let events: Api<Event> = Api::namespaced(lab.client.clone(), "default");
    let reasons = |list: kube::core::ObjectList<Event>| list.items.into_iter().filter_map(|e| e.reason).collect::<Vec<_>>();
    let all = reasons(events.list(&ListParams::default()).await.expect("events"));
    assert!(all.iter().any(|r| r == "Scheduled") && all.iter().any(|r| r == "Started"), "{all:?}");
    let watched = reasons(events.list(&ListParams::default().fields(&watch::events_selector())).await.expect("selected events"));
    assert!(watched.iter().all(|r| !watch::ROUTINE_REASONS.contains(&r.as_str())), "{watched:?}");
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
        lab.dashboard.visit("web", "web-0").await.map(|_| ()),
        lab.dashboard.fault("web", "web-0", "readiness", "break").await.map(|_| ()),
    ] {
        assert!(result.expect_err("read-only").to_string().contains("read-only"));
    }
    assert!(lab.handle.snapshot(None).expect("snapshot").read_only);
    let err = lab.dashboard.scale("web", "500").await.expect_err("read-only first");
    assert!(err.to_string().contains("read-only"));
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

/// The page as a browser's live stream builds it: the first snapshot, then each delta.
struct Viewer {
    sub: Subscription,
    page: Snapshot,
    _stop: channel::Sender<bool>,
}

impl Viewer {
    fn open(lab: &Lab) -> Viewer {
        let (stop, shutdown) = channel::channel(false);
        let backend: SharedBackend = Arc::new(lab.handle.clone());
        let publisher = Publisher::new(backend, lab.dashboard.health.subscribe(), shutdown);
        let sub = publisher.subscribe(None).expect("subscribe");
        let mut page = Snapshot::default();
        page.apply(parse(&sub.first.frame.plain));
        Viewer { sub, page, _stop: stop }
    }

    /// Follows the stream until the timeline has every one of `sentences` (each a part of one).
    async fn until_told(&mut self, sentences: &[&str]) -> Vec<String> {
        let told = |page: &Snapshot| page.timeline.iter().rev().map(|n| n.text.clone()).collect::<Vec<_>>();
        self.until(&format!("the timeline to tell {sentences:#?}"), |page| {
            let texts = told(page);
            sentences.iter().all(|s| texts.iter().any(|t| t.contains(s)))
        })
        .await;
        told(&self.page)
    }

    /// Follows the stream until the page satisfies `ok`.
    async fn until(&mut self, what: &str, ok: impl Fn(&Snapshot) -> bool) {
        // Up to 5 minutes: a loaded CI machine runs these practice tests side by side.
        for _ in 0..6_000 {
            if ok(&self.page) {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(50), self.sub.changes.recv()).await {
                Ok(Ok(m)) => {
                    self.page.apply(parse(&m.frame.plain));
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    self.page.apply(parse(&self.sub.feed.snapshot_frame().frame.plain));
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => break,
                Err(_) => {}
            }
        }
        panic!("the stream never brought {what}; the timeline told {:#?}", self.page.timeline.iter().rev().map(|n| &n.text).collect::<Vec<_>>());
    }
}

fn parse(frame: &[u8]) -> Delta {
    let text = std::str::from_utf8(frame).expect("utf-8");
    let json = text.strip_prefix("event: delta\ndata: ").expect("an SSE delta").trim_end();
    serde_json::from_str(json).expect("a delta")
}

/// Runs `command` in `pod` and returns its output.
async fn exec(lab: &Lab, pod: &str, command: &[&str]) -> String {
    let api: Api<Pod> = Api::namespaced(lab.client.clone(), "default");
    let mut process = api.exec(pod, command.iter().copied(), &AttachParams::default().stdout(true).stderr(true)).await.expect("exec");
    let mut out = String::new();
    if let Some(mut s) = process.stdout() {
        s.read_to_string(&mut out).await.expect("stdout");
    }
    if let Some(mut s) = process.stderr() {
        s.read_to_string(&mut out).await.expect("stderr");
    }
    let _ = process.join().await;
    out
}

fn count(s: &Snapshot, pod: &str) -> Option<u64> {
    s.pods.iter().find(|p| p.name == pod).and_then(|p| match p.visits {
        Visits::Count { value, .. } => Some(value),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visit_goes_through_the_pod_proxy_and_the_count_rises_at_once() {
    let lab = lab(false).await;
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let first = lab.dashboard.visit("web", "web-0").await.expect("visit");
    assert!(first.message.contains("This is visit number 1.") && first.message.ends_with("Its count is now 1."), "{first:?}");
    assert_eq!(first.kubectl, ["kubectl get --raw /api/v1/namespaces/default/pods/web-0:8000/proxy/", "kubectl exec web-0 -n default -- cat visits"]);
    // Read at once, not at the poller's next round.
    assert_eq!(count(&lab.handle.snapshot(None).expect("snapshot"), "web-0"), Some(1));
    let second = lab.dashboard.visit("web", "web-0").await.expect("visit");
    assert!(second.message.ends_with("Its count is now 2."), "{second:?}");
    let s = until(&lab, "web-1 read", |s| count(s, "web-1").is_some() || matches!(s.pods[1].visits, Visits::Error { .. })).await;
    assert_ne!(count(&s, "web-1"), Some(2), "each pod keeps its own count");
    let err = lab.dashboard.visit("web", "kube-dns").await.expect_err("not ours");
    assert!(err.to_string().contains("is not a pod of StatefulSet web"), "{err}");
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn breaking_readiness_tells_the_story_and_dns_agrees_with_nslookup() {
    let lab = lab(false).await;
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let mut viewer = Viewer::open(&lab);
    let report = lab.dashboard.fault("web", "web-1", "readiness", "break").await.expect("break");
    assert_eq!(report.kubectl, ["kubectl annotate pod web-1 -n default --overwrite stslab.dev/fail-readiness=true"]);
    let told = viewer
        .until_told(&[
            "web-1's readiness probe failed (1/2): HTTP probe failed with statuscode: 500.",
            "web-1 is no longer Ready (READY 0/1): its readiness probe failed 2 times in a row.",
            "web-1 was taken out of Service web's endpoints because it is not Ready.",
            "DNS withdrew web-1.web.default.svc.cluster.local",
        ])
        .await;
    let at = |s: &str| told.iter().position(|t| t.contains(s)).expect(s);
    assert!(at("(1/2)") < at("no longer Ready") && at("no longer Ready") < at("DNS withdrew"), "cause before effect: {told:#?}");
    let record = |s: &Snapshot| s.dns.records.iter().find(|r| r.name == "web-1.web.default.svc.cluster.local").map(|r| r.published);
    assert_eq!(record(&viewer.page), Some(false), "withheld on screen");
    let unhealthy = viewer.page.pods[1].events.iter().find(|e| e.reason == "Unhealthy").expect("the probe's event passes the events watch's selector");
    assert!(unhealthy.message.starts_with("Readiness probe failed"), "{unhealthy:?}");
    let answer = exec(&lab, "web-0", &["nslookup", "web-1.web"]).await;
    assert!(answer.contains("NXDOMAIN"), "and withheld by the cluster's DNS: {answer}");

    lab.dashboard.fault("web", "web-1", "readiness", "heal").await.expect("heal");
    viewer.until_told(&["web-1 is Ready again (1/1)", "web-1 is in Service web's endpoints, so DNS answers web-1.web.default.svc.cluster.local"]).await;
    assert_eq!(record(&viewer.page), Some(true));
    let answer = exec(&lab, "web-0", &["nslookup", "web-1.web"]).await;
    let ip = viewer.page.pods[1].ip.clone();
    assert!(answer.contains(&format!("Address: {ip}")), "{answer}");
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_pod_is_told_back_with_the_same_claim_and_count() {
    let lab = lab(false).await;
    let before = until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    for _ in 0..2 {
        lab.dashboard.visit("web", "web-1").await.expect("visit");
    }
    let mut viewer = Viewer::open(&lab);
    lab.dashboard.delete_pod("web", "web-1").await.expect("delete");
    let claim_uid = before.claims[1].uid.clone();
    let told = viewer
        .until_told(&[
            "web-1 was deleted: it is Terminating, with 10 s (its grace period) to stop",
            "The StatefulSet controller re-created web-1 with the same name",
            &format!("web-1 mounted the same claim data-web-1 (UID {}, unchanged)", &claim_uid[..8]),
            "web-1 is Ready again (1/1).",
            "web-1's count is still 2",
        ])
        .await;
    assert!(told.iter().any(|t| t.starts_with("web-1's IP changed") || t.starts_with("web-1 has IP")), "{told:#?}");
    assert_eq!(viewer.page.claims[1].uid, claim_uid);
    assert_eq!(count(&viewer.page, "web-1"), Some(2));
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn break_and_heal_are_refused_off_the_practice_cluster() {
    let lab = lab_on(false, false).await;
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let err = app::error::ActionError::from(lab.dashboard.fault("web", "web-0", "app", "break").await.expect_err("not practice"));
    assert_eq!(err.status(), 403, "{err}");
    assert!(err.to_string().contains("only on the practice cluster"), "{err}");
    assert!(!lab.handle.snapshot(None).expect("snapshot").practice);
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_twice_with_the_policy_switched_charts_a_staircase_then_a_block() {
    let lab = lab(false).await;
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    let mut viewer = Viewer::open(&lab);
    lab.dashboard.scale("web", "5").await.expect("scale up");
    viewer.until_told(&["web was scaled from 3 to 5 replicas. Under OrderedReady", "web-4 is Ready"]).await;
    lab.dashboard.scale("web", "3").await.expect("scale down");
    until(&lab, "3 running pods", |s| all_running(s, 3)).await;
    lab.dashboard.set_policy("web", "Parallel").await.expect("switch");
    until(&lab, "Parallel", |s| s.statefulset.as_ref().is_some_and(|x| x.pod_management_policy == "Parallel")).await;
    lab.dashboard.scale("web", "5").await.expect("scale up again");
    viewer.until_told(&["Under Parallel, web-3, web-4 are created at once.", "switching podManagementPolicy from OrderedReady to Parallel"]).await;
    viewer.until("two charts, the second one Ready", |p| p.ordering.len() == 2 && p.ordering[1].bars.iter().all(|b| b.ready_at != 0)).await;
    let charts = &viewer.page.ordering;
    assert_eq!(
        charts.iter().map(|c| (c.policy.as_str(), c.cause.as_str())).collect::<Vec<_>>(),
        [("OrderedReady", "scale 3 → 5"), ("Parallel", "scale 3 → 5")]
    );
    let (ordered, parallel) = (&charts[0].bars, &charts[1].bars);
    assert!(ordered[1].created_at >= ordered[0].ready_at && ordered[0].ready_at > 0, "staircase: web-4 after web-3 is Ready: {ordered:?}");
    assert!(parallel[1].created_at < parallel[0].ready_at || parallel[1].created_at == parallel[0].created_at, "block: web-4 does not wait: {parallel:?}");
    let _ = std::fs::remove_dir_all(&lab.state_dir);
}
