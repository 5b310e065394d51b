//! The object store: what etcd plus the watch cache are in a real API server.
//!
//! One [`Collection`] per kind, indexed by `(namespace, name)` so namespace lists are a
//! range scan. Every write takes the next cluster-wide resourceVersion and is published
//! once, as an `Arc`, to every watcher of that kind and to a bounded history that lets a
//! watch resume from an older resourceVersion (or be told `410 Expired`).

mod collection;
mod dirty;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

pub use collection::{Change, ChangeType, Collection, WatchStart};
pub use dirty::{Dirty, Key};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Endpoints, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::sync::Notify;

use crate::durable::{Journal, Record};

/// How the journal names a kind: `apiVersion/kind`, e.g. `apps/v1/StatefulSet`.
pub fn kind_key<K: Object>() -> String {
    format!("{}/{}", K::API_VERSION, K::KIND)
}

/// What a stored object must be: a typed Kubernetes resource with standard metadata.
pub trait Object:
    k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
}

impl<K> Object for K where
    K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
}

/// Errors from store operations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// No object with that namespace and name.
    #[error("not found")]
    NotFound,
    /// An object with that namespace and name exists already.
    #[error("already exists")]
    AlreadyExists,
    /// The caller's resourceVersion is not the stored one.
    #[error("the object has been modified; please apply your changes to the latest version and try again")]
    Conflict,
    /// A watch asked for a resourceVersion older than the history kept.
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld {
        /// The version asked for.
        requested: u64,
        /// The oldest version still answerable.
        oldest: u64,
    },
}

/// State shared by every collection: the resourceVersion counter, the change bell and,
/// with a state directory, the journal every write is appended to.
#[derive(Debug, Default)]
pub struct Shared {
    rv: AtomicU64,
    ownership: AtomicU64,
    changed: Notify,
    journal: OnceLock<Arc<Journal>>,
}

impl Shared {
    /// Takes the next resourceVersion.
    pub(crate) fn next_rv(&self) -> u64 {
        self.rv.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The latest resourceVersion handed out.
    pub fn current_rv(&self) -> u64 {
        self.rv.load(Ordering::SeqCst)
    }

    /// Counts the writes that matter to garbage collection: removals, and objects whose
    /// owner references, deletion timestamp or finalizers were set or changed. While it
    /// stands still, a collector pass would find nothing new.
    pub fn ownership_version(&self) -> u64 {
        self.ownership.load(Ordering::SeqCst)
    }

    pub(crate) fn ownership_changed(&self) {
        self.ownership.fetch_add(1, Ordering::SeqCst);
    }

    /// The journal writes go to, if the cluster has a state directory.
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.get()
    }

    /// Appends an object's new state (or, with `deleted`, its removal) to the journal.
    fn record<K: Object>(&self, obj: &K, rv: u64, deleted: bool) {
        let Some(journal) = self.journal.get() else { return };
        let kind = kind_key::<K>();
        let namespace = obj.metadata().namespace.clone().unwrap_or_default();
        let name = obj.metadata().name.clone().unwrap_or_default();
        if deleted {
            journal.append(Record::Deleted { kind, namespace, name, rv });
            return;
        }
        match serde_json::to_vec(obj) {
            Ok(json) => journal.append(Record::Object { kind, namespace, name, rv, json }),
            Err(e) => tracing::error!(error = %e, %kind, %namespace, %name, "cannot encode an object for the journal"),
        }
    }

    /// Wakes whoever waits in [`Shared::changed`].
    pub(crate) fn notify(&self) {
        self.changed.notify_one();
    }

    /// Resolves after the next write to any collection (or at once if one happened
    /// since the last wait).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// Every collection the practice cluster serves.
#[derive(Debug)]
pub struct Store {
    /// Resource versions and change notification.
    pub shared: Arc<Shared>,
    /// core/v1 namespaces.
    pub namespaces: Collection<Namespace>,
    /// core/v1 nodes.
    pub nodes: Collection<Node>,
    /// core/v1 pods.
    pub pods: Collection<Pod>,
    /// core/v1 services.
    pub services: Collection<Service>,
    /// core/v1 endpoints.
    pub endpoints: Collection<Endpoints>,
    /// core/v1 events.
    pub events: Collection<Event>,
    /// core/v1 persistentvolumeclaims.
    pub pvcs: Collection<PersistentVolumeClaim>,
    /// core/v1 persistentvolumes.
    pub pvs: Collection<PersistentVolume>,
    /// discovery.k8s.io/v1 endpointslices.
    pub endpoint_slices: Collection<EndpointSlice>,
    /// storage.k8s.io/v1 storageclasses.
    pub storage_classes: Collection<StorageClass>,
    /// apps/v1 statefulsets.
    pub statefulsets: Collection<StatefulSet>,
    /// apps/v1 controllerrevisions.
    pub controller_revisions: Collection<ControllerRevision>,
}

impl Store {
    /// An empty store whose collections each keep up to `history` past changes for
    /// resuming watches.
    pub fn new(history: usize) -> Self {
        let shared = Arc::new(Shared::default());
        Store {
            namespaces: Collection::new(shared.clone(), history),
            nodes: Collection::new(shared.clone(), history),
            pods: Collection::new(shared.clone(), history),
            services: Collection::new(shared.clone(), history),
            endpoints: Collection::new(shared.clone(), history),
            events: Collection::new(shared.clone(), history),
            pvcs: Collection::new(shared.clone(), history),
            pvs: Collection::new(shared.clone(), history),
            endpoint_slices: Collection::new(shared.clone(), history),
            storage_classes: Collection::new(shared.clone(), history),
            statefulsets: Collection::new(shared.clone(), history),
            controller_revisions: Collection::new(shared.clone(), history),
            shared,
        }
    }

    /// Forces every client to re-list: takes a fresh resourceVersion, forgets all
    /// history before it and ends every open watch. A client resuming from any
    /// version it has seen gets `410 Expired` (what a long partition from an etcd
    /// that compacted meanwhile looks like). Used by tests and teachers' drills.
    pub fn expire_watches(&self) {
        let rv = self.shared.next_rv();
        crate::for_each_collection!(self, |c| c.expire(rv));
    }

    /// Loads what a state directory held: every object as it was (same UID and
    /// resourceVersion, no events), the resourceVersion counter above the last one,
    /// and no watch history, so a watch resuming from before the restart gets
    /// `410 Expired` and its client lists again. Then appends every later write to
    /// `journal`. Call on a new, empty store.
    pub fn restore(&self, restored: &crate::durable::Restored, journal: Arc<Journal>) {
        for (kind, json) in &restored.objects {
            let mut known = false;
            crate::for_each_collection!(self, |c| known |= c.restore(kind, json));
            if !known {
                tracing::warn!(%kind, "the state directory holds an object of an unknown kind; skipped");
            }
        }
        self.shared.rv.fetch_max(restored.rv, Ordering::SeqCst);
        self.compact();
        // Only the first journal counts; a store is restored once.
        let _ = self.shared.journal.set(journal);
    }

    /// Forgets all watch history, so any watch resuming from an older
    /// resourceVersion gets `410 Expired` (what etcd compaction does).
    pub fn compact(&self) {
        self.namespaces.compact();
        self.nodes.compact();
        self.pods.compact();
        self.services.compact();
        self.endpoints.compact();
        self.events.compact();
        self.pvcs.compact();
        self.pvs.compact();
        self.endpoint_slices.compact();
        self.storage_classes.compact();
        self.statefulsets.compact();
        self.controller_revisions.compact();
    }
}
