//! One watcher per kind, started once, each feeding a kube-rs reflector store; and
//! the connection health the indicator shows. Every change bumps a `watch` channel
//! that live streams wait on.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Event, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, PersistentVolumeStatus, Pod, Service,
};
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

/// The events every pod's start produces (scheduled, volume provisioned, image pulled,
/// container created and started, the controller's create), which the dashboard never
/// shows: the events watch leaves them on the server. At 1,000 pods they are seven
/// events per pod, and kept even by name they were most of the dashboard's memory.
/// Anything else not in [`PROBE_REASONS`] is still slimmed to its name.
pub const ROUTINE_REASONS: [&str; 11] = [
    "Scheduled",
    "FailedScheduling",
    "ProvisioningSucceeded",
    "WaitForFirstConsumer",
    "ExternalProvisioning",
    "Pulling",
    "Pulled",
    "Created",
    "Started",
    "SuccessfulCreate",
    "SuccessfulDelete",
];

/// The events watch's field selector: every reason but the routine ones.
pub fn events_selector() -> String {
    ROUTINE_REASONS.iter().map(|r| format!("reason!={r}")).collect::<Vec<_>>().join(",")
}

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
fn start<K>(api: Api<K>, config: watcher::Config, kind: &'static str, health: &Health, slim: fn(&mut K)) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let health = health.clone();
    let stream = watcher(api, config)
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
    let all = watcher::Config::default;
    Stores {
        statefulsets: start(Api::namespaced(client.clone(), namespace), all(), "statefulsets", health, |_| ()),
        pods: start(Api::namespaced(client.clone(), namespace), all(), "pods", health, |_| ()),
        claims: start(Api::namespaced(client.clone(), namespace), all(), "persistentvolumeclaims", health, slim_claim),
        volumes: start(Api::all(client.clone()), all(), "persistentvolumes", health, slim_volume),
        services: start(Api::namespaced(client.clone(), namespace), all(), "services", health, |_| ()),
        slices: start(Api::namespaced(client.clone(), namespace), all(), "endpointslices", health, |_| ()),
        events: start(Api::namespaced(client.clone(), namespace), all().fields(&events_selector()), "events", health, slim_event),
    }
}

/// The object's identity: what the reflector keys it by, and its UID.
fn identity(metadata: &mut ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: metadata.name.take(),
        namespace: metadata.namespace.take(),
        resource_version: metadata.resource_version.take(),
        uid: metadata.uid.take(),
        ..ObjectMeta::default()
    }
}

/// Keeps of a claim what the storage panel shows: its volume, class, phase, capacity
/// and access modes.
fn slim_claim(claim: &mut PersistentVolumeClaim) {
    let spec =
        claim.spec.take().map(|s| PersistentVolumeClaimSpec { volume_name: s.volume_name, storage_class_name: s.storage_class_name, ..Default::default() });
    let status =
        claim.status.take().map(|s| PersistentVolumeClaimStatus { phase: s.phase, capacity: s.capacity, access_modes: s.access_modes, ..Default::default() });
    *claim = PersistentVolumeClaim { metadata: identity(&mut claim.metadata), spec, status };
}

/// Keeps of a volume its name and phase: all the storage panel reads of it. The watch
/// is cluster-wide, so on a shared cluster most volumes are other people's.
fn slim_volume(volume: &mut PersistentVolume) {
    let status = volume.status.take().map(|s| PersistentVolumeStatus { phase: s.phase, ..Default::default() });
    *volume = PersistentVolume { metadata: identity(&mut volume.metadata), spec: None, status };
}

/// Keeps the probe-related events whole and only the name of the others that pass
/// the watch's selector (a reason the dashboard does not show, which the selector
/// does not list).
fn slim_event(event: &mut Event) {
    if event.reason.as_deref().is_some_and(|r| PROBE_REASONS.contains(&r)) {
        return;
    }
    *event = Event { metadata: identity(&mut event.metadata), ..Event::default() };
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
    fn the_events_watch_leaves_out_routine_events_but_never_a_probe_event() {
        let selector = events_selector();
        assert!(selector.starts_with("reason!=Scheduled,reason!=FailedScheduling,"), "{selector}");
        assert_eq!(selector.matches("reason!=").count(), ROUTINE_REASONS.len());
        for reason in PROBE_REASONS {
            assert!(!selector.split(',').any(|s| s == format!("reason!={reason}")), "{reason} must reach the store");
        }
    }

    #[test]
    fn claims_and_volumes_keep_what_the_storage_panel_shows() {
        let claim: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data-web-0", "namespace": "default", "uid": "c-1", "resourceVersion": "9", "labels": {"app": "web"}, "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pvc-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]},
        }))
        .expect("claim");
        let mut slim = claim.clone();
        slim_claim(&mut slim);
        let volumes = [Arc::new(
            serde_json::from_value::<PersistentVolume>(serde_json::json!({
                "metadata": {"name": "pvc-1", "uid": "v-1"},
                "spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/tmp/x"}, "claimRef": {"name": "data-web-0", "namespace": "default"}},
                "status": {"phase": "Bound"},
            }))
            .expect("volume"),
        )];
        let mut slim_volumes = volumes.clone();
        slim_volume(Arc::make_mut(&mut slim_volumes[0]));
        assert_eq!(slim_volumes[0].spec, None);
        // The panel reads the same from the slim objects as from the whole ones.
        let sts: k8s_openapi::api::apps::v1::StatefulSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"}, "spec": {"selector": {}, "serviceName": "web", "template": {}, "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
        }))
        .expect("sts");
        let whole = crate::mapping::storage::claims(&sts, &[Arc::new(claim)], &volumes, &[]);
        let slimmed = crate::mapping::storage::claims(&sts, &[Arc::new(slim.clone())], &slim_volumes, &[]);
        assert_eq!(whole, slimmed);
        assert_eq!((whole[0].capacity.as_str(), whole[0].volume_status.as_str(), whole[0].storage_class.as_str()), ("1Gi", "Bound", "standard"));
        assert_eq!((slim.metadata.labels, slim.metadata.finalizers), (None, None));
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
