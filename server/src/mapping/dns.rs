//! The DNS panel: records a Service publishes, derived from its EndpointSlices the
//! way cluster DNS does, keeping not-ready endpoints as withheld records.

use std::sync::Arc;

use app::model::{DnsRecord, DnsView};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// The DNS panel for `svc` (the StatefulSet's governing Service) given all slices.
pub fn dns_view(svc: Option<&Service>, slices: &[Arc<EndpointSlice>], namespace: &str, domain: &str) -> DnsView {
    let Some(svc) = svc else {
        return DnsView { domain: domain.to_owned(), ..Default::default() };
    };
    let name = svc.metadata.name.clone().unwrap_or_default();
    let spec = svc.spec.as_ref();
    let headless = spec.and_then(|s| s.cluster_ip.as_deref()) == Some("None");
    let publish_not_ready = spec.and_then(|s| s.publish_not_ready_addresses).unwrap_or(false);
    let zone = format!("{name}.{namespace}.svc.{domain}");
    let mut records = Vec::new();
    if !headless {
        let ip = spec.and_then(|s| s.cluster_ip.clone()).unwrap_or_default();
        records.push(DnsRecord { name: zone, type_: "A".into(), value: ip, published: true, pod: None });
        return DnsView { service: Some(name), headless, publish_not_ready, domain: domain.to_owned(), records };
    }
    let mine = slices.iter().filter(|s| {
        s.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")) == Some(&name)
            && s.address_type == "IPv4"
    });
    // (hostname or dashed IP, ip, ready, pod)
    let mut endpoints: Vec<(String, String, bool, Option<String>)> = Vec::new();
    let mut ports: Vec<(String, String, i32)> = Vec::new();
    for slice in mine {
        for p in slice.ports.iter().flatten() {
            if let (Some(n), Some(port)) = (p.name.clone().filter(|n| !n.is_empty()), p.port) {
                let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into()).to_lowercase();
                if !ports.iter().any(|(pn, pp, _)| *pn == n && *pp == proto) {
                    ports.push((n, proto, port));
                }
            }
        }
        for e in &slice.endpoints {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            let pod = e.target_ref.as_ref().filter(|t| t.kind.as_deref() == Some("Pod")).and_then(|t| t.name.clone());
            for ip in &e.addresses {
                let host = e.hostname.clone().unwrap_or_else(|| ip.replace('.', "-"));
                endpoints.push((host, ip.clone(), ready, pod.clone()));
            }
        }
    }
    endpoints.sort();
    let ready_ips: Vec<&str> = endpoints.iter().filter(|e| e.2).map(|e| e.1.as_str()).collect();
    records.push(DnsRecord {
        name: zone.clone(),
        type_: "A".into(),
        value: if ready_ips.is_empty() { "NXDOMAIN (no ready endpoints)".into() } else { ready_ips.join(", ") },
        published: !ready_ips.is_empty(),
        pod: None,
    });
    for (host, ip, ready, pod) in &endpoints {
        records.push(DnsRecord { name: format!("{host}.{zone}"), type_: "A".into(), value: ip.clone(), published: *ready, pod: pod.clone() });
    }
    let weight = 100 / ready_ips.len().max(1);
    for (port_name, proto, port) in &ports {
        for (host, _, ready, pod) in &endpoints {
            records.push(DnsRecord {
                name: format!("_{port_name}._{proto}.{zone}"),
                type_: "SRV".into(),
                value: format!("0 {weight} {port} {host}.{zone}."),
                published: *ready,
                pod: pod.clone(),
            });
        }
    }
    DnsView { service: Some(name), headless, publish_not_ready, domain: domain.to_owned(), records }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ServiceSpec;
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn headless() -> Service {
        Service {
            metadata: ObjectMeta { name: Some("web".into()), ..Default::default() },
            spec: Some(ServiceSpec { cluster_ip: Some("None".into()), ..Default::default() }),
            ..Default::default()
        }
    }

    fn endpoint(host: &str, ip: &str, ready: bool) -> Endpoint {
        Endpoint {
            addresses: vec![ip.into()],
            hostname: Some(host.into()),
            conditions: Some(EndpointConditions { ready: Some(ready), serving: Some(ready), terminating: Some(false) }),
            ..Default::default()
        }
    }

    fn slice(endpoints: Vec<Endpoint>) -> Arc<EndpointSlice> {
        Arc::new(EndpointSlice {
            metadata: ObjectMeta {
                name: Some("web-abcde".into()),
                labels: Some([("kubernetes.io/service-name".to_owned(), "web".to_owned())].into()),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints,
            ports: Some(vec![EndpointPort { name: Some("http".into()), port: Some(8000), protocol: Some("TCP".into()), app_protocol: None }]),
        })
    }

    #[test]
    fn not_ready_endpoints_are_withheld_from_every_record() {
        let slices = [slice(vec![endpoint("web-0", "10.244.0.2", true), endpoint("web-1", "10.244.0.3", false)])];
        let v = dns_view(Some(&headless()), &slices, "default", "cluster.local");
        let find = |name: &str, ty: &str| v.records.iter().filter(|r| r.name == name && r.type_ == ty).cloned().collect::<Vec<_>>();
        let svc = &find("web.default.svc.cluster.local", "A")[0];
        assert_eq!((svc.value.as_str(), svc.published), ("10.244.0.2", true));
        let web1 = &find("web-1.web.default.svc.cluster.local", "A")[0];
        assert!(!web1.published);
        let srv = find("_http._tcp.web.default.svc.cluster.local", "SRV");
        assert_eq!(srv.len(), 2);
        assert!(srv.iter().any(|r| r.published && r.value == "0 100 8000 web-0.web.default.svc.cluster.local."));
    }

    #[test]
    fn no_ready_endpoint_means_nxdomain_for_the_service_name() {
        let slices = [slice(vec![endpoint("web-0", "10.244.0.2", false)])];
        let v = dns_view(Some(&headless()), &slices, "default", "cluster.local");
        assert!(!v.records[0].published);
    }

    #[test]
    fn missing_service_publishes_nothing() {
        let v = dns_view(None, &[], "default", "cluster.local");
        assert!(v.service.is_none() && v.records.is_empty());
    }
}
