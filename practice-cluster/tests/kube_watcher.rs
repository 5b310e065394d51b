//! kube-rs' watcher and reflector against the practice cluster: they keep an exact
//! picture of the pods across watch timeouts and a forced `410 Expired`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Lab;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client, Config};

async fn client(lab: &Lab) -> Client {
    let config = Config::new(lab.running.url().parse().expect("url"));
    Client::try_from(config).expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn reflector_survives_timeouts_and_expired_versions() {
    let lab = Lab::start().await;
    lab.advance(40.0);
    let api: Api<Pod> = Api::namespaced(client(&lab).await, "default");
    let (store, writer) = reflector::store::<Pod>();
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let inits = Arc::new(Mutex::new(0usize));
    let (errs, init_count) = (errors.clone(), inits.clone());
    // A one-second watch timeout makes the watcher re-watch from its last version often.
    let stream = watcher(api, watcher::Config::default().timeout(1)).default_backoff().reflect(writer).for_each(move |ev| {
        match ev {
            Ok(watcher::Event::Init) => *init_count.lock().expect("lock") += 1,
            Ok(_) => {}
            Err(e) => errs.lock().expect("lock").push(e.to_string()),
        }
        futures::future::ready(())
    });
    let task = tokio::spawn(stream);
    store.wait_until_ready().await.expect("initial list");
    assert_eq!(store.state().len(), 3);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let scaled = lab.kubectl_while_advancing(&["scale", "sts", "web", "--replicas=4"], 1.0, 1);
    assert!(scaled.status.success());
    lab.advance(20.0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(store.state().len(), 4, "the reflector saw web-3 across re-watches");

    // End the open watch and forget all history: the re-watch gets 410 Expired and must re-list.
    lab.running.cluster.store.expire_watches();
    let scaled = lab.kubectl(&["scale", "sts", "web", "--replicas=2"]);
    assert!(scaled.status.success());
    lab.advance(60.0);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let mut names: Vec<String> = store.state().iter().filter_map(|p| p.metadata.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["web-0", "web-1"]);
    assert!(*inits.lock().expect("lock") >= 2, "a re-list after 410 Expired");
    // kube-rs reports the 410 itself as one error item, then re-lists; nothing else may fail.
    let errors = errors.lock().expect("lock").clone();
    assert!(errors.iter().all(|e| e.contains("too old resource version")), "watcher errors: {errors:?}");
    task.abort();
}
