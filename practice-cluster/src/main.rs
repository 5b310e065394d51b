//! `practice-cluster`: serves a practice Kubernetes API for the StatefulSet lab.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use practice_cluster::limits::Limits;
use practice_cluster::{Config, Options, Scenario};

/// A Kubernetes-compatible practice cluster for the StatefulSet lab.
///
/// Starts with the lab deployed (a headless Service `web` and a 3-replica StatefulSet
/// `web` whose pods count visits on their own volumes) and writes a kubeconfig so real
/// kubectl can be used against it.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to serve the Kubernetes API on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Start with nothing deployed (no scenario).
    #[arg(long)]
    empty: bool,
    /// What to deploy at start (see scenarios/ and the README).
    #[arg(long, value_enum, default_value_t = Scenario::Lab)]
    scenario: Scenario,
    /// Load the objects in this manifest (YAML or JSON) at start-up; repeatable.
    #[arg(long = "manifest", value_name = "FILE")]
    manifests: Vec<PathBuf>,
    /// Where to write the kubeconfig for this cluster.
    #[arg(long, default_value = "practice-cluster.kubeconfig")]
    kubeconfig: PathBuf,
    /// DNS zone of services.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Keep objects and volume files in this directory, so a restart (even after a
    /// crash) resumes where the cluster was. Without it, state lives in memory only.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Empty the state directory first and start over.
    #[arg(long, requires = "state_dir")]
    fresh: bool,
    /// Allow --listen on a non-loopback address: the API is then served over TLS and
    /// every request must carry the bearer token written into the kubeconfig.
    #[arg(long)]
    allow_remote: bool,
    /// Most replicas a StatefulSet may ask for.
    #[arg(long, default_value_t = Limits::default().max_replicas)]
    max_replicas: i32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into())).init();
    let cli = Cli::parse();
    let mut manifests = Vec::new();
    for path in &cli.manifests {
        manifests.push(std::fs::read_to_string(path).with_context(|| format!("cannot read manifest {}", path.display()))?);
    }
    let options = Options {
        listen: cli.listen,
        empty: cli.empty,
        scenario: cli.scenario,
        manifests,
        config: Config { cluster_domain: cli.cluster_domain, limits: Limits { max_replicas: cli.max_replicas, ..Limits::default() }, ..Config::default() },
        allow_remote: cli.allow_remote,
        state_dir: cli.state_dir,
        fresh: cli.fresh,
        ..Options::default()
    };
    let running = practice_cluster::start(options).await?;
    let server = running.url();
    practice_cluster::kubeconfig::write_for(&cli.kubeconfig, &running, "default")
        .with_context(|| format!("cannot write kubeconfig {}", cli.kubeconfig.display()))?;
    println!("Practice cluster serving the Kubernetes API at {server}");
    if running.resumed {
        println!("Resumed the state kept in the state directory (--fresh starts over).");
    }
    println!("Use it with kubectl:");
    println!("  export KUBECONFIG={}", std::path::absolute(&cli.kubeconfig).unwrap_or(cli.kubeconfig.clone()).display());
    println!("  kubectl get pods -w");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    println!("Stopping the practice cluster.");
    running.shutdown().await;
    Ok(())
}
