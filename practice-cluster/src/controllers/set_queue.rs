//! The StatefulSet controller's work queue: which StatefulSets a pass must sync. A set
//! is synced when it changed, when one of its pods, claims or ControllerRevisions
//! changed, when something of its own falls due (`minReadySeconds`), or when its last
//! sync failed. Its pods are indexed by set, so a sync reads the pods of the sets it
//! syncs, not every pod of the namespace.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

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
    due: BTreeSet<(Timestamp, Key)>,
    due_of: HashMap<Key, Timestamp>,
    /// Sets whose last sync failed: synced again next pass, as the full rescan did.
    retry: HashSet<Key>,
    /// Pod names by the `(namespace, StatefulSet name)` they belong to: the set their
    /// name implies (`<set>-<ordinal>`) and the set their controller reference names.
    members: HashMap<Key, BTreeSet<String>>,
    /// The sets each pod was last indexed under.
    member_of: HashMap<Key, Vec<String>>,
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
            due: BTreeSet::new(),
            due_of: HashMap::new(),
            retry: HashSet::new(),
            members: HashMap::new(),
            member_of: HashMap::new(),
        })
    }

    /// Locks the queue. A pass that panicked may have taken work it never finished,
    /// so the next pass after one syncs every set.
    pub fn lock(queue: &Mutex<Self>) -> MutexGuard<'_, Self> {
        queue.lock().unwrap_or_else(|poisoned| {
            queue.clear_poison();
            let mut q = poisoned.into_inner();
            q.synced = false;
            q
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
            self.due_of.clear();
            self.retry.clear();
            self.members.clear();
            self.member_of.clear();
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
        while let Some((at, _)) = self.due.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.due.pop_first() {
                self.due_of.remove(&key);
                work.insert(key);
            }
        }
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
        let (ns, name) = key;
        let mut touched = self.member_of.remove(key).unwrap_or_default();
        for set in &touched {
            let set_key = (ns.clone(), set.clone());
            if let Some(m) = self.members.get_mut(&set_key) {
                m.remove(name);
                if m.is_empty() {
                    self.members.remove(&set_key);
                }
            }
        }
        let Some(pod) = pod else { return touched };
        let mut now_in: Vec<String> = Vec::new();
        if let Some((parent, _)) = parent_and_ordinal(name) {
            now_in.push(parent.to_owned());
        }
        if let Some(owner) = controller_of(&pod.metadata).filter(|r| !now_in.contains(&r.name)) {
            now_in.push(owner.name.clone());
        }
        for set in &now_in {
            self.members.entry((ns.clone(), set.clone())).or_default().insert(name.clone());
            if !touched.contains(set) {
                touched.push(set.clone());
            }
        }
        if !now_in.is_empty() {
            self.member_of.insert(key.clone(), now_in);
        }
        touched
    }

    /// The names of the pods that belong to the set `key`, by name or by controller.
    pub fn members(&self, key: &Key) -> impl Iterator<Item = &String> {
        self.members.get(key).into_iter().flatten()
    }

    /// Syncs the set again at `at` (replacing an earlier due time).
    pub fn due_at(&mut self, key: &Key, at: Option<Timestamp>) {
        if let Some(old) = self.due_of.remove(key) {
            self.due.remove(&(old, key.clone()));
        }
        if let Some(at) = at {
            self.due_of.insert(key.clone(), at);
            self.due.insert((at, key.clone()));
        }
    }

    /// Syncs the set again next pass: its sync failed.
    pub fn retry(&mut self, key: Key) {
        self.retry.insert(key);
    }

    /// When the next set falls due.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.due.first().map(|(at, _)| *at)
    }
}
