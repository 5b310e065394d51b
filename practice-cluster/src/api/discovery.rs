//! Discovery: `/version`, `/api`, `/apis`, per-group resource lists, and the small
//! OpenAPI v3 documents kubectl reads to decide that the server validates fields.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::resource::{Info, all};
use crate::Cluster;

/// `GET /version`.
pub fn version(cluster: &Cluster) -> Value {
    let minor = cluster.config.minor_version;
    json!({
        "major": "1",
        "minor": minor.to_string(),
        "emulationMajor": "1",
        "emulationMinor": minor.to_string(),
        "gitVersion": format!("v1.{minor}.4"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Group versions served, as `(group, version)`; core first. Only groups with
/// resources are listed: kubectl treats a listed group with no resources as a failed
/// discovery (`autoscaling/v1: received empty response`). The `scale` subresource names
/// its `autoscaling/v1` kind in its own entry, which is all kubectl scale needs.
fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gv: Vec<_> = all().iter().map(|r| (r.info().group, r.info().version)).collect();
    gv.sort();
    gv.dedup();
    gv
}

/// `GET /api`.
pub fn core_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}],
    })
}

fn group_json(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

/// `GET /apis`.
pub fn groups() -> Value {
    let groups: Vec<Value> = group_versions().into_iter().filter(|(g, _)| !g.is_empty()).map(|(g, v)| group_json(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/GROUP`, if served.
pub fn group(name: &str) -> Option<Value> {
    let (g, v) = group_versions().into_iter().find(|(g, _)| *g == name && !g.is_empty())?;
    let mut out = group_json(g, v);
    out["kind"] = json!("APIGroup");
    out["apiVersion"] = json!("v1");
    Some(out)
}

fn verbs_for(sub: &str) -> Vec<&'static str> {
    match sub {
        "status" | "scale" => vec!["get", "patch", "update"],
        "exec" | "proxy" => vec!["create", "delete", "get", "patch", "update"],
        "portforward" => vec!["create", "get"],
        _ => vec!["get"],
    }
}

/// `GET /api/v1` or `GET /apis/GROUP/VERSION`: the `APIResourceList`, if served.
pub fn resources(group: &str, version: &str) -> Option<Value> {
    if !group_versions().contains(&(group, version)) {
        return None;
    }
    let mut list = Vec::new();
    for r in all() {
        let i: Info = r.info();
        if i.group != group || i.version != version {
            continue;
        }
        let mut res = json!({
            "name": i.plural,
            "singularName": i.singular,
            "namespaced": i.namespaced,
            "kind": i.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        });
        if !i.short_names.is_empty() {
            res["shortNames"] = json!(i.short_names);
        }
        if !i.categories.is_empty() {
            res["categories"] = json!(i.categories);
        }
        list.push(res);
        for sub in i.subresources {
            let mut s = json!({
                "name": format!("{}/{sub}", i.plural),
                "singularName": "",
                "namespaced": i.namespaced,
                "kind": match *sub { "scale" => "Scale", "exec" => "PodExecOptions", "proxy" => "PodProxyOptions", "portforward" => "PodPortForwardOptions", "log" => "Pod", _ => i.kind },
                "verbs": verbs_for(sub),
            });
            if *sub == "scale" {
                s["group"] = json!("autoscaling");
                s["version"] = json!("v1");
            }
            list.push(s);
        }
    }
    let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}))
}

fn v3_key(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// `GET /openapi/v3`: where each group version's document is.
pub fn openapi_index() -> Value {
    let paths: BTreeMap<String, Value> = group_versions()
        .into_iter()
        .map(|(g, v)| {
            let key = v3_key(g, v);
            let url = format!("/openapi/v3/{key}?hash=practice");
            (key, json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// `GET /openapi/v3/api/v1` and the like: each object path's PATCH operation with its
/// group-version-kind and the `fieldValidation` parameter, which tells kubectl the
/// server validates fields itself (so `kubectl apply` needs no client-side schema).
pub fn openapi_group(key: &str) -> Option<Value> {
    let (group, version) = group_versions().into_iter().find(|(g, v)| v3_key(g, v) == key)?;
    let mut paths = serde_json::Map::new();
    for r in all() {
        let i = r.info();
        if i.group != group || i.version != version {
            continue;
        }
        let base = if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
        let path = if i.namespaced { format!("{base}/namespaces/{{namespace}}/{}/{{name}}", i.plural) } else { format!("{base}/{}/{{name}}", i.plural) };
        let op = json!({
            "x-kubernetes-group-version-kind": {"group": i.group, "version": i.version, "kind": i.kind},
            "x-kubernetes-action": "patch",
            "parameters": [
                {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            ],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(path, json!({"patch": op}));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("{group}/{version}")},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
