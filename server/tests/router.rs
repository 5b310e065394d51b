//! Router tests with `oneshot` against a fake backend: who may do what (presenter and
//! audience, read-only, other sites, DNS rebinding), the snapshot and live stream,
//! and the status each kind of failure gets.

use std::sync::{Arc, Mutex};

use app::backend::{ActionResult, Backend, SharedBackend};
use app::error::ActionError;
use app::model::{ActionReport, PodView, Snapshot, StatefulSetView};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use server::access::{Access, Token};
use server::publish::Publisher;
use server::stream::StreamLimits;
use server::web::{AppState, router};
use tokio::sync::watch;
use tower::ServiceExt;

const TOKEN: &str = "test-presenter-token-0123";
const HOST: &str = "127.0.0.1:3000";

#[derive(Default)]
struct Fake {
    snapshot: Mutex<Snapshot>,
    calls: Mutex<Vec<String>>,
}

#[derive(Clone)]
struct Handle(Arc<Fake>);

impl Backend for Handle {
    fn snapshot(&self, _statefulset: Option<String>) -> Result<Snapshot, ActionError> {
        Ok(self.0.snapshot.lock().expect("lock").clone())
    }
    fn delete_pod(&self, statefulset: String, pod: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move {
            this.calls.lock().expect("lock").push(format!("delete {pod}"));
            if !pod.starts_with(&format!("{statefulset}-")) {
                return Err(ActionError::Forbidden(format!("{pod} is not a pod of StatefulSet {statefulset}")));
            }
            Ok(ActionReport { message: format!("Deleted pod {pod}."), kubectl: vec![format!("kubectl delete pod {pod}")] })
        })
    }
    fn set_policy(&self, _s: String, p: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move {
            this.calls.lock().expect("lock").push(format!("policy {p}"));
            Err(ActionError::Conflict("web already uses Parallel".into()))
        })
    }
    fn scale(&self, _s: String, r: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move {
            this.calls.lock().expect("lock").push(format!("scale {r}"));
            Err(ActionError::Unavailable("the cluster could not be reached".into()))
        })
    }
    fn visit(&self, _s: String, pod: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move {
            this.calls.lock().expect("lock").push(format!("visit {pod}"));
            Ok(ActionReport { message: format!("Visited {pod}: its count is now 4."), kubectl: vec![] })
        })
    }
    fn fault(&self, _s: String, pod: String, fault: String, action: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move {
            this.calls.lock().expect("lock").push(format!("{action} {fault} of {pod}"));
            Err(ActionError::Forbidden("break and heal exist only on the practice cluster".into()))
        })
    }
}

fn pod(name: &str, ordinal: i32, status: &str) -> PodView {
    PodView { name: name.into(), ordinal, status: status.into(), ready: "1/1".into(), ..Default::default() }
}

struct Lab {
    fake: Arc<Fake>,
    changes: watch::Sender<u64>,
    stop: watch::Sender<bool>,
    app: axum::Router,
}

fn lab_with(read_only: bool, limits: Arc<StreamLimits>) -> Lab {
    let fake = Arc::new(Fake::default());
    *fake.snapshot.lock().expect("lock") = Snapshot {
        namespace: "default".into(),
        statefulsets: vec!["web".into()],
        statefulset: Some(StatefulSetView { name: "web".into(), pod_management_policy: "OrderedReady".into(), replicas: 2, ..Default::default() }),
        pods: vec![pod("web-0", 0, "Running"), pod("web-1", 1, "Running")],
        read_only,
        ..Default::default()
    };
    let (changes, rx) = watch::channel(1);
    let (stop, shutdown) = watch::channel(false);
    let backend: SharedBackend = Arc::new(Handle(fake.clone()));
    let state = AppState {
        leptos_options: LeptosOptions::builder().output_name("stslab").build(),
        publisher: Publisher::new(backend.clone(), rx, shutdown.clone()),
        backend,
        limits,
        access: Access { token: Token::new(TOKEN).expect("token"), read_only, loopback_only: true },
        shutdown,
    };
    Lab { fake, changes, stop, app: router(state) }
}

fn lab() -> Lab {
    lab_with(false, StreamLimits::new(500, 64))
}

fn post(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header(header::HOST, HOST).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

fn presenter(b: axum::http::request::Builder) -> axum::http::request::Builder {
    b.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
}

fn get(uri: &str) -> axum::http::request::Builder {
    Request::get(uri).header(header::HOST, HOST)
}

async fn send(app: &axum::Router, b: axum::http::request::Builder, body: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app.clone().oneshot(b.body(Body::from(body.to_owned())).expect("request")).await.expect("response");
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

const ACTIONS: [(&str, &str); 5] = [
    ("/api/fn/delete-pod", "statefulset=web&pod=web-0"),
    ("/api/fn/scale", "statefulset=web&replicas=0"),
    ("/api/fn/set-policy", "statefulset=web&policy=Parallel"),
    ("/api/fn/visit", "statefulset=web&pod=web-0"),
    ("/api/fn/fault", "statefulset=web&pod=web-0&fault=readiness&action=break"),
];

#[tokio::test]
async fn the_audience_is_refused_every_action_and_nothing_reaches_the_cluster() {
    let lab = lab();
    for (uri, body) in ACTIONS {
        // No credentials (curl with no Origin), a wrong bearer token, a wrong cookie.
        for b in [
            post(uri),
            post(uri).header(header::AUTHORIZATION, "Bearer not-the-token-at-all"),
            post(uri).header(header::COOKIE, "stslab_presenter=guess"),
            post(uri).header(header::ORIGIN, "http://127.0.0.1:3000"),
        ] {
            let (status, _, text) = send(&lab.app, b, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {text}");
            assert!(text.contains("only the presenter can change the lab"), "{text}");
        }
    }
    // An endpoint nobody declared read-only is a write too (deny by default).
    let (status, _, _) = send(&lab.app, post("/api/fn/some-later-button"), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(lab.fake.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn the_presenter_acts_and_each_failure_gets_its_own_status() {
    let lab = lab();
    let (status, _, text) = send(&lab.app, presenter(post(ACTIONS[0].0)), ACTIONS[0].1).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("Deleted pod web-0"), "{text}");
    let (status, _, text) = send(&lab.app, presenter(post("/api/fn/delete-pod")), "statefulset=web&pod=kube-dns-0").await;
    assert_eq!((status, text.contains("is not a pod of StatefulSet web")), (StatusCode::FORBIDDEN, true), "{text}");
    // A browser asks for compressed answers: the refusal keeps its status all the same.
    let (status, _, _) =
        send(&lab.app, presenter(post("/api/fn/delete-pod")).header(header::ACCEPT_ENCODING, "br, gzip"), "statefulset=web&pod=kube-dns-0").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, text) = send(&lab.app, presenter(post(ACTIONS[2].0)), ACTIONS[2].1).await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    let json: ActionError = serde_json::from_str(&text).expect("typed error");
    assert_eq!(json, ActionError::Conflict("web already uses Parallel".into()));
    let (status, _, _) = send(&lab.app, presenter(post(ACTIONS[1].0)), ACTIONS[1].1).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // Arguments that do not decode are the caller's fault, not a 500.
    let (status, _, text) = send(&lab.app, presenter(post("/api/fn/delete-pod")), "statefulset=web").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    for (uri, body) in [("/api/fn/visit", "statefulset=web"), ("/api/fn/fault", "statefulset=web&pod=web-0&fault=app"), ("/api/fn/fault", "%%%")] {
        let (status, _, text) = send(&lab.app, presenter(post(uri)), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {body}: {text}");
    }
    assert!(!lab.fake.calls.lock().expect("lock").iter().any(|c| c.starts_with("visit") || c.starts_with("break")), "nothing undecodable reached the backend");
    // The presenter's visit and fault reach the backend and come back as sent.
    let (status, _, text) = send(&lab.app, presenter(post(ACTIONS[3].0)), ACTIONS[3].1).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("its count is now 4."), "{text}");
    let (status, _, text) = send(&lab.app, presenter(post(ACTIONS[4].0)), ACTIONS[4].1).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(lab.fake.calls.lock().expect("lock").contains(&"break readiness of web-0".to_owned()));
}

#[tokio::test]
async fn the_presenter_link_signs_a_browser_in_with_a_strict_cookie_and_sign_out_ends_it() {
    let lab = lab();
    let (status, headers, _) = send(&lab.app, get(&format!("/?statefulset=web&presenter={TOKEN}")), "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/?statefulset=web", "the token leaves the address bar");
    let cookie = headers[header::SET_COOKIE].to_str().expect("cookie");
    for part in [format!("stslab_presenter={TOKEN}").as_str(), "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let with_cookie = |b: axum::http::request::Builder| b.header(header::COOKIE, format!("stslab_presenter={TOKEN}"));
    let (status, _, text) = send(&lab.app, with_cookie(post(ACTIONS[0].0)), ACTIONS[0].1).await;
    assert_eq!(status, StatusCode::OK, "{text}");

    let (status, _, text) = send(&lab.app, get("/?presenter=wrong-token-value-here"), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text.contains("presenter link is not valid"), "{text}");

    let (status, headers, _) = send(&lab.app, with_cookie(post("/signout")), "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::SET_COOKIE].to_str().expect("cookie").contains("Max-Age=0"));
}

#[tokio::test]
async fn the_audience_page_has_no_buttons_and_the_presenter_page_has_them() {
    let lab = lab();
    let (status, _, audience) = send(&lab.app, get("/"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(audience.contains("web-1") && audience.contains("Watching"), "the page renders: {audience}");
    for control in ["delete-pod", "scale-up", "scale-down", "toggle-policy"] {
        assert!(!audience.contains(&format!("data-testid=\"{control}\"")), "audience page carries {control}");
    }
    let (_, _, page) = send(&lab.app, get("/").header(header::COOKIE, format!("stslab_presenter={TOKEN}")), "").await;
    for control in ["delete-pod", "scale-up", "scale-down", "toggle-policy", "sign-out"] {
        assert!(page.contains(&format!("data-testid=\"{control}\"")), "presenter page lacks {control}");
    }
}

#[tokio::test]
async fn read_only_refuses_even_the_presenter() {
    let lab = lab_with(true, StreamLimits::new(500, 64));
    for (uri, body) in ACTIONS {
        let (status, _, text) = send(&lab.app, presenter(post(uri)), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
        assert!(text.contains("read-only"), "{text}");
    }
    let (_, _, page) = send(&lab.app, get("/").header(header::COOKIE, format!("stslab_presenter={TOKEN}")), "").await;
    assert!(!page.contains("data-testid=\"delete-pod\""));
    assert!(lab.fake.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn other_sites_and_rebound_host_names_are_refused() {
    let lab = lab();
    let (status, _, text) = send(&lab.app, presenter(post(ACTIONS[0].0)).header(header::ORIGIN, "http://evil.example"), ACTIONS[0].1).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("came from http://evil.example"), "{text}");
    let (status, _, _) = send(&lab.app, presenter(post(ACTIONS[0].0)).header("sec-fetch-site", "cross-site"), ACTIONS[0].1).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // DNS rebinding: evil.example resolving to 127.0.0.1 still says Host: evil.example.
    for uri in ["/", "/api/snapshot", "/api/stream"] {
        let (status, _, text) = send(&lab.app, Request::get(uri).header(header::HOST, "evil.example:3000"), "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
        assert!(text.contains("answers only to localhost"), "{text}");
    }
    assert!(lab.fake.calls.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn snapshot_is_the_page_as_camel_case_json_and_bad_names_are_400() {
    let lab = lab();
    let (status, _, text) = send(&lab.app, get("/api/snapshot"), "").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["statefulset"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(v["pods"][1]["name"], "web-1");
    for bad in ["web%3F%2F..%2F..%2Fx", "WEB", "a%20b"] {
        for uri in [format!("/api/snapshot?statefulset={bad}"), format!("/api/stream?statefulset={bad}")] {
            let (status, _, text) = send(&lab.app, get(&uri), "").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {text}");
        }
    }
}

async fn next_event(body: &mut Body) -> String {
    loop {
        let frame = body.frame().await.expect("stream open").expect("frame");
        if let Ok(data) = frame.into_data() {
            let t = String::from_utf8_lossy(&data).into_owned();
            if t.contains("event: delta") {
                return t;
            }
        }
    }
}

#[tokio::test]
async fn streams_share_one_publisher_send_only_the_changed_row_and_end_on_shutdown() {
    let lab = lab();
    let open = |lab: &Lab| lab.app.clone().oneshot(get("/api/stream").body(Body::empty()).expect("request"));
    let (a, b) = (open(&lab).await.expect("a"), open(&lab).await.expect("b"));
    assert_eq!(a.headers()[header::CONTENT_TYPE], "text/event-stream");
    let (mut a, mut b) = (a.into_body(), b.into_body());
    assert!(next_event(&mut a).await.contains(r#"data: {"snapshot":{"#));
    assert!(next_event(&mut b).await.contains(r#"data: {"snapshot":{"#));
    lab.fake.snapshot.lock().expect("lock").pods[1].status = "Terminating".into();
    lab.changes.send_modify(|n| *n += 1);
    let (ea, eb) = (next_event(&mut a).await, next_event(&mut b).await);
    assert_eq!(ea, eb, "every stream gets the same bytes");
    assert!(ea.contains(r#"data: {"changes":{"revision":"#) && ea.contains(r#""status":"Terminating""#), "{ea}");
    assert!(!ea.contains("web-0"), "only the changed row is sent: {ea}");
    // A change that changes nothing on screen sends nothing; shutdown ends the stream.
    lab.changes.send_modify(|n| *n += 1);
    lab.stop.send(true).expect("stop");
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), a.collect()).await.expect("stream ended").expect("body").to_bytes();
    assert!(!String::from_utf8_lossy(&rest).contains("event: delta"), "{rest:?}");
}

#[tokio::test]
async fn a_browser_that_accepts_gzip_gets_the_same_events_gzipped() {
    use std::io::Read;
    let lab = lab();
    let open = |encoding: &'static str| {
        let request = get("/api/stream").header(header::ACCEPT_ENCODING, encoding).body(Body::empty()).expect("request");
        lab.app.clone().oneshot(request)
    };
    let (plain, zipped) = (open("identity").await.expect("plain"), open("gzip, deflate, br, zstd").await.expect("gzip"));
    assert_eq!(plain.headers().get(header::CONTENT_ENCODING), None);
    assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(zipped.headers()[header::CONTENT_TYPE], "text/event-stream");
    let (mut plain, mut zipped) = (plain.into_body(), zipped.into_body());
    let mut wire = Vec::new();
    // The first chunk decodes on its own: the page has its snapshot without waiting.
    let first = zipped.frame().await.expect("open").expect("frame").into_data().expect("data");
    wire.extend_from_slice(&first);
    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
    std::io::Write::write_all(&mut decoder, &first).expect("decode");
    std::io::Write::flush(&mut decoder).expect("flush");
    assert!(String::from_utf8_lossy(decoder.get_ref()).starts_with("event: delta\ndata: {\"snapshot\":{"));
    assert!(next_event(&mut plain).await.contains(r#"data: {"snapshot":{"#));

    lab.fake.snapshot.lock().expect("lock").pods[1].status = "Terminating".into();
    lab.changes.send_modify(|n| *n += 1);
    let change = next_event(&mut plain).await;
    let chunk = zipped.frame().await.expect("open").expect("frame").into_data().expect("data");
    assert!(chunk.len() < change.len(), "compressed: {} of {} bytes", chunk.len(), change.len());
    wire.extend_from_slice(&chunk);
    lab.stop.send(true).expect("stop");
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), zipped.collect()).await.expect("stream ended").expect("body").to_bytes();
    wire.extend_from_slice(&rest);
    // Ended by the server: a whole gzip member, trailer and all.
    let mut text = String::new();
    flate2::read::GzDecoder::new(&wire[..]).read_to_string(&mut text).expect("a valid gzip member");
    assert!(text.ends_with(&change), "{text}");
    assert_eq!(text.matches("event: delta").count(), 2, "{text}");
}

#[tokio::test]
async fn a_full_house_gets_a_sentence_not_a_hang() {
    let lab = lab_with(false, StreamLimits::new(2, 2));
    let open = || lab.app.clone().oneshot(get("/api/stream").body(Body::empty()).expect("request"));
    let (_one, _two) = (open().await.expect("one"), open().await.expect("two"));
    let third = open().await.expect("three");
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = String::from_utf8_lossy(&third.into_body().collect().await.expect("body").to_bytes()).into_owned();
    assert!(text.contains("its maximum"), "{text}");
}

#[tokio::test]
async fn a_page_loaded_mid_lesson_paints_the_timeline_the_stream_has_told() {
    let lab = lab();
    let mut stream = lab.app.clone().oneshot(get("/api/stream").body(Body::empty()).expect("request")).await.expect("stream").into_body();
    assert!(next_event(&mut stream).await.contains(r#"data: {"snapshot":{"#));
    // Scaled up: a pod appears, and the feed tells it.
    lab.fake.snapshot.lock().expect("lock").pods.push(pod("web-2", 2, "Pending"));
    lab.changes.send_modify(|n| *n += 1);
    let delta = next_event(&mut stream).await;
    let data: serde_json::Value = serde_json::from_str(delta.split("data: ").nth(1).expect("data").trim()).expect("json");
    let told = data["changes"]["changes"].as_array().expect("changes").iter().find_map(|c| c.get("narrated")).expect("a narration").clone();
    let sentence = told[0]["text"].as_str().expect("text").to_owned();
    let (status, _, page) = send(&lab.app, get("/"), "").await;
    assert_eq!(status, StatusCode::OK);
    let escaped = sentence.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    assert!(page.contains(&escaped), "the first paint holds {sentence:?}: {page}");
}
