//! The cluster as a whole: store, clock, simulated node, and the loop that runs the
//! controllers; plus [`start`], which serves it over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::error::ApiError;
use crate::clock::Clock;
use crate::controllers;
use crate::durable::{self, Journal, Restored};
use crate::sim::Runtime;
use crate::store::Store;

/// How long simulated things take. Defaults are brisk, for a live demo.
#[derive(Clone, Debug)]
pub struct Timings {
    /// From scheduling to the container running (image pull and start).
    pub container_start: SignedDuration,
    /// From SIGTERM to the lab app having exited.
    pub app_shutdown: SignedDuration,
    /// From a PVC's creation to its volume being provisioned and bound.
    pub provision: SignedDuration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            container_start: SignedDuration::from_millis(1500),
            app_shutdown: SignedDuration::from_secs(2),
            provision: SignedDuration::from_millis(500),
        }
    }
}

/// Facts about the simulated cluster.
#[derive(Clone, Debug)]
pub struct Config {
    /// DNS zone of services, `cluster.local` by default.
    pub cluster_domain: String,
    /// Name of the one practice node.
    pub node_name: String,
    /// The minor version reported by `/version` (kubectl picks its build by it).
    pub minor_version: u32,
    /// How many past changes each kind keeps for resuming watches.
    pub watch_history: usize,
    /// Simulated durations.
    pub timings: Timings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cluster_domain: "cluster.local".to_owned(),
            node_name: "practice-node".to_owned(),
            minor_version: 32,
            watch_history: 20_000,
            timings: Timings::default(),
        }
    }
}

/// The practice cluster's state: the API objects and the simulated node behind them.
#[derive(Debug)]
pub struct Cluster {
    /// API objects.
    pub store: Store,
    /// Source of "now".
    pub clock: Clock,
    /// Cluster facts and timings.
    pub config: Config,
    /// What runs on the node: containers, their files and the lab app.
    pub runtime: Runtime,
    reconcile: Mutex<()>,
}

impl Cluster {
    /// A cluster with the built-in objects (namespaces, node, storage class, the
    /// `kubernetes` service) and nothing else.
    pub fn new(config: Config, clock: Clock) -> Arc<Self> {
        let cluster = Self::bare(config, clock);
        crate::lab::bootstrap(&cluster);
        cluster
    }

    /// A cluster whose state lives in a state directory: what `restored` holds (or,
    /// if it holds nothing, the built-in objects), with every later change journaled.
    /// Pods come back as after a node reboot: their containers start again.
    pub fn with_journal(config: Config, clock: Clock, journal: Arc<Journal>, restored: &Restored) -> Arc<Self> {
        let cluster = Self::bare(config, clock);
        cluster.store.restore(restored, journal.clone());
        cluster.runtime.lock().restore(restored, journal);
        if restored.is_empty() {
            crate::lab::bootstrap(&cluster);
        }
        cluster
    }

    fn bare(config: Config, clock: Clock) -> Arc<Self> {
        Arc::new(Cluster {
            store: Store::new(config.watch_history),
            clock,
            config,
            runtime: Runtime::default(),
            reconcile: Mutex::new(()),
        })
    }

    /// Makes every change so far durable, if the cluster has a state directory; the
    /// API calls it before answering, so what a client was told survives a crash.
    pub fn persist(&self) -> Result<(), ApiError> {
        let Some(journal) = self.store.shared.journal() else { return Ok(()) };
        if !journal.dirty() {
            return Ok(());
        }
        journal.sync().map_err(|e| {
            tracing::error!(error = %e, "cannot save the cluster's state");
            ApiError::internal("the change could not be saved to the state directory")
        })
    }

    /// Runs every controller until nothing changes, and returns when something is
    /// next due (a probe, a container start, the end of a grace period).
    pub fn settle(&self) -> Option<Timestamp> {
        let _one_at_a_time = self.reconcile.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = None;
        for _ in 0..100 {
            let before = self.store.shared.current_rv();
            next = controllers::reconcile_all(self, self.clock.now());
            if self.store.shared.current_rv() == before {
                break;
            }
        }
        next
    }

    /// Moves a manual clock forward by `by`, stopping at every moment something is
    /// due so each probe, restart and timeout happens at its exact time.
    pub fn advance(&self, by: SignedDuration) {
        let Ok(target) = self.clock.now().checked_add(by) else { return };
        for _ in 0..1_000_000 {
            match self.settle() {
                Some(due) if due <= target => {
                    if due <= self.clock.now() {
                        // Due now and settle could not make it go away: step minimally.
                        self.clock.advance(SignedDuration::from_millis(1));
                    } else {
                        self.clock.set(due);
                    }
                }
                _ => break,
            }
        }
        self.clock.set(target);
        self.settle();
    }
}

/// How to start a practice cluster.
#[derive(Clone, Debug)]
pub struct Options {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Start with nothing deployed (no scenario).
    pub empty: bool,
    /// What to deploy at start (unless `empty`): the lab by default.
    pub scenario: crate::Scenario,
    /// Manifests (YAML or JSON, multi-document) to load after the lab.
    pub manifests: Vec<String>,
    /// Cluster facts and timings.
    pub config: Config,
    /// Clock; [`Clock::Real`] for a live cluster.
    pub clock: Clock,
    /// Where objects and volume files are kept across restarts; `None` keeps them in
    /// memory only. A directory holding state is resumed (the lab and `manifests` are
    /// loaded only into an empty one).
    pub state_dir: Option<PathBuf>,
    /// Empty `state_dir` first: start over.
    pub fresh: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            empty: false,
            scenario: crate::Scenario::default(),
            manifests: Vec::new(),
            config: Config::default(),
            clock: Clock::Real,
            state_dir: None,
            fresh: false,
        }
    }
}

/// A practice cluster serving on `addr`. Dropping it stops the server and controllers.
#[derive(Debug)]
pub struct Running {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The cluster, for in-process inspection and (with a manual clock) time travel.
    pub cluster: Arc<Cluster>,
    /// Whether the state directory held a cluster that was resumed (no scenario loaded).
    pub resumed: bool,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The API's base URL, e.g. `http://127.0.0.1:6443`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the tasks to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Errors starting a practice cluster.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A manifest could not be loaded.
    #[error("cannot load manifest: {0}")]
    Manifest(String),
    /// The state directory could not be opened.
    #[error(transparent)]
    State(#[from] durable::Error),
}

/// Starts a practice cluster: builds it, loads the scenario (unless `empty`) and the given
/// manifests, serves the API and runs the controllers in the background.
pub async fn start(options: Options) -> Result<Running, StartError> {
    let (cluster, resumed) = match &options.state_dir {
        None => (Cluster::new(options.config, options.clock), false),
        Some(dir) => {
            let (journal, restored) = Journal::open(dir, options.fresh)?;
            (Cluster::with_journal(options.config, options.clock, journal, &restored), !restored.is_empty())
        }
    };
    if !resumed {
        if !options.empty {
            crate::lab::load_manifest(&cluster, options.scenario.manifest()).map_err(StartError::Manifest)?;
        }
        for m in &options.manifests {
            crate::lab::load_manifest(&cluster, m).map_err(StartError::Manifest)?;
        }
    }
    cluster.settle();
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| StartError::Bind { addr: options.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: options.listen, source })?;
    let (stop, stopped) = watch::channel(false);

    let router = crate::api::router(cluster.clone()).layer(axum::middleware::from_fn_with_state(cluster.clone(), persist_before_answering));
    let mut stop_serving = stopped.clone();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop_serving.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "practice cluster API server stopped");
        }
    });
    let controllers = tokio::spawn(run_controllers(cluster.clone(), stopped));
    Ok(Running { addr, cluster, resumed, stop, tasks: vec![server, controllers] })
}

/// Answers only once the request's changes (objects, volume files, a visit) are
/// durable; with no state directory this is a no-op.
async fn persist_before_answering(
    axum::extract::State(cluster): axum::extract::State<Arc<Cluster>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let response = next.run(request).await;
    if !cluster.store.shared.journal().is_some_and(|j| j.dirty()) {
        return response;
    }
    let syncing = cluster.clone();
    match tokio::task::spawn_blocking(move || syncing.persist()).await {
        Ok(Ok(())) => response,
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(format!("the change could not be saved: {e}")).into_response(),
    }
}

/// Runs the controllers whenever an object changes or something falls due.
async fn run_controllers(cluster: Arc<Cluster>, mut stopped: watch::Receiver<bool>) {
    loop {
        let next = cluster.settle();
        if cluster.store.shared.journal().is_some_and(|j| j.dirty()) {
            // What the controllers did reaches the disk too, not only what clients wrote.
            let syncing = cluster.clone();
            let _ = tokio::task::spawn_blocking(move || syncing.persist()).await;
        }
        let wait = match next {
            Some(due) if !cluster.clock.is_manual() => {
                let d = due.duration_since(cluster.clock.now());
                d.clamp(SignedDuration::from_millis(5), SignedDuration::from_secs(60))
            }
            _ => SignedDuration::from_secs(60),
        };
        let wait = std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
        tokio::select! {
            _ = cluster.store.shared.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}
