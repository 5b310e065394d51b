//! Mapping Kubernetes objects to the view model: free functions, one file per panel,
//! plus [`snapshot`], which assembles the page from the reflector stores.

pub mod dns;
pub mod pods;
pub mod probes;
pub mod statefulset;
pub mod storage;

use std::collections::HashMap;
use std::sync::Arc;

use app::model::{Connection, Snapshot, Visits};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, Pod};

use crate::watch::Stores;

/// Facts about the dashboard that are not in the cluster.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Namespace watched.
    pub namespace: String,
    /// DNS zone.
    pub domain: String,
    /// Buttons hidden.
    pub read_only: bool,
    /// The cluster in words.
    pub cluster: String,
    /// Connected to the practice cluster (break/heal exist only there).
    pub practice: bool,
}

/// The ordinal of `pod` in StatefulSet `sts`, if its name is `<sts>-<n>`.
pub fn ordinal(sts: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(sts)?.strip_prefix('-')?.parse().ok().filter(|n: &i32| *n >= 0)
}

/// Whether `pod` belongs to `sts`: controlled by it (by uid) or, while orphaned
/// between the policy toggle's delete and re-create, named `<sts>-<n>`.
pub fn belongs_to(pod: &Pod, sts: &StatefulSet) -> bool {
    let name = sts.metadata.name.as_deref().unwrap_or_default();
    let Some(_) = ordinal(name, pod.metadata.name.as_deref().unwrap_or_default()) else { return false };
    match pod.metadata.owner_references.as_ref().and_then(|o| o.iter().find(|r| r.controller == Some(true))) {
        Some(owner) => owner.kind == "StatefulSet" && Some(&owner.uid) == sts.metadata.uid.as_ref(),
        None => true,
    }
}

/// The page for StatefulSet `chosen` (or the only/first one), from the stores.
pub fn snapshot(
    stores: &Stores,
    visits: &HashMap<String, (String, Visits)>,
    chosen: Option<&str>,
    connection: Connection,
    revision: u64,
    ctx: &Context,
) -> Snapshot {
    let mut all: Vec<Arc<StatefulSet>> = stores.statefulsets.state();
    all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let names: Vec<String> = all.iter().filter_map(|s| s.metadata.name.clone()).collect();
    let sts = match chosen {
        Some(c) => all.iter().find(|s| s.metadata.name.as_deref() == Some(c)).cloned(),
        None => all.first().cloned(),
    };
    let mut snap = Snapshot {
        revision,
        connection,
        namespace: ctx.namespace.clone(),
        statefulsets: names,
        read_only: ctx.read_only,
        cluster: ctx.cluster.clone(),
        practice: ctx.practice,
        ..Default::default()
    };
    let Some(sts) = sts else { return snap };
    let name = sts.metadata.name.clone().unwrap_or_default();
    let mut pods: Vec<Arc<Pod>> = stores.pods.state().into_iter().filter(|p| belongs_to(p, &sts)).collect();
    pods.sort_by_key(|p| ordinal(&name, p.metadata.name.as_deref().unwrap_or_default()));
    let all_events = stores.events.state();
    let events = events_by_object(&all_events);
    snap.pods = pods
        .iter()
        .map(|p| {
            let pod_name = p.metadata.name.clone().unwrap_or_default();
            // A count read from an earlier pod of the same name is not this pod's.
            let v = visits.get(&pod_name).filter(|(uid, _)| p.metadata.uid.as_ref() == Some(uid)).map(|(_, v)| v.clone()).unwrap_or_default();
            let mine = p.metadata.uid.as_deref().and_then(|uid| events.get(uid)).map_or(&[][..], Vec::as_slice);
            pods::pod_view(p, &name, mine, v)
        })
        .collect();
    snap.claims = storage::claims(&sts, &stores.claims.state(), &stores.volumes.state(), &pods);
    let service = sts.spec.as_ref().map(|s| s.service_name.clone().unwrap_or_default()).unwrap_or_default();
    let svc = stores.services.state().into_iter().find(|s| s.metadata.name.as_deref() == Some(service.as_str()));
    snap.dns = dns::dns_view(svc.as_deref(), &stores.slices.state(), &ctx.domain);
    snap.statefulset = Some(statefulset::statefulset_view(&sts));
    snap
}

/// The probe-related events of each object, by the involved object's UID: one pass
/// over the events, so a snapshot costs pods + events, not pods × events.
pub fn events_by_object(events: &[Arc<Event>]) -> HashMap<&str, Vec<Arc<Event>>> {
    let mut by_uid: HashMap<&str, Vec<Arc<Event>>> = HashMap::new();
    for e in events {
        let relevant = e.reason.as_deref().is_some_and(|r| pods::PROBE_REASONS.contains(&r));
        if let (true, Some(uid)) = (relevant, e.involved_object.uid.as_deref()) {
            by_uid.entry(uid).or_default().push(e.clone());
        }
    }
    by_uid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_parse_only_the_statefulsets_own_names() {
        assert_eq!(ordinal("web", "web-0"), Some(0));
        assert_eq!(ordinal("web", "web-12"), Some(12));
        assert_eq!(ordinal("web", "webx-1"), None);
        assert_eq!(ordinal("web", "web-db-1"), None);
        assert_eq!(ordinal("web", "web--1"), None);
        assert_eq!(ordinal("web", "web"), None);
    }
}
