//! One watcher per kind, started once, each feeding a kube-rs reflector store; and
//! the connection health the indicator shows. Every change bumps a `watch` channel
//! that live streams wait on.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use app::model::Connection;

/// The events the dashboard shows beside a pod's probes (and reads its crashes and
/// liveness kills from); the store keeps only these whole.
pub const PROBE_REASONS: [&str; 4] = ["Unhealthy", "BackOff", "Killing", "Failed"];

/// The reflector stores the dashboard reads from.
#[derive(Clone)]
pub struct Stores {
    /// StatefulSets in the namespace.
    pub statefulsets: Store<StatefulSet>,
    /// Pods in the namespace.
    pub pods: Store<Pod>,
    /// Claims in the namespace.
    pub claims: Store<PersistentVolumeClaim>,
    /// All PersistentVolumes (cluster-scoped).
    pub volumes: Store<PersistentVolume>,
    /// Services in the namespace.
    pub services: Store<Service>,
    /// EndpointSlices in the namespace.
    pub slices: Store<EndpointSlice>,
    /// Events in the namespace.
    pub events: Store<Event>,
}

/// Watch health, per kind, and the change counter.
#[derive(Clone)]
pub struct Health {
    failing: Arc<Mutex<BTreeMap<&'static str, (jiff::Timestamp, String)>>>,
    changes: watch::Sender<u64>,
}

impl Health {
    /// A healthy state with its change channel.
    pub fn new() -> Self {
        Health { failing: Arc::default(), changes: watch::Sender::new(0) }
    }

    /// Subscribes to change notifications (the value counts changes).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Signals that something on screen may have changed.
    pub fn bump(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    fn set(&self, kind: &'static str, error: Option<String>) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        let changed = match error {
            Some(e) => {
                let since = failing.get(kind).map_or_else(jiff::Timestamp::now, |(t, _)| *t);
                failing.insert(kind, (since, e)).is_none()
            }
            None => failing.remove(kind).is_some(),
        };
        drop(failing);
        if changed {
            self.bump();
        }
    }

    /// The connection indicator's state.
    pub fn connection(&self) -> Connection {
        let failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        match failing.iter().min_by_key(|(_, (t, _))| *t) {
            None => Connection::Live,
            Some((kind, (since, error))) => {
                Connection::Reconnecting { since: since.strftime("%H:%M:%S UTC").to_string(), error: format!("watching {kind}: {error}") }
            }
        }
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts a watcher for `api` feeding a new store; errors are logged and shown, and
/// the watcher retries with back-off (it never ends on an error). `slim` drops what
/// the dashboard never reads from each object before the store keeps it.
fn start<K>(api: Api<K>, kind: &'static str, health: &Health, slim: fn(&mut K)) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let health = health.clone();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(move |o: &mut K| {
            o.managed_fields_mut().clear();
            slim(o);
        })
        .reflect(writer);
    tokio::spawn(stream.for_each(move |event| {
        match event {
            Ok(_) => {
                health.set(kind, None);
                health.bump();
            }
            Err(e) => {
                tracing::warn!(kind, error = %e, "watch failed; retrying");
                health.set(kind, Some(e.to_string()));
            }
        }
        futures::future::ready(())
    }));
    reader
}

/// Starts every watcher for `namespace`.
pub fn start_all(client: &Client, namespace: &str, health: &Health) -> Stores {
    Stores {
        statefulsets: start(Api::namespaced(client.clone(), namespace), "statefulsets", health, |_| ()),
        pods: start(Api::namespaced(client.clone(), namespace), "pods", health, |_| ()),
        claims: start(Api::namespaced(client.clone(), namespace), "persistentvolumeclaims", health, |_| ()),
        volumes: start(Api::all(client.clone()), "persistentvolumes", health, |_| ()),
        services: start(Api::namespaced(client.clone(), namespace), "services", health, |_| ()),
        slices: start(Api::namespaced(client.clone(), namespace), "endpointslices", health, |_| ()),
        events: start(Api::namespaced(client.clone(), namespace), "events", health, slim_event),
    }
}

/// Keeps the probe-related events whole and only the name of the others: a pod's
/// `Scheduled`, `Pulled`, `Created`, `Started`… (eight of every nine events at 1,000
/// pods) are never shown, and kept whole they were the dashboard's largest store.
fn slim_event(event: &mut Event) {
    if event.reason.as_deref().is_some_and(|r| PROBE_REASONS.contains(&r)) {
        return;
    }
    let metadata = ObjectMeta {
        name: event.metadata.name.take(),
        namespace: event.metadata.namespace.take(),
        resource_version: event.metadata.resource_version.take(),
        uid: event.metadata.uid.take(),
        ..ObjectMeta::default()
    };
    *event = Event { metadata, ..Event::default() };
}

impl Stores {
    /// Waits until every store has its first full list.
    pub async fn ready(&self) -> Result<(), reflector::store::WriterDropped> {
        self.statefulsets.wait_until_ready().await?;
        self.pods.wait_until_ready().await?;
        self.claims.wait_until_ready().await?;
        self.volumes.wait_until_ready().await?;
        self.services.wait_until_ready().await?;
        self.slices.wait_until_ready().await?;
        self.events.wait_until_ready().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, reason: &str) -> Event {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "7", "uid": "e-1", "labels": {"a": "b"}},
            "involvedObject": {"kind": "Pod", "name": "web-0", "uid": "pod-uid"},
            "reason": reason, "message": "Readiness probe failed: HTTP probe failed with statuscode: 500", "type": "Warning", "count": 3,
        }))
        .expect("event")
    }

    #[test]
    fn probe_events_are_kept_whole_and_the_others_only_by_name() {
        let mut unhealthy = event("web-0.1", "Unhealthy");
        slim_event(&mut unhealthy);
        assert_eq!(unhealthy, event("web-0.1", "Unhealthy"));

        let mut scheduled = event("web-0.2", "Scheduled");
        slim_event(&mut scheduled);
        // The reflector still keys it by name and namespace; nothing else is kept.
        assert_eq!((scheduled.metadata.name.as_deref(), scheduled.metadata.namespace.as_deref()), (Some("web-0.2"), Some("default")));
        assert_eq!((scheduled.reason, scheduled.message, scheduled.involved_object.uid, scheduled.metadata.labels), (None, None, None, None));
    }
}
