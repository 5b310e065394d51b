//! Ordinal lanes: the teaching view's join of pods, claims and DNS records by ordinal,
//! so one card shows everything that belongs to `web-N` (its claim, its volume, its DNS
//! name) and a claim kept after a scale-down shows as a lane of its own.
//!
//! Pure functions over the view model; the components in `components::lane` draw them.

use crate::model::{ClaimView, Crash, DnsView, PodView, ProbeState};

/// Everything that belongs to one ordinal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lane {
    /// The ordinal, the lane's key.
    pub ordinal: i32,
    /// The pod with this ordinal, if one exists now.
    pub pod: Option<PodView>,
    /// Its claims (one per claim template), kept even when the pod is gone.
    pub claims: Vec<ClaimView>,
    /// The pod's DNS name and whether DNS answers it.
    pub dns: LaneDns,
}

/// The pod's own DNS name (`web-0.web.default.svc.cluster.local`) and its state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LaneDns {
    /// The Service publishes a record for the pod and DNS answers it.
    Published {
        /// Fully qualified name.
        name: String,
    },
    /// The record exists but is withheld: the pod is not Ready.
    Withheld {
        /// Fully qualified name.
        name: String,
    },
    /// The name the pod will have once the Service lists it (e.g. it has no IP yet).
    NotListed {
        /// Fully qualified name.
        name: String,
    },
    /// The pod has no DNS name of its own.
    NoName {
        /// Why, in words.
        reason: String,
    },
    /// No pod, no record.
    #[default]
    NoPod,
}

impl LaneDns {
    /// The name, when the pod has one (published or not).
    pub fn name(&self) -> Option<&str> {
        match self {
            LaneDns::Published { name } | LaneDns::Withheld { name } | LaneDns::NotListed { name } => Some(name),
            LaneDns::NoName { .. } | LaneDns::NoPod => None,
        }
    }
}

/// Joins pods, claims and DNS records by ordinal, in ordinal order. `namespace` names the
/// zone of a pod the Service does not list yet.
pub fn lanes(pods: &[PodView], claims: &[ClaimView], dns: &DnsView, namespace: &str) -> Vec<Lane> {
    let mut ordinals: Vec<i32> = pods.iter().map(|p| p.ordinal).chain(claims.iter().map(|c| c.ordinal)).collect();
    ordinals.sort_unstable();
    ordinals.dedup();
    ordinals
        .into_iter()
        .map(|ordinal| {
            let pod = pods.iter().find(|p| p.ordinal == ordinal).cloned();
            let claims = claims.iter().filter(|c| c.ordinal == ordinal).cloned().collect();
            let dns = match &pod {
                Some(p) => pod_dns(&p.name, dns, namespace),
                None => LaneDns::NoPod,
            };
            Lane { ordinal, pod, claims, dns }
        })
        .collect()
}

/// The pod's own A record (`<pod>.<service>…`), from the same records the DNS panel
/// lists; the Service's name is attributed to every pod behind it, and is not the pod's.
fn pod_dns(pod: &str, dns: &DnsView, namespace: &str) -> LaneDns {
    let own = format!("{pod}.");
    let record = dns.records.iter().find(|r| r.type_ == "A" && r.pod.as_deref() == Some(pod) && r.name.starts_with(&own));
    match (record, &dns.service) {
        (Some(r), _) if r.published => LaneDns::Published { name: r.name.clone() },
        (Some(r), _) => LaneDns::Withheld { name: r.name.clone() },
        (None, Some(svc)) if dns.headless => LaneDns::NotListed { name: format!("{pod}.{svc}.{namespace}.svc.{}", dns.domain) },
        (None, _) => LaneDns::NoName { reason: no_name_reason(dns) },
    }
}

fn no_name_reason(dns: &DnsView) -> String {
    match &dns.service {
        None => "no DNS name: the governing Service does not exist".to_owned(),
        Some(svc) if !dns.headless => format!("no DNS name: Service {svc} is not headless"),
        Some(_) => "no DNS name".to_owned(),
    }
}

/// The probes a lane shows a light for, in the order the kubelet runs them.
pub const PROBE_KINDS: [&str; 3] = ["startup", "liveness", "readiness"];

/// The state of the pod's `kind` probe (`startup`, `liveness`, `readiness`), or `None`
/// when no container has one. With several containers, the one in the worst state
/// speaks for the pod: a failing probe is what the class should see.
pub fn probe_light(pod: &PodView, kind: &str) -> Option<ProbeState> {
    pod.containers.iter().flat_map(|c| &c.probes).filter(|p| p.kind == kind).map(|p| p.state.clone()).max_by_key(severity)
}

fn severity(state: &ProbeState) -> u8 {
    match state {
        ProbeState::Passing => 0,
        ProbeState::NotYetRun | ProbeState::FirstDue { .. } => 1,
        ProbeState::NotRunning { .. } => 2,
        ProbeState::Failing { .. } => 3,
    }
}

/// The app's current crash, if a container exited by itself and has not come back.
pub fn crash(pod: &PodView) -> Option<&Crash> {
    pod.containers.iter().filter_map(|c| c.crash.as_ref()).find(|c| !c.previous)
}

/// The short form of a UID shown in a lane (its first block), e.g. `3f2a9c1e`.
pub fn short_uid(uid: &str) -> &str {
    uid.split('-').next().unwrap_or(uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerView, DnsRecord, ProbeView};

    fn pod(n: i32) -> PodView {
        PodView { name: format!("web-{n}"), ordinal: n, ..Default::default() }
    }

    fn claim(n: i32, with_pod: bool) -> ClaimView {
        ClaimView {
            name: format!("data-web-{n}"),
            ordinal: n,
            pod: with_pod.then(|| format!("web-{n}")),
            uid: format!("uid{n}-aaaa-bbbb"),
            ..Default::default()
        }
    }

    fn a(n: i32, published: bool) -> DnsRecord {
        DnsRecord {
            name: format!("web-{n}.web.default.svc.cluster.local"),
            type_: "A".into(),
            value: format!("10.0.0.{n}"),
            weight: None,
            published,
            pod: Some(format!("web-{n}")),
        }
    }

    fn headless(records: Vec<DnsRecord>) -> DnsView {
        DnsView { service: Some("web".into()), headless: true, domain: "cluster.local".into(), records, ..Default::default() }
    }

    #[test]
    fn each_ordinal_gets_its_own_pod_claim_and_dns_name_in_ordinal_order() {
        // Claims arrive in another order than pods, and web-10 sorts after web-2 by number.
        let pods = [pod(0), pod(2), pod(10)];
        let claims = [claim(10, true), claim(0, true), claim(2, true)];
        let srv = DnsRecord { type_: "SRV".into(), pod: Some("web-2".into()), ..a(2, true) };
        // The Service's own name answers with every ready pod's IP, each attributed to its pod.
        let service = DnsRecord { name: "web.default.svc.cluster.local".into(), ..a(0, true) };
        let dns = headless(vec![service, srv, a(0, true), a(2, false), a(10, true)]);
        let got = lanes(&pods, &claims, &dns, "default");
        let summary: Vec<_> = got
            .iter()
            .map(|l| (l.ordinal, l.pod.as_ref().map(|p| p.name.clone()), l.claims.iter().map(|c| c.name.clone()).collect::<Vec<_>>(), l.dns.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, Some("web-0".into()), vec!["data-web-0".to_owned()], LaneDns::Published { name: "web-0.web.default.svc.cluster.local".into() }),
                (2, Some("web-2".into()), vec!["data-web-2".to_owned()], LaneDns::Withheld { name: "web-2.web.default.svc.cluster.local".into() }),
                (10, Some("web-10".into()), vec!["data-web-10".to_owned()], LaneDns::Published { name: "web-10.web.default.svc.cluster.local".into() }),
            ]
        );
    }

    #[test]
    fn a_claim_kept_after_scale_down_is_a_lane_without_a_pod() {
        let got = lanes(&[pod(0)], &[claim(0, true), claim(1, false)], &headless(vec![a(0, true)]), "default");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].ordinal, 1);
        assert_eq!(got[1].pod, None);
        assert_eq!(got[1].claims[0].name, "data-web-1");
        assert_eq!(got[1].dns, LaneDns::NoPod);
    }

    #[test]
    fn every_claim_template_of_an_ordinal_is_in_its_lane() {
        let logs = ClaimView { name: "logs-web-0".into(), ..claim(0, true) };
        let got = lanes(&[pod(0)], &[claim(0, true), logs], &headless(vec![]), "default");
        assert_eq!(got.len(), 1);
        let names: Vec<_> = got[0].claims.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["data-web-0", "logs-web-0"]);
    }

    #[test]
    fn a_pod_not_listed_yet_shows_the_name_it_will_have_and_no_service_means_no_name() {
        let got = lanes(&[pod(3)], &[], &headless(vec![]), "lab");
        assert_eq!(got[0].dns, LaneDns::NotListed { name: "web-3.web.lab.svc.cluster.local".into() });
        assert_eq!(got[0].dns.name(), Some("web-3.web.lab.svc.cluster.local"));

        let none = DnsView { domain: "cluster.local".into(), ..Default::default() };
        let reason = |r: &str| LaneDns::NoName { reason: r.to_owned() };
        assert_eq!(lanes(&[pod(3)], &[], &none, "lab")[0].dns, reason("no DNS name: the governing Service does not exist"));
        let cluster_ip = DnsView { service: Some("web".into()), headless: false, ..none };
        assert_eq!(lanes(&[pod(3)], &[], &cluster_ip, "lab")[0].dns, reason("no DNS name: Service web is not headless"));
    }

    fn with_probes(states: &[(&str, ProbeState)]) -> PodView {
        let probes = |c: usize| {
            states
                .iter()
                .filter(|(k, _)| k.ends_with(&c.to_string()))
                .map(|(k, s)| ProbeView { kind: k[..k.len() - 1].to_owned(), state: s.clone(), ..Default::default() })
                .collect()
        };
        PodView {
            containers: vec![ContainerView { probes: probes(1), ..Default::default() }, ContainerView { probes: probes(2), ..Default::default() }],
            ..pod(0)
        }
    }

    #[test]
    fn a_probe_light_shows_the_worst_container_and_none_when_not_configured() {
        let failing = ProbeState::Failing { failures: 2, threshold: 3, message: "HTTP probe failed with statuscode: 500".into() };
        let p = with_probes(&[("readiness1", ProbeState::Passing), ("readiness2", failing.clone()), ("liveness1", ProbeState::NotYetRun)]);
        assert_eq!(probe_light(&p, "readiness"), Some(failing));
        assert_eq!(probe_light(&p, "liveness"), Some(ProbeState::NotYetRun));
        assert_eq!(probe_light(&p, "startup"), None);
    }

    #[test]
    fn a_crash_is_the_current_one_not_the_instance_before() {
        let gone = Crash { reason: "Error".into(), exit_code: 1, previous: true, ..Default::default() };
        let mut p = PodView { containers: vec![ContainerView { crash: Some(gone), ..Default::default() }], ..pod(0) };
        assert_eq!(crash(&p), None);
        let now = Crash { reason: "Error".into(), exit_code: 3, back_off: true, ..Default::default() };
        p.containers.push(ContainerView { crash: Some(now.clone()), ..Default::default() });
        assert_eq!(crash(&p), Some(&now));
    }

    #[test]
    fn short_uid_is_the_first_block() {
        assert_eq!(short_uid("3f2a9c1e-0b1c-4d2e-8f00-123456789abc"), "3f2a9c1e");
        assert_eq!(short_uid("plain"), "plain");
        assert_eq!(short_uid(""), "");
    }
}
