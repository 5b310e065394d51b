//! The garbage collector: deletes objects whose owners (by `ownerReferences`) are all
//! gone, and completes foreground deletions once the blocking dependents are gone.
//!
//! Like Kubernetes' collector it classifies each owner reference as *solid* (the owner
//! exists and is not being deleted in the foreground), *dangling* (no object with that
//! uid exists) or *waiting* (the owner is being deleted with the `foregroundDeletion`
//! finalizer). An object with a solid owner stays, losing its dangling and waiting
//! references; an object without one is deleted with Background propagation (Foreground
//! when it has dependents of its own and an owner waits for it), so pods terminate
//! gracefully. A pass first learns which uids are named as owners and which of those
//! exist, then visits the dependents.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

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
    /// The uid of every existing object that some object names as an owner, with
    /// whether it waits for its dependents to be deleted (deletionTimestamp plus the
    /// `foregroundDeletion` finalizer).
    live: HashMap<String, bool>,
    /// Uids that some object names as an owner.
    owners: HashSet<String>,
    /// Owners that a remaining dependent blocks (`blockOwnerDeletion: true`).
    blocked: HashSet<String>,
    /// Whether some object needs its deletion finished (foreground owners, or objects
    /// whose finalizers are all gone).
    finishing: bool,
}

/// One pass, when something the collector looks at changed since the last.
pub fn reconcile(ctx: &Ctx) -> Option<Timestamp> {
    let store = &ctx.cluster.store;
    // Status writes (most writes) change nothing the collector looks at.
    let version = store.shared.ownership_version();
    if ctx.cluster.gc_seen.load(Ordering::SeqCst) == version {
        return None;
    }
    collect(ctx);
    ctx.cluster.gc_seen.store(version, Ordering::SeqCst);
    None
}

/// One pass over every object.
fn collect(ctx: &Ctx) {
    let store = &ctx.cluster.store;
    let mut graph = Graph::default();
    crate::for_each_collection!(store, |c| note_owners(c, &mut graph));
    if graph.owners.is_empty() && !graph.finishing {
        return;
    }
    crate::for_each_collection!(store, |c| note_live_owners(c, &mut graph));
    crate::for_each_collection!(store, |c| collect_dependents(ctx.cluster, c, &mut graph));
    if graph.finishing {
        crate::for_each_collection!(store, |c| finish_deletions(c, &graph));
    }
}

fn waits_for_dependents(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some() && meta.finalizers.as_deref().unwrap_or_default().iter().any(|f| f == FOREGROUND_FINALIZER)
}

/// Whether the deletion of an object of kind `K` is finished by the collector once its
/// finalizers are gone. Pods are removed by the kubelet when their containers stop;
/// namespaces by their own lifecycle.
fn collector_removes<K: ApiKind>() -> bool {
    !matches!(K::KIND, "Pod" | "Namespace")
}

/// Notes every uid named as an owner, and whether some deletion needs finishing.
fn note_owners<K: ApiKind>(c: &Collection<K>, graph: &mut Graph) {
    for obj in c.list(None).0 {
        let m = obj.metadata();
        if m.deletion_timestamp.is_some() {
            let unfinalized = m.finalizers.as_deref().unwrap_or_default().is_empty() && collector_removes::<K>();
            graph.finishing |= waits_for_dependents(m) || unfinalized;
        }
        for r in m.owner_references.iter().flatten() {
            if !graph.owners.contains(&r.uid) {
                graph.owners.insert(r.uid.clone());
            }
        }
    }
}

/// Records which of the named owners exist, and which of those wait for their
/// dependents (only owners are recorded: most objects own nothing).
fn note_live_owners<K: ApiKind>(c: &Collection<K>, graph: &mut Graph) {
    for obj in c.list(None).0 {
        let m = obj.metadata();
        if let Some(uid) = m.uid.as_ref().filter(|u| graph.owners.contains(*u)) {
            graph.live.insert(uid.clone(), waits_for_dependents(m));
        }
    }
}

fn note_blocking(refs: &[OwnerReference], graph: &mut Graph) {
    for r in refs.iter().filter(|r| r.block_owner_deletion == Some(true)) {
        if !graph.blocked.contains(&r.uid) {
            graph.blocked.insert(r.uid.clone());
        }
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
        let (ns, name) = (namespace_of(obj.as_ref()), name_of(obj.as_ref()));
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
                None if owner_exists(&cluster.store, r, ns) => solid = true,
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
            let updated: Result<_, StoreError> = c.modify(ns, name, |o| {
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
        match ops::delete::<K>(cluster, ns, name, &opts) {
            Ok(_) => {
                graph.finishing = true;
                if c.get(ns, name).is_some_and(|o| o.metadata().uid.as_deref() == Some(uid.as_str())) {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::{Container, PersistentVolumeClaim, Pod, PodSpec, Service};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::controllers::statefulset::test_support::{cluster, finish_termination};

    fn service(c: &Cluster, name: &str) -> Arc<Service> {
        let svc = Service { metadata: ObjectMeta { name: Some(name.to_owned()), ..Default::default() }, ..Default::default() };
        ops::create(c, Some("default"), svc, false).expect("service created")
    }

    fn owned_by(owners: &[&Service], block: bool) -> Vec<OwnerReference> {
        owners
            .iter()
            .map(|o| OwnerReference {
                api_version: "v1".to_owned(),
                kind: "Service".to_owned(),
                name: o.metadata.name.clone().unwrap_or_default(),
                uid: o.metadata.uid.clone().unwrap_or_default(),
                controller: None,
                block_owner_deletion: Some(block),
            })
            .collect()
    }

    /// A pod owned by `owners`; `scheduled` pods terminate gracefully when deleted.
    fn pod(c: &Cluster, name: &str, owners: Vec<OwnerReference>, scheduled: bool) -> Arc<Pod> {
        let pod = Pod {
            metadata: ObjectMeta { name: Some(name.to_owned()), owner_references: Some(owners), ..Default::default() },
            spec: Some(PodSpec {
                containers: vec![Container { name: "app".to_owned(), image: Some("busybox".to_owned()), ..Default::default() }],
                node_name: scheduled.then(|| "test-node".to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        };
        ops::create(c, Some("default"), pod, false).expect("pod created")
    }

    fn delete_service(c: &Cluster, name: &str, propagation: Propagation) {
        ops::delete::<Service>(c, "default", name, &DeleteOptions { propagation, ..Default::default() }).expect("deleted");
        c.settle();
    }

    #[test]
    fn dependents_of_a_deleted_owner_are_deleted_and_pods_terminate_gracefully() {
        let c = cluster();
        let owner = service(&c, "owner");
        pod(&c, "running", owned_by(&[&owner], false), true);
        pod(&c, "pending", owned_by(&[&owner], false), false);
        pod(&c, "unrelated", Vec::new(), true);
        c.settle();
        assert_eq!(c.store.pods.len(), 3, "owners exist: nothing is collected");

        delete_service(&c, "owner", Propagation::Background);
        let running = c.store.pods.get("default", "running").expect("still terminating");
        assert!(running.metadata.deletion_timestamp.is_some());
        assert!(c.store.pods.get("default", "pending").is_none(), "an unscheduled pod goes at once");
        assert!(c.store.pods.get("default", "unrelated").is_some_and(|p| p.metadata.deletion_timestamp.is_none()));
        finish_termination(&c);
        assert!(c.store.pods.get("default", "running").is_none());
    }

    #[test]
    fn an_object_with_a_remaining_owner_stays_and_loses_the_dangling_reference() {
        let c = cluster();
        let a = service(&c, "a");
        let b = service(&c, "b");
        pod(&c, "shared", owned_by(&[&a, &b], false), true);
        delete_service(&c, "a", Propagation::Background);
        let p = c.store.pods.get("default", "shared").expect("kept");
        assert!(p.metadata.deletion_timestamp.is_none());
        let refs: Vec<_> = p.metadata.owner_references.iter().flatten().map(|r| r.name.clone()).collect();
        assert_eq!(refs, ["b"]);
        delete_service(&c, "b", Propagation::Background);
        assert!(c.store.pods.get("default", "shared").is_some_and(|p| p.metadata.deletion_timestamp.is_some()));
    }

    #[test]
    fn foreground_deletion_waits_for_blocking_dependents() {
        let c = cluster();
        let owner = service(&c, "owner");
        pod(&c, "child", owned_by(&[&owner], true), true);
        delete_service(&c, "owner", Propagation::Foreground);
        let svc = c.store.services.get("default", "owner").expect("waits for its dependents");
        assert!(svc.metadata.deletion_timestamp.is_some());
        assert!(c.store.pods.get("default", "child").is_some_and(|p| p.metadata.deletion_timestamp.is_some()));
        c.settle();
        assert!(c.store.services.get("default", "owner").is_some(), "the child is still terminating");
        finish_termination(&c);
        assert!(c.store.services.get("default", "owner").is_none());
    }

    #[test]
    fn foreground_deletion_without_dependents_completes() {
        let c = cluster();
        service(&c, "lonely");
        delete_service(&c, "lonely", Propagation::Foreground);
        assert!(c.store.services.get("default", "lonely").is_none());
    }

    #[test]
    fn an_object_whose_finalizers_are_removed_is_deleted() {
        let c = cluster();
        let claim = PersistentVolumeClaim {
            metadata: ObjectMeta { name: Some("held".to_owned()), finalizers: Some(vec!["example.com/hold".to_owned()]), ..Default::default() },
            ..Default::default()
        };
        ops::create(&c, Some("default"), claim, false).expect("claim");
        ops::delete::<PersistentVolumeClaim>(&c, "default", "held", &DeleteOptions::default()).expect("delete");
        c.settle();
        assert!(c.store.pvcs.get("default", "held").is_some_and(|p| p.metadata.deletion_timestamp.is_some()));
        let r: Result<_, StoreError> = c.store.pvcs.modify("default", "held", |p| {
            p.metadata.finalizers = None;
            Ok(true)
        });
        r.expect("finalizer removed");
        c.settle();
        assert!(c.store.pvcs.get("default", "held").is_none());
    }
}
