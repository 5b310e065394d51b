//! The StatefulSet controller: where the practice cluster decides to create `web-2`,
//! delete it again on scale-down, or replace it during a rolling update.
//!
//! It follows Kubernetes' `pkg/controller/statefulset` pass by pass:
//!
//! 1. claim pods: adopt orphans named `<sts>-<ordinal>` that match the selector (this is
//!    how a StatefulSet created after `kubectl delete --cascade=orphan` takes over the
//!    running pods), release owned pods that no longer match; likewise ControllerRevisions;
//! 2. revisions: the update revision is the ControllerRevision `<sts>-<hash>` holding the
//!    current pod template, the current revision the one named in `status.currentRevision`;
//! 3. replicas: ordinals `start .. start+replicas` are replicas, others are condemned.
//!    Missing replicas are created (claims first, from `volumeClaimTemplates`), failed
//!    ones deleted for re-creation, condemned ones deleted from the highest ordinal.
//!    `OrderedReady` stops at the first replica that is missing, terminating or not
//!    Running+Ready (and available for `minReadySeconds`); `Parallel` does not wait,
//!    working in batches of 1, 2, 4, ... that stop after a batch with a failure;
//! 4. rolling update: once nothing above stopped the pass, the highest ordinal at or above
//!    the partition whose `controller-revision-hash` is not the update revision is deleted
//!    (and re-created at the update revision by a later pass), one at a time;
//! 5. status, and pruning of revisions beyond `revisionHistoryLimit` that no pod uses.
//!
//! The controller relies only on what a pod's status says (phase, the Ready condition,
//! `deletionTimestamp`), never on the kubelet's internals.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodSpec, PodTemplateSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use super::{Ctx, Due};
use crate::Cluster;
use crate::events::{self, Severity, Source};
use crate::kinds::{name_of, namespace_of};
use crate::ops::{self, DeleteOptions};
use crate::store::{Key, Store, StoreError};

/// Pod label holding the pod's own name, so a Service can select one pod.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Pod label holding the pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// Pod label naming the ControllerRevision the pod was created from.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// ControllerRevision label holding the template hash.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// The alphabet Kubernetes uses for generated name parts (no vowels, no look-alikes).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// One pass over the StatefulSets whose objects changed, or that fell due or failed
/// last time (see [`SetQueue`](super::set_queue::SetQueue)); every set on the first pass.
pub fn reconcile(ctx: &Ctx) -> Option<Timestamp> {
    let store = &ctx.cluster.store;
    let mut queue = crate::controllers::queue::lock(&ctx.cluster.set_queue);
    let work: Vec<Key> = queue.take(store, ctx.now).into_iter().collect();
    // In (namespace, name) order, so each namespace is one run.
    for group in work.chunk_by(|a, b| a.0 == b.0) {
        let Some((ns, _)) = group.first() else { continue };
        let sets: Vec<(&Key, Option<Arc<StatefulSet>>)> = group.iter().map(|k| (k, store.statefulsets.get(&k.0, &k.1))).collect();
        let names: HashSet<&String> = sets.iter().filter(|(_, s)| s.is_some()).flat_map(|(k, _)| queue.members(k)).collect();
        let mut view = Namespace::load(store, ns, names.into_iter());
        for (key, sts) in sets {
            let Some(sts) = sts else {
                queue.due_at(key, None);
                continue;
            };
            let outcome = sync(ctx, &sts, &mut view);
            queue.due_at(key, outcome.due);
            if outcome.failed {
                queue.retry(key.clone());
            }
        }
    }
    queue.next_due()
}

/// The objects of one namespace a pass works on: the pods of the sets it syncs, read
/// once and kept up to date with the pass's own writes, and the ControllerRevisions.
#[derive(Debug, Default)]
struct Namespace {
    /// Pods by name.
    pods: HashMap<String, Arc<Pod>>,
    /// Pod names by the uid of their controller.
    by_controller: HashMap<String, Vec<String>>,
    /// Names of pods without a controller, by the StatefulSet name their name implies.
    orphans: HashMap<String, Vec<String>>,
    /// ControllerRevisions.
    revisions: Vec<Arc<ControllerRevision>>,
}

impl Namespace {
    fn load<'a>(store: &Store, ns: &str, pod_names: impl Iterator<Item = &'a String>) -> Self {
        let mut view = Namespace::default();
        let mut pods: Vec<Arc<Pod>> = pod_names.filter_map(|n| store.pods.get(ns, n)).collect();
        // In name order, as a list of the namespace would give them.
        pods.sort_by(|a, b| name_of(a.as_ref()).cmp(name_of(b.as_ref())));
        for pod in pods {
            let name = name_of(pod.as_ref()).to_owned();
            match controller_of(&pod.metadata) {
                Some(r) => view.by_controller.entry(r.uid.clone()).or_default().push(name.clone()),
                None => {
                    if let Some((parent, _)) = parent_and_ordinal(&name) {
                        view.orphans.entry(parent.to_owned()).or_default().push(name.clone());
                    }
                }
            }
            view.pods.insert(name, pod);
        }
        view.revisions = store.controller_revisions.list(Some(ns)).0;
        view
    }
}

/// The names of a set's `volumeClaimTemplates`.
pub(super) fn claim_template_names(sts: &StatefulSet) -> impl Iterator<Item = &str> {
    sts.spec.as_ref().and_then(|s| s.volume_claim_templates.as_deref()).unwrap_or_default().iter().map(name_of)
}

pub(super) fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().flatten().find(|r| r.controller == Some(true))
}

/// `web-12` → (`web`, 12). Only canonical ordinals (no sign, no leading zeros) count.
pub(super) fn parent_and_ordinal(name: &str) -> Option<(&str, i32)> {
    let (parent, digits) = name.rsplit_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    Some((parent, digits.parse().ok()?))
}

/// Whether `sel` is usable: not empty, with known operators.
fn selector_valid(sel: &LabelSelector) -> bool {
    let labels = sel.match_labels.as_ref().is_some_and(|l| !l.is_empty());
    let exprs = sel.match_expressions.as_deref().unwrap_or_default();
    (labels || !exprs.is_empty())
        && exprs.iter().all(|e| match e.operator.as_str() {
            "In" | "NotIn" => e.values.as_ref().is_some_and(|v| !v.is_empty()),
            "Exists" | "DoesNotExist" => e.values.as_ref().is_none_or(|v| v.is_empty()),
            _ => false,
        })
}

fn selector_matches(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k));
    sel.match_labels.iter().flatten().all(|(k, v)| get(k) == Some(v))
        && sel.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => get(&e.key).is_none_or(|v| !values.contains(v)),
                "Exists" => get(&e.key).is_some(),
                "DoesNotExist" => get(&e.key).is_none(),
                _ => false,
            }
        })
}

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// When the pod's Ready condition last became True, if it is True now.
fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let c = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")?;
    (c.status == "True").then(|| c.last_transition_time.as_ref().map(|t| t.0))
}

fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && ready_since(pod).is_some()
}

/// When a ready pod counts as available: `minReadySeconds` after it became ready.
fn available_at(pod: &Pod, min_ready: SignedDuration) -> Option<Timestamp> {
    let since = ready_since(pod)?;
    if min_ready.is_zero() {
        return Some(Timestamp::MIN);
    }
    since.and_then(|t| t.checked_add(min_ready).ok())
}

fn is_healthy(pod: &Pod) -> bool {
    is_running_and_ready(pod) && !is_terminating(pod)
}

fn revision_of(pod: &Pod) -> &str {
    pod.metadata.labels.as_ref().and_then(|l| l.get(REVISION_LABEL)).map_or("", String::as_str)
}

/// A controller reference from a dependent to `owner`.
fn controller_ref(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The ControllerRevision `data` for a template, as Kubernetes stores it: a strategic
/// merge patch that replaces the template.
fn revision_data(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(m) = t.as_object_mut() {
        m.insert("$patch".to_owned(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

/// The pod template a revision records.
fn template_of(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = revision.data.as_ref()?.0.pointer("/spec/template")?.clone();
    t.as_object_mut()?.remove("$patch");
    serde_json::from_value(t).ok()
}

/// A short, stable hash of a revision's data and the collision count, spelled like
/// Kubernetes' revision hashes: the decimal 32-bit FNV-1a value, each digit mapped into
/// the safe alphabet.
fn revision_hash(data: &Value, collision_count: i32) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let bytes = serde_json::to_vec(data).unwrap_or_default();
    for b in bytes.iter().chain(collision_count.to_string().as_bytes()) {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_string().bytes().map(|d| char::from(SAFE_ALPHABET[usize::from(d) % SAFE_ALPHABET.len()])).collect()
}

/// What a processing step tells the loop that runs it (Kubernetes' `runForAll`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Go on with the next pod.
    Continue,
    /// Stop here (only honoured for OrderedReady).
    Wait,
    /// Something failed: stop after this step (or batch).
    Failed,
}

/// Runs `step` for indices `0..n`: in order, stopping at the first `Wait` or `Failed`,
/// when `monotonic`; otherwise in slow-start batches of 1, 2, 4, ... that stop after a
/// batch in which a step failed. Returns whether the pass must end here.
fn run_for_all(n: usize, monotonic: bool, mut step: impl FnMut(usize) -> Step) -> bool {
    if monotonic {
        return (0..n).any(|i| step(i) != Step::Continue);
    }
    let (mut i, mut batch) = (0, 1);
    while i < n {
        let end = (i + batch).min(n);
        let failed = (i..end).fold(false, |failed, k| (step(k) == Step::Failed) | failed);
        if failed {
            return true;
        }
        i = end;
        batch *= 2;
    }
    false
}

/// The revision pods are created from, and its template.
#[derive(Clone, Debug)]
struct Revision {
    name: String,
    template: PodTemplateSpec,
}

/// One StatefulSet's pass.
struct SetSync<'a> {
    cluster: &'a Cluster,
    now: Timestamp,
    sts: &'a StatefulSet,
    ns: &'a str,
    name: &'a str,
    uid: &'a str,
    view: &'a mut Namespace,
    monotonic: bool,
    start: i32,
    replicas: i32,
    min_ready: SignedDuration,
    /// `persistentVolumeClaimRetentionPolicy.whenDeleted == Delete`.
    delete_claims_with_set: bool,
    /// `persistentVolumeClaimRetentionPolicy.whenScaled == Delete`.
    delete_claims_on_scale: bool,
    current: Revision,
    update: Revision,
    due: Due,
    /// A step failed: the set is synced again next pass.
    failed: bool,
}

/// What one set's sync leaves for later passes.
#[derive(Debug, Default)]
struct Outcome {
    /// When the set must be synced again (a pod becoming available).
    due: Option<Timestamp>,
    /// Something failed and must be retried.
    failed: bool,
}

fn sync(ctx: &Ctx, sts: &Arc<StatefulSet>, view: &mut Namespace) -> Outcome {
    let Some(spec) = sts.spec.as_ref() else { return Outcome::default() };
    if !selector_valid(&spec.selector) {
        return Outcome::default();
    }
    let Some(uid) = sts.metadata.uid.as_deref() else { return Outcome::default() };
    let (ns, name) = (namespace_of(sts.as_ref()), name_of(sts.as_ref()));
    let deleting = sts.metadata.deletion_timestamp.is_some();
    let owned = claim_pods(ctx.cluster, sts, uid, deleting, view);
    let revisions = claim_revisions(ctx.cluster, sts, uid, deleting, view);
    let status = sts.status.clone().unwrap_or_default();
    let policy = spec.persistent_volume_claim_retention_policy.as_ref();
    let mut s = SetSync {
        cluster: ctx.cluster,
        now: ctx.now,
        sts,
        ns,
        name,
        uid,
        view,
        monotonic: spec.pod_management_policy.as_deref() != Some("Parallel"),
        start: spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0).max(0),
        replicas: spec.replicas.unwrap_or(1).max(0),
        min_ready: SignedDuration::from_secs(i64::from(spec.min_ready_seconds.unwrap_or(0).max(0))),
        delete_claims_with_set: policy.and_then(|p| p.when_deleted.as_deref()) == Some("Delete"),
        delete_claims_on_scale: policy.and_then(|p| p.when_scaled.as_deref()) == Some("Delete"),
        current: Revision { name: status.current_revision.clone().unwrap_or_default(), template: spec.template.clone() },
        update: Revision { name: status.update_revision.clone().unwrap_or_default(), template: spec.template.clone() },
        due: Due::default(),
        failed: false,
    };
    if deleting {
        // A StatefulSet being deleted only reports on the pods it still has.
        let names: Vec<&str> = owned.iter().map(String::as_str).collect();
        s.write_status(&names, status.collision_count.unwrap_or(0));
        return Outcome::default();
    }
    let Some(collision_count) = s.resolve_revisions(&revisions, &status) else { return Outcome { due: None, failed: true } };
    let replica_names: Vec<String> = (0..s.replicas).map(|i| s.pod_name(s.start + i)).collect();
    let condemned = s.condemned(owned);
    s.manage_pods(&replica_names, &condemned);
    let names: Vec<&str> = replica_names.iter().chain(condemned.iter().map(|(_, n)| n)).map(String::as_str).collect();
    s.write_status(&names, collision_count);
    s.truncate_history(&revisions, &names);
    Outcome { due: s.due.0, failed: s.failed }
}

/// Claims the namespace's pods for `sts`: keeps owned pods that still belong, releases
/// the others, and (unless the set is being deleted) adopts orphans named `<sts>-<n>`
/// that match its selector. Returns the owned pods' names.
fn claim_pods(cluster: &Cluster, sts: &StatefulSet, uid: &str, deleting: bool, view: &mut Namespace) -> Vec<String> {
    let Some(spec) = sts.spec.as_ref() else { return Vec::new() };
    let (ns, name) = (namespace_of(sts), name_of(sts));
    let mut owned = Vec::new();
    // Each set's pods are visited by one sync per pass, so the lists can be taken.
    for pod_name in view.by_controller.remove(uid).unwrap_or_default() {
        let Some(pod) = view.pods.get(&pod_name).cloned() else { continue };
        let member = parent_and_ordinal(&pod_name).is_some_and(|(p, _)| p == name);
        if member && selector_matches(&spec.selector, pod.metadata.labels.as_ref()) {
            owned.push(pod_name);
        } else if !deleting {
            let released: Result<_, StoreError> = cluster.store.pods.modify(ns, &pod_name, |p| {
                let refs = p.metadata.owner_references.get_or_insert_with(Vec::new);
                let before = refs.len();
                refs.retain(|r| r.uid != uid);
                let changed = refs.len() != before;
                if refs.is_empty() {
                    p.metadata.owner_references = None;
                }
                Ok(changed)
            });
            if let Ok(Some(p)) = released {
                view.pods.insert(pod_name, p);
            }
        }
    }
    if deleting {
        return owned;
    }
    for pod_name in view.orphans.remove(name).unwrap_or_default() {
        let Some(pod) = view.pods.get(&pod_name).cloned() else { continue };
        if controller_of(&pod.metadata).is_some() || is_terminating(&pod) || !selector_matches(&spec.selector, pod.metadata.labels.as_ref()) {
            continue;
        }
        let adopted: Result<_, StoreError> = cluster.store.pods.modify(ns, &pod_name, |p| {
            if controller_of(&p.metadata).is_some() || p.metadata.uid != pod.metadata.uid {
                return Ok(false);
            }
            // Like Kubernetes' adoption recheck: this pass read the set before now, and an
            // orphaning delete may have released this pod since (under the pod's lock,
            // the set's current state decides).
            let current = cluster.store.statefulsets.get(ns, name);
            if !current.is_some_and(|s| s.metadata.uid == sts.metadata.uid && s.metadata.deletion_timestamp.is_none()) {
                return Ok(false);
            }
            p.metadata.owner_references.get_or_insert_with(Vec::new).push(controller_ref("apps/v1", "StatefulSet", &sts.metadata));
            Ok(true)
        });
        if let Ok(Some(p)) = adopted {
            view.pods.insert(pod_name.clone(), p);
            owned.push(pod_name);
        }
    }
    owned
}

/// Claims the namespace's ControllerRevisions for `sts` by selector (adopting orphans,
/// releasing owned ones that stopped matching); returns them by ascending revision.
fn claim_revisions(cluster: &Cluster, sts: &StatefulSet, uid: &str, deleting: bool, view: &mut Namespace) -> Vec<Arc<ControllerRevision>> {
    let Some(spec) = sts.spec.as_ref() else { return Vec::new() };
    let ns = namespace_of(sts);
    let mut out = Vec::new();
    for rev in &mut view.revisions {
        let matches = selector_matches(&spec.selector, rev.metadata.labels.as_ref());
        let controller = controller_of(&rev.metadata).map(|r| r.uid.clone());
        let rev_name = name_of(rev.as_ref()).to_owned();
        let rev_uid = rev.metadata.uid.clone();
        let written: Result<_, StoreError> = match controller.as_deref() {
            Some(c) if c == uid && matches => {
                out.push(rev.clone());
                continue;
            }
            Some(c) if c == uid && !deleting => cluster.store.controller_revisions.modify(ns, &rev_name, |r| {
                let refs = r.metadata.owner_references.get_or_insert_with(Vec::new);
                let before = refs.len();
                refs.retain(|o| o.uid != uid);
                let changed = refs.len() != before;
                if refs.is_empty() {
                    r.metadata.owner_references = None;
                }
                Ok(changed)
            }),
            None if matches && !deleting && rev.metadata.deletion_timestamp.is_none() => cluster.store.controller_revisions.modify(ns, &rev_name, |r| {
                if controller_of(&r.metadata).is_some() || r.metadata.uid != rev_uid {
                    return Ok(false);
                }
                r.metadata.owner_references.get_or_insert_with(Vec::new).push(controller_ref("apps/v1", "StatefulSet", &sts.metadata));
                Ok(true)
            }),
            _ => continue,
        };
        if let Ok(Some(r)) = written {
            let adopted = controller_of(&r.metadata).is_some_and(|o| o.uid == uid);
            *rev = r;
            if adopted {
                out.push(rev.clone());
            }
        }
    }
    out.sort_by(|a, b| (a.revision, name_of(a.as_ref())).cmp(&(b.revision, name_of(b.as_ref()))));
    out
}

impl SetSync<'_> {
    fn event(&self, severity: Severity, reason: &str, message: String) {
        let involved = events::reference(self.sts, None);
        match severity {
            Severity::Normal => events::record(self.cluster, Source::StatefulSet, involved, severity, reason, message),
            // Failures repeat on every pass until fixed: write them once.
            Severity::Warning => events::record_once(self.cluster, Source::StatefulSet, involved, severity, reason, message),
        }
    }

    fn pod_name(&self, ordinal: i32) -> String {
        format!("{}-{ordinal}", self.name)
    }

    fn in_range(&self, ordinal: i32) -> bool {
        ordinal >= self.start && i64::from(ordinal) < i64::from(self.start) + i64::from(self.replicas)
    }

    fn owner_ref(&self) -> OwnerReference {
        controller_ref("apps/v1", "StatefulSet", &self.sts.metadata)
    }

    /// Finds or creates the update revision, finds the current one, and returns the
    /// collision count used. `None` if no revision could be stored.
    fn resolve_revisions(&mut self, revisions: &[Arc<ControllerRevision>], status: &StatefulSetStatus) -> Option<i32> {
        let spec = self.sts.spec.as_ref()?;
        let data = revision_data(&spec.template);
        let mut collision_count = status.collision_count.unwrap_or(0).max(0);
        let next = revisions.last().map_or(1, |r| r.revision + 1);
        let update = match revisions.iter().rev().find(|r| r.data.as_ref().map(|d| &d.0) == Some(&data)) {
            // The template is unchanged since the latest revision.
            Some(equal) if revisions.last().is_some_and(|l| Arc::ptr_eq(l, equal)) => equal.clone(),
            // Back to an older template: that revision becomes the newest again.
            Some(equal) => {
                let bumped: Result<_, StoreError> = self.cluster.store.controller_revisions.modify(self.ns, name_of(equal.as_ref()), |r| {
                    r.revision = next;
                    Ok(true)
                });
                bumped.ok().flatten()?
            }
            None => loop {
                let hash = revision_hash(&data, collision_count);
                let prefix: String = self.name.chars().take(223).collect();
                let rev_name = format!("{prefix}-{hash}");
                if let Some(existing) = self.cluster.store.controller_revisions.get(self.ns, &rev_name) {
                    if existing.data.as_ref().map(|d| &d.0) == Some(&data) {
                        break existing;
                    }
                    collision_count = collision_count.checked_add(1)?;
                    continue;
                }
                let mut labels = spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
                labels.insert(HASH_LABEL.to_owned(), hash);
                let rev = ControllerRevision {
                    metadata: ObjectMeta {
                        name: Some(rev_name),
                        namespace: Some(self.ns.to_owned()),
                        labels: Some(labels),
                        annotations: self.sts.metadata.annotations.clone(),
                        owner_references: Some(vec![self.owner_ref()]),
                        ..Default::default()
                    },
                    data: Some(RawExtension(data.clone())),
                    revision: next,
                };
                match ops::create::<ControllerRevision>(self.cluster, Some(self.ns), rev, false) {
                    Ok(created) => break created,
                    Err(e) => {
                        tracing::warn!(error = %e, statefulset = self.name, "could not create a controller revision");
                        return None;
                    }
                }
            },
        };
        let current = match status.current_revision.as_deref() {
            Some(n) if n != name_of(update.as_ref()) => revisions.iter().find(|r| name_of(r.as_ref()) == n).cloned(),
            _ => None,
        };
        self.update = Revision { name: name_of(update.as_ref()).to_owned(), template: spec.template.clone() };
        self.current = match current {
            Some(c) => Revision { name: name_of(c.as_ref()).to_owned(), template: template_of(&c).unwrap_or_else(|| spec.template.clone()) },
            None => self.update.clone(),
        };
        Some(collision_count)
    }

    /// The owned pods beyond the replicas' ordinals, highest ordinal first.
    fn condemned(&self, owned: Vec<String>) -> Vec<(i32, String)> {
        let mut condemned: Vec<(i32, String)> =
            owned.into_iter().filter_map(|n| parent_and_ordinal(&n).map(|(_, o)| o).filter(|o| !self.in_range(*o)).map(|o| (o, n))).collect();
        condemned.sort_by_key(|c| std::cmp::Reverse(c.0));
        condemned
    }

    /// Replicas and condemned pods: creation, re-creation, scale-down, rolling update.
    fn manage_pods(&mut self, replica_names: &[String], condemned: &[(i32, String)]) {
        let n = replica_names.len();
        let first_unhealthy =
            replica_names.iter().chain(condemned.iter().rev().map(|(_, n)| n)).find(|n| self.owned_pod_ref(n).is_none_or(|p| !is_healthy(p))).cloned();
        let monotonic = self.monotonic;
        if run_for_all(n, monotonic, |i| {
            let step = self.process_replica(&replica_names[i]);
            self.note(step)
        }) {
            return;
        }
        if run_for_all(condemned.len(), monotonic, |i| {
            let step = self.fix_claims_of(&condemned[i].1, false);
            self.note(step)
        }) {
            return;
        }
        let first = first_unhealthy.as_deref();
        if run_for_all(condemned.len(), monotonic, |i| {
            let step = self.process_condemned(&condemned[i].1, first);
            self.note(step)
        }) {
            return;
        }
        self.rolling_update(replica_names);
    }

    /// Remembers a failed step, so the set is synced again next pass.
    fn note(&mut self, step: Step) -> Step {
        self.failed |= step == Step::Failed;
        step
    }

    /// The pod named `name` if this set owns it.
    fn owned_pod(&self, name: &str) -> Option<Arc<Pod>> {
        self.owned_pod_ref(name).cloned()
    }

    fn owned_pod_ref(&self, name: &str) -> Option<&Arc<Pod>> {
        self.view.pods.get(name).filter(|p| controller_of(&p.metadata).is_some_and(|r| r.uid == self.uid))
    }

    /// Kubernetes' `processReplica` for the replica `pod_name`.
    fn process_replica(&mut self, pod_name: &str) -> Step {
        let Some(pod) = self.owned_pod(pod_name) else {
            // A pod of that name owned by someone else (or released) blocks its ordinal.
            if self.view.pods.contains_key(pod_name) {
                return Step::Failed;
            }
            return self.create_replica(pod_name);
        };
        if matches!(phase(&pod), "Failed" | "Succeeded") {
            // Finished pods are deleted; the next pass re-creates them once they are gone.
            if !is_terminating(&pod) && self.delete_pod(&pod) == Step::Failed {
                return Step::Failed;
            }
            return Step::Wait;
        }
        if phase(&pod) == "Pending" && self.create_claims(&pod).is_err() {
            return Step::Failed;
        }
        if self.monotonic {
            if is_terminating(&pod) || !is_running_and_ready(&pod) {
                return Step::Wait;
            }
            if !self.is_available(&pod) {
                return Step::Wait;
            }
        }
        if self.fix_identity(&pod) == Step::Failed {
            return Step::Failed;
        }
        self.fix_claims_of(pod_name, true)
    }

    /// Whether a ready pod is available; notes when it will be if not yet.
    fn is_available(&mut self, pod: &Pod) -> bool {
        match available_at(pod, self.min_ready) {
            Some(t) if t <= self.now => true,
            Some(t) => {
                self.due.at(t);
                false
            }
            None => false,
        }
    }

    /// Creates the replica `pod_name` (its claims first) at the revision its ordinal
    /// calls for.
    fn create_replica(&mut self, pod_name: &str) -> Step {
        let Some((_, ordinal)) = parent_and_ordinal(pod_name) else { return Step::Failed };
        if self.delete_claims_on_scale && self.claim_is_stale(pod_name) {
            // A claim still owned by the previous pod of this name waits for the
            // garbage collector; the pod is created with a fresh claim afterwards.
            return Step::Wait;
        }
        let pod = self.new_pod(ordinal);
        if let Err(cause) = self.create_claims(&pod) {
            self.event(Severity::Warning, "FailedCreate", format!("create Pod {pod_name} in StatefulSet {} failed error: {cause}", self.name));
            return Step::Failed;
        }
        match ops::create::<Pod>(self.cluster, Some(self.ns), pod, false) {
            Ok(created) => {
                self.view.pods.insert(pod_name.to_owned(), created.clone());
                self.event(Severity::Normal, "SuccessfulCreate", format!("create Pod {pod_name} in StatefulSet {} successful", self.name));
                if self.fix_claims_of(pod_name, true) == Step::Failed {
                    return Step::Failed;
                }
                if self.monotonic { Step::Wait } else { Step::Continue }
            }
            // Kubernetes records no event for this: the name is taken (by a pod this
            // set does not own, or one created since the pass listed pods).
            Err(e) if e.code == 409 => Step::Failed,
            Err(e) => {
                self.event(Severity::Warning, "FailedCreate", format!("create Pod {pod_name} in StatefulSet {} failed error: {}", self.name, e.message));
                Step::Failed
            }
        }
    }

    /// The pod for `ordinal`: below the partition from the current revision, otherwise
    /// from the update revision.
    fn new_pod(&self, ordinal: i32) -> Pod {
        let spec = self.sts.spec.as_ref();
        let strategy = spec.and_then(|s| s.update_strategy.as_ref());
        let rolling = strategy.is_none_or(|s| s.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate");
        let ru = strategy.and_then(|s| s.rolling_update.as_ref());
        let current_replicas = self.sts.status.as_ref().and_then(|s| s.current_replicas).unwrap_or(0);
        let below = |n: i32| i64::from(ordinal) < i64::from(self.start) + i64::from(n);
        let use_current = match ru {
            None => rolling && below(current_replicas),
            Some(ru) => below(ru.partition.unwrap_or(0)),
        };
        let rev = if use_current { &self.current } else { &self.update };
        let pod_name = self.pod_name(ordinal);
        let tm = rev.template.metadata.clone().unwrap_or_default();
        let mut labels = tm.labels.unwrap_or_default();
        labels.insert(POD_NAME_LABEL.to_owned(), pod_name.clone());
        labels.insert(POD_INDEX_LABEL.to_owned(), ordinal.to_string());
        labels.insert(REVISION_LABEL.to_owned(), rev.name.clone());
        let mut pod_spec: PodSpec = rev.template.spec.clone().unwrap_or_default();
        pod_spec.hostname = Some(pod_name.clone());
        if let Some(svc) = spec.and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty()) {
            pod_spec.subdomain = Some(svc);
        }
        self.add_claim_volumes(&mut pod_spec, &pod_name);
        Pod {
            metadata: ObjectMeta {
                name: Some(pod_name),
                generate_name: Some(format!("{}-", self.name)),
                namespace: Some(self.ns.to_owned()),
                labels: Some(labels),
                annotations: tm.annotations,
                finalizers: tm.finalizers,
                owner_references: Some(vec![self.owner_ref()]),
                ..Default::default()
            },
            spec: Some(pod_spec),
            status: None,
        }
    }

    fn claim_templates(&self) -> &[PersistentVolumeClaim] {
        self.sts.spec.as_ref().and_then(|s| s.volume_claim_templates.as_deref()).unwrap_or_default()
    }

    /// One volume per claim template, named after the template, replacing any template
    /// volume of the same name.
    fn add_claim_volumes(&self, spec: &mut PodSpec, pod_name: &str) {
        let templates = self.claim_templates();
        if templates.is_empty() {
            return;
        }
        let mut volumes: Vec<Volume> = templates
            .iter()
            .map(|t| Volume {
                name: name_of(t).to_owned(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource { claim_name: format!("{}-{pod_name}", name_of(t)), read_only: None }),
                ..Default::default()
            })
            .collect();
        for v in spec.volumes.take().unwrap_or_default() {
            if !templates.iter().any(|t| name_of(t) == v.name) {
                volumes.push(v);
            }
        }
        spec.volumes = Some(volumes);
    }

    /// Creates the pod's missing claims. Fails if one cannot be created or is being
    /// deleted.
    fn create_claims(&mut self, pod: &Pod) -> Result<(), String> {
        let pod_name = name_of(pod).to_owned();
        let Some((_, ordinal)) = parent_and_ordinal(&pod_name) else { return Ok(()) };
        let mut errors = Vec::new();
        let match_labels = self.sts.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
        for template in self.claim_templates().to_vec() {
            let claim_name = format!("{}-{pod_name}", name_of(&template));
            match self.cluster.store.pvcs.get(self.ns, &claim_name) {
                Some(c) if c.metadata.deletion_timestamp.is_some() => errors.push(format!("pvc {claim_name} is being deleted")),
                Some(_) => {}
                None => {
                    let mut labels = template.metadata.labels.clone().unwrap_or_default();
                    labels.extend(match_labels.clone());
                    let in_range = self.in_range(ordinal);
                    let owners = (self.delete_claims_with_set && (in_range || !self.delete_claims_on_scale)).then(|| vec![self.owner_ref()]);
                    let claim = PersistentVolumeClaim {
                        metadata: ObjectMeta {
                            name: Some(claim_name.clone()),
                            namespace: Some(self.ns.to_owned()),
                            labels: (!labels.is_empty()).then_some(labels),
                            annotations: template.metadata.annotations.clone(),
                            finalizers: template.metadata.finalizers.clone(),
                            owner_references: owners,
                            ..Default::default()
                        },
                        spec: template.spec.clone(),
                        status: None,
                    };
                    match ops::create::<PersistentVolumeClaim>(self.cluster, Some(self.ns), claim, false) {
                        Ok(_) => {
                            self.event(
                                Severity::Normal,
                                "SuccessfulCreate",
                                format!("create Claim {claim_name} Pod {pod_name} in StatefulSet {} success", self.name),
                            );
                        }
                        Err(e) if e.code == 409 => errors.push(format!("failed to create PVC {claim_name}: {}", e.message)),
                        Err(e) => {
                            self.event(
                                Severity::Warning,
                                "FailedCreate",
                                format!("create Claim {claim_name} for Pod {pod_name} in StatefulSet {} failed error: {}", self.name, e.message),
                            );
                            errors.push(format!("failed to create PVC {claim_name}: {}", e.message));
                        }
                    }
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors.join(", ")) }
    }

    /// Whether a claim of the not-yet-created pod `pod_name` is still owned by an
    /// earlier pod of that name.
    fn claim_is_stale(&self, pod_name: &str) -> bool {
        self.claim_templates().iter().any(|t| {
            self.cluster
                .store
                .pvcs
                .get(self.ns, &format!("{}-{pod_name}", name_of(t)))
                .is_some_and(|c| c.metadata.owner_references.iter().flatten().any(|r| r.kind == "Pod" && r.api_version == "v1" && r.name == pod_name))
        })
    }

    /// Restores the identity labels of an adopted or edited pod.
    fn fix_identity(&mut self, pod: &Pod) -> Step {
        let label = pod.metadata.labels.as_ref().and_then(|l| l.get(POD_NAME_LABEL));
        if label.map(String::as_str) == pod.metadata.name.as_deref() {
            return Step::Continue;
        }
        let pod_name = name_of(pod).to_owned();
        let ordinal = parent_and_ordinal(&pod_name).map(|(_, o)| o).unwrap_or_default();
        let updated: Result<_, StoreError> = self.cluster.store.pods.modify(self.ns, &pod_name, |p| {
            if p.metadata.uid != pod.metadata.uid {
                return Ok(false);
            }
            let labels = p.metadata.labels.get_or_insert_with(Default::default);
            labels.insert(POD_NAME_LABEL.to_owned(), pod_name.clone());
            labels.insert(POD_INDEX_LABEL.to_owned(), ordinal.to_string());
            Ok(true)
        });
        match updated {
            Ok(Some(p)) => {
                self.view.pods.insert(pod_name, p);
                Step::Continue
            }
            Ok(None) => Step::Continue,
            Err(_) => Step::Failed,
        }
    }

    /// Brings the ownerReferences of the pod's claims in line with the retention policy:
    /// the set owns them when `whenDeleted: Delete`, except that a scaled-away pod owns
    /// them instead when `whenScaled: Delete`; Retain/Retain leaves them unowned.
    fn fix_claims_of(&mut self, pod_name: &str, in_range: bool) -> Step {
        if self.claim_templates().is_empty() {
            return Step::Continue;
        }
        let want_set = self.delete_claims_with_set && (in_range || !self.delete_claims_on_scale);
        let want_pod = self.delete_claims_on_scale && !in_range;
        for i in 0..self.claim_templates().len() {
            let claim_name = format!("{}-{pod_name}", name_of(&self.claim_templates()[i]));
            let Some(claim) = self.cluster.store.pvcs.get(self.ns, &claim_name) else { continue };
            if !want_set && !want_pod && claim.metadata.owner_references.as_ref().is_none_or(|r| r.is_empty()) {
                // Retain/Retain (the default) and an unowned claim: nothing to do.
                continue;
            }
            let Some(pod) = self.owned_pod(pod_name) else { return Step::Continue };
            let Some(pod_uid) = pod.metadata.uid.clone() else { return Step::Continue };
            let refs = claim.metadata.owner_references.clone().unwrap_or_default();
            let ours = |r: &OwnerReference| r.uid == self.uid || r.uid == pod_uid;
            let stale = refs.iter().any(|r| {
                !ours(r)
                    && ((r.kind == "StatefulSet" && r.api_version.starts_with("apps/") && r.name == self.name)
                        || (r.kind == "Pod" && r.api_version == "v1" && r.name == pod_name))
            });
            if stale {
                // Managed by an earlier set or pod of the same name: leave it alone.
                continue;
            }
            let foreign_controller = refs.iter().any(|r| r.controller == Some(true) && !ours(r));
            let mut wanted: Vec<OwnerReference> = refs.iter().filter(|r| !ours(r)).cloned().collect();
            if !foreign_controller {
                if want_set {
                    wanted.push(self.owner_ref());
                }
                if want_pod {
                    wanted.push(controller_ref("v1", "Pod", &pod.metadata));
                }
            }
            if wanted.len() == refs.len() && wanted.iter().all(|w| refs.contains(w)) {
                continue;
            }
            let claim_uid = claim.metadata.uid.clone();
            let updated: Result<_, StoreError> = self.cluster.store.pvcs.modify(self.ns, &claim_name, |c| {
                if c.metadata.uid != claim_uid {
                    return Ok(false);
                }
                c.metadata.owner_references = (!wanted.is_empty()).then(|| wanted.clone());
                Ok(true)
            });
            if updated.is_err() {
                return Step::Failed;
            }
        }
        Step::Continue
    }

    /// Deletes a pod (gracefully; the kubelet removes it) and records the event.
    fn delete_pod(&mut self, pod: &Pod) -> Step {
        let pod_name = name_of(pod).to_owned();
        let opts = DeleteOptions { uid: pod.metadata.uid.clone(), ..Default::default() };
        match ops::delete::<Pod>(self.cluster, self.ns, &pod_name, &opts) {
            Ok(_) => {
                match self.cluster.store.pods.get(self.ns, &pod_name) {
                    Some(p) => self.view.pods.insert(pod_name.clone(), p),
                    None => self.view.pods.remove(&pod_name),
                };
                self.event(Severity::Normal, "SuccessfulDelete", format!("delete Pod {pod_name} in StatefulSet {} successful", self.name));
                Step::Continue
            }
            Err(e) if e.code == 404 => {
                self.view.pods.remove(&pod_name);
                Step::Continue
            }
            Err(e) => {
                self.event(Severity::Warning, "FailedDelete", format!("delete Pod {pod_name} in StatefulSet {} failed error: {}", self.name, e.message));
                Step::Failed
            }
        }
    }

    /// Kubernetes' `processCondemned`: scale-down of one pod beyond the replicas.
    fn process_condemned(&mut self, pod_name: &str, first_unhealthy: Option<&str>) -> Step {
        let Some(pod) = self.owned_pod(pod_name) else { return Step::Continue };
        if is_terminating(&pod) {
            return if self.monotonic { Step::Wait } else { Step::Continue };
        }
        if self.monotonic && first_unhealthy != Some(pod_name) && (!is_running_and_ready(&pod) || !self.is_available(&pod)) {
            return Step::Wait;
        }
        match self.delete_pod(&pod) {
            Step::Failed => Step::Failed,
            _ if self.monotonic => Step::Wait,
            _ => Step::Continue,
        }
    }

    /// Deletes the highest replica at or above the partition that is not at the update
    /// revision, unless a pod on the way there is unhealthy.
    fn rolling_update(&mut self, replica_names: &[String]) {
        let strategy = self.sts.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
        if strategy.is_some_and(|s| s.type_.as_deref() == Some("OnDelete")) {
            return;
        }
        let partition = strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.partition).unwrap_or(0).max(0);
        let from = usize::try_from(partition).unwrap_or(usize::MAX);
        for pod_name in replica_names.iter().skip(from).rev() {
            let Some(pod) = self.owned_pod_ref(pod_name) else { return };
            if revision_of(pod) != self.update.name && !is_terminating(pod) {
                let pod = pod.clone();
                self.delete_pod(&pod);
                return;
            }
            if !is_healthy(pod) {
                return;
            }
        }
    }

    /// Writes the status computed from the owned pods, if it changed.
    fn write_status(&mut self, names: &[&str], collision_count: i32) {
        let (mut replicas, mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0, 0);
        let mut due = Due::default();
        for name in names {
            let Some(pod) = self.owned_pod_ref(name) else { continue };
            let created = !phase(pod).is_empty();
            replicas += i32::from(created);
            if is_running_and_ready(pod) {
                ready += 1;
                match available_at(pod, self.min_ready) {
                    Some(t) if t <= self.now => available += 1,
                    Some(t) => due.at(t),
                    None => {}
                }
            }
            if created && !is_terminating(pod) {
                current += i32::from(revision_of(pod) == self.current.name);
                updated += i32::from(revision_of(pod) == self.update.name);
            }
        }
        self.due.merge(due.0);
        let mut current_revision = self.current.name.clone();
        let rolling =
            self.sts.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).is_none_or(|s| s.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate");
        if rolling && updated == replicas && ready == replicas {
            current = updated;
            current_revision = self.update.name.clone();
        }
        let nonzero = |n: i32| (n != 0).then_some(n);
        let nonempty = |s: String| (!s.is_empty()).then_some(s);
        let old = self.sts.status.clone().unwrap_or_default();
        let status = StatefulSetStatus {
            observed_generation: self.sts.metadata.generation.or(old.observed_generation),
            replicas,
            ready_replicas: nonzero(ready),
            available_replicas: Some(available),
            current_replicas: nonzero(current),
            updated_replicas: nonzero(updated),
            current_revision: nonempty(current_revision),
            update_revision: nonempty(self.update.name.clone()),
            collision_count: Some(collision_count),
            conditions: old.conditions.clone(),
        };
        if status == old {
            return;
        }
        let uid = self.uid;
        let written: Result<_, StoreError> = self.cluster.store.statefulsets.modify(self.ns, self.name, |s| {
            if s.metadata.uid.as_deref() != Some(uid) || s.status.as_ref() == Some(&status) {
                return Ok(false);
            }
            s.status = Some(status.clone());
            Ok(true)
        });
        if let Err(e) = written {
            tracing::debug!(error = %e, statefulset = self.name, "could not write status");
        }
    }

    /// Deletes the oldest revisions beyond `revisionHistoryLimit` that are neither
    /// current, nor the update revision, nor used by a pod.
    fn truncate_history(&self, revisions: &[Arc<ControllerRevision>], names: &[&str]) {
        let limit = self.sts.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10).max(0);
        let mut live: HashSet<&str> = [self.current.name.as_str(), self.update.name.as_str()].into();
        live.extend(names.iter().filter_map(|n| self.view.pods.get(*n)).map(|p| revision_of(p)));
        let history: Vec<&Arc<ControllerRevision>> = revisions.iter().filter(|r| !live.contains(name_of(r.as_ref()))).collect();
        let excess = history.len().saturating_sub(usize::try_from(limit).unwrap_or(0));
        for r in history.into_iter().take(excess) {
            let opts = DeleteOptions { uid: r.metadata.uid.clone(), ..Default::default() };
            if let Err(e) = ops::delete::<ControllerRevision>(self.cluster, self.ns, name_of(r.as_ref()), &opts) {
                tracing::debug!(error = %e, revision = name_of(r.as_ref()), "could not prune a revision");
            }
        }
    }
}

/// Helpers the controller tests share: a practice cluster on a manual clock, and the
/// kubelet's part played by hand (the tests' pods use a scheduler and node of their own,
/// so only the test moves them to Running, Ready or gone).
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    use jiff::Timestamp;
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateRunning, ContainerStatus, Pod, PodCondition};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use crate::store::StoreError;
    use crate::{Clock, Cluster, Config};

    /// The node the tests "run" pods on.
    pub const TEST_NODE: &str = "test-node";

    /// An empty cluster at 2025-01-01T00:00:00Z on a manual clock.
    pub fn cluster() -> Arc<Cluster> {
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().expect("timestamp");
        Cluster::new(Config::default(), Clock::manual(start))
    }

    /// The lab manifest with the given pod management policy, its pods handed to a
    /// scheduler of the tests' own.
    pub fn manifest(policy: &str) -> String {
        crate::lab::LAB_MANIFEST
            .replace("podManagementPolicy: OrderedReady", &format!("podManagementPolicy: {policy}"))
            .replace("      terminationGracePeriodSeconds: 10", "      schedulerName: test-scheduler\n      terminationGracePeriodSeconds: 10")
    }

    /// A cluster with the lab loaded under `policy`, settled once.
    pub fn lab(policy: &str) -> Arc<Cluster> {
        let c = cluster();
        crate::lab::load_manifest(&c, &manifest(policy)).expect("lab manifest loads");
        c.settle();
        c
    }

    /// The lab StatefulSet.
    pub fn sts(c: &Cluster) -> Arc<StatefulSet> {
        c.store.statefulsets.get("default", "web").expect("statefulset web")
    }

    /// A pod of the default namespace.
    pub fn pod(c: &Cluster, name: &str) -> Arc<Pod> {
        c.store.pods.get("default", name).unwrap_or_else(|| panic!("pod {name} exists"))
    }

    /// Names of the pods in the default namespace.
    pub fn pod_names(c: &Cluster) -> Vec<String> {
        c.store.pods.list(Some("default")).0.iter().filter_map(|p| p.metadata.name.clone()).collect()
    }

    /// Names of the pods being deleted.
    pub fn terminating(c: &Cluster) -> Vec<String> {
        c.store.pods.list(Some("default")).0.iter().filter(|p| p.metadata.deletion_timestamp.is_some()).filter_map(|p| p.metadata.name.clone()).collect()
    }

    fn set_ready(c: &Cluster, name: &str, ready: bool) {
        let now = c.clock.now();
        let status = if ready { "True" } else { "False" };
        let r: Result<_, StoreError> = c.store.pods.modify("default", name, |p| {
            p.spec.get_or_insert_with(Default::default).node_name = Some(TEST_NODE.to_owned());
            let s = p.status.get_or_insert_with(Default::default);
            s.phase = Some("Running".to_owned());
            s.pod_ip = Some("10.244.0.10".to_owned());
            s.conditions =
                Some(vec![PodCondition { type_: "Ready".to_owned(), status: status.to_owned(), last_transition_time: Some(Time(now)), ..Default::default() }]);
            s.container_statuses = Some(vec![ContainerStatus {
                name: "app".to_owned(),
                image: "stslab/visits:1.0".to_owned(),
                image_id: String::new(),
                ready,
                started: Some(true),
                restart_count: 0,
                state: Some(ContainerState { running: Some(ContainerStateRunning { started_at: Some(Time(now)) }), ..Default::default() }),
                ..Default::default()
            }]);
            Ok(true)
        });
        r.expect("pod status written").unwrap_or_else(|| panic!("pod {name} changed"));
    }

    /// What the kubelet does once the pod's container runs and passes its readiness
    /// probe: Running, Ready, container ready.
    pub fn make_ready(c: &Cluster, name: &str) {
        set_ready(c, name, true);
        c.settle();
    }

    /// Readiness lost: still Running, Ready False.
    pub fn make_unready(c: &Cluster, name: &str) {
        set_ready(c, name, false);
        c.settle();
    }

    /// Makes each existing pod ready, in name order, settling after each.
    pub fn make_all_ready(c: &Cluster) {
        for name in pod_names(c) {
            if c.store.pods.get("default", &name).is_some_and(|p| p.metadata.deletion_timestamp.is_none()) {
                make_ready(c, &name);
            }
        }
    }

    /// What the kubelet does once a deleted pod's containers stopped: removes the pods
    /// being deleted.
    pub fn finish_termination(c: &Cluster) {
        for p in c.store.pods.list(None).0 {
            if p.metadata.deletion_timestamp.is_some() {
                crate::ops::finish_deletion(&c.store.pods, p.as_ref());
            }
        }
        c.settle();
    }

    /// Messages of the StatefulSet controller's events with `reason`, oldest first.
    pub fn events(c: &Cluster, reason: &str) -> Vec<String> {
        let mut evs: Vec<_> = c
            .store
            .events
            .list(Some("default"))
            .0
            .into_iter()
            .filter(|e| e.involved_object.kind.as_deref() == Some("StatefulSet") && e.reason.as_deref() == Some(reason))
            .collect();
        evs.sort_by_key(|e| e.metadata.resource_version.as_deref().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0));
        evs.iter().filter_map(|e| e.message.clone()).collect()
    }

    /// Changes the lab StatefulSet's spec as an API update would (bumping generation).
    pub fn edit_spec(c: &Cluster, change: impl FnOnce(&mut k8s_openapi::api::apps::v1::StatefulSetSpec)) {
        let r: Result<_, StoreError> = c.store.statefulsets.modify("default", "web", |s| {
            if let Some(spec) = s.spec.as_mut() {
                change(spec);
            }
            s.metadata.generation = Some(s.metadata.generation.unwrap_or(1) + 1);
            Ok(true)
        });
        r.expect("statefulset updated");
        c.settle();
    }

    /// Sets `spec.replicas`, as `kubectl scale` does.
    pub fn scale(c: &Cluster, replicas: i32) {
        edit_spec(c, |s| s.replicas = Some(replicas));
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::Pod;

    use super::test_support::*;
    use super::*;
    use crate::ops::{DeleteOptions, Propagation};

    fn uid(p: &Pod) -> String {
        p.metadata.uid.clone().expect("uid")
    }

    fn status(c: &Cluster) -> StatefulSetStatus {
        sts(c).status.clone().expect("status")
    }

    fn claim_names(c: &Cluster) -> Vec<String> {
        c.store.pvcs.list(Some("default")).0.iter().filter_map(|p| p.metadata.name.clone()).collect()
    }

    /// The lab with all three pods Running and Ready.
    fn running_lab(policy: &str) -> Arc<Cluster> {
        let c = lab(policy);
        for name in ["web-0", "web-1", "web-2"] {
            make_ready(&c, name);
        }
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2"]);
        c
    }

    #[test]
    fn ordered_ready_starts_one_pod_at_a_time_after_the_previous_is_ready() {
        let c = lab("OrderedReady");
        assert_eq!(pod_names(&c), ["web-0"]);
        assert_eq!(claim_names(&c), ["data-web-0"]);
        // Waiting does not help while web-0 is not Ready.
        c.advance(SignedDuration::from_secs(60));
        assert_eq!(pod_names(&c), ["web-0"]);

        make_ready(&c, "web-0");
        assert_eq!(pod_names(&c), ["web-0", "web-1"]);
        make_ready(&c, "web-1");
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2"]);
        make_ready(&c, "web-2");
        assert_eq!(claim_names(&c), ["data-web-0", "data-web-1", "data-web-2"]);

        assert_eq!(
            events(&c, "SuccessfulCreate"),
            [
                "create Claim data-web-0 Pod web-0 in StatefulSet web success",
                "create Pod web-0 in StatefulSet web successful",
                "create Claim data-web-1 Pod web-1 in StatefulSet web success",
                "create Pod web-1 in StatefulSet web successful",
                "create Claim data-web-2 Pod web-2 in StatefulSet web success",
                "create Pod web-2 in StatefulSet web successful",
            ]
        );
        let s = status(&c);
        assert_eq!(s.replicas, 3);
        assert_eq!(s.ready_replicas, Some(3));
        assert_eq!(s.available_replicas, Some(3));
        assert_eq!(s.current_replicas, Some(3));
        assert_eq!(s.updated_replicas, Some(3));
        assert_eq!(s.observed_generation, Some(1));
        assert_eq!(s.collision_count, Some(0));
        assert!(s.update_revision.as_deref().is_some_and(|r| r.starts_with("web-")));
        assert_eq!(s.current_revision, s.update_revision);
    }

    #[test]
    fn status_counts_follow_readiness() {
        let c = lab("OrderedReady");
        let s = status(&c);
        assert_eq!((s.replicas, s.ready_replicas, s.available_replicas), (1, None, Some(0)));
        make_ready(&c, "web-0");
        let s = status(&c);
        assert_eq!((s.replicas, s.ready_replicas, s.available_replicas), (2, Some(1), Some(1)));
    }

    #[test]
    fn pods_carry_their_identity_and_claim() {
        let c = lab("OrderedReady");
        let set = sts(&c);
        let p = pod(&c, "web-0");
        let labels = p.metadata.labels.clone().expect("labels");
        assert_eq!(labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(labels.get(POD_NAME_LABEL).map(String::as_str), Some("web-0"));
        assert_eq!(labels.get(POD_INDEX_LABEL).map(String::as_str), Some("0"));
        assert_eq!(labels.get(REVISION_LABEL), set.status.as_ref().and_then(|s| s.update_revision.as_ref()));
        assert_eq!(p.metadata.generate_name.as_deref(), Some("web-"));
        let spec = p.spec.clone().expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("web-0"));
        assert_eq!(spec.subdomain.as_deref(), Some("web"));
        let volumes = spec.volumes.expect("volumes");
        assert_eq!(volumes.len(), 1);
        assert_eq!(volumes[0].name, "data");
        assert_eq!(volumes[0].persistent_volume_claim.as_ref().map(|c| c.claim_name.as_str()), Some("data-web-0"));
        let owner = controller_of(&p.metadata).expect("controller reference");
        assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("StatefulSet", "web"));
        assert_eq!(Some(&owner.uid), set.metadata.uid.as_ref());
        assert_eq!(owner.block_owner_deletion, Some(true));

        let claim = c.store.pvcs.get("default", "data-web-0").expect("claim");
        assert_eq!(claim.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str), Some("web"));
        assert!(claim.metadata.owner_references.is_none(), "Retain/Retain claims are not owned");
        assert_eq!(claim.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()), Some("standard"));
    }

    #[test]
    fn claims_bind_to_provisioned_one_gigabyte_volumes() {
        let c = running_lab("OrderedReady");
        c.advance(SignedDuration::from_secs(1));
        for i in 0..3 {
            let claim = c.store.pvcs.get("default", &format!("data-web-{i}")).expect("claim");
            let uid = claim.metadata.uid.clone().expect("uid");
            let volume = claim.spec.as_ref().and_then(|s| s.volume_name.clone()).expect("bound");
            assert_eq!(volume, format!("pvc-{uid}"));
            let pv = c.store.pvs.get("", &volume).expect("volume");
            let size = pv.spec.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|m| m.get("storage")).map(|q| q.0.clone());
            assert_eq!(size.as_deref(), Some("1Gi"));
            assert_eq!(claim.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Bound"));
        }
    }

    #[test]
    fn parallel_creates_all_pods_at_once() {
        let c = lab("Parallel");
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2"]);
        assert_eq!(claim_names(&c), ["data-web-0", "data-web-1", "data-web-2"]);
        assert_eq!(status(&c).replicas, 3);
    }

    #[test]
    fn a_pod_change_syncs_only_its_own_set() {
        let c = lab("Parallel");
        crate::lab::load_manifest(&c, &manifest("Parallel").replace("web", "db")).expect("second set loads");
        c.settle();
        assert_eq!(pod_names(&c), ["db-0", "db-1", "db-2", "web-0", "web-1", "web-2"]);
        let db_rv = c.store.statefulsets.get("default", "db").expect("db").metadata.resource_version.clone();

        // The pass after a change to one pod looks at that pod's set only.
        let touched: Result<_, StoreError> = c.store.pods.modify("default", "web-1", |p| {
            p.metadata.annotations.get_or_insert_with(Default::default).insert("touched".into(), "yes".into());
            Ok(true)
        });
        touched.expect("pod annotated");
        let work = crate::controllers::queue::lock(&c.set_queue).take(&c.store, c.clock.now());
        assert_eq!(work.into_iter().collect::<Vec<_>>(), [("default".to_owned(), "web".to_owned())]);

        make_ready(&c, "web-1");
        assert_eq!(status(&c).ready_replicas, Some(1), "the pod turning ready reached its set");
        let db = c.store.statefulsets.get("default", "db").expect("db");
        assert_eq!(db.metadata.resource_version, db_rv, "the other set was not written");
        assert_eq!(db.status.as_ref().and_then(|s| s.ready_replicas), None);
    }

    #[test]
    fn an_unready_pod_blocks_ordered_ready_but_not_parallel() {
        let c = running_lab("OrderedReady");
        make_unready(&c, "web-0");
        assert_eq!(status(&c).ready_replicas, Some(2));
        scale(&c, 5);
        c.advance(SignedDuration::from_secs(30));
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2"]);
        scale(&c, 1);
        assert!(terminating(&c).is_empty(), "scale-down waits for web-0 too");
        make_ready(&c, "web-0");
        assert_eq!(terminating(&c), ["web-2"]);

        let c = running_lab("Parallel");
        make_unready(&c, "web-0");
        scale(&c, 5);
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2", "web-3", "web-4"]);
    }

    #[test]
    fn ordered_scale_up_and_down_go_one_pod_at_a_time() {
        let c = running_lab("OrderedReady");
        scale(&c, 5);
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2", "web-3"]);
        make_ready(&c, "web-3");
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2", "web-3", "web-4"]);
        make_ready(&c, "web-4");
        assert_eq!(status(&c).ready_replicas, Some(5));

        scale(&c, 3);
        assert_eq!(terminating(&c), ["web-4"], "highest ordinal first");
        c.advance(SignedDuration::from_secs(5));
        assert_eq!(terminating(&c), ["web-4"], "web-3 waits until web-4 is gone");
        assert_eq!(status(&c).replicas, 5, "terminating pods still count");
        finish_termination(&c);
        assert_eq!(terminating(&c), ["web-3"]);
        finish_termination(&c);
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2"]);
        assert_eq!(events(&c, "SuccessfulDelete"), ["delete Pod web-4 in StatefulSet web successful", "delete Pod web-3 in StatefulSet web successful",]);
        assert_eq!(claim_names(&c).len(), 5, "claims are retained after scale-down");
        let s = status(&c);
        assert_eq!((s.replicas, s.ready_replicas), (3, Some(3)));
    }

    #[test]
    fn parallel_scale_down_deletes_all_condemned_pods_at_once() {
        let c = running_lab("Parallel");
        scale(&c, 1);
        assert_eq!(terminating(&c), ["web-1", "web-2"]);
        finish_termination(&c);
        assert_eq!(pod_names(&c), ["web-0"]);
    }

    #[test]
    fn a_deleted_pod_comes_back_with_the_same_name_and_claim() {
        let c = running_lab("OrderedReady");
        c.advance(SignedDuration::from_secs(1));
        let old = pod(&c, "web-1");
        let claim_uid = c.store.pvcs.get("default", "data-web-1").and_then(|p| p.metadata.uid.clone());
        crate::ops::delete::<Pod>(&c, "default", "web-1", &DeleteOptions::default()).expect("delete");
        c.advance(SignedDuration::from_secs(5));
        assert_eq!(terminating(&c), ["web-1"], "not re-created while it terminates");
        finish_termination(&c);
        let new = pod(&c, "web-1");
        assert_ne!(uid(&new), uid(&old));
        assert_eq!(c.store.pvcs.get("default", "data-web-1").and_then(|p| p.metadata.uid.clone()), claim_uid);
        assert_eq!(claim_names(&c).len(), 3);
        // web-2 is untouched: re-creation is not a scale-down.
        assert!(terminating(&c).is_empty());
    }

    #[test]
    fn failed_pods_are_replaced() {
        let c = running_lab("OrderedReady");
        let old = uid(&pod(&c, "web-2"));
        let r: Result<_, StoreError> = c.store.pods.modify("default", "web-2", |p| {
            p.status.get_or_insert_with(Default::default).phase = Some("Failed".to_owned());
            Ok(true)
        });
        r.expect("status");
        c.settle();
        assert_ne!(uid(&pod(&c, "web-2")), old);
        assert_eq!(phase(&pod(&c, "web-2")), "Pending");
    }

    #[test]
    fn orphaned_pods_are_adopted_without_restart_by_a_parallel_set() {
        let c = running_lab("OrderedReady");
        let before: Vec<String> = ["web-0", "web-1", "web-2"].iter().map(|n| uid(&pod(&c, n))).collect();
        let revision = status(&c).update_revision;
        let creates = events(&c, "SuccessfulCreate").len();

        let opts = DeleteOptions { propagation: Propagation::Orphan, ..Default::default() };
        crate::ops::delete::<StatefulSet>(&c, "default", "web", &opts).expect("delete");
        c.advance(SignedDuration::from_secs(60));
        assert!(c.store.statefulsets.get("default", "web").is_none());
        for n in ["web-0", "web-1", "web-2"] {
            let p = pod(&c, n);
            assert!(p.metadata.owner_references.is_none(), "{n} is orphaned");
            assert!(p.metadata.deletion_timestamp.is_none(), "{n} keeps running");
        }
        assert_eq!(c.store.controller_revisions.len(), 1, "the revision is orphaned, not deleted");

        crate::lab::load_manifest(&c, &manifest("Parallel")).expect("apply");
        c.settle();
        let set = sts(&c);
        let after: Vec<String> = ["web-0", "web-1", "web-2"].iter().map(|n| uid(&pod(&c, n))).collect();
        assert_eq!(after, before, "the same pods, not restarted");
        for n in ["web-0", "web-1", "web-2"] {
            let owner = controller_of(&pod(&c, n).metadata).cloned().expect("adopted");
            assert_eq!(Some(owner.uid), set.metadata.uid.clone());
        }
        assert!(events(&c, "SuccessfulDelete").is_empty());
        assert_eq!(events(&c, "SuccessfulCreate").len(), creates);
        assert!(terminating(&c).is_empty());
        let s = status(&c);
        assert_eq!((s.replicas, s.ready_replicas), (3, Some(3)));
        assert_eq!(s.update_revision, revision, "the orphaned revision is adopted");
        assert_eq!(c.store.controller_revisions.len(), 1);
    }

    #[test]
    fn background_deletion_removes_pods_through_the_garbage_collector() {
        let c = running_lab("OrderedReady");
        crate::ops::delete::<StatefulSet>(&c, "default", "web", &DeleteOptions::default()).expect("delete");
        c.settle();
        assert_eq!(terminating(&c), ["web-0", "web-1", "web-2"], "pods terminate gracefully");
        assert!(c.store.controller_revisions.is_empty());
        finish_termination(&c);
        assert!(pod_names(&c).is_empty());
        assert_eq!(claim_names(&c).len(), 3, "claims are retained");
    }

    #[test]
    fn foreground_deletion_keeps_the_set_until_its_pods_are_gone() {
        let c = running_lab("OrderedReady");
        let opts = DeleteOptions { propagation: Propagation::Foreground, ..Default::default() };
        crate::ops::delete::<StatefulSet>(&c, "default", "web", &opts).expect("delete");
        c.settle();
        assert!(sts(&c).metadata.deletion_timestamp.is_some());
        assert_eq!(terminating(&c), ["web-0", "web-1", "web-2"]);
        assert!(events(&c, "SuccessfulCreate").len() == 6, "nothing is re-created");
        finish_termination(&c);
        assert!(c.store.statefulsets.get("default", "web").is_none());
        assert!(pod_names(&c).is_empty());
    }

    #[test]
    fn a_template_change_rolls_from_the_highest_ordinal() {
        let c = running_lab("OrderedReady");
        let old_rev = status(&c).update_revision.expect("revision");
        edit_spec(&c, |s| {
            if let Some(pod) = s.template.spec.as_mut() {
                pod.containers[0].image = Some("stslab/visits:2.0".to_owned());
            }
        });
        let s = status(&c);
        let new_rev = s.update_revision.clone().expect("revision");
        assert_ne!(new_rev, old_rev);
        assert_eq!(s.current_revision.as_deref(), Some(old_rev.as_str()));
        assert_eq!(s.observed_generation, Some(2));
        let revs = c.store.controller_revisions.list(Some("default")).0;
        assert_eq!(revs.len(), 2);
        let newest = revs.iter().find(|r| name_of(r.as_ref()) == new_rev).expect("new revision");
        assert_eq!(newest.revision, 2);

        for (target, untouched) in [("web-2", "web-1"), ("web-1", "web-0"), ("web-0", "")] {
            assert_eq!(terminating(&c), [target]);
            finish_termination(&c);
            let p = pod(&c, target);
            assert_eq!(revision_of(&p), new_rev);
            assert_eq!(p.spec.as_ref().map(|s| s.containers[0].image.clone()), Some(Some("stslab/visits:2.0".to_owned())));
            if !untouched.is_empty() {
                c.advance(SignedDuration::from_secs(10));
                assert!(terminating(&c).is_empty(), "waits for {target} to be ready");
                assert_eq!(revision_of(&pod(&c, untouched)), old_rev);
            }
            make_ready(&c, target);
        }
        let s = status(&c);
        assert_eq!(s.current_revision.as_deref(), Some(new_rev.as_str()));
        assert_eq!((s.current_replicas, s.updated_replicas), (Some(3), Some(3)));
        assert_eq!(
            events(&c, "SuccessfulDelete"),
            [
                "delete Pod web-2 in StatefulSet web successful",
                "delete Pod web-1 in StatefulSet web successful",
                "delete Pod web-0 in StatefulSet web successful",
            ]
        );
    }

    #[test]
    fn a_partition_keeps_lower_ordinals_at_the_old_revision() {
        let c = running_lab("OrderedReady");
        let old_rev = status(&c).update_revision.expect("revision");
        edit_spec(&c, |s| {
            if let Some(ru) = s.update_strategy.as_mut().and_then(|u| u.rolling_update.as_mut()) {
                ru.partition = Some(2);
            }
            if let Some(pod) = s.template.spec.as_mut() {
                pod.containers[0].image = Some("stslab/visits:2.0".to_owned());
            }
        });
        assert_eq!(terminating(&c), ["web-2"]);
        finish_termination(&c);
        make_ready(&c, "web-2");
        c.advance(SignedDuration::from_secs(30));
        assert!(terminating(&c).is_empty());
        assert_eq!(revision_of(&pod(&c, "web-1")), old_rev);
        let s = status(&c);
        assert_eq!((s.current_replicas, s.updated_replicas), (Some(2), Some(1)));
        // A pod below the partition that is deleted comes back at the old revision.
        crate::ops::delete::<Pod>(&c, "default", "web-0", &DeleteOptions::default()).expect("delete");
        finish_termination(&c);
        assert_eq!(revision_of(&pod(&c, "web-0")), old_rev);
    }

    #[test]
    fn on_delete_waits_for_the_user_to_delete_pods() {
        let c = running_lab("OrderedReady");
        edit_spec(&c, |s| {
            s.update_strategy = Some(k8s_openapi::api::apps::v1::StatefulSetUpdateStrategy { type_: Some("OnDelete".to_owned()), rolling_update: None });
            if let Some(pod) = s.template.spec.as_mut() {
                pod.containers[0].image = Some("stslab/visits:2.0".to_owned());
            }
        });
        c.advance(SignedDuration::from_secs(30));
        assert!(terminating(&c).is_empty());
        let new_rev = status(&c).update_revision.expect("revision");
        crate::ops::delete::<Pod>(&c, "default", "web-1", &DeleteOptions::default()).expect("delete");
        finish_termination(&c);
        assert_eq!(revision_of(&pod(&c, "web-1")), new_rev);
    }

    #[test]
    fn going_back_to_an_old_template_reuses_its_revision() {
        let c = running_lab("Parallel");
        let first = status(&c).update_revision.expect("revision");
        let set_image = |image: &str| {
            let image = image.to_owned();
            edit_spec(&c, move |s| {
                if let Some(pod) = s.template.spec.as_mut() {
                    pod.containers[0].image = Some(image);
                }
            });
        };
        set_image("stslab/visits:2.0");
        set_image("stslab/visits:1.0");
        assert_eq!(status(&c).update_revision.as_deref(), Some(first.as_str()));
        let revs = c.store.controller_revisions.list(Some("default")).0;
        assert_eq!(revs.len(), 2);
        assert_eq!(revs.iter().find(|r| name_of(r.as_ref()) == first).map(|r| r.revision), Some(3));
    }

    #[test]
    fn old_revisions_beyond_the_history_limit_are_pruned() {
        let c = running_lab("Parallel");
        edit_spec(&c, |s| s.revision_history_limit = Some(0));
        let first = status(&c).update_revision.expect("revision");
        edit_spec(&c, |s| {
            if let Some(pod) = s.template.spec.as_mut() {
                pod.containers[0].image = Some("stslab/visits:2.0".to_owned());
            }
        });
        for _ in 0..3 {
            finish_termination(&c);
            make_all_ready(&c);
        }
        let s = status(&c);
        assert_eq!(s.current_revision, s.update_revision);
        c.settle();
        let names: Vec<String> = c.store.controller_revisions.list(Some("default")).0.iter().map(|r| name_of(r.as_ref()).to_owned()).collect();
        assert_eq!(names, [s.update_revision.clone().expect("revision")]);
        assert!(!names.contains(&first));
    }

    #[test]
    fn revisions_record_the_template_as_a_replace_patch() {
        let c = lab("OrderedReady");
        let set = sts(&c);
        let name = status(&c).update_revision.expect("revision");
        let rev = c.store.controller_revisions.get("default", &name).expect("revision");
        assert_eq!(rev.revision, 1);
        let data = rev.data.as_ref().map(|d| d.0.clone()).expect("data");
        assert_eq!(data.pointer("/spec/template/$patch"), Some(&json!("replace")));
        assert_eq!(data.pointer("/spec/template/metadata/labels/app"), Some(&json!("web")));
        let labels = rev.metadata.labels.clone().expect("labels");
        assert_eq!(labels.get("app").map(String::as_str), Some("web"));
        let hash = labels.get(HASH_LABEL).expect("hash label");
        assert_eq!(name, format!("web-{hash}"));
        assert!(hash.len() >= 6 && hash.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
        let owner = controller_of(&rev.metadata).expect("owner");
        assert_eq!(Some(&owner.uid), set.metadata.uid.as_ref());
        assert_eq!(template_of(&rev).as_ref(), set.spec.as_ref().map(|s| &s.template));
    }

    #[test]
    fn min_ready_seconds_delays_the_next_pod() {
        let c = cluster();
        let text = manifest("OrderedReady").replace("  replicas: 3\n", "  replicas: 3\n  minReadySeconds: 10\n");
        crate::lab::load_manifest(&c, &text).expect("manifest");
        c.settle();
        make_ready(&c, "web-0");
        assert_eq!(pod_names(&c), ["web-0"]);
        assert_eq!(status(&c).available_replicas, Some(0));
        c.advance(SignedDuration::from_secs(9));
        assert_eq!(pod_names(&c), ["web-0"]);
        c.advance(SignedDuration::from_secs(1));
        assert_eq!(pod_names(&c), ["web-0", "web-1"]);
        assert_eq!(status(&c).available_replicas, Some(1));
    }

    #[test]
    fn when_scaled_delete_removes_the_claims_of_removed_pods() {
        let c = cluster();
        let text = manifest("Parallel").replace(
            "  volumeClaimTemplates:",
            "  persistentVolumeClaimRetentionPolicy:\n    whenScaled: Delete\n    whenDeleted: Retain\n  volumeClaimTemplates:",
        );
        crate::lab::load_manifest(&c, &text).expect("manifest");
        c.settle();
        make_all_ready(&c);
        c.advance(SignedDuration::from_secs(1));
        let volume = c.store.pvcs.get("default", "data-web-2").and_then(|p| p.spec.clone()).and_then(|s| s.volume_name);
        let volume = volume.expect("bound");
        scale(&c, 2);
        let claim = c.store.pvcs.get("default", "data-web-2").expect("claim stays while the pod terminates");
        let owner = controller_of(&claim.metadata).expect("owned by the pod");
        assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("Pod", "web-2"));
        assert!(c.store.pvcs.get("default", "data-web-1").is_some_and(|p| p.metadata.owner_references.is_none()));
        finish_termination(&c);
        assert_eq!(claim_names(&c), ["data-web-0", "data-web-1"]);
        assert!(c.store.pvs.get("", &volume).is_none(), "its volume is reclaimed");
        // Scaling up again gets a fresh claim.
        scale(&c, 3);
        assert_eq!(claim_names(&c), ["data-web-0", "data-web-1", "data-web-2"]);
    }

    #[test]
    fn when_deleted_delete_removes_claims_with_the_set() {
        let c = cluster();
        let text = manifest("Parallel").replace(
            "  volumeClaimTemplates:",
            "  persistentVolumeClaimRetentionPolicy:\n    whenScaled: Retain\n    whenDeleted: Delete\n  volumeClaimTemplates:",
        );
        crate::lab::load_manifest(&c, &text).expect("manifest");
        c.settle();
        let set_uid = sts(&c).metadata.uid.clone();
        let claim = c.store.pvcs.get("default", "data-web-0").expect("claim");
        assert_eq!(controller_of(&claim.metadata).map(|r| r.uid.clone()), set_uid);
        crate::ops::delete::<StatefulSet>(&c, "default", "web", &DeleteOptions::default()).expect("delete");
        c.settle();
        assert!(claim_names(&c).is_empty());
    }

    #[test]
    fn a_relabelled_pod_is_released_and_blocks_its_ordinal() {
        let c = running_lab("OrderedReady");
        let r: Result<_, StoreError> = c.store.pods.modify("default", "web-2", |p| {
            p.metadata.labels.get_or_insert_with(Default::default).insert("app".to_owned(), "debug".to_owned());
            Ok(true)
        });
        r.expect("relabel");
        c.settle();
        assert!(pod(&c, "web-2").metadata.owner_references.is_none(), "released");
        assert_eq!(pod_names(&c), ["web-0", "web-1", "web-2"]);
        assert_eq!(status(&c).replicas, 2);
    }

    #[test]
    fn ordinals_start_shifts_pod_names() {
        let c = cluster();
        let text = manifest("Parallel").replace("  replicas: 3\n", "  replicas: 2\n  ordinals:\n    start: 5\n");
        crate::lab::load_manifest(&c, &text).expect("manifest");
        c.settle();
        assert_eq!(pod_names(&c), ["web-5", "web-6"]);
        assert_eq!(claim_names(&c), ["data-web-5", "data-web-6"]);
    }

    #[test]
    fn a_quiet_cluster_writes_nothing() {
        let c = running_lab("OrderedReady");
        c.advance(SignedDuration::from_secs(1));
        let rv = c.store.shared.current_rv();
        c.settle();
        assert_eq!(c.store.shared.current_rv(), rv);
    }

    #[test]
    fn revision_hashes_are_stable_and_change_with_the_collision_count() {
        let data = json!({"spec": {"template": {"metadata": {"labels": {"app": "web"}}}}});
        assert_eq!(revision_hash(&data, 0), revision_hash(&data.clone(), 0));
        assert_ne!(revision_hash(&data, 0), revision_hash(&data, 1));
    }

    #[test]
    fn ordinals_parse_only_in_canonical_form() {
        assert_eq!(parent_and_ordinal("web-12"), Some(("web", 12)));
        assert_eq!(parent_and_ordinal("my-db-0"), Some(("my-db", 0)));
        assert_eq!(parent_and_ordinal("web-01"), None);
        assert_eq!(parent_and_ordinal("web-x"), None);
        assert_eq!(parent_and_ordinal("web"), None);
    }
}
