//! The StatefulSet lab's kubectl transcript, run with the real `kubectl` against a
//! practice cluster whose clock the test moves.

mod common;

use common::{Lab, row, rows};

const READY_IN: f64 = 40.0;

#[tokio::test(flavor = "multi_thread")]
async fn lab_objects_print_like_a_real_cluster() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let out = lab.ok(&["get", "po,sts,svc,pvc"]);
    let r = rows(&out);
    for n in 0..3 {
        let pod = row(&r, &format!("pod/web-{n}"));
        assert_eq!(&pod[1..4], ["1/1", "Running", "0"], "{out}");
    }
    assert_eq!(row(&r, "statefulset.apps/web")[1], "3/3", "{out}");
    assert_eq!(&row(&r, "service/web")[1..5], ["ClusterIP", "None", "<none>", "8000/TCP"], "{out}");
    let pvc = row(&r, "persistentvolumeclaim/data-web-1");
    assert_eq!(pvc[1], "Bound");
    assert!(pvc[2].starts_with("pvc-"), "{out}");
    assert_eq!(&pvc[3..7], ["1Gi", "RWO", "standard", "<unset>"], "{out}");
    let wide = lab.ok(&["get", "pods", "-o", "wide"]);
    let header = wide.lines().next().unwrap_or_default();
    assert!(header.contains("IP") && header.contains("NODE") && header.contains("READINESS GATES"), "{wide}");
    assert!(row(&rows(&wide), "web-2")[6..].contains(&"practice-node".to_owned()), "{wide}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_pod_keeps_its_own_count_across_deletion() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    for _ in 0..3 {
        lab.visit("web-0");
    }
    let greeting = lab.visit("web-1");
    assert!(greeting.contains("web-1"), "{greeting}");
    assert_eq!(lab.ok(&["exec", "web-0", "--", "cat", "visits"]).trim(), "3");
    assert_eq!(lab.ok(&["exec", "web-1", "--", "cat", "/data/visits"]).trim(), "1");
    let missing = lab.kubectl(&["exec", "web-2", "--", "cat", "visits"]);
    assert_eq!(missing.status.code(), Some(1), "no visits yet, so no file");
    let pvcs_before = lab.ok(&["get", "pvc", "-o", "custom-columns=NAME:.metadata.name,UID:.metadata.uid,VOLUME:.spec.volumeName"]);
    let old_uid = lab.ok(&["get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}"]);

    let deleted = lab.kubectl_while_advancing(&["delete", "pod", "web-0"], 0.5, 200);
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    assert_eq!(String::from_utf8_lossy(&deleted.stdout).trim(), "pod \"web-0\" deleted");
    lab.advance(READY_IN);

    let new_uid = lab.ok(&["get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}"]);
    assert_ne!(old_uid, new_uid, "a new pod under the same name");
    assert_eq!(row(&rows(&lab.ok(&["get", "pod", "web-0"])), "web-0")[2], "Running");
    assert_eq!(lab.ok(&["exec", "web-0", "--", "cat", "visits"]).trim(), "3", "the count lives on the volume");
    let pvcs_after = lab.ok(&["get", "pvc", "-o", "custom-columns=NAME:.metadata.name,UID:.metadata.uid,VOLUME:.spec.volumeName"]);
    assert_eq!(pvcs_before, pvcs_after, "same claims, same volumes");
}

#[tokio::test(flavor = "multi_thread")]
async fn pods_find_each_other_by_stable_dns_names() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let ip = lab.ok(&["get", "pod", "web-1", "-o", "jsonpath={.status.podIP}"]);
    let out = lab.ok(&["exec", "web-0", "--", "nslookup", "web-1.web"]);
    assert!(out.contains("web-1.web.default.svc.cluster.local"), "{out}");
    assert!(out.contains(&format!("Address: {ip}")), "{out}");
    let missing = lab.kubectl(&["exec", "web-0", "--", "nslookup", "web-7.web"]);
    assert_ne!(missing.status.code(), Some(0));
    let unknown = lab.kubectl(&["exec", "web-0", "--", "no-such-tool"]);
    assert_eq!(unknown.status.code(), Some(127));
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_under_ordered_ready_starts_pods_one_at_a_time() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let watch = lab.spawn(&["get", "pods", "-w", "--output-watch-events"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(lab.ok(&["scale", "sts", "web", "--replicas=5"]).trim(), "statefulset.apps/web scaled");
    for _ in 0..60 {
        std::thread::sleep(std::time::Duration::from_millis(30));
        lab.advance(0.5);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut watch = watch;
    let _ = watch.kill();
    let out = watch.wait_with_output().expect("watch output");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let first = |pred: &dyn Fn(&str) -> bool| lines.iter().position(|l| pred(l)).unwrap_or(usize::MAX);
    let web3_ready = first(&|l| l.contains("web-3") && l.contains("1/1"));
    let web4_added = first(&|l| l.contains("ADDED") && l.contains("web-4"));
    assert!(web3_ready < usize::MAX && web4_added < usize::MAX, "{text}");
    assert!(web3_ready < web4_added, "web-4 must wait for web-3 to be Ready:\n{text}");
    let r = rows(&lab.ok(&["get", "sts", "web"]));
    assert_eq!(row(&r, "web")[1], "5/5");
}

#[tokio::test(flavor = "multi_thread")]
async fn pod_management_policy_changes_by_orphaning_and_adopting() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let refused = lab.kubectl(&["patch", "sts", "web", "-p", r#"{"spec":{"podManagementPolicy":"Parallel"}}"#]);
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "The StatefulSet \"web\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    );
    let uids = || lab.ok(&["get", "pods", "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}"]);
    let before = uids();
    let deleted = lab.kubectl_while_advancing(&["delete", "sts", "web", "--cascade=orphan"], 0.2, 100);
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    lab.advance(5.0);
    assert_eq!(before, uids(), "orphaned pods keep running");

    let manifest = practice_cluster::lab::LAB_MANIFEST.replace("podManagementPolicy: OrderedReady", "podManagementPolicy: Parallel");
    let path = lab.dir.join("parallel.yaml");
    std::fs::write(&path, manifest).expect("write manifest");
    let applied = lab.ok(&["apply", "-f", path.to_str().expect("utf-8 path")]);
    assert!(applied.contains("statefulset.apps/web created"), "{applied}");
    lab.advance(10.0);
    assert_eq!(before, uids(), "adopted, not restarted");
    assert_eq!(lab.ok(&["get", "sts", "web", "-o", "jsonpath={.spec.podManagementPolicy}"]), "Parallel");
    let owners = lab.ok(&["get", "pod", "web-0", "-o", "jsonpath={.metadata.ownerReferences[0].name}"]);
    assert_eq!(owners, "web");
    assert_eq!(row(&rows(&lab.ok(&["get", "sts", "web"])), "web")[1], "3/3");
}
