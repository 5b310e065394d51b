//! The volume controller: what Kubernetes' PersistentVolume controller and a dynamic
//! provisioner do together.
//!
//! - A Pending claim with no volume binds to a matching Available volume if there is one,
//!   otherwise, when its storage class uses the practice provisioner
//!   ([`crate::lab::PROVISIONER`]), gets a new volume `pvc-<claim uid>` once
//!   [`crate::Timings::provision`] has passed since the claim was created.
//! - Claims that cannot be provisioned stay Pending with one event saying why
//!   (`ProvisioningFailed` for an unknown class, `ExternalProvisioning` for another
//!   provisioner, `WaitForFirstConsumer`, `FailedBinding`).
//! - A volume whose claim is deleted is removed (reclaim policy `Delete`) or becomes
//!   `Released` (`Retain`); a bound claim whose volume disappears becomes `Lost`.
//!
//! [`volume_of_claim`] tells the kubelet which volume's files a pod's claim mounts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeSpec, PersistentVolumeStatus, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::{Ctx, Due};
use crate::Cluster;
use crate::events::{self, Severity, Source};
use crate::kinds::{name_of, namespace_of};
use crate::ops::{self, DeleteOptions};
use crate::store::{Store, StoreError};

/// Annotation naming the provisioner that created a volume.
pub const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// Annotation on a claim whose binding is complete.
pub const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Annotation on a claim or volume bound by the controller (not pre-bound by a user).
pub const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// Annotations naming the provisioner expected to provision a claim (beta and GA keys).
pub const STORAGE_PROVISIONER: [&str; 2] = ["volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner"];

/// Where provisioned volumes live on the practice node.
const VOLUME_ROOT: &str = "/var/lib/practice";

/// The name of the volume bound to claim `namespace/claim`, if the claim is bound and
/// the volume exists and names the claim back.
pub fn volume_of_claim(store: &Store, namespace: &str, claim: &str) -> Option<String> {
    let claim = store.pvcs.get(namespace, claim)?;
    let name = claim.spec.as_ref()?.volume_name.clone().filter(|n| !n.is_empty())?;
    let pv = store.pvs.get("", &name)?;
    let back = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref())?;
    (back.uid.is_some() && back.uid == claim.metadata.uid).then_some(name)
}

/// One pass.
pub fn reconcile(ctx: &Ctx) -> Option<Timestamp> {
    let store = &ctx.cluster.store;
    let (claims, _) = store.pvcs.list(None);
    let (volumes, _) = store.pvs.list(None);
    let by_key: HashMap<(&str, &str), &Arc<PersistentVolumeClaim>> = claims.iter().map(|c| ((namespace_of(c.as_ref()), name_of(c.as_ref())), c)).collect();
    for pv in &volumes {
        reconcile_volume(ctx.cluster, pv, &by_key);
    }
    // A deleted PersistentVolume's files go with it, in memory and on disk.
    let existing: HashSet<&str> = volumes.iter().map(|v| name_of(v.as_ref())).collect();
    ctx.cluster.runtime.lock().free_volumes(|name| existing.contains(name));
    if claims.is_empty() {
        return None;
    }
    let mut pass = Pass {
        volumes: volumes.iter().map(|v| (name_of(v.as_ref()), v)).collect(),
        claimed: HashMap::new(),
        taken: HashSet::new(),
        consumers: HashMap::new(),
        due: Due::default(),
    };
    for pv in &volumes {
        if let Some(uid) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).and_then(|r| r.uid.as_deref()) {
            pass.claimed.insert(uid, pv);
        }
    }
    for claim in &claims {
        reconcile_claim(ctx, claim, &mut pass);
    }
    pass.due.0
}

/// What a pass over the claims shares.
struct Pass<'a> {
    /// Volumes by name.
    volumes: HashMap<&'a str, &'a Arc<PersistentVolume>>,
    /// Volumes by the uid of the claim their `claimRef` names.
    claimed: HashMap<&'a str, &'a Arc<PersistentVolume>>,
    /// Volumes bound during this pass (the snapshot above does not show it).
    taken: HashSet<String>,
    /// Per namespace: claim name → creation time of the earliest pod using it
    /// (computed only when a WaitForFirstConsumer class needs it).
    consumers: HashMap<String, HashMap<String, Timestamp>>,
    due: Due,
}

fn phase_of_volume(pv: &PersistentVolume) -> &str {
    pv.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

fn set_volume_phase(cluster: &Cluster, name: &str, phase: &str) {
    let now = cluster.clock.now();
    let r: Result<_, StoreError> = cluster.store.pvs.modify("", name, |v| {
        let status = v.status.get_or_insert_with(Default::default);
        if status.phase.as_deref() == Some(phase) {
            return Ok(false);
        }
        status.phase = Some(phase.to_owned());
        status.last_phase_transition_time = Some(Time(now));
        Ok(true)
    });
    if let Err(e) = r {
        tracing::debug!(error = %e, volume = name, phase, "could not set volume phase");
    }
}

/// Keeps a volume's phase in step with its claim: Available when free, Bound when its
/// claim is bound to it, and reclaimed when the claim it was bound to is gone.
fn reconcile_volume(cluster: &Cluster, pv: &PersistentVolume, claims: &HashMap<(&str, &str), &Arc<PersistentVolumeClaim>>) {
    if pv.metadata.deletion_timestamp.is_some() {
        return;
    }
    let name = name_of(pv);
    let phase = phase_of_volume(pv);
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        if matches!(phase, "" | "Pending") {
            set_volume_phase(cluster, name, "Available");
        }
        return;
    };
    let key = (r.namespace.as_deref().unwrap_or_default(), r.name.as_deref().unwrap_or_default());
    let claim = claims.get(&key).filter(|c| r.uid.is_none() || r.uid == c.metadata.uid);
    match claim {
        Some(c) => {
            let bound_here = c.spec.as_ref().and_then(|s| s.volume_name.as_deref()) == Some(name);
            if bound_here && r.uid.is_some() {
                if phase != "Bound" {
                    set_volume_phase(cluster, name, "Bound");
                }
            } else if matches!(phase, "" | "Pending") {
                set_volume_phase(cluster, name, "Available");
            }
        }
        // Pre-bound by a user to a claim that does not exist yet: wait for it.
        None if r.uid.is_none() => {
            if matches!(phase, "" | "Pending") {
                set_volume_phase(cluster, name, "Available");
            }
        }
        None => {
            if matches!(phase, "Released" | "Failed") {
                return;
            }
            let reclaim = pv.spec.as_ref().and_then(|s| s.persistent_volume_reclaim_policy.as_deref()).unwrap_or("Retain");
            if reclaim == "Delete" {
                let opts = DeleteOptions { uid: pv.metadata.uid.clone(), ..Default::default() };
                if let Err(e) = ops::delete::<PersistentVolume>(cluster, "", name, &opts) {
                    tracing::debug!(error = %e, volume = name, "could not delete released volume");
                }
            } else {
                set_volume_phase(cluster, name, "Released");
            }
        }
    }
}

fn claim_phase(claim: &PersistentVolumeClaim) -> &str {
    claim.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

fn claim_event(cluster: &Cluster, claim: &PersistentVolumeClaim, severity: Severity, reason: &str, message: String) {
    events::record_once(cluster, Source::PersistentVolume, events::reference(claim, None), severity, reason, message);
}

fn reconcile_claim(ctx: &Ctx, claim: &Arc<PersistentVolumeClaim>, pass: &mut Pass<'_>) {
    let cluster = ctx.cluster;
    if claim.metadata.deletion_timestamp.is_some() {
        return;
    }
    let uid = claim.metadata.uid.as_deref().unwrap_or_default();
    let spec = claim.spec.as_ref();
    if let Some(volume) = spec.and_then(|s| s.volume_name.as_deref()).filter(|v| !v.is_empty()) {
        match pass.volumes.get(volume).copied() {
            Some(pv) => {
                let back = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
                match back {
                    Some(r) if r.uid.as_deref() == Some(uid) => finish_binding(cluster, claim, pv, false),
                    Some(r)
                        if r.uid.is_none()
                            && r.namespace.as_deref() == claim.metadata.namespace.as_deref()
                            && r.name.as_deref() == claim.metadata.name.as_deref() =>
                    {
                        bind_volume(cluster, claim, pv, pass, false);
                    }
                    None if !pass.taken.contains(volume) && phase_of_volume(pv) != "Released" => {
                        bind_volume(cluster, claim, pv, pass, false);
                    }
                    _ => claim_event(cluster, claim, Severity::Warning, "FailedBinding", format!("volume \"{volume}\" already bound to a different claim.")),
                }
            }
            None if claim_phase(claim) == "Bound" => {
                set_claim_lost(cluster, claim);
                claim_event(
                    cluster,
                    claim,
                    Severity::Warning,
                    "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!".to_owned(),
                );
            }
            None => {}
        }
        return;
    }
    // A volume already names this claim (provisioned in an earlier pass): finish binding.
    if let Some(pv) = pass.claimed.get(uid).copied() {
        finish_binding(cluster, claim, pv, true);
        return;
    }
    if let Some(pv) = find_available(claim, pass) {
        bind_volume(cluster, claim, &pv, pass, true);
        return;
    }
    let class_name = spec.and_then(|s| s.storage_class_name.clone()).unwrap_or_default();
    if class_name.is_empty() {
        claim_event(cluster, claim, Severity::Normal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set".to_owned());
        return;
    }
    let Some(class) = cluster.store.storage_classes.get("", &class_name) else {
        claim_event(cluster, claim, Severity::Warning, "ProvisioningFailed", format!("storageclass.storage.k8s.io \"{class_name}\" not found"));
        return;
    };
    if class.provisioner != crate::lab::PROVISIONER {
        claim_event(
            cluster,
            claim,
            Severity::Normal,
            "ExternalProvisioning",
            format!(
                "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
                class.provisioner
            ),
        );
        return;
    }
    let created = claim.metadata.creation_timestamp.as_ref().map_or(ctx.now, |t| t.0);
    let mut since = created;
    if class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer") {
        let ns = namespace_of(claim.as_ref());
        let consumers = pass.consumers.entry(ns.to_owned()).or_insert_with(|| consumers_in(&cluster.store, ns));
        match consumers.get(name_of(claim.as_ref())) {
            Some(t) => since = since.max(*t),
            None => {
                claim_event(cluster, claim, Severity::Normal, "WaitForFirstConsumer", "waiting for first consumer to be created before binding".to_owned());
                return;
            }
        }
    }
    let ready_at = since.checked_add(cluster.config.timings.provision).unwrap_or(since);
    if ctx.now < ready_at {
        pass.due.at(ready_at);
        return;
    }
    provision(cluster, claim, &class);
}

/// Claim name → creation time of the earliest pod in `namespace` that mounts it.
fn consumers_in(store: &Store, namespace: &str) -> HashMap<String, Timestamp> {
    let mut out: HashMap<String, Timestamp> = HashMap::new();
    for pod in store.pods.list(Some(namespace)).0 {
        let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0).unwrap_or_default();
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            if let Some(c) = &v.persistent_volume_claim {
                let t = out.entry(c.claim_name.clone()).or_insert(created);
                *t = (*t).min(created);
            }
        }
    }
    out
}

fn set_claim_lost(cluster: &Cluster, claim: &PersistentVolumeClaim) {
    let r: Result<_, StoreError> = cluster.store.pvcs.modify(namespace_of(claim), name_of(claim), |c| {
        if c.metadata.uid != claim.metadata.uid {
            return Ok(false);
        }
        let status = c.status.get_or_insert_with(Default::default);
        if status.phase.as_deref() == Some("Lost") {
            return Ok(false);
        }
        status.phase = Some("Lost".to_owned());
        Ok(true)
    });
    if let Err(e) = r {
        tracing::debug!(error = %e, claim = name_of(claim), "could not mark claim lost");
    }
}

/// A quantity such as `1Gi`, `500M` or `1e9` in bytes (fractions allowed).
fn quantity_value(q: &str) -> Option<f64> {
    let q = q.trim();
    let end = q.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(q.len());
    let (number, suffix) = q.split_at(end);
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => {
            let e: i32 = exp.strip_prefix(['e', 'E'])?.parse().ok()?;
            10f64.powi(e)
        }
    };
    Some(n * factor)
}

fn storage_of(map: Option<&BTreeMap<String, Quantity>>) -> Option<f64> {
    map.and_then(|m| m.get("storage")).and_then(|q| quantity_value(&q.0))
}

/// The smallest Available volume that satisfies the claim (class, size, access modes,
/// volume mode), preferring one pre-bound to it by `claimRef`.
fn find_available(claim: &PersistentVolumeClaim, pass: &Pass<'_>) -> Option<Arc<PersistentVolume>> {
    let spec = claim.spec.as_ref()?;
    let class = spec.storage_class_name.as_deref().unwrap_or_default();
    let wanted = storage_of(spec.resources.as_ref().and_then(|r| r.requests.as_ref())).unwrap_or(0.0);
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    let mode = spec.volume_mode.as_deref().unwrap_or("Filesystem");
    let mut best: Option<(bool, f64, &Arc<PersistentVolume>)> = None;
    for pv in pass.volumes.values() {
        let Some(vs) = pv.spec.as_ref() else { continue };
        if pv.metadata.deletion_timestamp.is_some() || pass.taken.contains(name_of(pv.as_ref())) || !matches!(phase_of_volume(pv), "" | "Pending" | "Available")
        {
            continue;
        }
        let prebound = match &vs.claim_ref {
            None => false,
            Some(r)
                if r.namespace.as_deref() == claim.metadata.namespace.as_deref()
                    && r.name.as_deref() == claim.metadata.name.as_deref()
                    && (r.uid.is_none() || r.uid == claim.metadata.uid) =>
            {
                true
            }
            Some(_) => continue,
        };
        let size = storage_of(vs.capacity.as_ref()).unwrap_or(0.0);
        let fits = vs.storage_class_name.as_deref().unwrap_or_default() == class
            && size >= wanted
            && modes.iter().all(|m| vs.access_modes.iter().flatten().any(|v| v == m))
            && vs.volume_mode.as_deref().unwrap_or("Filesystem") == mode;
        if !fits {
            continue;
        }
        let better = match &best {
            None => true,
            Some((p, s, _)) => (prebound && !p) || (prebound == *p && size < *s),
        };
        if better {
            best = Some((prebound, size, pv));
        }
    }
    best.map(|(_, _, pv)| pv.clone())
}

fn claim_reference(claim: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("PersistentVolumeClaim".to_owned()),
        name: claim.metadata.name.clone(),
        namespace: claim.metadata.namespace.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Points an Available volume at the claim, then completes the claim's side.
fn bind_volume(cluster: &Cluster, claim: &PersistentVolumeClaim, pv: &PersistentVolume, pass: &mut Pass<'_>, by_controller: bool) {
    let name = name_of(pv);
    let now = cluster.clock.now();
    let r: Result<_, StoreError> = cluster.store.pvs.modify("", name, |v| {
        if v.metadata.uid != pv.metadata.uid {
            return Ok(false);
        }
        let spec = v.spec.get_or_insert_with(Default::default);
        spec.claim_ref = Some(claim_reference(claim));
        v.metadata.annotations.get_or_insert_with(Default::default).insert(BOUND_BY_CONTROLLER.to_owned(), "yes".to_owned());
        let status = v.status.get_or_insert_with(Default::default);
        status.phase = Some("Bound".to_owned());
        status.last_phase_transition_time = Some(Time(now));
        Ok(true)
    });
    match r {
        Ok(Some(bound)) => {
            pass.taken.insert(name.to_owned());
            finish_binding(cluster, claim, &bound, by_controller);
        }
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, volume = name, "could not bind volume"),
    }
}

/// Completes the claim's side of a binding: `volumeName`, annotations and status.
/// Writes only when something is missing, so bound claims cost nothing on later passes.
fn finish_binding(cluster: &Cluster, claim: &PersistentVolumeClaim, pv: &PersistentVolume, by_controller: bool) {
    let provisioner = pv.metadata.annotations.as_ref().and_then(|a| a.get(PROVISIONED_BY));
    let complete = |c: &PersistentVolumeClaim| {
        let has = |k: &str, v: &str| c.metadata.annotations.as_ref().and_then(|a| a.get(k)).is_some_and(|x| x == v);
        let status = c.status.as_ref();
        let vs = pv.spec.as_ref();
        c.spec.as_ref().and_then(|s| s.volume_name.as_deref()) == pv.metadata.name.as_deref()
            && has(BIND_COMPLETED, "yes")
            && (!by_controller || has(BOUND_BY_CONTROLLER, "yes"))
            && provisioner.is_none_or(|p| STORAGE_PROVISIONER.iter().all(|k| has(k, p)))
            && status.and_then(|s| s.phase.as_deref()) == Some("Bound")
            && status.and_then(|s| s.capacity.as_ref()) == vs.and_then(|s| s.capacity.as_ref())
            && status.and_then(|s| s.access_modes.as_ref()) == vs.and_then(|s| s.access_modes.as_ref())
    };
    if complete(claim) {
        return;
    }
    let volume = name_of(pv);
    let spec = pv.spec.clone().unwrap_or_default();
    let mut annotations: Vec<(&str, String)> = vec![(BIND_COMPLETED, "yes".to_owned())];
    if by_controller {
        annotations.push((BOUND_BY_CONTROLLER, "yes".to_owned()));
    }
    if let Some(p) = provisioner {
        annotations.extend(STORAGE_PROVISIONER.iter().map(|k| (*k, p.clone())));
    }
    let r: Result<_, StoreError> = cluster.store.pvcs.modify(namespace_of(claim), name_of(claim), |c| {
        if c.metadata.uid != claim.metadata.uid || complete(c) {
            return Ok(false);
        }
        c.spec.get_or_insert_with(Default::default).volume_name = Some(volume.to_owned());
        let a = c.metadata.annotations.get_or_insert_with(Default::default);
        for (k, v) in &annotations {
            a.insert((*k).to_owned(), v.clone());
        }
        let status = c.status.get_or_insert_with(Default::default);
        status.phase = Some("Bound".to_owned());
        status.capacity = spec.capacity.clone();
        status.access_modes = spec.access_modes.clone();
        Ok(true)
    });
    if let Err(e) = r {
        tracing::debug!(error = %e, claim = name_of(claim), "could not complete binding");
    }
}

/// Creates the claim's volume `pvc-<uid>` on the practice node and binds it.
fn provision(cluster: &Cluster, claim: &PersistentVolumeClaim, class: &StorageClass) {
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let name = format!("pvc-{uid}");
    let spec = claim.spec.clone().unwrap_or_default();
    let Some(storage) = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).cloned() else {
        claim_event(
            cluster,
            claim,
            Severity::Warning,
            "ProvisioningFailed",
            format!("failed to provision volume with StorageClass \"{}\": claim.spec.resources.requests.storage is required", name_of(class)),
        );
        return;
    };
    let pv = PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            annotations: Some([(PROVISIONED_BY.to_owned(), class.provisioner.clone())].into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: spec.access_modes.clone(),
            capacity: Some([("storage".to_owned(), storage)].into()),
            claim_ref: Some(claim_reference(claim)),
            host_path: Some(HostPathVolumeSource { path: format!("{VOLUME_ROOT}/{name}"), type_: Some("DirectoryOrCreate".to_owned()) }),
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![NodeSelectorRequirement {
                            key: "kubernetes.io/hostname".to_owned(),
                            operator: "In".to_owned(),
                            values: Some(vec![cluster.config.node_name.clone()]),
                        }]),
                        match_fields: None,
                    }],
                }),
            }),
            mount_options: class.mount_options.clone(),
            persistent_volume_reclaim_policy: Some(class.reclaim_policy.clone().unwrap_or_else(|| "Delete".to_owned())),
            storage_class_name: Some(name_of(class).to_owned()),
            volume_mode: Some(spec.volume_mode.clone().unwrap_or_else(|| "Filesystem".to_owned())),
            ..Default::default()
        }),
        status: Some(PersistentVolumeStatus {
            phase: Some("Bound".to_owned()),
            last_phase_transition_time: Some(Time(cluster.clock.now())),
            ..Default::default()
        }),
    };
    let created = match ops::create::<PersistentVolume>(cluster, None, pv, false) {
        Ok(pv) => {
            claim_event(cluster, claim, Severity::Normal, "ProvisioningSucceeded", format!("Successfully provisioned volume {name}"));
            pv
        }
        Err(e) if e.code == 409 => match cluster.store.pvs.get("", &name) {
            Some(pv) => pv,
            None => return,
        },
        Err(e) => {
            claim_event(
                cluster,
                claim,
                Severity::Warning,
                "ProvisioningFailed",
                format!("failed to provision volume with StorageClass \"{}\": {}", name_of(class), e.message),
            );
            return;
        }
    };
    finish_binding(cluster, claim, &created, true);
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use k8s_openapi::api::core::v1::Event;

    use super::*;
    use crate::controllers::statefulset::test_support::cluster;

    fn apply(c: &Cluster, yaml: &str) {
        crate::lab::load_manifest(c, yaml).expect("manifest loads");
        c.settle();
    }

    fn claim_yaml(name: &str, class: Option<&str>, size: &str) -> String {
        let class = class.map(|c| format!("  storageClassName: \"{c}\"\n")).unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n{class}  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}\n"
        )
    }

    fn claim(c: &Cluster, name: &str) -> Arc<PersistentVolumeClaim> {
        c.store.pvcs.get("default", name).expect("claim exists")
    }

    fn phase(c: &Cluster, name: &str) -> String {
        claim_phase(&claim(c, name)).to_owned()
    }

    fn claim_events(c: &Cluster, name: &str) -> Vec<Event> {
        let mut events: Vec<Event> =
            c.store.events.list(Some("default")).0.into_iter().filter(|e| e.involved_object.name.as_deref() == Some(name)).map(|e| (*e).clone()).collect();
        // Event names are hashes, so the list is in no particular order: oldest first.
        events.sort_by_key(|e| e.metadata.resource_version.as_ref().and_then(|rv| rv.parse::<u64>().ok()));
        events
    }

    #[test]
    fn a_claim_is_provisioned_and_bound_after_the_provisioning_delay() {
        let c = cluster();
        apply(&c, &claim_yaml("data", None, "1Gi"));
        assert_eq!(phase(&c, "data"), "Pending");
        assert!(c.store.pvs.is_empty());
        c.advance(c.config.timings.provision - SignedDuration::from_millis(1));
        assert!(c.store.pvs.is_empty(), "not before the delay");
        c.advance(SignedDuration::from_millis(1));

        let pvc = claim(&c, "data");
        let uid = pvc.metadata.uid.clone().expect("uid");
        let volume = format!("pvc-{uid}");
        assert_eq!(pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()), Some(volume.as_str()));
        let status = pvc.status.clone().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Bound"));
        assert_eq!(status.capacity.as_ref().and_then(|c| c.get("storage")).map(|q| q.0.as_str()), Some("1Gi"));
        assert_eq!(status.access_modes, Some(vec!["ReadWriteOnce".to_owned()]));
        let annotations = pvc.metadata.annotations.clone().expect("annotations");
        for (k, v) in [
            (BIND_COMPLETED, "yes"),
            (BOUND_BY_CONTROLLER, "yes"),
            (STORAGE_PROVISIONER[0], crate::lab::PROVISIONER),
            (STORAGE_PROVISIONER[1], crate::lab::PROVISIONER),
        ] {
            assert_eq!(annotations.get(k).map(String::as_str), Some(v), "{k}");
        }

        let pv = c.store.pvs.get("", &volume).expect("volume");
        let spec = pv.spec.clone().expect("spec");
        assert_eq!(spec.capacity.as_ref().and_then(|c| c.get("storage")).map(|q| q.0.as_str()), Some("1Gi"));
        assert_eq!(spec.storage_class_name.as_deref(), Some("standard"));
        assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Delete"));
        assert_eq!(spec.host_path.map(|h| h.path), Some(format!("/var/lib/practice/{volume}")));
        let claim_ref = spec.claim_ref.expect("claimRef");
        assert_eq!(
            (claim_ref.kind.as_deref(), claim_ref.namespace.as_deref(), claim_ref.name.as_deref()),
            (Some("PersistentVolumeClaim"), Some("default"), Some("data"))
        );
        assert_eq!(claim_ref.uid.as_deref(), Some(uid.as_str()));
        assert_eq!(phase_of_volume(&pv), "Bound");
        assert_eq!(pv.metadata.annotations.as_ref().and_then(|a| a.get(PROVISIONED_BY)).map(String::as_str), Some(crate::lab::PROVISIONER));
        let messages: Vec<_> = claim_events(&c, "data").iter().filter_map(|e| e.message.clone()).collect();
        assert_eq!(messages, [format!("Successfully provisioned volume {volume}")]);
        assert_eq!(volume_of_claim(&c.store, "default", "data"), Some(volume));
        assert_eq!(volume_of_claim(&c.store, "default", "other"), None);
    }

    #[test]
    fn an_unknown_storage_class_leaves_the_claim_pending_with_one_warning() {
        let c = cluster();
        apply(&c, &claim_yaml("data", Some("fast"), "1Gi"));
        c.advance(SignedDuration::from_secs(30));
        assert_eq!(phase(&c, "data"), "Pending");
        assert!(c.store.pvs.is_empty());
        let evs = claim_events(&c, "data");
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].type_.as_deref(), Some("Warning"));
        assert_eq!(evs[0].reason.as_deref(), Some("ProvisioningFailed"));
        assert_eq!(evs[0].message.as_deref(), Some("storageclass.storage.k8s.io \"fast\" not found"));
        assert_eq!(evs[0].count, Some(1));
        assert_eq!(volume_of_claim(&c.store, "default", "data"), None);

        // Creating the class later lets provisioning go ahead.
        apply(
            &c,
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: fast\nprovisioner: practice.stslab.dev/local\nreclaimPolicy: Retain\n",
        );
        assert_eq!(phase(&c, "data"), "Bound");
    }

    #[test]
    fn deleting_a_bound_claim_reclaims_its_volume_by_policy() {
        let c = cluster();
        apply(
            &c,
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: keep\nprovisioner: practice.stslab.dev/local\nreclaimPolicy: Retain\n",
        );
        apply(&c, &claim_yaml("scratch", None, "1Gi"));
        apply(&c, &claim_yaml("precious", Some("keep"), "2Gi"));
        c.advance(SignedDuration::from_secs(1));
        let scratch = volume_of_claim(&c.store, "default", "scratch").expect("bound");
        let precious = volume_of_claim(&c.store, "default", "precious").expect("bound");
        for name in ["scratch", "precious"] {
            ops::delete::<PersistentVolumeClaim>(&c, "default", name, &DeleteOptions::default()).expect("delete");
        }
        c.settle();
        assert!(c.store.pvs.get("", &scratch).is_none(), "Delete: the volume goes with the claim");
        let kept = c.store.pvs.get("", &precious).expect("Retain: the volume stays");
        assert_eq!(phase_of_volume(&kept), "Released");

        // A new claim of the same name does not get the released volume back.
        apply(&c, &claim_yaml("precious", Some("keep"), "2Gi"));
        c.advance(SignedDuration::from_secs(1));
        let again = volume_of_claim(&c.store, "default", "precious").expect("bound");
        assert_ne!(again, precious);
    }

    #[test]
    fn a_claim_without_class_binds_to_a_fitting_available_volume() {
        let c = cluster();
        let pv = |name: &str, size: &str| {
            format!(
                "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  storageClassName: \"\"\n  capacity:\n    storage: {size}\n  accessModes: [ReadWriteOnce]\n  hostPath:\n    path: /tmp/{name}\n"
            )
        };
        apply(&c, &pv("small", "500Mi"));
        apply(&c, &pv("big", "10Gi"));
        apply(&c, &pv("right", "2Gi"));
        assert_eq!(c.store.pvs.get("", "right").map(|v| phase_of_volume(&v).to_owned()).as_deref(), Some("Available"));
        apply(&c, &claim_yaml("data", Some(""), "1Gi"));
        assert_eq!(volume_of_claim(&c.store, "default", "data").as_deref(), Some("right"));
        assert_eq!(phase(&c, "data"), "Bound");
        let status = claim(&c, "data").status.clone().expect("status");
        assert_eq!(status.capacity.as_ref().and_then(|c| c.get("storage")).map(|q| q.0.as_str()), Some("2Gi"));
        assert_eq!(c.store.pvs.get("", "right").map(|v| phase_of_volume(&v).to_owned()).as_deref(), Some("Bound"));

        apply(&c, &claim_yaml("huge", Some(""), "100Gi"));
        c.advance(SignedDuration::from_secs(5));
        assert_eq!(phase(&c, "huge"), "Pending");
        let reasons: Vec<_> = claim_events(&c, "huge").iter().filter_map(|e| e.reason.clone()).collect();
        assert_eq!(reasons, ["FailedBinding"]);
    }

    #[test]
    fn a_bound_claim_whose_volume_vanishes_is_lost() {
        let c = cluster();
        apply(&c, &claim_yaml("data", None, "1Gi"));
        c.advance(SignedDuration::from_secs(1));
        let volume = volume_of_claim(&c.store, "default", "data").expect("bound");
        c.store.pvs.remove("", &volume);
        c.settle();
        assert_eq!(phase(&c, "data"), "Lost");
        let reasons: Vec<_> = claim_events(&c, "data").iter().filter_map(|e| e.reason.clone()).collect();
        assert_eq!(reasons, ["ProvisioningSucceeded", "ClaimLost"]);
    }

    #[test]
    fn quantities_parse_like_kubernetes() {
        assert_eq!(quantity_value("1Gi"), Some(1024f64.powi(3)));
        assert_eq!(quantity_value("500M"), Some(5e8));
        assert_eq!(quantity_value("1.5Ki"), Some(1536.0));
        assert_eq!(quantity_value("1e3"), Some(1000.0));
        assert_eq!(quantity_value("100m"), Some(0.1));
        assert_eq!(quantity_value("12"), Some(12.0));
        assert_eq!(quantity_value("lots"), None);
        assert_eq!(quantity_value("1Xi"), None);
    }
}
