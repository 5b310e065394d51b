//! The dashboard's [`Backend`]: snapshots from the reflector stores, and the three
//! buttons (delete pod, switch ordering policy, scale), each limited to the
//! StatefulSet on screen and reported with its kubectl equivalent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app::backend::{Backend, BoxFuture};
use app::model::{ActionReport, Snapshot};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde::{Deserialize, Serialize};

use crate::mapping::{self, Context, belongs_to};
use crate::visits::Counts;
use crate::watch::{Health, Stores};

/// The most replicas the scale buttons allow (a classroom lab, not a load test).
pub const MAX_REPLICAS: i32 = 20;
/// How long the policy toggle waits for the old StatefulSet to be gone.
const DELETE_WAIT: Duration = Duration::from_secs(30);

/// Errors of the buttons, worded for the person who pressed them.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// `--read-only`.
    #[error("the dashboard is read-only (--read-only): it makes no changes")]
    ReadOnly,
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
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The cluster said no.
    #[error("the cluster refused: {0}")]
    Cluster(#[from] kube::Error),
    /// Saving the spec failed, so nothing was deleted.
    #[error("could not save the spec before deleting, so nothing was changed: {0}")]
    Save(#[source] std::io::Error),
}

/// What the toggle writes to disk before deleting: enough to finish or undo the job.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedToggle {
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
    toggle: tokio::sync::Mutex<()>,
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
    pub fn new(client: Client, stores: Stores, counts: Arc<Counts>, health: Health, ctx: Context, default_statefulset: Option<String>, state_dir: PathBuf) -> Self {
        Dashboard { client, stores, counts, health, ctx, default_statefulset, state_dir, toggle: tokio::sync::Mutex::new(()) }
    }

    fn statefulsets(&self) -> Api<StatefulSet> {
        Api::namespaced(self.client.clone(), &self.ctx.namespace)
    }

    fn saved_path(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{}.{name}.json", self.ctx.namespace))
    }

    fn check_writable(&self) -> Result<(), ActionError> {
        if self.ctx.read_only { Err(ActionError::ReadOnly) } else { Ok(()) }
    }

    fn on_screen(&self, name: &str) -> Result<Arc<StatefulSet>, ActionError> {
        self.stores
            .statefulsets
            .state()
            .into_iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
            .ok_or_else(|| ActionError::NoStatefulSet(name.to_owned(), self.ctx.namespace.clone()))
    }

    /// Deletes one pod of `statefulset`.
    pub async fn delete_pod(&self, statefulset: &str, pod: &str) -> Result<ActionReport, ActionError> {
        self.check_writable()?;
        let sts = self.on_screen(statefulset)?;
        let not_ours = || ActionError::NotOurs { pod: pod.to_owned(), statefulset: statefulset.to_owned() };
        let target = self
            .stores
            .pods
            .state()
            .into_iter()
            .find(|p| p.metadata.name.as_deref() == Some(pod))
            .ok_or_else(not_ours)?;
        if !belongs_to(&target, &sts) {
            return Err(not_ours());
        }
        // Preconditions make sure we delete the pod that was on screen, not a newer one.
        let params = DeleteParams { preconditions: target.metadata.uid.clone().map(|uid| kube::api::Preconditions { uid: Some(uid), resource_version: None }), ..Default::default() };
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

    /// Sets the replica count of `statefulset`.
    pub async fn scale(&self, statefulset: &str, replicas: i32) -> Result<ActionReport, ActionError> {
        self.check_writable()?;
        if !(0..=MAX_REPLICAS).contains(&replicas) {
            return Err(ActionError::Invalid(format!("replicas must be between 0 and {MAX_REPLICAS}, not {replicas}")));
        }
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
    pub async fn set_policy(&self, statefulset: &str, policy: &str) -> Result<ActionReport, ActionError> {
        self.check_writable()?;
        if !matches!(policy, "OrderedReady" | "Parallel") {
            return Err(ActionError::Invalid(format!("podManagementPolicy must be OrderedReady or Parallel, not {policy:?}")));
        }
        let _one_at_a_time = self.toggle.lock().await;
        let api = self.statefulsets();
        let current = api.get_opt(statefulset).await?.ok_or_else(|| ActionError::NoStatefulSet(statefulset.to_owned(), self.ctx.namespace.clone()))?;
        let from = current.spec.as_ref().and_then(|s| s.pod_management_policy.clone()).unwrap_or_else(|| "OrderedReady".into());
        if from == policy {
            return Err(ActionError::Invalid(format!("{statefulset} already uses {policy}")));
        }
        let saved = SavedToggle { original: for_recreation(&current, None), target: for_recreation(&current, Some(policy)) };
        let path = self.saved_path(statefulset);
        let json = serde_json::to_vec_pretty(&saved).map_err(|e| ActionError::Save(std::io::Error::other(e)))?;
        write_durably(&path, &json).map_err(ActionError::Save)?;

        let old_uid = current.metadata.uid.clone();
        let orphan = DeleteParams { propagation_policy: Some(kube::api::PropagationPolicy::Orphan), ..Default::default() };
        if let Err(e) = api.delete(statefulset, &orphan).await {
            let _ = std::fs::remove_file(&path);
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
                let _ = std::fs::remove_file(&path);
                Ok(ActionReport {
                    message: format!(
                        "Switched {statefulset} from {from} to {policy}: deleted it with --cascade=orphan and created it again. Its pods and claims were adopted, not restarted."
                    ),
                    kubectl,
                })
            }
            Err(create_err) => match api.create(&PostParams::default(), &saved.original).await {
                Ok(_) => {
                    let _ = std::fs::remove_file(&path);
                    Err(ActionError::Invalid(format!(
                        "could not create {statefulset} with {policy} ({create_err}); restored it with {from}, pods untouched"
                    )))
                }
                Err(restore_err) => Err(ActionError::Invalid(format!(
                    "could not create {statefulset} with {policy} ({create_err}) nor restore it ({restore_err}). Its pods keep running; the spec is saved in {} and stslab restores it at its next start",
                    path.display()
                ))),
            },
        }
    }

    async fn wait_gone(&self, api: &Api<StatefulSet>, name: &str, uid: Option<&str>) -> Result<(), ActionError> {
        let deadline = tokio::time::Instant::now() + DELETE_WAIT;
        loop {
            match api.get_opt(name).await? {
                None => return Ok(()),
                Some(s) if s.metadata.uid.as_deref() != uid => return Ok(()),
                Some(_) if tokio::time::Instant::now() > deadline => {
                    return Err(ActionError::Invalid(format!("{name} was not deleted within {}s; nothing else was changed", DELETE_WAIT.as_secs())));
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Finishes policy switches a crash interrupted: a saved spec whose StatefulSet is
    /// missing is created; returns what was repaired.
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
            let name = saved.target.metadata.name.clone().unwrap_or_default();
            let api = self.statefulsets();
            match api.get_opt(&name).await {
                Ok(Some(_)) => {
                    let _ = std::fs::remove_file(&path);
                }
                Ok(None) => match api.create(&PostParams::default(), &saved.target).await {
                    Ok(_) => {
                        let _ = std::fs::remove_file(&path);
                        repaired.push(format!("re-created StatefulSet {name} from {} after an interrupted policy switch", path.display()));
                    }
                    Err(e) => tracing::error!(statefulset = %name, error = %e, "could not repair an interrupted policy switch"),
                },
                Err(e) => tracing::error!(error = %e, "could not check for interrupted policy switches"),
            }
        }
        repaired
    }
}

/// The backend as the UI holds it: a shared handle to the [`Dashboard`].
#[derive(Clone)]
pub struct Handle(pub Arc<Dashboard>);

impl Backend for Handle {
    fn snapshot(&self, statefulset: Option<String>) -> Snapshot {
        let d = &self.0;
        let chosen = statefulset.or_else(|| d.default_statefulset.clone());
        let revision = *d.health.subscribe().borrow();
        mapping::snapshot(&d.stores, &d.counts.all(), chosen.as_deref(), d.health.connection(), revision, &d.ctx, jiff::Timestamp::now())
    }

    fn delete_pod(&self, statefulset: String, pod: String) -> BoxFuture<Result<ActionReport, String>> {
        let this = self.0.clone();
        Box::pin(async move { this.delete_pod(&statefulset, &pod).await.map_err(|e| e.to_string()) })
    }

    fn set_policy(&self, statefulset: String, policy: String) -> BoxFuture<Result<ActionReport, String>> {
        let this = self.0.clone();
        Box::pin(async move { this.set_policy(&statefulset, &policy).await.map_err(|e| e.to_string()) })
    }

    fn scale(&self, statefulset: String, replicas: i32) -> BoxFuture<Result<ActionReport, String>> {
        let this = self.0.clone();
        Box::pin(async move { this.scale(&statefulset, replicas).await.map_err(|e| e.to_string()) })
    }
}
