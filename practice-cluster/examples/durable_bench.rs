//! How much a state directory costs: API write latency with and without one, and the
//! state directory's size after the lab, after 1,000 writes, and after compaction.
//!
//! `cargo run --release -p practice-cluster --example durable_bench`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use practice_cluster::{Clock, Options};

const WRITES: usize = 1000;

/// Creates one Service over a fresh connection and returns how long the answer took.
fn create_service(addr: SocketAddr, name: &str) -> anyhow::Result<Duration> {
    let body = format!(r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}"}},"spec":{{"ports":[{{"port":80}}]}}}}"#);
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr)?;
    let request = format!(
        "POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let elapsed = start.elapsed();
    anyhow::ensure!(response.starts_with("HTTP/1.1 201"), "unexpected answer: {response}");
    Ok(elapsed)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

async fn run(state_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let label = if state_dir.is_some() { "with a state directory" } else { "in memory" };
    let options = Options { clock: Clock::manual(Timestamp::now()), state_dir: state_dir.clone(), ..Options::default() };
    let running = practice_cluster::start(options).await?;
    running.cluster.advance(SignedDuration::from_secs(40));
    running.cluster.persist()?;
    if let Some(dir) = &state_dir {
        println!("  state directory after the lab:        {}", kib(dir_size(dir)));
    }
    let addr = running.addr;
    let mut latencies =
        tokio::task::spawn_blocking(move || (0..WRITES).map(|i| create_service(addr, &format!("bench-{i}"))).collect::<anyhow::Result<Vec<_>>>()).await??;
    latencies.sort();
    println!("  {WRITES} Service creates {label}: p50 {:?}, p99 {:?}", percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    if let Some(dir) = &state_dir {
        println!("  state directory after {WRITES} writes:   {}", kib(dir_size(dir)));
        if let Some(journal) = running.cluster.store.shared.journal() {
            journal.compact()?;
        }
        println!("  state directory after compaction:     {}", kib(dir_size(dir)));
    }
    running.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("stslab-bench-{}", uuid::Uuid::new_v4()));
    println!("Practice cluster write latency (one connection per request, loopback):");
    run(None).await?;
    let result = run(Some(dir.clone())).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}
