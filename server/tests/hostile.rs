//! Thousands of hostile inputs against every action, through the real router and the
//! real backend on a practice cluster, with presenter credentials: each one gets a 4xx
//! with a sentence, nothing panics, and nothing changes in the cluster or on disk.

use std::sync::Arc;
use std::time::Duration;

use app::backend::SharedBackend;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use leptos::prelude::LeptosOptions;
use server::access::{Access, Token};
use server::dashboard::{Dashboard, Handle};
use server::mapping::Context;
use server::publish::Publisher;
use server::stream::StreamLimits;
use server::visits::Counts;
use server::watch::{self, Health};
use server::web::{AppState, router};
use tower::ServiceExt;

const TOKEN: &str = "hostile-test-token-0123456789";

/// Names no Kubernetes object can have: separators, query and escape characters,
/// unicode, control characters, upper case, huge.
fn hostile_names() -> Vec<String> {
    let seeds = [
        "web?/../../../x",
        "../../../../etc/passwd",
        "web/../../x",
        "web%2F..%2Fx",
        "web\\..\\x",
        "web?x",
        "web#x",
        "web&pod=web-0",
        "web;rm -rf /",
        "WEB",
        "Web-0",
        "wéb-0",
        "web\u{202e}0",
        "web\0",
        "web\n0",
        "web 0",
        " web",
        "web-",
        "-web",
        "web..0",
        ".",
        "..",
        "",
        "web\u{ff0f}0",
        "😀",
        "web%00",
        "web*",
        "$(touch /tmp/x)",
        "`id`",
        "web\"",
        "web'",
        "<script>",
        "web=0",
        "web:0",
    ];
    let mut out: Vec<String> = seeds.iter().map(|s| (*s).to_owned()).collect();
    for s in seeds.iter().filter(|s| !s.is_empty()) {
        out.push(format!("web-{s}"));
        out.push(format!("{s}web"));
    }
    // Combining seeds can make a real name ("web-" + "web"): those are not hostile.
    let real_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 63
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !n.starts_with('-')
            && !n.ends_with('-')
    };
    out.retain(|n| !real_name(n));
    out.push("a".repeat(254));
    out.push("a/".repeat(100_000));
    out.push(format!("{}.x", "b".repeat(300)));
    // A deterministic stream of strings, each with at least one forbidden character.
    let forbidden = ['/', '?', '%', '\\', 'A', 'Z', ' ', '\u{e9}', '\u{0}', ':', '@', '_', '~', '!'];
    let mut seed: u64 = 0x5eed;
    for _ in 0..400 {
        let mut s = String::new();
        for _ in 0..(seed % 24 + 1) {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pick = (seed >> 33) as usize;
            s.push(if pick.is_multiple_of(3) { forbidden[pick % forbidden.len()] } else { char::from(b'a' + (pick % 26) as u8) });
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % (s.chars().count() + 1);
        let mut chars: Vec<char> = s.chars().collect();
        chars.insert(at, forbidden[(seed >> 40) as usize % forbidden.len()]);
        out.push(chars.into_iter().collect());
    }
    out
}

fn hostile_numbers() -> Vec<String> {
    let mut out: Vec<String> = [
        "-1",
        "21",
        "-2147483648",
        "2147483648",
        "99999999999999999999999",
        "1e3",
        "1.5",
        "0x10",
        "",
        " ",
        "NaN",
        "three",
        "5;",
        "5&statefulset=db",
        "+∞",
        "١",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    out.extend((0..200).map(|i| format!("{}", 21 + i * 7919)));
    out.extend((1..200).map(|i| format!("-{i}")));
    out
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_inputs_get_a_4xx_and_change_nothing() {
    let running = practice_cluster::start(practice_cluster::Options::default()).await.expect("start");
    let client = server::connect::practice_client(&running.url()).expect("client");
    let health = Health::new();
    let stores = watch::start_all(&client, "default", &health);
    stores.ready().await.expect("stores");
    let base = std::env::temp_dir().join(format!("stslab-hostile-{}", std::process::id()));
    let state_dir = base.join("state");
    std::fs::create_dir_all(&state_dir).expect("dir");
    // What `web?/../../../x` would reach if names were used as paths.
    let sentinel = base.join("x.json");
    std::fs::write(&sentinel, "{}").expect("sentinel");
    let ctx = Context { namespace: "default".into(), domain: "cluster.local".into(), read_only: false, cluster: "practice".into(), practice: true };
    let dashboard = Arc::new(Dashboard::new(client.clone(), stores, Arc::new(Counts::default()), health.clone(), ctx, None, state_dir.clone()));
    let backend: SharedBackend = Arc::new(Handle(dashboard));
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let app = router(AppState {
        leptos_options: LeptosOptions::builder().output_name("stslab").build(),
        publisher: Publisher::new(backend.clone(), health.subscribe(), shutdown.clone()),
        backend,
        limits: StreamLimits::new(500, 64),
        access: Access { token: Token::new(TOKEN).expect("token"), read_only: false, loopback_only: true },
        shutdown,
    });

    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let spec_of = |s: StatefulSet| serde_json::to_value(s.spec).expect("json");
    // Each pod's UID and annotations: nothing deleted, no fault switched on.
    let pods_of = |l: kube::api::ObjectList<Pod>| l.items.into_iter().map(|p| (p.metadata.uid.unwrap_or_default(), p.metadata.annotations)).collect::<Vec<_>>();
    let spec_before = spec_of(sts_api.get("web").await.expect("sts"));
    let pods_before = pods_of(pods_api.list(&ListParams::default()).await.expect("pods"));

    let names = hostile_names();
    let numbers = hostile_numbers();
    let mut requests: Vec<(&str, String)> = Vec::new();
    for n in &names {
        requests.push(("delete-pod", form(&[("statefulset", n), ("pod", "web-0")])));
        requests.push(("delete-pod", form(&[("statefulset", "web"), ("pod", n)])));
        requests.push(("scale", form(&[("statefulset", n), ("replicas", "1")])));
        requests.push(("set-policy", form(&[("statefulset", n), ("policy", "Parallel")])));
        requests.push(("set-policy", form(&[("statefulset", "web"), ("policy", n)])));
        requests.push(("visit", form(&[("statefulset", n), ("pod", "web-0")])));
        requests.push(("visit", form(&[("statefulset", "web"), ("pod", n)])));
        requests.push(("fault", form(&[("statefulset", n), ("pod", "web-0"), ("fault", "readiness"), ("action", "break")])));
        requests.push(("fault", form(&[("statefulset", "web"), ("pod", n), ("fault", "readiness"), ("action", "break")])));
        requests.push(("fault", form(&[("statefulset", "web"), ("pod", "web-0"), ("fault", n), ("action", "break")])));
        requests.push(("fault", form(&[("statefulset", "web"), ("pod", "web-0"), ("fault", "app"), ("action", n)])));
    }
    for n in &numbers {
        requests.push(("scale", form(&[("statefulset", "web"), ("replicas", n)])));
    }
    requests.push(("scale", "statefulset=web".to_owned()));
    requests.push(("delete-pod", "garbage=%%%".to_owned()));
    requests.push(("visit", "statefulset=web".to_owned()));
    requests.push(("fault", "statefulset=web&pod=web-0&fault=readiness".to_owned()));
    assert!(requests.len() > 2_000, "{} requests", requests.len());

    for (action, body) in &requests {
        let req = Request::post(format!("/api/fn/{action}"))
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.clone()))
            .expect("request");
        let res = app.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let text = String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes()).into_owned();
        assert!(status.is_client_error(), "{action} {:.200}: {status} {text:.300}", body);
        assert!(text.len() < 2_000 && !text.is_empty(), "a short sentence, not an echo: {text:.300}");
    }
    // Also through the read endpoints.
    for n in names.iter().filter(|n| !n.is_empty() && n.len() < 4096).take(100) {
        let uri = format!("/api/snapshot?{}", form(&[("statefulset", n)]));
        let res = app.clone().oneshot(Request::get(uri).header(header::HOST, "127.0.0.1:3000").body(Body::empty()).expect("request")).await.expect("response");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{n:?}");
        // The page's own read (the server function the page hydrates from).
        let req = Request::post("/api/fn/page")
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(&[("statefulset", n)])))
            .expect("request");
        let res = app.clone().oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "page {n:?}");
        // The page itself: rendered with the sentence, answered 400.
        let uri = format!("/?{}", form(&[("statefulset", n)]));
        let res = app.clone().oneshot(Request::get(uri).header(header::HOST, "127.0.0.1:3000").body(Body::empty()).expect("request")).await.expect("response");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "/ {n:?}");
        let html = String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes()).into_owned();
        assert!(html.contains("is not a valid StatefulSet name"), "says what was wrong: {html:.300}");
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(spec_of(sts_api.get("web").await.expect("sts")), spec_before, "the StatefulSet is unchanged");
    assert_eq!(pods_of(pods_api.list(&ListParams::default()).await.expect("pods")), pods_before, "no pod was deleted or broken");
    assert_eq!(std::fs::read_dir(&state_dir).expect("dir").count(), 0, "nothing saved");
    assert!(sentinel.exists(), "no file outside the state directory was touched");
    let _ = std::fs::remove_dir_all(&base);
    drop(running);
}
