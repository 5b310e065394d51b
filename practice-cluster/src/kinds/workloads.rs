//! apps/v1 kinds: StatefulSets and the ControllerRevisions that record their templates.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    ControllerRevision, RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetStatus,
    StatefulSetUpdateStrategy,
};
use serde_json::{Value, json};

use super::core::default_pod_spec;
use super::{ApiKind, Column, age_of, name_of};
use crate::Cluster;
use crate::api::error::ApiError;
use crate::store::{Collection, Store};

/// The spec fields of a StatefulSet that may change after creation.
const MUTABLE_SPEC_FIELDS: [&str; 6] = ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

/// The message Kubernetes gives for a change to any other spec field.
pub const FORBIDDEN_SPEC_UPDATE: &str = "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

fn immutable_part(sts: &StatefulSet) -> Value {
    let mut spec = serde_json::to_value(&sts.spec).unwrap_or(Value::Null);
    if let Some(m) = spec.as_object_mut() {
        for f in MUTABLE_SPEC_FIELDS {
            m.remove(f);
        }
    }
    spec
}

impl ApiKind for StatefulSet {
    const SINGULAR: &'static str = "statefulset";
    const SHORT_NAMES: &'static [&'static str] = &["sts"];
    const NAMESPACED: bool = true;
    const SUBRESOURCES: &'static [&'static str] = &["status", "scale"];
    const CATEGORIES: &'static [&'static str] = &["all"];

    fn collection(store: &Store) -> &Collection<Self> {
        &store.statefulsets
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::NAME,
            Column::text("Ready", "Number of the pod with ready state"),
            Column::AGE,
            Column::wide("Containers", "Names of each container in the template."),
            Column::wide("Images", "Images referenced by each container in the template."),
        ]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let desired = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let ready = self.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
        let containers = self.spec.iter().flat_map(|s| s.template.spec.iter()).flat_map(|s| s.containers.iter());
        let names: Vec<String> = containers.clone().map(|c| c.name.clone()).collect();
        let images: Vec<String> = containers.map(|c| c.image.clone().unwrap_or_default()).collect();
        vec![json!(name_of(self)), json!(format!("{ready}/{desired}")), json!(age_of(&self.metadata, now)), json!(names.join(",")), json!(images.join(","))]
    }

    fn default_on_create(&mut self, _cluster: &Cluster) {
        let spec = self.spec.get_or_insert_with(Default::default);
        spec.replicas.get_or_insert(1);
        spec.pod_management_policy.get_or_insert_with(|| "OrderedReady".into());
        spec.revision_history_limit.get_or_insert(10);
        let strategy = spec.update_strategy.get_or_insert_with(|| StatefulSetUpdateStrategy { type_: Some("RollingUpdate".into()), rolling_update: None });
        if strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate" {
            strategy.type_ = Some("RollingUpdate".into());
            strategy.rolling_update.get_or_insert(RollingUpdateStatefulSetStrategy { partition: Some(0), max_unavailable: None });
        }
        spec.persistent_volume_claim_retention_policy
            .get_or_insert_with(|| StatefulSetPersistentVolumeClaimRetentionPolicy { when_deleted: Some("Retain".into()), when_scaled: Some("Retain".into()) });
        if let Some(pod) = &mut spec.template.spec {
            default_pod_spec(pod);
        }
        for t in spec.volume_claim_templates.iter_mut().flatten() {
            let s = t.spec.get_or_insert_with(Default::default);
            s.volume_mode.get_or_insert_with(|| "Filesystem".into());
            t.status.get_or_insert_with(|| k8s_openapi::api::core::v1::PersistentVolumeClaimStatus { phase: Some("Pending".into()), ..Default::default() });
        }
        self.status = Some(StatefulSetStatus { replicas: 0, available_replicas: Some(0), ..Default::default() });
    }

    fn validate(&self) -> Result<(), ApiError> {
        let name = name_of(self);
        let invalid = |field: &str, msg: String| ApiError::invalid("StatefulSet", "apps", name, vec![("FieldValueInvalid", field, msg)]);
        let Some(spec) = &self.spec else {
            return Err(ApiError::invalid("StatefulSet", "apps", name, vec![("FieldValueRequired", "spec", "Required value".into())]));
        };
        if let Some(r) = spec.replicas.filter(|r| *r < 0) {
            return Err(invalid("spec.replicas", format!("Invalid value: {r}: must be greater than or equal to 0")));
        }
        let selector = spec.selector.match_labels.clone().unwrap_or_default();
        if selector.is_empty() && spec.selector.match_expressions.as_ref().is_none_or(|e| e.is_empty()) {
            return Err(ApiError::invalid(
                "StatefulSet",
                "apps",
                name,
                vec![("FieldValueRequired", "spec.selector", "Required value: empty selector is invalid for statefulset".into())],
            ));
        }
        let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
        if selector.iter().any(|(k, v)| labels.get(k) != Some(v)) {
            let shown: Vec<String> = labels.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
            return Err(invalid(
                "spec.template.metadata.labels",
                format!("Invalid value: map[string]string{{{}}}: `selector` does not match template `labels`", shown.join(", ")),
            ));
        }
        if spec.template.spec.as_ref().is_none_or(|s| s.containers.is_empty()) {
            return Err(ApiError::invalid("StatefulSet", "apps", name, vec![("FieldValueRequired", "spec.template.spec.containers", "Required value".into())]));
        }
        if let Some(p) = spec.pod_management_policy.as_deref().filter(|p| !matches!(*p, "OrderedReady" | "Parallel")) {
            return Err(ApiError::invalid(
                "StatefulSet",
                "apps",
                name,
                vec![(
                    "FieldValueNotSupported",
                    "spec.podManagementPolicy",
                    format!("Unsupported value: \"{p}\": supported values: \"OrderedReady\", \"Parallel\""),
                )],
            ));
        }
        Ok(())
    }

    fn validate_update(&self, old: &Self) -> Result<(), ApiError> {
        if immutable_part(self) != immutable_part(old) {
            return Err(ApiError::invalid("StatefulSet", "apps", name_of(self), vec![("FieldValueForbidden", "spec", FORBIDDEN_SPEC_UPDATE.to_owned())]));
        }
        Ok(())
    }

    fn spec_json(&self) -> Option<Value> {
        serde_json::to_value(&self.spec).ok()
    }
}

impl ApiKind for ControllerRevision {
    const SINGULAR: &'static str = "controllerrevision";
    const SHORT_NAMES: &'static [&'static str] = &[];
    const NAMESPACED: bool = true;

    fn collection(store: &Store) -> &Collection<Self> {
        &store.controller_revisions
    }

    fn columns() -> Vec<Column> {
        vec![Column::NAME, Column::text("Controller", "The controller of this revision."), Column::integer("Revision", "The revision number."), Column::AGE]
    }

    fn cells(&self, now: Timestamp) -> Vec<Value> {
        let controller = self
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| {
                let group = o.api_version.split_once('/').map(|(g, _)| format!(".{g}")).unwrap_or_default();
                format!("{}{group}/{}", o.kind.to_lowercase(), o.name)
            })
            .unwrap_or_else(|| "<none>".into());
        vec![json!(name_of(self)), json!(controller), json!(self.revision), json!(age_of(&self.metadata, now))]
    }
}
