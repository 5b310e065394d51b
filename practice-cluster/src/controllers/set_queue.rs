//! The StatefulSet controller's work queue: which StatefulSets a pass must sync. A set
//! is synced when it changed, when one of its pods, claims or ControllerRevisions
//! changed, when something of its own falls due (`minReadySeconds`), or when its last
//! sync failed. Its pods are indexed by set, so a sync reads the pods of the sets it
//! syncs, not every pod of the namespace.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::queue::{DueTimes, Membership, Resync};
use super::statefulset::{claim_template_names, controller_of, parent_and_ordinal};
use crate::kinds::name_of;
use crate::store::{Dirty, Key, Store};

/// What the StatefulSet controller remembers between passes.
#[derive(Debug)]
pub struct SetQueue {
    sets: Arc<Dirty>,
    pods: Arc<Dirty>,
    claims: Arc<Dirty>,
    revisions: Arc<Dirty>,
    /// False until a pass has looked at every set (at start, and after a pass panicked).
    synced: bool,
    due: DueTimes,
    /// Sets whose last sync failed: synced again next pass, as the full rescan did.
    retry: HashSet<Key>,
    /// The sets each pod belongs to: the set its name implies (`<set>-<ordinal>`) and
    /// the set its controller reference names.
    members: Membership,
}

impl SetQueue {
    /// A queue fed by the store's writes; its first pass syncs every set.
    pub fn new(store: &Store) -> Mutex<Self> {
        Mutex::new(SetQueue {
            sets: store.statefulsets.track(),
            pods: store.pods.track(),
            claims: store.pvcs.track(),
            revisions: store.controller_revisions.track(),
            synced: false,
            due: DueTimes::default(),
            retry: HashSet::new(),
            members: Membership::default(),
        })
    }

    /// Takes this pass's work at `now`: the keys of the sets to sync, in (namespace,
    /// name) order.
    pub fn take(&mut self, store: &Store, now: Timestamp) -> BTreeSet<Key> {
        let mut work: BTreeSet<Key> = self.sets.take().into_iter().collect();
        let pods = self.pods.take();
        let claims = self.claims.take();
        let revisions = self.revisions.take();
        if !self.synced {
            self.synced = true;
            self.due.clear();
            self.retry.clear();
            self.members.clear();
            for pod in store.pods.list(None).0 {
                let key = (pod.metadata.namespace.clone().unwrap_or_default(), name_of(pod.as_ref()).to_owned());
                self.index(&key, Some(&pod));
            }
            return store
                .statefulsets
                .list(None)
                .0
                .iter()
                .map(|s| (s.metadata.namespace.clone().unwrap_or_default(), name_of(s.as_ref()).to_owned()))
                .collect();
        }
        work.extend(self.retry.drain());
        self.due.take_due(now, &mut work);
        for key in pods {
            let pod = store.pods.get(&key.0, &key.1);
            for set in self.index(&key, pod.as_deref()) {
                work.insert((key.0.clone(), set));
            }
        }
        // Claims and revisions are few per set; the sets of their namespace are fewer.
        let sets_of = |ns: &str| store.statefulsets.list(Some(ns)).0;
        for (ns, claim) in claims {
            for set in sets_of(&ns) {
                // A set's claims are named `<template>-<set>-<ordinal>`.
                let set_name = name_of(set.as_ref());
                let pod_name = |t: &str| claim.strip_prefix(t).and_then(|r| r.strip_prefix('-')).and_then(parent_and_ordinal).map(|(p, _)| p == set_name);
                if claim_template_names(&set).any(|t| pod_name(t) == Some(true)) {
                    work.insert((ns.clone(), set_name.to_owned()));
                }
            }
        }
        let namespaces: BTreeSet<String> = revisions.into_iter().map(|(ns, _)| ns).collect();
        for ns in namespaces {
            work.extend(sets_of(&ns).iter().map(|s| (ns.clone(), name_of(s.as_ref()).to_owned())));
        }
        work
    }

    /// Indexes the pod `key` (gone when `pod` is None); returns the sets it belonged to
    /// before and belongs to now.
    fn index(&mut self, key: &Key, pod: Option<&Pod>) -> Vec<String> {
        let mut sets: Vec<String> = Vec::new();
        if let Some(pod) = pod {
            if let Some((parent, _)) = parent_and_ordinal(&key.1) {
                sets.push(parent.to_owned());
            }
            if let Some(owner) = controller_of(&pod.metadata).filter(|r| !sets.contains(&r.name)) {
                sets.push(owner.name.clone());
            }
        }
        self.members.place(key, sets)
    }

    /// The names of the pods that belong to the set `key`, by name or by controller.
    pub fn members(&self, key: &Key) -> impl Iterator<Item = &String> {
        self.members.members(key)
    }

    /// Syncs the set again at `at` (replacing an earlier due time).
    pub fn due_at(&mut self, key: &Key, at: Option<Timestamp>) {
        self.due.set(key, at);
    }

    /// Syncs the set again next pass: its sync failed.
    pub fn retry(&mut self, key: Key) {
        self.retry.insert(key);
    }

    /// When the next set falls due.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.due.next()
    }
}

impl Resync for SetQueue {
    fn resync(&mut self) {
        self.synced = false;
    }
}
