//! What one request may cost. A practice cluster is left running on a teacher's laptop
//! beside the dashboard, so every request is bounded, and going over a bound is a clear
//! 4xx `Status` worded like the real API server's, never a stall or an out-of-memory.
//!
//! | bound | value | answer |
//! | --- | --- | --- |
//! | request body | 3 MiB (the API server's default) | 413 |
//! | stored object, as JSON | 1.5 MiB (etcd's default request limit) | 413 |
//! | JSON patch operations | 10,000 (the API server's `maxJSONPatchOperations`) | 413 |
//! | bytes a JSON patch may `copy` | 3 MiB in all | 413 |
//! | JSON nesting | 128 levels (serde's limit) | 400 |
//! | objects of one kind per namespace | [`Limits::objects_per_namespace`] | 403 quota |
//! | StatefulSet replicas | [`Limits::max_replicas`] | 422 |
//!
//! Quotas apply to what API clients create; controllers (a StatefulSet creating its pods)
//! are bounded by the replicas cap instead.

use std::any::Any;

use k8s_openapi::api::apps::v1::StatefulSet;
use serde::Serialize;

use crate::api::error::ApiError;

/// Largest request body accepted, in bytes: the API server's default `MaxRequestBodyBytes`.
pub const MAX_REQUEST_BODY: usize = 3 * 1024 * 1024;
/// Largest object stored, serialized as JSON: etcd's default request size limit.
pub const MAX_OBJECT_BYTES: usize = 1536 * 1024;
/// Most operations one JSON patch may have (the API server's `maxJSONPatchOperations`).
pub const MAX_JSON_PATCH_OPS: usize = 10_000;
/// Most bytes the `copy` operations of one JSON patch may add in all.
pub const MAX_JSON_PATCH_COPY_BYTES: usize = MAX_REQUEST_BODY;

/// The limits a cluster's operator may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most `spec.replicas` a StatefulSet may ask for.
    pub max_replicas: i32,
    /// Most objects of one kind in one namespace that API clients may create (like a
    /// ResourceQuota's `count/<resource>`).
    pub objects_per_namespace: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_replicas: 10_000, objects_per_namespace: 1_000 }
    }
}

/// A bound that a request went over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The request body is larger than [`MAX_REQUEST_BODY`].
    #[error("Request entity too large: limit is {MAX_REQUEST_BODY}")]
    Body,
    /// The object would be larger than [`MAX_OBJECT_BYTES`].
    #[error("Request entity too large: the object is {size} bytes, the limit is {MAX_OBJECT_BYTES}")]
    Object {
        /// Its size as JSON.
        size: usize,
    },
    /// A JSON patch has more than [`MAX_JSON_PATCH_OPS`] operations.
    #[error("The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPS}, got {count}")]
    PatchOperations {
        /// How many it has.
        count: usize,
    },
    /// A JSON patch's `copy` operations would add more than [`MAX_JSON_PATCH_COPY_BYTES`].
    #[error("Unable to complete the copy, the accumulated size increase of copy is {size}, exceeding the limit {MAX_JSON_PATCH_COPY_BYTES}")]
    PatchCopies {
        /// Bytes copied so far, including the operation that went over.
        size: usize,
    },
    /// The namespace already holds as many objects of this kind as allowed.
    #[error(
        "{plural} \"{name}\" is forbidden: exceeded quota: practice-cluster, requested: count/{plural}=1, used: count/{plural}={used}, limited: count/{plural}={used}"
    )]
    Quota {
        /// The kind's URL plural, e.g. `services`.
        plural: &'static str,
        /// The object asked for.
        name: String,
        /// How many there are (the limit).
        used: usize,
    },
}

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        let (code, reason) = match e {
            LimitError::Quota { .. } => (403, "Forbidden"),
            _ => (413, "RequestEntityTooLarge"),
        };
        ApiError { code, reason, message: e.to_string(), details: None }
    }
}

/// Counts bytes without keeping them.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of `value` serialized as JSON.
pub fn json_size<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut count = ByteCount(0);
    // Writing to a counter cannot fail; a value that cannot serialize counts as empty.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Refuses an object larger than [`MAX_OBJECT_BYTES`].
pub fn check_object_size<T: Serialize>(obj: &T) -> Result<(), LimitError> {
    let size = json_size(obj);
    if size > MAX_OBJECT_BYTES { Err(LimitError::Object { size }) } else { Ok(()) }
}

/// Refuses a StatefulSet asking for more replicas than `limits` allow; other kinds pass.
pub fn check_replicas(limits: &Limits, obj: &dyn Any) -> Result<(), ApiError> {
    let Some(sts) = obj.downcast_ref::<StatefulSet>() else { return Ok(()) };
    let replicas = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if replicas <= limits.max_replicas {
        return Ok(());
    }
    let name = sts.metadata.name.as_deref().unwrap_or_default();
    Err(replicas_invalid("StatefulSet", "apps", name, i64::from(replicas), limits))
}

/// The 422 for `spec.replicas` above the cap, for a StatefulSet or its Scale.
pub fn replicas_invalid(kind: &str, group: &str, name: &str, replicas: i64, limits: &Limits) -> ApiError {
    ApiError::invalid(
        kind,
        group,
        name,
        vec![("FieldValueInvalid", "spec.replicas", format!("Invalid value: {replicas}: must be less than or equal to {}", limits.max_replicas))],
    )
}

/// Refuses a new object when its namespace already holds `existing` of its kind.
pub fn check_quota(limits: &Limits, plural: &'static str, name: &str, existing: usize) -> Result<(), LimitError> {
    if existing < limits.objects_per_namespace {
        return Ok(());
    }
    Err(LimitError::Quota { plural, name: name.to_owned(), used: limits.objects_per_namespace })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_count_the_json_bytes() {
        assert_eq!(json_size(&json!({"a": [1, 2]})), r#"{"a":[1,2]}"#.len());
        let big = json!({"data": "x".repeat(MAX_OBJECT_BYTES)});
        assert!(matches!(check_object_size(&big), Err(LimitError::Object { .. })));
        assert_eq!(check_object_size(&json!({"data": "x"})), Ok(()));
    }

    #[test]
    fn errors_read_like_the_api_servers() {
        let e = ApiError::from(LimitError::PatchOperations { count: 10_001 });
        assert_eq!((e.code, e.reason), (413, "RequestEntityTooLarge"));
        assert_eq!(e.message, "The allowed maximum operations in a JSON patch is 10000, got 10001");
        let limits = Limits { objects_per_namespace: 2, ..Limits::default() };
        let e = ApiError::from(check_quota(&limits, "services", "web", 2).expect_err("full"));
        assert_eq!((e.code, e.reason), (403, "Forbidden"));
        assert_eq!(
            e.message,
            "services \"web\" is forbidden: exceeded quota: practice-cluster, requested: count/services=1, used: count/services=2, limited: count/services=2"
        );
        assert_eq!(check_quota(&limits, "services", "web", 1), Ok(()));
    }

    #[test]
    fn replicas_above_the_cap_are_invalid() {
        let limits = Limits { max_replicas: 5, ..Limits::default() };
        let mut sts: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {
            "replicas": 6, "serviceName": "web", "selector": {}, "template": {}}}))
        .expect("a StatefulSet");
        let e = check_replicas(&limits, &sts).expect_err("over the cap");
        assert_eq!(e.code, 422);
        assert_eq!(e.message, "StatefulSet.apps \"web\" is invalid: spec.replicas: Invalid value: 6: must be less than or equal to 5");
        sts.spec.as_mut().expect("spec").replicas = Some(5);
        assert!(check_replicas(&limits, &sts).is_ok());
    }
}
