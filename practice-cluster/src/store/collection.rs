//! One kind's objects, its watch history and its live change feed.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

use super::{Dirty, Key, Object, Shared, StoreError, kind_key};

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// The object was created.
    Added,
    /// The object was changed.
    Modified,
    /// The object was removed; `object` is its last state.
    Deleted,
}

impl ChangeType {
    /// The watch event type as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One change, shared by reference with every watcher.
#[derive(Debug)]
pub struct Change<K> {
    /// What happened.
    pub kind: ChangeType,
    /// The object after the change (its last state for a deletion).
    pub object: Arc<K>,
    /// The object before the change, for modifications, so a filtered watch can turn
    /// "stopped matching" into DELETED and "started matching" into ADDED.
    pub old: Option<Arc<K>>,
    /// The resourceVersion of the change.
    pub rv: u64,
    /// `object` as JSON, encoded once for every watch and list that sends it.
    json: Arc<OnceLock<Bytes>>,
}

impl<K: Object> Change<K> {
    /// The object as JSON (encoded on first use, then shared by every watch).
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| encode(self.object.as_ref()))
    }
}

fn encode<K: Object>(obj: &K) -> Bytes {
    match serde_json::to_vec(obj) {
        Ok(v) => Bytes::from(v),
        Err(e) => {
            tracing::error!(error = %e, kind = K::KIND, "cannot encode an object");
            Bytes::from_static(b"null")
        }
    }
}

/// A stored object and its JSON, encoded at most once per version.
struct Stored<K> {
    object: Arc<K>,
    json: Arc<OnceLock<Bytes>>,
}

impl<K> Stored<K> {
    fn new(object: Arc<K>) -> Self {
        Stored { object, json: Arc::default() }
    }
}

/// Where a new watch starts: the changes it must replay, then where it reads on from.
pub struct WatchStart<K> {
    /// Changes to send first, oldest first.
    pub replay: Vec<Arc<Change<K>>>,
    /// The resourceVersion the replay brings a watcher to: every later change of this
    /// kind is in [`Collection::since`] of it (until the history moves past it).
    pub cursor: u64,
    /// Changes after every write of this kind (its value is the write's version).
    pub head: tokio::sync::watch::Receiver<u64>,
    /// Changes when the watch must end because its history was expired.
    pub expired: tokio::sync::watch::Receiver<u64>,
}

struct Inner<K> {
    objects: BTreeMap<(String, String), Stored<K>>,
    history: VecDeque<Arc<Change<K>>>,
    /// Changes at or below this version are no longer in `history`.
    compacted: u64,
}

/// The objects of one kind.
pub struct Collection<K> {
    shared: Arc<Shared>,
    inner: RwLock<Inner<K>>,
    /// Rung after every write: watchers then read the history from their own cursor,
    /// so a burst costs each of them one read of everything new, not one wake per change.
    head: tokio::sync::watch::Sender<u64>,
    expired: tokio::sync::watch::Sender<u64>,
    history_cap: usize,
    /// Controllers' work queues, told the key of every write.
    trackers: Mutex<Vec<Arc<Dirty>>>,
}

impl<K> fmt::Debug for Collection<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collection").field("kind", &std::any::type_name::<K>()).finish()
    }
}

fn key_of<K: Object>(obj: &K) -> (String, String) {
    let m = obj.metadata();
    (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default())
}

/// What garbage collection looks at in an object.
type Ownership<'a> = (Option<&'a Vec<OwnerReference>>, Option<&'a Time>, Option<&'a Vec<String>>);

fn ownership<K: Object>(obj: &K) -> Ownership<'_> {
    let m = obj.metadata();
    (m.owner_references.as_ref(), m.deletion_timestamp.as_ref(), m.finalizers.as_ref())
}

/// The resourceVersion an object carries, as a number (0 when absent or malformed).
pub fn rv_of<K: Object>(obj: &K) -> u64 {
    obj.metadata().resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl<K: Object> Collection<K> {
    pub(crate) fn new(shared: Arc<Shared>, history_cap: usize) -> Self {
        Collection {
            shared,
            inner: RwLock::new(Inner { objects: BTreeMap::new(), history: VecDeque::new(), compacted: 0 }),
            head: tokio::sync::watch::Sender::new(0),
            expired: tokio::sync::watch::Sender::new(0),
            history_cap: history_cap.max(1),
            trackers: Mutex::new(Vec::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner<K>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<K>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The object `namespace/name` (namespace `""` for cluster-scoped kinds).
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read().objects.get(&(namespace.to_owned(), name.to_owned())).map(|s| s.object.clone())
    }

    /// All objects, or those of one namespace, in (namespace, name) order, with the
    /// resourceVersion the list is consistent with.
    pub fn list(&self, namespace: Option<&str>) -> (Vec<Arc<K>>, u64) {
        let inner = self.read();
        let rv = self.shared.current_rv();
        let items = match namespace {
            None => inner.objects.values().map(|s| s.object.clone()).collect(),
            Some(ns) => inner.objects.range((ns.to_owned(), String::new())..).take_while(|((n, _), _)| n == ns).map(|(_, s)| s.object.clone()).collect(),
        };
        (items, rv)
    }

    /// Visits the objects, or those of one namespace, in (namespace, name) order,
    /// starting after `after` (a list page's last object), until `visit` says stop;
    /// returns the resourceVersion the visit is consistent with. `visit` runs under the
    /// collection's read lock: keep it brief.
    pub fn scan(&self, namespace: Option<&str>, after: Option<(&str, &str)>, mut visit: impl FnMut(&Arc<K>) -> bool) -> u64 {
        use std::ops::Bound;
        let inner = self.read();
        let rv = self.shared.current_rv();
        let first: Option<(String, String)> = namespace.map(|ns| (ns.to_owned(), String::new()));
        let after: Option<(String, String)> = after.map(|(ns, name)| (ns.to_owned(), name.to_owned()));
        let start = match (first, after) {
            (Some(first), Some(after)) if after >= first => Bound::Excluded(after),
            (Some(first), _) => Bound::Included(first),
            (None, Some(after)) => Bound::Excluded(after),
            (None, None) => Bound::Unbounded,
        };
        for ((ns, _), stored) in inner.objects.range((start, Bound::Unbounded)) {
            if namespace.is_some_and(|want| want != ns) || !visit(&stored.object) {
                break;
            }
        }
        rv
    }

    /// `obj` as JSON: encoded once per stored version (and shared with the watches that
    /// sent it), so listing thousands of objects is mostly copying.
    pub fn json_of(&self, obj: &Arc<K>) -> Bytes {
        let inner = self.read();
        match inner.objects.get(&key_of(obj.as_ref())) {
            Some(s) if Arc::ptr_eq(&s.object, obj) => s.json.get_or_init(|| encode(obj.as_ref())).clone(),
            _ => encode(obj.as_ref()),
        }
    }

    /// The latest resourceVersion such that every change of this kind at or below it
    /// is already in the history (so a watcher that reads the history up to now after
    /// taking it may send it as a bookmark).
    pub fn consistent_rv(&self) -> u64 {
        let _no_write_in_flight = self.read();
        self.shared.current_rv()
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    /// Whether no object is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A set that from now on collects the key of every object written.
    pub fn track(&self) -> Arc<Dirty> {
        let dirty = Arc::new(Dirty::default());
        self.trackers.lock().unwrap_or_else(|p| p.into_inner()).push(dirty.clone());
        dirty
    }

    fn publish(&self, inner: &mut Inner<K>, kind: ChangeType, object: Arc<K>, old: Option<Arc<K>>, rv: u64, json: Arc<OnceLock<Bytes>>) {
        let trackers = self.trackers.lock().unwrap_or_else(|p| p.into_inner());
        if !trackers.is_empty() {
            let key: Key = key_of(object.as_ref());
            for t in trackers.iter() {
                t.mark(&key);
            }
        }
        drop(trackers);
        let ownership_changed = match (kind, &old) {
            (ChangeType::Deleted, _) => true,
            (_, None) => ownership(object.as_ref()) != (None, None, None),
            (_, Some(old)) => ownership(old.as_ref()) != ownership(object.as_ref()),
        };
        if ownership_changed {
            self.shared.ownership_changed();
        }
        let change = Arc::new(Change { kind, object, old, rv, json });
        inner.history.push_back(change.clone());
        while inner.history.len() > self.history_cap {
            if let Some(dropped) = inner.history.pop_front() {
                inner.compacted = dropped.rv;
            }
        }
        self.head.send_replace(rv);
        self.shared.notify();
    }

    fn stamp(&self, mut obj: K) -> (K, u64) {
        let rv = self.shared.next_rv();
        obj.metadata_mut().resource_version = Some(rv.to_string());
        (obj, rv)
    }

    /// Stores a new object. Its metadata (uid, timestamps) must already be filled.
    pub fn create(&self, obj: K) -> Result<Arc<K>, StoreError> {
        let key = key_of(&obj);
        let mut inner = self.write();
        if inner.objects.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        let (obj, rv) = self.stamp(obj);
        self.shared.record(&obj, rv, false);
        let stored = Stored::new(Arc::new(obj));
        let (obj, json) = (stored.object.clone(), stored.json.clone());
        inner.objects.insert(key, stored);
        self.publish(&mut inner, ChangeType::Added, obj.clone(), None, rv, json);
        Ok(obj)
    }

    /// Replaces an object. With `expected_rv`, fails with `Conflict` unless the stored
    /// object still has that resourceVersion (optimistic concurrency).
    pub fn replace(&self, obj: K, expected_rv: Option<u64>) -> Result<Arc<K>, StoreError> {
        let key = key_of(&obj);
        let mut inner = self.write();
        let old = inner.objects.get(&key).map(|s| s.object.clone()).ok_or(StoreError::NotFound)?;
        if expected_rv.is_some_and(|rv| rv != rv_of(old.as_ref())) {
            return Err(StoreError::Conflict);
        }
        let (obj, rv) = self.stamp(obj);
        self.shared.record(&obj, rv, false);
        let stored = Stored::new(Arc::new(obj));
        let (obj, json) = (stored.object.clone(), stored.json.clone());
        inner.objects.insert(key, stored);
        self.publish(&mut inner, ChangeType::Modified, obj.clone(), Some(old), rv, json);
        Ok(obj)
    }

    /// Read-modify-write under the collection's lock: `change` edits a copy and says
    /// whether it changed anything; nothing is written (and no event sent) if not.
    pub fn modify<E>(&self, namespace: &str, name: &str, change: impl FnOnce(&mut K) -> Result<bool, E>) -> Result<Option<Arc<K>>, E>
    where
        E: From<StoreError>,
    {
        let key = (namespace.to_owned(), name.to_owned());
        let mut inner = self.write();
        let old = inner.objects.get(&key).map(|s| s.object.clone()).ok_or(StoreError::NotFound)?;
        let mut obj = (*old).clone();
        if !change(&mut obj)? {
            return Ok(None);
        }
        let (obj, rv) = self.stamp(obj);
        self.shared.record(&obj, rv, false);
        let stored = Stored::new(Arc::new(obj));
        let (obj, json) = (stored.object.clone(), stored.json.clone());
        inner.objects.insert(key, stored);
        self.publish(&mut inner, ChangeType::Modified, obj.clone(), Some(old), rv, json);
        Ok(Some(obj))
    }

    /// Removes an object for good, publishing DELETED with its last state.
    pub fn remove(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let key = (namespace.to_owned(), name.to_owned());
        let mut inner = self.write();
        let old = inner.objects.remove(&key)?.object;
        let (obj, rv) = self.stamp((*old).clone());
        self.shared.record(&obj, rv, true);
        let obj = Arc::new(obj);
        self.publish(&mut inner, ChangeType::Deleted, obj.clone(), Some(old), rv, Arc::default());
        Some(obj)
    }

    /// Removes the object only if it is still the one with `uid`.
    pub fn remove_uid(&self, namespace: &str, name: &str, uid: &str) -> Option<Arc<K>> {
        {
            let inner = self.read();
            let current = inner.objects.get(&(namespace.to_owned(), name.to_owned()))?;
            if current.object.metadata().uid.as_deref() != Some(uid) {
                return None;
            }
        }
        self.remove(namespace, name)
    }

    /// Starts a watch. `from = None` replays the current state as ADDED changes; a
    /// version replays the changes after it, or fails with `TooOld` if they are gone.
    pub fn watch(&self, from: Option<u64>) -> Result<WatchStart<K>, StoreError> {
        let inner = self.read();
        let head = self.head.subscribe();
        let expired = self.expired.subscribe();
        let (replay, cursor) = match from {
            None => {
                // No write of this kind is in flight (the lock), so every change up to
                // `rv` is in the objects and every later one will be in the history.
                let rv = self.shared.current_rv();
                let replay = inner
                    .objects
                    .values()
                    .map(|s| Arc::new(Change { kind: ChangeType::Added, object: s.object.clone(), old: None, rv, json: s.json.clone() }))
                    .collect();
                (replay, rv)
            }
            Some(v) => {
                let replay: Vec<_> = Self::after(&inner, v, usize::MAX)?;
                let cursor = replay.last().map_or(v, |c| c.rv);
                (replay, cursor)
            }
        };
        Ok(WatchStart { replay, cursor, head, expired })
    }

    /// Up to `max` changes after version `rv`, oldest first; `TooOld` when the history
    /// no longer reaches back to `rv` (the watcher fell too far behind).
    pub fn since(&self, rv: u64, max: usize) -> Result<Vec<Arc<Change<K>>>, StoreError> {
        Self::after(&self.read(), rv, max)
    }

    fn after(inner: &Inner<K>, rv: u64, max: usize) -> Result<Vec<Arc<Change<K>>>, StoreError> {
        if rv < inner.compacted {
            return Err(StoreError::TooOld { requested: rv, oldest: inner.compacted });
        }
        // The history is in resourceVersion order: versions are taken under the lock.
        let first = inner.history.partition_point(|c| c.rv <= rv);
        Ok(inner.history.range(first..).take(max).cloned().collect())
    }

    /// Forgets every change up to `rv` and ends the open watches, so clients must
    /// resume, get `410 Expired`, and list again.
    pub fn expire(&self, rv: u64) {
        let mut inner = self.write();
        inner.history.clear();
        inner.compacted = rv;
        drop(inner);
        self.expired.send_modify(|n| *n += 1);
    }

    /// Puts back an object read from a state directory, as it was, if `kind` is this
    /// collection's; says whether it was.
    pub(crate) fn restore(&self, kind: &str, json: &[u8]) -> bool {
        if kind != kind_key::<K>() {
            return false;
        }
        match serde_json::from_slice::<K>(json) {
            Ok(obj) => {
                self.write().objects.insert(key_of(&obj), Stored::new(Arc::new(obj)));
            }
            Err(e) => tracing::warn!(%kind, error = %e, "the state directory holds an unreadable object; skipped"),
        }
        true
    }

    /// Forgets this kind's watch history.
    pub fn compact(&self) {
        let mut inner = self.write();
        inner.history.clear();
        inner.compacted = self.shared.current_rv();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod(ns: &str, name: &str) -> Pod {
        Pod { metadata: ObjectMeta { namespace: Some(ns.into()), name: Some(name.into()), ..Default::default() }, ..Default::default() }
    }

    fn collection(history: usize) -> Collection<Pod> {
        Collection::new(Arc::new(Shared::default()), history)
    }

    #[test]
    fn namespace_list_is_a_range_of_that_namespace_only() {
        let c = collection(10);
        for (ns, n) in [("a", "x"), ("b", "y"), ("b", "z"), ("c", "w")] {
            c.create(pod(ns, n)).expect("create");
        }
        let (items, rv) = c.list(Some("b"));
        let names: Vec<_> = items.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["y", "z"]);
        assert_eq!(rv, 4);
        assert_eq!(c.list(None).0.len(), 4);
    }

    #[test]
    fn replace_with_stale_version_conflicts() {
        let c = collection(10);
        let created = c.create(pod("a", "x")).expect("create");
        let stale = rv_of(created.as_ref());
        c.replace((*created).clone(), Some(stale)).expect("first update");
        assert_eq!(c.replace((*created).clone(), Some(stale)), Err(StoreError::Conflict));
    }

    #[test]
    fn watch_resumes_from_history_and_expires_when_compacted() {
        let c = collection(2);
        c.create(pod("a", "x")).expect("create");
        c.create(pod("a", "y")).expect("create");
        c.remove("a", "x");
        // History keeps two changes: rv 2 (add y) and rv 3 (delete x).
        let start = c.watch(Some(1)).expect("rv 1 is still answerable");
        let kinds: Vec<_> = start.replay.iter().map(|c| (c.kind, c.rv)).collect();
        assert_eq!(kinds, [(ChangeType::Added, 2), (ChangeType::Deleted, 3)]);
        assert!(matches!(c.watch(Some(0)), Err(StoreError::TooOld { requested: 0, oldest: 1 })));
        c.compact();
        assert!(matches!(c.watch(Some(2)), Err(StoreError::TooOld { .. })));
        assert!(c.watch(Some(3)).is_ok());
    }

    #[test]
    fn unchanged_modify_writes_nothing() {
        let c = collection(10);
        c.create(pod("a", "x")).expect("create");
        let out: Result<_, StoreError> = c.modify("a", "x", |_| Ok(false));
        assert!(out.expect("modify").is_none());
        assert_eq!(c.watch(Some(1)).expect("watch").replay.len(), 0);
    }
}
