//! The dashboard's own types for the kinds it reads little of: a claim and a volume as
//! the storage panel shows them. Their watches deserialize straight into these, so
//! the rest of each object is never held; k8s-openapi's `PersistentVolume` takes
//! 3.5 KB before any of its fields are filled, and a room's cluster has one per pod.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

/// A PersistentVolumeClaim: its volume, class, phase, capacity and access modes.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Claim {
    /// Name, namespace, UID and resource version.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What it asks for.
    pub spec: Option<ClaimSpec>,
    /// What it got.
    pub status: Option<ClaimStatus>,
}

/// The part of a claim's spec the panel shows.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSpec {
    /// `spec.volumeName`: the volume it is bound to.
    pub volume_name: Option<String>,
    /// `spec.storageClassName`.
    pub storage_class_name: Option<String>,
}

/// The part of a claim's status the panel shows.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatus {
    /// `Pending`, `Bound` or `Lost`.
    pub phase: Option<String>,
    /// The bound volume's size, by resource (`storage`).
    pub capacity: Option<BTreeMap<String, Quantity>>,
    /// `ReadWriteOnce`, ...
    pub access_modes: Option<Vec<String>>,
}

/// A PersistentVolume: its name and phase.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Volume {
    /// Name and UID.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Its phase.
    pub status: Option<VolumeStatus>,
}

/// A volume's phase (`Bound`, `Released`, ...).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct VolumeStatus {
    /// `status.phase`.
    pub phase: Option<String>,
}

/// Makes `$ty` a core/v1 kind that kube-rs can list and watch: its kind, URL path
/// segment and scope.
macro_rules! core_v1_kind {
    ($ty:ty, $kind:literal, $plural:literal, $scope:ty) => {
        impl k8s_openapi::Resource for $ty {
            const API_VERSION: &'static str = "v1";
            const GROUP: &'static str = "";
            const KIND: &'static str = $kind;
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = $scope;
        }

        impl k8s_openapi::Metadata for $ty {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

core_v1_kind!(Claim, "PersistentVolumeClaim", "persistentvolumeclaims", k8s_openapi::NamespaceResourceScope);
core_v1_kind!(Volume, "PersistentVolume", "persistentvolumes", k8s_openapi::ClusterResourceScope);

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn claims_and_volumes_read_their_watch_objects_and_name_their_api() {
        let claim: Claim = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-web-0", "namespace": "default", "uid": "c-1"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pvc-1", "storageClassName": "standard"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]},
        }))
        .expect("claim");
        let status = claim.status.as_ref().expect("status");
        assert_eq!((status.phase.as_deref(), status.capacity.as_ref().and_then(|c| c.get("storage")).map(|q| q.0.as_str())), (Some("Bound"), Some("1Gi")));
        assert_eq!(claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()), Some("pvc-1"));
        assert_eq!(Claim::url_path(&(), Some("default")), "/api/v1/namespaces/default/persistentvolumeclaims");

        let volume: Volume = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pvc-1"}, "spec": {"hostPath": {"path": "/tmp/x"}}, "status": {"phase": "Released"},
        }))
        .expect("volume");
        assert_eq!(volume.status.and_then(|s| s.phase).as_deref(), Some("Released"));
        assert_eq!(Volume::url_path(&(), None), "/api/v1/persistentvolumes");
        assert_eq!((Claim::kind(&()).as_ref(), Volume::kind(&()).as_ref()), ("PersistentVolumeClaim", "PersistentVolume"));
    }
}
