//! The kinds the practice cluster serves, and what the API layer needs to know of each:
//! discovery facts (plural, short names, scope, subresources), defaulting on create,
//! validation on update, field selectors and the `kubectl get` table columns.

mod core;
mod workloads;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::Cluster;
use crate::api::error::ApiError;
use crate::printers::human_age;
use crate::store::{Collection, Object, Store};

/// One column of a `meta.k8s.io/v1` Table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Header as kubectl prints it (upper-cased by kubectl).
    pub name: &'static str,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean`.
    pub ty: &'static str,
    /// OpenAPI format, e.g. `name` for the NAME column.
    pub format: &'static str,
    /// What the column means.
    pub description: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    pub priority: u8,
}

impl Column {
    /// A string column shown by default.
    pub const fn text(name: &'static str, description: &'static str) -> Self {
        Column { name, ty: "string", format: "", description, priority: 0 }
    }

    /// A string column shown only with `-o wide`.
    pub const fn wide(name: &'static str, description: &'static str) -> Self {
        Column { name, ty: "string", format: "", description, priority: 1 }
    }

    /// An integer column shown by default.
    pub const fn integer(name: &'static str, description: &'static str) -> Self {
        Column { name, ty: "integer", format: "", description, priority: 0 }
    }

    /// The NAME column every table starts with.
    pub const NAME: Column = Column { name: "Name", ty: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 };

    /// The AGE column.
    pub const AGE: Column = Column::text("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.");

    /// The column as it appears in `columnDefinitions`.
    pub fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// A kind served over the API.
pub trait ApiKind: Object {
    /// Lower-case singular name, e.g. `pod`.
    const SINGULAR: &'static str;
    /// kubectl short names, e.g. `po`.
    const SHORT_NAMES: &'static [&'static str];
    /// Whether objects live in a namespace.
    const NAMESPACED: bool;
    /// Subresources served under the object, e.g. `status`, `scale`, `exec`.
    const SUBRESOURCES: &'static [&'static str] = &[];
    /// Discovery categories (`all` makes `kubectl get all` include the kind).
    const CATEGORIES: &'static [&'static str] = &[];

    /// This kind's collection in the store.
    fn collection(store: &Store) -> &Collection<Self>;

    /// Table columns for `kubectl get`.
    fn columns() -> Vec<Column> {
        vec![Column::NAME, Column::AGE]
    }

    /// One table row's cells, in the order of [`ApiKind::columns`].
    fn cells(&self, now: Timestamp) -> Vec<Value> {
        vec![json!(name_of(self)), json!(age_of(self.metadata(), now))]
    }

    /// Kind-specific field-selector fields (beyond `metadata.name`/`metadata.namespace`).
    fn field(&self, _path: &str) -> Option<String> {
        None
    }

    /// Fills defaults on create, as the API server's defaulting and admission would.
    fn default_on_create(&mut self, _cluster: &Cluster) {}

    /// Checks an object about to be created or stored.
    fn validate(&self) -> Result<(), ApiError> {
        Ok(())
    }

    /// Checks an update against the stored object (immutable fields).
    fn validate_update(&self, _old: &Self) -> Result<(), ApiError> {
        Ok(())
    }

    /// The object's `spec`, if it has one, to bump `metadata.generation` when it changes.
    fn spec_json(&self) -> Option<Value> {
        None
    }
}

/// The object's name, or `""`.
pub fn name_of<K: Object>(obj: &K) -> &str {
    obj.metadata().name.as_deref().unwrap_or_default()
}

/// The object's namespace, or `""`.
pub fn namespace_of<K: Object>(obj: &K) -> &str {
    obj.metadata().namespace.as_deref().unwrap_or_default()
}

/// The AGE cell: time since creation as kubectl prints it.
pub fn age_of(meta: &ObjectMeta, now: Timestamp) -> String {
    match &meta.creation_timestamp {
        Some(t) => human_age(now.duration_since(t.0)),
        None => "<unknown>".to_owned(),
    }
}

/// Calls `$body` with `$c` bound to each collection of the store, as `&Collection<_>`.
#[macro_export]
macro_rules! for_each_collection {
    ($store:expr, |$c:ident| $body:expr) => {{
        let s = &$store;
        {
            let $c = &s.namespaces;
            $body;
        }
        {
            let $c = &s.nodes;
            $body;
        }
        {
            let $c = &s.pods;
            $body;
        }
        {
            let $c = &s.services;
            $body;
        }
        {
            let $c = &s.endpoints;
            $body;
        }
        {
            let $c = &s.events;
            $body;
        }
        {
            let $c = &s.pvcs;
            $body;
        }
        {
            let $c = &s.pvs;
            $body;
        }
        {
            let $c = &s.endpoint_slices;
            $body;
        }
        {
            let $c = &s.storage_classes;
            $body;
        }
        {
            let $c = &s.statefulsets;
            $body;
        }
        {
            let $c = &s.controller_revisions;
            $body;
        }
    }};
}
