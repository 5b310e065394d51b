//! The garbage collector: deletes objects whose owners (by `ownerReferences`) are all
//! gone, and completes foreground deletions once the blocking dependents are gone.
//!
//! Like Kubernetes' collector it classifies each owner reference as *solid* (the owner
//! exists and is not being deleted in the foreground), *dangling* (no object with that
//! uid exists) or *waiting* (the owner is being deleted with the `foregroundDeletion`
//! finalizer). An object with a solid owner stays, losing its dangling and waiting
//! references; an object without one is deleted with Background propagation (Foreground
//! when it has dependents of its own and an owner waits for it), so pods terminate
//! gracefully. One pass lists every collection once to learn which uids exist.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::Ctx;
use crate::Cluster;
use crate::kinds::{ApiKind, name_of, namespace_of};
use crate::ops::{self, DeleteOptions, FOREGROUND_FINALIZER, Propagation};
use crate::store::{Collection, Store, StoreError};

/// What one pass knows about the objects in the store.
#[derive(Debug, Default)]
struct Graph {
    /// Every existing object's uid, with whether it waits for its dependents to be
    /// deleted (deletionTimestamp plus the `foregroundDeletion` finalizer).
    live: HashMap<String, bool>,
    /// Uids that some object names as an owner.
    owners: HashSet<String>,
    /// Owners that a remaining dependent blocks (`blockOwnerDeletion: true`).
    blocked: HashSet<String>,
    /// Whether some object needs its deletion finished (foreground owners, or objects
    /// whose finalizers are all gone).
    finishing: bool,
}

/// One pass.
pub fn reconcile(ctx: &Ctx) -> Option<Timestamp> {
    let store = &ctx.cluster.store;
    let mut graph = Graph::default();
    crate::for_each_collection!(store, |c| note_objects(c, &mut graph));
    crate::for_each_collection!(store, |c| collect_dependents(ctx.cluster, c, &mut graph));
    if graph.finishing {
        crate::for_each_collection!(store, |c| finish_deletions(c, &graph));
    }
    None
}

fn waits_for_dependents(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
        && meta.finalizers.as_deref().unwrap_or_default().iter().any(|f| f == FOREGROUND_FINALIZER)
}

/// Whether the deletion of an object of kind `K` is finished by the collector once its
/// finalizers are gone. Pods are removed by the kubelet when their containers stop;
/// namespaces by their own lifecycle.
fn collector_removes<K: ApiKind>() -> bool {
    !matches!(K::KIND, "Pod" | "Namespace")
}

fn note_objects<K: ApiKind>(c: &Collection<K>, graph: &mut Graph) {
    for obj in c.list(None).0 {
        let m = obj.metadata();
        let Some(uid) = m.uid.clone() else { continue };
        let waiting = waits_for_dependents(m);
        let unfinalized = m.deletion_timestamp.is_some()
            && m.finalizers.as_deref().unwrap_or_default().is_empty()
            && collector_removes::<K>();
        graph.finishing |= waiting || unfinalized;
        graph.live.insert(uid, waiting);
        for r in m.owner_references.iter().flatten() {
            graph.owners.insert(r.uid.clone());
        }
    }
}

fn note_blocking(refs: &[OwnerReference], graph: &mut Graph) {
    for r in refs.iter().filter(|r| r.block_owner_deletion == Some(true)) {
        graph.blocked.insert(r.uid.clone());
    }
}

/// Whether the owner a reference names exists right now, looked up by kind and name
/// (in `namespace` for namespaced kinds) and compared by uid. Guards against deleting
/// a dependent whose owner was created after this pass listed the store.
fn owner_exists(store: &Store, r: &OwnerReference, namespace: &str) -> bool {
    let mut found = false;
    crate::for_each_collection!(store, |c| found |= exists_in(c, r, namespace));
    found
}

fn exists_in<K: ApiKind>(c: &Collection<K>, r: &OwnerReference, namespace: &str) -> bool {
    if r.kind != K::KIND || r.api_version != K::API_VERSION {
        return false;
    }
    let ns = if K::NAMESPACED { namespace } else { "" };
    c.get(ns, &r.name).is_some_and(|o| o.metadata().uid.as_deref() == Some(r.uid.as_str()))
}

fn collect_dependents<K: ApiKind>(cluster: &Cluster, c: &Collection<K>, graph: &mut Graph) {
    for obj in c.list(None).0 {
        let m = obj.metadata();
        let refs = m.owner_references.as_deref().unwrap_or_default();
        if refs.is_empty() {
            continue;
        }
        if m.deletion_timestamp.is_some() {
            // Already going away: it still blocks its owners until it is gone.
            note_blocking(refs, graph);
            continue;
        }
        let (ns, name) = (namespace_of(obj.as_ref()).to_owned(), name_of(obj.as_ref()).to_owned());
        let mut solid = false;
        let mut waiting = false;
        let mut gone: Vec<&OwnerReference> = Vec::new();
        for r in refs {
            match graph.live.get(&r.uid) {
                Some(false) => solid = true,
                Some(true) => {
                    waiting = true;
                    gone.push(r);
                }
                None if owner_exists(&cluster.store, r, &ns) => solid = true,
                None => gone.push(r),
            }
        }
        if solid {
            if gone.is_empty() {
                note_blocking(refs, graph);
                continue;
            }
            // Keep the object; drop the references to owners that are gone or waiting
            // (a waiting owner would otherwise never finish its foreground deletion).
            let drop: HashSet<&str> = gone.iter().map(|r| r.uid.as_str()).collect();
            let kept: Vec<OwnerReference> = refs.iter().filter(|r| !drop.contains(r.uid.as_str())).cloned().collect();
            let updated: Result<_, StoreError> = c.modify(&ns, &name, |o| {
                let m = o.metadata_mut();
                if m.uid != obj.metadata().uid {
                    return Ok(false);
                }
                let before = m.owner_references.as_ref().map_or(0, Vec::len);
                m.owner_references.get_or_insert_with(Vec::new).retain(|r| !drop.contains(r.uid.as_str()));
                let after = m.owner_references.as_ref().map_or(0, Vec::len);
                if after == 0 {
                    m.owner_references = None;
                }
                Ok(after != before)
            });
            if let Err(e) = updated {
                tracing::debug!(error = %e, kind = K::KIND, %ns, %name, "could not remove owner references");
            }
            note_blocking(&kept, graph);
            continue;
        }
        let uid = m.uid.clone().unwrap_or_default();
        let propagation = if waiting && graph.owners.contains(&uid) { Propagation::Foreground } else { Propagation::Background };
        let opts = DeleteOptions { propagation, uid: Some(uid.clone()), ..Default::default() };
        match ops::delete::<K>(cluster, &ns, &name, &opts) {
            Ok(_) => {
                graph.finishing = true;
                if c.get(&ns, &name).is_some_and(|o| o.metadata().uid.as_deref() == Some(uid.as_str())) {
                    note_blocking(refs, graph);
                }
            }
            Err(e) => tracing::debug!(error = %e, kind = K::KIND, %ns, %name, "garbage collection could not delete"),
        }
    }
}

fn finish_deletions<K: ApiKind>(c: &Collection<K>, graph: &Graph) {
    for obj in c.list(None).0 {
        let m = obj.metadata();
        if m.deletion_timestamp.is_none() {
            continue;
        }
        let finalizers = m.finalizers.as_deref().unwrap_or_default();
        let foreground = finalizers.iter().any(|f| f == FOREGROUND_FINALIZER);
        if foreground {
            let uid = m.uid.clone().unwrap_or_default();
            if graph.blocked.contains(&uid) {
                continue;
            }
            let (ns, name) = (namespace_of(obj.as_ref()).to_owned(), name_of(obj.as_ref()).to_owned());
            let updated: Result<_, StoreError> = c.modify(&ns, &name, |o| {
                let m = o.metadata_mut();
                if m.uid.as_deref() != Some(uid.as_str()) {
                    return Ok(false);
                }
                let f = m.finalizers.get_or_insert_with(Vec::new);
                f.retain(|x| x != FOREGROUND_FINALIZER);
                if f.is_empty() {
                    m.finalizers = None;
                }
                Ok(true)
            });
            match updated {
                Ok(Some(o)) if o.metadata().finalizers.is_none() && collector_removes::<K>() => {
                    ops::finish_deletion(c, o.as_ref());
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, kind = K::KIND, %ns, %name, "could not remove the foreground finalizer"),
            }
        } else if finalizers.is_empty() && collector_removes::<K>() {
            ops::finish_deletion(c, obj.as_ref());
        }
    }
}
