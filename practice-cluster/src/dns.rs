//! Cluster DNS, answered the way CoreDNS's `kubernetes` plugin answers it, derived from
//! Services and EndpointSlices.
//!
//! - `<svc>.<ns>.svc.<zone>`: A with the cluster IP; for a headless Service, A with
//!   every ready endpoint (none: NXDOMAIN).
//! - `<endpoint>.<svc>.<ns>.svc.<zone>`: A for a ready endpoint, named by its hostname
//!   (a StatefulSet pod's name) or else its dashed IP (`10-244-0-5`).
//! - `_<port>._<proto>.<svc>.<ns>.svc.<zone>`: SRV per named port, pointing at the
//!   Service (cluster IP) or at each ready endpoint (headless).
//! - `<a-b-c-d>.<ns>.pod.<zone>`: A with that IP (CoreDNS's default `pods insecure`).
//!
//! "Ready" is the endpoint's `ready` condition, which the EndpointSlice controller already
//! sets for not-ready pods of a Service with `publishNotReadyAddresses`.
//! [`lookup`] resolves a name as a pod's resolver does (`ndots:5` and its search list).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{EndpointPort, EndpointSlice};

use crate::kinds::{name_of, namespace_of};
use crate::store::Store;

/// The cluster DNS server's address: the `kube-system/kube-dns` Service IP.
pub const NAMESERVER: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
/// Seconds an answer lives (kubeadm's CoreDNS configuration: `ttl 30`).
pub const TTL: u32 = 30;
/// A name with at least this many dots is tried as absolute before the search list.
pub const NDOTS: usize = 5;

/// The label naming an EndpointSlice's Service.
const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";

/// One DNS record. Names are fully qualified, without the trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Record {
    /// An address record.
    A {
        /// The name, e.g. `web-0.web.default.svc.cluster.local`.
        name: String,
        /// Its address.
        ip: Ipv4Addr,
    },
    /// A service-location record.
    Srv {
        /// The name, e.g. `_http._tcp.web.default.svc.cluster.local`.
        name: String,
        /// Priority (always 0 from the cluster DNS).
        priority: u16,
        /// Share of the answers with the same priority, in percent, as CoreDNS computes it.
        weight: u16,
        /// The port to connect to.
        port: u16,
        /// The host to connect to, e.g. `web-0.web.default.svc.cluster.local`.
        target: String,
    },
}

impl Record {
    /// The record's owner name.
    pub fn name(&self) -> &str {
        match self {
            Record::A { name, .. } | Record::Srv { name, .. } => name,
        }
    }
}

impl fmt::Display for Record {
    /// The record as `dig` prints it, e.g. `web.default.svc.cluster.local. 30 IN A 10.244.0.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::A { name, ip } => write!(f, "{name}.\t{TTL}\tIN\tA\t{ip}"),
            Record::Srv { name, priority, weight, port, target } => {
                write!(f, "{name}.\t{TTL}\tIN\tSRV\t{priority} {weight} {port} {target}.")
            }
        }
    }
}

/// The search list of a pod in `namespace` with `dnsPolicy: ClusterFirst`:
/// `["<ns>.svc.<zone>", "svc.<zone>", "<zone>"]`.
pub fn search_domains(namespace: &str, domain: &str) -> Vec<String> {
    let zone = normalize(domain);
    vec![format!("{namespace}.svc.{zone}"), format!("svc.{zone}"), zone]
}

/// The cluster DNS server's address: the `kube-dns` Service's cluster IP, or [`NAMESERVER`].
pub fn nameserver(store: &Store) -> Ipv4Addr {
    store
        .services
        .get("kube-system", "kube-dns")
        .and_then(|s| s.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()).and_then(|ip| ip.parse().ok()))
        .unwrap_or(NAMESERVER)
}

/// `<svc>.<ns>.svc.<zone>`.
pub fn service_fqdn(svc: &Service, domain: &str) -> String {
    format!("{}.{}.svc.{}", name_of(svc), namespace_of(svc), normalize(domain))
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------
// Records.

/// Every record the cluster DNS serves for the Services in `store` (pod records are
/// answered for any IP and so are not listed).
pub fn records(store: &Store, domain: &str) -> Vec<Record> {
    let (services, _) = store.services.list(None);
    let (slices, _) = store.endpoint_slices.list(None);
    let mut by_service: BTreeMap<(&str, &str), Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in &slices {
        if let Some(svc) = slice.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)) {
            by_service.entry((namespace_of(slice.as_ref()), svc.as_str())).or_default().push(slice);
        }
    }
    services
        .iter()
        .flat_map(|svc| {
            let key = (namespace_of(svc.as_ref()), name_of(svc.as_ref()));
            let slices = by_service.get(&key).map(Vec::as_slice).unwrap_or_default();
            service_records(svc, slices, domain)
        })
        .collect()
}

/// The records of one Service, given (at least) its EndpointSlices; slices of other
/// Services are ignored. ExternalName Services (CNAMEs) give none.
pub fn service_records<S: Borrow<EndpointSlice>>(svc: &Service, slices: &[S], domain: &str) -> Vec<Record> {
    service_entries(svc, slices, domain).into_iter().filter(|e| e.published).map(|e| e.record).collect()
}

/// The records of a headless Service from its EndpointSlices (slices of other Services
/// are ignored): the Service name with every ready endpoint, each endpoint's own name,
/// and an SRV per ready endpoint and named port.
pub fn headless_records<S: Borrow<EndpointSlice>>(svc: &Service, slices: &[S], domain: &str) -> Vec<Record> {
    if !is_headless(svc) {
        return Vec::new();
    }
    service_records(svc, slices, domain)
}

/// A record a Service gives, with whether DNS answers it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The record.
    pub record: Record,
    /// True when DNS answers it; false when it is withheld because its endpoint is not
    /// ready (it would be answered once the endpoint is).
    pub published: bool,
    /// The pod behind the endpoint it is about, if it is about one.
    pub pod: Option<String>,
}

/// Every record of one Service, published or withheld: the one derivation that the
/// resolver ([`service_records`], [`resolve`]) and the dashboard's DNS panel share.
///
/// - Cluster IP: the Service name and its named ports (SRV) point at the cluster IP;
///   each endpoint also gets its own name (CoreDNS answers those for any Service).
/// - Headless: the Service name answers every ready endpoint, each endpoint has its own
///   name, and each named port has an SRV per ready endpoint.
///
/// Not-ready endpoints give the same records, withheld (`published: false`).
pub fn service_entries<S: Borrow<EndpointSlice>>(svc: &Service, slices: &[S], domain: &str) -> Vec<Entry> {
    let cluster_ip = cluster_ip(svc);
    if cluster_ip.is_none() && !is_headless(svc) {
        return Vec::new();
    }
    let fqdn = service_fqdn(svc, domain);
    let endpoints = endpoints(svc, slices);
    let entry = |record: Record, published: bool, pod: &str| Entry { record, published, pod: (!pod.is_empty()).then(|| pod.to_owned()) };
    let mut out = Vec::new();
    if let Some(ip) = cluster_ip {
        out.push(entry(Record::A { name: fqdn.clone(), ip }, true, ""));
        for p in svc.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default() {
            let name = p.name.as_deref().unwrap_or_default();
            let Ok(port) = u16::try_from(p.port) else { continue };
            if !name.is_empty() {
                let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
                let srv = Record::Srv { name: format!("_{name}._{proto}.{fqdn}"), priority: 0, weight: 100, port, target: fqdn.clone() };
                out.push(entry(srv, true, ""));
            }
        }
    } else {
        out.extend(endpoints.iter().map(|e| entry(Record::A { name: fqdn.clone(), ip: e.ip }, e.ready, e.pod)));
    }
    out.extend(endpoints.iter().map(|e| entry(Record::A { name: format!("{}.{fqdn}", e.label), ip: e.ip }, e.ready, e.pod)));
    if cluster_ip.is_none() {
        out.extend(headless_srv(&fqdn, &endpoints).into_iter().map(|(record, ready, pod)| entry(record, ready, pod)));
    }
    dedup(out)
}

/// A headless Service's SRV records: per named port, one answer per endpoint, weighted
/// among the ready ones as CoreDNS does (a withheld one as if it were ready too).
fn headless_srv<'a>(fqdn: &str, endpoints: &[Endpoint<'a>]) -> Vec<(Record, bool, &'a str)> {
    let mut srv: BTreeMap<String, Vec<(u16, String, bool, &'a str)>> = BTreeMap::new();
    for e in endpoints {
        for p in e.ports {
            let name = p.name.as_deref().unwrap_or_default();
            let Some(port) = p.port.and_then(|n| u16::try_from(n).ok()) else { continue };
            if name.is_empty() {
                continue;
            }
            let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
            let answers = srv.entry(format!("_{name}._{proto}.{fqdn}")).or_default();
            let target = format!("{}.{fqdn}", e.label);
            if !answers.iter().any(|(p, t, ..)| *p == port && *t == target) {
                answers.push((port, target, e.ready, e.pod));
            }
        }
    }
    let mut out = Vec::new();
    for (name, answers) in srv {
        let ready = answers.iter().filter(|a| a.2).count();
        for (port, target, published, pod) in answers {
            let weight = srv_weight(if published { ready } else { ready + 1 });
            out.push((Record::Srv { name: name.clone(), priority: 0, weight, port, target }, published, pod));
        }
    }
    out
}

/// CoreDNS's SRV weight: each of `n` equal answers gets `floor(100 / n)` percent, at least 1.
fn srv_weight(n: usize) -> u16 {
    u16::try_from(100 / n.max(1)).unwrap_or(1).max(1)
}

/// The entries without repeats; a record both published and withheld is published.
fn dedup(entries: Vec<Entry>) -> Vec<Entry> {
    let published: HashSet<Record> = entries.iter().filter(|e| e.published).map(|e| e.record.clone()).collect();
    let mut seen = HashSet::new();
    entries.into_iter().filter(|e| (e.published || !published.contains(&e.record)) && seen.insert(e.record.clone())).collect()
}

fn cluster_ip(svc: &Service) -> Option<Ipv4Addr> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.cluster_ip.as_deref()?.parse().ok()
}

fn is_headless(svc: &Service) -> bool {
    let spec = svc.spec.as_ref();
    spec.and_then(|s| s.cluster_ip.as_deref()) == Some("None") && spec.and_then(|s| s.type_.as_deref()) != Some("ExternalName")
}

/// An endpoint address as DNS sees it.
struct Endpoint<'a> {
    /// Its name under the Service: the hostname, else the dashed IP.
    label: String,
    ip: Ipv4Addr,
    /// Its slice's ports.
    ports: &'a [EndpointPort],
    /// The pod behind it, for a stable order.
    pod: &'a str,
    /// Whether DNS answers it (an unset `ready` means ready).
    ready: bool,
}

/// The IPv4 endpoint addresses in `svc`'s slices, ordered by pod name.
fn endpoints<'a, S: Borrow<EndpointSlice>>(svc: &Service, slices: &'a [S]) -> Vec<Endpoint<'a>> {
    let (ns, name) = (namespace_of(svc), name_of(svc));
    let mut out = Vec::new();
    for slice in slices {
        let slice: &'a EndpointSlice = slice.borrow();
        let ours = slice.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)).is_some_and(|s| s == name)
            && slice.metadata.namespace.as_deref().is_none_or(|n| n == ns);
        if !ours || slice.address_type != "IPv4" {
            continue;
        }
        let ports = slice.ports.as_deref().unwrap_or_default();
        for e in &slice.endpoints {
            let ready = e.conditions.as_ref().and_then(|c| c.ready) != Some(false);
            let pod = e.target_ref.as_ref().and_then(|r| r.name.as_deref()).unwrap_or_default();
            for address in &e.addresses {
                let Ok(ip) = address.parse::<Ipv4Addr>() else { continue };
                let label = match e.hostname.as_deref().filter(|h| !h.is_empty()) {
                    Some(h) => h.to_ascii_lowercase(),
                    None => dashed(ip),
                };
                out.push(Endpoint { label, ip, ports, pod, ready });
            }
        }
    }
    out.sort_by(|a, b| (a.pod, a.ip).cmp(&(b.pod, b.ip)));
    out
}

/// `10-244-0-5` for 10.244.0.5.
fn dashed(ip: Ipv4Addr) -> String {
    ip.to_string().replace('.', "-")
}

// ---------------------------------------------------------------------------------
// Resolving.

/// The names a pod's resolver tries for `name`, in order: a trailing dot means only the
/// name itself; fewer than [`NDOTS`] dots means the search list first, else last.
pub fn search_order(name: &str, search: &[String]) -> Vec<String> {
    let name = name.trim().to_ascii_lowercase();
    if let Some(absolute) = name.strip_suffix('.') {
        return vec![absolute.to_owned()];
    }
    if name.is_empty() {
        return Vec::new();
    }
    let expanded = search.iter().map(|d| normalize(d)).filter(|d| !d.is_empty()).map(|d| format!("{name}.{d}"));
    if name.matches('.').count() >= NDOTS {
        std::iter::once(name.clone()).chain(expanded).collect()
    } else {
        expanded.chain(std::iter::once(name.clone())).collect()
    }
}

/// Resolves `name` as a pod's resolver would, trying [`search_order`] until a name has
/// addresses. Returns the fully qualified name that answered (no trailing dot) and its
/// addresses, or `None` for NXDOMAIN (or no addresses). Names outside the cluster zone
/// do not resolve: the practice cluster has no upstream DNS. An IP literal resolves to
/// itself.
pub fn lookup(store: &Store, domain: &str, name: &str, search: &[String]) -> Option<(String, Vec<Ipv4Addr>)> {
    let literal = name.trim().trim_end_matches('.');
    if let Ok(ip) = literal.parse::<Ipv4Addr>() {
        return Some((literal.to_owned(), vec![ip]));
    }
    search_order(name, search).into_iter().find_map(|candidate| {
        let ips = resolve(store, domain, &candidate)?;
        Some((candidate, ips))
    })
}

/// The A answer for one fully qualified name, or `None` for NXDOMAIN or no addresses.
pub fn resolve(store: &Store, domain: &str, fqdn: &str) -> Option<Vec<Ipv4Addr>> {
    let fqdn = normalize(fqdn);
    let zone = normalize(domain);
    let rest = fqdn.strip_suffix(zone.as_str())?.strip_suffix('.')?;
    let labels: Vec<&str> = rest.split('.').collect();
    match labels.split_last()? {
        (&"svc", before) => resolve_service(store, before),
        (&"pod", [ip, ns]) => {
            store.namespaces.get("", ns)?;
            Some(vec![ip.replace('-', ".").parse().ok()?])
        }
        _ => None,
    }
}

/// What a name under `svc.<zone>` asks for: `[ns]`, `[svc, ns]`, `[endpoint, svc, ns]` or
/// `[_port, _proto, svc, ns]` (the underscores optional, as in CoreDNS).
fn resolve_service(store: &Store, labels: &[&str]) -> Option<Vec<Ipv4Addr>> {
    let (ns, labels) = labels.split_last()?;
    let (name, labels) = labels.split_last()?;
    let strip = |s: &'_ str| s.strip_prefix('_').unwrap_or(s).to_owned();
    let (endpoint, port) = match labels {
        [] => (None, None),
        [endpoint] => (Some(*endpoint), None),
        [port, proto] => (None, Some((strip(port), strip(proto)))),
        _ => return None,
    };
    let svc = store.services.get(ns, name)?;
    let port_matches = |p_name: Option<&str>, p_proto: Option<&str>| {
        port.as_ref().is_none_or(|(n, proto)| p_name.unwrap_or_default() == n && p_proto.unwrap_or("TCP").eq_ignore_ascii_case(proto))
    };
    if let (Some(ip), None) = (cluster_ip(&svc), endpoint) {
        let ports = svc.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default();
        let found = port.is_none() || ports.iter().any(|p| port_matches(p.name.as_deref(), p.protocol.as_deref()));
        return found.then(|| vec![ip]);
    }
    if cluster_ip(&svc).is_none() && !is_headless(&svc) {
        return None;
    }
    let (slices, _) = store.endpoint_slices.list(Some(ns));
    let mut ips: Vec<Ipv4Addr> = Vec::new();
    for e in endpoints(&svc, &slices).into_iter().filter(|e| e.ready) {
        if endpoint.is_some_and(|want| want != e.label) {
            continue;
        }
        let serves = port.is_none() || e.ports.iter().any(|p| port_matches(p.name.as_deref(), p.protocol.as_deref()));
        if serves && !ips.contains(&e.ip) {
            ips.push(e.ip);
        }
    }
    (!ips.is_empty()).then_some(ips)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};
    use serde_json::json;

    use super::*;
    use crate::controllers::endpoints::test_support::*;

    const ZONE: &str = "cluster.local";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("IPv4")
    }

    fn web_ips(ns: &[usize]) -> Vec<Ipv4Addr> {
        ns.iter().map(|&n| ip(&web_ip(n))).collect()
    }

    fn from_default(c: &crate::Cluster, name: &str) -> Option<(String, Vec<Ipv4Addr>)> {
        lookup(&c.store, ZONE, name, &search_domains("default", ZONE))
    }

    fn a_records<'a>(records: &'a [Record], name: &str) -> Vec<&'a Ipv4Addr> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::A { name: n, ip } if n == name => Some(ip),
                _ => None,
            })
            .collect()
    }

    fn srv_records<'a>(records: &'a [Record], name: &str) -> Vec<(u16, u16, &'a str)> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::Srv { name: n, weight, port, target, .. } if n == name => Some((*weight, *port, target.as_str())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn headless_lab_service_has_a_record_per_pod_hostname_and_srv() {
        let c = lab(false);
        let records = records(&c.store, ZONE);
        let service = "web.default.svc.cluster.local";
        assert_eq!(a_records(&records, service), web_ips(&[0, 1, 2]).iter().collect::<Vec<_>>());
        for n in 0..3 {
            let name = format!("web-{n}.web.default.svc.cluster.local");
            assert_eq!(a_records(&records, &name), [&ip(&web_ip(n))]);
        }
        assert_eq!(
            srv_records(&records, "_http._tcp.web.default.svc.cluster.local"),
            [
                (33, 8000, "web-0.web.default.svc.cluster.local"),
                (33, 8000, "web-1.web.default.svc.cluster.local"),
                (33, 8000, "web-2.web.default.svc.cluster.local"),
            ]
        );
        let line = records.iter().find(|r| r.name() == "_http._tcp.web.default.svc.cluster.local").expect("srv").to_string();
        assert_eq!(line, "_http._tcp.web.default.svc.cluster.local.\t30\tIN\tSRV\t0 33 8000 web-0.web.default.svc.cluster.local.");
    }

    #[test]
    fn a_not_ready_pod_leaves_the_service_records() {
        let c = lab(false);
        set_status(&c, "web-1", Some(&web_ip(1)), false);
        sync(&c);
        let records = records(&c.store, ZONE);
        assert_eq!(a_records(&records, "web.default.svc.cluster.local"), web_ips(&[0, 2]).iter().collect::<Vec<_>>());
        assert!(a_records(&records, "web-1.web.default.svc.cluster.local").is_empty());
        let srv = srv_records(&records, "_http._tcp.web.default.svc.cluster.local");
        assert_eq!(srv, [(50, 8000, "web-0.web.default.svc.cluster.local"), (50, 8000, "web-2.web.default.svc.cluster.local")]);
        assert_eq!(from_default(&c, "web-1.web"), None);
        assert_eq!(from_default(&c, "web").map(|(_, ips)| ips), Some(web_ips(&[0, 2])));
    }

    #[test]
    fn publish_not_ready_addresses_keeps_a_not_ready_pod_in_dns() {
        let c = lab(true);
        set_status(&c, "web-1", Some(&web_ip(1)), false);
        sync(&c);
        assert_eq!(from_default(&c, "web-1.web").map(|(_, ips)| ips), Some(web_ips(&[1])));
        assert_eq!(from_default(&c, "web").map(|(_, ips)| ips), Some(web_ips(&[0, 1, 2])));
    }

    #[test]
    fn a_terminating_pod_leaves_dns() {
        let c = lab(false);
        crate::ops::delete::<k8s_openapi::api::core::v1::Pod>(&c, "default", "web-2", &Default::default()).expect("delete");
        sync(&c);
        assert_eq!(from_default(&c, "web-2.web"), None);
        assert_eq!(from_default(&c, "web").map(|(_, ips)| ips), Some(web_ips(&[0, 1])));
    }

    #[test]
    fn names_resolve_through_the_search_list_like_a_pod_resolver() {
        let c = lab(false);
        assert_eq!(from_default(&c, "web-1.web"), Some(("web-1.web.default.svc.cluster.local".to_owned(), web_ips(&[1]))));
        assert_eq!(from_default(&c, "web-1.web.default").map(|(f, _)| f).as_deref(), Some("web-1.web.default.svc.cluster.local"));
        assert_eq!(from_default(&c, "WEB-1.Web.default.svc.cluster.local.").map(|(_, ips)| ips), Some(web_ips(&[1])));
        assert_eq!(from_default(&c, "_http._tcp.web").map(|(_, ips)| ips), Some(web_ips(&[0, 1, 2])));
        // From another namespace the short name does not reach default's Service.
        let other = search_domains("other", ZONE);
        assert_eq!(lookup(&c.store, ZONE, "web-1.web", &other), None);
        assert_eq!(lookup(&c.store, ZONE, "web-1.web.default", &other).map(|(_, ips)| ips), Some(web_ips(&[1])));
        // Unknown names are NXDOMAIN; there is no upstream DNS.
        for name in ["nope", "web-9.web", "web.nope", "default.svc.cluster.local", "example.com", "web.default.svc.cluster.local.example."] {
            assert_eq!(from_default(&c, name), None, "{name}");
        }
    }

    #[test]
    fn cluster_ip_services_and_pods_resolve() {
        let c = lab(false);
        assert_eq!(from_default(&c, "kubernetes"), Some(("kubernetes.default.svc.cluster.local".to_owned(), vec![ip("10.96.0.1")])));
        assert_eq!(from_default(&c, "kubernetes.default").map(|(_, ips)| ips), Some(vec![ip("10.96.0.1")]));
        assert_eq!(from_default(&c, "kube-dns.kube-system.svc").map(|(_, ips)| ips), Some(vec![ip("10.96.0.10")]));
        assert_eq!(nameserver(&c.store), NAMESERVER);
        assert_eq!(from_default(&c, "10-244-0-6.default.pod.cluster.local").map(|(_, ips)| ips), Some(web_ips(&[1])));
        assert_eq!(from_default(&c, "10-244-0-6.nowhere.pod.cluster.local"), None);
        assert_eq!(from_default(&c, "10.244.0.6").map(|(_, ips)| ips), Some(web_ips(&[1])));

        let svc = service(
            &c,
            json!({"metadata": {"name": "front"},
                                     "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
        );
        sync(&c);
        let cluster_ip = svc.spec.as_ref().and_then(|s| s.cluster_ip.clone()).expect("cluster IP allocated");
        let records = records(&c.store, ZONE);
        assert_eq!(a_records(&records, "front.default.svc.cluster.local"), [&ip(&cluster_ip)]);
        assert_eq!(srv_records(&records, "_http._tcp.front.default.svc.cluster.local"), [(100, 80, "front.default.svc.cluster.local")]);
        assert_eq!(from_default(&c, "front").map(|(_, ips)| ips), Some(vec![ip(&cluster_ip)]));
        assert_eq!(from_default(&c, "_http._tcp.front").map(|(_, ips)| ips), Some(vec![ip(&cluster_ip)]));
        assert_eq!(from_default(&c, "_grpc._tcp.front"), None);
    }

    #[test]
    fn endpoints_without_hostname_are_named_by_dashed_ip() {
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "data"},
            "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}
        }))
        .expect("service");
        let endpoint = |ip: &str, ready: Option<bool>| Endpoint {
            addresses: vec![ip.into()],
            conditions: Some(EndpointConditions { ready, ..Default::default() }),
            ..Default::default()
        };
        let slice = EndpointSlice {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                namespace: Some("data".into()),
                labels: Some([(LABEL_SERVICE_NAME.to_owned(), "db".to_owned())].into()),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: vec![endpoint("10.1.0.1", Some(true)), endpoint("10.1.0.2", None), endpoint("10.1.0.3", Some(false))],
            ports: Some(vec![EndpointPort { name: Some("pg".into()), port: Some(5432), protocol: Some("TCP".into()), app_protocol: None }]),
        };
        let mut other = slice.clone();
        other.metadata.labels = Some([(LABEL_SERVICE_NAME.to_owned(), "cache".to_owned())].into());
        other.endpoints = vec![endpoint("10.9.9.9", Some(true))];
        let records = headless_records(&svc, &[slice, other], "cluster.local.");
        assert_eq!(a_records(&records, "db.data.svc.cluster.local"), [&ip("10.1.0.1"), &ip("10.1.0.2")]);
        assert_eq!(a_records(&records, "10-1-0-2.db.data.svc.cluster.local"), [&ip("10.1.0.2")]);
        assert_eq!(
            srv_records(&records, "_pg._tcp.db.data.svc.cluster.local"),
            [(50, 5432, "10-1-0-1.db.data.svc.cluster.local"), (50, 5432, "10-1-0-2.db.data.svc.cluster.local"),]
        );
    }

    #[test]
    fn search_order_follows_ndots() {
        let search = search_domains("default", ZONE);
        assert_eq!(search, ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
        assert_eq!(search_order("web", &search), ["web.default.svc.cluster.local", "web.svc.cluster.local", "web.cluster.local", "web"]);
        assert_eq!(search_order("a.b.c.d.e.f", &search).first().map(String::as_str), Some("a.b.c.d.e.f"));
        assert_eq!(search_order("web.default.svc.cluster.local.", &search), ["web.default.svc.cluster.local"]);
    }
}
