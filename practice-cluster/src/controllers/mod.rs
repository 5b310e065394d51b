//! The controllers: each is a `reconcile` function that looks at the store, makes
//! one round of changes, and says when it next needs to run (a probe, a timeout).
//! [`reconcile_all`] runs them in the order a real cluster's changes would flow.

pub mod endpoints;
pub mod gc;
pub mod kubelet;
pub mod pod_queue;
pub mod queue;
pub mod service_queue;
pub mod set_queue;
pub mod statefulset;
pub mod volumes;

use jiff::Timestamp;

use crate::Cluster;
use crate::store::Store;

/// What a controller pass can see.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// The cluster.
    pub cluster: &'a Cluster,
    /// The time of this pass.
    pub now: Timestamp,
}

/// The earliest of several "run me again at" times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Due(pub Option<Timestamp>);

impl Due {
    /// Notes that something falls due at `t`.
    pub fn at(&mut self, t: Timestamp) {
        if self.0.is_none_or(|d| t < d) {
            self.0 = Some(t);
        }
    }

    /// Merges another controller's due time.
    pub fn merge(&mut self, other: Option<Timestamp>) {
        if let Some(t) = other {
            self.at(t);
        }
    }
}

/// Runs one pass of every controller; returns when the next one falls due.
pub fn reconcile_all(cluster: &Cluster, now: Timestamp) -> Option<Timestamp> {
    let ctx = Ctx { cluster, now };
    let mut due = Due::default();
    due.merge(statefulset::reconcile(&ctx));
    due.merge(volumes::reconcile(&ctx));
    due.merge(kubelet::reconcile(&ctx));
    due.merge(endpoints::reconcile(&ctx));
    due.merge(gc::reconcile(&ctx));
    let mut next_expiry = cluster.next_event_expiry.lock().unwrap_or_else(|p| p.into_inner());
    due.merge(crate::events::expire(cluster, now, &mut next_expiry));
    due.0
}

/// The name of the storage class marked default, if any.
pub fn default_storage_class(store: &Store) -> Option<String> {
    store
        .storage_classes
        .list(None)
        .0
        .iter()
        .find(|c| c.metadata.annotations.as_ref().and_then(|a| a.get("storageclass.kubernetes.io/is-default-class")).is_some_and(|v| v == "true"))
        .and_then(|c| c.metadata.name.clone())
}
