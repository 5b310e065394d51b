//! The seam between the UI and the cluster: the server crate implements [`Backend`]
//! with kube-rs and provides it as Leptos context; server functions call it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::model::{ActionReport, Snapshot};

/// A boxed future returned by [`Backend`] actions.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the UI needs from the server side.
pub trait Backend: Send + Sync + 'static {
    /// The current view of `statefulset` (or of the default one when `None`).
    fn snapshot(&self, statefulset: Option<String>) -> Snapshot;
    /// Deletes pod `pod` of StatefulSet `statefulset`; refuses pods of other owners.
    fn delete_pod(&self, statefulset: String, pod: String) -> BoxFuture<Result<ActionReport, String>>;
    /// Switches `spec.podManagementPolicy` by orphan-delete and re-create.
    fn set_policy(&self, statefulset: String, policy: String) -> BoxFuture<Result<ActionReport, String>>;
    /// Sets `spec.replicas`.
    fn scale(&self, statefulset: String, replicas: i32) -> BoxFuture<Result<ActionReport, String>>;
}

/// How the backend is shared through Leptos context.
pub type SharedBackend = Arc<dyn Backend>;
