//! The stories of issue 7, told from synthetic snapshot sequences.

use app::model::{ClaimView, ContainerView, Crash, DnsRecord, DnsView, PodView, ProbeState, ProbeView, Snapshot, StatefulSetView, Visits};

use super::Narrator;

const FQDN: &str = "web.default.svc.cluster.local";

fn sts(replicas: i32, policy: &str) -> StatefulSetView {
    StatefulSetView { name: "web".into(), uid: "sts-uid-1".into(), replicas, pod_management_policy: policy.into(), ..Default::default() }
}

fn probe(kind: &str, state: ProbeState) -> ProbeView {
    ProbeView { kind: kind.into(), failure_threshold: 3, state, ..Default::default() }
}

fn failing(n: i32) -> ProbeState {
    ProbeState::Failing { failures: n, threshold: 3, message: "HTTP probe failed with statuscode: 500".into() }
}

/// A Running, Ready pod `web-n` with passing probes and `visits` counted.
fn pod(n: i32, uid: &str, ip: &str, visits: u64) -> PodView {
    PodView {
        name: format!("web-{n}"),
        ordinal: n,
        uid: uid.into(),
        status: "Running".into(),
        ready: "1/1".into(),
        is_ready: true,
        ready_at: 10,
        ip: ip.into(),
        containers: vec![ContainerView {
            name: "app".into(),
            ready: true,
            started: true,
            state: "Running".into(),
            probes: vec![probe("liveness", ProbeState::Passing), probe("readiness", ProbeState::Passing)],
            ..Default::default()
        }],
        visits: Visits::Count { value: visits, changed_at: 0 },
        ..Default::default()
    }
}

fn not_ready(mut p: PodView) -> PodView {
    p.is_ready = false;
    p.ready = "0/1".into();
    p.ready_at = 0;
    p.containers[0].ready = false;
    p
}

fn with_probe(mut p: PodView, kind: &str, state: ProbeState) -> PodView {
    for pr in p.containers[0].probes.iter_mut().filter(|pr| pr.kind == kind) {
        pr.state = state.clone();
    }
    p
}

fn claim(n: i32, uid: &str, pod: bool) -> ClaimView {
    ClaimView { name: format!("data-web-{n}"), ordinal: n, pod: pod.then(|| format!("web-{n}")), status: "Bound".into(), uid: uid.into(), ..Default::default() }
}

/// DNS records for `(pod, ip, published)`.
fn dns(pods: &[(&str, &str, bool)]) -> DnsView {
    DnsView {
        service: Some("web".into()),
        headless: true,
        publish_not_ready: false,
        domain: "cluster.local".into(),
        records: pods
            .iter()
            .map(|(pod, ip, published)| DnsRecord {
                name: format!("{pod}.{FQDN}"),
                type_: "A".into(),
                value: (*ip).into(),
                weight: None,
                published: *published,
                pod: Some((*pod).into()),
            })
            .collect(),
    }
}

fn snap(sts: StatefulSetView, pods: Vec<PodView>, claims: Vec<ClaimView>, dns: DnsView) -> Snapshot {
    Snapshot { namespace: "default".into(), statefulset: Some(sts), pods, claims, dns, ..Default::default() }
}

/// The sentences told over `snaps`, oldest first, with their commands.
fn tell(snaps: &[Snapshot]) -> Vec<(String, String)> {
    let mut n = Narrator::default();
    for (i, w) in snaps.windows(2).enumerate() {
        n.observe(&w[0], &w[1], 1000 + i as i64);
    }
    n.timeline().iter().rev().map(|n| (n.text.clone(), n.kubectl.clone())).collect()
}

fn texts(told: &[(String, String)]) -> Vec<&str> {
    told.iter().map(|(t, _)| t.as_str()).collect()
}

#[test]
fn a_deleted_pod_comes_back_with_its_name_claim_and_count_and_a_new_ip() {
    let web0 = pod(0, "uid-web-0", "10.244.0.5", 3);
    let old1 = pod(1, "aaaaaaaa-old", "10.244.0.6", 5);
    let claims = [claim(0, "c0c0c0c0-0000", true), claim(1, "c1c1c1c1-1111", true)];
    let mut terminating = old1.clone();
    terminating.status = "Terminating".into();
    terminating.grace_period_seconds = Some(30);
    let mut pending = not_ready(pod(1, "bbbbbbbb-new", "", 0));
    pending.status = "Pending".into();
    pending.visits = Visits::Unknown;
    let mut running = not_ready(pod(1, "bbbbbbbb-new", "10.244.0.9", 0));
    running.visits = Visits::Error { message: "no visits file yet".into() };
    let ready = pod(1, "bbbbbbbb-new", "10.244.0.9", 5);
    let s = |pods: Vec<PodView>, claim1: bool, dns1: Option<(&str, bool)>| {
        let mut records = vec![("web-0", "10.244.0.5", true)];
        records.extend(dns1.map(|(ip, published)| ("web-1", ip, published)));
        snap(sts(2, "OrderedReady"), pods, vec![claims[0].clone(), claim(1, "c1c1c1c1-1111", claim1)], dns(&records))
    };
    let told = tell(&[
        s(vec![web0.clone(), old1.clone()], true, Some(("10.244.0.6", true))),
        s(vec![web0.clone(), terminating], true, Some(("10.244.0.6", false))),
        s(vec![web0.clone()], false, None),
        s(vec![web0.clone(), pending], true, None),
        s(vec![web0.clone(), running], true, Some(("10.244.0.9", false))),
        s(vec![web0.clone(), ready], true, Some(("10.244.0.9", true))),
    ]);
    assert_eq!(
        texts(&told),
        [
            "web-1 was deleted: it is Terminating, with 30 s (its grace period) to stop before it is killed.",
            "web-1 left Service web's endpoints as it shuts down; DNS no longer answers its name.",
            "web-1 (UID aaaaaaaa) has stopped and is gone. The StatefulSet wants 2 replicas, so its controller creates web-1 again.",
            "The StatefulSet controller re-created web-1 with the same name: a new pod (UID bbbbbbbb, was aaaaaaaa) with the same identity.",
            "web-1 mounted the same claim data-web-1 (UID c1c1c1c1, unchanged): same volume, same files.",
            "web-1's IP changed: 10.244.0.6 → 10.244.0.9. Its DNS name web-1.web.default.svc.cluster.local stays the same and will point to the new IP.",
            "web-1 is Ready again (1/1).",
            "web-1's count is still 5: it is kept in a file on the claim's volume, not in the pod.",
            "web-1 is in Service web's endpoints, so DNS answers web-1.web.default.svc.cluster.local with 10.244.0.9.",
        ]
    );
    assert_eq!(told[0].1, "kubectl get pod web-1");
    assert_eq!(told[4].1, "kubectl get pvc data-web-1 -o custom-columns=NAME:.metadata.name,UID:.metadata.uid,VOLUME:.spec.volumeName");
    assert_eq!(told[5].1, "kubectl get pod web-1 -o wide");
    assert_eq!(told[7].1, "kubectl exec web-1 -- cat visits");
}

#[test]
fn a_readiness_failure_withdraws_the_dns_record_and_healing_brings_it_back() {
    let web1 = pod(1, "uid-web-1", "10.244.0.6", 0);
    let web0 = |state: ProbeState, ready: bool| {
        let p = with_probe(pod(0, "uid-web-0", "10.244.0.5", 3), "readiness", state);
        if ready { p } else { not_ready(p) }
    };
    let s = |p0: PodView| {
        let published = p0.is_ready;
        snap(sts(2, "OrderedReady"), vec![p0, web1.clone()], vec![], dns(&[("web-0", "10.244.0.5", published), ("web-1", "10.244.0.6", true)]))
    };
    let told = tell(&[
        s(web0(ProbeState::Passing, true)),
        s(web0(failing(1), true)),
        s(web0(failing(2), true)),
        s(web0(failing(3), false)),
        s(web0(ProbeState::Passing, true)),
    ]);
    assert_eq!(
        texts(&told),
        [
            "web-0's readiness probe failed (1/3): HTTP probe failed with statuscode: 500. At 3 in a row the pod stops being Ready.",
            "web-0's readiness probe failed (2/3): HTTP probe failed with statuscode: 500. At 3 in a row the pod stops being Ready.",
            "web-0's readiness probe failed (3/3): HTTP probe failed with statuscode: 500. At the threshold, so the pod is not Ready.",
            "web-0 is no longer Ready (READY 0/1): its readiness probe failed 3 times in a row.",
            "web-0 was taken out of Service web's endpoints because it is not Ready.",
            "DNS withdrew web-0.web.default.svc.cluster.local: looking it up now answers NXDOMAIN, and web no longer lists web-0's IP.",
            "web-0 is Ready again (1/1): its probes pass.",
            "web-0 is in Service web's endpoints, so DNS answers web-0.web.default.svc.cluster.local with 10.244.0.5.",
        ]
    );
    assert_eq!(told[4].1, "kubectl get endpointslices -l kubernetes.io/service-name=web");
    assert_eq!(told[5].1, "kubectl exec web-1 -- nslookup web-0.web.default.svc.cluster.local");
}

#[test]
fn a_record_withheld_before_the_pod_shows_not_ready_is_told_after_it() {
    let web1 = pod(1, "uid-web-1", "10.244.0.6", 0);
    let web0 = pod(0, "uid-web-0", "10.244.0.5", 3);
    let s = |p0: PodView, published: bool| {
        snap(sts(2, "OrderedReady"), vec![p0, web1.clone()], vec![], dns(&[("web-0", "10.244.0.5", published), ("web-1", "10.244.0.6", true)]))
    };
    // The EndpointSlice watch delivers first; the pod's Ready=False and last event later.
    let told = tell(&[s(web0.clone(), true), s(web0.clone(), false), s(with_probe(not_ready(web0.clone()), "readiness", failing(2)), false)]);
    assert_eq!(
        texts(&told),
        [
            "web-0's readiness probe failed (2/3): HTTP probe failed with statuscode: 500. At 3 in a row the pod stops being Ready.",
            "web-0 is no longer Ready (READY 0/1): its readiness probe failed 3 times in a row.",
            "web-0 was taken out of Service web's endpoints because it is not Ready.",
            "DNS withdrew web-0.web.default.svc.cluster.local: looking it up now answers NXDOMAIN, and web no longer lists web-0's IP.",
        ]
    );
}

#[test]
fn a_liveness_failure_restarts_the_container_and_a_crash_is_told_as_a_crash() {
    let base = pod(0, "uid-web-0", "10.244.0.5", 3);
    let liveness = |state: ProbeState| with_probe(base.clone(), "liveness", state);
    let mut restarted = liveness(ProbeState::Passing);
    restarted.containers[0].restart_count = 1;
    let mut crashed = not_ready(restarted.clone());
    crashed.containers[0].state = "Waiting: CrashLoopBackOff".into();
    crashed.containers[0].crash = Some(Crash { reason: "Error".into(), exit_code: 1, finished_at: 1003, back_off: true, previous: false });
    let s = |p: PodView| snap(sts(1, "OrderedReady"), vec![p], vec![], DnsView::default());
    let told = tell(&[s(liveness(ProbeState::Passing)), s(liveness(failing(1))), s(liveness(failing(2))), s(restarted), s(crashed)]);
    let texts = texts(&told);
    assert_eq!(
        texts[..3],
        [
            "web-0's liveness probe failed (1/3): HTTP probe failed with statuscode: 500. At 3 in a row the kubelet restarts the container.",
            "web-0's liveness probe failed (2/3): HTTP probe failed with statuscode: 500. At 3 in a row the kubelet restarts the container.",
            "The kubelet restarted web-0's container app because its liveness probe kept failing (restart 1). Same pod: same name, IP and claim.",
        ]
    );
    assert!(texts.contains(&"web-0's app exited with code 1 (Error): a crash, not a probe. The kubelet will start it again."), "{texts:#?}");
    assert!(texts.contains(&"web-0 is in CrashLoopBackOff: the kubelet waits longer before each restart (10 s, 20 s, 40 s … up to 5 min)."), "{texts:#?}");
    assert!(!texts.iter().any(|t| t.contains("liveness probe failed (3/3)")), "a crash is not a liveness failure: {texts:#?}");
}

#[test]
fn scaling_says_which_ordinal_waits_for_which_under_each_policy() {
    let web0 = pod(0, "u0", "10.244.0.5", 0);
    let new = |n: i32| not_ready(pod(n, &format!("u{n}"), "", 0));
    let s = |replicas: i32, policy: &str, pods: Vec<PodView>| snap(sts(replicas, policy), pods, vec![], DnsView::default());
    let told = tell(&[
        s(1, "OrderedReady", vec![web0.clone()]),
        s(3, "OrderedReady", vec![web0.clone()]),
        s(3, "OrderedReady", vec![web0.clone(), new(1)]),
        s(3, "OrderedReady", vec![web0.clone(), pod(1, "u1", "10.244.0.6", 0)]),
        s(3, "OrderedReady", vec![web0.clone(), pod(1, "u1", "10.244.0.6", 0), new(2)]),
    ]);
    assert_eq!(
        texts(&told),
        [
            "web was scaled from 1 to 3 replicas. Under OrderedReady, web-1 comes first and each next ordinal waits until the one before is Ready.",
            "The StatefulSet controller created web-1 (ordinal 1). Under OrderedReady, web-2 waits until web-1 is Ready.",
            "web-1 is Ready (1/1). Under OrderedReady that lets the controller create web-2.",
            "The StatefulSet controller created web-2 (ordinal 2).",
        ]
    );
    let told = tell(&[s(1, "Parallel", vec![web0.clone()]), s(3, "Parallel", vec![web0.clone()]), s(3, "Parallel", vec![web0.clone()])]);
    assert_eq!(texts(&told), ["web was scaled from 1 to 3 replicas. Under Parallel, web-1, web-2 are created at once."]);
    let told = tell(&[s(3, "OrderedReady", vec![web0.clone(), new(1), new(2)]), s(1, "OrderedReady", vec![web0.clone(), new(1), new(2)])]);
    assert_eq!(
        texts(&told),
        ["web was scaled from 3 to 1 replicas. Under OrderedReady, they go from the highest ordinal down, one at a time: web-2, then web-1."]
    );
}

#[test]
fn the_timeline_is_capped_and_newest_first() {
    let s = |replicas: i32| snap(sts(replicas, "Parallel"), vec![], vec![], DnsView::default());
    let snaps: Vec<Snapshot> = (0..120).map(|i| s(1 + i % 2)).collect();
    let mut n = Narrator::default();
    for (i, w) in snaps.windows(2).enumerate() {
        n.observe(&w[0], &w[1], i as i64);
    }
    assert_eq!(n.timeline().len(), app::model::TIMELINE_CAP);
    assert!(n.timeline().windows(2).all(|w| w[0].id > w[1].id && w[0].at >= w[1].at));
}

#[test]
fn a_policy_switch_is_told_across_the_moment_the_statefulset_is_gone() {
    let pods = vec![pod(0, "u0", "10.244.0.5", 1), pod(1, "u1", "10.244.0.6", 2)];
    let before = snap(sts(2, "OrderedReady"), pods.clone(), vec![], DnsView::default());
    let gone = Snapshot { namespace: "default".into(), ..Default::default() };
    let mut after = snap(sts(2, "Parallel"), pods, vec![], DnsView::default());
    if let Some(s) = after.statefulset.as_mut() {
        s.uid = "sts-uid-2".into();
    }
    let told = tell(&[before, gone, after]);
    assert_eq!(
        texts(&told),
        [
            "web was deleted with --cascade=orphan and created again, switching podManagementPolicy from OrderedReady to Parallel. Its pods were adopted, not restarted: the policy only matters for scaling.",
        ]
    );
    assert_eq!(told[0].1, "kubectl get statefulset web -o jsonpath={.spec.podManagementPolicy}");
}
