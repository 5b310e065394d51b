//! The kubelet's work queue: which pods a pass must look at. A pod is looked at when
//! its object changed, when something of its own falls due (a probe, a container
//! start, the end of a grace period), or, while it waits to be scheduled, when a claim
//! changed. Everything else is left alone, so a pass costs what changed, not the number
//! of pods on the node.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use super::queue::{DueTimes, Resync};
use crate::store::{Dirty, Key, Store};

/// What the kubelet remembers between passes.
#[derive(Debug)]
pub struct PodQueue {
    pods: Arc<Dirty>,
    claims: Arc<Dirty>,
    /// False until a pass has looked at every pod (at start, and after a pass panicked).
    synced: bool,
    due: DueTimes,
    /// Pods not yet bound to a node, looked at again when a claim changes.
    unscheduled: HashSet<Key>,
    /// The uid of the pod each key was last seen with, to free the runtime of a pod
    /// that is gone or was replaced under the same name.
    uids: HashMap<Key, String>,
}

/// The pods a pass looks at.
pub enum Work {
    /// Every pod: at start, or after a pass was interrupted.
    All,
    /// Only these.
    Some(HashSet<Key>),
}

impl PodQueue {
    /// A queue fed by the store's pod and claim writes; its first pass looks at every pod.
    pub fn new(store: &Store) -> Mutex<Self> {
        Mutex::new(PodQueue {
            pods: store.pods.track(),
            claims: store.pvcs.track(),
            synced: false,
            due: DueTimes::default(),
            unscheduled: HashSet::new(),
            uids: HashMap::new(),
        })
    }

    /// Takes this pass's work at `now`.
    pub fn take(&mut self, now: Timestamp) -> Work {
        let changed = self.pods.take();
        let claims_changed = !self.claims.take().is_empty();
        if !self.synced {
            self.synced = true;
            self.due.clear();
            self.unscheduled.clear();
            return Work::All;
        }
        let mut work = changed;
        self.due.take_due(now, &mut work);
        if claims_changed {
            work.extend(self.unscheduled.iter().cloned());
        }
        Work::Some(work)
    }

    /// Notes the uid a key now has; returns the uid it had, if that one is gone.
    pub fn seen(&mut self, key: &Key, uid: Option<&str>) -> Option<String> {
        let old = match uid {
            Some(uid) => self.uids.insert(key.clone(), uid.to_owned()),
            None => self.uids.remove(key),
        };
        old.filter(|old| Some(old.as_str()) != uid)
    }

    /// The uids of every pod seen, for a pass over all pods to free the rest.
    pub fn forget_all_uids(&mut self) {
        self.uids.clear();
    }

    /// Looks at the pod again at `at` (replacing an earlier due time).
    pub fn due_at(&mut self, key: &Key, at: Option<Timestamp>) {
        self.due.set(key, at);
    }

    /// Whether the pod waits to be scheduled (and so for its claims).
    pub fn set_unscheduled(&mut self, key: &Key, waiting: bool) {
        if waiting {
            self.unscheduled.insert(key.clone());
        } else {
            self.unscheduled.remove(key);
        }
    }

    /// When the next pod falls due.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.due.next()
    }
}

impl Resync for PodQueue {
    fn resync(&mut self) {
        self.synced = false;
    }
}
