//! Object operations with the API server's semantics, shared by the HTTP API and the
//! controllers: create (naming, uid, defaulting, validation) and delete (graceful pod
//! termination, finalizers, and Background / Foreground / Orphan propagation).

use std::sync::Arc;

use jiff::SignedDuration;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::Cluster;
use crate::api::error::ApiError;
use crate::kinds::{ApiKind, name_of};
use crate::store::{Collection, Object, StoreError};

/// The finalizer that holds an owner until its dependents are gone.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// The finalizer that holds an owner while its dependents are released.
pub const ORPHAN_FINALIZER: &str = "orphan";

/// How dependents of a deleted object are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Propagation {
    /// Delete the owner now; the garbage collector deletes dependents afterwards.
    #[default]
    Background,
    /// Delete dependents first; the owner stays (with `deletionTimestamp`) until then.
    Foreground,
    /// Keep dependents, removing their ownerReferences to the owner.
    Orphan,
}

impl Propagation {
    /// Parses the API's spelling.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "Background" => Ok(Propagation::Background),
            "Foreground" => Ok(Propagation::Foreground),
            "Orphan" => Ok(Propagation::Orphan),
            other => Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }
}

/// Options of a delete.
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`; pods only.
    pub grace_period: Option<i64>,
    /// What happens to dependents.
    pub propagation: Propagation,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `dryRun=All`: check only.
    pub dry_run: bool,
}

/// Five characters from Kubernetes' name-suffix alphabet (no vowels, no look-alikes).
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = uuid::Uuid::new_v4().as_u128();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u128) as usize] as char;
            n /= ALPHABET.len() as u128;
            c
        })
        .collect()
}

/// Whether `name` is a valid DNS-1123 subdomain, the rule for most object names.
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Creates `obj` in `namespace` (ignored for cluster-scoped kinds) with the API server's
/// create semantics. With `dry_run`, returns what would be stored without storing it.
pub fn create<K: ApiKind>(cluster: &Cluster, namespace: Option<&str>, mut obj: K, dry_run: bool) -> Result<Arc<K>, ApiError> {
    let now = cluster.clock.now();
    let meta = obj.metadata_mut();
    if K::NAMESPACED {
        let ns = namespace.map(str::to_owned).or_else(|| meta.namespace.clone()).unwrap_or_else(|| "default".to_owned());
        if meta.namespace.as_deref().is_some_and(|n| n != ns) {
            return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
        }
        if cluster.store.namespaces.get("", &ns).is_none() {
            return Err(ApiError::not_found("namespaces", "", &ns));
        }
        if cluster.store.namespaces.get("", &ns).is_some_and(|n| n.metadata.deletion_timestamp.is_some()) {
            return Err(ApiError {
                code: 403,
                reason: "Forbidden",
                message: format!("unable to create new content in namespace {ns} because it is being terminated"),
                details: None,
            });
        }
        meta.namespace = Some(ns);
    } else {
        meta.namespace = None;
    }
    if meta.name.as_deref().unwrap_or_default().is_empty() {
        match meta.generate_name.as_deref() {
            Some(prefix) if !prefix.is_empty() => meta.name = Some(format!("{prefix}{}", random_suffix())),
            _ => {
                return Err(ApiError::invalid(
                    K::KIND,
                    K::GROUP,
                    "",
                    vec![("FieldValueRequired", "metadata.name", "Required value: name or generateName is required".to_owned())],
                ));
            }
        }
    }
    let name = meta.name.clone().unwrap_or_default();
    if !is_dns_subdomain(&name) {
        return Err(ApiError::invalid(
            K::KIND,
            K::GROUP,
            &name,
            vec![(
                "FieldValueInvalid",
                "metadata.name",
                format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                ),
            )],
        ));
    }
    meta.uid = Some(uuid::Uuid::new_v4().to_string());
    meta.creation_timestamp = Some(Time(now));
    meta.resource_version = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.managed_fields = None;
    obj.default_on_create(cluster);
    if obj.spec_json().is_some() {
        obj.metadata_mut().generation = Some(1);
    }
    obj.validate()?;
    let ns = obj.metadata().namespace.clone().unwrap_or_default();
    if dry_run {
        if K::collection(&cluster.store).get(&ns, &name).is_some() {
            return Err(ApiError::already_exists(K::URL_PATH_SEGMENT, K::GROUP, &name));
        }
        return Ok(Arc::new(obj));
    }
    K::collection(&cluster.store).create(obj).map_err(|e| ApiError::from_store(e, K::URL_PATH_SEGMENT, K::GROUP, &name))
}

/// Removes the ownerReferences pointing at `owner_uid` from every object of `c`.
pub fn orphan_dependents<K: Object>(c: &Collection<K>, owner_uid: &str) {
    for obj in c.list(None).0 {
        let refs = obj.metadata().owner_references.as_deref().unwrap_or_default();
        if !refs.iter().any(|r| r.uid == owner_uid) {
            continue;
        }
        let m = obj.metadata();
        let (ns, name) = (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
        let _: Result<_, StoreError> = c.modify(&ns, &name, |o| {
            let refs = o.metadata_mut().owner_references.get_or_insert_with(Vec::new);
            refs.retain(|r| r.uid != owner_uid);
            if refs.is_empty() {
                o.metadata_mut().owner_references = None;
            }
            Ok(true)
        });
    }
}

/// How long a pod's containers get to stop, or `None` for an immediate removal.
fn pod_grace(obj: &dyn std::any::Any, requested: Option<i64>) -> Option<i64> {
    let pod = obj.downcast_ref::<k8s_openapi::api::core::v1::Pod>()?;
    let spec = pod.spec.as_ref()?;
    // Unscheduled or finished pods have nothing to stop.
    spec.node_name.as_ref()?;
    if matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")) {
        return None;
    }
    let grace = requested.unwrap_or_else(|| spec.termination_grace_period_seconds.unwrap_or(30)).max(0);
    (grace > 0).then_some(grace)
}

/// Deletes `namespace/name` with the API server's semantics and returns the object's
/// last state (still present while it terminates or waits for finalizers).
pub fn delete<K: ApiKind>(cluster: &Cluster, namespace: &str, name: &str, opts: &DeleteOptions) -> Result<Arc<K>, ApiError> {
    let c = K::collection(&cluster.store);
    let current = c.get(namespace, name).ok_or_else(|| ApiError::not_found(K::URL_PATH_SEGMENT, K::GROUP, name))?;
    let uid = current.metadata().uid.clone().unwrap_or_default();
    if let Some(want) = &opts.uid
        && *want != uid
    {
        return Err(ApiError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {want}, UID in object meta: {uid}",
                K::URL_PATH_SEGMENT
            ),
            details: None,
        });
    }
    if opts.dry_run {
        return Ok(current);
    }
    let now = cluster.clock.now();
    let grace = pod_grace(current.as_ref() as &dyn std::any::Any, opts.grace_period);
    if opts.propagation == Propagation::Orphan {
        if grace.is_none() {
            // As the API server does, the owner is first marked as being deleted (with
            // the `orphan` finalizer), so a controller running meanwhile does not adopt
            // the released dependents back before the owner is gone.
            let _: Result<_, StoreError> = c.modify(namespace, name, |o| {
                let m = o.metadata_mut();
                m.deletion_timestamp.get_or_insert(Time(now));
                m.finalizers.get_or_insert_with(Vec::new).push(ORPHAN_FINALIZER.to_owned());
                Ok(true)
            });
        }
        crate::for_each_collection!(cluster.store, |coll| orphan_dependents(coll, &uid));
    }
    let has_finalizers = !current.metadata().finalizers.as_deref().unwrap_or_default().is_empty();
    let foreground = opts.propagation == Propagation::Foreground;
    if grace.is_none() && !has_finalizers && !foreground {
        return Ok(c.remove_uid(namespace, name, &uid).unwrap_or(current));
    }
    let updated = c.modify(namespace, name, |o| {
        let m = o.metadata_mut();
        let mut changed = false;
        if foreground {
            let f = m.finalizers.get_or_insert_with(Vec::new);
            if !f.iter().any(|x| x == FOREGROUND_FINALIZER) {
                f.push(FOREGROUND_FINALIZER.to_owned());
                changed = true;
            }
        }
        let grace = grace.unwrap_or(0);
        let deadline = now.checked_add(SignedDuration::from_secs(grace)).unwrap_or(now);
        match &m.deletion_timestamp {
            // A second delete may only shorten the grace period.
            Some(t) if t.0 <= deadline => {}
            _ => {
                m.deletion_timestamp = Some(Time(deadline));
                m.deletion_grace_period_seconds = Some(grace);
                changed = true;
            }
        }
        Ok::<bool, ApiError>(changed)
    })?;
    Ok(updated.unwrap_or(current))
}

/// Removes an object whose deletion has finished (containers stopped, finalizers gone).
pub fn finish_deletion<K: Object>(c: &Collection<K>, obj: &K) -> bool {
    let m = obj.metadata();
    let ns = m.namespace.clone().unwrap_or_default();
    let uid = m.uid.clone().unwrap_or_default();
    c.remove_uid(&ns, name_of(obj), &uid).is_some()
}
