//! The event recorder: what controllers and the kubelet use to write core/v1 Events,
//! aggregated like client-go's recorder (same object, reason and message bump `count`).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};

use crate::Cluster;
use crate::store::{Object, StoreError};

/// Who writes an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The kubelet on the practice node.
    Kubelet,
    /// The scheduler.
    Scheduler,
    /// The StatefulSet controller.
    StatefulSet,
    /// The volume provisioner/binder.
    PersistentVolume,
    /// The EndpointSlice controller.
    EndpointSlice,
}

impl Source {
    fn component(self) -> &'static str {
        match self {
            Source::Kubelet => "kubelet",
            Source::Scheduler => "default-scheduler",
            Source::StatefulSet => "statefulset-controller",
            Source::PersistentVolume => "persistentvolume-controller",
            Source::EndpointSlice => "endpoint-slice-controller",
        }
    }
}

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Routine.
    Normal,
    /// Something went wrong.
    Warning,
}

/// A reference to `obj` for `involvedObject`, optionally to one of its containers.
pub fn reference<K: Object>(obj: &K, field_path: Option<String>) -> ObjectReference {
    let m = obj.metadata();
    ObjectReference {
        api_version: Some(K::API_VERSION.to_owned()),
        kind: Some(K::KIND.to_owned()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        field_path,
    }
}

/// Records an event about `involved`, or bumps the count of the same one.
pub fn record(
    cluster: &Cluster,
    source: Source,
    involved: ObjectReference,
    severity: Severity,
    reason: &str,
    message: String,
) {
    let now = cluster.clock.now();
    let ns = involved.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let events = &cluster.store.events;
    let (existing, _) = events.list(Some(&ns));
    let same = existing.iter().find(|e| {
        e.involved_object.uid == involved.uid
            && e.involved_object.field_path == involved.field_path
            && e.reason.as_deref() == Some(reason)
            && e.message.as_deref() == Some(message.as_str())
            && e.source.as_ref().and_then(|s| s.component.as_deref()) == Some(source.component())
    });
    if let Some(e) = same {
        let name = e.metadata.name.clone().unwrap_or_default();
        let bumped: Result<_, StoreError> = events.modify(&ns, &name, |e| {
            e.count = Some(e.count.unwrap_or(1) + 1);
            e.last_timestamp = Some(Time(now));
            Ok(true)
        });
        if bumped.is_ok() {
            return;
        }
    }
    let event = Event {
        metadata: ObjectMeta {
            name: Some(event_name(involved.name.as_deref().unwrap_or("object"), now)),
            namespace: Some(ns),
            uid: Some(uuid::Uuid::new_v4().to_string()),
            creation_timestamp: Some(Time(now)),
            ..Default::default()
        },
        involved_object: involved,
        reason: Some(reason.to_owned()),
        message: Some(message),
        type_: Some(match severity {
            Severity::Normal => "Normal",
            Severity::Warning => "Warning",
        }
        .to_owned()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: None::<MicroTime>,
        source: Some(EventSource {
            component: Some(source.component().to_owned()),
            host: (source == Source::Kubelet).then(|| cluster.config.node_name.clone()),
        }),
        reporting_component: Some(source.component().to_owned()),
        reporting_instance: Some(match source {
            Source::Kubelet => cluster.config.node_name.clone(),
            _ => String::new(),
        }),
        ..Default::default()
    };
    // Names carry nanoseconds plus a random suffix, so a clash is a bug, not a user error.
    if let Err(e) = events.create(event) {
        tracing::warn!(error = %e, "could not record event");
    }
}

/// Records an event unless the object already has one with this reason and message.
/// For conditions a controller sees on every pass (a missing storage class, a claim
/// that is being deleted): bumping `count` each pass would write on every pass.
pub fn record_once(
    cluster: &Cluster,
    source: Source,
    involved: ObjectReference,
    severity: Severity,
    reason: &str,
    message: String,
) {
    let ns = involved.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let (existing, _) = cluster.store.events.list(Some(&ns));
    let seen = existing.iter().any(|e| {
        e.involved_object.uid == involved.uid
            && e.reason.as_deref() == Some(reason)
            && e.message.as_deref() == Some(message.as_str())
    });
    if !seen {
        record(cluster, source, involved, severity, reason, message);
    }
}

fn event_name(object: &str, now: Timestamp) -> String {
    let nanos = now.as_nanosecond() as u128 as u64;
    let salt = uuid::Uuid::new_v4().as_u128() as u16;
    format!("{object}.{nanos:x}{salt:04x}")
}
