//! Command-line options of `stslab`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use practice_cluster::Scenario;

/// How a pod's visit count is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VisitsVia {
    /// `kubectl exec POD -- cat FILE`, as the lab does it.
    Exec,
    /// `GET /visits` through the API server's pod proxy.
    Proxy,
}

/// StatefulSet Lab: a live dashboard for teaching StatefulSets.
///
/// With no cluster flags it starts a practice cluster in this process, with the lab
/// deployed, and prints how to point kubectl at it. Connecting to a real cluster is
/// always explicit: --kubeconfig, --context or --in-cluster.
#[derive(Clone, Debug, Parser)]
#[command(name = "stslab", version, about)]
pub struct Cli {
    /// Connect to the cluster of this kubeconfig file (a real cluster).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Use this kubeconfig context (a real cluster; default kubeconfig unless --kubeconfig).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Use the pod's service account (when running inside a cluster).
    #[arg(long, conflicts_with_all = ["kubeconfig", "context"])]
    pub in_cluster: bool,
    /// Namespace to watch (default: the context's namespace, or `default`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// The StatefulSet to show; without it the page lists the namespace's StatefulSets.
    #[arg(long, value_name = "NAME")]
    pub statefulset: Option<String>,
    /// Address to serve the dashboard on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Nobody, not even the presenter, changes anything: no buttons, every change refused.
    #[arg(long)]
    pub read_only: bool,
    /// The presenter's secret (16-256 letters, digits, '-', '_', '.'); generated at each
    /// start when not given. The presenter link signs a browser in with it; scripts may
    /// send `Authorization: Bearer TOKEN`.
    #[arg(long, env = "STSLAB_PRESENTER_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub presenter_token: Option<String>,
    /// The most live views (open pages) at once.
    #[arg(long, default_value_t = 500)]
    pub max_streams: usize,
    /// The most live views from one client address.
    #[arg(long, default_value_t = 64)]
    pub max_streams_per_client: usize,
    /// How visit counts are read from pods.
    #[arg(long, value_enum, default_value_t = VisitsVia::Exec)]
    pub visits_via: VisitsVia,
    /// The visits file, relative to the container's working directory (with --visits-via exec).
    #[arg(long, default_value = "visits")]
    pub visits_file: String,
    /// Seconds between rounds of visit-count reads (at most 20 reads a second).
    #[arg(long, default_value_t = 2.0)]
    pub visits_every: f64,
    /// DNS zone of services, for the DNS panel.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Where stslab keeps its state: the practice cluster's objects and volumes (in
    /// DIR/cluster) and the specs the policy switch saves (default
    /// $XDG_STATE_HOME/stslab or ~/.local/state/stslab).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// With the practice cluster: forget its saved state and start from the scenario.
    #[arg(long, conflicts_with_all = ["kubeconfig", "context", "in_cluster"])]
    pub fresh: bool,
    /// With the practice cluster: where its API listens.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub practice_listen: SocketAddr,
    /// With the practice cluster: what it starts with (see the README's scenarios).
    #[arg(long, value_enum, default_value_t = Scenario::Lab, conflicts_with_all = ["kubeconfig", "context", "in_cluster"])]
    pub scenario: Scenario,
    /// With the practice cluster: where to write its kubeconfig.
    #[arg(long, default_value = "practice-cluster.kubeconfig")]
    pub practice_kubeconfig: PathBuf,
}

impl Cli {
    /// Whether the user asked for a real cluster.
    pub fn real_cluster(&self) -> bool {
        self.kubeconfig.is_some() || self.context.is_some() || self.in_cluster
    }

    /// The directory for saved specs and the practice cluster's state.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(|| {
            let xdg = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()).map(PathBuf::from);
            let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state"));
            xdg.or(home).unwrap_or_else(std::env::temp_dir).join("stslab")
        })
    }
}
