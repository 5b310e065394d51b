//! Server functions: what the buttons call. On the server they reach the cluster
//! through the [`crate::backend::Backend`] in context; in the browser they are POSTs.

use leptos::prelude::*;

use crate::model::{ActionReport, Snapshot};

#[cfg(feature = "ssr")]
fn backend() -> Result<crate::backend::SharedBackend, ServerFnError> {
    use_context::<crate::backend::SharedBackend>()
        .ok_or_else(|| ServerFnError::new("the dashboard backend is not running"))
}

/// The current view of a StatefulSet (the default one when `statefulset` is `None`).
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "snapshot")]
pub async fn get_snapshot(statefulset: Option<String>) -> Result<Snapshot, ServerFnError> {
    Ok(backend()?.snapshot(statefulset))
}

/// Deletes one pod of the StatefulSet on screen.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "delete-pod")]
pub async fn delete_pod(statefulset: String, pod: String) -> Result<ActionReport, ServerFnError> {
    backend()?.delete_pod(statefulset, pod).await.map_err(ServerFnError::new)
}

/// Switches the StatefulSet's pod management policy.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "set-policy")]
pub async fn set_policy(statefulset: String, policy: String) -> Result<ActionReport, ServerFnError> {
    backend()?.set_policy(statefulset, policy).await.map_err(ServerFnError::new)
}

/// Scales the StatefulSet.
#[allow(missing_docs)] // the generated argument structs
#[server(prefix = "/api/fn", endpoint = "scale")]
pub async fn scale(statefulset: String, replicas: i32) -> Result<ActionReport, ServerFnError> {
    backend()?.scale(statefulset, replicas).await.map_err(ServerFnError::new)
}
