//! The EndpointSlice and Endpoints controllers: every Service with a selector gets the
//! pods it selects published as `discovery.k8s.io/v1` EndpointSlices and as a `core/v1`
//! Endpoints object, the way kube-controller-manager's `endpointslice` and `endpoint`
//! controllers write them. Also the API server's own `default/kubernetes` Endpoints and
//! EndpointSlice, which point at the API server.
//!
//! A pass syncs only the Services whose objects changed (see [`ServiceQueue`](super::service_queue::ServiceQueue)), reads
//! only the pods each one selects, and writes only what differs from the stored
//! objects, so an idle cluster costs no writes.

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort as CoreEndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Ctx;
use super::service_queue::selects;
use crate::Cluster;
use crate::api::error::ApiError;
use crate::kinds::{name_of, namespace_of};
use crate::ops::{self, DeleteOptions};
use crate::store::{Key, StoreError};

/// Label naming the Service an EndpointSlice belongs to.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Label naming the controller that manages an EndpointSlice.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// The value of [`LABEL_MANAGED_BY`] on the slices this controller writes.
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// Label (value `""`) on the slices and Endpoints of a Service without a cluster IP.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
/// Annotation with the time of the change that caused the last write.
pub const ANNOTATION_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// Annotation (value `truncated`) on an Endpoints object holding only part of its addresses.
pub const ANNOTATION_OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
/// Endpoints per EndpointSlice (kube-controller-manager's `--max-endpoints-per-slice` default).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// Addresses an Endpoints object keeps before it is truncated.
pub const MAX_ENDPOINTS_CAPACITY: usize = 1000;
/// The API server address behind the `kubernetes` Service when no node has an InternalIP.
pub const APISERVER_ADDRESS: &str = "172.18.0.2";
/// The API server's port behind the `kubernetes` Service.
pub const APISERVER_PORT: i32 = 6443;

/// Annotation that marks an Endpoints object as a leader-election lock, never a Service's.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

/// One pass: EndpointSlices and Endpoints for the Services with a selector that need it,
/// removal of Endpoints whose Service is gone, and the `kubernetes` Service's endpoints.
pub fn reconcile(ctx: &Ctx) -> Option<Timestamp> {
    let store = &ctx.cluster.store;
    let mut queue = crate::controllers::queue::lock(&ctx.cluster.service_queue);
    let work = queue.take(store);
    if work.services.is_empty() && !work.orphans && !work.apiserver {
        return None;
    }
    let nodes = Nodes::load(ctx.cluster);
    let keys: Vec<Key> = work.services.into_iter().collect();
    // In (namespace, name) order, so each namespace is one run.
    for in_namespace in keys.chunk_by(|a, b| a.0 == b.0) {
        let services: Vec<(&Key, Arc<Service>)> = in_namespace.iter().filter_map(|k| Some((k, store.services.get(&k.0, &k.1)?))).collect();
        let selecting: Vec<(&Key, &Service, &BTreeMap<String, String>)> =
            services.iter().filter_map(|(k, s)| selector_of(s).map(|sel| (*k, s.as_ref(), sel))).collect();
        let Some((first, _, _)) = selecting.first() else { continue };
        let ns = first.0.as_str();
        let (slices, _) = store.endpoint_slices.list(Some(ns));
        let mut slices_of: HashMap<&str, Vec<&Arc<EndpointSlice>>> = HashMap::new();
        for slice in &slices {
            let labels = slice.metadata.labels.as_ref();
            let service = labels.and_then(|l| l.get(LABEL_SERVICE_NAME));
            let managed = labels.and_then(|l| l.get(LABEL_MANAGED_BY)).is_some_and(|m| m == MANAGED_BY);
            if let (Some(service), true) = (service, managed) {
                slices_of.entry(service.as_str()).or_default().push(slice);
            }
        }
        for (key, svc, selector) in selecting {
            let pods: Vec<Arc<Pod>> = queue.members(key).filter_map(|n| store.pods.get(ns, n)).collect();
            let selected: Vec<&Pod> = pods.iter().map(Arc::as_ref).filter(|p| selects(selector, p)).collect();
            let trigger = trigger_time(svc, &selected);
            let facts = PodFacts::collect(svc, &selected);
            let existing = slices_of.get(name_of(svc)).map(Vec::as_slice).unwrap_or_default();
            sync_slices(ctx.cluster, svc, &facts, existing, &nodes, trigger);
            sync_endpoints(ctx.cluster, svc, &facts, trigger);
        }
    }
    if work.orphans {
        remove_orphaned_endpoints(ctx.cluster);
    }
    if work.apiserver {
        sync_apiserver_endpoints(ctx.cluster, &nodes);
    }
    None
}

// ---------------------------------------------------------------------------------
// Facts about services and pods, as the Kubernetes controllers judge them.

/// The selector of a Service this controller serves: not ExternalName, selector set and
/// non-empty (an empty selector does not survive storage in Kubernetes, so selects nothing).
pub(super) fn selector_of(svc: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

/// Whether the Service has a cluster IP (not `None`, not empty).
fn has_cluster_ip(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()).is_some_and(|ip| !ip.is_empty() && ip != "None")
}

/// Whether the Service is headless (`clusterIP: None`).
fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

fn publish_not_ready(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.publish_not_ready_addresses).unwrap_or(false)
}

fn service_ports(svc: &Service) -> &[ServicePort] {
    svc.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default()
}

/// Whether the pod's `Ready` condition is `True`.
fn pod_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn ready_since(pod: &Pod) -> Option<Timestamp> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == "Ready")?.last_transition_time.as_ref().map(|t| t.0)
}

/// The pod's IPv4 address, as the pod reports it, if the pod belongs in a Service's
/// endpoints at all: not finished (Succeeded/Failed) and has an IP. Terminating pods
/// count; each controller decides about them.
fn endpoint_ip(pod: &Pod) -> Option<&str> {
    let status = pod.status.as_ref()?;
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return None;
    }
    let listed = status.pod_ips.iter().flatten().map(|p| p.ip.as_str());
    listed.chain(status.pod_ip.as_deref()).find(|ip| ip.parse::<Ipv4Addr>().is_ok())
}

/// The pod's hostname as published for this Service: only when the pod sets
/// `spec.hostname` and its `spec.subdomain` is this Service (in its namespace).
fn hostname_for<'p>(pod: &'p Pod, svc: &Service) -> Option<&'p str> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    let same_service = spec.subdomain.as_deref() == Some(name_of(svc)) && namespace_of(pod) == namespace_of(svc);
    same_service.then_some(hostname)
}

fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
}

fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

fn protocol_of(port: &ServicePort) -> &str {
    port.protocol.as_deref().unwrap_or("TCP")
}

/// The container port a Service port sends to on this pod: a number as is, a name
/// looked up in the containers' (and sidecars') ports with the same protocol.
fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let name = match &port.target_port {
        None => return Some(port.port),
        Some(IntOrString::Int(n)) => return Some(*n),
        Some(IntOrString::String(name)) => name,
    };
    let spec = pod.spec.as_ref()?;
    let sidecars = spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
    spec.containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol.as_deref().unwrap_or("TCP") == protocol_of(port))
        .map(|p| p.container_port)
}

/// When the last change behind this Service's endpoints happened: the Service's creation
/// or the latest readiness change of a selected pod.
fn trigger_time(svc: &Service, pods: &[&Pod]) -> Option<Timestamp> {
    let created = svc.metadata.creation_timestamp.as_ref().map(|t| t.0);
    pods.iter().filter_map(|p| ready_since(p)).chain(created).max()
}

/// What both controllers publish about one selected pod, worked out once per pass.
struct PodFacts<'p> {
    pod: &'p Pod,
    /// The pod's IPv4 address.
    ip: &'p str,
    /// The `Ready` condition is `True`.
    serving: bool,
    /// `deletionTimestamp` is set.
    terminating: bool,
    /// The hostname published for this Service.
    hostname: Option<&'p str>,
    node: Option<&'p str>,
    /// The container port each Service port reaches on this pod, where it resolves.
    ports: Vec<Option<i32>>,
}

impl<'p> PodFacts<'p> {
    /// Facts for the pods that belong in endpoints at all (terminating ones included).
    fn collect(svc: &Service, pods: &[&'p Pod]) -> Vec<Self> {
        pods.iter()
            .filter_map(|&pod| {
                Some(PodFacts {
                    pod,
                    ip: endpoint_ip(pod)?,
                    serving: pod_ready(pod),
                    terminating: pod.metadata.deletion_timestamp.is_some(),
                    hostname: hostname_for(pod, svc),
                    node: node_name(pod),
                    ports: service_ports(svc).iter().map(|sp| find_port(pod, sp)).collect(),
                })
            })
            .collect()
    }

    fn name(&self) -> &'p str {
        name_of(self.pod)
    }

    fn uid(&self) -> &'p str {
        self.pod.metadata.uid.as_deref().unwrap_or_default()
    }

    /// The endpoint's conditions: serving is the pod's readiness, terminating its
    /// deletion, and ready needs both serving and not terminating, unless the Service
    /// publishes not-ready addresses.
    fn conditions(&self, publish_not_ready: bool) -> EndpointConditions {
        EndpointConditions {
            ready: Some(publish_not_ready || (self.serving && !self.terminating)),
            serving: Some(self.serving),
            terminating: Some(self.terminating),
        }
    }

    /// The pod's EndpointSlice endpoint.
    fn slice_endpoint(&self, publish_not_ready: bool, zone: Option<&str>) -> Endpoint {
        Endpoint {
            addresses: vec![self.ip.to_owned()],
            conditions: Some(self.conditions(publish_not_ready)),
            hostname: self.hostname.map(str::to_owned),
            node_name: self.node.map(str::to_owned),
            target_ref: Some(pod_ref(self.pod)),
            zone: zone.map(str::to_owned),
            ..Default::default()
        }
    }

    /// Whether `e` is exactly [`PodFacts::slice_endpoint`], checked without building it:
    /// the common case, so an unchanged Service costs no allocation per pod.
    fn is_slice_endpoint(&self, e: &Endpoint, publish_not_ready: bool, zone: Option<&str>) -> bool {
        let meta = &self.pod.metadata;
        let is_pod_ref = |r: &ObjectReference| {
            r.kind.as_deref() == Some("Pod")
                && r.namespace == meta.namespace
                && r.name == meta.name
                && r.uid == meta.uid
                && r.api_version.is_none()
                && r.field_path.is_none()
                && r.resource_version.is_none()
        };
        matches!(e.addresses.as_slice(), [ip] if *ip == self.ip)
            && e.conditions == Some(self.conditions(publish_not_ready))
            && e.hostname.as_deref() == self.hostname
            && e.node_name.as_deref() == self.node
            && e.zone.as_deref() == zone
            && e.hints.is_none()
            && e.deprecated_topology.is_none()
            && e.target_ref.as_ref().is_some_and(is_pod_ref)
    }

    /// The pod's address in a core/v1 Endpoints subset.
    fn address(&self) -> EndpointAddress {
        EndpointAddress {
            ip: self.ip.to_owned(),
            hostname: self.hostname.map(str::to_owned),
            node_name: self.node.map(str::to_owned),
            target_ref: Some(pod_ref(self.pod)),
        }
    }
}

fn log_err<T>(what: &str, name: &str, result: Result<T, ApiError>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, object = name, "endpoints controller could not {what}");
    }
}

// ---------------------------------------------------------------------------------
// Indexes built once per pass.

/// Nodes by name, with their topology zone.
struct Nodes {
    zones: HashMap<String, Option<String>>,
    first_internal_ip: Option<String>,
}

impl Nodes {
    fn load(cluster: &Cluster) -> Self {
        let (nodes, _) = cluster.store.nodes.list(None);
        let zones = nodes
            .iter()
            .map(|n| {
                let zone = n.metadata.labels.as_ref().and_then(|l| l.get("topology.kubernetes.io/zone")).cloned();
                (name_of(n.as_ref()).to_owned(), zone.filter(|z| !z.is_empty()))
            })
            .collect();
        let first_internal_ip = nodes.iter().find_map(|n| {
            let addresses = n.status.as_ref()?.addresses.as_ref()?;
            addresses.iter().find(|a| a.type_ == "InternalIP").map(|a| a.address.clone())
        });
        Nodes { zones, first_internal_ip }
    }

    fn exists(&self, node: &str) -> bool {
        self.zones.contains_key(node)
    }

    fn zone(&self, node: &str) -> Option<&str> {
        self.zones.get(node).and_then(|z| z.as_deref())
    }
}

// ---------------------------------------------------------------------------------
// EndpointSlices.

/// The slice ports of pods whose Service ports reach `resolved`: ports that do not
/// resolve are left out, so such pods get slices of their own, as in Kubernetes.
fn slice_ports(svc: &Service, resolved: &[Option<i32>]) -> Vec<EndpointPort> {
    service_ports(svc)
        .iter()
        .zip(resolved)
        .filter_map(|(sp, port)| {
            port.map(|port| EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(port),
                protocol: Some(protocol_of(sp).to_owned()),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

/// A port set as a sortable key (order-insensitive).
type PortKey = Vec<(String, i32, String, String)>;

fn port_key(ports: &[EndpointPort]) -> PortKey {
    let mut key: PortKey = ports
        .iter()
        .map(|p| (p.name.clone().unwrap_or_default(), p.port.unwrap_or(0), p.protocol.clone().unwrap_or_default(), p.app_protocol.clone().unwrap_or_default()))
        .collect();
    key.sort();
    key
}

fn endpoint_pod(e: &Endpoint) -> Option<&str> {
    e.target_ref.as_ref().and_then(|r| r.name.as_deref())
}

/// The labels a Service's slices carry: the Service's own (minus the reserved ones) plus
/// service name, manager, and the headless marker.
fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let reserved = [LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS];
    let mut labels: BTreeMap<String, String> =
        svc.metadata.labels.iter().flatten().filter(|(k, _)| !reserved.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    labels.insert(LABEL_SERVICE_NAME.into(), name_of(svc).to_owned());
    labels.insert(LABEL_MANAGED_BY.into(), MANAGED_BY.into());
    if !has_cluster_ip(svc) {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    }
    labels
}

fn owner_ref(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: name_of(svc).to_owned(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn owned_by(slice: &EndpointSlice, svc: &Service) -> bool {
    let uid = svc.metadata.uid.as_deref().unwrap_or_default();
    slice.metadata.owner_references.iter().flatten().any(|o| o.uid == uid && o.kind == "Service" && o.api_version == "v1")
}

/// The endpoints of one port set, by pod name; stored endpoints that are still right
/// are borrowed rather than rebuilt.
struct Group<'a> {
    ports: Vec<EndpointPort>,
    endpoints: BTreeMap<&'a str, Cow<'a, Endpoint>>,
}

/// An existing slice that keeps some of its endpoints.
struct Kept<'a> {
    slice: &'a EndpointSlice,
    endpoints: Vec<Cow<'a, Endpoint>>,
    /// Whether it must be written anyway.
    changed: bool,
}

/// What one slice should hold.
struct Content<'a> {
    ports: Vec<EndpointPort>,
    endpoints: Vec<Cow<'a, Endpoint>>,
}

/// What to write for one Service's slices.
#[derive(Default)]
struct SlicePlan<'a> {
    /// Existing slices and what they should hold.
    update: Vec<(&'a EndpointSlice, Content<'a>)>,
    /// What new slices should hold.
    create: Vec<Content<'a>>,
    delete: Vec<&'a EndpointSlice>,
}

/// Whether a slice differs from what it should hold.
fn slice_differs(slice: &EndpointSlice, ports: &[EndpointPort], endpoints: &[Cow<'_, Endpoint>], labels: &BTreeMap<String, String>) -> bool {
    let same_endpoints =
        slice.endpoints.len() == endpoints.len() && slice.endpoints.iter().zip(endpoints).all(|(s, e)| std::ptr::eq(s, e.as_ref()) || s == e.as_ref());
    !same_endpoints || slice.ports.as_deref().unwrap_or_default() != ports || slice.metadata.labels.as_ref() != Some(labels) || slice.address_type != "IPv4"
}

fn sort_endpoints(endpoints: &mut [Cow<'_, Endpoint>]) {
    endpoints.sort_by(|a, b| endpoint_pod(a).cmp(&endpoint_pod(b)));
}

/// Works out which slices to keep, change, create and delete so that every desired
/// endpoint is in exactly one slice of its port set, moving as few endpoints as possible.
fn plan_slices<'a>(
    svc: &Service,
    desired: BTreeMap<PortKey, Group<'a>>,
    existing: &[&'a Arc<EndpointSlice>],
    labels: &BTreeMap<String, String>,
) -> SlicePlan<'a> {
    let mut plan = SlicePlan::default();
    let mut by_ports: BTreeMap<PortKey, Vec<&'a EndpointSlice>> = BTreeMap::new();
    for &slice in existing {
        let slice: &'a EndpointSlice = slice;
        if owned_by(slice, svc) && slice.address_type == "IPv4" {
            by_ports.entry(port_key(slice.ports.as_deref().unwrap_or_default())).or_default().push(slice);
        } else {
            plan.delete.push(slice);
        }
    }
    let placeholder_needed = desired.is_empty();
    for (key, group) in desired {
        let Group { ports, endpoints: mut wanted } = group;
        let mut kept: Vec<Kept<'a>> = Vec::new();
        for slice in by_ports.remove(&key).unwrap_or_default() {
            let mut endpoints: Vec<Cow<'a, Endpoint>> = slice.endpoints.iter().filter_map(|e| endpoint_pod(e).and_then(|name| wanted.remove(name))).collect();
            if endpoints.is_empty() {
                plan.delete.push(slice);
            } else {
                sort_endpoints(&mut endpoints);
                let changed = slice_differs(slice, &ports, &endpoints, labels);
                kept.push(Kept { slice, endpoints, changed });
            }
        }
        // New endpoints go first to slices that are written anyway, then to one
        // untouched slice that can take them all, then to new slices.
        let mut rest: VecDeque<Cow<'a, Endpoint>> = wanted.into_values().collect();
        for k in kept.iter_mut().filter(|k| k.changed) {
            while k.endpoints.len() < MAX_ENDPOINTS_PER_SLICE {
                let Some(e) = rest.pop_front() else { break };
                k.endpoints.push(e);
            }
        }
        if !rest.is_empty()
            && let Some(k) = kept.iter_mut().find(|k| k.endpoints.len() + rest.len() <= MAX_ENDPOINTS_PER_SLICE)
        {
            k.endpoints.extend(rest.drain(..));
            k.changed = true;
        }
        while !rest.is_empty() {
            let chunk: Vec<Cow<'a, Endpoint>> = rest.drain(..rest.len().min(MAX_ENDPOINTS_PER_SLICE)).collect();
            plan.create.push(Content { ports: ports.clone(), endpoints: chunk });
        }
        for mut k in kept.into_iter().filter(|k| k.changed) {
            sort_endpoints(&mut k.endpoints);
            plan.update.push((k.slice, Content { ports: ports.clone(), endpoints: k.endpoints }));
        }
    }
    plan.delete.extend(by_ports.into_values().flatten());
    if placeholder_needed {
        // A Service that selects nothing still has one empty slice.
        plan.create.push(Content { ports: Vec::new(), endpoints: Vec::new() });
    }
    // Reuse slices about to be deleted for slices about to be created (the address
    // type of a slice cannot change).
    while !plan.create.is_empty() {
        let Some(i) = plan.delete.iter().position(|s| owned_by(s, svc) && s.address_type == "IPv4") else { break };
        let slice = plan.delete.remove(i);
        let content = plan.create.remove(0);
        plan.update.push((slice, content));
    }
    plan
}

fn sync_slices<'a>(cluster: &Cluster, svc: &Service, facts: &[PodFacts<'a>], existing: &[&'a Arc<EndpointSlice>], nodes: &Nodes, trigger: Option<Timestamp>) {
    let publish = publish_not_ready(svc);
    let stored: HashMap<&str, &Endpoint> = existing.iter().flat_map(|s| s.endpoints.iter()).filter_map(|e| Some((endpoint_pod(e)?, e))).collect();
    let mut by_resolved: BTreeMap<&[Option<i32>], BTreeMap<&'a str, Cow<'a, Endpoint>>> = BTreeMap::new();
    for f in facts {
        // A pod on a node that does not exist is left out unless the user asked for
        // not-ready addresses to be published.
        if !f.node.is_none_or(|n| nodes.exists(n)) && !publish {
            continue;
        }
        let zone = f.node.and_then(|n| nodes.zone(n));
        let endpoint = match stored.get(f.name()) {
            Some(&e) if f.is_slice_endpoint(e, publish, zone) => Cow::Borrowed(e),
            _ => Cow::Owned(f.slice_endpoint(publish, zone)),
        };
        by_resolved.entry(f.ports.as_slice()).or_default().insert(f.name(), endpoint);
    }
    let mut desired: BTreeMap<PortKey, Group<'a>> = BTreeMap::new();
    for (resolved, endpoints) in by_resolved {
        let ports = slice_ports(svc, resolved);
        match desired.entry(port_key(&ports)) {
            Entry::Vacant(v) => {
                v.insert(Group { ports, endpoints });
            }
            Entry::Occupied(mut o) => o.get_mut().endpoints.extend(endpoints),
        }
    }
    let labels = slice_labels(svc);
    let mut plan = plan_slices(svc, desired, existing, &labels);
    if svc.metadata.deletion_timestamp.is_some() {
        // Creating slices now would race the garbage collector deleting them.
        plan.create.clear();
    }
    let ns = namespace_of(svc);
    let trigger = trigger.map(|t| t.to_string());
    let owner = owner_ref(svc);
    for (slice, Content { ports, endpoints }) in plan.update {
        let name = name_of(slice);
        let result = cluster.store.endpoint_slices.modify(ns, name, |s| {
            if !slice_differs(s, &ports, &endpoints, &labels) {
                return Ok::<bool, StoreError>(false);
            }
            s.address_type = "IPv4".into();
            s.ports = (!ports.is_empty()).then(|| ports.clone());
            s.endpoints = endpoints.into_iter().map(Cow::into_owned).collect();
            s.metadata.labels = Some(labels.clone());
            if let Some(t) = &trigger {
                s.metadata.annotations.get_or_insert_with(Default::default).insert(ANNOTATION_TRIGGER_TIME.into(), t.clone());
            }
            Ok(true)
        });
        log_err("update an EndpointSlice", name, result.map_err(ApiError::from));
    }
    for Content { ports, endpoints } in plan.create {
        let slice = EndpointSlice {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}-", name_of(svc))),
                labels: Some(labels.clone()),
                annotations: trigger.as_ref().map(|t| [(ANNOTATION_TRIGGER_TIME.to_owned(), t.clone())].into()),
                owner_references: Some(vec![owner.clone()]),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: endpoints.into_iter().map(Cow::into_owned).collect(),
            ports: (!ports.is_empty()).then_some(ports),
        };
        log_err("create an EndpointSlice", name_of(svc), ops::create(cluster, Some(ns), slice, false));
    }
    for slice in plan.delete {
        let result = ops::delete::<EndpointSlice>(cluster, ns, name_of(slice), &DeleteOptions::default());
        log_err("delete an EndpointSlice", name_of(slice), result);
    }
}

// ---------------------------------------------------------------------------------
// Endpoints.

/// A core/v1 port as a sortable key.
type CorePortKey = (String, i32, String, String);

fn core_port_key(p: &CoreEndpointPort) -> CorePortKey {
    (p.name.clone().unwrap_or_default(), p.port, p.protocol.clone().unwrap_or_default(), p.app_protocol.clone().unwrap_or_default())
}

/// The subsets of a Service's Endpoints, packed as Kubernetes packs them: addresses with
/// the same set of ports share a subset; ready ones in `addresses`, others in
/// `notReadyAddresses`; each list sorted by IP. Terminating pods are left out unless
/// the Service publishes not-ready addresses.
fn endpoint_subsets(svc: &Service, facts: &[PodFacts<'_>]) -> Vec<EndpointSubset> {
    /// Addresses by (IP, pod uid): the pod's index in `facts`, and whether it is ready.
    type Addresses<'f> = BTreeMap<(&'f str, &'f str), (usize, bool)>;
    /// A subset's identity: its addresses and their readiness.
    type Signature<'f> = Vec<(&'f str, &'f str, bool)>;
    let publish = publish_not_ready(svc);
    let ports = service_ports(svc);
    // Keyed by (Service port index, resolved port); `None` for a headless Service
    // without ports.
    let mut by_port: BTreeMap<Option<(usize, i32)>, Addresses<'_>> = BTreeMap::new();
    for (i, f) in facts.iter().enumerate() {
        if f.terminating && !publish {
            continue;
        }
        let ready = publish || f.serving;
        let mut add = |port: Option<(usize, i32)>| {
            let slot = by_port.entry(port).or_default().entry((f.ip, f.uid())).or_insert((i, ready));
            // The same address seen ready and not ready: ready wins.
            slot.1 |= ready;
        };
        if ports.is_empty() {
            // Only a headless Service may have no ports.
            if is_headless(svc) {
                add(None);
            }
            continue;
        }
        for (j, port) in f.ports.iter().enumerate() {
            if let Some(port) = port {
                add(Some((j, *port)));
            }
        }
    }
    // Ports that serve exactly the same addresses share a subset.
    let mut by_addresses: BTreeMap<Signature<'_>, (Vec<(usize, i32)>, Addresses<'_>)> = BTreeMap::new();
    for (port, addresses) in by_port {
        let signature = addresses.iter().map(|(&(ip, uid), &(_, ready))| (ip, uid, ready)).collect();
        by_addresses.entry(signature).or_insert_with(|| (Vec::new(), addresses)).0.extend(port);
    }
    by_addresses
        .into_values()
        .map(|(served, addresses)| {
            let mut subset_ports: Vec<CoreEndpointPort> = served
                .into_iter()
                .filter_map(|(j, port)| {
                    let sp = ports.get(j)?;
                    Some(CoreEndpointPort {
                        name: sp.name.clone().filter(|n| !n.is_empty()),
                        port,
                        protocol: Some(protocol_of(sp).to_owned()),
                        app_protocol: sp.app_protocol.clone(),
                    })
                })
                .collect();
            subset_ports.sort_by_key(core_port_key);
            let (ready, not_ready): (Vec<_>, Vec<_>) = addresses.into_values().partition(|&(_, ready)| ready);
            let list = |v: Vec<(usize, bool)>| (!v.is_empty()).then(|| v.into_iter().filter_map(|(i, _)| facts.get(i)).map(PodFacts::address).collect());
            EndpointSubset { addresses: list(ready), not_ready_addresses: list(not_ready), ports: (!subset_ports.is_empty()).then_some(subset_ports) }
        })
        .collect()
}

/// Cuts subsets down to [`MAX_ENDPOINTS_CAPACITY`] addresses the way Kubernetes does:
/// not-ready addresses go first; each subset keeps its share. Returns whether it cut.
fn truncate_subsets(subsets: &mut [EndpointSubset]) -> bool {
    let count = |v: &Option<Vec<EndpointAddress>>| v.as_ref().map_or(0, Vec::len);
    let ready: usize = subsets.iter().map(|s| count(&s.addresses)).sum();
    let not_ready: usize = subsets.iter().map(|s| count(&s.not_ready_addresses)).sum();
    if ready + not_ready <= MAX_ENDPOINTS_CAPACITY {
        return false;
    }
    let cut_ready = ready > MAX_ENDPOINTS_CAPACITY;
    let (max, total) = if cut_ready { (MAX_ENDPOINTS_CAPACITY, ready) } else { (MAX_ENDPOINTS_CAPACITY - ready, not_ready) };
    let mut left = max;
    for subset in subsets.iter_mut() {
        let list = if cut_ready { &mut subset.addresses } else { &mut subset.not_ready_addresses };
        let here = count(list);
        let share = (here * max).div_ceil(total.max(1)).min(left);
        if let Some(v) = list.as_mut() {
            v.truncate(share);
        }
        if list.as_ref().is_some_and(Vec::is_empty) {
            *list = None;
        }
        left -= count(list);
        if cut_ready {
            subset.not_ready_addresses = None;
        }
    }
    true
}

fn endpoints_labels(svc: &Service) -> Option<BTreeMap<String, String>> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    if has_cluster_ip(svc) {
        labels.remove(LABEL_HEADLESS);
    } else {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    }
    (!labels.is_empty()).then_some(labels)
}

fn sync_endpoints(cluster: &Cluster, svc: &Service, facts: &[PodFacts<'_>], trigger: Option<Timestamp>) {
    let mut subsets = endpoint_subsets(svc, facts);
    let truncated = truncate_subsets(&mut subsets);
    let subsets = (!subsets.is_empty()).then_some(subsets);
    let labels = endpoints_labels(svc);
    let (ns, name) = (namespace_of(svc), name_of(svc));
    let trigger = trigger.map(|t| t.to_string());
    let differs = |e: &Endpoints| {
        let marked = e.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(ANNOTATION_OVER_CAPACITY));
        e.subsets != subsets || e.metadata.labels != labels || marked != truncated
    };
    let set_annotations = |annotations: &mut BTreeMap<String, String>| {
        if let Some(t) = &trigger {
            annotations.insert(ANNOTATION_TRIGGER_TIME.into(), t.clone());
        }
        if truncated {
            annotations.insert(ANNOTATION_OVER_CAPACITY.into(), "truncated".into());
        } else {
            annotations.remove(ANNOTATION_OVER_CAPACITY);
        }
    };
    if cluster.store.endpoints.get(ns, name).is_none() {
        let mut annotations = BTreeMap::new();
        set_annotations(&mut annotations);
        let endpoints = Endpoints {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: labels.clone(),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..Default::default()
            },
            subsets: subsets.clone(),
        };
        log_err("create Endpoints", name, ops::create(cluster, Some(ns), endpoints, false));
        return;
    }
    let result = cluster.store.endpoints.modify(ns, name, |e| {
        if !differs(e) {
            return Ok::<bool, StoreError>(false);
        }
        e.subsets.clone_from(&subsets);
        e.metadata.labels.clone_from(&labels);
        let annotations = e.metadata.annotations.get_or_insert_with(Default::default);
        set_annotations(annotations);
        if annotations.is_empty() {
            e.metadata.annotations = None;
        }
        Ok(true)
    });
    log_err("update Endpoints", name, result.map_err(ApiError::from));
}

/// Deletes Endpoints this controller wrote whose Service is gone. Endpoints written by
/// someone else (no trigger-time annotation) are left alone, so manually managed
/// Endpoints may be created before their Service.
fn remove_orphaned_endpoints(cluster: &Cluster) {
    for e in cluster.store.endpoints.list(None).0 {
        let annotations = e.metadata.annotations.as_ref();
        let ours = annotations.is_some_and(|a| a.contains_key(ANNOTATION_TRIGGER_TIME) && !a.contains_key(LEADER_ANNOTATION));
        let (ns, name) = (namespace_of(e.as_ref()), name_of(e.as_ref()));
        if ours && cluster.store.services.get(ns, name).is_none() {
            log_err("delete Endpoints", name, ops::delete::<Endpoints>(cluster, ns, name, &DeleteOptions::default()));
        }
    }
}

// ---------------------------------------------------------------------------------
// The API server's own endpoints.

/// Keeps `default/kubernetes` Endpoints and EndpointSlice pointing at the API server,
/// as the API server's endpoint reconciler does (the Service has no selector).
fn sync_apiserver_endpoints(cluster: &Cluster, nodes: &Nodes) {
    const NS: &str = "default";
    const NAME: &str = "kubernetes";
    if cluster.store.services.get(NS, NAME).is_none() {
        return;
    }
    let ip = nodes.first_internal_ip.clone().unwrap_or_else(|| APISERVER_ADDRESS.to_owned());
    let subsets = Some(vec![EndpointSubset {
        addresses: Some(vec![EndpointAddress { ip: ip.clone(), ..Default::default() }]),
        not_ready_addresses: None,
        ports: Some(vec![CoreEndpointPort { name: Some("https".into()), port: APISERVER_PORT, protocol: Some("TCP".into()), app_protocol: None }]),
    }]);
    let labels: BTreeMap<String, String> = [("endpointslice.kubernetes.io/skip-mirror".to_owned(), "true".to_owned())].into();
    if cluster.store.endpoints.get(NS, NAME).is_none() {
        let endpoints = Endpoints { metadata: ObjectMeta { name: Some(NAME.into()), labels: Some(labels), ..Default::default() }, subsets };
        log_err("create Endpoints", NAME, ops::create(cluster, Some(NS), endpoints, false));
    } else {
        let result = cluster.store.endpoints.modify(NS, NAME, |e| {
            let changed = e.subsets != subsets || e.metadata.labels.as_ref() != Some(&labels);
            e.subsets.clone_from(&subsets);
            e.metadata.labels = Some(labels.clone());
            Ok::<bool, StoreError>(changed)
        });
        log_err("update Endpoints", NAME, result.map_err(ApiError::from));
    }

    let slice_labels: BTreeMap<String, String> = [(LABEL_SERVICE_NAME.to_owned(), NAME.to_owned())].into();
    let ports = Some(vec![EndpointPort { name: Some("https".into()), port: Some(APISERVER_PORT), protocol: Some("TCP".into()), app_protocol: None }]);
    let endpoints =
        vec![Endpoint { addresses: vec![ip], conditions: Some(EndpointConditions { ready: Some(true), ..Default::default() }), ..Default::default() }];
    if cluster.store.endpoint_slices.get(NS, NAME).is_none() {
        let slice = EndpointSlice {
            metadata: ObjectMeta { name: Some(NAME.into()), labels: Some(slice_labels), ..Default::default() },
            address_type: "IPv4".into(),
            endpoints,
            ports,
        };
        log_err("create an EndpointSlice", NAME, ops::create(cluster, Some(NS), slice, false));
    } else {
        let result = cluster.store.endpoint_slices.modify(NS, NAME, |s| {
            let changed = s.endpoints != endpoints || s.ports != ports || s.metadata.labels.as_ref() != Some(&slice_labels);
            s.endpoints.clone_from(&endpoints);
            s.ports.clone_from(&ports);
            s.metadata.labels = Some(slice_labels.clone());
            Ok::<bool, StoreError>(changed)
        });
        log_err("update an EndpointSlice", NAME, result.map_err(ApiError::from));
    }
}

/// Hand-made clusters for tests: a headless `web` Service like the lab's and pods with
/// the identity the StatefulSet controller gives them, their status written by hand.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    use jiff::{SignedDuration, Timestamp};
    use k8s_openapi::api::core::v1::{Pod, PodCondition, PodIP, Service};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::{Value, json};

    use super::{Ctx, reconcile};
    use crate::cluster::Config;
    use crate::store::StoreError;
    use crate::{Clock, Cluster, ops};

    /// A fresh cluster on a manual clock.
    pub fn cluster() -> Arc<Cluster> {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
        Cluster::new(Config::default(), Clock::manual(start))
    }

    /// Runs only this controller (the kubelet would otherwise take over the hand-made
    /// pods) until a pass writes nothing; returns how many passes wrote something.
    pub fn sync(c: &Cluster) -> usize {
        for writing in 0..10 {
            let before = c.store.shared.current_rv();
            reconcile(&Ctx { cluster: c, now: c.clock.now() });
            if c.store.shared.current_rv() == before {
                return writing;
            }
        }
        panic!("the endpoints controller keeps writing");
    }

    /// Creates a Service from JSON in `default`.
    pub fn service(c: &Cluster, spec: Value) -> Arc<Service> {
        let svc: Service = serde_json::from_value(spec).expect("service JSON");
        ops::create(c, Some("default"), svc, false).expect("create service")
    }

    /// The lab's headless Service `web` (port `http` 8000 → container port `http`).
    pub fn web_service(c: &Cluster, publish_not_ready: bool) -> Arc<Service> {
        service(
            c,
            json!({
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {
                    "clusterIP": "None",
                    "selector": {"app": "web"},
                    "publishNotReadyAddresses": publish_not_ready,
                    "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]
                }
            }),
        )
    }

    /// Creates a pod from JSON in `default`.
    pub fn pod(c: &Cluster, spec: Value) -> Arc<Pod> {
        let pod: Pod = serde_json::from_value(spec).expect("pod JSON");
        ops::create(c, Some("default"), pod, false).expect("create pod")
    }

    /// `web-<n>` as the StatefulSet controller makes it, scheduled on the node.
    pub fn web_pod(c: &Cluster, n: usize) -> Arc<Pod> {
        pod(
            c,
            json!({
                "metadata": {"name": format!("web-{n}"), "labels": {"app": "web"}},
                "spec": {
                    "hostname": format!("web-{n}"),
                    "subdomain": "web",
                    "nodeName": "practice-node",
                    "containers": [{"name": "app", "image": "stslab/visits:1.0",
                                    "ports": [{"name": "http", "containerPort": 8000}]}]
                }
            }),
        )
    }

    /// The IP `web-<n>` gets.
    pub fn web_ip(n: usize) -> String {
        format!("10.244.0.{}", n + 5)
    }

    /// Writes a pod's status: Running with `ip` (or none), Ready as given.
    pub fn set_status(c: &Cluster, name: &str, ip: Option<&str>, ready: bool) {
        let now = c.clock.now();
        let changed: Result<_, StoreError> = c.store.pods.modify("default", name, |p| {
            let status = p.status.get_or_insert_with(Default::default);
            status.phase = Some("Running".into());
            status.pod_ip = ip.map(str::to_owned);
            status.pod_ips = ip.map(|ip| vec![PodIP { ip: ip.to_owned() }]);
            status.conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                last_transition_time: Some(Time(now)),
                ..Default::default()
            }]);
            Ok(true)
        });
        changed.expect("pod exists");
    }

    /// The lab after the StatefulSet came up: `web` and three Running, Ready pods.
    pub fn lab(publish_not_ready: bool) -> Arc<Cluster> {
        let c = cluster();
        web_service(&c, publish_not_ready);
        for n in 0..3 {
            web_pod(&c, n);
            set_status(&c, &format!("web-{n}"), Some(&web_ip(n)), true);
        }
        c.clock.advance(SignedDuration::from_secs(1));
        sync(&c);
        c
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use serde_json::json;

    use super::test_support::*;
    use super::*;
    use crate::kinds::ApiKind;

    fn rv_of<K: crate::store::Object>(obj: &K) -> Option<String> {
        obj.metadata().resource_version.clone()
    }

    fn slices_of(c: &Cluster, service: &str) -> Vec<Arc<EndpointSlice>> {
        let (all, _) = c.store.endpoint_slices.list(Some("default"));
        all.into_iter().filter(|s| s.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)).is_some_and(|n| n == service)).collect()
    }

    fn only_slice(c: &Cluster, service: &str) -> Arc<EndpointSlice> {
        let mut slices = slices_of(c, service);
        assert_eq!(slices.len(), 1, "one slice for {service}: {slices:#?}");
        slices.remove(0)
    }

    fn endpoint<'a>(slice: &'a EndpointSlice, pod: &str) -> &'a Endpoint {
        slice.endpoints.iter().find(|e| endpoint_pod(e) == Some(pod)).unwrap_or_else(|| panic!("no endpoint for {pod}"))
    }

    fn conditions(e: &Endpoint) -> (Option<bool>, Option<bool>, Option<bool>) {
        let c = e.conditions.clone().unwrap_or_default();
        (c.ready, c.serving, c.terminating)
    }

    fn ips(list: &Option<Vec<EndpointAddress>>) -> Vec<String> {
        list.iter().flatten().map(|a| a.ip.clone()).collect()
    }

    fn endpoints(c: &Cluster, name: &str) -> Arc<Endpoints> {
        c.store.endpoints.get("default", name).expect("Endpoints object")
    }

    #[test]
    fn lab_service_gets_one_slice_with_every_pod_by_hostname() {
        let c = lab(false);
        let svc = c.store.services.get("default", "web").expect("service");
        let slice = only_slice(&c, "web");

        assert!(name_of(slice.as_ref()).starts_with("web-") && name_of(slice.as_ref()).len() == 9, "generated name");
        assert_eq!(slice.metadata.generate_name.as_deref(), Some("web-"));
        let owner = &slice.metadata.owner_references.as_deref().unwrap_or_default()[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("Service", "web", svc.metadata.uid.as_deref().unwrap_or_default()));
        assert_eq!((owner.controller, owner.block_owner_deletion), (Some(true), Some(true)));
        let labels = slice.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("app").map(String::as_str), Some("web"), "service labels are copied");
        assert_eq!(labels.get(LABEL_SERVICE_NAME).map(String::as_str), Some("web"));
        assert_eq!(labels.get(LABEL_MANAGED_BY).map(String::as_str), Some(MANAGED_BY));
        assert_eq!(labels.get(LABEL_HEADLESS).map(String::as_str), Some(""));
        assert!(slice.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(ANNOTATION_TRIGGER_TIME)));

        assert_eq!(slice.address_type, "IPv4");
        let port = &slice.ports.as_deref().unwrap_or_default()[0];
        assert_eq!((port.name.as_deref(), port.port, port.protocol.as_deref()), (Some("http"), Some(8000), Some("TCP")));

        let names: Vec<_> = slice.endpoints.iter().filter_map(endpoint_pod).collect();
        assert_eq!(names, ["web-0", "web-1", "web-2"]);
        for (n, e) in slice.endpoints.iter().enumerate() {
            assert_eq!(e.addresses, [web_ip(n)]);
            assert_eq!(e.hostname.as_deref(), Some(format!("web-{n}").as_str()));
            assert_eq!(e.node_name.as_deref(), Some("practice-node"));
            assert_eq!(conditions(e), (Some(true), Some(true), Some(false)));
            let pod = c.store.pods.get("default", &format!("web-{n}")).expect("pod");
            let target = e.target_ref.clone().unwrap_or_default();
            assert_eq!((target.kind.as_deref(), target.namespace.as_deref()), (Some("Pod"), Some("default")));
            assert_eq!(target.uid, pod.metadata.uid);
        }

        let ep = endpoints(&c, "web");
        let subsets = ep.subsets.as_deref().unwrap_or_default();
        assert_eq!(subsets.len(), 1);
        assert_eq!(ips(&subsets[0].addresses), [web_ip(0), web_ip(1), web_ip(2)]);
        assert_eq!(subsets[0].not_ready_addresses, None);
        let hostnames: Vec<_> = subsets[0].addresses.iter().flatten().map(|a| a.hostname.clone().unwrap_or_default()).collect();
        assert_eq!(hostnames, ["web-0", "web-1", "web-2"]);
        let port = &subsets[0].ports.as_deref().unwrap_or_default()[0];
        assert_eq!((port.name.as_deref(), port.port, port.protocol.as_deref()), (Some("http"), 8000, Some("TCP")));
        let labels = ep.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(labels.get(LABEL_HEADLESS).map(String::as_str), Some(""));
    }

    #[test]
    fn stored_endpoints_are_recognised_only_when_exactly_right() {
        let c = lab(false);
        let svc = c.store.services.get("default", "web").expect("service");
        let pods: Vec<Arc<Pod>> = c.store.pods.list(Some("default")).0;
        let refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let facts = PodFacts::collect(&svc, &refs);
        assert_eq!(facts.len(), 3);
        for f in &facts {
            let built = f.slice_endpoint(false, None);
            assert!(f.is_slice_endpoint(&built, false, None));
            let mut other = built.clone();
            other.conditions = Some(EndpointConditions { ready: Some(false), ..f.conditions(false) });
            assert!(!f.is_slice_endpoint(&other, false, None));
            assert!(!f.is_slice_endpoint(&built, false, Some("zone-a")));
            let mut other = built.clone();
            other.hostname = None;
            assert!(!f.is_slice_endpoint(&other, false, None));
            let mut other = built.clone();
            other.addresses.push("10.0.0.1".into());
            assert!(!f.is_slice_endpoint(&other, false, None));
            let mut other = built.clone();
            if let Some(r) = other.target_ref.as_mut() {
                r.uid = Some("another".into());
            }
            assert!(!f.is_slice_endpoint(&other, false, None));
        }
    }

    #[test]
    fn an_unchanged_cluster_gets_no_writes() {
        let c = lab(false);
        let slice_rv = rv_of(only_slice(&c, "web").as_ref());
        let ep_rv = rv_of(endpoints(&c, "web").as_ref());
        c.clock.advance(SignedDuration::from_secs(60));
        assert_eq!(sync(&c), 0);
        assert_eq!(rv_of(only_slice(&c, "web").as_ref()), slice_rv);
        assert_eq!(rv_of(endpoints(&c, "web").as_ref()), ep_rv);
    }

    #[test]
    fn a_pod_change_syncs_only_the_services_selecting_it() {
        let c = lab(false);
        service(&c, json!({"metadata": {"name": "db"}, "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]}}));
        pod(
            &c,
            json!({"metadata": {"name": "db-0", "labels": {"app": "db"}}, "spec": {"nodeName": "practice-node", "containers": [{"name": "db", "image": "postgres"}]}}),
        );
        set_status(&c, "db-0", Some("10.244.0.50"), true);
        sync(&c);
        let db_slice_rv = rv_of(only_slice(&c, "db").as_ref());
        let db_endpoints_rv = rv_of(endpoints(&c, "db").as_ref());

        // The pass after a change to one pod looks at the Services selecting it only.
        set_status(&c, "web-1", Some(&web_ip(1)), false);
        let work = crate::controllers::queue::lock(&c.service_queue).take(&c.store);
        assert_eq!(work.services.into_iter().collect::<Vec<_>>(), [("default".to_owned(), "web".to_owned())]);

        set_status(&c, "web-1", Some(&web_ip(1)), false);
        assert_eq!(sync(&c), 1);
        assert_eq!(conditions(endpoint(&only_slice(&c, "web"), "web-1")), (Some(false), Some(false), Some(false)), "the change reached web's slice");
        assert_eq!(ips(&endpoints(&c, "web").subsets.clone().unwrap_or_default()[0].not_ready_addresses), [web_ip(1)]);
        assert_eq!(rv_of(only_slice(&c, "db").as_ref()), db_slice_rv, "db's slice was not written");
        assert_eq!(rv_of(endpoints(&c, "db").as_ref()), db_endpoints_rv, "db's Endpoints were not written");
    }

    #[test]
    fn not_ready_pod_stays_in_the_slice_as_not_ready_and_not_serving() {
        let c = lab(false);
        let before = only_slice(&c, "web");
        set_status(&c, "web-1", Some(&web_ip(1)), false);
        assert_eq!(sync(&c), 1);
        let slice = only_slice(&c, "web");
        assert_eq!(name_of(slice.as_ref()), name_of(before.as_ref()), "updated in place");
        assert_eq!(conditions(endpoint(&slice, "web-1")), (Some(false), Some(false), Some(false)));
        assert_eq!(conditions(endpoint(&slice, "web-0")), (Some(true), Some(true), Some(false)));

        let subsets = endpoints(&c, "web").subsets.clone().unwrap_or_default();
        assert_eq!(subsets.len(), 1);
        assert_eq!(ips(&subsets[0].addresses), [web_ip(0), web_ip(2)]);
        assert_eq!(ips(&subsets[0].not_ready_addresses), [web_ip(1)]);

        set_status(&c, "web-1", Some(&web_ip(1)), true);
        sync(&c);
        assert_eq!(conditions(endpoint(&only_slice(&c, "web"), "web-1")), (Some(true), Some(true), Some(false)));
    }

    #[test]
    fn publish_not_ready_addresses_keeps_not_ready_pods_ready() {
        let c = lab(true);
        set_status(&c, "web-1", Some(&web_ip(1)), false);
        sync(&c);
        assert_eq!(conditions(endpoint(&only_slice(&c, "web"), "web-1")), (Some(true), Some(false), Some(false)));
        let subsets = endpoints(&c, "web").subsets.clone().unwrap_or_default();
        assert_eq!(ips(&subsets[0].addresses), [web_ip(0), web_ip(1), web_ip(2)]);
        assert_eq!(subsets[0].not_ready_addresses, None);
    }

    #[test]
    fn terminating_pod_is_terminating_and_not_ready_but_still_serving() {
        let c = lab(false);
        ops::delete::<Pod>(&c, "default", "web-2", &DeleteOptions::default()).expect("delete");
        assert!(c.store.pods.get("default", "web-2").is_some_and(|p| p.metadata.deletion_timestamp.is_some()));
        sync(&c);
        assert_eq!(conditions(endpoint(&only_slice(&c, "web"), "web-2")), (Some(false), Some(true), Some(true)));
        // Endpoints leaves terminating pods out altogether.
        let subsets = endpoints(&c, "web").subsets.clone().unwrap_or_default();
        assert_eq!(ips(&subsets[0].addresses), [web_ip(0), web_ip(1)]);
        assert_eq!(subsets[0].not_ready_addresses, None);

        // Once the pod is gone, so is its endpoint.
        c.store.pods.remove("default", "web-2");
        sync(&c);
        let names: Vec<_> = only_slice(&c, "web").endpoints.iter().filter_map(endpoint_pod).map(str::to_owned).collect();
        assert_eq!(names, ["web-0", "web-1"]);
    }

    #[test]
    fn publish_not_ready_addresses_keeps_terminating_pods_in_endpoints() {
        let c = lab(true);
        ops::delete::<Pod>(&c, "default", "web-2", &DeleteOptions::default()).expect("delete");
        sync(&c);
        assert_eq!(conditions(endpoint(&only_slice(&c, "web"), "web-2")), (Some(true), Some(true), Some(true)));
        let subsets = endpoints(&c, "web").subsets.clone().unwrap_or_default();
        assert_eq!(ips(&subsets[0].addresses), [web_ip(0), web_ip(1), web_ip(2)]);
    }

    #[test]
    fn pods_without_ip_finished_or_unselected_are_left_out() {
        let c = lab(false);
        set_status(&c, "web-2", None, false);
        let _: Result<_, StoreError> = c.store.pods.modify("default", "web-1", |p| {
            p.status.get_or_insert_with(Default::default).phase = Some("Succeeded".into());
            Ok(true)
        });
        pod(
            &c,
            json!({"metadata": {"name": "other", "labels": {"app": "other"}},
                        "spec": {"nodeName": "practice-node", "containers": [{"name": "c", "image": "x"}]}}),
        );
        set_status(&c, "other", Some("10.244.0.99"), true);
        sync(&c);
        let slice = only_slice(&c, "web");
        let names: Vec<_> = slice.endpoints.iter().filter_map(endpoint_pod).collect();
        assert_eq!(names, ["web-0"]);
        assert_eq!(ips(&endpoints(&c, "web").subsets.clone().unwrap_or_default()[0].addresses), [web_ip(0)]);
    }

    #[test]
    fn hostname_is_published_only_for_the_pods_own_subdomain() {
        let c = lab(false);
        service(
            &c,
            json!({"metadata": {"name": "web-all"},
                           "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 8000}]}}),
        );
        sync(&c);
        let slice = only_slice(&c, "web-all");
        assert!(slice.endpoints.iter().all(|e| e.hostname.is_none()));
        assert_eq!(slice.ports.as_deref().unwrap_or_default()[0].name.as_deref(), Some(""), "unnamed port has name \"\"");
        let subsets = endpoints(&c, "web-all").subsets.clone().unwrap_or_default();
        assert!(subsets[0].addresses.iter().flatten().all(|a| a.hostname.is_none()));
    }

    #[test]
    fn named_target_ports_resolve_per_pod_and_split_slices_by_port_set() {
        let c = cluster();
        let svc = service(
            &c,
            json!({"metadata": {"name": "metrics"},
                           "spec": {"selector": {"tier": "m"}, "ports": [{"name": "m", "port": 80, "targetPort": "metrics"}]}}),
        );
        assert!(has_cluster_ip(&svc));
        let mk = |name: &str, ip: &str, port: Option<i32>| {
            let ports = port.map(|p| json!([{"name": "metrics", "containerPort": p}])).unwrap_or(json!([]));
            pod(
                &c,
                json!({"metadata": {"name": name, "labels": {"tier": "m"}},
                            "spec": {"nodeName": "practice-node", "containers": [{"name": "c", "image": "x", "ports": ports}]}}),
            );
            set_status(&c, name, Some(ip), true);
        };
        mk("a", "10.244.0.10", Some(9100));
        mk("b", "10.244.0.11", Some(9200));
        mk("c", "10.244.0.12", Some(9100));
        mk("d", "10.244.0.13", None);
        sync(&c);

        let mut by_port: Vec<(Option<i32>, Vec<String>)> = slices_of(&c, "metrics")
            .iter()
            .map(|s| {
                let port = s.ports.as_deref().unwrap_or_default().first().and_then(|p| p.port);
                (port, s.endpoints.iter().filter_map(endpoint_pod).map(str::to_owned).collect())
            })
            .collect();
        by_port.sort();
        assert_eq!(by_port, [(None, vec!["d".to_owned()]), (Some(9100), vec!["a".to_owned(), "c".to_owned()]), (Some(9200), vec!["b".to_owned()]),]);
        for s in slices_of(&c, "metrics") {
            assert!(!s.metadata.labels.as_ref().is_some_and(|l| l.contains_key(LABEL_HEADLESS)), "not headless");
        }

        // Endpoints: one subset per port; the pod without the port is not listed.
        let subsets = endpoints(&c, "metrics").subsets.clone().unwrap_or_default();
        let mut found: Vec<(i32, Vec<String>)> = subsets.iter().map(|s| (s.ports.as_deref().unwrap_or_default()[0].port, ips(&s.addresses))).collect();
        found.sort();
        assert_eq!(found, [(9100, vec!["10.244.0.10".to_owned(), "10.244.0.12".to_owned()]), (9200, vec!["10.244.0.11".to_owned()])]);
        assert_eq!(subsets[0].ports.as_deref().unwrap_or_default()[0].name.as_deref(), Some("m"));
    }

    #[test]
    fn numeric_target_port_is_used_as_is() {
        let c = lab(false);
        service(
            &c,
            json!({"metadata": {"name": "web-lb"},
                           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8000}]}}),
        );
        sync(&c);
        let slice = only_slice(&c, "web-lb");
        assert_eq!(slice.ports.as_deref().unwrap_or_default()[0].port, Some(8000));
        assert_eq!(ApiKind::cells(endpoints(&c, "web-lb").as_ref(), c.clock.now())[1], json!("10.244.0.5:8000,10.244.0.6:8000,10.244.0.7:8000"));
    }

    #[test]
    fn a_service_selecting_nothing_has_one_empty_slice_which_is_reused() {
        let c = cluster();
        web_service(&c, false);
        sync(&c);
        let placeholder = only_slice(&c, "web");
        assert!(placeholder.endpoints.is_empty());
        assert_eq!(placeholder.ports, None);
        let cells = ApiKind::cells(placeholder.as_ref(), c.clock.now());
        assert_eq!((&cells[2], &cells[3]), (&json!("<unset>"), &json!("<unset>")));
        assert_eq!(endpoints(&c, "web").subsets, None);
        assert_eq!(ApiKind::cells(endpoints(&c, "web").as_ref(), c.clock.now())[1], json!("<none>"));

        web_pod(&c, 0);
        set_status(&c, "web-0", Some(&web_ip(0)), false);
        sync(&c);
        let slice = only_slice(&c, "web");
        assert_eq!(name_of(slice.as_ref()), name_of(placeholder.as_ref()), "placeholder reused");
        assert_eq!(slice.endpoints.len(), 1);
        let cells = ApiKind::cells(slice.as_ref(), c.clock.now());
        assert_eq!((&cells[1], &cells[2], &cells[3]), (&json!("IPv4"), &json!("8000"), &json!("10.244.0.5")));
        // Only a not-ready address: kubectl prints an empty cell, not <none>.
        assert_eq!(ApiKind::cells(endpoints(&c, "web").as_ref(), c.clock.now())[1], json!(""));
    }

    #[test]
    fn more_than_a_hundred_endpoints_are_split_across_slices() {
        let c = cluster();
        web_service(&c, false);
        for n in 0..250 {
            web_pod(&c, n);
            set_status(&c, &format!("web-{n}"), Some(&format!("10.244.{}.{}", n / 200, n % 200 + 1)), true);
        }
        sync(&c);
        let mut sizes: Vec<usize> = slices_of(&c, "web").iter().map(|s| s.endpoints.len()).collect();
        sizes.sort();
        assert_eq!(sizes, [50, 100, 100]);
        let mut all: Vec<String> = slices_of(&c, "web").iter().flat_map(|s| s.endpoints.iter().filter_map(endpoint_pod).map(str::to_owned)).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 250, "every pod exactly once");

        // Removing pods shrinks slices in place; new pods fill the gaps before new slices.
        let names_before: Vec<String> = slices_of(&c, "web").iter().map(|s| name_of(s.as_ref()).to_owned()).collect();
        for n in 0..10 {
            c.store.pods.remove("default", &format!("web-{n}"));
        }
        sync(&c);
        for n in 250..255 {
            web_pod(&c, n);
            set_status(&c, &format!("web-{n}"), Some(&format!("10.244.2.{}", n - 249)), true);
        }
        sync(&c);
        let names_after: Vec<String> = slices_of(&c, "web").iter().map(|s| name_of(s.as_ref()).to_owned()).collect();
        assert_eq!(names_after, names_before);
        let total: usize = slices_of(&c, "web").iter().map(|s| s.endpoints.len()).sum();
        assert_eq!(total, 245);

        let cells = ApiKind::cells(endpoints(&c, "web").as_ref(), c.clock.now());
        assert!(cells[1].as_str().is_some_and(|s| s.ends_with(" + 242 more...")), "{cells:?}");
    }

    #[test]
    fn endpoints_beyond_capacity_are_truncated_and_marked() {
        let mut subsets = vec![EndpointSubset {
            addresses: Some((0..1200).map(|i| EndpointAddress { ip: format!("10.0.{}.{}", i / 250, i % 250), ..Default::default() }).collect()),
            not_ready_addresses: Some(vec![EndpointAddress { ip: "10.9.9.9".into(), ..Default::default() }]),
            ports: None,
        }];
        assert!(truncate_subsets(&mut subsets));
        assert_eq!(subsets[0].addresses.as_ref().map(Vec::len), Some(MAX_ENDPOINTS_CAPACITY));
        assert_eq!(subsets[0].not_ready_addresses, None);
    }

    #[test]
    fn deleting_the_service_removes_its_endpoints_and_a_new_service_replaces_old_slices() {
        let c = lab(false);
        let old_slice = only_slice(&c, "web");
        ops::delete::<Service>(&c, "default", "web", &DeleteOptions::default()).expect("delete service");
        sync(&c);
        assert!(c.store.endpoints.get("default", "web").is_none());
        web_service(&c, false);
        sync(&c);
        let slice = only_slice(&c, "web");
        assert_ne!(name_of(slice.as_ref()), name_of(old_slice.as_ref()), "the old Service's slice is deleted");
        assert_eq!(slice.endpoints.len(), 3);
        assert!(c.store.endpoints.get("default", "web").is_some());
    }

    #[test]
    fn services_without_selector_and_hand_made_endpoints_are_left_alone() {
        let c = cluster();
        service(&c, json!({"metadata": {"name": "db"}, "spec": {"ports": [{"port": 5432}]}}));
        let hand_made: Endpoints = serde_json::from_value(json!({
            "metadata": {"name": "db"},
            "subsets": [{"addresses": [{"ip": "192.168.1.10"}], "ports": [{"port": 5432}]}]
        }))
        .expect("endpoints");
        let created = ops::create(&c, Some("default"), hand_made.clone(), false).expect("create");
        let early: Endpoints = serde_json::from_value(json!({"metadata": {"name": "not-yet"}})).expect("endpoints");
        ops::create(&c, Some("default"), early, false).expect("create");
        sync(&c);
        assert!(slices_of(&c, "db").is_empty());
        assert_eq!(rv_of(endpoints(&c, "db").as_ref()), rv_of(created.as_ref()));
        assert!(c.store.endpoints.get("default", "not-yet").is_some(), "Endpoints made before their Service stay");
    }

    #[test]
    fn kubernetes_service_points_at_the_api_server() {
        let c = cluster();
        c.settle();
        let ep = endpoints(&c, "kubernetes");
        assert_eq!(ApiKind::cells(ep.as_ref(), c.clock.now())[1], json!("172.18.0.2:6443"));
        let slice = c.store.endpoint_slices.get("default", "kubernetes").expect("slice named kubernetes");
        let cells = ApiKind::cells(slice.as_ref(), c.clock.now());
        assert_eq!((&cells[2], &cells[3]), (&json!("6443"), &json!("172.18.0.2")));
        assert_eq!(sync(&c), 0);
    }

    #[test]
    fn endpoints_cell_lists_three_then_counts_the_rest() {
        let address = |ip: &str| EndpointAddress { ip: ip.into(), ..Default::default() };
        let port = |p: i32| CoreEndpointPort { port: p, ..Default::default() };
        let ep = Endpoints {
            subsets: Some(vec![EndpointSubset {
                addresses: Some(vec![address("10.244.0.5"), address("10.244.0.6")]),
                not_ready_addresses: Some(vec![address("10.244.0.9")]),
                ports: Some(vec![port(8000), port(9000)]),
            }]),
            ..Default::default()
        };
        let cells = ApiKind::cells(&ep, jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(cells[1], json!("10.244.0.5:8000,10.244.0.6:8000,10.244.0.5:9000 + 1 more..."));
    }
}
