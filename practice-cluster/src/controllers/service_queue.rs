//! The endpoints controllers' work queue: which Services a pass must sync. A Service is
//! synced when it changed, when a pod it selects (or selected) changed, or when one of
//! its EndpointSlices or its Endpoints changed; every Service when a node changed (zones
//! and node existence are part of each endpoint). Pods are indexed by the Services
//! selecting them, so a sync reads the pods of its own Service, not every pod of the
//! namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Pod;

use super::endpoints::{LABEL_SERVICE_NAME, selector_of};
use super::queue::{Membership, Resync};
use crate::kinds::{name_of, namespace_of};
use crate::store::{Dirty, Key, Store};

/// The API server's own Service, whose endpoints the controller writes without a selector.
const APISERVER: (&str, &str) = ("default", "kubernetes");

/// What the endpoints controllers remember between passes.
#[derive(Debug)]
pub struct ServiceQueue {
    services: Arc<Dirty>,
    pods: Arc<Dirty>,
    slices: Arc<Dirty>,
    endpoints: Arc<Dirty>,
    nodes: Arc<Dirty>,
    /// False until a pass has looked at every Service (at start, and after a pass panicked).
    synced: bool,
    /// The selector each Service was indexed with (Services this controller serves).
    selectors: BTreeMap<Key, BTreeMap<String, String>>,
    /// The Services whose selectors match each pod's labels.
    members: Membership,
}

/// What a pass must do.
#[derive(Debug, Default)]
pub struct Work {
    /// The Services to sync, in (namespace, name) order.
    pub services: BTreeSet<Key>,
    /// Endpoints of Services that are gone may need removing.
    pub orphans: bool,
    /// The API server's own endpoints may need writing.
    pub apiserver: bool,
}

fn key_of(pod: &Pod) -> Key {
    (namespace_of(pod).to_owned(), name_of(pod).to_owned())
}

/// Whether the pod's labels hold every pair of the selector.
pub(super) fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

impl ServiceQueue {
    /// A queue fed by the store's writes; its first pass syncs every Service.
    pub fn new(store: &Store) -> Mutex<Self> {
        Mutex::new(ServiceQueue {
            services: store.services.track(),
            pods: store.pods.track(),
            slices: store.endpoint_slices.track(),
            endpoints: store.endpoints.track(),
            nodes: store.nodes.track(),
            synced: false,
            selectors: BTreeMap::new(),
            members: Membership::default(),
        })
    }

    /// Takes this pass's work.
    pub fn take(&mut self, store: &Store) -> Work {
        let services = self.services.take();
        let pods = self.pods.take();
        let slices = self.slices.take();
        let endpoints = self.endpoints.take();
        let nodes_changed = !self.nodes.take().is_empty();
        let first = !self.synced;
        if first {
            self.synced = true;
            self.reindex_all(store);
        }
        let mut work = Work {
            orphans: !services.is_empty() || !endpoints.is_empty(),
            apiserver: [&services, &endpoints].iter().any(|keys| keys.iter().any(|(ns, n)| (ns.as_str(), n.as_str()) == APISERVER)),
            services: BTreeSet::new(),
        };
        for key in services {
            let svc = store.services.get(&key.0, &key.1);
            let selector = svc.as_deref().and_then(selector_of);
            if self.selectors.get(&key) != selector {
                self.reindex_service(store, &key, selector.cloned());
            }
            work.services.insert(key);
        }
        for key in pods {
            let pod = store.pods.get(&key.0, &key.1);
            for svc in self.index(&key, pod.as_deref()) {
                work.services.insert((key.0.clone(), svc));
            }
        }
        for (ns, name) in slices {
            if (ns.as_str(), name.as_str()) == APISERVER {
                work.apiserver = true;
            }
            let service = store.endpoint_slices.get(&ns, &name).and_then(|s| s.metadata.labels.as_ref()?.get(LABEL_SERVICE_NAME).cloned());
            match service {
                Some(svc) => {
                    work.services.insert((ns, svc));
                }
                // A removed slice no longer says whose it was: its namespace's Services.
                None => work.services.extend(self.selectors.range((ns.clone(), String::new())..).take_while(|((n, _), _)| *n == ns).map(|(k, _)| k.clone())),
            }
        }
        work.services.extend(endpoints);
        if nodes_changed || first {
            work.services.extend(self.selectors.keys().cloned());
            work.orphans = true;
            work.apiserver = true;
        }
        work
    }

    /// The names of the pods whose labels the Service `key` selects, in name order.
    pub fn members(&self, key: &Key) -> impl Iterator<Item = &String> {
        self.members.members(key)
    }

    /// Rebuilds the whole index from every Service and pod.
    fn reindex_all(&mut self, store: &Store) {
        self.selectors = store
            .services
            .list(None)
            .0
            .iter()
            .filter_map(|s| Some(((namespace_of(s.as_ref()).to_owned(), name_of(s.as_ref()).to_owned()), selector_of(s)?.clone())))
            .collect();
        self.members.clear();
        for pod in store.pods.list(None).0 {
            self.index(&key_of(&pod), Some(&pod));
        }
    }

    /// Indexes the Service `key` under its new selector (None: it selects nothing).
    fn reindex_service(&mut self, store: &Store, key: &Key, selector: Option<BTreeMap<String, String>>) {
        self.members.empty(key);
        let Some(selector) = selector else {
            self.selectors.remove(key);
            return;
        };
        for pod in store.pods.list(Some(&key.0)).0 {
            if selects(&selector, &pod) {
                self.members.add(key, name_of(pod.as_ref()));
            }
        }
        self.selectors.insert(key.clone(), selector);
    }

    /// Indexes the pod `key` (gone when `pod` is None); returns the Services that
    /// selected it before and select it now.
    fn index(&mut self, key: &Key, pod: Option<&Pod>) -> Vec<String> {
        let ns = &key.0;
        let selecting: Vec<String> = pod.map_or_else(Vec::new, |pod| {
            self.selectors
                .range((ns.clone(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .filter(|(_, sel)| selects(sel, pod))
                .map(|((_, svc), _)| svc.clone())
                .collect()
        });
        self.members.place(key, selecting)
    }
}

impl Resync for ServiceQueue {
    fn resync(&mut self) {
        self.synced = false;
    }
}
