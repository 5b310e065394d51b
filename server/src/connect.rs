//! Connecting to a cluster: the in-process practice cluster by default, a real one
//! only when asked (kubeconfig, context, or in-cluster service account).

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::config::Cli;

/// Errors connecting.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The kubeconfig could not be read or used.
    #[error("cannot use the kubeconfig: {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    /// In-cluster configuration is missing.
    #[error("not running in a cluster (no service account): {0}")]
    InCluster(#[source] kube::config::InClusterError),
    /// The client could not be built.
    #[error("cannot create a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// The practice cluster did not start.
    #[error("cannot start the practice cluster: {0}")]
    Practice(#[source] practice_cluster::cluster::StartError),
    /// The practice cluster's address is not a URL (a bug).
    #[error("bad practice cluster URL: {0}")]
    Url(String),
}

/// A connected client and how to describe it.
pub struct Connected {
    /// The client.
    pub client: Client,
    /// The namespace to watch.
    pub namespace: String,
    /// In words, for the page: "practice cluster at ..." or "context prod-eu".
    pub description: String,
    /// The in-process practice cluster, when that is what we connected to.
    pub practice: Option<practice_cluster::Running>,
}

/// Connects as the options say.
pub async fn connect(cli: &Cli) -> Result<Connected, ConnectError> {
    if cli.real_cluster() {
        let (config, description) = if cli.in_cluster {
            (Config::incluster().map_err(ConnectError::InCluster)?, "in-cluster service account".to_owned())
        } else {
            let kubeconfig = match &cli.kubeconfig {
                Some(path) => Kubeconfig::read_from(path).map_err(ConnectError::Kubeconfig)?,
                None => Kubeconfig::read().map_err(ConnectError::Kubeconfig)?,
            };
            let options = KubeConfigOptions { context: cli.context.clone(), ..Default::default() };
            let context = cli.context.clone().or_else(|| kubeconfig.current_context.clone()).unwrap_or_default();
            let config = Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(ConnectError::Kubeconfig)?;
            (config, format!("context {context}"))
        };
        let namespace = cli.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(ConnectError::Client)?;
        return Ok(Connected { client, namespace, description, practice: None });
    }
    let options = practice_cluster::Options {
        listen: cli.practice_listen,
        scenario: cli.scenario,
        state_dir: Some(cli.state_dir().join("cluster")),
        fresh: cli.fresh,
        config: practice_cluster::Config { cluster_domain: cli.cluster_domain.clone(), ..Default::default() },
        ..Default::default()
    };
    let running = practice_cluster::start(options).await.map_err(ConnectError::Practice)?;
    let url = running.url();
    let client = practice_client(&url)?;
    Ok(Connected {
        client,
        namespace: cli.namespace.clone().unwrap_or_else(|| "default".to_owned()),
        description: format!("practice cluster at {url}"),
        practice: Some(running),
    })
}

/// A client for a practice cluster at `url` (plain HTTP, no credentials).
pub fn practice_client(url: &str) -> Result<Client, ConnectError> {
    let uri = url.parse().map_err(|e: axum::http::uri::InvalidUri| ConnectError::Url(e.to_string()))?;
    Client::try_from(Config::new(uri)).map_err(ConnectError::Client)
}
