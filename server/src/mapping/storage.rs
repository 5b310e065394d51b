//! The storage panel: claim → volume chains for each ordinal, and retained claims.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use app::model::ClaimView;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use crate::kinds::{Claim, Volume};

pub use practice_cluster::printers::access_modes;

/// The ordinal of claim `claim` made from template `template` of StatefulSet `sts`
/// (`<template>-<sts>-<n>`).
pub fn claim_ordinal(template: &str, sts: &str, claim: &str) -> Option<i32> {
    crate::mapping::ordinal(sts, claim.strip_prefix(template)?.strip_prefix('-')?)
}

/// The claims made from `sts`'s templates, each with its volume and pod (if any),
/// ordered by ordinal then name.
pub fn claims(sts: &StatefulSet, claims: &[Arc<Claim>], volumes: &[Arc<Volume>], pods: &[Arc<Pod>]) -> Vec<ClaimView> {
    let name = sts.metadata.name.as_deref().unwrap_or_default();
    let templates: Vec<String> = sts.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()).filter_map(|t| t.metadata.name.clone()).collect();
    // Indexed once, so a snapshot is linear in claims + pods + volumes.
    let pod_names: HashSet<&str> = pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
    let phases: HashMap<&str, &str> = volumes.iter().filter_map(|v| Some((v.metadata.name.as_deref()?, v.status.as_ref()?.phase.as_deref()?))).collect();
    let mut out: Vec<ClaimView> = claims
        .iter()
        .filter_map(|c| {
            let claim_name = c.metadata.name.as_deref()?;
            let ordinal = templates.iter().find_map(|t| claim_ordinal(t, name, claim_name))?;
            let pod_name = format!("{name}-{ordinal}");
            let pod = pod_names.contains(pod_name.as_str()).then_some(pod_name);
            let spec = c.spec.as_ref();
            let status = c.status.as_ref();
            let volume = spec.and_then(|s| s.volume_name.clone()).unwrap_or_default();
            Some(ClaimView {
                name: claim_name.to_owned(),
                ordinal,
                pod,
                status: status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".into()),
                capacity: status.and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).map(|q| q.0.clone()).unwrap_or_default(),
                access_modes: access_modes(status.and_then(|s| s.access_modes.as_deref()).unwrap_or_default()),
                storage_class: spec.and_then(|s| s.storage_class_name.clone()).unwrap_or_default(),
                uid: c.metadata.uid.clone().unwrap_or_default(),
                volume_status: phases.get(volume.as_str()).map(|p| (*p).to_owned()).unwrap_or_default(),
                volume,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.ordinal, &a.name).cmp(&(b.ordinal, &b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn meta(name: &str) -> ObjectMeta {
        ObjectMeta { name: Some(name.into()), uid: Some(format!("uid-{name}")), ..Default::default() }
    }

    #[test]
    fn claims_chain_to_pods_and_retained_ones_have_none() {
        let sts = StatefulSet {
            metadata: meta("web"),
            spec: Some(StatefulSetSpec {
                volume_claim_templates: Some(vec![PersistentVolumeClaim { metadata: meta("data"), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let claim = |n: &str| Arc::new(Claim { metadata: meta(n), ..Default::default() });
        let all = [claim("data-web-1"), claim("data-web-0"), claim("data-web-3"), claim("data-db-0"), claim("data-web-x")];
        let pods = [Arc::new(Pod { metadata: meta("web-0"), ..Default::default() }), Arc::new(Pod { metadata: meta("web-1"), ..Default::default() })];
        let rows = claims(&sts, &all, &[], &pods);
        let shown: Vec<(&str, Option<&str>)> = rows.iter().map(|c| (c.name.as_str(), c.pod.as_deref())).collect();
        assert_eq!(shown, [("data-web-0", Some("web-0")), ("data-web-1", Some("web-1")), ("data-web-3", None)]);
        assert_eq!(rows[0].uid, "uid-data-web-0");
    }

    #[test]
    fn access_modes_abbreviate_like_kubectl() {
        assert_eq!(access_modes(&["ReadWriteOnce".into(), "ReadOnlyMany".into()]), "RWO,ROX");
    }
}
