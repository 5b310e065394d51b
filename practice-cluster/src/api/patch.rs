//! Applying PATCH request bodies to Kubernetes objects held as [`serde_json::Value`].
//!
//! The API server accepts four patch formats, chosen by the request's
//! `Content-Type` (see [`PatchKind::from_content_type`]):
//!
//! - JSON patch (RFC 6902), applied with the `json-patch` crate;
//! - JSON merge patch (RFC 7386), applied with the `json-patch` crate;
//! - Kubernetes strategic merge patch, implemented here: lists of containers,
//!   env vars, volume mounts, ports, conditions, ... are merged by their
//!   merge key instead of being replaced, and the `$patch`, `$retainKeys`,
//!   `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`
//!   directives are honoured;
//! - server-side apply, approximated as a strategic merge patch of the applied
//!   configuration.
//!
//! [`apply`] never panics on malformed input: every problem with the patch is
//! returned as a human-readable message, and the target is left unchanged when
//! an error is returned.

use serde_json::{Map, Value};

use crate::limits::{self, LimitError, MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPS};

/// Why a patch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch is malformed or does not apply to the object.
    #[error("{0}")]
    Invalid(String),
    /// The patch would cost more than the cluster allows (see [`crate::limits`]).
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// The patch formats the API accepts, from the request's Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 6902 JSON patch: `application/json-patch+json`.
    Json,
    /// RFC 7386 JSON merge patch: `application/merge-patch+json`.
    Merge,
    /// Kubernetes strategic merge patch: `application/strategic-merge-patch+json`.
    Strategic,
    /// Server-side apply: `application/apply-patch+yaml` (applied as a strategic merge).
    Apply,
}

impl PatchKind {
    /// Every kind, in the order the API server lists them.
    pub const ALL: [PatchKind; 4] = [PatchKind::Json, PatchKind::Merge, PatchKind::Strategic, PatchKind::Apply];

    /// From a Content-Type header value (parameters such as `; charset=utf-8` ignored):
    /// application/json-patch+json, application/merge-patch+json,
    /// application/strategic-merge-patch+json, application/apply-patch+yaml. None otherwise.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let media_type = ct.split_once(';').map_or(ct, |(media_type, _)| media_type).trim();
        Self::ALL.into_iter().find(|kind| media_type.eq_ignore_ascii_case(kind.content_type()))
    }

    /// The media type that selects this kind, e.g. `application/merge-patch+json`.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchKind::Json => "application/json-patch+json",
            PatchKind::Merge => "application/merge-patch+json",
            PatchKind::Strategic => "application/strategic-merge-patch+json",
            PatchKind::Apply => "application/apply-patch+yaml",
        }
    }
}

/// Applies `patch` to `target` in place. `kind` is the object's Kubernetes kind
/// (e.g. "StatefulSet", "Pod", "Service") so strategic merge can pick list merge keys.
/// Errors are human-readable messages (the caller turns them into HTTP 400/422), or a
/// limit the patch went over (413).
///
/// On error `target` is left as it was.
pub fn apply(kind: PatchKind, object_kind: &str, target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    match kind {
        PatchKind::Json => apply_json_patch(target, patch),
        PatchKind::Merge => apply_merge_patch(target, patch).map_err(PatchError::Invalid),
        PatchKind::Strategic | PatchKind::Apply => apply_strategic_merge_patch(object_kind, target, patch).map_err(PatchError::Invalid),
    }
}

// ---------------------------------------------------------------------------
// JSON patch and JSON merge patch
// ---------------------------------------------------------------------------

/// RFC 6902: all operations apply, or none do. The number of operations and the bytes
/// `copy` operations add are bounded: a few dozen copies of a copy would otherwise
/// double the object until memory runs out.
fn apply_json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    if !patch.is_array() {
        return Err(PatchError::Invalid(format!("invalid JSON patch: expected an array of operations, got {}", type_name(patch))));
    }
    let operations: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|err| PatchError::Invalid(format!("invalid JSON patch: {err}")))?;
    if operations.len() > MAX_JSON_PATCH_OPS {
        return Err(LimitError::PatchOperations { count: operations.len() }.into());
    }
    // Patch a copy so that a failing operation leaves the target untouched.
    let mut patched = target.clone();
    let mut copied = 0usize;
    for (index, operation) in operations.iter().enumerate() {
        if let json_patch::PatchOperation::Copy(copy) = operation
            && let Some(from) = patched.pointer(copy.from.as_str())
        {
            copied = copied.saturating_add(limits::json_size(from));
            if copied > MAX_JSON_PATCH_COPY_BYTES {
                return Err(LimitError::PatchCopies { size: copied }.into());
            }
        }
        json_patch::patch_unsafe(&mut patched, std::slice::from_ref(operation)).map_err(|err| {
            PatchError::Invalid(format!("JSON patch operation {index} ({} {:?}) failed: {}", operation_name(operation), err.path.as_str(), err.kind))
        })?;
    }
    *target = patched;
    Ok(())
}

/// The `op` of a JSON patch operation, as written in the patch.
fn operation_name(op: &json_patch::PatchOperation) -> &'static str {
    match op {
        json_patch::PatchOperation::Add(_) => "add",
        json_patch::PatchOperation::Remove(_) => "remove",
        json_patch::PatchOperation::Replace(_) => "replace",
        json_patch::PatchOperation::Move(_) => "move",
        json_patch::PatchOperation::Copy(_) => "copy",
        json_patch::PatchOperation::Test(_) => "test",
    }
}

/// RFC 7386; the API server only accepts objects as merge patches.
fn apply_merge_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    if !patch.is_object() {
        return Err(format!("merge patch must be a JSON object, got {}", type_name(patch)));
    }
    json_patch::merge(target, patch);
    Ok(())
}

// ---------------------------------------------------------------------------
// Strategic merge patch
// ---------------------------------------------------------------------------

/// `"$patch": "replace" | "delete" | "merge"` on an object or list item.
const PATCH_DIRECTIVE: &str = "$patch";
/// `"$retainKeys": [..]`: keys of the object to keep after the merge.
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
/// `"$setElementOrder/<field>": [..]`: the wanted order of list `<field>`.
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder/";
/// `"$deleteFromPrimitiveList/<field>": [..]`: values to remove from list `<field>`.
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList/";

/// Deeper patches are refused rather than risking the stack (parsed request
/// bodies are far shallower than this).
const MAX_DEPTH: usize = 256;

/// Whether a patched field survives the merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The field keeps its (merged) value.
    Keep,
    /// The patch said `"$patch": "delete"`: the field goes.
    Delete,
}

/// How a list field is patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListStrategy {
    /// The patch's list replaces the object's list (the default).
    Replace,
    /// Items are objects merged by the value of this key.
    MergeByKey(&'static str),
    /// Items are primitives; the patch's items are added to the set.
    Union,
}

/// A `$patch` directive value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

/// The `$patch` directive of an object, if it has one.
fn directive_of(map: &Map<String, Value>, path: &[&str]) -> Result<Option<Directive>, String> {
    match map.get(PATCH_DIRECTIVE) {
        None => Ok(None),
        Some(Value::String(s)) if s == "merge" => Ok(Some(Directive::Merge)),
        Some(Value::String(s)) if s == "replace" => Ok(Some(Directive::Replace)),
        Some(Value::String(s)) if s == "delete" => Ok(Some(Directive::Delete)),
        Some(other) => Err(format!("invalid value {other} for {PATCH_DIRECTIVE} at {}: expected \"replace\", \"delete\" or \"merge\"", show_path(path))),
    }
}

/// Whether `key` is a strategic merge patch directive rather than a field.
fn is_directive_key(key: &str) -> bool {
    key == PATCH_DIRECTIVE || key == RETAIN_KEYS_DIRECTIVE || key.starts_with(SET_ELEMENT_ORDER_PREFIX) || key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
}

fn apply_strategic_merge_patch(object_kind: &str, target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(patch) = patch else {
        return Err(format!("strategic merge patch must be a JSON object, got {}", type_name(patch)));
    };
    let mut merged = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let merger = StrategicMerge { object_kind };
    if merger.merge_map(&mut merged, patch, &mut Vec::new(), 0)? == Outcome::Delete {
        merged.clear();
    }
    *target = Value::Object(merged);
    Ok(())
}

/// One strategic merge of a patch into an object of kind `object_kind`.
struct StrategicMerge<'a> {
    object_kind: &'a str,
}

impl StrategicMerge<'_> {
    /// Merges `patch` into `target`, an object reached through the fields `path`
    /// (list indices left out).
    fn merge_map<'p>(&self, target: &mut Map<String, Value>, patch: &'p Map<String, Value>, path: &mut Vec<&'p str>, depth: usize) -> Result<Outcome, String> {
        if depth > MAX_DEPTH {
            return Err(format!("patch is nested more than {MAX_DEPTH} levels deep"));
        }
        match directive_of(patch, path)? {
            Some(Directive::Delete) => return Ok(Outcome::Delete),
            Some(Directive::Replace) => target.clear(),
            Some(Directive::Merge) | None => {}
        }

        // Directives first: validate them all, and remove primitives before
        // the patch adds any.
        let mut retain_keys: Option<Vec<&str>> = None;
        let mut element_orders: Vec<(&str, &[Value])> = Vec::new();
        for (key, value) in patch {
            if key == RETAIN_KEYS_DIRECTIVE {
                retain_keys = Some(string_list(value, key, path)?);
            } else if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER_PREFIX) {
                element_orders.push((field, list(value, key, path)?));
            } else if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
                let doomed = list(value, key, path)?;
                if let Some(Value::Array(items)) = target.get_mut(field) {
                    items.retain(|item| !doomed.contains(item));
                }
            }
        }

        for (key, value) in patch {
            if is_directive_key(key) {
                continue;
            }
            if value.is_null() {
                target.remove(key);
                continue;
            }
            path.push(key);
            let outcome = match target.get_mut(key) {
                Some(existing) => self.merge_value(existing, value, path, depth + 1)?,
                None => {
                    let mut fresh = empty_like(value);
                    let outcome = self.merge_value(&mut fresh, value, path, depth + 1)?;
                    if outcome == Outcome::Keep {
                        target.insert(key.clone(), fresh);
                    }
                    outcome
                }
            };
            path.pop();
            if outcome == Outcome::Delete {
                target.remove(key);
            }
        }

        for (field, order) in element_orders {
            let strategy = self.list_strategy(path, field);
            if let Some(Value::Array(items)) = target.get_mut(field) {
                reorder(items, order, strategy);
            }
        }

        if let Some(keep) = retain_keys {
            target.retain(|key, _| keep.contains(&key.as_str()));
        }
        Ok(Outcome::Keep)
    }

    /// Merges `patch` into `target`, the value of the field that ends `path`.
    fn merge_value<'p>(&self, target: &mut Value, patch: &'p Value, path: &mut Vec<&'p str>, depth: usize) -> Result<Outcome, String> {
        match patch {
            Value::Object(patch_map) => {
                if !target.is_object() {
                    *target = Value::Object(Map::new());
                }
                match target {
                    Value::Object(target_map) => self.merge_map(target_map, patch_map, path, depth),
                    _ => Ok(Outcome::Keep),
                }
            }
            Value::Array(patch_items) => {
                if !target.is_array() {
                    *target = Value::Array(Vec::new());
                }
                let strategy = match path.split_last() {
                    Some((field, parent)) => self.list_strategy(parent, field),
                    None => ListStrategy::Replace,
                };
                if let Value::Array(target_items) = target {
                    self.merge_list(target_items, patch_items, strategy, path, depth)?;
                }
                Ok(Outcome::Keep)
            }
            primitive => {
                *target = primitive.clone();
                Ok(Outcome::Keep)
            }
        }
    }

    /// Merges the patch's list into the object's list for the field that ends `path`.
    fn merge_list<'p>(&self, target: &mut Vec<Value>, patch: &'p [Value], strategy: ListStrategy, path: &mut Vec<&'p str>, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("patch is nested more than {MAX_DEPTH} levels deep"));
        }
        // Special items: `{"$patch": "replace"}` replaces the whole list,
        // `{"$patch": "delete", <key>: v}` deletes the item with that key.
        let mut replace_all = false;
        let mut deletions: Vec<&Map<String, Value>> = Vec::new();
        let mut items: Vec<&'p Value> = Vec::with_capacity(patch.len());
        for item in patch {
            let directive = match item {
                Value::Object(map) => directive_of(map, path)?,
                _ => None,
            };
            match (directive, item) {
                (Some(Directive::Replace), _) => replace_all = true,
                (Some(Directive::Delete), Value::Object(map)) => deletions.push(map),
                _ => items.push(item),
            }
        }

        match strategy {
            ListStrategy::Replace => {
                target.clear();
                for item in items {
                    if let Some(value) = self.fresh_item(item, path, depth + 1)? {
                        target.push(value);
                    }
                }
            }
            ListStrategy::Union => {
                if replace_all {
                    target.clear();
                }
                for item in items {
                    if let Some(value) = self.fresh_item(item, path, depth + 1)?
                        && !target.contains(&value)
                    {
                        target.push(value);
                    }
                }
            }
            ListStrategy::MergeByKey(key) => {
                if replace_all {
                    target.clear();
                } else {
                    for deletion in deletions {
                        let Some(doomed) = deletion.get(key) else {
                            return Err(missing_merge_key(deletion, key, path));
                        };
                        target.retain(|existing| existing.get(key) != Some(doomed));
                    }
                }
                for item in items {
                    let Value::Object(map) = item else {
                        return Err(format!("list {} is merged by key {key:?}, so its items must be objects, got {}", show_path(path), type_name(item)));
                    };
                    let Some(wanted) = map.get(key) else {
                        return Err(missing_merge_key(map, key, path));
                    };
                    match target.iter_mut().find(|existing| existing.get(key) == Some(wanted)) {
                        Some(existing) => {
                            self.merge_value(existing, item, path, depth + 1)?;
                        }
                        None => {
                            let mut fresh = Value::Object(Map::new());
                            if self.merge_value(&mut fresh, item, path, depth + 1)? == Outcome::Keep {
                                target.push(fresh);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// An item of a replaced list as it is stored: nulls dropped from its
    /// objects and directives carried out. `None` if it deleted itself.
    fn fresh_item<'p>(&self, item: &'p Value, path: &mut Vec<&'p str>, depth: usize) -> Result<Option<Value>, String> {
        match item {
            Value::Object(patch_map) => {
                let mut map = Map::new();
                Ok(match self.merge_map(&mut map, patch_map, path, depth)? {
                    Outcome::Keep => Some(Value::Object(map)),
                    Outcome::Delete => None,
                })
            }
            Value::Array(patch_items) => {
                let mut items = Vec::with_capacity(patch_items.len());
                self.merge_list(&mut items, patch_items, ListStrategy::Replace, path, depth)?;
                Ok(Some(Value::Array(items)))
            }
            primitive => Ok(Some(primitive.clone())),
        }
    }

    /// How list `field` of the object reached through `parent` is patched,
    /// after the `patchStrategy`/`patchMergeKey` tags of the Kubernetes API types.
    fn list_strategy(&self, parent: &[&str], field: &str) -> ListStrategy {
        match field {
            "containers" | "initContainers" | "ephemeralContainers" | "env" | "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" => {
                ListStrategy::MergeByKey("name")
            }
            "volumeMounts" => ListStrategy::MergeByKey("mountPath"),
            "volumeDevices" => ListStrategy::MergeByKey("devicePath"),
            "conditions" => ListStrategy::MergeByKey("type"),
            "ownerReferences" => ListStrategy::MergeByKey("uid"),
            "hostAliases" | "podIPs" | "hostIPs" => ListStrategy::MergeByKey("ip"),
            "topologySpreadConstraints" => ListStrategy::MergeByKey("topologyKey"),
            "ports" => {
                let in_container = parent.iter().any(|f| matches!(*f, "containers" | "initContainers" | "ephemeralContainers"));
                if in_container {
                    ListStrategy::MergeByKey("containerPort")
                } else if self.object_kind == "Service" && parent == ["spec"] {
                    ListStrategy::MergeByKey("port")
                } else {
                    ListStrategy::Replace
                }
            }
            "finalizers" if parent.last() == Some(&"metadata") => ListStrategy::Union,
            _ => ListStrategy::Replace,
        }
    }
}

/// An empty value of the same shape as `patch`, for merging a new field into.
fn empty_like(patch: &Value) -> Value {
    match patch {
        Value::Object(_) => Value::Object(Map::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// Puts the items named in `order` first, in that order; the others follow
/// in their current relative order.
fn reorder(items: &mut Vec<Value>, order: &[Value], strategy: ListStrategy) {
    let same = |item: &Value, wanted: &Value| match strategy {
        ListStrategy::MergeByKey(key) => match (item.get(key), wanted.get(key)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        ListStrategy::Replace | ListStrategy::Union => item == wanted,
    };
    let mut remaining: Vec<Option<Value>> = std::mem::take(items).into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(remaining.len());
    for wanted in order {
        let slot = remaining.iter_mut().find(|slot| slot.as_ref().is_some_and(|item| same(item, wanted)));
        if let Some(item) = slot.and_then(Option::take) {
            ordered.push(item);
        }
    }
    ordered.extend(remaining.into_iter().flatten());
    *items = ordered;
}

/// The value of a list directive such as `$setElementOrder/containers`.
fn list<'v>(value: &'v Value, directive: &str, path: &[&str]) -> Result<&'v [Value], String> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(format!("{directive} at {} must be a list, got {}", show_path(path), type_name(other))),
    }
}

/// The value of `$retainKeys`: a list of field names.
fn string_list<'v>(value: &'v Value, directive: &str, path: &[&str]) -> Result<Vec<&'v str>, String> {
    list(value, directive, path)?
        .iter()
        .map(|item| item.as_str().ok_or_else(|| format!("{directive} at {} must be a list of strings, got an item {item}", show_path(path))))
        .collect()
}

fn missing_merge_key(item: &Map<String, Value>, key: &str, path: &[&str]) -> String {
    format!("item {} of list {} does not contain its merge key {key:?}", Value::Object(item.clone()), show_path(path))
}

/// `spec.template.spec.containers`, or `the object` for the top level.
fn show_path(path: &[&str]) -> String {
    if path.is_empty() { "the object".to_owned() } else { path.join(".") }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategic(kind: &str, mut target: Value, patch: Value) -> Value {
        apply(PatchKind::Strategic, kind, &mut target, &patch).expect("strategic merge patch applies");
        assert_no_directives(&target);
        target
    }

    fn strategic_err(kind: &str, target: Value, patch: Value) -> String {
        let mut patched = target.clone();
        let err = apply(PatchKind::Strategic, kind, &mut patched, &patch).expect_err("strategic merge patch is refused").to_string();
        assert_eq!(patched, target, "a failed patch leaves the target unchanged");
        err
    }

    fn assert_no_directives(value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    assert!(!is_directive_key(key), "directive {key} left in {value}");
                    assert_no_directives(child);
                }
            }
            Value::Array(items) => items.iter().for_each(assert_no_directives),
            _ => {}
        }
    }

    fn statefulset() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "labels": {"app": "nginx", "tier": "frontend"},
                "annotations": {"team": "storage"},
                "finalizers": ["example.com/protect"]
            },
            "spec": {
                "serviceName": "nginx",
                "replicas": 3,
                "podManagementPolicy": "OrderedReady",
                "selector": {"matchLabels": {"app": "nginx"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "nginx:1.25",
                                "args": ["--port", "80"],
                                "ports": [
                                    {"containerPort": 80, "name": "web"},
                                    {"containerPort": 9090, "name": "metrics"}
                                ],
                                "env": [
                                    {"name": "MODE", "value": "prod"},
                                    {"name": "LOG_LEVEL", "value": "info"}
                                ],
                                "volumeMounts": [
                                    {"name": "www", "mountPath": "/usr/share/nginx/html"}
                                ]
                            },
                            {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "infinity"]}
                        ],
                        "tolerations": [
                            {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": "web-config"}}]
                    }
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "www"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}
                    }
                }]
            },
            "status": {
                "replicas": 3,
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "Progressing", "status": "False"}
                ]
            }
        })
    }

    fn containers(object: &Value) -> &Value {
        &object["spec"]["template"]["spec"]["containers"]
    }

    fn names(list: &Value) -> Vec<&str> {
        list.as_array().map(|items| items.iter().filter_map(|item| item["name"].as_str()).collect()).unwrap_or_default()
    }

    // --- Content-Type --------------------------------------------------------

    #[test]
    fn content_types_select_patch_kinds() {
        let cases = [
            ("application/json-patch+json", Some(PatchKind::Json)),
            ("application/merge-patch+json", Some(PatchKind::Merge)),
            ("application/strategic-merge-patch+json", Some(PatchKind::Strategic)),
            ("application/apply-patch+yaml", Some(PatchKind::Apply)),
            ("application/merge-patch+json; charset=utf-8", Some(PatchKind::Merge)),
            ("  Application/Strategic-Merge-Patch+JSON ;charset=UTF-8", Some(PatchKind::Strategic)),
            ("application/json", None),
            ("application/yaml", None),
            ("text/plain", None),
            ("", None),
            (";", None),
        ];
        for (ct, expected) in cases {
            assert_eq!(PatchKind::from_content_type(ct), expected, "{ct:?}");
        }
        for kind in PatchKind::ALL {
            assert_eq!(PatchKind::from_content_type(kind.content_type()), Some(kind));
        }
    }

    // --- JSON patch ----------------------------------------------------------

    #[test]
    fn json_patch_add_replace_remove() {
        let mut sts = statefulset();
        let patch = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 5},
            {"op": "add", "path": "/metadata/labels/version", "value": "v2"},
            {"op": "add", "path": "/spec/template/spec/containers/0/env/-",
             "value": {"name": "DEBUG", "value": "1"}},
            {"op": "remove", "path": "/metadata/annotations/team"},
            {"op": "remove", "path": "/spec/template/spec/containers/1"},
            {"op": "test", "path": "/spec/serviceName", "value": "nginx"}
        ]);
        apply(PatchKind::Json, "StatefulSet", &mut sts, &patch).expect("JSON patch applies");
        assert_eq!(sts["spec"]["replicas"], json!(5));
        assert_eq!(sts["metadata"]["labels"]["version"], json!("v2"));
        assert_eq!(sts["metadata"]["annotations"], json!({}));
        assert_eq!(names(containers(&sts)), ["app"]);
        assert_eq!(names(&containers(&sts)[0]["env"]), ["MODE", "LOG_LEVEL", "DEBUG"]);
    }

    #[test]
    fn json_patch_move_and_copy() {
        let mut cm = json!({"kind": "ConfigMap", "data": {"a": "1"}});
        let patch = json!([
            {"op": "copy", "from": "/data/a", "path": "/data/b"},
            {"op": "move", "from": "/data/a", "path": "/data/c"}
        ]);
        apply(PatchKind::Json, "ConfigMap", &mut cm, &patch).expect("JSON patch applies");
        assert_eq!(cm["data"], json!({"b": "1", "c": "1"}));
    }

    #[test]
    fn json_patch_failed_test_names_operation_and_path_and_changes_nothing() {
        let original = statefulset();
        let mut sts = original.clone();
        let patch = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 10},
            {"op": "test", "path": "/spec/serviceName", "value": "other"}
        ]);
        let err = apply(PatchKind::Json, "StatefulSet", &mut sts, &patch).expect_err("test fails").to_string();
        assert!(err.contains("test"), "{err}");
        assert!(err.contains("/spec/serviceName"), "{err}");
        assert!(err.contains("operation 1"), "{err}");
        assert_eq!(sts, original, "earlier operations are rolled back");
    }

    #[test]
    fn json_patch_bombs_are_refused_and_change_nothing() {
        let original = json!({"metadata": {"name": "cm"}, "data": {"a": "x".repeat(1024)}});
        let mut doubling = vec![json!({"op": "add", "path": "/b", "value": [json!("x".repeat(1024))]})];
        for _ in 0..40 {
            doubling.push(json!({"op": "copy", "from": "/b", "path": "/b/-"}));
            doubling.push(json!({"op": "copy", "from": "/b", "path": "/c"}));
            doubling.push(json!({"op": "move", "from": "/c", "path": "/b"}));
        }
        let mut cm = original.clone();
        let err = apply(PatchKind::Json, "ConfigMap", &mut cm, &Value::Array(doubling)).expect_err("a copy bomb");
        assert!(matches!(err, PatchError::Limit(LimitError::PatchCopies { .. })), "{err}");
        assert_eq!(cm, original);

        let many = vec![json!({"op": "test", "path": "/metadata/name", "value": "cm"}); MAX_JSON_PATCH_OPS + 1];
        let err = apply(PatchKind::Json, "ConfigMap", &mut cm, &Value::Array(many)).expect_err("too many operations");
        assert_eq!(err, PatchError::Limit(LimitError::PatchOperations { count: MAX_JSON_PATCH_OPS + 1 }));
    }

    #[test]
    fn json_patch_remove_of_missing_path_fails() {
        let mut sts = statefulset();
        let patch = json!([{"op": "remove", "path": "/metadata/labels/missing"}]);
        let err = apply(PatchKind::Json, "StatefulSet", &mut sts, &patch).expect_err("remove fails").to_string();
        assert!(err.contains("remove"), "{err}");
        assert!(err.contains("/metadata/labels/missing"), "{err}");
        assert_eq!(sts, statefulset());

        let patch = json!([{"op": "remove", "path": "/spec/template/spec/containers/-"}]);
        let err = apply(PatchKind::Json, "StatefulSet", &mut sts, &patch).expect_err("remove fails").to_string();
        assert!(err.contains("remove"), "{err}");
    }

    #[test]
    fn json_patch_body_must_be_a_list_of_operations() {
        let mut sts = statefulset();
        for patch in [
            json!({"op": "add", "path": "/a", "value": 1}),
            json!([{"op": "frobnicate", "path": "/a"}]),
            json!([{"op": "add", "path": "no-leading-slash", "value": 1}]),
            json!([{"op": "add", "value": 1}]),
            json!("[]"),
            Value::Null,
        ] {
            let err = apply(PatchKind::Json, "StatefulSet", &mut sts, &patch).expect_err("bad JSON patch is refused").to_string();
            assert!(err.contains("invalid JSON patch"), "{err}");
        }
        assert_eq!(sts, statefulset());
    }

    // --- JSON merge patch ----------------------------------------------------

    #[test]
    fn merge_patch_merges_objects_and_null_deletes() {
        let mut sts = statefulset();
        let patch = json!({
            "metadata": {"labels": {"tier": null, "version": "v2"}, "annotations": null},
            "spec": {"replicas": 1, "template": {"spec": {"tolerations": []}}}
        });
        apply(PatchKind::Merge, "StatefulSet", &mut sts, &patch).expect("merge patch applies");
        assert_eq!(sts["metadata"]["labels"], json!({"app": "nginx", "version": "v2"}));
        assert!(sts["metadata"].get("annotations").is_none());
        assert_eq!(sts["spec"]["replicas"], json!(1));
        assert_eq!(sts["spec"]["template"]["spec"]["tolerations"], json!([]));
        assert_eq!(sts["spec"]["serviceName"], json!("nginx"));
    }

    #[test]
    fn merge_patch_replaces_lists_wholesale() {
        let mut sts = statefulset();
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x:1"}]}}}});
        apply(PatchKind::Merge, "StatefulSet", &mut sts, &patch).expect("merge patch applies");
        assert_eq!(containers(&sts), &json!([{"name": "only", "image": "x:1"}]));
    }

    #[test]
    fn merge_patch_must_be_an_object() {
        let mut sts = statefulset();
        for patch in [json!([]), json!("x"), json!(1), Value::Null] {
            let err = apply(PatchKind::Merge, "StatefulSet", &mut sts, &patch).expect_err("refused").to_string();
            assert!(err.contains("merge patch must be a JSON object"), "{err}");
        }
        assert_eq!(sts, statefulset());
    }

    // --- Strategic merge patch: maps -----------------------------------------

    #[test]
    fn kubectl_patch_sets_a_scalar() {
        let sts = strategic("StatefulSet", statefulset(), json!({"spec": {"podManagementPolicy": "Parallel"}}));
        let mut expected = statefulset();
        expected["spec"]["podManagementPolicy"] = json!("Parallel");
        assert_eq!(sts, expected);
    }

    #[test]
    fn kubectl_apply_last_applied_and_replicas() {
        let last_applied = r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web"},"spec":{"replicas":5}}"#;
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({
                "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
                "spec": {"replicas": 5}
            }),
        );
        assert_eq!(sts["spec"]["replicas"], json!(5));
        assert_eq!(sts["metadata"]["annotations"], json!({"team": "storage", "kubectl.kubernetes.io/last-applied-configuration": last_applied}));
        assert_eq!(containers(&sts), containers(&statefulset()));
    }

    #[test]
    fn null_deletes_keys() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"metadata": {"labels": {"tier": null}, "annotations": null}, "spec": {"updateStrategy": {"rollingUpdate": null}}}),
        );
        assert_eq!(sts["metadata"]["labels"], json!({"app": "nginx"}));
        assert!(sts["metadata"].get("annotations").is_none());
        assert_eq!(sts["spec"]["updateStrategy"], json!({"type": "RollingUpdate"}));
        // Deleting what is not there is fine.
        let again = strategic("StatefulSet", sts.clone(), json!({"metadata": {"annotations": null}}));
        assert_eq!(again, sts);
    }

    #[test]
    fn new_objects_drop_nulls_and_carry_out_directives() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {
                "nodeSelector": {"disktype": "ssd", "zone": null, "$patch": "merge"},
                "affinity": {"$patch": "delete"}
            }}}}),
        );
        let pod_spec = &sts["spec"]["template"]["spec"];
        assert_eq!(pod_spec["nodeSelector"], json!({"disktype": "ssd"}));
        assert!(pod_spec.get("affinity").is_none());
    }

    #[test]
    fn scalars_objects_and_lists_replace_each_other() {
        let target = json!({"kind": "ConfigMap", "data": {"a": "1"}, "extra": [1, 2]});
        let cm = strategic("ConfigMap", target, json!({"data": "text", "extra": {"b": 2}}));
        assert_eq!(cm, json!({"kind": "ConfigMap", "data": "text", "extra": {"b": 2}}));
        let cm = strategic("ConfigMap", cm, json!({"data": ["x"], "extra": 3}));
        assert_eq!(cm, json!({"kind": "ConfigMap", "data": ["x"], "extra": 3}));
    }

    #[test]
    fn patch_replace_directive_replaces_an_object() {
        let sts = strategic("StatefulSet", statefulset(), json!({"metadata": {"labels": {"$patch": "replace", "app": "web", "stale": null}}}));
        assert_eq!(sts["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(sts["metadata"]["annotations"], json!({"team": "storage"}));
    }

    #[test]
    fn patch_delete_directive_deletes_an_object() {
        let sts = strategic("StatefulSet", statefulset(), json!({"spec": {"updateStrategy": {"$patch": "delete"}, "replicas": 2}}));
        assert!(sts["spec"].get("updateStrategy").is_none());
        assert_eq!(sts["spec"]["replicas"], json!(2));
    }

    #[test]
    fn patch_directives_at_the_top_level() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}});
        let replaced = strategic("ConfigMap", cm.clone(), json!({"$patch": "replace", "apiVersion": "v1", "kind": "ConfigMap", "data": {"b": "2"}}));
        assert_eq!(replaced, json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"b": "2"}}));
        assert_eq!(strategic("ConfigMap", cm, json!({"$patch": "delete"})), json!({}));
    }

    #[test]
    fn retain_keys_drops_unlisted_fields() {
        let deployment = json!({
            "kind": "Deployment",
            "spec": {
                "replicas": 2,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
            }
        });
        let patched = strategic("Deployment", deployment, json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}));
        assert_eq!(patched["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(patched["spec"]["replicas"], json!(2));
    }

    #[test]
    fn retain_keys_in_a_merged_list_item() {
        // kubectl sends $retainKeys for volumes: switching a volume's source.
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {"volumes": [
                {"$retainKeys": ["name", "secret"], "name": "config", "secret": {"secretName": "web-secret"}}
            ]}}}}),
        );
        assert_eq!(sts["spec"]["template"]["spec"]["volumes"], json!([{"name": "config", "secret": {"secretName": "web-secret"}}]));
    }

    // --- Strategic merge patch: lists merged by key --------------------------

    #[test]
    fn kubectl_apply_set_element_order_and_container_image() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}],
                "containers": [{"image": "x:2", "name": "app"}]
            }}}}),
        );
        let app = &containers(&sts)[0];
        assert_eq!(app["name"], json!("app"));
        assert_eq!(app["image"], json!("x:2"));
        // Everything else about the container is kept.
        assert_eq!(app["ports"], containers(&statefulset())[0]["ports"]);
        assert_eq!(app["env"], containers(&statefulset())[0]["env"]);
        // Unlisted containers stay, after the listed ones.
        assert_eq!(names(containers(&sts)), ["app", "sidecar"]);
        assert!(sts["spec"]["template"]["spec"].get("$setElementOrder/containers").is_none());
    }

    #[test]
    fn containers_merge_by_name_and_new_ones_are_appended() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "sidecar", "image": "busybox:1.37"},
                {"name": "metrics", "image": "exporter:0.1", "ports": [{"containerPort": 9100}]}
            ]}}}}),
        );
        assert_eq!(names(containers(&sts)), ["app", "sidecar", "metrics"]);
        assert_eq!(containers(&sts)[0], containers(&statefulset())[0]);
        assert_eq!(containers(&sts)[1], json!({"name": "sidecar", "image": "busybox:1.37", "command": ["sleep", "infinity"]}));
        assert_eq!(containers(&sts)[2]["ports"], json!([{"containerPort": 9100}]));
    }

    #[test]
    fn containers_of_a_pod_merge_too() {
        let pod = json!({
            "kind": "Pod",
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [{"name": "app", "image": "nginx"}],
                "ephemeralContainers": [{"name": "debugger", "image": "busybox"}]
            }
        });
        let patched = strategic(
            "Pod",
            pod,
            json!({"spec": {
                "initContainers": [{"name": "init", "command": ["true"]}],
                "containers": [{"name": "app", "image": "nginx:2"}],
                "ephemeralContainers": [{"name": "debugger2", "image": "busybox"}]
            }}),
        );
        assert_eq!(patched["spec"]["initContainers"], json!([{"name": "init", "image": "busybox", "command": ["true"]}]));
        assert_eq!(patched["spec"]["containers"], json!([{"name": "app", "image": "nginx:2"}]));
        assert_eq!(names(&patched["spec"]["ephemeralContainers"]), ["debugger", "debugger2"]);
    }

    #[test]
    fn deleting_a_container_by_key() {
        let sts = strategic("StatefulSet", statefulset(), json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete", "name": "sidecar"}]}}}}));
        assert_eq!(names(containers(&sts)), ["app"]);
        assert_eq!(containers(&sts)[0], containers(&statefulset())[0]);

        // Deleting an item that is not there changes nothing.
        let again = strategic("StatefulSet", sts.clone(), json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete", "name": "sidecar"}]}}}}));
        assert_eq!(again, sts);
    }

    #[test]
    fn env_volume_mounts_and_container_ports_merge_by_key() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {"containers": [{
                "name": "app",
                "env": [
                    {"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "MODE", "$patch": "delete"},
                    {"name": "NEW", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                ],
                "volumeMounts": [
                    {"name": "www", "mountPath": "/usr/share/nginx/html", "readOnly": true},
                    {"name": "config", "mountPath": "/etc/nginx/conf.d"}
                ],
                "ports": [{"containerPort": 9090, "protocol": "TCP"}]
            }]}}}}),
        );
        let app = &containers(&sts)[0];
        assert_eq!(
            app["env"],
            json!([
                {"name": "LOG_LEVEL", "value": "debug"},
                {"name": "NEW", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            ])
        );
        assert_eq!(
            app["volumeMounts"],
            json!([
                {"name": "www", "mountPath": "/usr/share/nginx/html", "readOnly": true},
                {"name": "config", "mountPath": "/etc/nginx/conf.d"}
            ])
        );
        assert_eq!(
            app["ports"],
            json!([
                {"containerPort": 80, "name": "web"},
                {"containerPort": 9090, "name": "metrics", "protocol": "TCP"}
            ])
        );
        // Replace-strategy lists inside a merged container are replaced.
        assert_eq!(app["args"], json!(["--port", "80"]));
    }

    #[test]
    fn volumes_and_other_keyed_pod_lists() {
        let pod = json!({
            "kind": "Pod",
            "spec": {
                "volumes": [{"name": "data", "emptyDir": {}}],
                "imagePullSecrets": [{"name": "registry"}],
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
                "topologySpreadConstraints": [
                    {"topologyKey": "zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
                ],
                "containers": [{"name": "app", "volumeDevices": [{"name": "raw", "devicePath": "/dev/xvda"}]}]
            }
        });
        let patched = strategic(
            "Pod",
            pod,
            json!({"spec": {
                "volumes": [{"name": "cache", "emptyDir": {"medium": "Memory"}}],
                "imagePullSecrets": [{"name": "registry"}, {"name": "mirror"}],
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a", "b"]}],
                "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}],
                "containers": [{"name": "app", "volumeDevices": [{"name": "raw2", "devicePath": "/dev/xvdb"}]}]
            }}),
        );
        let spec = &patched["spec"];
        assert_eq!(names(&spec["volumes"]), ["data", "cache"]);
        assert_eq!(spec["imagePullSecrets"], json!([{"name": "registry"}, {"name": "mirror"}]));
        assert_eq!(spec["hostAliases"], json!([{"ip": "10.0.0.1", "hostnames": ["a", "b"]}]));
        assert_eq!(spec["topologySpreadConstraints"], json!([{"topologyKey": "zone", "maxSkew": 2, "whenUnsatisfiable": "DoNotSchedule"}]));
        assert_eq!(names(&spec["containers"][0]["volumeDevices"]), ["raw", "raw2"]);
    }

    #[test]
    fn status_conditions_merge_by_type() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"status": {"readyReplicas": 3, "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "True"}
            ]}}),
        );
        assert_eq!(
            sts["status"]["conditions"],
            json!([
                {"type": "Ready", "status": "True"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "True"}
            ])
        );
        assert_eq!(sts["status"]["replicas"], json!(3));
        assert_eq!(sts["status"]["readyReplicas"], json!(3));
    }

    #[test]
    fn owner_references_merge_by_uid() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "web-0", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u-1", "controller": true}
        ]}});
        let patched = strategic(
            "Pod",
            pod,
            json!({"metadata": {"ownerReferences": [
                {"uid": "u-1", "blockOwnerDeletion": true},
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "u-2"}
            ]}}),
        );
        assert_eq!(
            patched["metadata"]["ownerReferences"],
            json!([
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u-1",
                 "controller": true, "blockOwnerDeletion": true},
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "u-2"}
            ])
        );
    }

    #[test]
    fn service_ports_merge_by_port() {
        let svc = json!({"kind": "Service", "spec": {
            "selector": {"app": "nginx"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            "externalIPs": ["192.0.2.1"]
        }});
        let patched = strategic(
            "Service",
            svc,
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"name": "https", "port": 443}], "externalIPs": ["192.0.2.2"]}}),
        );
        assert_eq!(patched["spec"]["ports"], json!([{"name": "http", "port": 80, "targetPort": 9090}, {"name": "https", "port": 443}]));
        assert_eq!(patched["spec"]["externalIPs"], json!(["192.0.2.2"]));
    }

    #[test]
    fn endpoint_ports_are_replaced() {
        let slice = json!({"kind": "EndpointSlice", "ports": [{"name": "http", "port": 80}],
                           "endpoints": [{"addresses": ["10.0.0.1"]}]});
        let patched = strategic("EndpointSlice", slice, json!({"ports": [{"name": "https", "port": 443}]}));
        assert_eq!(patched["ports"], json!([{"name": "https", "port": 443}]));

        let endpoints = json!({"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]});
        let patched = strategic("Endpoints", endpoints, json!({"subsets": [{"addresses": [{"ip": "10.0.0.2"}], "ports": [{"port": 81}]}]}));
        assert_eq!(patched["subsets"], json!([{"addresses": [{"ip": "10.0.0.2"}], "ports": [{"port": 81}]}]));
    }

    #[test]
    fn patch_replace_item_replaces_a_keyed_list() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"$patch": "replace"},
                {"name": "solo", "image": "solo:1", "env": [{"name": "A", "value": null}]}
            ]}}}}),
        );
        assert_eq!(containers(&sts), &json!([{"name": "solo", "image": "solo:1", "env": [{"name": "A"}]}]));
    }

    #[test]
    fn patch_merge_item_is_an_ordinary_item() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "merge", "name": "app", "image": "x:3"}]}}}}),
        );
        assert_eq!(containers(&sts)[0]["image"], json!("x:3"));
        assert_eq!(names(containers(&sts)), ["app", "sidecar"]);
    }

    // --- Strategic merge patch: replaced lists and primitive lists -----------

    #[test]
    fn tolerations_are_replaced() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {"tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
            ]}}}}),
        );
        assert_eq!(
            sts["spec"]["template"]["spec"]["tolerations"],
            json!([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}])
        );
    }

    #[test]
    fn args_command_and_volume_claim_templates_are_replaced() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOncePod"]}}],
                "template": {"spec": {"containers": [
                    {"name": "app", "args": ["--port", "8080"]},
                    {"name": "sidecar", "command": ["sh"]}
                ]}}
            }}),
        );
        assert_eq!(sts["spec"]["volumeClaimTemplates"], json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOncePod"]}}]));
        assert_eq!(containers(&sts)[0]["args"], json!(["--port", "8080"]));
        assert_eq!(containers(&sts)[1]["command"], json!(["sh"]));
    }

    #[test]
    fn finalizers_are_unioned_and_deleted_from() {
        let sts = strategic("StatefulSet", statefulset(), json!({"metadata": {"finalizers": ["example.com/protect", "example.com/backup"]}}));
        assert_eq!(sts["metadata"]["finalizers"], json!(["example.com/protect", "example.com/backup"]));

        let sts = strategic("StatefulSet", sts, json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/protect"]}}));
        assert_eq!(sts["metadata"]["finalizers"], json!(["example.com/backup"]));

        // kubectl apply sends both when a finalizer is swapped for another.
        let sts = strategic(
            "StatefulSet",
            sts,
            json!({"metadata": {
                "$setElementOrder/finalizers": ["example.com/new", "example.com/backup"],
                "$deleteFromPrimitiveList/finalizers": ["example.com/gone"],
                "finalizers": ["example.com/new"]
            }}),
        );
        assert_eq!(sts["metadata"]["finalizers"], json!(["example.com/new", "example.com/backup"]));
    }

    #[test]
    fn namespace_spec_finalizers_are_replaced() {
        let ns = json!({"kind": "Namespace", "spec": {"finalizers": ["kubernetes"]}});
        let patched = strategic("Namespace", ns, json!({"spec": {"finalizers": ["other"]}}));
        assert_eq!(patched["spec"]["finalizers"], json!(["other"]));
    }

    #[test]
    fn set_element_order_alone_reorders() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}, {"name": "missing"}]
            }}}}),
        );
        assert_eq!(names(containers(&sts)), ["sidecar", "app"]);
        assert_eq!(containers(&sts)[1], containers(&statefulset())[0]);
    }

    #[test]
    fn set_element_order_with_new_and_unlisted_items() {
        let target = json!({"kind": "Pod", "spec": {"containers": [
            {"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}
        ]}});
        let patched = strategic(
            "Pod",
            target,
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "new"}, {"name": "c"}, {"name": "a"}],
                "containers": [{"name": "new", "image": "n"}, {"name": "a", "image": "a2"}]
            }}),
        );
        assert_eq!(names(&patched["spec"]["containers"]), ["new", "c", "a", "b", "d"]);
        assert_eq!(patched["spec"]["containers"][2], json!({"name": "a", "image": "a2"}));
    }

    #[test]
    fn set_element_order_nested_in_a_merged_item() {
        let sts = strategic(
            "StatefulSet",
            statefulset(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
                "containers": [{
                    "name": "app",
                    "$setElementOrder/env": [{"name": "LOG_LEVEL"}, {"name": "MODE"}],
                    "$setElementOrder/ports": [{"containerPort": 9090}, {"containerPort": 80}]
                }]
            }}}}),
        );
        let app = &containers(&sts)[0];
        assert_eq!(names(&app["env"]), ["LOG_LEVEL", "MODE"]);
        assert_eq!(app["ports"][0]["containerPort"], json!(9090));
        assert_eq!(app["ports"][1]["containerPort"], json!(80));
    }

    #[test]
    fn apply_is_treated_as_strategic_merge() {
        let mut sts = statefulset();
        let applied = json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 4,
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
            }
        });
        apply(PatchKind::Apply, "StatefulSet", &mut sts, &applied).expect("apply patch applies");
        assert_eq!(sts["spec"]["replicas"], json!(4));
        assert_eq!(containers(&sts)[0]["image"], json!("nginx:1.27"));
        assert_eq!(names(containers(&sts)), ["app", "sidecar"]);
        assert_eq!(sts["metadata"]["labels"], statefulset()["metadata"]["labels"]);
    }

    #[test]
    fn keys_that_only_look_like_directives_are_fields() {
        let crd = json!({"kind": "CustomResourceDefinition", "spec": {"schema": {"$ref": "#/a"}}});
        let patched = strategic("CustomResourceDefinition", crd, json!({"spec": {"schema": {"$ref": "#/b", "$schema": "draft-04"}}}));
        assert_eq!(patched["spec"]["schema"], json!({"$ref": "#/b", "$schema": "draft-04"}));
    }

    #[test]
    fn non_object_target_becomes_an_object() {
        let mut target = Value::Null;
        apply(PatchKind::Strategic, "ConfigMap", &mut target, &json!({"data": {"a": "1"}})).expect("patch applies");
        assert_eq!(target, json!({"data": {"a": "1"}}));
    }

    // --- Strategic merge patch: errors ---------------------------------------

    #[test]
    fn strategic_patch_must_be_an_object() {
        for patch in [json!([]), json!("spec"), json!(3), Value::Null] {
            let err = strategic_err("StatefulSet", statefulset(), patch);
            assert!(err.contains("must be a JSON object"), "{err}");
        }
    }

    #[test]
    fn invalid_directives_are_refused() {
        let cases = [
            json!({"spec": {"$patch": "explode"}}),
            json!({"spec": {"$patch": 1}}),
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "bogus", "name": "app"}]}}}}),
            json!({"spec": {"$retainKeys": "replicas"}}),
            json!({"spec": {"$retainKeys": ["replicas", 3]}}),
            json!({"spec": {"$setElementOrder/volumeClaimTemplates": {"name": "www"}}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "example.com/protect"}}),
        ];
        for patch in cases {
            let err = strategic_err("StatefulSet", statefulset(), patch.clone());
            assert!(err.contains('$'), "{patch}: {err}");
        }
    }

    #[test]
    fn keyed_list_items_need_their_merge_key() {
        let err = strategic_err("StatefulSet", statefulset(), json!({"spec": {"replicas": 9, "template": {"spec": {"containers": [{"image": "x:2"}]}}}}));
        assert!(err.contains("\"name\""), "{err}");
        assert!(err.contains("spec.template.spec.containers"), "{err}");

        let err = strategic_err("StatefulSet", statefulset(), json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}));
        assert!(err.contains("merge key"), "{err}");

        let err = strategic_err("StatefulSet", statefulset(), json!({"spec": {"template": {"spec": {"containers": ["app"]}}}}));
        assert!(err.contains("must be objects"), "{err}");
    }

    #[test]
    fn absurdly_deep_patches_are_refused_without_panicking() {
        let mut patch = json!({"leaf": 1});
        for _ in 0..(MAX_DEPTH + 10) {
            patch = json!({"nested": patch});
        }
        let err = strategic_err("ConfigMap", json!({"kind": "ConfigMap"}), patch);
        assert!(err.contains("nested"), "{err}");

        let mut patch = json!([1]);
        for _ in 0..(MAX_DEPTH + 10) {
            patch = json!([patch]);
        }
        let err = strategic_err("ConfigMap", json!({"kind": "ConfigMap"}), json!({"data": patch}));
        assert!(err.contains("nested"), "{err}");
    }

    #[test]
    fn odd_but_valid_inputs_do_not_panic() {
        let patches = [
            json!({"spec": {"template": {"spec": {"containers": []}}}}),
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}]}}}}),
            json!({"spec": {"template": {"spec": {"containers": null}}}}),
            json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [1, "x", null, {}]}}}}),
            json!({"spec": {"template": {"spec": {"$setElementOrder/missing": [{"name": "x"}]}}}}),
            json!({"spec": {"$retainKeys": []}}),
            json!({"metadata": {"finalizers": [{"$patch": "delete"}, null, 1]}}),
            json!({"spec": {"template": {"spec": {"tolerations": [{"$patch": "delete"}, [null, {"a": null}]]}}}}),
            json!({"status": {"conditions": "Ready"}}),
            json!({"spec": {"replicas": {"$patch": "replace"}}}),
            json!({}),
        ];
        for patch in patches {
            let mut target = statefulset();
            let result = apply(PatchKind::Strategic, "StatefulSet", &mut target, &patch);
            if result.is_ok() {
                assert_no_directives(&target);
            }
        }
        let sts = strategic("StatefulSet", statefulset(), json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}]}}}}));
        assert_eq!(containers(&sts), &json!([]));
    }
}
