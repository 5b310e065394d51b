//! The DNS panel: the records a Service gives, published and withheld, from the same
//! derivation the practice cluster's resolver answers with
//! ([`practice_cluster::dns::service_entries`]), so the screen never contradicts
//! `nslookup`.

use std::sync::Arc;

use app::model::{DnsRecord, DnsView};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use practice_cluster::dns::{Record, service_entries};

/// The DNS panel for `svc` (the StatefulSet's governing Service) given all slices.
pub fn dns_view(svc: Option<&Service>, slices: &[Arc<EndpointSlice>], domain: &str) -> DnsView {
    let Some(svc) = svc else {
        return DnsView { domain: domain.to_owned(), ..Default::default() };
    };
    let spec = svc.spec.as_ref();
    let records = service_entries(svc, slices, domain)
        .into_iter()
        .map(|e| {
            let (name, type_, value, weight) = match e.record {
                Record::A { name, ip } => (name, "A", ip.to_string(), None),
                // The priority is always 0 (as CoreDNS answers); the weight travels apart.
                Record::Srv { name, weight, port, target, .. } => (name, "SRV", format!("{port} {target}."), Some(weight)),
            };
            DnsRecord { name, type_: type_.to_owned(), value, weight, published: e.published, pod: e.pod }
        })
        .collect();
    DnsView {
        service: svc.metadata.name.clone(),
        headless: spec.and_then(|s| s.cluster_ip.as_deref()) == Some("None"),
        publish_not_ready: spec.and_then(|s| s.publish_not_ready_addresses).unwrap_or(false),
        domain: domain.to_owned(),
        records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ObjectReference, ServicePort, ServiceSpec};
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn service(cluster_ip: &str) -> Service {
        Service {
            metadata: ObjectMeta { name: Some("web".into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(ServiceSpec {
                cluster_ip: Some(cluster_ip.into()),
                ports: Some(vec![ServicePort { name: Some("http".into()), port: 80, ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn endpoint(pod: &str, ip: &str, ready: bool) -> Endpoint {
        Endpoint {
            addresses: vec![ip.into()],
            hostname: Some(pod.into()),
            conditions: Some(EndpointConditions { ready: Some(ready), serving: Some(ready), terminating: Some(false) }),
            target_ref: Some(ObjectReference { kind: Some("Pod".into()), name: Some(pod.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    /// web-0 ready, web-1 not ready.
    fn slices() -> Vec<Arc<EndpointSlice>> {
        vec![Arc::new(EndpointSlice {
            metadata: ObjectMeta {
                name: Some("web-abcde".into()),
                namespace: Some("default".into()),
                labels: Some([("kubernetes.io/service-name".to_owned(), "web".to_owned())].into()),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: vec![endpoint("web-0", "10.244.0.2", true), endpoint("web-1", "10.244.0.3", false)],
            ports: Some(vec![EndpointPort { name: Some("http".into()), port: Some(8000), protocol: Some("TCP".into()), app_protocol: None }]),
        })]
    }

    /// Each record as (name, type, answer as dig prints it, published).
    fn rows(v: &DnsView) -> Vec<(String, String, String, bool)> {
        v.records.iter().map(|r| (r.name.clone(), r.type_.clone(), r.answer(), r.published)).collect()
    }

    fn owned(rows: &[(&str, &str, &str, bool)]) -> Vec<(String, String, String, bool)> {
        rows.iter().map(|(n, t, a, p)| ((*n).to_owned(), (*t).to_owned(), (*a).to_owned(), *p)).collect()
    }

    /// What the practice cluster's resolver answers for the same objects, as rows.
    fn resolver(svc: &Service) -> Vec<String> {
        practice_cluster::dns::service_records(svc, &slices(), "cluster.local").iter().map(|r| r.name().to_owned()).collect()
    }

    #[test]
    fn a_headless_service_publishes_ready_pods_and_withholds_the_others() {
        let svc = service("None");
        let v = dns_view(Some(&svc), &slices(), "cluster.local");
        assert!(v.headless);
        assert_eq!(
            rows(&v),
            owned(&[
                ("web.default.svc.cluster.local", "A", "10.244.0.2", true),
                ("web.default.svc.cluster.local", "A", "10.244.0.3", false),
                ("web-0.web.default.svc.cluster.local", "A", "10.244.0.2", true),
                ("web-1.web.default.svc.cluster.local", "A", "10.244.0.3", false),
                ("_http._tcp.web.default.svc.cluster.local", "SRV", "0 100 8000 web-0.web.default.svc.cluster.local.", true),
                ("_http._tcp.web.default.svc.cluster.local", "SRV", "0 50 8000 web-1.web.default.svc.cluster.local.", false),
            ])
        );
        assert_eq!(v.records[3].pod.as_deref(), Some("web-1"));
        let published: Vec<&str> = v.records.iter().filter(|r| r.published).map(|r| r.name.as_str()).collect();
        assert_eq!(published, resolver(&svc), "the screen shows what the resolver answers");
    }

    #[test]
    fn a_cluster_ip_service_answers_its_ip_and_still_names_each_endpoint() {
        let svc = service("10.96.0.50");
        let v = dns_view(Some(&svc), &slices(), "cluster.local");
        assert!(!v.headless);
        assert_eq!(
            rows(&v),
            owned(&[
                ("web.default.svc.cluster.local", "A", "10.96.0.50", true),
                ("_http._tcp.web.default.svc.cluster.local", "SRV", "0 100 80 web.default.svc.cluster.local.", true),
                ("web-0.web.default.svc.cluster.local", "A", "10.244.0.2", true),
                ("web-1.web.default.svc.cluster.local", "A", "10.244.0.3", false),
            ])
        );
        let published: Vec<&str> = v.records.iter().filter(|r| r.published).map(|r| r.name.as_str()).collect();
        assert_eq!(published, resolver(&svc));
    }

    #[test]
    fn missing_service_publishes_nothing() {
        let v = dns_view(None, &[], "cluster.local");
        assert!(v.service.is_none() && v.records.is_empty());
    }
}
