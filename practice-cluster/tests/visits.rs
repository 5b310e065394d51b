//! Visits counted through the API server's pod proxy are never lost, however many
//! arrive at once: each one reads and writes the count on the pod's volume in one step.

mod common;

use std::collections::BTreeSet;

use common::Lab;

const READY_IN: f64 = 40.0;
const VISITS: usize = 500;

fn client(lab: &Lab) -> kube::Client {
    let config = kube::Config::new(lab.running.url().parse().expect("cluster URL"));
    kube::Client::try_from(config).expect("kube client")
}

async fn get(client: &kube::Client, path: &str) -> String {
    let req = axum::http::Request::get(path).body(Vec::new()).expect("request");
    client.request_text(req).await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_visits_through_the_pod_proxy_are_all_counted() {
    let lab = Lab::start().await;
    lab.advance(READY_IN);
    let client = client(&lab);
    let root = "/api/v1/namespaces/default/pods/web-0:8000/proxy/";
    get(&client, root).await;
    let before: u64 = get(&client, "/api/v1/namespaces/default/pods/web-0:8000/proxy/visits").await.trim().parse().expect("a count");

    let visits: Vec<_> = (0..VISITS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get(&client, root).await })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for v in visits {
        let greeting = v.await.expect("visit task");
        let n: u64 = greeting
            .trim()
            .strip_prefix("Hello from web-0! This is visit number ")
            .and_then(|rest| rest.strip_suffix('.'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected greeting {greeting:?}"));
        numbers.insert(n);
    }

    let expected: BTreeSet<u64> = (before + 1..=before + VISITS as u64).collect();
    assert_eq!(numbers.len(), VISITS, "two visits were told the same number: an increment was lost");
    assert_eq!(numbers, expected);
    let after = lab.ok(&["exec", "web-0", "--", "cat", "/data/visits"]);
    assert_eq!(after.trim(), (before + VISITS as u64).to_string(), "the count on the volume");
}
