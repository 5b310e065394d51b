//! core/v1 and storage kinds: namespaces, nodes, pods, services, endpoints, events,
//! claims, volumes, storage classes and EndpointSlices.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, Endpoints, Event, Namespace, NamespaceStatus, Node, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimStatus,
    PersistentVolumeStatus, Pod, PodSpec, PodStatus, Probe, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use super::{ApiKind, Column, age_of, name_of};
use crate::Cluster;
use crate::printers::{age_since, pod_summary};
use crate::store::{Collection, Store};

const NONE: &str = "<none>";

fn or_none(s: Option<String>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or_else(|| NONE.to_owned())
}

impl ApiKind for Namespace {
    const SINGULAR: &'static str = "namespace";
    const SHORT_NAMES: &'static [&'static str] = &["ns"];
    const NAMESPACED: bool = false;
    const SUBRESOURCES: &'static [&'static str] = &["status", "finalize"];

    fn collection(store: &Store) -> &Collection<Self> {
        &store.namespaces
    }

    fn columns() -> Vec<Column> {
        vec![Column::NAME, Column::text("Status", "The status of the namespace"), Column::AGE]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let phase = self.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        vec![json!(name_of(self)), json!(phase), json!(age_of(&self.metadata, now))]
    }

    fn field(&self, path: &str) -> Option<String> {
        (path == "status.phase").then(|| self.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default())
    }

    fn default_on_create(&mut self, _cluster: &Cluster) {
        let name = name_of(self).to_owned();
        self.metadata.labels.get_or_insert_with(Default::default).insert("kubernetes.io/metadata.name".into(), name);
        self.status = Some(NamespaceStatus { phase: Some("Active".into()), ..Default::default() });
    }
}

impl ApiKind for Node {
    const SINGULAR: &'static str = "node";
    const SHORT_NAMES: &'static [&'static str] = &["no"];
    const NAMESPACED: bool = false;
    const SUBRESOURCES: &'static [&'static str] = &["status", "proxy"];

    fn collection(store: &Store) -> &Collection<Self> {
        &store.nodes
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text("Status", "The status of the node"),
            Column::text("Roles", "The roles of the node"),
            Column::AGE,
            Column::text("Version", "Kubelet Version reported by the node."),
            Column::wide("Internal-IP", "List of addresses reachable to the node. Queried from cloud provider, if available."),
            Column::wide("External-IP", "List of addresses reachable to the node. Queried from cloud provider, if available."),
            Column::wide("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
            Column::wide("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
            Column::wide("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let status = self.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map_or("Unknown", |c| if c.status == "True" { "Ready" } else { "NotReady" });
        let roles: Vec<&str> = self.metadata.labels.iter().flatten().filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/")).collect();
        let addr = |t: &str| or_none(status.and_then(|s| s.addresses.as_ref()).and_then(|a| a.iter().find(|a| a.type_ == t)).map(|a| a.address.clone()));
        let info = status.and_then(|s| s.node_info.as_ref());
        vec![
            json!(name_of(self)),
            json!(ready),
            json!(if roles.is_empty() { NONE.to_owned() } else { roles.join(",") }),
            json!(age_of(&self.metadata, now)),
            json!(info.map(|i| i.kubelet_version.clone()).unwrap_or_default()),
            json!(addr("InternalIP")),
            json!(addr("ExternalIP")),
            json!(info.map(|i| i.os_image.clone()).unwrap_or_default()),
            json!(info.map(|i| i.kernel_version.clone()).unwrap_or_default()),
            json!(info.map(|i| i.container_runtime_version.clone()).unwrap_or_default()),
        ]
    }
}

fn default_probe(p: &mut Option<Probe>) {
    if let Some(p) = p {
        p.timeout_seconds.get_or_insert(1);
        p.period_seconds.get_or_insert(10);
        p.success_threshold.get_or_insert(1);
        p.failure_threshold.get_or_insert(3);
        if let Some(h) = &mut p.http_get {
            h.scheme.get_or_insert_with(|| "HTTP".into());
            h.path.get_or_insert_with(|| "/".into());
        }
    }
}

fn default_container(c: &mut Container) {
    let image = c.image.clone().unwrap_or_default();
    let tag = image.rsplit('/').next().and_then(|last| last.split_once(':')).map(|(_, t)| t.to_owned());
    c.image_pull_policy.get_or_insert_with(|| if tag.is_none() || tag.as_deref() == Some("latest") { "Always" } else { "IfNotPresent" }.into());
    c.termination_message_path.get_or_insert_with(|| "/dev/termination-log".into());
    c.termination_message_policy.get_or_insert_with(|| "File".into());
    c.resources.get_or_insert_with(Default::default);
    for p in c.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
    }
    default_probe(&mut c.liveness_probe);
    default_probe(&mut c.readiness_probe);
    default_probe(&mut c.startup_probe);
}

/// Fills the defaults the API server gives a pod spec (also used for StatefulSet templates).
pub fn default_pod_spec(spec: &mut PodSpec) {
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.scheduler_name.get_or_insert_with(|| "default-scheduler".into());
    spec.service_account_name.get_or_insert_with(|| "default".into());
    spec.security_context.get_or_insert_with(Default::default);
    spec.enable_service_links.get_or_insert(true);
    spec.preemption_policy.get_or_insert_with(|| "PreemptLowerPriority".into());
    spec.priority.get_or_insert(0);
    for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_container(c);
    }
}

impl ApiKind for Pod {
    const SINGULAR: &'static str = "pod";
    const SHORT_NAMES: &'static [&'static str] = &["po"];
    const NAMESPACED: bool = true;
    const SUBRESOURCES: &'static [&'static str] = &["status", "exec", "log", "portforward", "proxy"];
    const CATEGORIES: &'static [&'static str] = &["all"];

    fn collection(store: &Store) -> &Collection<Self> {
        &store.pods
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            Column::text("Status", "The aggregate status of the containers in this pod."),
            Column::text(
                "Restarts",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            Column::AGE,
            Column::wide("IP", "The IP address assigned to the pod"),
            Column::wide("Node", "The name of the node where the pod is scheduled"),
            Column::wide("Nominated Node", "The name of the node where the pod may be scheduled to after preemption"),
            Column::wide("Readiness Gates", "The readiness gates of the pod"),
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let s = pod_summary(self);
        let status = self.status.as_ref();
        let gates = self.spec.as_ref().and_then(|s| s.readiness_gates.as_ref()).filter(|g| !g.is_empty());
        let gates = match gates {
            None => NONE.to_owned(),
            Some(g) => {
                let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
                let met = g.iter().filter(|g| conditions.iter().any(|c| c.type_ == g.condition_type && c.status == "True")).count();
                format!("{met}/{}", g.len())
            }
        };
        vec![
            json!(name_of(self)),
            json!(s.ready_cell()),
            json!(s.status),
            json!(s.restarts_cell(now)),
            json!(age_of(&self.metadata, now)),
            json!(or_none(status.and_then(|s| s.pod_ip.clone()))),
            json!(or_none(self.spec.as_ref().and_then(|s| s.node_name.clone()))),
            json!(or_none(status.and_then(|s| s.nominated_node_name.clone()))),
            json!(gates),
        ]
    }

    fn field(&self, path: &str) -> Option<String> {
        let status = self.status.as_ref();
        let spec = self.spec.as_ref();
        Some(match path {
            "status.phase" => status.and_then(|s| s.phase.clone()).unwrap_or_default(),
            "status.podIP" => status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
            "status.nominatedNodeName" => status.and_then(|s| s.nominated_node_name.clone()).unwrap_or_default(),
            "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
            "spec.restartPolicy" => spec.and_then(|s| s.restart_policy.clone()).unwrap_or_default(),
            "spec.schedulerName" => spec.and_then(|s| s.scheduler_name.clone()).unwrap_or_default(),
            "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
            "spec.hostNetwork" => spec.and_then(|s| s.host_network).unwrap_or(false).to_string(),
            _ => return None,
        })
    }

    fn default_on_create(&mut self, _cluster: &Cluster) {
        if let Some(spec) = &mut self.spec {
            default_pod_spec(spec);
        }
        self.status = Some(PodStatus { phase: Some("Pending".into()), qos_class: Some("BestEffort".into()), ..Default::default() });
    }

    fn validate(&self) -> Result<(), crate::api::error::ApiError> {
        let name = name_of(self);
        let spec = self.spec.as_ref();
        if spec.is_none_or(|s| s.containers.is_empty()) {
            return Err(crate::api::error::ApiError::invalid("Pod", "", name, vec![("FieldValueRequired", "spec.containers", "Required value".to_owned())]));
        }
        Ok(())
    }

    fn spec_json(&self) -> Option<Value> {
        serde_json::to_value(&self.spec).ok()
    }
}

/// `8000/TCP,9000/UDP` as kubectl prints service ports.
fn service_ports(svc: &Service) -> String {
    let ports: Vec<String> = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| {
            let proto = p.protocol.as_deref().unwrap_or("TCP");
            match p.node_port {
                Some(np) => format!("{}:{np}/{proto}", p.port),
                None => format!("{}/{proto}", p.port),
            }
        })
        .collect();
    if ports.is_empty() { NONE.to_owned() } else { ports.join(",") }
}

/// Picks the lowest free service IP in 10.96.0.0/16 from .11 up (.1 is `kubernetes`,
/// .10 is the cluster DNS).
fn allocate_cluster_ip(store: &Store) -> String {
    let used: BTreeSet<String> = store.services.list(None).0.iter().filter_map(|s| s.spec.as_ref().and_then(|s| s.cluster_ip.clone())).collect();
    (11..=u16::MAX)
        .map(|n| format!("10.96.{}.{}", n >> 8, n & 0xff))
        .find(|ip| !used.contains(ip) && !ip.ends_with(".0") && !ip.ends_with(".255"))
        .unwrap_or_else(|| "10.96.255.254".to_owned())
}

impl ApiKind for Service {
    const SINGULAR: &'static str = "service";
    const SHORT_NAMES: &'static [&'static str] = &["svc"];
    const NAMESPACED: bool = true;
    const SUBRESOURCES: &'static [&'static str] = &["status", "proxy"];
    const CATEGORIES: &'static [&'static str] = &["all"];

    fn collection(store: &Store) -> &Collection<Self> {
        &store.services
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text("Type", "The type of the service."),
            Column::text("Cluster-IP", "The cluster IP address of the service."),
            Column::text("External-IP", "The external IP address of the service."),
            Column::text("Port(s)", "The ports of the service."),
            Column::AGE,
            Column::wide("Selector", "The label selector of the service."),
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let spec = self.spec.as_ref();
        let ty = spec.and_then(|s| s.type_.clone()).unwrap_or_else(|| "ClusterIP".into());
        let cluster_ip = spec.and_then(|s| s.cluster_ip.clone()).filter(|ip| !ip.is_empty()).unwrap_or_else(|| NONE.into());
        let external = match ty.as_str() {
            "ExternalName" => spec.and_then(|s| s.external_name.clone()).unwrap_or_default(),
            "LoadBalancer" => "<pending>".to_owned(),
            _ => NONE.to_owned(),
        };
        let selector = spec
            .and_then(|s| s.selector.as_ref())
            .filter(|s| !s.is_empty())
            .map(|s| s.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
            .unwrap_or_else(|| NONE.to_owned());
        vec![
            json!(name_of(self)),
            json!(ty),
            json!(cluster_ip),
            json!(external),
            json!(service_ports(self)),
            json!(age_of(&self.metadata, now)),
            json!(selector),
        ]
    }

    fn default_on_create(&mut self, cluster: &Cluster) {
        let spec = self.spec.get_or_insert_with(Default::default);
        spec.type_.get_or_insert_with(|| "ClusterIP".into());
        spec.session_affinity.get_or_insert_with(|| "None".into());
        spec.internal_traffic_policy.get_or_insert_with(|| "Cluster".into());
        spec.ip_families.get_or_insert_with(|| vec!["IPv4".into()]);
        spec.ip_family_policy.get_or_insert_with(|| "SingleStack".into());
        for p in spec.ports.iter_mut().flatten() {
            p.protocol.get_or_insert_with(|| "TCP".into());
            p.target_port.get_or_insert(IntOrString::Int(p.port));
        }
        if spec.type_.as_deref() != Some("ExternalName") {
            let ip = match spec.cluster_ip.as_deref() {
                Some(ip) if !ip.is_empty() => ip.to_owned(),
                _ => allocate_cluster_ip(&cluster.store),
            };
            spec.cluster_ips = Some(vec![ip.clone()]);
            spec.cluster_ip = Some(ip);
        }
        self.status.get_or_insert_with(|| k8s_openapi::api::core::v1::ServiceStatus { load_balancer: Some(Default::default()), ..Default::default() });
    }

    fn validate_update(&self, old: &Self) -> Result<(), crate::api::error::ApiError> {
        let ip = |s: &Service| s.spec.as_ref().and_then(|s| s.cluster_ip.clone());
        if ip(self).is_some() && ip(self) != ip(old) {
            return Err(crate::api::error::ApiError::invalid(
                "Service",
                "",
                name_of(self),
                vec![("FieldValueInvalid", "spec.clusterIPs[0]", "Invalid value: []string{...}: may not change once set".to_owned())],
            ));
        }
        Ok(())
    }

    fn spec_json(&self) -> Option<Value> {
        serde_json::to_value(&self.spec).ok()
    }
}

impl ApiKind for Endpoints {
    const SINGULAR: &'static str = "endpoints";
    const SHORT_NAMES: &'static [&'static str] = &["ep"];
    const NAMESPACED: bool = true;

    fn collection(store: &Store) -> &Collection<Self> {
        &store.endpoints
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text(
                "Endpoints",
                "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share.",
            ),
            Column::AGE,
        ]
    }

    /// As kubectl's `formatEndpoints`: `ip:port` per port and ready address (just `ip`
    /// for a subset without ports), the first three then `+ N more...`; `<none>` only when
    /// there are no subsets at all.
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let subsets = self.subsets.as_deref().unwrap_or_default();
        let shown = if subsets.is_empty() {
            NONE.to_owned()
        } else {
            let mut all = Vec::new();
            for subset in subsets {
                let addresses = subset.addresses.as_deref().unwrap_or_default();
                let ports = subset.ports.as_deref().unwrap_or_default();
                if ports.is_empty() {
                    all.extend(addresses.iter().map(|a| a.ip.clone()));
                }
                for p in ports {
                    all.extend(addresses.iter().map(|a| join_host_port(&a.ip, p.port)));
                }
            }
            first_three(&all, "")
        };
        vec![json!(name_of(self)), json!(shown), json!(age_of(&self.metadata, now))]
    }
}

/// `ip:port`, with brackets around an IPv6 address, as Go's `net.JoinHostPort`.
fn join_host_port(ip: &str, port: i32) -> String {
    if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") }
}

/// kubectl's list cell: up to three items joined by commas, then ` + N more...`;
/// `empty` when there are none.
fn first_three(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    let shown = items.iter().take(3).cloned().collect::<Vec<_>>().join(",");
    if items.len() > 3 { format!("{shown} + {} more...", items.len() - 3) } else { shown }
}

/// `pod/web-0` as kubectl prints an event's object.
fn event_object(e: &Event) -> String {
    let o = &e.involved_object;
    format!("{}/{}", o.kind.as_deref().unwrap_or_default().to_lowercase(), o.name.as_deref().unwrap_or_default())
}

impl ApiKind for Event {
    const SINGULAR: &'static str = "event";
    const SHORT_NAMES: &'static [&'static str] = &["ev"];
    const NAMESPACED: bool = true;

    fn collection(store: &Store) -> &Collection<Self> {
        &store.events
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::text("Last Seen", "Time when last event occurred"),
            Column::text("Type", "Type of this event (Normal, Warning), new types could be added in the future."),
            Column::text("Reason", "Reason why the action was taken. It is human-readable."),
            Column::text("Object", "The object that this event is about. Mapped form json field InvolvedObject."),
            Column::wide("Subobject", "The subobject (Container, ...) this event is about."),
            Column::wide("Source", "The component reporting this event. Should be a short machine understandable string."),
            Column::text("Message", "A human-readable description of the status of this operation."),
            Column::wide("First Seen", "Time when first event occurred"),
            Column::wide("Count", "The number of times this event has occurred."),
            Column::wide("Name", "Name must be unique within a namespace."),
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let last = self.last_timestamp.as_ref().or(self.first_timestamp.as_ref()).map(|t| t.0);
        let first = self.first_timestamp.as_ref().map(|t| t.0).or(last);
        let seen = |t: Option<Timestamp>| t.map_or_else(|| "<unknown>".to_owned(), |t| age_since(t, now));
        let last_cell = match (self.count, last, first) {
            (Some(c), Some(l), Some(f)) if c > 1 => format!("{} (x{c} over {})", age_since(l, now), age_since(f, l)),
            _ => seen(last),
        };
        let source = self.source.as_ref().map(|s| match &s.host {
            Some(h) => format!("{}, {h}", s.component.as_deref().unwrap_or_default()),
            None => s.component.clone().unwrap_or_default(),
        });
        vec![
            json!(last_cell),
            json!(self.type_.clone().unwrap_or_default()),
            json!(self.reason.clone().unwrap_or_default()),
            json!(event_object(self)),
            json!(self.involved_object.field_path.clone().unwrap_or_default()),
            json!(source.unwrap_or_default()),
            json!(self.message.clone().unwrap_or_default().trim()),
            json!(seen(first)),
            json!(self.count.unwrap_or(1)),
            json!(name_of(self)),
        ]
    }

    fn field(&self, path: &str) -> Option<String> {
        let o = &self.involved_object;
        Some(match path {
            "involvedObject.kind" => o.kind.clone().unwrap_or_default(),
            "involvedObject.name" => o.name.clone().unwrap_or_default(),
            "involvedObject.namespace" => o.namespace.clone().unwrap_or_default(),
            "involvedObject.uid" => o.uid.clone().unwrap_or_default(),
            "involvedObject.fieldPath" => o.field_path.clone().unwrap_or_default(),
            "involvedObject.apiVersion" => o.api_version.clone().unwrap_or_default(),
            "involvedObject.resourceVersion" => o.resource_version.clone().unwrap_or_default(),
            "reason" => self.reason.clone().unwrap_or_default(),
            "type" => self.type_.clone().unwrap_or_default(),
            "source" => self.source.as_ref().and_then(|s| s.component.clone()).unwrap_or_default(),
            _ => return None,
        })
    }
}

/// `RWO,ROX` as kubectl abbreviates access modes.
pub fn access_modes(modes: Option<&Vec<String>>) -> String {
    crate::printers::access_modes(modes.map(Vec::as_slice).unwrap_or_default())
}

impl ApiKind for PersistentVolumeClaim {
    const SINGULAR: &'static str = "persistentvolumeclaim";
    const SHORT_NAMES: &'static [&'static str] = &["pvc"];
    const NAMESPACED: bool = true;
    const SUBRESOURCES: &'static [&'static str] = &["status"];

    fn collection(store: &Store) -> &Collection<Self> {
        &store.pvcs
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text("Status", "Status represents the current state of the claim."),
            Column::text("Volume", "The volume bound to this claim."),
            Column::text("Capacity", "The capacity of the bound volume."),
            Column::text("Access Modes", "The access modes of the bound volume."),
            Column::text("StorageClass", "The storage class of the claim."),
            Column::text("VolumeAttributesClass", "The volume attributes class of the claim."),
            Column::AGE,
            Column::wide("VolumeMode", "The volume mode of the claim."),
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let spec = self.spec.as_ref();
        let status = self.status.as_ref();
        let bound = spec.and_then(|s| s.volume_name.clone()).unwrap_or_default();
        let (capacity, modes) = if bound.is_empty() {
            (String::new(), String::new())
        } else {
            let cap = status.and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).map(|q| q.0.clone());
            (cap.unwrap_or_default(), access_modes(status.and_then(|s| s.access_modes.as_ref())))
        };
        vec![
            json!(name_of(self)),
            json!(status.and_then(|s| s.phase.clone()).unwrap_or_default()),
            json!(bound),
            json!(capacity),
            json!(modes),
            json!(spec.and_then(|s| s.storage_class_name.clone()).unwrap_or_default()),
            json!(spec.and_then(|s| s.volume_attributes_class_name.clone()).unwrap_or_else(|| "<unset>".into())),
            json!(age_of(&self.metadata, now)),
            json!(spec.and_then(|s| s.volume_mode.clone()).unwrap_or_else(|| "Filesystem".into())),
        ]
    }

    fn default_on_create(&mut self, cluster: &Cluster) {
        let spec = self.spec.get_or_insert_with(Default::default);
        spec.volume_mode.get_or_insert_with(|| "Filesystem".into());
        if spec.storage_class_name.is_none() {
            spec.storage_class_name = crate::controllers::default_storage_class(&cluster.store);
        }
        self.status = Some(PersistentVolumeClaimStatus { phase: Some("Pending".into()), ..Default::default() });
    }

    fn spec_json(&self) -> Option<Value> {
        serde_json::to_value(&self.spec).ok()
    }
}

impl ApiKind for PersistentVolume {
    const SINGULAR: &'static str = "persistentvolume";
    const SHORT_NAMES: &'static [&'static str] = &["pv"];
    const NAMESPACED: bool = false;
    const SUBRESOURCES: &'static [&'static str] = &["status"];

    fn collection(store: &Store) -> &Collection<Self> {
        &store.pvs
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text("Capacity", "The capacity of the volume."),
            Column::text("Access Modes", "The access modes of the volume."),
            Column::text("Reclaim Policy", "What happens to the volume when its claim is released."),
            Column::text("Status", "The phase of the volume."),
            Column::text("Claim", "The claim bound to the volume."),
            Column::text("StorageClass", "The storage class of the volume."),
            Column::text("VolumeAttributesClass", "The volume attributes class of the volume."),
            Column::text("Reason", "Why the volume is in its phase."),
            Column::AGE,
            Column::wide("VolumeMode", "The volume mode of the volume."),
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let spec = self.spec.as_ref();
        let status = self.status.as_ref();
        let claim = spec
            .and_then(|s| s.claim_ref.as_ref())
            .map(|c| format!("{}/{}", c.namespace.as_deref().unwrap_or_default(), c.name.as_deref().unwrap_or_default()))
            .unwrap_or_default();
        vec![
            json!(name_of(self)),
            json!(spec.and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).map(|q| q.0.clone()).unwrap_or_default()),
            json!(access_modes(spec.and_then(|s| s.access_modes.as_ref()))),
            json!(spec.and_then(|s| s.persistent_volume_reclaim_policy.clone()).unwrap_or_default()),
            json!(status.and_then(|s| s.phase.clone()).unwrap_or_default()),
            json!(claim),
            json!(spec.and_then(|s| s.storage_class_name.clone()).unwrap_or_default()),
            json!(spec.and_then(|s| s.volume_attributes_class_name.clone()).unwrap_or_else(|| "<unset>".into())),
            json!(status.and_then(|s| s.reason.clone()).unwrap_or_default()),
            json!(age_of(&self.metadata, now)),
            json!(spec.and_then(|s| s.volume_mode.clone()).unwrap_or_else(|| "Filesystem".into())),
        ]
    }

    fn default_on_create(&mut self, _cluster: &Cluster) {
        let spec = self.spec.get_or_insert_with(Default::default);
        spec.volume_mode.get_or_insert_with(|| "Filesystem".into());
        spec.persistent_volume_reclaim_policy.get_or_insert_with(|| "Retain".into());
        self.status.get_or_insert_with(|| PersistentVolumeStatus { phase: Some("Pending".into()), ..Default::default() });
    }
}

impl ApiKind for StorageClass {
    const SINGULAR: &'static str = "storageclass";
    const SHORT_NAMES: &'static [&'static str] = &["sc"];
    const NAMESPACED: bool = false;

    fn collection(store: &Store) -> &Collection<Self> {
        &store.storage_classes
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text("Provisioner", "Indicates the type of the provisioner."),
            Column::text("ReclaimPolicy", "Indicates the type of the reclaim policy."),
            Column::text("VolumeBindingMode", "Indicates how volumes are bound."),
            Column::text("AllowVolumeExpansion", "Indicates whether the storage class allows volume expand"),
            Column::AGE,
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let is_default = self.metadata.annotations.as_ref().and_then(|a| a.get("storageclass.kubernetes.io/is-default-class")).is_some_and(|v| v == "true");
        let name = if is_default { format!("{} (default)", name_of(self)) } else { name_of(self).to_owned() };
        vec![
            json!(name),
            json!(self.provisioner),
            json!(self.reclaim_policy.clone().unwrap_or_else(|| "Delete".into())),
            json!(self.volume_binding_mode.clone().unwrap_or_else(|| "Immediate".into())),
            json!(self.allow_volume_expansion.unwrap_or(false).to_string()),
            json!(age_of(&self.metadata, now)),
        ]
    }
}

impl ApiKind for EndpointSlice {
    const SINGULAR: &'static str = "endpointslice";
    const SHORT_NAMES: &'static [&'static str] = &[];
    const NAMESPACED: bool = true;

    fn collection(store: &Store) -> &Collection<Self> {
        &store.endpoint_slices
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text(
                "AddressType",
                "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type.",
            ),
            Column::text("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
            Column::text("Endpoints", "endpoints is a list of unique endpoints in this slice."),
            Column::AGE,
        ]
    }

    /// As kubectl's `printEndpointSlice`: port numbers (a port's name when it has no
    /// number, `*` when neither), addresses, three of each at most, `<unset>` when empty.
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let ports: Vec<String> = self
            .ports
            .iter()
            .flatten()
            .map(|p| match (p.port, &p.name) {
                (Some(n), _) => n.to_string(),
                (None, Some(name)) => name.clone(),
                (None, None) => "*".to_owned(),
            })
            .collect();
        let addresses: Vec<String> = self.endpoints.iter().flat_map(|e| e.addresses.iter().cloned()).collect();
        vec![
            json!(name_of(self)),
            json!(self.address_type),
            json!(first_three(&ports, "<unset>")),
            json!(first_three(&addresses, "<unset>")),
            json!(age_of(&self.metadata, now)),
        ]
    }
}
