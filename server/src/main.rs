//! `stslab`: the StatefulSet Lab dashboard.

#![recursion_limit = "512"]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use leptos::config::get_configuration;
use server::access::{Access, Token};
use server::config::Cli;
use server::dashboard::{Dashboard, Handle};
use server::mapping::Context;
use server::memory;
use server::publish::Publisher;
use server::stream::StreamLimits;
use server::visits::{self, Counts, Reader};
use server::watch::{self, Health};
use server::web::{self, AppState};

/// Worker stack size: rendering Leptos views recurses through deeply nested types,
/// which in unoptimised builds needs more than tokio's 2 MiB default.
const WORKER_STACK: usize = 16 * 1024 * 1024;

fn main() -> anyhow::Result<()> {
    memory::tune_allocator();
    tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(WORKER_STACK).build().context("starting the async runtime")?.block_on(run())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into())).init();
    let cli = Cli::parse();
    let token = match &cli.presenter_token {
        Some(t) => Token::new(t).context("--presenter-token / STSLAB_PRESENTER_TOKEN")?,
        None => Token::generate(),
    };
    if let Some(ns) = &cli.namespace {
        server::validate::object_name("namespace", ns).map_err(|e| anyhow::anyhow!("--namespace: {e}"))?;
    }
    let mut leptos_options = get_configuration(None).context("reading the Leptos site configuration")?.leptos_options;
    leptos_options.site_addr = cli.listen;

    let connected = server::connect::connect(&cli).await?;
    let health = Health::new();
    let stores = watch::start_all(&connected.client, &connected.namespace, &health);
    let counts = Arc::new(Counts::default());
    let reader = Reader { client: connected.client.clone(), namespace: connected.namespace.clone(), via: cli.visits_via, file: cli.visits_file.clone() };
    visits::spawn(reader.clone(), stores.clone(), counts.clone(), health.clone(), Duration::from_secs_f64(cli.visits_every.max(0.2)));
    let ctx = Context {
        namespace: connected.namespace.clone(),
        domain: cli.cluster_domain.clone(),
        read_only: cli.read_only,
        cluster: connected.description.clone(),
        practice: connected.practice.is_some(),
    };
    let dashboard = Arc::new(
        Dashboard::new(connected.client.clone(), stores.clone(), counts, health.clone(), ctx, cli.statefulset.clone(), cli.state_dir())
            .reading_visits_with(reader),
    );
    if tokio::time::timeout(Duration::from_secs(15), stores.ready()).await.is_err() {
        tracing::warn!("the cluster has not answered every list yet; the page shows what arrives");
    }
    for line in dashboard.repair().await {
        println!("{line}");
    }
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(memory::trim_when_quiet(health.subscribe(), &memory::VIEWERS, shutdown.clone(), memory::QUIET, memory::release_free_memory));
    let backend: app::backend::SharedBackend = Arc::new(Handle(dashboard));
    let state = AppState {
        leptos_options,
        publisher: Publisher::new(backend.clone(), health.subscribe(), shutdown.clone()),
        backend,
        limits: StreamLimits::new(cli.max_streams, cli.max_streams_per_client),
        access: Access { token: token.clone(), read_only: cli.read_only, loopback_only: cli.listen.ip().is_loopback() },
        shutdown,
    };
    let listener = tokio::net::TcpListener::bind(cli.listen).await.with_context(|| format!("cannot listen on {}", cli.listen))?;
    print_links(&cli, &token, &connected.description);
    if let Some(practice) = &connected.practice {
        practice_cluster::kubeconfig::write(&cli.practice_kubeconfig, &practice.url(), &connected.namespace)
            .with_context(|| format!("cannot write {}", cli.practice_kubeconfig.display()))?;
        let path = std::path::absolute(&cli.practice_kubeconfig).unwrap_or(cli.practice_kubeconfig.clone());
        println!("kubectl on the same cluster:\n  export KUBECONFIG={}\n  kubectl get pods", path.display());
        if practice.resumed {
            println!(
                "The practice cluster resumed where it stopped (objects and counts kept in {}); --fresh starts over.",
                cli.state_dir().join("cluster").display()
            );
        }
    }
    axum::serve(listener, web::router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            stop_signal().await;
            tracing::info!("shutting down: ending live streams");
            let _ = stop.send(true);
        })
        .await
        .context("serving the dashboard")?;
    Ok(())
}

/// The two links: the audience's (plain) and the presenter's (signs a browser in).
fn print_links(cli: &Cli, token: &Token, cluster: &str) {
    let shown = if cli.listen.ip().is_unspecified() { SocketAddr::new([127, 0, 0, 1].into(), cli.listen.port()) } else { cli.listen };
    println!("StatefulSet Lab ({cluster})");
    println!("  audience link (share it with the class): http://{shown}/");
    println!("  presenter link (keep it to yourself):    http://{shown}/?presenter={}", token.expose());
    if cli.listen.ip().is_loopback() {
        println!("  (listening on loopback only: to share with a class, start with --listen 0.0.0.0:{} and use this machine's address)", cli.listen.port());
    }
    if cli.read_only {
        println!("  read-only: nobody, not even the presenter, can change the lab from the page");
    }
}
