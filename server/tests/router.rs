//! Router tests with `oneshot`: the snapshot and live-stream endpoints, and the
//! refusal of bad or cross-origin actions, against a fake backend.

use std::sync::{Arc, Mutex};

use app::backend::{Backend, BoxFuture, SharedBackend};
use app::model::{ActionReport, PodView, Snapshot, StatefulSetView};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use server::web::{AppState, router};
use tokio::sync::watch;
use tower::ServiceExt;

#[derive(Default)]
struct Fake {
    snapshot: Mutex<Snapshot>,
    deleted: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct Handle(Arc<Fake>);

impl Backend for Handle {
    fn snapshot(&self, _statefulset: Option<String>) -> Snapshot {
        self.0.snapshot.lock().expect("lock").clone()
    }
    fn delete_pod(&self, statefulset: String, pod: String) -> BoxFuture<Result<ActionReport, String>> {
        let this = self.0.clone();
        Box::pin(async move {
            if !pod.starts_with(&format!("{statefulset}-")) {
                return Err(format!("{pod} is not a pod of StatefulSet {statefulset}"));
            }
            this.deleted.lock().expect("lock").push(pod.clone());
            Ok(ActionReport { message: format!("Deleted pod {pod}."), kubectl: vec![format!("kubectl delete pod {pod}")] })
        })
    }
    fn set_policy(&self, _s: String, _p: String) -> BoxFuture<Result<ActionReport, String>> {
        Box::pin(async { Err("not in this test".to_owned()) })
    }
    fn scale(&self, _s: String, _r: i32) -> BoxFuture<Result<ActionReport, String>> {
        Box::pin(async { Err("not in this test".to_owned()) })
    }
}

fn pod(name: &str, ordinal: i32, status: &str) -> PodView {
    PodView { name: name.into(), ordinal, status: status.into(), ready: "1/1".into(), ..Default::default() }
}

fn lab() -> (Arc<Fake>, watch::Sender<u64>, axum::Router) {
    let fake = Arc::new(Fake::default());
    *fake.snapshot.lock().expect("lock") = Snapshot {
        revision: 1,
        namespace: "default".into(),
        statefulsets: vec!["web".into()],
        statefulset: Some(StatefulSetView { name: "web".into(), pod_management_policy: "OrderedReady".into(), ..Default::default() }),
        pods: vec![pod("web-0", 0, "Running"), pod("web-1", 1, "Running")],
        ..Default::default()
    };
    let (tx, rx) = watch::channel(1);
    let backend: SharedBackend = Arc::new(Handle(fake.clone()));
    let state = AppState { leptos_options: LeptosOptions::builder().output_name("stslab").build(), backend, changes: rx };
    (fake, tx, router(state))
}

fn post_form(uri: &str, body: &str, origin: Option<&str>) -> Request<Body> {
    let mut r = Request::post(uri)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        r = r.header(header::ORIGIN, o);
    }
    r.body(Body::from(body.to_owned())).expect("request")
}

async fn text(res: axum::response::Response) -> String {
    String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes()).into_owned()
}

#[tokio::test]
async fn snapshot_is_the_page_as_camel_case_json() {
    let (_, _, app) = lab();
    let res = app.oneshot(Request::get("/api/snapshot").body(Body::empty()).expect("request")).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&text(res).await).expect("json");
    assert_eq!(v["statefulset"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(v["pods"][1]["name"], "web-1");
    assert_eq!(v["connection"]["state"], "live");
}

#[tokio::test]
async fn stream_starts_with_a_snapshot_then_sends_only_the_changed_row() {
    let (fake, tx, app) = lab();
    let res = app.oneshot(Request::get("/api/stream").body(Body::empty()).expect("request")).await.expect("response");
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = res.into_body();
    let mut next_event = async || loop {
        let frame = body.frame().await.expect("stream open").expect("frame");
        if let Ok(data) = frame.into_data() {
            let t = String::from_utf8_lossy(&data).into_owned();
            if t.contains("event: delta") {
                return t;
            }
        }
    };
    let first = next_event().await;
    assert!(first.contains(r#""type":"snapshot""#), "{first}");
    fake.snapshot.lock().expect("lock").pods[1].status = "Terminating".into();
    tx.send_modify(|n| *n += 1);
    let second = next_event().await;
    assert!(second.contains(r#""type":"changes""#), "{second}");
    assert!(second.contains(r#""status":"Terminating""#) && second.contains("web-1"), "{second}");
    assert!(!second.contains("web-0"), "only the changed row is sent: {second}");
}

#[tokio::test]
async fn cross_origin_actions_are_refused_before_they_reach_the_cluster() {
    let (fake, _, app) = lab();
    let res = app
        .oneshot(post_form("/api/fn/delete-pod", "statefulset=web&pod=web-0", Some("http://evil.example")))
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(text(res).await.contains("cross-origin request refused"));
    assert!(fake.deleted.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn same_origin_delete_reaches_the_backend_and_foreign_pods_are_refused() {
    let (fake, _, app) = lab();
    let ok = app
        .clone()
        .oneshot(post_form("/api/fn/delete-pod", "statefulset=web&pod=web-1", Some("http://127.0.0.1:3000")))
        .await
        .expect("response");
    assert_eq!(ok.status(), StatusCode::OK, "{}", text(ok).await);
    assert_eq!(*fake.deleted.lock().expect("lock"), ["web-1"]);
    let refused = app
        .oneshot(post_form("/api/fn/delete-pod", "statefulset=web&pod=kube-dns-0", None))
        .await
        .expect("response");
    assert!(!refused.status().is_success());
    assert!(text(refused).await.contains("is not a pod of StatefulSet web"));
}
