//! The seam between the UI and the cluster: the server crate implements [`Backend`]
//! with kube-rs and provides it as Leptos context; server functions call it.
//!
//! Who may call the actions is decided before they get here: the server lets only the
//! presenter's requests reach them (see the server's `access` module).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::ActionError;
use crate::model::{ActionReport, Narration, OrderingChart, Role, Snapshot};

/// A boxed future returned by [`Backend`] actions.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What an action returns.
pub type ActionResult = BoxFuture<Result<ActionReport, ActionError>>;

/// What the UI needs from the server side.
pub trait Backend: Send + Sync + 'static {
    /// The current view of `statefulset` (or of the default one when `None`).
    fn snapshot(&self, statefulset: Option<String>) -> Result<Snapshot, ActionError>;
    /// Deletes pod `pod` of StatefulSet `statefulset`; refuses pods of other owners.
    fn delete_pod(&self, statefulset: String, pod: String) -> ActionResult;
    /// Switches `spec.podManagementPolicy` by orphan-delete and re-create.
    fn set_policy(&self, statefulset: String, policy: String) -> ActionResult;
    /// Sets `spec.replicas` (the text as sent: the backend validates it).
    fn scale(&self, statefulset: String, replicas: String) -> ActionResult;
    /// Sends one `GET /` to pod `pod` of `statefulset` through the API server's pod
    /// proxy and reports its new count.
    fn visit(&self, statefulset: String, pod: String) -> ActionResult;
    /// Sets (`action` = `break`) or removes (`heal`) the practice cluster's fault
    /// annotation `fault` (`readiness`, `liveness`, `app`) on pod `pod`.
    fn fault(&self, statefulset: String, pod: String, fault: String, action: String) -> ActionResult;
}

/// How the backend is shared through Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

/// The story so far, as the live feed of a StatefulSet has told it to every viewer:
/// the page's first paint shows it, so a laptop that joins mid-lesson (or a reload on
/// the projector) sees the timeline and the ordering chart at once.
pub trait Stories: Send + Sync + 'static {
    /// The timeline and ordering charts of the feed for `statefulset` (`None`: the
    /// default one), if a viewer is following it.
    fn story(&self, statefulset: Option<&str>) -> Option<(Vec<Narration>, Vec<OrderingChart>)>;
}

/// How the stories are shared through Leptos context.
pub type SharedStories = Arc<dyn Stories>;

/// The role of the request being served, put in the request's extensions by the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Viewer(pub Role);
