//! The StatefulSet panel.

use app::model::StatefulSetView;
use k8s_openapi::api::apps::v1::StatefulSet;

use crate::mapping::pods::unix;

/// The panel's view of `sts`.
pub fn statefulset_view(sts: &StatefulSet) -> StatefulSetView {
    let spec = sts.spec.as_ref();
    let status = sts.status.as_ref();
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let kind = strategy.and_then(|s| s.type_.clone()).unwrap_or_else(|| "RollingUpdate".into());
    let partition = strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.partition);
    StatefulSetView {
        name: sts.metadata.name.clone().unwrap_or_default(),
        uid: sts.metadata.uid.clone().unwrap_or_default(),
        replicas: spec.and_then(|s| s.replicas).unwrap_or(1),
        ready_replicas: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        current_replicas: status.map_or(0, |s| s.replicas),
        pod_management_policy: spec.and_then(|s| s.pod_management_policy.clone()).unwrap_or_else(|| "OrderedReady".into()),
        service_name: spec.and_then(|s| s.service_name.clone()).unwrap_or_default(),
        update_strategy: match (kind.as_str(), partition) {
            ("RollingUpdate", Some(p)) => format!("RollingUpdate (partition {p})"),
            (k, _) => k.to_owned(),
        },
        current_revision: status.and_then(|s| s.current_revision.clone()).unwrap_or_default(),
        update_revision: status.and_then(|s| s.update_revision.clone()).unwrap_or_default(),
        claim_templates: spec
            .and_then(|s| s.volume_claim_templates.as_ref())
            .map(|t| t.iter().filter_map(|c| c.metadata.name.clone()).collect())
            .unwrap_or_default(),
        created_at: unix(sts.metadata.creation_timestamp.as_ref()),
    }
}
