//! How the practice cluster copes with one big StatefulSet: time until every pod is
//! Running and Ready, list latency as kubectl asks (JSON and Table), how fast 100
//! watchers receive the pod events of a scale from 0 to the largest count (and whether
//! any missed one), and memory.
//!
//! `cargo run --release -p practice-cluster --example scale_bench [-- 1000,10000]`

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use practice_cluster::{Cluster, Options, Scenario};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;

const WATCHERS: usize = 100;
/// Longest wait for a scale to finish; the figures then say how far it got.
const GIVE_UP: Duration = Duration::from_secs(120);
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// Sends one request over a fresh connection; returns the status line and the body's length.
fn request(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> anyhow::Result<(String, usize)> {
    let mut stream = TcpStream::connect(addr)?;
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let status = String::from_utf8_lossy(response.split(|b| *b == b'\r').next().unwrap_or_default()).into_owned();
    Ok((status, response.len()))
}

fn scale(addr: SocketAddr, replicas: usize) -> anyhow::Result<()> {
    let body = format!(r#"{{"spec":{{"replicas":{replicas}}}}}"#);
    let (status, _) =
        request(addr, "PATCH", "/apis/apps/v1/namespaces/default/statefulsets/web/scale", "Content-Type: application/merge-patch+json\r\n", &body)?;
    anyhow::ensure!(status.contains(" 200"), "scale to {replicas}: {status}");
    Ok(())
}

fn running_and_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    let ready = status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    running && ready && pod.metadata.deletion_timestamp.is_none()
}

/// (pods, of which Running and Ready)
fn count(cluster: &Cluster) -> (usize, usize) {
    let (pods, _) = cluster.store.pods.list(Some("default"));
    (pods.len(), pods.iter().filter(|p| running_and_ready(p)).count())
}

/// Waits until the namespace holds exactly `want` pods, all Running and Ready; returns
/// how long that took, or None (after saying how far it got) at [`GIVE_UP`].
async fn wait_for(cluster: &Cluster, want: usize) -> Option<Duration> {
    let start = Instant::now();
    loop {
        let (pods, ready) = count(cluster);
        if pods == want && ready == want {
            return Some(start.elapsed());
        }
        if start.elapsed() > GIVE_UP {
            println!("    gave up after {GIVE_UP:?}: {pods} pods, {ready} Running and Ready (want {want})");
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn vm_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

async fn list_latency(addr: SocketAddr, pods: usize) -> anyhow::Result<()> {
    for (label, accept) in [("JSON ", "application/json"), ("Table", TABLE)] {
        let headers = format!("Accept: {accept}\r\n");
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..5 {
            let h = headers.clone();
            let start = Instant::now();
            let (status, len) = tokio::task::spawn_blocking(move || request(addr, "GET", "/api/v1/namespaces/default/pods", &h, "")).await??;
            times.push(start.elapsed());
            anyhow::ensure!(status.contains(" 200"), "list: {status}");
            bytes = len;
        }
        times.sort();
        println!("    list {pods:>6} pods as {label}: median {:>9.1?} ({:.1} MiB)", times[2], bytes as f64 / 1048576.0);
    }
    Ok(())
}

/// When each pod change was published, seen from inside the cluster.
type Published = Arc<Mutex<HashMap<u64, Instant>>>;

/// Records the moment each pod change is published, on its own thread so that the
/// busy runtime does not delay the reference clock. Returns how often the reference
/// fell behind the history (it then misses changes).
fn record_published(cluster: &Arc<Cluster>, stop: Arc<AtomicBool>) -> (Published, std::thread::JoinHandle<u64>) {
    let mut cursor = cluster.store.shared.current_rv();
    let published: Published = Arc::default();
    let out = published.clone();
    let cluster = cluster.clone();
    let thread = std::thread::spawn(move || {
        let mut lagged = 0;
        while !stop.load(Ordering::Relaxed) {
            match cluster.store.pods.since(cursor, usize::MAX) {
                Ok(changes) if changes.is_empty() => std::thread::sleep(Duration::from_micros(100)),
                Ok(changes) => {
                    let now = Instant::now();
                    let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
                    for change in changes {
                        out.insert(change.rv, now);
                        cursor = change.rv;
                    }
                }
                Err(_) => {
                    lagged += 1;
                    cursor = cluster.store.shared.current_rv();
                }
            }
        }
        lagged
    });
    (published, thread)
}

/// What one watcher saw: each resourceVersion with its arrival, and how often its
/// watch ended and had to be resumed.
#[derive(Default)]
struct Seen {
    arrivals: Vec<(u64, Instant)>,
    resumed: usize,
    /// Its resume was answered `410 Expired`.
    expired: bool,
}

/// Watches pods from `from` over HTTP like a client would, resuming from the last
/// version seen whenever the server ends the watch, until `stop`.
async fn watcher(addr: SocketAddr, from: u64, mut stop: watch::Receiver<bool>, progress: Arc<Vec<AtomicU64>>, me: usize) -> anyhow::Result<Seen> {
    let mut seen = Seen::default();
    let mut last = from;
    loop {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let mut stream = BufReader::with_capacity(1 << 20, stream);
        let head = format!("GET /api/v1/namespaces/default/pods?watch=1&resourceVersion={last} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream.get_mut().write_all(head.as_bytes()).await?;
        let ended = tokio::select! {
            r = read_events(&mut stream, &mut seen, &mut last, &progress[me]) => r,
            _ = stop.wait_for(|s| *s) => return Ok(seen),
        };
        match ended? {
            Ended::Closed => seen.resumed += 1,
            Ended::Expired => {
                seen.expired = true;
                let _ = stop.wait_for(|s| *s).await;
                return Ok(seen);
            }
        }
    }
}

/// How a watch response ended.
enum Ended {
    /// The server ended it; resume from the last version seen.
    Closed,
    /// `410 Expired`: the events since the last version seen are lost.
    Expired,
}

/// Reads a chunked watch response, noting each event's resourceVersion, until it ends.
async fn read_events(stream: &mut BufReader<tokio::net::TcpStream>, seen: &mut Seen, last: &mut u64, progress: &AtomicU64) -> anyhow::Result<Ended> {
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(Ended::Closed);
        }
        if line == "\r\n" {
            break;
        }
    }
    // The start of an event that did not end in its chunk.
    let mut pending = Vec::new();
    let mut chunk = Vec::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(Ended::Closed);
        }
        let size = usize::from_str_radix(line.trim(), 16)?;
        if size == 0 {
            return Ok(Ended::Closed);
        }
        chunk.resize(size + 2, 0);
        stream.read_exact(&mut chunk).await?;
        let now = Instant::now();
        for part in chunk[..size].split_inclusive(|b| *b == b'\n') {
            // Events start with their type; an ERROR (a Status, keys sorted) does not.
            if !part.starts_with(br#"{"type":"#) && part.windows(14).any(|w| w == br#""type":"ERROR""#) {
                return Ok(Ended::Expired);
            }
            if !part.ends_with(b"\n") {
                pending.extend_from_slice(part);
                break;
            }
            let rv = if pending.is_empty() {
                first_resource_version(part)
            } else {
                pending.extend_from_slice(part);
                let rv = first_resource_version(&pending);
                pending.clear();
                rv
            };
            if let Some(rv) = rv {
                seen.arrivals.push((rv, now));
                *last = rv;
                progress.store(rv, Ordering::Relaxed);
            }
        }
    }
}

/// The first `"resourceVersion":"N"` of an event: the object's own (nothing nested in
/// a pod's metadata comes before it carries one).
fn first_resource_version(event: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"resourceVersion\":\"";
    // Compare the first byte before the rest: this runs for every event of 100 watchers.
    let at = event.windows(KEY.len()).position(|w| w[0] == b'"' && w == KEY)? + KEY.len();
    let digits: Vec<u8> = event[at..].iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

async fn scale_with_watchers(running: &practice_cluster::Running, pods: usize) -> anyhow::Result<()> {
    let (addr, cluster) = (running.addr, running.cluster.clone());
    let from = cluster.store.shared.current_rv();
    let stop_reference = Arc::new(AtomicBool::new(false));
    let (published, reference) = record_published(&cluster, stop_reference.clone());
    let (stop, stopped) = watch::channel(false);
    let progress: Arc<Vec<AtomicU64>> = Arc::new((0..WATCHERS).map(|_| AtomicU64::new(from)).collect());
    let watchers: Vec<_> = (0..WATCHERS).map(|i| tokio::spawn(watcher(addr, from, stopped.clone(), progress.clone(), i))).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    scale(addr, pods)?;
    let took = wait_for(&cluster, pods).await;
    report_ready(pods, took);
    let until = cluster.store.shared.current_rv();
    let last_pod_change = published.lock().unwrap_or_else(|p| p.into_inner()).keys().copied().filter(|rv| *rv <= until).max().unwrap_or(from);
    let drain = Instant::now();
    while progress.iter().any(|p| p.load(Ordering::Relaxed) < last_pod_change) && drain.elapsed() < GIVE_UP {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("    watchers had every event up to then {:.1} s later", drain.elapsed().as_secs_f64());
    let _ = stop.send(true);
    stop_reference.store(true, Ordering::Relaxed);
    let lagged = reference.join().map_err(|_| anyhow::anyhow!("the reference watcher panicked"))?;
    let published = std::mem::take(&mut *published.lock().unwrap_or_else(|p| p.into_inner()));
    let expected: BTreeSet<u64> = published.keys().copied().filter(|rv| *rv <= until).collect();
    let (mut latencies, mut missing, mut short, mut resumed, mut expired) = (Vec::new(), 0, 0, 0, 0);
    for w in watchers {
        let seen = w.await??;
        resumed += seen.resumed;
        expired += usize::from(seen.expired);
        let got: BTreeSet<u64> = seen.arrivals.iter().map(|(rv, _)| *rv).collect();
        let missed = expected.difference(&got).count();
        missing += missed;
        short += usize::from(missed > 0);
        latencies.extend(seen.arrivals.iter().filter_map(|(rv, at)| Some(at.saturating_duration_since(*published.get(rv)?))));
    }
    latencies.sort();
    println!(
        "    fan-out of {} pod events to {WATCHERS} watchers: p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        expected.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "    watchers with every event: {} of {WATCHERS}; missed: {missing} events in all; watches resumed: {resumed}, expired: {expired}; reference lagged by {lagged}",
        WATCHERS - short
    );
    Ok(())
}

fn report_ready(pods: usize, took: Option<Duration>) {
    if let Some(t) = took {
        println!("    0 -> {pods} pods Running and Ready in {:.1} s", t.as_secs_f64());
    }
}

async fn scale_to_zero(running: &practice_cluster::Running) -> anyhow::Result<()> {
    scale(running.addr, 0)?;
    wait_for(&running.cluster, 0).await.ok_or_else(|| anyhow::anyhow!("scale to 0 did not finish"))?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let counts: Vec<usize> = match std::env::args().nth(1) {
        Some(arg) => arg.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![1000, 10_000],
    };
    let largest = counts.iter().copied().max().unwrap_or(0);
    let running = practice_cluster::start(Options { scenario: Scenario::Parallel, ..Options::default() }).await?;
    let addr = running.addr;
    wait_for(&running.cluster, 3).await;
    let base_rss = vm_kib("VmRSS:");
    println!("Practice cluster at scale (StatefulSet web, Parallel; {} cores):", std::thread::available_parallelism()?.get());
    scale_to_zero(&running).await?;
    scale(addr, 100)?;
    wait_for(&running.cluster, 100).await;
    list_latency(addr, 100).await?;
    for &pods in &counts {
        scale_to_zero(&running).await?;
        if pods == largest {
            scale_with_watchers(&running, pods).await?;
        } else {
            scale(addr, pods)?;
            report_ready(pods, wait_for(&running.cluster, pods).await);
        }
        list_latency(addr, count(&running.cluster).0).await?;
    }
    let (pods, _) = count(&running.cluster);
    let rss = vm_kib("VmRSS:");
    println!("    RSS with {pods} pods: {} MiB; peak (VmHWM) {} MiB", rss / 1024, vm_kib("VmHWM:") / 1024);
    if pods > 0 {
        println!("    memory per pod: {:.1} KiB (RSS growth over the 3-pod start)", rss.saturating_sub(base_rss) as f64 / pods as f64);
    }
    running.shutdown().await;
    Ok(())
}
