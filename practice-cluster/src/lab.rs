//! What the practice cluster starts with: the built-in objects every cluster has, the
//! StatefulSet lab (a headless Service and a 3-replica StatefulSet that counts visits
//! on its volumes), and loading of user manifests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Node, NodeAddress, NodeCondition, NodeStatus, NodeSystemInfo, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Deserialize;
use serde_json::Value;

use crate::Cluster;
use crate::api::resource::{DynResource, all};

/// The lab: a headless Service and a StatefulSet whose app counts visits to `/` in
/// `/data/visits` on each pod's own volume.
pub const LAB_MANIFEST: &str = include_str!("../scenarios/lab.yaml");

/// The provisioner name of the built-in storage class.
pub const PROVISIONER: &str = "practice.stslab.dev/local";

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: namespace.map(Into::into), ..Default::default() }
}

/// Creates the objects every cluster has: namespaces, the node, the default storage
/// class, and the `kubernetes` and `kube-dns` services.
pub fn bootstrap(cluster: &Cluster) {
    let now = cluster.clock.now();
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        log_err(crate::ops::create(cluster, None, Namespace { metadata: meta(ns, None), ..Default::default() }, false));
    }
    let capacity: BTreeMap<String, Quantity> = [("cpu", "2"), ("memory", "8Gi"), ("pods", "110"), ("ephemeral-storage", "100Gi")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Quantity(v.to_owned())))
        .collect();
    let condition = |t: &str, status: &str, reason: &str, message: &str| NodeCondition {
        type_: t.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    };
    let node = Node {
        metadata: ObjectMeta {
            labels: Some(
                [
                    ("kubernetes.io/hostname", cluster.config.node_name.as_str()),
                    ("kubernetes.io/os", "linux"),
                    ("kubernetes.io/arch", "amd64"),
                    ("node-role.kubernetes.io/control-plane", ""),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ),
            ..meta(&cluster.config.node_name, None)
        },
        spec: Some(k8s_openapi::api::core::v1::NodeSpec { pod_cidr: Some("10.244.0.0/24".into()), ..Default::default() }),
        status: Some(NodeStatus {
            allocatable: Some(capacity.clone()),
            capacity: Some(capacity),
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: "172.18.0.2".into() },
                NodeAddress { type_: "Hostname".into(), address: cluster.config.node_name.clone() },
            ]),
            conditions: Some(vec![
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ]),
            node_info: Some(NodeSystemInfo {
                architecture: "amd64".into(),
                operating_system: "linux".into(),
                os_image: "StatefulSet Lab practice node".into(),
                kernel_version: "6.1.0-practice".into(),
                container_runtime_version: "practice://1.0.0".into(),
                kubelet_version: format!("v1.{}.4", cluster.config.minor_version),
                kube_proxy_version: format!("v1.{}.4", cluster.config.minor_version),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    log_err(crate::ops::create(cluster, None, node, false));
    let class = StorageClass {
        metadata: ObjectMeta {
            annotations: Some([("storageclass.kubernetes.io/is-default-class".to_owned(), "true".to_owned())].into()),
            ..meta("standard", None)
        },
        provisioner: PROVISIONER.into(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some("Immediate".into()),
        allow_volume_expansion: Some(false),
        ..Default::default()
    };
    log_err(crate::ops::create(cluster, None, class, false));
    let service = |name: &str, ns: &str, ip: &str, ports: Vec<ServicePort>, labels: &[(&str, &str)]| Service {
        metadata: ObjectMeta { labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()), ..meta(name, Some(ns)) },
        spec: Some(ServiceSpec { cluster_ip: Some(ip.into()), ports: Some(ports), ..Default::default() }),
        ..Default::default()
    };
    let port = |name: &str, port: i32, proto: &str| ServicePort { name: Some(name.into()), port, protocol: Some(proto.into()), ..Default::default() };
    log_err(crate::ops::create(
        cluster,
        Some("default"),
        service("kubernetes", "default", "10.96.0.1", vec![port("https", 443, "TCP")], &[("component", "apiserver"), ("provider", "kubernetes")]),
        false,
    ));
    log_err(crate::ops::create(
        cluster,
        Some("kube-system"),
        service("kube-dns", "kube-system", "10.96.0.10", vec![port("dns", 53, "UDP"), port("dns-tcp", 53, "TCP")], &[("k8s-app", "kube-dns")]),
        false,
    ));
}

fn log_err<T>(r: Result<T, crate::api::error::ApiError>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not create a built-in object");
    }
}

fn resource_for(api_version: &str, kind: &str) -> Option<&'static dyn DynResource> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    all().into_iter().find(|r| {
        let i = r.info();
        i.group == group && i.version == version && i.kind == kind
    })
}

/// Creates every object in a YAML or JSON text (several documents, and `List`s, allowed).
/// Objects that exist already are left as they are.
pub fn load_manifest(cluster: &Cluster, text: &str) -> Result<usize, String> {
    let mut created = 0;
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| format!("document {}: {e}", i + 1))?;
        if value.is_null() {
            continue;
        }
        let items = match value.get("kind").and_then(Value::as_str) {
            Some("List") => value.get("items").and_then(Value::as_array).cloned().unwrap_or_default(),
            _ => vec![value],
        };
        for item in items {
            let api_version = item.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            let kind = item.get("kind").and_then(Value::as_str).unwrap_or_default();
            let res =
                resource_for(api_version, kind).ok_or_else(|| format!("document {}: the practice cluster does not serve {kind} in {api_version:?}", i + 1))?;
            let ns = item.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_owned);
            match res.create(cluster, ns.as_deref(), item, false) {
                Ok(_) => created += 1,
                Err(e) if e.code == 409 => {}
                Err(e) => return Err(format!("document {}: {}", i + 1, e.message)),
            }
        }
    }
    Ok(created)
}
