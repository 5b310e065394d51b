//! One watcher per kind, started once, each feeding a kube-rs reflector store; and
//! the connection health the indicator shows. Every change bumps a `watch` channel
//! that live streams wait on.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodSpec, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use app::model::Connection;

use crate::kinds::{Claim, Volume};

/// The events the dashboard shows beside a pod's probes (and reads its crashes and
/// liveness kills from); the store keeps only these whole.
pub const PROBE_REASONS: [&str; 4] = ["Unhealthy", "BackOff", "Killing", "Failed"];

/// The practice cluster's fault annotations and what each one breaks; the pod store
/// keeps only these of a pod's annotations.
pub const FAULTS: [(&str, &str); 3] = [("readiness", "stslab.dev/fail-readiness"), ("liveness", "stslab.dev/fail-liveness"), ("app", "stslab.dev/crash")];

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
    pub claims: Store<Claim>,
    /// All PersistentVolumes (cluster-scoped).
    pub volumes: Store<Volume>,
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
        pods: start(Api::namespaced(client.clone(), namespace), all(), "pods", health, slim_pod),
        claims: start(Api::namespaced(client.clone(), namespace), all(), "persistentvolumeclaims", health, slim_metadata),
        volumes: start(Api::all(client.clone()), all(), "persistentvolumes", health, slim_metadata),
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

/// Keeps of a pod what its row, probes panel and visit count read: its identity,
/// labels, owner, deletion and fault annotations; each container's name, image, ports
/// and probes; the init containers' names and restart policies (kubectl's `Init:1/2`
/// and sidecars); its node; and the whole status. Volumes, environment, mounts,
/// resources and scheduling are left out: at 1,000 pods they were a quarter of the
/// dashboard's memory. (DNS records come from the EndpointSlices.)
fn slim_pod(pod: &mut Pod) {
    let meta = &mut pod.metadata;
    let annotations = meta.annotations.take().map(|a| a.into_iter().filter(|(k, _)| FAULTS.iter().any(|(_, f)| f == k)).collect::<BTreeMap<_, _>>());
    let metadata = ObjectMeta {
        annotations: annotations.filter(|a| !a.is_empty()),
        labels: meta.labels.take(),
        owner_references: meta.owner_references.take(),
        creation_timestamp: meta.creation_timestamp.take(),
        deletion_timestamp: meta.deletion_timestamp.take(),
        deletion_grace_period_seconds: meta.deletion_grace_period_seconds.take(),
        ..identity(meta)
    };
    let spec = pod.spec.take().map(|s| PodSpec {
        containers: s
            .containers
            .into_iter()
            .map(|c| Container {
                name: c.name,
                image: c.image,
                ports: c.ports,
                liveness_probe: c.liveness_probe,
                readiness_probe: c.readiness_probe,
                startup_probe: c.startup_probe,
                ..Container::default()
            })
            .collect(),
        init_containers: s
            .init_containers
            .map(|i| i.into_iter().map(|c| Container { name: c.name, restart_policy: c.restart_policy, ..Container::default() }).collect()),
        node_name: s.node_name,
        ..PodSpec::default()
    });
    *pod = Pod { metadata, spec, status: pod.status.take() };
}

/// Keeps of a claim or volume's metadata its identity (the rest of the object is
/// already only what the storage panel shows, see [`crate::kinds`]).
fn slim_metadata<K: Resource>(object: &mut K) {
    *object.meta_mut() = identity(object.meta_mut());
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

    /// A pod as a real cluster sends it: a sidecar and a plain init container, a
    /// terminating deletion, a fault annotation among others, and everything the
    /// dashboard never reads (volumes, environment, mounts, resources, tolerations).
    fn whole_pod(container_state: serde_json::Value) -> Pod {
        let probe = serde_json::json!({"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2, "failureThreshold": 2});
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "web-1", "namespace": "default", "uid": "p-1", "resourceVersion": "12", "generateName": "web-",
                "creationTimestamp": "2026-12-03T10:00:00Z", "deletionTimestamp": "2026-12-03T10:05:00Z", "deletionGracePeriodSeconds": 10,
                "labels": {"app": "web", "controller-revision-hash": "web-7d49b47777", "statefulset.kubernetes.io/pod-name": "web-1"},
                "annotations": {"stslab.dev/fail-readiness": "true", "kubectl.kubernetes.io/last-applied-configuration": "{\"a\": 1}"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "s-1", "controller": true}],
                "finalizers": ["example.com/keep"],
            },
            "spec": {
                "initContainers": [
                    {"name": "setup", "image": "busybox", "command": ["sh", "-c", "true"]},
                    {"name": "proxy", "image": "envoy", "restartPolicy": "Always", "env": [{"name": "A", "value": "b"}]},
                ],
                "containers": [{
                    "name": "app", "image": "stslab/visits:1.0", "env": [{"name": "VISITS_FILE", "value": "/data/visits"}],
                    "ports": [{"name": "http", "containerPort": 8080}], "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    "resources": {"requests": {"cpu": "100m"}}, "livenessProbe": probe, "readinessProbe": probe, "startupProbe": probe,
                }],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}}],
                "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                "nodeName": "node-1", "hostname": "web-1", "subdomain": "web", "readinessGates": [{"conditionType": "example.com/gate"}],
                "restartPolicy": "Always", "serviceAccountName": "default",
            },
            "status": {
                "phase": "Running", "podIP": "10.0.0.7", "startTime": "2026-12-03T10:00:00Z",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-03T10:00:09Z"}],
                "initContainerStatuses": [
                    {"name": "setup", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                    {"name": "proxy", "image": "envoy", "imageID": "", "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-12-03T10:00:02Z"}}},
                ],
                "containerStatuses": [{
                    "name": "app", "image": "stslab/visits:1.0", "imageID": "", "ready": true, "started": true, "restartCount": 2,
                    "state": container_state, "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-12-03T10:00:05Z"}},
                }],
            },
        }))
        .expect("pod")
    }

    #[test]
    fn pods_keep_what_their_row_probes_and_visit_count_read() {
        let sts: StatefulSet = serde_json::from_value(serde_json::json!({"metadata": {"name": "web", "uid": "s-1"}})).expect("sts");
        let states = [
            serde_json::json!({"running": {"startedAt": "2026-12-03T10:00:06Z"}}),
            serde_json::json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}),
        ];
        for state in states {
            let whole = whole_pod(state);
            let mut slim = whole.clone();
            slim_pod(&mut slim);
            let visits = app::model::Visits::default();
            assert_eq!(crate::mapping::pods::pod_view(&slim, "web", &[], visits.clone()), crate::mapping::pods::pod_view(&whole, "web", &[], visits));
            assert_eq!(practice_cluster::printers::pod_summary(&slim), practice_cluster::printers::pod_summary(&whole));
            assert_eq!(crate::mapping::pods::not_running(&slim), crate::mapping::pods::not_running(&whole));
            assert_eq!(crate::visits::app_port(&slim), 8080);
            assert!(crate::mapping::belongs_to(&slim, &sts));

            let spec = slim.spec.as_ref().expect("spec");
            assert_eq!((spec.volumes.as_ref(), spec.tolerations.as_ref(), spec.containers[0].env.as_ref()), (None, None, None));
            assert_eq!(spec.containers[0].volume_mounts, None);
            let annotations: Vec<&String> = slim.metadata.annotations.iter().flatten().map(|(k, _)| k).collect();
            assert_eq!(annotations, ["stslab.dev/fail-readiness"]);
            assert_eq!(slim.metadata.finalizers, None);
        }
    }

    #[test]
    fn claims_and_volumes_keep_what_the_storage_panel_shows() {
        let claim = serde_json::json!({
            "metadata": {"name": "data-web-0", "namespace": "default", "uid": "c-1", "resourceVersion": "9", "labels": {"app": "web"}, "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pvc-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]},
        });
        let mut slim: Claim = serde_json::from_value(claim).expect("claim");
        slim_metadata(&mut slim);
        let mut volume: Volume = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pvc-1", "uid": "v-1", "labels": {"a": "b"}},
            "spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/tmp/x"}, "claimRef": {"name": "data-web-0", "namespace": "default"}},
            "status": {"phase": "Bound"},
        }))
        .expect("volume");
        slim_metadata(&mut volume);
        let sts: StatefulSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"}, "spec": {"selector": {}, "serviceName": "web", "template": {}, "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
        }))
        .expect("sts");
        let rows = crate::mapping::storage::claims(&sts, &[Arc::new(slim.clone())], &[Arc::new(volume.clone())], &[]);
        let row =
            (rows[0].capacity.as_str(), rows[0].volume.as_str(), rows[0].volume_status.as_str(), rows[0].storage_class.as_str(), rows[0].access_modes.as_str());
        assert_eq!(row, ("1Gi", "pvc-1", "Bound", "standard", "RWO"));
        assert_eq!((rows[0].uid.as_str(), slim.metadata.resource_version.as_deref()), ("c-1", Some("9")));
        assert_eq!((slim.metadata.labels, slim.metadata.finalizers, volume.metadata.labels), (None, None, None));
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
