//! The verbs on one kind, written once for every [`ApiKind`]: get, list (pages,
//! selectors), create, update, patch, delete, deletecollection, and `Table` rendering.
//! [`DynResource`] lets the router reach a kind by its URL plural.

use std::marker::PhantomData;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Endpoints, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::patch::{self, PatchKind};
use super::query::Params;
use crate::Cluster;
use crate::kinds::{ApiKind, name_of};
use crate::limits;
use crate::ops::{self, DeleteOptions, Propagation};
use crate::store::Object;

/// How a client asked to see objects: as JSON, or as a `meta.k8s.io/v1` Table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain objects and lists.
    Json,
    /// A Table, with row objects as `None`, `Metadata` or `Object`.
    Table(Include),
}

/// What a table row carries in `object`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

/// Discovery facts of a kind.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    /// URL plural, e.g. `pods`.
    pub plural: &'static str,
    /// Singular, e.g. `pod`.
    pub singular: &'static str,
    /// Kind, e.g. `Pod`.
    pub kind: &'static str,
    /// API group, `""` for core.
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
    /// Subresources.
    pub subresources: &'static [&'static str],
    /// Discovery categories.
    pub categories: &'static [&'static str],
}

/// The verbs of one kind, reachable without knowing its Rust type.
pub trait DynResource: Send + Sync {
    /// Discovery facts.
    fn info(&self) -> Info;
    /// GET on the collection: a `<Kind>List` or a `meta.k8s.io/v1` Table, as JSON.
    fn list(&self, cluster: &Cluster, ns: Option<&str>, params: &Params, format: Format) -> Result<Vec<u8>>;
    /// GET on one object.
    fn get(&self, cluster: &Cluster, ns: &str, name: &str, format: Format) -> Result<Value>;
    /// POST on the collection.
    fn create(&self, cluster: &Cluster, ns: Option<&str>, body: Value, dry_run: bool) -> Result<Value>;
    /// PUT on an object or its `status`.
    fn update(&self, cluster: &Cluster, ns: &str, name: &str, body: Value, status: bool, dry_run: bool) -> Result<Value>;
    /// PATCH on an object or its `status`.
    #[expect(clippy::too_many_arguments, reason = "one argument per part of the HTTP request, as the other verbs")]
    fn patch(&self, cluster: &Cluster, ns: &str, name: &str, kind: PatchKind, body: &Value, status: bool, dry_run: bool) -> Result<Value>;
    /// DELETE on an object.
    fn delete(&self, cluster: &Cluster, ns: &str, name: &str, opts: &DeleteOptions) -> Result<Value>;
    /// DELETE on the collection.
    fn delete_collection(&self, cluster: &Cluster, ns: Option<&str>, params: &Params, opts: &DeleteOptions) -> Result<Value>;
    /// Starts a watch; see [`super::watch`].
    fn watch(&self, cluster: Arc<Cluster>, ns: Option<String>, params: Params, format: Format) -> Result<super::watch::WatchBody>;
}

/// A [`DynResource`] for the kind `K`.
pub struct Typed<K>(PhantomData<fn() -> K>);

static NAMESPACES: Typed<Namespace> = Typed(PhantomData);
static NODES: Typed<Node> = Typed(PhantomData);
static PODS: Typed<Pod> = Typed(PhantomData);
static SERVICES: Typed<Service> = Typed(PhantomData);
static ENDPOINTS: Typed<Endpoints> = Typed(PhantomData);
static EVENTS: Typed<Event> = Typed(PhantomData);
static PVCS: Typed<PersistentVolumeClaim> = Typed(PhantomData);
static PVS: Typed<PersistentVolume> = Typed(PhantomData);
static SLICES: Typed<EndpointSlice> = Typed(PhantomData);
static CLASSES: Typed<StorageClass> = Typed(PhantomData);
static STATEFULSETS: Typed<StatefulSet> = Typed(PhantomData);
static REVISIONS: Typed<ControllerRevision> = Typed(PhantomData);

/// Every served kind.
pub fn all() -> [&'static dyn DynResource; 12] {
    [&NAMESPACES, &NODES, &PODS, &SERVICES, &ENDPOINTS, &EVENTS, &PVCS, &PVS, &SLICES, &CLASSES, &STATEFULSETS, &REVISIONS]
}

/// The kind served at `group`/`version` under `plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static dyn DynResource> {
    all().into_iter().find(|r| {
        let i = r.info();
        i.group == group && i.version == version && i.plural == plural
    })
}

/// Whether `obj` satisfies the request's label and field selectors.
pub fn selected<K: ApiKind>(obj: &K, params: &Params) -> Result<bool> {
    if !params.labels.matches(obj.metadata().labels.as_ref()) {
        return Ok(false);
    }
    for (field, want, equal) in &params.fields.0 {
        let have = match field.as_str() {
            "metadata.name" => Some(name_of(obj).to_owned()),
            "metadata.namespace" => Some(obj.metadata().namespace.clone().unwrap_or_default()),
            other => obj.field(other),
        };
        let Some(have) = have else {
            return Err(ApiError::bad_request(format!("field label not supported: {field}")));
        };
        if (have == *want) != *equal {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A `<Kind>List` written straight from each object's stored encoding, so a list of
/// thousands of objects is mostly copying rather than building a JSON tree.
fn json_list<K: ApiKind>(collection: &crate::store::Collection<K>, items: &[Arc<K>], meta: &Value) -> Vec<u8> {
    let encoded: Vec<_> = items.iter().map(|o| collection.json_of(o)).collect();
    let mut out = Vec::with_capacity(encoded.iter().map(|b| b.len() + 1).sum::<usize>() + 256);
    out.extend_from_slice(format!(r#"{{"kind":"{}List","apiVersion":"{}","metadata":"#, K::KIND, K::API_VERSION).as_bytes());
    out.extend_from_slice(meta.to_string().as_bytes());
    out.extend_from_slice(br#","items":["#);
    for (i, obj) in encoded.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(obj);
    }
    out.extend_from_slice(b"]}");
    out
}

fn to_json<K: Object>(obj: &K) -> Result<Value> {
    serde_json::to_value(obj).map_err(|e| ApiError::internal(format!("cannot encode object: {e}")))
}

/// Decodes a request body into `K`, with the API's messages for wrong kinds and fields.
pub fn decode<K: ApiKind>(mut body: Value) -> Result<K> {
    let Some(map) = body.as_object_mut() else {
        return Err(ApiError::bad_request("the body of the request must be a JSON or YAML object"));
    };
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != K::API_VERSION => {
            return Err(ApiError::bad_request(format!("the API version in the data ({v}) does not match the expected API version ({})", K::API_VERSION)));
        }
        _ => {}
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(k) if k != K::KIND => {
            return Err(ApiError::bad_request(format!("the kind in the data ({k}) does not match the expected kind ({})", K::KIND)));
        }
        _ => {}
    }
    map.insert("apiVersion".into(), json!(K::API_VERSION));
    map.insert("kind".into(), json!(K::KIND));
    serde_json::from_value(body).map_err(|e| ApiError::bad_request(format!("{} in body is invalid: {e}", K::KIND)))
}

/// Appends a row's `object` cell.
fn push_row_object<K: ApiKind>(out: &mut Vec<u8>, obj: &K, include: Include) -> Result<()> {
    let encoded = match include {
        Include::None => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        Include::Object => serde_json::to_writer(&mut *out, obj),
        Include::Metadata => {
            out.extend_from_slice(br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#);
            let written = serde_json::to_writer(&mut *out, obj.metadata());
            out.push(b'}');
            written
        }
    };
    encoded.map_err(|e| ApiError::internal(format!("cannot encode object: {e}")))
}

/// A `meta.k8s.io/v1` Table of `objs` as JSON, written straight into one buffer (no
/// JSON tree per row: a Table of 10,000 pods is what `kubectl get pods` asks for);
/// `headers` false leaves `columnDefinitions` empty (what watches send after their
/// first event).
pub fn table_json<K: ApiKind>(objs: &[Arc<K>], now: Timestamp, include: Include, headers: bool, rv: Option<u64>, cont: Option<String>) -> Result<Vec<u8>> {
    let columns: Vec<Value> = if headers { K::columns().into_iter().map(|c| c.to_json()).collect() } else { vec![] };
    let mut meta = json!({});
    if let Some(rv) = rv {
        meta["resourceVersion"] = json!(rv.to_string());
    }
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    let mut out = Vec::with_capacity(1024 + objs.len() * 512);
    out.extend_from_slice(br#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":"#);
    out.extend_from_slice(meta.to_string().as_bytes());
    out.extend_from_slice(br#","columnDefinitions":"#);
    out.extend_from_slice(Value::Array(columns).to_string().as_bytes());
    out.extend_from_slice(br#","rows":["#);
    for (i, obj) in objs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"cells":"#);
        serde_json::to_writer(&mut out, &obj.cells(now)).map_err(|e| ApiError::internal(format!("cannot encode cells: {e}")))?;
        out.extend_from_slice(br#","object":"#);
        push_row_object(&mut out, obj.as_ref(), include)?;
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// [`table_json`] as a JSON value, for a single object or a watch event.
pub fn table<K: ApiKind>(objs: &[Arc<K>], now: Timestamp, include: Include, headers: bool, rv: Option<u64>, cont: Option<String>) -> Result<Value> {
    let bytes = table_json(objs, now, include, headers, rv, cont)?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(format!("cannot encode table: {e}")))
}

fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    let raw = format!("{rv}\n{ns}\n{name}");
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> Result<(u64, String, String)> {
    let bad = || ApiError::bad_request("continue key is not valid: the token was not issued by this server");
    let bytes: Vec<u8> =
        (0..token.len()).step_by(2).map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect::<Option<_>>().ok_or_else(bad)?;
    let raw = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = raw.splitn(3, '\n');
    let rv = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let ns = parts.next().ok_or_else(bad)?.to_owned();
    let name = parts.next().ok_or_else(bad)?.to_owned();
    Ok((rv, ns, name))
}

/// The objects a list request selects: one page, its resourceVersion, and the
/// continue token for the next page.
pub fn select<K: ApiKind>(cluster: &Cluster, ns: Option<&str>, params: &Params) -> Result<(Vec<Arc<K>>, u64, Option<String>)> {
    let after = params.continue_token.as_deref().map(decode_continue).transpose()?;
    let mut items: Vec<Arc<K>> = Vec::new();
    let mut cont_at = None;
    let mut failed = None;
    // A page starts where the last one ended: a range of the index, not a scan from the start.
    let current_rv = K::collection(&cluster.store).scan(ns, after.as_ref().map(|(_, ns, name)| (ns.as_str(), name.as_str())), |obj| {
        match selected(obj.as_ref(), params) {
            Ok(true) => {}
            Ok(false) => return true,
            Err(e) => {
                failed = Some(e);
                return false;
            }
        }
        if params.limit.is_some_and(|l| items.len() >= l) {
            cont_at = items.last().map(|last| (last.metadata().namespace.clone().unwrap_or_default(), name_of(last.as_ref()).to_owned()));
            return false;
        }
        items.push(obj.clone());
        true
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let rv = after.as_ref().map_or(current_rv, |(rv, _, _)| *rv);
    let cont = cont_at.map(|(ns, name)| encode_continue(rv, &ns, &name));
    Ok((items, rv, cont))
}

/// Keeps the server-owned parts of `old` in an update: identity, creation, deletion
/// state, and the status (or everything but the status, for the status subresource).
fn carry_over<K: ApiKind>(old: &K, new: K, status_only: bool) -> Result<K> {
    let mut merged = if status_only {
        let mut base = to_json(old)?;
        base["status"] = to_json(&new)?.get("status").cloned().unwrap_or(Value::Null);
        serde_json::from_value(base).map_err(|e| ApiError::bad_request(format!("invalid status: {e}")))?
    } else {
        let mut v = to_json(&new)?;
        if let Some(s) = to_json(old)?.get("status") {
            v["status"] = s.clone();
        } else if let Some(m) = v.as_object_mut() {
            m.remove("status");
        }
        serde_json::from_value::<K>(v).map_err(|e| ApiError::bad_request(format!("invalid object: {e}")))?
    };
    let (om, nm) = (old.metadata(), merged.metadata_mut());
    nm.uid = om.uid.clone();
    nm.creation_timestamp = om.creation_timestamp.clone();
    nm.deletion_timestamp = om.deletion_timestamp.clone();
    nm.deletion_grace_period_seconds = om.deletion_grace_period_seconds;
    nm.namespace = om.namespace.clone();
    nm.generation = om.generation;
    nm.managed_fields = None;
    if !status_only && old.spec_json() != merged.spec_json() {
        merged.metadata_mut().generation = Some(om.generation.unwrap_or(1) + 1);
    }
    Ok(merged)
}

impl<K: ApiKind> Typed<K> {
    #[expect(clippy::too_many_arguments, reason = "the parts of a write request, passed through from update and patch")]
    fn write(&self, cluster: &Cluster, ns: &str, name: &str, new: K, status: bool, expected_rv: Option<u64>, dry_run: bool) -> Result<Value> {
        let c = K::collection(&cluster.store);
        let old = c.get(ns, name).ok_or_else(|| ApiError::not_found(K::URL_PATH_SEGMENT, K::GROUP, name))?;
        if name_of(&new) != name {
            return Err(ApiError::bad_request(format!("the name of the object ({}) does not match the name on the URL ({name})", name_of(&new))));
        }
        let merged = carry_over(old.as_ref(), new, status)?;
        if !status {
            merged.validate()?;
            merged.validate_update(old.as_ref())?;
        }
        admit(cluster, &merged)?;
        if dry_run {
            return to_json(&merged);
        }
        // Finalizers removed from an object being deleted may complete its deletion.
        let done = merged.metadata().deletion_timestamp.is_some() && merged.metadata().finalizers.as_deref().unwrap_or_default().is_empty() && K::KIND != "Pod";
        let stored = c.replace(merged, expected_rv).map_err(|e| ApiError::from_store(e, K::URL_PATH_SEGMENT, K::GROUP, name))?;
        if done {
            ops::finish_deletion(c, stored.as_ref());
        }
        to_json(stored.as_ref())
    }
}

/// The bounds every object an API client writes must keep: its size and, for a
/// StatefulSet, its replicas (see [`crate::limits`]).
fn admit<K: ApiKind>(cluster: &Cluster, obj: &K) -> Result<()> {
    limits::check_object_size(obj)?;
    limits::check_replicas(&cluster.config.limits, obj as &dyn std::any::Any)
}

/// [`admit`] for a new object, plus its namespace's quota for the kind.
fn admit_new<K: ApiKind>(cluster: &Cluster, ns: Option<&str>, obj: &K) -> Result<()> {
    admit(cluster, obj)?;
    let ns = if K::NAMESPACED { Some(ns.or(obj.metadata().namespace.as_deref()).unwrap_or("default")) } else { None };
    let existing = K::collection(&cluster.store).list(ns).0.len();
    Ok(limits::check_quota(&cluster.config.limits, K::URL_PATH_SEGMENT, name_of(obj), existing)?)
}

impl<K: ApiKind> DynResource for Typed<K> {
    fn info(&self) -> Info {
        Info {
            plural: K::URL_PATH_SEGMENT,
            singular: K::SINGULAR,
            kind: K::KIND,
            group: K::GROUP,
            version: K::VERSION,
            namespaced: K::NAMESPACED,
            short_names: K::SHORT_NAMES,
            subresources: K::SUBRESOURCES,
            categories: K::CATEGORIES,
        }
    }

    fn list(&self, cluster: &Cluster, ns: Option<&str>, params: &Params, format: Format) -> Result<Vec<u8>> {
        let (items, rv, cont) = select::<K>(cluster, ns, params)?;
        match format {
            Format::Table(include) => table_json(&items, cluster.clock.now(), include, true, Some(rv), cont),
            Format::Json => {
                let mut meta = json!({"resourceVersion": rv.to_string()});
                if let Some(c) = cont {
                    meta["continue"] = json!(c);
                }
                Ok(json_list::<K>(K::collection(&cluster.store), &items, &meta))
            }
        }
    }

    fn get(&self, cluster: &Cluster, ns: &str, name: &str, format: Format) -> Result<Value> {
        let obj = K::collection(&cluster.store).get(ns, name).ok_or_else(|| ApiError::not_found(K::URL_PATH_SEGMENT, K::GROUP, name))?;
        match format {
            Format::Table(include) => table(&[obj], cluster.clock.now(), include, true, None, None),
            Format::Json => to_json(obj.as_ref()),
        }
    }

    fn create(&self, cluster: &Cluster, ns: Option<&str>, body: Value, dry_run: bool) -> Result<Value> {
        let obj = decode::<K>(body)?;
        admit_new(cluster, ns, &obj)?;
        to_json(ops::create(cluster, ns, obj, dry_run)?.as_ref())
    }

    fn update(&self, cluster: &Cluster, ns: &str, name: &str, body: Value, status: bool, dry_run: bool) -> Result<Value> {
        let new = decode::<K>(body)?;
        let expected = new.metadata().resource_version.as_deref().and_then(|v| v.parse().ok());
        self.write(cluster, ns, name, new, status, expected, dry_run)
    }

    fn patch(&self, cluster: &Cluster, ns: &str, name: &str, kind: PatchKind, body: &Value, status: bool, dry_run: bool) -> Result<Value> {
        let c = K::collection(&cluster.store);
        let Some(old) = c.get(ns, name) else {
            if kind == PatchKind::Apply {
                // Server-side apply creates what is missing.
                let mut obj = decode::<K>(body.clone())?;
                obj.metadata_mut().name = Some(name.to_owned());
                admit_new(cluster, Some(ns).filter(|_| K::NAMESPACED), &obj)?;
                return to_json(ops::create(cluster, Some(ns).filter(|_| K::NAMESPACED), obj, dry_run)?.as_ref());
            }
            return Err(ApiError::not_found(K::URL_PATH_SEGMENT, K::GROUP, name));
        };
        let mut target = to_json(old.as_ref())?;
        patch::apply(kind, K::KIND, &mut target, body).map_err(|e| match e {
            patch::PatchError::Invalid(message) => ApiError { code: 422, reason: "Invalid", message, details: None },
            patch::PatchError::Limit(limit) => ApiError::from(limit),
        })?;
        let new = decode::<K>(target)?;
        let expected = body.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|v| v.parse().ok());
        self.write(cluster, ns, name, new, status, expected, dry_run)
    }

    fn delete(&self, cluster: &Cluster, ns: &str, name: &str, opts: &DeleteOptions) -> Result<Value> {
        to_json(ops::delete::<K>(cluster, ns, name, opts)?.as_ref())
    }

    fn delete_collection(&self, cluster: &Cluster, ns: Option<&str>, params: &Params, opts: &DeleteOptions) -> Result<Value> {
        let (items, rv, _) = select::<K>(cluster, ns, &Params { limit: None, continue_token: None, ..params.clone() })?;
        let mut deleted = Vec::new();
        for obj in items {
            let m = obj.metadata();
            match ops::delete::<K>(cluster, m.namespace.as_deref().unwrap_or_default(), name_of(obj.as_ref()), opts) {
                Ok(o) => deleted.push(to_json(o.as_ref())?),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json!({"kind": format!("{}List", K::KIND), "apiVersion": K::API_VERSION, "metadata": {"resourceVersion": rv.to_string()}, "items": deleted}))
    }

    fn watch(&self, cluster: Arc<Cluster>, ns: Option<String>, params: Params, format: Format) -> Result<super::watch::WatchBody> {
        super::watch::start::<K>(cluster, ns, params, format)
    }
}

/// Delete options from the query and an optional `DeleteOptions` body.
pub fn delete_options(params: &Params, body: Option<&Value>) -> Result<DeleteOptions> {
    let mut opts = DeleteOptions {
        grace_period: params.grace_period,
        propagation: params.propagation.as_deref().map(Propagation::parse).transpose()?.unwrap_or_default(),
        uid: None,
        dry_run: params.dry_run,
    };
    if let Some(b) = body {
        if let Some(g) = b.get("gracePeriodSeconds").and_then(Value::as_i64) {
            opts.grace_period = Some(g);
        }
        if let Some(p) = b.get("propagationPolicy").and_then(Value::as_str) {
            opts.propagation = Propagation::parse(p)?;
        } else if b.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
            opts.propagation = Propagation::Orphan;
        }
        if let Some(u) = b.pointer("/preconditions/uid").and_then(Value::as_str) {
            opts.uid = Some(u.to_owned());
        }
        if b.get("dryRun").and_then(Value::as_array).is_some_and(|d| d.iter().any(|x| x == "All")) {
            opts.dry_run = true;
        }
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = encode_continue(42, "default", "web-1");
        assert_eq!(decode_continue(&t).expect("decode"), (42, "default".into(), "web-1".into()));
        assert_eq!(decode_continue("zz").expect_err("garbage").code, 400);
        assert_eq!(decode_continue("4").expect_err("odd length").code, 400);
    }
}
