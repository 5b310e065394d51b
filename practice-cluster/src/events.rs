//! The event recorder: what controllers and the kubelet use to write core/v1 Events,
//! aggregated like client-go's recorder (same object, reason and message bump `count`),
//! and expired like the API server's (an hour after they last happened).

use std::hash::{Hash, Hasher};

use jiff::{SignedDuration, Timestamp};
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

/// How long an event is kept after it last happened: the API server's default
/// `--event-ttl`.
pub const EVENT_TTL: SignedDuration = SignedDuration::from_hours(1);

/// What makes two events "the same" for aggregation: involved object, container, reason,
/// message and reporting component.
fn same_event(e: &Event, involved: &ObjectReference, reason: &str, message: &str, source: Source) -> bool {
    e.involved_object.uid == involved.uid
        && e.involved_object.field_path == involved.field_path
        && e.reason.as_deref() == Some(reason)
        && e.message.as_deref() == Some(message)
        && e.source.as_ref().and_then(|s| s.component.as_deref()) == Some(source.component())
}

/// The name an event gets from what makes it the same as another, so that finding the
/// event to aggregate into is one lookup by name in the store's index, not a scan of
/// the namespace. `<object>.<16 hex digits>`, as Kubernetes names events.
fn dedup_name(involved: &ObjectReference, reason: &str, message: &str, source: Source) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&involved.uid, &involved.field_path, reason, message, source.component()).hash(&mut h);
    format!("{}.{:016x}", involved.name.as_deref().unwrap_or("object"), h.finish())
}

/// Records an event about `involved`, or bumps the count of the same one.
pub fn record(cluster: &Cluster, source: Source, involved: ObjectReference, severity: Severity, reason: &str, message: String) {
    let now = cluster.clock.now();
    let ns = involved.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let events = &cluster.store.events;
    let mut name = dedup_name(&involved, reason, &message, source);
    if let Some(e) = events.get(&ns, &name) {
        if same_event(&e, &involved, reason, &message, source) {
            let bumped: Result<_, StoreError> = events.modify(&ns, &name, |e| {
                e.count = Some(e.count.unwrap_or(1) + 1);
                e.last_timestamp = Some(Time(now));
                Ok(true)
            });
            if bumped.is_ok() {
                return;
            }
        } else {
            // Two different events with one hash: keep both.
            name = event_name(involved.name.as_deref().unwrap_or("object"), now);
        }
    }
    let event = Event {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(ns),
            uid: Some(uuid::Uuid::new_v4().to_string()),
            creation_timestamp: Some(Time(now)),
            ..Default::default()
        },
        involved_object: involved,
        reason: Some(reason.to_owned()),
        message: Some(message),
        type_: Some(
            match severity {
                Severity::Normal => "Normal",
                Severity::Warning => "Warning",
            }
            .to_owned(),
        ),
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
    if let Err(e) = events.create(event) {
        tracing::warn!(error = %e, "could not record event");
    }
}

/// Records an event unless the object already has one with this reason and message.
/// For conditions a controller sees on every pass (a missing storage class, a claim
/// that is being deleted): bumping `count` each pass would write on every pass.
pub fn record_once(cluster: &Cluster, source: Source, involved: ObjectReference, severity: Severity, reason: &str, message: String) {
    let ns = involved.namespace.as_deref().unwrap_or("default");
    let name = dedup_name(&involved, reason, &message, source);
    let seen = cluster.store.events.get(ns, &name).is_some_and(|e| same_event(&e, &involved, reason, &message, source));
    if !seen {
        record(cluster, source, involved, severity, reason, message);
    }
}

/// When an event expires: [`EVENT_TTL`] after it last happened.
fn expires_at(e: &Event) -> Option<Timestamp> {
    let last = e.last_timestamp.as_ref().or(e.metadata.creation_timestamp.as_ref())?;
    last.0.checked_add(EVENT_TTL).ok()
}

/// Deletes the events that expired by `now`, at most once per due time: `next` is when
/// the earliest remaining event expires (nothing expires before it), kept between
/// passes so a pass that is not due costs nothing. Returns when to run again.
pub fn expire(cluster: &Cluster, now: Timestamp, next: &mut Option<Timestamp>) -> Option<Timestamp> {
    if let Some(due) = *next
        && now < due
    {
        return Some(due);
    }
    let events = &cluster.store.events;
    // Any event recorded from now on expires at now + TTL or later.
    let mut earliest = now.checked_add(EVENT_TTL).ok();
    for e in events.list(None).0 {
        match expires_at(&e) {
            Some(at) if at <= now => {
                let m = &e.metadata;
                events.remove_uid(m.namespace.as_deref().unwrap_or_default(), m.name.as_deref().unwrap_or_default(), m.uid.as_deref().unwrap_or_default());
            }
            Some(at) => earliest = earliest.map(|t| t.min(at)),
            None => {}
        }
    }
    *next = earliest;
    earliest
}

fn event_name(object: &str, now: Timestamp) -> String {
    let nanos = now.as_nanosecond() as u128 as u64;
    let salt = uuid::Uuid::new_v4().as_u128() as u16;
    format!("{object}.{nanos:x}{salt:04x}")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Service;

    use super::*;
    use crate::{Clock, Config};

    fn service(uid: &str) -> Service {
        Service {
            metadata: ObjectMeta { name: Some("web".into()), namespace: Some("default".into()), uid: Some(uid.into()), ..Default::default() },
            ..Default::default()
        }
    }

    fn events(cluster: &Cluster) -> Vec<(String, i32)> {
        cluster.store.events.list(Some("default")).0.iter().map(|e| (e.reason.clone().unwrap_or_default(), e.count.unwrap_or(0))).collect()
    }

    #[test]
    fn the_same_event_bumps_its_count_and_another_is_recorded_apart() {
        let start: Timestamp = "2025-03-01T10:00:00Z".parse().expect("time");
        let c = Cluster::new(Config::default(), Clock::manual(start));
        let svc = service("u1");
        for _ in 0..3 {
            record(&c, Source::EndpointSlice, reference(&svc, None), Severity::Warning, "Broken", "it broke".into());
        }
        record(&c, Source::EndpointSlice, reference(&svc, None), Severity::Warning, "Broken", "it broke again".into());
        record(&c, Source::EndpointSlice, reference(&service("u2"), None), Severity::Warning, "Broken", "it broke".into());
        record_once(&c, Source::EndpointSlice, reference(&svc, None), Severity::Warning, "Broken", "it broke".into());
        let mut seen = events(&c);
        seen.sort();
        assert_eq!(seen, [("Broken".to_owned(), 1), ("Broken".to_owned(), 1), ("Broken".to_owned(), 3)]);
    }

    #[test]
    fn events_expire_an_hour_after_they_last_happened() {
        let start: Timestamp = "2025-03-01T10:00:00Z".parse().expect("time");
        let c = Cluster::new(Config::default(), Clock::manual(start));
        let svc = service("u1");
        record(&c, Source::EndpointSlice, reference(&svc, None), Severity::Normal, "Old", "first".into());
        c.advance(SignedDuration::from_mins(40));
        record(&c, Source::EndpointSlice, reference(&svc, None), Severity::Normal, "Recent", "second".into());
        c.advance(SignedDuration::from_mins(30));
        assert_eq!(events(&c), [("Recent".to_owned(), 1)], "the first expired after 1 h, the second is 30 min old");
        c.advance(SignedDuration::from_mins(31));
        assert_eq!(events(&c), [], "both expired");
    }
}
