//! Exec, proxy and logs over real HTTP: kube-rs's WebSocket exec and raw requests, and
//! the real `kubectl` binary, against a practice cluster on a manual clock.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, AttachParams};
use practice_cluster::{Clock, Options, Running};
use serde_json::json;
use tokio::io::AsyncReadExt;

/// A cluster with `web-0` running the lab app on a bound volume.
async fn cluster_with_web_0() -> anyhow::Result<Running> {
    let start: Timestamp = "2025-03-01T10:00:00Z".parse()?;
    let running = practice_cluster::start(Options { clock: Clock::manual(start), empty: true, ..Options::default() }).await?;
    let c = &running.cluster;
    let pv: PersistentVolume = serde_json::from_value(json!({
        "metadata": {"name": "pv-web-0"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/pv/web-0"}},
    }))?;
    practice_cluster::ops::create(c, None, pv, false)?;
    let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "data-web-0"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pv-web-0"},
    }))?;
    practice_cluster::ops::create(c, Some("default"), pvc, false)?;
    let bound: Result<_, practice_cluster::store::StoreError> = c.store.pvcs.modify("default", "data-web-0", |p| {
        p.status.get_or_insert_with(Default::default).phase = Some("Bound".into());
        Ok(true)
    });
    bound?;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web-0", "labels": {"app": "web"}},
        "spec": {
            "hostname": "web-0", "subdomain": "web",
            "containers": [{
                "name": "app", "image": "stslab/visits:1.0", "workingDir": "/data",
                "ports": [{"name": "http", "containerPort": 8000}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2},
            }],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}],
        },
    }))?;
    practice_cluster::ops::create(c, Some("default"), pod, false)?;
    c.advance(SignedDuration::from_secs(3));
    Ok(running)
}

fn client(running: &Running) -> anyhow::Result<kube::Client> {
    let mut config = kube::Config::new(running.url().parse()?);
    config.default_namespace = "default".into();
    Ok(kube::Client::try_from(config)?)
}

async fn proxy_get(client: &kube::Client, path: &str) -> Result<String, kube::Error> {
    let req = axum::http::Request::get(path).body(Vec::new()).map_err(kube::Error::HttpError)?;
    client.request_text(req).await
}

/// Runs `argv` through kube-rs's exec and returns stdout, stderr and the final status.
async fn kube_exec(pods: &Api<Pod>, argv: &[&str]) -> anyhow::Result<(String, String, k8s_openapi::apimachinery::pkg::apis::meta::v1::Status)> {
    let mut attached = pods.exec("web-0", argv.to_vec(), &AttachParams::default().stderr(true)).await?;
    let mut stdout = attached.stdout().context("stdout")?;
    let mut stderr = attached.stderr().context("stderr")?;
    let status = attached.take_status().context("status")?;
    let (mut out, mut err) = (String::new(), String::new());
    stdout.read_to_string(&mut out).await?;
    stderr.read_to_string(&mut err).await?;
    let status = status.await.context("a status on channel 3")?;
    attached.join().await?;
    Ok((out, err, status))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_exec_and_proxy_reach_the_app_and_its_volume() -> anyhow::Result<()> {
    let running = cluster_with_web_0().await?;
    let client = client(&running)?;
    for n in 1..=3 {
        let body = proxy_get(&client, "/api/v1/namespaces/default/pods/web-0:8000/proxy/").await?;
        assert_eq!(body, format!("Hello from web-0! This is visit number {n}.\n"));
    }
    assert_eq!(proxy_get(&client, "/api/v1/namespaces/default/pods/http:web-0:http/proxy/visits").await?, "3\n");
    // No port: the first container port.
    assert_eq!(proxy_get(&client, "/api/v1/namespaces/default/pods/web-0/proxy/visits").await?, "3\n");

    // kube-rs retries 503s for minutes, so this one goes over plain HTTP.
    let (code, text) = raw(&running, "GET", "/api/v1/namespaces/default/pods/web-0:9999/proxy/").await?;
    assert_eq!(code, 503);
    assert!(text.contains("error trying to reach service: dial tcp 10.244.0.2:9999: connect: connection refused"), "{text}");
    let missing = proxy_get(&client, "/api/v1/namespaces/default/pods/web-0:8000/proxy/nope").await;
    assert!(matches!(missing, Err(kube::Error::Api(ref s)) if s.code == 404), "{missing:?}");

    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let (out, err, status) = kube_exec(&pods, &["cat", "visits"]).await?;
    assert_eq!((out.as_str(), err.as_str()), ("3\n", ""));
    assert_eq!(status.status.as_deref(), Some("Success"));

    let (_, err, status) = kube_exec(&pods, &["cat", "/nope"]).await?;
    assert_eq!(err, "cat: can't open '/nope': No such file or directory\n");
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let causes = status.details.and_then(|d| d.causes).unwrap_or_default();
    assert_eq!(causes.first().and_then(|c| c.message.as_deref()), Some("1"));

    let log = proxy_get(&client, "/api/v1/namespaces/default/pods/web-0/log?tailLines=2").await?;
    assert_eq!(log, "GET /visits 200\nGET /nope 404\n");
    let previous = proxy_get(&client, "/api/v1/namespaces/default/pods/web-0/log?previous=true").await;
    match previous {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.message.as_str()), (400, "previous terminated container \"app\" in pod \"web-0\" not found"))
        }
        other => panic!("expected a 400 Status, got {other:?}"),
    }
    running.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_errors_are_statuses_before_the_upgrade() -> anyhow::Result<()> {
    let running = cluster_with_web_0().await?;
    let pods: Api<Pod> = Api::default_namespaced(client(&running)?);
    let bad = pods.exec("web-0", vec!["true"], &AttachParams::default().container("xyz")).await;
    assert!(bad.is_err(), "unknown container must fail");
    let gone = pods.exec("web-9", vec!["true"], &AttachParams::default()).await;
    assert!(gone.is_err(), "unknown pod must fail");

    // What kubectl sees when it falls back to SPDY: the reason as a Status.
    let http = raw(&running, "POST", "/api/v1/namespaces/default/pods/web-0/exec?command=true&container=xyz").await?;
    assert_eq!(http.0, 400);
    assert!(http.1.contains("container xyz is not valid for pod web-0"), "{}", http.1);
    running.shutdown().await;
    Ok(())
}

/// A bare HTTP/1.1 request: (status code, the whole response).
async fn raw(running: &Running, method: &str, path: &str) -> anyhow::Result<(u16, String)> {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(running.addr).await?;
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", running.addr);
    s.write_all(req.as_bytes()).await?;
    let mut text = String::new();
    s.read_to_string(&mut text).await?;
    let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((code, text))
}

fn kubeconfig(running: &Running, name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("practice-cluster-{}-{}", name, std::process::id()));
    let path = dir.join("kubeconfig");
    practice_cluster::kubeconfig::write(&path, &running.url(), "default")?;
    Ok(path)
}

/// Runs kubectl with `args` on a blocking thread: (exit code, stdout, stderr).
async fn kubectl(config: &std::path::Path, args: &[&str]) -> anyhow::Result<(i32, String, String)> {
    let mut cmd = Command::new("kubectl");
    cmd.arg("--kubeconfig").arg(config).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
    Ok((out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_kubectl_exec_prints_output_and_exits_with_the_command_code() -> anyhow::Result<()> {
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        eprintln!("kubectl is not installed; skipping");
        return Ok(());
    }
    let running = cluster_with_web_0().await?;
    let config = kubeconfig(&running, "exec")?;
    for _ in 0..3 {
        running.cluster.http_get("default", "web-0", 8000, "/")?;
    }
    let (code, out, err) = kubectl(&config, &["exec", "web-0", "--", "cat", "visits"]).await?;
    assert_eq!((code, out.as_str()), (0, "3\n"), "stderr: {err}");

    let (code, _, err) = kubectl(&config, &["exec", "web-0", "--", "nosuch"]).await?;
    assert_eq!(code, 127, "stderr: {err}");
    assert!(err.contains("command terminated with exit code 127"), "{err}");

    let (code, out, err) = kubectl(&config, &["exec", "web-0", "--", "sh", "-c", "echo $HOSTNAME; exit 3"]).await?;
    assert_eq!((code, out.as_str()), (3, "web-0\n"), "stderr: {err}");

    let (code, out, err) = kubectl(&config, &["logs", "web-0", "--tail=1"]).await?;
    assert_eq!((code, out.as_str()), (0, "GET / 200 visit=3\n"), "stderr: {err}");

    let (code, out, err) = kubectl(&config, &["get", "--raw", "/api/v1/namespaces/default/pods/web-0:8000/proxy/visits"]).await?;
    assert_eq!((code, out.as_str()), (0, "3\n"), "stderr: {err}");
    let _ = std::fs::remove_dir_all(config.parent().unwrap_or(&config));
    running.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_a_log_streams_new_lines_until_the_container_stops() -> anyhow::Result<()> {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let running = cluster_with_web_0().await?;
    let mut s = tokio::net::TcpStream::connect(running.addr).await?;
    let req = format!("GET /api/v1/namespaces/default/pods/web-0/log?follow=true HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", running.addr);
    s.write_all(req.as_bytes()).await?;
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let mut read_until = async |s: &mut tokio::net::TcpStream, seen: &mut String, want: &str| -> anyhow::Result<()> {
        while !seen.contains(want) {
            let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await.context("log line in time")??;
            anyhow::ensure!(n > 0, "stream ended before {want:?}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        Ok(())
    };
    read_until(&mut s, &mut seen, "Listening on :8000\n").await?;
    running.cluster.http_get("default", "web-0", 8000, "/")?;
    read_until(&mut s, &mut seen, "GET / 200 visit=1\n").await?;

    practice_cluster::ops::delete::<Pod>(&running.cluster, "default", "web-0", &Default::default())?;
    running.cluster.advance(SignedDuration::from_secs(3));
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.map(|_| rest)
    })
    .await
    .context("the stream ends when the container stops")??;
    assert!(String::from_utf8_lossy(&rest).ends_with("0\r\n\r\n"), "a complete chunked body");
    running.shutdown().await;
    Ok(())
}
