//! The `scale` subresource of StatefulSets (`autoscaling/v1` Scale), which
//! `kubectl scale` reads and merge-patches.

use axum::http::{HeaderMap, Method};
use k8s_openapi::api::apps::v1::StatefulSet;
use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::patch;
use crate::Cluster;

fn scale_of(sts: &StatefulSet) -> Value {
    let m = &sts.metadata;
    let selector = sts
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.name, "namespace": m.namespace, "uid": m.uid,
            "resourceVersion": m.resource_version, "creationTimestamp": m.creation_timestamp,
        },
        "spec": {"replicas": sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)},
        "status": {"replicas": sts.status.as_ref().map_or(0, |s| s.replicas), "selector": selector},
    })
}

/// GET, PUT or PATCH on `statefulsets/NAME/scale`.
pub fn handle(cluster: &Cluster, method: &Method, ns: &str, name: &str, headers: &HeaderMap, body: &[u8], dry_run: bool) -> Result<Value> {
    let c = &cluster.store.statefulsets;
    let sts = c.get(ns, name).ok_or_else(|| ApiError::not_found("statefulsets", "apps", name))?;
    let mut scale = scale_of(&sts);
    match *method {
        Method::GET => return Ok(scale),
        Method::PUT => scale = super::parse_body(headers, body)?,
        Method::PATCH => {
            let ct = headers.get(axum::http::header::CONTENT_TYPE).and_then(|h| h.to_str().ok()).unwrap_or_default();
            let kind = patch::PatchKind::from_content_type(ct).ok_or_else(|| ApiError::unsupported_patch_type(ct))?;
            let p: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))?;
            patch::apply(kind, "Scale", &mut scale, &p).map_err(|e| match e {
                patch::PatchError::Invalid(message) => ApiError::bad_request(message),
                patch::PatchError::Limit(limit) => ApiError::from(limit),
            })?;
        }
        _ => return Err(ApiError::method_not_allowed(format!("{method} is not supported on statefulsets/scale"))),
    }
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid("Scale", "autoscaling", name, vec![("FieldValueRequired", "spec.replicas", "Required value".to_owned())]))?;
    if replicas < 0 || replicas > i64::from(i32::MAX) {
        return Err(ApiError::invalid(
            "Scale",
            "autoscaling",
            name,
            vec![("FieldValueInvalid", "spec.replicas", format!("Invalid value: {replicas}: must be greater than or equal to 0"))],
        ));
    }
    if replicas > i64::from(cluster.config.limits.max_replicas) {
        return Err(crate::limits::replicas_invalid("Scale", "autoscaling", name, replicas, &cluster.config.limits));
    }
    let expected = scale.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|v| v.parse::<u64>().ok());
    if dry_run {
        return Ok(scale);
    }
    let updated = c.modify(ns, name, |s| {
        if *method == Method::PUT && expected.is_some_and(|e| Some(e.to_string()) != s.metadata.resource_version) {
            return Err(ApiError::conflict("statefulsets", "apps", name));
        }
        let spec = s.spec.get_or_insert_with(Default::default);
        if spec.replicas == Some(replicas as i32) {
            return Ok(false);
        }
        spec.replicas = Some(replicas as i32);
        s.metadata.generation = Some(s.metadata.generation.unwrap_or(1) + 1);
        Ok(true)
    })?;
    Ok(scale_of(updated.as_deref().unwrap_or(&sts)))
}
