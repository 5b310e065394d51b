//! The dashboard's [`Backend`]: snapshots from the reflector stores, and the buttons
//! (delete pod, switch ordering policy, scale, visit, and on the practice cluster
//! break/heal), each limited to the StatefulSet on screen and reported with its
//! kubectl equivalent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app::backend::{ActionResult, Backend};
use app::error::ActionError;
use app::model::{ActionReport, Snapshot};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde::{Deserialize, Serialize};

use crate::mapping::{self, Context, belongs_to};
use crate::validate;
use crate::visits::{self, Counts, Reader};
use crate::watch::{Health, Stores};

/// How long the policy toggle waits for the old StatefulSet to be gone.
const DELETE_WAIT: Duration = Duration::from_secs(30);

/// Why a button press failed, on the server side; [`ActionError`] is what the page and
/// scripts receive (see the `From` impl for which status each gets).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, refused before anything was sent anywhere.
    #[error(transparent)]
    Refused(#[from] ActionError),
    /// The StatefulSet is not there.
    #[error("StatefulSet {0} does not exist in namespace {1}")]
    NoStatefulSet(String, String),
    /// The pod is not one of the StatefulSet's.
    #[error("{pod} is not a pod of StatefulSet {statefulset}: only pods of the StatefulSet on screen can be deleted")]
    NotOurs {
        /// The pod asked for.
        pod: String,
        /// The StatefulSet on screen.
        statefulset: String,
    },
    /// The pod cannot be visited now.
    #[error("{pod} cannot be visited now: {why}")]
    NotRunning {
        /// The pod asked for.
        pod: String,
        /// Why, in words.
        why: String,
    },
    /// Break/heal asked of a cluster whose apps do not read the practice annotations.
    #[error("break and heal exist only on the practice cluster: on this cluster the app does not read the stslab.dev annotations")]
    NotPractice,
    /// Another switch or scale is running.
    #[error("another change to {0} is still in progress; try again when it has finished")]
    Busy(String),
    /// The policy is already the one asked for.
    #[error("{0} already uses {1}")]
    AlreadyThat(String, String),
    /// The cluster said no, or could not be reached.
    #[error("{0}")]
    Cluster(Box<kube::Error>),
    /// The old StatefulSet did not go away in time.
    #[error("{0} was not deleted within {1}s; nothing else was changed")]
    DeleteTimeout(String, u64),
    /// Saving the spec failed, so nothing was deleted.
    #[error("could not save the spec before deleting, so nothing was changed: {0}")]
    Save(#[source] std::io::Error),
    /// The new StatefulSet could not be created; the old one was restored.
    #[error("could not create {name} with {policy} ({cause}); restored it with {from}, pods untouched")]
    RolledBack {
        /// The StatefulSet.
        name: String,
        /// The policy asked for.
        policy: String,
        /// The policy it still has.
        from: String,
        /// Why the create failed.
        cause: Box<kube::Error>,
    },
    /// Neither the new nor the old StatefulSet could be created.
    #[error(
        "could not create {name} with {policy} ({cause}) nor restore it ({restore}). Its pods keep running; the spec is saved in {saved} and stslab restores it at its next start"
    )]
    Stranded {
        /// The StatefulSet.
        name: String,
        /// The policy asked for.
        policy: String,
        /// Why the create failed.
        cause: Box<kube::Error>,
        /// Why the restore failed.
        restore: Box<kube::Error>,
        /// Where the spec is saved.
        saved: String,
    },
    /// The switch's task ended without an answer (a bug or a shutdown).
    #[error("the policy switch stopped unexpectedly: {0}")]
    Task(#[source] tokio::task::JoinError),
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::Cluster(Box::new(e))
    }
}

/// The status a cluster failure deserves: the cluster's own 4xx where it judged the
/// request, 502 where it refused otherwise, 503 where it could not be reached.
fn cluster_error(e: &kube::Error, words: String) -> ActionError {
    match e {
        kube::Error::Api(status) => match status.code {
            404 => ActionError::NotFound(words),
            409 => ActionError::Conflict(words),
            400 | 422 => ActionError::Invalid(words),
            _ => ActionError::Cluster(words),
        },
        _ => ActionError::Unavailable(format!("the cluster could not be reached: {words}")),
    }
}

impl From<Error> for ActionError {
    fn from(e: Error) -> Self {
        let words = e.to_string();
        match e {
            Error::Refused(a) => a,
            Error::NoStatefulSet(..) => ActionError::NotFound(words),
            Error::NotOurs { .. } | Error::NotPractice => ActionError::Forbidden(words),
            Error::NotRunning { .. } => ActionError::Conflict(words),
            Error::Busy(_) | Error::AlreadyThat(..) => ActionError::Conflict(words),
            Error::Cluster(ref k) => cluster_error(k, format!("the cluster refused: {words}")),
            Error::RolledBack { ref cause, .. } => cluster_error(cause, words),
            Error::DeleteTimeout(..) | Error::Stranded { .. } => ActionError::Unavailable(words),
            Error::Save(_) | Error::Task(_) => ActionError::Internal(words),
        }
    }
}

/// What the toggle writes to disk before deleting: enough to finish or undo the job.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedToggle {
    /// The cluster it was saved from, in words (only that cluster is repaired with it).
    pub cluster: String,
    /// The UID of the StatefulSet that was deleted.
    pub original_uid: Option<String>,
    /// The StatefulSet as it was (cleaned for re-creation).
    pub original: StatefulSet,
    /// The StatefulSet to create.
    pub target: StatefulSet,
}

/// The dashboard's backend.
pub struct Dashboard {
    /// Cluster client.
    pub client: Client,
    /// Reflector stores.
    pub stores: Stores,
    /// Visit counts.
    pub counts: Arc<Counts>,
    /// Watch health and change counter.
    pub health: Health,
    /// Namespace, domain, read-only, cluster description.
    pub ctx: Context,
    /// `--statefulset`.
    pub default_statefulset: Option<String>,
    /// Where the toggle saves specs.
    pub state_dir: PathBuf,
    /// Reads a pod's count at once after a visit (the poller reads it later otherwise).
    reader: Option<Reader>,
    changing: Arc<tokio::sync::Mutex<()>>,
}

/// The StatefulSet as it should be created again: identity and status dropped.
pub fn for_recreation(sts: &StatefulSet, policy: Option<&str>) -> StatefulSet {
    let m = &sts.metadata;
    let mut spec = sts.spec.clone();
    if let (Some(spec), Some(p)) = (spec.as_mut(), policy) {
        spec.pod_management_policy = Some(p.to_owned());
    }
    StatefulSet {
        metadata: kube::api::ObjectMeta {
            name: m.name.clone(),
            namespace: m.namespace.clone(),
            labels: m.labels.clone(),
            annotations: m.annotations.clone(),
            ..Default::default()
        },
        spec,
        status: None,
    }
}

/// Writes `data` to `path` so that a crash leaves either the old file or the new one.
fn write_durably(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Dashboard {
    /// A backend over the given stores.
    pub fn new(
        client: Client,
        stores: Stores,
        counts: Arc<Counts>,
        health: Health,
        ctx: Context,
        default_statefulset: Option<String>,
        state_dir: PathBuf,
    ) -> Self {
        Dashboard { client, stores, counts, health, ctx, default_statefulset, state_dir, reader: None, changing: Arc::new(tokio::sync::Mutex::new(())) }
    }

    /// Reads a visited pod's count with `reader` straight after the visit.
    pub fn reading_visits_with(mut self, reader: Reader) -> Self {
        self.reader = Some(reader);
        self
    }

    fn statefulsets(&self) -> Api<StatefulSet> {
        Api::namespaced(self.client.clone(), &self.ctx.namespace)
    }

    /// The saved spec's file: named only from validated names, inside the state directory.
    fn saved_path(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{}.{name}.json", self.ctx.namespace))
    }

    fn check_writable(&self) -> Result<(), Error> {
        if self.ctx.read_only {
            return Err(ActionError::Forbidden("the dashboard is read-only (--read-only): nobody can change the lab from it".into()).into());
        }
        Ok(())
    }

    /// One change (switch or scale) at a time: a second one is refused, not queued.
    fn one_at_a_time(&self, statefulset: &str) -> Result<tokio::sync::OwnedMutexGuard<()>, Error> {
        self.changing.clone().try_lock_owned().map_err(|_| Error::Busy(statefulset.to_owned()))
    }

    fn on_screen(&self, name: &str) -> Result<Arc<StatefulSet>, Error> {
        self.stores
            .statefulsets
            .state()
            .into_iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
            .ok_or_else(|| Error::NoStatefulSet(name.to_owned(), self.ctx.namespace.clone()))
    }

    /// Pod `pod` of StatefulSet `statefulset`, both names validated; any other pod is refused.
    fn our_pod(&self, statefulset: &str, pod: &str) -> Result<(Arc<StatefulSet>, Arc<Pod>), Error> {
        validate::object_name("StatefulSet", statefulset)?;
        validate::object_name("pod", pod)?;
        let sts = self.on_screen(statefulset)?;
        let not_ours = || Error::NotOurs { pod: pod.to_owned(), statefulset: statefulset.to_owned() };
        let target = self.stores.pods.state().into_iter().find(|p| p.metadata.name.as_deref() == Some(pod)).ok_or_else(not_ours)?;
        if !belongs_to(&target, &sts) {
            return Err(not_ours());
        }
        Ok((sts, target))
    }

    /// Deletes one pod of `statefulset`.
    pub async fn delete_pod(&self, statefulset: &str, pod: &str) -> Result<ActionReport, Error> {
        self.check_writable()?;
        let (sts, target) = self.our_pod(statefulset, pod)?;
        // Preconditions make sure we delete the pod that was on screen, not a newer one.
        let params = DeleteParams {
            preconditions: target.metadata.uid.clone().map(|uid| kube::api::Preconditions { uid: Some(uid), resource_version: None }),
            ..Default::default()
        };
        Api::<Pod>::namespaced(self.client.clone(), &self.ctx.namespace).delete(pod, &params).await?;
        let claims: Vec<String> = sts
            .spec
            .iter()
            .flat_map(|s| s.volume_claim_templates.iter().flatten())
            .filter_map(|t| t.metadata.name.as_ref().map(|t| format!("{t}-{pod}")))
            .collect();
        let claims = if claims.is_empty() { String::new() } else { format!(" and claim {}", claims.join(", ")) };
        Ok(ActionReport {
            message: format!("Deleted pod {pod}. It is Terminating; the StatefulSet controller creates {pod} again with the same name{claims}."),
            kubectl: vec![format!("kubectl delete pod {pod} -n {}", self.ctx.namespace)],
        })
    }

    /// Sends one `GET /` to `pod` through the API server's pod proxy, as a visitor would,
    /// then reads its count at once so the page shows the rise.
    pub async fn visit(&self, statefulset: &str, pod: &str) -> Result<ActionReport, Error> {
        self.check_writable()?;
        let (_, target) = self.our_pod(statefulset, pod)?;
        if let Some(why) = mapping::pods::not_running(&target) {
            return Err(Error::NotRunning { pod: pod.to_owned(), why });
        }
        let ns = &self.ctx.namespace;
        let path = format!("/api/v1/namespaces/{ns}/pods/{pod}:{}/proxy/", visits::app_port(&target));
        let request = axum::http::Request::get(&path).body(Vec::new()).map_err(|e| Error::Refused(ActionError::Internal(e.to_string())))?;
        let answer = self.client.request_text(request).await?;
        let mut kubectl = vec![format!("kubectl get --raw {path}")];
        let count = match &self.reader {
            Some(reader) => {
                let started = std::time::Instant::now();
                let read = reader.read(&target).await;
                if self.counts.record(pod, target.metadata.uid.as_deref().unwrap_or_default(), started, read.clone()) {
                    self.health.bump();
                }
                kubectl.push(reader.kubectl(pod));
                match read {
                    Ok(n) => format!(" Its count is now {n}."),
                    Err(e) => format!(" Its count could not be read: {e}."),
                }
            }
            None => String::new(),
        };
        Ok(ActionReport { message: format!("Visited {pod}, which answered {:?}.{count}", visits::quote(&answer)), kubectl })
    }

    /// Switches the practice cluster's fault `fault` on (`action` = `break`) or off
    /// (`heal`) for `pod`, through its annotation.
    pub async fn fault(&self, statefulset: &str, pod: &str, fault: &str, action: &str) -> Result<ActionReport, Error> {
        self.check_writable()?;
        let (name, annotation) = validate::fault(fault)?;
        let broken = validate::fault_action(action)?;
        self.our_pod(statefulset, pod)?;
        if !self.ctx.practice {
            return Err(Error::NotPractice);
        }
        let value = if broken { serde_json::Value::from("true") } else { serde_json::Value::Null };
        let patch = serde_json::json!({"metadata": {"annotations": {annotation: value}}});
        Api::<Pod>::namespaced(self.client.clone(), &self.ctx.namespace).patch(pod, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        let effect = match (name, broken) {
            ("readiness", true) => {
                "its readiness probe now fails: after failureThreshold failures in a row it is not Ready, leaves the Service's endpoints, and its DNS record is withdrawn."
            }
            ("readiness", false) => "its readiness probe passes again: it becomes Ready, returns to the endpoints, and DNS answers its name again.",
            ("liveness", true) => {
                "its liveness probe now fails: after failureThreshold failures the kubelet restarts its container, again and again with growing back-off."
            }
            ("liveness", false) => "its liveness probe passes again, so the restarts stop.",
            (_, true) => "its app now exits with code 1 after starting, so the pod goes into CrashLoopBackOff.",
            (_, false) => "its app keeps running from its next start.",
        };
        let verb = if broken { "Broke" } else { "Healed" };
        let kubectl = if broken { format!("{annotation}=true") } else { format!("{annotation}-") };
        Ok(ActionReport {
            message: format!("{verb} the {name} of {pod}: {effect}"),
            kubectl: vec![format!("kubectl annotate pod {pod} -n {} --overwrite {kubectl}", self.ctx.namespace)],
        })
    }

    /// Sets the replica count of `statefulset` (`replicas` as the request sent it).
    pub async fn scale(&self, statefulset: &str, replicas: &str) -> Result<ActionReport, Error> {
        self.check_writable()?;
        validate::object_name("StatefulSet", statefulset)?;
        let replicas = validate::replicas(replicas)?;
        // The lock first: during a policy switch the StatefulSet is briefly absent, and
        // the truth to tell is that the switch is still running.
        let _one_at_a_time = self.one_at_a_time(statefulset)?;
        let sts = self.on_screen(statefulset)?;
        let spec = sts.spec.as_ref();
        let from = spec.and_then(|s| s.replicas).unwrap_or(1);
        let policy = spec.and_then(|s| s.pod_management_policy.clone()).unwrap_or_else(|| "OrderedReady".into());
        let patch = serde_json::json!({"spec": {"replicas": replicas}});
        self.statefulsets().patch(statefulset, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        let how = match (policy.as_str(), replicas > from) {
            ("OrderedReady", true) => "OrderedReady: new pods start one at a time, each after the previous one is Ready.",
            ("OrderedReady", false) => "OrderedReady: pods go from the highest ordinal down, one at a time. Their claims stay.",
            (_, true) => "Parallel: all new pods start at once.",
            (_, false) => "Parallel: the removed pods terminate at once. Their claims stay.",
        };
        Ok(ActionReport {
            message: format!("Scaled {statefulset} from {from} to {replicas} replicas. {how}"),
            kubectl: vec![format!("kubectl scale statefulset {statefulset} -n {} --replicas={replicas}", self.ctx.namespace)],
        })
    }

    /// Switches the pod management policy by orphan-delete and re-create, saving the
    /// spec durably first and rolling back if the new StatefulSet cannot be created.
    /// The switch runs in its own task: once the delete is sent it finishes even if
    /// the browser that asked goes away.
    pub async fn set_policy(self: &Arc<Self>, statefulset: &str, policy: &str) -> Result<ActionReport, Error> {
        self.check_writable()?;
        validate::object_name("StatefulSet", statefulset)?;
        let policy = validate::policy(policy)?.to_owned();
        let guard = self.one_at_a_time(statefulset)?;
        let (this, name) = (self.clone(), statefulset.to_owned());
        let job = tokio::spawn(async move {
            let _guard = guard;
            this.switch(&name, &policy).await
        });
        job.await.map_err(Error::Task)?
    }

    async fn switch(&self, statefulset: &str, policy: &str) -> Result<ActionReport, Error> {
        let api = self.statefulsets();
        let current = api.get_opt(statefulset).await?.ok_or_else(|| Error::NoStatefulSet(statefulset.to_owned(), self.ctx.namespace.clone()))?;
        let from = current.spec.as_ref().and_then(|s| s.pod_management_policy.clone()).unwrap_or_else(|| "OrderedReady".into());
        if from == policy {
            return Err(Error::AlreadyThat(statefulset.to_owned(), policy.to_owned()));
        }
        let old_uid = current.metadata.uid.clone();
        let saved = SavedToggle {
            cluster: self.ctx.cluster.clone(),
            original_uid: old_uid.clone(),
            original: for_recreation(&current, None),
            target: for_recreation(&current, Some(policy)),
        };
        let path = self.saved_path(statefulset);
        let json = serde_json::to_vec_pretty(&saved).map_err(|e| Error::Save(std::io::Error::other(e)))?;
        write_durably(&path, &json).map_err(Error::Save)?;

        let orphan = DeleteParams { propagation_policy: Some(kube::api::PropagationPolicy::Orphan), ..Default::default() };
        if let Err(e) = api.delete(statefulset, &orphan).await {
            remove_saved(&path);
            return Err(e.into());
        }
        self.wait_gone(&api, statefulset, old_uid.as_deref()).await?;
        let ns = &self.ctx.namespace;
        let kubectl = vec![
            format!("kubectl get statefulset {statefulset} -n {ns} -o yaml > {statefulset}.yaml"),
            format!("kubectl delete statefulset {statefulset} -n {ns} --cascade=orphan"),
            format!("# edit {statefulset}.yaml: set spec.podManagementPolicy: {policy}; remove status, uid, resourceVersion"),
            format!("kubectl apply -f {statefulset}.yaml"),
        ];
        match api.create(&PostParams::default(), &saved.target).await {
            Ok(_) => {
                remove_saved(&path);
                Ok(ActionReport {
                    message: format!(
                        "Switched {statefulset} from {from} to {policy}: deleted it with --cascade=orphan and created it again. Its pods and claims were adopted, not restarted."
                    ),
                    kubectl,
                })
            }
            Err(cause) => match api.create(&PostParams::default(), &saved.original).await {
                Ok(_) => {
                    remove_saved(&path);
                    Err(Error::RolledBack { name: statefulset.to_owned(), policy: policy.to_owned(), from, cause: Box::new(cause) })
                }
                Err(restore) => Err(Error::Stranded {
                    name: statefulset.to_owned(),
                    policy: policy.to_owned(),
                    cause: Box::new(cause),
                    restore: Box::new(restore),
                    saved: path.display().to_string(),
                }),
            },
        }
    }

    async fn wait_gone(&self, api: &Api<StatefulSet>, name: &str, uid: Option<&str>) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + DELETE_WAIT;
        loop {
            match api.get_opt(name).await? {
                None => return Ok(()),
                Some(s) if s.metadata.uid.as_deref() != uid => return Ok(()),
                Some(_) if tokio::time::Instant::now() > deadline => return Err(Error::DeleteTimeout(name.to_owned(), DELETE_WAIT.as_secs())),
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Finishes policy switches a crash interrupted, on the cluster they were saved
    /// from only: a saved spec is created when its StatefulSet is absent, or is still
    /// the old one being deleted; when a newer StatefulSet exists the file is done with.
    /// Returns what was repaired.
    pub async fn repair(&self) -> Vec<String> {
        let mut repaired = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.state_dir) else { return repaired };
        let prefix = format!("{}.", self.ctx.namespace);
        for entry in entries.flatten() {
            let path = entry.path();
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_owned();
            if !file.starts_with(&prefix) || !file.ends_with(".json") {
                continue;
            }
            let saved: SavedToggle = match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "unreadable saved spec left in place");
                    continue;
                }
            };
            if saved.cluster != self.ctx.cluster {
                continue;
            }
            let name = saved.target.metadata.name.clone().unwrap_or_default();
            let api = self.statefulsets();
            let current = match api.get_opt(&name).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "could not check for interrupted policy switches");
                    continue;
                }
            };
            if let Some(s) = &current {
                if s.metadata.uid != saved.original_uid {
                    remove_saved(&path);
                    continue;
                }
                if let Err(e) = self.wait_gone(&api, &name, saved.original_uid.as_deref()).await {
                    tracing::error!(statefulset = %name, error = %e, "the old StatefulSet is still there; the interrupted switch is left for the next start");
                    continue;
                }
            }
            match api.create(&PostParams::default(), &saved.target).await {
                Ok(_) => {
                    remove_saved(&path);
                    repaired.push(format!("re-created StatefulSet {name} from {} after an interrupted policy switch", path.display()));
                }
                Err(e) => tracing::error!(statefulset = %name, error = %e, "could not repair an interrupted policy switch"),
            }
        }
        repaired
    }
}

fn remove_saved(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(file = %path.display(), error = %e, "could not remove a saved spec");
    }
}

/// The backend as the UI holds it: a shared handle to the [`Dashboard`].
#[derive(Clone)]
pub struct Handle(pub Arc<Dashboard>);

impl Backend for Handle {
    fn snapshot(&self, statefulset: Option<String>) -> Result<Snapshot, ActionError> {
        let d = &self.0;
        if let Some(name) = &statefulset {
            validate::object_name("StatefulSet", name)?;
        }
        let chosen = statefulset.or_else(|| d.default_statefulset.clone());
        let revision = *d.health.subscribe().borrow();
        Ok(mapping::snapshot(&d.stores, &d.counts.all(), chosen.as_deref(), d.health.connection(), revision, &d.ctx))
    }

    fn delete_pod(&self, statefulset: String, pod: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move { this.delete_pod(&statefulset, &pod).await.map_err(ActionError::from) })
    }

    fn set_policy(&self, statefulset: String, policy: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move { this.set_policy(&statefulset, &policy).await.map_err(ActionError::from) })
    }

    fn scale(&self, statefulset: String, replicas: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move { this.scale(&statefulset, &replicas).await.map_err(ActionError::from) })
    }

    fn visit(&self, statefulset: String, pod: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move { this.visit(&statefulset, &pod).await.map_err(ActionError::from) })
    }

    fn fault(&self, statefulset: String, pod: String, fault: String, action: String) -> ActionResult {
        let this = self.0.clone();
        Box::pin(async move { this.fault(&statefulset, &pod, &fault, &action).await.map_err(ActionError::from) })
    }
}
