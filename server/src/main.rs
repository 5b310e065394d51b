//! `stslab`: the StatefulSet Lab dashboard.

#![recursion_limit = "512"]

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use leptos::config::get_configuration;
use server::config::Cli;
use server::dashboard::{Dashboard, Handle};
use server::mapping::Context;
use server::visits::{self, Counts, Reader};
use server::watch::{self, Health};
use server::web::{self, AppState};

/// Worker stack size: rendering Leptos views recurses through deeply nested types,
/// which in unoptimised builds needs more than tokio's 2 MiB default.
const WORKER_STACK: usize = 16 * 1024 * 1024;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK)
        .build()
        .context("starting the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()))
        .init();
    let cli = Cli::parse();
    let mut leptos_options = get_configuration(None).context("reading the Leptos site configuration")?.leptos_options;
    leptos_options.site_addr = cli.listen;

    let connected = server::connect::connect(&cli).await?;
    let health = Health::new();
    let stores = watch::start_all(&connected.client, &connected.namespace, &health);
    let counts = Arc::new(Counts::default());
    let reader = Reader { client: connected.client.clone(), namespace: connected.namespace.clone(), via: cli.visits_via, file: cli.visits_file.clone() };
    visits::spawn(reader, stores.clone(), counts.clone(), health.clone(), Duration::from_secs_f64(cli.visits_every.max(0.2)));
    let ctx = Context { namespace: connected.namespace.clone(), domain: cli.cluster_domain.clone(), read_only: cli.read_only, cluster: connected.description.clone() };
    let dashboard = Arc::new(Dashboard::new(connected.client.clone(), stores.clone(), counts, health.clone(), ctx, cli.statefulset.clone(), cli.state_dir()));
    if tokio::time::timeout(Duration::from_secs(15), stores.ready()).await.is_err() {
        tracing::warn!("the cluster has not answered every list yet; the page shows what arrives");
    }
    for line in dashboard.repair().await {
        println!("{line}");
    }
    let state = AppState { leptos_options, backend: Arc::new(Handle(dashboard)), changes: health.subscribe() };
    let listener = tokio::net::TcpListener::bind(cli.listen).await.with_context(|| format!("cannot listen on {}", cli.listen))?;
    println!("StatefulSet Lab: http://{}/ ({})", cli.listen, connected.description);
    if let Some(practice) = &connected.practice {
        practice_cluster::kubeconfig::write(&cli.practice_kubeconfig, &practice.url(), &connected.namespace)
            .with_context(|| format!("cannot write {}", cli.practice_kubeconfig.display()))?;
        let path = std::path::absolute(&cli.practice_kubeconfig).unwrap_or(cli.practice_kubeconfig.clone());
        println!("kubectl on the same cluster:\n  export KUBECONFIG={}\n  kubectl get pods", path.display());
    }
    axum::serve(listener, web::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the dashboard")?;
    Ok(())
}
