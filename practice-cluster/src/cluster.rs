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
use crate::api::guard::Guard;
use crate::clock::Clock;
use crate::controllers;
use crate::durable::{self, Journal, Restored};
use crate::limits::Limits;
use crate::sim::Runtime;
use crate::store::Store;
use crate::tls::{Identity, TlsError, TlsListener};

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
        Timings { container_start: SignedDuration::from_millis(1500), app_shutdown: SignedDuration::from_secs(2), provision: SignedDuration::from_millis(500) }
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
    /// How many past changes each kind keeps at least for resuming watches (and for
    /// watches that fell behind a burst); see [`Config::history`].
    pub watch_history: usize,
    /// Simulated durations.
    pub timings: Timings,
    /// Bounds on what API clients may ask for.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cluster_domain: "cluster.local".to_owned(),
            node_name: "practice-node".to_owned(),
            minor_version: 32,
            watch_history: 20_000,
            timings: Timings::default(),
            limits: Limits::default(),
        }
    }
}

/// The changes a pod goes through from creation to Running and Ready, rounded up
/// (created, scheduled, container creating, running, ready: 4.9 on average in a scale
/// to 10,000).
const CHANGES_PER_REPLICA: usize = 6;

impl Config {
    /// How many past changes each kind keeps: [`Config::watch_history`], or enough for a
    /// StatefulSet scaling from 0 to [`Limits::max_replicas`] if that is more, so a
    /// watcher that falls behind such a burst still receives every event rather than
    /// `410 Expired`. A kind's history fills only as it is written; full, it costs
    /// about 6 KiB per pod change (the older object version and its JSON): 60,000 pod
    /// and event changes took some 250 MiB more than 20,000 in the scale bench.
    pub fn history(&self) -> usize {
        let replicas = usize::try_from(self.limits.max_replicas).unwrap_or(0);
        self.watch_history.max(replicas.saturating_mul(CHANGES_PER_REPLICA))
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
    /// Nothing expires before this (see [`crate::events::expire`]).
    pub(crate) next_event_expiry: Mutex<Option<Timestamp>>,
    /// Which pods the kubelet must look at next pass.
    pub(crate) pod_queue: Mutex<controllers::pod_queue::PodQueue>,
    /// Which StatefulSets the StatefulSet controller must sync next pass.
    pub(crate) set_queue: Mutex<controllers::set_queue::SetQueue>,
    /// Which Services the endpoints controllers must sync next pass.
    pub(crate) service_queue: Mutex<controllers::service_queue::ServiceQueue>,
    /// The store's ownership version the garbage collector last ran at.
    pub(crate) gc_seen: std::sync::atomic::AtomicU64,
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
        let store = Store::new(config.history());
        Arc::new(Cluster {
            pod_queue: controllers::pod_queue::PodQueue::new(&store),
            set_queue: controllers::set_queue::SetQueue::new(&store),
            service_queue: controllers::service_queue::ServiceQueue::new(&store),
            store,
            runtime: Runtime::new(clock.clone()),
            clock,
            config,
            reconcile: Mutex::new(()),
            next_event_expiry: Mutex::new(None),
            gc_seen: std::sync::atomic::AtomicU64::new(u64::MAX),
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
    /// Allow `listen` to be a non-loopback address. The API has no other
    /// authentication, so there every request must carry a generated bearer token
    /// ([`Running::token`]), and the API is served over TLS (kubectl sends tokens only
    /// over TLS) with a generated certificate ([`Running::certificate_pem`]).
    pub allow_remote: bool,
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
            allow_remote: false,
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
    /// The bearer token clients must send, when listening beyond loopback.
    pub token: Option<String>,
    /// The certificate the API is served with (PEM), when it is served over TLS.
    pub certificate_pem: Option<String>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The API's base URL, e.g. `http://127.0.0.1:6443`; on this machine when the
    /// cluster listens on every address.
    pub fn url(&self) -> String {
        let scheme = if self.certificate_pem.is_some() { "https" } else { "http" };
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
        }
        format!("{scheme}://{addr}")
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
    /// A non-loopback address was asked for without allowing remote access.
    #[error(
        "refusing to listen on {0}: it is not a loopback address, and the API has no authentication but a bearer token; allow remote access explicitly (--allow-remote) to get one"
    )]
    RemoteNotAllowed(SocketAddr),
    /// TLS (for a non-loopback address) could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Starts a practice cluster: builds it, loads the scenario (unless `empty`) and the given
/// manifests, serves the API and runs the controllers in the background.
pub async fn start(options: Options) -> Result<Running, StartError> {
    let loopback = options.listen.ip().is_loopback();
    if !loopback && !options.allow_remote {
        return Err(StartError::RemoteNotAllowed(options.listen));
    }
    let token = (!loopback).then(new_token);
    let identity = if loopback { None } else { Some(Identity::generate(options.listen.ip())?) };
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
    let listener = TcpListener::bind(options.listen).await.map_err(|source| StartError::Bind { addr: options.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: options.listen, source })?;
    let (stop, stopped) = watch::channel(false);

    let router = crate::api::router(cluster.clone(), Guard { loopback, token: token.clone() })
        .layer(axum::middleware::from_fn_with_state(cluster.clone(), persist_before_answering));
    let server = match &identity {
        // Without TCP_NODELAY the last part of each large answer (a list page) waits for
        // the client's delayed ACK: 40 ms per page, most of `kubectl get pods` at 10,000.
        None => tokio::spawn(serve(axum::serve::ListenerExt::tap_io(listener, no_delay), router, stopped.clone())),
        Some(identity) => {
            let tls = TlsListener::new(listener, identity).map_err(|source| StartError::Bind { addr: options.listen, source })?;
            tokio::spawn(serve(tls, router, stopped.clone()))
        }
    };
    let controllers = tokio::spawn(run_controllers(cluster.clone(), stopped));
    let certificate_pem = identity.map(|i| i.certificate_pem);
    Ok(Running { addr, cluster, resumed, token, certificate_pem, stop, tasks: vec![server, controllers] })
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

/// Sends each write at once (TCP_NODELAY): answers and watch chunks are written whole.
pub(crate) fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

/// Serves the API on `listener` until `stopped`.
async fn serve<L>(listener: L, router: axum::Router, mut stopped: watch::Receiver<bool>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "practice cluster API server stopped");
    }
}

/// A fresh random bearer token (244 random bits, hex).
fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// How long the controllers pause after a pass panicked, before starting again.
const RESTART_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the controllers whenever an object changes or something falls due.
async fn run_controllers(cluster: Arc<Cluster>, stopped: watch::Receiver<bool>) {
    supervise(cluster, stopped, |c: &Cluster| c.settle()).await;
}

/// Runs `pass` whenever an object changes or something falls due, each time on the
/// blocking pool so that a long pass never holds up the API's async workers. A pass
/// that panics is logged and, after a pause, the controllers start again: they keep
/// no state between passes but what is in the store, so nothing is lost but the pass.
async fn supervise<F>(cluster: Arc<Cluster>, mut stopped: watch::Receiver<bool>, pass: F)
where
    F: Fn(&Cluster) -> Option<Timestamp> + Clone + Send + 'static,
{
    loop {
        let (c, p) = (cluster.clone(), pass.clone());
        let wait = match tokio::task::spawn_blocking(move || {
            let next = p(&c);
            // What the controllers did reaches the disk too, not only what clients wrote.
            if c.store.shared.journal().is_some_and(|j| j.dirty()) {
                let _ = c.persist();
            }
            next
        })
        .await
        {
            Ok(next) => until_due(&cluster, next),
            Err(e) => {
                tracing::error!(error = %e, "a controller panicked; restarting the controllers");
                tokio::select! {
                    _ = tokio::time::sleep(RESTART_PAUSE) => continue,
                    _ = stopped.wait_for(|s| *s) => return,
                }
            }
        };
        tokio::select! {
            _ = cluster.store.shared.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

/// How long to sleep before `next` falls due (a manual clock only moves when told).
fn until_due(cluster: &Cluster, next: Option<Timestamp>) -> std::time::Duration {
    let wait = match next {
        Some(due) if !cluster.clock.is_manual() => {
            let d = due.duration_since(cluster.clock.now());
            d.clamp(SignedDuration::from_millis(5), SignedDuration::from_secs(60))
        }
        _ => SignedDuration::from_secs(60),
    };
    std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_controller_panic_is_logged_and_the_controllers_start_again() {
        let cluster = Cluster::new(Config::default(), Clock::manual(Timestamp::UNIX_EPOCH));
        let (stop, stopped) = watch::channel(false);
        let (passes, mut ran) = tokio::sync::mpsc::unbounded_channel();
        let count = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(supervise(cluster.clone(), stopped, move |c: &Cluster| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let _ = passes.send(n);
            assert_ne!(n, 0, "a bug in a controller");
            c.settle()
        }));
        assert_eq!(ran.recv().await, Some(0), "the first pass ran (and panicked)");
        assert_eq!(ran.recv().await, Some(1), "the controllers ran again after the panic");
        let _ = stop.send(true);
        task.await.expect("the supervisor ends when stopped, not with the panic");
    }
}
